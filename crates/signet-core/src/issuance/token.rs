//! The single-use issuance token and the issued certificate.

use der::asn1::{AnyRef, BitStringRef};
use der::{Decode, Encode};
use spki::AlgorithmIdentifierRef;
use x509_cert::certificate::TbsCertificate;
use x509_cert::ext::pkix::SubjectAltName;

use super::IssueError;
use crate::algorithm::SignatureAlgorithm;
use crate::clock::Timestamp;
use crate::names;
use crate::public_key::SubjectKey;
use crate::serial::Serial;
use crate::signer::Signer;

/// A linted TBSCertificate, ready to be signed exactly once.
///
/// Not `Clone`: [`IssuanceToken::sign`] consumes it, so the bytes that were
/// checked are the bytes that get signed, once.
#[derive(Debug)]
pub struct IssuanceToken {
    tbs_der: Vec<u8>,
    serial: Serial,
    signing: SignatureAlgorithm,
    not_before: Timestamp,
    not_after: Timestamp,
    subject: String,
    sans: Vec<String>,
    profile: String,
}

impl IssuanceToken {
    /// Wraps TBS bytes and their decoded form (from the linter), reading
    /// back the fields callers record.
    pub(crate) fn from_checked(
        tbs_der: Vec<u8>,
        tbs: &TbsCertificate,
        profile: &str,
    ) -> Result<Self, IssueError> {
        let signing = SignatureAlgorithm::from_identifier(
            tbs.signature().oid,
            tbs.signature().parameters.as_ref().map(der::Any::to_ref),
        )
        .map_err(|e| IssueError::BadIssuer {
            reason: e.to_string(),
        })?;
        let serial = Serial::from_certificate_serial(tbs.serial_number()).map_err(|e| {
            IssueError::BadIssuer {
                reason: e.to_string(),
            }
        })?;
        let sans = match tbs.get_extension::<SubjectAltName>()? {
            Some((_, san)) => san.0.iter().map(names::general_name_text).collect(),
            None => Vec::new(),
        };
        Ok(IssuanceToken {
            serial,
            signing,
            not_before: Timestamp::from_x509_time(&tbs.validity().not_before),
            not_after: Timestamp::from_x509_time(&tbs.validity().not_after),
            subject: tbs.subject().to_string(),
            sans,
            profile: profile.to_owned(),
            tbs_der,
        })
    }

    /// Rebuilds a token from TBS bytes recorded before a crash, so that a
    /// restarted CA finishes exactly the certificate it had prepared.
    pub fn resume(tbs_der: Vec<u8>, profile: &str) -> Result<Self, IssueError> {
        let tbs = TbsCertificate::from_der(&tbs_der)?;
        Self::from_checked(tbs_der, &tbs, profile)
    }

    /// The DER TBSCertificate: what is recorded before signing.
    pub fn tbs_der(&self) -> &[u8] {
        &self.tbs_der
    }

    /// The serial number.
    pub fn serial(&self) -> &Serial {
        &self.serial
    }

    /// notBefore.
    pub fn not_before(&self) -> Timestamp {
        self.not_before
    }

    /// notAfter.
    pub fn not_after(&self) -> Timestamp {
        self.not_after
    }

    /// The subject as an RFC 4514 string.
    pub fn subject(&self) -> &str {
        &self.subject
    }

    /// The SANs as `TYPE:value` strings.
    pub fn sans(&self) -> &[String] {
        &self.sans
    }

    /// The profile the certificate was prepared under.
    pub fn profile(&self) -> &str {
        &self.profile
    }

    /// Signs the TBS bytes with `signer`, assembles the certificate and
    /// verifies its signature with `issuer_key` before handing it out.
    pub fn sign(
        self,
        signer: &dyn Signer,
        issuer_key: &SubjectKey,
    ) -> Result<IssuedCertificate, IssueError> {
        if signer.algorithm() != self.signing {
            return Err(IssueError::BadIssuer {
                reason: format!(
                    "the signer uses {} but the certificate names {}",
                    signer.algorithm(),
                    self.signing
                ),
            });
        }
        let signature = signer.sign(&self.tbs_der)?;
        issuer_key
            .verify(self.signing, &self.tbs_der, &signature)
            .map_err(|_| IssueError::SignatureCheck)?;
        let der = assemble_signed(&self.tbs_der, self.signing, &signature)?;
        Ok(IssuedCertificate {
            der,
            serial: self.serial,
            not_before: self.not_before,
            not_after: self.not_after,
            subject: self.subject,
            sans: self.sans,
            profile: self.profile,
        })
    }
}

/// `Certificate ::= SEQUENCE { tbsCertificate, signatureAlgorithm,
/// signatureValue }` (RFC 5280 §4.1), with the TBS copied in as bytes. The
/// same shape serves CRLs (§5.1) and OCSP's BasicOCSPResponse.
#[derive(der::Sequence)]
struct Signed<'a> {
    tbs: AnyRef<'a>,
    algorithm: AlgorithmIdentifierRef<'a>,
    signature: BitStringRef<'a>,
}

/// Wraps signed TBS bytes into the outer structure, without re-encoding
/// the TBS.
pub fn assemble_signed(
    tbs_der: &[u8],
    signing: SignatureAlgorithm,
    signature: &[u8],
) -> Result<Vec<u8>, IssueError> {
    let algorithm = signing.identifier();
    let signed = Signed {
        tbs: AnyRef::from_der(tbs_der)?,
        algorithm: AlgorithmIdentifierRef {
            oid: algorithm.oid,
            parameters: algorithm.parameters.as_ref().map(der::Any::to_ref),
        },
        signature: BitStringRef::from_bytes(signature)?,
    };
    Ok(signed.to_der()?)
}

/// An issued certificate and the facts stored beside it.
#[derive(Clone, Debug)]
pub struct IssuedCertificate {
    /// DER.
    pub der: Vec<u8>,
    /// Serial number.
    pub serial: Serial,
    /// notBefore.
    pub not_before: Timestamp,
    /// notAfter.
    pub not_after: Timestamp,
    /// Subject, RFC 4514.
    pub subject: String,
    /// SANs as `TYPE:value`.
    pub sans: Vec<String>,
    /// Profile name.
    pub profile: String,
}

impl IssuedCertificate {
    /// PEM, as OpenSSL writes it.
    pub fn to_pem(&self) -> String {
        crate::pem::certificate_pem(&self.der)
    }
}
