//! Reading typed values out of a JSON object, collecting every problem with its JSON pointer, so a
//! person fixing a form or a script sees all of them at once.

use chrono::{DateTime, NaiveDate, Utc};
use serde_json::{Map, Value};

use super::{Code, FieldError, Message};

/// A JSON value's type in English, for sentences ("a string").
pub fn json_type(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

/// A JSON object being read field by field.
pub struct Props<'a> {
    map: &'a Map<String, Value>,
    base: String,
    pub errors: Vec<FieldError>,
}

/// What a field held: absent, explicitly null, or a value.
pub enum Slot<T> {
    Absent,
    Null,
    Value(T),
    Invalid,
}

impl<'a> Props<'a> {
    pub fn new(map: &'a Map<String, Value>, base: &str) -> Self {
        Self { map, base: base.to_owned(), errors: Vec::new() }
    }

    /// Reads `body`, which must be a JSON object.
    pub fn object(body: &'a Value, base: &str) -> Result<Self, Vec<FieldError>> {
        match body {
            Value::Object(map) => Ok(Self::new(map, base)),
            other => Err(vec![wrong_type("object", "must be a JSON object", other).at(base)]),
        }
    }

    pub fn pointer(&self, key: &str) -> String {
        format!("{}/{}", self.base, key.replace('~', "~0").replace('/', "~1"))
    }

    pub fn fail(&mut self, key: &str, why: Message) {
        let pointer = self.pointer(key);
        self.errors.push(why.at(pointer));
    }

    /// Refuses keys outside `known` (catching typos such as `due` for `due_date`); keys in `ignored`
    /// are accepted and dropped, so a Feature read from the API can be sent back as it is.
    pub fn refuse_unknown(&mut self, known: &[&str], ignored: &[&str]) {
        let unknown: Vec<String> = self
            .map
            .keys()
            .filter(|k| !known.contains(&k.as_str()) && !ignored.contains(&k.as_str()))
            .cloned()
            .collect();
        for key in unknown {
            let why = Message::new(
                Code::UnknownField,
                format!("unknown property '{key}'; known properties are: {}", known.join(", ")),
            );
            self.fail(&key, why.with("name", key.as_str()).with("allowed", known.to_vec()));
        }
    }

    pub fn read<T>(&mut self, key: &str, convert: impl FnOnce(&Value) -> Result<T, Message>) -> Slot<T> {
        match self.map.get(key) {
            None => Slot::Absent,
            Some(Value::Null) => Slot::Null,
            Some(v) => match convert(v) {
                Ok(x) => Slot::Value(x),
                Err(detail) => {
                    self.fail(key, detail);
                    Slot::Invalid
                }
            },
        }
    }

    /// A field that may be absent or null (both mean "not given").
    pub fn optional<T>(&mut self, key: &str, convert: impl FnOnce(&Value) -> Result<T, Message>) -> Option<T> {
        match self.read(key, convert) {
            Slot::Value(v) => Some(v),
            _ => None,
        }
    }

    /// A field that must be present and not null.
    pub fn required<T>(&mut self, key: &str, convert: impl FnOnce(&Value) -> Result<T, Message>) -> Option<T> {
        match self.read(key, convert) {
            Slot::Value(v) => Some(v),
            Slot::Absent | Slot::Null => {
                self.fail(key, Message::new(Code::Required, format!("'{key}' is required")));
                None
            }
            Slot::Invalid => None,
        }
    }

    /// For patches: `None` keeps the stored value, `Some(v)` replaces it. Null is refused because
    /// the field cannot be empty.
    pub fn change<T>(&mut self, key: &str, convert: impl FnOnce(&Value) -> Result<T, Message>) -> Option<T> {
        match self.read(key, convert) {
            Slot::Value(v) => Some(v),
            Slot::Null => {
                self.fail(key, Message::new(Code::Required, format!("'{key}' cannot be null")));
                None
            }
            Slot::Absent | Slot::Invalid => None,
        }
    }

