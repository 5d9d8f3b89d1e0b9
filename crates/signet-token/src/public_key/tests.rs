use der::Encode as _;
use p256::pkcs8::EncodePublicKey as _;

use super::*;

#[test]
fn ec_spki_matches_the_p256_crate() {
    let key = p256::ecdsa::SigningKey::from_slice(&[7u8; 32]).unwrap();
    let point = key.verifying_key().to_sec1_point(false);
    let ours = ec_spki(oid::SECP256R1, point.as_bytes())
        .unwrap()
        .to_der()
        .unwrap();
    let theirs = key.verifying_key().to_public_key_der().unwrap();
    assert_eq!(ours, theirs.as_bytes());
}

#[test]
fn rsa_spki_is_rsa_encryption_with_null_and_minimal_integers() {
    // A toy modulus with its top bit set (needs a leading zero) and a
    // leading zero byte to strip; e = 65537.
    let spki = rsa_spki(&[0x00, 0x80, 0x01], &[0x01, 0x00, 0x01]).unwrap();
    let expected: &[u8] = &[
        0x30, 0x1e, // SubjectPublicKeyInfo
        0x30, 0x0d, 0x06, 0x09, 0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x01, 0x01, 0x05,
        0x00, // rsaEncryption, NULL
        0x03, 0x0d, 0x00, // BIT STRING, no unused bits
        0x30, 0x0a, 0x02, 0x03, 0x00, 0x80, 0x01, 0x02, 0x03, 0x01, 0x00, 0x01,
    ];
    assert_eq!(spki.to_der().unwrap(), expected);
}
