//! Key ceremonies: the root storage key's birth, its backup to custodians,
//! and a restore from their shares.
//!
//! A key generated inside the token as non-extractable can never be backed
//! up, and a key that can be exported from the token can be exported by
//! anyone holding the PIN. Signet resolves this the way custodian schemes
//! do: every root storage key version is **born in this process** from the
//! operating system's CSPRNG during a ceremony, split at once into Shamir
//! shares (one per custodian, `signet_core::shamir`), imported into the
//! token as a sensitive, non-extractable AES-256 key, and wiped from memory.
//! From then on the token holds the only usable copy and the shares are the
//! only copies outside it: any `threshold` custodians together can rebuild
//! it into a fresh token ([`restore`]); fewer learn nothing. See
//! docs/kmc.md for what this does and does not protect against.
//!
//! - [`initialize`] makes root version 1 for a new KMC (called by
//!   `signet init`), then the configured domains' master and working keys.
//! - [`backup`] makes a *new* root version the same way (the old version's
//!   shares may be lost or custodians changed), rewraps every master key
//!   under it in one transaction, and destroys the old version in the
//!   token. Run it with the KMC stopped, or restart the KMC afterwards.
//! - [`restore`] rebuilds the active root version from shares into a token
//!   that lacks it (a replacement HSM) for a KMC database restored from
//!   backup, and proves it by unwrapping every master key.

use std::sync::Arc;

use signet_core::Clock;
use signet_core::shamir;
use signet_store::kmc::{KeyState, RootKeyRecord};
use signet_store::{Database, DbOptions, KmcStore, Schema};
use signet_token::Token;
use subtle::ConstantTimeEq as _;
use zeroize::Zeroizing;

use crate::audit::Caller;
use crate::config::{KmcConfig, Settings};
use crate::error::{KmcError, blocking};
use crate::hierarchy::{active_root, root_label, unwrap_master, wrap_master};
use crate::kmc::Kmc;
use crate::metrics::KmcMetrics;
use crate::shares::ShareFile;

/// How a root storage key is split among custodians.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SharePlan {
    /// Shares made, one per custodian (2 to 255).
    pub shares: u8,
    /// Shares needed to rebuild the key (2 to `shares`).
    pub threshold: u8,
}

impl Default for SharePlan {
    /// Three custodians, any two of whom can restore.
    fn default() -> Self {
        SharePlan {
            shares: 3,
            threshold: 2,
        }
    }
}

/// What a ceremony made.
#[derive(Debug)]
pub struct CeremonyOutcome {
    /// The KMC's id (named in every share).
    pub kmc_id: String,
    /// The new root version.
    pub root_version: i64,
    /// One share per custodian; write each to its own file
    /// ([`ShareFile::to_text`] or [`ShareFile::seal_to`]).
    pub shares: Vec<ShareFile>,
}

/// What a restore did.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RestoreOutcome {
    /// The KMC's id.
    pub kmc_id: String,
    /// The root version rebuilt into the token.
    pub root_version: i64,
    /// Master keys proven to unwrap under it.
    pub masters_verified: usize,
}

fn ceremony_caller(what: &str) -> Caller {
    Caller {
        role: None,
        client: format!("ceremony:{what}"),
    }
}

/// HMAC-SHA-256 of a fixed string under the root key: recorded with the
/// root version so that a restore can tell the shares rebuilt the right
/// key before anything is imported.
fn check_value(root: &[u8], version: i64) -> Vec<u8> {
    let key = aws_lc_rs::hmac::Key::new(aws_lc_rs::hmac::HMAC_SHA256, root);
    let tag = aws_lc_rs::hmac::sign(&key, format!("signet-kmc-root-check:v{version}").as_bytes());
    tag.as_ref().to_vec()
}

async fn open_token(config: &KmcConfig) -> Result<Arc<Token>, KmcError> {
    let token_config = config.token.clone();
    Ok(Arc::new(
        blocking(move || Ok(Token::open(&token_config)?)).await?,
    ))
}

async fn open_store(config: &KmcConfig) -> Result<KmcStore, KmcError> {
    let db = Database::open(&config.database.url, Schema::Kmc, &DbOptions::default()).await?;
    Ok(KmcStore::new(db))
}

fn validate(plan: SharePlan) -> Result<(), KmcError> {
    if plan.threshold < 2 || plan.threshold > plan.shares {
        return Err(KmcError::Shares {
            reason: format!(
                "{} shares with threshold {}: the threshold must be at least 2 and at most the \
                 number of shares",
                plan.shares, plan.threshold
            ),
        });
    }
    Ok(())
}

/// A root key born in a ceremony: the key (zeroizing, dropped right after
/// the token import), its custodian shares and its check value.
struct NewRoot {
    key: Zeroizing<Vec<u8>>,
    shares: Vec<ShareFile>,
    check: Vec<u8>,
}

