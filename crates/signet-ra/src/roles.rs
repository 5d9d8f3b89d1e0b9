//! Officer roles, what each may do, and the caller of a domain operation.

use std::fmt;
use std::str::FromStr;

use signet_store::ra::{OfficerRecord, OrgUnit};

use crate::scope::Scope;

type ScopePrefixFor = signet_store::ra::ScopePrefix;

/// What an officer account is for.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum OfficerRole {
    /// System administrator: officers, organisation units, profiles,
    /// settings. Does not vet subscribers (separation of duties).
    Sysadmin,
    /// Registration officer: subscribers and requests in one organisation
    /// unit and the units below it.
    Officer,
    /// Security auditor: reads the audit trail and reports; changes nothing.
    Auditor,
}

impl OfficerRole {
    /// Every role.
    pub const ALL: [OfficerRole; 3] = [
        OfficerRole::Sysadmin,
        OfficerRole::Officer,
        OfficerRole::Auditor,
    ];

    /// The name stored in the database.
    pub fn as_str(self) -> &'static str {
        match self {
            OfficerRole::Sysadmin => "sysadmin",
            OfficerRole::Officer => "officer",
            OfficerRole::Auditor => "auditor",
        }
    }

    /// Whether this role may do `permission`.
    pub fn allows(self, permission: Permission) -> bool {
        use Permission as P;
        match self {
            OfficerRole::Sysadmin => matches!(
                permission,
                P::ManageOfficers
                    | P::ManageApiClients
                    | P::ManageOrgUnits
                    | P::ViewOrgUnits
                    | P::ViewAudit
                    | P::ViewSubscribers
                    | P::ViewRequests
                    | P::ViewKeyHealth
            ),
            OfficerRole::Officer => matches!(
                permission,
                P::ViewOrgUnits
                    | P::ViewSubscribers
                    | P::ManageSubscribers
                    | P::ViewRequests
                    | P::FileRequests
                    | P::DecideRequests
                    | P::ManageCertificates
                    | P::RecoverKeys
            ),
            OfficerRole::Auditor => {
                matches!(
                    permission,
                    P::ViewAudit | P::ViewOrgUnits | P::ViewRequests | P::ViewKeyHealth
                )
            }
        }
    }

    /// Whether the role may change anything at all. Auditors may not: the
    /// console refuses their every state-changing request.
    pub fn may_change(self) -> bool {
        self != OfficerRole::Auditor
    }
}

impl fmt::Display for OfficerRole {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for OfficerRole {
    type Err = ();

    fn from_str(s: &str) -> Result<Self, ()> {
        OfficerRole::ALL
            .into_iter()
            .find(|r| r.as_str() == s)
            .ok_or(())
    }
}

/// Something a role may be allowed to do. Later phases add their own
/// (batches, reports, API clients).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Permission {
    /// Create, change, lock and unlock officer accounts.
    ManageOfficers,
    /// Create, rename and move organisation units.
    ManageOrgUnits,
    /// See organisation units (in scope).
    ViewOrgUnits,
    /// Read and export the audit trail.
    ViewAudit,
    /// See subscribers (in scope).
    ViewSubscribers,
    /// Register subscribers (in scope).
    ManageSubscribers,
    /// See certificate requests and their certificates (in scope).
    ViewRequests,
    /// File certificate requests (in scope).
    FileRequests,
    /// Approve or reject requests filed by another officer (in scope).
    DecideRequests,
    /// Revoke, suspend and resume certificates (in scope).
    ManageCertificates,
    /// Register REST API clients.
    ManageApiClients,
    /// File, approve and deliver recoveries of escrowed encryption keys
    /// through the KMC (the KMC enforces distinct approvers).
    RecoverKeys,
    /// Read the KMC's key health view (administrators and auditors: it
    /// shows the key hierarchy, not subscribers).
    ViewKeyHealth,
}

/// Who is calling a domain operation: an officer with a session, or the
/// system itself (ceremony, start-up).
#[derive(Clone, Debug)]
pub struct Caller {
    /// `officer` or `system`.
    pub kind: CallerKind,
    /// The username, or `system`.
    pub name: String,
    /// The officer's id (none for the system).
    pub officer_id: Option<i64>,
    /// The role.
    pub role: OfficerRole,
    /// The units the caller may see.
    pub scope: Scope,
    /// The client address, or `-`.
    pub source_ip: String,
}

/// The kinds of caller.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CallerKind {
    /// A logged-in officer.
    Officer,
    /// An integrating system, through the REST API.
    Api,
    /// A subscriber in the portal, acting on its own certificate only.
    Subscriber,
    /// Signet itself.
    System,
}

impl Caller {
    /// An officer, scoped by [`Scope::of`].
    pub fn officer(officer: &OfficerRecord, unit: &OrgUnit, source_ip: String) -> Option<Self> {
        let role = officer.role.parse().ok()?;
        Some(Caller {
            kind: CallerKind::Officer,
            name: officer.username.clone(),
            officer_id: Some(officer.id),
            role,
            scope: Scope::of(role, unit),
            source_ip,
        })
    }

    /// Signet itself, with a system administrator's rights.
    pub fn system() -> Self {
        Caller {
            kind: CallerKind::System,
            name: "system".to_owned(),
            officer_id: None,
            role: OfficerRole::Sysadmin,
            scope: Scope::all(),
            source_ip: "-".to_owned(),
        }
    }

    /// A registered API client acting in `unit` and the units below it.
    pub fn api_client(name: &str, unit: &OrgUnit, source_ip: String) -> Self {
        Caller {
            kind: CallerKind::Api,
            name: name.to_owned(),
            officer_id: None,
            role: OfficerRole::Officer,
            scope: Scope(ScopePrefixFor::under(unit)),
            source_ip,
        }
    }

    /// The holder of certificate `serial` in the portal.
    pub fn subscriber(serial: &str, unit: &OrgUnit, source_ip: String) -> Self {
        Caller {
            kind: CallerKind::Subscriber,
            name: format!("certificate:{serial}"),
            officer_id: None,
            role: OfficerRole::Officer,
            scope: Scope(ScopePrefixFor::under(unit)),
            source_ip,
        }
    }

    /// Whether the caller's role allows `permission`. API clients enroll,
    /// read and revoke; they never decide on officers' requests, manage
    /// subscribers or read the audit trail.
    pub fn may(&self, permission: Permission) -> bool {
        match self.kind {
            CallerKind::Api => matches!(
                permission,
                Permission::FileRequests
                    | Permission::ViewRequests
                    | Permission::ManageCertificates
            ),
            _ => self.role.allows(permission),
        }
    }
}
