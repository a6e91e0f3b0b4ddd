//! Mapbox vector tiles of the tasks a viewer may see, built by PostGIS (ST_AsMVT): single tasks
//! with the map's attributes, or, where a low-zoom tile covers too many, clusters read from the
//! precounted cells (see migrations: task_cells).

use sqlx::{PgConnection, Postgres, QueryBuilder};

use super::Db;
use super::tasks::push_visibility;
use crate::domain::access::Viewer;
use crate::domain::tile::{DETAIL_ZOOM, TileId};

/// Name of the layer in every tile, as the TileJSON announces it.
pub const LAYER: &str = "tasks";
const EXTENT: i32 = 4096;
/// Pixels of geometry kept beyond the tile edge, so lines and areas join without seams.
const BUFFER: i32 = 64;

/// How many visible tasks a tile below `DETAIL_ZOOM` covers, from the cells as large as the tile.
async fn covered(conn: &mut PgConnection, tile: TileId, viewer: &Viewer) -> Result<Option<i64>, sqlx::Error> {
    if tile.z >= DETAIL_ZOOM {
        return Ok(None);
    }
    let (level, (x0, x1, y0, y1)) = tile.count_cells();
    // Runtime-checked: the cells' range and the viewer's visibility clause are added at run time.
    let mut qb = QueryBuilder::new("SELECT coalesce(sum(t.n), 0)::int8 FROM task_cells t WHERE t.z = ");
    qb.push_bind(i16::from(level));
    push_cells(&mut qb, x0, x1, y0, y1);
    push_cell_visibility(&mut qb, viewer);
    Ok(Some(qb.build_query_scalar().fetch_one(conn).await?))
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

/// The tile as MVT bytes (empty when nothing visible lies under it).
pub async fn tile(db: &Db, tile: TileId, viewer: &Viewer) -> Result<Vec<u8>, sqlx::Error> {
    let mut tx = super::interactive_read(db).await?;
    let covered = covered(&mut tx, tile, viewer).await?;
    let mut qb = if tile.shows_tasks(covered) { tasks_query(tile, viewer) } else { clusters_query(tile, viewer) };
    let bytes: Option<Vec<u8>> = qb.build_query_scalar().fetch_one(&mut *tx).await?;
    tx.commit().await?;
    Ok(bytes.unwrap_or_default())
}

/// Single tasks: the public attributes the map styles and labels by, under the API's names.
/// Geometry comes from the stored web-mercator column (projecting per request cost a third of the
/// time); ST_AsMVT skips rows whose clipped geometry is NULL, so no outer filter repeats the
/// clipping for every row.
fn tasks_query(tile: TileId, viewer: &Viewer) -> QueryBuilder<'static, Postgres> {
    // Runtime-checked: the tile's constants are formatted in and the viewer's visibility clause added at run time.
    let mut qb = QueryBuilder::new(format!(
        "SELECT ST_AsMVT(m, '{LAYER}', {EXTENT}, 'geom') FROM (
             SELECT ST_AsMVTGeom(t.geom_3857, "
    ));
    push_envelope(&mut qb, tile);
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
    push_visibility(&mut qb, viewer);
    qb.push(") m");
    qb
}

/// Clusters: one point per cell and family at the mean position of its tasks, with the count and
/// the count per status. The mean lies inside its cell, so inside the tile: it is placed in tile
/// units by arithmetic rather than ST_AsMVTGeom, whose clipping machinery was a sixth of the time
/// of a crowded cluster tile.
fn clusters_query(tile: TileId, viewer: &Viewer) -> QueryBuilder<'static, Postgres> {
    let (x0, x1, y0, y1) = tile.cell_range();
    let (west, north, per_metre) = tile.mercator_frame(EXTENT);
    // Runtime-checked: the tile's constants are formatted in and the viewer's visibility clause added at run time.
    let mut qb = QueryBuilder::new(format!(
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
    push_cells(&mut qb, x0, x1, y0, y1);
    push_cell_visibility(&mut qb, viewer);
    qb.push(" GROUP BY t.cx, t.cy, t.category HAVING sum(t.n) > 0) m");
    qb
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
