//! Asking PostGIS about a geometry before it is stored.

use super::{StoreError, StoreResult};
use crate::domain::geometry::TaskGeometry;
use crate::domain::{Code, Message};

/// Refuses a geometry PostGIS considers invalid (self-intersection, ring self-touching, collapsed
/// line), with PostGIS's own reason and location.
pub async fn check_valid<'e>(conn: impl sqlx::PgExecutor<'e>, g: &TaskGeometry) -> StoreResult<()> {
    let reason = sqlx::query_scalar!(r#"SELECT ST_IsValidReason(ST_GeomFromGeoJSON($1)) AS "reason!""#, g.to_geojson())
        .fetch_one(conn)
        .await?;
    if reason == "Valid Geometry" {
        return Ok(());
    }
    Err(StoreError::invalid_field(invalid(g, &reason).at("/geometry")))
}

/// Why PostGIS refuses a geometry, as the caller is told: the reason in lower case and, where
/// PostGIS gives one, the place (`lon`, `lat`) as parameters.
pub(crate) fn invalid(g: &TaskGeometry, reason: &str) -> Message {
    let what = reason.split('[').next().unwrap_or(reason).trim().to_lowercase();
    let why =
        Message::new(Code::InvalidGeometry, format!("the {} is not valid: {}", g.kind().name(), describe(reason)))
            .with("kind", g.kind().name())
            .with("reason", what);
    let at: Vec<f64> = reason
        .split_once('[')
        .map(|(_, at)| at.trim_end_matches(']').split_whitespace().filter_map(|n| n.parse().ok()).collect())
        .unwrap_or_default();
    match at.as_slice() {
        [lon, lat, ..] => why.with("lon", *lon).with("lat", *lat),
        _ => why,
    }
}

/// "Self-intersection[119.9 30.8]" -> "self-intersection at [119.9, 30.8]".
pub(crate) fn describe(reason: &str) -> String {
    match reason.split_once('[') {
        Some((what, at)) => {
            let at = at.trim_end_matches(']').split_whitespace().collect::<Vec<_>>().join(", ");
            format!("{} at [{at}] (longitude, latitude)", what.trim().to_lowercase())
        }
        None => reason.to_lowercase(),
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn postgis_reasons_read_as_sentences() {
        assert_eq!(
            super::describe("Self-intersection[119.9 30.8]"),
            "self-intersection at [119.9, 30.8] (longitude, latitude)"
        );
        assert_eq!(super::describe("Too few points"), "too few points");
    }
}
