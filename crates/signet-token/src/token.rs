//! A PKCS#11 token opened by label and logged in: creating tokens, finding
//! and destroying keys, reporting how a key is protected.
//!
//! Key generation lives in `keygen.rs`, signing in `signer.rs`, AES-GCM and
//! wrapped SM2 keys in `wrap.rs`; they are all methods of [`Token`].

use std::fmt;
use std::path::Path;
use std::sync::Arc;

use cryptoki::context::Pkcs11;
use cryptoki::object::AttributeType;
use cryptoki::session::UserType;
use cryptoki::slot::Slot;

use crate::config::TokenConfig;
use crate::error::{TokenError, pkcs11_err, rv_name};
use crate::module::Module;
use crate::objects::{LabelledObjects, bool_of, single};
use crate::pin::Pin;
use crate::pool::SessionPool;
use crate::wrap::WRAP_KEY_LABEL;

/// An open, logged-in token. `Send + Sync`; share it in an `Arc`.
///
/// Signers made from it keep the token's session pool alive on their own,
/// so a `Token` may be dropped once its signers are made.
pub struct Token {
    pub(crate) module: Module,
    pub(crate) pool: Arc<SessionPool>,
}

impl fmt::Debug for Token {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Token")
            .field("module", &self.module.path())
            .field("label", &self.pool.token_label())
            .field("slot", &self.pool.slot().id())
            .finish_non_exhaustive()
    }
}

/// How a key in the token is protected, as the token reports it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct KeyProtection {
    /// `CKA_SENSITIVE`: the key's value cannot be read in the clear.
    pub sensitive: bool,
    /// `CKA_EXTRACTABLE`: the key can be wrapped out of the token.
    pub extractable: bool,
    /// `CKA_NEVER_EXTRACTABLE`: the key has never been extractable.
    pub never_extractable: bool,
    /// `CKA_ALWAYS_SENSITIVE`: the key has always been sensitive.
    pub always_sensitive: bool,
    /// The key itself is held outside any key object, encrypted under a
    /// token AES key (SM2, which the token cannot do natively); the other
    /// fields then describe that AES key. Such a key is protected at rest
    /// only: it is decrypted into process memory to sign.
    pub wrapped_in_token: bool,
}

impl Token {
    /// Creates a token labelled `label` in a free slot (`C_InitToken`), then
    /// sets its user PIN as the security officer (`C_InitPIN`).
    ///
    /// SoftHSM2 always offers one uninitialised token; initialising it gives
    /// it a new slot id and adds a new free slot, so the new token is found
    /// again by label, never by number.
    pub fn initialize(
        module: &Path,
        label: &str,
        so_pin: &Pin,
        user_pin: &Pin,
    ) -> Result<(), TokenError> {
        validate_token_label(label)?;
        let module = Module::load(module)?;
        let _admin = module.admin();
        let pkcs11 = module.pkcs11();
        match find_slot(pkcs11, label) {
            Err(TokenError::TokenNotFound { .. }) => {}
            Ok(_) | Err(TokenError::AmbiguousToken { .. }) => {
                return Err(TokenError::TokenExists {
                    label: label.to_owned(),
                });
            }
            Err(e) => return Err(e),
        }
        let free = free_slot(pkcs11)?;
        pkcs11
            .init_token(free, &so_pin.auth_pin(), label)
            .map_err(pkcs11_err("C_InitToken"))?;
        let slot = find_slot(pkcs11, label)?;
        let session = pkcs11
            .open_rw_session(slot)
            .map_err(pkcs11_err("C_OpenSession"))?;
        session
            .login(UserType::So, Some(&so_pin.auth_pin()))
            .map_err(|e| TokenError::Login {
                label: label.to_owned(),
                rv: rv_name(&e),
            })?;
        session
            .init_pin(&user_pin.auth_pin())
            .map_err(pkcs11_err("C_InitPIN"))?;
        session.logout().map_err(pkcs11_err("C_Logout"))?;
        drop(session);
        tracing::info!(token = label, slot = slot.id(), "token initialised");
        Ok(())
    }

    /// Opens the token labelled `config.token_label` and logs in as the user.
    ///
    /// Login state belongs to the process: if another `Token` for the same
    /// token is already open here, the token answers
    /// `CKR_USER_ALREADY_LOGGED_IN` without checking this PIN, and the open
    /// succeeds.
    pub fn open(config: &TokenConfig) -> Result<Token, TokenError> {
        if !crate::softhsm_env_matches(config) {
            tracing::warn!(
                wanted = ?config.softhsm2_conf,
                "SOFTHSM2_CONF does not name this token's SoftHSM2 configuration; \
                 the token may not be found"
            );
        }
        let module = Module::load(&config.module)?;
        let slot = find_slot(module.pkcs11(), &config.token_label)?;
        let pin = config.pin.read()?;
        let pool = SessionPool::new(
            module.pkcs11().clone(),
            slot,
            config.token_label.clone(),
            pin,
            config.session_pool_size(),
        )?;
        tracing::debug!(token = %config.token_label, slot = slot.id(), "token opened");
        Ok(Token {
            module,
            pool: Arc::new(pool),
        })
    }

    /// The token's label.
    pub fn label(&self) -> &str {
        self.pool.token_label()
    }

    /// Whether an object (key pair, AES key or wrapped key) carries `label`.
    pub fn has_key(&self, label: &str) -> Result<bool, TokenError> {
        Ok(!self.objects(label)?.is_empty())
    }

