//! The archive file: a plain tar (readable with `tar tvf`, no tool of ours needed to look inside)
//! whose first entry is the manifest, then the database dump, then the photos. Every entry after
//! the manifest is checked against it while it is read.

use std::fs::File;
use std::io::{self, BufReader, BufWriter, Read};
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};

use sha2::{Digest, Sha256};

use super::BackupError;
use super::manifest::{self, Entry, FileEntry, Manifest};

fn io_error(path: &Path) -> impl FnOnce(io::Error) -> BackupError + '_ {
    move |source| BackupError::Io { path: path.to_owned(), source }
}

/// Size and SHA-256 of a file, read once.
pub fn hash_file(path: &Path) -> Result<(u64, String), BackupError> {
    let mut file = BufReader::new(File::open(path).map_err(io_error(path))?);
    let mut hasher = Sha256::new();
    let mut buf = vec![0; 1 << 16];
    let mut bytes = 0u64;
    loop {
        let n = file.read(&mut buf).map_err(io_error(path))?;
        if n == 0 {
            break;
        }
        hasher.update(&buf[..n]);
        bytes += n as u64;
    }
    Ok((bytes, crate::auth::secret::hex(&hasher.finalize())))
}

fn header(bytes: u64, mtime: u64) -> tar::Header {
    let mut h = tar::Header::new_gnu();
    h.set_size(bytes);
    h.set_mode(0o644);
    h.set_mtime(mtime);
    h.set_entry_type(tar::EntryType::Regular);
    h
}

/// Writes the archive: the manifest, then each `(entry, source file)` in the manifest's order.
/// It goes to `out.partial` first and is renamed when complete and on disk, so a file with the
/// archive's name is always a whole archive. It is readable by its owner only, whatever the umask:
/// it holds every account's password hash and every contact's phone number.
pub fn write(out: &Path, manifest: &Manifest, sources: &[PathBuf]) -> Result<(), BackupError> {
    let partial = PathBuf::from(format!("{}.partial", out.display()));
    let result = (|| {
        let file = std::fs::OpenOptions::new()
            .write(true)
            .create(true)
            .truncate(true)
            .mode(0o600)
            .open(&partial)
            .map_err(io_error(&partial))?;
        let mut tar = tar::Builder::new(BufWriter::new(file));
        let mtime = manifest.created_at.timestamp().max(0) as u64;
        let text = serde_json::to_vec_pretty(manifest).expect("a manifest serialises");
        tar.append_data(&mut header(text.len() as u64, mtime), manifest::MANIFEST, text.as_slice())
            .map_err(io_error(&partial))?;
        for (entry, source) in manifest.files.iter().zip(sources) {
            let file = File::open(source).map_err(io_error(source))?;
            tar.append_data(&mut header(entry.bytes, mtime), &entry.path, file.take(entry.bytes))
                .map_err(io_error(source))?;
        }
        let file = tar
            .into_inner()
            .map_err(io_error(&partial))?
            .into_inner()
            .map_err(|e| BackupError::Io { path: partial.clone(), source: e.into_error() })?;
        file.sync_all().map_err(io_error(&partial))
    })();
    match result {
        Ok(()) => std::fs::rename(&partial, out).map_err(io_error(out)),
        Err(e) => {
            let _ = std::fs::remove_file(&partial);
            Err(e)
        }
    }
}

/// A reader of one entry that hashes what passes through and, at its end, refuses (with an
/// `InvalidData` error) content that differs from the manifest, so whoever copies it out never
/// keeps a damaged file.
pub struct Verified<'a, R> {
    inner: R,
    expected: &'a FileEntry,
    hasher: Sha256,
    bytes: u64,
    /// The hash found, once the end was reached and it differed from the manifest's.
    pub mismatch: Option<String>,
    done: bool,
}

impl<R: Read> Read for Verified<'_, R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.hasher.update(&buf[..n]);
        self.bytes += n as u64;
        if n == 0 && !self.done {
            self.done = true;
            let actual = crate::auth::secret::hex(&self.hasher.clone().finalize());
            if actual != self.expected.sha256 || self.bytes != self.expected.bytes {
                self.mismatch = Some(format!("{actual} ({} bytes)", self.bytes));
            }
        }
        if self.mismatch.is_some() {
            return Err(io::Error::new(io::ErrorKind::InvalidData, "the entry does not match the manifest"));
        }
        Ok(n)
    }
}

