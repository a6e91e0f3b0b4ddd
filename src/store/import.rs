//! Bulk import of tasks, set-based: geometry checks, township assignment and task codes are done for
//! thousands of features per statement instead of once per row, then the tasks and their `created`
//! events are inserted from arrays (unnest), all in one transaction.

use std::collections::HashMap;

use chrono::{DateTime, NaiveDate, Utc};
use serde::Serialize;
use uuid::Uuid;

use sqlx::PgConnection;

use super::Db;
use super::events;
use crate::domain::bounds::outside_county;
use crate::domain::codes;
use crate::domain::import::{Failure, Mode, Options};
use crate::domain::task::NewTask;
use crate::domain::{Code, FieldError};

/// Features per statement: large enough to amortise a round trip, small enough for steady progress.
const BATCH: usize = 5_000;

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct Created {
    pub index: usize,
    pub id: Uuid,
    pub code: String,
    /// The township the task went to.
    pub township: String,
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct ImportReport {
    /// Features in the document.
    pub received: usize,
    /// Tasks stored.
    pub imported: usize,
    /// all or partial.
    pub mode: &'static str,
    pub created: Vec<Created>,
    /// Features not stored, each with its index and what is wrong.
    pub failed: Vec<Failure>,
}

/// Stages reported to `progress` as (stage, done, of).
pub const CHECKING: &str = "checking";
pub const WRITING: &str = "writing";

/// A feature that passed every check, with its GeoJSON, its township, whether that township was
/// chosen against the geometry's, and, when the bureau accepted it beyond the county's tolerance,
/// what the history records of that.
type Checked = (usize, NewTask, String, Assigned, Option<String>);

/// A feature's township, and whether it overrides the one its geometry gives.
struct Assigned {
    township: String,
    overridden: bool,
}

/// Checks every parsed feature against the database (geometry validity, township, the county's
/// bounds, category), then stores them in the caller's transaction `tx`. In `Mode::All` nothing is
/// stored if any feature fails.
///
/// Checking and writing overlap: each batch is checked on a connection of the pool while the one
/// before it is written in `tx`, so the database works on both at once. In `Mode::All` the writes
/// stand behind a savepoint and are rolled back to it when a later batch turns out to fail.
pub async fn import(
    db: &Db,
    tx: &mut PgConnection,
    parsed: Vec<Result<NewTask, Failure>>,
    options: Options,
    actor: Option<Uuid>,
    progress: impl Fn(&str, usize, usize),
) -> Result<ImportReport, sqlx::Error> {
    let mode = options.mode;
    let received = parsed.len();
    let mut failed: Vec<Failure> = Vec::new();
    let mut ok: Vec<(usize, NewTask)> = Vec::with_capacity(received);
    for (i, p) in parsed.into_iter().enumerate() {
        match p {
            Ok(t) => ok.push((i, t)),
            Err(f) => failed.push(f),
        }
    }
    let rules = Rules::load(db, &ok, options.accept_outside).await?;
    let (send, batches) = tokio::sync::mpsc::channel(1);
    let of = ok.len();
    let checking = check(db, ok, &rules, send, &progress);
    let writing = write(tx, batches, &rules.prefixes, (mode, failed, of), actor, &progress);
    let (checked, written) = tokio::join!(checking, writing);
    checked?;
    let (created, mut failed) = written?;
    failed.sort_by_key(|f| f.index);
    Ok(ImportReport {
        received,
        imported: created.len(),
        mode: if mode == Mode::All { "all" } else { "partial" },
        created,
        failed,
    })
}

/// What a feature is checked against, read once per import.
struct Rules {
    prefixes: HashMap<String, String>,
    retired: Vec<String>,
    /// The categories open for new tasks, sorted (an unknown one's refusal lists them).
    known: Vec<String>,
    unknown_townships: Vec<String>,
    departments: Vec<super::departments::Department>,
    accept_outside: bool,
}

impl Rules {
    async fn load(db: &Db, ok: &[(usize, NewTask)], accept_outside: bool) -> Result<Self, sqlx::Error> {
        let families = super::categories::list(db).await?;
        let retired: Vec<String> = families.iter().filter(|c| c.retired).map(|c| c.code.clone()).collect();
        let mut known: Vec<String> = families.iter().filter(|c| !c.retired).map(|c| c.code.clone()).collect::<Vec<_>>();
        known.sort();
        let prefixes = families.into_iter().map(|c| (c.code, c.prefix)).collect();
        let overrides: Vec<String> = ok.iter().filter_map(|(_, t)| t.fields.township_override.clone()).collect();
        let unknown_townships = super::townships::unknown_codes(db, &overrides).await?;
        let departments = super::departments::list(db).await?;
        Ok(Self { prefixes, retired, known, unknown_townships, departments, accept_outside })
    }
}

/// One checked batch: the features that passed, and those that failed.
type Batch = (Vec<Checked>, Vec<Failure>);

/// Geometry validity and township, per batch, for the features that passed the Rust rules; each
/// batch goes to the writer as soon as it is checked.
async fn check(
    db: &Db,
    ok: Vec<(usize, NewTask)>,
    rules: &Rules,
    send: tokio::sync::mpsc::Sender<Batch>,
    progress: &impl Fn(&str, usize, usize),
) -> Result<(), sqlx::Error> {
    let known: Vec<&str> = rules.known.iter().map(String::as_str).collect();
    let total = ok.len();
    let mut done = 0;
    let mut rest = ok.into_iter();
    loop {
        let batch: Vec<(usize, NewTask)> = rest.by_ref().take(BATCH).collect();
        if batch.is_empty() {
            return Ok(());
        }
        let geojson: Vec<String> = batch.iter().map(|(_, t)| t.geometry.to_geojson()).collect();
        let rows = verdicts(db, &geojson).await?;
        let (mut checked, mut failed) = (Vec::with_capacity(batch.len()), Vec::new());
        for (((index, task), gj), verdict) in batch.into_iter().zip(geojson).zip(rows) {
            let accepted = verdict.accepted.clone().filter(|_| rules.accept_outside && verdict.beyond == Some(true));
            // Naming the township the geometry gives anyway (as an exported ledger does for every
            // task) keeps the assignment automatic, as re-saving a read Feature does.
            let given = task.fields.township_override.clone();
            let overridden = given.is_some() && given != verdict.township;
            let mut errors = department_errors(&task, &rules.departments);
            let judged = verdict.judge(&task, (&known, &rules.retired), &rules.unknown_townships, rules.accept_outside);
            match judged {
                Ok(township) if errors.is_empty() => {
                    checked.push((index, task, gj, Assigned { township, overridden }, accepted))
                }
                Ok(_) => failed.push(Failure::new(index, errors)),
                Err(mut more) => {
                    more.append(&mut errors);
                    failed.push(Failure::new(index, more))
                }
            }
        }
        done = (done + BATCH).min(total);
        progress(CHECKING, done, total);
        if send.send((checked, failed)).await.is_err() {
            return Ok(()); // the writer stopped on an error of its own, which it reports
        }
    }
}

/// The departments a feature names that do not exist, or are retired (the tasks' trigger,
/// migrations/0020, would refuse the whole batch for them).
fn department_errors(task: &NewTask, departments: &[super::departments::Department]) -> Vec<FieldError> {
    let f = &task.fields;
    let named = f.lead_department.iter().map(|d| ("/properties/lead_department".to_owned(), d)).chain(
        f.support_departments.iter().enumerate().map(|(i, d)| (format!("/properties/support_departments/{i}"), d)),
    );
    named
        .filter_map(|(pointer, code)| match departments.iter().find(|d| &d.code == code) {
            None => Some(codes::unknown_department(&pointer, code)),
            Some(d) if d.retired => Some(codes::retired_department(&pointer, code)),
            Some(_) => None,
        })
        .collect()
}

/// What `verdicts` says of one feature.
pub(crate) struct Verdict {
    pub(crate) reason: String,
    pub(crate) township: Option<String>,
    swapped: bool,
    /// Some position lies beyond the county's tolerance (see migrations/0007, `county_bounds`).
    pub(crate) beyond: Option<bool>,
    pointer: Option<String>,
    pub(crate) message: Option<String>,
    accepted: Option<String>,
}

impl Verdict {
    /// The township the feature goes to, or everything wrong with it.
    fn judge(
        self,
        task: &NewTask,
        (known, retired): (&[&str], &[String]),
        unknown_townships: &[String],
        accept_outside: bool,
    ) -> Result<String, Vec<FieldError>> {
        let mut errors = Vec::new();
        let category = &task.fields.category;
        if retired.contains(category) {
            errors.push(codes::retired_category("/properties/category", category));
        } else if !category.is_empty() && !known.contains(&category.as_str()) {
            errors.push(codes::unknown_category("/properties/category", category, known));
        }
        if let Some(code) = task.fields.township_override.as_ref().filter(|c| unknown_townships.contains(c)) {
            errors.push(codes::unknown_township("/properties/township", code));
        }
        let township = task.fields.township_override.clone().or(self.township);
        if self.reason != "Valid Geometry" {
            errors.push(super::geometry::invalid(&task.geometry, &self.reason).at("/geometry"));
        } else if township.is_none() {
            errors.push(if self.swapped {
                FieldError::new(
                    "/geometry",
                    Code::SwappedAxes,
                    "the geometry lies outside the county, but would lie inside it with longitude and latitude swapped: GeoJSON positions are [longitude, latitude]",
                )
            } else {
                FieldError::new("/geometry", Code::NoTownship, "the geometry touches no township of the county")
            });
        } else if self.beyond == Some(true) && !accept_outside {
            let pointer = format!("/geometry/coordinates{}", self.pointer.unwrap_or_default());
            errors.push(outside_county(&self.message.unwrap_or_default()).at(pointer));
        }
        match township {
            Some(township) if errors.is_empty() => Ok(township),
            _ => Err(errors),
        }
    }
}

/// Stores the checked batches in `tx` as they come, with their codes; in `Mode::All`, only while no
/// feature has failed, and behind a savepoint rolled back to when one does. The features stored,
/// and every failure (those of the Rust rules in `failed`, and the database's); progress is told
/// of the `of` features that passed the Rust rules.
async fn write(
    tx: &mut PgConnection,
    mut batches: tokio::sync::mpsc::Receiver<Batch>,
    prefixes: &HashMap<String, String>,
    (mode, mut failed, of): (Mode, Vec<Failure>, usize),
    actor: Option<Uuid>,
    progress: &impl Fn(&str, usize, usize),
) -> Result<(Vec<Created>, Vec<Failure>), sqlx::Error> {
    let mut all = Vec::new();
    let mut started = false;
    while let Some((checked, mut refused)) = batches.recv().await {
        failed.append(&mut refused);
        if checked.is_empty() || (mode == Mode::All && !failed.is_empty()) {
            continue;
        }
        if !started {
            started = true;
            if mode == Mode::All {
                // Runtime-checked: a savepoint has no result for the offline query descriptions.
                sqlx::query("SAVEPOINT import_all").execute(&mut *tx).await?;
            }
            // Townships and codes are assigned here, set-based; the per-row trigger leaves them alone.
            sqlx::query!("SET LOCAL greenledger.bulk_assigned = 'on'").execute(&mut *tx).await?;
        }
        all.extend(write_batch(&mut *tx, checked, prefixes, actor).await?);
        progress(WRITING, all.len(), of);
    }
    if started && mode == Mode::All && !failed.is_empty() {
        // Also undoes the bulk assignment's setting and the codes reserved.
        // Runtime-checked: as the savepoint above.
        sqlx::query("ROLLBACK TO SAVEPOINT import_all").execute(&mut *tx).await?;
        return Ok((Vec::new(), failed));
    }
    if started {
        // The bulk assignment is this import's alone: later writes in the transaction are
        // assigned by the trigger again.
        sqlx::query!("SET LOCAL greenledger.bulk_assigned = 'off'").execute(&mut *tx).await?;
    }
    Ok((all, failed))
}

/// One batch's tasks and `created` events, its codes reserved first: batches come in the order
/// of the document, so each category's numbers follow that order as one reservation would.
async fn write_batch(
    tx: &mut PgConnection,
    batch: Vec<Checked>,
    prefixes: &HashMap<String, String>,
    actor: Option<Uuid>,
) -> Result<Vec<Created>, sqlx::Error> {
    let mut next = reserve_codes(&mut *tx, &batch).await?;
    let mut cols = Columns::default();
    for (index, t, gj, township, accepted) in &batch {
        let (year, seq) = next.get_mut(&t.fields.category).expect("counted above");
        let code = format!("{}-{year}-{:04}", prefixes[&t.fields.category], *seq);
        *seq += 1;
        cols.push(*index, code, t, gj, township, accepted.as_deref());
    }
    let rows: Vec<(Uuid, String)> = cols.insert(&mut *tx, actor).await?;
    let index_of: HashMap<&str, (usize, &str)> = cols
        .code
        .iter()
        .map(String::as_str)
        .zip(cols.index.iter().copied().zip(cols.township.iter().map(String::as_str)))
        .collect();
    let mut created: Vec<Created> = rows
        .into_iter()
        .map(|(id, code)| {
            let (index, township) = index_of[code.as_str()];
            Created { index, id, township: township.to_owned(), code }
        })
        .collect();
    created.sort_by_key(|c| c.index);
    Ok(created)
}

/// Reserves each category's run of sequence numbers for this year in one statement; the next
/// number per category, with its year.
async fn reserve_codes(
    conn: &mut sqlx::PgConnection,
    checked: &[Checked],
) -> Result<HashMap<String, (i32, i32)>, sqlx::Error> {
    let mut per_category: HashMap<&str, i32> = HashMap::new();
    for (_, t, ..) in checked {
        *per_category.entry(t.fields.category.as_str()).or_default() += 1;
    }
    let (names, counts): (Vec<String>, Vec<i32>) = per_category.iter().map(|(k, v)| (k.to_string(), *v)).unzip();
    let reserved = sqlx::query!(
        "INSERT INTO task_code_counters AS c (category, year, last)
         SELECT u.category, extract(year FROM current_date)::int, u.n FROM unnest($1::text[], $2::int4[]) AS u(category, n)
         ORDER BY u.category
         ON CONFLICT (category, year) DO UPDATE SET last = c.last + EXCLUDED.last
         RETURNING category, year, last",
        &names,
        &counts
    )
    .fetch_all(conn)
    .await?;
    Ok(reserved
        .into_iter()
        .map(|r| {
            let n = per_category[r.category.as_str()];
            (r.category, (r.year, r.last - n + 1))
        })
        .collect())
}

/// Per feature: PostGIS's validity verdict, the township holding it (the point's township, the only
/// one touched, the majority by `township_for`, or the nearest for one that touches none), whether
/// swapping the axes would have put it in the county, and how it stands to the county's bounds.
pub(crate) async fn verdicts(db: &Db, geojson: &[String]) -> Result<Vec<Verdict>, sqlx::Error> {
    sqlx::query_as!(
        Verdict,
        r#"
    WITH g AS (
        SELECT u.i::int4 AS i, ST_GeomFromGeoJSON(u.gj) AS geom
        FROM unnest($1::text[]) WITH ORDINALITY AS u(gj, i)
    ), v AS (
        SELECT i, geom, ST_IsValidReason(geom) AS reason FROM g
    ), c AS (
        SELECT v.i, array_agg(t.code ORDER BY t.code) AS codes
        FROM v JOIN townships t ON ST_Intersects(t.boundary, v.geom)
        WHERE v.reason = 'Valid Geometry'
        GROUP BY v.i
    )
    SELECT v.reason AS "reason!",
           coalesce(CASE WHEN c.codes IS NULL THEN NULL
                         WHEN cardinality(c.codes) = 1 OR GeometryType(v.geom) = 'POINT' THEN c.codes[1]
                         ELSE township_for(v.geom) END, b.nearest) AS "township?",
           CASE WHEN c.codes IS NULL AND v.reason = 'Valid Geometry'
                THEN township_for(ST_FlipCoordinates(v.geom)) IS NOT NULL ELSE false END AS "swapped!",
           b.beyond AS "beyond?", b.pointer AS "pointer?", b.message AS "message?", b.accepted::text AS "accepted?"
    FROM v LEFT JOIN c USING (i)
    LEFT JOIN LATERAL county_bounds(v.geom) b ON v.reason = 'Valid Geometry'
    ORDER BY v.i"#,
        geojson
    )
    .fetch_all(db)
    .await
}

/// One batch as column arrays for `unnest`.
#[derive(Default)]
struct Columns {
    index: Vec<usize>,
    code: Vec<String>,
    geojson: Vec<String>,
    title: Vec<String>,
    description: Vec<String>,
    category: Vec<String>,
    status: Vec<String>,
    progress: Vec<i16>,
    lead_unit: Vec<String>,
    lead_department: Vec<Option<String>>,
    /// Each row's supporting departments as a JSON array: `unnest` would flatten a text[][] .
    support_departments: Vec<String>,
    contact_person: Vec<Option<String>>,
    contact_phone: Vec<Option<String>>,
    due_date: Vec<Option<NaiveDate>>,
    planned_investment: Vec<Option<f64>>,
    actual_investment: Vec<Option<f64>>,
    target_quantity: Vec<Option<f64>>,
    target_unit: Vec<Option<String>>,
    visibility: Vec<String>,
    supervised: Vec<bool>,
    township: Vec<String>,
    overridden: Vec<bool>,
    completed_at: Vec<Option<DateTime<Utc>>>,
    cancel_reason: Vec<Option<String>>,
    snapshot: Vec<String>,
}

impl Columns {
    fn push(&mut self, index: usize, code: String, t: &NewTask, gj: &str, assigned: &Assigned, accepted: Option<&str>) {
        let f = &t.fields;
        let township = assigned.township.as_str();
        // The `created` event holds what a single create records: the fields, township and geometry.
        let mut snapshot = serde_json::to_value(f).unwrap_or_default();
        snapshot["township"] = township.into();
        snapshot["geometry"] = serde_json::from_str(gj).unwrap_or_default();
        if let Some(accepted) = accepted {
            snapshot["outside_county"] = serde_json::from_str(accepted).unwrap_or_default();
        }
        self.index.push(index);
        self.code.push(code);
        self.geojson.push(gj.to_owned());
        self.title.push(f.title.clone());
        self.description.push(f.description.clone());
        self.category.push(f.category.clone());
        self.status.push(f.status.as_str().to_owned());
        self.progress.push(f.progress);
        self.lead_unit.push(f.lead_unit.clone());
        self.lead_department.push(f.lead_department.clone());
        self.support_departments.push(serde_json::to_string(&f.support_departments).unwrap_or_else(|_| "[]".into()));
        self.contact_person.push(f.contact_person.clone());
        self.contact_phone.push(f.contact_phone.clone());
        self.due_date.push(f.due_date);
        self.planned_investment.push(f.planned_investment);
        self.actual_investment.push(f.actual_investment);
        self.target_quantity.push(f.target_quantity);
        self.target_unit.push(f.target_unit.clone());
        self.visibility.push(f.visibility.as_str().to_owned());
        self.supervised.push(f.supervised);
        self.township.push(township.to_owned());
        self.overridden.push(assigned.overridden);
        self.completed_at.push(f.completed_at);
        self.cancel_reason.push(f.cancel_reason.clone());
        self.snapshot.push(snapshot.to_string());
    }

    async fn insert(
        &self,
        conn: &mut sqlx::PgConnection,
        actor: Option<Uuid>,
    ) -> Result<Vec<(Uuid, String)>, sqlx::Error> {
        let rows = sqlx::query!(
            "INSERT INTO tasks (code, geom, title, description, category, status, progress, lead_unit,
                                contact_person, contact_phone, due_date, planned_investment, actual_investment,
                                target_quantity, target_unit, visibility, supervised, township_code,
                                township_overridden, completed_at, cancel_reason, created_by, updated_by,
                                lead_department, support_departments)
             SELECT u.code, ST_GeomFromGeoJSON(u.gj), u.title, u.description, u.category, u.status, u.progress,
                    u.lead_unit, u.contact_person, u.contact_phone, u.due_date, u.planned, u.actual, u.quantity,
                    u.unit, u.visibility, u.supervised, u.township, u.overridden, u.completed_at, u.cancel_reason,
                    $22, $22, u.lead_department, ARRAY(SELECT jsonb_array_elements_text(u.support::jsonb))
             FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::text[], $6::text[], $7::int2[],
                         $8::text[], $9::text[], $10::text[], $11::date[], $12::float8[], $13::float8[],
                         $14::float8[], $15::text[], $16::text[], $17::bool[], $18::text[], $19::bool[],
                         $20::timestamptz[], $21::text[], $23::text[], $24::text[])
                  AS u(code, gj, title, description, category, status, progress, lead_unit, contact_person,
                       contact_phone, due_date, planned, actual, quantity, unit, visibility, supervised, township,
                       overridden, completed_at, cancel_reason, lead_department, support)
             RETURNING id, code, status",
            &self.code,
            &self.geojson,
            &self.title,
            &self.description,
            &self.category,
            &self.status,
            &self.progress,
            &self.lead_unit,
            &self.contact_person as &[Option<String>],
            &self.contact_phone as &[Option<String>],
            &self.due_date as &[Option<NaiveDate>],
            &self.planned_investment as &[Option<f64>],
            &self.actual_investment as &[Option<f64>],
            &self.target_quantity as &[Option<f64>],
            &self.target_unit as &[Option<String>],
            &self.visibility,
            &self.supervised,
            &self.township,
            &self.overridden,
            &self.completed_at as &[Option<DateTime<Utc>>],
            &self.cancel_reason as &[Option<String>],
            actor,
            &self.lead_department as &[Option<String>],
            &self.support_departments
        )
        .fetch_all(&mut *conn)
        .await?;
        let snapshot_of: HashMap<&str, &str> =
            self.code.iter().map(String::as_str).zip(self.snapshot.iter().map(String::as_str)).collect();
        let (ids, (statuses, snapshots)): (Vec<Uuid>, (Vec<String>, Vec<String>)) =
            rows.iter().map(|r| (r.id, (r.status.clone(), snapshot_of[r.code.as_str()].to_owned()))).unzip();
        events::record_created(conn, &ids, &statuses, &snapshots, actor).await?;
        Ok(rows.into_iter().map(|r| (r.id, r.code)).collect())
    }
}
