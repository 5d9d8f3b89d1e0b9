//! The responder's configuration file (`ocsp.toml`) and its validated form.
//!
//! ```toml
//! [server]
//! listen = "0.0.0.0:8444"
//! max_request_bytes = 65536
//! request_timeout = "5s"
//! header_timeout = "10s"
//! max_connections = 4096
//!
//! [database]
//! url = "postgres://ocsp_reader@db-replica/signet"
//! max_connections = 8
//! query_timeout = "2s"
//!
//! [token]
//! token_label = "signet"
//! pin = { file = "/etc/signet/token.pin" }
//!
//! [responses]
//! validity = "1h"
//! cache_entries = 1000000
//! poll_interval = "200ms"
//! signer_refresh = "5s"
//! crl_refresh = "1s"
//! max_certs_per_request = 20
//! unissued = "unknown"
//! ```
//!
//! Durations are `<number><unit>` with unit `ms`, `s`, `m`, `h` or `d`.

use std::net::SocketAddr;
use std::path::Path;
use std::time::Duration;

use serde::{Deserialize, Serialize};
use signet_core::profile::parse_duration;
use signet_token::TokenConfig;

use crate::error::OcspServiceError;

/// The whole `ocsp.toml`.
#[derive(Clone, Debug, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct OcspConfig {
    /// The plain-HTTP listener.
    pub server: ServerConfig,
    /// The CA database, opened read-only.
    pub database: DatabaseConfig,
    /// The PKCS#11 token holding the delegated OCSP signers' keys.
    pub token: TokenConfig,
    /// How responses are made, cached and refreshed.
    #[serde(default)]
    pub responses: ResponsesConfig,
}

/// The plain-HTTP listener. OCSP and CRL URLs are `http` by convention
/// (RFC 5019 §5, RFC 5280 §4.2.1.13): the responses are signed.
#[derive(Clone, Debug, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct ServerConfig {
    /// Address to listen on, e.g. `0.0.0.0:8444`.
    pub listen: SocketAddr,
    /// Largest OCSP request accepted, in bytes, as a POST body or decoded
    /// from a GET URL; a larger one is answered `malformedRequest`.
    /// Default 65536.
    #[serde(default = "default_max_request_bytes")]
    pub max_request_bytes: usize,
    /// How long a client has to send a POST body once the request head
    /// has arrived; a client that stops half way is answered
    /// `malformedRequest` and its connection closed. Default `5s`.
    #[serde(default = "default_request_timeout")]
    pub request_timeout: String,
    /// How long a client has to send a complete request head, and its
    /// first request on a new connection. Default `10s`.
    #[serde(default = "default_header_timeout")]
    pub header_timeout: String,
    /// Connections served at once; further clients wait in the listen
    /// backlog. Default 4096.
    #[serde(default = "default_max_connections")]
    pub max_connections: usize,
}

/// Where the CA database is. The responder only reads it: a read-only
/// role, or a PostgreSQL replica, is enough.
#[derive(Clone, Debug, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct DatabaseConfig {
    /// `sqlite:PATH` (the CA's file, which must exist) or `postgres://...`.
    pub url: String,
    /// Most pooled connections. Default 8.
    #[serde(default = "default_db_connections")]
    pub max_connections: u32,
    /// A status query that takes longer than this is answered `tryLater`
    /// rather than holding the client. Default `2s`.
    #[serde(default = "default_query_timeout")]
    pub query_timeout: String,
}

/// How responses are made, cached and refreshed.
#[derive(Clone, Debug, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct ResponsesConfig {
    /// nextUpdate of each response, after its thisUpdate; also the HTTP
    /// cache lifetime. A cached response is re-signed once it is older
    /// than half of this. Default `1h`.
    #[serde(default = "default_validity")]
    pub validity: String,
    /// Most pre-signed responses held in memory (0 turns the cache off:
    /// every request is signed). Default 1000000.
    #[serde(default = "default_cache_entries")]
    pub cache_entries: usize,
    /// How often the CA's status-change feed is read; a revocation reaches
    /// the answers within about this long. Default `200ms`.
    #[serde(default = "default_poll_interval")]
    pub poll_interval: String,
    /// How often issuers and delegated OCSP signers are re-read (signer
    /// rotation). Default `5s`.
    #[serde(default = "default_signer_refresh")]
    pub signer_refresh: String,
    /// A CRL held in memory is checked against the database when older
    /// than this. Default `1s`.
    #[serde(default = "default_crl_refresh")]
    pub crl_refresh: String,
    /// Most certificates asked about in one request; more is
    /// `malformedRequest`. Default 20.
    #[serde(default = "default_max_certs")]
    pub max_certs_per_request: usize,
    /// The answer for a serial this CA never issued: `unknown`, or
    /// `revoked` (RFC 6960 §2.2 extended revoked: certificateHold at
    /// 1970-01-01 with the extended-revoke extension). Never `good`.
    /// Default `unknown`.
    #[serde(default)]
    pub unissued: Unissued,
}

impl Default for ResponsesConfig {
    fn default() -> Self {
        ResponsesConfig {
            validity: default_validity(),
            cache_entries: default_cache_entries(),
            poll_interval: default_poll_interval(),
            signer_refresh: default_signer_refresh(),
            crl_refresh: default_crl_refresh(),
            max_certs_per_request: default_max_certs(),
            unissued: Unissued::default(),
        }
    }
}

/// The answer for a serial the CA never issued.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Unissued {
    /// `unknown` (RFC 6960 §2.2).
    #[default]
    Unknown,
    /// The extended `revoked` of RFC 6960 §2.2.
    Revoked,
}

