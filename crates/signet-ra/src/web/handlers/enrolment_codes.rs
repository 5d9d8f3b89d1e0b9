//! One-time enrolment codes, officers' side: list the codes in scope,
//! make one (shown once, on the answer to the form), withdraw one.

use axum::Form;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use minijinja::context;
use minijinja::value::Value;
use serde::Deserialize;

use super::{form_error, see_other};
use crate::authority::{EnrolmentCodeForm, shown_status};
use crate::error::RaError;
use crate::roles::Permission;
use crate::web::AppState;
use crate::web::context::Active;
use crate::web::errors::{WebError, WebResult};

/// Subscribers offered in the form's list.
const SUBSCRIBER_CHOICES: u32 = 200;

fn time_text(unix: i64) -> String {
    let t = signet_core::Timestamp::from_unix(unix);
    t.to_datetime()
        .map_or_else(|| t.unix().to_string(), |d| d.to_string())
}

async fn list_page(
    state: &AppState,
    a: &Active,
    status: StatusCode,
    error: Option<&str>,
) -> WebResult {
    let now = state.ra.clock.now();
    let codes: Vec<Value> = state
        .ra
        .list_enrolment_codes(&a.caller)
        .await?
        .iter()
        .map(|c| {
            let shown = shown_status(c, now);
            context! {
                uid => c.uid.clone(),
                profile => c.profile.clone(),
                subject => c.subject_override.clone(),
                status => shown,
                // Expired ones too: withdrawing one says it is done with.
                revocable => c.status == "open" || c.status == "redeemed",
                created_by => c.created_by_name.clone(),
                created_at => time_text(c.created_at),
                expires_at => time_text(c.expires_at),
                request_uid => c.request_uid.clone(),
            }
        })
        .collect();
    let may_create = a.caller.may(Permission::FileRequests);
    let units: Vec<(i64, String)> = if may_create {
        state
            .ra
            .list_org_units(&a.caller)
            .await?
            .into_iter()
            .map(|u| (u.id, u.name))
            .collect()
    } else {
        Vec::new()
    };
    let subscribers: Vec<(i64, String)> = if may_create {
        state
            .ra
            .store()
            .subscribers(a.caller.scope.prefix(), None, None, SUBSCRIBER_CHOICES, 0)
            .await?
            .into_iter()
            .map(|s| (s.id, s.display_name))
            .collect()
    } else {
        Vec::new()
    };
    let profiles: Vec<String> = state
        .ra
        .settings()
        .profiles
        .iter()
        .map(|p| p.name.clone())
        .collect();
    state.ui.page_with_status(
        status,
        "enrolment_codes.html",
        &a.ctx,
        context! {
            codes => codes,
            may_create => may_create,
            units => units,
            subscribers => subscribers,
            profiles => profiles,
            error => error,
        },
    )
}

/// GET /enrolment-codes.
pub(crate) async fn list(State(state): State<AppState>, a: Active) -> WebResult {
    list_page(&state, &a, StatusCode::OK, None).await
}

#[derive(Deserialize)]
pub(crate) struct CreateForm {
    org_unit_id: i64,
    profile: String,
    #[serde(default)]
    subscriber_id: String,
    #[serde(default)]
    subject: String,
    /// One general name per line (`DNS:a.example`).
    #[serde(default)]
    sans: String,
}

/// POST /enrolment-codes: the answer shows the code, once.
pub(crate) async fn create(
    State(state): State<AppState>,
    a: Active,
    Form(form): Form<CreateForm>,
) -> WebResult {
    let subscriber_id = match form.subscriber_id.trim() {
        "" => None,
        text => Some(text.parse().map_err(|_| {
            WebError(RaError::Invalid {
                field: "subscriber_id",
                key: "error.not_found",
            })
        })?),
    };
    let request = EnrolmentCodeForm {
        org_unit_id: form.org_unit_id,
        profile: form.profile,
        subscriber_id,
        subject: Some(form.subject),
        sans: Some(form.sans.lines().map(str::to_owned).collect()),
    };
    match state.ra.create_enrolment_code(&a.caller, &request).await {
        Ok(created) => state.ui.page_with_status(
            StatusCode::CREATED,
            "enrolment_code_created.html",
            &a.ctx,
            context! {
                code => created.code.grouped().as_str(),
                profile => created.record.profile.clone(),
                expires_at => time_text(created.record.expires_at),
            },
        ),
        Err(e) => {
            let (status, key) = form_error(e)?;
            list_page(&state, &a, status, Some(key)).await
        }
    }
}

/// POST /enrolment-codes/{uid}/revoke.
pub(crate) async fn revoke(
    State(state): State<AppState>,
    a: Active,
    Path(uid): Path<String>,
) -> WebResult {
    match state.ra.revoke_enrolment_code(&a.caller, &uid).await {
        Ok(_) => Ok(see_other("/enrolment-codes", &[])),
        Err(e) => {
            let (status, key) = form_error(e)?;
            list_page(&state, &a, status, Some(key)).await
        }
    }
}
