//! Logging in and out, who am I, and personal API tokens.

use axum::Json;
use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, header};
use axum::response::{IntoResponse, Response};
use chrono::Utc;
use serde::Serialize;
use serde_json::{Value, json};

use super::AppState;
use super::audit::{self, Witness};
use super::extract::{ClientAddr, JsonBody, PathId};
use super::idempotency::{Idempotency, fingerprint_json};
use super::two_factor;
use crate::auth::{self, Principal, SESSION_COOKIE, TOKEN_PREFIX, User, password, secret};
use crate::domain::audit::SecurityEventKind;
use crate::domain::fields::{self, Props};
use crate::domain::two_factor::{SecondFactor, code_field};
use crate::error::{ApiError, Problem, ProblemKind, Result};
use crate::store::accounts::{self, ApiToken};
use crate::store::sessions;

#[derive(Serialize, utoipa::ToSchema)]
pub struct Me {
    /// The caller's account; null for an anonymous caller.
    pub user: Option<User>,
    /// `session` (cookie), `token` (bearer) or `anonymous`.
    pub via: &'static str,
}

/// Username and password, and the second factor of an account with two-step verification.
#[allow(dead_code)]
#[derive(utoipa::ToSchema)]
pub struct Credentials {
    username: String,
    password: String,
    /// The 6-digit code of the authenticator app, or a recovery code: needed when the account uses
    /// two-step verification (without it the answer is 401 `/problems/second-factor-required`).
    code: Option<String>,
}

/// Username, password and, for an account with two-step verification, the code.
fn read_credentials(body: &Value) -> Result<(String, String, Option<SecondFactor>)> {
    let mut p = Props::object(body, "").map_err(ApiError::invalid)?;
    let username = p.required("username", fields::text(64, false));
    let password = p.required("password", |v| fields::string(v).map(str::to_owned));
    let code = p.optional("code", code_field);
    match (username, password) {
        (Some(u), Some(pw)) if p.errors.is_empty() => Ok((u, pw, code)),
        _ => Err(ApiError::invalid(p.errors)),
    }
}

fn session_cookie(state: &AppState, headers: &HeaderMap, value: &str, max_age: u64) -> HeaderValue {
    let https = state.settings.secure_cookies
        || headers.get("x-forwarded-proto").and_then(|v| v.to_str().ok()) == Some("https");
    let secure = if https { "; Secure" } else { "" };
    HeaderValue::from_str(&format!(
        "{SESSION_COOKIE}={value}; Path=/; HttpOnly; SameSite=Strict; Max-Age={max_age}{secure}"
    ))
    .expect("cookie text is ASCII")
}

