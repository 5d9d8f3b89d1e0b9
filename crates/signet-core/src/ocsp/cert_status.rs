//! `CertStatus` and `RevokedInfo` (RFC 6960 §4.2.1).

use der::asn1::{GeneralizedTime, Null};
use der::{Choice, Enumerated, Sequence};

/// ```text
/// CertStatus ::= CHOICE {
///     good        [0]     IMPLICIT NULL,
///     revoked     [1]     IMPLICIT RevokedInfo,
///     unknown     [2]     IMPLICIT UnknownInfo }
///
/// UnknownInfo ::= NULL
/// ```
#[derive(Clone, Debug, Eq, PartialEq, Choice)]
pub enum CertStatus {
    /// Not revoked.
    #[asn1(context_specific = "0", tag_mode = "IMPLICIT")]
    Good(Null),
    /// Revoked or on hold.
    #[asn1(context_specific = "1", tag_mode = "IMPLICIT", constructed = "true")]
    Revoked(RevokedInfo),
    /// The responder does not know the certificate.
    #[asn1(context_specific = "2", tag_mode = "IMPLICIT")]
    Unknown(Null),
}

/// ```text
/// RevokedInfo ::= SEQUENCE {
///     revocationTime              GeneralizedTime,
///     revocationReason    [0]     EXPLICIT CRLReason OPTIONAL }
/// ```
#[derive(Clone, Debug, Eq, PartialEq, Sequence)]
pub struct RevokedInfo {
    /// When.
    pub revocation_time: GeneralizedTime,
    /// Why (RFC 5280 CRLReason).
    #[asn1(context_specific = "0", optional = "true")]
    pub revocation_reason: Option<CrlReason>,
}

/// `CRLReason ::= ENUMERATED` (RFC 5280 §5.3.1), as it appears on the wire.
#[derive(Clone, Copy, Debug, Eq, PartialEq, Enumerated)]
#[asn1(type = "ENUMERATED")]
#[repr(u8)]
#[allow(missing_docs)]
pub enum CrlReason {
    Unspecified = 0,
    KeyCompromise = 1,
    CaCompromise = 2,
    AffiliationChanged = 3,
    Superseded = 4,
    CessationOfOperation = 5,
    CertificateHold = 6,
    RemoveFromCrl = 8,
    PrivilegeWithdrawn = 9,
    AaCompromise = 10,
}

impl From<crate::RevocationReason> for CrlReason {
    fn from(r: crate::RevocationReason) -> Self {
        use crate::RevocationReason as R;
        match r {
            R::Unspecified => CrlReason::Unspecified,
            R::KeyCompromise => CrlReason::KeyCompromise,
            R::CaCompromise => CrlReason::CaCompromise,
            R::AffiliationChanged => CrlReason::AffiliationChanged,
            R::Superseded => CrlReason::Superseded,
            R::CessationOfOperation => CrlReason::CessationOfOperation,
            R::CertificateHold => CrlReason::CertificateHold,
            R::RemoveFromCrl => CrlReason::RemoveFromCrl,
            R::PrivilegeWithdrawn => CrlReason::PrivilegeWithdrawn,
            R::AaCompromise => CrlReason::AaCompromise,
        }
    }
}
