mod admin_cli;

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::{Duration, Instant};

use clap::{Parser, Subcommand};
use greenledger::domain::account::NewAccount;
use greenledger::domain::boundary::{Columns, Request};
use greenledger::domain::chinacoords::Datum;
use greenledger::domain::import::{Mode, Options};
use greenledger::logging::{self, LogFormat};
use greenledger::store::photos::{PhotoStore, PhotoStoreKind};
use greenledger::store::{self, DbConfig};
use greenledger::{AppState, ServerConfig};

#[derive(Parser)]
#[command(name = "greenledger", version, about = "The environmental bureau's remediation ledger on a map")]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Serve the API and the map.
    Serve {
        #[command(flatten)]
        db: DbConfig,
        #[command(flatten)]
        server: ServerConfig,
    },
    /// Apply pending database migrations.
    Migrate {
        #[command(flatten)]
        db: DbConfig,
    },
    /// Add N synthetic tasks over the loaded townships (for benchmarks; needs a superuser connection).
    Synth {
        #[command(flatten)]
        db: DbConfig,
        /// How many tasks to add.
        #[arg(long)]
        tasks: i64,
        /// Random seed in [0, 1): the same seed and count give the same ledger.
        #[arg(long, default_value_t = 0.42)]
        seed: f64,
    },
    /// Import tasks, checked like single creates (progress on stderr): from a GeoJSON
    /// FeatureCollection (`import FILE.geojson`), or the bureau's Excel or CSV ledger
    /// (`import ledger FILE`, see `import ledger --help`).
    #[command(subcommand_negates_reqs = true)]
    Import {
        #[command(subcommand)]
        what: Option<ImportCommand>,
        #[command(flatten)]
        db: DbConfig,
        /// The GeoJSON file.
        #[arg(required = true)]
        file: Option<PathBuf>,
        /// Store the valid features even if some are invalid (default: all or nothing).
        #[arg(long)]
        partial: bool,
        /// Datum of the coordinates: wgs84, gcj02 (AMap, Tencent) or bd09 (Baidu).
        #[arg(long, default_value = "wgs84")]
        coords: String,
    },
    /// Write the database and the report photos to one archive, while the service runs.
    Backup(greenledger::backup::BackupArgs),
    /// Restore an archive of `backup` into an empty database and the data folder.
    Restore(greenledger::backup::RestoreArgs),
    /// Manage user accounts.
    User {
        #[command(subcommand)]
        command: UserCommand,
    },
    /// The first administrator of a county's own ledger.
    Admin {
        #[command(subcommand)]
        command: AdminCommand,
    },
    /// Accounts in bulk: a roster of officers from a CSV file, or one officer per township.
    Accounts {
        #[command(subcommand)]
        command: admin_cli::AccountsCommand,
    },
    /// The task families: list, add, rename, recolour, reorder, retire.
    Families {
        #[command(subcommand)]
        command: admin_cli::FamilyCommand,
    },
    /// The county's township boundaries.
    Townships {
        #[command(subcommand)]
        command: TownshipCommand,
    },
    /// Report photos: `to-database` moves those of the data folder into the database, for a
    /// county going from one service instance to several (GREENLEDGER_PHOTO_STORE=database).
    Photos {
        #[command(subcommand)]
        command: PhotosCommand,
    },
    /// Reminders (催办): `run` makes a day's digests (once per unit and day, however often it is
    /// run) and sends the deliveries that are due.
    Reminders {
        #[command(subcommand)]
        command: RemindersCommand,
    },
    /// Load the demo county and its tasks (adds only what is missing).
    Seed {
        #[command(flatten)]
        db: DbConfig,
        /// Folder holding townships.geojson and tasks.geojson.
        #[arg(long, default_value = "data")]
        data_dir: PathBuf,
        /// The service's folder for uploaded files, where the demo's report photos are written.
        #[arg(long, env = "GREENLEDGER_DATA_DIR", default_value = ".data")]
        files_dir: PathBuf,
        /// Where the service keeps report photos: its data folder, or the database (several
        /// instances).
        #[arg(long, env = "GREENLEDGER_PHOTO_STORE", value_enum, default_value = "folder")]
        photo_store: PhotoStoreKind,
    },
}

