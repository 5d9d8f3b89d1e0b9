//! Officer login: password (argon2id), then a TOTP code, a forced
//! password change, or TOTP enrolment, as the account needs; or a
//! registered client certificate. Sessions, their expiry, and lockout.
//!
//! Every refusal looks the same to the client ([`RaError::LoginFailed`]):
//! an unknown username, a wrong password, a wrong or reused code, a locked
//! or disabled account. The audit trail records which it was.

use std::net::IpAddr;
use std::time::Duration;

use sha2::{Digest as _, Sha256};
use signet_core::Timestamp;
use signet_store::RaTx;
use signet_store::ra::{FailureOutcome, NewSession, OfficerRecord, OrgUnit, SessionRecord};
use zeroize::Zeroizing;

use super::{RegistrationAuthority, ip_text};
use crate::audit::{ActorKind, AuditEvent, Outcome};
use crate::auth::password;
use crate::auth::secrets::{SessionId, random_token};
use crate::auth::totp::{TotpSecret, qr_data_uri};
use crate::error::RaError;
use crate::roles::Caller;
use crate::sensitive::SensitiveField;

/// A session that has not finished logging in lives at most this long.
const PENDING_LIFETIME: Duration = Duration::from_secs(10 * 60);

/// How far a login has come.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Stage {
    /// Password accepted; a TOTP code is expected.
    Totp,
    /// A new password must be chosen (first login, or after a reset).
    Password,
    /// TOTP must be set up.
    Enroll,
    /// Logged in.
    Active,
}

impl Stage {
    /// The stored name.
    pub fn as_str(self) -> &'static str {
        match self {
            Stage::Totp => "totp",
            Stage::Password => "password",
            Stage::Enroll => "enroll",
            Stage::Active => "active",
        }
    }

    fn parse(s: &str) -> Option<Self> {
        [Stage::Totp, Stage::Password, Stage::Enroll, Stage::Active]
            .into_iter()
            .find(|st| st.as_str() == s)
    }

    /// The page that continues a login at this stage.
    pub fn path(self) -> &'static str {
        match self {
            Stage::Totp => "/login/totp",
            Stage::Password => "/login/password",
            Stage::Enroll => "/login/enroll",
            Stage::Active => "/",
        }
    }
}

/// A session just created: its id goes into the cookie.
#[derive(Debug)]
pub struct NewLogin {
    /// The new session id (the old one, if any, is gone).
    pub session_id: SessionId,
    /// Where the login stands.
    pub stage: Stage,
}

/// A valid session with its officer.
#[derive(Clone, Debug)]
pub struct LoadedSession {
    /// The stored session.
    pub record: SessionRecord,
    /// Its officer.
    pub officer: OfficerRecord,
    /// The officer's unit.
    pub unit: OrgUnit,
    /// Login stage.
    pub stage: Stage,
}

impl LoadedSession {
    /// The caller for domain operations, once fully logged in.
    pub fn caller(&self, ip: IpAddr) -> Option<Caller> {
        (self.stage == Stage::Active)
            .then(|| Caller::officer(&self.officer, &self.unit, ip_text(ip)))
            .flatten()
    }
}

/// What the enrolment page shows.
pub struct Enrolment {
    /// The secret in base32, for typing into an app.
    pub secret_base32: Zeroizing<String>,
    /// The `otpauth://` URI as a QR code (`data:` URI of an SVG).
    pub qr_data_uri: Zeroizing<String>,
}

impl std::fmt::Debug for Enrolment {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Enrolment(***)")
    }
}

/// The stage after the password was accepted.
fn after_password(o: &OfficerRecord) -> Stage {
    if o.totp_enabled {
        Stage::Totp
    } else if o.must_change_password {
        Stage::Password
    } else {
        Stage::Enroll
    }
}

/// The stage after a TOTP code was accepted.
fn after_totp(o: &OfficerRecord) -> Stage {
    if o.must_change_password {
        Stage::Password
    } else {
        Stage::Active
    }
}

/// The stage after a new password was set.
fn after_password_change(o: &OfficerRecord) -> Stage {
    if o.totp_enabled {
        Stage::Active
    } else {
        Stage::Enroll
    }
}

fn plausible_username(name: &str) -> bool {
    !name.is_empty() && name.len() <= 64
}

