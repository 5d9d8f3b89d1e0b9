//! The REST API under `/api` for integrating systems (HR, CMDB, devices):
//! enroll, get, search and revoke, submit batches and fetch their results, authenticated by API token or client
//! certificate of a registered API client, with replay protection
//! (timestamp + nonce), `Idempotency-Key`, per-client rate limits and a
//! body size limit. The OpenAPI document at `/api/openapi.json` and the
//! page at `/api/docs` are built from the same table as the routes.

mod errors;
mod handlers;
mod openapi;
pub(crate) mod wire;

use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::routing::get;

use crate::web::AppState;

/// The API's routes (without the console's session and anti-CSRF layers:
/// API calls carry no cookies).
pub(crate) fn router(state: &AppState) -> Router<AppState> {
    let mut r = Router::new();
    let batch_limit = state.ra.settings().api_max_batch_body_bytes;
    for e in openapi::ENDPOINTS {
        let mut route = (e.route)();
        if e.operation_id == openapi::BATCH_SUBMIT {
            // Inside the API-wide limit below, so it replaces it here.
            route = route.layer(DefaultBodyLimit::max(batch_limit));
        }
        r = r.route(e.path, route);
    }
    r.route("/api/docs", get(handlers::docs))
        .layer(DefaultBodyLimit::max(
            state.ra.settings().api_max_body_bytes,
        ))
}