#[derive(Subcommand)]
enum PhotosCommand {
    /// Copies every report photo of the data folder into the database (the files stay; a photo
    /// already there is left as it is; a file whose content does not match its name stops it).
    ToDatabase {
        #[command(flatten)]
        db: DbConfig,
        /// The service's folder for uploaded files.
        #[arg(long, env = "GREENLEDGER_DATA_DIR", default_value = ".data")]
        data_dir: PathBuf,
    },
}

#[derive(Subcommand)]
enum RemindersCommand {
    /// Make the digests of a day (default: today in the county's time zone) and send what is due.
    Run {
        #[command(flatten)]
        db: DbConfig,
        #[command(flatten)]
        reminders: greenledger::reminders::ReminderConfig,
        /// The day, YYYY-MM-DD.
        #[arg(long)]
        date: Option<chrono::NaiveDate>,
    },
}

#[derive(Subcommand)]
enum ImportCommand {
    /// The bureau's ledger (台账) from an Excel workbook (.xlsx) or a CSV file (UTF-8 or GBK), its
    /// columns named in the header row (任务名称, 类别, 乡镇, 经度, 纬度, ...). The database comes
    /// from DATABASE_URL (or `import --database-url URL ledger FILE`).
    Ledger(greenledger::ledger::cli::LedgerImport),
}

#[derive(Subcommand)]
enum UserCommand {
    /// Create an account. The password is read from GREENLEDGER_USER_PASSWORD, else from stdin.
    Add {
        #[command(flatten)]
        db: DbConfig,
        #[arg(long)]
        username: String,
        /// admin, bureau, township or department.
        #[arg(long)]
        role: String,
        /// The township code, for township officers.
        #[arg(long)]
        township: Option<String>,
        /// The department code, for department officers.
        #[arg(long)]
        department: Option<String>,
        #[arg(long, default_value = "")]
        display_name: String,
    },
}

#[derive(Subcommand)]
enum AdminCommand {
    /// Create an administrator. Its temporary password is printed once (or read from
    /// GREENLEDGER_USER_PASSWORD, or stdin with --password-stdin); it must be changed at first login.
    Create {
        #[command(flatten)]
        db: DbConfig,
        #[arg(long)]
        username: String,
        #[arg(long, default_value = "")]
        display_name: String,
        /// Read the temporary password from stdin instead of generating one.
        #[arg(long)]
        password_stdin: bool,
    },
}

#[derive(Subcommand)]
enum TownshipCommand {
    /// Check a boundary file (GeoJSON, GeoPackage, Shapefile as .zip or .shp with its .dbf, .prj,
    /// .cpg) and report what importing it would do; with --apply, do it in one transaction.
    Import(TownshipImport),
}

#[derive(clap::Args)]
struct TownshipImport {
    #[command(flatten)]
    db: DbConfig,
    /// The boundary file.
    file: PathBuf,
    /// Store the townships and move the tasks (without it: a dry run that changes nothing).
    #[arg(long)]
    apply: bool,
    /// Check only (the default), said explicitly.
    #[arg(long, conflicts_with = "apply")]
    dry_run: bool,
    /// The column holding the township code (default: code, XZQDM, 乡镇代码, ...).
    #[arg(long)]
    code_field: Option<String>,
    /// The column holding the township name (default: name, XZQMC, 乡镇名称, ...).
    #[arg(long)]
    name_field: Option<String>,
    /// The column holding the kind (镇, 街道, 开发区); without it the kind is read from the name.
    #[arg(long)]
    kind_field: Option<String>,
    /// The coordinate system, when the file names none: EPSG:4549, EPSG:4490, ...
    #[arg(long)]
    crs: Option<String>,
    /// Boundaries traced from a Chinese web map: gcj02 (AMap, Tencent) or bd09 (Baidu).
    #[arg(long, default_value = "wgs84")]
    coords: String,
    /// The text encoding of a Shapefile's attributes, when it has no .cpg: GBK, UTF-8.
    #[arg(long)]
    encoding: Option<String>,
    /// The feature table of a GeoPackage holding several.
    #[arg(long)]
    layer: Option<String>,
}

impl TownshipImport {
    fn request(&self) -> Result<Request, String> {
        let crs = self.crs.as_deref().map(greenledger::domain::crs::parse_crs_name).transpose()?;
        let columns =
            Columns { code: self.code_field.clone(), name: self.name_field.clone(), kind: self.kind_field.clone() };
        Ok(Request {
            columns,
            crs,
            datum: Datum::parse(&self.coords)?,
            encoding: self.encoding.clone(),
            layer: self.layer.clone(),
            apply: self.apply && !self.dry_run,
        })
    }
}

