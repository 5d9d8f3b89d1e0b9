//! A typed JSON client over mutual TLS.

use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use http::{Method, Request, StatusCode, Uri, header};
use http_body_util::{BodyExt, Full};
use hyper_util::client::legacy::Client;
use rustls::ClientConfig;
use serde::Serialize;
use serde::de::DeserializeOwned;
use signet_tls::MtlsConnector;

use crate::ErrorBody;

/// Why a call failed, in words fit for one line on a terminal.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ClientError {
    /// The base URL or path is not a valid URI.
    #[error("invalid URL: {0}")]
    BadUrl(String),
    /// No connection, or the TLS handshake failed.
    #[error("cannot reach {url}: {reason}")]
    Connect {
        /// The URL.
        url: String,
        /// What went wrong, in one line.
        reason: String,
    },
    /// The call took longer than the client's timeout.
    #[error("no answer from {url} within {seconds} s")]
    Timeout {
        /// The URL.
        url: String,
        /// The timeout.
        seconds: u64,
    },
    /// The service answered with an error.
    #[error("{message}")]
    Api {
        /// HTTP status.
        status: u16,
        /// Stable error code.
        code: String,
        /// The service's explanation.
        message: String,
    },
    /// The answer is not what the API promises.
    #[error("unexpected answer from the service: {0}")]
    Decode(String),
}

impl ClientError {
    /// The API error code, if the service answered with one.
    pub fn code(&self) -> Option<&str> {
        match self {
            ClientError::Api { code, .. } => Some(code),
            _ => None,
        }
    }
}

/// A client for one service's JSON API. Cheap to clone; connections are
/// pooled and reused.
#[derive(Clone)]
pub struct ApiClient {
    base: String,
    http: Client<MtlsConnector, Full<Bytes>>,
    tls: Arc<ClientConfig>,
    timeout: Duration,
}

impl std::fmt::Debug for ApiClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ApiClient")
            .field("base", &self.base)
            .finish_non_exhaustive()
    }
}

impl ApiClient {
    /// A client for the service at `base` (e.g. `https://127.0.0.1:8445`),
    /// presenting the identity in `tls`.
    pub fn new(base: &str, tls: Arc<ClientConfig>) -> Self {
        ApiClient {
            base: base.trim_end_matches('/').to_owned(),
            http: signet_tls::https_client(Arc::clone(&tls)),
            tls,
            timeout: Duration::from_secs(120),
        }
    }

    /// Sets the per-call timeout (default 120 s).
    pub fn with_timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self
    }

    /// The base URL.
    pub fn base(&self) -> &str {
        &self.base
    }

    /// GET `path` and decode the JSON answer.
    pub async fn get<T: DeserializeOwned>(&self, path: &str) -> Result<T, ClientError> {
        self.call(Method::GET, path, None).await
    }

    /// POST `body` as JSON to `path` and decode the JSON answer.
    pub async fn post<B: Serialize, T: DeserializeOwned>(
        &self,
        path: &str,
        body: &B,
    ) -> Result<T, ClientError> {
        let json = serde_json::to_vec(body).map_err(|e| ClientError::Decode(e.to_string()))?;
        self.call(Method::POST, path, Some(json)).await
    }

    /// POST to `path` with extra `headers` (replay protection, idempotency)
    /// and an optional JSON `body`, and decode the JSON answer.
    pub async fn post_with_headers<B: Serialize, T: DeserializeOwned>(
        &self,
        path: &str,
        body: Option<&B>,
        headers: &[(&'static str, String)],
    ) -> Result<T, ClientError> {
        let json = body
            .map(serde_json::to_vec)
            .transpose()
            .map_err(|e| ClientError::Decode(e.to_string()))?;
        self.call_with(Method::POST, path, json, headers).await
    }

    async fn call<T: DeserializeOwned>(
        &self,
        method: Method,
        path: &str,
        body: Option<Vec<u8>>,
    ) -> Result<T, ClientError> {
        self.call_with(method, path, body, &[]).await
    }

    async fn call_with<T: DeserializeOwned>(
        &self,
        method: Method,
        path: &str,
        body: Option<Vec<u8>>,
        headers: &[(&'static str, String)],
    ) -> Result<T, ClientError> {
        let url = format!("{}{path}", self.base);
        let uri: Uri = url.parse().map_err(|_| ClientError::BadUrl(url.clone()))?;
        let mut builder = Request::builder()
            .method(method)
            .uri(uri.clone())
            .header(header::ACCEPT, "application/json");
        if body.is_some() {
            builder = builder.header(header::CONTENT_TYPE, "application/json");
        }
        for (name, value) in headers {
            builder = builder.header(*name, value.as_str());
        }
        let request = builder
            .body(Full::new(Bytes::from(body.unwrap_or_default())))
            .map_err(|e| ClientError::BadUrl(e.to_string()))?;
        let response = match tokio::time::timeout(self.timeout, self.http.request(request)).await {
            Err(_) => {
                return Err(ClientError::Timeout {
                    url,
                    seconds: self.timeout.as_secs(),
                });
            }
            Ok(Err(e)) => {
                let (refusal, generic) = (
                    signet_tls::tls_refusal(&e),
                    signet_tls::describe_handshake_error(&e),
                );
                let reason = match refusal {
                    Some(reason) => reason,
                    None => self.probe(&uri).await.unwrap_or(generic),
                };
                return Err(ClientError::Connect { reason, url });
            }
            Ok(Ok(r)) => r,
        };
        let status = response.status();
        let bytes = response
            .into_body()
            .collect()
            .await
            .map_err(|e| ClientError::Connect {
                reason: signet_tls::describe_handshake_error(&e),
                url: url.clone(),
            })?
            .to_bytes();
        if status.is_success() {
            return serde_json::from_slice(&bytes).map_err(|e| ClientError::Decode(e.to_string()));
        }
        Err(match serde_json::from_slice::<ErrorBody>(&bytes) {
            Ok(body) => ClientError::Api {
                status: status.as_u16(),
                code: body.error,
                message: body.message,
            },
            Err(_) => ClientError::Api {
                status: status.as_u16(),
                code: status_code_name(status).to_owned(),
                message: format!("{status}: {}", String::from_utf8_lossy(&bytes).trim()),
            },
        })
    }
}

impl ApiClient {
    /// A refusal by the server in TLS 1.3 can reach an HTTP/2 request as a
    /// bare "connection closed"; one probe connection asks the server for
    /// its alert.
    async fn probe(&self, uri: &Uri) -> Option<String> {
        signet_tls::probe_refusal(Arc::clone(&self.tls), uri, Duration::from_secs(2)).await
    }
}

fn status_code_name(status: StatusCode) -> &'static str {
    match status {
        StatusCode::PAYLOAD_TOO_LARGE => "payload_too_large",
        StatusCode::NOT_FOUND => "not_found",
        StatusCode::FORBIDDEN => "forbidden",
        _ => "http_error",
    }
}
