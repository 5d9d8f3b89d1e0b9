//! The responder's service errors: what stops it from starting or running.
//!
//! What goes wrong with one OCSP request is an [`signet_core::ocsp::OcspError`]
//! (its variants are the RFC 6960 response statuses); a CRL or CA
//! certificate download that cannot be served is a [`DownloadError`].
//! `http/errors.rs` alone turns either into an HTTP response.

/// Why the responder cannot start or keep running.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum OcspServiceError {
    /// The configuration is unusable.
    #[error("configuration: {reason}")]
    Config {
        /// What is wrong.
        reason: String,
    },
    /// The token cannot be opened, or a signer key is unusable.
    #[error("token: {0}")]
    Token(#[from] signet_token::TokenError),
    /// The CA database cannot be read.
    #[error("database: {0}")]
    Store(#[from] signet_store::StoreError),
    /// A database read took longer than `database.query_timeout`.
    #[error("database: no answer within {timeout:?}")]
    StoreTimeout {
        /// The configured limit.
        timeout: std::time::Duration,
    },
    /// Listening failed.
    #[error("cannot listen: {0}")]
    Io(#[from] std::io::Error),
    /// A background task ended unexpectedly.
    #[error("task failed: {what}")]
    Task {
        /// Which task.
        what: &'static str,
    },
}

/// Why a CRL or CA certificate download is not served.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum DownloadError {
    /// No issuer, shard or published CRL of that name.
    #[error("not found")]
    NotFound,
    /// The database could not be read and no copy is held.
    #[error("temporarily unavailable")]
    Unavailable,
}
