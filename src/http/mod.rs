//! The HTTP API: one module per resource, thin handlers over `domain` and `store`.

pub mod assessment;
pub mod audit;
pub mod cache;
pub mod campaigns;
pub mod categories;
pub mod departments;
pub mod described;
pub mod export;
pub mod extract;
pub mod headers;
pub mod health;
pub mod idempotency;
pub mod import;
pub mod lang;
pub mod ledger_import;
pub mod metrics;
pub mod ogc;
pub mod password;
pub mod reminders;
pub mod review;
pub mod rollups;
pub mod session;
pub mod shell;
pub mod tasks;
pub mod tiles;
pub mod township_import;
pub mod townships;
pub mod trace;
pub mod two_factor;
pub mod users;
pub mod web;
pub mod workflow;

use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::http::Uri;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use crate::ServerConfig;
use crate::auth::limiter::LoginLimiter;

use axum::routing::{any, get};
use utoipa::OpenApi;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::error::{ApiError, ProblemKind};
use crate::store::Db;

#[derive(Clone)]
pub struct AppState {
    /// The primary: writes, and the reads that must see them.
    pub db: Db,
    /// Where public reads go: the replicas in the read pool, or the primary (store/replicas.rs).
    pub reads: Arc<crate::store::replicas::Replicas>,
    /// A few connections of `db` for one-statement reads, handed on without sqlx's ping (store/held.rs).
    pub held: Arc<crate::store::Held>,
    pub settings: Arc<Settings>,
    pub limiter: Arc<LoginLimiter>,
    pub metrics: Arc<metrics::Metrics>,
    /// Sends reminders to robots and e-mail (a hand chase at once; the rest in the background).
    /// Behind an `Arc` as everything here: the state is cloned for every request, and the sender's
    /// addresses are strings.
    pub sender: Arc<crate::reminders::Sender>,
    /// Tiles kept in memory, dropped as tasks change (tile_cache.rs).
    pub tiles: Arc<crate::tile_cache::TileCache>,
}

/// What handlers need of the configuration.
#[derive(Debug, Clone)]
pub struct Settings {
    pub data_dir: PathBuf,
    /// Where report photos are kept (the data folder or the database).
    pub photos: crate::store::photos::PhotoStore,
    pub secure_cookies: bool,
    pub session_ttl: Duration,
    /// How long a session may go unused (the idle timeout).
    pub session_idle: Duration,
    pub map: web::MapConfig,
    /// Bearer token for /metrics; without one, only loopback callers may read it.
    pub metrics_token: Option<String>,
    /// Whether requests are counted for /metrics (`GREENLEDGER_METRICS`).
    pub count_requests: bool,
    /// Seals the two-step secrets (`GREENLEDGER_SECRET_KEY_FILE`).
    pub seal_key: crate::domain::sealed::SealKey,
}

/// Lets extractors that need only the database (the caller's identity) take it from the state.
impl axum::extract::FromRef<AppState> for Db {
    fn from_ref(state: &AppState) -> Db {
        state.db.clone()
    }
}

impl axum::extract::FromRef<AppState> for crate::auth::IdleTimeout {
    fn from_ref(state: &AppState) -> Self {
        crate::auth::IdleTimeout(state.settings.session_idle)
    }
}

impl AppState {
    /// `timezone` is the county's, as the database connections are set to it (`DbConfig::timezone`).
    /// Fails when the secret key file can be neither read nor made.
    pub fn new(db: Db, config: &ServerConfig, timezone: &str) -> Result<Self, String> {
        let key_file = config.secret_key_file.clone().unwrap_or_else(|| config.data_dir.join("secret.key"));
        let seal_key = crate::auth::key_file::load_or_create(&key_file)?;
        let settings = Settings {
            data_dir: config.data_dir.clone(),
            photos: crate::store::photos::PhotoStore::new(config.photo_store, &config.data_dir),
            secure_cookies: config.secure_cookies,
            session_ttl: Duration::from_secs(14 * 24 * 3600),
            session_idle: Duration::from_secs(config.session_idle_minutes * 60),
            map: web::MapConfig {
                tile_layer: config.tile_url.clone().filter(|u| !u.trim().is_empty()).map(|url| web::TileLayer {
                    url,
                    attribution: config.tile_attribution.clone().unwrap_or_default(),
                }),
                timezone: timezone.to_owned(),
            },
            metrics_token: config.metrics_token.clone().filter(|t| !t.trim().is_empty()),
            count_requests: config.count_requests,
            seal_key,
        };
        let tiles = Arc::new(crate::tile_cache::TileCache::new(config.tile_cache_mb));
        tiles.clone().listen(db.clone());
        Ok(Self {
            tiles,
            reads: Arc::new(crate::store::replicas::Replicas::primary_only(db.clone())),
            held: Arc::new(crate::store::Held::new(db.clone())),
            db,
            settings: Arc::new(settings),
            limiter: Arc::new(LoginLimiter::default()),
            metrics: Arc::default(),
            sender: Arc::new(crate::reminders::Sender::new(&config.reminders)?),
        })
    }
}

