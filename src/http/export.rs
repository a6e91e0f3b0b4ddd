//! /api/export: the ledger (台账) as the caller may see it — CSV and GeoJSON streamed row by row,
//! and the Excel workbook a bureau files (tasks and the township rollup). Public callers get public
//! tasks and public fields; a township officer also its own township's internal tasks and their
//! contact details; bureau staff everything.

use axum::body::{Body, Bytes};
use axum::extract::State;
use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Response};
use futures_util::{Stream, StreamExt, stream};
use tokio::sync::mpsc;

use super::AppState;
use super::audit::{self, Witness};
use super::extract::{QueryPairs, Reads};
use super::tasks::GEOJSON;
use crate::auth::Principal;
use crate::domain::access::Viewer;
use crate::domain::audit::SecurityEventKind;
use crate::domain::filter::unknown_parameter;
use crate::domain::rollup::RollupFilter;
use crate::error::{ApiError, Problem, ProblemKind, Result};
use crate::export::csv;
use crate::export::xlsx::{self, WorkbookError};
use crate::store::export as store;
use crate::store::rollups;

pub(super) const CSV: &str = "text/csv; charset=utf-8";
pub(super) const XLSX: &str = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet";
/// Rows encoded into one chunk of the response body.
const BATCH: usize = 256;

/// The exports take no parameters: anything in the query string is a mistake worth saying.
fn no_parameters(pairs: &[(String, String)]) -> Result<()> {
    if pairs.is_empty() {
        return Ok(());
    }
    Err(ApiError::bad_query(
        pairs.iter().map(|(k, _)| unknown_parameter(k, "the exports take no parameters", &[]).at(k.clone())).collect(),
    ))
}

/// An export by a logged-in caller holds contact details (of every task for the bureau, of its own
/// township's for an officer): the security audit trail records who took which, and over what.
async fn record_contacts(state: &AppState, principal: &Principal, witness: &Witness, export: &str) -> Result<()> {
    let Some(user) = principal.user() else { return Ok(()) };
    let scope = match principal.viewer() {
        Viewer::Township(code) => format!("township {code}"),
        _ => "county".to_owned(),
    };
    let detail = serde_json::json!({"export": export, "filter": {}, "scope": scope});
    audit::record(&state.db, witness.saw_user(SecurityEventKind::ContactExport, user).with(detail)).await
}

/// A file to save: its type, and its name in the Content-Disposition.
pub(super) fn download(content_type: &'static str, filename: &str, body: impl IntoResponse) -> Response {
    // An ASCII name for old clients, the real one (RFC 6266 / RFC 8187) for the rest.
    let ascii: String =
        filename.chars().map(|c| if c.is_ascii_alphanumeric() || ".-_".contains(c) { c } else { '_' }).collect();
    let encoded: String = form_urlencoded::byte_serialize(filename.as_bytes()).collect();
    let disposition = HeaderValue::from_str(&format!("attachment; filename=\"{ascii}\"; filename*=UTF-8''{encoded}"))
        .expect("an ASCII header value");
    ([(header::CONTENT_TYPE, HeaderValue::from_static(content_type)), (header::CONTENT_DISPOSITION, disposition)], body)
        .into_response()
}

/// Waits for the first row, so a failure before any byte is sent is still a proper error response
/// (503 when the database is down) rather than a download that breaks off.
async fn first<T>(rx: &mut mpsc::Receiver<Result<T, sqlx::Error>>) -> Result<Option<T>> {
    Ok(rx.recv().await.transpose()?)
}

/// The rows as a stream of encoded chunks: `head`, then `encode` of each batch of rows, then
/// `tail`. An error while reading ends the stream with an error, which aborts the response, so a
/// client never mistakes a broken export for a complete one.
fn body<T: Send + 'static>(
    head: String,
    first: Option<T>,
    rx: mpsc::Receiver<Result<T, sqlx::Error>>,
    mut encode: impl FnMut(&mut String, T) + Send + 'static,
    tail: &'static str,
) -> Body {
    let rest = stream::unfold(rx, |mut rx| async move { rx.recv().await.map(|row| (row, rx)) });
    let rows = stream::iter(first.map(Ok)).chain(rest);
    let chunks = rows.ready_chunks(BATCH).map(move |batch| {
        let mut out = String::with_capacity(batch.len() * 512);
        for row in batch {
            match row {
                Ok(row) => encode(&mut out, row),
                Err(e) => {
                    tracing::error!(error = %e, "export broke off");
                    return Err(std::io::Error::other(e));
                }
            }
        }
        Ok(Bytes::from(out))
    });
    let all: std::pin::Pin<Box<dyn Stream<Item = std::io::Result<Bytes>> + Send>> = Box::pin(
        stream::once(async move { Ok(Bytes::from(head)) })
            .chain(chunks)
            .chain(stream::once(async move { Ok(Bytes::from_static(tail.as_bytes())) })),
    );
    Body::from_stream(all)
}

