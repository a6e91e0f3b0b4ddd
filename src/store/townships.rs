use serde::Serialize;
use serde_json::value::RawValue;

use super::Db;

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct TownshipProperties {
    /// Administrative (statistics) code.
    #[schema(example = "330599101")]
    pub code: String,
    #[schema(example = "青溪镇")]
    pub name: String,
    /// `town` (镇), `subdistrict` (街道) or `development_zone` (开发区).
    #[schema(example = "town")]
    pub kind: String,
    /// Area in square kilometres, on the ellipsoid.
    pub area_km2: f64,
}

/// A township as a GeoJSON Feature, serialised straight from its row (PostGIS's geometry text passed through)
/// rather than a `geojson::Feature`: geojson has no way to carry a geometry as text, so PostGIS's
/// `ST_AsGeoJSON` would be parsed into positions and written out again, and typed properties held as
/// a JSON map. The OGC API converts these into geojson Features (`http::ogc`).
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct TownshipFeature {
    #[serde(rename = "type")]
    #[schema(example = "Feature")]
    pub kind: &'static str,
    pub id: String,
    /// GeoJSON MultiPolygon, WGS 84.
    #[schema(value_type = Object)]
    pub geometry: Box<RawValue>,
    pub properties: TownshipProperties,
}

struct Row {
    code: String,
    name: String,
    kind: String,
    area_km2: f64,
    geometry: String,
}

pub async fn list(db: &Db) -> Result<Vec<TownshipFeature>, sqlx::Error> {
    let rows = sqlx::query_as!(
        Row,
        r#"SELECT code, name, kind, ST_Area(boundary::geography) / 1e6 AS "area_km2!",
                  ST_AsGeoJSON(boundary, 6) AS "geometry!"
           FROM townships ORDER BY code"#
    )
    .fetch_all(db)
    .await?;
    rows.into_iter().map(feature).collect()
}

/// Every township's code and name, by code (rosters and ledgers name townships either way).
pub async fn names(db: &Db) -> Result<Vec<(String, String)>, sqlx::Error> {
    let rows = sqlx::query!("SELECT code, name FROM townships ORDER BY code").fetch_all(db).await?;
    Ok(rows.into_iter().map(|r| (r.code, r.name)).collect())
}

/// The townships (code, name) without an active township officer, by code.
pub async fn without_officer(db: &Db) -> Result<Vec<(String, String)>, sqlx::Error> {
    let rows = sqlx::query!(
        "SELECT t.code, t.name FROM townships t
         WHERE NOT EXISTS (SELECT FROM users u WHERE u.township_code = t.code AND u.role = 'township' AND u.active)
         ORDER BY t.code"
    )
    .fetch_all(db)
    .await?;
    Ok(rows.into_iter().map(|r| (r.code, r.name)).collect())
}

/// The codes among `codes` that name no township.
pub async fn unknown_codes(db: &Db, codes: &[String]) -> Result<Vec<String>, sqlx::Error> {
    sqlx::query_scalar!(
        r#"SELECT c AS "c!" FROM unnest($1::text[]) AS c WHERE NOT EXISTS (SELECT 1 FROM townships WHERE code = c)"#,
        codes
    )
    .fetch_all(db)
    .await
}

/// Inserts a township or updates its name, kind and boundary (the demo loader and admin imports).
pub async fn upsert<'e>(
    conn: impl sqlx::PgExecutor<'e>,
    code: &str,
    name: &str,
    kind: &str,
    boundary_geojson: &str,
) -> Result<(), sqlx::Error> {
    sqlx::query!(
        "INSERT INTO townships (code, name, kind, boundary)
         VALUES ($1, $2, $3, ST_Multi(ST_GeomFromGeoJSON($4)))
         ON CONFLICT (code) DO UPDATE SET name = EXCLUDED.name, kind = EXCLUDED.kind, boundary = EXCLUDED.boundary",
        code,
        name,
        kind,
        boundary_geojson
    )
    .execute(conn)
    .await?;
    Ok(())
}

