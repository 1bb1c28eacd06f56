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
    PortError::Other(Box::new(err))
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
