//! Batch files signed by the officer who uploads them: a detached CMS
//! signature (RFC 5652 `SignedData`, no encapsulated content) over the
//! exact bytes of the file, as `openssl cms -sign -binary` makes it, with
//! or without signed attributes.
//!
//! ```text
//! ContentInfo ::= SEQUENCE {
//!     contentType ContentType,                 -- id-signedData
//!     content [0] EXPLICIT ANY DEFINED BY contentType }
//!
//! SignerInfo ::= SEQUENCE {
//!     version CMSVersion,
//!     sid SignerIdentifier,                    -- issuerAndSerialNumber | [0] subjectKeyIdentifier
//!     digestAlgorithm DigestAlgorithmIdentifier,
//!     signedAttrs [0] IMPLICIT SignedAttributes OPTIONAL,
//!     signatureAlgorithm SignatureAlgorithmIdentifier,
//!     signature SignatureValue,
//!     unsignedAttrs [1] IMPLICIT UnsignedAttributes OPTIONAL }
//! ```
//!
//! The signer must be the uploading officer: its certificate, carried in
//! the `SignedData`, must be byte for byte the certificate registered on
//! the officer's account (its SHA-256, as certificate login compares it),
//! chain to `server.client_roots` and be valid now, checked by the same
//! webpki verifier that admits client certificates at login. The signature
//! itself is verified by `signet_core` (the code that checks CSR
//! signatures): ECDSA P-256/P-384 with SHA-256/384/512, RSA PKCS #1 v1.5
//! with SHA-256/384/512, and SM2-with-SM3.
//!
//! What is hashed is taken from the signature file as written ([`raw`]):
//! the signed attributes (re-tagged as a SET OF, never re-encoded, so a
//! signer's order stands) and the certificate whose SHA-256 is compared.
//! `digestAlgorithms` must list the signer's digest algorithm. A signed
//! file is filed once: a second filing of the same file with the same
//! signer's signature is refused (checked before filing, and by a unique
//! index on `batch_signatures`).

use std::borrow::Cow;
use std::sync::Arc;
use std::time::Duration;

use cms::content_info::ContentInfo;
use cms::signed_data::{SignedData, SignerIdentifier, SignerInfo};
use der::asn1::{ObjectIdentifier, OctetString};
use der::{Decode as _, Encode as _};
use sha2::{Digest as _, Sha256};
use signet_core::algorithm::oid as alg;
use signet_core::{HashAlgorithm, SignatureAlgorithm, SignatureError, SubjectKey, Timestamp};
use signet_store::ra::{BatchRecord, BatchSignatureRecord};
use signet_tls::rustls::pki_types::{CertificateDer, UnixTime};
use signet_tls::rustls::server::WebPkiClientVerifier;
use signet_tls::rustls::{CertificateError, RootCertStore};
use x509_cert::Certificate;
use x509_cert::ext::pkix::{KeyUsage, SubjectKeyIdentifier};

use super::RegistrationAuthority;
use super::batch_files::BatchUpload;
use super::batches::BatchFiling;
use crate::audit::{AuditEvent, Outcome};
use crate::error::RaError;
use crate::roles::{Caller, Permission};

/// Largest signature file accepted. A detached signature holds the
/// signer's certificate and perhaps its chain: a few KiB.
pub(crate) const MAX_SIGNATURE_BYTES: usize = 64 * 1024;

/// `id-signedData` (RFC 5652 §5.1).
const ID_SIGNED_DATA: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.113549.1.7.2");
/// `id-data` (RFC 5652 §4).
const ID_DATA: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.113549.1.7.1");
/// `id-contentType` (RFC 5652 §11.1).
const ID_CONTENT_TYPE: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.113549.1.9.3");
/// `id-messageDigest` (RFC 5652 §11.2).
const ID_MESSAGE_DIGEST: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.113549.1.9.4");

