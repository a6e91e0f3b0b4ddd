//! Loads the demo county (data/townships.geojson, data/tasks.geojson) and a year of work on its
//! tasks: each task's history from its creation to the state the file gives it (`story`), with
//! the townships' reports and their photos, dated back from today. Only adds what is missing, so
//! a second run neither duplicates nor overwrites anything, edits made since included.

mod ledger;
mod story;

use std::path::Path;

use serde_json::Value;
use sqlx::PgConnection;

use crate::store::photos::PhotoStore;
use crate::store::{self, Db};

#[derive(Debug, Default, PartialEq, Eq)]
pub struct SeedReport {
    pub users_added: usize,
    pub townships_added: usize,
    pub tasks_added: usize,
    pub tasks_already_present: usize,
    /// Reports of the added tasks' histories, and the photos they carry.
    pub reports_added: usize,
    pub photos_added: usize,
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
    #[error("cannot store a photo in {0}: {1}")]
    Photo(String, std::io::Error),
}

/// A FeatureCollection's features and its foreign members.
fn collection(path: &Path) -> Result<(Vec<Value>, Value), SeedError> {
    let name = path.display().to_string();
    let text = std::fs::read_to_string(path).map_err(|e| SeedError::Read(name.clone(), e))?;
    let mut doc: Value = serde_json::from_str(&text).map_err(|e| SeedError::Format(name.clone(), e.to_string()))?;
    match doc.get_mut("features").map(Value::take) {
        Some(Value::Array(f)) if doc.get("type") == Some(&Value::from("FeatureCollection")) => Ok((f, doc)),
        _ => Err(SeedError::Format(name, "no 'features' array".into())),
    }
}

fn features(path: &Path) -> Result<Vec<Value>, SeedError> {
    Ok(collection(path)?.0)
}

/// Loads what is missing of the demo from `dir`; the report photos go where the service keeps
/// them (`photos`: its data folder or the database), where it will look for them.
pub async fn load_demo(
    db: &Db,
    dir: &Path,
    photos: &PhotoStore,
    progress: impl Fn(&str),
) -> Result<SeedReport, SeedError> {
    let mut report = SeedReport::default();
    let mut tx = db.begin().await?;
    report.townships_added = load_townships(&mut tx, &dir.join("townships.geojson")).await?;
    tx.commit().await?;
    progress(&format!("townships: {} added", report.townships_added));
    // The townships' officers report on their tasks in the histories below.
    report.users_added = demo_accounts(db, &demo_password()).await?;
    progress(&format!("accounts: {} added", report.users_added));
    ledger::load(db, photos, &dir.join("tasks.geojson"), &mut report, &progress).await?;
    progress(&format!(
        "tasks: {} added with {} reports and {} photos, {} already present",
        report.tasks_added, report.reports_added, report.photos_added, report.tasks_already_present
    ));
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

pub const DEMO_PASSWORD: &str = "greenledger-demo";

/// The demo accounts' password: `GREENLEDGER_DEMO_PASSWORD`, or the documented default.
pub fn demo_password() -> String {
    std::env::var("GREENLEDGER_DEMO_PASSWORD").ok().filter(|p| !p.is_empty()).unwrap_or_else(|| DEMO_PASSWORD.into())
}

/// `admin`, `bureau`, `township-<code>` for every township and `department-<code>` for every
/// department, all with `password`; existing accounts are left as they are.
pub async fn demo_accounts(db: &Db, password: &str) -> Result<usize, SeedError> {
    let townships = sqlx::query!("SELECT code, name FROM townships ORDER BY code").fetch_all(db).await?;
    let mut accounts = vec![
        ("admin".to_owned(), "系统管理员".to_owned(), "admin", None, None),
        ("bureau".to_owned(), "县环保局".to_owned(), "bureau", None, None),
    ];
    for t in townships {
        accounts.push((format!("township-{}", t.code), t.name, "township", Some(t.code), None));
    }
    for d in store::departments::list(db).await? {
        accounts.push((format!("department-{}", d.code), d.name_zh, "department", None, Some(d.code)));
    }
    let existing = sqlx::query_scalar!("SELECT username FROM users").fetch_all(db).await?;
    let mut added = 0;
    for (username, display_name, role, township, department) in accounts.iter().filter(|a| !existing.contains(&a.0)) {
        let hash = crate::auth::password::hash(password.to_owned())
            .await
            .map_err(|e| SeedError::Format("password".into(), e.detail))?;
        let new = store::accounts::NewUser {
            username,
            display_name,
            role,
            township: township.as_deref(),
            department: department.as_deref(),
            password_hash: &hash,
            // The demo's documented password is meant to be used as it is.
            must_change_password: false,
        };
        added += usize::from(store::accounts::create_user(db, &new).await?.is_some());
    }
    Ok(added)
}
