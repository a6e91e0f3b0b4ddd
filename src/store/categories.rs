//! Task families (categories): rows, not code, so a bureau adds, renames, recolours and retires
//! them without a release. A retired family keeps its tasks; the tasks' trigger (migrations/0012)
//! refuses new ones in it.

use serde::Serialize;

use super::{Db, StoreError, StoreResult};
use crate::domain::category::{self, CategoryChange, NewCategory};

/// A task family (category).
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
    /// Families are listed in this order (then by code).
    pub sort_order: i32,
    /// A retired family keeps its tasks (shown, filtered, exported, rolled up) but takes no new ones.
    pub retired: bool,
    /// A report photo taken farther than this from the task is flagged `far` (metres).
    pub photo_far_m: i32,
    /// Reporting completion needs a photo of the finished work (整改后).
    pub require_after_photo: bool,
    /// Reporting the work started needs a photo of the site before it (整改前).
    pub require_before_photo: bool,
}

/// Every family, retired ones included (their tasks are still shown and filtered).
pub async fn list(db: &Db) -> Result<Vec<Category>, sqlx::Error> {
    sqlx::query_as!(
        Category,
        r#"SELECT code, prefix, name_zh, name_en, color, sort_order, retired_at IS NOT NULL AS "retired!",
                  photo_far_m, require_after_photo, require_before_photo
           FROM categories ORDER BY sort_order, code"#
    )
    .fetch_all(db)
    .await
}

async fn get<'e>(conn: impl sqlx::PgExecutor<'e>, code: &str) -> Result<Option<Category>, sqlx::Error> {
    sqlx::query_as!(
        Category,
        r#"SELECT code, prefix, name_zh, name_en, color, sort_order, retired_at IS NOT NULL AS "retired!",
                  photo_far_m, require_after_photo, require_before_photo
           FROM categories WHERE code = $1"#,
        code
    )
    .fetch_optional(conn)
    .await
}

/// A unique key refused the family: which one, in words.
fn taken(err: sqlx::Error, code: &str, prefix: &str) -> StoreError {
    match &err {
        sqlx::Error::Database(d) if d.constraint() == Some("categories_pkey") => {
            StoreError::Conflict(format!("there is already a family with the code '{code}'"))
        }
        sqlx::Error::Database(d) if d.constraint() == Some("categories_prefix_key") => {
            StoreError::Conflict(format!("the task code prefix '{prefix}' is another family's"))
        }
        _ => err.into(),
    }
}

/// Adds a family (after the others unless it says where), in the caller's transaction.
pub async fn create(conn: &mut sqlx::PgConnection, f: &NewCategory) -> StoreResult<Category> {
    sqlx::query!(
        "INSERT INTO categories (code, prefix, name_zh, name_en, color, sort_order)
         VALUES ($1, $2, $3, $4, $5, coalesce($6, (SELECT coalesce(max(sort_order), 0) + 1 FROM categories)))",
        f.code,
        f.prefix,
        f.name_zh,
        f.name_en,
        f.color,
        f.sort_order
    )
    .execute(&mut *conn)
    .await
    .map_err(|e| taken(e, &f.code, &f.prefix))?;
    get(&mut *conn, &f.code).await?.ok_or_else(|| StoreError::NotFound(format!("there is no family '{}'", f.code)))
}

/// Changes a family. Its code and prefix change only while no task uses it: the row is locked
/// first, which makes a concurrent insert of a task in it (whose foreign key takes a share lock on
/// the row) wait, so the count cannot miss one.
pub async fn update(db: &Db, code: &str, c: &CategoryChange) -> StoreResult<Category> {
    let mut tx = super::begin(db).await?;
    let current = sqlx::query!("SELECT prefix FROM categories WHERE code = $1 FOR UPDATE", code)
        .fetch_optional(&mut *tx)
        .await?
        .ok_or_else(|| StoreError::NotFound(format!("there is no task family '{code}'")))?;
    let new_code = c.code.as_deref().filter(|x| *x != code);
    let new_prefix = c.prefix.as_deref().filter(|x| *x != current.prefix);
    if new_code.is_some() || new_prefix.is_some() {
        let tasks = sqlx::query_scalar!(r#"SELECT count(*) AS "n!" FROM tasks WHERE category = $1"#, code)
            .fetch_one(&mut *tx)
            .await?;
        if tasks > 0 {
            let locked = [("code", new_code), ("prefix", new_prefix)]
                .into_iter()
                .filter(|(_, x)| x.is_some())
                .map(|(field, _)| category::locked(field, code, &current.prefix, tasks))
                .collect();
            return Err(StoreError::Invalid(locked));
        }
        // No task holds a number of this family: its counters (left by tasks removed in psql) go.
        sqlx::query!("DELETE FROM task_code_counters WHERE category = $1", code).execute(&mut *tx).await?;
    }
    let to = new_code.unwrap_or(code);
    sqlx::query!(
        "UPDATE categories SET code = $2, prefix = coalesce($3, prefix), name_zh = coalesce($4, name_zh),
                name_en = coalesce($5, name_en), color = coalesce($6, color), sort_order = coalesce($7, sort_order),
                retired_at = CASE WHEN $8::boolean IS NULL THEN retired_at
                                  WHEN $8 THEN coalesce(retired_at, now()) END,
                photo_far_m = coalesce($9, photo_far_m), require_after_photo = coalesce($10, require_after_photo),
                require_before_photo = coalesce($11, require_before_photo)
         WHERE code = $1",
        code,
        to,
        new_prefix,
        c.name_zh,
        c.name_en,
        c.color,
        c.sort_order,
        c.retired,
        c.photo_far_m,
        c.require_after_photo,
        c.require_before_photo
    )
    .execute(&mut *tx)
    .await
    .map_err(|e| taken(e, to, new_prefix.unwrap_or_default()))?;
    let family = get(&mut *tx, to).await?.ok_or_else(|| StoreError::NotFound(format!("there is no family '{to}'")))?;
    tx.commit().await?;
    Ok(family)
}