impl RegistrationAuthority {
    fn officer_event(&self, officer: &OfficerRecord, action: &str, ip: IpAddr) -> AuditEvent {
        AuditEvent::new(ActorKind::Officer, &officer.username, action, &ip_text(ip))
            .target(format!("officer:{}", officer.username))
    }

    /// Counts a login attempt from `ip`; refuses (and audits) over the
    /// per-address allowance.
    async fn throttle(&self, ip: IpAddr, method: &str) -> Result<(), RaError> {
        if self.throttle.allow(ip, self.clock.now()) {
            return Ok(());
        }
        self.metrics.login(method, "rate_limited");
        self.audit
            .record_or_log(
                &AuditEvent::new(ActorKind::Officer, "-", "officer.login", &ip_text(ip))
                    .outcome(Outcome::Denied)
                    .detail("method", method)
                    .detail("reason", "rate_limited"),
            )
            .await;
        Err(RaError::RateLimited)
    }

    /// Refuses a login without touching the account (unknown, locked or
    /// disabled): audits why, answers the generic failure.
    async fn refuse_login(
        &self,
        officer: Option<&OfficerRecord>,
        method: &str,
        reason: &str,
        ip: IpAddr,
    ) -> RaError {
        self.metrics.login(
            method,
            if reason == "locked" {
                "locked"
            } else {
                "failure"
            },
        );
        let event = match officer {
            Some(o) => self.officer_event(o, "officer.login", ip),
            None => AuditEvent::new(ActorKind::Officer, "-", "officer.login", &ip_text(ip)),
        };
        self.audit
            .record_or_log(
                &event
                    .outcome(Outcome::Denied)
                    .detail("method", method)
                    .detail("reason", reason),
            )
            .await;
        RaError::LoginFailed
    }

    /// Counts a failed password or code against the account, locking it at
    /// the threshold; audits both. Returns the generic failure.
    async fn count_failure(
        &self,
        officer: &OfficerRecord,
        method: &str,
        reason: &str,
        ip: IpAddr,
    ) -> Result<RaError, RaError> {
        self.metrics.login(method, reason_outcome(reason));
        let mut tx = self.store.begin().await?;
        let outcome = tx
            .record_login_failure(
                officer.id,
                i64::from(self.settings.lockout_threshold),
                self.settings.lockout_duration,
                self.clock.now(),
            )
            .await?;
        let mut event = self
            .officer_event(officer, "officer.login", ip)
            .outcome(Outcome::Denied)
            .detail("method", method)
            .detail("reason", reason);
        if let FailureOutcome::Counted { attempts } = outcome {
            event = event.detail("failed_attempts", attempts);
        }
        self.audit.append(&mut tx, &event).await?;
        if let FailureOutcome::Locked { until } = outcome {
            self.metrics.lockouts.inc();
            tx.delete_officer_sessions(officer.id).await?;
            self.audit
                .append(
                    &mut tx,
                    &self
                        .officer_event(officer, "officer.locked", ip)
                        .detail("until", until.to_string())
                        .detail("threshold", self.settings.lockout_threshold),
                )
                .await?;
            tracing::warn!(officer = %officer.username, %until, "account locked after repeated failed logins");
        }
        tx.commit().await?;
        Ok(RaError::LoginFailed)
    }

    /// Creates a session at `stage` in `tx`, replacing `old` if given.
    async fn open_session(
        &self,
        tx: &mut RaTx,
        officer: &OfficerRecord,
        stage: Stage,
        method: &str,
        old: Option<&[u8]>,
        ip: IpAddr,
    ) -> Result<NewLogin, RaError> {
        let now = self.clock.now();
        if let Some(old) = old {
            tx.delete_session(old).await?;
        }
        let lifetime = if stage == Stage::Active {
            self.settings.session_lifetime
        } else {
            PENDING_LIFETIME.min(self.settings.session_lifetime)
        };
        let session_id = SessionId::generate();
        tx.create_session(&NewSession {
            id_hash: session_id.hash(),
            officer_id: officer.id,
            stage: stage.as_str().to_owned(),
            auth_method: method.to_owned(),
            csrf_token: random_token().to_string(),
            source_ip: ip_text(ip),
            now,
            expires_at: now.plus(lifetime),
        })
        .await?;
        Ok(NewLogin { session_id, stage })
    }

