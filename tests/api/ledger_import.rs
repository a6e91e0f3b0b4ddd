//! The bureau's existing ledger (台账) from Excel and CSV: POST /api/import/ledger and
//! `greenledger import ledger`. Workbooks are written here with rust_xlsxwriter, as a bureau's
//! Excel would save them; CSV in GBK with encoding_rs.

use std::collections::BTreeMap;

use crate::helpers::*;
use greenledger::domain::chinacoords::{metres_between, wgs84_to_gcj02};
use reqwest::{StatusCode, multipart};
use rust_xlsxwriter::{ExcelDateTime, Format, Workbook};
use serde_json::{Value, json};

/// The fixture's townships by name, west to east, with the west edge of each strip.
const TOWNSHIPS: [(&str, &str, f64); 3] =
    [(WEST, "城东街道", 119.8), (MIDDLE, "青溪镇", 119.9), (EAST, "清源经济开发区", 120.0)];
const CATEGORIES: [&str; 4] = ["重点流域水环境整治", "化工专项整治", "节能减排", "村庄环境整治"];

impl Caller {
    /// Sends `file` (named `name`) with the text `fields` to the ledger import.
    async fn import_ledger(
        &self,
        name: &str,
        file: Vec<u8>,
        fields: &[(&str, &str)],
        key: Option<&str>,
    ) -> reqwest::Response {
        let mut form = multipart::Form::new().part("file", multipart::Part::bytes(file).file_name(name.to_owned()));
        for (k, v) in fields {
            form = form.text(k.to_string(), v.to_string());
        }
        let mut req = self.request(reqwest::Method::POST, "/api/import/ledger").multipart(form);
        if let Some(key) = key {
            req = req.header("idempotency-key", key);
        }
        req.send().await.unwrap()
    }
}

/// One row of a bureau's sheet, as the test means it.
struct Source {
    title: String,
    category: &'static str,
    township: usize,
    lon: f64,
    lat: f64,
    due: (u16, u8, u8),
    investment: f64,
}

/// `n` tasks spread over the three townships, each well inside its strip.
fn sources(n: usize) -> Vec<Source> {
    (0..n)
        .map(|i| {
            let township = i % 3;
            Source {
                title: format!("第{}号 {}整治任务", i + 1, TOWNSHIPS[township].1),
                category: CATEGORIES[i % 4],
                township,
                lon: TOWNSHIPS[township].2 + 0.005 + (i as f64 * 0.00037) % 0.09,
                lat: 30.705 + (i as f64 * 0.00113) % 0.29,
                due: (2026, (i % 12 + 1) as u8, (i % 28 + 1) as u8),
                investment: (i * 7 % 500) as f64 + 0.25,
            }
        })
        .collect()
}

const HEADERS: [&str; 13] = [
    "序号",
    "项目名称",
    "任务类别",
    "所属乡镇",
    "牵头单位",
    "完成时限",
    "计划投资（万元）",
    "经度",
    "纬度",
    "联系人",
    "联系电话",
    "进度",
    "备注",
];

/// A workbook as a bureau keeps its ledger: Chinese headers, real date and number cells.
fn workbook(rows: &[Source]) -> Vec<u8> {
    let mut book = Workbook::new();
    let sheet = book.add_worksheet();
    sheet.set_name("2026年任务台账").unwrap();
    let bold = Format::new().set_bold();
    let date = Format::new().set_num_format("yyyy年m月d日");
    for (c, h) in HEADERS.iter().enumerate() {
        sheet.write_string_with_format(0, c as u16, *h, &bold).unwrap();
    }
    for (i, s) in rows.iter().enumerate() {
        let r = i as u32 + 1;
        sheet.write_number(r, 0, (i + 1) as f64).unwrap();
        sheet.write_string(r, 1, &s.title).unwrap();
        sheet.write_string(r, 2, s.category).unwrap();
        sheet.write_string(r, 3, TOWNSHIPS[s.township].1).unwrap();
        sheet.write_string(r, 4, "县生态环境局").unwrap();
        let (y, m, d) = s.due;
        sheet.write_datetime_with_format(r, 5, ExcelDateTime::from_ymd(y, m, d).unwrap(), &date).unwrap();
        sheet.write_number(r, 6, s.investment).unwrap();
        sheet.write_number(r, 7, s.lon).unwrap();
        sheet.write_number(r, 8, s.lat).unwrap();
        sheet.write_string(r, 9, "王伟").unwrap();
        sheet.write_number(r, 10, 13900001111.0).unwrap();
        sheet.write_number(r, 11, (i % 5 * 10) as f64).unwrap();
        sheet.write_string(r, 12, "按月调度").unwrap();
    }
    book.save_to_buffer().unwrap()
}

