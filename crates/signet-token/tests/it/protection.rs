use cryptoki::object::{AttributeType, ObjectClass};
use signet_core::KeyType;
use signet_token::KeyProtection;

use crate::kit::{find, raw_session, read_bytes, test_token};

const NEVER_LEFT_THE_TOKEN: KeyProtection = KeyProtection {
    sensitive: true,
    extractable: false,
    never_extractable: true,
    always_sensitive: true,
    wrapped_in_token: false,
};

#[test]
fn ca_keys_are_sensitive_and_never_extractable() {
    let (token, config) = test_token("protection");
    token.generate_key("ec", KeyType::P256).unwrap();
    token.generate_key("rsa", KeyType::Rsa2048).unwrap();
    assert_eq!(token.key_protection("ec").unwrap(), NEVER_LEFT_THE_TOKEN);
    assert_eq!(token.key_protection("rsa").unwrap(), NEVER_LEFT_THE_TOKEN);

    // Ask the token directly, around signet-token: the secret values are
    // not readable.
    let session = raw_session(&config);
    let ec = find(&session, "ec", ObjectClass::PRIVATE_KEY);
    let value = read_bytes(&session, ec, AttributeType::Value);
    assert!(
        value.as_ref().is_none_or(|v| v.is_empty()),
        "EC private value readable: {value:?}"
    );
    let rsa = find(&session, "rsa", ObjectClass::PRIVATE_KEY);
    for secret in [AttributeType::PrivateExponent, AttributeType::Prime1] {
        let value = read_bytes(&session, rsa, secret);
        assert!(
            value.as_ref().is_none_or(|v| v.is_empty()),
            "RSA {secret:?} readable: {value:?}"
        );
    }
}

#[test]
fn aes_and_wrapped_sm2_keys_report_their_protection() {
    let (token, _config) = test_token("protection-aes");
    token.generate_aes_key("escrow").unwrap();
    assert_eq!(
        token.key_protection("escrow").unwrap(),
        NEVER_LEFT_THE_TOKEN
    );
    token.generate_key("sm2", KeyType::Sm2).unwrap();
    assert_eq!(
        token.key_protection("sm2").unwrap(),
        KeyProtection {
            wrapped_in_token: true,
            ..NEVER_LEFT_THE_TOKEN
        }
    );
}

#[test]
fn has_key_and_destroy_key() {
    let (token, _config) = test_token("destroy");
    assert!(!token.has_key("ec").unwrap());
    token.generate_key("ec", KeyType::P256).unwrap();
    let signer = token.signer("ec").unwrap();
    assert!(token.has_key("ec").unwrap());
    token.destroy_key("ec").unwrap();
    assert!(!token.has_key("ec").unwrap());
    assert!(matches!(
        token.signer("ec").unwrap_err(),
        signet_token::TokenError::KeyNotFound { .. }
    ));
    // A signer made before the key was destroyed cannot sign any more: the
    // key is gone from the token (crypto-erase), and no other key stands in.
    let err = signer.sign(b"tbs").unwrap_err();
    assert!(
        matches!(err, signet_core::SignError::Unavailable { .. }),
        "{err}"
    );
    assert!(matches!(
        token.destroy_key("ec").unwrap_err(),
        signet_token::TokenError::KeyNotFound { .. }
    ));
}

#[test]
fn a_new_key_under_an_old_label_does_not_stand_in_for_the_old_one() {
    let (token, _config) = test_token("relabel");
    token.generate_key("ca", KeyType::P256).unwrap();
    let old = token.signer("ca").unwrap();
    token.destroy_key("ca").unwrap();
    token.generate_key("ca", KeyType::P256).unwrap();
    let err = old.sign(b"tbs").unwrap_err();
    assert!(err.to_string().contains("different key"), "{err}");
    let new = token.signer("ca").unwrap();
    assert_ne!(new.public_key(), old.public_key());
    new.sign(b"tbs").unwrap();
}
