//! Tasks: reading them as GeoJSON Features, creating, and updating under optimistic concurrency.

use chrono::{DateTime, NaiveDate, Utc};
use serde::Serialize;
use serde_json::value::RawValue;
use sqlx::{Postgres, QueryBuilder};
use uuid::Uuid;

use super::Db;
use crate::domain::filter::TaskFilter;
use crate::domain::task::{NewTask, Status, TaskFields, TaskPatch, Visibility};
use crate::error::{ApiError, FieldError, Result};

/// A task's properties as the API shows them.
#[derive(Debug, Clone, Serialize, sqlx::FromRow, utoipa::ToSchema)]
pub struct TaskProperties {
    /// Human code: family prefix, year, sequence.
    #[schema(example = "WS-2026-0042")]
    pub code: String,
    #[schema(example = "青溪河城东段河道清淤及生态护岸工程")]
    pub title: String,
    pub description: String,
    #[schema(example = "watershed")]
    pub category: String,
    /// planned, in_progress, completed, verified or cancelled.
    #[schema(example = "in_progress")]
    pub status: String,
    /// Per cent done, 0–100.
    pub progress: i16,
    /// Code of the township the task belongs to.
    #[schema(example = "330599101")]
    pub township: String,
    pub township_name: String,
    /// True when the bureau chose the township instead of the automatic assignment.
    pub township_overridden: bool,
    /// 责任单位, the unit responsible.
    pub lead_unit: String,
    pub contact_person: Option<String>,
    pub contact_phone: Option<String>,
    pub due_date: Option<NaiveDate>,
    /// Past its due date (in the county's time zone) and neither finished nor cancelled.
    pub overdue: bool,
    /// 万元.
    pub planned_investment: Option<f64>,
    /// 万元.
    pub actual_investment: Option<f64>,
    pub target_quantity: Option<f64>,
    #[schema(example = "km")]
    pub target_unit: Option<String>,
    /// public or internal.
    pub visibility: String,
    /// Under supervision (督办) by the bureau.
    pub supervised: bool,
    pub completed_at: Option<DateTime<Utc>>,
    pub verified_at: Option<DateTime<Utc>>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    /// Increases with every change; the ETag is built from it.
    pub version: i32,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct TaskFeature {
    #[serde(rename = "type")]
    #[schema(example = "Feature")]
    pub kind: &'static str,
    pub id: Uuid,
    /// GeoJSON geometry, WGS 84 longitude/latitude.
    #[schema(value_type = Object)]
    pub geometry: Box<RawValue>,
    pub properties: TaskProperties,
}

#[derive(sqlx::FromRow)]
struct TaskRow {
    id: Uuid,
    geometry: String,
    #[sqlx(flatten)]
    properties: TaskProperties,
}

impl TryFrom<TaskRow> for TaskFeature {
    type Error = sqlx::Error;
    fn try_from(r: TaskRow) -> Result<Self, sqlx::Error> {
        Ok(TaskFeature {
            kind: "Feature",
            id: r.id,
            geometry: RawValue::from_string(r.geometry).map_err(|e| sqlx::Error::Decode(Box::new(e)))?,
            properties: r.properties,
        })
    }
}

/// Columns of the API's task view. 15 decimals keeps every coordinate exactly as it was sent
/// (PostGIS prints the shortest decimal that reads back as the same double).
const SELECT: &str = "
    SELECT t.id, t.code, t.title, t.description, t.category, t.status, t.progress,
           t.township_code AS township, w.name AS township_name, t.township_overridden,
           t.lead_unit, t.contact_person, t.contact_phone, t.due_date,
           coalesce(t.due_date < current_date AND t.status IN ('planned', 'in_progress'), false) AS overdue,
           t.planned_investment::float8 AS planned_investment,
           t.actual_investment::float8 AS actual_investment,
           t.target_quantity::float8 AS target_quantity, t.target_unit,
           t.visibility, t.supervised, t.completed_at, t.verified_at, t.created_at, t.updated_at, t.version,
           ST_AsGeoJSON(t.geom, 15) AS geometry
    FROM tasks t JOIN townships w ON w.code = t.township_code";

pub async fn get(db: &Db, id: Uuid) -> Result<Option<TaskFeature>, sqlx::Error> {
    let row: Option<TaskRow> = sqlx::query_as(&format!("{SELECT} WHERE t.id = $1")).bind(id).fetch_optional(db).await?;
    row.map(TaskFeature::try_from).transpose()
}

fn push_filter(qb: &mut QueryBuilder<'_, Postgres>, f: &TaskFilter) {
    qb.push(" WHERE true");
    if let Some(b) = f.bbox {
        qb.push(" AND ST_Intersects(t.geom, ST_MakeEnvelope(")
            .push_bind(b.west)
            .push(", ")
            .push_bind(b.south)
            .push(", ")
            .push_bind(b.east)
            .push(", ")
            .push_bind(b.north)
            .push(", 4326))");
    }
    if let Some(c) = &f.categories {
        qb.push(" AND t.category = ANY(").push_bind(c.clone()).push(")");
    }
    if let Some(s) = &f.statuses {
        let names: Vec<&str> = s.iter().map(|s| s.as_str()).collect();
        qb.push(" AND t.status = ANY(").push_bind(names).push(")");
    }
    if let Some(t) = &f.townships {
        qb.push(" AND t.township_code = ANY(").push_bind(t.clone()).push(")");
    }
    if let Some(o) = f.overdue {
        qb.push(" AND coalesce(t.due_date < current_date AND t.status IN ('planned', 'in_progress'), false) = ")
            .push_bind(o);
    }
    if let Some(s) = f.supervised {
        qb.push(" AND t.supervised = ").push_bind(s);
    }
    if let Some(q) = &f.q {
        let escaped = q.replace('\\', "\\\\").replace('%', "\\%").replace('_', "\\_");
        qb.push(" AND (t.code ILIKE ")
            .push_bind(format!("{escaped}%"))
            .push(" OR t.title ILIKE ")
            .push_bind(format!("%{escaped}%"))
            .push(")");
    }
}

/// One page of tasks matching the filter, in code order, and how many match in all.
pub async fn list(db: &Db, f: &TaskFilter) -> Result<(Vec<TaskFeature>, i64), sqlx::Error> {
    let mut count = QueryBuilder::new("SELECT count(*) FROM tasks t");
    push_filter(&mut count, f);
    let matched: i64 = count.build_query_scalar().fetch_one(db).await?;

    let mut page = QueryBuilder::new(SELECT);
    push_filter(&mut page, f);
    page.push(" ORDER BY t.code LIMIT ").push_bind(f.limit).push(" OFFSET ").push_bind(f.offset);
    let rows: Vec<TaskRow> = page.build_query_as().fetch_all(db).await?;
    let features = rows.into_iter().map(TaskFeature::try_from).collect::<Result<_, _>>()?;
    Ok((features, matched))
}

/// Turns a foreign-key refusal into the field the caller got wrong.
async fn explain_reference_error(db: &Db, err: sqlx::Error, f: &TaskFields) -> ApiError {
    if let sqlx::Error::Database(e) = &err {
        match e.constraint() {
            Some("tasks_category_fkey" | "task_code_counters_category_fkey") => {
                let known = super::categories::list(db)
                    .await
                    .map(|cs| cs.into_iter().map(|c| c.code).collect::<Vec<_>>().join(", "))
                    .unwrap_or_default();
                return ApiError::invalid_field(
                    "/properties/category",
                    format!("unknown category '{}'; categories are: {known}", f.category),
                );
            }
            Some("tasks_township_code_fkey") => {
                return ApiError::invalid_field(
                    "/properties/township",
                    format!("unknown township '{}'", f.township_override.as_deref().unwrap_or("")),
                );
            }
            _ => {}
        }
    }
    err.into()
}

/// What an insert or update stored.
#[derive(Debug, Clone, Copy)]
pub struct Stored {
    pub id: Uuid,
    pub version: i32,
}

/// Creates a task. `id` is for loaders that keep stable ids; the API lets the database choose.
pub async fn insert<'e>(db: &Db, conn: impl sqlx::PgExecutor<'e>, id: Option<Uuid>, t: &NewTask) -> Result<Stored> {
    super::geometry::check_valid(db, &t.geometry).await?;
    let f = &t.fields;
    let row: Result<(Uuid, i32), sqlx::Error> = sqlx::query_as(
        "INSERT INTO tasks (id, geom, title, description, category, status, progress, lead_unit,
                            contact_person, contact_phone, due_date, planned_investment, actual_investment,
                            target_quantity, target_unit, visibility, supervised, township_code,
                            township_overridden, completed_at)
         VALUES (coalesce($1, gen_random_uuid()), ST_GeomFromGeoJSON($2), $3, $4, $5, $6, $7, $8, $9, $10, $11,
                 $12::float8, $13::float8, $14::float8, $15, $16, $17, $18, $18 IS NOT NULL, $19)
         RETURNING id, version",
    )
    .bind(id)
    .bind(t.geometry.to_geojson())
    .bind(&f.title)
    .bind(&f.description)
    .bind(&f.category)
    .bind(f.status.as_str())
    .bind(f.progress)
    .bind(&f.lead_unit)
    .bind(&f.contact_person)
    .bind(&f.contact_phone)
    .bind(f.due_date)
    .bind(f.planned_investment)
    .bind(f.actual_investment)
    .bind(f.target_quantity)
    .bind(&f.target_unit)
    .bind(f.visibility.as_str())
    .bind(f.supervised)
    .bind(&f.township_override)
    .bind(f.completed_at)
    .fetch_one(conn)
    .await;
    match row {
        Ok((id, version)) => Ok(Stored { id, version }),
        Err(e) => Err(explain_reference_error(db, e, f).await),
    }
}

