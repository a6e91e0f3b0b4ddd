//! The rollups' SQL: plain counts by (township, category, status), late tasks by days late, and
//! completions by month, over the tasks the viewer may see. What the counts mean is decided in
//! `domain::rollup`.
//!
//! The two counting statements each scan every matching task, so they run at the same time on two
//! connections that share one snapshot (`pg_export_snapshot`): the figures add up as of one
//! instant, and on a million tasks the answer takes about the longer of the two scans, not their
//! sum. When no second connection is free they run one after the other in the same snapshot.

use chrono::{DateTime, NaiveDate, Utc};
use std::time::Duration;

use sqlx::{Postgres, QueryBuilder};

use super::Db;
use super::tasks::push_visibility;
use crate::domain::access::Viewer;
use crate::domain::rollup::{self, Cell, LateCount, MonthCount, Rollup, RollupFilter, STALE_AFTER_DAYS, Township};
use crate::domain::task::Status;

/// "Today" and the stale cut-off as the database sees them (the session's time zone is the
/// county's), fixed once per rollup so both statements judge lateness against the same day.
#[derive(Debug, Clone)]
pub struct Frame {
    pub today: NaiveDate,
    /// Start (county time) of the day `STALE_AFTER_DAYS` before today.
    pub stale_before: DateTime<Utc>,
    snapshot: String,
    township_codes: Vec<String>,
    township_names: Vec<String>,
    department_codes: Vec<String>,
    department_names: Vec<String>,
    categories: Vec<String>,
}

/// What a rollup groups tasks by: the township a task belongs to, or the department leading it
/// (tasks without a lead department are then left out).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum By {
    Township,
    Department,
}

impl By {
    fn column(self) -> &'static str {
        match self {
            By::Township => "t.township_code",
            By::Department => "t.lead_department",
        }
    }
}

impl Frame {
    /// The rows of a rollup grouped `by`: every township, or every department, in their order.
    pub fn units(&self, by: By) -> Vec<Township> {
        let (codes, names) = match by {
            By::Township => (&self.township_codes, &self.township_names),
            By::Department => (&self.department_codes, &self.department_names),
        };
        codes.iter().zip(names).map(|(code, name)| Township { code: code.clone(), name: name.clone() }).collect()
    }

    pub fn categories(&self) -> &[String] {
        &self.categories
    }
}

const REPEATABLE_READ: &str = "BEGIN ISOLATION LEVEL REPEATABLE READ, READ ONLY";

/// The filter's conditions on category, status and supervision.
fn push_common(qb: &mut QueryBuilder<'_, Postgres>, f: &RollupFilter, viewer: &Viewer) {
    push_visibility(qb, viewer);
    if let Some(c) = &f.categories {
        qb.push(" AND t.category = ANY(").push_bind(c.clone()).push(")");
    }
    if let Some(s) = &f.statuses {
        let names: Vec<&str> = s.iter().map(|s| s.as_str()).collect();
        qb.push(" AND t.status = ANY(").push_bind(names).push(")");
    }
    if let Some(s) = f.supervised {
        qb.push(" AND t.supervised = ").push_bind(s);
    }
}

/// `day` lies in the filter's period (either bound may be open).
fn push_in_period(qb: &mut QueryBuilder<'_, Postgres>, day: &str, f: &RollupFilter) {
    qb.push("(true");
    if let Some(from) = f.from {
        qb.push(" AND ").push(day).push(" >= ").push_bind(from);
    }
    if let Some(to) = f.to {
        qb.push(" AND ").push(day).push(" <= ").push_bind(to);
    }
    qb.push(")");
}

/// The township rollup's filter: a task is in the period when its due date or its completion day
/// lies in it.
fn push_rollup_filter(qb: &mut QueryBuilder<'_, Postgres>, f: &RollupFilter, viewer: &Viewer) {
    push_common(qb, f, viewer);
    if f.from.is_some() || f.to.is_some() {
        qb.push(" AND (");
        push_in_period(qb, "t.due_date", f);
        qb.push(" OR ");
        push_in_period(qb, "t.completed_at::date", f);
        qb.push(")");
    }
}

