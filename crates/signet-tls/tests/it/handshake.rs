//! Who gets in: the role allowlist, enforced during the handshake.

use std::sync::Arc;

use signet_tls::rustls::version::{TLS12, TLS13};
use signet_tls::rustls::{AlertDescription, Error as RustlsError, ProtocolVersion};
use signet_tls::{
    AllowedPeers, Identity, Role, ServeOptions, describe_handshake_error, server_config,
    server_config_optional_client,
};

use crate::kit::{self, TestServer, ok_body, raw_get, rustls_error, start_tls};
use crate::pki::pki;

async fn ca_server() -> TestServer {
    let pki = pki();
    let config = server_config(
        &pki.server,
        pki.platform_roots(),
        AllowedPeers::new([Role::Ra, Role::Admin]),
    )
    .unwrap();
    start_tls(config, ServeOptions::default()).await
}

#[tokio::test]
async fn allowed_roles_reach_the_handler_with_their_identity() {
    let pki = pki();
    let server = ca_server().await;

    let response = raw_get(kit::http11_client(&pki.ra), server.addr, "/whoami")
        .await
        .unwrap();
    assert_eq!(ok_body(&response), "ra");
    let response = raw_get(kit::http11_client(&pki.admin), server.addr, "/whoami")
        .await
        .unwrap();
    assert_eq!(ok_body(&response), "admin");
    // The plain axum `Extension` extractor sees the same identity.
    let response = raw_get(kit::http11_client(&pki.ra), server.addr, "/extension")
        .await
        .unwrap();
    assert_eq!(ok_body(&response), "ra ra client");
    assert_eq!(server.hits(), 3);
    server.stop().await;
}

/// Connects with `config` and expects the server to refuse with `alert`
/// before any request reaches the router.
async fn assert_refused(
    server: &TestServer,
    config: Arc<signet_tls::rustls::ClientConfig>,
    alert: AlertDescription,
) -> String {
    let error = raw_get(config, server.addr, "/whoami")
        .await
        .expect_err("the server should refuse this client");
    assert_eq!(
        rustls_error(&error),
        Some(RustlsError::AlertReceived(alert)),
        "{error:?}"
    );
    assert_eq!(server.hits(), 0, "a refused client reached the handler");
    describe_handshake_error(&error)
}

fn with_identity(identity: &Identity) -> Arc<signet_tls::rustls::ClientConfig> {
    kit::http11_client(identity)
}

#[tokio::test]
async fn a_client_without_certificate_is_refused() {
    let server = ca_server().await;
    let config = kit::with_alpn(
        &Arc::new(kit::client_builder(&[&TLS13]).with_no_client_auth()),
        &[b"http/1.1"],
    );
    let line = assert_refused(&server, config, AlertDescription::CertificateRequired).await;
    assert_eq!(line, "the server requires a client certificate");
    server.stop().await;
}

#[tokio::test]
async fn a_certificate_from_another_ca_is_refused() {
    let server = ca_server().await;
    let line = assert_refused(
        &server,
        with_identity(&pki().foreign_ra),
        AlertDescription::UnknownCA,
    )
    .await;
    assert_eq!(
        line,
        "the server does not trust the CA that issued this client's certificate"
    );
    server.stop().await;
}

#[tokio::test]
async fn a_platform_certificate_with_a_role_not_allowed_is_refused() {
    let server = ca_server().await;
    let line = assert_refused(
        &server,
        with_identity(&pki().ocsp),
        AlertDescription::AccessDenied,
    )
    .await;
    assert_eq!(
        line,
        "the server refused this client's certificate (role not allowed)"
    );
    server.stop().await;
}

#[tokio::test]
async fn a_platform_certificate_without_role_is_refused() {
    let server = ca_server().await;
    let line = assert_refused(
        &server,
        with_identity(&pki().no_role),
        AlertDescription::AccessDenied,
    )
    .await;
    assert_eq!(
        line,
        "the server refused this client's certificate (role not allowed)"
    );
    server.stop().await;
}

#[tokio::test]
async fn a_server_auth_only_certificate_is_refused_as_a_client() {
    let server = ca_server().await;
    let line = assert_refused(
        &server,
        with_identity(&pki().server_auth_only),
        AlertDescription::UnsupportedCertificate,
    )
    .await;
    assert!(
        line.contains("not valid for client authentication"),
        "{line}"
    );
    server.stop().await;
}

