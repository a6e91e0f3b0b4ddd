use std::path::PathBuf;
use std::process::ExitCode;
use std::time::{Duration, Instant};

use clap::{Parser, Subcommand};
use greenledger::domain::account::NewAccount;
use greenledger::domain::chinacoords::Datum;
use greenledger::domain::import::Mode;
use greenledger::store::{self, DbConfig};
use greenledger::{AppState, ServerConfig};

#[derive(Parser)]
#[command(name = "greenledger", version, about = "The environmental bureau's remediation ledger on a map")]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Serve the API and the map.
    Serve {
        #[command(flatten)]
        db: DbConfig,
        #[command(flatten)]
        server: ServerConfig,
    },
    /// Apply pending database migrations.
    Migrate {
        #[command(flatten)]
        db: DbConfig,
    },
    /// Add N synthetic tasks over the loaded townships (for benchmarks; needs a superuser connection).
    Synth {
        #[command(flatten)]
        db: DbConfig,
        /// How many tasks to add.
        #[arg(long)]
        tasks: i64,
        /// Random seed in [0, 1): the same seed and count give the same ledger.
        #[arg(long, default_value_t = 0.42)]
        seed: f64,
    },
    /// Import tasks from a GeoJSON FeatureCollection, checked like single creates (progress on stderr).
    Import {
        #[command(flatten)]
        db: DbConfig,
        /// The GeoJSON file.
        file: PathBuf,
        /// Store the valid features even if some are invalid (default: all or nothing).
        #[arg(long)]
        partial: bool,
        /// Datum of the coordinates: wgs84, gcj02 (AMap, Tencent) or bd09 (Baidu).
        #[arg(long, default_value = "wgs84")]
        coords: String,
    },
    /// Manage user accounts.
    User {
        #[command(subcommand)]
        command: UserCommand,
    },
    /// Load the demo county and its tasks (adds only what is missing).
    Seed {
        #[command(flatten)]
        db: DbConfig,
        /// Folder holding townships.geojson and tasks.geojson.
        #[arg(long, default_value = "data")]
        data_dir: PathBuf,
    },
}

#[derive(Subcommand)]
enum UserCommand {
    /// Create an account. The password is read from GREENLEDGER_USER_PASSWORD, else from stdin.
    Add {
        #[command(flatten)]
        db: DbConfig,
        #[arg(long)]
        username: String,
        /// admin, bureau or township.
        #[arg(long)]
        role: String,
        /// The township code, for township officers.
        #[arg(long)]
        township: Option<String>,
        #[arg(long, default_value = "")]
        display_name: String,
    },
}

#[tokio::main]
async fn main() -> ExitCode {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| "greenledger=info,tower_http=info,sqlx=warn".into()),
        )
        .init();
    match run(Cli::parse().command).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("greenledger: {e}");
            ExitCode::FAILURE
        }
    }
}

type CliResult = Result<(), Box<dyn std::error::Error>>;

async fn run(command: Command) -> CliResult {
    match command {
        Command::Serve { db, server } => serve(db, server).await,
        Command::Migrate { db } => migrate(db).await,
        Command::Seed { db, data_dir } => seed(db, data_dir).await,
        Command::Synth { db, tasks, seed } => synth(db, tasks, seed).await,
        Command::Import { db, file, partial, coords } => import(db, file, partial, &coords).await,
        Command::User { command: UserCommand::Add { db, username, role, township, display_name } } => {
            add_user(db, username, role, township, display_name).await
        }
    }
}

async fn serve(db: DbConfig, server: ServerConfig) -> CliResult {
    let pool = db.pool()?;
    let state = AppState::new(pool, &server, &db.timezone);
    let listener = tokio::net::TcpListener::bind(server.addr)
        .await
        .map_err(|e| format!("cannot listen on {}: {e}", server.addr))?;
    tracing::info!("serving on http://{}", listener.local_addr()?);
    greenledger::serve(listener, greenledger::app(state, &server), Duration::from_secs(30)).await?;
    Ok(())
}

async fn migrate(db: DbConfig) -> CliResult {
    store::migrate(&db.pool()?).await?;
    println!("migrations applied");
    Ok(())
}

