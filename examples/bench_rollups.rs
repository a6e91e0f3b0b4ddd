//! Latency of GET /api/rollups/townships next to the bare SQL it needs (the floor): the two counting
//! statements run directly on two connections at once, as the endpoint runs them, without the
//! HTTP request, the snapshot set-up, the JSON or the folding into figures. Runs alternate between
//! the two so both see the same load on a shared machine. `scripts/bench-rollups.sh` runs it.

use std::time::{Duration, Instant};

use clap::Parser;
use greenledger::domain::access::Viewer;
use greenledger::domain::rollup::RollupFilter;
use greenledger::store::{Db, DbConfig, rollups};

#[derive(Parser)]
struct Args {
    /// The database the server uses.
    #[arg(long, env = "DATABASE_URL")]
    database_url: String,
    /// The running server.
    #[arg(long, default_value = "http://127.0.0.1:8080")]
    base_url: String,
    /// Timed runs per case (after 3 warm-up runs).
    #[arg(long, default_value_t = 50)]
    runs: usize,
    /// Password of the demo `bureau` account.
    #[arg(long, env = "GREENLEDGER_DEMO_PASSWORD", default_value = "greenledger-demo")]
    password: String,
}

struct Case {
    label: &'static str,
    query: &'static str,
    staff: bool,
    filter: RollupFilter,
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    // Nearest rank: with fewer than 100 runs the p99 is the slowest run.
    let rank = ((p * sorted.len() as f64).ceil() as usize).clamp(1, sorted.len());
    sorted[rank - 1]
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

async fn floor(db: &Db, filter: &RollupFilter, viewer: &Viewer, frame: &rollups::Frame) -> Duration {
    let mut cells = rollups::cells_query(filter, viewer, frame, rollups::By::Township);
    let mut late = rollups::late_query(filter, viewer, frame, rollups::By::Township);
    let started = Instant::now();
    // Unprepared, as the store runs them.
    let (a, b) =
        tokio::try_join!(cells.build().persistent(false).fetch_all(db), late.build().persistent(false).fetch_all(db))
            .expect("the floor SQL runs");
    let took = started.elapsed();
    assert!(!a.is_empty() || b.is_empty());
    took
}

#[tokio::main]
async fn main() {
    let args = Args::parse();
    let db = DbConfig::new(args.database_url.as_str()).pool().expect("a database URL");
    let tasks: i64 = sqlx::query_scalar("SELECT count(*) FROM tasks").fetch_one(&db).await.expect("tasks");
    let frame = rollups::current_frame(&db).await.expect("today and the townships");

    let client = reqwest::Client::new();
    let login = client
        .post(format!("{}/api/session", args.base_url))
        .json(&serde_json::json!({"username": "bureau", "password": args.password}))
        .send()
        .await
        .expect("the server answers");
    assert!(login.status().is_success(), "login as bureau: {}", login.status());
    let cookie = login.headers()["set-cookie"].to_str().unwrap().split(';').next().unwrap().to_owned();

    let cases = [
        Case { label: "staff, all tasks", query: "", staff: true, filter: RollupFilter::default() },
        Case { label: "public", query: "", staff: false, filter: RollupFilter::default() },
        Case {
            label: "staff, category+period",
            query: "category=watershed,village&from=2026-03-01&to=2026-12-31",
            staff: true,
            filter: RollupFilter::parse(
                &[
                    ("category".into(), "watershed,village".into()),
                    ("from".into(), "2026-03-01".into()),
                    ("to".into(), "2026-12-31".into()),
                ],
                greenledger::domain::rollup::TOWNSHIP_PARAMETERS,
            )
            .unwrap(),
        },
    ];

    println!(
        "{:>9}  {:<24} {:>12} {:>12} {:>12} {:>12} {:>7} {:>7}",
        "tasks", "case", "api median", "api p99", "sql median", "sql p99", "ratio", "p99 r."
    );
    for case in &cases {
        let viewer = if case.staff { Viewer::Staff } else { Viewer::Public };
        let url = format!("{}/api/rollups/townships?{}", args.base_url, case.query);
        let mut api = Vec::with_capacity(args.runs);
        let mut sql = Vec::with_capacity(args.runs);
        for run in 0..args.runs + 3 {
            let f = floor(&db, &case.filter, &viewer, &frame).await;
            let mut req = client.get(&url);
            if case.staff {
                req = req.header("cookie", &cookie);
            }
            let started = Instant::now();
            let res = req.send().await.expect("the server answers");
            assert!(res.status().is_success(), "{url}: {}", res.status());
            let body = res.bytes().await.expect("a body");
            let took = started.elapsed();
            assert!(body.len() > 100);
            if run >= 3 {
                api.push(took);
                sql.push(f);
            }
        }
        api.sort();
        sql.sort();
        let (am, ap, sm, sp) =
            (percentile(&api, 0.5), percentile(&api, 0.99), percentile(&sql, 0.5), percentile(&sql, 0.99));
        println!(
            "{:>9}  {:<24} {:>9.1} ms {:>9.1} ms {:>9.1} ms {:>9.1} ms {:>6.2}x {:>6.2}x",
            tasks,
            case.label,
            ms(am),
            ms(ap),
            ms(sm),
            ms(sp),
            ms(am) / ms(sm),
            ms(ap) / ms(sp)
        );
    }
}
