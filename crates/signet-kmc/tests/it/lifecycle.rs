//! Lifecycle under a controlled clock: escrowed keys are destroyed when
//! their retention ends (and then cannot be recovered), a retired escrow
//! working key that wraps nothing any more is crypto-erased, and keys past
//! their rotation time are reported overdue and rotated by maintenance.

use std::sync::Arc;
use std::time::Duration;

use signet_api::kmc::{RecoveryRequest, RotateRequest};
use signet_core::{Clock, FixedClock, KeyType};
use signet_store::Backend;

use crate::kit::{Kit, key_pair, signing_key};

const DAY: Duration = Duration::from_secs(86_400);

#[tokio::test]
async fn retention_destroys_escrowed_keys_and_erases_idle_working_keys() {
    let start = signet_core::SystemClock.now();
    let clock = Arc::new(FixedClock::new(start));
    let kit = Kit::with_clock(Backend::Postgres, clock.clone()).await;
    let ca = kit.client("ca");
    let admin = kit.client("admin");
    let (_, pem) = signing_key(KeyType::Sm2);
    let a = key_pair(&ca, KeyType::Sm2, &pem).await;
    let b = key_pair(&ca, KeyType::Sm2, &pem).await;
    // Both are wrapped by escrow.default v1; rotate it so v1 is retired.
    admin
        .rotate(&RotateRequest {
            level: "working".into(),
            name: "escrow.default".into(),
            reason: "test".into(),
        })
        .await
        .unwrap();

    // Nothing is due yet.
    let report = admin.maintenance().await.unwrap();
    assert!(report.escrows_destroyed.is_empty());
    assert!(report.keys_destroyed.is_empty());

    // 31 days later no certificate was ever issued for them: the unbound
    // retention (30 days) has passed.
    clock.set(start.plus(31 * DAY));
    let report = admin.maintenance().await.unwrap();
    let mut destroyed = report.escrows_destroyed.clone();
    destroyed.sort();
    let mut expected = vec![a.key_id.clone(), b.key_id.clone()];
    expected.sort();
    assert_eq!(destroyed, expected);
    assert_eq!(report.keys_destroyed, ["working:escrow.default:v1"]);

    let info = admin.escrowed_key(&a.key_id).await.unwrap();
    assert_eq!(info.state, "destroyed");
    let record = kit
        .running()
        .kmc
        .store()
        .escrow(&a.key_id)
        .await
        .unwrap()
        .unwrap();
    assert!(record.wrapped.is_none(), "the wrapped key must be deleted");
    // A destroyed key cannot be recovered.
    let err = kit
        .client("ra")
        .request_recovery(&RecoveryRequest {
            key_id: a.key_id.clone(),
            officer: "officer-a".into(),
            reason: "too late".into(),
            signing_key: pem.clone(),
        })
        .await
        .unwrap_err();
    assert_eq!(err.code(), Some("destroyed"));
    let working = kit.running().kmc.store().working_keys().await.unwrap();
    let v1 = working
        .iter()
        .find(|w| w.name == "escrow.default" && w.version == 1)
        .unwrap();
    assert!(v1.wrapped.is_none());
    let health = admin.key_health().await.unwrap();
    assert_eq!(health.escrowed_keys.counts.get("destroyed"), Some(&2));
    kit.finish().await;
}

#[tokio::test]
async fn keys_past_their_rotation_time_are_overdue_until_maintenance_rotates_them() {
    let start = signet_core::SystemClock.now();
    let clock = Arc::new(FixedClock::new(start));
    let kit = Kit::with_clock(Backend::Postgres, clock.clone()).await;
    let admin = kit.client("admin");
    let health = admin.key_health().await.unwrap();
    assert!(health.overdue.is_empty());
    // Working keys rotate every 90 days by default.
    clock.set(start.plus(91 * DAY));
    let health = admin.key_health().await.unwrap();
    for name in [
        "working:escrow.default",
        "working:payroll",
        "working:ledger",
    ] {
        assert!(
            health.overdue.iter().any(|o| o == name),
            "{name}: {:?}",
            health.overdue
        );
    }
    let report = admin.maintenance().await.unwrap();
    for rotated in [
        "working:escrow.default:v2",
        "working:payroll:v2",
        "working:ledger:v2",
    ] {
        assert!(
            report.rotated.iter().any(|r| r == rotated),
            "{rotated}: {:?}",
            report.rotated
        );
    }
    assert!(admin.key_health().await.unwrap().overdue.is_empty());
    kit.finish().await;
}
