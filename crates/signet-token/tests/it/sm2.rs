use cryptoki::mechanism::Mechanism;
use cryptoki::mechanism::aead::GcmParams;
use cryptoki::object::{Attribute, AttributeType, ObjectClass};
use cryptoki::types::Ulong;
use der::Encode as _;
use signet_core::{KeyType, SignatureAlgorithm, Signer as _, SoftwareSigner};
use signet_token::{Token, TokenError, WRAP_KEY_LABEL};

use crate::kit::{find, raw_session, read_bytes, spki, test_token, verify_sm2};

#[test]
fn sm2_key_signs_sm2_with_sm3_that_verifies() {
    let (token, _config) = test_token("sm2-sign");
    let spki_der = token.generate_key("ca-sm2", KeyType::Sm2).unwrap();
    let info = spki(&spki_der);
    assert_eq!(info.algorithm.oid.to_string(), "1.2.840.10045.2.1");
    let curve: const_oid::ObjectIdentifier =
        info.algorithm.parameters.unwrap().decode_as().unwrap();
    assert_eq!(curve.to_string(), "1.2.156.10197.1.301");

    let signer = token.signer("ca-sm2").unwrap();
    assert_eq!(signer.algorithm(), SignatureAlgorithm::Sm2Sm3);
    assert_eq!(signer.public_key().to_der().unwrap(), spki_der);
    for i in 0..20 {
        let message = format!("tbsCertificate #{i}");
        let signature = signer.sign(message.as_bytes()).unwrap();
        assert_eq!(signature[0], 0x30, "DER, not raw r||s");
        assert!(verify_sm2(&spki_der, message.as_bytes(), &signature));
        assert!(!verify_sm2(&spki_der, b"another message", &signature));
    }
    assert!(token.has_key("ca-sm2").unwrap());
    assert!(token.has_key(WRAP_KEY_LABEL).unwrap());
}

#[test]
fn a_reopened_token_gives_the_same_sm2_key() {
    let (token, config) = test_token("sm2-reopen");
    let spki_der = token.generate_key("ca-sm2", KeyType::Sm2).unwrap();
    // A second SM2 key reuses the wrapping key.
    let other = token.generate_key("ca-sm2-b", KeyType::Sm2).unwrap();
    assert_ne!(other, spki_der);
    // Close every session (the token logs out), then open it again.
    drop(token);
    let token = Token::open(&config).unwrap();
    let signer = token.signer("ca-sm2").unwrap();
    assert_eq!(signer.public_key().to_der().unwrap(), spki_der);
    let signature = signer.sign(b"tbs").unwrap();
    assert!(verify_sm2(&spki_der, b"tbs", &signature));
    assert_eq!(
        token
            .signer("ca-sm2-b")
            .unwrap()
            .public_key()
            .to_der()
            .unwrap(),
        other
    );
}

#[test]
fn the_stored_blob_is_encrypted_and_bound_to_its_label() {
    let (token, config) = test_token("sm2-blob");
    let spki_der = token.generate_key("ca-sm2", KeyType::Sm2).unwrap();

    // Read the data object and decrypt it around signet-token.
    let session = raw_session(&config);
    let data = find(&session, "ca-sm2", ObjectClass::DATA);
    let application = session
        .get_attributes(data, &[AttributeType::Application])
        .unwrap();
    assert_eq!(
        application,
        vec![Attribute::Application(b"signet-wrapped-sm2-key".to_vec())]
    );
    let blob = read_bytes(&session, data, AttributeType::Value).unwrap();
    assert_eq!(blob.len(), 12 + 32 + 16, "IV || scalar || tag");
    let wrap_key = find(&session, WRAP_KEY_LABEL, ObjectClass::SECRET_KEY);
    let decrypt = |aad: &[u8]| {
        let mut iv: [u8; 12] = blob[..12].try_into().unwrap();
        let params = GcmParams::new(&mut iv, aad, Ulong::from(128)).unwrap();
        session.decrypt(&Mechanism::AesGcm(params), wrap_key, &blob[12..])
    };
    let scalar = decrypt(b"signet:sm2-key:ca-sm2").unwrap();
    assert_eq!(scalar.len(), 32);
    let software = SoftwareSigner::from_scalar_bytes(KeyType::Sm2, &scalar).unwrap();
    assert_eq!(software.public_key().to_der().unwrap(), spki_der);
    assert!(
        !blob.windows(8).any(|w| scalar.windows(8).any(|s| s == w)),
        "scalar in the clear"
    );
    // Other associated data (another label) does not decrypt.
    assert!(decrypt(b"signet:sm2-key:ca-sm2-copy").is_err());
    assert!(decrypt(b"").is_err());

    // The same blob stored under another label does not unwrap there.
    session
        .create_object(&[
            Attribute::Class(ObjectClass::DATA),
            Attribute::Token(false),
            Attribute::Private(true),
            Attribute::Label(b"ca-sm2-copy".to_vec()),
            Attribute::Application(b"signet-wrapped-sm2-key".to_vec()),
            Attribute::Value(blob.clone()),
        ])
        .unwrap();
    let err = token.signer("ca-sm2-copy").unwrap_err();
    assert!(matches!(err, TokenError::Decrypt { .. }), "{err}");
    assert!(token.signer("ca-sm2").is_ok());
}

#[test]
fn sm2_keys_are_not_made_twice_and_can_be_destroyed() {
    let (token, _config) = test_token("sm2-destroy");
    token.generate_key("ca-sm2", KeyType::Sm2).unwrap();
    assert!(matches!(
        token.generate_key("ca-sm2", KeyType::Sm2).unwrap_err(),
        TokenError::KeyExists { .. }
    ));
    assert!(matches!(
        token
            .signer_with("ca-sm2", signet_token::RsaPadding::Pss)
            .unwrap_err(),
        TokenError::UnsupportedKeyType { .. }
    ));
    token.destroy_key("ca-sm2").unwrap();
    assert!(!token.has_key("ca-sm2").unwrap());
    assert!(matches!(
        token.signer("ca-sm2").unwrap_err(),
        TokenError::KeyNotFound { .. }
    ));
}
