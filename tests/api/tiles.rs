//! /tiles: vector tiles of the tasks, read back with GDAL's MVT driver as a map client would.

use std::process::Command;

use crate::helpers::*;
use reqwest::{StatusCode, header};
use serde_json::{Value, json};

/// The XYZ tile holding a position at zoom `z`.
fn tile_of(lon: f64, lat: f64, z: u32) -> (u32, u32) {
    let n = f64::from(1u32 << z);
    let x = ((lon + 180.0) / 360.0 * n).floor();
    let lat = lat.to_radians();
    let y = ((1.0 - (lat.tan() + 1.0 / lat.cos()).ln() / std::f64::consts::PI) / 2.0 * n).floor();
    (x as u32, y as u32)
}

/// Longitude and latitude of the point `(fx, fy)` tile sides from tile z/x/y's north-west corner.
fn lon_lat(z: u32, x: u32, y: u32, fx: f64, fy: f64) -> (f64, f64) {
    let n = f64::from(1u32 << z);
    let lon = (f64::from(x) + fx) / n * 360.0 - 180.0;
    let lat = (std::f64::consts::PI * (1.0 - 2.0 * (f64::from(y) + fy) / n)).sinh().atan().to_degrees();
    (lon, lat)
}

/// The same point as WKT coordinates ("lon lat").
fn wkt_at(z: u32, x: u32, y: u32, fx: f64, fy: f64) -> String {
    let (lon, lat) = lon_lat(z, x, y, fx, fy);
    format!("{lon} {lat}")
}

/// Fetches a tile and returns ogrinfo's listing of it ("" for an empty tile).
async fn tile(caller: &Caller, lon: f64, lat: f64, z: u32) -> String {
    let (x, y) = tile_of(lon, lat, z);
    let res = caller.get(&format!("/tiles/tasks/{z}/{x}/{y}.mvt")).await;
    assert_eq!(res.status(), StatusCode::OK);
    assert_eq!(res.headers()[header::CONTENT_TYPE], "application/vnd.mapbox-vector-tile");
    listing(&res.bytes().await.unwrap(), z, x, y).await
}