/// Why a batch file's signature was refused.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum BatchSignatureError {
    /// The signature file is larger than [`MAX_SIGNATURE_BYTES`].
    #[error("the signature file is larger than {limit} bytes")]
    TooLarge {
        /// The limit.
        limit: usize,
    },
    /// Neither DER nor PEM (`CMS`, `PKCS7`) of a CMS `SignedData`.
    #[error("not a CMS SignedData")]
    NotCms,
    /// The `SignedData` carries content of its own, or names a content
    /// type other than `id-data`: a detached signature over the uploaded
    /// file is expected.
    #[error("the signature is not detached")]
    NotDetached,
    /// Not exactly one `SignerInfo`.
    #[error("{count} signers; exactly one is expected")]
    SignerCount {
        /// How many there are.
        count: usize,
    },
    /// No certificate in the `SignedData` matches the signer identifier.
    #[error("the signer's certificate is not in the signature")]
    SignerCertificateMissing,
    /// The signer's certificate is not the one registered on the
    /// uploading officer's account (or none is registered).
    #[error("the signer is not a certificate registered to the uploading officer")]
    NotRegistered {
        /// SHA-256 (hex) of the signer's certificate.
        signer_sha256: String,
    },
    /// The signer's certificate (or one above it) has expired.
    #[error("the signer's certificate has expired")]
    Expired,
    /// The signer's certificate (or one above it) is not valid yet.
    #[error("the signer's certificate is not valid yet")]
    NotYetValid,
    /// The signer's certificate does not chain to `server.client_roots`,
    /// or is not for client authentication.
    #[error("the signer's certificate does not chain to the trusted client roots")]
    Untrusted,
    /// The signer's key usage does not allow signing (RFC 5280 §4.2.1.3).
    #[error("the signer's certificate is not for digital signatures")]
    KeyUsage,
    /// `SignedData.digestAlgorithms` does not list the signer's digest
    /// algorithm (RFC 5652 §5.1: it names every signer's).
    #[error("the signer's digest algorithm is not among the signature's digest algorithms")]
    DigestNotListed,
    /// A digest, signature or key algorithm this verifier does not take.
    #[error("unsupported algorithm {what}")]
    UnsupportedAlgorithm {
        /// The algorithm (an OID or a key type).
        what: String,
    },
    /// The signed attributes lack a content type `id-data` or a single
    /// message digest (RFC 5652 §5.3).
    #[error("malformed signed attributes")]
    BadAttributes,
    /// The signature does not verify over the uploaded file.
    #[error("the signature does not match the file")]
    Mismatch,
}

impl BatchSignatureError {
    /// The message key in the translation tables.
    pub fn key(&self) -> &'static str {
        match self {
            Self::TooLarge { .. } => "batch_signature.error_too_large",
            Self::NotCms => "batch_signature.error_not_cms",
            Self::NotDetached => "batch_signature.error_not_detached",
            Self::SignerCount { .. } => "batch_signature.error_signers",
            Self::SignerCertificateMissing => "batch_signature.error_no_certificate",
            Self::NotRegistered { .. } => "batch_signature.error_not_registered",
            Self::Expired => "batch_signature.error_expired",
            Self::NotYetValid => "batch_signature.error_not_yet_valid",
            Self::Untrusted => "batch_signature.error_untrusted",
            Self::KeyUsage => "batch_signature.error_key_usage",
            Self::DigestNotListed => "batch_signature.error_digest_not_listed",
            Self::UnsupportedAlgorithm { .. } => "batch_signature.error_algorithm",
            Self::BadAttributes => "batch_signature.error_attributes",
            Self::Mismatch => "batch_signature.error_mismatch",
        }
    }

    /// A stable reason code for the audit trail.
    pub fn reason(&self) -> &'static str {
        match self {
            Self::TooLarge { .. } => "signature_too_large",
            Self::NotCms => "not_cms_signed_data",
            Self::NotDetached => "not_detached",
            Self::SignerCount { .. } => "signer_count",
            Self::SignerCertificateMissing => "signer_certificate_missing",
            Self::NotRegistered { .. } => "signer_not_registered",
            Self::Expired => "certificate_expired",
            Self::NotYetValid => "certificate_not_yet_valid",
            Self::Untrusted => "certificate_untrusted",
            Self::KeyUsage => "certificate_key_usage",
            Self::DigestNotListed => "digest_algorithm_not_listed",
            Self::UnsupportedAlgorithm { .. } => "unsupported_algorithm",
            Self::BadAttributes => "bad_signed_attributes",
            Self::Mismatch => "signature_mismatch",
        }
    }
}