#[derive(OpenApi)]
#[openapi(
    info(
        title = "greenledger",
        description = "The environmental bureau's remediation ledger (台账): tasks as GeoJSON features in PostGIS, \
                       rolled up by township. Errors are RFC 9457 problem+json documents; input errors carry an \
                       `errors` list of JSON pointers to the offending field or coordinate. Log in with \
                       POST /api/session (a session cookie) or send `Authorization: Bearer <API token>`; \
                       anonymous callers see public tasks and public fields only."
    ),
    tags(
        (name = "tasks", description = "Remediation tasks"),
        (name = "reference", description = "Townships and task families"),
        (name = "workflow", description = "Reports, transitions, history and photos"),
        (name = "export", description = "The ledger as CSV, Excel and GeoJSON"),
        (name = "campaigns", description = "Campaigns, their yearly targets per township and family, and progress against them"),
        (name = "assessment", description = "Scoring schemes per campaign year, scores and rankings of townships and departments, frozen results"),
        (name = "rollups", description = "Figures by township and month: the league table, the choropleth, the chart"),
        (name = "accounts", description = "Logging in, the caller, API tokens"),
        (name = "admin", description = "Accounts, townships and task families (administrators)"),
        (name = "service", description = "Service status and description"),
        (name = "ogc", description = "OGC API - Features for GIS clients: Part 1 (reading) and Part 4 (editing tasks)"),
        (name = "map", description = "Vector tiles for the map"),
        (name = "reminders", description = "Reminders (催办): the inbox, chasing a task, and how reminders are sent"),
    )
)]
struct ApiDoc;

/// The API routes and the OpenAPI description generated from the same handler annotations, so a
/// route cannot exist without its documentation.
pub fn api() -> (Router<AppState>, utoipa::openapi::OpenApi) {
    let (router, doc) = OpenApiRouter::with_openapi(ApiDoc::openapi())
        .routes(routes!(health::health))
        .routes(routes!(health::live))
        .routes(routes!(health::ready))
        .routes(routes!(web::config))
        .routes(routes!(townships::list))
        .routes(routes!(categories::list, categories::create))
        .routes(routes!(categories::update, categories::retire))
        .routes(routes!(departments::list, departments::create))
        .routes(routes!(departments::update, departments::retire))
        .routes(routes!(tasks::list, tasks::create))
        .routes(routes!(tasks::get, tasks::patch))
        .routes(routes!(workflow::transition))
        .routes(routes!(workflow::history))
        .routes(routes!(workflow::task_photos))
        .routes(routes!(review::queue))
        .routes(routes!(review::count))
        .routes(routes!(review::seen))
        .routes(routes!(workflow::photo))
        .merge(reminder_routes())
        .merge(own_account())
        .routes(routes!(users::list, users::create))
        .routes(routes!(users::bulk))
        .routes(routes!(users::update))
        .routes(routes!(users::logout_everywhere))
        .routes(routes!(audit::list))
        .routes(routes!(audit::csv))
        .routes(routes!(users::put_township))
        .routes(routes!(ogc::landing))
        .routes(routes!(ogc::landing_slash))
        .routes(routes!(ogc::conformance))
        .routes(routes!(ogc::api))
        .routes(routes!(ogc::collections))
        .routes(routes!(ogc::collection))
        .routes(routes!(ogc::queryables))
        .routes(routes!(ogc::schema))
        .routes(routes!(ogc::items, ogc::write::create))
        .routes(routes!(ogc::item, ogc::write::replace, ogc::write::update, ogc::write::delete))
        .routes(routes!(tiles::tile))
        .routes(routes!(tiles::tilejson))
        .routes(routes!(rollups::townships))
        .routes(routes!(rollups::departments))
        .routes(routes!(rollups::townships_geojson))
        .routes(routes!(rollups::monthly))
        .routes(routes!(export::tasks_csv))
        .routes(routes!(export::tasks_geojson))
        .routes(routes!(export::ledger_xlsx))
        .merge(campaign_routes())
        .merge(uploads())
        .split_for_parts();
    (router, described::complete(describe_codes(doc)))
}

