//! The one place that decides HTTP statuses for KMC errors. Internal
//! failures are logged here and answered with a generic line; nothing
//! secret is in any error anyway.

use axum::Json;
use axum::extract::rejection::JsonRejection;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use signet_api::ErrorBody;

use crate::error::KmcError;

/// `(status, code)` for an error.
pub(crate) fn classify(err: &KmcError) -> (StatusCode, &'static str) {
    use StatusCode as S;
    match err {
        KmcError::BadRequest { .. } => (S::BAD_REQUEST, "bad_request"),
        KmcError::Forbidden { .. } => (S::FORBIDDEN, "forbidden"),
        KmcError::NotAllowed { .. } => (S::FORBIDDEN, "not_allowed"),
        KmcError::NotFound { .. } => (S::NOT_FOUND, "not_found"),
        KmcError::RequestIdReused { .. } => (S::CONFLICT, "request_id_reused"),
        KmcError::AlreadyExists { .. } => (S::CONFLICT, "already_exists"),
        KmcError::InvalidState { .. } => (S::CONFLICT, "invalid_state"),
        KmcError::RequesterCannotApprove { .. } => (S::FORBIDDEN, "requester_cannot_approve"),
        KmcError::AlreadyApproved { .. } => (S::CONFLICT, "already_approved"),
        KmcError::NotApproved { .. } => (S::CONFLICT, "not_approved"),
        KmcError::Destroyed { .. } => (S::GONE, "destroyed"),
        KmcError::Decrypt { .. } => (S::UNPROCESSABLE_ENTITY, "decrypt_failed"),
        KmcError::Envelope(signet_core::envelope::EnvelopeError::UnsupportedKeyType { .. }) => {
            (S::UNPROCESSABLE_ENTITY, "unsupported_key_type")
        }
        KmcError::Token(_) => (S::SERVICE_UNAVAILABLE, "token_unavailable"),
        KmcError::Store(_) => (S::SERVICE_UNAVAILABLE, "database_unavailable"),
        KmcError::NotInitialized => (S::SERVICE_UNAVAILABLE, "not_initialized"),
        _ => (S::INTERNAL_SERVER_ERROR, "internal"),
    }
}

/// The body for an error: the error's own line for the caller's mistakes,
/// a generic line for ours (the details go to the log).
pub(crate) fn body(err: &KmcError) -> (StatusCode, ErrorBody) {
    let (status, code) = classify(err);
    let message = if status.is_server_error() {
        tracing::error!(error = %err, code, "request failed");
        match code {
            "token_unavailable" => "the KMC token is unavailable; retry later".to_owned(),
            "database_unavailable" => "the KMC database is unavailable; retry later".to_owned(),
            "not_initialized" => err.to_string(),
            _ => "internal error; see the KMC log".to_owned(),
        }
    } else {
        err.to_string()
    };
    (
        status,
        ErrorBody {
            error: code.to_owned(),
            message,
        },
    )
}

/// An error on its way out as an HTTP response.
pub(crate) struct ApiError(pub KmcError);

impl From<KmcError> for ApiError {
    fn from(e: KmcError) -> Self {
        ApiError(e)
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let (status, body) = body(&self.0);
        (status, Json(body)).into_response()
    }
}

/// Malformed or oversized JSON bodies, answered in the API's error shape.
pub(crate) fn json_rejection(rejection: JsonRejection) -> Response {
    let status = rejection.status();
    let (code, message) = if status == StatusCode::PAYLOAD_TOO_LARGE {
        (
            "payload_too_large",
            "request body is larger than the configured limit".to_owned(),
        )
    } else {
        ("bad_json", rejection.body_text())
    };
    (
        status,
        Json(ErrorBody {
            error: code.to_owned(),
            message,
        }),
    )
        .into_response()
}
