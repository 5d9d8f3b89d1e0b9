//! AES-256-GCM under non-extractable token keys, and SM2 keys kept wrapped
//! under one.
//!
//! SoftHSM2 has no SM2, SM3 or SM4 mechanism, and `CKM_ECDSA` on the SM2
//! curve is ECDSA, not SM2. So an SM2 CA key is generated in software, its
//! secret scalar is encrypted in the token with `CKM_AES_GCM` under the AES
//! key [`WRAP_KEY_LABEL`] (sensitive, never extractable), and the blob is
//! stored as a private data object under the key's label. To sign, the
//! token decrypts the blob into zeroizing memory and the key signs in this
//! process. That protects the key at rest (a copy of the token directory
//! without the PIN and the AES key is useless) but not in use: a process
//! that can sign can read the key. A token with native SM2 would implement
//! the same `Signer` trait with the key inside it.
//!
//! Blob format: IV (12 bytes, random) || ciphertext || tag (16 bytes). With
//! random 96-bit IVs, NIST SP 800-38D §8.3 allows 2^32 encryptions per key.

use cryptoki::error::{Error as CryptokiError, RvError};
use cryptoki::mechanism::Mechanism;
use cryptoki::mechanism::aead::GcmParams;
use cryptoki::object::{Attribute, AttributeType, KeyType as CkKeyType, ObjectClass, ObjectHandle};
use cryptoki::session::Session;
use cryptoki::types::Ulong;
use der::Encode as _;
use signet_core::{KeyType, Signer as _, SoftwareSigner};
use zeroize::Zeroizing;

use crate::error::{TokenError, is_rv, malformed, pkcs11_err, rv_name};
use crate::objects::{WRAPPED_SM2_APPLICATION, bytes_of, label_attribute, random_id, single};
use crate::token::{Token, missing_wrap_key, validate_key_label};

/// The label of the AES key that wraps SM2 keys. Reserved: the AES-GCM
/// methods refuse it, so that no caller can decrypt a wrapped key blob.
pub const WRAP_KEY_LABEL: &str = "signet-key-wrap";

/// Associated data of a wrapped SM2 key: binds the blob to its label, so a
/// blob copied under another label does not decrypt.
const SM2_AAD_PREFIX: &[u8] = b"signet:sm2-key:";

const IV_LEN: usize = 12;
const TAG_LEN: usize = 16;
const TAG_BITS: std::ffi::c_ulong = 128;

impl Token {
    /// Generates a non-extractable AES-256 key `label` in the token for
    /// [`Token::aes_gcm_encrypt`] and [`Token::aes_gcm_decrypt`].
    pub fn generate_aes_key(&self, label: &str) -> Result<(), TokenError> {
        validate_key_label(label)?;
        refuse_reserved(label)?;
        let _admin = self.module.admin();
        if self.has_key(label)? {
            return Err(TokenError::KeyExists {
                label: label.to_owned(),
            });
        }
        self.create_aes_key(label)?;
        tracing::info!(token = %self.label(), key = label, "AES key generated");
        Ok(())
    }

    /// Imports a 32-byte AES-256 key as `label` (`C_CreateObject`), sensitive
    /// and not extractable, for [`Token::aes_gcm_encrypt`] and
    /// [`Token::aes_gcm_decrypt`]. For keys that must exist outside the
    /// token too (the KMC's root storage key, split into custodian shares
    /// at its birth). The token reports such a key as never extractable =
    /// false and always sensitive = false: it was once outside.
    pub fn import_aes_key(&self, label: &str, value: Zeroizing<Vec<u8>>) -> Result<(), TokenError> {
        validate_key_label(label)?;
        refuse_reserved(label)?;
        if value.len() != 32 {
            return Err(TokenError::UnsupportedKeyType {
                key_type: "AES".into(),
                reason: "only 256-bit AES keys are imported",
            });
        }
        let _admin = self.module.admin();
        if self.has_key(label)? {
            return Err(TokenError::KeyExists {
                label: label.to_owned(),
            });
        }
        let mut template = [
            Attribute::Class(ObjectClass::SECRET_KEY),
            Attribute::KeyType(CkKeyType::AES),
            Attribute::Token(true),
            Attribute::Private(true),
            Attribute::Sensitive(true),
            Attribute::Extractable(false),
            Attribute::Encrypt(true),
            Attribute::Decrypt(true),
            Attribute::Wrap(false),
            Attribute::Unwrap(false),
            Attribute::Derive(false),
            label_attribute(label),
            Attribute::Id(random_id()),
            Attribute::Value(value.to_vec()),
        ];
        let created = self
            .pool
            .with_session("C_CreateObject", |s| s.create_object(&template));
        // The template's copy of the key value is wiped whatever happened.
        for attribute in &mut template {
            if let Attribute::Value(v) = attribute {
                zeroize::Zeroize::zeroize(v);
            }
        }
        created?;
        tracing::info!(token = %self.label(), key = label, "AES key imported");
        Ok(())
    }

