//! Well-known text (OGC Simple Features) of one geometry, as greenledger's CSV export and PostGIS
//! (`ST_AsText`) write it, read into GeoJSON so the create parser checks it like any geometry.
//! `SRID=4326;` (EWKT) is accepted; Z and M values are read and left to the parser, which drops them.

use serde_json::{Value, json};

/// A parenthesised list, or a position's numbers.
#[derive(Debug, Clone, PartialEq)]
enum Node {
    List(Vec<Node>),
    Position(Vec<f64>),
}

/// How many brackets deep each type's positions are, GeoJSON's name for it.
const TYPES: &[(&str, usize, &str)] = &[
    ("POINT", 1, "Point"),
    ("LINESTRING", 1, "LineString"),
    ("POLYGON", 2, "Polygon"),
    ("MULTIPOINT", 1, "MultiPoint"),
    ("MULTILINESTRING", 2, "MultiLineString"),
    ("MULTIPOLYGON", 3, "MultiPolygon"),
];

/// The GeoJSON geometry `text` describes.
pub fn to_geojson(text: &str) -> Result<Value, String> {
    let mut s = text.trim();
    if s.len() > 5 && s[..5].eq_ignore_ascii_case("SRID=") {
        let (srid, rest) = s[5..].split_once(';').ok_or("EWKT is written SRID=4326;POINT(...)")?;
        if srid.trim() != "4326" {
            return Err(format!("SRID={} is not WGS 84 longitude/latitude: write positions in SRID 4326", srid.trim()));
        }
        s = rest.trim();
    }
    let word: String = s.chars().take_while(|c| c.is_ascii_alphabetic()).collect();
    let upper = word.to_ascii_uppercase();
    let rest = s[word.len()..].trim_start();
    let (levels, name) = match TYPES.iter().find(|(w, ..)| *w == upper) {
        Some((_, depth, name)) => (*depth, *name),
        None if upper == "GEOMETRYCOLLECTION" => {
            return Err("a GEOMETRYCOLLECTION is not a task: a task is one point, line or area".into());
        }
        None => {
            let shown: String = s.chars().take(20).collect();
            return Err(format!(
                "'{shown}' is not WKT: write POINT, LINESTRING, POLYGON or their MULTI forms, e.g. POINT(119.95 30.85)"
            ));
        }
    };
    // A dimension word (Z, M, ZM) may sit between the type and its positions.
    let dimension: String = rest.chars().take_while(|c| c.is_ascii_alphabetic()).collect();
    let rest = match dimension.to_ascii_uppercase().as_str() {
        "Z" | "M" | "ZM" => rest[dimension.len()..].trim_start(),
        _ => rest,
    };
    if rest.eq_ignore_ascii_case("EMPTY") {
        return Err(format!("{upper} EMPTY has no position: a task needs one"));
    }
    let mut chars = rest.chars().peekable();
    let node = list(&mut chars)?;
    if chars.any(|c| !c.is_whitespace()) {
        return Err(format!("unexpected text after the closing bracket of the {upper}"));
    }
    let node = if upper == "MULTIPOINT" { bare_points(node) } else { node };
    let coordinates = coordinates(&node, levels).ok_or_else(|| {
        let example = match (name, levels) {
            ("Point", _) => "(x y)",
            (_, 1) => "(x y, x y, ...)",
            (_, 2) => "((x y, x y, ...), ...)",
            _ => "(((x y, ...)), ...)",
        };
        format!("the brackets of a {upper} do not nest as {upper}{example}")
    })?;
    let coordinates = match (name, &coordinates) {
        ("Point", Value::Array(one)) if one.len() == 1 => one[0].clone(),
        ("Point", _) => return Err("a POINT has one position: POINT(x y)".into()),
        _ => coordinates,
    };
    Ok(json!({"type": name, "coordinates": coordinates}))
}

type Chars<'a> = std::iter::Peekable<std::str::Chars<'a>>;

fn skip_space(chars: &mut Chars<'_>) {
    while chars.peek().is_some_and(|c| c.is_whitespace()) {
        chars.next();
    }
}

/// A bracketed, comma-separated list of lists or positions.
fn list(chars: &mut Chars<'_>) -> Result<Node, String> {
    skip_space(chars);
    if chars.next() != Some('(') {
        return Err("expected '(' before the positions".into());
    }
    let mut items = Vec::new();
    loop {
        skip_space(chars);
        let item = if chars.peek() == Some(&'(') { list(chars)? } else { position(chars)? };
        items.push(item);
        skip_space(chars);
        match chars.next() {
            Some(',') => continue,
            Some(')') => return Ok(Node::List(items)),
            Some(c) => return Err(format!("unexpected '{c}' in the positions")),
            None => return Err("a '(' is never closed".into()),
        }
    }
}

