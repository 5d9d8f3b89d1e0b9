//! Certificate verifiers that add Signet's role check to webpki's.
//!
//! Both wrap the stock webpki verifier and run it first: the role is read only
//! from a certificate whose chain, validity period and extended key usage are
//! already verified, never from one the peer merely presented.

use std::sync::Arc;

use rustls::client::WebPkiServerVerifier;
use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::server::danger::{ClientCertVerified, ClientCertVerifier};
use rustls::{CertificateError, DigitallySignedStruct, DistinguishedName, SignatureScheme};
use rustls_pki_types::{CertificateDer, ServerName, UnixTime};

use crate::{AllowedPeers, peer_identity};

#[cfg(test)]
mod tests;

/// Requires a client certificate that webpki accepts and whose role is in the
/// allowlist.
///
/// A refusal is `CertificateError::ApplicationVerificationFailure`: the
/// certificate is valid but not welcome here. rustls sends it as the
/// `access_denied` alert (RFC 8446 §6.2: "a valid certificate or PSK was
/// received, but when access control was applied, the sender decided not to
/// proceed"), which is exactly the case and lets the client say so clearly.
#[derive(Debug)]
pub(crate) struct RoleAllowlistVerifier {
    inner: Arc<dyn ClientCertVerifier>,
    allowed: AllowedPeers,
}

impl RoleAllowlistVerifier {
    pub(crate) fn new(inner: Arc<dyn ClientCertVerifier>, allowed: AllowedPeers) -> Self {
        RoleAllowlistVerifier { inner, allowed }
    }
}

impl ClientCertVerifier for RoleAllowlistVerifier {
    fn offer_client_auth(&self) -> bool {
        true
    }

    fn client_auth_mandatory(&self) -> bool {
        true
    }

    fn root_hint_subjects(&self) -> &[DistinguishedName] {
        self.inner.root_hint_subjects()
    }

    fn verify_client_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        now: UnixTime,
    ) -> Result<ClientCertVerified, rustls::Error> {
        let verified = self
            .inner
            .verify_client_cert(end_entity, intermediates, now)?;
        match peer_identity(end_entity) {
            Ok(peer) if self.allowed.contains(peer.role) => Ok(verified),
            Ok(peer) => {
                tracing::debug!(
                    role = %peer.role,
                    serial = %peer.serial_hex,
                    allowed = %self.allowed,
                    "refusing client certificate: role not allowed on this listener"
                );
                Err(CertificateError::ApplicationVerificationFailure.into())
            }
            Err(error) => {
                tracing::debug!(
                    %error,
                    allowed = %self.allowed,
                    "refusing client certificate: no usable Signet role"
                );
                Err(CertificateError::ApplicationVerificationFailure.into())
            }
        }
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        self.inner.verify_tls12_signature(message, cert, dss)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        self.inner.verify_tls13_signature(message, cert, dss)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.inner.supported_verify_schemes()
    }
}

/// Requires a server certificate that webpki accepts for the host name and
/// whose role is one the client expects.
#[derive(Debug)]
pub(crate) struct ServerRoleVerifier {
    inner: Arc<WebPkiServerVerifier>,
    expected: AllowedPeers,
}

impl ServerRoleVerifier {
    pub(crate) fn new(inner: Arc<WebPkiServerVerifier>, expected: AllowedPeers) -> Self {
        ServerRoleVerifier { inner, expected }
    }
}

impl ServerCertVerifier for ServerRoleVerifier {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        server_name: &ServerName<'_>,
        ocsp_response: &[u8],
        now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        let verified = self.inner.verify_server_cert(
            end_entity,
            intermediates,
            server_name,
            ocsp_response,
            now,
        )?;
        match peer_identity(end_entity) {
            Ok(peer) if self.expected.contains(peer.role) => Ok(verified),
            Ok(peer) => {
                tracing::debug!(
                    role = %peer.role,
                    expected = %self.expected,
                    "refusing server certificate: not the role this client expects"
                );
                Err(CertificateError::ApplicationVerificationFailure.into())
            }
            Err(error) => {
                tracing::debug!(%error, "refusing server certificate: no usable Signet role");
                Err(CertificateError::ApplicationVerificationFailure.into())
            }
        }
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        self.inner.verify_tls12_signature(message, cert, dss)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        self.inner.verify_tls13_signature(message, cert, dss)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.inner.supported_verify_schemes()
    }
}
