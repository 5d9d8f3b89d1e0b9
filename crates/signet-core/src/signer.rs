//! The `Signer` trait: what the CA needs of a key, whichever place holds it.
//!
//! A key in a PKCS#11 token (`signet-token`), an SM2 key unwrapped from the
//! token into zeroizing memory, or a software key in tests all look the same
//! to the issuance path.

use std::fmt;

use p256::elliptic_curve::Generate as _;
use spki::{EncodePublicKey, SubjectPublicKeyInfoOwned};

use crate::algorithm::{KeyType, SM2_DEFAULT_DISTID, SignatureAlgorithm};

/// Why a signature could not be made. Never carries key material or PINs.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum SignError {
    /// The key could not be reached (token absent, session lost, key missing).
    #[error("signing key unavailable: {reason}")]
    Unavailable {
        /// What went wrong, without secrets.
        reason: String,
    },
    /// The token or library refused the operation.
    #[error("signing failed: {reason}")]
    Failed {
        /// What went wrong, without secrets.
        reason: String,
    },
}

/// A private key that signs certificates, CRLs and OCSP responses.
///
/// `sign` is blocking (a token call); async callers run it on a blocking
/// thread.
pub trait Signer: Send + Sync + fmt::Debug {
    /// The algorithm this key signs with; it names the `signatureAlgorithm`
    /// of everything signed.
    fn algorithm(&self) -> SignatureAlgorithm;

    /// The key's public half.
    fn public_key(&self) -> &SubjectPublicKeyInfoOwned;

    /// Signs `message` (the DER of a TBS structure) and returns the value
    /// that goes into the signature BIT STRING: a DER `ECDSA-Sig-Value` for
    /// ECDSA and SM2 (RFC 5480 §2.2 / GM/T 0009), the raw octets for RSA.
    fn sign(&self, message: &[u8]) -> Result<Vec<u8>, SignError>;
}

impl<S: Signer + ?Sized> Signer for std::sync::Arc<S> {
    fn algorithm(&self) -> SignatureAlgorithm {
        (**self).algorithm()
    }
    fn public_key(&self) -> &SubjectPublicKeyInfoOwned {
        (**self).public_key()
    }
    fn sign(&self, message: &[u8]) -> Result<Vec<u8>, SignError> {
        (**self).sign(message)
    }
}

/// A private key held in this process's memory.
///
/// Used for SM2 keys (no token implements SM2 here: see docs/sm2-keys.md),
/// for short-lived keys in tests, and in benchmarks as the comparison run.
/// The secret scalars zeroize on drop.
pub struct SoftwareSigner {
    key: SoftwareKey,
    spki: SubjectPublicKeyInfoOwned,
}

enum SoftwareKey {
    P256(p256::ecdsa::SigningKey),
    P384(p384::ecdsa::SigningKey),
    Sm2(sm2::dsa::SigningKey),
}

impl fmt::Debug for SoftwareSigner {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SoftwareSigner")
            .field("key_type", &self.key_type())
            .finish_non_exhaustive()
    }
}

/// A software key could not be made or loaded.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum SoftwareKeyError {
    /// Only EC and SM2 keys are held in software.
    #[error("key type {0} is not available as a software key")]
    UnsupportedKeyType(KeyType),
    /// The secret bytes were not a valid scalar for the curve.
    #[error("invalid private key")]
    InvalidKey,
}

impl SoftwareSigner {
    /// Generates a new key of `key_type` from `rng`.
    pub fn generate<R: rand_core::CryptoRng + ?Sized>(
        key_type: KeyType,
        rng: &mut R,
    ) -> Result<Self, SoftwareKeyError> {
        let key = match key_type {
            KeyType::P256 => SoftwareKey::P256(p256::ecdsa::SigningKey::generate_from_rng(rng)),
            KeyType::P384 => SoftwareKey::P384(p384::ecdsa::SigningKey::generate_from_rng(rng)),
            KeyType::Sm2 => {
                let scalar = sm2::NonZeroScalar::generate_from_rng(rng);
                SoftwareKey::Sm2(
                    sm2::dsa::SigningKey::from_nonzero_scalar(SM2_DEFAULT_DISTID, scalar)
                        .map_err(|_| SoftwareKeyError::InvalidKey)?,
                )
            }
            other => return Err(SoftwareKeyError::UnsupportedKeyType(other)),
        };
        Self::from_key(key)
    }

