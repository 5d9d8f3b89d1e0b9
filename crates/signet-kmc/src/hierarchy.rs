//! The key hierarchy: root storage key -> master keys -> working keys.
//!
//! - The **root storage key** (AES-256) lives in the token, sensitive and
//!   not extractable, labelled [`root_label`]. The token encrypts and
//!   decrypts with it (`CKM_AES_GCM`); its value never enters this process
//!   after the ceremony that made it (see `ceremony.rs`).
//! - A **master key** (AES-256) per business domain is stored wrapped by
//!   the root: token AES-GCM, associated data `signet-kmc:master:<domain>:v<n>`.
//! - **Working keys** are stored wrapped by their domain's master (AES-256-
//!   GCM in this process, associated data naming the key, version, purpose
//!   and algorithm): one escrow key per domain (`escrow.<domain>`), which
//!   encrypts escrowed private keys, and the named data keys.
//!
//! Every key is versioned. Rotating a master makes a new version and
//! rewraps the domain's working keys under it in one transaction; rotating
//! a working key makes a new version for new material while old versions
//! keep decrypting until they are destroyed. Nothing below the root is
//! ever stored unwrapped; unwrapped masters and working keys are held in
//! zeroizing memory while the KMC runs.

use std::collections::HashMap;
use std::sync::{Arc, PoisonError, RwLock};

use signet_core::Timestamp;
use signet_store::KmcStore;
use signet_store::kmc::{KeyState, MasterKeyRecord, RootKeyRecord, WorkingKeyRecord};
use signet_token::Token;
use zeroize::Zeroizing;

use crate::aead::{self, Algorithm};
use crate::audit::Caller;
use crate::error::{KmcError, blocking};

/// Token label prefix of root storage key versions.
pub const ROOT_LABEL_PREFIX: &str = "signet-kmc-root-v";

/// The token label of root version `version`.
pub fn root_label(version: i64) -> String {
    format!("{ROOT_LABEL_PREFIX}{version}")
}

/// Master keys are AES-256.
const MASTER_KEY_LEN: usize = 32;

/// What a working key is for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Purpose {
    /// Encrypts escrowed private keys of one domain.
    Escrow,
    /// A named data key for business systems.
    Data,
}

impl Purpose {
    /// The stored name.
    pub fn as_str(self) -> &'static str {
        match self {
            Purpose::Escrow => "escrow",
            Purpose::Data => "data",
        }
    }

    fn parse(s: &str) -> Result<Self, KmcError> {
        match s {
            "escrow" => Ok(Purpose::Escrow),
            "data" => Ok(Purpose::Data),
            _ => Err(KmcError::Internal {
                reason: "stored working key purpose is unknown",
            }),
        }
    }
}

/// The working key name of a domain's escrow key.
pub fn escrow_key_name(domain: &str) -> String {
    format!("escrow.{domain}")
}

/// A working key, unwrapped.
pub struct WorkingKey {
    /// Name.
    pub name: String,
    /// Version.
    pub version: i64,
    /// Domain.
    pub domain: String,
    /// Purpose.
    pub purpose: Purpose,
    /// Algorithm.
    pub algorithm: Algorithm,
    key: Zeroizing<Vec<u8>>,
}

impl std::fmt::Debug for WorkingKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WorkingKey")
            .field("name", &self.name)
            .field("version", &self.version)
            .field("algorithm", &self.algorithm)
            .finish_non_exhaustive()
    }
}

impl WorkingKey {
    /// Encrypts under this key: nonce || ciphertext || tag.
    pub(crate) fn seal(&self, aad: &[u8], plaintext: &[u8]) -> Result<Vec<u8>, KmcError> {
        aead::seal(self.algorithm, &self.key, aad, plaintext)
    }

    /// Decrypts a blob of this key; `None` if it does not authenticate.
    pub(crate) fn open(
        &self,
        aad: &[u8],
        blob: &[u8],
    ) -> Result<Option<Zeroizing<Vec<u8>>>, KmcError> {
        aead::open(self.algorithm, &self.key, aad, blob)
    }
}

