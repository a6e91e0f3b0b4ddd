//! POST /api/import/ledger: the bureau's existing ledger (台账) from an Excel workbook or a CSV file.

use axum::Json;
use axum::extract::{FromRequest, Multipart, Request, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use serde_json::Value;
use sha2::{Digest, Sha256};

use super::AppState;
use super::idempotency::{Idempotency, fingerprint_json};
use super::lang::Lang;
use crate::auth::Principal;
use crate::domain::Code;
use crate::domain::import::Mode;
use crate::domain::ledger::Options;
use crate::domain::ledger::rows::RowFailure;
use crate::error::{ApiError, Problem, ProblemKind, Result};
use crate::ledger::{self, MAX_LEDGER_UPLOAD};
use crate::store::ledger::{self as store, LedgerReport};

/// The parts of a ledger import's form; no others are read (a part with any other name is refused).
#[allow(dead_code)]
#[derive(serde::Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
struct LedgerForm {
    /// The ledger: an .xlsx workbook or a .csv file (UTF-8 or GBK).
    #[schema(value_type = String, format = Binary)]
    file: Vec<u8>,
    coords: Option<String>,
    map: Option<String>,
    sheet: Option<String>,
    header_row: Option<String>,
    dry_run: Option<String>,
    mode: Option<String>,
}

/// Import tasks from the bureau's ledger: an `.xlsx` workbook (its first sheet, or `sheet`) or a
/// CSV file (UTF-8, with or without a byte order mark, or GBK) whose header row names the columns.
/// Usual Chinese headers (任务名称, 类别, 乡镇, 牵头单位, 完成时限, 计划投资（万元）, 经度, 纬度, …)
/// and greenledger's own export headers are understood; `map` names others. Each row is checked
/// with the rules of POST /api/tasks; every refused row is reported with its row number and each
/// problem at its cell. Columns that fill no field are listed in `columns` as ignored.
/// With `dry_run=true` nothing is stored and the answer lists what would be created and every
/// refusal. Otherwise, with `mode=all` (the default), nothing is stored unless every row is valid.
#[utoipa::path(post, path = "/api/import/ledger", tag = "tasks",
    request_body(content = LedgerForm, content_type = "multipart/form-data",
        description = "`file` (.xlsx or .csv), and optional text fields `coords` (gcj02 or bd09: longitude/latitude \
                       and WKT positions are in that datum), `map` (a JSON object from column name to field, e.g. \
                       {\"标题列\": \"title\", \"备注\": \"ignore\"}; fields are the task's properties and lon, lat, wkt, \
                       ignore), `sheet` (the worksheet's name), `header_row` (the row holding the column names, 1 by \
                       default), `dry_run` (true), `mode` (all or partial)"),
    params(("Idempotency-Key" = Option<String>, Header, description = "Makes a retried import (not a dry run) store its tasks once")),
    responses(
        (status = 200, description = "Imported, or in a dry run what would be (`failed` lists refused rows)", body = LedgerReport),
        (status = 401, description = "Not logged in", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "Not bureau staff", body = Problem, content_type = "application/problem+json"),
        (status = 413, description = "The file is larger than 64 MiB", body = Problem, content_type = "application/problem+json"),
        (status = 415, description = "Not a multipart form", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "The file cannot be read as a ledger (`errors` name the cells, e.g. merged header \
                                      cells), or some rows are invalid and nothing was stored: `errors` point at each \
                                      cell (`F7`) and `failed` lists the rows", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn import(
    State(state): State<AppState>,
    principal: Principal,
    headers: HeaderMap,
    lang: Lang,
    req: Request,
) -> Result<Response> {
    let user = principal.require_staff("import a ledger")?;
    let (name, bytes, pairs) = read_form(req, &state).await?;
    let options = Options::parse(&pairs).map_err(ApiError::invalid)?;
    let once = Idempotency::read(&headers, user.id, "POST /api/import/ledger".into(), fingerprint(&pairs, &bytes))?;
    let (table, plan) = {
        let options = options.clone();
        tokio::task::spawn_blocking(move || ledger::prepare(&name, &bytes, &options))
            .await
            .map_err(|_| ApiError::internal())?
            .map_err(ApiError::invalid)?
    };
    if !options.dry_run
        && let Some(first) = once.replay(&state.db).await?
    {
        return Ok(first);
    }
    let mut tx = crate::store::begin(&state.db).await?;
    let mut report = store::import(&state.db, &mut tx, &table, &plan, &options, Some(user.id), |_, _, _| {}).await?;
    let failed = std::mem::take(&mut report.failed);
    report.failed = failed.iter().map(|f| f.localized(&report.file, lang)).collect();
    if options.dry_run {
        // Codes were reserved and tasks written only to be told: all of it is rolled back.
        drop(tx);
        return Ok(Json(report).into_response());
    }
    if options.mode == Mode::All && !report.failed.is_empty() {
        return Err(refused(&report, &failed));
    }
    once.commit(&state.db, tx, (StatusCode::OK, Json(report)).into_response()).await
}

/// The 422 of an import with refused rows: every cell at fault, and the rows.
/// `failed` are the rows in English, whose sentences the errors and the English detail keep.
fn refused(report: &LedgerReport, failed: &[RowFailure]) -> ApiError {
    let errors = failed.iter().flat_map(|f| f.field_errors(&report.file)).collect();
    let rows = serde_json::to_value(&report.failed).unwrap_or_default();
    let mut e = ApiError::invalid(errors)
        .with("failed", rows)
        .with("imported", 0)
        .with("rows", report.rows)
        .with("file", report.file.clone());
    e.detail = format!(
        "{} of {} rows of {} cannot be imported, so nothing was stored: {}",
        report.failed.len(),
        report.rows,
        report.file,
        failed.first().map(|f| f.error.as_str()).unwrap_or("")
    );
    e
}

/// What makes two imports the same: the options and the file's bytes.
fn fingerprint(pairs: &[(String, String)], bytes: &[u8]) -> Vec<u8> {
    let digest: String = Sha256::digest(bytes).iter().map(|b| format!("{b:02x}")).collect();
    fingerprint_json(pairs, &Value::String(digest))
}

fn too_large() -> ApiError {
    ApiError::new(ProblemKind::TooLarge, format!("the file is larger than {} MiB", MAX_LEDGER_UPLOAD >> 20))
}

/// The `file` part (its name and bytes) and every other field as text.
async fn read_form(req: Request, state: &AppState) -> Result<(String, Vec<u8>, Vec<(String, String)>)> {
    let unreadable = |e: axum::extract::multipart::MultipartError| {
        if e.status() == StatusCode::PAYLOAD_TOO_LARGE {
            too_large()
        } else {
            ApiError::bad_request(format!("cannot read the form: {}", e.body_text()))
        }
    };
    let mut form = Multipart::from_request(req, state).await.map_err(|e| {
        ApiError::new(
            ProblemKind::UnsupportedMediaType,
            format!("send the ledger as multipart/form-data in a part named 'file': {}", e.body_text()),
        )
    })?;
    let (mut file, mut pairs) = (None, Vec::new());
    while let Some(field) = form.next_field().await.map_err(unreadable)? {
        let name = field.name().unwrap_or("").to_owned();
        if name == "file" {
            let file_name = field.file_name().unwrap_or("ledger").to_owned();
            file = Some((file_name, field.bytes().await.map_err(unreadable)?.to_vec()));
        } else {
            let bytes = field.bytes().await.map_err(unreadable)?;
            let text = String::from_utf8(bytes.to_vec()).map_err(|_| {
                ApiError::invalid_field(&name, Code::NotText, "is not text: its bytes are not valid UTF-8")
            })?;
            pairs.push((name, text));
        }
    }
    let (name, bytes) = file.ok_or_else(|| {
        ApiError::invalid_field("file", Code::Required, "send the ledger (.xlsx or .csv) in a form part named 'file'")
    })?;
    Ok((name, bytes, pairs))
}