/// Counts by township, category and status. Public for the benchmark, which times the bare SQL.
///
/// Both counting statements run unprepared (`persistent(false)`): after five runs a prepared
/// statement may switch to a generic plan, which for these scans can lose the parallel workers and
/// cannot see how selective a period is; planning afresh costs well under a millisecond.
pub fn cells_query<'a>(f: &RollupFilter, viewer: &Viewer, frame: &Frame, by: By) -> QueryBuilder<'a, Postgres> {
    // Runtime-checked: the rollup's filters and the viewer's visibility are added at run time.
    let mut qb = QueryBuilder::new(format!(
        "SELECT {} AS township, t.category, t.status,
                count(*) AS tasks,
                count(*) FILTER (WHERE t.due_date < ",
        by.column()
    ));
    qb.push_bind(frame.today)
        .push(
            ") AS past_due,
                count(*) FILTER (WHERE t.completed_at::date <= t.due_date) AS on_time,
                count(*) FILTER (WHERE coalesce(t.last_report_at, t.created_at) < ",
        )
        .push_bind(frame.stale_before)
        .push(
            ") AS unreported,
                count(*) FILTER (WHERE t.supervised) AS supervised,
                coalesce(sum(t.planned_investment), 0)::float8 AS planned_investment,
                coalesce(sum(t.actual_investment), 0)::float8 AS actual_investment,
                coalesce(sum(t.length_m), 0) AS length_m,
                coalesce(sum(t.area_m2), 0) AS area_m2
         FROM tasks t WHERE ",
        )
        .push(by.column())
        .push(" IS NOT NULL");
    push_rollup_filter(&mut qb, f, viewer);
    qb.push(" GROUP BY 1, 2, 3");
    qb
}

/// Late tasks by township and days late (see `Figures::median_days_late`). Public for the benchmark.
pub fn late_query<'a>(f: &RollupFilter, viewer: &Viewer, frame: &Frame, by: By) -> QueryBuilder<'a, Postgres> {
    // Runtime-checked: the rollup's filters and the viewer's visibility are added at run time.
    let mut qb = QueryBuilder::new(format!(
        "SELECT township, days, count(*) AS tasks FROM (SELECT {} AS township, CASE WHEN t.completed_at IS NULL THEN ",
        by.column()
    ));
    qb.push_bind(frame.today)
        .push(" - t.due_date ELSE t.completed_at::date - t.due_date END AS days FROM tasks t WHERE t.status <> 'cancelled' AND t.due_date < ")
        .push_bind(frame.today)
        .push(" AND ")
        .push(by.column())
        .push(" IS NOT NULL");
    push_rollup_filter(&mut qb, f, viewer);
    qb.push(") late WHERE days > 0 GROUP BY 1, 2");
    qb
}

#[derive(sqlx::FromRow)]
struct CellRow {
    township: String,
    category: String,
    status: String,
    tasks: i64,
    past_due: i64,
    on_time: i64,
    unreported: i64,
    supervised: i64,
    planned_investment: f64,
    actual_investment: f64,
    length_m: f64,
    area_m2: f64,
}

impl From<CellRow> for Cell {
    fn from(r: CellRow) -> Cell {
        Cell {
            township: r.township,
            category: r.category,
            status: Status::parse(&r.status),
            tasks: r.tasks,
            past_due: r.past_due,
            on_time: r.on_time,
            unreported: r.unreported,
            supervised: r.supervised,
            planned_investment: r.planned_investment,
            actual_investment: r.actual_investment,
            length_m: r.length_m,
            area_m2: r.area_m2,
        }
    }
}

#[derive(sqlx::FromRow)]
struct LateRow {
    township: String,
    days: i32,
    tasks: i64,
}

/// Opens a read-only transaction on `first` and fixes today, the township and category lists and a
/// snapshot other connections can join.
async fn frame(first: &mut super::Opening) -> Result<(sqlx::Transaction<'_, Postgres>, Frame), sqlx::Error> {
    let mut tx = first.begin(REPEATABLE_READ).await?;
    let frame = sqlx::query_as!(
        Frame,
        r#"SELECT current_date AS "today!",
                  (current_date - $1::int4)::timestamptz AS "stale_before!",
                  pg_export_snapshot() AS "snapshot!",
                  ARRAY(SELECT code FROM townships ORDER BY code) AS "township_codes!",
                  ARRAY(SELECT name FROM townships ORDER BY code) AS "township_names!",
                  ARRAY(SELECT code FROM departments ORDER BY sort_order, code) AS "department_codes!",
                  ARRAY(SELECT name_zh FROM departments ORDER BY sort_order, code) AS "department_names!",
                  ARRAY(SELECT code FROM categories ORDER BY sort_order, code) AS "categories!""#,
        STALE_AFTER_DAYS
    )
    .fetch_one(&mut *tx)
    .await?;
    Ok((tx, frame))
}

/// The frame alone, as a rollup made now would fix it.
pub async fn current_frame(db: &Db) -> Result<Frame, sqlx::Error> {
    let mut first = super::Opening::new(db.acquire().await?);
    let (tx, frame) = frame(&mut first).await?;
    tx.commit().await?;
    Ok(frame)
}

/// A second read-only transaction, on `spare`, seeing exactly what the frame's transaction sees.
async fn join_snapshot<'c>(
    spare: &'c mut super::Opening,
    frame: &Frame,
) -> Result<sqlx::Transaction<'c, Postgres>, sqlx::Error> {
    // The id comes from pg_export_snapshot (hex digits and dashes); SET TRANSACTION SNAPSHOT takes
    // no parameters, so check it before it goes into the statement.
    if !frame.snapshot.chars().all(|c| c.is_ascii_hexdigit() || c == '-') {
        return Err(sqlx::Error::Protocol(format!("unexpected snapshot id {:?}", frame.snapshot)));
    }
    // One round trip for both: BEGIN goes out as a simple query, which may hold two statements.
    spare.begin(format!("{REPEATABLE_READ}; SET TRANSACTION SNAPSHOT '{}'", frame.snapshot)).await
}

