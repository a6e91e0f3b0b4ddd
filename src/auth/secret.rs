//! Random secrets (session cookies, API tokens) and the hashes they are stored under.

use sha2::{Digest, Sha256};

/// A new secret: 32 random bytes from the operating system, hex-encoded, after a readable prefix.
pub fn generate(prefix: &str) -> String {
    let mut bytes = [0u8; 32];
    getrandom::fill(&mut bytes).expect("the operating system provides randomness");
    format!("{prefix}{}", hex(&bytes))
}

/// Secrets are looked up by SHA-256: they are long and random, so a slow hash adds nothing.
pub fn hash(secret: &str) -> Vec<u8> {
    Sha256::digest(secret.as_bytes()).to_vec()
}

pub fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

#[cfg(test)]
mod tests {
    #[test]
    fn secrets_are_long_distinct_and_prefixed() {
        let a = super::generate("glt_");
        let b = super::generate("glt_");
        assert_ne!(a, b);
        assert!(a.starts_with("glt_"));
        assert_eq!(a.len(), 4 + 64);
        assert_eq!(super::hash(&a).len(), 32);
    }
}
