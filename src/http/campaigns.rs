//! /api/campaigns: campaigns, their yearly targets per township and family with progress counted
//! from the tasks, the tasks that belong to them, and their history. Everyone reads campaigns and
//! targets, as public as the league table; bureau staff and administrators set them.

use axum::Json;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use serde::Serialize;

use super::AppState;
use super::extract::{JsonBody, QueryPairs, Reads};
use super::idempotency::{Idempotency, fingerprint_json};
use crate::auth::Principal;
use crate::domain::access::Viewer;
use crate::domain::campaign::{self, NewCampaign};
use crate::domain::fields::Props;
use crate::error::{ApiError, Problem, Result};
use crate::store::campaigns::{self as store, Campaign, CampaignEvent, Target, TargetFilter};

/// The campaign code in a path, or a 400.
pub fn code_in_path(raw: &str) -> Result<String> {
    campaign::parse_code(raw).map_err(|m| ApiError::bad_request(format!("{} in the path", m.detail)))
}

/// A target's id in a path, or a 400.
pub fn id_in_path(raw: &str) -> Result<i64> {
    raw.parse::<i64>()
        .ok()
        .filter(|n| *n >= 1)
        .ok_or_else(|| ApiError::bad_request(format!("'{raw}' is not a target id (a whole number from 1) in the path")))
}

/// Which tasks the progress counts, as the league table's `coverage`.
pub fn coverage(viewer: &Viewer) -> &'static str {
    match viewer {
        Viewer::Public => "public",
        Viewer::Township(_) => "public_and_own_township",
        Viewer::Department(_) => "public_and_own_department",
        Viewer::Staff => "all",
    }
}

/// Every campaign, newest first.
#[utoipa::path(get, path = "/api/campaigns", tag = "campaigns",
    responses((status = 200, description = "Every campaign", body = Vec<Campaign>)))]
pub async fn list(Reads(db): Reads, _principal: Principal) -> Result<Json<Vec<Campaign>>> {
    Ok(Json(store::list(&db).await?))
}

/// Add a campaign: `code` (a-z, 0-9, _ and -), `name_zh`, `name_en`, `first_year`, `last_year`
/// (at most ten years). Bureau staff and administrators.
#[utoipa::path(post, path = "/api/campaigns", tag = "campaigns",
    request_body(content = Object, content_type = "application/json",
        description = "{\"code\": \"gongjian-2026\", \"name_zh\": \"生态环境攻坚三年行动\", \"name_en\": \"Three-year drive\", \"first_year\": 2026, \"last_year\": 2028}"),
    params(("Idempotency-Key" = Option<String>, Header, description = "makes a retry return the first answer")),
    responses(
        (status = 201, description = "Added", body = Campaign),
        (status = 409, description = "The code is another campaign's", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn create(
    State(state): State<AppState>,
    principal: Principal,
    headers: HeaderMap,
    JsonBody(body): JsonBody,
) -> Result<Response> {
    let user = principal.require_staff("add campaigns")?;
    let c = NewCampaign::parse(&body).map_err(ApiError::invalid)?;
    let once = Idempotency::read(&headers, user.id, "POST /api/campaigns".into(), fingerprint_json(&[], &body))?;
    if let Some(first) = once.replay(&state.db).await? {
        return Ok(first);
    }
    let mut tx = crate::store::begin(&state.db).await?;
    let created = store::create(&mut tx, &c, user.id).await?;
    once.commit(&state.db, tx, (StatusCode::CREATED, Json(created)).into_response()).await
}

/// One campaign.
#[utoipa::path(get, path = "/api/campaigns/{code}", tag = "campaigns",
    params(("code" = String, Path, description = "the campaign's code", pattern = r"^[a-z0-9][a-z0-9_-]{1,39}$")),
    responses((status = 200, description = "The campaign", body = Campaign)))]
pub async fn get(Reads(db): Reads, _principal: Principal, Path(code): Path<String>) -> Result<Json<Campaign>> {
    Ok(Json(store::get(&db, &code_in_path(&code)?).await?))
}

