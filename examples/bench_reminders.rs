//! The daily reminder run (催办) over the whole ledger next to two floors measured in the same run:
//! the bare count of open tasks (one scan of the table), and the flags of every open task counted
//! per township (the scan with every condition a digest uses, but no digests). Each run makes the
//! digests of another day, so every run is a real first run; runs alternate with the floors so all
//! see the same load. `scripts/bench-reminders.sh` runs it.

use std::time::{Duration, Instant};

use chrono::NaiveDate;
use clap::Parser;
use greenledger::store::{Db, DbConfig, reminders};

#[derive(Parser)]
struct Args {
    #[arg(long, env = "DATABASE_URL")]
    database_url: String,
    /// Timed runs (after one warm-up run of each).
    #[arg(long, default_value_t = 5)]
    runs: usize,
    /// The first day to run (later runs take the days after it).
    #[arg(long, default_value = "2026-06-01")]
    from: NaiveDate,
}

const OPEN_COUNT: &str = "SELECT count(*) FROM tasks WHERE status IN ('planned', 'in_progress')";

/// The flags of the digest (src/store/reminders_digest.sql) counted per township, without naming,
/// spreading over departments, or storing anything.
const FLAGS_COUNT: &str = "
    SELECT t.township_code,
           count(*) FILTER (WHERE t.due_date < $1),
           count(*) FILTER (WHERE t.due_date BETWEEN $1 AND $1 + 7),
           count(*) FILTER (WHERE coalesce(t.last_report_at, t.created_at) < ($1 - 30)::timestamptz),
           count(*) FILTER (WHERE t.return_reason IS NOT NULL)
    FROM tasks t WHERE t.status IN ('planned', 'in_progress')
    GROUP BY t.township_code";

fn median(mut v: Vec<Duration>) -> Duration {
    v.sort();
    v[v.len() / 2]
}

async fn timed<F: std::future::Future>(f: F) -> (Duration, F::Output) {
    let started = Instant::now();
    let out = f.await;
    (started.elapsed(), out)
}

async fn floors(db: &Db, day: NaiveDate) -> (Duration, Duration) {
    let (count, n) = timed(sqlx::query_scalar::<_, i64>(OPEN_COUNT).persistent(false).fetch_one(db)).await;
    n.expect("the count runs");
    let (flags, rows) = timed(sqlx::query(FLAGS_COUNT).bind(day).persistent(false).fetch_all(db)).await;
    rows.expect("the flag count runs");
    (count, flags)
}

#[tokio::main]
async fn main() {
    let args = Args::parse();
    let db = DbConfig::new(args.database_url.as_str()).pool().expect("the database URL is valid");
    let tasks: i64 = sqlx::query_scalar("SELECT count(*) FROM tasks").fetch_one(&db).await.unwrap();
    let open: i64 = sqlx::query_scalar(OPEN_COUNT).fetch_one(&db).await.unwrap();
    let mut day = args.from;
    let (mut runs, mut counts, mut flags) = (Vec::new(), Vec::new(), Vec::new());
    let mut made = None;
    for i in 0..=args.runs {
        let (c, f) = floors(&db, day).await;
        let (took, outcome) = timed(reminders::run_day(&db, day)).await;
        let outcome = outcome.expect("the run succeeds");
        assert!(outcome.ran, "{day} was run before: use another --from");
        if i > 0 {
            runs.push(took);
            counts.push(c);
            flags.push(f);
            made = Some(outcome);
        }
        day = day.succ_opt().unwrap();
    }
    let made = made.expect("at least one timed run");
    let (run, count, flag) = (median(runs.clone()), median(counts), median(flags));
    let slowest = runs.iter().max().copied().unwrap_or_default();
    println!("tasks {tasks} (open {open}); digests per day {}, deliveries {}", made.digests, made.deliveries);
    println!(
        "daily run (digests made and stored): median {:.2} s, slowest {:.2} s",
        run.as_secs_f64(),
        slowest.as_secs_f64()
    );
    println!(
        "floor, count of open tasks:          median {:.2} s  (run ÷ floor {:.1}×)",
        count.as_secs_f64(),
        run.as_secs_f64() / count.as_secs_f64()
    );
    println!(
        "floor, flags counted per township:   median {:.2} s  (run ÷ floor {:.1}×)",
        flag.as_secs_f64(),
        run.as_secs_f64() / flag.as_secs_f64()
    );
}