    /// Moves a login to its next stage under a new session id (so an id
    /// seen before a step is useless after it), auditing the step.
    async fn advance(
        &self,
        mut tx: RaTx,
        session: &LoadedSession,
        next: Stage,
        step: AuditEvent,
        ip: IpAddr,
    ) -> Result<NewLogin, RaError> {
        let login = self
            .open_session(
                &mut tx,
                &session.officer,
                next,
                &session.record.auth_method,
                Some(&session.record.id_hash),
                ip,
            )
            .await?;
        self.audit.append(&mut tx, &step).await?;
        if next == Stage::Active {
            tx.clear_login_failures(session.officer.id).await?;
            self.audit
                .append(
                    &mut tx,
                    &self
                        .officer_event(&session.officer, "officer.login", ip)
                        .detail("method", session.record.auth_method.as_str()),
                )
                .await?;
        }
        tx.commit().await?;
        Ok(login)
    }

    /// First factor: username and password.
    pub async fn login_password(
        &self,
        username: &str,
        password: Zeroizing<String>,
        ip: IpAddr,
    ) -> Result<NewLogin, RaError> {
        self.throttle(ip, "password").await?;
        let username = username.trim();
        let officer = if plausible_username(username) {
            self.store.officer_by_username(username).await?
        } else {
            None
        };
        let Some(officer) = officer else {
            // As slow as a real check, so timing does not tell either.
            let pw = password.clone();
            tokio::task::spawn_blocking(move || password::verify_dummy(&pw))
                .await
                .map_err(|_| RaError::internal("password task failed"))?;
            return Err(self
                .refuse_login(None, "password", "unknown_user", ip)
                .await);
        };
        let hash = officer.password_hash.clone();
        let matches =
            tokio::task::spawn_blocking(move || password::verify_password(&password, &hash))
                .await
                .map_err(|_| RaError::internal("password task failed"))?;
        let now = self.clock.now();
        if !officer.active {
            return Err(self
                .refuse_login(Some(&officer), "password", "disabled", ip)
                .await);
        }
        if officer.is_locked(now) {
            return Err(self
                .refuse_login(Some(&officer), "password", "locked", ip)
                .await);
        }
        if !matches {
            return Err(self
                .count_failure(&officer, "password", "wrong_password", ip)
                .await?);
        }
        self.metrics.login("password", "success");
        let stage = after_password(&officer);
        let mut tx = self.store.begin().await?;
        let login = self
            .open_session(&mut tx, &officer, stage, "password", None, ip)
            .await?;
        self.audit
            .append(
                &mut tx,
                &self
                    .officer_event(&officer, "officer.login.password", ip)
                    .detail("next", stage.as_str()),
            )
            .await?;
        if stage == Stage::Active {
            // Not reachable today (TOTP is mandatory); kept for clarity.
            self.audit
                .append(&mut tx, &self.officer_event(&officer, "officer.login", ip))
                .await?;
        }
        tx.commit().await?;
        Ok(login)
    }

    async fn totp_secret(&self, officer: &OfficerRecord) -> Result<Option<TotpSecret>, RaError> {
        let Some(blob) = &officer.totp_secret else {
            return Ok(None);
        };
        let bytes = self
            .fields
            .decrypt(SensitiveField::TotpSecret, &officer.id.to_string(), blob)
            .await?;
        Ok(Some(TotpSecret::from_bytes(bytes)))
    }

    fn expect_stage(session: &LoadedSession, stage: Stage) -> Result<(), RaError> {
        if session.stage == stage {
            Ok(())
        } else {
            Err(RaError::Unauthenticated)
        }
    }

    /// Second factor: a TOTP code, each accepted once.
    pub async fn login_totp(
        &self,
        session: &LoadedSession,
        code: &str,
        ip: IpAddr,
    ) -> Result<NewLogin, RaError> {
        Self::expect_stage(session, Stage::Totp)?;
        self.throttle(ip, "totp").await?;
        let officer = &session.officer;
        let Some(secret) = self.totp_secret(officer).await? else {
            return Err(RaError::Unauthenticated);
        };
        let Some(step) = secret.verify(code, self.clock.now()) else {
            return Err(self
                .count_failure(officer, "totp", "wrong_code", ip)
                .await?);
        };
        let mut tx = self.store.begin().await?;
        if !tx
            .claim_totp_step(officer.id, step, false, self.clock.now())
            .await?
        {
            drop(tx);
            return Err(self
                .count_failure(officer, "totp", "replayed_code", ip)
                .await?);
        }
        self.metrics.login("totp", "success");
        let next = after_totp(officer);
        let event = self
            .officer_event(officer, "officer.login.totp", ip)
            .detail("next", next.as_str());
        self.advance(tx, session, next, event, ip).await
    }

