//! The one test helper: every test gets the real service on a loopback port over its own fresh
//! PostGIS database, cloned from a migrated template with a small fixture county.

use std::sync::atomic::{AtomicUsize, Ordering};

use greenledger::store::{DbConfig, MIGRATOR};
use greenledger::{AppState, ServerConfig};
use reqwest::{Response, StatusCode, header};
use serde_json::{Value, json};
use sqlx::{Connection, Executor, PgConnection, PgPool};

/// Fixture townships: three 0.1° × 0.3° strips side by side, so shares of a line or an area can be
/// worked out by hand. West to east: a subdistrict, a town, a development zone.
pub const WEST: &str = "330599001";
pub const MIDDLE: &str = "330599101";
pub const EAST: &str = "330599401";
/// (code, name, kind, west edge, east edge): edges written out, as 119.8 + 0.1 != 119.9 in floating point.
const FIXTURE: &[(&str, &str, &str, f64, f64)] = &[
    (WEST, "城东街道", "subdistrict", 119.8, 119.9),
    (MIDDLE, "青溪镇", "town", 119.9, 120.0),
    (EAST, "清源经济开发区", "development_zone", 120.0, 120.1),
];
pub const PASSWORD: &str = "greenledger-demo";
pub const SOUTH: f64 = 30.7;
pub const NORTH: f64 = 31.0;

fn server_url() -> String {
    std::env::var("GREENLEDGER_TEST_DB")
        .or_else(|_| std::env::var("DATABASE_URL"))
        .expect("set GREENLEDGER_TEST_DB to a PostgreSQL server URL with PostGIS (`make test` does)")
        .trim_end_matches('/')
        .to_owned()
}

fn without_database(url: &str) -> String {
    // postgres://user@host:port[/db][?params] -> the same server, no database.
    let (base, query) = url.split_once('?').map_or((url, None), |(b, q)| (b, Some(q)));
    let after_scheme = base.find("://").map_or(0, |i| i + 3);
    let base = match base[after_scheme..].find('/') {
        Some(i) => &base[..after_scheme + i],
        None => base,
    };
    query.map_or(base.to_owned(), |q| format!("{base}?{q}"))
}

/// The URL of database `db` on the test server.
pub fn url_for(db: &str) -> String {
    let server = without_database(&server_url());
    match server.split_once('?') {
        Some((b, q)) => format!("{b}/{db}?{q}"),
        None => format!("{server}/{db}"),
    }
}

const TEMPLATE: &str = "greenledger_test_template";