/// A fresh root key, its shares and check value.
fn new_root(kmc_id: &str, version: i64, plan: SharePlan) -> Result<NewRoot, KmcError> {
    let root = crate::aead::Algorithm::Aes256Gcm.generate_key();
    let shares = shamir::split(
        &root,
        usize::from(plan.threshold),
        usize::from(plan.shares),
        &mut rand::rng(),
    )
    .map_err(|e| KmcError::Shares {
        reason: e.to_string(),
    })?
    .into_iter()
    .map(|share| ShareFile {
        kmc_id: kmc_id.to_owned(),
        root_version: version,
        share,
    })
    .collect();
    let check = check_value(&root, version);
    Ok(NewRoot {
        key: root,
        shares,
        check,
    })
}

async fn import_root(
    token: &Arc<Token>,
    version: i64,
    root: Zeroizing<Vec<u8>>,
) -> Result<(), KmcError> {
    let token = Arc::clone(token);
    let label = root_label(version);
    blocking(move || Ok(token.import_aes_key(&label, root)?)).await
}

async fn destroy_root(token: &Arc<Token>, version: i64) {
    let token = Arc::clone(token);
    let label = root_label(version);
    let label_for_log = label.clone();
    let result = blocking(move || Ok(token.destroy_key(&label)?)).await;
    if let Err(e) = result {
        tracing::error!(key = %label_for_log, error = %e, "cannot remove a root storage key from the token");
    }
}

/// Creates a new KMC: root storage key version 1 (born here, split into
/// shares, imported into the token), the database, and the configured
/// domains' master and working keys and data keys.
///
/// Refuses a database that already has a root key, and a token that
/// already holds `signet-kmc-root-v1`.
pub async fn initialize(
    config: &KmcConfig,
    plan: SharePlan,
    clock: Arc<dyn Clock>,
) -> Result<CeremonyOutcome, KmcError> {
    Settings::try_from(config)?;
    validate(plan)?;
    let token = open_token(config).await?;
    let store = open_store(config).await?;
    if !store.roots().await?.is_empty() {
        return Err(KmcError::AlreadyInitialized {
            reason: "the database holds a root storage key".into(),
        });
    }
    let label = root_label(1);
    let probe = Arc::clone(&token);
    if blocking(move || Ok(probe.has_key(&label)?)).await? {
        return Err(KmcError::AlreadyInitialized {
            reason: format!("the token already holds {}", root_label(1)),
        });
    }
    let kmc_id = {
        use rand::Rng as _;
        let mut id = [0u8; 8];
        rand::rng().fill_bytes(&mut id);
        hex::encode(id)
    };
    let now = clock.now();
    let NewRoot {
        key: root,
        shares,
        check,
    } = new_root(&kmc_id, 1, plan)?;
    import_root(&token, 1, root).await?;
    let recorded = async {
        let mut tx = store.begin().await?;
        tx.set_kmc_id(&kmc_id, now).await?;
        tx.insert_root(&RootKeyRecord {
            version: 1,
            token_label: root_label(1),
            check_value: check,
            shares: i64::from(plan.shares),
            threshold: i64::from(plan.threshold),
            state: KeyState::Active,
            created_at: now,
            retired_at: None,
        })
        .await?;
        tx.append_audit(&ceremony_caller("initialize").entry(
            now,
            None,
            "root.create",
            "root:v1",
            "success",
            format!(
                "KMC {kmc_id}; split into {} custodian shares, threshold {}",
                plan.shares, plan.threshold
            ),
        ))
        .await?;
        tx.commit().await
    }
    .await;
    if let Err(e) = recorded {
        destroy_root(&token, 1).await;
        return Err(e.into());
    }
    // Masters, working keys and data keys, through the same code the
    // service runs at start.
    let kmc = Kmc::open(config, Arc::clone(&token), clock, KmcMetrics::detached()).await?;
    kmc.store().database().close().await;
    store.database().close().await;
    tracing::info!(kmc = %kmc_id, "KMC initialised");
    Ok(CeremonyOutcome {
        kmc_id,
        root_version: 1,
        shares,
    })
}

