//! The KMC domain object: the key hierarchy, the store, the settings and
//! the clock. The operations live in `escrow.rs`, `recovery.rs` and
//! `data_keys.rs`; this file opens it, and holds the health view and the
//! scheduled maintenance (rotations, retention, expiry).

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::{Arc, PoisonError, RwLock};

use signet_api::kmc::{KeyHealth, KeyStatus, MaintenanceReport, RotatedKey, StateCounts};
use signet_core::{Clock, Timestamp};
use signet_store::kmc::{KeyState, RecoveryState};
use signet_store::{Database, DbOptions, KmcStore, Schema};
use signet_tls::Role;
use signet_token::Token;

use crate::audit::Caller;
use crate::config::{KmcConfig, Settings};
use crate::error::KmcError;
use crate::hierarchy::{KeyHierarchy, Purpose};
use crate::metrics::KmcMetrics;

/// The key management centre.
pub struct Kmc {
    pub(crate) store: KmcStore,
    pub(crate) keys: KeyHierarchy,
    pub(crate) settings: Settings,
    pub(crate) clock: Arc<dyn Clock>,
    pub(crate) metrics: Arc<KmcMetrics>,
    /// Data key name -> client common names allowed to use it.
    pub(crate) acl: RwLock<HashMap<String, BTreeSet<String>>>,
}

impl std::fmt::Debug for Kmc {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Kmc")
            .field("keys", &self.keys)
            .finish_non_exhaustive()
    }
}

pub(crate) fn rfc3339(t: Timestamp) -> String {
    t.to_string()
}

impl Kmc {
    /// Opens the database, unwraps the hierarchy with `token`, and creates
    /// the configured domains' and data keys' first versions where missing.
    /// Fails with [`KmcError::NotInitialized`] before the key ceremony.
    pub async fn open(
        config: &KmcConfig,
        token: Arc<Token>,
        clock: Arc<dyn Clock>,
        metrics: Arc<KmcMetrics>,
    ) -> Result<Kmc, KmcError> {
        let settings = Settings::try_from(config)?;
        let db = Database::open(
            &config.database.url,
            Schema::Kmc,
            &DbOptions {
                max_connections: config.database.max_connections,
                ..DbOptions::default()
            },
        )
        .await?;
        let store = KmcStore::new(db);
        let keys = KeyHierarchy::load(token, store.clone()).await?;
        let kmc = Kmc {
            store,
            keys,
            settings,
            clock,
            metrics,
            acl: RwLock::new(HashMap::new()),
        };
        kmc.ensure_configured().await?;
        Ok(kmc)
    }

    async fn ensure_configured(&self) -> Result<(), KmcError> {
        let now = self.clock.now();
        let s = &self.settings;
        for domain in &s.domains {
            self.keys
                .ensure_domain(
                    domain,
                    s.escrow_algorithm,
                    s.master_rotation,
                    s.working_rotation,
                    now,
                )
                .await?;
        }
        for dk in &s.data_keys {
            self.keys
                .ensure_data_key(
                    &dk.name,
                    &dk.domain,
                    dk.algorithm,
                    dk.rotation,
                    now,
                    &Caller::system(),
                )
                .await?;
            if !dk.clients.is_empty() {
                let mut tx = self.store.begin().await?;
                let mut granted = Vec::new();
                for client in &dk.clients {
                    if tx.grant_data_key(&dk.name, client, "config", now).await? {
                        granted.push(client.clone());
                    }
                }
                if !granted.is_empty() {
                    tx.append_audit(&Caller::system().entry(
                        now,
                        None,
                        "data_key.grant",
                        format!("data_key:{}", dk.name),
                        "success",
                        format!("from configuration: {}", granted.join(", ")),
                    ))
                    .await?;
                }
                tx.commit().await?;
            }
        }
        self.reload_acl().await
    }

    pub(crate) async fn reload_acl(&self) -> Result<(), KmcError> {
        let mut acl: HashMap<String, BTreeSet<String>> = HashMap::new();
        for g in self.store.data_key_grants().await? {
            acl.entry(g.key_name).or_default().insert(g.client);
        }
        *self.acl.write().unwrap_or_else(PoisonError::into_inner) = acl;
        Ok(())
    }

