//! The ledger exports as each kind of caller gets them: CSV with a byte order mark, a streamed
//! GeoJSON FeatureCollection, and the Excel workbook read back cell by cell.

use greenledger::store::photos::PhotoStore;
use std::collections::BTreeMap;
use std::io::Cursor;
use std::path::Path;

use crate::helpers::*;
use calamine::{Data, Reader, Xlsx};
use chrono::NaiveDate;
use reqwest::header;
use serde_json::{Value, json};

/// A small RFC 4180 reader, enough to check what the export wrote.
fn parse_csv(text: &str) -> Vec<Vec<String>> {
    let mut rows = Vec::new();
    let mut row = Vec::new();
    let mut field = String::new();
    let mut quoted = false;
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        match (quoted, c) {
            (true, '"') if chars.peek() == Some(&'"') => {
                field.push('"');
                chars.next();
            }
            (true, '"') => quoted = false,
            (true, c) => field.push(c),
            (false, '"') => quoted = true,
            (false, ',') => row.push(std::mem::take(&mut field)),
            (false, '\r') => {}
            (false, '\n') => {
                row.push(std::mem::take(&mut field));
                rows.push(std::mem::take(&mut row));
            }
            (false, c) => field.push(c),
        }
    }
    rows
}

/// Three tasks: a public point in WEST with a tricky title, an internal area in WEST with contact
/// details, an internal line in EAST.
async fn small_ledger(app: &TestApp) -> Vec<String> {
    let mut ids = Vec::new();
    for feature in [
        task_at(
            point(119.85, 30.75),
            json!({"title": "=1+1, 说\"清淤\"\n第二行", "planned_investment": 12.5, "due_date": "2026-06-30",
                   "contact_phone": "+86 571 8888 0000"}),
        ),
        task_at(
            json!({"type": "Polygon", "coordinates": [[[119.82, 30.8], [119.83, 30.8], [119.83, 30.81], [119.82, 30.81], [119.82, 30.8]]]}),
            json!({"title": "村庄整治", "category": "village", "visibility": "internal", "contact_person": "王工",
                   "contact_phone": "0571-8888", "status": "completed", "completed_at": "2026-05-01T09:30:00+08:00"}),
        ),
        task_at(
            json!({"type": "LineString", "coordinates": [[120.02, 30.9], [120.04, 30.91]]}),
            json!({"title": "河道清淤", "visibility": "internal", "contact_person": "李工", "lead_department": "water",
                   "support_departments": ["housing", "ecology"]}),
        ),
    ] {
        ids.push(app.create(&feature).await.0);
    }
    ids
}

async fn csv_as(caller: &Caller) -> (Vec<String>, Vec<BTreeMap<String, String>>) {
    let res = caller.get("/api/export/tasks.csv").await;
    assert_eq!(res.status(), 200);
    assert_eq!(res.headers()[header::CONTENT_TYPE], "text/csv; charset=utf-8");
    assert!(res.headers()[header::CONTENT_DISPOSITION].to_str().unwrap().starts_with("attachment"));
    let bytes = res.bytes().await.unwrap();
    assert_eq!(&bytes[..3], b"\xEF\xBB\xBF", "UTF-8 byte order mark first, for Excel");
    let text = std::str::from_utf8(&bytes[3..]).unwrap();
    let mut rows = parse_csv(text);
    let header = rows.remove(0);
    let records = rows
        .into_iter()
        .map(|r| {
            assert_eq!(r.len(), header.len(), "{r:?}");
            header.iter().cloned().zip(r).collect()
        })
        .collect();
    (header, records)
}