// The tile path allocates per row read and per feature written; glibc malloc was a tenth of its time.
#[global_allocator]
static ALLOC: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[tokio::main]
async fn main() -> ExitCode {
    let format = match LogFormat::parse(std::env::var("GREENLEDGER_LOG_FORMAT").ok().as_deref()) {
        Ok(format) => format,
        Err(e) => {
            eprintln!("greenledger: {e}");
            return ExitCode::FAILURE;
        }
    };
    tracing::subscriber::set_global_default(logging::subscriber(format, std::io::stdout))
        .expect("no other logger is installed");
    match run(Cli::parse().command).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("greenledger: {e}");
            ExitCode::FAILURE
        }
    }
}

type CliResult = Result<(), Box<dyn std::error::Error>>;

async fn run(command: Command) -> CliResult {
    match command {
        Command::Serve { db, server } => serve(db, server).await,
        Command::Migrate { db } => migrate(db).await,
        Command::Backup(args) => Ok(greenledger::backup::run_backup(args).await?),
        Command::Restore(args) => Ok(greenledger::backup::run_restore(args).await?),
        Command::Seed { db, data_dir, files_dir, photo_store } => {
            seed(db, data_dir, PhotoStore::new(photo_store, &files_dir)).await
        }
        Command::Synth { db, tasks, seed } => synth(db, tasks, seed).await,
        Command::Photos { command: PhotosCommand::ToDatabase { db, data_dir } } => {
            let pool = db.pool()?;
            let (moved, there) =
                greenledger::store::photos::folder_to_database(&pool, &data_dir).await.map_err(|e| e.to_string())?;
            println!("photos: {moved} copied into the database, {there} were there already");
            Ok(())
        }
        Command::Import { what: Some(ImportCommand::Ledger(args)), db, .. } => {
            greenledger::ledger::cli::run(db, args).await
        }
        Command::Import { what: None, db, file, partial, coords } => {
            import(db, file.unwrap_or_default(), partial, &coords).await
        }
        Command::User { command: UserCommand::Add { db, username, role, township, department, display_name } } => {
            let password = read_password()?;
            let body = serde_json::json!({
                "username": username, "role": role, "township": township, "department": department,
                "display_name": display_name, "password": password,
            });
            create_account(db, &body).await
        }
        Command::Admin { command: AdminCommand::Create { db, username, display_name, password_stdin } } => {
            create_admin(db, username, display_name, password_stdin).await
        }
        Command::Townships { command: TownshipCommand::Import(args) } => import_townships(args).await,
        Command::Accounts { command } => admin_cli::accounts(command).await,
        Command::Reminders { command: RemindersCommand::Run { db, reminders, date } } => {
            run_reminders(db, reminders, date).await
        }
        Command::Families { command } => admin_cli::families(command).await,
    }
}

async fn serve(db: DbConfig, server: ServerConfig) -> CliResult {
    let pool = db.pool()?;
    // Every start brings the schema up to this release (a no-op when it is), so an upgraded
    // package needs no separate step.
    store::migrate(&pool).await?;
    let mut state = AppState::new(pool, &server, &db.timezone)?;
    if !db.read_database_urls.is_empty() {
        let replicas = std::sync::Arc::new(store::replicas::Replicas::new(state.db.clone(), &db)?);
        replicas.clone().watch();
        state.tiles.set_replica_lag(replicas.max_lag());
        state.reads = replicas;
        tracing::info!(
            replicas = db.read_database_urls.len(),
            max_lag_secs = db.read_max_lag_secs,
            "public reads go to the replicas in the read pool"
        );
    }
    let sealed = store::two_factor::seal_plain(&state.db, &state.settings.seal_key).await?;
    if sealed > 0 {
        tracing::info!(sealed, "two-step secrets stored in the clear are sealed now");
    }
    if server.reminders.background {
        greenledger::reminders::spawn(state.db.clone(), state.sender.clone());
    }
    let listener = tokio::net::TcpListener::bind(server.addr)
        .await
        .map_err(|e| format!("cannot listen on {}: {e}", server.addr))?;
    tracing::info!("serving on http://{}", listener.local_addr()?);
    greenledger::serve(listener, greenledger::app(state, &server), Duration::from_secs(30)).await?;
    Ok(())
}

