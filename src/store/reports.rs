//! Township reports (progress, notes, photos) and the photo files they carry.

use chrono::{DateTime, Utc};
use serde::Serialize;
use sha2::{Digest, Sha256};
use uuid::Uuid;

use sqlx::PgConnection;

use super::events::{self, Event};
use super::idempotency::{Found, Key};
use super::photos::PhotoStore;
use super::{Db, StoreError, StoreResult};
use crate::domain::access::{Unit, Viewer};
use crate::domain::evidence;
use crate::domain::review;
use crate::domain::stage::{self, FamilyRules, Stage};
use crate::domain::task::Status;
use crate::domain::workflow::{self, Action, Lifecycle};

pub struct Photo {
    pub bytes: Vec<u8>,
    pub media_type: &'static str,
    pub sha256: String,
    /// The picture's difference hash, when it was decoded (`domain::photo::check`).
    pub dhash: Option<u64>,
    /// What its EXIF says, when it was read (`domain::evidence::read`).
    pub facts: Option<evidence::PhotoFacts>,
    /// What it shows, when the sender said (else `Stage::default_for` the report's action).
    pub stage: Option<Stage>,
}

impl Photo {
    pub fn new(bytes: Vec<u8>, media_type: &'static str) -> Self {
        let sha256 = format!("{:x}", Sha256::digest(&bytes));
        Photo { bytes, media_type, sha256, dhash: None, facts: None, stage: None }
    }

    /// The photo with what checking it found: its hash and its EXIF.
    pub fn read(mut self, dhash: u64, facts: evidence::PhotoFacts) -> Self {
        self.dhash = Some(dhash);
        self.facts = Some(facts);
        self
    }

    /// The photo marked as showing `stage` (None: as its report's action says).
    pub fn shows(mut self, stage: Option<Stage>) -> Self {
        self.stage = stage;
        self
    }
}

pub struct ReportInput {
    pub action: Option<Action>,
    pub progress: Option<i16>,
    pub note: String,
    pub photos: Vec<Photo>,
    /// The reporter confirms that the report lowers progress (see `review::check_lowering`).
    pub confirm_lower: bool,
    /// Where the phone was when the report was written: longitude, latitude, accuracy (metres).
    pub sent_from: Option<([f64; 2], Option<f64>)>,
    /// The phone's clock when it sent the report.
    pub device_time: Option<DateTime<Utc>>,
}

impl ReportInput {
    /// What makes two reports the same report, for idempotent resends (as reports have always
    /// computed it, so keys kept before the one idempotency table still match).
    pub fn fingerprint(&self) -> Vec<u8> {
        let mut h = Sha256::new();
        h.update(self.action.map_or("", |a| a.as_str()));
        h.update([0]);
        h.update(self.progress.map_or(-1, i32::from).to_le_bytes());
        h.update(self.note.as_bytes());
        h.update([u8::from(self.confirm_lower)]);
        for p in &self.photos {
            h.update([0]);
            h.update(p.sha256.as_bytes());
            // Only a stage the sender chose: a photo sent unmarked hashes as it always has.
            if let Some(stage) = p.stage {
                h.update(stage.as_str().as_bytes());
            }
        }
        h.finalize().to_vec()
    }

