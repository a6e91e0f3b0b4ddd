//! OGC API - Features Part 2 (coordinate reference systems by reference): the systems a client may
//! ask features in (`crs`) and give a bbox in (`bbox-crs`), each named by its OGC URI. Tasks are
//! stored in WGS 84 longitude/latitude (CRS84), which the rest converts from:
//!
//! - EPSG:4326 is the same datum with latitude first, as the EPSG register orders its axes;
//! - EPSG:4490 (CGCS2000, China's geodetic system) is latitude first too; its ellipsoid and frame
//!   differ from WGS 84's by centimetres, well under the precision of the ledger's positions, so
//!   coordinates are those of WGS 84 (as PostGIS's definition of 4490 transforms them);
//! - EPSG:3857 is spherical Web Mercator in metres, easting first.

use geojson::{GeometryValue as Geometry, Position};

use super::filter::BBox;
use super::{Code, Message};

pub const CRS84: &str = "http://www.opengis.net/def/crs/OGC/1.3/CRS84";

/// Earth's radius in Web Mercator, metres.
const RADIUS: f64 = 6_378_137.0;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum OgcCrs {
    #[default]
    Crs84,
    Epsg4326,
    Epsg4490,
    Epsg3857,
}

impl OgcCrs {
    pub const ALL: [OgcCrs; 4] = [OgcCrs::Crs84, OgcCrs::Epsg4326, OgcCrs::Epsg4490, OgcCrs::Epsg3857];

