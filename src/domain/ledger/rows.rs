//! Rows into tasks: each row is written as the GeoJSON Feature a client would send and parsed by
//! `NewTask::parse`, so a ledger row and a single create obey the same rules, checked once. What is
//! refused, here or later by the store (township, the county's bounds), is told back at the cell.

use chrono::{DateTime, NaiveDateTime, Utc};
use serde::Serialize;
use serde_json::{Map, Value, json};

use super::cells::{self, Lookups};
use super::headers::{Plan, Target};
use super::{Cell, Row, Table, cell_ref, column_letter, wkt};
use crate::domain::chinacoords::Datum;
use crate::domain::import::Failure;
use crate::domain::task::{NewTask, WRITABLE};
use crate::domain::{Code, FieldError, Lang, Message};

/// Every row as a task to create (in WGS 84) or its failure, indexed by the row's place in `table`.
pub fn tasks(
    table: &Table,
    plan: &Plan,
    lookups: &Lookups,
    datum: Datum,
    now: DateTime<Utc>,
) -> Vec<Result<NewTask, Failure>> {
    let read = Reading { plan, lookups, fractions: progress_in_fractions(table, plan) };
    table.rows.iter().enumerate().map(|(i, row)| task(row, &read, datum, now).map_err(|e| Failure::new(i, e))).collect()
}

/// What reading any row of a sheet needs.
struct Reading<'a> {
    plan: &'a Plan,
    lookups: &'a Lookups,
    /// The progress column holds fractions (see `progress_in_fractions`).
    fractions: bool,
}

/// Excel keeps a percent-formatted cell as its fraction (60% is 0.6), and the file does not tell
/// calamine how a cell is shown: a progress column whose numbers all lie between 0 and 1, one at
/// least strictly between, holds such fractions (a whole percentage would be 0 to 100).
fn progress_in_fractions(table: &Table, plan: &Plan) -> bool {
    let Some(column) = plan.column(Target::Field("progress")) else { return false };
    let numbers: Vec<f64> = table
        .rows
        .iter()
        .filter_map(|r| match r.cell(column) {
            Cell::Number(x) => Some(*x),
            _ => None,
        })
        .collect();
    numbers.iter().all(|x| (0.0..=1.0).contains(x)) && numbers.iter().any(|x| *x > 0.0 && *x < 1.0)
}

fn task(row: &Row, read: &Reading<'_>, datum: Datum, now: DateTime<Utc>) -> Result<NewTask, Vec<FieldError>> {
    let (feature, mut errors) = feature(row, read);
    match NewTask::parse(&feature, now) {
        Ok(mut task) if errors.is_empty() => {
            task.geometry = datum.geometry_to_wgs84(&task.geometry);
            Ok(task)
        }
        Ok(_) => Err(errors),
        Err(more) => {
            // A cell that could not be read is absent from the Feature; the parser's "is required"
            // for it would say the same thing twice.
            let read: Vec<String> = errors.iter().map(|e| e.pointer.clone()).collect();
            errors.extend(
                more.into_iter()
                    .filter(|e| !read.iter().any(|p| p.starts_with(&e.pointer) || e.pointer.starts_with(p))),
            );
            Err(errors)
        }
    }
}

/// The Feature a row stands for, and the cells that could not be read into it.
fn feature(row: &Row, read: &Reading<'_>) -> (Value, Vec<FieldError>) {
    let mut properties = Map::new();
    let mut errors = Vec::new();
    for (target, column) in read.plan.targets() {
        let Target::Field(name) = target else { continue };
        let scaled;
        let cell = match row.cell(column) {
            // Rounded to a millionth: 0.29 * 100 is 28.999999999999996 in floating point.
            Cell::Number(x) if name == "progress" && read.fractions => {
                scaled = Cell::Number((x * 100.0 * 1e6).round() / 1e6);
                &scaled
            }
            cell => cell,
        };
        match cells::value(target, cell, read.lookups) {
            Ok(Some(v)) => {
                properties.insert(name.to_owned(), v);
            }
            Ok(None) => {}
            Err(why) => errors.push(why.at(format!("/properties/{name}"))),
        }
    }
    let geometry = geometry(row, read.plan).unwrap_or_else(|mut e| {
        errors.append(&mut e);
        Value::Null
    });
    (json!({"type": "Feature", "geometry": geometry, "properties": properties}), errors)
}

