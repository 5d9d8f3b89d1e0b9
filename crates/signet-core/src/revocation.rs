//! Revocation reasons (RFC 5280 §5.3.1) and certificate status.

use std::fmt;
use std::str::FromStr;

/// `CRLReason ::= ENUMERATED` of RFC 5280 §5.3.1. Value 7 is unused.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum RevocationReason {
    /// unspecified (0). RFC 5280 §5.3.1 says a CRL entry SHOULD omit the
    /// reasonCode extension rather than use this value.
    Unspecified,
    /// keyCompromise (1).
    KeyCompromise,
    /// cACompromise (2).
    CaCompromise,
    /// affiliationChanged (3).
    AffiliationChanged,
    /// superseded (4).
    Superseded,
    /// cessationOfOperation (5).
    CessationOfOperation,
    /// certificateHold (6): a suspension, reversible by `resume`.
    CertificateHold,
    /// removeFromCRL (8): only in delta CRLs, for a certificate taken off hold.
    RemoveFromCrl,
    /// privilegeWithdrawn (9).
    PrivilegeWithdrawn,
    /// aACompromise (10).
    AaCompromise,
}

impl RevocationReason {
    /// Every reason, in code order.
    pub const ALL: [RevocationReason; 10] = [
        RevocationReason::Unspecified,
        RevocationReason::KeyCompromise,
        RevocationReason::CaCompromise,
        RevocationReason::AffiliationChanged,
        RevocationReason::Superseded,
        RevocationReason::CessationOfOperation,
        RevocationReason::CertificateHold,
        RevocationReason::RemoveFromCrl,
        RevocationReason::PrivilegeWithdrawn,
        RevocationReason::AaCompromise,
    ];

    /// The ENUMERATED value.
    pub fn code(self) -> u8 {
        match self {
            RevocationReason::Unspecified => 0,
            RevocationReason::KeyCompromise => 1,
            RevocationReason::CaCompromise => 2,
            RevocationReason::AffiliationChanged => 3,
            RevocationReason::Superseded => 4,
            RevocationReason::CessationOfOperation => 5,
            RevocationReason::CertificateHold => 6,
            RevocationReason::RemoveFromCrl => 8,
            RevocationReason::PrivilegeWithdrawn => 9,
            RevocationReason::AaCompromise => 10,
        }
    }

    /// The reason for an ENUMERATED value.
    pub fn from_code(code: u8) -> Option<Self> {
        Self::ALL.into_iter().find(|r| r.code() == code)
    }

    /// The RFC 5280 name, e.g. `keyCompromise`.
    pub fn as_str(self) -> &'static str {
        match self {
            RevocationReason::Unspecified => "unspecified",
            RevocationReason::KeyCompromise => "keyCompromise",
            RevocationReason::CaCompromise => "cACompromise",
            RevocationReason::AffiliationChanged => "affiliationChanged",
            RevocationReason::Superseded => "superseded",
            RevocationReason::CessationOfOperation => "cessationOfOperation",
            RevocationReason::CertificateHold => "certificateHold",
            RevocationReason::RemoveFromCrl => "removeFromCRL",
            RevocationReason::PrivilegeWithdrawn => "privilegeWithdrawn",
            RevocationReason::AaCompromise => "aACompromise",
        }
    }

    /// Whether an operator may revoke with this reason. certificateHold is
    /// set by `suspend`, removeFromCRL only appears in delta CRLs.
    pub fn is_revocation(self) -> bool {
        !matches!(
            self,
            RevocationReason::CertificateHold | RevocationReason::RemoveFromCrl
        )
    }
}

impl fmt::Display for RevocationReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A revocation reason name that RFC 5280 does not define.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error(
    "unknown revocation reason `{0}` (expected one of unspecified, keyCompromise, cACompromise, \
     affiliationChanged, superseded, cessationOfOperation, privilegeWithdrawn, aACompromise)"
)]
pub struct UnknownReason(pub String);

impl FromStr for RevocationReason {
    type Err = UnknownReason;

    /// Accepts the RFC names in any case, with or without `-`/`_`
    /// (`keyCompromise`, `key-compromise`, `KEY_COMPROMISE`), or the number.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let norm = |t: &str| -> String {
            t.chars()
                .filter(|c| *c != '-' && *c != '_')
                .flat_map(char::to_lowercase)
                .collect()
        };
        let wanted = norm(s.trim());
        if let Ok(code) = wanted.parse::<u8>() {
            return Self::from_code(code).ok_or_else(|| UnknownReason(s.to_owned()));
        }
        Self::ALL
            .into_iter()
            .find(|r| norm(r.as_str()) == wanted)
            .ok_or_else(|| UnknownReason(s.to_owned()))
    }
}

/// Where a certificate stands.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum CertificateStatus {
    /// Serial reserved and TBS recorded; signing not yet confirmed.
    Pending,
    /// Issued and not revoked (it may still have expired).
    Good,
    /// On hold (certificateHold); `resume` makes it good again.
    Suspended,
    /// Revoked for good.
    Revoked,
}

impl CertificateStatus {
    /// The name stored in the database and shown in APIs.
    pub fn as_str(self) -> &'static str {
        match self {
            CertificateStatus::Pending => "pending",
            CertificateStatus::Good => "good",
            CertificateStatus::Suspended => "suspended",
            CertificateStatus::Revoked => "revoked",
        }
    }
}

impl fmt::Display for CertificateStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A status name that is not one of pending, good, suspended, revoked.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("unknown certificate status `{0}` (expected pending, good, suspended or revoked)")]
pub struct UnknownStatus(pub String);

impl FromStr for CertificateStatus {
    type Err = UnknownStatus;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.to_ascii_lowercase().as_str() {
            "pending" => Ok(CertificateStatus::Pending),
            "good" | "valid" | "issued" => Ok(CertificateStatus::Good),
            "suspended" | "hold" | "onhold" => Ok(CertificateStatus::Suspended),
            "revoked" => Ok(CertificateStatus::Revoked),
            _ => Err(UnknownStatus(s.to_owned())),
        }
    }
}

#[cfg(test)]
mod tests;
