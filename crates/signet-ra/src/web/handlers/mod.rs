//! Request handlers, one module per area of the console.

pub(crate) mod admin;
pub(crate) mod api_clients;
pub(crate) mod audit;
pub(crate) mod batches;
pub(crate) mod enrolment_codes;
pub(crate) mod keys;
pub(crate) mod login;
pub(crate) mod misc;
pub(crate) mod portal;
pub(crate) mod reports;
pub(crate) mod requests;
pub(crate) mod subscribers;

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};

use super::errors::WebError;
use crate::error::RaError;

/// 303 See Other to `location`, setting `cookies`.
pub(crate) fn see_other(location: &str, cookies: &[HeaderValue]) -> Response {
    let mut response = StatusCode::SEE_OTHER.into_response();
    if let Ok(value) = HeaderValue::from_str(location) {
        response.headers_mut().insert(header::LOCATION, value);
    }
    for c in cookies {
        response.headers_mut().append(header::SET_COOKIE, c.clone());
    }
    response
}

/// A file download: `body` as `content_type`, saved as `name`.
pub(crate) fn attachment(
    body: impl Into<Vec<u8>>,
    content_type: &'static str,
    name: &str,
) -> Response {
    let mut response = body.into().into_response();
    let h = response.headers_mut();
    h.insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    // Names are built from serials, uids and fixed words: valid header values.
    if let Ok(v) = HeaderValue::from_str(&format!("attachment; filename=\"{name}\"")) {
        h.insert(header::CONTENT_DISPOSITION, v);
    }
    response
}

/// Errors a form shows next to itself (status and message key); others
/// go to the error page.
pub(crate) fn form_error(e: RaError) -> Result<(StatusCode, &'static str), WebError> {
    match e {
        RaError::Invalid { key, .. } => Ok((StatusCode::BAD_REQUEST, key)),
        RaError::Conflict { key } => Ok((StatusCode::CONFLICT, key)),
        RaError::NotFound { .. } => Ok((StatusCode::NOT_FOUND, "error.not_found")),
        other => Err(WebError(other)),
    }
}
