//! Accounts as an administrator (or the CLI) creates and changes them.

use serde_json::Value;

use super::access::Role;
use super::fields::{self, Props};
use super::password;
use super::task::township_code;
use super::{Code, FieldError, Message};

/// A username: 2–64 of a-z, 0-9, '.', '_', '-', taken in lower case.
pub fn username(v: &Value) -> Result<String, Message> {
    let s = fields::text(64, false)(v)?.to_lowercase();
    let ok = s.len() >= 2
        && s.starts_with(|c: char| c.is_ascii_alphanumeric())
        && s.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || "._-".contains(c));
    if ok {
        Ok(s)
    } else {
        let detail = format!("'{s}' is not a username (2–64 of a-z, 0-9, '.', '_', '-')");
        Err(Message::new(Code::Format, detail).with("expected", "username").with("got", s))
    }
}

fn role(v: &Value) -> Result<Role, Message> {
    fields::one_of(Role::ALL)(v)
}

/// A password a person chooses (or is given), on its own: length and the common-password list.
pub fn password(v: &Value) -> Result<String, Message> {
    let s = fields::string(v)?;
    password::check_alone(s)?;
    Ok(s.to_owned())
}

/// The rule that needs the account's name: a password may not contain it.
pub fn check_password_for(username: &str, pw: &str) -> Result<(), FieldError> {
    password::check(pw, username).map_err(|e| e.at("/password"))
}

/// A department's code: 2–32 of a-z, 0-9 and '_', starting with a letter (as a family's).
pub fn department_code(v: &Value) -> Result<String, Message> {
    let s = fields::string(v)?;
    let ok = (2..=32).contains(&s.len())
        && s.starts_with(|c: char| c.is_ascii_lowercase())
        && s.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_');
    if ok {
        Ok(s.to_owned())
    } else {
        let detail = format!("'{s}' is not a department code (2–32 of a-z, 0-9, '_', starting with a letter)");
        Err(Message::new(Code::Format, detail).with("expected", "department code").with("got", s))
    }
}

