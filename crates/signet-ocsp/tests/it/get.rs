//! The GET form (RFC 6960 Appendix A.1, RFC 5019 §5) with curl, and the
//! HTTP caching headers.

use signet_core::RevocationReason;
use signet_store::Backend;

use crate::kit::*;

/// Runs `sh -c script`; returns stdout + stderr.
async fn sh(script: &str) -> String {
    let (ok, out) = run("sh", &["-c", script]).await;
    assert!(ok, "{script}: {out}");
    out
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn curl_gets_url_encoded_and_raw_base64_requests() {
    let fx = Fixture::new(Backend::Sqlite).await;
    let leaf = fx.issue("leaf").await;
    let revoked = fx.issue("revoked").await;
    fx.revoke(&revoked.serial, RevocationReason::AffiliationChanged)
        .await;
    let running = fx.start().await;
    let base = format!("http://{}/ocsp", running.addr);
    let (root, issuing) = (fx.path("root.pem"), fx.path("issuing.pem"));

    for (leaf, status) in [(&leaf, "good"), (&revoked, "revoked")] {
        // OpenSSL writes the request; curl sends it as GET.
        let req = fx.path("req.der");
        let (ok, out) = run(
            "openssl",
            &[
                "ocsp",
                "-issuer",
                p(&issuing),
                "-cert",
                p(&leaf.pem),
                "-no_nonce",
                "-reqout",
                p(&req),
            ],
        )
        .await;
        assert!(ok, "{out}");
        let resp = fx.path("resp.der");
        let headers = fx.path("headers.txt");
        let encodings = [
            // URL-encoded, as RFC 6960 Appendix A.1 asks.
            "sed -e 's/+/%2B/g' -e 's/\\//%2F/g' -e 's/=/%3D/g'",
            // Raw: '/' inside the path, '+' and '=' unescaped.
            "cat",
        ];
        for encode in encodings {
            sh(&format!(
                "curl -s -f -o {resp} -D {headers} \"{base}/$(base64 -w0 {req} | {encode})\"",
                resp = p(&resp),
                headers = p(&headers),
                req = p(&req),
            ))
            .await;
            let (ok, out) = run(
                "openssl",
                &[
                    "ocsp",
                    "-respin",
                    p(&resp),
                    "-issuer",
                    p(&issuing),
                    "-cert",
                    p(&leaf.pem),
                    "-CAfile",
                    p(&root),
                    "-no_nonce",
                    "-resp_text",
                ],
            )
            .await;
            assert!(ok && out.contains("Response verify OK"), "{encode}: {out}");
            assert!(
                out.contains(&format!("{}: {status}", p(&leaf.pem))),
                "{encode}: {out}"
            );
            let head = std::fs::read_to_string(&headers).unwrap().to_lowercase();
            assert!(
                head.contains("content-type: application/ocsp-response"),
                "{head}"
            );
            assert!(head.contains("etag: \""), "{head}");
        }
    }
    // The base64 of a request with '/' in it is not split by the router:
    // checked by building one whose encoding holds '/' (retrying serials).
    let with_slash = loop {
        let leaf = fx.issue(&format!("slash{}", rand::random::<u16>())).await;
        let der = request(&[fx.cert_id(&leaf.serial)], None);
        let b64 = base64_encode(&der);
        if b64.contains('/') {
            break b64;
        }
    };
    let response = get(running.addr, &format!("/ocsp/{with_slash}"), "").await;
    assert_eq!(decode(&response.body).single(), "good");
    running.stop().await;
    fx.close().await;
}

fn base64_encode(der: &[u8]) -> String {
    use base64::Engine as _;
    base64::engine::general_purpose::STANDARD.encode(der)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cache_headers_follow_next_update_and_if_none_match_gets_304() {
    let fx = Fixture::new(Backend::Sqlite).await;
    let leaf = fx.issue("leaf").await;
    let running = fx.start().await;
    let der = request(&[fx.cert_id(&leaf.serial)], None);
    let path = format!("/ocsp/{}", base64_encode(&der).replace('/', "%2F"));
    let first = get(running.addr, &path, "").await;
    assert_eq!(first.status, 200);
    let decoded = decode(&first.body);
    let single = &decoded.basic.as_ref().unwrap().tbs_response_data.responses[0];
    let this_update = signet_core::Timestamp::from_generalized(&single.this_update);
    let next_update =
        signet_core::Timestamp::from_generalized(single.next_update.as_ref().unwrap());
    // validity "1h" by default.
    assert_eq!(next_update.unix() - this_update.unix(), 3600);

    let cache_control = first.header("Cache-Control").unwrap();
    let max_age: i64 = cache_control
        .strip_prefix("max-age=")
        .and_then(|r| r.split(',').next())
        .unwrap()
        .parse()
        .unwrap();
    let expected = now().seconds_until(next_update);
    assert!((max_age - expected).abs() <= 2, "{max_age} vs {expected}");
    assert!(
        cache_control.ends_with(", public, no-transform, must-revalidate"),
        "{cache_control}"
    );
    let etag = first.header("ETag").unwrap().to_owned();
    assert!(etag.starts_with('"') && etag.ends_with('"'));
    let (ok, last_modified) = run(
        "date",
        &[
            "-u",
            "-d",
            &format!("@{}", this_update.unix()),
            "+%a, %d %b %Y %H:%M:%S GMT",
        ],
    )
    .await;
    assert!(ok);
    assert_eq!(first.header("Last-Modified"), Some(last_modified.trim()));
    let (_, expires) = run(
        "date",
        &[
            "-u",
            "-d",
            &format!("@{}", next_update.unix()),
            "+%a, %d %b %Y %H:%M:%S GMT",
        ],
    )
    .await;
    assert_eq!(first.header("Expires"), Some(expires.trim()));
    assert_eq!(
        first.header("Content-Type"),
        Some("application/ocsp-response")
    );

    // The same request again: the cached response, the same tag, and 304
    // for a client that holds it.
    let again = get(running.addr, &path, "").await;
    assert_eq!(again.body, first.body);
    assert_eq!(again.header("ETag"), Some(etag.as_str()));
    let not_modified = get(running.addr, &path, &format!("If-None-Match: {etag}\r\n")).await;
    assert_eq!(not_modified.status, 304);
    assert!(not_modified.body.is_empty());
    assert_eq!(not_modified.header("ETag"), Some(etag.as_str()));
    let other = get(running.addr, &path, "If-None-Match: \"nope\"\r\n").await;
    assert_eq!(other.status, 200);

    // A nonce answer is not for caches.
    let with_nonce = request(&[fx.cert_id(&leaf.serial)], Some(&[1u8; 32]));
    let path = format!("/ocsp/{}", base64_encode(&with_nonce));
    let fresh = get(running.addr, &path, "").await;
    assert_eq!(fresh.header("Cache-Control"), Some("no-store"));
    assert_eq!(fresh.header("ETag"), None);
    assert_eq!(decode(&fresh.body).single(), "good");
    running.stop().await;
    fx.close().await;
}
