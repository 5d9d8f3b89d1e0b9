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
pub mod crl;
pub mod csr;
pub mod envelope;
pub mod issuance;
pub mod lint;
pub mod names;
pub mod ocsp;

pub mod pem;
pub mod pkcs12;
pub mod profile;
pub mod public_key;
pub mod revocation;
pub mod serial;
pub mod shamir;
pub mod signer;
pub mod subscriber_key;

pub use algorithm::{HashAlgorithm, KeyType, SignatureAlgorithm};
pub use clock::{Clock, FixedClock, SystemClock, Timestamp};
pub use csr::{CsrError, VerifiedCsr};
pub use issuance::{
    CertificateRequest, IssuanceToken, IssueError, IssuedCertificate, Issuer, IssuerUrls, prepare,
    prepare_self_signed,
};
pub use lint::LintFailure;
pub use profile::{Profile, ProfileConfig, ProfileError};
pub use public_key::{KeyError, SignatureError, SubjectKey};
pub use revocation::{CertificateStatus, RevocationReason};
pub use serial::Serial;
pub use signer::{SignError, Signer, SoftwareSigner};
