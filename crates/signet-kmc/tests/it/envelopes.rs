//! Key pairs for dual certificates: the envelope opens with the
//! subscriber's signing key and holds the private half of the public key
//! the KMC returned; CMS envelopes open with `openssl cms -decrypt`.

use std::process::Command;

use signet_api::kmc::KeyPairRequest;
use signet_core::KeyType;
use signet_core::envelope::{EnvelopeFormat, open_private_key};
use signet_store::Backend;

use crate::kit::{Kit, b64, key_pair, pem_der, signing_key, temp_dir};

#[tokio::test]
async fn sm2_envelope_opens_with_the_signing_key_and_matches_the_public_key() {
    let kit = Kit::new(Backend::Postgres).await;
    let ca = kit.client("ca");
    let (signing, signing_pem) = signing_key(KeyType::Sm2);
    let pair = key_pair(&ca, KeyType::Sm2, &signing_pem).await;
    assert_eq!(pair.key_type, "sm2");
    assert_eq!(
        pair.envelope_format,
        EnvelopeFormat::Sm2EnvelopedKey.as_str()
    );
    assert!(!pair.replayed);
    let envelope = b64(&pair.envelope);
    let opened = open_private_key(&envelope, &signing).unwrap();
    assert_eq!(opened.key_type(), KeyType::Sm2);
    assert_eq!(opened.public_key_der(), pem_der(&pair.public_key));
    // Another SM2 key opens nothing.
    let (stranger, _) = signing_key(KeyType::Sm2);
    assert!(open_private_key(&envelope, &stranger).is_err());
    kit.finish().await;
}

#[tokio::test]
async fn a_retried_request_returns_the_same_key_and_a_changed_one_is_refused() {
    let kit = Kit::new(Backend::Postgres).await;
    let ca = kit.client("ca");
    let (signing, signing_pem) = signing_key(KeyType::P256);
    let request = KeyPairRequest {
        request_id: "dual-retry-1".into(),
        key_type: "p256".into(),
        signing_key: signing_pem,
        subject: "CN=Bob".into(),
        domain: None,
    };
    let first = ca.generate_key_pair(&request).await.unwrap();
    let again = ca.generate_key_pair(&request).await.unwrap();
    assert!(again.replayed);
    assert_eq!(again.key_id, first.key_id);
    assert_eq!(again.public_key, first.public_key);
    let opened = open_private_key(&b64(&again.envelope), &signing).unwrap();
    assert_eq!(opened.public_key_der(), pem_der(&first.public_key));
    let changed = KeyPairRequest {
        subject: "CN=Mallory".into(),
        ..request
    };
    let err = ca.generate_key_pair(&changed).await.unwrap_err();
    assert_eq!(err.code(), Some("request_id_reused"));
    kit.finish().await;
}

/// Opens `envelope` with OpenSSL and the signing key, and returns the
/// public key (DER) of the private key inside.
fn openssl_open(dir: &std::path::Path, name: &str, envelope: &[u8], key_pem: &str) -> Vec<u8> {
    let env = dir.join(format!("{name}.der"));
    let key = dir.join(format!("{name}-sign.pem"));
    let plain = dir.join(format!("{name}-enc.p8"));
    let public = dir.join(format!("{name}-enc-pub.der"));
    std::fs::write(&env, envelope).unwrap();
    std::fs::write(&key, key_pem).unwrap();
    let out = Command::new("openssl")
        .args(["cms", "-decrypt", "-inform", "DER", "-in"])
        .arg(&env)
        .arg("-inkey")
        .arg(&key)
        .arg("-out")
        .arg(&plain)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "openssl cms -decrypt failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let out = Command::new("openssl")
        .args(["pkey", "-inform", "DER", "-in"])
        .arg(&plain)
        .args(["-pubout", "-outform", "DER", "-out"])
        .arg(&public)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "openssl pkey failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    std::fs::read(&public).unwrap()
}

