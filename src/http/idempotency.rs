//! `Idempotency-Key` on every create: a client that lost an answer (a dropped connection, a 503)
//! sends the request again with the same key and gets the first answer, marked
//! `Idempotent-Replayed: true`, and nothing is stored twice. The key's record is written in the
//! create's own transaction, so either both are stored or neither is.
//!
//! A handler reads the key, answers a replay if there is one, does its work in a transaction and
//! hands the transaction and its answer to [`Idempotency::commit`].

use axum::body::Body;
use axum::http::{HeaderMap, HeaderName, HeaderValue, StatusCode, header};
use axum::response::Response;
use serde_json::Value;
use sha2::{Digest, Sha256};
use uuid::Uuid;

use crate::domain::Code;
use crate::error::{ApiError, Result};
use crate::store::Db;
use crate::store::idempotency::{self, Answer, Found, Key};

pub const HEADER: &str = "idempotency-key";
pub const REPLAYED: &str = "idempotent-replayed";
/// Longest key accepted (a UUID is 36).
pub const MAX_KEY: usize = 200;
/// Headers of an answer that are kept and given again.
const KEPT_HEADERS: &[HeaderName] = &[header::CONTENT_TYPE, header::LOCATION, header::ETAG];
/// Largest answer kept: an import of many thousand features answers with its report.
const MAX_KEPT_BODY: usize = 64 * 1024 * 1024;

/// Turns a kept body into what is stored and back (the same function both ways): for answers that
/// hold a secret shown once, which must not lie in the database readable.
pub type Seal = fn(&[u8], &[u8; 32]) -> Vec<u8>;

/// The key a request came with (or none) and what it is about.
pub struct Idempotency {
    key: Option<Key>,
    pad: [u8; 32],
    seal: Option<Seal>,
}

/// What makes two requests with a JSON body the same request: the query and the body (compared as
/// JSON values, so spacing and key order do not matter).
pub fn fingerprint_json(query: &[(String, String)], body: &Value) -> Vec<u8> {
    let mut h = Sha256::new();
    for (k, v) in query {
        h.update(k.as_bytes());
        h.update([0]);
        h.update(v.as_bytes());
        h.update([0]);
    }
    h.update([1]);
    h.update(body.to_string().as_bytes());
    h.finalize().to_vec()
}

/// Seals a whole answer (one holding many secrets, such as the temporary passwords of a roster):
/// XORed with a stream of SHA-256 blocks of the pad and a counter, so the same call unseals it.
pub fn seal_whole(body: &[u8], pad: &[u8; 32]) -> Vec<u8> {
    body.chunks(32)
        .enumerate()
        .flat_map(|(i, chunk)| {
            let block = Sha256::new().chain_update(pad).chain_update((i as u64).to_le_bytes()).finalize();
            chunk.iter().zip(block).map(|(b, k)| b ^ k).collect::<Vec<u8>>()
        })
        .collect()
}

/// The key from the headers: absent, or 1–200 visible characters.
pub fn key_from(headers: &HeaderMap) -> Result<Option<String>> {
    let Some(value) = headers.get(HEADER) else { return Ok(None) };
    let key = value.to_str().map(str::trim).unwrap_or("");
    if key.is_empty() || key.len() > MAX_KEY || value.to_str().is_err() {
        return Err(ApiError::bad_request(format!(
            "Idempotency-Key must be 1 to {MAX_KEY} visible ASCII characters, such as a UUID made once per request and sent again with every retry"
        )));
    }
    Ok(Some(key.to_owned()))
}

impl Idempotency {
    /// The request's key (if `raw` holds one) for `caller` at `endpoint` ("POST /api/tasks").
    pub fn new(raw: Option<&str>, caller: Uuid, endpoint: String, fingerprint: Vec<u8>) -> Self {
        let pad = raw.map_or([0; 32], |k| {
            Sha256::new().chain_update(b"greenledger sealed answer\0").chain_update(k).finalize().into()
        });
        let key = raw.map(|k| Key { caller, endpoint, key_hash: Sha256::digest(k.as_bytes()).to_vec(), fingerprint });
        Idempotency { key, pad, seal: None }
    }

    /// Reads the key from the headers (optional).
    pub fn read(headers: &HeaderMap, caller: Uuid, endpoint: String, fingerprint: Vec<u8>) -> Result<Self> {
        Ok(Self::new(key_from(headers)?.as_deref(), caller, endpoint, fingerprint))
    }

    /// The key as stored, when the request came with one.
    pub fn key(&self) -> Option<&Key> {
        self.key.as_ref()
    }

    /// Stores the answer's body sealed with `seal` and a pad only the key can make.
    pub fn sealed(mut self, seal: Seal) -> Self {
        self.seal = Some(seal);
        self
    }

    /// The first answer when this key was answered before; 422 when it was used for a different
    /// request.
    pub async fn replay(&self, db: &Db) -> Result<Option<Response>> {
        let Some(key) = &self.key else { return Ok(None) };
        match idempotency::find(db, key).await? {
            Found::Nothing => Ok(None),
            Found::Same(answer) => Ok(Some(self.replayed(answer))),
            Found::Different => Err(reused()),
        }
    }

