//! A stored web-mercator geometry placed in a tile as PostGIS's ST_AsMVTGeom places it (3.x:
//! points closer than half a tile unit merged, Douglas-Peucker at half a unit, the affine step into
//! tile units, snapping to whole units, parts that collapse dropped, rings turned the way the MVT
//! specification wants) for geometries lying wholly inside the tile and its buffer, which need no
//! clipping. The tile's statement sends those as they are stored and only the others through
//! ST_AsMVTGeom: for a line its GEOS clip and for an area its Wagyu clip run even when there is
//! nothing to cut, and were a quarter of the database's time per tile at zooms 13 and 14
//! (BENCHMARKS.md, "Tiles placed by the service").
//!
//! One difference is kept on purpose: Wagyu also repairs a ring that snapping made cross itself.
//! Inside a tile, at the zooms single tasks are drawn, that needs vertices of one area within a
//! unit (under a metre at zoom 13) of another of its edges; such a ring is drawn as it is.

use geo::{Coord, Geometry, LineString, MultiLineString, MultiPoint, MultiPolygon, Point, Polygon, Simplify};

use super::tile::{MERCATOR_HALF as WORLD_HALF, TileId};

/// How a tile maps web-mercator metres to its units: the affine step ST_AsMVTGeom takes, from the
/// envelope ST_TileEnvelope computes (the same arithmetic, so the same rounding), and the buffer.
#[derive(Debug, Clone, Copy)]
pub struct Frame {
    fx: f64,
    fy: f64,
    xoff: f64,
    yoff: f64,
    /// Half a tile unit in metres: the tolerance below which points merge.
    res: f64,
    /// Half a unit's width and height: an area or line narrower and lower than this is dropped.
    half_x: f64,
    half_y: f64,
    /// Tile units kept beyond each edge.
    buffer: f64,
    extent: f64,
}

impl Frame {
    pub fn new(tile: TileId, extent: i32, buffer: i32) -> Frame {
        let size = 2.0 * WORLD_HALF / f64::from(1u32 << tile.z);
        let (x, y) = (f64::from(tile.x), f64::from(tile.y));
        let (xmin, xmax) = (-WORLD_HALF + size * x, -WORLD_HALF + size * (x + 1.0));
        let (ymin, ymax) = (WORLD_HALF - size * (y + 1.0), WORLD_HALF - size * y);
        let (width, height, e) = (xmax - xmin, ymax - ymin, f64::from(extent));
        let (fx, fy) = (e / width, -(e / height));
        let (resx, resy) = (width / e, height / e);
        Frame {
            fx,
            fy,
            xoff: -xmin * fx,
            yoff: -ymax * fy,
            res: resx.min(resy) / 2.0,
            half_x: resx / 2.0,
            half_y: resy / 2.0,
            buffer: f64::from(buffer),
            extent: e,
        }
    }

    fn unit(&self, c: Coord<f64>) -> Coord<f64> {
        // rint, as PostGIS snaps: halves go to the even neighbour.
        Coord { x: (self.fx * c.x + self.xoff).round_ties_even(), y: (self.fy * c.y + self.yoff).round_ties_even() }
    }

    fn inside(&self, c: Coord<f64>) -> bool {
        let (lo, hi) = (-self.buffer, self.extent + self.buffer);
        (lo..=hi).contains(&c.x) && (lo..=hi).contains(&c.y)
    }
}