    /// For patches of optional fields: `None` keeps, `Some(None)` clears, `Some(Some(v))` sets.
    pub fn change_nullable<T>(
        &mut self,
        key: &str,
        convert: impl FnOnce(&Value) -> Result<T, Message>,
    ) -> Option<Option<T>> {
        match self.read(key, convert) {
            Slot::Value(v) => Some(Some(v)),
            Slot::Null => Some(None),
            Slot::Absent | Slot::Invalid => None,
        }
    }
}

/// The refusal of a JSON value of the wrong type: `expected` names the type in the code's terms,
/// `sentence` says it in English ("must be a string").
pub fn wrong_type(expected: &str, sentence: &str, got: &Value) -> Message {
    Message::new(Code::WrongType, format!("{sentence}, got {}", json_type(got)))
        .with("expected", expected)
        .with("type", type_code(got))
}

/// A JSON value's type as the codes name it (`string`, `number`, ...).
pub fn type_code(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "boolean",
        Value::Number(_) => "number",
        Value::String(_) => "string",
        Value::Array(_) => "array",
        Value::Object(_) => "object",
    }
}

/// A string value, or the refusal of another type.
pub fn string(v: &Value) -> Result<&str, Message> {
    v.as_str().ok_or_else(|| wrong_type("string", "must be a string", v))
}

/// Trimmed text of at most `max` characters; `allow_empty` decides whether "" is a value.
pub fn text(max: usize, allow_empty: bool) -> impl FnOnce(&Value) -> Result<String, Message> {
    move |v| {
        let s = string(v)?.trim();
        if let Some(why) = super::text::refusal(s) {
            return Err(why);
        }
        let n = s.chars().count();
        if n == 0 && !allow_empty {
            return Err(Message::new(Code::Required, "must not be empty"));
        }
        if n > max {
            return Err(Message::new(Code::TooLong, format!("must be at most {max} characters, got {n}"))
                .with("max", max)
                .with("got", n));
        }
        Ok(s.to_owned())
    }
}

/// One of a fixed list of codes.
pub fn one_of<T: Copy>(allowed: &'static [(&'static str, T)]) -> impl FnOnce(&Value) -> Result<T, Message> {
    move |v| {
        let s = string(v)?;
        allowed.iter().find(|(name, _)| *name == s).map(|(_, x)| *x).ok_or_else(|| {
            let names: Vec<&str> = allowed.iter().map(|(n, _)| *n).collect();
            Message::new(Code::UnknownValue, format!("'{s}' is not one of: {}", names.join(", ")))
                .with("got", s)
                .with("allowed", names)
        })
    }
}

/// The refusal of a number outside `min..=max`.
pub fn out_of_range<T: std::fmt::Display + Into<Value>>(min: T, max: T, got: T) -> Message {
    Message::new(Code::Range, format!("must be between {min} and {max}, got {got}"))
        .with("min", min)
        .with("max", max)
        .with("got", got)
}

pub fn integer(min: i64, max: i64) -> impl FnOnce(&Value) -> Result<i64, Message> {
    move |v| {
        let whole = |got: &Value| wrong_type("integer", "must be a whole number", got);
        let n = match v {
            Value::Number(n) => n
                .as_i64()
                .or_else(|| n.as_f64().filter(|f| f.fract() == 0.0 && f.abs() < 1e15).map(|f| f as i64))
                .ok_or_else(|| {
                    Message::new(Code::Format, format!("must be a whole number, got {n}"))
                        .with("expected", "integer")
                        .with("got", n.to_string())
                })?,
            other => return Err(whole(other)),
        };
        if !(min..=max).contains(&n) {
            return Err(out_of_range(min, max, n));
        }
        Ok(n)
    }
}

