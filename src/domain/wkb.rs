//! Well-known binary as PostGIS writes it (ST_AsBinary), and GeoPackage geometry blobs: the
//! GeoPackage header (OGC 12-128r18, 2.1.3: magic `GP`, version, flags, SRS id, optional envelope)
//! followed by ISO well-known binary. Z and M ordinates are read past; curves are refused.

use geo::{Coord, Geometry, GeometryCollection, LineString, MultiLineString, MultiPoint, MultiPolygon, Point, Polygon};

/// The geometry of a GeoPackage blob; `Ok(None)` for an empty geometry.
pub fn gpkg_geometry(blob: &[u8]) -> Result<Option<Geometry<f64>>, String> {
    if blob.len() < 8 || &blob[..2] != b"GP" {
        return Err("the geometry is not a GeoPackage geometry blob".into());
    }
    let flags = blob[3];
    if flags & 0b1_0000 != 0 {
        return Ok(None);
    }
    let envelope = match (flags >> 1) & 0b111 {
        0 => 0,
        1 => 32,
        2 | 3 => 48,
        4 => 64,
        other => return Err(format!("the geometry header names an unknown envelope ({other})")),
    };
    let mut r = Reader { b: &blob[8 + envelope.min(blob.len() - 8)..], at: 0, little: true };
    r.geometry().map(Some)
}

/// The geometry of ISO or extended well-known binary, in either byte order.
pub fn geometry(wkb: &[u8]) -> Result<Geometry<f64>, String> {
    Reader { b: wkb, at: 0, little: true }.geometry()
}

/// Whether extended well-known binary names its SRID (PostGIS's ST_AsEWKB of a geometry that has
/// one; ST_AsBinary never does).
pub fn has_srid(wkb: &[u8]) -> bool {
    match (wkb.first(), wkb.get(1..5)) {
        (Some(&order), Some(code)) => {
            let code: [u8; 4] = code.try_into().expect("4 bytes");
            let code = if order == 1 { u32::from_le_bytes(code) } else { u32::from_be_bytes(code) };
            code & SRID_FLAG != 0
        }
        _ => false,
    }
}

/// Extended WKB's flag for an SRID following the type.
const SRID_FLAG: u32 = 0x2000_0000;

struct Reader<'a> {
    b: &'a [u8],
    at: usize,
    little: bool,
}

impl Reader<'_> {
    fn take<const N: usize>(&mut self) -> Result<[u8; N], String> {
        let s = self.b.get(self.at..self.at + N).ok_or("the geometry ends too early")?;
        self.at += N;
        Ok(s.try_into().expect("slice of N bytes"))
    }

    fn u32(&mut self) -> Result<u32, String> {
        let b = self.take::<4>()?;
        Ok(if self.little { u32::from_le_bytes(b) } else { u32::from_be_bytes(b) })
    }

    fn f64(&mut self) -> Result<f64, String> {
        let b = self.take::<8>()?;
        Ok(if self.little { f64::from_le_bytes(b) } else { f64::from_be_bytes(b) })
    }

    fn count(&mut self) -> Result<usize, String> {
        let n = self.u32()? as usize;
        // Every element takes at least 8 bytes: a count beyond that is corruption, not a huge geometry.
        if n > self.b.len() / 8 + 1 { Err("the geometry counts more parts than it holds".into()) } else { Ok(n) }
    }

    fn coords(&mut self, dims: usize) -> Result<Vec<Coord<f64>>, String> {
        let n = self.count()?;
        (0..n).map(|_| self.coord(dims)).collect()
    }

    fn coord(&mut self, dims: usize) -> Result<Coord<f64>, String> {
        let c = Coord { x: self.f64()?, y: self.f64()? };
        for _ in 2..dims {
            self.f64()?;
        }
        Ok(c)
    }

    fn geometry(&mut self) -> Result<Geometry<f64>, String> {
        self.little = self.take::<1>()?[0] == 1;
        let code = self.u32()?;
        if code & SRID_FLAG != 0 {
            self.u32()?;
        }
        // ISO codes add 1000 (Z), 2000 (M), 3000 (ZM); extended WKB sets high bits instead.
        let (base, dims) = match (code & 0x0fff_ffff, code & 0xc000_0000) {
            (c, 0) => (c % 1000, 2 + [0, 1, 1, 2][(c / 1000) as usize % 4]),
            (c, flags) => (c, 2 + usize::from(flags & 0x8000_0000 != 0) + usize::from(flags & 0x4000_0000 != 0)),
        };
        match base {
            1 => Ok(Geometry::Point(Point(self.coord(dims)?))),
            2 => Ok(Geometry::LineString(LineString(self.coords(dims)?))),
            3 => Ok(Geometry::Polygon(self.polygon(dims)?)),
            4..=7 => {
                let n = self.count()?;
                let parts = (0..n).map(|_| self.geometry()).collect::<Result<Vec<_>, _>>()?;
                Ok(collect(base, parts))
            }
            other => Err(format!("geometry type {other} (curves, surfaces) is not one greenledger reads")),
        }
    }

    fn polygon(&mut self, dims: usize) -> Result<Polygon<f64>, String> {
        let n = self.count()?;
        let mut rings = (0..n).map(|_| self.coords(dims).map(LineString)).collect::<Result<Vec<_>, _>>()?;
        if rings.is_empty() {
            return Ok(Polygon::new(LineString(vec![]), vec![]));
        }
        let exterior = rings.remove(0);
        Ok(Polygon::new(exterior, rings))
    }
}

