//! Signing with a key in the token, through [`signet_core::Signer`].

use std::fmt;
use std::sync::{Arc, PoisonError, RwLock};

use cryptoki::error::{Error as CryptokiError, RvError};
use cryptoki::mechanism::rsa::{PkcsMgfType, PkcsPssParams};
use cryptoki::mechanism::{Mechanism, MechanismType};
use cryptoki::object::{Attribute, AttributeType, KeyType as CkKeyType, ObjectHandle};
use cryptoki::types::Ulong;
use signet_core::{HashAlgorithm, SignError, SignatureAlgorithm, Signer};
use spki::SubjectPublicKeyInfoOwned;

use crate::ec::{Curve, raw_signature_to_der};
use crate::error::{TokenError, is_rv, malformed, rv_name};
use crate::objects::{LabelledObjects, bytes_of, single};
use crate::pool::SessionPool;
use crate::public_key::{ec_spki, rsa_spki};
use crate::token::Token;

/// The padding an RSA key signs with.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub enum RsaPadding {
    /// RSASSA-PKCS1-v1_5 with SHA-256 (`sha256WithRSAEncryption`).
    #[default]
    Pkcs1v15,
    /// RSASSA-PSS with SHA-256, MGF1-SHA-256 and a 32-byte salt
    /// (RFC 4055 §3.1, the parameters `SignatureAlgorithm::RsaPss` writes).
    Pss,
}

impl Token {
    /// A signer for the key `label`: ECDSA and RSA keys sign in the token
    /// (RSA with PKCS#1 v1.5); a wrapped SM2 key is decrypted into zeroizing
    /// memory and signs in this process.
    ///
    /// Make it once and keep it: each call looks the key up (and, for SM2,
    /// decrypts it).
    pub fn signer(&self, label: &str) -> Result<Arc<dyn Signer>, TokenError> {
        self.signer_with(label, RsaPadding::Pkcs1v15)
    }

    /// As [`Token::signer`], choosing the RSA padding. `padding` is ignored
    /// for ECDSA and SM2 keys when it is the default, and refused when it
    /// asks for PSS.
    pub fn signer_with(
        &self,
        label: &str,
        padding: RsaPadding,
    ) -> Result<Arc<dyn Signer>, TokenError> {
        let objects = self.objects(label)?;
        if !objects.private_keys.is_empty() {
            let resolved = resolve(&self.pool, label, &objects, padding)?;
            return Ok(Arc::new(TokenSigner {
                pool: Arc::clone(&self.pool),
                label: label.to_owned(),
                padding,
                key: RwLock::new(resolved.key),
                scheme: resolved.scheme,
                spki: resolved.spki,
            }));
        }
        if let Some(data) = single(&objects.wrapped_sm2, label, "several wrapped SM2 keys")? {
            if padding == RsaPadding::Pss {
                return Err(not_rsa("sm2"));
            }
            return Ok(Arc::new(self.unwrap_sm2(label, data)?));
        }
        if !objects.secret_keys.is_empty() {
            return Err(TokenError::UnsupportedKeyType {
                key_type: "aes".to_owned(),
                reason: "an AES key cannot sign",
            });
        }
        Err(TokenError::KeyNotFound {
            label: label.to_owned(),
        })
    }
}

/// A token key pair as a signer sees it.
struct ResolvedKey {
    key: ObjectHandle,
    scheme: Scheme,
    spki: SubjectPublicKeyInfoOwned,
}

