//! Vector tile addresses and what a tile shows: single tasks where they are few enough to draw,
//! clusters (counts per cell and family) where they are not.

/// Deepest zoom served; past it tiles would only magnify the zoom-22 geometry.
pub const MAX_ZOOM: u8 = 22;
/// From this zoom on, tiles always hold single tasks (cells are kept up to the zoom below it). At a
/// million tasks over a county a zoom-14 tile covers 3,000-5,000 of them, a zoom-15 tile about 1,000.
pub const DETAIL_ZOOM: u8 = 15;
/// A tile below `DETAIL_ZOOM` holds single tasks while it covers at most this many; more would
/// make tiles of megabytes that take longer to build than to look at.
pub const DETAIL_MAX: i64 = 2500;
/// Cells per tile side in cluster tiles (see migrations: cells are tiles of zoom z + 5).
pub const CELL_BITS: u8 = 5;
/// Half the width of the web-mercator (EPSG:3857) world in metres, as PostGIS's ST_TileEnvelope uses.
pub const MERCATOR_HALF: f64 = 20_037_508.342_789_244;

/// Why a path is not a tile: malformed (a bad request) or off the zoom's grid (no such tile).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TileError {
    Malformed(String),
    OffGrid(String),
}

/// A box in web-mercator metres: west, south, east, north.
pub type MercatorBox = [f64; 4];

