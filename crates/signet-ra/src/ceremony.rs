//! The RA's part of the key ceremony (`signet init`): the database, the
//! token keys, the root organisation unit and the first system
//! administrator.

use std::sync::Arc;

use signet_core::Clock;
use signet_store::ra::NewOfficer;
use signet_token::Token;
use zeroize::Zeroizing;

use crate::audit::{AuditEvent, AuditTrail};
use crate::auth::password;
use crate::config::{RaConfig, Settings};
use crate::error::RaError;
use crate::keys::ensure_keys;
use crate::metrics::RaMetrics;
use crate::roles::OfficerRole;

/// The username of the first system administrator.
pub const FIRST_ADMIN: &str = "admin";

/// The first system administrator's credentials: `signet init` shows them
/// once. The password must be changed, and TOTP enrolled, at the first
/// login.
pub struct FirstAdmin {
    /// `admin`.
    pub username: String,
    /// The one-time password.
    pub one_time_password: Zeroizing<String>,
}

impl std::fmt::Debug for FirstAdmin {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FirstAdmin")
            .field("username", &self.username)
            .finish_non_exhaustive()
    }
}

/// Creates the RA database named by `config` (migrated), the token keys
/// `ra-fields` (AES-256) and `ra-audit` (P-256) and the wrapped digest key,
/// the root organisation unit `org_name`, and the first system
/// administrator. Audited, and checkpointed. Refuses a database that
/// already has organisation units ([`RaError::AlreadyInitialized`]).
pub async fn initialize(
    config: &RaConfig,
    token: &Token,
    org_name: &str,
    clock: Arc<dyn Clock>,
) -> Result<FirstAdmin, RaError> {
    Settings::try_from(config)?;
    let store = crate::service::open_store(config).await?;
    let result = initialize_store(&store, token, org_name, clock).await;
    store.database().close().await;
    result
}

async fn initialize_store(
    store: &signet_store::RaStore,
    token: &Token,
    org_name: &str,
    clock: Arc<dyn Clock>,
) -> Result<FirstAdmin, RaError> {
    if store.root_org_unit().await?.is_some() {
        return Err(RaError::AlreadyInitialized);
    }
    let keys = ensure_keys(&token, store, clock.now()).await?;
    let audit = AuditTrail::new(
        store.clone(),
        keys.audit_signer,
        Arc::clone(&clock),
        Arc::new(RaMetrics::detached()),
    )?;
    let one_time_password = password::generate_password();
    let pw = one_time_password.clone();
    let hash = tokio::task::spawn_blocking(move || password::hash_password(&pw))
        .await
        .map_err(|_| RaError::internal("password task failed"))??;
    let name = org_name.trim();
    let name = if name.is_empty() { "Signet PKI" } else { name };
    let now = clock.now();
    let mut tx = store.begin().await?;
    let root = tx
        .create_org_unit(None, name, now)
        .await?
        .ok_or_else(|| RaError::internal("root unit not created"))?;
    tx.create_officer(&NewOfficer {
        username: FIRST_ADMIN.to_owned(),
        display_name: "Administrator".to_owned(),
        password_hash: hash,
        role: OfficerRole::Sysadmin.as_str().to_owned(),
        org_unit_id: root.id,
        now,
    })
    .await?
    .ok_or(RaError::AlreadyInitialized)?;
    audit
        .append(
            &mut tx,
            &AuditEvent::system("ra.initialize")
                .target(format!("org_unit:{}", root.id))
                .detail("org_unit", name)
                .detail("audit_key", audit.key_id()),
        )
        .await?;
    audit
        .append(
            &mut tx,
            &AuditEvent::system("officer.create")
                .target(format!("officer:{FIRST_ADMIN}"))
                .detail("role", OfficerRole::Sysadmin.as_str())
                .detail("org_unit", root.id),
        )
        .await?;
    tx.commit().await?;
    audit.checkpoint().await?;
    Ok(FirstAdmin {
        username: FIRST_ADMIN.to_owned(),
        one_time_password,
    })
}
