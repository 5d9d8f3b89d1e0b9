//! `signet enroll`: issue a certificate from a CSR as the home's administrator.
//!
//! With an RA in the home the request goes through the RA's REST API as
//! API client `signet-cli` (the administrator's certificate), with the
//! request id as `Idempotency-Key`; the RA records, audits and has the CA
//! issue it. Options the RA API does not carry (`--issuer`, `--days`,
//! `--envelope-out`) and homes without an RA speak to the CA directly.

use signet_api::ca::IssueRequest;
use signet_api::ra::{EnrollRequest, Freshness};
use signet_core::{Clock as _, SystemClock};

use crate::cli::EnrollArgs;
use crate::error::CliError;
use crate::home::Manifest;

/// A fresh request id: 128 random bits.
pub fn new_request_id() -> String {
    format!("cli-{}", hex::encode(rand::random::<[u8; 16]>()))
}

/// Prints the certificate, then its chain without the root, PEM.
pub async fn run(args: EnrollArgs) -> Result<(), CliError> {
    let (layout, manifest) = Manifest::load(&args.home)?;
    let csr = std::fs::read(&args.csr)
        .map_err(|e| CliError::Usage(format!("cannot read {}: {e}", args.csr.display())))?;
    let csr = match String::from_utf8(csr) {
        Ok(text) if text.contains("-----BEGIN") => text,
        Ok(_) | Err(_) => {
            let der = std::fs::read(&args.csr)?;
            signet_core::pem::encode("CERTIFICATE REQUEST", &der)
        }
    };
    let request_id = args.request_id.unwrap_or_else(new_request_id);
    let sans = (!args.sans.is_empty()).then_some(args.sans);
    let through_ra = args.envelope_out.is_none() && args.issuer.is_none() && args.days.is_none();
    if through_ra && let Some(ra) = manifest.ra_client(&layout)? {
        let request = EnrollRequest {
            profile: args.profile,
            csr,
            org_unit_id: None,
            subject: args.subject,
            sans,
        };
        let issued = ra
            .enroll(
                &request,
                Some(&request_id),
                &Freshness::at(SystemClock.now().unix()),
            )
            .await
            .map_err(|e| ra_refusal(e, &request_id))?;
        print!("{}", issued.certificate);
        for c in &issued.chain {
            print!("{c}");
        }
        return Ok(());
    }
    let request = IssueRequest {
        request_id,
        profile: args.profile,
        csr,
        issuer: args.issuer,
        subject: args.subject,
        sans,
        validity_days: args.days,
    };
    if let Some(out) = &args.envelope_out {
        return super::kmc::enroll_dual(&manifest.ca_client()?, &request, out).await;
    }
    let issued = manifest.ca_client()?.issue(&request).await?;
    print!("{}", issued.certificate);
    for c in &issued.chain {
        print!("{c}");
    }
    Ok(())
}

/// The RA's refusal as one line; a reused request id is named, as the CA
/// names it.
fn ra_refusal(e: signet_api::ClientError, request_id: &str) -> CliError {
    if e.code() == Some("idempotency_key_reused") {
        return CliError::Refused(format!(
            "request id `{request_id}` was already used for a different request"
        ));
    }
    e.into()
}
