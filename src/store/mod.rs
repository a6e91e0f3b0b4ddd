//! All SQL lives here, one module per aggregate. Geometry work (validity, containment, shares of
//! length and area) is done by PostGIS; this layer only moves validated values in and out.

pub mod accounts;
pub mod assessment;
pub mod audit;
pub mod campaigns;
pub mod categories;
mod database_url;
pub mod demo;
pub mod departments;
mod error;
pub mod events;
pub mod export;
pub mod geometry;
pub mod held;
pub mod idempotency;
pub mod import;
pub mod ledger;
pub mod photos;
pub mod reminders;
pub mod replicas;
pub mod reports;
pub mod review;
pub mod rollups;
pub mod sessions;
pub mod task_count;
pub mod tasks;
pub mod throttle;
pub mod tiles;
pub mod township_import;
pub mod townships;
pub mod two_factor;

use std::time::Duration;

use sqlx::postgres::{PgConnectOptions, PgPoolOptions};
use sqlx::{ConnectOptions, PgPool};

pub use database_url::DatabaseUrl;
pub use error::{StoreError, StoreResult, is_read_only, is_transient, unless_read_only};
pub use held::Held;

pub type Db = PgPool;

pub static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("./migrations");

/// How long a pooled connection may sit unused before it is checked (pinged) on its way out.
const IDLE_BEFORE_PING: Duration = Duration::from_secs(1);

#[derive(Debug, Clone, clap::Args)]
pub struct DbConfig {
    /// PostgreSQL URL of a database with PostGIS available (CREATE EXTENSION rights on first run).
    // `--help` would otherwise print the environment's value, password and all.
    #[arg(long, env = "DATABASE_URL", hide_env_values = true)]
    pub database_url: DatabaseUrl,
    /// The county's time zone: "today" for deadlines and the year in task codes follow it.
    #[arg(long, env = "GREENLEDGER_TIMEZONE", default_value = "Asia/Shanghai")]
    pub timezone: String,
    /// Database connections in the pool.
    #[arg(long, env = "GREENLEDGER_DB_CONNECTIONS", default_value_t = 16)]
    pub db_connections: u32,
    /// Seconds to wait for a database connection before answering 503.
    #[arg(long, env = "GREENLEDGER_DB_TIMEOUT", default_value_t = 5)]
    pub db_timeout_secs: u64,
    /// How far (metres) a task's geometry may reach beyond every township before it is refused
    /// (the bureau may still accept it with outside=accept).
    #[arg(long, env = "GREENLEDGER_OUTSIDE_TOLERANCE_M", default_value_t = crate::domain::bounds::DEFAULT_TOLERANCE_M)]
    pub outside_tolerance_m: f64,
    /// PostgreSQL URLs of streaming replicas of that database, comma-separated: public reads,
    /// tiles, OGC items, rollups and exports go there (store/replicas.rs). When the primary is
    /// gone and one of them is promoted, writes follow it.
    #[arg(long, env = "GREENLEDGER_READ_DATABASE_URLS", hide_env_values = true, value_delimiter = ',')]
    pub read_database_urls: Vec<DatabaseUrl>,
    /// Seconds a replica may lag behind the primary before it is taken out of the read pool; a
    /// caller who has just written reads from the primary for as long.
    #[arg(long, env = "GREENLEDGER_READ_MAX_LAG", default_value_t = 5, value_parser = clap::value_parser!(u64).range(1..=3600))]
    pub read_max_lag_secs: u64,
}

impl DbConfig {
    pub fn new(database_url: impl Into<DatabaseUrl>) -> Self {
        Self {
            database_url: database_url.into(),
            timezone: "Asia/Shanghai".into(),
            db_connections: 16,
            db_timeout_secs: 5,
            outside_tolerance_m: crate::domain::bounds::DEFAULT_TOLERANCE_M,
            read_database_urls: Vec::new(),
            read_max_lag_secs: 5,
        }
    }

