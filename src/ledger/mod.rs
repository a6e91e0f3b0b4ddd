//! A bureau's ledger file read into a [`Table`]: an Excel workbook (`.xlsx`, by calamine) or a CSV
//! file in UTF-8 (with or without a byte order mark) or GBK, as a Chinese Excel saves it. What the
//! rows mean is decided afterwards (`domain::ledger`); here the refusals are about the file: not a
//! spreadsheet, no such sheet, merged header cells, neither UTF-8 nor GBK, too many rows.

pub mod cli;

use std::io::{Cursor, Read, Seek};

use calamine::{Data, Dimensions, Reader, Xlsx};
use chrono::{NaiveDate, NaiveDateTime};

use crate::boundaries::text;
use crate::domain::ledger::headers::Plan;
use crate::domain::ledger::{Cell, MAX_ROWS, Options, Row, Table, cell_ref, csv};
use crate::domain::{Code, FieldError};

/// Largest upload: 200,000 rows of a county's ledger as CSV, with room to spare.
pub const MAX_LEDGER_UPLOAD: usize = 64 * 1024 * 1024;

/// Most bytes a workbook may unpack to: its XML is read whole, and a small zip can hold a vast sheet.
const MAX_UNPACKED: u64 = 1024 * 1024 * 1024;

fn refusal(pointer: &str, file: &str, detail: impl std::fmt::Display) -> Vec<FieldError> {
    vec![FieldError::new(pointer, Code::BadFile, format!("{file}: {detail}")).with("file", file)]
}

/// The file read and its columns planned: everything about an import that needs no database.
pub fn prepare(file: &str, bytes: &[u8], options: &Options) -> Result<(Table, Plan), Vec<FieldError>> {
    let table = read(file, bytes, options)?;
    let plan = Plan::build(&table, &options.map)?;
    Ok((table, plan))
}

/// The sheet of `bytes` (the file `file`) that `options` names, as a table.
pub fn read(file: &str, bytes: &[u8], options: &Options) -> Result<Table, Vec<FieldError>> {
    let lower = file.to_lowercase();
    if bytes.starts_with(b"PK\x03\x04") {
        return xlsx(file, bytes, options);
    }
    if bytes.starts_with(&[0xD0, 0xCF, 0x11, 0xE0]) || lower.ends_with(".xls") || lower.ends_with(".et") {
        return Err(refusal(
            "file",
            file,
            "is an old Excel (.xls) or WPS workbook: save it as .xlsx (Excel 2007 and later) or as CSV",
        ));
    }
    if lower.ends_with(".xlsx") {
        return Err(refusal("file", file, "is named .xlsx but is not an Excel workbook (no zip inside)"));
    }
    if options.sheet.is_some() {
        return Err(refusal("sheet", file, "a CSV file has no sheets: leave out sheet"));
    }
    csv_table(file, bytes, options.header_row)
}

fn xlsx(file: &str, bytes: &[u8], options: &Options) -> Result<Table, Vec<FieldError>> {
    let unpacked = unpacked_size(Cursor::new(bytes))
        .map_err(|e| refusal("file", file, format!("is not a readable .xlsx workbook ({e})")))?;
    if unpacked > MAX_UNPACKED {
        return Err(refusal("file", file, format!("unpacks to more than {} MiB", MAX_UNPACKED >> 20)));
    }
    let mut book = Xlsx::new(Cursor::new(bytes))
        .map_err(|e| refusal("file", file, format!("is not a readable .xlsx workbook ({e})")))?;
    let names = book.sheet_names();
    let sheet = match &options.sheet {
        Some(wanted) => names.iter().find(|n| *n == wanted).cloned().ok_or_else(|| {
            refusal("sheet", file, format!("has no sheet '{wanted}'; its sheets are: {}", names.join(", ")))
        })?,
        None => names.first().cloned().ok_or_else(|| refusal("file", file, "has no worksheet"))?,
    };
    let range = book
        .worksheet_range(&sheet)
        .map_err(|e| refusal("file", file, format!("sheet '{sheet}' cannot be read ({e})")))?;
    let merged = book
        .merge_cells_by_sheet_name(&sheet)
        .map_err(|e| refusal("file", file, format!("sheet '{sheet}' cannot be read ({e})")))?;
    let header = options.header_row - 1;
    let in_header: Vec<&Dimensions> = merged.iter().filter(|d| d.start.0 <= header && header <= d.end.0).collect();
    if !in_header.is_empty() {
        return Err(merged_header(file, &sheet, options.header_row, &in_header));
    }
    let mut grid = grid(&range);
    fill_merged(&mut grid, &merged, header);
    let mut table = table(file, grid, options.header_row)?;
    table.format = "xlsx";
    table.sheet = Some(sheet);
    Ok(table)
}