async fn seed(db: DbConfig, data_dir: PathBuf) -> CliResult {
    let pool = db.pool()?;
    let report = greenledger::seed::load_demo(&pool, &data_dir, |m| println!("seed: {m}")).await?;
    println!(
        "seed: done ({} townships, {} tasks and {} accounts added; {} tasks were already present)",
        report.townships_added, report.tasks_added, report.users_added, report.tasks_already_present
    );
    Ok(())
}

async fn synth(db: DbConfig, tasks: i64, seed: f64) -> CliResult {
    let pool = db.pool()?;
    let started = Instant::now();
    greenledger::synth::generate(&pool, tasks, seed, |done, all| {
        eprintln!("synth: {done} of {all} tasks ({:.0} s)", started.elapsed().as_secs_f64())
    })
    .await?;
    println!("synth: {tasks} tasks added in {:.1} s", started.elapsed().as_secs_f64());
    Ok(())
}

async fn import(db: DbConfig, file: PathBuf, partial: bool, coords: &str) -> CliResult {
    let started = Instant::now();
    let datum = Datum::parse(coords)?;
    let mode = if partial { Mode::Partial } else { Mode::All };
    let text = std::fs::read(&file).map_err(|e| format!("cannot read {}: {e}", file.display()))?;
    let doc: serde_json::Value =
        serde_json::from_slice(&text).map_err(|e| format!("{} is not JSON: {e}", file.display()))?;
    let parsed = greenledger::domain::import::parse(&doc, datum, chrono::Utc::now())
        .map_err(|e| format!("{}: {}: {}", file.display(), e.pointer, e.detail))?;
    eprintln!("import: {} features read in {:.1} s", parsed.len(), started.elapsed().as_secs_f64());
    let pool = db.pool()?;
    let report = store::import::import(&pool, parsed, mode, None, |stage, done, of| {
        eprintln!("import: {stage} {done} of {of} ({:.1} s)", started.elapsed().as_secs_f64())
    })
    .await?;
    for f in &report.failed {
        eprintln!("import: feature {}: {}", f.index, f.error);
    }
    let refused = match (report.failed.len(), mode) {
        (0, _) => String::new(),
        (n, Mode::All) => format!("; nothing stored: {n} invalid feature(s) (--partial stores the valid ones)"),
        (n, Mode::Partial) => format!("; {n} invalid feature(s) skipped"),
    };
    let seconds = started.elapsed().as_secs_f64();
    println!("import: {} of {} tasks imported in {seconds:.1} s{refused}", report.imported, report.received);
    if mode == Mode::All && !report.failed.is_empty() {
        return Err("the import was refused".into());
    }
    Ok(())
}

/// The new account's password: GREENLEDGER_USER_PASSWORD, else a line of stdin.
fn read_password() -> std::io::Result<String> {
    if let Ok(p) = std::env::var("GREENLEDGER_USER_PASSWORD") {
        return Ok(p);
    }
    eprintln!("password (then Enter):");
    let mut line = String::new();
    std::io::stdin().read_line(&mut line)?;
    Ok(line.trim_end_matches(['\r', '\n']).to_owned())
}

async fn add_user(
    db: DbConfig,
    username: String,
    role: String,
    township: Option<String>,
    display_name: String,
) -> CliResult {
    let password = read_password()?;
    let body = serde_json::json!({
        "username": username, "role": role, "township": township,
        "display_name": display_name, "password": password,
    });
    let account = NewAccount::parse(&body).map_err(|errors| {
        errors
            .iter()
            .map(|e| format!("{}: {}", e.pointer.trim_start_matches('/'), e.detail))
            .collect::<Vec<_>>()
            .join("; ")
    })?;
    let pool = db.pool()?;
    let hash = greenledger::auth::password::hash(account.password.clone()).await?;
    let new = store::accounts::NewUser {
        username: &account.username,
        display_name: &account.display_name,
        role: account.role.as_str(),
        township: account.township.as_deref(),
        password_hash: &hash,
    };
    match store::accounts::create_user(&pool, &new).await? {
        Some(id) => println!("created {} ({}) {id}", account.username, account.role.as_str()),
        None => return Err(format!("the username '{}' is taken", account.username).into()),
    }
    Ok(())
}
