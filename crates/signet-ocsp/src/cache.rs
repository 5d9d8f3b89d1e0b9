//! Pre-signed responses (the RFC 5019 profile): a request without a nonce
//! about one certificate is answered from memory while the response is
//! younger than half its validity and no status change has touched the
//! certificate since it was signed.
//!
//! Entries are keyed by (issuer, serial). A response echoes the CertID as
//! the client wrote it (SHA-1 or SHA-256 hashes, NULL or absent hash
//! parameters) and clients compare it, so each key holds up to
//! [`FORMS_PER_CERTIFICATE`] responses, one per CertID form.
//!
//! A response signed from a status read that a change overtook must not
//! be stored after the change dropped the key: a caller takes a
//! [`Ticket`] before reading the status, and [`ResponseCache::insert`]
//! refuses the response if the key's shard saw an invalidation since.

use std::collections::HashMap;
use std::hash::{BuildHasher, RandomState};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use bytes::Bytes;
use prometheus_client::metrics::gauge::Gauge;
use signet_core::ocsp::CertId;
use signet_core::{Serial, Timestamp};

use crate::metrics::Outcome;

/// Most lock shards: requests for different certificates rarely wait on
/// each other.
const MAX_SHARDS: usize = 64;

/// Fewest responses per shard: a small cache is one shard, so that its
/// capacity is not split into slivers.
const MIN_PER_SHARD: usize = 1024;

/// CertID forms kept per certificate.
pub(crate) const FORMS_PER_CERTIFICATE: usize = 4;

/// A signed response ready to be sent again.
#[derive(Debug)]
pub(crate) struct CachedResponse {
    /// The CertID it answers, as the client wrote it.
    pub cert_id: CertId,
    /// The `ocsp_signers` row of the key that signed it.
    pub signer_id: i64,
    /// The OCSPResponse, DER.
    pub der: Bytes,
    /// The HTTP entity tag (quoted).
    pub etag: String,
    /// thisUpdate.
    pub this_update: Timestamp,
    /// nextUpdate.
    pub next_update: Timestamp,
    /// When it stops being served from the cache: thisUpdate plus half
    /// the validity.
    pub refresh_at: Timestamp,
    /// The status it carries.
    pub outcome: Outcome,
}

type Key = (i64, Serial);

#[derive(Debug, Default)]
struct Shard {
    map: HashMap<Key, Vec<Arc<CachedResponse>>>,
    /// Responses held (a key holds one per CertID form).
    len: usize,
    /// Bumped whenever a key is invalidated.
    generation: u64,
}

/// Permission to store a response, taken before its status was read.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Ticket {
    shard: usize,
    generation: u64,
}

/// The cache of pre-signed responses.
#[derive(Debug)]
pub(crate) struct ResponseCache {
    shards: Vec<Mutex<Shard>>,
    per_shard: usize,
    hasher: RandomState,
    entries: Gauge<i64, std::sync::atomic::AtomicI64>,
}

fn count(n: usize) -> i64 {
    i64::try_from(n).unwrap_or(i64::MAX)
}

impl ResponseCache {
    /// A cache of about `capacity` responses (0: nothing is cached), whose
    /// size is reported to `entries`.
    pub fn new(capacity: usize, entries: Gauge<i64, std::sync::atomic::AtomicI64>) -> Self {
        let shards = if capacity == 0 {
            0
        } else {
            (capacity / MIN_PER_SHARD).clamp(1, MAX_SHARDS)
        };
        ResponseCache {
            shards: (0..shards).map(|_| Mutex::new(Shard::default())).collect(),
            per_shard: capacity.div_ceil(shards.max(1)).max(1),
            hasher: RandomState::new(),
            entries,
        }
    }

    fn shard_of(&self, issuer_id: i64, serial: &Serial) -> Option<(usize, MutexGuard<'_, Shard>)> {
        if self.shards.is_empty() {
            return None;
        }
        let hash = self.hasher.hash_one((issuer_id, serial));
        let shards = u64::try_from(self.shards.len()).unwrap_or(1);
        let index = usize::try_from(hash % shards).unwrap_or(0);
        let shard = self.shards.get(index)?;
        Some((index, shard.lock().unwrap_or_else(PoisonError::into_inner)))
    }