/// The row's geometry: its WKT cell when filled, else a point at its longitude and latitude.
fn geometry(row: &Row, plan: &Plan) -> Result<Value, Vec<FieldError>> {
    if let Some(wkt) = plan.column(Target::Wkt).map(|c| row.cell(c)).filter(|c| !c.is_blank()) {
        let text = cells::text(wkt);
        return wkt::to_geojson(&text).map_err(|e| {
            vec![FieldError::new("/geometry", Code::Format, e).with("expected", "wkt").with("got", text.clone())]
        });
    }
    let (Some(lon), Some(lat)) = (plan.column(Target::Lon), plan.column(Target::Lat)) else {
        return Err(vec![FieldError::new(
            "/geometry",
            Code::Required,
            "the WKT cell is empty: a task needs a position",
        )]);
    };
    let none = Lookups::default();
    let read = |target, column: usize, i: usize| {
        cells::value(target, row.cell(column), &none).map_err(|e| e.at(format!("/geometry/coordinates/{i}")))
    };
    match (read(Target::Lon, lon, 0), read(Target::Lat, lat, 1)) {
        (Ok(Some(x)), Ok(Some(y))) => Ok(json!({"type": "Point", "coordinates": [x, y]})),
        (Ok(None), Ok(None)) => {
            let detail = "a task needs a position: longitude and latitude are empty";
            Err(vec![FieldError::new("/geometry", Code::Required, detail)])
        }
        (x, y) => Err([(x, 0, "longitude"), (y, 1, "latitude")]
            .into_iter()
            .filter_map(|(r, i, what)| match r {
                Err(e) => Some(e),
                Ok(None) => Some(
                    FieldError::new(
                        format!("/geometry/coordinates/{i}"),
                        Code::RequiredWith,
                        format!("the {what} is empty: a position needs both longitude and latitude"),
                    )
                    .with("field", if i == 0 { "纬度" } else { "经度" }),
                ),
                Ok(Some(_)) => None,
            })
            .collect()),
    }
}

/// The county's local times written in the completion column, for the store to place on its clock.
pub fn local_times(table: &Table, plan: &Plan) -> Vec<NaiveDateTime> {
    let Some(column) = plan.column(Target::Field("completed_at")) else { return Vec::new() };
    let mut times: Vec<NaiveDateTime> = table.rows.iter().filter_map(|r| cells::local_time(r.cell(column))).collect();
    times.sort();
    times.dedup();
    times
}

/// The row's title as written, for the answer's list of what is (or would be) created.
pub fn title(table: &Table, plan: &Plan, index: usize) -> String {
    match (table.rows.get(index), plan.column(Target::Field("title"))) {
        (Some(row), Some(column)) => cells::text(row.cell(column)),
        _ => String::new(),
    }
}

/// One problem of a row, at its cell.
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct CellError {
    /// The cell in A1 notation (`F7`); both cells (`H7,I7`) for a problem of the position as a
    /// whole; the row (`7:7`) when no column holds the field.
    #[schema(example = "F7")]
    pub cell: String,
    /// The column's letter(s).
    pub column: Option<String>,
    /// The column's name in the header row.
    pub header: Option<String>,
    /// The task field concerned (`planned_investment`, `lon`, `position`, `wkt`, …).
    pub field: String,
    /// What kind of problem it is (as a field error's `code`).
    pub code: Code,
    /// The values the words need (as a field error's `params`).
    #[schema(value_type = Object)]
    pub params: Map<String, Value>,
    /// The problem in words, in the language the request prefers.
    pub detail: String,
}

impl CellError {
    fn message(&self) -> Message {
        Message { code: self.code, params: self.params.clone(), detail: self.detail.clone() }
    }
}

