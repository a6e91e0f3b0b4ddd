//! `greenledger import ledger FILE`: the import of POST /api/import/ledger from a terminal, with
//! progress on stderr for long files and every refused row on a line of its own.

use std::fmt::Write;
use std::path::PathBuf;
use std::time::Instant;

use crate::domain::import::Mode;
use crate::domain::ledger::Options;
use crate::store::ledger::LedgerReport;
use crate::store::{self, DbConfig};

#[derive(Debug, Clone, clap::Args)]
pub struct LedgerImport {
    /// The ledger: an Excel workbook (.xlsx) or a CSV file (UTF-8 or GBK).
    pub file: PathBuf,
    /// Check the file and report what would be imported; store nothing.
    #[arg(long)]
    pub dry_run: bool,
    /// Store the valid rows even if some are invalid (default: all or nothing).
    #[arg(long)]
    pub partial: bool,
    /// Datum of longitude/latitude (and WKT): wgs84, gcj02 (AMap, Tencent) or bd09 (Baidu).
    #[arg(long, default_value = "wgs84")]
    pub coords: String,
    /// A column's field, as COLUMN=FIELD (repeat it), or a JSON object {"标题列": "title"}.
    /// Fields: the task's properties (title, category, township, due_date, ...), lon, lat, wkt, ignore.
    #[arg(long)]
    pub map: Vec<String>,
    /// The worksheet to read (default: the first).
    #[arg(long)]
    pub sheet: Option<String>,
    /// The row holding the column names, when title rows sit above it.
    #[arg(long, default_value_t = 1)]
    pub header_row: u32,
}

impl LedgerImport {
    /// The options as the API's form would carry them, read by the same parser.
    fn options(&self) -> Result<Options, String> {
        let mut pairs = vec![
            ("coords".to_owned(), self.coords.clone()),
            ("header_row".to_owned(), self.header_row.to_string()),
            ("dry_run".to_owned(), self.dry_run.to_string()),
            ("mode".to_owned(), if self.partial { "partial" } else { "all" }.to_owned()),
        ];
        if let Some(sheet) = &self.sheet {
            pairs.push(("sheet".to_owned(), sheet.clone()));
        }
        if !self.map.is_empty() {
            pairs.push(("map".to_owned(), map_json(&self.map)?));
        }
        Options::parse(&pairs).map_err(|e| listed(&e))
    }
}

/// `--map` values as one JSON object: each a JSON object, or `COLUMN=FIELD`.
fn map_json(values: &[String]) -> Result<String, String> {
    let mut map = serde_json::Map::new();
    for v in values {
        if v.trim_start().starts_with('{') {
            match serde_json::from_str::<serde_json::Value>(v) {
                Ok(serde_json::Value::Object(o)) => map.extend(o),
                _ => return Err(format!("--map {v}: not a JSON object")),
            }
        } else {
            let (column, field) =
                v.rsplit_once('=').ok_or_else(|| format!("--map {v}: write COLUMN=FIELD, e.g. --map 标题列=title"))?;
            map.insert(column.trim().to_owned(), field.trim().into());
        }
    }
    Ok(serde_json::Value::Object(map).to_string())
}

fn listed(errors: &[crate::domain::FieldError]) -> String {
    errors.iter().map(|e| format!("{}: {}", e.pointer, e.detail)).collect::<Vec<_>>().join("\n")
}

/// Runs the import against `db`; an error when nothing could be read, or rows were refused in
/// mode all (nothing is stored then).
pub async fn run(db: DbConfig, args: LedgerImport) -> Result<(), Box<dyn std::error::Error>> {
    let started = Instant::now();
    let options = args.options()?;
    let bytes = std::fs::read(&args.file).map_err(|e| format!("cannot read {}: {e}", args.file.display()))?;
    let name = args.file.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
    let (table, plan) = super::prepare(&name, &bytes, &options).map_err(|e| listed(&e))?;
    eprintln!("import: {} rows read in {:.1} s", table.rows.len(), started.elapsed().as_secs_f64());
    let pool = db.pool()?;
    let mut tx = pool.begin().await?;
    let report = store::ledger::import(&pool, &mut tx, &table, &plan, &options, None, |stage, done, of| {
        eprintln!("import: {stage} {done} of {of} rows ({:.1} s)", started.elapsed().as_secs_f64())
    })
    .await?;
    let refused = options.mode == Mode::All && !report.failed.is_empty();
    if !options.dry_run && !refused {
        tx.commit().await?;
    }
    print!("{}", summary(&report, started.elapsed().as_secs_f64()));
    if refused && !options.dry_run {
        return Err("the import was refused: nothing was stored".into());
    }
    Ok(())
}

/// The report as lines for a terminal.
pub fn summary(r: &LedgerReport, seconds: f64) -> String {
    let mut out = String::new();
    let sheet = r.sheet.as_deref().map(|s| format!(", sheet '{s}'")).unwrap_or_default();
    let encoding = r.encoding.map(|e| format!(", text in {e}")).unwrap_or_default();
    let _ = writeln!(out, "{} ({}{sheet}{encoding}): {} rows, positions in {}", r.file, r.format, r.rows, r.coords);
    for c in &r.columns {
        let used = c.field.clone().unwrap_or_else(|| c.note.clone().unwrap_or_else(|| "ignored".into()));
        let _ = writeln!(out, "  column {} {}: {used}", c.column, c.header);
    }
    for f in &r.failed {
        for e in f.field_errors(&r.file) {
            let _ = writeln!(out, "{}", e.detail);
        }
    }
    let failed = r.failed.len();
    let _ = if r.dry_run {
        writeln!(out, "dry run: nothing was stored; {} rows can be imported, {failed} refused", r.created.len())
    } else if r.mode == "all" && failed > 0 {
        writeln!(out, "nothing stored: {failed} rows refused (--partial stores the valid ones)")
    } else {
        writeln!(out, "{} of {} rows imported in {seconds:.1} s ({failed} refused)", r.imported, r.rows)
    };
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn maps_from_the_command_line_in_either_form() {
        let json = map_json(&["标题列=title".into(), r#"{"X": "lon"}"#.into()]).unwrap();
        let value: serde_json::Value = serde_json::from_str(&json).unwrap();
        assert_eq!(value, serde_json::json!({"标题列": "title", "X": "lon"}));
        assert!(map_json(&["标题列".into()]).unwrap_err().contains("COLUMN=FIELD"));
    }
}
