//! Campaigns, their yearly targets, the tasks that belong to them, and their history. Progress
//! against a target is counted from the tasks in one statement (`progress`); what counts is
//! decided in `domain::campaign`.

use chrono::{DateTime, Utc};
use serde::Serialize;
use serde_json::{Value, json};
use sqlx::{PgConnection, Postgres, QueryBuilder};
use uuid::Uuid;

use super::tasks::push_visibility;
use super::{Db, StoreError, StoreResult};
use crate::domain::access::Viewer;
use crate::domain::campaign::{self, CampaignChange, CountedWhen, NewCampaign, TargetInput};
use crate::domain::{Code, FieldError};

/// A campaign.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct Campaign {
    #[schema(example = "gongjian-2026")]
    pub code: String,
    #[schema(example = "生态环境攻坚三年行动")]
    pub name_zh: String,
    #[schema(example = "Three-year environmental drive")]
    pub name_en: String,
    #[schema(example = 2026)]
    pub first_year: i32,
    #[schema(example = 2028)]
    pub last_year: i32,
}

/// A target with how far it is, counted from the tasks the caller may see.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct Target {
    pub id: i64,
    pub year: i32,
    #[schema(example = "330599101")]
    pub township: String,
    pub township_name: String,
    #[schema(example = "watershed")]
    pub category: String,
    /// Tasks to achieve, if the target sets a number.
    pub task_count: Option<i32>,
    /// Quantity to achieve in `unit`, if the target sets one.
    pub quantity: Option<f64>,
    #[schema(example = "km")]
    pub unit: Option<String>,
    pub counted_when: CountedWhen,
    /// Tasks of the campaign in this township and family due this year, not cancelled.
    pub tasks_planned: i64,
    /// Of those, achieved (verified; or completed or verified when `counted_when` is completed).
    pub tasks_achieved: i64,
    /// Sum of `target_quantity` of the planned tasks whose `target_unit` is the target's unit.
    pub quantity_planned: f64,
    /// The same over the achieved tasks.
    pub quantity_achieved: f64,
    /// tasks_achieved ÷ task_count (not capped), null without a count.
    pub count_rate: Option<f64>,
    /// quantity_achieved ÷ quantity (not capped), null without a quantity.
    pub quantity_rate: Option<f64>,
    /// The lower of the two rates given: the target's 完成率.
    pub rate: Option<f64>,
    pub version: i32,
    pub updated_at: DateTime<Utc>,
}

/// One entry of a campaign's history.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct CampaignEvent {
    pub id: i64,
    pub at: DateTime<Utc>,
    /// The account's username; null for changes made outside the API.
    pub actor: Option<String>,
    #[schema(example = "target_set")]
    pub kind: String,
    /// What the event is about, e.g. `2026/330599101/watershed` for a target, `2026` for a scheme.
    pub subject: Option<String>,
    pub reason: Option<String>,
    #[schema(value_type = Object)]
    pub changes: Value,
}

/// Appends to the campaign's history, in the caller's transaction.
pub async fn record(
    conn: &mut PgConnection,
    campaign: &str,
    actor: Option<Uuid>,
    kind: &str,
    subject: Option<&str>,
    reason: Option<&str>,
    changes: &Value,
) -> Result<(), sqlx::Error> {
    sqlx::query!(
        "INSERT INTO campaign_events (campaign_code, actor_id, kind, subject, reason, changes) VALUES ($1, $2, $3, $4, $5, $6)",
        campaign,
        actor,
        kind,
        subject,
        reason,
        changes
    )
    .execute(conn)
    .await?;
    Ok(())
}

pub async fn list(db: &Db) -> Result<Vec<Campaign>, sqlx::Error> {
    sqlx::query_as!(
        Campaign,
        "SELECT code, name_zh, name_en, first_year, last_year FROM campaigns ORDER BY first_year DESC, code"
    )
    .fetch_all(db)
    .await
}

pub async fn get<'e>(conn: impl sqlx::PgExecutor<'e>, code: &str) -> StoreResult<Campaign> {
    sqlx::query_as!(
        Campaign,
        "SELECT code, name_zh, name_en, first_year, last_year FROM campaigns WHERE code = $1",
        code
    )
    .fetch_optional(conn)
    .await?
    .ok_or_else(|| StoreError::NotFound(format!("there is no campaign '{code}'")))
}

