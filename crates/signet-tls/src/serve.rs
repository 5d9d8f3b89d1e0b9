//! Accept loops that serve an axum `Router` over TLS or plain HTTP.
//!
//! Every stage a client can stall has a deadline, so a silent or slow client
//! holds one task and one connection slot for a bounded time, never the
//! listener: the TLS handshake (`handshake_timeout`), the first request after
//! it (`header_read_timeout`, which also covers HTTP/1 request heads and the
//! HTTP/1-vs-HTTP/2 sniffing hyper does before either applies), and the drain
//! on shutdown (`shutdown_grace`).

use std::future::Future;
use std::io;
use std::net::SocketAddr;
use std::pin::pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use axum::Router;
use axum::extract::ConnectInfo;
use hyper::body::Incoming;
use hyper::service::service_fn;
use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
use hyper_util::server::conn::auto;
use rustls::ServerConfig;
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{Semaphore, watch};
use tokio::task::JoinSet;
use tokio_rustls::TlsAcceptor;
use tower::ServiceExt as _;

use crate::{ALPN_H2, ALPN_HTTP11, ClientCertificate, PeerIdentity, peer_identity};

/// Limits and deadlines of the serving loops.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ServeOptions {
    /// How long a client has to complete the TLS handshake.
    pub handshake_timeout: Duration,
    /// How long a client has to send a complete HTTP/1 request head, and to
    /// send its first request of any HTTP version once the connection is up.
    pub header_read_timeout: Duration,
    /// Connections served at once; further clients wait in the listen backlog.
    pub max_connections: usize,
    /// After shutdown, how long in-flight connections may take to finish
    /// before they are cut off.
    pub shutdown_grace: Duration,
    /// Interval of HTTP/2 keep-alive pings, to notice peers that vanished.
    pub http2_keep_alive_interval: Option<Duration>,
}

impl Default for ServeOptions {
    fn default() -> Self {
        ServeOptions {
            handshake_timeout: Duration::from_secs(10),
            header_read_timeout: Duration::from_secs(30),
            max_connections: 1024,
            shutdown_grace: Duration::from_secs(10),
            http2_keep_alive_interval: Some(Duration::from_secs(60)),
        }
    }
}

