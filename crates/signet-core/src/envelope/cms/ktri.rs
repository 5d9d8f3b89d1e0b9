//! RSA key transport recipients (RFC 5652 §6.2.1) with RSAES-OAEP
//! (RFC 3560, RFC 4055 §4.1).
//!
//! ```text
//! KeyTransRecipientInfo ::= SEQUENCE {
//!   version CMSVersion,  -- 2, because rid is subjectKeyIdentifier
//!   rid RecipientIdentifier,           -- [0] subjectKeyIdentifier
//!   keyEncryptionAlgorithm KeyEncryptionAlgorithmIdentifier,
//!                                      -- id-RSAES-OAEP
//!   encryptedKey EncryptedKey }
//! RSAES-OAEP-params ::= SEQUENCE {
//!   hashFunc    [0] AlgorithmIdentifier DEFAULT sha1Identifier,
//!   maskGenFunc [1] AlgorithmIdentifier DEFAULT mgf1SHA1Identifier,
//!   pSourceFunc [2] AlgorithmIdentifier DEFAULT pSpecifiedEmptyIdentifier }
//! ```
//!
//! Sealing uses SHA-256 with MGF1-SHA-256 and the empty label (the
//! parameters OpenSSL writes for `-keyopt rsa_oaep_md:sha256`); opening
//! also accepts SHA-1, SHA-384 and SHA-512 with the same MGF1 hash.
//! PKCS#1 v1.5 key transport is neither written nor opened.

use aws_lc_rs::rsa::{
    OAEP_SHA1_MGF1SHA1, OAEP_SHA256_MGF1SHA256, OAEP_SHA384_MGF1SHA384, OAEP_SHA512_MGF1SHA512,
    OaepAlgorithm, OaepPrivateDecryptingKey, OaepPublicEncryptingKey, PrivateDecryptingKey,
    PublicEncryptingKey,
};
use cms::content_info::CmsVersion;
use cms::enveloped_data::{KeyTransRecipientInfo, RecipientIdentifier, RecipientInfo};
use const_oid::ObjectIdentifier;
use der::Any;
use der::asn1::OctetString;
use spki::AlgorithmIdentifierOwned;
use x509_cert::ext::pkix::SubjectKeyIdentifier;
use zeroize::Zeroizing;

use super::content::CEK_LEN;
use super::encoding;
use crate::algorithm::oid;
use crate::envelope::error::EnvelopeError;
use crate::envelope::private_key::PrivateKey;
use crate::public_key::SubjectKey;

/// `id-RSAES-OAEP` (RFC 4055 §4.1).
const RSAES_OAEP: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.113549.1.1.7");
/// `id-pSpecified` (RFC 4055 §4.1).
const P_SPECIFIED: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.113549.1.1.9");

/// RFC 4055 `RSAES-OAEP-params`; absent fields take the SHA-1 defaults.
#[derive(Clone, Debug, der::Sequence)]
struct RsaesOaepParams {
    #[asn1(context_specific = "0", tag_mode = "EXPLICIT", optional = "true")]
    hash_func: Option<AlgorithmIdentifierOwned>,
    #[asn1(context_specific = "1", tag_mode = "EXPLICIT", optional = "true")]
    mask_gen_func: Option<AlgorithmIdentifierOwned>,
    #[asn1(context_specific = "2", tag_mode = "EXPLICIT", optional = "true")]
    p_source_func: Option<AlgorithmIdentifierOwned>,
}

fn hash_identifier(hash: ObjectIdentifier) -> AlgorithmIdentifierOwned {
    // RFC 4055 §2.1: absent parameters are preferred for SHA-2 (OpenSSL
    // writes them so).
    AlgorithmIdentifierOwned {
        oid: hash,
        parameters: None,
    }
}

/// A key transport recipient for `recipient` delivering `cek`.
pub(super) fn seal(
    recipient: &SubjectKey,
    ski: &[u8],
    cek: &[u8; CEK_LEN],
) -> Result<RecipientInfo, EnvelopeError> {
    let spki = der::Encode::to_der(recipient.spki()).map_err(encoding)?;
    let public = PublicEncryptingKey::from_der(&spki)
        .ok()
        .and_then(|k| OaepPublicEncryptingKey::new(k).ok())
        .ok_or(EnvelopeError::InvalidKey {
            reason: "recipient RSA key",
        })?;
    let mut out = vec![0u8; public.ciphertext_size()];
    let encrypted = public
        .encrypt(&OAEP_SHA256_MGF1SHA256, cek, &mut out, None)
        .map_err(|_| EnvelopeError::Crypto {
            what: "RSA-OAEP encryption",
        })?
        .to_vec();
    let params = RsaesOaepParams {
        hash_func: Some(hash_identifier(oid::SHA256)),
        mask_gen_func: Some(AlgorithmIdentifierOwned {
            oid: oid::MGF1,
            parameters: Some(Any::encode_from(&hash_identifier(oid::SHA256)).map_err(encoding)?),
        }),
        p_source_func: None,
    };
    Ok(RecipientInfo::Ktri(KeyTransRecipientInfo {
        version: CmsVersion::V2,
        rid: RecipientIdentifier::SubjectKeyIdentifier(SubjectKeyIdentifier(
            OctetString::new(ski.to_vec()).map_err(encoding)?,
        )),
        key_enc_alg: AlgorithmIdentifierOwned {
            oid: RSAES_OAEP,
            parameters: Some(Any::encode_from(&params).map_err(encoding)?),
        },
        enc_key: OctetString::new(encrypted).map_err(encoding)?,
    }))
}

