//! Where report photos are kept, by their content hash: a folder of this server's (one instance,
//! the default) or the database (several instances behind a balancer, each reading what another
//! stored). Both keep the original as sent and a public copy made from it on first request.

use crate::domain::photo::Size;
use std::path::{Path, PathBuf};

use sqlx::PgConnection;
use uuid::Uuid;

use super::Db;
use super::reports::Photo;

/// The place photos are kept, chosen by `GREENLEDGER_PHOTO_STORE`.
#[derive(Debug, Clone)]
pub enum PhotoStore {
    /// `photos/ab/abcd…` under the data folder.
    Folder(PathBuf),
    /// The `photo_files` table (migrations/0016_photo_files.sql).
    Database,
}

/// The setting's values.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum PhotoStoreKind {
    Folder,
    Database,
}

impl PhotoStore {
    pub fn new(kind: PhotoStoreKind, data_dir: &Path) -> Self {
        match kind {
            PhotoStoreKind::Folder => PhotoStore::Folder(data_dir.to_owned()),
            PhotoStoreKind::Database => PhotoStore::Database,
        }
    }

    /// Stores the photos of a report in its transaction (the database) or beside it (a folder:
    /// written before the commit; `remove_orphans` takes them away when the report is not stored).
    pub async fn put_all(&self, tx: &mut PgConnection, photos: &[Photo]) -> std::io::Result<()> {
        for p in photos {
            match self {
                PhotoStore::Folder(dir) => write_once(&photo_path(dir, &p.sha256), &p.bytes).await?,
                PhotoStore::Database => {
                    sqlx::query("INSERT INTO photo_files (sha256, bytes) VALUES ($1, $2) ON CONFLICT DO NOTHING")
                        .bind(&p.sha256)
                        .bind(&p.bytes)
                        .execute(&mut *tx)
                        .await
                        .map_err(std::io::Error::other)?;
                }
            }
        }
        Ok(())
    }

    /// The photo as it was sent.
    pub async fn original(&self, db: &Db, sha256: &str) -> std::io::Result<Vec<u8>> {
        match self {
            PhotoStore::Folder(dir) => tokio::fs::read(photo_path(dir, sha256)).await,
            PhotoStore::Database => {
                let bytes: Option<Vec<u8>> = sqlx::query_scalar("SELECT bytes FROM photo_files WHERE sha256 = $1")
                    .bind(sha256)
                    .fetch_optional(db)
                    .await
                    .map_err(std::io::Error::other)?;
                bytes.ok_or_else(|| std::io::Error::new(std::io::ErrorKind::NotFound, "no such photo in photo_files"))
            }
        }
    }

    /// The public copy of a stored photo (upright, small, no metadata), made from the original the
    /// first time it is asked for and kept.
    pub async fn public_copy(&self, db: &Db, sha256: &str) -> std::io::Result<Vec<u8>> {
        if let Some(kept) = self.kept_public_copy(db, sha256).await? {
            return Ok(kept);
        }
        let original = self.original(db, sha256).await?;
        let copy = tokio::task::spawn_blocking(move || crate::domain::photo::public_copy(&original))
            .await
            .map_err(std::io::Error::other)?
            .map_err(std::io::Error::other)?;
        match self {
            PhotoStore::Folder(dir) => write_once(&public_copy_path(dir, sha256), &copy).await?,
            PhotoStore::Database => {
                sqlx::query("UPDATE photo_files SET public_copy = $2 WHERE sha256 = $1 AND public_copy IS NULL")
                    .bind(sha256)
                    .bind(&copy)
                    .execute(db)
                    .await
                    .map_err(std::io::Error::other)?;
            }
        }
        Ok(copy)
    }

    /// A smaller public copy (`Size`), made from the public copy the first time it is asked for
    /// and kept: beside the original in a data folder, in `photo_copies` in the database.
    pub async fn sized_copy(&self, db: &Db, sha256: &str, size: Size) -> std::io::Result<Vec<u8>> {
        let kept = match self {
            PhotoStore::Folder(dir) => tokio::fs::read(sized_copy_path(dir, sha256, size)).await.ok(),
            PhotoStore::Database => {
                sqlx::query_scalar("SELECT bytes FROM photo_copies WHERE sha256 = $1 AND size = $2")
                    .bind(sha256)
                    .bind(size.as_str())
                    .fetch_optional(db)
                    .await
                    .map_err(std::io::Error::other)?
            }
        };
        if let Some(kept) = kept {
            return Ok(kept);
        }
        let public = self.public_copy(db, sha256).await?;
        let copy = tokio::task::spawn_blocking(move || crate::domain::photo::smaller_copy(&public, size))
            .await
            .map_err(std::io::Error::other)?
            .map_err(std::io::Error::other)?;
        match self {
            PhotoStore::Folder(dir) => write_once(&sized_copy_path(dir, sha256, size), &copy).await?,
            PhotoStore::Database => {
                sqlx::query(
                    "INSERT INTO photo_copies (sha256, size, bytes) VALUES ($1, $2, $3) ON CONFLICT DO NOTHING",
                )
                .bind(sha256)
                .bind(size.as_str())
                .bind(&copy)
                .execute(db)
                .await
                .map_err(std::io::Error::other)?;
            }
        }
        Ok(copy)
    }

