//! The database handle the repositories share: one pool per serving thread on PostgreSQL.
//!
//! actix-web serves each worker on its own single-threaded runtime, and a connection's
//! socket is driven by the runtime that opened it. With one pool shared by every worker, a
//! query waits on a socket that another thread's reactor watches, so every round trip
//! costs a cross-thread wake-up (measured: a third of the server's CPU per request under
//! load, docs/performance.md). Here each single-threaded runtime that uses the database
//! gets its own pool, opened lazily on that thread, and its connections never leave it.
//! Multi-threaded runtimes (start-up, the CLI, tests) and SQLite use one shared pool.
//!
//! A thread's pool also has the connections its thread keeps between hot statements
//! ([`crate::kept`]). The handle counts the operations under way, for the pool's `waiting`
//! metric.

use std::cell::RefCell;
use std::ops::Deref;
use std::sync::atomic::{AtomicU32, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, OnceLock, PoisonError};

use sea_orm::{ConnectOptions, Database, DatabaseConnection, DbErr};
use tokio::runtime::{Handle, RuntimeFlavor};

use crate::kept::{Kept, KeptConn, ThroughPool};

static NEXT_ID: AtomicU64 = AtomicU64::new(1);

/// A pool, and the connections its thread keeps when it is a thread's pool.
type Pool = (DatabaseConnection, Option<Arc<Kept>>);

/// Database operations under way in this process: each counts itself from before it asks
/// [`Db::conn`] for a connection until it drops the [`Conn`]. The pool metrics sum every
/// pool of the process, so operations beyond the connections in use are waiting for one.
static OPERATIONS: AtomicU32 = AtomicU32::new(0);

/// How many database operations are under way in this process (see [`OPERATIONS`]).
pub(crate) fn operations() -> u32 {
    OPERATIONS.load(Ordering::Relaxed)
}

/// Counts one operation in [`OPERATIONS`] while alive.
struct Operation(());

impl Operation {
    fn start() -> Self {
        OPERATIONS.fetch_add(1, Ordering::Relaxed);
        Self(())
    }
}

impl Drop for Operation {
    fn drop(&mut self) {
        OPERATIONS.fetch_sub(1, Ordering::Relaxed);
    }
}

/// A connection from [`Db::conn`], counted as one operation under way until dropped: keep
/// it until the operation is done, a transaction begun from it included.
///
/// Used as a `DatabaseConnection` (through `Deref`), it asks the pool itself, and counts as
/// such for the connections its thread keeps (see [`crate::kept`]); the hot statements
/// ([`crate::direct`]) use [`Conn::backend`], [`Conn::take_kept`] and [`Conn::keep`]
/// instead.
pub(crate) struct Conn {
    conn: DatabaseConnection,
    /// The connections this thread keeps for its pool (a thread's pool only).
    kept: Option<Arc<Kept>>,
    /// Set on first use as a `DatabaseConnection`.
    through_pool: OnceLock<ThroughPool>,
    _operation: Operation,
}

impl Deref for Conn {
    type Target = DatabaseConnection;

    fn deref(&self) -> &DatabaseConnection {
        if let Some(kept) = &self.kept {
            self.through_pool.get_or_init(|| kept.through_pool());
        }
        &self.conn
    }
}

impl Conn {
    /// The database's backend (without counting as a use of the pool).
    pub(crate) fn backend(&self) -> sea_orm::DbBackend {
        self.conn.get_database_backend()
    }

    /// The PostgreSQL pool, when the database is PostgreSQL (for [`crate::direct`]).
    pub(crate) fn postgres_pool(&self) -> Option<&sea_orm::sqlx::PgPool> {
        (self.backend() == sea_orm::DbBackend::Postgres)
            .then(|| self.conn.get_postgres_connection_pool())
    }

    /// A connection this thread kept from an earlier statement, if any fit for use.
    pub(crate) fn take_kept(&self) -> Option<KeptConn> {
        self.kept.as_ref().and_then(|kept| kept.take())
    }