/// Log in: sets an HttpOnly, SameSite=Strict session cookie. An account with two-step
/// verification sends the code of its app (or a recovery code) as `code`.
#[utoipa::path(post, path = "/api/session", tag = "accounts",
    request_body(content = Credentials, content_type = "application/json"),
    responses(
        (status = 200, description = "Logged in; the session cookie is set", body = Me),
        (status = 401, description = "Wrong username or password (the same answer for both); or, the password being right, `/problems/second-factor-required` (no code sent) or `/problems/wrong-second-factor`", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "A member is missing, or `code` is neither six digits nor a recovery code", body = Problem, content_type = "application/problem+json"),
        (status = 429, description = "Too many failed logins for this username or address; Retry-After says when to try again", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn login(
    State(state): State<AppState>,
    ClientAddr(addr): ClientAddr,
    witness: Witness,
    headers: HeaderMap,
    JsonBody(body): JsonBody,
) -> Result<Response> {
    // A login form posted from another site could log a victim into the attacker's account.
    if headers.contains_key(header::ORIGIN) {
        auth::check_same_origin(&Method::POST, &headers)?;
    }
    let (username, password, code) = read_credentials(&body)?;
    if let Err(wait) = state.limiter.check(&state.db, &username, &addr).await? {
        let secs = wait.as_secs().max(1);
        audit::record(&state.db, witness.saw(SecurityEventKind::LoginThrottled).typed(&username)).await?;
        return Err(ApiError::new(
            ProblemKind::TooManyLogins,
            format!("too many failed logins; try again in {} minute(s)", secs.div_ceil(60)),
        )
        .with_header(header::RETRY_AFTER, HeaderValue::from(secs)));
    }
    let user = check_password(&state, &witness, (&username, password), &addr).await?;
    two_factor::at_login(&state, &witness, &user, code, &addr).await?;
    state.limiter.succeeded(&state.db, &username, &addr).await?;
    let token = secret::generate("gls_");
    let ttl = state.settings.session_ttl;
    let expires = Utc::now() + chrono::Duration::from_std(ttl).unwrap_or(chrono::Duration::days(14));
    // A new session id at every login: a session id planted before it (session fixation) ends here.
    let before = auth::session_cookie(&headers).map(secret::hash);
    sessions::create(&state.db, user.id, &secret::hash(&token), expires, before.as_deref()).await?;
    audit::record(&state.db, witness.saw_user(SecurityEventKind::Login, &user)).await?;
    let cookie = session_cookie(&state, &headers, &token, ttl.as_secs());
    Ok(([(header::SET_COOKIE, cookie)], Json(Me { user: Some(user), via: "session" })).into_response())
}

/// The account whose password this is; a wrong one (or an unknown name) counts as a failed login.
async fn check_password(
    state: &AppState,
    witness: &Witness,
    (username, password): (&str, String),
    addr: &str,
) -> Result<User> {
    let found = accounts::credentials(&state.db, username).await?;
    let (user, hash) = match found {
        Some((user, hash)) => (Some(user), Some(hash)),
        None => (None, None),
    };
    match (password::verify(password, hash).await, user) {
        (true, Some(user)) => Ok(user),
        (_, user) => {
            state.limiter.failed(&state.db, username, addr).await?;
            let mut event = witness.saw(SecurityEventKind::LoginFailed).typed(username);
            if let Some(user) = user {
                event = event.on(user.id);
            }
            audit::record(&state.db, event).await?;
            Err(ApiError::new(ProblemKind::WrongCredentials, "wrong username or password"))
        }
    }
}

/// Log out: ends the session server-side and clears the cookie.
#[utoipa::path(delete, path = "/api/session", tag = "accounts",
    responses((status = 204, description = "Logged out (also when there was no session)")))]
pub async fn logout(
    State(state): State<AppState>,
    headers: HeaderMap,
    witness: Witness,
    principal: Principal,
) -> Result<Response> {
    if let (Principal::User { via: auth::Via::Session, user }, Some(value)) =
        (&principal, auth::session_cookie(&headers))
    {
        sessions::end(&state.db, &secret::hash(value)).await?;
        audit::record(&state.db, witness.saw_user(SecurityEventKind::Logout, user)).await?;
    }
    Ok((StatusCode::NO_CONTENT, [(header::SET_COOKIE, session_cookie(&state, &headers, "", 0))]).into_response())
}

/// Who is calling. Not being logged in is an answer, not an error: the public map asks on every
/// load, and a 401 there would only fill the browser's console.
#[utoipa::path(get, path = "/api/me", tag = "accounts",
    responses(
        (status = 200, description = "The caller; `user` is null and `via` is `anonymous` when nobody is logged in", body = Me),
    ))]