    /// The TOTP secret to enrol, made (and stored, unconfirmed) on first
    /// call and shown again on later calls until confirmed.
    pub async fn begin_enrolment(&self, session: &LoadedSession) -> Result<Enrolment, RaError> {
        Self::expect_stage(session, Stage::Enroll)?;
        let officer = &session.officer;
        let secret = match (officer.totp_enabled, self.totp_secret(officer).await?) {
            (false, Some(pending)) => pending,
            _ => {
                let secret = TotpSecret::generate();
                let sealed = self
                    .fields
                    .encrypt(
                        SensitiveField::TotpSecret,
                        &officer.id.to_string(),
                        secret.bytes(),
                    )
                    .await?;
                let mut tx = self.store.begin().await?;
                tx.set_totp_secret(officer.id, Some(&sealed), self.clock.now())
                    .await?;
                tx.commit().await?;
                secret
            }
        };
        let uri = secret.otpauth_uri(&self.settings.totp_issuer, &officer.username);
        Ok(Enrolment {
            secret_base32: secret.base32(),
            qr_data_uri: qr_data_uri(&uri)?,
        })
    }

    /// Confirms TOTP enrolment with a code from the new secret.
    pub async fn confirm_enrolment(
        &self,
        session: &LoadedSession,
        code: &str,
        ip: IpAddr,
    ) -> Result<NewLogin, RaError> {
        Self::expect_stage(session, Stage::Enroll)?;
        self.throttle(ip, "enroll").await?;
        let officer = &session.officer;
        let Some(secret) = self.totp_secret(officer).await? else {
            return Err(RaError::Conflict {
                key: "error.enrolment_not_started",
            });
        };
        let Some(step) = secret.verify(code, self.clock.now()) else {
            return Err(self
                .count_failure(officer, "enroll", "wrong_code", ip)
                .await?);
        };
        let mut tx = self.store.begin().await?;
        if !tx
            .claim_totp_step(officer.id, step, true, self.clock.now())
            .await?
        {
            drop(tx);
            return Err(self
                .count_failure(officer, "enroll", "replayed_code", ip)
                .await?);
        }
        self.metrics.login("enroll", "success");
        let event = self.officer_event(officer, "officer.totp.enrol", ip);
        self.advance(tx, session, Stage::Active, event, ip).await
    }

    /// Sets the new password a first login (or a reset) demands.
    pub async fn change_password_at_login(
        &self,
        session: &LoadedSession,
        new_password: Zeroizing<String>,
        confirmation: Zeroizing<String>,
        ip: IpAddr,
    ) -> Result<NewLogin, RaError> {
        Self::expect_stage(session, Stage::Password)?;
        let officer = &session.officer;
        if !crate::auth::secrets::secrets_equal(&new_password, &confirmation) {
            return Err(RaError::Invalid {
                field: "confirmation",
                key: "error.password_mismatch",
            });
        }
        password::check_policy(&new_password, &officer.username)?;
        let old_hash = officer.password_hash.clone();
        let hash = tokio::task::spawn_blocking(move || {
            if password::verify_password(&new_password, &old_hash) {
                return Err(RaError::Invalid {
                    field: "password",
                    key: "error.password_reused",
                });
            }
            password::hash_password(&new_password)
        })
        .await
        .map_err(|_| RaError::internal("password task failed"))??;
        let mut tx = self.store.begin().await?;
        tx.set_password(officer.id, &hash, false, self.clock.now())
            .await?;
        let next = after_password_change(officer);
        let event = self
            .officer_event(officer, "officer.password.change", ip)
            .detail("next", next.as_str());
        self.advance(tx, session, next, event, ip).await
    }

