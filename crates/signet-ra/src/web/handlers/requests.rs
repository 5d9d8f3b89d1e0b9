//! Certificate requests: list (filtered by status, profile, unit, subject,
//! SAN, serial, expiry or subscriber), file (with a CSR or a key the RA
//! generates, optionally for a subscriber), view, approve or reject, retry
//! issuance, download the certificate (and a generated key's PKCS#12,
//! once), revoke / suspend / resume.

use axum::Form;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use minijinja::context;
use minijinja::value::{Serde, Value};
use serde::{Deserialize, Serialize};
use signet_store::ra::{RequestFilter, RequestRecord};

use super::{form_error, see_other};
use crate::authority::{
    LinkedSubscriber, REQUEST_PAGE, REVOCATION_REASONS, RequestForm, STATUSES, ServerKeyForm,
    ServerKeyState, StatusChange,
};
use crate::error::RaError;
use crate::roles::Permission;
use crate::web::AppState;
use crate::web::context::Active;
use crate::web::errors::{WebError, WebResult};

/// A request as the pages show it.
#[derive(Serialize)]
pub(super) struct RequestView {
    uid: String,
    org_unit_id: i64,
    profile: String,
    subject: String,
    approvals_required: i64,
    status: String,
    filed_at: String,
    comment: String,
    failure: Option<String>,
    serial: Option<String>,
    issuer: Option<String>,
    not_after: Option<String>,
    cert_status: Option<String>,
    revocation_reason: Option<String>,
    csr_pem: String,
    certificate_pem: Option<String>,
    sans: Option<String>,
}

fn time_text(t: signet_core::Timestamp) -> String {
    t.to_datetime()
        .map_or_else(|| t.unix().to_string(), |d| d.to_string())
}

impl From<&RequestRecord> for RequestView {
    fn from(r: &RequestRecord) -> Self {
        RequestView {
            uid: r.uid.clone(),
            org_unit_id: r.org_unit_id,
            profile: r.profile.clone(),
            subject: r.subject.clone(),
            approvals_required: r.approvals_required,
            status: r.status.clone(),
            filed_at: time_text(r.filed_at),
            comment: r.comment.clone(),
            failure: r.failure.clone(),
            serial: r.serial.clone(),
            issuer: r.issuer.clone(),
            not_after: r.not_after.map(time_text),
            cert_status: r.cert_status.clone(),
            revocation_reason: r.revocation_reason.clone(),
            csr_pem: r.csr_pem.clone(),
            certificate_pem: r.certificate_pem.clone(),
            sans: r.sans.clone(),
        }
    }
}

#[derive(Deserialize, Serialize, Default)]
pub(crate) struct ListQuery {
    #[serde(default)]
    page: u32,
    #[serde(default)]
    status: String,
    #[serde(default)]
    profile: String,
    #[serde(default)]
    subject: String,
    /// Substring of the certificate's SANs.
    #[serde(default)]
    san: String,
    #[serde(default)]
    serial: String,
    #[serde(default)]
    unit: String,
    /// Subscriber id (the link from a subscriber's page).
    #[serde(default)]
    subscriber: String,
    /// Valid certificates expiring within this many days.
    #[serde(default)]
    expiring_days: String,
}

fn non_empty(s: &str) -> Option<String> {
    let s = s.trim();
    (!s.is_empty()).then(|| s.to_owned())
}

impl ListQuery {
    fn filter(&self, now: signet_core::Timestamp) -> Result<RequestFilter, RaError> {
        let invalid = |field| RaError::Invalid {
            field,
            key: "error.invalid_query",
        };
        let org_unit_id = match non_empty(&self.unit) {
            Some(u) => Some(u.parse::<i64>().map_err(|_| invalid("unit"))?),
            None => None,
        };
        let subscriber_id = match non_empty(&self.subscriber) {
            Some(s) => Some(s.parse::<i64>().map_err(|_| invalid("subscriber"))?),
            None => None,
        };
        let (expires_after, expires_before) = match non_empty(&self.expiring_days) {
            Some(d) => {
                let days = d.parse::<u32>().map_err(|_| invalid("expiring_days"))?;
                (
                    Some(now),
                    Some(now.plus(std::time::Duration::from_secs(u64::from(days) * 86_400))),
                )
            }
            None => (None, None),
        };
        Ok(RequestFilter {
            status: non_empty(&self.status),
            profile: non_empty(&self.profile),
            subject_contains: non_empty(&self.subject),
            serial: non_empty(&self.serial),
            org_unit_id,
            expires_before,
            expires_after,
            san_contains: non_empty(&self.san),
            subscriber_id,
        })
    }