#[tokio::test]
async fn p256_and_rsa_envelopes_open_with_openssl_cms() {
    let kit = Kit::new(Backend::Postgres).await;
    let ca = kit.client("ca");
    let dir = temp_dir("openssl");
    for (signing_type, key_type) in [
        (KeyType::P256, KeyType::P256),
        (KeyType::Rsa2048, KeyType::Rsa3072),
        (KeyType::P384, KeyType::P384),
    ] {
        let (signing, signing_pem) = signing_key(signing_type);
        let pair = key_pair(&ca, key_type, &signing_pem).await;
        assert_eq!(
            pair.envelope_format,
            EnvelopeFormat::CmsAuthEnvelopedData.as_str()
        );
        let envelope = b64(&pair.envelope);
        let key_pem = signing.to_pkcs8_pem().unwrap();
        let public = openssl_open(&dir, key_type.as_str(), &envelope, &key_pem);
        assert_eq!(public, pem_der(&pair.public_key), "{key_type}");
        // Our own opener agrees.
        let opened = open_private_key(&envelope, &signing).unwrap();
        assert_eq!(opened.public_key_der(), public.as_slice());
        // OpenSSL refuses with another key.
        let (stranger, _) = signing_key(signing_type);
        let env = dir.join("stranger.der");
        let key = dir.join("stranger.pem");
        std::fs::write(&env, &envelope).unwrap();
        std::fs::write(&key, stranger.to_pkcs8_pem().unwrap().as_bytes()).unwrap();
        let out = Command::new("openssl")
            .args(["cms", "-decrypt", "-inform", "DER", "-in"])
            .arg(&env)
            .arg("-inkey")
            .arg(&key)
            .output()
            .unwrap();
        assert!(!out.status.success(), "{key_type}: a stranger opened it");
    }
    std::fs::remove_dir_all(&dir).ok();
    kit.finish().await;
}

#[tokio::test]
async fn an_sm2_signing_key_gets_sm2_encryption_keys_only() {
    let kit = Kit::new(Backend::Postgres).await;
    let ca = kit.client("ca");
    let (_, signing_pem) = signing_key(KeyType::Sm2);
    let err = ca
        .generate_key_pair(&KeyPairRequest {
            request_id: "sm2-p256".into(),
            key_type: "p256".into(),
            signing_key: signing_pem,
            subject: "CN=Carol".into(),
            domain: None,
        })
        .await
        .unwrap_err();
    assert_eq!(err.code(), Some("bad_request"));
    kit.finish().await;
}

/// Runs openssl with `args`, returning stdout; fails the test on error.
fn openssl(args: &[&std::ffi::OsStr]) -> Vec<u8> {
    let out = Command::new("openssl").args(args).output().unwrap();
    assert!(
        out.status.success(),
        "openssl {:?}: {}",
        args,
        String::from_utf8_lossy(&out.stderr)
    );
    out.stdout
}

#[tokio::test]
async fn sm2_envelope_opens_with_openssl_step_by_step() {
    // OpenSSL has no GM/T 0009 envelope command, but it has each piece:
    // SM2 decryption of the SM2Cipher (pkeyutl) and SM4-ECB (enc). Opening
    // the envelope with them checks our encoding independently.
    use der::Decode as _;
    use signet_core::envelope::{PrivateKey, Sm2EnvelopedKey};
    let kit = Kit::new(Backend::Postgres).await;
    let ca = kit.client("ca");
    let dir = temp_dir("sm2-openssl");
    let (signing, signing_pem) = signing_key(KeyType::Sm2);
    let pair = key_pair(&ca, KeyType::Sm2, &signing_pem).await;
    let envelope = Sm2EnvelopedKey::from_der(&b64(&pair.envelope)).unwrap();
    let key = dir.join("sign.pem");
    let cipher = dir.join("sym.der");
    let scalar = dir.join("scalar.bin");
    std::fs::write(&key, signing.to_pkcs8_pem().unwrap().as_bytes()).unwrap();
    std::fs::write(&cipher, envelope.sym_encrypted_key.to_der_bytes().unwrap()).unwrap();
    std::fs::write(
        &scalar,
        envelope.sm2_encrypted_private_key.as_bytes().unwrap(),
    )
    .unwrap();
    let sym = openssl(&[
        "pkeyutl".as_ref(),
        "-decrypt".as_ref(),
        "-inkey".as_ref(),
        key.as_os_str(),
        "-in".as_ref(),
        cipher.as_os_str(),
    ]);
    assert_eq!(sym.len(), 16);
    let plain = openssl(&[
        "enc".as_ref(),
        "-d".as_ref(),
        "-sm4-ecb".as_ref(),
        "-nopad".as_ref(),
        "-K".as_ref(),
        hex::encode(&sym).as_ref(),
        "-in".as_ref(),
        scalar.as_os_str(),
    ]);
    let recovered = PrivateKey::from_scalar(KeyType::Sm2, &plain).unwrap();
    assert_eq!(recovered.public_key_der(), pem_der(&pair.public_key));
    std::fs::remove_dir_all(&dir).ok();
    kit.finish().await;
}
