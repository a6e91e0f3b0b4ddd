//! Campaigns (e.g. 生态环境攻坚三年行动 2026–2028) and their yearly targets per township and task
//! family: what a campaign and a target may hold, and how far a township is against its targets.
//!
//! Progress is never typed in; it is counted from the tasks:
//! - a task counts for a target when it belongs to the target's campaign, its township and family
//!   are the target's, and its **due date falls in the target's year** (a task without a due date
//!   counts for no year), and it is not cancelled;
//! - it is *achieved* once verified (销号), or, for a target counted `completed`, once completed or
//!   verified;
//! - towards a quantity only tasks whose `target_unit` is the target's unit count, with their
//!   `target_quantity`;
//! - a task moved to another township counts, whole, for the township that holds it when the
//!   figures are made (a frozen assessment keeps the figures of the day it was frozen).

use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::codes::{CategoryCode, TownshipCode};
use super::fields::{self, Props, wrong_type};
use super::{Code, FieldError, Message};

const CAMPAIGN_FIELDS: &[&str] = &["code", "name_zh", "name_en", "first_year", "last_year"];
const TARGET_FIELDS: &[&str] = &["year", "township", "category", "task_count", "quantity", "unit", "counted_when"];
/// How many years a campaign may span.
pub const MAX_YEARS: i32 = 10;

fn campaign_code(v: &Value) -> Result<String, Message> {
    let s = v.as_str().ok_or_else(|| wrong_type("string", "must be a campaign code string", v))?.trim();
    let ok = (2..=40).contains(&s.len())
        && s.bytes().next().is_some_and(|b| b.is_ascii_lowercase() || b.is_ascii_digit())
        && s.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_' || b == b'-');
    if ok {
        Ok(s.to_owned())
    } else {
        let detail = format!("'{s}' is not a campaign code (2 to 40 of a-z, 0-9, _ and -, as gongjian-2026)");
        Err(Message::new(Code::Format, detail).with("expected", "campaign_code").with("got", s))
    }
}

/// A campaign code from a URL path, or the refusal's words.
pub fn parse_code(raw: &str) -> Result<String, Message> {
    campaign_code(&Value::String(raw.to_owned()))
}

fn year(v: &Value) -> Result<i32, Message> {
    fields::integer(2000, 2100)(v).map(|n| n as i32)
}

fn name(v: &Value) -> Result<String, Message> {
    fields::text(100, false)(v)
}

/// A campaign to add.
#[derive(Debug, Clone, PartialEq)]
pub struct NewCampaign {
    pub code: String,
    pub name_zh: String,
    pub name_en: String,
    pub first_year: i32,
    pub last_year: i32,
}

/// The years' order and span, at `/last_year`.
fn check_years(first: i32, last: i32, errors: &mut Vec<FieldError>) {
    if last < first {
        errors.push(
            FieldError::new("/last_year", Code::Reversed, format!("ends ({last}) before it starts ({first})"))
                .with("from", first)
                .with("to", last),
        );
    } else if last - first >= MAX_YEARS {
        errors.push(fields::out_of_range(first, first + MAX_YEARS - 1, last).at("/last_year"));
    }
}

impl NewCampaign {
    pub fn parse(body: &Value) -> Result<NewCampaign, Vec<FieldError>> {
        let mut p = Props::object(body, "")?;
        p.refuse_unknown(CAMPAIGN_FIELDS, &[]);
        let c = NewCampaign {
            code: p.required("code", campaign_code).unwrap_or_default(),
            name_zh: p.required("name_zh", name).unwrap_or_default(),
            name_en: p.required("name_en", name).unwrap_or_default(),
            first_year: p.required("first_year", year).unwrap_or(0),
            last_year: p.required("last_year", year).unwrap_or(0),
        };
        if p.errors.is_empty() {
            check_years(c.first_year, c.last_year, &mut p.errors);
        }
        if p.errors.is_empty() { Ok(c) } else { Err(p.errors) }
    }
}