/// Every task the caller may see, one row each, as CSV (RFC 4180, UTF-8 with a byte order mark so
/// Excel shows Chinese correctly), in code order. `lon`/`lat` is a point on the task (inside an
/// area, on a line), `wkt` the geometry, both WGS 84. Times are UTC (RFC 3339). Contact details and
/// reasons are columns only for logged-in callers, filled for the tasks they may see in full
/// (the layout is `export::csv`).
#[utoipa::path(get, path = "/api/export/tasks.csv", tag = "export",
    responses(
        (status = 200, description = "The tasks, streamed", content_type = "text/csv"),
        (status = 400, description = "A query parameter was given", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn tasks_csv(
    State(state): State<AppState>,
    Reads(db): Reads,
    principal: Principal,
    witness: Witness,
    QueryPairs(pairs): QueryPairs,
) -> Result<Response> {
    no_parameters(&pairs)?;
    record_contacts(&state, &principal, &witness, "tasks.csv").await?;
    let viewer = principal.viewer();
    let private_columns = viewer != Viewer::Public;
    let mut rx = store::ledger(db.clone(), viewer);
    let first = first(&mut rx).await?;
    let body = body(csv::head(private_columns), first, rx, move |out, row| csv::record(out, row, private_columns), "");
    Ok(download("text/csv; charset=utf-8", "tasks.csv", body))
}

/// Every task the caller may see as one GeoJSON FeatureCollection, each Feature as GET /api/tasks/{id}
/// returns it; written out as the rows are read, never held whole.
#[utoipa::path(get, path = "/api/export/tasks.geojson", tag = "export",
    responses(
        (status = 200, description = "The tasks, streamed", content_type = "application/geo+json"),
        (status = 400, description = "A query parameter was given", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn tasks_geojson(
    State(state): State<AppState>,
    Reads(db): Reads,
    principal: Principal,
    witness: Witness,
    QueryPairs(pairs): QueryPairs,
) -> Result<Response> {
    no_parameters(&pairs)?;
    record_contacts(&state, &principal, &witness, "tasks.geojson").await?;
    let mut rx = store::features(db.clone(), principal.viewer());
    let first = first(&mut rx).await?;
    // Written here rather than with geojson's FeatureWriter: that writer owns one io::Write for the
    // whole collection, where this body is sent in chunks as rows arrive, and it writes either
    // geojson Features (the geometry parsed from PostGIS's text first) or, for our own structs, a
    // serde_json::Value per feature. Each Feature here is the one GET /api/tasks/{id} returns,
    // PostGIS's geometry text passed through untouched.
    let mut separator = "";
    let encode = move |out: &mut String, feature| {
        out.push_str(separator);
        separator = ",\n";
        // A Feature of strings, numbers and raw GeoJSON always serialises.
        if let Ok(json) = serde_json::to_string(&feature) {
            out.push_str(&json);
        }
    };
    let body = body("{\"type\":\"FeatureCollection\",\"features\":[\n".into(), first, rx, encode, "\n]}\n");
    Ok(download(GEOJSON, "tasks.geojson", body))
}

/// The ledger (台账) as an Excel workbook: a sheet of the tasks the caller may see and a sheet of the
/// township rollup over them with a county total row (the figures of /api/rollups/townships). Numbers
/// and dates are real number and date cells (times in the county's time zone), the header row is
/// frozen, and columns are as wide as their Chinese text (the layout is `export::xlsx`).
#[utoipa::path(get, path = "/api/export/ledger.xlsx", tag = "export",
    responses(
        (status = 200, description = "The workbook", content_type = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"),
        (status = 400, description = "A query parameter was given", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "More tasks than one Excel sheet holds; export CSV instead", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn ledger_xlsx(
    State(state): State<AppState>,
    Reads(db): Reads,
    principal: Principal,
    witness: Witness,
    QueryPairs(pairs): QueryPairs,
) -> Result<Response> {
    no_parameters(&pairs)?;
    record_contacts(&state, &principal, &witness, "ledger.xlsx").await?;
    let viewer = principal.viewer();
    let (as_of, rollup) = rollups::townships(&db, &RollupFilter::default(), &viewer).await?;
    let (_, by_department) = rollups::departments(&db, &RollupFilter::default(), &viewer).await?;
    let categories = store::categories(&db).await?;
    let mut rx = store::ledger(db.clone(), viewer.clone());
    let first = first(&mut rx).await?;
    let private_columns = viewer != Viewer::Public;
    let bytes = tokio::task::spawn_blocking(move || {
        let mut rows = first.into_iter().map(Ok).chain(std::iter::from_fn(|| rx.blocking_recv()));
        let contents = xlsx::Contents {
            private_columns,
            rollup: &rollup,
            by_department: &by_department,
            categories: &categories,
            as_of,
        };
        xlsx::workbook(&mut rows, &contents)
    })
    .await
    .map_err(|e| {
        tracing::error!(error = %e, "the workbook writer stopped");
        ApiError::internal()
    })?
    .map_err(workbook_refusal)?;
    Ok(download(XLSX, &format!("台账-{}.xlsx", as_of.format("%Y%m%d")), bytes))
}

fn workbook_refusal(e: WorkbookError) -> ApiError {
    match e {
        WorkbookError::TooManyRows => ApiError::new(ProblemKind::TooManyRows, e.to_string()),
        WorkbookError::Read(e) => e.into(),
        WorkbookError::Write(e) => {
            tracing::error!(error = %e, "writing the workbook failed");
            ApiError::internal()
        }
    }
}
