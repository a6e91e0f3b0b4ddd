//! Assessment: a campaign year's scheme, the indicator figures of every township and department
//! in one set-based statement, and frozen results, which never change (the table refuses updates).

use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use sqlx::PgConnection;
use uuid::Uuid;

use super::campaigns::{self, TargetFilter};
use super::{Db, StoreError, StoreResult};
use crate::domain::access::Viewer;
use crate::domain::assessment::{self, Scheme, UnitFigures, UnitScore};
use crate::domain::campaign::against_targets;
use crate::domain::rollup::STALE_AFTER_DAYS;

/// A year's ranking: a draft computed now, or a frozen version.
#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Assessment {
    pub campaign: String,
    pub year: i32,
    /// The day (county time) overdue and stale were judged against.
    pub as_of: NaiveDate,
    /// `draft` (computed on request, bureau staff only) or `frozen`.
    #[schema(example = "frozen")]
    pub state: String,
    /// The frozen version (1, 2, …); null for a draft.
    pub version: Option<i32>,
    pub frozen_at: Option<DateTime<Utc>>,
    /// Who froze it (username).
    pub frozen_by: Option<String>,
    /// Why it was frozen (for a recomputation: why again).
    pub reason: Option<String>,
    pub scheme: Scheme,
    /// Every township, ranked.
    pub townships: Vec<UnitScore>,
    /// Every department, ranked by the tasks it leads.
    pub departments: Vec<UnitScore>,
}

/// A frozen version in the list of versions.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct FrozenVersion {
    pub version: i32,
    pub frozen_at: DateTime<Utc>,
    pub frozen_by: Option<String>,
    pub reason: String,
}

/// The year's scheme: the bureau's, or the default one (`set` false) until it sets its own.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct StoredScheme {
    pub campaign: String,
    pub year: i32,
    /// Whether the bureau set it (false: the default scheme applies).
    pub set: bool,
    pub version: i32,
    pub updated_at: Option<DateTime<Utc>>,
    pub updated_by: Option<String>,
    #[serde(flatten)]
    pub scheme: Scheme,
}

pub async fn scheme<'e>(conn: impl sqlx::PgExecutor<'e>, campaign: &str, year: i32) -> StoreResult<StoredScheme> {
    let row = sqlx::query!(
        r#"SELECT s.indicators, s.version, s.updated_at, u.username AS "username?"
           FROM assessment_schemes s LEFT JOIN users u ON u.id = s.updated_by
           WHERE s.campaign_code = $1 AND s.year = $2"#,
        campaign,
        year
    )
    .fetch_optional(conn)
    .await?;
    Ok(match row {
        Some(r) => StoredScheme {
            campaign: campaign.to_owned(),
            year,
            set: true,
            version: r.version,
            updated_at: Some(r.updated_at),
            updated_by: r.username,
            scheme: serde_json::from_value(json!({"indicators": r.indicators}))
                .map_err(|e| StoreError::Database(sqlx::Error::Decode(Box::new(e))))?,
        },
        None => StoredScheme {
            campaign: campaign.to_owned(),
            year,
            set: false,
            version: 0,
            updated_at: None,
            updated_by: None,
            scheme: Scheme::default_scheme(),
        },
    })
}

/// The year must lie in the campaign: a 404 otherwise, as for a page that does not exist.
pub async fn check_year(conn: &mut PgConnection, campaign: &str, year: i32) -> StoreResult<()> {
    let (first, last) = campaigns::lock_years(conn, campaign).await?;
    if (first..=last).contains(&year) {
        Ok(())
    } else {
        Err(StoreError::NotFound(format!("the campaign '{campaign}' runs from {first} to {last}, not in {year}")))
    }
}

/// Sets the year's scheme; the history keeps it before and after.
pub async fn set_scheme(db: &Db, campaign: &str, year: i32, s: &Scheme, actor: Uuid) -> StoreResult<StoredScheme> {
    let mut tx = super::begin(db).await?;
    check_year(&mut tx, campaign, year).await?;
    let before = scheme(&mut *tx, campaign, year).await?;
    let indicators = serde_json::to_value(&s.indicators).unwrap_or(Value::Null);
    sqlx::query!(
        "INSERT INTO assessment_schemes (campaign_code, year, indicators, updated_by) VALUES ($1, $2, $3, $4)
         ON CONFLICT (campaign_code, year) DO UPDATE
         SET indicators = $3, updated_by = $4, updated_at = now(), version = assessment_schemes.version + 1",
        campaign,
        year,
        indicators,
        actor
    )
    .execute(&mut *tx)
    .await?;
    let changes = json!({"before": before.set.then_some(&before.scheme), "after": s});
    campaigns::record(&mut tx, campaign, Some(actor), "scheme_set", Some(&year.to_string()), None, &changes).await?;
    let stored = scheme(&mut *tx, campaign, year).await?;
    tx.commit().await?;
    Ok(stored)
}

