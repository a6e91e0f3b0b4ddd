//! Thousands of generated requests per run — GeoJSON bodies, query strings, multipart reports —
//! from a seeded generator against the real service: no answer may be a 5xx, and every 4xx must be
//! a problem+json document. The seed is printed; `GREENLEDGER_FUZZ_SEED=<seed>` replays a run and
//! `GREENLEDGER_FUZZ_CASES=<n>` changes its size.

use std::sync::Arc;

use crate::helpers::*;
use reqwest::{Method, header};
use serde_json::{Map, Value, json};

/// SplitMix64: small, fast and the same on every machine, which is all a replayable run needs.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }

    fn chance(&mut self, percent: u64) -> bool {
        self.next() % 100 < percent
    }

    fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[self.below(items.len())]
    }
}

const STRINGS: &[&str] = &[
    "",
    " ",
    "青溪河清淤",
    "\u{0}",
    "a\u{0}b",
    "\u{7}",
    "\u{1b}[31m",
    "\u{feff}",
    "\u{202e}abc",
    "😀",
    "\\",
    "\"",
    "'; DROP TABLE tasks; --",
    "%00",
    "null",
    "1e309",
    "-0",
    "2026-02-30",
    "2026-13-01",
    "9999-12-31",
    "0000-01-01",
    "planned",
    "energy",
    "watershed",
    "330599101",
    "330599101,",
    ",",
    "start",
    "complete",
    "verify",
    "return",
    "public",
    "internal",
    "true",
    "NaN",
    "Infinity",
    "../../etc/passwd",
    "<script>alert(1)</script>",
];

const NUMBERS: &[f64] = &[
    0.0,
    -0.0,
    1.0,
    -1.0,
    0.5,
    100.0,
    101.0,
    -180.0,
    180.0,
    180.0001,
    -90.0,
    90.0,
    90.5,
    119.95,
    30.8,
    1e15,
    -1e15,
    1e300,
    -1e300,
    5e-324,
    4294967296.0,
    9007199254740993.0,
    12345.678,
];

/// Member names besides the task's own writable properties (`greenledger::domain::task::WRITABLE`).
const OTHER_KEYS: &[&str] =
    &["code", "version", "id", "type", "geometry", "properties", "coordinates", "crs", "bbox", "features", "\u{0}", ""];

/// A member name: mostly one the service knows, sometimes one it does not.
fn key(rng: &mut Rng) -> String {
    let keys = if rng.chance(60) { greenledger::domain::task::WRITABLE } else { OTHER_KEYS };
    (*rng.pick(keys)).to_owned()
}

fn scalar(rng: &mut Rng) -> Value {
    match rng.below(6) {
        0 => Value::Null,
        1 => Value::Bool(rng.chance(50)),
        2 => json!(*rng.pick(NUMBERS)),
        3 => json!(rng.next() as i64),
        4 => {
            let n = rng.pick(&[1usize, 201, 5001, 20_000]);
            Value::String(rng.pick(STRINGS).repeat(*n))
        }
        _ => Value::String((*rng.pick(STRINGS)).to_owned()),
    }
}

fn any(rng: &mut Rng, depth: u32) -> Value {
    if depth == 0 || rng.chance(60) {
        return scalar(rng);
    }
    if rng.chance(50) {
        Value::Array((0..rng.below(4)).map(|_| any(rng, depth - 1)).collect())
    } else {
        Value::Object((0..rng.below(4)).map(|_| (key(rng), any(rng, depth - 1))).collect())
    }
}

fn position(rng: &mut Rng) -> Value {
    match rng.below(10) {
        0 => any(rng, 1),
        1 => json!([*rng.pick(NUMBERS)]),
        2 => json!([*rng.pick(NUMBERS), *rng.pick(NUMBERS), *rng.pick(NUMBERS)]),
        3..=5 => json!([*rng.pick(NUMBERS), *rng.pick(NUMBERS)]),
        _ => json!([119.8 + (rng.below(3000) as f64) / 10000.0, 30.7 + (rng.below(3000) as f64) / 10000.0]),
    }
}

fn positions(rng: &mut Rng, closed: bool) -> Value {
    let mut ring: Vec<Value> = (0..rng.below(7)).map(|_| position(rng)).collect();
    if closed && !ring.is_empty() && rng.chance(70) {
        ring.push(ring[0].clone());
    }
    Value::Array(ring)
}

fn geometry(rng: &mut Rng) -> Value {
    let kinds = [
        "Point",
        "MultiPoint",
        "LineString",
        "MultiLineString",
        "Polygon",
        "MultiPolygon",
        "GeometryCollection",
        "Circle",
    ];
    let kind = *rng.pick(&kinds);
    let coordinates = match kind {
        "Point" => position(rng),
        "MultiPoint" | "LineString" => positions(rng, false),
        "MultiLineString" => json!([positions(rng, false), positions(rng, false)]),
        "Polygon" => json!([positions(rng, true)]),
        "MultiPolygon" => json!([[positions(rng, true)], [positions(rng, true), positions(rng, true)]]),
        _ => any(rng, 2),
    };
    let mut g = json!({"type": kind, "coordinates": coordinates});
    if rng.chance(10) {
        g["crs"] = any(rng, 2);
    }
    if rng.chance(5) {
        g = any(rng, 3);
    }
    g
}

