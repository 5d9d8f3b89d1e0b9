//! The TOML form of a certificate profile, as operators write it.
//!
//! Every key is documented here and in docs/profiles.md; defaults are the
//! values a cautious CA would pick. [`super::Profile::try_from`] turns this
//! into a validated profile.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::algorithm::KeyType;

/// A certificate profile as written in `profiles/<name>.toml`.
#[derive(Clone, Debug, Deserialize, Serialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct ProfileConfig {
    /// Profile name, used in requests (`--profile server`).
    pub name: String,
    /// One line for officers choosing a profile.
    #[serde(default)]
    pub description: String,
    /// Longest validity a certificate may get, e.g. `397d`; requests may ask
    /// for less. The issuer's own notAfter caps it further.
    pub validity: String,
    /// How far notBefore is set before the time of issuance, so relying
    /// parties with a slow clock accept a new certificate. Default `5m`.
    #[serde(default = "default_backdate")]
    pub backdate: String,
    /// keyUsage bits (RFC 5280 §4.2.1.3): digitalSignature, nonRepudiation,
    /// keyEncipherment, dataEncipherment, keyAgreement, keyCertSign, cRLSign.
    /// Bits that do not fit the key's algorithm (keyEncipherment for ECDSA,
    /// keyAgreement for RSA) are left out for that key.
    pub key_usage: Vec<String>,
    /// keyUsage for SM2 subscriber keys, when it differs from the ECDSA
    /// rule (no keyEncipherment or dataEncipherment). SM2 keys can encrypt
    /// (GM/T 0003.4), so encryption profiles of dual-certificate PKI set
    /// this; signing profiles leave it out.
    #[serde(default)]
    pub key_usage_sm2: Option<Vec<String>>,
    /// extKeyUsage purposes by name (serverAuth, clientAuth, codeSigning,
    /// emailProtection, timeStamping, OCSPSigning) or dotted OID.
    #[serde(default)]
    pub extended_key_usage: Vec<String>,
    /// Whether certificates are CA certificates (basicConstraints cA).
    #[serde(default)]
    pub ca: bool,
    /// pathLenConstraint for CA certificates; absent means unlimited.
    #[serde(default)]
    pub path_length: Option<u8>,
    /// Subscriber key types accepted. Default: all.
    #[serde(default = "all_key_types")]
    pub key_types: Vec<KeyType>,
    /// Rules for the subject distinguished name.
    #[serde(default)]
    pub subject: SubjectRulesConfig,
    /// Rules for subjectAltName entries.
    #[serde(default)]
    pub san: SanRulesConfig,
    /// certificatePolicies OIDs (RFC 5280 §4.2.1.4), none by default.
    #[serde(default)]
    pub policies: Vec<String>,
    /// Which status URLs the certificates carry.
    #[serde(default)]
    pub distribution: DistributionConfig,
    /// Distinct officers who must approve a request before issuance (RA).
    /// 0 means issuance without approval.
    #[serde(default)]
    pub approvals: u8,
    /// How long before expiry a subscriber may renew. Default `30d`.
    #[serde(default = "default_renewal_window")]
    pub renewal_window: String,
    /// Adds id-pkix-ocsp-nocheck (RFC 6960 §4.2.2.2.1), for delegated
    /// OCSP responder certificates only.
    #[serde(default)]
    pub ocsp_no_check: bool,
    /// Whether this profile issues a second, encryption certificate whose
    /// key the KMC generates and escrows (dual certificates).
    #[serde(default)]
    pub dual: bool,
}

/// Whether a kind of name must, may or must not appear.
#[derive(Clone, Copy, Debug, Default, Deserialize, Serialize, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum Presence {
    /// Refused when present.
    #[default]
    Forbidden,
    /// Accepted when present.
    Allowed,
    /// Refused when absent.
    Required,
}

/// Subject DN rules.
#[derive(Clone, Debug, Deserialize, Serialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct SubjectRulesConfig {
    /// Attributes that must be present, by short name (CN, O, OU, C, ST, L, ...).
    #[serde(default)]
    pub required: Vec<String>,
    /// Attributes that may be present; anything else is refused.
    /// Default: CN, O, OU, C, ST, L.
    #[serde(default = "default_allowed_attributes")]
    pub allowed: Vec<String>,
    /// A regular expression per attribute that every value must match in
    /// full, e.g. `{ CN = "[a-z0-9.-]+" }`.
    #[serde(default)]
    pub patterns: BTreeMap<String, String>,
    /// Whether a commonName must repeat one of the DNS or IP SANs (as the
    /// CA/Browser Forum requires for TLS server certificates).
    #[serde(default)]
    pub cn_in_san: bool,
}

impl Default for SubjectRulesConfig {
    fn default() -> Self {
        SubjectRulesConfig {
            required: Vec::new(),
            allowed: default_allowed_attributes(),
            patterns: BTreeMap::new(),
            cn_in_san: false,
        }
    }
}

/// subjectAltName rules.
#[derive(Clone, Debug, Deserialize, Serialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct SanRulesConfig {
    /// dNSName entries.
    #[serde(default)]
    pub dns: Presence,
    /// iPAddress entries.
    #[serde(default)]
    pub ip: Presence,
    /// rfc822Name (e-mail) entries.
    #[serde(default)]
    pub email: Presence,
    /// uniformResourceIdentifier entries.
    #[serde(default)]
    pub uri: Presence,
    /// A regular expression per kind (`dns`, `email`, `uri`, `ip`) that
    /// every entry must match in full.
    #[serde(default)]
    pub patterns: BTreeMap<String, String>,
    /// Whether `*.` wildcard DNS names are accepted. Default false.
    #[serde(default)]
    pub wildcard: bool,
    /// Fewest SAN entries (of any kind). Default 0.
    #[serde(default)]
    pub min: usize,
    /// Most SAN entries. Default 100.
    #[serde(default = "default_max_sans")]
    pub max: usize,
}

impl Default for SanRulesConfig {
    fn default() -> Self {
        SanRulesConfig {
            dns: Presence::Forbidden,
            ip: Presence::Forbidden,
            email: Presence::Forbidden,
            uri: Presence::Forbidden,
            patterns: BTreeMap::new(),
            wildcard: false,
            min: 0,
            max: default_max_sans(),
        }
    }
}

/// Status and issuer URLs placed in certificates.
#[derive(Clone, Debug, Deserialize, Serialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct DistributionConfig {
    /// AIA id-ad-ocsp with the CA's OCSP URL. Default true.
    #[serde(default = "yes")]
    pub ocsp: bool,
    /// AIA id-ad-caIssuers with the URL of the issuer certificate. Default true.
    #[serde(default = "yes")]
    pub ca_issuers: bool,
    /// cRLDistributionPoints with the CA's CRL URL. Default true.
    #[serde(default = "yes")]
    pub crl: bool,
}

impl Default for DistributionConfig {
    fn default() -> Self {
        DistributionConfig {
            ocsp: true,
            ca_issuers: true,
            crl: true,
        }
    }
}

fn yes() -> bool {
    true
}

fn default_backdate() -> String {
    "5m".to_owned()
}

fn default_renewal_window() -> String {
    "30d".to_owned()
}

fn default_max_sans() -> usize {
    100
}

fn all_key_types() -> Vec<KeyType> {
    KeyType::ALL.to_vec()
}

fn default_allowed_attributes() -> Vec<String> {
    ["CN", "O", "OU", "C", "ST", "L"]
        .into_iter()
        .map(str::to_owned)
        .collect()
}