/// Serves `router` over TLS on `listener` until `shutdown` completes.
///
/// Each request carries, in its extensions, the client's address
/// ([`ConnectInfo<SocketAddr>`]), its verified certificate
/// ([`ClientCertificate`]) and, when that certificate names a role, the
/// [`PeerIdentity`]. HTTP/1.1 and HTTP/2 are served (ALPN offers both).
///
/// On shutdown the loop stops accepting, asks open connections to finish
/// their in-flight requests, waits up to `shutdown_grace` and then drops the
/// rest. Handshake failures are logged at debug level with the peer address.
///
/// Errors only if the listener's local address cannot be read.
pub async fn serve_tls(
    listener: TcpListener,
    config: Arc<ServerConfig>,
    router: Router,
    options: ServeOptions,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> io::Result<()> {
    serve(
        listener,
        Some(TlsAcceptor::from(config)),
        router,
        options,
        shutdown,
    )
    .await
}

/// Serves `router` over plain HTTP, with the same deadlines and shutdown as
/// [`serve_tls`].
///
/// For the OCSP/CRL responder: OCSP and CRL URLs are plain `http` by
/// convention (RFC 5019 §5, RFC 5280 §4.2.1.13) since the responses are
/// signed and a TLS client checking revocation must not depend on revocation
/// checking of the responder's own TLS certificate.
pub async fn serve_plain(
    listener: TcpListener,
    router: Router,
    options: ServeOptions,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> io::Result<()> {
    serve(listener, None, router, options, shutdown).await
}

/// What every connection task shares.
struct Shared {
    tls: Option<TlsAcceptor>,
    router: Router,
    http: HttpBuilders,
    options: ServeOptions,
}

/// One hyper builder per way of choosing the HTTP version.
struct HttpBuilders {
    /// Sniffs the first bytes for the HTTP/2 preface: plain HTTP, or TLS
    /// without ALPN.
    sniffing: auto::Builder<TokioExecutor>,
    /// ALPN chose `http/1.1`.
    http1: auto::Builder<TokioExecutor>,
    /// ALPN chose `h2`.
    http2: auto::Builder<TokioExecutor>,
}

impl HttpBuilders {
    fn new(options: &ServeOptions) -> Self {
        HttpBuilders {
            sniffing: http_builder(options),
            http1: http_builder(options).http1_only(),
            http2: http_builder(options).http2_only(),
        }
    }

    /// The server's ALPN choice is binding (RFC 7301 §3.2), so a connection
    /// that negotiated a protocol is served in it without sniffing.
    fn for_alpn(&self, alpn: Option<&[u8]>) -> &auto::Builder<TokioExecutor> {
        match alpn {
            Some(ALPN_H2) => &self.http2,
            Some(ALPN_HTTP11) => &self.http1,
            _ => &self.sniffing,
        }
    }
}

async fn serve(
    listener: TcpListener,
    tls: Option<TlsAcceptor>,
    router: Router,
    options: ServeOptions,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> io::Result<()> {
    let local = listener.local_addr()?;
    tracing::debug!(%local, tls = tls.is_some(), "serving");

    let slots = Arc::new(Semaphore::new(options.max_connections.max(1)));
    let (stop_tx, stop_rx) = watch::channel(false);
    let mut tasks = JoinSet::new();
    let mut shutdown = pin!(shutdown);
    let grace = options.shutdown_grace;
    let shared = Arc::new(Shared {
        tls,
        router,
        http: HttpBuilders::new(&options),
        options,
    });

    loop {
        // Reap finished connections first, then wait for a free slot.
        let slot = tokio::select! {
            biased;
            () = &mut shutdown => break,
            Some(joined) = tasks.join_next(), if !tasks.is_empty() => {
                if let Err(error) = joined
                    && error.is_panic()
                {
                    tracing::error!(%error, "connection task panicked");
                }
                continue;
            }
            slot = slots.clone().acquire_owned() => match slot {
                Ok(slot) => slot,
                // The semaphore is never closed.
                Err(_) => break,
            },
        };
        let (tcp, remote) = tokio::select! {
            biased;
            () = &mut shutdown => break,
            accepted = listener.accept() => match accepted {
                Ok(accepted) => accepted,
                Err(error) => {
                    accept_failed(&error).await;
                    continue;
                }
            },
        };
        let shared = shared.clone();
        let stop = stop_rx.clone();
        tasks.spawn(async move {
            let _slot = slot;
            handle_connection(&shared, tcp, remote, stop).await;
        });
    }

    drop(listener);
    // Receivers are alive while tasks run; a send error only means none are.
    let _ = stop_tx.send(true);
    let drained =
        tokio::time::timeout(grace, async { while tasks.join_next().await.is_some() {} }).await;
    if drained.is_err() {
        tracing::warn!(
            %local,
            remaining = tasks.len(),
            "connections still open after the shutdown grace period; closing them"
        );
        tasks.shutdown().await;
    }
    tracing::debug!(%local, "stopped serving");
    Ok(())
}

fn http_builder(options: &ServeOptions) -> auto::Builder<TokioExecutor> {
    let mut builder = auto::Builder::new(TokioExecutor::new());
    builder
        .http1()
        .timer(TokioTimer::new())
        .header_read_timeout(options.header_read_timeout);
    builder
        .http2()
        .timer(TokioTimer::new())
        .keep_alive_interval(options.http2_keep_alive_interval);
    builder
}

/// Errors from `accept` about one connection (it was reset before we took it)
/// are noise; others (out of file descriptors) are worth a warning and a short
/// pause, so the loop does not spin while the condition lasts.
async fn accept_failed(error: &io::Error) {
    match error.kind() {
        io::ErrorKind::ConnectionAborted
        | io::ErrorKind::ConnectionReset
        | io::ErrorKind::ConnectionRefused => {
            tracing::debug!(%error, "accept failed for one connection");
        }
        _ => {
            tracing::warn!(%error, "accept failed; pausing briefly");
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }
}

/// What is known about a connection, copied into each of its requests.
#[derive(Clone)]
struct ConnectionFacts {
    remote: SocketAddr,
    client_certificate: Option<ClientCertificate>,
    peer: Option<PeerIdentity>,
}

impl ConnectionFacts {
    fn plain(remote: SocketAddr) -> Self {
        ConnectionFacts {
            remote,
            client_certificate: None,
            peer: None,
        }
    }

    fn tls(remote: SocketAddr, connection: &rustls::ServerConnection) -> Self {
        let Some(end_entity) = connection
            .peer_certificates()
            .and_then(|chain| chain.first())
        else {
            return Self::plain(remote);
        };
        let peer = match peer_identity(end_entity) {
            Ok(peer) => Some(peer),
            Err(error) => {
                // Normal on the RA console: customer certificates name no role.
                tracing::trace!(peer = %remote, %error, "client certificate names no Signet role");
                None
            }
        };
        ConnectionFacts {
            remote,
            client_certificate: Some(ClientCertificate(end_entity.clone().into_owned())),
            peer,
        }
    }

    fn insert_into(&self, extensions: &mut http::Extensions) {
        extensions.insert(ConnectInfo(self.remote));
        if let Some(certificate) = &self.client_certificate {
            extensions.insert(certificate.clone());
        }
        if let Some(peer) = &self.peer {
            extensions.insert(peer.clone());
        }
    }
}

async fn handle_connection(
    shared: &Shared,
    tcp: TcpStream,
    remote: SocketAddr,
    mut stop: watch::Receiver<bool>,
) {
    if let Err(error) = tcp.set_nodelay(true) {
        tracing::debug!(peer = %remote, %error, "cannot set TCP_NODELAY");
    }
    let Some(acceptor) = &shared.tls else {
        let http = &shared.http.sniffing;
        serve_http(
            shared,
            http,
            TokioIo::new(tcp),
            ConnectionFacts::plain(remote),
            stop,
        )
        .await;
        return;
    };

    let handshake = tokio::time::timeout(shared.options.handshake_timeout, acceptor.accept(tcp));
    let tls = tokio::select! {
        result = handshake => match result {
            Ok(Ok(tls)) => tls,
            Ok(Err(error)) => {
                tracing::debug!(peer = %remote, %error, "TLS handshake failed");
                return;
            }
            Err(_elapsed) => {
                tracing::debug!(
                    peer = %remote,
                    timeout = ?shared.options.handshake_timeout,
                    "TLS handshake timed out"
                );
                return;
            }
        },
        // Shutting down: a connection still in its handshake has nothing in
        // flight to finish.
        _ = stop.changed() => return,
    };
    let (_, connection) = tls.get_ref();
    let facts = ConnectionFacts::tls(remote, connection);
    let http = shared.http.for_alpn(connection.alpn_protocol());
    serve_http(shared, http, TokioIo::new(tls), facts, stop).await;
}

async fn serve_http<I>(
    shared: &Shared,
    http: &auto::Builder<TokioExecutor>,
    io: I,
    facts: ConnectionFacts,
    mut stop: watch::Receiver<bool>,
) where
    I: hyper::rt::Read + hyper::rt::Write + Unpin + Send + 'static,
{
    let remote = facts.remote;
    let requested = Arc::new(AtomicBool::new(false));
    let service = {
        let router = shared.router.clone();
        let requested = requested.clone();
        service_fn(move |mut request: hyper::Request<Incoming>| {
            requested.store(true, Ordering::Relaxed);
            facts.insert_into(request.extensions_mut());
            router.clone().oneshot(request)
        })
    };

    let mut connection = pin!(http.serve_connection(io, service));
    // hyper's HTTP/1 header timeout does not cover the protocol sniffing
    // before it, nor HTTP/2 at all: until the first request arrives, this
    // deadline does.
    let mut first_request_deadline = pin!(tokio::time::sleep(shared.options.header_read_timeout));
    let mut waiting_for_first_request = true;
    let mut stopping = false;
    loop {
        tokio::select! {
            result = connection.as_mut() => {
                if let Err(error) = result {
                    tracing::debug!(peer = %remote, %error, "connection ended with an error");
                }
                return;
            }
            () = &mut first_request_deadline, if waiting_for_first_request => {
                if requested.load(Ordering::Relaxed) {
                    waiting_for_first_request = false;
                } else {
                    tracing::debug!(
                        peer = %remote,
                        timeout = ?shared.options.header_read_timeout,
                        "closing connection: no request received in time"
                    );
                    return;
                }
            }
            _ = stop.changed(), if !stopping => {
                if !requested.load(Ordering::Relaxed) {
                    // Nothing was ever asked on this connection, so nothing
                    // is in flight: close it rather than wait on a client
                    // that may never answer an HTTP/2 GOAWAY.
                    return;
                }
                stopping = true;
                connection.as_mut().graceful_shutdown();
            }
        }
    }
}
