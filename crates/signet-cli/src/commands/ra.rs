//! `signet ra serve --config FILE`: the registration authority alone
//! (officer console on HTTPS, calling the CA over mutual TLS).

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use clap::{Args, Subcommand};
use signet_ca::{CertificateAuthority, IssueCommand};
use signet_core::SystemClock;
use signet_core::pem::certificate_pem;
use signet_ra::{
    ApiConfig, CaLinkConfig, DatabaseConfig, KmcLinkConfig, RaConfig, RaError, RaProfileConfig,
    ServerConfig,
};
use signet_token::{Token, TokenConfig};
use zeroize::Zeroizing;

use crate::error::CliError;
use crate::home::{Layout, write_private};

/// `signet ra`.
#[derive(Debug, Args)]
pub struct RaArgs {
    #[command(subcommand)]
    pub action: RaAction,
}

/// What to do with the RA.
#[derive(Debug, Subcommand)]
pub enum RaAction {
    /// Run the RA alone from its configuration file.
    Serve {
        /// The RA's TOML configuration (e.g. HOME/config/ra.toml).
        #[arg(long)]
        config: PathBuf,
    },
}

/// The line `signet up` and `signet ra serve` print for the RA.
pub fn banner(addr: std::net::SocketAddr) -> String {
    format!("ra     https://{addr}   RA console (officers: password + TOTP, or certificate)")
}

/// Where a home keeps the RA's configuration.
pub fn config_path(home_config_dir: &Path) -> PathBuf {
    home_config_dir.join("ra.toml")
}

/// A one-line CLI error for an RA failure: configuration problems are the
/// user's to fix (exit 2), the rest are service failures (exit 1).
pub fn cli_error(e: RaError) -> CliError {
    match e {
        RaError::Config { .. } | RaError::AlreadyInitialized => CliError::Usage(e.to_string()),
        other => CliError::Service(format!("RA: {other}")),
    }
}

/// Starts the RA of a home if it has one (`config/ra.toml`), for
/// `signet up`.
pub async fn start_in_home(
    config_dir: &Path,
    clock: Arc<dyn signet_core::Clock>,
) -> Result<Option<signet_ra::RunningRa>, CliError> {
    let path = config_path(config_dir);
    if !path.exists() {
        return Ok(None);
    }
    let config = RaConfig::load(&path).map_err(cli_error)?;
    Ok(Some(
        signet_ra::start(config, clock).await.map_err(cli_error)?,
    ))
}

/// The SoftHSM2 configuration the RA's token needs, if any.
pub fn softhsm_conf(args: &RaArgs) -> Result<Option<PathBuf>, CliError> {
    let RaAction::Serve { config } = &args.action;
    Ok(RaConfig::load(config)
        .map_err(cli_error)?
        .token
        .softhsm2_conf)
}

/// Runs the RA until Ctrl-C or SIGTERM.
pub async fn run(args: RaArgs) -> Result<(), CliError> {
    let RaAction::Serve { config } = args.action;
    let config = RaConfig::load(&config).map_err(cli_error)?;
    let running = signet_ra::start(config, Arc::new(SystemClock))
        .await
        .map_err(cli_error)?;
    println!("{}", banner(running.addr));
    super::shutdown_signal().await;
    running.stop().await;
    Ok(())
}

/// Where `signet init` puts the RA's pieces in a home.
pub struct RaHome<'a> {
    /// The home.
    pub layout: &'a Layout,
    /// The home's token (the RA's keys join the CA's there).
    pub token_config: TokenConfig,
    /// The RA's port (`B`).
    pub port: u16,
    /// The CA's port (`B+2`, on loopback).
    pub ca_port: u16,
    /// The KMC's port (`B+3`, on loopback): key recovery and key health.
    pub kmc_port: u16,
    /// `--database` (PostgreSQL, schema `ra`), or none for `HOME/data/ra.db`.
    pub database: Option<String>,
    /// `--public-host`: a SAN of the web certificate.
    pub public_host: String,
    /// `--org`: the root organisation unit's name.
    pub org: String,
}

/// The profiles a new RA offers, with one approver each.
const DEFAULT_PROFILES: [&str; 4] = ["server", "client", "user-sign", DUAL_PROFILE];

/// The dual profile `signet init` writes for the CA (`user-dual`): the RA
/// issues it through the CA's dual endpoint.
const DUAL_PROFILE: &str = "user-dual";