/// Reads the key pair among `objects` (labelled `label`): its type, curve or
/// modulus, and public key.
fn resolve(
    pool: &SessionPool,
    label: &str,
    objects: &LabelledObjects,
    padding: RsaPadding,
) -> Result<ResolvedKey, TokenError> {
    let private =
        single(&objects.private_keys, label, "several private keys")?.ok_or_else(|| {
            TokenError::KeyNotFound {
                label: label.to_owned(),
            }
        })?;
    let public = single(&objects.public_keys, label, "several public keys")?
        .ok_or_else(|| malformed(label, "the public key object is missing"))?;
    let wanted = [
        AttributeType::KeyType,
        AttributeType::EcParams,
        AttributeType::EcPoint,
        AttributeType::Modulus,
        AttributeType::PublicExponent,
    ];
    let (private_type, attributes) = pool.with_session("C_GetAttributeValue", |s| {
        let private_type = key_type_of(&s.get_attributes(private, &[AttributeType::KeyType])?);
        Ok((private_type, s.get_attributes(public, &wanted)?))
    })?;
    let key_type = key_type_of(&attributes);
    if key_type.is_none() || key_type != private_type {
        return Err(malformed(label, "the private and public key types differ"));
    }
    let (scheme, spki) = match key_type {
        Some(CkKeyType::EC) => {
            let curve = bytes_of(&attributes, AttributeType::EcParams)
                .and_then(Curve::from_ec_params)
                .ok_or(TokenError::UnsupportedKeyType {
                    key_type: "ec".to_owned(),
                    reason: "only P-256 and P-384 sign in the token \
                             (ECDSA on the SM2 curve is not an SM2 signature)",
                })?;
            if padding == RsaPadding::Pss {
                return Err(not_rsa(curve.key_type.as_str()));
            }
            let point = bytes_of(&attributes, AttributeType::EcPoint)
                .and_then(|value| curve.point_from_ec_point(value))
                .ok_or_else(|| malformed(label, "the public key has no valid EC point"))?;
            let spki = ec_spki(curve.oid, &point)
                .map_err(|_| malformed(label, "EC point cannot be encoded"))?;
            (Scheme::Ecdsa(curve), spki)
        }
        Some(CkKeyType::RSA) => {
            let modulus = bytes_of(&attributes, AttributeType::Modulus)
                .ok_or_else(|| malformed(label, "the public key has no modulus"))?;
            let exponent = bytes_of(&attributes, AttributeType::PublicExponent)
                .ok_or_else(|| malformed(label, "the public key has no exponent"))?;
            let spki = rsa_spki(modulus, exponent)
                .map_err(|_| malformed(label, "RSA key cannot be encoded"))?;
            let scheme = match padding {
                RsaPadding::Pkcs1v15 => Scheme::RsaPkcs1Sha256,
                RsaPadding::Pss => Scheme::RsaPssSha256,
            };
            (scheme, spki)
        }
        _ => {
            return Err(TokenError::UnsupportedKeyType {
                key_type: format!("{key_type:?}"),
                reason: "only EC and RSA keys sign in the token",
            });
        }
    };
    Ok(ResolvedKey {
        key: private,
        scheme,
        spki,
    })
}

/// How a token key signs.
#[derive(Clone, Copy, Debug)]
enum Scheme {
    /// Hash on the host, raw `CKM_ECDSA` in the token, r || s re-encoded.
    Ecdsa(Curve),
    /// `CKM_SHA256_RSA_PKCS`.
    RsaPkcs1Sha256,
    /// `CKM_SHA256_RSA_PKCS_PSS`, MGF1-SHA-256, 32-byte salt.
    RsaPssSha256,
}

/// A private key in the token.
///
/// Object handles stay valid while the process is logged in. If the token
/// forgets the handle (SoftHSM2 drops private-object handles on logout),
/// the key is looked up again by label and used only if its public key is
/// still this signer's: a different key under the same label never signs
/// in its place.
struct TokenSigner {
    pool: Arc<SessionPool>,
    label: String,
    padding: RsaPadding,
    key: RwLock<ObjectHandle>,
    scheme: Scheme,
    spki: SubjectPublicKeyInfoOwned,
}

impl fmt::Debug for TokenSigner {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TokenSigner")
            .field("token", &self.pool.token_label())
            .field("label", &self.label)
            .field("algorithm", &self.algorithm())
            .finish_non_exhaustive()
    }
}

impl Signer for TokenSigner {
    fn algorithm(&self) -> SignatureAlgorithm {
        match self.scheme {
            Scheme::Ecdsa(curve) => curve.algorithm,
            Scheme::RsaPkcs1Sha256 => SignatureAlgorithm::RsaPkcs1Sha256,
            Scheme::RsaPssSha256 => SignatureAlgorithm::RsaPss(HashAlgorithm::Sha256),
        }
    }

    fn public_key(&self) -> &SubjectPublicKeyInfoOwned {
        &self.spki
    }

