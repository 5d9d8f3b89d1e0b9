//! Answering one OCSP request: parse and check it, find the issuer and its
//! delegated signer, serve a pre-signed response or read each status and
//! sign a fresh one.
//!
//! Every path ends in a signed response or an [`OcspError`], whose
//! variants are RFC 6960's unsuccessful response statuses: a request that
//! does not parse is `malformedRequest`, an issuer not served is
//! `unauthorized`, a database that does not answer is `tryLater`, a
//! signature that cannot be made is `internalError`.

use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use sha2::Digest as _;
use signet_core::ocsp::{CertId, OcspError, SingleAnswer, parse_request};
use signet_core::{CertificateStatus, Clock, RevocationReason, Serial, Timestamp};
use signet_store::StatusReader;
use tokio::sync::Semaphore;

use crate::cache::{CachedResponse, ResponseCache, Ticket};
use crate::config::{Settings, Unissued};
use crate::feed::FeedHealth;
use crate::issuers::{IssuerDirectory, Responder};
use crate::metrics::{OcspMetrics, Outcome};

/// A successful response and what HTTP caching needs to know of it.
#[derive(Clone, Debug)]
pub(crate) struct SignedResponse {
    /// The OCSPResponse, DER.
    pub der: Bytes,
    /// thisUpdate (all SingleResponses share it).
    pub this_update: Timestamp,
    /// nextUpdate.
    pub next_update: Timestamp,
    /// The HTTP entity tag (quoted).
    pub etag: String,
    /// Whether it echoes a nonce (then it must not be cached anywhere).
    pub has_nonce: bool,
    /// What it says, for the metrics.
    pub outcome: Outcome,
}

impl From<&CachedResponse> for SignedResponse {
    fn from(c: &CachedResponse) -> Self {
        SignedResponse {
            der: c.der.clone(),
            this_update: c.this_update,
            next_update: c.next_update,
            etag: c.etag.clone(),
            has_nonce: false,
            outcome: c.outcome,
        }
    }
}

/// What the responder needs, assembled by `service.rs`.
pub(crate) struct ResponderParts {
    pub issuers: Arc<IssuerDirectory>,
    pub reader: StatusReader,
    pub cache: Arc<ResponseCache>,
    pub feed: Arc<FeedHealth>,
    pub clock: Arc<dyn Clock>,
    pub settings: Settings,
    pub signing_threads: usize,
    pub metrics: Arc<OcspMetrics>,
}

/// The OCSP responder proper.
pub(crate) struct OcspResponder {
    issuers: Arc<IssuerDirectory>,
    reader: StatusReader,
    cache: Arc<ResponseCache>,
    feed: Arc<FeedHealth>,
    clock: Arc<dyn Clock>,
    validity: Duration,
    query_timeout: Duration,
    max_certs: usize,
    unissued: Unissued,
    /// As many signatures at once as the token has sessions: more would
    /// only queue on the session pool as blocked OS threads.
    signing_slots: Semaphore,
    metrics: Arc<OcspMetrics>,
}

impl std::fmt::Debug for OcspResponder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("OcspResponder")
            .field("validity", &self.validity)
            .field("max_certs", &self.max_certs)
            .field("unissued", &self.unissued)
            .finish_non_exhaustive()
    }
}

impl OcspResponder {
    /// Assembles the responder.
    pub fn new(parts: ResponderParts) -> Self {
        OcspResponder {
            issuers: parts.issuers,
            reader: parts.reader,
            cache: parts.cache,
            feed: parts.feed,
            clock: parts.clock,
            validity: parts.settings.validity,
            query_timeout: parts.settings.query_timeout,
            max_certs: parts.settings.max_certs,
            unissued: parts.settings.unissued,
            signing_slots: Semaphore::new(parts.signing_threads.max(1)),
            metrics: parts.metrics,
        }
    }

