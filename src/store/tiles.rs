//! Mapbox vector tiles of the tasks a viewer may see: single tasks with the map's attributes,
//! clipped by PostGIS and encoded here, or, where a low-zoom tile covers too many, clusters read
//! from the precounted cells (see migrations: task_cells) and encoded by ST_AsMVT.

use std::time::Duration;

use chrono::NaiveDate;
use futures_util::TryStreamExt;
use sqlx::postgres::PgRow;
use sqlx::{Postgres, QueryBuilder, Row};

use super::Db;
use super::tasks::push_visibility;
use crate::domain::access::Viewer;
use crate::domain::fields::write_date;
use crate::domain::mvt::{self, Value};
use crate::domain::task::Status;
use crate::domain::tile::{DETAIL_MAX, DETAIL_ZOOM, TileId};
use crate::domain::{mvt_geom, wkb};

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

/// The tile's envelope in web-mercator metres; `buffered`, widened by the tile's buffer.
fn push_envelope(qb: &mut QueryBuilder<'_, Postgres>, tile: TileId, buffered: bool) {
    qb.push("ST_TileEnvelope(")
        .push_bind(i32::from(tile.z))
        .push(", ")
        .push_bind(tile.x as i32)
        .push(", ")
        .push_bind(tile.y as i32)
        .push(if buffered { format!(", margin => {BUFFER}.0 / {EXTENT})") } else { ")".to_owned() });
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

/// The attributes of a single task in a tile, under the API's names, in the order `task_attributes`
/// gives them.
const TASK_KEYS: [&str; 11] = [
    "id",
    "code",
    "title",
    "category",
    "status",
    "progress",
    "township",
    "overdue",
    "supervised",
    "due_date",
    "visibility",
];

/// The tile as MVT bytes (empty when nothing visible lies under it). One statement, so one round
/// trip and one snapshot: a first row with the freshness, the county's date and, below
/// `DETAIL_ZOOM` where the tile covers too many tasks, the clusters as ST_AsMVT built them;
/// otherwise one row per task, its geometry as stored when it lies inside the tile (placed here,
/// domain::mvt_geom) or clipped and placed by ST_AsMVTGeom, and the layer encoded here
/// (domain::mvt says why). The branch not taken costs nothing: PostgreSQL runs an uncorrelated
/// subquery (an InitPlan) only when its value is first needed. No transaction around it, so no
/// BEGIN and COMMIT round trips, and no `SET LOCAL` to keep parallel workers off: the statement
/// keeps them off itself (see `SERIAL`).
pub async fn tile<'e>(db: impl sqlx::PgExecutor<'e>, tile: TileId, viewer: &Viewer) -> Result<Built, sqlx::Error> {
    let mut qb = statement(tile, viewer);
    // Rows are encoded as they arrive, overlapping the database's work. (Reading them all first
    // was kept for a while for zoom 14's slowest answers; with less work per row, streaming is
    // ahead at zooms 13–15 and level above: BENCHMARKS.md, "Less per row".) The first row is the
    // statement's head: PostgreSQL runs the parts of a UNION ALL in order when no parallel workers
    // take part, and `SERIAL` keeps them out.
    let mut rows = qb.build().fetch(db);
    let head = rows.try_next().await?.ok_or(sqlx::Error::RowNotFound)?;
    let fresh_for = head.try_get_unchecked::<f64, _>(FRESH)?;
    let fresh_for = Duration::from_secs_f64(fresh_for.clamp(0.0, 86_400.0));
    if let Some(bytes) = head.try_get_unchecked::<Option<Vec<u8>>, _>(CLUSTERS)? {
        return Ok(Built { bytes, fresh_for });
    }
    let today = head.try_get_unchecked::<NaiveDate, _>(TODAY)?;
    let mut layer = mvt::Layer::new(LAYER, EXTENT as u32, &TASK_KEYS);
    let frame = mvt_geom::Frame::new(tile, EXTENT, BUFFER);
    let mut due = String::with_capacity(10);
    while let Some(row) = rows.try_next().await? {
        let Some(wkb) = row.try_get_unchecked::<Option<&[u8]>, _>(0)? else { continue };
        let mut id = uuid::Uuid::encode_buffer();
        let id = row.try_get_unchecked::<uuid::Uuid, _>(1)?.hyphenated().encode_lower(&mut id);
        let geometry = wkb::geometry(wkb).map_err(|e| sqlx::Error::Decode(e.into()))?;
        // With its SRID: stored metres, inside the tile's buffer, placed here (push_tasks).
        let geometry = if wkb::has_srid(wkb) {
            let Some(placed) = mvt_geom::place(&frame, &geometry) else { continue };
            placed
        } else {
            geometry
        };
        layer.add(&geometry, task_attributes(&row, id, today, &mut due)?);
    }
    Ok(Built { bytes: layer.finish(), fresh_for })
}

/// Columns of the first row (`statement`) that task rows leave NULL.
const FRESH: usize = 11;
const CLUSTERS: usize = 12;
const TODAY: usize = 13;

