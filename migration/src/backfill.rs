//! Filling in derived columns of existing `task` rows, in Rust, exactly as the service
//! computes them, a batch at a time.

use sea_orm_migration::prelude::*;
use sea_orm_migration::sea_orm::{DbBackend, QueryResult, Statement, Value};

/// Rows read and written per round trip.
const BATCH: usize = 200;

/// Numbered (`$1`, PostgreSQL) or positional (`?`, SQLite) statement parameters.
struct Params {
    postgres: bool,
    count: usize,
}

impl Params {
    fn new(postgres: bool) -> Self {
        Self { postgres, count: 0 }
    }

    fn next(&mut self) -> String {
        self.count += 1;
        if self.postgres {
            format!("${}", self.count)
        } else {
            "?".to_owned()
        }
    }
}

/// Gives every `task` row that `pending` (an SQL condition) selects the values `compute`
/// derives from its `columns` for the columns `set`, in that order. Rows are taken a batch
/// at a time in the order of a row key — the id on PostgreSQL, the rowid on SQLite (whose
/// ids are blobs) — and each batch is written with one `UPDATE … FROM (VALUES …)`.
/// `pending` must no longer select a row once it has been written.
pub(crate) async fn backfill_tasks(
    manager: &SchemaManager<'_>,
    columns: &str,
    pending: &str,
    set: &[&str],
    compute: impl Fn(&QueryResult) -> Result<Vec<Value>, DbErr>,
) -> Result<(), DbErr> {
    let db = manager.get_connection();
    let backend = db.get_database_backend();
    let postgres = backend == DbBackend::Postgres;
    let (key, key_type) = if postgres {
        ("id", "uuid")
    } else {
        ("rowid", "INTEGER")
    };
    let mut after: Option<String> = None;
    loop {
        let mut params = Params::new(postgres);
        let mut sql =
            format!("SELECT CAST({key} AS TEXT) AS k, {columns} FROM task WHERE {pending}");
        let mut values = Vec::new();
        if let Some(last) = after.take() {
            sql.push_str(&format!(
                " AND {key} > CAST({} AS {key_type})",
                params.next()
            ));
            values.push(Value::from(last));
        }
        sql.push_str(&format!(" ORDER BY {key} LIMIT {BATCH}"));
        let rows = db
            .query_all_raw(Statement::from_sql_and_values(backend, sql, values))
            .await?;
        if rows.is_empty() {
            return Ok(());
        }
        let mut params = Params::new(postgres);
        let mut tuples = Vec::with_capacity(rows.len());
        let mut values = Vec::with_capacity(rows.len() * (set.len() + 1));
        for row in &rows {
            let k: String = row.try_get("", "k")?;
            let computed = compute(row)?;
            let mut tuple = format!("(CAST({} AS {key_type})", params.next());
            for _ in &computed {
                tuple.push_str(", ");
                tuple.push_str(&params.next());
            }
            tuple.push(')');
            tuples.push(tuple);
            values.push(Value::from(k.clone()));
            values.extend(computed);
            after = Some(k);
        }
        // Both backends name the columns of a VALUES list column1, column2, …
        let assignments: Vec<String> = set
            .iter()
            .enumerate()
            .map(|(i, column)| format!("{column} = v.column{}", i + 2))
            .collect();
        let sql = format!(
            "UPDATE task SET {} FROM (VALUES {}) AS v WHERE task.{key} = v.column1",
            assignments.join(", "),
            tuples.join(", ")
        );
        db.execute_raw(Statement::from_sql_and_values(backend, sql, values))
            .await?;
        if rows.len() < BATCH {
            return Ok(());
        }
    }
}
