//! The CA's domain logic: issue, change status, reconcile.

mod issuers;

use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use sha2::{Digest, Sha256};
use signet_core::csr::VerifiedCsr;
use signet_core::issuance::{CertificateRequest, IssuanceToken, IssuedCertificate};
use signet_core::names::{parse_general_name, parse_name};
use signet_core::{Clock, IssueError, Profile, RevocationReason, Serial, Timestamp, prepare};
use signet_store::{
    CaStore, CertificateRecord, IssuanceJournal, NewPending, PendingOutcome, StatusChange,
    StatusOutcome,
};

pub use issuers::IssuerKey;

use crate::CaMetrics;
use crate::error::CaError;
use crate::metrics::{ChangeLabels, IssueLabels};

/// Attempts at drawing a fresh serial before giving up (a collision of
/// 127-bit random serials means a broken random source).
const SERIAL_ATTEMPTS: usize = 3;

/// How long a call waits for another call working on the same request id.
const IN_PROGRESS_WAIT: Duration = Duration::from_secs(30);

/// A validated issuance request.
#[derive(Clone, Debug)]
pub struct IssueCommand {
    /// Idempotency key.
    pub request_id: String,
    /// Profile name.
    pub profile: String,
    /// Issuer name, or the default.
    pub issuer: Option<String>,
    /// The CSR as received (PEM or DER).
    pub csr: Vec<u8>,
    /// Subject replacing the CSR's.
    pub subject: Option<String>,
    /// SANs replacing the CSR's.
    pub sans: Option<Vec<String>>,
    /// Validity asked for.
    pub validity: Option<Duration>,
}

impl IssueCommand {
    /// A digest of everything that makes the request what it is, to tell a
    /// retry (same digest) from a reused request id (different digest).
    fn digest(&self) -> Vec<u8> {
        let mut h = Sha256::new();
        let mut field = |bytes: &[u8]| {
            h.update((bytes.len() as u64).to_be_bytes());
            h.update(bytes);
        };
        field(self.profile.as_bytes());
        field(self.issuer.as_deref().unwrap_or("").as_bytes());
        field(&self.csr);
        field(self.subject.as_deref().unwrap_or("\0").as_bytes());
        field(
            self.sans
                .as_ref()
                .map(|s| s.join("\n"))
                .unwrap_or_else(|| "\0".into())
                .as_bytes(),
        );
        field(
            &self
                .validity
                .map(|d| d.as_secs())
                .unwrap_or(0)
                .to_be_bytes(),
        );
        h.finalize().to_vec()
    }
}

/// A status change request.
#[derive(Clone, Debug)]
pub struct StatusCommand {
    /// The serial.
    pub serial: Serial,
    /// The issuer, when given.
    pub issuer: Option<String>,
    /// What to do.
    pub change: StatusChange,
}

/// A certificate handed back to a caller.
#[derive(Clone, Debug)]
pub struct Issued {
    /// The stored record (status, times, DER).
    pub record: CertificateRecord,
    /// Issuer name.
    pub issuer: String,
    /// Chain without the root, nearest first, DER.
    pub chain: Vec<Vec<u8>>,
    /// Whether this answers a retried request id.
    pub replayed: bool,
}

/// The certificate authority: issuers and their keys, profiles, the store.
pub struct CertificateAuthority {
    issuers: Vec<IssuerKey>,
    default_issuer: String,
    profiles: HashMap<String, Profile>,
    store: CaStore,
    journal: IssuanceJournal,
    clock: Arc<dyn Clock>,
    max_csr_bytes: usize,
    in_flight: Mutex<HashSet<String>>,
    signing_slots: tokio::sync::Semaphore,
    metrics: Arc<CaMetrics>,
}

impl std::fmt::Debug for CertificateAuthority {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CertificateAuthority")
            .field(
                "issuers",
                &self.issuers.iter().map(|i| &i.name).collect::<Vec<_>>(),
            )
            .field("profiles", &self.profiles.keys().collect::<Vec<_>>())
            .finish_non_exhaustive()
    }
}

/// Releases a request id claimed for in-flight work when dropped, whatever
/// path the work takes out.
struct InFlight<'a> {
    set: &'a Mutex<HashSet<String>>,
    id: String,
}

impl Drop for InFlight<'_> {
    fn drop(&mut self) {
        self.set
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .remove(&self.id);
    }
}

