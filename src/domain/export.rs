//! Rules of the ledger exports that do not depend on a file format's library: CSV quoting, how wide
//! a column must be for Chinese text, and the words a bureau's ledger uses.

use std::borrow::Cow;

use super::task::Status;

/// Excel reads a CSV file as UTF-8 only when it starts with a byte order mark; without one it
/// guesses the local code page (GBK on a Chinese Windows) and shows Chinese as mojibake.
pub const BOM: &str = "\u{feff}";

/// Rows in one Excel worksheet, the header included.
pub const MAX_SHEET_ROWS: usize = 1_048_576;

/// A CSV field (RFC 4180): quoted when it holds a comma, a quote or a line break.
pub fn csv_field(s: &str) -> Cow<'_, str> {
    if s.contains([',', '"', '\n', '\r']) || s.starts_with(' ') || s.ends_with(' ') {
        Cow::Owned(format!("\"{}\"", s.replace('"', "\"\"")))
    } else {
        Cow::Borrowed(s)
    }
}

/// Free text typed by people, made safe to open in a spreadsheet: text starting with = + - @ (or a
/// tab or carriage return) would be run as a formula, so it gets a leading apostrophe, which
/// spreadsheets show as plain text (OWASP's advice against CSV injection).
pub fn csv_text(s: &str) -> Cow<'_, str> {
    if s.starts_with(['=', '+', '-', '@', '\t', '\r']) {
        Cow::Owned(csv_field(&format!("'{s}")).into_owned())
    } else {
        csv_field(s)
    }
}

/// Columns a character takes in a spreadsheet's default font: East Asian wide characters (汉字,
/// full-width punctuation, Hangul, kana) take two, everything else one.
pub fn char_width(c: char) -> usize {
    let wide = matches!(c as u32,
        0x1100..=0x115F | 0x2E80..=0x303E | 0x3041..=0x33FF | 0x3400..=0x4DBF | 0x4E00..=0x9FFF
        | 0xA000..=0xA4CF | 0xAC00..=0xD7A3 | 0xF900..=0xFAFF | 0xFE30..=0xFE4F | 0xFF00..=0xFF60
        | 0xFFE0..=0xFFE6 | 0x20000..=0x3FFFD);
    if wide { 2 } else { 1 }
}

pub fn display_width(s: &str) -> usize {
    s.chars().map(char_width).sum()
}

/// A column width (in character units) fitting its widest text, with a margin, within bounds so a
/// long description does not push everything else off screen.
pub fn column_width(widest: usize) -> f64 {
    (widest + 2).clamp(6, 60) as f64
}

/// The status as the ledger writes it.
pub fn status_zh(s: Status) -> &'static str {
    match s {
        Status::Planned => "未开工",
        Status::InProgress => "推进中",
        Status::Completed => "已完成",
        Status::Verified => "已销号",
        Status::Cancelled => "已取消",
    }
}

pub fn yes_no(b: bool) -> &'static str {
    if b { "是" } else { "否" }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn csv_quotes_only_what_needs_it() {
        assert_eq!(csv_field("青溪河"), "青溪河");
        assert_eq!(csv_field("a,b"), "\"a,b\"");
        assert_eq!(csv_field("说\"清淤\""), "\"说\"\"清淤\"\"\"");
        assert_eq!(csv_field("第一行\n第二行"), "\"第一行\n第二行\"");
        assert_eq!(csv_field(" x"), "\" x\"");
    }

    #[test]
    fn text_that_a_spreadsheet_would_run_is_defused() {
        assert_eq!(csv_text("=HYPERLINK(\"http://x\")"), "\"'=HYPERLINK(\"\"http://x\"\")\"");
        assert_eq!(csv_text("+86 571 8888 0000"), "'+86 571 8888 0000");
        assert_eq!(csv_text("-1"), "'-1");
        assert_eq!(csv_text("县水利局"), "县水利局");
    }

    #[test]
    fn chinese_takes_two_columns() {
        assert_eq!(display_width("WS-2026-0042"), 12);
        assert_eq!(display_width("青溪河城东段"), 12);
        assert_eq!(display_width("（全角）"), 8);
        assert_eq!(display_width("A镇"), 3);
        assert_eq!(column_width(12), 14.0);
        assert_eq!(column_width(0), 6.0);
        assert_eq!(column_width(500), 60.0);
    }
}
