//! One clear English line for a failed TLS connection, as the client sees it.
//!
//! A refused client sees only an alert number buried in an error chain
//! (`hyper_util` error -> `hyper::Error` -> `io::Error` -> `rustls::Error`).
//! The CLI prints one line on refusal (ARCHITECTURE.md), so this digs out the
//! rustls error and says what the server meant.

use std::error::Error as StdError;
use std::io;

use rustls::{AlertDescription, CertificateError};

#[cfg(test)]
mod tests;

/// The TLS reason for a failure, when the error carries one (a rustls error
/// or a received alert); `None` when it only says the connection closed.
pub fn tls_refusal(err: &(dyn StdError + 'static)) -> Option<String> {
    if let Some(tls) = find_rustls_error(err) {
        return Some(describe_rustls_error(tls));
    }
    find_alert_in_text(err).map(describe_alert)
}

/// Describes why a TLS connection failed, from the client's side, in one line.
///
/// Accepts any error whose source chain may hold a [`rustls::Error`]: an
/// `io::Error` from tokio-rustls, a `hyper::Error`, or a
/// `hyper_util::client::legacy::Error`. Falls back to the error's own text.
pub fn describe_handshake_error(err: &(dyn StdError + 'static)) -> String {
    if let Some(tls) = find_rustls_error(err) {
        return describe_rustls_error(tls);
    }
    if let Some(alert) = find_alert_in_text(err) {
        return describe_alert(alert);
    }
    if let Some(kind) = io_error_kind(err) {
        match kind {
            io::ErrorKind::ConnectionReset | io::ErrorKind::UnexpectedEof => {
                return "the server closed the connection during the TLS handshake \
                        (it may have refused this client)"
                    .to_owned();
            }
            io::ErrorKind::ConnectionRefused => {
                return "the connection was refused: nothing is listening at that address"
                    .to_owned();
            }
            io::ErrorKind::TimedOut => {
                return "the connection or TLS handshake timed out".to_owned();
            }
            _ => {}
        }
    }
    format!("TLS connection failed: {}", chain_text(err))
}

fn describe_rustls_error(err: &rustls::Error) -> String {
    use rustls::Error as E;
    match err {
        E::AlertReceived(alert) => describe_alert(*alert),
        E::InvalidCertificate(cert) => describe_server_certificate(cert),
        E::NoCertificatesPresented => "the server presented no certificate".to_owned(),
        E::PeerIncompatible(detail) => format!(
            "the server has no TLS version or cipher suite in common with this client ({detail:?})"
        ),
        other => format!("TLS handshake failed: {other}"),
    }
}

/// The alerts [`describe_alert`] has words for.
const DESCRIBED_ALERTS: [AlertDescription; 13] = [
    AlertDescription::AccessDenied,
    AlertDescription::CertificateRequired,
    AlertDescription::UnknownCA,
    AlertDescription::UnsupportedCertificate,
    AlertDescription::BadCertificate,
    AlertDescription::CertificateExpired,
    AlertDescription::CertificateRevoked,
    AlertDescription::CertificateUnknown,
    AlertDescription::DecryptError,
    AlertDescription::ProtocolVersion,
    AlertDescription::HandshakeFailure,
    AlertDescription::InsufficientSecurity,
    AlertDescription::NoApplicationProtocol,
];

/// Finds a received alert in the *text* of the chain.
///
/// Needed for HTTP/2: the h2 crate keeps its errors `Clone` by turning the
/// underlying `io::Error` into its kind and message, so the typed
/// `rustls::Error` is gone and only rustls's Display text,
/// `received fatal alert: AccessDenied`, survives. If rustls ever rewords it,
/// this finds nothing and the caller falls back to the generic line (the
/// integration tests would notice).
fn find_alert_in_text(err: &(dyn StdError + 'static)) -> Option<AlertDescription> {
    const MARKER: &str = "received fatal alert: ";
    chain(err).into_iter().find_map(|current| {
        let text = current.to_string();
        let (_, after) = text.split_once(MARKER)?;
        // The alert's name is the identifier right after the marker.
        let name: String = after
            .chars()
            .take_while(char::is_ascii_alphanumeric)
            .collect();
        DESCRIBED_ALERTS
            .into_iter()
            .find(|alert| format!("{alert:?}") == name)
    })
}

/// What an alert from the server means for this client.
fn describe_alert(alert: AlertDescription) -> String {
    let line = match alert {
        AlertDescription::AccessDenied => {
            "the server refused this client's certificate (role not allowed)"
        }
        AlertDescription::CertificateRequired => "the server requires a client certificate",
        AlertDescription::UnknownCA => {
            "the server does not trust the CA that issued this client's certificate"
        }
        AlertDescription::UnsupportedCertificate => {
            "the server refused this client's certificate: it is not valid for \
             client authentication (extended key usage)"
        }
        AlertDescription::BadCertificate => {
            "the server refused this client's certificate as malformed or unacceptable"
        }
        AlertDescription::CertificateExpired => {
            "the server refused this client's certificate: expired or not yet valid"
        }
        AlertDescription::CertificateRevoked => {
            "the server refused this client's certificate: it has been revoked"
        }
        AlertDescription::CertificateUnknown => "the server refused this client's certificate",
        AlertDescription::DecryptError => {
            "the server could not verify this client's signature or certificate"
        }
        AlertDescription::ProtocolVersion => {
            "the server does not speak this client's TLS version (TLS 1.2 or 1.3 required)"
        }
        AlertDescription::HandshakeFailure | AlertDescription::InsufficientSecurity => {
            "the server found no cipher suite or parameters in common with this client"
        }
        AlertDescription::NoApplicationProtocol => {
            "the server supports none of this client's application protocols (ALPN)"
        }
        other => return format!("the server aborted the TLS handshake (alert {other:?})"),
    };
    line.to_owned()
}

/// What the client's own verification of the server certificate found.
fn describe_server_certificate(err: &CertificateError) -> String {
    use CertificateError as C;
    let line = match err {
        C::UnknownIssuer => {
            "the server's certificate is not issued by a trusted CA (unknown issuer)"
        }
        C::NotValidForName | C::NotValidForNameContext { .. } => {
            "the server's certificate is not valid for the host name connected to"
        }
        C::Expired | C::ExpiredContext { .. } | C::NotValidYet | C::NotValidYetContext { .. } => {
            "the server's certificate is expired or not yet valid"
        }
        C::Revoked => "the server's certificate has been revoked",
        C::InvalidPurpose | C::InvalidPurposeContext { .. } => {
            "the server's certificate is not valid for server authentication \
             (extended key usage)"
        }
        C::ApplicationVerificationFailure => {
            "the server's certificate does not name a role this client expects"
        }
        C::BadSignature => "the server's certificate has a bad signature",
        other => return format!("the server's certificate was rejected: {other}"),
    };
    line.to_owned()
}

/// The error and its sources, outermost first.
///
/// `io::Error::source` skips the error it wraps (it returns the wrapped
/// error's *source*), so an `io::Error` is looked into with `get_ref`.
fn chain<'a>(err: &'a (dyn StdError + 'static)) -> Vec<&'a (dyn StdError + 'static)> {
    // Error chains are short; the bound only guards against a cycle.
    const MAX_DEPTH: usize = 32;
    let mut out = Vec::new();
    let mut next = Some(err);
    while let Some(current) = next {
        if out.len() >= MAX_DEPTH {
            break;
        }
        out.push(current);
        next = match current.downcast_ref::<io::Error>() {
            Some(io) => io
                .get_ref()
                .map(|inner| inner as &(dyn StdError + 'static))
                .or_else(|| current.source()),
            None => current.source(),
        };
    }
    out
}

fn find_rustls_error<'a>(err: &'a (dyn StdError + 'static)) -> Option<&'a rustls::Error> {
    chain(err)
        .into_iter()
        .find_map(|e| e.downcast_ref::<rustls::Error>())
}

/// The innermost `io::Error` kind that says something (not `Other`).
fn io_error_kind(err: &(dyn StdError + 'static)) -> Option<io::ErrorKind> {
    chain(err)
        .into_iter()
        .filter_map(|e| e.downcast_ref::<io::Error>())
        .map(io::Error::kind)
        .rfind(|kind| *kind != io::ErrorKind::Other)
}

/// `outer: inner: innermost`, for errors this module has no words for.
fn chain_text(err: &(dyn StdError + 'static)) -> String {
    let mut text = String::new();
    for current in chain(err) {
        let part = current.to_string();
        if text.contains(&part) {
            continue;
        }
        if !text.is_empty() {
            text.push_str(": ");
        }
        text.push_str(&part);
    }
    text
}
