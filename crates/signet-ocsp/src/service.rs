//! Wiring: config -> token, database, issuers and signers, cache, change
//! feed -> plain-HTTP listener.

use std::net::SocketAddr;
use std::sync::Arc;

use prometheus_client::registry::Registry;
use signet_core::Clock;
use signet_store::StatusReader;
use signet_tls::ServeOptions;
use signet_token::Token;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

use crate::cache::ResponseCache;
use crate::config::{OcspConfig, Settings};
use crate::crls::PublishedCrls;
use crate::error::OcspServiceError;
use crate::feed::{FeedCursor, FeedFollower, FeedHealth};
use crate::http::{AppState, router};
use crate::issuers::IssuerDirectory;
use crate::metrics::OcspMetrics;
use crate::responder::{OcspResponder, ResponderParts};

/// A responder listening for requests.
#[derive(Debug)]
pub struct RunningOcsp {
    /// The bound address (useful with port 0).
    pub addr: SocketAddr,
    shutdown: Option<oneshot::Sender<()>>,
    task: JoinHandle<std::io::Result<()>>,
    /// The change-feed follower and the signer refresher.
    background: Vec<JoinHandle<()>>,
    /// Kept open for as long as the server runs: its sessions sign.
    _token: Arc<Token>,
}

impl RunningOcsp {
    /// Stops accepting, lets in-flight requests finish, and waits.
    pub async fn stop(mut self) {
        for task in &self.background {
            task.abort();
        }
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
        let _ = (&mut self.task).await;
    }

    /// Waits until the server stops on its own (it does not, unless it fails).
    pub async fn wait(&mut self) -> Result<(), OcspServiceError> {
        match (&mut self.task).await {
            Ok(r) => r.map_err(OcspServiceError::Io),
            Err(_) => Err(OcspServiceError::Task {
                what: "OCSP server",
            }),
        }
    }
}

impl Drop for RunningOcsp {
    fn drop(&mut self) {
        for task in &self.background {
            task.abort();
        }
    }
}

/// Opens the token and the CA database (read-only), loads issuers and
/// their delegated signers, starts following the status-change feed and
/// listens.
///
/// The responder holds no state of its own: any number of them may run
/// against one database, and a restarted one signs afresh until its
/// cache fills again.
pub async fn start(
    config: OcspConfig,
    clock: Arc<dyn Clock>,
) -> Result<RunningOcsp, OcspServiceError> {
    let settings = Settings::try_from(&config)?;
    let token_config = config.token.clone();
    let token = tokio::task::spawn_blocking(move || Token::open(&token_config))
        .await
        .map_err(|_| OcspServiceError::Task { what: "token open" })??;
    let token = Arc::new(token);
    let reader = StatusReader::open(&config.database.url, config.database.max_connections).await?;

    let mut registry = Registry::default();
    let metrics = Arc::new(OcspMetrics::new(&mut registry));

    let issuers = Arc::new(IssuerDirectory::new(
        reader.clone(),
        Arc::clone(&token),
        Arc::clone(&clock),
        settings.query_timeout,
    ));
    issuers.refresh().await?;
    let snapshot = issuers.snapshot();
    if snapshot.served() == 0 {
        tracing::warn!(
            "no issuer has a usable OCSP signer yet; answering unauthorized until one appears"
        );
    }

    // The cache starts empty, so the feed is followed from its end.
    let start_seq = tokio::time::timeout(settings.query_timeout, reader.last_change_seq())
        .await
        .map_err(|_| OcspServiceError::StoreTimeout {
            timeout: settings.query_timeout,
        })??;
    let cache = Arc::new(ResponseCache::new(
        settings.cache_entries,
        metrics.cache_entries.clone(),
    ));
    let feed = Arc::new(FeedHealth::new(settings.poll_interval));
    feed.mark_ok();
    let follower = FeedFollower {
        reader: reader.clone(),
        cache: Arc::clone(&cache),
        health: Arc::clone(&feed),
        metrics: Arc::clone(&metrics),
        poll_interval: settings.poll_interval,
        query_timeout: settings.query_timeout,
    };
    let feed_task = tokio::spawn(follower.run(FeedCursor::new(start_seq)));
    let refresh_task = tokio::spawn(refresh_signers(
        Arc::clone(&issuers),
        settings.signer_refresh,
    ));

    let responder = Arc::new(OcspResponder::new(ResponderParts {
        issuers: Arc::clone(&issuers),
        reader: reader.clone(),
        cache,
        feed,
        clock,
        settings: settings.clone(),
        signing_threads: config.token.session_pool_size(),
        metrics: Arc::clone(&metrics),
    }));
    let crls = Arc::new(PublishedCrls::new(
        reader.clone(),
        Arc::clone(&issuers),
        settings.crl_refresh,
        settings.query_timeout,
    ));
    let state = AppState {
        responder,
        crls,
        issuers,
        reader,
        registry: Arc::new(registry),
        metrics,
        max_request_bytes: settings.max_request_bytes,
        request_timeout: settings.request_timeout,
        query_timeout: settings.query_timeout,
    };

    let listener = tokio::net::TcpListener::bind(config.server.listen).await?;
    let addr = listener.local_addr()?;
    let options = ServeOptions {
        header_read_timeout: settings.header_timeout,
        max_connections: settings.max_connections,
        ..ServeOptions::default()
    };
    let (tx, rx) = oneshot::channel();
    let task = tokio::spawn(signet_tls::serve_plain(
        listener,
        router(state),
        options,
        async move {
            let _ = rx.await;
        },
    ));
    tracing::info!(%addr, issuers = snapshot.served(), "OCSP responder listening");
    Ok(RunningOcsp {
        addr,
        shutdown: Some(tx),
        task,
        background: vec![feed_task, refresh_task],
        _token: token,
    })
}

/// Re-reads issuers and signers every `every` (signer rotation).
async fn refresh_signers(issuers: Arc<IssuerDirectory>, every: std::time::Duration) {
    let mut ticks = tokio::time::interval(every);
    ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    ticks.tick().await;
    loop {
        ticks.tick().await;
        if let Err(error) = issuers.refresh().await {
            tracing::warn!(%error, "cannot refresh OCSP signers; keeping the current ones");
        }
    }
}
