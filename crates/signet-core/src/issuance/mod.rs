//! Building certificates: from a request and a profile to the exact TBS
//! bytes that will be signed, linted before any signature exists.
//!
//! The path is linear and typed, as in Boulder's issuance package:
//! [`prepare`] checks the request against the profile, builds the
//! `TBSCertificate` with x509-cert's builder, lints the encoded bytes and
//! returns a single-use [`IssuanceToken`]. The caller records its intent
//! (the TBS) and then calls [`IssuanceToken::sign`], which consumes the
//! token, signs exactly the bytes that were linted, assembles the
//! certificate and checks the signature with the issuer's public key.

mod builder;
mod extensions;
mod issuer;
mod token;

use std::time::Duration;

use x509_cert::ext::pkix::name::GeneralName;
use x509_cert::name::Name;

pub use extensions::{ID_AD_CA_ISSUERS, ID_AD_OCSP, ID_PKIX_OCSP_NOCHECK};
pub use issuer::{Issuer, IssuerUrls, crl_shard};
pub use token::{IssuanceToken, IssuedCertificate, assemble_signed};

use crate::algorithm::{KeyType, SignatureAlgorithm};
use crate::clock::Timestamp;
use crate::csr::VerifiedCsr;
use crate::lint::{self, LintFailure};
use crate::profile::{NameViolation, Profile, format_duration};
use crate::public_key::SubjectKey;
use crate::serial::Serial;
use crate::signer::SignError;

