//! What the CLI reports when a command fails: one line, no secrets.

/// A failed command.
#[derive(Debug, thiserror::Error)]
pub enum CliError {
    /// Bad arguments or files supplied by the user.
    #[error("{0}")]
    Usage(String),
    /// The service refused the request.
    #[error("refused: {0}")]
    Refused(String),
    /// The service could not be reached or failed.
    #[error("{0}")]
    Service(String),
    /// The PKI home is unusable.
    #[error("{0}")]
    Home(String),
    /// A local I/O failure.
    #[error("{0}")]
    Io(#[from] std::io::Error),
    /// Token trouble during a ceremony.
    #[error("token: {0}")]
    Token(#[from] signet_token::TokenError),
    /// CA trouble.
    #[error("{0}")]
    Ca(#[from] signet_ca::CaError),
    /// OCSP responder trouble.
    #[error("OCSP responder: {0}")]
    Ocsp(#[from] signet_ocsp::OcspServiceError),
}

impl CliError {
    /// Exit codes: 2 usage, 3 refused by the service, 1 anything else.
    pub fn exit_code(&self) -> u8 {
        match self {
            CliError::Usage(_) => 2,
            CliError::Refused(_) => 3,
            _ => 1,
        }
    }
}

impl From<signet_api::ClientError> for CliError {
    fn from(e: signet_api::ClientError) -> Self {
        match e {
            signet_api::ClientError::Api { .. } => CliError::Refused(e.to_string()),
            other => CliError::Service(other.to_string()),
        }
    }
}