/// Adds a campaign with its history event, in the caller's transaction.
pub async fn create(conn: &mut PgConnection, c: &NewCampaign, actor: Uuid) -> StoreResult<Campaign> {
    sqlx::query!(
        "INSERT INTO campaigns (code, name_zh, name_en, first_year, last_year) VALUES ($1, $2, $3, $4, $5)",
        c.code,
        c.name_zh,
        c.name_en,
        c.first_year,
        c.last_year
    )
    .execute(&mut *conn)
    .await
    .map_err(|e| match &e {
        sqlx::Error::Database(d) if d.constraint() == Some("campaigns_pkey") => {
            StoreError::Conflict(format!("there is already a campaign '{}'", c.code))
        }
        _ => e.into(),
    })?;
    let changes =
        json!({"name_zh": c.name_zh, "name_en": c.name_en, "first_year": c.first_year, "last_year": c.last_year});
    record(conn, &c.code, Some(actor), "campaign_created", None, None, &changes).await?;
    get(&mut *conn, &c.code).await
}

/// The campaign's years, locked against a concurrent change.
pub async fn lock_years(conn: &mut PgConnection, code: &str) -> StoreResult<(i32, i32)> {
    let row = sqlx::query!("SELECT first_year, last_year FROM campaigns WHERE code = $1 FOR UPDATE", code)
        .fetch_optional(conn)
        .await?
        .ok_or_else(|| StoreError::NotFound(format!("there is no campaign '{code}'")))?;
    Ok((row.first_year, row.last_year))
}

/// Changes a campaign's names or years; years that targets or schemes use must stay.
pub async fn update(db: &Db, code: &str, body: &Value, actor: Uuid) -> StoreResult<Campaign> {
    let mut tx = super::begin(db).await?;
    let current = lock_years(&mut tx, code).await?;
    let change = CampaignChange::parse(body, current).map_err(StoreError::Invalid)?;
    let (first, last) = change.years(current);
    let outside = sqlx::query_scalar!(
        r#"SELECT min(year) AS "year" FROM (SELECT year FROM campaign_targets WHERE campaign_code = $1
                UNION ALL SELECT year FROM assessment_schemes WHERE campaign_code = $1) y
           WHERE year NOT BETWEEN $2 AND $3"#,
        code,
        first,
        last
    )
    .fetch_one(&mut *tx)
    .await?;
    if let Some(year) = outside {
        return Err(StoreError::Invalid(vec![campaign::year_in_use(year)]));
    }
    sqlx::query!(
        "UPDATE campaigns SET name_zh = coalesce($2, name_zh), name_en = coalesce($3, name_en),
                first_year = $4, last_year = $5, updated_at = now() WHERE code = $1",
        code,
        change.name_zh,
        change.name_en,
        first,
        last
    )
    .execute(&mut *tx)
    .await?;
    record(&mut tx, code, Some(actor), "campaign_updated", None, None, body).await?;
    let campaign = get(&mut *tx, code).await?;
    tx.commit().await?;
    Ok(campaign)
}

/// Which targets to read: all of a campaign, or one year, one township, one target.
#[derive(Debug, Clone, Default)]
pub struct TargetFilter {
    pub year: Option<i32>,
    pub township: Option<String>,
    pub id: Option<i64>,
}

#[derive(sqlx::FromRow)]
struct ProgressRow {
    id: i64,
    year: i32,
    township: String,
    township_name: String,
    category: String,
    task_count: Option<i32>,
    quantity: Option<f64>,
    unit: Option<String>,
    counted_when: String,
    tasks_planned: i64,
    tasks_achieved: i64,
    quantity_planned: f64,
    quantity_achieved: f64,
    version: i32,
    updated_at: DateTime<Utc>,
}

