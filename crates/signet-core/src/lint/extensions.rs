//! Rules on extensions (RFC 5280 §4.2, RFC 6960 §4.2.2.2.1).

use const_oid::AssociatedOid;
use der::Decode;
use der::flagset::FlagSet;
use x509_cert::ext::pkix::name::{DistributionPointName, GeneralName};
use x509_cert::ext::pkix::{
    AuthorityInfoAccessSyntax, AuthorityKeyIdentifier, BasicConstraints, CertificatePolicies,
    CrlDistributionPoints, ExtendedKeyUsage, FreshestCrl, KeyUsage, KeyUsages, SubjectAltName,
    SubjectKeyIdentifier,
};

use super::{Context, Rule};
use crate::algorithm::KeyType;
use crate::issuance::ID_PKIX_OCSP_NOCHECK;
use crate::profile::{ANY_EXTENDED_KEY_USAGE, EKU_OCSP_SIGNING};

pub(super) static RULES: &[Rule] = &[
    Rule {
        name: "e_ext_no_duplicates",
        citation: "RFC 5280 §4.2",
        check: no_duplicates,
    },
    Rule {
        name: "e_ext_only_known",
        citation: "RFC 5280 §4.2",
        check: only_known,
    },
    Rule {
        name: "e_ext_basic_constraints",
        citation: "RFC 5280 §4.2.1.9",
        check: basic_constraints,
    },
    Rule {
        name: "e_ext_key_usage",
        citation: "RFC 5280 §4.2.1.3",
        check: key_usage,
    },
    Rule {
        name: "e_ext_key_usage_fits_key_algorithm",
        citation: "RFC 5480 §3, RFC 3279 §2.3.1",
        check: key_usage_fits_key,
    },
    Rule {
        name: "e_ext_extended_key_usage",
        citation: "RFC 5280 §4.2.1.12",
        check: extended_key_usage,
    },
    Rule {
        name: "e_ext_subject_key_identifier",
        citation: "RFC 5280 §4.2.1.2",
        check: subject_key_identifier,
    },
    Rule {
        name: "e_ext_authority_key_identifier",
        citation: "RFC 5280 §4.2.1.1",
        check: authority_key_identifier,
    },
    Rule {
        name: "e_ext_subject_alt_name",
        citation: "RFC 5280 §4.2.1.6",
        check: subject_alt_name,
    },
    Rule {
        name: "e_ext_certificate_policies",
        citation: "RFC 5280 §4.2.1.4",
        check: certificate_policies,
    },
    Rule {
        name: "e_ext_authority_info_access",
        citation: "RFC 5280 §4.2.2.1",
        check: authority_info_access,
    },
    Rule {
        name: "e_ext_crl_distribution_points",
        citation: "RFC 5280 §4.2.1.13, §4.2.1.15",
        check: crl_distribution_points,
    },
    Rule {
        name: "e_ext_ocsp_nocheck",
        citation: "RFC 6960 §4.2.2.2.1",
        check: ocsp_nocheck,
    },
];

fn no_duplicates(ctx: &Context<'_>) -> Result<(), String> {
    let exts = ctx
        .tbs
        .extensions()
        .map(|e| e.as_slice())
        .unwrap_or_default();
    for (i, e) in exts.iter().enumerate() {
        if exts.iter().skip(i + 1).any(|o| o.extn_id == e.extn_id) {
            return Err(format!("extension {} appears more than once", e.extn_id));
        }
    }
    Ok(())
}

fn only_known(ctx: &Context<'_>) -> Result<(), String> {
    let known = [
        BasicConstraints::OID,
        KeyUsage::OID,
        ExtendedKeyUsage::OID,
        SubjectKeyIdentifier::OID,
        AuthorityKeyIdentifier::OID,
        SubjectAltName::OID,
        CertificatePolicies::OID,
        AuthorityInfoAccessSyntax::OID,
        CrlDistributionPoints::OID,
        FreshestCrl::OID,
        ID_PKIX_OCSP_NOCHECK,
    ];
    for e in ctx
        .tbs
        .extensions()
        .map(|e| e.as_slice())
        .unwrap_or_default()
    {
        if !known.contains(&e.extn_id) {
            return Err(format!("extension {} is not one Signet issues", e.extn_id));
        }
    }
    Ok(())
}

fn decode<'a, T: Decode<'a>>(ext: &'a x509_cert::ext::Extension) -> Result<T, String> {
    T::from_der(ext.extn_value.as_bytes())
        .map_err(|e| format!("{} does not decode: {e}", ext.extn_id))
}

