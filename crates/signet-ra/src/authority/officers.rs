//! Officer accounts, managed by system administrators: create (with an
//! initial password shown once), change role, unit and status, reset the
//! password or TOTP, lock and unlock, register a login certificate.

use sha2::{Digest as _, Sha256};
use signet_core::Timestamp;
use signet_store::ra::{NewOfficer, OfficerRecord, OfficerUpdate};
use zeroize::Zeroizing;

use super::RegistrationAuthority;
use crate::audit::AuditEvent;
use crate::auth::password;
use crate::error::RaError;
use crate::roles::{Caller, OfficerRole, Permission};

/// An administrator's lock lasts until unlocked: a hundred years.
const ADMIN_LOCK: std::time::Duration = std::time::Duration::from_secs(100 * 365 * 86_400);

/// The fields of the create and edit forms.
#[derive(Clone, Debug)]
pub struct OfficerForm {
    /// Login name (create only).
    pub username: String,
    /// Name shown in the console.
    pub display_name: String,
    /// Role.
    pub role: OfficerRole,
    /// Unit.
    pub org_unit_id: i64,
    /// Enabled (edit only).
    pub active: bool,
}

/// A new account and its initial password, shown once.
pub struct CreatedOfficer {
    /// Database id.
    pub id: i64,
    /// Login name.
    pub username: String,
    /// The password to hand over; it must be changed at the first login.
    pub one_time_password: Zeroizing<String>,
}

impl std::fmt::Debug for CreatedOfficer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CreatedOfficer")
            .field("id", &self.id)
            .field("username", &self.username)
            .finish_non_exhaustive()
    }
}

/// An account as the console lists it (no credentials).
#[derive(Clone, Debug, serde::Serialize)]
pub struct OfficerView {
    /// Database id.
    pub id: i64,
    /// Login name.
    pub username: String,
    /// Name shown.
    pub display_name: String,
    /// Role name.
    pub role: String,
    /// Unit id.
    pub org_unit_id: i64,
    /// Whether enabled.
    pub active: bool,
    /// Whether locked now.
    pub locked: bool,
    /// Locked until, RFC 3339.
    pub locked_until: Option<String>,
    /// Whether TOTP is set up.
    pub totp_enabled: bool,
    /// Whether the password must be changed at the next login.
    pub must_change_password: bool,
    /// Registered certificate fingerprint.
    pub cert_fingerprint: Option<String>,
    /// Consecutive failed logins.
    pub failed_attempts: i64,
}

impl OfficerView {
    fn new(o: &OfficerRecord, now: Timestamp) -> Self {
        OfficerView {
            id: o.id,
            username: o.username.clone(),
            display_name: o.display_name.clone(),
            role: o.role.clone(),
            org_unit_id: o.org_unit_id,
            active: o.active,
            locked: o.is_locked(now),
            locked_until: o.locked_until.filter(|u| *u > now).map(|u| u.to_string()),
            totp_enabled: o.totp_enabled,
            must_change_password: o.must_change_password,
            cert_fingerprint: o.cert_fingerprint.clone(),
            failed_attempts: o.failed_attempts,
        }
    }
}

/// Usernames: 2 to 64 of lowercase letters, digits, `.`, `_`, `-`.
pub(crate) fn valid_username(name: &str) -> bool {
    (2..=64).contains(&name.len())
        && name.bytes().all(|b| {
            b.is_ascii_lowercase() || b.is_ascii_digit() || matches!(b, b'.' | b'_' | b'-')
        })
}

pub(crate) fn valid_display_name(name: &str) -> bool {
    let n = name.trim().chars().count();
    (1..=100).contains(&n) && !name.chars().any(char::is_control)
}

/// A SHA-256 certificate fingerprint from what an administrator pasted: a
/// PEM certificate, or 64 hex digits (colons and spaces allowed).
pub(crate) fn parse_fingerprint(input: &str) -> Option<String> {
    let input = input.trim();
    if input.contains("-----BEGIN") {
        let certs = signet_core::pem::certificates_from_pem(input.as_bytes()).ok()?;
        let [cert] = certs.as_slice() else {
            return None;
        };
        return Some(hex::encode(Sha256::digest(cert)));
    }
    let hex: String = input
        .chars()
        .filter(|c| !matches!(c, ':' | ' ' | '\n' | '\r' | '\t'))
        .collect::<String>()
        .to_ascii_lowercase();
    (hex.len() == 64 && hex.bytes().all(|b| b.is_ascii_hexdigit())).then_some(hex)
}

impl RegistrationAuthority {
    async fn managed_officer(&self, caller: &Caller, id: i64) -> Result<OfficerRecord, RaError> {
        self.require(caller, Permission::ManageOfficers, "officer.manage")
            .await?;
        self.store
            .officer(id)
            .await?
            .ok_or(RaError::NotFound { what: "officer" })
    }

