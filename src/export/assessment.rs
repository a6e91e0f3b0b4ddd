//! A year's assessment as an Excel workbook: a ranking sheet (townships, then departments) and one
//! sheet per indicator of the scheme, each unit's figure, points, the rule applied and the tasks
//! behind it. Written with the ledger workbook's crate; constant memory, so a province's task
//! codes stream through.

use rust_xlsxwriter::{Format, Workbook, Worksheet, XlsxError};

use crate::domain::assessment::{Indicator, UnitScore};
use crate::domain::export::display_width;
use crate::store::assessment::Assessment;

/// Excel refuses a cell of more than 32,767 characters: long task lists are cut with a note.
const MAX_CELL: usize = 32_000;

fn kind_zh(kind: &str) -> &'static str {
    if kind == "township" { "乡镇" } else { "部门" }
}

fn widths(sheet: &mut Worksheet, widths: &[usize]) -> Result<(), XlsxError> {
    for (i, w) in widths.iter().enumerate() {
        sheet.set_column_width(i as u16, (*w as f64 + 2.0).min(80.0))?;
    }
    Ok(())
}

fn header(sheet: &mut Worksheet, bold: &Format, titles: &[&str]) -> Result<Vec<usize>, XlsxError> {
    for (i, t) in titles.iter().enumerate() {
        sheet.write_string_with_format(0, i as u16, *t, bold)?;
    }
    sheet.set_freeze_panes(1, 0)?;
    Ok(titles.iter().map(|t| display_width(t)).collect())
}

fn task_list(codes: &[String]) -> String {
    let all = codes.join("、");
    if all.len() <= MAX_CELL {
        return all;
    }
    let mut cut: String = all.chars().take(MAX_CELL / 3).collect();
    cut.push_str(&format!("…（共 {} 项）", codes.len()));
    cut
}

fn units(a: &Assessment) -> impl Iterator<Item = &UnitScore> {
    a.townships.iter().chain(&a.departments)
}

fn ranking(book: &mut Workbook, a: &Assessment, bold: &Format) -> Result<(), XlsxError> {
    let sheet = book.add_worksheet();
    sheet.set_name("排名")?;
    let mut w = header(sheet, bold, &["类型", "代码", "名称", "考核任务", "得分", "排名"])?;
    for (r, u) in units(a).enumerate() {
        let row = r as u32 + 1;
        sheet.write_string(row, 0, kind_zh(&u.kind))?;
        sheet.write_string(row, 1, &u.code)?;
        sheet.write_string(row, 2, &u.name)?;
        sheet.write_number(row, 3, u.tasks as f64)?;
        if let Some(s) = u.score {
            sheet.write_number(row, 4, s)?;
        }
        match u.rank {
            Some(k) => sheet.write_number(row, 5, k as f64)?,
            None => sheet.write_string(row, 5, "不参与排名（无考核任务）")?,
        };
        w[2] = w[2].max(display_width(&u.name));
    }
    widths(sheet, &w)
}

fn indicator_sheet(book: &mut Workbook, a: &Assessment, ind: Indicator, bold: &Format) -> Result<(), XlsxError> {
    let sheet = book.add_worksheet();
    sheet.set_name(ind.name_zh())?;
    let mut w = header(sheet, bold, &["类型", "代码", "名称", "指标值", "得分", "计分规则", "涉及任务"])?;
    for (r, u) in units(a).enumerate() {
        let row = r as u32 + 1;
        sheet.write_string(row, 0, kind_zh(&u.kind))?;
        sheet.write_string(row, 1, &u.code)?;
        sheet.write_string(row, 2, &u.name)?;
        let Some(line) = u.lines.iter().find(|l| l.indicator == ind) else { continue };
        if let Some(f) = line.figure {
            sheet.write_number(row, 3, f)?;
        }
        sheet.write_number(row, 4, line.points)?;
        sheet.write_string(row, 5, &line.rule)?;
        sheet.write_string(row, 6, task_list(&line.tasks))?;
        w[5] = w[5].max(display_width(&line.rule));
        w[2] = w[2].max(display_width(&u.name));
    }
    widths(sheet, &w)
}

/// The workbook's bytes.
pub fn workbook(a: &Assessment) -> Result<Vec<u8>, XlsxError> {
    let mut book = Workbook::new();
    let bold = Format::new().set_bold();
    ranking(&mut book, a, &bold)?;
    for line in &a.scheme.indicators {
        indicator_sheet(&mut book, a, line.indicator, &bold)?;
    }
    book.save_to_buffer()
}
