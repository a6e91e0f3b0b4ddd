//! numberMatched: counted from the precounted cells and the tasks along a box's edges, it must be
//! exactly what counting the tasks says, for every kind and size of geometry and every caller;
//! for filters the cells cannot answer it is counted up to 10,000 and left out beyond.

use crate::helpers::*;
use reqwest::StatusCode;
use serde_json::{Value, json};

/// Points, lines and areas (single and multi) of sizes from a tenth of a level-14 cell to many
/// level-12 cells, spread over the county, in every status, family, visibility and supervision.
async fn seed(app: &TestApp, n: i32) {
    sqlx::query(
        "WITH r AS (
             SELECT i, 119.801 + random() * 0.27 AS x, 30.701 + random() * 0.27 AS y,
                    power(10, -4 + random() * 2.3) AS dx, power(10, -4 + random() * 2.3) AS dy
             FROM generate_series(1, $1) i)
         INSERT INTO tasks (title, category, geom, status, progress, visibility, supervised, cancel_reason)
         SELECT 'seed ' || i, (ARRAY['watershed', 'chemical', 'energy', 'village'])[1 + i % 4],
                ST_SetSRID(CASE i % 6
                    WHEN 0 THEN ST_MakePoint(x, y)
                    WHEN 1 THEN ST_MakeLine(ARRAY[ST_MakePoint(x, y), ST_MakePoint(x + dx, y + dy / 3), ST_MakePoint(x, y + dy)])
                    WHEN 2 THEN ST_MakeEnvelope(x, y, x + dx, y + dy)
                    WHEN 3 THEN ST_Collect(ST_MakePoint(x, y), ST_MakePoint(x + dx, y))
                    WHEN 4 THEN ST_Collect(ST_MakeEnvelope(x, y, x + dx / 10, y + dy / 10),
                                           ST_MakeEnvelope(x + dx, y + dy / 10 + 0.0002, x + dx + 0.0005, y + dy / 10 + 0.0007))
                    ELSE ST_MakeLine(ST_MakePoint(x, y), ST_MakePoint(x + dx, y + dy))
                END, 4326),
                (ARRAY['planned', 'in_progress', 'completed', 'verified', 'cancelled'])[1 + i % 5],
                CASE WHEN i % 5 IN (2, 3) THEN 100 ELSE 0 END,
                CASE WHEN i % 3 = 0 THEN 'internal' ELSE 'public' END, i % 7 = 0,
                CASE WHEN i % 5 = 4 THEN '并入其他工程' END
         FROM r",
    )
    .bind(n)
    .execute(&app.db)
    .await
    .unwrap();
}

/// What counting the tasks says: the list's own conditions, written out again.
async fn truth(app: &TestApp, bbox: [f64; 4], visible: &str, extra: &str) -> i64 {
    let sql = format!(
        "SELECT count(*) FROM tasks t WHERE ST_Intersects(t.geom, ST_MakeEnvelope($1, $2, $3, $4, 4326)) AND ({visible}) {extra}"
    );
    sqlx::query_scalar(&sql).bind(bbox[0]).bind(bbox[1]).bind(bbox[2]).bind(bbox[3]).fetch_one(&app.db).await.unwrap()
}

async fn matched(caller: &Caller, path: &str) -> Option<i64> {
    let res = caller.get(path).await;
    assert_eq!(res.status(), StatusCode::OK, "{path}");
    let body: Value = res.json().await.unwrap();
    body.get("numberMatched").map(|n| n.as_i64().unwrap())
}

/// Boxes of several sizes at fixed pseudo-random places, the county's box and one beyond it.
fn boxes() -> Vec<[f64; 4]> {
    let mut state: u64 = 0x9e37_79b9_7f4a_7c15;
    let mut next = || {
        state = state.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(1_442_695_040_888_963_407);
        (state >> 11) as f64 / (1u64 << 53) as f64
    };
    let mut out = vec![[119.8, 30.7, 120.1, 31.0], [119.7, 30.6, 120.2, 31.1]];
    for size in [0.0012, 0.004, 0.013, 0.05, 0.17] {
        for _ in 0..2 {
            let (w, s) = (119.8 + next() * (0.3 - size), 30.7 + next() * (0.3 - size));
            out.push([w, s, w + size, s + size * 0.8]);
        }
    }
    out
}

