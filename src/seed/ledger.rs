//! The demo's tasks with their year of work. Each task of the file is read as a create would read
//! it, its dates moved from the day the file was written for (`as_of`) to today, its story told
//! (`story::tell`) and walked through the workflow's rules (`story::replay`); then, in the order
//! they were created, the tasks are written as their stories left them, with every report, photo
//! and history event on the day it happened.

use std::collections::HashMap;
use std::path::Path;

use chrono::{DateTime, Datelike, Duration, FixedOffset, NaiveDate, Utc};
use serde_json::{Value, json};
use uuid::Uuid;

use super::story::{self, Applied, Did, Facts, Outcome, Stage, Step, Story, Today, Who};
use super::{SeedError, SeedReport, collection};
use crate::domain::task::{NewTask, Status, TaskFields};
use crate::domain::workflow::Action;
use crate::store::Db;
use crate::store::demo::{self, Past};
use crate::store::events::Event;
use crate::store::photos::PhotoStore;
use crate::store::reports::Photo;
use crate::store::tasks::{self, Placed};
use demo_photos::Rng;

/// Reports older than this the bureau has read; the review queue shows the newer ones.
const READ_AFTER: Duration = Duration::days(5);
/// Answers to a return wait longer: the bureau reads them when it checks the work again.
const ANSWER_READ_AFTER: Duration = Duration::days(21);

/// A task to add: as the file has it (dates moved to today), its story, and where that leaves it.
struct Plan {
    index: usize,
    id: Uuid,
    task: NewTask,
    story: Story,
    outcome: Outcome,
    applied: Vec<Applied>,
}

/// The demo accounts who act in the stories.
struct Actors {
    bureau: Uuid,
    admin: Option<Uuid>,
    /// By username (`township-<code>`).
    users: HashMap<String, Uuid>,
}

impl Actors {
    fn officer(&self, township: &str) -> Result<Uuid, String> {
        let name = format!("township-{township}");
        self.users.get(&name).copied().ok_or_else(|| format!("there is no account {name} to report on it"))
    }
}

/// A photo to draw for a report.
struct Job {
    report: Uuid,
    position: i16,
    category: String,
    stage: Stage,
    taken: DateTime<FixedOffset>,
    point: (f64, f64),
    seed: u64,
}

/// Adds the tasks of `file` not yet stored, with their histories; photos go to `photo_store`.
pub(super) async fn load(
    db: &Db,
    photo_store: &PhotoStore,
    file: &Path,
    report: &mut SeedReport,
    progress: &impl Fn(&str),
) -> Result<(), SeedError> {
    let name = file.display().to_string();
    let bad = |index: usize, detail: String| SeedError::Feature { file: name.clone(), index, detail };
    let (features, doc) = collection(file)?;
    let ids = features
        .iter()
        .enumerate()
        .map(|(i, f)| {
            f.get("id")
                .and_then(Value::as_str)
                .and_then(|s| Uuid::parse_str(s).ok())
                .ok_or_else(|| bad(i, "no UUID 'id'".into()))
        })
        .collect::<Result<Vec<_>, _>>()?;
    let present = demo::present(db, &ids).await?;
    let today = today(db).await?;
    let as_of = doc.get("as_of").and_then(Value::as_str).and_then(|s| s.parse::<NaiveDate>().ok());
    let shift = as_of.map_or(Duration::zero(), |d| today.date - d);
    let mut plans = Vec::new();
    for (index, (f, id)) in features.iter().zip(&ids).enumerate() {
        if present.contains(id) {
            report.tasks_already_present += 1;
            continue;
        }
        plans.push(plan(f, index, *id, today, shift).map_err(|d| bad(index, d))?);
    }
    // Written in the order they were created, so their codes count up through the year.
    plans.sort_by_key(|p| (p.story.created_at, p.id));
    write(db, photo_store, &plans, today, report, progress).await.map_err(|e| match e {
        Failure::Task(index, detail) => bad(index, detail),
        Failure::Other(e) => e,
    })
}

