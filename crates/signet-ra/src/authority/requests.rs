//! Certificate requests: an officer files one (a pasted CSR and an offered
//! profile, for a unit in scope); officers other than the filer approve or
//! reject it; once the profile's number of distinct approvers is reached,
//! the RA asks the CA to issue ([`super::certificates`]).
//!
//! Separation of duties is enforced here, not in the forms: the filer's
//! own decision is refused and audited, and each officer counts once
//! (`request_decisions` has one row per officer and request).
//!
//! A request may also be filed without a CSR: the RA then generates the
//! key itself ([`server_keys`]). It may name the subscriber record it is
//! for (a subscriber in the filer's scope); the request's page shows the
//! subscriber and the subscriber's page lists its requests.

mod server_keys;

use rand::RngExt as _;
use signet_core::csr::VerifiedCsr;
use signet_store::ra::{DecisionRecord, NewRequest, RequestFilter, RequestRecord};

use self::server_keys::ServerKeyView;
pub use self::server_keys::{ServerKeyForm, ServerKeyState};
use super::{RegistrationAuthority, SubscriberView};
use crate::audit::{AuditEvent, Outcome};
use crate::error::RaError;
use crate::roles::{Caller, Permission};

/// Requests shown per page.
pub const PAGE_SIZE: u32 = 50;

/// The largest CSR accepted, bytes (PEM): the CA's default limit.
const MAX_CSR_BYTES: usize = signet_core::csr::DEFAULT_MAX_CSR_BYTES;

/// Longest comment kept.
const MAX_COMMENT_CHARS: usize = 1000;

/// The expiry dashboard's windows, days.
pub const EXPIRY_WINDOWS: [u32; 3] = [7, 30, 90];

/// Request statuses, as stored.
pub const STATUSES: [&str; 5] = ["pending", "approved", "issued", "rejected", "failed"];

/// The new-request form.
#[derive(Clone, Debug)]
pub struct RequestForm {
    /// Unit the request belongs to.
    pub org_unit_id: i64,
    /// Offered profile name.
    pub profile: String,
    /// PKCS#10, PEM; ignored when `server_key` is set.
    pub csr_pem: String,
    /// Set when the RA is to generate the key: no CSR, the officer's
    /// vetted subject and SANs instead.
    pub server_key: Option<ServerKeyForm>,
    /// Why the certificate is needed.
    pub comment: String,
    /// The subscriber the certificate is for (in the filer's scope).
    pub subscriber_id: Option<i64>,
}

/// The subscriber a request was filed for, as its page shows it.
#[derive(Clone, Debug)]
pub enum LinkedSubscriber {
    /// In the caller's scope and role: shown, sensitive fields masked.
    Shown(Box<SubscriberView>),
    /// Outside the caller's units, or the caller's role does not see
    /// subscribers (auditors): named only as present.
    Hidden,
}

/// A request with what its page shows around it.
#[derive(Clone, Debug)]
pub struct RequestDetail {
    /// The request.
    pub record: RequestRecord,
    /// Who filed it.
    pub filed_by: String,
    /// Decisions so far.
    pub decisions: Vec<DecisionRecord>,
    /// Whether the caller may approve or reject it now.
    pub may_decide: bool,
    /// Whether the caller may revoke, suspend or resume its certificate.
    pub may_manage: bool,
    /// The key the RA generated for it, if it was filed without a CSR.
    pub server_key: Option<ServerKeyView>,
    /// The subscriber it was filed for, if any.
    pub subscriber: Option<LinkedSubscriber>,
}

fn comment(text: &str) -> Result<String, RaError> {
    let text = text.trim();
    if text.chars().count() > MAX_COMMENT_CHARS {
        return Err(RaError::Invalid {
            field: "comment",
            key: "error.comment_too_long",
        });
    }
    Ok(text.to_owned())
}

impl RegistrationAuthority {
    /// The request `uid`, if it is in the caller's scope.
    pub(crate) async fn scoped_request(
        &self,
        caller: &Caller,
        uid: &str,
    ) -> Result<RequestRecord, RaError> {
        self.store
            .request(uid, caller.scope.prefix())
            .await?
            .ok_or(RaError::NotFound { what: "request" })
    }

