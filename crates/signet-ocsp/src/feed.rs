//! Following the CA's status-change feed: every revocation, suspension and
//! resumption appends a row to `status_changes` in the same transaction as
//! the change, and the responder drops the cached responses of each
//! (issuer, serial) it reads there, every `poll_interval`.
//!
//! On PostgreSQL the feed's `seq` comes from a sequence, and transactions
//! commit in any order: row 11 can be visible before row 10 is. The
//! reader therefore does not simply remember the highest `seq` seen; a
//! [`FeedCursor`] keeps the lowest position below which every row has been
//! seen, re-reads from there, and treats a missing row as a transaction
//! still in flight for [`GAP_PATIENCE`] (a rolled-back change leaves a
//! hole that never fills). A hole given up on empties the whole cache, in
//! case it was a very slow transaction rather than a rollback.
//!
//! Cached responses are trusted only while the feed is being read: when
//! polls fail for longer than [`FeedHealth::stale_after`], requests skip
//! the cache and read the status themselves.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use signet_store::{StatusChangeRecord, StatusReader};
use tokio::time::Instant;

use crate::cache::ResponseCache;
use crate::metrics::OcspMetrics;

/// How long a hole in the feed is waited for before it is taken for a
/// rolled-back transaction.
pub(crate) const GAP_PATIENCE: Duration = Duration::from_secs(30);

/// Most holes tracked at once; a larger jump in `seq` is not waited for.
const MAX_GAPS: i64 = 10_000;

/// Rows read per query.
const PAGE: i64 = 1000;

/// Where the reader stands in the feed.
#[derive(Debug)]
pub(crate) struct FeedCursor {
    /// Every row at or below this position has been handled (or given up on).
    low: i64,
    /// Rows above `low` already handled.
    seen: BTreeSet<i64>,
    /// Positions above `low` not seen yet, with when they were first missed.
    gaps: BTreeMap<i64, Instant>,
}

impl FeedCursor {
    /// A cursor after position `start` (the feed's end when the responder
    /// starts: its cache is empty, so earlier changes do not matter).
    pub fn new(start: i64) -> Self {
        FeedCursor {
            low: start,
            seen: BTreeSet::new(),
            gaps: BTreeMap::new(),
        }
    }

    /// The position to read after.
    pub fn low(&self) -> i64 {
        self.low
    }

    /// Takes rows read after [`Self::low`] (in `seq` order) and returns those
    /// not handled before.
    pub fn absorb<'a>(
        &mut self,
        rows: &'a [StatusChangeRecord],
        now: Instant,
    ) -> Vec<&'a StatusChangeRecord> {
        let previous_top = self.top();
        let mut fresh = Vec::new();
        for row in rows {
            if row.seq > self.low && self.seen.insert(row.seq) {
                self.gaps.remove(&row.seq);
                fresh.push(row);
            }
        }
        let top = self.top();
        if top > previous_top.saturating_add(1) && top - previous_top <= MAX_GAPS {
            for seq in previous_top.saturating_add(1)..top {
                if !self.seen.contains(&seq) {
                    self.gaps.entry(seq).or_insert(now);
                }
            }
        }
        fresh
    }

    /// Gives up on holes older than `patience` and moves `low` up to just
    /// below the oldest hole still waited for. Returns how many holes were
    /// given up on.
    pub fn advance(&mut self, now: Instant, patience: Duration) -> usize {
        let before = self.gaps.len();
        self.gaps
            .retain(|_, since| now.saturating_duration_since(*since) < patience);
        let abandoned = before - self.gaps.len();
        let top = self.top();
        self.low = match self.gaps.keys().next() {
            Some(&oldest) => oldest.saturating_sub(1).max(self.low),
            None => top,
        };
        let low = self.low;
        self.seen.retain(|&seq| seq > low);
        abandoned
    }

    /// The highest position handled.
    fn top(&self) -> i64 {
        self.seen.last().copied().unwrap_or(self.low).max(self.low)
    }

    /// Holes waited for.
    #[cfg(test)]
    pub fn gaps(&self) -> Vec<i64> {
        self.gaps.keys().copied().collect()
    }
}

