//! Tasks: reading them as GeoJSON Features (as the viewer may see them), creating, editing under
//! optimistic concurrency, and the bureau's transitions. Every write records its history event in
//! the same transaction.

use std::sync::LazyLock;

use chrono::{DateTime, NaiveDate, Utc};
use serde::Serialize;
use serde_json::value::RawValue;
use sqlx::query_builder::Separated;
use sqlx::{PgConnection, Postgres, QueryBuilder};
use uuid::Uuid;

use super::events::{self, Event};
use super::{Db, StoreError, StoreResult};
use crate::domain::access::{Unit, Viewer};
use crate::domain::codes;
use crate::domain::cql2;
use crate::domain::filter::TaskFilter;
use crate::domain::ogc::Period;
use crate::domain::review;
use crate::domain::task::{NewTask, Status, TaskFields, TaskPatch, Visibility};
use crate::domain::workflow::{self, Action, Lifecycle};

/// A task's properties everyone may see.
#[derive(Debug, Clone, Serialize, sqlx::FromRow, utoipa::ToSchema)]
pub struct PublicProperties {
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
    /// 责任单位, the unit responsible, in words.
    pub lead_unit: String,
    /// Code of the department leading the task (牵头单位); its officers report on it.
    #[schema(example = "water")]
    pub lead_department: Option<String>,
    pub lead_department_name: Option<String>,
    /// Codes of the departments supporting it (配合单位).
    pub support_departments: Vec<String>,
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
    pub last_report_at: Option<DateTime<Utc>>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    /// Increases with every change; the ETag is built from it.
    pub version: i32,
}

/// Properties only bureau staff and the task's own township see.
#[derive(Debug, Clone, Serialize, sqlx::FromRow, utoipa::ToSchema)]
pub struct PrivateProperties {
    pub contact_person: Option<String>,
    pub contact_phone: Option<String>,
    /// Why the bureau sent the work back (退回整改), until it is reported complete again.
    pub return_reason: Option<String>,
    pub cancel_reason: Option<String>,
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct TaskProperties {
    #[serde(flatten)]
    pub public: PublicProperties,
    /// Absent for callers who may not see them.
    #[serde(flatten, skip_serializing_if = "Option::is_none")]
    pub private: Option<PrivateProperties>,
}

/// A task as a GeoJSON Feature, serialised straight from its row (PostGIS's geometry text passed through)
/// rather than a `geojson::Feature`: geojson has no way to carry a geometry as text, so PostGIS's
/// `ST_AsGeoJSON` would be parsed into positions and written out again, and typed properties held as
/// a JSON map. The OGC API converts these into geojson Features (`http::ogc`).
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

impl TaskFeature {
    pub fn version(&self) -> i32 {
        self.properties.public.version
    }

    /// Who answers for the task.
    pub fn unit(&self) -> Unit<'_> {
        Unit::new(&self.properties.public.township, self.properties.public.lead_department.as_deref())
    }
}

#[derive(sqlx::FromRow)]
struct TaskRow {
    id: Uuid,
    geometry: String,
    #[sqlx(flatten)]
    public: PublicProperties,
    #[sqlx(flatten)]
    private: PrivateProperties,
}

impl TaskRow {
    fn into_feature(self, viewer: &Viewer) -> Result<TaskFeature, sqlx::Error> {
        let unit = Unit::new(&self.public.township, self.public.lead_department.as_deref());
        let private = viewer.sees_private(unit).then_some(self.private);
        Ok(TaskFeature {
            kind: "Feature",
            id: self.id,
            geometry: RawValue::from_string(self.geometry).map_err(|e| sqlx::Error::Decode(Box::new(e)))?,
            properties: TaskProperties { public: self.public, private },
        })
    }
}

/// The open statuses (`Status::is_open`) as an SQL list: `'planned', 'in_progress'`.
pub(crate) static OPEN_STATUSES: LazyLock<String> = LazyLock::new(|| {
    let open: Vec<String> =
        Status::ALL.iter().filter(|(_, s)| s.is_open()).map(|(name, _)| format!("'{name}'")).collect();
    open.join(", ")
});

/// Past its due date (in the county's time zone, the session's) and neither finished nor cancelled.
pub(crate) static OVERDUE: LazyLock<String> =
    LazyLock::new(|| format!("coalesce(t.due_date < current_date AND t.status IN ({}), false)", *OPEN_STATUSES));