/// ogrinfo's listing of MVT bytes as tile z/x/y ("" for an empty tile).
async fn listing(bytes: &[u8], z: u32, x: u32, y: u32) -> String {
    if bytes.is_empty() {
        return String::new();
    }
    let dir =
        std::env::temp_dir().join(format!("greenledger-tile-{}-{z}-{x}-{y}-{}", std::process::id(), rand_suffix()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("tile.mvt");
    std::fs::write(&path, bytes).unwrap();
    let out = tokio::task::spawn_blocking(move || {
        Command::new("ogrinfo")
            .args(["-ro", "-al", "-oo", &format!("Z={z}"), "-oo", &format!("X={x}"), "-oo", &format!("Y={y}")])
            .arg(format!("MVT:{}", path.display()))
            .output()
            .expect("ogrinfo runs (scripts/deps.sh test installs gdal-bin)")
    })
    .await
    .unwrap();
    let _ = std::fs::remove_dir_all(&dir);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8_lossy(&out.stdout).into_owned()
}

fn rand_suffix() -> u64 {
    use std::time::{SystemTime, UNIX_EPOCH};
    SystemTime::now().duration_since(UNIX_EPOCH).unwrap().as_nanos() as u64
}

/// The integer values of `field` in an ogrinfo listing.
fn values(listing: &str, field: &str) -> Vec<i64> {
    let prefix = format!("  {field} (Integer) = ");
    listing.lines().filter_map(|l| l.strip_prefix(&prefix)).map(|v| v.trim().parse().unwrap()).collect()
}

#[tokio::test]
async fn a_detail_tile_holds_the_tasks_the_caller_may_see_with_the_map_attributes() {
    let app = spawn_app().await;
    let (_, _, public) = app
        .create(&task_at(
            point(119.85, 30.8),
            json!({"category": "chemical", "status": "in_progress", "progress": 30, "contact_phone": "0571-1234567"}),
        ))
        .await;
    app.create(&task_at(point(119.8501, 30.8001), json!({"title": "内部任务", "visibility": "internal"}))).await;

    let anon = tile(&app.anonymous(), 119.85, 30.8, 15).await;
    assert_eq!(anon.matches("OGRFeature(tasks)").count(), 1, "{anon}");
    let code = public["properties"]["code"].as_str().unwrap();
    assert!(anon.contains(&format!("code (String) = {code}")), "{anon}");
    assert!(anon.contains("category (String) = chemical"));
    assert!(anon.contains("status (String) = in_progress"));
    assert!(anon.contains(&format!("township (String) = {WEST}")));
    assert!(anon.contains("POINT ("));
    assert!(!anon.contains("0571"), "no private fields in tiles");

    let staff = tile(&app, 119.85, 30.8, 15).await;
    assert_eq!(staff.matches("OGRFeature(tasks)").count(), 2);
    assert!(staff.contains("visibility (String) = internal"));
    assert_eq!(tile(&app.anonymous(), 120.05, 30.9, 15).await, "", "an empty tile is empty");
}

/// A listing's header (the layer and its fields) and its features without their numbers, sorted:
/// two encoders may write the same features in another order.
fn features(listing: &str) -> (String, Vec<String>) {
    let mut blocks = listing.split("OGRFeature(tasks):");
    let header = blocks.next().unwrap_or_default().replace("INFO: Open of", "");
    let mut features: Vec<String> =
        blocks.map(|b| b.split_once('\n').map_or("", |(_, rest)| rest).trim().to_owned()).collect();
    features.sort();
    (header.lines().filter(|l| !l.contains("tile.mvt")).collect::<Vec<_>>().join("\n"), features)
}

#[tokio::test]
async fn single_tasks_read_back_as_postgis_own_encoder_writes_them() {
    let app = spawn_app().await;
    let z = 15;
    let (x, y) = tile_of(119.85, 30.8, z);
    let at = |fx: f64, fy: f64| wkt_at(z, x, y, fx, fy);
    let ring = |x0: f64, y0: f64, x1: f64, y1: f64| {
        format!("({}, {}, {}, {}, {})", at(x0, y0), at(x1, y0), at(x1, y1), at(x0, y1), at(x0, y0))
    };
    // Shapes inside the tile, across its edges, partly beyond its buffer, and one too small to draw.
    let shapes = [
        format!("POINT({})", at(0.3, 0.3)),
        format!("LINESTRING({}, {}, {})", at(0.5, 0.5), at(0.8, 0.6), at(1.4, 0.7)),
        format!("POLYGON({}, {})", ring(0.2, 0.7, 0.6, 1.3), ring(0.3, 0.8, 0.4, 0.9)),
        format!("MULTIPOLYGON(({}), ({}))", ring(0.65, 0.1, 0.75, 0.2), ring(3.0, 3.0, 3.1, 3.1)),
        format!("MULTILINESTRING(({}, {}), ({}, {}))", at(-0.2, 0.1), at(0.2, 0.15), at(0.1, 0.9), at(0.15, 0.95)),
        format!("MULTIPOINT(({}), ({}), ({}))", at(0.9, 0.9), at(0.91, 0.9), at(5.0, 5.0)),
        format!("POLYGON({})", ring(0.5, 0.5, 0.500_001, 0.500_001)),
    ];
    for (i, wkt) in shapes.iter().enumerate() {
        sqlx::query(
            "INSERT INTO tasks (title, category, geom, status, progress, due_date, supervised, visibility)
             VALUES ('shape ' || $1, (ARRAY['watershed', 'chemical'])[1 + $1 % 2], ST_GeomFromText($2, 4326),
                     (ARRAY['planned', 'in_progress'])[1 + $1 % 2], 20 * ($1 % 2), 
                     CASE WHEN $1 % 3 = 0 THEN NULL ELSE current_date + 10 - 5 * $1 END,
                     $1 % 2 = 0, (ARRAY['public', 'internal'])[1 + $1 / 4])",
        )
        .bind(i as i32)
        .bind(wkt)
        .execute(&app.db)
        .await
        .unwrap();
    }
    let ours = features(&our_listing(&app, z, x, y).await);
    let theirs = features(&reference_listing(&app, z, x, y).await);
    assert_eq!(ours.1.len(), 6, "every shape but the one too small to draw: {:#?}", ours.1);
    assert!(ours.1.iter().any(|f| f.contains("overdue (Integer(Boolean)) = 1")), "{:#?}", ours.1);
    assert_eq!(ours, theirs);
}

/// The service's tile z/x/y as ogrinfo lists it.
async fn our_listing(app: &TestApp, z: u32, x: u32, y: u32) -> String {
    let res = app.get(&format!("/tiles/tasks/{z}/{x}/{y}.mvt")).await;
    assert_eq!(res.status(), StatusCode::OK);
    listing(&res.bytes().await.unwrap(), z, x, y).await
}

/// The same tile as PostGIS's own encoder writes it from every task (ST_AsMVTGeom, ST_AsMVT), listed.
async fn reference_listing(app: &TestApp, z: u32, x: u32, y: u32) -> String {
    let (reference,): (Vec<u8>,) = sqlx::query_as(
        "SELECT ST_AsMVT(m, 'tasks', 4096, 'geom') FROM (
             SELECT ST_AsMVTGeom(t.geom_3857, ST_TileEnvelope($1, $2, $3), 4096, 64, true) AS geom,
                    t.id::text AS id, t.code, t.title, t.category, t.status, t.progress::int4 AS progress,
                    t.township_code AS township,
                    coalesce(t.due_date < current_date AND t.status IN ('planned', 'in_progress'), false) AS overdue,
                    t.supervised, t.due_date::text AS due_date, t.visibility
             FROM tasks t) m",
    )
    .bind(z as i32)
    .bind(x as i32)
    .bind(y as i32)
    .fetch_one(&app.db)
    .await
    .unwrap();
    listing(&reference, z, x, y).await
}

/// Each ring of a WKT polygon listing begun at its least vertex, keeping its direction, and the parts
/// of a multipolygon in order: PostGIS's Wagyu clip begins a ring where its sweep meets it and
/// orders the parts by it, the service keeps the task's own order.
fn rings_from_least_vertex(listing: &str) -> String {
    listing
        .lines()
        .map(|l| {
            if !l.trim_start().starts_with("POLYGON") && !l.trim_start().starts_with("MULTIPOLYGON") {
                return l.to_owned();
            }
            let mut out = String::new();
            let mut rest = l;
            while let Some(open) = rest.find('(') {
                let inner = &rest[open + 1..];
                if inner.starts_with('(') {
                    out.push_str(&rest[..=open]);
                    rest = inner;
                    continue;
                }
                let close = inner.find(')').expect("a ring ends");
                let mut points: Vec<&str> = inner[..close].split(',').collect();
                points.pop(); // the closing repeat of the first
                let least = (0..points.len()).min_by_key(|&i| points[i]).unwrap_or(0);
                points.rotate_left(least);
                let first = points.first().copied().unwrap_or_default();
                out.push_str(&rest[..=open]);
                out.push_str(&points.join(","));
                out.push(',');
                out.push_str(first);
                rest = &inner[close..];
            }
            out.push_str(rest);
            let Some(body) = out.trim_start().strip_prefix("MULTIPOLYGON (").and_then(|b| b.strip_suffix(')')) else {
                return out;
            };
            let (mut parts, mut depth, mut from) = (Vec::new(), 0, 0);
            for (i, c) in body.char_indices() {
                match c {
                    '(' => depth += 1,
                    ')' => depth -= 1,
                    ',' if depth == 0 => {
                        parts.push(&body[from..i]);
                        from = i + 1;
                    }
                    _ => {}
                }
            }
            parts.push(&body[from..]);
            parts.sort_unstable();
            format!("  MULTIPOLYGON ({})", parts.join(","))
        })
        .collect::<Vec<_>>()
        .join("\n")
}

#[tokio::test]
async fn tasks_inside_a_tile_are_placed_as_postgis_places_them() {
    let app = spawn_app().await;
    let z = 15;
    let (x, y) = tile_of(119.85, 30.8, z);
    let (lon, lat) = (|fx: f64| lon_lat(z, x, y, fx, 0.0).0, |fy: f64| lon_lat(z, x, y, 0.0, fy).1);
    let at = |fx: f64, fy: f64| wkt_at(z, x, y, fx, fy);
    let ring = |pts: &[(f64, f64)]| {
        let mut v: Vec<String> = pts.iter().map(|&(a, b)| at(a, b)).collect();
        v.push(v[0].clone());
        format!("({})", v.join(", "))
    };
    let u = 1.0 / 4096.0; // one tile unit
    // Shapes wholly inside the tile: vertices closer than half a unit, one a tenth of a unit off a
    // straight run, rings given either way round, a hole, parts that collapse.
    let shapes = [
        format!(
            "LINESTRING({}, {}, {}, {}, {}, {})",
            at(0.1, 0.1),
            at(0.1 + 0.2 * u, 0.1),
            at(0.3, 0.1 + 0.1 * u),
            at(0.5, 0.1),
            at(0.5, 0.4),
            at(0.62, 0.43)
        ),
        format!(
            "POLYGON({}, {})",
            ring(&[(0.2, 0.5), (0.2, 0.8), (0.45, 0.8), (0.45, 0.5)]),
            ring(&[(0.25, 0.55), (0.3, 0.55), (0.3, 0.6), (0.25, 0.6)])
        ),
        format!("POLYGON({})", ring(&[(0.6, 0.6), (0.7, 0.6), (0.72, 0.7), (0.65, 0.75)])),
        format!(
            "MULTIPOLYGON(({}), ({}), ({}))",
            ring(&[(0.8, 0.1), (0.9, 0.1), (0.9, 0.2)]),
            ring(&[(0.8, 0.3), (0.8, 0.4), (0.9, 0.35)]),
            ring(&[(0.85, 0.9), (0.85 + 0.3 * u, 0.9), (0.85, 0.9 + 0.3 * u)])
        ),
        format!(
            "MULTILINESTRING(({}, {}), ({}, {}, {}))",
            at(0.05, 0.9),
            at(0.15, 0.95),
            at(0.5, 0.9),
            at(0.55, 0.92),
            at(0.6, 0.9)
        ),
        format!("MULTIPOINT(({}), ({}), ({}))", at(0.7, 0.2), at(0.7 + 0.1 * u, 0.2), at(0.75, 0.25)),
        format!("LINESTRING({}, {})", at(0.3, 0.3), at(0.3 + 0.3 * u, 0.3 + 0.2 * u)),
    ];
    for (i, wkt) in shapes.iter().enumerate() {
        sqlx::query(
            "INSERT INTO tasks (title, category, geom) VALUES ('shape ' || $1, 'watershed', ST_GeomFromText($2, 4326))",
        )
        .bind(i as i32)
        .bind(wkt)
        .execute(&app.db)
        .await
        .unwrap();
    }
    // Points over the tile and around it, past its buffer, at arbitrary fractions of a unit.
    sqlx::query(
        "INSERT INTO tasks (title, category, geom)
         SELECT 'point ' || i, 'chemical', ST_SetSRID(ST_MakePoint($1 + ($2 - $1) * (-0.05 + 1.1 * ((i * 0.618034) % 1)),
                                                   $3 + ($4 - $3) * (-0.05 + 1.1 * ((i * 0.754877) % 1))), 4326)
         FROM generate_series(1, 300) AS i",
    )
    .bind(lon(0.0))
    .bind(lon(1.0))
    .bind(lat(1.0))
    .bind(lat(0.0))
    .execute(&app.db)
    .await
    .unwrap();

    for (z, x, y) in [(z, x, y), (z - 2, x / 4, y / 4), (z + 2, x * 4 + 1, y * 4 + 1)] {
        let ours = features(&rings_from_least_vertex(&our_listing(&app, z, x, y).await));
        let theirs = features(&rings_from_least_vertex(&reference_listing(&app, z, x, y).await));
        assert!(ours.1.len() > 10, "zoom {z}: {} features", ours.1.len());
        let only = |a: &[String], b: &[String]| a.iter().filter(|f| !b.contains(f)).cloned().collect::<Vec<_>>();
        assert_eq!(only(&ours.1, &theirs.1), only(&theirs.1, &ours.1), "zoom {z}: features drawn apart");
        assert_eq!(ours, theirs, "zoom {z}");
    }
    let ours = our_listing(&app, z, x, y).await;
    assert!(ours.contains("MULTIPOLYGON") && ours.contains("MULTILINESTRING"), "{ours}");
}

/// `n` tasks spread over the western township, written in one statement through the triggers.
async fn many_tasks(app: &TestApp, n: i32, visibility: &str) {
    sqlx::query(
        "INSERT INTO tasks (title, category, geom, visibility)
         SELECT 'task ' || i, (ARRAY['watershed', 'chemical', 'energy', 'village'])[1 + i % 4],
                ST_SetSRID(ST_MakePoint(119.81 + (i % 97) * 0.0007, 30.71 + (i / 97) * 0.0007), 4326), $2
         FROM generate_series(1, $1) AS i",
    )
    .bind(n)
    .bind(visibility)
    .execute(&app.db)
    .await
    .unwrap();
}

#[tokio::test]
async fn crowded_low_zoom_tiles_hold_clusters_that_count_every_visible_task() {
    let app = spawn_app().await;
    many_tasks(&app, 2700, "public").await;
    many_tasks(&app, 300, "internal").await;

    let anon = tile(&app.anonymous(), 119.85, 30.75, 10).await;
    assert!(
        anon.contains("cluster (Integer) = 1") || anon.contains("cluster (Integer(Boolean)) = 1"),
        "{}",
        &anon[..anon.len().min(3000)]
    );
    assert_eq!(values(&anon, "count").iter().sum::<i64>(), 2700);
    let staff = tile(&app, 119.85, 30.75, 10).await;
    assert_eq!(values(&staff, "count").iter().sum::<i64>(), 3000);
    assert_eq!(values(&staff, "planned").iter().sum::<i64>(), 3000);

    // Edits move tasks between cells and counts: a task taken out of public view leaves the public count.
    sqlx::query("UPDATE tasks SET visibility = 'internal' WHERE title IN ('task 1', 'task 2')")
        .execute(&app.db)
        .await
        .unwrap();
    sqlx::query("UPDATE tasks SET status = 'in_progress' WHERE title = 'task 3' AND visibility = 'public'")
        .execute(&app.db)
        .await
        .unwrap();
    let anon = tile(&app.anonymous(), 119.85, 30.75, 10).await;
    assert_eq!(values(&anon, "count").iter().sum::<i64>(), 2698);
    assert_eq!(values(&anon, "in_progress").iter().sum::<i64>(), 1);

    // Deeper, the same tasks are drawn one by one.
    let z16 = tile(&app.anonymous(), 119.81, 30.71, 16).await;
    assert!(z16.contains("OGRFeature(tasks)") && !z16.contains("count (Integer)"), "{z16}");
}

#[tokio::test]
async fn a_crowded_zoom_14_tile_holds_clusters_and_zoom_15_single_tasks() {
    let app = spawn_app().await;
    // 52 × 52 tasks 25 m apart, all inside one zoom-14 tile (about 2.1 × 1.9 km here).
    let (x, y) = tile_of(119.85, 30.75, 14);
    let n = f64::from(1u32 << 14);
    let west = f64::from(x) / n * 360.0 - 180.0;
    let north = (std::f64::consts::PI * (1.0 - 2.0 * f64::from(y) / n)).sinh().atan().to_degrees();
    sqlx::query(
        "INSERT INTO tasks (title, category, geom)
         SELECT 'task ' || i, (ARRAY['watershed', 'chemical', 'energy', 'village'])[1 + i % 4],
                ST_SetSRID(ST_MakePoint($1 + 0.002 + (i % 52) * 0.00025, $2 - 0.002 - (i / 52) * 0.00025), 4326)
         FROM generate_series(0, 2703) AS i",
    )
    .bind(west)
    .bind(north)
    .execute(&app.db)
    .await
    .unwrap();
    let (lon, lat) = (west + 0.008, north - 0.008);
    let z14 = tile(&app.anonymous(), lon, lat, 14).await;
    assert!(z14.contains("cluster (Integer"), "{}", &z14[..z14.len().min(2000)]);
    assert_eq!(values(&z14, "count").iter().sum::<i64>(), 2704);
    assert_eq!(values(&z14, "planned").iter().sum::<i64>(), 2704);
    let z15 = tile(&app.anonymous(), lon, lat, 15).await;
    assert!(z15.contains("code (String) = ") && !z15.contains("count (Integer)"), "{}", &z15[..z15.len().min(2000)]);
}

#[tokio::test]
async fn tiles_are_cached_by_etag_and_refuse_bad_addresses() {
    let app = spawn_app().await;
    app.create(&task_at(point(119.85, 30.8), json!({}))).await;
    let anon = app.anonymous();
    let (x, y) = tile_of(119.85, 30.8, 14);
    let path = format!("/tiles/tasks/14/{x}/{y}.mvt");
    let first = anon.get(&path).await;
    assert_eq!(first.headers()[header::CACHE_CONTROL], "public, max-age=60");
    let etag = first.headers()[header::ETAG].to_str().unwrap().to_owned();
    let again = anon.request(reqwest::Method::GET, &path).header(header::IF_NONE_MATCH, &etag).send().await.unwrap();
    assert_eq!(again.status(), StatusCode::NOT_MODIFIED);
    assert_eq!(app.get(&path).await.headers()[header::CACHE_CONTROL], "private, no-cache");

    for (bad, status, says) in [
        ("/tiles/tasks/23/0/0.mvt", StatusCode::BAD_REQUEST, "zoom '23'"),
        ("/tiles/tasks/14/1/1.png", StatusCode::BAD_REQUEST, "{y}.mvt"),
        ("/tiles/tasks/14/-1/1.mvt", StatusCode::BAD_REQUEST, "tile x '-1'"),
        ("/tiles/tasks/2/4/0.mvt", StatusCode::NOT_FOUND, "no tile x 4 at zoom 2"),
        ("/tiles/tasks/0/0/1.mvt", StatusCode::NOT_FOUND, "no tile y 1 at zoom 0"),
    ] {
        let p = problem(anon.get(bad).await, status).await;
        assert!(p["detail"].as_str().unwrap().contains(says), "{bad}: {p}");
    }
}

#[tokio::test]
async fn tilejson_points_at_the_tiles_and_the_county() {
    let app = spawn_app().await;
    let tj: Value = app.anonymous().get("/tiles/tasks.json").await.json().await.unwrap();
    assert_eq!(tj["tilejson"], "3.0.0");
    assert_eq!(tj["tiles"][0], format!("{}/tiles/tasks/{{z}}/{{x}}/{{y}}.mvt", app.base));
    assert_eq!(tj["bounds"], json!([119.8, SOUTH, 120.1, NORTH]));
    assert_eq!(tj["vector_layers"][0]["id"], "tasks");
    assert!(tj["vector_layers"][0]["fields"]["category"].is_string());
}
