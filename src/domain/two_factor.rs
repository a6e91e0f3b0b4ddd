//! Two-step verification (两步验证): time-based one-time passwords (TOTP, RFC 6238, over HOTP of
//! RFC 4226) as authenticator apps compute them, the otpauth:// URI their QR code carries, what a
//! person may type as a second factor (a code or a recovery code), and the administrator's policy
//! of which roles must use it.

use hmac::{Hmac, Mac};
use serde_json::Value;
use sha1::Sha1;

use super::access::Role;
use super::fields::{self, Props};
use super::{Code, FieldError, Message};

/// RFC 6238's defaults, the only parameters every authenticator app supports: SHA-1, 30-second
/// steps, six digits.
pub const STEP_SECONDS: i64 = 30;
pub const DIGITS: u32 = 6;
/// Steps accepted before and after the current one: a phone's clock a little off, and a code typed
/// as it changes (RFC 6238 §5.2 recommends at most one step of network delay).
pub const WINDOW: i64 = 1;
/// 160 bits, the length RFC 4226 §4 recommends and the HMAC-SHA-1 block takes without hashing.
pub const SECRET_BYTES: usize = 20;
/// How many recovery codes an account gets at once, each good for one login.
pub const RECOVERY_CODES: usize = 10;
/// A recovery code: letters and digits without look-alikes (0/o, 1/l/i), in groups of four.
pub const RECOVERY_ALPHABET: &[u8] = b"abcdefghjkmnpqrstuvwxyz23456789";
pub const RECOVERY_LENGTH: usize = 12;
/// What authenticator apps show as the account's issuer.
pub const ISSUER: &str = "greenledger";

/// HOTP (RFC 4226 §5.3): HMAC-SHA-1 of the counter, dynamically truncated to `digits` digits.
pub fn hotp(secret: &[u8], counter: u64, digits: u32) -> u32 {
    let mut mac = Hmac::<Sha1>::new_from_slice(secret).expect("HMAC takes a key of any length");
    mac.update(&counter.to_be_bytes());
    let h = mac.finalize().into_bytes();
    let offset = usize::from(h[19] & 0x0f);
    let bin = u32::from_be_bytes([h[offset] & 0x7f, h[offset + 1], h[offset + 2], h[offset + 3]]);
    bin % 10u32.pow(digits)
}

/// The TOTP time step holding the moment `unix_seconds`.
pub fn step_at(unix_seconds: i64) -> i64 {
    unix_seconds.div_euclid(STEP_SECONDS)
}

/// The six-digit code of `step`, zero-padded as the apps show it.
pub fn code_at(secret: &[u8], step: i64) -> String {
    format!("{:0width$}", hotp(secret, step as u64, DIGITS), width = DIGITS as usize)
}

/// What a typed code proved.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CodeCheck {
    /// The code of this step, not used before: the step is to be kept as the last used.
    Accepted(i64),
    /// A code of a step already used (someone may have watched it being typed): refused.
    Reused,
    Wrong,
}

/// Checks six digits against the steps around `now_step`. A code is good once: a step at or before
/// `last_used` (the step of the last accepted code) is refused, so a code seen over a shoulder or
/// in a log cannot be replayed within its window.
pub fn check_code(secret: &[u8], code: &str, now_step: i64, last_used: Option<i64>) -> CodeCheck {
    let mut reused = false;
    for step in now_step - WINDOW..=now_step + WINDOW {
        if same(&code_at(secret, step), code) {
            if last_used.is_some_and(|last| step <= last) {
                reused = true;
            } else {
                return CodeCheck::Accepted(step);
            }
        }
    }
    if reused { CodeCheck::Reused } else { CodeCheck::Wrong }
}

/// Compares in time independent of where the strings differ.
fn same(a: &str, b: &str) -> bool {
    a.len() == b.len() && a.bytes().zip(b.bytes()).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// RFC 4648 base32 without padding: how authenticator apps take a secret typed by hand.
pub fn base32(bytes: &[u8]) -> String {
    const ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
    let mut out = String::with_capacity(bytes.len().div_ceil(5) * 8);
    let (mut buffer, mut bits) = (0u32, 0u32);
    for b in bytes {
        buffer = (buffer << 8) | u32::from(*b);
        bits += 8;
        while bits >= 5 {
            bits -= 5;
            out.push(ALPHABET[((buffer >> bits) & 31) as usize] as char);
        }
    }
    if bits > 0 {
        out.push(ALPHABET[((buffer << (5 - bits)) & 31) as usize] as char);
    }
    out
}

/// The key URI an authenticator app reads from the QR code ("Key Uri Format" of Google
/// Authenticator, which every app follows): `otpauth://totp/ISSUER:ACCOUNT?secret=…&issuer=…`.
pub fn otpauth_uri(username: &str, secret: &[u8]) -> String {
    format!(
        "otpauth://totp/{issuer}:{account}?secret={secret}&issuer={issuer}&algorithm=SHA1&digits={DIGITS}&period={STEP_SECONDS}",
        issuer = percent(ISSUER),
        account = percent(username),
        secret = base32(secret),
    )
}

fn percent(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' => (b as char).to_string(),
            _ => format!("%{b:02X}"),
        })
        .collect()
}

