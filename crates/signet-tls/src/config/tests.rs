use super::*;
use crate::test_pki::{LeafSpec, TestCa};
use crate::{Role, load_roots_from_pem};

fn identity(ca: &TestCa, role_uri: &'static str) -> Identity {
    let leaf = ca.leaf(LeafSpec::client(role_uri));
    Identity::from_pem(leaf.cert_pem.as_bytes(), leaf.key_pem.as_bytes()).unwrap()
}

#[test]
fn only_tls13_and_tls12() {
    let versions: Vec<_> = PROTOCOL_VERSIONS.iter().map(|v| v.version).collect();
    assert_eq!(
        versions,
        [
            rustls::ProtocolVersion::TLSv1_3,
            rustls::ProtocolVersion::TLSv1_2
        ]
    );
}

#[test]
fn only_aead_suites_and_ecdhe_in_tls12() {
    let provider = crypto_provider();
    assert_eq!(provider.cipher_suites, CIPHER_SUITES);
    assert_eq!(CIPHER_SUITES.len(), 9);
    for suite in CIPHER_SUITES {
        let name = format!("{:?}", suite.suite());
        assert!(
            name.ends_with("_GCM_SHA256")
                || name.ends_with("_GCM_SHA384")
                || name.ends_with("_CHACHA20_POLY1305_SHA256"),
            "{name}"
        );
        match suite.version().version {
            rustls::ProtocolVersion::TLSv1_3 => assert!(name.starts_with("TLS13_"), "{name}"),
            rustls::ProtocolVersion::TLSv1_2 => assert!(name.starts_with("TLS_ECDHE_"), "{name}"),
            other => panic!("{name} is for {other:?}"),
        }
    }
}

#[test]
fn server_and_client_configs_use_the_one_provider_and_offer_h2_then_http11() {
    let ca = TestCa::new("Platform CA");
    let roots = load_roots_from_pem(ca.pem.as_bytes()).unwrap();
    let server = identity(&ca, "urn:signet:role:ca");
    let client = identity(&ca, "urn:signet:role:ra");
    let alpn = [b"h2".to_vec(), b"http/1.1".to_vec()];

    let config = server_config(&server, roots.clone(), AllowedPeers::new([Role::Ra])).unwrap();
    assert_eq!(config.alpn_protocols, alpn);
    assert_eq!(config.crypto_provider().cipher_suites, CIPHER_SUITES);
    let config = server_config_optional_client(&server, roots.clone()).unwrap();
    assert_eq!(config.alpn_protocols, alpn);
    assert_eq!(config.crypto_provider().cipher_suites, CIPHER_SUITES);
    let config = client_config(&client, roots.clone()).unwrap();
    assert_eq!(config.alpn_protocols, alpn);
    assert_eq!(config.crypto_provider().cipher_suites, CIPHER_SUITES);
    let config = client_config_expecting(&client, roots, AllowedPeers::new([Role::Ca])).unwrap();
    assert_eq!(config.alpn_protocols, alpn);
}

#[test]
fn refuses_configurations_nobody_could_use() {
    let ca = TestCa::new("Platform CA");
    let roots = load_roots_from_pem(ca.pem.as_bytes()).unwrap();
    let server = identity(&ca, "urn:signet:role:ca");
    assert!(matches!(
        server_config(&server, roots.clone(), AllowedPeers::default()),
        Err(TlsError::EmptyAllowlist)
    ));
    assert!(matches!(
        client_config_expecting(&server, roots, AllowedPeers::default()),
        Err(TlsError::EmptyAllowlist)
    ));
    let empty = Arc::new(RootCertStore::empty());
    assert!(matches!(
        server_config(&server, empty.clone(), AllowedPeers::new([Role::Ra])),
        Err(TlsError::Verifier { .. })
    ));
    assert!(matches!(
        server_config_optional_client(&server, empty),
        Err(TlsError::Verifier { .. })
    ));
}
