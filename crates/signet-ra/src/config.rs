//! The RA's configuration file (`ra.toml`). Every key is documented here
//! and in docs/configuration.md; `signet init` writes a complete file with
//! [`crate::render_config`].

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::{Deserialize, Serialize};
use signet_core::profile::parse_duration;
use signet_token::TokenConfig;

use crate::error::RaError;

/// The whole `ra.toml`.
#[derive(Clone, Debug, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct RaConfig {
    /// The HTTPS listener, sessions and login rules.
    pub server: ServerConfig,
    /// The PKCS#11 token holding the field-encryption and audit keys.
    pub token: TokenConfig,
    /// The RA database.
    pub database: DatabaseConfig,
    /// How the RA reaches the CA signer.
    pub ca: CaLinkConfig,
    /// Languages of the console.
    #[serde(default)]
    pub i18n: I18nConfig,
    /// The audit trail.
    #[serde(default)]
    pub audit: AuditConfig,
    /// The CA profiles officers may file requests for, and how many
    /// distinct approvers each needs. A profile not listed here cannot be
    /// requested through the RA.
    #[serde(default)]
    pub profiles: Vec<RaProfileConfig>,
    /// The REST API under `/api`.
    #[serde(default)]
    pub api: ApiConfig,
    /// Batch issuance.
    #[serde(default)]
    pub batch: BatchConfig,
    /// The subscribers' self-service portal.
    #[serde(default)]
    pub portal: PortalConfig,
    /// How the RA reaches the KMC (key recovery, key health). Optional:
    /// without it the console's key pages say the KMC is not configured.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kmc: Option<KmcLinkConfig>,
    /// PKCS#12 files of keys the RA generates (server-side key generation).
    #[serde(default)]
    pub pkcs12: Pkcs12Config,
    /// Expiry reminders by e-mail and webhook (off by default).
    #[serde(default)]
    pub reminders: RemindersConfig,
}

pub use crate::reminders::{RemindersConfig, SmtpConfig, WebhookConfig};

/// How the RA calls the KMC (`[kmc]`): mutual TLS with the RA's platform
/// identity (role `ra`, the same one it calls the CA with); the KMC's
/// certificate must chain to `roots` and name role `kmc`.
#[derive(Clone, Debug, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct KmcLinkConfig {
    /// The KMC's base URL, e.g. `https://127.0.0.1:8446`.
    pub url: String,
    /// The RA's platform certificate (role `ra`), PEM.
    pub certificate: PathBuf,
    /// Its private key, PEM.
    pub key: PathBuf,
    /// The platform root the KMC's certificate chains to, PEM.
    pub roots: PathBuf,
    /// Offered profiles (`[[profiles]]`) that the CA marks `dual = true`:
    /// the RA has them issued through the CA's dual endpoint, which asks
    /// the KMC for the escrowed encryption key pair. The RA cannot tell
    /// from the profile name, and the CA refuses a dual profile on the
    /// single path. Default none.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub dual_profiles: Vec<String>,
}

/// The subscribers' portal (`[portal]`).
#[derive(Clone, Debug, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct PortalConfig {
    /// A certificate may be renewed this long before it expires, not
    /// earlier. Default `30d`.
    #[serde(default = "default_renewal_window")]
    pub renewal_window: String,
    /// How long a one-time enrolment code an officer creates stays valid
    /// (for filing and for fetching the certificate). Default `7d`.
    #[serde(default = "default_enrolment_code_lifetime")]
    pub enrolment_code_lifetime: String,
    /// Wrong enrolment codes accepted per client address and minute.
    /// Default 10.
    #[serde(default = "default_enrolment_attempts")]
    pub enrolment_attempts_per_minute: u32,
    /// When a portal renewal is issued, the renewed certificate is
    /// revoked (reason superseded) this long after, or never with `off`.
    /// Default `7d`.
    #[serde(default = "default_supersede_grace")]
    pub supersede_grace: String,
    /// How often the RA looks for superseded certificates due for
    /// revocation (and retries those the CA did not confirm); at most
    /// `1d`. Default `1m`.
    #[serde(default = "default_supersede_check_interval")]
    pub supersede_check_interval: String,
}

