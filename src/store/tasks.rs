//! Tasks: reading them as GeoJSON Features (as the viewer may see them), creating, editing under
//! optimistic concurrency, and the bureau's transitions. Every write records its history event in
//! the same transaction.

use chrono::{DateTime, NaiveDate, Utc};
use serde::Serialize;
use serde_json::value::RawValue;
use sqlx::{PgConnection, Postgres, QueryBuilder};
use uuid::Uuid;

use super::Db;
use super::events::{self, Event};
use crate::domain::access::Viewer;
use crate::domain::filter::TaskFilter;
use crate::domain::ogc::Period;
use crate::domain::task::{NewTask, Status, TaskFields, TaskPatch, Visibility};
use crate::domain::workflow::{self, Action, Lifecycle, Refusal};
use crate::error::{ApiError, FieldError, Result};

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
    /// 责任单位, the unit responsible.
    pub lead_unit: String,
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
        let private = viewer.sees_private(&self.public.township).then_some(self.private);
        Ok(TaskFeature {
            kind: "Feature",
            id: self.id,
            geometry: RawValue::from_string(self.geometry).map_err(|e| sqlx::Error::Decode(Box::new(e)))?,
            properties: TaskProperties { public: self.public, private },
        })
    }
}

/// Past its due date (in the county's time zone, the session's) and neither finished nor cancelled.
pub(crate) const OVERDUE: &str =
    "coalesce(t.due_date < current_date AND t.status IN ('planned', 'in_progress'), false)";

/// Columns of the API's task view. 15 decimals keeps every coordinate exactly as it was sent
/// (PostGIS prints the shortest decimal that reads back as the same double); on a page of 1,000
/// features it cost under 1 ms more than 6 decimals. The township's name is looked up per row
/// returned, after the sort and limit, rather than joined to every task in the box.
const SELECT: &str = "
    SELECT t.id, t.code, t.title, t.description, t.category, t.status, t.progress,
           t.township_code AS township,
           (SELECT w.name FROM townships w WHERE w.code = t.township_code) AS township_name,
           t.township_overridden,
           t.lead_unit, t.contact_person, t.contact_phone, t.due_date,
           coalesce(t.due_date < current_date AND t.status IN ('planned', 'in_progress'), false) AS overdue,
           t.planned_investment::float8 AS planned_investment,
           t.actual_investment::float8 AS actual_investment,
           t.target_quantity::float8 AS target_quantity, t.target_unit,
           t.visibility, t.supervised, t.completed_at, t.verified_at, t.last_report_at,
           t.created_at, t.updated_at, t.version, t.return_reason, t.cancel_reason,
           ST_AsGeoJSON(t.geom, 15) AS geometry
    FROM tasks t";

/// Restricts to the tasks a viewer may see at all: internal tasks are for staff and their own
/// township only.
pub(crate) fn push_visibility(qb: &mut QueryBuilder<'_, Postgres>, viewer: &Viewer) {
    match viewer {
        Viewer::Staff => {}
        Viewer::Public => {
            qb.push(" AND t.visibility = 'public'");
        }
        Viewer::Township(code) => {
            qb.push(" AND (t.visibility = 'public' OR t.township_code = ").push_bind(code.clone()).push(")");
        }
    }
}

pub async fn get(db: &Db, id: Uuid, viewer: &Viewer) -> Result<Option<TaskFeature>, sqlx::Error> {
    let mut qb = QueryBuilder::new(SELECT);
    qb.push(" WHERE t.id = ").push_bind(id);
    push_visibility(&mut qb, viewer);
    let row: Option<TaskRow> = qb.build_query_as().fetch_optional(db).await?;
    row.map(|r| r.into_feature(viewer)).transpose()
}

