//! A task's geometry, parsed once at the edge from GeoJSON (RFC 7946) into a value that is known to
//! be of a supported type, in range and well-formed. Topological validity (self-intersection and the
//! like) is PostGIS's call, asked before anything is stored (see `store::geometry`).
//!
//! The parser walks the JSON itself, rather than deserialising a `geojson::Geometry`, so that every
//! refusal carries a JSON pointer to the bad coordinate; what it yields is a `geo` geometry, and
//! `geojson` writes it back out.

use geo::{Coord, Geometry, LineString, MultiLineString, MultiPoint, MultiPolygon, Point, Polygon};
use serde_json::Value;

use super::fields::wrong_type;
use super::{Code, FieldError, Message};

/// More than this many positions is refused: a ledger feature is a site, a river stretch or a
/// village, never a survey-grade boundary, and big geometries make every map view slow.
pub const MAX_VERTICES: usize = 10_000;

/// Stop collecting after this many problems: the first few are what a person can act on.
const MAX_ERRORS: usize = 20;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum GeometryKind {
    Point,
    MultiPoint,
    LineString,
    MultiLineString,
    Polygon,
    MultiPolygon,
}

impl GeometryKind {
    fn parse(name: &str) -> Option<Self> {
        Some(match name {
            "Point" => Self::Point,
            "MultiPoint" => Self::MultiPoint,
            "LineString" => Self::LineString,
            "MultiLineString" => Self::MultiLineString,
            "Polygon" => Self::Polygon,
            "MultiPolygon" => Self::MultiPolygon,
            _ => return None,
        })
    }

    pub fn name(self) -> &'static str {
        match self {
            Self::Point => "Point",
            Self::MultiPoint => "MultiPoint",
            Self::LineString => "LineString",
            Self::MultiLineString => "MultiLineString",
            Self::Polygon => "Polygon",
            Self::MultiPolygon => "MultiPolygon",
        }
    }
}

/// A geometry of one of the supported kinds, every position checked: only `TaskGeometry::parse`
/// makes one (and `with_geometry`, for a change of datum that keeps the shape).
#[derive(Debug, Clone, PartialEq)]
pub struct TaskGeometry {
    geometry: Geometry<f64>,
    vertices: usize,
}

/// Names under which clients still send the GeoJSON 2008 `crs` member for plain WGS 84.
const WGS84_NAMES: &[&str] = &[
    "urn:ogc:def:crs:OGC:1.3:CRS84",
    "urn:ogc:def:crs:OGC::CRS84",
    "http://www.opengis.net/def/crs/OGC/1.3/CRS84",
    "CRS84",
    "EPSG:4326",
    "urn:ogc:def:crs:EPSG::4326",
    "http://www.opengis.net/def/crs/EPSG/0/4326",
];

/// Checks a `crs` member (RFC 7946 dropped it; older writers still send one). Anything but WGS 84
/// would mean the coordinates are not longitude/latitude, so it is refused rather than misread.
pub fn check_crs(value: &Value, pointer: &str) -> Result<(), FieldError> {
    let name = value.get("properties").and_then(|p| p.get("name")).and_then(Value::as_str);
    match name {
        Some(n) if WGS84_NAMES.iter().any(|w| w.eq_ignore_ascii_case(n)) => Ok(()),
        Some(n) => Err(FieldError::new(
            pointer,
            Code::UnsupportedCrs,
            format!(
                "coordinate reference system '{n}' is not supported: send WGS 84 longitude/latitude (RFC 7946) and leave out 'crs'"
            ),
        )
        .with("got", n)),
        None => Err(FieldError::new(
            pointer,
            Code::UnsupportedCrs,
            "'crs' must name WGS 84 (urn:ogc:def:crs:OGC:1.3:CRS84) or be left out (RFC 7946)",
        )),
    }
}

struct Parser {
    errors: Vec<FieldError>,
    vertices: usize,
}

impl Parser {
    fn fail(&mut self, pointer: String, why: Message) {
        if self.errors.len() < MAX_ERRORS {
            self.errors.push(why.at(pointer));
        }
    }

