//! POST /api/me/password: choosing one's own password. The one thing (with who-am-I and logging out)
//! an account with a temporary password may do.

use axum::Json;
use axum::extract::State;
use axum::http::HeaderMap;
use serde_json::Value;

use super::AppState;
use super::audit::{self, Witness};
use super::extract::JsonBody;
use super::session::Me;
use crate::auth::{self, Principal, password, secret};
use crate::domain::audit::SecurityEventKind;
use crate::domain::fields::{self, Props};
use crate::domain::{Code, account};
use crate::error::{ApiError, Problem, Result};
use crate::store::accounts;

/// The current and the new password.
#[allow(dead_code)]
#[derive(utoipa::ToSchema)]
pub struct PasswordChange {
    current_password: String,
    new_password: String,
}

fn read(body: &Value) -> Result<(String, String)> {
    let mut p = Props::object(body, "").map_err(ApiError::invalid)?;
    p.refuse_unknown(&["current_password", "new_password"], &[]);
    let text = |v: &Value| fields::string(v).map(str::to_owned);
    let current = p.required("current_password", text);
    let new = p.required("new_password", account::password);
    match (current, new) {
        (Some(c), Some(n)) if p.errors.is_empty() => Ok((c, n)),
        _ => Err(ApiError::invalid(p.errors)),
    }
}

/// Change your password. Your other sessions end; this one stays. An account made with a temporary
/// password must do this before anything else.
#[utoipa::path(post, path = "/api/me/password", tag = "accounts",
    request_body(content = PasswordChange, content_type = "application/json"),
    responses(
        (status = 200, description = "Changed; the caller, now free to work", body = Me),
        (status = 401, description = "Not logged in", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "The current password is wrong, or the new one is too short or the same", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn change(
    State(state): State<AppState>,
    headers: HeaderMap,
    witness: Witness,
    principal: Principal,
    JsonBody(body): JsonBody,
) -> Result<Json<Me>> {
    let user = principal.require_user()?.clone();
    let (current, new) = read(&body)?;
    account::check_password_for(&user.username, &new).map_err(|e| ApiError::invalid(vec![e.moved("/new_password")]))?;
    if new == current {
        return Err(ApiError::invalid_field(
            "/new_password",
            Code::SamePassword,
            "choose a password different from the current one",
        ));
    }
    let stored = accounts::credentials(&state.db, &user.username).await?.map(|(_, hash)| hash);
    if !password::verify(current, stored).await {
        return Err(ApiError::invalid_field(
            "/current_password",
            Code::WrongPassword,
            "this is not your current password",
        ));
    }
    let hash = password::hash(new).await?;
    let keep = auth::session_cookie(&headers).map(secret::hash);
    accounts::set_own_password(&state.db, user.id, &hash, keep.as_deref()).await?;
    audit::record(&state.db, witness.saw_user(SecurityEventKind::PasswordChanged, &user)).await?;
    let user = accounts::user_by_id(&state.db, user.id).await?.ok_or_else(ApiError::internal)?;
    let via = if matches!(principal, Principal::User { via: auth::Via::Token, .. }) { "token" } else { "session" };
    Ok(Json(Me { user: Some(user), via }))
}