    /// Loads a key from its big-endian secret scalar.
    pub fn from_scalar_bytes(key_type: KeyType, bytes: &[u8]) -> Result<Self, SoftwareKeyError> {
        let key = match key_type {
            KeyType::P256 => SoftwareKey::P256(
                p256::ecdsa::SigningKey::from_slice(bytes)
                    .map_err(|_| SoftwareKeyError::InvalidKey)?,
            ),
            KeyType::P384 => SoftwareKey::P384(
                p384::ecdsa::SigningKey::from_slice(bytes)
                    .map_err(|_| SoftwareKeyError::InvalidKey)?,
            ),
            KeyType::Sm2 => SoftwareKey::Sm2(
                sm2::dsa::SigningKey::from_slice(SM2_DEFAULT_DISTID, bytes)
                    .map_err(|_| SoftwareKeyError::InvalidKey)?,
            ),
            other => return Err(SoftwareKeyError::UnsupportedKeyType(other)),
        };
        Self::from_key(key)
    }

    fn from_key(key: SoftwareKey) -> Result<Self, SoftwareKeyError> {
        let der = match &key {
            SoftwareKey::P256(k) => k.verifying_key().to_public_key_der(),
            SoftwareKey::P384(k) => k.verifying_key().to_public_key_der(),
            SoftwareKey::Sm2(k) => k.verifying_key().to_public_key_der(),
        }
        .map_err(|_| SoftwareKeyError::InvalidKey)?;
        let spki = der
            .decode_msg::<SubjectPublicKeyInfoOwned>()
            .map_err(|_| SoftwareKeyError::InvalidKey)?;
        Ok(SoftwareSigner { key, spki })
    }

    /// The key's type.
    pub fn key_type(&self) -> KeyType {
        match self.key {
            SoftwareKey::P256(_) => KeyType::P256,
            SoftwareKey::P384(_) => KeyType::P384,
            SoftwareKey::Sm2(_) => KeyType::Sm2,
        }
    }

    /// The big-endian secret scalar, in zeroizing memory. Only for wrapping
    /// the key under a token key (SM2) or handing a test key to OpenSSL.
    pub fn secret_scalar(&self) -> zeroize::Zeroizing<Vec<u8>> {
        zeroize::Zeroizing::new(match &self.key {
            SoftwareKey::P256(k) => k.to_bytes().to_vec(),
            SoftwareKey::P384(k) => k.to_bytes().to_vec(),
            SoftwareKey::Sm2(k) => k.to_bytes().to_vec(),
        })
    }
}

impl Signer for SoftwareSigner {
    fn algorithm(&self) -> SignatureAlgorithm {
        self.key_type().signature_algorithm()
    }

    fn public_key(&self) -> &SubjectPublicKeyInfoOwned {
        &self.spki
    }

    fn sign(&self, message: &[u8]) -> Result<Vec<u8>, SignError> {
        use signature::Signer as _;
        let failed = |_| SignError::Failed {
            reason: "software signature failed".into(),
        };
        match &self.key {
            SoftwareKey::P256(k) => {
                let sig: p256::ecdsa::Signature = k.try_sign(message).map_err(failed)?;
                Ok(sig.to_der().as_bytes().to_vec())
            }
            SoftwareKey::P384(k) => {
                let sig: p384::ecdsa::Signature = k.try_sign(message).map_err(failed)?;
                Ok(sig.to_der().as_bytes().to_vec())
            }
            // The SM2 signature goes into certificates DER-encoded: a raw
            // r||s is rejected by OpenSSL ("invalid encoding").
            SoftwareKey::Sm2(k) => {
                let sig: sm2::dsa::Signature = k.try_sign(message).map_err(failed)?;
                Ok(sig.to_der().as_bytes().to_vec())
            }
        }
    }
}
