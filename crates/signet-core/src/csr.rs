//! PKCS#10 certification requests (RFC 2986): parsing, limits and
//! proof-of-possession.
//!
//! The signature is checked over the `CertificationRequestInfo` exactly as
//! received, never over a re-encoding, so a request that is not DER cannot
//! slip through by being normalised first.

use const_oid::AssociatedOid;
use der::asn1::{AnyRef, BitStringRef};
use der::referenced::OwnedToRef;
use der::{Decode, DecodePem, Encode};
use spki::{AlgorithmIdentifierRef, SubjectPublicKeyInfoOwned};
use x509_cert::ext::pkix::SubjectAltName;
use x509_cert::ext::pkix::name::GeneralName;
use x509_cert::name::Name;
use x509_cert::request::{CertReq, CertReqInfo, ExtensionReq};

use crate::algorithm::{AlgorithmError, SignatureAlgorithm};
use crate::public_key::{KeyError, SignatureError, SubjectKey};

/// The largest request accepted unless configured otherwise. A 4096-bit RSA
/// request with a hundred SANs is under 8 KiB.
pub const DEFAULT_MAX_CSR_BYTES: usize = 64 * 1024;

/// Why a certification request was refused.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum CsrError {
    /// The input is larger than the configured limit.
    #[error("certificate request is {len} bytes, more than the limit of {max}")]
    TooLarge {
        /// Input size.
        len: usize,
        /// Configured limit.
        max: usize,
    },
    /// The input is neither a PEM `CERTIFICATE REQUEST` nor DER.
    #[error("certificate request is not valid PEM or DER: {detail}")]
    Malformed {
        /// What the decoder reported.
        detail: String,
    },
    /// The signature algorithm is weak or unknown.
    #[error("certificate request: {0}")]
    Algorithm(#[from] AlgorithmError),
    /// The public key is weak, unknown or broken.
    #[error("certificate request public key: {0}")]
    Key(#[from] KeyError),
    /// The proof of possession failed.
    #[error("certificate request signature: {0}")]
    Signature(#[from] SignatureError),
    /// The extensionRequest attribute does not parse.
    #[error("certificate request has a malformed extension request: {detail}")]
    BadExtensionRequest {
        /// What was wrong.
        detail: String,
    },
}

/// A request whose signature has been verified with its own public key.
#[derive(Clone, Debug)]
pub struct VerifiedCsr {
    subject: Name,
    key: SubjectKey,
    signature_algorithm: SignatureAlgorithm,
    requested_sans: Vec<GeneralName>,
}

impl VerifiedCsr {
    /// Parses PEM or DER, checks size, algorithm, key and signature.
    pub fn parse(input: &[u8], max_len: usize) -> Result<Self, CsrError> {
        if input.len() > max_len {
            return Err(CsrError::TooLarge {
                len: input.len(),
                max: max_len,
            });
        }
        let der = to_der(input)?;
        Self::from_der(&der)
    }

    /// Parses DER and checks algorithm, key and signature.
    pub fn from_der(der: &[u8]) -> Result<Self, CsrError> {
        let raw = RawCertReq::from_der(der).map_err(malformed)?;
        let info_der = raw.info.to_der().map_err(malformed)?;
        let info = CertReqInfo::from_der(&info_der).map_err(malformed)?;

        let algorithm =
            SignatureAlgorithm::from_identifier(raw.algorithm.oid, raw.algorithm.parameters)?;
        let key = SubjectKey::from_spki(info.public_key.owned_to_ref())?;
        let signature = raw
            .signature
            .as_bytes()
            .ok_or_else(|| CsrError::Malformed {
                detail: "signature BIT STRING has unused bits".into(),
            })?;
        key.verify(algorithm, &info_der, signature)?;

        let requested_sans = requested_sans(&info)?;
        Ok(VerifiedCsr {
            subject: info.subject,
            key,
            signature_algorithm: algorithm,
            requested_sans,
        })
    }

    /// The subject the requester asked for.
    pub fn subject(&self) -> &Name {
        &self.subject
    }

    /// The checked public key.
    pub fn key(&self) -> &SubjectKey {
        &self.key
    }

    /// The public key as `SubjectPublicKeyInfo`.
    pub fn spki(&self) -> &SubjectPublicKeyInfoOwned {
        self.key.spki()
    }

    /// The algorithm the request was signed with.
    pub fn signature_algorithm(&self) -> SignatureAlgorithm {
        self.signature_algorithm
    }

    /// The subjectAltName entries of the request's extensionRequest.
    pub fn requested_sans(&self) -> &[GeneralName] {
        &self.requested_sans
    }
}

/// `CertificationRequest` with the info kept as raw bytes for verification.
#[derive(der::Sequence)]
struct RawCertReq<'a> {
    info: AnyRef<'a>,
    algorithm: AlgorithmIdentifierRef<'a>,
    signature: BitStringRef<'a>,
}

fn malformed(e: der::Error) -> CsrError {
    CsrError::Malformed {
        detail: e.to_string(),
    }
}

fn to_der(input: &[u8]) -> Result<Vec<u8>, CsrError> {
    let trimmed = input.trim_ascii_start();
    if !trimmed.starts_with(b"-----BEGIN") {
        return Ok(input.to_vec());
    }
    // Accept both labels OpenSSL has written over the years.
    let (label, der) = der::pem::decode_vec(trimmed).map_err(|e| CsrError::Malformed {
        detail: e.to_string(),
    })?;
    match label {
        "CERTIFICATE REQUEST" | "NEW CERTIFICATE REQUEST" => Ok(der),
        other => Err(CsrError::Malformed {
            detail: format!("PEM label is `{other}`, expected `CERTIFICATE REQUEST`"),
        }),
    }
}

fn requested_sans(info: &CertReqInfo) -> Result<Vec<GeneralName>, CsrError> {
    let bad = |detail: String| CsrError::BadExtensionRequest { detail };
    let mut sans = Vec::new();
    for attr in info
        .attributes
        .iter()
        .filter(|a| a.oid == ExtensionReq::OID)
    {
        for value in attr.values.iter() {
            let exts: ExtensionReq = value
                .decode_as()
                .map_err(|e: der::Error| bad(e.to_string()))?;
            for ext in exts.0.iter().filter(|e| e.extn_id == SubjectAltName::OID) {
                let san = SubjectAltName::from_der(ext.extn_value.as_bytes())
                    .map_err(|e| bad(format!("subjectAltName: {e}")))?;
                sans.extend(san.0);
            }
        }
    }
    Ok(sans)
}

/// Builds a PKCS#10 request for a key held by `signer` (a CA key in the
/// token has no other way to prove possession). DER.
pub fn build_csr(signer: &dyn crate::Signer, subject: &Name) -> Result<Vec<u8>, BuildCsrError> {
    let info = CertReqInfo {
        version: x509_cert::request::Version::V1,
        subject: subject.clone(),
        public_key: signer.public_key().clone(),
        attributes: Default::default(),
    };
    let info_der = info.to_der()?;
    let signature = signer.sign(&info_der)?;
    let req = CertReq {
        info,
        algorithm: signer.algorithm().identifier(),
        signature: der::asn1::BitString::from_bytes(&signature)?,
    };
    Ok(req.to_der()?)
}

/// A request could not be built.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum BuildCsrError {
    /// Encoding failed.
    #[error("encoding: {0}")]
    Encoding(#[from] der::Error),
    /// The signer failed.
    #[error(transparent)]
    Sign(#[from] crate::SignError),
}

/// Parses a PEM certificate request into x509-cert's type (for tools).
pub fn parse_pem(pem: &[u8]) -> Result<CertReq, CsrError> {
    CertReq::from_pem(pem).map_err(malformed)
}

#[cfg(test)]
mod tests;
