//! The security audit trail as CSV (RFC 4180, UTF-8 with a byte order mark for Excel), one record
//! per event, newest first; times UTC (RFC 3339).

use chrono::SecondsFormat;

use crate::domain::export::{BOM, csv_field, csv_text};
use crate::store::audit::AuditEntry;

const COLUMNS: &[&str] =
    &["id", "at", "kind", "username", "actor_id", "subject_id", "subject_username", "address", "user_agent", "detail"];

/// The header line, after the byte order mark.
pub fn head() -> String {
    format!("{BOM}{}\r\n", COLUMNS.join(","))
}

/// One event as a CSV record (with its line break), appended to `out`. What a client typed or
/// sent (a username, a user agent) is made safe to open in a spreadsheet.
pub fn record(out: &mut String, e: &AuditEntry) {
    let id = |u: Option<uuid::Uuid>| u.map(|u| u.to_string()).unwrap_or_default();
    let fields: [std::borrow::Cow<'_, str>; 10] = [
        e.id.to_string().into(),
        e.at.to_rfc3339_opts(SecondsFormat::Secs, true).into(),
        csv_field(&e.kind),
        csv_text(&e.username),
        id(e.actor_id).into(),
        id(e.subject_id).into(),
        csv_text(e.subject_username.as_deref().unwrap_or("")),
        csv_field(&e.address),
        csv_text(&e.user_agent),
        csv_text(&e.detail.to_string()).into_owned().into(),
    ];
    out.push_str(&fields.join(","));
    out.push_str("\r\n");
}
