//! Subscribers, registered by officers in their scope. ID numbers and
//! phone numbers are sealed ([`crate::sensitive`]) before they reach the
//! store, shown masked, and checked for tampering whenever read.

use rand::RngExt as _;
use signet_store::ra::{NewSubscriber, RequestFilter, RequestRecord, SubscriberRecord};

use super::RegistrationAuthority;
use crate::audit::AuditEvent;
use crate::error::RaError;
use crate::roles::{Caller, Permission};
use crate::sensitive::{Revealed, SensitiveField};

/// Subscribers per page.
pub const PAGE_SIZE: u32 = 50;

/// Requests a subscriber's page lists (the newest; the request list,
/// filtered by subscriber, shows them all).
pub const SUBSCRIBER_REQUESTS: u32 = 100;

/// Subscribers the new-request form offers (the newest in scope; any
/// other is chosen from its own page).
const SUBSCRIBER_CHOICES: u32 = 200;

/// A subscriber's page: the record, masked, and the requests filed for it.
#[derive(Clone, Debug)]
pub struct SubscriberDetail {
    /// The subscriber.
    pub subscriber: SubscriberView,
    /// The requests filed for it in the caller's scope, newest first, at
    /// most [`SUBSCRIBER_REQUESTS`]; none for roles that do not see
    /// requests.
    pub requests: Vec<RequestRecord>,
}

/// A subscriber the new-request form offers.
#[derive(Clone, Debug, serde::Serialize)]
pub struct SubscriberChoice {
    /// Database id (the form's value).
    pub id: i64,
    /// Name.
    pub display_name: String,
    /// `person`, `server` or `device`.
    pub kind: String,
}

/// The registration form.
#[derive(Clone, Default)]
pub struct SubscriberForm {
    /// `person`, `server` or `device`.
    pub kind: String,
    /// Name.
    pub display_name: String,
    /// Unit (must be in the officer's scope).
    pub org_unit_id: i64,
    /// Contact address.
    pub email: String,
    /// ID number (people), may be empty.
    pub id_number: zeroize::Zeroizing<String>,
    /// Phone, may be empty.
    pub phone: zeroize::Zeroizing<String>,
}

impl std::fmt::Debug for SubscriberForm {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SubscriberForm")
            .field("kind", &self.kind)
            .field("org_unit_id", &self.org_unit_id)
            .finish_non_exhaustive()
    }
}

/// An exact-match search on a sensitive field.
#[derive(Clone)]
pub enum SubscriberSearch {
    /// By ID number.
    IdNumber(zeroize::Zeroizing<String>),
    /// By phone.
    Phone(zeroize::Zeroizing<String>),
}

impl std::fmt::Debug for SubscriberSearch {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SubscriberSearch(***)")
    }
}

/// A subscriber as lists show it: sensitive fields masked.
#[derive(Clone, Debug, serde::Serialize)]
pub struct SubscriberView {
    /// Database id.
    pub id: i64,
    /// Public id.
    pub uid: String,
    /// Kind.
    pub kind: String,
    /// Name.
    pub display_name: String,
    /// Unit id.
    pub org_unit_id: i64,
    /// Contact address.
    pub email: Option<String>,
    /// ID number, masked.
    pub id_number: Option<String>,
    /// Phone, masked.
    pub phone: Option<String>,
    /// A sensitive field failed its integrity check.
    pub tampered: bool,
    /// Registered, RFC 3339.
    pub created_at: String,
}

fn valid_email(email: &str) -> bool {
    let Some((local, domain)) = email.split_once('@') else {
        return false;
    };
    !local.is_empty()
        && domain.contains('.')
        && email.len() <= 254
        && !email.chars().any(|c| c.is_whitespace() || c.is_control())
}

