//! First enrolment with a one-time code.
//!
//! An officer (in scope) makes a code for an offered profile and a unit,
//! optionally for a subscriber record and with vetted subject and SANs
//! that will replace the CSR's. The code is shown once and stored only as
//! a domain-separated SHA-256. The subscriber, who holds no certificate
//! yet, enters it in the portal (`/portal/enroll`) with a CSR: that files
//! one request, whose filer is the officer who made the code, so that
//! officer never approves it (separation of duties, as in
//! [`super::requests`]); officers approve it as the profile says. With the
//! same code the subscriber then sees the request's status and downloads
//! the certificate with its chain, once: the download spends the code.
//! Filing must happen within the code's lifetime from its creation; the
//! status and the download within a fresh lifetime from the filing, so a
//! slow approval does not cost the subscriber the certificate. A revoked
//! or suspended certificate is not handed over.
//!
//! Every refusal of a code (malformed, unknown, expired, revoked, spent,
//! used for filing twice, or too many refusals from the address) is the
//! same [`RaError::Forbidden`] to the client; the audit trail records
//! which it was, never the code.

use std::net::IpAddr;

use rand::Rng as _;
use sha2::{Digest as _, Sha256};
use signet_core::Timestamp;
use signet_core::csr::VerifiedCsr;
use signet_store::ra::{
    EnrolmentCodeRecord, NewEnrolmentCode, NewRequest, RequestRecord, ScopePrefix,
};
use subtle::ConstantTimeEq as _;
use zeroize::Zeroizing;

use super::{RegistrationAuthority, ip_text};
use crate::audit::{ActorKind, AuditEvent, Outcome};
use crate::error::RaError;
use crate::roles::{Caller, Permission};

/// Characters in a code (RFC 4648 base32 alphabet): 20 x 5 = 100 bits.
const CODE_CHARS: usize = 20;

/// Shown in groups of this many characters.
const GROUP_CHARS: usize = 5;

/// Domain separation of the stored hash.
const CODE_HASH_DOMAIN: &[u8] = b"signet-ra-enrolment-code-v1\0";

/// Codes listed on the officers' page.
pub const CODE_PAGE: u32 = 100;

/// What the portal's forms name the action when a code is refused.
const ENROLL_ACTION: &str = "portal.enroll";

/// A one-time enrolment code in clear: made here, shown once, never
/// stored or logged.
pub struct EnrolmentCode(Zeroizing<String>);

impl std::fmt::Debug for EnrolmentCode {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("EnrolmentCode(***)")
    }
}

impl EnrolmentCode {
    /// A new random code (100 bits).
    fn generate() -> Self {
        let mut bytes = Zeroizing::new([0u8; 13]);
        rand::rng().fill_bytes(bytes.as_mut());
        let mut text = Zeroizing::new(data_encoding::BASE32_NOPAD.encode(bytes.as_ref()));
        // 13 bytes give 21 characters; the first 20 carry 100 random bits.
        text.truncate(CODE_CHARS);
        EnrolmentCode(text)
    }

    /// A code as a person typed it: case, spaces and dashes do not
    /// matter. `None` unless it has the shape of a code.
    fn parse(typed: &str) -> Option<Self> {
        let text: Zeroizing<String> = Zeroizing::new(
            typed
                .chars()
                .filter(|c| !c.is_whitespace() && *c != '-')
                .map(|c| c.to_ascii_uppercase())
                .collect(),
        );
        let valid = text.len() == CODE_CHARS
            && text
                .bytes()
                .all(|b| b.is_ascii_uppercase() || (b'2'..=b'7').contains(&b));
        valid.then_some(EnrolmentCode(text))
    }

    /// What is stored.
    fn hash(&self) -> Vec<u8> {
        let mut h = Sha256::new();
        h.update(CODE_HASH_DOMAIN);
        h.update(self.0.as_bytes());
        h.finalize().to_vec()
    }

    /// `ABCDE-FGHIJ-KLMNO-PQRST`, as shown to the officer.
    pub fn grouped(&self) -> Zeroizing<String> {
        let mut out = Zeroizing::new(String::with_capacity(CODE_CHARS + 3));
        for (i, c) in self.0.chars().enumerate() {
            if i > 0 && i % GROUP_CHARS == 0 {
                out.push('-');
            }
            out.push(c);
        }
        out
    }
}

