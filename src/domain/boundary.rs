//! Features of a boundary file as townships: which columns hold the code, name and kind, and which
//! features cannot be a township (not an area, no code, a code twice). Every refusal is collected,
//! each pointing at its feature and field (`/file/features/3/properties/XZQDM`).

use geo::{Geometry, MultiPolygon};
use serde_json::{Map, Value};

use super::chinacoords::Datum;
use super::crs;
use super::{Code, FieldError, Message};

/// One feature of a boundary file, in the file's own coordinates.
#[derive(Debug, Clone, PartialEq)]
pub struct Feature {
    /// Position in the file, from 0.
    pub index: usize,
    pub geometry: Option<Geometry<f64>>,
    pub properties: Map<String, Value>,
}

/// The columns a person named; unnamed ones are looked for under their usual names.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Columns {
    pub code: Option<String>,
    pub name: Option<String>,
    pub kind: Option<String>,
}

/// Usual column names in Chinese administrative-division data (行政区代码/名称 and pinyin initials).
const CODE_FIELDS: &[&str] =
    &["code", "xzqdm", "xzdm", "xzqhdm", "xjqydm", "adcode", "town_code", "乡镇代码", "代码", "dm"];
const NAME_FIELDS: &[&str] = &["name", "xzqmc", "xzmc", "xjqymc", "town_name", "乡镇名称", "名称", "mc"];
const KIND_FIELDS: &[&str] = &["kind", "类型"];

/// What was read, for the report: the file, its format and how its text encoding was decided.
#[derive(Debug, Clone, Default, serde::Serialize, utoipa::ToSchema)]
pub struct Source {
    pub file: String,
    pub format: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub encoding: Option<String>,
}

/// The fields of the upload form.
const FORM_FIELDS: &[&str] =
    &["file", "code_field", "name_field", "kind_field", "crs", "coords", "encoding", "layer", "apply"];

/// What a person asks of an import, from the upload form or the command line.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Request {
    pub columns: Columns,
    /// The EPSG code of the coordinates, overriding (or supplying) the file's own.
    pub crs: Option<u32>,
    pub datum: Datum,
    pub encoding: Option<String>,
    pub layer: Option<String>,
    /// Store the result; otherwise a dry run.
    pub apply: bool,
}

