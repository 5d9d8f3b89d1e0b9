//! Reports for auditors, administrators and officers: certificate counts
//! by status, profile, organisation unit, month of issuance, and month of
//! expiry over the next twelve months, within the caller's scope and an
//! optional range of issuance dates. Exported as CSV (RFC 4180) or XLSX
//! (one sheet per grouping); exports are audited.

mod xlsx;

use signet_core::Timestamp;
use signet_store::ra::{ReportScope, ScopePrefix};

use super::RegistrationAuthority;
use crate::audit::AuditEvent;
use crate::error::RaError;
use crate::roles::{Caller, Permission};

/// Months ahead the expiry forecast covers (the current one included).
pub const EXPIRY_MONTHS: u32 = 12;

/// A grouping of the report.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Grouping {
    /// valid / expired / suspended / revoked, as of the report's time.
    Status,
    /// CA profile.
    Profile,
    /// Organisation unit (each on its own, with its path of names from
    /// the top of the caller's scope).
    Unit,
    /// Calendar month (UTC) of issuance.
    IssuedMonth,
    /// Calendar month (UTC) of expiry, valid certificates, next twelve.
    ExpiringMonth,
}

impl Grouping {
    /// Every grouping, in report order.
    pub const ALL: [Grouping; 5] = [
        Grouping::Status,
        Grouping::Profile,
        Grouping::Unit,
        Grouping::IssuedMonth,
        Grouping::ExpiringMonth,
    ];

    /// Stable name: CSV `grouping` column, translation keys.
    pub fn as_str(self) -> &'static str {
        match self {
            Grouping::Status => "status",
            Grouping::Profile => "profile",
            Grouping::Unit => "unit",
            Grouping::IssuedMonth => "issued_month",
            Grouping::ExpiringMonth => "expiring_month",
        }
    }

    /// The XLSX sheet name (at most 31 characters, none of `[]:*?/\`).
    fn sheet(self) -> &'static str {
        match self {
            Grouping::Status => "By status",
            Grouping::Profile => "By profile",
            Grouping::Unit => "By unit",
            Grouping::IssuedMonth => "Issued per month",
            Grouping::ExpiringMonth => "Expiring per month",
        }
    }

    /// The header of the label column.
    fn label_header(self) -> &'static str {
        match self {
            Grouping::Status => "status",
            Grouping::Profile => "profile",
            Grouping::Unit => "unit",
            Grouping::IssuedMonth | Grouping::ExpiringMonth => "month",
        }
    }
}

/// One line of a grouping.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub struct ReportRow {
    /// Status word, profile, unit path or `YYYY-MM`.
    pub label: String,
    /// Certificates.
    pub count: i64,
}

/// One grouping with its lines.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ReportSection {
    /// Which grouping.
    pub grouping: Grouping,
    /// Its lines.
    pub rows: Vec<ReportRow>,
}

/// A report.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Report {
    /// When it was computed (status and expiry are as of then).
    pub at: Timestamp,
    /// Issued at or after...
    pub from: Option<Timestamp>,
    /// ...and before.
    pub until: Option<Timestamp>,
    /// The groupings, in [`Grouping::ALL`] order.
    pub sections: Vec<ReportSection>,
}

/// An export format.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ReportFormat {
    /// RFC 4180 CSV, one file: `grouping,label,count`.
    Csv,
    /// Office Open XML workbook, one sheet per grouping.
    Xlsx,
}

impl ReportFormat {
    /// The file name extension and audit word.
    pub fn as_str(self) -> &'static str {
        match self {
            ReportFormat::Csv => "csv",
            ReportFormat::Xlsx => "xlsx",
        }
    }
}

/// How many units deep the top of a scope is: 0 for everything (`/%`),
/// 2 for `/1/4/%` (the unit 4 below the root 1).
fn scope_depth(scope: &ScopePrefix) -> usize {
    scope
        .pattern()
        .split('/')
        .filter(|id| id.parse::<i64>().is_ok())
        .count()
}

