//! The one place that decides how failures look on the wire.
//!
//! An OCSP request that cannot be answered gets HTTP 200 with an
//! unsuccessful OCSPResponse (RFC 6960 §2.3, Appendix A): the client's
//! OCSP stack reads the status, and no stack trace or error text leaves
//! the process (internals are logged). Downloads use HTTP statuses: 404
//! for a name not published, 503 when the database cannot be read.

use axum::http::header::{CACHE_CONTROL, CONTENT_TYPE, RETRY_AFTER};
use axum::http::{HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use signet_core::ocsp::OcspError;

use super::caching::OCSP_RESPONSE;
use crate::error::DownloadError;
use crate::metrics::{OcspMetrics, Outcome};

/// The outcome an OCSP error is counted as.
pub(crate) fn outcome(err: &OcspError) -> Outcome {
    match err {
        OcspError::Malformed(_) => Outcome::Malformed,
        OcspError::Unauthorized => Outcome::Unauthorized,
        OcspError::TryLater => Outcome::TryLater,
        _ => Outcome::Internal,
    }
}

/// An unsuccessful OCSPResponse, HTTP 200, never cached.
pub(crate) fn ocsp_error(metrics: &OcspMetrics, err: &OcspError) -> Response {
    let outcome = outcome(err);
    match outcome {
        Outcome::Malformed | Outcome::Unauthorized => {
            tracing::debug!(error = %err, "OCSP request refused");
        }
        // Logged where they happened, with their cause.
        _ => {}
    }
    metrics.answered(outcome);
    (
        StatusCode::OK,
        [
            (CONTENT_TYPE, HeaderValue::from_static(OCSP_RESPONSE)),
            (CACHE_CONTROL, HeaderValue::from_static("no-store")),
        ],
        err.to_response(),
    )
        .into_response()
}

/// A CRL or certificate that cannot be served.
pub(crate) fn download_error(err: &DownloadError) -> Response {
    match err {
        DownloadError::NotFound => (StatusCode::NOT_FOUND, "not found\n").into_response(),
        _ => (
            StatusCode::SERVICE_UNAVAILABLE,
            [(RETRY_AFTER, HeaderValue::from_static("1"))],
            "temporarily unavailable\n",
        )
            .into_response(),
    }
}

/// Anything not routed.
pub(crate) async fn not_found() -> Response {
    (StatusCode::NOT_FOUND, "not found\n").into_response()
}
