//! CRLs (RFC 5280 §5), built to scale: entries are encoded one by one into
//! a single buffer as they stream from the database, so a CRL of a million
//! entries is never held as a million structures, only as its own DER.
//!
//! ```text
//! TBSCertList  ::=  SEQUENCE  {
//!      version                 Version OPTIONAL, -- if present, MUST be v2
//!      signature               AlgorithmIdentifier,
//!      issuer                  Name,
//!      thisUpdate              Time,
//!      nextUpdate              Time OPTIONAL,
//!      revokedCertificates     SEQUENCE OF SEQUENCE  {
//!           userCertificate         CertificateSerialNumber,
//!           revocationDate          Time,
//!           crlEntryExtensions      Extensions OPTIONAL
//!                                }  OPTIONAL,
//!      crlExtensions           [0]  EXPLICIT Extensions OPTIONAL }
//! ```

mod entries;

pub use entries::CrlEntries;

use der::asn1::{Ia5String, OctetString};
use der::{Encode, Header, Length, Tag, TagNumber};
use x509_cert::ext::Extension;
use x509_cert::ext::pkix::crl::dp::{DistributionPoint, IssuingDistributionPoint};
use x509_cert::ext::pkix::name::{DistributionPointName, GeneralName};
use x509_cert::ext::pkix::{AuthorityKeyIdentifier, BaseCrlNumber, CrlNumber, FreshestCrl};

use crate::algorithm::SignatureAlgorithm;
use crate::clock::Timestamp;
use crate::issuance::Issuer;

/// `id-ce-issuingDistributionPoint` (RFC 5280 §5.2.5).
pub const ID_CE_ISSUING_DISTRIBUTION_POINT: const_oid::ObjectIdentifier =
    const_oid::ObjectIdentifier::new_unwrap("2.5.29.28");

/// Which certificates a CRL covers (its Issuing Distribution Point).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CrlScope {
    /// End-entity certificates only (onlyContainsUserCerts).
    UserCerts,
    /// CA certificates only (onlyContainsCACerts).
    CaCerts,
    /// Both: a root's CRL lists its subordinate CAs and its own OCSP
    /// signer.
    All,
}

/// What a CRL says about itself.
#[derive(Clone, Debug)]
pub struct CrlSpec {
    /// The signing algorithm of the issuer's key.
    pub signing: SignatureAlgorithm,
    /// thisUpdate.
    pub this_update: Timestamp,
    /// nextUpdate (RFC 5280 §5.1.2.5: conforming CAs MUST include it).
    pub next_update: Timestamp,
    /// cRLNumber (RFC 5280 §5.2.3), monotonic per issuer and shard.
    pub number: u64,
    /// For a delta CRL: the number of the full CRL it completes
    /// (deltaCRLIndicator, RFC 5280 §5.2.4).
    pub delta_base: Option<u64>,
    /// The URL this CRL is published at (its Issuing Distribution Point;
    /// what a partitioned CRL's certificates name in their CDP).
    pub url: Option<String>,
    /// For a full CRL: where its delta CRLs are (freshestCRL, RFC 5280 §5.2.6).
    pub delta_url: Option<String>,
    /// Which certificates it covers.
    pub scope: CrlScope,
}

fn ext<T: Encode>(
    oid: const_oid::ObjectIdentifier,
    critical: bool,
    value: &T,
) -> der::Result<Extension> {
    Ok(Extension {
        extn_id: oid,
        critical,
        extn_value: OctetString::new(value.to_der()?)?,
    })
}

fn uri_point(url: &str) -> der::Result<DistributionPointName> {
    Ok(DistributionPointName::FullName(vec![
        GeneralName::UniformResourceIdentifier(Ia5String::new(url)?),
    ]))
}