/// A task Feature: mostly valid, with some members replaced, removed or added.
fn feature(rng: &mut Rng) -> Value {
    let mut props: Map<String, Value> =
        json!({"title": "青溪河清淤", "category": "watershed"}).as_object().unwrap().clone();
    for _ in 0..rng.below(5) {
        let key = key(rng);
        if rng.chance(20) {
            props.remove(&key);
        } else {
            props.insert(key, any(rng, 2));
        }
    }
    let mut f = json!({"type": "Feature", "geometry": geometry(rng), "properties": props});
    if rng.chance(10) {
        let k = key(rng);
        f[k] = any(rng, 2);
    }
    f
}

/// A generated Feature as body text.
fn feature_text(rng: &mut Rng) -> Vec<u8> {
    let f = feature(rng);
    body_text(rng, &f)
}

/// The text of a body: JSON, sometimes cut, flipped or given escapes serde_json refuses.
fn body_text(rng: &mut Rng, v: &Value) -> Vec<u8> {
    let mut text = v.to_string().into_bytes();
    match rng.below(12) {
        0 if !text.is_empty() => text.truncate(rng.below(text.len())),
        1 if !text.is_empty() => {
            let i = rng.below(text.len());
            text[i] = (rng.next() & 0xFF) as u8;
        }
        2 => text = String::from_utf8_lossy(&text).replacen("青溪河清淤", "\\ud800\\u0000", 1).into_bytes(),
        3 => text.extend_from_slice(&[0xFF, 0xFE]),
        _ => {}
    }
    text
}

const PARAMS: &[&str] = &[
    "bbox",
    "category",
    "status",
    "township",
    "overdue",
    "supervised",
    "q",
    "limit",
    "offset",
    "from",
    "to",
    "datetime",
    "f",
    "coords",
    "mode",
    "outside",
    "title",
    "unknown",
];

const VALUES: &[&str] = &[
    "",
    "0",
    "-1",
    "10001",
    "1e3",
    "99999999999999999999",
    "true",
    "false",
    "yes",
    "energy",
    "energy,,watershed",
    "planned,bogus",
    "330599101",
    "119.8,30.7,120.1,31.0",
    "120.1,31.0,119.8,30.7",
    "1,2,3",
    "nan,nan,nan,nan",
    "2026-01-01",
    "2026-01-01/..",
    "../2026-12-31",
    "2026-02-30",
    "json",
    "html",
    "gcj02",
    "bd09",
    "wgs84",
    "all",
    "partial",
    "accept",
    "%00",
    "%FF",
    "%E9%9D%92",
    "%C3",
    "%ED%A0%80",
    "a+b",
    "%25",
    "&",
    "=",
];

/// Bytes no text may hold, as a query string writes them: NUL, a lone continuation byte, a cut
/// sequence, an encoded surrogate.
const NOT_TEXT: &[&str] = &["%00", "%FF", "%C3%28", "%ED%A0%80", "%E9%9D"];

fn query(rng: &mut Rng) -> String {
    (0..rng.below(5))
        .map(|_| {
            let mut value = (0..1 + rng.below(2)).map(|_| *rng.pick(VALUES)).collect::<Vec<_>>().join(",");
            if rng.chance(30) {
                let i = rng.below(NOT_TEXT.len());
                value.push_str(NOT_TEXT[i]);
            }
            format!("{}={value}", rng.pick(PARAMS))
        })
        .collect::<Vec<_>>()
        .join("&")
}

/// Fixed context: tasks to edit and report on, and the callers.
struct Target {
    bureau: Caller,
    township: Caller,
    task: String,
}

