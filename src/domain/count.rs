//! Counting a task list's matches (`numberMatched`) from the precounted cells (migrations:
//! task_cells) instead of the tasks: which filters the cells can answer, and which cells and which
//! thin edges of a box make up the count.
//!
//! A task sits in the cell of its point on surface (ST_PointOnSurface), at every level; a box
//! filter keeps the tasks whose geometry intersects the box. So the count of a box is
//!
//! * the cells lying wholly inside the box (shrunk by `MARGIN`, so rounding cannot put a cell's
//!   point outside it): each of their tasks has a point in the box, so it intersects the box;
//!   coarse cells in the middle, finer ones towards the edges, down to level `FINEST`;
//! * plus every task intersecting the box whose point lies in no such cell, counted from the tasks
//!   themselves. Such a task's bounding box holds its point (outside the inner cells) and a point of
//!   the box, so it meets one of the four `strips` between the inner cells and the box's edge; the
//!   strips find these tasks through the spatial index, and the level-`FINEST` cell of their point,
//!   stored with each task by the cells' own formula, tells whether the cells have counted them.
//!
//! Large tasks (a polygon wider than the box, a long road) are no special case: their point
//! decides where they are counted, whatever their size.

use super::access::Viewer;
use super::filter::{BBox, TaskFilter};
use super::task::Status;

/// The finest cell level used: level-14 cells (tiles of zoom 19) are about 65 metres wide in the
/// county, so the edges hold the tasks of a strip that narrow along the box's sides.
/// (migrations/0026 stores each task's cell of this level: changing it needs a new column.)
pub const FINEST: u8 = 14;
/// Degrees kept between the box and its inner cells (about 0.1 m): far more than the rounding of
/// projecting a point, far less than a cell.
const MARGIN: f64 = 1e-6;
/// Half the width of the web-mercator world in metres, as the cells' formula uses.
const HALF: f64 = 20_037_508.342_789_244;
/// Cells of level l are tiles of zoom l + 5.
const CELL_BITS: u8 = 5;
/// Web mercator stops short of the poles.
const MAX_LAT: f64 = 85.05;

/// What a cell sums for a filter the cells can answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Measure {
    /// Every task (`n`).
    All,
    /// Tasks in one of these statuses (the per-status columns).
    Statuses(Vec<Status>),
    /// Tasks under supervision (`supervised`) or not (`n - supervised`).
    Supervised(bool),
}

/// What the cells must sum for this list, or None when they cannot count it: cells are kept per
/// family, township and visibility with counts per status and of supervised tasks, so any other
/// condition (words, dates, departments, overdue, CQL2, supervision with statuses) and a department
/// officer's view (internal tasks of its own department) need the tasks themselves.
pub fn cells_answer(f: &TaskFilter, viewer: &Viewer, in_period: bool) -> Option<Measure> {
    let beyond = in_period
        || matches!(viewer, Viewer::Department(_))
        || f.departments.is_some()
        || f.overdue.is_some()
        || f.q.is_some()
        || f.cql.is_some();
    if beyond {
        return None;
    }
    match (&f.statuses, f.supervised) {
        (Some(_), Some(_)) => None,
        (Some(s), None) => Some(Measure::Statuses(s.clone())),
        (None, Some(yes)) => Some(Measure::Supervised(yes)),
        (None, None) => Some(Measure::All),
    }
}

/// Whether pages follow this one: by the count when there is one, else whenever the page is full
/// (an uncounted list may then end with an empty page).
pub fn more_pages(offset: i64, returned: usize, limit: i64, matched: Option<i64>) -> bool {
    match matched {
        Some(n) => offset + (returned as i64) < n,
        None => returned as i64 >= limit,
    }
}

/// A run of cells in one column of one level, rows `cy0..=cy1`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Segment {
    pub z: i16,
    pub cx: i32,
    pub cy0: i32,
    pub cy1: i32,
}

/// A range of cells of one level: columns x0..=x1, rows y0..=y1.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CellRange {
    pub x0: i32,
    pub x1: i32,
    pub y0: i32,
    pub y1: i32,
}

/// How a box is counted: the cells inside it, each counted once at the coarsest level that fits,
/// the same region as level-`FINEST` cells, and the strips where the remaining tasks are found.
#[derive(Debug, Clone, PartialEq)]
pub struct Cover {
    pub segments: Vec<Segment>,
    pub inner: CellRange,
    pub strips: [BBox; 4],
}

