//! The security audit trail: the closed list of what it records, how a caller filters it, and the
//! address a request came from when a proxy on this machine stands in front.

use chrono::{DateTime, Utc};
use serde::Serialize;
use serde_json::Value;

use super::fields;
use super::filter::{self, each_parameter};
use super::{Code, FieldError, Message};

/// What happened. The table stores `as_str()`; this list is the only place a kind is named.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum SecurityEventKind {
    Login,
    LoginFailed,
    /// A login refused because of too many failures, before the password was checked.
    LoginThrottled,
    Logout,
    /// A session ended because it was not used for longer than the idle timeout.
    SessionIdle,
    /// An administrator ended every session of an account.
    LogoutEverywhere,
    PasswordChanged,
    TokenCreated,
    TokenRevoked,
    AccountCreated,
    AccountChanged,
    /// An export that held contact details (who asked, which export, which filter).
    ContactExport,
    /// An account turned two-step verification on (its first code confirmed the enrolment).
    TwoFactorEnrolled,
    /// Two-step verification turned off: by the account itself, or reset by an administrator.
    TwoFactorDisabled,
    /// A wrong or reused second factor: at login, when turning it off, or confirming an enrolment.
    TwoFactorFailed,
    /// A recovery code was used (each works once); the detail says how many are left.
    RecoveryCodeUsed,
    /// An account replaced its recovery codes with new ones.
    RecoveryCodesRenewed,
    /// An administrator changed which roles must use two-step verification.
    TwoFactorPolicyChanged,
}

impl SecurityEventKind {
    pub const ALL: [SecurityEventKind; 18] = [
        Self::Login,
        Self::LoginFailed,
        Self::LoginThrottled,
        Self::Logout,
        Self::SessionIdle,
        Self::LogoutEverywhere,
        Self::PasswordChanged,
        Self::TokenCreated,
        Self::TokenRevoked,
        Self::AccountCreated,
        Self::AccountChanged,
        Self::ContactExport,
        Self::TwoFactorEnrolled,
        Self::TwoFactorDisabled,
        Self::TwoFactorFailed,
        Self::RecoveryCodeUsed,
        Self::RecoveryCodesRenewed,
        Self::TwoFactorPolicyChanged,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Login => "login",
            Self::LoginFailed => "login_failed",
            Self::LoginThrottled => "login_throttled",
            Self::Logout => "logout",
            Self::SessionIdle => "session_idle",
            Self::LogoutEverywhere => "logout_everywhere",
            Self::PasswordChanged => "password_changed",
            Self::TokenCreated => "token_created",
            Self::TokenRevoked => "token_revoked",
            Self::AccountCreated => "account_created",
            Self::AccountChanged => "account_changed",
            Self::ContactExport => "contact_export",
            Self::TwoFactorEnrolled => "two_factor_enrolled",
            Self::TwoFactorDisabled => "two_factor_disabled",
            Self::TwoFactorFailed => "two_factor_failed",
            Self::RecoveryCodeUsed => "recovery_code_used",
            Self::RecoveryCodesRenewed => "recovery_codes_renewed",
            Self::TwoFactorPolicyChanged => "two_factor_policy_changed",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|k| k.as_str() == s)
    }
}

/// One event to record. `username` is the name as typed for a failed login, else the actor's.
#[derive(Debug, Clone)]
pub struct SecurityEvent {
    pub kind: SecurityEventKind,
    pub actor: Option<uuid::Uuid>,
    pub username: String,
    pub subject: Option<uuid::Uuid>,
    pub address: String,
    pub user_agent: String,
    pub detail: Value,
}

/// What the user agent and address columns hold at most (longer values are cut, not refused: the
/// event matters more than the tail of a header).
const USER_AGENT_MAX: usize = 500;
const ADDRESS_MAX: usize = 100;
const USERNAME_MAX: usize = 200;

impl SecurityEvent {
    pub fn new(kind: SecurityEventKind, address: &str, user_agent: &str) -> Self {
        SecurityEvent {
            kind,
            actor: None,
            username: String::new(),
            subject: None,
            address: cut(address, ADDRESS_MAX),
            user_agent: cut(user_agent, USER_AGENT_MAX),
            detail: Value::Object(Default::default()),
        }
    }

