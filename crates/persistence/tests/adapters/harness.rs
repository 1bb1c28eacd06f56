use chrono::TimeZone;
use sea_orm::{ConnectionTrait, DatabaseConnection, DbBackend, Statement, Value};
use todo_application::ports::{ListRepository, TaskRepository};
use todo_domain::{
    ListId, Role, RoleList, Task, TaskId, TaskList, TaskTitle, Timestamp, User, UserId,
};
use todo_persistence::PoolSettings;

pub fn base_url() -> String {
    std::env::var("TEST_DATABASE_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/test".to_owned())
}

/// When set, PostgreSQL test bodies reach the server through a connection pooler
/// (PgBouncer in transaction mode, see `docker/pgbouncer/`): each test gets its own
/// database, created on `TEST_DATABASE_URL` and reached through this URL, in which
/// `{db}` stands for the database name.
pub fn pooler_url() -> Option<String> {
    std::env::var("TEST_POOLER_URL")
        .ok()
        .filter(|url| !url.trim().is_empty())
}

/// What a test body owns: a PostgreSQL schema or database, or a SQLite file's directory.
enum Scratch {
    Schema(String),
    Database(String),
    Directory(std::path::PathBuf),
}

/// A database for one test body. Dropping it drops its PostgreSQL schema (or, through a
/// pooler, its database), or its SQLite file.
pub struct TestDb {
    pub db: DatabaseConnection,
    pub backend: &'static str,
    /// The URL this database was reached with (PostgreSQL: it selects the schema or,
    /// through a pooler, the database).
    pub url: String,
    scratch: Option<Scratch>,
}

impl Drop for TestDb {
    fn drop(&mut self) {
        let Some(scratch) = self.scratch.take() else {
            return;
        };
        let sql = match scratch {
            Scratch::Schema(schema) => format!("DROP SCHEMA IF EXISTS {schema} CASCADE"),
            Scratch::Database(name) => format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"),
            Scratch::Directory(dir) => {
                let _ = std::fs::remove_dir_all(dir);
                return;
            }
        };
        // Drop cannot await: do it on a thread with its own small runtime.
        let _ = std::thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .unwrap();
            rt.block_on(async {
                if let Ok(db) =
                    todo_persistence::connect(&base_url(), &PoolSettings::default()).await
                {
                    let _ = db.execute_unprepared(&sql).await;
                }
            });
        })
        .join();
    }
}

/// What a test body gets: a connection and the backend's name (for messages).
#[derive(Clone)]
pub struct Ctx {
    pub db: DatabaseConnection,
    pub backend: &'static str,
}

impl Ctx {
    pub fn of(t: &TestDb) -> Self {
        Self {
            db: t.db.clone(),
            backend: t.backend,
        }
    }
}

/// A fresh, empty in-memory SQLite database.
pub async fn sqlite() -> TestDb {
    TestDb {
        db: todo_persistence::connect("sqlite::memory:", &PoolSettings::default())
            .await
            .unwrap(),
        backend: "sqlite",
        url: "sqlite::memory:".to_owned(),
        scratch: None,
    }
}

/// A fresh, empty SQLite database in a file, with a pool of several connections (WAL),
/// as a server uses it: for bodies where concurrent connections matter.
pub async fn sqlite_file() -> TestDb {
    let dir = std::env::temp_dir().join(format!("todo-adapters-{}", uuid::Uuid::now_v7().simple()));
    let url = format!("sqlite://{}/todo.db", dir.display());
    TestDb {
        db: todo_persistence::connect(&url, &PoolSettings::default())
            .await
            .unwrap(),
        backend: "sqlite (file)",
        url,
        scratch: Some(Scratch::Directory(dir)),
    }
}

/// A fresh, empty PostgreSQL schema; `None` (with the reason on stderr) when PostgreSQL
/// is unreachable outside CI. In CI (`CI=true`) an unreachable server fails the test.
pub async fn postgres() -> Option<TestDb> {
    let admin = match todo_persistence::connect(&base_url(), &PoolSettings::default()).await {
        Ok(db) => db,
        Err(err) => {
            assert!(
                std::env::var("CI").as_deref() != Ok("true"),
                "PostgreSQL is required in CI but unreachable at {}: {err}",
                todo_persistence::redact_url_secrets(&base_url(), &base_url())
            );
            eprintln!("skipping PostgreSQL half: {err}");
            return None;
        }
    };
    let name = format!("t_{}", uuid::Uuid::now_v7().simple());
    let (url, scratch) = if let Some(pooler) = pooler_url() {
        // A pooler shares server connections between clients, so per-connection
        // settings such as search_path cannot select a schema: use a database.
        admin
            .execute_unprepared(&format!("CREATE DATABASE {name}"))
            .await
            .unwrap();
        (pooler.replace("{db}", &name), Scratch::Database(name))
    } else {
        admin
            .execute_unprepared(&format!("CREATE SCHEMA {name}"))
            .await
            .unwrap();
        let sep = if base_url().contains('?') { '&' } else { '?' };
        let url = format!("{}{sep}options=-c%20search_path%3D{name}", base_url());
        (url, Scratch::Schema(name))
    };
    admin.close().await.ok();
    let db = todo_persistence::connect(&url, &PoolSettings::default())
        .await
        .unwrap();
    Some(TestDb {
        db,
        backend: "postgres",
        url,
        scratch: Some(scratch),
    })
}

