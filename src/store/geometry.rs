//! Asking PostGIS about a geometry before it is stored.

use super::{StoreError, StoreResult};
use crate::domain::geometry::TaskGeometry;

/// Refuses a geometry PostGIS considers invalid (self-intersection, ring self-touching, collapsed
/// line), with PostGIS's own reason and location.
pub async fn check_valid<'e>(conn: impl sqlx::PgExecutor<'e>, g: &TaskGeometry) -> StoreResult<()> {
    let reason: String = sqlx::query_scalar("SELECT ST_IsValidReason(ST_GeomFromGeoJSON($1))")
        .bind(g.to_geojson())
        .fetch_one(conn)
        .await?;
    if reason == "Valid Geometry" {
        return Ok(());
    }
    Err(StoreError::invalid_field("/geometry", invalid(g, &reason)))
}

/// Why PostGIS refuses a geometry, as the caller is told.
pub(crate) fn invalid(g: &TaskGeometry, reason: &str) -> String {
    format!("the {} is not valid: {}", g.kind().name(), describe(reason))
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