/// The cover of a box, or None when the box holds no whole cell of level `FINEST` (a box that
/// small is counted from the tasks alone).
pub fn cover(b: &BBox) -> Option<Cover> {
    let shrunk = BBox {
        west: b.west + MARGIN,
        south: (b.south + MARGIN).max(-MAX_LAT),
        east: b.east - MARGIN,
        north: (b.north - MARGIN).min(MAX_LAT),
    };
    let inner = inner_cells(&shrunk, FINEST)?;
    let mut segments = Vec::new();
    let mut parent: Option<CellRange> = None;
    for level in 0..=FINEST {
        let Some(here) = inner_cells(&shrunk, level) else { continue };
        ring(level, here, parent, &mut segments);
        parent = Some(here);
    }
    Some(Cover { segments, inner, strips: strips(b, &region(inner, -MARGIN)) })
}

/// The cells of `level` lying wholly inside the box, if any.
fn inner_cells(b: &BBox, level: u8) -> Option<CellRange> {
    let scale = f64::from(1u32 << (level + CELL_BITS));
    let fx = |lon: f64| (lon * HALF / 180.0 + HALF) / (2.0 * HALF) * scale;
    let fy = |lat: f64| (HALF - mercator_y(lat)) / (2.0 * HALF) * scale;
    let (x0, x1) = (fx(b.west).ceil(), fx(b.east).floor() - 1.0);
    // Rows count from the north.
    let (y0, y1) = (fy(b.north).ceil(), fy(b.south).floor() - 1.0);
    (x0 <= x1 && y0 <= y1).then_some(CellRange { x0: x0 as i32, x1: x1 as i32, y0: y0 as i32, y1: y1 as i32 })
}

/// The cells of `here` not already inside the coarser `parent` range, column by column: a column
/// is one probe of the cells' key (z, cx, cy).
fn ring(level: u8, here: CellRange, parent: Option<CellRange>, out: &mut Vec<Segment>) {
    let z = i16::from(level);
    let covered = parent.map(|p| CellRange { x0: p.x0 * 2, x1: p.x1 * 2 + 1, y0: p.y0 * 2, y1: p.y1 * 2 + 1 });
    for cx in here.x0..=here.x1 {
        match covered.filter(|c| (c.x0..=c.x1).contains(&cx)) {
            None => out.push(Segment { z, cx, cy0: here.y0, cy1: here.y1 }),
            Some(c) => {
                if here.y0 < c.y0 {
                    out.push(Segment { z, cx, cy0: here.y0, cy1: c.y0 - 1 });
                }
                if c.y1 < here.y1 {
                    out.push(Segment { z, cx, cy0: c.y1 + 1, cy1: here.y1 });
                }
            }
        }
    }
}

/// The region of a range of level-`FINEST` cells in longitude/latitude, grown by `by` degrees.
fn region(inner: CellRange, by: f64) -> BBox {
    let scale = f64::from(1u32 << (FINEST + CELL_BITS));
    let lon = |x: i32| f64::from(x) / scale * 360.0 - 180.0;
    let lat = |y: i32| {
        let m = HALF - f64::from(y) / scale * 2.0 * HALF;
        (2.0 * (m / HALF * std::f64::consts::PI).exp().atan() - std::f64::consts::FRAC_PI_2).to_degrees()
    };
    BBox {
        west: lon(inner.x0) - by,
        south: lat(inner.y1 + 1) - by,
        east: lon(inner.x1 + 1) + by,
        north: lat(inner.y0) + by,
    }
}

/// The four strips between the box's edge and its inner cells (shrunk by `MARGIN`, so a point the
/// database puts outside the cells is outside the shrunk region): north, south, west, east.
fn strips(b: &BBox, deep: &BBox) -> [BBox; 4] {
    let (w, e, n, s) = (deep.west, deep.east, deep.north, deep.south);
    [
        BBox { west: b.west, south: n, east: b.east, north: b.north },
        BBox { west: b.west, south: b.south, east: b.east, north: s },
        BBox { west: b.west, south: s, east: w, north: n },
        BBox { west: e, south: s, east: b.east, north: n },
    ]
}