    /// A place in this thread's queue of statements waiting for a connection (a thread's
    /// pool only).
    pub(crate) fn wait_for_kept(&self) -> Option<tokio::sync::oneshot::Receiver<KeptConn>> {
        self.kept.as_ref().map(|kept| kept.wait())
    }

    /// Hands `conn`, whose statement has just run to its end, to the thread's first
    /// statement waiting for one, or keeps it for the thread's next (on a thread's pool;
    /// otherwise it goes back to the pool).
    pub(crate) fn keep(&self, conn: KeptConn) {
        if let Some(kept) = &self.kept {
            kept.keep(conn);
        }
    }

    /// How many connections this thread keeps for the pool.
    #[cfg(test)]
    pub(crate) fn kept(&self) -> usize {
        self.kept.as_ref().map_or(0, |kept| kept.len())
    }
}

/// One of this thread's pools.
struct Local {
    /// The [`Db`]'s id.
    db: u64,
    runtime: tokio::runtime::Id,
    pool: DatabaseConnection,
    kept: Arc<Kept>,
}

thread_local! {
    /// This thread's pools.
    static LOCAL: RefCell<Vec<Local>> = const { RefCell::new(Vec::new()) };
}

/// A database the repositories use: a shared pool, and on PostgreSQL a pool per serving
/// thread. Cheap to clone.
#[derive(Clone)]
pub struct Db {
    inner: Arc<Inner>,
}

struct Inner {
    id: u64,
    shared: DatabaseConnection,
    /// How to open a thread's pool (PostgreSQL), lazily: no I/O until first used.
    per_thread: Option<ConnectOptions>,
    /// Every thread's pool opened, with the connections its thread keeps: for metrics and
    /// for closing.
    opened: Mutex<Vec<(DatabaseConnection, Arc<Kept>)>>,
    /// How many writes this process committed (each appended to the change log): what
    /// wakes the change log's readers here and, on PostgreSQL, tells the other processes.
    written: tokio::sync::watch::Sender<u64>,
}

impl From<DatabaseConnection> for Db {
    /// One shared pool for every thread.
    fn from(shared: DatabaseConnection) -> Self {
        Self::new(shared, None)
    }
}

impl Db {
    pub(crate) fn new(shared: DatabaseConnection, per_thread: Option<ConnectOptions>) -> Self {
        Self {
            inner: Arc::new(Inner {
                id: NEXT_ID.fetch_add(1, Ordering::Relaxed),
                shared,
                per_thread: per_thread.map(|mut o| {
                    o.connect_lazy(true);
                    o
                }),
                opened: Mutex::new(Vec::new()),
                written: tokio::sync::watch::Sender::new(0),
            }),
        }
    }

    /// Counts a committed write (see [`Inner::written`]).
    pub(crate) fn written(&self) {
        self.inner.written.send_modify(|n| *n = n.wrapping_add(1));
    }

    /// Hears of every write [`Db::written`] counts from now on.
    #[must_use]
    pub fn writes(&self) -> tokio::sync::watch::Receiver<u64> {
        self.inner.written.subscribe()
    }

    /// The shared pool (start-up work: migrations, the admin promotion).
    #[must_use]
    pub fn shared(&self) -> &DatabaseConnection {
        &self.inner.shared
    }

    /// A connection for one operation, counted from before the pool is asked (see
    /// [`Conn`]).
    pub(crate) async fn conn(&self) -> Result<Conn, DbErr> {
        let operation = Operation::start();
        let (conn, kept) = match self.pool() {
            Ok(found) => found,
            // Once per serving thread: boxed, so that every operation's future (which
            // holds this one) stays small — inline, opening a pool made it 7 KB, copied
            // whole at each step of every request (issue 18).
            Err((key, template)) => Box::pin(self.open(key, template)).await?,
        };
        Ok(Conn {
            conn,
            kept,
            through_pool: OnceLock::new(),
            _operation: operation,
        })
    }