impl Default for PortalConfig {
    fn default() -> Self {
        PortalConfig {
            renewal_window: default_renewal_window(),
            enrolment_code_lifetime: default_enrolment_code_lifetime(),
            enrolment_attempts_per_minute: default_enrolment_attempts(),
            supersede_grace: default_supersede_grace(),
            supersede_check_interval: default_supersede_check_interval(),
        }
    }
}

fn default_renewal_window() -> String {
    "30d".into()
}
fn default_enrolment_code_lifetime() -> String {
    "7d".into()
}
fn default_enrolment_attempts() -> u32 {
    10
}
fn default_supersede_grace() -> String {
    "7d".into()
}
fn default_supersede_check_interval() -> String {
    "1m".into()
}

/// PKCS#12 files of server-generated keys (`[pkcs12]`): PBES2 with
/// PBKDF2-HMAC-SHA256 and AES-256-CBC, HMAC-SHA-256 MAC.
#[derive(Clone, Debug, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Pkcs12Config {
    /// PBKDF2 iterations of the key and certificate encryption, 1000 to
    /// 1,000,000. Default 100000 (OpenSSL 3 writes 2048). Readers bound
    /// it: .NET refuses files whose counts add up to more than 600,000
    /// by default, Java counts above 5,000,000.
    #[serde(default = "default_pkcs12_pbkdf2")]
    pub pbkdf2_iterations: u32,
    /// Iterations of the MAC key derivation (RFC 7292 App. B), 2 to
    /// 1,000,000. Default 2048 (OpenSSL's).
    #[serde(default = "default_pkcs12_mac")]
    pub mac_iterations: u32,
}

impl Default for Pkcs12Config {
    fn default() -> Self {
        Pkcs12Config {
            pbkdf2_iterations: default_pkcs12_pbkdf2(),
            mac_iterations: default_pkcs12_mac(),
        }
    }
}

fn default_pkcs12_pbkdf2() -> u32 {
    100_000
}
fn default_pkcs12_mac() -> u32 {
    2048
}

/// Batch issuance (`[batch]`).
#[derive(Clone, Debug, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct BatchConfig {
    /// Most rows in one batch file. Default 10000.
    #[serde(default = "default_batch_rows")]
    pub max_rows: usize,
    /// Rows sent to the CA per call by the background job. Default 100.
    #[serde(default = "default_batch_chunk")]
    pub chunk_size: usize,
    /// Refuse console batch uploads without the officer's detached CMS
    /// signature over the file. Default false.
    #[serde(default)]
    pub require_signature: bool,
    /// How often running batches without a job (stopped on an error, or
    /// never started) get one. Default `"1m"`.
    #[serde(default = "default_batch_sweep")]
    pub job_sweep_interval: String,
}

impl Default for BatchConfig {
    fn default() -> Self {
        BatchConfig {
            max_rows: default_batch_rows(),
            chunk_size: default_batch_chunk(),
            require_signature: false,
            job_sweep_interval: default_batch_sweep(),
        }
    }
}

fn default_batch_sweep() -> String {
    "1m".into()
}

fn default_batch_rows() -> usize {
    10_000
}
fn default_batch_chunk() -> usize {
    100
}

/// The REST API (`[api]`).
#[derive(Clone, Debug, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct ApiConfig {
    /// Largest request body, bytes. Default 1 MiB.
    #[serde(default = "default_api_body")]
    pub max_body_bytes: usize,
    /// Largest body of `POST /api/v1/batches`, bytes. Default 32 MiB.
    #[serde(default = "default_api_batch_body")]
    pub max_batch_body_bytes: usize,
    /// How far a call's `X-Signet-Timestamp` may be from the RA's clock;
    /// nonces are remembered this long. Default `5m`.
    #[serde(default = "default_api_skew")]
    pub max_clock_skew: String,
    /// Calls per minute for a client registered without its own limit.
    /// Default 600.
    #[serde(default = "default_api_rate")]
    pub default_rate_per_minute: u32,
}

