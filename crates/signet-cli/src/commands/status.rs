//! `signet revoke|suspend|resume|show`.
//!
//! With an RA in the home, revoke, suspend and resume go through the RA's
//! REST API (API client `signet-cli`), which records and audits them and
//! passes them on to the CA (`--crl-now` and `--invalidity-date` too).
//! Certificates the RA never issued (dual pairs, service certificates,
//! certificates from before the RA) are unknown to it: for those, and with
//! `--issuer`, the command asks the CA directly. The line printed is the
//! CA's record of the certificate (the RA keeps no revocation time), as
//! `show` prints it; `show` reads the CA, which alone knows every
//! certificate's validity and SANs.

use signet_api::ClientError;
use signet_api::ca::{CaClient, CertificateInfo, RevokeRequest, StatusRequest};
use signet_api::ra::{self, Freshness, RaClient};
use signet_core::{Clock as _, SystemClock};

use crate::cli::{RevokeArgs, StatusArgs};
use crate::error::CliError;
use crate::home::{Layout, Manifest};

fn check_serial(serial: &str) -> Result<String, CliError> {
    serial
        .parse::<signet_core::Serial>()
        .map(|s| s.to_hex())
        .map_err(|e| CliError::Usage(format!("--serial: {e}")))
}

fn summary(info: &CertificateInfo) {
    let mut line = format!("{} {} {}", info.serial, info.status, info.subject);
    if let (Some(at), Some(reason)) = (&info.revoked_at, &info.revocation_reason) {
        line.push_str(&format!(" ({reason} at {at})"));
    }
    println!("{line}");
}

fn fresh() -> Freshness {
    Freshness::at(SystemClock.now().unix())
}

/// The RA client when the change should go through the RA.
fn ra_for(
    layout: &Layout,
    manifest: &Manifest,
    issuer: Option<&String>,
) -> Result<Option<RaClient>, CliError> {
    if issuer.is_some() {
        return Ok(None);
    }
    manifest.ra_client(layout)
}

/// What the RA did: `Some(())` when it made the change, `None` when the
/// certificate is not one it knows (ask the CA).
fn through_ra(answer: Result<ra::Certificate, ClientError>) -> Result<Option<()>, CliError> {
    match answer {
        Ok(_) => Ok(Some(())),
        Err(ClientError::Api { status: 404, .. }) => Ok(None),
        Err(e) => Err(e.into()),
    }
}

/// Prints the CA's record of `serial`.
async fn print_record(ca: &CaClient, serial: &str) -> Result<(), CliError> {
    summary(&ca.get(serial).await?);
    Ok(())
}

/// Revokes for good.
pub async fn revoke(args: RevokeArgs) -> Result<(), CliError> {
    let (layout, manifest) = Manifest::load(&args.home)?;
    let serial = check_serial(&args.serial)?;
    let ca = manifest.ca_client()?;
    if let Some(ra) = ra_for(&layout, &manifest, args.issuer.as_ref())? {
        let request = ra::RevokeRequest {
            reason: args.reason.clone(),
            invalidity_date: args.invalidity_date.clone(),
            crl_now: args.crl_now,
        };
        let key = super::enroll::new_request_id();
        if through_ra(ra.revoke(&serial, &request, Some(&key), &fresh()).await)?.is_some() {
            return print_record(&ca, &serial).await;
        }
    }
    let info = ca
        .revoke(
            &serial,
            &RevokeRequest {
                reason: args.reason,
                invalidity_date: args.invalidity_date,
                issuer: args.issuer,
                crl_now: args.crl_now,
            },
        )
        .await?;
    summary(&info);
    Ok(())
}

/// Suspends.
pub async fn suspend(args: StatusArgs) -> Result<(), CliError> {
    hold(args, Hold::Suspend).await
}

/// Resumes.
pub async fn resume(args: StatusArgs) -> Result<(), CliError> {
    hold(args, Hold::Resume).await
}

enum Hold {
    Suspend,
    Resume,
}

async fn hold(args: StatusArgs, what: Hold) -> Result<(), CliError> {
    let (layout, manifest) = Manifest::load(&args.home)?;
    let serial = check_serial(&args.serial)?;
    let client = manifest.ca_client()?;
    if let Some(ra) = ra_for(&layout, &manifest, args.issuer.as_ref())? {
        let answer = match what {
            Hold::Suspend => ra.suspend(&serial, &fresh()).await,
            Hold::Resume => ra.resume(&serial, &fresh()).await,
        };
        if through_ra(answer)?.is_some() {
            return print_record(&client, &serial).await;
        }
    }
    let request = StatusRequest {
        issuer: args.issuer,
    };
    let info = match what {
        Hold::Suspend => client.suspend(&serial, &request).await?,
        Hold::Resume => client.resume(&serial, &request).await?,
    };
    summary(&info);
    Ok(())
}

/// Shows one certificate's record.
pub async fn show(args: StatusArgs) -> Result<(), CliError> {
    let (_, manifest) = Manifest::load(&args.home)?;
    let serial = check_serial(&args.serial)?;
    let info = manifest.ca_client()?.get(&serial).await?;
    summary(&info);
    println!("  issuer      {}", info.issuer);
    println!("  profile     {}", info.profile);
    println!("  valid       {} .. {}", info.not_before, info.not_after);
    if !info.sans.is_empty() {
        println!("  SANs        {}", info.sans.join(", "));
    }
    Ok(())
}