impl From<ProgressRow> for Target {
    fn from(r: ProgressRow) -> Target {
        let (count_rate, quantity_rate, rate) =
            campaign::target_rate(r.task_count, r.quantity, r.tasks_achieved, r.quantity_achieved);
        Target {
            id: r.id,
            year: r.year,
            township: r.township,
            township_name: r.township_name,
            category: r.category,
            task_count: r.task_count,
            quantity: r.quantity,
            unit: r.unit,
            counted_when: CountedWhen::parse(&r.counted_when),
            tasks_planned: r.tasks_planned,
            tasks_achieved: r.tasks_achieved,
            quantity_planned: r.quantity_planned,
            quantity_achieved: r.quantity_achieved,
            count_rate,
            quantity_rate,
            rate,
            version: r.version,
            updated_at: r.updated_at,
        }
    }
}

/// The targets' progress statement: every target joined to the tasks that count for it (the
/// domain's rule: same campaign, township and family, due in the target's year, not cancelled),
/// over the tasks `viewer` may see. Public for the assessment and the benchmark.
pub fn progress_query<'a>(campaign: &str, f: &TargetFilter, viewer: &Viewer) -> QueryBuilder<'a, Postgres> {
    // Runtime-checked: the viewer's visibility and the filter are added at run time.
    let mut qb = QueryBuilder::new(
        "SELECT g.id, g.year, g.township_code AS township, w.name AS township_name, g.category,
                g.task_count, g.quantity::float8 AS quantity, g.unit, g.counted_when,
                count(t.id) AS tasks_planned,
                count(t.id) FILTER (WHERE a.achieved) AS tasks_achieved,
                coalesce(sum(t.target_quantity) FILTER (WHERE t.target_unit = g.unit), 0)::float8 AS quantity_planned,
                coalesce(sum(t.target_quantity) FILTER (WHERE t.target_unit = g.unit AND a.achieved), 0)::float8
                    AS quantity_achieved,
                g.version, g.updated_at
         FROM campaign_targets g
         JOIN townships w ON w.code = g.township_code
         LEFT JOIN tasks t ON t.campaign_code = g.campaign_code AND t.township_code = g.township_code
              AND t.category = g.category AND t.status <> 'cancelled'
              AND t.due_date >= make_date(g.year, 1, 1) AND t.due_date < make_date(g.year + 1, 1, 1)",
    );
    push_visibility(&mut qb, viewer);
    qb.push(
        " LEFT JOIN LATERAL (SELECT t.status = 'verified' OR (g.counted_when = 'completed' AND t.status = 'completed')
              AS achieved) a ON true
         WHERE g.campaign_code = ",
    )
    .push_bind(campaign.to_owned());
    if let Some(y) = f.year {
        qb.push(" AND g.year = ").push_bind(y);
    }
    if let Some(t) = &f.township {
        qb.push(" AND g.township_code = ").push_bind(t.clone());
    }
    if let Some(id) = f.id {
        qb.push(" AND g.id = ").push_bind(id);
    }
    qb.push(" GROUP BY g.id, w.name ORDER BY g.year, g.township_code, g.category");
    qb
}

/// The campaign's targets that match `f`, each with its progress over the tasks `viewer` may see.
pub async fn targets<'e>(
    conn: impl sqlx::PgExecutor<'e>,
    campaign: &str,
    f: &TargetFilter,
    viewer: &Viewer,
) -> Result<Vec<Target>, sqlx::Error> {
    let rows: Vec<ProgressRow> =
        progress_query(campaign, f, viewer).build_query_as().persistent(false).fetch_all(conn).await?;
    Ok(rows.into_iter().map(Target::from).collect())
}

/// A refused reference or a second target for the same year, township and family, in words.
fn target_refused(err: sqlx::Error, t: &TargetInput) -> StoreError {
    match &err {
        sqlx::Error::Database(d) => match d.constraint() {
            Some("campaign_targets_one") => {
                StoreError::Invalid(vec![campaign::target_exists(t.year, &t.township, &t.category)])
            }
            Some("campaign_targets_township_code_fkey") => StoreError::BadReference(
                FieldError::new("/township", Code::UnknownValue, format!("there is no township '{}'", t.township))
                    .with("got", t.township.clone()),
            ),
            Some("campaign_targets_category_fkey") => StoreError::BadReference(
                FieldError::new("/category", Code::UnknownValue, format!("there is no task family '{}'", t.category))
                    .with("got", t.category.clone()),
            ),
            _ => err.into(),
        },
        _ => err.into(),
    }
}

