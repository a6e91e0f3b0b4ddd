//! What a task is made of and the rules a task must keep, whichever way it is written (API, import,
//! demo loader). Input is parsed here once; the store only ever sees values that passed.

use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use super::account::department_code;
use super::codes::{CategoryCode, TownshipCode};
use super::fields::{self, Props, wrong_type};
use super::geometry::{TaskGeometry, check_crs};
use super::{Code, FieldError, Message};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Status {
    Planned,
    InProgress,
    Completed,
    Verified,
    Cancelled,
}

impl Status {
    pub const ALL: &'static [(&'static str, Status)] = &[
        ("planned", Status::Planned),
        ("in_progress", Status::InProgress),
        ("completed", Status::Completed),
        ("verified", Status::Verified),
        ("cancelled", Status::Cancelled),
    ];

    pub fn as_str(self) -> &'static str {
        Self::ALL.iter().find(|(_, s)| *s == self).map(|(n, _)| *n).unwrap_or("planned")
    }

    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.iter().find(|(n, _)| *n == s).map(|(_, s)| *s)
    }

    /// Work is still to be done: planned or under way (what "overdue" and "stale" are about).
    pub fn is_open(self) -> bool {
        matches!(self, Status::Planned | Status::InProgress)
    }

    /// Work is finished (reported done, or closed by the bureau).
    pub fn is_finished(self) -> bool {
        matches!(self, Status::Completed | Status::Verified)
    }

    /// Past its due date on `today` (the county's calendar) and still open: the same rule as the
    /// SQL that lists and filters tasks (store::tasks::OVERDUE), for a task already read.
    pub fn is_overdue(self, due_date: Option<NaiveDate>, today: NaiveDate) -> bool {
        self.is_open() && due_date.is_some_and(|due| due < today)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Visibility {
    Public,
    Internal,
}

impl Visibility {
    pub const ALL: &'static [(&'static str, Visibility)] =
        &[("public", Visibility::Public), ("internal", Visibility::Internal)];

    pub fn as_str(self) -> &'static str {
        match self {
            Visibility::Public => "public",
            Visibility::Internal => "internal",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.iter().find(|(n, _)| *n == s).map(|(_, v)| *v)
    }
}

/// Largest investment accepted, in 万元 (one trillion yuan): beyond it a unit mistake is likelier.
pub const MAX_INVESTMENT: f64 = 100_000_000.0;

/// Everything about a task that people edit. Create fills it from input and defaults; a patch is
/// merged into the stored one; both then pass the same `check`. Serialised (as the API names the
/// fields) for the history's before/after.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct TaskFields {
    pub title: String,
    pub description: String,
    pub category: String,
    pub status: Status,
    pub progress: i16,
    pub lead_unit: String,
    /// The department leading the task (牵头单位); its officers report on it.
    pub lead_department: Option<String>,
    /// Departments supporting it (配合单位), each once, the lead not among them.
    pub support_departments: Vec<String>,
    pub contact_person: Option<String>,
    pub contact_phone: Option<String>,
    pub due_date: Option<NaiveDate>,
    pub planned_investment: Option<f64>,
    pub actual_investment: Option<f64>,
    pub target_quantity: Option<f64>,
    pub target_unit: Option<String>,
    pub visibility: Visibility,
    pub supervised: bool,
    /// `Some(code)` when the bureau chose the township; `None` lets PostGIS assign it.
    #[serde(rename = "township")]
    pub township_override: Option<String>,
    pub completed_at: Option<DateTime<Utc>>,
    pub cancel_reason: Option<String>,
}

impl TaskFields {
    /// The fields whose values differ, as `{field: {"before": .., "after": ..}}`.
    pub fn changes_to(&self, after: &TaskFields) -> Map<String, Value> {
        let (Ok(Value::Object(before)), Ok(Value::Object(after))) =
            (serde_json::to_value(self), serde_json::to_value(after))
        else {
            return Map::new();
        };
        before
            .into_iter()
            .filter_map(|(k, b)| {
                let a = after.get(&k).cloned().unwrap_or(Value::Null);
                (a != b).then(|| (k, serde_json::json!({"before": b, "after": a})))
            })
            .collect()
    }
}

/// Properties a client may write when creating a task.
pub const WRITABLE: &[&str] = &[
    "title",
    "description",
    "category",
    "status",
    "progress",
    "lead_unit",
    "lead_department",
    "support_departments",
    "contact_person",
    "contact_phone",
    "due_date",
    "planned_investment",
    "actual_investment",
    "target_quantity",
    "target_unit",
    "visibility",
    "supervised",
    "township",
    "completed_at",
    "cancel_reason",
];

/// Properties that only change through the workflow (reports and transitions), not by editing.
const WORKFLOW_ONLY: &[&str] = &["status", "completed_at", "cancel_reason"];