/// Columns of the API's task view. 15 decimals keeps every coordinate exactly as it was sent
/// (PostGIS prints the shortest decimal that reads back as the same double); on a page of 1,000
/// features it cost under 1 ms more than 6 decimals. The township's name is looked up per row
/// returned, after the sort and limit, rather than joined to every task in the box.
static SELECT: LazyLock<String> = LazyLock::new(|| {
    format!(
        "
    SELECT t.id, t.code, t.title, t.description, t.category, t.status, t.progress,
           t.township_code AS township,
           (SELECT w.name FROM townships w WHERE w.code = t.township_code) AS township_name,
           t.township_overridden,
           t.lead_unit, t.lead_department,
           (SELECT d.name_zh FROM departments d WHERE d.code = t.lead_department) AS lead_department_name,
           t.support_departments, t.contact_person, t.contact_phone, t.due_date,
           {} AS overdue,
           t.planned_investment::float8 AS planned_investment,
           t.actual_investment::float8 AS actual_investment,
           t.target_quantity::float8 AS target_quantity, t.target_unit,
           t.visibility, t.supervised, t.completed_at, t.verified_at, t.last_report_at,
           t.created_at, t.updated_at, t.version, t.return_reason, t.cancel_reason,
           ST_AsGeoJSON(t.geom, 15) AS geometry
    FROM tasks t",
        *OVERDUE
    )
});

/// Restricts to the tasks a viewer may see at all: internal tasks are for staff, their own
/// township and the department leading them only.
pub(crate) fn push_visibility(qb: &mut QueryBuilder<'_, Postgres>, viewer: &Viewer) {
    match viewer {
        Viewer::Staff => {}
        Viewer::Public => {
            qb.push(" AND t.visibility = 'public'");
        }
        Viewer::Township(code) => {
            qb.push(" AND (t.visibility = 'public' OR t.township_code = ").push_bind(code.clone()).push(")");
        }
        Viewer::Department(code) => {
            qb.push(" AND (t.visibility = 'public' OR t.lead_department = ").push_bind(code.clone()).push(")");
        }
    }
}

pub async fn get<'e>(
    conn: impl sqlx::PgExecutor<'e>,
    id: Uuid,
    viewer: &Viewer,
) -> Result<Option<TaskFeature>, sqlx::Error> {
    // Runtime-checked: the viewer's visibility clause is added at run time.
    let mut qb = QueryBuilder::new(SELECT.as_str());
    qb.push(" WHERE t.id = ").push_bind(id);
    push_visibility(&mut qb, viewer);
    let row: Option<TaskRow> = qb.build_query_as().fetch_optional(conn).await?;
    row.map(|r| r.into_feature(viewer)).transpose()
}

/// The column a sortable property is (domain::filter::SORTABLE): names from this table only, never
/// from the request.
fn sort_column(property: &str) -> Option<&'static str> {
    Some(match property {
        "code" => "t.code",
        "title" => "t.title",
        "category" => "t.category",
        "status" => "t.status",
        "progress" => "t.progress",
        "township" => "t.township_code",
        "lead_department" => "t.lead_department",
        "due_date" => "t.due_date",
        "planned_investment" => "t.planned_investment",
        "actual_investment" => "t.actual_investment",
        "target_quantity" => "t.target_quantity",
        "supervised" => "t.supervised",
        "completed_at" => "t.completed_at",
        "verified_at" => "t.verified_at",
        "last_report_at" => "t.last_report_at",
        "created_at" => "t.created_at",
        "updated_at" => "t.updated_at",
        _ => return None,
    })
}

/// The column (or expression) a queryable property is (domain::cql2::TASK_QUERYABLES): names from
/// this table only, never from the request.
fn filter_column(property: &str) -> Option<&'static str> {
    Some(match property {
        "geometry" => "t.geom",
        "township" => "t.township_code",
        "overdue" => OVERDUE.as_str(),
        "code" => "t.code",
        "title" => "t.title",
        "category" => "t.category",
        "status" => "t.status",
        "progress" => "t.progress",
        "lead_department" => "t.lead_department",
        "lead_unit" => "t.lead_unit",
        "due_date" => "t.due_date",
        "supervised" => "t.supervised",
        "planned_investment" => "t.planned_investment",
        "actual_investment" => "t.actual_investment",
        "target_quantity" => "t.target_quantity",
        "completed_at" => "t.completed_at",
        "verified_at" => "t.verified_at",
        "last_report_at" => "t.last_report_at",
        "created_at" => "t.created_at",
        "updated_at" => "t.updated_at",
        "contact_person" => "t.contact_person",
        "contact_phone" => "t.contact_phone",
        _ => return None,
    })
}

