//! A township as an administrator defines it.

use serde_json::Value;

use super::fields::{self, Props};
use super::geometry::{GeometryKind, TaskGeometry};
use super::{Code, FieldError};

pub const KINDS: &[(&str, &str)] =
    &[("town", "town"), ("subdistrict", "subdistrict"), ("development_zone", "development_zone")];

#[derive(Debug, Clone, PartialEq)]
pub struct TownshipInput {
    pub name: String,
    pub kind: &'static str,
    pub boundary: TaskGeometry,
}

impl TownshipInput {
    /// A Feature with `name` and `kind` properties and a Polygon or MultiPolygon boundary.
    pub fn parse(body: &Value) -> Result<TownshipInput, Vec<FieldError>> {
        let mut errors = Vec::new();
        if body.get("type").and_then(Value::as_str) != Some("Feature") {
            let got = body.get("type").and_then(Value::as_str).unwrap_or("");
            errors.push(
                FieldError::new("/type", Code::Format, "send a GeoJSON Feature")
                    .with("expected", "feature")
                    .with("got", got),
            );
            return Err(errors);
        }
        let boundary = match body.get("geometry") {
            Some(g) => match TaskGeometry::parse(g, "/geometry") {
                Ok(b) if matches!(b.kind(), GeometryKind::Polygon | GeometryKind::MultiPolygon) => Some(b),
                Ok(b) => {
                    errors.push(
                        FieldError::new(
                            "/geometry/type",
                            Code::NotAnArea,
                            format!("a township boundary is a Polygon or MultiPolygon, not a {}", b.kind().name()),
                        )
                        .with("kind", b.kind().name()),
                    );
                    None
                }
                Err(mut e) => {
                    errors.append(&mut e);
                    None
                }
            },
            None => {
                errors.push(FieldError::new("/geometry", Code::Required, "a township needs its boundary"));
                None
            }
        };
        let no_properties = Value::Object(Default::default());
        let mut p = match Props::object(body.get("properties").unwrap_or(&no_properties), "/properties") {
            Ok(p) => p,
            Err(mut e) => {
                errors.append(&mut e);
                return Err(errors);
            }
        };
        p.refuse_unknown(&["name", "kind"], &["code", "area_km2"]);
        let name = p.required("name", fields::text(50, false));
        let kind = p.required("kind", fields::one_of(KINDS));
        errors.append(&mut p.errors);
        match (name, kind, boundary) {
            (Some(name), Some(kind), Some(boundary)) if errors.is_empty() => Ok(TownshipInput { name, kind, boundary }),
            _ => Err(errors),
        }
    }
}
