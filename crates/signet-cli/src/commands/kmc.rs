//! `signet kmc serve|backup|restore`: the key management centre alone, and
//! its custodian ceremonies (root storage key split into Shamir shares,
//! and rebuilt from them into a fresh token).

use std::path::{Path, PathBuf};
use std::sync::Arc;

use clap::{Args, Subcommand};
use signet_core::SystemClock;
use signet_core::envelope::PrivateKey;
use signet_kmc::KmcConfig;
use signet_kmc::ceremony::{self, SharePlan};
use signet_kmc::shares::ShareFile;

use crate::error::CliError;
use crate::home::write_private;

/// `signet kmc`.
#[derive(Debug, Args)]
pub struct KmcArgs {
    #[command(subcommand)]
    pub action: KmcAction,
}

/// What to do with the KMC.
#[derive(Debug, Subcommand)]
pub enum KmcAction {
    /// Run the KMC alone from its configuration file.
    Serve {
        /// The KMC's TOML configuration (e.g. HOME/config/kmc.toml).
        #[arg(long)]
        config: PathBuf,
    },
    /// Create a new KMC from its configuration: root storage key version 1
    /// (born here, split into custodian shares, imported into the token),
    /// the database, master and working keys. `signet init` does this for
    /// a home.
    Init {
        /// The KMC's TOML configuration.
        #[arg(long)]
        config: PathBuf,
        /// Shares to make, one per custodian.
        #[arg(long, default_value_t = 3)]
        shares: u8,
        /// Shares needed to restore.
        #[arg(long, default_value_t = 2)]
        threshold: u8,
        /// Directory for the share files (created, mode 0700; files 0600).
        #[arg(long)]
        out: PathBuf,
        /// Seal share N to the N-th custodian certificate (PEM) given.
        #[arg(long = "custodian-cert")]
        custodian_certs: Vec<PathBuf>,
    },
    /// Make a new root storage key version and split it into custodian
    /// shares (one file each); every master key is rewrapped under it and
    /// the old version is destroyed in the token. Run it with the KMC
    /// stopped.
    Backup {
        /// The KMC's TOML configuration.
        #[arg(long)]
        config: PathBuf,
        /// Shares to make, one per custodian.
        #[arg(long, default_value_t = 3)]
        shares: u8,
        /// Shares needed to restore.
        #[arg(long, default_value_t = 2)]
        threshold: u8,
        /// Directory for the share files (created, mode 0700; files 0600).
        #[arg(long)]
        out: PathBuf,
        /// Seal share N to the N-th custodian certificate (PEM) given, as
        /// CMS; give one per share, or none for plain text shares.
        #[arg(long = "custodian-cert")]
        custodian_certs: Vec<PathBuf>,
    },
    /// Rebuild the root storage key from custodian shares into the
    /// configured token (a replacement HSM) for the configured database.
    Restore {
        /// The KMC's TOML configuration (naming the new token).
        #[arg(long)]
        config: PathBuf,
        /// A share file (plain or sealed); repeat for each custodian.
        #[arg(long = "share", required = true)]
        shares: Vec<PathBuf>,
        /// A custodian's private key (PEM) to open sealed shares; repeatable.
        #[arg(long = "key")]
        keys: Vec<PathBuf>,
    },
}

/// The SoftHSM2 configuration a KMC command needs (see `softhsm_env`).
pub fn softhsm_conf(args: &KmcArgs) -> Result<Option<PathBuf>, CliError> {
    let config = match &args.action {
        KmcAction::Serve { config }
        | KmcAction::Init { config, .. }
        | KmcAction::Backup { config, .. }
        | KmcAction::Restore { config, .. } => config,
    };
    Ok(load(config)?.token.softhsm2_conf)
}

fn load(path: &Path) -> Result<KmcConfig, CliError> {
    KmcConfig::load(path).map_err(|e| CliError::Home(e.to_string()))
}

fn kmc_error(e: signet_kmc::KmcError) -> CliError {
    match e {
        signet_kmc::KmcError::Shares { .. }
        | signet_kmc::KmcError::AlreadyInitialized { .. }
        | signet_kmc::KmcError::Config { .. } => CliError::Usage(e.to_string()),
        other => CliError::Service(other.to_string()),
    }
}