    /// Encrypts `plaintext` with AES-256-GCM under the token key `label`,
    /// authenticating `aad` too. Returns IV (12) || ciphertext || tag (16).
    pub fn aes_gcm_encrypt(
        &self,
        label: &str,
        aad: &[u8],
        plaintext: &[u8],
    ) -> Result<Vec<u8>, TokenError> {
        refuse_reserved(label)?;
        let key = self.aes_key(label)?;
        self.pool
            .with_session("C_Encrypt", |s| gcm_encrypt(s, key, aad, plaintext))
    }

    /// Decrypts a blob made by [`Token::aes_gcm_encrypt`] with the same key
    /// and `aad`. Any change to the blob or the AAD is
    /// [`TokenError::Decrypt`].
    pub fn aes_gcm_decrypt(
        &self,
        label: &str,
        aad: &[u8],
        blob: &[u8],
    ) -> Result<Zeroizing<Vec<u8>>, TokenError> {
        refuse_reserved(label)?;
        let key = self.aes_key(label)?;
        self.gcm_decrypt(label, key, aad, blob)
    }

    /// Generates an SM2 key in software and stores it wrapped under
    /// `label`; returns its SubjectPublicKeyInfo DER. The caller holds the
    /// module's admin lock and has checked that `label` is free.
    pub(crate) fn generate_wrapped_sm2(&self, label: &str) -> Result<Vec<u8>, TokenError> {
        let wrap_key = match self.wrap_keys()?.first() {
            Some(key) => *key,
            None => {
                let key = self.create_aes_key(WRAP_KEY_LABEL)?;
                tracing::info!(token = %self.label(), "SM2 wrapping key created");
                key
            }
        };
        let signer = SoftwareSigner::generate(KeyType::Sm2, &mut rand::rng()).map_err(|_| {
            TokenError::UnsupportedKeyType {
                key_type: KeyType::Sm2.to_string(),
                reason: "software SM2 key generation failed",
            }
        })?;
        let spki = signer
            .public_key()
            .to_der()
            .map_err(|_| malformed(label, "SM2 public key cannot be encoded"))?;
        let aad = sm2_aad(label);
        let blob = {
            let scalar = signer.secret_scalar();
            self.pool
                .with_session("C_Encrypt", |s| gcm_encrypt(s, wrap_key, &aad, &scalar))?
        };
        let template = [
            Attribute::Class(ObjectClass::DATA),
            Attribute::Token(true),
            Attribute::Private(true),
            label_attribute(label),
            Attribute::Application(WRAPPED_SM2_APPLICATION.to_vec()),
            Attribute::Value(blob),
        ];
        let data = self
            .pool
            .with_session("C_CreateObject", |s| s.create_object(&template))?;
        // A CA key that cannot be unwrapped is no key: read it back before
        // reporting success.
        let unwrapped = self.unwrap_sm2(label, data);
        if !unwrapped.is_ok_and(|u| u.public_key() == signer.public_key()) {
            if let Err(e) = self
                .pool
                .with_session("C_DestroyObject", |s| s.destroy_object(data))
            {
                tracing::error!(key = label, error = %e, "cannot remove a bad wrapped SM2 key");
            }
            return Err(malformed(
                label,
                "the wrapped SM2 key does not unwrap to the generated key",
            ));
        }
        tracing::info!(token = %self.label(), key = label, "SM2 key generated and wrapped");
        Ok(spki)
    }

    /// Decrypts the wrapped SM2 key in the data object `data`.
    pub(crate) fn unwrap_sm2(
        &self,
        label: &str,
        data: ObjectHandle,
    ) -> Result<SoftwareSigner, TokenError> {
        let attributes = self.pool.with_session("C_GetAttributeValue", |s| {
            s.get_attributes(data, &[AttributeType::Value])
        })?;
        let blob = bytes_of(&attributes, AttributeType::Value)
            .ok_or_else(|| malformed(label, "the wrapped key object has no value"))?;
        let aad = sm2_aad(label);
        let wrap_keys = self.wrap_keys()?;
        if wrap_keys.is_empty() {
            return Err(missing_wrap_key(label));
        }
        // Normally one wrapping key; two processes creating it at once could
        // leave two, and GCM tells which one a blob belongs to.
        for key in wrap_keys {
            match self.gcm_decrypt(label, key, &aad, blob) {
                Ok(scalar) => {
                    return SoftwareSigner::from_scalar_bytes(KeyType::Sm2, &scalar)
                        .map_err(|_| malformed(label, "the unwrapped SM2 key is invalid"));
                }
                Err(TokenError::Decrypt { .. }) => continue,
                Err(e) => return Err(e),
            }
        }
        Err(TokenError::Decrypt {
            label: label.to_owned(),
        })
    }

