//! Expiry reminders: the certificates a sweep considers, and one row per
//! (certificate, threshold, channel) it has taken on (`expiry_reminders`).
//!
//! A reminder is claimed ([`RaTx::claim_reminder`], committed) before it
//! is sent and finished ([`RaTx::finish_reminder`]) after: it is sent at
//! most once; a failed one (nothing delivered) is claimed again once its
//! `next_attempt_at` has passed, up to a maximum number of attempts; one
//! whose delivery is `unknown` (handed over, not confirmed) never again.

use signet_core::Timestamp;

use super::{RaStore, RaTx, on_tx};
use crate::database::on_reader;
use crate::error::{Context, StoreError};

/// A valid certificate the reminder sweep looks at.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ExpiringCertificate {
    /// The request's database id.
    pub request_id: i64,
    /// The request's public id.
    pub request_uid: String,
    /// Serial, lowercase hex.
    pub serial: String,
    /// Subject, RFC 4514.
    pub subject: String,
    /// CA profile.
    pub profile: String,
    /// Organisation unit name.
    pub unit: String,
    /// notAfter.
    pub not_after: Timestamp,
    /// The certificate, PEM (for its e-mail addresses).
    pub certificate_pem: String,
}

#[derive(sqlx::FromRow)]
struct ExpiringRow {
    id: i64,
    uid: String,
    serial: String,
    subject: String,
    profile: String,
    unit: String,
    not_after: i64,
    certificate_pem: String,
}

/// Which certificates a sweep asks for: those whose due threshold is
/// `threshold_days` (notAfter in `(after, until]`) with work left on one
/// of `channels` (at most three).
#[derive(Clone, Debug)]
pub struct ReminderBand<'a> {
    /// The sweep's time.
    pub now: Timestamp,
    /// notAfter after this...
    pub after: Timestamp,
    /// ...and at or before this.
    pub until: Timestamp,
    /// The threshold these certificates are due for.
    pub threshold_days: i64,
    /// The configured channels.
    pub channels: &'a [&'a str],
    /// Attempts after which a failed reminder is given up.
    pub max_attempts: i64,
}

/// One reminder as recorded.
#[derive(Clone, Debug, PartialEq, Eq, sqlx::FromRow)]
pub struct ReminderRecord {
    /// The request's database id.
    pub request_id: i64,
    /// The threshold, days before expiry.
    pub threshold_days: i64,
    /// `email` or `webhook`.
    pub channel: String,
    /// `sending`, `sent`, `unknown` or `failed`.
    pub state: String,
    /// How many times it was claimed.
    pub attempts: i64,
    /// The last failure, one line.
    pub last_error: Option<String>,
    /// A failed one is not claimed again before this, Unix seconds.
    pub next_attempt_at: i64,
    /// Last change, Unix seconds.
    pub updated_at: i64,
}

impl RaStore {
    /// Issued certificates, neither revoked nor suspended (as the CA last
    /// answered) nor superseded by an issued renewal, whose notAfter is in
    /// `(after, until]`, that still have a reminder at `threshold_days` to
    /// send on one of `channels` at `now`: a channel with no row yet, or
    /// a failed one whose retry is due and that has had fewer than
    /// `max_attempts` attempts. Soonest first; every unit (the sweep is
    /// the system's).
    pub async fn certificates_due_for_reminder(
        &self,
        due: &ReminderBand<'_>,
    ) -> Result<Vec<ExpiringCertificate>, StoreError> {
        let first = due.channels.first().copied().unwrap_or("email");
        let channel = |i: usize| due.channels.get(i).copied().unwrap_or(first);
        let wanted = i64::try_from(due.channels.len()).unwrap_or(i64::MAX);
        let rows: Vec<ExpiringRow> = on_reader!(self.db, |pool| {
            sqlx::query_as(
                "SELECT r.id, r.uid, r.serial, r.subject, r.profile, u.name AS unit, \
                 r.not_after, r.certificate_pem \
                 FROM cert_requests r JOIN org_units u ON u.id = r.org_unit_id \
                 WHERE r.status = 'issued' AND r.cert_status = 'good' \
                 AND r.serial IS NOT NULL AND r.certificate_pem IS NOT NULL \
                 AND r.not_after > $1 AND r.not_after <= $2 \
                 AND NOT EXISTS (SELECT 1 FROM cert_requests n \
                     WHERE n.renewal_of = r.serial AND n.status = 'issued') \
                 AND (SELECT COUNT(*) FROM expiry_reminders e \
                     WHERE e.request_id = r.id AND e.threshold_days = $3 \
                     AND e.channel IN ($4, $5, $6) \
                     AND NOT (e.state = 'failed' AND e.next_attempt_at <= $7 \
                              AND e.attempts < $8)) < $9 \
                 ORDER BY r.not_after, r.id",
            )
            .bind(due.after.unix())
            .bind(due.until.unix())
            .bind(due.threshold_days)
            .bind(channel(0))
            .bind(channel(1))
            .bind(channel(2))
            .bind(due.now.unix())
            .bind(due.max_attempts)
            .bind(wanted)
            .fetch_all(pool)
            .await
            .during("read certificates due for a reminder")?
        });
        Ok(rows
            .into_iter()
            .map(|r| ExpiringCertificate {
                request_id: r.id,
                request_uid: r.uid,
                serial: r.serial,
                subject: r.subject,
                profile: r.profile,
                unit: r.unit,
                not_after: Timestamp::from_unix(r.not_after),
                certificate_pem: r.certificate_pem,
            })
            .collect())
    }