/// A change to a campaign: its names and years (its code never changes).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct CampaignChange {
    pub name_zh: Option<String>,
    pub name_en: Option<String>,
    pub first_year: Option<i32>,
    pub last_year: Option<i32>,
}

impl CampaignChange {
    /// `current` is the campaign's (first, last) years, to check the years after the change.
    pub fn parse(body: &Value, current: (i32, i32)) -> Result<CampaignChange, Vec<FieldError>> {
        let mut p = Props::object(body, "")?;
        p.refuse_unknown(&CAMPAIGN_FIELDS[1..], &[]);
        let c = CampaignChange {
            name_zh: p.change("name_zh", name),
            name_en: p.change("name_en", name),
            first_year: p.change("first_year", year),
            last_year: p.change("last_year", year),
        };
        if p.errors.is_empty() {
            let (first, last) = c.years(current);
            check_years(first, last, &mut p.errors);
        }
        if p.errors.is_empty() { Ok(c) } else { Err(p.errors) }
    }

    /// The years after the change.
    pub fn years(&self, (first, last): (i32, i32)) -> (i32, i32) {
        (self.first_year.unwrap_or(first), self.last_year.unwrap_or(last))
    }
}

/// The refusal of years that leave out `year`, which targets or a scheme use.
pub fn year_in_use(year: i32) -> FieldError {
    FieldError::new(
        "/first_year",
        Code::YearInUse,
        format!("{year} has targets or a scoring scheme: the campaign's years must include it"),
    )
    .with("year", year)
}

/// When a task counts towards a target.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum CountedWhen {
    /// Once completed (reported done) or verified.
    Completed,
    /// Only once verified (销号).
    Verified,
}

impl CountedWhen {
    const ALL: &'static [(&'static str, CountedWhen)] =
        &[("completed", CountedWhen::Completed), ("verified", CountedWhen::Verified)];

    pub fn as_str(self) -> &'static str {
        match self {
            CountedWhen::Completed => "completed",
            CountedWhen::Verified => "verified",
        }
    }

    pub fn parse(s: &str) -> CountedWhen {
        Self::ALL.iter().find(|(n, _)| *n == s).map_or(CountedWhen::Verified, |(_, c)| *c)
    }
}

/// A target as set (added or replaced whole): a number of tasks and/or a quantity with its unit.
#[derive(Debug, Clone, PartialEq)]
pub struct TargetInput {
    pub year: i32,
    pub township: String,
    pub category: String,
    pub task_count: Option<i32>,
    pub quantity: Option<f64>,
    pub unit: Option<String>,
    pub counted_when: CountedWhen,
}

fn township(v: &Value) -> Result<String, Message> {
    TownshipCode::parse(fields::string(v)?.trim()).map(TownshipCode::into_string)
}

fn category(v: &Value) -> Result<String, Message> {
    CategoryCode::parse(fields::string(v)?.trim()).map(CategoryCode::into_string)
}

impl TargetInput {
    /// `years` are the campaign's first and last; the year must lie between them.
    pub fn parse(body: &Value, (first, last): (i32, i32)) -> Result<TargetInput, Vec<FieldError>> {
        let mut p = Props::object(body, "")?;
        p.refuse_unknown(TARGET_FIELDS, &[]);
        let year = p.required("year", move |v| {
            let y = year(v)?;
            if (first..=last).contains(&y) { Ok(y) } else { Err(fields::out_of_range(first, last, y)) }
        });
        let t = TargetInput {
            year: year.unwrap_or(first),
            township: p.required("township", township).unwrap_or_default(),
            category: p.required("category", category).unwrap_or_default(),
            task_count: p.optional("task_count", fields::integer(1, 1_000_000)).map(|n| n as i32),
            quantity: p.optional("quantity", fields::number(0.001, 1e12)),
            unit: p.optional("unit", fields::text(20, false)),
            counted_when: p.optional("counted_when", fields::one_of(CountedWhen::ALL)).unwrap_or(CountedWhen::Verified),
        };
        t.check_measures(&mut p.errors);
        if p.errors.is_empty() { Ok(t) } else { Err(p.errors) }
    }

