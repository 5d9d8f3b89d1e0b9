//! The REST API's domain side: registering API clients (administrators),
//! authenticating a call (token or client certificate, address allowlist,
//! rate limit, timestamp and nonce against replay), and what a client may
//! do: enroll for the profiles it is registered for, read and search the
//! certificates of its unit, revoke them.
//!
//! An API client's enrollment needs no officer approval: registering the
//! client for a profile is the administrator's approval, made once. Its
//! requests are recorded like officers' (`cert_requests`, filed by the
//! client), so the console and the audit trail show them.

use std::net::IpAddr;

use rand::RngExt as _;
use sha2::{Digest as _, Sha256};
use signet_core::csr::VerifiedCsr;
use signet_store::ra::{
    ApiClientRecord, CertificateFilter, NewApiClient, NewRequest, RequestRecord,
};
use zeroize::Zeroizing;

use super::certificates::{RevokeOptions, StatusChange};
use super::officers::parse_fingerprint;
use super::{RegistrationAuthority, ip_text};
use crate::audit::{ActorKind, AuditEvent, Outcome};
use crate::auth::secrets::random_token;
use crate::error::RaError;
use crate::net::AddrRange;
use crate::roles::{Caller, Permission};

/// Nonces: 16 to 128 characters of `[A-Za-z0-9_-]`.
fn valid_nonce(n: &str) -> bool {
    (16..=128).contains(&n.len())
        && n.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

/// Idempotency keys: 1 to 128 printable ASCII characters.
pub fn valid_idempotency_key(k: &str) -> bool {
    (1..=128).contains(&k.len()) && k.bytes().all(|b| b.is_ascii_graphic())
}

/// SHA-256 of an API token: what the database keeps.
fn token_hash(token: &str) -> Vec<u8> {
    Sha256::digest(token.as_bytes()).to_vec()
}

/// The administrator's registration form.
#[derive(Clone, Debug)]
pub struct ApiClientForm {
    /// Name: 2 to 64 of `[a-z0-9._-]`.
    pub name: String,
    /// Unit it acts in.
    pub org_unit_id: i64,
    /// Profiles it may enroll for (each offered by the RA).
    pub profiles: Vec<String>,
    /// Addresses and CIDR blocks it may call from (empty: any).
    pub ip_allowlist: Vec<AddrRange>,
    /// Calls per minute (0: the configured default).
    pub rate_per_minute: u32,
    /// A PEM certificate or SHA-256 fingerprint to authenticate with; empty
    /// to get an API token instead.
    pub certificate: String,
}

/// A registered client and, for token clients, the token (shown once).
pub struct RegisteredApiClient {
    /// The client.
    pub client: ApiClientRecord,
    /// The bearer token, only now.
    pub token: Option<Zeroizing<String>>,
}

impl std::fmt::Debug for RegisteredApiClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RegisteredApiClient")
            .field("client", &self.client.name)
            .finish_non_exhaustive()
    }
}

/// An authenticated API call's caller and client.
#[derive(Clone, Debug)]
pub struct ApiPrincipal {
    /// For domain operations and the audit trail.
    pub caller: Caller,
    /// The registration.
    pub client: ApiClientRecord,
}

/// An enrollment through the API.
#[derive(Clone, Debug)]
pub struct ApiEnrollment {
    /// Profile (must be in the client's list).
    pub profile: String,
    /// PKCS#10, PEM.
    pub csr_pem: String,
    /// Unit (default: the client's own); must be in the client's scope.
    pub org_unit_id: Option<i64>,
    /// Subject DN (RFC 4514) replacing the CSR's.
    pub subject: Option<String>,
    /// SANs replacing the CSR's.
    pub sans: Option<Vec<String>>,
}