/// Why writing failed: a task the store refused (by its index in the file), or anything else.
enum Failure {
    Task(usize, String),
    Other(SeedError),
}

impl From<sqlx::Error> for Failure {
    fn from(e: sqlx::Error) -> Self {
        Failure::Other(SeedError::Db(e))
    }
}

async fn today(db: &Db) -> Result<Today, sqlx::Error> {
    let (date, offset, now) = demo::today(db).await?;
    let offset = FixedOffset::east_opt(offset).unwrap_or_else(|| FixedOffset::east_opt(0).expect("UTC"));
    Ok(Today { date, offset, now })
}

/// The task of feature `f`, its dates moved by `shift`, and its story, checked.
fn plan(f: &Value, index: usize, id: Uuid, today: Today, shift: Duration) -> Result<Plan, String> {
    // The file's dates are as of its own today: checked against that day, then moved to ours.
    let mut task = NewTask::parse(f, today.now - shift).map_err(|errors| {
        errors.iter().map(|e| format!("{}: {}", e.pointer, e.detail)).collect::<Vec<_>>().join("; ")
    })?;
    let t = &mut task.fields;
    t.due_date = t.due_date.map(|d| d + shift);
    t.completed_at = t.completed_at.map(|at| at + shift);
    let facts = Facts {
        id,
        category: &t.category,
        status: t.status,
        progress: t.progress,
        due: t.due_date,
        completed_at: t.completed_at,
        supervised: t.supervised,
        cancel_reason: t.cancel_reason.as_deref(),
        invested: t.actual_investment.is_some(),
    };
    let story = story::tell(&facts, today);
    let (outcome, applied) = story::replay(&story, today.now)?;
    let wanted = (t.status, t.progress, t.supervised, t.completed_at, t.cancel_reason.clone());
    let got =
        (outcome.status, outcome.progress, outcome.supervised, outcome.completed_at, outcome.cancel_reason.clone());
    if got != wanted {
        return Err(format!("its history ends as {got:?}, not as the file has it, {wanted:?}"));
    }
    Ok(Plan { index, id, task, story, outcome, applied })
}

/// Writes the planned tasks, their histories and photos in one transaction.
async fn write(
    db: &Db,
    photo_store: &PhotoStore,
    plans: &[Plan],
    today: Today,
    report: &mut SeedReport,
    progress: &impl Fn(&str),
) -> Result<(), Failure> {
    if plans.is_empty() {
        return Ok(());
    }
    let users = demo::user_ids(db).await?;
    let no_bureau = || Failure::Other(SeedError::Format("accounts".into(), "there is no account bureau to act".into()));
    let actors =
        Actors { bureau: *users.get("bureau").ok_or_else(no_bureau)?, admin: users.get("admin").copied(), users };
    let tasks: Vec<&NewTask> = plans.iter().map(|p| &p.task).collect();
    let townships = demo::townships(db, &tasks).await?;
    let mut tx = demo::begin(db).await?;
    let (mut past, mut jobs) = (Past::default(), Vec::new());
    for (p, township) in plans.iter().zip(townships) {
        let township = township.map_err(|d| Failure::Task(p.index, d))?;
        let officer = actors.officer(&township).map_err(|d| Failure::Task(p.index, d))?;
        let row = row(p, &actors, officer, today);
        let placed = tasks::insert_past(db, &mut tx, p.id, &p.task, &township, &row)
            .await
            .map_err(|e| Failure::Task(p.index, crate::error::ApiError::from(e).detail))?;
        let rng = Rng::new(p.id.as_u128() as u64 ^ 0xD15C);
        Recorder { past: &mut past, jobs: &mut jobs, plan: p, placed: &placed, actors: &actors, officer, today, rng }
            .record();
        report.tasks_added += 1;
        if report.tasks_added.is_multiple_of(100) {
            progress(&format!("tasks: {} of {} added", report.tasks_added, plans.len()));
        }
    }
    let (rows, photos) = render(jobs).await;
    past.photos = rows;
    demo::write(&mut tx, &mut past).await?;
    let place = match photo_store {
        PhotoStore::Folder(dir) => dir.display().to_string(),
        PhotoStore::Database => "the database".to_owned(),
    };
    photo_store.put_all(&mut tx, &photos).await.map_err(|e| Failure::Other(SeedError::Photo(place, e)))?;
    tx.commit().await?;
    report.reports_added = past.reports.len();
    report.photos_added = photos.len();
    Ok(())
}

