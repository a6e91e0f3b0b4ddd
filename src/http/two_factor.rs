//! Two-step verification (两步验证): an account enrols (a secret for its authenticator app, then a
//! first code turns it on and brings ten recovery codes, shown once), logs in with a code, renews
//! its recovery codes, turns it off; administrators say which roles must use it. Every change and
//! every wrong or reused code is in the security audit trail.

use axum::Json;
use axum::extract::State;
use axum::http::HeaderMap;
use chrono::Utc;
use serde::Serialize;
use serde_json::{Value, json};

use super::AppState;
use super::audit::{self, Witness};
use super::extract::JsonBody;
use super::session::Me;
use crate::auth::two_factor::{new_secret, recovery_codes, recovery_hash};
use crate::auth::{self, Principal, User, password, secret};
use crate::domain::audit::SecurityEventKind;
use crate::domain::fields::{self, Props};
use crate::domain::two_factor::{
    CodeCheck, SecondFactor, TwoFactorPolicy, base32, check_code, code_field, otpauth_uri, recovery_display, step_at,
};
use crate::domain::{Code, Message};
use crate::error::{ApiError, Problem, ProblemKind, Result};
use crate::store::{sessions, two_factor as store};

/// A started enrolment: what the authenticator app needs. Not in use until confirmed.
#[derive(Serialize, utoipa::ToSchema)]
pub struct Enrolling {
    /// The secret in base32, for typing into an app by hand. Shown while enrolling only.
    pub secret: String,
    /// The `otpauth://totp/...` URI the QR code carries.
    pub uri: String,
}

/// Recovery codes, shown this once: each logs in once in place of a code.
#[derive(Serialize, utoipa::ToSchema)]
pub struct RecoveryCodes {
    pub recovery_codes: Vec<String>,
}

/// Which roles must use two-step verification.
#[derive(Serialize, utoipa::ToSchema)]
pub struct Policy {
    /// Role names: `admin`, `bureau`, `township`.
    pub required_for: Vec<String>,
}

/// Checks a second factor of `user`, who uses two-step verification: a code of the app (each
/// good once) or a recovery code (used up). A recovery code used and every failure are recorded;
/// `Err` inside says why it failed, in words for the person typing.
async fn verify(
    state: &AppState,
    witness: &Witness,
    user: &User,
    factor: &SecondFactor,
    during: &str,
) -> Result<Result<(), Message>> {
    let outcome = match factor {
        SecondFactor::Code(code) => {
            let enrolment =
                store::enrolment(&state.db, &state.settings.seal_key, user.id).await?.filter(|e| e.confirmed);
            let check = match enrolment {
                None => CodeCheck::Wrong,
                Some(e) => check_code(&readable(e.secret)?, code, step_at(Utc::now().timestamp()), e.last_step),
            };
            match check {
                CodeCheck::Accepted(step) if store::use_step(&state.db, user.id, step).await? => Ok(()),
                CodeCheck::Accepted(_) | CodeCheck::Reused => Err(Message::new(
                    Code::CodeUsed,
                    "this code was used already: wait for the next one your app shows",
                )),
                CodeCheck::Wrong => {
                    Err(Message::new(Code::WrongCode, "wrong code: check that your phone's clock is right"))
                }
            }
        }
        SecondFactor::Recovery(code) => {
            match store::use_recovery_code(&state.db, user.id, &recovery_hash(user.id, code)).await? {
                Some(left) => {
                    let event = witness.saw_user(SecurityEventKind::RecoveryCodeUsed, user);
                    audit::record(&state.db, event.with(json!({"during": during, "left": left}))).await?;
                    Ok(())
                }
                None => Err(Message::new(Code::WrongRecoveryCode, "this recovery code is wrong or was used already")),
            }
        }
    };
    if outcome.is_err() {
        let kind = if matches!(factor, SecondFactor::Code(_)) { "code" } else { "recovery_code" };
        let event = witness.saw_user(SecurityEventKind::TwoFactorFailed, user);
        audit::record(&state.db, event.with(json!({"during": during, "factor": kind}))).await?;
    }
    Ok(outcome)
}

