//! The RA's keys in the token, and the digest key it keeps wrapped:
//!
//! | label / name | kind | use |
//! |---|---|---|
//! | `ra-fields` | AES-256 in the token, non-extractable | encrypts sensitive fields (ID number, phone, TOTP secrets) and wraps the digest key |
//! | `ra-audit` | P-256 in the token, non-extractable | signs audit checkpoints |
//! | `digest-key` (table `key_blobs`) | 32-byte HMAC-SHA-256 key, AES-GCM-wrapped under `ra-fields` | keyed digests of sensitive fields (exact search, tamper detection) |
//!
//! Keys are created by the ceremony, or on first start when absent. A
//! database whose digest key exists while the token lacks `ra-fields` is
//! refused: its encrypted fields could never be read again.

use std::sync::Arc;

use rand::Rng as _;
use sha2::{Digest as _, Sha256};
use signet_core::{KeyType, Signer, Timestamp};
use signet_store::RaStore;
use signet_store::ra::KeyBlob;
use signet_token::Token;
use zeroize::Zeroizing;

use crate::error::RaError;

/// Token label of the AES key for sensitive fields.
pub const FIELD_KEY_LABEL: &str = "ra-fields";
/// Token label of the audit checkpoint signing key.
pub const AUDIT_KEY_LABEL: &str = "ra-audit";
/// Name of the wrapped digest key in `key_blobs`.
pub const DIGEST_KEY_NAME: &str = "digest-key";
/// AAD of the wrapped digest key.
const DIGEST_KEY_AAD: &[u8] = b"signet-ra:key_blobs:digest-key";

/// Runs a blocking token operation on the blocking pool.
pub(crate) async fn blocking<T, F>(token: &Arc<Token>, f: F) -> Result<T, RaError>
where
    T: Send + 'static,
    F: FnOnce(&Token) -> Result<T, signet_token::TokenError> + Send + 'static,
{
    let token = Arc::clone(token);
    tokio::task::spawn_blocking(move || f(&token))
        .await
        .map_err(|_| RaError::internal("token task failed"))?
        .map_err(RaError::from)
}

/// How a token is reached: a running service shares it (`Arc<Token>`) and
/// moves each call to the blocking pool; the one-shot ceremony borrows the
/// CLI's (`&Token`) and calls it in place.
pub(crate) trait TokenAccess: Sync {
    /// Runs `f` with the token.
    fn run<T, F>(&self, f: F) -> impl Future<Output = Result<T, RaError>> + Send
    where
        T: Send + 'static,
        F: FnOnce(&Token) -> Result<T, signet_token::TokenError> + Send + 'static;
}

impl TokenAccess for Arc<Token> {
    fn run<T, F>(&self, f: F) -> impl Future<Output = Result<T, RaError>> + Send
    where
        T: Send + 'static,
        F: FnOnce(&Token) -> Result<T, signet_token::TokenError> + Send + 'static,
    {
        blocking(self, f)
    }
}

impl TokenAccess for &Token {
    fn run<T, F>(&self, f: F) -> impl Future<Output = Result<T, RaError>> + Send
    where
        T: Send + 'static,
        F: FnOnce(&Token) -> Result<T, signet_token::TokenError> + Send + 'static,
    {
        std::future::ready(f(self).map_err(RaError::from))
    }
}

/// The keys a running RA holds.
pub(crate) struct RaKeys {
    /// Unwrapped digest key.
    pub digest_key: Zeroizing<Vec<u8>>,
    /// Signs audit checkpoints.
    pub audit_signer: Arc<dyn Signer>,
}

/// Makes sure the token keys and the wrapped digest key exist, creating
/// what is missing, and returns them ready for use.
pub(crate) async fn ensure_keys<A: TokenAccess>(
    token: &A,
    store: &RaStore,
    now: Timestamp,
) -> Result<RaKeys, RaError> {
    let stored = store.key_blob(DIGEST_KEY_NAME).await?;
    let has_field_key = token.run(|t| t.has_key(FIELD_KEY_LABEL)).await?;
    if !has_field_key {
        if stored.is_some() {
            return Err(RaError::Config {
                reason: format!(
                    "the token has no `{FIELD_KEY_LABEL}` key but the RA database holds data \
                     encrypted under it: wrong token, or the key was deleted"
                ),
            });
        }
        token.run(|t| t.generate_aes_key(FIELD_KEY_LABEL)).await?;
        tracing::info!(key = FIELD_KEY_LABEL, "RA field-encryption key generated");
    }
    let digest_key = match stored {
        Some(blob) => unwrap_digest_key(token, blob.blob).await?,
        None => {
            let mut key = Zeroizing::new(vec![0u8; 32]);
            rand::rng().fill_bytes(&mut key);
            let plain = Zeroizing::new(key.to_vec());
            let wrapped = token
                .run(move |t| t.aes_gcm_encrypt(FIELD_KEY_LABEL, DIGEST_KEY_AAD, &plain))
                .await?;
            let mut tx = store.begin().await?;
            let stored = tx
                .put_key_blob(&KeyBlob {
                    name: DIGEST_KEY_NAME.to_owned(),
                    token_key_label: FIELD_KEY_LABEL.to_owned(),
                    blob: wrapped,
                    created_at: now,
                })
                .await?;
            tx.commit().await?;
            if stored {
                tracing::info!("RA digest key generated");
                key
            } else {
                // Another process made one first: use that.
                let blob = store
                    .key_blob(DIGEST_KEY_NAME)
                    .await?
                    .ok_or_else(|| RaError::internal("digest key vanished"))?;
                unwrap_digest_key(token, blob.blob).await?
            }
        }
    };
    let has_audit_key = token.run(|t| t.has_key(AUDIT_KEY_LABEL)).await?;
    if !has_audit_key {
        token
            .run(|t| t.generate_key(AUDIT_KEY_LABEL, KeyType::P256))
            .await?;
        tracing::info!(key = AUDIT_KEY_LABEL, "RA audit signing key generated");
    }
    let audit_signer = token.run(|t| t.signer(AUDIT_KEY_LABEL)).await?;
    Ok(RaKeys {
        digest_key,
        audit_signer,
    })
}

async fn unwrap_digest_key<A: TokenAccess>(
    token: &A,
    blob: Vec<u8>,
) -> Result<Zeroizing<Vec<u8>>, RaError> {
    token
        .run(move |t| t.aes_gcm_decrypt(FIELD_KEY_LABEL, DIGEST_KEY_AAD, &blob))
        .await
        .map_err(|e| match e {
            RaError::Token(signet_token::TokenError::Decrypt { .. }) => {
                RaError::Tampered { what: "digest key" }
            }
            other => other,
        })
}

/// The key id of a public key: SHA-256 of its SubjectPublicKeyInfo DER,
/// lowercase hex.
pub fn key_id(spki_der: &[u8]) -> String {
    hex::encode(Sha256::digest(spki_der))
}
