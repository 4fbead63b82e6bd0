//! The audit log in the admin console: `GET /api/admin/audit` (a page of
//! the sign-in log, `auth_events`, or of the admin log, `admin_events`,
//! filtered by user, outcome and time) and `GET /api/admin/audit.csv` (the
//! same search, every row up to [`CSV_MAX_ROWS`], newest first). Exports
//! are themselves recorded in the admin log.

use std::fmt::Write as _;

use shared::admin::{AuditList, AuditLog, AuditQuery, AuditRow, CSV_MAX_ROWS, PAGE_SIZE};
use shared::duo::auth_api::sign::civil_from_days;

use super::admin::Admin;
use super::audit::Refusal;
use super::context::Ctx;
use super::store::{AdminEvent, ConsoleStore};

/// `GET /api/admin/audit`.
///
/// # Errors
/// `internal` for storage.
pub async fn page<S: ConsoleStore>(
    store: &S,
    _admin: &Admin,
    query: &AuditQuery,
) -> Result<AuditList, Refusal> {
    let page = query.page.max(1);
    let offset = (page - 1).saturating_mul(PAGE_SIZE);
    let (rows, total) =
        store.list_audit(query, offset, PAGE_SIZE).await.map_err(Refusal::internal)?;
    Ok(AuditList { rows, total, page, page_size: PAGE_SIZE })
}

/// A CSV export: its file name and its text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Export {
    /// E.g. `audit-sign_ins.csv`.
    pub file_name: String,
    /// RFC 4180, a header line first, CRLF line ends.
    pub csv: String,
    /// Rows written (at most [`CSV_MAX_ROWS`]).
    pub rows: u32,
    /// Rows matching in all.
    pub total: u32,
}

/// `POST /api/admin/audit.csv`: the search's rows as CSV, recorded as an
/// `export_audit` admin action (with the search, never the rows). A
/// request from another origin is refused before anything is read or
/// recorded: a link on another site cannot export in an admin's name.
///
/// # Errors
/// `internal` for storage.
pub async fn export<S: ConsoleStore>(
    store: &S,
    admin: &Admin,
    query: &AuditQuery,
    ctx: &Ctx,
) -> Result<Export, Refusal> {
    // Always the newest first: a download holds the newest rows.
    let query = &AuditQuery { oldest_first: false, ..query.clone() };
    let (rows, total) =
        store.list_audit(query, 0, CSV_MAX_ROWS).await.map_err(Refusal::internal)?;
    let detail: serde_json::Map<String, serde_json::Value> = query
        .to_pairs(false)
        .into_iter()
        .map(|(k, v)| (k.to_owned(), serde_json::Value::String(v)))
        .collect();
    let event = AdminEvent::new(admin.username().to_owned(), "export_audit", ctx)
        .with(&serde_json::Value::Object(detail));
    store.record_admin(&event).await.map_err(Refusal::internal)?;
    let written = u32::try_from(rows.len()).unwrap_or(u32::MAX);
    Ok(Export {
        file_name: format!("audit-{}.csv", query.log.as_str()),
        csv: to_csv(query.log, &rows),
        rows: written,
        total,
    })
}

/// The rows as CSV, with the columns of their log.
pub fn to_csv(log: AuditLog, rows: &[AuditRow]) -> String {
    let mut out = String::with_capacity(64 * (rows.len() + 1));
    match log {
        AuditLog::SignIns => {
            out.push_str(
                "time_utc,username,step,outcome,reason,duo_txid,client_ip,repeats,policy\r\n",
            );
            for row in rows {
                let repeats = row.repeats.to_string();
                line(
                    &mut out,
                    &[
                        &iso8601(row.at),
                        &row.user,
                        &row.event,
                        &row.outcome,
                        &row.reason,
                        row.duo_txid.as_deref().unwrap_or(""),
                        row.client_ip.as_deref().unwrap_or(""),
                        &repeats,
                        row.policy.as_deref().unwrap_or(""),
                    ],
                );
            }
        }
        AuditLog::Admin => {
            out.push_str("time_utc,admin,action,target,detail,client_ip\r\n");
            for row in rows {
                line(
                    &mut out,
                    &[
                        &iso8601(row.at),
                        &row.user,
                        &row.event,
                        row.target.as_deref().unwrap_or(""),
                        &row.reason,
                        row.client_ip.as_deref().unwrap_or(""),
                    ],
                );
            }
        }
    }
    out
}

/// One CSV line: fields quoted when they hold a comma, a quote or a line
/// break; a field a spreadsheet would run as a formula (`=`, `+`, `-`,
/// `@`, tab, CR at its start: usernames as typed by anyone reach this log)
/// gets a leading `'`, as OWASP's CSV-injection advice says.
fn line(out: &mut String, fields: &[&str]) {
    for (i, field) in fields.iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        let formula = field.starts_with(['=', '+', '-', '@', '\t', '\r']);
        let quote = formula || field.contains([',', '"', '\n', '\r']);
        if quote {
            out.push('"');
        }
        if formula {
            out.push('\'');
        }
        for c in field.chars() {
            if c == '"' {
                out.push('"');
            }
            out.push(c);
        }
        if quote {
            out.push('"');
        }
    }
    out.push_str("\r\n");
}

/// `2026-12-01T09:47:56Z` for Unix seconds (proleptic Gregorian, UTC).
pub fn iso8601(at: i64) -> String {
    let (days, secs) = (at.div_euclid(86_400), at.rem_euclid(86_400));
    let (year, month, day) = civil_from_days(days);
    let mut out = String::with_capacity(20);
    let _ = write!(
        out,
        "{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}Z",
        secs / 3600,
        secs % 3600 / 60,
        secs % 60
    );
    out
}
