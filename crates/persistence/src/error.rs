//! The one mapping of database errors to port errors.

use sea_orm::{DbErr, RuntimeErr, SqlErr};
use todo_application::ports::PortError;

/// The one translation of database errors into what the ports promise.
pub(crate) fn map_db_err(err: DbErr) -> PortError {
    if let Some(SqlErr::UniqueConstraintViolation(what)) = err.sql_err() {
        return PortError::Conflict(what);
    }
    if is_unavailable(&err) {
        return PortError::Unavailable(Box::new(err));
    }
    if let Some(hint) = sqlstate(&err).and_then(pooler_hint) {
        return PortError::Other(format!("{err} ({hint})").into());
    }
    PortError::Other(Box::new(err))
}

fn sqlstate(err: &DbErr) -> Option<String> {
    match err {
        DbErr::Exec(RuntimeErr::SqlxError(e)) | DbErr::Query(RuntimeErr::SqlxError(e)) => e
            .as_database_error()
            .and_then(|d| d.code())
            .map(|c| c.into_owned()),
        _ => None,
    }
}

/// What to do about errors that mean a connection pooler in transaction mode hands our
/// named prepared statements to other clients' server connections (or loses them).
fn pooler_hint(sqlstate: String) -> Option<&'static str> {
    // 42P05 duplicate_prepared_statement, 26000 invalid_sql_statement_name.
    matches!(sqlstate.as_str(), "42P05" | "26000").then_some(
        "a connection pooler in transaction mode without prepared-statement support sits \
         between this service and PostgreSQL: set max_prepared_statements (PgBouncer 1.21 \
         or later) or use session mode; see docs/deployment.md",
    )
}

fn is_unavailable(err: &DbErr) -> bool {
    match err {
        DbErr::ConnectionAcquire(_) | DbErr::Conn(_) => true,
        DbErr::Exec(RuntimeErr::SqlxError(e)) | DbErr::Query(RuntimeErr::SqlxError(e)) => {
            use sea_orm::sqlx::Error as E;
            matches!(
                e.as_ref(),
                E::Io(_) | E::Tls(_) | E::PoolTimedOut | E::PoolClosed | E::WorkerCrashed
            )
        }
        _ => false,
    }
}

/// A stored value this service cannot read back (a bug or a foreign write).
pub(crate) fn corrupt(what: &str, err: impl std::fmt::Display) -> PortError {
    PortError::Other(format!("stored {what} is invalid: {err}").into())
}

#[cfg(test)]
mod tests {
    use super::pooler_hint;

    #[test]
    fn prepared_statement_clashes_point_at_the_pooler() {
        for code in ["42P05", "26000"] {
            let hint = pooler_hint(code.to_owned());
            assert!(
                hint.is_some_and(|h| h.contains("max_prepared_statements")),
                "{code}: {hint:?}"
            );
        }
        assert_eq!(pooler_hint("23505".to_owned()), None);
        assert_eq!(pooler_hint("57P01".to_owned()), None);
    }
}
