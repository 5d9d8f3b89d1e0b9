//! The data-key service and rotation: ciphertexts name their key version,
//! data encrypted before a rotation (working or master key) decrypts after
//! it and after a restart, re-encryption moves it to the new version, and a
//! destroyed version decrypts nothing.

use signet_api::kmc::{DecryptRequest, EncryptRequest, RecoveryRequest, RotateRequest};
use signet_core::KeyType;
use signet_core::envelope::open_private_key;
use signet_store::Backend;

use crate::kit::{Kit, b64, b64e, clock, key_pair, pem_der, signing_key};

fn enc(plain: &[u8], aad: Option<&[u8]>) -> EncryptRequest {
    EncryptRequest {
        plaintext: b64e(plain),
        aad: aad.map(b64e),
    }
}

fn dec(ciphertext: &str, aad: Option<&[u8]>) -> DecryptRequest {
    DecryptRequest {
        ciphertext: ciphertext.to_owned(),
        aad: aad.map(b64e),
    }
}

#[tokio::test]
async fn ciphertexts_are_bound_to_key_and_associated_data() {
    let kit = Kit::new(Backend::Postgres).await;
    let app = kit.client("payroll-app");
    for key in ["payroll", "ledger"] {
        let payload = vec![0x5a_u8; 1024];
        let sealed = app
            .encrypt(key, &enc(&payload, Some(b"row 7")))
            .await
            .unwrap();
        assert_eq!(sealed.version, 1);
        let raw = b64(&sealed.ciphertext);
        // format, algorithm, version (4), nonce (12), ciphertext, tag (16)
        assert_eq!(raw.len(), 6 + 12 + 1024 + 16);
        assert_eq!(raw[1], if key == "payroll" { 2 } else { 1 });
        let opened = app
            .decrypt(key, &dec(&sealed.ciphertext, Some(b"row 7")))
            .await
            .unwrap();
        assert_eq!(b64(&opened.plaintext), payload);
        // Other associated data, another key, or a flipped bit: refused.
        let err = app
            .decrypt(key, &dec(&sealed.ciphertext, Some(b"row 8")))
            .await
            .unwrap_err();
        assert_eq!(err.code(), Some("decrypt_failed"));
        let other = if key == "payroll" {
            "ledger"
        } else {
            "payroll"
        };
        let err = app
            .decrypt(other, &dec(&sealed.ciphertext, Some(b"row 7")))
            .await
            .unwrap_err();
        assert_eq!(err.code(), Some("decrypt_failed"));
        let mut bad = raw.clone();
        bad[30] ^= 1;
        let err = app
            .decrypt(key, &dec(&b64e(&bad), Some(b"row 7")))
            .await
            .unwrap_err();
        assert_eq!(err.code(), Some("decrypt_failed"));
    }
    kit.finish().await;
}

#[tokio::test]
async fn data_and_escrow_survive_rotations_and_destroyed_versions_are_gone() {
    let mut kit = Kit::new(Backend::Postgres).await;
    let app = kit.client("payroll-app");
    let admin = kit.client("admin");
    let ca = kit.client("ca");
    let (_, pem) = signing_key(KeyType::Sm2);
    let escrowed = key_pair(&ca, KeyType::Sm2, &pem).await;
    let before = app.encrypt("payroll", &enc(b"before", None)).await.unwrap();
    assert_eq!(before.version, 1);

    // Rotate the data key, the escrow working key and the domain's master.
    let rotate = |level: &str, name: &str| RotateRequest {
        level: level.to_owned(),
        name: name.to_owned(),
        reason: "test".into(),
    };
    let r = admin.rotate(&rotate("working", "payroll")).await.unwrap();
    assert_eq!(r.version, 2);
    admin
        .rotate(&rotate("working", "escrow.default"))
        .await
        .unwrap();
    let m = admin.rotate(&rotate("master", "default")).await.unwrap();
    assert_eq!(m.version, 2);
    // Only the administrator rotates.
    let err = app.rotate(&rotate("working", "payroll")).await.unwrap_err();
    assert_eq!(err.code(), Some("forbidden"));

    let after = app.encrypt("payroll", &enc(b"after", None)).await.unwrap();
    assert_eq!(after.version, 2);
    let old = app
        .decrypt("payroll", &dec(&before.ciphertext, None))
        .await
        .unwrap();
    assert_eq!((b64(&old.plaintext), old.version), (b"before".to_vec(), 1));

    // A restart unwraps everything from the database again.
    kit.stop().await;
    kit.running = Some(
        signet_kmc::start(kit.config.clone(), clock())
            .await
            .unwrap(),
    );
    let app = kit.client("payroll-app");
    let admin = kit.client("admin");
    let old = app
        .decrypt("payroll", &dec(&before.ciphertext, None))
        .await
        .unwrap();
    assert_eq!(b64(&old.plaintext), b"before");
    let new = app
        .decrypt("payroll", &dec(&after.ciphertext, None))
        .await
        .unwrap();
    assert_eq!(b64(&new.plaintext), b"after");

    // The key escrowed before the rotations is still recoverable.
    let ra = kit.client("ra");
    let (subscriber, new_pem) = signing_key(KeyType::Sm2);
    let filed = ra
        .request_recovery(&RecoveryRequest {
            key_id: escrowed.key_id.clone(),
            officer: "officer-a".into(),
            reason: "after rotation".into(),
            signing_key: new_pem,
        })
        .await
        .unwrap();
    ra.approve_recovery(&filed.id, "officer-b").await.unwrap();
    ra.approve_recovery(&filed.id, "officer-c").await.unwrap();
    let delivered = ra.deliver_recovery(&filed.id, "officer-a").await.unwrap();
    let key = open_private_key(&b64(&delivered.envelope), &subscriber).unwrap();
    assert_eq!(key.public_key_der(), pem_der(&escrowed.public_key));

    // Re-encrypt moves the old ciphertext to the active version.
    let moved = app
        .re_encrypt("payroll", &dec(&before.ciphertext, None))
        .await
        .unwrap();
    assert_eq!(moved.version, 2);
    // The active version cannot be destroyed; the retired one can.
    let err = admin
        .destroy_data_key_version("payroll", 2)
        .await
        .unwrap_err();
    assert_eq!(err.code(), Some("invalid_state"));
    let info = admin.destroy_data_key_version("payroll", 1).await.unwrap();
    assert_eq!(info.live_versions, [2]);
    let err = app
        .decrypt("payroll", &dec(&before.ciphertext, None))
        .await
        .unwrap_err();
    assert_eq!(err.code(), Some("destroyed"));
    let moved_back = app
        .decrypt("payroll", &dec(&moved.ciphertext, None))
        .await
        .unwrap();
    assert_eq!(b64(&moved_back.plaintext), b"before");

    // The destroyed version's wrapped key is gone from the database.
    let versions: Vec<_> = kit
        .running()
        .kmc
        .store()
        .working_keys()
        .await
        .unwrap()
        .into_iter()
        .filter(|w| w.name == "payroll")
        .collect();
    let v1 = versions.iter().find(|w| w.version == 1).unwrap();
    assert!(v1.wrapped.is_none());
    assert_eq!(v1.state.as_str(), "destroyed");

    // Health shows both masters, the retired one wrapping nothing now.
    let health = admin.key_health().await.unwrap();
    assert_eq!(health.master_keys.counts.values().sum::<i64>(), 2);
    assert!(health.overdue.is_empty());
    kit.finish().await;
}
