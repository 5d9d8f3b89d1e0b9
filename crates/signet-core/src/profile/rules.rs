//! Subject and subjectAltName rules of a profile, and their checks.
//!
//! Error messages name the attribute or SAN kind that failed, and show
//! values only where they are host names: subject values may be personal
//! data (ID numbers, names) and never go into an error or a log.

use const_oid::ObjectIdentifier;
use der::Tagged;
use regex::Regex;
use x509_cert::ext::pkix::name::GeneralName;
use x509_cert::name::Name;

use super::config::{Presence, SanRulesConfig, SubjectRulesConfig};
use crate::names::{self, COMMON_NAME, COUNTRY_NAME};

/// Why a subject or its alternative names do not fit a profile.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum NameViolation {
    /// An attribute the profile does not allow.
    #[error("subject attribute {attribute} is not allowed by the profile")]
    AttributeNotAllowed {
        /// The attribute's short name.
        attribute: String,
    },
    /// A required attribute is absent.
    #[error("subject attribute {attribute} is required by the profile")]
    AttributeMissing {
        /// The attribute's short name.
        attribute: String,
    },
    /// A value that does not match the profile's pattern.
    #[error("subject attribute {attribute} does not match the profile's pattern")]
    PatternMismatch {
        /// The attribute's short name.
        attribute: String,
    },
    /// A value that is empty, too long or of the wrong string type.
    #[error("subject attribute {attribute}: {reason}")]
    BadValue {
        /// The attribute's short name.
        attribute: String,
        /// What is wrong.
        reason: String,
    },
    /// A relative distinguished name with several attributes.
    #[error("multi-valued RDNs are not accepted")]
    MultiValuedRdn,
    /// commonName does not repeat a DNS or IP SAN.
    #[error("the commonName must also appear as a DNS or IP subjectAltName")]
    CommonNameNotInSan,
    /// A SAN kind the profile forbids.
    #[error("subjectAltName of type {kind} is not allowed by the profile")]
    SanKindForbidden {
        /// DNS, IP, email, URI or other.
        kind: &'static str,
    },
    /// A SAN kind the profile requires is absent.
    #[error("a subjectAltName of type {kind} is required by the profile")]
    SanKindMissing {
        /// DNS, IP, email or URI.
        kind: &'static str,
    },
    /// A SAN that does not match the profile's pattern.
    #[error("subjectAltName {kind} entry does not match the profile's pattern")]
    SanPatternMismatch {
        /// DNS, IP, email or URI.
        kind: &'static str,
    },
    /// A malformed SAN value.
    #[error("invalid subjectAltName {kind}: {reason}")]
    BadSan {
        /// DNS, IP, email or URI.
        kind: &'static str,
        /// What is wrong.
        reason: String,
    },
    /// The same SAN twice.
    #[error("subjectAltName entry {entry} appears twice")]
    DuplicateSan {
        /// The entry, as text (e-mail local parts are masked).
        entry: String,
    },
    /// Fewer SANs than the profile needs.
    #[error("the profile needs at least {min} subjectAltName entries, got {count}")]
    TooFewSans {
        /// SANs given.
        count: usize,
        /// Minimum.
        min: usize,
    },
    /// More SANs than the profile allows.
    #[error("the profile allows at most {max} subjectAltName entries, got {count}")]
    TooManySans {
        /// SANs given.
        count: usize,
        /// Maximum.
        max: usize,
    },
}

/// Validated subject rules.
#[derive(Clone, Debug)]
pub struct SubjectRules {
    required: Vec<ObjectIdentifier>,
    allowed: Vec<ObjectIdentifier>,
    patterns: Vec<(ObjectIdentifier, Regex)>,
    cn_in_san: bool,
}

fn attribute_oid(name: &str) -> Result<ObjectIdentifier, String> {
    names::attribute_oid(name).ok_or_else(|| format!("unknown subject attribute `{name}`"))
}

