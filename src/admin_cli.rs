//! The command line's accounts in bulk (`accounts import`, `accounts create-township-officers`) and
//! task families (`families list|add|rename|recolour|reorder|retire|unretire`): the same checks
//! and the same storage as the administrator's API, run against `DATABASE_URL`.

use std::io::Write;
use std::path::{Path, PathBuf};

use clap::Subcommand;
use greenledger::auth::roster::{self, RosterReport};
use greenledger::domain::category::{CategoryChange, NewCategory};
use greenledger::domain::roster as rows;
use greenledger::error::ApiError;
use greenledger::store::categories::{self, Category};
use greenledger::store::{DbConfig, StoreError};
use serde_json::{Value, json};

type CliResult = Result<(), Box<dyn std::error::Error>>;

#[derive(Subcommand)]
pub enum AccountsCommand {
    /// Create the accounts of a CSV roster (UTF-8 or GBK; columns username, display_name, role,
    /// township [code or name], optional password), all or nothing. Accounts without a password get
    /// a temporary one, printed once; every account must choose its own at first login.
    Import {
        #[command(flatten)]
        db: DbConfig,
        /// The CSV file.
        file: PathBuf,
        /// Leave out (and list) rows whose username exists, instead of refusing the roster.
        #[arg(long)]
        skip_existing: bool,
        /// The file's encoding, when it is neither UTF-8 nor GBK: GB18030, Big5, ...
        #[arg(long)]
        encoding: Option<String>,
        /// Also write the temporary passwords to this CSV file (readable by its owner only), to hand out.
        #[arg(long)]
        passwords_csv: Option<PathBuf>,
    },
    /// One township officer (township-<code>) for every township without an active one; their
    /// temporary passwords are printed once.
    CreateTownshipOfficers {
        #[command(flatten)]
        db: DbConfig,
        /// Also write the temporary passwords to this CSV file (readable by its owner only), to hand out.
        #[arg(long)]
        passwords_csv: Option<PathBuf>,
    },
}

#[derive(Subcommand)]
pub enum FamilyCommand {
    /// Every task family, retired ones marked.
    List {
        #[command(flatten)]
        db: DbConfig,
    },
    /// Add a family.
    Add {
        #[command(flatten)]
        db: DbConfig,
        /// Its code: a-z, 0-9 and _, such as ecology.
        code: String,
        /// The prefix of its task codes: 2–4 letters, such as ECO for ECO-2026-0001.
        #[arg(long)]
        prefix: String,
        #[arg(long)]
        name_zh: String,
        #[arg(long)]
        name_en: String,
        /// Its colour on the map, #rrggbb.
        #[arg(long)]
        color: String,
        /// Where it is listed (default: after the others).
        #[arg(long)]
        sort_order: Option<i64>,
    },
    /// Rename a family; its code and prefix change only while no task uses it.
    Rename {
        #[command(flatten)]
        db: DbConfig,
        code: String,
        #[arg(long)]
        name_zh: Option<String>,
        #[arg(long)]
        name_en: Option<String>,
        /// A new code (only while no task uses the family).
        #[arg(long)]
        new_code: Option<String>,
        /// A new task code prefix (only while no task uses the family).
        #[arg(long)]
        prefix: Option<String>,
    },
    /// Give a family another colour (#rrggbb).
    Recolour {
        #[command(flatten)]
        db: DbConfig,
        code: String,
        color: String,
    },
    /// Move a family in the lists (smaller first).
    Reorder {
        #[command(flatten)]
        db: DbConfig,
        code: String,
        sort_order: i64,
    },
    /// Retire a family: its tasks stay, no new task may be filed under it.
    Retire {
        #[command(flatten)]
        db: DbConfig,
        code: String,
    },
    /// Open a retired family again.
    Unretire {
        #[command(flatten)]
        db: DbConfig,
        code: String,
    },
}

/// Every refusal on a line of its own: `row 3, township: ...` for a roster's pointers.
fn lines(e: &ApiError) -> String {
    let each = e.errors.iter().map(|x| {
        let mut parts = x.pointer.trim_start_matches('/').splitn(2, '/');
        match (parts.next(), parts.next()) {
            (Some(row), Some(field)) if row.bytes().all(|b| b.is_ascii_digit()) => {
                format!("row {row}, {field}: {}", x.detail)
            }
            (Some(row), None) if !row.is_empty() && row.bytes().all(|b| b.is_ascii_digit()) => {
                format!("row {row}: {}", x.detail)
            }
            _ if x.pointer.is_empty() => x.detail.clone(),
            _ => format!("{}: {}", x.pointer.trim_start_matches('/'), x.detail),
        }
    });
    std::iter::once(e.detail.clone()).chain(each).collect::<Vec<_>>().join("\n  ")
}

