//! An HTTPS connector for hyper-util's client that presents Signet's client
//! certificate (mutual TLS) and picks HTTP/2 or HTTP/1.1 by ALPN.

use std::fmt;
use std::future::Future;
use std::io;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use bytes::Bytes;
use http::Uri;
use http::uri::Scheme;
use http_body_util::Full;
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::{Connected, Connection, HttpConnector};
use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
use rustls::ClientConfig;
use rustls_pki_types::ServerName;
use tokio::net::TcpStream;
use tokio_rustls::TlsConnector;
use tower::ServiceExt as _;

use crate::ALPN_H2;

/// How long connecting (TCP and TLS handshake together) may take by default.
pub const DEFAULT_CONNECT_TIMEOUT: Duration = Duration::from_secs(10);

/// Connects to `https://` URIs with mutual TLS.
///
/// The server is verified as the `ClientConfig` says (the platform roots and
/// the URI's host name, plus its role with
/// [`client_config_expecting`](crate::client_config_expecting)). Only `https`
/// URIs are accepted: a plain `http` URI is an error, never a silent downgrade.
#[derive(Clone)]
pub struct MtlsConnector {
    tcp: HttpConnector,
    tls: TlsConnector,
    timeout: Duration,
}

impl MtlsConnector {
    /// A connector using `config` (normally from
    /// [`client_config`](crate::client_config)).
    pub fn new(config: Arc<ClientConfig>) -> Self {
        let mut tcp = HttpConnector::new();
        // The TCP connector only dials; TLS is added here, so it must accept
        // `https` URIs.
        tcp.enforce_http(false);
        tcp.set_nodelay(true);
        MtlsConnector {
            tcp,
            tls: TlsConnector::from(config),
            timeout: DEFAULT_CONNECT_TIMEOUT,
        }
    }

    /// Bounds TCP connect and TLS handshake together, so an unresponsive
    /// server cannot hang a caller.
    pub fn with_timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self
    }
}

impl fmt::Debug for MtlsConnector {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("MtlsConnector")
            .field("timeout", &self.timeout)
            .finish_non_exhaustive()
    }
}

impl tower::Service<Uri> for MtlsConnector {
    type Response = MtlsStream;
    type Error = io::Error;
    type Future = Pin<Box<dyn Future<Output = io::Result<MtlsStream>> + Send>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        tower::Service::<Uri>::poll_ready(&mut self.tcp, cx).map_err(io::Error::other)
    }

    fn call(&mut self, uri: Uri) -> Self::Future {
        let tcp = self.tcp.clone();
        let tls = self.tls.clone();
        let timeout = self.timeout;
        Box::pin(async move {
            let server_name = server_name(&uri)?;
            let connect = async move {
                let tcp = tcp.oneshot(uri).await.map_err(io::Error::other)?;
                tls.connect(server_name, tcp.into_inner()).await
            };
            let stream = tokio::time::timeout(timeout, connect).await.map_err(|_| {
                io::Error::new(
                    io::ErrorKind::TimedOut,
                    format!("connecting took longer than {timeout:?}"),
                )
            })??;
            Ok(MtlsStream {
                inner: TokioIo::new(stream),
            })
        })
    }
}

/// Asks the server why it refuses this client.
///
/// In TLS 1.3 the server judges the client certificate after the client
/// has finished its side of the handshake, so a refusal can arrive while
/// an HTTP/2 request is already in flight, and the request then only sees
/// "connection closed". This makes one more connection with the same
/// configuration, sends nothing, and reads: a refusing server answers with
/// its alert within `wait`. Returns the alert's meaning, or `None` if the
/// server accepted the connection or said nothing.
pub async fn probe_refusal(config: Arc<ClientConfig>, uri: &Uri, wait: Duration) -> Option<String> {
    use tokio::io::AsyncReadExt as _;
    let server_name = server_name(uri).ok()?;
    let host = uri
        .host()?
        .trim_start_matches('[')
        .trim_end_matches(']')
        .to_owned();
    let port = uri.port_u16().unwrap_or(443);
    let attempt = async move {
        let tcp = tokio::net::TcpStream::connect((host.as_str(), port))
            .await
            .ok()?;
        let connector = tokio_rustls::TlsConnector::from(config);
        let mut stream = match connector.connect(server_name, tcp).await {
            Ok(s) => s,
            Err(e) => return crate::describe::tls_refusal(&e),
        };
        let mut byte = [0u8; 1];
        match stream.read(&mut byte).await {
            Err(e) => crate::describe::tls_refusal(&e),
            Ok(_) => None,
        }
    };
    tokio::time::timeout(wait, attempt).await.ok().flatten()
}

/// The name to verify the server's certificate against: the URI's host, a DNS
/// name or an IP address (without IPv6 brackets).
fn server_name(uri: &Uri) -> io::Result<ServerName<'static>> {
    if uri.scheme() != Some(&Scheme::HTTPS) {
        return Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            format!("refusing to connect to {uri}: only https URIs are allowed"),
        ));
    }
    let host = uri.host().ok_or_else(|| {
        io::Error::new(
            io::ErrorKind::InvalidInput,
            format!("URI {uri} has no host"),
        )
    })?;
    let host = host
        .strip_prefix('[')
        .and_then(|h| h.strip_suffix(']'))
        .unwrap_or(host);
    ServerName::try_from(host.to_owned())
        .map_err(|error| io::Error::new(io::ErrorKind::InvalidInput, error))
}

/// A client-side mutual-TLS connection, as handed to hyper.
pub struct MtlsStream {
    inner: TokioIo<tokio_rustls::client::TlsStream<TcpStream>>,
}

impl MtlsStream {
    /// The ALPN protocol the server chose, if any.
    pub fn alpn_protocol(&self) -> Option<&[u8]> {
        self.inner.inner().get_ref().1.alpn_protocol()
    }

    /// The negotiated TLS version.
    pub fn protocol_version(&self) -> Option<rustls::ProtocolVersion> {
        self.inner.inner().get_ref().1.protocol_version()
    }
}

impl fmt::Debug for MtlsStream {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("MtlsStream")
            .field("protocol_version", &self.protocol_version())
            .field("alpn", &self.alpn_protocol().map(String::from_utf8_lossy))
            .finish_non_exhaustive()
    }
}

impl Connection for MtlsStream {
    fn connected(&self) -> Connected {
        let (tcp, _) = self.inner.inner().get_ref();
        let connected = tcp.connected();
        if self.alpn_protocol() == Some(ALPN_H2) {
            connected.negotiated_h2()
        } else {
            connected
        }
    }
}

impl hyper::rt::Read for MtlsStream {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: hyper::rt::ReadBufCursor<'_>,
    ) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().inner).poll_read(cx, buf)
    }
}

impl hyper::rt::Write for MtlsStream {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.get_mut().inner).poll_write(cx, buf)
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().inner).poll_flush(cx)
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().inner).poll_shutdown(cx)
    }

    fn is_write_vectored(&self) -> bool {
        self.inner.is_write_vectored()
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.get_mut().inner).poll_write_vectored(cx, bufs)
    }
}

/// A pooled HTTP client (HTTP/2 or HTTP/1.1 by ALPN) over [`MtlsConnector`].
pub fn https_client(config: Arc<ClientConfig>) -> Client<MtlsConnector, Full<Bytes>> {
    Client::builder(TokioExecutor::new())
        .timer(TokioTimer::new())
        .pool_timer(TokioTimer::new())
        .build(MtlsConnector::new(config))
}
