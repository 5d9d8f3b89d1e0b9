//! `SM2EnvelopedKey`: an SM2 private key enveloped to another SM2 key.
//!
//! GM/T 0009-2012 §7.4 (the format GM/T 0010 certificate enrolment and
//! GM/T 0016 `ENVELOPEDKEYBLOB` carry an escrowed encryption key in):
//!
//! ```text
//! SM2EnvelopedKey ::= SEQUENCE {
//!   symAlgID               AlgorithmIdentifier,  -- SM4, 1.2.156.10197.1.104
//!   symEncryptedKey        SM2Cipher,            -- the SM4 key, SM2-encrypted
//!                                                --   to the recipient's key
//!   Sm2PublicKey           SM2PublicKey,         -- the enveloped key's public half
//!   Sm2EncryptedPrivateKey BIT STRING            -- its private key, SM4-encrypted
//! }
//! SM2PublicKey ::= BIT STRING                    -- 04 || X || Y
//! ```
//!
//! Choices where the standard leaves room, as GM/T 0016 implementations
//! make them: the symmetric key is a fresh random 128-bit SM4 key; the
//! private key is its 32-byte big-endian scalar, encrypted with SM4 in ECB
//! mode (two blocks, no padding — one key, used once, over random data);
//! `symAlgID` carries no parameters. On opening, the decrypted scalar's
//! public point must equal `Sm2PublicKey`: that detects a wrong key or a
//! damaged envelope, since ECB itself authenticates nothing.

use const_oid::ObjectIdentifier;
use der::asn1::BitString;
use der::{Decode as _, Encode as _};
use sm4::cipher::{BlockCipherDecrypt as _, BlockCipherEncrypt as _, KeyInit as _};
use spki::AlgorithmIdentifierOwned;
use zeroize::Zeroizing;

use super::error::EnvelopeError;
use super::private_key::PrivateKey;
use super::sm2_cipher::Sm2Cipher;
use crate::algorithm::KeyType;
use crate::public_key::SubjectKey;

/// SM4 (GM/T 0002), as GM/T 0006 numbers it.
pub const SM4: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.156.10197.1.104");
/// SM4 in ECB mode (GM/T 0006), accepted when opening.
pub const SM4_ECB: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.156.10197.1.104.1");

const SM4_KEY_LEN: usize = 16;
const SCALAR_LEN: usize = 32;

/// GM/T 0009 `SM2EnvelopedKey`.
#[derive(Clone, Debug, der::Sequence)]
pub struct Sm2EnvelopedKey {
    /// The symmetric algorithm (SM4).
    pub sym_alg_id: AlgorithmIdentifierOwned,
    /// The SM4 key, encrypted to the recipient.
    pub sym_encrypted_key: Sm2Cipher,
    /// The enveloped key's public point (04 || X || Y).
    pub sm2_public_key: BitString,
    /// The enveloped key's scalar under SM4.
    pub sm2_encrypted_private_key: BitString,
}

/// Envelopes the SM2 key `key` to the SM2 key `recipient`.
pub fn seal<R: rand_core::CryptoRng>(
    recipient: &SubjectKey,
    key: &PrivateKey,
    rng: &mut R,
) -> Result<Vec<u8>, EnvelopeError> {
    if recipient.key_type() != KeyType::Sm2 {
        return Err(EnvelopeError::UnsupportedKeyType {
            key_type: recipient.key_type().to_string(),
            reason: "an SM2EnvelopedKey is addressed to an SM2 key",
        });
    }
    if key.key_type() != KeyType::Sm2 {
        return Err(EnvelopeError::UnsupportedKeyType {
            key_type: key.key_type().to_string(),
            reason: "an SM2 signing key receives SM2 encryption keys only (GM/T 0009)",
        });
    }
    let recipient_point = sm2::PublicKey::from_sec1_bytes(recipient.raw()).map_err(|_| {
        EnvelopeError::InvalidKey {
            reason: "recipient SM2 point",
        }
    })?;
    let scalar = key
        .scalar()
        .ok_or(EnvelopeError::Crypto { what: "SM2 scalar" })?;
    let mut sym_key = Zeroizing::new([0u8; SM4_KEY_LEN]);
    rng.fill_bytes(&mut sym_key[..]);
    let encrypted_scalar = sm4_ecb(&sym_key[..], scalar, true)?;
    let sym_encrypted_key = Sm2Cipher::encrypt(&recipient_point, &sym_key[..], rng)?;
    let public = spki::SubjectPublicKeyInfoRef::from_der(key.public_key_der()).map_err(|_| {
        EnvelopeError::Crypto {
            what: "SM2 public key",
        }
    })?;
    let envelope = Sm2EnvelopedKey {
        sym_alg_id: AlgorithmIdentifierOwned {
            oid: SM4,
            parameters: None,
        },
        sym_encrypted_key,
        sm2_public_key: BitString::from_bytes(public.subject_public_key.raw_bytes()).map_err(
            |_| EnvelopeError::Crypto {
                what: "SM2 public key",
            },
        )?,
        sm2_encrypted_private_key: BitString::from_bytes(&encrypted_scalar).map_err(|_| {
            EnvelopeError::Crypto {
                what: "SM2EnvelopedKey encoding",
            }
        })?,
    };
    envelope.to_der().map_err(|_| EnvelopeError::Crypto {
        what: "SM2EnvelopedKey encoding",
    })
}