    /// What each photo shows, as sent or as the action implies.
    pub fn stages(&self) -> Vec<Stage> {
        self.photos.iter().map(|p| p.stage.unwrap_or(Stage::default_for(self.action))).collect()
    }
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct PhotoRef {
    /// Where to fetch it (only those who may see the report's task in full, or anyone once the
    /// task is verified and public).
    pub url: String,
    pub media_type: String,
    pub bytes: i32,
    /// What it shows: before, during or after the work.
    pub stage: Stage,
    /// A small copy without metadata, for lists (`?size=thumb`).
    pub thumbnail_url: String,
    /// What the photo says about itself and the flags for the verifier; absent for photos filed
    /// before the service read them.
    pub evidence: Option<Evidence>,
}

/// A photo's EXIF as read when its report was filed, and what the service made of it
/// (domain::evidence).
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct Evidence {
    /// When it was taken (the camera's clock; in the county's time when it wrote no offset).
    pub taken_at: Option<DateTime<Utc>>,
    /// Where: longitude, latitude in WGS 84.
    pub position: Option<[f64; 2]>,
    /// Make and model of the camera.
    pub camera: Option<String>,
    /// The program that wrote the file.
    pub software: Option<String>,
    /// Metres from the position to the task's geometry (0 inside an area).
    pub distance_m: Option<f64>,
    /// `{"flag": "far", "distance_m": 3012, "limit_m": 500}`, `no_position`, `no_time`,
    /// `before_task`, `old`, `reused`, `edited`, `gcj02`.
    #[schema(value_type = Vec<Object>)]
    pub flags: serde_json::Value,
}

/// The evidence of one photo, as computed when its report is filed.
struct PhotoEvidence {
    dhash: Option<i64>,
    taken_at: Option<DateTime<Utc>>,
    position: Option<[f64; 2]>,
    camera: Option<String>,
    software: Option<String>,
    distance_m: Option<f64>,
    flags: serde_json::Value,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct ReportView {
    pub id: Uuid,
    pub task_id: Uuid,
    pub author: String,
    pub author_name: String,
    pub action: Option<String>,
    pub progress: Option<i16>,
    pub note: String,
    pub status_before: String,
    pub status_after: String,
    pub created_at: DateTime<Utc>,
    pub photos: Vec<PhotoRef>,
    /// Where the phone was when the report was written, when the officer let the browser say.
    pub sent_from: Option<SentFrom>,
    /// The phone's clock when it sent the report.
    pub device_time: Option<DateTime<Utc>>,
    /// The report's own flags for the verifier: `far` (the phone's position), `clock`.
    #[schema(value_type = Vec<Object>)]
    pub flags: serde_json::Value,
}

/// The phone's position when a report was written.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct SentFrom {
    /// Longitude, latitude (WGS 84).
    pub position: [f64; 2],
    /// How sure the phone was, in metres.
    pub accuracy_m: Option<f64>,
    /// Metres from the task's geometry.
    pub distance_m: Option<f64>,
}

struct ReportRow {
    id: Uuid,
    task_id: Uuid,
    author: String,
    author_name: String,
    action: Option<String>,
    progress: Option<i16>,
    note: String,
    status_before: String,
    status_after: String,
    created_at: DateTime<Utc>,
    sent_lon: Option<f64>,
    sent_lat: Option<f64>,
    sent_accuracy_m: Option<f64>,
    sent_distance_m: Option<f64>,
    device_time: Option<DateTime<Utc>>,
    flags: serde_json::Value,
}

struct PhotoRow {
    report_id: Uuid,
    sha256: String,
    media_type: String,
    bytes: i32,
    stage: String,
    taken_at: Option<DateTime<Utc>>,
    taken_lon: Option<f64>,
    taken_lat: Option<f64>,
    camera: Option<String>,
    software: Option<String>,
    distance_m: Option<f64>,
    flags: Option<serde_json::Value>,
}

/// A compile-checked query of `ReportRow`s: the report columns, then `$rest` of the statement. A
/// macro rather than a const, as the checked queries take only string literals.
macro_rules! query_reports {
    ($rest:literal, $($arg:expr),*) => {
        sqlx::query_as!(
            ReportRow,
            "SELECT r.id, r.task_id, u.username AS author, u.display_name AS author_name, r.action,
                    r.progress, r.note, r.status_before, r.status_after, r.created_at, r.sent_lon, r.sent_lat,
                    r.sent_accuracy_m, r.sent_distance_m, r.device_time, r.flags
             FROM reports r JOIN users u ON u.id = r.author_id " + $rest,
            $($arg),*
        )
    };
}

async fn views(conn: &mut PgConnection, rows: Vec<ReportRow>) -> Result<Vec<ReportView>, sqlx::Error> {
    let ids: Vec<Uuid> = rows.iter().map(|r| r.id).collect();
    let photos = sqlx::query_as!(
        PhotoRow,
        "SELECT report_id, sha256, media_type, bytes, stage, taken_at, taken_lon, taken_lat, camera, software,
                distance_m, flags
         FROM report_photos WHERE report_id = ANY($1) ORDER BY position",
        &ids
    )
    .fetch_all(conn)
    .await?;
    Ok(rows
        .into_iter()
        .map(|r| ReportView {
            photos: photos
                .iter()
                .filter(|p| p.report_id == r.id)
                .map(|p| PhotoRef {
                    url: format!("/api/photos/{}", p.sha256),
                    thumbnail_url: format!("/api/photos/{}?size=thumb", p.sha256),
                    media_type: p.media_type.clone(),
                    bytes: p.bytes,
                    // The table's CHECK admits only the three.
                    stage: Stage::parse(&p.stage).unwrap_or(Stage::During),
                    evidence: p.flags.clone().map(|flags| Evidence {
                        taken_at: p.taken_at,
                        position: p.taken_lon.zip(p.taken_lat).map(|(lon, lat)| [lon, lat]),
                        camera: p.camera.clone(),
                        software: p.software.clone(),
                        distance_m: p.distance_m,
                        flags,
                    }),
                })
                .collect(),
            id: r.id,
            task_id: r.task_id,
            author: r.author,
            author_name: r.author_name,
            action: r.action,
            progress: r.progress,
            note: r.note,
            status_before: r.status_before,
            status_after: r.status_after,
            created_at: r.created_at,
            sent_from: r.sent_lon.zip(r.sent_lat).map(|(lon, lat)| SentFrom {
                position: [lon, lat],
                accuracy_m: r.sent_accuracy_m,
                distance_m: r.sent_distance_m,
            }),
            device_time: r.device_time,
            flags: r.flags,
        })
        .collect())
}

/// The task's reports, newest first.
pub async fn list(db: &Db, task: Uuid) -> Result<Vec<ReportView>, sqlx::Error> {
    let rows = query_reports!("WHERE r.task_id = $1 ORDER BY r.created_at DESC, r.id", task).fetch_all(db).await?;
    views(&mut *db.acquire().await?, rows).await
}

pub enum Filed {
    /// Filed: the report, and the task's version after it.
    Created(Box<ReportView>, i32),
    /// A twin sent with the same key was filed while this one waited for the task: nothing was
    /// done here; answer with the twin's answer.
    Twin,
}

/// Who files a report, on which task, under which key, against which version.
pub struct Filing<'a> {
    pub task: Uuid,
    pub author: Uuid,
    pub key: &'a Key,
    pub expected_version: i32,
}