#[tokio::test]
async fn number_matched_is_the_exact_count_for_every_box_filter_and_caller() {
    let app = spawn_app().await;
    seed(&app, 1500).await;
    let anonymous = app.anonymous();
    let township = app.login(&format!("township-{WEST}")).await;
    let callers = [
        (&anonymous, "t.visibility = 'public'".to_owned()),
        (&app.bureau, "true".to_owned()),
        (&township, format!("t.visibility = 'public' OR t.township_code = '{WEST}'")),
    ];
    let filters = [
        ("", ""),
        ("&category=watershed,energy", "AND t.category IN ('watershed', 'energy')"),
        ("&status=planned,verified", "AND t.status IN ('planned', 'verified')"),
        ("&supervised=true", "AND t.supervised"),
        ("&supervised=false", "AND NOT t.supervised"),
        (&format!("&township={WEST},{EAST}"), &format!("AND t.township_code IN ('{WEST}', '{EAST}')")),
    ];
    let mut nonzero = 0;
    for b in boxes() {
        let bbox = format!("{},{},{},{}", b[0], b[1], b[2], b[3]);
        for (caller, visible) in &callers {
            for (query, sql) in &filters {
                let want = truth(&app, b, visible, sql).await;
                let got = matched(caller, &format!("/api/tasks?bbox={bbox}&limit=1{query}")).await;
                assert_eq!(got, Some(want), "bbox={bbox}{query} as {visible}");
                nonzero += i32::from(want > 1);
            }
        }
        let ogc = matched(&app.bureau, &format!("/ogc/collections/tasks/items?bbox={bbox}&limit=1")).await;
        assert_eq!(ogc, Some(truth(&app, b, "true", "").await), "OGC bbox={bbox}");
    }
    assert!(nonzero > 100, "the boxes hold tasks: {nonzero}");
    // No box: the whole ledger from the coarsest cells.
    let all: i64 =
        sqlx::query_scalar("SELECT count(*) FROM tasks WHERE visibility = 'public'").fetch_one(&app.db).await.unwrap();
    assert_eq!(matched(&anonymous, "/api/tasks?limit=1").await, Some(all));
}

/// Large tasks and tasks whose point (the one their cell is kept by) lies outside the box while
/// their geometry crosses into it, on a box several cells wide so its cells and edges both count.
#[tokio::test]
async fn tasks_larger_than_a_cell_or_with_their_point_outside_the_box_count_once() {
    let app = spawn_app().await;
    let shapes = [
        // An area larger than the box and many cells: it holds the box.
        "POLYGON((119.93 30.83, 119.99 30.83, 119.99 30.89, 119.93 30.89, 119.93 30.83))",
        // A long thin area whose west end alone enters the box; its point lies far east of it.
        "POLYGON((119.95 30.86, 119.99 30.86, 119.99 30.8605, 119.95 30.8605, 119.95 30.86))",
        // A line whose inner vertex (its point) lies east of the box, its start inside.
        "LINESTRING(119.955 30.855, 119.99 30.85, 119.99 30.8501)",
        // A line crossing the box without a vertex in it.
        "LINESTRING(119.94 30.851, 119.97 30.852)",
        // Two areas, one in the box's middle, one far outside.
        "MULTIPOLYGON(((119.952 30.857, 119.953 30.857, 119.953 30.858, 119.952 30.858, 119.952 30.857)),((120.05 30.95, 120.051 30.95, 120.051 30.951, 120.05 30.951, 120.05 30.95)))",
        // A line passing near the box's corner without touching it.
        "LINESTRING(119.9601 30.8451, 119.9701 30.8551)",
    ];
    for wkt in shapes {
        sqlx::query(
            "INSERT INTO tasks (title, category, geom) VALUES ('shape', 'watershed', ST_GeomFromText($1, 4326))",
        )
        .bind(wkt)
        .execute(&app.db)
        .await
        .unwrap();
    }
    let b = [119.948, 30.845, 119.96, 30.865];
    let outside: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM tasks
         WHERE ST_Intersects(geom, ST_MakeEnvelope($1, $2, $3, $4, 4326))
           AND NOT ST_Intersects(ST_PointOnSurface(geom), ST_MakeEnvelope($1, $2, $3, $4, 4326))",
    )
    .bind(b[0])
    .bind(b[1])
    .bind(b[2])
    .bind(b[3])
    .fetch_one(&app.db)
    .await
    .unwrap();
    assert!(outside >= 3, "the shapes cross into the box from points outside it: {outside}");
    let bbox = format!("{},{},{},{}", b[0], b[1], b[2], b[3]);
    for limit in [1, 2] {
        let got = matched(&app.bureau, &format!("/api/tasks?bbox={bbox}&limit={limit}")).await;
        assert_eq!(got, Some(truth(&app, b, "true", "").await));
    }
    assert_eq!(truth(&app, b, "true", "").await, 5, "all but the one passing the corner");
}

