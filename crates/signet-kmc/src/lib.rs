//! The key management centre (KMC): encryption keys for dual certificates.
//!
//! In dual-certificate PKI (GM/T 0014/0015 in China) a subscriber signs with
//! a key of its own and decrypts with a key the KMC generates and escrows,
//! so that data encrypted to it can be recovered when the key is lost. The
//! KMC:
//!
//! - generates encryption key pairs for the CA (SM2, P-256, P-384,
//!   RSA-3072), escrows the private key and returns it enveloped to the
//!   subscriber's signing key (`signet_core::envelope`): GM/T 0009
//!   `SM2EnvelopedKey` for SM2, CMS `AuthEnvelopedData` otherwise;
//! - keeps every escrowed key under a hierarchy: a root storage key in the
//!   token, a master key per business domain wrapped by it, working keys
//!   wrapped by a master, all versioned and rotated ([`hierarchy`]);
//! - recovers keys on an officer's request approved by other officers
//!   ([`Kmc::request_recovery`]), archives, revokes and destroys them with
//!   their certificates;
//! - backs the root storage key up as Shamir shares for custodians
//!   ([`ceremony`]);
//! - encrypts and decrypts for business systems under named data keys that
//!   never leave it ([`Kmc::encrypt`]).
//!
//! It serves all that over mutual TLS ([`start`]); the API is described in
//! `signet_api::kmc`, the design in docs/kmc.md.

#![forbid(unsafe_code)]

mod aead;
mod audit;
pub mod ceremony;
mod config;
mod data_keys;
mod error;
mod escrow;
pub mod hierarchy;
mod http;
mod kmc;
mod metrics;
mod recovery;
pub mod service;
pub mod shares;

pub use aead::Algorithm;
pub use audit::Caller;
pub use config::{
    DataKeyConfig, DatabaseConfig, EscrowConfig, HierarchyConfig, KmcConfig, RecoveryConfig,
    ServerConfig, render_config,
};
pub use error::KmcError;
pub use escrow::{GeneratedKeyPair, KeyPairCommand};
pub use kmc::Kmc;
pub use metrics::KmcMetrics;
pub use recovery::Delivery;
pub use service::{RunningKmc, start};