/// The task's row as its story left it.
fn row<'a>(p: &'a Plan, actors: &Actors, officer: Uuid, today: Today) -> tasks::Past<'a> {
    let o = &p.outcome;
    let last = p.story.steps.last().map_or(Who::Bureau, |s| s.who);
    tasks::Past {
        created_at: p.story.created_at,
        code_year: p.story.created_at.with_timezone(&today.offset).year(),
        updated_at: o.updated_at,
        verified_at: o.verified_at,
        last_report_at: o.last_report_at,
        version: o.version,
        accepted_progress: o.accepted_progress,
        return_reason: o.return_reason.as_deref(),
        created_by: actors.bureau,
        updated_by: if last == Who::Township { officer } else { actors.bureau },
    }
}

/// The fields the task was created with: planned, nothing spent, nothing decided yet.
fn first_fields(p: &Plan) -> TaskFields {
    TaskFields {
        status: Status::Planned,
        progress: p.story.initial_progress,
        actual_investment: None,
        supervised: false,
        completed_at: None,
        cancel_reason: None,
        ..p.task.fields.clone()
    }
}

/// Turns one task's story into rows: its reports, the photos to draw, history events and the
/// bureau's read marks.
struct Recorder<'a, 'w> {
    past: &'w mut Past<'a>,
    jobs: &'w mut Vec<Job>,
    plan: &'a Plan,
    placed: &'w Placed,
    actors: &'w Actors,
    officer: Uuid,
    today: Today,
    rng: Rng,
}

impl<'a> Recorder<'a, '_> {
    fn record(mut self) {
        let p = self.plan;
        let mut created = Event::new(p.id, Some(self.actors.bureau), "created");
        created.status_after = Some(Status::Planned.as_str());
        created.changes = tasks::created_changes(&first_fields(p), &self.placed.township, &self.placed.geometry, None);
        self.past.events.push((p.story.created_at, created));
        let mut returned = false;
        for (step, applied) in p.story.steps.iter().zip(&p.applied) {
            let actor = if step.who == Who::Township { self.officer } else { self.actors.bureau };
            let mut event = Event::new(p.id, Some(actor), "transition");
            event.status_before = Some(applied.status_before.as_str());
            event.status_after = Some(applied.status_after.as_str());
            match &step.did {
                Did::Report { .. } => event = self.report(step, applied, actor, returned, event),
                Did::Transition { action, reason } => {
                    returned |= *action == Action::Return;
                    event.action = Some(action.as_str());
                    event.reason = reason.as_deref();
                }
                Did::Investment => {
                    let before = TaskFields { actual_investment: None, ..p.task.fields.clone() };
                    event = Event { kind: "updated", status_before: None, status_after: None, ..event };
                    event.changes = Value::Object(before.changes_to(&p.task.fields));
                }
            }
            self.past.events.push((step.at, event));
        }
    }

    /// A report, its photos and read marks; answers its `reported` event.
    fn report(
        &mut self,
        step: &'a Step,
        applied: &Applied,
        author: Uuid,
        returned: bool,
        event: Event<'a>,
    ) -> Event<'a> {
        let Did::Report { action, progress, note, photos } = &step.did else { return event };
        let id = report_id(&mut self.rng);
        let (status_before, status_after) = (applied.status_before.as_str(), applied.status_after.as_str());
        let action = action.map(|a| a.as_str());
        let task = self.plan.id;
        self.past.reports.push(demo::Report {
            id,
            task,
            author,
            action,
            progress: *progress,
            note,
            status_before,
            status_after,
            at: step.at,
        });
        for (position, stage) in photos.iter().enumerate() {
            let job = self.photo(id, position, *stage, step.at);
            self.jobs.push(job);
        }
        if step.at < self.today.now - if returned { ANSWER_READ_AFTER } else { READ_AFTER } {
            let seen = (step.at + Duration::days(1)).min(self.today.now);
            let readers = [Some(self.actors.bureau), self.actors.admin].into_iter().flatten();
            self.past.seen.extend(readers.map(|u| (u, id, seen)));
        }
        let mut event = Event { kind: "reported", action, report: Some(id), ..event };
        event.changes = json!({
            "progress": {"before": applied.progress_before, "after": applied.progress_after},
            "note": note,
            "photos": photos.len(),
        });
        event
    }

    /// A photo of the task's place taken shortly before the report was sent.
    fn photo(&mut self, report: Uuid, position: usize, stage: Stage, sent: DateTime<Utc>) -> Job {
        let taken = sent - Duration::minutes(self.rng.range(5, 50));
        // A few tens of metres from the point on the task, as a phone's fix would be.
        let (dx, dy) = ((self.rng.unit() - 0.5) * 0.0006, (self.rng.unit() - 0.5) * 0.0005);
        Job {
            report,
            position: position as i16,
            category: self.plan.task.fields.category.clone(),
            stage,
            taken: taken.with_timezone(&self.today.offset),
            point: (self.placed.point.0 + dx, self.placed.point.1 + dy),
            seed: self.rng.next_u64(),
        }
    }
}

