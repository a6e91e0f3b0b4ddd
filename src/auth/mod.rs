//! Who is calling: a session cookie (the web app) or a bearer token (scripts, GIS clients), or
//! nobody. Handlers state what they need by taking a `Principal` and calling `require_*`.

pub mod key_file;
pub mod limiter;
pub mod password;
pub mod roster;
pub mod secret;
pub mod two_factor;

use axum::extract::{FromRef, FromRequestParts};
use axum::http::request::Parts;
use axum::http::{HeaderMap, Method, header};
use uuid::Uuid;

use crate::domain::access::{Role, Viewer};
use crate::domain::audit::{SecurityEvent, SecurityEventKind, client_address};
use crate::error::{ApiError, ProblemKind};
use crate::store::{self, Db};

pub use crate::store::accounts::{RoleName, User};

pub const SESSION_COOKIE: &str = "gl_session";
pub const TOKEN_PREFIX: &str = "glt_";

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Via {
    Session,
    Token,
}

#[derive(Debug, Clone)]
pub enum Principal {
    Anonymous,
    User { user: User, via: Via },
}

impl Principal {
    pub fn user(&self) -> Option<&User> {
        match self {
            Principal::User { user, .. } => Some(user),
            Principal::Anonymous => None,
        }
    }

    pub fn user_id(&self) -> Option<Uuid> {
        self.user().map(|u| u.id)
    }

    pub fn viewer(&self) -> Viewer {
        match self.user() {
            Some(u) if u.role().is_staff() => Viewer::Staff,
            Some(User { township: Some(code), .. }) => Viewer::Township(code.clone()),
            Some(User { department: Some(code), .. }) => Viewer::Department(code.clone()),
            _ => Viewer::Public,
        }
    }

    /// 401 unless logged in.
    pub fn require_user(&self) -> Result<&User, ApiError> {
        self.user().ok_or_else(|| {
            ApiError::new(ProblemKind::Unauthenticated, "log in first (POST /api/session), or send an API token")
                .with_header(header::WWW_AUTHENTICATE, header::HeaderValue::from_static("Bearer"))
        })
    }

    /// 401 unless logged in, 403 unless bureau staff or admin.
    pub fn require_staff(&self, to: &str) -> Result<&User, ApiError> {
        let user = self.require_user()?;
        if user.role().is_staff() {
            Ok(user)
        } else {
            let who = if user.role() == Role::Department { "a department" } else { "a township" };
            Err(ApiError::forbidden(format!("only bureau staff may {to}; you are logged in as {who} officer")))
        }
    }

    /// 401 unless logged in, 403 unless admin.
    pub fn require_admin(&self, to: &str) -> Result<&User, ApiError> {
        let user = self.require_user()?;
        if user.role() == Role::Admin {
            Ok(user)
        } else {
            Err(ApiError::forbidden(format!("only an administrator may {to}")))
        }
    }
}

pub fn cookie<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|c| c.trim().split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v)
}

/// The authority (`host:port`) of an Origin or Referer URL.
fn authority(url: &str) -> Option<&str> {
    let rest = url.split_once("://")?.1;
    Some(rest.split(['/', '?', '#']).next().unwrap_or(rest))
}

/// Cookies ride along with cross-site requests, so a change made with a session cookie must prove
/// it comes from our own pages: the browser's Origin (or Referer) must name this host.
pub fn check_same_origin(method: &Method, headers: &HeaderMap) -> Result<(), ApiError> {
    if matches!(*method, Method::GET | Method::HEAD | Method::OPTIONS) {
        return Ok(());
    }
    if let Some(site) = headers.get("sec-fetch-site").and_then(|v| v.to_str().ok())
        && site != "same-origin"
        && site != "none"
    {
        return Err(ApiError::forbidden(format!("cross-site request refused (Sec-Fetch-Site: {site})")));
    }
    let host = headers.get(header::HOST).and_then(|v| v.to_str().ok());
    let origin = headers.get(header::ORIGIN).or_else(|| headers.get(header::REFERER)).and_then(|v| v.to_str().ok());
    match (origin, host) {
        (Some(o), Some(h)) if authority(o) == Some(h) => Ok(()),
        (Some(o), _) => Err(ApiError::forbidden(format!("cross-site request refused: it comes from {o}"))),
        (None, _) => Err(ApiError::forbidden(
            "a change made with a session cookie must come from the greenledger web app (no Origin header); scripts use an API token",
        )),
    }
}

