//! What the CA publishes for relying parties: CRLs (full and delta, per
//! issuer and shard) and the delegated OCSP signers that responders sign
//! with. Both are written to the CA database, where the OCSP/CRL responder
//! reads them; the CA is the only process that signs them.

mod crl;
mod signers;

use std::sync::Arc;
use std::time::Duration;

use signet_core::profile::parse_duration;
use signet_token::Token;
use tokio::sync::Mutex;

use crate::authority::CertificateAuthority;
use crate::config::PublicationConfig;
use crate::error::CaError;

/// Publication settings, validated.
#[derive(Clone, Debug)]
pub struct PublicationSettings {
    /// Full CRLs this often.
    pub crl_interval: Duration,
    /// nextUpdate of full CRLs.
    pub crl_validity: Duration,
    /// Delta CRLs this often.
    pub delta_interval: Duration,
    /// nextUpdate of delta CRLs.
    pub delta_validity: Duration,
    /// Renew an OCSP signer when less than this is left.
    pub renew_before: Duration,
    /// CRLs kept per issuer and shard.
    pub keep_crls: u32,
}

impl TryFrom<&PublicationConfig> for PublicationSettings {
    type Error = CaError;

    fn try_from(c: &PublicationConfig) -> Result<Self, CaError> {
        let d = |key: &str, v: &str| {
            parse_duration(v).map_err(|e| CaError::Config {
                reason: format!("publication.{key}: {e}"),
            })
        };
        let s = PublicationSettings {
            crl_interval: d("crl_interval", &c.crl_interval)?,
            crl_validity: d("crl_validity", &c.crl_validity)?,
            delta_interval: d("delta_interval", &c.delta_interval)?,
            delta_validity: d("delta_validity", &c.delta_validity)?,
            renew_before: d("ocsp_signer_renew_before", &c.ocsp_signer_renew_before)?,
            keep_crls: c.keep_crls.max(1),
        };
        // A CRL must be replaced before it expires (RFC 5280 §5.1.2.5).
        if s.crl_interval >= s.crl_validity || s.delta_interval >= s.delta_validity {
            return Err(CaError::Config {
                reason: "publication: each CRL interval must be shorter than its validity".into(),
            });
        }
        if s.crl_interval.is_zero() || s.delta_interval.is_zero() {
            return Err(CaError::Config {
                reason: "publication: CRL intervals must be longer than zero".into(),
            });
        }
        Ok(s)
    }
}

/// Publishes CRLs and keeps OCSP signers current.
pub struct Publisher {
    ca: Arc<CertificateAuthority>,
    token: Arc<Token>,
    settings: PublicationSettings,
    /// One publication at a time: the schedule and an emergency request
    /// must not number two CRLs alike.
    busy: Mutex<()>,
}

impl std::fmt::Debug for Publisher {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Publisher")
            .field("settings", &self.settings)
            .finish_non_exhaustive()
    }
}

impl Publisher {
    /// A publisher for the authority's issuers.
    pub fn new(
        ca: Arc<CertificateAuthority>,
        token: Arc<Token>,
        settings: PublicationSettings,
    ) -> Self {
        Publisher {
            ca,
            token,
            settings,
            busy: Mutex::new(()),
        }
    }

    /// Everything at once: signers, then full and delta CRLs of every issuer.
    pub async fn publish_all(&self) -> Result<(), CaError> {
        let _busy = self.busy.lock().await;
        self.ensure_signers().await?;
        for issuer in self.ca.issuers() {
            self.publish_full(issuer).await?;
            self.publish_delta(issuer).await?;
        }
        Ok(())
    }

    /// A new full CRL of one issuer now (emergency revocation).
    pub async fn publish_now(&self, issuer_id: i64) -> Result<(), CaError> {
        let _busy = self.busy.lock().await;
        if let Some(issuer) = self.ca.issuers().iter().find(|i| i.id == issuer_id) {
            self.publish_full(issuer).await?;
            self.publish_delta(issuer).await?;
        }
        Ok(())
    }

    /// Runs the schedule until the task is dropped.
    pub async fn run(self: Arc<Self>) {
        let tick = self
            .settings
            .delta_interval
            .min(self.settings.crl_interval)
            .min(Duration::from_secs(3600));
        let mut since_full = Duration::ZERO;
        let mut since_signers = Duration::ZERO;
        loop {
            tokio::time::sleep(tick).await;
            since_full += tick;
            since_signers += tick;
            let _busy = self.busy.lock().await;
            if since_signers >= Duration::from_secs(3600) {
                since_signers = Duration::ZERO;
                if let Err(e) = self.ensure_signers().await {
                    tracing::error!(error = %e, "cannot renew OCSP signers");
                }
            }
            let full = since_full >= self.settings.crl_interval;
            if full {
                since_full = Duration::ZERO;
            }
            for issuer in self.ca.issuers() {
                let result = if full {
                    match self.publish_full(issuer).await {
                        Ok(()) => self.publish_delta(issuer).await,
                        Err(e) => Err(e),
                    }
                } else {
                    self.publish_delta(issuer).await
                };
                if let Err(e) = result {
                    tracing::error!(issuer = %issuer.name, error = %e, "CRL publication failed");
                }
            }
        }
    }
}
