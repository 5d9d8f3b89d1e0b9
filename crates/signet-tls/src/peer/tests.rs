use super::*;
use crate::test_pki::{LeafSpec, TestCa};

#[test]
fn reads_role_name_and_serial() {
    let ca = TestCa::new("Platform CA");
    let leaf = ca.leaf(LeafSpec {
        common_name: Some("ra-1.signet.internal"),
        uris: vec!["https://example.invalid/other", "urn:signet:role:ra"],
        serial: Some(vec![0x8f, 0x01, 0xa2]),
        ..LeafSpec::client("urn:signet:role:ra")
    });
    let peer = peer_identity(&leaf.der).unwrap();
    assert_eq!(peer.role, Role::Ra);
    assert_eq!(peer.common_name.as_deref(), Some("ra-1.signet.internal"));
    // DER encodes this serial as 00 8f 01 a2; the sign padding is dropped.
    assert_eq!(peer.serial_hex, "8f01a2");
    assert_eq!(peer.certificate, leaf.der);
}

#[test]
fn a_certificate_without_role_uri_has_no_role() {
    let ca = TestCa::new("Platform CA");
    for uris in [
        vec![],
        vec!["https://example.invalid/"],
        vec!["urn:other:role:ra"],
    ] {
        let leaf = ca.leaf(LeafSpec {
            uris,
            ..LeafSpec::client("unused")
        });
        assert!(matches!(peer_identity(&leaf.der), Err(TlsError::NoRole)));
    }
}

#[test]
fn an_unknown_role_is_an_error_naming_the_uri() {
    let ca = TestCa::new("Platform CA");
    let leaf = ca.leaf(LeafSpec::client("urn:signet:role:root"));
    match peer_identity(&leaf.der) {
        Err(TlsError::UnknownRole { value }) => assert_eq!(value, "urn:signet:role:root"),
        other => panic!("unexpected {other:?}"),
    }
    // Role names are exact: the URI's role part is case-sensitive.
    let leaf = ca.leaf(LeafSpec::client("urn:signet:role:RA"));
    assert!(matches!(
        peer_identity(&leaf.der),
        Err(TlsError::UnknownRole { .. })
    ));
}

#[test]
fn two_different_roles_are_ambiguous_but_a_repeated_one_is_not() {
    let ca = TestCa::new("Platform CA");
    let leaf = ca.leaf(LeafSpec {
        uris: vec!["urn:signet:role:ra", "urn:signet:role:admin"],
        ..LeafSpec::client("unused")
    });
    match peer_identity(&leaf.der) {
        Err(TlsError::MultipleRoles { roles }) => assert_eq!(roles, ["ra", "admin"]),
        other => panic!("unexpected {other:?}"),
    }
    let leaf = ca.leaf(LeafSpec {
        uris: vec!["urn:signet:role:kmc", "urn:signet:role:kmc"],
        ..LeafSpec::client("unused")
    });
    assert_eq!(peer_identity(&leaf.der).unwrap().role, Role::Kmc);
}

#[test]
fn common_name_is_optional() {
    let ca = TestCa::new("Platform CA");
    let leaf = ca.leaf(LeafSpec {
        common_name: None,
        ..LeafSpec::client("urn:signet:role:ocsp")
    });
    let peer = peer_identity(&leaf.der).unwrap();
    assert_eq!(peer.role, Role::Ocsp);
    assert_eq!(peer.common_name, None);
}

#[test]
fn garbage_is_a_bad_certificate() {
    let garbage = CertificateDer::from(vec![0x30, 0x03, 0x02, 0x01, 0x01]);
    assert!(matches!(
        peer_identity(&garbage),
        Err(TlsError::BadCertificate { .. })
    ));
}

#[test]
fn serial_hex_drops_only_leading_zero_bytes() {
    assert_eq!(serial_hex(&[0x00, 0x00, 0x01]), "01");
    assert_eq!(serial_hex(&[0x12, 0xab, 0x00]), "12ab00");
    assert_eq!(serial_hex(&[0x00]), "00");
    assert_eq!(serial_hex(&[]), "00");
}