/// What a person typed as the second factor.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SecondFactor {
    /// Six digits from the authenticator app.
    Code(String),
    /// A recovery code, lower case without separators.
    Recovery(String),
}

/// Reads a typed second factor: spaces and dashes are ignored (apps show `123 456`, recovery codes
/// are printed `abcd-efgh-jkmn`), letters in any case.
pub fn second_factor(typed: &str) -> Result<SecondFactor, Message> {
    let s: String = typed.chars().filter(|c| !c.is_whitespace() && *c != '-').collect::<String>().to_lowercase();
    if s.len() == DIGITS as usize && s.bytes().all(|b| b.is_ascii_digit()) {
        return Ok(SecondFactor::Code(s));
    }
    if s.len() == RECOVERY_LENGTH && s.bytes().all(|b| RECOVERY_ALPHABET.contains(&b)) {
        return Ok(SecondFactor::Recovery(s));
    }
    Err(Message::new(
        Code::Format,
        format!("a code is the {DIGITS} digits your authenticator app shows, or one of your recovery codes (like abcd-efgh-jkmn)"),
    )
    .with("expected", "second_factor"))
}

/// A recovery code as it is shown: groups of four joined by dashes.
pub fn recovery_display(code: &str) -> String {
    code.as_bytes().chunks(4).map(|c| String::from_utf8_lossy(c).into_owned()).collect::<Vec<_>>().join("-")
}

/// A JSON body's `code` member, read as a second factor.
pub fn code_field(v: &Value) -> Result<SecondFactor, Message> {
    second_factor(&fields::text(40, false)(v)?)
}

/// Which roles must use two-step verification to log in to the web app (API tokens are not held
/// to it: a script cannot type a code, and a token is made from a session that did).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TwoFactorPolicy {
    pub required_for: Vec<Role>,
}

impl TwoFactorPolicy {
    /// `{"required_for": ["admin", "bureau"]}`; roles in a fixed order, each once.
    pub fn parse(body: &Value) -> Result<TwoFactorPolicy, Vec<FieldError>> {
        let mut p = Props::object(body, "")?;
        p.refuse_unknown(&["required_for"], &[]);
        let roles = p.required("required_for", roles);
        match roles {
            Some(required_for) if p.errors.is_empty() => Ok(TwoFactorPolicy { required_for }),
            _ => Err(p.errors),
        }
    }

    /// The roles as stored (names).
    pub fn from_names(names: &[String]) -> TwoFactorPolicy {
        let required_for =
            Role::ALL.iter().map(|(_, r)| *r).filter(|r| names.iter().any(|n| n == r.as_str())).collect();
        TwoFactorPolicy { required_for }
    }

    pub fn names(&self) -> Vec<String> {
        self.required_for.iter().map(|r| r.as_str().to_owned()).collect()
    }

    pub fn requires(&self, role: Role) -> bool {
        self.required_for.contains(&role)
    }
}