impl Default for ApiConfig {
    fn default() -> Self {
        ApiConfig {
            max_body_bytes: default_api_body(),
            max_batch_body_bytes: default_api_batch_body(),
            max_clock_skew: default_api_skew(),
            default_rate_per_minute: default_api_rate(),
        }
    }
}

fn default_api_body() -> usize {
    1024 * 1024
}
fn default_api_batch_body() -> usize {
    32 * 1024 * 1024
}
fn default_api_skew() -> String {
    "5m".into()
}
fn default_api_rate() -> u32 {
    600
}

/// One profile offered by the RA (`[[profiles]]`).
#[derive(Clone, Debug, Deserialize, Serialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct RaProfileConfig {
    /// The CA profile name (`server`, `client`, `user-sign`, ...).
    pub name: String,
    /// Distinct officers, other than the one who filed the request, who
    /// must approve before the RA asks the CA to issue. At least 1 (the
    /// filer never approves); default 1.
    #[serde(default = "default_approvals")]
    pub approvals: u32,
}

fn default_approvals() -> u32 {
    1
}

/// The HTTPS listener (console, portal and API on one port), sessions and
/// login rules.
#[derive(Clone, Debug, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct ServerConfig {
    /// Address to listen on, e.g. `127.0.0.1:8443`.
    pub listen: SocketAddr,
    /// The web server certificate chain, PEM: issued by the customer's
    /// issuing CA, so browsers that trust `root.pem` trust it.
    pub certificate: PathBuf,
    /// Its private key, PEM.
    pub key: PathBuf,
    /// Roots a client certificate may chain to, PEM: the customer root
    /// (officer and subscriber certificate login) and the platform root
    /// (API clients). Client certificates are optional.
    pub client_roots: PathBuf,
    /// A session ends after this long without a request. Default `15m`.
    #[serde(default = "default_idle")]
    pub session_idle_timeout: String,
    /// A session ends this long after login, however active. Default `8h`.
    #[serde(default = "default_lifetime")]
    pub session_lifetime: String,
    /// Consecutive failed logins (password or TOTP) that lock an account.
    /// Default 5.
    #[serde(default = "default_lockout_threshold")]
    pub lockout_threshold: u32,
    /// How long a locked account stays locked. Default `15m`.
    #[serde(default = "default_lockout_duration")]
    pub lockout_duration: String,
    /// Login attempts accepted per client IP address and minute, across
    /// accounts. Default 20.
    #[serde(default = "default_login_rate")]
    pub login_attempts_per_minute: u32,
    /// Issuer shown by authenticator apps for TOTP enrolment. Default
    /// `Signet RA`.
    #[serde(default = "default_totp_issuer")]
    pub totp_issuer: String,
    /// Largest form body, bytes. Default 64 KiB.
    #[serde(default = "default_max_form_bytes")]
    pub max_form_bytes: usize,
    /// Largest upload (batch request files), bytes. Default 32 MiB.
    #[serde(default = "default_max_upload_bytes")]
    pub max_upload_bytes: usize,
}

/// Where the RA database is.
#[derive(Clone, Debug, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct DatabaseConfig {
    /// `sqlite:PATH` or `postgres://...` (schema `ra`).
    pub url: String,
    /// Most pooled connections. Default 8.
    #[serde(default = "default_connections")]
    pub max_connections: u32,
}

/// How the RA calls the CA signer (mutual TLS, platform PKI).
#[derive(Clone, Debug, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct CaLinkConfig {
    /// The CA's base URL, e.g. `https://127.0.0.1:8445`.
    pub url: String,
    /// The RA's platform certificate (role `ra`), PEM.
    pub certificate: PathBuf,
    /// Its private key, PEM.
    pub key: PathBuf,
    /// The platform root the CA's certificate chains to, PEM.
    pub roots: PathBuf,
}

