//! Status changes reach the answers within a second, through the cache,
//! on every responder of a database, and across restarts.

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use signet_core::RevocationReason;
use signet_core::ocsp::CertId;
use signet_store::{Backend, StatusChange};

use crate::kit::*;

/// Asks until the answer is `want`; returns how long that took.
async fn until(addr: SocketAddr, id: &CertId, want: &str, limit: Duration) -> Duration {
    let started = Instant::now();
    loop {
        let (_, decoded) = ask(addr, id).await;
        if decoded.single() == want {
            return started.elapsed();
        }
        assert!(
            started.elapsed() < limit,
            "still {} after {limit:?}",
            decoded.single()
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// Asks twice and checks the second answer came from the cache.
async fn prime(addr: SocketAddr, id: &CertId) {
    let (a, first) = ask(addr, id).await;
    assert_eq!(first.single(), "good");
    let (b, _) = ask(addr, id).await;
    assert_eq!(a.body, b.body, "not served from the cache");
}

async fn revocation_reaches_cached_answers(backend: Backend) {
    let fx = Fixture::new(backend).await;
    let leaf = fx.issue("leaf").await;
    let held = fx.issue("held").await;
    let running = fx.start().await;
    let (id, held_id) = (fx.cert_id(&leaf.serial), fx.cert_id(&held.serial));
    prime(running.addr, &id).await;
    prime(running.addr, &held_id).await;

    fx.revoke(&leaf.serial, RevocationReason::KeyCompromise)
        .await;
    let took = until(running.addr, &id, "revoked", Duration::from_secs(1)).await;
    eprintln!("revocation visible after {took:?}");

    fx.change(&held.serial, StatusChange::Suspend).await;
    until(running.addr, &held_id, "revoked", Duration::from_secs(1)).await;
    // The revoked answer is cached in turn, and a resumption drops it.
    prime_revoked(running.addr, &held_id).await;
    fx.change(&held.serial, StatusChange::Resume).await;
    until(running.addr, &held_id, "good", Duration::from_secs(1)).await;

    // A restarted responder answers at once (it signs until its cache fills).
    running.stop().await;
    let running = fx.start().await;
    let (_, decoded) = ask(running.addr, &id).await;
    assert_eq!(decoded.single(), "revoked");
    let (_, decoded) = ask(running.addr, &held_id).await;
    assert_eq!(decoded.single(), "good");
    running.stop().await;
    fx.close().await;
}

async fn prime_revoked(addr: SocketAddr, id: &CertId) {
    let (a, _) = ask(addr, id).await;
    let (b, decoded) = ask(addr, id).await;
    assert_eq!(decoded.single(), "revoked");
    assert_eq!(a.body, b.body, "not served from the cache");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_revocation_reaches_cached_answers_within_a_second_on_sqlite() {
    revocation_reaches_cached_answers(Backend::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_revocation_reaches_cached_answers_within_a_second_on_postgres() {
    revocation_reaches_cached_answers(Backend::Postgres).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_responders_on_one_postgres_database_agree_after_a_revocation() {
    let fx = Fixture::new(Backend::Postgres).await;
    let leaves = [
        fx.issue("one").await,
        fx.issue("two").await,
        fx.issue("three").await,
    ];
    let first = fx.start().await;
    let second = fx.start().await;
    for leaf in &leaves {
        let id = fx.cert_id(&leaf.serial);
        prime(first.addr, &id).await;
        prime(second.addr, &id).await;
    }
    // Several changes at once, in separate transactions.
    let (a, b, c) = tokio::join!(
        fx.revoke(&leaves[0].serial, RevocationReason::KeyCompromise),
        fx.revoke(&leaves[1].serial, RevocationReason::CessationOfOperation),
        fx.change(&leaves[2].serial, StatusChange::Suspend),
    );
    let _ = (a, b, c);
    for leaf in &leaves {
        let id = fx.cert_id(&leaf.serial);
        until(first.addr, &id, "revoked", Duration::from_secs(1)).await;
        until(second.addr, &id, "revoked", Duration::from_secs(1)).await;
        // Both say the same thing, down to the reason and time.
        let (_, x) = ask(first.addr, &id).await;
        let (_, y) = ask(second.addr, &id).await;
        assert_eq!(x.cert_statuses(), y.cert_statuses());
    }
    // And OpenSSL verifies both.
    for addr in [first.addr, second.addr] {
        let out = openssl_ask(&fx, addr, &leaves[1].pem, true).await;
        assert!(out.contains("Reason: cessationOfOperation"), "{out}");
    }
    first.stop().await;
    second.stop().await;
    fx.close().await;
}
