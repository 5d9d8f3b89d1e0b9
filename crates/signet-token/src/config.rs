//! The `[token]` table of Signet's service configurations.

use std::fmt;
use std::path::PathBuf;

use crate::pin::PinSource;

/// Debian's SoftHSM2 module, the development and test token.
pub const DEFAULT_MODULE: &str = "/usr/lib/softhsm/libsofthsm2.so";

/// Session pool size when the configuration leaves it out (or says 0).
pub const DEFAULT_SESSIONS: usize = 4;

/// Which token a service uses and how it logs in.
///
/// ```toml
/// [token]
/// module = "/usr/lib/softhsm/libsofthsm2.so"
/// token_label = "signet-ca"
/// pin = { file = "/etc/signet/token.pin" }
/// sessions = 4
/// softhsm2_conf = "/var/lib/signet/softhsm2.conf"
/// ```
#[derive(Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TokenConfig {
    /// The PKCS#11 module (shared library).
    #[serde(default = "default_module")]
    pub module: PathBuf,
    /// The token's label; tokens are found by label, never by slot number
    /// (SoftHSM2 renumbers slots when tokens are added).
    pub token_label: String,
    /// Where the user PIN is read from.
    pub pin: PinSource,
    /// How many PKCS#11 sessions signing may use at once (0 means
    /// [`DEFAULT_SESSIONS`]).
    #[serde(default)]
    pub sessions: usize,
    /// The `SOFTHSM2_CONF` this token needs, if it is a SoftHSM2 token with
    /// a private token directory. See [`crate::softhsm_env_matches`].
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub softhsm2_conf: Option<PathBuf>,
}

impl TokenConfig {
    /// A configuration for `token_label` in the default module, with the
    /// default pool size and no SoftHSM2 configuration of its own.
    pub fn new(token_label: impl Into<String>, pin: PinSource) -> Self {
        TokenConfig {
            module: default_module(),
            token_label: token_label.into(),
            pin,
            sessions: 0,
            softhsm2_conf: None,
        }
    }

    /// The session pool size to use.
    pub fn session_pool_size(&self) -> usize {
        if self.sessions == 0 {
            DEFAULT_SESSIONS
        } else {
            self.sessions
        }
    }
}

fn default_module() -> PathBuf {
    PathBuf::from(DEFAULT_MODULE)
}

impl fmt::Debug for TokenConfig {
    /// The PIN source is left out: a misconfigured `env = ...` could hold
    /// the PIN itself, and Debug output ends up in logs.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TokenConfig")
            .field("module", &self.module)
            .field("token_label", &self.token_label)
            .field("pin", &"<redacted>")
            .field("sessions", &self.sessions)
            .field("softhsm2_conf", &self.softhsm2_conf)
            .finish()
    }
}

#[cfg(test)]
mod tests;
