//! Throwaway certificates for unit tests, made with rcgen.

use rcgen::{
    BasicConstraints, CertificateParams, DnType, ExtendedKeyUsagePurpose, IsCa, Issuer, KeyPair,
    KeyUsagePurpose, PKCS_ECDSA_P256_SHA256, SanType, SerialNumber,
};
use rustls_pki_types::CertificateDer;

/// A self-signed CA that issues leaves directly.
pub(crate) struct TestCa {
    issuer: Issuer<'static, KeyPair>,
    pub(crate) pem: String,
}

/// A leaf certificate and its key.
pub(crate) struct TestLeaf {
    pub(crate) cert_pem: String,
    pub(crate) key_pem: String,
    pub(crate) der: CertificateDer<'static>,
}

/// What to put in a leaf.
pub(crate) struct LeafSpec<'a> {
    pub(crate) common_name: Option<&'a str>,
    pub(crate) uris: Vec<&'a str>,
    pub(crate) ekus: Vec<ExtendedKeyUsagePurpose>,
    pub(crate) serial: Option<Vec<u8>>,
}

impl LeafSpec<'static> {
    /// A client certificate with one role URI.
    pub(crate) fn client(role_uri: &'static str) -> Self {
        LeafSpec {
            common_name: Some("test client"),
            uris: vec![role_uri],
            ekus: vec![ExtendedKeyUsagePurpose::ClientAuth],
            serial: None,
        }
    }
}

impl TestCa {
    pub(crate) fn new(name: &str) -> TestCa {
        let key = KeyPair::generate_for(&PKCS_ECDSA_P256_SHA256).unwrap();
        let mut params = CertificateParams::default();
        params.distinguished_name.push(DnType::CommonName, name);
        params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        params.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign];
        let cert = params.self_signed(&key).unwrap();
        TestCa {
            pem: cert.pem(),
            issuer: Issuer::new(params, key),
        }
    }

    pub(crate) fn leaf(&self, spec: LeafSpec<'_>) -> TestLeaf {
        let key = KeyPair::generate_for(&PKCS_ECDSA_P256_SHA256).unwrap();
        let mut params = CertificateParams::default();
        params.distinguished_name = rcgen::DistinguishedName::new();
        if let Some(cn) = spec.common_name {
            params.distinguished_name.push(DnType::CommonName, cn);
        }
        params.subject_alt_names = spec
            .uris
            .iter()
            .map(|uri| SanType::URI((*uri).try_into().unwrap()))
            .collect();
        params.extended_key_usages = spec.ekus;
        params.key_usages = vec![KeyUsagePurpose::DigitalSignature];
        params.use_authority_key_identifier_extension = true;
        params.serial_number = spec.serial.map(|s| SerialNumber::from_slice(&s));
        let cert = params.signed_by(&key, &self.issuer).unwrap();
        TestLeaf {
            cert_pem: cert.pem(),
            key_pem: key.serialize_pem(),
            der: cert.der().clone(),
        }
    }
}
