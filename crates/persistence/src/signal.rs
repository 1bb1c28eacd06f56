//! What wakes the change log's reader: this process's writes, and on PostgreSQL the other
//! processes' ones, heard through `LISTEN`.
//!
//! Each process that writes sends `NOTIFY todo_changes` after its writes commit (one for
//! however many committed while the last was on its way), through its pool; each process
//! keeps one connection of its own that `LISTEN`s. `LISTEN` does not survive a
//! transaction-mode pooler (PgBouncer, Neon's pooled endpoint): that connection goes to the
//! direct URL when there is one. A lost listening connection is opened again with backoff;
//! the reader reads the log on a timer besides, so a notification lost meanwhile delays an
//! event, never loses it.

use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use sea_orm::sqlx::postgres::PgListener;
use sea_orm::{ConnectionTrait, DbBackend, Statement};
use todo_application::ports::ChangeSignal;
use tokio::sync::Notify;
use tokio::task::JoinHandle;

use crate::db::Db;

/// The channel the processes notify each other on: `todo_changes` in the `public` schema;
/// for another schema (several services, or tests, in one database) a name of its own,
/// `todo_changes_` and a hash of the schema's name (FNV-1a, the same in every build:
/// every version of the service in a rolling deploy must hear the others).
fn channel(schema: &str) -> String {
    if schema == "public" {
        return "todo_changes".to_owned();
    }
    let hash = schema.bytes().fold(0xcbf2_9ce4_8422_2325_u64, |h, b| {
        (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3)
    });
    format!("todo_changes_{hash:016x}")
}

/// The least time between two `NOTIFY`s of this process.
const COALESCE: std::time::Duration = std::time::Duration::from_millis(10);

/// Wakes the reader of the change log (see the module).
pub struct SeaChangeSignal {
    notify: Arc<Notify>,
    tasks: Vec<JoinHandle<()>>,
}

impl Drop for SeaChangeSignal {
    fn drop(&mut self) {
        for task in &self.tasks {
            task.abort();
        }
    }
}

#[async_trait]
impl ChangeSignal for SeaChangeSignal {
    async fn written(&self) {
        self.notify.notified().await;
    }
}

impl SeaChangeSignal {
    /// Hears of `db`'s writes in this process, and on PostgreSQL tells the other processes
    /// of them and hears of theirs on a connection to `listen_url`. Spawns its tasks on
    /// the current runtime; dropping the signal stops them.
    #[must_use]
    pub fn start(db: &Db, listen_url: &str) -> Self {
        let notify = Arc::new(Notify::new());
        let mut tasks = vec![tokio::spawn(hear_local(db.writes(), notify.clone()))];
        if db.shared().get_database_backend() == DbBackend::Postgres {
            // What this process's notifications carry, so that it does not wake for its own.
            let me = uuid::Uuid::now_v7().simple().to_string();
            let db = db.clone();
            let url = listen_url.to_owned();
            let notify = notify.clone();
            tasks.push(tokio::spawn(async move {
                let channel = channel(&schema_of(&db).await);
                tokio::join!(
                    tell_others(db, me.clone(), channel.clone()),
                    listen(url, notify, me, channel)
                );
            }));
        }
        Self { notify, tasks }
    }
}

/// Wakes the reader after each write (or run of writes) of this process. It waits
/// [`COALESCE`] after each wake-up: the writes committed meanwhile wake nothing (a write
/// only wakes a task that waits for it, a thread switch and two system calls), and the
/// next wait returns at once for them. Under load, one wake-up per interval, not one per
/// write.
async fn hear_local(mut writes: tokio::sync::watch::Receiver<u64>, notify: Arc<Notify>) {
    while writes.changed().await.is_ok() {
        notify.notify_one();
        tokio::time::sleep(COALESCE).await;
    }
}

/// The schema the service's tables are in (`public` when it cannot be read: the reader's
/// timer still catches every change).
async fn schema_of(db: &Db) -> String {
    let statement = Statement::from_string(DbBackend::Postgres, "SELECT current_schema() AS s");
    match db.shared().query_one_raw(statement).await {
        Ok(Some(row)) => row.try_get("", "s").unwrap_or_else(|_| "public".to_owned()),
        Ok(None) | Err(_) => "public".to_owned(),
    }
}

/// After each write (or run of writes) of this process, one `NOTIFY`, carrying `me`.
async fn tell_others(db: Db, me: String, channel: String) {
    let mut writes = db.writes();
    while writes.changed().await.is_ok() {
        let statement = Statement::from_sql_and_values(
            DbBackend::Postgres,
            "SELECT pg_notify($1, $2)",
            [channel.clone().into(), me.clone().into()],
        );
        if let Err(err) = db.shared().execute_raw(statement).await {
            // The other processes read the log on their timer meanwhile.
            tracing::warn!(error = %err, "could not notify the other processes of a write");
        }
        // Writes committed meanwhile are told by the next one: under load one NOTIFY
        // per interval, not one per write.
        tokio::time::sleep(COALESCE).await;
    }
}

/// Listens for the other processes' writes (not this one's, `me`), reconnecting with
/// backoff when the connection is lost (a wake-up then, so the reader catches up).
async fn listen(url: String, notify: Arc<Notify>, me: String, channel: String) {
    let mut backoff = Duration::from_millis(100);
    loop {
        let mut listener = match PgListener::connect(&url).await {
            Ok(listener) => listener,
            Err(err) => {
                tracing::warn!(error = %err, "could not open the listening connection; retrying");
                tokio::time::sleep(backoff).await;
                backoff = (backoff * 2).min(Duration::from_secs(5));
                continue;
            }
        };
        if let Err(err) = listener.listen(&channel).await {
            tracing::warn!(error = %err, "could not LISTEN; retrying");
            tokio::time::sleep(backoff).await;
            backoff = (backoff * 2).min(Duration::from_secs(5));
            continue;
        }
        tracing::debug!("listening for the other processes' changes");
        backoff = Duration::from_millis(100);
        // Whatever was written while not listening.
        notify.notify_one();
        loop {
            match listener.try_recv().await {
                Ok(Some(heard)) => {
                    if heard.payload() != me {
                        notify.notify_one();
                    }
                }
                Ok(None) => {
                    // Lost; the next call opens it again (and LISTENs).
                    tracing::warn!("the listening connection was lost; reconnecting");
                    notify.notify_one();
                }
                Err(err) => {
                    tracing::warn!(error = %err, "the listening connection failed; reconnecting");
                    notify.notify_one();
                    break;
                }
            }
        }
        tokio::time::sleep(backoff).await;
        backoff = (backoff * 2).min(Duration::from_secs(5));
    }
}

#[cfg(test)]
mod tests {
    /// Every build names a schema's channel alike (a rolling deploy's versions hear each
    /// other), within PostgreSQL's 63 bytes.
    #[test]
    fn a_schemas_channel_is_fixed_and_short() {
        assert_eq!(super::channel("public"), "todo_changes");
        // FNV-1a of "tenant_a", as any implementation computes it.
        assert_eq!(super::channel("tenant_a"), "todo_changes_c3996d28e47bfcfd");
        assert_ne!(super::channel("tenant_a"), super::channel("tenant_b"));
        assert!(super::channel(&"x".repeat(63)).len() < 64);
    }
}