/// A row that cannot be imported and everything wrong with it.
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct RowFailure {
    /// The row as the spreadsheet numbers it (the header row is 1).
    pub row: u32,
    /// The first problem, as a sentence naming the file, row and column.
    pub error: String,
    pub errors: Vec<CellError>,
}

impl RowFailure {
    /// The problems as the `errors` of a problem document: each cell with its sentence.
    pub fn field_errors(&self, file: &str) -> Vec<FieldError> {
        self.errors
            .iter()
            .map(|e| Message { detail: sentence(file, self.row, e, Lang::En), ..e.message() }.at(&e.cell))
            .collect()
    }

    /// The failure worded in `lang` (English as written; Chinese from the tables).
    pub fn localized(&self, file: &str, lang: Lang) -> RowFailure {
        let errors: Vec<CellError> =
            self.errors.iter().map(|e| CellError { detail: e.message().render(lang), ..e.clone() }).collect();
        let error = errors.first().map(|e| sentence(file, self.row, e, lang)).unwrap_or_default();
        RowFailure { row: self.row, error, errors }
    }
}

fn sentence(file: &str, row: u32, e: &CellError, lang: Lang) -> String {
    match (&e.column, &e.header, lang) {
        (Some(column), Some(header), Lang::En) => {
            format!("{file}, row {row}, column {column} ({header}): {}", e.detail)
        }
        (Some(column), Some(header), Lang::Zh) => format!("{file}，第 {row} 行，{column} 列（{header}）：{}", e.detail),
        (_, _, Lang::En) => format!("{file}, row {row}: {} ({})", e.detail, e.field),
        (_, _, Lang::Zh) => format!("{file}，第 {row} 行：{}（{}）", e.detail, e.field),
    }
}

/// A failure of the row at `failure.index` (pointers into `/features/{index}`) told at its cells.
pub fn locate(table: &Table, plan: &Plan, failure: &Failure) -> RowFailure {
    let row = &table.rows[failure.index];
    let prefix = format!("/features/{}", failure.index);
    let errors: Vec<CellError> = failure
        .errors
        .iter()
        .map(|e| at_cell(row, plan, e.pointer.strip_prefix(&prefix).unwrap_or(&e.pointer), e))
        .collect();
    let error = errors.first().map(|e| sentence(&table.file, row.number, e, Lang::En)).unwrap_or_default();
    RowFailure { row: row.number, error, errors }
}

fn at_cell(row: &Row, plan: &Plan, pointer: &str, e: &FieldError) -> CellError {
    let detail = &e.detail;
    let one = |field: &str, column: Option<usize>| match column {
        Some(c) => CellError {
            cell: cell_ref(c, row.number),
            column: Some(column_letter(c)),
            header: plan.header(c).map(str::to_owned),
            field: field.to_owned(),
            code: e.code,
            params: e.params.clone(),
            detail: detail.to_owned(),
        },
        None => CellError {
            cell: format!("{0}:{0}", row.number),
            column: None,
            header: None,
            field: field.to_owned(),
            code: e.code,
            params: e.params.clone(),
            detail: detail.to_owned(),
        },
    };
    if let Some(name) = pointer.strip_prefix("/properties/") {
        let name = name.split('/').next().unwrap_or(name);
        let field = WRITABLE.iter().find(|f| **f == name);
        return one(name, field.and_then(|f| plan.column(Target::Field(f))));
    }
    let Some(within) = pointer.strip_prefix("/geometry") else { return one("row", None) };
    let wkt = plan.column(Target::Wkt).filter(|c| !row.cell(*c).is_blank());
    match (wkt, plan.column(Target::Lon), plan.column(Target::Lat)) {
        (Some(c), ..) => one("wkt", Some(c)),
        (None, Some(lon), _) if within.starts_with("/coordinates/0") => one("lon", Some(lon)),
        (None, _, Some(lat)) if within.starts_with("/coordinates/1") => one("lat", Some(lat)),
        (None, Some(lon), Some(lat)) => CellError {
            cell: format!("{},{}", cell_ref(lon, row.number), cell_ref(lat, row.number)),
            column: Some(format!("{},{}", column_letter(lon), column_letter(lat))),
            header: Some(format!("{}, {}", plan.header(lon).unwrap_or(""), plan.header(lat).unwrap_or(""))),
            field: "position".to_owned(),
            code: e.code,
            params: e.params.clone(),
            detail: detail.to_owned(),
        },
        _ => one("wkt", plan.column(Target::Wkt)),
    }
}

