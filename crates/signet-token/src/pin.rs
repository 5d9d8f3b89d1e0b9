//! Token PINs: where they come from and how they are held.
//!
//! A PIN lives in zeroizing memory from the moment it is read until it is
//! dropped, and no `Debug`, `Display` or error message ever shows it. The
//! configuration names only where the PIN is ([`PinSource`]).

use std::fmt;
use std::path::PathBuf;

use cryptoki::types::AuthPin;
use zeroize::Zeroizing;

use crate::error::TokenError;

/// A token PIN (user or security officer), zeroized on drop.
pub struct Pin(Zeroizing<String>);

impl Pin {
    /// Takes ownership of `pin`; the string's memory is zeroized when the
    /// `Pin` is dropped.
    pub fn new(pin: String) -> Self {
        Pin(Zeroizing::new(pin))
    }

    /// The PIN's text, for the PKCS#11 call and for test fixtures that write
    /// PIN files. Never log it.
    pub(crate) fn expose(&self) -> &str {
        &self.0
    }

    /// The PIN as cryptoki takes it (a `secrecy` box that also zeroizes).
    pub(crate) fn auth_pin(&self) -> AuthPin {
        AuthPin::from(self.expose())
    }
}

impl From<String> for Pin {
    fn from(pin: String) -> Self {
        Pin::new(pin)
    }
}

impl fmt::Debug for Pin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Pin(***)")
    }
}

/// Where a service finds its token PIN.
///
/// In TOML: `pin = { file = "/etc/signet/token.pin" }` or
/// `pin = { env = "SIGNET_TOKEN_PIN" }`. The PIN itself never appears in a
/// configuration file that is also read for other settings.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case", deny_unknown_fields)]
pub enum PinSource {
    /// A file holding the PIN; one trailing newline is ignored. It should be
    /// readable by the service's user only.
    File(PathBuf),
    /// An environment variable holding the PIN.
    Env(String),
}

impl PinSource {
    /// Reads the PIN. Errors say where it was looked for, never what was
    /// found.
    pub fn read(&self) -> Result<Pin, TokenError> {
        let pin = match self {
            PinSource::File(path) => {
                warn_if_readable_by_others(path);
                let text = std::fs::read_to_string(path).map_err(|e| self.error(e.to_string()))?;
                let mut text = Zeroizing::new(text);
                // Editors and `echo` add a newline; strip it in place so that
                // no untrimmed copy is left behind.
                while text.ends_with('\n') || text.ends_with('\r') {
                    text.pop();
                }
                text
            }
            PinSource::Env(var) => {
                let value = std::env::var(var).map_err(|e| {
                    self.error(match e {
                        std::env::VarError::NotPresent => "not set".to_owned(),
                        std::env::VarError::NotUnicode(_) => "not valid UTF-8".to_owned(),
                    })
                })?;
                Zeroizing::new(value)
            }
        };
        if pin.is_empty() {
            return Err(self.error("the PIN is empty".to_owned()));
        }
        Ok(Pin(pin))
    }

    /// Where the PIN comes from, for messages.
    pub fn origin(&self) -> String {
        match self {
            PinSource::File(path) => format!("file {}", path.display()),
            PinSource::Env(var) => format!("environment variable {var}"),
        }
    }

    fn error(&self, reason: String) -> TokenError {
        TokenError::PinSource {
            origin: self.origin(),
            reason,
        }
    }
}

/// A PIN file others can read is a finding, not a reason to stop a CA: warn.
#[cfg(unix)]
fn warn_if_readable_by_others(path: &std::path::Path) {
    use std::os::unix::fs::PermissionsExt as _;
    if let Ok(meta) = std::fs::metadata(path)
        && meta.permissions().mode() & 0o077 != 0
    {
        tracing::warn!(
            file = %path.display(),
            "the token PIN file is accessible to group or others; chmod 600 it"
        );
    }
}

#[cfg(not(unix))]
fn warn_if_readable_by_others(_path: &std::path::Path) {}

#[cfg(test)]
mod tests;