    fn array<'v>(&mut self, v: &'v Value, pointer: &str, what: &str) -> Option<&'v Vec<Value>> {
        match v {
            Value::Array(items) => Some(items),
            other => {
                self.fail(pointer.to_owned(), wrong_type("array", &format!("{what} must be an array"), other));
                None
            }
        }
    }

    fn position(&mut self, v: &Value, pointer: &str) -> Option<Coord<f64>> {
        self.vertices += 1;
        if self.vertices > MAX_VERTICES {
            return None;
        }
        let items = self.array(v, pointer, "a position")?;
        if items.len() < 2 || items.len() > 3 {
            let detail =
                format!("a position is [longitude, latitude] (optionally with elevation), got {} numbers", items.len());
            self.fail(pointer.to_owned(), Message::new(Code::PositionSize, detail).with("got", items.len()));
            return None;
        }
        let mut out = [0.0; 2];
        let mut ok = true;
        for (axis, limit, name) in [(0usize, 180.0, "longitude"), (1, 90.0, "latitude")] {
            let p = format!("{pointer}/{axis}");
            match items[axis].as_f64() {
                Some(x) if x.is_finite() && (-limit..=limit).contains(&x) => out[axis] = x,
                Some(x) => {
                    let detail = format!("{name} {x} is outside [-{limit}, {limit}]");
                    let why = Message::new(Code::Range, detail).with("min", -limit).with("max", limit).with("got", x);
                    self.fail(p, why);
                    ok = false;
                }
                None => {
                    self.fail(p, wrong_type("number", &format!("{name} must be a number"), &items[axis]));
                    ok = false;
                }
            }
        }
        if let Some(z) = items.get(2)
            && !z.is_number()
        {
            self.fail(format!("{pointer}/2"), wrong_type("number", "elevation must be a number", z));
            ok = false;
        }
        ok.then_some(Coord { x: out[0], y: out[1] })
    }

    fn positions(&mut self, v: &Value, pointer: &str, what: &str, min: usize) -> Option<Vec<Coord<f64>>> {
        let items = self.array(v, pointer, what)?;
        if items.len() < min {
            let detail = format!("{what} needs at least {min} positions, got {}", items.len());
            self.fail(
                pointer.to_owned(),
                Message::new(Code::TooFewPositions, detail).with("min", min).with("got", items.len()),
            );
            return None;
        }
        let mut out = Vec::with_capacity(items.len());
        let mut ok = true;
        for (i, item) in items.iter().enumerate() {
            match self.position(item, &format!("{pointer}/{i}")) {
                Some(p) => out.push(p),
                None => ok = false,
            }
            if self.vertices > MAX_VERTICES {
                return None;
            }
        }
        ok.then_some(out)
    }

    fn line(&mut self, v: &Value, pointer: &str) -> Option<LineString<f64>> {
        self.positions(v, pointer, "a line", 2).map(LineString::new)
    }

    fn polygon(&mut self, v: &Value, pointer: &str) -> Option<Polygon<f64>> {
        let rings = self.array(v, pointer, "a polygon")?;
        if rings.is_empty() {
            let why = Message::new(Code::TooFewPositions, "a polygon needs an exterior ring");
            self.fail(pointer.to_owned(), why.with("min", 4).with("got", 0));
            return None;
        }
        let mut out = Vec::with_capacity(rings.len());
        let mut ok = true;
        for (i, ring) in rings.iter().enumerate() {
            let p = format!("{pointer}/{i}");
            match self.positions(ring, &p, "a polygon ring", 4).map(LineString::new) {
                Some(ring) if ring.is_closed() => out.push(ring),
                Some(ring) => {
                    let (first, last) = (ring.0[0], ring.0[ring.0.len() - 1]);
                    let detail = format!(
                        "ring {i} is not closed: it starts at [{}, {}] and ends at [{}, {}]; the last position must repeat the first",
                        first.x, first.y, last.x, last.y
                    );
                    self.fail(p, Message::new(Code::RingNotClosed, detail).with("ring", i));
                    ok = false;
                }
                None => ok = false,
            }
            if self.vertices > MAX_VERTICES {
                return None;
            }
        }
        let mut rings = out.into_iter();
        ok.then(|| Polygon::new(rings.next().expect("a polygon's rings were checked non-empty"), rings.collect()))
    }

    fn many<T>(
        &mut self,
        v: &Value,
        pointer: &str,
        what: &str,
        part: impl Fn(&mut Self, &Value, &str) -> Option<T>,
    ) -> Option<Vec<T>> {
        let items = self.array(v, pointer, what)?;
        let mut out = Vec::with_capacity(items.len());
        let mut ok = true;
        for (i, item) in items.iter().enumerate() {
            match part(self, item, &format!("{pointer}/{i}")) {
                Some(x) => out.push(x),
                None => ok = false,
            }
            if self.vertices > MAX_VERTICES {
                return None;
            }
        }
        ok.then_some(out)
    }
}

