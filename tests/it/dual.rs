//! Dual certificates as a subscriber gets them from `signet up`: a signing
//! certificate for the subscriber's own key, an encryption certificate for
//! a key pair the KMC generated and escrowed, and that key enveloped to
//! the signing key. OpenSSL (`cms -decrypt`, `verify`) and `signet
//! envelope open` are the openers.

use std::path::Path;
use std::process::Command;

use signet_testkit::{Pki, openssl, run_signet};

/// The public key of a PEM certificate or private key, DER, as OpenSSL
/// prints it.
fn public_key(path: &Path, certificate: bool) -> Vec<u8> {
    let mut cmd = Command::new("openssl");
    if certificate {
        cmd.args(["x509", "-pubkey", "-noout", "-in"]).arg(path);
    } else {
        cmd.args(["pkey", "-pubout", "-in"]).arg(path);
    }
    let out = cmd.output().unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    out.stdout
}

/// Enrolls a dual pair for a fresh `key_type` CSR; returns the directory
/// paths of (signing key, signing cert, encryption cert, envelope).
fn enroll_dual(pki: &Pki, dir: &Path, key_type: &str) -> [std::path::PathBuf; 4] {
    let (key, csr) = openssl::new_csr(dir, "alice", key_type, "/CN=Alice Example", None);
    let envelope = dir.join("envelope.der");
    let out = pki.signet(&[
        "enroll",
        "--profile",
        "user-dual",
        "--csr",
        csr.to_str().unwrap(),
        "--envelope-out",
        envelope.to_str().unwrap(),
    ]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let blocks = openssl::split_pem(&String::from_utf8(out.stdout).unwrap());
    assert_eq!(blocks.len(), 3, "signing, encryption, issuing CA");
    let signing = dir.join("signing.pem");
    let encryption = dir.join("encryption.pem");
    let chain = dir.join("chain.pem");
    std::fs::write(&signing, &blocks[0]).unwrap();
    std::fs::write(&encryption, &blocks[1]).unwrap();
    std::fs::write(&chain, &blocks[2]).unwrap();
    if key_type != "sm2" {
        // (SM2 chains are checked link by link in issuance.rs: OpenSSL 3.0
        // applies the distinguishing ID to the leaf only.)
        for cert in [&signing, &encryption] {
            let out = openssl::run(&[
                "verify",
                "-CAfile",
                pki.path("root.pem").to_str().unwrap(),
                "-untrusted",
                chain.to_str().unwrap(),
                cert.to_str().unwrap(),
            ])
            .unwrap();
            assert!(out.contains(": OK"), "{out}");
        }
    }
    let text = openssl::x509_text(&encryption);
    assert!(
        text.contains("Key Encipherment") || text.contains("Key Agreement"),
        "{text}"
    );
    assert!(!text.contains("Digital Signature"), "{text}");
    [key, signing, encryption, envelope]
}

/// P-256: the envelope is CMS that `openssl cms -decrypt` opens with the
/// signing key; the key inside is the encryption certificate's. A plain
/// enrolment under the dual profile is refused rather than issuing half.
#[test]
fn p256_dual_pair_envelope_opens_with_openssl_cms() {
    let pki = Pki::init("p256");
    let _up = pki.up();
    let dir = tempfile::tempdir().unwrap();
    let [key, signing, encryption, envelope] = enroll_dual(&pki, dir.path(), "p256");
    assert_eq!(public_key(&key, false), public_key(&signing, true));

    let plain = dir.path().join("enc-key.der");
    let out = Command::new("openssl")
        .args(["cms", "-decrypt", "-inform", "DER", "-in"])
        .arg(&envelope)
        .arg("-inkey")
        .arg(&key)
        .arg("-out")
        .arg(&plain)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let enc_key = dir.path().join("enc-key.pem");
    openssl::run(&[
        "pkey",
        "-inform",
        "DER",
        "-in",
        plain.to_str().unwrap(),
        "-out",
        enc_key.to_str().unwrap(),
    ])
    .unwrap();
    assert_eq!(public_key(&enc_key, false), public_key(&encryption, true));

    let (_, csr) = openssl::new_csr(dir.path(), "bob", "p256", "/CN=Bob Example", None);
    let out = pki.signet(&[
        "enroll",
        "--profile",
        "user-dual",
        "--csr",
        csr.to_str().unwrap(),
    ]);
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("dual"), "{stderr}");
}

/// SM2: the GM/T 0009 envelope opens with `signet envelope open` and the
/// signing key; the key inside is the encryption certificate's.
#[test]
fn sm2_dual_pair_envelope_opens_with_the_signing_key() {
    let pki = Pki::init("sm2");
    let _up = pki.up();
    let dir = tempfile::tempdir().unwrap();
    let [key, _signing, encryption, envelope] = enroll_dual(&pki, dir.path(), "sm2");
    let enc_key = dir.path().join("enc-key.pem");
    let out = run_signet(&[
        "envelope",
        "open",
        "--key",
        key.to_str().unwrap(),
        "--in",
        envelope.to_str().unwrap(),
        "--out",
        enc_key.to_str().unwrap(),
    ]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(public_key(&enc_key, false), public_key(&encryption, true));

    // Another SM2 key opens nothing.
    let (stranger, _) = openssl::new_csr(dir.path(), "eve", "sm2", "/CN=Eve", None);
    let out = run_signet(&[
        "envelope",
        "open",
        "--key",
        stranger.to_str().unwrap(),
        "--in",
        envelope.to_str().unwrap(),
    ]);
    assert!(!out.status.success());
}
