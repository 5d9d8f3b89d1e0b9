//! The CA's errors. `http/errors.rs` alone maps them to HTTP statuses.

use signet_core::{CsrError, IssueError};

/// Why a CA operation failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum CaError {
    /// The configuration is unusable.
    #[error("configuration: {reason}")]
    Config {
        /// What is wrong.
        reason: String,
    },
    /// A request field is malformed.
    #[error("{field}: {reason}")]
    BadRequest {
        /// Which field.
        field: &'static str,
        /// What is wrong with it.
        reason: String,
    },
    /// The CSR is refused.
    #[error(transparent)]
    Csr(#[from] CsrError),
    /// Issuance is refused (profile rules, lint, issuer).
    #[error(transparent)]
    Issue(#[from] IssueError),
    /// No profile of that name.
    #[error("unknown profile `{name}`")]
    UnknownProfile {
        /// The name asked for.
        name: String,
    },
    /// No issuer of that name.
    #[error("unknown issuer `{name}`")]
    UnknownIssuer {
        /// The name asked for.
        name: String,
    },
    /// A request id already used for a different request.
    #[error("request id `{request_id}` was already used for a different request")]
    RequestIdReused {
        /// The id.
        request_id: String,
    },
    /// The same request id is being issued by another call right now and
    /// did not finish in time.
    #[error("request id `{request_id}` is still being processed; retry later")]
    InProgress {
        /// The id.
        request_id: String,
    },
    /// No certificate with that serial.
    #[error("no certificate with serial {serial}")]
    NotFound {
        /// The serial.
        serial: String,
    },
    /// The serial exists under several issuers.
    #[error("serial {serial} exists under several issuers; name the issuer")]
    AmbiguousSerial {
        /// The serial.
        serial: String,
    },
    /// The certificate is already in the requested state.
    #[error("certificate {serial} is already {status}")]
    AlreadyInState {
        /// The serial.
        serial: String,
        /// Its status (with the reason when revoked).
        status: String,
    },
    /// The change is not possible from the current state.
    #[error("certificate {serial} is {status}: cannot {action}")]
    NotAllowed {
        /// The serial.
        serial: String,
        /// Its status.
        status: String,
        /// What was asked.
        action: &'static str,
    },
    /// The caller's role may not do this.
    #[error("role `{role}` may not {action}")]
    Forbidden {
        /// The caller's role.
        role: String,
        /// What was asked.
        action: &'static str,
    },
    /// A batch with more requests than allowed.
    #[error("batch of {count} requests exceeds the limit of {max}")]
    BatchTooLarge {
        /// Requests sent.
        count: usize,
        /// Configured maximum.
        max: usize,
    },
    /// A dual-certificate request without a KMC configured, or for a
    /// profile that is not dual.
    #[error("dual certificates: {reason}")]
    DualNotAvailable {
        /// Why.
        reason: String,
    },
    /// The KMC refused or failed a key pair request (dual certificates).
    #[error("KMC: {reason}")]
    Kmc {
        /// The KMC's answer or the transport failure, in one line.
        reason: String,
        /// True when the KMC answered with a refusal (the request is at
        /// fault), false when it could not be reached or failed.
        refused: bool,
    },
    /// The token failed.
    #[error("token: {0}")]
    Token(#[from] signet_token::TokenError),
    /// The database failed.
    #[error("database: {0}")]
    Store(#[from] signet_store::StoreError),
    /// TLS setup failed.
    #[error("tls: {0}")]
    Tls(#[from] signet_tls::TlsError),
    /// Listening failed.
    #[error("cannot listen: {0}")]
    Io(#[from] std::io::Error),
}