    /// Login with a client certificate: it chained to the configured
    /// client roots (the TLS handshake checked that), names no Signet
    /// platform role (those are for services and API clients), and its
    /// SHA-256 fingerprint is registered on an active, unlocked officer.
    pub async fn login_certificate(
        &self,
        certificate_der: &[u8],
        names_platform_role: bool,
        ip: IpAddr,
    ) -> Result<NewLogin, RaError> {
        self.throttle(ip, "certificate").await?;
        let fingerprint = hex::encode(Sha256::digest(certificate_der));
        if names_platform_role {
            return Err(self
                .refuse_login(None, "certificate", "platform_certificate", ip)
                .await);
        }
        let Some(officer) = self.store.officer_by_fingerprint(&fingerprint).await? else {
            self.metrics.login("certificate", "failure");
            self.audit
                .record_or_log(
                    &AuditEvent::new(ActorKind::Officer, "-", "officer.login", &ip_text(ip))
                        .outcome(Outcome::Denied)
                        .detail("method", "certificate")
                        .detail("reason", "unregistered_certificate")
                        .detail("certificate_sha256", fingerprint),
                )
                .await;
            return Err(RaError::LoginFailed);
        };
        if !officer.active {
            return Err(self
                .refuse_login(Some(&officer), "certificate", "disabled", ip)
                .await);
        }
        if officer.is_locked(self.clock.now()) {
            return Err(self
                .refuse_login(Some(&officer), "certificate", "locked", ip)
                .await);
        }
        self.metrics.login("certificate", "success");
        let mut tx = self.store.begin().await?;
        let login = self
            .open_session(&mut tx, &officer, Stage::Active, "certificate", None, ip)
            .await?;
        tx.clear_login_failures(officer.id).await?;
        self.audit
            .append(
                &mut tx,
                &self
                    .officer_event(&officer, "officer.login", ip)
                    .detail("method", "certificate")
                    .detail("certificate_sha256", fingerprint),
            )
            .await?;
        tx.commit().await?;
        Ok(login)
    }

    /// Ends a session.
    pub async fn logout(&self, session: &LoadedSession, ip: IpAddr) -> Result<(), RaError> {
        let mut tx = self.store.begin().await?;
        tx.delete_session(&session.record.id_hash).await?;
        self.audit
            .append(
                &mut tx,
                &self.officer_event(&session.officer, "officer.logout", ip),
            )
            .await?;
        tx.commit().await?;
        Ok(())
    }

    /// The session a cookie names, if it is still valid: within its
    /// absolute lifetime and idle timeout, its officer active and not
    /// locked. Invalid sessions are deleted. A valid one is marked as
    /// used now.
    pub async fn load_session(&self, id: &SessionId) -> Result<Option<LoadedSession>, RaError> {
        let id_hash = id.hash();
        let Some(record) = self.store.session(&id_hash).await? else {
            return Ok(None);
        };
        let now = self.clock.now();
        let idle_expired = record.last_seen.plus(self.settings.session_idle_timeout) <= now;
        let officer = self.store.officer(record.officer_id).await?;
        let officer = officer.filter(|o| o.active && !o.is_locked(now));
        let unit = match &officer {
            Some(o) => self.store.org_unit(o.org_unit_id).await?,
            None => None,
        };
        let stage = Stage::parse(&record.stage);
        let (Some(officer), Some(unit), Some(stage), false, false) =
            (officer, unit, stage, idle_expired, record.expires_at <= now)
        else {
            let mut tx = self.store.begin().await?;
            tx.delete_session(&id_hash).await?;
            tx.commit().await?;
            return Ok(None);
        };
        if now > record.last_seen {
            self.store.touch_session(&id_hash, now).await?;
        }
        Ok(Some(LoadedSession {
            record,
            officer,
            unit,
            stage,
        }))
    }

    /// Deletes expired sessions; run periodically.
    pub async fn purge_sessions(&self) -> Result<u64, RaError> {
        let now = self.clock.now();
        Ok(self
            .store
            .purge_sessions(now, now.minus(self.settings.session_idle_timeout))
            .await?)
    }

    /// Now, by the RA's clock.
    pub fn now(&self) -> Timestamp {
        self.clock.now()
    }
}

fn reason_outcome(reason: &str) -> &'static str {
    if reason == "replayed_code" {
        "replayed"
    } else {
        "failure"
    }
}