#[tokio::test]
async fn csv_has_every_visible_task_with_a_point_and_wkt_and_private_columns_only_for_those_allowed() {
    let app = spawn_app().await;
    small_ledger(&app).await;

    let (header, rows) = csv_as(&app.anonymous()).await;
    assert!(!header.iter().any(|h| h.starts_with("contact")), "{header:?}");
    assert_eq!(rows.len(), 1, "the public sees the public task only");
    let r = &rows[0];
    assert_eq!(r["title"], "'=1+1, 说\"清淤\"\n第二行", "quotes, commas and line breaks survive; formulas do not run");
    assert_eq!((r["lon"].as_str(), r["lat"].as_str()), ("119.85", "30.75"));
    assert_eq!(r["wkt"], "POINT(119.85 30.75)");
    assert_eq!((r["planned_investment"].as_str(), r["due_date"].as_str()), ("12.5", "2026-06-30"));
    assert_eq!(r["township_name"], "城东街道");

    let (header, rows) = csv_as(&app.bureau).await;
    assert!(header.contains(&"contact_phone".to_owned()));
    assert_eq!(rows.len(), 3);
    let area = rows.iter().find(|r| r["title"] == "村庄整治").unwrap();
    assert_eq!(area["contact_person"], "王工");
    assert!(area["wkt"].starts_with("POLYGON(("), "{}", area["wkt"]);
    let (lon, lat): (f64, f64) = (area["lon"].parse().unwrap(), area["lat"].parse().unwrap());
    assert!((119.82..=119.83).contains(&lon) && (30.8..=30.81).contains(&lat), "a point inside the area");
    assert_eq!(area["completed_at"], "2026-05-01T01:30:00Z");
    let line = rows.iter().find(|r| r["title"] == "河道清淤").unwrap();
    assert!(line["wkt"].starts_with("LINESTRING("));
    let departments = (line["lead_department"].as_str(), line["lead_department_name"].as_str());
    assert_eq!(departments, ("water", "水利局"));
    assert_eq!(line["support_departments"], "housing;ecology");
    assert_eq!(rows.iter().find(|r| r["title"].starts_with("'=")).unwrap()["contact_phone"], "'+86 571 8888 0000");

    // A township officer: its own internal task in full, the other township's not at all.
    let (_, rows) = csv_as(&app.login(&format!("township-{WEST}")).await).await;
    let titles: Vec<&str> = rows.iter().map(|r| r["title"].as_str()).collect();
    assert_eq!(titles.len(), 2, "{titles:?}");
    assert!(titles.contains(&"村庄整治") && !titles.contains(&"河道清淤"));
    assert_eq!(rows.iter().find(|r| r["title"] == "村庄整治").unwrap()["contact_person"], "王工");
    let (_, rows) = csv_as(&app.login(&format!("township-{EAST}")).await).await;
    let public = rows.iter().find(|r| r["title"].starts_with("'=")).unwrap();
    assert_eq!(public["contact_phone"], "", "another township's contact details stay hidden");

    // A department officer: the internal task its department leads, in full; no other internal one.
    let (_, rows) = csv_as(&app.login("department-water").await).await;
    let titles: Vec<&str> = rows.iter().map(|r| r["title"].as_str()).collect();
    assert!(titles.contains(&"河道清淤") && !titles.contains(&"村庄整治"), "{titles:?}");
    assert_eq!(rows.iter().find(|r| r["title"] == "河道清淤").unwrap()["contact_person"], "李工");
}

#[tokio::test]
async fn geojson_streams_every_visible_task_as_the_task_api_shows_it() {
    let app = spawn_app().await;
    let ids = small_ledger(&app).await;
    for (caller, visible) in [(app.bureau.clone(), 3), (app.anonymous(), 1)] {
        let res = caller.get("/api/export/tasks.geojson").await;
        assert_eq!(res.status(), 200);
        assert_eq!(res.headers()[header::CONTENT_TYPE], "application/geo+json");
        assert!(res.headers().get(header::CONTENT_LENGTH).is_none(), "written as it is read, so no length up front");
        let fc: Value = res.json().await.unwrap();
        assert_eq!(fc["type"], "FeatureCollection");
        let features = fc["features"].as_array().unwrap();
        assert_eq!(features.len(), visible);
        for f in features {
            let id = f["id"].as_str().unwrap();
            assert!(ids.iter().any(|i| i == id));
            let one: Value = caller.get(&format!("/api/tasks/{id}")).await.json().await.unwrap();
            assert_eq!(f, &one);
        }
    }
    // An empty ledger is still a valid document.
    let empty = spawn_app().await;
    let fc: Value = empty.get("/api/export/tasks.geojson").await.json().await.unwrap();
    assert_eq!(fc, json!({"type": "FeatureCollection", "features": []}));
}

fn text(cell: &Data) -> String {
    match cell {
        Data::String(s) => s.clone(),
        Data::Empty => String::new(),
        other => panic!("expected text, got {other:?}"),
    }
}

fn number(cell: &Data) -> f64 {
    match cell {
        Data::Float(x) => *x,
        Data::Int(i) => *i as f64,
        other => panic!("expected a number cell, got {other:?}"),
    }
}

/// The day of an Excel date cell (days since 1899-12-30, as Excel and LibreOffice count them).
fn date(cell: &Data) -> NaiveDate {
    match cell {
        Data::DateTime(d) => {
            NaiveDate::from_ymd_opt(1899, 12, 30).unwrap() + chrono::Duration::days(d.as_f64().floor() as i64)
        }
        other => panic!("expected a date cell, got {other:?}"),
    }
}