impl ServerConfig {
    /// A listener on `listen` with every limit at its default.
    pub fn new(listen: SocketAddr) -> Self {
        ServerConfig {
            listen,
            max_request_bytes: default_max_request_bytes(),
            request_timeout: default_request_timeout(),
            header_timeout: default_header_timeout(),
            max_connections: default_max_connections(),
        }
    }
}

impl DatabaseConfig {
    /// The database at `url` with pool and timeout at their defaults.
    pub fn new(url: impl Into<String>) -> Self {
        DatabaseConfig {
            url: url.into(),
            max_connections: default_db_connections(),
            query_timeout: default_query_timeout(),
        }
    }
}

fn default_max_request_bytes() -> usize {
    65_536
}

fn default_request_timeout() -> String {
    "5s".into()
}

fn default_header_timeout() -> String {
    "10s".into()
}

fn default_max_connections() -> usize {
    4096
}

fn default_db_connections() -> u32 {
    8
}

fn default_query_timeout() -> String {
    "2s".into()
}

fn default_validity() -> String {
    "1h".into()
}

fn default_cache_entries() -> usize {
    1_000_000
}

fn default_poll_interval() -> String {
    "200ms".into()
}

fn default_signer_refresh() -> String {
    "5s".into()
}

fn default_crl_refresh() -> String {
    "1s".into()
}

fn default_max_certs() -> usize {
    20
}

impl OcspConfig {
    /// Reads and parses an `ocsp.toml`.
    pub fn load(path: &Path) -> Result<Self, OcspServiceError> {
        let text = std::fs::read_to_string(path).map_err(|e| OcspServiceError::Config {
            reason: format!("cannot read {}: {e}", path.display()),
        })?;
        Self::from_toml(&text).map_err(|e| match e {
            OcspServiceError::Config { reason } => OcspServiceError::Config {
                reason: format!("{}: {reason}", path.display()),
            },
            other => other,
        })
    }

    /// Parses the text of an `ocsp.toml`.
    pub fn from_toml(text: &str) -> Result<Self, OcspServiceError> {
        toml::from_str(text).map_err(|e| OcspServiceError::Config {
            reason: e.message().to_owned(),
        })
    }
}

/// Parses a configuration duration: `parse_duration`'s units plus `ms`.
pub(crate) fn duration(key: &str, text: &str) -> Result<Duration, OcspServiceError> {
    let bad = |reason: String| OcspServiceError::Config {
        reason: format!("{key}: {reason}"),
    };
    let trimmed = text.trim();
    if let Some(millis) = trimmed.strip_suffix("ms") {
        return millis
            .trim()
            .parse::<u64>()
            .map(Duration::from_millis)
            .map_err(|_| bad(format!("duration `{text}` does not start with a number")));
    }
    parse_duration(trimmed).map_err(bad)
}

/// The configuration, checked and with durations parsed.
#[derive(Clone, Debug)]
pub(crate) struct Settings {
    pub max_request_bytes: usize,
    pub request_timeout: Duration,
    pub header_timeout: Duration,
    pub max_connections: usize,
    pub query_timeout: Duration,
    pub validity: Duration,
    pub cache_entries: usize,
    pub poll_interval: Duration,
    pub signer_refresh: Duration,
    pub crl_refresh: Duration,
    pub max_certs: usize,
    pub unissued: Unissued,
}

impl TryFrom<&OcspConfig> for Settings {
    type Error = OcspServiceError;

    fn try_from(c: &OcspConfig) -> Result<Self, OcspServiceError> {
        let r = &c.responses;
        let s = Settings {
            max_request_bytes: c.server.max_request_bytes,
            request_timeout: duration("server.request_timeout", &c.server.request_timeout)?,
            header_timeout: duration("server.header_timeout", &c.server.header_timeout)?,
            max_connections: c.server.max_connections,
            query_timeout: duration("database.query_timeout", &c.database.query_timeout)?,
            validity: duration("responses.validity", &r.validity)?,
            cache_entries: r.cache_entries,
            poll_interval: duration("responses.poll_interval", &r.poll_interval)?,
            signer_refresh: duration("responses.signer_refresh", &r.signer_refresh)?,
            crl_refresh: duration("responses.crl_refresh", &r.crl_refresh)?,
            max_certs: r.max_certs_per_request,
            unissued: r.unissued,
        };
        let positive = [
            ("server.request_timeout", s.request_timeout),
            ("server.header_timeout", s.header_timeout),
            ("database.query_timeout", s.query_timeout),
            ("responses.poll_interval", s.poll_interval),
            ("responses.signer_refresh", s.signer_refresh),
        ];
        for (key, value) in positive {
            if value.is_zero() {
                return Err(OcspServiceError::Config {
                    reason: format!("{key} must be longer than zero"),
                });
            }
        }
        // Responses carry whole seconds; half the validity (the cache
        // lifetime) must be at least one of them.
        if s.validity < Duration::from_secs(2) {
            return Err(OcspServiceError::Config {
                reason: "responses.validity must be at least 2s".into(),
            });
        }
        for (key, value) in [
            ("server.max_request_bytes", s.max_request_bytes),
            ("server.max_connections", s.max_connections),
            ("responses.max_certs_per_request", s.max_certs),
        ] {
            if value == 0 {
                return Err(OcspServiceError::Config {
                    reason: format!("{key} must be at least 1"),
                });
            }
        }
        if c.database.max_connections == 0 {
            return Err(OcspServiceError::Config {
                reason: "database.max_connections must be at least 1".into(),
            });
        }
        Ok(s)
    }
}

#[cfg(test)]
mod tests;
