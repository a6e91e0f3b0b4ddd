//! Loads the demo county (data/townships.geojson, data/tasks.geojson). Only adds what is missing,
//! so a second run neither duplicates nor overwrites anything, edits made since included.

use std::path::Path;

use chrono::Utc;
use serde_json::Value;
use sqlx::PgConnection;
use uuid::Uuid;

use crate::domain::task::NewTask;
use crate::store::{self, Db};

#[derive(Debug, Default, PartialEq, Eq)]
pub struct SeedReport {
    pub users_added: usize,
    pub townships_added: usize,
    pub tasks_added: usize,
    pub tasks_already_present: usize,
}

#[derive(Debug, thiserror::Error)]
pub enum SeedError {
    #[error("cannot read {0}: {1}")]
    Read(String, std::io::Error),
    #[error("{0} is not a GeoJSON FeatureCollection: {1}")]
    Format(String, String),
    #[error("{file} feature {index}: {detail}")]
    Feature { file: String, index: usize, detail: String },
    #[error("database: {0}")]
    Db(#[from] sqlx::Error),
}

fn features(path: &Path) -> Result<Vec<Value>, SeedError> {
    let name = path.display().to_string();
    let text = std::fs::read_to_string(path).map_err(|e| SeedError::Read(name.clone(), e))?;
    let doc: Value = serde_json::from_str(&text).map_err(|e| SeedError::Format(name.clone(), e.to_string()))?;
    match doc.get("features") {
        Some(Value::Array(f)) if doc.get("type") == Some(&Value::from("FeatureCollection")) => Ok(f.clone()),
        _ => Err(SeedError::Format(name, "no 'features' array".into())),
    }
}

pub async fn load_demo(db: &Db, dir: &Path, progress: impl Fn(&str)) -> Result<SeedReport, SeedError> {
    let mut report = SeedReport::default();
    let mut tx = db.begin().await?;
    report.townships_added = load_townships(&mut tx, &dir.join("townships.geojson")).await?;
    progress(&format!("townships: {} added", report.townships_added));
    load_tasks(db, &mut tx, &dir.join("tasks.geojson"), &mut report, &progress).await?;
    tx.commit().await?;
    progress(&format!("tasks: {} added, {} already present", report.tasks_added, report.tasks_already_present));
    report.users_added = demo_accounts(db, &demo_password()).await?;
    progress(&format!("accounts: {} added", report.users_added));
    Ok(report)
}

/// The townships of `file` not yet stored; how many were added.
async fn load_townships(tx: &mut PgConnection, file: &Path) -> Result<usize, SeedError> {
    let mut count = 0;
    for (index, f) in features(file)?.iter().enumerate() {
        let bad = |detail: &str| SeedError::Feature { file: file.display().to_string(), index, detail: detail.into() };
        let p = f.get("properties").ok_or_else(|| bad("no properties"))?;
        let text = |k: &str| p.get(k).and_then(Value::as_str).ok_or_else(|| bad(&format!("no '{k}'")));
        let geometry = f.get("geometry").ok_or_else(|| bad("no geometry"))?.to_string();
        let added = sqlx::query_scalar!(
            r#"WITH ins AS (
                   INSERT INTO townships (code, name, kind, boundary)
                   VALUES ($1, $2, $3, ST_Multi(ST_GeomFromGeoJSON($4)))
                   ON CONFLICT (code) DO NOTHING RETURNING 1)
               SELECT EXISTS (SELECT 1 FROM ins) AS "added!""#,
            text("code")?,
            text("name")?,
            text("kind")?,
            geometry
        )
        .fetch_one(&mut *tx)
        .await?;
        count += usize::from(added);
    }
    Ok(count)
}

/// The tasks of `file` not yet stored, by id, counted in `report`.
async fn load_tasks(
    db: &Db,
    tx: &mut PgConnection,
    file: &Path,
    report: &mut SeedReport,
    progress: &impl Fn(&str),
) -> Result<(), SeedError> {
    let tasks = features(file)?;
    let ids: Vec<Uuid> = tasks
        .iter()
        .enumerate()
        .map(|(index, f)| {
            f.get("id").and_then(Value::as_str).and_then(|s| Uuid::parse_str(s).ok()).ok_or_else(|| {
                SeedError::Feature { file: file.display().to_string(), index, detail: "no UUID 'id'".into() }
            })
        })
        .collect::<Result<_, _>>()?;
    let present = sqlx::query_scalar!("SELECT id FROM tasks WHERE id = ANY($1)", &ids).fetch_all(&mut *tx).await?;
    let now = Utc::now();
    for (index, (f, id)) in tasks.iter().zip(&ids).enumerate() {
        if present.contains(id) {
            report.tasks_already_present += 1;
            continue;
        }
        let bad = |detail: String| SeedError::Feature { file: file.display().to_string(), index, detail };
        let task = NewTask::parse(f, now).map_err(|errors| {
            bad(errors.iter().map(|e| format!("{}: {}", e.pointer, e.detail)).collect::<Vec<_>>().join("; "))
        })?;
        store::tasks::insert(db, tx, Some(*id), &task, None)
            .await
            .map_err(|e| bad(crate::error::ApiError::from(e).detail))?;
        report.tasks_added += 1;
        if report.tasks_added.is_multiple_of(100) {
            progress(&format!("tasks: {} of {} added", report.tasks_added, tasks.len() - present.len()));
        }
    }
    Ok(())
}

pub const DEMO_PASSWORD: &str = "greenledger-demo";

/// The demo accounts' password: `GREENLEDGER_DEMO_PASSWORD`, or the documented default.
pub fn demo_password() -> String {
    std::env::var("GREENLEDGER_DEMO_PASSWORD").ok().filter(|p| !p.is_empty()).unwrap_or_else(|| DEMO_PASSWORD.into())
}

/// `admin`, `bureau`, and `township-<code>` for every township, all with `password`; existing
/// accounts are left as they are.
pub async fn demo_accounts(db: &Db, password: &str) -> Result<usize, SeedError> {
    let townships = sqlx::query!("SELECT code, name FROM townships ORDER BY code").fetch_all(db).await?;
    let mut accounts = vec![
        ("admin".to_owned(), "系统管理员".to_owned(), "admin", None),
        ("bureau".to_owned(), "县环保局".to_owned(), "bureau", None),
    ];
    for t in townships {
        accounts.push((format!("township-{}", t.code), t.name, "township", Some(t.code)));
    }
    let existing = sqlx::query_scalar!("SELECT username FROM users").fetch_all(db).await?;
    let mut added = 0;
    for (username, display_name, role, township) in accounts.iter().filter(|a| !existing.contains(&a.0)) {
        let hash = crate::auth::password::hash(password.to_owned())
            .await
            .map_err(|e| SeedError::Format("password".into(), e.detail))?;
        let new = store::accounts::NewUser {
            username,
            display_name,
            role,
            township: township.as_deref(),
            password_hash: &hash,
            // The demo's documented password is meant to be used as it is.
            must_change_password: false,
        };
        added += usize::from(store::accounts::create_user(db, &new).await?.is_some());
    }
    Ok(added)
}