/// Every task's properties by title, as the bureau reads them back.
async fn tasks_by_title(caller: &Caller) -> BTreeMap<String, Value> {
    let list: Value = caller.get("/api/tasks?limit=10000").await.json().await.unwrap();
    list["features"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| (f["properties"]["title"].as_str().unwrap().to_owned(), f.clone()))
        .collect()
}

fn count_by<'a>(items: impl Iterator<Item = &'a str>) -> BTreeMap<String, usize> {
    let mut counts = BTreeMap::new();
    for k in items {
        *counts.entry(k.to_owned()).or_default() += 1;
    }
    counts
}

#[tokio::test]
async fn an_excel_ledger_with_chinese_headers_is_checked_by_a_dry_run_then_imported_whole() {
    let app = spawn_app().await;
    let rows = sources(240);
    let file = workbook(&rows);

    let res = app.import_ledger("2026年台账.xlsx", file.clone(), &[("dry_run", "true")], None).await;
    assert_eq!(res.status(), StatusCode::OK);
    let dry: Value = res.json().await.unwrap();
    assert_eq!(
        (dry["dry_run"].as_bool(), dry["rows"].as_u64(), dry["imported"].as_u64()),
        (Some(true), Some(240), Some(0))
    );
    assert_eq!(dry["sheet"], "2026年任务台账");
    assert_eq!(dry["created"].as_array().unwrap().len(), 240, "every row would be created");
    assert_eq!(dry["created"][0], json!({"row": 2, "title": rows[0].title, "township": WEST, "code": "WS-2026-0001"}));
    assert_eq!(dry["failed"], json!([]));
    let columns: BTreeMap<&str, &Value> =
        dry["columns"].as_array().unwrap().iter().map(|c| (c["header"].as_str().unwrap(), c)).collect();
    assert_eq!(columns["项目名称"]["field"], "title");
    assert_eq!(columns["计划投资（万元）"]["field"], "planned_investment");
    assert_eq!(columns["备注"]["field"], Value::Null, "an unknown column is listed as ignored");
    assert!(columns["备注"]["note"].as_str().unwrap().contains("not a task field"));
    assert_eq!(app.task_count().await, 0, "a dry run stores nothing");

    let key = new_key();
    let res = app.import_ledger("2026年台账.xlsx", file.clone(), &[], Some(&key)).await;
    assert_eq!(res.status(), StatusCode::OK);
    let report: Value = res.json().await.unwrap();
    assert_eq!(report["imported"], 240);
    assert!(report["created"][0]["id"].is_string());
    assert_eq!(app.task_count().await, 240);

    // Counts, titles and townships as in the source; dates, amounts and phones as written.
    let stored = tasks_by_title(&app.bureau).await;
    assert_eq!(stored.len(), 240, "every title once");
    assert_eq!(
        count_by(stored.values().map(|f| f["properties"]["township"].as_str().unwrap())),
        count_by(rows.iter().map(|s| TOWNSHIPS[s.township].0))
    );
    for s in &rows {
        let p = &stored[&s.title]["properties"];
        assert_eq!(p["township"], TOWNSHIPS[s.township].0, "{}", s.title);
        assert_eq!(p["township_overridden"], false, "the sheet's township is where the task lies");
        assert_eq!(p["due_date"], format!("{:04}-{:02}-{:02}", s.due.0, s.due.1, s.due.2));
        assert_eq!(p["planned_investment"], s.investment);
        assert_eq!(p["contact_phone"], "13900001111");
        assert_eq!(p["lead_unit"], "县生态环境局");
        let at = &stored[&s.title]["geometry"]["coordinates"];
        let (lon, lat) = (at[0].as_f64().unwrap(), at[1].as_f64().unwrap());
        assert!((lon - s.lon).abs() < 1e-9 && (lat - s.lat).abs() < 1e-9, "{}: {at}", s.title);
    }
    let energy = stored.values().filter(|f| f["properties"]["category"] == "energy").count();
    assert_eq!(energy, rows.iter().filter(|s| s.category == "节能减排").count());

    // A retry with the same key is the first answer, and stores nothing twice.
    let again = app.import_ledger("2026年台账.xlsx", file, &[], Some(&key)).await;
    assert_eq!(again.status(), StatusCode::OK);
    assert_eq!(again.headers()["idempotent-replayed"], "true");
    assert_eq!(app.task_count().await, 240);
}