/// Languages.
#[derive(Clone, Debug, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct I18nConfig {
    /// Language when neither the `lang` cookie nor Accept-Language picks
    /// one: `en` or `zh-CN`. Default `en`.
    #[serde(default = "default_language")]
    pub default_language: String,
}

impl Default for I18nConfig {
    fn default() -> Self {
        I18nConfig {
            default_language: default_language(),
        }
    }
}

/// The audit trail.
#[derive(Clone, Debug, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct AuditConfig {
    /// A signed checkpoint of the chain this often (when events were
    /// added), and at start and stop. Default `10m`.
    #[serde(default = "default_checkpoint_interval")]
    pub checkpoint_interval: String,
}

impl Default for AuditConfig {
    fn default() -> Self {
        AuditConfig {
            checkpoint_interval: default_checkpoint_interval(),
        }
    }
}

fn default_idle() -> String {
    "15m".into()
}
fn default_lifetime() -> String {
    "8h".into()
}
fn default_lockout_threshold() -> u32 {
    5
}
fn default_lockout_duration() -> String {
    "15m".into()
}
fn default_login_rate() -> u32 {
    20
}
fn default_totp_issuer() -> String {
    "Signet RA".into()
}
fn default_max_form_bytes() -> usize {
    64 * 1024
}
fn default_max_upload_bytes() -> usize {
    32 * 1024 * 1024
}
fn default_connections() -> u32 {
    8
}
fn default_language() -> String {
    "en".into()
}
fn default_checkpoint_interval() -> String {
    "10m".into()
}

impl ServerConfig {
    /// A `[server]` table with every default, for `signet init` and tests.
    pub fn new(
        listen: SocketAddr,
        certificate: PathBuf,
        key: PathBuf,
        client_roots: PathBuf,
    ) -> Self {
        ServerConfig {
            listen,
            certificate,
            key,
            client_roots,
            session_idle_timeout: default_idle(),
            session_lifetime: default_lifetime(),
            lockout_threshold: default_lockout_threshold(),
            lockout_duration: default_lockout_duration(),
            login_attempts_per_minute: default_login_rate(),
            totp_issuer: default_totp_issuer(),
            max_form_bytes: default_max_form_bytes(),
            max_upload_bytes: default_max_upload_bytes(),
        }
    }
}

impl DatabaseConfig {
    /// A `[database]` table with the default pool size.
    pub fn new(url: impl Into<String>) -> Self {
        DatabaseConfig {
            url: url.into(),
            max_connections: default_connections(),
        }
    }
}

impl RaConfig {
    /// Reads and parses an `ra.toml`.
    pub fn load(path: &Path) -> Result<Self, RaError> {
        let text = std::fs::read_to_string(path).map_err(|e| RaError::Config {
            reason: format!("cannot read {}: {e}", path.display()),
        })?;
        let config: RaConfig = toml::from_str(&text).map_err(|e| RaError::Config {
            reason: format!("{}: {}", path.display(), e.message()),
        })?;
        Settings::try_from(&config)?;
        Ok(config)
    }
}

