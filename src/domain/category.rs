//! Task families (categories) as an administrator adds and changes them: what each field may hold.
//! Whether a code or prefix may still change depends on the tasks filed under the family, which
//! the store knows; the refusal's words are here.

use serde_json::Value;

use super::codes::CategoryCode;
use super::fields::{self, Props, wrong_type};
use super::{Code, FieldError, Message};

const FIELDS: &[&str] = &["code", "prefix", "name_zh", "name_en", "color", "sort_order"];

/// What a family asks of report photos; set by changing the family (a new one starts at the
/// defaults: 500 m, an after photo to complete, no before photo to start).
const EVIDENCE: &[&str] = &["photo_far_m", "require_after_photo", "require_before_photo"];

fn code(v: &Value) -> Result<String, Message> {
    let s = v.as_str().ok_or_else(|| wrong_type("string", "must be a family code string", v))?;
    CategoryCode::parse(s.trim()).map(CategoryCode::into_string)
}

/// The prefix of the family's task codes (`WS` in `WS-2026-0042`): 2 to 4 letters A–Z, taken in
/// upper case.
fn prefix(v: &Value) -> Result<String, Message> {
    let s = fields::string(v)?.trim().to_ascii_uppercase();
    if (2..=4).contains(&s.len()) && s.bytes().all(|b| b.is_ascii_uppercase()) {
        Ok(s)
    } else {
        let detail = format!("'{s}' is not a task code prefix (2 to 4 letters A–Z, as WS in WS-2026-0042)");
        Err(Message::new(Code::Format, detail).with("expected", "task_code_prefix").with("got", s))
    }
}

/// A colour as `#rrggbb`, kept in lower case.
fn color(v: &Value) -> Result<String, Message> {
    let s = fields::string(v)?.trim().to_ascii_lowercase();
    let hex = s.strip_prefix('#').unwrap_or("");
    if hex.len() == 6 && hex.bytes().all(|b| b.is_ascii_hexdigit()) {
        Ok(s)
    } else {
        let detail = format!("'{s}' is not a colour in the form #rrggbb, such as #1f78b4");
        Err(Message::new(Code::Format, detail).with("expected", "color").with("got", s))
    }
}

fn sort_order(v: &Value) -> Result<i32, Message> {
    fields::integer(-100_000, 100_000)(v).map(|n| n as i32)
}

fn name(v: &Value) -> Result<String, Message> {
    fields::text(100, false)(v)
}

/// A family to add. Without `sort_order` it goes after the others.
#[derive(Debug, Clone, PartialEq)]
pub struct NewCategory {
    pub code: String,
    pub prefix: String,
    pub name_zh: String,
    pub name_en: String,
    pub color: String,
    pub sort_order: Option<i32>,
}

impl NewCategory {
    pub fn parse(body: &Value) -> Result<NewCategory, Vec<FieldError>> {
        let mut p = Props::object(body, "")?;
        p.refuse_unknown(FIELDS, &[]);
        let family = NewCategory {
            code: p.required("code", code).unwrap_or_default(),
            prefix: p.required("prefix", prefix).unwrap_or_default(),
            name_zh: p.required("name_zh", name).unwrap_or_default(),
            name_en: p.required("name_en", name).unwrap_or_default(),
            color: p.required("color", color).unwrap_or_default(),
            sort_order: p.optional("sort_order", sort_order),
        };
        if p.errors.is_empty() { Ok(family) } else { Err(p.errors) }
    }
}

/// A change to a family: any of its fields, and `retired` (true retires it, false brings it back).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct CategoryChange {
    pub code: Option<String>,
    pub prefix: Option<String>,
    pub name_zh: Option<String>,
    pub name_en: Option<String>,
    pub color: Option<String>,
    pub sort_order: Option<i32>,
    pub retired: Option<bool>,
    pub photo_far_m: Option<i32>,
    pub require_after_photo: Option<bool>,
    pub require_before_photo: Option<bool>,
}

