//! The township rollup of PRODUCT.md: what each figure means, and how the figures follow from
//! counts the database can make in one pass.
//!
//! The database groups the tasks a caller may see by (township, category, status) and counts plain
//! facts in each group (how many, how many past their due date, ...); it also counts late tasks by
//! township and days late. Everything else — which facts count for which figure, the rates, the
//! median, the county total — is decided here, so every definition is in one place and unit-tested.
//!
//! "Today" is the database session's `current_date`, which the connection sets to the county's
//! time zone; completion days are completion instants in that time zone too.
//!
//! The figures (also in the API description, from the doc comments of [`Figures`]):
//!
//! - `tasks`: tasks matching the filter, cancelled ones included; `by_status`, `by_category` split them.
//! - `not_cancelled`: the base of both rates below.
//! - `finished`: completed + verified.
//! - `completion_rate` = finished ÷ not_cancelled; `verified_rate` = verified ÷ not_cancelled.
//! - `overdue`: open (planned, in_progress) with a due date before today.
//! - `finished_on_time`: finished with a completion day on or before the due date.
//! - `late`: finished after the due date, plus overdue. Tasks without a due date are never late.
//! - `on_time_rate` = finished_on_time ÷ (finished_on_time + late) — the same as finished on time ÷
//!   (finished with a due date + overdue): unfinished late work counts against the rate.
//! - `median_days_late`: over the late tasks, completion day − due date (finished) or today − due
//!   date (overdue); the mean of the two middle values for an even count.
//! - `planned_investment`, `actual_investment` (万元), `length_km`, `area_ha`: sums over the tasks
//!   that are not cancelled (a cancelled task leaves the campaign's work).
//! - `stale`: open tasks whose latest report — or creation, if never reported — fell on a day
//!   more than 30 days before today.
//! - `supervised`: tasks under supervision (督办) that are not closed (verified or cancelled).
//!
//! A task counts whole in the one township it belongs to (the township holding most of it, or
//! the bureau's choice): a river stretch across a border is not split. Rates are fractions 0–1,
//! null when there is nothing to divide by, so an empty township shows zeros and null rates.

use std::collections::BTreeMap;

use chrono::{Datelike, NaiveDate};
use serde::Serialize;

use super::codes::{self, TownshipCode};
use super::filter::{each_parameter, flag, list, statuses};
use super::task::Status;
use super::{Code, FieldError, Message};

/// Days without a report after which an open task is stale.
pub const STALE_AFTER_DAYS: i32 = 30;

/// The name the county total goes by in place of a township name.
pub const COUNTY_NAME: &str = "全县";

/// The name of the department rollup's total: every task that has a lead department.
pub const ALL_DEPARTMENTS_NAME: &str = "全部牵头部门";

/// Which tasks a rollup counts.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct RollupFilter {
    pub categories: Option<Vec<String>>,
    pub statuses: Option<Vec<Status>>,
    /// Start of the period, inclusive.
    pub from: Option<NaiveDate>,
    /// End of the period, inclusive.
    pub to: Option<NaiveDate>,
    pub supervised: Option<bool>,
    /// One township (the monthly series only).
    pub township: Option<String>,
}

/// Query parameters of `/api/rollups/townships` (and its GeoJSON form).
pub const TOWNSHIP_PARAMETERS: &[&str] = &["category", "status", "from", "to", "supervised"];
/// Query parameters of `/api/rollups/monthly`.
pub const MONTHLY_PARAMETERS: &[&str] = &["category", "status", "from", "to", "supervised", "township"];

/// Dates outside these years are typing mistakes, and would make month series absurdly long.
const YEARS: std::ops::RangeInclusive<i32> = 1950..=2150;

fn date(s: &str) -> Result<NaiveDate, Message> {
    let d = NaiveDate::parse_from_str(s.trim(), "%Y-%m-%d").map_err(|_| {
        Message::new(Code::Format, format!("'{s}' is not a date (YYYY-MM-DD, e.g. 2026-06-30)"))
            .with("expected", "date")
            .with("got", s)
    })?;
    if YEARS.contains(&d.year()) {
        Ok(d)
    } else {
        Err(Message::new(Code::Range, format!("{d} is outside the years {}–{}", YEARS.start(), YEARS.end()))
            .with("min", *YEARS.start())
            .with("max", *YEARS.end())
            .with("got", d.year()))
    }
}

