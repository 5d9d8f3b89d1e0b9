//! CRL (RFC 5280 §4.2.1.13) and caIssuers (§4.2.2.1) downloads.

use axum::extract::{Path, State};
use axum::http::HeaderMap;
use axum::response::Response;
use signet_store::CrlKind;

use super::{AppState, caching, errors};
use crate::error::DownloadError;
use crate::metrics::DownloadLabels;

/// `GET /crl/{file}`: the newest CRL of that name.
pub(crate) async fn crl(
    State(state): State<AppState>,
    Path(file): Path<String>,
    headers: HeaderMap,
) -> Response {
    match state.crls.get(&file).await {
        Ok(copy) => {
            let kind = match copy.kind {
                CrlKind::Delta => "delta",
                CrlKind::Full => "full",
            };
            state
                .metrics
                .downloads
                .get_or_create(&DownloadLabels { kind })
                .inc();
            caching::crl_response(&copy, state.responder.now(), &headers)
        }
        Err(err) => errors::download_error(&err),
    }
}

/// `GET /ca/{issuer}.der`: the issuer certificate.
pub(crate) async fn ca_certificate(
    State(state): State<AppState>,
    Path(file): Path<String>,
) -> Response {
    let found = file
        .strip_suffix(".der")
        .ok_or(DownloadError::NotFound)
        .and_then(|name| state.crls.issuer_certificate(name));
    match found {
        Ok(der) => {
            state
                .metrics
                .downloads
                .get_or_create(&DownloadLabels { kind: "ca" })
                .inc();
            caching::certificate_response(der)
        }
        Err(err) => errors::download_error(&err),
    }
}
