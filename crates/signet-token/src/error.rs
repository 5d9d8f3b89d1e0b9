//! The crate's one error type.
//!
//! Messages carry labels, file names and PKCS#11 return codes, never a PIN,
//! key bytes or plaintext: they end up in logs and in `signet` output.

use std::path::PathBuf;

use cryptoki::error::{Error as CryptokiError, RvError};

/// Why a token operation failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum TokenError {
    /// The PKCS#11 module could not be loaded or `C_Initialize` failed
    /// (with SoftHSM2, often a missing or unreadable `SOFTHSM2_CONF`).
    #[error("cannot load PKCS#11 module {}: {reason}", module.display())]
    ModuleLoad {
        /// The module's path.
        module: PathBuf,
        /// What went wrong.
        reason: String,
    },
    /// No token with this label is present in the module.
    #[error("no token labelled {label:?} is present")]
    TokenNotFound {
        /// The label that was looked for.
        label: String,
    },
    /// Several tokens carry this label; Signet refuses to guess which one
    /// holds the CA keys.
    #[error("{count} tokens are labelled {label:?}; token labels must be unique")]
    AmbiguousToken {
        /// The duplicated label.
        label: String,
        /// How many tokens carry it.
        count: usize,
    },
    /// `Token::initialize` was asked for a label that a token already has.
    #[error("a token labelled {label:?} already exists")]
    TokenExists {
        /// The label in use.
        label: String,
    },
    /// The module has no uninitialised token to initialise.
    #[error("no free slot: the module has no uninitialised token")]
    NoFreeSlot,
    /// A token or object label that cannot be used.
    #[error("invalid label {label:?}: {reason}")]
    InvalidLabel {
        /// The refused label.
        label: String,
        /// Why it was refused.
        reason: &'static str,
    },
    /// The label belongs to an object Signet manages itself (the SM2
    /// wrapping key) and cannot be used through this call.
    #[error("label {label:?} is reserved for Signet's own use")]
    ReservedLabel {
        /// The reserved label.
        label: String,
    },
    /// `C_Login` (or `C_InitPIN` during initialisation) was refused.
    #[error("login to token {label:?} failed: {rv}")]
    Login {
        /// The token's label.
        label: String,
        /// The PKCS#11 return code, e.g. `CKR_PIN_INCORRECT`.
        rv: String,
    },
    /// The PIN could not be read from its configured source.
    #[error("cannot read the token PIN from {origin}: {reason}")]
    PinSource {
        /// Where the PIN was to come from ("file /etc/signet/pin",
        /// "environment variable SIGNET_PIN"), never the PIN itself.
        origin: String,
        /// What went wrong.
        reason: String,
    },
    /// No key (or wrapped key) with this label is in the token.
    #[error("no key labelled {label:?} in the token")]
    KeyNotFound {
        /// The label that was looked for.
        label: String,
    },
    /// An object with this label already exists; keys are never replaced
    /// implicitly.
    #[error("an object labelled {label:?} already exists in the token")]
    KeyExists {
        /// The label in use.
        label: String,
    },
    /// The key type or the operation asked of it is not supported.
    #[error("unsupported key type {key_type}: {reason}")]
    UnsupportedKeyType {
        /// The key type (Signet's name or the token's).
        key_type: String,
        /// Why it cannot be used.
        reason: &'static str,
    },
    /// The objects under a label are not what Signet stores there (missing
    /// public half, malformed EC point, unexpected blob).
    #[error("key {label:?} is malformed: {reason}")]
    MalformedKey {
        /// The key's label.
        label: String,
        /// What is wrong with it.
        reason: &'static str,
    },
    /// A PKCS#11 call failed.
    #[error("PKCS#11 {operation} failed: {rv}")]
    Pkcs11 {
        /// The PKCS#11 function or the step that failed (`C_Sign`).
        operation: &'static str,
        /// The return code, e.g. `CKR_DEVICE_ERROR`.
        rv: String,
    },
    /// AES-GCM decryption failed: wrong key, wrong associated data, or a
    /// damaged or tampered blob.
    #[error("cannot decrypt with key {label:?}: wrong key or associated data, or damaged data")]
    Decrypt {
        /// The label of the AES key (or of the wrapped SM2 key).
        label: String,
    },
}

/// A PKCS#11 return code as the specification spells it (`CKR_PIN_INCORRECT`),
/// or the library's message for errors that are not return codes.
pub(crate) fn rv_name(err: &CryptokiError) -> String {
    match err {
        CryptokiError::Pkcs11(rv, _) => ckr_name(rv),
        other => other.to_string(),
    }
}

/// `RvError::PinIncorrect` -> `CKR_PIN_INCORRECT`.
fn ckr_name(rv: &RvError) -> String {
    let debug = format!("{rv:?}");
    if !debug.chars().all(|c| c.is_ascii_alphanumeric()) {
        // Vendor-defined and unknown codes carry the number: keep it.
        return format!("CKR_{debug}");
    }
    let mut name = String::from("CKR");
    for c in debug.chars() {
        if c.is_ascii_uppercase() {
            name.push('_');
        }
        name.push(c.to_ascii_uppercase());
    }
    name
}

/// Maps a cryptoki error from `operation` to [`TokenError::Pkcs11`].
pub(crate) fn pkcs11_err(operation: &'static str) -> impl FnOnce(CryptokiError) -> TokenError {
    move |err| TokenError::Pkcs11 {
        operation,
        rv: rv_name(&err),
    }
}

/// [`TokenError::MalformedKey`] for `label`.
pub(crate) fn malformed(label: &str, reason: &'static str) -> TokenError {
    TokenError::MalformedKey {
        label: label.to_owned(),
        reason,
    }
}

/// Whether `err` is the PKCS#11 return code `rv`.
pub(crate) fn is_rv(err: &CryptokiError, rv: RvError) -> bool {
    matches!(err, CryptokiError::Pkcs11(got, _) if *got == rv)
}

#[cfg(test)]
mod tests;