/// The validated settings the running RA uses.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Settings {
    /// Idle timeout of sessions.
    pub session_idle_timeout: Duration,
    /// Absolute lifetime of sessions.
    pub session_lifetime: Duration,
    /// Failures that lock an account.
    pub lockout_threshold: u32,
    /// How long an account stays locked.
    pub lockout_duration: Duration,
    /// Login attempts per IP and minute.
    pub login_attempts_per_minute: u32,
    /// TOTP issuer name.
    pub totp_issuer: String,
    /// Largest form body.
    pub max_form_bytes: usize,
    /// Largest upload.
    pub max_upload_bytes: usize,
    /// Fallback language.
    pub default_language: crate::web::Lang,
    /// Checkpoint interval.
    pub checkpoint_interval: Duration,
    /// Profiles offered, with their approval counts, by name.
    pub profiles: Vec<RaProfileConfig>,
    /// Largest API request body.
    pub api_max_body_bytes: usize,
    /// Largest API batch body.
    pub api_max_batch_body_bytes: usize,
    /// Accepted distance of an API call's timestamp from now.
    pub api_max_clock_skew: Duration,
    /// Default API rate limit per client and minute.
    pub api_default_rate: u32,
    /// Most rows in a batch.
    pub batch_max_rows: usize,
    /// Rows per CA call in batch jobs.
    pub batch_chunk_size: usize,
    /// How often running batches without a job get one.
    pub batch_job_sweep_interval: Duration,
    /// Console batch uploads must carry the officer's signature.
    pub batch_require_signature: bool,
    /// Roots client certificates chain to (`server.client_roots`); batch
    /// signatures are checked against them.
    pub client_roots: std::path::PathBuf,
    /// How long before expiry the portal allows renewal.
    pub renewal_window: Duration,
    /// How long an enrolment code stays valid.
    pub enrolment_code_lifetime: Duration,
    /// Wrong enrolment codes per address and minute.
    pub enrolment_attempts_per_minute: u32,
    /// Delay from a portal renewal's issuance to the revocation of the
    /// renewed certificate (superseded); `None`: never (`off`).
    pub supersede_grace: Option<Duration>,
    /// How often due superseded revocations are looked for.
    pub supersede_check_interval: Duration,
    /// Profiles issued as dual pairs (`[kmc] dual_profiles`).
    pub dual_profiles: Vec<String>,
    /// Iteration counts of PKCS#12 files (`[pkcs12]`).
    pub pkcs12_iterations: signet_core::pkcs12::Pkcs12Iterations,
}

impl Settings {
    /// Whether requests for `profile` are issued as dual pairs.
    pub fn is_dual(&self, profile: &str) -> bool {
        self.dual_profiles.iter().any(|p| p == profile)
    }

    /// The offered profile called `name`.
    pub fn profile(&self, name: &str) -> Option<&RaProfileConfig> {
        self.profiles.iter().find(|p| p.name == name)
    }
}

impl TryFrom<&RaConfig> for Settings {
    type Error = RaError;

