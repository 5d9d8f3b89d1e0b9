use super::*;

fn alert(description: AlertDescription) -> io::Error {
    // As tokio-rustls reports it.
    io::Error::new(
        io::ErrorKind::InvalidData,
        rustls::Error::AlertReceived(description),
    )
}

#[test]
fn names_the_refusals_a_client_sees() {
    assert_eq!(
        describe_handshake_error(&alert(AlertDescription::AccessDenied)),
        "the server refused this client's certificate (role not allowed)"
    );
    assert_eq!(
        describe_handshake_error(&alert(AlertDescription::CertificateRequired)),
        "the server requires a client certificate"
    );
    assert_eq!(
        describe_handshake_error(&alert(AlertDescription::UnknownCA)),
        "the server does not trust the CA that issued this client's certificate"
    );
    assert!(
        describe_handshake_error(&alert(AlertDescription::UnsupportedCertificate))
            .contains("not valid for client authentication")
    );
    assert!(
        describe_handshake_error(&alert(AlertDescription::BadCertificate))
            .starts_with("the server refused this client's certificate")
    );
}

#[test]
fn names_problems_with_the_servers_certificate() {
    let unknown = rustls::Error::InvalidCertificate(CertificateError::UnknownIssuer);
    assert_eq!(
        describe_handshake_error(&unknown),
        "the server's certificate is not issued by a trusted CA (unknown issuer)"
    );
    let role = rustls::Error::InvalidCertificate(CertificateError::ApplicationVerificationFailure);
    assert_eq!(
        describe_handshake_error(&role),
        "the server's certificate does not name a role this client expects"
    );
}

#[test]
fn finds_the_rustls_error_through_wrapping_layers() {
    #[derive(Debug, thiserror::Error)]
    #[error("request failed")]
    struct Outer(#[source] io::Error);

    let wrapped = Outer(io::Error::other(alert(AlertDescription::AccessDenied)));
    assert_eq!(
        describe_handshake_error(&wrapped),
        "the server refused this client's certificate (role not allowed)"
    );
}

#[test]
fn falls_back_to_io_kinds_and_then_to_the_error_text() {
    let refused = io::Error::other(io::Error::from(io::ErrorKind::ConnectionRefused));
    assert!(describe_handshake_error(&refused).starts_with("the connection was refused"));

    let unknown = io::Error::new(io::ErrorKind::InvalidInput, "only https URIs are allowed");
    assert_eq!(
        describe_handshake_error(&unknown),
        "TLS connection failed: only https URIs are allowed"
    );
}

#[test]
fn reads_the_alert_from_text_when_the_type_was_lost() {
    // What hyper reports for HTTP/2: h2 keeps only the io error's kind and text.
    let stringly = io::Error::new(
        io::ErrorKind::InvalidData,
        rustls::Error::AlertReceived(AlertDescription::CertificateRequired).to_string(),
    );
    assert_eq!(
        describe_handshake_error(&stringly),
        "the server requires a client certificate"
    );
    // Whole names only: a longer alert name is not mistaken for a shorter one.
    let longer = io::Error::other("received fatal alert: BadCertificateStatusResponse");
    assert_eq!(
        describe_handshake_error(&longer),
        "TLS connection failed: received fatal alert: BadCertificateStatusResponse"
    );
}
