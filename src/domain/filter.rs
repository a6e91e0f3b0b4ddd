//! The task list's query string: parsed strictly, so a misspelt parameter is an error rather than
//! a silently unfiltered answer.

use super::{Code, FieldError, Message};
use crate::domain::task::Status;

pub const DEFAULT_LIMIT: i64 = 500;
pub const MAX_LIMIT: i64 = 10_000;

/// Longitude/latitude box: west, south, east, north.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct BBox {
    pub west: f64,
    pub south: f64,
    pub east: f64,
    pub north: f64,
}

impl BBox {
    pub fn parse(s: &str) -> Result<BBox, Message> {
        let bad = |detail: String| Message::new(Code::Format, detail).with("expected", "bbox").with("got", s);
        let parts: Vec<&str> = s.split(',').map(str::trim).collect();
        if parts.len() != 4 {
            return Err(bad(format!("bbox is minLon,minLat,maxLon,maxLat (4 numbers), got {} value(s)", parts.len())));
        }
        let mut n = [0.0; 4];
        for (i, (part, name)) in parts.iter().zip(["minLon", "minLat", "maxLon", "maxLat"]).enumerate() {
            n[i] = part
                .parse::<f64>()
                .ok()
                .filter(|x| x.is_finite())
                .ok_or_else(|| bad(format!("bbox {name} '{part}' is not a number")))?;
            let limit = if i % 2 == 0 { 180.0 } else { 90.0 };
            if n[i].abs() > limit {
                let detail = format!("bbox {name} {} is outside [-{limit}, {limit}]", n[i]);
                return Err(Message::new(Code::Range, detail).with("min", -limit).with("max", limit).with("got", n[i]));
            }
        }
        let b = BBox { west: n[0], south: n[1], east: n[2], north: n[3] };
        if b.south > b.north {
            let detail = format!("bbox minLat {} is greater than maxLat {}", b.south, b.north);
            return Err(Message::new(Code::Reversed, detail).with("from", b.south).with("to", b.north));
        }
        // The county never crosses the antimeridian, so west > east can only be a mistake.
        if b.west > b.east {
            let detail = format!("bbox minLon {} is greater than maxLon {}", b.west, b.east);
            return Err(Message::new(Code::Reversed, detail).with("from", b.west).with("to", b.east));
        }
        Ok(b)
    }
}

#[derive(Debug, Clone, PartialEq, Default)]
pub struct TaskFilter {
    pub bbox: Option<BBox>,
    pub categories: Option<Vec<String>>,
    pub statuses: Option<Vec<Status>>,
    pub townships: Option<Vec<String>>,
    /// Led by one of these departments.
    pub departments: Option<Vec<String>>,
    pub overdue: Option<bool>,
    pub supervised: Option<bool>,
    pub q: Option<String>,
    pub limit: i64,
    pub offset: i64,
    /// The properties each feature carries (`properties=code,status`); all when None.
    pub properties: Option<Vec<String>>,
    /// The order of the list (`sortby=-due_date,code`); by code when empty.
    pub sort: Vec<SortKey>,
    /// A CQL2 filter (`filter`, `filter-lang`, `filter-crs`), its names and types not yet checked
    /// against what the caller may see (`cql2::check`, by the store).
    pub cql: Option<super::cql2::Expr>,
}

/// One key of `sortby`: a property and its direction.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SortKey {
    pub property: &'static str,
    pub descending: bool,
}

/// The properties a list may be sorted by: what everyone sees of a task (the private contact
/// fields are not offered, so a sort cannot reveal them).
pub const SORTABLE: &[&str] = &[
    "code",
    "title",
    "category",
    "status",
    "progress",
    "township",
    "lead_department",
    "due_date",
    "planned_investment",
    "actual_investment",
    "target_quantity",
    "supervised",
    "completed_at",
    "verified_at",
    "last_report_at",
    "created_at",
    "updated_at",
];

