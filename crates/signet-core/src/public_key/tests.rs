use super::*;
use crate::signer::{Signer, SoftwareSigner};

#[test]
fn software_signatures_verify_for_each_curve() {
    let mut rng = rand::rng();
    for kt in [KeyType::P256, KeyType::P384, KeyType::Sm2] {
        let signer = SoftwareSigner::generate(kt, &mut rng).unwrap();
        let key =
            SubjectKey::from_spki_der(&der::Encode::to_der(signer.public_key()).unwrap()).unwrap();
        assert_eq!(key.key_type(), kt);
        let sig = signer.sign(b"message").unwrap();
        key.verify(signer.algorithm(), b"message", &sig).unwrap();
        assert_eq!(
            key.verify(signer.algorithm(), b"other", &sig),
            Err(SignatureError::Invalid)
        );
    }
}

#[test]
fn refuses_algorithm_and_key_mismatch() {
    let mut rng = rand::rng();
    let signer = SoftwareSigner::generate(KeyType::P256, &mut rng).unwrap();
    let key =
        SubjectKey::from_spki_der(&der::Encode::to_der(signer.public_key()).unwrap()).unwrap();
    let sig = signer.sign(b"m").unwrap();
    assert!(matches!(
        key.verify(SignatureAlgorithm::RsaPkcs1Sha256, b"m", &sig),
        Err(SignatureError::AlgorithmMismatch { .. })
    ));
}

#[test]
fn key_identifier_is_sha1_of_the_key_bits() {
    let mut rng = rand::rng();
    let signer = SoftwareSigner::generate(KeyType::P256, &mut rng).unwrap();
    let key =
        SubjectKey::from_spki_der(&der::Encode::to_der(signer.public_key()).unwrap()).unwrap();
    let expected: [u8; 20] =
        sha1::Sha1::digest(signer.public_key().subject_public_key.raw_bytes()).into();
    assert_eq!(key.key_identifier(), expected);
}

#[test]
fn points_off_the_curve_are_refused() {
    let mut rng = rand::rng();
    for kt in [KeyType::P256, KeyType::P384, KeyType::Sm2] {
        let signer = SoftwareSigner::generate(kt, &mut rng).unwrap();
        let mut der = der::Encode::to_der(signer.public_key()).unwrap();
        // The last byte is the point's y coordinate: change it.
        let last = der.len() - 1;
        der[last] ^= 0x01;
        assert_eq!(
            SubjectKey::from_spki_der(&der).unwrap_err(),
            KeyError::InvalidPoint,
            "{kt}"
        );
    }
}