    /// Files a request. The CSR's signature is checked here, so a request
    /// that cannot be issued is refused before anyone approves it; the CA
    /// checks it against the profile again when it issues.
    pub async fn file_request(
        &self,
        caller: &Caller,
        form: &RequestForm,
    ) -> Result<RequestRecord, RaError> {
        self.require(caller, Permission::FileRequests, "request.file")
            .await?;
        let Some(profile) = self.settings.profile(&form.profile) else {
            return Err(RaError::Invalid {
                field: "profile",
                key: "error.invalid_profile",
            });
        };
        let approvals_required = i64::from(profile.approvals);
        let unit = self
            .unit_to_file_in(caller, form.org_unit_id, "request.file")
            .await?;
        let subscriber = match form.subscriber_id {
            Some(id) => match self.store.subscriber(id, caller.scope.prefix()).await? {
                Some(s) => Some(s),
                // Unknown or outside the caller's units: the same refusal.
                None => {
                    return self
                        .deny(caller, "request.file", &format!("subscriber:{id}"))
                        .await;
                }
            },
            None => None,
        };
        let generated = match &form.server_key {
            // A dual profile's encryption key is the KMC's to generate.
            Some(_) if self.settings.is_dual(&form.profile) => {
                return Err(RaError::Invalid {
                    field: "profile",
                    key: "server_key.dual_profile",
                });
            }
            Some(vetted) => Some(server_keys::generate(vetted).await?),
            None => None,
        };
        let csr_pem = match &generated {
            Some(g) => g.csr_pem.trim(),
            None => form.csr_pem.trim(),
        };
        let csr = VerifiedCsr::parse(csr_pem.as_bytes(), MAX_CSR_BYTES).map_err(|_| {
            RaError::Invalid {
                field: "csr",
                key: "error.invalid_csr",
            }
        })?;
        let comment = comment(&form.comment)?;
        let uid = format!("{:032x}", rand::rng().random::<u128>());
        let now = self.clock.now();
        let filer = caller.officer_id.ok_or(RaError::Forbidden {
            action: "request.file",
        })?;
        // The token call happens before the transaction holds the database.
        let sealed = match &generated {
            Some(g) => Some(self.seal_generated_key(&uid, g).await?),
            None => None,
        };
        let mut tx = self.store.begin().await?;
        let request_id = tx
            .create_request(&NewRequest {
                uid: uid.clone(),
                org_unit_id: unit.id,
                profile: form.profile.clone(),
                csr_pem: format!("{csr_pem}\n"),
                subject: csr.subject().to_string(),
                approvals_required,
                status: "pending",
                filed_by: Some(filer),
                api_client_id: None,
                comment,
                batch: None,
                renewal_of: None,
                subject_override: generated.as_ref().map(|g| g.subject.clone()),
                sans_override: generated.as_ref().and_then(|g| g.sans_json.clone()),
                now,
            })
            .await?;
        let mut event = AuditEvent::by(caller, "request.file")
            .target(format!("request:{uid}"))
            .detail("profile", form.profile.as_str())
            .detail("org_unit", unit.id)
            .detail("subject", csr.subject().to_string())
            .detail("approvals_required", approvals_required)
            .detail(
                "key_source",
                if generated.is_some() { "server" } else { "csr" },
            );
        if let Some(s) = &subscriber {
            tx.link_subscriber(request_id, s.id).await?;
            event = event.detail("subscriber", s.uid.as_str());
        }
        self.audit.append(&mut tx, &event).await?;
        if let (Some(g), Some(sealed)) = (&generated, &sealed) {
            self.store_generated_key(&mut tx, caller, &uid, request_id, g, sealed)
                .await?;
        }
        tx.commit().await?;
        self.scoped_request(caller, &uid).await
    }

    /// Requests in scope matching `filter`, newest first. A status must be
    /// one of [`STATUSES`]; a serial is compared in lowercase.
    pub async fn list_requests(
        &self,
        caller: &Caller,
        filter: &RequestFilter,
        page: u32,
    ) -> Result<Vec<RequestRecord>, RaError> {
        self.require(caller, Permission::ViewRequests, "request.list")
            .await?;
        if let Some(s) = &filter.status
            && !STATUSES.contains(&s.as_str())
        {
            return Err(RaError::Invalid {
                field: "status",
                key: "error.invalid_status",
            });
        }
        let mut filter = filter.clone();
        filter.serial = filter.serial.map(|s| s.trim().to_ascii_lowercase());
        Ok(self
            .store
            .requests(
                caller.scope.prefix(),
                &filter,
                PAGE_SIZE,
                page.saturating_mul(PAGE_SIZE),
            )
            .await?)
    }

    /// How many valid certificates in scope expire within each of
    /// [`EXPIRY_WINDOWS`] days (the console's expiry dashboard); `None` for
    /// roles that do not see requests.
    pub async fn expiry_summary(
        &self,
        caller: &Caller,
    ) -> Result<Option<Vec<(u32, i64)>>, RaError> {
        if !caller.may(Permission::ViewRequests) {
            return Ok(None);
        }
        let now = self.clock.now();
        let mut out = Vec::with_capacity(EXPIRY_WINDOWS.len());
        for days in EXPIRY_WINDOWS {
            let until = now.plus(std::time::Duration::from_secs(u64::from(days) * 86_400));
            out.push((
                days,
                self.store
                    .count_expiring(caller.scope.prefix(), now, until)
                    .await?,
            ));
        }
        Ok(Some(out))
    }