/// Runs `signet kmc ...`.
pub async fn run(args: KmcArgs) -> Result<(), CliError> {
    match args.action {
        KmcAction::Serve { config } => serve(&config).await,
        KmcAction::Init {
            config,
            shares,
            threshold,
            out,
            custodian_certs,
        } => {
            let plan = SharePlan { shares, threshold };
            let certs = custodian_certificates(plan, &custodian_certs)?;
            prepare_out_dir(&out)?;
            let outcome = ceremony::initialize(&load(&config)?, plan, Arc::new(SystemClock))
                .await
                .map_err(kmc_error)?;
            write_shares(&outcome, plan, &out, &certs)
        }
        KmcAction::Backup {
            config,
            shares,
            threshold,
            out,
            custodian_certs,
        } => {
            let plan = SharePlan { shares, threshold };
            let certs = custodian_certificates(plan, &custodian_certs)?;
            prepare_out_dir(&out)?;
            let outcome = ceremony::backup(&load(&config)?, plan, Arc::new(SystemClock))
                .await
                .map_err(kmc_error)?;
            write_shares(&outcome, plan, &out, &certs)
        }
        KmcAction::Restore {
            config,
            shares,
            keys,
        } => restore(&config, &shares, &keys).await,
    }
}

/// The line `signet up` and `signet kmc serve` print for a running KMC.
pub fn service_line(addr: std::net::SocketAddr) -> String {
    format!("kmc    https://{addr}   KMC (mTLS: CA key pairs, RA recovery, app data keys)")
}

async fn serve(config: &Path) -> Result<(), CliError> {
    let config = load(config)?;
    let running = signet_kmc::start(config, Arc::new(SystemClock))
        .await
        .map_err(kmc_error)?;
    println!("{}", service_line(running.addr));
    super::shutdown_signal().await;
    running.stop().await;
    Ok(())
}

/// The custodian certificates, one per share or none.
fn custodian_certificates(plan: SharePlan, paths: &[PathBuf]) -> Result<Vec<Vec<u8>>, CliError> {
    if !paths.is_empty() && paths.len() != usize::from(plan.shares) {
        return Err(CliError::Usage(format!(
            "{} custodian certificates for {} shares: give one per share or none",
            paths.len(),
            plan.shares
        )));
    }
    paths
        .iter()
        .map(|p| {
            std::fs::read(p)
                .map_err(|e| CliError::Usage(format!("cannot read {}: {e}", p.display())))
        })
        .collect()
}

/// Share files are never overwritten: the directory must be new or empty.
fn prepare_out_dir(out: &Path) -> Result<(), CliError> {
    if out.exists() && std::fs::read_dir(out)?.next().is_some() {
        return Err(CliError::Usage(format!(
            "{} exists and is not empty: share files are never overwritten",
            out.display()
        )));
    }
    crate::home::create_private_dir(out)
}

/// Writes one file per share (sealed to the custodian's certificate when
/// given) and prints their paths.
pub(crate) fn write_shares(
    outcome: &ceremony::CeremonyOutcome,
    plan: SharePlan,
    out: &Path,
    certs: &[Vec<u8>],
) -> Result<(), CliError> {
    for (i, share) in outcome.shares.iter().enumerate() {
        let (name, bytes) = match certs.get(i) {
            Some(cert) => (
                share.file_name(true),
                zeroize::Zeroizing::new(share.seal_to(cert).map_err(kmc_error)?),
            ),
            None => (
                share.file_name(false),
                zeroize::Zeroizing::new(share.to_text().as_bytes().to_vec()),
            ),
        };
        let path = out.join(name);
        write_private(&path, &bytes)?;
        println!("{}", path.display());
    }
    println!(
        "root storage key v{} of KMC {}: {} shares, any {} restore it; give each to its \
         custodian and delete it here",
        outcome.root_version, outcome.kmc_id, plan.shares, plan.threshold
    );
    Ok(())
}

async fn restore(
    config: &Path,
    share_paths: &[PathBuf],
    key_paths: &[PathBuf],
) -> Result<(), CliError> {
    let mut keys = Vec::new();
    for p in key_paths {
        let pem = zeroize::Zeroizing::new(
            std::fs::read_to_string(p)
                .map_err(|e| CliError::Usage(format!("cannot read {}: {e}", p.display())))?,
        );
        keys.push(
            PrivateKey::from_pem(&pem)
                .map_err(|e| CliError::Usage(format!("{}: {e}", p.display())))?,
        );
    }
    let mut shares = Vec::new();
    for p in share_paths {
        let bytes = zeroize::Zeroizing::new(
            std::fs::read(p)
                .map_err(|e| CliError::Usage(format!("cannot read {}: {e}", p.display())))?,
        );
        shares.push(
            ShareFile::open(&bytes, &keys)
                .map_err(|e| CliError::Usage(format!("{}: {e}", p.display())))?,
        );
    }
    let config = load(config)?;
    let outcome = ceremony::restore(&config, &shares, Arc::new(SystemClock))
        .await
        .map_err(kmc_error)?;
    println!(
        "root storage key v{} of KMC {} restored into token {}; {} master keys verified",
        outcome.root_version, outcome.kmc_id, config.token.token_label, outcome.masters_verified
    );
    Ok(())
}

