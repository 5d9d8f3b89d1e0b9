//! The audit view: auditors and administrators read, filter and export
//! the trail. Exports are themselves audited.

use signet_store::ra::{AuditFilter, AuditRecord};

use super::RegistrationAuthority;
use crate::audit::AuditEvent;
use crate::error::RaError;
use crate::roles::{Caller, Permission};

/// Events per page.
pub const PAGE_SIZE: u32 = 100;
/// Most events in one export.
pub const EXPORT_LIMIT: u32 = 100_000;

/// One page of the audit view.
#[derive(Clone, Debug)]
pub struct AuditPage {
    /// Events, newest first.
    pub events: Vec<AuditRecord>,
    /// Whether there is a next page.
    pub more: bool,
    /// Every action name, for the filter.
    pub actions: Vec<String>,
}

impl RegistrationAuthority {
    /// One page of events matching `filter`.
    pub async fn audit_page(
        &self,
        caller: &Caller,
        filter: &AuditFilter,
        page: u32,
    ) -> Result<AuditPage, RaError> {
        self.require(caller, Permission::ViewAudit, "audit.view")
            .await?;
        let mut events = self
            .store
            .audit_events(filter, PAGE_SIZE + 1, page.saturating_mul(PAGE_SIZE))
            .await?;
        let more = events.len() > usize::try_from(PAGE_SIZE).unwrap_or(usize::MAX);
        events.truncate(usize::try_from(PAGE_SIZE).unwrap_or(usize::MAX));
        Ok(AuditPage {
            events,
            more,
            actions: self.store.audit_actions().await?,
        })
    }

    /// Every event matching `filter` (up to [`EXPORT_LIMIT`]), newest
    /// first; the export is recorded.
    pub async fn audit_export(
        &self,
        caller: &Caller,
        filter: &AuditFilter,
    ) -> Result<Vec<AuditRecord>, RaError> {
        self.require(caller, Permission::ViewAudit, "audit.export")
            .await?;
        let events = self.store.audit_events(filter, EXPORT_LIMIT, 0).await?;
        let describe = |v: &Option<String>| v.clone().unwrap_or_default();
        self.audit
            .record(
                &AuditEvent::by(caller, "audit.export")
                    .detail("events", events.len())
                    .detail("actor", describe(&filter.actor))
                    .detail("action", describe(&filter.action))
                    .detail("outcome", describe(&filter.outcome))
                    .detail(
                        "from",
                        filter.from.map(|t| t.to_string()).unwrap_or_default(),
                    )
                    .detail(
                        "until",
                        filter.until.map(|t| t.to_string()).unwrap_or_default(),
                    ),
            )
            .await?;
        Ok(events)
    }
}