/// The second step of a login, after the password proved right: nothing for an account without
/// two-step verification; otherwise a right code, or 401 (a wrong one counts as a failed login).
pub async fn at_login(
    state: &AppState,
    witness: &Witness,
    user: &User,
    code: Option<SecondFactor>,
    address: &str,
) -> Result<()> {
    if !user.two_factor {
        return Ok(());
    }
    let Some(code) = code else {
        return Err(ApiError::new(
            ProblemKind::SecondFactorRequired,
            "this account uses two-step verification: send the 6-digit code of your authenticator app (or a \
             recovery code) as `code` with the username and password",
        ));
    };
    match verify(state, witness, user, &code, "login").await? {
        Ok(()) => Ok(()),
        Err(why) => {
            state.limiter.failed(&state.db, &user.username, address).await?;
            Err(ApiError::refused(ProblemKind::WrongSecondFactor, why))
        }
    }
}

/// The account's TOTP secret, or 503 when this server's key does not open it: the operator must
/// restore the key file (or an administrator resets the account's two-step verification).
fn readable(secret: Option<Vec<u8>>) -> Result<Vec<u8>> {
    secret.ok_or_else(|| {
        tracing::error!("a two-step secret does not open with this server's key (GREENLEDGER_SECRET_KEY_FILE)");
        ApiError::unavailable(
            "two-step codes cannot be checked on this server: its secret key is not the one the account enrolled \
             with; the operator restores the key file (GREENLEDGER_SECRET_KEY_FILE), or an administrator turns the \
             account's two-step verification off so that it enrols again",
        )
    })
}

/// 409 for a reason with its own code.
fn conflict(code: Code, detail: &str) -> ApiError {
    ApiError::refused(ProblemKind::Conflict, Message::new(code, detail))
}

/// Reads `{"code": ...}` (and the members of `extra`, as strings), every mistake at once.
fn read_code(body: &Value, extra: &[&str]) -> Result<(SecondFactor, Vec<String>)> {
    let mut p = Props::object(body, "").map_err(ApiError::invalid)?;
    let known: Vec<&str> = ["code"].iter().chain(extra).copied().collect();
    p.refuse_unknown(&known, &[]);
    let code = p.required("code", code_field);
    let texts: Vec<Option<String>> =
        extra.iter().map(|k| p.required(k, |v| fields::string(v).map(str::to_owned))).collect();
    match (code, texts.into_iter().collect::<Option<Vec<String>>>()) {
        (Some(code), Some(texts)) if p.errors.is_empty() => Ok((code, texts)),
        _ => Err(ApiError::invalid(p.errors)),
    }
}

