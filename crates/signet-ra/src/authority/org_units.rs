//! The organisation tree: administrators create, rename and move units;
//! everyone sees the part of the tree in their scope.

use signet_store::ra::{MoveOutcome, OrgUnit};

use super::RegistrationAuthority;
use crate::audit::AuditEvent;
use crate::error::RaError;
use crate::roles::{Caller, Permission};

fn valid_unit_name(name: &str) -> bool {
    let n = name.trim().chars().count();
    (1..=100).contains(&n) && !name.chars().any(char::is_control)
}

impl RegistrationAuthority {
    /// The units in the caller's scope, in tree order.
    pub async fn list_org_units(&self, caller: &Caller) -> Result<Vec<OrgUnit>, RaError> {
        self.require(caller, Permission::ViewOrgUnits, "org_unit.list")
            .await?;
        Ok(self.store.org_units(caller.scope.prefix()).await?)
    }

    /// One unit, if in the caller's scope.
    pub async fn org_unit_in_scope(&self, caller: &Caller, id: i64) -> Result<OrgUnit, RaError> {
        match self.store.org_unit(id).await? {
            Some(unit) if caller.scope.covers(&unit) => Ok(unit),
            _ => Err(RaError::NotFound { what: "org unit" }),
        }
    }

    /// The unit something is filed in, if it is in the caller's scope;
    /// otherwise the filing is refused and audited as `action` (the same
    /// answer for a unit out of scope and one that does not exist).
    pub(super) async fn unit_to_file_in(
        &self,
        caller: &Caller,
        id: i64,
        action: &'static str,
    ) -> Result<OrgUnit, RaError> {
        match self
            .store
            .org_unit(id)
            .await?
            .filter(|u| caller.scope.covers(u))
        {
            Some(unit) => Ok(unit),
            None => self.deny(caller, action, &format!("org_unit:{id}")).await,
        }
    }

    /// Creates a unit under `parent`.
    pub async fn create_org_unit(
        &self,
        caller: &Caller,
        parent: i64,
        name: &str,
    ) -> Result<OrgUnit, RaError> {
        self.require(caller, Permission::ManageOrgUnits, "org_unit.create")
            .await?;
        if !valid_unit_name(name) {
            return Err(RaError::Invalid {
                field: "name",
                key: "error.invalid_unit_name",
            });
        }
        self.org_unit_in_scope(caller, parent).await?;
        let mut tx = self.store.begin().await?;
        let unit = match tx
            .create_org_unit(Some(parent), name.trim(), self.clock.now())
            .await
        {
            Ok(Some(unit)) => unit,
            Ok(None) => return Err(RaError::NotFound { what: "org unit" }),
            Err(e) if is_unique_violation(&e) => {
                return Err(RaError::Conflict {
                    key: "error.unit_name_taken",
                });
            }
            Err(e) => return Err(e.into()),
        };
        self.audit
            .append(
                &mut tx,
                &AuditEvent::by(caller, "org_unit.create")
                    .target(format!("org_unit:{}", unit.id))
                    .detail("name", unit.name.as_str())
                    .detail("parent", parent),
            )
            .await?;
        tx.commit().await?;
        Ok(unit)
    }

    /// Renames a unit.
    pub async fn rename_org_unit(
        &self,
        caller: &Caller,
        id: i64,
        name: &str,
    ) -> Result<(), RaError> {
        self.require(caller, Permission::ManageOrgUnits, "org_unit.rename")
            .await?;
        if !valid_unit_name(name) {
            return Err(RaError::Invalid {
                field: "name",
                key: "error.invalid_unit_name",
            });
        }
        let before = self.org_unit_in_scope(caller, id).await?;
        let mut tx = self.store.begin().await?;
        match tx.rename_org_unit(id, name.trim(), self.clock.now()).await {
            Ok(true) => {}
            Ok(false) => return Err(RaError::NotFound { what: "org unit" }),
            Err(e) if is_unique_violation(&e) => {
                return Err(RaError::Conflict {
                    key: "error.unit_name_taken",
                });
            }
            Err(e) => return Err(e.into()),
        }
        self.audit
            .append(
                &mut tx,
                &AuditEvent::by(caller, "org_unit.rename")
                    .target(format!("org_unit:{id}"))
                    .detail("name", name.trim())
                    .detail("previous_name", before.name.as_str()),
            )
            .await?;
        tx.commit().await?;
        Ok(())
    }

    /// Moves a unit, with everything below it, under `new_parent`.
    pub async fn move_org_unit(
        &self,
        caller: &Caller,
        id: i64,
        new_parent: i64,
    ) -> Result<(), RaError> {
        self.require(caller, Permission::ManageOrgUnits, "org_unit.move")
            .await?;
        let before = self.org_unit_in_scope(caller, id).await?;
        self.org_unit_in_scope(caller, new_parent).await?;
        let mut tx = self.store.begin().await?;
        let outcome = match tx.move_org_unit(id, new_parent, self.clock.now()).await {
            Ok(o) => o,
            Err(e) if is_unique_violation(&e) => {
                return Err(RaError::Conflict {
                    key: "error.unit_name_taken",
                });
            }
            Err(e) => return Err(e.into()),
        };
        match outcome {
            MoveOutcome::Moved => {}
            MoveOutcome::WouldCycle => {
                return Err(RaError::Conflict {
                    key: "error.unit_move_cycle",
                });
            }
            MoveOutcome::IsRoot => {
                return Err(RaError::Conflict {
                    key: "error.unit_move_root",
                });
            }
            MoveOutcome::NotFound => return Err(RaError::NotFound { what: "org unit" }),
        }
        self.audit
            .append(
                &mut tx,
                &AuditEvent::by(caller, "org_unit.move")
                    .target(format!("org_unit:{id}"))
                    .detail("parent", new_parent)
                    .detail("previous_parent", before.parent_id),
            )
            .await?;
        tx.commit().await?;
        Ok(())
    }
}

/// Whether a store error is a unique-constraint violation (a sibling with
/// the same name).
fn is_unique_violation(e: &signet_store::StoreError) -> bool {
    let text = match e {
        signet_store::StoreError::Database { source, .. } => source.to_string(),
        _ => return false,
    };
    text.contains("UNIQUE") || text.contains("unique") || text.contains("duplicate key")
}
