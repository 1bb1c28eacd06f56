//! What a user owns, counted for the per-owner limits (lists, webhooks).

use sea_orm::{ConnectionTrait, DbBackend};
use todo_application::ports::PortError;
use todo_domain::UserId;

use crate::error::map_db_err;
use crate::raw::Raw;

/// How many rows of `table` (one with an `owner_id` column) `owner` has. On PostgreSQL it
/// first locks the owner's user row (`FOR NO KEY UPDATE`) until the transaction ends, so
/// that two inserts of one owner take turns and the second counts the first's row; on
/// SQLite the write transaction already makes them. For the per-owner limits.
pub(crate) async fn count_owned_locked(
    conn: &impl ConnectionTrait,
    owner: &UserId,
    table: &str,
) -> Result<i64, PortError> {
    let backend = conn.get_database_backend();
    if backend == DbBackend::Postgres {
        let mut raw = Raw::new(backend);
        let sql = format!(
            r#"SELECT id FROM "user" WHERE id = {} FOR NO KEY UPDATE"#,
            raw.p(owner.as_str())
        );
        conn.query_one_raw(raw.statement(sql))
            .await
            .map_err(map_db_err)?;
    }
    let mut raw = Raw::new(backend);
    let sql = format!(
        "SELECT CAST(COUNT(*) AS BIGINT) AS n FROM {table} WHERE owner_id = {}",
        raw.p(owner.as_str())
    );
    match conn
        .query_one_raw(raw.statement(sql))
        .await
        .map_err(map_db_err)?
    {
        Some(row) => row.try_get("", "n").map_err(map_db_err),
        None => Ok(0),
    }
}
