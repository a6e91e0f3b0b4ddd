//! One layer of a Mapbox Vector Tile (specification 2.1), written as protobuf from features whose
//! geometry is already in tile units (PostGIS's ST_AsMVTGeom, read from its WKB by domain::wkb). The database clips and
//! snaps; the layer is built here because ST_AsMVT keeps every distinct attribute value in a hash
//! of its own at about 1.5 µs each, and each task's id, code and title is one: at zoom 13 that
//! bookkeeping was most of a crowded tile's time (BENCHMARKS.md, "Tiles encoded by the service").

use std::collections::HashMap;
use std::hash::{BuildHasherDefault, Hasher};

use geo::{Coord, Geometry, LineString, Point, Polygon};

/// An attribute's value, typed as ST_AsMVT types it: text as a string, integers that are not
/// negative as `uint_value`, booleans as `bool_value`. `Own` is text written for its feature alone,
/// without looking for an equal value to share: for what nearly every feature has its own of (ids,
/// codes, titles), where the lookups and the table they fill cost more than sharing saves. Layers
/// may hold equal values; decoders read them by index.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Value<'a> {
    Str(&'a str),
    Own(&'a str),
    Uint(u64),
    Bool(bool),
}

const POINT: u32 = 1;
const LINESTRING: u32 = 2;
const POLYGON: u32 = 3;

const MOVE_TO: u32 = 1;
const LINE_TO: u32 = 2;
const CLOSE_PATH: u32 = 7;

/// A layer being filled. Attributes are given per feature in the order of `keys`; a `None` leaves
/// that attribute off the feature, as ST_AsMVT does for SQL NULL.
pub struct Layer {
    name: &'static str,
    extent: u32,
    keys: &'static [&'static str],
    features: Vec<u8>,
    count: usize,
    values: Vec<u8>,
    strings: HashMap<Box<str>, u32, BuildHasherDefault<Fx>>,
    uints: HashMap<u64, u32, BuildHasherDefault<Fx>>,
    bools: [Option<u32>; 2],
    last: Vec<Option<(String, u32)>>,
    next_value: u32,
    tags: Vec<u32>,
    geometry: Vec<u32>,
    scratch: Vec<u8>,
}

impl Layer {
    pub fn new(name: &'static str, extent: u32, keys: &'static [&'static str]) -> Self {
        Layer {
            name,
            extent,
            keys,
            features: Vec::with_capacity(1 << 16),
            count: 0,
            values: Vec::with_capacity(1 << 14),
            strings: HashMap::with_capacity_and_hasher(64, BuildHasherDefault::default()),
            uints: HashMap::with_capacity_and_hasher(16, BuildHasherDefault::default()),
            bools: [None; 2],
            last: vec![None; keys.len()],
            next_value: 0,
            tags: Vec::new(),
            geometry: Vec::new(),
            scratch: Vec::new(),
        }
    }

    /// Adds one feature. Returns whether it was added: a geometry that collapsed to nothing (a ring
    /// of fewer than three distinct points, a line of one) is left out, as ST_AsMVT leaves it out.
    pub fn add<'v>(
        &mut self,
        geometry: &Geometry<f64>,
        attributes: impl IntoIterator<Item = Option<Value<'v>>>,
    ) -> bool {
        self.geometry.clear();
        let Some(kind) = encode_geometry(geometry, &mut self.geometry) else { return false };
        if self.geometry.is_empty() {
            return false;
        }
        self.tags.clear();
        for (key, value) in attributes.into_iter().enumerate().take(self.keys.len()) {
            if let Some(value) = value {
                let index = match value {
                    Value::Str(s) => self.string_index(key, s),
                    _ => self.value_index(value),
                };
                self.tags.extend([key as u32, index]);
            }
        }
        self.scratch.clear();
        packed(&mut self.scratch, 2, &self.tags);
        field_varint(&mut self.scratch, 3, u64::from(kind));
        packed(&mut self.scratch, 4, &self.geometry);
        field_bytes(&mut self.features, 2, &self.scratch);
        self.count += 1;
        true
    }