    pub(crate) fn options_for(&self, url: &DatabaseUrl) -> Result<PgConnectOptions, sqlx::Error> {
        let opts: PgConnectOptions = url.expose().parse()?;
        Ok(opts
            .options([("timezone", self.timezone.as_str())])
            .application_name("greenledger")
            .log_statements(tracing::log::LevelFilter::Trace)
            .log_slow_statements(tracing::log::LevelFilter::Warn, Duration::from_secs(10)))
    }

    /// A pool that connects on first use, so the service starts (and reports 503 on /api/health)
    /// while the database is still down.
    pub fn pool(&self) -> Result<Db, sqlx::Error> {
        self.pool_at(&self.database_url)
    }

    /// A pool like `pool` on another server of the same database (a replica).
    pub(crate) fn pool_at(&self, url: &DatabaseUrl) -> Result<Db, sqlx::Error> {
        let timezone = self.timezone.clone();
        let tolerance = self.outside_tolerance_m.to_string();
        Ok(PgPoolOptions::new()
            .max_connections(self.db_connections)
            .acquire_timeout(Duration::from_secs(self.db_timeout_secs))
            // sqlx pings every connection it hands out by default: a round trip as long as a
            // whole small statement, doubling the cost of every answer. Only a connection that
            // has sat idle is pinged (one that died meanwhile is replaced, not handed out); one
            // in steady use proves itself with each statement, and if its server went away
            // between two of them the request answers 503 (try again), as a lost connection does.
            .test_before_acquire(false)
            .before_acquire(|conn, meta| {
                Box::pin(async move {
                    if meta.idle_for >= IDLE_BEFORE_PING {
                        sqlx::Connection::ping(conn).await?;
                    }
                    Ok(true)
                })
            })
            // sqlx sends TimeZone=UTC in its startup message, which wins over the `-c timezone` of
            // `options`: without this, "today" (overdue, stale, the rollups) would be UTC's date.
            .after_connect(move |conn, _| {
                let (timezone, tolerance) = (timezone.clone(), tolerance.clone());
                Box::pin(async move {
                    // The county's bounds are checked by the tasks' trigger, which reads the
                    // tolerance from the session (see migrations/0007).
                    sqlx::query!(
                        "SELECT FROM set_config('TimeZone', $1, false) AS timezone,
                                     set_config('greenledger.outside_tolerance_m', $2, false) AS tolerance",
                        timezone,
                        tolerance
                    )
                    .execute(conn)
                    .await?;
                    Ok(())
                })
            })
            .connect_lazy_with(self.options_for(url)?))
    }
}

/// Opens the transaction of an interactive read (a tile, a page of features and its count): its
/// statements see one snapshot, so a page's `numberMatched` agrees with its features, and they run
/// without parallel workers. Starting a worker took 15-20 ms on the 2-core machines measured
/// (BENCHMARKS.md, "Interop and scale"), longer than the whole of such a statement; PostgreSQL's
/// planner still chose them for a statement's first five runs on each connection, before its
/// cached plan turned generic.
pub(crate) async fn interactive_read(db: &Db) -> Result<sqlx::Transaction<'static, sqlx::Postgres>, sqlx::Error> {
    begin_with(
        db,
        "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY; SET LOCAL max_parallel_workers_per_gather = 0; SET LOCAL plan_cache_mode = force_custom_plan",
    )
    .await
}

/// Opens a read-write transaction (see `begin_with`).
pub async fn begin(db: &Db) -> Result<sqlx::Transaction<'static, sqlx::Postgres>, sqlx::Error> {
    let db = db.clone();
    uncancelled(async move { db.begin().await }).await
}

/// Opens a transaction with its own opening SQL (an isolation level, settings), safe to cancel: the
/// one way request code opens a transaction on the pool.
pub(crate) async fn begin_with(
    db: &Db,
    opening: impl Into<std::borrow::Cow<'static, str>>,
) -> Result<sqlx::Transaction<'static, sqlx::Postgres>, sqlx::Error> {
    let (db, opening) = (db.clone(), opening.into());
    // Runtime-checked: transaction-opening SQL for begin_with, which takes a string.
    uncancelled(async move { db.begin_with(opening).await }).await
}