async fn run_reminders(
    db: DbConfig,
    config: greenledger::reminders::ReminderConfig,
    date: Option<chrono::NaiveDate>,
) -> CliResult {
    let pool = db.pool()?;
    let sender = greenledger::reminders::Sender::new(&config)?;
    let day = match date {
        Some(day) => day,
        None => store::reminders::today(&pool).await?,
    };
    let started = Instant::now();
    let (made, sent) = greenledger::reminders::run(&pool, day, &sender).await?;
    if made.ran {
        println!("reminders: {day}: {} digests, {} deliveries queued", made.digests, made.deliveries);
    } else {
        println!("reminders: {day}: already run, nothing made again");
    }
    println!(
        "reminders: {} delivered, {} failed (retried later) in {:.1} s",
        sent.sent,
        sent.failed,
        started.elapsed().as_secs_f64()
    );
    Ok(())
}

async fn migrate(db: DbConfig) -> CliResult {
    store::migrate(&db.pool()?).await?;
    println!("migrations applied");
    Ok(())
}

async fn seed(db: DbConfig, data_dir: PathBuf, photos: PhotoStore) -> CliResult {
    let pool = db.pool()?;
    let report = greenledger::seed::load_demo(&pool, &data_dir, &photos, |m| println!("seed: {m}")).await?;
    println!(
        "seed: done ({} townships, {} tasks with {} reports and {} photos, and {} accounts added; {} tasks were already present)",
        report.townships_added,
        report.tasks_added,
        report.reports_added,
        report.photos_added,
        report.users_added,
        report.tasks_already_present
    );
    Ok(())
}

async fn synth(db: DbConfig, tasks: i64, seed: f64) -> CliResult {
    let pool = db.pool()?;
    let started = Instant::now();
    greenledger::synth::generate(&pool, tasks, seed, |done, all| {
        eprintln!("synth: {done} of {all} tasks ({:.0} s)", started.elapsed().as_secs_f64())
    })
    .await?;
    println!("synth: {tasks} tasks added in {:.1} s", started.elapsed().as_secs_f64());
    Ok(())
}

async fn import(db: DbConfig, file: PathBuf, partial: bool, coords: &str) -> CliResult {
    let started = Instant::now();
    let datum = Datum::parse(coords)?;
    let mode = if partial { Mode::Partial } else { Mode::All };
    let text = std::fs::read(&file).map_err(|e| format!("cannot read {}: {e}", file.display()))?;
    let doc: serde_json::Value =
        serde_json::from_slice(&text).map_err(|e| format!("{} is not JSON: {e}", file.display()))?;
    let parsed = greenledger::domain::import::parse(&doc, datum, chrono::Utc::now())
        .map_err(|e| format!("{}: {}: {}", file.display(), e.pointer, e.detail))?;
    eprintln!("import: {} features read in {:.1} s", parsed.len(), started.elapsed().as_secs_f64());
    let pool = db.pool()?;
    let options = Options { mode, datum, accept_outside: false };
    let mut tx = pool.begin().await?;
    let report = store::import::import(&pool, &mut tx, parsed, options, None, |stage, done, of| {
        eprintln!("import: {stage} {done} of {of} ({:.1} s)", started.elapsed().as_secs_f64())
    })
    .await?;
    tx.commit().await?;
    for f in &report.failed {
        eprintln!("import: feature {}: {}", f.index, f.error);
    }
    let refused = match (report.failed.len(), mode) {
        (0, _) => String::new(),
        (n, Mode::All) => format!("; nothing stored: {n} invalid feature(s) (--partial stores the valid ones)"),
        (n, Mode::Partial) => format!("; {n} invalid feature(s) skipped"),
    };
    let seconds = started.elapsed().as_secs_f64();
    println!("import: {} of {} tasks imported in {seconds:.1} s{refused}", report.imported, report.received);
    if mode == Mode::All && !report.failed.is_empty() {
        return Err("the import was refused".into());
    }
    Ok(())
}

/// The new account's password: GREENLEDGER_USER_PASSWORD, else a line of stdin.
fn read_password() -> std::io::Result<String> {
    if let Ok(p) = std::env::var("GREENLEDGER_USER_PASSWORD") {
        return Ok(p);
    }
    eprintln!("password (then Enter):");
    let mut line = String::new();
    std::io::stdin().read_line(&mut line)?;
    Ok(line.trim_end_matches(['\r', '\n']).to_owned())
}