/// Builds the template once per change of the migrations, under an advisory lock so parallel test
/// processes wait for one builder.
async fn ensure_template(admin: &mut PgConnection) {
    let fingerprint: String =
        MIGRATOR.iter().map(|m| format!("{}:{}", m.version, hex(&m.checksum))).collect::<Vec<_>>().join(",")
            + "|fixture-v3";
    admin.execute("SELECT pg_advisory_lock(7411)").await.unwrap();
    let current: Option<String> =
        sqlx::query_scalar("SELECT shobj_description(oid, 'pg_database') FROM pg_database WHERE datname = $1")
            .bind(TEMPLATE)
            .fetch_optional(&mut *admin)
            .await
            .unwrap()
            .flatten();
    if current.as_deref() != Some(fingerprint.as_str()) {
        admin.execute(format!("DROP DATABASE IF EXISTS {TEMPLATE} WITH (FORCE)").as_str()).await.unwrap();
        admin.execute(format!("CREATE DATABASE {TEMPLATE}").as_str()).await.unwrap();
        {
            let mut conn = PgConnection::connect(&url_for(TEMPLATE)).await.unwrap();
            MIGRATOR.run(&mut conn).await.expect("migrations apply to an empty database");
            for (code, name, kind, west, east) in FIXTURE {
                sqlx::query(
                    "INSERT INTO townships (code, name, kind, boundary)
                     VALUES ($1, $2, $3, ST_Multi(ST_MakeEnvelope($4, $5, $6, $7, 4326)))",
                )
                .bind(code)
                .bind(name)
                .bind(kind)
                .bind(west)
                .bind(SOUTH)
                .bind(east)
                .bind(NORTH)
                .execute(&mut conn)
                .await
                .unwrap();
            }
            conn.close().await.unwrap();
            // The demo accounts (admin, bureau, township-<code>), hashed once for every test.
            let pool = DbConfig::new(url_for(TEMPLATE)).pool().unwrap();
            greenledger::seed::demo_accounts(&pool, PASSWORD).await.unwrap();
            pool.close().await;
        }
        admin.execute(format!("COMMENT ON DATABASE {TEMPLATE} IS '{fingerprint}'").as_str()).await.unwrap();
    }
    admin.execute("SELECT pg_advisory_unlock(7411)").await.unwrap();
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

static COUNTER: AtomicUsize = AtomicUsize::new(0);

/// The tests' HTTP client. It asks for English (`Accept-Language: en`), as most tests read the
/// service's English details; the service answers in Chinese otherwise (see `Caller::unworded`).
pub fn english_client() -> reqwest::Client {
    let mut headers = header::HeaderMap::new();
    headers.insert(header::ACCEPT_LANGUAGE, header::HeaderValue::from_static("en"));
    reqwest::Client::builder().default_headers(headers).build().unwrap()
}

/// Someone calling the API: anonymous, or logged in with a session cookie (sent with our own
/// Origin, as the web app's requests are).
#[derive(Clone)]
pub struct Caller {
    pub base: String,
    pub client: reqwest::Client,
    pub cookie: Option<String>,
}

impl Caller {
    /// The same caller with a client that names no language, as a plain `curl` would: the service
    /// then answers in Chinese.
    pub fn unworded(&self) -> Caller {
        Caller { client: reqwest::Client::new(), ..self.clone() }
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{}", self.base, path)
    }

    pub fn request(&self, method: reqwest::Method, path: &str) -> reqwest::RequestBuilder {
        let mut req = self.client.request(method, self.url(path));
        if let Some(cookie) = &self.cookie {
            req = req.header(header::COOKIE, cookie).header(header::ORIGIN, &self.base);
        }
        req
    }

    pub async fn get(&self, path: &str) -> Response {
        self.request(reqwest::Method::GET, path).send().await.unwrap()
    }

    /// Sends `body` as JSON, with an If-Match when `etag` is given.
    pub async fn send_json(&self, method: reqwest::Method, path: &str, etag: Option<&str>, body: &Value) -> Response {
        let mut req = self.request(method, path).header(header::CONTENT_TYPE, "application/geo+json");
        if let Some(etag) = etag {
            req = req.header(header::IF_MATCH, etag);
        }
        req.body(body.to_string()).send().await.unwrap()
    }

    pub async fn post(&self, path: &str, body: &Value) -> Response {
        self.send_json(reqwest::Method::POST, path, None, body).await
    }

    pub async fn patch(&self, path: &str, etag: &str, body: &Value) -> Response {
        self.send_json(reqwest::Method::PATCH, path, Some(etag), body).await
    }

    /// POST with an If-Match (transitions, JSON reports).
    pub async fn post_if_match(&self, path: &str, etag: &str, body: &Value) -> Response {
        self.send_json(reqwest::Method::POST, path, Some(etag), body).await
    }

    /// Creates a task and returns (id, etag, feature); panics unless the answer is 201.
    pub async fn create(&self, feature: &Value) -> (String, String, Value) {
        let res = self.post("/api/tasks", feature).await;
        let status = res.status();
        let etag = res.headers().get(header::ETAG).map(|v| v.to_str().unwrap().to_owned());
        let body: Value = res.json().await.unwrap();
        assert_eq!(status, StatusCode::CREATED, "{body}");
        (body["id"].as_str().unwrap().to_owned(), etag.expect("an ETag"), body)
    }

    /// The task's current ETag.
    pub async fn etag(&self, id: &str) -> String {
        let res = self.get(&format!("/api/tasks/{id}")).await;
        assert_eq!(res.status(), StatusCode::OK);
        res.headers()[header::ETAG].to_str().unwrap().to_owned()
    }
}

pub struct TestApp {
    pub base: String,
    pub db: PgPool,
    pub client: reqwest::Client,
    /// Logged in as the demo bureau account: what most tests act as.
    pub bureau: Caller,
    pub data_dir: std::path::PathBuf,
    /// The test's own database (dropped with the app; empty for an app over another's database).
    pub db_name: String,
}

impl std::ops::Deref for TestApp {
    type Target = Caller;
    fn deref(&self) -> &Caller {
        &self.bureau
    }
}

/// Starts the service over a fresh database holding the fixture county and demo accounts.
pub async fn spawn_app() -> TestApp {
    spawn_app_with(|_| {}).await
}

/// `spawn_app` with the database configuration changed by `configure` (e.g. the county's tolerance).
pub async fn spawn_app_with(configure: impl FnOnce(&mut DbConfig)) -> TestApp {
    spawn_app_configured(configure, |_| {}).await
}

/// [`spawn_app`] with settings of the server changed by `tweak` (e.g. a metrics token).
pub async fn spawn_app_serving(tweak: impl FnOnce(&mut ServerConfig)) -> TestApp {
    spawn_app_configured(|_| {}, tweak).await
}

async fn spawn_app_configured(configure: impl FnOnce(&mut DbConfig), tweak: impl FnOnce(&mut ServerConfig)) -> TestApp {
    let mut admin = PgConnection::connect(&url_for("postgres")).await.expect("the test PostgreSQL server answers");
    ensure_template(&mut admin).await;
    let db_name = format!("gl_test_{}_{}", std::process::id(), COUNTER.fetch_add(1, Ordering::SeqCst));
    admin.execute(format!("CREATE DATABASE {db_name} TEMPLATE {TEMPLATE} STRATEGY FILE_COPY").as_str()).await.unwrap();
    admin.close().await.unwrap();
    let mut config = DbConfig { db_connections: 8, ..DbConfig::new(url_for(&db_name)) };
    configure(&mut config);
    let mut app = spawn_served(config, db_name, tweak).await;
    app.bureau = app.login("bureau").await;
    app
}

/// Starts the service against a database of its own with its settings changed by `tweak`.
pub async fn spawn_with_serving(config: DbConfig, db_name: String, tweak: impl FnOnce(&mut ServerConfig)) -> TestApp {
    spawn_served(config, db_name, tweak).await
}

/// Starts the service against any database configuration (e.g. an unreachable one).
pub async fn spawn_with(config: DbConfig, db_name: String) -> TestApp {
    spawn_served(config, db_name, |_| {}).await
}

/// The page the tests are served is the one a county gets: the modules combined into web/dist/
/// (scripts/build-web.sh, which does nothing when that is up to date), built once per run.
fn web_built() {
    static BUILT: std::sync::Once = std::sync::Once::new();
    BUILT.call_once(|| {
        let out = std::process::Command::new("scripts/build-web.sh").output().expect("scripts/build-web.sh runs");
        assert!(out.status.success(), "scripts/build-web.sh: {}", String::from_utf8_lossy(&out.stderr));
    });
}

/// esbuild's account of web/dist (scripts/build-web.sh): which file each module became.
pub fn web_bundle() -> Value {
    web_built();
    serde_json::from_slice(&std::fs::read("web/dist/meta.json").unwrap()).unwrap()
}

/// The combined file (`dist/…`) that holds the module `entry` (`js/editor.js`).
pub fn combined_file_of(entry: &str) -> String {
    let meta = web_bundle();
    let outputs = meta["outputs"].as_object().unwrap();
    outputs
        .iter()
        .find(|(_, o)| o["entryPoint"] == entry)
        .map(|(k, _)| k.clone())
        .expect("a combined file for the module")
}

async fn spawn_served(config: DbConfig, db_name: String, tweak: impl FnOnce(&mut ServerConfig)) -> TestApp {
    let db = config.pool().unwrap();
    let data_dir = std::env::temp_dir().join(format!(
        "greenledger-test-{}-{}",
        std::process::id(),
        COUNTER.fetch_add(1, Ordering::SeqCst)
    ));
    web_built();
    let mut server = ServerConfig::new("127.0.0.1:0".parse().unwrap(), "web", &data_dir);
    tweak(&mut server);
    let listener = tokio::net::TcpListener::bind(server.addr).await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let app = greenledger::app(AppState::new(db.clone(), &server, &config.timezone).unwrap(), &server);
    tokio::spawn(async move {
        axum::serve(listener, app.into_make_service_with_connect_info::<std::net::SocketAddr>()).await
    });
    let client = english_client();
    let anonymous = Caller { base: base.clone(), client: client.clone(), cookie: None };
    TestApp { base, db, client, bureau: anonymous, data_dir, db_name }
}

impl Drop for TestApp {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.data_dir);
        if self.db_name.is_empty() {
            return;
        }
        drop_database(std::mem::take(&mut self.db_name));
    }
}

