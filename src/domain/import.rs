//! Bulk import: a GeoJSON FeatureCollection read feature by feature with the same rules as a single
//! create, so one bad feature is reported by its index and pointer instead of failing the lot.

use chrono::{DateTime, Utc};
use serde::Serialize;
use serde_json::Value;

use super::chinacoords::Datum;
use super::fields::wrong_type;
use super::messages::{self, Lang};
use super::task::NewTask;
use super::{Code, FieldError, Message};

/// Largest import accepted in one go.
pub const MAX_FEATURES: usize = 200_000;

/// What to do when some features are invalid.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Mode {
    /// Nothing is stored unless every feature is valid.
    #[default]
    All,
    /// The valid features are stored; the others are reported.
    Partial,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Options {
    pub mode: Mode,
    pub datum: Datum,
    /// `outside=accept`: features beyond the county's tolerance are stored (see `bounds`).
    pub accept_outside: bool,
}

impl Options {
    /// `mode=all|partial` and `coords=wgs84|gcj02|bd09` from a query string.
    pub fn from_query(pairs: &[(String, String)]) -> Result<Options, Vec<FieldError>> {
        let mut o = Options::default();
        let hint = "imports take mode=all|partial, coords=gcj02|bd09|wgs84 and outside=accept";
        let errors = super::filter::each_parameter(pairs, &["mode", "coords", "outside"], hint, |key, value| {
            match (key, value) {
                ("mode", "all") => o.mode = Mode::All,
                ("mode", "partial") => o.mode = Mode::Partial,
                ("mode", other) => {
                    let detail = format!(
                        "unknown mode '{other}': all (nothing is stored unless every feature is valid) or partial"
                    );
                    return Err(Message::new(Code::UnknownValue, detail)
                        .with("got", other)
                        .with("allowed", vec!["all", "partial"]));
                }
                ("outside", _) => o.accept_outside = super::bounds::accept_outside(value)?,
                _ => o.datum = super::bounds::datum(value)?,
            }
            Ok(())
        });
        if errors.is_empty() { Ok(o) } else { Err(errors) }
    }
}

/// Why one feature was not imported; pointers are into the whole document (`/features/3/...`).
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct Failure {
    pub index: usize,
    /// The first problem, as a sentence.
    pub error: String,
    pub errors: Vec<FieldError>,
}

impl Failure {
    pub fn new(index: usize, errors: Vec<FieldError>) -> Failure {
        let errors: Vec<FieldError> = errors
            .into_iter()
            .map(|e| {
                let pointer = format!("/features/{index}{}", e.pointer);
                e.moved(pointer)
            })
            .collect();
        let error = errors.first().map(|e| format!("{}: {}", e.pointer, e.detail)).unwrap_or_default();
        Failure { index, error, errors }
    }

    /// The failure worded in `lang` (in Chinese the first problem is named by feature and field,
    /// as pointers are not words).
    pub fn localized(&self, lang: Lang) -> Failure {
        let errors: Vec<FieldError> = self.errors.iter().map(|e| e.localized(lang)).collect();
        let error = match lang {
            Lang::En => self.error.clone(),
            Lang::Zh => {
                messages::summary(&format!("要素 {}", self.index), &self.errors[..self.errors.len().min(1)], lang)
            }
        };
        Failure { index: self.index, error, errors }
    }
}

/// The features of a FeatureCollection, each parsed into a task (in WGS 84) or its failure.
pub fn parse(doc: &Value, datum: Datum, now: DateTime<Utc>) -> Result<Vec<Result<NewTask, Failure>>, FieldError> {
    let Value::Object(obj) = doc else {
        return Err(wrong_type("feature_collection", "send a GeoJSON FeatureCollection", doc).at(""));
    };
    if obj.get("type").and_then(Value::as_str) != Some("FeatureCollection") {
        let detail = "send a GeoJSON FeatureCollection (\"type\": \"FeatureCollection\")";
        let got = obj.get("type").and_then(Value::as_str).unwrap_or("");
        return Err(FieldError::new("/type", Code::Format, detail)
            .with("expected", "feature_collection")
            .with("got", got));
    }
    let Some(Value::Array(features)) = obj.get("features") else {
        let detail = "a FeatureCollection needs a 'features' array";
        return Err(FieldError::new("/features", Code::MissingMember, detail).with("name", "features"));
    };
    if features.is_empty() {
        let detail = "the FeatureCollection has no features: nothing to import";
        return Err(FieldError::new("/features", Code::NoFeatures, detail));
    }
    if features.len() > MAX_FEATURES {
        return Err(FieldError::new(
            "/features",
            Code::TooMany,
            format!("{} features are more than {MAX_FEATURES} in one import: split the file", features.len()),
        )
        .with("max", MAX_FEATURES)
        .with("got", features.len()));
    }
    Ok(features
        .iter()
        .enumerate()
        .map(|(i, f)| {
            let mut task = NewTask::parse(f, now).map_err(|e| Failure::new(i, e))?;
            task.geometry = datum.geometry_to_wgs84(&task.geometry);
            Ok(task)
        })
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn collection(features: Vec<Value>) -> Value {
        json!({"type": "FeatureCollection", "features": features})
    }

    fn feature(props: Value) -> Value {
        json!({"type": "Feature", "geometry": {"type": "Point", "coordinates": [119.9, 30.8]}, "properties": props})
    }

    #[test]
    fn each_feature_is_checked_with_the_create_rules_and_failures_point_into_the_document() {
        let doc = collection(vec![
            feature(json!({"title": "ok", "category": "energy"})),
            feature(json!({"title": "bad", "category": "energy", "progress": 120})),
        ]);
        let parsed = parse(&doc, Datum::Wgs84, Utc::now()).unwrap();
        assert!(parsed[0].is_ok());
        let failure = parsed[1].as_ref().unwrap_err();
        assert_eq!(failure.index, 1);
        assert_eq!(failure.errors[0].pointer, "/features/1/properties/progress");
        assert!(failure.error.starts_with("/features/1/properties/progress: "));
    }

    #[test]
    fn gcj02_features_are_stored_in_wgs84() {
        let doc = collection(vec![feature(json!({"title": "ok", "category": "energy"}))]);
        let task = parse(&doc, Datum::Gcj02, Utc::now()).unwrap().remove(0).unwrap();
        let geo::Geometry::Point(p) = task.geometry.geometry() else { panic!() };
        assert!((p.x() - 119.9).abs() > 0.003, "moved by the GCJ-02 offset: {p:?}");
    }

    #[test]
    fn refuses_what_is_not_a_feature_collection() {
        assert_eq!(parse(&json!([]), Datum::Wgs84, Utc::now()).unwrap_err().pointer, "");
        assert_eq!(parse(&feature(json!({})), Datum::Wgs84, Utc::now()).unwrap_err().pointer, "/type");
        assert!(parse(&collection(vec![]), Datum::Wgs84, Utc::now()).unwrap_err().detail.contains("no features"));
    }

    #[test]
    fn options_read_mode_and_coords() {
        let q = |s: &str| form_urlencoded::parse(s.as_bytes()).into_owned().collect::<Vec<_>>();
        assert_eq!(
            Options::from_query(&q("mode=partial&coords=bd09")),
            Ok(Options { mode: Mode::Partial, datum: Datum::Bd09, accept_outside: false })
        );
        assert_eq!(Options::from_query(&q("mode=some")).unwrap_err()[0].pointer, "mode");
        assert_eq!(Options::from_query(&q("dry=1")).unwrap_err()[0].pointer, "dry");
    }
}
