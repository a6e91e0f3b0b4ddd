//! Reads on PostgreSQL streaming replicas, writes on the primary, and what happens when either
//! goes away. Nothing here replicates: PostgreSQL does (`pg_basebackup -R`); this decides where
//! each read goes.
//!
//! - A replica is in the read pool while it has replayed everything the primary had written
//!   `max_lag` ago (its replay position against the primary's write positions sampled each
//!   second), so a page read there is never older than that bound. One that falls behind, or
//!   does not answer, is left out until it catches up; with none in the pool, reads go to the
//!   primary.
//! - A caller who has just written reads from the primary for `max_lag` (a cookie the http layer
//!   sets, so any instance honours it): by then every replica in the pool holds the write.
//! - With the primary gone, the replicas that answer keep serving reads (older than the bound,
//!   but the public map stays up), and writes answer 503 "read-only for now".
//! - When the operator promotes a replica (`pg_ctl promote`) while the primary is gone, the
//!   primary's pool follows it: new connections go there, without a restart.

use std::collections::VecDeque;
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, AtomicI64, AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use sqlx::postgres::PgConnectOptions;

use super::{DatabaseUrl, Db, DbConfig};

/// Set while a watched primary does not answer as a primary (for the error's words: "read-only for
/// now" rather than "unreachable", as reads go on from the replicas).
static PRIMARY_GONE: AtomicBool = AtomicBool::new(false);

/// True while the primary is gone and replicas answer the reads.
pub fn primary_gone() -> bool {
    PRIMARY_GONE.load(Ordering::Relaxed)
}

/// How often the primary and the replicas are looked at.
const TICK: Duration = Duration::from_secs(1);

/// The primary's pool, the replicas' pools and which replicas are in the read pool now.
pub struct Replicas {
    primary: Db,
    members: Vec<Member>,
    max_lag: Duration,
    next: AtomicUsize,
    primary_down: AtomicBool,
    /// The primary's write position (bytes of WAL) at each look, newest last.
    samples: Mutex<VecDeque<(Instant, i64)>>,
}

struct Member {
    /// host:port, for the log and /metrics.
    name: String,
    pool: Db,
    options: PgConnectOptions,
    in_pool: AtomicBool,
    /// Bytes of WAL the replica is behind the primary's newest position (-1 unknown).
    behind: AtomicI64,
}

/// One look at a server: whether it is a standby, and its position (write position for a primary,
/// replay position for a standby).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Look {
    pub standby: bool,
    pub position: i64,
}

/// Whether a replica at `replayed` is recent enough: it holds what the primary had written at the
/// newest sample taken `max_lag` or more before `now` (the oldest sample while there is none that
/// old, as just after the start). Pure, for the tests.
pub fn recent_enough(samples: &VecDeque<(Instant, i64)>, now: Instant, max_lag: Duration, replayed: i64) -> bool {
    let bound = samples
        .iter()
        .rev()
        .find(|(at, _)| now.saturating_duration_since(*at) >= max_lag)
        .or_else(|| samples.front())
        .map(|(_, position)| *position);
    bound.is_none_or(|b| replayed >= b)
}

impl Replicas {
    /// The primary alone (no replicas configured): every read goes to it.
    pub fn primary_only(primary: Db) -> Self {
        Self::with_members(primary, Vec::new(), Duration::from_secs(5))
    }

    pub fn new(primary: Db, config: &DbConfig) -> Result<Self, sqlx::Error> {
        let members =
            config.read_database_urls.iter().map(|url| member(config, url)).collect::<Result<Vec<_>, sqlx::Error>>()?;
        Ok(Self::with_members(primary, members, Duration::from_secs(config.read_max_lag_secs)))
    }

    fn with_members(primary: Db, members: Vec<Member>, max_lag: Duration) -> Self {
        Self {
            primary,
            members,
            max_lag,
            next: AtomicUsize::new(0),
            primary_down: AtomicBool::new(false),
            samples: Mutex::new(VecDeque::new()),
        }
    }

    /// How long a caller who has just written reads from the primary.
    pub fn max_lag(&self) -> Duration {
        self.max_lag
    }

    pub fn has_replicas(&self) -> bool {
        !self.members.is_empty()
    }

    /// True while the primary does not answer as a primary (and replicas are configured).
    pub fn primary_down(&self) -> bool {
        self.primary_down.load(Ordering::Relaxed)
    }

    /// Where the next read goes: the replicas in the pool in turn, the primary when there is none.
    pub fn read(&self) -> &Db {
        let live: Vec<&Member> = self.members.iter().filter(|m| m.in_pool.load(Ordering::Relaxed)).collect();
        if live.is_empty() {
            return &self.primary;
        }
        &live[self.next.fetch_add(1, Ordering::Relaxed) % live.len()].pool
    }

    /// Each replica: its name, whether it is in the read pool, and how far behind it is (bytes).
    pub fn status(&self) -> Vec<(String, bool, i64)> {
        self.members
            .iter()
            .map(|m| (m.name.clone(), m.in_pool.load(Ordering::Relaxed), m.behind.load(Ordering::Relaxed)))
            .collect()
    }

