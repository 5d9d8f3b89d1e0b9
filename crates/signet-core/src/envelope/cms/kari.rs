//! ECDH key agreement recipients (RFC 5652 §6.2.2, RFC 5753 §3.1).
//!
//! ```text
//! KeyAgreeRecipientInfo ::= SEQUENCE {
//!   version CMSVersion,  -- always set to 3
//!   originator [0] EXPLICIT OriginatorIdentifierOrKey,
//!                        -- originatorKey [1]: the ephemeral public key,
//!                        -- id-ecPublicKey with parameters absent
//!   ukm [1] EXPLICIT UserKeyingMaterial OPTIONAL,
//!   keyEncryptionAlgorithm KeyEncryptionAlgorithmIdentifier,
//!                        -- dhSinglePass-stdDH-sha256kdf-scheme,
//!                        -- parameters: the key wrap AlgorithmIdentifier
//!   recipientEncryptedKeys RecipientEncryptedKeys }
//! RecipientEncryptedKey ::= SEQUENCE {
//!   rid KeyAgreeRecipientIdentifier,   -- rKeyId [0]: subjectKeyIdentifier
//!   encryptedKey EncryptedKey }        -- AES key wrap (RFC 3394) of the CEK
//!
//! ECC-CMS-SharedInfo ::= SEQUENCE {   -- RFC 5753 §7.2, the KDF's SharedInfo
//!   keyInfo         AlgorithmIdentifier,   -- the key wrap algorithm
//!   entityUInfo [0] EXPLICIT OCTET STRING OPTIONAL,   -- the ukm
//!   suppPubInfo [2] EXPLICIT OCTET STRING }  -- KEK length in bits, 32-bit BE
//! ```
//!
//! The KEK is the ANSI X9.63 KDF (SEC 1 §3.6.1) of the ECDH shared x
//! coordinate with that SharedInfo. Sealing uses a fresh ephemeral key per
//! envelope (stdDH, single pass), SHA-256 in the KDF and AES-256 key wrap;
//! opening also accepts the SHA-1/384/512 KDF schemes and AES-128/192 wrap
//! (what other OpenSSL settings write).

use aes_kw::KeyInit as _;
use aws_lc_rs::agreement;
use cms::content_info::CmsVersion;
use cms::enveloped_data::{
    KeyAgreeRecipientIdentifier, KeyAgreeRecipientInfo, OriginatorIdentifierOrKey,
    OriginatorPublicKey, RecipientEncryptedKey, RecipientInfo, RecipientKeyIdentifier,
};
use const_oid::ObjectIdentifier;
use der::asn1::{BitString, OctetString};
use der::{Any, Encode as _};
use spki::AlgorithmIdentifierOwned;
use x509_cert::ext::pkix::SubjectKeyIdentifier;
use zeroize::Zeroizing;

use super::content::CEK_LEN;
use super::encoding;
use crate::algorithm::{KeyType, oid};
use crate::envelope::error::EnvelopeError;
use crate::envelope::private_key::PrivateKey;
use crate::public_key::SubjectKey;

/// `dhSinglePass-stdDH-sha1kdf-scheme` (SEC 1 / RFC 3278).
const STD_DH_SHA1_KDF: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.3.133.16.840.63.0.2");
/// `dhSinglePass-stdDH-sha256kdf-scheme` (RFC 5753 §7.1.4).
const STD_DH_SHA256_KDF: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.3.132.1.11.1");
/// `dhSinglePass-stdDH-sha384kdf-scheme` (RFC 5753 §7.1.4).
const STD_DH_SHA384_KDF: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.3.132.1.11.2");
/// `dhSinglePass-stdDH-sha512kdf-scheme` (RFC 5753 §7.1.4).
const STD_DH_SHA512_KDF: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.3.132.1.11.3");

/// `id-aes128-wrap` (RFC 3394 §3).
const AES128_WRAP: ObjectIdentifier = ObjectIdentifier::new_unwrap("2.16.840.1.101.3.4.1.5");
/// `id-aes192-wrap` (RFC 3394 §3).
const AES192_WRAP: ObjectIdentifier = ObjectIdentifier::new_unwrap("2.16.840.1.101.3.4.1.25");
/// `id-aes256-wrap` (RFC 3394 §3).
const AES256_WRAP: ObjectIdentifier = ObjectIdentifier::new_unwrap("2.16.840.1.101.3.4.1.45");

/// RFC 5753 `ECC-CMS-SharedInfo`.
#[derive(Clone, Debug, der::Sequence)]
struct EccCmsSharedInfo {
    key_info: AlgorithmIdentifierOwned,
    #[asn1(context_specific = "0", tag_mode = "EXPLICIT", optional = "true")]
    entity_u_info: Option<OctetString>,
    #[asn1(context_specific = "2", tag_mode = "EXPLICIT")]
    supp_pub_info: OctetString,
}