/// What `CertificateAuthority::new` needs.
#[derive(Debug)]
pub struct AuthorityParts {
    /// Issuers with keys; chains are computed here.
    pub issuers: Vec<(
        i64,
        String,
        signet_core::Issuer,
        Arc<dyn signet_core::Signer>,
    )>,
    /// Name of the default issuer.
    pub default_issuer: String,
    /// Profiles by name.
    pub profiles: Vec<Profile>,
    /// The CA store.
    pub store: CaStore,
    /// Writes per commit in the journal.
    pub journal_batch: usize,
    /// The clock.
    pub clock: Arc<dyn Clock>,
    /// CSR size limit.
    pub max_csr_bytes: usize,
    /// Signatures made at once (the token's session count).
    pub signing_threads: usize,
    /// Metrics.
    pub metrics: Arc<CaMetrics>,
}

impl CertificateAuthority {
    /// Assembles the authority. Fails if the default issuer is unknown.
    pub fn new(parts: AuthorityParts) -> Result<Self, CaError> {
        let certs: Vec<Vec<u8>> = parts
            .issuers
            .iter()
            .map(|(_, _, i, _)| i.der().to_vec())
            .collect();
        let chains = issuers::build_chains(&certs);
        let issuers: Vec<IssuerKey> = parts
            .issuers
            .into_iter()
            .zip(chains)
            .map(|((id, name, issuer, signer), chain)| {
                issuer.key().prepare_verifier(signer.algorithm());
                (id, name, issuer, signer, chain)
            })
            .map(|(id, name, issuer, signer, chain)| IssuerKey {
                id,
                name,
                issuer,
                signer,
                chain,
            })
            .collect();
        if !issuers.iter().any(|i| i.name == parts.default_issuer) {
            return Err(CaError::UnknownIssuer {
                name: parts.default_issuer,
            });
        }
        let journal = IssuanceJournal::start(&parts.store, parts.journal_batch);
        Ok(CertificateAuthority {
            issuers,
            default_issuer: parts.default_issuer,
            profiles: parts
                .profiles
                .into_iter()
                .map(|p| (p.name().to_owned(), p))
                .collect(),
            store: parts.store,
            journal,
            clock: parts.clock,
            max_csr_bytes: parts.max_csr_bytes,
            in_flight: Mutex::new(HashSet::new()),
            signing_slots: tokio::sync::Semaphore::new(parts.signing_threads.max(1)),
            metrics: parts.metrics,
        })
    }

    /// The profile named `name`, if loaded.
    pub fn profile(&self, name: &str) -> Option<&Profile> {
        self.profiles.get(name)
    }

    /// The issuers.
    pub fn issuers(&self) -> &[IssuerKey] {
        &self.issuers
    }

    /// The store.
    pub fn store(&self) -> &CaStore {
        &self.store
    }

    fn issuer(&self, name: Option<&str>) -> Result<&IssuerKey, CaError> {
        let name = name.unwrap_or(&self.default_issuer);
        self.issuers
            .iter()
            .find(|i| i.name == name)
            .ok_or_else(|| CaError::UnknownIssuer {
                name: name.to_owned(),
            })
    }

    fn issuer_by_id(&self, id: i64) -> Result<&IssuerKey, CaError> {
        self.issuers
            .iter()
            .find(|i| i.id == id)
            .ok_or_else(|| CaError::UnknownIssuer {
                name: format!("#{id}"),
            })
    }

