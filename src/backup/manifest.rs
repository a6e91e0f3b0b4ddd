//! What a backup archive says about itself, and the rules a restore checks against it. Pure: no
//! files, no database.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

/// Written into every manifest so a stray tar is told apart from a backup.
pub const FORMAT: &str = "greenledger-backup";
/// Bumped when the archive's layout changes in a way an older restore could not read.
pub const FORMAT_VERSION: u32 = 1;
/// The archive's first entry.
pub const MANIFEST: &str = "manifest.json";
/// The database, as `pg_dump --format=custom` wrote it.
pub const DUMP: &str = "database.dump";

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Manifest {
    pub format: String,
    pub format_version: u32,
    pub created_at: DateTime<Utc>,
    /// The greenledger release that wrote it.
    pub service_version: String,
    /// The newest migration applied to the database at the snapshot.
    pub schema_version: i64,
    pub database: String,
    pub postgres_version: String,
    pub counts: Counts,
    /// Every other entry of the archive, in archive order.
    pub files: Vec<FileEntry>,
    /// Photos the database refers to that were not in the data folder when the backup ran.
    #[serde(default)]
    pub missing_photos: Vec<String>,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
pub struct Counts {
    pub townships: i64,
    pub tasks: i64,
    pub reports: i64,
    pub photos: i64,
    pub events: i64,
    pub users: i64,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct FileEntry {
    pub path: String,
    pub bytes: u64,
    pub sha256: String,
}

/// The kind of an archive entry, judged from its path alone. Anything else is refused, so a
/// tampered archive cannot write outside the data folder (`../`, absolute paths).
#[derive(Debug, PartialEq, Eq)]
pub enum Entry<'a> {
    Manifest,
    Dump,
    /// A report photo, by its SHA-256.
    Photo(&'a str),
}

fn is_sha256(s: &str) -> bool {
    s.len() == 64 && s.bytes().all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
}

/// Where a photo lives in the archive: the same `photos/ab/abcd...` layout as in the data folder.
pub fn photo_entry(sha256: &str) -> String {
    format!("photos/{}/{sha256}", &sha256[..2])
}

pub fn entry(path: &str) -> Option<Entry<'_>> {
    match path {
        MANIFEST => Some(Entry::Manifest),
        DUMP => Some(Entry::Dump),
        _ => {
            let rest = path.strip_prefix("photos/")?;
            let (prefix, sha) = rest.split_once('/')?;
            (is_sha256(sha) && prefix == &sha[..2]).then_some(Entry::Photo(sha))
        }
    }
}

impl Manifest {
    /// Whether this binary can restore the archive: a known format, and a schema no newer than its
    /// own migrations (an older one is migrated forward when the service starts).
    pub fn check_restorable(&self, newest_migration: i64) -> Result<(), String> {
        if self.format != FORMAT {
            return Err(format!("{MANIFEST} is not a greenledger backup manifest (format '{}')", self.format));
        }
        if self.format_version > FORMAT_VERSION {
            return Err(format!(
                "the archive has format version {}, this greenledger {} reads up to {FORMAT_VERSION}; restore it with the release that wrote it ({})",
                self.format_version,
                env!("CARGO_PKG_VERSION"),
                self.service_version
            ));
        }
        if self.schema_version > newest_migration {
            return Err(format!(
                "the database in the archive has schema version {}, newer than this greenledger's {newest_migration}; restore it with greenledger {} or later",
                self.schema_version, self.service_version
            ));
        }
        if !self.files.iter().any(|f| f.path == DUMP) {
            return Err(format!("{MANIFEST} lists no {DUMP}: the archive holds no database"));
        }
        Ok(())
    }

    pub fn file(&self, path: &str) -> Option<&FileEntry> {
        self.files.iter().find(|f| f.path == path)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SHA: &str = "0f1e2d3c4b5a69788796a5b4c3d2e1f00f1e2d3c4b5a69788796a5b4c3d2e1f0";

    fn manifest() -> Manifest {
        Manifest {
            format: FORMAT.into(),
            format_version: FORMAT_VERSION,
            created_at: Utc::now(),
            service_version: "0.1.0".into(),
            schema_version: 6,
            database: "greenledger".into(),
            postgres_version: "15.8".into(),
            counts: Counts::default(),
            files: vec![FileEntry { path: DUMP.into(), bytes: 10, sha256: SHA.into() }],
            missing_photos: vec![],
        }
    }

    #[test]
    fn entries_are_known_by_their_paths_and_nothing_else_is_accepted() {
        assert_eq!(entry("manifest.json"), Some(Entry::Manifest));
        assert_eq!(entry("database.dump"), Some(Entry::Dump));
        assert_eq!(entry(&photo_entry(SHA)), Some(Entry::Photo(SHA)));
        assert_eq!(entry(&format!("photos/aa/{SHA}")), None, "the folder must be the hash's first two digits");
        assert_eq!(entry(&format!("photos/0f/../../{SHA}")), None);
        assert_eq!(entry("photos/0f/../../etc/passwd"), None);
        assert_eq!(entry(&format!("/photos/0f/{SHA}")), None);
        assert_eq!(entry(&format!("photos/0F/{}", SHA.to_uppercase())), None);
        assert_eq!(entry("notes.txt"), None);
    }

    #[test]
    fn a_manifest_round_trips_through_json() {
        let m = manifest();
        let text = serde_json::to_string_pretty(&m).unwrap();
        assert_eq!(serde_json::from_str::<Manifest>(&text).unwrap(), m);
    }

    #[test]
    fn restorable_archives_are_of_a_known_format_and_no_newer_schema() {
        assert!(manifest().check_restorable(6).is_ok());
        assert!(manifest().check_restorable(7).is_ok(), "an older schema is migrated forward on start");
        let newer = manifest().check_restorable(5).unwrap_err();
        assert!(newer.contains("schema version 6") && newer.contains("newer"), "{newer}");
        let future = Manifest { format_version: FORMAT_VERSION + 1, ..manifest() };
        assert!(future.check_restorable(6).unwrap_err().contains("format version"));
        let stranger = Manifest { format: "something-else".into(), ..manifest() };
        assert!(stranger.check_restorable(6).unwrap_err().contains("not a greenledger backup"));
        let no_dump = Manifest { files: vec![], ..manifest() };
        assert!(no_dump.check_restorable(6).unwrap_err().contains("no database.dump"));
    }
}
