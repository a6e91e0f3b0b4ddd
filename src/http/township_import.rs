//! POST /api/townships/import: an administrator loads the county's township boundaries from a file.

use axum::Json;
use axum::extract::{FromRequest, Multipart, Request, State};
use axum::http::StatusCode;

use super::AppState;
use crate::auth::Principal;
use crate::boundaries::{self, Upload};
use crate::domain::{Code, boundary};
use crate::error::{ApiError, Problem, ProblemKind, Result};
use crate::store::township_import::{self, ImportReport};

/// Largest upload: a county's boundaries at survey detail, zipped or not, with room to spare.
pub const MAX_BOUNDARY_UPLOAD: usize = 100 * 1024 * 1024;

/// Load township boundaries from a file: GeoJSON, GeoPackage or Shapefile (a `.zip`, or the `.shp`
/// with its `.dbf`, `.prj` and `.cpg` as several `file` parts). Coordinates are transformed by
/// PostGIS from the file's system (WGS 84, CGCS2000 and its Gauss-Krüger zones, Web Mercator, or
/// any EPSG code named with `crs`). Without `apply=true` this is a dry run: the answer says what
/// would change (townships added and changed, geometries repaired, gaps, overlaps, tasks moving)
/// and nothing is stored. With it, all of that happens in one transaction, each moved task with a
/// history event.
#[utoipa::path(post, path = "/api/townships/import", tag = "admin",
    request_body(content = Object, content_type = "multipart/form-data",
        description = "`file` (one or more parts), and optional text fields `code_field`, `name_field`, `kind_field`, \
                       `crs` (EPSG:4549), `coords` (gcj02 or bd09), `encoding` (GBK), `layer` (GeoPackage table), `apply` (true)"),
    responses(
        (status = 200, description = "The dry run's findings, or what was stored (`applied`)", body = ImportReport),
        (status = 403, description = "Not an administrator", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "Applying would leave tasks outside every township; nothing was changed", body = Problem, content_type = "application/problem+json"),
        (status = 413, description = "The upload is too large", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "The file cannot be read as township boundaries; `errors` name the file, feature or field", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn import(State(state): State<AppState>, principal: Principal, req: Request) -> Result<Json<ImportReport>> {
    let admin = principal.require_admin("import township boundaries")?;
    let (uploads, pairs) = read_form(req, &state).await?;
    let request = boundary::Request::parse(&pairs).map_err(ApiError::invalid)?;
    let prepared = {
        let request = request.clone();
        tokio::task::spawn_blocking(move || boundaries::prepare(uploads, &request))
            .await
            .map_err(|_| ApiError::internal())?
    };
    let (source, townships, srid) = prepared.map_err(ApiError::invalid)?;
    let report =
        township_import::import(&state.db, source, &townships, srid, request.datum, Some(admin.id), request.apply)
            .await?;
    Ok(Json(report))
}

fn too_large() -> ApiError {
    ApiError::new(ProblemKind::TooLarge, format!("the upload is larger than {} MiB", MAX_BOUNDARY_UPLOAD >> 20))
}

/// The `file` parts, and every other field as text.
async fn read_form(req: Request, state: &AppState) -> Result<(Vec<Upload>, Vec<(String, String)>)> {
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
            format!("send the file as multipart/form-data in a part named 'file': {}", e.body_text()),
        )
    })?;
    let (mut uploads, mut pairs) = (Vec::new(), Vec::new());
    while let Some(field) = form.next_field().await.map_err(unreadable)? {
        let name = field.name().unwrap_or("").to_owned();
        if name == "file" {
            let file = field.file_name().unwrap_or("upload").to_owned();
            let bytes = field.bytes().await.map_err(unreadable)?;
            uploads.push(Upload { name: file, bytes: bytes.to_vec() });
        } else {
            pairs.push((name, field.text().await.map_err(unreadable)?));
        }
    }
    if uploads.is_empty() {
        return Err(ApiError::invalid_field(
            "/file",
            Code::Required,
            "send the boundary file in a form part named 'file'",
        ));
    }
    Ok((uploads, pairs))
}