/// A second connection for the rollup, if one comes quickly. Waiting long for it while holding the
/// first could starve the pool when many rollups run at once; without it, both statements run one
/// after the other on the first connection.
async fn second_connection(db: &Db) -> Option<super::Opening> {
    tokio::time::timeout(Duration::from_millis(50), db.acquire()).await.ok()?.ok().map(super::Opening::new)
}

/// The township rollup of the tasks `viewer` may see that match `f`, and the day it was made for;
/// a 400 when the filter names a category that does not exist.
pub async fn townships(db: &Db, f: &RollupFilter, viewer: &Viewer) -> super::StoreResult<(NaiveDate, Rollup)> {
    rollup_by(db, f, viewer, By::Township).await
}

/// As `townships`, by the department leading each task (tasks without one are left out).
pub async fn departments(db: &Db, f: &RollupFilter, viewer: &Viewer) -> super::StoreResult<(NaiveDate, Rollup)> {
    rollup_by(db, f, viewer, By::Department).await
}

async fn rollup_by(db: &Db, f: &RollupFilter, viewer: &Viewer, by: By) -> super::StoreResult<(NaiveDate, Rollup)> {
    // Both connections are asked for at once. `join!` polls the first one first, so it queues
    // ahead of the spare: a pool with a single free connection gives it to the frame, and the
    // spare gives up after its short wait.
    let (first, mut spare) = tokio::join!(db.acquire(), second_connection(db));
    let mut first = super::Opening::new(first?);
    let (mut main, frame) = frame(&mut first).await?;
    // Checked against the frame's list rather than with a query of its own: one round trip less.
    let unknown = f.unknown_categories(frame.categories());
    if !unknown.is_empty() {
        return Err(super::StoreError::BadQuery(unknown));
    }
    let mut cells_q = cells_query(f, viewer, &frame, by);
    let mut late_q = late_query(f, viewer, &frame, by);
    let (cells, late) = match spare.as_mut() {
        Some(conn) => {
            let mut other = join_snapshot(conn, &frame).await?;
            let both = tokio::try_join!(
                cells_q.build_query_as::<CellRow>().persistent(false).fetch_all(&mut *main),
                late_q.build_query_as::<LateRow>().persistent(false).fetch_all(&mut *other),
            )?;
            tokio::try_join!(main.commit(), other.commit())?;
            both
        }
        None => {
            let cells = cells_q.build_query_as::<CellRow>().persistent(false).fetch_all(&mut *main).await?;
            let late = late_q.build_query_as::<LateRow>().persistent(false).fetch_all(&mut *main).await?;
            main.commit().await?;
            (cells, late)
        }
    };
    let cells: Vec<Cell> = cells.into_iter().map(Cell::from).collect();
    let late: Vec<LateCount> =
        late.into_iter().map(|r| LateCount { township: r.township, days: r.days, tasks: r.tasks }).collect();
    Ok((frame.today, rollup::roll_up(&frame.units(by), frame.categories(), &cells, &late)))
}