    /// The query string of this filter at `page`.
    fn href(&self, page: u32) -> String {
        let enc = |s: &str| -> String {
            s.bytes()
                .map(|b| {
                    if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_') {
                        char::from(b).to_string()
                    } else {
                        format!("%{b:02X}")
                    }
                })
                .collect()
        };
        format!(
            "/requests?page={page}&status={}&profile={}&subject={}&san={}&serial={}&unit={}&expiring_days={}&subscriber={}",
            enc(&self.status),
            enc(&self.profile),
            enc(&self.subject),
            enc(&self.san),
            enc(&self.serial),
            enc(&self.unit),
            enc(&self.expiring_days),
            enc(&self.subscriber)
        )
    }
}

/// GET /requests.
pub(crate) async fn list(
    State(state): State<AppState>,
    a: Active,
    Query(q): Query<ListQuery>,
) -> WebResult {
    let filter = q.filter(state.ra.now())?;
    let requests = state.ra.list_requests(&a.caller, &filter, q.page).await?;
    let full = requests.len() >= usize::try_from(REQUEST_PAGE).unwrap_or(0);
    let views: Vec<RequestView> = requests.iter().map(RequestView::from).collect();
    let units: Vec<(i64, String)> = state
        .ra
        .list_org_units(&a.caller)
        .await?
        .into_iter()
        .map(|u| (u.id, u.name))
        .collect();
    let profiles: Vec<String> = state
        .ra
        .settings()
        .profiles
        .iter()
        .map(|p| p.name.clone())
        .collect();
    state.ui.page(
        "requests/list.html",
        &a.ctx,
        context! {
            requests => Value::from(Serde(views)),
            statuses => STATUSES,
            q => Value::from(Serde(&q)),
            units => units,
            profiles => profiles,
            may_file => a.caller.may(Permission::FileRequests),
            previous => (q.page > 0).then(|| q.href(q.page - 1)),
            next => full.then(|| q.href(q.page + 1)),
        },
    )
}

async fn new_form(
    state: &AppState,
    a: &Active,
    status: StatusCode,
    error: Option<&str>,
    form: Option<&RequestForm>,
    subscriber_id: Option<i64>,
) -> WebResult {
    let subscribers = state
        .ra
        .subscriber_choices(&a.caller, subscriber_id)
        .await?;
    let units: Vec<(i64, String)> = state
        .ra
        .list_org_units(&a.caller)
        .await?
        .into_iter()
        .map(|u| (u.id, u.name))
        .collect();
    let profiles: Vec<(String, u32)> = state
        .ra
        .settings()
        .profiles
        .iter()
        .map(|p| (p.name.clone(), p.approvals))
        .collect();
    let vetted = form.and_then(|f| f.server_key.as_ref());
    state.ui.page_with_status(
        status,
        "requests/new.html",
        &a.ctx,
        context! {
            units => units,
            profiles => profiles,
            error => error,
            csr => form.map(|f| f.csr_pem.clone()),
            comment => form.map(|f| f.comment.clone()),
            key_types => signet_core::subscriber_key::SUBSCRIBER_KEY_TYPES
                .iter()
                .map(|k| k.as_str())
                .collect::<Vec<_>>(),
            server_key => vetted.is_some(),
            key_type => vetted.map(|v| v.key_type.clone()),
            subject => vetted.map(|v| v.subject.clone()),
            sans => vetted.map(|v| v.sans.clone()),
            subscribers => Value::from(Serde(subscribers)),
            subscriber_id => subscriber_id,
        },
    )
}

