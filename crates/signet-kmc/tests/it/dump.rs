//! A copy of the KMC database holds no escrowed private key in plaintext,
//! and opens nothing without the token that holds the root storage key.

use std::process::Command;

use signet_core::KeyType;
use signet_core::envelope::{PrivateKey, open_private_key};
use signet_kmc::{Kmc, KmcError, KmcMetrics};
use signet_store::Backend;
use zeroize::Zeroizing;

use crate::kit::{Kit, b64, clock, key_pair, signing_key};

/// Byte strings that only the private key contains: the scalar of an EC
/// key; for RSA, 32-byte pieces of the PKCS#8 past the public modulus and
/// exponent (d, p, q, dP, dQ, qInv). And the whole PKCS#8.
fn secrets(key: &PrivateKey) -> Vec<Vec<u8>> {
    let pkcs8: Zeroizing<Vec<u8>> = key.to_pkcs8_der().unwrap();
    let mut out = vec![pkcs8.to_vec()];
    match key.scalar() {
        Some(scalar) => out.push(scalar.to_vec()),
        None => out.extend(pkcs8[500..].chunks_exact(32).map(<[u8]>::to_vec)),
    }
    out
}

/// Escrows one key of each type and returns their private keys, opened
/// from the envelopes.
async fn escrow_some(kit: &Kit) -> Vec<PrivateKey> {
    let ca = kit.client("ca");
    let mut keys = Vec::new();
    for (signing_type, key_type) in [
        (KeyType::Sm2, KeyType::Sm2),
        (KeyType::Sm2, KeyType::Sm2),
        (KeyType::P256, KeyType::P256),
        (KeyType::P256, KeyType::P384),
        (KeyType::P256, KeyType::Rsa3072),
    ] {
        let (signing, pem) = signing_key(signing_type);
        let pair = key_pair(&ca, key_type, &pem).await;
        keys.push(open_private_key(&b64(&pair.envelope), &signing).unwrap());
    }
    keys
}

fn assert_absent(dump: &[u8], keys: &[PrivateKey]) {
    let text = String::from_utf8_lossy(dump).to_lowercase();
    let mut checked = 0;
    for key in keys {
        for secret in secrets(key) {
            assert!(
                !dump.windows(secret.len()).any(|w| w == secret.as_slice()),
                "{} key bytes found in the dump",
                key.key_type()
            );
            assert!(
                !text.contains(&hex::encode(&secret)),
                "{} key bytes found hex-encoded in the dump",
                key.key_type()
            );
            checked += 1;
        }
    }
    assert!(checked > keys.len() * 2);
}

#[tokio::test]
async fn a_postgres_dump_holds_no_escrowed_private_key() {
    let mut kit = Kit::new(Backend::Postgres).await;
    let keys = escrow_some(&kit).await;
    let url = kit.db.as_ref().unwrap().url.clone();
    let out = Command::new("pg_dump")
        .arg(&url)
        .args(["--schema=kmc", "--data-only"])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let dump = out.stdout;
    // The dump does hold the escrow rows: the public keys are there.
    let public_hex = hex::encode(keys[0].public_key_der());
    assert!(String::from_utf8_lossy(&dump).contains(&public_hex));
    assert_absent(&dump, &keys);

    // Without the token that holds the root storage key, the database
    // opens nothing: another token (even one with a key of the same
    // label) does not unwrap the master keys.
    kit.stop().await;
    let (thief, thief_config) = signet_token::testing::test_token("kmc-thief");
    thief
        .import_aes_key(
            "signet-kmc-root-v1",
            Zeroizing::new((0..32).map(|_| rand::random::<u8>()).collect()),
        )
        .unwrap();
    let mut stolen = kit.config.clone();
    stolen.token = thief_config;
    let err = Kmc::open(
        &stolen,
        std::sync::Arc::new(thief),
        clock(),
        KmcMetrics::detached(),
    )
    .await
    .unwrap_err();
    assert!(matches!(err, KmcError::Unwrap { .. }), "{err:?}");
    kit.finish().await;
}

#[tokio::test]
async fn a_sqlite_file_holds_no_escrowed_private_key() {
    let mut kit = Kit::new(Backend::Sqlite).await;
    let keys = escrow_some(&kit).await;
    kit.stop().await;
    let path = kit
        .config
        .database
        .url
        .strip_prefix("sqlite:")
        .unwrap()
        .to_owned();
    let mut dump = std::fs::read(&path).unwrap();
    for suffix in ["-wal", "-shm", "-journal"] {
        if let Ok(more) = std::fs::read(format!("{path}{suffix}")) {
            dump.extend(more);
        }
    }
    assert!(
        dump.windows(keys[0].public_key_der().len())
            .any(|w| w == keys[0].public_key_der())
    );
    assert_absent(&dump, &keys);
    kit.finish().await;
}
