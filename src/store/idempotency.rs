//! The first answer to each create sent with an Idempotency-Key, written in the create's own
//! transaction (see migrations/0007): a retry finds it and gets it again, and nothing is stored twice.

use serde_json::{Map, Value};
use sqlx::PgConnection;
use uuid::Uuid;
/// A key as stored: whose, for which endpoint, and what the request asked for.
#[derive(Debug, Clone)]
pub struct Key {
    pub caller: Uuid,
    /// Method and path, e.g. `POST /api/tasks`.
    pub endpoint: String,
    /// SHA-256 of the client's key.
    pub key_hash: Vec<u8>,
    /// SHA-256 of what makes two requests the same request.
    pub fingerprint: Vec<u8>,
}

/// An answer as it is kept and given again.
#[derive(Debug, Clone, PartialEq)]
pub struct Answer {
    pub status: u16,
    /// Lower-case header names and their values.
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

pub enum Found {
    Nothing,
    /// The same request was answered before: its answer.
    Same(Answer),
    /// The key was used for a different request.
    Different,
}

struct Row {
    fingerprint: Vec<u8>,
    status: i16,
    headers: Value,
    body: Vec<u8>,
}

impl Row {
    fn answer(self) -> Answer {
        let headers = match self.headers {
            Value::Object(map) => map.into_iter().filter_map(|(k, v)| v.as_str().map(|v| (k, v.to_owned()))).collect(),
            _ => Vec::new(),
        };
        Answer { status: self.status as u16, headers, body: self.body }
    }
}

/// What was answered to this key before, if anything.
pub async fn find<'e>(conn: impl sqlx::PgExecutor<'e>, key: &Key) -> Result<Found, sqlx::Error> {
    let row = sqlx::query_as!(
        Row,
        "SELECT fingerprint, status, headers, body FROM idempotency_keys
         WHERE caller_id = $1 AND endpoint = $2 AND key_hash = $3",
        key.caller,
        key.endpoint,
        key.key_hash
    )
    .fetch_optional(conn)
    .await?;
    Ok(match row {
        None => Found::Nothing,
        Some(r) if r.fingerprint == key.fingerprint => Found::Same(r.answer()),
        Some(_) => Found::Different,
    })
}

/// Keeps `answer` for `key` in the caller's transaction. False when a twin request with the same key
/// committed first (the insert waits for it): the caller then rolls back and answers with the twin's.
pub async fn keep(conn: &mut PgConnection, key: &Key, answer: &Answer) -> Result<bool, sqlx::Error> {
    let headers: Map<String, Value> =
        answer.headers.iter().map(|(k, v)| (k.to_ascii_lowercase(), Value::from(v.as_str()))).collect();
    let kept = sqlx::query_scalar!(
        r#"INSERT INTO idempotency_keys (caller_id, endpoint, key_hash, fingerprint, status, headers, body)
           VALUES ($1, $2, $3, $4, $5, $6, $7)
           ON CONFLICT DO NOTHING
           RETURNING true AS "kept!""#,
        key.caller,
        key.endpoint,
        key.key_hash,
        key.fingerprint,
        answer.status as i16,
        Value::Object(headers),
        answer.body
    )
    .fetch_optional(conn)
    .await?;
    Ok(kept.unwrap_or(false))
}
