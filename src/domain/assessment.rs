//! Assessment (检查考核): a campaign year's scoring scheme as data, and how a unit (a township, or a
//! department by the tasks it leads) is scored and ranked, with every point explained.
//!
//! The tasks assessed for a unit are the campaign's tasks due in the year, not cancelled, that lie
//! in the township (as of the day the figures are made) or that the department leads.
//!
//! A scheme has *rate* indicators, each with a weight (the weights add up to 100), and *penalty*
//! indicators, each taking `per_task` points for every task it finds, up to its `cap`:
//! - rates: `target_completion` (the township's completion against its targets, see
//!   `domain::campaign::against_targets`; departments have no targets), `on_time_rate` (finished on
//!   or before the due date ÷ finished + open past due), `verified_rate` (verified ÷ assessed);
//! - penalties: `overdue` (open past the due date), `supervised` (under supervision and not
//!   verified), `returned` (each time a completion report was sent back, 退回整改), `stale` (open, no
//!   report for 30 days).
//!
//! A rate indicator with nothing to measure for a unit (no targets, no finished or overdue task)
//! is left out and the other weights are scaled up to 100, so a unit is neither rewarded nor
//! punished for what it was not given. Score = rate points − penalties, never below 0, rounded to
//! 2 decimals. A unit with no assessed task is listed and not ranked. Units with the same score
//! share a rank, and the next rank skips (1, 1, 3).

use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::fields::{self, Props};
use super::{Code, FieldError, Message};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Indicator {
    TargetCompletion,
    OnTimeRate,
    VerifiedRate,
    Overdue,
    Supervised,
    Returned,
    Stale,
}

impl Indicator {
    pub const ALL: &'static [(&'static str, Indicator)] = &[
        ("target_completion", Indicator::TargetCompletion),
        ("on_time_rate", Indicator::OnTimeRate),
        ("verified_rate", Indicator::VerifiedRate),
        ("overdue", Indicator::Overdue),
        ("supervised", Indicator::Supervised),
        ("returned", Indicator::Returned),
        ("stale", Indicator::Stale),
    ];

    pub fn as_str(self) -> &'static str {
        Self::ALL.iter().find(|(_, i)| *i == self).map_or("", |(n, _)| n)
    }

    pub fn is_rate(self) -> bool {
        matches!(self, Indicator::TargetCompletion | Indicator::OnTimeRate | Indicator::VerifiedRate)
    }

    /// Its name in Chinese, for the spreadsheet's sheets and the explanations.
    pub fn name_zh(self) -> &'static str {
        match self {
            Indicator::TargetCompletion => "目标完成率",
            Indicator::OnTimeRate => "按期完成率",
            Indicator::VerifiedRate => "销号率",
            Indicator::Overdue => "逾期任务",
            Indicator::Supervised => "督办任务",
            Indicator::Returned => "退回整改",
            Indicator::Stale => "长期未报",
        }
    }
}

/// One line of a scheme.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct SchemeLine {
    pub indicator: Indicator,
    /// For a rate: its share of 100 points.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub weight: Option<f64>,
    /// For a penalty: points taken per task found.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub per_task: Option<f64>,
    /// For a penalty: the most it takes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cap: Option<f64>,
}

/// A year's scoring scheme.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Scheme {
    pub indicators: Vec<SchemeLine>,
}

fn points(v: &Value) -> Result<f64, Message> {
    let x = fields::number(0.0, 100.0)(v)?;
    if x > 0.0 { Ok(x) } else { Err(fields::out_of_range(0.01, 100.0, x)) }
}

fn line(p: &mut Props, seen: &mut Vec<Indicator>) -> Option<SchemeLine> {
    p.refuse_unknown(&["indicator", "weight", "per_task", "cap"], &[]);
    let indicator = p.required("indicator", fields::one_of(Indicator::ALL))?;
    if seen.contains(&indicator) {
        let name = indicator.as_str();
        p.fail(
            "indicator",
            Message::new(Code::IndicatorRepeated, format!("the indicator '{name}' is given more than once"))
                .with("name", name),
        );
    }
    seen.push(indicator);
    Some(if indicator.is_rate() {
        for key in ["per_task", "cap"] {
            if p.optional(key, |_| Ok(())).is_some() {
                p.fail(key, Message::new(Code::NotAllowed, "not allowed here"));
            }
        }
        SchemeLine { indicator, weight: p.required("weight", points), per_task: None, cap: None }
    } else {
        if p.optional("weight", |_| Ok(())).is_some() {
            p.fail("weight", Message::new(Code::NotAllowed, "not allowed here"));
        }
        SchemeLine { indicator, weight: None, per_task: p.required("per_task", points), cap: p.required("cap", points) }
    })
}