fn push_filter(qb: &mut QueryBuilder<'_, Postgres>, f: &TaskFilter, viewer: &Viewer) {
    qb.push(" WHERE true");
    push_visibility(qb, viewer);
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

/// One page of the tasks the viewer may see matching the filter, in code order, and how many
/// match in all.
pub async fn list(db: &Db, f: &TaskFilter, viewer: &Viewer) -> Result<(Vec<TaskFeature>, i64), sqlx::Error> {
    list_in_period(db, f, None, viewer).await
}

/// As `list`, and only tasks whose lifespan meets `period`: a task lives from its creation until it
/// is finished (completed_at) or cancelled (its last update), or on while it is open.
pub async fn list_in_period(
    db: &Db,
    f: &TaskFilter,
    period: Option<&Period>,
    viewer: &Viewer,
) -> Result<(Vec<TaskFeature>, i64), sqlx::Error> {
    let push_period = |qb: &mut QueryBuilder<'_, Postgres>| {
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
    };
    let mut tx = super::interactive_read(db).await?;
    let mut page = QueryBuilder::new(SELECT);
    push_filter(&mut page, f, viewer);
    push_period(&mut page);
    page.push(" ORDER BY t.code LIMIT ").push_bind(f.limit).push(" OFFSET ").push_bind(f.offset);
    let rows: Vec<TaskRow> = page.build_query_as().fetch_all(&mut *tx).await?;
    // A page that is not full ends the list, so it tells how many match; only a full page (or an
    // empty one past the end) needs them counted.
    let returned = rows.len() as i64;
    let matched = if returned < f.limit && (returned > 0 || f.offset == 0) {
        f.offset + returned
    } else {
        let mut count = QueryBuilder::new("SELECT count(*) FROM tasks t");
        push_filter(&mut count, f, viewer);
        push_period(&mut count);
        count.build_query_scalar().fetch_one(&mut *tx).await?
    };
    tx.commit().await?;
    let features = rows.into_iter().map(|r| r.into_feature(viewer)).collect::<Result<_, _>>()?;
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

/// Creates a task and its `created` event within the caller's transaction. `id` is for loaders
/// that keep stable ids; the API lets the database choose.
pub async fn insert(
    db: &Db,
    conn: &mut PgConnection,
    id: Option<Uuid>,
    t: &NewTask,
    actor: Option<Uuid>,
) -> Result<Stored> {
    super::geometry::check_valid(&mut *conn, &t.geometry).await?;
    let f = &t.fields;
    let geojson = t.geometry.to_geojson();
    let row: Result<(Uuid, i32, String), sqlx::Error> = sqlx::query_as(
        "INSERT INTO tasks (id, geom, title, description, category, status, progress, lead_unit,
                            contact_person, contact_phone, due_date, planned_investment, actual_investment,
                            target_quantity, target_unit, visibility, supervised, township_code,
                            township_overridden, completed_at, cancel_reason, created_by, updated_by)
         VALUES (coalesce($1, gen_random_uuid()), ST_GeomFromGeoJSON($2), $3, $4, $5, $6, $7, $8, $9, $10, $11,
                 $12::float8, $13::float8, $14::float8, $15, $16, $17, $18, $18 IS NOT NULL, $19, $20, $21, $21)
         RETURNING id, version, township_code",
    )
    .bind(id)
    .bind(&geojson)
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
    .bind(&f.cancel_reason)
    .bind(actor)
    .fetch_one(&mut *conn)
    .await;
    let (id, version, township) = match row {
        Ok(r) => r,
        Err(e) => return Err(explain_reference_error(db, e, f).await),
    };
    let mut snapshot = serde_json::to_value(f).unwrap_or_default();
    snapshot["township"] = township.into();
    snapshot["geometry"] = serde_json::from_str(&geojson).unwrap_or_default();
    let mut event = Event::new(id, actor, "created");
    event.status_after = Some(f.status.as_str());
    event.changes = snapshot;
    events::record(conn, &event).await?;
    Ok(Stored { id, version })
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
    cancel_reason: Option<String>,
    version: i32,
    geometry: String,
}

impl FieldsRow {
    fn fields(&self) -> TaskFields {
        TaskFields {
            title: self.title.clone(),
            description: self.description.clone(),
            category: self.category.clone(),
            // The table's CHECK constraints admit only known values.
            status: Status::parse(&self.status).unwrap_or(Status::Planned),
            progress: self.progress,
            lead_unit: self.lead_unit.clone(),
            contact_person: self.contact_person.clone(),
            contact_phone: self.contact_phone.clone(),
            due_date: self.due_date,
            planned_investment: self.planned_investment,
            actual_investment: self.actual_investment,
            target_quantity: self.target_quantity,
            target_unit: self.target_unit.clone(),
            visibility: Visibility::parse(&self.visibility).unwrap_or(Visibility::Public),
            supervised: self.supervised,
            township_override: self.township_overridden.then(|| self.township_code.clone()),
            completed_at: self.completed_at,
            cancel_reason: self.cancel_reason.clone(),
        }
    }
}

/// Locks a task for a read-merge-write and reads what the rules need.
async fn lock(conn: &mut PgConnection, id: Uuid) -> Result<Option<FieldsRow>, sqlx::Error> {
    sqlx::query_as(
        "SELECT title, description, category, status, progress, lead_unit, contact_person, contact_phone,
                due_date, planned_investment::float8 AS planned_investment,
                actual_investment::float8 AS actual_investment, target_quantity::float8 AS target_quantity,
                target_unit, visibility, supervised, township_code, township_overridden, completed_at,
                cancel_reason, version, ST_AsGeoJSON(geom, 15) AS geometry
         FROM tasks WHERE id = $1 FOR UPDATE",
    )
    .bind(id)
    .fetch_optional(conn)
    .await
}