/// Associated data of a master key wrapped by the root.
pub(crate) fn master_aad(domain: &str, version: i64) -> Vec<u8> {
    format!("signet-kmc:master:{domain}:v{version}").into_bytes()
}

/// Associated data of a working key wrapped by a master.
fn working_aad(name: &str, version: i64, domain: &str, purpose: &str, algorithm: &str) -> Vec<u8> {
    format!("signet-kmc:working:{name}:v{version}:{domain}:{purpose}:{algorithm}").into_bytes()
}

/// An unwrapped master key, shared by the loaded hierarchy and callers.
type MasterKey = Arc<Zeroizing<Vec<u8>>>;

#[derive(Default)]
struct Loaded {
    /// Unwrapped masters that are not destroyed, by (domain, version).
    masters: HashMap<(String, i64), MasterKey>,
    /// The active master version of each domain.
    active_master: HashMap<String, i64>,
    /// Unwrapped working keys that are not destroyed, by (name, version).
    working: HashMap<(String, i64), Arc<WorkingKey>>,
    /// The active version of each working key name.
    active_working: HashMap<String, i64>,
}

/// The unwrapped hierarchy of a running KMC.
pub struct KeyHierarchy {
    token: Arc<Token>,
    store: KmcStore,
    loaded: RwLock<Loaded>,
    /// Serialises creations and rotations within this process.
    changes: tokio::sync::Mutex<()>,
}

impl std::fmt::Debug for KeyHierarchy {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("KeyHierarchy")
            .field("token", &self.token.label())
            .finish_non_exhaustive()
    }
}

/// Unwraps a master with the token's root version `root_version`.
pub(crate) async fn unwrap_master(
    token: &Arc<Token>,
    record: &MasterKeyRecord,
) -> Result<Zeroizing<Vec<u8>>, KmcError> {
    let what = format!("master key {} v{}", record.domain, record.version);
    let wrapped = record.wrapped.clone().ok_or_else(|| KmcError::Destroyed {
        what: "master key",
        id: format!("{}:v{}", record.domain, record.version),
    })?;
    let token = Arc::clone(token);
    let label = root_label(record.root_version);
    let aad = master_aad(&record.domain, record.version);
    let result = blocking(move || Ok(token.aes_gcm_decrypt(&label, &aad, &wrapped))).await?;
    match result {
        Ok(key) if key.len() == MASTER_KEY_LEN => Ok(key),
        Ok(_) | Err(signet_token::TokenError::Decrypt { .. }) => Err(KmcError::Unwrap { what }),
        Err(signet_token::TokenError::KeyNotFound { .. }) => Err(KmcError::Unwrap {
            what: format!(
                "{what} (root storage key v{} is not in the token)",
                record.root_version
            ),
        }),
        Err(e) => Err(e.into()),
    }
}

/// Wraps a master under root `root_version` in the token.
pub(crate) async fn wrap_master(
    token: &Arc<Token>,
    root_version: i64,
    domain: &str,
    version: i64,
    key: &Zeroizing<Vec<u8>>,
) -> Result<Vec<u8>, KmcError> {
    let token = Arc::clone(token);
    let label = root_label(root_version);
    let aad = master_aad(domain, version);
    let key = key.clone();
    blocking(move || Ok(token.aes_gcm_encrypt(&label, &aad, &key)?)).await
}

fn unwrap_working(master: &[u8], record: &WorkingKeyRecord) -> Result<WorkingKey, KmcError> {
    let what = || KmcError::Unwrap {
        what: format!("working key {} v{}", record.name, record.version),
    };
    let wrapped = record.wrapped.as_ref().ok_or_else(|| KmcError::Destroyed {
        what: "working key",
        id: format!("{}:v{}", record.name, record.version),
    })?;
    let algorithm: Algorithm = record.algorithm.parse()?;
    let aad = working_aad(
        &record.name,
        record.version,
        &record.domain,
        &record.purpose,
        &record.algorithm,
    );
    let key = aead::open(Algorithm::Aes256Gcm, master, &aad, wrapped)?.ok_or_else(what)?;
    if key.len() != algorithm.key_len() {
        return Err(what());
    }
    Ok(WorkingKey {
        name: record.name.clone(),
        version: record.version,
        domain: record.domain.clone(),
        purpose: Purpose::parse(&record.purpose)?,
        algorithm,
        key,
    })
}