impl RollupFilter {
    /// Parses a query string strictly: each unknown parameter or bad value is an error naming it.
    pub fn parse(pairs: &[(String, String)], allowed: &[&str]) -> Result<RollupFilter, Vec<FieldError>> {
        let mut f = RollupFilter::default();
        let hint = format!("parameters are: {}", allowed.join(", "));
        let mut errors = each_parameter(pairs, allowed, &hint, |key, value| {
            match key {
                "category" => f.categories = Some(list(value)),
                "status" => f.statuses = Some(statuses(value)?),
                "from" => f.from = Some(date(value)?),
                "to" => f.to = Some(date(value)?),
                "supervised" => f.supervised = Some(flag(value)?),
                "township" => f.township = Some(TownshipCode::parse(value.trim())?.into_string()),
                _ => unreachable!("every allowed parameter is handled"),
            }
            Ok(())
        });
        if let (Some(from), Some(to)) = (f.from, f.to)
            && from > to
        {
            let detail = format!("the period ends ({to}) before it starts ({from})");
            errors.push(
                FieldError::new("to", Code::Reversed, detail).with("from", from.to_string()).with("to", to.to_string()),
            );
        }
        if errors.is_empty() { Ok(f) } else { Err(errors) }
    }

    /// The filter's categories that are not among `known`, as errors naming the parameter.
    pub fn unknown_categories(&self, known: &[String]) -> Vec<FieldError> {
        self.categories
            .iter()
            .flatten()
            .filter(|c| !known.contains(c))
            .map(|c| codes::unknown_category("category", c, known))
            .collect()
    }
}

/// Plain facts about the tasks of one township, category and status, as the database counts them.
/// Each count is of the tasks in the group for which the named condition holds.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Cell {
    pub township: String,
    pub category: String,
    pub status: Option<Status>,
    pub tasks: i64,
    /// Due date before today.
    pub past_due: i64,
    /// Completion day on or before the due date.
    pub on_time: i64,
    /// Latest report (or creation) before the start of the day `STALE_AFTER_DAYS` before today.
    pub unreported: i64,
    /// Flagged for supervision.
    pub supervised: i64,
    /// Sums, 万元; missing amounts count as 0.
    pub planned_investment: f64,
    pub actual_investment: f64,
    /// Sums of the geodesic length of lines and area of polygons.
    pub length_m: f64,
    pub area_m2: f64,
}

/// How many late tasks of a township are late by `days` (see [`Figures::median_days_late`]).
#[derive(Debug, Clone, PartialEq)]
pub struct LateCount {
    pub township: String,
    pub days: i32,
    pub tasks: i64,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Township {
    pub code: String,
    pub name: String,
}

/// Tasks by status.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize, utoipa::ToSchema)]
pub struct StatusCounts {
    pub planned: i64,
    pub in_progress: i64,
    pub completed: i64,
    pub verified: i64,
    pub cancelled: i64,
}

impl StatusCounts {
    fn add(&mut self, status: Status, n: i64) {
        match status {
            Status::Planned => self.planned += n,
            Status::InProgress => self.in_progress += n,
            Status::Completed => self.completed += n,
            Status::Verified => self.verified += n,
            Status::Cancelled => self.cancelled += n,
        }
    }
}

/// The figures of one township, or of the whole county. "Today" is the county's date; rates are
/// fractions 0–1 and null when there is nothing to divide by. Each task counts whole in the township
/// it belongs to (the one holding most of it), even when it crosses a border.
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct Figures {
    /// Township code; absent for the county total and in the department rollup.
    #[schema(example = "330599101")]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub township_code: Option<String>,
    /// Township name; 全县 for the county total; absent in the department rollup.
    #[schema(example = "青溪镇")]
    #[serde(skip_serializing_if = "String::is_empty")]
    pub township_name: String,
    /// Tasks matching the filter, cancelled ones included.
    pub tasks: i64,
    /// Tasks by status.
    pub by_status: StatusCounts,
    /// Tasks by category code; every category appears, with 0 when it has no task here.
    pub by_category: BTreeMap<String, i64>,
    /// Tasks that are not cancelled: the base of `completion_rate` and `verified_rate`.
    pub not_cancelled: i64,
    /// Finished tasks: completed plus verified.
    pub finished: i64,
    /// finished ÷ not_cancelled.
    pub completion_rate: Option<f64>,
    /// verified ÷ not_cancelled: the share of live work the bureau has checked and closed (销号).
    pub verified_rate: Option<f64>,
    /// Open tasks (planned or in_progress) whose due date is before today.
    pub overdue: i64,
    /// Finished tasks whose completion day (county time) is on or before their due date.
    pub finished_on_time: i64,
    /// Late tasks: finished after their due date, plus overdue ones. Tasks without a due date are
    /// never late, and cancelled tasks are left out.
    pub late: i64,
    /// finished_on_time ÷ (finished_on_time + late), i.e. finished on or before the due date ÷
    /// (finished tasks with a due date + open-and-overdue tasks): unfinished late work counts against
    /// the rate; tasks without a due date take no part.
    pub on_time_rate: Option<f64>,
    /// Median over the late tasks of the days late: completion day − due date for finished tasks,
    /// today − due date for overdue ones; the mean of the two middle values for an even count; null
    /// when no task is late.
    pub median_days_late: Option<f64>,
    /// Planned investment, 万元, summed over the tasks that are not cancelled (missing amounts as 0).
    pub planned_investment: f64,
    /// Actual investment, 万元, summed over the tasks that are not cancelled (missing amounts as 0).
    pub actual_investment: f64,
    /// Open tasks (planned or in_progress) with no report for 30 days: their latest report — or
    /// their creation, if never reported — fell on a day more than 30 days before today.
    pub stale: i64,
    /// Tasks under supervision (督办) that are not closed (neither verified nor cancelled).
    pub supervised: i64,
    /// Total geodesic length of the line tasks that are not cancelled, km.
    pub length_km: f64,
    /// Total geodesic area of the polygon tasks that are not cancelled, hectares.
    pub area_ha: f64,
}

/// One township's sums while folding cells.
#[derive(Debug, Clone, Default)]
struct Acc {
    tasks: i64,
    by_status: StatusCounts,
    by_category: BTreeMap<String, i64>,
    overdue: i64,
    finished_on_time: i64,
    stale: i64,
    supervised: i64,
    planned_investment: f64,
    actual_investment: f64,
    length_m: f64,
    area_m2: f64,
    /// Days late → tasks.
    late: BTreeMap<i32, i64>,
}

impl Acc {
    fn new(categories: &[String]) -> Acc {
        Acc { by_category: categories.iter().map(|c| (c.clone(), 0)).collect(), ..Default::default() }
    }

