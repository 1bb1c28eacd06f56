//! Statements written as SQL text, with their values bound in order of appearance.

use sea_orm::{
    ConnectionTrait, DatabaseConnection, DatabaseTransaction, DbBackend, SqliteTransactionMode,
    Statement, TransactionOptions, TransactionTrait, Value,
};
use todo_application::ports::PortError;

use crate::error::map_db_err;

/// The values of one statement: each [`Raw::p`] binds the next one and returns its
/// placeholder (`$n` on PostgreSQL, `?` on SQLite), so call it in the order the
/// placeholders appear in the text.
pub(crate) struct Raw {
    backend: DbBackend,
    values: Vec<Value>,
}

impl Raw {
    pub(crate) const fn new(backend: DbBackend) -> Self {
        Self {
            backend,
            values: Vec::new(),
        }
    }

    pub(crate) fn p(&mut self, value: impl Into<Value>) -> String {
        self.values.push(value.into());
        if self.backend == DbBackend::Postgres {
            format!("${}", self.values.len())
        } else {
            "?".to_owned()
        }
    }

    pub(crate) fn statement(self, sql: impl Into<String>) -> Statement {
        Statement::from_sql_and_values(self.backend, sql.into(), self.values)
    }

    /// Runs `sql` with these values on `conn`: how many rows it wrote.
    pub(crate) async fn run(
        self,
        conn: &impl ConnectionTrait,
        sql: impl Into<String>,
    ) -> Result<u64, PortError> {
        Ok(conn
            .execute_raw(self.statement(sql))
            .await
            .map_err(map_db_err)?
            .rows_affected())
    }
}

/// ` FOR UPDATE` on PostgreSQL (a row lock that makes writes to one list take turns);
/// nothing on SQLite, whose write transactions already do.
pub(crate) fn for_update(backend: DbBackend) -> &'static str {
    if backend == DbBackend::Postgres {
        " FOR UPDATE"
    } else {
        ""
    }
}

/// A transaction that writes: on SQLite `BEGIN IMMEDIATE`, which takes the write lock
/// before the first read, so that a transaction reading before it writes neither fails
/// to upgrade its lock nor acts on what another writer changed meanwhile; on PostgreSQL
/// a plain transaction.
pub(crate) async fn begin_write(db: &DatabaseConnection) -> Result<DatabaseTransaction, PortError> {
    db.begin_with_options(TransactionOptions {
        sqlite_transaction_mode: Some(SqliteTransactionMode::Immediate),
        ..TransactionOptions::default()
    })
    .await
    .map_err(map_db_err)
}