fn roles(v: &Value) -> Result<Vec<Role>, Message> {
    let list = v.as_array().ok_or_else(|| fields::wrong_type("array", "must be a list of roles", v))?;
    let mut names = Vec::new();
    for item in list {
        let role = fields::one_of(Role::ALL)(item)?;
        names.push(role.as_str().to_owned());
    }
    Ok(TwoFactorPolicy::from_names(&names).required_for)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    /// RFC 6238 Appendix B, SHA-1 rows: the 20-byte ASCII key "12345678901234567890", eight digits.
    #[test]
    fn rfc_6238_appendix_b_vectors() {
        let key = b"12345678901234567890";
        let vectors: [(i64, u32); 6] = [
            (59, 94287082),
            (1111111109, 7081804),
            (1111111111, 14050471),
            (1234567890, 89005924),
            (2000000000, 69279037),
            (20000000000, 65353130),
        ];
        for (time, expected) in vectors {
            assert_eq!(hotp(key, step_at(time) as u64, 8), expected, "T = {time}");
            // Six digits are the last six of the same number.
            assert_eq!(code_at(key, step_at(time)), format!("{:06}", expected % 1_000_000));
        }
        assert_eq!(code_at(key, step_at(1111111109)), "081804", "leading zeros are kept");
    }

    /// RFC 4226 Appendix D: HOTP of the same key for counters 0 and 9.
    #[test]
    fn rfc_4226_hotp_vectors() {
        let key = b"12345678901234567890";
        assert_eq!(hotp(key, 0, 6), 755224);
        assert_eq!(hotp(key, 9, 6), 520489);
    }

    #[test]
    fn a_code_is_good_within_one_step_either_side_and_only_once() {
        let key = b"12345678901234567890";
        let now = step_at(1_700_000_000);
        for offset in [-1, 0, 1] {
            assert_eq!(check_code(key, &code_at(key, now + offset), now, None), CodeCheck::Accepted(now + offset));
        }
        assert_eq!(check_code(key, &code_at(key, now - 2), now, None), CodeCheck::Wrong);
        assert_eq!(check_code(key, &code_at(key, now + 2), now, None), CodeCheck::Wrong);
        // Used once: the same code, and any earlier one, is refused as reused.
        assert_eq!(check_code(key, &code_at(key, now), now, Some(now)), CodeCheck::Reused);
        assert_eq!(check_code(key, &code_at(key, now - 1), now, Some(now)), CodeCheck::Reused);
        assert_eq!(check_code(key, &code_at(key, now + 1), now, Some(now)), CodeCheck::Accepted(now + 1));
        assert_eq!(check_code(key, "000000", now, None), CodeCheck::Wrong);
    }

    /// RFC 4648 §10 test vectors, without the padding.
    #[test]
    fn base32_as_rfc_4648_spells_it() {
        let cases = [("", ""), ("f", "MY"), ("fo", "MZXQ"), ("foo", "MZXW6"), ("foob", "MZXW6YQ")];
        for (plain, encoded) in cases {
            assert_eq!(base32(plain.as_bytes()), encoded);
        }
        assert_eq!(base32(b"fooba"), "MZXW6YTB");
        assert_eq!(base32(b"foobar"), "MZXW6YTBOI");
        assert_eq!(base32(b"12345678901234567890"), "GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ");
    }

    #[test]
    fn the_uri_names_issuer_account_and_parameters() {
        let uri = otpauth_uri("bureau.li", b"12345678901234567890");
        assert_eq!(
            uri,
            "otpauth://totp/greenledger:bureau.li?secret=GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ&issuer=greenledger\
             &algorithm=SHA1&digits=6&period=30"
        );
        assert_eq!(percent("a b:c"), "a%20b%3Ac");
    }

    #[test]
    fn typed_codes_read_with_spaces_dashes_and_any_case() {
        assert_eq!(second_factor(" 123 456 "), Ok(SecondFactor::Code("123456".into())));
        assert_eq!(second_factor("ABCD-efgh-JKMN"), Ok(SecondFactor::Recovery("abcdefghjkmn".into())));
        assert_eq!(second_factor("12345").unwrap_err().code, Code::Format);
        assert!(second_factor("abcd-efgh-jkm1").is_err(), "1 is not in the alphabet");
        assert!(second_factor("").is_err());
        assert_eq!(recovery_display("abcdefghjkmn"), "abcd-efgh-jkmn");
        assert!(code_field(&json!(123456)).is_err(), "a number loses leading zeros: a string is required");
    }

    #[test]
    fn the_policy_names_known_roles_once_in_a_fixed_order() {
        let p = TwoFactorPolicy::parse(&json!({"required_for": ["bureau", "admin", "bureau"]})).unwrap();
        assert_eq!(p.required_for, [Role::Admin, Role::Bureau]);
        assert!(p.requires(Role::Bureau) && !p.requires(Role::Township));
        assert_eq!(TwoFactorPolicy::parse(&json!({"required_for": []})).unwrap(), TwoFactorPolicy::default());
        let e = TwoFactorPolicy::parse(&json!({"required_for": ["root"]})).unwrap_err();
        assert_eq!((e[0].pointer.as_str(), e[0].code), ("/required_for", Code::UnknownValue));
        let e = TwoFactorPolicy::parse(&json!({"required_for": "admin"})).unwrap_err();
        assert_eq!(e[0].code, Code::WrongType);
        let e = TwoFactorPolicy::parse(&json!({"required_for": "admin", "extra": 1})).unwrap_err();
        assert_eq!(e.len(), 2);
        assert_eq!(TwoFactorPolicy::from_names(&["township".into(), "nobody".into()]).names(), ["township"]);
    }
}