    fn wrap_keys(&self) -> Result<Vec<ObjectHandle>, TokenError> {
        Ok(self.objects(WRAP_KEY_LABEL)?.secret_keys)
    }

    fn aes_key(&self, label: &str) -> Result<ObjectHandle, TokenError> {
        let objects = self.objects(label)?;
        single(&objects.secret_keys, label, "several secret keys")?.ok_or_else(|| {
            TokenError::KeyNotFound {
                label: label.to_owned(),
            }
        })
    }

    fn create_aes_key(&self, label: &str) -> Result<ObjectHandle, TokenError> {
        let template = [
            Attribute::Class(ObjectClass::SECRET_KEY),
            Attribute::KeyType(CkKeyType::AES),
            Attribute::ValueLen(Ulong::from(32)),
            Attribute::Token(true),
            Attribute::Private(true),
            Attribute::Sensitive(true),
            Attribute::Extractable(false),
            Attribute::Encrypt(true),
            Attribute::Decrypt(true),
            Attribute::Wrap(false),
            Attribute::Unwrap(false),
            Attribute::Derive(false),
            label_attribute(label),
            Attribute::Id(random_id()),
        ];
        self.pool.with_session("C_GenerateKey", |s| {
            s.generate_key(&Mechanism::AesKeyGen, &template)
        })
    }

    fn gcm_decrypt(
        &self,
        label: &str,
        key: ObjectHandle,
        aad: &[u8],
        blob: &[u8],
    ) -> Result<Zeroizing<Vec<u8>>, TokenError> {
        let decrypt_error = || TokenError::Decrypt {
            label: label.to_owned(),
        };
        let (iv, sealed) = blob
            .split_first_chunk::<IV_LEN>()
            .ok_or_else(decrypt_error)?;
        if sealed.len() < TAG_LEN {
            return Err(decrypt_error());
        }
        let result = self.pool.try_with_session(|s| {
            let mut iv = *iv;
            let params = GcmParams::new(&mut iv, aad, Ulong::from(TAG_BITS))?;
            s.decrypt(&Mechanism::AesGcm(params), key, sealed)
        })?;
        match result {
            // cryptoki returns the plaintext in a Vec it sized exactly:
            // wrapping it now zeroizes the only copy on drop.
            Ok(plaintext) => Ok(Zeroizing::new(plaintext)),
            Err(e) if is_authentication_failure(&e) => {
                tracing::debug!(key = label, rv = %rv_name(&e), "AES-GCM decryption refused");
                Err(decrypt_error())
            }
            Err(e) => Err(pkcs11_err("C_Decrypt")(e)),
        }
    }
}

/// IV || AES-GCM(plaintext) || tag, with a fresh random IV.
fn gcm_encrypt(
    session: &Session,
    key: ObjectHandle,
    aad: &[u8],
    plaintext: &[u8],
) -> Result<Vec<u8>, CryptokiError> {
    use rand::Rng as _;
    let mut iv = [0u8; IV_LEN];
    rand::rng().fill_bytes(&mut iv);
    let nonce = iv;
    let params = GcmParams::new(&mut iv, aad, Ulong::from(TAG_BITS))?;
    let sealed = session.encrypt(&Mechanism::AesGcm(params), key, plaintext)?;
    let mut blob = Vec::with_capacity(IV_LEN + sealed.len());
    blob.extend_from_slice(&nonce);
    blob.extend_from_slice(&sealed);
    Ok(blob)
}

/// The return codes a token gives when the GCM tag does not verify.
///
/// PKCS#11 says `CKR_ENCRYPTED_DATA_INVALID` (or `_LEN_RANGE`); SoftHSM2
/// up to 2.6 answers `CKR_GENERAL_ERROR` (softhsm/SoftHSMv2#689, fixed by
/// #690). A general error from a single-part GCM decryption is therefore
/// taken as a failed authentication too: nothing was decrypted either way.
fn is_authentication_failure(e: &CryptokiError) -> bool {
    is_rv(e, RvError::EncryptedDataInvalid)
        || is_rv(e, RvError::EncryptedDataLenRange)
        || is_rv(e, RvError::GeneralError)
}

fn sm2_aad(label: &str) -> Vec<u8> {
    [SM2_AAD_PREFIX, label.as_bytes()].concat()
}

fn refuse_reserved(label: &str) -> Result<(), TokenError> {
    if label == WRAP_KEY_LABEL {
        return Err(TokenError::ReservedLabel {
            label: label.to_owned(),
        });
    }
    Ok(())
}
