//! Wiring: config -> token, database, issuers, profiles -> authority ->
//! mTLS listener.

use std::net::SocketAddr;
use std::path::Path;
use std::sync::Arc;

use prometheus_client::registry::Registry;
use signet_core::{Clock, Issuer, IssuerUrls, Profile};
use signet_store::{CaStore, Database, DbOptions, Schema};
use signet_tls::{AllowedPeers, Identity, Role, ServeOptions};
use signet_token::Token;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

use crate::authority::{AuthorityParts, CertificateAuthority};
use crate::config::CaConfig;
use crate::dual::DualIssuer;
use crate::error::CaError;
use crate::http::{AppState, router};
use crate::metrics::CaMetrics;
use crate::publication::{PublicationSettings, Publisher};

/// A CA listening for requests.
#[derive(Debug)]
pub struct RunningCa {
    /// The bound address (useful with port 0).
    pub addr: SocketAddr,
    /// The authority, for in-process callers.
    pub authority: Arc<CertificateAuthority>,
    shutdown: Option<oneshot::Sender<()>>,
    task: JoinHandle<std::io::Result<()>>,
    publisher: JoinHandle<()>,
    /// Kept open for as long as the server runs: its sessions sign.
    _token: Arc<Token>,
}

impl RunningCa {
    /// Stops accepting, lets in-flight requests finish, and waits.
    pub async fn stop(mut self) {
        self.publisher.abort();
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
        let _ = (&mut self.task).await;
    }

    /// Waits until the server stops on its own (it does not, unless it fails).
    pub async fn wait(&mut self) -> Result<(), CaError> {
        match (&mut self.task).await {
            Ok(r) => r.map_err(CaError::Io),
            Err(_) => Err(CaError::Config {
                reason: "CA server task failed".into(),
            }),
        }
    }
}

/// Reads every `*.toml` in `dir` as a profile.
pub fn load_profiles(dir: &Path) -> Result<Vec<Profile>, CaError> {
    let bad = |reason: String| CaError::Config { reason };
    let entries =
        std::fs::read_dir(dir).map_err(|e| bad(format!("cannot read {}: {e}", dir.display())))?;
    let mut profiles = Vec::new();
    for entry in entries.flatten() {
        let path = entry.path();
        if path.extension().and_then(|e| e.to_str()) != Some("toml") {
            continue;
        }
        let text = std::fs::read_to_string(&path)
            .map_err(|e| bad(format!("cannot read {}: {e}", path.display())))?;
        profiles
            .push(Profile::from_toml(&text).map_err(|e| bad(format!("{}: {e}", path.display())))?);
    }
    profiles.sort_by(|a, b| a.name().cmp(b.name()));
    Ok(profiles)
}

fn read_certificate(path: &Path) -> Result<Vec<u8>, CaError> {
    let pem = std::fs::read(path).map_err(|e| CaError::Config {
        reason: format!("cannot read {}: {e}", path.display()),
    })?;
    signet_core::pem::certificates_from_pem(&pem)
        .ok()
        .and_then(|mut c| (!c.is_empty()).then(|| c.remove(0)))
        .ok_or_else(|| CaError::Config {
            reason: format!("{} holds no PEM certificate", path.display()),
        })
}