/// A township officer belongs to exactly one township, a department officer to one department, and
/// staff to neither.
pub fn check_role_unit(role: Role, township: Option<&str>, department: Option<&str>) -> Result<(), FieldError> {
    let needs = |field: &str, what: &str| {
        FieldError::new(format!("/{field}"), Code::Required, format!("a {} officer needs a {what} code", role.as_str()))
    };
    let refuse = |field: &str| {
        let detail = format!("a {} account belongs to no {field}", role.as_str());
        FieldError::new(format!("/{field}"), Code::NotAllowed, detail).with("role", role.as_str())
    };
    match (role, township, department) {
        (Role::Township, None, _) => Err(needs("township", "township")),
        (Role::Department, _, None) => Err(needs("department", "department")),
        (Role::Admin | Role::Bureau | Role::Department, Some(_), _) => Err(refuse("township")),
        (Role::Admin | Role::Bureau | Role::Township, _, Some(_)) => Err(refuse("department")),
        _ => Ok(()),
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct NewAccount {
    pub username: String,
    pub display_name: String,
    pub role: Role,
    pub township: Option<String>,
    pub department: Option<String>,
    pub password: String,
}

impl NewAccount {
    pub fn parse(body: &Value) -> Result<NewAccount, Vec<FieldError>> {
        let mut p = Props::object(body, "")?;
        p.refuse_unknown(&["username", "display_name", "role", "township", "department", "password"], &[]);
        let account = NewAccount {
            username: p.required("username", username).unwrap_or_default(),
            display_name: p.optional("display_name", fields::text(100, true)).unwrap_or_default(),
            role: p.required("role", role).unwrap_or(Role::Township),
            township: p.optional("township", township_code),
            department: p.optional("department", department_code),
            password: p.required("password", password).unwrap_or_default(),
        };
        let mut errors = p.errors;
        if errors.is_empty()
            && let Err(e) = check_role_unit(account.role, account.township.as_deref(), account.department.as_deref())
                .and_then(|()| check_password_for(&account.username, &account.password))
        {
            errors.push(e);
        }
        if errors.is_empty() { Ok(account) } else { Err(errors) }
    }
}

#[derive(Debug, Clone, Default, PartialEq)]
pub struct AccountChange {
    pub display_name: Option<String>,
    pub role: Option<Role>,
    pub township: Option<Option<String>>,
    pub department: Option<Option<String>>,
    pub active: Option<bool>,
    pub password: Option<String>,
    /// A new temporary password, made by the service and shown once (instead of `password`).
    pub reset_password: bool,
    /// `Some(false)`: two-step verification reset (a lost phone); an account turns it on itself.
    pub two_factor: Option<bool>,
}

/// An administrator may turn an account's two-step verification off, never on: the account's own
/// phone must take the secret.
fn two_factor_reset(v: &Value) -> Result<bool, Message> {
    match fields::boolean(v)? {
        false => Ok(false),
        true => Err(Message::new(
            Code::TwoFactorOffOnly,
            "only false: an administrator can turn two-step verification off (a lost phone); \
             the account turns it on itself",
        )),
    }
}

impl AccountChange {
    pub fn parse(body: &Value) -> Result<AccountChange, Vec<FieldError>> {
        let mut p = Props::object(body, "")?;
        p.refuse_unknown(
            &["display_name", "role", "township", "department", "active", "password", "reset_password", "two_factor"],
            &[],
        );
        let change = AccountChange {
            display_name: p.change("display_name", fields::text(100, true)),
            role: p.change("role", role),
            township: p.change_nullable("township", township_code),
            department: p.change_nullable("department", department_code),
            active: p.change("active", fields::boolean),
            password: p.change("password", password),
            reset_password: p.change("reset_password", fields::boolean).unwrap_or(false),
            two_factor: p.change("two_factor", two_factor_reset),
        };
        if change.reset_password && change.password.is_some() {
            let why = Message::new(Code::Exclusive, "send either a password or reset_password, not both");
            p.fail("reset_password", why.with("field", "password"));
        }
        if p.errors.is_empty() { Ok(change) } else { Err(p.errors) }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn a_township_officer_needs_a_township_and_staff_have_none() {
        let ok = NewAccount::parse(&json!({"username": "Township-330599101", "role": "township",
                                           "township": "330599101", "password": "long enough here"}))
        .unwrap();
        assert_eq!(ok.username, "township-330599101");
        let e = NewAccount::parse(&json!({"username": "t1", "role": "township", "password": "long enough here"}))
            .unwrap_err();
        assert_eq!(e[0].pointer, "/township");
        let e = NewAccount::parse(
            &json!({"username": "b1", "role": "bureau", "township": "330599101", "password": "long enough here"}),
        )
        .unwrap_err();
        assert_eq!(e[0].pointer, "/township");
    }

    #[test]
    fn a_department_officer_needs_a_department_and_no_township() {
        let ok = NewAccount::parse(&json!({"username": "water-1", "role": "department",
                                           "department": "water", "password": "long enough here"}))
        .unwrap();
        assert_eq!(ok.department.as_deref(), Some("water"));
        let e = NewAccount::parse(&json!({"username": "w2", "role": "department", "password": "long enough here"}))
            .unwrap_err();
        assert_eq!((e[0].pointer.as_str(), e[0].code), ("/department", Code::Required));
        let e = NewAccount::parse(&json!({"username": "w3", "role": "department", "department": "water",
                                          "township": "330599101", "password": "long enough here"}))
        .unwrap_err();
        assert_eq!((e[0].pointer.as_str(), e[0].code), ("/township", Code::NotAllowed));
        let e = NewAccount::parse(&json!({"username": "t3", "role": "township", "department": "water",
                                          "township": "330599101", "password": "long enough here"}))
        .unwrap_err();
        assert_eq!(e[0].pointer, "/department");
        let e = NewAccount::parse(&json!({"username": "w4", "role": "department", "department": "Water Bureau",
                                          "password": "long enough here"}))
        .unwrap_err();
        assert_eq!((e[0].pointer.as_str(), e[0].code), ("/department", Code::Format));
    }

    #[test]
    fn a_reset_is_asked_for_alone() {
        assert!(AccountChange::parse(&json!({"reset_password": true})).unwrap().reset_password);
        let e = AccountChange::parse(&json!({"reset_password": true, "password": "long enough here"})).unwrap_err();
        assert_eq!(e[0].pointer, "/reset_password");
    }

    #[test]
    fn an_administrator_resets_two_factor_but_never_turns_it_on() {
        assert_eq!(AccountChange::parse(&json!({"two_factor": false})).unwrap().two_factor, Some(false));
        let e = AccountChange::parse(&json!({"two_factor": true})).unwrap_err();
        assert_eq!((e[0].pointer.as_str(), e[0].code), ("/two_factor", Code::TwoFactorOffOnly));
    }

    #[test]
    fn short_passwords_and_odd_usernames_are_refused() {
        let e = NewAccount::parse(&json!({"username": "a b", "role": "admin", "password": "short"})).unwrap_err();
        let pointers: Vec<_> = e.iter().map(|x| x.pointer.as_str()).collect();
        assert_eq!(pointers, ["/username", "/password"]);
    }

    #[test]
    fn a_new_account_password_may_not_hold_its_username_or_be_common() {
        let e = NewAccount::parse(&json!({"username": "bureau-7", "role": "bureau", "password": "Bureau-7-is-me!"}))
            .unwrap_err();
        assert_eq!((e[0].pointer.as_str(), e[0].detail.contains("username")), ("/password", true));
        let e =
            NewAccount::parse(&json!({"username": "b7", "role": "bureau", "password": "unbelievable"})).unwrap_err();
        assert!(e[0].detail.contains("commonly used"));
    }
}