/// A checked CQL2 expression as SQL, every value bound.
fn push_cql(qb: &mut QueryBuilder<'_, Postgres>, x: &cql2::Expr) {
    use cql2::Expr;
    // `check` refused unknown names before the query was built; `false` keeps a slip harmless.
    let col = |p: &str| filter_column(p).unwrap_or("false");
    match x {
        Expr::And(xs) | Expr::Or(xs) => {
            let join = if matches!(x, Expr::And(_)) { " AND " } else { " OR " };
            qb.push("(");
            for (i, x) in xs.iter().enumerate() {
                if i > 0 {
                    qb.push(join);
                }
                push_cql(qb, x);
            }
            qb.push(")");
        }
        Expr::Not(x) => {
            qb.push("NOT (");
            push_cql(qb, x);
            qb.push(")");
        }
        Expr::Compare { property, op, value } => {
            qb.push("(").push(col(property)).push(op.sql());
            push_literal(qb, value);
            qb.push(")");
        }
        Expr::Like { property, pattern, casei } => {
            let like = if *casei { " ILIKE " } else { " LIKE " };
            qb.push("(").push(col(property)).push(like).push_bind(pattern.clone()).push(")");
        }
        Expr::In { property, values } => {
            qb.push("(").push(col(property)).push(" IN (");
            for (i, v) in values.iter().enumerate() {
                if i > 0 {
                    qb.push(", ");
                }
                push_literal(qb, v);
            }
            qb.push("))");
        }
        Expr::Between { property, low, high } => {
            qb.push("(").push(col(property)).push(" BETWEEN ");
            push_literal(qb, low);
            qb.push(" AND ");
            push_literal(qb, high);
            qb.push(")");
        }
        Expr::IsNull { property } => {
            qb.push("(").push(col(property)).push(" IS NULL)");
        }
        Expr::Intersects { geometry, .. } => {
            qb.push("ST_Intersects(t.geom, ST_SetSRID(ST_GeomFromGeoJSON(")
                .push_bind(geometry.to_string())
                .push("), 4326))");
        }
    }
}

fn push_literal(qb: &mut QueryBuilder<'_, Postgres>, l: &cql2::Literal) {
    use cql2::Literal;
    match l {
        Literal::Text(s) => qb.push_bind(s.clone()),
        Literal::Number(n) => qb.push_bind(*n),
        Literal::Bool(b) => qb.push_bind(*b),
        // Both were read as such when the filter was parsed.
        Literal::Date(d) => qb.push_bind(d.parse::<NaiveDate>().unwrap_or_default()),
        Literal::Timestamp(t) => qb.push_bind(t.parse::<DateTime<Utc>>().unwrap_or_default()),
        Literal::Geometry(g) => qb.push("ST_SetSRID(ST_GeomFromGeoJSON(").push_bind(g.to_string()).push("), 4326)"),
    };
}

/// ORDER BY the keys asked for, empty values last either way, then by code: codes are unique, so
/// every page follows from the one before.
fn push_order(qb: &mut QueryBuilder<'_, Postgres>, keys: &[crate::domain::filter::SortKey]) {
    qb.push(" ORDER BY ");
    for key in keys {
        if let Some(column) = sort_column(key.property) {
            qb.push(column).push(if key.descending { " DESC NULLS LAST, " } else { " ASC NULLS LAST, " });
        }
    }
    qb.push("t.code");
}

