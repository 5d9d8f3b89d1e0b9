//! The KMC's configuration file (`kmc.toml`) and its validated form.
//!
//! Every key is documented here and in docs/kmc.md; [`render_config`]
//! writes a complete, commented file.

use std::collections::BTreeSet;
use std::fmt::Write as _;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::{Deserialize, Serialize};
use signet_core::KeyType;
use signet_core::profile::parse_duration;
use signet_tls::Role;
use signet_token::{PinSource, TokenConfig};

use crate::aead::Algorithm;
use crate::error::KmcError;

/// The whole `kmc.toml`.
#[derive(Clone, Debug, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct KmcConfig {
    /// The mTLS listener.
    pub server: ServerConfig,
    /// The PKCS#11 token holding the root storage key.
    pub token: TokenConfig,
    /// The KMC database.
    pub database: DatabaseConfig,
    /// Business domains and rotation periods of the key hierarchy.
    #[serde(default)]
    pub hierarchy: HierarchyConfig,
    /// Escrow of encryption keys.
    #[serde(default)]
    pub escrow: EscrowConfig,
    /// Key recovery approvals.
    #[serde(default)]
    pub recovery: RecoveryConfig,
    /// Named data keys for business systems.
    #[serde(default)]
    pub data_keys: Vec<DataKeyConfig>,
}

/// The mTLS listener.
#[derive(Clone, Debug, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct ServerConfig {
    /// Address to listen on, e.g. `127.0.0.1:8446`.
    pub listen: SocketAddr,
    /// The service certificate chain, PEM (platform CA).
    pub certificate: PathBuf,
    /// Its private key, PEM.
    pub key: PathBuf,
    /// Roots that client certificates must chain to (the platform CA), PEM.
    pub client_roots: PathBuf,
    /// Client roles admitted in the handshake. Default: `ca` (key pairs,
    /// certificate events), `ra` and `admin` (recovery, lifecycle, health),
    /// `app` (data keys). Each endpoint checks the role again.
    #[serde(default = "default_roles")]
    pub allowed_roles: Vec<String>,
    /// Largest request body in bytes. Default 1 MiB.
    #[serde(default = "default_max_request_bytes")]
    pub max_request_bytes: usize,
}

/// Where the KMC database is.
#[derive(Clone, Debug, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct DatabaseConfig {
    /// `sqlite:PATH` or `postgres://...` (schema `kmc`).
    pub url: String,
    /// Most pooled connections. Default 8.
    #[serde(default = "default_connections")]
    pub max_connections: u32,
}

/// The key hierarchy: root storage key (token) -> master key per domain ->
/// working keys.
#[derive(Clone, Debug, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct HierarchyConfig {
    /// Business domains; each has its own master key and escrow working
    /// key. Default `["default"]`.
    #[serde(default = "default_domains")]
    pub domains: Vec<String>,
    /// A new master key version this often (working keys are rewrapped).
    /// Default `365d`.
    #[serde(default = "default_master_rotation")]
    pub master_rotation: String,
    /// A new escrow working key version this often. Default `90d`.
    #[serde(default = "default_working_rotation")]
    pub working_rotation: String,
    /// Algorithm of escrow working keys: `aes-256-gcm` (default) or
    /// `sm4-gcm`.
    #[serde(default = "default_algorithm")]
    pub escrow_algorithm: String,
    /// How often due rotations, retention and expiry are checked. Default `1h`.
    #[serde(default = "default_check_interval")]
    pub check_interval: String,
}

impl Default for HierarchyConfig {
    fn default() -> Self {
        HierarchyConfig {
            domains: default_domains(),
            master_rotation: default_master_rotation(),
            working_rotation: default_working_rotation(),
            escrow_algorithm: default_algorithm(),
            check_interval: default_check_interval(),
        }
    }
}

/// Escrow of encryption keys.
#[derive(Clone, Debug, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct EscrowConfig {
    /// Domain of key pairs whose request names none. Default `default`.
    #[serde(default = "default_domain")]
    pub default_domain: String,
    /// Key types the CA may ask for. Default `["sm2", "p256", "p384", "rsa3072"]`.
    #[serde(default = "default_key_types")]
    pub key_types: Vec<String>,
    /// How long an escrowed key is kept after its certificate expires or
    /// is revoked, whichever is later. Default `5y`.
    #[serde(default = "default_retention")]
    pub retention: String,
    /// How long a key whose certificate was never issued is kept. Default `30d`.
    #[serde(default = "default_unbound_retention")]
    pub unbound_retention: String,
}