    /// Every account (administrators see all units).
    pub async fn list_officers(&self, caller: &Caller) -> Result<Vec<OfficerView>, RaError> {
        self.require(caller, Permission::ManageOfficers, "officer.list")
            .await?;
        let now = self.clock.now();
        Ok(self
            .store
            .officers(caller.scope.prefix())
            .await?
            .iter()
            .map(|o| OfficerView::new(o, now))
            .collect())
    }

    /// One account.
    pub async fn officer_view(&self, caller: &Caller, id: i64) -> Result<OfficerView, RaError> {
        let o = self.managed_officer(caller, id).await?;
        Ok(OfficerView::new(&o, self.clock.now()))
    }

    /// Creates an account with a random initial password that must be
    /// changed at the first login, and TOTP enrolment at the first login.
    pub async fn create_officer(
        &self,
        caller: &Caller,
        form: &OfficerForm,
    ) -> Result<CreatedOfficer, RaError> {
        self.require(caller, Permission::ManageOfficers, "officer.create")
            .await?;
        let username = form.username.trim().to_owned();
        if !valid_username(&username) {
            return Err(RaError::Invalid {
                field: "username",
                key: "error.invalid_username",
            });
        }
        if !valid_display_name(&form.display_name) {
            return Err(RaError::Invalid {
                field: "display_name",
                key: "error.invalid_display_name",
            });
        }
        let unit = self
            .store
            .org_unit(form.org_unit_id)
            .await?
            .ok_or(RaError::NotFound { what: "org unit" })?;
        let one_time_password = password::generate_password();
        let pw = one_time_password.clone();
        let hash = tokio::task::spawn_blocking(move || password::hash_password(&pw))
            .await
            .map_err(|_| RaError::internal("password task failed"))??;
        let mut tx = self.store.begin().await?;
        let Some(id) = tx
            .create_officer(&NewOfficer {
                username: username.clone(),
                display_name: form.display_name.trim().to_owned(),
                password_hash: hash,
                role: form.role.as_str().to_owned(),
                org_unit_id: unit.id,
                now: self.clock.now(),
            })
            .await?
        else {
            return Err(RaError::Conflict {
                key: "error.username_taken",
            });
        };
        self.audit
            .append(
                &mut tx,
                &AuditEvent::by(caller, "officer.create")
                    .target(format!("officer:{username}"))
                    .detail("role", form.role.as_str())
                    .detail("org_unit", unit.id),
            )
            .await?;
        tx.commit().await?;
        Ok(CreatedOfficer {
            id,
            username,
            one_time_password,
        })
    }

    /// Changes display name, role, unit and enabled status. An
    /// administrator cannot demote or disable themself, and the last
    /// active administrator cannot be demoted or disabled. A change of
    /// role, unit or status ends the officer's sessions; disabling also
    /// withdraws the officer's open enrolment codes (each audited).
    pub async fn update_officer(
        &self,
        caller: &Caller,
        id: i64,
        form: &OfficerForm,
    ) -> Result<(), RaError> {
        let before = self.managed_officer(caller, id).await?;
        if !valid_display_name(&form.display_name) {
            return Err(RaError::Invalid {
                field: "display_name",
                key: "error.invalid_display_name",
            });
        }
        let unit = self
            .store
            .org_unit(form.org_unit_id)
            .await?
            .ok_or(RaError::NotFound { what: "org unit" })?;
        let demotes_admin = before.role == OfficerRole::Sysadmin.as_str()
            && (form.role != OfficerRole::Sysadmin || !form.active);
        if demotes_admin && caller.officer_id == Some(id) {
            return Err(RaError::Conflict {
                key: "error.cannot_demote_self",
            });
        }
        if demotes_admin && before.active && self.store.active_sysadmins().await? <= 1 {
            return Err(RaError::Conflict {
                key: "error.last_sysadmin",
            });
        }
        let mut tx = self.store.begin().await?;
        tx.update_officer(
            id,
            &OfficerUpdate {
                display_name: form.display_name.trim().to_owned(),
                role: form.role.as_str().to_owned(),
                org_unit_id: unit.id,
                active: form.active,
            },
            self.clock.now(),
        )
        .await?;
        let rights_changed = before.role != form.role.as_str()
            || before.org_unit_id != unit.id
            || before.active != form.active;
        if rights_changed {
            tx.delete_officer_sessions(id).await?;
        }
        if before.active && !form.active {
            // A disabled officer's open enrolment codes go with them.
            for uid in tx
                .withdraw_officer_enrolment_codes(id, self.clock.now())
                .await?
            {
                self.audit
                    .append(
                        &mut tx,
                        &AuditEvent::by(caller, "enrolment_code.revoke")
                            .target(format!("enrolment_code:{uid}"))
                            .detail("was", "open")
                            .detail("reason", "officer_disabled")
                            .detail("officer", before.username.as_str()),
                    )
                    .await?;
            }
        }
        self.audit
            .append(
                &mut tx,
                &AuditEvent::by(caller, "officer.update")
                    .target(format!("officer:{}", before.username))
                    .detail("role", form.role.as_str())
                    .detail("previous_role", before.role.as_str())
                    .detail("org_unit", unit.id)
                    .detail("previous_org_unit", before.org_unit_id)
                    .detail("active", form.active),
            )
            .await?;
        tx.commit().await?;
        Ok(())
    }

