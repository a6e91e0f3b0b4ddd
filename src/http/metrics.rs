//! `/metrics` in Prometheus's text format: requests by route, method and status with a latency
//! histogram, the database pool, tasks by status and offline reports replayed.
//!
//! The exposition is written here rather than with a metrics crate: it is a dozen series of three
//! kinds (counter, gauge, histogram) in a plain text format, and a crate would bring a registry,
//! encoders and their dependencies for what fits in this file. The format is checked by the
//! integration tests (tests/api/metrics.rs).

use std::collections::HashMap;
use std::fmt::Write as _;
use std::net::SocketAddr;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use axum::extract::{ConnectInfo, MatchedPath, Request, State};
use axum::http::{HeaderMap, HeaderValue, Method, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use super::AppState;
use crate::error::{ApiError, ProblemKind};

/// Upper bounds (seconds) of the latency buckets: from a cached tile to a large export.
const BUCKETS: [f64; 12] = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 10.0];

/// How long the count of tasks by status is reused: a scrape every few seconds must not become a
/// full count of a large ledger each time.
const TASKS_TTL: Duration = Duration::from_secs(5);

/// Requests that gave up waiting for a database connection. Counted where the error is classified
/// (`error.rs`), which has no state at hand; a process serves one pool.
pub static POOL_TIMEOUTS: AtomicU64 = AtomicU64::new(0);

#[derive(Default)]
struct Series {
    /// Per bucket, the requests that took at most its bound (not cumulative; summed on output).
    buckets: [u64; BUCKETS.len()],
    count: u64,
    sum: f64,
}

impl Series {
    fn observe(&mut self, seconds: f64) {
        if let Some(i) = BUCKETS.iter().position(|&bound| seconds <= bound) {
            self.buckets[i] += 1;
        }
        self.count += 1;
        self.sum += seconds;
    }
}

/// A route's series by the answer: (method, status) -> latencies.
type ByAnswer = HashMap<(Method, u16), Series>;

/// Tasks by status, and when they were counted.
type TaskCounts = (Instant, Vec<(String, i64)>);

/// What the service counts while it runs.
#[derive(Default)]
pub struct Metrics {
    /// route pattern -> its series.
    requests: Mutex<HashMap<String, ByAnswer>>,
    replayed_reports: AtomicU64,
    tasks: tokio::sync::Mutex<Option<TaskCounts>>,
}

impl Metrics {
    fn observe(&self, route: &str, method: Method, status: u16, latency: Duration, replayed: bool) {
        if replayed {
            self.replayed_reports.fetch_add(1, Ordering::Relaxed);
        }
        let mut requests = self.requests.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        // Look up by &str first: allocating the route's name only for its first request.
        if !requests.contains_key(route) {
            requests.insert(route.to_owned(), HashMap::new());
        }
        let by_answer = requests.get_mut(route).expect("inserted above");
        by_answer.entry((method, status)).or_default().observe(latency.as_secs_f64());
    }

    fn write_requests(&self, out: &mut String) {
        out.push_str(
            "# HELP greenledger_http_requests_total Requests answered, by matched route, method and status.\n",
        );
        out.push_str("# TYPE greenledger_http_requests_total counter\n");
        let requests = self.requests.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        let mut rows: Vec<(&String, &(Method, u16), &Series)> =
            requests.iter().flat_map(|(route, m)| m.iter().map(move |(k, s)| (route, k, s))).collect();
        rows.sort_by(|a, b| (a.0, a.1.0.as_str(), a.1.1).cmp(&(b.0, b.1.0.as_str(), b.1.1)));
        for (route, (method, status), s) in &rows {
            let labels = format!("route=\"{}\",method=\"{method}\",status=\"{status}\"", escape(route));
            let _ = writeln!(out, "greenledger_http_requests_total{{{labels}}} {}", s.count);
        }
        out.push_str("# HELP greenledger_http_request_duration_seconds Time to the answer's head.\n");
        out.push_str("# TYPE greenledger_http_request_duration_seconds histogram\n");
        for (route, (method, status), s) in &rows {
            let labels = format!("route=\"{}\",method=\"{method}\",status=\"{status}\"", escape(route));
            let mut cumulative = 0;
            for (bound, n) in BUCKETS.iter().zip(s.buckets) {
                cumulative += n;
                let _ = writeln!(
                    out,
                    "greenledger_http_request_duration_seconds_bucket{{{labels},le=\"{bound}\"}} {cumulative}"
                );
            }
            let _ =
                writeln!(out, "greenledger_http_request_duration_seconds_bucket{{{labels},le=\"+Inf\"}} {}", s.count);
            let _ = writeln!(out, "greenledger_http_request_duration_seconds_sum{{{labels}}} {}", s.sum);
            let _ = writeln!(out, "greenledger_http_request_duration_seconds_count{{{labels}}} {}", s.count);
        }
    }

