//! SoftHSM2 configuration: which token directory the library uses.
//!
//! SoftHSM2 reads the file named by `SOFTHSM2_CONF` once, at
//! `C_Initialize`. Setting an environment variable needs `unsafe` in Rust
//! 2024 and this workspace forbids `unsafe`, so the library never sets it:
//! the `signet` binary re-executes itself with the variable set when
//! [`softhsm_env_matches`] says it is wrong, and tests get it from
//! `.cargo/config.toml`.

use std::io::{self, Write as _};
use std::path::{Path, PathBuf};

use crate::config::TokenConfig;

/// The variable SoftHSM2 reads its configuration path from.
pub const SOFTHSM2_CONF_VAR: &str = "SOFTHSM2_CONF";

/// Whether this process's `SOFTHSM2_CONF` names `config.softhsm2_conf`
/// (true when the configuration does not ask for one).
pub fn softhsm_env_matches(config: &TokenConfig) -> bool {
    let Some(wanted) = &config.softhsm2_conf else {
        return true;
    };
    let Some(actual) = std::env::var_os(SOFTHSM2_CONF_VAR) else {
        return false;
    };
    let actual = PathBuf::from(actual);
    if actual == *wanted {
        return true;
    }
    // The same file under another spelling (relative path, symlink).
    match (
        std::fs::canonicalize(&actual),
        std::fs::canonicalize(wanted),
    ) {
        (Ok(a), Ok(b)) => a == b,
        _ => false,
    }
}

/// Writes a SoftHSM2 configuration at `conf_path` whose token directory is
/// `token_dir` (created, mode 0700), with the file object store and
/// errors-only logging.
///
/// The file is written to a temporary name and renamed into place, so a
/// process starting SoftHSM2 at the same moment (parallel tests) reads
/// either no file or a whole one.
pub fn write_softhsm_conf(conf_path: &Path, token_dir: &Path) -> io::Result<()> {
    // SoftHSM2 resolves a relative token directory against the working
    // directory of whichever process loads it: store it absolute.
    let token_dir = std::path::absolute(token_dir)?;
    create_private_dir(&token_dir)?;
    let dir = token_dir
        .to_str()
        .filter(|d| !d.contains(['\n', '\r']))
        .ok_or_else(|| {
            io::Error::new(
                io::ErrorKind::InvalidInput,
                "the token directory path must be UTF-8 on one line",
            )
        })?;
    let text = format!(
        "# SoftHSM2 configuration written by Signet.\n\
         directories.tokendir = {dir}\n\
         objectstore.backend = file\n\
         log.level = ERROR\n\
         slots.removable = false\n"
    );
    if let Some(parent) = conf_path.parent().filter(|p| !p.as_os_str().is_empty()) {
        std::fs::create_dir_all(parent)?;
    }
    let file_name = conf_path
        .file_name()
        .ok_or_else(|| io::Error::new(io::ErrorKind::InvalidInput, "no file name in conf path"))?;
    let mut temp_name = std::ffi::OsString::from(".");
    temp_name.push(file_name);
    temp_name.push(format!(
        ".{}.{:016x}.tmp",
        std::process::id(),
        rand::random::<u64>()
    ));
    let temp = conf_path.with_file_name(temp_name);
    let written = std::fs::File::create(&temp).and_then(|mut f| {
        f.write_all(text.as_bytes())?;
        f.sync_all()
    });
    let renamed = written.and_then(|()| std::fs::rename(&temp, conf_path));
    if renamed.is_err() {
        // Best effort: the temporary file is the only thing to tidy.
        let _ = std::fs::remove_file(&temp);
    }
    renamed
}

/// Creates `dir` (and parents) and makes it 0700: token files hold the
/// keys' encrypted values and PIN verifiers.
fn create_private_dir(dir: &Path) -> io::Result<()> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::{DirBuilderExt as _, PermissionsExt as _};
        std::fs::DirBuilder::new()
            .recursive(true)
            .mode(0o700)
            .create(dir)?;
        std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o700))
    }
    #[cfg(not(unix))]
    {
        std::fs::create_dir_all(dir)
    }
}

#[cfg(test)]
mod tests;
