//! Township boundary files as counties have them: GeoJSON, GeoPackage and Shapefile (a `.zip`, or a
//! `.shp` with its `.dbf`, `.prj` and `.cpg`). Reading turns any of them into one [`Layer`]: features
//! with a geo geometry in the file's own coordinates, their attributes, and the declared coordinate
//! system. What a township is, and which features are refused, is decided afterwards
//! (`domain::boundary`); transforming coordinates is PostGIS's job (`store::township_import`).

pub mod dbf;
pub mod geojson;
pub mod geopackage;
pub mod shp;
pub mod text;

use std::io::Read;

use serde_json::{Map, Value};

pub use crate::domain::boundary::Feature;
use crate::domain::boundary::{self, Request, Source, Township};
use crate::domain::crs;
use crate::domain::{Code, FieldError};

/// One file as received: its name (for the format and for messages) and its bytes.
#[derive(Debug, Clone)]
pub struct Upload {
    pub name: String,
    pub bytes: Vec<u8>,
}

/// How the file names its coordinate system.
#[derive(Debug, Clone, PartialEq)]
pub enum CrsDecl {
    Epsg(u32),
    /// A WKT definition (`.prj`, GeoPackage `definition`).
    Wkt(String),
    /// A GeoJSON `crs` member's name (`urn:ogc:def:crs:EPSG::4549`).
    Named(String),
    /// GeoJSON without a `crs` member: WGS 84 by RFC 7946, if the coordinates agree.
    GeoJsonDefault,
}

#[derive(Debug, Clone)]
pub struct Layer {
    pub file: String,
    pub format: &'static str,
    /// `None` when the file says nothing about its coordinate system.
    pub crs: Option<CrsDecl>,
    /// How a Shapefile's text encoding was decided.
    pub encoding: Option<String>,
    pub fields: Vec<String>,
    pub features: Vec<Feature>,
}

/// Options a person gives on the command line or in the upload form.
#[derive(Debug, Clone, Default)]
pub struct ReadOptions {
    /// The encoding of a Shapefile's attributes, when it has no `.cpg` and detection will not do.
    pub encoding: Option<String>,
    /// The feature table of a GeoPackage holding several.
    pub layer: Option<String>,
}

pub const FORMATS: &str = "a GeoJSON FeatureCollection (.geojson), a GeoPackage (.gpkg) or a Shapefile \
     (a .zip of it, or the .shp with its .dbf, .prj and .cpg)";

fn file_error(detail: impl Into<String>) -> FieldError {
    FieldError::new("/file", Code::BadFile, detail)
}

fn extension(name: &str) -> String {
    name.rsplit_once('.').map(|(_, e)| e.to_ascii_lowercase()).unwrap_or_default()
}

fn stem(name: &str) -> &str {
    name.rsplit_once('.').map_or(name, |(s, _)| s)
}

/// Reads the boundary layer out of the files received (several for a loose Shapefile).
pub fn read(uploads: Vec<Upload>, options: &ReadOptions) -> Result<Layer, FieldError> {
    let mut files = Vec::new();
    for u in uploads {
        if u.bytes.starts_with(b"PK\x03\x04") || extension(&u.name) == "zip" {
            files.extend(unzip(&u)?);
        } else {
            files.push(u);
        }
    }
    let named = |ext: &str| files.iter().filter(|f| extension(&f.name) == ext).collect::<Vec<_>>();
    let (shps, gpkgs) = (named("shp"), named("gpkg"));
    let jsons: Vec<&Upload> =
        files.iter().filter(|f| ["geojson", "json"].contains(&extension(&f.name).as_str())).collect();
    let listed = || files.iter().map(|f| f.name.as_str()).collect::<Vec<_>>().join(", ");
    let at = |f: &Upload, e: String| file_error(format!("{}: {e}", f.name));
    match (shps.as_slice(), gpkgs.as_slice(), jsons.as_slice()) {
        ([shp], [], []) => shapefile(shp, &files, options),
        ([], [gpkg], []) => {
            geopackage::read(&gpkg.name, &gpkg.bytes, options.layer.as_deref()).map_err(|e| at(gpkg, e))
        }
        ([], [], [json]) => geojson::read(&json.name, &json.bytes).map_err(|e| at(json, e)),
        ([], [], []) if files.iter().any(|f| extension(&f.name) == "dbf") => Err(file_error(format!(
            "{} holds a .dbf but no .shp: a Shapefile's boundaries are in the .shp; send it too (or the folder as a .zip)",
            listed()
        ))),
        ([], [], []) => Err(file_error(format!(
            "{} is not {FORMATS}",
            if files.is_empty() { "the upload".into() } else { listed() }
        ))),
        _ => Err(file_error(format!("{} holds more than one boundary layer; send one", listed()))),
    }
}