/// Properties the server computes; accepted and ignored so a read Feature can be written back.
pub const READ_ONLY: &[&str] = &[
    "code",
    "township_name",
    "lead_department_name",
    "township_overridden",
    "overdue",
    "verified_at",
    "last_report_at",
    "return_reason",
    "created_at",
    "updated_at",
    "version",
];

fn category_code(v: &Value) -> Result<String, Message> {
    let s = v.as_str().ok_or_else(|| wrong_type("category_code", "must be a category code string", v))?;
    CategoryCode::parse(s).map(CategoryCode::into_string)
}

pub fn township_code(v: &Value) -> Result<String, Message> {
    let s = v.as_str().ok_or_else(|| wrong_type("township_code", "must be a township code string", v))?;
    TownshipCode::parse(s).map(TownshipCode::into_string)
}

fn phone(v: &Value) -> Result<String, Message> {
    let s = fields::text(20, false)(v)?;
    let digits = s.chars().filter(char::is_ascii_digit).count();
    if digits >= 5 && s.chars().all(|c| c.is_ascii_digit() || "+()- ".contains(c)) {
        Ok(s)
    } else {
        let detail = format!("'{s}' is not a phone number (digits, with optional + ( ) - and spaces)");
        Err(Message::new(Code::Format, detail).with("expected", "phone").with("got", s))
    }
}

fn progress(v: &Value) -> Result<i16, Message> {
    fields::integer(0, 100)(v).map(|n| n as i16)
}

fn investment(v: &Value) -> Result<f64, Message> {
    fields::amount(MAX_INVESTMENT, Some(2))(v)
}

fn quantity(v: &Value) -> Result<f64, Message> {
    fields::amount(1e12, None)(v)
}

/// The geometry (if any) and properties (if any) of a Feature.
struct FeatureParts<'a> {
    geometry: Option<&'a Value>,
    properties: Option<&'a Map<String, Value>>,
}

/// Reads the parts of a Feature: checks `type`, `crs` and the top-level keys, and returns the
/// geometry value (if any) and the properties object.
fn feature_parts<'a>(body: &'a Value, errors: &mut Vec<FieldError>) -> Option<FeatureParts<'a>> {
    let Value::Object(obj) = body else {
        errors.push(wrong_type("feature", "the body must be a GeoJSON Feature object", body).at(""));
        return None;
    };
    match obj.get("type") {
        Some(Value::String(t)) if t == "Feature" => {}
        Some(Value::String(t)) if t == "FeatureCollection" => {
            let why = Message::new(Code::Format, "send one Feature per request, not a FeatureCollection");
            errors.push(why.with("expected", "feature").with("got", "FeatureCollection").at("/type"));
            return None;
        }
        Some(other) => {
            let detail = format!("the body must be a GeoJSON Feature (\"type\": \"Feature\"), got {other}");
            let got = other.as_str().map_or_else(|| other.to_string(), str::to_owned);
            errors.push(FieldError::new("/type", Code::Format, detail).with("expected", "feature").with("got", got));
            return None;
        }
        None => {
            let detail = "the body must be a GeoJSON Feature: \"type\": \"Feature\" is missing";
            errors.push(FieldError::new("/type", Code::MissingMember, detail).with("name", "type"));
            return None;
        }
    }
    for key in obj.keys() {
        if !["type", "id", "geometry", "properties", "crs", "bbox", "links"].contains(&key.as_str()) {
            let detail = format!("unknown member '{key}' of a Feature");
            errors.push(FieldError::new(format!("/{key}"), Code::UnknownField, detail).with("name", key.as_str()));
        }
    }
    if let Some(crs) = obj.get("crs")
        && let Err(e) = check_crs(crs, "/crs")
    {
        errors.push(e);
    }
    let props = match obj.get("properties") {
        None | Some(Value::Null) => None,
        Some(Value::Object(m)) => Some(m),
        Some(other) => {
            errors.push(wrong_type("object", "properties must be an object", other).at("/properties"));
            return None;
        }
    };
    let geometry = obj.get("geometry").filter(|g| !g.is_null());
    Some(FeatureParts { geometry, properties: props })
}

