use super::*;
use crate::test_pki::{LeafSpec, TestCa};

fn temp_dir(name: &str) -> std::path::PathBuf {
    let dir = std::env::temp_dir().join(format!("signet-tls-{name}-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

#[test]
fn loads_chain_and_key_and_never_prints_the_key() {
    let ca = TestCa::new("Platform CA");
    let leaf = ca.leaf(LeafSpec::client("urn:signet:role:ra"));
    let chain = format!("{}{}", leaf.cert_pem, ca.pem);
    let identity = Identity::from_pem(chain.as_bytes(), leaf.key_pem.as_bytes()).unwrap();
    assert_eq!(identity.certificate_chain().len(), 2);
    assert_eq!(identity.end_entity(), Some(&leaf.der));

    let debug = format!("{identity:?}");
    assert_eq!(debug, r#"Identity { chain_len: 2, key: "<redacted>" }"#);
    let key_body: String = leaf
        .key_pem
        .lines()
        .filter(|l| !l.starts_with("-----"))
        .collect();
    assert!(!debug.contains(&key_body[..16]));
}

#[test]
fn loads_from_files() {
    let ca = TestCa::new("Platform CA");
    let leaf = ca.leaf(LeafSpec::client("urn:signet:role:admin"));
    let dir = temp_dir("files");
    let cert = dir.join("admin.pem");
    let key = dir.join("admin.key");
    let roots = dir.join("roots.pem");
    std::fs::write(&cert, &leaf.cert_pem).unwrap();
    std::fs::write(&key, &leaf.key_pem).unwrap();
    std::fs::write(&roots, &ca.pem).unwrap();

    let identity = Identity::from_pem_files(&cert, &key).unwrap();
    assert_eq!(identity.certificate_chain().len(), 1);
    assert_eq!(load_roots(&roots).unwrap().len(), 1);

    let missing = dir.join("missing.pem");
    match Identity::from_pem_files(&missing, &key) {
        Err(TlsError::ReadFile { path, .. }) => assert_eq!(path, missing),
        other => panic!("unexpected {other:?}"),
    }
    match load_roots(&missing) {
        Err(error @ TlsError::ReadFile { .. }) => {
            assert!(error.to_string().contains("missing.pem"), "{error}");
        }
        other => panic!("unexpected {other:?}"),
    }
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn says_what_is_missing_or_wrong() {
    let ca = TestCa::new("Platform CA");
    let leaf = ca.leaf(LeafSpec::client("urn:signet:role:ra"));
    let other = ca.leaf(LeafSpec::client("urn:signet:role:ra"));

    assert!(matches!(
        Identity::from_pem(b"", leaf.key_pem.as_bytes()),
        Err(TlsError::NoCertificate { .. })
    ));
    // A key where the certificate should be is still "no certificate".
    assert!(matches!(
        Identity::from_pem(leaf.key_pem.as_bytes(), leaf.key_pem.as_bytes()),
        Err(TlsError::NoCertificate { .. })
    ));
    assert!(matches!(
        Identity::from_pem(leaf.cert_pem.as_bytes(), leaf.cert_pem.as_bytes()),
        Err(TlsError::NoPrivateKey { .. })
    ));
    match Identity::from_pem(leaf.cert_pem.as_bytes(), other.key_pem.as_bytes()) {
        Err(error @ TlsError::BadPrivateKey { .. }) => {
            // The message names the problem but carries no key material.
            assert!(!error.to_string().contains("PRIVATE KEY"), "{error}");
        }
        other => panic!("unexpected {other:?}"),
    }
    let truncated = &leaf.cert_pem[..leaf.cert_pem.len() - 30];
    assert!(matches!(
        Identity::from_pem(truncated.as_bytes(), leaf.key_pem.as_bytes()),
        Err(TlsError::BadPem { .. })
    ));
}

#[test]
fn roots_must_all_be_usable() {
    let one = TestCa::new("Root One");
    let two = TestCa::new("Root Two");
    let both = format!("{}{}", one.pem, two.pem);
    assert_eq!(load_roots_from_pem(both.as_bytes()).unwrap().len(), 2);

    assert!(matches!(
        load_roots_from_pem(b"no pem here"),
        Err(TlsError::NoCertificate { .. })
    ));
    let junk = "-----BEGIN CERTIFICATE-----\nMAMCAQE=\n-----END CERTIFICATE-----\n";
    let mixed = format!("{}{junk}", one.pem);
    assert!(matches!(
        load_roots_from_pem(mixed.as_bytes()),
        Err(TlsError::BadTrustAnchor { .. })
    ));
}