fn target_subject(t: &TargetInput) -> String {
    format!("{}/{}/{}", t.year, t.township, t.category)
}

fn target_json(t: &TargetInput) -> Value {
    json!({"year": t.year, "township": t.township, "category": t.category, "task_count": t.task_count,
           "quantity": t.quantity, "unit": t.unit, "counted_when": t.counted_when.as_str()})
}

/// Adds a target, in the caller's transaction (its year checked against the campaign's, which stay
/// locked meanwhile).
pub async fn create_target(tx: &mut PgConnection, campaign: &str, body: &Value, actor: Uuid) -> StoreResult<Target> {
    let years = lock_years(tx, campaign).await?;
    let t = TargetInput::parse(body, years).map_err(StoreError::Invalid)?;
    let id = sqlx::query_scalar!(
        "INSERT INTO campaign_targets (campaign_code, year, township_code, category, task_count, quantity, unit,
                                       counted_when, updated_by)
         VALUES ($1, $2, $3, $4, $5, $6::float8::numeric, $7, $8, $9) RETURNING id",
        campaign,
        t.year,
        t.township,
        t.category,
        t.task_count,
        t.quantity,
        t.unit,
        t.counted_when.as_str(),
        actor
    )
    .fetch_one(&mut *tx)
    .await
    .map_err(|e| target_refused(e, &t))?;
    record(tx, campaign, Some(actor), "target_set", Some(&target_subject(&t)), None, &target_json(&t)).await?;
    let f = TargetFilter { id: Some(id), ..Default::default() };
    Ok(targets(&mut *tx, campaign, &f, &Viewer::Staff).await?.remove(0))
}

async fn current_target(conn: &mut PgConnection, campaign: &str, id: i64) -> StoreResult<Value> {
    sqlx::query_scalar!(
        r#"SELECT jsonb_build_object('year', year, 'township', township_code, 'category', category,
                  'task_count', task_count, 'quantity', quantity::float8, 'unit', unit, 'counted_when', counted_when)
                  AS "target!"
           FROM campaign_targets WHERE campaign_code = $1 AND id = $2 FOR UPDATE"#,
        campaign,
        id
    )
    .fetch_optional(conn)
    .await?
    .ok_or_else(|| StoreError::NotFound(format!("the campaign '{campaign}' has no target {id}")))
}

/// Replaces a target whole; the history keeps it before and after.
pub async fn replace_target(db: &Db, campaign: &str, id: i64, body: &Value, actor: Uuid) -> StoreResult<Target> {
    let mut tx = super::begin(db).await?;
    let years = lock_years(&mut tx, campaign).await?;
    let before = current_target(&mut tx, campaign, id).await?;
    let t = TargetInput::parse(body, years).map_err(StoreError::Invalid)?;
    sqlx::query!(
        "UPDATE campaign_targets SET year = $3, township_code = $4, category = $5, task_count = $6,
                quantity = $7::float8::numeric, unit = $8, counted_when = $9, updated_by = $10,
                version = version + 1, updated_at = now()
         WHERE campaign_code = $1 AND id = $2",
        campaign,
        id,
        t.year,
        t.township,
        t.category,
        t.task_count,
        t.quantity,
        t.unit,
        t.counted_when.as_str(),
        actor
    )
    .execute(&mut *tx)
    .await
    .map_err(|e| target_refused(e, &t))?;
    let changes = json!({"before": before, "after": target_json(&t)});
    record(&mut tx, campaign, Some(actor), "target_changed", Some(&target_subject(&t)), None, &changes).await?;
    let f = TargetFilter { id: Some(id), ..Default::default() };
    let target = targets(&mut *tx, campaign, &f, &Viewer::Staff).await?.remove(0);
    tx.commit().await?;
    Ok(target)
}

