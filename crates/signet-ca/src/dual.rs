//! Dual certificates (GM/T 0014/0015 style): a signing certificate for the
//! subscriber's own key and an encryption certificate for a key pair the
//! KMC generates and escrows.
//!
//! For a profile marked `dual`, [`DualIssuer::issue`]:
//!
//! 1. issues the signing certificate from the CSR (the ordinary path, proof
//!    of possession checked);
//! 2. asks the KMC over mutual TLS (this CA's certificate, role `ca`) for an
//!    encryption key pair bound to the request: the KMC generates it,
//!    escrows the private key wrapped, and returns the public key and the
//!    private key enveloped to the signing certificate's public key;
//! 3. issues the encryption certificate under the encryption profile
//!    (`user-enc` by default: keyEncipherment/dataEncipherment, keyAgreement
//!    for EC, all three for SM2) with the signing certificate's subject and
//!    SANs and the KMC's public key;
//! 4. tells the KMC which certificate its escrowed key belongs to, so that
//!    the key is archived, revoked and destroyed with it.
//!
//! Every step is idempotent under the request id (the encryption half uses
//! `<request id>:enc` at the KMC and in the CA journal), so a retried call
//! returns the same two certificates and the same key, enveloped afresh.
//! The CA never sees the encryption private key.

use std::path::PathBuf;
use std::sync::Arc;

use base64::Engine as _;
use der::Decode as _;
use serde::{Deserialize, Serialize};
use signet_api::ApiClient;
use signet_api::kmc::{BindCertificateRequest, KeyPairRequest, KmcClient};
use signet_core::issuance::CertificateRequest;
use signet_core::{KeyType, SubjectKey};
use signet_tls::{AllowedPeers, Identity, Role};
use x509_cert::Certificate;
use x509_cert::ext::pkix::SubjectAltName;

use crate::authority::{CertificateAuthority, IssueCommand, Issued};
use crate::error::CaError;

/// `[kmc]` in `ca.toml`: how the CA reaches the KMC for dual certificates.
#[derive(Clone, Debug, Deserialize, Serialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct DualConfig {
    /// The KMC's base URL, e.g. `https://127.0.0.1:8446`.
    pub url: String,
    /// This CA's client certificate chain (platform PKI, role `ca`), PEM.
    pub certificate: PathBuf,
    /// Its private key, PEM.
    pub key: PathBuf,
    /// Roots the KMC's certificate must chain to (the platform CA), PEM.
    pub server_roots: PathBuf,
    /// Profile of the encryption certificate. Default `user-enc`.
    #[serde(default = "default_encryption_profile")]
    pub encryption_profile: String,
    /// KMC business domain of the escrowed keys; default the KMC's own.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub domain: Option<String>,
}

fn default_encryption_profile() -> String {
    "user-enc".into()
}

impl DualConfig {
    /// A `[kmc]` section with the default encryption profile and domain.
    pub fn new(url: String, certificate: PathBuf, key: PathBuf, server_roots: PathBuf) -> Self {
        DualConfig {
            url,
            certificate,
            key,
            server_roots,
            encryption_profile: default_encryption_profile(),
            domain: None,
        }
    }
}

/// Both certificates of a dual request and the enveloped encryption key.
#[derive(Clone, Debug)]
pub struct DualIssued {
    /// The signing certificate (the subscriber's key, from the CSR).
    pub signing: Issued,
    /// The encryption certificate (the KMC's escrowed key).
    pub encryption: Issued,
    /// The escrowed key's id at the KMC (recovery requests name it).
    pub key_id: String,
    /// The encryption private key enveloped to the signing key, DER.
    pub envelope: Vec<u8>,
    /// `gmt0009-sm2-enveloped-key` or `cms-auth-enveloped-data`.
    pub envelope_format: String,
    /// True when this answers a retried request id.
    pub replayed: bool,
}

/// The CA's side of dual certificates: a KMC client and the encryption
/// profile.
#[derive(Clone, Debug)]
pub struct DualIssuer {
    kmc: KmcClient,
    encryption_profile: String,
    domain: Option<String>,
}

/// The encryption key type for a signing key: SM2 stays SM2 (GM/T 0009
/// envelopes carry SM2 keys only), ECDSA keeps its curve, RSA signing keys
/// get RSA-3072 encryption keys (escrowed keys live for years; 2048 bits
/// is too short for that).
pub fn encryption_key_type(signing: KeyType) -> KeyType {
    match signing {
        KeyType::Sm2 => KeyType::Sm2,
        KeyType::P256 => KeyType::P256,
        KeyType::P384 => KeyType::P384,
        // RSA of any size, and any key type added later: RSA-3072 can be
        // enveloped to every CMS recipient.
        _ => KeyType::Rsa3072,
    }
}

fn kmc_error(e: signet_api::ClientError) -> CaError {
    let refused = e.code().is_some();
    CaError::Kmc {
        reason: e.to_string(),
        refused,
    }
}

fn internal(reason: &str) -> CaError {
    CaError::Config {
        reason: format!("dual certificate: {reason}"),
    }
}

impl DualIssuer {
    /// A KMC client from `[kmc]`: this CA's identity, and a server
    /// certificate that must name role `kmc`.
    pub fn from_config(config: &DualConfig) -> Result<Self, CaError> {
        let identity = Identity::from_pem_files(&config.certificate, &config.key)?;
        let roots = signet_tls::load_roots(&config.server_roots)?;
        let tls = signet_tls::client_config_expecting(
            &identity,
            roots,
            AllowedPeers::new(vec![Role::Kmc]),
        )?;
        Ok(Self::new(
            KmcClient(ApiClient::new(&config.url, tls)),
            config.encryption_profile.clone(),
            config.domain.clone(),
        ))
    }