/// The refusal of a header row with merged cells, naming each range.
fn merged_header(file: &str, sheet: &str, row: u32, ranges: &[&Dimensions]) -> Vec<FieldError> {
    ranges
        .iter()
        .map(|d| {
            let range = format!("{}:{}", cell_ref(d.start.1 as usize, d.start.0 + 1), cell_ref(d.end.1 as usize, d.end.0 + 1));
            FieldError::new(
                &range,
                Code::MergedHeader,
                format!(
                    "{file}, sheet '{sheet}': the header row (row {row}) has merged cells {range}; a column's name must \
                     be in its own cell of row {row}: unmerge them and give each column one name (rows above the \
                     names, such as a title, are skipped with header_row)"
                ),
            )
            .with("row", row)
            .with("range", range.as_str())
        })
        .collect()
}

/// Sum of the uncompressed sizes the zip's directory declares.
fn unpacked_size(reader: impl Read + Seek) -> Result<u64, zip::result::ZipError> {
    let mut zip = zip::ZipArchive::new(reader)?;
    let mut total = 0u64;
    for i in 0..zip.len() {
        total = total.saturating_add(zip.by_index_raw(i)?.size());
    }
    Ok(total)
}

/// The sheet's cells from A1 on, row by row (calamine's range starts at its first used cell).
fn grid(range: &calamine::Range<Data>) -> Vec<Vec<Cell>> {
    let Some((top, left)) = range.start() else { return Vec::new() };
    let mut grid: Vec<Vec<Cell>> = (0..top).map(|_| Vec::new()).collect();
    for row in range.rows() {
        let mut cells: Vec<Cell> = (0..left).map(|_| Cell::Empty).collect();
        cells.extend(row.iter().map(cell));
        grid.push(cells);
    }
    grid
}

fn cell(data: &Data) -> Cell {
    match data {
        Data::Empty => Cell::Empty,
        Data::String(s) if s.trim().is_empty() => Cell::Empty,
        Data::String(s) | Data::DateTimeIso(s) | Data::DurationIso(s) => Cell::Text(s.clone()),
        Data::Int(i) => Cell::Number(*i as f64),
        Data::Float(x) => Cell::Number(*x),
        Data::Bool(b) => Cell::Bool(*b),
        Data::DateTime(t) if t.is_datetime() => date_time(t).map_or(Cell::Number(t.as_f64()), Cell::DateTime),
        Data::DateTime(t) => Cell::Number(t.as_f64()),
        Data::Error(e) => Cell::Error(e.to_string()),
    }
}

/// A date cell's date and time, to the nearest second (a serial number's fraction is not exact).
fn date_time(t: &calamine::ExcelDateTime) -> Option<NaiveDateTime> {
    let (y, mo, d, h, mi, s, ms) = t.to_ymd_hms_milli();
    let at = NaiveDate::from_ymd_opt(y.into(), mo.into(), d.into())?.and_hms_opt(h.into(), mi.into(), s.into())?;
    Some(if ms >= 500 { at + chrono::Duration::seconds(1) } else { at })
}

/// A merged range below the header reads, in every cell, as its top-left cell: what a person sees
/// (a township's name merged down over its tasks belongs to each of them).
fn fill_merged(grid: &mut [Vec<Cell>], merged: &[Dimensions], header: u32) {
    for d in merged.iter().filter(|d| d.start.0 > header) {
        let (top, left) = (d.start.0 as usize, d.start.1 as usize);
        let Some(value) = grid.get(top).and_then(|r| r.get(left)).cloned() else { continue };
        for r in top..=(d.end.0 as usize).min(grid.len().saturating_sub(1)) {
            let row = &mut grid[r];
            for c in left..=d.end.1 as usize {
                if row.len() <= c {
                    row.resize(c + 1, Cell::Empty);
                }
                row[c] = value.clone();
            }
        }
    }
}

/// The table of `grid` (rows from row 1) whose column names are in row `header_row`.
fn table(file: &str, grid: Vec<Vec<Cell>>, header_row: u32) -> Result<Table, Vec<FieldError>> {
    let mut rows = grid.into_iter().enumerate().skip(header_row as usize - 1);
    let headers: Vec<String> = match rows.next() {
        Some((_, cells)) => cells.iter().map(crate::domain::ledger::cells::text).collect(),
        None => Vec::new(),
    };
    if headers.iter().all(|h| h.is_empty()) {
        let detail = format!(
            "row {header_row} is empty: the columns' names must be in row {header_row} (or say which row holds them with header_row)"
        );
        return Err(refusal(&format!("{header_row}:{header_row}"), file, detail));
    }
    let rows: Vec<Row> = rows
        .filter(|(_, cells)| !cells.iter().all(Cell::is_blank))
        .map(|(i, cells)| Row { number: i as u32 + 1, cells })
        .collect();
    if rows.is_empty() {
        return Err(refusal(
            "file",
            file,
            format!("has no rows below the header row (row {header_row}): nothing to import"),
        ));
    }
    if rows.len() > MAX_ROWS {
        let detail = format!("has {} rows, more than {MAX_ROWS} in one import: split it", rows.len());
        let why = FieldError::new("file", Code::TooMany, format!("{file}: {detail}"));
        return Err(vec![why.with("max", MAX_ROWS).with("got", rows.len())]);
    }
    Ok(Table { file: file.to_owned(), format: "csv", sheet: None, encoding: None, header_row, headers, rows })
}

