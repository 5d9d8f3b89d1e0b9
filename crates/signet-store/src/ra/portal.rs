//! The subscribers' portal tables (migration 0007): one-time enrolment
//! codes, and the scheduled revocation of certificates superseded by a
//! portal renewal.
//!
//! Every status change is a conditional `UPDATE ... WHERE status = ...`,
//! so two requests racing on one code (or two RA instances on one
//! scheduled revocation) cannot both win.

use signet_core::Timestamp;

use super::{RaStore, RaTx, ScopePrefix, on_tx};
use crate::database::on_reader;
use crate::error::{Context, StoreError};

/// An enrolment code as stored (never the code itself: only its hash).
#[derive(Clone, Debug, PartialEq, Eq, sqlx::FromRow)]
pub struct EnrolmentCodeRecord {
    /// Database id.
    pub id: i64,
    /// Public id (officer pages, audit targets); says nothing about the code.
    pub uid: String,
    /// SHA-256 of the code (domain-separated); not the code.
    pub code_hash: Vec<u8>,
    /// The unit the request will belong to.
    pub org_unit_id: i64,
    /// The offered profile.
    pub profile: String,
    /// The subscriber record it was made for, if any.
    pub subscriber_id: Option<i64>,
    /// Subject replacing the CSR's (RFC 4514).
    pub subject_override: Option<String>,
    /// SANs replacing the CSR's, JSON array of `TYPE:value`.
    pub sans_override: Option<String>,
    /// The officer who made it (the filer of its request).
    pub created_by: i64,
    /// That officer's username.
    pub created_by_name: String,
    /// Made, Unix seconds.
    pub created_at: i64,
    /// Refused for filing from then on, Unix seconds.
    pub expires_at: i64,
    /// Once redeemed: status and download refused from then on (the
    /// redemption time plus the code lifetime), Unix seconds.
    pub download_expires_at: Option<i64>,
    /// `open`, `redeemed`, `spent` or `revoked`.
    pub status: String,
    /// The request filed with it, once redeemed.
    pub request_id: Option<i64>,
    /// That request's public id.
    pub request_uid: Option<String>,
}

impl EnrolmentCodeRecord {
    /// Until when the code is usable in its current status, Unix seconds:
    /// filing until `expires_at`; once redeemed, status and download
    /// until `download_expires_at`.
    pub fn usable_until(&self) -> i64 {
        match (self.status.as_str(), self.download_expires_at) {
            ("redeemed", Some(t)) => t,
            _ => self.expires_at,
        }
    }
}

/// A code to store.
#[derive(Clone, Debug)]
pub struct NewEnrolmentCode {
    /// Public id.
    pub uid: String,
    /// SHA-256 of the normalised code.
    pub code_hash: Vec<u8>,
    /// Unit.
    pub org_unit_id: i64,
    /// Offered profile.
    pub profile: String,
    /// Subscriber record.
    pub subscriber_id: Option<i64>,
    /// Vetted subject.
    pub subject_override: Option<String>,
    /// Vetted SANs, JSON array.
    pub sans_override: Option<String>,
    /// The officer.
    pub created_by: i64,
    /// Now.
    pub now: Timestamp,
    /// Expiry.
    pub expires_at: Timestamp,
}

macro_rules! select_codes {
    ($rest:literal) => {
        concat!(
            "SELECT c.id, c.uid, c.code_hash, c.org_unit_id, c.profile, c.subscriber_id, c.subject_override, \
             c.sans_override, c.created_by, o.username AS created_by_name, c.created_at, \
             c.expires_at, c.download_expires_at, c.status, c.request_id, r.uid AS request_uid \
             FROM enrolment_codes c JOIN officers o ON o.id = c.created_by \
             LEFT JOIN cert_requests r ON r.id = c.request_id ",
            $rest
        )
    };
}

/// A scheduled revocation of a superseded certificate.
#[derive(Clone, Debug, PartialEq, Eq, sqlx::FromRow)]
pub struct SupersededRevocation {
    /// Database id.
    pub id: i64,
    /// The request of the renewed (old) certificate.
    pub request_id: i64,
    /// That request's public id.
    pub request_uid: String,
    /// Its serial, lowercase hex.
    pub serial: String,
    /// The renewal's request.
    pub renewal_request_id: i64,
    /// That request's public id.
    pub renewal_uid: String,
    /// Revoke from then on, Unix seconds.
    pub due_at: i64,
    /// `scheduled`, `done`, `failed` or `cancelled`.
    pub status: String,
    /// CA calls that did not complete.
    pub attempts: i64,
    /// Not retried before this, Unix seconds.
    pub next_attempt_at: i64,
    /// The last failure, one line.
    pub last_error: Option<String>,
}

macro_rules! select_superseded {
    ($rest:literal) => {
        concat!(
            "SELECT s.id, s.request_id, o.uid AS request_uid, s.serial, s.renewal_request_id, \
             n.uid AS renewal_uid, s.due_at, s.status, s.attempts, s.next_attempt_at, \
             s.last_error FROM superseded_revocations s \
             JOIN cert_requests o ON o.id = s.request_id \
             JOIN cert_requests n ON n.id = s.renewal_request_id ",
            $rest
        )
    };
}

