//! The audit view and its CSV export (security auditors and system
//! administrators).

use axum::extract::{Query, State};
use axum::http::StatusCode;
use minijinja::context;
use minijinja::value::{Serde, Value};
use serde::{Deserialize, Serialize};
use signet_core::Timestamp;
use signet_store::ra::{AuditFilter, AuditRecord};

use crate::error::RaError;
use crate::web::AppState;
use crate::web::context::Active;
use crate::web::errors::{WebError, WebResult};

/// The filters, as the form sends them (empty means any).
#[derive(Clone, Debug, Default, Deserialize, Serialize)]
pub(crate) struct AuditQuery {
    #[serde(default)]
    actor: String,
    #[serde(default)]
    action: String,
    #[serde(default)]
    outcome: String,
    /// `YYYY-MM-DD`, UTC, inclusive.
    #[serde(default)]
    from: String,
    /// `YYYY-MM-DD`, UTC, inclusive.
    #[serde(default)]
    to: String,
    #[serde(default)]
    page: u32,
}

/// Midnight UTC of a `YYYY-MM-DD` date, in Unix seconds.
fn day_start(text: &str) -> Result<Option<Timestamp>, RaError> {
    let text = text.trim();
    if text.is_empty() {
        return Ok(None);
    }
    let format = time::macros::format_description!("[year]-[month]-[day]");
    let date = time::Date::parse(text, format).map_err(|_| RaError::Invalid {
        field: "date",
        key: "error.invalid_date",
    })?;
    Ok(Some(Timestamp::from_unix(
        date.midnight().assume_utc().unix_timestamp(),
    )))
}

fn non_empty(text: &str) -> Option<String> {
    let t = text.trim();
    (!t.is_empty()).then(|| t.to_owned())
}

impl AuditQuery {
    fn filter(&self) -> Result<AuditFilter, RaError> {
        let outcome = non_empty(&self.outcome);
        if outcome
            .as_deref()
            .is_some_and(|o| !matches!(o, "success" | "denied" | "error"))
        {
            return Err(RaError::Invalid {
                field: "outcome",
                key: "error.invalid_outcome",
            });
        }
        Ok(AuditFilter {
            actor: non_empty(&self.actor),
            action: non_empty(&self.action),
            outcome,
            from: day_start(&self.from)?,
            // Inclusive end date: events before the next midnight.
            until: day_start(&self.to)?.map(|t| Timestamp::from_unix(t.unix() + 86_400)),
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
            "actor={}&action={}&outcome={}&from={}&to={}&page={page}",
            enc(&self.actor),
            enc(&self.action),
            enc(&self.outcome),
            enc(&self.from),
            enc(&self.to)
        )
    }
}

/// An event as the table shows it.
#[derive(Serialize)]
struct EventRow {
    seq: i64,
    at: String,
    actor_kind: String,
    actor: String,
    action: String,
    target: String,
    outcome: String,
    source_ip: String,
    details: String,
    hash: String,
}

impl From<&AuditRecord> for EventRow {
    fn from(r: &AuditRecord) -> Self {
        EventRow {
            seq: r.seq,
            at: r.entry.at.to_string(),
            actor_kind: r.entry.actor_kind.clone(),
            actor: r.entry.actor.clone(),
            action: r.entry.action.clone(),
            target: r.entry.target.clone(),
            outcome: r.entry.outcome.clone(),
            source_ip: r.entry.source_ip.clone(),
            details: r.entry.details.clone(),
            hash: hex::encode(&r.hash),
        }
    }
}

/// GET /audit.
pub(crate) async fn page(
    State(state): State<AppState>,
    a: Active,
    Query(q): Query<AuditQuery>,
) -> WebResult {
    let (filter, error) = match q.filter() {
        Ok(f) => (f, None),
        Err(RaError::Invalid { key, .. }) => (AuditFilter::default(), Some(key)),
        Err(e) => return Err(WebError(e)),
    };
    let page = state.ra.audit_page(&a.caller, &filter, q.page).await?;
    let rows: Vec<EventRow> = page.events.iter().map(EventRow::from).collect();
    let status = if error.is_some() {
        StatusCode::BAD_REQUEST
    } else {
        StatusCode::OK
    };
    state.ui.page_with_status(
        status,
        "audit.html",
        &a.ctx,
        context! {
            events => Value::from(Serde(rows)),
            actions => page.actions,
            q => Value::from(Serde(&q)),
            error => error,
            previous => (q.page > 0).then(|| q.href(q.page - 1)),
            next => page.more.then(|| q.href(q.page + 1)),
            export => q.href(0),
        },
    )
}

/// One CSV field (RFC 4180), quoted; a leading `=`, `+`, `-`, `@`, tab or
/// carriage return is prefixed with `'` so spreadsheets do not run it as a
/// formula (OWASP CSV injection).
fn csv_field(text: &str) -> String {
    let neutral = match text.chars().next() {
        Some('=' | '+' | '-' | '@' | '\t' | '\r') => format!("'{text}"),
        _ => text.to_owned(),
    };
    format!("\"{}\"", neutral.replace('"', "\"\""))
}

/// GET /audit/export.csv: every matching event (the export is audited).
pub(crate) async fn export(
    State(state): State<AppState>,
    a: Active,
    Query(q): Query<AuditQuery>,
) -> WebResult {
    let filter = q.filter()?;
    let events = state.ra.audit_export(&a.caller, &filter).await?;
    // A byte-order mark, so spreadsheet programs read the UTF-8 (Chinese
    // names) correctly.
    let mut csv = String::from("\u{feff}");
    csv.push_str(
        "seq,at,actor_kind,actor,action,target,outcome,source_ip,details,prev_hash,hash\r\n",
    );
    for r in &events {
        let e = &r.entry;
        let fields = [
            r.seq.to_string(),
            e.at.to_string(),
            e.actor_kind.clone(),
            e.actor.clone(),
            e.action.clone(),
            e.target.clone(),
            e.outcome.clone(),
            e.source_ip.clone(),
            e.details.clone(),
            hex::encode(&r.prev_hash),
            hex::encode(&r.hash),
        ];
        let line: Vec<String> = fields.iter().map(|f| csv_field(f)).collect();
        csv.push_str(&line.join(","));
        csv.push_str("\r\n");
    }
    Ok(super::attachment(
        csv,
        "text/csv; charset=utf-8",
        "signet-audit.csv",
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn csv_fields_are_quoted_and_defused() {
        assert_eq!(csv_field("plain"), "\"plain\"");
        assert_eq!(csv_field("say \"hi\""), "\"say \"\"hi\"\"\"");
        assert_eq!(csv_field("=1+1"), "\"'=1+1\"");
        assert_eq!(csv_field("@SUM(A1)"), "\"'@SUM(A1)\"");
    }

    #[test]
    fn dates_are_utc_days() {
        assert_eq!(
            day_start("2026-11-23").unwrap(),
            Some(Timestamp::from_unix(1_795_392_000))
        );
        assert!(day_start("23/11/2026").is_err());
        assert_eq!(day_start("").unwrap(), None);
    }
}
