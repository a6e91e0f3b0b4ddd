//! Every task the viewer may see, in code order, for the exports: read with one statement and handed
//! over row by row through a small channel, so an export of a million tasks never holds them all
//! and a slow client slows the reading instead of filling memory.

use chrono::NaiveDateTime;
use futures_util::TryStreamExt;
use serde_json::value::RawValue;
use sqlx::{Postgres, QueryBuilder};
use tokio::sync::mpsc;
use uuid::Uuid;

use super::Db;
use super::tasks::{PrivateProperties, PublicProperties, TaskFeature, TaskProperties, push_visibility};
use crate::domain::access::{Unit, Viewer};

/// Rows read ahead of the client.
const AHEAD: usize = 1024;

/// A task as the ledger (CSV, XLSX) shows it.
#[derive(Debug)]
pub struct LedgerRow {
    pub id: Uuid,
    pub public: PublicProperties,
    /// None when the viewer may not see them (another township's task, or the public).
    pub private: Option<PrivateProperties>,
    /// The category's Chinese name.
    pub category_name: String,
    /// The supporting departments' Chinese names, in the task's order, joined by 、.
    pub support_names: String,
    /// A point on the task (inside an area, on a line), WGS 84.
    pub lon: f64,
    pub lat: f64,
    /// The geometry as WKT, WGS 84 longitude/latitude.
    pub wkt: String,
    /// Times in the county's time zone, for spreadsheets (which have no time zones).
    pub completed_local: Option<NaiveDateTime>,
    pub verified_local: Option<NaiveDateTime>,
    pub last_report_local: Option<NaiveDateTime>,
    pub created_local: NaiveDateTime,
}

#[derive(sqlx::FromRow)]
struct Row {
    id: Uuid,
    #[sqlx(flatten)]
    public: PublicProperties,
    #[sqlx(flatten)]
    private: PrivateProperties,
    category_name: String,
    support_names: String,
    geometry: Option<String>,
    wkt: Option<String>,
    lon: Option<f64>,
    lat: Option<f64>,
    completed_local: Option<NaiveDateTime>,
    verified_local: Option<NaiveDateTime>,
    last_report_local: Option<NaiveDateTime>,
    created_local: NaiveDateTime,
}

/// The public and private properties as the task API reads them (see `store::tasks`), plus what the
/// chosen format needs. Casting a timestamptz to timestamp gives the county's wall-clock time, as the
/// session's time zone is the county's.
fn query(viewer: &Viewer, ledger: bool) -> QueryBuilder<'static, Postgres> {
    let shape = if ledger {
        "NULL::text AS geometry, ST_AsText(t.geom, 15) AS wkt,
         ST_X(ST_PointOnSurface(t.geom)) AS lon, ST_Y(ST_PointOnSurface(t.geom)) AS lat"
    } else {
        "ST_AsGeoJSON(t.geom, 15) AS geometry, NULL::text AS wkt, NULL::float8 AS lon, NULL::float8 AS lat"
    };
    // Runtime-checked: the geometry's shape per format and the viewer's filters are chosen at run time.
    let mut qb = QueryBuilder::new(format!(
        "SELECT t.id, t.code, t.title, t.description, t.category, c.name_zh AS category_name, t.status, t.progress,
                t.township_code AS township, w.name AS township_name, t.township_overridden,
                t.lead_unit, t.lead_department, dp.name_zh AS lead_department_name, t.support_departments,
                coalesce((SELECT string_agg(d.name_zh, '、' ORDER BY array_position(t.support_departments, d.code))
                          FROM departments d WHERE d.code = ANY (t.support_departments)), '') AS support_names,
                t.contact_person, t.contact_phone, t.due_date,
                {overdue} AS overdue,
                t.planned_investment::float8 AS planned_investment,
                t.actual_investment::float8 AS actual_investment,
                t.target_quantity::float8 AS target_quantity, t.target_unit,
                t.visibility, t.supervised, t.completed_at, t.verified_at, t.last_report_at,
                t.created_at, t.updated_at, t.version, t.return_reason, t.cancel_reason,
                t.completed_at::timestamp AS completed_local, t.verified_at::timestamp AS verified_local,
                t.last_report_at::timestamp AS last_report_local, t.created_at::timestamp AS created_local,
                {shape}
         FROM tasks t JOIN townships w ON w.code = t.township_code JOIN categories c ON c.code = t.category
              LEFT JOIN departments dp ON dp.code = t.lead_department
         WHERE true",
        overdue = *super::tasks::OVERDUE
    ));
    push_visibility(&mut qb, viewer);
    qb.push(" ORDER BY t.code");
    qb
}

/// Runs the export's one statement in a task of its own and sends each row, as `map` turns it, into
/// the returned channel. The reading stops when the receiver is dropped (the client went away) or
/// after the first error, which is sent on.
fn read<T: Send + 'static>(
    db: Db,
    viewer: Viewer,
    ledger: bool,
    map: fn(Row, &Viewer) -> Result<T, sqlx::Error>,
) -> mpsc::Receiver<Result<T, sqlx::Error>> {
    let (tx, rx) = mpsc::channel(AHEAD);
    tokio::spawn(async move {
        let mut qb = query(&viewer, ledger);
        let mut rows = qb.build_query_as::<Row>().fetch(&db);
        loop {
            let item = match rows.try_next().await {
                Ok(Some(row)) => map(row, &viewer),
                Ok(None) => break,
                Err(e) => Err(e),
            };
            let failed = item.is_err();
            if tx.send(item).await.is_err() || failed {
                break;
            }
        }
    });
    rx
}

/// The ledger rows of every task the viewer may see.
pub fn ledger(db: Db, viewer: Viewer) -> mpsc::Receiver<Result<LedgerRow, sqlx::Error>> {
    read(db, viewer, true, |r, viewer| {
        let private = viewer
            .sees_private(Unit::new(&r.public.township, r.public.lead_department.as_deref()))
            .then_some(r.private);
        Ok(LedgerRow {
            id: r.id,
            public: r.public,
            private,
            category_name: r.category_name,
            support_names: r.support_names,
            lon: r.lon.unwrap_or_default(),
            lat: r.lat.unwrap_or_default(),
            wkt: r.wkt.unwrap_or_default(),
            completed_local: r.completed_local,
            verified_local: r.verified_local,
            last_report_local: r.last_report_local,
            created_local: r.created_local,
        })
    })
}

/// Every task the viewer may see as the Feature the task API returns.
pub fn features(db: Db, viewer: Viewer) -> mpsc::Receiver<Result<TaskFeature, sqlx::Error>> {
    read(db, viewer, false, |r, viewer| {
        let private = viewer
            .sees_private(Unit::new(&r.public.township, r.public.lead_department.as_deref()))
            .then_some(r.private);
        let geometry =
            RawValue::from_string(r.geometry.unwrap_or_default()).map_err(|e| sqlx::Error::Decode(Box::new(e)))?;
        Ok(TaskFeature {
            kind: "Feature",
            id: r.id,
            geometry,
            properties: TaskProperties { public: r.public, private },
        })
    })
}

/// Category codes and Chinese names, in the ledger's order.
pub async fn categories(db: &Db) -> Result<Vec<(String, String)>, sqlx::Error> {
    let rows = sqlx::query!("SELECT code, name_zh FROM categories ORDER BY sort_order, code").fetch_all(db).await?;
    Ok(rows.into_iter().map(|r| (r.code, r.name_zh)).collect())
}