/// How long a session may go unused before it ends (the idle timeout), whatever its lifetime.
#[derive(Debug, Clone, Copy)]
pub struct IdleTimeout(pub std::time::Duration);

/// Any state that holds the database and the idle timeout can tell who is calling.
impl<S> FromRequestParts<S> for Principal
where
    Db: FromRef<S>,
    IdleTimeout: FromRef<S>,
    S: Send + Sync,
{
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, ApiError> {
        let db = Db::from_ref(state);
        if let Some(value) = parts.headers.get(header::AUTHORIZATION) {
            let token = value.to_str().ok().and_then(|v| v.strip_prefix("Bearer ")).map(str::trim);
            let unauthorized = |d: &str| {
                ApiError::new(ProblemKind::Unauthenticated, d.to_owned())
                    .with_header(header::WWW_AUTHENTICATE, header::HeaderValue::from_static("Bearer"))
            };
            let Some(token) = token else {
                return Err(unauthorized("Authorization must be 'Bearer <API token>'"));
            };
            return match store::accounts::user_by_token(&db, &secret::hash(token)).await? {
                Some(user) => {
                    check_password_chosen(&user, parts)?;
                    Ok(Principal::User { user, via: Via::Token })
                }
                None => Err(unauthorized("the API token is unknown or has been revoked")),
            };
        }
        if let Some(session) = session_cookie(&parts.headers) {
            let hash = secret::hash(session);
            match store::sessions::find(&db, &hash, IdleTimeout::from_ref(state).0).await? {
                Some(found) if found.idle => end_idle(&db, &hash, &found.user, parts).await?,
                Some(store::sessions::Found { user, .. }) => {
                    check_same_origin(&parts.method, &parts.headers)?;
                    check_password_chosen(&user, parts)?;
                    check_two_factor_enrolled(&user, parts)?;
                    return Ok(Principal::User { user, via: Via::Session });
                }
                None => {}
            }
        }
        // An expired or unknown cookie reads as anonymous: the public map still works, and any
        // change answers 401, which sends the web app to its login form.
        Ok(Principal::Anonymous)
    }
}

/// The client's address: the peer's, or behind a proxy on this machine the address the proxy
/// appended to X-Forwarded-For (see `domain::audit::client_address`).
pub fn request_address(parts: &Parts) -> String {
    let peer = parts.extensions.get::<axum::extract::ConnectInfo<std::net::SocketAddr>>().map(|c| c.0.ip());
    let forwarded = parts.headers.get("x-forwarded-for").and_then(|v| v.to_str().ok());
    client_address(peer, forwarded)
}

/// A session unused for longer than the idle timeout ends here, and the trail says so; the
/// request goes on as anonymous (a change answers 401, and the web app asks to log in again).
async fn end_idle(db: &Db, hash: &[u8], user: &User, parts: &Parts) -> Result<(), ApiError> {
    store::sessions::end(db, hash).await?;
    let agent = parts.headers.get(header::USER_AGENT).and_then(|v| v.to_str().ok()).unwrap_or("");
    let event =
        SecurityEvent::new(SecurityEventKind::SessionIdle, &request_address(parts), agent).by(user.id, &user.username);
    store::audit::record(db, &event).await?;
    Ok(())
}

/// What an account with a temporary password may still do: ask who it is, choose its password, log out.
pub fn allowed_with_temporary_password(method: &Method, path: &str) -> bool {
    matches!((method.as_str(), path), ("GET", "/api/me") | ("POST", "/api/me/password") | ("DELETE", "/api/session"))
}

/// Holds an account with a temporary password to choosing its own, whatever else it asks.
fn check_password_chosen(user: &User, parts: &Parts) -> Result<(), ApiError> {
    if !user.must_change_password || allowed_with_temporary_password(&parts.method, parts.uri.path()) {
        return Ok(());
    }
    Err(ApiError::new(
        ProblemKind::PasswordChangeRequired,
        "this account has a temporary password: choose your own first (POST /api/me/password with \
         current_password and new_password)",
    ))
}

