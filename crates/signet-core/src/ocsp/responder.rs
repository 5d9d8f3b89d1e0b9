//! The responder's side of RFC 6960: parse and check a request, match its
//! CertIDs against the issuers served, build and sign a response.

use der::asn1::{AnyRef, BitStringRef, GeneralizedTime, Null, OctetString, OctetStringRef};
use der::{Decode, Encode};
use sha1::Digest as _;
use spki::AlgorithmIdentifierRef;
use x509_cert::Certificate;
use x509_cert::ext::Extension;

use super::basic::{ResponderId, ResponseData};
use super::cert_id::CertId;
use super::cert_status::{CertStatus, CrlReason, RevokedInfo};
use super::request::OcspRequest;
use super::response::{OcspResponse, OcspResponseStatus, ResponseBytes};
use super::single_response::SingleResponse;
use super::{ID_PKIX_OCSP_BASIC, ID_PKIX_OCSP_EXTENDED_REVOKE, ID_PKIX_OCSP_NONCE};
use crate::algorithm::{SignatureAlgorithm, oid};
use crate::clock::Timestamp;
use crate::revocation::RevocationReason;
use crate::serial::Serial;

/// Why a request gets no answers, as the OCSP status it maps to.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum OcspError {
    /// `malformedRequest`: the bytes are not an OCSP request we accept.
    #[error("malformed OCSP request: {0}")]
    Malformed(&'static str),
    /// `unauthorized`: a certificate of an issuer this responder does not serve.
    #[error("issuer not served by this responder")]
    Unauthorized,
    /// `tryLater`: the status store is unavailable.
    #[error("status temporarily unavailable")]
    TryLater,
    /// `internalError`: signing or encoding failed.
    #[error("internal error")]
    Internal,
}

impl OcspError {
    /// The OCSPResponseStatus for this error.
    pub fn status(&self) -> OcspResponseStatus {
        match self {
            OcspError::Malformed(_) => OcspResponseStatus::MalformedRequest,
            OcspError::Unauthorized => OcspResponseStatus::Unauthorized,
            OcspError::TryLater => OcspResponseStatus::TryLater,
            OcspError::Internal => OcspResponseStatus::InternalError,
        }
    }

    /// The DER of the unsuccessful OCSPResponse.
    pub fn to_response(&self) -> Vec<u8> {
        OcspResponse::error(self.status())
    }
}

/// One certificate asked about.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RequestedCert {
    /// The CertID exactly as asked (echoed in the answer).
    pub cert_id: CertId,
    /// The serial, or `None` if it is not a positive integer of at most 20
    /// octets (no such certificate can exist).
    pub serial: Option<Serial>,
}

/// A checked request.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ParsedRequest {
    /// The certificates asked about, in order.
    pub certs: Vec<RequestedCert>,
    /// The nonce extension's value (RFC 8954), to echo byte for byte.
    pub nonce: Option<Vec<u8>>,
}

/// RFC 8954 §2.1: a nonce is 1 to 32 octets.
const MAX_NONCE: usize = 32;

/// Parses and checks an OCSP request (DER).
pub fn parse_request(der: &[u8], max_certs: usize) -> Result<ParsedRequest, OcspError> {
    if der.is_empty() {
        return Err(OcspError::Malformed("empty request"));
    }
    let request =
        OcspRequest::from_der(der).map_err(|_| OcspError::Malformed("not DER OCSPRequest"))?;
    let tbs = request.tbs_request;
    if tbs.version != 0 {
        return Err(OcspError::Malformed("unsupported version"));
    }
    if tbs.request_list.is_empty() {
        return Err(OcspError::Malformed("empty requestList"));
    }
    if tbs.request_list.len() > max_certs {
        return Err(OcspError::Malformed("too many certificates in one request"));
    }
    let mut nonce = None;
    for ext in tbs.request_extensions.iter().flatten() {
        if ext.extn_id == ID_PKIX_OCSP_NONCE {
            let value = ext.extn_value.as_bytes();
            // RFC 8954 §2.1: Nonce ::= OCTET STRING (SIZE(1..32)), DER inside extnValue.
            let inner = <&OctetStringRef>::from_der(value)
                .map_err(|_| OcspError::Malformed("nonce is not an OCTET STRING"))?;
            if inner.is_empty() || inner.len().try_into().unwrap_or(usize::MAX) > MAX_NONCE {
                return Err(OcspError::Malformed("nonce must be 1 to 32 octets"));
            }
            nonce = Some(value.to_vec());
        } else if ext.critical {
            return Err(OcspError::Malformed("unsupported critical extension"));
        }
    }
    // RFC 6960 §4.1.2: extensions the responder does not recognise are
    // ignored unless critical; none of singleRequestExtensions is recognised.
    if tbs
        .request_list
        .iter()
        .flat_map(|r| r.single_request_extensions.iter().flatten())
        .any(|ext| ext.critical)
    {
        return Err(OcspError::Malformed("unsupported critical extension"));
    }
    let certs = tbs
        .request_list
        .into_iter()
        .map(|r| {
            let serial = Serial::from_certificate_serial(&r.req_cert.serial_number).ok();
            RequestedCert {
                cert_id: r.req_cert,
                serial,
            }
        })
        .collect();
    Ok(ParsedRequest { certs, nonce })
}

