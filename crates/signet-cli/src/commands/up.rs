//! `signet up`: every service of a home in one process, each its own task
//! speaking mutual TLS to the others.

use std::io::Write as _;
use std::sync::Arc;

use signet_ca::CaConfig;
use signet_core::SystemClock;

use crate::cli::UpArgs;
use crate::error::CliError;
use crate::home::Manifest;

/// Starts the services, prints one line each, runs until Ctrl-C or SIGTERM.
pub async fn run(args: UpArgs) -> Result<(), CliError> {
    let (layout, _manifest) = Manifest::load(&args.home)?;
    let ca = signet_ca::start(CaConfig::load(&layout.ca_config())?, Arc::new(SystemClock)).await?;
    let mut out = std::io::stdout().lock();
    let _ = writeln!(
        out,
        "ca     https://{}   CA signer (mTLS: RA and administrator)",
        ca.addr
    );
    let _ = out.flush();
    drop(out);
    super::shutdown_signal().await;
    ca.stop().await;
    Ok(())
}
