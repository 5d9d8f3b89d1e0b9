//! `SingleResponse` (RFC 6960 §4.2.1).

use der::Sequence;
use der::asn1::GeneralizedTime;
use x509_cert::ext::Extensions;

use super::cert_id::CertId;
use super::cert_status::CertStatus;

/// ```text
/// SingleResponse ::= SEQUENCE {
///    certID                       CertID,
///    certStatus                   CertStatus,
///    thisUpdate                   GeneralizedTime,
///    nextUpdate         [0]       EXPLICIT GeneralizedTime OPTIONAL,
///    singleExtensions   [1]       EXPLICIT Extensions OPTIONAL }
/// ```
#[derive(Clone, Debug, Eq, PartialEq, Sequence)]
pub struct SingleResponse {
    /// The certificate, as the request named it.
    pub cert_id: CertId,
    /// Its status.
    pub cert_status: CertStatus,
    /// When the status was known to be correct.
    pub this_update: GeneralizedTime,
    /// When newer information will be available (RFC 5019 §2.2.4 requires it).
    #[asn1(context_specific = "0", optional = "true")]
    pub next_update: Option<GeneralizedTime>,
    /// Per-certificate extensions.
    #[asn1(context_specific = "1", optional = "true")]
    pub single_extensions: Option<Extensions>,
}
