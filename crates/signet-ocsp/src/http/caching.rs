//! Successful answers and their HTTP caching headers.
//!
//! RFC 5019 §6.2: a response without a nonce may be cached by HTTP caches
//! until its nextUpdate, so it carries `Cache-Control: max-age=<seconds
//! to nextUpdate>, public, no-transform, must-revalidate`, `ETag`,
//! `Last-Modified` (thisUpdate) and `Expires` (nextUpdate); a matching
//! `If-None-Match` gets 304. A response echoing a nonce answers one
//! request only: `Cache-Control: no-store`.

use axum::body::Body;
use axum::http::header::{
    CACHE_CONTROL, CONTENT_TYPE, ETAG, EXPIRES, HeaderMap, HeaderName, IF_NONE_MATCH, LAST_MODIFIED,
};
use axum::http::{HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use bytes::Bytes;
use signet_core::Timestamp;

use crate::crls::CrlCopy;
use crate::responder::SignedResponse;

/// `application/ocsp-response` (RFC 6960 Appendix C.2).
pub(crate) const OCSP_RESPONSE: &str = "application/ocsp-response";
/// `application/pkix-crl` (RFC 2585 §4.2).
const PKIX_CRL: &str = "application/pkix-crl";
/// `application/pkix-cert` (RFC 2585 §4.1).
const PKIX_CERT: &str = "application/pkix-cert";

/// An IMF-fixdate (RFC 9110 §5.6.7), e.g. `Sun, 06 Nov 1994 08:49:37 GMT`.
pub(crate) fn http_date(t: Timestamp) -> String {
    const DAYS: [&str; 7] = ["Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"];
    const MONTHS: [&str; 12] = [
        "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
    ];
    let Some(dt) = t.to_datetime() else {
        // Before 1970 or after 9999: not a time a response carries.
        return "Thu, 01 Jan 1970 00:00:00 GMT".to_owned();
    };
    // 1970-01-01 was a Thursday.
    let weekday = usize::try_from((t.unix().div_euclid(86_400) + 4).rem_euclid(7)).unwrap_or(0);
    format!(
        "{}, {:02} {} {:04} {:02}:{:02}:{:02} GMT",
        DAYS.get(weekday).unwrap_or(&"Thu"),
        dt.day(),
        MONTHS
            .get(usize::from(dt.month()).saturating_sub(1))
            .unwrap_or(&"Jan"),
        dt.year(),
        dt.hour(),
        dt.minutes(),
        dt.seconds()
    )
}

/// Whether an `If-None-Match` value names `etag` (RFC 9110 §13.1.2: weak
/// comparison, a list, or `*`).
pub(crate) fn etag_matches(if_none_match: &HeaderValue, etag: &str) -> bool {
    let Ok(text) = if_none_match.to_str() else {
        return false;
    };
    text.split(',').map(str::trim).any(|candidate| {
        candidate == "*" || candidate.strip_prefix("W/").unwrap_or(candidate) == etag
    })
}

fn header(value: &str) -> HeaderValue {
    HeaderValue::from_str(value).unwrap_or_else(|_| HeaderValue::from_static(""))
}

/// Headers that let HTTP caches keep a signed object until `next_update`.
fn cache_headers(
    now: Timestamp,
    this_update: Timestamp,
    next_update: Timestamp,
    etag: &str,
) -> Vec<(HeaderName, HeaderValue)> {
    let max_age = now.seconds_until(next_update).max(0);
    vec![
        (
            CACHE_CONTROL,
            header(&format!(
                "max-age={max_age}, public, no-transform, must-revalidate"
            )),
        ),
        (ETAG, header(etag)),
        (LAST_MODIFIED, header(&http_date(this_update))),
        (EXPIRES, header(&http_date(next_update))),
    ]
}

/// A cacheable body, or 304 when the client holds it already.
fn cacheable(
    content_type: &'static str,
    body: Bytes,
    headers: Vec<(HeaderName, HeaderValue)>,
    etag: &str,
    request: &HeaderMap,
) -> Response {
    let not_modified = request
        .get(IF_NONE_MATCH)
        .is_some_and(|v| etag_matches(v, etag));
    let (status, body) = if not_modified {
        (StatusCode::NOT_MODIFIED, Body::empty())
    } else {
        (StatusCode::OK, Body::from(body))
    };
    let mut response = (status, body).into_response();
    let h = response.headers_mut();
    h.insert(CONTENT_TYPE, HeaderValue::from_static(content_type));
    for (name, value) in headers {
        h.insert(name, value);
    }
    response
}

/// A successful OCSP response.
pub(crate) fn ocsp_response(
    signed: &SignedResponse,
    now: Timestamp,
    request: &HeaderMap,
) -> Response {
    if signed.has_nonce {
        return (
            StatusCode::OK,
            [
                (CONTENT_TYPE, HeaderValue::from_static(OCSP_RESPONSE)),
                (CACHE_CONTROL, HeaderValue::from_static("no-store")),
            ],
            Body::from(signed.der.clone()),
        )
            .into_response();
    }
    let headers = cache_headers(now, signed.this_update, signed.next_update, &signed.etag);
    cacheable(
        OCSP_RESPONSE,
        signed.der.clone(),
        headers,
        &signed.etag,
        request,
    )
}

/// A CRL, cacheable until its nextUpdate.
pub(crate) fn crl_response(copy: &CrlCopy, now: Timestamp, request: &HeaderMap) -> Response {
    let headers = cache_headers(now, copy.this_update, copy.next_update, &copy.etag);
    cacheable(PKIX_CRL, copy.der.clone(), headers, &copy.etag, request)
}

/// An issuer certificate: it never changes under its name, so caches may
/// keep it a day.
pub(crate) fn certificate_response(der: Bytes) -> Response {
    (
        StatusCode::OK,
        [
            (CONTENT_TYPE, HeaderValue::from_static(PKIX_CERT)),
            (
                CACHE_CONTROL,
                HeaderValue::from_static("max-age=86400, public"),
            ),
        ],
        Body::from(der),
    )
        .into_response()
}

#[cfg(test)]
mod tests;
