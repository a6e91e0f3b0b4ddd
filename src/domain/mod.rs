//! Pure types and rules: no I/O here, so every rule is unit-tested directly.

pub mod access;
pub mod account;
pub mod chinacoords;
pub mod export;
pub mod fields;
pub mod filter;
pub mod geometry;
pub mod import;
pub mod ogc;
pub mod photo;
pub mod rollup;
pub mod task;
pub mod tile;
pub mod township;
pub mod workflow;