fn wrap_working(
    master: &[u8],
    name: &str,
    version: i64,
    domain: &str,
    purpose: Purpose,
    algorithm: Algorithm,
    key: &[u8],
) -> Result<Vec<u8>, KmcError> {
    let aad = working_aad(name, version, domain, purpose.as_str(), algorithm.as_str());
    aead::seal(Algorithm::Aes256Gcm, master, &aad, key)
}

/// The active root version, or [`KmcError::NotInitialized`].
pub(crate) async fn active_root(store: &KmcStore) -> Result<RootKeyRecord, KmcError> {
    store
        .roots()
        .await?
        .into_iter()
        .rev()
        .find(|r| r.state == KeyState::Active)
        .ok_or(KmcError::NotInitialized)
}

impl KeyHierarchy {
    /// Unwraps every live master (in the token) and working key. Fails when
    /// the KMC was never initialised, or when a key does not unwrap (the
    /// token is not this database's: a stolen database opens nothing).
    pub async fn load(token: Arc<Token>, store: KmcStore) -> Result<KeyHierarchy, KmcError> {
        active_root(&store).await?;
        let hierarchy = KeyHierarchy {
            token,
            store,
            loaded: RwLock::new(Loaded::default()),
            changes: tokio::sync::Mutex::new(()),
        };
        hierarchy.reload().await?;
        Ok(hierarchy)
    }

    /// Reads the hierarchy from the database again (after another process
    /// rotated keys).
    pub async fn reload(&self) -> Result<(), KmcError> {
        let mut fresh = Loaded::default();
        for m in self.store.masters().await? {
            if m.state == KeyState::Destroyed {
                continue;
            }
            let key = unwrap_master(&self.token, &m).await?;
            if m.state == KeyState::Active {
                fresh.active_master.insert(m.domain.clone(), m.version);
            }
            fresh.masters.insert((m.domain, m.version), Arc::new(key));
        }
        for w in self.store.working_keys().await? {
            if w.state == KeyState::Destroyed {
                continue;
            }
            let master = fresh
                .masters
                .get(&(w.domain.clone(), w.master_version))
                .ok_or_else(|| KmcError::Unwrap {
                    what: format!("working key {} v{} (its master is gone)", w.name, w.version),
                })?;
            let key = unwrap_working(master, &w)?;
            if w.state == KeyState::Active {
                fresh.active_working.insert(w.name.clone(), w.version);
            }
            fresh
                .working
                .insert((w.name.clone(), w.version), Arc::new(key));
        }
        *self.loaded.write().unwrap_or_else(PoisonError::into_inner) = fresh;
        Ok(())
    }

    /// The token.
    pub fn token(&self) -> &Arc<Token> {
        &self.token
    }

    /// The active version of working key `name`.
    pub fn active(&self, name: &str) -> Result<Arc<WorkingKey>, KmcError> {
        let loaded = self.loaded.read().unwrap_or_else(PoisonError::into_inner);
        loaded
            .active_working
            .get(name)
            .and_then(|v| loaded.working.get(&(name.to_owned(), *v)))
            .cloned()
            .ok_or_else(|| KmcError::not_found("working key", name))
    }

    /// Version `version` of working key `name`, if it still exists.
    pub async fn working(&self, name: &str, version: i64) -> Result<Arc<WorkingKey>, KmcError> {
        if let Some(key) = self
            .loaded
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .working
            .get(&(name.to_owned(), version))
        {
            return Ok(Arc::clone(key));
        }
        // Not in memory: destroyed, unknown, or made by another process.
        let record = self
            .store
            .working_keys()
            .await?
            .into_iter()
            .find(|w| w.name == name && w.version == version)
            .ok_or_else(|| KmcError::not_found("working key", format!("{name}:v{version}")))?;
        if record.state == KeyState::Destroyed {
            return Err(KmcError::Destroyed {
                what: "key version",
                id: format!("{name}:v{version}"),
            });
        }
        self.reload().await?;
        self.loaded
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .working
            .get(&(name.to_owned(), version))
            .cloned()
            .ok_or_else(|| KmcError::not_found("working key", format!("{name}:v{version}")))
    }