/// Words, departments, dates and a department officer's view are beyond the cells: counted while
/// few, left out past 10,000 matches, with a next link for as long as pages are full.
#[tokio::test]
async fn filters_beyond_the_cells_are_counted_while_few_and_left_out_beyond() {
    let app = spawn_app().await;
    seed(&app, 300).await;
    let words: i64 =
        sqlx::query_scalar("SELECT count(*) FROM tasks WHERE title LIKE 'seed 1%'").fetch_one(&app.db).await.unwrap();
    assert_eq!(matched(&app.bureau, "/api/tasks?q=seed%201&limit=1").await, Some(words));
    let water = app.login("department-water").await;
    let public: i64 =
        sqlx::query_scalar("SELECT count(*) FROM tasks WHERE visibility = 'public'").fetch_one(&app.db).await.unwrap();
    assert_eq!(matched(&water, "/api/tasks?bbox=119.8,30.7,120.1,31.0&limit=1").await, Some(public));

    sqlx::query(
        "INSERT INTO tasks (title, category, geom)
         SELECT 'many ' || i, 'energy', ST_SetSRID(ST_MakePoint(119.81 + (i % 100) * 0.0028, 30.71 + (i / 100) * 0.0028), 4326)
         FROM generate_series(0, 10049) i",
    )
    .execute(&app.db)
    .await
    .unwrap();
    for path in ["/api/tasks?q=many&limit=2", "/ogc/collections/tasks/items?q=many&limit=2"] {
        let res = app.bureau.get(path).await;
        assert_eq!(res.status(), StatusCode::OK);
        let body: Value = res.json().await.unwrap();
        assert!(body.get("numberMatched").is_none(), "{path}: {body}");
        assert_eq!(body["numberReturned"], 2);
        assert!(body["links"].as_array().unwrap().iter().any(|l| l["rel"] == "next"), "{path}");
    }
    // The cells still count the same tasks without the words.
    let energy: i64 =
        sqlx::query_scalar("SELECT count(*) FROM tasks WHERE category = 'energy'").fetch_one(&app.db).await.unwrap();
    assert_eq!(matched(&app.bureau, "/api/tasks?category=energy&limit=2").await, Some(energy));
    // The last page of an uncounted list says how many there were, and has no next link.
    let res = app.bureau.get("/api/tasks?q=many&limit=10000&offset=10000").await;
    let body: Value = res.json().await.unwrap();
    assert_eq!(body["numberMatched"], 10050);
    assert!(!body["links"].as_array().unwrap().iter().any(|l| l["rel"] == "next"));
}

/// Longitude of the west border of level-14 cell column `x` (2^19 columns round the world).
fn column_west(x: i64) -> f64 {
    x as f64 * 360.0 / 524_288.0 - 180.0
}

/// Tasks' stored level-14 cells (migrations: 0026) against the cells' own count at level 14: the
/// same tasks in the same cells, or the box's edges count a task twice or never.
async fn stored_cells_agree(app: &TestApp) {
    let differ: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM (SELECT cell14_x, cell14_y, count(*) AS n FROM tasks GROUP BY 1, 2) s
         FULL JOIN (SELECT cx, cy, sum(n) AS n FROM task_cells WHERE z = 14 GROUP BY 1, 2 HAVING sum(n) <> 0) c
                ON c.cx = s.cell14_x AND c.cy = s.cell14_y
         WHERE s.n IS DISTINCT FROM c.n",
    )
    .fetch_one(&app.db)
    .await
    .unwrap();
    assert_eq!(differ, 0, "cells whose stored tasks and counted tasks differ");
}