/// Runs an async test body against SQLite, then PostgreSQL, each freshly migrated
/// (`migrated = true`) or empty. With `sqlite_file`, SQLite is a file reached through
/// several connections (migrated), for bodies that race writes.
macro_rules! on_both {
    ($name:ident, migrated = $migrated:expr, $body:expr) => {
        #[test]
        fn $name() {
            let body = $body;
            let rt = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .unwrap();
            rt.block_on(async move {
                let sqlite = $crate::harness::sqlite().await;
                if $migrated {
                    todo_persistence::migrate(&sqlite.db).await.unwrap();
                }
                body($crate::harness::Ctx::of(&sqlite)).await;
                if let Some(pg) = $crate::harness::postgres().await {
                    if $migrated {
                        todo_persistence::migrate(&pg.db).await.unwrap();
                    }
                    body($crate::harness::Ctx::of(&pg)).await;
                }
            });
        }
    };
    // On a SQLite file (several connections) rather than in memory (one connection).
    ($name:ident, sqlite_file, $body:expr) => {
        #[test]
        fn $name() {
            let body = $body;
            let rt = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .unwrap();
            rt.block_on(async move {
                let sqlite = $crate::harness::sqlite_file().await;
                todo_persistence::migrate(&sqlite.db).await.unwrap();
                body($crate::harness::Ctx::of(&sqlite)).await;
                if let Some(pg) = $crate::harness::postgres().await {
                    todo_persistence::migrate(&pg.db).await.unwrap();
                    body($crate::harness::Ctx::of(&pg)).await;
                }
            });
        }
    };
    ($name:ident, $body:expr) => {
        on_both!($name, migrated = true, $body);
    };
}
pub(crate) use on_both;

pub fn at(secs: i64) -> Timestamp {
    chrono::Utc.timestamp_opt(secs, 0).unwrap()
}

pub fn uid(raw: &str) -> UserId {
    UserId::parse(raw).unwrap()
}

pub fn tid(n: u128) -> TaskId {
    TaskId::from_uuid(uuid::Uuid::from_u128(n))
}

pub fn user(id: &str, role: Option<&str>, created: i64) -> User {
    User {
        id: uid(id),
        email: format!("{id}@example.com"),
        name: format!("User {id}"),
        roles: RoleList::from_stored(role),
        banned: false,
        ban_expires: None,
        created_at: at(created),
    }
}

/// `owner`'s Inbox in the tests: an id derived from the owner's (FNV-1a, twice).
pub fn inbox(owner: &str) -> ListId {
    let hash = |seed: u64| {
        owner.bytes().fold(seed, |h, b| {
            (h ^ u64::from(b)).wrapping_mul(0x0000_0100_0000_01b3)
        })
    };
    let high = hash(0xcbf2_9ce4_8422_2325);
    let low = hash(0x8422_2325_cbf2_9ce4);
    ListId::from_uuid(uuid::Uuid::from_u128(
        (u128::from(high) << 64) | u128::from(low),
    ))
}

/// A list id for tests.
pub fn lid(n: u128) -> ListId {
    ListId::from_uuid(uuid::Uuid::from_u128(
        0x1157_0000_0000_0000_0000_0000_0000_0000 | n,
    ))
}

/// Creates each `(id, created)` user (if absent) with their Inbox ([`inbox`]).
pub async fn users_with_inboxes(db: &DatabaseConnection, users: &[(&str, i64)]) {
    use todo_application::ports::UserRepository;
    let repo = todo_persistence::SeaUserRepository::new(db.clone());
    let lists = todo_persistence::SeaListRepository::new(db.clone());
    for (id, created) in users {
        repo.create_if_absent(&user(id, None, *created))
            .await
            .unwrap();
        lists
            .ensure_inbox(&TaskList::inbox(inbox(id), uid(id), at(*created)))
            .await
            .unwrap();
    }
}

