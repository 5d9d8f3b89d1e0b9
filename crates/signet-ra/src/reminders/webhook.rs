//! Expiry reminders as a JSON POST (HTTP/1.1, `http://` or `https://`
//! through rustls, one connection per call, `Connection: close`).
//!
//! Signature: with `secret_file`, the RA sends
//! `X-Signet-Timestamp: <Unix seconds>` and
//! `X-Signet-Signature: sha256=<hex HMAC-SHA256(key, timestamp + "." + body)>`
//! over the exact body bytes, so a receiver can check both the body and
//! its age and refuse replays. The body carries an idempotency `id`
//! (`<request uid>:<threshold>:webhook`), the same for every attempt.
//!
//! Any 2xx answer is success; another status, or a failure before the
//! whole request was written, is a failure (retried later); no answer
//! (or a broken one) after the whole request was written is *unconfirmed*:
//! the receiver may have acted on it, so it is not sent again.

use std::sync::Arc;
use std::time::Duration;

use hmac::{KeyInit as _, Mac as _};
use http::Uri;
use signet_tls::rustls::ClientConfig;
use signet_tls::rustls::pki_types::ServerName;
use tokio::io::{AsyncBufReadExt as _, AsyncRead, AsyncReadExt as _, AsyncWrite};
use tokio::io::{AsyncWriteExt as _, BufReader};
use zeroize::Zeroizing;

use super::smtp::read_secret;
use super::{DeliveryError, Reminder, WebhookConfig, config_error, positive_duration};
use crate::error::RaError;

type HmacSha256 = hmac::Hmac<sha2::Sha256>;

/// The header carrying the signature.
pub const SIGNATURE_HEADER: &str = "x-signet-signature";

/// The header carrying the signed time, Unix seconds.
pub const TIMESTAMP_HEADER: &str = "x-signet-timestamp";

/// Longest status line read.
const MAX_STATUS_LINE: u64 = 1024;

/// `sha256=<hex>` of HMAC-SHA256(`key`, `timestamp` `.` `body`).
pub fn signature(key: &[u8], timestamp: i64, body: &[u8]) -> Option<String> {
    let mut mac = HmacSha256::new_from_slice(key).ok()?;
    mac.update(timestamp.to_string().as_bytes());
    mac.update(b".");
    mac.update(body);
    Some(format!(
        "sha256={}",
        hex::encode(mac.finalize().into_bytes())
    ))
}

/// `[reminders.webhook]`, checked and with its files read.
pub(super) struct WebhookSettings {
    target: Target,
    tls: Option<(Arc<ClientConfig>, ServerName<'static>)>,
    secret: Option<Zeroizing<String>>,
    timeout: Duration,
}

/// Where the POST goes.
#[derive(Debug, PartialEq, Eq)]
struct Target {
    /// Path and query, `/` at least.
    path: String,
    /// Host name or address (without brackets).
    host: String,
    port: u16,
    https: bool,
}

impl Target {
    /// The `Host` header: `host:port`, an IPv6 address in brackets.
    fn host_header(&self) -> String {
        if self.host.contains(':') {
            format!("[{}]:{}", self.host, self.port)
        } else {
            format!("{}:{}", self.host, self.port)
        }
    }
}

/// The URL, checked: `http` or `https`, a host, no user name or password
/// (they would travel in clear in the configuration and be sent nowhere).
fn target(url: &str) -> Result<Target, RaError> {
    let uri: Uri = url
        .parse()
        .map_err(|_| config_error("reminders.webhook.url: not a URL"))?;
    let https = match uri.scheme_str() {
        Some("https") => true,
        Some("http") => false,
        _ => {
            return Err(config_error(
                "reminders.webhook.url: must start with http:// or https://",
            ));
        }
    };
    if uri.authority().is_some_and(|a| a.as_str().contains('@')) {
        return Err(config_error(
            "reminders.webhook.url: no user name or password in the URL (use secret_file)",
        ));
    }
    let host = uri
        .host()
        .filter(|h| !h.is_empty())
        .ok_or_else(|| config_error("reminders.webhook.url: no host"))?
        .trim_start_matches('[')
        .trim_end_matches(']')
        .to_owned();
    let port = uri.port_u16().unwrap_or(if https { 443 } else { 80 });
    let path = uri
        .path_and_query()
        .map_or("/", http::uri::PathAndQuery::as_str);
    Ok(Target {
        path: if path.is_empty() { "/" } else { path }.to_owned(),
        host,
        port,
        https,
    })
}

impl WebhookSettings {
    /// Checks the table without reading files.
    pub(super) fn check(c: &WebhookConfig) -> Result<(), RaError> {
        let t = target(&c.url)?;
        if t.https && c.roots.is_none() {
            return Err(config_error(
                "reminders.webhook.roots: the roots the server's certificate chains to are \
                 required for https",
            ));
        }
        positive_duration("reminders.webhook.timeout", &c.timeout)?;
        Ok(())
    }

