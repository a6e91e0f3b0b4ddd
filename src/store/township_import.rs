//! Loading a county's township boundaries from a file, in one transaction: the townships are
//! staged, transformed to WGS 84 by PostGIS (`ST_Transform`, whose `spatial_ref_sys` knows CGCS2000
//! and its Gauss-Krüger zones), repaired where invalid (`ST_MakeValid`), checked for gaps and
//! overlaps, written, and every task whose township changes is moved with a history event. A dry
//! run does all of it and rolls back, so what it reports is exactly what applying would do.

use geo::MapCoords;
use serde::Serialize;
use sqlx::{PgConnection, Postgres, Transaction};
use uuid::Uuid;

use super::Db;
use super::error::{StoreError, StoreResult};
use crate::domain::boundary::{Source, Township};
use crate::domain::chinacoords::Datum;
use crate::domain::{Code, FieldError};

/// What an import does (dry run) or did (applied).
#[derive(Debug, Default, Serialize, utoipa::ToSchema)]
pub struct ImportReport {
    /// False for a dry run: nothing was stored.
    pub applied: bool,
    /// The file read.
    pub source: Source,
    /// The coordinate system transformed from, as `EPSG:4549`.
    pub crs: String,
    pub townships: usize,
    /// Codes new to the ledger.
    pub added: Vec<String>,
    /// Codes whose name, kind or boundary changes.
    pub changed: Vec<String>,
    /// Townships in the ledger but not in the file: kept as they are.
    pub kept: Vec<String>,
    pub invalid: Vec<Repair>,
    pub overlaps: Vec<Overlap>,
    pub gaps: Vec<Gap>,
    /// The union of the file's townships, on the ellipsoid.
    pub county_area_km2: f64,
    pub moves: Vec<Move>,
    /// Tasks the new boundaries would leave outside every township (applying is refused).
    pub orphans: Vec<String>,
}

/// An invalid boundary and how `ST_MakeValid` repairs it.
#[derive(Debug, Serialize, sqlx::FromRow, utoipa::ToSchema)]
pub struct Repair {
    pub code: String,
    pub name: String,
    /// PostGIS's reason, e.g. `Self-intersection[119.95 30.81]`.
    pub reason: String,
    pub area_km2_before: f64,
    pub area_km2_after: f64,
}

/// Two townships covering the same ground.
#[derive(Debug, Serialize, sqlx::FromRow, utoipa::ToSchema)]
pub struct Overlap {
    pub a: String,
    pub b: String,
    pub area_m2: f64,
}

/// Ground inside the county that no township covers.
#[derive(Debug, Serialize, sqlx::FromRow, utoipa::ToSchema)]
pub struct Gap {
    /// The townships around it.
    pub between: Vec<String>,
    pub area_m2: f64,
    /// A point inside it, longitude/latitude.
    pub lon: f64,
    pub lat: f64,
}

/// A task that changes township.
#[derive(Debug, Serialize, sqlx::FromRow, utoipa::ToSchema)]
pub struct Move {
    pub id: Uuid,
    pub code: String,
    pub before: String,
    pub after: Option<String>,
}

/// Stages, checks and (when `apply`) stores the townships, transformed from `srid`, with positions
/// shifted from `datum` when the file was traced from a Chinese web map.
pub async fn import(
    db: &Db,
    source: Source,
    townships: &[Township],
    srid: u32,
    datum: Datum,
    actor: Option<Uuid>,
    apply: bool,
) -> StoreResult<ImportReport> {
    let mut tx = super::begin(db).await?;
    stage(&mut tx, townships, srid).await?;
    if datum != Datum::Wgs84 {
        shift(&mut tx, datum).await?;
    }
    let mut report =
        ImportReport { source, crs: format!("EPSG:{srid}"), townships: townships.len(), ..Default::default() };
    report.invalid = repair(&mut tx).await?;
    check(&mut tx, &mut report).await?;
    write(&mut tx, &mut report).await?;
    report.moves = moves(&mut tx, &report).await?;
    report.orphans = report.moves.iter().filter(|m| m.after.is_none()).map(|m| m.code.clone()).collect();
    if !apply {
        tx.rollback().await?;
        return Ok(report);
    }
    if !report.orphans.is_empty() {
        return Err(StoreError::Conflict(format!(
            "{} task(s) would lie in no township with these boundaries ({}); nothing was changed: move or cancel them, \
             or correct the file",
            report.orphans.len(),
            report.orphans.join(", ")
        )));
    }
    move_tasks(&mut tx, &report.moves, actor).await?;
    tx.commit().await?;
    report.applied = true;
    Ok(report)
}

