//! The KMC's errors. `http/errors.rs` alone maps them to HTTP statuses.
//! Messages name keys, requests and officers, never key material.

/// Why a KMC operation failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum KmcError {
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
    /// The caller's role may not do this.
    #[error("role `{role}` may not {action}")]
    Forbidden {
        /// The caller's role.
        role: String,
        /// What was asked.
        action: &'static str,
    },
    /// The client is not on the data key's access list.
    #[error("client `{client}` may not use data key `{key}`")]
    NotAllowed {
        /// The client's common name.
        client: String,
        /// The data key.
        key: String,
    },
    /// Nothing with that id or name.
    #[error("no {what} `{id}`")]
    NotFound {
        /// Kind of thing.
        what: &'static str,
        /// Its id or name.
        id: String,
    },
    /// A request id already used for a different request.
    #[error("request id `{request_id}` was already used for a different request")]
    RequestIdReused {
        /// The id.
        request_id: String,
    },
    /// Something with that name exists already.
    #[error("{what} `{id}` already exists")]
    AlreadyExists {
        /// Kind of thing.
        what: &'static str,
        /// Its name.
        id: String,
    },
    /// The request is not possible in the current state.
    #[error("{what} `{id}` is {state}: cannot {action}")]
    InvalidState {
        /// Kind of thing.
        what: &'static str,
        /// Its id.
        id: String,
        /// Its state.
        state: String,
        /// What was asked.
        action: &'static str,
    },
    /// The officer who filed a recovery cannot approve it.
    #[error("officer `{officer}` filed recovery `{id}` and cannot approve it")]
    RequesterCannotApprove {
        /// The officer.
        officer: String,
        /// The recovery.
        id: String,
    },
    /// An officer approved the same recovery twice.
    #[error("officer `{officer}` already approved recovery `{id}`")]
    AlreadyApproved {
        /// The officer.
        officer: String,
        /// The recovery.
        id: String,
    },
    /// A recovery without enough distinct approvals.
    #[error("recovery `{id}` has {approvals} of {required} required approvals")]
    NotApproved {
        /// The recovery.
        id: String,
        /// Approvals so far.
        approvals: i64,
        /// Approvals needed.
        required: i64,
    },
    /// The key was destroyed (retention ended, or crypto-erased).
    #[error("{what} `{id}` was destroyed")]
    Destroyed {
        /// Kind of key.
        what: &'static str,
        /// Its id or name and version.
        id: String,
    },
    /// A ciphertext that does not decrypt under the named key (wrong key,
    /// wrong associated data, damaged).
    #[error("the ciphertext does not decrypt under data key `{key}`")]
    Decrypt {
        /// The data key.
        key: String,
    },
    /// The KMC has no root storage key yet.
    #[error("the KMC is not initialised: run the key ceremony first")]
    NotInitialized,
    /// The ceremony found an initialised KMC.
    #[error("the KMC is already initialised ({reason})")]
    AlreadyInitialized {
        /// What was found.
        reason: String,
    },
    /// Custodian shares that do not rebuild the root storage key.
    #[error("custodian shares: {reason}")]
    Shares {
        /// What is wrong.
        reason: String,
    },
    /// A wrapped key does not unwrap under the key that should wrap it:
    /// the database and the token do not belong together, or the data was
    /// tampered with.
    #[error("{what} does not unwrap: wrong token or damaged database")]
    Unwrap {
        /// Which key.
        what: String,
    },
    /// Enveloping failed.
    #[error("envelope: {0}")]
    Envelope(#[from] signet_core::envelope::EnvelopeError),
    /// The token failed.
    #[error("token: {0}")]
    Token(#[from] signet_token::TokenError),
    /// The database failed.
    #[error("database: {0}")]
    Store(#[from] signet_store::StoreError),
    /// TLS setup failed.
    #[error("tls: {0}")]
    Tls(#[from] signet_tls::TlsError),
    /// Listening or a file failed.
    #[error("i/o: {0}")]
    Io(#[from] std::io::Error),
    /// An internal step failed (a task died, a cipher refused a key).
    #[error("internal error: {reason}")]
    Internal {
        /// What failed, without secrets.
        reason: &'static str,
    },
}

impl KmcError {
    pub(crate) fn bad(field: &'static str, reason: impl Into<String>) -> Self {
        KmcError::BadRequest {
            field,
            reason: reason.into(),
        }
    }

    pub(crate) fn not_found(what: &'static str, id: impl Into<String>) -> Self {
        KmcError::NotFound {
            what,
            id: id.into(),
        }
    }
}

/// Runs blocking work (token calls, RSA generation) off the async threads.
pub(crate) async fn blocking<T, F>(f: F) -> Result<T, KmcError>
where
    F: FnOnce() -> Result<T, KmcError> + Send + 'static,
    T: Send + 'static,
{
    tokio::task::spawn_blocking(f)
        .await
        .map_err(|_| KmcError::Internal {
            reason: "a blocking task failed",
        })?
}
