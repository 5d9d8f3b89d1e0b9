//! Records to wire types.

use signet_api::ca::{CertificateInfo, IssuedCertificate};
use signet_core::pem::certificate_pem;
use signet_store::CertificateRecord;

use crate::authority::Issued;

pub(crate) fn issued(i: &Issued) -> IssuedCertificate {
    IssuedCertificate {
        chain: i.chain.iter().map(|c| certificate_pem(c)).collect(),
        ..issued_without_chain(i)
    }
}

/// For batch answers, which carry each chain once.
pub(crate) fn issued_without_chain(i: &Issued) -> IssuedCertificate {
    IssuedCertificate {
        serial: i.record.serial.to_hex(),
        issuer: i.issuer.clone(),
        certificate: i
            .record
            .der
            .as_deref()
            .map(certificate_pem)
            .unwrap_or_default(),
        chain: Vec::new(),
        not_before: i.record.not_before.to_string(),

        not_after: i.record.not_after.to_string(),
        replayed: i.replayed,
    }
}

pub(crate) fn info(r: &CertificateRecord, issuer: &str) -> CertificateInfo {
    CertificateInfo {
        serial: r.serial.to_hex(),
        issuer: issuer.to_owned(),
        status: r.status.to_string(),
        profile: r.profile.clone(),
        subject: r.subject.clone(),
        sans: r.sans.clone(),
        not_before: r.not_before.to_string(),
        not_after: r.not_after.to_string(),
        revoked_at: r.revoked_at.map(|t| t.to_string()),
        revocation_reason: r.reason.map(|x| x.as_str().to_owned()),
        certificate: r.der.as_deref().map(certificate_pem),
    }
}