    /// The current time, for HTTP headers.
    pub fn now(&self) -> Timestamp {
        self.clock.now()
    }

    /// Answers the DER request `der`.
    pub async fn respond(&self, der: &[u8]) -> Result<SignedResponse, OcspError> {
        let request = parse_request(der, self.max_certs)?;
        let issuers = self.issuers.snapshot();
        // One signature covers the whole response, and a delegated signer
        // speaks for its own issuer only (RFC 6960 §4.2.2.2): every CertID
        // must name the same served issuer.
        let mut served = None;
        for cert in &request.certs {
            let issuer = issuers.find(&cert.cert_id).ok_or(OcspError::Unauthorized)?;
            match served {
                None => served = Some(issuer),
                Some(first) if first.id == issuer.id => {}
                Some(_) => return Err(OcspError::Unauthorized),
            }
        }
        let issuer = served.ok_or(OcspError::Malformed("empty requestList"))?;
        let responder = issuer
            .responder
            .clone()
            .filter(|r| r.not_after > self.clock.now())
            .ok_or(OcspError::Unauthorized)?;
        // RFC 5019 profile: one certificate, no nonce, may be pre-signed.
        let cacheable = match (request.certs.as_slice(), &request.nonce) {
            ([single], None) => single.serial.as_ref().map(|s| (s, &single.cert_id)),
            _ => None,
        };
        let mut ticket = None;
        if let Some((serial, cert_id)) = cacheable {
            if let Some(hit) = self.cached(issuer.id, serial, cert_id, &responder) {
                self.metrics.cache_hits.inc();
                return Ok(SignedResponse::from(&*hit));
            }
            self.metrics.cache_misses.inc();
            // Taken before the status is read (see cache.rs).
            ticket = self.cache.ticket(issuer.id, serial);
        }

        let mut answers = Vec::with_capacity(request.certs.len());
        for cert in &request.certs {
            let answer = self.status(issuer.id, cert.serial.as_ref()).await?;
            answers.push((cert.cert_id.clone(), answer));
        }
        let signed = self
            .sign(&responder, &answers, request.nonce.as_deref())
            .await?;
        if let (Some((serial, cert_id)), Some(ticket)) = (cacheable, ticket) {
            self.store(ticket, issuer.id, serial, cert_id, &responder, &signed);
        }
        Ok(signed)
    }

    /// A pre-signed response, when the change feed is being followed (a
    /// cached answer is only as fresh as the feed).
    fn cached(
        &self,
        issuer_id: i64,
        serial: &Serial,
        cert_id: &CertId,
        responder: &Responder,
    ) -> Option<Arc<CachedResponse>> {
        if !self.feed.is_fresh() {
            return None;
        }
        self.cache.get(
            issuer_id,
            serial,
            cert_id,
            responder.signer_id,
            self.clock.now(),
        )
    }

    fn store(
        &self,
        ticket: Ticket,
        issuer_id: i64,
        serial: &Serial,
        cert_id: &CertId,
        responder: &Responder,
        signed: &SignedResponse,
    ) {
        if !self.feed.is_fresh() {
            return;
        }
        let half = i64::try_from(self.validity.as_secs() / 2).unwrap_or(i64::MAX);
        let entry = CachedResponse {
            cert_id: cert_id.clone(),
            signer_id: responder.signer_id,
            der: signed.der.clone(),
            etag: signed.etag.clone(),
            this_update: signed.this_update,
            next_update: signed.next_update,
            refresh_at: Timestamp::from_unix(signed.this_update.unix().saturating_add(half)),
            outcome: signed.outcome,
        };
        self.cache
            .insert(ticket, issuer_id, serial, Arc::new(entry), self.clock.now());
    }

    /// What to say about a serial the CA never issued: never "good".
    fn unissued(&self) -> SingleAnswer {
        match self.unissued {
            Unissued::Unknown => SingleAnswer::Unknown,
            Unissued::Revoked => SingleAnswer::NotIssued,
        }
    }

