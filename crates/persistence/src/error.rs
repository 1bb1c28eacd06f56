//! The one mapping of database errors to port errors.

use std::error::Error as StdError;
use std::io;

use sea_orm::sqlx::Error as SqlxError;
use sea_orm::{DbErr, RuntimeErr, SqlErr};
use todo_application::ports::PortError;

use crate::went_away;

/// The one translation of database errors into what the ports promise.
///
/// A server that went away (restart, failover, crash, a lost network) is `Unavailable`,
/// however the driver reports it, and is remembered so that the pools test the
/// connections that were idle meanwhile before handing them out again (see
/// [`went_away`]).
pub(crate) fn map_db_err(err: DbErr) -> PortError {
    if let Some(SqlErr::UniqueConstraintViolation(what)) = err.sql_err() {
        return PortError::Conflict(what);
    }
    if connection_lost(&err) {
        went_away::record();
        return PortError::Unavailable(Box::new(err));
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

/// The database cannot be reached or has no connection to spare: the pool timed out or is
/// closed, a connection could not be opened.
fn is_unavailable(err: &DbErr) -> bool {
    match err {
        DbErr::ConnectionAcquire(_) | DbErr::Conn(_) => true,
        DbErr::Exec(RuntimeErr::SqlxError(e)) | DbErr::Query(RuntimeErr::SqlxError(e)) => {
            matches!(
                e.as_ref(),
                SqlxError::Tls(_)
                    | SqlxError::PoolTimedOut
                    | SqlxError::PoolClosed
                    | SqlxError::WorkerCrashed
            )
        }
        _ => false,
    }
}

/// The server went away under a connection: it was shut down or restarted (57P01
/// admin_shutdown, 57P02 crash_shutdown, 57P03 cannot_connect_now), the connection broke
/// (class 08, connection exception), or the socket failed (broken pipe, reset, refused,
/// end of file, or any other I/O error), or the connection no longer speaks the protocol;
/// on connecting (`Conn`) or on a statement (`Exec`, `Query`) alike.
fn connection_lost(err: &DbErr) -> bool {
    match err {
        DbErr::Conn(RuntimeErr::SqlxError(e))
        | DbErr::Exec(RuntimeErr::SqlxError(e))
        | DbErr::Query(RuntimeErr::SqlxError(e)) => sqlx_connection_lost(e),
        _ => false,
    }
}

fn sqlx_connection_lost(err: &SqlxError) -> bool {
    match err {
        SqlxError::Io(_) | SqlxError::Protocol(_) => true,
        SqlxError::Database(db) => db.code().is_some_and(|code| server_went_away(&code)),
        other => io_error_in(other),
    }
}

/// SQLSTATEs that mean "this connection is gone; a new one may work".
fn server_went_away(sqlstate: &str) -> bool {
    // Class 08: connection exception (08000, 08003, 08006, 08001, 08004, 08007, 08P01).
    sqlstate.starts_with("08") || matches!(sqlstate, "57P01" | "57P02" | "57P03")
}

/// Whether an I/O error of a lost connection is somewhere in the error's causes (a TLS
/// stream, for one, wraps the socket's error).
fn io_error_in(err: &(dyn StdError + 'static)) -> bool {
    let mut cause = err.source();
    while let Some(e) = cause {
        if let Some(io) = e.downcast_ref::<io::Error>() {
            return matches!(
                io.kind(),
                io::ErrorKind::BrokenPipe
                    | io::ErrorKind::ConnectionReset
                    | io::ErrorKind::ConnectionAborted
                    | io::ErrorKind::ConnectionRefused
                    | io::ErrorKind::NotConnected
                    | io::ErrorKind::UnexpectedEof
            );
        }
        cause = e.source();
    }
    false
}

/// A stored value this service cannot read back (a bug or a foreign write).
pub(crate) fn corrupt(what: &str, err: impl std::fmt::Display) -> PortError {
    PortError::Other(format!("stored {what} is invalid: {err}").into())
}

#[cfg(test)]
mod tests {
    use std::borrow::Cow;
    use std::sync::Arc;

    use sea_orm::sqlx::error::{DatabaseError, ErrorKind};

    use super::*;

    /// An error the server returned, as sqlx reports it: only its SQLSTATE matters here
    /// (sqlx's PostgreSQL error type cannot be built outside sqlx; the adapter tests meet
    /// the real one from a live server).
    #[derive(Debug)]
    struct ServerError(&'static str);

    impl std::fmt::Display for ServerError {
        fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            write!(f, "server error {}", self.0)
        }
    }

    impl StdError for ServerError {}

    impl DatabaseError for ServerError {
        fn message(&self) -> &str {
            "server error"
        }
        fn code(&self) -> Option<Cow<'_, str>> {
            Some(Cow::Borrowed(self.0))
        }
        fn as_error(&self) -> &(dyn StdError + Send + Sync + 'static) {
            self
        }
        fn as_error_mut(&mut self) -> &mut (dyn StdError + Send + Sync + 'static) {
            self
        }
        fn into_error(self: Box<Self>) -> Box<dyn StdError + Send + Sync + 'static> {
            self
        }
        fn kind(&self) -> ErrorKind {
            ErrorKind::Other
        }
    }

    /// `err` as SeaORM reports it from connecting, executing and querying.
    fn every_wrapping(err: impl Fn() -> SqlxError) -> [DbErr; 3] {
        [
            DbErr::Conn(RuntimeErr::SqlxError(Arc::new(err()))),
            DbErr::Exec(RuntimeErr::SqlxError(Arc::new(err()))),
            DbErr::Query(RuntimeErr::SqlxError(Arc::new(err()))),
        ]
    }

    fn assert_unavailable(err: DbErr) {
        let shown = err.to_string();
        assert!(
            matches!(map_db_err(err), PortError::Unavailable(_)),
            "{shown} should be Unavailable"
        );
    }

    fn assert_other(err: DbErr) {
        let shown = err.to_string();
        assert!(
            matches!(map_db_err(err), PortError::Other(_)),
            "{shown} should be Other"
        );
    }

    #[test]
    fn a_server_shut_down_or_starting_is_unavailable() {
        // 57P01 admin_shutdown (pg_ctl stop -m fast, pg_terminate_backend, a managed
        // database's restart or failover), 57P02 crash_shutdown, 57P03 cannot_connect_now.
        for code in ["57P01", "57P02", "57P03"] {
            for err in every_wrapping(|| SqlxError::Database(Box::new(ServerError(code)))) {
                assert!(connection_lost(&err), "{code}: {err}");
                assert_unavailable(err);
            }
        }
    }

    #[test]
    fn every_connection_exception_is_unavailable() {
        for code in [
            "08000", "08003", "08006", "08001", "08004", "08007", "08P01",
        ] {
            for err in every_wrapping(|| SqlxError::Database(Box::new(ServerError(code)))) {
                assert!(connection_lost(&err), "{code}: {err}");
                assert_unavailable(err);
            }
        }
    }

    #[test]
    fn a_broken_socket_is_unavailable() {
        use io::ErrorKind as K;
        for kind in [
            K::BrokenPipe,
            K::ConnectionReset,
            K::ConnectionAborted,
            K::ConnectionRefused,
            K::NotConnected,
            K::UnexpectedEof,
            K::TimedOut,
        ] {
            for err in every_wrapping(|| SqlxError::Io(io::Error::from(kind))) {
                assert!(connection_lost(&err), "{kind:?}: {err}");
                assert_unavailable(err);
            }
        }
    }

    #[test]
    fn a_broken_socket_under_tls_is_unavailable() {
        let err = || SqlxError::Tls(Box::new(io::Error::from(io::ErrorKind::ConnectionReset)));
        for err in every_wrapping(err) {
            assert!(connection_lost(&err), "{err}");
            assert_unavailable(err);
        }
    }

    #[test]
    fn a_connection_out_of_step_with_the_protocol_is_unavailable() {
        let err =
            || SqlxError::Protocol("expecting ParseComplete but received ErrorResponse".into());
        for err in every_wrapping(err) {
            assert!(connection_lost(&err), "{err}");
            assert_unavailable(err);
        }
    }

    #[test]
    fn no_connection_to_be_had_is_unavailable_but_not_a_lost_connection() {
        for err in [
            DbErr::ConnectionAcquire(sea_orm::ConnAcquireErr::Timeout),
            DbErr::ConnectionAcquire(sea_orm::ConnAcquireErr::ConnectionClosed),
            DbErr::Exec(RuntimeErr::SqlxError(Arc::new(SqlxError::PoolTimedOut))),
            DbErr::Query(RuntimeErr::SqlxError(Arc::new(SqlxError::PoolClosed))),
        ] {
            assert!(!connection_lost(&err), "{err}");
            assert_unavailable(err);
        }
    }

    #[test]
    fn errors_of_the_statement_are_not_unavailable() {
        // 57014 query_canceled (statement_timeout), 40001 serialization_failure,
        // 42P01 undefined_table, 22001 string_data_right_truncation, 53100 disk_full.
        for code in ["57014", "40001", "42P01", "22001", "53100"] {
            let err = || SqlxError::Database(Box::new(ServerError(code)));
            let exec = DbErr::Exec(RuntimeErr::SqlxError(Arc::new(err())));
            assert!(!connection_lost(&exec), "{code}");
            assert_other(exec);
            assert_other(DbErr::Query(RuntimeErr::SqlxError(Arc::new(err()))));
        }
        assert_other(DbErr::Query(RuntimeErr::SqlxError(Arc::new(
            SqlxError::RowNotFound,
        ))));
        assert_other(DbErr::Type("task.due: bad".to_owned()));
    }

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
