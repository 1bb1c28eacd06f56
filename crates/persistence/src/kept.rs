//! Connections a serving thread keeps between its hot statements instead of handing each
//! back to its pool (PostgreSQL).
//!
//! sqlx tests every connection handed back to its pool with a liveness ping — a Sync and a
//! wait for ReadyForQuery, on a task it spawns (`PoolConnection::return_to_pool`),
//! unconditionally. For the hot statements ([`crate::direct`]) that is one more exchange
//! with PostgreSQL per request, and the connection out of use for that round trip (issue
//! 18, docs/performance.md). A connection whose statement has just run to its end needs no
//! such test, so the statement's connection is kept here, by its thread, for the next one.
//!
//! The pool's own rules still hold, because every connection goes back to it in the end:
//! - only a connection whose statement ran to its end without an error is kept; one whose
//!   statement failed, or was cancelled midway (its request dropped), goes back through the
//!   pool's test as before;
//! - at most half the pool's connections are kept, and none while an operation of the same
//!   pool that asks the pool itself (through SeaORM: transactions, the rest of the
//!   repositories) is under way: such an operation gives the kept ones back when it starts,
//!   so it never waits for a connection that sits here;
//! - a connection unused for [`KEEP_IDLE`] goes back (a sweep runs while any is kept), and
//!   one kept for [`KEEP_FOR`] in all goes back when next taken, so the pool's idle
//!   timeout, maximum lifetime and release test keep applying;
//! - one that was idle when the server was last seen going away is given back rather than
//!   used ([`crate::went_away`]), as the pool does with its idle connections.
//!
//! And first come, first served: a statement of the thread that found no connection kept
//! waits for the pool and, at the same time, in the thread's queue here; a connection a
//! statement is done with goes to the first statement in that queue before it is kept (a
//! kept connection went to whichever statement started next, while those already waiting
//! were served only by connections handed back to the pool: with a pool of one, never).

use std::collections::VecDeque;
use std::sync::atomic::{AtomicBool, AtomicU32, Ordering};
use std::sync::{Arc, Mutex, PoisonError, Weak};
use std::time::{Duration, Instant};

use sea_orm::sqlx::pool::PoolConnection;
use sea_orm::sqlx::postgres::Postgres;
use tokio::sync::oneshot;

/// How long a kept connection may sit unused before it goes back to its pool.
const KEEP_IDLE: Duration = Duration::from_secs(1);

/// Past this many in the queue of waiting statements, those that have gone are swept out
/// of all of it, not only from its front.
const WAITING_SWEEP: usize = 64;

/// How long a connection may be kept in all (used again and again) before it goes back to
/// its pool, for the pool's release test and lifetime check.
const KEEP_FOR: Duration = Duration::from_secs(30);

/// The connections one pool's thread keeps (see the module's documentation).
pub(crate) struct Kept {
    conns: Mutex<Vec<KeptConn>>,
    /// The thread's statements waiting for a connection, in the order they began to.
    waiting: Mutex<VecDeque<oneshot::Sender<KeptConn>>>,
    /// How many may be kept.
    limit: usize,
    /// Operations of this pool that ask the pool itself, under way: while any is, nothing
    /// is kept.
    through_pool: AtomicU32,
    /// Whether the sweep of unused connections is running.
    sweeping: AtomicBool,
}

/// A connection taken from the pool by a hot statement, and since when.
pub(crate) struct KeptConn {
    conn: PoolConnection<Postgres>,
    /// When it was taken from the pool.
    taken: Instant,
    /// When it was last kept.
    idle_since: Instant,
}

impl KeptConn {
    /// `conn`, just taken from its pool.
    pub(crate) fn taken(conn: PoolConnection<Postgres>) -> Self {
        let now = Instant::now();
        Self {
            conn,
            taken: now,
            idle_since: now,
        }
    }

    /// The connection, to run a statement on.
    pub(crate) fn conn(&mut self) -> &mut PoolConnection<Postgres> {
        &mut self.conn
    }
}

impl Drop for Kept {
    /// A connection dropped goes back to its pool, through its test, on a task sqlx spawns,
    /// which needs a runtime: without one (a thread's storage dropped after its runtime),
    /// the connections kept leave the pool and close instead.
    fn drop(&mut self) {
        if tokio::runtime::Handle::try_current().is_err() {
            for kept in std::mem::take(&mut *self.conns()) {
                drop(kept.conn.detach());
            }
        }
    }
}

impl Kept {
    /// Keeps up to half of `max_connections` (at least one).
    pub(crate) fn new(max_connections: u32) -> Arc<Self> {
        Arc::new(Self {
            conns: Mutex::new(Vec::new()),
            waiting: Mutex::new(VecDeque::new()),
            limit: usize::try_from(max_connections / 2).unwrap_or(1).max(1),
            through_pool: AtomicU32::new(0),
            sweeping: AtomicBool::new(false),
        })
    }

