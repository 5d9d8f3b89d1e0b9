//! Key types and signature algorithms Signet knows, with their object
//! identifiers and `AlgorithmIdentifier` encodings.
//!
//! RFC 5758 §3.2: ECDSA signature AlgorithmIdentifiers carry no parameters.
//! RFC 4055 §5 / RFC 8017: sha*WithRSAEncryption carries NULL parameters.
//! GM/T 0006 / RFC 8998: SM2-with-SM3 is 1.2.156.10197.1.501, no parameters.

use std::fmt;
use std::str::FromStr;

use const_oid::ObjectIdentifier;
use der::asn1::{AnyRef, Null};
use spki::AlgorithmIdentifierOwned;

/// Object identifiers used across Signet.
pub mod oid {
    use const_oid::ObjectIdentifier;

    /// `id-ecPublicKey` (RFC 5480 §2.1.1).
    pub const EC_PUBLIC_KEY: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.10045.2.1");
    /// `secp256r1` / prime256v1 (RFC 5480 §2.1.1.1).
    pub const SECP256R1: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.10045.3.1.7");
    /// `secp384r1` (RFC 5480 §2.1.1.1).
    pub const SECP384R1: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.3.132.0.34");
    /// The SM2 curve (GM/T 0006, `sm2p256v1`).
    pub const SM2_CURVE: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.156.10197.1.301");
    /// `rsaEncryption` (RFC 8017 Appendix C).
    pub const RSA_ENCRYPTION: ObjectIdentifier =
        ObjectIdentifier::new_unwrap("1.2.840.113549.1.1.1");

    /// `ecdsa-with-SHA1` (refused: SHA-1 is broken for signatures).
    pub const ECDSA_WITH_SHA1: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.10045.4.1");
    /// `ecdsa-with-SHA256` (RFC 5758 §3.2).
    pub const ECDSA_WITH_SHA256: ObjectIdentifier =
        ObjectIdentifier::new_unwrap("1.2.840.10045.4.3.2");
    /// `ecdsa-with-SHA384` (RFC 5758 §3.2).
    pub const ECDSA_WITH_SHA384: ObjectIdentifier =
        ObjectIdentifier::new_unwrap("1.2.840.10045.4.3.3");
    /// `ecdsa-with-SHA512` (RFC 5758 §3.2).
    pub const ECDSA_WITH_SHA512: ObjectIdentifier =
        ObjectIdentifier::new_unwrap("1.2.840.10045.4.3.4");
    /// `md5WithRSAEncryption` (refused).
    pub const MD5_WITH_RSA: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.113549.1.1.4");
    /// `sha1WithRSAEncryption` (refused).
    pub const SHA1_WITH_RSA: ObjectIdentifier =
        ObjectIdentifier::new_unwrap("1.2.840.113549.1.1.5");
    /// `sha256WithRSAEncryption` (RFC 4055 §5).
    pub const SHA256_WITH_RSA: ObjectIdentifier =
        ObjectIdentifier::new_unwrap("1.2.840.113549.1.1.11");
    /// `sha384WithRSAEncryption` (RFC 4055 §5).
    pub const SHA384_WITH_RSA: ObjectIdentifier =
        ObjectIdentifier::new_unwrap("1.2.840.113549.1.1.12");
    /// `sha512WithRSAEncryption` (RFC 4055 §5).
    pub const SHA512_WITH_RSA: ObjectIdentifier =
        ObjectIdentifier::new_unwrap("1.2.840.113549.1.1.13");
    /// `id-RSASSA-PSS` (RFC 4055 §3.1).
    pub const RSASSA_PSS: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.113549.1.1.10");
    /// `id-mgf1` (RFC 4055 §2.2).
    pub const MGF1: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.113549.1.1.8");
    /// `SM2-with-SM3` (GM/T 0006).
    pub const SM2_WITH_SM3: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.156.10197.1.501");