/// A CSV file: the encoding told by decoding (UTF-8 if every line is, else GBK if every line is),
/// then RFC 4180 records.
fn csv_table(file: &str, bytes: &[u8], header_row: u32) -> Result<Table, Vec<FieldError>> {
    if bytes.starts_with(&[0xFF, 0xFE]) || bytes.starts_with(&[0xFE, 0xFF]) {
        return Err(refusal("file", file, "is UTF-16 text: save it as \"CSV UTF-8\" (or CSV) instead"));
    }
    if bytes.contains(&0) {
        return Err(refusal("file", file, "is neither an .xlsx workbook nor CSV text (it holds zero bytes)"));
    }
    let body = bytes.strip_prefix("\u{feff}".as_bytes()).unwrap_or(bytes);
    // A GBK character's bytes never include a line feed, so the file can be judged line by line and
    // the first line that is neither named.
    let lines = body.split(|b| *b == b'\n').enumerate().map(|(i, l)| (l, format!("line {}", i + 1)));
    let chosen = text::detect(lines)
        .map_err(|e| refusal("file", file, format!("cannot be read as text: {e}; save it as CSV in UTF-8 or GBK")))?;
    let decoded = chosen
        .encoding
        .decode_without_bom_handling_and_without_replacement(body)
        .ok_or_else(|| refusal("file", file, "cannot be decoded"))?;
    let records = csv::records(&decoded).map_err(|e| refusal("file", file, e))?;
    let grid: Vec<Vec<Cell>> = records.into_iter().map(|r| r.into_iter().map(csv::cell).collect()).collect();
    let mut table = table(file, grid, header_row)?;
    table.encoding = Some(chosen.encoding.name());
    Ok(table)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn options() -> Options {
        Options::parse(&[]).unwrap()
    }

    #[test]
    fn csv_in_utf8_with_a_bom_and_in_gbk_read_the_same() {
        let text = "任务名称,类别\r\n青溪河清淤,重点流域水环境整治\r\n,\r\n锅炉改造,节能减排\r\n";
        let utf8 = read("a.csv", format!("\u{feff}{text}").as_bytes(), &options()).unwrap();
        let (gbk_bytes, _, _) = encoding_rs::GBK.encode(text);
        let gbk = read("a.csv", &gbk_bytes, &options()).unwrap();
        assert_eq!(utf8.encoding, Some("UTF-8"));
        assert_eq!(gbk.encoding, Some("GBK"));
        assert_eq!(utf8.headers, ["任务名称", "类别"]);
        assert_eq!(utf8.rows, gbk.rows);
        assert_eq!(utf8.rows.iter().map(|r| r.number).collect::<Vec<_>>(), [2, 4], "the blank row 3 is skipped");
    }

    #[test]
    fn text_that_is_neither_utf8_nor_gbk_is_refused_naming_the_line() {
        let mut bytes = "任务名称,类别\n".as_bytes().to_vec();
        bytes.extend_from_slice(&[0x81, 0x20, b',', b'x', b'\n']);
        let e = read("台账.csv", &bytes, &options()).unwrap_err();
        assert_eq!(e[0].pointer, "file");
        assert!(
            e[0].detail.starts_with("台账.csv: cannot be read as text: line 2 is neither UTF-8 nor GBK"),
            "{}",
            e[0].detail
        );
    }

    #[test]
    fn files_that_are_no_ledger_are_refused_saying_what_they_are() {
        let e = read("a.xls", &[0xD0, 0xCF, 0x11, 0xE0, 0, 0], &options()).unwrap_err();
        assert!(e[0].detail.contains("save it as .xlsx"), "{}", e[0].detail);
        let e = read("a.xlsx", b"PK\x03\x04broken", &options()).unwrap_err();
        assert!(e[0].detail.contains("is not a readable .xlsx workbook"), "{}", e[0].detail);
        let e = read("a.csv", b"\xff\xfea\x00", &options()).unwrap_err();
        assert!(e[0].detail.contains("UTF-16"), "{}", e[0].detail);
        let e = read("a.csv", "任务名称\n".as_bytes(), &options()).unwrap_err();
        assert!(e[0].detail.contains("nothing to import"), "{}", e[0].detail);
        let e = read("a.csv", "\n\n任务名称\nx\n".as_bytes(), &options()).unwrap_err();
        assert_eq!(e[0].pointer, "1:1");
    }

    #[test]
    fn merged_cells_below_the_header_fill_each_cell() {
        let mut grid =
            vec![vec![Cell::Text("乡镇".into())], vec![Cell::Text("青溪镇".into())], vec![], vec![Cell::Empty]];
        let merged = [Dimensions { start: (1, 0), end: (3, 0) }];
        fill_merged(&mut grid, &merged, 0);
        assert!(grid[1..].iter().all(|r| r[0] == Cell::Text("青溪镇".into())));
    }
}
