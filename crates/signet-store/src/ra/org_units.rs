//! The organisation tree. Each unit stores its path from the root
//! (`/1/4/9/`), so a subtree is a prefix match and scoping a query to an
//! officer's unit is one sub-select.

use signet_core::Timestamp;

use super::{RaStore, RaTx, on_tx};
use crate::database::on_reader;
use crate::error::{Context, StoreError};

/// One organisation unit.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct OrgUnit {
    /// Database id.
    pub id: i64,
    /// The parent unit; `None` for the root.
    pub parent_id: Option<i64>,
    /// Display name, unique among siblings.
    pub name: String,
    /// Ids from the root down, `/1/4/9/`.
    pub path: String,
    /// Created.
    pub created_at: Timestamp,
}

impl OrgUnit {
    /// How deep the unit is: 0 for the root.
    pub fn depth(&self) -> usize {
        self.path.matches('/').count().saturating_sub(2)
    }

    /// Whether `other` is this unit or one below it.
    pub fn contains(&self, other: &OrgUnit) -> bool {
        other.path.starts_with(&self.path)
    }
}

/// The `LIKE` pattern that selects the units a caller may see: every
/// scoped query binds it as `org_unit_id IN (SELECT id FROM org_units
/// WHERE path LIKE $n)`. Paths hold only digits and slashes, so the
/// pattern has no other wildcard than its final `%`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ScopePrefix(String);

impl ScopePrefix {
    /// Every unit.
    pub fn all() -> Self {
        ScopePrefix("/%".to_owned())
    }

    /// `unit` and everything below it.
    pub fn under(unit: &OrgUnit) -> Self {
        ScopePrefix(format!("{}%", unit.path))
    }

    /// The pattern to bind.
    pub fn pattern(&self) -> &str {
        &self.0
    }

    /// Whether a unit path falls inside this scope.
    pub fn covers(&self, path: &str) -> bool {
        let prefix = self.0.trim_end_matches('%');
        path.starts_with(prefix)
    }
}

/// What moving a unit did.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum MoveOutcome {
    /// Moved, with its subtree.
    Moved,
    /// The new parent is the unit itself or below it.
    WouldCycle,
    /// The root cannot move.
    IsRoot,
    /// No such unit or parent.
    NotFound,
}

type UnitRow = (i64, Option<i64>, String, String, i64);

fn unit_from_row((id, parent_id, name, path, created_at): UnitRow) -> OrgUnit {
    OrgUnit {
        id,
        parent_id,
        name,
        path,
        created_at: Timestamp::from_unix(created_at),
    }
}

impl RaStore {
    /// One unit.
    pub async fn org_unit(&self, id: i64) -> Result<Option<OrgUnit>, StoreError> {
        let row: Option<UnitRow> = on_reader!(self.db, |pool| {
            sqlx::query_as(
                "SELECT id, parent_id, name, path, created_at FROM org_units WHERE id = $1",
            )
            .bind(id)
            .fetch_optional(pool)
            .await
            .during("read org unit")?
        });
        Ok(row.map(unit_from_row))
    }

    /// The units in `scope`, in tree order (by path).
    pub async fn org_units(&self, scope: &ScopePrefix) -> Result<Vec<OrgUnit>, StoreError> {
        let rows: Vec<UnitRow> = on_reader!(self.db, |pool| {
            sqlx::query_as(
                "SELECT id, parent_id, name, path, created_at FROM org_units \
                 WHERE path LIKE $1 ORDER BY path",
            )
            .bind(scope.pattern())
            .fetch_all(pool)
            .await
            .during("list org units")?
        });
        Ok(rows.into_iter().map(unit_from_row).collect())
    }

    /// The root unit, if the tree exists.
    pub async fn root_org_unit(&self) -> Result<Option<OrgUnit>, StoreError> {
        let row: Option<UnitRow> = on_reader!(self.db, |pool| {
            sqlx::query_as(
                "SELECT id, parent_id, name, path, created_at FROM org_units \
                 WHERE parent_id IS NULL ORDER BY id LIMIT 1",
            )
            .fetch_optional(pool)
            .await
            .during("read root org unit")?
        });
        Ok(row.map(unit_from_row))
    }
}

