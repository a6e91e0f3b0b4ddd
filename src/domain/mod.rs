//! Pure types and rules: no I/O here, so every rule is unit-tested directly.

pub mod access;
pub mod account;
pub mod assessment;
pub mod audit;
pub mod boundary;
pub mod bounds;
pub mod campaign;
pub mod category;
pub mod chinacoords;
pub mod codes;
pub mod count;
pub mod cql2;
pub mod crs;
pub mod department;
pub mod evidence;
pub mod export;
pub mod fields;
pub mod filter;
pub mod geometry;
pub mod import;
pub mod ledger;
pub mod messages;
pub mod mvt;
pub mod mvt_geom;
pub mod ogc;
pub mod ogc_crs;
pub mod password;
pub mod photo;
pub mod reminder;
pub mod review;
pub mod rollup;
pub mod roster;
pub mod sealed;
pub mod stage;
pub mod task;
pub mod text;
pub mod tile;
pub mod township;
pub mod two_factor;
pub mod wkb;
pub mod workflow;

use serde::Serialize;
use serde_json::{Map, Value};

pub use messages::{Code, Lang};

/// A refusal not yet placed at a field: its code, the parameters its words need, and the English
/// sentence. Value readers return one; the reader of the whole input knows where it goes (`at`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Message {
    pub code: Code,
    pub params: Map<String, Value>,
    pub detail: String,
}

impl Message {
    pub fn new(code: Code, detail: impl Into<String>) -> Self {
        Self { code, params: Map::new(), detail: detail.into() }
    }

    /// Adds the parameter `key` (a number, a string, a list).
    pub fn with(mut self, key: &str, value: impl Into<Value>) -> Self {
        self.params.insert(key.to_owned(), value.into());
        self
    }

    /// The refusal placed at `pointer`.
    pub fn at(self, pointer: impl Into<String>) -> FieldError {
        FieldError { pointer: pointer.into(), code: self.code, params: self.params, detail: self.detail }
    }

    /// The words in `lang`: English as written where the refusal was made, Chinese from the table.
    pub fn render(&self, lang: Lang) -> String {
        match lang {
            Lang::En => self.detail.clone(),
            Lang::Zh => messages::render(self.code, &self.params, lang),
        }
    }
}

impl std::fmt::Display for Message {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.detail)
    }
}

/// One problem with one part of the input.
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct FieldError {
    /// JSON pointer into the request body (`/properties/progress`, `/geometry/coordinates/0/3/1`),
    /// or the query parameter name for query strings.
    pub pointer: String,
    /// What kind of problem it is: a client words it from `code` and `params` in its own language.
    pub code: Code,
    /// The values the words need, by name (e.g. `min`, `max`, `got`; `allowed`: a list).
    #[schema(value_type = Object)]
    pub params: Map<String, Value>,
    /// The problem in words, in the language the request prefers (`Accept-Language`).
    pub detail: String,
}

impl FieldError {
    pub fn new(pointer: impl Into<String>, code: Code, detail: impl Into<String>) -> Self {
        Message::new(code, detail).at(pointer)
    }

    /// Adds the parameter `key` (a number, a string, a list).
    pub fn with(mut self, key: &str, value: impl Into<Value>) -> Self {
        self.params.insert(key.to_owned(), value.into());
        self
    }

    /// The same refusal at another pointer (e.g. below `/features/3` of an import).
    pub fn moved(self, pointer: impl Into<String>) -> FieldError {
        FieldError { pointer: pointer.into(), ..self }
    }

    /// The words in `lang` (see `Message::render`).
    pub fn render(&self, lang: Lang) -> String {
        match lang {
            Lang::En => self.detail.clone(),
            Lang::Zh => messages::render(self.code, &self.params, lang),
        }
    }

    /// The refusal with its `detail` in `lang`, as an answer carries it.
    pub fn localized(&self, lang: Lang) -> FieldError {
        FieldError { detail: self.render(lang), ..self.clone() }
    }
}