    /// Neighbouring features mostly share a family, a status, a township: the value a key had on
    /// the feature before is compared first, which spares most lookups.
    fn string_index(&mut self, key: usize, s: &str) -> u32 {
        match &mut self.last[key] {
            Some((last, index)) if last.as_str() == s => return *index,
            _ => {}
        }
        let index = self.value_index(Value::Str(s));
        match &mut self.last[key] {
            Some((last, at)) => {
                last.clear();
                last.push_str(s);
                *at = index;
            }
            none => *none = Some((s.to_owned(), index)),
        }
        index
    }

    fn value_index(&mut self, value: Value<'_>) -> u32 {
        let next = self.next_value;
        let index = match value {
            Value::Own(_) => next,
            Value::Str(s) => match self.strings.get(s) {
                Some(&i) => i,
                None => *self.strings.entry(s.into()).or_insert(next),
            },
            Value::Uint(n) => *self.uints.entry(n).or_insert(next),
            Value::Bool(b) => *self.bools[usize::from(b)].get_or_insert(next),
        };
        if index == next {
            self.next_value += 1;
            self.scratch.clear();
            match value {
                Value::Str(s) | Value::Own(s) => field_bytes(&mut self.scratch, 1, s.as_bytes()),
                Value::Uint(n) => field_varint(&mut self.scratch, 5, n),
                Value::Bool(b) => field_varint(&mut self.scratch, 7, u64::from(b)),
            }
            field_bytes(&mut self.values, 4, &self.scratch);
        }
        index
    }

    pub fn len(&self) -> usize {
        self.count
    }

    pub fn is_empty(&self) -> bool {
        self.count == 0
    }

    /// The tile holding this one layer; empty when the layer has no feature, as ST_AsMVT's tile of
    /// no rows is.
    pub fn finish(self) -> Vec<u8> {
        if self.count == 0 {
            return Vec::new();
        }
        let mut head = Vec::with_capacity(64);
        field_bytes(&mut head, 1, self.name.as_bytes());
        let mut tail = Vec::with_capacity(256);
        for key in self.keys {
            field_bytes(&mut tail, 3, key.as_bytes());
        }
        let values_at = tail.len();
        field_varint(&mut tail, 5, u64::from(self.extent));
        field_varint(&mut tail, 15, 2);
        let len = head.len() + self.features.len() + tail.len() + self.values.len();
        let mut tile = Vec::with_capacity(len + 8);
        varint(&mut tile, 3 << 3 | 2);
        varint(&mut tile, len as u64);
        tile.extend_from_slice(&head);
        tile.extend_from_slice(&self.features);
        tile.extend_from_slice(&tail[..values_at]);
        tile.extend_from_slice(&self.values);
        tile.extend_from_slice(&tail[values_at..]);
        tile
    }
}

/// A multiply-rotate hash (the one rustc uses for its own tables): a tile's values are a few short
/// strings looked up thousands of times, where SipHash's resistance to chosen keys buys nothing
/// (the keys are the bureau's own) and costs a tenth of the encoding.
#[derive(Default)]
struct Fx(u64);

impl Hasher for Fx {
    fn write(&mut self, bytes: &[u8]) {
        let mut chunks = bytes.chunks_exact(8);
        for c in &mut chunks {
            self.add(u64::from_le_bytes(c.try_into().expect("8 bytes")));
        }
        for &b in chunks.remainder() {
            self.add(u64::from(b));
        }
    }

    fn write_u8(&mut self, n: u8) {
        self.add(u64::from(n));
    }

    fn write_u64(&mut self, n: u64) {
        self.add(n);
    }

    fn finish(&self) -> u64 {
        self.0
    }
}

impl Fx {
    fn add(&mut self, word: u64) {
        self.0 = (self.0.rotate_left(5) ^ word).wrapping_mul(0x51_7c_c1_b7_27_22_0a_95);
    }
}

fn varint(out: &mut Vec<u8>, mut n: u64) {
    while n >= 0x80 {
        out.push((n as u8) | 0x80);
        n >>= 7;
    }
    out.push(n as u8);
}

fn field_varint(out: &mut Vec<u8>, field: u32, n: u64) {
    varint(out, u64::from(field << 3));
    varint(out, n);
}

fn field_bytes(out: &mut Vec<u8>, field: u32, bytes: &[u8]) {
    varint(out, u64::from(field << 3 | 2));
    varint(out, bytes.len() as u64);
    out.extend_from_slice(bytes);
}