/// Township boundaries as GeoJSON geometries, by code.
pub async fn boundaries(db: &Db) -> Result<Vec<(String, String)>, sqlx::Error> {
    let rows = sqlx::query!(r#"SELECT code, ST_AsGeoJSON(boundary, 6) AS "geometry!" FROM townships ORDER BY code"#)
        .fetch_all(db)
        .await?;
    Ok(rows.into_iter().map(|r| (r.code, r.geometry)).collect())
}

#[derive(sqlx::FromRow)]
struct MonthRow {
    month: NaiveDate,
    completed: i64,
    verified: i64,
}

/// Completions and verifications by month (county time) of the tasks `viewer` may see that match
/// `f` (in one township when it names one); the period bounds the day of each event.
pub async fn monthly(db: &Db, f: &RollupFilter, viewer: &Viewer) -> Result<Vec<MonthCount>, sqlx::Error> {
    // Runtime-checked: the rollup's filters and the viewer's visibility are added at run time.
    let mut qb =
        QueryBuilder::new("SELECT month, sum(completed)::int8 AS completed, sum(verified)::int8 AS verified FROM (");
    for (i, (column, counts)) in [("t.completed_at", "1, 0"), ("t.verified_at", "0, 1")].into_iter().enumerate() {
        if i > 0 {
            qb.push(" UNION ALL ");
        }
        qb.push(format!(
            "SELECT date_trunc('month', {column})::date AS month, {counts} FROM tasks t WHERE {column} IS NOT NULL"
        ));
        push_common(&mut qb, f, viewer);
        if let Some(code) = &f.township {
            qb.push(" AND t.township_code = ").push_bind(code.clone());
        }
        qb.push(" AND ");
        push_in_period(&mut qb, &format!("{column}::date"), f);
    }
    qb.push(") AS e (month, completed, verified) GROUP BY month ORDER BY month");
    let rows: Vec<MonthRow> = qb.build_query_as().fetch_all(db).await?;
    Ok(rows.into_iter().map(|r| MonthCount { month: r.month, completed: r.completed, verified: r.verified }).collect())
}

/// The name of a township, if it exists.
pub async fn township_name(db: &Db, code: &str) -> Result<Option<String>, sqlx::Error> {
    sqlx::query_scalar!("SELECT name FROM townships WHERE code = $1", code).fetch_optional(db).await
}