pub async fn me(principal: Principal) -> Json<Me> {
    Json(match principal {
        Principal::User { user, via } => {
            Me { user: Some(user), via: if via == auth::Via::Token { "token" } else { "session" } }
        }
        Principal::Anonymous => Me { user: None, via: "anonymous" },
    })
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct NewToken {
    #[serde(flatten)]
    pub token: ApiToken,
    /// The secret, shown this once: send it as `Authorization: Bearer <secret>`.
    pub secret: String,
}

/// Create a personal API token for scripts and GIS clients.
#[utoipa::path(post, path = "/api/me/tokens", tag = "accounts",
    request_body(content = Object, description = "{\"name\": \"QGIS on my laptop\"}", content_type = "application/json"),
    responses(
        (status = 201, description = "Created; the secret is in the body, only this once", body = NewToken),
        (status = 401, description = "Not logged in", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn create_token(
    State(state): State<AppState>,
    principal: Principal,
    headers: HeaderMap,
    witness: Witness,
    JsonBody(body): JsonBody,
) -> Result<Response> {
    let user = principal.require_user()?;
    let mut p = Props::object(&body, "").map_err(ApiError::invalid)?;
    p.refuse_unknown(&["name"], &[]);
    let name = p.required("name", fields::text(100, false));
    let Some(name) = name.filter(|_| p.errors.is_empty()) else { return Err(ApiError::invalid(p.errors)) };
    let once = Idempotency::read(&headers, user.id, "POST /api/me/tokens".into(), fingerprint_json(&[], &body))?
        .sealed(seal_secret);
    if let Some(first) = once.replay(&state.db).await? {
        return Ok(first);
    }
    let secret = secret::generate(TOKEN_PREFIX);
    let mut tx = crate::store::begin(&state.db).await?;
    let token = accounts::create_token(&mut *tx, user.id, &name, &secret::hash(&secret)).await?;
    let event = witness.saw_user(SecurityEventKind::TokenCreated, user).with(json!({"token": token.id, "name": name}));
    audit::record(&mut *tx, event).await?;
    once.commit(&state.db, tx, (StatusCode::CREATED, Json(NewToken { token, secret })).into_response()).await
}

/// A new token's answer with its secret XORed with the Idempotency-Key's pad (the same function
/// seals and unseals): the kept answer holds no secret that works, and only a retry that holds the
/// key gets it back.
fn seal_secret(body: &[u8], pad: &[u8; 32]) -> Vec<u8> {
    let Ok(mut doc) = serde_json::from_slice::<Value>(body) else { return body.to_vec() };
    let Some(hex) = doc["secret"].as_str().and_then(|s| s.strip_prefix(TOKEN_PREFIX)) else { return body.to_vec() };
    let bytes: Option<Vec<u8>> =
        (0..hex.len()).step_by(2).map(|i| u8::from_str_radix(hex.get(i..i + 2)?, 16).ok()).collect();
    let Some(bytes) = bytes.filter(|b| b.len() == pad.len()) else { return body.to_vec() };
    let sealed: Vec<u8> = bytes.iter().zip(pad).map(|(b, p)| b ^ p).collect();
    doc["secret"] = format!("{TOKEN_PREFIX}{}", secret::hex(&sealed)).into();
    serde_json::to_vec(&doc).unwrap_or_else(|_| body.to_vec())
}

/// The caller's live API tokens (never their secrets).
#[utoipa::path(get, path = "/api/me/tokens", tag = "accounts",
    responses((status = 200, description = "Live tokens", body = Vec<ApiToken>)))]
pub async fn list_tokens(State(state): State<AppState>, principal: Principal) -> Result<Json<Vec<ApiToken>>> {
    let user = principal.require_user()?;
    Ok(Json(accounts::list_tokens(&state.db, user.id).await?))
}

/// Revoke one of the caller's API tokens.
#[utoipa::path(delete, path = "/api/me/tokens/{id}", tag = "accounts",
    params(("id" = uuid::Uuid, Path, description = "token id")),
    responses(
        (status = 204, description = "Revoked"),
        (status = 404, description = "The caller has no such live token", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn revoke_token(
    State(state): State<AppState>,
    principal: Principal,
    witness: Witness,
    PathId(id): PathId,
) -> Result<StatusCode> {
    let user = principal.require_user()?;
    if accounts::revoke_token(&state.db, user.id, id).await? {
        audit::record(&state.db, witness.saw_user(SecurityEventKind::TokenRevoked, user).with(json!({"token": id})))
            .await?;
        Ok(StatusCode::NO_CONTENT)
    } else {
        Err(ApiError::not_found(format!("you have no live token {id}")))
    }
}