#[derive(Deserialize)]
pub(crate) struct NewQuery {
    /// The subscriber to file for (the link from a subscriber's page).
    #[serde(default)]
    subscriber: String,
}

/// GET /requests/new.
pub(crate) async fn new_page(
    State(state): State<AppState>,
    a: Active,
    Query(q): Query<NewQuery>,
) -> WebResult {
    if !a.caller.may(Permission::FileRequests) {
        return Err(WebError(RaError::Forbidden {
            action: "request.file",
        }));
    }
    let subscriber_id = match non_empty(&q.subscriber) {
        Some(s) => Some(s.parse::<i64>().map_err(|_| RaError::Invalid {
            field: "subscriber",
            key: "error.invalid_query",
        })?),
        None => None,
    };
    new_form(&state, &a, StatusCode::OK, None, None, subscriber_id).await
}

#[derive(Deserialize)]
pub(crate) struct FileForm {
    org_unit_id: i64,
    profile: String,
    /// `csr` (pasted) or `server` (the RA generates the key).
    #[serde(default)]
    key_source: String,
    #[serde(default)]
    csr: String,
    #[serde(default)]
    key_type: String,
    #[serde(default)]
    subject: String,
    #[serde(default)]
    sans: String,
    #[serde(default)]
    comment: String,
    /// A subscriber's id, or empty.
    #[serde(default)]
    subscriber_id: String,
}

/// POST /requests/new.
pub(crate) async fn create(
    State(state): State<AppState>,
    a: Active,
    Form(form): Form<FileForm>,
) -> WebResult {
    let server_key = (form.key_source == "server").then_some(ServerKeyForm {
        key_type: form.key_type,
        subject: form.subject,
        sans: form.sans,
    });
    let (subscriber_id, bad_subscriber) = match form.subscriber_id.trim() {
        "" => (None, false),
        text => text
            .parse::<i64>()
            .map_or((None, true), |id| (Some(id), false)),
    };
    let request = RequestForm {
        org_unit_id: form.org_unit_id,
        profile: form.profile,
        csr_pem: form.csr,
        server_key,
        comment: form.comment,
        subscriber_id,
    };
    if bad_subscriber {
        let key = Some("subscriber_link.invalid");
        return new_form(
            &state,
            &a,
            StatusCode::BAD_REQUEST,
            key,
            Some(&request),
            None,
        )
        .await;
    }
    match state.ra.file_request(&a.caller, &request).await {
        Ok(r) => Ok(see_other(&format!("/requests/{}", r.uid), &[])),
        Err(e) => {
            let (status, key) = form_error(e)?;
            new_form(&state, &a, status, Some(key), Some(&request), subscriber_id).await
        }
    }
}

