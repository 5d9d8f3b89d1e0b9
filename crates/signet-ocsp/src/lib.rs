//! The OCSP/CRL responder: RFC 6960 OCSP over plain HTTP (POST and the
//! RFC 5019 GET form), CRL downloads and the issuer certificates named in
//! AIA caIssuers, for every issuer of the CA database that has a
//! delegated OCSP signer.
//!
//! It is stateless: it reads the CA's database (read-only; a replica is
//! enough) and signs with delegated responder keys in the token, so any
//! number of responders can serve one CA. Responses to requests without
//! a nonce are pre-signed and cached until half their validity has passed
//! or the CA's status-change feed reports a change to the certificate,
//! which reaches the answers within about `poll_interval`.

#![forbid(unsafe_code)]

mod cache;
mod config;
mod crls;
mod error;
mod feed;
mod http;
mod issuers;
mod metrics;
mod responder;
mod service;

pub use config::{DatabaseConfig, OcspConfig, ResponsesConfig, ServerConfig, Unissued};
pub use error::OcspServiceError;
pub use service::{RunningOcsp, start};
