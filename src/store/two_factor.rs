//! Two-step verification: each account's TOTP secret (pending until its first code confirms it),
//! the step of the last code used, its recovery codes (hashed), and the administrator's policy.

use uuid::Uuid;

use super::Db;
use crate::domain::sealed::{NONCE_BYTES, SealKey};

/// An account's two-step verification as stored.
pub struct Enrolment {
    /// The TOTP secret; `None` when it does not open with this server's key (the key file was
    /// replaced, or not carried to a new server with a restored backup).
    pub secret: Option<Vec<u8>>,
    /// False while the enrolment waits for its first code.
    pub confirmed: bool,
    /// The TOTP step of the last code accepted.
    pub last_step: Option<i64>,
}

/// Length of a secret stored before secrets were sealed: read as it is, sealed at the next start.
const PLAIN_LENGTH: usize = 20;

fn open(key: &SealKey, user: Uuid, stored: Vec<u8>) -> Option<Vec<u8>> {
    if stored.len() == PLAIN_LENGTH {
        return Some(stored);
    }
    key.open(user.as_bytes(), &stored).ok()
}

fn seal(key: &SealKey, user: Uuid, secret: &[u8]) -> Vec<u8> {
    let mut nonce = [0u8; NONCE_BYTES];
    getrandom::fill(&mut nonce).expect("the operating system provides randomness");
    key.seal(nonce, user.as_bytes(), secret)
}

pub async fn enrolment(db: &Db, key: &SealKey, user: Uuid) -> Result<Option<Enrolment>, sqlx::Error> {
    let row = sqlx::query!(
        r#"SELECT secret, confirmed_at IS NOT NULL AS "confirmed!", last_step FROM two_factor WHERE user_id = $1"#,
        user
    )
    .fetch_optional(db)
    .await?;
    Ok(row.map(|r| Enrolment { secret: open(key, user, r.secret), confirmed: r.confirmed, last_step: r.last_step }))
}

/// Starts (or starts again) an enrolment with `secret`, stored sealed; false when the account
/// already uses two-step verification, which is left as it is.
pub async fn start(db: &Db, key: &SealKey, user: Uuid, secret: &[u8]) -> Result<bool, sqlx::Error> {
    let done = sqlx::query!(
        "INSERT INTO two_factor (user_id, secret) VALUES ($1, $2)
         ON CONFLICT (user_id) DO UPDATE SET secret = EXCLUDED.secret, last_step = NULL, created_at = now()
         WHERE two_factor.confirmed_at IS NULL",
        user,
        seal(key, user, secret)
    )
    .execute(db)
    .await?;
    Ok(done.rows_affected() == 1)
}

/// Seals the secrets stored in the clear before sealing existed; how many there were. Run at start.
pub async fn seal_plain(db: &Db, key: &SealKey) -> Result<u64, sqlx::Error> {
    let plain = sqlx::query!("SELECT user_id, secret FROM two_factor WHERE length(secret) = 20").fetch_all(db).await?;
    for row in &plain {
        sqlx::query!(
            "UPDATE two_factor SET secret = $2 WHERE user_id = $1 AND secret = $3",
            row.user_id,
            seal(key, row.user_id, &row.secret),
            row.secret
        )
        .execute(db)
        .await?;
    }
    Ok(plain.len() as u64)
}

/// Turns a pending enrolment on, `step` being the step of the code that confirmed it; false when
/// there was no pending enrolment (confirmed meanwhile, or never started).
pub async fn confirm<'e>(conn: impl sqlx::PgExecutor<'e>, user: Uuid, step: i64) -> Result<bool, sqlx::Error> {
    let done = sqlx::query!(
        "UPDATE two_factor SET confirmed_at = now(), last_step = $2 WHERE user_id = $1 AND confirmed_at IS NULL",
        user,
        step
    )
    .execute(conn)
    .await?;
    Ok(done.rows_affected() == 1)
}

/// Marks `step` used, if no code of it or a later step was: true when this call used it. Two logins
/// racing with the same code cannot both win.
pub async fn use_step(db: &Db, user: Uuid, step: i64) -> Result<bool, sqlx::Error> {
    let done = sqlx::query!(
        "UPDATE two_factor SET last_step = $2
         WHERE user_id = $1 AND confirmed_at IS NOT NULL AND (last_step IS NULL OR last_step < $2)",
        user,
        step
    )
    .execute(db)
    .await?;
    Ok(done.rows_affected() == 1)
}

/// The account's recovery codes become `hashes` (any earlier ones stop working).
pub async fn replace_recovery_codes(
    tx: &mut sqlx::PgConnection,
    user: Uuid,
    hashes: &[Vec<u8>],
) -> Result<(), sqlx::Error> {
    sqlx::query!("DELETE FROM recovery_codes WHERE user_id = $1", user).execute(&mut *tx).await?;
    sqlx::query!(
        "INSERT INTO recovery_codes (user_id, code_hash) SELECT $1, h FROM unnest($2::bytea[]) AS h",
        user,
        hashes
    )
    .execute(&mut *tx)
    .await?;
    Ok(())
}

/// Uses the recovery code hashed as `hash`, once: how many unused codes are left after it, or
/// `None` when it is no unused code of the account.
pub async fn use_recovery_code(db: &Db, user: Uuid, hash: &[u8]) -> Result<Option<i64>, sqlx::Error> {
    let row = sqlx::query!(
        r#"WITH used AS (
               UPDATE recovery_codes SET used_at = now()
               WHERE user_id = $1 AND code_hash = $2 AND used_at IS NULL RETURNING 1
           )
           SELECT (SELECT count(*) FROM used) AS "used!",
                  (SELECT count(*) FROM recovery_codes WHERE user_id = $1 AND used_at IS NULL) AS "unused!""#,
        user,
        hash
    )
    .fetch_one(db)
    .await?;
    // The count reads the table as it was before the update, which still held the code unused.
    Ok((row.used == 1).then_some(row.unused - 1))
}

/// Turns two-step verification off for the account (and drops a pending enrolment and the
/// recovery codes); true when it was on.
pub async fn remove<'e>(conn: impl sqlx::PgExecutor<'e>, user: Uuid) -> Result<bool, sqlx::Error> {
    let row = sqlx::query!(
        r#"WITH codes AS (DELETE FROM recovery_codes WHERE user_id = $1),
                gone AS (DELETE FROM two_factor WHERE user_id = $1 RETURNING confirmed_at)
           SELECT EXISTS (SELECT 1 FROM gone WHERE confirmed_at IS NOT NULL) AS "was_on!""#,
        user
    )
    .fetch_one(conn)
    .await?;
    Ok(row.was_on)
}

/// The roles the policy requires two-step verification of.
pub async fn policy(db: &Db) -> Result<Vec<String>, sqlx::Error> {
    sqlx::query_scalar!("SELECT two_factor_roles FROM security_policy").fetch_one(db).await
}

/// Sets the roles the policy requires two-step verification of.
pub async fn set_policy(db: &Db, roles: &[String], by: Uuid) -> Result<(), sqlx::Error> {
    sqlx::query!("UPDATE security_policy SET two_factor_roles = $1, changed_at = now(), changed_by = $2", roles, by)
        .execute(db)
        .await?;
    Ok(())
}
