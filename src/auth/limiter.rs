//! Slows down password guessing: too many failed logins for one username or from one address
//! within a window are refused (429) until the window has passed.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

pub struct LoginLimiter {
    failures: Mutex<HashMap<String, (u32, Instant)>>,
    window: Duration,
    per_user: u32,
    per_address: u32,
}

impl Default for LoginLimiter {
    fn default() -> Self {
        Self::new(Duration::from_secs(15 * 60), 5, 20)
    }
}

impl LoginLimiter {
    pub fn new(window: Duration, per_user: u32, per_address: u32) -> Self {
        Self { failures: Mutex::new(HashMap::new()), window, per_user, per_address }
    }

    fn keys(username: &str, address: &str) -> [(String, u32); 2] {
        [(format!("user:{}", username.to_lowercase()), 0), (format!("addr:{address}"), 1)]
    }

    /// `Err(wait)` when either the username or the address is locked out.
    pub fn check(&self, username: &str, address: &str, now: Instant) -> Result<(), Duration> {
        let map = self.failures.lock().unwrap_or_else(|e| e.into_inner());
        let mut wait = None;
        for (key, kind) in Self::keys(username, address) {
            let limit = if kind == 0 { self.per_user } else { self.per_address };
            if let Some((count, since)) = map.get(&key)
                && *count >= limit
                && now.duration_since(*since) < self.window
            {
                let left = self.window - now.duration_since(*since);
                wait = Some(wait.map_or(left, |w: Duration| w.max(left)));
            }
        }
        wait.map_or(Ok(()), Err)
    }

    pub fn failed(&self, username: &str, address: &str, now: Instant) {
        let mut map = self.failures.lock().unwrap_or_else(|e| e.into_inner());
        if map.len() > 100_000 {
            let window = self.window;
            map.retain(|_, (_, since)| now.duration_since(*since) < window);
        }
        for (key, _) in Self::keys(username, address) {
            let entry = map.entry(key).or_insert((0, now));
            if now.duration_since(entry.1) >= self.window {
                *entry = (0, now);
            }
            entry.0 += 1;
        }
    }

    /// A successful login clears the username's count (not the address's: one right password
    /// must not reset a guessing run against other accounts).
    pub fn succeeded(&self, username: &str, address: &str) {
        let mut map = self.failures.lock().unwrap_or_else(|e| e.into_inner());
        map.remove(&Self::keys(username, address)[0].0);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn locks_a_username_after_the_limit_until_the_window_passes() {
        let l = LoginLimiter::new(Duration::from_secs(60), 3, 100);
        let t0 = Instant::now();
        for _ in 0..3 {
            assert!(l.check("bureau", "1.2.3.4", t0).is_ok());
            l.failed("bureau", "1.2.3.4", t0);
        }
        let wait = l.check("BUREAU", "5.6.7.8", t0 + Duration::from_secs(10)).unwrap_err();
        assert_eq!(wait, Duration::from_secs(50));
        assert!(l.check("admin", "5.6.7.8", t0).is_ok(), "other accounts are not locked");
        assert!(l.check("bureau", "1.2.3.4", t0 + Duration::from_secs(61)).is_ok());
    }

    #[test]
    fn locks_an_address_trying_many_usernames() {
        let l = LoginLimiter::new(Duration::from_secs(60), 100, 4);
        let t0 = Instant::now();
        for i in 0..4 {
            l.failed(&format!("user{i}"), "9.9.9.9", t0);
        }
        assert!(l.check("someone-else", "9.9.9.9", t0).is_err());
        assert!(l.check("someone-else", "8.8.8.8", t0).is_ok());
    }
}