/// Drops a test database, from a `Drop`: that runs inside the test's runtime, which cannot block
/// on itself, so the work happens on a thread of its own.
pub fn drop_database(name: String) {
    let _ = std::thread::spawn(move || {
        let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
        rt.block_on(async {
            if let Ok(mut admin) = PgConnection::connect(&url_for("postgres")).await {
                let _ = admin.execute(format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)").as_str()).await;
            }
        });
    })
    .join();
}

impl TestApp {
    /// The URL of this app's database, for running the command line against it.
    pub fn database_url(&self) -> String {
        url_for(&self.db_name)
    }

    pub fn anonymous(&self) -> Caller {
        Caller { base: self.base.clone(), client: self.client.clone(), cookie: None }
    }

    /// Logs in a demo account (password `greenledger-demo`) and returns it as a caller.
    pub async fn login(&self, username: &str) -> Caller {
        let res = self
            .client
            .post(format!("{}/api/session", self.base))
            .json(&json!({"username": username, "password": PASSWORD}))
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), StatusCode::OK, "login as {username}");
        let set_cookie = res.headers()[header::SET_COOKIE].to_str().unwrap();
        let cookie = set_cookie.split(';').next().unwrap().to_owned();
        Caller { base: self.base.clone(), client: self.client.clone(), cookie: Some(cookie) }
    }

    pub async fn task_count(&self) -> i64 {
        sqlx::query_scalar("SELECT count(*) FROM tasks").fetch_one(&self.db).await.unwrap()
    }
}
/// A valid task Feature at a point; `extra` properties are merged in.
pub fn task_at(geometry: Value, extra: Value) -> Value {
    let mut props = json!({"title": "青溪河河道清淤", "category": "watershed", "lead_unit": "县水利局"});
    if let (Value::Object(p), Value::Object(e)) = (&mut props, extra) {
        p.extend(e);
    }
    json!({"type": "Feature", "geometry": geometry, "properties": props})
}