/// Every refusal on a line of its own, with where it is.
fn listed(errors: &[greenledger::domain::FieldError]) -> String {
    errors.iter().map(|e| format!("{}: {}", e.pointer.trim_start_matches('/'), e.detail)).collect::<Vec<_>>().join("; ")
}

/// Creates the account `body` describes. Its password was chosen by whoever runs the command, so it
/// is temporary: the account chooses its own at first login.
async fn create_account(db: DbConfig, body: &serde_json::Value) -> CliResult {
    let account = NewAccount::parse(body).map_err(|errors| listed(&errors))?;
    let pool = db.pool()?;
    let hash = greenledger::auth::password::hash(account.password.clone()).await?;
    let new = store::accounts::NewUser {
        username: &account.username,
        display_name: &account.display_name,
        role: account.role.as_str(),
        township: account.township.as_deref(),
        department: account.department.as_deref(),
        password_hash: &hash,
        must_change_password: true,
    };
    match store::accounts::create_user(&pool, &new).await? {
        Some(id) => println!("created {} ({}) {id}", account.username, account.role.as_str()),
        None => return Err(format!("the username '{}' is taken", account.username).into()),
    }
    Ok(())
}

async fn create_admin(db: DbConfig, username: String, display_name: String, password_stdin: bool) -> CliResult {
    let given = std::env::var("GREENLEDGER_USER_PASSWORD").is_ok() || password_stdin;
    let password = if given { read_password()? } else { greenledger::auth::password::temporary() };
    let body = serde_json::json!({
        "username": username, "role": "admin", "display_name": display_name, "password": password,
    });
    create_account(db, &body).await?;
    if !given {
        println!("temporary password: {password}");
        println!("(shown this once; it must be changed at the first login)");
    }
    Ok(())
}

async fn import_townships(args: TownshipImport) -> CliResult {
    let request = args.request()?;
    let uploads = greenledger::boundaries::from_disk(&args.file)?;
    let (source, townships, srid) =
        greenledger::boundaries::prepare(uploads, &request).map_err(|errors| listed(&errors))?;
    let pool = args.db.pool()?;
    let report = store::township_import::import(&pool, source, &townships, srid, request.datum, None, request.apply)
        .await
        .map_err(|e| match e {
            store::StoreError::Invalid(errors) => listed(&errors),
            other => other.to_string(),
        })?;
    print!("{}", summary(&report));
    Ok(())
}

/// The import report as lines for a terminal.
fn summary(r: &store::township_import::ImportReport) -> String {
    use std::fmt::Write;
    let mut out = String::new();
    let encoding = r.source.encoding.as_deref().map(|e| format!(", text in {e}")).unwrap_or_default();
    let _ = writeln!(out, "{} ({}{encoding}), coordinates from {}", r.source.file, r.source.format, r.crs);
    let _ = writeln!(
        out,
        "{} townships: {} new, {} changed, {} in the ledger but not in the file (kept); county area {:.2} km²",
        r.townships,
        r.added.len(),
        r.changed.len(),
        r.kept.len(),
        r.county_area_km2
    );
    for x in &r.invalid {
        let (before, after) = (x.area_km2_before, x.area_km2_after);
        let _ =
            writeln!(out, "invalid: {} {}: {}; ST_MakeValid: {before:.4} -> {after:.4} km²", x.code, x.name, x.reason);
    }
    for o in &r.overlaps {
        let _ = writeln!(out, "overlap: {} and {}: {:.1} m²", o.a, o.b, o.area_m2);
    }
    for g in &r.gaps {
        let _ =
            writeln!(out, "gap between {}: {:.1} m² at {:.6}, {:.6}", g.between.join(", "), g.area_m2, g.lon, g.lat);
    }
    for m in &r.moves {
        let _ = writeln!(out, "task {}: {} -> {}", m.code, m.before, m.after.as_deref().unwrap_or("no township"));
    }
    let _ = writeln!(
        out,
        "{}",
        if r.applied {
            "applied: stored in one transaction".to_owned()
        } else {
            format!("dry run: nothing was stored ({} task(s) would move); --apply imports", r.moves.len())
        }
    );
    out
}
