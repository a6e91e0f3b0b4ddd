//! The ledger as an Excel workbook, as a bureau files it: a sheet of the tasks and a sheet of the
//! township rollup over them with a county total row. Numbers and dates are real number and date
//! cells (times in the county's time zone), the header row is frozen, and columns are as wide as
//! their Chinese text.

use chrono::{Datelike, NaiveDate, NaiveDateTime, Timelike};
use rust_xlsxwriter::{ExcelDateTime, Format, Workbook, Worksheet, XlsxError};

use crate::domain::export::{self as rules, MAX_SHEET_ROWS, display_width, status_zh, yes_no};
use crate::domain::rollup::{Figures, Rollup};
use crate::domain::task::Status;
use crate::store::export::LedgerRow;

/// Why a workbook could not be written.
#[derive(Debug, thiserror::Error)]
pub enum WorkbookError {
    #[error(
        "the ledger has more tasks than one Excel sheet holds ({}); export /api/export/tasks.csv instead",
        MAX_SHEET_ROWS - 1
    )]
    TooManyRows,
    #[error("reading the ledger failed: {0}")]
    Read(#[from] sqlx::Error),
    #[error("writing the workbook failed: {0}")]
    Write(#[from] XlsxError),
}

/// What the workbook holds besides the task rows.
pub struct Contents<'a> {
    /// Contact details and reasons are columns only for logged-in callers.
    pub private_columns: bool,
    pub rollup: &'a Rollup,
    /// The same figures by lead department (`store::rollups::departments`).
    pub by_department: &'a Rollup,
    /// Category codes and names, in the ledger's order: the rollup's columns.
    pub categories: &'a [(String, String)],
    pub as_of: NaiveDate,
}

fn excel_date(d: NaiveDate) -> Result<ExcelDateTime, XlsxError> {
    ExcelDateTime::from_ymd(d.year() as u16, d.month() as u8, d.day() as u8)
}

fn excel_time(t: NaiveDateTime) -> Result<ExcelDateTime, XlsxError> {
    excel_date(t.date())?.and_hms(t.hour() as u16, t.minute() as u8, t.second())
}

struct Formats {
    header: Format,
    date: Format,
    time: Format,
    money: Format,
    coordinate: Format,
    percent: Format,
    decimal: Format,
    total: Format,
    total_money: Format,
    total_percent: Format,
    total_decimal: Format,
}

impl Formats {
    fn new() -> Formats {
        let bold = || Format::new().set_bold();
        Formats {
            header: bold().set_background_color("#E7EEF7").set_text_wrap(),
            date: Format::new().set_num_format("yyyy-mm-dd"),
            time: Format::new().set_num_format("yyyy-mm-dd hh:mm"),
            money: Format::new().set_num_format("#,##0.00"),
            coordinate: Format::new().set_num_format("0.000000"),
            percent: Format::new().set_num_format("0.0%"),
            decimal: Format::new().set_num_format("0.0##"),
            total: bold(),
            total_money: bold().set_num_format("#,##0.00"),
            total_percent: bold().set_num_format("0.0%"),
            total_decimal: bold().set_num_format("0.0##"),
        }
    }
}

/// A worksheet written row by row that remembers how wide each column's text is.
struct Sheet<'a> {
    ws: &'a mut Worksheet,
    widths: Vec<usize>,
}

