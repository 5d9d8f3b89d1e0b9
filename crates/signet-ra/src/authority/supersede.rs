//! Revocation of certificates superseded by a portal renewal.
//!
//! When the renewal of a certificate (a request with `renewal_of`) is
//! issued, the renewed certificate's revocation, reason superseded
//! (RFC 5280 §5.3.1), is scheduled `portal.supersede_grace` later, in the
//! transaction that records the issuance: the schedule lives in the
//! database and survives restarts. A background task
//! ([`RegistrationAuthority::run_superseded_revocations`]) revokes due
//! certificates through the CA, as the system. It is idempotent: a
//! certificate already revoked (here or at the CA) counts as done. When
//! the revocation falls due, the renewal must still be issued and good (as
//! the CA last answered): if it was revoked, suspended or failed
//! meanwhile, the schedule is cancelled (audited) and the old certificate
//! stays. When the CA cannot be reached the attempt is postponed
//! (doubling, at most an hour) and retried; a refusal by the CA ends the
//! schedule as `failed`, for an officer to look at. Audit events are
//! written only by the instance whose update ended or postponed the
//! schedule.

use std::sync::Arc;
use std::time::Duration;

use signet_api::ca::RevokeRequest;
use signet_core::Timestamp;
use signet_store::RaTx;
use signet_store::ra::{RequestRecord, ScopePrefix, SupersededRevocation};

use super::RegistrationAuthority;
use super::certificates::ca_error;
use crate::audit::{AuditEvent, Outcome};
use crate::error::RaError;
use crate::roles::Caller;

/// The RFC 5280 reason given.
const REASON: &str = "superseded";

/// Due revocations handled per run.
const BATCH: u32 = 100;

/// The longest wait between retries after CA failures.
const MAX_BACKOFF: Duration = Duration::from_secs(3600);

/// How long to wait after `attempts` failed attempts: the check interval,
/// doubled per failure, at most [`MAX_BACKOFF`].
fn backoff(interval: Duration, attempts: i64) -> Duration {
    let doublings = u32::try_from(attempts.clamp(0, 16)).unwrap_or(16);
    interval
        .saturating_mul(2u32.saturating_pow(doublings))
        .min(MAX_BACKOFF)
}

impl RegistrationAuthority {
    /// Schedules the revocation of the certificate `renewal` renews, in
    /// the transaction recording `renewal`'s issuance at `now`. Nothing
    /// when `portal.supersede_grace` is `off` or `renewal` renews nothing.
    pub(crate) async fn schedule_superseded(
        &self,
        tx: &mut RaTx,
        caller: &Caller,
        renewal: &RequestRecord,
        now: Timestamp,
    ) -> Result<(), RaError> {
        let (Some(grace), Some(old_serial)) = (self.settings.supersede_grace, &renewal.renewal_of)
        else {
            return Ok(());
        };
        let Some(old) = self
            .store
            .request_by_serial(old_serial, &ScopePrefix::all())
            .await?
        else {
            tracing::warn!(serial = %old_serial, "renewed certificate not found; nothing to supersede");
            return Ok(());
        };
        let due = now.plus(grace);
        if tx
            .schedule_superseded_revocation(old.id, old_serial, renewal.id, due, now)
            .await?
        {
            self.audit
                .append(
                    tx,
                    &AuditEvent::by(caller, "certificate.supersede_scheduled")
                        .target(format!("request:{}", old.uid))
                        .detail("serial", old_serial.as_str())
                        .detail("renewal", format!("request:{}", renewal.uid))
                        .detail("due_at", due.unix()),
                )
                .await?;
        }
        Ok(())
    }

    /// When the certificate of request `record` is to be revoked as
    /// superseded, if that is scheduled and not done yet.
    pub async fn superseded_on(
        &self,
        record: &RequestRecord,
    ) -> Result<Option<Timestamp>, RaError> {
        Ok(self
            .store
            .superseded_revocation(record.id)
            .await?
            .filter(|s| s.status == "scheduled")
            .map(|s| Timestamp::from_unix(s.due_at)))
    }

    /// Revokes every superseded certificate that is due; returns how many
    /// schedules ended (revoked, found revoked, refused by the CA, or
    /// cancelled because the renewal is no longer good). Nothing without
    /// a CA.
    pub async fn revoke_due_superseded(&self) -> Result<usize, RaError> {
        if self.ca.is_none() {
            return Ok(0);
        }
        let due = self
            .store
            .superseded_revocations_due(self.clock.now(), BATCH)
            .await?;
        let mut ended = 0;
        for item in due {
            match self.revoke_superseded(&item).await {
                Ok(true) => ended += 1,
                Ok(false) => {}
                Err(error) => {
                    tracing::warn!(%error, serial = %item.serial, "superseded revocation failed");
                }
            }
        }
        Ok(ended)
    }

    /// Ends schedule `item` as `status` (with `error`) and appends `event`
    /// in one transaction, the event only if this call ended it (another
    /// instance may have). Returns whether it did.
    async fn end_superseded(
        &self,
        item: &SupersededRevocation,
        status: &str,
        error: Option<&str>,
        event: AuditEvent,
    ) -> Result<bool, RaError> {
        let mut tx = self.store.begin().await?;
        let ended = tx
            .finish_superseded_revocation(item.id, status, error, self.clock.now())
            .await?;
        if ended {
            self.audit.append(&mut tx, &event).await?;
        }
        tx.commit().await?;
        Ok(ended)
    }

