//! The CA's configuration file (`ca.toml`). Every key is documented here
//! and in docs/configuration.md; `signet init` writes a complete file.

use std::net::SocketAddr;
use std::path::PathBuf;

use serde::{Deserialize, Serialize};
use signet_token::TokenConfig;

/// The whole `ca.toml`.
#[derive(Clone, Debug, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct CaConfig {
    /// The mTLS listener.
    pub server: ServerConfig,
    /// The PKCS#11 token holding the CA keys.
    pub token: TokenConfig,
    /// The CA database.
    pub database: DatabaseConfig,
    /// Issuance settings.
    pub issuance: IssuanceConfig,
    /// The CA certificates this signer issues under.
    pub issuers: Vec<IssuerConfig>,
    /// CRLs and delegated OCSP signers.
    #[serde(default)]
    pub publication: PublicationConfig,
}

/// When CRLs are made and OCSP signers renewed.
#[derive(Clone, Debug, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct PublicationConfig {
    /// A full CRL per issuer and shard this often. Default `1h`.
    #[serde(default = "default_crl_interval")]
    pub crl_interval: String,
    /// nextUpdate of full CRLs, after thisUpdate. Default `24h`.
    #[serde(default = "default_crl_validity")]
    pub crl_validity: String,
    /// A delta CRL this often. Default `5m`.
    #[serde(default = "default_delta_interval")]
    pub delta_interval: String,
    /// nextUpdate of delta CRLs. Default `1h`.
    #[serde(default = "default_delta_validity")]
    pub delta_validity: String,
    /// A new delegated OCSP signer is issued when the current one has less
    /// than this left. Default `10d` (signers live 30 days: profile `ocsp-signer`).
    #[serde(default = "default_renew_before")]
    pub ocsp_signer_renew_before: String,
    /// CRLs kept per issuer and shard (older ones are deleted). Default 10.
    #[serde(default = "default_keep_crls")]
    pub keep_crls: u32,
}

impl Default for PublicationConfig {
    fn default() -> Self {
        PublicationConfig {
            crl_interval: default_crl_interval(),
            crl_validity: default_crl_validity(),
            delta_interval: default_delta_interval(),
            delta_validity: default_delta_validity(),
            ocsp_signer_renew_before: default_renew_before(),
            keep_crls: default_keep_crls(),
        }
    }
}

fn default_crl_interval() -> String {
    "1h".into()
}

fn default_crl_validity() -> String {
    "24h".into()
}

fn default_delta_interval() -> String {
    "5m".into()
}

fn default_delta_validity() -> String {
    "1h".into()
}

fn default_renew_before() -> String {
    "10d".into()
}

fn default_keep_crls() -> u32 {
    10
}

/// The mTLS listener.
#[derive(Clone, Debug, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct ServerConfig {
    /// Address to listen on, e.g. `127.0.0.1:8445`.
    pub listen: SocketAddr,
    /// The service certificate chain, PEM (platform CA).
    pub certificate: PathBuf,
    /// Its private key, PEM.
    pub key: PathBuf,
    /// Roots that client certificates must chain to (the platform CA), PEM.
    pub client_roots: PathBuf,
    /// Client roles admitted (`ra`, `admin`). Default: both.
    #[serde(default = "default_roles")]
    pub allowed_roles: Vec<String>,
    /// Largest request body in bytes. Default 1 MiB; batch calls may use
    /// `max_batch_bytes`.
    #[serde(default = "default_max_request_bytes")]
    pub max_request_bytes: usize,
    /// Largest batch-issue body in bytes. Default 32 MiB.
    #[serde(default = "default_max_batch_bytes")]
    pub max_batch_bytes: usize,
}

/// Where the CA database is.
#[derive(Clone, Debug, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct DatabaseConfig {
    /// `sqlite:PATH` or `postgres://...`.
    pub url: String,
    /// Most pooled connections. Default 8.
    #[serde(default = "default_connections")]
    pub max_connections: u32,
}

/// Issuance settings.
#[derive(Clone, Debug, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct IssuanceConfig {
    /// The issuer used when a request names none.
    pub default_issuer: String,
    /// Directory of profile TOML files (`<name>.toml`).
    pub profiles_dir: PathBuf,
    /// Largest CSR accepted, bytes. Default 65536.
    #[serde(default = "default_max_csr_bytes")]
    pub max_csr_bytes: usize,
    /// Most requests in one batch call. Default 1000.
    #[serde(default = "default_max_batch")]
    pub max_batch: usize,
    /// Most database writes sharing one commit. Default 1024.
    #[serde(default = "default_journal_batch")]
    pub journal_batch: usize,
}

/// One CA certificate and its key.
#[derive(Clone, Debug, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct IssuerConfig {
    /// Name used in requests (`root`, `issuing`, `platform`).
    pub name: String,
    /// Stable database id.
    pub id: i64,
    /// Token label of the CA key.
    pub key_label: String,
    /// The CA certificate, PEM.
    pub certificate: PathBuf,
    /// OCSP URL placed in issued certificates (AIA).
    #[serde(default)]
    pub ocsp_url: Option<String>,
    /// URL of this CA certificate (AIA caIssuers).
    #[serde(default)]
    pub ca_issuers_url: Option<String>,
    /// CRL URL (CDP); may contain `{shard}`.
    #[serde(default)]
    pub crl_url: Option<String>,
    /// Delta CRL URL (freshestCRL); may contain `{shard}`.
    #[serde(default)]
    pub delta_crl_url: Option<String>,
    /// Number of CRL partitions. Default 1 (one CRL).
    #[serde(default)]
    pub crl_shards: u16,
}

fn default_roles() -> Vec<String> {
    vec!["ra".into(), "admin".into()]
}

fn default_max_request_bytes() -> usize {
    1024 * 1024
}

fn default_max_batch_bytes() -> usize {
    32 * 1024 * 1024
}

fn default_connections() -> u32 {
    8
}

fn default_max_csr_bytes() -> usize {
    signet_core::csr::DEFAULT_MAX_CSR_BYTES
}

fn default_max_batch() -> usize {
    1000
}

fn default_journal_batch() -> usize {
    1024
}

impl CaConfig {
    /// Reads and parses a `ca.toml`.
    pub fn load(path: &std::path::Path) -> Result<Self, crate::CaError> {
        let text = std::fs::read_to_string(path).map_err(|e| crate::CaError::Config {
            reason: format!("cannot read {}: {e}", path.display()),
        })?;
        toml::from_str(&text).map_err(|e| crate::CaError::Config {
            reason: format!("{}: {}", path.display(), e.message()),
        })
    }
}
