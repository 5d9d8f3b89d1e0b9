//! Independent verifiers and raw PKCS#11 access for the tests.

use std::path::Path;

use cryptoki::context::{CInitializeArgs, CInitializeFlags, Pkcs11};
use cryptoki::error::{Error, RvError};
use cryptoki::object::{Attribute, AttributeType, ObjectClass, ObjectHandle};
use cryptoki::session::Session;
use der::Decode as _;
use p256::pkcs8::DecodePublicKey as _;
use signature::Verifier as _;
use signet_token::TokenConfig;
use spki::SubjectPublicKeyInfoOwned;

pub use signet_token::testing::test_token;

pub fn spki(der: &[u8]) -> SubjectPublicKeyInfoOwned {
    SubjectPublicKeyInfoOwned::from_der(der).unwrap()
}

/// Verifies a DER ECDSA P-256/SHA-256 signature with both the p256 crate
/// and aws-lc-rs.
pub fn verify_p256(spki_der: &[u8], message: &[u8], signature: &[u8]) -> bool {
    let key = p256::ecdsa::VerifyingKey::from_public_key_der(spki_der).unwrap();
    let rustcrypto = p256::ecdsa::Signature::from_der(signature)
        .is_ok_and(|sig| key.verify(message, &sig).is_ok());
    let aws = aws_lc_rs::signature::UnparsedPublicKey::new(
        &aws_lc_rs::signature::ECDSA_P256_SHA256_ASN1,
        spki(spki_der).subject_public_key.raw_bytes(),
    )
    .verify(message, signature)
    .is_ok();
    assert_eq!(rustcrypto, aws, "the two verifiers disagree");
    rustcrypto
}

/// Verifies a DER ECDSA P-384/SHA-384 signature with both the p384 crate
/// and aws-lc-rs.
pub fn verify_p384(spki_der: &[u8], message: &[u8], signature: &[u8]) -> bool {
    let key = p384::ecdsa::VerifyingKey::from_public_key_der(spki_der).unwrap();
    let rustcrypto = p384::ecdsa::Signature::from_der(signature)
        .is_ok_and(|sig| key.verify(message, &sig).is_ok());
    let aws = aws_lc_rs::signature::UnparsedPublicKey::new(
        &aws_lc_rs::signature::ECDSA_P384_SHA384_ASN1,
        spki(spki_der).subject_public_key.raw_bytes(),
    )
    .verify(message, signature)
    .is_ok();
    assert_eq!(rustcrypto, aws, "the two verifiers disagree");
    rustcrypto
}

/// Verifies an RSA signature with aws-lc-rs (`alg` picks PKCS#1 v1.5 or PSS).
pub fn verify_rsa(
    alg: &'static aws_lc_rs::signature::RsaParameters,
    spki_der: &[u8],
    message: &[u8],
    signature: &[u8],
) -> bool {
    // The subjectPublicKey bits of rsaEncryption are the RSAPublicKey DER.
    aws_lc_rs::signature::UnparsedPublicKey::new(alg, spki(spki_der).subject_public_key.raw_bytes())
        .verify(message, signature)
        .is_ok()
}

/// Verifies a DER SM2-with-SM3 signature (distinguishing ID
/// "1234567812345678") with the sm2 crate.
pub fn verify_sm2(spki_der: &[u8], message: &[u8], signature: &[u8]) -> bool {
    let public = sm2::PublicKey::from_public_key_der(spki_der).unwrap();
    let key = sm2::dsa::VerifyingKey::new("1234567812345678", public).unwrap();
    sm2::dsa::Signature::from_der(signature).is_ok_and(|sig| key.verify(message, &sig).is_ok())
}

/// A session of our own on the test token, through cryptoki directly (the
/// module is already initialised in this process by `Token`), logged in
/// with the PIN from the config's PIN file.
pub fn raw_session(config: &TokenConfig) -> Session {
    let pkcs11 = Pkcs11::new(&config.module).unwrap();
    match pkcs11.initialize(CInitializeArgs::new(CInitializeFlags::OS_LOCKING_OK)) {
        Ok(()) | Err(Error::Pkcs11(RvError::CryptokiAlreadyInitialized, _)) => {}
        Err(e) => panic!("C_Initialize: {e}"),
    }
    let slot = pkcs11
        .get_slots_with_token()
        .unwrap()
        .into_iter()
        .find(|s| pkcs11.get_token_info(*s).unwrap().label() == config.token_label)
        .unwrap();
    let session = pkcs11.open_rw_session(slot).unwrap();
    let signet_token::PinSource::File(pin_file) = &config.pin else {
        panic!("test tokens have PIN files");
    };
    let pin = read_pin(pin_file);
    match session.login(
        cryptoki::session::UserType::User,
        Some(&pin.as_str().into()),
    ) {
        Ok(()) | Err(Error::Pkcs11(RvError::UserAlreadyLoggedIn, _)) => {}
        Err(e) => panic!("C_Login: {e}"),
    }
    session
}

pub fn read_pin(path: &Path) -> String {
    std::fs::read_to_string(path).unwrap().trim_end().to_owned()
}

/// The one object of `class` labelled `label`.
pub fn find(session: &Session, label: &str, class: ObjectClass) -> ObjectHandle {
    let found = session
        .find_objects(&[
            Attribute::Label(label.as_bytes().to_vec()),
            Attribute::Class(class),
        ])
        .unwrap();
    assert_eq!(found.len(), 1, "{label}: {found:?}");
    found[0]
}

/// The value of a byte-string attribute, `None` when the token withholds it
/// (sensitive) and `Some(empty)` when it returns it empty.
pub fn read_bytes(
    session: &Session,
    object: ObjectHandle,
    wanted: AttributeType,
) -> Option<Vec<u8>> {
    session
        .get_attributes(object, &[wanted])
        .unwrap()
        .into_iter()
        .find_map(|a| match a {
            Attribute::Value(v) | Attribute::PrivateExponent(v) | Attribute::Prime1(v) => Some(v),
            _ => None,
        })
}