    pub fn by(mut self, actor: uuid::Uuid, username: &str) -> Self {
        self.actor = Some(actor);
        self.username = cut(username, USERNAME_MAX);
        self
    }

    /// A failed login: the name as typed, cleaned of what a database text cannot hold.
    pub fn typed(mut self, username: &str) -> Self {
        self.username = cut(&username.replace('\0', ""), USERNAME_MAX);
        self
    }

    pub fn on(mut self, subject: uuid::Uuid) -> Self {
        self.subject = Some(subject);
        self
    }

    pub fn with(mut self, detail: Value) -> Self {
        self.detail = detail;
        self
    }
}

fn cut(s: &str, max: usize) -> String {
    s.chars().filter(|c| *c != '\0').take(max).collect()
}

/// Which events an administrator asks for: kinds, a time window, one account, and paging newest
/// first (`before` is the id of the last event of the previous page).
#[derive(Debug, Clone, PartialEq, Default)]
pub struct AuditFilter {
    pub kinds: Option<Vec<SecurityEventKind>>,
    pub since: Option<DateTime<Utc>>,
    pub until: Option<DateTime<Utc>>,
    pub username: Option<String>,
    pub before: Option<i64>,
    pub limit: i64,
}

pub const AUDIT_PARAMETERS: &[&str] = &["kind", "since", "until", "username", "before", "limit"];
pub const AUDIT_DEFAULT_LIMIT: i64 = 100;
/// A page of the API; the CSV export takes up to `AUDIT_CSV_LIMIT` rows.
pub const AUDIT_MAX_LIMIT: i64 = 1000;
pub const AUDIT_CSV_LIMIT: i64 = 100_000;

impl AuditFilter {
    /// `max_limit` bounds the page (the API's or the CSV's); without `limit`, the page holds `default`.
    pub fn parse(pairs: &[(String, String)], default: i64, max_limit: i64) -> Result<AuditFilter, Vec<FieldError>> {
        let mut f = AuditFilter { limit: default, ..Default::default() };
        let hint = format!("parameters are: {}", AUDIT_PARAMETERS.join(", "));
        let errors = each_parameter(pairs, AUDIT_PARAMETERS, &hint, |key, value| {
            match key {
                "kind" => f.kinds = Some(kinds(value)?),
                "since" => f.since = Some(fields::timestamp(&Value::from(value))?),
                "until" => f.until = Some(fields::timestamp(&Value::from(value))?),
                "username" => f.username = Some(value.trim().to_owned()).filter(|u| !u.is_empty()),
                "before" => f.before = Some(filter::number("before", value, 1, i64::MAX)?),
                _ => f.limit = filter::number("limit", value, 1, max_limit)?,
            }
            Ok(())
        });
        let mut errors = errors;
        if let (Some(s), Some(u)) = (f.since, f.until)
            && s > u
        {
            let detail = format!("since {s} is after until {u}");
            errors.push(
                FieldError::new("until", Code::Reversed, detail)
                    .with("from", s.to_rfc3339())
                    .with("to", u.to_rfc3339()),
            );
        }
        if errors.is_empty() { Ok(f) } else { Err(errors) }
    }
}

fn kinds(s: &str) -> Result<Vec<SecurityEventKind>, Message> {
    let known: Vec<&str> = SecurityEventKind::ALL.iter().map(|k| k.as_str()).collect();
    let names = filter::list(s);
    if names.is_empty() {
        return Err(Message::new(Code::Required, "name at least one kind").with("allowed", known));
    }
    names
        .iter()
        .map(|n| {
            SecurityEventKind::parse(n).ok_or_else(|| {
                Message::new(Code::UnknownValue, format!("unknown kind '{n}'; kinds are: {}", known.join(", ")))
                    .with("got", n.as_str())
                    .with("allowed", known.clone())
            })
        })
        .collect()
}