/// The geometry's `type`, if it is one a task may have.
fn kind_of(obj: &serde_json::Map<String, Value>, pointer: &str) -> Result<GeometryKind, FieldError> {
    let at = format!("{pointer}/type");
    match obj.get("type") {
        Some(Value::String(t)) => match GeometryKind::parse(t) {
            Some(k) => Ok(k),
            None if t == "GeometryCollection" => Err(FieldError::new(
                at,
                Code::UnsupportedGeometry,
                "GeometryCollection is not supported: a task is one point, line or area (or a Multi- form of one of them)",
            )
            .with("got", t.as_str())),
            None => Err(FieldError::new(
                at,
                Code::UnsupportedGeometry,
                format!(
                    "unsupported geometry type '{t}': use Point, LineString, Polygon, MultiPoint, MultiLineString or MultiPolygon"
                ),
            )
            .with("got", t.as_str())),
        },
        Some(other) => {
            Err(wrong_type("string", "the geometry type must be a string", other).at(at))
        }
        None => Err(FieldError::new(pointer, Code::MissingMember, "the geometry has no 'type'").with("name", "type")),
    }
}

impl TaskGeometry {
    /// Parses a GeoJSON geometry object found at `pointer` in the request.
    pub fn parse(value: &Value, pointer: &str) -> Result<Self, Vec<FieldError>> {
        let Value::Object(obj) = value else {
            return Err(vec![
                wrong_type("geometry", "the geometry must be a GeoJSON geometry object", value).at(pointer),
            ]);
        };
        let kind = kind_of(obj, pointer).map_err(|e| vec![e])?;
        if let Some(crs) = obj.get("crs") {
            check_crs(crs, &format!("{pointer}/crs")).map_err(|e| vec![e])?;
        }
        let cp = format!("{pointer}/coordinates");
        let Some(coords) = obj.get("coordinates") else {
            let detail = format!("the {} has no 'coordinates'", kind.name());
            return Err(vec![FieldError::new(pointer, Code::MissingMember, detail).with("name", "coordinates")]);
        };
        if coords.as_array().is_some_and(Vec::is_empty) {
            let detail = format!("the {} is empty: it has no coordinates", kind.name());
            return Err(vec![FieldError::new(cp, Code::EmptyGeometry, detail).with("kind", kind.name())]);
        }

        let mut p = Parser { errors: Vec::new(), vertices: 0 };
        let parsed: Option<Geometry<f64>> = match kind {
            GeometryKind::Point => p.position(coords, &cp).map(|c| Point(c).into()),
            GeometryKind::MultiPoint => p
                .many(coords, &cp, "a MultiPoint", |p, v, ptr| p.position(v, ptr).map(Point))
                .map(|ps| MultiPoint(ps).into()),
            GeometryKind::LineString => p.line(coords, &cp).map(Into::into),
            GeometryKind::MultiLineString => {
                p.many(coords, &cp, "a MultiLineString", Parser::line).map(|ls| MultiLineString(ls).into())
            }
            GeometryKind::Polygon => p.polygon(coords, &cp).map(Into::into),
            GeometryKind::MultiPolygon => {
                p.many(coords, &cp, "a MultiPolygon", Parser::polygon).map(|ps| MultiPolygon(ps).into())
            }
        };
        if p.vertices > MAX_VERTICES {
            return Err(vec![
                FieldError::new(
                    cp,
                    Code::TooManyVertices,
                    format!("the geometry has more than {MAX_VERTICES} positions; simplify it before sending"),
                )
                .with("max", MAX_VERTICES),
            ]);
        }
        match parsed {
            Some(geometry) if p.errors.is_empty() => Ok(TaskGeometry { geometry, vertices: p.vertices }),
            _ => Err(p.errors),
        }
    }