impl RegistrationAuthority {
    /// Registers a subscriber in a unit of the caller's scope.
    pub async fn create_subscriber(
        &self,
        caller: &Caller,
        form: &SubscriberForm,
    ) -> Result<SubscriberView, RaError> {
        self.require(caller, Permission::ManageSubscribers, "subscriber.create")
            .await?;
        if !matches!(form.kind.as_str(), "person" | "server" | "device") {
            return Err(RaError::Invalid {
                field: "kind",
                key: "error.invalid_kind",
            });
        }
        if !super::officers::valid_display_name(&form.display_name) {
            return Err(RaError::Invalid {
                field: "display_name",
                key: "error.invalid_display_name",
            });
        }
        let email = form.email.trim();
        if !email.is_empty() && !valid_email(email) {
            return Err(RaError::Invalid {
                field: "email",
                key: "error.invalid_email",
            });
        }
        let unit = match self.store.org_unit(form.org_unit_id).await? {
            Some(unit) if caller.scope.covers(&unit) => unit,
            Some(unit) => {
                return self
                    .deny(
                        caller,
                        "subscriber.create",
                        &format!("org_unit:{}", unit.id),
                    )
                    .await;
            }
            None => return Err(RaError::NotFound { what: "org unit" }),
        };
        let uid = format!("{:032x}", rand::rng().random::<u128>());
        let id_number = self
            .seal_optional(SensitiveField::IdNumber, &uid, &form.id_number, "id_number")
            .await?;
        let phone = self
            .seal_optional(SensitiveField::Phone, &uid, &form.phone, "phone")
            .await?;
        let mut tx = self.store.begin().await?;
        let id = tx
            .create_subscriber(&NewSubscriber {
                uid: uid.clone(),
                kind: form.kind.clone(),
                display_name: form.display_name.trim().to_owned(),
                org_unit_id: unit.id,
                email: (!email.is_empty()).then(|| email.to_owned()),
                id_number: id_number.clone(),
                phone: phone.clone(),
                created_by: caller.officer_id.unwrap_or(0),
                now: self.clock.now(),
            })
            .await?;
        self.audit
            .append(
                &mut tx,
                &AuditEvent::by(caller, "subscriber.create")
                    .target(format!("subscriber:{uid}"))
                    .detail("kind", form.kind.as_str())
                    .detail("org_unit", unit.id)
                    .detail("id_number", id_number.is_some())
                    .detail("phone", phone.is_some()),
            )
            .await?;
        tx.commit().await?;
        let record = self
            .store
            .subscriber(id, caller.scope.prefix())
            .await?
            .ok_or(RaError::NotFound { what: "subscriber" })?;
        self.subscriber_view(&record).await
    }

    async fn seal_optional(
        &self,
        field: SensitiveField,
        uid: &str,
        value: &str,
        name: &'static str,
    ) -> Result<Option<(Vec<u8>, Vec<u8>)>, RaError> {
        if value.trim().is_empty() {
            return Ok(None);
        }
        let normalized =
            zeroize::Zeroizing::new(field.normalize(value).ok_or(RaError::Invalid {
                field: name,
                key: if name == "phone" {
                    "error.invalid_phone"
                } else {
                    "error.invalid_id_number"
                },
            })?);
        Ok(Some(self.fields.seal(field, uid, &normalized).await?))
    }

    /// Subscribers in the caller's scope, newest first, optionally only
    /// those whose ID number or phone is exactly `search`.
    pub async fn list_subscribers(
        &self,
        caller: &Caller,
        search: Option<&SubscriberSearch>,
        page: u32,
    ) -> Result<Vec<SubscriberView>, RaError> {
        self.require(caller, Permission::ViewSubscribers, "subscriber.list")
            .await?;
        let digest = |field: SensitiveField, value: &str| -> Result<Vec<u8>, RaError> {
            let normalized = field.normalize(value).ok_or(RaError::Invalid {
                field: "search",
                key: "error.invalid_search",
            })?;
            Ok(self.fields.digest(field, &normalized))
        };
        let (id_digest, phone_digest) = match search {
            None => (None, None),
            Some(SubscriberSearch::IdNumber(v)) => {
                (Some(digest(SensitiveField::IdNumber, v)?), None)
            }
            Some(SubscriberSearch::Phone(v)) => (None, Some(digest(SensitiveField::Phone, v)?)),
        };
        let records = self
            .store
            .subscribers(
                caller.scope.prefix(),
                id_digest.as_deref(),
                phone_digest.as_deref(),
                PAGE_SIZE,
                page.saturating_mul(PAGE_SIZE),
            )
            .await?;
        let mut views = Vec::with_capacity(records.len());
        for r in &records {
            views.push(self.subscriber_view(r).await?);
        }
        Ok(views)
    }

