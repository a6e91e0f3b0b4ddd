//! CSV (RFC 4180) already decoded to text: records of fields, a quoted field holding commas, quotes
//! (doubled) and line breaks. A file whose first line has tabs and no commas is read as
//! tab-separated, as spreadsheets also save text.

use super::Cell;

/// The records of `text`, each a list of fields; a quote left open is refused naming its line.
pub fn records(text: &str) -> Result<Vec<Vec<String>>, String> {
    let first_line = text.lines().next().unwrap_or("");
    let separator = if first_line.contains('\t') && !first_line.contains(',') { '\t' } else { ',' };
    let mut records = Vec::new();
    let mut record = Vec::new();
    let mut field = String::new();
    let (mut quoted, mut line, mut opened_at) = (false, 1, 0);
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        if c == '\n' {
            line += 1;
        }
        match (quoted, c) {
            (true, '"') if chars.peek() == Some(&'"') => {
                chars.next();
                field.push('"');
            }
            (true, '"') => quoted = false,
            (true, c) => field.push(c),
            (false, '"') if field.is_empty() => (quoted, opened_at) = (true, line),
            (false, c) if c == separator => record.push(std::mem::take(&mut field)),
            (false, '\r') if chars.peek() == Some(&'\n') => {}
            (false, '\n' | '\r') => {
                record.push(std::mem::take(&mut field));
                records.push(std::mem::take(&mut record));
            }
            (false, c) => field.push(c),
        }
    }
    if quoted {
        return Err(format!("the quoted field opened on line {opened_at} is never closed (a '\"' is missing)"));
    }
    if !field.is_empty() || !record.is_empty() {
        record.push(field);
        records.push(record);
    }
    Ok(records)
}

/// A CSV field as a cell. greenledger's export puts an apostrophe before text starting with
/// `= + - @` so that spreadsheets do not run it as a formula (`export::csv_text`); it is taken off
/// again here, so an exported file reads back as it was written.
pub fn cell(field: String) -> Cell {
    if field.trim().is_empty() {
        return Cell::Empty;
    }
    match field.strip_prefix('\'') {
        Some(rest) if rest.starts_with(['=', '+', '-', '@', '\t', '\r']) => Cell::Text(rest.to_owned()),
        _ => Cell::Text(field),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quoted_fields_hold_separators_quotes_and_line_breaks() {
        let text = "标题,说明\r\n\"青溪河, 城东段\",\"他说\"\"清淤\"\"\"\r\n\"两行\n文字\",\r\n";
        assert_eq!(
            records(text).unwrap(),
            [
                vec!["标题".to_owned(), "说明".to_owned()],
                vec!["青溪河, 城东段".to_owned(), "他说\"清淤\"".to_owned()],
                vec!["两行\n文字".to_owned(), String::new()],
            ]
        );
    }

    #[test]
    fn the_last_line_needs_no_line_break_and_tabs_separate_when_commas_do_not() {
        assert_eq!(records("a,b\n1,2").unwrap(), [vec!["a", "b"], vec!["1", "2"]]);
        assert_eq!(records("a\tb\n1,5\t2\n").unwrap(), [vec!["a", "b"], vec!["1,5", "2"]]);
    }

    #[test]
    fn an_open_quote_is_refused_with_its_line() {
        let e = records("a,b\n1,2\n\"open,3\n4,5\n").unwrap_err();
        assert_eq!(e, "the quoted field opened on line 3 is never closed (a '\"' is missing)");
    }

    #[test]
    fn the_exports_formula_guard_is_taken_off() {
        assert_eq!(cell("'-1".into()), Cell::Text("-1".into()));
        assert_eq!(cell("'+86 571 8888 0000".into()), Cell::Text("+86 571 8888 0000".into()));
        assert_eq!(cell("'s Hertogenbosch".into()), Cell::Text("'s Hertogenbosch".into()));
        assert_eq!(cell(" ".into()), Cell::Empty);
    }
}
