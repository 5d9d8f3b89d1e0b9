use super::*;
use crate::algorithm::{HashAlgorithm, KeyType};

fn fixture(name: &str) -> Vec<u8> {
    let path = format!("{}/tests/data/{name}", env!("CARGO_MANIFEST_DIR"));
    std::fs::read(path).unwrap()
}

fn parse(name: &str) -> Result<VerifiedCsr, CsrError> {
    VerifiedCsr::parse(&fixture(name), DEFAULT_MAX_CSR_BYTES)
}

#[test]
fn accepts_openssl_requests_of_every_supported_key_type() {
    for (file, key_type, alg) in [
        ("p256.csr", KeyType::P256, SignatureAlgorithm::EcdsaSha256),
        ("p384.csr", KeyType::P384, SignatureAlgorithm::EcdsaSha384),
        (
            "rsa2048.csr",
            KeyType::Rsa2048,
            SignatureAlgorithm::RsaPkcs1Sha256,
        ),
        (
            "rsa3072.csr",
            KeyType::Rsa3072,
            SignatureAlgorithm::RsaPkcs1Sha256,
        ),
        (
            "rsa2048-pss.csr",
            KeyType::Rsa2048,
            SignatureAlgorithm::RsaPss(HashAlgorithm::Sha256),
        ),
        ("sm2.csr", KeyType::Sm2, SignatureAlgorithm::Sm2Sm3),
    ] {
        let csr = parse(file).unwrap_or_else(|e| panic!("{file}: {e}"));
        assert_eq!(csr.key().key_type(), key_type, "{file}");
        assert_eq!(csr.signature_algorithm(), alg, "{file}");
        assert_eq!(csr.subject().to_string(), "CN=www.example.test");
        assert_eq!(csr.requested_sans().len(), 1);
    }
}

#[test]
fn accepts_der_as_well_as_pem() {
    let pem = fixture("p256.csr");
    let (_, der) = der::pem::decode_vec(&pem).unwrap();
    assert!(VerifiedCsr::parse(&der, DEFAULT_MAX_CSR_BYTES).is_ok());
}

#[test]
fn refuses_a_broken_signature() {
    let (_, mut der) = der::pem::decode_vec(&fixture("p256.csr")).unwrap();
    // The subject's last byte sits well inside the signed info.
    let at = der.windows(4).position(|w| w == b"test").unwrap();
    der[at] ^= 0x01;
    assert!(matches!(
        VerifiedCsr::parse(&der, DEFAULT_MAX_CSR_BYTES),
        Err(CsrError::Signature(_))
    ));
}

#[test]
fn refuses_truncated_der() {
    let (_, der) = der::pem::decode_vec(&fixture("p256.csr")).unwrap();
    let err = VerifiedCsr::parse(&der[..der.len() - 10], DEFAULT_MAX_CSR_BYTES).unwrap_err();
    assert!(matches!(err, CsrError::Malformed { .. }), "{err}");
}

#[test]
fn refuses_weak_and_unknown_algorithms() {
    assert!(matches!(
        parse("rsa1024.csr"),
        Err(CsrError::Key(KeyError::RsaTooSmall { bits: 1024 }))
    ));
    assert!(matches!(
        parse("p256-sha1.csr"),
        Err(CsrError::Algorithm(AlgorithmError::Weak { .. }))
    ));
    assert!(matches!(
        parse("secp256k1.csr"),
        Err(CsrError::Key(KeyError::UnsupportedCurve { .. }))
    ));
    assert!(matches!(
        parse("ed25519.csr"),
        Err(CsrError::Algorithm(AlgorithmError::Unsupported { .. }))
    ));
}

#[test]
fn refuses_oversized_input_before_parsing() {
    let big = vec![b'A'; 10 * 1024 * 1024];
    assert_eq!(
        VerifiedCsr::parse(&big, DEFAULT_MAX_CSR_BYTES).unwrap_err(),
        CsrError::TooLarge {
            len: big.len(),
            max: DEFAULT_MAX_CSR_BYTES
        }
    );
}

#[test]
fn refuses_garbage_and_wrong_pem_labels() {
    assert!(matches!(
        VerifiedCsr::parse(b"hello", DEFAULT_MAX_CSR_BYTES),
        Err(CsrError::Malformed { .. })
    ));
    let cert_label = String::from_utf8(fixture("p256.csr"))
        .unwrap()
        .replace("CERTIFICATE REQUEST", "CERTIFICATE");
    assert!(matches!(
        VerifiedCsr::parse(cert_label.as_bytes(), DEFAULT_MAX_CSR_BYTES),
        Err(CsrError::Malformed { .. })
    ));
}

#[test]
fn requests_built_for_a_signer_verify() {
    let mut rng = rand::rng();
    for kt in [KeyType::P256, KeyType::Sm2] {
        let signer = crate::SoftwareSigner::generate(kt, &mut rng).unwrap();
        let name = crate::names::parse_name("CN=Issuing CA,O=Test").unwrap();
        let der = build_csr(&signer, &name).unwrap();
        let csr = VerifiedCsr::from_der(&der).unwrap();
        assert_eq!(csr.key().key_type(), kt);
        assert_eq!(csr.subject(), &name);
    }
}