    /// Looks at the primary and every replica once a second, for as long as the service runs.
    pub fn watch(self: std::sync::Arc<Self>) {
        if self.members.is_empty() {
            return;
        }
        tokio::spawn(async move {
            let mut tick = tokio::time::interval(TICK);
            tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            loop {
                tick.tick().await;
                self.look_once().await;
            }
        });
    }

    /// One round: the primary's position, then each replica against it.
    pub async fn look_once(&self) {
        let now = Instant::now();
        let primary = look(&self.primary).await.filter(|l| !l.standby);
        let was_down = self.primary_down.swap(primary.is_none(), Ordering::Relaxed);
        PRIMARY_GONE.store(primary.is_none(), Ordering::Relaxed);
        if was_down != primary.is_none() {
            match primary {
                None => tracing::warn!(
                    "the primary database does not answer as a primary: writes are refused, reads go to the replicas"
                ),
                Some(_) => tracing::info!("the primary database answers again"),
            }
        }
        let newest = primary.map(|p| p.position);
        let samples = {
            let mut samples = self.samples.lock().unwrap_or_else(|e| e.into_inner());
            if let Some(position) = newest {
                samples.push_back((now, position));
                while samples.len() > 2 && samples.get(1).is_some_and(|(at, _)| now.duration_since(*at) > self.max_lag)
                {
                    samples.pop_front();
                }
            }
            samples.clone()
        };
        for m in &self.members {
            let seen = look(&m.pool).await;
            let in_pool = match (seen, newest) {
                (None, _) => false,
                // A replica that is no longer a standby was promoted: with the primary gone, it is
                // the primary now.
                (Some(l), None) if !l.standby => {
                    self.follow(m);
                    true
                }
                (Some(_), None) => true,
                (Some(l), Some(p)) => {
                    m.behind.store((p - l.position).max(0), Ordering::Relaxed);
                    l.standby && recent_enough(&samples, now, self.max_lag, l.position)
                }
            };
            if m.in_pool.swap(in_pool, Ordering::Relaxed) != in_pool {
                if in_pool {
                    tracing::info!(replica = %m.name, "a replica joins the read pool");
                } else {
                    tracing::warn!(replica = %m.name, "a replica leaves the read pool (behind or not answering)");
                }
            }
        }
    }

    /// Points the primary's pool at a promoted replica: connections made from now on go there.
    fn follow(&self, to: &Member) {
        let current = self.primary.connect_options();
        if current.get_host() == to.options.get_host() && current.get_port() == to.options.get_port() {
            return;
        }
        tracing::warn!(primary = %to.name, "following the promoted replica: writes go there from now on");
        self.primary.set_connect_options((*current).clone().host(to.options.get_host()).port(to.options.get_port()));
        self.primary_down.store(false, Ordering::Relaxed);
        PRIMARY_GONE.store(false, Ordering::Relaxed);
    }
}

fn member(config: &DbConfig, url: &DatabaseUrl) -> Result<Member, sqlx::Error> {
    let options = config.options_for(url)?;
    let name = format!("{}:{}", options.get_host(), options.get_port());
    Ok(Member {
        name,
        pool: config.pool_at(url)?,
        options,
        in_pool: AtomicBool::new(false),
        behind: AtomicI64::new(-1),
    })
}

/// Whether `db` is a standby and its WAL position, or None when it does not answer within a second.
async fn look(db: &Db) -> Option<Look> {
    // Runtime-checked: the replicas need not be migrated to the version .sqlx/ describes.
    let query = sqlx::query_as::<_, (bool, i64)>(
        "SELECT pg_is_in_recovery(),
                (CASE WHEN pg_is_in_recovery() THEN pg_last_wal_replay_lsn() ELSE pg_current_wal_lsn() END - '0/0'::pg_lsn)::bigint",
    )
    .fetch_one(db);
    match tokio::time::timeout(TICK, query).await {
        Ok(Ok((standby, position))) => Some(Look { standby, position }),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_replica_must_hold_what_the_primary_had_written_max_lag_ago() {
        let start = Instant::now();
        let lag = Duration::from_secs(5);
        let samples: VecDeque<(Instant, i64)> =
            (0..10).map(|s| (start + Duration::from_secs(s), 1000 * s as i64)).collect();
        let now = start + Duration::from_secs(9);
        // Five seconds before "now" the primary was at 4000.
        assert!(recent_enough(&samples, now, lag, 4000));
        assert!(recent_enough(&samples, now, lag, 8500));
        assert!(!recent_enough(&samples, now, lag, 3999), "more than five seconds behind");
        // Just after the start there is no sample that old: the oldest one is the bound.
        let early = start + Duration::from_secs(2);
        let first: VecDeque<_> = samples.iter().take(3).copied().collect();
        assert!(recent_enough(&first, early, lag, 0));
        assert!(!recent_enough(&first, early, lag, -1));
        assert!(recent_enough(&VecDeque::new(), early, lag, 0), "nothing known of the primary yet");
    }
}
