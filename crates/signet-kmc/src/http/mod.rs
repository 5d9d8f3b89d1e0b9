//! The KMC's HTTP API over mutual TLS. Handlers are thin: extract, call the
//! [`Kmc`](crate::Kmc), convert; `errors.rs` alone decides statuses. Every
//! operation checks the caller's role itself (the handshake admitted only
//! the configured roles).

mod errors;
mod handlers;

use std::sync::Arc;

use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::routing::{get, post};
use prometheus_client::registry::Registry;

use crate::kmc::Kmc;

/// What handlers share.
#[derive(Clone)]
pub(crate) struct AppState {
    pub kmc: Arc<Kmc>,
    pub registry: Arc<Registry>,
}

/// The routes of the KMC API (see `signet_api::kmc` for the table).
pub(crate) fn router(state: AppState, max_request_bytes: usize) -> Router {
    Router::new()
        .route("/v1/key-pairs", post(handlers::generate_key_pair))
        .route(
            "/v1/escrowed-keys/{id}/certificate",
            post(handlers::bind_certificate),
        )
        .route("/v1/escrowed-keys/revoke", post(handlers::revoke_escrow))
        .route("/v1/escrowed-keys/{id}", get(handlers::escrowed_key))
        .route("/v1/escrowed-keys", get(handlers::escrowed_keys))
        .route("/v1/recoveries", post(handlers::request_recovery))
        .route("/v1/recoveries/{id}", get(handlers::recovery))
        .route(
            "/v1/recoveries/{id}/approve",
            post(handlers::approve_recovery),
        )
        .route(
            "/v1/recoveries/{id}/deliver",
            post(handlers::deliver_recovery),
        )
        .route("/v1/keys/health", get(handlers::key_health))
        .route("/v1/keys/rotate", post(handlers::rotate))
        .route("/v1/maintenance", post(handlers::maintenance))
        .route(
            "/v1/data-keys",
            get(handlers::data_keys).post(handlers::create_data_key),
        )
        .route("/v1/data-keys/{name}/grant", post(handlers::grant_data_key))
        .route(
            "/v1/data-keys/{name}/revoke",
            post(handlers::revoke_data_key),
        )
        .route(
            "/v1/data-keys/{name}/destroy",
            post(handlers::destroy_data_key_version),
        )
        .route("/v1/data-keys/{name}/encrypt", post(handlers::encrypt))
        .route("/v1/data-keys/{name}/decrypt", post(handlers::decrypt))
        .route(
            "/v1/data-keys/{name}/re-encrypt",
            post(handlers::re_encrypt),
        )
        .layer(DefaultBodyLimit::max(max_request_bytes))
        .route("/health", get(handlers::health))
        .route("/ready", get(handlers::ready))
        .route("/metrics", get(handlers::metrics))
        .fallback(handlers::not_found)
        .with_state(state)
}
