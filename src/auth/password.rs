//! Passwords, hashed with Argon2id (PHC string format) off the async threads. What makes a
//! password acceptable is a domain rule (`domain::account`).

use std::sync::OnceLock;

use argon2::{Argon2, PasswordHasher, PasswordVerifier};

use crate::error::ApiError;

fn hash_now(password: &str) -> String {
    Argon2::default().hash_password(password.as_bytes()).expect("argon2 hashes any password").to_string()
}

pub async fn hash(password: String) -> Result<String, ApiError> {
    tokio::task::spawn_blocking(move || hash_now(&password)).await.map_err(|_| ApiError::internal())
}

/// Checks `password` against `stored`; with no stored hash (unknown user) it checks against a dummy
/// one, so an unknown username takes as long to refuse as a wrong password.
pub async fn verify(password: String, stored: Option<String>) -> bool {
    static DUMMY: OnceLock<String> = OnceLock::new();
    tokio::task::spawn_blocking(move || {
        let known = stored.is_some();
        let hash = stored.unwrap_or_else(|| DUMMY.get_or_init(|| hash_now("not a password of anyone")).clone());
        Argon2::default().verify_password(password.as_bytes(), hash.as_str()).is_ok() && known
    })
    .await
    .unwrap_or(false)
}

#[cfg(test)]
mod tests {
    #[tokio::test]
    async fn a_hash_verifies_its_password_only() {
        let h = super::hash("greenledger-demo".into()).await.unwrap();
        assert!(h.starts_with("$argon2id$"));
        assert!(super::verify("greenledger-demo".into(), Some(h.clone())).await);
        assert!(!super::verify("greenledger-dem0".into(), Some(h)).await);
        assert!(!super::verify("not a password of anyone".into(), None).await);
    }
}
