use axum::http::HeaderValue;

use super::*;
use crate::metrics::Outcome;

#[test]
fn http_dates_are_imf_fixdates() {
    assert_eq!(
        http_date(Timestamp::from_unix(784_111_777)),
        "Sun, 06 Nov 1994 08:49:37 GMT"
    );
    assert_eq!(http_date(Timestamp::EPOCH), "Thu, 01 Jan 1970 00:00:00 GMT");
    assert_eq!(
        http_date(Timestamp::from_unix(1_795_463_130)),
        "Mon, 23 Nov 2026 19:45:30 GMT"
    );
    assert_eq!(
        http_date(Timestamp::from_unix(951_782_400)),
        "Tue, 29 Feb 2000 00:00:00 GMT"
    );
}

#[test]
fn if_none_match_is_compared_weakly_in_lists_and_with_a_star() {
    let etag = "\"abc\"";
    for yes in ["\"abc\"", "W/\"abc\"", "\"x\", \"abc\"", "*", " \"abc\" "] {
        assert!(etag_matches(&HeaderValue::from_static(yes), etag), "{yes}");
    }
    for no in ["\"abd\"", "abc", "\"x\", \"y\"", ""] {
        assert!(!etag_matches(&HeaderValue::from_static(no), etag), "{no}");
    }
}

fn signed(has_nonce: bool) -> SignedResponse {
    SignedResponse {
        der: Bytes::from_static(&[0x30, 0x03, 0x0a, 0x01, 0x00]),
        this_update: Timestamp::from_unix(1_800_000_000),
        next_update: Timestamp::from_unix(1_800_003_600),
        etag: "\"0123\"".into(),
        has_nonce,
        outcome: Outcome::Good,
    }
}

fn header_text(response: &Response, name: HeaderName) -> Option<String> {
    response
        .headers()
        .get(name)
        .map(|v| v.to_str().unwrap().to_owned())
}

#[test]
fn a_response_without_nonce_is_cacheable_until_next_update() {
    let now = Timestamp::from_unix(1_800_000_600);
    let response = ocsp_response(&signed(false), now, &HeaderMap::new());
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(
        header_text(&response, CONTENT_TYPE).as_deref(),
        Some("application/ocsp-response")
    );
    assert_eq!(
        header_text(&response, CACHE_CONTROL).as_deref(),
        Some("max-age=3000, public, no-transform, must-revalidate")
    );
    assert_eq!(header_text(&response, ETAG).as_deref(), Some("\"0123\""));
    assert_eq!(
        header_text(&response, LAST_MODIFIED).as_deref(),
        Some("Fri, 15 Jan 2027 08:00:00 GMT")
    );
    assert_eq!(
        header_text(&response, EXPIRES).as_deref(),
        Some("Fri, 15 Jan 2027 09:00:00 GMT")
    );
    // Past nextUpdate, caches must not keep it.
    let late = ocsp_response(
        &signed(false),
        Timestamp::from_unix(1_900_000_000),
        &HeaderMap::new(),
    );
    assert!(
        header_text(&late, CACHE_CONTROL)
            .unwrap()
            .starts_with("max-age=0,")
    );
}

#[test]
fn a_matching_if_none_match_gets_304_without_a_body() {
    let mut request = HeaderMap::new();
    request.insert(IF_NONE_MATCH, HeaderValue::from_static("\"0123\""));
    let now = Timestamp::from_unix(1_800_000_000);
    let response = ocsp_response(&signed(false), now, &request);
    assert_eq!(response.status(), StatusCode::NOT_MODIFIED);
    assert_eq!(header_text(&response, ETAG).as_deref(), Some("\"0123\""));
    request.insert(IF_NONE_MATCH, HeaderValue::from_static("\"other\""));
    assert_eq!(
        ocsp_response(&signed(false), now, &request).status(),
        StatusCode::OK
    );
}

#[test]
fn a_response_with_a_nonce_is_never_stored() {
    let mut request = HeaderMap::new();
    request.insert(IF_NONE_MATCH, HeaderValue::from_static("*"));
    let response = ocsp_response(&signed(true), Timestamp::from_unix(1_800_000_000), &request);
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(
        header_text(&response, CACHE_CONTROL).as_deref(),
        Some("no-store")
    );
    assert_eq!(header_text(&response, ETAG), None);
    assert_eq!(header_text(&response, EXPIRES), None);
}