/// Creates or replaces a township and moves every task whose majority township changed (bureau
/// overrides stay), recording each move in the task's history, all in one transaction. Refused if
/// the new boundaries would leave a task in no township.
pub async fn replace(
    db: &Db,
    code: &str,
    t: &crate::domain::township::TownshipInput,
    actor: uuid::Uuid,
) -> super::StoreResult<usize> {
    let mut tx = super::begin(db).await?;
    super::geometry::check_valid(&mut *tx, &t.boundary).await?;
    upsert(&mut *tx, code, &t.name, t.kind, &t.boundary.to_geojson()).await?;
    let moves = sqlx::query_as!(
        super::township_import::Move,
        r#"SELECT id AS "id!", code AS "code!", before AS "before!", after FROM (
               SELECT t.id, t.code, t.township_code AS before, township_for(t.geom) AS after
               FROM tasks t
               WHERE NOT t.township_overridden
                 AND (t.township_code = $1 OR ST_Intersects(t.geom, (SELECT boundary FROM townships WHERE code = $1)))
           ) m WHERE after IS DISTINCT FROM before"#,
        code
    )
    .fetch_all(&mut *tx)
    .await?;
    let orphans = moves.iter().filter(|m| m.after.is_none()).count();
    if orphans > 0 {
        return Err(super::StoreError::Conflict(format!(
            "{orphans} task(s) would lie in no township with this boundary; move or cancel them first"
        )));
    }
    super::township_import::move_tasks(&mut tx, &moves, Some(actor)).await?;
    tx.commit().await?;
    Ok(moves.len())
}

/// One page of townships (code order) whose boundary meets `bbox` and whose kind is among `kinds`,
/// and how many match in all.
pub async fn page(
    db: &Db,
    bbox: Option<crate::domain::filter::BBox>,
    kinds: Option<&[String]>,
    limit: i64,
    offset: i64,
) -> Result<(Vec<TownshipFeature>, i64), sqlx::Error> {
    let rows: Vec<(i64, Row)> = sqlx::query!(
        r#"SELECT count(*) OVER () AS "matched!", code, name, kind, ST_Area(boundary::geography) / 1e6 AS "area_km2!",
                  ST_AsGeoJSON(boundary, 6) AS "geometry!"
           FROM townships
           WHERE ($1::float8 IS NULL OR boundary && ST_MakeEnvelope($1, $2, $3, $4, 4326)
                  AND ST_Intersects(boundary, ST_MakeEnvelope($1, $2, $3, $4, 4326)))
             AND ($5::text[] IS NULL OR kind = ANY($5))
           ORDER BY code LIMIT $6 OFFSET $7"#,
        bbox.map(|b| b.west),
        bbox.map(|b| b.south),
        bbox.map(|b| b.east),
        bbox.map(|b| b.north),
        kinds,
        limit,
        offset
    )
    .fetch_all(db)
    .await?
    .into_iter()
    .map(|r| {
        let row = Row { code: r.code, name: r.name, kind: r.kind, area_km2: r.area_km2, geometry: r.geometry };
        (r.matched, row)
    })
    .collect();
    let matched = match rows.first() {
        Some((m, _)) => *m,
        // An offset past the end still deserves the true total.
        None if offset > 0 => {
            return Box::pin(page(db, bbox, kinds, limit.max(1), 0)).await.map(|(_, m)| (Vec::new(), m));
        }
        None => 0,
    };
    let features = rows.into_iter().map(|(_, r)| feature(r)).collect::<Result<_, _>>()?;
    Ok((features, matched))
}

/// One township as a Feature.
pub async fn get(db: &Db, code: &str) -> Result<Option<TownshipFeature>, sqlx::Error> {
    let row = sqlx::query_as!(
        Row,
        r#"SELECT code, name, kind, ST_Area(boundary::geography) / 1e6 AS "area_km2!",
                  ST_AsGeoJSON(boundary, 6) AS "geometry!"
           FROM townships WHERE code = $1"#,
        code
    )
    .fetch_optional(db)
    .await?;
    row.map(feature).transpose()
}

fn feature(r: Row) -> Result<TownshipFeature, sqlx::Error> {
    Ok(TownshipFeature {
        kind: "Feature",
        id: r.code.clone(),
        geometry: RawValue::from_string(r.geometry).map_err(|e| sqlx::Error::Decode(Box::new(e)))?,
        properties: TownshipProperties { code: r.code, name: r.name, kind: r.kind, area_km2: r.area_km2 },
    })
}