#[cfg(test)]
mod tests {
    use super::super::Cell;
    use super::*;

    fn now() -> DateTime<Utc> {
        "2026-11-25T04:00:00Z".parse().unwrap()
    }

    fn lookups() -> Lookups {
        Lookups {
            categories: vec![("energy".into(), "节能减排".into(), "Energy".into())],
            townships: vec![("330599101".into(), "青溪镇".into())],
            ..Lookups::default()
        }
    }

    fn t(s: &str) -> Cell {
        Cell::Text(s.into())
    }

    fn table(rows: Vec<Vec<Cell>>) -> Table {
        Table {
            file: "台账.xlsx".into(),
            format: "xlsx",
            sheet: None,
            encoding: None,
            header_row: 1,
            headers: ["任务名称", "类别", "计划投资（万元）", "经度", "纬度", "WKT", "状态"].map(String::from).to_vec(),
            rows: rows.into_iter().enumerate().map(|(i, cells)| Row { number: i as u32 + 2, cells }).collect(),
        }
    }

    fn run(table: &Table, datum: Datum) -> (Plan, Vec<Result<NewTask, Failure>>) {
        let plan = Plan::build(table, &[]).unwrap();
        let tasks = tasks(table, &plan, &lookups(), datum, now());
        (plan, tasks)
    }