/// `(year, month)` of a Unix day.
fn month_of_day(day: i64) -> (i32, u8) {
    time::OffsetDateTime::from_unix_timestamp(day.saturating_mul(86_400))
        .map_or((1970, 1), |t| (t.year(), u8::from(t.month())))
}

fn next_month((y, m): (i32, u8)) -> (i32, u8) {
    if m >= 12 { (y + 1, 1) } else { (y, m + 1) }
}

fn month_label((y, m): (i32, u8)) -> String {
    format!("{y:04}-{m:02}")
}

/// Midnight UTC of the first day of a month.
fn month_start((y, m): (i32, u8)) -> Timestamp {
    let month = time::Month::try_from(m).unwrap_or(time::Month::January);
    time::Date::from_calendar_date(y, month, 1).map_or(Timestamp::EPOCH, |d| {
        Timestamp::from_unix(d.midnight().assume_utc().unix_timestamp())
    })
}

/// Folds per-day counts into months, every month from the first to the
/// last present (or over `span`) shown, zeros included.
fn by_month(days: &[(i64, i64)], span: Option<((i32, u8), u32)>) -> Vec<ReportRow> {
    let mut counts = std::collections::BTreeMap::<(i32, u8), i64>::new();
    for (day, n) in days {
        *counts.entry(month_of_day(*day)).or_default() += n;
    }
    let (mut month, months) = match span {
        Some(s) => s,
        None => match (counts.keys().next(), counts.keys().next_back()) {
            (Some(first), Some(last)) => {
                let n = (last.0 - first.0) * 12 + i32::from(last.1) - i32::from(first.1) + 1;
                (*first, u32::try_from(n).unwrap_or(0))
            }
            _ => return Vec::new(),
        },
    };
    let mut out = Vec::new();
    for _ in 0..months {
        out.push(ReportRow {
            label: month_label(month),
            count: counts.get(&month).copied().unwrap_or(0),
        });
        month = next_month(month);
    }
    out
}

impl RegistrationAuthority {
    /// The report for the caller's scope, counting certificates issued in
    /// `[from, until)` (either end open).
    pub async fn report(
        &self,
        caller: &Caller,
        from: Option<Timestamp>,
        until: Option<Timestamp>,
    ) -> Result<Report, RaError> {
        self.require(caller, Permission::ViewRequests, "report.view")
            .await?;
        let now = self.clock.now();
        let r = ReportScope {
            scope: caller.scope.prefix().clone(),
            issued_from: from,
            issued_until: until,
        };
        let plain = |rows: Vec<(String, i64)>| -> Vec<ReportRow> {
            rows.into_iter()
                .map(|(label, count)| ReportRow { label, count })
                .collect()
        };
        // Units are named by their path of names (names are unique only
        // among siblings), from the top of the caller's scope: an
        // officer sees their own unit's name first, nothing above it.
        let units = self.store.org_units(caller.scope.prefix()).await?;
        let hidden = scope_depth(caller.scope.prefix()).saturating_sub(1);
        let path_name = |path: &str| -> String {
            path.split('/')
                .filter_map(|id| id.parse::<i64>().ok())
                .skip(hidden)
                .filter_map(|id| units.iter().find(|u| u.id == id))
                .map(|u| u.name.as_str())
                .collect::<Vec<_>>()
                .join(" / ")
        };
        let by_unit = self
            .store
            .report_by_unit(&r)
            .await?
            .into_iter()
            .map(|u| ReportRow {
                label: path_name(&u.path),
                count: u.count,
            })
            .collect();
        let this_month = month_of_day(now.unix().div_euclid(86_400));
        let mut horizon = this_month;
        for _ in 0..EXPIRY_MONTHS {
            horizon = next_month(horizon);
        }
        let expiring = self
            .store
            .report_expiring_by_day(&r, now, month_start(horizon))
            .await?;
        let sections = vec![
            ReportSection {
                grouping: Grouping::Status,
                rows: plain(self.store.report_by_status(&r, now).await?),
            },
            ReportSection {
                grouping: Grouping::Profile,
                rows: plain(self.store.report_by_profile(&r).await?),
            },
            ReportSection {
                grouping: Grouping::Unit,
                rows: by_unit,
            },
            ReportSection {
                grouping: Grouping::IssuedMonth,
                rows: by_month(&self.store.report_issued_by_day(&r).await?, None),
            },
            ReportSection {
                grouping: Grouping::ExpiringMonth,
                rows: by_month(&expiring, Some((this_month, EXPIRY_MONTHS))),
            },
        ];
        Ok(Report {
            at: now,
            from,
            until,
            sections,
        })
    }