fn crl_extensions(issuer: &Issuer, spec: &CrlSpec) -> der::Result<Vec<Extension>> {
    use const_oid::AssociatedOid;
    let mut exts = Vec::with_capacity(5);
    // RFC 5280 §5.2.1: conforming CAs MUST include it, non-critical.
    let aki = AuthorityKeyIdentifier {
        key_identifier: Some(OctetString::new(issuer.key_id().to_vec())?),
        authority_cert_issuer: None,
        authority_cert_serial_number: None,
    };
    exts.push(ext(AuthorityKeyIdentifier::OID, false, &aki)?);
    // RFC 5280 §5.2.3: MUST include, non-critical.
    let number = CrlNumber(der::asn1::Uint::new(&spec.number.to_be_bytes())?);
    exts.push(ext(CrlNumber::OID, false, &number)?);
    // RFC 5280 §5.2.4: critical.
    if let Some(base) = spec.delta_base {
        let base = BaseCrlNumber(der::asn1::Uint::new(&base.to_be_bytes())?);
        exts.push(ext(BaseCrlNumber::OID, true, &base)?);
    }
    // RFC 5280 §5.2.5: critical. x509-cert 0.3.0 gives this type the
    // subjectInfoAccess OID, so the OID is spelled out here.
    let idp = IssuingDistributionPoint {
        distribution_point: spec.url.as_deref().map(uri_point).transpose()?,
        only_contains_user_certs: spec.scope == CrlScope::UserCerts,
        only_contains_ca_certs: spec.scope == CrlScope::CaCerts,
        only_some_reasons: None,
        indirect_crl: false,
        only_contains_attribute_certs: false,
    };
    exts.push(ext(ID_CE_ISSUING_DISTRIBUTION_POINT, true, &idp)?);
    // RFC 5280 §5.2.6: non-critical, in full CRLs.
    if spec.delta_base.is_none()
        && let Some(delta) = &spec.delta_url
    {
        let fresh = FreshestCrl(vec![DistributionPoint {
            distribution_point: Some(uri_point(delta)?),
            reasons: None,
            crl_issuer: None,
        }]);
        exts.push(ext(FreshestCrl::OID, false, &fresh)?);
    }
    Ok(exts)
}

fn time_der(t: Timestamp) -> der::Result<Vec<u8>> {
    t.to_x509_time()
        .ok_or_else(|| der::Error::from(der::ErrorKind::DateTime))?
        .to_der()
}

/// Encodes the TBSCertList around `entries`, consuming them. The entries'
/// bytes are copied once into the result and then freed.
pub fn crl_tbs(issuer: &Issuer, spec: &CrlSpec, entries: CrlEntries) -> der::Result<Vec<u8>> {
    let version = [0x02, 0x01, 0x01]; // INTEGER 1 = v2
    let algorithm = spec.signing.identifier().to_der()?;
    let this_update = time_der(spec.this_update)?;
    let next_update = time_der(spec.next_update)?;
    let extensions = crl_extensions(issuer, spec)?.to_der()?;
    let crl_extensions_header = Header::new(
        Tag::ContextSpecific {
            constructed: true,
            number: TagNumber(0),
        },
        Length::try_from(extensions.len())?,
    )
    .to_der()?;
    let entries = entries.into_bytes();
    // RFC 5280 §5.1.2.6: when there are no revoked certificates the field
    // is absent, not an empty SEQUENCE.
    let entries_header = if entries.is_empty() {
        Vec::new()
    } else {
        Header::new(Tag::Sequence, Length::try_from(entries.len())?).to_der()?
    };
    let body_len = [
        version.len(),
        algorithm.len(),
        issuer.subject_der().len(),
        this_update.len(),
        next_update.len(),
        entries_header.len(),
        entries.len(),
        crl_extensions_header.len(),
        extensions.len(),
    ]
    .iter()
    .try_fold(Length::ZERO, |acc, n| acc + Length::try_from(*n)?)?;
    let outer = Header::new(Tag::Sequence, body_len).to_der()?;
    let total = usize::try_from(body_len)?.saturating_add(outer.len());
    let mut tbs = Vec::with_capacity(total);
    for part in [
        outer.as_slice(),
        &version,
        &algorithm,
        issuer.subject_der(),
        &this_update,
        &next_update,
        &entries_header,
        &entries,
        &crl_extensions_header,
        &extensions,
    ] {
        tbs.extend_from_slice(part);
    }
    Ok(tbs)
}

#[cfg(test)]
mod tests;