/// Opens an `SM2EnvelopedKey` with the recipient's SM2 key.
pub fn open(envelope: &[u8], recipient: &PrivateKey) -> Result<PrivateKey, EnvelopeError> {
    let envelope = Sm2EnvelopedKey::from_der(envelope).map_err(|_| EnvelopeError::Malformed {
        what: "SM2EnvelopedKey",
    })?;
    if envelope.sym_alg_id.oid != SM4 && envelope.sym_alg_id.oid != SM4_ECB {
        return Err(EnvelopeError::UnsupportedAlgorithm {
            oid: envelope.sym_alg_id.oid.to_string(),
            context: "SM2EnvelopedKey symAlgID",
        });
    }
    let recipient_scalar = match (recipient.key_type(), recipient.scalar()) {
        (KeyType::Sm2, Some(s)) => s,
        _ => return Err(EnvelopeError::NotForThisKey),
    };
    let sym_key = envelope.sym_encrypted_key.decrypt(recipient_scalar)?;
    if sym_key.len() != SM4_KEY_LEN {
        return Err(EnvelopeError::Malformed {
            what: "SM4 key of the wrong length",
        });
    }
    let encrypted =
        envelope
            .sm2_encrypted_private_key
            .as_bytes()
            .ok_or(EnvelopeError::Malformed {
                what: "Sm2EncryptedPrivateKey",
            })?;
    let scalar = sm4_ecb(&sym_key, encrypted, false)?;
    let key =
        PrivateKey::from_scalar(KeyType::Sm2, &scalar).map_err(|_| EnvelopeError::NotForThisKey)?;
    let public = spki::SubjectPublicKeyInfoRef::from_der(key.public_key_der()).map_err(|_| {
        EnvelopeError::Crypto {
            what: "SM2 public key",
        }
    })?;
    if Some(public.subject_public_key.raw_bytes()) != envelope.sm2_public_key.as_bytes() {
        return Err(EnvelopeError::NotForThisKey);
    }
    Ok(key)
}

/// SM4-ECB over exactly two blocks (a 32-byte scalar).
fn sm4_ecb(key: &[u8], data: &[u8], encrypt: bool) -> Result<Zeroizing<Vec<u8>>, EnvelopeError> {
    if data.len() != SCALAR_LEN {
        return Err(EnvelopeError::Malformed {
            what: "SM2 private key of the wrong length",
        });
    }
    let cipher =
        sm4::Sm4::new_from_slice(key).map_err(|_| EnvelopeError::Crypto { what: "SM4 key" })?;
    let mut out = Zeroizing::new(data.to_vec());
    for chunk in out.chunks_exact_mut(16) {
        let block = sm4::cipher::Block::<sm4::Sm4>::try_from(&*chunk)
            .map_err(|_| EnvelopeError::Crypto { what: "SM4 block" })?;
        let mut block = block;
        if encrypt {
            cipher.encrypt_block(&mut block);
        } else {
            cipher.decrypt_block(&mut block);
        }
        chunk.copy_from_slice(&block);
    }
    Ok(out)
}