    fn active_master(&self, domain: &str) -> Result<(i64, MasterKey), KmcError> {
        let loaded = self.loaded.read().unwrap_or_else(PoisonError::into_inner);
        loaded
            .active_master
            .get(domain)
            .and_then(|v| {
                loaded
                    .masters
                    .get(&(domain.to_owned(), *v))
                    .map(|k| (*v, Arc::clone(k)))
            })
            .ok_or_else(|| KmcError::not_found("domain", domain))
    }

    /// Creates the domain's master key and escrow working key where they are
    /// missing (first start, or a domain added to the configuration).
    pub(crate) async fn ensure_domain(
        &self,
        domain: &str,
        escrow_algorithm: Algorithm,
        master_rotation: std::time::Duration,
        working_rotation: std::time::Duration,
        now: Timestamp,
    ) -> Result<(), KmcError> {
        let _changes = self.changes.lock().await;
        if self.active_master(domain).is_err() {
            let root = active_root(&self.store).await?;
            let key = Zeroizing::new(Algorithm::Aes256Gcm.generate_key().to_vec());
            let wrapped = wrap_master(&self.token, root.version, domain, 1, &key).await?;
            let record = MasterKeyRecord {
                domain: domain.to_owned(),
                version: 1,
                root_version: root.version,
                wrapped: Some(wrapped),
                state: KeyState::Active,
                created_at: now,
                rotate_at: now.plus(master_rotation),
                retired_at: None,
                destroyed_at: None,
            };
            let mut tx = self.store.begin().await?;
            tx.insert_master(&record).await?;
            tx.append_audit(&Caller::system().entry(
                now,
                None,
                "key.create",
                format!("master:{domain}:v1"),
                "success",
                format!("wrapped by root v{}", root.version),
            ))
            .await?;
            tx.commit().await?;
            let mut loaded = self.loaded.write().unwrap_or_else(PoisonError::into_inner);
            loaded.active_master.insert(domain.to_owned(), 1);
            loaded.masters.insert((domain.to_owned(), 1), Arc::new(key));
            tracing::info!(domain, "master key created");
        }
        let name = escrow_key_name(domain);
        if self.active(&name).is_err() {
            self.create_working_locked(
                &name,
                domain,
                Purpose::Escrow,
                escrow_algorithm,
                working_rotation,
                now,
                &Caller::system(),
            )
            .await?;
        }
        Ok(())
    }

    /// Creates version 1 of working key `name`; the caller holds `changes`
    /// and has checked that the name is free.
    #[allow(clippy::too_many_arguments)]
    async fn create_working_locked(
        &self,
        name: &str,
        domain: &str,
        purpose: Purpose,
        algorithm: Algorithm,
        rotation: std::time::Duration,
        now: Timestamp,
        caller: &Caller,
    ) -> Result<(), KmcError> {
        let (master_version, master) = self.active_master(domain)?;
        let key = algorithm.generate_key();
        let wrapped = wrap_working(&master, name, 1, domain, purpose, algorithm, &key)?;
        let record = WorkingKeyRecord {
            name: name.to_owned(),
            version: 1,
            domain: domain.to_owned(),
            purpose: purpose.as_str().to_owned(),
            algorithm: algorithm.as_str().to_owned(),
            master_version,
            wrapped: Some(wrapped),
            state: KeyState::Active,
            created_at: now,
            rotate_at: now.plus(rotation),
            retired_at: None,
            destroyed_at: None,
        };
        let mut tx = self.store.begin().await?;
        tx.insert_working(&record).await?;
        tx.append_audit(&caller.entry(
            now,
            None,
            "key.create",
            format!("working:{name}:v1"),
            "success",
            format!(
                "{} {} in domain {domain}",
                purpose.as_str(),
                algorithm.as_str()
            ),
        ))
        .await?;
        tx.commit().await?;
        let mut loaded = self.loaded.write().unwrap_or_else(PoisonError::into_inner);
        loaded.active_working.insert(name.to_owned(), 1);
        loaded.working.insert(
            (name.to_owned(), 1),
            Arc::new(WorkingKey {
                name: name.to_owned(),
                version: 1,
                domain: domain.to_owned(),
                purpose,
                algorithm,
                key,
            }),
        );
        tracing::info!(
            key = name,
            purpose = purpose.as_str(),
            "working key created"
        );
        Ok(())
    }