    /// `id-sha1` (RFC 3279 §2.2.1), used only for OCSP CertID hashes and key identifiers.
    pub const SHA1: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.3.14.3.2.26");
    /// `id-sha256` (RFC 4055 §2.1).
    pub const SHA256: ObjectIdentifier = ObjectIdentifier::new_unwrap("2.16.840.1.101.3.4.2.1");
    /// `id-sha384` (RFC 4055 §2.1).
    pub const SHA384: ObjectIdentifier = ObjectIdentifier::new_unwrap("2.16.840.1.101.3.4.2.2");
    /// `id-sha512` (RFC 4055 §2.1).
    pub const SHA512: ObjectIdentifier = ObjectIdentifier::new_unwrap("2.16.840.1.101.3.4.2.3");
    /// `id-sm3` (GM/T 0004).
    pub const SM3: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.156.10197.1.401");
}

/// The SM2 distinguishing identifier used when none is agreed otherwise
/// (GM/T 0009 §10, "1234567812345678").
pub const SM2_DEFAULT_DISTID: &str = "1234567812345678";

/// A key type a CA key or a subscriber key may have.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[non_exhaustive]
pub enum KeyType {
    /// ECDSA on NIST P-256.
    P256,
    /// ECDSA on NIST P-384.
    P384,
    /// RSA with a 2048-bit modulus.
    Rsa2048,
    /// RSA with a 3072-bit modulus.
    Rsa3072,
    /// RSA with a 4096-bit modulus.
    Rsa4096,
    /// SM2 (GM/T 0003) on the SM2 curve.
    Sm2,
}

impl KeyType {
    /// Every key type, in the order they are usually offered.
    pub const ALL: [KeyType; 6] = [
        KeyType::P256,
        KeyType::P384,
        KeyType::Rsa2048,
        KeyType::Rsa3072,
        KeyType::Rsa4096,
        KeyType::Sm2,
    ];

    /// The name used in configuration and on the command line.
    pub fn as_str(self) -> &'static str {
        match self {
            KeyType::P256 => "p256",
            KeyType::P384 => "p384",
            KeyType::Rsa2048 => "rsa2048",
            KeyType::Rsa3072 => "rsa3072",
            KeyType::Rsa4096 => "rsa4096",
            KeyType::Sm2 => "sm2",
        }
    }

    /// The signature algorithm a CA key of this type signs certificates with.
    pub fn signature_algorithm(self) -> SignatureAlgorithm {
        match self {
            KeyType::P256 => SignatureAlgorithm::EcdsaSha256,
            KeyType::P384 => SignatureAlgorithm::EcdsaSha384,
            KeyType::Rsa2048 | KeyType::Rsa3072 | KeyType::Rsa4096 => {
                SignatureAlgorithm::RsaPkcs1Sha256
            }
            KeyType::Sm2 => SignatureAlgorithm::Sm2Sm3,
        }
    }

    /// The RSA modulus size in bits, for RSA key types.
    pub fn rsa_bits(self) -> Option<usize> {
        match self {
            KeyType::Rsa2048 => Some(2048),
            KeyType::Rsa3072 => Some(3072),
            KeyType::Rsa4096 => Some(4096),
            _ => None,
        }
    }

    /// The named curve of an elliptic-curve key type.
    pub fn curve(self) -> Option<ObjectIdentifier> {
        match self {
            KeyType::P256 => Some(oid::SECP256R1),
            KeyType::P384 => Some(oid::SECP384R1),
            KeyType::Sm2 => Some(oid::SM2_CURVE),
            _ => None,
        }
    }

    /// Whether this is an elliptic-curve key type (ECDSA or SM2).
    pub fn is_ec(self) -> bool {
        self.curve().is_some()
    }
}

impl fmt::Display for KeyType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A key type name that Signet does not know.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("unknown key type `{0}` (expected one of p256, p384, rsa2048, rsa3072, rsa4096, sm2)")]
pub struct UnknownKeyType(pub String);

impl FromStr for KeyType {
    type Err = UnknownKeyType;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        KeyType::ALL
            .into_iter()
            .find(|k| k.as_str().eq_ignore_ascii_case(s))
            .ok_or_else(|| UnknownKeyType(s.to_owned()))
    }
}

impl serde::Serialize for KeyType {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.as_str())
    }
}

impl<'de> serde::Deserialize<'de> for KeyType {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        s.parse().map_err(serde::de::Error::custom)
    }
}

/// A hash function used inside a signature algorithm.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum HashAlgorithm {
    /// SHA-256.
    Sha256,
    /// SHA-384.
    Sha384,
    /// SHA-512.
    Sha512,
    /// SM3 (GM/T 0004).
    Sm3,
}

