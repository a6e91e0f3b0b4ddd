//! GeoJSON FeatureCollections. RFC 7946 is WGS 84 longitude/latitude; files exported from Chinese GIS
//! often still carry the 2008 `crs` member naming a projected system, which is honoured. A file
//! with neither whose coordinates cannot be longitude/latitude has an unnamed system and is refused.

use serde_json::Value;

use super::{CrsDecl, Feature, Layer};

pub fn read(name: &str, bytes: &[u8]) -> Result<Layer, String> {
    let doc: Value = serde_json::from_slice(bytes).map_err(|e| format!("it is not valid JSON: {e}"))?;
    if doc.get("type").and_then(Value::as_str) != Some("FeatureCollection") {
        return Err("it is JSON but not a GeoJSON FeatureCollection".into());
    }
    let crs = Some(match doc.pointer("/crs/properties/name").and_then(Value::as_str) {
        Some(n) => CrsDecl::Named(n.to_owned()),
        None => CrsDecl::GeoJsonDefault,
    });
    let list = doc.get("features").and_then(Value::as_array).ok_or("it has no 'features' array")?;
    let mut features = Vec::with_capacity(list.len());
    for (index, f) in list.iter().enumerate() {
        let geometry = match f.get("geometry") {
            None | Some(Value::Null) => None,
            Some(g) => {
                let g: geojson::Geometry =
                    serde_json::from_value(g.clone()).map_err(|e| format!("feature {index}: geometry: {e}"))?;
                Some(geo::Geometry::<f64>::try_from(g).map_err(|e| format!("feature {index}: geometry: {e}"))?)
            }
        };
        let properties = f.get("properties").and_then(Value::as_object).cloned().unwrap_or_default();
        features.push(Feature { index, geometry, properties });
    }
    let mut fields: Vec<String> = Vec::new();
    for f in &features {
        for k in f.properties.keys() {
            if !fields.contains(k) {
                fields.push(k.clone());
            }
        }
    }
    Ok(Layer { file: name.to_owned(), format: "GeoJSON", crs, encoding: None, fields, features })
}
