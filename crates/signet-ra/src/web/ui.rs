//! Server-rendered pages: minijinja templates embedded from
//! `web/templates/`, with `t("key")` for every visible string.
//!
//! Every page extends `base.html` and receives, besides its own values:
//! `lang`, `csrf` (the value each form's hidden `csrf` field carries),
//! `officer` (username, display name, role; absent before login), `nav`
//! (the menu for the officer's role), `switch` (language links), `path`.

use std::sync::Arc;

use axum::http::StatusCode;
use axum::response::{Html, IntoResponse, Response};
use minijinja::value::{Kwargs, Serde, Value};
use minijinja::{Environment, State, context};
use serde::Serialize;

use super::context::Ctx;
use super::errors::WebResult;
use super::i18n::{Catalogs, Lang};
use crate::error::RaError;
use crate::roles::Permission;

/// One entry of the navigation menu.
#[derive(Serialize)]
struct NavItem {
    href: &'static str,
    key: &'static str,
    current: bool,
}

/// A language switch link.
#[derive(Serialize)]
struct SwitchLink {
    code: &'static str,
    href: String,
    current: bool,
}

/// The menu: what the officer's role may open.
const NAV: &[(&str, &str, Option<Permission>)] = &[
    ("/", "nav.home", None),
    (
        "/subscribers",
        "nav.subscribers",
        Some(Permission::ViewSubscribers),
    ),
    ("/requests", "nav.requests", Some(Permission::ViewRequests)),
    ("/batches", "nav.batches", Some(Permission::ViewRequests)),
    (
        "/enrolment-codes",
        "nav.enrolment_codes",
        Some(Permission::FileRequests),
    ),
    (
        "/recoveries",
        "nav.recoveries",
        Some(Permission::RecoverKeys),
    ),
    (
        "/keys/health",
        "nav.key_health",
        Some(Permission::ViewKeyHealth),
    ),
    ("/units", "nav.units", Some(Permission::ViewOrgUnits)),
    (
        "/admin/officers",
        "nav.officers",
        Some(Permission::ManageOfficers),
    ),
    ("/audit", "nav.audit", Some(Permission::ViewAudit)),
];

/// Templates and translations.
pub(crate) struct Ui {
    env: Environment<'static>,
    catalogs: Arc<Catalogs>,
}

impl std::fmt::Debug for Ui {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Ui").finish_non_exhaustive()
    }
}

/// Percent-encodes a path and query for use as a query value.
fn encode_component(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for b in text.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~' | b'/') {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

impl Ui {
    /// Loads the embedded templates and translation tables.
    pub fn new() -> Result<Self, RaError> {
        let catalogs = Arc::new(Catalogs::load()?);
        let mut env = Environment::new();
        for (name, source) in crate::assets::TEMPLATES {
            env.add_template(name, source)
                .map_err(|e| RaError::Config {
                    reason: format!("template web/templates/{name}: {e}"),
                })?;
        }
        let tables = Arc::clone(&catalogs);
        env.add_function(
            "t",
            move |state: &State, key: &str, kwargs: Kwargs| -> Result<String, minijinja::Error> {
                let lang = state
                    .lookup("lang")
                    .and_then(|v| v.as_str().and_then(|s| s.parse::<Lang>().ok()))
                    .unwrap_or(Lang::En);
                let mut text = tables.get(lang, key).to_owned();
                for name in kwargs.args().map(str::to_owned).collect::<Vec<_>>() {
                    let value: Value = kwargs.get(&name)?;
                    text = text.replace(&format!("{{{name}}}"), &value.to_string());
                }
                Ok(text)
            },
        );
        Ok(Ui { env, catalogs })
    }

    fn base(ctx: &Ctx) -> Value {
        let caller = ctx.caller();
        let nav: Vec<NavItem> = match &caller {
            Some(c) => NAV
                .iter()
                .filter(|(_, _, p)| p.is_none_or(|p| c.may(p)))
                .map(|(href, key, _)| NavItem {
                    href,
                    key,
                    current: if *href == "/" {
                        ctx.path == "/"
                    } else {
                        ctx.path.starts_with(href)
                    },
                })
                .collect(),
            None => Vec::new(),
        };
        let next = encode_component(&ctx.path);
        let switch: Vec<SwitchLink> = Lang::ALL
            .iter()
            .map(|l| SwitchLink {
                code: l.code(),
                href: format!("/lang/{}?next={next}", l.code()),
                current: *l == ctx.lang,
            })
            .collect();
        let officer = ctx.session.as_ref().map(|s| {
            context! {
                username => s.officer.username.clone(),
                display_name => s.officer.display_name.clone(),
                role => s.officer.role.clone(),
                active => caller.is_some(),
            }
        });
        context! {
            lang => ctx.lang.code(),
            csrf => ctx.csrf(),
            officer => officer,
            nav => Value::from(Serde(&nav)),
            switch => Value::from(Serde(&switch)),
            path => ctx.path.clone(),
        }
    }

    /// Renders `template` with the base values and `page`'s.
    pub fn render(&self, template: &str, ctx: &Ctx, page: Value) -> Result<String, RaError> {
        let values = context! { ..page, ..Self::base(ctx) };
        self.env
            .get_template(template)
            .and_then(|t| t.render(values))
            .map_err(|e| RaError::internal(format!("template {template}: {e}")))
    }

    /// A page, 200 OK.
    pub fn page(&self, template: &str, ctx: &Ctx, page: Value) -> WebResult {
        self.page_with_status(StatusCode::OK, template, ctx, page)
    }

    /// A page with another status (a form shown again with its error).
    pub fn page_with_status(
        &self,
        status: StatusCode,
        template: &str,
        ctx: &Ctx,
        page: Value,
    ) -> WebResult {
        Ok((status, Html(self.render(template, ctx, page)?)).into_response())
    }

    /// The page rendering the REST API's OpenAPI document.
    pub fn api_docs(&self, doc: &serde_json::Value) -> Result<String, RaError> {
        self.env
            .get_template("api_docs.html")
            .and_then(|t| t.render(context! { doc => Value::from(Serde(doc)) }))
            .map_err(|e| RaError::internal(format!("template api_docs.html: {e}")))
    }

    /// The English text of translation `key` (the REST API answers in
    /// English).
    pub fn english(&self, key: &str) -> String {
        self.catalogs.get(Lang::En, key).to_owned()
    }

    /// The error page for `key`.
    pub fn error_page(&self, ctx: &Ctx, status: StatusCode, key: &str) -> Response {
        let page = context! {
            status => status.as_u16(),
            message_key => key,
        };
        match self.render("error.html", ctx, page) {
            Ok(html) => (status, Html(html)).into_response(),
            Err(e) => {
                tracing::error!(error = %e, "cannot render the error page");
                (status, self.catalogs.get(ctx.lang, key).to_owned()).into_response()
            }
        }
    }
}