/// A CSV file as a Chinese Excel saves it: GBK, CRLF, dates as text.
fn gbk_csv(lines: &[String]) -> Vec<u8> {
    let text = lines.join("\r\n") + "\r\n";
    let (bytes, _, unmappable) = encoding_rs::GBK.encode(&text);
    assert!(!unmappable);
    bytes.into_owned()
}

#[tokio::test]
async fn a_gbk_csv_with_gcj02_positions_lands_within_a_metre_of_the_wgs84_originals() {
    let app = spawn_app().await;
    let rows = sources(30);
    let mut lines = vec!["任务名称,类别,乡镇,经度,纬度,完成时限,状态".to_owned()];
    for s in &rows {
        let [lon, lat] = wgs84_to_gcj02([s.lon, s.lat]);
        let (y, m, d) = s.due;
        lines.push(format!("{},{},{},{lon},{lat},{y}/{m}/{d},推进中", s.title, s.category, TOWNSHIPS[s.township].1));
    }
    let res = app.import_ledger("台账.csv", gbk_csv(&lines), &[("coords", "gcj02")], None).await;
    let report: Value = res.json().await.unwrap();
    assert_eq!(report["imported"], 30, "{report}");
    assert_eq!((report["encoding"].as_str(), report["coords"].as_str()), (Some("GBK"), Some("gcj02")));
    let stored = tasks_by_title(&app.bureau).await;
    for s in &rows {
        let f = &stored[&s.title];
        let c = &f["geometry"]["coordinates"];
        let metres = metres_between([c[0].as_f64().unwrap(), c[1].as_f64().unwrap()], [s.lon, s.lat]);
        assert!(metres < 1.0, "{}: {metres} m from the WGS 84 original", s.title);
        assert_eq!(f["properties"]["status"], "in_progress");
        assert_eq!(f["properties"]["due_date"], format!("{:04}-{:02}-{:02}", s.due.0, s.due.1, s.due.2));
    }
    // Without coords=gcj02 the same file would have put every task a few hundred metres off.
    let [lon, lat] = wgs84_to_gcj02([rows[0].lon, rows[0].lat]);
    assert!(metres_between([lon, lat], [rows[0].lon, rows[0].lat]) > 100.0);
}

/// Tasks of every shape and state, with the text a ledger's cells make hard.
async fn varied_ledger(app: &TestApp) {
    let polygon = json!({"type": "Polygon", "coordinates": [[[119.82, 30.8], [119.83, 30.8], [119.83, 30.81], [119.82, 30.81], [119.82, 30.8]]]});
    for feature in [
        task_at(
            point(119.85, 30.75),
            json!({"title": "=1+1, 说\"清淤\"\n第二行", "planned_investment": 12.5, "due_date": "2026-06-30",
                   "contact_phone": "+86 571 8888 0000", "lead_unit": "-县水利局", "supervised": true,
                   "description": "清淤 3 km, 护岸 2 处"}),
        ),
        task_at(
            polygon,
            json!({"title": "村庄整治", "category": "village", "visibility": "internal", "contact_person": "王工",
                   "contact_phone": "0571-8888", "status": "completed", "completed_at": "2026-05-01T09:30:00+08:00",
                   "target_quantity": 120, "target_unit": "户", "actual_investment": 88.8}),
        ),
        task_at(
            json!({"type": "LineString", "coordinates": [[120.02, 30.9], [120.04, 30.91]]}),
            json!({"title": "河道清淤", "status": "in_progress", "progress": 45, "contact_person": "李工"}),
        ),
        task_at(
            point(119.95, 30.85),
            json!({"title": "指定乡镇的任务", "category": "energy", "township": EAST, "status": "cancelled",
                   "cancel_reason": "企业关停"}),
        ),
    ] {
        app.create(&feature).await;
    }
}