/// `sortby`: comma-separated properties, each ascending, or descending with a leading `-` (a
/// leading `+`, which a query string may bring as a space, is ascending too).
pub fn sort_keys(s: &str) -> Result<Vec<SortKey>, Message> {
    list(s)
        .iter()
        .map(|key| {
            let (name, descending) = match key.strip_prefix('-') {
                Some(rest) => (rest.trim(), true),
                None => (key.trim_start_matches('+').trim(), false),
            };
            let property = SORTABLE.iter().find(|p| **p == name).ok_or_else(|| {
                let detail = format!("cannot sort by '{name}'; sortable properties are: {}", SORTABLE.join(", "));
                Message::new(Code::UnknownValue, detail).with("got", name).with("allowed", SORTABLE.to_vec())
            })?;
            Ok(SortKey { property, descending })
        })
        .collect()
}

pub const PARAMETERS: &[&str] = &[
    "bbox",
    "category",
    "status",
    "township",
    "department",
    "overdue",
    "supervised",
    "q",
    "limit",
    "offset",
    "properties",
    "sortby",
    "filter",
    "filter-lang",
    "filter-crs",
];

/// A task feature's properties, as `properties=` may name them (store::tasks::TaskProperties; the
/// last four only staff see).
pub const TASK_PROPERTIES: &[&str] = &[
    "code",
    "title",
    "description",
    "category",
    "status",
    "progress",
    "township",
    "township_name",
    "township_overridden",
    "lead_unit",
    "lead_department",
    "lead_department_name",
    "support_departments",
    "due_date",
    "overdue",
    "planned_investment",
    "actual_investment",
    "target_quantity",
    "target_unit",
    "visibility",
    "supervised",
    "completed_at",
    "verified_at",
    "last_report_at",
    "created_at",
    "updated_at",
    "version",
    "contact_person",
    "contact_phone",
    "return_reason",
    "cancel_reason",
];

/// A comma list of property names, every one a task's.
fn property_names(s: &str) -> Result<Vec<String>, Message> {
    let names = list(s);
    if let Some(bad) = names.iter().find(|n| !TASK_PROPERTIES.contains(&n.as_str())) {
        let detail = format!("unknown property '{bad}'; a task's properties are: {}", TASK_PROPERTIES.join(", "));
        return Err(Message::new(Code::UnknownValue, detail)
            .with("got", bad.as_str())
            .with("allowed", TASK_PROPERTIES.to_vec()));
    }
    Ok(names)
}

/// `properties` with only the members `keep` names (a JSON object; anything else as it is).
pub fn keep_properties(properties: &mut serde_json::Value, keep: &[String]) {
    if let Some(map) = properties.as_object_mut() {
        map.retain(|k, _| keep.iter().any(|n| n == k));
    }
}

pub(crate) fn list(s: &str) -> Vec<String> {
    s.split(',').map(str::trim).filter(|x| !x.is_empty()).map(str::to_owned).collect()
}

/// A comma list of statuses, every one known.
pub(crate) fn statuses(s: &str) -> Result<Vec<Status>, Message> {
    list(s)
        .iter()
        .map(|name| {
            Status::parse(name).ok_or_else(|| {
                let known: Vec<&str> = Status::ALL.iter().map(|(n, _)| *n).collect();
                Message::new(Code::UnknownValue, format!("unknown status '{name}'; statuses are: {}", known.join(", ")))
                    .with("got", name.as_str())
                    .with("allowed", known)
            })
        })
        .collect()
}

/// `pairs` again with `limit` and `offset` replaced (and the parameters in `drop` left out), for
/// paging links that keep every other parameter of the request.
pub(crate) fn page_query(pairs: &[(String, String)], drop: &[&str], limit: i64, offset: i64) -> String {
    let mut out = form_urlencoded::Serializer::new(String::new());
    for (k, v) in pairs.iter().filter(|(k, _)| k != "offset" && k != "limit" && !drop.contains(&k.as_str())) {
        out.append_pair(k, v);
    }
    out.append_pair("limit", &limit.to_string());
    out.append_pair("offset", &offset.to_string());
    out.finish()
}