async fn detail_page(
    state: &AppState,
    a: &Active,
    uid: &str,
    status: StatusCode,
    error: Option<&str>,
) -> WebResult {
    let detail = state.ra.request_detail(&a.caller, uid).await?;
    let decisions: Vec<Value> = detail
        .decisions
        .iter()
        .map(|d| {
            context! {
                username => d.username.clone(),
                decision => d.decision.clone(),
                comment => d.comment.clone(),
                at => time_text(signet_core::Timestamp::from_unix(d.at)),
            }
        })
        .collect();
    let (subscriber, subscriber_hidden) = match &detail.subscriber {
        Some(LinkedSubscriber::Shown(view)) => (Some(Value::from(Serde(view.as_ref()))), false),
        Some(LinkedSubscriber::Hidden) => (None, true),
        None => (None, false),
    };
    state.ui.page_with_status(
        status,
        "requests/detail.html",
        &a.ctx,
        context! {
            r => Value::from(Serde(RequestView::from(&detail.record))),
            filed_by => detail.filed_by,
            subscriber => subscriber,
            subscriber_hidden => subscriber_hidden,
            decisions => decisions,
            may_decide => detail.may_decide,
            may_manage => detail.may_manage,
            may_retry => detail.record.status == "approved"
                && a.caller.may(Permission::DecideRequests),
            reasons => REVOCATION_REASONS,
            dual => state.ra.settings().is_dual(&detail.record.profile),
            server_key => detail.server_key.as_ref().map(|k| context! {
                key_type => k.key_type.clone(),
                state => k.state.as_str(),
            }),
            // Only the officer who made the PKCS#12 downloads it or makes
            // it again, and only while the certificate is good.
            may_create_pkcs12 => detail.server_key.as_ref().is_some_and(|k| {
                k.may_package(a.caller.officer_id)
            }) && detail.record.status == "issued"
                && detail.record.cert_status.as_deref() == Some("good")
                && a.caller.may(Permission::FileRequests),
            recreate_pkcs12 => detail.server_key.as_ref().is_some_and(|k| {
                k.state == ServerKeyState::Packaged
            }),
            may_download_pkcs12 => detail.server_key.as_ref().is_some_and(|k| {
                k.may_download(a.caller.officer_id)
            }) && detail.record.cert_status.as_deref() == Some("good")
                && a.caller.may(Permission::FileRequests),
            error => error,
        },
    )
}

/// GET /requests/{uid}.
pub(crate) async fn detail(
    State(state): State<AppState>,
    a: Active,
    Path(uid): Path<String>,
) -> WebResult {
    detail_page(&state, &a, &uid, StatusCode::OK, None).await
}

#[derive(Deserialize)]
pub(crate) struct DecisionForm {
    #[serde(default)]
    comment: String,
}

/// The detail page again with the error of a refused action, or the
/// error page for refusals that are not the form's business.
async fn after(
    state: &AppState,
    a: &Active,
    uid: &str,
    result: Result<RequestRecord, RaError>,
) -> WebResult {
    match result {
        Ok(_) => Ok(see_other(&format!("/requests/{uid}"), &[])),
        Err(RaError::CaRefused { .. }) => {
            detail_page(
                state,
                a,
                uid,
                StatusCode::UNPROCESSABLE_ENTITY,
                Some("error.ca_refused"),
            )
            .await
        }
        Err(RaError::CaUnavailable { .. }) => {
            detail_page(
                state,
                a,
                uid,
                StatusCode::SERVICE_UNAVAILABLE,
                Some("error.ca_unavailable"),
            )
            .await
        }
        Err(e) => {
            let (status, key) = form_error(e)?;
            detail_page(state, a, uid, status, Some(key)).await
        }
    }
}

/// POST /requests/{uid}/approve.
pub(crate) async fn approve(
    State(state): State<AppState>,
    a: Active,
    Path(uid): Path<String>,
    Form(form): Form<DecisionForm>,
) -> WebResult {
    let result = state
        .ra
        .approve_request(&a.caller, &uid, &form.comment)
        .await;
    after(&state, &a, &uid, result).await
}

/// POST /requests/{uid}/reject.
pub(crate) async fn reject(
    State(state): State<AppState>,
    a: Active,
    Path(uid): Path<String>,
    Form(form): Form<DecisionForm>,
) -> WebResult {
    let result = state
        .ra
        .reject_request(&a.caller, &uid, &form.comment)
        .await;
    after(&state, &a, &uid, result).await
}

/// POST /requests/{uid}/issue: retry an issuance the CA did not confirm.
pub(crate) async fn retry(
    State(state): State<AppState>,
    a: Active,
    Path(uid): Path<String>,
) -> WebResult {
    let result = state.ra.retry_issuance(&a.caller, &uid).await;
    after(&state, &a, &uid, result).await
}

#[derive(Deserialize)]
pub(crate) struct RevokeForm {
    reason: String,
}