    fn sign(&self, message: &[u8]) -> Result<Vec<u8>, SignError> {
        // ECDSA in the token is raw: hash here. The RSA mechanisms hash.
        let digest;
        let input = match self.scheme {
            Scheme::Ecdsa(curve) => {
                digest = curve.hash.digest(message);
                digest.as_slice()
            }
            Scheme::RsaPkcs1Sha256 | Scheme::RsaPssSha256 => message,
        };
        let key = *self.key.read().unwrap_or_else(PoisonError::into_inner);
        let signature = match self.sign_with(key, input)? {
            Err(e) if is_stale_handle(&e) => {
                let key = self.relocate().map_err(|e| SignError::Unavailable {
                    reason: e.to_string(),
                })?;
                self.sign_with(key, input)?
            }
            other => other,
        }
        .map_err(|e| self.sign_error(&e))?;
        match self.scheme {
            Scheme::Ecdsa(curve) => {
                raw_signature_to_der(&signature, curve.field_len).ok_or_else(|| SignError::Failed {
                    reason: format!(
                        "token key {:?} returned a {}-byte ECDSA signature, expected {}",
                        self.label,
                        signature.len(),
                        2 * curve.field_len
                    ),
                })
            }
            Scheme::RsaPkcs1Sha256 | Scheme::RsaPssSha256 => Ok(signature),
        }
    }
}

impl TokenSigner {
    /// One `C_Sign` of `input` with `key`. The outer error means no session
    /// could be had.
    fn sign_with(
        &self,
        key: ObjectHandle,
        input: &[u8],
    ) -> Result<Result<Vec<u8>, CryptokiError>, SignError> {
        let mechanism = match self.scheme {
            Scheme::Ecdsa(_) => Mechanism::Ecdsa,
            Scheme::RsaPkcs1Sha256 => Mechanism::Sha256RsaPkcs,
            Scheme::RsaPssSha256 => Mechanism::Sha256RsaPkcsPss(PkcsPssParams {
                hash_alg: MechanismType::SHA256,
                mgf: PkcsMgfType::MGF1_SHA256,
                // RFC 4055 §3.1 / SignatureAlgorithm::RsaPss: salt as long
                // as the hash.
                s_len: Ulong::from(32),
            }),
        };
        self.pool
            .try_with_session(|s| s.sign(&mechanism, key, input))
            .map_err(|e| SignError::Unavailable {
                reason: e.to_string(),
            })
    }

    /// Finds the key under its label again and adopts the new handle if the
    /// public key is unchanged.
    fn relocate(&self) -> Result<ObjectHandle, TokenError> {
        let objects = self
            .pool
            .with_session("C_FindObjects", |s| LabelledObjects::find(s, &self.label))?;
        let resolved = resolve(&self.pool, &self.label, &objects, self.padding)?;
        if resolved.spki != self.spki {
            return Err(malformed(
                &self.label,
                "a different key now has this label; refusing to sign with it",
            ));
        }
        *self.key.write().unwrap_or_else(PoisonError::into_inner) = resolved.key;
        tracing::info!(token = %self.pool.token_label(), key = %self.label, "token key handle renewed");
        Ok(resolved.key)
    }

    /// A token answer that means the key is out of reach is `Unavailable`
    /// (callers may fail over or retry later); anything else is `Failed`.
    fn sign_error(&self, e: &CryptokiError) -> SignError {
        let reason = format!(
            "C_Sign with token key {:?} on {:?} failed: {}",
            self.label,
            self.pool.token_label(),
            rv_name(e)
        );
        let gone = [
            RvError::SessionHandleInvalid,
            RvError::SessionClosed,
            RvError::UserNotLoggedIn,
            RvError::DeviceRemoved,
            RvError::TokenNotPresent,
        ];
        if is_stale_handle(e) || gone.into_iter().any(|rv| is_rv(e, rv)) {
            SignError::Unavailable { reason }
        } else {
            SignError::Failed { reason }
        }
    }
}

/// The token no longer knows the key handle.
fn is_stale_handle(e: &CryptokiError) -> bool {
    is_rv(e, RvError::ObjectHandleInvalid) || is_rv(e, RvError::KeyHandleInvalid)
}

fn key_type_of(attributes: &[Attribute]) -> Option<CkKeyType> {
    attributes.iter().find_map(|a| match a {
        Attribute::KeyType(t) => Some(*t),
        _ => None,
    })
}

fn not_rsa(key_type: &str) -> TokenError {
    TokenError::UnsupportedKeyType {
        key_type: key_type.to_owned(),
        reason: "RSA-PSS padding needs an RSA key",
    }
}