fn anchored(pattern: &str) -> Result<Regex, String> {
    Regex::new(&format!("^(?:{pattern})$")).map_err(|e| format!("bad pattern `{pattern}`: {e}"))
}

impl TryFrom<&SubjectRulesConfig> for SubjectRules {
    type Error = String;

    fn try_from(c: &SubjectRulesConfig) -> Result<Self, String> {
        let required = c
            .required
            .iter()
            .map(|n| attribute_oid(n))
            .collect::<Result<Vec<_>, _>>()?;
        let allowed = c
            .allowed
            .iter()
            .map(|n| attribute_oid(n))
            .collect::<Result<Vec<_>, _>>()?;
        if let Some(missing) = required.iter().find(|r| !allowed.contains(r)) {
            return Err(format!(
                "subject attribute {} is required but not allowed",
                names::attribute_name(*missing)
            ));
        }
        let patterns = c
            .patterns
            .iter()
            .map(|(n, p)| Ok((attribute_oid(n)?, anchored(p)?)))
            .collect::<Result<Vec<_>, String>>()?;
        Ok(SubjectRules {
            required,
            allowed,
            patterns,
            cn_in_san: c.cn_in_san,
        })
    }
}

/// RFC 5280 Appendix A upper bounds (ub-*) for attribute values, in characters.
fn upper_bound(oid: ObjectIdentifier) -> usize {
    match names::attribute_name(oid).as_str() {
        "CN" | "O" | "OU" | "SERIALNUMBER" | "T" => 64,
        "L" | "ST" => 128,
        "EMAILADDRESS" => 255,
        "C" => 2,
        _ => 256,
    }
}

impl SubjectRules {
    /// Checks `subject` (and, for `cn_in_san`, the SANs it goes with).
    pub fn check(&self, subject: &Name, sans: &[GeneralName]) -> Result<(), NameViolation> {
        for rdn in subject.iter_rdn() {
            if rdn.len() != 1 {
                return Err(NameViolation::MultiValuedRdn);
            }
        }
        let mut common_names = 0usize;
        for atv in subject.iter() {
            let attribute = names::attribute_name(atv.oid);
            if !self.allowed.contains(&atv.oid) {
                return Err(NameViolation::AttributeNotAllowed { attribute });
            }
            let bad = |reason: &str| NameViolation::BadValue {
                attribute: attribute.clone(),
                reason: reason.to_owned(),
            };
            let text = names::attribute_text(atv)
                .ok_or_else(|| bad("must be a PrintableString, UTF8String or IA5String"))?;
            if text.trim().is_empty() {
                return Err(bad("must not be empty"));
            }
            if text.chars().count() > upper_bound(atv.oid) {
                return Err(bad(&format!(
                    "longer than {} characters",
                    upper_bound(atv.oid)
                )));
            }
            // RFC 5280 Appendix A: countryName is a two-letter PrintableString (ISO 3166).
            if atv.oid == COUNTRY_NAME
                && (atv.value.tag() != der::Tag::PrintableString
                    || text.len() != 2
                    || !text.chars().all(|c| c.is_ascii_uppercase()))
            {
                return Err(bad("must be a two-letter ISO 3166 code"));
            }
            if atv.oid == COMMON_NAME {
                common_names += 1;
            }
            for (oid, pattern) in &self.patterns {
                if *oid == atv.oid && !pattern.is_match(&text) {
                    return Err(NameViolation::PatternMismatch { attribute });
                }
            }
        }
        if common_names > 1 {
            return Err(NameViolation::BadValue {
                attribute: "CN".into(),
                reason: "appears more than once".into(),
            });
        }
        for required in &self.required {
            if !subject.iter().any(|atv| atv.oid == *required) {
                return Err(NameViolation::AttributeMissing {
                    attribute: names::attribute_name(*required),
                });
            }
        }
        if self.cn_in_san
            && let Some(cn) = names::common_name(subject)
        {
            let found = sans.iter().any(|san| match san {
                GeneralName::DnsName(d) => d.as_str().eq_ignore_ascii_case(&cn),
                GeneralName::IpAddress(o) => names::ip_from_octets(o.as_bytes())
                    .is_some_and(|ip| cn.parse::<std::net::IpAddr>().ok() == Some(ip)),
                _ => false,
            });
            if !found {
                return Err(NameViolation::CommonNameNotInSan);
            }
        }
        Ok(())
    }
}

