//! /api/export: the ledger (台账) as the caller may see it — CSV and GeoJSON streamed row by row,
//! and the Excel workbook a bureau files (tasks and the township rollup). Public callers get public
//! tasks and public fields; a township officer also its own township's internal tasks and their
//! contact details; bureau staff everything.

use axum::body::{Body, Bytes};
use axum::extract::State;
use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Response};
use chrono::{DateTime, Datelike, NaiveDate, NaiveDateTime, SecondsFormat, Timelike, Utc};
use futures_util::{Stream, StreamExt, stream};
use rust_xlsxwriter::{ExcelDateTime, Format, Workbook, Worksheet, XlsxError};
use tokio::sync::mpsc;

use super::AppState;
use super::extract::QueryPairs;
use super::tasks::GEOJSON;
use crate::auth::Principal;
use crate::domain::access::Viewer;
use crate::domain::export::{
    self as rules, BOM, MAX_SHEET_ROWS, csv_field, csv_text, display_width, status_zh, yes_no,
};
use crate::domain::rollup::{Figures, Rollup, RollupFilter};
use crate::domain::task::Status;
use crate::error::{ApiError, FieldError, Problem, ProblemKind, Result};
use crate::store::export::{self as store, LedgerRow};
use crate::store::rollups;

const XLSX: &str = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet";
/// Rows encoded into one chunk of the response body.
const BATCH: usize = 256;

/// The exports take no parameters: anything in the query string is a mistake worth saying.
fn no_parameters(pairs: &[(String, String)]) -> Result<()> {
    if pairs.is_empty() {
        return Ok(());
    }
    Err(ApiError::bad_query(
        pairs
            .iter()
            .map(|(k, _)| {
                FieldError::new(k.clone(), format!("unknown parameter '{k}'; the exports take no parameters"))
            })
            .collect(),
    ))
}

/// A file to save: its type, and its name in the Content-Disposition.
fn download(content_type: &'static str, filename: &str, body: impl IntoResponse) -> Response {
    // An ASCII name for old clients, the real one (RFC 6266 / RFC 8187) for the rest.
    let ascii: String =
        filename.chars().map(|c| if c.is_ascii_alphanumeric() || ".-_".contains(c) { c } else { '_' }).collect();
    let encoded: String = form_urlencoded::byte_serialize(filename.as_bytes()).collect();
    let disposition = HeaderValue::from_str(&format!("attachment; filename=\"{ascii}\"; filename*=UTF-8''{encoded}"))
        .expect("an ASCII header value");
    ([(header::CONTENT_TYPE, HeaderValue::from_static(content_type)), (header::CONTENT_DISPOSITION, disposition)], body)
        .into_response()
}

/// Waits for the first row, so a failure before any byte is sent is still a proper error response
/// (503 when the database is down) rather than a download that breaks off.
async fn first<T>(rx: &mut mpsc::Receiver<Result<T, sqlx::Error>>) -> Result<Option<T>> {
    Ok(rx.recv().await.transpose()?)
}

/// The rows as a stream of encoded chunks: `head`, then `encode` of each batch of rows, then
/// `tail`. An error while reading ends the stream with an error, which aborts the response, so a
/// client never mistakes a broken export for a complete one.
fn body<T: Send + 'static>(
    head: String,
    first: Option<T>,
    rx: mpsc::Receiver<Result<T, sqlx::Error>>,
    mut encode: impl FnMut(&mut String, T) + Send + 'static,
    tail: &'static str,
) -> Body {
    let rest = stream::unfold(rx, |mut rx| async move { rx.recv().await.map(|row| (row, rx)) });
    let rows = stream::iter(first.map(Ok)).chain(rest);
    let chunks = rows.ready_chunks(BATCH).map(move |batch| {
        let mut out = String::with_capacity(batch.len() * 512);
        for row in batch {
            match row {
                Ok(row) => encode(&mut out, row),
                Err(e) => {
                    tracing::error!(error = %e, "export broke off");
                    return Err(std::io::Error::other(e));
                }
            }
        }
        Ok(Bytes::from(out))
    });
    let all: std::pin::Pin<Box<dyn Stream<Item = std::io::Result<Bytes>> + Send>> = Box::pin(
        stream::once(async move { Ok(Bytes::from(head)) })
            .chain(chunks)
            .chain(stream::once(async move { Ok(Bytes::from_static(tail.as_bytes())) })),
    );
    Body::from_stream(all)
}

