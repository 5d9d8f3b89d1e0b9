//! `signet enroll`: issue a certificate from a CSR as the home's administrator.

use signet_api::ca::IssueRequest;

use crate::cli::EnrollArgs;
use crate::error::CliError;
use crate::home::Manifest;

/// A fresh request id: 128 random bits.
pub fn new_request_id() -> String {
    format!("cli-{}", hex::encode(rand::random::<[u8; 16]>()))
}

/// Prints the certificate, then its chain without the root, PEM.
pub async fn run(args: EnrollArgs) -> Result<(), CliError> {
    let (_, manifest) = Manifest::load(&args.home)?;
    let csr = std::fs::read(&args.csr)
        .map_err(|e| CliError::Usage(format!("cannot read {}: {e}", args.csr.display())))?;
    let csr = match String::from_utf8(csr) {
        Ok(text) if text.contains("-----BEGIN") => text,
        Ok(_) | Err(_) => {
            let der = std::fs::read(&args.csr)?;
            signet_core::pem::encode("CERTIFICATE REQUEST", &der)
        }
    };
    let request = IssueRequest {
        request_id: args.request_id.unwrap_or_else(new_request_id),
        profile: args.profile,
        csr,
        issuer: args.issuer,
        subject: args.subject,
        sans: (!args.sans.is_empty()).then_some(args.sans),
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
