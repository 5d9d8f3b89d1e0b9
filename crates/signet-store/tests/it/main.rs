//! The same store tests on SQLite and on the PostgreSQL server at
//! 127.0.0.1:5432 (each test creates and drops its own database).

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use signet_core::{CertificateStatus, RevocationReason, Serial, Timestamp};
use signet_store::testing::TestDatabase;
use signet_store::{
    Backend, CaStore, IssuanceJournal, ListQuery, NewPending, PendingOutcome, Schema, StatusChange,
    StatusOutcome,
};

const NOW: Timestamp = Timestamp::from_unix(1_795_000_000);

/// Runs `$body` (an async fn taking a `CaStore`) on both backends.
macro_rules! on_both_backends {
    ($name:ident, $body:ident) => {
        mod $name {
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn sqlite() {
                super::run(signet_store::Backend::Sqlite, super::$body).await;
            }
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn postgres() {
                super::run(signet_store::Backend::Postgres, super::$body).await;
            }
        }
    };
}

async fn run<F, Fut>(backend: Backend, body: F)
where
    F: FnOnce(CaStore) -> Fut,
    Fut: std::future::Future<Output = ()>,
{
    let db = TestDatabase::create(backend).await.unwrap();
    let store = CaStore::new(db.open(Schema::Ca).await.unwrap());
    store
        .put_issuer(1, "issuing", "issuing-ca", b"cert", NOW)
        .await
        .unwrap();
    body(store.clone()).await;
    store.database().close().await;
    db.drop_database().await.unwrap();
}

fn pending(serial: &Serial, request_id: &str) -> NewPending {
    NewPending {
        issuer_id: 1,
        serial: serial.clone(),
        request_id: request_id.to_owned(),
        request_hash: vec![1, 2, 3],
        profile: "server".into(),
        subject: "CN=www.example.test".into(),
        sans: vec!["DNS:www.example.test".into(), "IP:192.0.2.1".into()],
        not_before: NOW,
        not_after: NOW.plus(std::time::Duration::from_secs(86_400)),
        crl_shard: 0,
        tbs: vec![0x30, 0x00],
        now: NOW,
    }
}

fn serial() -> Serial {
    Serial::random(&mut rand::rng())
}

on_both_backends!(
    issuance_is_recorded_then_completed,
    issuance_is_recorded_then_completed_body
);
async fn issuance_is_recorded_then_completed_body(store: CaStore) {
    let journal = IssuanceJournal::start(&store, 64);
    let s = serial();
    assert_eq!(
        journal.record_pending(pending(&s, "req-1")).await.unwrap(),
        PendingOutcome::Recorded
    );
    let row = store.get(1, &s).await.unwrap().unwrap();
    assert_eq!(row.status, CertificateStatus::Pending);
    assert_eq!(row.der, None);
    assert_eq!(row.sans, vec!["DNS:www.example.test", "IP:192.0.2.1"]);
    assert_eq!(store.pending().await.unwrap().len(), 1);

    journal
        .record_issued(1, s.clone(), vec![0x30, 0x03, 1, 2, 3], NOW)
        .await
        .unwrap();
    let row = store.find_by_request("req-1").await.unwrap().unwrap();
    assert_eq!(row.status, CertificateStatus::Good);
    assert_eq!(row.der.as_deref(), Some(&[0x30, 0x03, 1, 2, 3][..]));
    assert!(
        row.tbs.is_empty(),
        "the TBS is kept only until the certificate is stored"
    );
    assert!(store.pending().await.unwrap().is_empty());
    // Completing twice is refused: the row is no longer pending.
    assert!(
        journal
            .record_issued(1, s, vec![0x30, 0x00], NOW)
            .await
            .is_err()
    );
}

on_both_backends!(
    serials_and_request_ids_are_never_reused,
    serials_and_request_ids_are_never_reused_body
);
async fn serials_and_request_ids_are_never_reused_body(store: CaStore) {
    let journal = IssuanceJournal::start(&store, 64);
    let s = serial();
    assert_eq!(
        journal.record_pending(pending(&s, "a")).await.unwrap(),
        PendingOutcome::Recorded
    );
    assert_eq!(
        journal.record_pending(pending(&s, "b")).await.unwrap(),
        PendingOutcome::SerialTaken
    );
    assert_eq!(
        journal
            .record_pending(pending(&serial(), "a"))
            .await
            .unwrap(),
        PendingOutcome::RequestExists
    );
    assert_eq!(store.find_serial(&s).await.unwrap().len(), 1);
    assert!(store.find_by_request("b").await.unwrap().is_none());
}

on_both_backends!(
    many_concurrent_writes_all_land,
    many_concurrent_writes_all_land_body
);
async fn many_concurrent_writes_all_land_body(store: CaStore) {
    let journal = IssuanceJournal::start(&store, 128);
    let mut tasks = Vec::new();
    for i in 0..500 {
        let journal = journal.clone();
        tasks.push(tokio::spawn(async move {
            let s = serial();
            let outcome = journal
                .record_pending(pending(&s, &format!("req-{i}")))
                .await
                .unwrap();
            assert_eq!(outcome, PendingOutcome::Recorded);
            journal
                .record_issued(1, s, vec![0x30, 0x00], NOW)
                .await
                .unwrap();
        }));
    }
    for t in tasks {
        t.await.unwrap();
    }
    let counts = store.count_by_status().await.unwrap();
    assert_eq!(counts, vec![("good".to_owned(), 500)]);
}

