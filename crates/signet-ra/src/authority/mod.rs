//! The RA's domain object: everything the console (and later the portal
//! and the API) can do, each operation checked against the caller's role
//! and scope, and recorded in the audit trail in the same transaction as
//! its change. Handlers stay thin: extract, call one method here, render.

mod api;
mod api_batches;
mod batch_files;
mod batch_job;
mod batch_signature;
mod batches;
mod certificates;
mod dual;
mod enrolment;
mod login;
mod officers;
mod org_units;
mod portal;
mod recovery;
mod reports;
mod requests;
mod subscribers;
mod supersede;
mod trail;

use std::net::IpAddr;
use std::sync::Arc;

use signet_api::ca::CaClient;
use signet_api::kmc::KmcClient;
use signet_core::Clock;
use signet_store::RaStore;
use signet_token::Token;

pub use api::{
    ApiClientForm, ApiEnrollment, ApiPrincipal, RegisteredApiClient, valid_idempotency_key,
};
pub use api_batches::{ApiBatch, ApiBatchRow};
pub use batch_files::BatchUpload;
pub use batches::{BatchFiling, RowError};

/// SHA-256 (hex) of the one certificate in `pem`, as API clients and
/// officers are registered by.
pub(crate) fn certificate_fingerprint(pem: &str) -> Option<String> {
    officers::parse_fingerprint(pem).filter(|_| pem.contains("-----BEGIN"))
}
pub use certificates::{REVOCATION_REASONS, RevokeOptions, StatusChange};
pub use dual::DualMaterial;
pub use enrolment::{EnrolmentCodeForm, EnrolmentView, shown_status};
pub use login::{Enrolment, LoadedSession, NewLogin, Stage};
pub use officers::{CreatedOfficer, OfficerForm, OfficerView};
pub use portal::{PortalHolder, PortalView};
pub use recovery::{DeliveredEnvelope, FiledRecovery, RecoveryForm};
pub use reports::{ReportFormat, ReportRow};
pub use requests::{
    LinkedSubscriber, PAGE_SIZE as REQUEST_PAGE, RequestDetail, RequestForm, STATUSES,
    ServerKeyForm, ServerKeyState,
};
pub use subscribers::{
    PAGE_SIZE as SUBSCRIBER_PAGE, SUBSCRIBER_REQUESTS, SubscriberForm, SubscriberSearch,
    SubscriberView,
};
pub use trail::AuditPage;

use crate::audit::{AuditEvent, AuditTrail, Outcome};
use crate::auth::throttle::LoginThrottle;
use crate::config::Settings;
use crate::error::RaError;
use crate::metrics::RaMetrics;
use crate::roles::{Caller, Permission};
use crate::sensitive::FieldCipher;

/// The registration authority.
pub struct RegistrationAuthority {
    pub(crate) store: RaStore,
    pub(crate) token: Arc<Token>,
    pub(crate) fields: FieldCipher,
    pub(crate) audit: Arc<AuditTrail>,
    pub(crate) clock: Arc<dyn Clock>,
    pub(crate) settings: Settings,
    pub(crate) metrics: Arc<RaMetrics>,
    pub(crate) throttle: LoginThrottle,
    /// Refused enrolment codes per address (portal).
    pub(crate) enrolment_throttle: LoginThrottle,
    pub(crate) api_rates: crate::auth::rates::ClientRates,
    pub(crate) ca: Option<CaClient>,
    /// The KMC (`[kmc]` in ra.toml), for key recovery and key health.
    pub(crate) kmc: Option<KmcClient>,
    /// Batches whose job runs in this RA.
    pub(crate) batch_jobs: batch_job::LiveBatchJobs,
}

impl std::fmt::Debug for RegistrationAuthority {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RegistrationAuthority")
            .finish_non_exhaustive()
    }
}

/// What [`RegistrationAuthority::new`] needs.
pub(crate) struct AuthorityParts {
    pub store: RaStore,
    pub token: Arc<Token>,
    pub fields: FieldCipher,
    pub audit: Arc<AuditTrail>,
    pub clock: Arc<dyn Clock>,
    pub settings: Settings,
    pub metrics: Arc<RaMetrics>,
    pub ca: Option<CaClient>,
    pub kmc: Option<KmcClient>,
}

impl RegistrationAuthority {
    pub(crate) fn new(parts: AuthorityParts) -> Self {
        RegistrationAuthority {
            throttle: LoginThrottle::new(parts.settings.login_attempts_per_minute),
            enrolment_throttle: LoginThrottle::new(parts.settings.enrolment_attempts_per_minute),
            api_rates: crate::auth::rates::ClientRates::default(),
            store: parts.store,
            token: parts.token,
            fields: parts.fields,
            audit: parts.audit,
            clock: parts.clock,
            settings: parts.settings,
            metrics: parts.metrics,
            ca: parts.ca,
            kmc: parts.kmc,
            batch_jobs: Default::default(),
        }
    }

    /// The database (tests and later phases' read paths).
    pub fn store(&self) -> &RaStore {
        &self.store
    }

    /// The audit trail writer.
    pub fn audit(&self) -> &Arc<AuditTrail> {
        &self.audit
    }

    /// The sensitive-field cipher.
    pub fn fields(&self) -> &FieldCipher {
        &self.fields
    }

    /// The client for the CA signer.
    pub fn ca(&self) -> Option<&CaClient> {
        self.ca.as_ref()
    }

    /// The validated settings.
    pub fn settings(&self) -> &Settings {
        &self.settings
    }

    /// Refuses, and audits the refusal, unless the caller's role allows
    /// `permission`.
    pub(crate) async fn require(
        &self,
        caller: &Caller,
        permission: Permission,
        action: &'static str,
    ) -> Result<(), RaError> {
        if caller.may(permission) {
            return Ok(());
        }
        self.deny(caller, action, "-").await
    }

    /// Audits a refusal of `action` on `target` and returns the error.
    pub(crate) async fn deny<T>(
        &self,
        caller: &Caller,
        action: &'static str,
        target: &str,
    ) -> Result<T, RaError> {
        self.audit
            .record_or_log(
                &AuditEvent::by(caller, action)
                    .target(target)
                    .outcome(Outcome::Denied)
                    .detail("reason", "not permitted"),
            )
            .await;
        Err(RaError::Forbidden { action })
    }

    /// Whether the database and the token answer (readiness).
    pub async fn ready(&self) -> bool {
        if self.store.ping().await.is_err() {
            return false;
        }
        crate::keys::blocking(&self.token, |t| t.has_key(crate::keys::FIELD_KEY_LABEL))
            .await
            .unwrap_or(false)
    }
}

/// The address as audit records show it.
pub(crate) fn ip_text(ip: IpAddr) -> String {
    ip.to_string()
}
