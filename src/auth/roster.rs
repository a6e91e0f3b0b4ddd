//! Accounts in bulk, for the API (POST /api/users/bulk) and the command line (`accounts import`,
//! `accounts create-township-officers`) alike: the roster checked against the county's townships
//! and the accounts there are (domain::roster), each password hashed, every account stored in the
//! caller's transaction, and the temporary passwords given back this once.

use futures_util::{StreamExt, TryStreamExt, stream};
use serde::Serialize;
use sqlx::PgConnection;
use uuid::Uuid;

use super::password;
use crate::domain::roster::{self, Ledger, Planned, Row, Skipped};
use crate::domain::{Code, FieldError, Message};
use crate::error::{ApiError, ProblemKind};
use crate::store::{Db, accounts, townships};

/// Hashes at a time: each takes one core about 50 ms and 19 MiB.
const HASHING_AT_ONCE: usize = 2;

/// An account the roster made.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct CreatedAccount {
    /// The row of the roster (CSV: as a spreadsheet numbers it; JSON: the index).
    pub row: usize,
    pub id: Uuid,
    pub username: String,
    pub display_name: String,
    pub role: String,
    pub township: Option<String>,
    /// The password made for the account, shown this once (absent when the roster gave one). It
    /// is temporary: the account must choose its own at first login.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub temporary_password: Option<String>,
}

/// What a roster did: all of it, or (refused) nothing.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct RosterReport {
    pub created: Vec<CreatedAccount>,
    /// Rows whose username exists, left out because the caller asked (`skip_existing`).
    pub skipped: Vec<Skipped>,
    /// The made passwords as CSV to hand out (UTF-8 with a byte order mark, for Excel): username,
    /// display_name, role, township, township_name, temporary_password.
    pub passwords_csv: String,
}

/// The refusal of a roster: every row and field, and that nothing was stored.
pub fn refused(errors: Vec<FieldError>) -> ApiError {
    let mut rows: Vec<&str> = errors.iter().filter_map(|e| e.pointer.split('/').nth(1)).collect();
    rows.dedup();
    let detail = match rows.len() {
        0 => "the roster cannot be read; nothing was stored".to_owned(),
        n => format!("{n} row(s) refused ({}); nothing was stored", rows.join(", ")),
    };
    ApiError { detail, ..ApiError::invalid(errors) }
}

/// Checks the roster `rows` and makes its accounts in `tx` (the caller commits). All or nothing:
/// a refused row refuses the roster (422, naming every row and field).
pub async fn create(
    db: &Db,
    tx: &mut PgConnection,
    rows: &[Row],
    skip_existing: bool,
) -> Result<RosterReport, ApiError> {
    let names = townships::names(db).await?;
    let usernames: Vec<String> =
        rows.iter().filter_map(|r| r.fields.get("username")?.as_str().map(|s| s.trim().to_lowercase())).collect();
    let taken = accounts::taken(db, &usernames).await?;
    let departments = crate::store::departments::names(db).await?;
    let ledger = Ledger { townships: &names, departments: &departments, taken: &taken, skip_existing };
    let plan = roster::plan(rows, &ledger, password::temporary).map_err(refused)?;
    let passwords: Vec<String> = plan.accounts.iter().map(|p| p.account.password.clone()).collect();
    let hashes: Vec<String> =
        stream::iter(passwords.into_iter().map(password::hash)).buffered(HASHING_AT_ONCE).try_collect().await?;
    let mut created = Vec::with_capacity(plan.accounts.len());
    for (p, hash) in plan.accounts.iter().zip(&hashes) {
        created.push(store_one(tx, p, hash).await?);
    }
    let passwords_csv = roster::passwords_csv(&plan.accounts, &names);
    Ok(RosterReport { created, skipped: plan.skipped, passwords_csv })
}

async fn store_one(tx: &mut PgConnection, p: &Planned, hash: &str) -> Result<CreatedAccount, ApiError> {
    let a = &p.account;
    let new = accounts::NewUser {
        username: &a.username,
        display_name: &a.display_name,
        role: a.role.as_str(),
        township: a.township.as_deref(),
        department: a.department.as_deref(),
        password_hash: hash,
        must_change_password: true,
    };
    let id = accounts::create_user(&mut *tx, &new).await?.ok_or_else(|| {
        let detail = format!(
            "the username '{}' (row {}) was taken while the roster was checked; nothing was stored",
            a.username, p.row
        );
        let why = Message::new(Code::UsernameTaken, detail).with("username", a.username.as_str());
        ApiError::refused(ProblemKind::Conflict, why)
    })?;
    Ok(CreatedAccount {
        row: p.row,
        id,
        username: a.username.clone(),
        display_name: a.display_name.clone(),
        role: a.role.as_str().to_owned(),
        township: a.township.clone(),
        temporary_password: p.generated.then(|| a.password.clone()),
    })
}

/// One township officer (`township-<code>`, named after the township) for each township that has
/// no active one, as roster rows.
pub async fn township_officers(db: &Db) -> Result<Vec<Row>, ApiError> {
    let missing = townships::without_officer(db).await?;
    Ok(missing
        .into_iter()
        .enumerate()
        .map(|(i, (code, name))| Row {
            row: i + 1,
            fields: serde_json::json!({
                "username": format!("township-{code}"), "display_name": name, "role": "township", "township": code,
            }),
        })
        .collect())
}
