//! Administration: user accounts (one at a time or a roster in bulk) and townships.

use axum::Json;
use axum::body::Bytes;
use axum::extract::{FromRequest, Multipart, Path, Request, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use serde_json::{Value, json};

use super::AppState;
use super::audit::{self, Witness};
use super::extract::{JsonBody, PathId, is_json, parse_json};
use super::idempotency::{Idempotency, fingerprint_json, seal_whole};
use crate::auth::roster::RosterReport;
use crate::auth::{self, Principal, password};
use crate::domain::account::{AccountChange, NewAccount, check_password_for, check_role_unit};
use crate::domain::audit::SecurityEventKind;
use crate::domain::task::township_code;
use crate::domain::township::TownshipInput;
use crate::domain::{Code, FieldError, Message, roster, text};
use crate::error::{ApiError, Problem, ProblemKind, Result};
use crate::store::accounts::{self, NewUser, UserChange, UserRecord};
use crate::store::{sessions, townships, two_factor};

fn township_reference(e: sqlx::Error) -> ApiError {
    match &e {
        sqlx::Error::Database(d) if d.constraint() == Some("users_township_code_fkey") => {
            ApiError::invalid_field("/township", Code::UnknownValue, "unknown township")
        }
        sqlx::Error::Database(d) if d.constraint() == Some("users_department_code_fkey") => {
            ApiError::invalid_field("/department", Code::UnknownValue, "unknown department")
        }
        _ => e.into(),
    }
}

/// Every account.
#[utoipa::path(get, path = "/api/users", tag = "admin",
    responses(
        (status = 200, description = "All accounts", body = Vec<UserRecord>),
        (status = 403, description = "Not an administrator", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn list(State(state): State<AppState>, principal: Principal) -> Result<Json<Vec<UserRecord>>> {
    principal.require_admin("list accounts")?;
    Ok(Json(accounts::list_users(&state.db).await?))
}

/// Create an account: `username`, `role` (admin, bureau, township, department), `township` (for
/// township officers), `department` (for department officers), `password`, optional `display_name`.
#[utoipa::path(post, path = "/api/users", tag = "admin",
    request_body(content = Object, content_type = "application/json"),
    responses(
        (status = 201, description = "Created", body = UserRecord),
        (status = 409, description = "The username is taken", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Invalid account", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn create(
    State(state): State<AppState>,
    principal: Principal,
    headers: HeaderMap,
    witness: Witness,
    JsonBody(body): JsonBody,
) -> Result<Response> {
    let admin = principal.require_admin("create accounts")?;
    let a = NewAccount::parse(&body).map_err(ApiError::invalid)?;
    let once = Idempotency::read(&headers, admin.id, "POST /api/users".into(), fingerprint_json(&[], &body))?;
    if let Some(first) = once.replay(&state.db).await? {
        return Ok(first);
    }
    let hash = password::hash(a.password.clone()).await?;
    let new = NewUser {
        username: &a.username,
        display_name: &a.display_name,
        role: a.role.as_str(),
        township: a.township.as_deref(),
        department: a.department.as_deref(),
        password_hash: &hash,
        must_change_password: true,
    };
    let mut tx = crate::store::begin(&state.db).await?;
    let id = accounts::create_user(&mut *tx, &new).await.map_err(township_reference)?.ok_or_else(|| {
        let detail = format!("the username '{}' is taken", a.username);
        let why = Message::new(Code::UsernameTaken, detail).with("username", a.username.as_str());
        ApiError::refused(ProblemKind::Conflict, why)
    })?;
    let detail =
        json!({"username": a.username, "role": a.role.as_str(), "township": a.township, "department": a.department});
    audit::record(&mut *tx, witness.saw_user(SecurityEventKind::AccountCreated, admin).on(id).with(detail)).await?;
    let record =
        accounts::list_users(&mut *tx).await?.into_iter().find(|u| u.user.id == id).ok_or_else(ApiError::internal)?;
    once.commit(&state.db, tx, (StatusCode::CREATED, Json(record)).into_response()).await
}

/// Create accounts in bulk (township officers, mostly): a JSON array of accounts, or a CSV file
/// (`text/csv`, or a multipart form part named `file`; UTF-8 or GBK) with the columns `username`,
/// `display_name`, `role` (admin, bureau, township; or 管理员, 环保局, 乡镇), `township` (a code, or
/// the name of one township) and an optional `password` (Chinese headings such as 用户名, 姓名, 角色,
/// 乡镇, 密码 are understood). All or nothing: every refused row is named in `errors` by the pointer
/// `/<row>/<field>` (CSV: the row as a spreadsheet numbers it, the headings being row 1; JSON: the
/// index) and nothing is stored. Accounts without a password get a temporary one, in the answer
/// this once; every account must choose its own password at first login.
#[utoipa::path(post, path = "/api/users/bulk", tag = "admin",
    params(
        ("skip_existing" = Option<bool>, Query, description = "leave out (and list) rows whose username exists, instead of refusing the roster"),
        ("encoding" = Option<String>, Query, description = "the CSV file's encoding when it is neither UTF-8 nor GBK: GB18030, Big5, ..."),
    ),
    request_body(content(
        (Object = "application/json"),
        (String = "text/csv"),
        (Object = "multipart/form-data"),
    ), description = "a JSON array of {username, display_name, role, township, password}, or the CSV file"),
    responses(
        (status = 201, description = "Created; the temporary passwords are in the body, only this once", body = RosterReport),
        (status = 200, description = "Nothing to create: every row was skipped", body = RosterReport),
        (status = 403, description = "Not an administrator", body = Problem, content_type = "application/problem+json"),
        (status = 415, description = "Neither JSON nor CSV", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Rows refused (each named with its field); nothing was stored", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn bulk(
    State(state): State<AppState>,
    principal: Principal,
    witness: Witness,
    req: Request,
) -> Result<Response> {
    let admin = principal.require_admin("create accounts")?;
    let pairs = text::query_pairs(req.uri().query().unwrap_or("")).map_err(ApiError::bad_query)?;
    let options = roster::Options::parse(&pairs).map_err(ApiError::bad_query)?;
    let headers = req.headers().clone();
    let rows = read_roster(req, &state, options.encoding.as_deref()).await?;
    let sent: Vec<Value> = rows.iter().map(|r| serde_json::json!([r.row, r.fields])).collect();
    let once =
        Idempotency::read(&headers, admin.id, "POST /api/users/bulk".into(), fingerprint_json(&pairs, &sent.into()))?
            .sealed(seal_whole);
    if let Some(first) = once.replay(&state.db).await? {
        return Ok(first);
    }
    let mut tx = crate::store::begin(&state.db).await?;
    let report = auth::roster::create(&state.db, &mut tx, &rows, options.skip_existing).await?;
    for a in &report.created {
        let detail = json!({"username": a.username, "role": a.role, "township": a.township, "row": a.row});
        let event = witness.saw_user(SecurityEventKind::AccountCreated, admin).on(a.id).with(detail);
        audit::record(&mut *tx, event).await?;
    }
    let status = if report.created.is_empty() { StatusCode::OK } else { StatusCode::CREATED };
    once.commit(&state.db, tx, (status, Json(report)).into_response()).await
}

/// The roster's rows from a JSON array, a CSV body or a CSV file in a form.
async fn read_roster(req: Request, state: &AppState, encoding: Option<&str>) -> Result<Vec<roster::Row>> {
    let content_type = req.headers().get(header::CONTENT_TYPE).and_then(|v| v.to_str().ok()).unwrap_or("");
    let essence = content_type.split(';').next().unwrap_or("").trim().to_ascii_lowercase();
    let unreadable = |e: &dyn std::fmt::Display| ApiError::bad_request(format!("could not read the body: {e}"));
    let csv = match essence.as_str() {
        _ if is_json(&essence) => {
            let bytes = Bytes::from_request(req, state).await.map_err(|e| unreadable(&e))?;
            return roster::from_json(&parse_json(&bytes)?).map_err(auth::roster::refused);
        }
        "text/csv" | "text/plain" => Bytes::from_request(req, state).await.map_err(|e| unreadable(&e))?,
        "multipart/form-data" => {
            let mut form = Multipart::from_request(req, state).await.map_err(|e| unreadable(&e))?;
            let mut file = None;
            while let Some(field) = form.next_field().await.map_err(|e| unreadable(&e))? {
                if field.name() == Some("file") {
                    file = Some(field.bytes().await.map_err(|e| unreadable(&e))?);
                }
            }
            let missing = "send the CSV file in a form part named 'file'";
            file.ok_or_else(|| {
                ApiError::invalid(vec![FieldError::new("/file", Code::MissingMember, missing).with("name", "file")])
            })?
        }
        _ => {
            return Err(ApiError::new(
                ProblemKind::UnsupportedMediaType,
                format!("send a JSON array (application/json) or a CSV file (text/csv); got '{content_type}'"),
            ));
        }
    };
    let (text, _) = roster::decode(&csv, encoding).map_err(|e| auth::roster::refused(vec![e]))?;
    roster::from_csv(&text).map_err(auth::roster::refused)
}

/// An account as changed, with the temporary password a reset made (shown this once).
#[derive(Serialize, utoipa::ToSchema)]
pub struct ChangedUser {
    #[serde(flatten)]
    pub record: UserRecord,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub temporary_password: Option<String>,
}

/// The new password's hash (and the password, when the service made it): `password` as given,
/// checked against the account's name, or a temporary one for `reset_password`.
async fn new_password(c: &AccountChange, username: &str) -> Result<(Option<String>, Option<String>)> {
    let (given, made) = match (&c.password, c.reset_password) {
        (Some(pw), _) => (pw.clone(), None),
        (None, true) => (password::temporary(), Some(())),
        (None, false) => return Ok((None, None)),
    };
    check_password_for(username, &given).map_err(|e| ApiError::invalid(vec![e]))?;
    let hash = password::hash(given.clone()).await?;
    Ok((Some(hash), made.map(|()| given)))
}

/// Change an account: display name, role, township, active, password, or `reset_password: true`
/// for a temporary password made by the service (in the answer, this once), and `two_factor: false`
/// to reset its two-step verification (a lost phone; the account enrols again). Deactivating an
/// account or setting its password ends its sessions; a password set here is temporary.
#[utoipa::path(patch, path = "/api/users/{id}", tag = "admin",
    params(("id" = uuid::Uuid, Path, description = "user id")),
    request_body(content = Object, content_type = "application/json"),
    responses(
        (status = 200, description = "Changed", body = ChangedUser),
        (status = 404, description = "No such user", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn update(
    State(state): State<AppState>,
    principal: Principal,
    witness: Witness,
    PathId(id): PathId,
    JsonBody(body): JsonBody,
) -> Result<Json<ChangedUser>> {
    let admin = principal.require_admin("change accounts")?;
    let c = AccountChange::parse(&body).map_err(ApiError::invalid)?;
    let current = accounts::user_by_id(&state.db, id)
        .await?
        .ok_or_else(|| ApiError::not_found(format!("there is no user {id}")))?;
    let role = c.role.unwrap_or(current.role());
    let township = c.township.clone().unwrap_or(current.township.clone());
    let department = c.department.clone().unwrap_or(current.department.clone());
    check_role_unit(role, township.as_deref(), department.as_deref()).map_err(|e| ApiError::invalid(vec![e]))?;
    if admin.id == id && (c.active == Some(false) || c.role.is_some_and(|r| r != current.role())) {
        return Err(ApiError::conflict("you cannot deactivate yourself or change your own role"));
    }
    let (password_hash, temporary_password) = new_password(&c, &current.username).await?;
    let event = witness
        .saw_user(SecurityEventKind::AccountChanged, admin)
        .on(id)
        .with(json!({"fields": changed_fields(&c, password_hash.is_some())}));
    let reset_two_factor = c.two_factor == Some(false);
    let change = UserChange {
        display_name: c.display_name,
        role: c.role.map(|r| r.as_str().to_owned()),
        township: Some(township),
        department: Some(department),
        active: c.active,
        password_hash,
    };
    accounts::update_user(&state.db, id, &change).await.map_err(township_reference)?;
    audit::record(&state.db, event).await?;
    if reset_two_factor && two_factor::remove(&state.db, id).await? {
        let reset = witness.saw_user(SecurityEventKind::TwoFactorDisabled, admin).on(id);
        audit::record(&state.db, reset.with(json!({"reset_by_administrator": true}))).await?;
    }
    let record =
        accounts::list_users(&state.db).await?.into_iter().find(|u| u.user.id == id).ok_or_else(ApiError::internal)?;
    Ok(Json(ChangedUser { record, temporary_password }))
}

/// Which fields a change names, never their values (a password above all).
fn changed_fields(c: &AccountChange, password: bool) -> Vec<&'static str> {
    [
        ("display_name", c.display_name.is_some()),
        ("role", c.role.is_some()),
        ("township", c.township.is_some()),
        ("department", c.department.is_some()),
        ("active", c.active.is_some()),
        ("password", password),
        ("two_factor", c.two_factor.is_some()),
    ]
    .into_iter()
    .filter_map(|(name, changed)| changed.then_some(name))
    .collect()
}

/// How many sessions an administrator ended.
#[derive(serde::Serialize, utoipa::ToSchema)]
pub struct Ended {
    pub sessions: u64,
}

/// Log an account out everywhere: every web session of it ends at once (a lost phone, a staff
/// member leaving). Its API tokens are not touched: revoke those separately.
#[utoipa::path(post, path = "/api/users/{id}/logout", tag = "admin",
    params(("id" = uuid::Uuid, Path, description = "user id")),
    responses(
        (status = 200, description = "The sessions that ended", body = Ended),
        (status = 400, description = "The id is not a UUID", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "Not logged in", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "Not an administrator", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such user", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn logout_everywhere(
    State(state): State<AppState>,
    principal: Principal,
    witness: Witness,
    PathId(id): PathId,
) -> Result<Json<Ended>> {
    let admin = principal.require_admin("log accounts out")?;
    accounts::user_by_id(&state.db, id).await?.ok_or_else(|| ApiError::not_found(format!("there is no user {id}")))?;
    let sessions = sessions::end_all(&state.db, id).await?;
    let event = witness.saw_user(SecurityEventKind::LogoutEverywhere, admin).on(id).with(json!({"sessions": sessions}));
    audit::record(&state.db, event).await?;
    Ok(Json(Ended { sessions }))
}

/// Create or replace a township (a Feature with `name`, `kind` and a Polygon or MultiPolygon
/// boundary). Tasks are reassigned to the townships now holding them, except bureau overrides.
#[utoipa::path(put, path = "/api/townships/{code}", tag = "admin",
    params(("code" = String, Path, description = "9- or 12-digit township code")),
    request_body(content = Object, content_type = "application/geo+json"),
    responses(
        (status = 200, description = "Stored; the body says how many tasks moved", body = Object),
        (status = 409, description = "The new boundaries would leave tasks outside every township", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Invalid township", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn put_township(
    State(state): State<AppState>,
    principal: Principal,
    Path(code): Path<String>,
    JsonBody(body): JsonBody,
) -> Result<Json<serde_json::Value>> {
    let admin = principal.require_admin("change townships")?;
    let code = township_code(&serde_json::Value::String(code.clone()))
        .map_err(|e| ApiError::bad_request(format!("{e} in the path")))?;
    let input = TownshipInput::parse(&body).map_err(ApiError::invalid)?;
    let moved = townships::replace(&state.db, &code, &input, admin.id).await?;
    Ok(Json(serde_json::json!({"code": code, "tasks_reassigned": moved})))
}