fn basic_constraints(ctx: &Context<'_>) -> Result<(), String> {
    let profile = ctx.input.profile;
    let Some(ext) = ctx.extension(BasicConstraints::OID) else {
        return Err("basicConstraints is missing".into());
    };
    let bc: BasicConstraints = decode(ext)?;
    if bc.ca != profile.is_ca() {
        return Err(format!(
            "cA is {} but the profile says {}",
            bc.ca,
            profile.is_ca()
        ));
    }
    if bc.ca && !ext.critical {
        return Err("basicConstraints must be critical in a CA certificate".into());
    }
    if !bc.ca && bc.path_len_constraint.is_some() {
        return Err("pathLenConstraint without cA".into());
    }
    Ok(())
}

fn key_usage(ctx: &Context<'_>) -> Result<(), String> {
    let Some(ext) = ctx.extension(KeyUsage::OID) else {
        return Err("keyUsage is missing".into());
    };
    if !ext.critical {
        return Err("keyUsage should be critical".into());
    }
    let ku: KeyUsage = decode(ext)?;
    if ku.0.is_empty() {
        return Err("keyUsage has no bit set".into());
    }
    let expected = ctx
        .input
        .profile
        .key_usage_for(ctx.input.subject_key.key_type());
    if ku.0 != expected {
        return Err("keyUsage differs from the profile".into());
    }
    // §4.2.1.9: keyCertSign only when cA is asserted.
    if ku.key_cert_sign() != ctx.input.profile.is_ca() {
        return Err("keyCertSign must be set exactly in CA certificates".into());
    }
    Ok(())
}

fn key_usage_fits_key(ctx: &Context<'_>) -> Result<(), String> {
    let Some(ext) = ctx.extension(KeyUsage::OID) else {
        return Ok(());
    };
    let ku: KeyUsage = decode(ext)?;
    let forbidden: FlagSet<KeyUsages> = match ctx.input.subject_key.key_type() {
        KeyType::P256 | KeyType::P384 => KeyUsages::KeyEncipherment | KeyUsages::DataEncipherment,
        KeyType::Rsa2048 | KeyType::Rsa3072 | KeyType::Rsa4096 => {
            KeyUsages::KeyAgreement | KeyUsages::EncipherOnly | KeyUsages::DecipherOnly
        }
        // SM2 keys may encrypt (GM/T 0003.4): the profile decides.
        _ => FlagSet::default(),
    };
    if !(ku.0 & forbidden).is_empty() {
        return Err(format!(
            "keyUsage has bits a {} key cannot use",
            ctx.input.subject_key.key_type()
        ));
    }
    Ok(())
}

fn extended_key_usage(ctx: &Context<'_>) -> Result<(), String> {
    let expected = ctx.input.profile.extended_key_usage();
    match ctx.extension(ExtendedKeyUsage::OID) {
        None if expected.is_empty() => Ok(()),
        None => Err("extKeyUsage is missing".into()),
        Some(ext) => {
            let eku: ExtendedKeyUsage = decode(ext)?;
            if eku.0.contains(&ANY_EXTENDED_KEY_USAGE) {
                return Err("anyExtendedKeyUsage is not issued".into());
            }
            if eku.0 != expected {
                return Err("extKeyUsage differs from the profile".into());
            }
            Ok(())
        }
    }
}

fn subject_key_identifier(ctx: &Context<'_>) -> Result<(), String> {
    let Some(ext) = ctx.extension(SubjectKeyIdentifier::OID) else {
        // §4.2.1.2: MUST appear in CA certificates, SHOULD in others.
        return Err("subjectKeyIdentifier is missing".into());
    };
    if ext.critical {
        return Err("subjectKeyIdentifier must be non-critical".into());
    }
    let ski: SubjectKeyIdentifier = decode(ext)?;
    if ski.0.as_bytes() != ctx.input.subject_key.key_identifier() {
        return Err("subjectKeyIdentifier is not the SHA-1 of the subject key".into());
    }
    Ok(())
}

fn authority_key_identifier(ctx: &Context<'_>) -> Result<(), String> {
    let Some(ext) = ctx.extension(AuthorityKeyIdentifier::OID) else {
        if ctx.input.issuer.is_none() {
            return Ok(()); // MAY be omitted when self-signed.
        }
        return Err("authorityKeyIdentifier is missing".into());
    };
    if ext.critical {
        return Err("authorityKeyIdentifier must be non-critical".into());
    }
    let aki: AuthorityKeyIdentifier = decode(ext)?;
    let expected = match ctx.input.issuer {
        Some(issuer) => issuer.key_id().to_vec(),
        None => ctx.input.subject_key.key_identifier().to_vec(),
    };
    if aki.key_identifier.as_ref().map(|k| k.as_bytes()) != Some(expected.as_slice()) {
        return Err("authorityKeyIdentifier is not the issuer's key identifier".into());
    }
    Ok(())
}