pub(super) fn push_filter(qb: &mut QueryBuilder<'_, Postgres>, f: &TaskFilter, viewer: &Viewer) {
    qb.push(" WHERE true");
    push_visibility(qb, viewer);
    if let Some(b) = f.bbox {
        qb.push(" AND ST_Intersects(t.geom, ");
        super::task_count::push_envelope(qb, &b);
        qb.push(")");
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
    if let Some(d) = &f.departments {
        qb.push(" AND t.lead_department = ANY(").push_bind(d.clone()).push(")");
    }
    if let Some(o) = f.overdue {
        qb.push(format!(" AND {} = ", *OVERDUE)).push_bind(o);
    }
    if let Some(s) = f.supervised {
        qb.push(" AND t.supervised = ").push_bind(s);
    }
    if let Some(x) = &f.cql {
        qb.push(" AND ");
        push_cql(qb, x);
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

/// Only tasks whose lifespan meets `period`: a task lives from its creation until it is finished
/// (completed_at) or cancelled (its last update), or on while it is open.
pub(super) fn push_period(qb: &mut QueryBuilder<'_, Postgres>, period: Option<&Period>) {
    let Some(p) = period else { return };
    if let Some(end) = p.end {
        qb.push(" AND t.created_at <= ").push_bind(end);
    }
    if let Some(start) = p.start {
        qb.push(
            " AND coalesce(t.completed_at, CASE WHEN t.status = 'cancelled' THEN t.updated_at END, 'infinity') >= ",
        )
        .push_bind(start);
    }
}

/// One page of the tasks the viewer may see matching the filter, in code order, and how many
/// match in all (None: more than could be counted quickly, see task_count).
pub async fn list(db: &Db, f: &TaskFilter, viewer: &Viewer) -> Result<(Vec<TaskFeature>, Option<i64>), sqlx::Error> {
    list_in_period(db, f, None, viewer).await
}

/// As `list`, and only tasks whose lifespan meets `period` (see `push_period`).
pub async fn list_in_period(
    db: &Db,
    f: &TaskFilter,
    period: Option<&Period>,
    viewer: &Viewer,
) -> Result<(Vec<TaskFeature>, Option<i64>), sqlx::Error> {
    let mut tx = super::interactive_read(db).await?;
    // Runtime-checked: the filters the request names are added at run time.
    let mut page = QueryBuilder::new(SELECT.as_str());
    push_filter(&mut page, f, viewer);
    push_period(&mut page, period);
    push_order(&mut page, &f.sort);
    page.push(" LIMIT ").push_bind(f.limit).push(" OFFSET ").push_bind(f.offset);
    let rows: Vec<TaskRow> = page.build_query_as().fetch_all(&mut *tx).await?;
    // A page that is not full ends the list, so it tells how many match; only a full page (or an
    // empty one past the end) needs them counted.
    let returned = rows.len() as i64;
    let matched = if returned < f.limit && (returned > 0 || f.offset == 0) {
        Some(f.offset + returned)
    } else {
        super::task_count::matched(&mut tx, f, period, viewer).await?
    };
    tx.commit().await?;
    let features = rows.into_iter().map(|r| r.into_feature(viewer)).collect::<Result<_, _>>()?;
    Ok((features, matched))
}

/// Turns a foreign-key refusal into the field the caller got wrong.
async fn explain_reference_error(db: &Db, err: sqlx::Error, f: &TaskFields) -> StoreError {
    if let sqlx::Error::Database(e) = &err
        && e.code().as_deref() == Some(super::error::DEPARTMENT)
    {
        // The trigger (migrations/0020) names the department; the fields say where it was given.
        let code = e.try_downcast_ref::<sqlx::postgres::PgDatabaseError>().and_then(|e| e.detail()).unwrap_or("");
        let pointer = match f.support_departments.iter().position(|d| d == code) {
            Some(i) if f.lead_department.as_deref() != Some(code) => format!("/properties/support_departments/{i}"),
            _ => "/properties/lead_department".to_owned(),
        };
        return StoreError::BadReference(if e.message().contains("retired") {
            codes::retired_department(&pointer, code)
        } else {
            codes::unknown_department(&pointer, code)
        });
    }
    if let sqlx::Error::Database(e) = &err {
        match e.constraint() {
            Some("tasks_category_fkey" | "task_code_counters_category_fkey") => {
                let known: Vec<String> = super::categories::list(db)
                    .await
                    .map(|cs| cs.into_iter().filter(|c| !c.retired).map(|c| c.code).collect())
                    .unwrap_or_default();
                return StoreError::BadReference(codes::unknown_category("/properties/category", &f.category, &known));
            }
            Some("tasks_township_code_fkey") => {
                let code = f.township_override.as_deref().unwrap_or("");
                return StoreError::BadReference(codes::unknown_township("/properties/township", code));
            }
            Some("tasks_lead_department_fkey") => {
                let code = f.lead_department.as_deref().unwrap_or("");
                return StoreError::BadReference(codes::unknown_department("/properties/lead_department", code));
            }
            _ => {}
        }
    }
    err.into()
}

/// What the tasks' trigger accepted beyond the county's tolerance in this statement (see
/// migrations/0007), for the history; NULL when nothing was.
const OUTSIDE_ACCEPTED: &str = "nullif(current_setting('greenledger.outside_accepted', true), '')::jsonb";

/// The bureau accepts, for the rest of the transaction, geometries beyond the county's tolerance
/// (`outside=accept`); the history records each one.
pub async fn accept_outside(conn: &mut PgConnection) -> Result<(), sqlx::Error> {
    sqlx::query!("SELECT FROM set_config('greenledger.accept_outside', 'on', true)").execute(conn).await?;
    Ok(())
}

/// What an insert or update stored.
#[derive(Debug, Clone, Copy)]
pub struct Stored {
    pub id: Uuid,
    pub version: i32,
}

/// The columns of a task's editable fields, written by both insert and update in the order
/// `push_fields` binds them. Insert and update stay built at run time (every value bound) rather
/// than `query!`: the macros take one literal each, so the column list and its fourteen binds
/// would be written out twice again.
const FIELD_COLUMNS: &str = "title, description, category, progress, lead_unit, contact_person, contact_phone,
    due_date, planned_investment, actual_investment, target_quantity, target_unit, visibility, supervised,
    lead_department, support_departments";

fn push_fields<'a>(values: &mut Separated<'_, 'a, Postgres, &'static str>, f: &'a TaskFields) {
    values
        .push_bind(&f.title)
        .push_bind(&f.description)
        .push_bind(&f.category)
        .push_bind(f.progress)
        .push_bind(&f.lead_unit)
        .push_bind(&f.contact_person)
        .push_bind(&f.contact_phone)
        .push_bind(f.due_date)
        .push_bind(f.planned_investment)
        .push_bind(f.actual_investment)
        .push_bind(f.target_quantity)
        .push_bind(&f.target_unit)
        .push_bind(f.visibility.as_str())
        .push_bind(f.supervised)
        .push_bind(&f.lead_department)
        .push_bind(&f.support_departments);
}

/// Creates a task and its `created` event within the caller's transaction. `id` is for loaders
/// that keep stable ids; the API lets the database choose.
pub async fn insert(
    db: &Db,
    conn: &mut PgConnection,
    id: Option<Uuid>,
    t: &NewTask,
    actor: Option<Uuid>,
) -> StoreResult<Stored> {
    super::geometry::check_valid(&mut *conn, &t.geometry).await?;
    let f = &t.fields;
    let geojson = t.geometry.to_geojson();
    // Runtime-checked: shares FIELD_COLUMNS and its binds with the update (see FIELD_COLUMNS).
    let mut qb = QueryBuilder::new(format!(
        "INSERT INTO tasks (id, geom, status, township_code, township_overridden, completed_at, cancel_reason,
                            created_by, updated_by, {FIELD_COLUMNS}) VALUES ("
    ));
    let mut values = qb.separated(", ");
    values.push("coalesce(").push_bind_unseparated(id).push_unseparated(", gen_random_uuid())");
    values.push("ST_GeomFromGeoJSON(").push_bind_unseparated(&geojson).push_unseparated(")");
    values.push_bind(f.status.as_str());
    values.push_bind(&f.township_override);
    values.push_bind(f.township_override.is_some());
    values.push_bind(f.completed_at).push_bind(&f.cancel_reason).push_bind(actor).push_bind(actor);
    push_fields(&mut values, f);
    qb.push(") RETURNING id, version, township_code, ").push(OUTSIDE_ACCEPTED);
    let row: Result<(Uuid, i32, String, Option<serde_json::Value>), sqlx::Error> =
        qb.build_query_as().fetch_one(&mut *conn).await;
    let (id, version, township, accepted) = match row {
        Ok(r) => r,
        Err(e) => return Err(explain_reference_error(db, e, f).await),
    };
    let mut event = Event::new(id, actor, "created");
    event.status_after = Some(f.status.as_str());
    event.changes = created_changes(f, &township, &geojson, accepted);
    events::record(conn, &event).await?;
    Ok(Stored { id, version })
}

/// What a `created` event keeps: the task's first values, the township it went to, its geometry,
/// and what was accepted beyond the county's bounds.
pub(crate) fn created_changes(
    f: &TaskFields,
    township: &str,
    geojson: &str,
    accepted: Option<serde_json::Value>,
) -> serde_json::Value {
    let mut snapshot = serde_json::to_value(f).unwrap_or_default();
    snapshot["township"] = township.into();
    snapshot["geometry"] = serde_json::from_str(geojson).unwrap_or_default();
    if let Some(accepted) = accepted {
        snapshot["outside_county"] = accepted;
    }
    snapshot
}

/// A task's row as a past written at once left it (the demo loader's year of work, `seed`): when
/// it was created and last changed and by whom, and the workflow's bookkeeping.
pub struct Past<'a> {
    pub created_at: DateTime<Utc>,
    /// The year of its code: the year it was created in, as the trigger numbers tasks made then.
    pub code_year: i32,
    pub updated_at: DateTime<Utc>,
    pub verified_at: Option<DateTime<Utc>>,
    pub last_report_at: Option<DateTime<Utc>>,
    pub version: i32,
    pub accepted_progress: i16,
    pub return_reason: Option<&'a str>,
    pub created_by: Uuid,
    pub updated_by: Uuid,
}

/// Where a task written with its past went.
pub struct Placed {
    pub code: String,
    pub township: String,
    /// Its geometry as GeoJSON, for the `created` event.
    pub geometry: String,
    /// A point on it (PostGIS's point on surface), longitude and latitude.
    pub point: (f64, f64),
}

/// Writes a task as `past` left it, with the fields of `t` as they are now, in `township` (checked
/// set-based before, `demo::townships`), in a transaction from `demo::begin`; its history is the
/// caller's to write. The code is drawn from the counter of the year it was created in, as
/// `tasks_before_write` (migrations/0007) numbers a new task.
pub async fn insert_past(
    db: &Db,
    conn: &mut PgConnection,
    id: Uuid,
    t: &NewTask,
    township: &str,
    past: &Past<'_>,
) -> StoreResult<Placed> {
    let f = &t.fields;
    let geojson = t.geometry.to_geojson();
    // Runtime-checked: shares FIELD_COLUMNS and its binds with the insert (see FIELD_COLUMNS).
    let mut qb = QueryBuilder::new("WITH seq AS (INSERT INTO task_code_counters AS c (category, year, last) VALUES (");
    qb.push_bind(&f.category).push(", ").push_bind(past.code_year);
    qb.push(", 1) ON CONFLICT (category, year) DO UPDATE SET last = c.last + 1 RETURNING last)");
    qb.push(format!(
        " INSERT INTO tasks (id, code, geom, status, township_code, township_overridden, completed_at, cancel_reason,
                             created_by, updated_by, created_at, updated_at, verified_at, last_report_at, version,
                             accepted_progress, return_reason, {FIELD_COLUMNS}) SELECT "
    ));
    let mut values = qb.separated(", ");
    values.push_bind(id);
    values.push("k.prefix || '-' || ").push_bind_unseparated(past.code_year);
    values.push_unseparated(" || '-' || lpad(seq.last::text, greatest(4, length(seq.last::text)), '0')");
    values.push("ST_GeomFromGeoJSON(").push_bind_unseparated(&geojson).push_unseparated(")");
    values.push_bind(f.status.as_str()).push_bind(township).push_bind(f.township_override.is_some());
    values.push_bind(f.completed_at).push_bind(&f.cancel_reason).push_bind(past.created_by).push_bind(past.updated_by);
    values.push_bind(past.created_at).push_bind(past.updated_at).push_bind(past.verified_at);
    values.push_bind(past.last_report_at).push_bind(past.version).push_bind(past.accepted_progress);
    values.push_bind(past.return_reason);
    push_fields(&mut values, f);
    qb.push(" FROM categories k, seq WHERE k.code = ").push_bind(&f.category);
    qb.push(" RETURNING code, township_code, ST_X(ST_PointOnSurface(geom)), ST_Y(ST_PointOnSurface(geom))");
    let row: Result<(String, String, f64, f64), sqlx::Error> = qb.build_query_as().fetch_one(&mut *conn).await;
    match row {
        Ok((code, township, x, y)) => Ok(Placed { code, township, geometry: geojson, point: (x, y) }),
        Err(e) => Err(explain_reference_error(db, e, f).await),
    }
}

