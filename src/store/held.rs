//! A few connections kept out of the pool for one-statement reads (health, a task, a tile).
//!
//! sqlx 0.8 pings every connection on its way back into its pool, a round trip as long as a small
//! statement, paid by both sides on every answer (BENCHMARKS.md, "Fixed cost of an answer"). A
//! connection here is borrowed from that pool once and then handed from one read to the next
//! without it. Only a read that finished cleanly puts its connection back; any other (an error, a
//! cancelled request) gives it to the pool, which checks it, and with it every other one kept here,
//! so a server that went away costs at most one failed answer rather than one per kept connection.

use std::sync::Mutex;
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
}

impl Held {
    /// Keeps at most a quarter of the pool's connections (at least one), so the pool keeps most.
    pub fn new(db: Db) -> Self {
        let keep = (db.options().get_max_connections() as usize / 4).max(1);
        Self { db, idle: Mutex::new(Vec::with_capacity(keep)), keep }
    }

    /// A connection for one read: the one used last (warm on both sides), or a fresh one from the
    /// pool. Call [`Lent::give_back`] when the read succeeded; dropping it hands it to the pool.
    pub async fn lend(&self) -> Result<Lent<'_>, sqlx::Error> {
        loop {
            let kept = self.idle.lock().unwrap_or_else(|e| e.into_inner()).pop();
            let Some((mut conn, since)) = kept else { break };
            if since.elapsed() < IDLE_BEFORE_PING || conn.ping().await.is_ok() {
                return Ok(Lent { conn: Some(conn), owner: self });
            }
            // Dead: the pool, checking it again, closes it; the others kept may be as dead.
            self.drain();
        }
        let conn = self.db.acquire().await?;
        Ok(Lent { conn: Some(conn), owner: self })
    }

    /// How many connections wait here for the next read (for /metrics: the pool counts them as in
    /// use, as it lent them out).
    pub fn kept(&self) -> usize {
        self.idle.lock().unwrap_or_else(|e| e.into_inner()).len()
    }

    /// Hands every kept connection back to the pool, which checks each on its way in.
    fn drain(&self) {
        let kept = std::mem::take(&mut *self.idle.lock().unwrap_or_else(|e| e.into_inner()));
        drop(kept);
    }
}

/// A connection lent by [`Held`].
pub struct Lent<'h> {
    conn: Option<PoolConnection<Postgres>>,
    owner: &'h Held,
}

impl Lent<'_> {
    /// After a read that succeeded: kept for the next one (the pool gets it when enough are kept).
    pub fn give_back(mut self) {
        let Some(conn) = self.conn.take() else { return };
        let mut idle = self.owner.idle.lock().unwrap_or_else(|e| e.into_inner());
        if idle.len() < self.owner.keep {
            idle.push((conn, Instant::now()));
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
    /// unknown. The pool pings it (and closes it if dead), and the kept ones with it.
    fn drop(&mut self) {
        if self.conn.take().is_some() {
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