/// POST /requests/{uid}/revoke.
pub(crate) async fn revoke(
    State(state): State<AppState>,
    a: Active,
    Path(uid): Path<String>,
    Form(form): Form<RevokeForm>,
) -> WebResult {
    let Some(reason) = REVOCATION_REASONS.into_iter().find(|r| *r == form.reason) else {
        return detail_page(
            &state,
            &a,
            &uid,
            StatusCode::BAD_REQUEST,
            Some("error.invalid_reason"),
        )
        .await;
    };
    let result = state
        .ra
        .change_certificate_status(&a.caller, &uid, StatusChange::Revoke(reason))
        .await;
    after(&state, &a, &uid, result).await
}

/// POST /requests/{uid}/suspend.
pub(crate) async fn suspend(
    State(state): State<AppState>,
    a: Active,
    Path(uid): Path<String>,
) -> WebResult {
    let result = state
        .ra
        .change_certificate_status(&a.caller, &uid, StatusChange::Suspend)
        .await;
    after(&state, &a, &uid, result).await
}

/// POST /requests/{uid}/resume.
pub(crate) async fn resume(
    State(state): State<AppState>,
    a: Active,
    Path(uid): Path<String>,
) -> WebResult {
    let result = state
        .ra
        .change_certificate_status(&a.caller, &uid, StatusChange::Resume)
        .await;
    after(&state, &a, &uid, result).await
}

/// GET /requests/{uid}/certificate.pem and /chain.pem.
async fn download(state: &AppState, a: &Active, uid: &str, with_chain: bool) -> WebResult {
    let (serial, pem) = state.ra.certificate_pem(&a.caller, uid, with_chain).await?;
    let name = if with_chain {
        format!("{serial}-chain.pem")
    } else {
        format!("{serial}.pem")
    };
    Ok(super::attachment(pem, "application/x-pem-file", &name))
}

/// GET /requests/{uid}/certificate.pem.
pub(crate) async fn certificate(
    State(state): State<AppState>,
    a: Active,
    Path(uid): Path<String>,
) -> WebResult {
    download(&state, &a, &uid, false).await
}

/// GET /requests/{uid}/certificate.der.
pub(crate) async fn certificate_der(
    State(state): State<AppState>,
    a: Active,
    Path(uid): Path<String>,
) -> WebResult {
    let (serial, pem) = state.ra.certificate_pem(&a.caller, &uid, false).await?;
    let der = signet_core::pem::certificates_from_pem(pem.as_bytes())
        .ok()
        .and_then(|certs| certs.into_iter().next())
        .ok_or_else(|| WebError(RaError::internal("stored certificate is not PEM")))?;
    Ok(super::attachment(
        der,
        "application/pkix-cert",
        &format!("{serial}.cer"),
    ))
}

/// GET /requests/{uid}/chain.pem.
pub(crate) async fn chain(
    State(state): State<AppState>,
    a: Active,
    Path(uid): Path<String>,
) -> WebResult {
    download(&state, &a, &uid, true).await
}

/// POST /requests/{uid}/pkcs12: packages a generated key and shows its
/// one-time password, once, beside the download button.
pub(crate) async fn create_pkcs12(
    State(state): State<AppState>,
    a: Active,
    Path(uid): Path<String>,
) -> WebResult {
    match state.ra.create_pkcs12(&a.caller, &uid).await {
        Ok(password) => state.ui.page(
            "requests/pkcs12.html",
            &a.ctx,
            context! {
                uid => uid,
                password => password.expose(),
            },
        ),
        Err(e) => {
            let (status, key) = form_error(e)?;
            detail_page(&state, &a, &uid, status, Some(key)).await
        }
    }
}

/// POST /requests/{uid}/pkcs12/download: the PKCS#12, once.
pub(crate) async fn download_pkcs12(
    State(state): State<AppState>,
    a: Active,
    Path(uid): Path<String>,
) -> WebResult {
    match state.ra.deliver_pkcs12(&a.caller, &uid).await {
        Ok((serial, p12)) => Ok(super::attachment(
            p12,
            "application/x-pkcs12",
            &format!("{serial}.p12"),
        )),
        Err(e) => {
            let (status, key) = form_error(e)?;
            detail_page(&state, &a, &uid, status, Some(key)).await
        }
    }
}