async fn stage(tx: &mut Transaction<'_, Postgres>, townships: &[Township], srid: u32) -> StoreResult<()> {
    let srid = i32::try_from(srid).unwrap_or(0);
    let known =
        sqlx::query_scalar!(r#"SELECT EXISTS (SELECT 1 FROM spatial_ref_sys WHERE srid = $1) AS "known!""#, srid)
            .fetch_one(&mut **tx)
            .await?;
    if !known {
        return Err(StoreError::Invalid(vec![FieldError::new(
            "/crs",
            Code::UnknownCrs,
            format!(
                "EPSG:{srid} is not a coordinate system PostGIS can transform from; {}",
                crate::domain::crs::HOW_TO_NAME
            ),
        )]));
    }
    sqlx::query!(
        "CREATE TEMP TABLE township_import (
             idx integer, code text, name text, kind text, geom geometry
         ) ON COMMIT DROP"
    )
    .execute(&mut **tx)
    .await?;
    let geometries: Vec<String> = townships
        .iter()
        .map(|t| {
            geojson::Geometry::new(geojson::GeometryValue::from(&geo::Geometry::MultiPolygon(t.boundary.clone())))
                .to_string()
        })
        .collect();
    // Runtime-checked: the temp table township_import exists only in the import's transaction, not at build time.
    let transformed = sqlx::query(
        "INSERT INTO township_import (idx, code, name, kind, geom)
         SELECT i, c, n, k, ST_Multi(ST_Transform(ST_SetSRID(ST_GeomFromGeoJSON(g), $6), 4326))
         FROM unnest($1::int[], $2::text[], $3::text[], $4::text[], $5::text[]) AS u(i, c, n, k, g)",
    )
    .bind(townships.iter().map(|t| t.index as i32).collect::<Vec<_>>())
    .bind(townships.iter().map(|t| t.code.clone()).collect::<Vec<_>>())
    .bind(townships.iter().map(|t| t.name.clone()).collect::<Vec<_>>())
    .bind(townships.iter().map(|t| t.kind).collect::<Vec<_>>())
    .bind(geometries)
    .bind(srid)
    .execute(&mut **tx)
    .await;
    match transformed {
        Err(sqlx::Error::Database(e))
            if e.code().as_deref() == Some("XX000") || e.code().as_deref() == Some("22023") =>
        {
            Err(StoreError::Invalid(vec![
                FieldError::new(
                    "/crs",
                    Code::UnknownCrs,
                    format!("the coordinates cannot be transformed from EPSG:{srid} to WGS 84: {}", e.message()),
                )
                .with("got", format!("EPSG:{srid}")),
            ]))
        }
        other => other.map(|_| ()).map_err(StoreError::from),
    }
}

/// GCJ-02 and BD-09 are offsets on longitude/latitude, so they are undone after the transform.
async fn shift(tx: &mut Transaction<'_, Postgres>, datum: Datum) -> StoreResult<()> {
    // Runtime-checked: the temp table township_import exists only in the import's transaction, not at build time.
    let rows: Vec<(i32, String)> =
        sqlx::query_as("SELECT idx, ST_AsGeoJSON(geom) FROM township_import").fetch_all(&mut **tx).await?;
    for (idx, text) in rows {
        let g: geojson::Geometry = text.parse::<geojson::Geometry>().map_err(|e| sqlx::Error::Decode(Box::new(e)))?;
        let g = geo::Geometry::<f64>::try_from(g).map_err(|e| sqlx::Error::Decode(Box::new(e)))?;
        let shifted = g.map_coords(|c| {
            let [x, y] = datum.to_wgs84([c.x, c.y]);
            geo::Coord { x, y }
        });
        let text = geojson::Geometry::new(geojson::GeometryValue::from(&shifted)).to_string();
        // Runtime-checked: the temp table township_import exists only in the import's transaction, not at build time.
        sqlx::query("UPDATE township_import SET geom = ST_SetSRID(ST_GeomFromGeoJSON($2), 4326) WHERE idx = $1")
            .bind(idx)
            .bind(text)
            .execute(&mut **tx)
            .await?;
    }
    Ok(())
}

