//! Signet's registration authority (RA).
//!
//! Registration officers work in a browser console and integrating systems
//! use a REST API, subscribers a self-service portal, all on one HTTPS
//! port (see docs/ra.md for what is and is not built). This crate holds:
//!
//! - configuration ([`RaConfig`], `ra.toml`) and the service ([`start`] ->
//!   [`RunningRa`]);
//! - officer authentication: argon2id passwords, TOTP (RFC 6238) with
//!   enrolment by QR code, client-certificate login, lockout, per-address
//!   throttling, sessions with idle and absolute expiry, anti-CSRF tokens;
//! - roles (system administrator, registration officer, security auditor)
//!   and the scope function ([`scope::Scope`]) every scoped query uses;
//! - sensitive subscriber fields encrypted under a token key with keyed
//!   digests ([`sensitive`]);
//! - certificate requests: filed by one officer, approved by as many
//!   others as the profile demands, issued by the CA over mutual TLS
//!   (idempotently), downloaded, revoked, suspended and resumed;
//! - the subscribers' portal: certificate login, renewal inside the
//!   window, self-revocation;
//! - batch issuance: JSON-lines files validated whole, approved by other
//!   officers, issued by a background job, results as a ZIP;
//! - the REST API under `/api` (API clients with a token or a client
//!   certificate, replay protection, `Idempotency-Key`, rate and size
//!   limits) and its OpenAPI document, built from the route table;
//! - key recovery through the KMC (filed, approved by other officers
//!   under the KMC's dual control, delivered as an envelope sealed to the
//!   subscriber's signing key), the KMC's key health page, and dual
//!   certificates issued through the CA's dual endpoint;
//! - the hash-chained, checkpoint-signed audit trail ([`audit`]);
//! - server-rendered pages in English and Simplified Chinese, embedded
//!   from the workspace's `web/` directory;
//! - the ceremony step for `signet init` ([`ceremony::initialize`]) and
//!   the configuration file it writes ([`render_config`]).
//!
//! See docs/ra.md for what is built, how it is used, and what is not.

#![forbid(unsafe_code)]

mod assets;
pub mod audit;
pub mod auth;
mod authority;
pub mod ceremony;
mod config;
mod error;
pub mod keys;
mod metrics;
pub mod net;
pub mod reminders;
mod render;
mod rest;
pub mod roles;
pub mod scope;
pub mod sensitive;
mod service;
mod web;
mod zip;

pub use authority::{
    ApiClientForm, ApiEnrollment, ApiPrincipal, AuditPage, BatchFiling, BatchUpload,
    CreatedOfficer, DeliveredEnvelope, DualMaterial, Enrolment, FiledRecovery, LoadedSession,
    NewLogin, OfficerForm, OfficerView, PortalHolder, PortalView, REVOCATION_REASONS, RecoveryForm,
    RegisteredApiClient, RegistrationAuthority, RequestDetail, RequestForm, RowError, Stage,
    StatusChange, SubscriberForm, SubscriberSearch, SubscriberView,
};
pub use config::{
    ApiConfig, AuditConfig, BatchConfig, CaLinkConfig, DatabaseConfig, I18nConfig, KmcLinkConfig,
    PortalConfig, RaConfig, RaProfileConfig, RemindersConfig, ServerConfig, Settings, SmtpConfig,
    WebhookConfig,
};
pub use error::RaError;
pub use metrics::RaMetrics;
pub use render::render_config;
pub use service::{RunningRa, start};
pub use web::Lang;