    /// Checks the table and reads the secret and the roots.
    pub(super) fn load(c: &WebhookConfig) -> Result<Self, RaError> {
        Self::check(c)?;
        let target = target(&c.url)?;
        let tls = match (&c.roots, target.https) {
            (Some(roots), true) => {
                let roots = signet_tls::load_roots(roots)?;
                let config = ClientConfig::builder_with_provider(signet_tls::crypto_provider())
                    .with_protocol_versions(signet_tls::PROTOCOL_VERSIONS)
                    .map_err(|e| config_error(format!("reminders.webhook: {e}")))?
                    .with_root_certificates(roots)
                    .with_no_client_auth();
                let name = ServerName::try_from(target.host.clone())
                    .map_err(|_| config_error("reminders.webhook.url: not a host name"))?;
                Some((Arc::new(config), name))
            }
            _ => None,
        };
        Ok(WebhookSettings {
            target,
            tls,
            secret: c
                .secret_file
                .as_deref()
                .map(|f| read_secret("reminders.webhook.secret_file", f))
                .transpose()?,
            timeout: positive_duration("reminders.webhook.timeout", &c.timeout)?,
        })
    }

    /// The request as written on the wire, signed at `timestamp`.
    fn request(&self, body: &[u8], timestamp: i64) -> Result<Vec<u8>, DeliveryError> {
        let mut head = format!(
            "POST {path} HTTP/1.1\r\n\
             Host: {host}\r\n\
             Content-Type: application/json\r\n\
             Content-Length: {length}\r\n\
             User-Agent: signet-ra\r\n\
             Connection: close\r\n\
             X-Signet-Event: certificate.expiring\r\n",
            path = self.target.path,
            host = self.target.host_header(),
            length = body.len(),
        );
        if let Some(key) = &self.secret {
            let sig = signature(key.as_bytes(), timestamp, body)
                .ok_or_else(|| DeliveryError::Protocol("bad HMAC key".into()))?;
            head.push_str(&format!(
                "X-Signet-Timestamp: {timestamp}\r\nX-Signet-Signature: {sig}\r\n"
            ));
        }
        head.push_str("\r\n");
        let mut wire = head.into_bytes();
        wire.extend_from_slice(body);
        Ok(wire)
    }

    /// POSTs `reminder` as JSON, signed at `now`.
    pub(super) async fn send(
        &self,
        reminder: &Reminder,
        now: signet_core::Timestamp,
    ) -> Result<(), DeliveryError> {
        let body = serde_json::to_vec(reminder)
            .map_err(|e| DeliveryError::Protocol(format!("cannot encode: {e}")))?;
        let wire = self.request(&body, now.unix())?;
        let mut written = false;
        let outcome = tokio::time::timeout(self.timeout, self.post(&wire, &mut written)).await;
        let status = match outcome {
            Ok(Ok(status)) => status,
            // Handed over whole: the receiver may have acted on it.
            Ok(Err(e)) if written => return Err(DeliveryError::unconfirmed(&e)),
            Err(_) if written => {
                return Err(DeliveryError::unconfirmed(&DeliveryError::Timeout(
                    self.timeout.as_secs(),
                )));
            }
            Ok(Err(e)) => return Err(e),
            Err(_) => return Err(DeliveryError::Timeout(self.timeout.as_secs())),
        };
        if (200..300).contains(&status) {
            Ok(())
        } else {
            Err(DeliveryError::Status(status))
        }
    }

