//! Dual certificates end to end: the CA (its domain object, with its keys
//! in the token) asks this KMC over mutual TLS, as role `ca`, for the
//! encryption key pair and issues both certificates; the envelope opens
//! with the subscriber's signing key and holds the private half of the
//! encryption certificate's key (SM2 with our opener, P-256 with
//! `openssl cms -decrypt` too); the KMC archives the key with the
//! encryption certificate.

use std::path::Path;
use std::process::Command;

use signet_ca::dual::DualIssuer;
use signet_ca::{CaConfig, CaError, CertificateAuthority, IssueCommand};
use signet_core::envelope::{PrivateKey, open_private_key};
use signet_core::names::parse_name;
use signet_core::profile::{BUILTIN_PROFILE_NAMES, builtin_profile_toml};
use signet_core::{
    KeyType, Profile, Serial, Signer, SoftwareSigner, SubjectKey, prepare_self_signed,
};
use signet_store::Backend;
use signet_store::testing::TestDatabase;
use signet_token::Token;

use crate::kit::{Kit, clock, temp_dir};

/// A CA whose root key (of `key_type`) is in the KMC kit's token, with the
/// built-in profiles and `user-dual` (user-sign marked dual).
async fn authority(
    kit: &Kit,
    dir: &Path,
    key_type: KeyType,
) -> (CertificateAuthority, TestDatabase) {
    let token = Token::open(&kit.token_config).unwrap();
    let label = format!("dual-root-{:08x}", rand::random::<u32>());
    token.generate_key(&label, key_type).unwrap();
    let signer = token.signer(&label).unwrap();
    let key = SubjectKey::from_spki(der::referenced::OwnedToRef::owned_to_ref(
        signer.public_key(),
    ))
    .unwrap();
    let root = prepare_self_signed(
        &Profile::from_toml(builtin_profile_toml("root-ca").unwrap()).unwrap(),
        &parse_name("CN=Dual Test Root,O=Signet Test").unwrap(),
        &key,
        signer.algorithm(),
        Serial::random(&mut rand::rng()),
        signet_core::Clock::now(&signet_core::SystemClock),
    )
    .unwrap()
    .sign(&*signer, &key)
    .unwrap()
    .der;
    std::fs::write(
        dir.join("root.pem"),
        signet_core::pem::certificate_pem(&root),
    )
    .unwrap();
    let profiles = dir.join("profiles");
    std::fs::create_dir_all(&profiles).unwrap();
    for name in BUILTIN_PROFILE_NAMES {
        std::fs::write(
            profiles.join(format!("{name}.toml")),
            builtin_profile_toml(name).unwrap(),
        )
        .unwrap();
    }
    let dual = builtin_profile_toml("user-sign")
        .unwrap()
        .replace("name = \"user-sign\"", "name = \"user-dual\"\ndual = true")
        .replace("approvals = 1", "approvals = 0");
    std::fs::write(profiles.join("user-dual.toml"), dual).unwrap();

    let db = TestDatabase::create(Backend::Postgres).await.unwrap();
    let mut doc: toml::Table = toml::from_str(&format!(
        r#"
[server]
listen = "127.0.0.1:0"
certificate = "{dir}/kmc.pem"
key = "{dir}/kmc.key"
client_roots = "{dir}/platform-root.pem"

[database]
url = "{db}"

[issuance]
default_issuer = "root"
profiles_dir = "{dir}/profiles"

[[issuers]]
name = "root"
id = 1
key_label = "{label}"
certificate = "{dir}/root.pem"
"#,
        dir = dir.display(),
        db = db.url,
    ))
    .unwrap();
    doc.insert(
        "token".into(),
        toml::Value::try_from(&kit.token_config).unwrap(),
    );
    let config: CaConfig = doc.try_into().unwrap();
    let ca = signet_ca::service::open_authority(
        &config,
        &token,
        clock(),
        signet_ca::CaMetrics::detached(),
    )
    .await
    .unwrap();
    (ca, db)
}

fn subscriber(key_type: KeyType) -> (PrivateKey, Vec<u8>) {
    let key = PrivateKey::generate(key_type, &mut rand::rng()).unwrap();
    let signer = SoftwareSigner::from_scalar_bytes(key_type, key.scalar().unwrap()).unwrap();
    let csr =
        signet_core::csr::build_csr(&signer, &parse_name("CN=Alice Dual,O=Signet Test").unwrap())
            .unwrap();
    (key, csr)
}

fn command(id: &str, profile: &str, csr: &[u8]) -> IssueCommand {
    IssueCommand {
        request_id: id.to_owned(),
        profile: profile.to_owned(),
        issuer: None,
        csr: csr.to_vec(),
        subject: None,
        sans: None,
        validity: None,
    }
}

fn spki_of(cert_der: &[u8]) -> Vec<u8> {
    let cert = <x509_cert::Certificate as der::Decode>::from_der(cert_der).unwrap();
    der::Encode::to_der(cert.tbs_certificate().subject_public_key_info()).unwrap()
}