/// The id of `owner`'s Inbox, created as [`inbox`] when they have none (an Inbox the
/// migration created for their older tasks has an id of its own).
pub async fn inbox_in(db: &DatabaseConnection, owner: &str) -> ListId {
    todo_persistence::SeaListRepository::new(db.clone())
        .ensure_inbox(&TaskList::inbox(inbox(owner), uid(owner), at(1)))
        .await
        .unwrap()
}

/// `t` in `list`.
pub fn in_list(mut t: Task, list: ListId) -> Task {
    t.list = list;
    t
}

/// The task as `caller` reads it, without their role.
pub trait Read {
    async fn read(&self, caller: &UserId, id: TaskId) -> Option<Task>;
}

impl<T: TaskRepository + ?Sized> Read for T {
    async fn read(&self, caller: &UserId, id: TaskId) -> Option<Task> {
        self.get(caller, id).await.unwrap().map(|(t, _)| t)
    }
}

/// The role `caller` reads the task with.
pub async fn role_in(tasks: &dyn TaskRepository, caller: &UserId, id: TaskId) -> Option<Role> {
    tasks.get(caller, id).await.unwrap().map(|(_, r)| r)
}

/// A task of `owner`'s in their Inbox.
pub fn task(owner: &str, n: u128, title: &str, created: Timestamp) -> Task {
    Task::new(
        tid(n),
        uid(owner),
        inbox(owner),
        TaskTitle::parse(title).unwrap(),
        None,
        created,
    )
}

/// At most `limit` of `owner`'s tasks in the plain list (every task, oldest first), after
/// `after`: what the service reads for a list without filters or sort.
pub async fn plain_page(
    tasks: &dyn todo_application::ports::TaskRepository,
    owner: &UserId,
    limit: u32,
    after: Option<todo_domain::ListCursor>,
) -> Vec<Task> {
    let query = todo_domain::ListSpec::default().query(chrono::DateTime::UNIX_EPOCH);
    tasks.search(owner, &query, limit, after).await.unwrap()
}

/// An edit's record for writes whose record the test does not look at.
pub fn any_edit() -> todo_domain::Edit {
    todo_domain::Edit::new(
        todo_domain::ChangeKind::TaskUpdated,
        uid("tester"),
        Vec::new(),
    )
}

/// A list edit's record, for writes whose record the test does not look at.
pub fn list_edit() -> todo_domain::Edit {
    todo_domain::Edit::new(
        todo_domain::ChangeKind::ListUpdated,
        uid("tester"),
        Vec::new(),
    )
}

/// `sql` with `?` placeholders, as the backend writes them.
pub fn statement(t: &Ctx, sql: &str, values: Vec<Value>) -> Statement {
    let backend = t.db.get_database_backend();
    let sql = if backend == DbBackend::Postgres {
        let mut n = 0;
        sql.chars()
            .map(|c| {
                if c == '?' {
                    n += 1;
                    format!("${n}")
                } else {
                    c.to_string()
                }
            })
            .collect()
    } else {
        sql.to_owned()
    };
    Statement::from_sql_and_values(backend, sql, values)
}

/// Webhook deliveries: the events delivered, the attempts' results, what follows them.
pub mod delivery {
    use todo_application::ports::{AttemptOutcome, DeliveryAttempt};
    use todo_domain::webhook::AfterAttempt;
    use todo_domain::{ChangeCursor, ChangeKind, ChangeRecord};

    use super::{at, lid, tid, uid};

    /// A task's creation at `cursor`.
    pub fn event(tx: u64, id: u64) -> ChangeRecord {
        ChangeRecord {
            cursor: ChangeCursor { tx, id },
            kind: ChangeKind::TaskCreated,
            list: Some(lid(1)),
            task: Some(tid(1)),
            actor: uid("alice"),
            subject: None,
            version: Some(1),
            fields: Vec::new(),
            at: at(20),
        }
    }

    pub fn delivered() -> DeliveryAttempt {
        DeliveryAttempt {
            outcome: AttemptOutcome::Delivered,
            status: Some(204),
            duration_ms: 12,
            error: None,
        }
    }

    pub fn failed() -> DeliveryAttempt {
        DeliveryAttempt {
            outcome: AttemptOutcome::Failed,
            status: Some(503),
            duration_ms: 30,
            error: Some("503 Service Unavailable".to_owned()),
        }
    }

    pub fn refused() -> DeliveryAttempt {
        DeliveryAttempt {
            outcome: AttemptOutcome::Refused,
            status: None,
            duration_ms: 1,
            error: Some("resolves to a loopback address".to_owned()),
        }
    }

    pub fn retry(failures: u32, at_secs: i64) -> AfterAttempt {
        AfterAttempt::Retry {
            failures,
            retry_at: at(at_secs),
        }
    }
}