    /// The pool for the calling thread: its own on a single-threaded runtime when per-thread
    /// pools are configured, the shared one otherwise; `Err` with the thread's key and how
    /// to open its pool when that is still to be done. A thread's pool comes with the
    /// connections its thread keeps.
    fn pool(&self) -> Result<Pool, ((u64, tokio::runtime::Id), &ConnectOptions)> {
        let shared = || Ok((self.inner.shared.clone(), None));
        let Some(template) = &self.inner.per_thread else {
            return shared();
        };
        let Ok(handle) = Handle::try_current() else {
            return shared();
        };
        if handle.runtime_flavor() != RuntimeFlavor::CurrentThread {
            return shared();
        }
        let key = (self.inner.id, handle.id());
        self.local(key).ok_or((key, template))
    }

    /// Opens the pool of the thread of `key` from `template` (lazily: connections open on
    /// first use).
    async fn open(
        &self,
        key: (u64, tokio::runtime::Id),
        template: &ConnectOptions,
    ) -> Result<Pool, DbErr> {
        let conn = Database::connect(template.clone()).await?;
        // Another task of this thread may have opened one meanwhile: keep the first.
        if let Some(existing) = self.local(key) {
            return Ok(existing);
        }
        let kept = Kept::new(template.get_max_connections().unwrap_or(1));
        LOCAL.with(|l| {
            l.borrow_mut().push(Local {
                db: key.0,
                runtime: key.1,
                pool: conn.clone(),
                kept: Arc::clone(&kept),
            });
        });
        self.inner
            .opened
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .push((conn.clone(), Arc::clone(&kept)));
        Ok((conn, Some(kept)))
    }

    fn local(&self, key: (u64, tokio::runtime::Id)) -> Option<Pool> {
        LOCAL.with(|l| {
            l.borrow()
                .iter()
                .find(|l| (l.db, l.runtime) == key)
                .map(|l| (l.pool.clone(), Some(Arc::clone(&l.kept))))
        })
    }

    /// How many pools are open: the shared one and one per serving thread that used the
    /// database (PostgreSQL only).
    #[must_use]
    pub fn pool_count(&self) -> usize {
        self.pools().len()
    }

    /// Every pool: the shared one first, then each thread's.
    pub(crate) fn pools(&self) -> Vec<DatabaseConnection> {
        let opened = self
            .inner
            .opened
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        std::iter::once(self.inner.shared.clone())
            .chain(opened.iter().map(|(pool, _)| pool.clone()))
            .collect()
    }

    /// Closes every pool (at shutdown, once the serving threads have stopped).
    pub async fn close(&self) -> Result<(), DbErr> {
        let kept: Vec<_> = (self.inner.opened.lock())
            .unwrap_or_else(PoisonError::into_inner)
            .iter()
            .map(|(_, kept)| Arc::clone(kept))
            .collect();
        for kept in kept {
            kept.release_all();
        }
        let mut first_error = None;
        for pool in self.pools() {
            if let Err(err) = pool.close_by_ref().await {
                first_error.get_or_insert(err);
            }
        }
        first_error.map_or(Ok(()), Err)
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    /// Every repository operation's future holds this one, and a future is copied whole at
    /// each step of a request: opening a thread's pool, inline, made it 7 KB.
    #[test]
    fn asking_for_a_connection_is_a_small_future() {
        let db = Db::new(
            DatabaseConnection::default(),
            Some(ConnectOptions::new("postgres://localhost/db")),
        );
        let asked = db.conn();
        assert!(
            std::mem::size_of_val(&asked) <= 256,
            "{}",
            std::mem::size_of_val(&asked)
        );
    }

    #[tokio::test]
    async fn a_connection_counts_as_an_operation_until_dropped() {
        let db = Db::from(Database::connect("sqlite::memory:").await.unwrap());
        assert_eq!(operations(), 0);
        let first = db.conn().await.unwrap();
        let second = db.conn().await.unwrap();
        assert_eq!(operations(), 2);
        drop(first);
        assert_eq!(operations(), 1);
        drop(second);
        assert_eq!(operations(), 0);
    }
}