impl Request {
    /// Form fields of the upload: `code_field`, `name_field`, `kind_field`, `crs`, `coords`,
    /// `encoding`, `layer`, `apply`. Empty values count as absent.
    pub fn parse(pairs: &[(String, String)]) -> Result<Request, Vec<FieldError>> {
        let mut r = Request::default();
        let mut errors = Vec::new();
        for (key, value) in pairs.iter().filter(|(_, v)| !v.trim().is_empty()) {
            let v = Some(value.trim().to_owned());
            match key.as_str() {
                "code_field" => r.columns.code = v,
                "name_field" => r.columns.name = v,
                "kind_field" => r.columns.kind = v,
                "encoding" => r.encoding = v,
                "layer" => r.layer = v,
                "crs" => match crs::parse_crs_name(value) {
                    Ok(c) => r.crs = Some(c),
                    Err(e) => errors.push(FieldError::new("/crs", Code::UnknownCrs, e).with("got", value.trim())),
                },
                "coords" => match Datum::parse(value) {
                    Ok(d) => r.datum = d,
                    Err(e) => errors.push(
                        FieldError::new("/coords", Code::UnknownValue, e)
                            .with("got", value.trim())
                            .with("allowed", Datum::NAMES.to_vec()),
                    ),
                },
                "apply" => match value.trim() {
                    "true" | "1" | "yes" => r.apply = true,
                    "false" | "0" | "no" => r.apply = false,
                    other => errors.push(
                        FieldError::new("/apply", Code::Format, format!("'{other}' is not true or false"))
                            .with("expected", "boolean")
                            .with("got", other),
                    ),
                },
                other => errors.push(
                    FieldError::new(
                        format!("/{other}"),
                        Code::UnknownField,
                        format!("unknown field '{other}'; the form takes file, code_field, name_field, kind_field, crs, coords, encoding, layer and apply"),
                    )
                    .with("name", other)
                    .with("allowed", FORM_FIELDS.to_vec()),
                ),
            }
        }
        if errors.is_empty() { Ok(r) } else { Err(errors) }
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct Township {
    pub index: usize,
    pub code: String,
    pub name: String,
    pub kind: &'static str,
    pub boundary: MultiPolygon<f64>,
}

/// The columns to read, chosen among `fields`; a named column that is missing, or no usual name
/// found, is refused listing the columns the file has.
pub fn choose_columns(fields: &[String], named: &Columns) -> Result<Columns, Vec<FieldError>> {
    let mut errors = Vec::new();
    let mut pick = |given: &Option<String>, usual: &[&str], option: &str, required: bool| -> Option<String> {
        let found = match given {
            Some(g) => fields.iter().find(|f| f.eq_ignore_ascii_case(g)).cloned(),
            None => usual.iter().find_map(|u| fields.iter().find(|f| f.to_lowercase() == *u).cloned()),
        };
        if found.is_none() && (required || given.is_some()) {
            let what = match given {
                Some(g) => format!("the file has no column '{g}'"),
                None => format!("no column looks like it ({})", usual.join(", ")),
            };
            let mut e = FieldError::new(
                format!("/{}", option.trim_start_matches("--").replace('-', "_")),
                Code::NoColumn,
                format!("{what}; the file's columns are {}: name the right one with {option}", fields.join(", ")),
            )
            .with("columns", fields.to_vec());
            if let Some(g) = given {
                e = e.with("got", g.as_str());
            }
            errors.push(e);
        }
        found
    };
    let columns = Columns {
        code: pick(&named.code, CODE_FIELDS, "--code-field", true),
        name: pick(&named.name, NAME_FIELDS, "--name-field", true),
        kind: pick(&named.kind, KIND_FIELDS, "--kind-field", false),
    };
    if errors.is_empty() { Ok(columns) } else { Err(errors) }
}

/// A kind as written (`town`, 镇, 街道, ...), or else read from the name's suffix.
pub fn kind_of(written: Option<&str>, name: &str) -> &'static str {
    match written.map(str::trim) {
        Some("town" | "镇" | "乡") => "town",
        Some("subdistrict" | "街道") => "subdistrict",
        Some("development_zone" | "开发区" | "园区") => "development_zone",
        _ if name.ends_with("街道") || name.ends_with("街道办事处") => "subdistrict",
        _ if ["开发区", "园区", "新区", "高新区"].iter().any(|s| name.contains(s)) => "development_zone",
        _ => "town",
    }
}

fn text_of(v: &Value) -> Option<String> {
    match v {
        Value::String(s) if !s.trim().is_empty() => Some(s.trim().to_owned()),
        // DBF and GeoPackage store codes as numbers as often as text; 12 digits are exact in f64.
        Value::Number(n) => n
            .as_u64()
            .map(|u| u.to_string())
            .or_else(|| n.as_f64().filter(|f| f.fract() == 0.0 && *f >= 0.0 && *f < 1e15).map(|f| format!("{f:.0}"))),
        _ => None,
    }
}

/// The area of a feature, or why it is not one.
fn area(g: Option<&Geometry<f64>>) -> Result<MultiPolygon<f64>, Message> {
    let not_area = |what: &str, kind: &str| {
        let detail = format!("is {what}: a township boundary must be an area (Polygon or MultiPolygon)");
        Err(Message::new(Code::NotAnArea, detail).with("kind", kind))
    };
    match g {
        None => Err(Message::new(Code::Required, "has no geometry")),
        Some(Geometry::Polygon(p)) => Ok(MultiPolygon(vec![p.clone()])),
        Some(Geometry::MultiPolygon(m)) if m.0.is_empty() => {
            Err(Message::new(Code::EmptyGeometry, "has an empty geometry"))
        }
        Some(Geometry::MultiPolygon(m)) => Ok(m.clone()),
        Some(Geometry::Rect(r)) => Ok(MultiPolygon(vec![r.to_polygon()])),
        Some(Geometry::Point(_) | Geometry::MultiPoint(_)) => not_area("a point", "Point"),
        Some(Geometry::Line(_) | Geometry::LineString(_) | Geometry::MultiLineString(_)) => {
            not_area("a line", "LineString")
        }
        Some(_) => not_area("a mixed geometry collection", "GeometryCollection"),
    }
}

/// Why feature `index`'s code (if it has one) is not a township code.
fn bad_code(code: Option<&str>, index: usize) -> Message {
    let got = code.map_or("nothing".into(), |c| format!("'{c}'"));
    let detail = format!("feature {index}: a township code is 9 or 12 digits, got {got}");
    match code {
        Some(c) => Message::new(Code::Format, detail).with("expected", "township_code").with("got", c),
        None => Message::new(Code::Required, detail),
    }
}

/// Why feature `index`'s name (if it has one) cannot be a township's, if it cannot.
fn bad_name(name: Option<&str>, index: usize) -> Option<Message> {
    match name {
        Some(n) if n.chars().count() <= 50 => None,
        Some(n) => Some(
            Message::new(Code::TooLong, format!("feature {index}: the name is longer than 50 characters"))
                .with("max", 50)
                .with("got", n.chars().count()),
        ),
        None => Some(Message::new(Code::Required, format!("feature {index}: the township has no name"))),
    }
}

/// Every feature as a township, or every reason some cannot be one.
pub fn townships(features: &[Feature], columns: &Columns) -> Result<Vec<Township>, Vec<FieldError>> {
    let mut errors = Vec::new();
    let mut out: Vec<Township> = Vec::with_capacity(features.len());
    for f in features {
        let at = |field: &str| format!("/file/features/{}/properties/{field}", f.index);
        let get = |c: &Option<String>| c.as_ref().and_then(|c| f.properties.get(c)).and_then(text_of);
        let (code_field, name_field) =
            (columns.code.clone().unwrap_or_default(), columns.name.clone().unwrap_or_default());
        let code = get(&columns.code);
        let name = get(&columns.name);
        let valid_code = code.as_deref().filter(|c| matches!(c.len(), 9 | 12) && c.bytes().all(|b| b.is_ascii_digit()));
        if valid_code.is_none() {
            errors.push(bad_code(code.as_deref(), f.index).at(at(&code_field)));
        }
        if let Some(why) = bad_name(name.as_deref(), f.index) {
            errors.push(why.at(at(&name_field)));
        }
        let boundary = area(f.geometry.as_ref()).map_err(|e| {
            let detail = format!("feature {} {e}", f.index);
            errors.push(Message { detail, ..e }.at(format!("/file/features/{}/geometry", f.index)))
        });
        if let Some(earlier) = out.iter().find(|t| Some(t.code.as_str()) == valid_code) {
            let detail = format!(
                "feature {}: the code {} is also feature {}'s ({}): township codes must be unique",
                f.index, earlier.code, earlier.index, earlier.name
            );
            errors.push(
                FieldError::new(at(&code_field), Code::Duplicate, detail)
                    .with("got", earlier.code.as_str())
                    .with("index", earlier.index)
                    .with("name", earlier.name.as_str()),
            );
        }
        if let (Some(code), Some(name), Ok(boundary)) = (valid_code, name, boundary) {
            let written = columns.kind.as_ref().and_then(|k| f.properties.get(k)).and_then(Value::as_str);
            let kind = kind_of(written, &name);
            out.push(Township { index: f.index, code: code.to_owned(), name, kind, boundary });
        }
    }
    if features.is_empty() {
        errors.push(FieldError::new("/file", Code::NoFeatures, "the file holds no features"));
    }
    if errors.is_empty() { Ok(out) } else { Err(errors) }
}

#[cfg(test)]
mod tests {
    use super::*;
    use geo::{LineString, Point, Polygon, coord};
    use serde_json::json;