fn packed(out: &mut Vec<u8>, field: u32, values: &[u32]) {
    if values.is_empty() {
        return;
    }
    let len: usize = values.iter().map(|&v| varint_len(v)).sum();
    varint(out, u64::from(field << 3 | 2));
    varint(out, len as u64);
    for &v in values {
        varint(out, u64::from(v));
    }
}

fn varint_len(v: u32) -> usize {
    (32 - (v | 1).leading_zeros() as usize).div_ceil(7)
}

fn command(id: u32, count: u32) -> u32 {
    (id & 0x7) | (count << 3)
}

fn zigzag(n: i32) -> u32 {
    ((n << 1) ^ (n >> 31)) as u32
}

fn rings(p: &Polygon<f64>) -> impl Iterator<Item = &LineString<f64>> {
    std::iter::once(p.exterior()).chain(p.interiors())
}

/// A coordinate in tile units. They are whole numbers already; the clamp only keeps a wild value
/// from wrapping when deltas are taken.
fn unit(c: Coord<f64>) -> (i32, i32) {
    let at = |v: f64| v.round().clamp(f64::from(i32::MIN / 4), f64::from(i32::MAX / 4)) as i32;
    (at(c.x), at(c.y))
}

/// Appends the MVT commands for a geometry in tile units (cursor starting at 0,0) and returns the
/// MVT geometry type; None for a kind MVT has no type for (a collection: ST_AsMVTGeom never returns
/// one). Parts that collapse are dropped; all parts dropped leaves `out` empty.
fn encode_geometry(geometry: &Geometry<f64>, out: &mut Vec<u32>) -> Option<u32> {
    let mut pen = (0, 0);
    match geometry {
        Geometry::Point(p) => points(&[*p], out, &mut pen),
        Geometry::MultiPoint(m) => points(&m.0, out, &mut pen),
        Geometry::LineString(l) => line(&l.0, out, &mut pen, false),
        Geometry::MultiLineString(m) => m.0.iter().for_each(|l| line(&l.0, out, &mut pen, false)),
        Geometry::Polygon(p) => rings(p).for_each(|r| line(&r.0, out, &mut pen, true)),
        Geometry::MultiPolygon(m) => m.0.iter().flat_map(rings).for_each(|r| line(&r.0, out, &mut pen, true)),
        _ => return None,
    }
    Some(match geometry {
        Geometry::Point(_) | Geometry::MultiPoint(_) => POINT,
        Geometry::LineString(_) | Geometry::MultiLineString(_) => LINESTRING,
        _ => POLYGON,
    })
}

fn points(points: &[Point<f64>], out: &mut Vec<u32>, pen: &mut (i32, i32)) {
    if points.is_empty() {
        return;
    }
    out.push(command(MOVE_TO, points.len() as u32));
    for p in points {
        let p = unit(p.0);
        out.extend([zigzag(p.0.wrapping_sub(pen.0)), zigzag(p.1.wrapping_sub(pen.1))]);
        *pen = p;
    }
}

