//! The server's sealing key (`GREENLEDGER_SECRET_KEY_FILE`, by default `secret.key` in the data
//! folder): 32 random bytes made at the first start, readable by the service's user only. It is not
//! in the database nor in `greenledger backup`'s archives, so that a copy of either holds no usable
//! TOTP secret; it must be copied to a new server beside a restored backup.

use std::io::Write;
use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
use std::path::Path;

use crate::domain::sealed::{KEY_BYTES, SealKey};

/// Reads the key at `path`, or makes it there (and its folder) when no file is there yet.
pub fn load_or_create(path: &Path) -> Result<SealKey, String> {
    match std::fs::read(path) {
        Ok(bytes) => {
            let bytes: [u8; KEY_BYTES] = bytes.try_into().map_err(|b: Vec<u8>| {
                format!(
                    "{}: a secret key is {KEY_BYTES} bytes, this file holds {}; restore the right file or remove it \
                     (two-step verification must then be set up again by every account that uses it)",
                    path.display(),
                    b.len()
                )
            })?;
            let mode = std::fs::metadata(path).map(|m| m.permissions().mode() & 0o077).unwrap_or(0);
            if mode != 0 {
                tracing::warn!(path = %path.display(), "the secret key file is readable by others than its owner: chmod 600 it");
            }
            Ok(SealKey::new(bytes))
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => create(path),
        Err(e) => Err(format!("{}: cannot read the secret key: {e}", path.display())),
    }
}

fn create(path: &Path) -> Result<SealKey, String> {
    let mut bytes = [0u8; KEY_BYTES];
    getrandom::fill(&mut bytes).map_err(|e| format!("no randomness from the operating system: {e}"))?;
    if let Some(folder) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
        std::fs::create_dir_all(folder).map_err(|e| format!("{}: {e}", folder.display()))?;
    }
    // Written whole under a name of this process's, then linked into place in one step: an
    // instance starting at the same moment finds either no key or all 32 bytes, never a part.
    let draft = path.with_extension(format!("new-{}-{}", std::process::id(), unique()));
    let written = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(&draft)
        .and_then(|mut f| f.write_all(&bytes).and_then(|()| f.sync_all()))
        .and_then(|()| std::fs::hard_link(&draft, path));
    let _ = std::fs::remove_file(&draft);
    match written {
        Ok(()) => {
            tracing::info!(path = %path.display(), "made the secret key that seals two-step secrets: back it up apart from the database");
            Ok(SealKey::new(bytes))
        }
        // Another instance made it at the same moment: use theirs.
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => load_or_create(path),
        Err(e) => Err(format!("{}: cannot write the secret key: {e}", path.display())),
    }
}

/// Tells apart the drafts of threads of one process.
fn unique() -> u64 {
    static NEXT: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
    NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_key_is_made_once_owner_only_and_read_back_the_same() {
        let dir = std::env::temp_dir().join(format!("greenledger-key-{}", std::process::id()));
        let path = dir.join("sub/secret.key");
        let made = load_or_create(&path).unwrap();
        assert_eq!(std::fs::metadata(&path).unwrap().permissions().mode() & 0o777, 0o600);
        let again = load_or_create(&path).unwrap();
        let sealed = made.seal([3; 24], b"u", b"secret");
        assert_eq!(again.open(b"u", &sealed).unwrap(), b"secret");
        std::fs::write(&path, b"short").unwrap();
        assert!(load_or_create(&path).unwrap_err().contains("holds 5"));
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[test]
    fn instances_starting_together_all_get_the_one_whole_key() {
        let dir = std::env::temp_dir().join(format!("greenledger-key-race-{}", std::process::id()));
        for round in 0..20 {
            let path = dir.join(format!("{round}/secret.key"));
            let keys: Vec<_> = std::thread::scope(|s| {
                let starts: Vec<_> = (0..8).map(|_| s.spawn(|| load_or_create(&path))).collect();
                starts.into_iter().map(|h| h.join().unwrap().unwrap()).collect()
            });
            let sealed = keys[0].seal([3; 24], b"u", b"secret");
            for key in &keys {
                assert_eq!(key.open(b"u", &sealed).unwrap(), b"secret");
            }
            let left: Vec<_> = std::fs::read_dir(path.parent().unwrap()).unwrap().collect();
            assert_eq!(left.len(), 1, "only the key remains, no drafts");
        }
        let _ = std::fs::remove_dir_all(&dir);
    }
}
