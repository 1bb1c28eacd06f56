//! The hot statements on PostgreSQL, run straight on the pool SeaORM holds (its sqlx
//! `PgPool`, with the same before-acquire checks), and their rows handed back as SeaORM's
//! `QueryResult`s; every other backend goes through SeaORM's connection as before.
//!
//! Why: SeaORM's `DatabaseConnection::query_*_raw` wraps the sqlx call in two nested
//! futures sized for every backend it supports, which are copied whole at each step: about
//! 30 000 instructions of `memcpy` per statement, a seventh of a get (issue 18,
//! docs/performance.md). The statement, its values and the row decoding are SeaORM's; only
//! the dispatch is skipped. A test holds both paths to the same rows.

use sea_orm::sqlx::{self, postgres::Postgres};
use sea_orm::{ConnAcquireErr, ConnectionTrait, DbErr, QueryResult, RuntimeErr, Statement};
use sea_query_sqlx::SqlxValues;

use crate::db::Conn;
use crate::kept::KeptConn;

/// A statement as sqlx runs it: SeaORM's own construction, the values moved out of the
/// statement (SeaORM clones them: a statement is run once here).
fn query(
    sql: &str,
    values: Option<sea_orm::Values>,
) -> sqlx::query::Query<'_, Postgres, SqlxValues> {
    let values = values.unwrap_or(sea_orm::Values(Vec::new()));
    sqlx::query_with(sqlx::AssertSqlSafe(sql), SqlxValues(values))
}

fn query_err(err: sqlx::Error) -> DbErr {
    DbErr::Query(RuntimeErr::SqlxError(err.into()))
}

fn exec_err(err: sqlx::Error) -> DbErr {
    DbErr::Exec(RuntimeErr::SqlxError(err.into()))
}

/// A connection for the statement: one this thread kept from its last statement
/// ([`crate::kept`]), or else one of `pool`, its failure told as SeaORM tells it. Taken first
/// and the statement run on it, as SeaORM does: run on the pool itself, sqlx wraps the
/// acquisition and the statement in one stream whose future cost 15k instructions of
/// `memcpy` a create.
async fn acquire(db: &Conn, pool: &sqlx::PgPool) -> Result<KeptConn, DbErr> {
    if let Some(kept) = db.take_kept() {
        return Ok(kept);
    }
    // Boxed: sqlx's acquisition is a 4 KB future, which every statement's future (and each
    // one holding it) would otherwise carry and copy at each step, kept connection or not.
    Box::pin(wait_for_one(db, pool))
        .await
        .map_err(|err| match err {
            sqlx::Error::PoolTimedOut => DbErr::ConnectionAcquire(ConnAcquireErr::Timeout),
            sqlx::Error::PoolClosed => DbErr::ConnectionAcquire(ConnAcquireErr::ConnectionClosed),
            other => DbErr::Conn(RuntimeErr::SqlxError(other.into())),
        })
}

/// A connection from the pool or, when sooner, from a statement of this thread done with
/// its own (first come, first served: [`crate::kept`]).
async fn wait_for_one(db: &Conn, pool: &sqlx::PgPool) -> Result<KeptConn, sqlx::Error> {
    let from_pool = pool.acquire();
    let Some(mut handed) = db.wait_for_kept() else {
        return from_pool.await.map(KeptConn::taken);
    };
    tokio::pin!(from_pool);
    tokio::select! {
        biased;
        conn = &mut handed => match conn {
            Ok(conn) => Ok(conn),
            // The thread's keeper is gone (its pool closing): the pool answers.
            Err(_) => from_pool.await.map(KeptConn::taken),
        },
        conn = &mut from_pool => {
            // One handed over at the same moment goes on to the next waiting statement, or
            // is kept.
            handed.close();
            if let Ok(extra) = handed.try_recv() {
                db.keep(extra);
            }
            conn.map(KeptConn::taken)
        }
    }
}

/// The connection of a statement that has run: when it ran to its end without an error,
/// handed to the thread's first waiting statement or kept for its next ([`Conn::keep`]),
/// otherwise back to the pool, through its test.
fn done<T>(db: &Conn, conn: KeptConn, result: Result<T, sqlx::Error>) -> Result<T, sqlx::Error> {
    if result.is_ok() {
        db.keep(conn);
    }
    result
}

/// The first row of `stmt`, if any.
pub(crate) async fn one(db: &Conn, stmt: Statement) -> Result<Option<QueryResult>, DbErr> {
    let Some(pool) = db.postgres_pool() else {
        return db.query_one_raw(stmt).await;
    };
    let mut conn = acquire(db, pool).await?;
    let found = query(&stmt.sql, stmt.values)
        .fetch_optional(&mut **conn.conn())
        .await;
    done(db, conn, found)
        .map(|row| row.map(QueryResult::from))
        .map_err(query_err)
}