const CSV_PUBLIC: &[&str] = &[
    "id",
    "code",
    "title",
    "category",
    "category_name",
    "status",
    "progress",
    "township",
    "township_name",
    "lead_unit",
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
    "description",
    "lon",
    "lat",
    "wkt",
];
const CSV_PRIVATE: &[&str] = &["contact_person", "contact_phone", "return_reason", "cancel_reason"];

fn time(t: Option<DateTime<Utc>>) -> String {
    t.map(|t| t.to_rfc3339_opts(SecondsFormat::Secs, true)).unwrap_or_default()
}

fn num(x: Option<f64>) -> String {
    x.map(|x| x.to_string()).unwrap_or_default()
}

fn csv_record(out: &mut String, r: LedgerRow, private_columns: bool) {
    let p = &r.public;
    let fields: [std::borrow::Cow<'_, str>; 27] = [
        r.id.to_string().into(),
        csv_field(&p.code),
        csv_text(&p.title),
        csv_field(&p.category),
        csv_field(&r.category_name),
        csv_field(&p.status),
        p.progress.to_string().into(),
        csv_field(&p.township),
        csv_field(&p.township_name),
        csv_text(&p.lead_unit),
        p.due_date.map(|d| d.to_string()).unwrap_or_default().into(),
        p.overdue.to_string().into(),
        num(p.planned_investment).into(),
        num(p.actual_investment).into(),
        num(p.target_quantity).into(),
        p.target_unit.as_deref().map(csv_text).unwrap_or_default(),
        csv_field(&p.visibility),
        p.supervised.to_string().into(),
        time(p.completed_at).into(),
        time(p.verified_at).into(),
        time(p.last_report_at).into(),
        time(Some(p.created_at)).into(),
        time(Some(p.updated_at)).into(),
        csv_text(&p.description),
        r.lon.to_string().into(),
        r.lat.to_string().into(),
        csv_field(&r.wkt),
    ];
    out.push_str(&fields.join(","));
    if private_columns {
        let q = r.private.as_ref();
        for v in [
            q.and_then(|q| q.contact_person.as_deref()),
            q.and_then(|q| q.contact_phone.as_deref()),
            q.and_then(|q| q.return_reason.as_deref()),
            q.and_then(|q| q.cancel_reason.as_deref()),
        ] {
            out.push(',');
            out.push_str(&csv_text(v.unwrap_or("")));
        }
    }
    out.push_str("\r\n");
}