impl TaskRow {
    /// The editable fields as the domain's rules see them.
    fn fields(&self) -> TaskFields {
        let p = &self.public;
        TaskFields {
            title: p.title.clone(),
            description: p.description.clone(),
            category: p.category.clone(),
            // The table's CHECK constraints admit only known values.
            status: Status::parse(&p.status).unwrap_or(Status::Planned),
            progress: p.progress,
            lead_unit: p.lead_unit.clone(),
            lead_department: p.lead_department.clone(),
            support_departments: p.support_departments.clone(),
            contact_person: self.private.contact_person.clone(),
            contact_phone: self.private.contact_phone.clone(),
            due_date: p.due_date,
            planned_investment: p.planned_investment,
            actual_investment: p.actual_investment,
            target_quantity: p.target_quantity,
            target_unit: p.target_unit.clone(),
            visibility: Visibility::parse(&p.visibility).unwrap_or(Visibility::Public),
            supervised: p.supervised,
            township_override: p.township_overridden.then(|| p.township.clone()),
            completed_at: p.completed_at,
            cancel_reason: self.private.cancel_reason.clone(),
        }
    }

    fn lifecycle(&self) -> Lifecycle {
        let status = Status::parse(&self.public.status).unwrap_or(Status::Planned);
        Lifecycle { status, supervised: self.public.supervised }
    }
}

