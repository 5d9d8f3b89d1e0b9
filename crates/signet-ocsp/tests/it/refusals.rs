//! Requests that cannot be answered get HTTP 200 and an unsuccessful
//! OCSPResponse of the RFC 6960 status that says why.

use signet_core::ocsp::OcspResponseStatus;
use signet_core::{KeyType, Serial, Signer, SoftwareSigner};
use signet_store::Backend;

use crate::kit::*;

/// The five bytes of an unsuccessful OCSPResponse.
fn error_body(status: u8) -> Vec<u8> {
    vec![0x30, 0x03, 0x0a, 0x01, status]
}

const MALFORMED: u8 = 1;
const UNAUTHORIZED: u8 = 6;

fn assert_refused(response: &HttpResponse, status: u8, what: &str) {
    assert_eq!(response.status, 200, "{what}: {response:?}");
    assert_eq!(response.body, error_body(status), "{what}: {response:?}");
    assert_eq!(
        response.header("Content-Type"),
        Some("application/ocsp-response"),
        "{what}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn malformed_requests_are_answered_malformed_request() {
    let fx = Fixture::new(Backend::Sqlite).await;
    let leaf = fx.issue("leaf").await;
    let running = fx.start().await;
    let addr = running.addr;

    assert_refused(&post_ocsp(addr, b"").await, MALFORMED, "empty body");
    assert_refused(
        &post_ocsp(addr, b"certainly not DER").await,
        MALFORMED,
        "garbage",
    );
    let mut truncated = request(&[fx.cert_id(&leaf.serial)], None);
    truncated.truncate(truncated.len() - 3);
    assert_refused(&post_ocsp(addr, &truncated).await, MALFORMED, "truncated");

    // 1 MB: announced, refused without reading it all...
    let big = vec![0x30u8; 1024 * 1024];
    assert_refused(&post_ocsp(addr, &big).await, MALFORMED, "1 MB body");
    // ...also when sent by curl (which waits for 100-continue).
    let big_file = fx.path("big.der");
    std::fs::write(&big_file, &big).unwrap();
    let answer = fx.path("answer.der");
    let (ok, out) = run(
        "curl",
        &[
            "-s",
            "-o",
            p(&answer),
            "-w",
            "%{http_code}",
            "-H",
            "Content-Type: application/ocsp-request",
            "--data-binary",
            &format!("@{}", p(&big_file)),
            &format!("http://{addr}/ocsp"),
        ],
    )
    .await;
    assert!(ok && out == "200", "{out}");
    assert_eq!(std::fs::read(&answer).unwrap(), error_body(MALFORMED));
    let (ok, out) = run(
        "openssl",
        &["ocsp", "-respin", p(&answer), "-resp_text", "-noverify"],
    )
    .await;
    assert!(ok || out.contains("malformedrequest"), "{out}");
    assert!(out.contains("malformedrequest (1)"), "{out}");
    // Just over the 64 KiB default, sent chunked (no Content-Length).
    let mut raw = format!(
        "POST /ocsp HTTP/1.1\r\nHost: {addr}\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n"
    )
    .into_bytes();
    for _ in 0..17 {
        raw.extend_from_slice(b"1000\r\n");
        raw.extend_from_slice(&[0x30u8; 0x1000]);
        raw.extend_from_slice(b"\r\n");
    }
    raw.extend_from_slice(b"0\r\n\r\n");
    assert_refused(&http_raw(addr, &raw).await, MALFORMED, "chunked 68 KiB");

    // 21 certificates where 20 are allowed.
    let ids: Vec<_> = (0..21)
        .map(|_| fx.cert_id(&Serial::random(&mut rand::rng())))
        .collect();
    assert_refused(
        &post_ocsp(addr, &request(&ids, None)).await,
        MALFORMED,
        "21 CertIDs",
    );
    let (_, twenty) = {
        let response = post_ocsp(addr, &request(&ids[..20], None)).await;
        let decoded = decode(&response.body);
        (response, decoded)
    };
    assert_eq!(twenty.status, OcspResponseStatus::Successful);
    assert_eq!(twenty.cert_statuses().len(), 20);

    // GET with something that is not base64 of a request.
    for path in [
        "/ocsp/%%%",
        "/ocsp/bm90IGFuIE9DU1AgcmVxdWVzdA==",
        "/ocsp",
        "/ocsp/",
    ] {
        assert_refused(&get(addr, path, "").await, MALFORMED, path);
    }

    // A wrong Content-Type is accepted: the body decides.
    let sloppy = post(
        addr,
        "/ocsp",
        "application/x-www-form-urlencoded",
        &request(&[fx.cert_id(&leaf.serial)], None),
    )
    .await;
    assert_eq!(decode(&sloppy.body).single(), "good");

    assert!(metric(addr, "signet_ocsp_requests_total{outcome=\"malformed\"}").await >= 10.0);
    running.stop().await;
    fx.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn issuers_not_served_are_answered_unauthorized() {
    let fx = Fixture::new(Backend::Sqlite).await;
    let leaf = fx.issue("leaf").await;
    let running = fx.start().await;
    let addr = running.addr;
    let serial = Serial::random(&mut rand::rng());

    // A CA this responder has never heard of.
    let stranger = SoftwareSigner::generate(KeyType::P256, &mut rand::rng()).unwrap();
    let mut foreign = fx.cert_id(&serial);
    foreign.issuer_key_hash = der::asn1::OctetString::new(
        <sha1::Sha1 as sha1::Digest>::digest(stranger.public_key().subject_public_key.raw_bytes())
            .to_vec(),
    )
    .unwrap();
    assert_refused(
        &post_ocsp(addr, &request(&[foreign], None)).await,
        UNAUTHORIZED,
        "unknown issuer",
    );
    // The root is in the database but has no OCSP signer.
    let by_root = cert_id_for(fx.root.der(), &serial);
    assert_refused(
        &post_ocsp(addr, &request(std::slice::from_ref(&by_root), None)).await,
        UNAUTHORIZED,
        "issuer without signer",
    );
    // One delegated signer cannot answer for two issuers.
    assert_refused(
        &post_ocsp(addr, &request(&[fx.cert_id(&leaf.serial), by_root], None)).await,
        UNAUTHORIZED,
        "mixed issuers",
    );
    // OpenSSL reports it.
    let url = format!("http://{addr}/ocsp");
    let (_, out) = run(
        "openssl",
        &[
            "ocsp",
            "-issuer",
            p(&fx.path("root.pem")),
            "-serial",
            "0x1234",
            "-url",
            &url,
        ],
    )
    .await;
    assert!(out.contains("unauthorized (6)"), "{out}");
    running.stop().await;
    fx.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn other_methods_get_405_and_unknown_paths_404() {
    let fx = Fixture::new(Backend::Sqlite).await;
    let running = fx.start().await;
    for (m, path) in [
        ("PUT", "/ocsp"),
        ("DELETE", "/ocsp"),
        ("PATCH", "/ocsp/"),
        ("POST", "/ocsp/MEMwQTA%2F"),
        ("POST", "/crl/issuing.crl"),
        ("PUT", "/ca/issuing.der"),
    ] {
        let response = method(running.addr, m, path).await;
        assert_eq!(response.status, 405, "{m} {path}: {response:?}");
    }
    assert_eq!(get(running.addr, "/nothing/here", "").await.status, 404);
    running.stop().await;
    fx.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_database_that_does_not_answer_means_try_later() {
    let fx = Fixture::new(Backend::Postgres).await;
    let leaf = fx.issue("leaf").await;
    let running = fx.start().await;
    let (_, decoded) = ask(running.addr, &fx.cert_id(&leaf.serial)).await;
    assert_eq!(decoded.single(), "good");
    // The database goes away under the responder.
    let url = fx.db_url();
    let name = url.rsplit('/').next().unwrap().to_owned();
    let admin = signet_store::testing::postgres_admin_url();
    let (ok, out) = run(
        "psql",
        &[
            &admin,
            "-c",
            &format!(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = '{name}'; \
                 ALTER DATABASE {name} ALLOW_CONNECTIONS false;"
            ),
        ],
    )
    .await;
    assert!(ok, "{out}");
    // An uncached question (a nonce) needs the database: tryLater.
    let response = post_ocsp(
        running.addr,
        &request(&[fx.cert_id(&leaf.serial)], Some(&[3u8; 16])),
    )
    .await;
    assert_refused(&response, 3, "database down");
    let ready = get(running.addr, "/ready", "").await;
    assert_eq!(ready.status, 503);
    // Back again: answers again.
    let (ok, out) = run(
        "psql",
        &[
            &admin,
            "-c",
            &format!("ALTER DATABASE {name} ALLOW_CONNECTIONS true;"),
        ],
    )
    .await;
    assert!(ok, "{out}");
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(15);
    loop {
        let response = post_ocsp(
            running.addr,
            &request(&[fx.cert_id(&leaf.serial)], Some(&[4u8; 16])),
        )
        .await;
        if decode(&response.body).status == OcspResponseStatus::Successful {
            break;
        }
        assert!(std::time::Instant::now() < deadline, "no recovery");
        tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    }
    running.stop().await;
    fx.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_signature_that_cannot_be_made_is_an_internal_error() {
    let fx = Fixture::new(Backend::Sqlite).await;
    let leaf = fx.issue("leaf").await;
    let running = fx.start().await;
    let id = fx.cert_id(&leaf.serial);
    let (_, decoded) = ask(running.addr, &id).await;
    assert_eq!(decoded.single(), "good");
    // The signer's key disappears from the token.
    fx.token.destroy_key(&fx.signer_labels[0]).unwrap();
    let response = post_ocsp(running.addr, &request(&[id], Some(&[9u8; 16]))).await;
    assert_refused(&response, 2, "signing failed");
    assert_eq!(
        metric(
            running.addr,
            "signet_ocsp_requests_total{outcome=\"internal\"}"
        )
        .await,
        1.0
    );
    running.stop().await;
    fx.close().await;
}