    fn square() -> Geometry<f64> {
        Geometry::Polygon(Polygon::new(
            LineString(vec![
                coord! {x: 0., y: 0.},
                coord! {x: 1., y: 0.},
                coord! {x: 1., y: 1.},
                coord! {x: 0., y: 0.},
            ]),
            vec![],
        ))
    }

    fn feature(index: usize, geometry: Geometry<f64>, props: Value) -> Feature {
        Feature { index, geometry: Some(geometry), properties: props.as_object().unwrap().clone() }
    }

    #[test]
    fn usual_column_names_are_found_and_a_missing_one_lists_the_columns() {
        let fields = vec!["XZQDM".to_owned(), "XZQMC".to_owned(), "AREA".to_owned()];
        let c = choose_columns(&fields, &Columns::default()).unwrap();
        assert_eq!((c.code.as_deref(), c.name.as_deref(), c.kind), (Some("XZQDM"), Some("XZQMC"), None));
        let e = choose_columns(&fields, &Columns { code: Some("DM".into()), ..Columns::default() }).unwrap_err();
        assert_eq!(e[0].pointer, "/code_field");
        assert!(e[0].detail.contains("XZQDM, XZQMC, AREA"), "{}", e[0].detail);
    }

    #[test]
    fn form_fields_make_a_request_and_unknown_ones_are_named() {
        let pairs = |p: &[(&str, &str)]| p.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect::<Vec<_>>();
        let r =
            Request::parse(&pairs(&[("crs", "EPSG:4549"), ("code_field", "XZQDM"), ("apply", "true"), ("layer", "")]))
                .unwrap();
        assert_eq!((r.crs, r.columns.code.as_deref(), r.apply, r.layer), (Some(4549), Some("XZQDM"), true, None));
        let e = Request::parse(&pairs(&[("crs", "4549"), ("coords", "mars"), ("colour", "red")])).unwrap_err();
        let pointers: Vec<_> = e.iter().map(|e| e.pointer.as_str()).collect();
        assert_eq!(pointers, ["/crs", "/coords", "/colour"]);
    }

