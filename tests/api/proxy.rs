//! The nginx configuration of deploy/nginx, run for real with Debian's nginx and a self-signed
//! certificate in front of the service, read by curl as a browser would: HTTPS only, HSTS,
//! Secure session cookies, compressed answers, 60 MB report uploads, tiles that stay cacheable.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::process::{Child, Command};

use crate::helpers::*;
use serde_json::{Value, json};
use sha2::{Digest, Sha256};

/// An answer as curl saw it.
struct Answer {
    status: u16,
    headers: HashMap<String, String>,
    body: Vec<u8>,
}

impl Answer {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).map(String::as_str)
    }
    fn json(&self) -> Value {
        serde_json::from_slice(&self.body).unwrap_or_else(|e| panic!("{e}: {}", String::from_utf8_lossy(&self.body)))
    }
}

/// Debian's nginx serving deploy/nginx/greenledger.conf from a folder of its own, stopped on drop.
struct Nginx {
    dir: PathBuf,
    child: Child,
    https: u16,
    http: u16,
}

impl Drop for Nginx {
    fn drop(&mut self) {
        // SIGTERM, not SIGKILL: the master process stops its workers before it exits.
        let _ = Command::new("kill").args(["-TERM", &self.child.id().to_string()]).status();
        let _ = self.child.wait();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

fn run(cmd: &mut Command) {
    let out = cmd.output().unwrap_or_else(|e| panic!("cannot run {cmd:?}: {e} (scripts/deps.sh test installs it)"));
    assert!(out.status.success(), "{cmd:?}: {}", String::from_utf8_lossy(&out.stderr));
}

/// The repository's site configuration with only what differs on a test machine replaced: the
/// ports, the certificate and the service's address. Each must be found, so a change of the
/// file's shape is noticed here.
fn site(service_port: u16, https: u16, http: u16, dir: &Path) -> String {
    let mut conf = std::fs::read_to_string("deploy/nginx/greenledger.conf").unwrap();
    for (from, to) in [
        ("server 127.0.0.1:8080;", format!("server 127.0.0.1:{service_port};")),
        ("listen 80;", format!("listen 127.0.0.1:{http};")),
        ("listen [::]:80;", String::new()),
        ("listen 443 ssl http2;", format!("listen 127.0.0.1:{https} ssl http2;")),
        ("listen [::]:443 ssl http2;", String::new()),
        ("/etc/ssl/certs/greenledger.pem", dir.join("cert.pem").display().to_string()),
        ("/etc/ssl/private/greenledger.key", dir.join("key.pem").display().to_string()),
    ] {
        assert!(conf.contains(from), "deploy/nginx/greenledger.conf no longer has '{from}'");
        conf = conf.replace(from, &to);
    }
    conf
}

fn start_nginx(service_port: u16) -> Nginx {
    let dir = std::env::temp_dir().join(format!("greenledger-nginx-{}-{}", std::process::id(), new_key()));
    std::fs::create_dir_all(&dir).unwrap();
    run(Command::new("openssl").args(["req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1"]).args([
        "-subj",
        "/CN=127.0.0.1",
        "-addext",
        "subjectAltName=IP:127.0.0.1",
        "-keyout",
        dir.join("key.pem").to_str().unwrap(),
        "-out",
        dir.join("cert.pem").to_str().unwrap(),
    ]));
    let (https, http) = (free_port(), free_port());
    std::fs::write(dir.join("greenledger.conf"), site(service_port, https, http, &dir)).unwrap();
    // Run as root (as the tests are), the workers keep root's rights to the temporary folder.
    let user = if is_root() { "user root;" } else { "" };
    let d = dir.display();
    std::fs::write(
        dir.join("nginx.conf"),
        format!(
            "{user}\nworker_processes 1;\npid {d}/nginx.pid;\nerror_log {d}/error.log;\nevents {{ worker_connections 64; }}\n\
             http {{\n include /etc/nginx/mime.types;\n default_type application/octet-stream;\n access_log {d}/access.log;\n\
             client_body_temp_path {d}/body;\n proxy_temp_path {d}/proxy;\n fastcgi_temp_path {d}/fastcgi;\n\
             uwsgi_temp_path {d}/uwsgi;\n scgi_temp_path {d}/scgi;\n include {d}/greenledger.conf;\n}}\n"
        ),
    )
    .unwrap();
    let args = |extra: &[&str]| {
        let mut c = Command::new("nginx");
        c.args(["-p", dir.to_str().unwrap(), "-c", dir.join("nginx.conf").to_str().unwrap()]);
        c.args(["-e", dir.join("error.log").to_str().unwrap()]).args(extra);
        c
    };
    run(&mut args(&["-t", "-q"]));
    let child = args(&["-g", "daemon off;"]).spawn().unwrap();
    let nginx = Nginx { dir, child, https, http };
    for _ in 0..100 {
        if std::net::TcpStream::connect(("127.0.0.1", https)).is_ok() {
            return nginx;
        }
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    panic!("nginx did not start: {}", std::fs::read_to_string(nginx.dir.join("error.log")).unwrap_or_default());
}

fn is_root() -> bool {
    Command::new("id").arg("-u").output().is_ok_and(|o| o.stdout.starts_with(b"0\n"))
}

impl Nginx {
    fn url(&self, path: &str) -> String {
        format!("https://127.0.0.1:{}{path}", self.https)
    }

    /// curl with the test certificate trusted; `args` add headers, bodies and the method.
    fn curl(&self, path: &str, args: &[&str]) -> Answer {
        let headers = self.dir.join(format!("headers-{}", new_key()));
        let body = self.dir.join(format!("body-{}", new_key()));
        let out = Command::new("curl")
            .args(["-sS", "--cacert", self.dir.join("cert.pem").to_str().unwrap()])
            .args(["-D", headers.to_str().unwrap(), "-o", body.to_str().unwrap(), "-w", "%{http_code}"])
            .args(args)
            .arg(if path.starts_with("http") { path.to_owned() } else { self.url(path) })
            .output()
            .unwrap();
        assert!(out.status.success(), "curl {path}: {}", String::from_utf8_lossy(&out.stderr));
        let text = std::fs::read_to_string(&headers).unwrap();
        let headers = text
            .lines()
            .filter_map(|l| l.split_once(':'))
            .map(|(k, v)| (k.trim().to_ascii_lowercase(), v.trim().to_owned()))
            .collect();
        Answer {
            status: String::from_utf8_lossy(&out.stdout).parse().unwrap(),
            headers,
            body: std::fs::read(&body).unwrap_or_default(),
        }
    }
}

fn sha256(bytes: &[u8]) -> String {
    Sha256::digest(bytes).iter().map(|b| format!("{b:02x}")).collect()
}

/// Logs in through nginx and returns the Set-Cookie line.
fn login(nginx: &Nginx) -> String {
    let body = json!({"username": "bureau", "password": PASSWORD}).to_string();
    let res = nginx.curl("/api/session", &["-H", "Content-Type: application/json", "--data-binary", &body]);
    assert_eq!(res.status, 200, "{}", String::from_utf8_lossy(&res.body));
    res.header("set-cookie").expect("a session cookie").to_owned()
}

// curl runs as a blocking child process: the service needs other threads to answer it meanwhile.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn behind_nginx_the_service_is_https_only_with_secure_cookies_compression_and_cacheable_tiles() {
    let app = spawn_app().await;
    let port: u16 = app.base.rsplit(':').next().unwrap().parse().unwrap();
    let nginx = tokio::task::spawn_blocking(move || start_nginx(port)).await.unwrap();
    for i in 0..20 {
        app.create(&task_at(point(119.85 + 0.01 * f64::from(i), 30.8), json!({"visibility": "public"}))).await;
    }

    // Plain HTTP only points to HTTPS.
    let res = nginx.curl(&format!("http://127.0.0.1:{}/api/tasks", nginx.http), &[]);
    assert_eq!(res.status, 301);
    assert_eq!(res.header("location"), Some("https://127.0.0.1/api/tasks"));

    // The session cookie is Secure over the proxy (and only there: the service itself, reached
    // over plain HTTP, does not mark it); every answer carries HSTS.
    let set_cookie = login(&nginx);
    assert!(set_cookie.contains("; Secure") && set_cookie.contains("HttpOnly"), "{set_cookie}");
    let direct = app.client.post(app.url("/api/session")).json(&json!({"username": "bureau", "password": PASSWORD}));
    let direct = direct.send().await.unwrap();
    assert!(!direct.headers()["set-cookie"].to_str().unwrap().contains("Secure"));
    // The audit trail records the address nginx saw, not one the client wrote itself.
    let forged = json!({"username": "bureau", "password": "not it"}).to_string();
    let refused = nginx.curl(
        "/api/session",
        &["-H", "Content-Type: application/json", "-H", "X-Forwarded-For: 10.66.66.66", "--data-binary", &forged],
    );
    assert_eq!(refused.status, 401);
    let address: String =
        sqlx::query_scalar("SELECT address FROM security_events WHERE kind = 'login_failed' ORDER BY id DESC LIMIT 1")
            .fetch_one(&app.db)
            .await
            .unwrap();
    assert_eq!(address, "127.0.0.1");
    let tasks = nginx.curl("/api/tasks?limit=100", &[]);
    assert_eq!(tasks.header("strict-transport-security"), Some("max-age=31536000; includeSubDomains"));
    let missing = nginx.curl("/api/tasks/00000000-0000-0000-0000-000000000000", &[]);
    assert_eq!(missing.status, 404);
    assert!(missing.header("strict-transport-security").is_some(), "HSTS on refusals too");

    // JSON is compressed when asked for, and decompresses to what the service answers.
    let gz = nginx.curl("/api/tasks?limit=100", &["-H", "Accept-Encoding: gzip"]);
    assert_eq!(gz.header("content-encoding"), Some("gzip"));
    let plain = nginx.curl("/api/tasks?limit=100", &["--compressed"]);
    assert!(gz.body.len() * 3 < plain.body.len(), "{} vs {}", gz.body.len(), plain.body.len());
    assert_eq!(plain.json(), app.anonymous().get("/api/tasks?limit=100").await.json::<Value>().await.unwrap());

    upload_through(&nginx, &app, &set_cookie).await;
    tiles_through(&nginx, &app).await;
}

/// A report of six 10 MB photos (60 MB) passes; one above the service's limit is refused by the
/// service itself, in problem+json, not by an nginx error page.
async fn upload_through(nginx: &Nginx, app: &TestApp, set_cookie: &str) {
    let cookie = set_cookie.split(';').next().unwrap().to_owned();
    let origin = format!("https://127.0.0.1:{}", nginx.https);
    let (id, _, _) = app.create(&task_at(point(119.95, 30.9), json!({}))).await;
    let photos: Vec<PathBuf> = (0..7u8)
        .map(|i| {
            let path = nginx.dir.join(format!("photo-{i}.jpg"));
            std::fs::write(&path, jpeg(i, if i < 6 { 10_000_000 } else { 6_500_000 })).unwrap();
            path
        })
        .collect();
    let report = |photos: &[PathBuf]| {
        let mut args: Vec<String> =
            ["-H", &format!("Cookie: {cookie}"), "-H", &format!("Origin: {origin}")].map(str::to_owned).to_vec();
        args.extend(["-F".into(), "action=start".into(), "-F".into(), "progress=50".into()]);
        for p in photos {
            args.extend(["-F".into(), format!("photo=@{};type=image/jpeg", p.display())]);
        }
        args
    };
    let send = |photos: &[PathBuf], etag: &str| {
        let mut args = report(photos);
        args.extend(["-H".into(), format!("If-Match: {etag}"), "-H".into(), format!("Idempotency-Key: {}", new_key())]);
        args.extend(["-H".into(), "Accept-Language: en".into()]);
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        nginx.curl(&format!("/api/tasks/{id}/reports"), &args)
    };

    let etag = app.etag(&id).await;
    let too_big = send(&photos, &etag);
    assert_eq!(too_big.status, 413);
    assert_eq!(too_big.header("content-type"), Some("application/problem+json"));
    assert!(too_big.json()["detail"].as_str().unwrap().contains("larger than 61 MiB"), "{}", too_big.json());

    let sent = send(&photos[..6], &etag);
    assert_eq!(sent.status, 201, "{}", String::from_utf8_lossy(&sent.body));
    let urls: Vec<String> =
        sent.json()["photos"].as_array().unwrap().iter().map(|p| p["url"].as_str().unwrap().to_owned()).collect();
    assert_eq!(urls.len(), 6);
    let cookie_header = format!("Cookie: {cookie}");
    for (url, path) in urls.iter().zip(&photos) {
        let photo = nginx.curl(url, &["-H", &cookie_header]);
        assert_eq!(photo.status, 200);
        assert_eq!(sha256(&photo.body), sha256(&std::fs::read(path).unwrap()));
    }
}

/// Tiles keep the service's ETag and Cache-Control, and revalidate to 304 through nginx.
async fn tiles_through(nginx: &Nginx, app: &TestApp) {
    let tile = nginx.curl("/tiles/tasks/0/0/0.mvt", &["-H", "Accept-Encoding: gzip"]);
    assert_eq!(tile.status, 200);
    let direct = app.anonymous().get("/tiles/tasks/0/0/0.mvt").await;
    let etag = tile.header("etag").expect("the tile's ETag");
    assert_eq!(etag, direct.headers()["etag"].to_str().unwrap(), "the ETag passes unchanged");
    assert_eq!(tile.header("cache-control"), Some(direct.headers()["cache-control"].to_str().unwrap()));
    assert!(tile.header("cache-control").unwrap().contains("max-age=60"));
    let again = nginx.curl("/tiles/tasks/0/0/0.mvt", &["-H", &format!("If-None-Match: {etag}")]);
    assert_eq!(again.status, 304);
    assert!(again.body.is_empty());
}