/// Web-mercator northing of a latitude, as PostGIS's EPSG:3857 computes it.
fn mercator_y(lat: f64) -> f64 {
    let r = HALF / std::f64::consts::PI;
    r * (std::f64::consts::FRAC_PI_4 + lat.to_radians() / 2.0).tan().ln()
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashSet;

    const COUNTY: BBox = BBox { west: 119.9, south: 30.7, east: 120.4, north: 31.0 };

    /// The level-`FINEST` cells a segment stands for.
    fn finest_cells(s: &Segment) -> Vec<(i32, i32)> {
        let k = 1i32 << (FINEST as i16 - s.z);
        let mut out = Vec::new();
        for x in s.cx * k..(s.cx + 1) * k {
            for y in s.cy0 * k..(s.cy1 + 1) * k {
                out.push((x, y));
            }
        }
        out
    }

    #[test]
    fn the_segments_count_every_inner_cell_exactly_once() {
        let b = BBox { west: 120.0123, south: 30.8011, east: 120.0391, north: 30.8207 };
        let c = cover(&b).unwrap();
        let mut seen = HashSet::new();
        for s in &c.segments {
            for cell in finest_cells(s) {
                assert!(seen.insert(cell), "{cell:?} twice");
            }
        }
        let CellRange { x0, x1, y0, y1 } = c.inner;
        assert_eq!(seen.len() as i64, i64::from(x1 - x0 + 1) * i64::from(y1 - y0 + 1));
        assert!(seen.iter().all(|(x, y)| (x0..=x1).contains(x) && (y0..=y1).contains(y)));
        assert!(c.segments.iter().any(|s| i32::from(s.z) < i32::from(FINEST)), "coarser cells fill the middle");
    }

    #[test]
    fn inner_cells_lie_inside_the_box_and_the_strips_reach_them() {
        let b = COUNTY;
        let c = cover(&b).unwrap();
        let [north, south, west, east] = c.strips;
        // The inner region, read back from the strips, lies inside the box but for the margin.
        assert!(west.east > b.west && east.west < b.east && south.north > b.south && north.south < b.north);
        // Strips share the box's outer edges and meet each other: no gap for a task to slip through.
        assert_eq!((north.north, south.south, west.west, east.east), (b.north, b.south, b.west, b.east));
        assert_eq!(
            (west.north, west.south, east.north, east.south),
            (north.south, south.north, north.south, south.north)
        );
        // Each strip is less than a level-14 cell plus the margins wide (a cell is ~0.00069°).
        for s in [north, south] {
            assert!(s.north - s.south < 0.0008, "{s:?}");
        }
        for s in [west, east] {
            assert!(s.east - s.west < 0.0008, "{s:?}");
        }
    }

    #[test]
    fn a_county_box_takes_a_few_thousand_probes() {
        let c = cover(&COUNTY).unwrap();
        assert!(c.segments.len() < 5000, "{}", c.segments.len());
        assert!(c.segments.len() > 100);
    }

    #[test]
    fn a_box_smaller_than_a_cell_has_no_cover() {
        assert!(cover(&BBox { west: 120.0, south: 30.8, east: 120.0005, north: 30.8005 }).is_none());
        assert!(cover(&BBox { west: 120.0, south: 30.8, east: 120.0, north: 31.0 }).is_none());
    }

    #[test]
    fn a_world_box_stays_on_the_mercator_grid() {
        let c = cover(&BBox { west: -180.0, south: -90.0, east: 180.0, north: 90.0 }).unwrap();
        let side = 1i32 << (FINEST + CELL_BITS);
        assert!(c.inner.x0 >= 0 && c.inner.x1 < side && c.inner.y0 >= 0 && c.inner.y1 < side);
        assert!(c.segments.iter().any(|s| s.z == 0));
    }

    #[test]
    fn an_uncounted_list_goes_on_while_pages_are_full() {
        assert!(more_pages(0, 10, 10, Some(11)));
        assert!(!more_pages(10, 1, 10, Some(11)));
        assert!(more_pages(0, 10, 10, None));
        assert!(!more_pages(20, 3, 10, None));
    }

    #[test]
    fn only_what_cells_are_kept_by_is_answered() {
        let f = TaskFilter {
            categories: Some(vec!["watershed".into()]),
            townships: Some(vec!["1".into()]),
            ..Default::default()
        };
        assert_eq!(cells_answer(&f, &Viewer::Public, false), Some(Measure::All));
        assert_eq!(cells_answer(&f, &Viewer::Township("1".into()), false), Some(Measure::All));
        assert_eq!(cells_answer(&f, &Viewer::Department("water".into()), false), None);
        assert_eq!(cells_answer(&f, &Viewer::Staff, true), None, "a period is by dates");
        let s = TaskFilter { statuses: Some(vec![Status::Planned]), ..Default::default() };
        assert_eq!(cells_answer(&s, &Viewer::Staff, false), Some(Measure::Statuses(vec![Status::Planned])));
        let sup = TaskFilter { supervised: Some(false), ..Default::default() };
        assert_eq!(cells_answer(&sup, &Viewer::Staff, false), Some(Measure::Supervised(false)));
        let both = TaskFilter { supervised: Some(true), ..s.clone() };
        assert_eq!(cells_answer(&both, &Viewer::Staff, false), None, "supervised counts are not per status");
        for other in [
            TaskFilter { q: Some("河".into()), ..Default::default() },
            TaskFilter { overdue: Some(true), ..Default::default() },
            TaskFilter { departments: Some(vec!["water".into()]), ..Default::default() },
        ] {
            assert_eq!(cells_answer(&other, &Viewer::Staff, false), None, "{other:?}");
        }
    }
}
