//! Starts real servers on 127.0.0.1:0 and makes raw TLS clients.

use std::io;
use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use axum::extract::{Request, State};
use axum::middleware::{self, Next};
use axum::response::Response;
use axum::routing::{get, post};
use axum::{Extension, Router};
use bytes::Bytes;
use signet_tls::rustls::pki_types::ServerName;
use signet_tls::rustls::{ClientConfig, ServerConfig};
use signet_tls::{ClientCertificate, Identity, PeerIdentity, ServeOptions};
use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::oneshot;
use tokio::task::JoinHandle;
use tokio_rustls::TlsConnector;
use tokio_rustls::client::TlsStream;

/// A running server. Dropping it without `stop` leaves the task running until
/// the test's runtime ends.
pub struct TestServer {
    pub addr: SocketAddr,
    /// Requests that reached the router.
    pub hits: Arc<AtomicUsize>,
    shutdown: Option<oneshot::Sender<()>>,
    task: Option<JoinHandle<io::Result<()>>>,
}

impl TestServer {
    pub fn hits(&self) -> usize {
        self.hits.load(Ordering::SeqCst)
    }

    /// Signals shutdown without waiting.
    pub fn signal_shutdown(&mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
    }

    /// Signals shutdown and waits for the loop to return.
    pub async fn stop(mut self) {
        self.signal_shutdown();
        let task = self.task.take().unwrap();
        tokio::time::timeout(Duration::from_secs(10), task)
            .await
            .expect("serve loop did not stop")
            .unwrap()
            .unwrap();
    }

    pub fn task(&mut self) -> JoinHandle<io::Result<()>> {
        self.task.take().unwrap()
    }
}

/// The routes every test server has.
pub fn router(hits: Arc<AtomicUsize>) -> Router {
    Router::new()
        .route(
            "/whoami",
            get(|peer: PeerIdentity| async move { peer.role.to_string() }),
        )
        .route(
            "/extension",
            get(|Extension(peer): Extension<PeerIdentity>| async move {
                format!("{} {}", peer.role, peer.common_name.unwrap_or_default())
            }),
        )
        .route(
            "/optional",
            get(
                |peer: Option<PeerIdentity>, cert: Option<ClientCertificate>| async move {
                    match (peer, cert) {
                        (Some(peer), _) => format!("role={}", peer.role),
                        (None, Some(_)) => "certificate without role".to_owned(),
                        (None, None) => "anonymous".to_owned(),
                    }
                },
            ),
        )
        .route(
            "/version",
            get(|request: Request| async move { format!("{:?}", request.version()) }),
        )
        .route("/echo", post(|body: Bytes| async move { body }))
        .route(
            "/sleep/{ms}",
            get(
                |axum::extract::Path(ms): axum::extract::Path<u64>| async move {
                    tokio::time::sleep(Duration::from_millis(ms)).await;
                    "slept"
                },
            ),
        )
        .layer(middleware::from_fn_with_state(hits, count))
}

async fn count(State(hits): State<Arc<AtomicUsize>>, request: Request, next: Next) -> Response {
    hits.fetch_add(1, Ordering::SeqCst);
    next.run(request).await
}

pub async fn start_tls(config: Arc<ServerConfig>, options: ServeOptions) -> TestServer {
    start(Some(config), options).await
}

pub async fn start_plain(options: ServeOptions) -> TestServer {
    start(None, options).await
}

async fn start(config: Option<Arc<ServerConfig>>, options: ServeOptions) -> TestServer {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let hits = Arc::new(AtomicUsize::new(0));
    let (tx, rx) = oneshot::channel::<()>();
    let shutdown = async move {
        let _ = rx.await;
    };
    let router = router(hits.clone());
    let task = match config {
        Some(config) => tokio::spawn(signet_tls::serve_tls(
            listener, config, router, options, shutdown,
        )),
        None => tokio::spawn(signet_tls::serve_plain(listener, router, options, shutdown)),
    };
    TestServer {
        addr,
        hits,
        shutdown: Some(tx),
        task: Some(task),
    }
}

/// `client_config` for `identity`, trusting the platform roots, offering only
/// `http/1.1` so raw HTTP/1.1 text can be written on the connection.
pub fn http11_client(identity: &Identity) -> Arc<ClientConfig> {
    let config = signet_tls::client_config(identity, crate::pki::pki().platform_roots()).unwrap();
    with_alpn(&config, &[b"http/1.1"])
}

pub fn with_alpn(config: &Arc<ClientConfig>, alpn: &[&[u8]]) -> Arc<ClientConfig> {
    let mut config = (**config).clone();
    config.alpn_protocols = alpn.iter().map(|p| p.to_vec()).collect();
    Arc::new(config)
}

/// Client config builder with the one provider, for custom variants.
pub fn client_builder(
    versions: &[&'static signet_tls::rustls::SupportedProtocolVersion],
) -> signet_tls::rustls::ConfigBuilder<ClientConfig, signet_tls::rustls::client::WantsClientCert> {
    ClientConfig::builder_with_provider(signet_tls::crypto_provider())
        .with_protocol_versions(versions)
        .unwrap()
        .with_root_certificates(crate::pki::pki().platform_roots())
}

pub async fn tls_connect(
    config: Arc<ClientConfig>,
    addr: SocketAddr,
) -> io::Result<TlsStream<TcpStream>> {
    let tcp = TcpStream::connect(addr).await?;
    TlsConnector::from(config)
        .connect(ServerName::try_from("localhost").unwrap(), tcp)
        .await
}

/// Connects, sends `GET path` over HTTP/1.1 and reads the whole response.
/// In TLS 1.3 a refused client finishes its handshake before the server's
/// alert arrives, so the refusal shows up here, on the read.
/// Gives up after ten seconds, so a regression fails instead of hanging.
pub async fn raw_get(
    config: Arc<ClientConfig>,
    addr: SocketAddr,
    path: &str,
) -> io::Result<String> {
    tokio::time::timeout(Duration::from_secs(10), raw_get_inner(config, addr, path))
        .await
        .expect("request took more than 10 s")
}

async fn raw_get_inner(
    config: Arc<ClientConfig>,
    addr: SocketAddr,
    path: &str,
) -> io::Result<String> {
    let mut tls = tls_connect(config, addr).await?;
    tls.write_all(
        format!("GET {path} HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n").as_bytes(),
    )
    .await?;
    let mut response = Vec::new();
    tls.read_to_end(&mut response).await?;
    Ok(String::from_utf8_lossy(&response).into_owned())
}

/// The body of a `Connection: close` HTTP/1.1 response, asserting 200.
pub fn ok_body(response: &str) -> &str {
    assert!(response.starts_with("HTTP/1.1 200"), "{response}");
    response.split("\r\n\r\n").nth(1).unwrap()
}

/// The rustls error inside an io::Error from tokio-rustls.
pub fn rustls_error(error: &io::Error) -> Option<signet_tls::rustls::Error> {
    error
        .get_ref()
        .and_then(|inner| inner.downcast_ref::<signet_tls::rustls::Error>())
        .cloned()
}

pub fn fast_options() -> ServeOptions {
    ServeOptions {
        handshake_timeout: Duration::from_millis(300),
        header_read_timeout: Duration::from_millis(300),
        shutdown_grace: Duration::from_secs(2),
        ..ServeOptions::default()
    }
}