impl HashAlgorithm {
    /// The `AlgorithmIdentifier` OID of the hash.
    pub fn oid(self) -> ObjectIdentifier {
        match self {
            HashAlgorithm::Sha256 => oid::SHA256,
            HashAlgorithm::Sha384 => oid::SHA384,
            HashAlgorithm::Sha512 => oid::SHA512,
            HashAlgorithm::Sm3 => oid::SM3,
        }
    }

    /// Hashes `data`.
    pub fn digest(self, data: &[u8]) -> Vec<u8> {
        use sha2::Digest as _;
        match self {
            HashAlgorithm::Sha256 => sha2::Sha256::digest(data).to_vec(),
            HashAlgorithm::Sha384 => sha2::Sha384::digest(data).to_vec(),
            HashAlgorithm::Sha512 => sha2::Sha512::digest(data).to_vec(),
            HashAlgorithm::Sm3 => sm3::Sm3::digest(data).to_vec(),
        }
    }
}

/// A signature algorithm, as named by an `AlgorithmIdentifier`.
///
/// Signet signs with the first four; it also verifies the others in CSRs
/// (other hashes with ECDSA/RSA, and RSASSA-PSS).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum SignatureAlgorithm {
    /// `ecdsa-with-SHA256`.
    EcdsaSha256,
    /// `ecdsa-with-SHA384`.
    EcdsaSha384,
    /// `ecdsa-with-SHA512` (verified in CSRs only).
    EcdsaSha512,
    /// `sha256WithRSAEncryption` (RSASSA-PKCS1-v1_5).
    RsaPkcs1Sha256,
    /// `sha384WithRSAEncryption` (verified in CSRs only).
    RsaPkcs1Sha384,
    /// `sha512WithRSAEncryption` (verified in CSRs only).
    RsaPkcs1Sha512,
    /// RSASSA-PSS with the given hash, MGF1 with the same hash and a salt as
    /// long as the hash (RFC 4055 §3.1).
    RsaPss(HashAlgorithm),
    /// `SM2-with-SM3` with the default distinguishing ID.
    Sm2Sm3,
}

/// Why an `AlgorithmIdentifier` was not accepted.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum AlgorithmError {
    /// A known algorithm that is too weak to accept (SHA-1, MD5).
    #[error("signature algorithm {oid} is too weak (SHA-1 and MD5 are refused)")]
    Weak {
        /// The refused algorithm.
        oid: ObjectIdentifier,
    },
    /// An algorithm Signet does not implement.
    #[error("unsupported signature algorithm {oid}")]
    Unsupported {
        /// The unknown algorithm.
        oid: ObjectIdentifier,
    },
    /// Parameters that do not match the algorithm.
    #[error("invalid parameters for signature algorithm {oid}")]
    BadParameters {
        /// The algorithm whose parameters were wrong.
        oid: ObjectIdentifier,
    },
}

impl SignatureAlgorithm {
    /// The algorithm's OID.
    pub fn oid(self) -> ObjectIdentifier {
        match self {
            SignatureAlgorithm::EcdsaSha256 => oid::ECDSA_WITH_SHA256,
            SignatureAlgorithm::EcdsaSha384 => oid::ECDSA_WITH_SHA384,
            SignatureAlgorithm::EcdsaSha512 => oid::ECDSA_WITH_SHA512,
            SignatureAlgorithm::RsaPkcs1Sha256 => oid::SHA256_WITH_RSA,
            SignatureAlgorithm::RsaPkcs1Sha384 => oid::SHA384_WITH_RSA,
            SignatureAlgorithm::RsaPkcs1Sha512 => oid::SHA512_WITH_RSA,
            SignatureAlgorithm::RsaPss(_) => oid::RSASSA_PSS,
            SignatureAlgorithm::Sm2Sm3 => oid::SM2_WITH_SM3,
        }
    }