impl Default for EscrowConfig {
    fn default() -> Self {
        EscrowConfig {
            default_domain: default_domain(),
            key_types: default_key_types(),
            retention: default_retention(),
            unbound_retention: default_unbound_retention(),
        }
    }
}

/// Key recovery.
#[derive(Clone, Debug, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct RecoveryConfig {
    /// Distinct officers, other than the one who filed the request, who
    /// must approve it. Default 2.
    #[serde(default = "default_approvals")]
    pub approvals: u32,
    /// A request not approved and delivered within this expires. Default `7d`.
    #[serde(default = "default_recovery_expiry")]
    pub expires_after: String,
}

impl Default for RecoveryConfig {
    fn default() -> Self {
        RecoveryConfig {
            approvals: default_approvals(),
            expires_after: default_recovery_expiry(),
        }
    }
}

/// A named data key. Created at start if missing; its `clients` are
/// granted at every start (grants made through the API are kept too).
#[derive(Clone, Debug, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct DataKeyConfig {
    /// Name: lowercase letters, digits, `.`, `_`, `-`; at most 64.
    pub name: String,
    /// Business domain. Default `default`.
    #[serde(default = "default_domain")]
    pub domain: String,
    /// `aes-256-gcm` (default) or `sm4-gcm`.
    #[serde(default = "default_algorithm")]
    pub algorithm: String,
    /// A new version this often. Default `90d`.
    #[serde(default = "default_working_rotation")]
    pub rotation: String,
    /// Client certificate common names (role app) allowed to use it.
    #[serde(default)]
    pub clients: Vec<String>,
}

fn default_roles() -> Vec<String> {
    ["ca", "ra", "admin", "app"].map(String::from).to_vec()
}
fn default_max_request_bytes() -> usize {
    1024 * 1024
}
fn default_connections() -> u32 {
    8
}
fn default_domains() -> Vec<String> {
    vec![default_domain()]
}
fn default_domain() -> String {
    "default".into()
}
fn default_master_rotation() -> String {
    "365d".into()
}
fn default_working_rotation() -> String {
    "90d".into()
}
fn default_algorithm() -> String {
    Algorithm::Aes256Gcm.as_str().into()
}
fn default_check_interval() -> String {
    "1h".into()
}
fn default_key_types() -> Vec<String> {
    ["sm2", "p256", "p384", "rsa3072"]
        .map(String::from)
        .to_vec()
}
fn default_retention() -> String {
    "5y".into()
}
fn default_unbound_retention() -> String {
    "30d".into()
}
fn default_approvals() -> u32 {
    2
}
fn default_recovery_expiry() -> String {
    "7d".into()
}

impl KmcConfig {
    /// A configuration with every optional setting at its default: one
    /// domain `default`, two approvals, no data keys.
    pub fn new(
        listen: SocketAddr,
        certificate: PathBuf,
        key: PathBuf,
        client_roots: PathBuf,
        token: TokenConfig,
        database_url: String,
    ) -> Self {
        KmcConfig {
            server: ServerConfig {
                listen,
                certificate,
                key,
                client_roots,
                allowed_roles: default_roles(),
                max_request_bytes: default_max_request_bytes(),
            },
            token,
            database: DatabaseConfig {
                url: database_url,
                max_connections: default_connections(),
            },
            hierarchy: HierarchyConfig::default(),
            escrow: EscrowConfig::default(),
            recovery: RecoveryConfig::default(),
            data_keys: Vec::new(),
        }
    }

    /// Reads and parses a `kmc.toml`.
    pub fn load(path: &Path) -> Result<Self, KmcError> {
        let text = std::fs::read_to_string(path).map_err(|e| KmcError::Config {
            reason: format!("cannot read {}: {e}", path.display()),
        })?;
        toml::from_str(&text).map_err(|e| KmcError::Config {
            reason: format!("{}: {}", path.display(), e.message()),
        })
    }
}

/// A data key as configured, validated.
#[derive(Clone, Debug)]
pub(crate) struct DataKeySettings {
    pub name: String,
    pub domain: String,
    pub algorithm: Algorithm,
    pub rotation: Duration,
    pub clients: Vec<String>,
}

