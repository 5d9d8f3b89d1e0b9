//! How the REST API answers errors: JSON `{"error", "message"}` with the
//! status [`crate::web`]'s one classification gives; internal failures
//! are logged, not described.

use axum::Json;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};

use super::wire::ErrorBody;
use crate::error::RaError;

/// An error on its way out of the API.
#[derive(Debug)]
pub(crate) struct ApiError(pub RaError);

impl From<RaError> for ApiError {
    fn from(e: RaError) -> Self {
        ApiError(e)
    }
}

impl From<signet_store::StoreError> for ApiError {
    fn from(e: signet_store::StoreError) -> Self {
        ApiError(RaError::Store(e))
    }
}

/// The status and body of an error.
pub(crate) fn error_parts(e: &RaError) -> (StatusCode, ErrorBody) {
    let (status, key) = crate::web::classify(e);
    let status = match e {
        // The console redirects to its login page; the API says 401.
        RaError::Unauthenticated => StatusCode::UNAUTHORIZED,
        _ => status,
    };
    let message = if status.is_server_error() && !matches!(e, RaError::CaUnavailable { .. }) {
        tracing::error!(error = %e, "API request failed");
        "internal error; the details are in the RA's log".to_owned()
    } else if let RaError::CaRefused { message, .. } = e {
        // The CA's own explanation, word for word: `signet enroll` prints
        // the same line whether it goes through the RA or to the CA.
        message.clone()
    } else {
        e.to_string()
    };
    (
        status,
        ErrorBody {
            error: key.trim_start_matches("error.").to_owned(),
            message,
        },
    )
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let (status, body) = error_parts(&self.0);
        (status, Json(body)).into_response()
    }
}
