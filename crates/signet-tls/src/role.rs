//! Signet roles and the allowlist a service keeps of the roles it serves.
//!
//! Every service and the administrator's CLI carries a certificate from the
//! platform CA naming its role in a URI subjectAltName,
//! `urn:signet:role:<role>`. A URI SAN rather than the subject CN because
//! SANs are typed, may repeat and are what webpki-style verifiers read; the CN
//! stays free for a human-readable name.

use std::collections::BTreeSet;
use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

use crate::TlsError;

#[cfg(test)]
mod tests;

/// The prefix of the URI subjectAltName that names a certificate's role.
pub const ROLE_URI_PREFIX: &str = "urn:signet:role:";

/// What a platform certificate is allowed to act as.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
#[non_exhaustive]
pub enum Role {
    /// The CA signer service: the only holder of CA keys.
    Ca,
    /// The registration authority (console, portal, REST API).
    Ra,
    /// The key management centre: encryption keys and escrow.
    Kmc,
    /// The OCSP/CRL responder.
    Ocsp,
    /// The administrator's CLI.
    Admin,
    /// A business system using the KMC's data-key service (encrypt and
    /// decrypt under named keys it is allowed to use).
    App,
}

impl Role {
    /// Every role, in a stable order.
    pub const ALL: [Role; 6] = [
        Role::Ca,
        Role::Ra,
        Role::Kmc,
        Role::Ocsp,
        Role::Admin,
        Role::App,
    ];

    /// The lowercase name used in URIs, configuration and logs.
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Ca => "ca",
            Role::Ra => "ra",
            Role::Kmc => "kmc",
            Role::Ocsp => "ocsp",
            Role::Admin => "admin",
            Role::App => "app",
        }
    }

    /// The URI to put in a certificate's subjectAltName, e.g. `urn:signet:role:ra`.
    pub fn uri(self) -> String {
        format!("{ROLE_URI_PREFIX}{}", self.as_str())
    }
}

impl fmt::Display for Role {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Role {
    type Err = TlsError;

    /// Parses the lowercase name exactly (`"ra"`, not `"RA"`): role names are
    /// identifiers, and one spelling keeps allowlists and audit logs greppable.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Role::ALL
            .into_iter()
            .find(|role| role.as_str() == s)
            .ok_or_else(|| TlsError::UnknownRole {
                value: s.to_owned(),
            })
    }
}

/// The set of roles a service accepts as TLS clients.
///
/// Boulder keeps such an allowlist per gRPC service; Signet does the same per
/// listener: the CA accepts only the RA and the administrator, the KMC only the
/// CA, and so on. The check runs inside the TLS handshake, so a refused peer
/// never reaches a handler.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct AllowedPeers(BTreeSet<Role>);

impl AllowedPeers {
    /// Allow exactly these roles.
    pub fn new(roles: impl IntoIterator<Item = Role>) -> Self {
        AllowedPeers(roles.into_iter().collect())
    }

    /// Whether a peer with `role` may connect.
    pub fn contains(&self, role: Role) -> bool {
        self.0.contains(&role)
    }

    /// Whether no role at all is allowed.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// The allowed roles, in a stable order.
    pub fn iter(&self) -> impl Iterator<Item = Role> + '_ {
        self.0.iter().copied()
    }
}

impl FromIterator<Role> for AllowedPeers {
    fn from_iter<I: IntoIterator<Item = Role>>(iter: I) -> Self {
        AllowedPeers::new(iter)
    }
}

impl fmt::Display for AllowedPeers {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut first = true;
        for role in self.iter() {
            if !first {
                f.write_str(", ")?;
            }
            first = false;
            f.write_str(role.as_str())?;
        }
        Ok(())
    }
}