fn ecdh_algorithm(key_type: KeyType) -> Result<&'static agreement::Algorithm, EnvelopeError> {
    match key_type {
        KeyType::P256 => Ok(&agreement::ECDH_P256),
        KeyType::P384 => Ok(&agreement::ECDH_P384),
        other => Err(EnvelopeError::UnsupportedKeyType {
            key_type: other.to_string(),
            reason: "ECDH key agreement needs a P-256 or P-384 key",
        }),
    }
}

/// The KDF hash of a key agreement scheme.
fn kdf_hash(
    scheme: ObjectIdentifier,
) -> Result<&'static aws_lc_rs::digest::Algorithm, EnvelopeError> {
    match scheme {
        STD_DH_SHA1_KDF => Ok(&aws_lc_rs::digest::SHA1_FOR_LEGACY_USE_ONLY),
        STD_DH_SHA256_KDF => Ok(&aws_lc_rs::digest::SHA256),
        STD_DH_SHA384_KDF => Ok(&aws_lc_rs::digest::SHA384),
        STD_DH_SHA512_KDF => Ok(&aws_lc_rs::digest::SHA512),
        other => Err(EnvelopeError::UnsupportedAlgorithm {
            oid: other.to_string(),
            context: "key agreement scheme",
        }),
    }
}

/// ANSI X9.63 KDF: Hash(Z || counter || SharedInfo) for counter = 1, 2, ...
fn x963_kdf(
    hash: &'static aws_lc_rs::digest::Algorithm,
    z: &[u8],
    shared_info: &[u8],
    len: usize,
) -> Zeroizing<Vec<u8>> {
    let mut out = Zeroizing::new(Vec::with_capacity(len + 64));
    let mut counter: u32 = 1;
    while out.len() < len {
        let mut ctx = aws_lc_rs::digest::Context::new(hash);
        ctx.update(z);
        ctx.update(&counter.to_be_bytes());
        ctx.update(shared_info);
        out.extend_from_slice(ctx.finish().as_ref());
        counter = counter.wrapping_add(1);
    }
    out.truncate(len);
    out
}

/// The KEK for a shared secret `z`, wrap algorithm `wrap` and `ukm`.
fn kek(
    scheme: ObjectIdentifier,
    wrap: &AlgorithmIdentifierOwned,
    ukm: Option<&OctetString>,
    z: &[u8],
) -> Result<Zeroizing<Vec<u8>>, EnvelopeError> {
    let kek_len: usize = match wrap.oid {
        AES128_WRAP => 16,
        AES192_WRAP => 24,
        AES256_WRAP => 32,
        other => {
            return Err(EnvelopeError::UnsupportedAlgorithm {
                oid: other.to_string(),
                context: "key wrap algorithm",
            });
        }
    };
    let bits =
        u32::try_from(kek_len * 8).map_err(|_| EnvelopeError::Crypto { what: "KEK length" })?;
    let info = EccCmsSharedInfo {
        key_info: wrap.clone(),
        entity_u_info: ukm.cloned(),
        supp_pub_info: OctetString::new(bits.to_be_bytes().to_vec()).map_err(encoding)?,
    };
    Ok(x963_kdf(
        kdf_hash(scheme)?,
        z,
        &info.to_der().map_err(encoding)?,
        kek_len,
    ))
}

