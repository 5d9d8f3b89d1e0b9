//! The RA's part of the key ceremony (`signet init`): the database, the
//! token keys, the root organisation unit and the first system
//! administrator.

use std::sync::Arc;

use signet_core::Clock;
use signet_store::ra::{NewApiClient, NewOfficer};
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
    initialize_with_cli_client(config, token, org_name, None, clock).await
}

/// The name of the API client `signet init` registers for the `signet`
/// command line.
pub const CLI_CLIENT: &str = "signet-cli";

/// [`initialize`], and also registers the home administrator's command
/// line as the API client [`CLI_CLIENT`]: authenticated by the TLS client
/// certificate `cli_certificate_pem` (the platform `admin` certificate,
/// which chains to `server.client_roots`), in the root unit, for every
/// profile the RA offers. Like every API client's, its enrollments need no
/// officer approval: the registration is the administrator's approval
/// (docs/decisions.md). Audited in the same transaction.
pub async fn initialize_with_cli_client(
    config: &RaConfig,
    token: &Token,
    org_name: &str,
    cli_certificate_pem: Option<&str>,
    clock: Arc<dyn Clock>,
) -> Result<FirstAdmin, RaError> {
    let settings = Settings::try_from(config)?;
    let cli = match cli_certificate_pem {
        Some(pem) => Some(CliClient {
            fingerprint: crate::authority::certificate_fingerprint(pem).ok_or(RaError::Config {
                reason: "the administrator certificate is not one PEM certificate".into(),
            })?,
            profiles: settings
                .profiles
                .iter()
                .map(|p| p.name.as_str())
                .collect::<Vec<_>>()
                .join(","),
            rate_per_minute: i64::from(settings.api_default_rate),
        }),
        None => None,
    };
    let store = crate::service::open_store(config).await?;
    let result = initialize_store(&store, token, org_name, cli.as_ref(), clock).await;
    store.database().close().await;
    result
}

/// What [`initialize_with_cli_client`] registers.
struct CliClient {
    fingerprint: String,
    profiles: String,
    rate_per_minute: i64,
}

async fn initialize_store(
    store: &signet_store::RaStore,
    token: &Token,
    org_name: &str,
    cli: Option<&CliClient>,
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
    let admin_id = tx
        .create_officer(&NewOfficer {
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
    if let Some(cli) = cli {
        let id = tx
            .create_api_client(&NewApiClient {
                name: CLI_CLIENT.to_owned(),
                org_unit_id: root.id,
                token_hash: None,
                cert_fingerprint: Some(cli.fingerprint.clone()),
                profiles: cli.profiles.clone(),
                ip_allowlist: String::new(),
                rate_per_minute: cli.rate_per_minute,
                created_by: admin_id,
                now,
            })
            .await?
            .ok_or(RaError::AlreadyInitialized)?;
        audit
            .append(
                &mut tx,
                &AuditEvent::system("api_client.create")
                    .target(format!("api_client:{CLI_CLIENT}"))
                    .detail("id", id)
                    .detail("org_unit", root.id)
                    .detail("profiles", cli.profiles.as_str())
                    .detail("rate_per_minute", cli.rate_per_minute)
                    .detail("auth", "certificate")
                    .detail("certificate_sha256", cli.fingerprint.as_str()),
            )
            .await?;
    }
    tx.commit().await?;
    audit.checkpoint().await?;
    Ok(FirstAdmin {
        username: FIRST_ADMIN.to_owned(),
        one_time_password,
    })
}