impl CategoryChange {
    pub fn parse(body: &Value) -> Result<CategoryChange, Vec<FieldError>> {
        let mut p = Props::object(body, "")?;
        p.refuse_unknown(&[FIELDS, &["retired"], EVIDENCE].concat(), &[]);
        let change = CategoryChange {
            code: p.change("code", code),
            prefix: p.change("prefix", prefix),
            name_zh: p.change("name_zh", name),
            name_en: p.change("name_en", name),
            color: p.change("color", color),
            sort_order: p.change("sort_order", sort_order),
            retired: p.change("retired", fields::boolean),
            photo_far_m: p.change("photo_far_m", |v| fields::integer(10, 100_000)(v).map(|n| n as i32)),
            require_after_photo: p.change("require_after_photo", fields::boolean),
            require_before_photo: p.change("require_before_photo", fields::boolean),
        };
        if p.errors.is_empty() { Ok(change) } else { Err(p.errors) }
    }

    /// Only retiring (or bringing back), as `DELETE` asks.
    pub fn retire(yes: bool) -> CategoryChange {
        CategoryChange { retired: Some(yes), ..CategoryChange::default() }
    }
}

/// The refusal of a new code or prefix for a family that tasks use: their codes carry the prefix,
/// and they name the family by its code, in exports and in other systems that pulled them.
pub fn locked(field: &str, family: &str, prefix: &str, tasks: i64) -> FieldError {
    let what = if field == "code" { "code" } else { "task code prefix" };
    let detail = format!(
        "the {what} of the family '{family}' cannot change: {tasks} task(s) are filed under it (codes {prefix}-…), \
         and exports and other systems know them by it; its names, colour and order can change"
    );
    FieldError::new(format!("/{field}"), Code::FamilyInUse, detail)
        .with("family", family)
        .with("prefix", prefix)
        .with("tasks", tasks)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn family() -> Value {
        json!({"code": "ecology", "prefix": "eco", "name_zh": "生态修复", "name_en": "Ecological restoration",
               "color": "#2E8B57"})
    }

    #[test]
    fn a_family_is_read_with_its_prefix_in_upper_case_and_its_colour_in_lower_case() {
        let f = NewCategory::parse(&family()).unwrap();
        assert_eq!((f.prefix.as_str(), f.color.as_str(), f.sort_order), ("ECO", "#2e8b57", None));
    }

    #[test]
    fn every_bad_field_is_named_at_once() {
        let e = NewCategory::parse(&json!({"code": "Eco", "prefix": "E1", "name_zh": " ", "color": "green",
                                           "sort_order": 1.5, "colour": "#000000"}))
        .unwrap_err();
        let pointers: Vec<_> = e.iter().map(|x| x.pointer.as_str()).collect();
        assert_eq!(pointers, ["/colour", "/code", "/prefix", "/name_zh", "/name_en", "/color", "/sort_order"]);
        assert!(e[5].detail.contains("#rrggbb"), "{}", e[5].detail);
    }

    #[test]
    fn a_change_may_retire_and_bring_back_but_not_empty_a_name() {
        assert_eq!(CategoryChange::parse(&json!({"retired": true})).unwrap(), CategoryChange::retire(true));
        assert_eq!(CategoryChange::parse(&json!({"retired": false})).unwrap().retired, Some(false));
        let e = CategoryChange::parse(&json!({"name_en": null, "retired": "yes"})).unwrap_err();
        let pointers: Vec<_> = e.iter().map(|x| x.pointer.as_str()).collect();
        assert_eq!(pointers, ["/name_en", "/retired"]);
    }

    #[test]
    fn a_family_sets_what_it_asks_of_photos_within_bounds() {
        let c = CategoryChange::parse(&json!({"photo_far_m": 2000, "require_before_photo": true})).unwrap();
        assert_eq!((c.photo_far_m, c.require_before_photo, c.require_after_photo), (Some(2000), Some(true), None));
        let e = CategoryChange::parse(&json!({"photo_far_m": 5, "require_after_photo": "yes"})).unwrap_err();
        let pointers: Vec<_> = e.iter().map(|x| x.pointer.as_str()).collect();
        assert_eq!(pointers, ["/photo_far_m", "/require_after_photo"]);
    }

    #[test]
    fn the_refusal_of_a_locked_prefix_says_why_and_what_may_change() {
        let e = locked("prefix", "watershed", "WS", 12);
        assert_eq!(e.pointer, "/prefix");
        assert!(
            e.detail.contains("12 task(s)") && e.detail.contains("WS-") && e.detail.contains("names"),
            "{}",
            e.detail
        );
    }
}
