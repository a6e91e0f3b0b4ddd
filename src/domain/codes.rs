//! The codes that name a township or a category: what a well-formed one looks like, checked in one
//! place, and how a code that names nothing is refused.

use super::{Code, FieldError, Message};

/// A township's statistical code: 9 digits (township level) or 12 (village level).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TownshipCode(String);

impl TownshipCode {
    pub fn parse(s: &str) -> Result<TownshipCode, Message> {
        if (s.len() == 9 || s.len() == 12) && s.bytes().all(|b| b.is_ascii_digit()) {
            Ok(TownshipCode(s.to_owned()))
        } else {
            Err(Message::new(Code::Format, format!("'{s}' is not a township code (9 or 12 digits)"))
                .with("expected", "township_code")
                .with("got", s))
        }
    }

    pub fn into_string(self) -> String {
        self.0
    }
}

/// A category's code: lower-case letters, digits and `_`, starting with a letter, 2 to 32 (as the
/// table's CHECK has it).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CategoryCode(String);

impl CategoryCode {
    pub fn parse(s: &str) -> Result<CategoryCode, Message> {
        let ok = (2..=32).contains(&s.len())
            && s.starts_with(|c: char| c.is_ascii_lowercase())
            && s.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_');
        if ok {
            Ok(CategoryCode(s.to_owned()))
        } else {
            let detail =
                format!("'{s}' is not a category code (2–32 lower-case letters, digits, _, starting with a letter)");
            Err(Message::new(Code::Format, detail).with("expected", "category_code").with("got", s))
        }
    }

    pub fn into_string(self) -> String {
        self.0
    }
}

/// The refusal of a category code that names no category, listing those there are.
pub fn unknown_category(pointer: &str, code: &str, known: &[impl AsRef<str>]) -> FieldError {
    let known: Vec<&str> = known.iter().map(AsRef::as_ref).collect();
    let detail = format!("unknown category '{code}'; categories are: {}", known.join(", "));
    FieldError::new(pointer, Code::UnknownValue, detail).with("got", code).with("allowed", known)
}

/// The refusal of a task filed under a retired family (the tasks' trigger, migrations/0012, raises
/// the same for writes that come another way).
pub fn retired_category(pointer: &str, code: &str) -> FieldError {
    let detail =
        format!("the task family '{code}' is retired: its tasks are kept, but no task can be filed under it any more");
    FieldError::new(pointer, Code::FamilyRetired, detail).with("family", code)
}

/// The refusal of a township code that names no township.
pub fn unknown_township(pointer: &str, code: &str) -> FieldError {
    FieldError::new(pointer, Code::UnknownValue, format!("unknown township '{code}'")).with("got", code)
}

/// The refusal of a task given to a retired department (the tasks' trigger, migrations/0020,
/// raises the same for writes that come another way).
pub fn retired_department(pointer: &str, code: &str) -> FieldError {
    let detail = format!("the department '{code}' is retired: no task can be given to it any more");
    FieldError::new(pointer, Code::DepartmentRetired, detail).with("department", code)
}

/// The refusal of a department code that names no department.
pub fn unknown_department(pointer: &str, code: &str) -> FieldError {
    FieldError::new(pointer, Code::UnknownValue, format!("unknown department '{code}'")).with("got", code)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn township_codes_have_9_or_12_digits() {
        assert!(TownshipCode::parse("330599101").is_ok());
        assert!(TownshipCode::parse("330599101001").is_ok());
        assert_eq!(
            TownshipCode::parse("33059910").unwrap_err().detail,
            "'33059910' is not a township code (9 or 12 digits)"
        );
        assert!(TownshipCode::parse("33059910x").is_err());
    }

    #[test]
    fn category_codes_are_lower_case_words() {
        assert!(CategoryCode::parse("watershed").is_ok());
        assert!(CategoryCode::parse("air_2").is_ok());
        assert!(CategoryCode::parse("Water").is_err());
        assert!(CategoryCode::parse("2air").is_err());
        assert!(CategoryCode::parse("a").is_err(), "the table wants two characters at least");
    }

    #[test]
    fn unknown_codes_are_named_with_the_known_ones() {
        let e = unknown_category("category", "mining", &["watershed", "energy"]);
        assert_eq!(e.detail, "unknown category 'mining'; categories are: watershed, energy");
        assert_eq!(unknown_township("/properties/township", "330599199").detail, "unknown township '330599199'");
    }
}
