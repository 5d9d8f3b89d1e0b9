//! `signet ocsp serve --config FILE`, and the responder's configuration
//! file as `signet init` writes it.

use std::sync::Arc;

use signet_core::SystemClock;
use signet_ocsp::OcspConfig;

use super::serve::{path, pin_value, quote, softhsm_line};
use crate::cli::{ServiceAction, ServiceArgs};
use crate::error::CliError;

/// The line `signet up` and `signet ocsp serve` print for the responder.
pub fn banner(addr: std::net::SocketAddr) -> String {
    format!("ocsp   http://{addr}   OCSP/CRL responder (plain HTTP, signed answers)")
}

/// Runs the responder alone until Ctrl-C or SIGTERM.
pub async fn serve(args: ServiceArgs) -> Result<(), CliError> {
    let ServiceAction::Serve { config } = args.action;
    let config = OcspConfig::load(&config)?;
    let running = signet_ocsp::start(config, Arc::new(SystemClock)).await?;
    println!("{}", banner(running.addr));
    super::shutdown_signal().await;
    running.stop().await;
    Ok(())
}

/// `ocsp.toml` with every key explained.
pub fn render_ocsp_config(c: &OcspConfig) -> String {
    let r = &c.responses;
    format!(
        r#"# Signet OCSP/CRL responder configuration. Every key is described in
# docs/configuration.md; defaults are shown where a key may be omitted.

[server]
# Plain HTTP: OCSP answers and CRLs are signed (RFC 5019 §5, RFC 5280 §4.2.1.13).
listen = {listen}
# Largest OCSP request (POST body or decoded GET path), bytes (default 65536).
max_request_bytes = {max_req}
# Time to send a POST body once the head is in (default 5s), and to send a
# request head (default 10s); slow or silent clients are cut off.
request_timeout = {req_timeout}
header_timeout = {header_timeout}
# Connections served at once (default 4096).
max_connections = {max_conns}

[database]
# The CA's database, read only: sqlite:PATH or postgres://... (a replica is enough).
url = {db}
max_connections = {db_conns}
# A slower status query is answered tryLater (default 2s).
query_timeout = {query_timeout}

[token]
# Holds the delegated OCSP signers' keys (the CA issues and rotates them).
module = {module}
token_label = {label}
pin = {pin}
# Sessions in the signing pool (default 4).
sessions = {sessions}
{softhsm}

[responses]
# nextUpdate after thisUpdate, and the HTTP cache lifetime (default 1h).
validity = {validity}
# Pre-signed responses held in memory; 0 signs every request (default 1000000).
cache_entries = {cache_entries}
# How often the CA's status-change feed is read (default 200ms).
poll_interval = {poll}
# How often issuers and OCSP signers are re-read (default 5s).
signer_refresh = {signer_refresh}
# How often a held CRL is checked against the database (default 1s).
crl_refresh = {crl_refresh}
# Most CertIDs in one request (default 20).
max_certs_per_request = {max_certs}
# Answer for a serial the CA never issued: "unknown" or "revoked" (default "unknown").
unissued = {unissued}
"#,
        listen = quote(&c.server.listen.to_string()),
        max_req = c.server.max_request_bytes,
        req_timeout = quote(&c.server.request_timeout),
        header_timeout = quote(&c.server.header_timeout),
        max_conns = c.server.max_connections,
        db = quote(&c.database.url),
        db_conns = c.database.max_connections,
        query_timeout = quote(&c.database.query_timeout),
        module = path(&c.token.module),
        label = quote(&c.token.token_label),
        pin = pin_value(&c.token.pin),
        sessions = c.token.sessions,
        softhsm = softhsm_line(&c.token),
        validity = quote(&r.validity),
        cache_entries = r.cache_entries,
        poll = quote(&r.poll_interval),
        signer_refresh = quote(&r.signer_refresh),
        crl_refresh = quote(&r.crl_refresh),
        max_certs = r.max_certs_per_request,
        unissued = quote(match r.unissued {
            signet_ocsp::Unissued::Unknown => "unknown",
            signet_ocsp::Unissued::Revoked => "revoked",
        }),
    )
}

#[cfg(test)]
mod tests {
    use signet_ocsp::{DatabaseConfig, ResponsesConfig, ServerConfig};
    use signet_token::{PinSource, TokenConfig};

    use super::*;

    /// What `init` writes is what `serve` reads back, key for key.
    #[test]
    fn rendered_config_reads_back() {
        let config = OcspConfig {
            server: ServerConfig {
                listen: "127.0.0.1:18441".parse().expect("addr"),
                max_request_bytes: 4096,
                request_timeout: "3s".into(),
                header_timeout: "7s".into(),
                max_connections: 99,
            },
            database: DatabaseConfig {
                url: "sqlite:/tmp/x/ca.db".into(),
                max_connections: 3,
                query_timeout: "1s".into(),
            },
            token: TokenConfig::new("signet", PinSource::File("/tmp/x/user.pin".into())),
            responses: ResponsesConfig {
                validity: "10m".into(),
                unissued: signet_ocsp::Unissued::Revoked,
                ..ResponsesConfig::default()
            },
        };
        let text = render_ocsp_config(&config);
        let back = OcspConfig::from_toml(&text).expect("parses");
        assert_eq!(
            toml::to_string(&back).expect("ser"),
            toml::to_string(&config).expect("ser")
        );
    }
}
