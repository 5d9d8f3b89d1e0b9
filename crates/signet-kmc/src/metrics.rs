//! Prometheus metrics of the KMC, served at `/metrics`.

use std::sync::atomic::AtomicU64;

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::histogram::{Histogram, exponential_buckets};
use prometheus_client::registry::Registry;

/// Labels of key pair counters.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct KeyTypeLabels {
    /// `sm2`, `p256`, ...
    pub key_type: String,
}

/// Labels of recovery counters.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct StepLabels {
    /// `request`, `approve`, `deliver`.
    pub step: String,
    /// `success` or `denied`.
    pub outcome: String,
}

/// Labels of data-key counters.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct DataKeyLabels {
    /// The data key.
    pub key: String,
    /// `encrypt`, `decrypt`, `re-encrypt`.
    pub op: String,
}

/// Labels of error counters.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct ErrorLabels {
    /// Error code as in the API body.
    pub code: String,
}

/// The KMC's metrics.
#[derive(Debug)]
pub struct KmcMetrics {
    /// Key pairs generated and escrowed.
    pub key_pairs: Family<KeyTypeLabels, Counter<u64, AtomicU64>>,
    /// Time to generate, escrow and envelope one key pair.
    pub key_pair_seconds: Histogram,
    /// Recovery steps.
    pub recovery_steps: Family<StepLabels, Counter<u64, AtomicU64>>,
    /// Data-key operations.
    pub data_key_ops: Family<DataKeyLabels, Counter<u64, AtomicU64>>,
    /// Requests refused or failed, by code.
    pub errors: Family<ErrorLabels, Counter<u64, AtomicU64>>,
}

impl KmcMetrics {
    /// Metrics registered nowhere (ceremonies, benchmarks).
    pub fn detached() -> std::sync::Arc<Self> {
        std::sync::Arc::new(Self::new(&mut Registry::default()))
    }

    /// Creates the metrics and registers them under `signet_kmc_`.
    pub fn new(registry: &mut Registry) -> Self {
        let m = KmcMetrics {
            key_pairs: Family::default(),
            key_pair_seconds: Histogram::new(exponential_buckets(0.000_1, 2.0, 16)),
            recovery_steps: Family::default(),
            data_key_ops: Family::default(),
            errors: Family::default(),
        };
        let r = registry.sub_registry_with_prefix("signet_kmc");
        r.register(
            "key_pairs",
            "Encryption key pairs generated and escrowed",
            m.key_pairs.clone(),
        );
        r.register(
            "key_pair_seconds",
            "Time to generate, escrow and envelope a key pair",
            m.key_pair_seconds.clone(),
        );
        r.register(
            "recovery_steps",
            "Key recovery requests, approvals and deliveries",
            m.recovery_steps.clone(),
        );
        r.register(
            "data_key_operations",
            "Data-key encryptions and decryptions",
            m.data_key_ops.clone(),
        );
        r.register("errors", "Requests refused or failed", m.errors.clone());
        m
    }

    pub(crate) fn step(&self, step: &str, outcome: &str) {
        self.recovery_steps
            .get_or_create(&StepLabels {
                step: step.to_owned(),
                outcome: outcome.to_owned(),
            })
            .inc();
    }
}
