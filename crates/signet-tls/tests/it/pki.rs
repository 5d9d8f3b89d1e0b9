//! A throwaway platform PKI: a root, an issuing CA under it, and the leaves
//! the tests need; plus an unrelated CA. Made once per test binary.

use std::net::{IpAddr, Ipv4Addr};
use std::sync::{Arc, OnceLock};

use rcgen::{
    BasicConstraints, CertificateParams, DnType, ExtendedKeyUsagePurpose as Eku, IsCa, Issuer,
    KeyPair, KeyUsagePurpose, PKCS_ECDSA_P256_SHA256, SanType,
};
use signet_tls::Identity;
use signet_tls::rustls::RootCertStore;

pub struct Pki {
    /// The platform root, PEM.
    pub platform_roots_pem: String,
    /// The unrelated CA's root, PEM.
    pub foreign_roots_pem: String,
    /// Role ca; SANs localhost, 127.0.0.1; serverAuth + clientAuth.
    pub server: Identity,
    pub ra: Identity,
    pub admin: Identity,
    pub ocsp: Identity,
    /// From the platform CA, clientAuth, but no role URI.
    pub no_role: Identity,
    /// From the platform CA, role ra, but serverAuth only.
    pub server_auth_only: Identity,
    /// From the unrelated CA, claiming role ra.
    pub foreign_ra: Identity,
}

impl Pki {
    pub fn platform_roots(&self) -> Arc<RootCertStore> {
        signet_tls::load_roots_from_pem(self.platform_roots_pem.as_bytes()).unwrap()
    }
}

pub fn pki() -> &'static Pki {
    static PKI: OnceLock<Pki> = OnceLock::new();
    PKI.get_or_init(build)
}

struct Ca {
    issuer: Issuer<'static, KeyPair>,
    /// This CA's certificate, PEM (appended to leaf chains when intermediate).
    pem: String,
}

fn ca_params(name: &str) -> CertificateParams {
    let mut params = CertificateParams::default();
    params.distinguished_name = rcgen::DistinguishedName::new();
    params.distinguished_name.push(DnType::CommonName, name);
    params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    params.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign];
    params
}

fn root(name: &str) -> Ca {
    let key = KeyPair::generate_for(&PKCS_ECDSA_P256_SHA256).unwrap();
    let params = ca_params(name);
    let cert = params.self_signed(&key).unwrap();
    Ca {
        pem: cert.pem(),
        issuer: Issuer::new(params, key),
    }
}

fn intermediate(name: &str, parent: &Ca) -> Ca {
    let key = KeyPair::generate_for(&PKCS_ECDSA_P256_SHA256).unwrap();
    let mut params = ca_params(name);
    params.use_authority_key_identifier_extension = true;
    let cert = params.signed_by(&key, &parent.issuer).unwrap();
    Ca {
        pem: cert.pem(),
        issuer: Issuer::new(params, key),
    }
}

/// A leaf from `ca`, with `chain_tail` (PEM) appended after it.
fn leaf(ca: &Ca, chain_tail: &str, cn: &str, sans: Vec<SanType>, ekus: Vec<Eku>) -> Identity {
    let key = KeyPair::generate_for(&PKCS_ECDSA_P256_SHA256).unwrap();
    let mut params = CertificateParams::default();
    params.distinguished_name = rcgen::DistinguishedName::new();
    params.distinguished_name.push(DnType::CommonName, cn);
    params.subject_alt_names = sans;
    params.extended_key_usages = ekus;
    params.key_usages = vec![KeyUsagePurpose::DigitalSignature];
    params.use_authority_key_identifier_extension = true;
    let cert = params.signed_by(&key, &ca.issuer).unwrap();
    let chain = format!("{}{chain_tail}", cert.pem());
    Identity::from_pem(chain.as_bytes(), key.serialize_pem().as_bytes()).unwrap()
}

fn uri(role: &str) -> SanType {
    SanType::URI(format!("urn:signet:role:{role}").try_into().unwrap())
}

fn build() -> Pki {
    let platform_root = root("Signet Test Platform Root");
    let platform = intermediate("Signet Test Platform Issuing CA", &platform_root);
    let foreign = root("Unrelated Test CA");
    let tail = platform.pem.clone();

    let client = |role: &str| {
        leaf(
            &platform,
            &tail,
            &format!("{role} client"),
            vec![uri(role)],
            vec![Eku::ClientAuth],
        )
    };
    Pki {
        platform_roots_pem: platform_root.pem.clone(),
        foreign_roots_pem: foreign.pem.clone(),
        server: leaf(
            &platform,
            &tail,
            "ca.signet.test",
            vec![
                SanType::DnsName("localhost".try_into().unwrap()),
                SanType::IpAddress(IpAddr::V4(Ipv4Addr::LOCALHOST)),
                uri("ca"),
            ],
            vec![Eku::ServerAuth, Eku::ClientAuth],
        ),
        ra: client("ra"),
        admin: client("admin"),
        ocsp: client("ocsp"),
        no_role: leaf(&platform, &tail, "no role", vec![], vec![Eku::ClientAuth]),
        server_auth_only: leaf(
            &platform,
            &tail,
            "server auth only",
            vec![uri("ra")],
            vec![Eku::ServerAuth],
        ),
        foreign_ra: leaf(
            &foreign,
            "",
            "foreign ra",
            vec![uri("ra")],
            vec![Eku::ClientAuth],
        ),
    }
}
