//! Key recovery under dual control: the requester cannot approve, one
//! approval is not enough, two distinct officers are; the delivered
//! envelope opens only with the subscriber's current signing key; every
//! step, refusals included, is in the hash-chained audit trail.

use signet_api::kmc::RecoveryRequest;
use signet_core::KeyType;
use signet_core::envelope::open_private_key;
use signet_store::Backend;

use crate::kit::{Kit, b64, key_pair, pem_der, signing_key};

#[tokio::test]
async fn recovery_needs_two_officers_other_than_the_requester() {
    let kit = Kit::new(Backend::Postgres).await;
    let ca = kit.client("ca");
    let ra = kit.client("ra");
    let (_old_signing, old_pem) = signing_key(KeyType::Sm2);
    let pair = key_pair(&ca, KeyType::Sm2, &old_pem).await;

    // The subscriber lost the old key pair and enrolled a new signing key.
    let (new_signing, new_pem) = signing_key(KeyType::Sm2);
    let filed = ra
        .request_recovery(&RecoveryRequest {
            key_id: pair.key_id.clone(),
            officer: "officer-alice".into(),
            reason: "laptop stolen, ticket 4711".into(),
            signing_key: new_pem,
        })
        .await
        .unwrap();
    assert_eq!(filed.state, "pending");
    assert_eq!(filed.required_approvals, 2);

    // The requester cannot approve her own request.
    let err = ra
        .approve_recovery(&filed.id, "officer-alice")
        .await
        .unwrap_err();
    assert_eq!(err.code(), Some("requester_cannot_approve"));

    // One approver is not enough.
    let one = ra.approve_recovery(&filed.id, "officer-bob").await.unwrap();
    assert_eq!(one.state, "pending");
    assert_eq!(one.approvals, ["officer-bob"]);
    let err = ra
        .deliver_recovery(&filed.id, "officer-bob")
        .await
        .unwrap_err();
    assert_eq!(err.code(), Some("not_approved"));
    // The same officer twice still counts once.
    let err = ra
        .approve_recovery(&filed.id, "officer-bob")
        .await
        .unwrap_err();
    assert_eq!(err.code(), Some("already_approved"));

    // A second, distinct officer completes it.
    let two = ra
        .approve_recovery(&filed.id, "officer-carol")
        .await
        .unwrap();
    assert_eq!(two.state, "approved");
    let delivered = ra
        .deliver_recovery(&filed.id, "officer-alice")
        .await
        .unwrap();
    assert_eq!(delivered.key_id, pair.key_id);
    let envelope = b64(&delivered.envelope);
    let recovered = open_private_key(&envelope, &new_signing).unwrap();
    assert_eq!(recovered.public_key_der(), pem_der(&pair.public_key));
    // Only the subscriber's key opens it.
    let (stranger, _) = signing_key(KeyType::Sm2);
    assert!(open_private_key(&envelope, &stranger).is_err());

    // Delivered once.
    let err = ra
        .deliver_recovery(&filed.id, "officer-alice")
        .await
        .unwrap_err();
    assert_eq!(err.code(), Some("invalid_state"));

    // Every step and every refusal is audited, and the chain verifies.
    let store = kit.running().kmc.store();
    let audit = store.audit_after(0, 1000).await.unwrap();
    let steps: Vec<(String, String, String)> = audit
        .iter()
        .filter(|r| r.entry.action.starts_with("recovery."))
        .map(|r| {
            (
                r.entry.action.clone(),
                r.entry.actor.clone(),
                r.entry.outcome.clone(),
            )
        })
        .collect();
    let expect = |action: &str, actor: &str, outcome: &str| {
        assert!(
            steps
                .iter()
                .any(|(a, b, c)| a == action && b == actor && c == outcome),
            "{action} by {actor} ({outcome}) not audited: {steps:?}"
        );
    };
    expect("recovery.request", "officer-alice", "success");
    expect("recovery.approve", "officer-alice", "denied");
    expect("recovery.approve", "officer-bob", "success");
    expect("recovery.deliver", "officer-bob", "denied");
    expect("recovery.approve", "officer-carol", "success");
    expect("recovery.deliver", "officer-alice", "success");
    assert!(store.verify_audit_chain().await.unwrap() >= i64::try_from(audit.len()).unwrap());
    kit.finish().await;
}

#[tokio::test]
async fn only_officers_recover_and_the_ca_cannot() {
    let kit = Kit::new(Backend::Postgres).await;
    let ca = kit.client("ca");
    let (_, pem) = signing_key(KeyType::P256);
    let pair = key_pair(&ca, KeyType::P256, &pem).await;
    for client in ["ca", "payroll-app"] {
        let err = kit
            .client(client)
            .request_recovery(&RecoveryRequest {
                key_id: pair.key_id.clone(),
                officer: "someone".into(),
                reason: "test".into(),
                signing_key: pem.clone(),
            })
            .await
            .unwrap_err();
        assert_eq!(err.code(), Some("forbidden"), "{client}");
    }
    kit.finish().await;
}
