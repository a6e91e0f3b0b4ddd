//! A cell's value as the JSON a Feature's property holds, for the field its column fills. Only the
//! reading is done here (a number written as text, a date cell, 是/否, 已完成, a township by its
//! name); every rule about the value (ranges, decimals, lengths) is the create parser's.

use std::collections::HashMap;

use chrono::{DateTime, NaiveDate, NaiveDateTime, SecondsFormat, Utc};
use serde_json::{Value, json};

use super::Cell;
use super::headers::Target;
use crate::domain::export::status_zh;
use crate::domain::task::Status;
use crate::domain::{Code, Message};

/// What the database knows that reading a row needs.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Lookups {
    /// (code, Chinese name, English name) of every category.
    pub categories: Vec<(String, String, String)>,
    /// (code, name) of every township.
    pub townships: Vec<(String, String)>,
    /// The county's local times met in the sheet, as instants (the database knows the zone's rules).
    pub local_times: HashMap<NaiveDateTime, DateTime<Utc>>,
}

/// The JSON for `cell` in the column of `target`; `None` for a blank cell. The refusal is a
/// sentence about the cell's content.
pub fn value(target: Target, cell: &Cell, lookups: &Lookups) -> Result<Option<Value>, Message> {
    if cell.is_blank() {
        return Ok(None);
    }
    if let Cell::Error(e) = cell {
        let detail = format!("the cell holds the spreadsheet error {e}");
        return Err(Message::new(Code::Format, detail).with("expected", "number").with("got", e.as_str()));
    }
    let name = match target {
        Target::Field(name) => name,
        Target::Lon | Target::Lat => return number(cell, false).map(|x| Some(json!(x))),
        Target::Wkt | Target::Ignore => return Ok(Some(Value::String(text(cell)))),
    };
    let v = match name {
        "category" => Value::String(category(&text(cell), lookups)?),
        "township" => Value::String(township(&text(cell), lookups)?),
        "status" => Value::String(status(&text(cell))?.into()),
        "visibility" => Value::String(visibility(&text(cell))?.into()),
        "supervised" => Value::Bool(yes_no(cell)?),
        "progress" => json!(number(cell, true)?),
        "planned_investment" | "actual_investment" | "target_quantity" => json!(number(cell, false)?),
        "due_date" => Value::String(date(cell)?),
        "completed_at" => Value::String(instant(cell, lookups)?),
        _ => Value::String(text(cell)),
    };
    Ok(Some(v))
}

/// A cell as text: numbers without a needless `.0` (a phone number or a code typed as a number),
/// dates as `YYYY-MM-DD`.
pub fn text(cell: &Cell) -> String {
    match cell {
        Cell::Empty => String::new(),
        Cell::Text(s) => s.trim().to_owned(),
        Cell::Number(x) if x.fract() == 0.0 && x.abs() < 1e15 => format!("{x:.0}"),
        Cell::Number(x) => x.to_string(),
        Cell::Bool(b) => b.to_string(),
        Cell::DateTime(t) if t.time() == chrono::NaiveTime::MIN => t.date().to_string(),
        Cell::DateTime(t) => t.format("%Y-%m-%d %H:%M:%S").to_string(),
        Cell::Error(e) => e.clone(),
    }
}

/// A number cell, or text that is one (`1,234.5`; with `percent`, `60%`).
fn number(cell: &Cell, percent: bool) -> Result<f64, Message> {
    let refused =
        |detail: String| Message::new(Code::Format, detail).with("expected", "number").with("got", text(cell));
    match cell {
        Cell::Number(x) => Ok(*x),
        Cell::Text(s) => {
            let s = s.trim();
            let plain: String = s.chars().filter(|c| !matches!(c, ',' | '，' | ' ')).collect();
            let plain = if percent { plain.trim_end_matches(['%', '％']) } else { plain.as_str() };
            plain.parse::<f64>().ok().filter(|x| x.is_finite()).ok_or_else(|| refused(format!("'{s}' is not a number")))
        }
        Cell::DateTime(_) => Err(refused(format!("{} is a date, not a number", text(cell)))),
        other => Err(refused(format!("'{}' is not a number", text(other)))),
    }
}

