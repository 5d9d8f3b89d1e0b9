//! Signet's PKCS#11 token: where CA keys live.
//!
//! [`Token`] opens a token by label through a PKCS#11 module (SoftHSM2 in
//! development and tests, an HSM in production), logs in with a PIN read
//! from a file or the environment, and keeps a pool of sessions so that
//! several threads sign at once.
//!
//! - P-256, P-384 and RSA CA keys are generated in the token, sensitive and
//!   never extractable, and sign there ([`Token::signer`] returns a
//!   [`signet_core::Signer`]).
//! - SM2 keys, which SoftHSM2 cannot hold natively, are kept encrypted
//!   under a non-extractable token AES key and decrypted into zeroizing
//!   memory to sign: protected at rest, not in use (see `wrap.rs`).
//! - Other services encrypt with AES-256-GCM under token keys
//!   ([`Token::aes_gcm_encrypt`]).
//!
//! No PIN or key byte ever appears in a `Debug` output, a log line or an
//! error message.

#![forbid(unsafe_code)]

mod config;
mod ec;
mod error;
mod keygen;
mod module;
mod objects;
mod pin;
mod pool;
mod public_key;
mod signer;
mod softhsm;
#[cfg(feature = "testing")]
pub mod testing;
mod token;
mod wrap;

pub use config::{DEFAULT_MODULE, DEFAULT_SESSIONS, TokenConfig};
pub use error::TokenError;
pub use pin::{Pin, PinSource};
pub use signer::RsaPadding;
pub use softhsm::{SOFTHSM2_CONF_VAR, softhsm_env_matches, write_softhsm_conf};
pub use token::{KeyProtection, Token};
pub use wrap::WRAP_KEY_LABEL;
