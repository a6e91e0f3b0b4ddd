use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use clap::{Parser, Subcommand};
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
    /// Load the demo county and its tasks (adds only what is missing).
    Seed {
        #[command(flatten)]
        db: DbConfig,
        /// Folder holding townships.geojson and tasks.geojson.
        #[arg(long, default_value = "data")]
        data_dir: PathBuf,
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

async fn run(command: Command) -> Result<(), Box<dyn std::error::Error>> {
    match command {
        Command::Serve { db, server } => {
            let pool = db.pool()?;
            let state = AppState { db: pool };
            let listener = tokio::net::TcpListener::bind(server.addr)
                .await
                .map_err(|e| format!("cannot listen on {}: {e}", server.addr))?;
            tracing::info!("serving on http://{}", listener.local_addr()?);
            greenledger::serve(listener, greenledger::app(state, &server), Duration::from_secs(30)).await?;
        }
        Command::Migrate { db } => {
            let pool = db.pool()?;
            store::migrate(&pool).await?;
            println!("migrations applied");
        }
        Command::Seed { db, data_dir } => {
            let pool = db.pool()?;
            let report = greenledger::seed::load_demo(&pool, &data_dir, |m| println!("seed: {m}")).await?;
            println!(
                "seed: done ({} townships and {} tasks added; {} tasks were already present)",
                report.townships_added, report.tasks_added, report.tasks_already_present
            );
        }
    }
    Ok(())
}
