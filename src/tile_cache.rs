//! Vector tiles kept in memory, per instance, per tile and per viewer (what a viewer may see is part
//! of the key: the public never gets a tile built for an officer).
//!
//! Exact across instances: every change to tasks sends a notice at commit naming the area it touched
//! (migrations: tasks_notify_tiles), which every instance listens for on the primary and drops the
//! tiles over that area, clusters at low zooms included. A tile being built while such a notice
//! arrives is not kept, nor one read from a replica that may not hold a change noticed within the
//! read pool's lag bound (`GREENLEDGER_READ_MAX_LAG`, the bound every read from a replica already
//! trusts). While the listening connection is down nothing is answered from memory, and what was
//! kept is dropped when it comes back, as notices may have been missed in between. Tiles are also
//! dropped at midnight on the database's calendar, when tasks may turn overdue without changing.
//!
//! Bounded: the tiles' bytes (and a little for each entry) stay under the configured size; past it
//! the least recently used eighth goes.

use std::collections::{HashMap, VecDeque};
use std::sync::Arc;
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use axum::body::Bytes;
use axum::http::HeaderValue;

use crate::domain::access::Viewer;
use crate::domain::tile::{MercatorBox, TileId, changed_areas};
use crate::store::Db;
use crate::store::tiles::{BUFFER, EXTENT};

/// The channel the notices of changed tasks go on.
pub const CHANNEL: &str = "greenledger_tiles";
/// What an entry costs beside its bytes (key, tag, bookkeeping), for the size bound.
const ENTRY_OVERHEAD: usize = 160;
/// A build that took longer than this is not kept: the notices it is checked against are kept this
/// long beyond the lag bound.
const LONGEST_BUILD: Duration = Duration::from_secs(60);

/// A tile as kept: its bytes and their ETag.
#[derive(Clone)]
pub struct Cached {
    pub bytes: Bytes,
    pub etag: HeaderValue,
}

struct Entry {
    tile: Cached,
    until: Instant,
    used: u64,
}

/// A change noticed: when, and where (None: everything).
struct Change {
    at: Instant,
    areas: Option<Vec<MercatorBox>>,
}

impl Change {
    fn touches(&self, tile: &TileId) -> bool {
        self.areas.as_ref().is_none_or(|areas| areas.iter().any(|a| tile.touched_by(a, EXTENT, BUFFER)))
    }
}

#[derive(Default)]
struct Inner {
    entries: HashMap<(TileId, Viewer), Entry>,
    size: usize,
    clock: u64,
    recent: VecDeque<Change>,
}

pub struct TileCache {
    capacity: usize,
    /// Milliseconds a replica may lag (zero without replicas): notices are kept that much longer.
    lag_ms: AtomicU64,
    listening: AtomicBool,
    inner: Mutex<Inner>,
}

impl TileCache {
    /// A cache of at most `megabytes` (0: none), for reads from the primary until told of replicas.
    pub fn new(megabytes: u64) -> Self {
        TileCache {
            capacity: usize::try_from(megabytes.saturating_mul(1 << 20)).unwrap_or(usize::MAX),
            lag_ms: AtomicU64::new(0),
            listening: AtomicBool::new(false),
            inner: Mutex::default(),
        }
    }

    /// Reads may also come from replicas up to `lag` behind the primary.
    pub fn set_replica_lag(&self, lag: Duration) {
        self.lag_ms.store(u64::try_from(lag.as_millis()).unwrap_or(u64::MAX), Ordering::Release);
    }

    fn lag(&self) -> Duration {
        Duration::from_millis(self.lag_ms.load(Ordering::Acquire))
    }