/// Start turning on two-step verification: a new secret and the otpauth:// URI for the
/// authenticator app's QR code. Nothing changes for logging in until a code confirms it
/// (POST /api/me/two-factor/confirm); starting again replaces a pending secret.
#[utoipa::path(post, path = "/api/me/two-factor", tag = "accounts",
    responses(
        (status = 200, description = "The secret and its URI, to scan or type into the app", body = Enrolling),
        (status = 401, description = "Not logged in", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "Two-step verification is on already", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn start(State(state): State<AppState>, principal: Principal) -> Result<Json<Enrolling>> {
    let user = principal.require_user()?;
    let secret = new_secret();
    if !store::start(&state.db, &state.settings.seal_key, user.id, &secret).await? {
        return Err(conflict(
            Code::TwoFactorOn,
            "two-step verification is on already for your account; turn it off first (DELETE /api/me/two-factor) to enrol another phone",
        ));
    }
    Ok(Json(Enrolling { secret: base32(&secret), uri: otpauth_uri(&user.username, &secret) }))
}

/// Turn two-step verification on with the first code the app shows for the new secret. Answers
/// the ten recovery codes, this once; the account's other web sessions end.
#[utoipa::path(post, path = "/api/me/two-factor/confirm", tag = "accounts",
    request_body(content = Object, description = "{\"code\": \"123456\"}", content_type = "application/json"),
    responses(
        (status = 200, description = "On; the recovery codes, shown only now", body = RecoveryCodes),
        (status = 401, description = "Not logged in", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "No enrolment was started, or it is on already", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "The code is not the app's current code for the new secret", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn confirm(
    State(state): State<AppState>,
    principal: Principal,
    headers: HeaderMap,
    witness: Witness,
    JsonBody(body): JsonBody,
) -> Result<Json<RecoveryCodes>> {
    let user = principal.require_user()?;
    let (factor, _) = read_code(&body, &[])?;
    let pending = store::enrolment(&state.db, &state.settings.seal_key, user.id).await?.filter(|e| !e.confirmed);
    let pending = pending.ok_or_else(|| {
        conflict(
            Code::NoEnrolment,
            "there is no enrolment waiting for a code: start one first (POST /api/me/two-factor)",
        )
    })?;
    let SecondFactor::Code(code) = factor else {
        let why = Message::new(Code::Format, "confirm with the 6-digit code your app shows for the new account")
            .with("expected", "app_code");
        return Err(ApiError::invalid(vec![why.at("/code")]));
    };
    let CodeCheck::Accepted(step) =
        check_code(&readable(pending.secret)?, &code, step_at(Utc::now().timestamp()), None)
    else {
        let event = witness.saw_user(SecurityEventKind::TwoFactorFailed, user).with(json!({"during": "enrolment"}));
        audit::record(&state.db, event).await?;
        return Err(ApiError::invalid_field(
            "/code",
            Code::WrongCode,
            "this is not the current code of the new secret: scan the code just shown (or type the secret) and check your phone's clock",
        ));
    };
    let codes = recovery_codes();
    let hashes: Vec<Vec<u8>> = codes.iter().map(|c| recovery_hash(user.id, c)).collect();
    let mut tx = crate::store::begin(&state.db).await?;
    if !store::confirm(&mut *tx, user.id, step).await? {
        return Err(conflict(Code::NoEnrolment, "the enrolment was confirmed or started again meanwhile"));
    }
    store::replace_recovery_codes(&mut tx, user.id, &hashes).await?;
    // Sessions opened with the password alone end: from now on a login takes a code.
    sessions::end_others(&mut *tx, user.id, auth::session_cookie(&headers).map(secret::hash).as_deref()).await?;
    audit::record(&mut *tx, witness.saw_user(SecurityEventKind::TwoFactorEnrolled, user)).await?;
    tx.commit().await?;
    Ok(Json(RecoveryCodes { recovery_codes: codes.iter().map(|c| recovery_display(c)).collect() }))
}

/// New recovery codes in place of the old ones (all of which stop working), with a code of the app
/// or a recovery code; shown this once.
#[utoipa::path(post, path = "/api/me/two-factor/recovery-codes", tag = "accounts",
    request_body(content = Object, description = "{\"code\": \"123456\"}", content_type = "application/json"),
    responses(
        (status = 200, description = "The new recovery codes, shown only now", body = RecoveryCodes),
        (status = 401, description = "Not logged in", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "Two-step verification is not on", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "The code is wrong or was used already", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn renew_codes(
    State(state): State<AppState>,
    principal: Principal,
    witness: Witness,
    JsonBody(body): JsonBody,
) -> Result<Json<RecoveryCodes>> {
    let user = principal.require_user()?;
    if !user.two_factor {
        return Err(conflict(Code::TwoFactorOff, "two-step verification is not on for your account"));
    }
    let (factor, _) = read_code(&body, &[])?;
    if let Err(why) = verify(&state, &witness, user, &factor, "recovery_codes").await? {
        return Err(ApiError::invalid(vec![why.at("/code")]));
    }
    let codes = recovery_codes();
    let hashes: Vec<Vec<u8>> = codes.iter().map(|c| recovery_hash(user.id, c)).collect();
    let mut tx = crate::store::begin(&state.db).await?;
    store::replace_recovery_codes(&mut tx, user.id, &hashes).await?;
    audit::record(&mut *tx, witness.saw_user(SecurityEventKind::RecoveryCodesRenewed, user)).await?;
    tx.commit().await?;
    Ok(Json(RecoveryCodes { recovery_codes: codes.iter().map(|c| recovery_display(c)).collect() }))
}

/// Turn two-step verification off, with the password and a code (or a recovery code). Refused
/// while the administrator requires it for the caller's role.
#[utoipa::path(delete, path = "/api/me/two-factor", tag = "accounts",
    request_body(content = Object, description = "{\"password\": \"...\", \"code\": \"123456\"}", content_type = "application/json"),
    responses(
        (status = 200, description = "Off; the caller as now", body = Me),
        (status = 401, description = "Not logged in", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "The administrator requires it for your role, or it is not on", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "The password or the code is wrong", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn disable(
    State(state): State<AppState>,
    principal: Principal,
    witness: Witness,
    JsonBody(body): JsonBody,
) -> Result<Json<Me>> {
    let user = principal.require_user()?;
    if user.two_factor_required {
        let role = user.role().as_str();
        return Err(ApiError::refused(
            ProblemKind::Conflict,
            Message::new(
                Code::TwoFactorRequired,
                format!(
                    "the administrator requires two-step verification of every {role} account: it cannot be turned off (for a lost phone, log in with a recovery code, or ask an administrator to reset it)"
                ),
            )
            .with("role", role),
        ));
    }
    if !user.two_factor {
        return Err(conflict(Code::TwoFactorOff, "two-step verification is not on for your account"));
    }
    let (factor, texts) = read_code(&body, &["password"])?;
    let stored = crate::store::accounts::credentials(&state.db, &user.username).await?.map(|(_, hash)| hash);
    if !password::verify(texts[0].clone(), stored).await {
        return Err(ApiError::invalid_field("/password", Code::WrongPassword, "this is not your password"));
    }
    if let Err(why) = verify(&state, &witness, user, &factor, "disable").await? {
        return Err(ApiError::invalid(vec![why.at("/code")]));
    }
    store::remove(&state.db, user.id).await?;
    audit::record(&state.db, witness.saw_user(SecurityEventKind::TwoFactorDisabled, user)).await?;
    let user = crate::store::accounts::user_by_id(&state.db, user.id).await?.ok_or_else(ApiError::internal)?;
    let via = if matches!(principal, Principal::User { via: auth::Via::Token, .. }) { "token" } else { "session" };
    Ok(Json(Me { user: Some(user), via }))
}

/// Which roles must use two-step verification to log in to the web app.
#[utoipa::path(get, path = "/api/security/two-factor", tag = "admin",
    responses(
        (status = 200, description = "The policy", body = Policy),
        (status = 401, description = "Not logged in", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "Not an administrator", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn policy(State(state): State<AppState>, principal: Principal) -> Result<Json<Policy>> {
    principal.require_admin("read the two-step verification policy")?;
    let names = store::policy(&state.db).await?;
    Ok(Json(Policy { required_for: TwoFactorPolicy::from_names(&names).names() }))
}

/// Say which roles must use two-step verification (`{"required_for": ["admin", "bureau"]}`). Their
/// accounts that have not turned it on are held to enrolling at their next request from the web
/// app; API tokens keep working. An administrator must use it before requiring it of administrators.
#[utoipa::path(put, path = "/api/security/two-factor", tag = "admin",
    request_body(content = Object, description = "{\"required_for\": [\"admin\", \"bureau\"]}", content_type = "application/json"),
    responses(
        (status = 200, description = "The policy now", body = Policy),
        (status = 401, description = "Not logged in", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "Not an administrator", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "Requiring it of administrators before using it yourself", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "An unknown role", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn set_policy(
    State(state): State<AppState>,
    principal: Principal,
    witness: Witness,
    JsonBody(body): JsonBody,
) -> Result<Json<Policy>> {
    let admin = principal.require_admin("change the two-step verification policy")?;
    let policy = TwoFactorPolicy::parse(&body).map_err(ApiError::invalid)?;
    if policy.requires(admin.role()) && !admin.two_factor {
        return Err(conflict(
            Code::EnrolFirst,
            "turn on two-step verification for your own account first (POST /api/me/two-factor), then require it of administrators",
        ));
    }
    let before = TwoFactorPolicy::from_names(&store::policy(&state.db).await?).names();
    let after = policy.names();
    store::set_policy(&state.db, &after, admin.id).await?;
    let event = witness.saw_user(SecurityEventKind::TwoFactorPolicyChanged, admin);
    audit::record(&state.db, event.with(json!({"before": before, "after": after}))).await?;
    Ok(Json(Policy { required_for: after }))
}
