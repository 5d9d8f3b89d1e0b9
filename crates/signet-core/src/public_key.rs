//! Subject public keys: which key types Signet accepts, and signature
//! verification with them.
//!
//! ECDSA and RSA verification run in aws-lc-rs (fast, constant-time
//! reviewed); SM2 in the `sm2` crate, since no other library here has it.

use aws_lc_rs::signature::{self as lc, VerificationAlgorithm};
use der::{Decode, Encode};
use sha1::Digest as _;
use spki::{SubjectPublicKeyInfoOwned, SubjectPublicKeyInfoRef};

use crate::algorithm::{HashAlgorithm, KeyType, SM2_DEFAULT_DISTID, SignatureAlgorithm, oid};

/// Why a public key is not accepted.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum KeyError {
    /// The key's algorithm is neither EC nor RSA.
    #[error("unsupported public key algorithm {oid}")]
    UnsupportedAlgorithm {
        /// The key algorithm OID.
        oid: const_oid::ObjectIdentifier,
    },
    /// An EC key on a curve other than P-256, P-384 or SM2.
    #[error("unsupported elliptic curve {curve}")]
    UnsupportedCurve {
        /// The curve OID, or "missing".
        curve: String,
    },
    /// The EC point is not on the curve or badly encoded.
    #[error("invalid elliptic-curve public key")]
    InvalidPoint,
    /// An RSA key shorter than 2048 bits.
    #[error("RSA key of {bits} bits is too weak (at least 2048 bits)")]
    RsaTooSmall {
        /// The modulus size.
        bits: usize,
    },
    /// An RSA key of a size other than 2048, 3072 or 4096 bits.
    #[error("RSA key of {bits} bits is not supported (2048, 3072 or 4096 bits)")]
    RsaUnsupportedSize {
        /// The modulus size.
        bits: usize,
    },
    /// An RSA public exponent other than 65537.
    #[error("RSA public exponent must be 65537")]
    RsaExponent,
    /// The key does not parse.
    #[error("malformed public key")]
    Malformed,
}

/// A signature does not verify.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum SignatureError {
    /// The algorithm cannot be used with this key (e.g. ECDSA with an RSA key).
    #[error("signature algorithm {algorithm} does not fit a {key_type} key")]
    AlgorithmMismatch {
        /// The signature algorithm.
        algorithm: SignatureAlgorithm,
        /// The key's type.
        key_type: KeyType,
    },
    /// The signature is wrong.
    #[error("signature does not verify")]
    Invalid,
}

/// A subscriber's or issuer's public key, checked against Signet's key rules.
#[derive(Clone, Debug)]
pub struct SubjectKey {
    key_type: KeyType,
    spki: SubjectPublicKeyInfoOwned,
    /// The key parsed for aws-lc with the last algorithm used: an issuer
    /// key verifies every certificate it signs with the same algorithm.
    parsed: std::sync::OnceLock<(SignatureAlgorithm, lc::ParsedPublicKey)>,
}

/// `RSAPublicKey ::= SEQUENCE { modulus INTEGER, publicExponent INTEGER }` (RFC 8017 A.1.1).
#[derive(der::Sequence)]
struct RsaPublicKey<'a> {
    modulus: der::asn1::UintRef<'a>,
    public_exponent: der::asn1::UintRef<'a>,
}

impl SubjectKey {
    /// Checks a `SubjectPublicKeyInfo`: EC keys on P-256, P-384 or SM2 with
    /// a valid point; RSA keys of 2048, 3072 or 4096 bits with e = 65537.
    pub fn from_spki(spki: SubjectPublicKeyInfoRef<'_>) -> Result<Self, KeyError> {
        let key_bytes = spki
            .subject_public_key
            .as_bytes()
            .ok_or(KeyError::Malformed)?;
        let key_type = match spki.algorithm.oid {
            oid::EC_PUBLIC_KEY => {
                let curve = spki
                    .algorithm
                    .parameters
                    .and_then(|p| p.decode_as::<const_oid::ObjectIdentifier>().ok())
                    .ok_or_else(|| KeyError::UnsupportedCurve {
                        curve: "missing".into(),
                    })?;
                match curve {
                    oid::SECP256R1 => KeyType::P256,
                    oid::SECP384R1 => KeyType::P384,
                    oid::SM2_CURVE => KeyType::Sm2,
                    other => {
                        return Err(KeyError::UnsupportedCurve {
                            curve: other.to_string(),
                        });
                    }
                }
            }
            oid::RSA_ENCRYPTION => {
                // RFC 3279 §2.3.1: the parameters MUST be NULL.
                if !spki.algorithm.parameters.is_some_and(|p| p.is_null()) {
                    return Err(KeyError::Malformed);
                }
                rsa_key_type(key_bytes)?
            }
            other => return Err(KeyError::UnsupportedAlgorithm { oid: other }),
        };
        let spki = spki
            .to_der()
            .and_then(|d| SubjectPublicKeyInfoOwned::from_der(&d));
        let key = SubjectKey {
            key_type,
            spki: spki.map_err(|_| KeyError::Malformed)?,
            parsed: std::sync::OnceLock::new(),
        };
        key.check_point()?;
        Ok(key)
    }