/// A category by its code, its Chinese name or its English name.
fn category(s: &str, lookups: &Lookups) -> Result<String, Message> {
    let wanted = super::headers::normalize(s);
    let found = lookups.categories.iter().find(|(code, zh, en)| {
        *code == s || super::headers::normalize(zh) == wanted || super::headers::normalize(en) == wanted
    });
    found.map(|(code, ..)| code.clone()).ok_or_else(|| {
        let known: Vec<String> = lookups.categories.iter().map(|(code, zh, _)| format!("{zh} ({code})")).collect();
        let detail = format!("unknown category '{s}'; categories are: {}", known.join(", "));
        Message::new(Code::UnknownValue, detail).with("got", s).with("allowed", known)
    })
}

/// A township by its code (9 or 12 digits) or its name.
fn township(s: &str, lookups: &Lookups) -> Result<String, Message> {
    let wanted = super::headers::normalize(s);
    let found = lookups.townships.iter().find(|(code, name)| *code == s || super::headers::normalize(name) == wanted);
    found.map(|(code, _)| code.clone()).ok_or_else(|| {
        let known: Vec<String> = lookups.townships.iter().map(|(code, name)| format!("{name} ({code})")).collect();
        let detail = format!("unknown township '{s}'; townships are: {}", known.join(", "));
        Message::new(Code::UnknownValue, detail).with("got", s).with("allowed", known)
    })
}

/// A status by its code or as a ledger writes it (未开工, 推进中, 已完成, 已销号, 已取消, and the
/// everyday 进行中, 在建, 完成 …).
fn status(s: &str) -> Result<&'static str, Message> {
    let synonyms: &[(&str, Status)] = &[
        ("未启动", Status::Planned),
        ("计划", Status::Planned),
        ("未开始", Status::Planned),
        ("进行中", Status::InProgress),
        ("在建", Status::InProgress),
        ("实施中", Status::InProgress),
        ("整改中", Status::InProgress),
        ("完成", Status::Completed),
        ("已完工", Status::Completed),
        ("销号", Status::Verified),
        ("已验收", Status::Verified),
        ("取消", Status::Cancelled),
    ];
    Status::ALL
        .iter()
        .map(|(_, st)| *st)
        .find(|st| st.as_str() == s || status_zh(*st) == s)
        .or_else(|| synonyms.iter().find(|(name, _)| *name == s).map(|(_, st)| *st))
        .map(Status::as_str)
        .ok_or_else(|| {
            let known: Vec<String> =
                Status::ALL.iter().map(|(code, st)| format!("{} ({code})", status_zh(*st))).collect();
            let detail = format!("'{s}' is not a status; statuses are: {}", known.join(", "));
            Message::new(Code::UnknownValue, detail).with("got", s).with("allowed", known)
        })
}

fn visibility(s: &str) -> Result<&'static str, Message> {
    match s {
        "public" | "公开" | "是" => Ok("public"),
        "internal" | "内部" | "不公开" | "否" => Ok("internal"),
        other => Err(Message::new(Code::UnknownValue, format!("'{other}' is not 公开 (public) or 内部 (internal)"))
            .with("got", other)
            .with("allowed", vec!["公开", "内部"])),
    }
}

fn yes_no(cell: &Cell) -> Result<bool, Message> {
    if let Cell::Bool(b) = cell {
        return Ok(*b);
    }
    match text(cell).to_ascii_lowercase().as_str() {
        "是" | "true" | "yes" | "y" | "1" | "√" => Ok(true),
        "否" | "false" | "no" | "n" | "0" => Ok(false),
        other => Err(Message::new(Code::UnknownValue, format!("'{other}' is not 是 or 否 (yes or no)"))
            .with("got", other)
            .with("allowed", vec!["是", "否"])),
    }
}

/// The numbers of a date or time written as text: `2026-12-31`, `2026/12/31`, `2026.12.31`,
/// `2026年12月31日`, optionally followed by a time.
fn numbers_of(s: &str) -> Vec<u32> {
    s.split(|c: char| !c.is_ascii_digit()).filter(|p| !p.is_empty()).filter_map(|p| p.parse().ok()).collect()
}