    fn claim(&self, request_id: &str) -> Option<InFlight<'_>> {
        let fresh = self
            .in_flight
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .insert(request_id.to_owned());
        fresh.then(|| InFlight {
            set: &self.in_flight,
            id: request_id.to_owned(),
        })
    }

    /// Issues a certificate, or returns the one already issued for this
    /// request id.
    ///
    /// The happy path does not look the request id up first: recording the
    /// pending row is what detects a repeated id (its unique constraint),
    /// so only retries and failures pay for the lookup.
    pub async fn issue(&self, cmd: &IssueCommand) -> Result<Issued, CaError> {
        self.issue_with(cmd, None).await
    }

    /// Issues a certificate for a key that comes without a CSR: the
    /// encryption key of a dual certificate, generated by the KMC, whose
    /// possession the KMC vouches for (it made the key and holds it in
    /// escrow). `request` gives subject, SANs and key; `cmd.csr` must hold
    /// the key's SubjectPublicKeyInfo DER so that the request digest (and
    /// so the idempotency check) covers it. Everything else follows the
    /// same path as [`CertificateAuthority::issue`].
    pub async fn issue_for_key(
        &self,
        cmd: &IssueCommand,
        request: &CertificateRequest,
    ) -> Result<Issued, CaError> {
        self.issue_with(cmd, Some(request)).await
    }

    async fn issue_with(
        &self,
        cmd: &IssueCommand,
        preset: Option<&CertificateRequest>,
    ) -> Result<Issued, CaError> {
        let digest = cmd.digest();
        let deadline = self.clock.now().plus(IN_PROGRESS_WAIT);
        let mut look_up_first = false;
        loop {
            if look_up_first
                && let Some(existing) = self.store.find_by_request(&cmd.request_id).await?
            {
                return self.existing(cmd, &digest, existing).await;
            }
            if let Some(claim) = self.claim(&cmd.request_id) {
                match self.issue_new(cmd, &digest, preset).await {
                    Ok(Some(record)) => return self.answer(record, false),
                    // The id is already recorded: answer from its row.
                    Ok(None) => {}
                    // A retry of an issued request must get its certificate
                    // even if the request would no longer pass (a profile
                    // tightened since, say).
                    Err(e) => match self.store.find_by_request(&cmd.request_id).await? {
                        Some(existing) => {
                            drop(claim);
                            return self.existing(cmd, &digest, existing).await;
                        }
                        None => return Err(e),
                    },
                }
                drop(claim);
                look_up_first = true;
                continue;
            }
            // Another call is working on this id right now: wait for it.
            look_up_first = true;
            if self.clock.now() > deadline {
                return Err(CaError::InProgress {
                    request_id: cmd.request_id.clone(),
                });
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    /// Answers a request id that already has a row: its certificate, or the
    /// pending row finished now (unless another call is finishing it).
    async fn existing(
        &self,
        cmd: &IssueCommand,
        digest: &[u8],
        existing: CertificateRecord,
    ) -> Result<Issued, CaError> {
        if existing.request_hash != digest {
            return Err(CaError::RequestIdReused {
                request_id: cmd.request_id.clone(),
            });
        }
        if existing.der.is_some() {
            return self.answer(existing, true);
        }
        let deadline = self.clock.now().plus(IN_PROGRESS_WAIT);
        loop {
            if let Some(_claim) = self.claim(&cmd.request_id) {
                // Re-read under the claim: another call may have finished it.
                if let Some(row) = self.store.find_by_request(&cmd.request_id).await?
                    && row.der.is_some()
                {
                    return self.answer(row, true);
                }
                let issued = self.finish_pending(&existing).await?;
                return self.answer(issued, true);
            }
            if self.clock.now() > deadline {
                return Err(CaError::InProgress {
                    request_id: cmd.request_id.clone(),
                });
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    /// The linear path: check, prepare and lint, record, sign, store.
    /// `None` when the request id turned out to be recorded already.
    async fn issue_new(
        &self,
        cmd: &IssueCommand,
        digest: &[u8],
        preset: Option<&CertificateRequest>,
    ) -> Result<Option<CertificateRecord>, CaError> {
        let issuer = self.issuer(cmd.issuer.as_deref())?;
        let profile = self
            .profiles
            .get(&cmd.profile)
            .ok_or_else(|| CaError::UnknownProfile {
                name: cmd.profile.clone(),
            })?;
        let mut request = match preset {
            Some(request) => request.clone(),
            None => self.request_from_csr(cmd)?,
        };
        request.validity = cmd.validity;

        for _ in 0..SERIAL_ATTEMPTS {
            let now = self.clock.now();
            let serial = Serial::random(&mut rand::rng());
            let token = prepare(
                profile,
                &issuer.issuer,
                issuer.signer.algorithm(),
                &request,
                serial,
                now,
            )?;
            let pending = NewPending {
                issuer_id: issuer.id,
                serial: token.serial().clone(),
                request_id: cmd.request_id.clone(),
                request_hash: digest.to_vec(),
                profile: profile.name().to_owned(),
                subject: token.subject().to_owned(),
                sans: token.sans().to_vec(),
                not_before: token.not_before(),
                not_after: token.not_after(),
                crl_shard: i64::from(issuer.issuer.urls().shard_of(token.serial())),
                tbs: token.tbs_der().to_vec(),
                now,
            };
            match self.journal.record_pending(pending.clone()).await? {
                PendingOutcome::Recorded => {
                    return self.sign_and_store(issuer, token, pending).await.map(Some);
                }
                PendingOutcome::RequestExists => return Ok(None),
                PendingOutcome::SerialTaken => {
                    tracing::warn!(serial = %token.serial(), "serial collision; drawing another");
                }
            }
        }
        Err(CaError::Store(signet_store::StoreError::Corrupt {
            what: "serial space (repeated collisions)",
        }))
    }

    /// Subject, SANs and key from the CSR (its signature checked), with
    /// the command's subject and SAN overrides applied.
    fn request_from_csr(&self, cmd: &IssueCommand) -> Result<CertificateRequest, CaError> {
        let csr = VerifiedCsr::parse(&cmd.csr, self.max_csr_bytes)?;
        let mut request = CertificateRequest::from_csr(&csr);
        if let Some(subject) = &cmd.subject {
            request.subject = parse_name(subject).map_err(|e| CaError::BadRequest {
                field: "subject",
                reason: e.to_string(),
            })?;
        }
        if let Some(sans) = &cmd.sans {
            request.sans = sans
                .iter()
                .map(|s| parse_general_name(s))
                .collect::<Result<_, _>>()
                .map_err(|reason| CaError::BadRequest {
                    field: "sans",
                    reason,
                })?;
        }
        Ok(request)
    }

    /// Signs a recorded token in the token (on a blocking thread) and
    /// stores the certificate.
    async fn sign_and_store(
        &self,
        issuer: &IssuerKey,
        token: IssuanceToken,
        pending: NewPending,
    ) -> Result<CertificateRecord, CaError> {
        let signer = Arc::clone(&issuer.signer);
        let key = issuer.issuer.key().clone();
        // As many signing threads as the token has sessions: more would
        // only queue on the session pool as blocked OS threads.
        let permit = self
            .signing_slots
            .acquire()
            .await
            .map_err(|_| CaError::Config {
                reason: "signing stopped".into(),
            })?;
        let started = std::time::Instant::now();
        let issued: IssuedCertificate =
            tokio::task::spawn_blocking(move || token.sign(&*signer, &key))
                .await
                .map_err(|_| CaError::Config {
                    reason: "signing task failed".into(),
                })??;
        drop(permit);
        self.metrics
            .signing_seconds
            .observe(started.elapsed().as_secs_f64());
        let now = self.clock.now();
        self.journal
            .record_issued(issuer.id, issued.serial.clone(), issued.der.clone(), now)
            .await?;
        self.metrics
            .issued
            .get_or_create(&IssueLabels {
                issuer: issuer.name.clone(),
                profile: issued.profile.clone(),
            })
            .inc();
        tracing::info!(
            serial = %issued.serial,
            issuer = %issuer.name,
            profile = %issued.profile,
            not_after = %issued.not_after,
            "certificate issued"
        );
        Ok(CertificateRecord {
            issuer_id: issuer.id,
            serial: issued.serial,
            status: signet_core::CertificateStatus::Good,
            request_id: pending.request_id,
            request_hash: pending.request_hash,
            profile: pending.profile,
            subject: pending.subject,
            sans: pending.sans,
            not_before: pending.not_before,
            not_after: pending.not_after,
            crl_shard: pending.crl_shard,
            tbs: Vec::new(),

            der: Some(issued.der),
            revoked_at: None,
            reason: None,
            invalidity_date: None,
            created_at: pending.now,
            updated_at: now,
        })
    }

    /// Signs other TBS structures of an issuer (CRLs) with the same
    /// discipline as certificates: on a signing thread, and checked with
    /// the issuer's public key before the signed object exists.
    pub async fn sign_tbs(&self, issuer: &IssuerKey, tbs: Vec<u8>) -> Result<Vec<u8>, CaError> {
        let signer = Arc::clone(&issuer.signer);
        let key = issuer.issuer.key().clone();
        let _permit = self
            .signing_slots
            .acquire()
            .await
            .map_err(|_| CaError::Config {
                reason: "signing stopped".into(),
            })?;
        let signed = tokio::task::spawn_blocking(move || -> Result<Vec<u8>, IssueError> {
            let algorithm = signer.algorithm();
            let signature = signer.sign(&tbs)?;
            key.verify(algorithm, &tbs, &signature)
                .map_err(|_| IssueError::SignatureCheck)?;
            signet_core::issuance::assemble_signed(&tbs, algorithm, &signature)
        })
        .await
        .map_err(|_| CaError::Config {
            reason: "signing task failed".into(),
        })??;
        Ok(signed)
    }

    /// Finishes a pending row: signs exactly the TBS that was recorded.
    async fn finish_pending(&self, row: &CertificateRecord) -> Result<CertificateRecord, CaError> {
        let issuer = self.issuer_by_id(row.issuer_id)?;
        let token = IssuanceToken::resume(row.tbs.clone(), &row.profile)?;
        let pending = NewPending {
            issuer_id: row.issuer_id,
            serial: row.serial.clone(),
            request_id: row.request_id.clone(),
            request_hash: row.request_hash.clone(),
            profile: row.profile.clone(),
            subject: row.subject.clone(),
            sans: row.sans.clone(),
            not_before: row.not_before,
            not_after: row.not_after,
            crl_shard: row.crl_shard,
            tbs: row.tbs.clone(),
            now: row.created_at,
        };
        let record = self.sign_and_store(issuer, token, pending).await?;
        self.metrics.reconciled.inc();
        Ok(record)
    }

    /// Finishes every pending row (run at start-up, before serving): a row
    /// is pending when the CA stopped between recording and storing.
    pub async fn reconcile(&self) -> Result<usize, CaError> {
        let pending = self.store.pending().await?;
        let mut done = 0;
        for row in &pending {
            let Some(_claim) = self.claim(&row.request_id) else {
                continue;
            };
            match self.finish_pending(row).await {
                Ok(_) => done += 1,
                Err(e) => {
                    tracing::error!(serial = %row.serial, error = %e, "cannot finish pending certificate")
                }
            }
        }
        if !pending.is_empty() {
            tracing::warn!(
                pending = pending.len(),
                finished = done,
                "reconciled pending certificates"
            );
        }
        Ok(done)
    }

    fn answer(&self, record: CertificateRecord, replayed: bool) -> Result<Issued, CaError> {
        let issuer = self.issuer_by_id(record.issuer_id)?;
        Ok(Issued {
            issuer: issuer.name.clone(),
            chain: issuer.chain.clone(),
            record,
            replayed,
        })
    }

    /// Looks up a certificate by serial (and issuer, when given).
    pub async fn find(
        &self,
        serial: &Serial,
        issuer: Option<&str>,
    ) -> Result<(CertificateRecord, String), CaError> {
        let not_found = || CaError::NotFound {
            serial: serial.to_hex(),
        };
        let record = match issuer {
            Some(name) => {
                let issuer = self.issuer(Some(name))?;
                self.store
                    .get(issuer.id, serial)
                    .await?
                    .ok_or_else(not_found)?
            }
            None => {
                let mut rows = self.store.find_serial(serial).await?;
                if rows.len() > 1 {
                    return Err(CaError::AmbiguousSerial {
                        serial: serial.to_hex(),
                    });
                }
                rows.pop().ok_or_else(not_found)?
            }
        };
        let name = self.issuer_by_id(record.issuer_id)?.name.clone();
        Ok((record, name))
    }

    /// Revokes, suspends or resumes.
    pub async fn change_status(
        &self,
        cmd: &StatusCommand,
    ) -> Result<(CertificateRecord, String), CaError> {
        let (record, issuer_name) = self.find(&cmd.serial, cmd.issuer.as_deref()).await?;
        let (action, label) = match cmd.change {
            StatusChange::Revoke { .. } => ("revoke", "revoke"),
            StatusChange::Suspend => ("suspend", "suspend"),
            StatusChange::Resume => ("resume", "resume"),
        };
        let now = self.clock.now();
        let describe = |r: &CertificateRecord| match r.reason {
            Some(reason) if r.status == signet_core::CertificateStatus::Revoked => {
                format!("{} ({reason})", r.status)
            }
            _ => r.status.to_string(),
        };
        match self
            .store
            .change_status(record.issuer_id, &cmd.serial, cmd.change, now)
            .await?
        {
            StatusOutcome::Changed(r) => {
                self.metrics
                    .status_changes
                    .get_or_create(&ChangeLabels {
                        change: label.into(),
                    })
                    .inc();
                tracing::info!(serial = %r.serial, issuer = %issuer_name, status = %r.status,
                    reason = r.reason.map(RevocationReason::as_str), "certificate status changed");
                Ok((r, issuer_name))
            }
            StatusOutcome::Unchanged(r) => Err(CaError::AlreadyInState {
                serial: r.serial.to_hex(),
                status: describe(&r),
            }),
            StatusOutcome::NotAllowed(r) => Err(CaError::NotAllowed {
                serial: r.serial.to_hex(),
                status: describe(&r),
                action,
            }),
            StatusOutcome::NotFound => Err(CaError::NotFound {
                serial: cmd.serial.to_hex(),
            }),
        }
    }

    /// Issuer id for a name.
    pub fn issuer_id(&self, name: &str) -> Option<i64> {
        self.issuers.iter().find(|i| i.name == name).map(|i| i.id)
    }

    /// Issuer name for an id.
    pub fn issuer_name(&self, id: i64) -> Option<&str> {
        self.issuers
            .iter()
            .find(|i| i.id == id)
            .map(|i| i.name.as_str())
    }

    /// Counts an error by its API code.
    pub fn count_error(&self, code: &str) {
        self.metrics
            .errors
            .get_or_create(&crate::metrics::ErrorLabels {
                code: code.to_owned(),
            })
            .inc();
    }

    /// The current time.
    pub fn now(&self) -> Timestamp {
        self.clock.now()
    }
}