fn subject_alt_name(ctx: &Context<'_>) -> Result<(), String> {
    let subject_empty = ctx.tbs.subject().is_empty();
    let Some(ext) = ctx.extension(SubjectAltName::OID) else {
        if subject_empty {
            return Err("an empty subject needs a subjectAltName".into());
        }
        return Ok(());
    };
    if ext.critical != subject_empty {
        return Err("subjectAltName must be critical exactly when the subject is empty".into());
    }
    let san: SubjectAltName = decode(ext)?;
    if san.0.is_empty() {
        return Err("subjectAltName has no entries".into());
    }
    for name in &san.0 {
        match name {
            GeneralName::DnsName(d) => {
                crate::profile::rules_check_dns(d.as_str())?;
            }
            GeneralName::IpAddress(o) if crate::names::ip_from_octets(o.as_bytes()).is_none() => {
                return Err("iPAddress must be 4 or 16 octets".into());
            }
            GeneralName::Rfc822Name(e) if !e.as_str().contains('@') => {
                return Err("rfc822Name without @".into());
            }
            _ => {}
        }
    }
    Ok(())
}

fn certificate_policies(ctx: &Context<'_>) -> Result<(), String> {
    let expected = ctx.input.profile.policies();
    match ctx.extension(CertificatePolicies::OID) {
        None if expected.is_empty() => Ok(()),
        None => Err("certificatePolicies is missing".into()),
        Some(ext) => {
            let cp: CertificatePolicies = decode(ext)?;
            let oids: Vec<_> = cp.0.iter().map(|p| p.policy_identifier).collect();
            if oids != expected {
                return Err("certificatePolicies differ from the profile".into());
            }
            Ok(())
        }
    }
}

fn check_uri(uri: &str) -> Result<(), String> {
    if uri.starts_with("http://") || uri.starts_with("https://") || uri.starts_with("ldap://") {
        Ok(())
    } else {
        Err(format!("`{uri}` is not an http, https or ldap URI"))
    }
}

fn authority_info_access(ctx: &Context<'_>) -> Result<(), String> {
    let Some(ext) = ctx.extension(AuthorityInfoAccessSyntax::OID) else {
        return Ok(());
    };
    if ext.critical {
        return Err("authorityInfoAccess must be non-critical".into());
    }
    let aia: AuthorityInfoAccessSyntax = decode(ext)?;
    for ad in &aia.0 {
        match &ad.access_location {
            GeneralName::UniformResourceIdentifier(u) => check_uri(u.as_str())?,
            _ => return Err("accessLocation must be a URI".into()),
        }
    }
    Ok(())
}

fn crl_distribution_points(ctx: &Context<'_>) -> Result<(), String> {
    for oid in [CrlDistributionPoints::OID, FreshestCrl::OID] {
        let Some(ext) = ctx.extension(oid) else {
            continue;
        };
        if ext.critical {
            return Err(format!("{oid} must be non-critical"));
        }
        let cdp: CrlDistributionPoints = decode(ext)?;
        if cdp.0.is_empty() {
            return Err("no distribution point".into());
        }
        for dp in &cdp.0 {
            match &dp.distribution_point {
                Some(DistributionPointName::FullName(names)) => {
                    for n in names {
                        match n {
                            GeneralName::UniformResourceIdentifier(u) => check_uri(u.as_str())?,
                            _ => return Err("distribution point must be a URI".into()),
                        }
                    }
                }
                _ => return Err("distribution point must be a full name".into()),
            }
        }
    }
    Ok(())
}

fn ocsp_nocheck(ctx: &Context<'_>) -> Result<(), String> {
    let present = ctx.extension(ID_PKIX_OCSP_NOCHECK);
    if present.is_some() != ctx.input.profile.ocsp_no_check() {
        return Err("id-pkix-ocsp-nocheck presence differs from the profile".into());
    }
    if let Some(ext) = present {
        if ext.extn_value.as_bytes() != [0x05, 0x00] {
            return Err("id-pkix-ocsp-nocheck value must be NULL".into());
        }
        let has_ocsp_eku = ctx
            .extension(ExtendedKeyUsage::OID)
            .and_then(|e| ExtendedKeyUsage::from_der(e.extn_value.as_bytes()).ok())
            .is_some_and(|eku| eku.0.contains(&EKU_OCSP_SIGNING));
        if !has_ocsp_eku {
            return Err("id-pkix-ocsp-nocheck without id-kp-OCSPSigning".into());
        }
    }
    Ok(())
}