    /// The response for `cert_id` signed by `signer_id`, if one is held
    /// and still fresh at `now`.
    pub fn get(
        &self,
        issuer_id: i64,
        serial: &Serial,
        cert_id: &CertId,
        signer_id: i64,
        now: Timestamp,
    ) -> Option<Arc<CachedResponse>> {
        let (_, shard) = self.shard_of(issuer_id, serial)?;
        shard
            .map
            .get(&(issuer_id, serial.clone()))?
            .iter()
            .find(|r| r.signer_id == signer_id && &r.cert_id == cert_id && now < r.refresh_at)
            .cloned()
    }

    /// Taken before reading the status that a response will carry.
    pub fn ticket(&self, issuer_id: i64, serial: &Serial) -> Option<Ticket> {
        let (shard, guard) = self.shard_of(issuer_id, serial)?;
        Some(Ticket {
            shard,
            generation: guard.generation,
        })
    }

    /// Stores `response`, unless an invalidation in its shard happened
    /// since `ticket` was taken. Returns whether it was stored.
    pub fn insert(
        &self,
        ticket: Ticket,
        issuer_id: i64,
        serial: &Serial,
        response: Arc<CachedResponse>,
        now: Timestamp,
    ) -> bool {
        let Some((index, mut shard)) = self.shard_of(issuer_id, serial) else {
            return false;
        };
        if index != ticket.shard || shard.generation != ticket.generation {
            return false;
        }
        let before = shard.len;
        if shard.len >= self.per_shard {
            evict(&mut shard, self.per_shard, now);
        }
        let (was, is) = {
            let forms = shard.map.entry((issuer_id, serial.clone())).or_default();
            let was = forms.len();
            // The same form is replaced; stale forms go.
            forms.retain(|r| r.cert_id != response.cert_id && now < r.refresh_at);
            if forms.len() >= FORMS_PER_CERTIFICATE {
                let excess = forms.len() + 1 - FORMS_PER_CERTIFICATE;
                forms.drain(..excess);
            }
            forms.push(response);
            (was, forms.len())
        };
        shard.len = shard.len.saturating_sub(was).saturating_add(is);
        self.entries.inc_by(count(shard.len) - count(before));
        true
    }

    /// Drops every response about (issuer, serial) and refuses responses
    /// whose status was read before now.
    pub fn invalidate(&self, issuer_id: i64, serial: &Serial) {
        let Some((_, mut shard)) = self.shard_of(issuer_id, serial) else {
            return;
        };
        shard.generation = shard.generation.wrapping_add(1);
        if let Some(forms) = shard.map.remove(&(issuer_id, serial.clone())) {
            shard.len = shard.len.saturating_sub(forms.len());
            self.entries.dec_by(count(forms.len()));
        }
    }

    /// Drops everything.
    pub fn clear(&self) {
        for shard in &self.shards {
            let mut shard = shard.lock().unwrap_or_else(PoisonError::into_inner);
            shard.generation = shard.generation.wrapping_add(1);
            self.entries.dec_by(count(shard.len));
            shard.map.clear();
            shard.len = 0;
        }
    }

    /// Responses held.
    #[cfg(test)]
    pub fn len(&self) -> usize {
        self.shards
            .iter()
            .map(|s| s.lock().unwrap_or_else(PoisonError::into_inner).len)
            .sum()
    }
}

/// Makes room in a full shard: stale responses go first, then arbitrary
/// keys until an eighth of the shard is free, so that a shard full of
/// fresh responses is not scanned on every insert.
fn evict(shard: &mut Shard, per_shard: usize, now: Timestamp) {
    shard.map.retain(|_, forms| {
        forms.retain(|r| now < r.refresh_at);
        !forms.is_empty()
    });
    let mut len: usize = shard.map.values().map(Vec::len).sum();
    let target = per_shard - per_shard / 8 - 1;
    if len > target {
        let victims: Vec<Key> = shard
            .map
            .iter()
            .scan(len, |left, (key, forms)| {
                if *left <= target {
                    return None;
                }
                *left = left.saturating_sub(forms.len());
                Some(key.clone())
            })
            .collect();
        for key in victims {
            if let Some(forms) = shard.map.remove(&key) {
                len = len.saturating_sub(forms.len());
            }
        }
    }
    shard.len = len;
}

#[cfg(test)]
mod tests;
