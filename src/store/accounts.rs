//! Users, their sessions and their API tokens.

use chrono::{DateTime, Utc};
use serde::Serialize;
use sqlx::Postgres;
use sqlx::postgres::{PgTypeInfo, PgValueRef};
use uuid::Uuid;

use super::Db;
use crate::domain::access::Role;

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct User {
    pub id: Uuid,
    pub username: String,
    pub display_name: String,
    pub role: RoleName,
    /// The township a township officer belongs to.
    pub township: Option<String>,
    /// The department a department officer belongs to.
    pub department: Option<String>,
    /// The account has a temporary password: until it chooses its own (POST /api/me/password) it
    /// may do nothing else.
    pub must_change_password: bool,
    /// The account uses two-step verification: logging in to the web app takes a code.
    pub two_factor: bool,
    /// The administrator requires two-step verification of the account's role: until it has turned
    /// it on, its web session may do nothing else (API tokens are not held).
    pub two_factor_required: bool,
}

/// A role as stored (text in the database, checked there).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, utoipa::ToSchema)]
#[serde(transparent)]
pub struct RoleName(#[schema(inline)] pub Role);

impl TryFrom<String> for RoleName {
    type Error = String;
    fn try_from(s: String) -> Result<Self, String> {
        Role::parse(&s).map(RoleName).ok_or_else(|| format!("unknown role {s}"))
    }
}

/// Read from the text column as a `String` is; a role this build does not know is a decoding error.
impl sqlx::Type<Postgres> for RoleName {
    fn type_info() -> PgTypeInfo {
        <String as sqlx::Type<Postgres>>::type_info()
    }

    fn compatible(ty: &PgTypeInfo) -> bool {
        <String as sqlx::Type<Postgres>>::compatible(ty)
    }
}

impl<'r> sqlx::Decode<'r, Postgres> for RoleName {
    fn decode(value: PgValueRef<'r>) -> Result<Self, sqlx::error::BoxDynError> {
        Ok(RoleName::try_from(<String as sqlx::Decode<Postgres>>::decode(value)?)?)
    }
}

impl User {
    pub fn role(&self) -> Role {
        self.role.0
    }
}

/// A compile-checked query of `User`s: the user columns, then `$rest` of the statement. A macro
/// rather than a const, as the checked queries take only string literals.
macro_rules! query_users {
    ($rest:literal, $($arg:expr),*) => {
        sqlx::query_as!(
            User,
            r#"SELECT u.id, u.username, u.display_name, u.role AS "role: RoleName", u.township_code AS township,
                  u.department_code AS department,
                      u.must_change_password, f.enrolled AS "two_factor!", f.required AS "two_factor_required!"
               FROM users u JOIN account_two_factor f ON f.user_id = u.id "# + $rest,
            $($arg),*
        )
    };
}

pub async fn user_by_token(db: &Db, token_hash: &[u8]) -> Result<Option<User>, sqlx::Error> {
    let user = query_users!(
        "JOIN api_tokens t ON t.user_id = u.id WHERE t.token_hash = $1 AND t.revoked_at IS NULL AND u.active",
        token_hash
    )
    .fetch_optional(db)
    .await?;
    if user.is_some() {
        // Marked where the database takes writes; on a read-only one (a standby) the token still reads.
        let marked = sqlx::query!("UPDATE api_tokens SET last_used_at = now() WHERE token_hash = $1", token_hash)
            .execute(db)
            .await;
        super::unless_read_only(marked)?;
    }
    Ok(user)
}

pub async fn user_by_id(db: &Db, id: Uuid) -> Result<Option<User>, sqlx::Error> {
    query_users!("WHERE u.id = $1", id).fetch_optional(db).await
}

/// The user and password hash of an active account, for logging in.
pub async fn credentials(db: &Db, username: &str) -> Result<Option<(User, String)>, sqlx::Error> {
    let row = sqlx::query!(
        r#"SELECT u.id, u.username, u.display_name, u.role AS "role: RoleName", u.township_code AS township,
                  u.department_code AS department,
                  u.must_change_password, f.enrolled AS "two_factor!", f.required AS "two_factor_required!",
                  u.password_hash
           FROM users u JOIN account_two_factor f ON f.user_id = u.id
           WHERE u.username = lower($1) AND u.active"#,
        username
    )
    .fetch_optional(db)
    .await?;
    Ok(row.map(|r| {
        let user = User {
            id: r.id,
            username: r.username,
            display_name: r.display_name,
            role: r.role,
            township: r.township,
            department: r.department,
            must_change_password: r.must_change_password,
            two_factor: r.two_factor,
            two_factor_required: r.two_factor_required,
        };
        (user, r.password_hash)
    }))
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct ApiToken {
    pub id: Uuid,
    pub name: String,
    pub created_at: DateTime<Utc>,
    pub last_used_at: Option<DateTime<Utc>>,
}

pub async fn create_token<'e>(
    conn: impl sqlx::PgExecutor<'e>,
    user: Uuid,
    name: &str,
    token_hash: &[u8],
) -> Result<ApiToken, sqlx::Error> {
    sqlx::query_as!(
        ApiToken,
        "INSERT INTO api_tokens (user_id, name, token_hash) VALUES ($1, $2, $3)
         RETURNING id, name, created_at, last_used_at",
        user,
        name,
        token_hash
    )
    .fetch_one(conn)
    .await
}

pub async fn list_tokens(db: &Db, user: Uuid) -> Result<Vec<ApiToken>, sqlx::Error> {
    sqlx::query_as!(
        ApiToken,
        "SELECT id, name, created_at, last_used_at FROM api_tokens
         WHERE user_id = $1 AND revoked_at IS NULL ORDER BY created_at",
        user
    )
    .fetch_all(db)
    .await
}

/// Revokes one of the user's tokens; false if the user has no such live token.
pub async fn revoke_token(db: &Db, user: Uuid, id: Uuid) -> Result<bool, sqlx::Error> {
    let done = sqlx::query!(
        "UPDATE api_tokens SET revoked_at = now() WHERE id = $1 AND user_id = $2 AND revoked_at IS NULL",
        id,
        user
    )
    .execute(db)
    .await?;
    Ok(done.rows_affected() == 1)
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct UserRecord {
    #[serde(flatten)]
    pub user: User,
    pub active: bool,
    pub created_at: DateTime<Utc>,
}

pub async fn list_users<'e>(conn: impl sqlx::PgExecutor<'e>) -> Result<Vec<UserRecord>, sqlx::Error> {
    let rows = sqlx::query!(
        r#"SELECT u.id, u.username, u.display_name, u.role AS "role: RoleName", u.township_code AS township,
                  u.department_code AS department,
                  u.must_change_password, f.enrolled AS "two_factor!", f.required AS "two_factor_required!",
                  u.active, u.created_at
           FROM users u JOIN account_two_factor f ON f.user_id = u.id ORDER BY u.role, u.username"#
    )
    .fetch_all(conn)
    .await?;
    Ok(rows
        .into_iter()
        .map(|r| UserRecord {
            user: User {
                id: r.id,
                username: r.username,
                display_name: r.display_name,
                role: r.role,
                township: r.township,
                department: r.department,
                must_change_password: r.must_change_password,
                two_factor: r.two_factor,
                two_factor_required: r.two_factor_required,
            },
            active: r.active,
            created_at: r.created_at,
        })
        .collect())
}

pub struct NewUser<'a> {
    pub username: &'a str,
    pub display_name: &'a str,
    pub role: &'a str,
    pub township: Option<&'a str>,
    pub department: Option<&'a str>,
    pub password_hash: &'a str,
    /// The password was chosen by someone else: the account must choose its own at first login.
    pub must_change_password: bool,
}

