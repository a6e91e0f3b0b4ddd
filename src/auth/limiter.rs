//! Slows down password guessing: too many failed logins for one username or from one address
//! within a window are refused (429) until the window has passed. The counts live in the database
//! (`store::throttle`), so every instance of the service holds the same line.

use std::time::Duration;

use crate::store::{Db, throttle};

pub struct LoginLimiter {
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
        Self { window, per_user, per_address }
    }

    /// The username's key (case does not make another account) and the address's.
    fn keys(username: &str, address: &str) -> [String; 2] {
        [format!("user:{}", username.to_lowercase()), format!("addr:{address}")]
    }

    /// How long the caller must wait, given the counts under its keys with their ages in seconds:
    /// the longest lockout of the two, or `None`.
    fn wait(&self, counts: &[(String, i32, f64)]) -> Option<Duration> {
        counts
            .iter()
            .filter_map(|(key, count, age)| {
                let limit = if key.starts_with("user:") { self.per_user } else { self.per_address };
                let left = self.window.as_secs_f64() - age.max(0.0);
                (u32::try_from(*count).unwrap_or(0) >= limit && left > 0.0).then(|| Duration::from_secs_f64(left))
            })
            .max()
    }

    /// `Ok(Err(wait))` when either the username or the address is locked out.
    pub async fn check(&self, db: &Db, username: &str, address: &str) -> Result<Result<(), Duration>, sqlx::Error> {
        let counts = throttle::counts(db, &Self::keys(username, address)).await?;
        Ok(self.wait(&counts).map_or(Ok(()), Err))
    }

    pub async fn failed(&self, db: &Db, username: &str, address: &str) -> Result<(), sqlx::Error> {
        throttle::failed(db, &Self::keys(username, address), self.window.as_secs_f64()).await
    }

    /// A successful login clears the username's count (not the address's: one right password
    /// must not reset a guessing run against other accounts).
    pub async fn succeeded(&self, db: &Db, username: &str, address: &str) -> Result<(), sqlx::Error> {
        let [user, _] = Self::keys(username, address);
        throttle::clear(db, &user).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn counts(rows: &[(&str, i32, f64)]) -> Vec<(String, i32, f64)> {
        rows.iter().map(|(k, c, a)| ((*k).to_owned(), *c, *a)).collect()
    }

    #[test]
    fn a_username_is_locked_at_its_limit_until_the_window_passes() {
        let l = LoginLimiter::new(Duration::from_secs(60), 3, 100);
        assert_eq!(l.wait(&counts(&[("user:bureau", 2, 10.0)])), None, "under the limit");
        assert_eq!(l.wait(&counts(&[("user:bureau", 3, 10.0)])), Some(Duration::from_secs(50)));
        assert_eq!(l.wait(&counts(&[("user:bureau", 3, 61.0)])), None, "the window has passed");
        assert_eq!(l.wait(&counts(&[("addr:1.2.3.4", 3, 10.0)])), None, "an address has its own limit");
    }

    #[test]
    fn the_longer_of_two_lockouts_is_the_wait() {
        let l = LoginLimiter::new(Duration::from_secs(60), 3, 4);
        let both = counts(&[("user:bureau", 5, 40.0), ("addr:9.9.9.9", 4, 5.0)]);
        assert_eq!(l.wait(&both), Some(Duration::from_secs(55)));
    }

    #[test]
    fn keys_ignore_the_usernames_case() {
        assert_eq!(LoginLimiter::keys("BUREAU", "::1"), ["user:bureau".to_owned(), "addr:::1".to_owned()]);
    }
}