/// A Multi* of the parts when they are all of its kind, else a collection (which the caller refuses).
fn collect(base: u32, parts: Vec<Geometry<f64>>) -> Geometry<f64> {
    let all = |f: fn(&Geometry<f64>) -> bool| parts.iter().all(f);
    match base {
        4 if all(|g| matches!(g, Geometry::Point(_))) => Geometry::MultiPoint(MultiPoint(
            parts.into_iter().filter_map(|g| if let Geometry::Point(p) = g { Some(p) } else { None }).collect(),
        )),
        5 if all(|g| matches!(g, Geometry::LineString(_))) => Geometry::MultiLineString(MultiLineString(
            parts.into_iter().filter_map(|g| if let Geometry::LineString(l) = g { Some(l) } else { None }).collect(),
        )),
        6 if all(|g| matches!(g, Geometry::Polygon(_))) => Geometry::MultiPolygon(MultiPolygon(
            parts.into_iter().filter_map(|g| if let Geometry::Polygon(p) = g { Some(p) } else { None }).collect(),
        )),
        _ => Geometry::GeometryCollection(GeometryCollection(parts)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn blob(wkb: &[u8]) -> Vec<u8> {
        let mut b = vec![b'G', b'P', 0, 0b0000_0011]; // little-endian, xy envelope
        b.extend_from_slice(&4549i32.to_le_bytes());
        b.extend_from_slice(&[0u8; 32]);
        b.extend_from_slice(wkb);
        b
    }

    fn polygon_z() -> Vec<u8> {
        let mut w = vec![1u8];
        w.extend_from_slice(&1003u32.to_le_bytes()); // Polygon Z
        w.extend_from_slice(&1u32.to_le_bytes());
        w.extend_from_slice(&4u32.to_le_bytes());
        for (x, y) in [(0.0f64, 0.0f64), (1.0, 0.0), (0.0, 1.0), (0.0, 0.0)] {
            for v in [x, y, 9.0] {
                w.extend_from_slice(&v.to_le_bytes());
            }
        }
        w
    }

    #[test]
    fn reads_a_polygon_with_z_behind_the_geopackage_header() {
        let g = gpkg_geometry(&blob(&polygon_z())).unwrap().unwrap();
        let Geometry::Polygon(p) = g else { panic!("not a polygon: {g:?}") };
        assert_eq!(p.exterior().0[1], Coord { x: 1.0, y: 0.0 });
    }

    #[test]
    fn multi_polygons_stay_multi_and_broken_blobs_are_refused() {
        let mut w = vec![1u8];
        w.extend_from_slice(&6u32.to_le_bytes());
        w.extend_from_slice(&1u32.to_le_bytes());
        w.extend_from_slice(&polygon_z());
        assert!(matches!(gpkg_geometry(&blob(&w)).unwrap(), Some(Geometry::MultiPolygon(m)) if m.0.len() == 1));
        let cut = blob(&polygon_z()[..30]);
        assert_eq!(gpkg_geometry(&cut).unwrap_err(), "the geometry ends too early");
        assert!(gpkg_geometry(b"not a blob").is_err());
    }
}