#[derive(sqlx::FromRow)]
struct FigureRow {
    kind: String,
    unit: String,
    tasks: i64,
    on_time: i64,
    on_time_base: i64,
    not_on_time: Vec<String>,
    verified: i64,
    not_verified: Vec<String>,
    overdue: Vec<String>,
    supervised: Vec<String>,
    stale: Vec<String>,
    returned: Vec<String>,
    returns: Vec<i64>,
}

/// The indicator figures of every township and department with assessed tasks, in one statement:
/// the campaign's tasks due in the year and not cancelled, each counted once for its township and
/// once for its lead department, with the codes behind each figure. $3 is today, $4 the start of
/// the stale cut-off day. Public for the benchmark, which times it bare.
pub const FIGURES_SQL: &str = "
WITH scope AS (
    SELECT t.id, t.code, t.township_code, t.lead_department, t.status,
           t.supervised AND t.status <> 'verified' AS supervised,
           t.status IN ('completed', 'verified') AS finished,
           coalesce(t.status IN ('completed', 'verified') AND t.completed_at::date <= t.due_date, false) AS on_time,
           t.status IN ('planned', 'in_progress') AND t.due_date < $3 AS overdue,
           t.status IN ('planned', 'in_progress') AND coalesce(t.last_report_at, t.created_at) < $4 AS stale
    FROM tasks t
    WHERE t.campaign_code = $1 AND t.status <> 'cancelled'
      AND t.due_date >= make_date($2, 1, 1) AND t.due_date < make_date($2 + 1, 1, 1)
), returns AS (
    SELECT e.task_id, count(*) AS n FROM task_events e JOIN scope s ON s.id = e.task_id
    WHERE e.kind = 'transition' AND e.action = 'return' GROUP BY e.task_id
), units AS (
    SELECT 'township' AS kind, township_code AS unit, s.* FROM scope s
    UNION ALL
    SELECT 'department', lead_department, s.* FROM scope s WHERE lead_department IS NOT NULL
)
SELECT u.kind, u.unit, count(*) AS tasks,
       count(*) FILTER (WHERE on_time) AS on_time,
       count(*) FILTER (WHERE finished OR overdue) AS on_time_base,
       coalesce(array_agg(code ORDER BY code) FILTER (WHERE (finished OR overdue) AND NOT on_time), '{}') AS not_on_time,
       count(*) FILTER (WHERE status = 'verified') AS verified,
       coalesce(array_agg(code ORDER BY code) FILTER (WHERE status <> 'verified'), '{}') AS not_verified,
       coalesce(array_agg(code ORDER BY code) FILTER (WHERE overdue), '{}') AS overdue,
       coalesce(array_agg(code ORDER BY code) FILTER (WHERE supervised), '{}') AS supervised,
       coalesce(array_agg(code ORDER BY code) FILTER (WHERE stale), '{}') AS stale,
       coalesce(array_agg(code ORDER BY code) FILTER (WHERE r.n > 0), '{}') AS returned,
       coalesce(array_agg(r.n ORDER BY code) FILTER (WHERE r.n > 0), '{}') AS returns
FROM units u LEFT JOIN returns r ON r.task_id = u.id
GROUP BY 1, 2";

impl FigureRow {
    fn into_figures(self, kind: &'static str, name: String) -> UnitFigures {
        let returned = self
            .returned
            .iter()
            .zip(&self.returns)
            .flat_map(|(code, n)| std::iter::repeat_n(code.clone(), *n as usize))
            .collect();
        UnitFigures {
            kind,
            code: self.unit,
            name,
            tasks: self.tasks,
            finished_on_time: self.on_time,
            on_time_base: self.on_time_base,
            not_on_time: self.not_on_time,
            verified: self.verified,
            not_verified: self.not_verified,
            overdue: self.overdue,
            supervised: self.supervised,
            stale: self.stale,
            returned,
            target_rate: None,
            target_notes: Vec::new(),
        }
    }
}

