//! /api/rollups: the township league table, its choropleth, and the monthly series.

use axum::Json;
use axum::http::header;
use axum::response::{IntoResponse, Response};
use chrono::NaiveDate;
use serde::Serialize;
use serde_json::value::RawValue;

use super::extract::{QueryPairs, Reads};
use super::tasks::GEOJSON;
use crate::auth::Principal;
use crate::domain::access::Viewer;
use crate::domain::filter::TaskFilter;
use crate::domain::rollup::{self, Figures, Month, RollupFilter};
use crate::error::{ApiError, Problem, Result};
use crate::store::{rollups as store, tasks as task_store};

#[derive(Serialize, utoipa::ToSchema)]
pub struct TownshipRollup {
    /// The day (county time) that overdue, late and stale are judged against.
    pub as_of: NaiveDate,
    /// Which tasks the figures count: `public` (anonymous callers: public tasks only), `all` (bureau
    /// staff), or `public_and_own_township` (a township officer: public tasks plus its own township's
    /// internal ones, the same tasks it can list).
    #[schema(example = "public")]
    pub coverage: &'static str,
    /// Every township, in code order; a township without tasks has zeros and null rates.
    pub townships: Vec<Figures>,
    /// The whole county (township_code null).
    pub county: Figures,
}

/// A township's figures as a GeoJSON Feature, serialised with PostGIS's geometry text passed through
/// rather than a `geojson::Feature`: geojson has no way to carry a geometry as text, so PostGIS's
/// `ST_AsGeoJSON` would be parsed into positions and written out again, and typed properties held as
/// a JSON map. The OGC API converts these into geojson Features (`http::ogc`).
#[derive(Serialize, utoipa::ToSchema)]
pub struct RollupFeature {
    #[serde(rename = "type")]
    #[schema(example = "Feature")]
    pub kind: &'static str,
    /// The township code.
    pub id: String,
    /// The township boundary, GeoJSON MultiPolygon, WGS 84.
    #[schema(value_type = Object)]
    pub geometry: Box<RawValue>,
    pub properties: Figures,
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct RollupCollection {
    #[serde(rename = "type")]
    #[schema(example = "FeatureCollection")]
    pub kind: &'static str,
    pub as_of: NaiveDate,
    /// As in the JSON rollup.
    pub coverage: &'static str,
    pub features: Vec<RollupFeature>,
    /// The whole county's figures (a foreign member: the total has no single boundary).
    pub county: Figures,
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct MonthlySeries {
    /// As in the township rollup.
    pub coverage: &'static str,
    /// The township asked for; null for the whole county.
    pub township_code: Option<String>,
    /// Its name; 全县 for the whole county.
    pub township_name: String,
    /// Month by month without gaps, from `from` (else the first month with an event) to `to` (else
    /// the last one).
    pub months: Vec<Month>,
}

fn coverage(viewer: &Viewer) -> &'static str {
    match viewer {
        Viewer::Public => "public",
        Viewer::Township(_) => "public_and_own_township",
        Viewer::Department(_) => "public_and_own_department",
        Viewer::Staff => "all",
    }
}

fn parse(pairs: &[(String, String)], allowed: &[&str]) -> Result<RollupFilter> {
    RollupFilter::parse(pairs, allowed).map_err(ApiError::bad_query)
}

/// The township league table: one row per township and a county total, over the tasks the caller
/// may see (anonymous callers: public tasks; bureau staff: all; a township officer: public tasks
/// plus its own township's internal ones).
///
/// A task counts whole in the township it belongs to (the one holding most of it), also when it
/// crosses a border. "Today" is the county's date. Rates are fractions 0–1, null when there is
/// nothing to divide by. completion_rate = (completed + verified) ÷ not cancelled; verified_rate =
/// verified ÷ not cancelled; overdue = open (planned, in_progress) with a due date before today;
/// on_time_rate = finished on or before the due date ÷ (finished with a due date + open and overdue);
/// median_days_late over finished-late (completion day − due) and overdue (today − due) tasks;
/// investments (万元), length (km) and area (ha) summed over tasks not cancelled; stale = open tasks
/// whose latest report, or creation if never reported, fell more than 30 days before today;
/// supervised = under supervision (督办) and neither verified nor cancelled. Each property of the
/// response schema states its definition.
#[utoipa::path(get, path = "/api/rollups/townships", tag = "rollups",
    params(
        ("category" = Option<String>, Query, description = "category code(s), comma-separated"),
        ("status" = Option<String>, Query, description = "status(es), comma-separated"),
        ("from" = Option<String>, Query, description = "YYYY-MM-DD: only tasks whose due date or completion day is on or after it"),
        ("to" = Option<String>, Query, description = "YYYY-MM-DD: only tasks whose due date or completion day is on or before it (with `from`: the same one of the two must lie in the period)"),
        ("supervised" = Option<bool>, Query, description = "only tasks flagged for supervision (督办), or only those not"),
    ),
    responses(
        (status = 200, description = "Every township and the county total", body = TownshipRollup),
        (status = 400, description = "An unknown parameter or a bad value", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn townships(
    Reads(db): Reads,
    principal: Principal,
    QueryPairs(pairs): QueryPairs,
) -> Result<Json<TownshipRollup>> {
    let f = parse(&pairs, rollup::TOWNSHIP_PARAMETERS)?;
    let viewer = principal.viewer();
    let (as_of, r) = store::townships(&db, &f, &viewer).await?;
    Ok(Json(TownshipRollup { as_of, coverage: coverage(&viewer), townships: r.townships, county: r.county }))
}

/// One department's figures: its code and name, then the figures of the township rollup.
#[derive(Serialize, utoipa::ToSchema)]
pub struct DepartmentFigures {
    /// Department code; null for the total over all departments.
    #[schema(example = "water")]
    pub department_code: Option<String>,
    /// Department name (Chinese); 全部牵头部门 for the total.
    #[schema(example = "水利局")]
    pub department_name: String,
    #[serde(flatten)]
    pub figures: Figures,
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct DepartmentRollup {
    /// As in the township rollup.
    pub as_of: NaiveDate,
    /// As in the township rollup; `public_and_own_department` for a department officer.
    #[schema(example = "public")]
    pub coverage: &'static str,
    /// Every department, in the administrator's order; one leading no task has zeros and null rates.
    pub departments: Vec<DepartmentFigures>,
    /// Every task that has a lead department (tasks without one are in no department's row).
    pub total: DepartmentFigures,
}

/// The department league table: one row per department over the tasks it leads (牵头), and the total
/// of all tasks that have a lead department, over the tasks the caller may see. Same filters and
/// definitions as /api/rollups/townships; a task counts whole in its lead department.
#[utoipa::path(get, path = "/api/rollups/departments", tag = "rollups",
    params(
        ("category" = Option<String>, Query, description = "category code(s), comma-separated"),
        ("status" = Option<String>, Query, description = "status(es), comma-separated"),
        ("from" = Option<String>, Query, description = "YYYY-MM-DD, as for /api/rollups/townships"),
        ("to" = Option<String>, Query, description = "YYYY-MM-DD, as for /api/rollups/townships"),
        ("supervised" = Option<bool>, Query, description = "only tasks flagged for supervision, or only those not"),
    ),
    responses(
        (status = 200, description = "Every department and the total", body = DepartmentRollup),
        (status = 400, description = "An unknown parameter or a bad value", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn departments(
    Reads(db): Reads,
    principal: Principal,
    QueryPairs(pairs): QueryPairs,
) -> Result<Json<DepartmentRollup>> {
    let f = parse(&pairs, rollup::TOWNSHIP_PARAMETERS)?;
    let viewer = principal.viewer();
    let (as_of, r) = store::departments(&db, &f, &viewer).await?;
    let as_department = |mut figures: Figures, name: Option<String>| {
        let department_code = figures.township_code.take();
        let department_name = name.unwrap_or_else(|| std::mem::take(&mut figures.township_name));
        figures.township_name.clear();
        DepartmentFigures { department_code, department_name, figures }
    };
    Ok(Json(DepartmentRollup {
        as_of,
        coverage: coverage(&viewer),
        departments: r.townships.into_iter().map(|f| as_department(f, None)).collect(),
        total: as_department(r.county, Some(rollup::ALL_DEPARTMENTS_NAME.to_owned())),
    }))
}

/// The township rollup as township boundaries with the figures as properties, for a choropleth.
/// Same filters and definitions as /api/rollups/townships.
#[utoipa::path(get, path = "/api/rollups/townships.geojson", tag = "rollups",
    params(
        ("category" = Option<String>, Query, description = "category code(s), comma-separated"),
        ("status" = Option<String>, Query, description = "status(es), comma-separated"),
        ("from" = Option<String>, Query, description = "YYYY-MM-DD, as for /api/rollups/townships"),
        ("to" = Option<String>, Query, description = "YYYY-MM-DD, as for /api/rollups/townships"),
        ("supervised" = Option<bool>, Query, description = "only tasks flagged for supervision, or only those not"),
    ),
    responses(
        (status = 200, description = "One Feature per township; the county total as `county`", body = RollupCollection, content_type = "application/geo+json"),
        (status = 400, description = "An unknown parameter or a bad value", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn townships_geojson(
    Reads(db): Reads,
    principal: Principal,
    QueryPairs(pairs): QueryPairs,
) -> Result<Response> {
    let f = parse(&pairs, rollup::TOWNSHIP_PARAMETERS)?;
    let viewer = principal.viewer();
    let ((as_of, r), boundaries) =
        tokio::try_join!(store::townships(&db, &f, &viewer), async { Ok(store::boundaries(&db).await?) })?;
    let mut figures: std::collections::HashMap<String, Figures> =
        r.townships.into_iter().filter_map(|t| Some((t.township_code.clone()?, t))).collect();
    let mut features = Vec::with_capacity(boundaries.len());
    for (code, geometry) in boundaries {
        // A township added between the two reads has no figures yet; it shows on the next request.
        let Some(properties) = figures.remove(&code) else { continue };
        let geometry = RawValue::from_string(geometry).map_err(|e| {
            tracing::error!(error = %e, "PostGIS returned a boundary that is not JSON");
            ApiError::internal()
        })?;
        features.push(RollupFeature { kind: "Feature", id: code, geometry, properties });
    }
    let body =
        RollupCollection { kind: "FeatureCollection", as_of, coverage: coverage(&viewer), features, county: r.county };
    Ok(([(header::CONTENT_TYPE, GEOJSON)], Json(body)).into_response())
}

/// Completions and verifications per month (county time), for the county or one township, over the
/// tasks the caller may see. `completed` counts tasks by the month of their completion day that are
/// still completed or verified; `verified` by the month they were verified (closed, 销号). `from` and
/// `to` bound the day of each event and the months shown.
#[utoipa::path(get, path = "/api/rollups/monthly", tag = "rollups",
    params(
        ("township" = Option<String>, Query, description = "a township code; without it, the whole county"),
        ("category" = Option<String>, Query, description = "category code(s), comma-separated"),
        ("status" = Option<String>, Query, description = "status(es), comma-separated"),
        ("from" = Option<String>, Query, description = "YYYY-MM-DD: events on or after this day; the series starts in its month"),
        ("to" = Option<String>, Query, description = "YYYY-MM-DD: events on or before this day; the series ends in its month"),
        ("supervised" = Option<bool>, Query, description = "only tasks flagged for supervision, or only those not"),
    ),
    responses(
        (status = 200, description = "The monthly series", body = MonthlySeries),
        (status = 400, description = "An unknown parameter or a bad value", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn monthly(
    Reads(db): Reads,
    principal: Principal,
    QueryPairs(pairs): QueryPairs,
) -> Result<Json<MonthlySeries>> {
    let f = parse(&pairs, rollup::MONTHLY_PARAMETERS)?;
    // Names that exist nowhere are refused rather than answered with an empty series.
    let names = TaskFilter {
        categories: f.categories.clone(),
        townships: f.township.clone().map(|t| vec![t]),
        ..Default::default()
    };
    task_store::check_filter(&db, &names, &Viewer::Staff).await?;
    let viewer = principal.viewer();
    let counts = store::monthly(&db, &f, &viewer).await?;
    let township_name = match &f.township {
        Some(code) => store::township_name(&db, code)
            .await?
            .ok_or_else(|| ApiError::not_found(format!("there is no township {code}")))?,
        None => rollup::COUNTY_NAME.to_owned(),
    };
    Ok(Json(MonthlySeries {
        coverage: coverage(&viewer),
        township_code: f.township.clone(),
        township_name,
        months: rollup::monthly_series(&counts, f.from, f.to),
    }))
}
