//! The floor for the fixed cost of an answer: a bare axum server on the service's runtime (tokio's
//! multi-threaded runtime, one worker per core) with no middleware, answering `GET /json` with a
//! small JSON document and `GET /sql` with the result of the statement `/api/health` runs
//! (`SELECT postgis_lib_version()`) over a sqlx pool of the same size. `scripts/bench-interop.sh`
//! runs it beside the service and prints the service's latencies as ratios of these.
//!
//!     DATABASE_URL=postgres://... cargo run --release --example bench_bare -- --addr 127.0.0.1:18400

use std::net::SocketAddr;

use axum::Json;
use axum::Router;
use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::get;
use clap::Parser;
use serde::Serialize;
use sqlx::PgPool;
use sqlx::postgres::PgPoolOptions;

#[derive(Parser)]
struct Args {
    /// The database the service uses.
    #[arg(long, env = "DATABASE_URL")]
    database_url: String,
    /// Where to listen.
    #[arg(long, default_value = "127.0.0.1:18400")]
    addr: SocketAddr,
    /// Database connections in the pool (the service's default).
    #[arg(long, default_value_t = 16)]
    connections: u32,
}

#[derive(Serialize)]
struct Answer {
    status: &'static str,
    postgis: String,
}

async fn json() -> Json<Answer> {
    Json(Answer { status: "ok", postgis: "3.3.2".into() })
}

async fn sql(State(db): State<PgPool>) -> Result<Json<Answer>, StatusCode> {
    // Runtime-checked: a bare server has no compile-time query descriptions of its own.
    let postgis: String = sqlx::query_scalar("SELECT postgis_lib_version()")
        .fetch_one(&db)
        .await
        .map_err(|_| StatusCode::SERVICE_UNAVAILABLE)?;
    Ok(Json(Answer { status: "ok", postgis }))
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args = Args::parse();
    // As the service's pool: no ping before handing out a connection in steady use (sqlx 0.8 still
    // pings each one on its way back, after the answer).
    let db = PgPoolOptions::new()
        .max_connections(args.connections)
        .test_before_acquire(false)
        .connect(&args.database_url)
        .await?;
    let app = Router::new().route("/json", get(json)).route("/sql", get(sql)).with_state(db);
    let listener = tokio::net::TcpListener::bind(args.addr).await?;
    axum::serve(listener, app).await?;
    Ok(())
}
