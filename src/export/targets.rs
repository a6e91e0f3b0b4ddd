//! A campaign's targets with their progress as CSV, for the bureau's own spreadsheets: one row per
//! target, then one per township and year with its completion against its targets.

use std::fmt::Write;

use crate::domain::export::{BOM, csv_text};
use crate::store::campaigns::Target;

const HEAD: &[&str] = &[
    "年度",
    "乡镇代码",
    "乡镇",
    "类别",
    "目标任务数",
    "目标数量",
    "单位",
    "计数口径",
    "计划任务",
    "已达成任务",
    "计划数量",
    "已达成数量",
    "目标完成率",
];

fn num<T: ToString>(x: Option<T>) -> String {
    x.map(|v| v.to_string()).unwrap_or_default()
}

fn pct(x: Option<f64>) -> String {
    x.map(|r| format!("{:.4}", r)).unwrap_or_default()
}

/// The file: `townships` are (year, code, name, targets, rate) per township and year, written as
/// rows with 合计 in the family column.
pub fn file(targets: &[Target], townships: &[(i32, String, String, Option<f64>)]) -> String {
    let mut out = format!("{BOM}{}\r\n", HEAD.join(","));
    for t in targets {
        let when = if t.counted_when.as_str() == "completed" { "完成即计" } else { "销号才计" };
        let _ = write!(
            out,
            "{},{},{},{},{},{},{},{},{},{},{},{},{}\r\n",
            t.year,
            t.township,
            csv_text(&t.township_name),
            t.category,
            num(t.task_count),
            num(t.quantity),
            csv_text(t.unit.as_deref().unwrap_or("")),
            when,
            t.tasks_planned,
            t.tasks_achieved,
            t.quantity_planned,
            t.quantity_achieved,
            pct(t.rate)
        );
    }
    for (year, code, name, rate) in townships {
        let _ = write!(out, "{year},{code},{},合计,,,,,,,,,{}\r\n", csv_text(name), pct(*rate));
    }
    out
}