    fn try_from(c: &RaConfig) -> Result<Self, RaError> {
        let duration = |key: &str, text: &str| -> Result<Duration, RaError> {
            let d = parse_duration(text).map_err(|reason| RaError::Config {
                reason: format!("{key}: {reason}"),
            })?;
            if d.is_zero() {
                return Err(RaError::Config {
                    reason: format!("{key} must be longer than zero"),
                });
            }
            Ok(d)
        };
        let s = &c.server;
        let settings = Settings {
            session_idle_timeout: duration("server.session_idle_timeout", &s.session_idle_timeout)?,
            session_lifetime: duration("server.session_lifetime", &s.session_lifetime)?,
            lockout_threshold: s.lockout_threshold,
            lockout_duration: duration("server.lockout_duration", &s.lockout_duration)?,
            login_attempts_per_minute: s.login_attempts_per_minute,
            totp_issuer: s.totp_issuer.clone(),
            max_form_bytes: s.max_form_bytes,
            max_upload_bytes: s.max_upload_bytes,
            default_language: c
                .i18n
                .default_language
                .parse()
                .map_err(|_| RaError::Config {
                    reason: format!(
                        "i18n.default_language: `{}` is not one of en, zh-CN",
                        c.i18n.default_language
                    ),
                })?,
            checkpoint_interval: duration(
                "audit.checkpoint_interval",
                &c.audit.checkpoint_interval,
            )?,
            profiles: c.profiles.clone(),
            api_max_body_bytes: c.api.max_body_bytes,
            api_max_batch_body_bytes: c.api.max_batch_body_bytes,
            api_max_clock_skew: duration("api.max_clock_skew", &c.api.max_clock_skew)?,
            api_default_rate: c.api.default_rate_per_minute,
            batch_max_rows: c.batch.max_rows,
            batch_chunk_size: c.batch.chunk_size,
            batch_job_sweep_interval: duration(
                "batch.job_sweep_interval",
                &c.batch.job_sweep_interval,
            )?,
            batch_require_signature: c.batch.require_signature,
            client_roots: s.client_roots.clone(),
            renewal_window: duration("portal.renewal_window", &c.portal.renewal_window)?,
            enrolment_code_lifetime: duration(
                "portal.enrolment_code_lifetime",
                &c.portal.enrolment_code_lifetime,
            )?,
            enrolment_attempts_per_minute: c.portal.enrolment_attempts_per_minute,
            supersede_grace: match c.portal.supersede_grace.trim() {
                "off" => None,
                text => Some(duration("portal.supersede_grace", text)?),
            },
            supersede_check_interval: duration(
                "portal.supersede_check_interval",
                &c.portal.supersede_check_interval,
            )?,
            pkcs12_iterations: signet_core::pkcs12::Pkcs12Iterations::new(
                c.pkcs12.pbkdf2_iterations,
                c.pkcs12.mac_iterations,
            )
            .map_err(|e| RaError::Config {
                reason: format!("[pkcs12]: {e}"),
            })?,
            dual_profiles: c
                .kmc
                .as_ref()
                .map(|k| k.dual_profiles.clone())
                .unwrap_or_default(),
        };
        if let Some(p) = settings
            .dual_profiles
            .iter()
            .find(|d| !settings.profiles.iter().any(|p| &p.name == *d))
        {
            return Err(RaError::Config {
                reason: format!(
                    "kmc.dual_profiles: `{p}` is not an offered profile ([[profiles]])"
                ),
            });
        }
        // The CA takes at most 1000 requests per batch call (its default).
        if settings.batch_max_rows == 0 || !(1..=1000).contains(&settings.batch_chunk_size) {
            return Err(RaError::Config {
                reason: "batch.max_rows must be at least 1 and batch.chunk_size 1 to 1000".into(),
            });
        }
        if settings.api_max_batch_body_bytes < 1024 {
            return Err(RaError::Config {
                reason: "api.max_batch_body_bytes must be at least 1024".into(),
            });
        }
        if settings.api_max_body_bytes < 1024 || settings.api_default_rate == 0 {
            return Err(RaError::Config {
                reason: "api.max_body_bytes must be at least 1024 and api.default_rate_per_minute at least 1".into(),
            });
        }
        for (i, p) in settings.profiles.iter().enumerate() {
            // Separation of duties: a request is never issued on its
            // filer's word alone.
            if p.approvals == 0 || p.approvals > 5 {
                return Err(RaError::Config {
                    reason: format!("profiles `{}`: approvals must be 1 to 5", p.name),
                });
            }
            if p.name.is_empty() || settings.profiles.iter().take(i).any(|q| q.name == p.name) {
                return Err(RaError::Config {
                    reason: format!("profiles: `{}` is empty or listed twice", p.name),
                });
            }
        }
        if settings.enrolment_attempts_per_minute == 0 {
            return Err(RaError::Config {
                reason: "portal.enrolment_attempts_per_minute must be at least 1".into(),
            });
        }
        // At most a day (the task adds it to an `Instant`, which must
        // not overflow; a day is already a long time to wait).
        if settings.supersede_check_interval > Duration::from_secs(86_400) {
            return Err(RaError::Config {
                reason: "portal.supersede_check_interval must be at most 1d".into(),
            });
        }
        crate::reminders::validate(&c.reminders)?;
        if settings.lockout_threshold == 0 {
            return Err(RaError::Config {
                reason: "server.lockout_threshold must be at least 1".into(),
            });
        }
        if settings.login_attempts_per_minute == 0 {
            return Err(RaError::Config {
                reason: "server.login_attempts_per_minute must be at least 1".into(),
            });
        }
        if settings.max_form_bytes < 1024 {
            return Err(RaError::Config {
                reason: "server.max_form_bytes must be at least 1024".into(),
            });
        }
        Ok(settings)
    }
}

#[cfg(test)]
mod tests {
    use std::path::PathBuf;

    use signet_token::PinSource;

    use super::*;

