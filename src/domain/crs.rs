//! Which coordinate reference system a boundary file is in, as an EPSG code PostGIS can transform
//! from. Files name it in three ways: an OGC/ESRI WKT string (a Shapefile's `.prj`, a GeoPackage's
//! `gpkg_spatial_ref_sys.definition`), an authority and code (GeoPackage, WKT `AUTHORITY`/`ID`), or a
//! GeoJSON `crs` member. ESRI's `.prj` carries no code, so the systems counties use are recognised by
//! their parameters: WGS 84, CGCS2000 (EPSG:4490) and its Gauss-Krüger zones, and Web Mercator.

/// EPSG codes of the systems recognised without an authority code.
pub const WGS84: u32 = 4326;
pub const CGCS2000: u32 = 4490;
pub const WEB_MERCATOR: u32 = 3857;

/// How to name a system when the file does not.
pub const HOW_TO_NAME: &str = "name it with --crs EPSG:<code> on the command line or crs=EPSG:<code> in the upload \
     (e.g. EPSG:4549 for CGCS2000 3-degree Gauss-Krüger CM 120E, EPSG:4490 for CGCS2000 longitude/latitude)";

/// A parsed WKT node: `NAME["text", 1.0, CHILD[...], ...]`.
#[derive(Debug, Clone, PartialEq)]
pub enum Wkt {
    Text(String),
    Number(f64),
    Node(String, Vec<Wkt>),
}

impl Wkt {
    /// Parses WKT 1 (OGC or ESRI flavour) or WKT 2; brackets may be `[]` or `()`.
    pub fn parse(s: &str) -> Result<Wkt, String> {
        let mut p = Parser { s: s.trim().as_bytes(), at: 0 };
        let node = p.node()?;
        p.skip_space();
        if p.at < p.s.len() {
            return Err(format!("unexpected text after the WKT at character {}", p.at));
        }
        Ok(node)
    }

    fn keyword(&self) -> &str {
        match self {
            Wkt::Node(k, _) => k,
            _ => "",
        }
    }

    fn children(&self) -> &[Wkt] {
        match self {
            Wkt::Node(_, c) => c,
            _ => &[],
        }
    }

    /// The node's name (its first, quoted argument).
    fn name(&self) -> &str {
        match self.children().first() {
            Some(Wkt::Text(t)) => t,
            _ => "",
        }
    }

    /// The first direct child with one of the keywords.
    fn child(&self, keywords: &[&str]) -> Option<&Wkt> {
        self.children().iter().find(|c| keywords.iter().any(|k| c.keyword().eq_ignore_ascii_case(k)))
    }

    /// The first node anywhere below (or at) this one with one of the keywords.
    fn find(&self, keywords: &[&str]) -> Option<&Wkt> {
        if keywords.iter().any(|k| self.keyword().eq_ignore_ascii_case(k)) {
            return Some(self);
        }
        self.children().iter().find_map(|c| c.find(keywords))
    }

    /// `AUTHORITY["EPSG","4549"]` (WKT 1) or `ID["EPSG",4549]` (WKT 2) directly on this node.
    fn epsg(&self) -> Option<u32> {
        let id = self.child(&["AUTHORITY", "ID"])?;
        match id.children() {
            [Wkt::Text(auth), code, ..] if auth.eq_ignore_ascii_case("EPSG") => match code {
                Wkt::Text(t) => t.trim().parse().ok(),
                Wkt::Number(n) if *n >= 0.0 => Some(*n as u32),
                _ => None,
            },
            _ => None,
        }
    }

    /// A projection parameter by any of its names (ESRI, OGC and WKT 2 spell them differently).
    fn parameter(&self, names: &[&str]) -> Option<f64> {
        let mut found = None;
        self.visit(&mut |n| {
            if found.is_none()
                && n.keyword().eq_ignore_ascii_case("PARAMETER")
                && names.iter().any(|want| normalise(n.name()) == normalise(want))
            {
                found = n.children().iter().find_map(|c| if let Wkt::Number(v) = c { Some(*v) } else { None });
            }
        });
        found
    }

    fn visit(&self, f: &mut impl FnMut(&Wkt)) {
        f(self);
        for c in self.children() {
            c.visit(f);
        }
    }
}

