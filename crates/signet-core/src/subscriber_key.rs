//! Key pairs generated for a subscriber by the platform (server-side key
//! generation): the RA makes the key, proves possession of it with a
//! PKCS#10 request like any subscriber would ([`crate::csr::build_csr`]),
//! and hands it over later inside a password-protected PKCS#12
//! ([`crate::pkcs12`]).
//!
//! The secret lives in zeroizing memory ([`PrivateKey`]); `Debug` shows the
//! key type only.

use spki::SubjectPublicKeyInfoOwned;
use zeroize::Zeroizing;

use crate::algorithm::{KeyType, SignatureAlgorithm};
use crate::envelope::{EnvelopeError, PrivateKey};
use crate::signer::{SignError, Signer, SoftwareSigner};

/// The key types a subscriber key may be generated as: what browsers,
/// operating systems and OpenSSL all read from a PKCS#12 file.
pub const SUBSCRIBER_KEY_TYPES: [KeyType; 4] = [
    KeyType::P256,
    KeyType::P384,
    KeyType::Rsa2048,
    KeyType::Rsa3072,
];

/// A subscriber's key pair held in this process.
pub struct SubscriberKey {
    key: PrivateKey,
    spki: SubjectPublicKeyInfoOwned,
    signer: KeySigner,
}

enum KeySigner {
    Ec(Box<SoftwareSigner>),
    Rsa(aws_lc_rs::rsa::KeyPair),
}

impl std::fmt::Debug for SubscriberKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SubscriberKey")
            .field("key_type", &self.key.key_type())
            .finish_non_exhaustive()
    }
}

impl SubscriberKey {
    /// Generates a key of `key_type`, one of [`SUBSCRIBER_KEY_TYPES`]. EC
    /// scalars come from `rng`; RSA keys from aws-lc-rs's own CSPRNG.
    pub fn generate<R: rand_core::CryptoRng>(
        key_type: KeyType,
        rng: &mut R,
    ) -> Result<SubscriberKey, EnvelopeError> {
        if !SUBSCRIBER_KEY_TYPES.contains(&key_type) {
            return Err(EnvelopeError::UnsupportedKeyType {
                key_type: key_type.to_string(),
                reason: "not offered for server-side key generation",
            });
        }
        Self::from_private_key(PrivateKey::generate(key_type, rng)?)
    }

    /// A subscriber key from PKCS#8 `PrivateKeyInfo` DER (as stored).
    pub fn from_pkcs8_der(der: &[u8]) -> Result<SubscriberKey, EnvelopeError> {
        Self::from_private_key(PrivateKey::from_pkcs8_der(der)?)
    }

    fn from_private_key(key: PrivateKey) -> Result<SubscriberKey, EnvelopeError> {
        let invalid = |reason| EnvelopeError::InvalidKey { reason };
        let spki = der::Decode::from_der(key.public_key_der())
            .map_err(|_| invalid("public key cannot be read"))?;
        let signer = match (key.scalar(), key.rsa_pkcs8()) {
            (Some(scalar), _) => KeySigner::Ec(Box::new(
                SoftwareSigner::from_scalar_bytes(key.key_type(), scalar)
                    .map_err(|_| invalid("not a usable EC key"))?,
            )),
            (None, Some(pkcs8)) => KeySigner::Rsa(
                aws_lc_rs::rsa::KeyPair::from_pkcs8(pkcs8)
                    .map_err(|_| invalid("not a usable RSA key"))?,
            ),
            (None, None) => return Err(invalid("no secret")),
        };
        Ok(SubscriberKey { key, spki, signer })
    }

    /// The key's type.
    pub fn key_type(&self) -> KeyType {
        self.key.key_type()
    }

    /// The private key as PKCS#8 `PrivateKeyInfo` DER, in zeroizing memory.
    pub fn to_pkcs8_der(&self) -> Result<Zeroizing<Vec<u8>>, EnvelopeError> {
        self.key.to_pkcs8_der()
    }

    /// The public half, SubjectPublicKeyInfo DER.
    pub fn public_key_der(&self) -> &[u8] {
        self.key.public_key_der()
    }
}

impl Signer for SubscriberKey {
    fn algorithm(&self) -> SignatureAlgorithm {
        self.key.key_type().signature_algorithm()
    }

    fn public_key(&self) -> &SubjectPublicKeyInfoOwned {
        &self.spki
    }

    fn sign(&self, message: &[u8]) -> Result<Vec<u8>, SignError> {
        match &self.signer {
            KeySigner::Ec(s) => s.sign(message),
            KeySigner::Rsa(k) => {
                let mut signature = vec![0u8; k.public_modulus_len()];
                k.sign(
                    &aws_lc_rs::signature::RSA_PKCS1_SHA256,
                    &aws_lc_rs::rand::SystemRandom::new(),
                    message,
                    &mut signature,
                )
                .map_err(|_| SignError::Failed {
                    reason: "RSA signature failed".into(),
                })?;
                Ok(signature)
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::csr::{VerifiedCsr, build_csr};

    #[test]
    fn every_offered_type_signs_a_csr_that_verifies() {
        let subject = crate::names::parse_name("CN=alice,O=Signet Test").unwrap();
        for kt in SUBSCRIBER_KEY_TYPES {
            let key = SubscriberKey::generate(kt, &mut rand::rng()).unwrap();
            let der = build_csr(&key, &subject).unwrap();
            let csr = VerifiedCsr::from_der(&der).unwrap();
            assert_eq!(csr.spki(), key.public_key(), "{kt}");
            // The stored form reloads to the same key.
            let again = SubscriberKey::from_pkcs8_der(&key.to_pkcs8_der().unwrap()).unwrap();
            assert_eq!(again.public_key_der(), key.public_key_der(), "{kt}");
            assert_eq!(
                format!("{key:?}"),
                format!("SubscriberKey {{ key_type: {kt:?}, .. }}")
            );
        }
        assert!(SubscriberKey::generate(KeyType::Sm2, &mut rand::rng()).is_err());
    }
}