    pub fn uri(self) -> &'static str {
        match self {
            OgcCrs::Crs84 => CRS84,
            OgcCrs::Epsg4326 => "http://www.opengis.net/def/crs/EPSG/0/4326",
            OgcCrs::Epsg4490 => "http://www.opengis.net/def/crs/EPSG/0/4490",
            OgcCrs::Epsg3857 => "http://www.opengis.net/def/crs/EPSG/0/3857",
        }
    }

    /// The system a `crs`, `bbox-crs` value names: its URI (http or https), or its safe CURIE
    /// (`[EPSG:4326]`).
    pub fn parse(s: &str) -> Result<OgcCrs, Message> {
        let s = s.trim();
        let bare = s.strip_prefix('[').and_then(|x| x.strip_suffix(']')).unwrap_or(s);
        let uri = bare.replacen("https://", "http://", 1);
        let curie = |c: OgcCrs| match c {
            OgcCrs::Crs84 => "OGC:CRS84".to_owned(),
            _ => format!("EPSG:{}", c.uri().rsplit('/').next().unwrap_or("")),
        };
        OgcCrs::ALL.into_iter().find(|c| uri == c.uri() || bare.eq_ignore_ascii_case(&curie(*c))).ok_or_else(|| {
            let known: Vec<&str> = OgcCrs::ALL.iter().map(|c| c.uri()).collect();
            let detail =
                format!("'{s}' is not a coordinate reference system offered here; they are: {}", known.join(", "));
            Message::new(Code::UnknownValue, detail).with("got", s).with("allowed", known)
        })
    }

    /// A WGS 84 longitude/latitude in this system, in its axis order.
    pub fn from_lon_lat(self, [lon, lat]: [f64; 2]) -> [f64; 2] {
        match self {
            OgcCrs::Crs84 => [lon, lat],
            OgcCrs::Epsg4326 | OgcCrs::Epsg4490 => [lat, lon],
            OgcCrs::Epsg3857 => {
                let lat = lat.clamp(-85.051_128_779_806_59, 85.051_128_779_806_59).to_radians();
                [RADIUS * lon.to_radians(), RADIUS * (std::f64::consts::FRAC_PI_4 + lat / 2.0).tan().ln()]
            }
        }
    }

    /// A position in this system as WGS 84 longitude/latitude.
    pub fn to_lon_lat(self, [a, b]: [f64; 2]) -> [f64; 2] {
        match self {
            OgcCrs::Crs84 => [a, b],
            OgcCrs::Epsg4326 | OgcCrs::Epsg4490 => [b, a],
            OgcCrs::Epsg3857 => {
                let lat = 2.0 * (b / RADIUS).exp().atan() - std::f64::consts::FRAC_PI_2;
                [(a / RADIUS).to_degrees(), lat.to_degrees()]
            }
        }
    }

    /// A geometry read from the store (CRS84) in this system.
    pub fn geometry_from_crs84(self, g: &mut Geometry) {
        if self == OgcCrs::Crs84 {
            return;
        }
        let each = |p: &mut Position| {
            if p.len() >= 2 {
                let [x, y] = self.from_lon_lat([p[0], p[1]]);
                // Rounded as the store's text is (15 decimals in degrees, a millimetre in metres).
                let digits = if self == OgcCrs::Epsg3857 { 1e3 } else { 1e15 };
                p[0] = (x * digits).round() / digits;
                p[1] = (y * digits).round() / digits;
            }
        };
        match g {
            Geometry::Point { coordinates } => each(coordinates),
            Geometry::MultiPoint { coordinates } | Geometry::LineString { coordinates } => {
                coordinates.iter_mut().for_each(each)
            }
            Geometry::MultiLineString { coordinates } | Geometry::Polygon { coordinates } => {
                coordinates.iter_mut().flatten().for_each(each)
            }
            Geometry::MultiPolygon { coordinates } => coordinates.iter_mut().flatten().flatten().for_each(each),
            Geometry::GeometryCollection { geometries } => {
                geometries.iter_mut().for_each(|g| self.geometry_from_crs84(&mut g.value))
            }
        }
    }

    /// A bbox given in this system (`minA,minB,maxA,maxB` in its axis order) as a WGS 84 one.
    pub fn bbox_to_crs84(self, s: &str) -> Result<BBox, Message> {
        let n: Vec<f64> = s.split(',').map(|x| x.trim().parse::<f64>()).collect::<Result<_, _>>().map_err(|_| {
            Message::new(Code::Format, format!("bbox '{s}' is not four numbers")).with("expected", "bbox")
        })?;
        let [a0, b0, a1, b1] = n[..] else {
            return Err(Message::new(Code::Format, format!("bbox '{s}' is not four numbers")).with("expected", "bbox"));
        };
        let [w, s_] = self.to_lon_lat([a0, b0]);
        let [e, n_] = self.to_lon_lat([a1, b1]);
        BBox::parse(&format!("{w},{s_},{e},{n_}"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn systems_are_named_by_uri_or_curie() {
        assert_eq!(OgcCrs::parse("http://www.opengis.net/def/crs/EPSG/0/4490").unwrap(), OgcCrs::Epsg4490);
        assert_eq!(OgcCrs::parse("https://www.opengis.net/def/crs/EPSG/0/3857").unwrap(), OgcCrs::Epsg3857);
        assert_eq!(OgcCrs::parse("[EPSG:4326]").unwrap(), OgcCrs::Epsg4326);
        assert_eq!(OgcCrs::parse(CRS84).unwrap(), OgcCrs::Crs84);
        let e = OgcCrs::parse("http://www.opengis.net/def/crs/EPSG/0/4549").unwrap_err();
        assert!(e.detail.contains("4549") && e.detail.contains("3857"), "{}", e.detail);
    }

    #[test]
    fn latitude_comes_first_in_the_epsg_geographic_systems_and_mercator_is_in_metres() {
        assert_eq!(OgcCrs::Epsg4326.from_lon_lat([119.95, 30.85]), [30.85, 119.95]);
        assert_eq!(OgcCrs::Epsg4490.from_lon_lat([119.95, 30.85]), [30.85, 119.95]);
        // PostGIS: ST_Transform('SRID=4326;POINT(119.95 30.85)', 3857) = POINT(13352772.920653164 3613284.0715491506).
        let [x, y] = OgcCrs::Epsg3857.from_lon_lat([119.95, 30.85]);
        assert!((x - 13_352_772.920_653_164).abs() < 1e-6 && (y - 3_613_284.071_549_150_6).abs() < 1e-6, "{x} {y}");
        let back = OgcCrs::Epsg3857.to_lon_lat([x, y]);
        assert!((back[0] - 119.95).abs() < 1e-9 && (back[1] - 30.85).abs() < 1e-9, "{back:?}");
    }

    #[test]
    fn a_bbox_in_another_system_is_read_in_its_axis_order() {
        let b = OgcCrs::Epsg4326.bbox_to_crs84("30.7,119.8,31.0,120.1").unwrap();
        assert_eq!((b.west, b.south, b.east, b.north), (119.8, 30.7, 120.1, 31.0));
        assert!(OgcCrs::Epsg3857.bbox_to_crs84("1,2,3").is_err());
        let m = OgcCrs::Epsg3857.bbox_to_crs84("13340000,3600000,13360000,3620000").unwrap();
        assert!(m.west < 119.95 && m.east > 119.95 && m.south < 30.85 && m.north > 30.85, "{m:?}");
    }
}
