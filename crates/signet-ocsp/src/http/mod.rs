//! The responder's HTTP interface (plain HTTP). Handlers are thin:
//! extract, call the responder or the CRL store, hand the result to
//! `caching.rs` (successful answers and their cache headers) or
//! `errors.rs` (everything else).
//!
//! | route | |
//! |---|---|
//! | `POST /ocsp` (or `/ocsp/`) | RFC 6960 Appendix A.1: the DER request is the body |
//! | `GET /ocsp/{base64}` | RFC 6960 Appendix A.1 / RFC 5019 §5: the URL-encoded base64 of the DER request |
//! | `GET /crl/{file}` | the newest CRL (see `crls.rs` for the names) |
//! | `GET /ca/{issuer}.der` | the issuer certificate (AIA caIssuers) |
//! | `GET /health`, `/ready`, `/metrics` | operations |
//!
//! Other methods on these paths are answered 405 by the router.

mod caching;
mod crl;
mod errors;
mod ocsp;
mod ops;

use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::routing::{get, post};
use prometheus_client::registry::Registry;
use signet_store::StatusReader;

use crate::crls::PublishedCrls;
use crate::issuers::IssuerDirectory;
use crate::metrics::OcspMetrics;
use crate::responder::OcspResponder;

/// What handlers share.
#[derive(Clone, Debug)]
pub(crate) struct AppState {
    pub responder: Arc<OcspResponder>,
    pub crls: Arc<PublishedCrls>,
    pub issuers: Arc<IssuerDirectory>,
    pub reader: StatusReader,
    pub registry: Arc<Registry>,
    pub metrics: Arc<OcspMetrics>,
    /// Largest request, POST body or decoded GET.
    pub max_request_bytes: usize,
    /// How long a POST body may take to arrive.
    pub request_timeout: Duration,
    /// How long `/ready` waits for the database.
    pub query_timeout: Duration,
}

/// The responder's routes.
pub(crate) fn router(state: AppState) -> Router {
    Router::new()
        .route("/ocsp", post(ocsp::post).get(ocsp::get_empty))
        .route("/ocsp/", post(ocsp::post).get(ocsp::get_empty))
        // A wildcard: base64 may contain raw '/' (RFC 5019 §5 clients
        // often do not escape it).
        .route("/ocsp/{*request}", get(ocsp::get))
        .route("/crl/{file}", get(crl::crl))
        .route("/ca/{file}", get(crl::ca_certificate))
        .route("/health", get(ops::health))
        .route("/ready", get(ops::ready))
        .route("/metrics", get(ops::metrics))
        .fallback(errors::not_found)
        .with_state(state)
}