/// One generated request: method, path, content type and body (and whether it is a report).
fn request(rng: &mut Rng, t: &Target) -> (Method, String, Option<&'static str>, Vec<u8>, bool) {
    let id = &t.task;
    let q = query(rng);
    match rng.below(9) {
        0 | 1 => (Method::POST, format!("/api/tasks?{q}"), Some("application/geo+json"), feature_text(rng), false),
        2 => (Method::PATCH, format!("/api/tasks/{id}?{q}"), Some("application/geo+json"), feature_text(rng), false),
        3 => {
            let features: Vec<Value> = (0..rng.below(4)).map(|_| feature(rng)).collect();
            let doc = json!({"type": "FeatureCollection", "features": features});
            (Method::POST, format!("/api/import?{q}"), Some("application/geo+json"), body_text(rng, &doc), false)
        }
        4 => (
            Method::POST,
            format!("/ogc/collections/tasks/items?{q}"),
            Some("application/geo+json"),
            feature_text(rng),
            false,
        ),
        5 => {
            let body = json!({"action": any(rng, 1), "reason": scalar(rng)});
            (
                Method::POST,
                format!("/api/tasks/{id}/transitions"),
                Some("application/json"),
                body_text(rng, &body),
                false,
            )
        }
        6 => (Method::POST, format!("/api/tasks/{id}/reports"), None, Vec::new(), true),
        _ => {
            let paths = [
                "/api/tasks",
                "/api/rollups/townships",
                "/api/rollups/monthly",
                "/api/rollups/townships.geojson",
                "/ogc/collections/tasks/items",
                "/api/export/tasks.csv",
                "/api/export/tasks.geojson",
            ];
            (Method::GET, format!("{}?{q}", rng.pick(&paths)), None, Vec::new(), false)
        }
    }
}

/// A multipart report with generated fields and parts.
fn report_form(rng: &mut Rng) -> reqwest::multipart::Form {
    let mut form = reqwest::multipart::Form::new();
    for _ in 0..rng.below(5) {
        let name = *rng.pick(&["progress", "note", "action", "photo", "photos", "other", ""]);
        let bytes: Vec<u8> = match rng.below(4) {
            0 => rng.pick(STRINGS).as_bytes().to_vec(),
            1 => (0..rng.below(64)).map(|_| (rng.next() & 0xFF) as u8).collect(),
            2 => jpeg((rng.next() & 0xFF) as u8, 200),
            _ => rng.pick(VALUES).as_bytes().to_vec(),
        };
        let mut part = reqwest::multipart::Part::bytes(bytes);
        if rng.chance(40) {
            part = part.file_name(rng.pick(STRINGS).replace('\u{0}', "x"));
        }
        form = form.part(name, part);
    }
    form
}

/// Sends one request and returns a finding, if any.
async fn probe(t: &Target, rng: &mut Rng) -> Option<String> {
    let (method, path, content_type, body, report) = request(rng, t);
    let caller = if report && rng.chance(50) { &t.township } else { &t.bureau };
    let mut req = caller.request(method.clone(), &path);
    if rng.chance(70) {
        req = req.header(header::IF_MATCH, *rng.pick(&["\"v1\"", "\"v2\"", "*", "W/\"v1\"", "v1"]));
    }
    if rng.chance(50) {
        req = req.header("idempotency-key", new_key());
    }
    req = if report {
        req.multipart(report_form(rng))
    } else {
        let req = match content_type {
            Some(ct) => req.header(header::CONTENT_TYPE, ct),
            None => req,
        };
        req.body(body)
    };
    let res = req.send().await.unwrap();
    let status = res.status();
    let ct = res.headers().get(header::CONTENT_TYPE).map(|v| v.to_str().unwrap_or("").to_owned()).unwrap_or_default();
    if status.is_server_error() {
        return Some(format!("{method} {path} -> {status}: {}", res.text().await.unwrap_or_default()));
    }
    if status.is_client_error() && ct != "application/problem+json" {
        return Some(format!("{method} {path} -> {status} as '{ct}'"));
    }
    None
}

#[tokio::test]
async fn generated_requests_never_get_a_5xx_and_every_4xx_is_a_problem_document() {
    let seed = std::env::var("GREENLEDGER_FUZZ_SEED").ok().and_then(|s| s.parse().ok()).unwrap_or_else(|| {
        std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_nanos() as u64
    });
    let cases: usize = std::env::var("GREENLEDGER_FUZZ_CASES").ok().and_then(|s| s.parse().ok()).unwrap_or(6000);
    println!("fuzz: seed {seed} ({cases} cases; replay with GREENLEDGER_FUZZ_SEED={seed})");
    let app = spawn_app().await;
    let (task, _, _) = app.create(&task_at(point(119.95, 30.8), json!({}))).await;
    let target =
        Arc::new(Target { bureau: app.bureau.clone(), township: app.login(&format!("township-{MIDDLE}")).await, task });
    // Four streams side by side, each from its own seed derived from the run's.
    let workers = (0..4u64).map(|w| {
        let target = target.clone();
        tokio::spawn(async move {
            let mut rng = Rng(seed ^ w.wrapping_mul(0xA24B_AED4_963E_E407));
            let mut findings = Vec::new();
            for _ in 0..cases / 4 {
                findings.extend(probe(&target, &mut rng).await);
            }
            findings
        })
    });
    let findings: Vec<String> =
        futures_util::future::join_all(workers).await.into_iter().flat_map(|r| r.unwrap()).collect();
    assert!(
        findings.is_empty(),
        "seed {seed}: {} findings, first ones:\n{}",
        findings.len(),
        findings[..findings.len().min(10)].join("\n")
    );
}
