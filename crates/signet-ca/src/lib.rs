//! The CA signer: the only process that holds CA keys.
//!
//! It issues certificates from CSRs under named profiles, revokes, suspends
//! and resumes them, over mutual TLS to the RA and the administrator's CLI
//! only. Every certificate is issued on the same linear path: the request
//! is checked and the TBS built and linted (`signet_core::prepare`), the
//! intent is recorded durably (the pending row, with the exact TBS), the
//! token signs, and the certificate is stored before it is returned. A
//! restart finishes whatever was recorded but not stored.

#![forbid(unsafe_code)]

mod authority;
mod config;
pub mod dual;
mod error;
mod http;
mod metrics;
pub mod publication;

pub mod service;

pub use authority::{CertificateAuthority, IssueCommand, Issued, IssuerKey, StatusCommand};
pub use config::{
    CaConfig, DatabaseConfig, IssuanceConfig, IssuerConfig, PublicationConfig, ServerConfig,
};
pub use error::CaError;
pub use metrics::CaMetrics;
pub use service::{RunningCa, start, start_with_dual};