async fn workbook_bytes(caller: &Caller) -> Vec<u8> {
    let res = caller.get("/api/export/ledger.xlsx").await;
    assert_eq!(res.status(), 200);
    assert_eq!(
        res.headers()[header::CONTENT_TYPE],
        "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    );
    let disposition = res.headers()[header::CONTENT_DISPOSITION].to_str().unwrap().to_owned();
    assert!(disposition.contains("filename*=UTF-8''%E5%8F%B0%E8%B4%A6-"), "{disposition}");
    res.bytes().await.unwrap().to_vec()
}

async fn workbook(caller: &Caller) -> Xlsx<Cursor<Vec<u8>>> {
    Xlsx::new(Cursor::new(workbook_bytes(caller).await)).expect("the workbook reads back")
}

/// A worksheet's XML, for what a reader library does not report (panes, column widths).
fn sheet_xml(bytes: &[u8], n: usize) -> String {
    use std::io::Read;
    let mut zip = zip::ZipArchive::new(Cursor::new(bytes)).unwrap();
    let mut xml = String::new();
    zip.by_name(&format!("xl/worksheets/sheet{n}.xml")).unwrap().read_to_string(&mut xml).unwrap();
    xml
}

/// The width Excel is told for a 1-based column.
fn column_width(xml: &str, col: usize) -> f64 {
    let tag = format!("<col min=\"{col}\" max=\"{col}\" width=\"");
    let start = xml.find(&tag).unwrap_or_else(|| panic!("no width for column {col}")) + tag.len();
    xml[start..].split('"').next().unwrap().parse().unwrap()
}

#[tokio::test]
async fn the_ledger_workbook_of_the_demo_county_reads_back_with_real_numbers_and_dates() {
    let app = spawn_app().await;
    sqlx::query("DELETE FROM users WHERE role = 'township'").execute(&app.db).await.unwrap();
    sqlx::query("DELETE FROM townships").execute(&app.db).await.unwrap();
    greenledger::seed::load_demo(&app.db, Path::new("data"), &PhotoStore::Folder(app.data_dir.clone()), |_| {})
        .await
        .unwrap();

    let bytes = workbook_bytes(&app.bureau).await;
    for n in [1, 2] {
        let xml = sheet_xml(&bytes, n);
        assert!(xml.contains(r#"<pane ySplit="1" topLeftCell="A2" activePane="bottomLeft" state="frozen"/>"#), "{n}");
    }
    // Titles are Chinese: twice as many columns as characters, up to the cap.
    let tasks_xml = sheet_xml(&bytes, 1);
    assert!(column_width(&tasks_xml, 2) >= 40.0, "the title column fits Chinese titles");
    assert!(column_width(&tasks_xml, 1) >= 12.0 && column_width(&tasks_xml, 1) < 20.0, "the code column fits codes");
    let mut wb = Xlsx::new(Cursor::new(bytes)).expect("the workbook reads back");
    assert_eq!(wb.sheet_names(), ["任务台账", "乡镇汇总", "部门汇总"]);
    let tasks = wb.worksheet_range("任务台账").unwrap();
    let mut rows = tasks.rows();
    let header: Vec<String> = rows.next().unwrap().iter().map(text).collect();
    assert_eq!(&header[..4], ["任务编号", "任务名称", "类别", "状态"]);
    assert!(header.contains(&"联系电话".to_owned()));
    let col = |name: &str| header.iter().position(|h| h == name).unwrap();

    // Every task, compared with what the API says about it.
    let list: Value = app.get("/api/tasks?limit=10000").await.json().await.unwrap();
    let by_code: BTreeMap<String, &Value> = list["features"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| (f["properties"]["code"].as_str().unwrap().to_owned(), &f["properties"]))
        .collect();
    let mut seen = 0;
    for row in rows {
        let code = text(&row[0]);
        let p = by_code.get(&code).unwrap_or_else(|| panic!("{code} is a task"));
        seen += 1;
        assert_eq!(text(&row[1]), p["title"].as_str().unwrap());
        assert_eq!(number(&row[col("进度(%)")]), p["progress"].as_f64().unwrap());
        assert_eq!(text(&row[col("乡镇代码")]), p["township"].as_str().unwrap(), "codes stay text");
        match p["due_date"].as_str() {
            Some(d) => assert_eq!(date(&row[col("完成时限")]).to_string(), d),
            None => assert_eq!(row[col("完成时限")], Data::Empty),
        }
        match p["planned_investment"].as_f64() {
            Some(x) => assert_eq!(number(&row[col("计划投资(万元)")]), x),
            None => assert_eq!(row[col("计划投资(万元)")], Data::Empty),
        }
        if p["completed_at"].is_string() {
            let local = chrono::DateTime::parse_from_rfc3339(p["completed_at"].as_str().unwrap())
                .unwrap()
                .with_timezone(&chrono::FixedOffset::east_opt(8 * 3600).unwrap());
            assert_eq!(date(&row[col("完成时间")]), local.date_naive(), "completion day in county time");
        }
        let lon = number(&row[col("经度")]);
        assert!((119.0..121.0).contains(&lon));
        assert_eq!(text(&row[col("牵头部门")]), p["lead_department_name"].as_str().unwrap_or(""));
        let supporting = p["support_departments"].as_array().unwrap();
        assert_eq!(text(&row[col("配合部门")]), if supporting.is_empty() { "" } else { "生态环境局" }, "{code}");
    }
    assert_eq!(seen, by_code.len(), "one row per task");

    // The rollup sheet: one row per township, then the county total, as the rollup API has them.
    let rollup: Value = app.get("/api/rollups/townships").await.json().await.unwrap();
    let sheet = wb.worksheet_range("乡镇汇总").unwrap();
    let rows: Vec<&[Data]> = sheet.rows().collect();
    let header: Vec<String> = rows[0].iter().map(text).collect();
    let col = |name: &str| header.iter().position(|h| h == name).unwrap();
    let townships = rollup["townships"].as_array().unwrap();
    assert_eq!(townships.len(), 12);
    for (i, t) in townships.iter().chain([&rollup["county"]]).enumerate() {
        let row = rows[1 + i];
        if i < townships.len() {
            assert_eq!(text(&row[0]), t["township_code"].as_str().unwrap());
            assert_eq!(text(&row[1]), t["township_name"].as_str().unwrap());
        } else {
            assert_eq!(text(&row[1]), "全县合计");
        }
        assert_eq!(number(&row[col("任务数")]), t["tasks"].as_f64().unwrap());
        assert_eq!(number(&row[col("逾期数")]), t["overdue"].as_f64().unwrap());
        assert_eq!(number(&row[col("计划投资(万元)")]), t["planned_investment"].as_f64().unwrap());
        assert_eq!(number(&row[col("重点流域水环境整治")]), t["by_category"]["watershed"].as_f64().unwrap());
        match t["on_time_rate"].as_f64() {
            Some(r) => assert!((number(&row[col("按期完成率")]) - r).abs() < 1e-12),
            None => assert_eq!(row[col("按期完成率")], Data::Empty),
        }
    }
    assert_eq!(by_code.len() as f64, rollup["county"]["tasks"].as_f64().unwrap());

    // The department sheet: one row per department over the tasks it leads, then their total.
    let by_department: Value = app.get("/api/rollups/departments").await.json().await.unwrap();
    let departments = by_department["departments"].as_array().unwrap();
    let sheet = wb.worksheet_range("部门汇总").unwrap();
    let dept_rows: Vec<&[Data]> = sheet.rows().collect();
    assert_eq!(dept_rows[0][1], Data::String("牵头部门".into()));
    for (i, d) in departments.iter().chain([&by_department["total"]]).enumerate() {
        let row = dept_rows[1 + i];
        let label =
            if i < departments.len() { d["department_name"].as_str().unwrap() } else { "全部牵头部门合计" };
        assert_eq!(text(&row[1]), label);
        assert_eq!(number(&row[col("任务数")]), d["tasks"].as_f64().unwrap(), "{label}");
        assert_eq!(number(&row[col("逾期数")]), d["overdue"].as_f64().unwrap(), "{label}");
    }
    assert!(by_department["total"]["tasks"].as_i64().unwrap() > 0, "the demo's tasks have lead departments");
    let note = rows.last().unwrap();
    assert_eq!(text(&note[0]), "统计日期");
    assert_eq!(date(&note[1]).to_string(), rollup["as_of"].as_str().unwrap());

    // The public workbook: public tasks, no contact columns.
    let mut wb = workbook(&app.anonymous()).await;
    let tasks = wb.worksheet_range("任务台账").unwrap();
    let header: Vec<String> = tasks.rows().next().unwrap().iter().map(text).collect();
    assert!(!header.contains(&"联系电话".to_owned()));
    let public: Value = app.anonymous().get("/api/tasks?limit=10000").await.json().await.unwrap();
    assert_eq!(tasks.rows().count() - 1, public["features"].as_array().unwrap().len());
    assert!(public["features"].as_array().unwrap().len() < by_code.len(), "the demo has internal tasks");
}

#[tokio::test]
async fn exports_refuse_parameters_by_name() {
    let app = spawn_app().await;
    for path in
        ["/api/export/tasks.csv?category=energy", "/api/export/ledger.xlsx?x=1", "/api/export/tasks.geojson?bbox=1"]
    {
        let body = problem(app.get(path).await, reqwest::StatusCode::BAD_REQUEST).await;
        let param = path.split('?').nth(1).unwrap().split('=').next().unwrap();
        assert_eq!(pointers(&body), [param]);
    }
}