impl Scheme {
    /// `{"indicators": [{"indicator": "on_time_rate", "weight": 40}, {"indicator": "overdue",
    /// "per_task": 2, "cap": 10}, ...]}`: each indicator at most once, the weights adding up to 100.
    pub fn parse(body: &Value) -> Result<Scheme, Vec<FieldError>> {
        let mut p = Props::object(body, "")?;
        p.refuse_unknown(&["indicators"], &[]);
        let list = p.required("indicators", |v| {
            v.as_array().cloned().ok_or_else(|| fields::wrong_type("array", "must be a list of indicators", v))
        });
        let mut errors = std::mem::take(&mut p.errors);
        let (mut lines, mut seen) = (Vec::new(), Vec::new());
        for (i, item) in list.unwrap_or_default().iter().enumerate() {
            match Props::object(item, &format!("/indicators/{i}")) {
                Ok(mut q) => {
                    let l = line(&mut q, &mut seen);
                    errors.append(&mut q.errors);
                    lines.extend(l);
                }
                Err(mut e) => errors.append(&mut e),
            }
        }
        let sum: f64 = lines.iter().filter_map(|l| l.weight).sum();
        if errors.is_empty() && (sum - 100.0).abs() > 1e-6 {
            let got = (sum * 100.0).round() / 100.0;
            errors.push(
                FieldError::new("/indicators", Code::WeightsSum, format!("the weights must add up to 100, got {got}"))
                    .with("got", got),
            );
        }
        if errors.is_empty() { Ok(Scheme { indicators: lines }) } else { Err(errors) }
    }

    /// The scheme a year starts with until the bureau sets its own.
    pub fn default_scheme() -> Scheme {
        let rate = |indicator, w| SchemeLine { indicator, weight: Some(w), per_task: None, cap: None };
        let pen = |indicator, p, c| SchemeLine { indicator, weight: None, per_task: Some(p), cap: Some(c) };
        Scheme {
            indicators: vec![
                rate(Indicator::TargetCompletion, 40.0),
                rate(Indicator::OnTimeRate, 30.0),
                rate(Indicator::VerifiedRate, 30.0),
                pen(Indicator::Overdue, 2.0, 10.0),
                pen(Indicator::Supervised, 1.0, 5.0),
                pen(Indicator::Returned, 1.0, 5.0),
                pen(Indicator::Stale, 1.0, 5.0),
            ],
        }
    }
}

/// A unit's figures, as the one set-based statement makes them; task codes name the tasks behind
/// each figure.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct UnitFigures {
    /// `township` or `department`.
    pub kind: &'static str,
    pub code: String,
    pub name: String,
    pub tasks: i64,
    pub finished_on_time: i64,
    /// Finished, plus open past the due date: what the on-time rate divides by.
    pub on_time_base: i64,
    /// The tasks of the base not finished on time.
    pub not_on_time: Vec<String>,
    pub verified: i64,
    pub not_verified: Vec<String>,
    pub overdue: Vec<String>,
    pub supervised: Vec<String>,
    /// One code per return: a task returned twice is named twice.
    pub returned: Vec<String>,
    pub stale: Vec<String>,
    /// The township's completion against its targets; None for a department or without targets.
    pub target_rate: Option<f64>,
    /// The targets behind it, as `family: rate` (for the explanation).
    pub target_notes: Vec<String>,
}

/// How one indicator scored for one unit.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Line {
    pub indicator: Indicator,
    /// The rate (0–1) or the number of tasks found; null when there was nothing to measure.
    pub figure: Option<f64>,
    /// Points given (a rate) or taken (a penalty, as a negative number).
    pub points: f64,
    /// The rule applied, in words (Chinese), with the numbers.
    pub rule: String,
    /// The tasks behind the points: those that fell short (rates) or were found (penalties).
    pub tasks: Vec<String>,
}

/// A unit's score with its explanation, and its place.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct UnitScore {
    #[schema(example = "township")]
    pub kind: String,
    pub code: String,
    pub name: String,
    /// Tasks assessed.
    pub tasks: i64,
    /// Null for a unit with no assessed task.
    pub score: Option<f64>,
    /// 1 is best; equal scores share a rank; null when not ranked.
    pub rank: Option<i64>,
    pub lines: Vec<Line>,
}

fn ratio(n: i64, d: i64) -> Option<f64> {
    (d > 0).then(|| n as f64 / d as f64)
}

fn round2(x: f64) -> f64 {
    (x * 100.0).round() / 100.0
}

/// A rate (None: nothing to measure), the tasks that fell short, and how it was measured.
type Measured = (Option<f64>, Vec<String>, String);

