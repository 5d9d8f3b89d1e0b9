//! What the responder says about good, revoked, suspended, unknown and
//! never-issued certificates, as OpenSSL sees it.

use signet_core::ocsp::{CertStatus, CrlReason, OcspResponseStatus};
use signet_core::{RevocationReason, Serial};
use signet_ocsp::Unissued;
use signet_store::{Backend, StatusChange};

use crate::kit::*;

async fn good_revoked_and_suspended(backend: Backend) {
    let fx = Fixture::new(backend).await;
    let good = fx.issue("good").await;
    let revoked = fx.issue("revoked").await;
    let held = fx.issue("held").await;
    fx.revoke(&revoked.serial, RevocationReason::KeyCompromise)
        .await;
    fx.change(&held.serial, StatusChange::Suspend).await;
    let running = fx.start().await;
    let addr = running.addr;

    for nonce in [true, false] {
        let out = openssl_ask(&fx, addr, &good.pem, nonce).await;
        assert!(out.contains(&format!("{}: good", p(&good.pem))), "{out}");
        assert!(out.contains("Cert Status: good"), "{out}");
        // The response names the delegated responder and carries it.
        assert!(out.contains("OCSP Signing"), "{out}");
        assert_eq!(out.contains("OCSP Nonce"), nonce, "{out}");
        assert!(!out.contains("Nonce Verify error"), "{out}");

        let out = openssl_ask(&fx, addr, &revoked.pem, nonce).await;
        assert!(
            out.contains(&format!("{}: revoked", p(&revoked.pem))),
            "{out}"
        );
        assert!(out.contains("Reason: keyCompromise"), "{out}");
        assert!(out.contains("Revocation Time: "), "{out}");

        let out = openssl_ask(&fx, addr, &held.pem, nonce).await;
        assert!(out.contains(&format!("{}: revoked", p(&held.pem))), "{out}");
        assert!(out.contains("Reason: certificateHold"), "{out}");
    }

    // The revocation time is the one the CA recorded.
    let record = fx
        .store
        .get(ISSUING_ID, &revoked.serial)
        .await
        .unwrap()
        .unwrap();
    let (_, decoded) = ask(addr, &fx.cert_id(&revoked.serial)).await;
    match decoded.cert_statuses().as_slice() {
        [CertStatus::Revoked(info)] => {
            assert_eq!(
                signet_core::Timestamp::from_generalized(&info.revocation_time),
                record.revoked_at.unwrap()
            );
            assert_eq!(info.revocation_reason, Some(CrlReason::KeyCompromise));
        }
        other => panic!("{other:?}"),
    }

    // Resumed: good again.
    fx.change(&held.serial, StatusChange::Resume).await;
    tokio::time::sleep(std::time::Duration::from_millis(500)).await;
    let out = openssl_ask(&fx, addr, &held.pem, false).await;
    assert!(out.contains(&format!("{}: good", p(&held.pem))), "{out}");

    running.stop().await;
    fx.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn openssl_reads_good_revoked_and_suspended_on_sqlite() {
    good_revoked_and_suspended(Backend::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn openssl_reads_good_revoked_and_suspended_on_postgres() {
    good_revoked_and_suspended(Backend::Postgres).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_serial_never_issued_is_never_good() {
    let fx = Fixture::new(Backend::Sqlite).await;
    let pending = fx.reserve("pending").await;
    let never = Serial::random(&mut rand::rng());
    let running = fx.start().await;
    for serial in [&pending, &never] {
        let (_, decoded) = ask(running.addr, &fx.cert_id(serial)).await;
        assert_eq!(decoded.status, OcspResponseStatus::Successful);
        assert_eq!(decoded.single(), "unknown", "{serial}");
    }
    // OpenSSL agrees (it asks by serial).
    let url = format!("http://{}/ocsp", running.addr);
    let serial = format!("0x{}", never.to_hex());
    let (root, issuing) = (fx.path("root.pem"), fx.path("issuing.pem"));
    let (ok, out) = run(
        "openssl",
        &[
            "ocsp",
            "-issuer",
            p(&issuing),
            "-serial",
            &serial,
            "-url",
            &url,
            "-CAfile",
            p(&root),
        ],
    )
    .await;
    assert!(ok && out.contains(&format!("{serial}: unknown")), "{out}");
    running.stop().await;

    // With `unissued = "revoked"`: RFC 6960 §2.2's extended revoked.
    let mut config = fx.config();
    config.responses.unissued = Unissued::Revoked;
    let running = fx.start_with(config).await;
    let url = format!("http://{}/ocsp", running.addr);
    let (ok, out) = run(
        "openssl",
        &[
            "ocsp",
            "-issuer",
            p(&issuing),
            "-serial",
            &serial,
            "-url",
            &url,
            "-CAfile",
            p(&root),
            "-resp_text",
        ],
    )
    .await;
    assert!(ok && out.contains("Response verify OK"), "{out}");
    assert!(out.contains(&format!("{serial}: revoked")), "{out}");
    assert!(out.contains("Reason: certificateHold"), "{out}");
    assert!(
        out.contains("Revocation Time: Jan  1 00:00:00 1970 GMT"),
        "{out}"
    );
    let (_, decoded) = ask(running.addr, &fx.cert_id(&pending)).await;
    assert_eq!(decoded.single(), "revoked");
    running.stop().await;
    fx.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sha256_cert_ids_and_several_certificates_in_one_request() {
    let fx = Fixture::new(Backend::Sqlite).await;
    let good = fx.issue("good").await;
    let revoked = fx.issue("revoked").await;
    fx.revoke(&revoked.serial, RevocationReason::Superseded)
        .await;
    let running = fx.start().await;
    let url = format!("http://{}/ocsp", running.addr);
    let (root, issuing) = (fx.path("root.pem"), fx.path("issuing.pem"));
    let (ok, out) = run(
        "openssl",
        &[
            "ocsp",
            "-sha256",
            "-issuer",
            p(&issuing),
            "-cert",
            p(&good.pem),
            "-cert",
            p(&revoked.pem),
            "-url",
            &url,
            "-CAfile",
            p(&root),
            "-resp_text",
        ],
    )
    .await;
    assert!(ok && out.contains("Response verify OK"), "{out}");
    assert!(out.contains("Hash Algorithm: sha256"), "{out}");
    assert!(out.contains(&format!("{}: good", p(&good.pem))), "{out}");
    assert!(
        out.contains(&format!("{}: revoked", p(&revoked.pem))),
        "{out}"
    );
    assert!(out.contains("Reason: superseded"), "{out}");
    running.stop().await;
    fx.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn nonce_answers_are_fresh_and_the_others_come_from_the_cache() {
    let fx = Fixture::new(Backend::Sqlite).await;
    let leaf = fx.issue("leaf").await;
    let running = fx.start().await;
    let addr = running.addr;
    let id = fx.cert_id(&leaf.serial);

    let first = post_ocsp(addr, &request(std::slice::from_ref(&id), Some(&[7u8; 16]))).await;
    let second = post_ocsp(addr, &request(std::slice::from_ref(&id), Some(&[8u8; 16]))).await;
    assert_eq!(first.header("Cache-Control"), Some("no-store"));
    assert_ne!(first.body, second.body);
    let nonce_of = |d: &Decoded| {
        d.basic
            .as_ref()
            .unwrap()
            .tbs_response_data
            .response_extensions
            .as_ref()
            .unwrap()
            .iter()
            .find(|e| e.extn_id == signet_core::ocsp::ID_PKIX_OCSP_NONCE)
            .unwrap()
            .extn_value
            .as_bytes()
            .to_vec()
    };
    let mut expected = vec![0x04, 16];
    expected.extend([7u8; 16]);
    assert_eq!(nonce_of(&decode(&first.body)), expected);

    let hits = metric(addr, "signet_ocsp_cache_hits_total").await;
    let (a, _) = ask(addr, &id).await;
    let (b, _) = ask(addr, &id).await;
    assert_eq!(a.body, b.body, "the second answer is the pre-signed one");
    assert_eq!(a.header("ETag"), b.header("ETag"));
    assert_eq!(
        metric(addr, "signet_ocsp_cache_hits_total").await,
        hits + 1.0
    );
    // Requests are counted by outcome.
    assert!(metric(addr, "signet_ocsp_requests_total{outcome=\"good\"}").await >= 4.0);
    assert!(metric(addr, "signet_ocsp_signing_seconds_count").await >= 3.0);
    running.stop().await;
    fx.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_new_signer_is_picked_up_without_a_restart() {
    let mut fx = Fixture::new(Backend::Sqlite).await;
    let leaf = fx.issue("leaf").await;
    let running = fx.start().await;
    let id = fx.cert_id(&leaf.serial);
    let (_, before) = ask(running.addr, &id).await;
    assert_eq!(before.responder_key_hash(), key_hash(&fx.signer_certs[0]));

    // The CA rotates: a newer signer (later notBefore) appears.
    let newer = fx
        .add_ocsp_signer(now().plus(std::time::Duration::from_secs(1)))
        .await;
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    loop {
        let (_, decoded) = ask(running.addr, &id).await;
        if decoded.responder_key_hash() == key_hash(&newer) {
            // The pre-signed answer of the old signer is not served any more.
            let (_, again) = ask(running.addr, &id).await;
            assert_eq!(again.responder_key_hash(), key_hash(&newer));
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "rotation not picked up"
        );
        tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    }
    // OpenSSL verifies answers of the new signer.
    let out = openssl_ask(&fx, running.addr, &leaf.pem, false).await;
    assert!(out.contains(": good"), "{out}");
    running.stop().await;
    fx.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn health_ready_and_metrics() {
    let fx = Fixture::new(Backend::Sqlite).await;
    let running = fx.start().await;
    let health = get(running.addr, "/health", "").await;
    assert_eq!((health.status, health.body.as_slice()), (200, &b"ok"[..]));
    let ready = get(running.addr, "/ready", "").await;
    assert_eq!(ready.status, 200, "{ready:?}");
    // Families show once they have a sample.
    let leaf = fx.issue("leaf").await;
    ask(running.addr, &fx.cert_id(&leaf.serial)).await;
    get(running.addr, "/ca/issuing.der", "").await;
    let metrics = get(running.addr, "/metrics", "").await;
    assert_eq!(metrics.status, 200);
    let text = String::from_utf8(metrics.body).unwrap();
    for name in [
        "signet_ocsp_requests",
        "signet_ocsp_cache_hits",
        "signet_ocsp_cache_misses",
        "signet_ocsp_signing_seconds",
        "signet_ocsp_downloads",
    ] {
        assert!(text.contains(name), "{name}: {text}");
    }
    running.stop().await;

    // No signer valid yet: alive but not ready, and every issuer is
    // refused as not served.
    let fx2 = Fixture::new(Backend::Sqlite).await;
    let leaf = fx2.issue("leaf").await;
    let mut config = fx2.config();
    // Point the responder at a database whose only signer is not valid yet.
    let db2 = signet_store::testing::TestDatabase::create(Backend::Sqlite)
        .await
        .unwrap();
    {
        let store = signet_store::CaStore::new(db2.open(signet_store::Schema::Ca).await.unwrap());
        store
            .put_issuer(ISSUING_ID, "issuing", "k", fx2.issuing.der(), now())
            .await
            .unwrap();
        let later = now().plus(std::time::Duration::from_secs(86_400));
        store
            .put_ocsp_signer(
                ISSUING_ID,
                "not-yet",
                &fx2.signer_certs[0],
                later,
                later.plus(std::time::Duration::from_secs(86_400)),
                now(),
            )
            .await
            .unwrap();
    }
    config.database.url = db2.url.clone();
    let running = fx2.start_with(config).await;
    let ready = get(running.addr, "/ready", "").await;
    assert_eq!(ready.status, 503, "{ready:?}");
    assert!(String::from_utf8_lossy(&ready.body).contains("no OCSP signer"));
    let (_, decoded) = ask(running.addr, &fx2.cert_id(&leaf.serial)).await;
    assert_eq!(decoded.status, OcspResponseStatus::Unauthorized);
    running.stop().await;
    db2.drop_database().await.ok();
    fx.close().await;
    fx2.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sm2_issuers_get_sm2_signed_answers() {
    use der::{Decode as _, Encode as _};
    use signet_core::SignatureAlgorithm;
    use signet_core::public_key::SubjectKey;

    let fx = Fixture::with_key_type(Backend::Sqlite, signet_core::KeyType::Sm2).await;
    let leaf = fx.issue("leaf").await;
    let revoked = fx.issue("revoked").await;
    fx.revoke(&revoked.serial, RevocationReason::KeyCompromise)
        .await;
    let running = fx.start().await;
    let signer_cert = x509_cert::Certificate::from_der(&fx.signer_certs[0]).unwrap();
    let key = SubjectKey::from_spki(der::referenced::OwnedToRef::owned_to_ref(
        signer_cert.tbs_certificate().subject_public_key_info(),
    ))
    .unwrap();
    for (serial, want) in [(&leaf.serial, "good"), (&revoked.serial, "revoked")] {
        for nonce in [None, Some(&[6u8; 16][..])] {
            let response = post_ocsp(running.addr, &request(&[fx.cert_id(serial)], nonce)).await;
            let decoded = decode(&response.body);
            assert_eq!(decoded.single(), want);
            let basic = decoded.basic.as_ref().unwrap();
            assert_eq!(
                basic.signature_algorithm,
                SignatureAlgorithm::Sm2Sm3.identifier()
            );
            key.verify(
                SignatureAlgorithm::Sm2Sm3,
                &basic.tbs_response_data.to_der().unwrap(),
                basic.signature.raw_bytes(),
            )
            .expect("an SM2 signature by the delegated responder");
        }
    }
    // OpenSSL 3.0 cannot apply the SM2 ID to OCSP signatures: it parses.
    let resp = fx.path("sm2.der");
    std::fs::write(
        &resp,
        ask(running.addr, &fx.cert_id(&leaf.serial)).await.0.body,
    )
    .unwrap();
    let (ok, out) = run(
        "openssl",
        &["ocsp", "-respin", p(&resp), "-resp_text", "-noverify"],
    )
    .await;
    assert!(ok && out.contains("Cert Status: good"), "{out}");
    assert!(out.contains("SM2-with-SM3") || out.contains("SM2"), "{out}");
    running.stop().await;
    fx.close().await;
}