    #[test]
    fn a_row_becomes_the_task_a_single_create_would_make() {
        let row = vec![t("锅炉改造"), t("节能减排"), Cell::Number(120.5), Cell::Number(119.95), Cell::Number(30.85)];
        let (_, mut tasks) = run(&table(vec![row]), Datum::Wgs84);
        let task = tasks.remove(0).unwrap();
        assert_eq!(task.fields.title, "锅炉改造");
        assert_eq!(task.fields.category, "energy");
        assert_eq!(task.fields.planned_investment, Some(120.5));
        assert_eq!(task.geometry.to_geojson(), r#"{"type":"Point","coordinates":[119.95,30.85]}"#);
    }

    #[test]
    fn gcj02_positions_are_stored_in_wgs84_and_wkt_wins_over_longitude_and_latitude() {
        let row = vec![t("a"), t("energy"), Cell::Empty, Cell::Number(119.95), Cell::Number(30.85)];
        let (_, mut tasks) = run(&table(vec![row]), Datum::Gcj02);
        let task = tasks.remove(0).unwrap();
        let geo::Geometry::Point(p) = task.geometry.geometry() else { panic!() };
        assert!((p.x() - 119.95).abs() > 0.003, "shifted back by the GCJ-02 offset: {p:?}");

        let row = vec![
            t("a"),
            t("energy"),
            Cell::Empty,
            Cell::Number(1.0),
            Cell::Number(2.0),
            t("LINESTRING(119.9 30.8, 120 30.9)"),
        ];
        let (_, mut tasks) = run(&table(vec![row]), Datum::Wgs84);
        assert_eq!(tasks.remove(0).unwrap().geometry.kind().name(), "LineString");
    }

    #[test]
    fn every_problem_of_a_row_is_told_at_its_cell_once() {
        let row = vec![t("a"), t("生态修复"), t("约50"), t("东经"), Cell::Number(30.85), Cell::Empty, t("已完成")];
        let table = table(vec![vec![t("ok"), t("energy"), Cell::Empty, Cell::Number(119.9), Cell::Number(30.8)], row]);
        let (plan, tasks) = run(&table, Datum::Wgs84);
        assert!(tasks[0].is_ok());
        let failure = locate(&table, &plan, tasks[1].as_ref().unwrap_err());
        assert_eq!(failure.row, 3);
        let cells: Vec<(&str, &str)> = failure.errors.iter().map(|e| (e.cell.as_str(), e.field.as_str())).collect();
        assert_eq!(cells, [("B3", "category"), ("C3", "planned_investment"), ("D3", "lon")]);
        assert_eq!(
            failure.error,
            "台账.xlsx, row 3, column B (类别): unknown category '生态修复'; categories are: 节能减排 (energy)"
        );
        let errors = failure.field_errors("台账.xlsx");
        assert_eq!(errors[1].pointer, "C3");
        assert_eq!(errors[1].detail, "台账.xlsx, row 3, column C (计划投资（万元）): '约50' is not a number");
    }

    #[test]
    fn rules_across_fields_and_the_position_as_a_whole_are_told_too() {
        let rows = vec![
            vec![t("a"), t("energy"), Cell::Empty, Cell::Number(119.9), Cell::Number(30.8), Cell::Empty, t("已取消")],
            vec![t("b"), t("energy"), Cell::Empty, Cell::Empty, Cell::Empty],
        ];
        let table = table(rows);
        let (plan, tasks) = run(&table, Datum::Wgs84);
        let first = locate(&table, &plan, tasks[0].as_ref().unwrap_err());
        let cells: Vec<&str> = first.errors.iter().map(|e| e.cell.as_str()).collect();
        assert_eq!(cells, ["2:2"], "no column holds a cancellation reason: {first:?}");
        assert_eq!(first.errors[0].field, "cancel_reason");
        assert_eq!(first.error, "台账.xlsx, row 2: a cancelled task needs the reason it was cancelled (cancel_reason)");
        let second = locate(&table, &plan, tasks[1].as_ref().unwrap_err());
        assert_eq!(second.errors[0].cell, "D3,E3");
        assert_eq!(second.errors[0].header.as_deref(), Some("经度, 纬度"));
        assert!(second.error.contains("longitude and latitude are empty"), "{}", second.error);
        // A store refusal points into the Feature; it is told at the same cells.
        let from_store = Failure::new(
            1,
            vec![FieldError::new("/geometry", Code::NoTownship, "the geometry touches no township of the county")],
        );
        assert_eq!(locate(&table, &plan, &from_store).errors[0].cell, "D3,E3");
    }

    #[test]
    fn a_progress_column_of_fractions_is_read_as_percentages() {
        let mut table = table(vec![]);
        table.headers.push("进度".into());
        let row = |progress: f64| {
            let mut cells = vec![t("a"), t("energy"), Cell::Empty, Cell::Number(119.9), Cell::Number(30.8)];
            cells.extend([Cell::Empty, Cell::Empty, Cell::Number(progress)]);
            Row { number: 2, cells }
        };
        table.rows = vec![row(0.29), row(1.0), row(0.0)];
        let (_, tasks) = run(&table, Datum::Wgs84);
        let progress: Vec<i16> = tasks.iter().map(|t| t.as_ref().unwrap().fields.progress).collect();
        assert_eq!(progress, [29, 100, 0], "a percent-formatted column");
        table.rows = vec![row(30.0), row(1.0)];
        let (_, tasks) = run(&table, Datum::Wgs84);
        let progress: Vec<i16> = tasks.iter().map(|t| t.as_ref().unwrap().fields.progress).collect();
        assert_eq!(progress, [30, 1], "whole percentages as they are");
    }

    #[test]
    fn completion_times_are_collected_once_each() {
        let mut table = table(vec![]);
        table.headers.push("完成时间".into());
        let at = chrono::NaiveDate::from_ymd_opt(2026, 5, 1).unwrap().and_hms_opt(9, 0, 0).unwrap();
        for _ in 0..2 {
            let mut cells = vec![Cell::Empty; 7];
            cells.push(Cell::DateTime(at));
            table.rows.push(Row { number: 2, cells });
        }
        let plan = Plan::build(&table, &[]).unwrap();
        assert_eq!(local_times(&table, &plan), [at]);
    }
}