/// `openssl x509 -text` of a certificate.
fn openssl_text(dir: &Path, name: &str, der: &[u8]) -> String {
    let path = dir.join(format!("{name}.der"));
    std::fs::write(&path, der).unwrap();
    let out = Command::new("openssl")
        .args(["x509", "-inform", "DER", "-noout", "-text", "-in"])
        .arg(&path)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

#[tokio::test]
async fn dual_sm2_and_p256_certificates_with_escrowed_encryption_keys() {
    let kit = Kit::new(Backend::Postgres).await;
    let dir = temp_dir("dual");
    let dual = DualIssuer::new(kit.client("ca"), "user-enc".into(), None);
    for key_type in [KeyType::Sm2, KeyType::P256] {
        let (ca, db) = authority(&kit, &dir, key_type).await;
        let (signing_key, csr) = subscriber(key_type);
        let id = format!("dual-{key_type}");
        let issued = dual
            .issue(&ca, &command(&id, "user-dual", &csr))
            .await
            .unwrap();
        assert!(!issued.replayed);
        let signing_der = issued.signing.record.der.clone().unwrap();
        let enc_der = issued.encryption.record.der.clone().unwrap();
        // The signing certificate carries the subscriber's key, the
        // encryption certificate another one.
        assert_eq!(spki_of(&signing_der), signing_key.public_key_der());
        assert_ne!(spki_of(&enc_der), signing_key.public_key_der());
        // The envelope opens with the signing key and holds the
        // encryption certificate's private key.
        let opened = open_private_key(&issued.envelope, &signing_key).unwrap();
        assert_eq!(opened.key_type(), key_type);
        assert_eq!(opened.public_key_der(), spki_of(&enc_der).as_slice());
        // Key usages: signing vs encryption (OpenSSL reads both).
        let sign_text = openssl_text(&dir, &format!("{key_type}-sign"), &signing_der);
        let enc_text = openssl_text(&dir, &format!("{key_type}-enc"), &enc_der);
        assert!(sign_text.contains("Digital Signature"), "{sign_text}");
        assert!(!enc_text.contains("Digital Signature"), "{enc_text}");
        assert!(enc_text.contains("Key Agreement"), "{enc_text}");
        if key_type == KeyType::Sm2 {
            assert!(enc_text.contains("Key Encipherment"), "{enc_text}");
        }
        assert!(enc_text.contains("CN=Alice Dual") || enc_text.contains("CN = Alice Dual"));
        if key_type == KeyType::P256 {
            // OpenSSL opens the CMS envelope with the signing key, and
            // the key inside is the encryption certificate's.
            let env = dir.join("p256-env.der");
            let key = dir.join("p256-sign.pem");
            let cert = dir.join("p256-enc.der");
            std::fs::write(&env, &issued.envelope).unwrap();
            std::fs::write(&key, signing_key.to_pkcs8_pem().unwrap().as_bytes()).unwrap();
            let out = Command::new("openssl")
                .args(["cms", "-decrypt", "-inform", "DER", "-in"])
                .arg(&env)
                .arg("-inkey")
                .arg(&key)
                .output()
                .unwrap();
            assert!(
                out.status.success(),
                "{}",
                String::from_utf8_lossy(&out.stderr)
            );
            let from_openssl = PrivateKey::from_pkcs8_der(&out.stdout).unwrap();
            assert_eq!(from_openssl.public_key_der(), spki_of(&enc_der).as_slice());
            let out = Command::new("openssl")
                .args(["x509", "-inform", "DER", "-noout", "-pubkey", "-in"])
                .arg(&cert)
                .output()
                .unwrap();
            let pem = String::from_utf8(out.stdout).unwrap();
            assert_eq!(
                der::pem::decode_vec(pem.as_bytes()).unwrap().1,
                from_openssl.public_key_der()
            );
        }
        // The KMC archived the escrowed key with the encryption certificate.
        let escrowed = kit
            .client("admin")
            .escrowed_key(&issued.key_id)
            .await
            .unwrap();
        assert_eq!(escrowed.state, "archived");
        assert_eq!(
            escrowed.serial.as_deref(),
            Some(issued.encryption.record.serial.to_hex().as_str())
        );
        // A retry returns the same certificates and the same key.
        let again = dual
            .issue(&ca, &command(&id, "user-dual", &csr))
            .await
            .unwrap();
        assert!(again.replayed);
        assert_eq!(
            again.encryption.record.serial,
            issued.encryption.record.serial
        );
        assert_eq!(again.key_id, issued.key_id);
        let reopened = open_private_key(&again.envelope, &signing_key).unwrap();
        assert_eq!(reopened.public_key_der(), opened.public_key_der());
        // Revoking the encryption certificate revokes its escrowed key
        // (the CA's revoke handler makes this call when [kmc] is set).
        let info = signet_api::ca::CertificateInfo {
            serial: issued.encryption.record.serial.to_hex(),
            issuer: issued.encryption.issuer.clone(),
            status: "revoked".into(),
            profile: "user-enc".into(),
            subject: issued.encryption.record.subject.clone(),
            sans: Vec::new(),
            not_before: issued.encryption.record.not_before.to_string(),
            not_after: issued.encryption.record.not_after.to_string(),
            revoked_at: None,
            revocation_reason: Some("keyCompromise".into()),
            certificate: None,
        };
        dual.certificate_revoked(&info).await;
        let escrowed = kit
            .client("admin")
            .escrowed_key(&issued.key_id)
            .await
            .unwrap();
        assert_eq!(escrowed.state, "revoked");
        assert_eq!(escrowed.revocation_reason.as_deref(), Some("keyCompromise"));
        // A profile that is not dual is refused.
        let err = dual
            .issue(&ca, &command(&format!("{id}-plain"), "user-sign", &csr))
            .await
            .unwrap_err();
        assert!(matches!(err, CaError::DualNotAvailable { .. }), "{err:?}");
        drop(ca);
        db.drop_database().await.unwrap();
    }
    std::fs::remove_dir_all(&dir).ok();
    kit.finish().await;
}
