//! The ledger as CSV (RFC 4180): UTF-8 with a byte order mark so Excel shows Chinese correctly, one
//! record per task. `lon`/`lat` is a point on the task (inside an area, on a line), `wkt` the
//! geometry, both WGS 84; times are UTC (RFC 3339).

use chrono::{DateTime, SecondsFormat, Utc};

use crate::domain::export::{BOM, csv_field, csv_text};
use crate::store::export::LedgerRow;

/// Columns everyone gets.
const PUBLIC: &[&str] = &[
    "id",
    "code",
    "title",
    "category",
    "category_name",
    "status",
    "progress",
    "township",
    "township_name",
    "lead_unit",
    "lead_department",
    "lead_department_name",
    "support_departments",
    "due_date",
    "overdue",
    "planned_investment",
    "actual_investment",
    "target_quantity",
    "target_unit",
    "visibility",
    "supervised",
    "completed_at",
    "verified_at",
    "last_report_at",
    "created_at",
    "updated_at",
    "description",
    "lon",
    "lat",
    "wkt",
];
/// Columns for logged-in callers, filled for the tasks they may see in full.
const PRIVATE: &[&str] = &["contact_person", "contact_phone", "return_reason", "cancel_reason"];

fn time(t: Option<DateTime<Utc>>) -> String {
    t.map(|t| t.to_rfc3339_opts(SecondsFormat::Secs, true)).unwrap_or_default()
}

fn num(x: Option<f64>) -> String {
    x.map(|x| x.to_string()).unwrap_or_default()
}

/// One task as a CSV record (with its line break), appended to `out`.
pub fn record(out: &mut String, r: LedgerRow, private_columns: bool) {
    let p = &r.public;
    let supporting = p.support_departments.join(";");
    let fields: [std::borrow::Cow<'_, str>; 30] = [
        r.id.to_string().into(),
        csv_field(&p.code),
        csv_text(&p.title),
        csv_field(&p.category),
        csv_field(&r.category_name),
        csv_field(&p.status),
        p.progress.to_string().into(),
        csv_field(&p.township),
        csv_field(&p.township_name),
        csv_text(&p.lead_unit),
        p.lead_department.as_deref().map(csv_field).unwrap_or_default(),
        p.lead_department_name.as_deref().map(csv_text).unwrap_or_default(),
        // Codes separated by semicolons: one cell, as spreadsheets split lists.
        csv_field(&supporting),
        p.due_date.map(|d| d.to_string()).unwrap_or_default().into(),
        p.overdue.to_string().into(),
        num(p.planned_investment).into(),
        num(p.actual_investment).into(),
        num(p.target_quantity).into(),
        p.target_unit.as_deref().map(csv_text).unwrap_or_default(),
        csv_field(&p.visibility),
        p.supervised.to_string().into(),
        time(p.completed_at).into(),
        time(p.verified_at).into(),
        time(p.last_report_at).into(),
        time(Some(p.created_at)).into(),
        time(Some(p.updated_at)).into(),
        csv_text(&p.description),
        r.lon.to_string().into(),
        r.lat.to_string().into(),
        csv_field(&r.wkt),
    ];
    out.push_str(&fields.join(","));
    if private_columns {
        let q = r.private.as_ref();
        for v in [
            q.and_then(|q| q.contact_person.as_deref()),
            q.and_then(|q| q.contact_phone.as_deref()),
            q.and_then(|q| q.return_reason.as_deref()),
            q.and_then(|q| q.cancel_reason.as_deref()),
        ] {
            out.push(',');
            out.push_str(&csv_text(v.unwrap_or("")));
        }
    }
    out.push_str("\r\n");
}

/// The header line, after the byte order mark.
pub fn head(private_columns: bool) -> String {
    let mut head = format!("{BOM}{}", PUBLIC.join(","));
    if private_columns {
        head.push(',');
        head.push_str(&PRIVATE.join(","));
    }
    head.push_str("\r\n");
    head
}
