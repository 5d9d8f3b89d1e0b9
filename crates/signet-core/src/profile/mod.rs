//! Certificate profiles: what a class of certificates may contain.
//!
//! A [`ProfileConfig`] is what an operator writes in TOML; a [`Profile`] is
//! the validated form with private fields, so an inconsistent profile (a CA
//! profile without keyCertSign, an unparseable pattern, an empty key-type
//! list) cannot exist at issuance time.

mod builtin;
mod config;
mod duration;
mod rules;

use std::collections::BTreeSet;
use std::time::Duration;

use const_oid::ObjectIdentifier;
use der::flagset::FlagSet;
use x509_cert::ext::pkix::KeyUsages;

pub use builtin::{BUILTIN_PROFILE_NAMES, builtin_profile_toml, builtin_profiles};
pub use config::{DistributionConfig, Presence, ProfileConfig, SanRulesConfig, SubjectRulesConfig};
pub use duration::{format_duration, parse_duration};
pub use rules::{NameViolation, SanRules, SubjectRules};

/// Checks DNS name syntax (RFC 1034 §3.5 preferred syntax, wildcard allowed
/// as the leftmost label), for the linter.
pub(crate) fn rules_check_dns(name: &str) -> Result<(), String> {
    rules::check_dns_name(name, true).map_err(|r| format!("dNSName `{name}` {r}"))
}

use crate::algorithm::KeyType;

/// `id-kp-*` purposes by name (RFC 5280 §4.2.1.12, RFC 6960 §4.2.2.2).
const EKU_NAMES: &[(&str, ObjectIdentifier)] = &[
    (
        "serverAuth",
        ObjectIdentifier::new_unwrap("1.3.6.1.5.5.7.3.1"),
    ),
    (
        "clientAuth",
        ObjectIdentifier::new_unwrap("1.3.6.1.5.5.7.3.2"),
    ),
    (
        "codeSigning",
        ObjectIdentifier::new_unwrap("1.3.6.1.5.5.7.3.3"),
    ),
    (
        "emailProtection",
        ObjectIdentifier::new_unwrap("1.3.6.1.5.5.7.3.4"),
    ),
    (
        "timeStamping",
        ObjectIdentifier::new_unwrap("1.3.6.1.5.5.7.3.8"),
    ),
    (
        "OCSPSigning",
        ObjectIdentifier::new_unwrap("1.3.6.1.5.5.7.3.9"),
    ),
];

/// `anyExtendedKeyUsage` (RFC 5280 §4.2.1.12), which Signet never issues.
pub const ANY_EXTENDED_KEY_USAGE: ObjectIdentifier = ObjectIdentifier::new_unwrap("2.5.29.37.0");

/// `id-kp-OCSPSigning`.
pub const EKU_OCSP_SIGNING: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.3.6.1.5.5.7.3.9");

const KEY_USAGE_NAMES: &[(&str, KeyUsages)] = &[
    ("digitalSignature", KeyUsages::DigitalSignature),
    ("nonRepudiation", KeyUsages::NonRepudiation),
    ("contentCommitment", KeyUsages::NonRepudiation),
    ("keyEncipherment", KeyUsages::KeyEncipherment),
    ("dataEncipherment", KeyUsages::DataEncipherment),
    ("keyAgreement", KeyUsages::KeyAgreement),
    ("keyCertSign", KeyUsages::KeyCertSign),
    ("cRLSign", KeyUsages::CRLSign),
    ("encipherOnly", KeyUsages::EncipherOnly),
    ("decipherOnly", KeyUsages::DecipherOnly),
];

/// A profile configuration that cannot be used.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("profile `{profile}`: {reason}")]
pub struct ProfileError {
    /// The profile's name.
    pub profile: String,
    /// What is wrong with it.
    pub reason: String,
}

/// A validated certificate profile.
#[derive(Clone, Debug)]
pub struct Profile {
    name: String,
    description: String,
    max_validity: Duration,
    backdate: Duration,
    key_usage: FlagSet<KeyUsages>,
    key_usage_sm2: Option<FlagSet<KeyUsages>>,
    extended_key_usage: Vec<ObjectIdentifier>,
    ca: bool,
    path_length: Option<u8>,
    key_types: BTreeSet<KeyType>,
    subject: SubjectRules,
    san: SanRules,
    policies: Vec<ObjectIdentifier>,
    distribution: DistributionConfig,
    approvals: u8,
    renewal_window: Duration,
    ocsp_no_check: bool,
    dual: bool,
    config: ProfileConfig,
}

