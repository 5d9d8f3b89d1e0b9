//! One initialised PKCS#11 context per module per process.
//!
//! `C_Initialize` may be called once per process: a second call returns
//! `CKR_CRYPTOKI_ALREADY_INITIALIZED`. Several tokens (and several `Token`
//! values for one token) share the context kept here. Nothing ever calls
//! `C_Finalize`: the module lives until the process exits, which is what
//! long-running services and test processes both want.

use std::collections::HashMap;
use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, MutexGuard, OnceLock, PoisonError};

use cryptoki::context::{CInitializeArgs, CInitializeFlags, Pkcs11};
use cryptoki::error::RvError;

use crate::error::{TokenError, is_rv, rv_name};

/// A loaded, initialised PKCS#11 module.
#[derive(Clone)]
pub(crate) struct Module {
    path: PathBuf,
    pkcs11: Pkcs11,
    /// Serialises changes to the set of tokens and objects in this module
    /// (token initialisation, key creation and destruction) within the
    /// process, so that "is this label free?" and "create it" cannot
    /// interleave. Signing does not take it.
    admin: Arc<Mutex<()>>,
}

impl fmt::Debug for Module {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Module")
            .field("path", &self.path)
            .finish_non_exhaustive()
    }
}

static MODULES: OnceLock<Mutex<HashMap<PathBuf, Module>>> = OnceLock::new();

impl Module {
    /// The module at `path`, loaded and initialised on first use.
    pub(crate) fn load(path: &Path) -> Result<Module, TokenError> {
        // One entry per library file, however the path was spelt.
        let key = std::fs::canonicalize(path).unwrap_or_else(|_| path.to_path_buf());
        let mut modules = MODULES
            .get_or_init(|| Mutex::new(HashMap::new()))
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        if let Some(module) = modules.get(&key) {
            return Ok(module.clone());
        }
        let load_error = |reason: String| TokenError::ModuleLoad {
            module: path.to_path_buf(),
            reason,
        };
        let pkcs11 = Pkcs11::new(&key).map_err(|e| load_error(e.to_string()))?;
        // The library may use OS threads and locks: sessions are used from
        // many threads (never one session from two at once).
        match pkcs11.initialize(CInitializeArgs::new(CInitializeFlags::OS_LOCKING_OK)) {
            Ok(()) => {}
            // Someone else in this process (another crate, a test harness)
            // initialised it first: the context is process-wide, reuse it.
            Err(e) if is_rv(&e, RvError::CryptokiAlreadyInitialized) => {}
            Err(e) => {
                return Err(load_error(format!(
                    "C_Initialize: {} (for SoftHSM2, check that SOFTHSM2_CONF names a readable \
                     configuration whose token directory exists)",
                    rv_name(&e)
                )));
            }
        }
        let module = Module {
            path: path.to_path_buf(),
            pkcs11,
            admin: Arc::new(Mutex::new(())),
        };
        modules.insert(key, module.clone());
        tracing::debug!(module = %path.display(), "PKCS#11 module initialised");
        Ok(module)
    }

    /// The cryptoki context.
    pub(crate) fn pkcs11(&self) -> &Pkcs11 {
        &self.pkcs11
    }

    /// The module's path as configured.
    pub(crate) fn path(&self) -> &Path {
        &self.path
    }

    /// Takes the module's administration lock (see the field's docs).
    pub(crate) fn admin(&self) -> MutexGuard<'_, ()> {
        self.admin.lock().unwrap_or_else(PoisonError::into_inner)
    }
}