/// The task as a report finds it (locked).
struct Current {
    status: String,
    supervised: bool,
    progress: i16,
    version: i32,
    /// What the task's family asks of the photos, and how far from the task one may be taken.
    require_after_photo: bool,
    require_before_photo: bool,
    photo_far_m: i32,
}

/// What a report does to its task: the status before and after, and the progress after.
struct Step {
    before: Status,
    after: Status,
    progress: i16,
}

impl Step {
    /// What the task's state allows of this report (who may report was decided before, by
    /// `workflow::may_report`).
    fn plan(current: &Current, input: &ReportInput) -> StoreResult<Step> {
        let before = Status::parse(&current.status).unwrap_or(Status::Planned);
        workflow::check_report(before, input.action, input.progress)?;
        let lowering = review::check_lowering(current.progress, input.progress, input.confirm_lower, &input.note);
        if !lowering.is_empty() {
            return Err(StoreError::Invalid(lowering));
        }
        let after = match input.action {
            Some(action) => {
                workflow::advance(Lifecycle { status: before, supervised: current.supervised }, action)?.status
            }
            None => before,
        };
        // After the state's answer: a completion of planned work is refused for being planned.
        let rules =
            FamilyRules { require_after: current.require_after_photo, require_before: current.require_before_photo };
        stage::check(input.action, &input.stages(), &input.note, rules)?;
        let progress = if after.is_finished() { 100 } else { input.progress.unwrap_or(current.progress) };
        Ok(Step { before, after, progress })
    }
}