/// A report's id, the same on every load of the same file and day.
fn report_id(rng: &mut Rng) -> Uuid {
    let mut bytes = [0u8; 16];
    bytes[..8].copy_from_slice(&rng.next_u64().to_le_bytes());
    bytes[8..].copy_from_slice(&rng.next_u64().to_le_bytes());
    uuid::Builder::from_random_bytes(bytes).into_uuid()
}

/// Draws the photos, on every core the machine has: their rows and their files.
async fn render(jobs: Vec<Job>) -> (Vec<demo::Photo>, Vec<Photo>) {
    let drawn = tokio::task::spawn_blocking(move || {
        let threads = std::thread::available_parallelism().map_or(1, |n| n.get()).min(8);
        let chunk = jobs.len().div_ceil(threads).max(1);
        let mut chunks: Vec<Vec<Job>> = Vec::new();
        let mut rest = jobs.into_iter();
        loop {
            let c: Vec<Job> = rest.by_ref().take(chunk).collect();
            if c.is_empty() {
                break;
            }
            chunks.push(c);
        }
        std::thread::scope(|s| {
            let handles: Vec<_> =
                chunks.into_iter().map(|c| s.spawn(move || c.into_iter().map(draw).collect::<Vec<_>>())).collect();
            handles.into_iter().flat_map(|h| h.join().expect("drawing a photo cannot fail")).collect::<Vec<_>>()
        })
    });
    drawn.await.expect("drawing a photo cannot fail").into_iter().unzip()
}

fn draw(job: Job) -> (demo::Photo, Photo) {
    let shot = demo_photos::Shot {
        category: &job.category,
        stage: job.stage,
        taken: job.taken,
        lon: job.point.0,
        lat: job.point.1,
        seed: job.seed,
    };
    let photo = Photo::new(demo_photos::jpeg(&shot), "image/jpeg");
    let row = demo::Photo {
        report: job.report,
        position: job.position,
        sha256: photo.sha256.clone(),
        media_type: photo.media_type,
        bytes: photo.bytes.len() as i32,
        stage: match job.stage {
            demo_photos::Stage::Before => "before",
            demo_photos::Stage::During => "during",
            demo_photos::Stage::After => "after",
        },
    };
    (row, photo)
}