    async fn kept_public_copy(&self, db: &Db, sha256: &str) -> std::io::Result<Option<Vec<u8>>> {
        match self {
            PhotoStore::Folder(dir) => Ok(tokio::fs::read(public_copy_path(dir, sha256)).await.ok()),
            PhotoStore::Database => {
                let copy: Option<Option<Vec<u8>>> =
                    sqlx::query_scalar("SELECT public_copy FROM photo_files WHERE sha256 = $1")
                        .bind(sha256)
                        .fetch_optional(db)
                        .await
                        .map_err(std::io::Error::other)?;
                Ok(copy.flatten())
            }
        }
    }

    /// Removes photo files no stored report points at (after a failed write). In the database
    /// they went with the report's transaction.
    pub async fn remove_orphans(&self, db: &Db, photos: &[Photo]) {
        let PhotoStore::Folder(dir) = self else { return };
        for p in photos {
            let referenced =
                sqlx::query_scalar::<_, bool>("SELECT EXISTS (SELECT 1 FROM report_photos WHERE sha256 = $1)")
                    .bind(&p.sha256)
                    .fetch_one(db)
                    .await;
            if let Ok(false) = referenced {
                let _ = tokio::fs::remove_file(photo_path(dir, &p.sha256)).await;
            }
        }
    }
}

/// Moves the photos of a data folder into the database (for a county going from one instance to
/// several): each one read, checked against its hash and inserted unless there; the files stay.
/// Returns (moved, already there).
pub async fn folder_to_database(db: &Db, dir: &Path) -> Result<(u64, u64), Box<dyn std::error::Error + Send + Sync>> {
    let wanted: Vec<String> =
        sqlx::query_scalar("SELECT DISTINCT sha256 FROM report_photos ORDER BY 1").fetch_all(db).await?;
    let (mut moved, mut there) = (0, 0);
    for sha in wanted {
        let bytes = tokio::fs::read(photo_path(dir, &sha)).await.map_err(|e| format!("photo {sha}: {e}"))?;
        if Photo::new(bytes.clone(), "").sha256 != sha {
            return Err(format!("photo {sha}: the file's content does not match its name").into());
        }
        let done = sqlx::query("INSERT INTO photo_files (sha256, bytes) VALUES ($1, $2) ON CONFLICT DO NOTHING")
            .bind(&sha)
            .bind(&bytes)
            .execute(db)
            .await?;
        if done.rows_affected() == 1 { moved += 1 } else { there += 1 }
    }
    Ok((moved, there))
}

pub fn photo_path(dir: &Path, sha256: &str) -> PathBuf {
    dir.join("photos").join(&sha256[..2]).join(sha256)
}

/// Where the public copy of a photo is kept once made (see `domain::photo::public_copy`).
fn sized_copy_path(dir: &Path, sha256: &str, size: Size) -> PathBuf {
    let mut path = photo_path(dir, sha256).into_os_string();
    path.push(format!(".public-{}.jpg", size.as_str()));
    PathBuf::from(path)
}

fn public_copy_path(dir: &Path, sha256: &str) -> PathBuf {
    let mut path = photo_path(dir, sha256).into_os_string();
    path.push(".public.jpg");
    PathBuf::from(path)
}

/// Writes `bytes` at `path` unless a file is there: to a temporary name, then renamed, so a reader
/// never sees half a file and two writers of the same content cannot collide.
async fn write_once(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    if tokio::fs::try_exists(path).await.unwrap_or(false) {
        return Ok(());
    }
    let parent = path.parent().expect("photo paths have a folder");
    tokio::fs::create_dir_all(parent).await?;
    let name = path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
    let tmp = parent.join(format!(".{name}.{}", Uuid::new_v4()));
    if let Err(e) = tokio::fs::write(&tmp, bytes).await {
        let _ = tokio::fs::remove_file(&tmp).await;
        return Err(e);
    }
    tokio::fs::rename(&tmp, path).await
}
