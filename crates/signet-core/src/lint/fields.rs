//! Rules on the TBSCertificate's own fields (RFC 5280 §4.1.2).

use der::Encode;
use x509_cert::certificate::Version;
use x509_cert::time::Time;

use super::{Context, Rule};
use crate::clock::Timestamp;

pub(super) static RULES: &[Rule] = &[
    Rule {
        name: "e_serial_number_positive_and_short",
        citation: "RFC 5280 §4.1.2.2",
        check: serial_number,
    },
    Rule {
        name: "e_version_v3",
        citation: "RFC 5280 §4.1.2.1",
        check: version,
    },
    Rule {
        name: "e_signature_algorithm_matches_issuer_key",
        citation: "RFC 5280 §4.1.2.3",
        check: signature_algorithm,
    },
    Rule {
        name: "e_issuer_name_chains",
        citation: "RFC 5280 §4.1.2.4, §6.1",
        check: issuer_name,
    },
    Rule {
        name: "e_validity_encoding_and_order",
        citation: "RFC 5280 §4.1.2.5",
        check: validity_encoding,
    },
    Rule {
        name: "e_validity_within_issuer",
        citation: "RFC 5280 §6.1.3 (a)(2)",
        check: validity_within_issuer,
    },
    Rule {
        name: "e_validity_within_profile",
        citation: "profile validity",
        check: validity_within_profile,
    },
    Rule {
        name: "e_ca_subject_not_empty",
        citation: "RFC 5280 §4.1.2.6",
        check: ca_subject,
    },
    Rule {
        name: "e_no_unique_identifiers",
        citation: "RFC 5280 §4.1.2.8",
        check: unique_ids,
    },
    Rule {
        name: "e_public_key_is_the_requested_key",
        citation: "RFC 5280 §4.1.2.7",
        check: public_key,
    },
];

fn serial_number(ctx: &Context<'_>) -> Result<(), String> {
    let bytes = ctx.tbs.serial_number().as_bytes();
    if bytes.first().is_none_or(|b| b & 0x80 != 0) {
        return Err("serial number is not positive".into());
    }
    if bytes.iter().all(|b| *b == 0) {
        return Err("serial number is zero".into());
    }
    if bytes.len() > crate::serial::MAX_SERIAL_OCTETS {
        return Err(format!(
            "serial number is {} octets, more than 20",
            bytes.len()
        ));
    }
    Ok(())
}

fn version(ctx: &Context<'_>) -> Result<(), String> {
    if ctx.tbs.extensions().is_some() && ctx.tbs.version() != Version::V3 {
        return Err("extensions are present but the version is not v3".into());
    }
    Ok(())
}

fn signature_algorithm(ctx: &Context<'_>) -> Result<(), String> {
    let expected = ctx.input.signing.identifier();
    if *ctx.tbs.signature() != expected {
        return Err(format!(
            "TBS names {} but the issuer signs with {}",
            ctx.tbs.signature().oid,
            ctx.input.signing
        ));
    }
    let issuer_key = match ctx.input.issuer {
        Some(issuer) => issuer.key().key_type(),
        None => ctx.input.subject_key.key_type(),
    };
    if !ctx.input.signing.fits_key(issuer_key) {
        return Err(format!(
            "{} cannot be made by a {issuer_key} key",
            ctx.input.signing
        ));
    }
    Ok(())
}

fn issuer_name(ctx: &Context<'_>) -> Result<(), String> {
    let issuer = ctx.tbs.issuer().to_der().map_err(|e| e.to_string())?;
    if ctx.tbs.issuer().is_empty() {
        return Err("issuer name is empty".into());
    }
    let expected = match ctx.input.issuer {
        Some(i) => i.subject_der().to_vec(),
        None => ctx.tbs.subject().to_der().map_err(|e| e.to_string())?,
    };
    if issuer != expected {
        return Err("issuer name differs from the issuer's subject, byte for byte".into());
    }
    Ok(())
}

fn time_is_rfc5280_encoded(t: &Time) -> bool {
    // UTCTime for 1950–2049, GeneralizedTime from 2050.
    match t {
        Time::UtcTime(_) => true,
        Time::GeneralTime(g) => g.to_date_time().year() >= 2050,
    }
}

fn validity_encoding(ctx: &Context<'_>) -> Result<(), String> {
    let v = ctx.tbs.validity();
    if !time_is_rfc5280_encoded(&v.not_before) || !time_is_rfc5280_encoded(&v.not_after) {
        return Err("dates through 2049 must be UTCTime".into());
    }
    if Timestamp::from_x509_time(&v.not_before) >= Timestamp::from_x509_time(&v.not_after) {
        return Err("notBefore is not before notAfter".into());
    }
    Ok(())
}

fn validity_within_issuer(ctx: &Context<'_>) -> Result<(), String> {
    let Some(issuer) = ctx.input.issuer else {
        return Ok(());
    };
    let not_after = Timestamp::from_x509_time(&ctx.tbs.validity().not_after);
    if not_after > issuer.not_after() {
        return Err(format!(
            "notAfter {not_after} is after the issuer's notAfter {}",
            issuer.not_after()
        ));
    }
    Ok(())
}

fn validity_within_profile(ctx: &Context<'_>) -> Result<(), String> {
    let v = ctx.tbs.validity();
    let lifetime = Timestamp::from_x509_time(&v.not_before)
        .seconds_until(Timestamp::from_x509_time(&v.not_after));
    let profile = ctx.input.profile;
    let limit = profile
        .max_validity()
        .as_secs()
        .saturating_add(profile.backdate().as_secs());
    if u64::try_from(lifetime).unwrap_or(u64::MAX) > limit {
        return Err(format!(
            "lifetime of {lifetime}s exceeds the profile's {limit}s"
        ));
    }
    Ok(())
}

fn ca_subject(ctx: &Context<'_>) -> Result<(), String> {
    if ctx.input.profile.is_ca() && ctx.tbs.subject().is_empty() {
        return Err("a CA certificate must have a subject".into());
    }
    Ok(())
}

fn unique_ids(ctx: &Context<'_>) -> Result<(), String> {
    if ctx.tbs.issuer_unique_id().is_some() || ctx.tbs.subject_unique_id().is_some() {
        return Err("CAs conforming to RFC 5280 must not generate unique identifiers".into());
    }
    Ok(())
}

fn public_key(ctx: &Context<'_>) -> Result<(), String> {
    if ctx.tbs.subject_public_key_info() != ctx.input.subject_key.spki() {
        return Err("subjectPublicKeyInfo is not the requested key".into());
    }
    let key_type = ctx.input.subject_key.key_type();
    if !ctx.input.profile.allows_key_type(key_type) {
        return Err(format!("{key_type} keys are not allowed by the profile"));
    }
    Ok(())
}