    /// Handles one due schedule. `Ok(true)` when it ended.
    async fn revoke_superseded(&self, item: &SupersededRevocation) -> Result<bool, RaError> {
        let caller = Caller::system();
        let all = ScopePrefix::all();
        let target = format!("request:{}", item.request_uid);
        let event = || {
            AuditEvent::by(&caller, "certificate.revoke")
                .target(target.clone())
                .detail("serial", item.serial.as_str())
                .detail("reason", REASON)
                .detail("superseded", true)
        };
        // The old certificate by its request, not by a serial look-up.
        let record = self
            .store
            .request(&item.request_uid, &all)
            .await?
            .filter(|r| r.serial.as_deref() == Some(item.serial.as_str()));
        let Some(record) = record else {
            let e = event()
                .outcome(Outcome::Denied)
                .detail("error", "unknown certificate");
            return self
                .end_superseded(item, "failed", Some("unknown certificate"), e)
                .await;
        };
        if record.cert_status.as_deref() == Some("revoked") {
            // Revoked meanwhile (by its holder or an officer): done.
            let e = event().detail("already_revoked", true);
            return self.end_superseded(item, "done", None, e).await;
        }
        // The old certificate goes only while its renewal stands: a
        // renewal revoked, suspended or gone during the grace period
        // leaves the holder the certificate they still have.
        let renewal = self.store.request(&item.renewal_uid, &all).await?;
        let renewal_state = match &renewal {
            None => "missing".to_owned(),
            Some(r) if r.status != "issued" => r.status.clone(),
            Some(r) => r.cert_status.clone().unwrap_or_else(|| "unknown".into()),
        };
        if renewal_state != "good" {
            let reason = format!("renewal {renewal_state}");
            let e = AuditEvent::by(&caller, "certificate.supersede_cancelled")
                .target(target.clone())
                .detail("serial", item.serial.as_str())
                .detail("renewal", format!("request:{}", item.renewal_uid))
                .detail("renewal_status", renewal_state.as_str());
            return self
                .end_superseded(item, "cancelled", Some(&reason), e)
                .await;
        }
        let ca = self.ca.as_ref().ok_or_else(|| RaError::CaUnavailable {
            reason: "no CA configured".into(),
        })?;
        let answer = ca
            .revoke(
                &item.serial,
                &RevokeRequest {
                    reason: REASON.to_owned(),
                    invalidity_date: None,
                    issuer: record.issuer.clone(),
                    crl_now: false,
                },
            )
            .await
            .map_err(ca_error);
        let answer = match answer {
            // Refused: perhaps revoked at the CA already (a lost answer,
            // another RA instance). Ask what the CA knows; if that
            // question gets no answer, nothing is known: try again later.
            Err(RaError::CaRefused { code, message }) => {
                match ca.get(&item.serial).await.map_err(ca_error) {
                    Ok(info) if info.status == "revoked" => Ok((info, true)),
                    Ok(_) | Err(RaError::CaRefused { .. }) => {
                        Err(RaError::CaRefused { code, message })
                    }
                    Err(unreachable) => Err(unreachable),
                }
            }
            other => other.map(|info| (info, false)),
        };
        let now = self.clock.now();
        match answer {
            Ok((info, already)) => {
                let mut tx = self.store.begin().await?;
                tx.set_certificate_status(
                    record.id,
                    &info.status,
                    info.revocation_reason.as_deref(),
                    now,
                )
                .await?;
                let ended = tx
                    .finish_superseded_revocation(item.id, "done", None, now)
                    .await?;
                if ended {
                    let mut e = event().detail("status", info.status.as_str());
                    if already {
                        e = e.detail("already_revoked", true);
                    }
                    self.audit.append(&mut tx, &e).await?;
                }
                tx.commit().await?;
                Ok(ended)
            }
            Err(RaError::CaRefused { code, message }) => {
                let e = event()
                    .outcome(Outcome::Denied)
                    .detail("ca_code", code)
                    .detail("ca_reason", message.as_str());
                self.end_superseded(item, "failed", Some(&message), e).await
            }
            Err(e) => {
                let reason = e.to_string();
                let next = now.plus(backoff(
                    self.settings.supersede_check_interval,
                    item.attempts.saturating_add(1),
                ));
                let mut tx = self.store.begin().await?;
                if tx
                    .postpone_superseded_revocation(item.id, next, &reason, now)
                    .await?
                {
                    self.audit
                        .append(
                            &mut tx,
                            &event()
                                .outcome(Outcome::Error)
                                .detail("error", reason)
                                .detail("retry_at", next.unix()),
                        )
                        .await?;
                }
                tx.commit().await?;
                Ok(false)
            }
        }
    }

    /// The background task: every `portal.supersede_check_interval`,
    /// revokes the superseded certificates that are due. Without a CA it
    /// says so once and ends (there is nothing it could revoke through).
    pub(crate) async fn run_superseded_revocations(self: Arc<Self>) {
        if self.ca.is_none() {
            tracing::info!("no CA configured: superseded certificates are not revoked");
            return;
        }
        let mut ticker = tokio::time::interval(self.settings.supersede_check_interval);
        ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            ticker.tick().await;
            if let Err(error) = self.revoke_due_superseded().await {
                tracing::warn!(%error, "cannot look for superseded certificates");
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn retries_back_off_to_an_hour() {
        let minute = Duration::from_secs(60);
        assert_eq!(backoff(minute, 0), minute);
        assert_eq!(backoff(minute, 1), Duration::from_secs(120));
        assert_eq!(backoff(minute, 3), Duration::from_secs(480));
        assert_eq!(backoff(minute, 10), MAX_BACKOFF);
        assert_eq!(backoff(minute, i64::MAX), MAX_BACKOFF);
    }
}
