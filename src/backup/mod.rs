//! `greenledger backup` and `greenledger restore`: the database and the report photos in one
//! archive, with a manifest of every file's size and SHA-256.
//!
//! Consistency while the service runs. The database part is `pg_dump` of a snapshot this command
//! exports, and the photos copied are exactly those the snapshot's `report_photos` name, read
//! after the snapshot was taken. That is enough because of how photos are written
//! (`store/reports.rs`): a photo's file is in place before the transaction that records it
//! commits, files are named by their content's hash and never rewritten, and reports (so their
//! photos) are never deleted. Any photo the snapshot refers to therefore already existed when the
//! snapshot began and still exists afterwards, unchanged; photos of reports committed later are
//! not in the snapshot and are left out, so the archive holds no file its database does not
//! name. No lock is taken: the service keeps answering and writing throughout.

mod archive;
mod database;
pub mod manifest;

use std::path::{Path, PathBuf};
use std::time::Instant;

use sqlx::{Connection, PgConnection};

use crate::store::photos::photo_path;
use manifest::{Entry, FileEntry, Manifest};

#[derive(Debug, thiserror::Error)]
pub enum BackupError {
    #[error("{}: {source}", path.display())]
    Io { path: PathBuf, source: std::io::Error },
    #[error("{0}")]
    Archive(String),
    #[error(
        "{}: {file}: checksum mismatch: the manifest says {expected}, the archive holds {actual}; the archive is damaged and was not restored",
        archive.display()
    )]
    Checksum { archive: PathBuf, file: String, expected: String, actual: String },
    #[error(
        "the database '{database}' is not empty (it holds {}): restore only into a new, empty database, e.g. `createdb -O greenledger greenledger_restored`, then point DATABASE_URL at it",
        list(relations)
    )]
    NotEmpty { database: String, relations: Vec<String> },
    #[error("{0}")]
    Tool(String),
    #[error("database: {0}")]
    Database(#[from] sqlx::Error),
}

fn list(names: &[String]) -> String {
    let shown = names.iter().take(5).cloned().collect::<Vec<_>>().join(", ");
    match names.len() {
        n if n > 5 => format!("{shown} and {} more", n - 5),
        _ => shown,
    }
}

/// Where the database and the photos are, and which PostgreSQL client programs to use.
#[derive(Debug, Clone, clap::Args)]
pub struct Target {
    /// PostgreSQL URL of the service's database.
    #[arg(long, env = "DATABASE_URL")]
    pub database_url: String,
    /// The service's folder for uploaded files (report photos).
    #[arg(long, env = "GREENLEDGER_DATA_DIR", default_value = ".data")]
    pub data_dir: PathBuf,
    /// Folder of pg_dump and pg_restore (default: /usr/lib/postgresql/<server's major version>/bin
    /// when it exists, else PATH).
    #[arg(long, env = "GREENLEDGER_PG_BINDIR")]
    pub pg_bindir: Option<PathBuf>,
}

#[derive(Debug, Clone, clap::Args)]
pub struct BackupArgs {
    #[command(flatten)]
    pub target: Target,
    /// The archive to write (a tar); it appears only when complete.
    #[arg(long)]
    pub out: PathBuf,
}

#[derive(Debug, Clone, clap::Args)]
pub struct RestoreArgs {
    #[command(flatten)]
    pub target: Target,
    /// The archive written by `greenledger backup`.
    #[arg(long)]
    pub from: PathBuf,
}

async fn blocking<T: Send + 'static>(
    f: impl FnOnce() -> Result<T, BackupError> + Send + 'static,
) -> Result<T, BackupError> {
    tokio::task::spawn_blocking(f).await.expect("archive work does not panic")
}

/// Writes the archive and returns its manifest.
pub async fn backup(args: &BackupArgs) -> Result<Manifest, BackupError> {
    let t = &args.target;
    let mut conn = PgConnection::connect(&t.database_url).await?;
    let snap = database::snapshot(&mut conn).await?;
    let dump_file = PathBuf::from(format!("{}.dump.partial", args.out.display()));
    let pg_dump = database::program(t.pg_bindir.as_deref(), snap.server_version_num, "pg_dump");
    let dumped = database::dump(&pg_dump, &t.database_url, &snap.id, &dump_file).await;
    // pg_dump has imported the snapshot (or failed): the exporting transaction can end.
    let _ = conn.close().await;
    let result = async {
        dumped?;
        let (data_dir, photos, dump) = (t.data_dir.clone(), snap.photos.clone(), dump_file.clone());
        let contents = blocking(move || collect(&dump, &data_dir, &photos)).await?;
        let manifest = Manifest {
            format: manifest::FORMAT.into(),
            format_version: manifest::FORMAT_VERSION,
            created_at: chrono::Utc::now(),
            service_version: env!("CARGO_PKG_VERSION").into(),
            schema_version: snap.schema_version,
            database: snap.database,
            postgres_version: snap.postgres_version,
            counts: snap.counts,
            files: contents.files,
            missing_photos: contents.missing,
        };
        let (out, m) = (args.out.clone(), manifest.clone());
        blocking(move || archive::write(&out, &m, &contents.sources)).await?;
        Ok(manifest)
    }
    .await;
    let _ = std::fs::remove_file(&dump_file);
    result
}

