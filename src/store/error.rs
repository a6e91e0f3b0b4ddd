//! What can go wrong in the store, in the store's own words. `crate::error` maps each case to
//! problem+json once; nothing here knows of HTTP.

use crate::domain::bounds::outside_county;
use crate::domain::codes;
use crate::domain::workflow::Refusal;
use crate::domain::{Code, FieldError};

/// SQLSTATEs our own triggers raise (see migrations).
const NO_TOWNSHIP: &str = "GL001";
const SWAPPED_AXES: &str = "GL002";
const OUTSIDE_COUNTY: &str = "GL004";
const RETIRED_FAMILY: &str = "GL005";
/// A task given a department that does not exist or is retired (migrations/0020).
pub(crate) const DEPARTMENT: &str = "GL006";

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The record does not exist; the text names it.
    #[error("{0}")]
    NotFound(String),
    /// The record changed since the caller read it: nothing was written. The caller answers with
    /// the record as it is now.
    #[error("the record is at version {current_version}")]
    Stale { current_version: i32 },
    /// A body names a category or township that does not exist.
    #[error("unknown reference at {}: {}", .0.pointer, .0.detail)]
    BadReference(FieldError),
    /// A query string names categories or townships that do not exist.
    #[error("unknown reference in the query: {0:?}")]
    BadQuery(Vec<FieldError>),
    /// Input the database (a trigger, a CHECK, PostGIS validity) refused.
    #[error("invalid input: {0:?}")]
    Invalid(Vec<FieldError>),
    /// The change would break data that is already stored.
    #[error("{0}")]
    Conflict(String),
    /// The task's lifecycle does not allow the change in its locked state.
    #[error("refused: {0:?}")]
    Refused(Refusal),
    /// A report photo could not be written to the data folder; nothing was stored.
    #[error("the photo could not be stored")]
    PhotoNotStored(#[source] std::io::Error),
    #[error(transparent)]
    Database(sqlx::Error),
}

impl StoreError {
    pub fn invalid_field(e: FieldError) -> Self {
        StoreError::Invalid(vec![e])
    }
}

impl From<Refusal> for StoreError {
    fn from(r: Refusal) -> Self {
        StoreError::Refused(r)
    }
}

/// Errors the database raises about the input (our triggers, CHECKs, keys) become what the input
/// got wrong; the rest stay database errors.
impl From<sqlx::Error> for StoreError {
    fn from(err: sqlx::Error) -> Self {
        let sqlx::Error::Database(db) = &err else { return StoreError::Database(err) };
        match db.code().as_deref() {
            Some(NO_TOWNSHIP) => {
                StoreError::invalid_field(FieldError::new("/geometry", Code::NoTownship, db.message()))
            }
            Some(SWAPPED_AXES) => {
                StoreError::invalid_field(FieldError::new("/geometry", Code::SwappedAxes, db.message()))
            }
            // The trigger names the far position's pointer below `coordinates` as the DETAIL.
            Some(OUTSIDE_COUNTY) => {
                let below = db.try_downcast_ref::<sqlx::postgres::PgDatabaseError>().and_then(|e| e.detail());
                StoreError::invalid_field(
                    outside_county(db.message()).at(format!("/geometry/coordinates{}", below.unwrap_or(""))),
                )
            }
            // The trigger names the retired family's code as the DETAIL.
            Some(RETIRED_FAMILY) => {
                let code = db.try_downcast_ref::<sqlx::postgres::PgDatabaseError>().and_then(|e| e.detail());
                StoreError::Invalid(vec![codes::retired_category("/properties/category", code.unwrap_or(""))])
            }
            // A CHECK or foreign key caught what the Rust validation let through: still the
            // caller's input, so a 422 naming the constraint rather than a 500.
            Some("23514" | "23503" | "23502") => {
                tracing::warn!(error = %db, "constraint caught input that validation passed");
                let constraint = db.constraint().unwrap_or("a constraint");
                let detail = format!("the data breaks the rule {constraint}: {}", db.message());
                StoreError::invalid_field(FieldError::new("", Code::Constraint, detail).with("name", constraint))
            }
            Some("23505") => StoreError::Conflict(format!("a record with the same key exists: {}", db.message())),
            _ => StoreError::Database(err),
        }
    }
}

pub type StoreResult<T> = Result<T, StoreError>;

/// True when the database could not answer rather than refused: no connection within the timeout,
/// a connection lost (its backend crashed or was terminated: broken pipe, unexpected end of the
/// stream), or a server shutting down, restarting or recovering from a crash (SQLSTATE 57P01-57P03,
/// class 08 connection exceptions, 53300 too many connections). The same request may well succeed
/// a moment later; a create sent with an Idempotency-Key can be retried safely.
pub fn is_transient(err: &sqlx::Error) -> bool {
    match err {
        sqlx::Error::PoolTimedOut
        | sqlx::Error::PoolClosed
        | sqlx::Error::Io(_)
        | sqlx::Error::Protocol(_)
        | sqlx::Error::WorkerCrashed => true,
        sqlx::Error::Database(db) => db
            .code()
            .is_some_and(|c| matches!(c.as_ref(), "57P01" | "57P02" | "57P03" | "53300") || c.starts_with("08")),
        _ => false,
    }
}

/// True when the database refused a write because it takes none: a hot standby, a primary being
/// demoted, or a database set read-only for maintenance (SQLSTATE 25006). Nothing was written.
pub fn is_read_only(err: &sqlx::Error) -> bool {
    matches!(err, sqlx::Error::Database(db) if db.code().is_some_and(|c| c == "25006"))
}

/// A bookkeeping write (a last-used mark) that may be skipped: `Ok(None)` when the database is
/// read-only, so that reading goes on while only real changes are refused.
pub fn unless_read_only<T>(result: Result<T, sqlx::Error>) -> Result<Option<T>, sqlx::Error> {
    match result {
        Ok(v) => Ok(Some(v)),
        Err(e) if is_read_only(&e) => Ok(None),
        Err(e) => Err(e),
    }
}