    /// Connects, writes `wire` (setting `written` once all of it is
    /// flushed) and reads the answer's status code.
    async fn post(&self, wire: &[u8], written: &mut bool) -> Result<u16, DeliveryError> {
        let t = &self.target;
        let tcp = tokio::net::TcpStream::connect((t.host.as_str(), t.port))
            .await
            .map_err(|e| DeliveryError::Connect {
                target: format!("{}:{}", t.host, t.port),
                reason: e.to_string(),
            })?;
        match &self.tls {
            None => exchange(tcp, wire, written).await,
            Some((config, name)) => {
                let tls = tokio_rustls::TlsConnector::from(Arc::clone(config))
                    .connect(name.clone(), tcp)
                    .await
                    .map_err(|e| DeliveryError::Tls(e.to_string()))?;
                exchange(tls, wire, written).await
            }
        }
    }
}

/// Writes the request on `io` and reads the status line of the answer
/// (`HTTP/1.x NNN ...`); the rest is not needed.
async fn exchange<S>(io: S, wire: &[u8], written: &mut bool) -> Result<u16, DeliveryError>
where
    S: AsyncRead + AsyncWrite + Unpin,
{
    let mut io = BufReader::new(io);
    let stream = io.get_mut();
    stream
        .write_all(wire)
        .await
        .map_err(|e| DeliveryError::Io(e.to_string()))?;
    stream
        .flush()
        .await
        .map_err(|e| DeliveryError::Io(e.to_string()))?;
    *written = true;
    let mut line = Vec::new();
    (&mut io)
        .take(MAX_STATUS_LINE)
        .read_until(b'\n', &mut line)
        .await
        .map_err(|e| DeliveryError::Io(e.to_string()))?;
    status_code(&line)
}

/// The status code of an HTTP/1.x status line.
fn status_code(line: &[u8]) -> Result<u16, DeliveryError> {
    if line.is_empty() {
        return Err(DeliveryError::Protocol("connection closed".into()));
    }
    let text = String::from_utf8_lossy(line);
    let mut parts = text.split(' ');
    let code = match (parts.next(), parts.next()) {
        (Some(v), Some(c)) if v.starts_with("HTTP/1.") && c.len() == 3 => c.parse::<u16>().ok(),
        _ => None,
    };
    code.filter(|c| (100..600).contains(c))
        .ok_or_else(|| DeliveryError::Protocol("not an HTTP/1.x answer".into()))
}

#[cfg(test)]
pub(super) mod tests {
    use super::*;

    #[test]
    fn urls_with_credentials_are_refused_and_host_is_host_and_port() {
        assert!(target("https://user:pw@hooks.example.com/x").is_err());
        assert!(target("http://user@127.0.0.1:9/x").is_err());
        let t = target("http://127.0.0.1:9/hook?a=1").unwrap();
        assert_eq!(t.path, "/hook?a=1");
        assert_eq!(t.host_header(), "127.0.0.1:9");
        let t = target("https://hooks.example.com").unwrap();
        assert_eq!((t.path.as_str(), t.port), ("/", 443));
        assert_eq!(t.host_header(), "hooks.example.com:443");
        assert_eq!(
            target("http://[::1]:8080/").unwrap().host_header(),
            "[::1]:8080"
        );
    }

    #[test]
    fn status_lines_are_read() {
        assert_eq!(status_code(b"HTTP/1.1 204 No Content\r\n").unwrap(), 204);
        assert_eq!(status_code(b"HTTP/1.0 500 Oops\r\n").unwrap(), 500);
        assert!(status_code(b"").is_err());
        assert!(status_code(b"SSH-2.0-x\r\n").is_err());
        assert!(status_code(b"HTTP/1.1 20\r\n").is_err());
    }
}
