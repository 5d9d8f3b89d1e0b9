//! Content encryption: AES-GCM for `AuthEnvelopedData` (RFC 5084 §3.2),
//! AES-CBC for `EnvelopedData` (RFC 3565 §4.1, opening only).
//!
//! ```text
//! GCMParameters ::= SEQUENCE {
//!   aes-nonce        OCTET STRING, -- recommended size is 12 octets
//!   aes-ICVlen       AES-GCM-ICVlen DEFAULT 12 }
//! AES-IV ::= OCTET STRING (SIZE(16))
//! ```
//!
//! Signet writes a 12-byte nonce and a 16-byte tag, with `aes-ICVlen`
//! present (16 is not the default), as OpenSSL does.

use aes_gcm::aead::{AeadInOut as _, KeyInit as _};
use cms::enveloped_data::EncryptedContentInfo;
use const_oid::ObjectIdentifier;
use der::asn1::OctetString;
use der::{Any, Decode as _};
use spki::AlgorithmIdentifierOwned;
use zeroize::Zeroizing;

use super::{ID_DATA, encoding};
use crate::envelope::error::EnvelopeError;

/// Content-encryption keys Signet makes: AES-256.
pub(super) const CEK_LEN: usize = 32;
const NONCE_LEN: usize = 12;
const TAG_LEN: usize = 16;

/// `id-aes128-GCM` (RFC 5084 §3.2).
const AES128_GCM: ObjectIdentifier = ObjectIdentifier::new_unwrap("2.16.840.1.101.3.4.1.6");
/// `id-aes256-GCM` (RFC 5084 §3.2).
pub(super) const AES256_GCM: ObjectIdentifier =
    ObjectIdentifier::new_unwrap("2.16.840.1.101.3.4.1.46");
/// `id-aes128-CBC` (RFC 3565 §4.1).
const AES128_CBC: ObjectIdentifier = ObjectIdentifier::new_unwrap("2.16.840.1.101.3.4.1.2");
/// `id-aes256-CBC` (RFC 3565 §4.1).
const AES256_CBC: ObjectIdentifier = ObjectIdentifier::new_unwrap("2.16.840.1.101.3.4.1.42");

/// RFC 5084 `GCMParameters`.
#[derive(Clone, Debug, der::Sequence)]
struct GcmParameters {
    nonce: OctetString,
    #[asn1(default = "default_icv_len")]
    icv_len: u8,
}

fn default_icv_len() -> u8 {
    12
}

/// Encrypts `content` under `cek` with AES-256-GCM and a random nonce;
/// returns the `EncryptedContentInfo` (ciphertext without the tag) and the
/// tag, which goes into `mac`.
pub(super) fn seal_gcm<R: rand_core::CryptoRng>(
    cek: &[u8; CEK_LEN],
    content: &[u8],
    rng: &mut R,
) -> Result<(EncryptedContentInfo, Vec<u8>), EnvelopeError> {
    fn crypto<E>(_: E) -> EnvelopeError {
        EnvelopeError::Crypto {
            what: "AES-GCM content encryption",
        }
    }
    let mut nonce = [0u8; NONCE_LEN];
    rng.fill_bytes(&mut nonce);
    let cipher = aes_gcm::Aes256Gcm::new_from_slice(cek).map_err(crypto)?;
    let mut buffer = content.to_vec();
    let tag = cipher
        .encrypt_inout_detached(&nonce.into(), &[], buffer.as_mut_slice().into())
        .map_err(crypto)?;
    let params = GcmParameters {
        nonce: OctetString::new(nonce.to_vec()).map_err(encoding)?,
        icv_len: 16,
    };
    let info = EncryptedContentInfo {
        content_type: ID_DATA,
        content_enc_alg: AlgorithmIdentifierOwned {
            oid: AES256_GCM,
            parameters: Some(Any::encode_from(&params).map_err(encoding)?),
        },
        encrypted_content: Some(OctetString::new(buffer).map_err(encoding)?),
    };
    Ok((info, tag.to_vec()))
}

