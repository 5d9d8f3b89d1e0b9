//! Who is asking, and the audit entries that record it.

use signet_core::Timestamp;
use signet_store::kmc::AuditEntry;
use signet_tls::{PeerIdentity, Role};

use crate::error::KmcError;

/// The authenticated client of a request: its role and certificate common
/// name (from mutual TLS), or the KMC itself for scheduled work and the
/// key ceremony.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Caller {
    /// The client's role; `None` for the KMC itself (`system`).
    pub role: Option<Role>,
    /// The client certificate's common name (`-` when it has none).
    pub client: String,
}

impl Caller {
    /// The KMC's own scheduled work, or a ceremony run by the administrator
    /// on the KMC host.
    pub fn system() -> Caller {
        Caller {
            role: None,
            client: "system".into(),
        }
    }

    /// A client with `role` and common name `client` (tests, in-process
    /// callers).
    pub fn new(role: Role, client: impl Into<String>) -> Caller {
        Caller {
            role: Some(role),
            client: client.into(),
        }
    }

    /// The role's name, or `system`.
    pub fn role_name(&self) -> &'static str {
        self.role.map_or("system", Role::as_str)
    }

    /// Refuses callers whose role is not in `roles`.
    pub(crate) fn require(&self, roles: &[Role], action: &'static str) -> Result<(), KmcError> {
        match self.role {
            Some(role) if roles.contains(&role) => Ok(()),
            _ => Err(KmcError::Forbidden {
                role: self.role_name().to_owned(),
                action,
            }),
        }
    }

    /// An audit entry with this caller as the client; `actor` is the
    /// officer where one acts, else the client.
    pub(crate) fn entry(
        &self,
        at: Timestamp,
        actor: Option<&str>,
        action: &str,
        target: impl Into<String>,
        outcome: &str,
        detail: impl Into<String>,
    ) -> AuditEntry {
        AuditEntry {
            at,
            actor: actor.unwrap_or(&self.client).to_owned(),
            actor_role: self.role_name().to_owned(),
            client: self.client.clone(),
            action: action.to_owned(),
            target: target.into(),
            outcome: outcome.to_owned(),
            detail: detail.into(),
        }
    }
}

impl From<&PeerIdentity> for Caller {
    fn from(peer: &PeerIdentity) -> Self {
        Caller {
            role: Some(peer.role),
            client: peer.common_name.clone().unwrap_or_else(|| "-".into()),
        }
    }
}

/// Officer names as the RA gives them: printable, no control characters,
/// 1 to 128 characters.
pub(crate) fn officer(name: &str, field: &'static str) -> Result<String, KmcError> {
    let trimmed = name.trim();
    if trimmed.is_empty() || trimmed.len() > 128 || trimmed.chars().any(char::is_control) {
        return Err(KmcError::bad(
            field,
            "must be 1 to 128 printable characters",
        ));
    }
    Ok(trimmed.to_owned())
}