fn normalise(s: &str) -> String {
    s.chars().filter(char::is_ascii_alphanumeric).collect::<String>().to_ascii_lowercase()
}

struct Parser<'a> {
    s: &'a [u8],
    at: usize,
}

impl Parser<'_> {
    fn skip_space(&mut self) {
        while self.at < self.s.len() && self.s[self.at].is_ascii_whitespace() {
            self.at += 1;
        }
    }

    fn node(&mut self) -> Result<Wkt, String> {
        self.skip_space();
        let start = self.at;
        while self.at < self.s.len() && (self.s[self.at].is_ascii_alphanumeric() || self.s[self.at] == b'_') {
            self.at += 1;
        }
        let keyword = String::from_utf8_lossy(&self.s[start..self.at]).into_owned();
        self.skip_space();
        if keyword.is_empty() || !matches!(self.s.get(self.at), Some(b'[' | b'(')) {
            return Err(format!("expected a WKT keyword and '[' at character {start}"));
        }
        self.at += 1;
        let mut args = Vec::new();
        loop {
            self.skip_space();
            match self.s.get(self.at) {
                Some(b']' | b')') => {
                    self.at += 1;
                    return Ok(Wkt::Node(keyword, args));
                }
                Some(b',') => self.at += 1,
                Some(b'"') => args.push(self.text()?),
                Some(c) if c.is_ascii_digit() || *c == b'-' || *c == b'+' || *c == b'.' => args.push(self.number()?),
                Some(_) => args.push(self.node()?),
                None => return Err("the WKT ends before its brackets close".into()),
            }
        }
    }

    fn text(&mut self) -> Result<Wkt, String> {
        self.at += 1;
        let start = self.at;
        while self.at < self.s.len() {
            // WKT escapes a quote by doubling it.
            if self.s[self.at] == b'"' && self.s.get(self.at + 1) != Some(&b'"') {
                let t = String::from_utf8_lossy(&self.s[start..self.at]).replace("\"\"", "\"");
                self.at += 1;
                return Ok(Wkt::Text(t));
            }
            self.at += if self.s[self.at] == b'"' { 2 } else { 1 };
        }
        Err("a quoted WKT name never ends".into())
    }

    fn number(&mut self) -> Result<Wkt, String> {
        let start = self.at;
        while self.at < self.s.len() && (self.s[self.at].is_ascii_alphanumeric() || b"+-.".contains(&self.s[self.at])) {
            self.at += 1;
        }
        let t = String::from_utf8_lossy(&self.s[start..self.at]);
        t.parse().map(Wkt::Number).map_err(|_| format!("'{t}' is not a number (character {start})"))
    }
}

/// The EPSG code of a WKT definition: its own authority code, else recognised from its datum and
/// projection parameters. `Err` says what the definition is, for the refusal.
pub fn epsg_of_wkt(wkt: &str) -> Result<u32, String> {
    let root = Wkt::parse(wkt).map_err(|e| format!("the coordinate system definition cannot be read: {e}"))?;
    if let Some(code) = root.epsg() {
        return Ok(code);
    }
    let projected = root.keyword().to_ascii_uppercase().starts_with("PROJ");
    let geographic = root.find(&["GEOGCS", "GEOGCRS", "BASEGEOGCRS", "GEODCRS", "BASEGEODCRS"]);
    let datum = geographic.and_then(|g| g.find(&["DATUM"])).map(|d| normalise(d.name())).unwrap_or_default();
    let cgcs2000 = datum.contains("china2000") || datum.contains("cgcs2000") || datum.contains("chinageodetic");
    let wgs84 = datum.contains("wgs1984") || datum.contains("wgs84") || datum == "worldgeodeticsystem1984";
    let unknown = || format!("the coordinate system '{}' is not one greenledger recognises", root.name());
    if !projected {
        return match (wgs84, cgcs2000) {
            (true, _) => Ok(WGS84),
            (_, true) => Ok(CGCS2000),
            _ => Err(unknown()),
        };
    }
    let method = root.find(&["PROJECTION", "METHOD"]).map(|m| normalise(m.name())).unwrap_or_default();
    let name = normalise(root.name());
    if method.contains("mercatorauxiliarysphere") || method.contains("pseudomercator") || name.contains("webmercator") {
        return Ok(WEB_MERCATOR);
    }
    let transverse = method.contains("gausskruger") || method.contains("transversemercator");
    let central = root.parameter(&["central_meridian", "Longitude of natural origin", "longitude_of_center"]);
    let easting = root.parameter(&["false_easting", "False easting"]).unwrap_or(0.0);
    let scale = root.parameter(&["scale_factor", "Scale factor at natural origin"]).unwrap_or(1.0);
    match (cgcs2000 && transverse && (scale - 1.0).abs() < 1e-9, central) {
        (true, Some(cm)) => gauss_kruger_zone(cm, easting, !name.contains("6degree")).ok_or_else(unknown),
        _ => Err(unknown()),
    }
}

