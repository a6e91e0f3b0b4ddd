//! Vector tile addresses and what a tile shows: single tasks where they are few enough to draw,
//! clusters (counts per cell and family) where they are not.

/// Deepest zoom served; past it tiles would only magnify the zoom-22 geometry.
pub const MAX_ZOOM: u8 = 22;
/// From this zoom on, tiles always hold single tasks (cells are kept up to the zoom below it).
pub const DETAIL_ZOOM: u8 = 14;
/// A tile below `DETAIL_ZOOM` holds single tasks while it covers at most this many; more would
/// make tiles of megabytes that take longer to build than to look at.
pub const DETAIL_MAX: i64 = 2500;
/// Cells per tile side in cluster tiles (see migrations: cells are tiles of zoom z + 5).
pub const CELL_BITS: u8 = 5;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TileId {
    pub z: u8,
    pub x: u32,
    pub y: u32,
}

impl TileId {
    /// Parses `z`, `x` and `y.mvt` path segments, saying which one is wrong and why.
    pub fn parse(z: &str, x: &str, y: &str) -> Result<TileId, String> {
        let y = y.strip_suffix(".mvt").ok_or_else(|| format!("'{y}' is not a tile name: tiles are {{y}}.mvt"))?;
        let z: u8 = z
            .parse()
            .ok()
            .filter(|z| *z <= MAX_ZOOM)
            .ok_or_else(|| format!("zoom '{z}' is not a whole number from 0 to {MAX_ZOOM}"))?;
        let size = 1u64 << z;
        let coord =
            |name: &str, v: &str| -> Result<u32, String> {
                v.parse::<u64>().ok().filter(|n| *n < size).map(|n| n as u32).ok_or_else(|| {
                    format!("tile {name} '{v}' is not a whole number from 0 to {} at zoom {z}", size - 1)
                })
            };
        Ok(TileId { z, x: coord("x", x)?, y: coord("y", y)? })
    }

    /// Whether the tile draws single tasks, given how many visible tasks it covers (None: not counted,
    /// as from `DETAIL_ZOOM` on).
    pub fn shows_tasks(&self, covered: Option<i64>) -> bool {
        self.z >= DETAIL_ZOOM || covered.is_none_or(|n| n <= DETAIL_MAX)
    }

    /// The range of cells (at this zoom's cell level) the tile covers, as (x_min, x_max, y_min, y_max).
    pub fn cell_range(&self) -> (i32, i32, i32, i32) {
        let span = 1i64 << CELL_BITS;
        let x0 = i64::from(self.x) * span;
        let y0 = i64::from(self.y) * span;
        (x0 as i32, (x0 + span - 1) as i32, y0 as i32, (y0 + span - 1) as i32)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_tile_addresses_and_names_the_bad_part() {
        assert_eq!(TileId::parse("14", "13683", "6766.mvt"), Ok(TileId { z: 14, x: 13683, y: 6766 }));
        assert!(TileId::parse("14", "13683", "6766.png").unwrap_err().contains("{y}.mvt"));
        assert!(TileId::parse("23", "0", "0.mvt").unwrap_err().contains("zoom '23'"));
        assert!(TileId::parse("2", "4", "0.mvt").unwrap_err().contains("tile x '4'"));
        assert!(TileId::parse("2", "0", "-1.mvt").unwrap_err().contains("tile y '-1'"));
        assert!(TileId::parse("a", "0", "0.mvt").is_err());
    }

    #[test]
    fn low_zoom_tiles_cluster_only_when_crowded() {
        let t = TileId { z: 10, x: 0, y: 0 };
        assert!(t.shows_tasks(Some(DETAIL_MAX)));
        assert!(!t.shows_tasks(Some(DETAIL_MAX + 1)));
        assert!(TileId { z: DETAIL_ZOOM, x: 0, y: 0 }.shows_tasks(None));
    }

    #[test]
    fn cells_are_tiles_five_zooms_deeper() {
        assert_eq!(TileId { z: 10, x: 852, y: 418 }.cell_range(), (852 * 32, 852 * 32 + 31, 418 * 32, 418 * 32 + 31));
    }
}