/// `user-dual`: the signing half of a dual pair (user-sign's rules) with
/// `dual = true`, so that the CA issues the encryption half through the
/// KMC. `signet init` writes it beside the built-in profiles.
const USER_DUAL_PROFILE: &str = r#"# A person's dual certificates (GM/T 0015 style): this profile's signing
# certificate for the CSR's key, and an encryption certificate (profile
# user-enc, encryption_profile in ca-dual.toml) for a key pair the KMC
# generates and escrows. Issue with POST /v1/certificates/dual.
name = "user-dual"
description = "Personal signing certificate with an escrowed encryption certificate"
validity = "730d"
key_usage = ["digitalSignature", "nonRepudiation"]
extended_key_usage = ["clientAuth", "emailProtection"]
key_types = ["p256", "p384", "rsa2048", "rsa3072", "rsa4096", "sm2"]
approvals = 1
dual = true

[subject]
required = ["CN"]
allowed = ["CN", "O", "OU", "C", "ST", "L", "UID", "SERIALNUMBER", "EMAILADDRESS", "GN", "SN", "T"]

[san]
email = "allowed"
max = 10
"#;

/// The home's KMC: its configuration (`config/kmc.toml`), the
/// `user-dual` profile, and the root key ceremony (3 shares, any 2
/// restore) with the shares written to `secrets/kmc-shares/` for the
/// custodians to take away. Returns the configuration written.
pub async fn init_home(
    layout: &crate::home::Layout,
    ca: &signet_ca::CaConfig,
    port: u16,
) -> Result<KmcConfig, CliError> {
    let tls = layout.tls();
    let database = if ca.database.url.starts_with("sqlite:") {
        format!("sqlite:{}", layout.data().join("kmc.db").display())
    } else {
        // The same PostgreSQL database as the CA's; the KMC uses schema `kmc`.
        ca.database.url.clone()
    };
    let config = KmcConfig::new(
        std::net::SocketAddr::from(([127, 0, 0, 1], port)),
        tls.join("kmc.pem"),
        tls.join("kmc.key"),
        tls.join("platform-root.pem"),
        ca.token.clone(),
        database,
    );
    std::fs::write(kmc_config_path(layout), signet_kmc::render_config(&config))?;
    std::fs::write(
        ca_dual_path(&layout.ca_config()),
        render_ca_dual_config(&ca_dual_config(layout, port)),
    )?;
    std::fs::write(layout.profiles().join("user-dual.toml"), USER_DUAL_PROFILE)?;
    let plan = SharePlan::default();
    let outcome = ceremony::initialize(&config, plan, Arc::new(SystemClock))
        .await
        .map_err(kmc_error)?;
    let out = layout.secrets().join("kmc-shares");
    prepare_out_dir(&out)?;
    for share in &outcome.shares {
        write_private(
            &out.join(share.file_name(false)),
            share.to_text().as_bytes(),
        )?;
    }
    Ok(config)
}

/// `HOME/config/kmc.toml`.
pub fn kmc_config_path(layout: &crate::home::Layout) -> PathBuf {
    layout.config().join("kmc.toml")
}

/// `ca-dual.toml` beside a CA configuration: how that CA reaches the KMC
/// for dual certificates (`signet_ca::dual::DualConfig`). Its own file
/// rather than a `[kmc]` table of `ca.toml` for now; see docs/kmc.md.
pub fn ca_dual_path(ca_config: &Path) -> PathBuf {
    ca_config
        .parent()
        .unwrap_or(Path::new("."))
        .join("ca-dual.toml")
}

/// The home's `ca-dual.toml`: the CA reaches the KMC with its own service
/// certificate (role `ca`).
pub fn ca_dual_config(layout: &crate::home::Layout, port: u16) -> signet_ca::dual::DualConfig {
    let tls = layout.tls();
    signet_ca::dual::DualConfig::new(
        format!("https://127.0.0.1:{port}"),
        tls.join("ca.pem"),
        tls.join("ca.key"),
        tls.join("platform-root.pem"),
    )
}