    /// The hash the algorithm applies to the message.
    pub fn hash(self) -> HashAlgorithm {
        match self {
            SignatureAlgorithm::EcdsaSha256 | SignatureAlgorithm::RsaPkcs1Sha256 => {
                HashAlgorithm::Sha256
            }
            SignatureAlgorithm::EcdsaSha384 | SignatureAlgorithm::RsaPkcs1Sha384 => {
                HashAlgorithm::Sha384
            }
            SignatureAlgorithm::EcdsaSha512 | SignatureAlgorithm::RsaPkcs1Sha512 => {
                HashAlgorithm::Sha512
            }
            SignatureAlgorithm::RsaPss(h) => h,
            SignatureAlgorithm::Sm2Sm3 => HashAlgorithm::Sm3,
        }
    }

    /// The `AlgorithmIdentifier` as it is written in certificates and CRLs.
    pub fn identifier(self) -> AlgorithmIdentifierOwned {
        let parameters = match self {
            // RFC 4055 §5: the parameters MUST be NULL for PKCS#1 v1.5.
            SignatureAlgorithm::RsaPkcs1Sha256
            | SignatureAlgorithm::RsaPkcs1Sha384
            | SignatureAlgorithm::RsaPkcs1Sha512 => Some(der::Any::from(Null)),
            SignatureAlgorithm::RsaPss(hash) => Some(pss_parameters(hash)),
            // RFC 5758 §3.2: ECDSA parameters MUST be absent.
            _ => None,
        };
        AlgorithmIdentifierOwned {
            oid: self.oid(),
            parameters,
        }
    }

    /// Recognises an `AlgorithmIdentifier` read from a CSR, certificate or
    /// OCSP request.
    pub fn from_identifier(
        oid: ObjectIdentifier,
        parameters: Option<AnyRef<'_>>,
    ) -> Result<Self, AlgorithmError> {
        let no_params = |alg: SignatureAlgorithm| -> Result<Self, AlgorithmError> {
            match parameters {
                None => Ok(alg),
                Some(_) => Err(AlgorithmError::BadParameters { oid }),
            }
        };
        // Some encoders omit the NULL for RSA; RFC 4055 says it MUST be
        // present but accepting its absence on input is harmless.
        let null_params = |alg: SignatureAlgorithm| -> Result<Self, AlgorithmError> {
            match parameters {
                None => Ok(alg),
                Some(any) if any.is_null() => Ok(alg),
                Some(_) => Err(AlgorithmError::BadParameters { oid }),
            }
        };
        match oid {
            oid::ECDSA_WITH_SHA256 => no_params(SignatureAlgorithm::EcdsaSha256),
            oid::ECDSA_WITH_SHA384 => no_params(SignatureAlgorithm::EcdsaSha384),
            oid::ECDSA_WITH_SHA512 => no_params(SignatureAlgorithm::EcdsaSha512),
            oid::SM2_WITH_SM3 => null_params(SignatureAlgorithm::Sm2Sm3),
            oid::SHA256_WITH_RSA => null_params(SignatureAlgorithm::RsaPkcs1Sha256),
            oid::SHA384_WITH_RSA => null_params(SignatureAlgorithm::RsaPkcs1Sha384),
            oid::SHA512_WITH_RSA => null_params(SignatureAlgorithm::RsaPkcs1Sha512),
            oid::RSASSA_PSS => {
                let params = parameters.ok_or(AlgorithmError::BadParameters { oid })?;
                let hash =
                    parse_pss_parameters(params).ok_or(AlgorithmError::BadParameters { oid })?;
                Ok(SignatureAlgorithm::RsaPss(hash))
            }
            oid::ECDSA_WITH_SHA1 | oid::SHA1_WITH_RSA | oid::MD5_WITH_RSA => {
                Err(AlgorithmError::Weak { oid })
            }
            _ => Err(AlgorithmError::Unsupported { oid }),
        }
    }

    /// Whether signatures of this algorithm can come from a key of `key`'s type.
    pub fn fits_key(self, key: KeyType) -> bool {
        match self {
            SignatureAlgorithm::EcdsaSha256
            | SignatureAlgorithm::EcdsaSha384
            | SignatureAlgorithm::EcdsaSha512 => matches!(key, KeyType::P256 | KeyType::P384),
            SignatureAlgorithm::RsaPkcs1Sha256
            | SignatureAlgorithm::RsaPkcs1Sha384
            | SignatureAlgorithm::RsaPkcs1Sha512
            | SignatureAlgorithm::RsaPss(_) => key.rsa_bits().is_some(),
            SignatureAlgorithm::Sm2Sm3 => key == KeyType::Sm2,
        }
    }
}