/// What a signature is checked against.
#[derive(Debug)]
pub(crate) struct SignerPolicy {
    /// SHA-256 (hex) of the certificate registered on the uploading
    /// officer's account, if any.
    pub registered_sha256: Option<String>,
    /// `server.client_roots`.
    pub roots: Arc<RootCertStore>,
    /// Now, by the RA's clock.
    pub now: Timestamp,
}

/// The verified signer of a batch file.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BatchSigner {
    /// SHA-256 (hex) of the signer's certificate (DER).
    pub certificate_sha256: String,
    /// The certificate's subject, RFC 4514.
    pub subject: String,
    /// SHA-256 (hex) of the signed file.
    pub file_sha256: String,
}

/// Verifies `signature`, a detached CMS signature in DER or PEM, over
/// `file` (see the module documentation). Hashes the whole file: call it
/// off the async workers.
pub(crate) fn verify(
    file: &[u8],
    signature: &[u8],
    policy: &SignerPolicy,
) -> Result<BatchSigner, BatchSignatureError> {
    if signature.len() > MAX_SIGNATURE_BYTES {
        return Err(BatchSignatureError::TooLarge {
            limit: MAX_SIGNATURE_BYTES,
        });
    }
    let der = signature_der(signature)?;
    let signed_data = signed_data(&der)?;
    // The bytes that are hashed come from the file as written, not from
    // a re-encoding of the decoded values (see [`raw`]).
    let raw = raw::signed_data(&der).ok_or(BatchSignatureError::NotCms)?;
    let econtent = &signed_data.encap_content_info;
    // RFC 5652 §5.2: eContent absent makes the signature detached.
    if econtent.econtent.is_some() || econtent.econtent_type != ID_DATA {
        return Err(BatchSignatureError::NotDetached);
    }
    let [signer] = signed_data.signer_infos.0.as_slice() else {
        return Err(BatchSignatureError::SignerCount {
            count: signed_data.signer_infos.0.len(),
        });
    };
    // RFC 5652 §5.1: digestAlgorithms names the signers' digests.
    if !signed_data
        .digest_algorithms
        .iter()
        .any(|a| a.oid == signer.digest_alg.oid)
    {
        return Err(BatchSignatureError::DigestNotListed);
    }
    // Each certificate as carried, beside its decoded form.
    let certificates: Vec<(&[u8], Certificate)> = raw
        .certificates
        .iter()
        .filter_map(|der| Certificate::from_der(der).ok().map(|c| (*der, c)))
        .collect();
    let (cert_der, cert) = certificates
        .iter()
        .find(|(_, c)| identifies(&signer.sid, c))
        .ok_or(BatchSignatureError::SignerCertificateMissing)?;
    let certificate_sha256 = hex::encode(Sha256::digest(cert_der));
    if policy.registered_sha256.as_deref() != Some(certificate_sha256.as_str()) {
        return Err(BatchSignatureError::NotRegistered {
            signer_sha256: certificate_sha256,
        });
    }
    let intermediates: Vec<CertificateDer<'static>> = certificates
        .iter()
        .filter(|(der, _)| !std::ptr::eq(*der, *cert_der))
        .map(|(der, _)| CertificateDer::from(der.to_vec()))
        .collect();
    check_chain(cert_der.to_vec(), &intermediates, policy)?;
    // RFC 5280 §4.2.1.3: a key usage extension, if present, must allow
    // digital signatures (or non-repudiation) for a signature to count;
    // one that cannot be read (or appears twice) allows nothing.
    match cert.tbs_certificate().get_extension::<KeyUsage>() {
        Ok(None) => {}
        Ok(Some((_, usage))) if usage.digital_signature() || usage.non_repudiation() => {}
        Ok(Some(_)) | Err(_) => return Err(BatchSignatureError::KeyUsage),
    }
    let key = SubjectKey::from_spki_der(
        &cert
            .tbs_certificate()
            .subject_public_key_info()
            .to_der()
            .map_err(|_| BatchSignatureError::SignerCertificateMissing)?,
    )
    .map_err(|e| BatchSignatureError::UnsupportedAlgorithm {
        what: e.to_string(),
    })?;
    let (hash, algorithm) = algorithms(signer)?;
    let message = match (&signer.signed_attrs, raw.signed_attrs) {
        (Some(attrs), Some(raw_attrs)) => {
            check_attributes(attrs, &hash.digest(file))?;
            // RFC 5652 §5.4: the signature covers the attributes under an
            // EXPLICIT SET OF tag, not the IMPLICIT [0]: the signer's
            // bytes with that one tag byte changed.
            Cow::Owned(raw_attrs)
        }
        (None, None) => Cow::Borrowed(file),
        _ => return Err(BatchSignatureError::BadAttributes),
    };
    key.verify(algorithm, &message, signer.signature.as_bytes())
        .map_err(|e| match e {
            SignatureError::AlgorithmMismatch { .. } => BatchSignatureError::UnsupportedAlgorithm {
                what: algorithm.to_string(),
            },
            _ => BatchSignatureError::Mismatch,
        })?;
    Ok(BatchSigner {
        certificate_sha256,
        subject: cert.tbs_certificate().subject().to_string(),
        file_sha256: hex::encode(Sha256::digest(file)),
    })
}