impl RaStore {
    /// The code whose SHA-256 is `code_hash`, whatever its status.
    pub async fn enrolment_code_by_hash(
        &self,
        code_hash: &[u8],
    ) -> Result<Option<EnrolmentCodeRecord>, StoreError> {
        Ok(on_reader!(self.db, |pool| {
            sqlx::query_as(select_codes!("WHERE c.code_hash = $1"))
                .bind(code_hash)
                .fetch_optional(pool)
                .await
                .during("read enrolment code")?
        }))
    }

    /// One code, if it is in `scope`.
    pub async fn enrolment_code(
        &self,
        uid: &str,
        scope: &ScopePrefix,
    ) -> Result<Option<EnrolmentCodeRecord>, StoreError> {
        Ok(on_reader!(self.db, |pool| {
            sqlx::query_as(select_codes!(
                "WHERE c.uid = $1 AND c.org_unit_id IN \
                 (SELECT id FROM org_units WHERE path LIKE $2)"
            ))
            .bind(uid)
            .bind(scope.pattern())
            .fetch_optional(pool)
            .await
            .during("read enrolment code")?
        }))
    }

    /// Codes in `scope`, newest first.
    pub async fn enrolment_codes(
        &self,
        scope: &ScopePrefix,
        limit: u32,
    ) -> Result<Vec<EnrolmentCodeRecord>, StoreError> {
        Ok(on_reader!(self.db, |pool| {
            sqlx::query_as(select_codes!(
                "WHERE c.org_unit_id IN (SELECT id FROM org_units WHERE path LIKE $1) \
                 ORDER BY c.created_at DESC, c.id DESC LIMIT $2"
            ))
            .bind(scope.pattern())
            .bind(i64::from(limit.clamp(1, 1000)))
            .fetch_all(pool)
            .await
            .during("list enrolment codes")?
        }))
    }

    /// The scheduled revocation of the certificate of request `request_id`.
    pub async fn superseded_revocation(
        &self,
        request_id: i64,
    ) -> Result<Option<SupersededRevocation>, StoreError> {
        Ok(on_reader!(self.db, |pool| {
            sqlx::query_as(select_superseded!("WHERE s.request_id = $1"))
                .bind(request_id)
                .fetch_optional(pool)
                .await
                .during("read superseded revocation")?
        }))
    }

    /// Up to `limit` scheduled revocations due at `now` (and not
    /// postponed past it), oldest first.
    pub async fn superseded_revocations_due(
        &self,
        now: Timestamp,
        limit: u32,
    ) -> Result<Vec<SupersededRevocation>, StoreError> {
        Ok(on_reader!(self.db, |pool| {
            sqlx::query_as(select_superseded!(
                "WHERE s.status = 'scheduled' AND s.due_at <= $1 AND s.next_attempt_at <= $1 \
                 ORDER BY s.due_at, s.id LIMIT $2"
            ))
            .bind(now.unix())
            .bind(i64::from(limit.clamp(1, 1000)))
            .fetch_all(pool)
            .await
            .during("list due superseded revocations")?
        }))
    }
}

impl RaTx {
    /// Stores a new code (`open`); returns its id.
    pub async fn create_enrolment_code(
        &mut self,
        new: &NewEnrolmentCode,
    ) -> Result<i64, StoreError> {
        Ok(on_tx!(self, |conn| {
            sqlx::query_scalar(
                "INSERT INTO enrolment_codes (uid, code_hash, org_unit_id, profile, \
                 subscriber_id, subject_override, sans_override, created_by, created_at, \
                 expires_at, status, updated_at) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, 'open', $9) RETURNING id",
            )
            .bind(&new.uid)
            .bind(&new.code_hash[..])
            .bind(new.org_unit_id)
            .bind(&new.profile)
            .bind(new.subscriber_id)
            .bind(new.subject_override.as_deref())
            .bind(new.sans_override.as_deref())
            .bind(new.created_by)
            .bind(new.now.unix())
            .bind(new.expires_at.unix())
            .fetch_one(&mut *conn)
            .await
            .during("insert enrolment code")?
        }))
    }

    /// Redeems open code `id` with request `request_id`, if it has not
    /// expired at `now`; from then on it is usable until
    /// `download_expires_at`. False: someone else used it first, or it
    /// expired.
    pub async fn redeem_enrolment_code(
        &mut self,
        id: i64,
        request_id: i64,
        download_expires_at: Timestamp,
        now: Timestamp,
    ) -> Result<bool, StoreError> {
        let changed = on_tx!(self, |conn| {
            sqlx::query(
                "UPDATE enrolment_codes SET status = 'redeemed', request_id = $1, \
                 download_expires_at = $2, updated_at = $3 \
                 WHERE id = $4 AND status = 'open' AND expires_at > $3",
            )
            .bind(request_id)
            .bind(download_expires_at.unix())
            .bind(now.unix())
            .bind(id)
            .execute(&mut *conn)
            .await
            .during("redeem enrolment code")?
            .rows_affected()
        });
        Ok(changed > 0)
    }

