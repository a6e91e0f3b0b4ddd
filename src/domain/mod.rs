//! Pure types and rules: no I/O here, so every rule is unit-tested directly.

pub mod access;
pub mod account;
pub mod audit;
pub mod boundary;
pub mod bounds;
pub mod chinacoords;
pub mod codes;
pub mod crs;
pub mod export;
pub mod fields;
pub mod filter;
pub mod geometry;
pub mod import;
pub mod ogc;
pub mod password;
pub mod photo;
pub mod review;
pub mod rollup;
pub mod task;
pub mod text;
pub mod tile;
pub mod township;
pub mod two_factor;
pub mod workflow;

use serde::Serialize;

/// One problem with one part of the input.
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct FieldError {
    /// JSON pointer into the request body (`/properties/progress`, `/geometry/coordinates/0/3/1`),
    /// or the query parameter name for query strings.
    pub pointer: String,
    pub detail: String,
}

impl FieldError {
    pub fn new(pointer: impl Into<String>, detail: impl Into<String>) -> Self {
        Self { pointer: pointer.into(), detail: detail.into() }
    }
}