    /// Sets a new random password that must be changed at the next login,
    /// and ends the officer's sessions. Returns it, to be shown once.
    pub async fn reset_password(
        &self,
        caller: &Caller,
        id: i64,
    ) -> Result<CreatedOfficer, RaError> {
        let officer = self.managed_officer(caller, id).await?;
        let one_time_password = password::generate_password();
        let pw = one_time_password.clone();
        let hash = tokio::task::spawn_blocking(move || password::hash_password(&pw))
            .await
            .map_err(|_| RaError::internal("password task failed"))??;
        let mut tx = self.store.begin().await?;
        tx.set_password(id, &hash, true, self.clock.now()).await?;
        tx.delete_officer_sessions(id).await?;
        self.audit
            .append(
                &mut tx,
                &AuditEvent::by(caller, "officer.password.reset")
                    .target(format!("officer:{}", officer.username)),
            )
            .await?;
        tx.commit().await?;
        Ok(CreatedOfficer {
            id,
            username: officer.username,
            one_time_password,
        })
    }

    /// Removes the officer's TOTP secret: the next login enrols a new one.
    pub async fn reset_totp(&self, caller: &Caller, id: i64) -> Result<(), RaError> {
        let officer = self.managed_officer(caller, id).await?;
        let mut tx = self.store.begin().await?;
        tx.set_totp_secret(id, None, self.clock.now()).await?;
        tx.delete_officer_sessions(id).await?;
        self.audit
            .append(
                &mut tx,
                &AuditEvent::by(caller, "officer.totp.reset")
                    .target(format!("officer:{}", officer.username)),
            )
            .await?;
        tx.commit().await?;
        Ok(())
    }

    /// Locks an account until an administrator unlocks it (`lock`), or
    /// unlocks it at once (`!lock`), also clearing the failure count.
    pub async fn set_officer_lock(
        &self,
        caller: &Caller,
        id: i64,
        lock: bool,
    ) -> Result<(), RaError> {
        let officer = self.managed_officer(caller, id).await?;
        if lock && caller.officer_id == Some(id) {
            return Err(RaError::Conflict {
                key: "error.cannot_lock_self",
            });
        }
        let now = self.clock.now();
        let mut tx = self.store.begin().await?;
        tx.set_locked_until(id, lock.then(|| now.plus(ADMIN_LOCK)), now)
            .await?;
        if lock {
            tx.delete_officer_sessions(id).await?;
        }
        self.audit
            .append(
                &mut tx,
                &AuditEvent::by(
                    caller,
                    if lock {
                        "officer.lock"
                    } else {
                        "officer.unlock"
                    },
                )
                .target(format!("officer:{}", officer.username)),
            )
            .await?;
        tx.commit().await?;
        Ok(())
    }

    /// Registers the certificate an officer may log in with (`input`: PEM
    /// or SHA-256 hex), or removes it (`None`).
    pub async fn set_officer_certificate(
        &self,
        caller: &Caller,
        id: i64,
        input: Option<&str>,
    ) -> Result<(), RaError> {
        let officer = self.managed_officer(caller, id).await?;
        let fingerprint = match input {
            Some(text) => Some(parse_fingerprint(text).ok_or(RaError::Invalid {
                field: "certificate",
                key: "error.invalid_certificate",
            })?),
            None => None,
        };
        let mut tx = self.store.begin().await?;
        if !tx
            .set_cert_fingerprint(id, fingerprint.as_deref(), self.clock.now())
            .await?
        {
            return Err(RaError::Conflict {
                key: "error.certificate_taken",
            });
        }
        let event = AuditEvent::by(
            caller,
            if fingerprint.is_some() {
                "officer.certificate.register"
            } else {
                "officer.certificate.remove"
            },
        )
        .target(format!("officer:{}", officer.username));
        let event = match &fingerprint {
            Some(fp) => event.detail("certificate_sha256", fp.as_str()),
            None => event,
        };
        self.audit.append(&mut tx, &event).await?;
        tx.commit().await?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn usernames() {
        assert!(valid_username("alice") && valid_username("li.wei_2"));
        assert!(!valid_username("Alice") && !valid_username("a") && !valid_username("a b"));
        assert!(!valid_username("<script>"));
    }

    #[test]
    fn fingerprints() {
        let hex = "AB:".repeat(31) + "AB";
        assert_eq!(parse_fingerprint(&hex).unwrap(), "ab".repeat(32));
        assert!(parse_fingerprint("abcd").is_none());
        assert!(
            parse_fingerprint("-----BEGIN CERTIFICATE-----\nxx\n-----END CERTIFICATE-----")
                .is_none()
        );
    }
}