fn unzip(u: &Upload) -> Result<Vec<Upload>, FieldError> {
    let broken = |e: zip::result::ZipError| file_error(format!("{} is not a readable .zip archive: {e}", u.name));
    let mut archive = zip::ZipArchive::new(std::io::Cursor::new(&u.bytes)).map_err(broken)?;
    let mut files = Vec::new();
    for i in 0..archive.len() {
        let mut entry = archive.by_index(i).map_err(broken)?;
        let path = entry.name().map_err(broken)?.into_owned();
        let name = path.rsplit('/').next().unwrap_or(&path).to_owned();
        // Folders, and the resource forks macOS adds to archives, are not files of the layer.
        if entry.is_dir() || path.starts_with("__MACOSX/") || name.starts_with('.') {
            continue;
        }
        let mut bytes = Vec::new();
        entry
            .read_to_end(&mut bytes)
            .map_err(|e| file_error(format!("{} is a broken .zip archive: {path}: {e}", u.name)))?;
        files.push(Upload { name, bytes });
    }
    Ok(files)
}

/// The `.shp` with the files of the same name beside it.
fn shapefile(shp: &Upload, files: &[Upload], options: &ReadOptions) -> Result<Layer, FieldError> {
    let sibling = |ext: &str| files.iter().find(|f| stem(&f.name) == stem(&shp.name) && extension(&f.name) == ext);
    let dbf = sibling("dbf").ok_or_else(|| {
        file_error(format!(
            "{} has no {}.dbf beside it: a Shapefile keeps its attributes (the township codes and names) in the .dbf; \
             send it too (or the whole folder as a .zip)",
            shp.name,
            stem(&shp.name)
        ))
    })?;
    let shapes = shp::read(&shp.bytes).map_err(|e| file_error(format!("{}: {e}", shp.name)))?;
    let table = dbf::read(&dbf.bytes).map_err(|e| file_error(format!("{}: {e}", dbf.name)))?;
    if shapes.len() != table.records.len() {
        return Err(file_error(format!(
            "{} holds {} shapes but {} has {} records: they are not of the same layer",
            shp.name,
            shapes.len(),
            dbf.name,
            table.records.len()
        )));
    }
    let cpg = sibling("cpg").map(|c| (c.name.clone(), String::from_utf8_lossy(&c.bytes).into_owned()));
    let chosen = encoding(&table, &dbf.name, cpg, options.encoding.as_deref())?;
    let decode = |bytes: &[u8], what: String| {
        text::decode(chosen.encoding, bytes)
            .ok_or_else(|| file_error(format!("{}: {what} is not valid {}", dbf.name, chosen.encoding.name())))
    };
    let fields = table
        .fields
        .iter()
        .enumerate()
        .map(|(i, f)| decode(&f.name, format!("the name of field {i}")))
        .collect::<Result<Vec<_>, _>>()?;
    let mut features = Vec::new();
    for (index, (shape, record)) in shapes.into_iter().zip(table.records).enumerate() {
        let Some(record) = record else { continue };
        let mut properties = Map::new();
        for (name, cell) in fields.iter().zip(record) {
            let value = match cell {
                dbf::Cell::Text(t) => Value::from(decode(&t, format!("field {name} of feature {index}"))?),
                dbf::Cell::Number(n) => Value::from(n),
                dbf::Cell::Bool(b) => Value::from(b),
                dbf::Cell::Null => Value::Null,
            };
            properties.insert(name.clone(), value);
        }
        features.push(Feature { index, geometry: shape, properties });
    }
    let crs = sibling("prj").map(|p| CrsDecl::Wkt(String::from_utf8_lossy(&p.bytes).into_owned()));
    let how = format!("{} ({})", chosen.encoding.name(), chosen.how);
    Ok(Layer { file: shp.name.clone(), format: "Shapefile", crs, encoding: Some(how), fields, features })
}