    /// One request with its decisions.
    pub async fn request_detail(
        &self,
        caller: &Caller,
        uid: &str,
    ) -> Result<RequestDetail, RaError> {
        self.require(caller, Permission::ViewRequests, "request.view")
            .await?;
        let record = self.scoped_request(caller, uid).await?;
        let decisions = self.store.request_decisions(record.id).await?;
        let filed_by = match record.filed_by {
            Some(id) => self
                .store
                .officer(id)
                .await?
                .map_or_else(|| "-".to_owned(), |o| o.username),
            None => match &record.renewal_of {
                Some(serial) => format!("portal (renewal of {serial})"),
                None => "API".to_owned(),
            },
        };
        let own = caller.officer_id.is_some() && caller.officer_id == record.filed_by;
        let decided = decisions
            .iter()
            .any(|d| Some(d.officer_id) == caller.officer_id);
        let server_key = self.server_key_view(&record).await?;
        let subscriber = match record.subscriber_id {
            None => None,
            Some(id) if caller.may(Permission::ViewSubscribers) => Some(
                match self.store.subscriber(id, caller.scope.prefix()).await? {
                    Some(s) => LinkedSubscriber::Shown(Box::new(self.subscriber_view(&s).await?)),
                    None => LinkedSubscriber::Hidden,
                },
            ),
            Some(_) => Some(LinkedSubscriber::Hidden),
        };
        Ok(RequestDetail {
            server_key,
            subscriber,
            may_decide: record.status == "pending"
                && caller.may(Permission::DecideRequests)
                && !own
                && !decided,
            may_manage: record.status == "issued" && caller.may(Permission::ManageCertificates),
            record,
            filed_by,
            decisions,
        })
    }

    /// Approves a request filed by someone else. When the profile's count
    /// of distinct approvers is reached, the request becomes `approved`
    /// and the CA is asked to issue at once.
    pub async fn approve_request(
        &self,
        caller: &Caller,
        uid: &str,
        comment_text: &str,
    ) -> Result<RequestRecord, RaError> {
        let record = self.decide(caller, uid, "approve", comment_text).await?;
        if record.status == "approved" {
            // A CA failure leaves the request `approved` with the reason
            // shown on its page; the approval itself stands. A refusal
            // erases a generated key in the same transaction.
            return self.issue_approved(caller, record).await;
        }
        Ok(record)
    }

    /// Rejects a request filed by someone else.
    pub async fn reject_request(
        &self,
        caller: &Caller,
        uid: &str,
        comment_text: &str,
    ) -> Result<RequestRecord, RaError> {
        self.decide(caller, uid, "reject", comment_text).await
    }

    async fn decide(
        &self,
        caller: &Caller,
        uid: &str,
        decision: &'static str,
        comment_text: &str,
    ) -> Result<RequestRecord, RaError> {
        let action = if decision == "approve" {
            "request.approve"
        } else {
            "request.reject"
        };
        self.require(caller, Permission::DecideRequests, action)
            .await?;
        let record = self.scoped_request(caller, uid).await?;
        let target = format!("request:{uid}");
        let Some(officer_id) = caller.officer_id else {
            return self.deny(caller, action, &target).await;
        };
        if Some(officer_id) == record.filed_by {
            // Separation of duties: never on one's own request.
            self.audit
                .record_or_log(
                    &AuditEvent::by(caller, action)
                        .target(target)
                        .outcome(Outcome::Denied)
                        .detail("reason", "own_request"),
                )
                .await;
            return Err(RaError::Forbidden { action });
        }
        if record.status != "pending" {
            return Err(RaError::Conflict {
                key: "error.request_not_pending",
            });
        }
        let comment = comment(comment_text)?;
        let now = self.clock.now();
        let mut tx = self.store.begin().await?;
        if !tx
            .add_decision(record.id, officer_id, decision, &comment, now)
            .await?
        {
            return Err(RaError::Conflict {
                key: "error.already_decided",
            });
        }
        let approvals = tx.count_approvals(record.id).await?;
        let next = match decision {
            "reject" => Some("rejected"),
            _ if approvals >= record.approvals_required => Some("approved"),
            _ => None,
        };
        if let Some(next) = next
            && !tx
                .set_request_status(record.id, "pending", next, None, now)
                .await?
        {
            return Err(RaError::Conflict {
                key: "error.request_not_pending",
            });
        }
        let mut event = AuditEvent::by(caller, action)
            .target(target)
            .detail("approvals", approvals)
            .detail("approvals_required", record.approvals_required);
        if let Some(next) = next {
            event = event.detail("status", next);
        }
        self.audit.append(&mut tx, &event).await?;
        if next == Some("rejected") {
            self.erase_generated_key(&mut tx, caller, &record, "rejected")
                .await?;
        }
        tx.commit().await?;
        self.scoped_request(caller, uid).await
    }
}
