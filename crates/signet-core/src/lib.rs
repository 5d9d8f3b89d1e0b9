//! Signet's PKI domain, free of I/O: algorithms and keys, CSR checks,
//! certificate profiles, TBS building and linting, serial numbers,
//! revocation, CRL and OCSP structures.
//!
//! Everything that touches a token, a database or the network lives in
//! other crates and reaches this one through traits ([`Signer`],
//! [`Clock`]).

#![forbid(unsafe_code)]

pub mod algorithm;
pub mod clock;
pub mod signer;

pub use algorithm::{HashAlgorithm, KeyType, SignatureAlgorithm};
pub use clock::{Clock, FixedClock, SystemClock, Timestamp};
pub use signer::{SignError, Signer, SoftwareSigner};
