//! Wiring: config -> token, database, keys -> authority -> HTTPS listener.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use prometheus_client::registry::Registry;
use signet_api::ApiClient;
use signet_api::ca::CaClient;
use signet_api::kmc::KmcClient;
use signet_core::Clock;
use signet_store::{Database, DbOptions, RaStore, Schema};
use signet_tls::{AllowedPeers, Identity, Role, ServeOptions};
use signet_token::Token;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

use crate::audit::{AuditEvent, AuditTrail};
use crate::authority::{AuthorityParts, RegistrationAuthority};
use crate::config::{RaConfig, Settings};
use crate::error::RaError;
use crate::keys::ensure_keys;
use crate::metrics::RaMetrics;
use crate::sensitive::FieldCipher;
use crate::web::{AppState, Ui, router};

/// Expired sessions are deleted this often.
const SESSION_PURGE_INTERVAL: Duration = Duration::from_secs(300);

/// An RA listening for requests.
#[derive(Debug)]
pub struct RunningRa {
    /// The bound address (useful with port 0).
    pub addr: SocketAddr,
    /// The authority, for in-process callers (tests, later phases).
    pub authority: Arc<RegistrationAuthority>,
    /// The expiry reminder service, when `[reminders]` is enabled (its
    /// sweep runs every `interval`; tests call it directly).
    pub reminders: Option<Arc<crate::reminders::ExpiryReminders>>,
    shutdown: Option<oneshot::Sender<()>>,
    task: JoinHandle<std::io::Result<()>>,
    background: Vec<JoinHandle<()>>,
}

impl RunningRa {
    /// Stops accepting, lets in-flight requests finish, signs a last audit
    /// checkpoint, and waits.
    pub async fn stop(mut self) {
        for task in &self.background {
            task.abort();
        }
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
        let _ = (&mut self.task).await;
        self.authority
            .audit()
            .record_or_log(&AuditEvent::system("ra.stop"))
            .await;
        if let Err(error) = self.authority.audit().checkpoint().await {
            tracing::error!(%error, "final audit checkpoint failed");
        }
        self.authority.store().database().close().await;
    }

    /// Waits until the server stops on its own (it does not, unless it fails).
    pub async fn wait(&mut self) -> Result<(), RaError> {
        match (&mut self.task).await {
            Ok(r) => r.map_err(RaError::Io),
            Err(_) => Err(RaError::internal("RA server task failed")),
        }
    }
}

/// Opens the RA database named by `config`, migrating it.
pub(crate) async fn open_store(config: &RaConfig) -> Result<RaStore, RaError> {
    let db = Database::open(
        &config.database.url,
        Schema::Ra,
        &DbOptions {
            max_connections: config.database.max_connections,
            ..DbOptions::default()
        },
    )
    .await?;
    Ok(RaStore::new(db))
}

/// The client the RA calls the CA signer with: the RA's platform identity,
/// and the CA must present a certificate naming role `ca`.
fn ca_client(config: &RaConfig) -> Result<CaClient, RaError> {
    let identity = Identity::from_pem_files(&config.ca.certificate, &config.ca.key)?;
    let roots = signet_tls::load_roots(&config.ca.roots)?;
    let tls = signet_tls::client_config_expecting(&identity, roots, AllowedPeers::new([Role::Ca]))?;
    Ok(CaClient(ApiClient::new(&config.ca.url, tls)))
}

/// The client the RA calls the KMC with (`[kmc]`, if configured): the
/// same platform identity (role `ra`), and the KMC must present a
/// certificate naming role `kmc`, so that a recovery request can only
/// ever reach the KMC.
fn kmc_client(config: &RaConfig) -> Result<Option<KmcClient>, RaError> {
    let Some(kmc) = &config.kmc else {
        return Ok(None);
    };
    let identity = Identity::from_pem_files(&kmc.certificate, &kmc.key)?;
    let roots = signet_tls::load_roots(&kmc.roots)?;
    let tls =
        signet_tls::client_config_expecting(&identity, roots, AllowedPeers::new([Role::Kmc]))?;
    Ok(Some(KmcClient(ApiClient::new(&kmc.url, tls))))
}