    /// Destroys every object labelled `label`. For a token key this is a
    /// crypto-erase: no copy exists outside the token. Destroying
    /// [`WRAP_KEY_LABEL`] makes every wrapped SM2 key unreadable.
    pub fn destroy_key(&self, label: &str) -> Result<(), TokenError> {
        let _admin = self.module.admin();
        let objects = self.objects(label)?;
        if objects.is_empty() {
            return Err(TokenError::KeyNotFound {
                label: label.to_owned(),
            });
        }
        if label == WRAP_KEY_LABEL {
            tracing::warn!(
                token = %self.label(),
                "destroying the SM2 wrapping key: every wrapped SM2 key becomes unusable"
            );
        }
        for handle in objects.all() {
            self.pool
                .with_session("C_DestroyObject", |s| s.destroy_object(handle))?;
        }
        tracing::info!(token = %self.label(), key = label, "key destroyed");
        Ok(())
    }

    /// How the key `label` is protected: the private key of a key pair, an
    /// AES key, or (for a wrapped SM2 key) the AES key that wraps it.
    pub fn key_protection(&self, label: &str) -> Result<KeyProtection, TokenError> {
        let objects = self.objects(label)?;
        let (key, wrapped_in_token) =
            if let Some(key) = single(&objects.private_keys, label, "several private keys")? {
                (key, false)
            } else if let Some(key) = single(&objects.secret_keys, label, "several secret keys")? {
                (key, false)
            } else if !objects.wrapped_sm2.is_empty() {
                let wrap = self.objects(WRAP_KEY_LABEL)?;
                let key = wrap
                    .secret_keys
                    .first()
                    .copied()
                    .ok_or_else(|| missing_wrap_key(label))?;
                (key, true)
            } else {
                return Err(TokenError::KeyNotFound {
                    label: label.to_owned(),
                });
            };
        let wanted = [
            AttributeType::Sensitive,
            AttributeType::Extractable,
            AttributeType::NeverExtractable,
            AttributeType::AlwaysSensitive,
        ];
        let attributes = self
            .pool
            .with_session("C_GetAttributeValue", |s| s.get_attributes(key, &wanted))?;
        // An attribute the token does not report counts as the weaker value.
        Ok(KeyProtection {
            sensitive: bool_of(&attributes, AttributeType::Sensitive).unwrap_or(false),
            extractable: bool_of(&attributes, AttributeType::Extractable).unwrap_or(true),
            never_extractable: bool_of(&attributes, AttributeType::NeverExtractable)
                .unwrap_or(false),
            always_sensitive: bool_of(&attributes, AttributeType::AlwaysSensitive).unwrap_or(false),
            wrapped_in_token,
        })
    }

    /// The objects labelled `label`.
    pub(crate) fn objects(&self, label: &str) -> Result<LabelledObjects, TokenError> {
        self.pool
            .with_session("C_FindObjects", |s| LabelledObjects::find(s, label))
    }
}

pub(crate) fn missing_wrap_key(label: &str) -> TokenError {
    TokenError::MalformedKey {
        label: label.to_owned(),
        reason: "the SM2 wrapping key is missing from the token",
    }
}

/// PKCS#11 token labels are 32 bytes, blank-padded: a longer label would be
/// cut (and then not found), trailing blanks would vanish.
fn validate_token_label(label: &str) -> Result<(), TokenError> {
    let reason = if label.is_empty() {
        Some("a token label cannot be empty")
    } else if label.len() > 32 {
        Some("a token label is at most 32 bytes")
    } else if label.ends_with(' ') {
        Some("a token label cannot end with a blank")
    } else {
        None
    };
    match reason {
        Some(reason) => Err(TokenError::InvalidLabel {
            label: label.to_owned(),
            reason,
        }),
        None => Ok(()),
    }
}

/// Key labels name keys in configs and logs: they must say something.
pub(crate) fn validate_key_label(label: &str) -> Result<(), TokenError> {
    if label.trim().is_empty() {
        return Err(TokenError::InvalidLabel {
            label: label.to_owned(),
            reason: "a key label cannot be empty",
        });
    }
    Ok(())
}

/// The slot whose initialised token is labelled `label`.
fn find_slot(pkcs11: &Pkcs11, label: &str) -> Result<Slot, TokenError> {
    let slots = pkcs11
        .get_slots_with_token()
        .map_err(pkcs11_err("C_GetSlotList"))?;
    let matching: Vec<Slot> = slots
        .into_iter()
        .filter(|slot| match pkcs11.get_token_info(*slot) {
            // cryptoki trims the blank padding of the 32-byte label.
            Ok(info) => info.token_initialized() && info.label().trim_end() == label,
            Err(e) => {
                tracing::debug!(slot = slot.id(), rv = %rv_name(&e), "skipping unreadable slot");
                false
            }
        })
        .collect();
    match matching.as_slice() {
        [] => Err(TokenError::TokenNotFound {
            label: label.to_owned(),
        }),
        [slot] => Ok(*slot),
        several => Err(TokenError::AmbiguousToken {
            label: label.to_owned(),
            count: several.len(),
        }),
    }
}

/// A slot holding an uninitialised token.
fn free_slot(pkcs11: &Pkcs11) -> Result<Slot, TokenError> {
    let slots = pkcs11
        .get_slots_with_token()
        .map_err(pkcs11_err("C_GetSlotList"))?;
    slots
        .into_iter()
        .find(|slot| {
            pkcs11
                .get_token_info(*slot)
                .is_ok_and(|info| !info.token_initialized())
        })
        .ok_or(TokenError::NoFreeSlot)
}

#[cfg(test)]
mod tests;