/// A key agreement recipient for `recipient` delivering `cek`.
pub(super) fn seal<R: rand_core::CryptoRng>(
    recipient: &SubjectKey,
    ski: &[u8],
    cek: &[u8; CEK_LEN],
    rng: &mut R,
) -> Result<RecipientInfo, EnvelopeError> {
    let alg = ecdh_algorithm(recipient.key_type())?;
    let scalar_len = if recipient.key_type() == KeyType::P256 {
        32
    } else {
        48
    };
    // An ephemeral key from the caller's RNG; a draw outside [1, n-1] is
    // drawn again (probability below 2^-32).
    let mut ephemeral = None;
    for _ in 0..16 {
        let mut scalar = Zeroizing::new(vec![0u8; scalar_len]);
        rng.fill_bytes(&mut scalar);
        if let Ok(key) = agreement::PrivateKey::from_private_key(alg, &scalar) {
            ephemeral = Some(key);
            break;
        }
    }
    let ephemeral = ephemeral.ok_or(EnvelopeError::Crypto {
        what: "ephemeral ECDH key",
    })?;
    let ephemeral_public = ephemeral
        .compute_public_key()
        .map_err(|_| EnvelopeError::Crypto {
            what: "ephemeral ECDH key",
        })?;
    let wrap = AlgorithmIdentifierOwned {
        oid: AES256_WRAP,
        parameters: None,
    };
    let peer = agreement::UnparsedPublicKey::new(alg, recipient.raw());
    let kek = agreement::agree(
        &ephemeral,
        peer,
        EnvelopeError::InvalidKey {
            reason: "recipient EC point",
        },
        |z| kek(STD_DH_SHA256_KDF, &wrap, None, z),
    )?;
    let mut wrapped = [0u8; CEK_LEN + 8];
    let wrapped = aes_kw::KwAes256::new_from_slice(&kek)
        .map_err(|_| EnvelopeError::Crypto { what: "key wrap" })?
        .wrap_key(cek, &mut wrapped)
        .map_err(|_| EnvelopeError::Crypto { what: "key wrap" })?
        .to_vec();
    Ok(RecipientInfo::Kari(KeyAgreeRecipientInfo {
        version: CmsVersion::V3,
        originator: OriginatorIdentifierOrKey::OriginatorKey(OriginatorPublicKey {
            algorithm: AlgorithmIdentifierOwned {
                oid: oid::EC_PUBLIC_KEY,
                parameters: None,
            },
            public_key: BitString::from_bytes(ephemeral_public.as_ref()).map_err(encoding)?,
        }),
        ukm: None,
        key_enc_alg: AlgorithmIdentifierOwned {
            oid: STD_DH_SHA256_KDF,
            parameters: Some(Any::encode_from(&wrap).map_err(encoding)?),
        },
        recipient_enc_keys: vec![RecipientEncryptedKey {
            rid: KeyAgreeRecipientIdentifier::RKeyId(RecipientKeyIdentifier {
                subject_key_identifier: SubjectKeyIdentifier(
                    OctetString::new(ski.to_vec()).map_err(encoding)?,
                ),
                date: None,
                other: None,
            }),
            enc_key: OctetString::new(wrapped).map_err(encoding)?,
        }],
    }))
}

/// The content-encryption key of a key agreement recipient, with `key`.
pub(super) fn open(
    kari: &KeyAgreeRecipientInfo,
    key: &PrivateKey,
) -> Result<Zeroizing<Vec<u8>>, EnvelopeError> {
    let alg = ecdh_algorithm(key.key_type())?;
    let scalar = key.scalar().ok_or(EnvelopeError::NotForThisKey)?;
    let OriginatorIdentifierOrKey::OriginatorKey(originator) = &kari.originator else {
        return Err(EnvelopeError::UnsupportedAlgorithm {
            oid: "originator certificate".into(),
            context: "key agreement originator (only ephemeral keys)",
        });
    };
    if originator.algorithm.oid != oid::EC_PUBLIC_KEY {
        return Err(EnvelopeError::UnsupportedAlgorithm {
            oid: originator.algorithm.oid.to_string(),
            context: "originator key",
        });
    }
    let point = originator
        .public_key
        .as_bytes()
        .ok_or(EnvelopeError::Malformed {
            what: "originator key",
        })?;
    let wrap: AlgorithmIdentifierOwned = kari
        .key_enc_alg
        .parameters
        .as_ref()
        .ok_or(EnvelopeError::Malformed {
            what: "key wrap algorithm",
        })?
        .decode_as()
        .map_err(|_| EnvelopeError::Malformed {
            what: "key wrap algorithm",
        })?;
    let private = agreement::PrivateKey::from_private_key(alg, scalar).map_err(|_| {
        EnvelopeError::InvalidKey {
            reason: "EC scalar",
        }
    })?;
    let kek = agreement::agree(
        &private,
        agreement::UnparsedPublicKey::new(alg, point),
        EnvelopeError::NotForThisKey,
        |z| kek(kari.key_enc_alg.oid, &wrap, kari.ukm.as_ref(), z),
    )?;
    for recipient in &kari.recipient_enc_keys {
        let wrapped = recipient.enc_key.as_bytes();
        let Some(len) = wrapped.len().checked_sub(8) else {
            continue;
        };
        let mut buf = Zeroizing::new(vec![0u8; len]);
        let unwrapped = match kek.len() {
            16 => aes_kw::KwAes128::new_from_slice(&kek)
                .ok()
                .and_then(|k| k.unwrap_key(wrapped, &mut buf).ok().map(|u| u.len())),
            24 => aes_kw::KwAes192::new_from_slice(&kek)
                .ok()
                .and_then(|k| k.unwrap_key(wrapped, &mut buf).ok().map(|u| u.len())),
            _ => aes_kw::KwAes256::new_from_slice(&kek)
                .ok()
                .and_then(|k| k.unwrap_key(wrapped, &mut buf).ok().map(|u| u.len())),
        };
        if let Some(n) = unwrapped {
            buf.truncate(n);
            return Ok(buf);
        }
    }
    Err(EnvelopeError::NotForThisKey)
}
