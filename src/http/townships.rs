//! /api/townships: the townships tasks belong to (task families are in `categories`).

use axum::Json;
use axum::http::header;
use axum::response::{IntoResponse, Response};
use serde::Serialize;

use super::extract::Reads;
use super::tasks::GEOJSON;
use crate::error::Result;
use crate::store::townships::{self, TownshipFeature};

#[derive(Serialize, utoipa::ToSchema)]
pub struct TownshipCollection {
    #[serde(rename = "type")]
    #[schema(example = "FeatureCollection")]
    pub kind: &'static str,
    pub features: Vec<TownshipFeature>,
}

/// Township boundaries with code, name, kind and area.
#[utoipa::path(get, path = "/api/townships", tag = "reference",
    responses((status = 200, description = "Every township", body = TownshipCollection, content_type = "application/geo+json")))]
pub async fn list(Reads(db): Reads) -> Result<Response> {
    let features = townships::list(&db).await?;
    Ok(([(header::CONTENT_TYPE, GEOJSON)], Json(TownshipCollection { kind: "FeatureCollection", features }))
        .into_response())
}