    /// The database.
    pub fn store(&self) -> &KmcStore {
        &self.store
    }

    /// The unwrapped key hierarchy.
    pub fn hierarchy(&self) -> &KeyHierarchy {
        &self.keys
    }

    /// Counts and rotation times of every key of the hierarchy, and the
    /// escrowed keys by state (roles ra, admin).
    pub async fn key_health(&self, caller: &Caller) -> Result<KeyHealth, KmcError> {
        caller.require(&[Role::Ra, Role::Admin], "read key health")?;
        let now = self.clock.now();
        let mut keys = Vec::new();
        let mut master_counts = BTreeMap::new();
        let mut working_counts = BTreeMap::new();
        let mut overdue = Vec::new();
        let mut next: Option<Timestamp> = None;
        for r in self.store.roots().await? {
            keys.push(KeyStatus {
                level: "root".into(),
                domain: "-".into(),
                name: crate::hierarchy::root_label(r.version),
                version: r.version,
                state: r.state.as_str().into(),
                purpose: None,
                algorithm: Some("aes-256-gcm (token)".into()),
                created_at: rfc3339(r.created_at),
                rotate_at: None,
                overdue: false,
            });
        }
        let mut track = |state: KeyState, rotate_at: Timestamp, label: String| {
            let active = state == KeyState::Active;
            let late = active && rotate_at <= now;
            if late {
                overdue.push(label);
            }
            if active {
                next = Some(next.map_or(rotate_at, |n| n.min(rotate_at)));
            }
            (active.then(|| rfc3339(rotate_at)), late)
        };
        for m in self.store.masters().await? {
            *master_counts
                .entry(m.state.as_str().to_owned())
                .or_insert(0) += 1;
            let (rotate_at, late) = track(m.state, m.rotate_at, format!("master:{}", m.domain));
            keys.push(KeyStatus {
                level: "master".into(),
                domain: m.domain.clone(),
                name: m.domain,
                version: m.version,
                state: m.state.as_str().into(),
                purpose: None,
                algorithm: Some("aes-256-gcm".into()),
                created_at: rfc3339(m.created_at),
                rotate_at,
                overdue: late,
            });
        }
        for w in self.store.working_keys().await? {
            *working_counts
                .entry(w.state.as_str().to_owned())
                .or_insert(0) += 1;
            let (rotate_at, late) = track(w.state, w.rotate_at, format!("working:{}", w.name));
            keys.push(KeyStatus {
                level: "working".into(),
                domain: w.domain,
                name: w.name,
                version: w.version,
                state: w.state.as_str().into(),
                purpose: Some(w.purpose),
                algorithm: Some(w.algorithm),
                created_at: rfc3339(w.created_at),
                rotate_at,
                overdue: late,
            });
        }
        let escrow_counts = self.store.escrow_counts().await?.into_iter().collect();
        Ok(KeyHealth {
            keys,
            master_keys: StateCounts {
                counts: master_counts,
            },
            working_keys: StateCounts {
                counts: working_counts,
            },
            escrowed_keys: StateCounts {
                counts: escrow_counts,
            },
            next_rotation: next.map(rfc3339),
            overdue,
        })
    }

    fn working_rotation(&self, name: &str) -> std::time::Duration {
        self.settings
            .data_keys
            .iter()
            .find(|d| d.name == name)
            .map_or(self.settings.working_rotation, |d| d.rotation)
    }

    /// Rotates a master (level `master`, name = domain) or working key
    /// (level `working`) now (role admin).
    pub async fn rotate(
        &self,
        caller: &Caller,
        level: &str,
        name: &str,
        reason: &str,
    ) -> Result<RotatedKey, KmcError> {
        caller.require(&[Role::Admin], "rotate keys")?;
        let now = self.clock.now();
        let reason = if reason.trim().is_empty() {
            "on demand".to_owned()
        } else {
            format!("on demand: {}", reason.trim())
        };
        let version = match level {
            "master" => {
                self.keys
                    .rotate_master(name, self.settings.master_rotation, now, caller, &reason)
                    .await?
            }
            "working" => {
                self.keys
                    .rotate_working(name, self.working_rotation(name), now, caller, &reason)
                    .await?
            }
            _ => return Err(KmcError::bad("level", "must be `master` or `working`")),
        };
        Ok(RotatedKey {
            level: level.to_owned(),
            name: name.to_owned(),
            version,
        })
    }

