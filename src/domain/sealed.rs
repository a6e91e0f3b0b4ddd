//! Secrets the service must read back (the TOTP secrets) sealed with a key kept outside the
//! database: XChaCha20-Poly1305 with a random 24-byte nonce, the owner's id as associated data, so
//! that a copy of the database (a dump, a backup, a replica) holds nothing an authenticator app
//! could use, and a sealed secret moved to another account does not open.

use chacha20poly1305::aead::{Aead, KeyInit, Payload};
use chacha20poly1305::{XChaCha20Poly1305, XNonce};

pub const KEY_BYTES: usize = 32;
pub const NONCE_BYTES: usize = 24;
/// What sealing adds to a secret: the nonce before it and the tag after it.
pub const OVERHEAD: usize = NONCE_BYTES + 16;

/// The server's sealing key.
#[derive(Clone)]
pub struct SealKey([u8; KEY_BYTES]);

/// Never printed: a settings dump in a log must not carry the key.
impl std::fmt::Debug for SealKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SealKey(..)")
    }
}

/// A sealed secret that does not open with this key for this owner: sealed with another key (the
/// key file was replaced or not carried to a new server), moved to another owner, or changed.
#[derive(Debug, PartialEq, Eq)]
pub struct Unsealable;

impl SealKey {
    pub fn new(bytes: [u8; KEY_BYTES]) -> Self {
        Self(bytes)
    }

    /// `nonce || ciphertext || tag` of `plain`, bound to `owner`. The nonce must be random (24
    /// bytes make a repeat negligible, unlike the 12 of plain ChaCha20-Poly1305).
    pub fn seal(&self, nonce: [u8; NONCE_BYTES], owner: &[u8], plain: &[u8]) -> Vec<u8> {
        let cipher = XChaCha20Poly1305::new(&self.0.into());
        let sealed = cipher
            .encrypt(XNonce::from_slice(&nonce), Payload { msg: plain, aad: owner })
            .expect("sealing a short secret in memory cannot fail");
        [nonce.as_slice(), &sealed].concat()
    }

    pub fn open(&self, owner: &[u8], sealed: &[u8]) -> Result<Vec<u8>, Unsealable> {
        if sealed.len() < OVERHEAD {
            return Err(Unsealable);
        }
        let (nonce, rest) = sealed.split_at(NONCE_BYTES);
        XChaCha20Poly1305::new(&self.0.into())
            .decrypt(XNonce::from_slice(nonce), Payload { msg: rest, aad: owner })
            .map_err(|_| Unsealable)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SECRET: &[u8] = b"12345678901234567890";

    #[test]
    fn a_sealed_secret_opens_only_with_its_key_for_its_owner_unchanged() {
        let key = SealKey::new([7; KEY_BYTES]);
        let sealed = key.seal([1; NONCE_BYTES], b"owner-a", SECRET);
        assert_eq!(sealed.len(), SECRET.len() + OVERHEAD);
        assert!(!sealed.windows(SECRET.len()).any(|w| w == SECRET), "the secret is not in the clear");
        assert_eq!(key.open(b"owner-a", &sealed).unwrap(), SECRET);
        assert_eq!(SealKey::new([8; KEY_BYTES]).open(b"owner-a", &sealed), Err(Unsealable), "another key");
        assert_eq!(key.open(b"owner-b", &sealed), Err(Unsealable), "another owner");
        let mut changed = sealed.clone();
        changed[30] ^= 1;
        assert_eq!(key.open(b"owner-a", &changed), Err(Unsealable), "a changed byte");
        assert_eq!(key.open(b"owner-a", &sealed[..10]), Err(Unsealable), "too short");
    }

    #[test]
    fn two_seals_of_one_secret_differ_by_their_nonces() {
        let key = SealKey::new([7; KEY_BYTES]);
        assert_ne!(key.seal([1; NONCE_BYTES], b"a", SECRET), key.seal([2; NONCE_BYTES], b"a", SECRET));
    }
}
