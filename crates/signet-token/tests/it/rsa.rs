use aws_lc_rs::signature::{RSA_PKCS1_2048_8192_SHA256, RSA_PSS_2048_8192_SHA256};
use der::Encode as _;
use signet_core::{HashAlgorithm, KeyType, SignatureAlgorithm};
use signet_token::RsaPadding;

use crate::kit::{spki, test_token, verify_rsa};

#[test]
fn rsa2048_signs_pkcs1_v15_and_pss() {
    let (token, _config) = test_token("rsa2048");
    let spki_der = token.generate_key("ca-rsa", KeyType::Rsa2048).unwrap();
    let info = spki(&spki_der);
    assert_eq!(info.algorithm.oid.to_string(), "1.2.840.113549.1.1.1");
    assert!(info.algorithm.parameters.unwrap().is_null());

    let pkcs1 = token.signer("ca-rsa").unwrap();
    assert_eq!(pkcs1.algorithm(), SignatureAlgorithm::RsaPkcs1Sha256);
    assert_eq!(pkcs1.public_key().to_der().unwrap(), spki_der);
    let message = b"tbsCertificate";
    let signature = pkcs1.sign(message).unwrap();
    assert_eq!(signature.len(), 256);
    assert!(verify_rsa(
        &RSA_PKCS1_2048_8192_SHA256,
        &spki_der,
        message,
        &signature
    ));
    assert!(!verify_rsa(
        &RSA_PKCS1_2048_8192_SHA256,
        &spki_der,
        b"other",
        &signature
    ));
    assert!(!verify_rsa(
        &RSA_PSS_2048_8192_SHA256,
        &spki_der,
        message,
        &signature
    ));
    // PKCS#1 v1.5 is deterministic.
    assert_eq!(pkcs1.sign(message).unwrap(), signature);

    let pss = token.signer_with("ca-rsa", RsaPadding::Pss).unwrap();
    assert_eq!(
        pss.algorithm(),
        SignatureAlgorithm::RsaPss(HashAlgorithm::Sha256)
    );
    let first = pss.sign(message).unwrap();
    let second = pss.sign(message).unwrap();
    assert_ne!(first, second, "PSS salts are random");
    for signature in [&first, &second] {
        assert!(verify_rsa(
            &RSA_PSS_2048_8192_SHA256,
            &spki_der,
            message,
            signature
        ));
        assert!(!verify_rsa(
            &RSA_PSS_2048_8192_SHA256,
            &spki_der,
            b"other",
            signature
        ));
        assert!(!verify_rsa(
            &RSA_PKCS1_2048_8192_SHA256,
            &spki_der,
            message,
            signature
        ));
    }
}

#[test]
fn rsa3072_signs() {
    let (token, _config) = test_token("rsa3072");
    let spki_der = token.generate_key("ca-rsa3072", KeyType::Rsa3072).unwrap();
    let signer = token.signer("ca-rsa3072").unwrap();
    let signature = signer.sign(b"tbsCertificate").unwrap();
    assert_eq!(signature.len(), 384);
    assert!(verify_rsa(
        &RSA_PKCS1_2048_8192_SHA256,
        &spki_der,
        b"tbsCertificate",
        &signature
    ));
}
