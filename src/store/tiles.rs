//! Mapbox vector tiles of the tasks a viewer may see, built by PostGIS (ST_AsMVT): single tasks
//! with the map's attributes, or, where a low-zoom tile covers too many, clusters read from the
//! precounted cells (see migrations: task_cells).

use std::time::Duration;

use sqlx::{Postgres, QueryBuilder};

use super::Db;
use super::tasks::push_visibility;
use crate::domain::access::Viewer;
use crate::domain::tile::{DETAIL_MAX, DETAIL_ZOOM, TileId};

/// Name of the layer in every tile, as the TileJSON announces it.
pub const LAYER: &str = "tasks";
pub const EXTENT: i32 = 4096;
/// Pixels of geometry kept beyond the tile edge, so lines and areas join without seams.
pub const BUFFER: i32 = 64;

/// How many visible tasks a tile below `DETAIL_ZOOM` covers, from the cells as large as the tile.
fn push_covered(qb: &mut QueryBuilder<'_, Postgres>, tile: TileId, viewer: &Viewer) {
    let (level, (x0, x1, y0, y1)) = tile.count_cells();
    qb.push("SELECT coalesce(sum(t.n), 0) FROM task_cells t WHERE t.z = ");
    qb.push_bind(i16::from(level));
    push_cells(qb, x0, x1, y0, y1);
    push_cell_visibility(qb, viewer);
}

/// The cells a viewer may count. Cells are kept per township and visibility, not per department, so
/// a department officer's clusters count public tasks only; the internal tasks its department leads
/// show once the map is close enough to draw tasks one by one.
fn push_cell_visibility(qb: &mut QueryBuilder<'_, Postgres>, viewer: &Viewer) {
    match viewer {
        Viewer::Department(_) => push_visibility(qb, &Viewer::Public),
        _ => push_visibility(qb, viewer),
    }
}

fn push_cells(qb: &mut QueryBuilder<'_, Postgres>, x0: i32, x1: i32, y0: i32, y1: i32) {
    qb.push(" AND t.cx BETWEEN ")
        .push_bind(x0)
        .push(" AND ")
        .push_bind(x1)
        .push(" AND t.cy BETWEEN ")
        .push_bind(y0)
        .push(" AND ")
        .push_bind(y1);
}

fn push_envelope(qb: &mut QueryBuilder<'_, Postgres>, tile: TileId) {
    qb.push("ST_TileEnvelope(")
        .push_bind(i32::from(tile.z))
        .push(", ")
        .push_bind(tile.x as i32)
        .push(", ")
        .push_bind(tile.y as i32)
        .push(")");
}

/// Keeps parallel workers out of the tile's plans. `current_schema()` is marked parallel-unsafe, and
/// one such call anywhere in a statement makes PostgreSQL plan all of it in the serving process.
/// The cached (generic) plan of a prepared statement has no workers, but each connection's first
/// five runs are planned for their own tile, and a crowded one at zoom 13 got a worker, whose start
/// cost more than the whole statement (pgbench, BENCHMARKS.md "Tiles at zooms 13–17 beside
/// martin"). Always true: without a current schema `tasks` would not resolve.
const SERIAL: &str = " WHERE current_schema() IS NOT NULL";

/// A tile as built, and how long it stays right while no task changes: until midnight on the
/// database's calendar, when tasks may turn `overdue`.
pub struct Built {
    pub bytes: Vec<u8>,
    pub fresh_for: Duration,
}

/// The tile as MVT bytes (empty when nothing visible lies under it). One statement, so one round
/// trip and one snapshot: below `DETAIL_ZOOM` it counts what the tile covers and builds clusters or
/// single tasks accordingly. The branch not taken costs nothing: PostgreSQL runs an uncorrelated
/// subquery (an InitPlan) only when its value is first needed. No transaction around it, so no
/// BEGIN and COMMIT round trips, and no `SET LOCAL` to keep parallel workers off: the statement
/// keeps them off itself (see `SERIAL`).
pub async fn tile<'e>(db: impl sqlx::PgExecutor<'e>, tile: TileId, viewer: &Viewer) -> Result<Built, sqlx::Error> {
    // Runtime-checked: the tile's constants are formatted in and the viewer's visibility clause added at run time.
    let mut qb = QueryBuilder::new("SELECT ");
    if tile.z < DETAIL_ZOOM {
        qb.push("CASE WHEN (");
        push_covered(&mut qb, tile, viewer);
        qb.push(format!(") > {DETAIL_MAX} THEN ("));
        push_clusters(&mut qb, tile, viewer);
        qb.push(") ELSE (");
        push_tasks(&mut qb, tile, viewer);
        qb.push(") END");
    } else {
        qb.push("(");
        push_tasks(&mut qb, tile, viewer);
        qb.push(")");
    }
    qb.push(" AS tile, extract(epoch FROM (current_date + 1)::timestamptz - now())::float8 AS fresh_for");
    qb.push(SERIAL);
    let (bytes, fresh_for): (Option<Vec<u8>>, f64) = qb.build_query_as().fetch_one(db).await?;
    Ok(Built { bytes: bytes.unwrap_or_default(), fresh_for: Duration::from_secs_f64(fresh_for.clamp(0.0, 86_400.0)) })
}