    /// Every reminder recorded for a request.
    pub async fn reminders_of(&self, request_id: i64) -> Result<Vec<ReminderRecord>, StoreError> {
        Ok(on_reader!(self.db, |pool| {
            sqlx::query_as(
                "SELECT request_id, threshold_days, channel, state, attempts, last_error, \
                 next_attempt_at, updated_at FROM expiry_reminders WHERE request_id = $1 \
                 ORDER BY threshold_days DESC, channel",
            )
            .bind(request_id)
            .fetch_all(pool)
            .await
            .during("read reminders")?
        }))
    }
}

impl RaTx {
    /// Claims the reminder (`sending`): new, or failed before with its
    /// retry due at `now` and fewer than `max_attempts` attempts. Returns
    /// the attempt's number, or `None`: it was sent, or is being sent, or
    /// its delivery is unknown, or was lost in a crash while sending, or
    /// is not due again yet, or was given up.
    pub async fn claim_reminder(
        &mut self,
        request_id: i64,
        threshold_days: i64,
        channel: &str,
        max_attempts: i64,
        now: Timestamp,
    ) -> Result<Option<i64>, StoreError> {
        let inserted = on_tx!(self, |conn| {
            sqlx::query(
                "INSERT INTO expiry_reminders (request_id, threshold_days, channel, state, \
                 attempts, next_attempt_at, updated_at) VALUES ($1, $2, $3, 'sending', 1, $4, $4) \
                 ON CONFLICT (request_id, threshold_days, channel) DO NOTHING",
            )
            .bind(request_id)
            .bind(threshold_days)
            .bind(channel)
            .bind(now.unix())
            .execute(&mut *conn)
            .await
            .during("claim reminder")?
            .rows_affected()
        });
        if inserted > 0 {
            return Ok(Some(1));
        }
        Ok(on_tx!(self, |conn| {
            sqlx::query_scalar(
                "UPDATE expiry_reminders SET state = 'sending', attempts = attempts + 1, \
                 updated_at = $4 WHERE request_id = $1 AND threshold_days = $2 \
                 AND channel = $3 AND state = 'failed' AND next_attempt_at <= $4 \
                 AND attempts < $5 RETURNING attempts",
            )
            .bind(request_id)
            .bind(threshold_days)
            .bind(channel)
            .bind(now.unix())
            .bind(max_attempts)
            .fetch_optional(&mut *conn)
            .await
            .during("claim failed reminder")?
        }))
    }

    /// Records how a claimed reminder went: `sent`, `unknown` (handed
    /// over, not confirmed: never sent again), or `failed` with `error`
    /// and the time of the next attempt.
    pub async fn finish_reminder(
        &mut self,
        request_id: i64,
        threshold_days: i64,
        channel: &str,
        finish: ReminderFinish<'_>,
        now: Timestamp,
    ) -> Result<bool, StoreError> {
        let (state, error, next) = match finish {
            ReminderFinish::Sent => ("sent", None, now),
            ReminderFinish::Unknown { error } => ("unknown", Some(error), now),
            ReminderFinish::Failed { error, retry_at } => ("failed", Some(error), retry_at),
        };
        let changed = on_tx!(self, |conn| {
            sqlx::query(
                "UPDATE expiry_reminders SET state = $4, last_error = $5, next_attempt_at = $6, \
                 updated_at = $7 WHERE request_id = $1 AND threshold_days = $2 AND channel = $3 \
                 AND state = 'sending'",
            )
            .bind(request_id)
            .bind(threshold_days)
            .bind(channel)
            .bind(state)
            .bind(error)
            .bind(next.unix())
            .bind(now.unix())
            .execute(&mut *conn)
            .await
            .during("finish reminder")?
            .rows_affected()
        });
        Ok(changed > 0)
    }
}

/// How a claimed reminder went.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ReminderFinish<'a> {
    /// Delivered and confirmed.
    Sent,
    /// Handed over but not confirmed; not sent again.
    Unknown {
        /// What went wrong, one line.
        error: &'a str,
    },
    /// Not delivered; retried from `retry_at`.
    Failed {
        /// What went wrong, one line.
        error: &'a str,
        /// The next attempt, not before.
        retry_at: Timestamp,
    },
}