impl<'a> Sheet<'a> {
    fn new(ws: &'a mut Worksheet, headers: &[&str], f: &Formats) -> Result<Sheet<'a>, XlsxError> {
        let mut sheet = Sheet { ws, widths: vec![0; headers.len()] };
        for (col, h) in headers.iter().enumerate() {
            sheet.text(0, col, h, Some(&f.header))?;
        }
        sheet.ws.set_freeze_panes(1, 0)?;
        Ok(sheet)
    }

    fn seen(&mut self, col: usize, width: usize) {
        if col >= self.widths.len() {
            self.widths.resize(col + 1, 0);
        }
        self.widths[col] = self.widths[col].max(width);
    }

    fn text(&mut self, row: u32, col: usize, s: &str, format: Option<&Format>) -> Result<(), XlsxError> {
        if s.is_empty() {
            return Ok(());
        }
        self.seen(col, display_width(s));
        match format {
            Some(f) => self.ws.write_string_with_format(row, col as u16, s, f)?,
            None => self.ws.write_string(row, col as u16, s)?,
        };
        Ok(())
    }

    fn number(&mut self, row: u32, col: usize, x: Option<f64>, format: Option<&Format>) -> Result<(), XlsxError> {
        let Some(x) = x else { return Ok(()) };
        // Formatted numbers show about as many characters as their plain decimal form.
        self.seen(col, format!("{x:.2}").len());
        match format {
            Some(f) => self.ws.write_number_with_format(row, col as u16, x, f)?,
            None => self.ws.write_number(row, col as u16, x)?,
        };
        Ok(())
    }

    fn date(&mut self, row: u32, col: usize, d: Option<NaiveDate>, f: &Format) -> Result<(), XlsxError> {
        let Some(d) = d else { return Ok(()) };
        self.seen(col, 10);
        self.ws.write_datetime_with_format(row, col as u16, excel_date(d)?, f)?;
        Ok(())
    }

    fn time(&mut self, row: u32, col: usize, t: Option<NaiveDateTime>, f: &Format) -> Result<(), XlsxError> {
        let Some(t) = t else { return Ok(()) };
        self.seen(col, 16);
        self.ws.write_datetime_with_format(row, col as u16, excel_time(t)?, f)?;
        Ok(())
    }

    fn fit_columns(&mut self) -> Result<(), XlsxError> {
        for (col, w) in self.widths.iter().enumerate() {
            self.ws.set_column_width(col as u16, rules::column_width(*w))?;
        }
        Ok(())
    }
}

const TASK_HEADERS: &[&str] = &[
    "任务编号",
    "任务名称",
    "类别",
    "状态",
    "进度(%)",
    "乡镇代码",
    "乡镇(街道)",
    "责任单位",
    "牵头部门",
    "配合部门",
    "完成时限",
    "是否逾期",
    "计划投资(万元)",
    "实际投资(万元)",
    "目标量",
    "单位",
    "公开范围",
    "是否督办",
    "完成时间",
    "销号时间",
    "最近上报",
    "创建时间",
    "经度",
    "纬度",
    "任务内容",
    "WKT",
];
/// Characters one Excel cell holds.
const MAX_CELL_TEXT: usize = 32_767;

const TASK_PRIVATE_HEADERS: &[&str] = &["联系人", "联系电话", "退回原因", "取消原因"];

fn task_row(s: &mut Sheet<'_>, row: u32, r: &LedgerRow, private_columns: bool, f: &Formats) -> Result<(), XlsxError> {
    let p = &r.public;
    s.text(row, 0, &p.code, None)?;
    s.text(row, 1, &p.title, None)?;
    s.text(row, 2, &r.category_name, None)?;
    let status = Status::parse(&p.status).map(status_zh).unwrap_or(&p.status);
    s.text(row, 3, status, None)?;
    s.number(row, 4, Some(f64::from(p.progress)), None)?;
    // Codes are identifiers, not quantities: as text they keep their digits and are not summed.
    s.text(row, 5, &p.township, None)?;
    s.text(row, 6, &p.township_name, None)?;
    s.text(row, 7, &p.lead_unit, None)?;
    s.text(row, 8, p.lead_department_name.as_deref().unwrap_or(""), None)?;
    s.text(row, 9, &r.support_names, None)?;
    s.date(row, 10, p.due_date, &f.date)?;
    s.text(row, 11, yes_no(p.overdue), None)?;
    s.number(row, 12, p.planned_investment, Some(&f.money))?;
    s.number(row, 13, p.actual_investment, Some(&f.money))?;
    s.number(row, 14, p.target_quantity, None)?;
    s.text(row, 15, p.target_unit.as_deref().unwrap_or(""), None)?;
    s.text(row, 16, if p.visibility == "public" { "公开" } else { "内部" }, None)?;
    s.text(row, 17, yes_no(p.supervised), None)?;
    s.time(row, 18, r.completed_local, &f.time)?;
    s.time(row, 19, r.verified_local, &f.time)?;
    s.time(row, 20, r.last_report_local, &f.time)?;
    s.time(row, 21, Some(r.created_local), &f.time)?;
    s.number(row, 22, Some(r.lon), Some(&f.coordinate))?;
    s.number(row, 23, Some(r.lat), Some(&f.coordinate))?;
    s.text(row, 24, &p.description, None)?;
    // The geometry itself, so that a line or an area imports back as what it is; one beyond a
    // cell's limit is left to its longitude and latitude (tasks.geojson holds it whole).
    if r.wkt.len() <= MAX_CELL_TEXT {
        s.text(row, 25, &r.wkt, None)?;
    }
    if private_columns && let Some(q) = &r.private {
        for (i, v) in [&q.contact_person, &q.contact_phone, &q.return_reason, &q.cancel_reason].into_iter().enumerate()
        {
            s.text(row, 26 + i, v.as_deref().unwrap_or(""), None)?;
        }
    }
    Ok(())
}

fn rollup_row(
    s: &mut Sheet<'_>,
    row: u32,
    fig: &Figures,
    categories: &[(String, String)],
    total: Option<&str>,
    f: &Formats,
) -> Result<(), XlsxError> {
    let (plain, money, percent, decimal) = if total.is_some() {
        (Some(&f.total), Some(&f.total_money), Some(&f.total_percent), Some(&f.total_decimal))
    } else {
        (None, Some(&f.money), Some(&f.percent), Some(&f.decimal))
    };
    let n = |x: i64| Some(x as f64);
    s.text(row, 0, fig.township_code.as_deref().unwrap_or(""), plain)?;
    s.text(row, 1, total.unwrap_or(&fig.township_name), plain)?;
    let st = &fig.by_status;
    let mut cells: Vec<(Option<f64>, Option<&Format>)> = vec![
        (n(fig.tasks), plain),
        (n(st.planned), plain),
        (n(st.in_progress), plain),
        (n(st.completed), plain),
        (n(st.verified), plain),
        (n(st.cancelled), plain),
    ];
    for (code, _) in categories {
        cells.push((n(fig.by_category.get(code).copied().unwrap_or(0)), plain));
    }
    cells.extend([
        (fig.completion_rate, percent),
        (fig.verified_rate, percent),
        (n(fig.overdue), plain),
        (fig.on_time_rate, percent),
        (fig.median_days_late, decimal),
        (Some(fig.planned_investment), money),
        (Some(fig.actual_investment), money),
        (n(fig.stale), plain),
        (n(fig.supervised), plain),
        (Some(fig.length_km), decimal),
        (Some(fig.area_ha), money),
    ]);
    for (i, (x, format)) in cells.into_iter().enumerate() {
        s.number(row, 2 + i, x, format)?;
    }
    Ok(())
}

const ROLLUP_HEADERS: &[&str] = &["乡镇代码", "乡镇(街道)", "任务数", "未开工", "推进中", "已完成", "已销号", "已取消"];
const ROLLUP_FIGURE_HEADERS: &[&str] = &[
    "完成率",
    "销号率",
    "逾期数",
    "按期完成率",
    "逾期天数中位数",
    "计划投资(万元)",
    "实际投资(万元)",
    "30天未上报",
    "督办数",
    "线状长度(km)",
    "面状面积(公顷)",
];

/// The workbook of `rows` (read as it is written) and `contents`, as the bytes of an .xlsx file.
pub fn workbook(
    rows: &mut dyn Iterator<Item = Result<LedgerRow, sqlx::Error>>,
    contents: &Contents<'_>,
) -> Result<Vec<u8>, WorkbookError> {
    let f = Formats::new();
    let mut wb = Workbook::new();
    // Constant-memory mode streams each finished row to a temporary file: a province's ledger does
    // not have to fit in memory twice.
    tasks_sheet(wb.add_worksheet_with_constant_memory()?, rows, contents.private_columns, &f)?;
    rollup_sheet(wb.add_worksheet(), contents, &TOWNSHIP_SHEET, &f)?;
    rollup_sheet(wb.add_worksheet(), contents, &DEPARTMENT_SHEET, &f)?;
    Ok(wb.save_to_buffer()?)
}

fn tasks_sheet(
    ws: &mut Worksheet,
    rows: &mut dyn Iterator<Item = Result<LedgerRow, sqlx::Error>>,
    private_columns: bool,
    f: &Formats,
) -> Result<(), WorkbookError> {
    ws.set_name("任务台账")?;
    let mut headers = TASK_HEADERS.to_vec();
    if private_columns {
        headers.extend_from_slice(TASK_PRIVATE_HEADERS);
    }
    let mut sheet = Sheet::new(ws, &headers, f)?;
    let mut row = 0u32;
    for r in rows {
        let r = r?;
        row += 1;
        if row as usize >= MAX_SHEET_ROWS {
            return Err(WorkbookError::TooManyRows);
        }
        task_row(&mut sheet, row, &r, private_columns, f)?;
    }
    Ok(sheet.fit_columns()?)
}

/// A rollup sheet's words: its name, the first two headings, the total's label.
struct RollupSheet {
    name: &'static str,
    unit: [&'static str; 2],
    total: &'static str,
    department: bool,
}

const TOWNSHIP_SHEET: RollupSheet =
    RollupSheet {
        name: "乡镇汇总", unit: ["乡镇代码", "乡镇(街道)"], total: "全县合计", department: false
    };
const DEPARTMENT_SHEET: RollupSheet =
    RollupSheet {
        name: "部门汇总", unit: ["部门代码", "牵头部门"], total: "全部牵头部门合计", department: true
    };

fn rollup_sheet(ws: &mut Worksheet, c: &Contents<'_>, kind: &RollupSheet, f: &Formats) -> Result<(), XlsxError> {
    ws.set_name(kind.name)?;
    let mut headers = kind.unit.to_vec();
    headers.extend_from_slice(&ROLLUP_HEADERS[2..]);
    headers.extend(c.categories.iter().map(|(_, name)| name.as_str()));
    headers.extend_from_slice(ROLLUP_FIGURE_HEADERS);
    let mut sheet = Sheet::new(ws, &headers, f)?;
    let rollup = if kind.department { c.by_department } else { c.rollup };
    let mut row = 0u32;
    for t in &rollup.townships {
        row += 1;
        rollup_row(&mut sheet, row, t, c.categories, None, f)?;
    }
    row += 1;
    rollup_row(&mut sheet, row, &rollup.county, c.categories, Some(kind.total), f)?;
    row += 2;
    sheet.text(row, 0, "统计日期", None)?;
    sheet.date(row, 1, Some(c.as_of), &f.date)?;
    sheet.fit_columns()
}