    /// A quantity needs its unit and a unit its quantity; a target needs a count or a quantity.
    fn check_measures(&self, errors: &mut Vec<FieldError>) {
        let pointed = |e: &FieldError, p: &str| e.pointer == p;
        if errors.iter().any(|e| pointed(e, "/quantity") || pointed(e, "/unit") || pointed(e, "/task_count")) {
            return;
        }
        match (self.quantity.is_some(), self.unit.is_some()) {
            (true, false) => errors.push(required_with("/unit", "quantity")),
            (false, true) => errors.push(required_with("/quantity", "unit")),
            _ => {}
        }
        if self.task_count.is_none() && self.quantity.is_none() && self.unit.is_none() {
            errors.push(required_with("/task_count", "no quantity"));
        }
    }
}

fn required_with(pointer: &str, field: &str) -> FieldError {
    FieldError::new(pointer, Code::RequiredWith, format!("is required when {field} is given")).with("field", field)
}

/// The refusal of a second target for the same year, township and family.
pub fn target_exists(year: i32, township: &str, family: &str) -> FieldError {
    FieldError::new(
        "/township",
        Code::TargetExists,
        format!("the campaign already has a target for {year}, {township}, {family}: change that one"),
    )
    .with("year", year)
    .with("township", township)
    .with("family", family)
}

/// The query of a campaign's targets: `year` and `township`, each optional.
pub fn target_query(pairs: &[(String, String)]) -> Result<(Option<i32>, Option<String>), Vec<FieldError>> {
    let mut errors = Vec::new();
    let (mut y, mut t) = (None, None);
    for (name, value) in pairs {
        let v = Value::String(value.trim().to_owned());
        match name.as_str() {
            "year" => match value.trim().parse::<i64>() {
                Ok(n) => match fields::integer(2000, 2100)(&Value::from(n)) {
                    Ok(n) => y = Some(n as i32),
                    Err(m) => errors.push(m.at("year")),
                },
                Err(_) => errors.push(
                    Message::new(Code::Format, format!("'{value}' is not a year"))
                        .with("expected", "year")
                        .with("got", value.clone())
                        .at("year"),
                ),
            },
            "township" => match township(&v) {
                Ok(code) => t = Some(code),
                Err(m) => errors.push(m.at("township")),
            },
            other => errors.push(
                FieldError::new(other, Code::UnknownField, format!("unknown field '{other}'"))
                    .with("name", other)
                    .with("allowed", vec!["year", "township"]),
            ),
        }
    }
    if errors.is_empty() { Ok((y, t)) } else { Err(errors) }
}

/// How far a target is: the fraction achieved of each measure it sets, and of the target as a
/// whole the lower of the two (both must be met). Fractions are not capped: 1.2 is 120 %.
pub fn target_rate(
    task_count: Option<i32>,
    quantity: Option<f64>,
    achieved_tasks: i64,
    achieved_quantity: f64,
) -> (Option<f64>, Option<f64>, Option<f64>) {
    let by_count = task_count.map(|n| achieved_tasks as f64 / f64::from(n));
    let by_quantity = quantity.filter(|q| *q > 0.0).map(|q| achieved_quantity / q);
    let whole = match (by_count, by_quantity) {
        (Some(a), Some(b)) => Some(a.min(b)),
        (a, b) => a.or(b),
    };
    (by_count, by_quantity, whole)
}