/// Numbers separated by spaces, up to a comma or a closing bracket.
fn position(chars: &mut Chars<'_>) -> Result<Node, String> {
    let mut text = String::new();
    while let Some(&c) = chars.peek() {
        if c == ',' || c == ')' {
            break;
        }
        text.push(c);
        chars.next();
    }
    let numbers: Result<Vec<f64>, String> = text
        .split_whitespace()
        .map(|n| n.parse::<f64>().ok().filter(|x| x.is_finite()).ok_or_else(|| format!("'{n}' is not a number")))
        .collect();
    let numbers = numbers?;
    if numbers.len() < 2 {
        return Err(format!("'{}' is not a position: write longitude and latitude, e.g. 119.95 30.85", text.trim()));
    }
    Ok(Node::Position(numbers))
}

/// `MULTIPOINT((1 2), (3 4))` is also written `MULTIPOINT(1 2, 3 4)`: both as the second.
fn bare_points(node: Node) -> Node {
    match node {
        Node::List(items) => Node::List(
            items
                .into_iter()
                .map(|item| match item {
                    Node::List(mut inner) if inner.len() == 1 => inner.remove(0),
                    other => other,
                })
                .collect(),
        ),
        other => other,
    }
}

/// GeoJSON coordinates of `node`, which must nest lists `levels` deep above its positions.
fn coordinates(node: &Node, levels: usize) -> Option<Value> {
    match (node, levels) {
        (Node::Position(numbers), 0) => Some(json!(numbers)),
        (Node::List(items), 1..) => {
            items.iter().map(|item| coordinates(item, levels - 1)).collect::<Option<Vec<Value>>>().map(Value::Array)
        }
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn what_postgis_writes_reads_back_as_geojson() {
        assert_eq!(
            to_geojson("POINT(119.95 30.85)").unwrap(),
            json!({"type": "Point", "coordinates": [119.95, 30.85]})
        );
        assert_eq!(
            to_geojson("LINESTRING(119.9 30.8,120.0 30.9)").unwrap(),
            json!({"type": "LineString", "coordinates": [[119.9, 30.8], [120.0, 30.9]]})
        );
        assert_eq!(
            to_geojson("polygon ((1 2, 3 4, 5 6, 1 2))").unwrap(),
            json!({"type": "Polygon", "coordinates": [[[1.0, 2.0], [3.0, 4.0], [5.0, 6.0], [1.0, 2.0]]]})
        );
        assert_eq!(
            to_geojson("SRID=4326;MULTIPOLYGON(((1 2,3 4,5 6,1 2)),((7 8,9 10,11 12,7 8)))").unwrap()["coordinates"]
                .as_array()
                .unwrap()
                .len(),
            2
        );
        assert_eq!(to_geojson("POINT Z (1 2 3)").unwrap()["coordinates"], json!([1.0, 2.0, 3.0]));
    }

    #[test]
    fn multipoints_in_either_form() {
        let want = json!({"type": "MultiPoint", "coordinates": [[1.0, 2.0], [3.0, 4.0]]});
        assert_eq!(to_geojson("MULTIPOINT((1 2),(3 4))").unwrap(), want);
        assert_eq!(to_geojson("MULTIPOINT(1 2, 3 4)").unwrap(), want);
    }

    #[test]
    fn what_is_wrong_is_said() {
        assert!(to_geojson("CIRCLE(1 2, 3)").unwrap_err().contains("is not WKT"));
        assert!(to_geojson("POINT EMPTY").unwrap_err().contains("has no position"));
        assert!(to_geojson("POINT(1 2").unwrap_err().contains("never closed"));
        assert!(to_geojson("POINT(1 north)").unwrap_err().contains("'north' is not a number"));
        assert!(to_geojson("POLYGON((1 2, 3 4))x").unwrap_err().contains("after the closing bracket"));
        assert!(to_geojson("POLYGON(1 2, 3 4)").unwrap_err().contains("do not nest"));
        assert!(to_geojson("SRID=4549;POINT(1 2)").unwrap_err().contains("not WGS 84"));
        assert!(to_geojson("GEOMETRYCOLLECTION(POINT(1 2))").unwrap_err().contains("one point, line or area"));
    }
}