/// The DER of a signature file: DER as is, or the one PEM block labelled
/// `CMS` (`openssl cms -outform PEM`) or `PKCS7`.
fn signature_der(signature: &[u8]) -> Result<Vec<u8>, BatchSignatureError> {
    let trimmed = signature.trim_ascii();
    if !trimmed.starts_with(b"-----BEGIN ") {
        return Ok(signature.to_vec());
    }
    let (label, der) = der::pem::decode_vec(trimmed).map_err(|_| BatchSignatureError::NotCms)?;
    match label {
        "CMS" | "PKCS7" => Ok(der),
        _ => Err(BatchSignatureError::NotCms),
    }
}

/// The `SignedData` inside a `ContentInfo`.
fn signed_data(der: &[u8]) -> Result<SignedData, BatchSignatureError> {
    let info = ContentInfo::from_der(der).map_err(|_| BatchSignatureError::NotCms)?;
    if info.content_type != ID_SIGNED_DATA {
        return Err(BatchSignatureError::NotCms);
    }
    info.content
        .decode_as::<SignedData>()
        .map_err(|_| BatchSignatureError::NotCms)
}

/// Whether `cert` is the one `sid` names (RFC 5652 §5.3).
fn identifies(sid: &SignerIdentifier, cert: &Certificate) -> bool {
    let tbs = cert.tbs_certificate();
    match sid {
        SignerIdentifier::IssuerAndSerialNumber(isn) => {
            tbs.issuer() == &isn.issuer && tbs.serial_number() == &isn.serial_number
        }
        SignerIdentifier::SubjectKeyIdentifier(ski) => {
            matches!(tbs.get_extension::<SubjectKeyIdentifier>(), Ok(Some((_, own))) if own == *ski)
        }
    }
}