    /// Parses and checks DER `SubjectPublicKeyInfo`.
    pub fn from_spki_der(der: &[u8]) -> Result<Self, KeyError> {
        let spki = SubjectPublicKeyInfoRef::from_der(der).map_err(|_| KeyError::Malformed)?;
        Self::from_spki(spki)
    }

    /// The key's type.
    pub fn key_type(&self) -> KeyType {
        self.key_type
    }

    /// The key as `SubjectPublicKeyInfo`.
    pub fn spki(&self) -> &SubjectPublicKeyInfoOwned {
        &self.spki
    }

    /// The raw key: the contents of the `subjectPublicKey` BIT STRING.
    pub fn raw(&self) -> &[u8] {
        self.spki.subject_public_key.raw_bytes()
    }

    /// The key identifier of RFC 5280 §4.2.1.2 method (1): the SHA-1 of the
    /// `subjectPublicKey` BIT STRING's value. OCSP's `issuerKeyHash` (RFC
    /// 6960 §4.1.1) uses the same bytes.
    pub fn key_identifier(&self) -> [u8; 20] {
        sha1::Sha1::digest(self.raw()).into()
    }

    /// Parses the key for `algorithm` now, so that this key and its clones
    /// verify without parsing it again (an issuer key checks every
    /// signature its CA makes).
    pub fn prepare_verifier(&self, algorithm: SignatureAlgorithm) {
        if let Some(lc_alg) = aws_lc_algorithm(self.key_type, algorithm)
            && let Ok(key) = lc::ParsedPublicKey::new(lc_alg, self.raw())
        {
            let _ = self.parsed.set((algorithm, key));
        }
    }

    /// Verifies `signature` over `message` with `algorithm`.
    pub fn verify(
        &self,
        algorithm: SignatureAlgorithm,
        message: &[u8],
        signature: &[u8],
    ) -> Result<(), SignatureError> {
        if !algorithm.fits_key(self.key_type) {
            return Err(SignatureError::AlgorithmMismatch {
                algorithm,
                key_type: self.key_type,
            });
        }
        if self.key_type == KeyType::Sm2 {
            return verify_sm2(self.raw(), message, signature);
        }
        let Some(lc_alg) = aws_lc_algorithm(self.key_type, algorithm) else {
            return Err(SignatureError::AlgorithmMismatch {
                algorithm,
                key_type: self.key_type,
            });
        };
        if let Some((alg, key)) = self.parsed.get()
            && *alg == algorithm
        {
            return key
                .verify_sig(message, signature)
                .map_err(|_| SignatureError::Invalid);
        }
        let key =
            lc::ParsedPublicKey::new(lc_alg, self.raw()).map_err(|_| SignatureError::Invalid)?;
        let result = key
            .verify_sig(message, signature)
            .map_err(|_| SignatureError::Invalid);
        let _ = self.parsed.set((algorithm, key));
        result
    }
}

