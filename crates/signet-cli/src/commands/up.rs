//! `signet up`: every service of a home in one process, each its own task
//! speaking mutual TLS to the others.

use std::io::Write as _;
use std::sync::Arc;

use signet_ca::CaConfig;
use signet_core::SystemClock;
use signet_ocsp::OcspConfig;

use crate::cli::UpArgs;
use crate::error::CliError;
use crate::home::Manifest;

/// Starts the services, prints one line each, runs until Ctrl-C or SIGTERM.
///
/// The CA starts first: it publishes CRLs and issues the delegated OCSP
/// signers the responder needs before it answers anyone.
pub async fn run(args: UpArgs) -> Result<(), CliError> {
    let (layout, _manifest) = Manifest::load(&args.home)?;
    let clock = Arc::new(SystemClock);
    let ca = signet_ca::start_with_dual(
        CaConfig::load(&layout.ca_config())?,
        clock.clone(),
        super::kmc::dual_beside(&layout.ca_config())?,
    )
    .await?;
    print_line(&format!(
        "ca     https://{}   CA signer (mTLS: RA and administrator)",
        ca.addr
    ));
    let ocsp = match layout.ocsp_config() {
        path if path.exists() => {
            let ocsp = signet_ocsp::start(OcspConfig::load(&path)?, clock.clone()).await?;
            print_line(&super::ocsp::banner(ocsp.addr));
            Some(ocsp)
        }
        _ => None,
    };
    let ra = super::ra::start_in_home(&layout.config(), clock.clone()).await?;
    if let Some(ra) = &ra {
        print_line(&super::ra::banner(ra.addr));
    }
    let kmc = super::kmc::start_for_home(&layout, clock.clone()).await?;
    if let Some(kmc) = &kmc {
        print_line(&super::kmc::service_line(kmc.addr));
    }
    super::shutdown_signal().await;
    if let Some(kmc) = kmc {
        kmc.stop().await;
    }
    if let Some(ra) = ra {
        ra.stop().await;
    }
    if let Some(ocsp) = ocsp {
        ocsp.stop().await;
    }
    ca.stop().await;
    Ok(())
}

/// One line on stdout, flushed at once: scripts and tests wait for it.
fn print_line(line: &str) {
    let mut out = std::io::stdout().lock();
    let _ = writeln!(out, "{line}");
    let _ = out.flush();
}