struct Units {
    today: NaiveDate,
    stale_before: DateTime<Utc>,
    townships: Vec<(String, String)>,
    departments: Vec<(String, String)>,
}

/// Today, the stale cut-off and every township and department, from the transaction's snapshot.
async fn units(conn: &mut PgConnection) -> Result<Units, sqlx::Error> {
    let r = sqlx::query!(
        r#"SELECT current_date AS "today!", (current_date - $1::int4)::timestamptz AS "stale_before!",
                  ARRAY(SELECT code FROM townships ORDER BY code) AS "t_codes!",
                  ARRAY(SELECT name FROM townships ORDER BY code) AS "t_names!",
                  ARRAY(SELECT code FROM departments ORDER BY sort_order, code) AS "d_codes!",
                  ARRAY(SELECT name_zh FROM departments ORDER BY sort_order, code) AS "d_names!""#,
        STALE_AFTER_DAYS
    )
    .fetch_one(conn)
    .await?;
    Ok(Units {
        today: r.today,
        stale_before: r.stale_before,
        townships: r.t_codes.into_iter().zip(r.t_names).collect(),
        departments: r.d_codes.into_iter().zip(r.d_names).collect(),
    })
}

/// Every unit's figures: the statement's rows, zeros for units without assessed tasks, and the
/// townships' completion against their targets (over all tasks, as the bureau sees them).
async fn figures(conn: &mut PgConnection, campaign: &str, year: i32, u: &Units) -> StoreResult<Vec<UnitFigures>> {
    // Runtime-checked: shared with the benchmark, which runs the same text bare.
    let rows: Vec<FigureRow> = sqlx::query_as(FIGURES_SQL)
        .bind(campaign)
        .bind(year)
        .bind(u.today)
        .bind(u.stale_before)
        .persistent(false)
        .fetch_all(&mut *conn)
        .await?;
    let targets = campaigns::targets(
        &mut *conn,
        campaign,
        &TargetFilter { year: Some(year), ..Default::default() },
        &Viewer::Staff,
    )
    .await?;
    let mut rows: std::collections::HashMap<(String, String), FigureRow> =
        rows.into_iter().map(|r| ((r.kind.clone(), r.unit.clone()), r)).collect();
    let mut out = Vec::new();
    for (kind, list) in [("township", &u.townships), ("department", &u.departments)] {
        for (code, name) in list {
            let mut f = match rows.remove(&(kind.to_owned(), code.clone())) {
                Some(r) => r.into_figures(kind, name.clone()),
                None => UnitFigures { kind, code: code.clone(), name: name.clone(), ..Default::default() },
            };
            if kind == "township" {
                let mine: Vec<_> = targets.iter().filter(|t| &t.township == code).collect();
                f.target_rate = against_targets(&mine.iter().filter_map(|t| t.rate).collect::<Vec<_>>());
                f.target_notes =
                    mine.iter().map(|t| format!("{} {:.2}%", t.category, t.rate.unwrap_or(0.0) * 100.0)).collect();
            }
            out.push(f);
        }
    }
    Ok(out)
}

/// The year's draft: every unit scored and ranked under the year's scheme, all read in one
/// snapshot so the figures and targets agree.
pub async fn draft(db: &Db, campaign: &str, year: i32) -> StoreResult<Assessment> {
    let mut tx = super::begin_with(db, "BEGIN ISOLATION LEVEL REPEATABLE READ, READ ONLY").await?;
    let a = compute(&mut tx, campaign, year).await?;
    tx.commit().await?;
    Ok(a)
}

async fn compute(conn: &mut PgConnection, campaign: &str, year: i32) -> StoreResult<Assessment> {
    let (first, last) = {
        let c = campaigns::get(&mut *conn, campaign).await?;
        (c.first_year, c.last_year)
    };
    if !(first..=last).contains(&year) {
        return Err(StoreError::NotFound(format!(
            "the campaign '{campaign}' runs from {first} to {last}, not in {year}"
        )));
    }
    let scheme = scheme(&mut *conn, campaign, year).await?.scheme;
    let u = units(conn).await?;
    let figures = figures(conn, campaign, year, &u).await?;
    let (townships, departments): (Vec<UnitScore>, Vec<UnitScore>) =
        figures.iter().map(|f| assessment::score(&scheme, f)).partition(|s| s.kind == "township");
    Ok(Assessment {
        campaign: campaign.to_owned(),
        year,
        as_of: u.today,
        state: "draft".into(),
        version: None,
        frozen_at: None,
        frozen_by: None,
        reason: None,
        scheme,
        townships: assessment::rank(townships),
        departments: assessment::rank(departments),
    })
}

