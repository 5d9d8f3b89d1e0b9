//! The one place that decides HTTP statuses for CA errors. Internal
//! failures are logged here and answered with a generic line.

use axum::Json;
use axum::extract::rejection::JsonRejection;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use signet_api::ErrorBody;
use signet_core::{CsrError, IssueError};

use crate::error::CaError;

/// `(status, code)` for an error.
pub(crate) fn classify(err: &CaError) -> (StatusCode, &'static str) {
    use StatusCode as S;
    match err {
        CaError::BadRequest { .. } => (S::BAD_REQUEST, "bad_request"),
        CaError::Csr(CsrError::TooLarge { .. }) => (S::PAYLOAD_TOO_LARGE, "payload_too_large"),
        CaError::Csr(_) => (S::BAD_REQUEST, "bad_csr"),
        CaError::Issue(IssueError::Lint(_)) => (S::UNPROCESSABLE_ENTITY, "lint_failed"),
        CaError::Issue(
            IssueError::Name(_)
            | IssueError::KeyTypeNotAllowed { .. }
            | IssueError::ValidityTooLong { .. },
        ) => (S::UNPROCESSABLE_ENTITY, "profile_violation"),
        CaError::Issue(IssueError::BadIssuer { .. }) => {
            (S::UNPROCESSABLE_ENTITY, "issuer_cannot_issue")
        }
        CaError::Issue(IssueError::Sign(_)) => (S::SERVICE_UNAVAILABLE, "signing_unavailable"),
        CaError::Issue(_) => (S::INTERNAL_SERVER_ERROR, "internal"),
        CaError::UnknownProfile { .. } => (S::BAD_REQUEST, "unknown_profile"),
        CaError::UnknownIssuer { .. } => (S::BAD_REQUEST, "unknown_issuer"),
        CaError::RequestIdReused { .. } => (S::CONFLICT, "request_id_reused"),
        CaError::InProgress { .. } => (S::CONFLICT, "in_progress"),
        CaError::NotFound { .. } => (S::NOT_FOUND, "not_found"),
        CaError::AmbiguousSerial { .. } => (S::CONFLICT, "ambiguous_serial"),
        CaError::AlreadyInState { .. } => (S::CONFLICT, "already_in_state"),
        CaError::NotAllowed { .. } => (S::CONFLICT, "not_allowed"),
        CaError::Forbidden { .. } => (S::FORBIDDEN, "forbidden"),
        CaError::BatchTooLarge { .. } => (S::PAYLOAD_TOO_LARGE, "batch_too_large"),
        CaError::DualNotAvailable { .. } => (S::BAD_REQUEST, "dual_not_available"),
        CaError::Kmc { refused: true, .. } => (S::UNPROCESSABLE_ENTITY, "kmc_refused"),
        CaError::Kmc { .. } => (S::BAD_GATEWAY, "kmc_unavailable"),
        CaError::Token(_) => (S::SERVICE_UNAVAILABLE, "token_unavailable"),
        CaError::Store(_) => (S::SERVICE_UNAVAILABLE, "database_unavailable"),
        _ => (S::INTERNAL_SERVER_ERROR, "internal"),
    }
}

/// The body for an error: the error's own line for the caller's mistakes,
/// a generic line for ours (the details go to the log).
pub(crate) fn body(err: &CaError) -> (StatusCode, ErrorBody) {
    let (status, code) = classify(err);
    let message = if status.is_server_error() {
        tracing::error!(error = %err, code, "request failed");
        match code {
            "token_unavailable" | "signing_unavailable" => {
                "the signing token is unavailable; retry later".to_owned()
            }
            "database_unavailable" => "the CA database is unavailable; retry later".to_owned(),
            "kmc_unavailable" => "the KMC is unavailable; retry later".to_owned(),
            _ => "internal error; see the CA log".to_owned(),
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
pub(crate) struct ApiError(pub CaError);

impl From<CaError> for ApiError {
    fn from(e: CaError) -> Self {
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
    let code = if status == StatusCode::PAYLOAD_TOO_LARGE {
        "payload_too_large"
    } else {
        "bad_json"
    };
    let message = if status == StatusCode::PAYLOAD_TOO_LARGE {
        "request body is larger than the configured limit".to_owned()
    } else {
        rejection.body_text()
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