/// What must survive an export and an import.
const KEPT: [&str; 17] = [
    "category",
    "status",
    "progress",
    "township",
    "township_overridden",
    "lead_unit",
    "contact_person",
    "contact_phone",
    "due_date",
    "planned_investment",
    "actual_investment",
    "target_quantity",
    "target_unit",
    "visibility",
    "supervised",
    "completed_at",
    "cancel_reason",
];

#[tokio::test]
async fn a_greenledger_export_imports_back_into_an_empty_county() {
    let source = spawn_app().await;
    varied_ledger(&source).await;
    let original = tasks_by_title(&source.bureau).await;
    for (path, name) in [("/api/export/ledger.xlsx", "台账.xlsx"), ("/api/export/tasks.csv", "tasks.csv")] {
        let exported = source.get(path).await.bytes().await.unwrap().to_vec();
        let county = spawn_app().await;
        let res = county.import_ledger(name, exported, &[], None).await;
        let report: Value = res.json().await.unwrap();
        assert_eq!(report["imported"], original.len(), "{name}: {report}");
        let back = tasks_by_title(&county.bureau).await;
        assert_eq!(back.keys().collect::<Vec<_>>(), original.keys().collect::<Vec<_>>(), "{name}");
        for (title, before) in &original {
            let after = &back[title];
            for field in KEPT {
                assert_eq!(after["properties"][field], before["properties"][field], "{name}: {title}: {field}");
            }
            assert_eq!(after["properties"]["description"], before["properties"]["description"], "{name}: {title}");
            assert_eq!(after["geometry"], before["geometry"], "{name}: {title}: the geometry itself");
        }
    }
}

#[tokio::test]
async fn merged_header_cells_are_refused_naming_them_and_a_title_row_is_skipped_with_header_row() {
    let app = spawn_app().await;
    let mut book = Workbook::new();
    let sheet = book.add_worksheet();
    sheet.merge_range(0, 0, 0, 4, "青溪县2026年环境整治任务台账", &Format::new()).unwrap();
    for (c, h) in ["任务名称", "类别", "经度", "纬度"].iter().enumerate() {
        sheet.write_string(1, c as u16, *h).unwrap();
    }
    sheet.write_string(2, 0, "锅炉改造").unwrap();
    sheet.write_string(2, 1, "节能减排").unwrap();
    sheet.write_number(2, 2, 119.95).unwrap();
    sheet.write_number(2, 3, 30.85).unwrap();
    let file = book.save_to_buffer().unwrap();

    let body =
        problem(app.import_ledger("台账.xlsx", file.clone(), &[], None).await, StatusCode::UNPROCESSABLE_ENTITY).await;
    assert_eq!(pointers(&body), ["A1:E1"]);
    let detail = body["errors"][0]["detail"].as_str().unwrap();
    assert!(detail.starts_with("台账.xlsx, sheet 'Sheet1': the header row (row 1) has merged cells A1:E1"), "{detail}");

    assert_eq!(app.task_count().await, 0);

    let report: Value = app.import_ledger("台账.xlsx", file, &[("header_row", "2")], None).await.json().await.unwrap();
    assert_eq!(report["imported"], 1, "{report}");
    assert_eq!(report["created"][0]["row"], 3, "rows are numbered as the sheet numbers them");
}

