//! SoftHSM2 reads `SOFTHSM2_CONF` when the PKCS#11 module initialises, and
//! each PKI home has its own configuration. Setting an environment variable
//! inside a running Rust 2024 program needs `unsafe`, which Signet forbids,
//! so a command that opens the token re-executes itself with the variable
//! set. `exec` replaces the process; nothing runs twice.

use std::os::unix::process::CommandExt as _;
use std::path::{Path, PathBuf};

use crate::cli::{Command, ServiceAction};
use crate::error::CliError;
use crate::home::Layout;

/// Set in the re-executed process, so `init` knows its directory was
/// created by its own first stage.
pub const REEXEC_MARKER: &str = "SIGNET_REEXEC";

/// The SoftHSM2 configuration a command needs, if it opens the token.
fn wanted(command: &Command) -> Result<Option<PathBuf>, CliError> {
    let from_ca_config = |path: &Path| -> Result<Option<PathBuf>, CliError> {
        let config = signet_ca::CaConfig::load(path).map_err(|e| CliError::Home(e.to_string()))?;
        Ok(config.token.softhsm2_conf)
    };
    match command {
        Command::Init(args) => {
            crate::commands::init::prepare_directory(args)?;
            Ok(Some(Layout::new(&args.home)?.softhsm_conf()))
        }
        Command::Up(args) => from_ca_config(&Layout::new(&args.home)?.ca_config()),
        Command::Ca(args) => match &args.action {
            ServiceAction::Serve { config } => from_ca_config(config),
        },
        Command::Ocsp(args) => match &args.action {
            ServiceAction::Serve { config } => Ok(signet_ocsp::OcspConfig::load(config)
                .map_err(|e| CliError::Home(e.to_string()))?
                .token
                .softhsm2_conf),
        },
        Command::Bench(args) => match &args.what {
            crate::cli::BenchWhat::Issue { home, .. } => {
                from_ca_config(&Layout::new(home)?.ca_config())
            }
            crate::cli::BenchWhat::Crl { .. }
            | crate::cli::BenchWhat::Ocsp { .. }
            | crate::cli::BenchWhat::RaBatch(_) => Ok(None),
            crate::cli::BenchWhat::Kmc(kmc) => {
                from_ca_config(&crate::commands::bench_kmc::ca_config_path(kmc)?)
            }
        },

        Command::Kmc(args) => crate::commands::kmc::softhsm_conf(args),
        Command::Ra(args) => crate::commands::ra::softhsm_conf(args),
        Command::Audit(args) => crate::commands::audit::softhsm_conf(args),
        _ => Ok(None),
    }
}

/// Re-executes the program with `SOFTHSM2_CONF` set if the command needs a
/// value the environment does not have. Returns only when no re-execution
/// is needed (or it failed).
pub fn ensure(command: &Command) -> Result<(), CliError> {
    let Some(conf) = wanted(command)? else {
        return Ok(());
    };
    if std::env::var_os(signet_token::SOFTHSM2_CONF_VAR).as_deref() == Some(conf.as_os_str()) {
        return Ok(());
    }
    let exe = std::env::current_exe()?;
    let err = std::process::Command::new(exe)
        .args(std::env::args_os().skip(1))
        .env(signet_token::SOFTHSM2_CONF_VAR, &conf)
        .env(REEXEC_MARKER, "1")
        .exec();
    Err(CliError::Io(err))
}
