//! The CA's HTTP API over mutual TLS. Handlers are thin: extract, call the
//! authority, convert; `errors.rs` alone decides statuses.

mod convert;
mod dual;
mod errors;
mod handlers;

use std::sync::Arc;

use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::routing::{get, post};
use prometheus_client::registry::Registry;

use crate::authority::CertificateAuthority;

/// What handlers share.
#[derive(Clone)]
pub(crate) struct AppState {
    pub ca: Arc<CertificateAuthority>,
    pub registry: Arc<Registry>,
    pub max_batch: usize,
    pub publisher: Arc<crate::publication::Publisher>,
    /// Dual certificates, when a KMC is configured.
    pub dual: crate::dual::SharedDualIssuer,
}

/// The routes of the CA API (see `signet_api::ca` for the table).
pub(crate) fn router(state: AppState, max_request_bytes: usize, max_batch_bytes: usize) -> Router {
    let batch = Router::new()
        .route("/v1/certificates/batch", post(handlers::issue_batch))
        .layer(DefaultBodyLimit::max(max_batch_bytes));
    Router::new()
        .route(
            "/v1/certificates",
            post(handlers::issue).get(handlers::list),
        )
        .route("/v1/certificates/dual", post(dual::issue_dual))
        .route("/v1/certificates/{serial}", get(handlers::get))
        .route("/v1/certificates/{serial}/revoke", post(handlers::revoke))
        .route("/v1/certificates/{serial}/suspend", post(handlers::suspend))
        .route("/v1/certificates/{serial}/resume", post(handlers::resume))
        .route("/v1/issuers", get(handlers::issuers))
        .layer(DefaultBodyLimit::max(max_request_bytes))
        .merge(batch)
        .route("/health", get(handlers::health))
        .route("/ready", get(handlers::ready))
        .route("/metrics", get(handlers::metrics))
        .fallback(handlers::not_found)
        .with_state(state)
}