    fn add_cell(&mut self, c: &Cell) {
        let Some(status) = c.status else { return };
        self.tasks += c.tasks;
        self.by_status.add(status, c.tasks);
        *self.by_category.entry(c.category.clone()).or_default() += c.tasks;
        let open = status.is_open();
        if open {
            self.overdue += c.past_due;
            self.stale += c.unreported;
        }
        if status.is_finished() {
            self.finished_on_time += c.on_time;
        }
        if !matches!(status, Status::Verified | Status::Cancelled) {
            self.supervised += c.supervised;
        }
        if status != Status::Cancelled {
            self.planned_investment += c.planned_investment;
            self.actual_investment += c.actual_investment;
            self.length_m += c.length_m;
            self.area_m2 += c.area_m2;
        }
    }

    fn add_late(&mut self, days: i32, tasks: i64) {
        *self.late.entry(days).or_default() += tasks;
    }

    fn merge(&mut self, other: &Acc) {
        self.tasks += other.tasks;
        let s = &other.by_status;
        for (status, n) in [
            (Status::Planned, s.planned),
            (Status::InProgress, s.in_progress),
            (Status::Completed, s.completed),
            (Status::Verified, s.verified),
            (Status::Cancelled, s.cancelled),
        ] {
            self.by_status.add(status, n);
        }
        for (k, n) in &other.by_category {
            *self.by_category.entry(k.clone()).or_default() += n;
        }
        self.overdue += other.overdue;
        self.finished_on_time += other.finished_on_time;
        self.stale += other.stale;
        self.supervised += other.supervised;
        self.planned_investment += other.planned_investment;
        self.actual_investment += other.actual_investment;
        self.length_m += other.length_m;
        self.area_m2 += other.area_m2;
        for (d, n) in &other.late {
            self.add_late(*d, *n);
        }
    }