/// The officer's form for a new code.
#[derive(Clone, Debug, Default)]
pub struct EnrolmentCodeForm {
    /// Unit the request will belong to (in the officer's scope).
    pub org_unit_id: i64,
    /// Offered profile.
    pub profile: String,
    /// The subscriber record it is for (in scope), if any.
    pub subscriber_id: Option<i64>,
    /// Vetted subject replacing the CSR's (RFC 4514), if any.
    pub subject: Option<String>,
    /// Vetted SANs replacing the CSR's (`DNS:x`, `IP:y`, ...), if any.
    pub sans: Option<Vec<String>>,
}

/// A code just made: the code itself (shown once) and its record.
#[derive(Debug)]
pub struct CreatedEnrolmentCode {
    /// The code, in clear.
    pub code: EnrolmentCode,
    /// What is stored.
    pub record: EnrolmentCodeRecord,
}

/// What the subscriber sees for a code.
#[derive(Clone, Debug)]
pub struct EnrolmentView {
    /// The code's record.
    pub code: EnrolmentCodeRecord,
    /// The request filed with it, once redeemed.
    pub request: Option<RequestRecord>,
}

impl EnrolmentView {
    /// Whether the certificate can be downloaded now: issued, and still
    /// good by the CA's last answer.
    pub fn downloadable(&self) -> bool {
        self.code.status == "redeemed"
            && self.request.as_ref().is_some_and(|r| {
                r.status == "issued"
                    && r.certificate_pem.is_some()
                    && r.cert_status.as_deref() == Some("good")
            })
    }
}

/// The status a code's page and list show: `expired` once past its
/// deadline (for filing, or once redeemed for the download) while still
/// usable.
pub fn shown_status(code: &EnrolmentCodeRecord, now: Timestamp) -> &str {
    if (code.status == "open" || code.status == "redeemed") && code.usable_until() <= now.unix() {
        "expired"
    } else {
        code.status.as_str()
    }
}

impl RegistrationAuthority {
    /// Makes a code (see the module documentation). The officer needs the
    /// right to file requests in the unit.
    pub async fn create_enrolment_code(
        &self,
        caller: &Caller,
        form: &EnrolmentCodeForm,
    ) -> Result<CreatedEnrolmentCode, RaError> {
        const ACTION: &str = "enrolment_code.create";
        self.require(caller, Permission::FileRequests, ACTION)
            .await?;
        let Some(officer_id) = caller.officer_id else {
            return self.deny(caller, ACTION, "-").await;
        };
        if self.settings.profile(&form.profile).is_none() {
            return Err(RaError::Invalid {
                field: "profile",
                key: "error.invalid_profile",
            });
        }
        let unit = self
            .unit_to_file_in(caller, form.org_unit_id, ACTION)
            .await?;
        let subscriber = match form.subscriber_id {
            Some(id) => Some(
                self.store
                    .subscriber(id, caller.scope.prefix())
                    .await?
                    .ok_or(RaError::NotFound { what: "subscriber" })?,
            ),
            None => None,
        };
        let subject = form
            .subject
            .as_deref()
            .map(str::trim)
            .filter(|s| !s.is_empty());
        if let Some(subject) = subject
            && signet_core::names::parse_name(subject).is_err()
        {
            return Err(RaError::Invalid {
                field: "subject",
                key: "error.invalid_subject",
            });
        }
        let sans: Option<Vec<String>> = form
            .sans
            .as_ref()
            .map(|s| {
                s.iter()
                    .map(|x| x.trim().to_owned())
                    .filter(|x| !x.is_empty())
                    .collect::<Vec<_>>()
            })
            .filter(|s| !s.is_empty());
        if let Some(sans) = &sans
            && sans
                .iter()
                .any(|s| signet_core::names::parse_general_name(s).is_err())
        {
            return Err(RaError::Invalid {
                field: "sans",
                key: "error.invalid_sans",
            });
        }
        let sans_json = match &sans {
            Some(s) => Some(
                serde_json::to_string(s).map_err(|_| RaError::internal("cannot encode SANs"))?,
            ),
            None => None,
        };
        let code = EnrolmentCode::generate();
        let uid = format!("{:032x}", rand::random::<u128>());
        let now = self.clock.now();
        let expires_at = now.plus(self.settings.enrolment_code_lifetime);
        let mut tx = self.store.begin().await?;
        tx.create_enrolment_code(&NewEnrolmentCode {
            uid: uid.clone(),
            code_hash: code.hash(),
            org_unit_id: unit.id,
            profile: form.profile.clone(),
            subscriber_id: subscriber.as_ref().map(|s| s.id),
            subject_override: subject.map(str::to_owned),
            sans_override: sans_json,
            created_by: officer_id,
            now,
            expires_at,
        })
        .await?;
        let mut event = AuditEvent::by(caller, ACTION)
            .target(format!("enrolment_code:{uid}"))
            .detail("profile", form.profile.as_str())
            .detail("org_unit", unit.id)
            .detail("expires_at", expires_at.unix());
        if let Some(s) = &subscriber {
            event = event.detail("subscriber", s.uid.as_str());
        }
        if let Some(subject) = subject {
            event = event.detail("subject", subject);
        }
        if let Some(sans) = &sans {
            event = event.detail("sans", sans.join(","));
        }
        self.audit.append(&mut tx, &event).await?;
        tx.commit().await?;
        let record = self
            .store
            .enrolment_code(&uid, caller.scope.prefix())
            .await?
            .ok_or_else(|| RaError::internal("enrolment code vanished"))?;
        Ok(CreatedEnrolmentCode { code, record })
    }