/// Repairs invalid boundaries with `ST_MakeValid`, keeping only their areas; reports each.
async fn repair(tx: &mut Transaction<'_, Postgres>) -> StoreResult<Vec<Repair>> {
    // Runtime-checked: the temp table township_import exists only in the import's transaction, not at build time.
    let repairs: Vec<Repair> = sqlx::query_as(
        "WITH fixed AS (
             SELECT idx, code, name, ST_IsValidReason(geom) AS reason, geom AS before,
                    ST_Multi(ST_CollectionExtract(ST_MakeValid(geom), 3)) AS after
             FROM township_import WHERE NOT ST_IsValid(geom)
         ), done AS (
             UPDATE township_import i SET geom = f.after FROM fixed f WHERE i.idx = f.idx RETURNING i.idx
         )
         SELECT code, name, reason, ST_Area(before::geography) / 1e6 AS area_km2_before,
                ST_Area(after::geography) / 1e6 AS area_km2_after
         FROM fixed ORDER BY idx",
    )
    .fetch_all(&mut **tx)
    .await?;
    // Runtime-checked: the temp table township_import exists only in the import's transaction, not at build time.
    let empty: Vec<(i32, String)> =
        sqlx::query_as("SELECT idx, code FROM township_import WHERE ST_IsEmpty(geom) OR ST_Area(geom) = 0")
            .fetch_all(&mut **tx)
            .await?;
    if !empty.is_empty() {
        return Err(StoreError::Invalid(
            empty
                .into_iter()
                .map(|(idx, code)| {
                    FieldError::new(
                        format!("/file/features/{idx}/geometry"),
                        Code::NoArea,
                        format!("feature {idx} ({code}) has no area left once made valid"),
                    )
                })
                .collect(),
        ));
    }
    Ok(repairs)
}

/// Overlaps between neighbours, gaps inside the county (holes of the union), the county's area.
async fn check(tx: &mut Transaction<'_, Postgres>, report: &mut ImportReport) -> StoreResult<()> {
    // Runtime-checked: the temp table township_import exists only in the import's transaction, not at build time.
    report.overlaps = sqlx::query_as(
        "SELECT a.code AS a, b.code AS b, ST_Area(ST_Intersection(a.geom, b.geom)::geography) AS area_m2
         FROM township_import a JOIN township_import b ON a.idx < b.idx AND ST_Intersects(a.geom, b.geom)
         WHERE ST_Relate(a.geom, b.geom, '2********')
         ORDER BY area_m2 DESC",
    )
    .fetch_all(&mut **tx)
    .await?;
    // Runtime-checked: the temp table township_import exists only in the import's transaction, not at build time.
    report.gaps = sqlx::query_as(
        "WITH county AS (SELECT ST_Union(geom) AS u FROM township_import),
              holes AS (
                  SELECT ST_MakePolygon(ST_InteriorRingN(p.geom, n)) AS hole
                  FROM county, ST_Dump(u) AS p, generate_series(1, ST_NumInteriorRings(p.geom)) AS n)
         SELECT array(SELECT i.code FROM township_import i WHERE ST_Intersects(i.geom, h.hole) ORDER BY i.code) AS between,
                ST_Area(h.hole::geography) AS area_m2,
                ST_X(ST_PointOnSurface(h.hole)) AS lon, ST_Y(ST_PointOnSurface(h.hole)) AS lat
         FROM holes h ORDER BY area_m2 DESC",
    )
    .fetch_all(&mut **tx)
    .await?;
    // Runtime-checked: the temp table township_import exists only in the import's transaction, not at build time.
    report.county_area_km2 =
        sqlx::query_scalar("SELECT coalesce(ST_Area(ST_Union(geom)::geography), 0) / 1e6 FROM township_import")
            .fetch_one(&mut **tx)
            .await?;
    Ok(())
}