    /// Tasks by status, counted at most once per [`TASKS_TTL`]; `None` while the database is away.
    async fn tasks_by_status(&self, db: &crate::store::Db) -> Option<Vec<(String, i64)>> {
        let mut cached = self.tasks.lock().await;
        if let Some((at, counts)) = cached.as_ref()
            && at.elapsed() < TASKS_TTL
        {
            return Some(counts.clone());
        }
        match crate::store::tasks::count_by_status(db).await {
            Ok(counts) => {
                *cached = Some((Instant::now(), counts.clone()));
                Some(counts)
            }
            Err(e) => {
                tracing::warn!(error = %e, "metrics: cannot count tasks");
                None
            }
        }
    }
}

/// Label values are quoted strings: a route pattern holds no quote or backslash today, but the
/// format requires them escaped.
fn escape(value: &str) -> String {
    value.replace('\\', "\\\\").replace('"', "\\\"").replace('\n', "\\n")
}

/// The middleware: one observation per answered request. Layered inside routing so the matched
/// route is known; the web folder's files share one label, as their paths are unbounded.
pub async fn record(State(state): State<AppState>, req: Request, next: Next) -> Response {
    let route = req.extensions().get::<MatchedPath>().map_or("(web files)", MatchedPath::as_str).to_owned();
    let method = req.method().clone();
    let started = Instant::now();
    let res = next.run(req).await;
    let replayed = res.headers().contains_key("idempotent-replayed");
    state.metrics.observe(&route, method, res.status().as_u16(), started.elapsed(), replayed);
    res
}

/// GET /metrics: with `GREENLEDGER_METRICS_TOKEN` set, for callers sending it as a bearer token;
/// without, for callers on this machine only (a scraper on the host, or through an SSH tunnel).
pub async fn metrics(State(state): State<AppState>, headers: HeaderMap, req: Request) -> Response {
    let peer = req.extensions().get::<ConnectInfo<SocketAddr>>().map(|c| c.0);
    if let Err(e) = allowed(state.settings.metrics_token.as_deref(), &headers, peer) {
        return e.into_response();
    }
    let mut out = String::with_capacity(8192);
    state.metrics.write_requests(&mut out);
    write_pool(&state.db, state.held.kept() as u32, &mut out);
    write_replicas(&state.reads, &mut out);
    let replayed = state.metrics.replayed_reports.load(Ordering::Relaxed);
    out.push_str(
        "# HELP greenledger_reports_replayed_total Offline reports sent again and answered with Idempotent-Replayed.\n",
    );
    out.push_str("# TYPE greenledger_reports_replayed_total counter\n");
    let _ = writeln!(out, "greenledger_reports_replayed_total {replayed}");
    if let Some(counts) = state.metrics.tasks_by_status(&state.db).await {
        out.push_str("# HELP greenledger_tasks Tasks in the ledger by status (counted at most every 5 s).\n");
        out.push_str("# TYPE greenledger_tasks gauge\n");
        for (status, n) in counts {
            let _ = writeln!(out, "greenledger_tasks{{status=\"{}\"}} {n}", escape(&status));
        }
    }
    write_deliveries(&state.db, &mut out).await;
    let content_type = HeaderValue::from_static("text/plain; version=0.0.4; charset=utf-8");
    ([(header::CONTENT_TYPE, content_type)], out).into_response()
}

/// Reminder deliveries by status: a failed one (given up) or a growing pending count wants the
/// administrator (robot URL wrong, SMTP server away). A county makes some ten thousand a year.
async fn write_deliveries(db: &crate::store::Db, out: &mut String) {
    match crate::store::reminders::delivery_counts(db).await {
        Ok(counts) => {
            out.push_str(
                "# HELP greenledger_reminder_deliveries Reminder deliveries to robots and e-mail by status.\n",
            );
            out.push_str("# TYPE greenledger_reminder_deliveries gauge\n");
            for (status, n) in counts {
                let _ = writeln!(out, "greenledger_reminder_deliveries{{status=\"{}\"}} {n}", escape(&status));
            }
        }
        Err(e) => tracing::warn!(error = %e, "metrics: cannot count reminder deliveries"),
    }
}

