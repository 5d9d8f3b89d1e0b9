//! The HTTPS front: the officer console (server-rendered HTML), static
//! assets, health and metrics. Handlers are thin: extract, call the
//! [`RegistrationAuthority`], render; `errors.rs` alone maps errors to
//! responses.
//!
//! Every response passes [`middleware::security_headers`]; every request
//! passes [`middleware::context`] (language, session) and
//! [`middleware::guard`] (anti-CSRF check on state-changing methods,
//! auditors refused any change). Routes:
//!
//! | method | path | who | what |
//! |---|---|---|---|
//! | GET | `/health`, `/ready`, `/metrics` | anyone | liveness, readiness (database and token), Prometheus |
//! | GET | `/static/{file}` | anyone | CSS (and JS, if any) embedded from `web/static/` |
//! | GET | `/lang/{code}?next=` | anyone | sets the `lang` cookie (`en`, `zh-CN`) |
//! | GET, POST | `/login` | anyone | username and password |
//! | POST | `/login/certificate` | anyone with a client certificate | certificate login |
//! | GET, POST | `/login/totp` | session at stage totp | TOTP code |
//! | GET, POST | `/login/password` | session at stage password | new password |
//! | GET, POST | `/login/enroll` | session at stage enroll | TOTP enrolment (QR code) |
//! | POST | `/logout` | session | log out |
//! | GET | `/` | officer | home |
//! | GET | `/subscribers`, POST `/subscribers/search` | sysadmin, officer (scoped) | list, exact search by ID number or phone |
//! | GET, POST | `/subscribers/new` | officer (scoped) | register a subscriber |
//! | GET | `/subscribers/{id}` | sysadmin, officer (scoped) | a subscriber (masked) and the requests filed for it |
//! | GET | `/requests?status=&san=&subscriber=&page=` | officer, sysadmin, auditor (scoped) | certificate requests |
//! | GET, POST | `/requests/new?subscriber=` | officer (scoped) | file a request: pasted CSR, offered profile, unit, optional subscriber |
//! | GET | `/requests/{uid}` | as the list | a request, its decisions, its certificate |
//! | POST | `/requests/{uid}/{approve,reject}` | officer other than the filer | decide; enough approvals issue at once |
//! | POST | `/requests/{uid}/issue` | officer | retry an issuance the CA did not confirm (idempotent) |
//! | POST | `/requests/{uid}/{revoke,suspend,resume}` | officer | status changes through the CA |
//! | POST | `/requests/{uid}/pkcs12` | officer (scoped) | server-generated key: PKCS#12 made under a one-time password shown once |
//! | POST | `/requests/{uid}/pkcs12/download` | officer (scoped) | that PKCS#12, once; the RA's copy is erased |
//! | GET | `/requests/{uid}/certificate.{pem,der}`, `/requests/{uid}/chain.pem` | as the list | downloads |
//! | GET | `/requests/{uid}/encryption.pem`, `/requests/{uid}/envelope.der` | as the list | a dual request's encryption certificate and its key enveloped to the signing key (asked of the CA again, idempotently) |
//! | GET, POST | `/batches` | officer (scoped) | batches; upload a JSON-lines file (every row validated first) |
//! | GET | `/batches/{uid}` | as the list | progress (reloads while running), decisions |
//! | POST | `/batches/{uid}/{approve,reject}` | officer other than the filer | the last needed approval starts the job |
//! | GET | `/batches/{uid}/result.zip` | as the list | certificates with chains, CSV report |
//! | GET | `/portal` | holder of a certificate this RA issued (client certificate) | the subscriber's portal |
//! | POST | `/portal/{renew,revoke}` | the same | renewal inside the window (a request officers approve), self-revocation |
//! | GET | `/portal/renewals/{uid}/chain.pem` | the same | an issued renewal of that certificate, with its chain |
//! | GET, POST | `/portal/enroll` | anyone with a one-time enrolment code | file the first request with the code and a CSR |
//! | POST | `/portal/enroll/{status,certificate}` | the same | the code's request status; the certificate with its chain, once (spends the code) |
//! | GET, POST | `/enrolment-codes` | officer (scoped) | enrolment codes; make one (shown once) |
//! | POST | `/enrolment-codes/{uid}/revoke` | officer (scoped) | withdraw a code |
//! | GET, POST | `/recoveries` | officer | key recoveries filed here; file one at the KMC (by certificate serial or key id) |
//! | GET | `/recoveries/{id}` | officer | a recovery's state at the KMC |
//! | POST | `/recoveries/{id}/approve` | officer other than the requester (the KMC decides) | approve |
//! | POST | `/recoveries/{id}/deliver` | officer | the envelope, sealed to the subscriber's signing key, as a DER download (once) |
//! | GET | `/keys/health` | sysadmin, auditor | the KMC's key health view |
//! | GET | `/units` | everyone (scoped) | the organisation tree |
//! | POST | `/units`, `/units/{id}/rename`, `/units/{id}/move` | sysadmin | create, rename, move |
//! | GET, POST | `/admin/officers` | sysadmin | list, create |
//! | GET, POST | `/admin/officers/{id}` | sysadmin | view, edit role, unit, status |
//! | POST | `/admin/officers/{id}/{password,totp,lock,unlock,certificate,certificate/remove}` | sysadmin | reset password or TOTP, lock, unlock, register or remove the login certificate |
//! | GET, POST | `/admin/api-clients` | sysadmin | REST API clients: list, register (token shown once, or a certificate) |
//! | GET | `/reports?from=&to=`, `/reports/export.{csv,xlsx}` | officer (scoped), sysadmin, auditor | certificate counts by status, profile, unit, month; exports (audited) |
//! | GET | `/audit`, `/audit/export.csv` | sysadmin, auditor | audit trail with filters, CSV export |
//! | * | `/api/...` | API clients | the REST API (`crate::rest`), outside the console's session and anti-CSRF layers |