/// When the feed was last read successfully.
#[derive(Debug)]
pub(crate) struct FeedHealth {
    origin: Instant,
    last_ok_ms: AtomicU64,
    stale_after: Duration,
}

impl FeedHealth {
    /// Fresh as of now; stale once no poll succeeded for
    /// `max(2 s, 10 × poll_interval)`.
    pub fn new(poll_interval: Duration) -> Self {
        FeedHealth {
            origin: Instant::now(),
            last_ok_ms: AtomicU64::new(0),
            stale_after: poll_interval.saturating_mul(10).max(Duration::from_secs(2)),
        }
    }

    fn elapsed_ms(&self) -> u64 {
        u64::try_from(self.origin.elapsed().as_millis()).unwrap_or(u64::MAX)
    }

    /// Records a successful poll.
    pub fn mark_ok(&self) {
        self.last_ok_ms.store(self.elapsed_ms(), Ordering::Relaxed);
    }

    /// Whether cached responses may be trusted.
    pub fn is_fresh(&self) -> bool {
        let since = self
            .elapsed_ms()
            .saturating_sub(self.last_ok_ms.load(Ordering::Relaxed));
        u128::from(since) <= self.stale_after.as_millis()
    }
}

/// What the follower task needs.
#[derive(Debug)]
pub(crate) struct FeedFollower {
    pub reader: StatusReader,
    pub cache: Arc<ResponseCache>,
    pub health: Arc<FeedHealth>,
    pub metrics: Arc<OcspMetrics>,
    pub poll_interval: Duration,
    pub query_timeout: Duration,
}

impl FeedFollower {
    /// Polls the feed forever, starting after `cursor`.
    pub async fn run(self, mut cursor: FeedCursor) {
        let mut ticks = tokio::time::interval(self.poll_interval);
        ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        let mut failing = false;
        loop {
            ticks.tick().await;
            match self.poll(&mut cursor).await {
                Ok(()) => {
                    self.health.mark_ok();
                    if failing {
                        tracing::info!("status change feed readable again");
                        failing = false;
                    }
                }
                Err(reason) => {
                    if !failing {
                        tracing::warn!(%reason, "cannot read the status change feed; cached responses are bypassed until it recovers");
                        failing = true;
                    }
                }
            }
        }
    }

    /// Reads every row after the cursor, page by page, and drops the
    /// cached responses they name.
    async fn poll(&self, cursor: &mut FeedCursor) -> Result<(), String> {
        let mut after = cursor.low();
        loop {
            let rows =
                tokio::time::timeout(self.query_timeout, self.reader.changes_since(after, PAGE))
                    .await
                    .map_err(|_| format!("no answer within {:?}", self.query_timeout))?
                    .map_err(|e| e.to_string())?;
            for change in cursor.absorb(&rows, Instant::now()) {
                self.cache.invalidate(change.issuer_id, &change.serial);
                self.metrics.status_changes.inc();
                tracing::debug!(
                    seq = change.seq,
                    issuer = change.issuer_id,
                    serial = %change.serial,
                    status = %change.status.as_str(),
                    "status change"
                );
            }
            match rows.last() {
                Some(last) if i64::try_from(rows.len()).unwrap_or(i64::MAX) >= PAGE => {
                    after = last.seq;
                }
                _ => break,
            }
        }
        let abandoned = cursor.advance(Instant::now(), GAP_PATIENCE);
        if abandoned > 0 {
            // Most likely rolled back; but a change that commits later
            // would never be read, so nothing cached may outlive the doubt.
            tracing::warn!(
                abandoned,
                "status change feed positions never filled; dropping every cached response"
            );
            self.cache.clear();
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests;