/// The attributes' encoding: `--encoding`, else the `.cpg`, else detected from the texts.
fn encoding(
    table: &dbf::Table,
    dbf_name: &str,
    cpg: Option<(String, String)>,
    forced: Option<&str>,
) -> Result<text::Chosen, FieldError> {
    if let Some(label) = forced {
        let encoding =
            text::named(label).map_err(|e| FieldError::new("/encoding", Code::UnknownValue, e).with("got", label))?;
        return Ok(text::Chosen { encoding, how: "named in the request".into() });
    }
    if let Some((name, label)) = cpg {
        let encoding = text::named(&label).map_err(|e| file_error(format!("{name}: {e}")))?;
        return Ok(text::Chosen { encoding, how: format!("named by {name}") });
    }
    let names = table.fields.iter().enumerate().map(|(i, f)| (f.name.as_slice(), format!("the name of field {i}")));
    let values = table.records.iter().enumerate().flat_map(|(index, r)| {
        r.iter().flatten().zip(&table.fields).filter_map(move |(cell, f)| match cell {
            dbf::Cell::Text(t) => {
                Some((t.as_slice(), format!("field {} of feature {index}", String::from_utf8_lossy(&f.name))))
            }
            _ => None,
        })
    });
    text::detect(names.chain(values)).map_err(|e| {
        file_error(format!(
            "{dbf_name} has no .cpg naming its text encoding, and {e}: add a .cpg file holding the encoding's name \
             (e.g. GBK) beside it, or name it with --encoding"
        ))
    })
}

impl Layer {
    /// The EPSG code to transform from: the one a person named, else the file's own. A file that
    /// names none is refused, saying how to name one.
    pub fn srid(&self, named: Option<u32>) -> Result<u32, FieldError> {
        if let Some(code) = named {
            return Ok(code);
        }
        let refuse = |why: String| {
            FieldError::new("/crs", Code::UnknownCrs, format!("{}: {why}; {}", self.file, crs::HOW_TO_NAME))
        };
        match &self.crs {
            None if self.format == "Shapefile" => Err(refuse(format!(
                "there is no {}.prj beside it, so its coordinate system is unknown",
                stem(&self.file)
            ))),
            None => Err(refuse("it does not name its coordinate system".into())),
            Some(CrsDecl::Epsg(code)) => Ok(*code),
            Some(CrsDecl::Wkt(wkt)) => crs::epsg_of_wkt(wkt).map_err(refuse),
            Some(CrsDecl::Named(name)) => crs::parse_crs_name(name).map_err(refuse),
            Some(CrsDecl::GeoJsonDefault) => match self.first_projected_coordinate() {
                None => Ok(crs::WGS84),
                Some((x, y)) => Err(refuse(format!(
                    "it has no crs member, and its coordinates are not longitude/latitude (e.g. {x}, {y})"
                ))),
            },
        }
    }

    fn first_projected_coordinate(&self) -> Option<(f64, f64)> {
        use geo::CoordsIter;
        self.features
            .iter()
            .filter_map(|f| f.geometry.as_ref())
            .flat_map(|g| g.coords_iter())
            .find(|c| !(-180.0..=180.0).contains(&c.x) || !(-90.0..=90.0).contains(&c.y))
            .map(|c| (c.x, c.y))
    }
}

/// Reads the files and turns their features into townships with the coordinate system to
/// transform from: everything about an import that needs no database.
pub fn prepare(uploads: Vec<Upload>, request: &Request) -> Result<(Source, Vec<Township>, u32), Vec<FieldError>> {
    let options = ReadOptions { encoding: request.encoding.clone(), layer: request.layer.clone() };
    let layer = read(uploads, &options).map_err(|e| vec![e])?;
    let columns = boundary::choose_columns(&layer.fields, &request.columns)?;
    let srid = layer.srid(request.crs).map_err(|e| vec![e])?;
    let townships = boundary::townships(&layer.features, &columns)?;
    let source = Source { file: layer.file, format: layer.format.to_owned(), encoding: layer.encoding };
    Ok((source, townships, srid))
}

/// The file at `path` as an upload, with the files of the same name beside a `.shp` (its `.dbf`,
/// `.prj`, `.cpg`, ...), as the command line receives a Shapefile.
pub fn from_disk(path: &std::path::Path) -> Result<Vec<Upload>, String> {
    let load = |p: &std::path::Path| -> Result<Upload, String> {
        let bytes = std::fs::read(p).map_err(|e| format!("cannot read {}: {e}", p.display()))?;
        Ok(Upload { name: p.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default(), bytes })
    };
    let first = load(path)?;
    if extension(&first.name) != "shp" {
        return Ok(vec![first]);
    }
    let dir = path.parent().filter(|d| !d.as_os_str().is_empty()).unwrap_or(std::path::Path::new("."));
    let shp_stem = stem(&first.name).to_owned();
    let mut files = vec![first];
    for entry in std::fs::read_dir(dir).map_err(|e| format!("cannot list {}: {e}", dir.display()))? {
        let p = entry.map_err(|e| e.to_string())?.path();
        let name = p.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
        if stem(&name) == shp_stem && ["dbf", "prj", "cpg", "shx"].contains(&extension(&name).as_str()) {
            files.push(load(&p)?);
        }
    }
    Ok(files)
}