impl TryFrom<ProfileConfig> for Profile {
    type Error = ProfileError;

    fn try_from(config: ProfileConfig) -> Result<Self, Self::Error> {
        let err = |reason: String| ProfileError {
            profile: config.name.clone(),
            reason,
        };
        if config.name.is_empty()
            || !config
                .name
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
        {
            return Err(err("the name must be letters, digits, `-` or `_`".into()));
        }
        let max_validity = parse_duration(&config.validity).map_err(&err)?;
        if max_validity.is_zero() {
            return Err(err("validity must be longer than zero".into()));
        }
        let backdate = parse_duration(&config.backdate).map_err(&err)?;
        if backdate > Duration::from_secs(86_400) {
            return Err(err("backdate may be at most 1d".into()));
        }
        let renewal_window = parse_duration(&config.renewal_window).map_err(&err)?;

        let parse_usages =
            |names: &[String], key: &str| -> Result<FlagSet<KeyUsages>, ProfileError> {
                let mut bits = FlagSet::<KeyUsages>::default();
                for name in names {
                    bits |= KEY_USAGE_NAMES
                        .iter()
                        .find(|(n, _)| n.eq_ignore_ascii_case(name))
                        .map(|(_, b)| *b)
                        .ok_or_else(|| err(format!("unknown key usage `{name}` in {key}")))?;
                }
                // RFC 5280 §4.2.1.3: when keyUsage appears, at least one bit MUST be set.
                if bits.is_empty() {
                    return Err(err(format!("{key} must name at least one usage")));
                }
                Ok(bits)
            };
        let key_usage = parse_usages(&config.key_usage, "key_usage")?;
        let key_usage_sm2 = config
            .key_usage_sm2
            .as_deref()
            .map(|names| parse_usages(names, "key_usage_sm2"))
            .transpose()?;
        if key_usage_sm2.is_some_and(|sm2| sm2.contains(KeyUsages::KeyCertSign) != config.ca) {
            return Err(err(
                "key_usage_sm2 must agree with ca about keyCertSign".into()
            ));
        }
        let signs_certs = key_usage.contains(KeyUsages::KeyCertSign);
        // RFC 5280 §4.2.1.9: keyCertSign only with cA, and a CA key must be
        // able to sign certificates.
        if config.ca != signs_certs {
            return Err(err(
                "keyCertSign must be present exactly when ca = true (RFC 5280 §4.2.1.9)".into(),
            ));
        }
        if config.path_length.is_some() && !config.ca {
            return Err(err("path_length is only for CA profiles".into()));
        }

        let mut extended_key_usage = Vec::new();
        for name in &config.extended_key_usage {
            let oid = EKU_NAMES
                .iter()
                .find(|(n, _)| n.eq_ignore_ascii_case(name))
                .map(|(_, o)| *o)
                .or_else(|| ObjectIdentifier::new(name).ok())
                .ok_or_else(|| err(format!("unknown extended key usage `{name}`")))?;
            if oid == ANY_EXTENDED_KEY_USAGE {
                return Err(err("anyExtendedKeyUsage is not issued".into()));
            }
            if extended_key_usage.contains(&oid) {
                return Err(err(format!("extended key usage `{name}` is listed twice")));
            }
            extended_key_usage.push(oid);
        }
        if config.ocsp_no_check && !extended_key_usage.contains(&EKU_OCSP_SIGNING) {
            return Err(err(
                "ocsp_no_check is only for OCSP signing profiles (RFC 6960 §4.2.2.2.1)".into(),
            ));
        }

        let key_types: BTreeSet<KeyType> = config.key_types.iter().copied().collect();
        if key_types.is_empty() {
            return Err(err("key_types must name at least one key type".into()));
        }

        let mut policies = Vec::new();
        for text in &config.policies {
            let oid = ObjectIdentifier::new(text)
                .map_err(|_| err(format!("policy `{text}` is not a dotted OID")))?;
            // RFC 5280 §4.2.1.4: a policy OID MUST NOT appear more than once.
            if policies.contains(&oid) {
                return Err(err(format!("policy `{text}` is listed twice")));
            }
            policies.push(oid);
        }

        let subject = SubjectRules::try_from(&config.subject).map_err(&err)?;
        let san = SanRules::try_from(&config.san).map_err(&err)?;
        if config.ca && san.any_allowed() {
            return Err(err("CA profiles do not carry subjectAltName".into()));
        }

        Ok(Profile {
            name: config.name.clone(),
            description: config.description.clone(),
            max_validity,
            backdate,
            key_usage,
            key_usage_sm2,
            extended_key_usage,
            ca: config.ca,
            path_length: config.path_length,
            key_types,
            subject,
            san,
            policies,
            distribution: config.distribution.clone(),
            approvals: config.approvals,
            renewal_window,
            ocsp_no_check: config.ocsp_no_check,
            dual: config.dual,
            config,
        })
    }
}

