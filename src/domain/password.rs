//! What makes a password acceptable. Everyone who signs in sees contact details (a township
//! officer those of the township's tasks), so one rule holds for every role: at least
//! `MIN_PASSWORD` characters, not on the list of common passwords, and not built from the username.

use std::collections::HashSet;
use std::sync::OnceLock;

/// OWASP ASVS 2.1.1 asks for 12; township officers are held to it too, as they see citizens' details.
pub const MIN_PASSWORD: usize = 12;
pub const MAX_PASSWORD: usize = 200;

use super::{Code, Message};

/// The 10,000 most common passwords (see data/README.md for the source and licence).
const COMMON: &str = include_str!("../../data/common-passwords.txt");

fn common() -> &'static HashSet<&'static str> {
    static SET: OnceLock<HashSet<&'static str>> = OnceLock::new();
    SET.get_or_init(|| COMMON.lines().map(str::trim).filter(|l| !l.is_empty()).collect())
}

/// True when `password`, lower-cased and with trailing digits and punctuation dropped, is a common
/// password: "Password2024!" is as guessable as "password".
pub fn is_common(password: &str) -> bool {
    let lower = password.to_lowercase();
    let stem = lower.trim_end_matches(|c: char| c.is_ascii_digit() || c.is_ascii_punctuation());
    common().contains(lower.as_str()) || (!stem.is_empty() && common().contains(stem))
}

/// Length and the common list: what can be judged without knowing whose password it is.
pub fn check_alone(password: &str) -> Result<(), Message> {
    let n = password.chars().count();
    if n < MIN_PASSWORD {
        let detail = format!("a password needs at least {MIN_PASSWORD} characters");
        return Err(Message::new(Code::TooShort, detail).with("min", MIN_PASSWORD).with("got", n));
    }
    if n > MAX_PASSWORD {
        let detail = format!("a password has at most {MAX_PASSWORD} characters");
        return Err(Message::new(Code::TooLong, detail).with("max", MAX_PASSWORD).with("got", n));
    }
    if is_common(password) {
        let detail = "this password is on the list of commonly used passwords; choose another";
        return Err(Message::new(Code::CommonPassword, detail));
    }
    Ok(())
}

/// Everything, for the account `username`: the password may not contain it (any case).
pub fn check(password: &str, username: &str) -> Result<(), Message> {
    check_alone(password)?;
    if !username.is_empty() && password.to_lowercase().contains(&username.to_lowercase()) {
        return Err(Message::new(Code::ContainsUsername, "a password may not contain the username"));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn short_passwords_are_refused_and_twelve_characters_are_enough() {
        assert!(check_alone("Kx9-mvT2qw").unwrap_err().detail.contains("at least 12"));
        assert_eq!(check_alone("Kx9-mvT2qw#L"), Ok(()));
        assert!(check_alone(&"a".repeat(201)).unwrap_err().detail.contains("at most"));
    }

    #[test]
    fn characters_are_counted_not_bytes() {
        // Eleven Chinese characters are 33 bytes but still too short.
        assert!(check_alone("清源县环保整治台账好密码").is_ok());
        assert!(check_alone("清源县环保整治台账密码").is_err());
    }

    #[test]
    fn common_passwords_are_refused_with_case_and_suffixes() {
        for pw in ["unbelievable", "Scandinavian", "Password2024!!!!", "baseball12345", "QWERTY123456"] {
            assert!(is_common(pw), "{pw} should count as common");
        }
        assert!(check_alone("Password2024!!!!").unwrap_err().detail.contains("commonly used"));
        assert!(!is_common("river-dredging-permit-7"));
        assert!(!is_common("2024!!!!!!!!"), "an empty stem is not a word of the list");
    }

    #[test]
    fn the_list_is_loaded_whole() {
        assert!(common().len() > 9_000);
        assert!(common().contains("password") && common().contains("dragon"));
    }

    #[test]
    fn a_password_containing_the_username_is_refused() {
        let e = check("my-Bureau-2-password-x", "bureau-2").unwrap_err();
        assert!(e.detail.contains("username"));
        assert_eq!(check("river-dredging-permit-7", "bureau-2"), Ok(()));
    }
}