/// A small sheet whose fourth row has text where 计划投资（万元） (column F) needs a number.
fn sheet_with_text_in_a_number_column() -> Vec<u8> {
    let mut book = Workbook::new();
    let sheet = book.add_worksheet();
    for (c, h) in ["任务名称", "类别", "乡镇", "经度", "纬度", "计划投资（万元）"].iter().enumerate()
    {
        sheet.write_string(0, c as u16, *h).unwrap();
    }
    for r in 1..6u32 {
        sheet.write_string(r, 0, format!("任务{r}")).unwrap();
        sheet.write_string(r, 1, "节能减排").unwrap();
        sheet.write_string(r, 2, "青溪镇").unwrap();
        sheet.write_number(r, 3, 119.95).unwrap();
        sheet.write_number(r, 4, 30.85).unwrap();
        if r == 3 {
            sheet.write_string(r, 5, "约50").unwrap();
        } else {
            sheet.write_number(r, 5, 50.0).unwrap();
        }
    }
    book.save_to_buffer().unwrap()
}

#[tokio::test]
async fn text_in_a_number_column_is_refused_naming_the_file_row_and_column_and_nothing_is_stored() {
    let app = spawn_app().await;
    let file = sheet_with_text_in_a_number_column();
    let body =
        problem(app.import_ledger("台账.xlsx", file.clone(), &[], None).await, StatusCode::UNPROCESSABLE_ENTITY).await;
    assert_eq!(pointers(&body), ["F4"]);
    assert_eq!(body["errors"][0]["detail"], "台账.xlsx, row 4, column F (计划投资（万元）): '约50' is not a number");
    assert_eq!(body["failed"][0]["row"], 4);
    assert_eq!(body["failed"][0]["errors"][0]["field"], "planned_investment");
    assert!(
        body["detail"]
            .as_str()
            .unwrap()
            .starts_with("1 of 5 rows of 台账.xlsx cannot be imported, so nothing was stored")
    );
    assert_eq!(app.task_count().await, 0, "all or nothing");

    // A dry run says the same, and which rows are fine; partial stores those.
    let dry: Value =
        app.import_ledger("台账.xlsx", file.clone(), &[("dry_run", "1")], None).await.json().await.unwrap();
    assert_eq!(dry["failed"][0]["error"], body["errors"][0]["detail"]);
    assert_eq!(
        dry["created"].as_array().unwrap().iter().map(|c| c["row"].as_u64().unwrap()).collect::<Vec<_>>(),
        [2, 3, 5, 6]
    );
    assert_eq!(app.task_count().await, 0);
    let partial: Value = app.import_ledger("台账.xlsx", file, &[("mode", "partial")], None).await.json().await.unwrap();
    assert_eq!((partial["imported"].as_u64(), partial["failed"][0]["row"].as_u64()), (Some(4), Some(4)));
    assert_eq!(app.task_count().await, 4);
}

#[tokio::test]
async fn an_unknown_category_or_township_is_named_with_those_there_are() {
    let app = spawn_app().await;
    let lines = [
        "任务名称,类别,乡镇,经度,纬度".to_owned(),
        "河道清淤,重点流域水环境整治,青溪镇,119.95,30.85".to_owned(),
        "湿地修复,生态修复,城西镇,119.95,30.85".to_owned(),
    ];
    let csv = format!("\u{feff}{}\r\n", lines.join("\r\n"));
    let body =
        problem(app.import_ledger("台账.csv", csv.into_bytes(), &[], None).await, StatusCode::UNPROCESSABLE_ENTITY)
            .await;
    assert_eq!(pointers(&body), ["B3", "C3"]);
    let category = body["errors"][0]["detail"].as_str().unwrap();
    assert!(
        category.starts_with("台账.csv, row 3, column B (类别): unknown category '生态修复'; categories are: 重点流域水环境整治 (watershed), "),
        "{category}"
    );
    let township = body["errors"][1]["detail"].as_str().unwrap();
    assert!(township.contains("unknown township '城西镇'; townships are: 城东街道 (330599001)"), "{township}");
    assert_eq!(app.task_count().await, 0);
}