/// The signer's certificate chains to the client roots and, with every
/// certificate above it, is valid now: the webpki check client
/// certificates pass at login.
fn check_chain(
    cert_der: Vec<u8>,
    intermediates: &[CertificateDer<'static>],
    policy: &SignerPolicy,
) -> Result<(), BatchSignatureError> {
    let verifier = WebPkiClientVerifier::builder_with_provider(
        Arc::clone(&policy.roots),
        signet_tls::crypto_provider(),
    )
    .build()
    .map_err(|_| BatchSignatureError::Untrusted)?;
    let now = UnixTime::since_unix_epoch(Duration::from_secs(
        u64::try_from(policy.now.unix()).unwrap_or(0),
    ));
    match verifier.verify_client_cert(&CertificateDer::from(cert_der), intermediates, now) {
        Ok(_) => Ok(()),
        Err(signet_tls::rustls::Error::InvalidCertificate(e)) => Err(match e {
            CertificateError::Expired | CertificateError::ExpiredContext { .. } => {
                BatchSignatureError::Expired
            }
            CertificateError::NotValidYet | CertificateError::NotValidYetContext { .. } => {
                BatchSignatureError::NotYetValid
            }
            _ => BatchSignatureError::Untrusted,
        }),
        Err(_) => Err(BatchSignatureError::Untrusted),
    }
}

/// The digest and signature algorithms of `signer`, which must agree.
/// OpenSSL names RSA signatures `rsaEncryption` (RFC 5754 §3.2 allows it)
/// and leaves the hash to the digest algorithm.
fn algorithms(
    signer: &SignerInfo,
) -> Result<(HashAlgorithm, SignatureAlgorithm), BatchSignatureError> {
    let unsupported = |oid: ObjectIdentifier| BatchSignatureError::UnsupportedAlgorithm {
        what: oid.to_string(),
    };
    let digest = &signer.digest_alg;
    // RFC 5754 §2: the parameters are absent or NULL.
    if digest.parameters.as_ref().is_some_and(|p| !p.is_null()) {
        return Err(unsupported(digest.oid));
    }
    let hash = match digest.oid {
        alg::SHA256 => HashAlgorithm::Sha256,
        alg::SHA384 => HashAlgorithm::Sha384,
        alg::SHA512 => HashAlgorithm::Sha512,
        alg::SM3 => HashAlgorithm::Sm3,
        other => return Err(unsupported(other)),
    };
    let sig = &signer.signature_algorithm;
    let algorithm = if sig.oid == alg::RSA_ENCRYPTION {
        match hash {
            HashAlgorithm::Sha256 => SignatureAlgorithm::RsaPkcs1Sha256,
            HashAlgorithm::Sha384 => SignatureAlgorithm::RsaPkcs1Sha384,
            HashAlgorithm::Sha512 => SignatureAlgorithm::RsaPkcs1Sha512,
            _ => return Err(unsupported(sig.oid)),
        }
    } else {
        SignatureAlgorithm::from_identifier(sig.oid, sig.parameters.as_ref().map(Into::into))
            .map_err(|_| unsupported(sig.oid))?
    };
    if algorithm.hash() != hash {
        return Err(unsupported(sig.oid));
    }
    Ok((hash, algorithm))
}

/// RFC 5652 §5.3: with signed attributes, a content type (here `id-data`)
/// and a message digest, each once with one value; the digest must be the
/// file's.
fn check_attributes(
    attrs: &x509_cert::attr::Attributes,
    digest: &[u8],
) -> Result<(), BatchSignatureError> {
    let single = |oid: ObjectIdentifier| {
        let mut found = attrs.iter().filter(|a| a.oid == oid);
        match (found.next(), found.next()) {
            (Some(a), None) => match a.values.as_slice() {
                [value] => Ok(value),
                _ => Err(BatchSignatureError::BadAttributes),
            },
            _ => Err(BatchSignatureError::BadAttributes),
        }
    };
    let content_type = single(ID_CONTENT_TYPE)?
        .decode_as::<ObjectIdentifier>()
        .map_err(|_| BatchSignatureError::BadAttributes)?;
    if content_type != ID_DATA {
        return Err(BatchSignatureError::BadAttributes);
    }
    let message_digest = single(ID_MESSAGE_DIGEST)?
        .decode_as::<OctetString>()
        .map_err(|_| BatchSignatureError::BadAttributes)?;
    if message_digest.as_bytes() != digest {
        return Err(BatchSignatureError::Mismatch);
    }
    Ok(())
}

/// The bytes of an uploaded batch file, as they were signed.
fn file_bytes(upload: &BatchUpload) -> &[u8] {
    match upload {
        BatchUpload::JsonLines(text) => text.as_bytes(),
        BatchUpload::Zip(data) => data,
    }
}

impl RegistrationAuthority {
    /// Files a batch uploaded from the console with an optional detached
    /// signature over the file (see the module documentation). A bad
    /// signature refuses the upload, files nothing and is audited;
    /// without one, `batch.require_signature` decides (in the filing
    /// itself, [`Self::file_batch_rows`], which every console path takes).
    pub async fn file_signed_batch(
        &self,
        caller: &Caller,
        org_unit_id: i64,
        upload: BatchUpload,
        signature: Option<&[u8]>,
        issue_valid_rows: bool,
    ) -> Result<BatchFiling, RaError> {
        self.require(caller, Permission::FileRequests, "batch.file")
            .await?;
        let (upload, signer) = match signature {
            None => (upload, None),
            Some(signature) => {
                let (upload, verdict) = self
                    .verify_batch_signature(caller, upload, signature)
                    .await?;
                match verdict {
                    Ok(signer) => (upload, Some(signer)),
                    Err(e) => {
                        let signer_sha256 = match &e {
                            BatchSignatureError::NotRegistered { signer_sha256 } => {
                                Some(signer_sha256.as_str())
                            }
                            _ => None,
                        };
                        self.audit_refused_signature(caller, e.reason(), signer_sha256)
                            .await;
                        return Err(RaError::Invalid {
                            field: "signature",
                            key: e.key(),
                        });
                    }
                }
            }
        };
        self.file_batch_rows(
            caller,
            org_unit_id,
            upload,
            signer.as_ref(),
            issue_valid_rows,
        )
        .await
    }

    /// Checks `signature` over `upload` against the caller's registered
    /// certificate and `server.client_roots` (read at each upload, so a
    /// changed bundle applies without a restart), on a blocking thread
    /// (the file is hashed whole, up to `server.max_upload_bytes`); the
    /// upload is handed back. The outer error is the RA's own failure
    /// (database, roots file), the inner the verdict.
    async fn verify_batch_signature(
        &self,
        caller: &Caller,
        upload: BatchUpload,
        signature: &[u8],
    ) -> Result<(BatchUpload, Result<BatchSigner, BatchSignatureError>), RaError> {
        let officer = match caller.officer_id {
            Some(id) => self.store.officer(id).await?,
            None => None,
        };
        let pem = tokio::fs::read(&self.settings.client_roots).await?;
        let policy = SignerPolicy {
            registered_sha256: officer.and_then(|o| o.cert_fingerprint),
            roots: signet_tls::load_roots_from_pem(&pem)?,
            now: self.clock.now(),
        };
        let signature = signature.to_vec();
        tokio::task::spawn_blocking(move || {
            let verdict = verify(file_bytes(&upload), &signature, &policy);
            (upload, verdict)
        })
        .await
        .map_err(|_| RaError::internal("signature check task failed"))
    }

    /// The batch this signer's signature over this file was filed as
    /// before, if any; a replay is audited (`batch.file`, denied,
    /// `signature_replayed`, with the earlier batch).
    pub(super) async fn batch_signed_before(
        &self,
        caller: &Caller,
        signer: &BatchSigner,
    ) -> Result<Option<String>, RaError> {
        let Some(batch) = self
            .store
            .batch_signed_with(&signer.certificate_sha256, &signer.file_sha256)
            .await?
        else {
            return Ok(None);
        };
        self.audit
            .record_or_log(
                &AuditEvent::by(caller, "batch.file")
                    .outcome(Outcome::Denied)
                    .detail("reason", "signature_replayed")
                    .detail("filed_as", format!("batch:{batch}"))
                    .detail("signer_sha256", signer.certificate_sha256.as_str())
                    .detail("file_sha256", signer.file_sha256.as_str()),
            )
            .await;
        Ok(Some(batch))
    }

    /// Who signed the file of `batch` (a batch the caller may see, from
    /// [`Self::scoped_batch`]), if it was signed.
    pub async fn batch_signer(
        &self,
        batch: &BatchRecord,
    ) -> Result<Option<BatchSignatureRecord>, RaError> {
        Ok(self.store.batch_signature(batch.id).await?)
    }

    /// Records a refused signature in the audit trail.
    pub(super) async fn audit_refused_signature(
        &self,
        caller: &Caller,
        reason: &'static str,
        signer_sha256: Option<&str>,
    ) {
        let mut event = AuditEvent::by(caller, "batch.file")
            .outcome(Outcome::Denied)
            .detail("reason", reason);
        if let Some(fp) = signer_sha256 {
            event = event.detail("signer_sha256", fp);
        }
        self.audit.record_or_log(&event).await;
    }
}

mod raw;
#[cfg(test)]
mod tests;