/// Files a report in the caller's transaction: checks what the task's state allows, moves the
/// task along (start, complete), stores the photos and the history event. The caller commits it
/// with the key's record of the answer (`idempotency::keep`), or, on any error, drops it and calls
/// `remove_orphans` for the photos.
pub async fn file(
    tx: &mut PgConnection,
    photos: &PhotoStore,
    filing: &Filing<'_>,
    input: &ReportInput,
) -> StoreResult<Filed> {
    let current = sqlx::query_as!(
        Current,
        "SELECT t.status, t.supervised, t.progress, t.version, c.require_after_photo, c.require_before_photo,
                c.photo_far_m
         FROM tasks t JOIN categories c ON c.code = t.category WHERE t.id = $1 FOR UPDATE OF t",
        filing.task
    )
    .fetch_optional(&mut *tx)
    .await?;
    let current = current.ok_or_else(|| super::tasks::not_found(filing.task))?;
    // Resends of one report queue on the task's lock; the first to get it has committed by the
    // time the others look again, and they answer with its result. (Inside the transaction only
    // its own connection is used: taking a second one from the pool while holding the lock would
    // let a burst of resends exhaust the pool.)
    if !matches!(super::idempotency::find(&mut *tx, filing.key).await?, Found::Nothing) {
        return Ok(Filed::Twin);
    }
    if current.version != filing.expected_version {
        return Err(StoreError::Stale { current_version: current.version });
    }
    let step = Step::plan(&current, input)?;
    let evidence = evidence_of(&mut *tx, filing.task, input, f64::from(current.photo_far_m)).await?;
    let report_id = insert_report(&mut *tx, filing, input, &step, &evidence).await?;
    let version = advance_task(&mut *tx, filing, input, &step, current.progress, report_id).await?;
    photos.put_all(&mut *tx, &input.photos).await.map_err(StoreError::PhotoNotStored)?;
    let row = query_reports!("WHERE r.id = $1", report_id).fetch_one(&mut *tx).await?;
    let view = views(&mut *tx, vec![row]).await?.remove(0);
    Ok(Filed::Created(Box::new(view), version))
}

/// Inserts the report and its photos' rows.
async fn insert_report(
    conn: &mut PgConnection,
    filing: &Filing<'_>,
    input: &ReportInput,
    step: &Step,
    evidence: &Evidences,
) -> Result<Uuid, sqlx::Error> {
    let flags = serde_json::to_value(&evidence.report.flags).unwrap_or_else(|_| serde_json::json!([]));
    let report_id = sqlx::query_scalar!(
        "INSERT INTO reports (task_id, author_id, action, progress, note, status_before, status_after,
                              sent_lon, sent_lat, sent_accuracy_m, sent_distance_m, device_time, flags)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13) RETURNING id",
        filing.task,
        filing.author,
        input.action.map(|a| a.as_str()),
        input.progress,
        input.note,
        step.before.as_str(),
        step.after.as_str(),
        input.sent_from.map(|(at, _)| at[0]),
        input.sent_from.map(|(at, _)| at[1]),
        input.sent_from.and_then(|(_, accuracy)| accuracy),
        evidence.report.distance_m,
        input.device_time,
        flags
    )
    .fetch_one(&mut *conn)
    .await?;
    for (i, ((p, e), stage)) in input.photos.iter().zip(&evidence.photos).zip(input.stages()).enumerate() {
        sqlx::query!(
            "INSERT INTO report_photos (report_id, position, sha256, media_type, bytes, taken_at, taken_lon, taken_lat,
                                        camera, software, distance_m, flags, dhash, stage)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14)",
            report_id,
            i as i16,
            p.sha256,
            p.media_type,
            p.bytes.len() as i32,
            e.taken_at,
            e.position.map(|p| p[0]),
            e.position.map(|p| p[1]),
            e.camera,
            e.software,
            e.distance_m,
            e.flags,
            e.dhash,
            stage.as_str()
        )
        .execute(&mut *conn)
        .await?;
    }
    Ok(report_id)
}