    /// Creates a data key, or confirms that one of that name exists with the
    /// same domain and algorithm (`Ok(false)`).
    pub(crate) async fn ensure_data_key(
        &self,
        name: &str,
        domain: &str,
        algorithm: Algorithm,
        rotation: std::time::Duration,
        now: Timestamp,
        caller: &Caller,
    ) -> Result<bool, KmcError> {
        let _changes = self.changes.lock().await;
        let existing = self
            .store
            .working_keys()
            .await?
            .into_iter()
            .find(|w| w.name == name);
        if let Some(w) = existing {
            if w.domain != domain || w.algorithm != algorithm.as_str() || w.purpose != "data" {
                return Err(KmcError::AlreadyExists {
                    what: "key",
                    id: name.to_owned(),
                });
            }
            return Ok(false);
        }
        self.create_working_locked(
            name,
            domain,
            Purpose::Data,
            algorithm,
            rotation,
            now,
            caller,
        )
        .await?;
        Ok(true)
    }

    /// Makes a new master version for `domain` and rewraps the domain's
    /// working keys under it, in one transaction. Returns the new version.
    pub async fn rotate_master(
        &self,
        domain: &str,
        rotation: std::time::Duration,
        now: Timestamp,
        caller: &Caller,
        reason: &str,
    ) -> Result<i64, KmcError> {
        let _changes = self.changes.lock().await;
        // Every live working key of the domain is rewrapped, including any
        // another process made.
        self.reload().await?;
        let (old_version, _) = self.active_master(domain)?;
        let root = active_root(&self.store).await?;
        let version = old_version + 1;
        let key = Zeroizing::new(Algorithm::Aes256Gcm.generate_key().to_vec());
        let wrapped = wrap_master(&self.token, root.version, domain, version, &key).await?;
        let working: Vec<Arc<WorkingKey>> = self
            .loaded
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .working
            .values()
            .filter(|w| w.domain == domain)
            .cloned()
            .collect();
        let mut rewrapped = Vec::with_capacity(working.len());
        for w in &working {
            rewrapped.push((
                w,
                wrap_working(
                    &key,
                    &w.name,
                    w.version,
                    domain,
                    w.purpose,
                    w.algorithm,
                    &w.key,
                )?,
            ));
        }
        let mut tx = self.store.begin().await?;
        // The old version leaves the unique index of active masters before
        // the new one enters it (same transaction).
        tx.retire_master(domain, old_version, now).await?;
        tx.insert_master(&MasterKeyRecord {
            domain: domain.to_owned(),
            version,
            root_version: root.version,
            wrapped: Some(wrapped),
            state: KeyState::Active,
            created_at: now,
            rotate_at: now.plus(rotation),
            retired_at: None,
            destroyed_at: None,
        })
        .await?;
        for (w, blob) in &rewrapped {
            tx.rewrap_working(&w.name, w.version, version, blob).await?;
        }
        tx.append_audit(&caller.entry(
            now,
            None,
            "key.rotate",
            format!("master:{domain}:v{version}"),
            "success",
            format!(
                "replaces v{old_version}; {} working keys rewrapped; {reason}",
                rewrapped.len()
            ),
        ))
        .await?;
        tx.commit().await?;
        let mut loaded = self.loaded.write().unwrap_or_else(PoisonError::into_inner);
        loaded.active_master.insert(domain.to_owned(), version);
        loaded
            .masters
            .insert((domain.to_owned(), version), Arc::new(key));
        tracing::info!(domain, version, "master key rotated");
        Ok(version)
    }