#[tokio::test]
async fn in_tls12_the_refusal_fails_the_handshake_itself() {
    let server = ca_server().await;
    let config = kit::with_alpn(
        &Arc::new(
            kit::client_builder(&[&TLS12]).with_client_cert_resolver(Arc::new(
                signet_tls::rustls::sign::SingleCertAndKey::from(
                    pki().ocsp.certified_key().clone(),
                ),
            )),
        ),
        &[b"http/1.1"],
    );
    // No request is written: the handshake already fails.
    let error = kit::tls_connect(config, server.addr)
        .await
        .expect_err("refused");
    assert_eq!(
        rustls_error(&error),
        Some(RustlsError::AlertReceived(AlertDescription::AccessDenied))
    );
    assert_eq!(
        describe_handshake_error(&error),
        "the server refused this client's certificate (role not allowed)"
    );
    assert_eq!(server.hits(), 0);
    server.stop().await;
}

#[tokio::test]
async fn the_client_refuses_a_server_from_an_unknown_ca() {
    let pki = pki();
    let server = ca_server().await;
    let foreign_roots = signet_tls::load_roots_from_pem(pki.foreign_roots_pem.as_bytes()).unwrap();
    let config = signet_tls::client_config(&pki.ra, foreign_roots).unwrap();
    let error = kit::tls_connect(config, server.addr)
        .await
        .expect_err("refused");
    assert_eq!(
        describe_handshake_error(&error),
        "the server's certificate is not issued by a trusted CA (unknown issuer)"
    );
    assert_eq!(server.hits(), 0);
    server.stop().await;
}

#[tokio::test]
async fn optional_client_auth_serves_anyone_but_still_verifies_certificates() {
    let pki = pki();
    let config = server_config_optional_client(&pki.server, pki.platform_roots()).unwrap();
    let server = start_tls(config, ServeOptions::default()).await;

    let anonymous = kit::with_alpn(
        &Arc::new(kit::client_builder(&[&TLS13, &TLS12]).with_no_client_auth()),
        &[b"http/1.1"],
    );
    let response = raw_get(anonymous, server.addr, "/optional").await.unwrap();
    assert_eq!(ok_body(&response), "anonymous");

    let response = raw_get(kit::http11_client(&pki.ocsp), server.addr, "/optional")
        .await
        .unwrap();
    assert_eq!(ok_body(&response), "role=ocsp");

    let response = raw_get(kit::http11_client(&pki.no_role), server.addr, "/optional")
        .await
        .unwrap();
    assert_eq!(ok_body(&response), "certificate without role");

    // A role-requiring handler turns the role-less client away itself.
    let response = raw_get(kit::http11_client(&pki.no_role), server.addr, "/whoami")
        .await
        .unwrap();
    assert!(response.starts_with("HTTP/1.1 401"), "{response}");
    assert_eq!(server.hits(), 4);

    let error = raw_get(
        kit::http11_client(&pki.foreign_ra),
        server.addr,
        "/optional",
    )
    .await
    .expect_err("a certificate that does not verify is still refused");
    assert_eq!(
        rustls_error(&error),
        Some(RustlsError::AlertReceived(AlertDescription::UnknownCA))
    );
    assert_eq!(server.hits(), 4);
    server.stop().await;
}

#[tokio::test]
async fn tls12_only_and_tls13_only_clients_both_work() {
    let pki = pki();
    let server = ca_server().await;
    for (version, expected) in [
        (&TLS12, ProtocolVersion::TLSv1_2),
        (&TLS13, ProtocolVersion::TLSv1_3),
    ] {
        let config = kit::with_alpn(
            &Arc::new(
                kit::client_builder(&[version]).with_client_cert_resolver(Arc::new(
                    signet_tls::rustls::sign::SingleCertAndKey::from(
                        pki.ra.certified_key().clone(),
                    ),
                )),
            ),
            &[b"http/1.1"],
        );
        let tls = kit::tls_connect(config.clone(), server.addr).await.unwrap();
        assert_eq!(tls.get_ref().1.protocol_version(), Some(expected));
        drop(tls);
        let response = raw_get(config, server.addr, "/whoami").await.unwrap();
        assert_eq!(ok_body(&response), "ra");
    }
    server.stop().await;
}