on_both_backends!(
    status_changes_follow_the_rules,
    status_changes_follow_the_rules_body
);
async fn status_changes_follow_the_rules_body(store: CaStore) {
    let journal = IssuanceJournal::start(&store, 8);
    let s = serial();
    journal.record_pending(pending(&s, "r")).await.unwrap();
    // A pending row cannot be revoked: it is not a certificate yet.
    let revoke = StatusChange::Revoke {
        reason: RevocationReason::KeyCompromise,
        invalidity_date: None,
    };
    assert!(matches!(
        store.change_status(1, &s, revoke, NOW).await.unwrap(),
        StatusOutcome::NotAllowed(_)
    ));
    journal
        .record_issued(1, s.clone(), vec![0x30, 0x00], NOW)
        .await
        .unwrap();

    let later = NOW.plus(std::time::Duration::from_secs(60));
    let StatusOutcome::Changed(r) = store
        .change_status(1, &s, StatusChange::Suspend, later)
        .await
        .unwrap()
    else {
        panic!("suspend");
    };
    assert_eq!(
        (r.status, r.reason, r.revoked_at),
        (
            CertificateStatus::Suspended,
            Some(RevocationReason::CertificateHold),
            Some(later)
        )
    );
    assert!(matches!(
        store
            .change_status(1, &s, StatusChange::Suspend, later)
            .await
            .unwrap(),
        StatusOutcome::Unchanged(_)
    ));
    let StatusOutcome::Changed(r) = store
        .change_status(1, &s, StatusChange::Resume, later)
        .await
        .unwrap()
    else {
        panic!("resume");
    };
    assert_eq!(
        (r.status, r.reason, r.revoked_at),
        (CertificateStatus::Good, None, None)
    );

    let compromise = StatusChange::Revoke {
        reason: RevocationReason::KeyCompromise,
        invalidity_date: Some(NOW),
    };
    let StatusOutcome::Changed(r) = store.change_status(1, &s, compromise, later).await.unwrap()
    else {
        panic!("revoke");
    };
    assert_eq!(
        (r.status, r.reason, r.invalidity_date),
        (
            CertificateStatus::Revoked,
            Some(RevocationReason::KeyCompromise),
            Some(NOW)
        )
    );
    assert!(matches!(
        store.change_status(1, &s, compromise, later).await.unwrap(),
        StatusOutcome::Unchanged(_)
    ));
    assert!(matches!(
        store
            .change_status(1, &s, StatusChange::Resume, later)
            .await
            .unwrap(),
        StatusOutcome::NotAllowed(_)
    ));
    assert_eq!(
        store
            .change_status(1, &serial(), StatusChange::Suspend, later)
            .await
            .unwrap(),
        StatusOutcome::NotFound
    );

    let revoked = store
        .list(&ListQuery {
            status: Some(CertificateStatus::Revoked),
            limit: 10,
            ..Default::default()
        })
        .await
        .unwrap();
    assert_eq!(revoked.len(), 1);
    let good = store
        .list(&ListQuery {
            status: Some(CertificateStatus::Good),
            limit: 10,
            ..Default::default()
        })
        .await
        .unwrap();
    assert!(good.is_empty());
}

on_both_backends!(
    crl_numbers_increase_per_shard,
    crl_numbers_increase_per_shard_body
);
async fn crl_numbers_increase_per_shard_body(store: CaStore) {
    assert_eq!(store.next_crl_number(1, 0).await.unwrap(), 1);
    assert_eq!(store.next_crl_number(1, 0).await.unwrap(), 2);
    assert_eq!(store.next_crl_number(1, 3).await.unwrap(), 1);
    assert_eq!(store.next_crl_number(1, 0).await.unwrap(), 3);
}

on_both_backends!(
    idempotency_keys_tell_retries_from_reuse,
    idempotency_keys_tell_retries_from_reuse_body
);
async fn idempotency_keys_tell_retries_from_reuse_body(store: CaStore) {
    assert_eq!(
        store
            .claim_idempotency_key("k", "revoke", b"h1", NOW)
            .await
            .unwrap(),
        None
    );
    assert_eq!(
        store
            .claim_idempotency_key("k", "revoke", b"h1", NOW)
            .await
            .unwrap(),
        Some(b"h1".to_vec())
    );
    assert_eq!(
        store
            .claim_idempotency_key("k", "suspend", b"h1", NOW)
            .await
            .unwrap(),
        Some(Vec::new())
    );
}

on_both_backends!(issuers_are_written_once, issuers_are_written_once_body);
async fn issuers_are_written_once_body(store: CaStore) {
    let again = store
        .put_issuer(1, "issuing", "other-label", b"other", NOW)
        .await
        .unwrap();
    assert_eq!(again.key_label, "issuing-ca");
    store
        .put_issuer(2, "root", "root-ca", b"root", NOW)
        .await
        .unwrap();
    let names: Vec<_> = store
        .issuers()
        .await
        .unwrap()
        .into_iter()
        .map(|i| i.name)
        .collect();
    assert_eq!(names, vec!["issuing", "root"]);
}