    fn figures(self, code: Option<String>, name: String) -> Figures {
        let s = self.by_status;
        let not_cancelled = self.tasks - s.cancelled;
        let finished = s.completed + s.verified;
        let late: i64 = self.late.values().sum();
        Figures {
            township_code: code,
            township_name: name,
            tasks: self.tasks,
            by_status: s,
            by_category: self.by_category,
            not_cancelled,
            finished,
            completion_rate: ratio(finished, not_cancelled),
            verified_rate: ratio(s.verified, not_cancelled),
            overdue: self.overdue,
            finished_on_time: self.finished_on_time,
            late,
            on_time_rate: ratio(self.finished_on_time, self.finished_on_time + late),
            median_days_late: median(&self.late),
            planned_investment: round(self.planned_investment, 2),
            actual_investment: round(self.actual_investment, 2),
            stale: self.stale,
            supervised: self.supervised,
            length_km: round(self.length_m / 1000.0, 3),
            area_ha: round(self.area_m2 / 10_000.0, 4),
        }
    }
}

fn ratio(part: i64, whole: i64) -> Option<f64> {
    (whole > 0).then(|| part as f64 / whole as f64)
}

/// Sums of many amounts in binary floating point pick up noise in the last bits; the ledger keeps
/// 2 decimals of 万元, metres of length and square metres of area.
fn round(x: f64, decimals: i32) -> f64 {
    let k = 10f64.powi(decimals);
    (x * k).round() / k
}

/// The median of a histogram (value → how many): the middle value, or the mean of the two middle
/// values when the count is even.
pub fn median(histogram: &BTreeMap<i32, i64>) -> Option<f64> {
    let n: i64 = histogram.values().sum();
    if n <= 0 {
        return None;
    }
    let (lower, upper) = ((n - 1) / 2, n / 2);
    let (mut lo, mut hi) = (None, None);
    let mut seen = 0;
    for (&value, &count) in histogram {
        let next = seen + count;
        if lo.is_none() && lower < next {
            lo = Some(value);
        }
        if upper < next {
            hi = Some(value);
            break;
        }
        seen = next;
    }
    Some((f64::from(lo?) + f64::from(hi?)) / 2.0)
}

/// Every township (in the order given, empty ones with zeros) and the county total.
#[derive(Debug, Clone, PartialEq)]
pub struct Rollup {
    pub townships: Vec<Figures>,
    pub county: Figures,
}

/// Folds the database's cells and late counts into the figures of each township and the county.
pub fn roll_up(townships: &[Township], categories: &[String], cells: &[Cell], late: &[LateCount]) -> Rollup {
    let mut accs: BTreeMap<&str, Acc> = townships.iter().map(|t| (t.code.as_str(), Acc::new(categories))).collect();
    for c in cells {
        if let Some(acc) = accs.get_mut(c.township.as_str()) {
            acc.add_cell(c);
        }
    }
    for l in late {
        if let Some(acc) = accs.get_mut(l.township.as_str()) {
            acc.add_late(l.days, l.tasks);
        }
    }
    let mut county = Acc::new(categories);
    for acc in accs.values() {
        county.merge(acc);
    }
    let townships = townships
        .iter()
        .map(|t| {
            let acc = accs.remove(t.code.as_str()).unwrap_or_else(|| Acc::new(categories));
            acc.figures(Some(t.code.clone()), t.name.clone())
        })
        .collect();
    Rollup { townships, county: county.figures(None, COUNTY_NAME.to_owned()) }
}

/// Completions and verifications of one month, as the database counts them.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct MonthCount {
    /// Any day of the month.
    pub month: NaiveDate,
    pub completed: i64,
    pub verified: i64,
}

/// One month of the series.
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct Month {
    /// The month, YYYY-MM (county time).
    #[schema(example = "2026-06")]
    pub month: String,
    /// Tasks whose completion day falls in the month and that are still completed or verified (a
    /// completion sent back for rework, 退回整改, no longer counts).
    pub completed: i64,
    /// Tasks verified (closed, 销号) in the month.
    pub verified: i64,
}

fn month_index(d: NaiveDate) -> i32 {
    d.year() * 12 + d.month0() as i32
}