fn parse_geometry(value: &Value, errors: &mut Vec<FieldError>) -> Option<TaskGeometry> {
    match TaskGeometry::parse(value, "/geometry") {
        Ok(g) => Some(g),
        Err(mut e) => {
            errors.append(&mut e);
            None
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct NewTask {
    pub fields: TaskFields,
    pub geometry: TaskGeometry,
}

impl NewTask {
    /// Parses a GeoJSON Feature into a task to create, or every reason it cannot be one.
    pub fn parse(body: &Value, now: DateTime<Utc>) -> Result<NewTask, Vec<FieldError>> {
        let mut errors = Vec::new();
        let Some(FeatureParts { geometry, properties: props }) = feature_parts(body, &mut errors) else {
            return Err(errors);
        };
        let geometry = match geometry {
            Some(g) => parse_geometry(g, &mut errors),
            None => {
                let detail = "a task needs a geometry: a point, a line or an area";
                errors.push(FieldError::new("/geometry", Code::Required, detail));
                None
            }
        };
        let empty = Map::new();
        let mut p = Props::new(props.unwrap_or(&empty), "/properties");
        p.refuse_unknown(WRITABLE, READ_ONLY);
        let title = p.required("title", fields::text(200, false));
        let category = p.required("category", category_code);
        let status = p.optional("status", fields::one_of(Status::ALL));
        let progress_in = p.optional("progress", progress);
        let status = status.unwrap_or(Status::Planned);
        let fields = TaskFields {
            title: title.unwrap_or_default(),
            description: p.optional("description", fields::text(10_000, true)).unwrap_or_default(),
            category: category.unwrap_or_default(),
            status,
            // Finished work is 100% done; saying so again is not required.
            progress: progress_in.unwrap_or(if status.is_finished() { 100 } else { 0 }),
            lead_unit: p.optional("lead_unit", fields::text(200, true)).unwrap_or_default(),
            lead_department: p.optional("lead_department", department_code),
            support_departments: p.optional("support_departments", department_codes).unwrap_or_default(),
            contact_person: p.optional("contact_person", fields::text(100, false)),
            contact_phone: p.optional("contact_phone", phone),
            due_date: p.optional("due_date", fields::date),
            planned_investment: p.optional("planned_investment", investment),
            actual_investment: p.optional("actual_investment", investment),
            target_quantity: p.optional("target_quantity", quantity),
            target_unit: p.optional("target_unit", fields::text(20, false)),
            visibility: p.optional("visibility", fields::one_of(Visibility::ALL)).unwrap_or(Visibility::Public),
            supervised: p.optional("supervised", fields::boolean).unwrap_or(false),
            township_override: p.optional("township", township_code),
            completed_at: p.optional("completed_at", fields::timestamp),
            cancel_reason: p.optional("cancel_reason", fields::text(2000, false)),
        };
        errors.append(&mut p.errors);
        if errors.is_empty() {
            errors = check(&fields, now);
        }
        match geometry {
            Some(geometry) if errors.is_empty() => Ok(NewTask { fields, geometry }),
            _ => Err(errors),
        }
    }
}

/// A partial update: `None` keeps the stored value.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct TaskPatch {
    pub geometry: Option<TaskGeometry>,
    pub title: Option<String>,
    pub description: Option<String>,
    pub category: Option<String>,
    pub progress: Option<i16>,
    pub lead_unit: Option<String>,
    pub lead_department: Option<Option<String>>,
    pub support_departments: Option<Vec<String>>,
    pub contact_person: Option<Option<String>>,
    pub contact_phone: Option<Option<String>>,
    pub due_date: Option<Option<NaiveDate>>,
    pub planned_investment: Option<Option<f64>>,
    pub actual_investment: Option<Option<f64>>,
    pub target_quantity: Option<Option<f64>>,
    pub target_unit: Option<Option<String>>,
    pub visibility: Option<Visibility>,
    pub supervised: Option<bool>,
    /// `Some(None)` hands the township back to automatic assignment.
    pub township_override: Option<Option<String>>,
}

impl TaskPatch {
    /// Parses a partial Feature: `{"geometry": ..., "properties": {...}}`, both optional; a property
    /// set to null clears it (where it may be empty).
    pub fn parse(body: &Value) -> Result<TaskPatch, Vec<FieldError>> {
        let mut errors = Vec::new();
        // A patch need not say it is a Feature; when it does, the Feature rules apply.
        let wrapped;
        let body = match body {
            Value::Object(obj) if !obj.contains_key("type") => {
                let mut obj = obj.clone();
                obj.insert("type".into(), Value::String("Feature".into()));
                wrapped = Value::Object(obj);
                &wrapped
            }
            other => other,
        };
        let Some(FeatureParts { geometry, properties: props }) = feature_parts(body, &mut errors) else {
            return Err(errors);
        };
        let geometry = geometry.and_then(|g| parse_geometry(g, &mut errors));
        let empty = Map::new();
        let mut p = Props::new(props.unwrap_or(&empty), "/properties");
        for key in WORKFLOW_ONLY.iter().filter(|k| props.is_some_and(|m| m.contains_key(**k))) {
            p.fail(
                key,
                Message::new(
                    Code::WorkflowOnly,
                    "status changes through the workflow: POST /api/tasks/{id}/reports (start, complete) or /transitions (verify, return, cancel)",
                ),
            );
        }
        let patchable: Vec<&str> = WRITABLE.iter().copied().filter(|k| !WORKFLOW_ONLY.contains(k)).collect();
        let ignored: Vec<&str> = READ_ONLY.iter().chain(WORKFLOW_ONLY).copied().collect();
        p.refuse_unknown(&patchable, &ignored);
        let patch = TaskPatch {
            geometry,
            title: p.change("title", fields::text(200, false)),
            description: p.change("description", fields::text(10_000, true)),
            category: p.change("category", category_code),
            progress: p.change("progress", progress),
            lead_unit: p.change("lead_unit", fields::text(200, true)),
            lead_department: p.change_nullable("lead_department", department_code),
            support_departments: p
                .change_nullable("support_departments", department_codes)
                .map(Option::unwrap_or_default),
            contact_person: p.change_nullable("contact_person", fields::text(100, false)),
            contact_phone: p.change_nullable("contact_phone", phone),
            due_date: p.change_nullable("due_date", fields::date),
            planned_investment: p.change_nullable("planned_investment", investment),
            actual_investment: p.change_nullable("actual_investment", investment),
            target_quantity: p.change_nullable("target_quantity", quantity),
            target_unit: p.change_nullable("target_unit", fields::text(20, false)),
            visibility: p.change("visibility", fields::one_of(Visibility::ALL)),
            supervised: p.change("supervised", fields::boolean),
            township_override: p.change_nullable("township", township_code),
        };
        errors.append(&mut p.errors);
        if errors.is_empty() { Ok(patch) } else { Err(errors) }
    }

    pub fn is_empty(&self) -> bool {
        self == &TaskPatch::default()
    }

    /// A whole Feature that replaces everything editing can change (OGC API - Features Part 4,
    /// PUT): geometry, title and category are required, and a writable property left out is cleared
    /// or set to its default. Left out, the progress (the township's figure) is kept. Properties
    /// the server or the workflow sets are accepted so a read Feature can be written back; see
    /// [`Replacement::against`] for what is checked of them.
    pub fn replacement(body: &Value) -> Result<Replacement, Vec<FieldError>> {
        let mut errors = Vec::new();
        let Some(FeatureParts { geometry, properties }) = feature_parts(body, &mut errors) else {
            return Err(errors);
        };
        if geometry.is_none() {
            let detail = "a replacement states the whole task: the geometry is missing";
            errors.push(FieldError::new("/geometry", Code::Required, detail));
        }
        let mut props = properties.cloned().unwrap_or_default();
        for key in ["title", "category"] {
            if props.get(key).is_none_or(Value::is_null) {
                errors.push(FieldError::new(
                    format!("/properties/{key}"),
                    Code::Required,
                    format!("'{key}' is required: a replacement states the whole task"),
                ));
            }
        }
        let status = match props.remove("status") {
            None | Some(Value::Null) => None,
            Some(v) => fields::one_of(Status::ALL)(&v).map_err(|e| errors.push(e.at("/properties/status"))).ok(),
        };
        for key in WORKFLOW_ONLY {
            props.remove(*key);
        }
        let defaults = [
            ("description", Value::from("")),
            ("lead_unit", Value::from("")),
            ("support_departments", Value::Array(Vec::new())),
            ("visibility", Value::from(Visibility::Public.as_str())),
            ("supervised", Value::from(false)),
        ];
        for (key, value) in defaults {
            props.entry(key).or_insert(value);
        }
        for key in ["contact_person", "contact_phone", "due_date", "planned_investment", "actual_investment"]
            .into_iter()
            .chain(["target_quantity", "target_unit", "township", "lead_department"])
        {
            props.entry(key).or_insert(Value::Null);
        }
        let mut feature = Map::new();
        feature.insert("type".into(), Value::from("Feature"));
        if let Some(g) = geometry {
            feature.insert("geometry".into(), g.clone());
        }
        feature.insert("properties".into(), Value::Object(props));
        match TaskPatch::parse(&Value::Object(feature)) {
            Ok(patch) if errors.is_empty() => Ok(Replacement { patch, status }),
            Ok(_) => Err(errors),
            Err(mut more) => {
                errors.append(&mut more);
                Err(errors)
            }
        }
    }

    /// The stored fields with this patch applied, if the result keeps every rule.
    pub fn apply(&self, current: &TaskFields, now: DateTime<Utc>) -> Result<TaskFields, Vec<FieldError>> {
        fn pick<T: Clone>(new: &Option<T>, old: &T) -> T {
            new.clone().unwrap_or_else(|| old.clone())
        }
        let merged = TaskFields {
            title: pick(&self.title, &current.title),
            description: pick(&self.description, &current.description),
            category: pick(&self.category, &current.category),
            status: current.status,
            progress: pick(&self.progress, &current.progress),
            lead_unit: pick(&self.lead_unit, &current.lead_unit),
            lead_department: pick(&self.lead_department, &current.lead_department),
            support_departments: pick(&self.support_departments, &current.support_departments),
            contact_person: pick(&self.contact_person, &current.contact_person),
            contact_phone: pick(&self.contact_phone, &current.contact_phone),
            due_date: pick(&self.due_date, &current.due_date),
            planned_investment: pick(&self.planned_investment, &current.planned_investment),
            actual_investment: pick(&self.actual_investment, &current.actual_investment),
            target_quantity: pick(&self.target_quantity, &current.target_quantity),
            target_unit: pick(&self.target_unit, &current.target_unit),
            visibility: pick(&self.visibility, &current.visibility),
            supervised: pick(&self.supervised, &current.supervised),
            township_override: pick(&self.township_override, &current.township_override),
            completed_at: current.completed_at,
            cancel_reason: current.cancel_reason.clone(),
        };
        let errors = check(&merged, now);
        if errors.is_empty() { Ok(merged) } else { Err(errors) }
    }
}

/// A parsed replacement, before it is compared with the task it replaces.
#[derive(Debug, Clone, PartialEq)]
pub struct Replacement {
    pub patch: TaskPatch,
    /// The status the client wrote back, if any.
    pub status: Option<Status>,
}

impl Replacement {
    /// The edit to apply to a task now in `status`, in `township` (`overridden` when the bureau
    /// chose it). A different status is refused: it changes only through the workflow. Writing back
    /// the township the geometry gave keeps the assignment automatic, so that re-saving a read
    /// Feature does not quietly pin the task to its township.
    pub fn against(self, status: &str, township: &str, overridden: bool) -> Result<TaskPatch, FieldError> {
        if let Some(claimed) = self.status
            && claimed.as_str() != status
        {
            let detail = format!(
                "the task is {status}, not {}: status changes through the workflow (POST /api/tasks/{{id}}/reports or /transitions)",
                claimed.as_str()
            );
            return Err(FieldError::new("/properties/status", Code::StatusMismatch, detail)
                .with("status", status)
                .with("got", claimed.as_str()));
        }
        let mut patch = self.patch;
        if !overridden && patch.township_override.as_ref().is_some_and(|t| t.as_deref() == Some(township)) {
            patch.township_override = Some(None);
        }
        Ok(patch)
    }
}

/// Rules across fields, for a task as it would be stored.
pub fn check(t: &TaskFields, now: DateTime<Utc>) -> Vec<FieldError> {
    let mut errors = Vec::new();
    let at = |k: &str| format!("/properties/{k}");
    if t.status.is_finished() && t.progress != 100 {
        let detail = format!("a {} task has progress 100, got {}", t.status.as_str(), t.progress);
        errors.push(
            FieldError::new(at("progress"), Code::ProgressFull, detail)
                .with("status", t.status.as_str())
                .with("got", t.progress),
        );
    }
    if t.completed_at.is_some() && !t.status.is_finished() {
        let detail =
            format!("only a completed or verified task has a completion time; this one is {}", t.status.as_str());
        errors.push(FieldError::new(at("completed_at"), Code::NotAllowed, detail).with("status", t.status.as_str()));
    }
    // A few minutes of clock skew between a phone and the server is normal; a day is not.
    if let Some(done) = t.completed_at
        && done > now + chrono::Duration::minutes(10)
    {
        let got = done.to_rfc3339();
        errors.push(
            FieldError::new(at("completed_at"), Code::InFuture, format!("{got} is in the future")).with("got", got),
        );
    }
    match (t.status, &t.cancel_reason) {
        (Status::Cancelled, None) => {
            let detail = "a cancelled task needs the reason it was cancelled";
            errors.push(FieldError::new(at("cancel_reason"), Code::ReasonRequired, detail).with("action", "cancel"))
        }
        (s, Some(_)) if s != Status::Cancelled => {
            let detail = "only a cancelled task has a cancellation reason";
            errors.push(FieldError::new(at("cancel_reason"), Code::NotAllowed, detail).with("status", s.as_str()))
        }
        _ => {}
    }
    if let Some(e) = departments_clash(t) {
        errors.push(e);
    }
    match (&t.target_quantity, &t.target_unit) {
        (Some(_), None) => {
            let detail = "a target quantity needs its unit (e.g. km, 吨标准煤, 户)";
            errors.push(FieldError::new(at("target_unit"), Code::RequiredWith, detail).with("field", "target_quantity"))
        }
        (None, Some(_)) => errors.push(
            FieldError::new(at("target_quantity"), Code::RequiredWith, "a target unit needs its quantity")
                .with("field", "target_unit"),
        ),
        _ => {}
    }
    errors
}

/// Supporting departments as a list of codes (at most 20).
fn department_codes(v: &Value) -> Result<Vec<String>, Message> {
    let Value::Array(items) = v else {
        return Err(wrong_type("array", "must be an array of department codes", v));
    };
    if items.len() > 20 {
        return Err(fields::out_of_range(0, 20, items.len() as i64).with("field", "support_departments"));
    }
    items.iter().map(department_code).collect()
}

/// The lead does not also support, and no department supports twice: the ledger counts each once.
fn departments_clash(t: &TaskFields) -> Option<FieldError> {
    let at = "/properties/support_departments";
    if let Some(lead) = t.lead_department.as_deref().filter(|l| t.support_departments.iter().any(|s| s == l)) {
        let detail = format!("the department '{lead}' leads this task, so it cannot also support it");
        return Some(FieldError::new(at, Code::DepartmentTwice, detail).with("got", lead));
    }
    let twice = t.support_departments.iter().enumerate().find(|(i, d)| t.support_departments[..*i].contains(d))?;
    let detail = format!("the department '{}' is named twice", twice.1);
    Some(FieldError::new(format!("{at}/{}", twice.0), Code::DepartmentTwice, detail).with("got", twice.1.as_str()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn overdue_is_open_past_the_due_date() {
        let day = |d| NaiveDate::from_ymd_opt(2026, 12, d).expect("a date");
        let today = day(2);
        assert!(Status::Planned.is_overdue(Some(day(1)), today));
        assert!(Status::InProgress.is_overdue(Some(day(1)), today));
        assert!(!Status::InProgress.is_overdue(Some(today), today), "due today is not yet overdue");
        assert!(!Status::Planned.is_overdue(Some(day(3)), today));
        assert!(!Status::Planned.is_overdue(None, today));
        for done in [Status::Completed, Status::Verified, Status::Cancelled] {
            assert!(!done.is_overdue(Some(day(1)), today), "{done:?}");
        }
    }

    #[test]
    fn departments_are_codes_the_lead_not_among_the_supporting() {
        let ok = NewTask::parse(
            &feature(json!({"title": "t", "category": "watershed", "lead_department": "water",
                            "support_departments": ["housing", "agriculture"]})),
            now(),
        )
        .unwrap();
        assert_eq!(ok.fields.lead_department.as_deref(), Some("water"));
        assert_eq!(ok.fields.support_departments, ["housing", "agriculture"]);
        let e = NewTask::parse(
            &feature(json!({"title": "t", "category": "watershed", "lead_department": "water",
                            "support_departments": ["housing", "water"]})),
            now(),
        )
        .unwrap_err();
        assert_eq!((e[0].pointer.as_str(), e[0].code), ("/properties/support_departments", Code::DepartmentTwice));
        let e = NewTask::parse(
            &feature(json!({"title": "t", "category": "watershed", "support_departments": ["housing", "housing"]})),
            now(),
        )
        .unwrap_err();
        assert_eq!(e[0].pointer, "/properties/support_departments/1");
        let e = NewTask::parse(
            &feature(json!({"title": "t", "category": "watershed", "support_departments": "housing",
                            "lead_department": "Water Bureau"})),
            now(),
        )
        .unwrap_err();
        assert_eq!(pointers(&e), ["/properties/lead_department", "/properties/support_departments"]);
        // A patch may clear the lead and empty the supporting list.
        let p =
            TaskPatch::parse(&json!({"properties": {"lead_department": null, "support_departments": null}})).unwrap();
        assert_eq!((p.lead_department, p.support_departments), (Some(None), Some(vec![])));
    }

    fn now() -> DateTime<Utc> {
        "2026-11-25T04:00:00Z".parse().unwrap()
    }

    fn feature(props: Value) -> Value {
        json!({"type": "Feature", "geometry": {"type": "Point", "coordinates": [119.9, 30.85]}, "properties": props})
    }

    fn pointers(errors: &[FieldError]) -> Vec<&str> {
        errors.iter().map(|e| e.pointer.as_str()).collect()
    }

    #[test]
    fn a_minimal_task_gets_defaults() {
        let t = NewTask::parse(&feature(json!({"title": " 河道清淤 ", "category": "watershed"})), now()).unwrap();
        assert_eq!(t.fields.title, "河道清淤");
        assert_eq!(t.fields.status, Status::Planned);
        assert_eq!(t.fields.progress, 0);
        assert_eq!(t.fields.visibility, Visibility::Public);
        assert_eq!(t.fields.township_override, None);
    }

    #[test]
    fn finished_tasks_default_to_full_progress() {
        let t = NewTask::parse(&feature(json!({"title": "x", "category": "energy", "status": "completed"})), now())
            .unwrap();
        assert_eq!(t.fields.progress, 100);
        let e = NewTask::parse(
            &feature(json!({"title": "x", "category": "energy", "status": "verified", "progress": 40})),
            now(),
        )
        .unwrap_err();
        assert_eq!(pointers(&e), ["/properties/progress"]);
    }

    #[test]
    fn every_bad_property_is_reported_with_its_pointer() {
        let e = NewTask::parse(
            &feature(json!({
                "category": "Water!", "status": "done", "progress": 101, "due_date": "2026-13-01",
                "planned_investment": "12", "supervised": "yes", "dew_date": "2026-01-01",
                "township": "abc", "contact_phone": "call me"
            })),
            now(),
        )
        .unwrap_err();
        let mut got = pointers(&e);
        got.sort();
        assert_eq!(
            got,
            [
                "/properties/category",
                "/properties/contact_phone",
                "/properties/dew_date",
                "/properties/due_date",
                "/properties/planned_investment",
                "/properties/progress",
                "/properties/status",
                "/properties/supervised",
                "/properties/title",
                "/properties/township",
            ]
        );
        let status = e.iter().find(|x| x.pointer == "/properties/status").unwrap();
        assert!(status.detail.contains("'done' is not one of: planned, in_progress"), "{}", status.detail);
        let progress = e.iter().find(|x| x.pointer == "/properties/progress").unwrap();
        assert_eq!(progress.detail, "must be between 0 and 100, got 101");
    }

    #[test]
    fn read_only_properties_are_ignored_so_a_read_feature_can_be_sent_back() {
        let t = NewTask::parse(
            &feature(
                json!({"title": "x", "category": "village", "code": "VI-2026-0001", "overdue": true, "version": 3}),
            ),
            now(),
        );
        assert!(t.is_ok());
    }

    #[test]
    fn refuses_bodies_that_are_not_features() {
        let e = NewTask::parse(&json!([1, 2]), now()).unwrap_err();
        assert_eq!(pointers(&e), [""]);
        let e = NewTask::parse(&json!({"type": "FeatureCollection", "features": []}), now()).unwrap_err();
        assert_eq!(pointers(&e), ["/type"]);
        let e = NewTask::parse(&json!({"type": "Feature", "properties": {"title": "x", "category": "energy"}}), now())
            .unwrap_err();
        assert_eq!(pointers(&e), ["/geometry"]);
    }

    #[test]
    fn investment_has_at_most_two_decimals_and_no_sign() {
        for (value, ok) in [(json!(12.34), true), (json!(0), true), (json!(12.345), false), (json!(-1), false)] {
            let r = NewTask::parse(
                &feature(json!({"title": "x", "category": "energy", "planned_investment": value})),
                now(),
            );
            assert_eq!(r.is_ok(), ok, "{value}");
        }
    }

    #[test]
    fn target_needs_quantity_and_unit_together() {
        let e = NewTask::parse(&feature(json!({"title": "x", "category": "energy", "target_quantity": 12.5})), now())
            .unwrap_err();
        assert_eq!(pointers(&e), ["/properties/target_unit"]);
    }

    #[test]
    fn completion_time_only_for_finished_work_and_not_in_the_future() {
        let e = NewTask::parse(
            &feature(json!({"title": "x", "category": "energy", "completed_at": "2026-05-01T09:00:00+08:00"})),
            now(),
        )
        .unwrap_err();
        assert_eq!(pointers(&e), ["/properties/completed_at"]);
        let e = NewTask::parse(
            &feature(json!({"title": "x", "category": "energy", "status": "completed", "completed_at": "2027-05-01T09:00:00+08:00"})),
            now(),
        )
        .unwrap_err();
        assert!(e[0].detail.contains("in the future"));
    }

    fn stored() -> TaskFields {
        NewTask::parse(
            &feature(json!({"title": "t", "category": "energy", "status": "in_progress", "progress": 40,
                            "contact_person": "王伟", "township": "330599101"})),
            now(),
        )
        .unwrap()
        .fields
    }

    #[test]
    fn a_patch_changes_only_what_it_names() {
        let patch = TaskPatch::parse(&json!({"properties": {"progress": 60, "contact_person": null}})).unwrap();
        let merged = patch.apply(&stored(), now()).unwrap();
        assert_eq!(merged.progress, 60);
        assert_eq!(merged.contact_person, None);
        assert_eq!(merged.title, "t");
        assert_eq!(merged.township_override.as_deref(), Some("330599101"));
    }

    #[test]
    fn a_null_township_returns_to_automatic_assignment() {
        let patch = TaskPatch::parse(&json!({"properties": {"township": null}})).unwrap();
        assert_eq!(patch.apply(&stored(), now()).unwrap().township_override, None);
    }

    #[test]
    fn a_patch_cannot_empty_a_required_field_or_break_a_rule() {
        let e = TaskPatch::parse(&json!({"properties": {"title": null}})).unwrap_err();
        assert_eq!(e[0].detail, "'title' cannot be null");
        let e = TaskPatch::parse(&json!({"properties": {"status": "completed"}})).unwrap_err();
        assert_eq!(pointers(&e), ["/properties/status"]);
        assert!(e[0].detail.contains("/transitions"), "{}", e[0].detail);
    }

    #[test]
    fn a_cancelled_task_says_why() {
        let e = NewTask::parse(&feature(json!({"title": "x", "category": "energy", "status": "cancelled"})), now())
            .unwrap_err();
        assert_eq!(pointers(&e), ["/properties/cancel_reason"]);
        let ok = NewTask::parse(
            &feature(json!({"title": "x", "category": "energy", "status": "cancelled", "cancel_reason": "企业关停"})),
            now(),
        );
        assert!(ok.is_ok());
    }

    #[test]
    fn changes_list_only_what_differs() {
        let before = stored();
        let mut after = before.clone();
        after.progress = 70;
        after.contact_person = None;
        let c = before.changes_to(&after);
        assert_eq!(c.len(), 2);
        assert_eq!(c["progress"], json!({"before": 40, "after": 70}));
        assert_eq!(c["contact_person"], json!({"before": "王伟", "after": null}));
    }

    #[test]
    fn an_empty_patch_is_recognised() {
        assert!(TaskPatch::parse(&json!({})).unwrap().is_empty());
        assert!(TaskPatch::parse(&json!({"type": "Feature", "properties": {}})).unwrap().is_empty());
    }

    #[test]
    fn a_replacement_clears_what_it_leaves_out_and_keeps_the_progress() {
        let r = TaskPatch::replacement(&feature(json!({"title": "河道清淤", "category": "watershed"}))).unwrap();
        let p = r.patch;
        assert!(p.geometry.is_some());
        assert_eq!(p.title.as_deref(), Some("河道清淤"));
        assert_eq!(p.description.as_deref(), Some(""));
        assert_eq!(p.lead_unit.as_deref(), Some(""));
        assert_eq!(p.contact_phone, Some(None));
        assert_eq!(p.due_date, Some(None));
        assert_eq!(p.planned_investment, Some(None));
        assert_eq!(p.visibility, Some(Visibility::Public));
        assert_eq!(p.supervised, Some(false));
        assert_eq!(p.township_override, Some(None));
        assert_eq!(p.progress, None);
        assert_eq!(r.status, None);
    }

    #[test]
    fn a_replacement_needs_the_whole_task() {
        let body = json!({"type": "Feature", "properties": {"description": "只有描述"}});
        let e = TaskPatch::replacement(&body).unwrap_err();
        let mut got = pointers(&e);
        got.sort();
        assert_eq!(got, ["/geometry", "/properties/category", "/properties/title"]);
        let e = TaskPatch::replacement(&json!([1])).unwrap_err();
        assert_eq!(pointers(&e), [""]);
        let e = TaskPatch::replacement(&feature(json!({"title": "x", "category": "energy", "status": "finished"})))
            .unwrap_err();
        assert_eq!(pointers(&e), ["/properties/status"]);
    }

    #[test]
    fn a_read_feature_written_back_is_accepted_as_it_is() {
        let read = feature(json!({
            "title": "x", "category": "energy", "code": "EN-2026-0001", "status": "in_progress", "progress": 30,
            "township": "330599101", "township_name": "城关镇", "overdue": false, "version": 3,
            "completed_at": null, "cancel_reason": null, "verified_at": null, "last_report_at": null,
            "return_reason": null, "created_at": "2026-11-01T08:00:00Z", "updated_at": "2026-11-02T08:00:00Z"
        }));
        let r = TaskPatch::replacement(&read).unwrap();
        assert_eq!(r.status, Some(Status::InProgress));
        // Re-saving the township the geometry gave keeps the assignment automatic...
        let p = r.clone().against("in_progress", "330599101", false).unwrap();
        assert_eq!(p.township_override, Some(None));
        assert_eq!(p.progress, Some(30));
        // ...and keeps the bureau's choice when it was one.
        let p = r.clone().against("in_progress", "330599101", true).unwrap();
        assert_eq!(p.township_override, Some(Some("330599101".into())));
        // Another township is a choice.
        let p = r.clone().against("in_progress", "330599102", false).unwrap();
        assert_eq!(p.township_override, Some(Some("330599101".into())));
        // The status is not edited this way.
        let e = r.against("completed", "330599101", false).unwrap_err();
        assert_eq!(e.pointer, "/properties/status");
        assert!(e.detail.contains("the task is completed, not in_progress"), "{}", e.detail);
    }
}