/// Validated subjectAltName rules.
#[derive(Clone, Debug)]
pub struct SanRules {
    dns: Presence,
    ip: Presence,
    email: Presence,
    uri: Presence,
    patterns: Vec<(&'static str, Regex)>,
    wildcard: bool,
    min: usize,
    max: usize,
}

impl TryFrom<&SanRulesConfig> for SanRules {
    type Error = String;

    fn try_from(c: &SanRulesConfig) -> Result<Self, String> {
        let mut patterns = Vec::new();
        for (kind, pattern) in &c.patterns {
            let kind = match kind.to_ascii_lowercase().as_str() {
                "dns" => "DNS",
                "ip" => "IP",
                "email" => "email",
                "uri" => "URI",
                other => return Err(format!("unknown SAN kind `{other}` in san.patterns")),
            };
            patterns.push((kind, anchored(pattern)?));
        }
        if c.min > c.max {
            return Err("san.min is larger than san.max".into());
        }
        Ok(SanRules {
            dns: c.dns,
            ip: c.ip,
            email: c.email,
            uri: c.uri,
            patterns,
            wildcard: c.wildcard,
            min: c.min,
            max: c.max,
        })
    }
}

fn kind_of(name: &GeneralName) -> &'static str {
    match name {
        GeneralName::DnsName(_) => "DNS",
        GeneralName::IpAddress(_) => "IP",
        GeneralName::Rfc822Name(_) => "email",
        GeneralName::UniformResourceIdentifier(_) => "URI",
        GeneralName::DirectoryName(_) => "DirName",
        GeneralName::OtherName(_) => "otherName",
        GeneralName::RegisteredId(_) => "registeredID",
        GeneralName::EdiPartyName(_) => "ediPartyName",
    }
}

impl SanRules {
    /// Whether any SAN kind may appear.
    pub fn any_allowed(&self) -> bool {
        [self.dns, self.ip, self.email, self.uri]
            .iter()
            .any(|p| *p != Presence::Forbidden)
    }

    fn presence(&self, kind: &str) -> Presence {
        match kind {
            "DNS" => self.dns,
            "IP" => self.ip,
            "email" => self.email,
            "URI" => self.uri,
            _ => Presence::Forbidden,
        }
    }

    /// Checks the SAN list against the profile and the syntax rules of
    /// RFC 5280 §4.2.1.6.
    pub fn check(&self, sans: &[GeneralName]) -> Result<(), NameViolation> {
        if sans.len() > self.max {
            return Err(NameViolation::TooManySans {
                count: sans.len(),
                max: self.max,
            });
        }
        if sans.len() < self.min {
            return Err(NameViolation::TooFewSans {
                count: sans.len(),
                min: self.min,
            });
        }
        let mut seen: Vec<&GeneralName> = Vec::with_capacity(sans.len());
        for san in sans {
            let kind = kind_of(san);
            if self.presence(kind) == Presence::Forbidden {
                return Err(NameViolation::SanKindForbidden { kind });
            }
            let text = check_syntax(san, self.wildcard)?;
            for (k, pattern) in &self.patterns {
                if *k == kind && !pattern.is_match(&text) {
                    return Err(NameViolation::SanPatternMismatch { kind });
                }
            }
            if seen.contains(&san) {
                return Err(NameViolation::DuplicateSan {
                    entry: masked_entry(san),
                });
            }
            seen.push(san);
        }
        for kind in ["DNS", "IP", "email", "URI"] {
            if self.presence(kind) == Presence::Required && !sans.iter().any(|s| kind_of(s) == kind)
            {
                return Err(NameViolation::SanKindMissing { kind });
            }
        }
        Ok(())
    }
}