/// Opens the database, pairs each configured issuer certificate with its
/// token key (refusing a key that does not match the certificate), loads
/// profiles and assembles the authority. Does not listen.
pub async fn open_authority(
    config: &CaConfig,
    token: &Token,
    clock: Arc<dyn Clock>,
    metrics: Arc<CaMetrics>,
) -> Result<CertificateAuthority, CaError> {
    let db = Database::open(
        &config.database.url,
        Schema::Ca,
        &DbOptions {
            max_connections: config.database.max_connections,
            ..DbOptions::default()
        },
    )
    .await?;
    let store = CaStore::new(db);
    let mut issuers = Vec::new();
    for ic in &config.issuers {
        let der = read_certificate(&ic.certificate)?;
        let urls = IssuerUrls {
            ocsp: ic.ocsp_url.clone(),
            ca_issuers: ic.ca_issuers_url.clone(),
            crl: ic.crl_url.clone(),
            delta_crl: ic.delta_crl_url.clone(),
            crl_shards: ic.crl_shards,
        };
        let issuer = Issuer::from_der(&der, urls)?;
        let signer = token.signer(&ic.key_label)?;
        if signer.public_key() != issuer.key().spki() {
            return Err(CaError::Config {
                reason: format!(
                    "the token key `{}` is not the key of issuer `{}`'s certificate",
                    ic.key_label, ic.name
                ),
            });
        }
        let stored = store
            .put_issuer(ic.id, &ic.name, &ic.key_label, &der, clock.now())
            .await?;
        if stored.certificate != der {
            return Err(CaError::Config {
                reason: format!(
                    "issuer `{}` in the database holds a different certificate",
                    ic.name
                ),
            });
        }
        issuers.push((ic.id, ic.name.clone(), issuer, signer));
    }
    CertificateAuthority::new(AuthorityParts {
        issuers,
        default_issuer: config.issuance.default_issuer.clone(),
        profiles: load_profiles(&config.issuance.profiles_dir)?,
        store,
        journal_batch: config.issuance.journal_batch,
        clock,
        max_csr_bytes: config.issuance.max_csr_bytes,
        signing_threads: config.token.session_pool_size(),
        metrics,
    })
}

/// Opens the token, builds the authority, finishes pending certificates
/// and starts the mTLS listener (no dual certificates: see
/// [`start_with_dual`]).
pub async fn start(config: CaConfig, clock: Arc<dyn Clock>) -> Result<RunningCa, CaError> {
    start_with_dual(config, clock, None).await
}

/// [`start`], issuing dual certificates through `dual` (a KMC client).
pub async fn start_with_dual(
    config: CaConfig,
    clock: Arc<dyn Clock>,
    dual: Option<DualIssuer>,
) -> Result<RunningCa, CaError> {
    let token_config = config.token.clone();
    let token = tokio::task::spawn_blocking(move || Token::open(&token_config))
        .await
        .map_err(|_| CaError::Config {
            reason: "token open task failed".into(),
        })??;
    let mut registry = Registry::default();
    let metrics = Arc::new(CaMetrics::new(&mut registry));
    let token = Arc::new(token);
    let settings = PublicationSettings::try_from(&config.publication)?;
    let authority = Arc::new(open_authority(&config, &token, clock, metrics).await?);
    authority.reconcile().await?;
    // Signers and CRLs exist before anyone can ask: a responder started
    // with the CA answers from the first request.
    let publisher = Arc::new(Publisher::new(
        Arc::clone(&authority),
        Arc::clone(&token),
        settings,
    ));
    publisher.publish_all().await?;
    let publisher_task = tokio::spawn(Arc::clone(&publisher).run());

    let identity = Identity::from_pem_files(&config.server.certificate, &config.server.key)?;
    let roots = signet_tls::load_roots(&config.server.client_roots)?;
    let roles = config
        .server
        .allowed_roles
        .iter()
        .map(|r| {
            r.parse::<Role>().map_err(|_| CaError::Config {
                reason: format!("unknown role `{r}` in server.allowed_roles"),
            })
        })
        .collect::<Result<Vec<_>, _>>()?;
    let tls = signet_tls::server_config(&identity, roots, AllowedPeers::new(roles))?;
    let listener = tokio::net::TcpListener::bind(config.server.listen).await?;
    let addr = listener.local_addr()?;
    let state = AppState {
        ca: Arc::clone(&authority),
        registry: Arc::new(registry),
        max_batch: config.issuance.max_batch,
        publisher,
        dual: dual.map(Arc::new),
    };
    let app = router(
        state,
        config.server.max_request_bytes,
        config.server.max_batch_bytes,
    );
    let (tx, rx) = oneshot::channel();
    let task = tokio::spawn(signet_tls::serve_tls(
        listener,
        tls,
        app,
        ServeOptions::default(),
        async move {
            let _ = rx.await;
        },
    ));
    tracing::info!(%addr, issuers = authority.issuers().len(), "CA listening");
    Ok(RunningCa {
        addr,
        authority,
        shutdown: Some(tx),
        task,
        publisher: publisher_task,
        _token: token,
    })
}