/// The aws-lc verification algorithm for a key type and signature algorithm.
fn aws_lc_algorithm(
    key_type: KeyType,
    algorithm: SignatureAlgorithm,
) -> Option<&'static dyn VerificationAlgorithm> {
    Some(match (key_type, algorithm) {
        (KeyType::P256, SignatureAlgorithm::EcdsaSha256) => &lc::ECDSA_P256_SHA256_ASN1,
        (KeyType::P256, SignatureAlgorithm::EcdsaSha384) => &lc::ECDSA_P256_SHA384_ASN1,
        (KeyType::P256, SignatureAlgorithm::EcdsaSha512) => &lc::ECDSA_P256_SHA512_ASN1,
        (KeyType::P384, SignatureAlgorithm::EcdsaSha256) => &lc::ECDSA_P384_SHA256_ASN1,
        (KeyType::P384, SignatureAlgorithm::EcdsaSha384) => &lc::ECDSA_P384_SHA384_ASN1,
        (KeyType::P384, SignatureAlgorithm::EcdsaSha512) => &lc::ECDSA_P384_SHA512_ASN1,
        (k, alg) if k.rsa_bits().is_some() => match alg {
            SignatureAlgorithm::RsaPkcs1Sha256 => &lc::RSA_PKCS1_2048_8192_SHA256,
            SignatureAlgorithm::RsaPkcs1Sha384 => &lc::RSA_PKCS1_2048_8192_SHA384,
            SignatureAlgorithm::RsaPkcs1Sha512 => &lc::RSA_PKCS1_2048_8192_SHA512,
            SignatureAlgorithm::RsaPss(HashAlgorithm::Sha256) => &lc::RSA_PSS_2048_8192_SHA256,
            SignatureAlgorithm::RsaPss(HashAlgorithm::Sha384) => &lc::RSA_PSS_2048_8192_SHA384,
            SignatureAlgorithm::RsaPss(HashAlgorithm::Sha512) => &lc::RSA_PSS_2048_8192_SHA512,
            _ => return None,
        },
        _ => return None,
    })
}

impl SubjectKey {
    /// An EC point must lie on its curve (SEC 1 §3.2.2). ECDSA keys are
    /// parsed by aws-lc, which checks the point, and the parse is kept for
    /// verifying with the curve's usual hash (the CSR's own signature,
    /// nearly always); SM2 points are checked by the `sm2` crate.
    fn check_point(&self) -> Result<(), KeyError> {
        let usual = match self.key_type {
            KeyType::P256 => SignatureAlgorithm::EcdsaSha256,
            KeyType::P384 => SignatureAlgorithm::EcdsaSha384,
            KeyType::Sm2 => {
                return sm2::PublicKey::from_sec1_bytes(self.raw())
                    .map(|_| ())
                    .map_err(|_| KeyError::InvalidPoint);
            }
            _ => return Ok(()),
        };
        let lc_alg = aws_lc_algorithm(self.key_type, usual).ok_or(KeyError::InvalidPoint)?;
        let parsed =
            lc::ParsedPublicKey::new(lc_alg, self.raw()).map_err(|_| KeyError::InvalidPoint)?;
        let _ = self.parsed.set((usual, parsed));
        Ok(())
    }
}

fn rsa_key_type(key_bytes: &[u8]) -> Result<KeyType, KeyError> {
    let key = RsaPublicKey::from_der(key_bytes).map_err(|_| KeyError::Malformed)?;
    if key.public_exponent.as_bytes() != [0x01, 0x00, 0x01] {
        return Err(KeyError::RsaExponent);
    }
    let modulus = key.modulus.as_bytes();
    let bits = match modulus.first() {
        Some(&top) => modulus
            .len()
            .saturating_mul(8)
            .saturating_sub(top.leading_zeros() as usize),
        None => 0,
    };
    match bits {
        2048 => Ok(KeyType::Rsa2048),
        3072 => Ok(KeyType::Rsa3072),
        4096 => Ok(KeyType::Rsa4096),
        b if b < 2048 => Err(KeyError::RsaTooSmall { bits: b }),
        b => Err(KeyError::RsaUnsupportedSize { bits: b }),
    }
}

fn verify_sm2(point: &[u8], message: &[u8], signature: &[u8]) -> Result<(), SignatureError> {
    use signature::Verifier as _;
    let key = sm2::dsa::VerifyingKey::from_sec1_bytes(SM2_DEFAULT_DISTID, point)
        .map_err(|_| SignatureError::Invalid)?;
    let sig = sm2::dsa::Signature::from_der(signature).map_err(|_| SignatureError::Invalid)?;
    key.verify(message, &sig)
        .map_err(|_| SignatureError::Invalid)
}

#[cfg(test)]
mod tests;
