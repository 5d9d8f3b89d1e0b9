//! Fresh SoftHSM2 tokens for tests (feature `testing`).
//!
//! The workspace's `.cargo/config.toml` sets `SOFTHSM2_CONF` for every
//! process cargo and nextest start, because SoftHSM2 reads it at
//! `C_Initialize` and the library may not set environment variables. Each
//! call makes a token with a unique label and random PINs, so tests running
//! in parallel threads or processes never share a token.
//!
//! These helpers panic on failure, with a message saying what to fix: a
//! failure here is a broken test environment, not a result to handle.
#![allow(clippy::panic)]

use std::fs::OpenOptions;
use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::sync::Once;
use std::time::Duration;

use crate::config::{DEFAULT_MODULE, TokenConfig};
use crate::pin::{Pin, PinSource};
use crate::softhsm::{SOFTHSM2_CONF_VAR, write_softhsm_conf};
use crate::token::Token;

/// Overrides the PKCS#11 module tests use (default: Debian's SoftHSM2).
pub const MODULE_VAR: &str = "SIGNET_TEST_PKCS11_MODULE";

/// The PKCS#11 module under test.
pub fn module_path() -> PathBuf {
    std::env::var_os(MODULE_VAR).map_or_else(|| PathBuf::from(DEFAULT_MODULE), PathBuf::from)
}

/// Marks a directory whose `tokens` and `pins` this module made, so that
/// pruning never touches a token directory it did not create.
const MARKER: &str = ".signet-test-tokens";

/// Test tokens older than this are deleted when a test process starts:
/// every SoftHSM2 `C_Initialize` reads every token in the directory, and
/// each test run adds a few dozen.
const STALE_AFTER: Duration = Duration::from_secs(60 * 60);

/// The SoftHSM2 configuration named by `SOFTHSM2_CONF`, written (with a
/// `tokens` directory beside it) if it does not exist yet.
pub fn ensure_softhsm_conf() -> PathBuf {
    let Some(conf) = std::env::var_os(SOFTHSM2_CONF_VAR).map(PathBuf::from) else {
        panic!(
            "{SOFTHSM2_CONF_VAR} is not set: run the tests through cargo inside the workspace, \
             whose .cargo/config.toml sets it"
        );
    };
    let dir = conf.parent().unwrap_or(Path::new(".")).to_path_buf();
    if !conf.exists() {
        let written = write_softhsm_conf(&conf, &dir.join("tokens"))
            .and_then(|()| std::fs::write(dir.join(MARKER), "SoftHSM2 tokens made by tests\n"));
        if let Err(e) = written {
            panic!(
                "cannot write the test SoftHSM2 configuration {}: {e}",
                conf.display()
            );
        }
    }
    static PRUNED: Once = Once::new();
    PRUNED.call_once(|| prune_stale(&dir));
    conf
}

/// Deletes test tokens and PIN files older than [`STALE_AFTER`], if `dir`
/// is marked as made by this module. Races with other test processes
/// doing the same are harmless: errors are ignored.
fn prune_stale(dir: &Path) {
    if !dir.join(MARKER).is_file() {
        return;
    }
    for sub in ["tokens", "pins"] {
        let Ok(entries) = std::fs::read_dir(dir.join(sub)) else {
            continue;
        };
        for entry in entries.flatten() {
            let Ok(meta) = entry.metadata() else {
                continue;
            };
            let stale = meta
                .modified()
                .ok()
                .and_then(|t| t.elapsed().ok())
                .is_some_and(|age| age > STALE_AFTER);
            if stale {
                let _ = if meta.is_dir() {
                    std::fs::remove_dir_all(entry.path())
                } else {
                    std::fs::remove_file(entry.path())
                };
            }
        }
    }
}

/// A new token for test `name`, initialised with random PINs and opened.
/// The user PIN is in a file (mode 0600) named by the returned config.
pub fn test_token(name: &str) -> (Token, TokenConfig) {
    let conf = ensure_softhsm_conf();
    let label = unique_label(name);
    let so_pin = random_pin();
    let user_pin = random_pin();
    let pin_dir = conf.parent().unwrap_or(Path::new(".")).join("pins");
    let pin_file = pin_dir.join(format!("{label}.pin"));
    if let Err(e) = write_pin_file(&pin_dir, &pin_file, &user_pin) {
        panic!("cannot write the test PIN file {}: {e}", pin_file.display());
    }
    let module = module_path();
    if let Err(e) = Token::initialize(&module, &label, &so_pin, &user_pin) {
        panic!("cannot initialise test token {label:?}: {e}");
    }
    let config = TokenConfig {
        module,
        token_label: label,
        pin: PinSource::File(pin_file),
        sessions: 4,
        softhsm2_conf: Some(conf),
    };
    match Token::open(&config) {
        Ok(token) => (token, config),
        Err(e) => panic!("cannot open test token {:?}: {e}", config.token_label),
    }
}

/// `name` cut to fit, a dash and 32 random bits: at most 32 bytes.
fn unique_label(name: &str) -> String {
    let mut prefix = String::new();
    for c in name.chars() {
        if prefix.len() + c.len_utf8() > 23 {
            break;
        }
        prefix.push(c);
    }
    format!("{}-{:08x}", prefix.trim_end(), rand::random::<u32>())
}

fn random_pin() -> Pin {
    Pin::new(format!("{:016x}", rand::random::<u64>()))
}

fn write_pin_file(dir: &Path, file: &Path, pin: &Pin) -> std::io::Result<()> {
    let mut options = OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::{DirBuilderExt as _, OpenOptionsExt as _};
        std::fs::DirBuilder::new()
            .recursive(true)
            .mode(0o700)
            .create(dir)?;
        options.mode(0o600);
    }
    #[cfg(not(unix))]
    std::fs::create_dir_all(dir)?;
    let mut f = options.open(file)?;
    f.write_all(pin.expose().as_bytes())?;
    f.write_all(b"\n")
}