/// Decrypts the content with `cek`: GCM when `mac` is given
/// (`AuthEnvelopedData`), CBC otherwise (`EnvelopedData`).
pub(super) fn open(
    cek: &[u8],
    info: &EncryptedContentInfo,
    mac: Option<&OctetString>,
) -> Result<Zeroizing<Vec<u8>>, EnvelopeError> {
    let ciphertext = info
        .encrypted_content
        .as_ref()
        .ok_or(EnvelopeError::Malformed {
            what: "detached content is not supported",
        })?
        .as_bytes();
    let alg = &info.content_enc_alg;
    let params = alg.parameters.as_ref().ok_or(EnvelopeError::Malformed {
        what: "content-encryption parameters",
    })?;
    match (alg.oid, mac) {
        (AES256_GCM | AES128_GCM, Some(mac)) => {
            let params: GcmParameters =
                params.decode_as().map_err(|_| EnvelopeError::Malformed {
                    what: "GCMParameters",
                })?;
            if params.nonce.as_bytes().len() != NONCE_LEN || usize::from(params.icv_len) != TAG_LEN
            {
                return Err(EnvelopeError::UnsupportedAlgorithm {
                    oid: alg.oid.to_string(),
                    context: "GCM nonce or tag length other than 12/16",
                });
            }
            let nonce: [u8; NONCE_LEN] = params
                .nonce
                .as_bytes()
                .try_into()
                .map_err(|_| EnvelopeError::Malformed { what: "GCM nonce" })?;
            let tag: [u8; TAG_LEN] = mac
                .as_bytes()
                .try_into()
                .map_err(|_| EnvelopeError::Malformed { what: "GCM tag" })?;
            let mut buffer = Zeroizing::new(ciphertext.to_vec());
            let result = if alg.oid == AES256_GCM {
                aes_gcm::Aes256Gcm::new_from_slice(cek)
                    .map_err(|_| EnvelopeError::NotForThisKey)?
                    .decrypt_inout_detached(
                        &nonce.into(),
                        &[],
                        buffer.as_mut_slice().into(),
                        &tag.into(),
                    )
            } else {
                aes_gcm::Aes128Gcm::new_from_slice(cek)
                    .map_err(|_| EnvelopeError::NotForThisKey)?
                    .decrypt_inout_detached(
                        &nonce.into(),
                        &[],
                        buffer.as_mut_slice().into(),
                        &tag.into(),
                    )
            };
            result.map_err(|_| EnvelopeError::NotForThisKey)?;
            Ok(buffer)
        }
        (AES256_CBC | AES128_CBC, None) => {
            let iv = OctetString::from_der(&der::Encode::to_der(params).map_err(encoding)?)
                .map_err(|_| EnvelopeError::Malformed { what: "AES IV" })?;
            let iv: [u8; 16] = iv
                .as_bytes()
                .try_into()
                .map_err(|_| EnvelopeError::Malformed { what: "AES IV" })?;
            cbc_decrypt(alg.oid, cek, &iv, ciphertext)
        }
        (other, _) => Err(EnvelopeError::UnsupportedAlgorithm {
            oid: other.to_string(),
            context: "content encryption",
        }),
    }
}

fn cbc_decrypt(
    oid: ObjectIdentifier,
    cek: &[u8],
    iv: &[u8; 16],
    ciphertext: &[u8],
) -> Result<Zeroizing<Vec<u8>>, EnvelopeError> {
    use cbc::cipher::{BlockModeDecrypt as _, KeyIvInit as _, block_padding::Pkcs7};
    let wrong = |_| EnvelopeError::NotForThisKey;
    let plain = if oid == AES256_CBC {
        cbc::Decryptor::<aes::Aes256>::new_from_slices(cek, iv)
            .map_err(|_| EnvelopeError::NotForThisKey)?
            .decrypt_padded_vec::<Pkcs7>(ciphertext)
            .map_err(wrong)?
    } else {
        cbc::Decryptor::<aes::Aes128>::new_from_slices(cek, iv)
            .map_err(|_| EnvelopeError::NotForThisKey)?
            .decrypt_padded_vec::<Pkcs7>(ciphertext)
            .map_err(wrong)?
    };
    Ok(Zeroizing::new(plain))
}