/// The rate of `indicator` for `f`, with the tasks that fell short and how it was measured.
fn rate_of(indicator: Indicator, f: &UnitFigures) -> Measured {
    match indicator {
        Indicator::TargetCompletion => (f.target_rate, Vec::new(), format!("目标：{}", f.target_notes.join("；"))),
        Indicator::OnTimeRate => (
            ratio(f.finished_on_time, f.on_time_base),
            f.not_on_time.clone(),
            format!("按期完成 {} ÷（已完成 + 逾期未完成）{}", f.finished_on_time, f.on_time_base),
        ),
        _ => (
            ratio(f.verified, f.tasks),
            f.not_verified.clone(),
            format!("已销号 {} ÷ 考核任务 {}", f.verified, f.tasks),
        ),
    }
}

fn found(indicator: Indicator, f: &UnitFigures) -> &[String] {
    match indicator {
        Indicator::Overdue => &f.overdue,
        Indicator::Supervised => &f.supervised,
        Indicator::Returned => &f.returned,
        _ => &f.stale,
    }
}

/// Scores one unit under `scheme`, explaining every point.
pub fn score(scheme: &Scheme, f: &UnitFigures) -> UnitScore {
    let rates: Vec<(&SchemeLine, Measured)> =
        scheme.indicators.iter().filter(|l| l.indicator.is_rate()).map(|l| (l, rate_of(l.indicator, f))).collect();
    let applicable: f64 = rates.iter().filter(|(_, r)| r.0.is_some()).filter_map(|(l, _)| l.weight).sum();
    let scale = if applicable > 0.0 { 100.0 / applicable } else { 0.0 };
    let mut lines = Vec::new();
    for (l, (rate, short, how)) in rates {
        let w = l.weight.unwrap_or(0.0);
        let (points, rule) = match rate {
            Some(r) => {
                let p = w * scale * r.clamp(0.0, 1.0);
                (
                    p,
                    format!(
                        "{how} = {:.2}%；权重 {w}（折算 {:.2}）× {:.4} = {p:.2} 分",
                        r * 100.0,
                        w * scale,
                        r.clamp(0.0, 1.0)
                    ),
                )
            }
            None => (0.0, format!("{how}：无可计量内容，不计，其权重按比例分给其他指标")),
        };
        lines.push(Line { indicator: l.indicator, figure: rate, points: round2(points), rule, tasks: short });
    }
    for l in scheme.indicators.iter().filter(|l| !l.indicator.is_rate()) {
        let tasks = found(l.indicator, f).to_vec();
        let (per, cap) = (l.per_task.unwrap_or(0.0), l.cap.unwrap_or(0.0));
        let taken = (per * tasks.len() as f64).min(cap);
        let rule = format!("{} 项 × 每项扣 {per} 分，最多扣 {cap} 分：扣 {taken:.2} 分", tasks.len());
        lines.push(Line {
            indicator: l.indicator,
            figure: Some(tasks.len() as f64),
            points: -round2(taken),
            rule,
            tasks,
        });
    }
    let total = lines.iter().map(|l| l.points).sum::<f64>().max(0.0);
    UnitScore {
        kind: f.kind.to_owned(),
        code: f.code.clone(),
        name: f.name.clone(),
        tasks: f.tasks,
        score: (f.tasks > 0).then(|| round2(total)),
        rank: None,
        lines,
    }
}

/// Ranks units of one kind by score, best first: equal scores share a rank and the next rank skips
/// (1, 1, 3); units without a score come last, unranked, by code.
pub fn rank(mut units: Vec<UnitScore>) -> Vec<UnitScore> {
    units.sort_by(|a, b| match (a.score, b.score) {
        (Some(x), Some(y)) => y.total_cmp(&x).then_with(|| a.code.cmp(&b.code)),
        (Some(_), None) => std::cmp::Ordering::Less,
        (None, Some(_)) => std::cmp::Ordering::Greater,
        (None, None) => a.code.cmp(&b.code),
    });
    let mut previous: Option<(f64, i64)> = None;
    for (i, u) in units.iter_mut().enumerate() {
        let Some(s) = u.score else { continue };
        let r = match previous {
            Some((p, r)) if p == s => r,
            _ => i as i64 + 1,
        };
        u.rank = Some(r);
        previous = Some((s, r));
    }
    units
}