/// What each photo says about itself against the task it is reported on (domain::evidence): read
/// in the report's transaction, so "reused" sees every report filed before this one.
async fn evidence_of(
    conn: &mut PgConnection,
    task: Uuid,
    input: &ReportInput,
    far_m: f64,
) -> Result<Evidences, sqlx::Error> {
    if input.photos.is_empty() && input.sent_from.is_none() && input.device_time.is_none() {
        return Ok(Evidences { photos: Vec::new(), report: ReportEvidence::default() });
    }
    let t = sqlx::query!(
        r#"SELECT ST_AsGeoJSON(geom) AS "geometry!", created_at,
                  EXTRACT(timezone FROM now())::int AS "county_offset!" FROM tasks WHERE id = $1"#,
        task
    )
    .fetch_one(&mut *conn)
    .await?;
    let geometry: Option<geo::Geometry<f64>> =
        t.geometry.parse::<geojson::Geometry>().ok().and_then(|g| g.try_into().ok());
    let county =
        chrono::FixedOffset::east_opt(t.county_offset).unwrap_or(chrono::FixedOffset::east_opt(0).expect("UTC"));
    let on = TaskFacts { geometry: geometry.as_ref(), county, created_at: t.created_at, now: Utc::now(), far_m };
    let mut photos = Vec::with_capacity(input.photos.len());
    for p in &input.photos {
        photos.push(photo_evidence(&mut *conn, p, &on).await?);
    }
    let distance_m = input.sent_from.zip(on.geometry).and_then(|((at, _), g)| evidence::distance_m(at, g));
    let accuracy_m = input.sent_from.and_then(|(_, accuracy)| accuracy);
    let flags = evidence::report_flags(distance_m, accuracy_m, far_m, input.device_time, on.now);
    let report = ReportEvidence { distance_m, flags };
    Ok(Evidences { photos, report })
}

/// The task as its photos' evidence needs it, read once per report.
struct TaskFacts<'a> {
    geometry: Option<&'a geo::Geometry<f64>>,
    county: chrono::FixedOffset,
    created_at: DateTime<Utc>,
    now: DateTime<Utc>,
    /// Beyond this many metres from the task a photo is flagged far (the family's setting).
    far_m: f64,
}