/// Runs the opening of a transaction to its end on a task of its own. sqlx 0.8 counts a
/// transaction as open only once BEGIN has answered (its guard for a cancelled BEGIN queues no
/// ROLLBACK, as the depth it checks is not raised yet): a request dropped in between (a browser
/// cancelling a tile or the league table as the map moves) returned the connection to the pool
/// inside a transaction sqlx did not know of, and every later request on it ran there (a read-only
/// snapshot refused writes; a read-write one would never have committed). Run to its end, the
/// transaction is always known, and dropped whole (rolled back) when its caller is gone.
async fn uncancelled<F>(opening: F) -> Result<sqlx::Transaction<'static, sqlx::Postgres>, sqlx::Error>
where
    F: std::future::Future<Output = Result<sqlx::Transaction<'static, sqlx::Postgres>, sqlx::Error>> + Send + 'static,
{
    tokio::spawn(opening).await.map_err(|e| sqlx::Error::Io(std::io::Error::other(e)))?
}

/// A pooled connection on which a transaction is opened in place, where `begin_with` cannot be
/// used: the rollups take two connections from the pool at once, one after the other in the pool's
/// queue (a pool with one connection free must not hand it to the second and starve the first),
/// and the second joins the first's snapshot. Dropped while BEGIN is on its way (the request was
/// cancelled, see `uncancelled`), it closes the connection instead of returning it to the pool
/// inside a transaction sqlx does not know of.
pub(crate) struct Opening {
    conn: sqlx::pool::PoolConnection<sqlx::Postgres>,
    beginning: bool,
}

impl Opening {
    pub fn new(conn: sqlx::pool::PoolConnection<sqlx::Postgres>) -> Self {
        Opening { conn, beginning: false }
    }

    pub async fn begin(
        &mut self,
        opening: impl Into<std::borrow::Cow<'static, str>>,
    ) -> Result<sqlx::Transaction<'_, sqlx::Postgres>, sqlx::Error> {
        self.beginning = true;
        // Runtime-checked: transaction-opening SQL for begin_with, which takes a string.
        let tx = sqlx::Connection::begin_with(&mut *self.conn, opening).await?;
        self.beginning = false;
        Ok(tx)
    }
}

impl Drop for Opening {
    fn drop(&mut self) {
        if self.beginning {
            self.conn.close_on_drop();
        }
    }
}

/// Applies pending migrations (creating PostGIS first if the database lacks it).
pub async fn migrate(db: &Db) -> Result<(), sqlx::migrate::MigrateError> {
    MIGRATOR.run(db).await
}

/// The PostGIS version, which also proves the database answers.
pub async fn postgis_version(conn: &mut sqlx::PgConnection) -> Result<String, sqlx::Error> {
    sqlx::query_scalar!(r#"SELECT postgis_lib_version() AS "version!""#).fetch_one(conn).await
}

/// The migrations this binary knows that the database has not applied successfully (an upgrade
/// whose `migrate` has not run yet, or one that failed half-way).
pub async fn pending_migrations(db: &Db) -> Result<Vec<i64>, sqlx::Error> {
    let applied = sqlx::query_scalar!("SELECT version FROM _sqlx_migrations WHERE success")
        .fetch_all(db)
        .await
        .or_else(|e| match &e {
            // No bookkeeping table: nothing was ever applied.
            sqlx::Error::Database(d) if d.code().as_deref() == Some("42P01") => Ok(Vec::new()),
            _ => Err(e),
        })?;
    let known = MIGRATOR.iter().filter(|m| !m.migration_type.is_down_migration());
    Ok(known.map(|m| m.version).filter(|v| !applied.contains(v)).collect())
}
