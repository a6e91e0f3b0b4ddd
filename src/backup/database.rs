//! The database side of a backup: a snapshot shared with `pg_dump`, what it holds, and
//! `pg_dump`/`pg_restore` of the server's own major version.

use std::path::{Path, PathBuf};
use std::process::Stdio;

use sqlx::{Connection, PgConnection};

use super::BackupError;
use super::manifest::Counts;

/// The PostgreSQL client programs to use: `dir` when given (GREENLEDGER_PG_BINDIR), else Debian's
/// folder for the server's major version, else whatever is on PATH. A dump must be made by a
/// pg_dump at least as new as the server, and Debian keeps one folder per major version.
pub fn program(dir: Option<&Path>, server_version_num: i32, name: &str) -> PathBuf {
    if let Some(dir) = dir {
        return dir.join(name);
    }
    let debian = PathBuf::from(format!("/usr/lib/postgresql/{}/bin/{name}", server_version_num / 10000));
    if debian.is_file() { debian } else { PathBuf::from(name) }
}

pub struct Snapshot {
    pub id: String,
    pub database: String,
    pub postgres_version: String,
    pub server_version_num: i32,
    pub schema_version: i64,
    pub counts: Counts,
    /// Every photo the snapshot's reports refer to.
    pub photos: Vec<String>,
}

/// Opens a read-only repeatable-read transaction on `conn`, exports its snapshot for pg_dump and
/// reads in it what the manifest records. The transaction must stay open until pg_dump has
/// started (it is rolled back when `conn` is dropped after the dump).
pub async fn snapshot(conn: &mut PgConnection) -> Result<Snapshot, sqlx::Error> {
    // Runtime-checked: a backup reads whatever database it is given (any schema version), not the one .sqlx/ describes.
    sqlx::query("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY").execute(&mut *conn).await?;
    // Runtime-checked: a backup reads whatever database it is given (any schema version), not the one .sqlx/ describes.
    let (id, database, postgres_version, server_version_num): (String, String, String, i32) = sqlx::query_as(
        "SELECT pg_export_snapshot(), current_database(), current_setting('server_version'),
                current_setting('server_version_num')::int",
    )
    .fetch_one(&mut *conn)
    .await?;
    // Runtime-checked: a backup reads whatever database it is given (any schema version), not the one .sqlx/ describes.
    let schema_version: i64 =
        sqlx::query_scalar("SELECT coalesce(max(version), 0) FROM _sqlx_migrations WHERE success")
            .fetch_one(&mut *conn)
            .await?;
    // Runtime-checked: a backup reads whatever database it is given (any schema version), not the one .sqlx/ describes.
    let c: (i64, i64, i64, i64, i64, i64) = sqlx::query_as(
        "SELECT (SELECT count(*) FROM townships), (SELECT count(*) FROM tasks), (SELECT count(*) FROM reports),
                (SELECT count(DISTINCT sha256) FROM report_photos), (SELECT count(*) FROM task_events),
                (SELECT count(*) FROM users)",
    )
    .fetch_one(&mut *conn)
    .await?;
    // Runtime-checked: a backup reads whatever database it is given (any schema version), not the one .sqlx/ describes.
    let photos = sqlx::query_scalar(
        // Photos kept in the database (GREENLEDGER_PHOTO_STORE=database) are in the dump already.
        "SELECT DISTINCT sha256 FROM report_photos WHERE sha256 NOT IN (SELECT sha256 FROM photo_files) ORDER BY 1",
    )
    .fetch_all(&mut *conn)
    .await?;
    Ok(Snapshot {
        id,
        database,
        postgres_version,
        server_version_num,
        schema_version,
        counts: Counts { townships: c.0, tasks: c.1, reports: c.2, photos: c.3, events: c.4, users: c.5 },
        photos,
    })
}