/// Every task the caller may see, one row each, as CSV (RFC 4180, UTF-8 with a byte order mark so
/// Excel shows Chinese correctly), in code order. `lon`/`lat` is a point on the task (inside an
/// area, on a line), `wkt` the geometry, both WGS 84. Times are UTC (RFC 3339). Contact details and
/// reasons are columns only for logged-in callers, filled for the tasks they may see in full.
#[utoipa::path(get, path = "/api/export/tasks.csv", tag = "export",
    responses(
        (status = 200, description = "The tasks, streamed", content_type = "text/csv"),
        (status = 400, description = "A query parameter was given", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn tasks_csv(
    State(state): State<AppState>,
    principal: Principal,
    QueryPairs(pairs): QueryPairs,
) -> Result<Response> {
    no_parameters(&pairs)?;
    let viewer = principal.viewer();
    let private_columns = viewer != Viewer::Public;
    let mut rx = store::ledger(state.db.clone(), viewer);
    let first = first(&mut rx).await?;
    let mut head = format!("{BOM}{}", CSV_PUBLIC.join(","));
    if private_columns {
        head.push(',');
        head.push_str(&CSV_PRIVATE.join(","));
    }
    head.push_str("\r\n");
    let body = body(head, first, rx, move |out, row| csv_record(out, row, private_columns), "");
    Ok(download("text/csv; charset=utf-8", "tasks.csv", body))
}

/// Every task the caller may see as one GeoJSON FeatureCollection, each Feature as GET /api/tasks/{id}
/// returns it; written out as the rows are read, never held whole.
#[utoipa::path(get, path = "/api/export/tasks.geojson", tag = "export",
    responses(
        (status = 200, description = "The tasks, streamed", content_type = "application/geo+json"),
        (status = 400, description = "A query parameter was given", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn tasks_geojson(
    State(state): State<AppState>,
    principal: Principal,
    QueryPairs(pairs): QueryPairs,
) -> Result<Response> {
    no_parameters(&pairs)?;
    let mut rx = store::features(state.db.clone(), principal.viewer());
    let first = first(&mut rx).await?;
    let mut separator = "";
    let encode = move |out: &mut String, feature| {
        out.push_str(separator);
        separator = ",\n";
        // A Feature of strings, numbers and raw GeoJSON always serialises.
        if let Ok(json) = serde_json::to_string(&feature) {
            out.push_str(&json);
        }
    };
    let body = body("{\"type\":\"FeatureCollection\",\"features\":[\n".into(), first, rx, encode, "\n]}\n");
    Ok(download(GEOJSON, "tasks.geojson", body))
}

/// The ledger (台账) as an Excel workbook: a sheet of the tasks the caller may see and a sheet of the
/// township rollup over them with a county total row (the figures of /api/rollups/townships). Numbers
/// and dates are real number and date cells (times in the county's time zone), the header row is
/// frozen, and columns are as wide as their Chinese text.
#[utoipa::path(get, path = "/api/export/ledger.xlsx", tag = "export",
    responses(
        (status = 200, description = "The workbook", content_type = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"),
        (status = 400, description = "A query parameter was given", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "More tasks than one Excel sheet holds; export CSV instead", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn ledger_xlsx(
    State(state): State<AppState>,
    principal: Principal,
    QueryPairs(pairs): QueryPairs,
) -> Result<Response> {
    no_parameters(&pairs)?;
    let viewer = principal.viewer();
    let (as_of, rollup) = rollups::townships(&state.db, &RollupFilter::default(), &viewer).await?;
    let categories = store::categories(&state.db).await?;
    let mut rx = store::ledger(state.db.clone(), viewer.clone());
    let first = first(&mut rx).await?;
    let private_columns = viewer != Viewer::Public;
    let bytes = tokio::task::spawn_blocking(move || {
        let mut rows = first.into_iter().map(Ok).chain(std::iter::from_fn(|| rx.blocking_recv()));
        workbook(&mut rows, private_columns, &rollup, &categories, as_of)
    })
    .await
    .map_err(|e| {
        tracing::error!(error = %e, "the workbook writer stopped");
        ApiError::internal()
    })??;
    Ok(download(XLSX, &format!("台账-{}.xlsx", as_of.format("%Y%m%d")), bytes))
}

fn xlsx_error(e: XlsxError) -> ApiError {
    tracing::error!(error = %e, "writing the workbook failed");
    ApiError::internal()
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
];
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
    s.date(row, 8, p.due_date, &f.date)?;
    s.text(row, 9, yes_no(p.overdue), None)?;
    s.number(row, 10, p.planned_investment, Some(&f.money))?;
    s.number(row, 11, p.actual_investment, Some(&f.money))?;
    s.number(row, 12, p.target_quantity, None)?;
    s.text(row, 13, p.target_unit.as_deref().unwrap_or(""), None)?;
    s.text(row, 14, if p.visibility == "public" { "公开" } else { "内部" }, None)?;
    s.text(row, 15, yes_no(p.supervised), None)?;
    s.time(row, 16, r.completed_local, &f.time)?;
    s.time(row, 17, r.verified_local, &f.time)?;
    s.time(row, 18, r.last_report_local, &f.time)?;
    s.time(row, 19, Some(r.created_local), &f.time)?;
    s.number(row, 20, Some(r.lon), Some(&f.coordinate))?;
    s.number(row, 21, Some(r.lat), Some(&f.coordinate))?;
    s.text(row, 22, &p.description, None)?;
    if private_columns && let Some(q) = &r.private {
        for (i, v) in [&q.contact_person, &q.contact_phone, &q.return_reason, &q.cancel_reason].into_iter().enumerate()
        {
            s.text(row, 23 + i, v.as_deref().unwrap_or(""), None)?;
        }
    }
    Ok(())
}

fn rollup_row(
    s: &mut Sheet<'_>,
    row: u32,
    fig: &Figures,
    categories: &[(String, String)],
    total: bool,
    f: &Formats,
) -> Result<(), XlsxError> {
    let (plain, money, percent, decimal) = if total {
        (Some(&f.total), Some(&f.total_money), Some(&f.total_percent), Some(&f.total_decimal))
    } else {
        (None, Some(&f.money), Some(&f.percent), Some(&f.decimal))
    };
    let n = |x: i64| Some(x as f64);
    s.text(row, 0, fig.township_code.as_deref().unwrap_or(""), plain)?;
    s.text(row, 1, if total { "全县合计" } else { &fig.township_name }, plain)?;
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

fn workbook(
    rows: &mut dyn Iterator<Item = Result<LedgerRow, sqlx::Error>>,
    private_columns: bool,
    rollup: &Rollup,
    categories: &[(String, String)],
    as_of: NaiveDate,
) -> Result<Vec<u8>> {
    let f = Formats::new();
    let mut wb = Workbook::new();
    {
        // Constant-memory mode streams each finished row to a temporary file: a province's ledger
        // does not have to fit in memory twice.
        let ws = wb.add_worksheet_with_constant_memory().map_err(xlsx_error)?;
        ws.set_name("任务台账").map_err(xlsx_error)?;
        let mut headers = TASK_HEADERS.to_vec();
        if private_columns {
            headers.extend_from_slice(TASK_PRIVATE_HEADERS);
        }
        let mut sheet = Sheet::new(ws, &headers, &f).map_err(xlsx_error)?;
        let mut row = 0u32;
        for r in rows {
            let r = r?;
            row += 1;
            if row as usize >= MAX_SHEET_ROWS {
                return Err(ApiError::new(
                    ProblemKind::TooManyRows,
                    format!(
                        "the ledger has more tasks than one Excel sheet holds ({}); export /api/export/tasks.csv instead",
                        MAX_SHEET_ROWS - 1
                    ),
                ));
            }
            task_row(&mut sheet, row, &r, private_columns, &f).map_err(xlsx_error)?;
        }
        sheet.fit_columns().map_err(xlsx_error)?;
    }
    {
        let ws = wb.add_worksheet();
        ws.set_name("乡镇汇总").map_err(xlsx_error)?;
        let mut headers: Vec<String> =
            ["乡镇代码", "乡镇(街道)", "任务数", "未开工", "推进中", "已完成", "已销号", "已取消"]
                .map(String::from)
                .to_vec();
        headers.extend(categories.iter().map(|(_, name)| name.clone()));
        headers.extend(
            [
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
            ]
            .map(String::from),
        );
        let header_refs: Vec<&str> = headers.iter().map(String::as_str).collect();
        let mut sheet = Sheet::new(ws, &header_refs, &f).map_err(xlsx_error)?;
        let mut row = 0u32;
        for t in &rollup.townships {
            row += 1;
            rollup_row(&mut sheet, row, t, categories, false, &f).map_err(xlsx_error)?;
        }
        row += 1;
        rollup_row(&mut sheet, row, &rollup.county, categories, true, &f).map_err(xlsx_error)?;
        row += 2;
        sheet.text(row, 0, "统计日期", None).map_err(xlsx_error)?;
        sheet.date(row, 1, Some(as_of), &f.date).map_err(xlsx_error)?;
        sheet.fit_columns().map_err(xlsx_error)?;
    }
    wb.save_to_buffer().map_err(xlsx_error)
}