    fn replayed(&self, mut answer: Answer) -> Response {
        if let Some(seal) = self.seal {
            answer.body = seal(&answer.body, &self.pad);
        }
        let mut res = Response::new(Body::from(answer.body));
        *res.status_mut() = StatusCode::from_u16(answer.status).unwrap_or(StatusCode::OK);
        let headers = res.headers_mut();
        for (name, value) in answer.headers {
            if let (Ok(n), Ok(v)) = (HeaderName::try_from(name), HeaderValue::try_from(value)) {
                headers.insert(n, v);
            }
        }
        headers.insert(REPLAYED, HeaderValue::from_static("true"));
        res
    }

    /// Commits the create's transaction together with the key's record of `res` (when the request
    /// had a key and `res` is a success). When a twin request with the same key committed first,
    /// this one's work is rolled back and the twin's answer given.
    pub async fn commit(
        &self,
        db: &Db,
        mut tx: sqlx::Transaction<'static, sqlx::Postgres>,
        res: Response,
    ) -> Result<Response> {
        let Some(key) = self.key.as_ref().filter(|_| res.status().is_success()) else {
            tx.commit().await?;
            return Ok(res);
        };
        let (parts, body) = res.into_parts();
        let bytes = axum::body::to_bytes(body, MAX_KEPT_BODY).await.map_err(|e| {
            tracing::error!(error = %e, "an answer to keep could not be read");
            ApiError::internal()
        })?;
        let headers = KEPT_HEADERS
            .iter()
            .filter_map(|n| Some((n.as_str().to_owned(), parts.headers.get(n)?.to_str().ok()?.to_owned())))
            .collect();
        let stored = match self.seal {
            Some(seal) => seal(&bytes, &self.pad),
            None => bytes.to_vec(),
        };
        let answer = Answer { status: parts.status.as_u16(), headers, body: stored };
        if !idempotency::keep(&mut tx, key, &answer).await? {
            drop(tx);
            return match idempotency::find(db, key).await? {
                Found::Same(first) => Ok(self.replayed(first)),
                Found::Different => Err(reused()),
                Found::Nothing => {
                    Err(ApiError::conflict("a request with this Idempotency-Key is being handled; try again"))
                }
            };
        }
        tx.commit().await?;
        Ok(Response::from_parts(parts, Body::from(bytes)))
    }
}

fn reused() -> ApiError {
    ApiError::invalid_field(
        "Idempotency-Key",
        Code::IdempotencyReused,
        "this Idempotency-Key was already used for a different request; use a new key for a new request",
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fingerprints_ignore_spacing_and_key_order_but_not_content() {
        let a: Value = serde_json::from_str(r#"{"b": 1, "a": [1, 2]}"#).unwrap();
        let b: Value = serde_json::from_str(r#"{"a":[1,2],"b":1}"#).unwrap();
        let c: Value = serde_json::from_str(r#"{"a":[2,1],"b":1}"#).unwrap();
        assert_eq!(fingerprint_json(&[], &a), fingerprint_json(&[], &b));
        assert_ne!(fingerprint_json(&[], &a), fingerprint_json(&[], &c));
        let q = vec![("coords".to_owned(), "gcj02".to_owned())];
        assert_ne!(fingerprint_json(&q, &a), fingerprint_json(&[], &a));
    }

    #[test]
    fn keys_are_short_visible_text() {
        let mut h = HeaderMap::new();
        assert_eq!(key_from(&h).unwrap(), None);
        h.insert(HEADER, HeaderValue::from_static("2f1c6a8e-4b7d"));
        assert_eq!(key_from(&h).unwrap().as_deref(), Some("2f1c6a8e-4b7d"));
        h.insert(HEADER, HeaderValue::from_static("  "));
        assert!(key_from(&h).is_err());
        h.insert(HEADER, HeaderValue::from_str(&"k".repeat(MAX_KEY + 1)).unwrap());
        assert!(key_from(&h).is_err());
    }

    #[test]
    fn a_whole_answer_sealed_twice_is_itself_and_sealed_once_holds_no_secret() {
        let body = br#"{"created":[{"username":"t1","temporary_password":"abcd-efgh-jkmn-pqrs"}]}"#.repeat(3);
        let pad = [7u8; 32];
        let sealed = seal_whole(&body, &pad);
        assert_eq!(sealed.len(), body.len());
        assert!(!sealed.windows(4).any(|w| w == b"abcd"));
        assert_eq!(seal_whole(&sealed, &pad), body);
        assert_ne!(seal_whole(&sealed, &[8u8; 32]), body);
    }

    #[test]
    fn the_pad_comes_from_the_key_not_from_its_stored_hash() {
        let a = Idempotency::new(Some("k1"), Uuid::nil(), "POST /x".into(), vec![]);
        let b = Idempotency::new(Some("k2"), Uuid::nil(), "POST /x".into(), vec![]);
        assert_ne!(a.pad, b.pad);
        assert_ne!(a.pad.to_vec(), a.key.unwrap().key_hash);
    }
}
