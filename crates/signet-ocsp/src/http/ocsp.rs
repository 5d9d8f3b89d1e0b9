//! OCSP over HTTP (RFC 6960 Appendix A.1, RFC 5019 §5).

use std::time::Duration;

use axum::body::Body;
use axum::extract::State;
use axum::http::header::{CONTENT_LENGTH, CONTENT_TYPE, EXPECT};
use axum::http::{HeaderMap, Uri};
use axum::response::Response;
use base64::Engine as _;
use base64::engine::{DecodePaddingMode, GeneralPurpose, GeneralPurposeConfig};
use bytes::Bytes;
use http_body_util::BodyExt as _;
use signet_core::ocsp::OcspError;

use super::AppState;
use super::{caching, errors};

/// `POST /ocsp`: the DER request is the body.
pub(crate) async fn post(
    State(state): State<AppState>,
    headers: HeaderMap,
    body: Body,
) -> Response {
    let content_type = headers.get(CONTENT_TYPE).and_then(|v| v.to_str().ok());
    if content_type != Some("application/ocsp-request") {
        // Many clients are sloppy about it; the body decides.
        tracing::debug!(
            ?content_type,
            "OCSP POST without Content-Type application/ocsp-request"
        );
    }
    let der = match read_body(
        body,
        &headers,
        state.max_request_bytes,
        state.request_timeout,
    )
    .await
    {
        Ok(der) => der,
        Err(reason) => return errors::ocsp_error(&state.metrics, &OcspError::Malformed(reason)),
    };
    answer(&state, &der, &headers).await
}

/// `GET /ocsp/{base64}`.
pub(crate) async fn get(State(state): State<AppState>, uri: Uri, headers: HeaderMap) -> Response {
    let encoded = uri.path().strip_prefix("/ocsp/").unwrap_or_default();
    match request_from_path(encoded, state.max_request_bytes) {
        Ok(der) => answer(&state, &der, &headers).await,
        Err(reason) => errors::ocsp_error(&state.metrics, &OcspError::Malformed(reason)),
    }
}

/// `GET /ocsp` with no request in the URL.
pub(crate) async fn get_empty(State(state): State<AppState>) -> Response {
    errors::ocsp_error(&state.metrics, &OcspError::Malformed("empty request"))
}

async fn answer(state: &AppState, der: &[u8], headers: &HeaderMap) -> Response {
    match state.responder.respond(der).await {
        Ok(signed) => {
            state.metrics.answered(signed.outcome);
            caching::ocsp_response(&signed, state.responder.now(), headers)
        }
        Err(err) => errors::ocsp_error(&state.metrics, &err),
    }
}

/// A refused body is still read (and dropped) up to this many times the
/// limit: closing a connection with unread bytes makes the kernel send a
/// reset, which can destroy the `malformedRequest` answer before the
/// client reads it.
const DRAIN_FACTOR: usize = 16;

/// Reads a request body of at most `limit` bytes within `deadline`.
///
/// A body announced or found larger than the limit, one that stops
/// arriving, or a broken one is a malformed request. An oversized body is
/// drained (up to [`DRAIN_FACTOR`] times the limit) before the answer,
/// unless the client waits for `100 Continue` and so has sent none of it.
pub(crate) async fn read_body(
    mut body: Body,
    headers: &HeaderMap,
    limit: usize,
    deadline: Duration,
) -> Result<Bytes, &'static str> {
    const TOO_LARGE: &str = "request body larger than the limit";
    let drain_limit = limit.saturating_mul(DRAIN_FACTOR);
    let announced = headers
        .get(CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok())
        .map(|n| usize::try_from(n).unwrap_or(usize::MAX));
    if let Some(announced) = announced
        && announced > limit
    {
        let waits_for_continue = headers
            .get(EXPECT)
            .is_some_and(|v| v.as_bytes().eq_ignore_ascii_case(b"100-continue"));
        if waits_for_continue || announced > drain_limit {
            return Err(TOO_LARGE);
        }
    }
    let read = async {
        let mut kept = Vec::new();
        let mut seen = 0usize;
        while let Some(frame) = body.frame().await {
            let Ok(data) = frame
                .map_err(|_| "request body could not be read")?
                .into_data()
            else {
                continue; // trailers
            };
            seen = seen.saturating_add(data.len());
            if seen > drain_limit {
                return Err(TOO_LARGE);
            }
            if seen <= limit {
                kept.extend_from_slice(&data);
            }
        }
        if seen > limit {
            Err(TOO_LARGE)
        } else {
            Ok(Bytes::from(kept))
        }
    };
    match tokio::time::timeout(deadline, read).await {
        Ok(result) => result,
        Err(_) => {
            tracing::debug!(?deadline, "OCSP request body did not arrive in time");
            Err("request body did not arrive in time")
        }
    }
}

/// Base64 with or without padding (some clients drop it).
const STANDARD: GeneralPurpose = GeneralPurpose::new(
    &base64::alphabet::STANDARD,
    GeneralPurposeConfig::new().with_decode_padding_mode(DecodePaddingMode::Indifferent),
);
const URL_SAFE: GeneralPurpose = GeneralPurpose::new(
    &base64::alphabet::URL_SAFE,
    GeneralPurposeConfig::new().with_decode_padding_mode(DecodePaddingMode::Indifferent),
);

/// The DER request in a GET path: RFC 6960 Appendix A.1 says
/// `{url}/{url-encoding of base-64 encoding of the DER encoding of the
/// OCSPRequest}`. Clients escape `+`, `/` and `=` (`%2B`, `%2F`, `%3D`)
/// or leave them raw; the base64url alphabet is accepted too.
pub(crate) fn request_from_path(encoded: &str, limit: usize) -> Result<Vec<u8>, &'static str> {
    // Base64 grows the DER by a third, percent-encoding up to threefold.
    if encoded.len() > limit.saturating_mul(4) {
        return Err("request larger than the limit");
    }
    let text = percent_decode(encoded).ok_or("bad percent-encoding in the URL")?;
    // Line breaks (MIME base64) are dropped; a space is a `+` that
    // something on the way decoded as if the path were a form.
    let text: Vec<u8> = text
        .into_iter()
        .filter(|b| !matches!(b, b'\r' | b'\n' | b'\t'))
        .map(|b| if b == b' ' { b'+' } else { b })
        .collect();
    if text.is_empty() {
        return Err("empty request");
    }
    let der = STANDARD
        .decode(&text)
        .or_else(|_| URL_SAFE.decode(&text))
        .map_err(|_| "the URL does not hold base64")?;
    if der.len() > limit {
        return Err("request larger than the limit");
    }
    Ok(der)
}

/// `%XX` escapes decoded; anything else kept as is.
fn percent_decode(text: &str) -> Option<Vec<u8>> {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while let Some(&b) = bytes.get(i) {
        if b == b'%' {
            let hex = bytes.get(i + 1..i + 3)?;
            if !hex.iter().all(u8::is_ascii_hexdigit) {
                return None;
            }
            out.push(u8::from_str_radix(std::str::from_utf8(hex).ok()?, 16).ok()?);
            i += 3;
        } else {
            out.push(b);
            i += 1;
        }
    }
    Some(out)
}

#[cfg(test)]
mod tests;