/// An issuer's name and key hashes under each CertID hash algorithm
/// accepted (SHA-1, SHA-256, SHA-384, SHA-512).
#[derive(Clone, Debug)]
pub struct IssuerHashes {
    by_algorithm: Vec<(const_oid::ObjectIdentifier, Vec<u8>, Vec<u8>)>,
}

impl IssuerHashes {
    /// Hashes of the issuer's subject (DER) and public key (the BIT STRING value).
    pub fn new(subject_der: &[u8], public_key: &[u8]) -> Self {
        let mut by_algorithm = vec![(
            oid::SHA1,
            sha1::Sha1::digest(subject_der).to_vec(),
            sha1::Sha1::digest(public_key).to_vec(),
        )];
        for (o, h) in [
            (oid::SHA256, crate::HashAlgorithm::Sha256),
            (oid::SHA384, crate::HashAlgorithm::Sha384),
            (oid::SHA512, crate::HashAlgorithm::Sha512),
        ] {
            by_algorithm.push((o, h.digest(subject_der), h.digest(public_key)));
        }
        IssuerHashes { by_algorithm }
    }

    /// Whether `cert_id` names this issuer.
    pub fn matches(&self, cert_id: &CertId) -> bool {
        self.by_algorithm.iter().any(|(alg, name, key)| {
            cert_id.hash_algorithm.oid == *alg
                && cert_id.issuer_name_hash.as_bytes() == name.as_slice()
                && cert_id.issuer_key_hash.as_bytes() == key.as_slice()
        })
    }
}

/// What the responder says about one certificate.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum SingleAnswer {
    /// Issued and not revoked.
    Good,
    /// Revoked (or on hold, with reason certificateHold).
    Revoked {
        /// When.
        at: Timestamp,
        /// Why; `None` leaves the reason out.
        reason: Option<RevocationReason>,
    },
    /// Not known to the responder.
    Unknown,
    /// Never issued, answered with RFC 6960 §2.2's extended "revoked":
    /// certificateHold at 1970-01-01, with the extended-revoke extension.
    NotIssued,
}

/// Builds and assembles signed responses for one delegated responder.
#[derive(Clone, Debug)]
pub struct ResponseBuilder {
    responder_id: ResponderId,
    /// `[0] EXPLICIT SEQUENCE OF Certificate` holding the responder's certificate.
    certs_field: Vec<u8>,
    signing: SignatureAlgorithm,
}

/// `BasicOCSPResponse` with the signed part and the certificates as bytes.
#[derive(der::Sequence)]
struct RawBasic<'a> {
    tbs: AnyRef<'a>,
    algorithm: AlgorithmIdentifierRef<'a>,
    signature: BitStringRef<'a>,
    certs: AnyRef<'a>,
}

fn gt(t: Timestamp) -> Result<GeneralizedTime, OcspError> {
    t.to_generalized().ok_or(OcspError::Internal)
}