#[tokio::test]
async fn a_sheet_without_the_needed_columns_or_with_a_map_naming_none_is_refused_and_a_map_fixes_it() {
    let app = spawn_app().await;
    let csv = "标题列,分类,X,Y,备注\n锅炉改造,节能减排,119.95,30.85,按月调度\n".as_bytes().to_vec();
    let body =
        problem(app.import_ledger("台账.csv", csv.clone(), &[], None).await, StatusCode::UNPROCESSABLE_ENTITY).await;
    assert_eq!(pointers(&body), ["1:1", "1:1", "1:1"]);
    assert!(body["errors"][0]["detail"].as_str().unwrap().contains("no column gives the task's title"));

    let map = r#"{"标题列": "title", "分类": "category", "X": "lon", "Y": "lat", "备注": "description"}"#;
    let report: Value = app.import_ledger("台账.csv", csv.clone(), &[("map", map)], None).await.json().await.unwrap();
    assert_eq!(report["imported"], 1, "{report}");
    let stored = tasks_by_title(&app.bureau).await;
    assert_eq!(stored["锅炉改造"]["properties"]["description"], "按月调度");

    let body = problem(
        app.import_ledger("台账.csv", csv, &[("map", r#"{"标题": "title"}"#)], None).await,
        StatusCode::UNPROCESSABLE_ENTITY,
    )
    .await;
    assert!(body["errors"][0]["detail"].as_str().unwrap().contains("'标题' is not a column of 台账.csv"));
    let body = problem(
        app.import_ledger("台账.csv", b"a,b\n1,2\n".to_vec(), &[("map", r#"{"a": "name"}"#)], None).await,
        StatusCode::UNPROCESSABLE_ENTITY,
    )
    .await;
    assert_eq!(pointers(&body), ["map"]);
}

#[tokio::test]
async fn a_file_over_64_mib_is_refused_with_413() {
    let app = spawn_app().await;
    let mut huge = "任务名称,类别,经度,纬度\n".as_bytes().to_vec();
    huge.resize(64 * 1024 * 1024 + 1024 * 1024, b'x');
    let res = app.import_ledger("台账.csv", huge, &[], None).await;
    let body = problem(res, StatusCode::PAYLOAD_TOO_LARGE).await;
    assert!(body["detail"].as_str().unwrap().contains("larger than 64 MiB"), "{body}");
    assert_eq!(app.task_count().await, 0);
}

#[tokio::test]
async fn the_command_line_checks_then_imports_a_ledger_with_progress() {
    let app = spawn_app().await;
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("台账.xlsx");
    std::fs::write(&path, workbook(&sources(12))).unwrap();
    let cli = |extra: &[&str]| {
        std::process::Command::new(env!("CARGO_BIN_EXE_greenledger"))
            .args(["import", "ledger"])
            .arg(&path)
            .args(extra)
            .env("DATABASE_URL", app.database_url())
            .output()
            .unwrap()
    };
    let out = cli(&["--dry-run", "--map", "备注=description"]);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{stdout}{}", String::from_utf8_lossy(&out.stderr));
    assert!(stdout.contains("column M 备注: description"), "{stdout}");
    assert!(stdout.contains("dry run: nothing was stored; 12 rows can be imported, 0 refused"), "{stdout}");
    assert_eq!(app.task_count().await, 0);

    let out = cli(&[]);
    let (stdout, stderr) = (String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    assert!(out.status.success(), "{stdout}{stderr}");
    assert!(stderr.contains("import: 12 rows read"), "{stderr}");
    assert!(stderr.contains("import: writing 12 of 12 rows"), "{stderr}");
    assert!(stdout.contains("12 of 12 rows imported"), "{stdout}");
    assert_eq!(app.task_count().await, 12);

    std::fs::write(&path, sheet_with_text_in_a_number_column()).unwrap();
    let out = cli(&[]);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(!out.status.success());
    assert!(stdout.contains("台账.xlsx, row 4, column F (计划投资（万元）): '约50' is not a number"), "{stdout}");
    assert_eq!(app.task_count().await, 12, "nothing more stored");
}