/// Which result a reader asks for: `version=draft` (computed now; staff only), a frozen version
/// `version=n`, or without it the latest frozen one. Answers (draft, version).
pub fn result_query(pairs: &[(String, String)]) -> Result<(bool, Option<i32>), Vec<FieldError>> {
    let mut errors = Vec::new();
    let (mut draft, mut version) = (false, None);
    for (name, value) in pairs {
        match (name.as_str(), value.trim()) {
            ("version", "draft") => draft = true,
            ("version", v) => match v.parse::<i32>() {
                Ok(n) if n >= 1 => version = Some(n),
                _ => errors.push(
                    Message::new(Code::Format, format!("'{value}' is not a version (draft, or a number from 1)"))
                        .with("expected", "version")
                        .with("got", value.clone())
                        .at("version"),
                ),
            },
            (other, _) => errors.push(
                FieldError::new(other, Code::UnknownField, format!("unknown field '{other}'"))
                    .with("name", other)
                    .with("allowed", vec!["version"]),
            ),
        }
    }
    if errors.is_empty() { Ok((draft, version)) } else { Err(errors) }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn figures(tasks: i64) -> UnitFigures {
        UnitFigures { kind: "township", code: "A".into(), name: "甲镇".into(), tasks, ..Default::default() }
    }

    #[test]
    fn a_scheme_needs_weights_of_100_and_each_indicator_once() {
        let ok = json!({"indicators": [{"indicator": "on_time_rate", "weight": 60}, {"indicator": "verified_rate", "weight": 40},
                                        {"indicator": "overdue", "per_task": 2, "cap": 10}]});
        assert_eq!(Scheme::parse(&ok).unwrap().indicators.len(), 3);
        let short = json!({"indicators": [{"indicator": "on_time_rate", "weight": 60}]});
        assert_eq!(Scheme::parse(&short).unwrap_err()[0].code, Code::WeightsSum);
        let twice = json!({"indicators": [{"indicator": "on_time_rate", "weight": 50}, {"indicator": "on_time_rate", "weight": 50}]});
        let e = Scheme::parse(&twice).unwrap_err();
        assert_eq!((e[0].pointer.as_str(), e[0].code), ("/indicators/1/indicator", Code::IndicatorRepeated));
        let mixed =
            json!({"indicators": [{"indicator": "overdue", "weight": 100}, {"indicator": "stale", "per_task": 1}]});
        let e = Scheme::parse(&mixed).unwrap_err();
        let ptrs: Vec<&str> = e.iter().map(|e| e.pointer.as_str()).collect();
        assert_eq!(ptrs, ["/indicators/0/weight", "/indicators/0/per_task", "/indicators/0/cap", "/indicators/1/cap"]);
        assert_eq!(
            Scheme::parse(&json!({"indicators": [{"indicator": "speed", "weight": 100}]})).unwrap_err()[0].code,
            Code::UnknownValue
        );
    }

    #[test]
    fn rates_give_their_weight_and_penalties_take_up_to_their_cap() {
        let scheme = Scheme::parse(&json!({"indicators": [
            {"indicator": "on_time_rate", "weight": 50}, {"indicator": "verified_rate", "weight": 50},
            {"indicator": "overdue", "per_task": 3, "cap": 5}]}))
        .unwrap();
        let f = UnitFigures {
            finished_on_time: 1,
            on_time_base: 4,
            not_on_time: vec!["A".into(), "B".into(), "C".into()],
            verified: 2,
            overdue: vec!["B".into(), "C".into()],
            ..figures(4)
        };
        let s = score(&scheme, &f);
        assert_eq!(s.lines.iter().map(|l| l.points).collect::<Vec<_>>(), [12.5, 25.0, -5.0]);
        assert_eq!(s.score, Some(32.5));
        assert_eq!(s.lines[2].tasks, ["B", "C"]);
        assert!(s.lines[2].rule.contains("最多扣 5"), "{}", s.lines[2].rule);
    }

    #[test]
    fn a_rate_with_nothing_to_measure_gives_its_weight_to_the_others() {
        let scheme = Scheme::default_scheme();
        let f = UnitFigures { verified: 1, ..figures(2) };
        let s = score(&scheme, &f);
        // No targets and nothing finished or overdue: verified_rate alone carries 100 points.
        assert_eq!(s.lines[2].points, 50.0);
        assert_eq!(s.score, Some(50.0));
        let none = score(&scheme, &figures(0));
        assert_eq!(none.score, None);
    }

    #[test]
    fn penalties_never_take_a_score_below_zero() {
        let scheme = Scheme::parse(&json!({"indicators": [{"indicator": "verified_rate", "weight": 100},
            {"indicator": "stale", "per_task": 50, "cap": 100}]}))
        .unwrap();
        let f = UnitFigures { stale: vec!["A".into(), "B".into()], ..figures(2) };
        assert_eq!(score(&scheme, &f).score, Some(0.0));
    }

    #[test]
    fn equal_scores_share_a_rank_and_the_next_skips() {
        let unit = |code: &str, score| UnitScore {
            kind: "township".into(),
            code: code.into(),
            name: code.into(),
            tasks: 1,
            score,
            rank: None,
            lines: vec![],
        };
        let ranked = rank(vec![unit("c", Some(80.0)), unit("a", Some(90.0)), unit("d", None), unit("b", Some(90.0))]);
        let got: Vec<(&str, Option<i64>)> = ranked.iter().map(|u| (u.code.as_str(), u.rank)).collect();
        assert_eq!(got, [("a", Some(1)), ("b", Some(1)), ("c", Some(3)), ("d", None)]);
    }
}
