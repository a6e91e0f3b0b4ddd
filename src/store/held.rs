//! A few connections kept out of the pool for one-statement reads (health, a task, a tile).
//!
//! sqlx 0.8 pings every connection on its way back into its pool, a round trip as long as a small
//! statement, paid by both sides on every answer (BENCHMARKS.md, "Fixed cost of an answer"). A
//! connection here is borrowed from that pool once and then handed from one read to the next
//! without it.
//!
//! The connections kept here plan their statements once (`plan_cache_mode = force_generic_plan`).
//! PostgreSQL otherwise plans a prepared statement afresh on every run whenever the plan for the
//! given values looks cheaper than the general one, which for a tile (its envelope folded into a
//! constant) it always does: at zooms 17 and 18 that planning was about two fifths of the
//! database's time per tile (BENCHMARKS.md, "Tiles planned once"). These reads have one plan
//! whatever the values: a task and health by key, a tile through the spatial index or the cells'
//! key. The setting stays on these connections: they are closed, never given back to the pool,
//! whose other users plan as PostgreSQL chooses.
//!
//! Only a read that finished cleanly puts its connection back; any other (an error, a cancelled
//! request) closes it and every other one kept here, so a server that went away costs at most one
//! failed answer rather than one per kept connection.

use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use sqlx::pool::PoolConnection;
use sqlx::{Connection, PgConnection, Postgres};

use super::Db;

/// How long a kept connection may sit unused before it is checked (pinged) before use, as the
/// pool does with its own (`IDLE_BEFORE_PING`).
const IDLE_BEFORE_PING: Duration = super::IDLE_BEFORE_PING;

type Kept = (PoolConnection<Postgres>, Instant);

pub struct Held {
    db: Db,
    idle: Mutex<Vec<Kept>>,
    keep: usize,
    /// Connections set up for these reads, kept here or lent out: at most `keep`.
    enlisted: AtomicUsize,
}

impl Held {
    /// Keeps at most a quarter of the pool's connections (at least one), so the pool keeps most.
    pub fn new(db: Db) -> Self {
        let keep = (db.options().get_max_connections() as usize / 4).max(1);
        Self { db, idle: Mutex::new(Vec::with_capacity(keep)), keep, enlisted: AtomicUsize::new(0) }
    }

    /// A connection for one read: the one used last (warm on both sides), or one from the pool,
    /// set up for these reads while fewer than `keep` are. Call [`Lent::give_back`] when the read
    /// succeeded; dropping it closes it (or, one not set up, hands it back to the pool).
    pub async fn lend(&self) -> Result<Lent<'_>, sqlx::Error> {
        loop {
            let kept = self.idle.lock().unwrap_or_else(|e| e.into_inner()).pop();
            let Some((conn, since)) = kept else { break };
            let mut lent = Lent { conn: Some(conn), enlisted: true, owner: self };
            if since.elapsed() < IDLE_BEFORE_PING || lent.ping().await.is_ok() {
                return Ok(lent);
            }
            // Dead: dropping it closes it; the others kept may be as dead.
            drop(lent);
        }
        let conn = self.db.acquire().await?;
        let enlist =
            self.enlisted.fetch_update(Ordering::AcqRel, Ordering::Acquire, |n| (n < self.keep).then_some(n + 1));
        let mut lent = Lent { conn: Some(conn), enlisted: enlist.is_ok(), owner: self };
        if lent.enlisted {
            // Once per connection. If this fails or is cancelled, dropping `lent` closes the
            // connection, so a pool connection never carries the setting.
            // Runtime-checked: a setting, which has no result for the offline query descriptions.
            let conn: &mut PgConnection = &mut lent;
            sqlx::query("SET plan_cache_mode = force_generic_plan").persistent(false).execute(conn).await?;
        }
        Ok(lent)
    }

    /// How many connections wait here for the next read (for /metrics: the pool counts them as in
    /// use, as it lent them out).
    pub fn kept(&self) -> usize {
        self.idle.lock().unwrap_or_else(|e| e.into_inner()).len()
    }

    /// Closes a connection set up for these reads.
    fn retire(&self, mut conn: PoolConnection<Postgres>) {
        conn.close_on_drop();
        self.enlisted.fetch_sub(1, Ordering::AcqRel);
    }

    /// Closes every kept connection.
    fn drain(&self) {
        let kept = std::mem::take(&mut *self.idle.lock().unwrap_or_else(|e| e.into_inner()));
        for (conn, _) in kept {
            self.retire(conn);
        }
    }
}

/// A connection lent by [`Held`].
pub struct Lent<'h> {
    conn: Option<PoolConnection<Postgres>>,
    /// Set up for these reads (kept when given back), or an ordinary pool connection.
    enlisted: bool,
    owner: &'h Held,
}

impl Lent<'_> {
    /// After a read that succeeded: kept for the next one, or, not set up for these reads, back to
    /// the pool.
    pub fn give_back(mut self) {
        let Some(conn) = self.conn.take() else { return };
        if self.enlisted {
            self.owner.idle.lock().unwrap_or_else(|e| e.into_inner()).push((conn, Instant::now()));
        }
    }
}

impl std::ops::Deref for Lent<'_> {
    type Target = PgConnection;
    fn deref(&self) -> &PgConnection {
        self.conn.as_ref().expect("a lent connection is present until given back")
    }
}

impl std::ops::DerefMut for Lent<'_> {
    fn deref_mut(&mut self) -> &mut PgConnection {
        self.conn.as_mut().expect("a lent connection is present until given back")
    }
}

impl Drop for Lent<'_> {
    /// Not given back: the read failed or was cancelled half-way, and the connection's state is
    /// unknown. It is closed (an ordinary one goes to the pool, which pings it), and the kept ones
    /// with it.
    fn drop(&mut self) {
        if let Some(conn) = self.conn.take() {
            if self.enlisted {
                self.owner.retire(conn);
            }
            self.owner.drain();
        }
    }
}

/// Runs one read on a lent connection, keeping the connection when it succeeds.
pub async fn read<T>(
    held: &Held,
    query: impl AsyncFnOnce(&mut PgConnection) -> Result<T, sqlx::Error>,
) -> Result<T, sqlx::Error> {
    let mut conn = held.lend().await?;
    let value = query(&mut conn).await?;
    conn.give_back();
    Ok(value)
}
