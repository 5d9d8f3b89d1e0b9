//! Private keys enveloped to a subscriber, and the envelopes' formats.
//!
//! The KMC generates a subscriber's encryption key pair, escrows it, and
//! hands the private key back *enveloped*: encrypted so that only the holder
//! of the subscriber's signing key can open it. Two formats, chosen by the
//! signing key's type:
//!
//! - **SM2 signing key**: the `SM2EnvelopedKey` of GM/T 0009-2012 §7.4
//!   (used by GM/T 0010 enrolment and GM/T 0016 `ENVELOPEDKEYBLOB`): a
//!   random SM4 key encrypted with SM2 public-key encryption to the signing
//!   key, and the SM2 private key encrypted under that SM4 key
//!   ([`sm2_enveloped_key`]). The enveloped key must itself be SM2.
//! - **ECDSA or RSA signing key**: CMS (RFC 5652) `AuthEnvelopedData`
//!   (RFC 5083) with AES-256-GCM content encryption (RFC 5084), one
//!   recipient identified by the signing key's subjectKeyIdentifier (RFC
//!   5280 §4.2.1.2 method 1, so the signing certificate need not exist yet):
//!   ECDH key agreement with an ephemeral key and AES-256 key wrap for EC
//!   keys (RFC 5753, `dhSinglePass-stdDH-sha256kdf-scheme`), RSAES-OAEP with
//!   SHA-256 for RSA keys (RFC 3560). The content is the private key as
//!   PKCS#8 DER. `openssl cms -decrypt -inform DER -in env.der -inkey key.pem`
//!   opens it ([`cms`]).
//!
//! [`open_private_key`] opens either kind with the subscriber's key.

mod cms;
mod ec_private_key;
mod error;
mod private_key;
mod sm2_cipher;
pub mod sm2_enveloped_key;

#[cfg(test)]
mod tests;

pub use cms::{open_cms, seal_cms};
pub use error::EnvelopeError;
pub use private_key::PrivateKey;
pub use sm2_cipher::Sm2Cipher;
pub use sm2_enveloped_key::Sm2EnvelopedKey;

use crate::algorithm::KeyType;
use crate::public_key::SubjectKey;

/// How an envelope is encoded.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum EnvelopeFormat {
    /// GM/T 0009 `SM2EnvelopedKey` (DER).
    Sm2EnvelopedKey,
    /// CMS `ContentInfo` holding `AuthEnvelopedData` (DER).
    CmsAuthEnvelopedData,
}

impl EnvelopeFormat {
    /// The name used in APIs and logs.
    pub fn as_str(self) -> &'static str {
        match self {
            EnvelopeFormat::Sm2EnvelopedKey => "gmt0009-sm2-enveloped-key",
            EnvelopeFormat::CmsAuthEnvelopedData => "cms-auth-enveloped-data",
        }
    }

    /// The format an envelope to a signing key of `key_type` has.
    pub fn for_recipient(key_type: KeyType) -> EnvelopeFormat {
        match key_type {
            KeyType::Sm2 => EnvelopeFormat::Sm2EnvelopedKey,
            _ => EnvelopeFormat::CmsAuthEnvelopedData,
        }
    }
}

impl std::fmt::Display for EnvelopeFormat {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

impl std::str::FromStr for EnvelopeFormat {
    type Err = EnvelopeError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        [
            EnvelopeFormat::Sm2EnvelopedKey,
            EnvelopeFormat::CmsAuthEnvelopedData,
        ]
        .into_iter()
        .find(|f| f.as_str() == s)
        .ok_or(EnvelopeError::Malformed {
            what: "unknown envelope format name",
        })
    }
}

/// A sealed envelope: DER bytes and their format.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Envelope {
    /// The format of `der`.
    pub format: EnvelopeFormat,
    /// The envelope, DER.
    pub der: Vec<u8>,
}

/// Envelopes `key` to the holder of `recipient` (the subscriber's signing
/// public key).
///
/// An SM2 recipient gets a GM/T 0009 envelope and `key` must be SM2 too;
/// an ECDSA or RSA recipient gets CMS `AuthEnvelopedData` around the
/// key's PKCS#8, whatever the key's type.
pub fn seal_private_key<R: rand_core::CryptoRng>(
    recipient: &SubjectKey,
    key: &PrivateKey,
    rng: &mut R,
) -> Result<Envelope, EnvelopeError> {
    match EnvelopeFormat::for_recipient(recipient.key_type()) {
        EnvelopeFormat::Sm2EnvelopedKey => Ok(Envelope {
            format: EnvelopeFormat::Sm2EnvelopedKey,
            der: sm2_enveloped_key::seal(recipient, key, rng)?,
        }),
        EnvelopeFormat::CmsAuthEnvelopedData => {
            let pkcs8 = key.to_pkcs8_der()?;
            Ok(Envelope {
                format: EnvelopeFormat::CmsAuthEnvelopedData,
                der: seal_cms(recipient, None, &pkcs8, rng)?,
            })
        }
    }
}

/// Opens an envelope of either kind with the subscriber's signing key and
/// returns the enveloped private key. Fails with
/// [`EnvelopeError::NotForThisKey`] when `recipient` cannot open it.
pub fn open_private_key(
    envelope: &[u8],
    recipient: &PrivateKey,
) -> Result<PrivateKey, EnvelopeError> {
    match detect(envelope)? {
        EnvelopeFormat::Sm2EnvelopedKey => sm2_enveloped_key::open(envelope, recipient),
        EnvelopeFormat::CmsAuthEnvelopedData => {
            let pkcs8 = open_cms(envelope, recipient)?;
            PrivateKey::from_pkcs8_der(&pkcs8).map_err(|_| EnvelopeError::Malformed {
                what: "the envelope's content is not a PKCS#8 private key",
            })
        }
    }
}

/// Tells the two formats apart: a CMS `ContentInfo` starts with a content
/// type OID, an `SM2EnvelopedKey` with an `AlgorithmIdentifier` SEQUENCE.
pub fn detect(envelope: &[u8]) -> Result<EnvelopeFormat, EnvelopeError> {
    use der::Decode as _;
    let malformed = EnvelopeError::Malformed {
        what: "neither a CMS ContentInfo nor an SM2EnvelopedKey",
    };
    let mut reader = der::SliceReader::new(envelope).map_err(|_| malformed.clone())?;
    let header = der::Header::decode(&mut reader).map_err(|_| malformed.clone())?;
    if header.tag() != der::Tag::Sequence {
        return Err(malformed);
    }
    match der::Tag::peek(&reader) {
        Ok(der::Tag::ObjectIdentifier) => Ok(EnvelopeFormat::CmsAuthEnvelopedData),
        Ok(der::Tag::Sequence) => Ok(EnvelopeFormat::Sm2EnvelopedKey),
        _ => Err(malformed),
    }
}