/// A task moved across a cell border (through the API or a direct write) and tasks
/// imported beside the border are counted where they now lie: a task counted by a cell it has
/// left would be counted twice along the box's edge, or not at all.
#[tokio::test]
async fn a_task_moved_across_a_cell_border_is_counted_where_it_now_lies() {
    let app = spawn_app().await;
    // Column 436,800 lies in the middle township; the box's west edge is 0.0004° west of its border,
    // so that column is the box's first inner one and the one west of it an edge cell.
    let border = column_west(436_800);
    assert!((119.9..120.0).contains(&border), "{border}");
    let b = [border - 0.0004, 30.85, border + 0.01, 30.86];
    let bbox = format!("{},{},{},{}", b[0], b[1], b[2], b[3]);
    let (inner, edge, outside) = (border + 0.0002, border - 0.0002, border - 0.002);
    let check = |step: &'static str| {
        let (app, bbox) = (&app, &bbox);
        async move {
            stored_cells_agree(app).await;
            let got = matched(&app.bureau, &format!("/api/tasks?bbox={bbox}&limit=1")).await;
            assert_eq!(got, Some(truth(app, b, "true", "").await), "{step}");
        }
    };
    let (id, etag, _) = app.create(&task_at(point(inner, 30.855), json!({}))).await;
    check("created in an inner cell").await;
    let path = format!("/api/tasks/{id}");
    let res = app.patch(&path, &etag, &json!({"geometry": point(edge, 30.855)})).await;
    assert_eq!(res.status(), StatusCode::OK);
    check("moved to an edge cell").await;
    let column: i32 = sqlx::query_scalar("SELECT cell14_x FROM tasks WHERE id = $1::uuid")
        .bind(&id)
        .fetch_one(&app.db)
        .await
        .unwrap();
    assert_eq!(column, 436_799, "the move crossed the border");
    let etag = app.etag(&id).await;
    let line = json!({"type": "LineString", "coordinates": [[outside, 30.8551], [inner, 30.8552], [outside - 0.003, 30.8553]]});
    assert_eq!(app.patch(&path, &etag, &json!({"geometry": line})).await.status(), StatusCode::OK);
    check("a line with its point outside the box, crossing into it").await;
    let etag = app.etag(&id).await;
    assert_eq!(app.patch(&path, &etag, &json!({"geometry": point(inner, 30.856)})).await.status(), StatusCode::OK);
    check("moved back into an inner cell").await;
    // A bad geometry leaves the task, and its cell, as they were.
    let etag = app.etag(&id).await;
    let res = app.patch(&path, &etag, &json!({"geometry": point(121.5, 30.856)})).await;
    assert!(res.status().is_client_error(), "{}", res.status());
    check("a refused move").await;

    // The import writes in bulk, beside the border on both sides.
    let features: Vec<Value> =
        [inner, edge, outside].iter().map(|&x| task_at(point(x, 30.857), json!({"title": "导入"}))).collect();
    let res = app
        .bureau
        .request(reqwest::Method::POST, "/api/import")
        .header(reqwest::header::CONTENT_TYPE, "application/geo+json")
        .body(json!({"type": "FeatureCollection", "features": features}).to_string())
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    check("imported beside the border").await;
    // A direct write (a repair, a loader) swaps sides too.
    sqlx::query(
        "UPDATE tasks SET geom = ST_Translate(geom, CASE WHEN ST_X(geom) > $1 THEN -0.0004 ELSE 0.0004 END, 0)
         WHERE title = '导入' AND ST_X(geom) > $1 - 0.001",
    )
    .bind(border)
    .execute(&app.db)
    .await
    .unwrap();
    check("swapped sides by SQL").await;
    assert_eq!(truth(&app, b, "true", "").await, 3, "the moved task and the two imported into the box");
}