pub fn point(lon: f64, lat: f64) -> Value {
    json!({"type": "Point", "coordinates": [lon, lat]})
}

/// Reads a problem+json answer, checking the format and the status; returns the document.
pub async fn problem(res: Response, status: StatusCode) -> Value {
    let got = res.status();
    let content_type = res.headers().get(header::CONTENT_TYPE).map(|v| v.to_str().unwrap().to_owned());
    let body: Value = res.json().await.expect("a JSON problem document");
    assert_eq!(got, status, "{body}");
    assert_eq!(content_type.as_deref(), Some("application/problem+json"));
    assert_eq!(body["status"], status.as_u16());
    assert!(body["type"].as_str().is_some_and(|t| t.starts_with("/problems/")), "{body}");
    assert!(body["detail"].as_str().is_some_and(|d| !d.is_empty()), "{body}");
    body
}

/// The pointers of a problem's `errors`.
pub fn pointers(problem: &Value) -> Vec<String> {
    problem["errors"]
        .as_array()
        .map(|e| e.iter().map(|x| x["pointer"].as_str().unwrap_or("").to_owned()).collect())
        .unwrap_or_default()
}

/// A real JPEG (the service decodes every photo before it keeps it) of exactly `len` bytes when
/// `len` is more than the small picture takes: a 16×16 image drawn from `seed`, then comment
/// segments (which decoders skip) as padding. Distinct seeds give distinct photos.
pub fn jpeg(seed: u8, len: usize) -> Vec<u8> {
    let img = image::RgbImage::from_fn(16, 16, |x, y| {
        image::Rgb([seed, (x as u8).wrapping_mul(16).wrapping_add(seed), (y as u8).wrapping_mul(16)])
    });
    let mut small = Vec::new();
    img.write_with_encoder(image::codecs::jpeg::JpegEncoder::new_with_quality(&mut small, 90)).unwrap();
    let mut out = small[..2].to_vec();
    let mut padding = len.saturating_sub(small.len());
    while padding > 0 {
        // A COM segment: marker, a two-byte length that counts itself, then the text.
        let body = padding.saturating_sub(4).min(65_533);
        if padding < 4 {
            break;
        }
        out.extend_from_slice(&[0xFF, 0xFE]);
        out.extend_from_slice(&((body + 2) as u16).to_be_bytes());
        out.extend((0..body).map(|i| (i as u8).wrapping_mul(31).wrapping_add(seed) | 0x20));
        padding -= body + 4;
    }
    out.extend_from_slice(&small[2..]);
    out
}

