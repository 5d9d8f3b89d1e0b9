//! CRLs as the CA published them to its database, served from an
//! in-memory copy. A copy older than `crl_refresh` is checked against the
//! database (the newest CRL's number only: a large CRL is megabytes) and
//! replaced when a newer CRL exists. When the database does not answer,
//! the copy held is served: it is signed and carries its own nextUpdate.
//!
//! File names follow the URLs the CA writes into certificates
//! (`signet init`: `{issuer}.crl` and `{issuer}-delta.crl`; partitioned
//! CRLs add the shard):
//!
//! | file | CRL |
//! |---|---|
//! | `{issuer}.crl` | shard 0, full |
//! | `{issuer}-{shard}.crl` | that shard, full |
//! | `{issuer}-delta.crl` | shard 0, delta |
//! | `{issuer}-{shard}-delta.crl` | that shard, delta |

use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use bytes::Bytes;
use signet_core::Timestamp;
use signet_store::{CrlKind, StatusReader};
use tokio::time::Instant;

use crate::error::DownloadError;
use crate::issuers::{IssuerDirectory, Issuers};
use crate::responder::etag;

/// Which CRL a file name asks for.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub(crate) struct CrlFile {
    /// Issuer id.
    pub issuer_id: i64,
    /// Partition.
    pub shard: i64,
    /// Full or delta.
    pub kind: CrlKind,
}

/// A CRL ready to be sent.
#[derive(Debug)]
pub(crate) struct CrlCopy {
    /// cRLNumber.
    pub number: i64,
    /// The CRL, DER.
    pub der: Bytes,
    /// thisUpdate.
    pub this_update: Timestamp,
    /// nextUpdate.
    pub next_update: Timestamp,
    /// The HTTP entity tag (quoted).
    pub etag: String,
    /// Full or delta.
    pub kind: CrlKind,
}

#[derive(Debug, Default)]
struct Slot {
    checked: Option<Instant>,
    copy: Option<Arc<CrlCopy>>,
}

/// The CRLs served, refreshed on demand.
#[derive(Debug)]
pub(crate) struct PublishedCrls {
    reader: StatusReader,
    issuers: Arc<IssuerDirectory>,
    refresh: Duration,
    query_timeout: Duration,
    /// One slot per CRL asked for; its lock makes one request check the
    /// database while the others wait for its answer.
    slots: Mutex<HashMap<CrlFile, Arc<tokio::sync::Mutex<Slot>>>>,
}

/// `name-<shard>`: the name and the shard number.
fn sharded(stem: &str) -> Option<(&str, i64)> {
    let (name, shard) = stem.rsplit_once('-')?;
    if shard.is_empty() || !shard.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    // CRL shards are numbered in a u16 (IssuerUrls::crl_shards).
    Some((name, i64::from(shard.parse::<u16>().ok()?)))
}

/// Parses a CRL file name against the issuers' names. An issuer whose
/// name itself ends in `-<digits>` or `-delta` is matched whole first.
pub(crate) fn parse_crl_file(issuers: &Issuers, file: &str) -> Option<CrlFile> {
    let stem = file.strip_suffix(".crl")?;
    let full = |name: &str, shard| {
        issuers.by_name(name).map(|i| CrlFile {
            issuer_id: i.id,
            shard,
            kind: CrlKind::Full,
        })
    };
    let as_full =
        |stem: &str| full(stem, 0).or_else(|| sharded(stem).and_then(|(n, s)| full(n, s)));
    as_full(stem).or_else(|| {
        let base = stem.strip_suffix("-delta")?;
        as_full(base).map(|f| CrlFile {
            kind: CrlKind::Delta,
            ..f
        })
    })
}

impl PublishedCrls {
    /// Serves the CRLs of `issuers`' database.
    pub fn new(
        reader: StatusReader,
        issuers: Arc<IssuerDirectory>,
        refresh: Duration,
        query_timeout: Duration,
    ) -> Self {
        PublishedCrls {
            reader,
            issuers,
            refresh,
            query_timeout,
            slots: Mutex::new(HashMap::new()),
        }
    }

    /// The issuer certificate (DER) of the issuer called `name`.
    pub fn issuer_certificate(&self, name: &str) -> Result<Bytes, DownloadError> {
        self.issuers
            .snapshot()
            .by_name(name)
            .map(|i| i.certificate.clone())
            .ok_or(DownloadError::NotFound)
    }

    /// The newest CRL for a file name.
    pub async fn get(&self, file: &str) -> Result<Arc<CrlCopy>, DownloadError> {
        let which =
            parse_crl_file(&self.issuers.snapshot(), file).ok_or(DownloadError::NotFound)?;
        let slot = {
            let mut slots = self.slots.lock().unwrap_or_else(PoisonError::into_inner);
            Arc::clone(slots.entry(which).or_default())
        };
        let mut slot = slot.lock().await;
        if let (Some(checked), Some(copy)) = (slot.checked, &slot.copy)
            && checked.elapsed() < self.refresh
        {
            return Ok(Arc::clone(copy));
        }
        let result = self.fetch(which, slot.copy.as_ref()).await;
        slot.checked = Some(Instant::now());
        match result {
            Ok(Some(copy)) => {
                slot.copy = Some(Arc::clone(&copy));
                Ok(copy)
            }
            Ok(None) => {
                drop(slot);
                // Nothing published under this name: forget the slot, so
                // that names asked for at random do not pile up.
                self.slots
                    .lock()
                    .unwrap_or_else(PoisonError::into_inner)
                    .remove(&which);
                Err(DownloadError::NotFound)
            }
            Err(reason) => match &slot.copy {
                Some(copy) => {
                    tracing::warn!(%reason, file, "cannot check for a newer CRL; serving the copy held");
                    Ok(Arc::clone(copy))
                }
                None => {
                    tracing::warn!(%reason, file, "cannot read CRL");
                    Err(DownloadError::Unavailable)
                }
            },
        }
    }

    /// The newest CRL, reusing `held` when it is still the newest.
    async fn fetch(
        &self,
        which: CrlFile,
        held: Option<&Arc<CrlCopy>>,
    ) -> Result<Option<Arc<CrlCopy>>, String> {
        let timeout = self.query_timeout;
        let number = tokio::time::timeout(
            timeout,
            self.reader
                .latest_crl_number(which.issuer_id, which.shard, which.kind),
        )
        .await
        .map_err(|_| format!("no answer within {timeout:?}"))?
        .map_err(|e| e.to_string())?;
        let Some(number) = number else {
            return Ok(None);
        };
        if let Some(held) = held
            && held.number == number
        {
            return Ok(Some(Arc::clone(held)));
        }
        let record = tokio::time::timeout(
            timeout,
            self.reader
                .latest_crl(which.issuer_id, which.shard, which.kind),
        )
        .await
        .map_err(|_| format!("no answer within {timeout:?}"))?
        .map_err(|e| e.to_string())?;
        Ok(record.map(|r| {
            let der = Bytes::from(r.der);
            Arc::new(CrlCopy {
                number: r.number,
                etag: etag(&der),
                der,
                this_update: r.this_update,
                next_update: r.next_update,
                kind: r.kind,
            })
        }))
    }
}

#[cfg(test)]
mod tests;