/// The geometry, in web-mercator metres and lying inside the tile's buffer (points may lie
/// anywhere: they are kept or dropped here), in tile units; None when nothing of it is left to draw.
pub fn place(frame: &Frame, geometry: &Geometry<f64>) -> Option<Geometry<f64>> {
    if !matches!(geometry, Geometry::Point(_) | Geometry::MultiPoint(_)) && too_small(frame, geometry) {
        return None;
    }
    match geometry {
        Geometry::Point(p) => {
            let c = frame.unit(p.0);
            frame.inside(c).then_some(Geometry::Point(Point(c)))
        }
        Geometry::MultiPoint(m) => {
            let mut kept: Vec<Coord<f64>> = Vec::with_capacity(m.0.len());
            for p in &m.0 {
                if !kept.iter().any(|k| distance_sq(*k, p.0) <= frame.res * frame.res) {
                    kept.push(p.0);
                }
            }
            let points: Vec<Point<f64>> =
                kept.into_iter().map(|c| frame.unit(c)).filter(|c| frame.inside(*c)).map(Point).collect();
            (!points.is_empty()).then_some(Geometry::MultiPoint(MultiPoint(points)))
        }
        Geometry::LineString(l) => line(frame, l).map(Geometry::LineString),
        Geometry::MultiLineString(m) => {
            let lines: Vec<_> = m.0.iter().filter_map(|l| line(frame, l)).collect();
            (!lines.is_empty()).then_some(Geometry::MultiLineString(MultiLineString(lines)))
        }
        Geometry::Polygon(p) => polygon(frame, p).map(Geometry::Polygon),
        Geometry::MultiPolygon(m) => {
            let polygons: Vec<_> = m.0.iter().filter_map(|p| polygon(frame, p)).collect();
            (!polygons.is_empty()).then_some(Geometry::MultiPolygon(MultiPolygon(polygons)))
        }
        _ => None,
    }
}

/// ST_AsMVTGeom's first check: a line or area narrower and lower than half a unit is not drawn.
fn too_small(frame: &Frame, geometry: &Geometry<f64>) -> bool {
    use geo::BoundingRect;
    geometry.bounding_rect().is_none_or(|r| r.width() < frame.half_x && r.height() < frame.half_y)
}

fn distance_sq(a: Coord<f64>, b: Coord<f64>) -> f64 {
    (a.x - b.x).powi(2) + (a.y - b.y).powi(2)
}

/// Points within `tolerance` of the one kept before them are dropped; the last point stays, taking
/// the place of the kept one it is too close to (PostGIS's ptarray_remove_repeated_points).
fn merge_close(coords: &[Coord<f64>], tolerance: f64, min_points: usize) -> Vec<Coord<f64>> {
    if coords.len() <= min_points {
        return coords.to_vec();
    }
    let tol_sq = tolerance * tolerance;
    let mut out: Vec<Coord<f64>> = Vec::with_capacity(coords.len());
    for (i, &c) in coords.iter().enumerate() {
        if let Some(&last) = out.last()
            && distance_sq(last, c) <= tol_sq
        {
            if i == coords.len() - 1 && out.len() > 1 {
                out.pop();
            } else {
                continue;
            }
        }
        out.push(c);
    }
    out
}

/// Into tile units, dropping the steps snapping made of no length.
fn snapped(frame: &Frame, coords: &[Coord<f64>]) -> Vec<Coord<f64>> {
    let mut out: Vec<Coord<f64>> = Vec::with_capacity(coords.len());
    for &c in coords {
        let u = frame.unit(c);
        if out.last() != Some(&u) {
            out.push(u);
        }
    }
    out
}

fn line(frame: &Frame, l: &LineString<f64>) -> Option<LineString<f64>> {
    let merged = LineString(merge_close(&l.0, frame.res, 2));
    let units = snapped(frame, &merged.simplify(frame.res).0);
    (units.len() >= 2).then_some(LineString(units))
}

/// Twice the signed area of a closed ring, positive for the turn the MVT specification wants of
/// an exterior ring in tile units (whose y grows downwards).
fn twice_area(ring: &[Coord<f64>]) -> f64 {
    ring.windows(2).map(|w| w[0].x * w[1].y - w[1].x * w[0].y).sum()
}

fn ring(frame: &Frame, r: &LineString<f64>, exterior: bool) -> Option<LineString<f64>> {
    let merged = merge_close(&r.0, frame.res, 4);
    let simplified = Polygon::new(LineString(merged), vec![]).simplify(frame.res);
    let mut units = snapped(frame, &simplified.exterior().0);
    if units.len() < 4 || units.first() != units.last() {
        return None;
    }
    let area = twice_area(&units);
    if area == 0.0 {
        return None;
    }
    if (area > 0.0) != exterior {
        units.reverse();
    }
    Some(LineString(units))
}

fn polygon(frame: &Frame, p: &Polygon<f64>) -> Option<Polygon<f64>> {
    let exterior = ring(frame, p.exterior(), true)?;
    let interiors = p.interiors().iter().filter_map(|r| ring(frame, r, false)).collect();
    Some(Polygon::new(exterior, interiors))
}