    /// Codes in the caller's scope, newest first.
    pub async fn list_enrolment_codes(
        &self,
        caller: &Caller,
    ) -> Result<Vec<EnrolmentCodeRecord>, RaError> {
        self.require(caller, Permission::ViewRequests, "enrolment_code.list")
            .await?;
        Ok(self
            .store
            .enrolment_codes(caller.scope.prefix(), CODE_PAGE)
            .await?)
    }

    /// Withdraws a code that is not spent yet, expired or not (a request
    /// already filed with it stays, for officers to reject).
    pub async fn revoke_enrolment_code(
        &self,
        caller: &Caller,
        uid: &str,
    ) -> Result<EnrolmentCodeRecord, RaError> {
        const ACTION: &str = "enrolment_code.revoke";
        self.require(caller, Permission::FileRequests, ACTION)
            .await?;
        let code = self
            .store
            .enrolment_code(uid, caller.scope.prefix())
            .await?
            .ok_or(RaError::NotFound {
                what: "enrolment code",
            })?;
        let now = self.clock.now();
        let mut tx = self.store.begin().await?;
        if !tx.withdraw_enrolment_code(code.id, now).await? {
            return Err(RaError::Conflict {
                key: "enrolment.not_revocable",
            });
        }
        self.audit
            .append(
                &mut tx,
                &AuditEvent::by(caller, ACTION)
                    .target(format!("enrolment_code:{uid}"))
                    .detail("was", code.status.as_str()),
            )
            .await?;
        tx.commit().await?;
        self.store
            .enrolment_code(uid, caller.scope.prefix())
            .await?
            .ok_or_else(|| RaError::internal("enrolment code vanished"))
    }

    /// Audits a refused code and returns the one refusal every case gets.
    async fn refuse_code(
        &self,
        code: Option<&EnrolmentCodeRecord>,
        action: &str,
        reason: &str,
        ip: IpAddr,
    ) -> RaError {
        let actor = code.map_or_else(|| "-".to_owned(), |c| format!("enrolment_code:{}", c.uid));
        self.audit
            .record_or_log(
                &AuditEvent::new(
                    ActorKind::Subscriber,
                    &actor,
                    "enrolment_code.refused",
                    &ip_text(ip),
                )
                .target(action)
                .outcome(Outcome::Denied)
                .detail("reason", reason),
            )
            .await;
        RaError::Forbidden {
            action: ENROLL_ACTION,
        }
    }