/// The configuration, validated: durations parsed, names checked.
#[derive(Clone, Debug)]
pub(crate) struct Settings {
    pub domains: Vec<String>,
    pub master_rotation: Duration,
    pub working_rotation: Duration,
    pub escrow_algorithm: Algorithm,
    pub check_interval: Duration,
    pub default_domain: String,
    pub key_types: BTreeSet<KeyType>,
    pub retention: Duration,
    pub unbound_retention: Duration,
    pub approvals: u32,
    pub recovery_expiry: Duration,
    pub data_keys: Vec<DataKeySettings>,
    pub allowed_roles: Vec<Role>,
}

fn duration(key: &str, text: &str) -> Result<Duration, KmcError> {
    let d = parse_duration(text).map_err(|reason| KmcError::Config {
        reason: format!("{key}: {reason}"),
    })?;
    if d.is_zero() {
        return Err(KmcError::Config {
            reason: format!("{key} must be longer than zero"),
        });
    }
    Ok(d)
}

/// Domain and data key names: lowercase letters, digits, `.`, `_`, `-`,
/// starting with a letter or digit, at most 64 characters. They appear in
/// URLs, token labels, AAD strings and audit targets.
pub(crate) fn valid_name(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= 64
        && name
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || matches!(c, '.' | '_' | '-'))
        && name
            .chars()
            .next()
            .is_some_and(|c| c.is_ascii_lowercase() || c.is_ascii_digit())
}

impl TryFrom<&KmcConfig> for Settings {
    type Error = KmcError;

    fn try_from(c: &KmcConfig) -> Result<Self, KmcError> {
        let bad = |reason: String| KmcError::Config { reason };
        let mut domains = Vec::new();
        for d in &c.hierarchy.domains {
            if !valid_name(d) {
                return Err(bad(format!(
                    "hierarchy.domains: `{d}` is not a valid name (a-z, 0-9, . _ -)"
                )));
            }
            if !domains.contains(d) {
                domains.push(d.clone());
            }
        }
        if domains.is_empty() {
            return Err(bad("hierarchy.domains must name at least one domain".into()));
        }
        if !domains.contains(&c.escrow.default_domain) {
            return Err(bad(format!(
                "escrow.default_domain `{}` is not in hierarchy.domains",
                c.escrow.default_domain
            )));
        }
        let mut key_types = BTreeSet::new();
        for t in &c.escrow.key_types {
            let key_type: KeyType = t
                .parse()
                .map_err(|_| bad(format!("escrow.key_types: unknown key type `{t}`")))?;
            if matches!(key_type, KeyType::Rsa2048) {
                return Err(bad(
                    "escrow.key_types: rsa2048 is too short for keys escrowed for years".into(),
                ));
            }
            key_types.insert(key_type);
        }
        if c.recovery.approvals == 0 {
            return Err(bad(
                "recovery.approvals must be at least 1 (dual control)".into()
            ));
        }
        let mut data_keys: Vec<DataKeySettings> = Vec::new();
        for k in &c.data_keys {
            if !valid_name(&k.name) || k.name.starts_with("escrow.") {
                return Err(bad(format!(
                    "data_keys: `{}` is not a valid data key name",
                    k.name
                )));
            }
            if data_keys.iter().any(|d| d.name == k.name) {
                return Err(bad(format!("data_keys: `{}` appears twice", k.name)));
            }
            if !domains.contains(&k.domain) {
                return Err(bad(format!(
                    "data_keys.{}: domain `{}` is not in hierarchy.domains",
                    k.name, k.domain
                )));
            }
            data_keys.push(DataKeySettings {
                name: k.name.clone(),
                domain: k.domain.clone(),
                algorithm: k.algorithm.parse()?,
                rotation: duration("data_keys.rotation", &k.rotation)?,
                clients: k.clients.clone(),
            });
        }
        let allowed_roles = c
            .server
            .allowed_roles
            .iter()
            .map(|r| {
                r.parse::<Role>()
                    .map_err(|_| bad(format!("unknown role `{r}` in server.allowed_roles")))
            })
            .collect::<Result<Vec<_>, _>>()?;
        Ok(Settings {
            domains,
            master_rotation: duration("hierarchy.master_rotation", &c.hierarchy.master_rotation)?,
            working_rotation: duration(
                "hierarchy.working_rotation",
                &c.hierarchy.working_rotation,
            )?,
            escrow_algorithm: c.hierarchy.escrow_algorithm.parse()?,
            check_interval: duration("hierarchy.check_interval", &c.hierarchy.check_interval)?,
            default_domain: c.escrow.default_domain.clone(),
            key_types,
            retention: duration("escrow.retention", &c.escrow.retention)?,
            unbound_retention: duration("escrow.unbound_retention", &c.escrow.unbound_retention)?,
            approvals: c.recovery.approvals,
            recovery_expiry: duration("recovery.expires_after", &c.recovery.expires_after)?,
            data_keys,
            allowed_roles,
        })
    }
}

