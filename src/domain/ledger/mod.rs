//! The bureau's existing ledger (台账) from a spreadsheet: an Excel sheet or a CSV file whose header
//! row names the columns in Chinese (or in English, as greenledger's own CSV export does). Each row
//! becomes a GeoJSON Feature and goes through the parser of a single create (`task::NewTask`), so
//! the rules are written once; what is wrong is told in the spreadsheet's own terms: the row as the
//! spreadsheet numbers it (the header being row 1) and the column's letter and name.
//!
//! Pure: reading a file's bytes (calamine, the text encoding) is `crate::ledger`'s; the categories,
//! townships and the county's clock come from the store as [`cells::Lookups`].

pub mod cells;
pub mod csv;
pub mod headers;
pub mod rows;
pub mod wkt;

use chrono::NaiveDateTime;

use super::chinacoords::Datum;
use super::import::{MAX_FEATURES, Mode};
use super::{Code, FieldError, Message};

/// Most data rows in one import: as many as features in a GeoJSON import.
pub const MAX_ROWS: usize = MAX_FEATURES;

/// A cell as read from the file.
#[derive(Debug, Clone, PartialEq)]
pub enum Cell {
    Empty,
    Text(String),
    Number(f64),
    Bool(bool),
    /// A date or date-time cell, as the sheet shows it (the county's local time).
    DateTime(NaiveDateTime),
    /// An error value such as `#N/A` or `#DIV/0!`.
    Error(String),
}

impl Cell {
    /// Nothing in it (blank text counts as nothing).
    pub fn is_blank(&self) -> bool {
        match self {
            Cell::Empty => true,
            Cell::Text(s) => s.trim().is_empty(),
            _ => false,
        }
    }
}

/// One data row: its number as the spreadsheet shows it, and its cells from column A on.
#[derive(Debug, Clone, PartialEq)]
pub struct Row {
    pub number: u32,
    pub cells: Vec<Cell>,
}

impl Row {
    pub fn cell(&self, column: usize) -> &Cell {
        self.cells.get(column).unwrap_or(&Cell::Empty)
    }
}

/// A sheet as read: where it came from, its header row and the non-empty rows below it.
#[derive(Debug, Clone, PartialEq)]
pub struct Table {
    pub file: String,
    /// `xlsx` or `csv`.
    pub format: &'static str,
    /// The worksheet read (Excel).
    pub sheet: Option<String>,
    /// How the text was decoded (CSV): `UTF-8` or `GBK`.
    pub encoding: Option<&'static str>,
    pub header_row: u32,
    /// The header row's texts, from column A on.
    pub headers: Vec<String>,
    pub rows: Vec<Row>,
}

/// The spreadsheet's name of a 0-based column: A … Z, AA, AB, …
pub fn column_letter(index: usize) -> String {
    let mut n = index + 1;
    let mut letters = Vec::new();
    while n > 0 {
        let rem = (n - 1) % 26;
        letters.push(b'A' + rem as u8);
        n = (n - 1) / 26;
    }
    letters.reverse();
    String::from_utf8(letters).unwrap_or_default()
}

/// A cell's reference in A1 notation (`F7`).
pub fn cell_ref(column: usize, row: u32) -> String {
    format!("{}{row}", column_letter(column))
}

/// What the caller asks of an import besides the file.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Options {
    /// The datum of longitude/latitude and WKT positions.
    pub datum: Datum,
    pub mode: Mode,
    /// Check and report, store nothing.
    pub dry_run: bool,
    /// The worksheet to read (Excel); the first one without it.
    pub sheet: Option<String>,
    /// The row holding the column names (1 unless title rows sit above it).
    pub header_row: u32,
    /// The caller's header map: (header as in the file, target such as `title` or `ignore`).
    pub map: Vec<(String, String)>,
}

/// The options a ledger import takes, for refusals that list them.
pub const OPTION_NAMES: &[&str] = &["coords", "mode", "dry_run", "sheet", "header_row", "map"];

impl Options {
    /// The options from form fields (or a query string): `coords=gcj02|bd09|wgs84`,
    /// `mode=all|partial`, `dry_run=true`, `sheet=NAME`, `header_row=N` and `map` (a JSON object
    /// from header to field, `{"标题列": "title", "备注": "ignore"}`).
    pub fn parse(pairs: &[(String, String)]) -> Result<Options, Vec<FieldError>> {
        let mut o = Options { header_row: 1, ..Options::default() };
        let hint = format!("a ledger import takes {}", OPTION_NAMES.join(", "));
        let errors = super::filter::each_parameter(pairs, OPTION_NAMES, &hint, |key, value| {
            let value = value.trim();
            match key {
                "coords" => o.datum = super::bounds::datum(value)?,
                "mode" => o.mode = mode(value)?,
                "dry_run" => o.dry_run = super::filter::flag(value)?,
                "sheet" => o.sheet = Some(value.to_owned()).filter(|s| !s.is_empty()),
                "header_row" => {
                    o.header_row = super::filter::number("header_row", value, 1, 100)? as u32;
                }
                _ => o.map = headers::parse_map(value)?,
            }
            Ok(())
        });
        if errors.is_empty() { Ok(o) } else { Err(errors) }
    }
}

fn mode(value: &str) -> Result<Mode, Message> {
    match value {
        "all" | "" => Ok(Mode::All),
        "partial" => Ok(Mode::Partial),
        other => Err(Message::new(
            Code::UnknownValue,
            format!(
                "unknown mode '{other}': all (nothing is stored unless every row is valid, the default) or partial"
            ),
        )
        .with("got", other)
        .with("allowed", vec!["all", "partial"])),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pairs(list: &[(&str, &str)]) -> Vec<(String, String)> {
        list.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect()
    }

    #[test]
    fn columns_are_lettered_as_spreadsheets_do() {
        assert_eq!(column_letter(0), "A");
        assert_eq!(column_letter(25), "Z");
        assert_eq!(column_letter(26), "AA");
        assert_eq!(column_letter(27), "AB");
        assert_eq!(column_letter(701), "ZZ");
        assert_eq!(column_letter(702), "AAA");
        assert_eq!(cell_ref(5, 7), "F7");
    }

    #[test]
    fn options_read_every_setting_and_name_what_is_wrong() {
        let o = Options::parse(&pairs(&[
            ("coords", "gcj02"),
            ("dry_run", "true"),
            ("sheet", "2026年台账"),
            ("header_row", "2"),
            ("map", r#"{"标题列": "title"}"#),
        ]))
        .unwrap();
        assert_eq!(o.datum, Datum::Gcj02);
        assert!(o.dry_run);
        assert_eq!(o.mode, Mode::All);
        assert_eq!(o.sheet.as_deref(), Some("2026年台账"));
        assert_eq!(o.header_row, 2);
        assert_eq!(o.map, [("标题列".to_owned(), "title".to_owned())]);
        assert_eq!(Options::parse(&[]).unwrap().header_row, 1);

        let e = Options::parse(&pairs(&[("coords", "utm"), ("header_row", "0"), ("apply", "1")])).unwrap_err();
        let at: Vec<&str> = e.iter().map(|e| e.pointer.as_str()).collect();
        assert_eq!(at, ["coords", "header_row", "apply"]);
        assert!(e[2].detail.contains("coords, mode, dry_run"), "{}", e[2].detail);
    }
}
