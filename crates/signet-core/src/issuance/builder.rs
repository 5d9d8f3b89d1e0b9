//! TBSCertificate encoding with x509-cert's `CertificateBuilder`.
//!
//! The builder wants a signer to learn the issuer's public key and
//! signature algorithm; [`IssuerKey`] hands it those without any private
//! key, because signing happens later, in the token, over the linted bytes.

use der::Decode;
use signature::Keypair;
use spki::{
    AlgorithmIdentifierOwned, DynSignatureAlgorithmIdentifier, EncodePublicKey,
    SubjectPublicKeyInfoOwned, SubjectPublicKeyInfoRef,
};
use x509_cert::builder::profile::BuilderProfile;
use x509_cert::builder::{Builder, CertificateBuilder};
use x509_cert::certificate::TbsCertificate;
use x509_cert::ext::Extension;
use x509_cert::ext::pkix::name::GeneralName;
use x509_cert::name::Name;
use x509_cert::time::Validity;

use super::IssueError;
use super::extensions::{self, ExtensionInputs};
use super::issuer::Issuer;
use crate::algorithm::SignatureAlgorithm;
use crate::clock::Timestamp;
use crate::profile::Profile;
use crate::public_key::SubjectKey;
use crate::serial::Serial;

/// Everything a TBS is made of.
pub(crate) struct TbsSpec<'a> {
    pub profile: &'a Profile,
    pub subject: &'a Name,
    pub sans: &'a [GeneralName],
    pub key: &'a SubjectKey,
    pub serial: &'a Serial,
    pub not_before: Timestamp,
    pub not_after: Timestamp,
    pub signing: SignatureAlgorithm,
    /// `None` for self-signed.
    pub issuer: Option<&'a Issuer>,
}

/// The issuer's public half, standing in for a signer in the builder.
#[derive(Clone)]
struct IssuerKey {
    spki: SubjectPublicKeyInfoOwned,
    algorithm: AlgorithmIdentifierOwned,
}

impl Keypair for IssuerKey {
    type VerifyingKey = IssuerKey;
    fn verifying_key(&self) -> IssuerKey {
        self.clone()
    }
}

impl EncodePublicKey for IssuerKey {
    fn to_public_key_der(&self) -> spki::Result<der::Document> {
        Ok(der::Document::encode_msg(&self.spki)?)
    }
}

impl DynSignatureAlgorithmIdentifier for IssuerKey {
    fn signature_algorithm_identifier(&self) -> spki::Result<AlgorithmIdentifierOwned> {
        Ok(self.algorithm.clone())
    }
}

/// Subject, issuer name and precomputed extensions, as the builder asks.
struct Layout {
    subject: Name,
    issuer: Name,
    extensions: Vec<Extension>,
}

impl BuilderProfile for Layout {
    fn get_issuer(&self, _subject: &Name) -> Name {
        self.issuer.clone()
    }

    fn get_subject(&self) -> Name {
        self.subject.clone()
    }

    fn build_extensions(
        &self,
        _spk: SubjectPublicKeyInfoRef<'_>,
        _issuer_spk: SubjectPublicKeyInfoRef<'_>,
        _tbs: &TbsCertificate,
    ) -> x509_cert::builder::Result<Vec<Extension>> {
        Ok(self.extensions.clone())
    }
}

/// Encodes the TBSCertificate.
pub(crate) fn build_tbs(spec: &TbsSpec<'_>) -> Result<Vec<u8>, IssueError> {
    let extensions = extensions::build(&ExtensionInputs {
        profile: spec.profile,
        subject_key: spec.key,
        subject_is_empty: spec.subject.is_empty(),
        sans: spec.sans,
        issuer: spec.issuer.map(|i| (i.key_id(), i.urls())),
        serial: spec.serial,
    })?;
    // The issuer name is the issuer's subject decoded from its own DER, so
    // it re-encodes byte for byte (RFC 5280 §6.1 name chaining).
    let issuer_name = match spec.issuer {
        Some(issuer) => Name::from_der(issuer.subject_der())?,
        None => spec.subject.clone(),
    };
    let issuer_key = IssuerKey {
        spki: match spec.issuer {
            Some(issuer) => issuer.key().spki().clone(),
            None => spec.key.spki().clone(),
        },
        algorithm: spec.signing.identifier(),
    };
    let bad_time = || IssueError::BadIssuer {
        reason: "validity is outside the range X.509 can encode".into(),
    };
    let validity = Validity::new(
        spec.not_before.to_x509_time().ok_or_else(bad_time)?,
        spec.not_after.to_x509_time().ok_or_else(bad_time)?,
    );
    let layout = Layout {
        subject: spec.subject.clone(),
        issuer: issuer_name,
        extensions,
    };
    let mut builder = CertificateBuilder::new(
        layout,
        spec.serial.to_serial_number()?,
        validity,
        spec.key.spki().clone(),
    )
    .map_err(builder_error)?;
    let tbs = builder.finalize(&issuer_key).map_err(builder_error)?;
    Ok(tbs)
}

fn builder_error(e: x509_cert::builder::Error) -> IssueError {
    match e {
        x509_cert::builder::Error::Asn1(e) => IssueError::Encoding(e),
        other => IssueError::BadIssuer {
            reason: other.to_string(),
        },
    }
}
