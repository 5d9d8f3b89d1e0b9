//! Custodian backup: any 2 of 3 shares rebuild the root storage key into a
//! fresh token, and the KMC started on it recovers keys escrowed before;
//! one share restores nothing.

use signet_api::kmc::{DecryptRequest, EncryptRequest, RecoveryRequest};
use signet_core::KeyType;
use signet_core::envelope::{PrivateKey, open_private_key};
use signet_kmc::KmcError;
use signet_kmc::ceremony::{self, SharePlan};
use signet_kmc::shares::ShareFile;
use signet_store::Backend;
use signet_token::Token;

use crate::kit::{Kit, b64, b64e, clock, key_pair, pem_der, signing_key};

fn fresh_token(name: &str) -> signet_token::TokenConfig {
    let (token, config) = signet_token::testing::test_token(name);
    drop(token);
    config
}

fn has_root(config: &signet_token::TokenConfig, version: i64) -> bool {
    Token::open(config)
        .unwrap()
        .has_key(&signet_kmc::hierarchy::root_label(version))
        .unwrap()
}

#[tokio::test]
async fn two_of_three_shares_restore_a_kmc_that_opens_old_escrow() {
    let mut kit = Kit::new(Backend::Postgres).await;
    let ca = kit.client("ca");
    let (_, pem) = signing_key(KeyType::Sm2);
    let pair = key_pair(&ca, KeyType::Sm2, &pem).await;
    let app = kit.client("payroll-app");
    let sealed = app
        .encrypt(
            "payroll",
            &EncryptRequest {
                plaintext: b64e(b"salary: 1000"),
                aad: None,
            },
        )
        .await
        .unwrap();
    kit.stop().await;

    // Shares travel as files.
    let shares: Vec<ShareFile> = kit
        .shares
        .iter()
        .map(|s| ShareFile::from_text(&s.to_text()).unwrap())
        .collect();

    // One share restores nothing, and leaves the token without a root key.
    let lonely = fresh_token("kmc-one-share");
    let mut config = kit.config.clone();
    config.token = lonely.clone();
    for one in &shares {
        let err = ceremony::restore(&config, std::slice::from_ref(one), clock())
            .await
            .unwrap_err();
        assert!(matches!(err, KmcError::Shares { .. }), "{err:?}");
    }
    assert!(!has_root(&lonely, 1));

    // Every pair of shares restores.
    for (a, b) in [(0, 1), (0, 2), (1, 2)] {
        let target = fresh_token("kmc-restore");
        let mut config = kit.config.clone();
        config.token = target.clone();
        let pair_shares = [shares[a].clone(), shares[b].clone()];
        let outcome = ceremony::restore(&config, &pair_shares, clock())
            .await
            .unwrap();
        assert_eq!(outcome.root_version, 1);
        assert_eq!(outcome.masters_verified, 1);
        assert!(has_root(&target, 1));
        // A second restore into the same token is refused.
        let err = ceremony::restore(&config, &pair_shares, clock())
            .await
            .unwrap_err();
        assert!(
            matches!(err, KmcError::AlreadyInitialized { .. }),
            "{err:?}"
        );
    }

    // A KMC on a restored token recovers the key escrowed before and
    // decrypts data sealed before.
    let target = fresh_token("kmc-restored");
    let mut config = kit.config.clone();
    config.token = target;
    ceremony::restore(&config, &[shares[2].clone(), shares[0].clone()], clock())
        .await
        .unwrap();
    kit.config = config.clone();
    kit.running = Some(signet_kmc::start(config, clock()).await.unwrap());
    let ra = kit.client("ra");
    let (subscriber, new_pem) = signing_key(KeyType::Sm2);
    let filed = ra
        .request_recovery(&RecoveryRequest {
            key_id: pair.key_id.clone(),
            officer: "officer-a".into(),
            reason: "disaster recovery drill".into(),
            signing_key: new_pem,
        })
        .await
        .unwrap();
    ra.approve_recovery(&filed.id, "officer-b").await.unwrap();
    ra.approve_recovery(&filed.id, "officer-c").await.unwrap();
    let delivered = ra.deliver_recovery(&filed.id, "officer-a").await.unwrap();
    let recovered = open_private_key(&b64(&delivered.envelope), &subscriber).unwrap();
    assert_eq!(recovered.public_key_der(), pem_der(&pair.public_key));
    let opened = kit
        .client("payroll-app")
        .decrypt(
            "payroll",
            &DecryptRequest {
                ciphertext: sealed.ciphertext,
                aad: None,
            },
        )
        .await
        .unwrap();
    assert_eq!(b64(&opened.plaintext), b"salary: 1000");
    kit.finish().await;
}