/// Locks a task for a read-merge-write and reads it as the API shows it; a task that does not
/// exist, or is no longer at `expected_version`, ends the write before anything is changed.
async fn lock(conn: &mut PgConnection, id: Uuid, expected_version: i32) -> StoreResult<TaskRow> {
    // Runtime-checked: shares the task view's column list (SELECT) with the reads filtered at run time.
    let mut qb = QueryBuilder::new(SELECT.as_str());
    qb.push(" WHERE t.id = ").push_bind(id).push(" FOR UPDATE OF t");
    let row: Option<TaskRow> = qb.build_query_as().fetch_optional(conn).await?;
    let row = row.ok_or_else(|| not_found(id))?;
    if row.public.version != expected_version {
        return Err(StoreError::Stale { current_version: row.public.version });
    }
    Ok(row)
}

pub(crate) fn not_found(id: Uuid) -> StoreError {
    StoreError::NotFound(format!("there is no task {id}"))
}

/// The township a task belongs to, whoever asks: what the caller's rights over it are decided by.
/// Who answers for a task: its township and its lead department (see `Unit`).
pub async fn units_of(db: &Db, id: Uuid) -> StoreResult<(String, Option<String>)> {
    let row =
        sqlx::query!("SELECT township_code, lead_department FROM tasks WHERE id = $1", id).fetch_optional(db).await?;
    row.map(|r| (r.township_code, r.lead_department)).ok_or_else(|| not_found(id))
}