/// One line, or one ring (closed, its last point repeating its first: the MVT ClosePath stands
/// for that last edge). Steps of no length are skipped; a line left with fewer than two points or a
/// ring with fewer than three is dropped, and the pen stays where it was.
fn line(coords: &[Coord<f64>], out: &mut Vec<u32>, pen: &mut (i32, i32), ring: bool) {
    let n = if ring { coords.len().saturating_sub(1) } else { coords.len() };
    let start = out.len();
    let mut at = *pen;
    let mut steps = 0u32;
    for (i, &c) in coords[..n].iter().enumerate() {
        let p = unit(c);
        let (dx, dy) = (p.0.wrapping_sub(at.0), p.1.wrapping_sub(at.1));
        if i > 0 && dx == 0 && dy == 0 {
            continue;
        }
        if i == 0 {
            out.extend([command(MOVE_TO, 1), zigzag(dx), zigzag(dy), command(LINE_TO, 0)]);
        } else {
            out.extend([zigzag(dx), zigzag(dy)]);
            steps += 1;
        }
        at = p;
    }
    if steps < if ring { 2 } else { 1 } {
        out.truncate(start);
        return;
    }
    out[start + 3] = command(LINE_TO, steps);
    if ring {
        out.push(command(CLOSE_PATH, 1));
    }
    *pen = at;
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Little-endian WKB of a geometry type and its raw body.
    fn wkb(kind: u32, body: &[u8]) -> Vec<u8> {
        let mut v = vec![1];
        v.extend(kind.to_le_bytes());
        v.extend(body);
        v
    }

    fn pts(points: &[(i32, i32)]) -> Vec<u8> {
        let mut v = (points.len() as u32).to_le_bytes().to_vec();
        for &(x, y) in points {
            v.extend(f64::from(x).to_le_bytes());
            v.extend(f64::from(y).to_le_bytes());
        }
        v
    }

    fn rings(rings: &[&[(i32, i32)]]) -> Vec<u8> {
        let mut v = (rings.len() as u32).to_le_bytes().to_vec();
        for r in rings {
            v.extend(pts(r));
        }
        v
    }

    fn multi(kind: u32, parts: &[Vec<u8>]) -> Vec<u8> {
        let mut body = (parts.len() as u32).to_le_bytes().to_vec();
        for p in parts {
            body.extend(p);
        }
        wkb(kind, &body)
    }

    fn encoded(wkb: &[u8]) -> (u32, Vec<u32>) {
        let mut out = Vec::new();
        let kind = encode_geometry(&crate::domain::wkb::geometry(wkb).unwrap(), &mut out).unwrap();
        (kind, out)
    }

    // The expected commands are the worked examples of the specification, section 4.3.5.
    #[test]
    fn points_as_the_specification_encodes_them() {
        assert_eq!(encoded(&wkb(1, &pts(&[(25, 17)])[4..])), (POINT, vec![9, 50, 34]));
        let two = multi(4, &[wkb(1, &pts(&[(5, 7)])[4..]), wkb(1, &pts(&[(3, 2)])[4..])]);
        assert_eq!(encoded(&two), (POINT, vec![17, 10, 14, 3, 9]));
    }

    #[test]
    fn lines_as_the_specification_encodes_them() {
        let one = wkb(2, &pts(&[(2, 2), (2, 10), (10, 10)]));
        assert_eq!(encoded(&one), (LINESTRING, vec![9, 4, 4, 18, 0, 16, 16, 0]));
        let two = multi(5, &[one.clone(), wkb(2, &pts(&[(1, 1), (3, 5)]))]);
        assert_eq!(encoded(&two), (LINESTRING, vec![9, 4, 4, 18, 0, 16, 16, 0, 9, 17, 17, 10, 4, 8]));
    }

    #[test]
    fn polygons_as_the_specification_encodes_them() {
        let one = wkb(3, &rings(&[&[(3, 6), (8, 12), (20, 34), (3, 6)]]));
        assert_eq!(encoded(&one), (POLYGON, vec![9, 6, 12, 18, 10, 12, 24, 44, 15]));
        let square = wkb(3, &rings(&[&[(0, 0), (10, 0), (10, 10), (0, 10), (0, 0)]]));
        let holed = wkb(
            3,
            &rings(&[
                &[(11, 11), (20, 11), (20, 20), (11, 20), (11, 11)],
                &[(13, 13), (13, 17), (17, 17), (17, 13), (13, 13)],
            ]),
        );
        let expected = vec![
            9, 0, 0, 26, 20, 0, 0, 20, 19, 0, 15, 9, 22, 2, 26, 18, 0, 0, 18, 17, 0, 15, 9, 4, 13, 26, 0, 8, 8, 0, 0,
            7, 15,
        ];
        assert_eq!(encoded(&multi(6, &[square, holed])), (POLYGON, expected));
    }

    #[test]
    fn collapsed_parts_are_dropped_and_the_pen_stays_put() {
        let flat = wkb(3, &rings(&[&[(1, 1), (2, 2), (1, 1)]]));
        assert_eq!(encoded(&flat), (POLYGON, vec![]));
        let stuck = wkb(2, &pts(&[(4, 4), (4, 4)]));
        let next = wkb(2, &pts(&[(1, 1), (3, 5)]));
        assert_eq!(encoded(&multi(5, &[stuck, next])), (LINESTRING, vec![9, 2, 2, 10, 4, 8]));
        let repeated = wkb(2, &pts(&[(2, 2), (2, 2), (2, 10)]));
        assert_eq!(encoded(&repeated), (LINESTRING, vec![9, 4, 4, 10, 0, 16]));
    }

    #[test]
    fn big_endian_and_broken_wkb() {
        let mut be = vec![0, 0, 0, 0, 1];
        be.extend(25f64.to_be_bytes());
        be.extend(17f64.to_be_bytes());
        assert_eq!(encoded(&be), (POINT, vec![9, 50, 34]));
        let read = crate::domain::wkb::geometry;
        assert!(read(&be[..12]).is_err(), "truncated");
        assert!(read(&wkb(1001, &[])).is_err(), "3-D, truncated");
        assert!(read(&wkb(2, &u32::MAX.to_le_bytes())).is_err(), "a count past the end");
        let mut out = Vec::new();
        for collection in [wkb(7, &[0, 0, 0, 0]), multi(4, &[wkb(2, &pts(&[(1, 1), (2, 2)]))])] {
            assert_eq!(encode_geometry(&read(&collection).unwrap(), &mut out), None, "no MVT type");
        }
        assert!(out.is_empty());
    }

    #[test]
    fn a_value_seen_before_under_any_key_gets_its_first_index() {
        static KEYS: [&str; 3] = ["a", "b", "c"];
        let mut layer = Layer::new("t", 4096, &KEYS);
        let seen: Vec<u32> = [(0, "x"), (1, "x"), (0, "y"), (0, "x"), (2, ""), (2, ""), (0, ""), (1, "y"), (1, "z")]
            .into_iter()
            .map(|(key, s)| layer.string_index(key, s))
            .collect();
        assert_eq!(seen, [0, 0, 1, 0, 2, 2, 2, 1, 3]);
        assert_eq!(layer.value_index(Value::Own("x")), 4, "own values are never shared");
        assert_eq!(layer.value_index(Value::Uint(7)), 5);
        assert_eq!(layer.value_index(Value::Uint(7)), 5);
    }

    #[test]
    fn a_layer_shares_values_and_leaves_nulls_off() {
        static KEYS: [&str; 3] = ["name", "n", "flag"];
        let point = crate::domain::wkb::geometry(&wkb(1, &pts(&[(1, 1)])[4..])).unwrap();
        let single = crate::domain::wkb::geometry(&wkb(2, &pts(&[(4, 4)]))).unwrap();
        let mut layer = Layer::new("t", 4096, &KEYS);
        let a = [Some(Value::Str("x")), Some(Value::Uint(3)), Some(Value::Bool(true))];
        assert!(layer.add(&point, a));
        assert!(layer.add(&point, [Some(Value::Str("x")), None, Some(Value::Bool(false))]));
        assert!(!layer.add(&single, a), "a line of one point");
        assert_eq!(layer.len(), 2);
        let tile = layer.finish();
        // Layer message: name, two features, three keys, four values (x, 3, true, false), extent, version.
        let feature = |tags: &[u8]| {
            [&[0x12, 9 + tags.len() as u8, 0x12, tags.len() as u8][..], tags, &[0x18, 1, 0x22, 3, 9, 2, 2]].concat()
        };
        let mut expected_layer = vec![0x0a, 1, b't'];
        expected_layer.extend(feature(&[0, 0, 1, 1, 2, 2]));
        expected_layer.extend(feature(&[0, 0, 2, 3]));
        for k in KEYS {
            expected_layer.extend([0x1a, k.len() as u8]);
            expected_layer.extend(k.as_bytes());
        }
        expected_layer.extend([0x22, 3, 0x0a, 1, b'x', 0x22, 2, 0x28, 3, 0x22, 2, 0x38, 1, 0x22, 2, 0x38, 0]);
        expected_layer.extend([0x28, 0x80, 0x20, 0x78, 2]);
        let mut expected = vec![0x1a, expected_layer.len() as u8];
        expected.extend(expected_layer);
        assert_eq!(tile, expected);
        assert!(Layer::new("t", 4096, &KEYS).finish().is_empty(), "no features, no bytes");
    }
}