/// Opens the token and the database, makes sure the RA's keys exist
/// (creating them on first start), and starts the HTTPS listener.
pub async fn start(config: RaConfig, clock: Arc<dyn Clock>) -> Result<RunningRa, RaError> {
    let settings = Settings::try_from(&config)?;
    let token_config = config.token.clone();
    let token = tokio::task::spawn_blocking(move || Token::open(&token_config))
        .await
        .map_err(|_| RaError::internal("token open task failed"))??;
    let token = Arc::new(token);
    let store = open_store(&config).await?;
    let keys = ensure_keys(&token, &store, clock.now()).await?;
    let mut registry = Registry::default();
    let metrics = Arc::new(RaMetrics::new(&mut registry));
    let audit = Arc::new(AuditTrail::new(
        store.clone(),
        keys.audit_signer,
        Arc::clone(&clock),
        Arc::clone(&metrics),
    )?);
    if let Some(cp) = store.last_audit_checkpoint().await?
        && cp.key_id != audit.key_id()
    {
        return Err(RaError::Config {
            reason: format!(
                "the audit checkpoints were signed by key {} but the token's `{}` key is {}: \
                 wrong token?",
                cp.key_id,
                crate::keys::AUDIT_KEY_LABEL,
                audit.key_id()
            ),
        });
    }
    let reminders = crate::reminders::ExpiryReminders::open(
        &config.reminders,
        store.clone(),
        Arc::clone(&audit),
        Arc::clone(&clock),
    )?
    .map(Arc::new);
    let ca = ca_client(&config)?;
    let kmc = kmc_client(&config)?;
    let ui = Arc::new(Ui::new()?);
    let ra = Arc::new(RegistrationAuthority::new(AuthorityParts {
        store: store.clone(),
        token: Arc::clone(&token),
        fields: FieldCipher::new(Arc::clone(&token), keys.digest_key),
        audit: Arc::clone(&audit),
        clock,
        settings: settings.clone(),
        metrics,
        ca: Some(ca),
        kmc,
    }));
    // Certificates recorded before the RA kept their SANs (migration
    // 0011) get them now, so the SAN search finds them too.
    ra.backfill_sans().await?;
    // Batch jobs that were running when the RA stopped go on (their rows
    // keep their CA request ids: nothing is issued twice).
    ra.resume_batches().await?;
    if store.root_org_unit().await?.is_none() {
        tracing::warn!(
            "the RA database has no organisation units or officers: run the ceremony \
             (`signet init`) first"
        );
    }

    let identity = Identity::from_pem_files(&config.server.certificate, &config.server.key)?;
    let roots = signet_tls::load_roots(&config.server.client_roots)?;
    let tls = signet_tls::server_config_optional_client(&identity, roots)?;
    let listener = tokio::net::TcpListener::bind(config.server.listen).await?;
    let addr = listener.local_addr()?;
    audit
        .record(&AuditEvent::system("ra.start").detail("listen", addr.to_string()))
        .await?;
    audit.checkpoint().await?;

    let state = AppState {
        ra: Arc::clone(&ra),
        ui,
        registry: Arc::new(registry),
    };
    let (tx, rx) = oneshot::channel();
    let task = tokio::spawn(signet_tls::serve_tls(
        listener,
        tls,
        router(state),
        ServeOptions::default(),
        async move {
            let _ = rx.await;
        },
    ));
    let checkpoints =
        tokio::spawn(Arc::clone(&audit).run_checkpoints(settings.checkpoint_interval));
    let purger = {
        let ra = Arc::clone(&ra);
        tokio::spawn(async move {
            let mut ticker = tokio::time::interval(SESSION_PURGE_INTERVAL);
            loop {
                ticker.tick().await;
                if let Err(error) = ra.purge_sessions().await {
                    tracing::warn!(%error, "cannot purge expired sessions");
                }
            }
        })
    };
    // Certificates superseded by portal renewals are revoked once due.
    let superseded = tokio::spawn(Arc::clone(&ra).run_superseded_revocations());
    // Expiry reminders, when `[reminders]` is enabled.
    let reminder_sweep = reminders
        .as_ref()
        .map(|r| tokio::spawn(Arc::clone(r).run()));
    tracing::info!(%addr, "RA listening");
    Ok(RunningRa {
        addr,
        authority: ra,
        reminders: reminders.clone(),
        shutdown: Some(tx),
        task,
        background: [checkpoints, purger, superseded]
            .into_iter()
            .chain(reminder_sweep)
            .collect(),
    })
}