/// Change a campaign's names or years (its code never changes); years that have targets or a
/// scoring scheme must stay in it. Bureau staff and administrators.
#[utoipa::path(patch, path = "/api/campaigns/{code}", tag = "campaigns",
    params(("code" = String, Path, description = "the campaign's code", pattern = r"^[a-z0-9][a-z0-9_-]{1,39}$")),
    request_body(content = Object, content_type = "application/json", description = "any of name_zh, name_en, first_year, last_year"),
    responses((status = 200, description = "Changed", body = Campaign)))]
pub async fn update(
    State(state): State<AppState>,
    principal: Principal,
    Path(code): Path<String>,
    JsonBody(body): JsonBody,
) -> Result<Json<Campaign>> {
    let user = principal.require_staff("change campaigns")?;
    Ok(Json(store::update(&state.db, &code_in_path(&code)?, &body, user.id).await?))
}

/// A township's targets of one year and how far it is against them.
#[derive(Serialize, utoipa::ToSchema)]
pub struct TownshipProgress {
    pub year: i32,
    pub township: String,
    pub township_name: String,
    pub targets: usize,
    /// 完成率 of target: the mean of its targets' rates, each capped at 1.
    pub rate: Option<f64>,
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct TargetList {
    pub campaign: Campaign,
    /// Which tasks the progress counts (as in the league table): `public`, `all`, or
    /// `public_and_own_township`.
    #[schema(example = "public")]
    pub coverage: &'static str,
    pub targets: Vec<Target>,
    /// Per year and township, in that order.
    pub townships: Vec<TownshipProgress>,
}

/// Per year and township, the mean of the targets' capped rates.
pub fn by_township(targets: &[Target]) -> Vec<TownshipProgress> {
    let mut out: Vec<TownshipProgress> = Vec::new();
    let mut sorted: Vec<&Target> = targets.iter().collect();
    sorted.sort_by(|a, b| (a.year, &a.township).cmp(&(b.year, &b.township)));
    for group in sorted.chunk_by(|a, b| (a.year, &a.township) == (b.year, &b.township)) {
        let rates: Vec<f64> = group.iter().filter_map(|t| t.rate).collect();
        out.push(TownshipProgress {
            year: group[0].year,
            township: group[0].township.clone(),
            township_name: group[0].township_name.clone(),
            targets: group.len(),
            rate: campaign::against_targets(&rates),
        });
    }
    out
}

/// The campaign's targets, each with how far it is, and each township's completion against its
/// targets per year (完成率 of target), counted from the tasks the caller may see: a task counts
/// for a target when it belongs to the campaign, lies in the target's township and family, is due
/// in the target's year and is not cancelled; it is achieved once verified (or, for a target
/// counted `completed`, once completed). A task moved to another township counts for the one that
/// holds it now.
#[utoipa::path(get, path = "/api/campaigns/{code}/targets", tag = "campaigns",
    params(
        ("code" = String, Path, description = "the campaign's code", pattern = r"^[a-z0-9][a-z0-9_-]{1,39}$"),
        ("year" = Option<i32>, Query, description = "only this year's targets", minimum = 2000, maximum = 2100),
        ("township" = Option<String>, Query, description = "only this township's targets"),
    ),
    responses((status = 200, description = "The targets and their progress", body = TargetList)))]
pub async fn targets(
    Reads(db): Reads,
    principal: Principal,
    Path(code): Path<String>,
    QueryPairs(pairs): QueryPairs,
) -> Result<Json<TargetList>> {
    let code = code_in_path(&code)?;
    let (year, township) = campaign::target_query(&pairs).map_err(ApiError::bad_query)?;
    let viewer = principal.viewer();
    let c = store::get(&db, &code).await?;
    let targets = store::targets(&db, &code, &TargetFilter { year, township, id: None }, &viewer).await?;
    let townships = by_township(&targets);
    Ok(Json(TargetList { campaign: c, coverage: coverage(&viewer), targets, townships }))
}