/// What goes into the archive after the manifest: the manifest's entries, the files they are
/// read from, and the photos left out.
struct Contents {
    files: Vec<FileEntry>,
    sources: Vec<PathBuf>,
    missing: Vec<String>,
}

/// The archive's entries after the manifest: the dump, then every photo found with the content
/// its name promises. A photo missing or damaged on disk is reported and left out rather than
/// failing the night's backup of everything else.
fn collect(dump: &Path, data_dir: &Path, photos: &[String]) -> Result<Contents, BackupError> {
    let (bytes, sha256) = archive::hash_file(dump)?;
    let mut files = vec![FileEntry { path: manifest::DUMP.into(), bytes, sha256 }];
    let mut sources = vec![dump.to_owned()];
    let mut missing = Vec::new();
    for sha in photos {
        let source = photo_path(data_dir, sha);
        match archive::hash_file(&source) {
            Ok((bytes, actual)) if actual == *sha => {
                files.push(FileEntry { path: manifest::photo_entry(sha), bytes, sha256: actual });
                sources.push(source);
            }
            Ok(_) => {
                tracing::warn!(photo = %source.display(), "the photo's content does not match its name; left out");
                missing.push(sha.clone());
            }
            Err(e) => {
                tracing::warn!(error = %e, "a photo the database names is not in the data folder; left out");
                missing.push(sha.clone());
            }
        }
    }
    Ok(Contents { files, sources, missing })
}

fn newest_migration() -> i64 {
    crate::store::MIGRATOR.iter().map(|m| m.version).max().unwrap_or(0)
}

/// Checks the whole archive, then, into an empty database and the data folder, restores the
/// photos and the database. Returns the manifest.
pub async fn restore(args: &RestoreArgs) -> Result<Manifest, BackupError> {
    let t = &args.target;
    let from = args.from.clone();
    let check = |m: &Manifest| m.check_restorable(newest_migration()).map_err(BackupError::Archive);
    blocking(move || archive::read(&from, check, |_, _| Ok(()))).await?;
    let (database, relations, server_version_num) = database::own_relations(&t.database_url).await?;
    if !relations.is_empty() {
        return Err(BackupError::NotEmpty { database, relations });
    }
    let dump_file = t.data_dir.join(format!(".restore-{}.dump", uuid::Uuid::new_v4()));
    let (from, data_dir, dump) = (args.from.clone(), t.data_dir.clone(), dump_file.clone());
    let extracted = blocking(move || {
        archive::read(&from, check, |entry, reader| match manifest::entry(&entry.path) {
            Some(Entry::Dump) => archive::extract(reader, &dump),
            Some(Entry::Photo(sha)) => archive::extract(reader, &photo_path(&data_dir, sha)),
            _ => Ok(()),
        })
    })
    .await;
    let result = async {
        let manifest = extracted?;
        let pg_restore = database::program(t.pg_bindir.as_deref(), server_version_num, "pg_restore");
        database::restore(&pg_restore, &t.database_url, &dump_file).await?;
        Ok(manifest)
    }
    .await;
    let _ = std::fs::remove_file(&dump_file);
    result
}

fn summary(m: &Manifest) -> String {
    let c = &m.counts;
    format!(
        "{} tasks, {} reports, {} photos, {} history events, {} townships, {} accounts",
        c.tasks, c.reports, c.photos, c.events, c.townships, c.users
    )
}

/// `greenledger backup`: writes the archive and says what it holds.
pub async fn run_backup(args: BackupArgs) -> Result<(), BackupError> {
    let started = Instant::now();
    let m = backup(&args).await?;
    let bytes = std::fs::metadata(&args.out).map(|m| m.len()).unwrap_or(0);
    println!(
        "backup: {} ({:.1} MB) in {:.1} s: {}",
        args.out.display(),
        bytes as f64 / 1e6,
        started.elapsed().as_secs_f64(),
        summary(&m)
    );
    if !m.missing_photos.is_empty() {
        eprintln!(
            "backup: {} photo(s) named by reports were missing or damaged on disk and are not in the archive: {}",
            m.missing_photos.len(),
            list(&m.missing_photos)
        );
    }
    Ok(())
}

/// `greenledger restore`: checks, restores and says what came back.
pub async fn run_restore(args: RestoreArgs) -> Result<(), BackupError> {
    let started = Instant::now();
    let m = restore(&args).await?;
    println!(
        "restore: {} (written {} by greenledger {}) restored in {:.1} s: {}",
        args.from.display(),
        m.created_at.format("%Y-%m-%d %H:%M:%S UTC"),
        m.service_version,
        started.elapsed().as_secs_f64(),
        summary(&m)
    );
    Ok(())
}
