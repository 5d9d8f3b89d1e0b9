//! CMS envelopes (RFC 5652) that OpenSSL 3.0 opens.
//!
//! [`seal_cms`] writes a `ContentInfo` holding `AuthEnvelopedData`
//! (RFC 5083 §2.1):
//!
//! ```text
//! AuthEnvelopedData ::= SEQUENCE {
//!   version CMSVersion,                         -- 0
//!   originatorInfo [0] IMPLICIT OriginatorInfo OPTIONAL,
//!   recipientInfos RecipientInfos,              -- one recipient
//!   authEncryptedContentInfo EncryptedContentInfo,
//!                                               -- id-data, id-aes256-GCM
//!   authAttrs [1] IMPLICIT AuthAttributes OPTIONAL,
//!   mac MessageAuthenticationCode,              -- the 16-byte GCM tag
//!   unauthAttrs [2] IMPLICIT UnauthAttributes OPTIONAL }
//! ```
//!
//! with a random AES-256 content-encryption key delivered to the recipient
//! by ECDH key agreement ([`kari`]) or RSA-OAEP key transport ([`ktri`]),
//! the recipient named by subjectKeyIdentifier. These are exactly the
//! structures `openssl cms -encrypt -aes-256-gcm -keyid` writes, and
//! OpenSSL 3.0's `openssl cms -decrypt` opens them with the private key
//! alone (no `-recip` certificate needed; with one, its SKI must match).
//!
//! [`open_cms`] opens that, and also `EnvelopedData` (RFC 5652 §6) with
//! AES-CBC content encryption, so that OpenSSL's default
//! `openssl cms -encrypt` output opens too.

mod content;
mod kari;
mod ktri;

use cms::authenveloped_data::AuthEnvelopedData;
use cms::content_info::{CmsVersion, ContentInfo};
use cms::enveloped_data::{EncryptedContentInfo, EnvelopedData, RecipientInfo, RecipientInfos};
use const_oid::ObjectIdentifier;
use der::asn1::OctetString;
use der::{Any, Decode as _, Encode as _};
use zeroize::Zeroizing;

use super::error::EnvelopeError;
use super::private_key::PrivateKey;
use crate::algorithm::KeyType;
use crate::public_key::SubjectKey;

/// `id-ct-authEnvelopedData` (RFC 5083 §2.1).
pub const ID_CT_AUTH_ENVELOPED_DATA: ObjectIdentifier =
    ObjectIdentifier::new_unwrap("1.2.840.113549.1.9.16.1.23");
/// `id-envelopedData` (RFC 5652 §6.1).
pub const ID_ENVELOPED_DATA: ObjectIdentifier =
    ObjectIdentifier::new_unwrap("1.2.840.113549.1.7.3");
/// `id-data` (RFC 5652 §4).
pub const ID_DATA: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.113549.1.7.1");

fn encoding(_: der::Error) -> EnvelopeError {
    EnvelopeError::Crypto {
        what: "CMS encoding",
    }
}

/// Seals `content` to the holder of `recipient`'s private key as CMS
/// `AuthEnvelopedData` with AES-256-GCM.
///
/// `subject_key_identifier` names the recipient; `None` uses RFC 5280
/// §4.2.1.2 method 1 (SHA-1 of the public key), which is what a Signet
/// certificate for that key will carry. Pass a certificate's own SKI when
/// sealing to an existing certificate.
pub fn seal_cms<R: rand_core::CryptoRng>(
    recipient: &SubjectKey,
    subject_key_identifier: Option<&[u8]>,
    content: &[u8],
    rng: &mut R,
) -> Result<Vec<u8>, EnvelopeError> {
    let ski = subject_key_identifier
        .map(<[u8]>::to_vec)
        .unwrap_or_else(|| recipient.key_identifier().to_vec());
    let mut cek = Zeroizing::new([0u8; content::CEK_LEN]);
    rng.fill_bytes(&mut cek[..]);
    let recipient_info = match recipient.key_type() {
        KeyType::P256 | KeyType::P384 => kari::seal(recipient, &ski, &cek, rng)?,
        KeyType::Rsa2048 | KeyType::Rsa3072 | KeyType::Rsa4096 => {
            ktri::seal(recipient, &ski, &cek)?
        }
        other => {
            return Err(EnvelopeError::UnsupportedKeyType {
                key_type: other.to_string(),
                reason: "CMS envelopes go to ECDSA (P-256, P-384) or RSA keys",
            });
        }
    };
    let (encrypted_content, mac) = content::seal_gcm(&cek, content, rng)?;
    let data = AuthEnvelopedData {
        version: CmsVersion::V0,
        originator_info: None,
        recip_infos: RecipientInfos::try_from(vec![recipient_info]).map_err(encoding)?,
        auth_encrypted_content_info: encrypted_content,
        auth_attrs: None,
        mac: OctetString::new(mac).map_err(encoding)?,
        unauth_attrs: None,
    };
    ContentInfo {
        content_type: ID_CT_AUTH_ENVELOPED_DATA,
        content: Any::encode_from(&data).map_err(encoding)?,
    }
    .to_der()
    .map_err(encoding)
}

/// Opens a CMS `AuthEnvelopedData` (AES-GCM) or `EnvelopedData` (AES-CBC)
/// with `key` and returns the content. Every recipient info of a kind the
/// key can use is tried; the content's authentication (GCM) or padding
/// and the key unwrap's integrity check (CBC) tell the right one.
pub fn open_cms(der: &[u8], key: &PrivateKey) -> Result<Zeroizing<Vec<u8>>, EnvelopeError> {
    let info = ContentInfo::from_der(der).map_err(|_| EnvelopeError::Malformed {
        what: "CMS ContentInfo",
    })?;
    let malformed = |what| move |_| EnvelopeError::Malformed { what };
    let (recipients, encrypted, mac): (RecipientInfos, EncryptedContentInfo, Option<OctetString>) =
        match info.content_type {
            ID_CT_AUTH_ENVELOPED_DATA => {
                let data: AuthEnvelopedData = info
                    .content
                    .decode_as()
                    .map_err(malformed("AuthEnvelopedData"))?;
                if data.auth_attrs.is_some() {
                    // Signet never writes them, and they would change the AAD.
                    return Err(EnvelopeError::Malformed {
                        what: "authenticated attributes are not supported",
                    });
                }
                (
                    data.recip_infos,
                    data.auth_encrypted_content_info,
                    Some(data.mac),
                )
            }
            ID_ENVELOPED_DATA => {
                let data: EnvelopedData = info
                    .content
                    .decode_as()
                    .map_err(malformed("EnvelopedData"))?;
                (data.recip_infos, data.encrypted_content, None)
            }
            other => {
                return Err(EnvelopeError::UnsupportedAlgorithm {
                    oid: other.to_string(),
                    context: "CMS content type",
                });
            }
        };
    let mut last_error = EnvelopeError::NotForThisKey;
    for recipient in recipients.0.iter() {
        let cek = match (recipient, key.key_type()) {
            (RecipientInfo::Kari(kari), KeyType::P256 | KeyType::P384) => kari::open(kari, key),
            (RecipientInfo::Ktri(ktri), KeyType::Rsa2048 | KeyType::Rsa3072 | KeyType::Rsa4096) => {
                ktri::open(ktri, key)
            }
            _ => continue,
        };
        let cek = match cek {
            Ok(cek) => cek,
            Err(e) => {
                last_error = e;
                continue;
            }
        };
        match content::open(&cek, &encrypted, mac.as_ref()) {
            Ok(plain) => return Ok(plain),
            Err(e) => last_error = e,
        }
    }
    Err(last_error)
}