impl fmt::Display for SignatureAlgorithm {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let name = match self {
            SignatureAlgorithm::EcdsaSha256 => "ecdsa-with-SHA256",
            SignatureAlgorithm::EcdsaSha384 => "ecdsa-with-SHA384",
            SignatureAlgorithm::EcdsaSha512 => "ecdsa-with-SHA512",
            SignatureAlgorithm::RsaPkcs1Sha256 => "sha256WithRSAEncryption",
            SignatureAlgorithm::RsaPkcs1Sha384 => "sha384WithRSAEncryption",
            SignatureAlgorithm::RsaPkcs1Sha512 => "sha512WithRSAEncryption",
            SignatureAlgorithm::RsaPss(HashAlgorithm::Sha384) => "RSASSA-PSS-SHA384",
            SignatureAlgorithm::RsaPss(HashAlgorithm::Sha512) => "RSASSA-PSS-SHA512",
            SignatureAlgorithm::RsaPss(_) => "RSASSA-PSS-SHA256",
            SignatureAlgorithm::Sm2Sm3 => "SM2-with-SM3",
        };
        f.write_str(name)
    }
}

/// RFC 4055 §3.1 `RSASSA-PSS-params`:
///
/// ```text
/// RSASSA-PSS-params  ::=  SEQUENCE  {
///     hashAlgorithm      [0] HashAlgorithm DEFAULT sha1Identifier,
///     maskGenAlgorithm   [1] MaskGenAlgorithm DEFAULT mgf1SHA1Identifier,
///     saltLength         [2] INTEGER DEFAULT 20,
///     trailerField       [3] INTEGER DEFAULT 1  }
/// ```
#[derive(Clone, Debug, der::Sequence)]
struct PssParams {
    #[asn1(context_specific = "0", optional = "true")]
    hash: Option<AlgorithmIdentifierOwned>,
    #[asn1(context_specific = "1", optional = "true")]
    mask_gen: Option<AlgorithmIdentifierOwned>,
    #[asn1(context_specific = "2", optional = "true")]
    salt_length: Option<u32>,
    #[asn1(context_specific = "3", optional = "true")]
    trailer_field: Option<u32>,
}

fn pss_parameters(hash: HashAlgorithm) -> der::Any {
    let hash_id = AlgorithmIdentifierOwned {
        oid: hash.oid(),
        parameters: Some(der::Any::from(Null)),
    };
    let mgf_inner = der::Any::encode_from(&hash_id).unwrap_or_else(|_| der::Any::from(Null));
    let params = PssParams {
        hash: Some(hash_id.clone()),
        mask_gen: Some(AlgorithmIdentifierOwned {
            oid: oid::MGF1,
            parameters: Some(mgf_inner),
        }),
        salt_length: Some(hash_len(hash)),
        trailer_field: None,
    };
    der::Any::encode_from(&params).unwrap_or_else(|_| der::Any::from(Null))
}

fn hash_len(hash: HashAlgorithm) -> u32 {
    match hash {
        HashAlgorithm::Sha256 | HashAlgorithm::Sm3 => 32,
        HashAlgorithm::Sha384 => 48,
        HashAlgorithm::Sha512 => 64,
    }
}

/// Accepts PSS parameters only in the form every modern signer writes:
/// SHA-2 hash, MGF1 with the same hash, salt as long as the hash.
fn parse_pss_parameters(params: AnyRef<'_>) -> Option<HashAlgorithm> {
    let params: PssParams = params.decode_as().ok()?;
    let hash = match params.hash?.oid {
        oid::SHA256 => HashAlgorithm::Sha256,
        oid::SHA384 => HashAlgorithm::Sha384,
        oid::SHA512 => HashAlgorithm::Sha512,
        _ => return None,
    };
    let mgf = params.mask_gen?;
    if mgf.oid != oid::MGF1 {
        return None;
    }
    let mgf_hash: AlgorithmIdentifierOwned = mgf.parameters?.decode_as().ok()?;
    if mgf_hash.oid != hash.oid() {
        return None;
    }
    if params.salt_length? != hash_len(hash) {
        return None;
    }
    if params.trailer_field.is_some_and(|t| t != 1) {
        return None;
    }
    Some(hash)
}

#[cfg(test)]
mod tests;