/// The EPSG code of a CGCS2000 Gauss-Krüger zone from its central meridian and false easting:
/// 4491-4501 (6° zones 13-23, zone number in the easting), 4502-4512 (6°, CM 75E-135E), 4513-4533
/// (3° zones 25-45, zone number in the easting), 4534-4554 (3°, CM 75E-135E). A central meridian
/// that is on both grids with a plain 500 km easting is the same projection either way; `prefer_3`
/// only picks which of the two identical codes to report.
pub fn gauss_kruger_zone(central_meridian: f64, false_easting: f64, prefer_3: bool) -> Option<u32> {
    let cm = central_meridian.round();
    if (central_meridian - cm).abs() > 1e-9 || !(75.0..=135.0).contains(&cm) {
        return None;
    }
    let cm = cm as u32;
    let on_3 = cm.is_multiple_of(3);
    let on_6 = (cm - 75).is_multiple_of(6);
    let zone_3 = cm / 3;
    let zone_6 = (cm + 3) / 6;
    if (false_easting - 500_000.0).abs() < 1e-6 {
        return if on_3 && (prefer_3 || !on_6) {
            Some(4534 + (cm - 75) / 3)
        } else if on_6 {
            Some(4502 + (cm - 75) / 6)
        } else {
            None
        };
    }
    if on_3 && (false_easting - (f64::from(zone_3) * 1e6 + 500_000.0)).abs() < 1e-6 {
        return Some(4513 + zone_3 - 25);
    }
    if on_6 && (false_easting - (f64::from(zone_6) * 1e6 + 500_000.0)).abs() < 1e-6 {
        return Some(4491 + zone_6 - 13);
    }
    None
}

/// `EPSG:4549`, `epsg:4549`, `urn:ogc:def:crs:EPSG::4549`, `http://www.opengis.net/def/crs/EPSG/0/4549`,
/// or `CRS84` / `urn:ogc:def:crs:OGC:1.3:CRS84` (WGS 84).
pub fn parse_crs_name(s: &str) -> Result<u32, String> {
    let t = s.trim();
    let upper = t.to_ascii_uppercase();
    if upper.ends_with("CRS84") {
        return Ok(WGS84);
    }
    let code = if upper.contains("EPSG") {
        upper.rsplit([':', '/']).find(|p| !p.is_empty()).and_then(|c| c.parse::<u32>().ok())
    } else {
        None
    };
    code.filter(|c| *c > 0).ok_or_else(|| format!("'{t}' is not a coordinate system name like EPSG:4549"))
}

#[cfg(test)]
mod tests {
    use super::*;

    const ESRI_GK_120: &str = r#"PROJCS["CGCS2000_3_Degree_GK_CM_120E",GEOGCS["GCS_China_Geodetic_Coordinate_System_2000",DATUM["D_China_2000",SPHEROID["CGCS2000",6378137.0,298.257222101]],PRIMEM["Greenwich",0.0],UNIT["Degree",0.0174532925199433]],PROJECTION["Gauss_Kruger"],PARAMETER["False_Easting",500000.0],PARAMETER["False_Northing",0.0],PARAMETER["Central_Meridian",120.0],PARAMETER["Scale_Factor",1.0],PARAMETER["Latitude_Of_Origin",0.0],UNIT["Meter",1.0]]"#;

    #[test]
    fn an_esri_prj_of_a_gauss_kruger_zone_is_recognised_by_its_parameters() {
        assert_eq!(epsg_of_wkt(ESRI_GK_120), Ok(4549));
        let zone_40 = ESRI_GK_120.replace("500000.0", "40500000.0").replace("CM_120E", "Zone_40");
        assert_eq!(epsg_of_wkt(&zone_40), Ok(4528));
        let six = ESRI_GK_120.replace("3_Degree", "6_Degree").replace("120.0", "117.0");
        assert_eq!(epsg_of_wkt(&six), Ok(4509));
    }

