use serde::Serialize;

use super::Db;

/// A task family (category). Rows, not code: a bureau adds one without a release.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct Category {
    #[schema(example = "watershed")]
    pub code: String,
    /// Prefix of task codes in this family, e.g. `WS` in `WS-2026-0042`.
    #[schema(example = "WS")]
    pub prefix: String,
    #[schema(example = "重点流域水环境整治")]
    pub name_zh: String,
    #[schema(example = "Watershed clean-up")]
    pub name_en: String,
    #[schema(example = "#1f78b4")]
    pub color: String,
}

pub async fn list(db: &Db) -> Result<Vec<Category>, sqlx::Error> {
    sqlx::query_as!(Category, "SELECT code, prefix, name_zh, name_en, color FROM categories ORDER BY sort_order, code")
        .fetch_all(db)
        .await
}