impl RegistrationAuthority {
    /// Registers an API client (system administrators).
    pub async fn register_api_client(
        &self,
        caller: &Caller,
        form: &ApiClientForm,
    ) -> Result<RegisteredApiClient, RaError> {
        self.require(caller, Permission::ManageApiClients, "api_client.create")
            .await?;
        if !super::officers::valid_username(&form.name) {
            return Err(RaError::Invalid {
                field: "name",
                key: "error.invalid_username",
            });
        }
        if form.profiles.is_empty()
            || form
                .profiles
                .iter()
                .any(|p| self.settings.profile(p).is_none())
        {
            return Err(RaError::Invalid {
                field: "profiles",
                key: "error.invalid_profile",
            });
        }
        if self.store.org_unit(form.org_unit_id).await?.is_none() {
            return Err(RaError::NotFound {
                what: "organisation unit",
            });
        }
        let (token, token_hash, fingerprint) = if form.certificate.trim().is_empty() {
            let token = random_token();
            let hash = token_hash(&token);
            (Some(token), Some(hash), None)
        } else {
            let fp = parse_fingerprint(&form.certificate).ok_or(RaError::Invalid {
                field: "certificate",
                key: "error.invalid_certificate",
            })?;
            (None, None, Some(fp))
        };
        let rate = if form.rate_per_minute == 0 {
            self.settings.api_default_rate
        } else {
            form.rate_per_minute
        };
        let allowlist = form
            .ip_allowlist
            .iter()
            .map(AddrRange::to_string)
            .collect::<Vec<_>>()
            .join(",");
        let created_by = caller.officer_id.ok_or(RaError::Forbidden {
            action: "api_client.create",
        })?;
        let mut tx = self.store.begin().await?;
        let Some(id) = tx
            .create_api_client(&NewApiClient {
                name: form.name.clone(),
                org_unit_id: form.org_unit_id,
                token_hash,
                cert_fingerprint: fingerprint.clone(),
                profiles: form.profiles.join(","),
                ip_allowlist: allowlist.clone(),
                rate_per_minute: i64::from(rate),
                created_by,
                now: self.clock.now(),
            })
            .await?
        else {
            return Err(RaError::Conflict {
                key: "error.api_client_taken",
            });
        };
        let mut event = AuditEvent::by(caller, "api_client.create")
            .target(format!("api_client:{}", form.name))
            .detail("id", id)
            .detail("org_unit", form.org_unit_id)
            .detail("profiles", form.profiles.join(","))
            .detail("ip_allowlist", allowlist)
            .detail("rate_per_minute", rate)
            .detail(
                "auth",
                if token.is_some() {
                    "token"
                } else {
                    "certificate"
                },
            );
        if let Some(fp) = &fingerprint {
            event = event.detail("certificate_sha256", fp.as_str());
        }
        self.audit.append(&mut tx, &event).await?;
        tx.commit().await?;
        let client = self
            .store
            .api_clients(caller.scope.prefix())
            .await?
            .into_iter()
            .find(|c| c.id == id)
            .ok_or_else(|| RaError::internal("api client vanished"))?;
        Ok(RegisteredApiClient { client, token })
    }

    /// Registered clients (system administrators).
    pub async fn list_api_clients(&self, caller: &Caller) -> Result<Vec<ApiClientRecord>, RaError> {
        self.require(caller, Permission::ManageApiClients, "api_client.list")
            .await?;
        Ok(self.store.api_clients(caller.scope.prefix()).await?)
    }

    async fn refuse_api(&self, who: &str, reason: &str, ip: IpAddr) -> RaError {
        self.audit
            .record_or_log(
                &AuditEvent::new(ActorKind::Api, who, "api.authenticate", &ip_text(ip))
                    .outcome(Outcome::Denied)
                    .detail("reason", reason),
            )
            .await;
        RaError::Unauthenticated
    }

    /// Who is calling: the client whose token is `bearer`, else the client
    /// registered for the connection's certificate. Refuses unknown and
    /// disabled clients, addresses outside the allowlist, and calls over
    /// the client's rate.
    pub async fn authenticate_api(
        &self,
        bearer: Option<&str>,
        certificate_der: Option<&[u8]>,
        ip: IpAddr,
    ) -> Result<ApiPrincipal, RaError> {
        let client = match (bearer, certificate_der) {
            (Some(token), _) => self.store.api_client_by_token(&token_hash(token)).await?,
            (None, Some(der)) => {
                let fp = hex::encode(Sha256::digest(der));
                self.store.api_client_by_fingerprint(&fp).await?
            }
            (None, None) => return Err(self.refuse_api("-", "no_credentials", ip).await),
        };
        let Some(client) = client else {
            return Err(self.refuse_api("-", "unknown_credentials", ip).await);
        };
        if !client.active {
            return Err(self.refuse_api(&client.name, "disabled", ip).await);
        }
        // Entries were checked at registration; one that no longer parses
        // (edited in the database) matches nothing rather than everything.
        let entries: Vec<&str> = client
            .ip_allowlist
            .split(',')
            .map(str::trim)
            .filter(|a| !a.is_empty())
            .collect();
        let allowed = entries.is_empty()
            || entries
                .iter()
                .filter_map(|a| a.parse::<AddrRange>().ok())
                .any(|r| r.contains(ip));
        if !allowed {
            return Err(self
                .refuse_api(&client.name, "address_not_allowed", ip)
                .await);
        }
        let rate = u32::try_from(client.rate_per_minute).unwrap_or(u32::MAX);
        if !self.api_rates.allow(client.id, rate, self.clock.now()) {
            self.audit
                .record_or_log(
                    &AuditEvent::new(
                        ActorKind::Api,
                        &client.name,
                        "api.rate_limited",
                        &ip_text(ip),
                    )
                    .outcome(Outcome::Denied),
                )
                .await;
            return Err(RaError::RateLimited);
        }
        let unit = self
            .store
            .org_unit(client.org_unit_id)
            .await?
            .ok_or_else(|| RaError::internal("api client's unit is gone"))?;
        Ok(ApiPrincipal {
            caller: Caller::api_client(&client.name, &unit, ip_text(ip)),
            client,
        })
    }

