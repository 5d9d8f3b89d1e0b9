//! A throwaway customer PKI (root, web server certificate, officer client
//! certificates) and platform PKI (the RA's identity towards the CA, a
//! role certificate), made once per test binary.

use std::net::{IpAddr, Ipv4Addr};
use std::sync::OnceLock;

use rcgen::{
    BasicConstraints, CertificateParams, DnType, ExtendedKeyUsagePurpose as Eku, IsCa, Issuer,
    KeyPair, KeyUsagePurpose, PKCS_ECDSA_P256_SHA256, SanType,
};
use signet_tls::Identity;

/// A certificate and key, PEM.
pub struct Leaf {
    pub cert_pem: String,
    pub key_pem: String,
    pub der: Vec<u8>,
}

impl Leaf {
    pub fn identity(&self) -> Identity {
        Identity::from_pem(self.cert_pem.as_bytes(), self.key_pem.as_bytes()).unwrap()
    }

    pub fn sha256_hex(&self) -> String {
        use sha2::Digest as _;
        hex::encode(sha2::Sha256::digest(&self.der))
    }
}

pub struct Pki {
    pub customer_root_pem: String,
    pub platform_root_pem: String,
    /// Server certificate for localhost / 127.0.0.1 from the customer root.
    pub web: Leaf,
    /// Client certificates from the customer root.
    pub officer_cert: Leaf,
    pub other_cert: Leaf,
    /// From the platform root: the RA's identity (role ra) and an admin role.
    pub ra_identity: Leaf,
    pub platform_admin: Leaf,
}

pub fn pki() -> &'static Pki {
    static PKI: OnceLock<Pki> = OnceLock::new();
    PKI.get_or_init(build)
}

fn root(name: &str) -> (Issuer<'static, KeyPair>, String) {
    let key = KeyPair::generate_for(&PKCS_ECDSA_P256_SHA256).unwrap();
    let mut params = CertificateParams::default();
    params.distinguished_name = rcgen::DistinguishedName::new();
    params.distinguished_name.push(DnType::CommonName, name);
    params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    params.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign];
    let cert = params.self_signed(&key).unwrap();
    (Issuer::new(params, key), cert.pem())
}

fn leaf(ca: &Issuer<'static, KeyPair>, cn: &str, sans: Vec<SanType>, ekus: Vec<Eku>) -> Leaf {
    let key = KeyPair::generate_for(&PKCS_ECDSA_P256_SHA256).unwrap();
    let mut params = CertificateParams::default();
    params.distinguished_name = rcgen::DistinguishedName::new();
    params.distinguished_name.push(DnType::CommonName, cn);
    params.subject_alt_names = sans;
    params.extended_key_usages = ekus;
    params.key_usages = vec![KeyUsagePurpose::DigitalSignature];
    params.use_authority_key_identifier_extension = true;
    let cert = params.signed_by(&key, ca).unwrap();
    Leaf {
        cert_pem: cert.pem(),
        key_pem: key.serialize_pem(),
        der: cert.der().to_vec(),
    }
}

fn role(r: &str) -> SanType {
    SanType::URI(format!("urn:signet:role:{r}").try_into().unwrap())
}

fn build() -> Pki {
    let (customer, customer_pem) = root("Test Customer Root CA");
    let (platform, platform_pem) = root("Test Platform Root CA");
    Pki {
        web: leaf(
            &customer,
            "ra.test",
            vec![
                SanType::DnsName("localhost".try_into().unwrap()),
                SanType::IpAddress(IpAddr::V4(Ipv4Addr::LOCALHOST)),
            ],
            vec![Eku::ServerAuth],
        ),
        officer_cert: leaf(&customer, "Officer Wang", vec![], vec![Eku::ClientAuth]),
        other_cert: leaf(&customer, "Somebody Else", vec![], vec![Eku::ClientAuth]),
        ra_identity: leaf(&platform, "ra", vec![role("ra")], vec![Eku::ClientAuth]),
        platform_admin: leaf(
            &platform,
            "admin",
            vec![role("admin")],
            vec![Eku::ClientAuth],
        ),
        customer_root_pem: customer_pem,
        platform_root_pem: platform_pem,
    }
}
