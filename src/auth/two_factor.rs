//! The random parts of two-step verification: new TOTP secrets and recovery codes, and the hash a
//! recovery code is stored under. The rules (codes, windows, the policy) are `domain::two_factor`.

use sha2::{Digest, Sha256};
use uuid::Uuid;

use crate::domain::two_factor::{RECOVERY_ALPHABET, RECOVERY_CODES, RECOVERY_LENGTH, SECRET_BYTES};

/// A new TOTP secret from the operating system's randomness.
pub fn new_secret() -> Vec<u8> {
    let mut bytes = vec![0u8; SECRET_BYTES];
    getrandom::fill(&mut bytes).expect("the operating system provides randomness");
    bytes
}

/// One recovery code: `RECOVERY_LENGTH` characters of the alphabet, drawn without bias (bytes past
/// the last whole multiple of its 31 letters are drawn again); 31^12, about 59 bits.
fn recovery_code() -> String {
    let limit = (256 / RECOVERY_ALPHABET.len() * RECOVERY_ALPHABET.len()) as u8;
    let mut out = String::with_capacity(RECOVERY_LENGTH);
    while out.len() < RECOVERY_LENGTH {
        let mut byte = [0u8; 1];
        getrandom::fill(&mut byte).expect("the operating system provides randomness");
        if byte[0] < limit {
            out.push(RECOVERY_ALPHABET[usize::from(byte[0]) % RECOVERY_ALPHABET.len()] as char);
        }
    }
    out
}

/// A new set of recovery codes, as typed (lower case, no separators), all different.
pub fn recovery_codes() -> Vec<String> {
    let mut codes: Vec<String> = Vec::with_capacity(RECOVERY_CODES);
    while codes.len() < RECOVERY_CODES {
        let code = recovery_code();
        if !codes.contains(&code) {
            codes.push(code);
        }
    }
    codes
}

/// What a recovery code is stored under: SHA-256 of the account and the code. The codes are long
/// and random, so a slow hash adds little; the account in it makes each hash good for one account.
pub fn recovery_hash(user: Uuid, code: &str) -> Vec<u8> {
    let mut h = Sha256::new();
    h.update(user.as_bytes());
    h.update(code.as_bytes());
    h.finalize().to_vec()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::two_factor::{SecondFactor, second_factor};

    #[test]
    fn recovery_codes_are_ten_distinct_readable_codes() {
        let codes = recovery_codes();
        assert_eq!(codes.len(), RECOVERY_CODES);
        for c in &codes {
            assert_eq!(second_factor(c), Ok(SecondFactor::Recovery(c.clone())), "{c}");
        }
        let unique: std::collections::HashSet<&String> = codes.iter().collect();
        assert_eq!(unique.len(), codes.len());
        assert_ne!(new_secret(), new_secret());
        let user = Uuid::new_v4();
        assert_ne!(recovery_hash(user, &codes[0]), recovery_hash(Uuid::new_v4(), &codes[0]));
        assert_eq!(recovery_hash(user, &codes[0]).len(), 32);
    }
}