/// The result of a conditional write.
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
pub async fn update(
    db: &Db,
    id: Uuid,
    expected_version: i32,
    patch: &TaskPatch,
    now: DateTime<Utc>,
    actor: Uuid,
) -> Result<Update> {
    let mut tx = db.begin().await?;
    let Some(current) = lock(&mut tx, id).await? else { return Ok(Update::NotFound) };
    if current.version != expected_version {
        return Ok(Update::Stale { current_version: current.version });
    }
    let before = current.fields();
    let merged = patch.apply(&before, now).map_err(ApiError::invalid)?;
    if let Some(g) = &patch.geometry {
        super::geometry::check_valid(&mut *tx, g).await?;
    }
    let f = &merged;
    let new_geometry = patch.geometry.as_ref().map(|g| g.to_geojson());
    let row: Result<(i32, String), sqlx::Error> = sqlx::query_as(
        "UPDATE tasks SET geom = coalesce(ST_GeomFromGeoJSON($2), geom), title = $3, description = $4,
                category = $5, progress = $6, lead_unit = $7, contact_person = $8,
                contact_phone = $9, due_date = $10, planned_investment = $11::float8,
                actual_investment = $12::float8, target_quantity = $13::float8, target_unit = $14,
                visibility = $15, supervised = $16,
                township_code = coalesce($17, township_code), township_overridden = $17 IS NOT NULL,
                updated_by = $18
         WHERE id = $1
         RETURNING version, township_code",
    )
    .bind(id)
    .bind(&new_geometry)
    .bind(&f.title)
    .bind(&f.description)
    .bind(&f.category)
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
    .bind(actor)
    .fetch_one(&mut *tx)
    .await;
    let (version, township) = match row {
        Ok(v) => v,
        Err(e) => return Err(explain_reference_error(db, e, f).await),
    };
    let mut changes = before.changes_to(&merged);
    // The township may move with the geometry even when nobody named it.
    changes.remove("township");
    if township != current.township_code {
        changes.insert("township".into(), serde_json::json!({"before": current.township_code, "after": township}));
    }
    if let Some(after) = &new_geometry {
        let parse = |s: &str| serde_json::from_str::<serde_json::Value>(s).unwrap_or_default();
        changes
            .insert("geometry".into(), serde_json::json!({"before": parse(&current.geometry), "after": parse(after)}));
    }
    let mut event = Event::new(id, Some(actor), "updated");
    event.changes = serde_json::Value::Object(changes);
    events::record(&mut tx, &event).await?;
    tx.commit().await?;
    Ok(Update::Done(Stored { id, version }))
}

/// A bureau action on a task: verify, return, cancel, supervise, unsupervise.
pub async fn transition(
    db: &Db,
    id: Uuid,
    expected_version: i32,
    action: Action,
    reason: Option<&str>,
    viewer: &Viewer,
    actor: Uuid,
) -> Result<Update> {
    let mut tx = db.begin().await?;
    let Some(current) = lock(&mut tx, id).await? else { return Ok(Update::NotFound) };
    let status = Status::parse(&current.status).unwrap_or(Status::Planned);
    let before = Lifecycle { status, supervised: current.supervised };
    let outcome = workflow::transition(before, action, viewer.relation(&current.township_code));
    if let Err(Refusal::Forbidden(why)) = outcome {
        return Err(Refusal::Forbidden(why).into());
    }
    if current.version != expected_version {
        return Ok(Update::Stale { current_version: current.version });
    }
    if action.needs_reason() && reason.is_none_or(|r| r.trim().is_empty()) {
        return Err(ApiError::invalid(vec![FieldError::new(
            "/reason",
            format!("say why: a {} needs a reason, which the township and the audit trail keep", action.as_str()),
        )]));
    }
    let after = match outcome {
        Ok(after) => after,
        Err(refusal) => return Err(refusal.into()),
    };
    let reason = reason.map(str::trim).filter(|r| !r.is_empty());
    let version: i32 = sqlx::query_scalar(
        "UPDATE tasks SET status = $2, supervised = $3, updated_by = $4,
                return_reason = CASE WHEN $5 = 'return' THEN $6 ELSE return_reason END,
                cancel_reason = CASE WHEN $5 = 'cancel' THEN $6 ELSE cancel_reason END
         WHERE id = $1 RETURNING version",
    )
    .bind(id)
    .bind(after.status.as_str())
    .bind(after.supervised)
    .bind(actor)
    .bind(action.as_str())
    .bind(reason)
    .fetch_one(&mut *tx)
    .await?;
    let mut event = Event::new(id, Some(actor), "transition");
    event.action = Some(action.as_str());
    event.status_before = Some(status.as_str());
    event.status_after = Some(after.status.as_str());
    event.reason = reason;
    events::record(&mut tx, &event).await?;
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