/// What a web session of an account that must use two-step verification but has not turned it on
/// may still do: ask who it is, enrol, log out (and choose its password, the hold before this one).
pub fn allowed_before_two_factor(method: &Method, path: &str) -> bool {
    allowed_with_temporary_password(method, path)
        || matches!((method.as_str(), path), ("POST", "/api/me/two-factor") | ("POST", "/api/me/two-factor/confirm"))
}

/// Holds a web session of an account the policy requires two-step verification of to turning it on.
/// API tokens are not held: scripts cannot enrol, and the administrator's policy is about people
/// logging in.
fn check_two_factor_enrolled(user: &User, parts: &Parts) -> Result<(), ApiError> {
    if !user.two_factor_required || user.two_factor || allowed_before_two_factor(&parts.method, parts.uri.path()) {
        return Ok(());
    }
    Err(ApiError::new(
        ProblemKind::TwoFactorEnrolmentRequired,
        "the administrator requires two-step verification for your role: turn it on first (POST /api/me/two-factor, \
         then POST /api/me/two-factor/confirm with a code from your authenticator app)",
    ))
}

/// The session cookie's value, if the request carries one.
pub fn session_cookie(headers: &HeaderMap) -> Option<&str> {
    cookie(headers, SESSION_COOKIE)
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::Request;

    fn parts(method: Method, headers: &[(&str, &str)]) -> Parts {
        let mut req = Request::builder().method(method).uri("/api/tasks");
        for (k, v) in headers {
            req = req.header(*k, *v);
        }
        req.body(()).unwrap().into_parts().0
    }

    fn headers(pairs: &[(&str, &str)]) -> HeaderMap {
        parts(Method::GET, pairs).headers
    }

    #[test]
    fn same_origin_changes_pass_and_cross_site_ones_do_not() {
        let host = ("host", "127.0.0.1:8080");
        assert!(check_same_origin(&Method::GET, &headers(&[host])).is_ok());
        assert!(check_same_origin(&Method::POST, &headers(&[host, ("origin", "http://127.0.0.1:8080")])).is_ok());
        assert!(
            check_same_origin(&Method::POST, &headers(&[host, ("referer", "http://127.0.0.1:8080/map?x=1")])).is_ok()
        );
        assert!(check_same_origin(&Method::POST, &headers(&[host, ("origin", "http://evil.example")])).is_err());
        assert!(check_same_origin(&Method::PATCH, &headers(&[host])).is_err());
        assert!(
            check_same_origin(
                &Method::POST,
                &headers(&[host, ("origin", "http://127.0.0.1:8080"), ("sec-fetch-site", "cross-site")])
            )
            .is_err()
        );
    }

    #[test]
    fn a_temporary_password_leaves_only_who_am_i_the_password_and_logging_out() {
        assert!(allowed_with_temporary_password(&Method::GET, "/api/me"));
        assert!(allowed_with_temporary_password(&Method::POST, "/api/me/password"));
        assert!(allowed_with_temporary_password(&Method::DELETE, "/api/session"));
        assert!(!allowed_with_temporary_password(&Method::POST, "/api/me/tokens"));
        assert!(!allowed_with_temporary_password(&Method::GET, "/api/tasks"));
        assert!(!allowed_with_temporary_password(&Method::POST, "/api/me"));
    }

    #[test]
    fn an_account_held_to_enrol_may_ask_who_it_is_enrol_and_log_out() {
        assert!(allowed_before_two_factor(&Method::GET, "/api/me"));
        assert!(allowed_before_two_factor(&Method::POST, "/api/me/two-factor"));
        assert!(allowed_before_two_factor(&Method::POST, "/api/me/two-factor/confirm"));
        assert!(allowed_before_two_factor(&Method::DELETE, "/api/session"));
        assert!(!allowed_before_two_factor(&Method::DELETE, "/api/me/two-factor"));
        assert!(!allowed_before_two_factor(&Method::POST, "/api/me/tokens"));
        assert!(!allowed_before_two_factor(&Method::GET, "/api/tasks"));
    }

    #[test]
    fn reads_the_session_cookie_among_others() {
        assert_eq!(session_cookie(&headers(&[("cookie", "a=1; gl_session=abc; b=2")])), Some("abc"));
    }
}