fn quote(s: &str) -> String {
    toml::Value::String(s.to_owned()).to_string()
}

fn path(p: &Path) -> String {
    quote(&p.display().to_string())
}

fn list(items: &[String]) -> String {
    items
        .iter()
        .map(|s| quote(s))
        .collect::<Vec<_>>()
        .join(", ")
}

/// `kmc.toml` with every key explained (the file `signet init` writes).
pub fn render_config(c: &KmcConfig) -> String {
    let mut out = String::new();
    let _ = write!(
        out,
        r#"# Signet KMC (key management centre) configuration. Every key is described
# in docs/kmc.md; defaults are shown where a key may be omitted.

[server]
# Address of the mutual-TLS API.
listen = {listen}
# This service's certificate and key (platform PKI).
certificate = {cert}
key = {key}
# Client certificates must chain to these roots ...
client_roots = {roots}
# ... and name one of these roles: ca (key pairs, certificate events),
# ra and admin (recovery, lifecycle, key health), app (data keys).
allowed_roles = [{roles}]
# Largest request body, bytes (default 1 MiB).
max_request_bytes = {max_req}

[token]
# The token holding the root storage key (non-extractable AES-256).
module = {module}
token_label = {label}
pin = {pin}
sessions = {sessions}
{softhsm}

[database]
# sqlite:PATH (default) or postgres://user@host/db (schema "kmc").
url = {db}
max_connections = {conns}

[hierarchy]
# Business domains: each has a master key (wrapped by the root storage key)
# and an escrow working key (wrapped by the master).
domains = [{domains}]
# Rotation periods: a new version is made when one is due; old versions
# keep unwrapping until destroyed.
master_rotation = {master_rotation}
working_rotation = {working_rotation}
# Escrow working keys: "aes-256-gcm" or "sm4-gcm".
escrow_algorithm = {escrow_algorithm}
# How often due rotations, retention and recovery expiry are checked.
check_interval = {check_interval}

[escrow]
# Domain used when the CA's request names none.
default_domain = {default_domain}
# Key types the CA may ask for (sm2, p256, p384, rsa3072, rsa4096).
key_types = [{key_types}]
# Keys are destroyed this long after their certificate expires or is
# revoked (whichever is later) ...
retention = {retention}
# ... or this long after generation if no certificate was ever issued.
unbound_retention = {unbound_retention}

[recovery]
# Distinct officers, besides the one who files a recovery, who must approve it.
approvals = {approvals}
# Requests not approved and delivered within this expire.
expires_after = {expiry}
"#,
        listen = quote(&c.server.listen.to_string()),
        cert = path(&c.server.certificate),
        key = path(&c.server.key),
        roots = path(&c.server.client_roots),
        roles = list(&c.server.allowed_roles),
        max_req = c.server.max_request_bytes,
        module = path(&c.token.module),
        label = quote(&c.token.token_label),
        pin = match &c.token.pin {
            PinSource::File(p) => format!("{{ file = {} }}", path(p)),
            PinSource::Env(v) => format!("{{ env = {} }}", quote(v)),
        },
        sessions = c.token.sessions,
        softhsm = match &c.token.softhsm2_conf {
            Some(p) => format!("softhsm2_conf = {}", path(p)),
            None => "# softhsm2_conf = \"/path/to/softhsm2.conf\"".to_owned(),
        },
        db = quote(&c.database.url),
        conns = c.database.max_connections,
        domains = list(&c.hierarchy.domains),
        master_rotation = quote(&c.hierarchy.master_rotation),
        working_rotation = quote(&c.hierarchy.working_rotation),
        escrow_algorithm = quote(&c.hierarchy.escrow_algorithm),
        check_interval = quote(&c.hierarchy.check_interval),
        default_domain = quote(&c.escrow.default_domain),
        key_types = list(&c.escrow.key_types),
        retention = quote(&c.escrow.retention),
        unbound_retention = quote(&c.escrow.unbound_retention),
        approvals = c.recovery.approvals,
        expiry = quote(&c.recovery.expires_after),
    );
    if c.data_keys.is_empty() {
        out.push_str(
            r#"
# Data keys for business systems (role app), e.g.:
# [[data_keys]]
# name = "payroll"
# domain = "default"
# algorithm = "sm4-gcm"        # or "aes-256-gcm"
# rotation = "90d"
# clients = ["payroll-app"]    # client certificate common names
"#,
        );
    }
    for k in &c.data_keys {
        let _ = write!(
            out,
            r#"
# A data key: business systems encrypt and decrypt under it; it never
# leaves the KMC. Only the listed client certificates (role app) may use it.
[[data_keys]]
name = {name}
domain = {domain}
algorithm = {algorithm}
rotation = {rotation}
clients = [{clients}]
"#,
            name = quote(&k.name),
            domain = quote(&k.domain),
            algorithm = quote(&k.algorithm),
            rotation = quote(&k.rotation),
            clients = list(&k.clients),
        );
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> KmcConfig {
        let mut c = KmcConfig::new(
            "127.0.0.1:8446".parse().unwrap(),
            "/h/tls/kmc.pem".into(),
            "/h/tls/kmc.key".into(),
            "/h/tls/platform-root.pem".into(),
            TokenConfig::new("signet", PinSource::File("/h/secrets/user.pin".into())),
            "sqlite:/h/data/kmc.db".into(),
        );
        c.data_keys.push(DataKeyConfig {
            name: "payroll".into(),
            domain: "default".into(),
            algorithm: "sm4-gcm".into(),
            rotation: "30d".into(),
            clients: vec!["payroll-app".into()],
        });
        c
    }

    #[test]
    fn rendered_config_parses_back_to_the_same_settings() {
        let c = sample();
        let text = render_config(&c);
        let back: KmcConfig = toml::from_str(&text).unwrap();
        assert_eq!(back.server.listen, c.server.listen);
        assert_eq!(back.server.allowed_roles, ["ca", "ra", "admin", "app"]);
        assert_eq!(back.token, c.token);
        assert_eq!(back.hierarchy.domains, ["default"]);
        assert_eq!(back.recovery.approvals, 2);
        assert_eq!(back.data_keys.len(), 1);
        let s = Settings::try_from(&back).unwrap();
        assert_eq!(s.data_keys[0].algorithm, Algorithm::Sm4Gcm);
        assert_eq!(s.data_keys[0].rotation, Duration::from_secs(30 * 86_400));
        assert_eq!(s.master_rotation, Duration::from_secs(365 * 86_400));
        assert!(s.key_types.contains(&KeyType::Sm2));
        // Without data keys the example stays a comment.
        let mut plain = sample();
        plain.data_keys.clear();
        let back: KmcConfig = toml::from_str(&render_config(&plain)).unwrap();
        assert!(back.data_keys.is_empty());
    }

    #[test]
    fn bad_settings_are_refused() {
        let mut c = sample();
        c.hierarchy.domains = vec!["Bad Domain".into()];
        assert!(Settings::try_from(&c).is_err());
        let mut c = sample();
        c.recovery.approvals = 0;
        assert!(Settings::try_from(&c).is_err());
        let mut c = sample();
        c.escrow.key_types = vec!["rsa2048".into()];
        assert!(Settings::try_from(&c).is_err());
        let mut c = sample();
        c.data_keys[0].domain = "elsewhere".into();
        assert!(Settings::try_from(&c).is_err());
        let mut c = sample();
        c.data_keys[0].name = "escrow.default".into();
        assert!(Settings::try_from(&c).is_err());
        let mut c = sample();
        c.hierarchy.working_rotation = "0d".into();
        assert!(Settings::try_from(&c).is_err());
        assert!(toml::from_str::<KmcConfig>("[server]\nlisten = 1\nunknown = 2\n").is_err());
    }
}
