use super::*;
use crate::algorithm::KeyType;

fn subject_key(key: &PrivateKey) -> SubjectKey {
    key.subject_key().unwrap()
}

#[test]
fn sm2_envelope_round_trip() {
    let mut rng = rand::rng();
    let signing = PrivateKey::generate(KeyType::Sm2, &mut rng).unwrap();
    let encryption = PrivateKey::generate(KeyType::Sm2, &mut rng).unwrap();
    let envelope = seal_private_key(&subject_key(&signing), &encryption, &mut rng).unwrap();
    assert_eq!(envelope.format, EnvelopeFormat::Sm2EnvelopedKey);
    assert_eq!(
        detect(&envelope.der).unwrap(),
        EnvelopeFormat::Sm2EnvelopedKey
    );
    let opened = open_private_key(&envelope.der, &signing).unwrap();
    assert_eq!(opened.public_key_der(), encryption.public_key_der());
    assert_eq!(opened.scalar(), encryption.scalar());
    // The scalar is not in the envelope in clear.
    let scalar = encryption.scalar().unwrap();
    assert!(!envelope.der.windows(scalar.len()).any(|w| w == scalar));

    let other = PrivateKey::generate(KeyType::Sm2, &mut rng).unwrap();
    assert_eq!(
        open_private_key(&envelope.der, &other).unwrap_err(),
        EnvelopeError::NotForThisKey
    );
    let p256 = PrivateKey::generate(KeyType::P256, &mut rng).unwrap();
    assert_eq!(
        open_private_key(&envelope.der, &p256).unwrap_err(),
        EnvelopeError::NotForThisKey
    );
}

#[test]
fn sm2_envelope_structure_is_gmt_0009() {
    use der::Decode as _;
    let mut rng = rand::rng();
    let signing = PrivateKey::generate(KeyType::Sm2, &mut rng).unwrap();
    let encryption = PrivateKey::generate(KeyType::Sm2, &mut rng).unwrap();
    let der = sm2_enveloped_key::seal(&subject_key(&signing), &encryption, &mut rng).unwrap();
    let parsed = Sm2EnvelopedKey::from_der(&der).unwrap();
    assert_eq!(parsed.sym_alg_id.oid, sm2_enveloped_key::SM4);
    assert!(parsed.sym_alg_id.parameters.is_none());
    assert_eq!(parsed.sym_encrypted_key.hash.as_bytes().len(), 32);
    assert_eq!(parsed.sym_encrypted_key.cipher_text.as_bytes().len(), 16);
    assert_eq!(parsed.sm2_public_key.raw_bytes().len(), 65);
    assert_eq!(parsed.sm2_encrypted_private_key.raw_bytes().len(), 32);
    // A flipped bit in the encrypted private key is caught by the public
    // key check.
    let mut tampered = parsed.clone();
    let mut bits = tampered.sm2_encrypted_private_key.raw_bytes().to_vec();
    bits[3] ^= 1;
    tampered.sm2_encrypted_private_key = der::asn1::BitString::from_bytes(&bits).unwrap();
    let tampered = der::Encode::to_der(&tampered).unwrap();
    assert_eq!(
        open_private_key(&tampered, &signing).unwrap_err(),
        EnvelopeError::NotForThisKey
    );
}

#[test]
fn sm2_cipher_converts_both_ways() {
    let mut rng = rand::rng();
    let key = PrivateKey::generate(KeyType::Sm2, &mut rng).unwrap();
    let public = sm2::PublicKey::from_sec1_bytes(subject_key(&key).raw()).unwrap();
    let cipher = Sm2Cipher::encrypt(&public, b"sixteen byte key", &mut rng).unwrap();
    let raw = cipher.to_c1c3c2().unwrap();
    assert_eq!(raw.len(), 65 + 32 + 16);
    assert_eq!(Sm2Cipher::from_c1c3c2(&raw).unwrap(), cipher);
    let der = cipher.to_der_bytes().unwrap();
    assert_eq!(Sm2Cipher::from_der_bytes(&der).unwrap(), cipher);
    assert_eq!(
        &cipher.decrypt(key.scalar().unwrap()).unwrap()[..],
        b"sixteen byte key"
    );
    // The sm2 crate's own DER agrees with ours (same field order).
    let dk = sm2::pke::DecryptingKey::new_with_mode(
        sm2::NonZeroScalar::try_from(key.scalar().unwrap()).unwrap(),
        sm2::pke::Mode::C1C3C2,
    );
    assert_eq!(dk.decrypt_der(&der).unwrap(), b"sixteen byte key");
}

