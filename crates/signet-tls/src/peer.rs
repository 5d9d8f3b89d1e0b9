//! Who is on the other end of a connection: the role, name and serial read
//! from the peer's end-entity certificate, and the axum extractors that hand
//! them to handlers.

use std::fmt::Write as _;

use axum::extract::{FromRequestParts, OptionalFromRequestParts};
use axum::http::StatusCode;
use axum::http::request::Parts;
use axum::response::{IntoResponse, Response};
use der::Decode as _;
use rustls_pki_types::CertificateDer;
use x509_cert::Certificate;
use x509_cert::ext::pkix::SubjectAltName;
use x509_cert::ext::pkix::name::GeneralName;

use crate::{ROLE_URI_PREFIX, Role, TlsError};

#[cfg(test)]
mod tests;

/// The authenticated peer of a connection, read from its end-entity
/// certificate after rustls verified the chain.
///
/// `serve_tls` inserts it into every request's extensions when the client
/// presented a certificate that names a role; handlers take it as an
/// extractor (`peer: PeerIdentity`, or `Option<PeerIdentity>` where a client
/// certificate is optional).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PeerIdentity {
    /// The role named by the certificate's `urn:signet:role:<role>` URI.
    pub role: Role,
    /// The subject's first commonName, if any (for logs and audit records).
    pub common_name: Option<String>,
    /// The certificate serial as lowercase hex, without the sign-padding zero
    /// byte DER adds to keep INTEGERs positive.
    pub serial_hex: String,
    /// The end-entity certificate itself, for audit records.
    pub certificate: CertificateDer<'static>,
}

/// The verified end-entity certificate of a TLS client, whether or not it
/// names a Signet role.
///
/// On the RA console, subscribers log in with certificates from the customer
/// PKI; those carry no role, so they yield no [`PeerIdentity`] but still
/// arrive here for the handler to look up.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ClientCertificate(pub CertificateDer<'static>);

/// Reads the Signet identity out of a peer's end-entity certificate.
///
/// This parses and does not verify: call it only on a certificate rustls has
/// already verified against the platform roots (as `serve_tls` and the
/// allowlisting verifier do).
///
/// A certificate must name exactly one role; URIs outside the
/// `urn:signet:role:` namespace are ignored.
pub fn peer_identity(cert: &CertificateDer<'_>) -> Result<PeerIdentity, TlsError> {
    let parsed = Certificate::from_der(cert.as_ref())
        .map_err(|source| TlsError::BadCertificate { source })?;
    let tbs = parsed.tbs_certificate();

    let mut roles: Vec<Role> = Vec::new();
    if let Some((_critical, san)) = tbs
        .get_extension::<SubjectAltName>()
        .map_err(|source| TlsError::BadCertificate { source })?
    {
        for name in san.0.iter() {
            let GeneralName::UniformResourceIdentifier(uri) = name else {
                continue;
            };
            let uri = uri.as_str();
            let Some(role_name) = uri.strip_prefix(ROLE_URI_PREFIX) else {
                continue;
            };
            let role = role_name
                .parse::<Role>()
                .map_err(|_| TlsError::UnknownRole {
                    value: uri.to_owned(),
                })?;
            if !roles.contains(&role) {
                roles.push(role);
            }
        }
    }
    let role = match roles.as_slice() {
        [] => return Err(TlsError::NoRole),
        [role] => *role,
        _ => {
            return Err(TlsError::MultipleRoles {
                roles: roles.iter().map(ToString::to_string).collect(),
            });
        }
    };

    let common_name = tbs
        .subject()
        .common_name()
        .map_err(|source| TlsError::BadCertificate { source })?
        .map(|cn| cn.value().into_owned());

    Ok(PeerIdentity {
        role,
        common_name,
        serial_hex: serial_hex(tbs.serial_number().as_bytes()),
        certificate: cert.clone().into_owned(),
    })
}

/// Lowercase hex of a serial's INTEGER content, minus leading zero bytes
/// (RFC 5280 §4.1.2.2 serials are positive; the zero is only DER's sign
/// padding). Zero itself prints as `"00"`.
fn serial_hex(bytes: &[u8]) -> String {
    let first_nonzero = bytes.iter().position(|b| *b != 0).unwrap_or(bytes.len());
    let significant = bytes.get(first_nonzero..).unwrap_or_default();
    if significant.is_empty() {
        return "00".to_owned();
    }
    let mut out = String::with_capacity(significant.len() * 2);
    for b in significant {
        // Writing to a String cannot fail.
        let _ = write!(out, "{b:02x}");
    }
    out
}

/// The rejection of the [`PeerIdentity`] extractor: the request came without
/// a client certificate naming a Signet role.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct MissingPeerIdentity;

impl IntoResponse for MissingPeerIdentity {
    fn into_response(self) -> Response {
        (
            StatusCode::UNAUTHORIZED,
            "a client certificate naming a Signet role is required",
        )
            .into_response()
    }
}

impl<S: Send + Sync> FromRequestParts<S> for PeerIdentity {
    type Rejection = MissingPeerIdentity;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        parts
            .extensions
            .get::<PeerIdentity>()
            .cloned()
            .ok_or(MissingPeerIdentity)
    }
}

impl<S: Send + Sync> OptionalFromRequestParts<S> for PeerIdentity {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(
        parts: &mut Parts,
        _state: &S,
    ) -> Result<Option<Self>, Self::Rejection> {
        Ok(parts.extensions.get::<PeerIdentity>().cloned())
    }
}

impl<S: Send + Sync> OptionalFromRequestParts<S> for ClientCertificate {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(
        parts: &mut Parts,
        _state: &S,
    ) -> Result<Option<Self>, Self::Rejection> {
        Ok(parts.extensions.get::<ClientCertificate>().cloned())
    }
}