/// Every row of `stmt`.
pub(crate) async fn all(db: &Conn, stmt: Statement) -> Result<Vec<QueryResult>, DbErr> {
    let Some(pool) = db.postgres_pool() else {
        return db.query_all_raw(stmt).await;
    };
    let mut conn = acquire(db, pool).await?;
    let rows = query(&stmt.sql, stmt.values)
        .fetch_all(&mut **conn.conn())
        .await;
    done(db, conn, rows)
        .map(|rows| rows.into_iter().map(QueryResult::from).collect())
        .map_err(query_err)
}

/// How many rows `stmt` wrote.
pub(crate) async fn execute(db: &Conn, stmt: Statement) -> Result<u64, DbErr> {
    let Some(pool) = db.postgres_pool() else {
        return db.execute_raw(stmt).await.map(|r| r.rows_affected());
    };
    let mut conn = acquire(db, pool).await?;
    let written = query(&stmt.sql, stmt.values)
        .execute(&mut **conn.conn())
        .await;
    done(db, conn, written)
        .map(|r| r.rows_affected())
        .map_err(exec_err)
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use sea_orm::{DbBackend, Value};

    /// A statement with a value of each kind the task rows bind, NULLs included.
    fn values_back() -> Statement {
        Statement::from_sql_and_values(
            DbBackend::Postgres,
            "SELECT $1::uuid AS id, $2::text AS name, $3::text AS none, \
             $4::timestamptz AS at, $5::bool AS yes, $6::int8 AS n \
             FROM generate_series(1, 3) AS g",
            [
                Value::from(uuid::Uuid::from_u128(7)),
                Value::from("alice \u{e9}"),
                Value::String(None),
                Value::from(chrono::DateTime::from_timestamp(1_700_000_000, 123_000).unwrap()),
                Value::from(true),
                Value::from(-5_i64),
            ],
        )
    }

    fn decoded(rows: &[QueryResult]) -> Vec<String> {
        rows.iter()
            .map(|r| {
                format!(
                    "{:?}",
                    (
                        r.try_get::<uuid::Uuid>("", "id").unwrap(),
                        r.try_get::<String>("", "name").unwrap(),
                        r.try_get::<Option<String>>("", "none").unwrap(),
                        r.try_get::<chrono::DateTime<chrono::Utc>>("", "at")
                            .unwrap(),
                        r.try_get::<bool>("", "yes").unwrap(),
                        r.try_get::<i64>("", "n").unwrap(),
                    )
                )
            })
            .collect()
    }

    /// Every repository operation's future holds its statement's, and a future is copied
    /// whole at each step of a request: with sqlx's acquisition inline (4 KB) a get copied
    /// 15 000 bytes (issue 18).
    #[tokio::test]
    async fn a_statement_is_a_small_future() {
        let db = crate::test_thread_db(1).await;
        let conn = db.conn().await.unwrap();
        let stmt = || Statement::from_string(DbBackend::Postgres, "SELECT 1");
        let sizes = [
            std::mem::size_of_val(&one(&conn, stmt())),
            std::mem::size_of_val(&all(&conn, stmt())),
            std::mem::size_of_val(&execute(&conn, stmt())),
        ];
        assert!(sizes.iter().all(|&size| size <= 512), "{sizes:?}");
    }

    /// The pool read straight gives the rows SeaORM's connection gives, and the same
    /// errors' kinds: on the shared pool, and on a thread's pool, whose connections are kept
    /// between statements.
    #[tokio::test]
    async fn straight_on_the_pool_is_what_seaorm_reads() {
        let seaorm = crate::test_postgres().await;
        for db in [
            crate::db::Db::from(seaorm.clone()),
            crate::test_thread_db(2).await,
        ] {
            let db = db.conn().await.unwrap();
            let through = seaorm.query_all_raw(values_back()).await.unwrap();
            let straight = all(&db, values_back()).await.unwrap();
            assert_eq!(decoded(&straight), decoded(&through));
            assert_eq!(straight.len(), 3);
            let first = one(&db, values_back()).await.unwrap().unwrap();
            assert_eq!(decoded(&[first]), decoded(through.get(..1).unwrap()));
            let none = Statement::from_string(DbBackend::Postgres, "SELECT 1 AS n WHERE false");
            assert!(one(&db, none).await.unwrap().is_none());
            let broken = Statement::from_string(DbBackend::Postgres, "SELECT nope");
            let err = all(&db, broken.clone()).await.unwrap_err();
            let expected = seaorm.query_all_raw(broken).await.unwrap_err();
            assert_eq!(err.to_string(), expected.to_string());
            let counted = Statement::from_string(
                DbBackend::Postgres,
                "SELECT g FROM generate_series(1, 4) AS g",
            );
            assert_eq!(execute(&db, counted).await.unwrap(), 4);
        }
    }
}