/// Applies `patch` if the task is still at `expected_version`. The row is locked for the read-merge-
/// write, so two concurrent writers with the same version cannot both succeed.
pub async fn update(
    db: &Db,
    id: Uuid,
    expected_version: i32,
    patch: &TaskPatch,
    now: DateTime<Utc>,
    actor: Uuid,
    outside: bool,
) -> StoreResult<Stored> {
    let mut tx = super::begin(db).await?;
    if outside {
        accept_outside(&mut tx).await?;
    }
    let current = lock(&mut tx, id, expected_version).await?;
    let before = current.fields();
    let merged = patch.apply(&before, now).map_err(StoreError::Invalid)?;
    if let Some(g) = &patch.geometry {
        super::geometry::check_valid(&mut *tx, g).await?;
    }
    let f = &merged;
    let new_geometry = patch.geometry.as_ref().map(|g| g.to_geojson());
    // Runtime-checked: shares FIELD_COLUMNS and its binds with the insert (see FIELD_COLUMNS).
    let mut qb = QueryBuilder::new(format!("UPDATE tasks SET ({FIELD_COLUMNS}) = ("));
    push_fields(&mut qb.separated(", "), f);
    qb.push("), geom = coalesce(ST_GeomFromGeoJSON(").push_bind(&new_geometry).push("), geom)");
    qb.push(", township_code = coalesce(").push_bind(&f.township_override).push(", township_code)");
    qb.push(", township_overridden = ").push_bind(f.township_override.is_some());
    qb.push(", updated_by = ").push_bind(actor);
    qb.push(" WHERE id = ").push_bind(id).push(" RETURNING version, township_code, ").push(OUTSIDE_ACCEPTED);
    let row: Result<(i32, String, Option<serde_json::Value>), sqlx::Error> =
        qb.build_query_as().fetch_one(&mut *tx).await;
    let (version, township, accepted) = match row {
        Ok(v) => v,
        Err(e) => return Err(explain_reference_error(db, e, f).await),
    };
    let mut event = Event::new(id, Some(actor), "updated");
    event.changes = update_changes(&current, &before, &merged, &township, new_geometry.as_deref());
    if let Some(accepted) = accepted {
        event.changes["outside_county"] = accepted;
    }
    events::record(&mut tx, &event).await?;
    tx.commit().await?;
    Ok(Stored { id, version })
}

/// What an edit changed, for its history event.
fn update_changes(
    current: &TaskRow,
    before: &TaskFields,
    merged: &TaskFields,
    township: &str,
    new_geometry: Option<&str>,
) -> serde_json::Value {
    let mut changes = before.changes_to(merged);
    // The township may move with the geometry even when nobody named it.
    changes.remove("township");
    if township != current.public.township {
        changes.insert("township".into(), serde_json::json!({"before": current.public.township, "after": township}));
    }
    if let Some(after) = new_geometry {
        let parse = |s: &str| serde_json::from_str::<serde_json::Value>(s).unwrap_or_default();
        changes
            .insert("geometry".into(), serde_json::json!({"before": parse(&current.geometry), "after": parse(after)}));
    }
    serde_json::Value::Object(changes)
}