    fn config() -> RaConfig {
        RaConfig {
            server: ServerConfig::new(
                "127.0.0.1:8443".parse().unwrap(),
                PathBuf::from("web.pem"),
                PathBuf::from("web.key"),
                PathBuf::from("roots.pem"),
            ),
            token: TokenConfig::new("signet", PinSource::Env("PIN".into())),
            database: DatabaseConfig::new("sqlite:ra.db"),
            ca: CaLinkConfig {
                url: "https://127.0.0.1:8445".into(),
                certificate: "ra.pem".into(),
                key: "ra.key".into(),
                roots: "platform.pem".into(),
            },
            i18n: I18nConfig::default(),
            audit: AuditConfig::default(),
            profiles: vec![RaProfileConfig {
                name: "server".into(),
                approvals: 2,
            }],
            api: ApiConfig::default(),
            batch: BatchConfig::default(),
            portal: PortalConfig::default(),
            kmc: None,
            reminders: RemindersConfig::default(),
            pkcs12: Default::default(),
        }
    }

    #[test]
    fn defaults_validate() {
        let s = Settings::try_from(&config()).unwrap();
        assert_eq!(s.lockout_threshold, 5);
        assert_eq!(s.session_idle_timeout, Duration::from_secs(15 * 60));
        assert_eq!(s.api_max_clock_skew, Duration::from_secs(300));
        assert_eq!(s.profile("server").map(|p| p.approvals), Some(2));
        assert!(s.profile("client").is_none());
    }

    #[test]
    fn separation_of_duties_and_limits_are_enforced() {
        let mut c = config();
        c.profiles[0].approvals = 0;
        assert!(
            Settings::try_from(&c).is_err(),
            "a request approved by nobody"
        );
        let mut c = config();
        c.profiles.push(c.profiles[0].clone());
        assert!(Settings::try_from(&c).is_err(), "a profile listed twice");
        let mut c = config();
        c.server.lockout_threshold = 0;
        assert!(Settings::try_from(&c).is_err());
        let mut c = config();
        c.api.max_clock_skew = "0s".into();
        assert!(Settings::try_from(&c).is_err());
        let mut c = config();
        c.api.default_rate_per_minute = 0;
        assert!(Settings::try_from(&c).is_err());
        let mut c = config();
        c.i18n.default_language = "fr".into();
        assert!(Settings::try_from(&c).is_err());
    }

    #[test]
    fn portal_defaults_and_supersede_off() {
        let s = Settings::try_from(&config()).unwrap();
        assert_eq!(s.enrolment_code_lifetime, Duration::from_secs(7 * 86_400));
        assert_eq!(s.supersede_grace, Some(Duration::from_secs(7 * 86_400)));
        assert_eq!(s.enrolment_attempts_per_minute, 10);
        let mut c = config();
        c.portal.supersede_grace = "off".into();
        assert_eq!(Settings::try_from(&c).unwrap().supersede_grace, None);
        c.portal.supersede_grace = "0s".into();
        assert!(Settings::try_from(&c).is_err());
        let mut c = config();
        c.portal.enrolment_attempts_per_minute = 0;
        assert!(Settings::try_from(&c).is_err());
        let mut c = config();
        c.portal.supersede_check_interval = "1d".into();
        assert!(Settings::try_from(&c).is_ok());
        c.portal.supersede_check_interval = "25h".into();
        assert!(Settings::try_from(&c).is_err());
    }

    #[test]
    fn dual_profiles_must_be_offered() {
        let link = |dual: &[&str]| KmcLinkConfig {
            url: "https://127.0.0.1:8446".into(),
            certificate: "ra.pem".into(),
            key: "ra.key".into(),
            roots: "platform.pem".into(),
            dual_profiles: dual.iter().map(|d| (*d).to_owned()).collect(),
        };
        let mut c = config();
        c.kmc = Some(link(&["server"]));
        let s = Settings::try_from(&c).unwrap();
        assert!(s.is_dual("server"));
        c.kmc = Some(link(&["user-dual"]));
        assert!(
            Settings::try_from(&c).is_err(),
            "a dual profile officers cannot file"
        );
        assert!(!Settings::try_from(&config()).unwrap().is_dual("server"));
    }
}
