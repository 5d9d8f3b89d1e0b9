//! The RA's errors. `web/errors.rs` alone maps them to HTTP responses.
//!
//! Messages never carry secrets or personal data: no passwords, TOTP
//! codes or secrets, PINs, ID numbers or phone numbers, and for logins
//! not even whether the username exists.

/// Why an RA operation failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum RaError {
    /// The configuration is unusable.
    #[error("configuration: {reason}")]
    Config {
        /// What is wrong.
        reason: String,
    },
    /// A form field is missing or malformed. `key` names the message in
    /// the translation tables (`error.*`).
    #[error("invalid {field}")]
    Invalid {
        /// Which field.
        field: &'static str,
        /// Translation key of the explanation.
        key: &'static str,
    },
    /// A login failed. Deliberately says nothing more.
    #[error("login failed")]
    LoginFailed,
    /// Too many login attempts from one address.
    #[error("too many login attempts; wait a minute")]
    RateLimited,
    /// No valid session: log in first.
    #[error("not logged in")]
    Unauthenticated,
    /// The caller's role or scope does not allow this.
    #[error("not allowed: {action}")]
    Forbidden {
        /// What was asked.
        action: &'static str,
    },
    /// The anti-CSRF token was absent or wrong.
    #[error("missing or invalid anti-CSRF token")]
    Csrf,
    /// Nothing of that kind with that id (or not in the caller's scope).
    #[error("{what} not found")]
    NotFound {
        /// What was looked for.
        what: &'static str,
    },
    /// The change conflicts with the current state. `key` names the
    /// message in the translation tables.
    #[error("conflict: {key}")]
    Conflict {
        /// Translation key of the explanation.
        key: &'static str,
    },
    /// A stored value failed its integrity check (AES-GCM tag or keyed
    /// digest): it was changed outside the RA.
    #[error("stored {what} failed its integrity check")]
    Tampered {
        /// Which value (a column name, never its content).
        what: &'static str,
    },
    /// The RA is already initialised (the ceremony ran before).
    #[error("the RA database is already initialised")]
    AlreadyInitialized,
    /// A CSR sent through the REST API is not a valid, correctly signed
    /// PKCS#10 request; `reason` is the same explanation the CA gives.
    #[error("{reason}")]
    BadCsr {
        /// Why, in one line (no key material).
        reason: String,
    },
    /// The REST API was asked for a profile this RA does not offer.
    #[error("unknown profile `{name}`")]
    UnknownProfile {
        /// The name asked for.
        name: String,
    },
    /// The REST API was asked to enroll for a dual profile: its answer
    /// has no place for the encryption certificate and the enveloped key.
    #[error(
        "profile `{name}` issues dual certificates; the REST API does not deliver the encryption certificate and key yet"
    )]
    DualNotAvailable {
        /// The profile.
        name: String,
    },
    /// The CA refused the call (a bad CSR for the profile, a status
    /// change the certificate's state does not allow). `message` is the
    /// CA's own explanation, which never carries secrets.
    #[error("the CA refused: {message}")]
    CaRefused {
        /// The CA's stable error code.
        code: String,
        /// The CA's explanation.
        message: String,
    },
    /// The CA could not be reached or did not answer; the call may be
    /// retried (issuance is idempotent).
    #[error("the CA is unavailable: {reason}")]
    CaUnavailable {
        /// What went wrong, one line.
        reason: String,
    },
    /// The KMC refused the call (a second approval by the requester, a
    /// delivery before enough approvals, an unknown key). `message` is the
    /// KMC's own explanation, which never carries key material.
    #[error("the KMC refused: {message}")]
    KmcRefused {
        /// The KMC's stable error code (`requester_cannot_approve`, ...).
        code: String,
        /// The KMC's explanation.
        message: String,
    },
    /// The KMC could not be reached or did not answer.
    #[error("the KMC is unavailable: {reason}")]
    KmcUnavailable {
        /// What went wrong, one line.
        reason: String,
    },
    /// `ra.toml` has no `[kmc]` table: key recovery and key health are off.
    #[error("no KMC is configured")]
    KmcNotConfigured,
    /// The token failed.
    #[error("token: {0}")]
    Token(#[from] signet_token::TokenError),
    /// The database failed.
    #[error("database: {0}")]
    Store(#[from] signet_store::StoreError),
    /// TLS setup failed.
    #[error("tls: {0}")]
    Tls(#[from] signet_tls::TlsError),
    /// Listening or file access failed.
    #[error("i/o: {0}")]
    Io(#[from] std::io::Error),
    /// A bug or an impossible state; details are in the log.
    #[error("internal error: {reason}")]
    Internal {
        /// What went wrong (no secrets).
        reason: String,
    },
}

impl RaError {
    /// An internal error with a reason for the log.
    pub(crate) fn internal(reason: impl Into<String>) -> Self {
        RaError::Internal {
            reason: reason.into(),
        }
    }
}