/// Creates a user; `None` if the username is taken.
pub async fn create_user<'e>(conn: impl sqlx::PgExecutor<'e>, u: &NewUser<'_>) -> Result<Option<Uuid>, sqlx::Error> {
    sqlx::query_scalar!(
        "INSERT INTO users (username, display_name, role, township_code, password_hash, must_change_password,
                            department_code)
         VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT (username) DO NOTHING RETURNING id",
        u.username,
        u.display_name,
        u.role,
        u.township,
        u.password_hash,
        u.must_change_password,
        u.department
    )
    .fetch_optional(conn)
    .await
}

/// The usernames among `names` that accounts have.
pub async fn taken(db: &Db, names: &[String]) -> Result<std::collections::HashSet<String>, sqlx::Error> {
    let rows = sqlx::query_scalar!("SELECT username FROM users WHERE username = ANY($1)", names).fetch_all(db).await?;
    Ok(rows.into_iter().collect())
}

pub struct UserChange {
    pub display_name: Option<String>,
    pub role: Option<String>,
    /// `Some(None)` clears it (for staff roles).
    pub township: Option<Option<String>>,
    /// `Some(None)` clears it (for roles other than department).
    pub department: Option<Option<String>>,
    pub active: Option<bool>,
    pub password_hash: Option<String>,
}

/// Applies an admin's change; a password change or deactivation ends the user's sessions.
/// A password an administrator sets is temporary: the account must choose its own at next login.
pub async fn update_user(db: &Db, id: Uuid, c: &UserChange) -> Result<bool, sqlx::Error> {
    let mut tx = super::begin(db).await?;
    let done = sqlx::query!(
        "UPDATE users SET display_name = coalesce($2, display_name), role = coalesce($3, role),
                township_code = CASE WHEN $4 THEN $5 ELSE township_code END,
                active = coalesce($6, active), password_hash = coalesce($7, password_hash),
                must_change_password = must_change_password OR $7 IS NOT NULL,
                department_code = CASE WHEN $8 THEN $9 ELSE department_code END
         WHERE id = $1",
        id,
        c.display_name.as_deref(),
        c.role.as_deref(),
        c.township.is_some(),
        c.township.clone().flatten(),
        c.active,
        c.password_hash.as_deref(),
        c.department.is_some(),
        c.department.clone().flatten()
    )
    .execute(&mut *tx)
    .await?;
    if c.password_hash.is_some() || c.active == Some(false) {
        sqlx::query!("DELETE FROM sessions WHERE user_id = $1", id).execute(&mut *tx).await?;
    }
    tx.commit().await?;
    Ok(done.rows_affected() == 1)
}

/// Sets the password the account chose itself: no longer temporary. Every other session of the
/// account ends (`keep` is the caller's own, which stays).
pub async fn set_own_password(db: &Db, id: Uuid, password_hash: &str, keep: Option<&[u8]>) -> Result<(), sqlx::Error> {
    let mut tx = super::begin(db).await?;
    sqlx::query!("UPDATE users SET password_hash = $2, must_change_password = false WHERE id = $1", id, password_hash)
        .execute(&mut *tx)
        .await?;
    sqlx::query!("DELETE FROM sessions WHERE user_id = $1 AND token_hash IS DISTINCT FROM $2", id, keep)
        .execute(&mut *tx)
        .await?;
    tx.commit().await
}