#[tokio::test]
async fn a_backup_makes_new_shares_and_old_ones_stop_working() {
    let mut kit = Kit::new(Backend::Postgres).await;
    let ca = kit.client("ca");
    let (_, pem) = signing_key(KeyType::P256);
    let pair = key_pair(&ca, KeyType::P256, &pem).await;
    kit.stop().await;

    let plan = SharePlan {
        shares: 5,
        threshold: 3,
    };
    let backup = ceremony::backup(&kit.config, plan, clock()).await.unwrap();
    assert_eq!(backup.root_version, 2);
    assert_eq!(backup.shares.len(), 5);
    // The old root is gone from the token; the new one is there.
    assert!(!has_root(&kit.token_config, 1));
    assert!(has_root(&kit.token_config, 2));

    let target = fresh_token("kmc-after-backup");
    let mut config = kit.config.clone();
    config.token = target;
    // Old shares are of root v1: refused.
    let err = ceremony::restore(&config, &kit.shares[..2], clock())
        .await
        .unwrap_err();
    assert!(matches!(err, KmcError::Shares { .. }), "{err:?}");
    // Two of the new five are below the threshold of three.
    let err = ceremony::restore(&config, &backup.shares[..2], clock())
        .await
        .unwrap_err();
    assert!(matches!(err, KmcError::Shares { .. }), "{err:?}");
    ceremony::restore(&config, &backup.shares[2..], clock())
        .await
        .unwrap();

    // The original token keeps working with the rewrapped masters.
    kit.running = Some(
        signet_kmc::start(kit.config.clone(), clock())
            .await
            .unwrap(),
    );
    let ra = kit.client("ra");
    let (subscriber, new_pem) = signing_key(KeyType::P256);
    let filed = ra
        .request_recovery(&RecoveryRequest {
            key_id: pair.key_id.clone(),
            officer: "officer-a".into(),
            reason: "after backup".into(),
            signing_key: new_pem,
        })
        .await
        .unwrap();
    ra.approve_recovery(&filed.id, "officer-b").await.unwrap();
    ra.approve_recovery(&filed.id, "officer-c").await.unwrap();
    let delivered = ra.deliver_recovery(&filed.id, "officer-a").await.unwrap();
    let recovered = open_private_key(&b64(&delivered.envelope), &subscriber).unwrap();
    assert_eq!(recovered.public_key_der(), pem_der(&pair.public_key));
    kit.finish().await;
}

#[test]
fn a_share_sealed_to_a_custodian_opens_with_the_custodian_key_only() {
    use signet_core::shamir;
    let key = rcgen::KeyPair::generate_for(&rcgen::PKCS_ECDSA_P256_SHA256).unwrap();
    let mut params = rcgen::CertificateParams::new(vec![]).unwrap();
    params
        .distinguished_name
        .push(rcgen::DnType::CommonName, "Custodian One");
    let cert = params.self_signed(&key).unwrap();
    let custodian = PrivateKey::from_pem(&key.serialize_pem()).unwrap();
    let secret = [7u8; 32];
    let split = shamir::split(&secret, 2, 3, &mut rand::rng()).unwrap();
    let file = ShareFile {
        kmc_id: "0011223344556677".into(),
        root_version: 1,
        share: split[0].clone(),
    };
    let sealed = file.seal_to(cert.pem().as_bytes()).unwrap();
    let text = file.to_text();
    assert!(
        !sealed
            .windows(16)
            .any(|w| text.as_bytes().windows(16).any(|t| t == w))
    );
    let opened = ShareFile::open(&sealed, &[custodian]).unwrap();
    assert_eq!(opened.share.value, file.share.value);
    assert_eq!(opened.kmc_id, file.kmc_id);
    let stranger = PrivateKey::generate(KeyType::P256, &mut rand::rng()).unwrap();
    assert!(ShareFile::open(&sealed, &[stranger]).is_err());
    assert!(ShareFile::open(&sealed, &[]).is_err());
}
