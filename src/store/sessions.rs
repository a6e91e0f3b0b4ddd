//! Web sessions: made at login, looked up on every request with a session cookie, ended by
//! logging out, by the idle timeout, by a password change or by an administrator. Only hashes of
//! the session ids are stored.

use std::time::Duration;

use chrono::{DateTime, Utc};
use uuid::Uuid;

use super::Db;
use super::accounts::{RoleName, User};

/// A session found by its id: whose it is, and whether it was used within the idle timeout.
pub struct Found {
    pub user: User,
    pub idle: bool,
}

/// The live session `token_hash` and its user (an active account), marked used now. The mark is
/// written at most every 30 s, so a page's burst of requests costs one write, and only where the
/// database takes writes: on a read-only one (a standby) the session still reads.
pub async fn find(db: &Db, token_hash: &[u8], idle_after: Duration) -> Result<Option<Found>, sqlx::Error> {
    let row = sqlx::query!(
        r#"SELECT u.id, u.username, u.display_name, u.role AS "role: RoleName", u.township_code, u.department_code, u.must_change_password,
                  f.enrolled AS "two_factor!", f.required AS "two_factor_required!",
                  s.last_seen_at > now() - make_interval(secs => $2) AS "fresh!",
                  s.last_seen_at < now() - interval '30 seconds' AS "unmarked!"
           FROM sessions s JOIN users u ON u.id = s.user_id JOIN account_two_factor f ON f.user_id = u.id
           WHERE s.token_hash = $1 AND s.expires_at > now() AND u.active"#,
        token_hash,
        idle_after.as_secs_f64()
    )
    .fetch_optional(db)
    .await?;
    if let Some(r) = &row
        && r.fresh
        && r.unmarked
    {
        let marked = sqlx::query!("UPDATE sessions SET last_seen_at = now() WHERE token_hash = $1", token_hash)
            .execute(db)
            .await;
        super::unless_read_only(marked)?;
    }
    let Some(r) = row else { return Ok(None) };
    let user = User {
        id: r.id,
        username: r.username,
        display_name: r.display_name,
        role: r.role,
        township: r.township_code,
        department: r.department_code,
        must_change_password: r.must_change_password,
        two_factor: r.two_factor,
        two_factor_required: r.two_factor_required,
    };
    Ok(Some(Found { user, idle: !r.fresh }))
}

/// A new session for `user`. `replaces` is the session the browser held before logging in, which
/// ends: every login gets a new id.
pub async fn create(
    db: &Db,
    user: Uuid,
    token_hash: &[u8],
    expires_at: DateTime<Utc>,
    replaces: Option<&[u8]>,
) -> Result<(), sqlx::Error> {
    let mut tx = super::begin(db).await?;
    if let Some(old) = replaces {
        end(&mut *tx, old).await?;
    }
    sqlx::query!(
        "INSERT INTO sessions (token_hash, user_id, expires_at) VALUES ($1, $2, $3)",
        token_hash,
        user,
        expires_at
    )
    .execute(&mut *tx)
    .await?;
    // Expired sessions are useless; clear the user's old ones while we are here.
    sqlx::query!("DELETE FROM sessions WHERE user_id = $1 AND expires_at <= now()", user).execute(&mut *tx).await?;
    tx.commit().await
}

pub async fn end<'e>(conn: impl sqlx::PgExecutor<'e>, token_hash: &[u8]) -> Result<(), sqlx::Error> {
    sqlx::query!("DELETE FROM sessions WHERE token_hash = $1", token_hash).execute(conn).await?;
    Ok(())
}

/// Ends every session of `user` but `keep` (the caller's own, when it is one of them).
pub async fn end_others<'e>(
    conn: impl sqlx::PgExecutor<'e>,
    user: Uuid,
    keep: Option<&[u8]>,
) -> Result<(), sqlx::Error> {
    sqlx::query!("DELETE FROM sessions WHERE user_id = $1 AND token_hash IS DISTINCT FROM $2", user, keep)
        .execute(conn)
        .await?;
    Ok(())
}

/// Ends every session of `user`; how many there were.
pub async fn end_all(db: &Db, user: Uuid) -> Result<u64, sqlx::Error> {
    Ok(sqlx::query!("DELETE FROM sessions WHERE user_id = $1", user).execute(db).await?.rows_affected())
}