/// Single tasks: the public attributes the map styles and labels by, under the API's names.
/// Geometry comes from the stored web-mercator column (projecting per request cost a third of the
/// time); ST_AsMVT skips rows whose clipped geometry is NULL, so no outer filter repeats the
/// clipping for every row.
fn push_tasks(qb: &mut QueryBuilder<'_, Postgres>, tile: TileId, viewer: &Viewer) {
    qb.push(format!(
        "SELECT ST_AsMVT(m, '{LAYER}', {EXTENT}, 'geom') FROM (
             SELECT ST_AsMVTGeom(t.geom_3857, "
    ));
    push_envelope(qb, tile);
    qb.push(format!(
        ", {EXTENT}, {BUFFER}, true) AS geom,
                    t.id::text AS id, t.code, t.title, t.category, t.status, t.progress::int4 AS progress,
                    t.township_code AS township, {} AS overdue, t.supervised, t.due_date::text AS due_date,
                    t.visibility
             FROM tasks t
             WHERE t.geom && ST_Transform(ST_TileEnvelope(",
        *super::tasks::OVERDUE
    ));
    qb.push_bind(i32::from(tile.z))
        .push(", ")
        .push_bind(tile.x as i32)
        .push(", ")
        .push_bind(tile.y as i32)
        .push(format!(", margin => {BUFFER}.0 / {EXTENT}), 4326)"));
    push_visibility(qb, viewer);
    qb.push(") m");
}

/// Clusters: one point per cell and family at the mean position of its tasks, with the count and
/// the count per status. The mean lies inside its cell, so inside the tile: it is placed in tile
/// units by arithmetic rather than ST_AsMVTGeom, whose clipping machinery was a sixth of the time
/// of a crowded cluster tile.
fn push_clusters(qb: &mut QueryBuilder<'_, Postgres>, tile: TileId, viewer: &Viewer) {
    let (x0, x1, y0, y1) = tile.cell_range();
    let (west, north, per_metre) = tile.mercator_frame(EXTENT);
    qb.push(format!(
        "SELECT ST_AsMVT(m, '{LAYER}', {EXTENT}, 'geom') FROM (
             SELECT ST_MakePoint(round((sum(t.sx) / sum(t.n) - "
    ));
    qb.push_bind(west).push(") * ").push_bind(per_metre).push("), round((").push_bind(north);
    qb.push(" - sum(t.sy) / sum(t.n)) * ");
    qb.push_bind(per_metre);
    qb.push(
        ")) AS geom,
                    true AS cluster, t.category, sum(t.n)::int4 AS count,
                    sum(t.planned)::int4 AS planned, sum(t.in_progress)::int4 AS in_progress,
                    sum(t.completed)::int4 AS completed, sum(t.verified)::int4 AS verified,
                    sum(t.cancelled)::int4 AS cancelled, sum(t.supervised)::int4 AS supervised
             FROM task_cells t WHERE t.z = ",
    );
    qb.push_bind(i16::from(tile.z));
    push_cells(qb, x0, x1, y0, y1);
    push_cell_visibility(qb, viewer);
    qb.push(" GROUP BY t.cx, t.cy, t.category HAVING sum(t.n) > 0) m");
}

/// The extent of the county (west, south, east, north) and its centre, for the TileJSON.
pub async fn county_bounds(db: &Db) -> Result<Option<[f64; 4]>, sqlx::Error> {
    let r = sqlx::query!(
        "SELECT ST_XMin(e) AS west, ST_YMin(e) AS south, ST_XMax(e) AS east, ST_YMax(e) AS north
         FROM (SELECT ST_Extent(boundary) AS e FROM townships) b",
    )
    .fetch_one(db)
    .await?;
    Ok(match (r.west, r.south, r.east, r.north) {
        (Some(w), Some(s), Some(e), Some(n)) => Some([w, s, e, n]),
        _ => None,
    })
}