/// The date of a text such as `2026/12/31`, when it is one.
fn text_date(s: &str) -> Option<NaiveDate> {
    let starts_with_year = s.trim().chars().take_while(char::is_ascii_digit).count() == 4;
    match numbers_of(s)[..] {
        [y, m, d, ..] if starts_with_year => NaiveDate::from_ymd_opt(y as i32, m, d),
        _ => None,
    }
}

/// A due date: a date cell, or text holding one. Text that is not a date is handed on as it is, to
/// be refused by the create rules with the form they expect.
fn date(cell: &Cell) -> Result<String, Message> {
    match cell {
        Cell::DateTime(t) => Ok(t.date().to_string()),
        Cell::Number(x) => {
            let detail =
                format!("{x} is a number, not a date: make the column a date column, or write dates as 2026-12-31");
            Err(Message::new(Code::Format, detail).with("expected", "date").with("got", x.to_string()))
        }
        other => {
            let s = text(other);
            Ok(text_date(&s).map_or(s, |d| d.to_string()))
        }
    }
}

/// A local time of the county in `cell` (a date-time cell, or text `2026-05-01 09:30` or a date),
/// when it holds one; RFC 3339 text with an offset is not local and gives `None`.
pub fn local_time(cell: &Cell) -> Option<NaiveDateTime> {
    match cell {
        Cell::DateTime(t) => Some(*t),
        Cell::Text(s) if DateTime::parse_from_rfc3339(s.trim()).is_err() => {
            let date = text_date(s)?;
            let n = numbers_of(s);
            let (h, m, sec) = (n.get(3).copied().unwrap_or(0), n.get(4).copied().unwrap_or(0), n.get(5).copied());
            date.and_hms_opt(h, m, sec.unwrap_or(0))
        }
        _ => None,
    }
}