    #[test]
    fn kinds_come_from_the_column_or_the_name() {
        assert_eq!(kind_of(None, "城东街道"), "subdistrict");
        assert_eq!(kind_of(None, "清源经济开发区"), "development_zone");
        assert_eq!(kind_of(None, "青溪镇"), "town");
        assert_eq!(kind_of(Some("街道"), "青溪"), "subdistrict");
    }

    #[test]
    fn points_lines_bad_codes_and_duplicates_are_each_refused_where_they_are() {
        let columns = Columns { code: Some("code".into()), name: Some("name".into()), kind: None };
        let features = vec![
            feature(0, square(), json!({"code": 330599101.0, "name": "青溪镇"})),
            feature(1, Geometry::Point(Point::new(0., 0.)), json!({"code": "330599102", "name": "白鹭镇"})),
            feature(
                2,
                Geometry::LineString(LineString(vec![coord! {x: 0., y: 0.}, coord! {x: 1., y: 1.}])),
                json!({"code": "330599103", "name": "临湖镇"}),
            ),
            feature(3, square(), json!({"code": "3305", "name": "石桥镇"})),
            feature(4, square(), json!({"code": "330599101", "name": "双塘镇"})),
        ];
        let e = townships(&features, &columns).unwrap_err();
        let pointers: Vec<_> = e.iter().map(|e| e.pointer.as_str()).collect();
        assert_eq!(
            pointers,
            [
                "/file/features/1/geometry",
                "/file/features/2/geometry",
                "/file/features/3/properties/code",
                "/file/features/4/properties/code"
            ]
        );
        assert!(e[0].detail.contains("is a point"));
        assert!(e[1].detail.contains("is a line"));
        assert!(e[3].detail.contains("also feature 0's (青溪镇)"), "{}", e[3].detail);
        let ok = townships(&features[..1], &columns).unwrap();
        assert_eq!((ok[0].code.as_str(), ok[0].kind), ("330599101", "town"));
    }
}
