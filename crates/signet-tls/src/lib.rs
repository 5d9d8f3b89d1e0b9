//! Mutual TLS between Signet's services.
//!
//! The platform CA gives every service, and the administrator's CLI, a
//! certificate naming its [`Role`] in a `urn:signet:role:<role>` URI. This
//! crate turns those certificates into rustls configurations where each
//! listener accepts only the roles it expects ([`server_config`] with
//! [`AllowedPeers`]), serves axum routers over them with deadlines against
//! slow clients ([`serve_tls`], [`serve_plain`]), hands handlers the
//! authenticated [`PeerIdentity`], and gives clients an mTLS connector for
//! hyper ([`https_client`]).
//!
//! One crypto provider, aws-lc-rs, is used throughout ([`crypto_provider`]).

#![forbid(unsafe_code)]

mod config;
mod connector;
mod describe;
mod error;
mod identity;
mod peer;
mod role;
mod serve;
mod verifier;

#[cfg(test)]
mod test_pki;

pub use config::{
    ALPN_H2, ALPN_HTTP11, CIPHER_SUITES, PROTOCOL_VERSIONS, client_config, client_config_expecting,
    crypto_provider, server_config, server_config_optional_client,
};
pub use connector::{
    DEFAULT_CONNECT_TIMEOUT, MtlsConnector, MtlsStream, https_client, probe_refusal,
};
pub use describe::{describe_handshake_error, tls_refusal};
pub use error::TlsError;
pub use identity::{Identity, load_roots, load_roots_from_pem};
pub use peer::{ClientCertificate, MissingPeerIdentity, PeerIdentity, peer_identity};
pub use role::{AllowedPeers, ROLE_URI_PREFIX, Role};
pub use serve::{ServeOptions, serve_plain, serve_tls};

/// rustls, re-exported so that services name the same types this crate uses.
pub use rustls;