#[derive(sqlx::FromRow)]
struct FieldsRow {
    title: String,
    description: String,
    category: String,
    status: String,
    progress: i16,
    lead_unit: String,
    contact_person: Option<String>,
    contact_phone: Option<String>,
    due_date: Option<NaiveDate>,
    planned_investment: Option<f64>,
    actual_investment: Option<f64>,
    target_quantity: Option<f64>,
    target_unit: Option<String>,
    visibility: String,
    supervised: bool,
    township_code: String,
    township_overridden: bool,
    completed_at: Option<DateTime<Utc>>,
    version: i32,
}

impl FieldsRow {
    fn into_fields(self) -> TaskFields {
        TaskFields {
            title: self.title,
            description: self.description,
            category: self.category,
            // The table's CHECK constraints admit only known values.
            status: Status::parse(&self.status).unwrap_or(Status::Planned),
            progress: self.progress,
            lead_unit: self.lead_unit,
            contact_person: self.contact_person,
            contact_phone: self.contact_phone,
            due_date: self.due_date,
            planned_investment: self.planned_investment,
            actual_investment: self.actual_investment,
            target_quantity: self.target_quantity,
            target_unit: self.target_unit,
            visibility: Visibility::parse(&self.visibility).unwrap_or(Visibility::Public),
            supervised: self.supervised,
            township_override: self.township_overridden.then_some(self.township_code),
            completed_at: self.completed_at,
        }
    }
}