    /// Refuses a replayed or stale call: `timestamp` (Unix seconds) must be
    /// within `api.max_clock_skew` of now and `nonce` new for this client.
    pub async fn check_freshness(
        &self,
        p: &ApiPrincipal,
        timestamp: Option<&str>,
        nonce: Option<&str>,
    ) -> Result<(), RaError> {
        let now = self.clock.now();
        let skew = i64::try_from(self.settings.api_max_clock_skew.as_secs()).unwrap_or(i64::MAX);
        let fresh = timestamp
            .and_then(|t| t.trim().parse::<i64>().ok())
            .is_some_and(|t| (t - now.unix()).abs() <= skew);
        let reason = match nonce {
            _ if !fresh => Some("stale_or_missing_timestamp"),
            Some(n) if valid_nonce(n) => None,
            _ => Some("missing_or_malformed_nonce"),
        };
        if let Some(reason) = reason {
            self.audit
                .record_or_log(
                    &AuditEvent::by(&p.caller, "api.replay_check")
                        .outcome(Outcome::Denied)
                        .detail("reason", reason),
                )
                .await;
            return Err(RaError::Invalid {
                field: "x-signet-timestamp",
                key: "error.stale_request",
            });
        }
        let nonce = nonce.unwrap_or_default();
        let mut tx = self.store.begin().await?;
        let fresh_nonce = tx
            .claim_nonce(
                p.client.id,
                nonce,
                now,
                now.minus(self.settings.api_max_clock_skew),
            )
            .await?;
        tx.commit().await?;
        if !fresh_nonce {
            self.audit
                .record_or_log(
                    &AuditEvent::by(&p.caller, "api.replay_check")
                        .outcome(Outcome::Denied)
                        .detail("reason", "replayed_nonce"),
                )
                .await;
            return Err(RaError::Conflict {
                key: "error.replayed",
            });
        }
        Ok(())
    }

    /// Enrolls: records the request as filed by the client and approved by
    /// its registration, and has the CA issue it. With an idempotency key
    /// the request id is derived from (client, key), so a retry, even a
    /// concurrent one, maps to the same request and the same certificate.
    pub async fn api_enroll(
        &self,
        p: &ApiPrincipal,
        e: &ApiEnrollment,
        idempotency_key: Option<&str>,
    ) -> Result<RequestRecord, RaError> {
        let caller = &p.caller;
        self.require(caller, Permission::FileRequests, "api.enroll")
            .await?;
        if self.settings.profile(&e.profile).is_none() {
            // Named like the CA names it, so a caller reads the same line
            // whichever way its request went.
            return Err(RaError::UnknownProfile {
                name: e.profile.clone(),
            });
        }
        if self.settings.is_dual(&e.profile) {
            // Like the CA's single path: a dual pair needs an answer with
            // two certificates and an envelope, which this endpoint lacks.
            return Err(RaError::DualNotAvailable {
                name: e.profile.clone(),
            });
        }
        if !p.client.profiles.split(',').any(|x| x == e.profile) {
            return self
                .deny(caller, "api.enroll", &format!("profile:{}", e.profile))
                .await;
        }
        let unit = self
            .unit_to_file_in(
                &p.caller,
                e.org_unit_id.unwrap_or(p.client.org_unit_id),
                "api.enroll",
            )
            .await?;
        let csr_pem = e.csr_pem.trim();
        // The CA's own checks and words (signet_core::csr), so the caller
        // reads what the CA would have said.
        let csr = VerifiedCsr::parse(csr_pem.as_bytes(), signet_core::csr::DEFAULT_MAX_CSR_BYTES)
            .map_err(|e| RaError::BadCsr {
            reason: e.to_string(),
        })?;
        if let Some(subject) = &e.subject
            && signet_core::names::parse_name(subject).is_err()
        {
            return Err(RaError::Invalid {
                field: "subject",
                key: "error.invalid_subject",
            });
        }
        if let Some(sans) = &e.sans
            && (sans.is_empty()
                || sans
                    .iter()
                    .any(|s| signet_core::names::parse_general_name(s).is_err()))
        {
            return Err(RaError::Invalid {
                field: "sans",
                key: "error.invalid_sans",
            });
        }
        let sans_override = e
            .sans
            .as_ref()
            .map(serde_json::to_string)
            .transpose()
            .map_err(|_| RaError::internal("cannot encode SANs"))?;
        let subject = e
            .subject
            .clone()
            .unwrap_or_else(|| csr.subject().to_string());
        let uid = match idempotency_key {
            Some(k) => {
                let digest = Sha256::digest(format!("api:{}:{k}", p.client.id).as_bytes());
                hex::encode(digest.get(..16).unwrap_or_default())
            }
            None => format!("{:032x}", rand::rng().random::<u128>()),
        };
        let existing = self.store.request(&uid, caller.scope.prefix()).await?;
        let record = match existing {
            Some(r) => r,
            None => {
                let mut tx = self.store.begin().await?;
                tx.create_request(&NewRequest {
                    uid: uid.clone(),
                    org_unit_id: unit.id,
                    profile: e.profile.clone(),
                    csr_pem: format!("{csr_pem}\n"),
                    subject: subject.clone(),
                    approvals_required: 0,
                    status: "approved",
                    filed_by: None,
                    api_client_id: Some(p.client.id),
                    comment: String::new(),
                    batch: None,
                    renewal_of: None,
                    subject_override: e.subject.clone(),
                    sans_override,
                    now: self.clock.now(),
                })
                .await?;
                self.audit
                    .append(
                        &mut tx,
                        &AuditEvent::by(caller, "request.file")
                            .target(format!("request:{uid}"))
                            .detail("profile", e.profile.as_str())
                            .detail("org_unit", unit.id)
                            .detail("subject", subject.as_str())
                            .detail("approvals_required", 0),
                    )
                    .await?;
                tx.commit().await?;
                self.scoped_request(caller, &uid).await?
            }
        };
        match record.status.as_str() {
            "approved" => {
                let r = self.issue_approved(caller, record).await?;
                match r.status.as_str() {
                    "issued" => Ok(r),
                    "failed" => Err(RaError::CaRefused {
                        code: "refused".into(),
                        message: r.failure.unwrap_or_default(),
                    }),
                    _ => Err(RaError::CaUnavailable {
                        reason: r.failure.unwrap_or_default(),
                    }),
                }
            }
            "failed" => Err(RaError::CaRefused {
                code: "refused".into(),
                message: record.failure.unwrap_or_default(),
            }),
            _ => Ok(record),
        }
    }