impl TestApp {
    /// How many files the service keeps in its data folder (report photos and their public copies).
    pub fn stored_files(&self) -> usize {
        fn walk(dir: &std::path::Path) -> usize {
            std::fs::read_dir(dir)
                .map(|d| d.flatten().map(|e| if e.path().is_dir() { walk(&e.path()) } else { 1 }).sum())
                .unwrap_or(0)
        }
        // The data folder also holds the server's secret key, which is no upload.
        walk(&self.data_dir) - usize::from(self.data_dir.join("secret.key").exists())
    }
}

impl Caller {
    /// Files a report as multipart/form-data: `fields` as text parts, `photos` as files.
    pub async fn report(
        &self,
        id: &str,
        etag: &str,
        key: &str,
        fields: &[(&str, &str)],
        photos: &[(&str, Vec<u8>)],
    ) -> Response {
        let mut form = reqwest::multipart::Form::new();
        for (k, v) in fields {
            form = form.text(k.to_string(), v.to_string());
        }
        for (name, bytes) in photos {
            form = form.part("photo", reqwest::multipart::Part::bytes(bytes.clone()).file_name(name.to_string()));
        }
        self.request(reqwest::Method::POST, &format!("/api/tasks/{id}/reports"))
            .header(header::IF_MATCH, etag)
            .header("idempotency-key", key)
            .multipart(form)
            .send()
            .await
            .unwrap()
    }

    /// A bureau transition.
    pub async fn transition(&self, id: &str, action: &str, reason: Option<&str>) -> Response {
        let etag = self.etag(id).await;
        let mut body = json!({"action": action});
        if let Some(r) = reason {
            body["reason"] = json!(r);
        }
        self.post_if_match(&format!("/api/tasks/{id}/transitions"), &etag, &body).await
    }
}

pub fn new_key() -> String {
    uuid::Uuid::new_v4().to_string()
}

/// What the service logged, as text: a writer for a test's own tracing subscriber.
#[derive(Clone, Default)]
pub struct Log(std::sync::Arc<std::sync::Mutex<Vec<u8>>>);

impl std::io::Write for Log {
    fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(bytes);
        Ok(bytes.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl Log {
    pub fn lines_with(&self, needle: &str) -> Vec<String> {
        self.text().lines().filter(|l| l.contains(needle)).map(str::to_owned).collect()
    }

    pub fn text(&self) -> String {
        String::from_utf8(self.0.lock().unwrap().clone()).unwrap()
    }
}
