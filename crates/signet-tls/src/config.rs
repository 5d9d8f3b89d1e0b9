//! rustls configurations for Signet's listeners and clients.
//!
//! One crypto provider for the whole workspace (aws-lc-rs), always passed
//! explicitly with `builder_with_provider`, so no dependency can switch the
//! process to another provider behind our back (see STACK.md, "Mutual TLS").

use std::sync::Arc;

use rustls::client::WebPkiServerVerifier;
use rustls::crypto::{CryptoProvider, aws_lc_rs};
use rustls::server::WebPkiClientVerifier;
use rustls::server::danger::ClientCertVerifier;
use rustls::sign::SingleCertAndKey;
use rustls::{
    ClientConfig, RootCertStore, ServerConfig, SupportedCipherSuite, SupportedProtocolVersion,
};

use crate::verifier::{RoleAllowlistVerifier, ServerRoleVerifier};
use crate::{AllowedPeers, Identity, TlsError};

#[cfg(test)]
mod tests;

/// TLS 1.3 and TLS 1.2, nothing older: TLS 1.0/1.1 are deprecated by RFC 8996.
pub static PROTOCOL_VERSIONS: &[&SupportedProtocolVersion] =
    &[&rustls::version::TLS13, &rustls::version::TLS12];

/// The cipher suites Signet offers and accepts, in preference order.
///
/// TLS 1.3: AES-GCM and ChaCha20-Poly1305. TLS 1.2: ECDHE key exchange (forward
/// secrecy) with an AEAD only, as RFC 9325 §4.2 recommends; no CBC, no static
/// RSA key exchange, no SHA-1 MACs. rustls cannot speak the weak suites at all;
/// the list is spelled out so that a future rustls adding suites to its
/// defaults does not widen ours silently.
pub static CIPHER_SUITES: &[SupportedCipherSuite] = &[
    aws_lc_rs::cipher_suite::TLS13_AES_256_GCM_SHA384,
    aws_lc_rs::cipher_suite::TLS13_AES_128_GCM_SHA256,
    aws_lc_rs::cipher_suite::TLS13_CHACHA20_POLY1305_SHA256,
    aws_lc_rs::cipher_suite::TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384,
    aws_lc_rs::cipher_suite::TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256,
    aws_lc_rs::cipher_suite::TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256,
    aws_lc_rs::cipher_suite::TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384,
    aws_lc_rs::cipher_suite::TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256,
    aws_lc_rs::cipher_suite::TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256,
];

/// ALPN identifier of HTTP/2 (RFC 9113 §3.2).
pub const ALPN_H2: &[u8] = b"h2";
/// ALPN identifier of HTTP/1.1 (RFC 7301 §6).
pub const ALPN_HTTP11: &[u8] = b"http/1.1";

/// The aws-lc-rs provider restricted to [`CIPHER_SUITES`].
pub fn crypto_provider() -> Arc<CryptoProvider> {
    Arc::new(CryptoProvider {
        cipher_suites: CIPHER_SUITES.to_vec(),
        ..aws_lc_rs::default_provider()
    })
}

/// A server configuration for service-to-service mutual TLS.
///
/// The client must present a certificate that chains to `client_roots`, is
/// valid now, allows clientAuth, and names a role in `allowed`; otherwise the
/// handshake fails with an alert (certificate_required, unknown_ca,
/// unsupported_certificate or access_denied) and no request is ever read.
/// ALPN offers `h2` then `http/1.1`.
pub fn server_config(
    identity: &Identity,
    client_roots: Arc<RootCertStore>,
    allowed: AllowedPeers,
) -> Result<Arc<ServerConfig>, TlsError> {
    if allowed.is_empty() {
        return Err(TlsError::EmptyAllowlist);
    }
    let provider = crypto_provider();
    let webpki = WebPkiClientVerifier::builder_with_provider(client_roots, provider.clone())
        .build()
        .map_err(|source| TlsError::Verifier { source })?;
    let verifier = Arc::new(RoleAllowlistVerifier::new(webpki, allowed));
    build_server(provider, verifier, identity)
}

/// A server configuration where a client certificate is optional.
///
/// For the RA console: browsers log in with a password, or with a certificate
/// from any of `client_roots` (which may include customer CAs). A certificate
/// that is presented must still verify; no role allowlist applies, so handlers
/// decide what the (possibly role-less) certificate may do.
pub fn server_config_optional_client(
    identity: &Identity,
    client_roots: Arc<RootCertStore>,
) -> Result<Arc<ServerConfig>, TlsError> {
    let provider = crypto_provider();
    let verifier = WebPkiClientVerifier::builder_with_provider(client_roots, provider.clone())
        .allow_unauthenticated()
        .build()
        .map_err(|source| TlsError::Verifier { source })?;
    build_server(provider, verifier, identity)
}

fn build_server(
    provider: Arc<CryptoProvider>,
    verifier: Arc<dyn ClientCertVerifier>,
    identity: &Identity,
) -> Result<Arc<ServerConfig>, TlsError> {
    let mut config = ServerConfig::builder_with_provider(provider)
        .with_protocol_versions(PROTOCOL_VERSIONS)?
        .with_client_cert_verifier(verifier)
        .with_cert_resolver(Arc::new(SingleCertAndKey::from(
            identity.certified_key().clone(),
        )));
    config.alpn_protocols = alpn();
    Ok(Arc::new(config))
}

/// A client configuration that presents `identity` and verifies the server
/// against `server_roots` and the host name it connects to.
pub fn client_config(
    identity: &Identity,
    server_roots: Arc<RootCertStore>,
) -> Result<Arc<ClientConfig>, TlsError> {
    let mut config = ClientConfig::builder_with_provider(crypto_provider())
        .with_protocol_versions(PROTOCOL_VERSIONS)?
        .with_root_certificates(server_roots)
        .with_client_cert_resolver(Arc::new(SingleCertAndKey::from(
            identity.certified_key().clone(),
        )));
    config.alpn_protocols = alpn();
    Ok(Arc::new(config))
}

/// Like [`client_config`], and the server's certificate must also name one of
/// the `expected` roles.
///
/// When several services share a host (`signet up` puts them all on
/// 127.0.0.1), every service certificate is valid for that host name: the host
/// name alone cannot tell the CA from the OCSP responder. Checking the role
/// means a stolen OCSP key cannot pose as the CA to the RA.
pub fn client_config_expecting(
    identity: &Identity,
    server_roots: Arc<RootCertStore>,
    expected: AllowedPeers,
) -> Result<Arc<ClientConfig>, TlsError> {
    if expected.is_empty() {
        return Err(TlsError::EmptyAllowlist);
    }
    let provider = crypto_provider();
    let webpki = WebPkiServerVerifier::builder_with_provider(server_roots, provider.clone())
        .build()
        .map_err(|source| TlsError::Verifier { source })?;
    let mut config = ClientConfig::builder_with_provider(provider)
        .with_protocol_versions(PROTOCOL_VERSIONS)?
        // "dangerous" only in name: the verifier runs the full webpki check
        // first and then adds the role check.
        .dangerous()
        .with_custom_certificate_verifier(Arc::new(ServerRoleVerifier::new(webpki, expected)))
        .with_client_cert_resolver(Arc::new(SingleCertAndKey::from(
            identity.certified_key().clone(),
        )));
    config.alpn_protocols = alpn();
    Ok(Arc::new(config))
}

fn alpn() -> Vec<Vec<u8>> {
    vec![ALPN_H2.to_vec(), ALPN_HTTP11.to_vec()]
}
