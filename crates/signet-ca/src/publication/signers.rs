//! Delegated OCSP signers (RFC 6960 §4.2.2.2): for each issuer with an OCSP
//! URL, a key in the token and a short-lived certificate from the issuer
//! (profile `ocsp-signer`: id-kp-OCSPSigning, id-pkix-ocsp-nocheck), renewed
//! before it expires; expired ones are destroyed.

use std::sync::Arc;

use der::Decode;
use signet_core::csr::build_csr;
use signet_core::names::{common_name, escape_value, parse_name};
use signet_core::{KeyType, Timestamp};
use x509_cert::Certificate;

use super::Publisher;
use crate::authority::{IssueCommand, IssuerKey};
use crate::error::CaError;

/// The OCSP profile's name.
const PROFILE: &str = "ocsp-signer";

fn blocking_failed() -> CaError {
    CaError::Config {
        reason: "token task failed".into(),
    }
}

impl Publisher {
    /// Makes sure every issuer with an OCSP URL has a signer that is valid
    /// for longer than the renewal margin, and destroys expired ones.
    pub(super) async fn ensure_signers(&self) -> Result<(), CaError> {
        let now = self.ca.now();
        let store = self.ca.store();
        let current = store.reader().ocsp_signers(now).await?;
        for issuer in self.ca.issuers() {
            if issuer.issuer.urls().ocsp.is_none() {
                continue;
            }
            let fresh = current.iter().any(|s| {
                s.issuer_id == issuer.id && s.not_after > now.plus(self.settings.renew_before)
            });
            if !fresh {
                self.new_signer(issuer, now).await?;
            }
        }
        for old in store.expired_ocsp_signers(now).await? {
            let token = Arc::clone(&self.token);
            let label = old.key_label.clone();
            tokio::task::spawn_blocking(move || token.destroy_key(&label))
                .await
                .map_err(|_| blocking_failed())??;
            store.delete_ocsp_signer(old.id).await?;
            tracing::info!(key = %old.key_label, "expired OCSP signer destroyed");
        }
        Ok(())
    }

    async fn new_signer(&self, issuer: &IssuerKey, now: Timestamp) -> Result<(), CaError> {
        // The responder's key matches the CA's family: SM2 for SM2 CAs
        // (their relying parties verify SM2), the same curve for ECDSA,
        // P-256 for RSA CAs (fast to sign, any client verifies it).
        let key_type = match issuer.issuer.key().key_type() {
            KeyType::Sm2 => KeyType::Sm2,
            KeyType::P384 => KeyType::P384,
            _ => KeyType::P256,
        };
        let label = format!("ocsp-{}-{}", issuer.name, now.unix());
        let token = Arc::clone(&self.token);
        let generate_label = label.clone();
        let signer = tokio::task::spawn_blocking(move || {
            token.generate_key(&generate_label, key_type)?;
            token.signer(&generate_label)
        })
        .await
        .map_err(|_| blocking_failed())??;

        let issuer_cn = common_name(issuer.issuer.certificate().tbs_certificate().subject())
            .unwrap_or_else(|| issuer.name.clone());
        let subject = parse_name(&format!(
            "CN={}",
            escape_value(&format!("{issuer_cn} OCSP Responder"))
        ))
        .map_err(|e| CaError::Config {
            reason: format!("OCSP signer subject: {e}"),
        })?;
        let csr = build_csr(&*signer, &subject).map_err(|e| CaError::Config {
            reason: format!("OCSP signer request: {e}"),
        })?;
        let issued = self
            .ca
            .issue(&IssueCommand {
                request_id: format!("ocsp-signer:{label}"),
                profile: PROFILE.into(),
                issuer: Some(issuer.name.clone()),
                csr,
                subject: None,
                sans: None,
                validity: None,
            })
            .await?;
        let der = issued.record.der.unwrap_or_default();
        // The certificate's own validity, after capping by the issuer.
        let cert = Certificate::from_der(&der).map_err(|e| CaError::Issue(e.into()))?;
        let validity = cert.tbs_certificate().validity();
        self.ca
            .store()
            .put_ocsp_signer(
                issuer.id,
                &label,
                &der,
                Timestamp::from_x509_time(&validity.not_before),
                Timestamp::from_x509_time(&validity.not_after),
                now,
            )
            .await?;
        tracing::info!(issuer = %issuer.name, key = %label, "OCSP signer issued");
        Ok(())
    }
}
