//! `https_client` and `MtlsConnector` against `serve_tls`.

use std::sync::Arc;

use bytes::Bytes;
use http::{Method, Request, StatusCode, Uri, Version};
use http_body_util::{BodyExt as _, Full};
use hyper_util::client::legacy::connect::Connection as _;
use signet_tls::rustls::ClientConfig;
use signet_tls::{
    AllowedPeers, MtlsConnector, Role, ServeOptions, client_config, client_config_expecting,
    describe_handshake_error, https_client, server_config,
};
use tower::ServiceExt as _;

use crate::kit::{TestServer, start_tls, with_alpn};
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

fn ra_config() -> Arc<ClientConfig> {
    client_config(&pki().ra, pki().platform_roots()).unwrap()
}

async fn send(
    config: Arc<ClientConfig>,
    request: Request<Full<Bytes>>,
) -> Result<(StatusCode, Version, String), hyper_util::client::legacy::Error> {
    let response = https_client(config).request(request).await?;
    let status = response.status();
    let version = response.version();
    let body = response.into_body().collect().await.unwrap().to_bytes();
    Ok((status, version, String::from_utf8(body.to_vec()).unwrap()))
}

fn get(uri: String) -> Request<Full<Bytes>> {
    Request::get(uri).body(Full::default()).unwrap()
}

#[tokio::test]
async fn get_over_h2_and_over_http11() {
    let server = ca_server().await;
    let uri = format!("https://localhost:{}/version", server.addr.port());

    let (status, version, body) = send(ra_config(), get(uri.clone())).await.unwrap();
    assert_eq!(
        (status, version, body.as_str()),
        (StatusCode::OK, Version::HTTP_2, "HTTP/2.0")
    );

    let http11 = with_alpn(&ra_config(), &[b"http/1.1"]);
    let (status, version, body) = send(http11, get(uri)).await.unwrap();
    assert_eq!(
        (status, version, body.as_str()),
        (StatusCode::OK, Version::HTTP_11, "HTTP/1.1")
    );
    server.stop().await;
}

#[tokio::test]
async fn post_with_a_body_both_ways() {
    let server = ca_server().await;
    let uri = format!("https://127.0.0.1:{}/echo", server.addr.port());
    let payload = "x".repeat(100_000);
    for config in [ra_config(), with_alpn(&ra_config(), &[b"http/1.1"])] {
        let request = Request::builder()
            .method(Method::POST)
            .uri(&uri)
            .body(Full::new(Bytes::from(payload.clone())))
            .unwrap();
        let (status, _, body) = send(config, request).await.unwrap();
        assert_eq!(status, StatusCode::OK);
        assert_eq!(body, payload);
    }
    server.stop().await;
}

#[tokio::test]
async fn the_peer_identity_reaches_handlers_through_the_client() {
    let server = ca_server().await;
    let uri = format!("https://localhost:{}/whoami", server.addr.port());
    let admin = client_config(&pki().admin, pki().platform_roots()).unwrap();
    let (_, _, body) = send(admin, get(uri)).await.unwrap();
    assert_eq!(body, "admin");
    server.stop().await;
}

#[tokio::test]
async fn a_refused_client_gets_one_clear_line() {
    let server = ca_server().await;
    let uri = format!("https://localhost:{}/whoami", server.addr.port());
    let ocsp = client_config(&pki().ocsp, pki().platform_roots()).unwrap();
    for config in [ocsp.clone(), with_alpn(&ocsp, &[b"http/1.1"])] {
        let error = send(config, get(uri.clone())).await.expect_err("refused");
        assert_eq!(
            describe_handshake_error(&error),
            "the server refused this client's certificate (role not allowed)",
            "{error:?}"
        );
    }
    assert_eq!(server.hits(), 0);
    server.stop().await;
}

#[tokio::test]
async fn a_client_can_insist_on_the_servers_role() {
    let server = ca_server().await;
    let uri = format!("https://127.0.0.1:{}/whoami", server.addr.port());
    let roots = pki().platform_roots();

    let expects_ca =
        client_config_expecting(&pki().ra, roots.clone(), AllowedPeers::new([Role::Ca])).unwrap();
    let (_, _, body) = send(expects_ca, get(uri.clone())).await.unwrap();
    assert_eq!(body, "ra");

    let expects_kmc =
        client_config_expecting(&pki().ra, roots, AllowedPeers::new([Role::Kmc])).unwrap();
    let error = send(expects_kmc, get(uri))
        .await
        .expect_err("wrong server role");
    assert_eq!(
        describe_handshake_error(&error),
        "the server's certificate does not name a role this client expects"
    );
    assert_eq!(server.hits(), 1);
    server.stop().await;
}

#[tokio::test]
async fn the_connector_reports_h2_and_refuses_plain_http() {
    let server = ca_server().await;
    let connector = MtlsConnector::new(ra_config());

    let uri: Uri = format!("https://localhost:{}/", server.addr.port())
        .parse()
        .unwrap();
    let stream = connector.clone().oneshot(uri).await.unwrap();
    assert_eq!(stream.alpn_protocol(), Some(&b"h2"[..]));
    assert!(stream.connected().is_negotiated_h2());

    let http11 = MtlsConnector::new(with_alpn(&ra_config(), &[b"http/1.1"]));
    let uri: Uri = format!("https://localhost:{}/", server.addr.port())
        .parse()
        .unwrap();
    let stream = http11.oneshot(uri).await.unwrap();
    assert!(!stream.connected().is_negotiated_h2());

    let plain: Uri = format!("http://localhost:{}/", server.addr.port())
        .parse()
        .unwrap();
    let error = connector
        .oneshot(plain)
        .await
        .expect_err("plain http refused");
    assert!(error.to_string().contains("only https"), "{error}");
    server.stop().await;
}