/// `ca-dual.toml` as text, with every key explained.
pub fn render_ca_dual_config(k: &signet_ca::dual::DualConfig) -> String {
    let quote = |s: &str| toml::Value::String(s.to_owned()).to_string();
    let path = |p: &Path| quote(&p.display().to_string());
    format!(
        r#"# Dual certificates: how the CA (ca.toml beside this file) reaches the
# KMC for escrowed encryption key pairs (POST /v1/certificates/dual with a
# profile marked `dual = true`). Without this file the CA refuses dual
# requests. Keys are described in docs/configuration.md.

# The KMC's API.
url = {url}
# This CA's client certificate and key (platform PKI, role ca) ...
certificate = {cert}
key = {key}
# ... and the roots the KMC's certificate must chain to (it must also
# name role kmc).
server_roots = {roots}
# Profile of the encryption certificate.
encryption_profile = {profile}
{domain}
"#,
        url = quote(&k.url),
        cert = path(&k.certificate),
        key = path(&k.key),
        roots = path(&k.server_roots),
        profile = quote(&k.encryption_profile),
        domain = match &k.domain {
            Some(d) => format!("domain = {}", quote(d)),
            None =>
                "# domain = \"default\"   # KMC business domain of the escrowed keys".to_owned(),
        },
    )
}

/// The dual issuer for the CA configured at `ca_config`, if a
/// `ca-dual.toml` is beside it.
pub fn dual_beside(ca_config: &Path) -> Result<Option<signet_ca::dual::DualIssuer>, CliError> {
    let path = ca_dual_path(ca_config);
    if !path.exists() {
        return Ok(None);
    }
    let text = std::fs::read_to_string(&path)
        .map_err(|e| CliError::Home(format!("cannot read {}: {e}", path.display())))?;
    let config: signet_ca::dual::DualConfig = toml::from_str(&text)
        .map_err(|e| CliError::Home(format!("{}: {}", path.display(), e.message())))?;
    Ok(Some(signet_ca::dual::DualIssuer::from_config(&config)?))
}

/// Starts the home's KMC if it has one (`config/kmc.toml`) and prints its
/// line; for `signet up`.
pub async fn start_for_home(
    layout: &crate::home::Layout,
    clock: Arc<dyn signet_core::Clock>,
) -> Result<Option<signet_kmc::RunningKmc>, CliError> {
    let path = kmc_config_path(layout);
    if !path.exists() {
        return Ok(None);
    }
    let running = signet_kmc::start(load(&path)?, clock)
        .await
        .map_err(kmc_error)?;
    Ok(Some(running))
}

/// `signet enroll --envelope-out FILE`: a dual pair through the CA. Prints
/// the signing certificate, the encryption certificate, then the chain
/// (without the root), PEM; writes the envelope (DER, mode 0600).
pub async fn enroll_dual(
    ca: &signet_api::ca::CaClient,
    request: &signet_api::ca::IssueRequest,
    out: &Path,
) -> Result<(), CliError> {
    use base64::Engine as _;
    let pair = ca.issue_dual(request).await?;
    let envelope = base64::engine::general_purpose::STANDARD
        .decode(&pair.envelope)
        .map_err(|_| CliError::Service("the CA's envelope is not base64".into()))?;
    write_private(out, &envelope)?;
    print!("{}", pair.signing.certificate);
    print!("{}", pair.encryption.certificate);
    for c in &pair.signing.chain {
        print!("{c}");
    }
    eprintln!(
        "encryption key {} escrowed; its envelope ({}) is in {}",
        pair.key_id,
        pair.envelope_format,
        out.display()
    );
    Ok(())
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn the_ca_dual_config_parses_back_to_the_same_settings() {
        let layout = crate::home::Layout {
            root: PathBuf::from("/pki/home"),
        };
        let mut dual = ca_dual_config(&layout, 8446);
        assert_eq!(dual.url, "https://127.0.0.1:8446");
        assert_eq!(dual.encryption_profile, "user-enc");
        let back: signet_ca::dual::DualConfig =
            toml::from_str(&render_ca_dual_config(&dual)).unwrap();
        assert_eq!(back, dual);
        dual.domain = Some("payments".into());
        let back: signet_ca::dual::DualConfig =
            toml::from_str(&render_ca_dual_config(&dual)).unwrap();
        assert_eq!(back, dual);
        assert_eq!(
            ca_dual_path(&layout.ca_config()),
            PathBuf::from("/pki/home/config/ca-dual.toml")
        );
    }

    #[test]
    fn the_user_dual_profile_is_a_valid_dual_profile() {
        let profile = signet_core::Profile::from_toml(USER_DUAL_PROFILE).unwrap();
        assert_eq!(profile.name(), "user-dual");
        assert!(profile.is_dual());
    }
}