#[cfg(test)]
mod tests {
    use super::*;
    use geo::{line_string, polygon};

    /// Zoom 14's tile over the county's west, and a point `(u, v)` tile units from its north-west corner.
    fn frame() -> (Frame, impl Fn(f64, f64) -> Coord<f64>) {
        let tile = TileId { z: 14, x: 13_645, y: 6_715 };
        let f = Frame::new(tile, 4096, 64);
        let at = move |u: f64, v: f64| Coord { x: (u - f.xoff) / f.fx, y: (v - f.yoff) / f.fy };
        (f, at)
    }

    #[test]
    fn points_snap_to_whole_units_and_stay_only_within_the_buffer() {
        let (f, at) = frame();
        let placed = |u: f64, v: f64| place(&f, &Geometry::Point(Point(at(u, v))));
        assert_eq!(placed(10.3, 20.7), Some(Geometry::Point(Point(Coord { x: 10.0, y: 21.0 }))));
        assert_eq!(placed(-64.2, 4160.2), Some(Geometry::Point(Point(Coord { x: -64.0, y: 4160.0 }))));
        assert_eq!(placed(-65.0, 100.0), None, "beyond the buffer");
        assert_eq!(placed(100.0, 4161.0), None, "beyond the buffer");
        let Some(Geometry::Point(Point(c))) = placed(2.5, 3.5) else { panic!("kept") };
        assert_eq!((c.x, c.y), (2.0, 4.0), "halves go to the even neighbour, as rint does");
    }

    #[test]
    fn lines_lose_the_steps_snapping_merges_and_vanish_when_collapsed() {
        let (f, at) = frame();
        let l = LineString(vec![at(10.0, 10.0), at(10.2, 10.1), at(50.0, 10.0), at(50.0, 90.4)]);
        let Some(Geometry::LineString(placed)) = place(&f, &Geometry::LineString(l)) else { panic!("kept") };
        assert_eq!(placed, line_string![(x: 10.0, y: 10.0), (x: 50.0, y: 10.0), (x: 50.0, y: 90.0)]);
        let tiny = LineString(vec![at(10.0, 10.0), at(10.3, 10.2)]);
        assert_eq!(place(&f, &Geometry::LineString(tiny)), None, "under half a unit: not drawn");
        let short = LineString(vec![at(10.4, 10.0), at(10.6, 10.0), at(10.45, 10.3)]);
        assert_eq!(place(&f, &Geometry::LineString(short)), None, "collapses to one point");
    }

    #[test]
    fn rings_turn_the_way_mvt_wants_and_collapsed_holes_go() {
        let (f, at) = frame();
        // Counter-clockwise on the map (north up) is clockwise in tile units, whose y grows down.
        let square = |u0: f64, v0: f64, u1: f64, v1: f64| {
            LineString(vec![at(u0, v0), at(u0, v1), at(u1, v1), at(u1, v0), at(u0, v0)])
        };
        let hole = square(20.0, 20.0, 30.0, 30.0);
        let speck = square(60.0, 60.0, 60.2, 60.2);
        for outer in [square(0.0, 0.0, 100.0, 100.0), {
            let mut r = square(0.0, 0.0, 100.0, 100.0);
            r.0.reverse();
            r
        }] {
            let p = Polygon::new(outer, vec![hole.clone(), speck.clone()]);
            let Some(Geometry::Polygon(placed)) = place(&f, &Geometry::Polygon(p)) else { panic!("kept") };
            assert!(twice_area(&placed.exterior().0) > 0.0, "exterior: positive area in tile units");
            assert_eq!(placed.interiors().len(), 1, "the speck collapsed: {placed:?}");
            assert!(twice_area(&placed.interiors()[0].0) < 0.0, "hole: the other way");
        }
        let flat = polygon![(x: at(0.0, 0.0).x, y: at(0.0, 0.0).y), (x: at(50.0, 0.2).x, y: at(50.0, 0.2).y),
            (x: at(100.0, 0.0).x, y: at(100.0, 0.0).y)];
        assert_eq!(place(&f, &Geometry::Polygon(flat)), None, "no area left after snapping");
    }
}