    /// The stored code matching `typed`, if it is usable in one of
    /// `statuses` now; otherwise the uniform refusal. Refusals count
    /// against the address's allowance, and an address over it is refused
    /// without the code being looked at.
    async fn usable_code(
        &self,
        typed: &str,
        statuses: &[&str],
        action: &str,
        ip: IpAddr,
    ) -> Result<EnrolmentCodeRecord, RaError> {
        let now = self.clock.now();
        if self.enrolment_throttle.exhausted(ip, now) {
            return Err(self.refuse_code(None, action, "throttled", ip).await);
        }
        let found = match EnrolmentCode::parse(typed) {
            Some(code) => {
                let hash = code.hash();
                self.store
                    .enrolment_code_by_hash(&hash)
                    .await?
                    // The look-up is by hash, which tells an attacker
                    // nothing about other codes; compare again in
                    // constant time all the same.
                    .filter(|c| bool::from(c.code_hash.ct_eq(&hash)))
            }
            None => None,
        };
        let refusal = match &found {
            None if EnrolmentCode::parse(typed).is_none() => Some("malformed"),
            None => Some("unknown"),
            Some(c) if c.usable_until() <= now.unix() => Some("expired"),
            Some(c) if c.status == "revoked" => Some("revoked"),
            Some(c) if c.status == "spent" => Some("spent"),
            Some(c) if !statuses.contains(&c.status.as_str()) && c.status == "open" => {
                Some("not_redeemed")
            }
            Some(c) if !statuses.contains(&c.status.as_str()) => Some("already_redeemed"),
            Some(_) => None,
        };
        match (found, refusal) {
            (Some(c), None) => Ok(c),
            (code, reason) => {
                // Counted, not checked: this refusal is answered anyway.
                let _ = self.enrolment_throttle.allow(ip, now);
                let reason = reason.unwrap_or("unknown");
                Err(self.refuse_code(code.as_ref(), action, reason, ip).await)
            }
        }
    }

    /// The subscriber files a request with code `typed` and `csr_pem`.
    pub async fn redeem_enrolment_code(
        &self,
        typed: &str,
        csr_pem: &str,
        ip: IpAddr,
    ) -> Result<EnrolmentView, RaError> {
        const ACTION: &str = "enrolment_code.redeem";
        let code = self.usable_code(typed, &["open"], ACTION, ip).await?;
        let Some(profile) = self.settings.profile(&code.profile) else {
            // The profile was withdrawn from ra.toml after the code was made.
            return Err(RaError::Invalid {
                field: "profile",
                key: "error.invalid_profile",
            });
        };
        let csr_pem = csr_pem.trim();
        let csr = VerifiedCsr::parse(csr_pem.as_bytes(), signet_core::csr::DEFAULT_MAX_CSR_BYTES)
            .map_err(|_| RaError::Invalid {
            field: "csr",
            key: "error.invalid_csr",
        })?;
        let subject = code
            .subject_override
            .clone()
            .unwrap_or_else(|| csr.subject().to_string());
        let uid = format!("{:032x}", rand::random::<u128>());
        let now = self.clock.now();
        let mut tx = self.store.begin().await?;
        let request_id = tx
            .create_request(&NewRequest {
                uid: uid.clone(),
                org_unit_id: code.org_unit_id,
                profile: code.profile.clone(),
                csr_pem: format!("{csr_pem}\n"),
                subject: subject.clone(),
                approvals_required: i64::from(profile.approvals),
                status: "pending",
                // The officer who made the code files on the subscriber's
                // behalf, and so may not approve it.
                filed_by: Some(code.created_by),
                api_client_id: None,
                comment: format!("enrolment code {}", code.uid),
                batch: None,
                renewal_of: None,
                subject_override: code.subject_override.clone(),
                sans_override: code.sans_override.clone(),
                now,
            })
            .await?;
        // A code made for a subscriber record files the request for it.
        if let Some(subscriber_id) = code.subscriber_id {
            tx.link_subscriber(request_id, subscriber_id).await?;
        }
        // From now on the code shows the status and hands over the
        // certificate for a fresh lifetime, however long approval takes.
        let download_until = now.plus(self.settings.enrolment_code_lifetime);
        if !tx
            .redeem_enrolment_code(code.id, request_id, download_until, now)
            .await?
        {
            // Another request with the same code won the race: file nothing.
            drop(tx);
            let _ = self.enrolment_throttle.allow(ip, now);
            return Err(self
                .refuse_code(Some(&code), ACTION, "already_redeemed", ip)
                .await);
        }
        self.audit
            .append(
                &mut tx,
                &AuditEvent::new(
                    ActorKind::Subscriber,
                    &format!("enrolment_code:{}", code.uid),
                    ACTION,
                    &ip_text(ip),
                )
                .target(format!("request:{uid}"))
                .detail("profile", code.profile.as_str())
                .detail("org_unit", code.org_unit_id)
                .detail("subject", subject)
                .detail("filed_by", code.created_by_name.as_str())
                .detail("approvals_required", i64::from(profile.approvals))
                .detail("download_expires_at", download_until.unix()),
            )
            .await?;
        tx.commit().await?;
        self.enrolment_view(&code.uid).await
    }