/// A non-negative amount up to `max` with at most `decimals` decimal places.
pub fn amount(max: f64, decimals: Option<u32>) -> impl FnOnce(&Value) -> Result<f64, Message> {
    move |v| {
        let x = v.as_f64().ok_or_else(|| wrong_type("number", "must be a number", v))?;
        if !(0.0..=max).contains(&x) {
            return Err(out_of_range(0.0, max, x));
        }
        if let Some(d) = decimals {
            let scale = 10f64.powi(d as i32);
            if ((x * scale).round() / scale - x).abs() > 1e-9 * x.max(1.0) {
                return Err(Message::new(Code::Decimals, format!("must have at most {d} decimal places, got {x}"))
                    .with("max", d)
                    .with("got", x));
            }
        }
        Ok(x)
    }
}

/// A number in `min..=max` (a coordinate, a distance in metres).
pub fn number(min: f64, max: f64) -> impl FnOnce(&Value) -> Result<f64, Message> {
    move |v| {
        let x = v.as_f64().ok_or_else(|| wrong_type("number", "must be a number", v))?;
        if !(min..=max).contains(&x) {
            return Err(out_of_range(min, max, x));
        }
        Ok(x)
    }
}

pub fn boolean(v: &Value) -> Result<bool, Message> {
    v.as_bool().ok_or_else(|| wrong_type("boolean", "must be true or false", v))
}

/// A calendar date, `YYYY-MM-DD`.
pub fn date(v: &Value) -> Result<NaiveDate, Message> {
    let s = v.as_str().ok_or_else(|| wrong_type("date", "must be a date string YYYY-MM-DD", v))?;
    NaiveDate::parse_from_str(s, "%Y-%m-%d")
        .ok()
        .filter(|d| s.len() == 10 && (1990..=2100).contains(&chrono::Datelike::year(d)))
        .ok_or_else(|| {
            Message::new(Code::Format, format!("'{s}' is not a date in the form YYYY-MM-DD between 1990 and 2100"))
                .with("expected", "date")
                .with("got", s)
        })
}

/// `d` as `YYYY-MM-DD` into `out` (emptied first), as PostgreSQL prints a date of years 0–9999.
/// By hand rather than through chrono's formatter: a tile writes one per task.
pub fn write_date(d: NaiveDate, out: &mut String) {
    use chrono::Datelike;
    out.clear();
    let year = d.year();
    if !(0..=9999).contains(&year) {
        use std::fmt::Write;
        let _ = write!(out, "{year}-{:02}-{:02}", d.month(), d.day());
        return;
    }
    let digits = |n: u32, width: u32, out: &mut String| {
        for place in (0..width).rev() {
            out.push(char::from(b'0' + (n / 10u32.pow(place) % 10) as u8));
        }
    };
    digits(year as u32, 4, out);
    out.push('-');
    digits(d.month(), 2, out);
    out.push('-');
    digits(d.day(), 2, out);
}

/// An RFC 3339 timestamp with an offset.
pub fn timestamp(v: &Value) -> Result<DateTime<Utc>, Message> {
    let s = v.as_str().ok_or_else(|| wrong_type("timestamp", "must be an RFC 3339 timestamp string", v))?;
    DateTime::parse_from_rfc3339(s).map(|t| t.with_timezone(&Utc)).map_err(|_| {
        Message::new(Code::Format, format!("'{s}' is not an RFC 3339 timestamp such as 2026-05-01T09:30:00+08:00"))
            .with("expected", "timestamp")
            .with("got", s)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates_are_written_as_iso_calendar_dates() {
        let mut out = String::from("left over");
        for (y, m, d) in [(2026, 12, 2), (1990, 1, 1), (2100, 12, 31), (7, 3, 9), (9999, 10, 10), (2024, 2, 29)] {
            let date = NaiveDate::from_ymd_opt(y, m, d).expect("a date");
            write_date(date, &mut out);
            assert_eq!(out, date.format("%Y-%m-%d").to_string());
        }
        write_date(NaiveDate::from_ymd_opt(12345, 6, 7).expect("a date"), &mut out);
        assert_eq!(out, "12345-06-07");
    }
}
