//! `OCSPResponse`, `OCSPResponseStatus`, `ResponseBytes` (RFC 6960 §4.2.1).

use der::asn1::OctetString;
use der::{Enumerated, Sequence};

/// ```text
/// OCSPResponse ::= SEQUENCE {
///    responseStatus         OCSPResponseStatus,
///    responseBytes          [0] EXPLICIT ResponseBytes OPTIONAL }
/// ```
#[derive(Clone, Debug, Eq, PartialEq, Sequence)]
pub struct OcspResponse {
    /// Whether the request was processed.
    pub response_status: OcspResponseStatus,
    /// The response proper, when successful.
    #[asn1(context_specific = "0", optional = "true")]
    pub response_bytes: Option<ResponseBytes>,
}

/// ```text
/// OCSPResponseStatus ::= ENUMERATED {
///     successful            (0),  -- Response has valid confirmations
///     malformedRequest      (1),  -- Illegal confirmation request
///     internalError         (2),  -- Internal error in issuer
///     tryLater              (3),  -- Try again later
///                                 -- (4) is not used
///     sigRequired           (5),  -- Must sign the request
///     unauthorized          (6)   -- Request unauthorized
/// }
/// ```
#[derive(Clone, Copy, Debug, Eq, PartialEq, Enumerated)]
#[asn1(type = "ENUMERATED")]
#[repr(u8)]
pub enum OcspResponseStatus {
    /// The response carries answers.
    Successful = 0,
    /// The request does not parse or breaks the rules.
    MalformedRequest = 1,
    /// The responder failed.
    InternalError = 2,
    /// The responder cannot answer now.
    TryLater = 3,
    /// Requests must be signed.
    SigRequired = 5,
    /// The responder does not serve this issuer.
    Unauthorized = 6,
}

/// ```text
/// ResponseBytes ::=       SEQUENCE {
///     responseType   OBJECT IDENTIFIER,
///     response       OCTET STRING }
/// ```
#[derive(Clone, Debug, Eq, PartialEq, Sequence)]
pub struct ResponseBytes {
    /// `id-pkix-ocsp-basic`.
    pub response_type: const_oid::ObjectIdentifier,
    /// The DER of a `BasicOCSPResponse`.
    pub response: OctetString,
}

impl OcspResponse {
    /// An unsuccessful response (no responseBytes), e.g. `malformedRequest`.
    pub fn error(status: OcspResponseStatus) -> Vec<u8> {
        // The one-byte ENUMERATED never fails to encode: 30 03 0a 01 <status>.
        vec![0x30, 0x03, 0x0a, 0x01, status as u8]
    }
}
