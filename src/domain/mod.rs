//! Pure types and rules: no I/O here, so every rule is unit-tested directly.

pub mod fields;
pub mod filter;
pub mod geometry;
pub mod task;