/// The OAEP variant named by `params` (hash and MGF1 hash must agree).
fn oaep_algorithm(params: Option<&Any>) -> Result<&'static OaepAlgorithm, EnvelopeError> {
    let malformed = || EnvelopeError::Malformed {
        what: "RSAES-OAEP-params",
    };
    let params: RsaesOaepParams = match params {
        None => RsaesOaepParams {
            hash_func: None,
            mask_gen_func: None,
            p_source_func: None,
        },
        Some(any) if any.is_null() => RsaesOaepParams {
            hash_func: None,
            mask_gen_func: None,
            p_source_func: None,
        },
        Some(any) => any.decode_as().map_err(|_| malformed())?,
    };
    let hash = params.hash_func.as_ref().map_or(oid::SHA1, |h| h.oid);
    let mgf_hash = match &params.mask_gen_func {
        None => oid::SHA1,
        Some(mgf) if mgf.oid == oid::MGF1 => {
            let inner: AlgorithmIdentifierOwned = mgf
                .parameters
                .as_ref()
                .ok_or_else(malformed)?
                .decode_as()
                .map_err(|_| malformed())?;
            inner.oid
        }
        Some(mgf) => {
            return Err(EnvelopeError::UnsupportedAlgorithm {
                oid: mgf.oid.to_string(),
                context: "OAEP mask generation function",
            });
        }
    };
    if let Some(p) = &params.p_source_func {
        let empty_label = p.oid == P_SPECIFIED
            && p.parameters
                .as_ref()
                .is_none_or(|v| v.value().is_empty() || v.value() == [0x04, 0x00]);
        if !empty_label {
            return Err(EnvelopeError::UnsupportedAlgorithm {
                oid: p.oid.to_string(),
                context: "OAEP label",
            });
        }
    }
    match (hash, mgf_hash) {
        (oid::SHA1, oid::SHA1) => Ok(&OAEP_SHA1_MGF1SHA1),
        (oid::SHA256, oid::SHA256) => Ok(&OAEP_SHA256_MGF1SHA256),
        (oid::SHA384, oid::SHA384) => Ok(&OAEP_SHA384_MGF1SHA384),
        (oid::SHA512, oid::SHA512) => Ok(&OAEP_SHA512_MGF1SHA512),
        (h, _) => Err(EnvelopeError::UnsupportedAlgorithm {
            oid: h.to_string(),
            context: "OAEP hash (hash and MGF1 hash must be one SHA)",
        }),
    }
}

/// The content-encryption key of a key transport recipient, with `key`.
pub(super) fn open(
    ktri: &KeyTransRecipientInfo,
    key: &PrivateKey,
) -> Result<Zeroizing<Vec<u8>>, EnvelopeError> {
    if ktri.key_enc_alg.oid != RSAES_OAEP {
        return Err(EnvelopeError::UnsupportedAlgorithm {
            oid: ktri.key_enc_alg.oid.to_string(),
            context: "key transport (only RSAES-OAEP)",
        });
    }
    let algorithm = oaep_algorithm(ktri.key_enc_alg.parameters.as_ref())?;
    let pkcs8 = key.rsa_pkcs8().ok_or(EnvelopeError::NotForThisKey)?;
    let private = PrivateDecryptingKey::from_pkcs8(pkcs8)
        .ok()
        .and_then(|k| OaepPrivateDecryptingKey::new(k).ok())
        .ok_or(EnvelopeError::InvalidKey {
            reason: "RSA private key",
        })?;
    let mut out = Zeroizing::new(vec![0u8; private.min_output_size()]);
    let len = private
        .decrypt(algorithm, ktri.enc_key.as_bytes(), &mut out, None)
        .map_err(|_| EnvelopeError::NotForThisKey)?
        .len();
    out.truncate(len);
    Ok(out)
}
