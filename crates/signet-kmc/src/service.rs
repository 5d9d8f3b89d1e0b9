//! Wiring: config -> token, database, key hierarchy -> [`Kmc`] -> mTLS
//! listener, plus the maintenance task (scheduled rotations, retention,
//! recovery expiry).

use std::net::SocketAddr;
use std::sync::Arc;

use prometheus_client::registry::Registry;
use signet_core::Clock;
use signet_tls::{AllowedPeers, Identity, ServeOptions};
use signet_token::Token;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

use crate::audit::Caller;
use crate::config::{KmcConfig, Settings};
use crate::error::{KmcError, blocking};
use crate::http::{AppState, router};
use crate::kmc::Kmc;
use crate::metrics::KmcMetrics;

/// A KMC listening for requests.
#[derive(Debug)]
pub struct RunningKmc {
    /// The bound address (useful with port 0).
    pub addr: SocketAddr,
    /// The KMC, for in-process callers (tests, benchmarks).
    pub kmc: Arc<Kmc>,
    shutdown: Option<oneshot::Sender<()>>,
    task: JoinHandle<std::io::Result<()>>,
    maintenance: JoinHandle<()>,
}

impl RunningKmc {
    /// Stops accepting, lets in-flight requests finish, and waits.
    pub async fn stop(mut self) {
        self.maintenance.abort();
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
        let _ = (&mut self.task).await;
        self.kmc.store().database().close().await;
    }

    /// Waits until the server stops on its own (it does not, unless it fails).
    pub async fn wait(&mut self) -> Result<(), KmcError> {
        match (&mut self.task).await {
            Ok(r) => r.map_err(KmcError::Io),
            Err(_) => Err(KmcError::Internal {
                reason: "KMC server task failed",
            }),
        }
    }
}

/// Opens the token and the database, unwraps the key hierarchy (refusing a
/// database whose keys the token cannot unwrap), runs what maintenance is
/// due, and starts the mTLS listener.
pub async fn start(config: KmcConfig, clock: Arc<dyn Clock>) -> Result<RunningKmc, KmcError> {
    let settings = Settings::try_from(&config)?;
    let token_config = config.token.clone();
    let token = Arc::new(blocking(move || Ok(Token::open(&token_config)?)).await?);
    let mut registry = Registry::default();
    let metrics = Arc::new(KmcMetrics::new(&mut registry));
    let kmc = Arc::new(Kmc::open(&config, token, clock, metrics).await?);
    // Rotations that fell due while the KMC was down happen before the
    // first request.
    kmc.maintenance(&Caller::system()).await?;

    let identity = Identity::from_pem_files(&config.server.certificate, &config.server.key)?;
    let roots = signet_tls::load_roots(&config.server.client_roots)?;
    let tls = signet_tls::server_config(
        &identity,
        roots,
        AllowedPeers::new(settings.allowed_roles.clone()),
    )?;
    let listener = tokio::net::TcpListener::bind(config.server.listen).await?;
    let addr = listener.local_addr()?;
    let state = AppState {
        kmc: Arc::clone(&kmc),
        registry: Arc::new(registry),
    };
    let app = router(state, config.server.max_request_bytes);
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
    let maintenance = tokio::spawn(run_maintenance(Arc::clone(&kmc), settings.check_interval));
    tracing::info!(%addr, "KMC listening");
    Ok(RunningKmc {
        addr,
        kmc,
        shutdown: Some(tx),
        task,
        maintenance,
    })
}

/// Runs [`Kmc::maintenance`] every `interval`; a failed run is logged and
/// retried at the next tick.
async fn run_maintenance(kmc: Arc<Kmc>, interval: std::time::Duration) {
    let mut ticker = tokio::time::interval(interval);
    ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    // The first tick fires at once; start() already ran maintenance.
    ticker.tick().await;
    loop {
        ticker.tick().await;
        if let Err(e) = kmc.maintenance(&Caller::system()).await {
            tracing::error!(error = %e, "KMC maintenance failed");
        }
    }
}