    /// Runs what is due (role admin on demand; the service runs it every
    /// `hierarchy.check_interval`): scheduled rotations, destruction of
    /// escrowed keys past retention, crypto-erase of retired keys that
    /// wrap nothing, expiry of recovery requests.
    pub async fn maintenance(&self, caller: &Caller) -> Result<MaintenanceReport, KmcError> {
        if caller.role.is_some() {
            caller.require(&[Role::Admin], "run maintenance")?;
        }
        let now = self.clock.now();
        let mut report = MaintenanceReport::default();
        // Rotations that are due.
        for m in self.store.masters().await? {
            if m.state == KeyState::Active && m.rotate_at <= now {
                let v = self
                    .keys
                    .rotate_master(
                        &m.domain,
                        self.settings.master_rotation,
                        now,
                        caller,
                        "scheduled",
                    )
                    .await?;
                report.rotated.push(format!("master:{}:v{v}", m.domain));
            }
        }
        for w in self.store.working_keys().await? {
            if w.state == KeyState::Active && w.rotate_at <= now {
                let v = self
                    .keys
                    .rotate_working(
                        &w.name,
                        self.working_rotation(&w.name),
                        now,
                        caller,
                        "scheduled",
                    )
                    .await?;
                report.rotated.push(format!("working:{}:v{v}", w.name));
            }
        }
        // Escrowed keys past retention.
        loop {
            let due = self.store.escrows_due(now, 500).await?;
            if due.is_empty() {
                break;
            }
            for e in due {
                let mut tx = self.store.begin().await?;
                if tx.destroy_escrow(&e.id, now).await? {
                    tx.append_audit(&caller.entry(
                        now,
                        None,
                        "escrow.destroy",
                        format!("escrow:{}", e.id),
                        "success",
                        format!(
                            "retention ended {} (state was {})",
                            rfc3339(e.destroy_after),
                            e.state.as_str()
                        ),
                    ))
                    .await?;
                    tx.commit().await?;
                    report.escrows_destroyed.push(e.id);
                }
            }
        }
        // Retired escrow working keys that wrap nothing any more, and
        // retired masters that wrap no working key: crypto-erase.
        for w in self.store.working_keys().await? {
            if w.state == KeyState::Retired
                && w.purpose == Purpose::Escrow.as_str()
                && self.store.live_escrows_under(&w.name, w.version).await? == 0
                && self
                    .keys
                    .destroy_working(
                        &w.name,
                        w.version,
                        now,
                        caller,
                        "retired and wrapping no escrowed key",
                    )
                    .await?
            {
                report
                    .keys_destroyed
                    .push(format!("working:{}:v{}", w.name, w.version));
            }
        }
        for m in self.store.masters().await? {
            if m.state == KeyState::Retired
                && self
                    .keys
                    .destroy_master(&m.domain, m.version, now, caller)
                    .await?
            {
                report
                    .keys_destroyed
                    .push(format!("master:{}:v{}", m.domain, m.version));
            }
        }
        for r in self.store.expired_recoveries(now).await? {
            let mut tx = self.store.begin().await?;
            if tx
                .transition_recovery(&r.id, r.state, RecoveryState::Expired, None, now)
                .await?
            {
                tx.append_audit(&caller.entry(
                    now,
                    None,
                    "recovery.expire",
                    format!("recovery:{}", r.id),
                    "success",
                    format!("was {}", r.state.as_str()),
                ))
                .await?;
                tx.commit().await?;
                report.recoveries_expired.push(r.id);
            }
        }
        if report != MaintenanceReport::default() {
            tracing::info!(
                rotated = report.rotated.len(),
                escrows_destroyed = report.escrows_destroyed.len(),
                keys_destroyed = report.keys_destroyed.len(),
                recoveries_expired = report.recoveries_expired.len(),
                "maintenance"
            );
        }
        Ok(report)
    }
}