/// The areas a notice of changed tasks names (migrations: tasks_notify_tiles): boxes
/// "xmin ymin xmax ymax" joined by ';'. None: everything (a TRUNCATE, or a notice not understood,
/// which must not leave a stale tile behind).
pub fn changed_areas(payload: &str) -> Option<Vec<MercatorBox>> {
    payload
        .split(';')
        .map(|b| {
            let v: Vec<f64> = b.split(' ').map(str::parse).collect::<Result<_, _>>().ok()?;
            <[f64; 4]>::try_from(v).ok().filter(|b| b.iter().all(|c| c.is_finite()))
        })
        .collect()
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct TileId {
    pub z: u8,
    pub x: u32,
    pub y: u32,
}

impl TileId {
    /// Parses `z`, `x` and `y.mvt` path segments, saying which one is wrong and why. A well-formed
    /// address off the zoom's grid (column or row at or past 2^zoom) is `OffGrid`: no such tile, as
    /// a web map server answers it, while a malformed one is a bad request.
    pub fn parse(z: &str, x: &str, y: &str) -> Result<TileId, TileError> {
        let y = y
            .strip_suffix(".mvt")
            .ok_or_else(|| TileError::Malformed(format!("'{y}' is not a tile name: tiles are {{y}}.mvt")))?;
        let z: u8 =
            z.parse().ok().filter(|z| *z <= MAX_ZOOM).ok_or_else(|| {
                TileError::Malformed(format!("zoom '{z}' is not a whole number from 0 to {MAX_ZOOM}"))
            })?;
        let size = 1u64 << z;
        let coord = |name: &str, v: &str| -> Result<u32, TileError> {
            // Digits only: u64's parser takes a leading '+', which is no tile name.
            if v.is_empty() || !v.bytes().all(|b| b.is_ascii_digit()) {
                return Err(TileError::Malformed(format!("tile {name} '{v}' is not a whole number")));
            }
            v.parse::<u64>().ok().filter(|n| *n < size).map(|n| n as u32).ok_or_else(|| {
                TileError::OffGrid(format!("there is no tile {name} {v} at zoom {z}: it runs from 0 to {}", size - 1))
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
        self.cells_at(self.z)
    }

    /// The tile's west and north edges in web-mercator metres, and tile units (of `extent` per side)
    /// per metre: what places a point inside the tile as ST_AsMVTGeom would, without its clipping.
    pub fn mercator_frame(&self, extent: i32) -> (f64, f64, f64) {
        let side = 2.0 * MERCATOR_HALF / f64::from(1u32 << self.z);
        (-MERCATOR_HALF + f64::from(self.x) * side, MERCATOR_HALF - f64::from(self.y) * side, f64::from(extent) / side)
    }

    /// The coarsest cell level that still fits the tile exactly, and the tile's cells there: from
    /// zoom 5 on one cell the size of the tile. Counting what a tile covers reads these few rows
    /// instead of the tile's thousand cells at its own level.
    pub fn count_cells(&self) -> (u8, (i32, i32, i32, i32)) {
        let level = self.z.saturating_sub(CELL_BITS);
        (level, self.cells_at(level))
    }

    /// Whether a change over `area` may alter this tile: its single tasks are those meeting the tile
    /// widened by `buffer` of `extent` units (the margin its query selects with), and its clusters
    /// and counts lie inside it. A metre more on each side absorbs rounding.
    pub fn touched_by(&self, area: &MercatorBox, extent: i32, buffer: i32) -> bool {
        let (west, north, per_metre) = self.mercator_frame(extent);
        let side = f64::from(extent) / per_metre;
        let m = side * f64::from(buffer) / f64::from(extent) + 1.0;
        area[0] <= west + side + m && area[2] >= west - m && area[1] <= north + m && area[3] >= north - side - m
    }

    /// The cells of level `level` (tiles of zoom level + 5, so level >= z - 5) inside this tile.
    fn cells_at(&self, level: u8) -> (i32, i32, i32, i32) {
        let shift = u32::from(level + CELL_BITS - self.z);
        let span = 1i64 << shift;
        let x0 = i64::from(self.x) << shift;
        let y0 = i64::from(self.y) << shift;
        (x0 as i32, (x0 + span - 1) as i32, y0 as i32, (y0 + span - 1) as i32)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_tile_addresses_and_names_the_bad_part() {
        assert_eq!(TileId::parse("14", "13683", "6766.mvt"), Ok(TileId { z: 14, x: 13683, y: 6766 }));
        let malformed = |z, x, y| match TileId::parse(z, x, y) {
            Err(TileError::Malformed(m)) => m,
            other => panic!("{z}/{x}/{y}: {other:?}"),
        };
        let off_grid = |z, x, y| match TileId::parse(z, x, y) {
            Err(TileError::OffGrid(m)) => m,
            other => panic!("{z}/{x}/{y}: {other:?}"),
        };
        assert!(malformed("14", "13683", "6766.png").contains("{y}.mvt"));
        assert!(malformed("23", "0", "0.mvt").contains("zoom '23'"));
        assert!(malformed("2", "0", "-1.mvt").contains("tile y '-1'"));
        assert!(malformed("2", "+1", "0.mvt").contains("tile x '+1'"));
        assert!(malformed("a", "0", "0.mvt").contains("zoom 'a'"));
        assert!(off_grid("2", "4", "0.mvt").contains("no tile x 4 at zoom 2: it runs from 0 to 3"));
        assert!(off_grid("0", "0", "1.mvt").contains("no tile y 1"));
        assert!(off_grid("22", "99999999999999999999", "0.mvt").contains("no tile x"), "past u64 is still digits");
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
        let z14 = TileId { z: 14, x: 13651, y: 6714 };
        assert_eq!(z14.cell_range(), (13651 * 32, 13651 * 32 + 31, 6714 * 32, 6714 * 32 + 31));
        assert!(!z14.shows_tasks(Some(DETAIL_MAX + 1)), "crowded zoom-14 tiles hold clusters");
        assert!(TileId { z: 15, x: 0, y: 0 }.shows_tasks(None));
    }

    #[test]
    fn the_mercator_frame_is_postgis_tile_envelope() {
        // ST_TileEnvelope(14, 13651, 6714): BOX(13352631.597080868 3612719.7048705705,
        // 13355077.581985995 3615165.689775696).
        let (west, north, per_metre) = TileId { z: 14, x: 13651, y: 6714 }.mercator_frame(4096);
        assert!((west - 13352631.597080868).abs() < 1e-6, "{west}");
        assert!((north - 3615165.689775696).abs() < 1e-6, "{north}");
        assert!((per_metre - 4096.0 / (13355077.581985995 - 13352631.597080868)).abs() < 1e-9);
    }

    #[test]
    fn a_change_touches_the_tiles_under_it_and_their_margins_only() {
        let t = TileId { z: 14, x: 13651, y: 6714 };
        let (west, north, per_metre) = t.mercator_frame(4096);
        let side = 4096.0 / per_metre;
        let point = |x: f64, y: f64| [x, y, x, y];
        assert!(t.touched_by(&point(west + side / 2.0, north - side / 2.0), 4096, 64));
        // Within the 64-unit margin the tile's query selects with, outside the tile itself.
        assert!(t.touched_by(&point(west - side * 60.0 / 4096.0, north - 1.0), 4096, 64));
        assert!(!t.touched_by(&point(west - side * 70.0 / 4096.0, north - 1.0), 4096, 64));
        assert!(!t.touched_by(&point(west + side / 2.0, north + side), 4096, 64));
        // A box across the tile with both ends outside it.
        assert!(t.touched_by(&[west - side, north - side / 2.0, west + 2.0 * side, north - side / 2.0], 4096, 64));
        assert!(TileId { z: 0, x: 0, y: 0 }.touched_by(&point(west, north), 4096, 64));
    }

    #[test]
    fn change_notices_name_boxes_or_everything() {
        assert_eq!(changed_areas("1 2 3 4"), Some(vec![[1.0, 2.0, 3.0, 4.0]]));
        assert_eq!(changed_areas("1 2 3 4;-5.5 6 7 8e6"), Some(vec![[1.0, 2.0, 3.0, 4.0], [-5.5, 6.0, 7.0, 8e6]]));
        assert_eq!(changed_areas("all"), None);
        assert_eq!(changed_areas("1 2 3"), None);
        assert_eq!(changed_areas("1 2 3 NaN"), None);
        assert_eq!(changed_areas(""), None);
    }

    #[test]
    fn a_tile_is_counted_from_the_one_cell_of_its_own_size() {
        // Level 9 cells are tiles of zoom 14: the tile itself.
        assert_eq!(TileId { z: 14, x: 13651, y: 6714 }.count_cells(), (9, (13651, 13651, 6714, 6714)));
        assert_eq!(TileId { z: 5, x: 26, y: 13 }.count_cells(), (0, (26, 26, 13, 13)));
        // Below zoom 5 the coarsest level (tiles of zoom 5) splits the tile.
        assert_eq!(TileId { z: 3, x: 6, y: 3 }.count_cells(), (0, (24, 27, 12, 15)));
        assert_eq!(TileId { z: 0, x: 0, y: 0 }.count_cells(), (0, (0, 31, 0, 31)));
    }
}