/// The series month by month with no gaps (months without events show zeros): from the month of
/// `from` (else the first month with an event) to the month of `to` (else the last month with one).
pub fn monthly_series(counts: &[MonthCount], from: Option<NaiveDate>, to: Option<NaiveDate>) -> Vec<Month> {
    let mut by_month: BTreeMap<i32, (i64, i64)> = BTreeMap::new();
    for c in counts {
        let e = by_month.entry(month_index(c.month)).or_default();
        e.0 += c.completed;
        e.1 += c.verified;
    }
    let first = from.map(month_index).or_else(|| by_month.keys().next().copied());
    let last = to.map(month_index).or_else(|| by_month.keys().next_back().copied());
    let (Some(first), Some(last)) = (first, last) else { return Vec::new() };
    (first..=last)
        .map(|m| {
            let (completed, verified) = by_month.get(&m).copied().unwrap_or_default();
            Month { month: format!("{:04}-{:02}", m.div_euclid(12), m.rem_euclid(12) + 1), completed, verified }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pairs(q: &str) -> Vec<(String, String)> {
        form_urlencoded::parse(q.as_bytes()).into_owned().collect()
    }

    fn d(s: &str) -> NaiveDate {
        NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap()
    }

    fn hist(pairs: &[(i32, i64)]) -> BTreeMap<i32, i64> {
        pairs.iter().copied().collect()
    }

    #[test]
    fn parses_every_parameter() {
        let f = RollupFilter::parse(
            &pairs("category=watershed,energy&status=planned&from=2026-01-01&to=2026-06-30&supervised=true"),
            TOWNSHIP_PARAMETERS,
        )
        .unwrap();
        assert_eq!(f.categories, Some(vec!["watershed".into(), "energy".into()]));
        assert_eq!(f.statuses, Some(vec![Status::Planned]));
        assert_eq!((f.from, f.to), (Some(d("2026-01-01")), Some(d("2026-06-30"))));
        assert_eq!(f.supervised, Some(true));
        let m = RollupFilter::parse(&pairs("township=330599101"), MONTHLY_PARAMETERS).unwrap();
        assert_eq!(m.township.as_deref(), Some("330599101"));
    }

    #[test]
    fn names_the_bad_parameter() {
        for (q, param, says) in [
            ("from=2026-13-01", "from", "not a date"),
            ("to=yesterday", "to", "not a date"),
            ("from=2026-07-01&to=2026-06-30", "to", "ends (2026-06-30) before it starts"),
            ("from=0026-01-01", "from", "outside the years"),
            ("status=done", "status", "unknown status 'done'"),
            ("supervised=maybe", "supervised", "not true or false"),
            ("township=330599101", "township", "unknown parameter 'township'"),
            ("bbox=1,2,3,4", "bbox", "parameters are: category, status, from, to, supervised"),
            ("from=2026-01-01&from=2026-02-01", "from", "more than once"),
        ] {
            let e = RollupFilter::parse(&pairs(q), TOWNSHIP_PARAMETERS).unwrap_err();
            assert_eq!(e[0].pointer, param, "{q}");
            assert!(e[0].detail.contains(says), "{q}: {}", e[0].detail);
        }
        let e = RollupFilter::parse(&pairs("township=abc"), MONTHLY_PARAMETERS).unwrap_err();
        assert_eq!(e[0].pointer, "township");
        let f = RollupFilter::parse(&pairs("category=energy,mining"), TOWNSHIP_PARAMETERS).unwrap();
        let e = f.unknown_categories(&["watershed".into(), "energy".into()]);
        assert_eq!(e.len(), 1);
        assert_eq!(e[0].detail, "unknown category 'mining'; categories are: watershed, energy");
    }

    #[test]
    fn the_median_of_an_even_count_is_the_mean_of_the_middle_two() {
        assert_eq!(median(&hist(&[])), None);
        assert_eq!(median(&hist(&[(5, 1)])), Some(5.0));
        assert_eq!(median(&hist(&[(1, 1), (4, 1)])), Some(2.5));
        assert_eq!(median(&hist(&[(1, 2), (4, 2)])), Some(2.5));
        assert_eq!(median(&hist(&[(1, 1), (3, 2), (10, 1)])), Some(3.0));
        assert_eq!(median(&hist(&[(2, 3), (9, 1)])), Some(2.0));
        assert_eq!(median(&hist(&[(1, 1), (2, 1), (7, 1)])), Some(2.0));
    }

    fn cell(township: &str, status: Status, tasks: i64) -> Cell {
        Cell {
            township: township.into(),
            category: "watershed".into(),
            status: Some(status),
            tasks,
            ..Default::default()
        }
    }

    fn townships() -> Vec<Township> {
        vec![Township { code: "A".into(), name: "甲镇".into() }, Township { code: "B".into(), name: "乙镇".into() }]
    }

    #[test]
    fn facts_count_only_for_the_statuses_they_mean_something_for() {
        let cats = vec!["watershed".to_owned(), "energy".to_owned()];
        let mut planned = cell("A", Status::Planned, 4);
        planned.past_due = 2;
        planned.unreported = 1;
        planned.supervised = 1;
        planned.planned_investment = 10.0;
        let mut cancelled = cell("A", Status::Cancelled, 3);
        // Past due, unreported, supervised and money of cancelled work count nowhere.
        cancelled.past_due = 3;
        cancelled.unreported = 3;
        cancelled.supervised = 3;
        cancelled.planned_investment = 100.0;
        cancelled.length_m = 5000.0;
        let mut verified = cell("A", Status::Verified, 2);
        verified.on_time = 1;
        verified.supervised = 2;
        verified.past_due = 2;
        verified.length_m = 1500.0;
        verified.area_m2 = 25_000.0;
        let mut completed = cell("A", Status::Completed, 1);
        completed.supervised = 1;
        let late = [LateCount { township: "A".into(), days: 3, tasks: 1 }];
        let r = roll_up(&townships(), &cats, &[planned, cancelled, verified, completed], &late);
        let a = &r.townships[0];
        assert_eq!(a.tasks, 10);
        assert_eq!(a.not_cancelled, 7);
        assert_eq!(a.finished, 3);
        assert_eq!(a.completion_rate, Some(3.0 / 7.0));
        assert_eq!(a.verified_rate, Some(2.0 / 7.0));
        assert_eq!(a.overdue, 2);
        assert_eq!(a.stale, 1);
        assert_eq!(a.supervised, 2, "planned and completed count, verified and cancelled do not");
        assert_eq!(a.finished_on_time, 1);
        assert_eq!(a.late, 1);
        assert_eq!(a.on_time_rate, Some(0.5));
        assert_eq!(a.median_days_late, Some(3.0));
        assert_eq!(a.planned_investment, 10.0);
        assert_eq!(a.length_km, 1.5);
        assert_eq!(a.area_ha, 2.5);
        assert_eq!(a.by_category, BTreeMap::from([("energy".into(), 0), ("watershed".into(), 10)]));
    }

    #[test]
    fn an_empty_township_has_zeros_and_no_rates_and_the_county_adds_up() {
        let cats = vec!["watershed".to_owned()];
        let late = [
            LateCount { township: "A".into(), days: 1, tasks: 1 },
            LateCount { township: "A".into(), days: 10, tasks: 1 },
        ];
        let r = roll_up(&townships(), &cats, &[cell("A", Status::InProgress, 5)], &late);
        let b = &r.townships[1];
        assert_eq!((b.township_code.as_deref(), b.township_name.as_str()), (Some("B"), "乙镇"));
        assert_eq!((b.tasks, b.late, b.overdue), (0, 0, 0));
        assert_eq!((b.completion_rate, b.on_time_rate, b.median_days_late), (None, None, None));
        assert_eq!(b.by_category, BTreeMap::from([("watershed".into(), 0)]));
        assert_eq!(r.county.township_code, None);
        assert_eq!(r.county.township_name, COUNTY_NAME);
        assert_eq!(r.county.tasks, 5);
        assert_eq!(r.county.median_days_late, Some(5.5));
        assert_eq!(r.county.on_time_rate, Some(0.0));
    }

    #[test]
    fn sums_are_rounded_to_what_the_ledger_keeps() {
        let cats = vec!["watershed".to_owned()];
        let cells: Vec<Cell> = (0..10)
            .map(|_| Cell { actual_investment: 0.1, ..cell("A", Status::InProgress, 1) })
            .chain([Cell { actual_investment: 0.2, ..cell("B", Status::InProgress, 1) }])
            .collect();
        let r = roll_up(&townships(), &cats, &cells, &[]);
        assert_eq!(r.townships[0].actual_investment, 1.0);
        assert_eq!(r.county.actual_investment, 1.2);
    }

    #[test]
    fn months_run_without_gaps() {
        let counts = [
            MonthCount { month: d("2026-11-01"), completed: 2, verified: 0 },
            MonthCount { month: d("2027-02-01"), completed: 0, verified: 1 },
        ];
        let s = monthly_series(&counts, None, None);
        let months: Vec<&str> = s.iter().map(|m| m.month.as_str()).collect();
        assert_eq!(months, ["2026-11", "2026-12", "2027-01", "2027-02"]);
        assert_eq!((s[0].completed, s[3].verified, s[1].completed), (2, 1, 0));
        let s = monthly_series(&counts, Some(d("2026-10-15")), Some(d("2026-12-01")));
        assert_eq!(s.iter().map(|m| m.month.as_str()).collect::<Vec<_>>(), ["2026-10", "2026-11", "2026-12"]);
        assert!(monthly_series(&[], None, None).is_empty());
    }
}