/// Makes a new root storage key version for custodian backup: born here,
/// split into shares, imported into the token; every master key is
/// rewrapped under it in one transaction and the old version is destroyed
/// in the token, so that the new shares are the only copies outside it.
pub async fn backup(
    config: &KmcConfig,
    plan: SharePlan,
    clock: Arc<dyn Clock>,
) -> Result<CeremonyOutcome, KmcError> {
    validate(plan)?;
    let token = open_token(config).await?;
    let store = open_store(config).await?;
    let kmc_id = store.kmc_id().await?.ok_or(KmcError::NotInitialized)?;
    let old = active_root(&store).await?;
    let version = store
        .roots()
        .await?
        .iter()
        .map(|r| r.version)
        .max()
        .unwrap_or(0)
        + 1;
    let now = clock.now();
    let NewRoot {
        key: root,
        shares,
        check,
    } = new_root(&kmc_id, version, plan)?;
    import_root(&token, version, root).await?;
    let rewrapped = async {
        let mut out = Vec::new();
        for m in store.masters().await? {
            if m.state == KeyState::Destroyed {
                continue;
            }
            let key = unwrap_master(&token, &m).await?;
            let wrapped = wrap_master(&token, version, &m.domain, m.version, &key).await?;
            out.push((m.domain, m.version, wrapped));
        }
        let mut tx = store.begin().await?;
        tx.set_root_state(old.version, KeyState::Destroyed, now)
            .await?;
        tx.insert_root(&RootKeyRecord {
            version,
            token_label: root_label(version),
            check_value: check,
            shares: i64::from(plan.shares),
            threshold: i64::from(plan.threshold),
            state: KeyState::Active,
            created_at: now,
            retired_at: None,
        })
        .await?;
        for (domain, v, wrapped) in &out {
            tx.rewrap_master(domain, *v, version, wrapped).await?;
        }
        tx.append_audit(&ceremony_caller("backup").entry(
            now,
            None,
            "root.rotate",
            format!("root:v{version}"),
            "success",
            format!(
                "replaces v{}; {} master keys rewrapped; split into {} custodian shares, \
                 threshold {}",
                old.version,
                out.len(),
                plan.shares,
                plan.threshold
            ),
        ))
        .await?;
        tx.commit().await?;
        Ok::<usize, KmcError>(out.len())
    }
    .await;
    let masters = match rewrapped {
        Ok(n) => n,
        Err(e) => {
            destroy_root(&token, version).await;
            return Err(e);
        }
    };
    destroy_root(&token, old.version).await;
    store.database().close().await;
    tracing::info!(kmc = %kmc_id, version, masters, "root storage key replaced for backup");
    Ok(CeremonyOutcome {
        kmc_id,
        root_version: version,
        shares,
    })
}

/// Rebuilds the database's active root version from custodian shares into
/// the configured token, which must not hold it yet, and proves it by
/// unwrapping every master key. Fewer shares than the threshold, shares of
/// another KMC or version, or corrupt shares restore nothing.
pub async fn restore(
    config: &KmcConfig,
    shares: &[ShareFile],
    clock: Arc<dyn Clock>,
) -> Result<RestoreOutcome, KmcError> {
    let bad = |reason: String| KmcError::Shares { reason };
    let store = open_store(config).await?;
    let kmc_id = store.kmc_id().await?.ok_or(KmcError::NotInitialized)?;
    let root = active_root(&store).await?;
    for s in shares {
        if s.kmc_id != kmc_id {
            return Err(bad(format!(
                "share {} belongs to KMC {}, the database to KMC {kmc_id}",
                s.share.index, s.kmc_id
            )));
        }
        if s.root_version != root.version {
            return Err(bad(format!(
                "share {} is of root v{}; the database's active root is v{}",
                s.share.index, s.root_version, root.version
            )));
        }
    }
    let parts: Vec<shamir::Share> = shares.iter().map(|s| s.share.clone()).collect();
    let secret = shamir::combine(&parts).map_err(|e| bad(e.to_string()))?;
    let check = check_value(&secret, root.version);
    if !bool::from(check.ct_eq(&root.check_value)) {
        return Err(bad(
            "the shares rebuild a key that is not this KMC's root storage key".into(),
        ));
    }
    let token = open_token(config).await?;
    let label = root_label(root.version);
    let probe = Arc::clone(&token);
    let probe_label = label.clone();
    if blocking(move || Ok(probe.has_key(&probe_label)?)).await? {
        return Err(KmcError::AlreadyInitialized {
            reason: format!("the token already holds {label}"),
        });
    }
    import_root(&token, root.version, secret).await?;
    let mut verified = 0usize;
    for m in store.masters().await? {
        if m.state == KeyState::Destroyed {
            continue;
        }
        if let Err(e) = unwrap_master(&token, &m).await {
            destroy_root(&token, root.version).await;
            return Err(e);
        }
        verified += 1;
    }
    let now = clock.now();
    let mut tx = store.begin().await?;
    let indexes: Vec<String> = shares.iter().map(|s| s.share.index.to_string()).collect();
    tx.append_audit(&ceremony_caller("restore").entry(
        now,
        None,
        "root.restore",
        format!("root:v{}", root.version),
        "success",
        format!(
            "rebuilt from shares {} into token {}; {verified} master keys verified",
            indexes.join(", "),
            token.label()
        ),
    ))
    .await?;
    tx.commit().await?;
    store.database().close().await;
    tracing::info!(kmc = %kmc_id, version = root.version, "root storage key restored");
    Ok(RestoreOutcome {
        kmc_id,
        root_version: root.version,
        masters_verified: verified,
    })
}