/// Tables, views and sequences of the database that no extension owns (PostGIS's
/// `spatial_ref_sys` does not count): a restore goes only into a database without any.
pub async fn own_relations(url: &str) -> Result<(String, Vec<String>, i32), sqlx::Error> {
    let mut conn = PgConnection::connect(url).await?;
    // Runtime-checked: asks a restore target, before it holds any schema, about its catalogs (as the rest of backup).
    let (database, version): (String, i32) =
        sqlx::query_as("SELECT current_database(), current_setting('server_version_num')::int")
            .fetch_one(&mut conn)
            .await?;
    // Runtime-checked: asks a restore target, before it holds any schema, about its catalogs (as the rest of backup).
    let names = sqlx::query_scalar(
        "SELECT n.nspname || '.' || c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
         WHERE c.relkind IN ('r', 'p', 'v', 'm', 'S', 'f')
           AND n.nspname NOT IN ('pg_catalog', 'information_schema') AND n.nspname NOT LIKE 'pg_toast%'
           AND NOT EXISTS (SELECT 1 FROM pg_depend d WHERE d.classid = 'pg_class'::regclass
                           AND d.objid = c.oid AND d.deptype = 'e')
         ORDER BY 1",
    )
    .fetch_all(&mut conn)
    .await?;
    conn.close().await?;
    Ok((database, names, version))
}

/// Runs a PostgreSQL client program to the end; its stderr becomes the error.
async fn run(program: &Path, args: &[&str]) -> Result<(), BackupError> {
    let out = tokio::process::Command::new(program)
        .args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .output()
        .await
        .map_err(|e| BackupError::Tool(format!("cannot run {}: {e} (set GREENLEDGER_PG_BINDIR)", program.display())))?;
    if out.status.success() {
        return Ok(());
    }
    Err(BackupError::Tool(format!(
        "{} failed ({}): {}",
        program.display(),
        out.status,
        String::from_utf8_lossy(&out.stderr).trim()
    )))
}

/// `pg_dump` in custom format (compressed, restorable table by table) of the exported snapshot.
pub async fn dump(pg_dump: &Path, url: &str, snapshot: &str, file: &Path) -> Result<(), BackupError> {
    let file = file.to_string_lossy();
    run(pg_dump, &["--format=custom", "--snapshot", snapshot, "--file", &file, "--dbname", url]).await
}

/// `pg_restore` in one transaction: the database gets all of the dump or nothing. Owners, grants
/// and comments are left out: the target belongs to whoever restores (the service's role), which
/// may not own PostGIS (created by a superuser) and so could not comment on it. For the same reason
/// PostGIS's own `spatial_ref_sys` is left as the new database's extension made it: the dump holds
/// its rows added by hand (none, unless a database administrator added a system), and even an
/// empty COPY into it is refused to a role that does not own it.
pub async fn restore(pg_restore: &Path, url: &str, file: &Path) -> Result<(), BackupError> {
    let list = file.with_extension("list");
    let (file, list_name) = (file.to_string_lossy(), list.to_string_lossy());
    run(pg_restore, &["--list", "--file", &list_name, &file]).await?;
    let io = |source| BackupError::Io { path: list.clone(), source };
    let wanted = restorable(&std::fs::read_to_string(&list).map_err(io)?);
    std::fs::write(&list, wanted).map_err(io)?;
    let restored = run(
        pg_restore,
        &[
            "--single-transaction",
            "--exit-on-error",
            "--no-owner",
            "--no-privileges",
            "--no-comments",
            "--use-list",
            &list_name,
            "--dbname",
            url,
            &file,
        ],
    )
    .await;
    let _ = std::fs::remove_file(&list);
    restored
}

/// A `pg_restore --list` without the entries the restoring role may not write.
fn restorable(list: &str) -> String {
    list.lines().filter(|l| !(l.contains(" TABLE DATA public spatial_ref_sys "))).map(|l| format!("{l}\n")).collect()
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_restore_list_leaves_out_only_postgis_own_table_data() {
        let list = ";\n; Archive created at 2026-12-01\n\
            5012; 0 17066 TABLE DATA public spatial_ref_sys postgres\n\
            5020; 0 17500 TABLE DATA public tasks greenledger\n\
            4890; 1259 17066 TABLE public spatial_ref_sys_note greenledger\n";
        let kept = super::restorable(list);
        assert!(!kept.contains("TABLE DATA public spatial_ref_sys postgres"));
        assert!(kept.contains("TABLE DATA public tasks greenledger"));
        assert!(kept.contains("spatial_ref_sys_note"), "only the exact table is left out");
        assert_eq!(kept.lines().count(), 4);
    }
}
