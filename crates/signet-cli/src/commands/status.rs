//! `signet revoke|suspend|resume|show`.

use signet_api::ca::{CertificateInfo, RevokeRequest, StatusRequest};

use crate::cli::{RevokeArgs, StatusArgs};
use crate::error::CliError;
use crate::home::Manifest;

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

/// Revokes for good.
pub async fn revoke(args: RevokeArgs) -> Result<(), CliError> {
    let (_, manifest) = Manifest::load(&args.home)?;
    let serial = check_serial(&args.serial)?;
    let info = manifest
        .ca_client()?
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
    let (_, manifest) = Manifest::load(&args.home)?;
    let serial = check_serial(&args.serial)?;
    let client = manifest.ca_client()?;
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
