//! `signet audit verify`: recomputes the RA audit trail's hash chain and
//! checks its signed checkpoints; any edited, deleted or reordered event
//! (and a trail cut short behind a checkpoint) is reported with its
//! sequence number.

use std::path::PathBuf;

use clap::{Args, Subcommand};
use signet_ra::RaConfig;

use crate::error::CliError;
use crate::home::Layout;

/// `signet audit`.
#[derive(Debug, Args)]
pub struct AuditArgs {
    #[command(subcommand)]
    pub action: AuditAction,
}

/// What to do with the audit trail.
#[derive(Debug, Subcommand)]
pub enum AuditAction {
    /// Verify the RA's audit trail; exits non-zero if it does not hold.
    Verify {
        /// The RA's configuration (token and database of the trail).
        #[arg(long, conflicts_with = "home", required_unless_present = "home")]
        config: Option<PathBuf>,
        /// A PKI home: uses HOME/config/ra.toml.
        #[arg(long)]
        home: Option<PathBuf>,
    },
}

fn config_file(args: &AuditArgs) -> Result<PathBuf, CliError> {
    let AuditAction::Verify { config, home } = &args.action;
    match (config, home) {
        (Some(c), _) => Ok(c.clone()),
        (None, Some(h)) => Ok(super::ra::config_path(&Layout::new(h)?.config())),
        (None, None) => Err(CliError::Usage("give --config or --home".into())),
    }
}

/// The SoftHSM2 configuration the RA's token needs, if any.
pub fn softhsm_conf(args: &AuditArgs) -> Result<Option<PathBuf>, CliError> {
    Ok(RaConfig::load(&config_file(args)?)
        .map_err(super::ra::cli_error)?
        .token
        .softhsm2_conf)
}

/// Verifies and prints the result: one line either way.
pub async fn run(args: AuditArgs) -> Result<(), CliError> {
    let config = RaConfig::load(&config_file(&args)?).map_err(super::ra::cli_error)?;
    let report = signet_ra::audit::verify_config(&config)
        .await
        .map_err(super::ra::cli_error)?;
    if report.is_intact() {
        println!("{report}");
        Ok(())
    } else {
        Err(CliError::Home(report.to_string()))
    }
}
