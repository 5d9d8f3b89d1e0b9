//! CRLs and issuer certificates, as stored by the CA.

use std::time::{Duration, Instant};

use signet_core::RevocationReason;
use signet_store::{Backend, CrlKind};

use crate::kit::*;

async fn crls_and_certificates(backend: Backend) {
    let fx = Fixture::new(backend).await;
    let revoked = fx.issue("revoked").await;
    fx.revoke(&revoked.serial, RevocationReason::KeyCompromise)
        .await;
    let full = fx
        .publish_crl(0, CrlKind::Full, 1, &[&revoked.serial])
        .await;
    let delta = fx.publish_crl(0, CrlKind::Delta, 2, &[]).await;
    let shard = fx
        .publish_crl(3, CrlKind::Full, 1, &[&revoked.serial])
        .await;
    let shard_delta = fx.publish_crl(3, CrlKind::Delta, 2, &[]).await;
    let running = fx.start().await;
    let addr = running.addr;

    for (path, record) in [
        ("/crl/issuing.crl", &full),
        ("/crl/issuing-delta.crl", &delta),
        ("/crl/issuing-3.crl", &shard),
        ("/crl/issuing-3-delta.crl", &shard_delta),
    ] {
        let response = get(addr, path, "").await;
        assert_eq!(response.status, 200, "{path}");
        assert_eq!(response.body, record.der, "{path}");
        assert_eq!(
            response.header("Content-Type"),
            Some("application/pkix-crl")
        );
        let cache_control = response.header("Cache-Control").unwrap();
        let max_age: i64 = cache_control
            .strip_prefix("max-age=")
            .and_then(|r| r.split(',').next())
            .unwrap()
            .parse()
            .unwrap();
        let expected = now().seconds_until(record.next_update);
        assert!((max_age - expected).abs() <= 2, "{path}: {cache_control}");
        assert!(response.header("Last-Modified").is_some(), "{path}");
        let etag = response.header("ETag").unwrap().to_owned();
        let again = get(addr, path, &format!("If-None-Match: {etag}\r\n")).await;
        assert_eq!(again.status, 304, "{path}");
    }
    // OpenSSL reads what was served.
    let crl = fx.path("served.crl");
    std::fs::write(&crl, get(addr, "/crl/issuing.crl", "").await.body).unwrap();
    let (ok, out) = run(
        "openssl",
        &[
            "crl",
            "-inform",
            "DER",
            "-in",
            p(&crl),
            "-noout",
            "-text",
            "-CAfile",
            p(&fx.path("issuing.pem")),
        ],
    )
    .await;
    assert!(ok && out.contains("verify OK"), "{out}");
    assert!(
        out.contains(&revoked.serial.to_hex().to_uppercase()),
        "{out}"
    );

    // A newer CRL replaces the copy held within about a second.
    let newer = fx.publish_crl(0, CrlKind::Full, 3, &[]).await;
    let started = Instant::now();
    loop {
        let response = get(addr, "/crl/issuing.crl", "").await;
        if response.body == newer.der {
            break;
        }
        assert_eq!(response.body, full.der);
        assert!(
            started.elapsed() < Duration::from_secs(3),
            "newer CRL not served"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }

    // Names not published: 404.
    for path in [
        "/crl/root.crl",
        "/crl/nobody.crl",
        "/crl/issuing-9.crl",
        "/crl/issuing.pem",
        "/ca/nobody.der",
        "/ca/issuing.pem",
    ] {
        assert_eq!(get(addr, path, "").await.status, 404, "{path}");
    }

    // caIssuers: the issuer certificates.
    for (path, der) in [
        ("/ca/issuing.der", fx.issuing.der()),
        ("/ca/root.der", fx.root.der()),
    ] {
        let response = get(addr, path, "").await;
        assert_eq!(response.status, 200, "{path}");
        assert_eq!(response.body, der, "{path}");
        assert_eq!(
            response.header("Content-Type"),
            Some("application/pkix-cert")
        );
    }
    let downloads = metric(addr, "signet_ocsp_downloads_total{kind=\"full\"}").await;
    assert!(downloads >= 3.0, "{downloads}");
    running.stop().await;
    fx.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn crls_and_issuer_certificates_are_served_on_sqlite() {
    crls_and_certificates(Backend::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn crls_and_issuer_certificates_are_served_on_postgres() {
    crls_and_certificates(Backend::Postgres).await;
}