    pub fn enabled(&self) -> bool {
        self.capacity > 0
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// The kept tile, while it is current.
    pub fn get(&self, tile: TileId, viewer: &Viewer) -> Option<Cached> {
        if !self.enabled() || !self.listening.load(Ordering::Acquire) {
            return None;
        }
        let mut inner = self.lock();
        inner.clock += 1;
        let clock = inner.clock;
        let key = (tile, viewer.clone());
        let entry = inner.entries.get_mut(&key)?;
        if entry.until <= Instant::now() {
            let gone = inner.entries.remove(&key).expect("just found");
            inner.size -= gone.tile.bytes.len() + ENTRY_OVERHEAD;
            return None;
        }
        entry.used = clock;
        Some(entry.tile.clone())
    }

    /// Keeps a tile built from a read that began at `started`, from the primary (`from_primary`) or
    /// from a replica, current for `fresh_for`; unless a change over it was noticed since the read
    /// began (or, from a replica, within the lag bound before it). Whether it was kept.
    pub fn put(
        &self,
        tile: TileId,
        viewer: &Viewer,
        built: Cached,
        started: Instant,
        from_primary: bool,
        fresh_for: Duration,
    ) -> bool {
        let now = Instant::now();
        if !self.enabled() || !self.listening.load(Ordering::Acquire) || now - started > LONGEST_BUILD {
            return false;
        }
        let since = started.checked_sub(if from_primary { Duration::ZERO } else { self.lag() });
        let mut inner = self.lock();
        if inner.recent.iter().any(|c| since.is_none_or(|s| c.at >= s) && c.touches(&tile)) {
            return false;
        }
        inner.clock += 1;
        let entry = Entry { until: now + fresh_for, used: inner.clock, tile: built };
        inner.size += entry.tile.bytes.len() + ENTRY_OVERHEAD;
        if let Some(old) = inner.entries.insert((tile, viewer.clone()), entry) {
            inner.size -= old.tile.bytes.len() + ENTRY_OVERHEAD;
        }
        if inner.size > self.capacity {
            shrink(&mut inner, self.capacity / 8 * 7);
        }
        true
    }

    /// Drops every kept tile a change over `areas` (None: everywhere) may alter, and remembers the
    /// change for the builds under way.
    pub fn changed(&self, areas: Option<Vec<MercatorBox>>) {
        let now = Instant::now();
        let change = Change { at: now, areas };
        let mut inner = self.lock();
        let Inner { entries, size, .. } = &mut *inner;
        entries.retain(|(tile, _), e| {
            let keep = !change.touches(tile);
            if !keep {
                *size -= e.tile.bytes.len() + ENTRY_OVERHEAD;
            }
            keep
        });
        let horizon = self.lag() + LONGEST_BUILD;
        while inner.recent.front().is_some_and(|c| now - c.at > horizon) {
            inner.recent.pop_front();
        }
        inner.recent.push_back(change);
    }

    /// Listens for the notices of changed tasks on the primary, for as long as the process runs.
    pub fn listen(self: Arc<Self>, primary: Db) {
        if !self.enabled() {
            return;
        }
        tokio::spawn(async move {
            loop {
                if let Err(e) = self.listen_once(&primary).await {
                    tracing::warn!(error = %e, "tile cache: not listening for changes; tiles are built afresh meanwhile");
                }
                self.listening.store(false, Ordering::Release);
                self.changed(None);
                tokio::time::sleep(Duration::from_secs(1)).await;
            }
        });
    }

    async fn listen_once(&self, primary: &Db) -> Result<(), sqlx::Error> {
        let mut listener = sqlx::postgres::PgListener::connect_with(primary).await?;
        listener.listen(CHANNEL).await?;
        // Whatever was built before now may predate a notice missed while not listening.
        self.changed(None);
        self.listening.store(true, Ordering::Release);
        // try_recv: None when the connection was lost (notices may have been missed), rather than
        // reconnecting silently as recv does.
        while let Some(notice) = listener.try_recv().await? {
            self.changed(changed_areas(notice.payload()));
        }
        Ok(())
    }
}

/// Drops the least recently used entries until the bytes kept are at most `target`.
fn shrink(inner: &mut Inner, target: usize) {
    let mut by_use: Vec<(u64, (TileId, Viewer))> = inner.entries.iter().map(|(k, e)| (e.used, k.clone())).collect();
    by_use.sort_unstable_by_key(|(used, _)| *used);
    for (_, key) in by_use {
        if inner.size <= target {
            break;
        }
        if let Some(gone) = inner.entries.remove(&key) {
            inner.size -= gone.tile.bytes.len() + ENTRY_OVERHEAD;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tile(x: u32) -> TileId {
        TileId { z: 14, x, y: 6714 }
    }

    fn bytes(n: usize) -> Cached {
        Cached { bytes: Bytes::from(vec![7u8; n]), etag: HeaderValue::from_static("\"t\"") }
    }

    fn listening(mb: u64, lag: Duration) -> TileCache {
        let c = TileCache::new(mb);
        c.set_replica_lag(lag);
        c.listening.store(true, Ordering::Release);
        c
    }

    const DAY: Duration = Duration::from_secs(86_400);

    #[test]
    fn tiles_are_kept_per_viewer_and_dropped_where_a_change_touches() {
        let c = listening(1, Duration::ZERO);
        let before = Instant::now();
        assert!(c.put(tile(13651), &Viewer::Public, bytes(10), before, true, DAY));
        assert!(c.put(tile(13700), &Viewer::Public, bytes(10), before, true, DAY));
        assert!(c.get(tile(13651), &Viewer::Staff).is_none(), "another viewer's tile is not answered");
        assert!(c.get(tile(13651), &Viewer::Public).is_some());
        let (west, north, _) = tile(13651).mercator_frame(EXTENT);
        c.changed(Some(vec![[west + 10.0, north - 10.0, west + 10.0, north - 10.0]]));
        assert!(c.get(tile(13651), &Viewer::Public).is_none());
        assert!(c.get(tile(13700), &Viewer::Public).is_some(), "a tile away from the change stays");
        c.changed(None);
        assert!(c.get(tile(13700), &Viewer::Public).is_none());
    }

    #[test]
    fn a_build_overtaken_by_a_change_is_not_kept() {
        let c = listening(1, Duration::ZERO);
        let started = Instant::now();
        c.changed(Some(vec![[-1e9, -1e9, 1e9, 1e9]]));
        assert!(!c.put(tile(1), &Viewer::Public, bytes(1), started, true, DAY));
        assert!(c.put(tile(1), &Viewer::Public, bytes(1), Instant::now(), true, DAY));
    }

    #[test]
    fn a_replica_read_within_the_lag_of_a_change_is_not_kept() {
        let c = listening(1, Duration::from_secs(5));
        c.changed(Some(vec![[-1e9, -1e9, 1e9, 1e9]]));
        let started = Instant::now();
        assert!(!c.put(tile(1), &Viewer::Public, bytes(1), started, false, DAY));
        assert!(c.put(tile(1), &Viewer::Public, bytes(1), started, true, DAY));
    }

    #[test]
    fn nothing_is_answered_while_not_listening_or_past_midnight_or_when_off() {
        let c = TileCache::new(1);
        assert!(!c.put(tile(1), &Viewer::Public, bytes(1), Instant::now(), true, DAY));
        let c = listening(1, Duration::ZERO);
        assert!(c.put(tile(1), &Viewer::Public, bytes(1), Instant::now(), true, Duration::ZERO));
        assert!(c.get(tile(1), &Viewer::Public).is_none(), "expired at midnight");
        let off = listening(0, Duration::ZERO);
        assert!(!off.put(tile(1), &Viewer::Public, bytes(1), Instant::now(), true, DAY));
    }

    #[test]
    fn the_least_recently_used_go_first_past_the_bound() {
        let c = listening(1, Duration::ZERO);
        let quarter = (1 << 20) / 4;
        for x in 0..3 {
            assert!(c.put(tile(x), &Viewer::Public, bytes(quarter), Instant::now(), true, DAY));
        }
        assert!(c.get(tile(0), &Viewer::Public).is_some());
        assert!(c.put(tile(3), &Viewer::Public, bytes(quarter), Instant::now(), true, DAY));
        assert!(c.get(tile(1), &Viewer::Public).is_none(), "the least recently used went");
        assert!(c.get(tile(0), &Viewer::Public).is_some());
        assert!(c.get(tile(3), &Viewer::Public).is_some());
        assert!(c.lock().size <= 1 << 20);
    }
}
