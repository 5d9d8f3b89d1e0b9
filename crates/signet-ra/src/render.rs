//! `ra.toml` as `signet init` writes it: every key, with what it means.

use std::fmt::Write as _;
use std::path::Path;

use signet_token::PinSource;

use crate::config::RaConfig;

fn quote(s: &str) -> String {
    toml::Value::String(s.to_owned()).to_string()
}

fn path(p: &Path) -> String {
    quote(&p.display().to_string())
}

/// The configuration as a commented TOML file; [`RaConfig::load`] reads
/// it back to the same values.
pub fn render_config(c: &RaConfig) -> String {
    let s = &c.server;
    let mut out = String::new();
    let _ = write!(
        out,
        r#"# Signet RA configuration: officer console and REST API on one HTTPS
# port. Every key is described in docs/configuration.md; defaults are shown
# where a key may be omitted.

[server]
# Address of the HTTPS listener (console, portal, API).
listen = {listen}
# The web server certificate (issued by the customer's issuing CA, so
# browsers that trust root.pem trust it) and its key.
certificate = {cert}
key = {key}
# Roots a client certificate may chain to: the customer root (officer and
# subscriber certificate login) and the platform root (API clients).
# Client certificates are optional.
client_roots = {roots}
# Sessions end after this long without a request (default 15m), and this
# long after login in any case (default 8h).
session_idle_timeout = {idle}
session_lifetime = {lifetime}
# Consecutive failed logins (password or TOTP) that lock an account
# (default 5), and for how long (default 15m).
lockout_threshold = {threshold}
lockout_duration = {lockout}
# Login attempts per client address and minute, across accounts (default 20).
login_attempts_per_minute = {rate}
# Issuer name authenticator apps show for TOTP (default "Signet RA").
totp_issuer = {issuer}
# Largest form body (default 64 KiB) and upload (default 32 MiB), bytes.
max_form_bytes = {form}
max_upload_bytes = {upload}

[token]
# PKCS#11 module and token label; the PIN is read from a file or an
# environment variable. The RA's keys: ra-fields (AES, sensitive fields),
# ra-audit (P-256, audit checkpoints).
module = {module}
token_label = {label}
pin = {pin}
# Sessions in the token's pool (default 4).
sessions = {sessions}
# SoftHSM2 only: the configuration naming this home's token directory.
{softhsm}

[database]
# sqlite:PATH (default, one file per service) or postgres://user@host/db (schema "ra").
url = {db}
max_connections = {conns}

[ca]
# The CA signer, reached over mutual TLS with the RA's platform identity;
# its certificate must chain to `roots` and name role "ca".
url = {ca_url}
certificate = {ca_cert}
key = {ca_key}
roots = {ca_roots}

[i18n]
# Console language when neither the `lang` cookie nor the browser's
# Accept-Language chooses one: "en" or "zh-CN" (default "en").
default_language = {lang}

[audit]
# A signed checkpoint of the audit chain this often (default 10m), and at
# start and stop.
checkpoint_interval = {checkpoint}

[api]
# The REST API under /api: largest request body (default 1 MiB); how far a
# call's X-Signet-Timestamp may be from the RA's clock, which is also how
# long nonces are remembered (default 5m); calls per minute for a client
# registered without a limit of its own (default 600).
max_body_bytes = {api_body}
max_clock_skew = {api_skew}
default_rate_per_minute = {api_rate}

[batch]
# Batch issuance: most rows in one file (default 10000), and rows sent to
# the CA per call by the background job (default 100, at most 1000).
max_rows = {batch_rows}
chunk_size = {batch_chunk}

[portal]
# Subscribers may renew through the portal this long before their
# certificate expires, not earlier (default 30d).
renewal_window = {renewal_window}
# One-time enrolment codes work this long (default 7d); refused codes per
# client address and minute (default 10).
enrolment_code_lifetime = {code_lifetime}
enrolment_attempts_per_minute = {code_attempts}
# A certificate renewed in the portal is revoked (superseded) this long
# after the renewal is issued, or never with "off" (default 7d); due
# revocations are looked for this often (default 1m).
supersede_grace = {supersede_grace}
supersede_check_interval = {supersede_check}
"#,
        listen = quote(&s.listen.to_string()),
        cert = path(&s.certificate),
        key = path(&s.key),
        roots = path(&s.client_roots),
        idle = quote(&s.session_idle_timeout),
        lifetime = quote(&s.session_lifetime),
        threshold = s.lockout_threshold,
        lockout = quote(&s.lockout_duration),
        rate = s.login_attempts_per_minute,
        issuer = quote(&s.totp_issuer),
        form = s.max_form_bytes,
        upload = s.max_upload_bytes,
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
        ca_url = quote(&c.ca.url),
        ca_cert = path(&c.ca.certificate),
        ca_key = path(&c.ca.key),
        ca_roots = path(&c.ca.roots),
        lang = quote(&c.i18n.default_language),
        checkpoint = quote(&c.audit.checkpoint_interval),
        api_body = c.api.max_body_bytes,
        api_skew = quote(&c.api.max_clock_skew),
        api_rate = c.api.default_rate_per_minute,
        batch_rows = c.batch.max_rows,
        batch_chunk = c.batch.chunk_size,
        renewal_window = quote(&c.portal.renewal_window),
        code_lifetime = quote(&c.portal.enrolment_code_lifetime),
        code_attempts = c.portal.enrolment_attempts_per_minute,
        supersede_grace = quote(&c.portal.supersede_grace),
        supersede_check = quote(&c.portal.supersede_check_interval),
    );
    match &c.kmc {
        Some(k) => {
            let _ = write!(
                out,
                r#"
[kmc]
# The KMC (key recovery, key health page), reached over mutual TLS with the
# RA's platform identity (role "ra"); its certificate must chain to `roots`
# and name role "kmc". Without this table the key pages say the KMC is not
# configured.
url = {url}
certificate = {cert}
key = {key}
roots = {roots}
# Offered profiles the CA marks `dual = true`: issued as a signing and an
# encryption certificate with the encryption key escrowed at the KMC
# (default none).
dual_profiles = [{dual}]
"#,
                dual = k
                    .dual_profiles
                    .iter()
                    .map(|p| quote(p))
                    .collect::<Vec<_>>()
                    .join(", "),
                url = quote(&k.url),
                cert = path(&k.certificate),
                key = path(&k.key),
                roots = path(&k.roots),
            );
        }
        None => out.push_str(
            "\n# [kmc] (url, certificate, key, roots): the KMC for key recovery and the key\n\
             # health page; absent, those pages say the KMC is not configured.\n",
        ),
    }
    let _ = write!(
        out,
        r#"
[pkcs12]
# PKCS#12 files of keys the RA generates for requests filed without a CSR:
# PBES2 (PBKDF2-HMAC-SHA256, AES-256-CBC) under a one-time password.
# PBKDF2 iterations (1000 to 1000000, default 100000).
pbkdf2_iterations = {pbkdf2}
# Iterations of the MAC key derivation (2 to 1000000, default 2048).
mac_iterations = {mac}
"#,
        pbkdf2 = c.pkcs12.pbkdf2_iterations,
        mac = c.pkcs12.mac_iterations,
    );
    out.push_str(
        "\n# Profiles officers may file requests for, and how many distinct officers\n\
         # other than the filer must approve each request (1 to 5, default 1).\n\
         # A profile not listed cannot be requested through the RA.\n",
    );
    for p in &c.profiles {
        let _ = write!(
            out,
            "\n[[profiles]]\nname = {}\napprovals = {}\n",
            quote(&p.name),
            p.approvals
        );
    }
    out
}