/// A township's completion against its targets (完成率 of target) for a year: the mean of its
/// targets' rates, each capped at 1, so over-fulfilling one family cannot hide a shortfall in
/// another; None without targets.
pub fn against_targets(rates: &[f64]) -> Option<f64> {
    if rates.is_empty() {
        return None;
    }
    Some(rates.iter().map(|r| r.clamp(0.0, 1.0)).sum::<f64>() / rates.len() as f64)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn pointers(errors: &[FieldError]) -> Vec<&str> {
        errors.iter().map(|e| e.pointer.as_str()).collect()
    }

    #[test]
    fn a_campaign_spans_years_in_order_and_at_most_ten() {
        let ok = json!({"code": "gongjian-2026", "name_zh": "生态环境攻坚三年行动", "name_en": "Three-year drive",
                        "first_year": 2026, "last_year": 2028});
        assert_eq!(NewCampaign::parse(&ok).unwrap().last_year, 2028);
        let reversed = json!({"code": "x1", "name_zh": "甲", "name_en": "A", "first_year": 2028, "last_year": 2026});
        assert_eq!(NewCampaign::parse(&reversed).unwrap_err()[0].code, Code::Reversed);
        let long = json!({"code": "x1", "name_zh": "甲", "name_en": "A", "first_year": 2020, "last_year": 2030});
        assert_eq!(NewCampaign::parse(&long).unwrap_err()[0].code, Code::Range);
        let bad = json!({"code": "X Y", "name_zh": "", "first_year": "2026"});
        assert_eq!(
            pointers(&NewCampaign::parse(&bad).unwrap_err()),
            ["/code", "/name_zh", "/name_en", "/first_year", "/last_year"]
        );
    }

    #[test]
    fn a_change_of_years_is_checked_against_the_years_it_keeps() {
        assert!(CampaignChange::parse(&json!({"last_year": 2025}), (2026, 2028)).is_err());
        assert_eq!(
            CampaignChange::parse(&json!({"last_year": 2029}), (2026, 2028)).unwrap().years((2026, 2028)),
            (2026, 2029)
        );
        assert!(CampaignChange::parse(&json!({"code": "other"}), (2026, 2028)).is_err());
    }

    #[test]
    fn a_target_lies_in_the_campaign_and_a_quantity_has_its_unit() {
        let years = (2026, 2028);
        let t = TargetInput::parse(
            &json!({"year": 2027, "township": "330599101", "category": "watershed", "quantity": 12.5, "unit": "km"}),
            years,
        )
        .unwrap();
        assert_eq!((t.task_count, t.unit.as_deref(), t.counted_when), (None, Some("km"), CountedWhen::Verified));
        let e = TargetInput::parse(
            &json!({"year": 2030, "township": "330599101", "category": "watershed", "quantity": 3}),
            years,
        )
        .unwrap_err();
        assert_eq!(pointers(&e), ["/year", "/unit"]);
        assert_eq!(e[0].params["min"], 2026);
        let none = TargetInput::parse(&json!({"year": 2026, "township": "330599101", "category": "watershed"}), years);
        assert_eq!(pointers(&none.unwrap_err()), ["/task_count"]);
        let unit_only = TargetInput::parse(
            &json!({"year": 2026, "township": "330599101", "category": "watershed", "task_count": 3, "unit": "km"}),
            years,
        );
        assert_eq!(pointers(&unit_only.unwrap_err()), ["/quantity"]);
        let when = TargetInput::parse(
            &json!({"year": 2026, "township": "330599101", "category": "watershed", "task_count": 3,
                    "counted_when": "done"}),
            years,
        );
        assert_eq!(when.unwrap_err()[0].code, Code::UnknownValue);
    }

    #[test]
    fn a_target_of_both_measures_is_as_far_as_the_lower() {
        assert_eq!(target_rate(Some(4), Some(10.0), 3, 8.0), (Some(0.75), Some(0.8), Some(0.75)));
        assert_eq!(target_rate(Some(2), None, 3, 0.0), (Some(1.5), None, Some(1.5)));
        assert_eq!(target_rate(None, Some(5.0), 0, 0.0), (None, Some(0.0), Some(0.0)));
    }

    #[test]
    fn against_targets_is_the_mean_of_capped_rates() {
        assert_eq!(against_targets(&[]), None);
        assert_eq!(against_targets(&[1.5, 0.5]), Some(0.75));
        assert_eq!(against_targets(&[0.25]), Some(0.25));
    }
}
