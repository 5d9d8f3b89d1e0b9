//! Officer scoping: which organisation units a caller may see and act on.
//!
//! [`Scope::of`] is the one scope function: every query of scoped data
//! binds [`Scope::prefix`] (`org_unit_id IN (SELECT id FROM org_units
//! WHERE path LIKE $n)`) and every action on one row checks
//! [`Scope::covers`] first. Later phases (requests, certificates,
//! batches) reuse both.

use signet_store::ra::{OrgUnit, ScopePrefix};

use crate::roles::OfficerRole;

/// The units a caller may see.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Scope(pub(crate) ScopePrefix);

impl Scope {
    /// The scope of an officer with `role` who belongs to `unit`:
    /// registration officers see their unit and the units below it;
    /// system administrators and security auditors see everything.
    pub fn of(role: OfficerRole, unit: &OrgUnit) -> Self {
        match role {
            OfficerRole::Officer => Scope(ScopePrefix::under(unit)),
            OfficerRole::Sysadmin | OfficerRole::Auditor => Scope::all(),
        }
    }

    /// Every unit.
    pub fn all() -> Self {
        Scope(ScopePrefix::all())
    }

    /// The pattern scoped queries bind.
    pub fn prefix(&self) -> &ScopePrefix {
        &self.0
    }

    /// Whether `unit` is in scope.
    pub fn covers(&self, unit: &OrgUnit) -> bool {
        self.0.covers(&unit.path)
    }
}

#[cfg(test)]
mod tests {
    use signet_core::Timestamp;

    use super::*;

    fn unit(id: i64, path: &str) -> OrgUnit {
        OrgUnit {
            id,
            parent_id: None,
            name: format!("u{id}"),
            path: path.to_owned(),
            created_at: Timestamp::EPOCH,
        }
    }

    #[test]
    fn officers_see_their_subtree_only() {
        let root = unit(1, "/1/");
        let x = unit(2, "/1/2/");
        let x_child = unit(4, "/1/2/4/");
        let y = unit(3, "/1/3/");
        // Ids that share a decimal prefix must not leak into each other.
        let x_lookalike = unit(21, "/1/21/");
        let s = Scope::of(OfficerRole::Officer, &x);
        assert!(s.covers(&x) && s.covers(&x_child));
        assert!(!s.covers(&y) && !s.covers(&root) && !s.covers(&x_lookalike));
        assert_eq!(s.prefix().pattern(), "/1/2/%");
    }

    #[test]
    fn administrators_and_auditors_see_everything() {
        let x = unit(2, "/1/2/");
        let y = unit(3, "/1/3/");
        for role in [OfficerRole::Sysadmin, OfficerRole::Auditor] {
            let s = Scope::of(role, &x);
            assert!(s.covers(&y) && s.covers(&x));
        }
    }
}