impl Profile {
    /// Parses and validates a profile from TOML text.
    pub fn from_toml(text: &str) -> Result<Self, ProfileError> {
        let config: ProfileConfig = toml::from_str(text).map_err(|e| ProfileError {
            profile: "?".into(),
            reason: e.message().to_owned(),
        })?;
        Profile::try_from(config)
    }

    /// The profile's name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The one-line description.
    pub fn description(&self) -> &str {
        &self.description
    }

    /// The longest validity this profile grants.
    pub fn max_validity(&self) -> Duration {
        self.max_validity
    }

    /// How far notBefore is set back from the moment of issuance.
    pub fn backdate(&self) -> Duration {
        self.backdate
    }

    /// keyUsage for a subscriber key of `key_type`: the profile's bits less
    /// those the algorithm forbids (RFC 5480 §3: no keyEncipherment or
    /// dataEncipherment for EC keys; RFC 3279 §2.3.1: no keyAgreement for
    /// RSA). SM2 keys follow the EC rule unless the profile gives
    /// `key_usage_sm2` (encryption certificates: GM/T 0015).
    pub fn key_usage_for(&self, key_type: KeyType) -> FlagSet<KeyUsages> {
        match key_type {
            KeyType::Sm2 if self.key_usage_sm2.is_some() => {
                self.key_usage_sm2.unwrap_or(self.key_usage)
            }
            KeyType::P256 | KeyType::P384 | KeyType::Sm2 => {
                self.key_usage & !(KeyUsages::KeyEncipherment | KeyUsages::DataEncipherment)
            }
            KeyType::Rsa2048 | KeyType::Rsa3072 | KeyType::Rsa4096 => {
                self.key_usage
                    & !(KeyUsages::KeyAgreement | KeyUsages::EncipherOnly | KeyUsages::DecipherOnly)
            }
        }
    }

    /// The extKeyUsage purposes, in profile order.
    pub fn extended_key_usage(&self) -> &[ObjectIdentifier] {
        &self.extended_key_usage
    }

    /// Whether this profile issues CA certificates.
    pub fn is_ca(&self) -> bool {
        self.ca
    }

    /// pathLenConstraint of CA certificates.
    pub fn path_length(&self) -> Option<u8> {
        self.path_length
    }

    /// Whether a subscriber key of this type is accepted.
    pub fn allows_key_type(&self, key_type: KeyType) -> bool {
        self.key_types.contains(&key_type)
    }

    /// The accepted subscriber key types.
    pub fn key_types(&self) -> impl Iterator<Item = KeyType> + '_ {
        self.key_types.iter().copied()
    }

    /// Subject DN rules.
    pub fn subject_rules(&self) -> &SubjectRules {
        &self.subject
    }

    /// subjectAltName rules.
    pub fn san_rules(&self) -> &SanRules {
        &self.san
    }

    /// certificatePolicies OIDs.
    pub fn policies(&self) -> &[ObjectIdentifier] {
        &self.policies
    }

    /// Which status URLs certificates carry.
    pub fn distribution(&self) -> &DistributionConfig {
        &self.distribution
    }

    /// Distinct approvers required.
    pub fn approvals(&self) -> u8 {
        self.approvals
    }

    /// How long before expiry renewal opens.
    pub fn renewal_window(&self) -> Duration {
        self.renewal_window
    }

    /// Whether certificates carry id-pkix-ocsp-nocheck.
    pub fn ocsp_no_check(&self) -> bool {
        self.ocsp_no_check
    }

    /// Whether the profile issues dual (signing + encryption) certificates.
    pub fn is_dual(&self) -> bool {
        self.dual
    }

    /// The configuration this profile was validated from.
    pub fn config(&self) -> &ProfileConfig {
        &self.config
    }
}

/// Names of key usage bits, for display.
pub fn key_usage_names(bits: FlagSet<KeyUsages>) -> Vec<&'static str> {
    KEY_USAGE_NAMES
        .iter()
        .filter(|(n, b)| *n != "contentCommitment" && bits.contains(*b))
        .map(|(n, _)| *n)
        .collect()
}

#[cfg(test)]
mod tests;
