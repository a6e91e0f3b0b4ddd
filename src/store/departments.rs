//! Responsible departments: rows the administrator keeps, like the task families. A retired
//! department keeps its tasks and accounts; the tasks' trigger (migrations/0020) refuses to give it
//! new ones.

use serde::Serialize;

use super::{Db, StoreError, StoreResult};
use crate::domain::department::{DepartmentChange, NewDepartment};

/// A responsible department (牵头单位 / 配合单位).
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct Department {
    #[schema(example = "water")]
    pub code: String,
    #[schema(example = "水利局")]
    pub name_zh: String,
    #[schema(example = "Water Resources Bureau")]
    pub name_en: String,
    /// Departments are listed in this order (then by code).
    pub sort_order: i32,
    /// A retired department keeps its tasks but is given no new ones.
    pub retired: bool,
}

/// Every department, retired ones included (their tasks still name them).
pub async fn list<'e>(conn: impl sqlx::PgExecutor<'e>) -> Result<Vec<Department>, sqlx::Error> {
    sqlx::query_as!(
        Department,
        r#"SELECT code, name_zh, name_en, sort_order, retired_at IS NOT NULL AS "retired!"
           FROM departments ORDER BY sort_order, code"#
    )
    .fetch_all(conn)
    .await
}

/// (code, name in Chinese, name in English) of every department, for reading names in files.
pub async fn names(db: &Db) -> Result<Vec<(String, String, String)>, sqlx::Error> {
    Ok(list(db).await?.into_iter().map(|d| (d.code, d.name_zh, d.name_en)).collect())
}

async fn get<'e>(conn: impl sqlx::PgExecutor<'e>, code: &str) -> StoreResult<Department> {
    sqlx::query_as!(
        Department,
        r#"SELECT code, name_zh, name_en, sort_order, retired_at IS NOT NULL AS "retired!"
           FROM departments WHERE code = $1"#,
        code
    )
    .fetch_optional(conn)
    .await?
    .ok_or_else(|| StoreError::NotFound(format!("there is no department '{code}'")))
}

/// Adds a department (after the others unless it says where), in the caller's transaction.
pub async fn create(conn: &mut sqlx::PgConnection, d: &NewDepartment) -> StoreResult<Department> {
    sqlx::query!(
        "INSERT INTO departments (code, name_zh, name_en, sort_order)
         VALUES ($1, $2, $3, coalesce($4, (SELECT coalesce(max(sort_order), 0) + 1 FROM departments)))",
        d.code,
        d.name_zh,
        d.name_en,
        d.sort_order
    )
    .execute(&mut *conn)
    .await
    .map_err(|e| match &e {
        sqlx::Error::Database(db) if db.constraint() == Some("departments_pkey") => {
            StoreError::Conflict(format!("there is already a department with the code '{}'", d.code))
        }
        _ => e.into(),
    })?;
    get(&mut *conn, &d.code).await
}

pub async fn update(db: &Db, code: &str, c: &DepartmentChange) -> StoreResult<Department> {
    let done = sqlx::query!(
        "UPDATE departments SET name_zh = coalesce($2, name_zh), name_en = coalesce($3, name_en),
                sort_order = coalesce($4, sort_order),
                retired_at = CASE WHEN $5::boolean IS NULL THEN retired_at
                                  WHEN $5 THEN coalesce(retired_at, now()) END
         WHERE code = $1",
        code,
        c.name_zh,
        c.name_en,
        c.sort_order,
        c.retired
    )
    .execute(db)
    .await?;
    if done.rows_affected() == 0 {
        return Err(StoreError::NotFound(format!("there is no department '{code}'")));
    }
    get(db, code).await
}