    /// From a ready client (tests).
    pub fn new(kmc: KmcClient, encryption_profile: String, domain: Option<String>) -> Self {
        DualIssuer {
            kmc,
            encryption_profile,
            domain,
        }
    }

    /// Issues both certificates of a dual request (see the module docs).
    pub async fn issue(
        &self,
        ca: &CertificateAuthority,
        cmd: &IssueCommand,
    ) -> Result<DualIssued, CaError> {
        let profile = ca
            .profile(&cmd.profile)
            .ok_or_else(|| CaError::UnknownProfile {
                name: cmd.profile.clone(),
            })?;
        if !profile.is_dual() {
            return Err(CaError::DualNotAvailable {
                reason: format!("profile `{}` is not a dual profile", cmd.profile),
            });
        }
        if ca.profile(&self.encryption_profile).is_none() {
            return Err(CaError::UnknownProfile {
                name: self.encryption_profile.clone(),
            });
        }
        let signing = ca.issue(cmd).await?;
        let signing_der = signing
            .record
            .der
            .as_deref()
            .ok_or_else(|| internal("the signing certificate is not stored"))?;
        let cert = Certificate::from_der(signing_der)
            .map_err(|_| internal("the signing certificate does not parse"))?;
        let tbs = cert.tbs_certificate();
        let signing_spki = der::Encode::to_der(tbs.subject_public_key_info())
            .map_err(|_| internal("the signing key does not encode"))?;
        let signing_key = SubjectKey::from_spki_der(&signing_spki)
            .map_err(|_| internal("the signing key is not usable"))?;
        let sans = tbs
            .get_extension::<SubjectAltName>()
            .ok()
            .flatten()
            .map(|(_, san)| san.0)
            .unwrap_or_default();

        let enc_request_id = format!("{}:enc", cmd.request_id);
        let pair = self
            .kmc
            .generate_key_pair(&KeyPairRequest {
                request_id: enc_request_id.clone(),
                key_type: encryption_key_type(signing_key.key_type())
                    .as_str()
                    .to_owned(),
                signing_key: signet_core::pem::encode("PUBLIC KEY", &signing_spki),
                subject: signing.record.subject.clone(),
                domain: self.domain.clone(),
            })
            .await
            .map_err(kmc_error)?;
        let enc_spki = der::pem::decode_vec(pair.public_key.as_bytes())
            .map_err(|_| internal("the KMC's public key is not PEM"))?
            .1;
        let enc_key = SubjectKey::from_spki_der(&enc_spki)
            .map_err(|_| internal("the KMC's public key is not usable"))?;
        let envelope = base64::engine::general_purpose::STANDARD
            .decode(&pair.envelope)
            .map_err(|_| internal("the KMC's envelope is not base64"))?;

        let enc_cmd = IssueCommand {
            request_id: enc_request_id,
            profile: self.encryption_profile.clone(),
            issuer: Some(signing.issuer.clone()),
            csr: enc_spki,
            subject: None,
            sans: None,
            validity: cmd.validity,
        };
        let enc_request = CertificateRequest {
            subject: tbs.subject().clone(),
            sans,
            key: enc_key,
            validity: cmd.validity,
        };
        let encryption = ca.issue_for_key(&enc_cmd, &enc_request).await?;
        let enc_der = encryption
            .record
            .der
            .as_deref()
            .ok_or_else(|| internal("the encryption certificate is not stored"))?;
        self.kmc
            .bind_certificate(
                &pair.key_id,
                &BindCertificateRequest {
                    issuer: encryption.issuer.clone(),
                    certificate: signet_core::pem::certificate_pem(enc_der),
                },
            )
            .await
            .map_err(kmc_error)?;
        tracing::info!(
            signing = %signing.record.serial,
            encryption = %encryption.record.serial,
            key_id = %pair.key_id,
            "dual certificates issued"
        );
        Ok(DualIssued {
            replayed: signing.replayed && encryption.replayed,
            signing,
            encryption,
            key_id: pair.key_id,
            envelope,
            envelope_format: pair.envelope_format,
        })
    }
}

impl DualIssuer {
    /// Tells the KMC that an encryption certificate was revoked, so that
    /// its escrowed key is revoked with it (and kept until the retention
    /// after revocation ends). Certificates of other profiles are not the
    /// KMC's business. A failure is logged, not returned: the revocation
    /// itself stands, and only the escrow's retention clock depends on it.
    pub async fn certificate_revoked(&self, info: &signet_api::ca::CertificateInfo) {
        if info.profile != self.encryption_profile {
            return;
        }
        let request = signet_api::kmc::RevokeEscrowRequest {
            serial: info.serial.clone(),
            issuer: Some(info.issuer.clone()),
            reason: info
                .revocation_reason
                .clone()
                .unwrap_or_else(|| "unspecified".into()),
            revoked_at: info.revoked_at.clone(),
        };
        match self.kmc.revoke_escrow(&request).await {
            Ok(list) => tracing::info!(
                serial = %info.serial,
                keys = list.keys.len(),
                "escrowed encryption key revoked with its certificate"
            ),
            Err(e) if e.code() == Some("not_found") => {}
            Err(e) => tracing::warn!(
                serial = %info.serial,
                error = %e,
                "the KMC did not record the revocation of an encryption certificate"
            ),
        }
    }
}

/// Shared form used by the HTTP layer.
pub(crate) type SharedDualIssuer = Option<Arc<DualIssuer>>;