/// The result of a conditional update.
pub enum Update {
    Done(Stored),
    /// The task changed since the caller read it: nothing was written.
    Stale {
        current_version: i32,
    },
    NotFound,
}

/// Applies `patch` if the task is still at `expected_version`. The row is locked for the read-merge-
/// write, so two concurrent writers with the same version cannot both succeed.
pub async fn update(db: &Db, id: Uuid, expected_version: i32, patch: &TaskPatch, now: DateTime<Utc>) -> Result<Update> {
    let mut tx = db.begin().await?;
    let current: Option<FieldsRow> = sqlx::query_as(
        "SELECT title, description, category, status, progress, lead_unit, contact_person, contact_phone,
                due_date, planned_investment::float8 AS planned_investment,
                actual_investment::float8 AS actual_investment, target_quantity::float8 AS target_quantity,
                target_unit, visibility, supervised, township_code, township_overridden, completed_at, version
         FROM tasks WHERE id = $1 FOR UPDATE",
    )
    .bind(id)
    .fetch_optional(&mut *tx)
    .await?;
    let Some(current) = current else { return Ok(Update::NotFound) };
    if current.version != expected_version {
        return Ok(Update::Stale { current_version: current.version });
    }
    let merged = patch.apply(&current.into_fields(), now).map_err(ApiError::invalid)?;
    if let Some(g) = &patch.geometry {
        super::geometry::check_valid(db, g).await?;
    }
    let f = &merged;
    let row: Result<i32, sqlx::Error> = sqlx::query_scalar(
        "UPDATE tasks SET geom = coalesce(ST_GeomFromGeoJSON($2), geom), title = $3, description = $4,
                category = $5, status = $6, progress = $7, lead_unit = $8, contact_person = $9,
                contact_phone = $10, due_date = $11, planned_investment = $12::float8,
                actual_investment = $13::float8, target_quantity = $14::float8, target_unit = $15,
                visibility = $16, supervised = $17,
                township_code = coalesce($18, township_code), township_overridden = $18 IS NOT NULL,
                completed_at = $19
         WHERE id = $1
         RETURNING version",
    )
    .bind(id)
    .bind(patch.geometry.as_ref().map(|g| g.to_geojson()))
    .bind(&f.title)
    .bind(&f.description)
    .bind(&f.category)
    .bind(f.status.as_str())
    .bind(f.progress)
    .bind(&f.lead_unit)
    .bind(&f.contact_person)
    .bind(&f.contact_phone)
    .bind(f.due_date)
    .bind(f.planned_investment)
    .bind(f.actual_investment)
    .bind(f.target_quantity)
    .bind(&f.target_unit)
    .bind(f.visibility.as_str())
    .bind(f.supervised)
    .bind(&f.township_override)
    .bind(f.completed_at)
    .fetch_one(&mut *tx)
    .await;
    let version = match row {
        Ok(v) => v,
        Err(e) => return Err(explain_reference_error(db, e, f).await),
    };
    tx.commit().await?;
    Ok(Update::Done(Stored { id, version }))
}

/// Refuses filter values that name no category or township, instead of answering "nothing found".
pub async fn check_filter(db: &Db, f: &TaskFilter) -> Result<()> {
    let mut errors = Vec::new();
    if let Some(cats) = &f.categories {
        let known: Vec<String> = super::categories::list(db).await?.into_iter().map(|c| c.code).collect();
        for c in cats.iter().filter(|c| !known.contains(c)) {
            errors.push(FieldError::new(
                "category",
                format!("unknown category '{c}'; categories are: {}", known.join(", ")),
            ));
        }
    }
    if let Some(codes) = &f.townships {
        for c in super::townships::unknown_codes(db, codes).await? {
            errors.push(FieldError::new("township", format!("unknown township '{c}'")));
        }
    }
    if errors.is_empty() { Ok(()) } else { Err(ApiError::bad_query(errors)) }
}