    pub fn kind(&self) -> GeometryKind {
        match self.geometry {
            Geometry::Point(_) => GeometryKind::Point,
            Geometry::MultiPoint(_) => GeometryKind::MultiPoint,
            Geometry::LineString(_) => GeometryKind::LineString,
            Geometry::MultiLineString(_) => GeometryKind::MultiLineString,
            Geometry::Polygon(_) => GeometryKind::Polygon,
            // The parser makes no other kind, and `with_geometry` keeps the kind.
            _ => GeometryKind::MultiPolygon,
        }
    }

    pub fn geometry(&self) -> &Geometry<f64> {
        &self.geometry
    }

    pub fn vertices(&self) -> usize {
        self.vertices
    }

    /// The same shape with its positions moved (a change of datum, see `chinacoords`): `geometry`
    /// must be `self.geometry()` mapped coordinate by coordinate, so the checks still hold.
    pub fn with_geometry(&self, geometry: Geometry<f64>) -> TaskGeometry {
        debug_assert_eq!(std::mem::discriminant(&geometry), std::mem::discriminant(&self.geometry));
        TaskGeometry { geometry, vertices: self.vertices }
    }

    /// Two-dimensional GeoJSON for `ST_GeomFromGeoJSON`. serde_json prints the shortest decimal that
    /// reads back as the same f64, so stored coordinates are exactly the ones sent.
    pub fn to_geojson(&self) -> String {
        let geometry = geojson::Geometry::new(geojson::GeometryValue::from(&self.geometry));
        serde_json::to_string(&geometry).expect("a geometry of finite numbers serialises")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn parse(v: Value) -> Result<TaskGeometry, Vec<FieldError>> {
        TaskGeometry::parse(&v, "/geometry")
    }

    fn first_error(v: Value) -> FieldError {
        parse(v).expect_err("should be refused").remove(0)
    }

    #[test]
    fn accepts_every_supported_type_and_keeps_coordinates_exactly() {
        let cases = [
            json!({"type": "Point", "coordinates": [119.123456789012, 30.5]}),
            json!({"type": "MultiPoint", "coordinates": [[119.1, 30.5], [119.2, 30.6]]}),
            json!({"type": "LineString", "coordinates": [[119.1, 30.5], [119.2, 30.6]]}),
            json!({"type": "MultiLineString", "coordinates": [[[119.1, 30.5], [119.2, 30.6]]]}),
            json!({"type": "Polygon", "coordinates": [[[119.1, 30.5], [119.2, 30.5], [119.2, 30.6], [119.1, 30.5]]]}),
            json!({"type": "MultiPolygon", "coordinates": [[[[119.1, 30.5], [119.2, 30.5], [119.2, 30.6], [119.1, 30.5]]]]}),
        ];
        for case in cases {
            let g = parse(case.clone()).unwrap();
            let back: Value = serde_json::from_str(&g.to_geojson()).unwrap();
            assert_eq!(back, case);
        }
    }

    #[test]
    fn drops_elevation_but_checks_it_is_a_number() {
        let g = parse(json!({"type": "Point", "coordinates": [119.1, 30.5, 12.0]})).unwrap();
        assert_eq!(g.to_geojson(), r#"{"type":"Point","coordinates":[119.1,30.5]}"#);
        assert_eq!(g.geometry(), &Geometry::Point(Point::new(119.1, 30.5)));
        let e = first_error(json!({"type": "Point", "coordinates": [119.1, 30.5, "high"]}));
        assert_eq!(e.pointer, "/geometry/coordinates/2");
    }

    #[test]
    fn points_at_the_out_of_range_coordinate() {
        let e = first_error(json!({"type": "LineString", "coordinates": [[119.1, 30.5], [119.2, 95.0]]}));
        assert_eq!(e.pointer, "/geometry/coordinates/1/1");
        assert!(e.detail.contains("latitude 95 is outside [-90, 90]"), "{}", e.detail);
        let e = first_error(json!({"type": "Point", "coordinates": [-181, 30]}));
        assert_eq!(e.pointer, "/geometry/coordinates/0");
        assert!(e.detail.contains("longitude"));
    }

    #[test]
    fn refuses_non_numbers_with_their_type() {
        let e = first_error(json!({"type": "Point", "coordinates": ["119.1", 30.5]}));
        assert_eq!(e.pointer, "/geometry/coordinates/0");
        assert!(e.detail.contains("must be a number, got a string"), "{}", e.detail);
    }

    #[test]
    fn reports_every_bad_coordinate_not_just_the_first() {
        let errors =
            parse(json!({"type": "MultiPoint", "coordinates": [[200, 30], [119, 30], [119, -91]]})).unwrap_err();
        let pointers: Vec<_> = errors.iter().map(|e| e.pointer.as_str()).collect();
        assert_eq!(pointers, ["/geometry/coordinates/0/0", "/geometry/coordinates/2/1"]);
    }

    #[test]
    fn refuses_unclosed_and_short_rings() {
        let e = first_error(
            json!({"type": "Polygon", "coordinates": [[[119.1, 30.5], [119.2, 30.5], [119.2, 30.6], [119.1, 30.6]]]}),
        );
        assert_eq!(e.pointer, "/geometry/coordinates/0");
        assert!(e.detail.contains("not closed"), "{}", e.detail);
        let e = first_error(json!({"type": "Polygon", "coordinates": [[[119.1, 30.5], [119.2, 30.5], [119.1, 30.5]]]}));
        assert!(e.detail.contains("at least 4 positions"), "{}", e.detail);
    }

    #[test]
    fn refuses_unsupported_and_empty_geometries() {
        let e = first_error(json!({"type": "GeometryCollection", "geometries": []}));
        assert_eq!(e.pointer, "/geometry/type");
        let e = first_error(json!({"type": "Circle", "coordinates": [1, 2]}));
        assert!(e.detail.contains("unsupported geometry type 'Circle'"));
        let e = first_error(json!({"type": "Polygon", "coordinates": []}));
        assert!(e.detail.contains("empty"), "{}", e.detail);
        let e = first_error(json!({"type": "LineString", "coordinates": [[119.1, 30.5]]}));
        assert!(e.detail.contains("at least 2 positions"));
        let e = first_error(json!("POINT(1 2)"));
        assert!(e.detail.contains("got a string"));
    }

    #[test]
    fn refuses_more_than_the_vertex_limit() {
        let coords: Vec<Value> = (0..=MAX_VERTICES).map(|i| json!([119.0 + i as f64 * 1e-5, 30.5])).collect();
        let e = first_error(json!({"type": "LineString", "coordinates": coords}));
        assert!(e.detail.contains("more than 10000 positions"), "{}", e.detail);
        let coords: Vec<Value> = (0..MAX_VERTICES).map(|i| json!([119.0 + i as f64 * 1e-5, 30.5])).collect();
        assert_eq!(parse(json!({"type": "LineString", "coordinates": coords})).unwrap().vertices(), MAX_VERTICES);
    }

    #[test]
    fn accepts_wgs84_crs_and_refuses_others() {
        let named = |n: &str| json!({"type": "Point", "coordinates": [119.1, 30.5], "crs": {"type": "name", "properties": {"name": n}}});
        assert!(parse(named("urn:ogc:def:crs:OGC:1.3:CRS84")).is_ok());
        assert!(parse(named("EPSG:4326")).is_ok());
        let e = first_error(named("EPSG:3857"));
        assert_eq!(e.pointer, "/geometry/crs");
        assert!(e.detail.contains("'EPSG:3857' is not supported"));
    }
}