/// The RA's part of `signet init`: its web server certificate (issued by
/// the issuing CA through `authority`, so browsers that trust root.pem
/// trust it), `config/ra.toml`, its database and token keys, the root
/// organisation unit and the first administrator, whose one-time password
/// is written to `secrets/ra-admin.txt` (mode 0600) and never printed.
/// Returns that file's path.
pub async fn init_home(
    authority: &CertificateAuthority,
    token: &Token,
    home: &RaHome<'_>,
) -> Result<PathBuf, CliError> {
    let tls = home.layout.root.join("tls");
    let key = rcgen::KeyPair::generate().map_err(|e| CliError::Home(format!("RA key: {e}")))?;
    let csr = rcgen::CertificateParams::new(Vec::<String>::new())
        .and_then(|p| p.serialize_request(&key))
        .and_then(|r| r.pem())
        .map_err(|e| CliError::Home(format!("RA CSR: {e}")))?;
    let mut sans = vec!["DNS:localhost".to_owned(), "IP:127.0.0.1".to_owned()];
    if home.public_host != "127.0.0.1" && home.public_host != "localhost" {
        let kind = if home.public_host.parse::<std::net::IpAddr>().is_ok() {
            "IP"
        } else {
            "DNS"
        };
        sans.push(format!("{kind}:{}", home.public_host));
    }
    let issued = authority
        .issue(&IssueCommand {
            request_id: "init:ra-web".into(),
            profile: "server".into(),
            issuer: Some("issuing".into()),
            csr: csr.into_bytes(),
            // Profile `server` wants the CN among the SANs.
            subject: Some(format!(
                "CN={},O={}",
                signet_core::names::escape_value(&home.public_host),
                signet_core::names::escape_value(&home.org)
            )),
            sans: Some(sans),
            validity: None,
        })
        .await?;
    let issuing = std::fs::read_to_string(home.layout.ca_certs().join("issuing.pem"))?;
    let cert_path = tls.join("ra-web.pem");
    let key_path = tls.join("ra-web.key");
    std::fs::write(
        &cert_path,
        format!(
            "{}{issuing}",
            certificate_pem(&issued.record.der.unwrap_or_default())
        ),
    )?;
    let key_pem = Zeroizing::new(key.serialize_pem());
    write_private(&key_path, key_pem.as_bytes())?;
    let roots_path = tls.join("ra-client-roots.pem");
    let customer = std::fs::read_to_string(home.layout.root_pem())?;
    let platform = std::fs::read_to_string(tls.join("platform-root.pem"))?;
    std::fs::write(&roots_path, format!("{customer}{platform}"))?;

    // Officers reach the console at `--public-host`; on the loopback
    // default it listens on loopback only.
    let loopback = matches!(home.public_host.as_str(), "127.0.0.1" | "localhost" | "::1");
    let ip: std::net::IpAddr = if loopback {
        std::net::Ipv4Addr::LOCALHOST.into()
    } else {
        std::net::Ipv4Addr::UNSPECIFIED.into()
    };
    let config = RaConfig {
        server: ServerConfig::new(
            SocketAddr::new(ip, home.port),
            cert_path,
            key_path,
            roots_path,
        ),
        token: home.token_config.clone(),
        database: DatabaseConfig::new(match &home.database {
            Some(url) => url.clone(),
            None => format!("sqlite:{}", home.layout.data().join("ra.db").display()),
        }),
        ca: CaLinkConfig {
            url: format!("https://127.0.0.1:{}", home.ca_port),
            certificate: tls.join("ra.pem"),
            key: tls.join("ra.key"),
            roots: tls.join("platform-root.pem"),
        },
        i18n: Default::default(),
        audit: Default::default(),
        profiles: DEFAULT_PROFILES
            .iter()
            .map(|name| RaProfileConfig {
                name: (*name).to_owned(),
                approvals: 1,
            })
            .collect(),
        api: ApiConfig::default(),
        batch: Default::default(),
        portal: Default::default(),
        reminders: Default::default(),
        // The same platform identity (role `ra`) as for the CA; the KMC
        // admits role `ra` by default (`server.allowed_roles` of kmc.toml).
        kmc: Some(KmcLinkConfig {
            url: format!("https://127.0.0.1:{}", home.kmc_port),
            certificate: tls.join("ra.pem"),
            key: tls.join("ra.key"),
            roots: tls.join("platform-root.pem"),
            dual_profiles: vec![DUAL_PROFILE.to_owned()],
        }),
        pkcs12: Default::default(),
    };
    std::fs::write(
        config_path(&home.layout.config()),
        signet_ra::render_config(&config),
    )?;
    // The administrator's platform certificate becomes the RA API client
    // `signet-cli`: `signet enroll|revoke|suspend|resume` go through the RA.
    let admin_pem = std::fs::read_to_string(tls.join("admin.pem"))?;
    let first = signet_ra::ceremony::initialize_with_cli_client(
        &config,
        token,
        &home.org,
        Some(&admin_pem),
        Arc::new(SystemClock),
    )
    .await
    .map_err(cli_error)?;
    let file = home.layout.secrets().join("ra-admin.txt");
    let text = Zeroizing::new(format!(
        "# First RA administrator. The password works once: the first login\n\
         # sets a new one and enrols TOTP. Delete this file afterwards.\n\
         username = {}\npassword = {}\n",
        first.username,
        first.one_time_password.as_str()
    ));
    write_private(&file, text.as_bytes())?;
    Ok(file)
}
