use axum::http::HeaderValue;

use super::*;

/// A request-like byte string whose base64 holds `+`, `/` and `=`.
fn sample() -> Vec<u8> {
    let der = vec![0xfb, 0xef, 0xff, 0x30, 0x82, 0x01, 0xfe, 0x3f, 0x00, 0xfa];
    let encoded = base64::engine::general_purpose::STANDARD.encode(&der);
    assert!(encoded.contains('+') && encoded.contains('/') && encoded.contains('='));
    der
}

fn b64(der: &[u8]) -> String {
    base64::engine::general_purpose::STANDARD.encode(der)
}

#[test]
fn get_paths_decode_raw_escaped_unpadded_and_url_safe_base64() {
    let der = sample();
    let raw = b64(&der);
    let escaped = raw
        .replace('+', "%2B")
        .replace('/', "%2F")
        .replace('=', "%3D");
    let lower = raw
        .replace('+', "%2b")
        .replace('/', "%2f")
        .replace('=', "%3d");
    let unpadded = raw.trim_end_matches('=').to_owned();
    let url_safe = raw.replace('+', "-").replace('/', "_");
    let spaced = raw.replace('+', " ");
    for path in [raw.clone(), escaped, lower, unpadded, url_safe, spaced] {
        assert_eq!(request_from_path(&path, 100), Ok(der.clone()), "{path}");
    }
}

#[test]
fn bad_get_paths_are_malformed() {
    for bad in ["", "%", "%2", "%zz", "%+1AAAA", "not base64!", "A"] {
        assert!(request_from_path(bad, 100).is_err(), "{bad:?}");
    }
    // Larger than the limit once decoded, or even before.
    let big = b64(&[0u8; 101]);
    assert!(request_from_path(&big, 100).is_err());
    assert!(request_from_path(&"A".repeat(401), 100).is_err());
}

#[tokio::test]
async fn bodies_are_read_within_their_limit() {
    let ok = read_body(
        Body::from(vec![1u8; 100]),
        &HeaderMap::new(),
        100,
        Duration::from_secs(1),
    )
    .await;
    assert_eq!(ok.unwrap().len(), 100);

    let too_big = read_body(
        Body::from(vec![1u8; 101]),
        &HeaderMap::new(),
        100,
        Duration::from_secs(1),
    )
    .await;
    assert_eq!(too_big, Err("request body larger than the limit"));

    // Announced too large: refused; drained first when small enough to be.
    for (length, expect) in [("1000000", false), ("1000", false), ("1000", true)] {
        let mut headers = HeaderMap::new();
        headers.insert(CONTENT_LENGTH, HeaderValue::from_static(length));
        if expect {
            headers.insert(EXPECT, HeaderValue::from_static("100-continue"));
        }
        let announced = read_body(
            Body::from(vec![1u8; 1000]),
            &headers,
            100,
            Duration::from_secs(1),
        )
        .await;
        assert_eq!(
            announced,
            Err("request body larger than the limit"),
            "{length} {expect}"
        );
    }
}