    fn conns(&self) -> std::sync::MutexGuard<'_, Vec<KeptConn>> {
        self.conns.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// A kept connection fit for use, if any; those no longer fit go back to the pool.
    pub(crate) fn take(&self) -> Option<KeptConn> {
        loop {
            let kept = self.conns().pop()?;
            if kept.taken.elapsed() < KEEP_FOR
                && !crate::went_away::suspect(kept.idle_since.elapsed())
            {
                return Some(kept);
            }
            // Dropped outside the lock: back to the pool, through its test.
            drop(kept);
        }
    }

    /// A place in the queue of statements waiting for a connection: the first connection a
    /// statement is done with comes through it, unless the waiter has gone (dropped it).
    pub(crate) fn wait(&self) -> oneshot::Receiver<KeptConn> {
        let (handed, waiter) = oneshot::channel();
        let mut waiting = self.waiting();
        // Those served by the pool meanwhile have gone: forget them, those in front first.
        while waiting.front().is_some_and(oneshot::Sender::is_closed) {
            waiting.pop_front();
        }
        if waiting.len() >= WAITING_SWEEP {
            waiting.retain(|w| !w.is_closed());
        }
        waiting.push_back(handed);
        waiter
    }

    fn waiting(&self) -> std::sync::MutexGuard<'_, VecDeque<oneshot::Sender<KeptConn>>> {
        self.waiting.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Hands `conn`, whose statement has just run to its end, to the first statement waiting
    /// for one, or else keeps it, unless it should go back to the pool (see the module's
    /// documentation).
    pub(crate) fn keep(self: &Arc<Self>, mut conn: KeptConn) {
        if self.through_pool.load(Ordering::Acquire) > 0 || conn.taken.elapsed() >= KEEP_FOR {
            return;
        }
        loop {
            let Some(first) = self.waiting().pop_front() else {
                break;
            };
            match first.send(conn) {
                Ok(()) => return,
                // That one got a connection from the pool meanwhile, or was cancelled.
                Err(back) => conn = back,
            }
        }
        conn.idle_since = Instant::now();
        let mut conns = self.conns();
        if conns.len() >= self.limit {
            drop(conns);
            return;
        }
        conns.push(conn);
        drop(conns);
        if !self.sweeping.swap(true, Ordering::AcqRel) {
            tokio::spawn(sweep(Arc::downgrade(self)));
        }
    }

    /// Gives every kept connection back to the pool (for an operation that asks the pool
    /// itself, and before the pool closes).
    pub(crate) fn release_all(&self) {
        let all = std::mem::take(&mut *self.conns());
        drop(all);
    }

    /// Gives back the connections unused for [`KEEP_IDLE`]; whether any is still kept.
    fn release_idle(&self) -> bool {
        let mut conns = self.conns();
        let (idle, used): (Vec<_>, Vec<_>) = std::mem::take(&mut *conns)
            .into_iter()
            .partition(|c| c.idle_since.elapsed() >= KEEP_IDLE);
        *conns = used;
        let any = !conns.is_empty();
        drop(conns);
        drop(idle);
        any
    }

    /// Counts an operation that asks the pool itself until the guard drops, and gives the
    /// kept connections back to the pool for it.
    pub(crate) fn through_pool(self: &Arc<Self>) -> ThroughPool {
        self.through_pool.fetch_add(1, Ordering::AcqRel);
        self.release_all();
        ThroughPool(Arc::clone(self))
    }

    #[cfg(test)]
    pub(crate) fn len(&self) -> usize {
        self.conns().len()
    }
}

/// An operation that asks the pool itself, under way (see [`Kept::through_pool`]).
pub(crate) struct ThroughPool(Arc<Kept>);

impl Drop for ThroughPool {
    fn drop(&mut self) {
        self.0.through_pool.fetch_sub(1, Ordering::AcqRel);
    }
}