pub async fn accounts(command: AccountsCommand) -> CliResult {
    let (db, passwords_csv, rows, skip_existing) = match command {
        AccountsCommand::Import { db, file, skip_existing, encoding, passwords_csv } => {
            let bytes = std::fs::read(&file).map_err(|e| format!("cannot read {}: {e}", file.display()))?;
            let (text, used) =
                rows::decode(&bytes, encoding.as_deref()).map_err(|e| format!("{}: {}", file.display(), e.detail))?;
            let read = rows::from_csv(&text).map_err(|e| lines(&roster::refused(e)))?;
            println!("{}: {} row(s), read as {used}", file.display(), read.len());
            (db, passwords_csv, read, skip_existing)
        }
        AccountsCommand::CreateTownshipOfficers { db, passwords_csv } => {
            let pool = db.pool()?;
            let read = roster::township_officers(&pool).await.map_err(|e| lines(&e))?;
            if read.is_empty() {
                println!("every township has an active township officer; nothing to do");
                return Ok(());
            }
            (db, passwords_csv, read, true)
        }
    };
    if let Some(path) = passwords_csv.as_deref().filter(|p| p.exists()) {
        return Err(format!("{} exists: name a new file for the passwords", path.display()).into());
    }
    let pool = db.pool()?;
    let mut tx = pool.begin().await?;
    let report = roster::create(&pool, &mut tx, &rows, skip_existing).await.map_err(|e| lines(&e))?;
    tx.commit().await?;
    print!("{}", summary(&report, passwords_csv.as_deref()));
    if let Some(path) = &passwords_csv {
        write_private(path, &report.passwords_csv)?;
    }
    Ok(())
}

/// The report for a terminal: each account with its temporary password, then what was skipped.
fn summary(r: &RosterReport, csv: Option<&Path>) -> String {
    use std::fmt::Write;
    let mut out = String::new();
    for a in &r.created {
        let township = a.township.as_deref().map(|t| format!(" {t}")).unwrap_or_default();
        let password = a
            .temporary_password
            .as_deref()
            .map_or("(password from the file)".into(), |p| format!("temporary password: {p}"));
        let _ = writeln!(
            out,
            "row {}: created {} ({}{township}) {}: {password}",
            a.row, a.username, a.role, a.display_name
        );
    }
    for s in &r.skipped {
        let _ = writeln!(out, "row {}: skipped {}: {}", s.row, s.username, s.reason);
    }
    let _ = writeln!(out, "{} account(s) created, {} skipped", r.created.len(), r.skipped.len());
    if r.created.iter().any(|a| a.temporary_password.is_some()) {
        let _ = writeln!(out, "(the temporary passwords are shown this once; each must be changed at the first login)");
        if let Some(path) = csv {
            let _ = writeln!(out, "temporary passwords written to {}", path.display());
        }
    }
    out
}

/// Writes `text` to a new file only its owner may read (it holds passwords).
fn write_private(path: &Path, text: &str) -> CliResult {
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    let mut file = options.open(path).map_err(|e| format!("cannot create {}: {e}", path.display()))?;
    file.write_all(text.as_bytes())?;
    Ok(())
}

pub async fn families(command: FamilyCommand) -> CliResult {
    let (db, code, body) = match command {
        FamilyCommand::List { db } => {
            for c in categories::list(&db.pool()?).await? {
                println!("{}", line(&c));
            }
            return Ok(());
        }
        FamilyCommand::Add { db, code, prefix, name_zh, name_en, color, sort_order } => {
            let body = json!({"code": code, "prefix": prefix, "name_zh": name_zh, "name_en": name_en,
                              "color": color, "sort_order": sort_order});
            return add(db, &body).await;
        }
        FamilyCommand::Rename { db, code, name_zh, name_en, new_code, prefix } => {
            (db, code, json!({"name_zh": name_zh, "name_en": name_en, "code": new_code, "prefix": prefix}))
        }
        FamilyCommand::Recolour { db, code, color } => (db, code, json!({"color": color})),
        FamilyCommand::Reorder { db, code, sort_order } => (db, code, json!({"sort_order": sort_order})),
        FamilyCommand::Retire { db, code } => (db, code, json!({"retired": true})),
        FamilyCommand::Unretire { db, code } => (db, code, json!({"retired": false})),
    };
    change(db, &code, &body).await
}

/// The options given, as a JSON object (those left out are not sent).
fn given(body: &Value) -> Value {
    let mut body = body.clone();
    if let Value::Object(map) = &mut body {
        map.retain(|_, v| !v.is_null());
    }
    body
}

async fn add(db: DbConfig, body: &Value) -> CliResult {
    let family = NewCategory::parse(&given(body)).map_err(|e| lines(&ApiError::invalid(e)))?;
    let pool = db.pool()?;
    let mut tx = pool.begin().await?;
    let created = categories::create(&mut tx, &family).await.map_err(refusal)?;
    tx.commit().await?;
    println!("added {}", line(&created));
    Ok(())
}

async fn change(db: DbConfig, code: &str, body: &Value) -> CliResult {
    let change = CategoryChange::parse(&given(body)).map_err(|e| lines(&ApiError::invalid(e)))?;
    if change == CategoryChange::default() {
        return Err("say what to change (see --help)".into());
    }
    let changed = categories::update(&db.pool()?, code, &change).await.map_err(refusal)?;
    println!("{}", line(&changed));
    Ok(())
}

fn refusal(e: StoreError) -> String {
    lines(&ApiError::from(e))
}

fn line(c: &Category) -> String {
    let retired = if c.retired { "  (retired: its tasks are kept, no new ones)" } else { "" };
    format!("{:<16} {:<4} {} {:>4}  {} / {}{retired}", c.code, c.prefix, c.color, c.sort_order, c.name_zh, c.name_en)
}
