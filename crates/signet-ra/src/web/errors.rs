//! The one place that decides how an [`RaError`] is answered. Internal
//! failures are logged here and shown as a generic page; nothing in a
//! response says more than the caller may know.

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};

use crate::error::RaError;

/// Marks a response whose body the context middleware renders as the
/// error page, in the request's language.
#[derive(Clone, Copy, Debug)]
pub(crate) struct ErrorPage {
    /// Translation key of the message.
    pub key: &'static str,
}

/// `(status, translation key)` for an error.
pub(crate) fn classify(err: &RaError) -> (StatusCode, &'static str) {
    use StatusCode as S;
    match err {
        RaError::Invalid { key, .. } => (S::BAD_REQUEST, key),
        RaError::LoginFailed => (S::UNAUTHORIZED, "error.login_failed"),
        RaError::RateLimited => (S::TOO_MANY_REQUESTS, "error.rate_limited"),
        RaError::Unauthenticated => (S::UNAUTHORIZED, "error.unauthenticated"),
        RaError::Forbidden { .. } => (S::FORBIDDEN, "error.forbidden"),
        RaError::Csrf => (S::FORBIDDEN, "error.csrf"),
        RaError::NotFound { .. } => (S::NOT_FOUND, "error.not_found"),
        RaError::Conflict { key } => (S::CONFLICT, key),
        RaError::Tampered { .. } => (S::INTERNAL_SERVER_ERROR, "error.tampered"),
        RaError::BadCsr { .. } => (S::BAD_REQUEST, "error.invalid_csr"),
        RaError::UnknownProfile { .. } => (S::BAD_REQUEST, "error.invalid_profile"),
        RaError::DualNotAvailable { .. } => (S::BAD_REQUEST, "error.dual_not_available"),
        RaError::CaRefused { .. } => (S::UNPROCESSABLE_ENTITY, "error.ca_refused"),
        RaError::CaUnavailable { .. } => (S::SERVICE_UNAVAILABLE, "error.ca_unavailable"),
        RaError::KmcRefused { .. } => (S::UNPROCESSABLE_ENTITY, "error.kmc_refused"),
        RaError::KmcUnavailable { .. } => (S::SERVICE_UNAVAILABLE, "error.kmc_unavailable"),
        RaError::KmcNotConfigured => (S::SERVICE_UNAVAILABLE, "error.kmc_not_configured"),
        RaError::Token(_) | RaError::Store(_) => (S::SERVICE_UNAVAILABLE, "error.unavailable"),
        _ => (S::INTERNAL_SERVER_ERROR, "error.internal"),
    }
}

/// An error on its way out.
#[derive(Debug)]
pub(crate) struct WebError(pub RaError);

impl From<RaError> for WebError {
    fn from(e: RaError) -> Self {
        WebError(e)
    }
}

impl From<signet_store::StoreError> for WebError {
    fn from(e: signet_store::StoreError) -> Self {
        WebError(RaError::Store(e))
    }
}

impl IntoResponse for WebError {
    fn into_response(self) -> Response {
        if matches!(self.0, RaError::Unauthenticated) {
            return Redirect::to("/login").into_response();
        }
        let (status, key) = classify(&self.0);
        if status.is_server_error() {
            tracing::error!(error = %self.0, "request failed");
        } else {
            tracing::debug!(error = %self.0, "request refused");
        }
        let mut response = (status, status.canonical_reason().unwrap_or("error")).into_response();
        response.headers_mut().insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("text/plain; charset=utf-8"),
        );
        response.extensions_mut().insert(ErrorPage { key });
        response
    }
}

/// Handler results.
pub(crate) type WebResult = Result<Response, WebError>;