impl RaTx {
    /// Creates a unit under `parent` (`None`: a root). Returns `None` when
    /// the parent does not exist.
    pub async fn create_org_unit(
        &mut self,
        parent: Option<i64>,
        name: &str,
        now: Timestamp,
    ) -> Result<Option<OrgUnit>, StoreError> {
        let parent_path = match parent {
            None => "/".to_owned(),
            Some(id) => match self.org_unit_path(id).await? {
                Some(path) => path,
                None => return Ok(None),
            },
        };
        // The path needs the new id: insert with a unique placeholder, then
        // set it in the same transaction.
        let placeholder = format!("new:{:032x}", rand::random::<u128>());
        let id: i64 = on_tx!(self, |conn| {
            sqlx::query_scalar(
                "INSERT INTO org_units (parent_id, name, path, created_at, updated_at) \
                 VALUES ($1, $2, $3, $4, $4) RETURNING id",
            )
            .bind(parent)
            .bind(name)
            .bind(&placeholder)
            .bind(now.unix())
            .fetch_one(&mut *conn)
            .await
            .during("insert org unit")?
        });
        let path = format!("{parent_path}{id}/");
        on_tx!(self, |conn| {
            sqlx::query("UPDATE org_units SET path = $1 WHERE id = $2")
                .bind(&path)
                .bind(id)
                .execute(&mut *conn)
                .await
                .during("set org unit path")?
                .rows_affected()
        });
        Ok(Some(OrgUnit {
            id,
            parent_id: parent,
            name: name.to_owned(),
            path,
            created_at: now,
        }))
    }

    /// Renames a unit. Returns false when there is no such unit.
    pub async fn rename_org_unit(
        &mut self,
        id: i64,
        name: &str,
        now: Timestamp,
    ) -> Result<bool, StoreError> {
        let changed = on_tx!(self, |conn| {
            sqlx::query("UPDATE org_units SET name = $1, updated_at = $2 WHERE id = $3")
                .bind(name)
                .bind(now.unix())
                .bind(id)
                .execute(&mut *conn)
                .await
                .during("rename org unit")?
                .rows_affected()
        });
        Ok(changed > 0)
    }

    /// Moves a unit and its subtree under `new_parent`.
    pub async fn move_org_unit(
        &mut self,
        id: i64,
        new_parent: i64,
        now: Timestamp,
    ) -> Result<MoveOutcome, StoreError> {
        let Some(old_path) = self.org_unit_path(id).await? else {
            return Ok(MoveOutcome::NotFound);
        };
        let Some(parent_path) = self.org_unit_path(new_parent).await? else {
            return Ok(MoveOutcome::NotFound);
        };
        if old_path.matches('/').count() <= 2 {
            return Ok(MoveOutcome::IsRoot);
        }
        if parent_path.starts_with(&old_path) {
            return Ok(MoveOutcome::WouldCycle);
        }
        let new_path = format!("{parent_path}{id}/");
        let old_len = i64::try_from(old_path.len()).map_err(|_| StoreError::Corrupt {
            what: "org unit path",
        })?;
        on_tx!(self, |conn| {
            sqlx::query("UPDATE org_units SET parent_id = $1, updated_at = $2 WHERE id = $3")
                .bind(new_parent)
                .bind(now.unix())
                .bind(id)
                .execute(&mut *conn)
                .await
                .during("move org unit")?;
            // Rewrites the prefix of every path in the subtree, the unit's own
            // included. `substr` and `||` mean the same in both dialects.
            sqlx::query("UPDATE org_units SET path = $1 || substr(path, $2 + 1) WHERE path LIKE $3")
                .bind(&new_path)
                .bind(old_len)
                .bind(format!("{old_path}%"))
                .execute(&mut *conn)
                .await
                .during("move org unit subtree")?
                .rows_affected()
        });
        Ok(MoveOutcome::Moved)
    }

    async fn org_unit_path(&mut self, id: i64) -> Result<Option<String>, StoreError> {
        Ok(on_tx!(self, |conn| {
            sqlx::query_scalar("SELECT path FROM org_units WHERE id = $1")
                .bind(id)
                .fetch_optional(&mut *conn)
                .await
                .during("read org unit path")?
        }))
    }
}