/// The one way a query string is read: a parameter not in `allowed`, or given twice, is an error
/// naming it (`hint` says what is accepted); every other goes to `each`, whose refusal is an error
/// naming the parameter. All errors are returned, not only the first.
pub fn each_parameter(
    pairs: &[(String, String)],
    allowed: &[&str],
    hint: &str,
    mut each: impl FnMut(&str, &str) -> Result<(), Message>,
) -> Vec<FieldError> {
    let mut errors = Vec::new();
    let mut seen: Vec<&str> = Vec::new();
    for (key, value) in pairs {
        let refusal = if !allowed.contains(&key.as_str()) {
            Some(unknown_parameter(key, hint, allowed))
        } else if seen.contains(&key.as_str()) {
            let detail = format!("'{key}' is given more than once; separate several values with commas");
            Some(Message::new(Code::Repeated, detail).with("name", key.as_str()))
        } else {
            seen.push(key);
            each(key, value).err()
        };
        errors.extend(refusal.map(|why| why.at(key.clone())));
    }
    errors
}

/// The refusal of a query parameter `key` that is not among `allowed` (`hint` says what is).
pub fn unknown_parameter(key: &str, hint: &str, allowed: &[&str]) -> Message {
    let why = Message::new(Code::UnknownField, format!("unknown parameter '{key}'; {hint}")).with("name", key);
    if allowed.is_empty() { why } else { why.with("allowed", allowed.to_vec()) }
}

pub(crate) fn flag(s: &str) -> Result<bool, Message> {
    match s {
        "true" | "1" => Ok(true),
        "false" | "0" => Ok(false),
        _ => Err(Message::new(Code::Format, format!("'{s}' is not true or false"))
            .with("expected", "boolean")
            .with("got", s)),
    }
}

/// A whole number in `min..=max`; `name` leads the English sentence.
pub(crate) fn number(name: &str, s: &str, min: i64, max: i64) -> Result<i64, Message> {
    let n: i64 = s.parse().map_err(|_| {
        Message::new(Code::Format, format!("{name}: '{s}' is not a whole number"))
            .with("expected", "integer")
            .with("got", s)
    })?;
    if (min..=max).contains(&n) {
        Ok(n)
    } else {
        Err(Message::new(Code::Range, format!("{name}: {n} is not between {min} and {max}"))
            .with("min", min)
            .with("max", max)
            .with("got", n))
    }
}

impl TaskFilter {
    pub fn parse(pairs: &[(String, String)]) -> Result<TaskFilter, Vec<FieldError>> {
        let mut f = TaskFilter { limit: DEFAULT_LIMIT, ..Default::default() };
        let hint = format!("parameters are: {}", PARAMETERS.join(", "));
        let (mut cql, mut lang, mut crs) = (None, None, None);
        let mut errors = each_parameter(pairs, PARAMETERS, &hint, |key, value| {
            match key {
                "filter" => cql = Some(value.to_owned()),
                "filter-lang" => lang = Some(value.to_owned()),
                "filter-crs" => crs = Some(value.to_owned()),
                "bbox" => f.bbox = Some(BBox::parse(value)?),
                "category" => f.categories = Some(list(value)),
                "township" => f.townships = Some(list(value)),
                "department" => f.departments = Some(list(value)),
                "status" => f.statuses = Some(statuses(value)?),
                "overdue" => f.overdue = Some(flag(value)?),
                "supervised" => f.supervised = Some(flag(value)?),
                "q" => {
                    let q = value.trim();
                    let n = q.chars().count();
                    if n > 100 {
                        let why = Message::new(Code::TooLong, "q must be at most 100 characters");
                        return Err(why.with("max", 100).with("got", n));
                    }
                    f.q = Some(q.to_owned()).filter(|q| !q.is_empty());
                }
                "limit" => f.limit = number("limit", value, 1, MAX_LIMIT)?,
                "offset" => f.offset = number("offset", value, 0, i64::from(i32::MAX))?,
                "properties" => f.properties = Some(property_names(value)?),
                "sortby" => f.sort = sort_keys(value)?,
                _ => unreachable!("every allowed parameter is handled"),
            }
            Ok(())
        });
        if let Some(text) = cql {
            match super::cql2::read(&text, lang.as_deref(), crs.as_deref()) {
                Ok(x) => f.cql = Some(x),
                Err(e) => errors.push(e.at("filter")),
            }
        }
        if errors.is_empty() { Ok(f) } else { Err(errors) }
    }