/// Freezes the year's result as it stands, in the caller's transaction (REPEATABLE READ, so the
/// figures and the version agree): a new version (1, 2, …) that never changes afterwards.
pub async fn freeze(
    tx: &mut PgConnection,
    campaign: &str,
    year: i32,
    reason: &str,
    actor: Uuid,
) -> StoreResult<FrozenVersion> {
    // Two freezes at once would both pick the same next version: the versions' unique key refuses
    // the second, answered 409, rather than a lock taken after the snapshot was fixed.
    let mut a = compute(&mut *tx, campaign, year).await?;
    let version = sqlx::query_scalar!(
        r#"SELECT coalesce(max(version), 0) + 1 AS "v!" FROM assessment_results WHERE campaign_code = $1 AND year = $2"#,
        campaign,
        year
    )
    .fetch_one(&mut *tx)
    .await?;
    let who = sqlx::query_scalar!("SELECT username FROM users WHERE id = $1", actor).fetch_optional(&mut *tx).await?;
    let frozen_at = Utc::now();
    (a.state, a.version, a.frozen_at, a.frozen_by, a.reason) =
        ("frozen".into(), Some(version), Some(frozen_at), who.clone(), Some(reason.to_owned()));
    let scheme = serde_json::to_value(&a.scheme).unwrap_or(Value::Null);
    let result = serde_json::to_value(&a).unwrap_or(Value::Null);
    sqlx::query!(
        "INSERT INTO assessment_results (campaign_code, year, version, frozen_at, frozen_by, reason, scheme, result)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
        campaign,
        year,
        version,
        frozen_at,
        actor,
        reason,
        scheme,
        result
    )
    .execute(&mut *tx)
    .await
    .map_err(|e| match &e {
        sqlx::Error::Database(d) if d.constraint() == Some("assessment_results_version") => {
            StoreError::Conflict(format!("{campaign} {year} was frozen by someone else at the same moment: look again"))
        }
        _ => e.into(),
    })?;
    let changes = json!({"version": version});
    campaigns::record(tx, campaign, Some(actor), "result_frozen", Some(&year.to_string()), Some(reason), &changes)
        .await?;
    Ok(FrozenVersion { version, frozen_at, frozen_by: who, reason: reason.to_owned() })
}

/// A frozen version (the latest without `version`), exactly as it was stored.
pub async fn frozen(db: &Db, campaign: &str, year: i32, version: Option<i32>) -> StoreResult<Assessment> {
    campaigns::get(db, campaign).await?;
    let row = sqlx::query_scalar!(
        "SELECT result FROM assessment_results WHERE campaign_code = $1 AND year = $2 AND ($3::int4 IS NULL OR version = $3)
         ORDER BY version DESC LIMIT 1",
        campaign,
        year,
        version
    )
    .fetch_optional(db)
    .await?
    .ok_or_else(|| match version {
        Some(v) => StoreError::NotFound(format!("{campaign} {year} has no frozen version {v}")),
        None => StoreError::NotFound(format!("{campaign} {year} has no published (frozen) result yet")),
    })?;
    serde_json::from_value(row).map_err(|e| StoreError::Database(sqlx::Error::Decode(Box::new(e))))
}

/// The year's frozen versions, newest first.
pub async fn versions(db: &Db, campaign: &str, year: i32) -> StoreResult<Vec<FrozenVersion>> {
    campaigns::get(db, campaign).await?;
    Ok(sqlx::query_as!(
        FrozenVersion,
        r#"SELECT r.version, r.frozen_at, u.username AS "frozen_by?", r.reason
           FROM assessment_results r LEFT JOIN users u ON u.id = r.frozen_by
           WHERE r.campaign_code = $1 AND r.year = $2 ORDER BY r.version DESC"#,
        campaign,
        year
    )
    .fetch_all(db)
    .await?)
}