/// The campaign's targets and each township's completion against them, as CSV (UTF-8 with a byte
/// order mark, for Excel): same parameters, same counting and same coverage as the JSON.
#[utoipa::path(get, path = "/api/campaigns/{code}/targets.csv", tag = "campaigns",
    params(
        ("code" = String, Path, description = "the campaign's code", pattern = r"^[a-z0-9][a-z0-9_-]{1,39}$"),
        ("year" = Option<i32>, Query, description = "only this year's targets", minimum = 2000, maximum = 2100),
        ("township" = Option<String>, Query, description = "only this township's targets"),
    ),
    responses((status = 200, description = "The targets as CSV", content_type = "text/csv")))]
pub async fn targets_csv(db: Reads, principal: Principal, code: Path<String>, pairs: QueryPairs) -> Result<Response> {
    let Json(list) = targets(db, principal, code, pairs).await?;
    let sums: Vec<(i32, String, String, Option<f64>)> =
        list.townships.into_iter().map(|t| (t.year, t.township, t.township_name, t.rate)).collect();
    let body = crate::export::targets::file(&list.targets, &sums);
    let name = format!("目标完成情况-{}.csv", list.campaign.code);
    Ok(super::export::download(super::export::CSV, &name, body))
}

/// Set a target: `year` (within the campaign), `township`, `category`, and `task_count` and/or
/// `quantity` with its `unit`; `counted_when` is `verified` (default) or `completed`. One target
/// per campaign, year, township and family. Bureau staff and administrators.
#[utoipa::path(post, path = "/api/campaigns/{code}/targets", tag = "campaigns",
    params(
        ("code" = String, Path, description = "the campaign's code", pattern = r"^[a-z0-9][a-z0-9_-]{1,39}$"),
        ("Idempotency-Key" = Option<String>, Header, description = "makes a retry return the first answer"),
    ),
    request_body(content = Object, content_type = "application/json",
        description = "{\"year\": 2026, \"township\": \"330599101\", \"category\": \"watershed\", \"task_count\": 5, \"quantity\": 12.5, \"unit\": \"km\", \"counted_when\": \"verified\"}"),
    responses((status = 201, description = "Set", body = Target)))]
pub async fn create_target(
    State(state): State<AppState>,
    principal: Principal,
    Path(code): Path<String>,
    headers: HeaderMap,
    JsonBody(body): JsonBody,
) -> Result<Response> {
    let user = principal.require_staff("set targets")?;
    let code = code_in_path(&code)?;
    let endpoint = format!("POST /api/campaigns/{code}/targets");
    let once = Idempotency::read(&headers, user.id, endpoint, fingerprint_json(&[], &body))?;
    if let Some(first) = once.replay(&state.db).await? {
        return Ok(first);
    }
    let mut tx = crate::store::begin(&state.db).await?;
    let target = store::create_target(&mut tx, &code, &body, user.id).await?;
    once.commit(&state.db, tx, (StatusCode::CREATED, Json(target)).into_response()).await
}

/// Replace a target whole (same fields as setting one); the history keeps it before and after.
#[utoipa::path(put, path = "/api/campaigns/{code}/targets/{id}", tag = "campaigns",
    params(("code" = String, Path, description = "the campaign's code", pattern = r"^[a-z0-9][a-z0-9_-]{1,39}$"), ("id" = i64, Path, description = "the target's id", minimum = 1)),
    request_body(content = Object, content_type = "application/json", description = "as for setting a target"),
    responses((status = 200, description = "Replaced", body = Target)))]
pub async fn replace_target(
    State(state): State<AppState>,
    principal: Principal,
    Path((code, id)): Path<(String, String)>,
    JsonBody(body): JsonBody,
) -> Result<Json<Target>> {
    let user = principal.require_staff("change targets")?;
    Ok(Json(store::replace_target(&state.db, &code_in_path(&code)?, id_in_path(&id)?, &body, user.id).await?))
}

