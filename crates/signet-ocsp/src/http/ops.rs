//! Operations endpoints: liveness, readiness, metrics.

use axum::extract::State;
use axum::http::StatusCode;
use axum::http::header::CONTENT_TYPE;
use axum::response::{IntoResponse, Response};

use super::AppState;

/// `GET /health`: the process answers.
pub(crate) async fn health() -> &'static str {
    "ok"
}

/// `GET /ready`: the database answers and at least one issuer has a
/// delegated signer loaded.
pub(crate) async fn ready(State(state): State<AppState>) -> Response {
    let database = tokio::time::timeout(state.query_timeout, state.reader.last_change_seq()).await;
    if !matches!(database, Ok(Ok(_))) {
        return (
            StatusCode::SERVICE_UNAVAILABLE,
            "not ready: database unreachable\n",
        )
            .into_response();
    }
    if state.issuers.snapshot().served() == 0 {
        return (
            StatusCode::SERVICE_UNAVAILABLE,
            "not ready: no OCSP signer loaded\n",
        )
            .into_response();
    }
    "ready".into_response()
}

/// `GET /metrics`: Prometheus text format.
pub(crate) async fn metrics(State(state): State<AppState>) -> Response {
    let mut text = String::new();
    if prometheus_client::encoding::text::encode(&mut text, &state.registry).is_err() {
        return StatusCode::INTERNAL_SERVER_ERROR.into_response();
    }
    (
        [(
            CONTENT_TYPE,
            "application/openmetrics-text; version=1.0.0; charset=utf-8",
        )],
        text,
    )
        .into_response()
}
