//! Prometheus metrics of the responder, served at `/metrics`.

use std::sync::atomic::AtomicU64;

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{Histogram, exponential_buckets};
use prometheus_client::registry::Registry;

/// What an OCSP request was answered with.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Outcome {
    /// Every certificate asked about is good.
    Good,
    /// At least one is revoked (or on hold, or never issued when those are
    /// answered with the extended revoked).
    Revoked,
    /// None revoked, at least one unknown.
    Unknown,
    /// `malformedRequest`.
    Malformed,
    /// `unauthorized`.
    Unauthorized,
    /// `tryLater`.
    TryLater,
    /// `internalError`.
    Internal,
}

impl Outcome {
    /// The label value.
    pub fn as_str(self) -> &'static str {
        match self {
            Outcome::Good => "good",
            Outcome::Revoked => "revoked",
            Outcome::Unknown => "unknown",
            Outcome::Malformed => "malformed",
            Outcome::Unauthorized => "unauthorized",
            Outcome::TryLater => "try_later",
            Outcome::Internal => "internal",
        }
    }
}

/// Labels of the request counter.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct OutcomeLabels {
    /// One of [`Outcome`]'s values.
    pub outcome: &'static str,
}

/// Labels of the download counter.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct DownloadLabels {
    /// `full`, `delta` or `ca`.
    pub kind: &'static str,
}

/// The responder's metrics.
#[derive(Debug)]
pub struct OcspMetrics {
    /// OCSP requests answered, by outcome.
    pub requests: Family<OutcomeLabels, Counter<u64, AtomicU64>>,
    /// Requests answered from the pre-signed cache.
    pub cache_hits: Counter<u64, AtomicU64>,
    /// Cacheable requests (one certificate, no nonce) that had to be signed.
    pub cache_misses: Counter<u64, AtomicU64>,
    /// Pre-signed responses held.
    pub cache_entries: Gauge<i64, std::sync::atomic::AtomicI64>,
    /// Time to sign one response, including the wait for a token session.
    pub signing_seconds: Histogram,
    /// CRLs and CA certificates served.
    pub downloads: Family<DownloadLabels, Counter<u64, AtomicU64>>,
    /// Status changes read from the CA's feed.
    pub status_changes: Counter<u64, AtomicU64>,
}

impl OcspMetrics {
    /// Creates the metrics and registers them under `signet_ocsp_`.
    pub fn new(registry: &mut Registry) -> Self {
        let m = OcspMetrics {
            requests: Family::default(),
            cache_hits: Counter::default(),
            cache_misses: Counter::default(),
            cache_entries: Gauge::default(),
            signing_seconds: Histogram::new(exponential_buckets(0.000_05, 2.0, 16)),
            downloads: Family::default(),
            status_changes: Counter::default(),
        };
        let r = registry.sub_registry_with_prefix("signet_ocsp");
        r.register(
            "requests",
            "OCSP requests answered, by outcome",
            m.requests.clone(),
        );
        r.register(
            "cache_hits",
            "OCSP requests answered with a pre-signed response",
            m.cache_hits.clone(),
        );
        r.register(
            "cache_misses",
            "Cacheable OCSP requests that had to be signed",
            m.cache_misses.clone(),
        );
        r.register(
            "cache_entries",
            "Pre-signed OCSP responses held in memory",
            m.cache_entries.clone(),
        );
        r.register(
            "signing_seconds",
            "Time to sign one OCSP response, including the wait for a token session",
            m.signing_seconds.clone(),
        );
        r.register(
            "downloads",
            "CRLs (full, delta) and CA certificates (ca) served",
            m.downloads.clone(),
        );
        r.register(
            "status_changes",
            "Status changes read from the CA's change feed",
            m.status_changes.clone(),
        );
        m
    }

    /// Counts one answered request.
    pub fn answered(&self, outcome: Outcome) {
        self.requests
            .get_or_create(&OutcomeLabels {
                outcome: outcome.as_str(),
            })
            .inc();
    }
}
