//! The extensions of an issued certificate, with the criticality RFC 5280
//! asks for each.

use const_oid::{AssociatedOid, ObjectIdentifier};
use der::Encode;
use der::asn1::{Ia5String, Null, OctetString};
use x509_cert::ext::Extension;
use x509_cert::ext::pkix::certpolicy::PolicyInformation;
use x509_cert::ext::pkix::crl::dp::DistributionPoint;
use x509_cert::ext::pkix::name::{DistributionPointName, GeneralName};
use x509_cert::ext::pkix::{
    AccessDescription, AuthorityInfoAccessSyntax, AuthorityKeyIdentifier, BasicConstraints,
    CertificatePolicies, CrlDistributionPoints, ExtendedKeyUsage, FreshestCrl, KeyUsage,
    SubjectAltName, SubjectKeyIdentifier,
};

use crate::profile::Profile;
use crate::public_key::SubjectKey;
use crate::serial::Serial;

use super::issuer::IssuerUrls;

/// `id-ad-ocsp` (RFC 5280 §4.2.2.1).
pub const ID_AD_OCSP: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.3.6.1.5.5.7.48.1");
/// `id-ad-caIssuers` (RFC 5280 §4.2.2.1).
pub const ID_AD_CA_ISSUERS: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.3.6.1.5.5.7.48.2");
/// `id-pkix-ocsp-nocheck` (RFC 6960 §4.2.2.2.1).
pub const ID_PKIX_OCSP_NOCHECK: ObjectIdentifier =
    ObjectIdentifier::new_unwrap("1.3.6.1.5.5.7.48.1.5");

/// What the extensions are built from.
pub(crate) struct ExtensionInputs<'a> {
    pub profile: &'a Profile,
    pub subject_key: &'a SubjectKey,
    pub subject_is_empty: bool,
    pub sans: &'a [GeneralName],
    /// The issuer's key identifier and URLs; `None` for a self-signed
    /// certificate.
    pub issuer: Option<(&'a [u8], &'a IssuerUrls)>,
    pub serial: &'a Serial,
}

fn ext<T: Encode>(oid: ObjectIdentifier, critical: bool, value: &T) -> der::Result<Extension> {
    Ok(Extension {
        extn_id: oid,
        critical,
        extn_value: OctetString::new(value.to_der()?)?,
    })
}

fn uri(url: &str) -> der::Result<GeneralName> {
    Ok(GeneralName::UniformResourceIdentifier(Ia5String::new(url)?))
}

fn distribution_points(url: &str) -> der::Result<Vec<DistributionPoint>> {
    Ok(vec![DistributionPoint {
        distribution_point: Some(DistributionPointName::FullName(vec![uri(url)?])),
        reasons: None,
        crl_issuer: None,
    }])
}

/// Builds the extension list in a fixed order.
pub(crate) fn build(inputs: &ExtensionInputs<'_>) -> der::Result<Vec<Extension>> {
    let profile = inputs.profile;
    let mut exts = Vec::with_capacity(10);

    // RFC 5280 §4.2.1.9: MUST be critical in CA certificates; we mark it
    // critical in end-entity certificates too (cA FALSE), as most CAs do.
    let bc = BasicConstraints {
        ca: profile.is_ca(),
        path_len_constraint: if profile.is_ca() {
            profile.path_length()
        } else {
            None
        },
    };
    exts.push(ext(BasicConstraints::OID, true, &bc)?);

    // RFC 5280 §4.2.1.3: SHOULD be critical.
    let ku = KeyUsage(profile.key_usage_for(inputs.subject_key.key_type()));
    exts.push(ext(KeyUsage::OID, true, &ku)?);

    // RFC 5280 §4.2.1.12: MAY be either; non-critical keeps older relying
    // parties working.
    if !profile.extended_key_usage().is_empty() {
        let eku = ExtendedKeyUsage(profile.extended_key_usage().to_vec());
        exts.push(ext(ExtendedKeyUsage::OID, false, &eku)?);
    }

    // RFC 5280 §4.2.1.2: MUST be non-critical; method (1) key identifier.
    let ski = SubjectKeyIdentifier(OctetString::new(
        inputs.subject_key.key_identifier().to_vec(),
    )?);
    exts.push(ext(SubjectKeyIdentifier::OID, false, &ski)?);

    // RFC 5280 §4.2.1.1: MUST be non-critical; keyIdentifier of the issuer.
    // For a self-signed certificate it repeats the SKI.
    let aki_id = match inputs.issuer {
        Some((key_id, _)) => key_id.to_vec(),
        None => inputs.subject_key.key_identifier().to_vec(),
    };
    let aki = AuthorityKeyIdentifier {
        key_identifier: Some(OctetString::new(aki_id)?),
        authority_cert_issuer: None,
        authority_cert_serial_number: None,
    };
    exts.push(ext(AuthorityKeyIdentifier::OID, false, &aki)?);

    // RFC 5280 §4.2.1.6: critical when the subject is empty.
    if !inputs.sans.is_empty() {
        let san = SubjectAltName(inputs.sans.to_vec());
        exts.push(ext(SubjectAltName::OID, inputs.subject_is_empty, &san)?);
    }

    // RFC 5280 §4.2.1.4: non-critical here, policy OIDs without qualifiers.
    if !profile.policies().is_empty() {
        let policies = CertificatePolicies(
            profile
                .policies()
                .iter()
                .map(|oid| PolicyInformation {
                    policy_identifier: *oid,
                    policy_qualifiers: None,
                })
                .collect(),
        );
        exts.push(ext(CertificatePolicies::OID, false, &policies)?);
    }

    if let Some((_, urls)) = inputs.issuer {
        let dist = profile.distribution();
        // RFC 5280 §4.2.2.1: MUST be non-critical.
        let mut access = Vec::new();
        if dist.ocsp
            && let Some(url) = &urls.ocsp
        {
            access.push(AccessDescription {
                access_method: ID_AD_OCSP,
                access_location: uri(&urls.for_serial(url, inputs.serial))?,
            });
        }
        if dist.ca_issuers
            && let Some(url) = &urls.ca_issuers
        {
            access.push(AccessDescription {
                access_method: ID_AD_CA_ISSUERS,
                access_location: uri(url)?,
            });
        }
        if !access.is_empty() {
            let aia = AuthorityInfoAccessSyntax(access);
            exts.push(ext(AuthorityInfoAccessSyntax::OID, false, &aia)?);
        }
        // RFC 5280 §4.2.1.13: SHOULD be non-critical.
        if dist.crl
            && let Some(url) = &urls.crl
        {
            let cdp =
                CrlDistributionPoints(distribution_points(&urls.for_serial(url, inputs.serial))?);
            exts.push(ext(CrlDistributionPoints::OID, false, &cdp)?);
            // RFC 5280 §4.2.1.15: freshestCRL MUST be non-critical.
            if let Some(delta) = &urls.delta_crl {
                let fresh =
                    FreshestCrl(distribution_points(&urls.for_serial(delta, inputs.serial))?);
                exts.push(ext(FreshestCrl::OID, false, &fresh)?);
            }
        }
    }

    // RFC 6960 §4.2.2.2.1: the value of the extension SHALL be NULL.
    if profile.ocsp_no_check() {
        exts.push(ext(ID_PKIX_OCSP_NOCHECK, false, &Null)?);
    }
    Ok(exts)
}