/// The inbox, chasing a task, and the administrator's settings, channels and deliveries.
fn reminder_routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(reminders::inbox))
        .routes(routes!(reminders::count))
        .routes(routes!(reminders::read_one))
        .routes(routes!(reminders::read_all))
        .routes(routes!(reminders::chase))
        .routes(routes!(reminders::settings, reminders::set_settings))
        .routes(routes!(reminders::channels))
        .routes(routes!(reminders::set_channels))
        .routes(routes!(reminders::deliveries))
}

/// Campaigns and their targets.
fn campaign_routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(campaigns::list, campaigns::create))
        .routes(routes!(campaigns::get, campaigns::update))
        .routes(routes!(campaigns::targets, campaigns::create_target))
        .routes(routes!(campaigns::targets_csv))
        .routes(routes!(campaigns::replace_target, campaigns::delete_target))
        .routes(routes!(campaigns::assign))
        .routes(routes!(campaigns::history))
        .routes(routes!(assessment::scheme, assessment::set_scheme))
        .routes(routes!(assessment::get, assessment::freeze))
        .routes(routes!(assessment::versions))
        .routes(routes!(assessment::xlsx))
}

/// The routes that take files, each with its own body limit.
fn uploads() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .merge(
            OpenApiRouter::new()
                .routes(routes!(township_import::import))
                .layer(DefaultBodyLimit::max(township_import::MAX_BOUNDARY_UPLOAD)),
        )
        .merge(
            OpenApiRouter::new().routes(routes!(import::import)).layer(DefaultBodyLimit::max(import::MAX_IMPORT_BODY)),
        )
        .merge(
            OpenApiRouter::new()
                .routes(routes!(ledger_import::import))
                // The form's boundaries and option fields on top of the largest file.
                .layer(DefaultBodyLimit::max(crate::ledger::MAX_LEDGER_UPLOAD + 64 * 1024)),
        )
        .merge(
            OpenApiRouter::new()
                .routes(routes!(workflow::create_report, workflow::list_reports))
                .layer(DefaultBodyLimit::max(workflow::MAX_REPORT_BODY)),
        )
}

/// The refusal codes' schema, described from the message tables: each code with its English
/// words and the parameters they name, so a client can word them in its own language.
fn describe_codes(mut doc: utoipa::openapi::OpenApi) -> utoipa::openapi::OpenApi {
    use utoipa::openapi::{RefOr, Schema};
    let schema = doc.components.as_mut().and_then(|c| c.schemas.get_mut("Code"));
    if let Some(RefOr::T(Schema::Object(code))) = schema {
        code.description = Some(format!(
            "What kind of refusal it is; stable across releases. `params` holds the values in braces.\n\n{}",
            crate::domain::messages::catalogue()
        ));
    }
    doc
}

/// Logging in and out, and what an account does for itself: who am I, its password, its
/// two-step verification (and the administrator's policy of it), its API tokens.
fn own_account() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(session::login, session::logout))
        .routes(routes!(session::me))
        .routes(routes!(password::change))
        .routes(routes!(two_factor::start, two_factor::disable))
        .routes(routes!(two_factor::confirm))
        .routes(routes!(two_factor::renew_codes))
        .routes(routes!(two_factor::policy, two_factor::set_policy))
        .routes(routes!(session::create_token, session::list_tokens))
        .routes(routes!(session::revoke_token))
}

/// The API under /api; anything else is looked up in the web folder (the map).
pub fn router(state: AppState, web_dir: &Path) -> Router {
    let tile_url = state.settings.map.tile_layer.as_ref().map(|t| t.url.clone());
    let shell = web::load_shell(web_dir);
    let security =
        Arc::new(headers::SecurityHeaders::new(&shell.index, tile_url.as_deref(), state.settings.secure_cookies));
    let (api, openapi) = api();
    let openapi = axum::Json(openapi);
    let not_found = |uri: Uri| async move { ApiError::not_found(format!("there is no endpoint {}", uri.path())) };
    let api = api
        .route("/api/openapi.json", get(move || async move { openapi.clone() }))
        .route("/metrics", get(metrics::metrics))
        .route("/api/{*rest}", any(not_found))
        .method_not_allowed_fallback(|| async {
            ApiError::new(ProblemKind::MethodNotAllowed, "this endpoint does not accept that method")
        })
        .layer(DefaultBodyLimit::max(extract::MAX_JSON_BODY));
    let api = if state.settings.count_requests {
        api.layer(axum::middleware::from_fn_with_state(state.clone(), metrics::record))
    } else {
        api
    };
    let api = if state.reads.has_replicas() {
        api.layer(axum::middleware::from_fn_with_state(state.clone(), extract::mark_writers))
    } else {
        api
    };
    api.with_state(state)
        .merge(web::static_files(web_dir, shell, get(not_found)))
        .layer(axum::middleware::from_fn(move |req, next| headers::add(security.clone(), req, next)))
}