fn masked_entry(san: &GeneralName) -> String {
    match san {
        GeneralName::Rfc822Name(_) => "email:<hidden>".to_owned(),
        other => names::general_name_text(other),
    }
}

/// Checks one SAN's syntax and returns its text for pattern matching.
fn check_syntax(san: &GeneralName, wildcard: bool) -> Result<String, NameViolation> {
    match san {
        GeneralName::DnsName(d) => {
            let name = d.as_str();
            check_dns_name(name, wildcard).map_err(|reason| NameViolation::BadSan {
                kind: "DNS",
                reason: format!("`{name}` {reason}"),
            })?;
            Ok(name.to_owned())
        }
        GeneralName::IpAddress(o) => names::ip_from_octets(o.as_bytes())
            .map(|ip| ip.to_string())
            .ok_or_else(|| NameViolation::BadSan {
                kind: "IP",
                reason: "must be 4 or 16 octets".into(),
            }),
        GeneralName::Rfc822Name(e) => {
            let email = e.as_str();
            // RFC 5280 §4.2.1.6: an addr-spec of RFC 5322 (local@domain).
            let ok = match email.rsplit_once('@') {
                Some((local, domain)) => {
                    !local.is_empty()
                        && !local.chars().any(|c| c.is_whitespace() || c == '@')
                        && check_dns_name(domain, false).is_ok()
                }
                None => false,
            };
            if ok {
                Ok(email.to_owned())
            } else {
                Err(NameViolation::BadSan {
                    kind: "email",
                    reason: "must be local-part@domain".into(),
                })
            }
        }
        GeneralName::UniformResourceIdentifier(u) => {
            let uri = u.as_str();
            // RFC 3986 §3.1: scheme = ALPHA *( ALPHA / DIGIT / "+" / "-" / "." ) ":".
            let ok = match uri.split_once(':') {
                Some((scheme, rest)) => {
                    scheme
                        .chars()
                        .next()
                        .is_some_and(|c| c.is_ascii_alphabetic())
                        && scheme
                            .chars()
                            .all(|c| c.is_ascii_alphanumeric() || "+-.".contains(c))
                        && !rest.is_empty()
                        && !uri.chars().any(|c| c.is_whitespace() || c.is_control())
                }
                None => false,
            };
            if ok {
                Ok(uri.to_owned())
            } else {
                Err(NameViolation::BadSan {
                    kind: "URI",
                    reason: format!("`{uri}` is not an absolute URI"),
                })
            }
        }
        other => Err(NameViolation::SanKindForbidden {
            kind: kind_of(other),
        }),
    }
}

/// RFC 5280 §4.2.1.6 / RFC 1034 §3.5 preferred name syntax: LDH labels of
/// 1–63 characters, 253 in all; `*` only as the whole leftmost label.
pub(crate) fn check_dns_name(name: &str, wildcard: bool) -> Result<(), &'static str> {
    if name.is_empty() || name.len() > 253 {
        return Err("must be 1 to 253 characters");
    }
    if name.ends_with('.') {
        return Err("must not end with a dot");
    }
    let mut labels = name.split('.').peekable();
    let mut first = true;
    while let Some(label) = labels.next() {
        if first && label == "*" {
            if !wildcard {
                return Err("is a wildcard, which the profile does not allow");
            }
            if labels.peek().is_none() {
                return Err("is a bare wildcard");
            }
            first = false;
            continue;
        }
        first = false;
        if label.is_empty() || label.len() > 63 {
            return Err("has a label that is empty or longer than 63 characters");
        }
        if !label.chars().all(|c| c.is_ascii_alphanumeric() || c == '-') {
            return Err("has characters other than letters, digits and hyphens");
        }
        if label.starts_with('-') || label.ends_with('-') {
            return Err("has a label that starts or ends with a hyphen");
        }
    }
    Ok(())
}
