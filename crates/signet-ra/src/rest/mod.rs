//! The REST API under `/api` for integrating systems (HR, CMDB, devices):
//! enroll, get, search and revoke, authenticated by API token or client
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
    for e in openapi::ENDPOINTS {
        r = r.route(e.path, (e.route)());
    }
    r.route("/api/docs", get(handlers::docs))
        .layer(DefaultBodyLimit::max(
            state.ra.settings().api_max_body_bytes,
        ))
}
