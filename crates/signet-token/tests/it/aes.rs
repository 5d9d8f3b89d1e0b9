use signet_token::{TokenError, WRAP_KEY_LABEL};

use crate::kit::test_token;

#[test]
fn aes_gcm_round_trip_and_tamper_detection() {
    let (token, _config) = test_token("aes");
    token.generate_aes_key("escrow").unwrap();
    let plaintext = b"subscriber encryption key, escrowed";
    let aad = b"signet:escrow:serial=42";
    let blob = token.aes_gcm_encrypt("escrow", aad, plaintext).unwrap();
    assert_eq!(blob.len(), 12 + plaintext.len() + 16);
    assert!(!blob.windows(plaintext.len()).any(|w| w == plaintext));
    assert_eq!(
        &token.aes_gcm_decrypt("escrow", aad, &blob).unwrap()[..],
        plaintext
    );
    // A fresh IV each time.
    let again = token.aes_gcm_encrypt("escrow", aad, plaintext).unwrap();
    assert_ne!(again[..12], blob[..12]);

    // Any flipped bit (IV, ciphertext, tag), other AAD, or truncation fails.
    for at in [
        0,
        11,
        12,
        12 + plaintext.len() - 1,
        blob.len() - 16,
        blob.len() - 1,
    ] {
        let mut tampered = blob.clone();
        tampered[at] ^= 0x01;
        let err = token.aes_gcm_decrypt("escrow", aad, &tampered).unwrap_err();
        assert!(
            matches!(err, TokenError::Decrypt { .. }),
            "byte {at}: {err}"
        );
    }
    let err = token
        .aes_gcm_decrypt("escrow", b"signet:escrow:serial=43", &blob)
        .unwrap_err();
    assert!(matches!(err, TokenError::Decrypt { .. }), "{err}");
    for len in [0, 11, 12, 27, blob.len() - 1] {
        let err = token
            .aes_gcm_decrypt("escrow", aad, &blob[..len])
            .unwrap_err();
        assert!(
            matches!(err, TokenError::Decrypt { .. }),
            "length {len}: {err}"
        );
    }

    // Another key does not decrypt it either.
    token.generate_aes_key("other").unwrap();
    let err = token.aes_gcm_decrypt("other", aad, &blob).unwrap_err();
    assert!(matches!(err, TokenError::Decrypt { .. }), "{err}");
}

#[test]
fn empty_plaintext_and_empty_aad_work() {
    let (token, _config) = test_token("aes-empty");
    token.generate_aes_key("k").unwrap();
    let blob = token.aes_gcm_encrypt("k", b"", b"").unwrap();
    assert_eq!(blob.len(), 28);
    assert!(token.aes_gcm_decrypt("k", b"", &blob).unwrap().is_empty());
}

#[test]
fn aes_keys_are_named_and_unique() {
    let (token, _config) = test_token("aes-names");
    assert!(matches!(
        token.aes_gcm_encrypt("missing", b"", b"x").unwrap_err(),
        TokenError::KeyNotFound { .. }
    ));
    token.generate_aes_key("k").unwrap();
    assert!(matches!(
        token.generate_aes_key("k").unwrap_err(),
        TokenError::KeyExists { .. }
    ));
    // An AES key cannot sign, and a signing key cannot encrypt.
    assert!(matches!(
        token.signer("k").unwrap_err(),
        TokenError::UnsupportedKeyType { .. }
    ));
    token
        .generate_key("ec", signet_core::KeyType::P256)
        .unwrap();
    assert!(matches!(
        token.aes_gcm_encrypt("ec", b"", b"x").unwrap_err(),
        TokenError::KeyNotFound { .. }
    ));
}

#[test]
fn the_sm2_wrapping_key_is_reserved() {
    let (token, _config) = test_token("aes-reserved");
    token
        .generate_key("sm2", signet_core::KeyType::Sm2)
        .unwrap();
    for err in [
        token
            .aes_gcm_encrypt(WRAP_KEY_LABEL, b"", b"x")
            .unwrap_err(),
        token
            .aes_gcm_decrypt(WRAP_KEY_LABEL, b"", &[0; 40])
            .unwrap_err(),
        token.generate_aes_key(WRAP_KEY_LABEL).unwrap_err(),
        token
            .generate_key(WRAP_KEY_LABEL, signet_core::KeyType::P256)
            .unwrap_err(),
    ] {
        assert!(matches!(err, TokenError::ReservedLabel { .. }), "{err}");
    }
}
