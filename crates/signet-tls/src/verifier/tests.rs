use rustls::server::WebPkiClientVerifier;

use super::*;
use crate::test_pki::{LeafSpec, TestCa, TestLeaf};
use crate::{Role, crypto_provider, load_roots_from_pem};

fn verifier(ca: &TestCa, allowed: &[Role]) -> RoleAllowlistVerifier {
    let roots = load_roots_from_pem(ca.pem.as_bytes()).unwrap();
    let inner = WebPkiClientVerifier::builder_with_provider(roots, crypto_provider())
        .build()
        .unwrap();
    RoleAllowlistVerifier::new(inner, AllowedPeers::new(allowed.iter().copied()))
}

fn verify(verifier: &RoleAllowlistVerifier, leaf: &TestLeaf) -> Result<(), rustls::Error> {
    verifier
        .verify_client_cert(&leaf.der, &[], UnixTime::now())
        .map(|_| ())
}

#[test]
fn accepts_only_allowed_roles_from_the_trusted_ca() {
    let ca = TestCa::new("Platform CA");
    let verifier = verifier(&ca, &[Role::Ra, Role::Admin]);
    assert!(verifier.offer_client_auth());
    assert!(verifier.client_auth_mandatory());
    assert_eq!(verifier.root_hint_subjects().len(), 1);

    verify(&verifier, &ca.leaf(LeafSpec::client("urn:signet:role:ra"))).unwrap();
    verify(
        &verifier,
        &ca.leaf(LeafSpec::client("urn:signet:role:admin")),
    )
    .unwrap();

    let denied =
        rustls::Error::InvalidCertificate(CertificateError::ApplicationVerificationFailure);
    let ocsp = ca.leaf(LeafSpec::client("urn:signet:role:ocsp"));
    assert_eq!(verify(&verifier, &ocsp), Err(denied.clone()));
    let no_role = ca.leaf(LeafSpec {
        uris: vec![],
        ..LeafSpec::client("unused")
    });
    assert_eq!(verify(&verifier, &no_role), Err(denied));
}

#[test]
fn webpki_runs_before_the_role_is_read() {
    let ca = TestCa::new("Platform CA");
    let other = TestCa::new("Other CA");
    let verifier = verifier(&ca, &[Role::Ra]);
    let foreign = other.leaf(LeafSpec::client("urn:signet:role:ra"));
    assert_eq!(
        verify(&verifier, &foreign),
        Err(rustls::Error::InvalidCertificate(
            CertificateError::UnknownIssuer
        ))
    );
    let server_only = ca.leaf(LeafSpec {
        ekus: vec![rcgen::ExtendedKeyUsagePurpose::ServerAuth],
        ..LeafSpec::client("urn:signet:role:ra")
    });
    assert!(matches!(
        verify(&verifier, &server_only),
        Err(rustls::Error::InvalidCertificate(
            CertificateError::InvalidPurposeContext { .. } | CertificateError::InvalidPurpose
        ))
    ));
}