fn damaged(archive: &Path, detail: String) -> BackupError {
    BackupError::Archive(format!("{}: {detail}", archive.display()))
}

/// Reads the archive at `path`: the manifest first (handed to `check`), then every other entry
/// through `visit`, each checked against the manifest's size and SHA-256. Any entry the manifest
/// does not list, or listed but absent, refuses the archive. `visit` may read its entry or not;
/// what it leaves is read and checked anyway.
pub fn read(
    path: &Path,
    check: impl FnOnce(&Manifest) -> Result<(), BackupError>,
    mut visit: impl FnMut(&FileEntry, &mut Verified<'_, &mut dyn Read>) -> Result<(), BackupError>,
) -> Result<Manifest, BackupError> {
    let file = File::open(path).map_err(io_error(path))?;
    let mut archive = tar::Archive::new(BufReader::new(file));
    let mut entries = archive.entries().map_err(io_error(path))?;
    let not_backup = |what: String| damaged(path, format!("not a greenledger backup: {what}"));
    let mut first = match entries.next() {
        Some(e) => e.map_err(io_error(path))?,
        None => return Err(not_backup("it is empty".into())),
    };
    let first_name = first.path().map_err(io_error(path))?.to_string_lossy().into_owned();
    if first_name != manifest::MANIFEST {
        return Err(not_backup(format!("its first entry is '{first_name}', not {}", manifest::MANIFEST)));
    }
    let mut text = Vec::new();
    first.read_to_end(&mut text).map_err(io_error(path))?;
    let manifest: Manifest =
        serde_json::from_slice(&text).map_err(|e| not_backup(format!("{} cannot be read: {e}", manifest::MANIFEST)))?;
    check(&manifest)?;
    let mut seen = std::collections::HashSet::new();
    for entry in entries {
        let mut entry = entry.map_err(io_error(path))?;
        let name = entry.path().map_err(io_error(path))?.to_string_lossy().into_owned();
        let listed = match (manifest::entry(&name), manifest.file(&name)) {
            (Some(Entry::Dump | Entry::Photo(_)), Some(listed)) => listed,
            _ => return Err(damaged(path, format!("{name}: not listed in the manifest; the archive was altered"))),
        };
        if !seen.insert(name.clone()) {
            return Err(damaged(path, format!("{name}: appears twice; the archive was altered")));
        }
        let inner: &mut dyn Read = &mut entry;
        let mut reader =
            Verified { inner, expected: listed, hasher: Sha256::new(), bytes: 0, mismatch: None, done: false };
        let visited = visit(listed, &mut reader);
        let drained = io::copy(&mut reader, &mut io::sink());
        if let Some(actual) = reader.mismatch {
            return Err(BackupError::Checksum {
                archive: path.to_owned(),
                file: name,
                expected: format!("{} ({} bytes)", listed.sha256, listed.bytes),
                actual,
            });
        }
        visited?;
        drained.map_err(io_error(path))?;
    }
    if let Some(missing) = manifest.files.iter().find(|f| !seen.contains(&f.path)) {
        return Err(damaged(path, format!("{}: listed in the manifest but missing from the archive", missing.path)));
    }
    Ok(manifest)
}

/// Copies an entry to `target` through a temporary file beside it, renamed only once the whole
/// entry was read and matched the manifest.
pub fn extract(reader: &mut impl Read, target: &Path) -> Result<(), BackupError> {
    let parent = target.parent().expect("extracted files have a folder");
    std::fs::create_dir_all(parent).map_err(io_error(parent))?;
    let tmp = parent.join(format!(".restore.{}", uuid::Uuid::new_v4()));
    let copied = (|| {
        let mut out = BufWriter::new(File::create(&tmp)?);
        io::copy(reader, &mut out)?;
        out.into_inner().map_err(|e| e.into_error())?.sync_all()
    })();
    match copied {
        Ok(()) => std::fs::rename(&tmp, target).map_err(io_error(target)),
        Err(e) => {
            let _ = std::fs::remove_file(&tmp);
            // A mismatch is reported by `read`, naming the entry; other failures are the target's.
            if e.kind() == io::ErrorKind::InvalidData { Ok(()) } else { Err(io_error(target)(e)) }
        }
    }
}
