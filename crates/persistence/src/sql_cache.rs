//! Statements whose SQL is written once per backend and reused with each call's values.

use std::sync::OnceLock;

use sea_orm::{DbBackend, Statement, Value};

/// The SQL of a statement that SeaORM writes the same way whatever its values, written
/// once per backend; each use binds its own values. SeaORM building a select of 19
/// columns and its condition, and sea-query writing it out, was ~15% of a get's
/// instructions (docs/performance.md). Each user's tests hold its cached statements equal
/// to ones built afresh.
pub(crate) struct SqlCache {
    postgres: OnceLock<String>,
    sqlite: OnceLock<String>,
}

impl SqlCache {
    pub(crate) const fn new() -> Self {
        Self {
            postgres: OnceLock::new(),
            sqlite: OnceLock::new(),
        }
    }

    /// `build`'s statement, with `values`: they must be the values `build` binds, in its
    /// order. Other backends than PostgreSQL and SQLite get `build`'s own.
    pub(crate) fn statement(
        &self,
        backend: DbBackend,
        values: Vec<Value>,
        build: impl FnOnce() -> Statement,
    ) -> Statement {
        match self.try_statement(backend, values, || {
            Ok::<_, std::convert::Infallible>(build())
        }) {
            Ok(statement) => statement,
            Err(never) => match never {},
        }
    }

    /// [`Self::statement`] for a `build` that may fail (it is called only while the SQL is
    /// not written yet).
    pub(crate) fn try_statement<E>(
        &self,
        backend: DbBackend,
        values: Vec<Value>,
        build: impl FnOnce() -> Result<Statement, E>,
    ) -> Result<Statement, E> {
        let cell = match backend {
            DbBackend::Postgres => &self.postgres,
            DbBackend::Sqlite => &self.sqlite,
            _ => return build(),
        };
        let sql = match cell.get() {
            Some(sql) => sql,
            None => {
                let built = build()?;
                cell.get_or_init(|| built.sql)
            }
        };
        Ok(Statement::from_sql_and_values(
            backend,
            sql.as_str(),
            values,
        ))
    }
}