#[cfg(test)]
mod tests {
    use std::path::PathBuf;

    use signet_token::TokenConfig;

    use super::*;
    use crate::config::{AuditConfig, CaLinkConfig, DatabaseConfig, I18nConfig, ServerConfig};

    #[test]
    fn rendered_config_reads_back_to_the_same_values() {
        let mut server = ServerConfig::new(
            "127.0.0.1:8443".parse().unwrap(),
            PathBuf::from("/home/pki/tls/ra-web.pem"),
            PathBuf::from("/home/pki/tls/ra-web.key"),
            PathBuf::from("/home/pki/tls/ra-client-roots.pem"),
        );
        server.lockout_threshold = 7;
        server.totp_issuer = "Example \"PKI\"".into();
        let mut token = TokenConfig::new(
            "signet",
            PinSource::File("/home/pki/secrets/user.pin".into()),
        );
        token.softhsm2_conf = Some("/home/pki/softhsm2.conf".into());
        let config = RaConfig {
            server,
            token,
            database: DatabaseConfig::new("sqlite:/home/pki/data/ra.db"),
            ca: CaLinkConfig {
                url: "https://127.0.0.1:8445".into(),
                certificate: "/home/pki/tls/ra.pem".into(),
                key: "/home/pki/tls/ra.key".into(),
                roots: "/home/pki/tls/platform-root.pem".into(),
            },
            i18n: I18nConfig {
                default_language: "zh-CN".into(),
            },
            audit: AuditConfig::default(),
            api: crate::config::ApiConfig::default(),
            batch: crate::config::BatchConfig::default(),
            portal: crate::config::PortalConfig::default(),
            reminders: crate::config::RemindersConfig::default(),
            pkcs12: Default::default(),
            kmc: Some(crate::config::KmcLinkConfig {
                url: "https://127.0.0.1:8446".into(),
                certificate: "/home/pki/tls/ra.pem".into(),
                key: "/home/pki/tls/ra.key".into(),
                roots: "/home/pki/tls/platform-root.pem".into(),
                dual_profiles: vec!["user-sign".into()],
            }),
            profiles: vec![
                crate::config::RaProfileConfig {
                    name: "server".into(),
                    approvals: 1,
                },
                crate::config::RaProfileConfig {
                    name: "user-sign".into(),
                    approvals: 2,
                },
            ],
        };
        let text = render_config(&config);
        let back: RaConfig = toml::from_str(&text).unwrap();
        assert_eq!(
            toml::to_string(&back).unwrap(),
            toml::to_string(&config).unwrap()
        );
        crate::config::Settings::try_from(&back).unwrap();
    }
}
