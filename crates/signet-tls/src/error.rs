//! The crate's one error type.
//!
//! Messages name files, roles and URIs but never key material: they end up in
//! logs and on an operator's terminal.

use std::path::PathBuf;

/// Everything that can go wrong while loading identities and trust anchors,
/// building TLS configurations or reading a peer's certificate.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum TlsError {
    /// A PEM file could not be read.
    #[error("cannot read {}: {source}", path.display())]
    ReadFile {
        /// The file that was asked for.
        path: PathBuf,
        /// What the operating system said.
        source: std::io::Error,
    },

    /// The PEM text is malformed (bad base64, unterminated section, ...).
    #[error("malformed PEM in {origin}: {source}")]
    BadPem {
        /// The file's path, or `"in-memory PEM"`.
        origin: String,
        /// What the PEM reader said.
        source: rustls_pki_types::pem::Error,
    },

    /// The PEM text holds no `CERTIFICATE` section.
    #[error("no certificate found in {origin}")]
    NoCertificate {
        /// The file's path, or `"in-memory PEM"`.
        origin: String,
    },

    /// The PEM text holds no private key (PKCS#8, SEC1 or PKCS#1).
    #[error("no private key found in {origin}")]
    NoPrivateKey {
        /// The file's path, or `"in-memory PEM"`.
        origin: String,
    },

    /// The private key is of an unsupported type or does not belong to the
    /// end-entity certificate.
    #[error("unusable private key in {origin}: {source}")]
    BadPrivateKey {
        /// The file's path, or `"in-memory PEM"`.
        origin: String,
        /// Why rustls refused it (never the key itself).
        source: rustls::Error,
    },

    /// A trust anchor could not be added to a root store.
    #[error("unusable trust anchor in {origin}: {source}")]
    BadTrustAnchor {
        /// The file's path, or `"in-memory PEM"`.
        origin: String,
        /// Why webpki refused it.
        source: rustls::Error,
    },

    /// A certificate is not valid DER or not a well-formed X.509 certificate.
    #[error("cannot parse certificate: {source}")]
    BadCertificate {
        /// What the DER decoder said.
        source: der::Error,
    },

    /// The certificate carries no `urn:signet:role:<role>` URI in its
    /// subjectAltName, so it names no Signet role.
    #[error("certificate carries no Signet role (no urn:signet:role:<role> URI SAN)")]
    NoRole,

    /// A role name, or a role URI in a certificate, is not one Signet knows.
    #[error("unknown Signet role {value:?} (expected one of ca, ra, kmc, ocsp, admin)")]
    UnknownRole {
        /// The role name or the whole URI as found.
        value: String,
    },

    /// The certificate names more than one Signet role; a service identity
    /// must be unambiguous.
    #[error("certificate names more than one Signet role: {}", roles.join(", "))]
    MultipleRoles {
        /// The roles found.
        roles: Vec<String>,
    },

    /// A server would accept no role at all: certainly a configuration mistake.
    #[error("the allowlist of peer roles is empty: no client could ever connect")]
    EmptyAllowlist,

    /// A certificate verifier could not be built (for example, no trust anchors).
    #[error("cannot build certificate verifier: {source}")]
    Verifier {
        /// What rustls said.
        source: rustls::server::VerifierBuilderError,
    },

    /// rustls refused a configuration.
    #[error("TLS configuration error: {0}")]
    Rustls(#[from] rustls::Error),
}