    /// The query string for the same filter at another offset (for `next`/`prev` links).
    pub fn query_at(&self, pairs: &[(String, String)], offset: i64) -> String {
        page_query(pairs, &[], self.limit, offset)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pairs(q: &str) -> Vec<(String, String)> {
        form_urlencoded::parse(q.as_bytes()).into_owned().collect()
    }

    #[test]
    fn parses_every_parameter() {
        let f = TaskFilter::parse(&pairs(
            "bbox=119.8,30.7,120.1,31.0&category=watershed,village&status=planned,in_progress&township=330599101&overdue=true&supervised=false&q=WS-2026&limit=20&offset=40",
        ))
        .unwrap();
        assert_eq!(f.bbox, Some(BBox { west: 119.8, south: 30.7, east: 120.1, north: 31.0 }));
        assert_eq!(f.categories, Some(vec!["watershed".into(), "village".into()]));
        assert_eq!(f.statuses, Some(vec![Status::Planned, Status::InProgress]));
        assert_eq!(f.overdue, Some(true));
        assert_eq!(f.supervised, Some(false));
        assert_eq!((f.limit, f.offset), (20, 40));
        assert_eq!(f.properties, None);
        let f = TaskFilter::parse(&pairs("properties=code, status,,")).unwrap();
        assert_eq!(f.properties, Some(vec!["code".into(), "status".into()]));
    }

    #[test]
    fn sortby_reads_several_keys_each_with_its_direction() {
        let f = TaskFilter::parse(&pairs("sortby=-due_date,+progress, code")).unwrap();
        let keys: Vec<(&str, bool)> = f.sort.iter().map(|k| (k.property, k.descending)).collect();
        assert_eq!(keys, [("due_date", true), ("progress", false), ("code", false)]);
        assert!(TaskFilter::parse(&pairs("")).unwrap().sort.is_empty());
    }

    #[test]
    fn only_the_named_properties_are_kept() {
        let mut p = serde_json::json!({"code": "WS-1", "title": "t", "description": "long"});
        keep_properties(&mut p, &["code".into(), "title".into()]);
        assert_eq!(p, serde_json::json!({"code": "WS-1", "title": "t"}));
    }

    #[test]
    fn defaults_to_the_first_500() {
        let f = TaskFilter::parse(&[]).unwrap();
        assert_eq!((f.limit, f.offset), (500, 0));
    }

    #[test]
    fn names_the_bad_parameter() {
        for (q, param, says) in [
            ("bbox=1,2,3", "bbox", "4 numbers"),
            ("bbox=120,30,119,31", "bbox", "minLon 120 is greater than maxLon 119"),
            ("bbox=119,91,120,92", "bbox", "outside [-90, 90]"),
            ("bbox=a,30,120,31", "bbox", "'a' is not a number"),
            ("status=done", "status", "unknown status 'done'"),
            ("overdue=yes", "overdue", "not true or false"),
            ("limit=10001", "limit", "not between 1 and 10000"),
            ("limit=0", "limit", "not between 1 and 10000"),
            ("offset=-1", "offset", "not between"),
            ("catgory=energy", "catgory", "unknown parameter 'catgory'"),
            ("q=a&q=b", "q", "more than once"),
            ("properties=code,colour", "properties", "unknown property 'colour'"),
            ("sortby=-due_date,contact_phone", "sortby", "cannot sort by 'contact_phone'"),
        ] {
            let e = TaskFilter::parse(&pairs(q)).unwrap_err();
            assert_eq!(e[0].pointer, param, "{q}");
            assert!(e[0].detail.contains(says), "{q}: {}", e[0].detail);
        }
    }

    #[test]
    fn next_page_keeps_the_filter() {
        let p = pairs("category=energy&offset=0&limit=10");
        let f = TaskFilter::parse(&p).unwrap();
        assert_eq!(f.query_at(&p, 10), "category=energy&limit=10&offset=10");
    }
}