/// Why a certificate was not issued.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum IssueError {
    /// The subscriber key type is not in the profile's list.
    #[error("profile `{profile}` does not accept {key_type} keys")]
    KeyTypeNotAllowed {
        /// The profile.
        profile: String,
        /// The refused key type.
        key_type: KeyType,
    },
    /// Subject or SANs break the profile's rules.
    #[error(transparent)]
    Name(#[from] NameViolation),
    /// The requested validity is longer than the profile allows.
    #[error("requested validity {requested} exceeds the profile's maximum of {max}")]
    ValidityTooLong {
        /// What was asked.
        requested: String,
        /// The profile's maximum.
        max: String,
    },
    /// The issuer cannot issue this certificate.
    #[error("the issuer cannot issue: {reason}")]
    BadIssuer {
        /// Why.
        reason: String,
    },
    /// The TBS failed a lint rule; nothing was signed.
    #[error(transparent)]
    Lint(#[from] LintFailure),
    /// DER encoding failed.
    #[error("encoding failed: {0}")]
    Encoding(#[from] der::Error),
    /// The signer failed.
    #[error(transparent)]
    Sign(#[from] SignError),
    /// The signature the signer produced does not verify with the issuer's
    /// public key (a broken token, or a key that is not the CA's).
    #[error("the signature over the certificate does not verify with the issuer key")]
    SignatureCheck,
}

/// What a certificate is to say: subject, alternative names, key, and the
/// validity asked for. The RA builds it from a CSR and vetted identity data.
#[derive(Clone, Debug)]
pub struct CertificateRequest {
    /// The subject DN.
    pub subject: Name,
    /// subjectAltName entries.
    pub sans: Vec<GeneralName>,
    /// The subscriber's public key.
    pub key: SubjectKey,
    /// Validity wanted; `None` means the profile's maximum.
    pub validity: Option<Duration>,
}

impl CertificateRequest {
    /// Subject, SANs and key as the CSR asked.
    pub fn from_csr(csr: &VerifiedCsr) -> Self {
        CertificateRequest {
            subject: csr.subject().clone(),
            sans: csr.requested_sans().to_vec(),
            key: csr.key().clone(),
            validity: None,
        }
    }
}

/// Checks `request` against `profile` and `issuer`, builds and lints the
/// TBS, and returns the token that may be signed once.
pub fn prepare(
    profile: &Profile,
    issuer: &Issuer,
    signing: SignatureAlgorithm,
    request: &CertificateRequest,
    serial: Serial,
    now: Timestamp,
) -> Result<IssuanceToken, IssueError> {
    check_request(profile, request)?;
    if !signing.fits_key(issuer.key().key_type()) {
        return Err(IssueError::BadIssuer {
            reason: format!(
                "signature algorithm {signing} does not fit the {} issuer key",
                issuer.key().key_type()
            ),
        });
    }
    if now >= issuer.not_after() {
        return Err(IssueError::BadIssuer {
            reason: "the issuer certificate has expired".into(),
        });
    }
    // RFC 5280 §4.2.1.9: a CA with pathLenConstraint 0 issues only
    // end-entity certificates.
    if profile.is_ca() && issuer.path_length() == Some(0) {
        return Err(IssueError::BadIssuer {
            reason: "its pathLenConstraint is 0, so it cannot issue CA certificates".into(),
        });
    }
    let (not_before, not_after) = validity(profile, request, now, Some(issuer.not_after()));
    let spec = builder::TbsSpec {
        profile,
        subject: &request.subject,
        sans: &request.sans,
        key: &request.key,
        serial: &serial,
        not_before,
        not_after,
        signing,
        issuer: Some(issuer),
    };
    let tbs_der = builder::build_tbs(&spec)?;
    let tbs = lint::check(&lint::LintInput {
        tbs_der: &tbs_der,
        profile,
        subject_key: &request.key,
        signing,
        issuer: Some(issuer),
    })?;
    IssuanceToken::from_checked(tbs_der, &tbs, profile.name())
}

/// Prepares a self-signed certificate (a root CA) for `key`, which the
/// signer of `signing` holds.
pub fn prepare_self_signed(
    profile: &Profile,
    subject: &Name,
    key: &SubjectKey,
    signing: SignatureAlgorithm,
    serial: Serial,
    now: Timestamp,
) -> Result<IssuanceToken, IssueError> {
    let request = CertificateRequest {
        subject: subject.clone(),
        sans: Vec::new(),
        key: key.clone(),
        validity: None,
    };
    check_request(profile, &request)?;
    if !signing.fits_key(key.key_type()) {
        return Err(IssueError::BadIssuer {
            reason: format!(
                "signature algorithm {signing} does not fit a {} key",
                key.key_type()
            ),
        });
    }
    let (not_before, not_after) = validity(profile, &request, now, None);
    let spec = builder::TbsSpec {
        profile,
        subject,
        sans: &[],
        key,
        serial: &serial,
        not_before,
        not_after,
        signing,
        issuer: None,
    };
    let tbs_der = builder::build_tbs(&spec)?;
    let tbs = lint::check(&lint::LintInput {
        tbs_der: &tbs_der,
        profile,
        subject_key: key,
        signing,
        issuer: None,
    })?;
    IssuanceToken::from_checked(tbs_der, &tbs, profile.name())
}

fn check_request(profile: &Profile, request: &CertificateRequest) -> Result<(), IssueError> {
    let key_type = request.key.key_type();
    if !profile.allows_key_type(key_type) {
        return Err(IssueError::KeyTypeNotAllowed {
            profile: profile.name().to_owned(),
            key_type,
        });
    }
    if let Some(wanted) = request.validity
        && wanted > profile.max_validity()
    {
        return Err(IssueError::ValidityTooLong {
            requested: format_duration(wanted),
            max: format_duration(profile.max_validity()),
        });
    }
    profile.san_rules().check(&request.sans)?;
    profile
        .subject_rules()
        .check(&request.subject, &request.sans)?;
    // RFC 5280 §4.1.2.6: a CA's subject MUST NOT be empty; an end entity
    // with an empty subject needs a SAN.
    if request.subject.is_empty() && (profile.is_ca() || request.sans.is_empty()) {
        return Err(IssueError::Name(NameViolation::AttributeMissing {
            attribute: "subject (empty subject needs a subjectAltName)".into(),
        }));
    }
    Ok(())
}

/// notBefore is backdated by the profile's allowance; notAfter is the
/// requested (or maximum) validity after *now*, capped at the issuer's
/// notAfter so that nothing outlives its issuer.
fn validity(
    profile: &Profile,
    request: &CertificateRequest,
    now: Timestamp,
    issuer_not_after: Option<Timestamp>,
) -> (Timestamp, Timestamp) {
    let not_before = now.minus(profile.backdate());
    let lifetime = request.validity.unwrap_or(profile.max_validity());
    let mut not_after = now.plus(lifetime);
    if let Some(cap) = issuer_not_after
        && not_after > cap
    {
        not_after = cap;
    }
    (not_before, not_after)
}

#[cfg(test)]
pub(crate) mod tests;
