//! GeoPackage (OGC 12-128r18): an SQLite file listing its feature tables in `gpkg_contents`, their
//! geometry column and SRS in `gpkg_geometry_columns`, and the SRS in `gpkg_spatial_ref_sys`.
//! Read with rusqlite (SQLite compiled in) rather than sqlx's SQLite driver, which would add a
//! second database backend to every `query!` macro expansion for a read-only file.

use std::io::Write;

use rusqlite::types::ValueRef;
use rusqlite::{Connection, OpenFlags};
use serde_json::{Map, Value};

use super::{CrsDecl, Feature, Layer};

/// Reads the one feature table (or the one named `layer`) of a GeoPackage held in `bytes`.
pub fn read(name: &str, bytes: &[u8], layer: Option<&str>) -> Result<Layer, String> {
    // SQLite reads files, not memory: a private temporary copy, removed when dropped.
    let mut file = tempfile::NamedTempFile::new().map_err(|e| format!("cannot make a temporary file: {e}"))?;
    file.write_all(bytes).map_err(|e| format!("cannot write a temporary file: {e}"))?;
    let db = Connection::open_with_flags(file.path(), OpenFlags::SQLITE_OPEN_READ_ONLY)
        .map_err(|e| format!("it is not a readable GeoPackage: {e}"))?;
    let broken = |e: rusqlite::Error| format!("it is not a readable GeoPackage: {e}");
    let tables: Vec<String> = db
        .prepare("SELECT table_name FROM gpkg_contents WHERE data_type = 'features' ORDER BY table_name")
        .and_then(|mut s| s.query_map([], |r| r.get(0))?.collect())
        .map_err(broken)?;
    let table = match (layer, tables.as_slice()) {
        (Some(l), _) if tables.iter().any(|t| t == l) => l.to_owned(),
        (Some(l), _) => return Err(format!("it has no feature table '{l}' (it has: {})", tables.join(", "))),
        (None, [one]) => one.clone(),
        (None, []) => return Err("it holds no feature table".into()),
        (None, many) => {
            return Err(format!("it holds {} feature tables ({}); name one with --layer", many.len(), many.join(", ")));
        }
    };
    let (column, srs_id): (String, i64) = db
        .query_row("SELECT column_name, srs_id FROM gpkg_geometry_columns WHERE table_name = ?1", [&table], |r| {
            Ok((r.get(0)?, r.get(1)?))
        })
        .map_err(broken)?;
    let crs = srs(&db, srs_id).map_err(broken)?;
    let features = rows(&db, &table, &column).map_err(|e| format!("table {table}: {e}"))?;
    let fields = features.first().map(|f| f.properties.keys().cloned().collect()).unwrap_or_default();
    Ok(Layer { file: name.to_owned(), format: "GeoPackage", crs, encoding: None, fields, features })
}

/// The declared SRS: an EPSG code, else its WKT. Ids 0 and -1 are the specification's "undefined".
fn srs(db: &Connection, srs_id: i64) -> Result<Option<CrsDecl>, rusqlite::Error> {
    if srs_id <= 0 {
        return Ok(None);
    }
    let (org, code, definition): (String, i64, String) = db.query_row(
        "SELECT organization, organization_coordsys_id, definition FROM gpkg_spatial_ref_sys WHERE srs_id = ?1",
        [srs_id],
        |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
    )?;
    Ok(Some(match u32::try_from(code) {
        Ok(c) if org.eq_ignore_ascii_case("EPSG") && c > 0 => CrsDecl::Epsg(c),
        _ => CrsDecl::Wkt(definition),
    }))
}

fn quoted(identifier: &str) -> String {
    format!("\"{}\"", identifier.replace('"', "\"\""))
}

fn rows(db: &Connection, table: &str, geometry_column: &str) -> Result<Vec<Feature>, String> {
    let mut stmt = db.prepare(&format!("SELECT * FROM {}", quoted(table))).map_err(|e| e.to_string())?;
    let names: Vec<String> = stmt.column_names().into_iter().map(str::to_owned).collect();
    let mut rows = stmt.query([]).map_err(|e| e.to_string())?;
    let mut features = Vec::new();
    while let Some(row) = rows.next().map_err(|e| e.to_string())? {
        let index = features.len();
        let mut properties = Map::new();
        let mut geometry = None;
        for (i, name) in names.iter().enumerate() {
            let value = row.get_ref(i).map_err(|e| e.to_string())?;
            if name == geometry_column {
                geometry = match value {
                    ValueRef::Blob(b) => {
                        crate::domain::wkb::gpkg_geometry(b).map_err(|e| format!("feature {index}: {e}"))?
                    }
                    _ => None,
                };
                continue;
            }
            properties.insert(
                name.clone(),
                match value {
                    ValueRef::Integer(n) => Value::from(n),
                    ValueRef::Real(x) => Value::from(x),
                    ValueRef::Text(t) => Value::from(String::from_utf8_lossy(t).trim()),
                    ValueRef::Null | ValueRef::Blob(_) => Value::Null,
                },
            );
        }
        features.push(Feature { index, geometry, properties });
    }
    Ok(features)
}