/// `kept`: connections lent to the one-statement reads (store/held.rs) and waiting for the next
/// one; the pool counts them as in use.
fn write_pool(db: &crate::store::Db, kept: u32, out: &mut String) {
    let (size, idle) = (db.size(), db.num_idle() as u32);
    out.push_str("# HELP greenledger_db_connections Database pool connections by state (kept: idle between one-statement reads).\n");
    out.push_str("# TYPE greenledger_db_connections gauge\n");
    let _ = writeln!(out, "greenledger_db_connections{{state=\"in_use\"}} {}", size.saturating_sub(idle + kept));
    let _ = writeln!(out, "greenledger_db_connections{{state=\"idle\"}} {idle}");
    let _ = writeln!(out, "greenledger_db_connections{{state=\"kept\"}} {kept}");
    out.push_str("# HELP greenledger_db_connections_max The pool's limit (GREENLEDGER_DB_CONNECTIONS).\n");
    out.push_str("# TYPE greenledger_db_connections_max gauge\n");
    let _ = writeln!(out, "greenledger_db_connections_max {}", db.options().get_max_connections());
    out.push_str("# HELP greenledger_db_pool_timeouts_total Requests that waited GREENLEDGER_DB_TIMEOUT for a connection in vain.\n");
    out.push_str("# TYPE greenledger_db_pool_timeouts_total counter\n");
    let _ = writeln!(out, "greenledger_db_pool_timeouts_total {}", POOL_TIMEOUTS.load(Ordering::Relaxed));
}

fn write_replicas(reads: &crate::store::replicas::Replicas, out: &mut String) {
    let status = reads.status();
    if status.is_empty() {
        return;
    }
    out.push_str(
        "# HELP greenledger_replica_in_read_pool Whether a replica takes reads now (1), or is behind or silent (0).\n",
    );
    out.push_str("# TYPE greenledger_replica_in_read_pool gauge\n");
    for (name, in_pool, _) in &status {
        let _ =
            writeln!(out, "greenledger_replica_in_read_pool{{replica=\"{}\"}} {}", escape(name), u8::from(*in_pool));
    }
    out.push_str(
        "# HELP greenledger_replica_behind_bytes WAL the replica had not replayed at the last look (-1 unknown).\n",
    );
    out.push_str("# TYPE greenledger_replica_behind_bytes gauge\n");
    for (name, _, behind) in &status {
        let _ = writeln!(out, "greenledger_replica_behind_bytes{{replica=\"{}\"}} {behind}", escape(name));
    }
    out.push_str("# HELP greenledger_primary_up Whether the primary answers as a primary (0: writes are refused).\n");
    out.push_str("# TYPE greenledger_primary_up gauge\n");
    let _ = writeln!(out, "greenledger_primary_up {}", u8::from(!reads.primary_down()));
}

/// Who may read the figures (route counts and pool state say much about the service's load).
fn allowed(token: Option<&str>, headers: &HeaderMap, peer: Option<SocketAddr>) -> Result<(), ApiError> {
    match token {
        Some(expected) => {
            let sent = headers.get(header::AUTHORIZATION).and_then(|v| v.to_str().ok());
            let sent = sent.and_then(|v| v.strip_prefix("Bearer "));
            if sent.is_some_and(|s| constant_time_eq(s.as_bytes(), expected.as_bytes())) {
                Ok(())
            } else {
                Err(ApiError::new(
                    ProblemKind::Unauthenticated,
                    "send the metrics token: Authorization: Bearer <token>",
                ))
            }
        }
        None if peer.is_some_and(|p| p.ip().is_loopback()) => Ok(()),
        None => Err(ApiError::forbidden(
            "the metrics are served to this machine only; set GREENLEDGER_METRICS_TOKEN to scrape them from elsewhere",
        )),
    }
}

fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_latency_falls_in_the_first_bucket_that_holds_it() {
        let mut s = Series::default();
        for seconds in [0.0005, 0.001, 0.003, 20.0] {
            s.observe(seconds);
        }
        assert_eq!(s.buckets[0], 2, "0.5 ms and exactly 1 ms");
        assert_eq!(s.buckets[2], 1, "3 ms is under 5 ms");
        assert_eq!(s.buckets.iter().sum::<u64>(), 3, "20 s is only in +Inf");
        assert_eq!(s.count, 4);
    }

    #[test]
    fn the_token_is_required_when_set_and_loopback_suffices_when_not() {
        let mut headers = HeaderMap::new();
        let remote: SocketAddr = "10.0.0.5:4000".parse().unwrap();
        let local: SocketAddr = "127.0.0.1:4000".parse().unwrap();
        assert!(allowed(None, &headers, Some(local)).is_ok());
        assert_eq!(allowed(None, &headers, Some(remote)).unwrap_err().kind, ProblemKind::Forbidden);
        assert_eq!(allowed(Some("s3cret"), &headers, Some(local)).unwrap_err().kind, ProblemKind::Unauthenticated);
        headers.insert(header::AUTHORIZATION, HeaderValue::from_static("Bearer s3cre"));
        assert!(allowed(Some("s3cret"), &headers, Some(remote)).is_err());
        headers.insert(header::AUTHORIZATION, HeaderValue::from_static("Bearer s3cret"));
        assert!(allowed(Some("s3cret"), &headers, Some(remote)).is_ok());
    }

    #[test]
    fn label_values_are_escaped() {
        assert_eq!(escape(r#"a"b\c"#), r#"a\"b\\c"#);
    }
}