/// A bureau action on a task, in the caller's transaction: verify, return, cancel, supervise,
/// unsupervise. Whether the caller
/// may take it is decided before (`workflow::may_act`); here, what the task's state allows.
pub async fn transition(
    tx: &mut PgConnection,
    id: Uuid,
    expected_version: i32,
    action: Action,
    reason: Option<&str>,
    actor: Uuid,
) -> StoreResult<Stored> {
    let current = lock(&mut *tx, id, expected_version).await?;
    let before = current.lifecycle();
    workflow::check_reason(action, reason).map_err(|e| StoreError::Invalid(vec![e]))?;
    let after = workflow::advance(before, action)?;
    let reason = reason.map(str::trim).filter(|r| !r.is_empty());
    let (progress, accepted) = reviewed_progress(&mut *tx, id, action, reason, current.public.progress).await?;
    let version = sqlx::query_scalar!(
        "UPDATE tasks SET status = $2, supervised = $3, updated_by = $4,
                return_reason = CASE WHEN $5 = 'return' THEN $6 ELSE return_reason END,
                cancel_reason = CASE WHEN $5 = 'cancel' THEN $6 ELSE cancel_reason END,
                progress = $7, accepted_progress = $8
         WHERE id = $1 RETURNING version",
        id,
        after.status.as_str(),
        after.supervised,
        actor,
        action.as_str(),
        reason,
        progress,
        accepted
    )
    .fetch_one(&mut *tx)
    .await?;
    let mut event = Event::new(id, Some(actor), "transition");
    event.action = Some(action.as_str());
    event.status_before = Some(before.status.as_str());
    event.status_after = Some(after.status.as_str());
    event.reason = reason;
    events::record(&mut *tx, &event).await?;
    Ok(Stored { id, version })
}

/// What the review rules make of a bureau transition on a locked task: verification needs a photo
/// on some report or a reason; a returned task goes back to its accepted progress, a verified one
/// is accepted as it is. Answers the task's progress and accepted progress after the transition.
async fn reviewed_progress(
    conn: &mut PgConnection,
    id: Uuid,
    action: Action,
    reason: Option<&str>,
    progress: i16,
) -> StoreResult<(i16, i16)> {
    let row = sqlx::query!(
        r#"SELECT t.accepted_progress,
                  (SELECT count(*) FROM report_photos p JOIN reports r ON r.id = p.report_id WHERE r.task_id = t.id)
                      AS "photos!",
                  (SELECT count(*) FROM report_photos p JOIN reports r ON r.id = p.report_id
                   WHERE r.task_id = t.id AND p.stage = 'after'
                     AND EXISTS (SELECT 1 FROM jsonb_array_elements(p.flags) f
                                 WHERE f->>'flag' = ANY ($2) AND (f->>'flag' <> 'reused' OR f->>'by' = 'content')))
                      AS "doubted!"
           FROM tasks t WHERE t.id = $1"#,
        id,
        review::DOUBTS as &[&str]
    )
    .fetch_one(conn)
    .await?;
    let (accepted, photos) = (row.accepted_progress, row.photos);
    Ok(match action {
        Action::Verify => {
            review::check_verify(photos, row.doubted, reason).map_err(|e| StoreError::Invalid(vec![e]))?;
            (progress, review::accepted_after(Some(action), progress, accepted))
        }
        Action::Return => (review::progress_after_return(accepted), accepted),
        _ => (progress, accepted),
    })
}

/// Refuses filter values that name no category or township, instead of answering "nothing found",
/// and a CQL2 filter naming what the viewer may not filter on (or a value of the wrong type).
pub async fn check_filter(db: &Db, f: &TaskFilter, viewer: &Viewer) -> StoreResult<()> {
    let mut errors = Vec::new();
    if let Some(Err(e)) = f.cql.as_ref().map(|x| cql2::check(x, *viewer == Viewer::Staff)) {
        return Err(StoreError::BadQuery(vec![e.message().at("filter")]));
    }
    if let Some(cats) = &f.categories {
        let known: Vec<String> = super::categories::list(db).await?.into_iter().map(|c| c.code).collect();
        errors
            .extend(cats.iter().filter(|c| !known.contains(c)).map(|c| codes::unknown_category("category", c, &known)));
    }
    if let Some(wanted) = &f.townships {
        for c in super::townships::unknown_codes(db, wanted).await? {
            errors.push(codes::unknown_township("township", &c));
        }
    }
    if let Some(wanted) = &f.departments {
        let known = super::departments::list(db).await?;
        for c in wanted.iter().filter(|c| !known.iter().any(|d| d.code == **c)) {
            errors.push(codes::unknown_department("department", c));
        }
    }
    if errors.is_empty() { Ok(()) } else { Err(StoreError::BadQuery(errors)) }
}

/// Tasks by status, for the service's metrics: one pass over the status index.
pub async fn count_by_status(db: &Db) -> Result<Vec<(String, i64)>, sqlx::Error> {
    let rows = sqlx::query!(r#"SELECT status, count(*) AS "count!" FROM tasks GROUP BY status ORDER BY status"#)
        .fetch_all(db)
        .await?;
    Ok(rows.into_iter().map(|r| (r.status, r.count)).collect())
}

#[cfg(test)]
mod tests {
    #[test]
    fn every_sortable_property_has_its_column_and_nothing_else_does() {
        for name in crate::domain::filter::SORTABLE {
            assert!(super::sort_column(name).is_some(), "{name} is offered for sortby but has no column");
        }
        assert_eq!(super::sort_column("contact_phone"), None);
    }
}