/// What one photo says about itself against the task: used before (the same bytes, or alike by
/// its hash), where and when it was taken, on what.
async fn photo_evidence(conn: &mut PgConnection, p: &Photo, on: &TaskFacts<'_>) -> Result<PhotoEvidence, sqlx::Error> {
    // The hash's bits as PostgreSQL's bigint holds them.
    let dhash = p.dhash.map(|h| h as i64);
    let used = sqlx::query!(
        r#"SELECT EXISTS (SELECT 1 FROM report_photos WHERE sha256 = $1) AS "same!",
                  EXISTS (SELECT 1 FROM report_photos WHERE sha256 <> $1 AND dhash IS NOT NULL
                          AND bit_count((dhash # $2)::bit(64)) <= $3) AS "alike!""#,
        p.sha256,
        dhash,
        crate::domain::photo::ALIKE_BITS as i32
    )
    .fetch_one(conn)
    .await?;
    let reused = match (used.same, used.alike) {
        (true, _) => Some(evidence::ReusedBy::Content),
        (false, true) => Some(evidence::ReusedBy::Likeness),
        _ => None,
    };
    let facts = p.facts.clone().unwrap_or_else(|| evidence::read(&p.bytes));
    let distance_m = facts.position.zip(on.geometry).and_then(|(at, g)| evidence::distance_m(at, g));
    let taken_at = facts.taken_at(on.county);
    let context = evidence::Context {
        distance_m,
        far_m: on.far_m,
        taken_at,
        task_created_at: on.created_at,
        reported_at: on.now,
        reused,
    };
    let flags = serde_json::to_value(evidence::flags(&facts, &context)).unwrap_or_default();
    let camera = match (&facts.make, &facts.model) {
        (Some(make), Some(model)) if model.starts_with(make.as_str()) => Some(model.clone()),
        (Some(make), Some(model)) => Some(format!("{make} {model}")),
        (make, model) => make.clone().or(model.clone()),
    };
    Ok(PhotoEvidence { dhash, taken_at, position: facts.position, camera, software: facts.software, distance_m, flags })
}

/// What the service made of a report's photos and of the report itself when it was filed.
struct Evidences {
    photos: Vec<PhotoEvidence>,
    report: ReportEvidence,
}

/// The distance of the phone's position from the task, and the report's flags.
#[derive(Default)]
struct ReportEvidence {
    distance_m: Option<f64>,
    flags: Vec<evidence::Flag>,
}

/// Moves the task to the report's status and progress, and records the `reported` event.
async fn advance_task(
    conn: &mut PgConnection,
    filing: &Filing<'_>,
    input: &ReportInput,
    step: &Step,
    progress_before: i16,
    report_id: Uuid,
) -> Result<i32, sqlx::Error> {
    let version = sqlx::query_scalar!(
        "UPDATE tasks SET status = $2, progress = $3, last_report_at = now(), updated_by = $4,
                return_reason = CASE WHEN $2 = 'completed' THEN NULL ELSE return_reason END,
                accepted_progress = CASE WHEN $5 THEN $3 ELSE accepted_progress END
         WHERE id = $1 RETURNING version",
        filing.task,
        step.after.as_str(),
        step.progress,
        filing.author,
        review::moves_acceptance(input.action)
    )
    .fetch_one(&mut *conn)
    .await?;
    let mut event = Event::new(filing.task, Some(filing.author), "reported");
    event.action = input.action.map(|a| a.as_str());
    event.status_before = Some(step.before.as_str());
    event.status_after = Some(step.after.as_str());
    event.report = Some(report_id);
    event.changes = serde_json::json!({
        "progress": {"before": progress_before, "after": step.progress},
        "note": input.note,
        "photos": input.photos.len(),
    });
    events::record(conn, &event).await?;
    Ok(version)
}

/// How a viewer may see a photo: its media type, and whether in full (the original, with its
/// metadata: staff and the task's own township) or only as the public copy (anyone, once the task
/// is verified and public). `None`: it does not exist for them.
pub struct PhotoAccess {
    pub media_type: String,
    pub full: bool,
}

pub async fn photo_for(db: &Db, sha256: &str, viewer: &Viewer) -> Result<Option<PhotoAccess>, sqlx::Error> {
    let rows = sqlx::query!(
        "SELECT p.media_type, t.township_code, t.lead_department, t.status, t.visibility
         FROM report_photos p JOIN reports r ON r.id = p.report_id JOIN tasks t ON t.id = r.task_id
         WHERE p.sha256 = $1",
        sha256
    )
    .fetch_all(db)
    .await?;
    let full = rows.iter().find(|r| viewer.sees_private(Unit::new(&r.township_code, r.lead_department.as_deref())));
    let public = rows.iter().find(|r| r.status == "verified" && r.visibility == "public");
    Ok(match (full, public) {
        (Some(r), _) => Some(PhotoAccess { media_type: r.media_type.clone(), full: true }),
        (None, Some(r)) => Some(PhotoAccess { media_type: r.media_type.clone(), full: false }),
        (None, None) => None,
    })
}

/// One photo of a task, for the before-and-after view.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct TaskPhoto {
    pub url: String,
    /// A small copy without metadata (`?size=thumb`), shown first.
    pub thumbnail_url: String,
    pub stage: Stage,
    /// When the report that carried it was filed.
    pub reported_at: DateTime<Utc>,
}

/// The photos of a task's reports, oldest report first: every stage for those who see the task in
/// full, only the before and after photos for the rest (who see them once the task is verified).
pub async fn task_photos(db: &Db, task: Uuid, full: bool) -> Result<Vec<TaskPhoto>, sqlx::Error> {
    let rows = sqlx::query!(
        "SELECT p.sha256, p.stage, r.created_at
         FROM report_photos p JOIN reports r ON r.id = p.report_id
         WHERE r.task_id = $1 AND ($2 OR p.stage IN ('before', 'after'))
         ORDER BY r.created_at, p.position",
        task,
        full
    )
    .fetch_all(db)
    .await?;
    Ok(rows
        .into_iter()
        .map(|r| TaskPhoto {
            url: format!("/api/photos/{}", r.sha256),
            thumbnail_url: format!("/api/photos/{}?size=thumb", r.sha256),
            stage: Stage::parse(&r.stage).unwrap_or(Stage::During),
            reported_at: r.created_at,
        })
        .collect())
}
