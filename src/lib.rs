//! greenledger: the environmental bureau's remediation ledger on a map.

pub mod auth;
pub mod backup;
pub mod boundaries;
pub mod domain;
pub mod error;
pub mod export;
pub mod http;
#[cfg(test)]
mod layers;
pub mod ledger;
pub mod logging;
pub mod reminders;
pub mod seed;
pub mod store;
pub mod synth;
pub mod tile_cache;

use std::path::PathBuf;
use std::time::Duration;

use axum::Router;
use tower_http::compression::CompressionLayer;

pub use http::AppState;

#[derive(Debug, Clone, clap::Args)]
pub struct ServerConfig {
    /// Address to listen on.
    #[arg(long, env = "GREENLEDGER_ADDR", default_value = "127.0.0.1:8080")]
    pub addr: std::net::SocketAddr,
    /// Folder of the web front end (index.html and its modules).
    #[arg(long, env = "GREENLEDGER_WEB_DIR", default_value = "web")]
    pub web_dir: PathBuf,
    /// Folder for uploaded files (report photos), outside anything served statically.
    #[arg(long, env = "GREENLEDGER_DATA_DIR", default_value = ".data")]
    pub data_dir: PathBuf,
    /// Where report photos are kept: `folder` (the data folder: one instance) or `database` (every
    /// instance behind a balancer reads them; `greenledger photos to-database` moves a folder's in).
    #[arg(long, env = "GREENLEDGER_PHOTO_STORE", value_enum, default_value = "folder")]
    pub photo_store: store::photos::PhotoStoreKind,
    /// Mark the session cookie Secure (set when the service is reached over https).
    #[arg(long, env = "GREENLEDGER_SECURE_COOKIES", default_value_t = false)]
    pub secure_cookies: bool,
    /// Background tile layer URL template for the map (e.g. https://tile.openstreetmap.org/{z}/{x}/{y}.png);
    /// without it the map draws only our own township boundaries.
    #[arg(long, env = "GREENLEDGER_TILE_URL")]
    pub tile_url: Option<String>,
    /// Credit line shown with the tile layer.
    #[arg(long, env = "GREENLEDGER_TILE_ATTRIBUTION")]
    pub tile_attribution: Option<String>,
    /// Bearer token that /metrics requires; without it, /metrics answers loopback callers only.
    #[arg(long, env = "GREENLEDGER_METRICS_TOKEN", hide_env_values = true)]
    pub metrics_token: Option<String>,
    /// Count every request for /metrics (route, status, latency). `false` leaves the requests
    /// uncounted (the pool and task figures stay): for measuring what counting costs.
    #[arg(long, env = "GREENLEDGER_METRICS", default_value_t = true, action = clap::ArgAction::Set)]
    pub count_requests: bool,
    /// The key that seals two-step secrets in the database (made at the first start; default
    /// `secret.key` in the data folder). Keep a copy apart from the database's backups.
    #[arg(long, env = "GREENLEDGER_SECRET_KEY_FILE")]
    pub secret_key_file: Option<PathBuf>,
    /// Minutes a web session may go unused before it ends (it also ends 14 days after login).
    #[arg(long, env = "GREENLEDGER_SESSION_IDLE_MINUTES", default_value_t = 30, value_parser = clap::value_parser!(u64).range(1..=10080))]
    pub session_idle_minutes: u64,
    /// Megabytes of vector tiles each instance keeps in memory (0: none); kept tiles are dropped
    /// exactly when a task in them changes, on any instance (see README, "Tile cache").
    #[arg(long, env = "GREENLEDGER_TILE_CACHE_MB", default_value_t = 64)]
    pub tile_cache_mb: u64,
    /// Reminders: SMTP and retries (GREENLEDGER_SMTP_*, GREENLEDGER_REMINDER_*).
    #[command(flatten)]
    pub reminders: reminders::ReminderConfig,
}

impl ServerConfig {
    pub fn new(addr: std::net::SocketAddr, web_dir: impl Into<PathBuf>, data_dir: impl Into<PathBuf>) -> Self {
        Self {
            addr,
            web_dir: web_dir.into(),
            data_dir: data_dir.into(),
            photo_store: store::photos::PhotoStoreKind::Folder,
            secure_cookies: false,
            tile_url: None,
            tile_attribution: None,
            metrics_token: None,
            count_requests: true,
            secret_key_file: None,
            session_idle_minutes: 30,
            tile_cache_mb: 64,
            reminders: reminders::ReminderConfig::none(),
        }
    }
}

/// The whole service as a router: what `main` serves and what the tests start on port 0.
/// `Router::layer` puts the request span inside routing, where the matched route is known.
pub fn app(state: AppState, config: &ServerConfig) -> Router {
    http::router(state, &config.web_dir)
        .layer(CompressionLayer::new())
        .layer(axum::middleware::from_fn(http::lang::scope))
        .layer(axum::middleware::from_fn(http::trace::request_span))
}

/// Serves until Ctrl-C or SIGTERM, then lets in-flight requests finish (up to `grace`).
pub async fn serve(listener: tokio::net::TcpListener, app: Router, grace: Duration) -> std::io::Result<()> {
    let (stop_tx, stop_rx) = tokio::sync::watch::channel(());
    let server = axum::serve(listener, app.into_make_service_with_connect_info::<std::net::SocketAddr>())
        .with_graceful_shutdown(async move {
            shutdown_signal().await;
            tracing::info!("shutting down: finishing in-flight requests");
            drop(stop_tx);
        });
    let mut stop_rx = stop_rx;
    tokio::select! {
        r = server => r,
        _ = async {
            let _ = stop_rx.changed().await;
            tokio::time::sleep(grace).await;
        } => {
            tracing::warn!("requests still running after {grace:?}; exiting anyway");
            Ok(())
        }
    }
}

async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        _ = ctrl_c => {},
        _ = terminate => {},
    }
}