/// Remove a target; the history keeps what it was.
#[utoipa::path(delete, path = "/api/campaigns/{code}/targets/{id}", tag = "campaigns",
    params(("code" = String, Path, description = "the campaign's code", pattern = r"^[a-z0-9][a-z0-9_-]{1,39}$"), ("id" = i64, Path, description = "the target's id", minimum = 1)),
    responses((status = 204, description = "Removed")))]
pub async fn delete_target(
    State(state): State<AppState>,
    principal: Principal,
    Path((code, id)): Path<(String, String)>,
) -> Result<StatusCode> {
    let user = principal.require_staff("remove targets")?;
    store::delete_target(&state.db, &code_in_path(&code)?, id_in_path(&id)?, user.id).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct Assigned {
    /// Tasks that joined the campaign (those already in it are not counted).
    pub joined: i64,
    /// Tasks that left it.
    pub left: i64,
}

fn task_codes(p: &mut Props, key: &str) -> Vec<String> {
    p.optional(key, |v| {
        let items = v
            .as_array()
            .ok_or_else(|| crate::domain::fields::wrong_type("array", "must be a list of task codes", v))?;
        if items.len() > 10_000 {
            return Err(crate::domain::Message::new(crate::domain::Code::TooMany, "at most 10000 task codes at once")
                .with("max", 10_000)
                .with("got", items.len()));
        }
        items.iter().map(|i| crate::domain::fields::text(40, false)(i)).collect::<std::result::Result<Vec<String>, _>>()
    })
    .unwrap_or_default()
}

/// Put tasks into the campaign (`join`: task codes; a task belongs to at most one campaign, so
/// joining moves it from another) and take tasks out (`leave`). Each task's history records the
/// change. Bureau staff and administrators.
#[utoipa::path(post, path = "/api/campaigns/{code}/tasks", tag = "campaigns",
    params(("code" = String, Path, description = "the campaign's code", pattern = r"^[a-z0-9][a-z0-9_-]{1,39}$")),
    request_body(content = Object, content_type = "application/json", description = "{\"join\": [\"WS-2026-0001\"], \"leave\": []}"),
    responses((status = 200, description = "How many tasks joined and left", body = Assigned)))]
pub async fn assign(
    State(state): State<AppState>,
    principal: Principal,
    Path(code): Path<String>,
    JsonBody(body): JsonBody,
) -> Result<Json<Assigned>> {
    let user = principal.require_staff("put tasks into campaigns")?;
    let code = code_in_path(&code)?;
    let mut p = Props::object(&body, "").map_err(ApiError::invalid)?;
    p.refuse_unknown(&["join", "leave"], &[]);
    let (join, leave) = (task_codes(&mut p, "join"), task_codes(&mut p, "leave"));
    if !p.errors.is_empty() {
        return Err(ApiError::invalid(p.errors));
    }
    let (joined, left) = store::assign(&state.db, &code, &join, &leave, user.id).await?;
    Ok(Json(Assigned { joined, left }))
}

/// The campaign's history: who added or changed it, set, changed or removed which target, moved
/// which tasks, set which scheme and froze which result, and why. Bureau staff and administrators.
#[utoipa::path(get, path = "/api/campaigns/{code}/history", tag = "campaigns",
    params(("code" = String, Path, description = "the campaign's code", pattern = r"^[a-z0-9][a-z0-9_-]{1,39}$")),
    responses((status = 200, description = "Oldest first", body = Vec<CampaignEvent>)))]
pub async fn history(
    State(state): State<AppState>,
    principal: Principal,
    Path(code): Path<String>,
) -> Result<Json<Vec<CampaignEvent>>> {
    principal.require_staff("read a campaign's history")?;
    let code = code_in_path(&code)?;
    store::get(&state.db, &code).await?;
    Ok(Json(store::history(&state.db, &code).await?))
}
