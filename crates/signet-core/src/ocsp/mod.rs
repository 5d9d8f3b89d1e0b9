//! OCSP (RFC 6960) structures, one module per ASN.1 type, written with der
//! 0.8's derive (x509-ocsp 0.2 belongs to the previous RustCrypto
//! generation), plus the responder's request and response logic.
//!
//! The ASN.1 module of RFC 6960 Appendix B.1 has `DEFINITIONS EXPLICIT
//! TAGS`: context tags are explicit unless marked IMPLICIT.

mod basic;
mod cert_id;
mod cert_status;
mod request;
mod responder;
mod response;
mod single_response;

pub use basic::{BasicOcspResponse, ResponderId, ResponseData};
pub use cert_id::CertId;
pub use cert_status::{CertStatus, CrlReason, RevokedInfo};
pub use request::{OcspRequest, Request, RequestSignature, TbsRequest};
pub use responder::{
    IssuerHashes, OcspError, ParsedRequest, RequestedCert, ResponseBuilder, SingleAnswer,
    parse_request,
};
pub use response::{OcspResponse, OcspResponseStatus, ResponseBytes};
pub use single_response::SingleResponse;

use const_oid::ObjectIdentifier;

/// `id-pkix-ocsp-basic` (RFC 6960 §4.2.1).
pub const ID_PKIX_OCSP_BASIC: ObjectIdentifier =
    ObjectIdentifier::new_unwrap("1.3.6.1.5.5.7.48.1.1");
/// `id-pkix-ocsp-nonce` (RFC 8954, RFC 6960 §4.4.1).
pub const ID_PKIX_OCSP_NONCE: ObjectIdentifier =
    ObjectIdentifier::new_unwrap("1.3.6.1.5.5.7.48.1.2");
/// `id-pkix-ocsp-extended-revoke` (RFC 6960 §4.4.8).
pub const ID_PKIX_OCSP_EXTENDED_REVOKE: ObjectIdentifier =
    ObjectIdentifier::new_unwrap("1.3.6.1.5.5.7.48.1.9");
/// `id-ce-cRLReasons` (RFC 5280 §5.3.1), for `removeFromCRL` in delta CRLs.
pub const ID_CE_CRL_REASONS: ObjectIdentifier = ObjectIdentifier::new_unwrap("2.5.29.21");
