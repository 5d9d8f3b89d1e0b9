//! Lint before sign.
//!
//! Every TBSCertificate is decoded from the exact bytes that will be signed
//! and checked against RFC 5280 and its profile by the rules below, each
//! citing the section it enforces. A failure refuses issuance with the
//! rule's name; nothing is signed. This is our own linter in the spirit of
//! zlint, which Boulder runs before signing.

mod extensions;
mod fields;

use der::{Decode, Encode};
use x509_cert::certificate::TbsCertificate;
use x509_cert::ext::Extension;

use crate::algorithm::SignatureAlgorithm;
use crate::issuance::Issuer;
use crate::profile::Profile;
use crate::public_key::SubjectKey;

/// A lint rule a TBS failed.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("lint {rule} failed ({citation}): {detail}")]
pub struct LintFailure {
    /// The rule's name, e.g. `e_ext_key_usage_not_critical`.
    pub rule: &'static str,
    /// The section the rule enforces.
    pub citation: &'static str,
    /// What was found.
    pub detail: String,
}

/// What a TBS is checked against.
pub(crate) struct LintInput<'a> {
    pub tbs_der: &'a [u8],
    pub profile: &'a Profile,
    pub subject_key: &'a SubjectKey,
    pub signing: SignatureAlgorithm,
    /// `None` when self-signed.
    pub issuer: Option<&'a Issuer>,
}

/// The decoded TBS and its context, handed to every rule.
pub(crate) struct Context<'a> {
    pub tbs: &'a TbsCertificate,
    pub input: &'a LintInput<'a>,
}

impl Context<'_> {
    /// All extensions with this OID.
    pub fn extensions(&self, oid: const_oid::ObjectIdentifier) -> Vec<&Extension> {
        self.tbs
            .extensions()
            .map(|exts| exts.iter().filter(|e| e.extn_id == oid).collect())
            .unwrap_or_default()
    }

    /// The single extension with this OID, if present.
    pub fn extension(&self, oid: const_oid::ObjectIdentifier) -> Option<&Extension> {
        self.extensions(oid).into_iter().next()
    }
}

/// A rule: name, citation, check.
pub(crate) struct Rule {
    pub name: &'static str,
    pub citation: &'static str,
    pub check: fn(&Context<'_>) -> Result<(), String>,
}

/// Every rule, in the order they run.
fn rules() -> impl Iterator<Item = &'static Rule> {
    fields::RULES.iter().chain(extensions::RULES.iter())
}

/// The names of all rules (for documentation and `signet lint --list`).
pub fn rule_names() -> Vec<(&'static str, &'static str)> {
    rules().map(|r| (r.name, r.citation)).collect()
}

/// Decodes the TBS from its bytes and runs every rule. Returns the decoded
/// TBS so that callers need not decode it again.
pub(crate) fn check(input: &LintInput<'_>) -> Result<TbsCertificate, LintFailure> {
    let tbs = TbsCertificate::from_der(input.tbs_der).map_err(|e| LintFailure {
        rule: "e_tbs_decodes",
        citation: "RFC 5280 §4.1",
        detail: e.to_string(),
    })?;
    // X.690 §10 (DER): one encoding per value. If decoding and encoding
    // again changes the bytes, what we checked is not what we would sign.
    if tbs.to_der().ok().as_deref() != Some(input.tbs_der) {
        return Err(LintFailure {
            rule: "e_tbs_is_der",
            citation: "RFC 5280 §4.1 (DER, X.690 §10)",
            detail: "the TBSCertificate does not re-encode to the same bytes".into(),
        });
    }
    let ctx = Context { tbs: &tbs, input };
    for rule in rules() {
        (rule.check)(&ctx).map_err(|detail| LintFailure {
            rule: rule.name,
            citation: rule.citation,
            detail,
        })?;
    }
    Ok(tbs)
}

#[cfg(test)]
mod tests;