    /// Makes a new version of working key `name`; the old one is retired
    /// and keeps decrypting. Returns the new version.
    pub async fn rotate_working(
        &self,
        name: &str,
        rotation: std::time::Duration,
        now: Timestamp,
        caller: &Caller,
        reason: &str,
    ) -> Result<i64, KmcError> {
        let _changes = self.changes.lock().await;
        let old = self.active(name)?;
        let (master_version, master) = self.active_master(&old.domain)?;
        let version = old.version + 1;
        let key = old.algorithm.generate_key();
        let wrapped = wrap_working(
            &master,
            name,
            version,
            &old.domain,
            old.purpose,
            old.algorithm,
            &key,
        )?;
        let mut tx = self.store.begin().await?;
        tx.retire_working(name, old.version, now).await?;
        tx.insert_working(&WorkingKeyRecord {
            name: name.to_owned(),
            version,
            domain: old.domain.clone(),
            purpose: old.purpose.as_str().to_owned(),
            algorithm: old.algorithm.as_str().to_owned(),
            master_version,
            wrapped: Some(wrapped),
            state: KeyState::Active,
            created_at: now,
            rotate_at: now.plus(rotation),
            retired_at: None,
            destroyed_at: None,
        })
        .await?;
        tx.append_audit(&caller.entry(
            now,
            None,
            "key.rotate",
            format!("working:{name}:v{version}"),
            "success",
            format!("replaces v{}; {reason}", old.version),
        ))
        .await?;
        tx.commit().await?;
        let mut loaded = self.loaded.write().unwrap_or_else(PoisonError::into_inner);
        loaded.active_working.insert(name.to_owned(), version);
        loaded.working.insert(
            (name.to_owned(), version),
            Arc::new(WorkingKey {
                name: name.to_owned(),
                version,
                domain: old.domain.clone(),
                purpose: old.purpose,
                algorithm: old.algorithm,
                key,
            }),
        );
        tracing::info!(key = name, version, "working key rotated");
        Ok(version)
    }

    /// Crypto-erases a retired working key version (for escrow keys, only
    /// once it wraps no escrowed key). Returns whether it was destroyed.
    pub async fn destroy_working(
        &self,
        name: &str,
        version: i64,
        now: Timestamp,
        caller: &Caller,
        reason: &str,
    ) -> Result<bool, KmcError> {
        let _changes = self.changes.lock().await;
        let mut tx = self.store.begin().await?;
        if !tx.destroy_working(name, version, now).await? {
            return Ok(false);
        }
        tx.append_audit(&caller.entry(
            now,
            None,
            "key.destroy",
            format!("working:{name}:v{version}"),
            "success",
            reason.to_owned(),
        ))
        .await?;
        tx.commit().await?;
        self.loaded
            .write()
            .unwrap_or_else(PoisonError::into_inner)
            .working
            .remove(&(name.to_owned(), version));
        tracing::info!(key = name, version, "working key destroyed");
        Ok(true)
    }

    /// Crypto-erases a retired master version that wraps nothing.
    pub async fn destroy_master(
        &self,
        domain: &str,
        version: i64,
        now: Timestamp,
        caller: &Caller,
    ) -> Result<bool, KmcError> {
        let _changes = self.changes.lock().await;
        let mut tx = self.store.begin().await?;
        if !tx.destroy_master(domain, version, now).await? {
            return Ok(false);
        }
        tx.append_audit(&caller.entry(
            now,
            None,
            "key.destroy",
            format!("master:{domain}:v{version}"),
            "success",
            "retired and wrapping no working key".to_owned(),
        ))
        .await?;
        tx.commit().await?;
        self.loaded
            .write()
            .unwrap_or_else(PoisonError::into_inner)
            .masters
            .remove(&(domain.to_owned(), version));
        Ok(true)
    }
}
