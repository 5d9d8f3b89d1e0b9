//! The issuing side of a certificate: an issuer certificate and the URLs
//! placed in what it issues.

use der::referenced::OwnedToRef;
use der::{Decode, Encode};
use x509_cert::Certificate;
use x509_cert::ext::pkix::{BasicConstraints, KeyUsage, SubjectKeyIdentifier};

use super::IssueError;
use crate::clock::Timestamp;
use crate::public_key::SubjectKey;
use crate::serial::Serial;

/// Where relying parties find status and the issuer certificate. URLs may
/// contain `{shard}`, replaced by the certificate's CRL shard (partitioned
/// CRLs, RFC 5280 §5.2.5).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct IssuerUrls {
    /// OCSP responder (AIA id-ad-ocsp).
    pub ocsp: Option<String>,
    /// The issuer certificate (AIA id-ad-caIssuers).
    pub ca_issuers: Option<String>,
    /// The full CRL (cRLDistributionPoints).
    pub crl: Option<String>,
    /// The delta CRL (freshestCRL, RFC 5280 §4.2.1.15).
    pub delta_crl: Option<String>,
    /// Number of CRL partitions; 0 or 1 means one CRL.
    pub crl_shards: u16,
}

impl IssuerUrls {
    /// The CRL shard a serial belongs to: its last two octets modulo the
    /// shard count, so shards fill evenly with random serials.
    pub fn shard_of(&self, serial: &Serial) -> u16 {
        crl_shard(serial, self.crl_shards)
    }

    /// `url` with `{shard}` replaced for `serial`.
    pub fn for_serial(&self, url: &str, serial: &Serial) -> String {
        url.replace("{shard}", &self.shard_of(serial).to_string())
    }

    /// The number of CRL partitions (at least one).
    pub fn shards(&self) -> u16 {
        self.crl_shards.max(1)
    }

    /// The full CRL URL of `shard`.
    pub fn crl_for_shard(&self, shard: u16) -> Option<String> {
        self.crl
            .as_ref()
            .map(|u| u.replace("{shard}", &shard.to_string()))
    }

    /// The delta CRL URL of `shard`.
    pub fn delta_crl_for_shard(&self, shard: u16) -> Option<String> {
        self.delta_crl
            .as_ref()
            .map(|u| u.replace("{shard}", &shard.to_string()))
    }
}

/// The CRL shard of `serial` among `shards` partitions.
pub fn crl_shard(serial: &Serial, shards: u16) -> u16 {
    if shards <= 1 {
        return 0;
    }
    let m = serial.magnitude();
    let tail = m
        .iter()
        .rev()
        .take(2)
        .rev()
        .fold(0u32, |acc, b| (acc << 8) | u32::from(*b));
    u16::try_from(tail % u32::from(shards)).unwrap_or(0)
}

/// A CA certificate able to issue, with what issuance needs from it
/// precomputed.
#[derive(Clone, Debug)]
pub struct Issuer {
    der: Vec<u8>,
    certificate: Certificate,
    subject_der: Vec<u8>,
    key: SubjectKey,
    key_id: Vec<u8>,
    not_before: Timestamp,
    not_after: Timestamp,
    path_length: Option<u8>,
    urls: IssuerUrls,
}

impl Issuer {
    /// Loads a CA certificate. It must be a CA (basicConstraints cA and
    /// keyCertSign, RFC 5280 §4.2.1.9) with a key Signet can use.
    pub fn from_der(der: &[u8], urls: IssuerUrls) -> Result<Self, IssueError> {
        let bad = |reason: &str| IssueError::BadIssuer {
            reason: reason.to_owned(),
        };
        let certificate = Certificate::from_der(der).map_err(|e| bad(&e.to_string()))?;
        let tbs = certificate.tbs_certificate();
        let (_, bc) = tbs
            .get_extension::<BasicConstraints>()
            .map_err(|e| bad(&e.to_string()))?
            .ok_or_else(|| bad("not a CA certificate (no basicConstraints)"))?;
        if !bc.ca {
            return Err(bad("not a CA certificate (cA is false)"));
        }
        if let Some((_, ku)) = tbs
            .get_extension::<KeyUsage>()
            .map_err(|e| bad(&e.to_string()))?
            && !ku.key_cert_sign()
        {
            return Err(bad("keyUsage lacks keyCertSign"));
        }
        let key = SubjectKey::from_spki(tbs.subject_public_key_info().owned_to_ref())
            .map_err(|e| bad(&e.to_string()))?;
        let key_id = match tbs
            .get_extension::<SubjectKeyIdentifier>()
            .map_err(|e| bad(&e.to_string()))?
        {
            Some((_, ski)) => ski.0.as_bytes().to_vec(),
            None => key.key_identifier().to_vec(),
        };
        let subject_der = tbs.subject().to_der().map_err(|e| bad(&e.to_string()))?;
        let validity = tbs.validity();
        Ok(Issuer {
            der: der.to_vec(),
            not_before: Timestamp::from_x509_time(&validity.not_before),
            not_after: Timestamp::from_x509_time(&validity.not_after),
            path_length: bc.path_len_constraint,
            subject_der,
            key,
            key_id,
            urls,
            certificate,
        })
    }

    /// The certificate, DER.
    pub fn der(&self) -> &[u8] {
        &self.der
    }

    /// The parsed certificate.
    pub fn certificate(&self) -> &Certificate {
        &self.certificate
    }

    /// The issuer's subject name, DER: what issued certificates carry as
    /// their issuer, byte for byte (RFC 5280 §6.1 name chaining).
    pub fn subject_der(&self) -> &[u8] {
        &self.subject_der
    }

    /// The issuer's public key.
    pub fn key(&self) -> &SubjectKey {
        &self.key
    }

    /// The issuer's key identifier (its SKI), for AKI in what it issues.
    pub fn key_id(&self) -> &[u8] {
        &self.key_id
    }

    /// Start of the issuer's validity.
    pub fn not_before(&self) -> Timestamp {
        self.not_before
    }

    /// End of the issuer's validity: nothing it issues outlives it.
    pub fn not_after(&self) -> Timestamp {
        self.not_after
    }

    /// The issuer's pathLenConstraint.
    pub fn path_length(&self) -> Option<u8> {
        self.path_length
    }

    /// The URLs placed in issued certificates.
    pub fn urls(&self) -> &IssuerUrls {
        &self.urls
    }
}
