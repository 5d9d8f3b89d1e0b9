//! The reports page and its CSV and XLSX exports (officers in their
//! scope, administrators and auditors everywhere).

use axum::extract::{Query, State};
use axum::http::StatusCode;
use minijinja::context;
use minijinja::value::{Serde, Value};
use serde::{Deserialize, Serialize};
use signet_core::Timestamp;

use crate::authority::{ReportFormat, ReportRow};
use crate::error::RaError;
use crate::web::AppState;
use crate::web::context::Active;
use crate::web::errors::{WebError, WebResult};

/// The date range, as the form sends it (empty means open).
#[derive(Clone, Debug, Default, Deserialize, Serialize)]
pub(crate) struct ReportQuery {
    /// `YYYY-MM-DD`, UTC, inclusive.
    #[serde(default)]
    from: String,
    /// `YYYY-MM-DD`, UTC, inclusive.
    #[serde(default)]
    to: String,
}

/// Midnight UTC of a `YYYY-MM-DD` date.
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

impl ReportQuery {
    /// `[from, until)`: the end date is inclusive, so until its next
    /// midnight.
    fn range(&self) -> Result<(Option<Timestamp>, Option<Timestamp>), RaError> {
        let from = day_start(&self.from)?;
        let until = day_start(&self.to)?.map(|t| Timestamp::from_unix(t.unix() + 86_400));
        if let (Some(f), Some(u)) = (from, until)
            && f >= u
        {
            return Err(RaError::Invalid {
                field: "date",
                key: "error.invalid_date",
            });
        }
        Ok((from, until))
    }

    /// The query string of this range (dates are digits and dashes).
    fn href(&self) -> String {
        let keep = |s: &str| -> String {
            s.chars()
                .filter(|c| c.is_ascii_digit() || *c == '-')
                .collect()
        };
        format!("from={}&to={}", keep(&self.from), keep(&self.to))
    }
}

/// A grouping as the page shows it.
#[derive(Serialize)]
struct SectionView<'a> {
    id: &'static str,
    rows: &'a [ReportRow],
    total: i64,
}

/// GET /reports.
pub(crate) async fn page(
    State(state): State<AppState>,
    a: Active,
    Query(q): Query<ReportQuery>,
) -> WebResult {
    let (range, error) = match q.range() {
        Ok(r) => (r, None),
        Err(RaError::Invalid { key, .. }) => ((None, None), Some(key)),
        Err(e) => return Err(WebError(e)),
    };
    let report = state.ra.report(&a.caller, range.0, range.1).await?;
    let sections: Vec<SectionView<'_>> = report
        .sections
        .iter()
        .map(|s| SectionView {
            id: s.grouping.as_str(),
            rows: &s.rows,
            total: s.rows.iter().map(|r| r.count).sum(),
        })
        .collect();
    let status = if error.is_some() {
        StatusCode::BAD_REQUEST
    } else {
        StatusCode::OK
    };
    state.ui.page_with_status(
        status,
        "reports.html",
        &a.ctx,
        context! {
            sections => Value::from(Serde(&sections)),
            at => report.at.to_string(),
            q => Value::from(Serde(&q)),
            error => error,
            export => if error.is_some() { String::new() } else { q.href() },
        },
    )
}

async fn export(state: AppState, a: Active, q: ReportQuery, format: ReportFormat) -> WebResult {
    let (from, until) = q.range()?;
    let bytes = state
        .ra
        .export_report(&a.caller, from, until, format)
        .await?;
    Ok(match format {
        ReportFormat::Csv => {
            super::attachment(bytes, "text/csv; charset=utf-8", "signet-report.csv")
        }
        ReportFormat::Xlsx => super::attachment(
            bytes,
            "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
            "signet-report.xlsx",
        ),
    })
}

/// GET /reports/export.csv (audited).
pub(crate) async fn export_csv(
    State(state): State<AppState>,
    a: Active,
    Query(q): Query<ReportQuery>,
) -> WebResult {
    export(state, a, q, ReportFormat::Csv).await
}

/// GET /reports/export.xlsx (audited).
pub(crate) async fn export_xlsx(
    State(state): State<AppState>,
    a: Active,
    Query(q): Query<ReportQuery>,
) -> WebResult {
    export(state, a, q, ReportFormat::Xlsx).await
}
