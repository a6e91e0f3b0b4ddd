//! Chinese web-map coordinates. Positions copied from AMap or Tencent maps are in GCJ-02, those from
//! Baidu in BD-09: both are WGS 84 shifted by a published, deliberately irregular offset of a few
//! hundred metres. The ledger stores WGS 84, so such input is converted once, at the edge.
//!
//! GCJ-02 is defined only as the forward map from WGS 84; its inverse has no closed form, so it is
//! solved by fixed-point iteration, which converges because the offset changes slowly with position.

use std::f64::consts::PI;

use geo::{Coord, Distance, Haversine, MapCoords, Point};

use super::geometry::TaskGeometry;

/// A longitude/latitude position, as the published formulas and test pairs write it.
pub type Position = [f64; 2];

/// The datum of positions a client sends.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Datum {
    #[default]
    Wgs84,
    /// 国测局 GCJ-02 ("Mars coordinates"): AMap (高德), Tencent (腾讯), Google Maps in China.
    Gcj02,
    /// BD-09: Baidu maps (百度), GCJ-02 shifted once more.
    Bd09,
}

impl Datum {
    pub const NAMES: &'static [&'static str] = &["wgs84", "gcj02", "bd09"];

    pub fn parse(s: &str) -> Result<Datum, String> {
        match s.trim().to_ascii_lowercase().as_str() {
            "wgs84" | "" => Ok(Datum::Wgs84),
            "gcj02" => Ok(Datum::Gcj02),
            "bd09" => Ok(Datum::Bd09),
            other => Err(format!(
                "unknown coordinate system '{other}': use gcj02 (AMap, Tencent), bd09 (Baidu) or wgs84 (GPS, the default)"
            )),
        }
    }

    /// The datum's name as `parse` reads it.
    pub fn name(self) -> &'static str {
        match self {
            Datum::Wgs84 => "wgs84",
            Datum::Gcj02 => "gcj02",
            Datum::Bd09 => "bd09",
        }
    }

    /// The geometry in WGS 84.
    pub fn geometry_to_wgs84(self, g: &TaskGeometry) -> TaskGeometry {
        if self == Datum::Wgs84 {
            return g.clone();
        }
        g.with_geometry(g.geometry().map_coords(|c| {
            let [x, y] = self.to_wgs84([c.x, c.y]);
            Coord { x, y }
        }))
    }

    /// The WGS 84 position of `p`, given in this datum.
    pub fn to_wgs84(self, p: Position) -> Position {
        match self {
            Datum::Wgs84 => p,
            Datum::Gcj02 => gcj02_to_wgs84(p),
            Datum::Bd09 => gcj02_to_wgs84(bd09_to_gcj02(p)),
        }
    }
}

/// Krasovsky 1940 ellipsoid, which the GCJ-02 offset formula is written against.
const A: f64 = 6_378_245.0;
const EE: f64 = 0.006_693_421_622_965_943;

/// The offset applies only within (a box around) mainland China; elsewhere GCJ-02 is WGS 84.
fn outside_china(p: Position) -> bool {
    !(72.004..=137.8347).contains(&p[0]) || !(0.8293..=55.8271).contains(&p[1])
}

fn shift_lat(x: f64, y: f64) -> f64 {
    let mut r = -100.0 + 2.0 * x + 3.0 * y + 0.2 * y * y + 0.1 * x * y + 0.2 * x.abs().sqrt();
    r += (20.0 * (6.0 * x * PI).sin() + 20.0 * (2.0 * x * PI).sin()) * 2.0 / 3.0;
    r += (20.0 * (y * PI).sin() + 40.0 * (y / 3.0 * PI).sin()) * 2.0 / 3.0;
    r += (160.0 * (y / 12.0 * PI).sin() + 320.0 * (y * PI / 30.0).sin()) * 2.0 / 3.0;
    r
}

fn shift_lon(x: f64, y: f64) -> f64 {
    let mut r = 300.0 + x + 2.0 * y + 0.1 * x * x + 0.1 * x * y + 0.1 * x.abs().sqrt();
    r += (20.0 * (6.0 * x * PI).sin() + 20.0 * (2.0 * x * PI).sin()) * 2.0 / 3.0;
    r += (20.0 * (x * PI).sin() + 40.0 * (x / 3.0 * PI).sin()) * 2.0 / 3.0;
    r += (150.0 * (x / 12.0 * PI).sin() + 300.0 * (x / 30.0 * PI).sin()) * 2.0 / 3.0;
    r
}

/// WGS 84 -> GCJ-02, the defining formula.
pub fn wgs84_to_gcj02(p: Position) -> Position {
    if outside_china(p) {
        return p;
    }
    let [lon, lat] = p;
    let d_lat = shift_lat(lon - 105.0, lat - 35.0);
    let d_lon = shift_lon(lon - 105.0, lat - 35.0);
    let rad = lat / 180.0 * PI;
    let magic = 1.0 - EE * rad.sin() * rad.sin();
    let sqrt_magic = magic.sqrt();
    let d_lat = (d_lat * 180.0) / ((A * (1.0 - EE)) / (magic * sqrt_magic) * PI);
    let d_lon = (d_lon * 180.0) / (A / sqrt_magic * rad.cos() * PI);
    [lon + d_lon, lat + d_lat]
}

/// GCJ-02 -> WGS 84: the WGS 84 position whose GCJ-02 image is `p`, to well under a millimetre.
pub fn gcj02_to_wgs84(p: Position) -> Position {
    inverse(p, wgs84_to_gcj02)
}

const X_PI: f64 = PI * 3000.0 / 180.0;