    /// One subscriber in the caller's scope (404 otherwise, as for every
    /// scoped record) with the requests filed for it.
    pub async fn subscriber_detail(
        &self,
        caller: &Caller,
        id: i64,
    ) -> Result<SubscriberDetail, RaError> {
        self.require(caller, Permission::ViewSubscribers, "subscriber.view")
            .await?;
        let record = self
            .store
            .subscriber(id, caller.scope.prefix())
            .await?
            .ok_or(RaError::NotFound { what: "subscriber" })?;
        let requests = if caller.may(Permission::ViewRequests) {
            let filter = RequestFilter {
                subscriber_id: Some(record.id),
                ..RequestFilter::default()
            };
            self.store
                .requests(caller.scope.prefix(), &filter, SUBSCRIBER_REQUESTS, 0)
                .await?
        } else {
            Vec::new()
        };
        Ok(SubscriberDetail {
            subscriber: self.subscriber_view(&record).await?,
            requests,
        })
    }

    /// The subscribers the new-request form offers: the newest
    /// [`SUBSCRIBER_CHOICES`] in the caller's scope, and `preselected` (the
    /// subscriber whose page the officer came from) if it is in scope.
    /// None for callers who do not file requests.
    pub async fn subscriber_choices(
        &self,
        caller: &Caller,
        preselected: Option<i64>,
    ) -> Result<Vec<SubscriberChoice>, RaError> {
        if !caller.may(Permission::FileRequests) {
            return Ok(Vec::new());
        }
        let mut records = self
            .store
            .subscribers(caller.scope.prefix(), None, None, SUBSCRIBER_CHOICES, 0)
            .await?;
        if let Some(id) = preselected
            && !records.iter().any(|r| r.id == id)
            && let Some(r) = self.store.subscriber(id, caller.scope.prefix()).await?
        {
            records.insert(0, r);
        }
        Ok(records
            .into_iter()
            .map(|r| SubscriberChoice {
                id: r.id,
                display_name: r.display_name,
                kind: r.kind,
            })
            .collect())
    }

    /// A subscriber with its sensitive fields decrypted, checked and
    /// masked.
    pub async fn subscriber_view(&self, r: &SubscriberRecord) -> Result<SubscriberView, RaError> {
        let mut tampered = false;
        let mut reveal = async |field: SensitiveField,
                                enc: &Option<Vec<u8>>,
                                digest: &Option<Vec<u8>>|
               -> Result<Option<String>, RaError> {
            match (enc, digest) {
                (None, None) => Ok(None),
                (Some(enc), Some(digest)) => {
                    match self.fields.open(field, &r.uid, enc, digest).await? {
                        Revealed::Intact(value) => Ok(Some(field.mask(&value))),
                        Revealed::Tampered => {
                            tampered = true;
                            Ok(None)
                        }
                    }
                }
                _ => {
                    tampered = true;
                    Ok(None)
                }
            }
        };
        let id_number = reveal(
            SensitiveField::IdNumber,
            &r.id_number_enc,
            &r.id_number_digest,
        )
        .await?;
        let phone = reveal(SensitiveField::Phone, &r.phone_enc, &r.phone_digest).await?;
        if tampered {
            tracing::error!(
                subscriber = %r.uid,
                "a sensitive field of this subscriber failed its integrity check"
            );
        }
        Ok(SubscriberView {
            id: r.id,
            uid: r.uid.clone(),
            kind: r.kind.clone(),
            display_name: r.display_name.clone(),
            org_unit_id: r.org_unit_id,
            email: r.email.clone(),
            id_number,
            phone,
            tampered,
            created_at: r.created_at.to_string(),
        })
    }
}