    async fn enrolment_view(&self, code_uid: &str) -> Result<EnrolmentView, RaError> {
        let code = self
            .store
            .enrolment_code(code_uid, &ScopePrefix::all())
            .await?
            .ok_or_else(|| RaError::internal("enrolment code vanished"))?;
        let request = match &code.request_uid {
            Some(uid) => self.store.request(uid, &ScopePrefix::all()).await?,
            None => None,
        };
        Ok(EnrolmentView { code, request })
    }

    /// What the subscriber sees for code `typed`: its profile, and the
    /// request's status once filed.
    pub async fn enrolment_status(
        &self,
        typed: &str,
        ip: IpAddr,
    ) -> Result<EnrolmentView, RaError> {
        let code = self
            .usable_code(typed, &["open", "redeemed"], "enrolment_code.status", ip)
            .await?;
        self.enrolment_view(&code.uid).await
    }

    /// The issued certificate followed by its chain (without the root),
    /// handed over once: the code is spent by this download.
    pub async fn enrolment_certificate(
        &self,
        typed: &str,
        ip: IpAddr,
    ) -> Result<(String, String), RaError> {
        const ACTION: &str = "enrolment_code.download";
        let code = self.usable_code(typed, &["redeemed"], ACTION, ip).await?;
        let view = self.enrolment_view(&code.uid).await?;
        let issued = view.request.filter(|r| r.status == "issued").and_then(|r| {
            Some((
                r.uid,
                r.serial?,
                r.certificate_pem?,
                r.chain_pem,
                r.cert_status,
            ))
        });
        let Some((request_uid, serial, certificate, chain, cert_status)) = issued else {
            return Err(RaError::Conflict {
                key: "enrolment.not_issued",
            });
        };
        if cert_status.as_deref() != Some("good") {
            // Revoked or suspended before it was handed over: keep it.
            self.audit
                .record_or_log(
                    &AuditEvent::new(
                        ActorKind::Subscriber,
                        &format!("enrolment_code:{}", code.uid),
                        ACTION,
                        &ip_text(ip),
                    )
                    .target(format!("request:{request_uid}"))
                    .outcome(Outcome::Denied)
                    .detail("reason", "certificate_not_good")
                    .detail("cert_status", cert_status.unwrap_or_default()),
                )
                .await;
            return Err(RaError::Conflict {
                key: "enrolment.certificate_not_good",
            });
        }
        let now = self.clock.now();
        let mut tx = self.store.begin().await?;
        if !tx.spend_enrolment_code(code.id, now).await? {
            drop(tx);
            return Err(self.refuse_code(Some(&code), ACTION, "spent", ip).await);
        }
        self.audit
            .append(
                &mut tx,
                &AuditEvent::new(
                    ActorKind::Subscriber,
                    &format!("enrolment_code:{}", code.uid),
                    ACTION,
                    &ip_text(ip),
                )
                .target(format!("request:{request_uid}"))
                .detail("serial", serial.as_str()),
            )
            .await?;
        tx.commit().await?;
        let mut pem = certificate;
        pem.push_str(chain.as_deref().unwrap_or_default());
        Ok((serial, pem))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_are_100_bits_of_base32_and_typing_is_forgiving() {
        let code = EnrolmentCode::generate();
        assert_eq!(code.0.len(), CODE_CHARS);
        let grouped = code.grouped();
        assert_eq!(grouped.len(), 23);
        assert_eq!(grouped.matches('-').count(), 3);
        let typed = grouped.to_lowercase().replace('-', " ");
        let parsed = EnrolmentCode::parse(&typed).unwrap();
        assert_eq!(parsed.hash(), code.hash());
        assert!(EnrolmentCode::parse("ABCDE-FGHIJ-KLMNO-PQRS").is_none());
        assert!(EnrolmentCode::parse("ABCDE-FGHIJ-KLMNO-PQRS1").is_none());
        assert!(EnrolmentCode::parse("").is_none());
        assert_ne!(EnrolmentCode::generate().hash(), code.hash());
        assert_eq!(format!("{code:?}"), "EnrolmentCode(***)");
    }
}