    /// The report as a file in `format`; the export is audited.
    pub async fn export_report(
        &self,
        caller: &Caller,
        from: Option<Timestamp>,
        until: Option<Timestamp>,
        format: ReportFormat,
    ) -> Result<Vec<u8>, RaError> {
        self.require(caller, Permission::ViewRequests, "report.export")
            .await?;
        let report = self.report(caller, from, until).await?;
        let bytes = match format {
            ReportFormat::Csv => to_csv(&report).into_bytes(),
            ReportFormat::Xlsx => xlsx::workbook(&report)?,
        };
        let text = |t: Option<Timestamp>| t.map(|t| t.to_string()).unwrap_or_default();
        self.audit
            .record(
                &AuditEvent::by(caller, "report.export")
                    .detail("format", format.as_str())
                    .detail("from", text(from))
                    .detail("until", text(until))
                    .detail(
                        "rows",
                        report.sections.iter().map(|s| s.rows.len()).sum::<usize>(),
                    ),
            )
            .await?;
        Ok(bytes)
    }
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

/// The report as one CSV file: header `grouping,label,count`, CRLF line
/// ends, a UTF-8 byte order mark (spreadsheets then read unit names in
/// Chinese correctly).
pub fn to_csv(report: &Report) -> String {
    let mut out = String::from("\u{feff}grouping,label,count\r\n");
    for s in &report.sections {
        for r in &s.rows {
            out.push_str(&format!(
                "{},{},{}\r\n",
                s.grouping.as_str(),
                csv_field(&r.label),
                r.count
            ));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn days_fold_into_calendar_months() {
        // 2026-01-31 and 2026-02-01, and 2026-04-15: March shown as 0.
        let jan31 = 20_484;
        let rows = by_month(&[(jan31, 2), (jan31 + 1, 3), (jan31 + 74, 1)], None);
        let got: Vec<(String, i64)> = rows.into_iter().map(|r| (r.label, r.count)).collect();
        assert_eq!(
            got,
            vec![
                ("2026-01".to_owned(), 2),
                ("2026-02".to_owned(), 3),
                ("2026-03".to_owned(), 0),
                ("2026-04".to_owned(), 1)
            ]
        );
        let span = by_month(&[], Some(((2026, 11), 3)));
        let labels: Vec<&str> = span.iter().map(|r| r.label.as_str()).collect();
        assert_eq!(labels, ["2026-11", "2026-12", "2027-01"]);
        assert_eq!(month_start((2027, 1)).to_string(), "2027-01-01T00:00:00Z");
    }

    #[test]
    fn scopes_know_their_depth() {
        assert_eq!(scope_depth(&ScopePrefix::all()), 0);
        let unit = |path: &str| signet_store::ra::OrgUnit {
            id: 4,
            parent_id: Some(1),
            name: "R&D".into(),
            path: path.into(),
            created_at: Timestamp::EPOCH,
        };
        assert_eq!(scope_depth(&ScopePrefix::under(&unit("/1/"))), 1);
        assert_eq!(scope_depth(&ScopePrefix::under(&unit("/1/4/"))), 2);
    }

    #[test]
    fn csv_is_quoted_and_defused() {
        let report = Report {
            at: Timestamp::EPOCH,
            from: None,
            until: None,
            sections: vec![ReportSection {
                grouping: Grouping::Unit,
                rows: vec![ReportRow {
                    label: "=HYPERLINK(\"x\")".into(),
                    count: 3,
                }],
            }],
        };
        assert_eq!(
            to_csv(&report),
            "\u{feff}grouping,label,count\r\nunit,\"'=HYPERLINK(\"\"x\"\")\",3\r\n"
        );
    }
}