    /// Reads one certificate's status.
    async fn status(
        &self,
        issuer_id: i64,
        serial: Option<&Serial>,
    ) -> Result<SingleAnswer, OcspError> {
        // A serial that is not a positive integer of at most 20 octets
        // belongs to no certificate.
        let Some(serial) = serial else {
            return Ok(self.unissued());
        };
        let state = tokio::time::timeout(self.query_timeout, self.reader.state(issuer_id, serial))
            .await
            .map_err(|_| {
                tracing::warn!(timeout = ?self.query_timeout, "status query timed out");
                OcspError::TryLater
            })?
            .map_err(|error| {
                tracing::warn!(%error, "status query failed");
                OcspError::TryLater
            })?;
        let Some(state) = state else {
            return Ok(self.unissued());
        };
        let revoked_at = || {
            state.revoked_at.ok_or_else(|| {
                tracing::error!(%serial, "revoked certificate without a revocation time");
                OcspError::Internal
            })
        };
        Ok(match state.status {
            CertificateStatus::Good => SingleAnswer::Good,
            // A suspension is revoked with certificateHold (RFC 5280 §5.3.1).
            CertificateStatus::Suspended => SingleAnswer::Revoked {
                at: revoked_at()?,
                reason: Some(RevocationReason::CertificateHold),
            },
            CertificateStatus::Revoked => SingleAnswer::Revoked {
                at: revoked_at()?,
                reason: state.reason,
            },
            // Pending: a serial reserved and maybe being signed, not
            // issued. Any status added later is not "good" either until
            // this code says so.
            _ => self.unissued(),
        })
    }

    /// Builds, signs and assembles a response.
    async fn sign(
        &self,
        responder: &Arc<Responder>,
        answers: &[(CertId, SingleAnswer)],
        nonce: Option<&[u8]>,
    ) -> Result<SignedResponse, OcspError> {
        let now = self.clock.now();
        let next_update = now.plus(self.validity);
        let tbs = responder
            .builder
            .tbs(answers, now, now, next_update, nonce)?;
        let started = std::time::Instant::now();
        let slot = self
            .signing_slots
            .acquire()
            .await
            .map_err(|_| OcspError::Internal)?;
        let signer = Arc::clone(&responder.signer);
        let (tbs, signature) = tokio::task::spawn_blocking(move || {
            let signature = signer.sign(&tbs);
            (tbs, signature)
        })
        .await
        .map_err(|_| {
            tracing::error!("signing task failed");
            OcspError::Internal
        })?;
        drop(slot);
        self.metrics
            .signing_seconds
            .observe(started.elapsed().as_secs_f64());
        let signature = signature.map_err(|error| {
            tracing::error!(%error, key = %responder.key_label, "OCSP signing failed");
            OcspError::Internal
        })?;
        let der = Bytes::from(responder.builder.assemble(&tbs, &signature)?);
        Ok(SignedResponse {
            etag: etag(&der),
            der,
            this_update: now,
            next_update,
            has_nonce: nonce.is_some(),
            outcome: outcome_of(answers),
        })
    }
}

/// The most telling status of a response: revoked, else unknown, else good.
fn outcome_of(answers: &[(CertId, SingleAnswer)]) -> Outcome {
    let mut outcome = Outcome::Good;
    for (_, answer) in answers {
        match answer {
            SingleAnswer::Revoked { .. } | SingleAnswer::NotIssued => return Outcome::Revoked,
            SingleAnswer::Unknown => outcome = Outcome::Unknown,
            _ => {}
        }
    }
    outcome
}

/// A strong entity tag: the first 128 bits of the response's SHA-256, hex.
pub(crate) fn etag(der: &[u8]) -> String {
    let digest = sha2::Sha256::digest(der);
    format!("\"{}\"", hex::encode(digest.get(..16).unwrap_or_default()))
}

#[cfg(test)]
mod tests;
