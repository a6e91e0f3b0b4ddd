//! A campaign year's assessment (GET …/assessment?version=draft: every township's and department's
//! indicator figures, scores with their explanations and ranks) next to the bare SQL that computes
//! the same indicators (the floor): the figures statement and the targets' progress statement, run
//! directly, without the HTTP request, the snapshot, the scoring or the JSON. Runs alternate between
//! the two so both see the same load. `scripts/bench-assessment.sh` runs it.

use std::time::{Duration, Instant};

use clap::Parser;
use greenledger::domain::access::Viewer;
use greenledger::store::assessment::FIGURES_SQL;
use greenledger::store::campaigns::{TargetFilter, progress_query};
use greenledger::store::{Db, DbConfig};

#[derive(Parser)]
struct Args {
    /// The database the server uses.
    #[arg(long, env = "DATABASE_URL")]
    database_url: String,
    /// The running server.
    #[arg(long, default_value = "http://127.0.0.1:8080")]
    base_url: String,
    /// The campaign and year to assess.
    #[arg(long, default_value = "bench")]
    campaign: String,
    #[arg(long, default_value_t = 2026)]
    year: i32,
    /// Timed runs (after 2 warm-up runs).
    #[arg(long, default_value_t = 10)]
    runs: usize,
    /// Password of the demo `bureau` account.
    #[arg(long, env = "GREENLEDGER_DEMO_PASSWORD", default_value = "greenledger-demo")]
    password: String,
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

fn median(mut v: Vec<Duration>) -> Duration {
    v.sort();
    v[v.len() / 2]
}

/// The two statements the assessment needs, as the store runs them (unprepared, one after the other).
async fn floor(db: &Db, args: &Args) -> (Duration, usize) {
    let started = Instant::now();
    let (today, stale): (chrono::NaiveDate, chrono::DateTime<chrono::Utc>) =
        sqlx::query_as("SELECT current_date, (current_date - 30)::timestamptz").fetch_one(db).await.expect("today");
    let rows = sqlx::query(FIGURES_SQL)
        .bind(&args.campaign)
        .bind(args.year)
        .bind(today)
        .bind(stale)
        .persistent(false)
        .fetch_all(db)
        .await
        .expect("the figures statement runs");
    let f = TargetFilter { year: Some(args.year), ..Default::default() };
    let targets = progress_query(&args.campaign, &f, &Viewer::Staff)
        .build()
        .persistent(false)
        .fetch_all(db)
        .await
        .expect("the progress statement runs");
    (started.elapsed(), rows.len() + targets.len())
}

#[tokio::main]
async fn main() {
    let args = Args::parse();
    let db = DbConfig::new(args.database_url.as_str()).pool().expect("a database URL");
    let (tasks, assessed): (i64, i64) = sqlx::query_as(
        "SELECT count(*), count(*) FILTER (WHERE campaign_code = $1 AND status <> 'cancelled'
                AND due_date >= make_date($2, 1, 1) AND due_date < make_date($2 + 1, 1, 1)) FROM tasks",
    )
    .bind(&args.campaign)
    .bind(args.year)
    .fetch_one(&db)
    .await
    .expect("tasks");
    let client = reqwest::Client::new();
    let login = client
        .post(format!("{}/api/session", args.base_url))
        .json(&serde_json::json!({"username": "bureau", "password": args.password}))
        .send()
        .await
        .expect("the server answers");
    assert!(login.status().is_success(), "login as bureau: {}", login.status());
    let cookie = login.headers()["set-cookie"].to_str().unwrap().split(';').next().unwrap().to_owned();
    let url = format!("{}/api/campaigns/{}/years/{}/assessment?version=draft", args.base_url, args.campaign, args.year);
    let (mut api, mut sql, mut size) = (Vec::new(), Vec::new(), 0);
    for run in 0..args.runs + 2 {
        let (f, rows) = floor(&db, &args).await;
        assert!(rows > 0, "the floor found units");
        let started = Instant::now();
        let res = client.get(&url).header("cookie", &cookie).send().await.expect("the server answers");
        assert!(res.status().is_success(), "{url}: {}", res.status());
        let body = res.bytes().await.expect("a body");
        let took = started.elapsed();
        size = body.len();
        if run >= 2 {
            api.push(took);
            sql.push(f);
        }
    }
    let (a, s) = (median(api), median(sql));
    println!(
        "{:>9} {:>9} {:>10} {:>12} {:>12} {:>7}",
        "tasks", "assessed", "answer", "api median", "sql median", "ratio"
    );
    println!(
        "{:>9} {:>9} {:>7.1} MB {:>9.1} ms {:>9.1} ms {:>6.2}x",
        tasks,
        assessed,
        size as f64 / 1e6,
        ms(a),
        ms(s),
        ms(a) / ms(s)
    );
}