mod context;
mod cookies;
mod errors;
mod handlers;
mod i18n;
mod middleware;
mod ui;

use std::sync::Arc;

use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::routing::{get, post};
use prometheus_client::registry::Registry;

pub(crate) use errors::classify;
pub use i18n::Lang;
pub(crate) use ui::Ui;

use crate::authority::RegistrationAuthority;

/// What handlers share.
#[derive(Clone)]
pub(crate) struct AppState {
    pub ra: Arc<RegistrationAuthority>,
    pub ui: Arc<Ui>,
    pub registry: Arc<Registry>,
}

/// Every route of the RA (see the table above).
pub(crate) fn router(state: AppState) -> Router {
    use handlers::{
        admin, api_clients, audit, batches, enrolment_codes, keys, login, misc, portal, requests,
        subscribers,
    };
    let max_form = state.ra.settings().max_form_bytes;
    let max_upload = state.ra.settings().max_upload_bytes;
    let app = Router::new()
        .route("/", get(misc::home))
        .route("/lang/{code}", get(misc::switch_language))
        .route("/login", get(login::page).post(login::submit))
        .route("/login/certificate", post(login::certificate))
        .route(
            "/login/totp",
            get(login::totp_page).post(login::totp_submit),
        )
        .route(
            "/login/password",
            get(login::password_page).post(login::password_submit),
        )
        .route(
            "/login/enroll",
            get(login::enroll_page).post(login::enroll_submit),
        )
        .route("/logout", post(login::logout))
        .route("/subscribers", get(subscribers::list))
        .route("/subscribers/search", post(subscribers::search))
        .route(
            "/subscribers/new",
            get(subscribers::new_page).post(subscribers::create),
        )
        .route("/subscribers/{id}", get(subscribers::detail))
        .route("/requests", get(requests::list))
        .route(
            "/requests/new",
            get(requests::new_page).post(requests::create),
        )
        .route("/requests/{uid}", get(requests::detail))
        .route("/requests/{uid}/approve", post(requests::approve))
        .route("/requests/{uid}/reject", post(requests::reject))
        .route("/requests/{uid}/issue", post(requests::retry))
        .route("/requests/{uid}/revoke", post(requests::revoke))
        .route("/requests/{uid}/suspend", post(requests::suspend))
        .route("/requests/{uid}/resume", post(requests::resume))
        .route("/requests/{uid}/pkcs12", post(requests::create_pkcs12))
        .route(
            "/requests/{uid}/pkcs12/download",
            post(requests::download_pkcs12),
        )
        .route(
            "/requests/{uid}/certificate.pem",
            get(requests::certificate),
        )
        .route(
            "/requests/{uid}/certificate.der",
            get(requests::certificate_der),
        )
        .route("/requests/{uid}/chain.pem", get(requests::chain))
        .route("/requests/{uid}/encryption.pem", get(keys::dual_encryption))
        .route("/requests/{uid}/envelope.der", get(keys::dual_envelope))
        .route(
            "/batches",
            get(batches::list)
                .post(batches::upload)
                .layer(DefaultBodyLimit::max(max_upload)),
        )
        .route("/batches/{uid}", get(batches::detail))
        .route("/batches/{uid}/approve", post(batches::approve))
        .route("/batches/{uid}/reject", post(batches::reject))
        .route("/batches/{uid}/result.zip", get(batches::result))
        .route("/portal", get(portal::show))
        .route("/portal/renew", post(portal::renew))
        .route("/portal/revoke", post(portal::revoke))
        .route("/portal/revoked", get(portal::revoked))
        .route(
            "/portal/renewals/{uid}/chain.pem",
            get(portal::renewal_chain),
        )
        .route(
            "/portal/enroll",
            get(portal::enroll_page).post(portal::enroll),
        )
        .route("/portal/enroll/status", post(portal::enroll_status))
        .route(
            "/portal/enroll/certificate",
            post(portal::enroll_certificate),
        )
        .route(
            "/enrolment-codes",
            get(enrolment_codes::list).post(enrolment_codes::create),
        )
        .route(
            "/enrolment-codes/{uid}/revoke",
            post(enrolment_codes::revoke),
        )
        .route("/recoveries", get(keys::recoveries).post(keys::file))
        .route("/recoveries/{id}", get(keys::recovery))
        .route("/recoveries/{id}/approve", post(keys::approve))
        .route("/recoveries/{id}/deliver", post(keys::deliver))
        .route("/keys/health", get(keys::health))
        .route("/units", get(admin::units).post(admin::unit_create))
        .route("/units/{id}/rename", post(admin::unit_rename))
        .route("/units/{id}/move", post(admin::unit_move))
        .route(
            "/admin/officers",
            get(admin::officers).post(admin::officer_create),
        )
        .route(
            "/admin/officers/{id}",
            get(admin::officer).post(admin::officer_update),
        )
        .route(
            "/admin/officers/{id}/password",
            post(admin::officer_reset_password),
        )
        .route("/admin/officers/{id}/totp", post(admin::officer_reset_totp))
        .route("/admin/officers/{id}/lock", post(admin::officer_lock))
        .route("/admin/officers/{id}/unlock", post(admin::officer_unlock))
        .route(
            "/admin/officers/{id}/certificate",
            post(admin::officer_certificate),
        )
        .route(
            "/admin/officers/{id}/certificate/remove",
            post(admin::officer_certificate_remove),
        )
        .route(
            "/admin/api-clients",
            get(api_clients::list).post(api_clients::create),
        )
        .route("/reports", get(handlers::reports::page))
        .route("/reports/export.csv", get(handlers::reports::export_csv))
        .route("/reports/export.xlsx", get(handlers::reports::export_xlsx))
        .route("/audit", get(audit::page))
        .route("/audit/export.csv", get(audit::export))
        .route("/static/{file}", get(misc::static_file))
        .route("/health", get(misc::health))
        .route("/ready", get(misc::ready))
        .route("/metrics", get(misc::metrics))
        .fallback(misc::not_found)
        .layer(DefaultBodyLimit::max(max_form))
        .layer(axum::middleware::from_fn_with_state(
            state.clone(),
            middleware::guard,
        ))
        .layer(axum::middleware::from_fn_with_state(
            state.clone(),
            middleware::context,
        ))
        .layer(axum::middleware::from_fn_with_state(
            state.clone(),
            middleware::observe,
        ))
        .merge(crate::rest::router(&state))
        .layer(axum::middleware::from_fn(middleware::security_headers));
    app.with_state(state)
}