    #[test]
    fn zones_match_the_epsg_registry() {
        assert_eq!(gauss_kruger_zone(75.0, 500_000.0, true), Some(4534));
        assert_eq!(gauss_kruger_zone(135.0, 500_000.0, true), Some(4554));
        assert_eq!(gauss_kruger_zone(117.0, 39_500_000.0, true), Some(4527));
        assert_eq!(gauss_kruger_zone(75.0, 13_500_000.0, true), Some(4491));
        assert_eq!(gauss_kruger_zone(135.0, 23_500_000.0, true), Some(4501));
        assert_eq!(gauss_kruger_zone(81.0, 500_000.0, false), Some(4503));
        assert_eq!(gauss_kruger_zone(120.5, 500_000.0, true), None);
        assert_eq!(gauss_kruger_zone(120.0, 300_000.0, true), None);
    }

    #[test]
    fn authority_codes_win_and_geographic_systems_are_told_apart() {
        let ogc = r#"PROJCS["CGCS2000 / 3-degree Gauss-Kruger CM 120E",GEOGCS["China Geodetic Coordinate System 2000",DATUM["China_2000",SPHEROID["CGCS2000",6378137,298.257222101]]],PROJECTION["Transverse_Mercator"],AUTHORITY["EPSG","4549"]]"#;
        assert_eq!(epsg_of_wkt(ogc), Ok(4549));
        let wkt2 = r#"GEOGCRS["China Geodetic Coordinate System 2000",DATUM["China 2000",ELLIPSOID["CGCS2000",6378137,298.257222101]],ID["EPSG",4490]]"#;
        assert_eq!(epsg_of_wkt(wkt2), Ok(4490));
        let esri_wgs = r#"GEOGCS["GCS_WGS_1984",DATUM["D_WGS_1984",SPHEROID["WGS_1984",6378137.0,298.257223563]],PRIMEM["Greenwich",0.0],UNIT["Degree",0.0174532925199433]]"#;
        assert_eq!(epsg_of_wkt(esri_wgs), Ok(4326));
        let esri_cgcs = r#"GEOGCS["GCS_China_Geodetic_Coordinate_System_2000",DATUM["D_China_2000",SPHEROID["CGCS2000",6378137.0,298.257222101]],PRIMEM["Greenwich",0.0],UNIT["Degree",0.0174532925199433]]"#;
        assert_eq!(epsg_of_wkt(esri_cgcs), Ok(4490));
        let merc = r#"PROJCS["WGS_1984_Web_Mercator_Auxiliary_Sphere",GEOGCS["GCS_WGS_1984",DATUM["D_WGS_1984",SPHEROID["WGS_1984",6378137.0,298.257223563]]],PROJECTION["Mercator_Auxiliary_Sphere"],PARAMETER["Central_Meridian",0.0]]"#;
        assert_eq!(epsg_of_wkt(merc), Ok(3857));
    }

    #[test]
    fn unknown_systems_and_broken_wkt_are_refused_with_their_name() {
        let xian = ESRI_GK_120.replace("D_China_2000", "D_Xian_1980").replace("CGCS2000_3", "Xian_1980_3");
        assert!(epsg_of_wkt(&xian).unwrap_err().contains("Xian_1980_3_Degree_GK_CM_120E"));
        assert!(epsg_of_wkt("PROJCS[\"x\",").unwrap_err().contains("cannot be read"));
    }

    #[test]
    fn crs_names_in_their_usual_spellings() {
        assert_eq!(parse_crs_name("EPSG:4549"), Ok(4549));
        assert_eq!(parse_crs_name("urn:ogc:def:crs:EPSG::4490"), Ok(4490));
        assert_eq!(parse_crs_name("http://www.opengis.net/def/crs/EPSG/0/3857"), Ok(3857));
        assert_eq!(parse_crs_name("urn:ogc:def:crs:OGC:1.3:CRS84"), Ok(4326));
        assert!(parse_crs_name("4549").is_err());
    }
}
