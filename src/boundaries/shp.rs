//! The geometry half of a Shapefile (`.shp`, ESRI's 1998 technical description): a 100-byte header,
//! then records of one shape each. Only x and y are kept; Z and M values are skipped.

use geo::{
    Area, Coord, Geometry, Intersects, LineString, MultiLineString, MultiPoint, MultiPolygon, Point, Polygon, Winding,
};

const FILE_CODE: i32 = 9994;

/// The shapes of a `.shp` in record order (`None` for a null shape), or why the file cannot be read.
pub fn read(bytes: &[u8]) -> Result<Vec<Option<Geometry<f64>>>, String> {
    if bytes.len() < 100 || be_i32(bytes, 0) != FILE_CODE {
        return Err("it does not start like a Shapefile (.shp)".into());
    }
    let mut shapes = Vec::new();
    let mut at = 100;
    while at + 8 <= bytes.len() {
        let words = be_i32(bytes, at + 4);
        let len = usize::try_from(words).map_err(|_| format!("record {} has a negative length", shapes.len()))? * 2;
        let content = bytes
            .get(at + 8..at + 8 + len)
            .ok_or_else(|| format!("record {} is cut short: the file ends inside it", shapes.len()))?;
        shapes.push(shape(content).map_err(|e| format!("record {}: {e}", shapes.len()))?);
        at += 8 + len;
    }
    Ok(shapes)
}

fn be_i32(b: &[u8], at: usize) -> i32 {
    i32::from_be_bytes([b[at], b[at + 1], b[at + 2], b[at + 3]])
}

/// Little-endian reads that fail, rather than panic, past the end of a record.
struct Cursor<'a>(&'a [u8]);

impl Cursor<'_> {
    fn i32(&self, at: usize) -> Result<i32, String> {
        let b = self.0.get(at..at + 4).ok_or("the record is shorter than its shape")?;
        Ok(i32::from_le_bytes([b[0], b[1], b[2], b[3]]))
    }

    fn count(&self, at: usize) -> Result<usize, String> {
        usize::try_from(self.i32(at)?).map_err(|_| "a negative count of parts or points".to_owned())
    }

    fn f64(&self, at: usize) -> Result<f64, String> {
        let b = self.0.get(at..at + 8).ok_or("the record is shorter than its shape")?;
        Ok(f64::from_le_bytes(b.try_into().map_err(|_| "a short number")?))
    }

    fn coord(&self, at: usize) -> Result<Coord<f64>, String> {
        Ok(Coord { x: self.f64(at)?, y: self.f64(at + 8)? })
    }
}

fn shape(content: &[u8]) -> Result<Option<Geometry<f64>>, String> {
    let c = Cursor(content);
    match c.i32(0)? {
        0 => Ok(None),
        1 | 11 | 21 => Ok(Some(Geometry::Point(Point(c.coord(4)?)))),
        8 | 18 | 28 => {
            let n = c.count(36)?;
            let points = (0..n).map(|i| c.coord(40 + 16 * i).map(Point)).collect::<Result<Vec<_>, _>>()?;
            Ok(Some(Geometry::MultiPoint(MultiPoint(points))))
        }
        3 | 13 | 23 => Ok(Some(Geometry::MultiLineString(MultiLineString(parts(&c)?)))),
        5 | 15 | 25 => Ok(Some(Geometry::MultiPolygon(assemble(parts(&c)?)))),
        other => Err(format!("shape type {other} is not one greenledger reads (points, lines or polygons)")),
    }
}

/// The parts of a PolyLine or Polygon: box (32 bytes), part and point counts, part starts, points.
fn parts(c: &Cursor) -> Result<Vec<LineString<f64>>, String> {
    let (n_parts, n_points) = (c.count(36)?, c.count(40)?);
    let starts = (0..n_parts).map(|i| c.count(44 + 4 * i)).collect::<Result<Vec<_>, _>>()?;
    let first_point = 44 + 4 * n_parts;
    let points = (0..n_points).map(|i| c.coord(first_point + 16 * i)).collect::<Result<Vec<_>, _>>()?;
    let mut lines = Vec::with_capacity(n_parts);
    for (i, &start) in starts.iter().enumerate() {
        let end = starts.get(i + 1).copied().unwrap_or(n_points);
        let part = points.get(start..end).ok_or_else(|| format!("part {i} points outside the record's points"))?;
        lines.push(LineString(part.to_vec()));
    }
    Ok(lines)
}

/// Shapefile polygons are rings: outer rings clockwise, holes counter-clockwise, a hole following
/// its outer ring. Each hole goes to the smallest outer ring that holds it; a hole inside none (or a
/// file with every ring counter-clockwise, as some tools write) is taken as an area of its own.
fn assemble(rings: Vec<LineString<f64>>) -> MultiPolygon<f64> {
    let (outers, holes): (Vec<_>, Vec<_>) = rings.into_iter().filter(|r| r.0.len() >= 4).partition(|r| r.is_cw());
    let mut polygons: Vec<(Polygon<f64>, f64)> = outers
        .into_iter()
        .map(|r| {
            let p = Polygon::new(r, vec![]);
            let area = p.unsigned_area();
            (p, area)
        })
        .collect();
    for hole in holes {
        let inside = polygons
            .iter()
            .enumerate()
            .filter(|(_, (p, _))| hole.0.first().is_some_and(|c| p.intersects(c)))
            .min_by(|a, b| a.1.1.total_cmp(&b.1.1))
            .map(|(i, _)| i);
        match inside {
            Some(i) => polygons[i].0.interiors_push(hole),
            None => {
                let p = Polygon::new(hole, vec![]);
                let area = p.unsigned_area();
                polygons.push((p, area));
            }
        }
    }
    MultiPolygon(polygons.into_iter().map(|(p, _)| p).collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ring(coords: &[(f64, f64)]) -> LineString<f64> {
        LineString(coords.iter().map(|&(x, y)| Coord { x, y }).collect())
    }

    #[test]
    fn holes_go_to_the_outer_ring_that_holds_them() {
        let outer = ring(&[(0.0, 0.0), (0.0, 10.0), (10.0, 10.0), (10.0, 0.0), (0.0, 0.0)]);
        let hole = ring(&[(2.0, 2.0), (4.0, 2.0), (4.0, 4.0), (2.0, 4.0), (2.0, 2.0)]);
        let island = ring(&[(20.0, 0.0), (20.0, 1.0), (21.0, 1.0), (21.0, 0.0), (20.0, 0.0)]);
        let mp = assemble(vec![outer, hole, island]);
        assert_eq!(mp.0.len(), 2);
        assert_eq!(mp.0[0].interiors().len(), 1);
        assert!((mp.unsigned_area() - 97.0).abs() < 1e-9);
    }

    #[test]
    fn a_file_that_is_not_a_shapefile_or_is_cut_short_is_refused() {
        assert!(read(b"PK\x03\x04 not a shapefile at all, just some bytes to pass one hundred ........................................").is_err());
        let mut header = vec![0u8; 100];
        header[..4].copy_from_slice(&FILE_CODE.to_be_bytes());
        let mut cut = header.clone();
        cut.extend_from_slice(&1i32.to_be_bytes());
        cut.extend_from_slice(&100i32.to_be_bytes());
        cut.extend_from_slice(&5i32.to_le_bytes());
        assert!(read(&cut).unwrap_err().contains("cut short"));
        assert_eq!(read(&header).unwrap(), vec![]);
    }
}