    /// Spends redeemed code `id` (the certificate is handed over), if its
    /// download deadline has not passed at `now`. False: it was spent
    /// already (or withdrawn, or is past its deadline).
    pub async fn spend_enrolment_code(
        &mut self,
        id: i64,
        now: Timestamp,
    ) -> Result<bool, StoreError> {
        let changed = on_tx!(self, |conn| {
            sqlx::query(
                "UPDATE enrolment_codes SET status = 'spent', updated_at = $1 \
                 WHERE id = $2 AND status = 'redeemed' \
                 AND COALESCE(download_expires_at, expires_at) > $1",
            )
            .bind(now.unix())
            .bind(id)
            .execute(&mut *conn)
            .await
            .during("spend enrolment code")?
            .rows_affected()
        });
        Ok(changed > 0)
    }

    /// Withdraws code `id` if it is open or redeemed, expired or not.
    /// False: it was spent or withdrawn already.
    pub async fn withdraw_enrolment_code(
        &mut self,
        id: i64,
        now: Timestamp,
    ) -> Result<bool, StoreError> {
        let changed = on_tx!(self, |conn| {
            sqlx::query(
                "UPDATE enrolment_codes SET status = 'revoked', updated_at = $1 \
                 WHERE id = $2 AND status IN ('open', 'redeemed')",
            )
            .bind(now.unix())
            .bind(id)
            .execute(&mut *conn)
            .await
            .during("withdraw enrolment code")?
            .rows_affected()
        });
        Ok(changed > 0)
    }

    /// Withdraws every open code officer `officer_id` made (the officer is
    /// being disabled); returns their public ids.
    pub async fn withdraw_officer_enrolment_codes(
        &mut self,
        officer_id: i64,
        now: Timestamp,
    ) -> Result<Vec<String>, StoreError> {
        Ok(on_tx!(self, |conn| {
            sqlx::query_scalar(
                "UPDATE enrolment_codes SET status = 'revoked', updated_at = $1 \
                 WHERE created_by = $2 AND status = 'open' RETURNING uid",
            )
            .bind(now.unix())
            .bind(officer_id)
            .fetch_all(&mut *conn)
            .await
            .during("withdraw an officer's enrolment codes")?
        }))
    }

    /// Schedules the revocation of request `request_id`'s certificate
    /// (`serial`), superseded by `renewal_request_id`, at `due_at`. False:
    /// one was scheduled before (the first schedule stands).
    pub async fn schedule_superseded_revocation(
        &mut self,
        request_id: i64,
        serial: &str,
        renewal_request_id: i64,
        due_at: Timestamp,
        now: Timestamp,
    ) -> Result<bool, StoreError> {
        let inserted = on_tx!(self, |conn| {
            sqlx::query(
                "INSERT INTO superseded_revocations (request_id, serial, renewal_request_id, \
                 due_at, status, attempts, next_attempt_at, updated_at) \
                 VALUES ($1, $2, $3, $4, 'scheduled', 0, $4, $5) \
                 ON CONFLICT (request_id) DO NOTHING",
            )
            .bind(request_id)
            .bind(serial)
            .bind(renewal_request_id)
            .bind(due_at.unix())
            .bind(now.unix())
            .execute(&mut *conn)
            .await
            .during("schedule superseded revocation")?
            .rows_affected()
        });
        Ok(inserted > 0)
    }

    /// Ends a scheduled revocation: `done`, `failed` or `cancelled` (with
    /// the reason).
    /// False: it was not scheduled any more (another instance ended it).
    pub async fn finish_superseded_revocation(
        &mut self,
        id: i64,
        status: &str,
        error: Option<&str>,
        now: Timestamp,
    ) -> Result<bool, StoreError> {
        let changed = on_tx!(self, |conn| {
            sqlx::query(
                "UPDATE superseded_revocations SET status = $1, last_error = $2, \
                 updated_at = $3 WHERE id = $4 AND status = 'scheduled'",
            )
            .bind(status)
            .bind(error)
            .bind(now.unix())
            .bind(id)
            .execute(&mut *conn)
            .await
            .during("finish superseded revocation")?
            .rows_affected()
        });
        Ok(changed > 0)
    }

    /// Counts a failed attempt and postpones the next one to `next`.
    /// False: it was not scheduled any more (another instance ended it).
    pub async fn postpone_superseded_revocation(
        &mut self,
        id: i64,
        next: Timestamp,
        error: &str,
        now: Timestamp,
    ) -> Result<bool, StoreError> {
        let changed = on_tx!(self, |conn| {
            sqlx::query(
                "UPDATE superseded_revocations SET attempts = attempts + 1, \
                 next_attempt_at = $1, last_error = $2, updated_at = $3 \
                 WHERE id = $4 AND status = 'scheduled'",
            )
            .bind(next.unix())
            .bind(error)
            .bind(now.unix())
            .bind(id)
            .execute(&mut *conn)
            .await
            .during("postpone superseded revocation")?
            .rows_affected()
        });
        Ok(changed > 0)
    }
}