/// GCJ-02 -> BD-09, Baidu's defining formula.
pub fn gcj02_to_bd09(p: Position) -> Position {
    let [x, y] = p;
    let z = (x * x + y * y).sqrt() + 0.000_02 * (y * X_PI).sin();
    let theta = y.atan2(x) + 0.000_003 * (x * X_PI).cos();
    [z * theta.cos() + 0.0065, z * theta.sin() + 0.006]
}

/// BD-09 -> GCJ-02, solved against the forward formula (the usual closed-form reversal is off by
/// up to a few decimetres).
pub fn bd09_to_gcj02(p: Position) -> Position {
    inverse(p, gcj02_to_bd09)
}

/// Solves `forward(q) = p` for `q` by fixed-point iteration `q <- q - (forward(q) - p)`: the forward
/// maps are the identity plus an offset whose derivative is tiny, so each step gains several digits.
fn inverse(p: Position, forward: fn(Position) -> Position) -> Position {
    let mut q = p;
    for _ in 0..30 {
        let f = forward(q);
        let (dx, dy) = (f[0] - p[0], f[1] - p[1]);
        q = [q[0] - dx, q[1] - dy];
        if dx.abs() < 1e-12 && dy.abs() < 1e-12 {
            break;
        }
    }
    q
}

/// Distance in metres between two positions on the mean Earth sphere (haversine).
pub fn metres_between(a: Position, b: Position) -> f64 {
    Haversine.distance(Point::from(a), Point::from(b))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn close(a: Position, b: Position, metres: f64) {
        let d = metres_between(a, b);
        assert!(d <= metres, "{a:?} vs {b:?}: {d:.3} m apart");
    }

    /// Published pairs (WGS 84, GCJ-02) from the eviltransform project's test suite and the
    /// coordtransform library's documentation, [longitude, latitude].
    const WGS_GCJ: &[(Position, Position)] = &[
        ([121.5272106, 31.1774276], [121.531541859215, 31.17530398364597]), // Shanghai
        ([113.912316, 22.543847], [113.9171764808363, 22.540796131694766]), // Shenzhen
        ([116.377817, 39.911954], [116.38404722455657, 39.91334545536069]), // Beijing
        ([116.404, 39.915], [116.41024449916938, 39.91640428150164]),       // Beijing, Tiananmen
    ];

    #[test]
    fn wgs84_to_gcj02_matches_published_pairs() {
        for (wgs, gcj) in WGS_GCJ {
            close(wgs84_to_gcj02(*wgs), *gcj, 0.01);
        }
    }

    #[test]
    fn gcj02_to_wgs84_recovers_the_published_wgs84_position() {
        for (wgs, gcj) in WGS_GCJ {
            close(gcj02_to_wgs84(*gcj), *wgs, 0.01);
            close(Datum::Gcj02.to_wgs84(*gcj), *wgs, 0.01);
        }
    }

    #[test]
    fn the_gcj02_offset_is_hundreds_of_metres_and_the_inverse_is_exact() {
        for lon in [100.0, 110.5, 119.95, 121.5] {
            for lat in [22.0, 30.8, 39.9] {
                let p = [lon, lat];
                let shifted = metres_between(p, wgs84_to_gcj02(p));
                assert!((100.0..1000.0).contains(&shifted), "{p:?}: {shifted} m");
                close(gcj02_to_wgs84(wgs84_to_gcj02(p)), p, 0.001);
            }
        }
    }

    #[test]
    fn bd09_matches_published_pairs() {
        // coordtransform's documentation: gcj02tobd09(116.404, 39.915), bd09togcj02(116.404, 39.915).
        close(gcj02_to_bd09([116.404, 39.915]), [116.41036949371029, 39.92133699351021], 0.01);
        close(bd09_to_gcj02([116.404, 39.915]), [116.39762729119315, 39.90865673957631], 1.0);
        // gcoord's tests: GCJ-02 [123, 45] is BD-09 [123.00636499, 45.00636899].
        close(gcj02_to_bd09([123.0, 45.0]), [123.00636499, 45.00636899], 0.01);
        close(bd09_to_gcj02([123.00636499, 45.00636899]), [123.0, 45.0], 0.01);
        // A pair read off the two maps in Beijing (five decimals, about a metre).
        close(bd09_to_gcj02([116.43351, 39.90851]), [116.42703, 39.90245], 1.0);
    }

    #[test]
    fn bd09_to_wgs84_goes_through_gcj02() {
        // gcoord's tests: GCJ-02 [123, 45] is WGS 84 [122.99395597, 44.99804071].
        close(gcj02_to_wgs84([123.0, 45.0]), [122.99395597, 44.99804071], 0.05);
        close(Datum::Bd09.to_wgs84([123.00636499, 45.00636899]), [122.99395597, 44.99804071], 0.05);
    }

    #[test]
    fn bd09_round_trips() {
        let p = [119.95, 30.85];
        close(bd09_to_gcj02(gcj02_to_bd09(p)), p, 0.001);
    }

    #[test]
    fn outside_china_gcj02_is_wgs84() {
        let paris = [2.35, 48.85];
        assert_eq!(wgs84_to_gcj02(paris), paris);
        assert_eq!(gcj02_to_wgs84(paris), paris);
    }

    #[test]
    fn names_parse_and_unknown_ones_say_what_is_accepted() {
        assert_eq!(Datum::parse("GCJ02"), Ok(Datum::Gcj02));
        assert_eq!(Datum::parse("bd09"), Ok(Datum::Bd09));
        assert_eq!(Datum::parse("wgs84"), Ok(Datum::Wgs84));
        assert!(Datum::parse("bd09mc").unwrap_err().contains("gcj02"));
    }
}
