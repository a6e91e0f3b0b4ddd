//! The bureau's spreadsheet ledger into the database: the rows, read by `domain::ledger` with what
//! the database knows (categories, townships, the county's clock), go through the bulk import of
//! GeoJSON features (`store::import`), so they are checked and stored exactly as features are; its
//! refusals are then told at the spreadsheet's cells.

use chrono::{DateTime, NaiveDateTime, Utc};
use serde::Serialize;
use sqlx::PgConnection;
use uuid::Uuid;

use super::Db;
use super::import::{self, ImportReport};
use crate::domain::chinacoords::Datum;
use crate::domain::import::Mode;
use crate::domain::ledger::cells::Lookups;
use crate::domain::ledger::headers::{ColumnUse, Plan};
use crate::domain::ledger::rows::{self, RowFailure};
use crate::domain::ledger::{Options, Table};

/// A row stored, or in a dry run one that would be.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct CreatedRow {
    /// The row as the spreadsheet numbers it.
    pub row: u32,
    pub title: String,
    /// The township the task goes to.
    pub township: String,
    /// The task's code (in a dry run, the code it would be given if imported now).
    pub code: String,
    /// The task's id; absent in a dry run.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub id: Option<Uuid>,
}

/// What an import of a ledger did, or in a dry run would do.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct LedgerReport {
    pub file: String,
    /// `xlsx` or `csv`.
    pub format: &'static str,
    /// The worksheet read (Excel).
    pub sheet: Option<String>,
    /// How a CSV file's text was decoded: `UTF-8` or `GBK`.
    pub encoding: Option<&'static str>,
    /// The datum positions were read in (wgs84, gcj02, bd09); they are stored in WGS 84.
    pub coords: &'static str,
    /// `all` (nothing is stored unless every row is valid) or `partial`.
    pub mode: &'static str,
    /// True when nothing was stored: the answer says what an import would do.
    pub dry_run: bool,
    /// Rows read below the header row (blank rows are skipped).
    pub rows: usize,
    /// Tasks stored (0 in a dry run).
    pub imported: usize,
    /// Every named column of the sheet: the field it fills, or why it is ignored.
    pub columns: Vec<ColumnUse>,
    /// The tasks stored; in a dry run, every row that passes all checks (with mode all they are
    /// stored only once no row fails).
    pub created: Vec<CreatedRow>,
    /// The rows refused, each with every problem at its cell.
    pub failed: Vec<RowFailure>,
}

/// What reading `table`'s rows needs from the database.
pub async fn lookups(db: &Db, table: &Table, plan: &Plan) -> Result<Lookups, sqlx::Error> {
    let categories = super::categories::list(db).await?.into_iter().map(|c| (c.code, c.name_zh, c.name_en)).collect();
    let townships = super::townships::names(db).await?;
    let local = rows::local_times(table, plan);
    let instants = county_instants(db, &local).await?;
    Ok(Lookups { categories, townships, local_times: local.into_iter().zip(instants).collect() })
}

/// The instants the county's clock shows as `local` (the connections' time zone is the county's).
async fn county_instants(db: &Db, local: &[NaiveDateTime]) -> Result<Vec<DateTime<Utc>>, sqlx::Error> {
    if local.is_empty() {
        return Ok(Vec::new());
    }
    sqlx::query_scalar!(
        r#"SELECT u.t::timestamptz AS "at!" FROM unnest($1::timestamp[]) WITH ORDINALITY AS u(t, i) ORDER BY u.i"#,
        local
    )
    .fetch_all(db)
    .await
}

/// Reads, checks and (unless some row fails in mode all) stores `table`'s rows in `tx`. A dry run
/// is the same work in a transaction the caller rolls back.
pub async fn import(
    db: &Db,
    tx: &mut PgConnection,
    table: &Table,
    plan: &Plan,
    options: &Options,
    actor: Option<Uuid>,
    progress: impl Fn(&str, usize, usize),
) -> Result<LedgerReport, sqlx::Error> {
    let lookups = lookups(db, table, plan).await?;
    let parsed = rows::tasks(table, plan, &lookups, options.datum, Utc::now());
    // The rows' positions are in WGS 84 by now. A dry run goes through every valid row (in a
    // transaction rolled back) to say what each would become.
    let mode = if options.dry_run { Mode::Partial } else { options.mode };
    let bulk = crate::domain::import::Options { mode, datum: Datum::Wgs84, accept_outside: false };
    let report = import::import(db, tx, parsed, bulk, actor, progress).await?;
    Ok(ledger_report(table, plan, options, report))
}

fn ledger_report(table: &Table, plan: &Plan, options: &Options, report: ImportReport) -> LedgerReport {
    let created = report
        .created
        .into_iter()
        .map(|c| CreatedRow {
            row: table.rows[c.index].number,
            title: rows::title(table, plan, c.index),
            township: c.township,
            code: c.code,
            id: (!options.dry_run).then_some(c.id),
        })
        .collect();
    LedgerReport {
        file: table.file.clone(),
        format: table.format,
        sheet: table.sheet.clone(),
        encoding: table.encoding,
        coords: options.datum.name(),
        mode: if options.mode == Mode::All { "all" } else { "partial" },
        dry_run: options.dry_run,
        rows: table.rows.len(),
        imported: if options.dry_run { 0 } else { report.imported },
        columns: plan.columns.clone(),
        created,
        failed: report.failed.iter().map(|f| rows::locate(table, plan, f)).collect(),
    }
}