/// The tile's statement: the first row (freshness, the county's date, and the clusters of a crowded
/// tile), then a row per task unless the tile is crowded. Column types are fixed here for `tile` to
/// read unchecked.
fn statement<'q>(tile: TileId, viewer: &Viewer) -> QueryBuilder<'q, Postgres> {
    // Runtime-checked: the tile's constants are formatted in and the viewer's visibility clause added at run time.
    let mut qb = QueryBuilder::new("WITH c AS MATERIALIZED (SELECT ");
    if tile.z < DETAIL_ZOOM {
        qb.push("(");
        push_covered(&mut qb, tile, viewer);
        qb.push(format!(") > {DETAIL_MAX}"));
    } else {
        qb.push("false");
    }
    qb.push(
        " AS crowded)
         SELECT NULL::bytea, NULL::uuid, NULL::text, NULL::text, NULL::text, NULL::text, NULL::int2, NULL::text,
                NULL::bool, NULL::date, NULL::text,
                extract(epoch FROM (current_date + 1)::timestamptz - now())::float8,
                CASE WHEN c.crowded THEN (",
    );
    if tile.z < DETAIL_ZOOM {
        push_clusters(&mut qb, tile, viewer);
    } else {
        qb.push("NULL::bytea");
    }
    qb.push(format!(") END, current_date FROM c{SERIAL} UNION ALL "));
    push_tasks(&mut qb, tile, viewer);
    qb
}

/// A task row's attributes in the order of `TASK_KEYS`. Read without sqlx's per-value type check:
/// the statement above fixes every column's type, and the check was a tenth of a crowded tile's
/// time in the service. `overdue` is worked out here from the status, the due date and the county's
/// date (the statement's first row), and the due date written here into `due`: per row in the
/// database, the two were a tenth of its time for a tile of single tasks.
fn task_attributes<'r>(
    row: &'r PgRow,
    id: &'r str,
    today: NaiveDate,
    due: &'r mut String,
) -> Result<[Option<Value<'r>>; 11], sqlx::Error> {
    let text = |i: usize| row.try_get_unchecked::<&str, _>(i).map(|s| Some(Value::Str(s)));
    let progress = row.try_get_unchecked::<i16, _>(6)?;
    let status = row.try_get_unchecked::<&str, _>(5)?;
    let due_date = row.try_get_unchecked::<Option<NaiveDate>, _>(9)?;
    let overdue = Status::parse(status).is_some_and(|s| s.is_overdue(due_date, today));
    if let Some(date) = due_date {
        write_date(date, due);
    }
    let due: &'r String = due;
    Ok([
        Some(Value::Own(id)),
        row.try_get_unchecked::<&str, _>(2).map(|s| Some(Value::Own(s)))?,
        row.try_get_unchecked::<&str, _>(3).map(|s| Some(Value::Own(s)))?,
        text(4)?,
        Some(Value::Str(status)),
        Some(Value::Uint(progress.max(0) as u64)),
        text(7)?,
        Some(Value::Bool(overdue)),
        Some(Value::Bool(row.try_get_unchecked::<bool, _>(8)?)),
        due_date.map(|_| Value::Str(due)),
        text(10)?,
    ])
}

/// Single tasks: the public attributes the map styles and labels by, one row each. Geometry comes
/// from the stored web-mercator column (projecting per request cost a third of the time). A task
/// lying wholly inside the tile and its buffer needs no clipping: it comes as stored, with its
/// SRID, and the caller places it (domain::mvt_geom says why). The others are clipped and placed by
/// ST_AsMVTGeom; rows whose clipped geometry is NULL (outside the tile, within the index's margin)
/// are skipped by the caller rather than by repeating the clipping in a filter. The test is on
/// bounding boxes kept in single precision, up to 2 metres wider than the true ones here: the box
/// is narrowed by as much, so "inside" is never wrong. Both envelopes are scalar subqueries, worked
/// out once per tile rather than once per row.
fn push_tasks(qb: &mut QueryBuilder<'_, Postgres>, tile: TileId, viewer: &Viewer) {
    qb.push("SELECT CASE WHEN t.geom_3857 @ (SELECT ST_Expand(");
    push_envelope(qb, tile, true);
    qb.push(", -2.0)) THEN ST_AsEWKB(t.geom_3857) ELSE ST_AsBinary(ST_AsMVTGeom(t.geom_3857, (SELECT ");
    push_envelope(qb, tile, false);
    qb.push(format!(
        "), {EXTENT}, {BUFFER}, true)) END,
                t.id, t.code, t.title, t.category, t.status, t.progress, t.township_code, t.supervised,
                t.due_date, t.visibility, NULL::float8, NULL::bytea, NULL::date
         FROM tasks t
         WHERE NOT (SELECT crowded FROM c) AND t.geom && ST_Transform("
    ));
    push_envelope(qb, tile, true);
    qb.push(", 4326)");
    push_visibility(qb, viewer);
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
