use der::Encode as _;
use signet_core::{KeyType, SignatureAlgorithm};

use crate::kit::{test_token, verify_p256, verify_p384};

/// Signs `count` messages and checks each signature; returns how many
/// needed a 0x00 in front of r or s (top bit set) and how many had a short
/// r or s (leading zero bytes stripped), to show both encodings happened.
fn sign_and_verify_many(
    signer: &dyn signet_core::Signer,
    spki: &[u8],
    field_len: usize,
    count: usize,
    verify: fn(&[u8], &[u8], &[u8]) -> bool,
) -> (usize, usize) {
    let (mut padded, mut short) = (0, 0);
    for i in 0..count {
        let message = format!("tbsCertificate #{i}");
        let signature = signer.sign(message.as_bytes()).unwrap();
        assert!(
            verify(spki, message.as_bytes(), &signature),
            "signature {i} does not verify"
        );
        let other = format!("tbsCertificate #{}", i + 1);
        assert!(
            !verify(spki, other.as_bytes(), &signature),
            "signature {i} verifies another message"
        );
        for len in integer_lengths(&signature) {
            if len == field_len + 1 {
                padded += 1;
            }
            if len < field_len {
                short += 1;
            }
        }
    }
    (padded, short)
}

/// Lengths of the two INTEGERs in a DER ECDSA-Sig-Value (short-form
/// lengths only, as P-256 and P-384 signatures always have).
fn integer_lengths(sig: &[u8]) -> [usize; 2] {
    assert_eq!(sig[0], 0x30);
    assert_eq!(usize::from(sig[1]), sig.len() - 2);
    assert_eq!(sig[2], 0x02);
    let r_len = usize::from(sig[3]);
    let s_at = 4 + r_len;
    assert_eq!(sig[s_at], 0x02);
    let s_len = usize::from(sig[s_at + 1]);
    assert_eq!(s_at + 2 + s_len, sig.len());
    [r_len, s_len]
}

#[test]
fn p256_key_signs_der_signatures_that_verify() {
    let (token, _config) = test_token("p256-sign");
    let spki = token.generate_key("ca-p256", KeyType::P256).unwrap();
    let signer = token.signer("ca-p256").unwrap();
    assert_eq!(signer.algorithm(), SignatureAlgorithm::EcdsaSha256);
    assert_eq!(signer.public_key().to_der().unwrap(), spki);
    let (padded, short) = sign_and_verify_many(&*signer, &spki, 32, 200, verify_p256);
    // About half of all r and s values have the top bit set; about 1 in 256
    // starts with a zero byte.
    assert!(
        padded > 100,
        "only {padded} of 400 integers needed a leading zero"
    );
    eprintln!("P-256: {padded}/400 integers padded, {short}/400 shortened");
}

#[test]
fn p384_key_signs_der_signatures_that_verify() {
    let (token, _config) = test_token("p384-sign");
    let spki = token.generate_key("ca-p384", KeyType::P384).unwrap();
    let signer = token.signer("ca-p384").unwrap();
    assert_eq!(signer.algorithm(), SignatureAlgorithm::EcdsaSha384);
    assert_eq!(signer.public_key().to_der().unwrap(), spki);
    let (padded, _) = sign_and_verify_many(&*signer, &spki, 48, 200, verify_p384);
    assert!(
        padded > 100,
        "only {padded} of 400 integers needed a leading zero"
    );
}

#[test]
fn spki_is_id_ec_public_key_with_named_curve() {
    let (token, _config) = test_token("ec-spki");
    for (label, key_type, curve) in [
        ("p256", KeyType::P256, "1.2.840.10045.3.1.7"),
        ("p384", KeyType::P384, "1.3.132.0.34"),
    ] {
        let spki = crate::kit::spki(&token.generate_key(label, key_type).unwrap());
        assert_eq!(spki.algorithm.oid.to_string(), "1.2.840.10045.2.1");
        let params = spki.algorithm.parameters.unwrap();
        assert_eq!(
            params
                .decode_as::<const_oid::ObjectIdentifier>()
                .unwrap()
                .to_string(),
            curve
        );
        let point = spki.subject_public_key.raw_bytes();
        assert_eq!(point[0], 0x04, "uncompressed point");
        assert_eq!(point.len(), if key_type == KeyType::P256 { 65 } else { 97 });
    }
}

#[test]
fn rsa_padding_pss_is_refused_for_ec_keys() {
    let (token, _config) = test_token("ec-pss");
    token.generate_key("ec", KeyType::P256).unwrap();
    let err = token
        .signer_with("ec", signet_token::RsaPadding::Pss)
        .unwrap_err();
    assert!(
        matches!(err, signet_token::TokenError::UnsupportedKeyType { .. }),
        "{err}"
    );
}