    /// The certificate with `serial`, if it is in the client's scope.
    pub async fn api_certificate(
        &self,
        p: &ApiPrincipal,
        serial: &str,
    ) -> Result<RequestRecord, RaError> {
        self.require(&p.caller, Permission::ViewRequests, "api.get")
            .await?;
        self.store
            .request_by_serial(&serial.to_ascii_lowercase(), p.caller.scope.prefix())
            .await?
            .ok_or(RaError::NotFound {
                what: "certificate",
            })
    }

    /// Certificates in the client's scope matching `filter`.
    pub async fn api_search(
        &self,
        p: &ApiPrincipal,
        filter: &CertificateFilter,
        limit: u32,
        offset: u32,
    ) -> Result<Vec<RequestRecord>, RaError> {
        self.require(&p.caller, Permission::ViewRequests, "api.search")
            .await?;
        if let Some(s) = filter.cert_status.as_deref()
            && !["good", "suspended", "revoked"].contains(&s)
        {
            return Err(RaError::Invalid {
                field: "status",
                key: "error.invalid_status",
            });
        }
        Ok(self
            .store
            .issued_certificates(p.caller.scope.prefix(), filter, limit, offset)
            .await?)
    }

    /// Suspends (`suspend`) or resumes the certificate with `serial` (in
    /// the client's scope).
    pub async fn api_hold(
        &self,
        p: &ApiPrincipal,
        serial: &str,
        suspend: bool,
    ) -> Result<RequestRecord, RaError> {
        let record = self.api_certificate(p, serial).await?;
        let change = if suspend {
            StatusChange::Suspend
        } else {
            StatusChange::Resume
        };
        self.change_certificate_status(&p.caller, &record.uid, change)
            .await
    }

    /// Revokes the certificate with `serial` (in the client's scope).
    pub async fn api_revoke(
        &self,
        p: &ApiPrincipal,
        serial: &str,
        reason: &str,
        options: &RevokeOptions,
    ) -> Result<RequestRecord, RaError> {
        // Unknown serials first: a caller may revoke certificates the RA
        // never issued elsewhere (the `signet` CLI asks the CA then).
        let record = self.api_certificate(p, serial).await?;
        let Some(reason) = super::certificates::REVOCATION_REASONS
            .into_iter()
            .find(|r| *r == reason)
        else {
            return Err(RaError::Invalid {
                field: "reason",
                key: "error.invalid_reason",
            });
        };
        self.change_certificate_status_with(
            &p.caller,
            &record.uid,
            StatusChange::Revoke(reason),
            options,
        )
        .await
    }
}