#[test]
fn cms_envelopes_round_trip_for_every_recipient_type() {
    let mut rng = rand::rng();
    for (recipient_type, content_type) in [
        (KeyType::P256, KeyType::P256),
        (KeyType::P384, KeyType::P256),
        (KeyType::P256, KeyType::Sm2),
        (KeyType::Rsa2048, KeyType::P256),
    ] {
        let signing = PrivateKey::generate(recipient_type, &mut rng).unwrap();
        let encryption = PrivateKey::generate(content_type, &mut rng).unwrap();
        let envelope = seal_private_key(&subject_key(&signing), &encryption, &mut rng).unwrap();
        assert_eq!(envelope.format, EnvelopeFormat::CmsAuthEnvelopedData);
        assert_eq!(
            detect(&envelope.der).unwrap(),
            EnvelopeFormat::CmsAuthEnvelopedData
        );
        let opened = open_private_key(&envelope.der, &signing).unwrap();
        assert_eq!(opened.public_key_der(), encryption.public_key_der());
        assert_eq!(
            &opened.to_pkcs8_der().unwrap()[..],
            &encryption.to_pkcs8_der().unwrap()[..]
        );
        let stranger = PrivateKey::generate(recipient_type, &mut rng).unwrap();
        assert_eq!(
            open_private_key(&envelope.der, &stranger).unwrap_err(),
            EnvelopeError::NotForThisKey,
            "{recipient_type}"
        );
    }
}

#[test]
fn a_tampered_cms_envelope_does_not_open() {
    let mut rng = rand::rng();
    let signing = PrivateKey::generate(KeyType::P256, &mut rng).unwrap();
    let der = seal_cms(&subject_key(&signing), None, b"the content", &mut rng).unwrap();
    assert_eq!(&open_cms(&der, &signing).unwrap()[..], b"the content");
    // The last bytes are the GCM tag; before them the ciphertext.
    for back in [1, 17, 20] {
        let mut bad = der.clone();
        let at = bad.len() - back;
        bad[at] ^= 0x80;
        assert!(open_cms(&bad, &signing).is_err(), "byte -{back}");
    }
}

#[test]
fn an_sm2_recipient_takes_only_sm2_keys() {
    let mut rng = rand::rng();
    let signing = PrivateKey::generate(KeyType::Sm2, &mut rng).unwrap();
    let p256 = PrivateKey::generate(KeyType::P256, &mut rng).unwrap();
    assert!(matches!(
        seal_private_key(&subject_key(&signing), &p256, &mut rng).unwrap_err(),
        EnvelopeError::UnsupportedKeyType { .. }
    ));
}

#[test]
fn private_keys_round_trip_through_pkcs8_and_pem() {
    let mut rng = rand::rng();
    for key_type in [KeyType::P256, KeyType::P384, KeyType::Sm2, KeyType::Rsa2048] {
        let key = PrivateKey::generate(key_type, &mut rng).unwrap();
        let pem = key.to_pkcs8_pem().unwrap();
        assert!(pem.starts_with("-----BEGIN PRIVATE KEY-----\n"));
        let back = PrivateKey::from_pem(&pem).unwrap();
        assert_eq!(back.key_type(), key_type);
        assert_eq!(back.public_key_der(), key.public_key_der());
        assert!(format!("{back:?}").contains("key_type"));
        assert!(!format!("{back:?}").contains("secret"));
    }
}

#[test]
fn keys_written_by_rcgen_parse() {
    // rcgen (aws-lc-rs) writes PKCS#8 with the public key in the ECPrivateKey.
    let key = rcgen::KeyPair::generate_for(&rcgen::PKCS_ECDSA_P256_SHA256).unwrap();
    let parsed = PrivateKey::from_pem(&key.serialize_pem()).unwrap();
    assert_eq!(parsed.key_type(), KeyType::P256);
    use rcgen::PublicKeyData as _;
    let spki = SubjectKey::from_spki_der(&key.subject_public_key_info()).unwrap();
    assert_eq!(
        parsed.public_key_der(),
        der::Encode::to_der(spki.spki()).unwrap()
    );
}

#[test]
fn bad_keys_are_refused() {
    assert!(PrivateKey::from_pem("no pem here").is_err());
    assert!(PrivateKey::from_scalar(KeyType::P256, &[0u8; 32]).is_err());
    assert!(PrivateKey::from_scalar(KeyType::P256, &[1u8; 33]).is_err());
    assert!(PrivateKey::from_scalar(KeyType::Rsa2048, &[1u8; 32]).is_err());
    let encrypted =
        "-----BEGIN ENCRYPTED PRIVATE KEY-----\nMAA=\n-----END ENCRYPTED PRIVATE KEY-----\n";
    assert!(matches!(
        PrivateKey::from_pem(encrypted).unwrap_err(),
        EnvelopeError::InvalidKey { .. }
    ));
}
