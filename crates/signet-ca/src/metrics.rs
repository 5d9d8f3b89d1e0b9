//! Prometheus metrics of the CA, served at `/metrics`.

use std::sync::atomic::AtomicU64;

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::histogram::{Histogram, exponential_buckets};
use prometheus_client::registry::Registry;

/// Labels of issuance counters.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct IssueLabels {
    /// Issuer name.
    pub issuer: String,
    /// Profile name.
    pub profile: String,
}

/// Labels of error counters.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct ErrorLabels {
    /// Error code as in the API body.
    pub code: String,
}

/// Labels of status-change counters.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct ChangeLabels {
    /// `revoke`, `suspend` or `resume`.
    pub change: String,
}

/// The CA's metrics.
#[derive(Debug)]
pub struct CaMetrics {
    /// Certificates issued.
    pub issued: Family<IssueLabels, Counter<u64, AtomicU64>>,
    /// Requests refused or failed, by code.
    pub errors: Family<ErrorLabels, Counter<u64, AtomicU64>>,
    /// Status changes made.
    pub status_changes: Family<ChangeLabels, Counter<u64, AtomicU64>>,
    /// Time spent in the token per signature.
    pub signing_seconds: Histogram,
    /// Pending rows finished after a restart or a signing failure.
    pub reconciled: Counter<u64, AtomicU64>,
}

impl CaMetrics {
    /// Metrics registered nowhere, for an authority used in-process (the
    /// key ceremony).
    pub fn detached() -> std::sync::Arc<Self> {
        std::sync::Arc::new(Self::new(&mut Registry::default()))
    }

    /// Creates the metrics and registers them under `signet_ca_`.
    pub fn new(registry: &mut Registry) -> Self {
        let m = CaMetrics {
            issued: Family::default(),
            errors: Family::default(),
            status_changes: Family::default(),
            signing_seconds: Histogram::new(exponential_buckets(0.000_05, 2.0, 16)),
            reconciled: Counter::default(),
        };
        let r = registry.sub_registry_with_prefix("signet_ca");
        r.register(
            "certificates_issued",
            "Certificates issued",
            m.issued.clone(),
        );
        r.register("errors", "Requests refused or failed", m.errors.clone());
        r.register(
            "status_changes",
            "Revocations, suspensions and resumptions",
            m.status_changes.clone(),
        );
        r.register(
            "signing_seconds",
            "Time to sign one certificate in the token",
            m.signing_seconds.clone(),
        );
        r.register(
            "reconciled",
            "Pending certificates finished after a restart",
            m.reconciled.clone(),
        );
        m
    }
}