/// A completion time: RFC 3339 text as it is; a local time as the instant the county's clock meant.
fn instant(cell: &Cell, lookups: &Lookups) -> Result<String, Message> {
    match local_time(cell) {
        Some(t) => lookups.local_times.get(&t).map(|i| i.to_rfc3339_opts(SecondsFormat::Secs, true)).ok_or_else(|| {
            Message::new(Code::Format, format!("{t} is not a time of the county's clock"))
                .with("expected", "timestamp")
                .with("got", t.to_string())
        }),
        None => Ok(text(cell)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lookups() -> Lookups {
        Lookups {
            categories: vec![
                ("watershed".into(), "重点流域水环境整治".into(), "Watershed clean-up".into()),
                ("energy".into(), "节能减排".into(), "Energy saving and emissions".into()),
            ],
            townships: vec![("330599101".into(), "青溪镇".into()), ("330599001".into(), "城东街道".into())],
            local_times: HashMap::from([(
                NaiveDate::from_ymd_opt(2026, 5, 1).unwrap().and_hms_opt(9, 30, 0).unwrap(),
                "2026-05-01T01:30:00Z".parse().unwrap(),
            )]),
        }
    }

    fn read(field: &'static str, cell: Cell) -> Result<Option<Value>, String> {
        value(Target::Field(field), &cell, &lookups()).map_err(|m| m.detail)
    }

    fn text_cell(s: &str) -> Cell {
        Cell::Text(s.into())
    }

    #[test]
    fn numbers_come_from_number_cells_and_from_text_that_is_a_number() {
        assert_eq!(read("planned_investment", Cell::Number(12.5)), Ok(Some(json!(12.5))));
        assert_eq!(read("planned_investment", text_cell(" 1,234.50 ")), Ok(Some(json!(1234.5))));
        assert_eq!(read("progress", text_cell("60%")), Ok(Some(json!(60.0))));
        assert_eq!(read("planned_investment", text_cell("约50")), Err("'约50' is not a number".into()));
        assert_eq!(read("planned_investment", text_cell("60%")), Err("'60%' is not a number".into()));
        assert_eq!(
            read("planned_investment", Cell::Error("#DIV/0!".into())).unwrap_err(),
            "the cell holds the spreadsheet error #DIV/0!"
        );
        assert_eq!(read("planned_investment", text_cell("  ")), Ok(None));
    }

    #[test]
    fn categories_and_townships_by_code_or_name_and_unknown_ones_listed() {
        assert_eq!(read("category", text_cell("节能减排")), Ok(Some(json!("energy"))));
        assert_eq!(read("category", text_cell("watershed")), Ok(Some(json!("watershed"))));
        assert_eq!(read("category", text_cell("watershed clean-up")), Ok(Some(json!("watershed"))));
        assert_eq!(
            read("category", text_cell("生态修复")).unwrap_err(),
            "unknown category '生态修复'; categories are: 重点流域水环境整治 (watershed), 节能减排 (energy)"
        );
        assert_eq!(read("township", text_cell("青溪镇")), Ok(Some(json!("330599101"))));
        assert_eq!(read("township", Cell::Number(330599001.0)), Ok(Some(json!("330599001"))));
        assert!(read("township", text_cell("330599999")).unwrap_err().starts_with("unknown township '330599999'"));
    }

    #[test]
    fn statuses_flags_and_visibility_as_ledgers_write_them() {
        assert_eq!(read("status", text_cell("推进中")), Ok(Some(json!("in_progress"))));
        assert_eq!(read("status", text_cell("进行中")), Ok(Some(json!("in_progress"))));
        assert_eq!(read("status", text_cell("verified")), Ok(Some(json!("verified"))));
        assert!(read("status", text_cell("暂停")).unwrap_err().contains("未开工 (planned)"));
        assert_eq!(read("supervised", text_cell("是")), Ok(Some(json!(true))));
        assert_eq!(read("supervised", Cell::Bool(false)), Ok(Some(json!(false))));
        assert!(read("supervised", text_cell("也许")).is_err());
        assert_eq!(read("visibility", text_cell("内部")), Ok(Some(json!("internal"))));
    }

    #[test]
    fn dates_from_date_cells_and_the_usual_ways_of_writing_them() {
        let d = NaiveDate::from_ymd_opt(2026, 12, 31).unwrap().and_hms_opt(0, 0, 0).unwrap();
        assert_eq!(read("due_date", Cell::DateTime(d)), Ok(Some(json!("2026-12-31"))));
        for written in ["2026/12/31", "2026.12.31", "2026年12月31日", "2026-12-31 00:00:00"] {
            assert_eq!(read("due_date", text_cell(written)), Ok(Some(json!("2026-12-31"))), "{written}");
        }
        assert_eq!(read("due_date", text_cell("明年")), Ok(Some(json!("明年"))), "refused by the create rules");
        assert!(read("due_date", Cell::Number(46022.0)).unwrap_err().contains("not a date"));
    }

    #[test]
    fn completion_times_are_the_countys_local_time() {
        let t = NaiveDate::from_ymd_opt(2026, 5, 1).unwrap().and_hms_opt(9, 30, 0).unwrap();
        assert_eq!(read("completed_at", Cell::DateTime(t)), Ok(Some(json!("2026-05-01T01:30:00Z"))));
        assert_eq!(read("completed_at", text_cell("2026/5/1 9:30")), Ok(Some(json!("2026-05-01T01:30:00Z"))));
        assert_eq!(
            read("completed_at", text_cell("2026-05-01T09:30:00+08:00")),
            Ok(Some(json!("2026-05-01T09:30:00+08:00")))
        );
        assert_eq!(local_time(&text_cell("2026-05-01T09:30:00Z")), None);
    }

    #[test]
    fn text_cells_keep_numbers_as_written() {
        assert_eq!(read("contact_phone", Cell::Number(13900001111.0)), Ok(Some(json!("13900001111"))));
        assert_eq!(read("lead_unit", text_cell(" 县水利局 ")), Ok(Some(json!("县水利局"))));
        assert_eq!(
            value(Target::Lon, &text_cell("东经120度"), &lookups()).map_err(|m| m.detail),
            Err("'东经120度' is not a number".into())
        );
    }
}
