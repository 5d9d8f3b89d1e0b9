//! Prometheus metrics of the RA, served at `/metrics`.

use std::sync::atomic::AtomicU64;

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::histogram::{Histogram, exponential_buckets};
use prometheus_client::registry::Registry;

/// Labels of login counters.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct LoginLabels {
    /// `password`, `totp`, `enroll` or `certificate`.
    pub method: String,
    /// `success`, `failure`, `locked`, `replayed` or `rate_limited`.
    pub outcome: String,
}

/// Labels of audit counters.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct OutcomeLabels {
    /// `success`, `denied` or `error`.
    pub outcome: String,
}

/// Labels of request latencies.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct RouteLabels {
    /// The route pattern (`/admin/officers/{id}`), never the raw path.
    pub route: String,
    /// HTTP method.
    pub method: String,
}

fn latency_histogram() -> Histogram {
    Histogram::new(exponential_buckets(0.000_5, 2.0, 16))
}

/// The RA's metrics.
#[derive(Debug)]
pub struct RaMetrics {
    /// Login attempts by method and outcome.
    pub logins: Family<LoginLabels, Counter<u64, AtomicU64>>,
    /// Accounts locked after repeated failures.
    pub lockouts: Counter<u64, AtomicU64>,
    /// Audit events written, by outcome.
    pub audit_events: Family<OutcomeLabels, Counter<u64, AtomicU64>>,
    /// Requests refused for a missing or wrong anti-CSRF token.
    pub csrf_refusals: Counter<u64, AtomicU64>,
    /// Request latency by route.
    pub request_seconds: Family<RouteLabels, Histogram, fn() -> Histogram>,
    /// Certificates the CA issued for approved requests.
    pub issued: Counter<u64, AtomicU64>,
}

impl RaMetrics {
    /// Creates the metrics and registers them under `signet_ra_`.
    pub fn new(registry: &mut Registry) -> Self {
        let m = RaMetrics {
            logins: Family::default(),
            lockouts: Counter::default(),
            audit_events: Family::default(),
            csrf_refusals: Counter::default(),
            request_seconds: Family::new_with_constructor(latency_histogram as fn() -> Histogram),
            issued: Counter::default(),
        };
        let r = registry.sub_registry_with_prefix("signet_ra");
        r.register(
            "logins",
            "Officer login attempts by method and outcome",
            m.logins.clone(),
        );
        r.register(
            "certificates_issued",
            "Certificates the CA issued for approved requests",
            m.issued.clone(),
        );
        r.register(
            "lockouts",
            "Accounts locked after repeated failed logins",
            m.lockouts.clone(),
        );
        r.register(
            "audit_events",
            "Audit events written, by outcome",
            m.audit_events.clone(),
        );
        r.register(
            "csrf_refusals",
            "Requests refused for a missing or wrong anti-CSRF token",
            m.csrf_refusals.clone(),
        );
        r.register(
            "http_request_seconds",
            "Time to answer a request, by route",
            m.request_seconds.clone(),
        );
        m
    }

    /// Metrics registered nowhere (ceremony, verification).
    pub fn detached() -> Self {
        Self::new(&mut Registry::default())
    }

    /// Counts a login attempt.
    pub fn login(&self, method: &str, outcome: &str) {
        self.logins
            .get_or_create(&LoginLabels {
                method: method.to_owned(),
                outcome: outcome.to_owned(),
            })
            .inc();
    }
}