/// Every [`KEEP_IDLE`], gives back the connections unused since; ends when none is kept
/// (the next one kept starts it again) or the pool is gone.
async fn sweep(kept: Weak<Kept>) {
    loop {
        tokio::time::sleep(KEEP_IDLE).await;
        let Some(kept) = kept.upgrade() else {
            return;
        };
        if !kept.release_idle() {
            kept.sweeping.store(false, Ordering::Release);
            // One kept between the check and the flag's reset started no sweep: go on.
            if kept.conns().is_empty() || kept.sweeping.swap(true, Ordering::AcqRel) {
                return;
            }
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use sea_orm::{ConnectionTrait, DbBackend, Statement};

    use crate::direct;

    fn sql(sql: &str) -> Statement {
        Statement::from_string(DbBackend::Postgres, sql)
    }

    async fn backend_pid(db: &crate::db::Conn) -> i32 {
        let row = direct::one(db, sql("SELECT pg_backend_pid() AS pid"))
            .await
            .unwrap()
            .unwrap();
        row.try_get("", "pid").unwrap()
    }

    /// A statement's connection stays with its thread, out of the pool (no release test, no
    /// round trip), and serves the thread's next statement.
    #[tokio::test]
    async fn a_statement_s_connection_serves_the_thread_s_next() {
        let db = crate::test_thread_db(4).await;
        let first = db.conn().await.unwrap();
        let pid = backend_pid(&first).await;
        assert_eq!(first.kept(), 1);
        let pool = first.postgres_pool().unwrap();
        assert_eq!(
            (pool.size(), pool.num_idle()),
            (1, 0),
            "kept, not in the pool"
        );
        drop(first);
        let second = db.conn().await.unwrap();
        assert_eq!(backend_pid(&second).await, pid);
        assert_eq!(second.kept(), 1);
    }

    /// An operation that asks the pool itself never waits for a connection kept here: with
    /// one connection in the pool, kept after a statement, a transaction still gets it.
    #[tokio::test]
    async fn an_operation_through_the_pool_gets_the_kept_connections() {
        let db = crate::test_thread_db(1).await;
        let hot = db.conn().await.unwrap();
        backend_pid(&hot).await;
        assert_eq!(hot.kept(), 1);
        drop(hot);
        let other = db.conn().await.unwrap();
        let started = std::time::Instant::now();
        let txn = sea_orm::TransactionTrait::begin(&*other).await.unwrap();
        txn.execute_raw(sql("SELECT 1")).await.unwrap();
        txn.commit().await.unwrap();
        assert!(started.elapsed() < std::time::Duration::from_millis(900));
        // While it is under way, a hot statement's connection goes back to the pool.
        let hot = db.conn().await.unwrap();
        backend_pid(&hot).await;
        assert_eq!(hot.kept(), 0);
        drop(other);
        backend_pid(&hot).await;
        assert_eq!(hot.kept(), 1);
    }

    /// Only a connection whose statement ran to its end without an error is kept.
    #[tokio::test]
    async fn a_failed_or_cancelled_statement_s_connection_goes_back_to_the_pool() {
        let db = crate::test_thread_db(2).await;
        let conn = db.conn().await.unwrap();
        assert!(direct::all(&conn, sql("SELECT nope")).await.is_err());
        assert_eq!(conn.kept(), 0);
        let slow = direct::execute(&conn, sql("SELECT pg_sleep(5)"));
        let cut = tokio::time::timeout(std::time::Duration::from_millis(200), slow).await;
        assert!(cut.is_err());
        assert_eq!(conn.kept(), 0);
        // The pool tested (and cancelled) what came back; the thread's next statement runs.
        assert_eq!(direct::execute(&conn, sql("SELECT 1")).await.unwrap(), 1);
        assert_eq!(conn.kept(), 1);
    }

    /// A kept connection unused for a second goes back to the pool, where its idle timeout
    /// applies.
    #[tokio::test]
    async fn an_unused_connection_goes_back_to_the_pool() {
        let db = crate::test_thread_db(2).await;
        let conn = db.conn().await.unwrap();
        backend_pid(&conn).await;
        assert_eq!(conn.kept(), 1);
        tokio::time::sleep(super::KEEP_IDLE * 2 + std::time::Duration::from_millis(300)).await;
        assert_eq!(conn.kept(), 0);
        let pool = conn.postgres_pool().unwrap();
        assert_eq!((pool.size(), pool.num_idle()), (1, 1));
    }

    /// A statement that waits for a connection gets the first one a statement is done with,
    /// in the order the waiting began, instead of that connection being kept for a later
    /// statement: with a pool of one, those waiting were served only when the kept
    /// connection went back unused (a second) or their wait for the pool ran out.
    #[tokio::test]
    async fn waiting_statements_get_the_connections_done_with_in_turn() {
        use std::time::{Duration, Instant};
        let db = crate::test_thread_db(1).await;
        let conn = db.conn().await.unwrap();
        let started = Instant::now();
        let after = |delay: u64| {
            let conn = &conn;
            async move {
                tokio::time::sleep(Duration::from_millis(delay)).await;
                backend_pid(conn).await;
                started.elapsed()
            }
        };
        let (first, second, third) = tokio::join!(
            direct::execute(&conn, sql("SELECT pg_sleep(0.3)")),
            after(50),
            after(100),
        );
        first.unwrap();
        assert!(second < third, "{second:?} {third:?}");
        assert!(third < Duration::from_millis(800), "{third:?}");
        assert_eq!(conn.kept(), 1);
    }

    /// At most half the pool's connections are kept.
    #[tokio::test]
    async fn at_most_half_the_pool_is_kept() {
        let db = crate::test_thread_db(4).await;
        let conn = db.conn().await.unwrap();
        let sleep = || direct::execute(&conn, sql("SELECT pg_sleep(0.1)"));
        let (a, b, c, d) = tokio::join!(sleep(), sleep(), sleep(), sleep());
        for done in [a, b, c, d] {
            done.unwrap();
        }
        assert_eq!(conn.kept(), 2);
        // The other two go back through the pool's test, a round trip each.
        tokio::time::sleep(std::time::Duration::from_millis(200)).await;
        let pool = conn.postgres_pool().unwrap();
        assert_eq!((pool.size(), pool.num_idle()), (4, 2));
    }
}