impl ResponseBuilder {
    /// For the responder certificate `responder_der`, whose key signs with `signing`.
    pub fn new(responder_der: &[u8], signing: SignatureAlgorithm) -> Result<Self, OcspError> {
        let cert = Certificate::from_der(responder_der).map_err(|_| OcspError::Internal)?;
        let key = cert
            .tbs_certificate()
            .subject_public_key_info()
            .subject_public_key
            .raw_bytes();
        let key_hash =
            OctetString::new(sha1::Sha1::digest(key).to_vec()).map_err(|_| OcspError::Internal)?;
        // [0] EXPLICIT SEQUENCE OF Certificate, built once.
        let inner = vec![cert].to_der().map_err(|_| OcspError::Internal)?;
        let mut certs_field = Vec::with_capacity(inner.len() + 4);
        let len = der::Length::try_from(inner.len()).map_err(|_| OcspError::Internal)?;
        der::Header::new(
            der::Tag::ContextSpecific {
                constructed: true,
                number: der::TagNumber(0),
            },
            len,
        )
        .encode_to_vec(&mut certs_field)
        .map_err(|_| OcspError::Internal)?;
        certs_field.extend_from_slice(&inner);
        Ok(ResponseBuilder {
            responder_id: ResponderId::ByKey(key_hash),
            certs_field,
            signing,
        })
    }

    /// The `ResponseData` to sign (DER).
    pub fn tbs(
        &self,
        answers: &[(CertId, SingleAnswer)],
        produced_at: Timestamp,
        this_update: Timestamp,
        next_update: Timestamp,
        nonce: Option<&[u8]>,
    ) -> Result<Vec<u8>, OcspError> {
        let mut extended_revoke = false;
        let responses = answers
            .iter()
            .map(|(cert_id, answer)| {
                let cert_status = match answer {
                    SingleAnswer::Good => CertStatus::Good(Null),
                    SingleAnswer::Unknown => CertStatus::Unknown(Null),
                    SingleAnswer::Revoked { at, reason } => CertStatus::Revoked(RevokedInfo {
                        revocation_time: gt(*at)?,
                        revocation_reason: reason.map(CrlReason::from),
                    }),
                    SingleAnswer::NotIssued => {
                        extended_revoke = true;
                        CertStatus::Revoked(RevokedInfo {
                            revocation_time: gt(Timestamp::EPOCH)?,
                            revocation_reason: Some(CrlReason::CertificateHold),
                        })
                    }
                };
                Ok(SingleResponse {
                    cert_id: cert_id.clone(),
                    cert_status,
                    this_update: gt(this_update)?,
                    next_update: Some(gt(next_update)?),
                    single_extensions: None,
                })
            })
            .collect::<Result<Vec<_>, OcspError>>()?;
        let mut extensions = Vec::new();
        if let Some(value) = nonce {
            extensions.push(Extension {
                extn_id: ID_PKIX_OCSP_NONCE,
                critical: false,
                extn_value: OctetString::new(value.to_vec()).map_err(|_| OcspError::Internal)?,
            });
        }
        if extended_revoke {
            // RFC 6960 §4.4.8: the extension's value is NULL.
            extensions.push(Extension {
                extn_id: ID_PKIX_OCSP_EXTENDED_REVOKE,
                critical: false,
                extn_value: OctetString::new(vec![0x05, 0x00]).map_err(|_| OcspError::Internal)?,
            });
        }
        let data = ResponseData {
            version: 0,
            responder_id: self.responder_id.clone(),
            produced_at: gt(produced_at)?,
            responses,
            response_extensions: (!extensions.is_empty()).then_some(extensions),
        };
        data.to_der().map_err(|_| OcspError::Internal)
    }

    /// Wraps signed `ResponseData` into a successful OCSPResponse (DER).
    pub fn assemble(&self, tbs_der: &[u8], signature: &[u8]) -> Result<Vec<u8>, OcspError> {
        let algorithm = self.signing.identifier();
        let basic = RawBasic {
            tbs: AnyRef::from_der(tbs_der).map_err(|_| OcspError::Internal)?,
            algorithm: AlgorithmIdentifierRef {
                oid: algorithm.oid,
                parameters: algorithm.parameters.as_ref().map(der::Any::to_ref),
            },
            signature: BitStringRef::from_bytes(signature).map_err(|_| OcspError::Internal)?,
            certs: AnyRef::from_der(&self.certs_field).map_err(|_| OcspError::Internal)?,
        };
        let response = OcspResponse {
            response_status: OcspResponseStatus::Successful,
            response_bytes: Some(ResponseBytes {
                response_type: ID_PKIX_OCSP_BASIC,
                response: OctetString::new(basic.to_der().map_err(|_| OcspError::Internal)?)
                    .map_err(|_| OcspError::Internal)?,
            }),
        };
        response.to_der().map_err(|_| OcspError::Internal)
    }

    /// The signature algorithm responses are signed with.
    pub fn signing(&self) -> SignatureAlgorithm {
        self.signing
    }
}

#[cfg(test)]
mod tests;