/// The address a request came from. Behind a proxy on this machine (the peer is a loopback
/// address) it is the last address of X-Forwarded-For, the one our proxy appended: earlier ones
/// were written by the client and prove nothing. A remote peer's own header is never believed.
pub fn client_address(peer: Option<std::net::IpAddr>, forwarded_for: Option<&str>) -> String {
    let Some(peer) = peer else { return "unknown".into() };
    if peer.is_loopback()
        && let Some(last) = forwarded_for.and_then(|h| h.rsplit(',').next()).map(str::trim)
        && let Ok(ip) = last.parse::<std::net::IpAddr>()
    {
        return ip.to_string();
    }
    peer.to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pairs(p: &[(&str, &str)]) -> Vec<(String, String)> {
        p.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect()
    }

    #[test]
    fn every_kind_reads_back_from_its_name_and_names_fit_the_table() {
        for k in SecurityEventKind::ALL {
            assert_eq!(SecurityEventKind::parse(k.as_str()), Some(k));
            assert_eq!(serde_json::to_value(k).unwrap(), k.as_str());
            assert!(k.as_str().len() <= 40 && k.as_str().chars().all(|c| c.is_ascii_lowercase() || c == '_'));
        }
        assert_eq!(SecurityEventKind::parse("drop_table"), None);
    }

    #[test]
    fn a_filter_reads_kinds_window_and_paging_and_says_every_mistake() {
        let f = AuditFilter::parse(
            &pairs(&[
                ("kind", "login_failed,login_throttled"),
                ("since", "2026-11-01T00:00:00+08:00"),
                ("limit", "50"),
                ("before", "900"),
            ]),
            AUDIT_DEFAULT_LIMIT,
            AUDIT_MAX_LIMIT,
        )
        .unwrap();
        assert_eq!(f.kinds, Some(vec![SecurityEventKind::LoginFailed, SecurityEventKind::LoginThrottled]));
        assert_eq!(f.since.unwrap().to_rfc3339(), "2026-10-31T16:00:00+00:00");
        assert_eq!((f.limit, f.before), (50, Some(900)));
        assert_eq!(AuditFilter::parse(&[], AUDIT_DEFAULT_LIMIT, AUDIT_MAX_LIMIT).unwrap().limit, AUDIT_DEFAULT_LIMIT);
        assert_eq!(AuditFilter::parse(&[], AUDIT_CSV_LIMIT, AUDIT_CSV_LIMIT).unwrap().limit, AUDIT_CSV_LIMIT);

        let errors = AuditFilter::parse(
            &pairs(&[("kind", "login,nope"), ("limit", "0"), ("since", "yesterday"), ("colour", "red")]),
            AUDIT_DEFAULT_LIMIT,
            AUDIT_MAX_LIMIT,
        )
        .unwrap_err();
        let named: Vec<&str> = errors.iter().map(|e| e.pointer.as_str()).collect();
        assert_eq!(named, ["kind", "limit", "since", "colour"]);
        assert!(errors[0].detail.contains("unknown kind 'nope'"), "{}", errors[0].detail);
        assert!(AuditFilter::parse(&pairs(&[("kind", ",")]), AUDIT_DEFAULT_LIMIT, AUDIT_MAX_LIMIT).is_err());
        let window = AuditFilter::parse(
            &pairs(&[("since", "2026-11-02T00:00:00Z"), ("until", "2026-11-01T00:00:00Z")]),
            AUDIT_DEFAULT_LIMIT,
            AUDIT_MAX_LIMIT,
        );
        assert_eq!(window.unwrap_err()[0].pointer, "until");
    }

    #[test]
    fn the_address_behind_a_local_proxy_is_the_one_it_appended() {
        let local = Some("127.0.0.1".parse().unwrap());
        let remote = Some("203.0.113.9".parse().unwrap());
        assert_eq!(client_address(local, Some("10.9.8.7")), "10.9.8.7");
        // A client's own X-Forwarded-For is kept in front of what the proxy appends: the last counts.
        assert_eq!(client_address(local, Some("1.2.3.4, 198.51.100.20")), "198.51.100.20");
        assert_eq!(client_address(local, Some("not an address")), "127.0.0.1");
        assert_eq!(client_address(local, None), "127.0.0.1");
        // Only a proxy on this machine is believed.
        assert_eq!(client_address(remote, Some("10.9.8.7")), "203.0.113.9");
        assert_eq!(client_address(None, None), "unknown");
    }

    #[test]
    fn long_or_unstorable_text_is_cut_not_refused() {
        let e = SecurityEvent::new(SecurityEventKind::LoginFailed, "127.0.0.1", &"x".repeat(900)).typed("a\0b");
        assert_eq!(e.user_agent.len(), USER_AGENT_MAX);
        assert_eq!(e.username, "ab");
    }
}