/// Removes a target; the history keeps what it was.
pub async fn delete_target(db: &Db, campaign: &str, id: i64, actor: Uuid) -> StoreResult<()> {
    let mut tx = super::begin(db).await?;
    lock_years(&mut tx, campaign).await?;
    let before = current_target(&mut tx, campaign, id).await?;
    sqlx::query!("DELETE FROM campaign_targets WHERE campaign_code = $1 AND id = $2", campaign, id)
        .execute(&mut *tx)
        .await?;
    let subject = format!(
        "{}/{}/{}",
        before["year"],
        before["township"].as_str().unwrap_or(""),
        before["category"].as_str().unwrap_or("")
    );
    record(&mut tx, campaign, Some(actor), "target_removed", Some(&subject), None, &json!({"before": before})).await?;
    tx.commit().await?;
    Ok(())
}

/// Puts tasks (by code) into the campaign and takes others out of it, with an event in each task's
/// history and one in the campaign's. Codes that name no task are refused, all at once.
pub async fn assign(
    db: &Db,
    campaign: &str,
    join: &[String],
    leave: &[String],
    actor: Uuid,
) -> StoreResult<(i64, i64)> {
    let mut tx = super::begin(db).await?;
    lock_years(&mut tx, campaign).await?;
    let unknown = sqlx::query_scalar!(
        r#"SELECT c AS "code!" FROM unnest($1::text[]) WITH ORDINALITY u(c, n)
           WHERE NOT EXISTS (SELECT FROM tasks WHERE code = c) ORDER BY n"#,
        &[join, leave].concat()
    )
    .fetch_all(&mut *tx)
    .await?;
    if !unknown.is_empty() {
        let all = [join, leave].concat();
        let errors = unknown
            .iter()
            .filter_map(|c| {
                let i = all.iter().position(|x| x == c)?;
                let pointer = if i < join.len() { format!("/join/{i}") } else { format!("/leave/{}", i - join.len()) };
                Some(
                    FieldError::new(pointer, Code::UnknownValue, format!("there is no task '{c}'"))
                        .with("got", c.clone()),
                )
            })
            .collect();
        return Err(StoreError::Invalid(errors));
    }
    let joined = move_tasks(&mut tx, join, Some(campaign), None, actor).await?;
    let left = move_tasks(&mut tx, leave, None, Some(campaign), actor).await?;
    if joined > 0 || left > 0 {
        let changes = json!({"join": join, "leave": leave});
        let kind = if joined > 0 { "tasks_joined" } else { "tasks_left" };
        record(&mut tx, campaign, Some(actor), kind, None, None, &changes).await?;
    }
    tx.commit().await?;
    Ok((joined, left))
}

/// Sets the campaign of the tasks `codes` whose campaign differs (only those in `from`, when
/// given: leaving takes out only the campaign's own tasks), recording each change in the task's
/// history; how many changed.
async fn move_tasks(
    conn: &mut PgConnection,
    codes: &[String],
    to: Option<&str>,
    from: Option<&str>,
    actor: Uuid,
) -> StoreResult<i64> {
    if codes.is_empty() {
        return Ok(0);
    }
    let n = sqlx::query_scalar!(
        r#"WITH changed AS (
               UPDATE tasks t SET campaign_code = $2
               FROM (SELECT id, campaign_code AS before FROM tasks
                     WHERE code = ANY($1) AND ($4::text IS NULL OR campaign_code = $4) FOR UPDATE) old
               WHERE t.id = old.id AND t.campaign_code IS DISTINCT FROM $2
               RETURNING t.id, old.before, t.status)
           , ev AS (INSERT INTO task_events (task_id, actor_id, kind, status_before, status_after, changes)
               SELECT id, $3, 'updated', status, status,
                      jsonb_build_object('campaign', jsonb_build_object('before', before, 'after', $2::text))
               FROM changed RETURNING 1)
           SELECT count(*) AS "n!" FROM ev"#,
        codes,
        to,
        actor,
        from
    )
    .fetch_one(conn)
    .await?;
    Ok(n)
}

/// The campaign's history, oldest first.
pub async fn history(db: &Db, campaign: &str) -> Result<Vec<CampaignEvent>, sqlx::Error> {
    sqlx::query_as!(
        CampaignEvent,
        r#"SELECT e.id, e.at, u.username AS "actor?", e.kind, e.subject, e.reason, e.changes
           FROM campaign_events e LEFT JOIN users u ON u.id = e.actor_id
           WHERE e.campaign_code = $1 ORDER BY e.id"#,
        campaign
    )
    .fetch_all(db)
    .await
}
