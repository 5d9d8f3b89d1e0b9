//! `signet ca serve --config FILE`, and the CA configuration file as
//! `signet init` writes it.

use std::fmt::Write as _;
use std::sync::Arc;

use signet_ca::CaConfig;
use signet_core::SystemClock;
use signet_token::PinSource;

use crate::cli::{ServiceAction, ServiceArgs};
use crate::error::CliError;

/// Runs the CA alone until Ctrl-C or SIGTERM.
pub async fn ca(args: ServiceArgs) -> Result<(), CliError> {
    let ServiceAction::Serve { config } = args.action;
    let dual = super::kmc::dual_beside(&config)?;
    let config = CaConfig::load(&config)?;
    let running = signet_ca::start_with_dual(config, Arc::new(SystemClock), dual).await?;
    println!(
        "ca     https://{}   CA signer (mTLS: RA and administrator)",
        running.addr
    );
    super::shutdown_signal().await;
    running.stop().await;
    Ok(())
}

/// A TOML string literal.
pub(crate) fn quote(s: &str) -> String {
    toml::Value::String(s.to_owned()).to_string()
}

/// A path as a TOML string literal.
pub(crate) fn path(p: &std::path::Path) -> String {
    quote(&p.display().to_string())
}

/// `ca.toml` with every key explained.
pub fn render_ca_config(c: &CaConfig) -> String {
    let mut out = String::new();
    let _ = write!(
        out,
        r#"# Signet CA signer configuration. Every key is described in
# docs/configuration.md; defaults are shown where a key may be omitted.

[server]
# Address of the mutual-TLS API.
listen = {listen}
# This service's certificate and key (platform PKI).
certificate = {cert}
key = {key}
# Client certificates must chain to these roots ...
client_roots = {roots}
# ... and name one of these roles (urn:signet:role:<role>).
allowed_roles = [{roles}]
# Largest request body, bytes (default 1 MiB); batch calls up to max_batch_bytes (default 32 MiB).
max_request_bytes = {max_req}
max_batch_bytes = {max_batch_bytes}

[token]
# PKCS#11 module and token label; the PIN is read from a file or an environment variable.
module = {module}
token_label = {label}
pin = {pin}
# Sessions in the signing pool (default 4).
sessions = {sessions}
# SoftHSM2 only: the configuration naming this home's token directory.
{softhsm}

[database]
# sqlite:PATH (default, one file per service) or postgres://user@host/db (schema "ca").
url = {db}
max_connections = {conns}

[issuance]
# Issuer used when a request names none.
default_issuer = {default_issuer}
# One TOML file per profile (see docs/profiles.md).
profiles_dir = {profiles}
# Largest CSR, bytes (default 65536); most requests per batch call (default 1000).
max_csr_bytes = {max_csr}
max_batch = {max_batch}
# Most database writes sharing one commit (default 1024).
journal_batch = {journal}
"#,
        listen = quote(&c.server.listen.to_string()),
        cert = path(&c.server.certificate),
        key = path(&c.server.key),
        roots = path(&c.server.client_roots),
        roles = c
            .server
            .allowed_roles
            .iter()
            .map(|r| quote(r))
            .collect::<Vec<_>>()
            .join(", "),
        max_req = c.server.max_request_bytes,
        max_batch_bytes = c.server.max_batch_bytes,
        module = path(&c.token.module),
        label = quote(&c.token.token_label),
        pin = pin_value(&c.token.pin),
        sessions = c.token.sessions,
        softhsm = softhsm_line(&c.token),
        db = quote(&c.database.url),
        conns = c.database.max_connections,
        default_issuer = quote(&c.issuance.default_issuer),
        profiles = path(&c.issuance.profiles_dir),
        max_csr = c.issuance.max_csr_bytes,
        max_batch = c.issuance.max_batch,
        journal = c.issuance.journal_batch,
    );
    for i in &c.issuers {
        let _ = write!(
            out,
            r#"
# An issuer: a CA certificate and the token key that signs for it. URLs go
# into what it issues (AIA OCSP and caIssuers, CRL distribution point).
[[issuers]]
name = {name}
id = {id}
key_label = {label}
certificate = {cert}
"#,
            name = quote(&i.name),
            id = i.id,
            label = quote(&i.key_label),
            cert = path(&i.certificate),
        );
        for (key, value) in [
            ("ocsp_url", &i.ocsp_url),
            ("ca_issuers_url", &i.ca_issuers_url),
            ("crl_url", &i.crl_url),
            ("delta_crl_url", &i.delta_crl_url),
        ] {
            if let Some(v) = value {
                let _ = writeln!(out, "{key} = {}", quote(v));
            }
        }
        let _ = writeln!(out, "crl_shards = {}", i.crl_shards);
    }
    let p = &c.publication;
    let _ = write!(
        out,
        r#"
# CRLs (full and delta, per issuer and shard) and delegated OCSP signers.
[publication]
# A full CRL this often, valid (nextUpdate) this long.
crl_interval = {crl_interval}
crl_validity = {crl_validity}
# A delta CRL this often, valid this long.
delta_interval = {delta_interval}
delta_validity = {delta_validity}
# Issue a new OCSP signer when the current one has less than this left.
ocsp_signer_renew_before = {renew}
# CRLs kept per issuer and shard.
keep_crls = {keep}
"#,
        crl_interval = quote(&p.crl_interval),
        crl_validity = quote(&p.crl_validity),
        delta_interval = quote(&p.delta_interval),
        delta_validity = quote(&p.delta_validity),
        renew = quote(&p.ocsp_signer_renew_before),
        keep = p.keep_crls,
    );
    out
}

/// A `pin = ...` value: a file or an environment variable, never the PIN.
pub(crate) fn pin_value(pin: &PinSource) -> String {
    match pin {
        PinSource::File(p) => format!("{{ file = {} }}", path(p)),
        PinSource::Env(v) => format!("{{ env = {} }}", quote(v)),
    }
}

/// The `softhsm2_conf` line, commented out when there is none.
pub(crate) fn softhsm_line(token: &signet_token::TokenConfig) -> String {
    match &token.softhsm2_conf {
        Some(p) => format!("softhsm2_conf = {}", path(p)),
        None => "# softhsm2_conf = \"/path/to/softhsm2.conf\"".to_owned(),
    }
}