/// Upserts the staged townships; notes which are new, which change and which the file leaves out.
async fn write(tx: &mut Transaction<'_, Postgres>, report: &mut ImportReport) -> StoreResult<()> {
    let (added, changed): (Vec<String>, Vec<String>) = {
        // Runtime-checked: the temp table township_import exists only in the import's transaction, not at build time.
        let rows: Vec<(String, bool)> = sqlx::query_as(
            "SELECT i.code, t.code IS NULL
             FROM township_import i LEFT JOIN townships t ON t.code = i.code
             WHERE t.code IS NULL OR t.name <> i.name OR t.kind <> i.kind OR NOT ST_Equals(t.boundary, i.geom)
             ORDER BY i.code",
        )
        .fetch_all(&mut **tx)
        .await?;
        let (a, c): (Vec<_>, Vec<_>) = rows.into_iter().partition(|(_, new)| *new);
        (a.into_iter().map(|r| r.0).collect(), c.into_iter().map(|r| r.0).collect())
    };
    // Runtime-checked: the temp table township_import exists only in the import's transaction, not at build time.
    report.kept = sqlx::query_scalar(
        "SELECT code FROM townships t WHERE NOT EXISTS (SELECT 1 FROM township_import i WHERE i.code = t.code) ORDER BY code",
    )
    .fetch_all(&mut **tx)
    .await?;
    // Runtime-checked: the temp table township_import exists only in the import's transaction, not at build time.
    sqlx::query(
        "INSERT INTO townships (code, name, kind, boundary)
         SELECT code, name, kind, geom FROM township_import
         ON CONFLICT (code) DO UPDATE SET name = EXCLUDED.name, kind = EXCLUDED.kind, boundary = EXCLUDED.boundary",
    )
    .execute(&mut **tx)
    .await?;
    report.added = added;
    report.changed = changed;
    Ok(())
}

/// Tasks whose majority township differs under the new boundaries (bureau overrides stay). Only
/// tasks in, or touching, a township that changed can move.
async fn moves(tx: &mut Transaction<'_, Postgres>, report: &ImportReport) -> StoreResult<Vec<Move>> {
    let touched: Vec<String> = report.added.iter().chain(&report.changed).cloned().collect();
    Ok(sqlx::query_as!(
        Move,
        r#"SELECT id AS "id!", code AS "code!", before AS "before!", after FROM (
               SELECT t.id, t.code, t.township_code AS before, township_for(t.geom) AS after
               FROM tasks t
               WHERE NOT t.township_overridden
                 AND (t.township_code = ANY($1)
                      OR EXISTS (SELECT 1 FROM townships w WHERE w.code = ANY($1) AND ST_Intersects(w.boundary, t.geom)))
           ) m WHERE after IS DISTINCT FROM before ORDER BY code"#,
        &touched
    )
    .fetch_all(&mut **tx)
    .await?)
}

/// Moves tasks to their new township, each with an `updated` event naming the change.
pub(crate) async fn move_tasks(
    conn: &mut PgConnection,
    moves: &[Move],
    actor: Option<Uuid>,
) -> Result<(), sqlx::Error> {
    for m in moves {
        sqlx::query!("UPDATE tasks SET township_code = $2, updated_by = $3 WHERE id = $1", m.id, m.after, actor)
            .execute(&mut *conn)
            .await?;
        let mut event = super::events::Event::new(m.id, actor, "updated");
        event.changes = serde_json::json!({"township": {"before": m.before, "after": m.after}});
        super::events::record(conn, &event).await?;
    }
    Ok(())
}
