use std::time::Instant;

use sea_orm::ConnectionTrait;
use todo_application::ports::{PortError, ReadinessProbe, TaskRepository, UserRepository};
use todo_persistence::{SeaReadiness, SeaTaskRepository, SeaUserRepository};

use crate::harness::*;

on_both!(
    migrations_are_idempotent,
    migrated = false,
    |t: Ctx| async move {
        let readiness = SeaReadiness::new(t.db.clone());
        let err = readiness.check().await.unwrap_err();
        assert!(
            matches!(err, PortError::Other(_)),
            "{}: not migrated yet",
            t.backend
        );
        todo_persistence::migrate(&t.db).await.unwrap();
        todo_persistence::migrate(&t.db).await.unwrap();
        assert_eq!(todo_migration::pending(&t.db).await.unwrap(), 0);
        readiness.check().await.unwrap();
    }
);

/// Better Auth's own tables, created before ours, without the admin plugin.
fn better_auth_ddl(backend: &str) -> [&'static str; 4] {
    if backend == "postgres" {
        [
            r#"CREATE TABLE "user" (id text NOT NULL PRIMARY KEY, name text NOT NULL, email text NOT NULL UNIQUE, "emailVerified" boolean NOT NULL, image text, "createdAt" timestamptz NOT NULL DEFAULT CURRENT_TIMESTAMP, "updatedAt" timestamptz NOT NULL DEFAULT CURRENT_TIMESTAMP)"#,
            r#"CREATE TABLE session (id text NOT NULL PRIMARY KEY, "expiresAt" timestamptz NOT NULL, token text NOT NULL UNIQUE, "createdAt" timestamptz NOT NULL DEFAULT CURRENT_TIMESTAMP, "updatedAt" timestamptz NOT NULL, "ipAddress" text, "userAgent" text, "userId" text NOT NULL REFERENCES "user"(id) ON DELETE CASCADE)"#,
            r#"INSERT INTO "user" (id, name, email, "emailVerified") VALUES ('PVL84nb3WKj8GHRW4JOgGQE0OvDh4NLr', 'Ada', 'ada@example.com', true)"#,
            r#"INSERT INTO session (id, "expiresAt", token, "updatedAt", "userId") VALUES ('s1', now() + interval '7 days', 'bvniPtqc6nEkDHoOovvuhuGN0t0vomv8', now(), 'PVL84nb3WKj8GHRW4JOgGQE0OvDh4NLr')"#,
        ]
    } else {
        [
            r#"CREATE TABLE "user" (id text NOT NULL PRIMARY KEY, name text NOT NULL, email text NOT NULL UNIQUE, "emailVerified" integer NOT NULL, image text, "createdAt" date NOT NULL, "updatedAt" date NOT NULL)"#,
            r#"CREATE TABLE session (id text NOT NULL PRIMARY KEY, "expiresAt" date NOT NULL, token text NOT NULL UNIQUE, "createdAt" date NOT NULL, "updatedAt" date NOT NULL, "ipAddress" text, "userAgent" text, "userId" text NOT NULL REFERENCES "user"(id) ON DELETE CASCADE)"#,
            r#"INSERT INTO "user" (id, name, email, "emailVerified", "createdAt", "updatedAt") VALUES ('PVL84nb3WKj8GHRW4JOgGQE0OvDh4NLr', 'Ada', 'ada@example.com', 1, '2026-11-01T10:00:00Z', '2026-11-01T10:00:00Z')"#,
            r#"INSERT INTO session (id, "expiresAt", token, "createdAt", "updatedAt", "userId") VALUES ('s1', '2099-01-01T00:00:00Z', 'bvniPtqc6nEkDHoOovvuhuGN0t0vomv8', '2026-11-01T10:00:00Z', '2026-11-01T10:00:00Z', 'PVL84nb3WKj8GHRW4JOgGQE0OvDh4NLr')"#,
        ]
    }
}

on_both!(
    migrations_adopt_better_auth_tables_without_the_admin_plugin,
    migrated = false,
    |t: Ctx| async move {
        for sql in better_auth_ddl(t.backend) {
            t.db.execute_unprepared(sql).await.unwrap();
        }
        todo_persistence::migrate(&t.db).await.unwrap();

        let users = SeaUserRepository::new(t.db.clone());
        let ada = users
            .find(&uid("PVL84nb3WKj8GHRW4JOgGQE0OvDh4NLr"))
            .await
            .unwrap()
            .unwrap();
        assert_eq!(
            ada.email, "ada@example.com",
            "{}: the row survives",
            t.backend
        );
        assert_eq!(ada.roles.to_stored(), "user");
        assert!(!ada.banned);
        // The existing row got the column's default, not a NULL read as "user".
        let row =
            t.db.query_one_raw(sea_orm::Statement::from_string(
                t.db.get_database_backend(),
                r#"SELECT role, banned, "banReason", "banExpires" FROM "user""#,
            ))
            .await
            .unwrap()
            .unwrap();
        assert_eq!(
            row.try_get::<Option<String>>("", "role")
                .unwrap()
                .as_deref(),
            Some("user"),
            "{}",
            t.backend
        );
        assert_eq!(row.try_get::<Option<bool>>("", "banned").unwrap(), None);
        assert_eq!(
            row.try_get::<Option<String>>("", "banReason").unwrap(),
            None
        );

        // The added columns work, and the task table references the existing users.
        assert!(
            users
                .set_role(&ada.id, &todo_domain::RoleList::parse("admin").unwrap())
                .await
                .unwrap()
        );
        let tasks = SeaTaskRepository::new(t.db.clone());
        inbox_in(&t.db, "PVL84nb3WKj8GHRW4JOgGQE0OvDh4NLr").await;
        tasks
            .insert(
                &task("PVL84nb3WKj8GHRW4JOgGQE0OvDh4NLr", 1, "adopted", at(5)),
                None,
            )
            .await
            .unwrap();
        let sessions =
            t.db.query_all_raw(sea_orm::Statement::from_string(
                t.db.get_database_backend(),
                "SELECT token FROM session",
            ))
            .await
            .unwrap();
        assert_eq!(sessions.len(), 1, "{}: sessions are kept", t.backend);

        // Running again changes nothing.
        todo_persistence::migrate(&t.db).await.unwrap();
        assert_eq!(todo_migration::pending(&t.db).await.unwrap(), 0);
    }
);

/// Lines of `sql`'s single text column `line`, in the order the query gives them.
async fn lines(t: &Ctx, sql: &str) -> Vec<String> {
    t.db.query_all_raw(sea_orm::Statement::from_string(
        t.db.get_database_backend(),
        sql,
    ))
    .await
    .unwrap()
    .iter()
    .map(|row| row.try_get::<String>("", "line").unwrap())
    .collect()
}

/// `account` and `verification` as the catalog describes them: one line per column (in
/// order: name, type, nullability, default), then per index, then per foreign key.
async fn core_tables_shape(t: &Ctx) -> Vec<String> {
    let queries = if t.backend == "postgres" {
        [
            r#"SELECT table_name || '.' || column_name || ' ' || data_type || ' '
                      || CASE WHEN is_nullable = 'NO' THEN 'not null' ELSE 'null' END
                      || COALESCE(' default ' || column_default, '') AS line
                 FROM information_schema.columns
                WHERE table_schema = current_schema()
                  AND table_name IN ('account', 'verification')
                ORDER BY table_name, ordinal_position"#,
            r#"SELECT tablename || ' index ' || indexname AS line FROM pg_indexes
                WHERE schemaname = current_schema()
                  AND tablename IN ('account', 'verification')
                ORDER BY tablename, indexname"#,
            r#"SELECT c.relname || ' ' || k.conname || ' ' || pg_get_constraintdef(k.oid) AS line
                 FROM pg_constraint k JOIN pg_class c ON c.oid = k.conrelid
                WHERE k.contype = 'f'
                  AND c.relnamespace = (SELECT oid FROM pg_namespace WHERE nspname = current_schema())
                  AND c.relname IN ('account', 'verification')
                ORDER BY c.relname, k.conname"#,
        ]
    } else {
        [
            r#"SELECT m.name || '.' || p.name || ' ' || lower(p.type) || ' '
                      || CASE WHEN p."notnull" THEN 'not null' ELSE 'null' END
                      || COALESCE(' default ' || p.dflt_value, '') AS line
                 FROM sqlite_master m, pragma_table_info(m.name) p
                WHERE m.type = 'table' AND m.name IN ('account', 'verification')
                ORDER BY m.name, p.cid"#,
            r#"SELECT m.name || ' index ' || i.name AS line
                 FROM sqlite_master m, pragma_index_list(m.name) i
                WHERE m.type = 'table' AND m.name IN ('account', 'verification')
                ORDER BY m.name, i.name"#,
            r#"SELECT m.name || '."' || f."from" || '" references "' || f."table" || '"('
                      || f."to" || ') on delete ' || f.on_delete AS line
                 FROM sqlite_master m, pragma_foreign_key_list(m.name) f
                WHERE m.type = 'table' AND m.name IN ('account', 'verification')
                ORDER BY m.name, f.id"#,
        ]
    };
    let mut shape = Vec::new();
    for sql in queries {
        shape.extend(lines(t, sql).await);
    }
    shape
}

/// What better-auth 1.7.24's own migration makes of `account` and `verification` on each
/// backend (PostgreSQL: `timestamptz`, `CURRENT_TIMESTAMP` defaults; SQLite: `date`, no
/// defaults), as `core_tables_shape` reads it.
fn better_auth_core_shape(backend: &str) -> Vec<String> {
    let pg = backend == "postgres";
    let moment = if pg {
        "timestamp with time zone"
    } else {
        "date"
    };
    let now = if pg { " default CURRENT_TIMESTAMP" } else { "" };
    let mut shape: Vec<String> = [
        ("account.id", "text", "not null", ""),
        ("account.accountId", "text", "not null", ""),
        ("account.providerId", "text", "not null", ""),
        ("account.userId", "text", "not null", ""),
        ("account.accessToken", "text", "null", ""),
        ("account.refreshToken", "text", "null", ""),
        ("account.idToken", "text", "null", ""),
        ("account.accessTokenExpiresAt", moment, "null", ""),
        ("account.refreshTokenExpiresAt", moment, "null", ""),
        ("account.scope", "text", "null", ""),
        ("account.password", "text", "null", ""),
        ("account.createdAt", moment, "not null", now),
        ("account.updatedAt", moment, "not null", ""),
        ("verification.id", "text", "not null", ""),
        ("verification.identifier", "text", "not null", ""),
        ("verification.value", "text", "not null", ""),
        ("verification.expiresAt", moment, "not null", ""),
        ("verification.createdAt", moment, "not null", now),
        ("verification.updatedAt", moment, "not null", now),
    ]
    .iter()
    .map(|(column, ty, null, default)| format!("{column} {ty} {null}{default}"))
    .collect();
    if pg {
        shape.extend(
            [
                "account index account_pkey",
                "account index account_userId_idx",
                "verification index verification_identifier_idx",
                "verification index verification_pkey",
                r#"account account_userId_fkey FOREIGN KEY ("userId") REFERENCES "user"(id) ON DELETE CASCADE"#,
            ]
            .map(str::to_owned),
        );
    } else {
        shape.extend(
            [
                "account index account_userId_idx",
                "account index sqlite_autoindex_account_1",
                "verification index sqlite_autoindex_verification_1",
                "verification index verification_identifier_idx",
                r#"account."userId" references "user"(id) on delete CASCADE"#,
            ]
            .map(str::to_owned),
        );
    }
    shape
}

/// Rows Better Auth writes on an e-mail sign-up (plus a pending verification), on the
/// user `id`; the dates as each backend's adapter stores them.
fn sign_up_rows(backend: &str, id: &str) -> [String; 3] {
    let (now, verified) = if backend == "postgres" {
        ("now()", "false")
    } else {
        ("'2026-12-03T10:00:00.000Z'", "0")
    };
    [
        format!(
            r#"INSERT INTO "user" (id, name, email, "emailVerified", "createdAt", "updatedAt") VALUES ('{id}', 'Mo', '{id}@example.com', {verified}, {now}, {now})"#
        ),
        format!(
            r#"INSERT INTO account (id, "accountId", "providerId", "userId", password, "createdAt", "updatedAt") VALUES ('a-{id}', '{id}', 'credential', '{id}', 'salt:hash', {now}, {now})"#
        ),
        format!(
            r#"INSERT INTO verification (id, identifier, value, "expiresAt", "createdAt", "updatedAt") VALUES ('v-{id}', 'reset-password:token', '{id}', {now}, {now}, {now})"#
        ),
    ]
}

// On a database migrated by this service alone, Better Auth finds `account` and
// `verification` exactly as its own migration would have made them; running again is a
// no-op.
on_both!(
    migrations_create_better_auths_account_and_verification,
    migrated = false,
    |t: Ctx| async move {
        todo_persistence::migrate(&t.db).await.unwrap();
        let shape = core_tables_shape(&t).await;
        assert_eq!(shape, better_auth_core_shape(t.backend), "{}", t.backend);

        // Better Auth's rows go in; deleting the user takes its account with it.
        for sql in sign_up_rows(t.backend, "mo") {
            t.db.execute_unprepared(&sql).await.unwrap();
        }
        assert!(
            SeaUserRepository::new(t.db.clone())
                .delete(&uid("mo"), &uid("root"), at(90))
                .await
                .unwrap()
        );
        assert_eq!(
            count_of(&t, "SELECT COUNT(*) AS n FROM account").await,
            0,
            "{}: the account goes with its user",
            t.backend
        );

        todo_persistence::migrate(&t.db).await.unwrap();
        assert_eq!(todo_migration::pending(&t.db).await.unwrap(), 0);
        assert_eq!(core_tables_shape(&t).await, shape, "{}", t.backend);
    }
);

/// Better Auth's own migration (email + password, `admin` plugin), statement for
/// statement as better-auth 1.7.24 issues it on each backend.
fn better_auth_migration(backend: &str) -> [&'static str; 7] {
    if backend == "postgres" {
        [
            r#"create table "user" ("id" text not null primary key, "name" text not null, "email" text not null unique, "emailVerified" boolean not null, "image" text, "createdAt" timestamptz default CURRENT_TIMESTAMP not null, "updatedAt" timestamptz default CURRENT_TIMESTAMP not null, "role" text, "banned" boolean, "banReason" text, "banExpires" timestamptz)"#,
            r#"create table "session" ("id" text not null primary key, "expiresAt" timestamptz not null, "token" text not null unique, "createdAt" timestamptz default CURRENT_TIMESTAMP not null, "updatedAt" timestamptz not null, "ipAddress" text, "userAgent" text, "userId" text not null references "user" ("id") on delete cascade, "impersonatedBy" text)"#,
            r#"create table "account" ("id" text not null primary key, "accountId" text not null, "providerId" text not null, "userId" text not null references "user" ("id") on delete cascade, "accessToken" text, "refreshToken" text, "idToken" text, "accessTokenExpiresAt" timestamptz, "refreshTokenExpiresAt" timestamptz, "scope" text, "password" text, "createdAt" timestamptz default CURRENT_TIMESTAMP not null, "updatedAt" timestamptz not null)"#,
            r#"create table "verification" ("id" text not null primary key, "identifier" text not null, "value" text not null, "expiresAt" timestamptz not null, "createdAt" timestamptz default CURRENT_TIMESTAMP not null, "updatedAt" timestamptz default CURRENT_TIMESTAMP not null)"#,
            r#"create index "session_userId_idx" on "session" ("userId")"#,
            r#"create index "account_userId_idx" on "account" ("userId")"#,
            r#"create index "verification_identifier_idx" on "verification" ("identifier")"#,
        ]
    } else {
        [
            r#"create table "user" ("id" text not null primary key, "name" text not null, "email" text not null unique, "emailVerified" integer not null, "image" text, "createdAt" date not null, "updatedAt" date not null, "role" text, "banned" integer, "banReason" text, "banExpires" date)"#,
            r#"create table "session" ("id" text not null primary key, "expiresAt" date not null, "token" text not null unique, "createdAt" date not null, "updatedAt" date not null, "ipAddress" text, "userAgent" text, "userId" text not null references "user" ("id") on delete cascade, "impersonatedBy" text)"#,
            r#"create table "account" ("id" text not null primary key, "accountId" text not null, "providerId" text not null, "userId" text not null references "user" ("id") on delete cascade, "accessToken" text, "refreshToken" text, "idToken" text, "accessTokenExpiresAt" date, "refreshTokenExpiresAt" date, "scope" text, "password" text, "createdAt" date not null, "updatedAt" date not null)"#,
            r#"create table "verification" ("id" text not null primary key, "identifier" text not null, "value" text not null, "expiresAt" date not null, "createdAt" date not null, "updatedAt" date not null)"#,
            r#"create index "session_userId_idx" on "session" ("userId")"#,
            r#"create index "account_userId_idx" on "account" ("userId")"#,
            r#"create index "verification_identifier_idx" on "verification" ("identifier")"#,
        ]
    }
}

// Better Auth migrated first: its `account` and `verification` are adopted as they are,
// rows and all, and migrating again changes nothing.
on_both!(
    migrations_adopt_better_auths_account_and_verification,
    migrated = false,
    |t: Ctx| async move {
        for sql in better_auth_migration(t.backend) {
            t.db.execute_unprepared(sql).await.unwrap();
        }
        for sql in sign_up_rows(t.backend, "mo") {
            t.db.execute_unprepared(&sql).await.unwrap();
        }
        let before = core_tables_shape(&t).await;
        assert_eq!(before, better_auth_core_shape(t.backend), "{}", t.backend);

        todo_persistence::migrate(&t.db).await.unwrap();
        assert_eq!(
            core_tables_shape(&t).await,
            before,
            "{}: untouched",
            t.backend
        );
        let kept = lines(
            &t,
            r#"SELECT "providerId" || ' ' || password AS line FROM account
               UNION ALL SELECT identifier || ' ' || value FROM verification"#,
        )
        .await;
        assert_eq!(
            kept,
            ["credential salt:hash", "reset-password:token mo"],
            "{}",
            t.backend
        );

        todo_persistence::migrate(&t.db).await.unwrap();
        assert_eq!(todo_migration::pending(&t.db).await.unwrap(), 0);
        assert_eq!(core_tables_shape(&t).await, before, "{}", t.backend);
    }
);

on_both!(a_closed_pool_is_unavailable, |t: Ctx| async move {
    let tasks = SeaTaskRepository::new(t.db.clone());
    t.db.close_by_ref().await.unwrap();
    let err = tasks.get(&uid("alice"), tid(1)).await.unwrap_err();
    assert!(
        matches!(err, PortError::Unavailable(_)),
        "{}: {err:?}",
        t.backend
    );
    let err = SeaReadiness::new(t.db.clone()).check().await.unwrap_err();
    assert!(
        matches!(err, PortError::Unavailable(_)),
        "{}: {err:?}",
        t.backend
    );
});

#[tokio::test]
async fn an_unreachable_server_fails_fast_with_a_clear_error() {
    let second = std::time::Duration::from_secs(1);
    let pool = todo_persistence::PoolSettings {
        acquire_timeout: second,
        ..todo_persistence::PoolSettings::default()
    };
    let started = Instant::now();
    let err = todo_persistence::connect("postgres://app:hunter2@127.0.0.1:1/app", &pool)
        .await
        .unwrap_err();
    assert!(started.elapsed() < 5 * second, "{:?}", started.elapsed());
    let text = err.to_string();
    assert!(text.contains("cannot connect"), "{text}");
    assert!(
        !text.contains("hunter2"),
        "the password never appears: {text}"
    );

    // The driver quotes a URL it cannot parse: the password is blanked out of it.
    let err = todo_persistence::connect("postgres://app:hunter2@127.0.0.1:port/app", &pool)
        .await
        .unwrap_err();
    assert!(!err.to_string().contains("hunter2"), "{err}");

    let err = todo_persistence::connect("mysql://x@y/z", &pool)
        .await
        .unwrap_err();
    assert!(err.to_string().contains("unsupported scheme"));
}

/// A pool whose server is gone: every port reports `Unavailable` within the acquire
/// timeout instead of hanging.
#[tokio::test]
async fn a_dead_server_is_unavailable_within_the_acquire_timeout() {
    let second = std::time::Duration::from_secs(1);
    let mut options = sea_orm::ConnectOptions::new("postgres://app@127.0.0.1:1/app");
    options
        .connect_lazy(true)
        .acquire_timeout(second)
        .connect_timeout(second)
        .sqlx_logging(false);
    let db = sea_orm::Database::connect(options).await.unwrap();

    let started = Instant::now();
    let err = SeaTaskRepository::new(db.clone())
        .get(&uid("alice"), tid(1))
        .await
        .unwrap_err();
    assert!(matches!(err, PortError::Unavailable(_)), "{err:?}");
    let err = SeaUserRepository::new(db.clone())
        .delete(&uid("alice"), &uid("root"), at(90))
        .await
        .unwrap_err();
    assert!(matches!(err, PortError::Unavailable(_)), "{err:?}");
    let err = SeaReadiness::new(db.clone()).check().await.unwrap_err();
    assert!(matches!(err, PortError::Unavailable(_)), "{err:?}");
    let err = todo_persistence::migrate(&db).await.unwrap_err();
    assert!(matches!(err, PortError::Unavailable(_)), "{err:?}");
    assert!(
        started.elapsed() < 4 * 2 * second,
        "four calls took {:?}",
        started.elapsed()
    );
}

#[tokio::test]
async fn a_sqlite_file_pool_shares_its_writes_across_connections() {
    let dir = std::env::temp_dir().join(format!("todo-adapters-{}", uuid::Uuid::now_v7().simple()));
    let url = format!("sqlite://{}/nested/todo.db", dir.display());
    let pool = todo_persistence::PoolSettings {
        max_connections: 4,
        ..todo_persistence::PoolSettings::default()
    };
    let db = todo_persistence::connect(&url, &pool).await.unwrap();
    todo_persistence::migrate(&db).await.unwrap();
    assert!(
        dir.join("nested/todo.db").exists(),
        "directory and file are created"
    );
    let mode: String = sea_orm::sqlx::query_scalar("PRAGMA journal_mode")
        .fetch_one(db.get_sqlite_connection_pool())
        .await
        .unwrap();
    assert_eq!(mode, "wal");

    // Hold one connection, write through the others, read on the held one.
    let mut held = db.get_sqlite_connection_pool().acquire().await.unwrap();
    let users = SeaUserRepository::new(db.clone());
    users
        .create_if_absent(&user("alice", None, 1))
        .await
        .unwrap();
    let tasks = std::sync::Arc::new(SeaTaskRepository::new(db.clone()));
    inbox_in(&db, "alice").await;
    tasks
        .insert(&task("alice", 1, "shared", at(2)), None)
        .await
        .unwrap();
    let seen: String = sea_orm::sqlx::query_scalar("SELECT title FROM task")
        .fetch_one(&mut *held)
        .await
        .unwrap();
    assert_eq!(seen, "shared");
    drop(held);

    let reads = (0..8).map(|_| {
        let tasks = tasks.clone();
        tokio::spawn(async move { tasks.read(&uid("alice"), tid(1)).await })
    });
    for read in reads {
        assert_eq!(read.await.unwrap().unwrap().title.as_str(), "shared");
    }
    db.close().await.unwrap();
    std::fs::remove_dir_all(&dir).ok();
}

/// Replicas starting at once: the advisory lock makes them take turns.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn instances_starting_together_migrate_one_after_the_other() {
    let Some(pg) = postgres().await else { return };
    let pool = todo_persistence::PoolSettings::default();
    let mut instances = Vec::new();
    for _ in 0..3 {
        instances.push(todo_persistence::connect(&pg.url, &pool).await.unwrap());
    }
    let runs: Vec<_> = instances
        .into_iter()
        .map(|db| tokio::spawn(async move { todo_persistence::migrate(&db).await }))
        .collect();
    for run in runs {
        run.await.unwrap().unwrap();
    }
    assert_eq!(todo_migration::pending(&pg.db).await.unwrap(), 0);
}

/// The table the FastAPI + SQLModel service created (PostgreSQL).
#[tokio::test]
async fn a_fastapi_task_table_is_adopted_with_every_row() {
    let Some(pg) = postgres().await else { return };
    let db = &pg.db;
    for sql in [
        r#"CREATE TABLE "user" (id text NOT NULL PRIMARY KEY, name text NOT NULL, email text NOT NULL UNIQUE, "emailVerified" boolean NOT NULL, image text, "createdAt" timestamptz NOT NULL DEFAULT CURRENT_TIMESTAMP, "updatedAt" timestamptz NOT NULL DEFAULT CURRENT_TIMESTAMP)"#,
        r#"INSERT INTO "user" (id, name, email, "emailVerified") VALUES ('u1', 'Ada', 'ada@example.com', true)"#,
        r#"CREATE TABLE task (id VARCHAR NOT NULL PRIMARY KEY, user_id VARCHAR NOT NULL, title VARCHAR NOT NULL, description VARCHAR, completed BOOLEAN NOT NULL, created_at TIMESTAMP WITHOUT TIME ZONE NOT NULL, updated_at TIMESTAMP WITHOUT TIME ZONE NOT NULL)"#,
        r#"INSERT INTO task VALUES ('6f1c0a2e-4a51-4f0e-9d2b-3f6a1b2c3d4e', 'u1', 'From FastAPI', NULL, false, '2025-06-01 10:00:00.123456', '2025-06-02 11:30:00')"#,
        r#"INSERT INTO task VALUES ('0b9f6a1c-2d3e-4f50-8a6b-7c8d9e0f1a2b', 'u1', 'Done already', 'notes', true, '2025-06-03 08:00:00', '2025-06-03 09:00:00')"#,
    ] {
        db.execute_unprepared(sql).await.unwrap();
    }
    todo_persistence::migrate(db).await.unwrap();

    let tasks = SeaTaskRepository::new(db.clone());
    let rows = plain_page(&tasks, &uid("u1"), 10, None).await;
    assert_eq!(rows.len(), 2, "every row is kept");
    let first = &rows[0];
    assert_eq!(first.id.to_string(), "6f1c0a2e-4a51-4f0e-9d2b-3f6a1b2c3d4e");
    assert_eq!(first.title.as_str(), "From FastAPI");
    assert_eq!(
        first.created_at,
        chrono::DateTime::parse_from_rfc3339("2025-06-01T10:00:00.123456Z").unwrap(),
        "naive timestamps are read as UTC"
    );
    assert!(rows[1].completed);
    assert_eq!(rows[1].description.as_ref().unwrap().as_str(), "notes");
    // New tasks go in beside them.
    let inbox = inbox_in(db, "u1").await;
    assert_eq!(rows[0].list, inbox, "the older tasks are in the Inbox");
    tasks
        .insert(
            &in_list(task("u1", 3, "new", at(1_800_000_000)), inbox),
            None,
        )
        .await
        .unwrap();
    assert_eq!(plain_page(&tasks, &uid("u1"), 10, None).await.len(), 3);
}

/// Requests queueing for a connection show in the pool metrics, and stop showing once served.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn operations_queueing_for_a_connection_are_counted_as_waiting() {
    use todo_application::ports::PoolMetrics;
    let Some(pg) = postgres().await else { return };
    todo_persistence::migrate(&pg.db).await.unwrap();
    let one = todo_persistence::PoolSettings {
        max_connections: 1,
        ..todo_persistence::PoolSettings::default()
    };
    let db = todo_persistence::connect(&pg.url, &one).await.unwrap();
    let metrics = todo_persistence::SeaPoolMetrics::new(db.clone(), 1);
    // Another session locks the table: the first read holds the only connection, blocked.
    let locker = todo_persistence::connect(&pg.url, &one).await.unwrap();
    let lock = sea_orm::TransactionTrait::begin(&locker).await.unwrap();
    lock.execute_unprepared("LOCK TABLE task IN ACCESS EXCLUSIVE MODE")
        .await
        .unwrap();
    let reads: Vec<_> = (0..3)
        .map(|_| {
            let tasks = SeaTaskRepository::new(db.clone());
            tokio::spawn(async move { tasks.get(&uid("alice"), tid(1)).await })
        })
        .collect();
    let deadline = Instant::now() + std::time::Duration::from_secs(5);
    let mut seen = metrics.stats();
    // Until the first read holds the connection: an operation counts as waiting from before
    // it asks the pool, so for a moment all three wait beside an idle connection.
    while (seen.waiting < 2 || seen.idle > 0) && Instant::now() < deadline {
        tokio::time::sleep(std::time::Duration::from_millis(10)).await;
        seen = metrics.stats();
    }
    assert_eq!((seen.size, seen.idle), (1, 0), "{seen:?}");
    assert!(
        seen.waiting >= 2,
        "two reads wait behind the blocked one: {seen:?}"
    );
    lock.rollback().await.unwrap();
    for read in reads {
        assert_eq!(read.await.unwrap().unwrap(), None);
    }
    let deadline = Instant::now() + std::time::Duration::from_secs(5);
    while metrics.stats().waiting > 0 && Instant::now() < deadline {
        tokio::time::sleep(std::time::Duration::from_millis(10)).await;
    }
    assert_eq!(metrics.stats().waiting, 0, "{:?}", metrics.stats());
}

/// A server's HTTP workers each get their own PostgreSQL pool, opened on first use on that
/// thread; multi-threaded callers share the start-up pool; metrics add them all up.
#[test]
fn each_serving_thread_gets_its_own_pool() {
    use todo_application::ports::PoolMetrics;
    let main = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .unwrap();
    let Some(pg) = main.block_on(postgres()) else {
        return;
    };
    main.block_on(todo_persistence::migrate(&pg.db)).unwrap();
    let settings = todo_persistence::PoolSettings {
        max_connections: 4,
        ..todo_persistence::PoolSettings::default()
    };
    let db = main
        .block_on(todo_persistence::connect_per_thread(&pg.url, &settings, 2))
        .unwrap();
    let metrics = todo_persistence::SeaPoolMetrics::new(db.clone(), 4);
    let at_start = metrics.stats().size;
    main.block_on(SeaTaskRepository::new(db.clone()).get(&uid("alice"), tid(1)))
        .unwrap();
    assert_eq!(
        metrics.stats().size,
        at_start,
        "start-up work uses the shared pool"
    );

    // Workers stay alive (their runtimes not dropped) until the pools have been counted: a
    // runtime that goes away takes the connections its pool was driving with it.
    let counted = std::sync::Arc::new(std::sync::Barrier::new(3));
    let workers: Vec<_> = (0..2)
        .map(|_| {
            let db = db.clone();
            let counted = counted.clone();
            std::thread::spawn(move || {
                let rt = tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .build()
                    .unwrap();
                rt.block_on(async {
                    let tasks = SeaTaskRepository::new(db.clone());
                    assert_eq!(tasks.read(&uid("alice"), tid(1)).await, None);
                    SeaReadiness::new(db).check().await.unwrap();
                });
                counted.wait(); // done
                counted.wait(); // counted
                drop(rt);
            })
        })
        .collect();
    counted.wait();
    let stats = metrics.stats();
    let shared = db.shared().get_postgres_connection_pool().size();
    counted.wait();
    for worker in workers {
        worker.join().unwrap();
    }
    assert_eq!(shared, at_start, "workers leave the shared pool alone");
    // A released connection is pinged before it is idle again, so a worker may have opened
    // a second one for its second query; at least one each, never past its own maximum.
    assert!(
        (at_start + 2..=at_start + 2 * 4).contains(&stats.size),
        "each worker opened its own connections: {stats:?}"
    );
    assert_eq!(stats.max, 4);

    main.block_on(db.close()).unwrap();
    let err = main
        .block_on(SeaTaskRepository::new(db.clone()).get(&uid("alice"), tid(1)))
        .unwrap_err();
    assert!(matches!(err, PortError::Unavailable(_)), "{err:?}");
}

/// SQLite keeps one pool whatever thread asks.
#[test]
fn sqlite_keeps_one_shared_pool() {
    use todo_application::ports::PoolMetrics;
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let dir = std::env::temp_dir().join(format!("todo-pools-{}", uuid::Uuid::now_v7().simple()));
    let url = format!("sqlite://{}/todo.db", dir.display());
    let settings = todo_persistence::PoolSettings::default();
    let db = rt
        .block_on(todo_persistence::connect_per_thread(&url, &settings, 2))
        .unwrap();
    rt.block_on(todo_persistence::migrate(db.shared())).unwrap();
    let metrics = todo_persistence::SeaPoolMetrics::new(db.clone(), settings.max_connections);
    rt.block_on(SeaTaskRepository::new(db.clone()).get(&uid("alice"), tid(1)))
        .unwrap();
    assert_eq!(db.pool_count(), 1, "no second pool");
    // The metrics read that one pool (its connections open lazily, so only a bound).
    assert!(metrics.stats().size <= settings.max_connections);
    rt.block_on(db.close()).unwrap();
    std::fs::remove_dir_all(&dir).ok();
}

// Tasks written before the organising columns existed keep every value, and read back
// with the defaults: no priority or tags, not due, version 1, and a completed one was
// completed when it was last updated.
on_both!(
    tasks_from_before_the_organising_columns_survive,
    migrated = false,
    |t: Ctx| async move {
        use todo_migration::{Migrator, MigratorTrait};
        // The schema of the version before: the first three migrations.
        Migrator::up(&t.db, Some(3)).await.unwrap();
        assert_eq!(todo_migration::pending(&t.db).await.unwrap(), 11);
        SeaUserRepository::new(t.db.clone())
            .create_if_absent(&user("alice", None, 1))
            .await
            .unwrap();
        // An older version may have added one of the columns already.
        t.db.execute_unprepared("ALTER TABLE task ADD COLUMN priority smallint")
            .await
            .unwrap();
        let backend = t.db.get_database_backend();
        let placeholders: Vec<String> = (1..=7)
            .map(|i| match backend {
                sea_orm::DbBackend::Postgres => format!("${i}"),
                _ => "?".to_owned(),
            })
            .collect();
        let insert = format!(
            "INSERT INTO task (id, user_id, title, description, completed, created_at, \
             updated_at) VALUES ({})",
            placeholders.join(", ")
        );
        let created = at(1_700_000_000) + chrono::TimeDelta::microseconds(123_456);
        let updated = at(1_700_000_100) + chrono::TimeDelta::microseconds(654_321);
        for (n, title, description, completed) in [
            (1, "done before", Some("notes"), true),
            (2, "still open", None, false),
        ] {
            t.db.execute_raw(sea_orm::Statement::from_sql_and_values(
                backend,
                &insert,
                [
                    tid(n).as_uuid().into(),
                    "alice".into(),
                    title.into(),
                    description.map(str::to_owned).into(),
                    completed.into(),
                    created.into(),
                    updated.into(),
                ],
            ))
            .await
            .unwrap();
        }

        todo_persistence::migrate(&t.db).await.unwrap();
        assert_eq!(todo_migration::pending(&t.db).await.unwrap(), 0);

        let tasks = SeaTaskRepository::new(t.db.clone());
        // Both went into the Inbox the migration made for alice.
        let inbox = inbox_in(&t.db, "alice").await;
        let mut done = in_list(task("alice", 1, "done before", created), inbox);
        done.description = todo_domain::TaskDescription::parse("notes").unwrap();
        done.updated_at = updated;
        done.completed = true;
        done.completed_at = Some(updated);
        let mut open = in_list(task("alice", 2, "still open", created), inbox);
        open.updated_at = updated;
        let rows = plain_page(&tasks, &uid("alice"), 10, None).await;
        assert_eq!(rows, [done.clone(), open.clone()], "{}", t.backend);
        for row in &rows {
            assert_eq!(row.version, 1);
            assert!(row.tags.is_empty());
            assert_eq!((row.priority, row.due, row.remind_at), (None, None, None));
            assert_eq!((row.recurrence.as_ref(), row.time_zone), (None, None));
            assert_eq!(row.occurrences_done, 0);
        }

        // The new columns work at once, and running again changes nothing.
        assert!(
            tasks
                .toggle_completed(&uid("alice"), tid(2), at(1_800_000_000), Some(1))
                .await
                .unwrap()
                .is_some()
        );
        todo_persistence::migrate(&t.db).await.unwrap();
        assert_eq!(
            tasks.read(&uid("alice"), tid(1)).await,
            Some(done.clone()),
            "{}",
            t.backend
        );

        // Down and up again (this migration and the ten after it, the third of which
        // keeps Better Auth's tables): the columns go and come back, the rows stay.
        Migrator::down(&t.db, Some(11)).await.unwrap();
        let columns = if t.backend == "postgres" {
            "SELECT COUNT(*) AS n FROM information_schema.columns \
             WHERE table_schema = current_schema() AND table_name = 'task'"
        } else {
            "SELECT COUNT(*) AS n FROM pragma_table_info('task')"
        };
        let count_columns = || async {
            t.db.query_one_raw(sea_orm::Statement::from_string(backend, columns))
                .await
                .unwrap()
                .unwrap()
                .try_get::<i64>("", "n")
                .unwrap()
        };
        assert_eq!(count_columns().await, 7, "{}", t.backend);
        todo_persistence::migrate(&t.db).await.unwrap();
        assert_eq!(count_columns().await, 26, "{}", t.backend);
        // Lists went down with the migration: up again, it is in a new Inbox.
        let inbox = inbox_in(&t.db, "alice").await;
        assert_eq!(
            tasks.read(&uid("alice"), tid(1)).await,
            Some(in_list(done, inbox)),
            "{}",
            t.backend
        );
    }
);

/// The ids `filter` finds among alice's tasks, oldest first.
async fn found(tasks: &SeaTaskRepository, filter: todo_domain::TaskFilter) -> Vec<u128> {
    let query = todo_domain::TaskQuery {
        filter,
        sort: todo_domain::Sort::default(),
        window: todo_domain::DueWindow::at(at(2_000_000_000), todo_domain::TimeZone::UTC),
    };
    tasks
        .search(&uid("alice"), &query, 1000, None)
        .await
        .unwrap()
        .iter()
        .map(|t| t.id.as_uuid().as_u128())
        .collect()
}

/// `n` of a `SELECT COUNT(*) AS n …`.
async fn count_of(t: &Ctx, sql: &str) -> i64 {
    t.db.query_one_raw(sea_orm::Statement::from_string(
        t.db.get_database_backend(),
        sql,
    ))
    .await
    .unwrap()
    .unwrap()
    .try_get::<i64>("", "n")
    .unwrap()
}

/// The task table's indexes, by name.
async fn task_indexes(t: &Ctx) -> Vec<String> {
    let sql = if t.backend == "postgres" {
        "SELECT indexname::text AS name FROM pg_indexes \
         WHERE schemaname = current_schema() AND tablename = 'task'"
    } else {
        "SELECT name FROM sqlite_master WHERE type = 'index' AND tbl_name = 'task'"
    };
    let mut names: Vec<String> =
        t.db.query_all_raw(sea_orm::Statement::from_string(
            t.db.get_database_backend(),
            sql,
        ))
        .await
        .unwrap()
        .iter()
        .map(|row| row.try_get::<String>("", "name").unwrap())
        .collect();
    names.sort();
    names
}

/// The search keys stored for the task titled "Report".
async fn report_keys(t: &Ctx) -> [String; 3] {
    let row =
        t.db.query_one_raw(sea_orm::Statement::from_string(
            t.db.get_database_backend(),
            "SELECT title_key, search_key, tags_key FROM task WHERE title = 'Report'",
        ))
        .await
        .unwrap()
        .unwrap();
    ["title_key", "search_key", "tags_key"].map(|c| row.try_get::<String>("", c).unwrap())
}

/// What the old tasks of `tasks_from_before_the_search_keys_are_found_by_them` are found by.
async fn old_tasks_are_found(t: &Ctx) {
    use todo_domain::{SearchText, Tag, TaskFilter};
    let tasks = SeaTaskRepository::new(t.db.clone());
    let text = |q: &str| TaskFilter {
        text: Some(SearchText::parse(q).unwrap()),
        ..TaskFilter::default()
    };
    let tags = |raw: &[&str]| TaskFilter {
        tags: raw.iter().map(|r| Tag::parse(r).unwrap()).collect(),
        ..TaskFilter::default()
    };
    assert_eq!(
        found(&tasks, text("äpfel")).await,
        [7, 300],
        "{}",
        t.backend
    );
    assert_eq!(found(&tasks, text("ÄPFEL")).await, [7, 300]);
    assert_eq!(found(&tasks, text("grüne")).await, [300], "{}", t.backend);
    assert_eq!(found(&tasks, text("notes 449")).await, [449]);
    assert_eq!(found(&tasks, tags(&["küche"])).await, [7], "{}", t.backend);
    assert_eq!(found(&tasks, tags(&["KÜCHE", "einkauf"])).await, [7]);
    assert_eq!(found(&tasks, tags(&["work"])).await, [300], "{}", t.backend);
    assert!(found(&tasks, tags(&["Einkauf", "Work"])).await.is_empty());
    assert_eq!(
        count_of(
            t,
            "SELECT COUNT(*) AS n FROM task WHERE title_key = '' OR search_key = ''"
        )
        .await,
        0,
        "{}: every row has its keys",
        t.backend
    );
}

// Tasks written before the search keys existed get them from the migration, computed
// exactly as the repository computes them: found by a keyword beyond ASCII in any case
// and by a tag spelled in another case. More rows than one batch of the backfill.
on_both!(
    tasks_from_before_the_search_keys_are_found_by_them,
    migrated = false,
    |t: Ctx| async move {
        use todo_migration::{Migrator, MigratorTrait};
        // The schema of the version before: the first four migrations.
        Migrator::up(&t.db, Some(4)).await.unwrap();
        assert_eq!(todo_migration::pending(&t.db).await.unwrap(), 10);
        SeaUserRepository::new(t.db.clone())
            .create_if_absent(&user("alice", None, 1))
            .await
            .unwrap();
        let backend = t.db.get_database_backend();
        let placeholders: Vec<String> = (1..=8)
            .map(|i| match backend {
                sea_orm::DbBackend::Postgres => format!("${i}"),
                _ => "?".to_owned(),
            })
            .collect();
        let insert = format!(
            "INSERT INTO task (id, user_id, title, description, completed, created_at, \
             updated_at, tags) VALUES ({})",
            placeholders.join(", ")
        );
        for n in 1..=450_u128 {
            let (title, description, tags) = match n {
                7 => ("ÄPFEL kaufen".to_owned(), None, "Einkauf\nKüche"),
                300 => (
                    "Report".to_owned(),
                    Some("Zahlen für GRÜNE Äpfel".to_owned()),
                    "Work",
                ),
                _ => (format!("Task {n}"), Some(format!("notes {n}")), ""),
            };
            let created = at(1_000 + i64::try_from(n).unwrap());
            t.db.execute_raw(sea_orm::Statement::from_sql_and_values(
                backend,
                &insert,
                [
                    tid(n).as_uuid().into(),
                    "alice".into(),
                    title.into(),
                    description.into(),
                    false.into(),
                    created.into(),
                    created.into(),
                    tags.into(),
                ],
            ))
            .await
            .unwrap();
        }

        todo_persistence::migrate(&t.db).await.unwrap();
        assert_eq!(todo_migration::pending(&t.db).await.unwrap(), 0);
        old_tasks_are_found(&t).await;

        // Every old task got the position a new task created at its time gets: the manual
        // order starts as the creation order.
        assert_eq!(
            count_of(&t, "SELECT COUNT(*) AS n FROM task WHERE position = ''").await,
            0,
            "{}",
            t.backend
        );
        let tasks = SeaTaskRepository::new(t.db.clone());
        for n in [1_u128, 201, 450] {
            let created = at(1_000 + i64::try_from(n).unwrap());
            let read = tasks.read(&uid("alice"), tid(n)).await.unwrap();
            let stored = count_of(
                &t,
                &format!(
                    "SELECT COUNT(*) AS n FROM task WHERE position = '{}'",
                    todo_domain::Position::initial(created, tid(n))
                ),
            )
            .await;
            assert_eq!(
                (read.position.as_str().len() > 10, stored),
                (true, 1),
                "{}: {n}",
                t.backend
            );
        }

        // What the migration computed is what the repository writes.
        let backfilled = report_keys(&t).await;
        assert_eq!(
            backfilled,
            ["report", "report\nzahlen für grüne äpfel", "\nwork\n"],
            "{}",
            t.backend
        );
        let tasks = SeaTaskRepository::new(t.db.clone());
        let report = tasks.read(&uid("alice"), tid(300)).await.unwrap();
        let rewritten = todo_domain::Task {
            version: 2,
            ..report
        };
        assert!(tasks.replace(&rewritten, 1, &any_edit()).await.unwrap());
        assert_eq!(report_keys(&t).await, backfilled, "{}", t.backend);

        // Its indexes; running again changes nothing.
        let indexes = task_indexes(&t).await;
        // (per list since the lists: `m20261203_000010_list_orders` replaced the per-user ones)
        let mine = [
            "idx_task_list_due",
            "idx_task_list_priority",
            "idx_task_list_status",
            "idx_task_list_title",
            "idx_task_list_updated",
        ];
        let mut expected = mine.to_vec();
        if t.backend == "postgres" {
            expected.extend(["idx_task_list_due_desc", "idx_task_list_priority_desc"]);
            let trgm = count_of(
                &t,
                "SELECT COUNT(*) AS n FROM pg_available_extensions WHERE name = 'pg_trgm'",
            )
            .await;
            if trgm > 0 {
                expected.extend(["idx_task_search_trgm", "idx_task_tags_trgm"]);
            }
        }
        for name in expected.iter().chain(&["idx_task_user_created"]) {
            assert!(
                indexes.iter().any(|i| i == name),
                "{}: {name} in {indexes:?}",
                t.backend
            );
        }
        todo_persistence::migrate(&t.db).await.unwrap();
        assert_eq!(task_indexes(&t).await, indexes);

        // Down (with the nine after it, the second of which keeps Better Auth's tables):
        // its indexes and columns go, the rows stay. Up: the keys are back.
        Migrator::down(&t.db, Some(10)).await.unwrap();
        let after_down = task_indexes(&t).await;
        assert!(
            after_down.iter().all(|i| !expected.contains(&i.as_str())),
            "{}: {after_down:?}",
            t.backend
        );
        assert!(after_down.iter().any(|i| i == "idx_task_user_created"));
        let columns = if t.backend == "postgres" {
            "SELECT COUNT(*) AS n FROM information_schema.columns \
             WHERE table_schema = current_schema() AND table_name = 'task'"
        } else {
            "SELECT COUNT(*) AS n FROM pragma_table_info('task')"
        };
        assert_eq!(count_of(&t, columns).await, 17, "{}", t.backend);
        todo_persistence::migrate(&t.db).await.unwrap();
        assert_eq!(count_of(&t, columns).await, 26, "{}", t.backend);
        old_tasks_are_found(&t).await;
    }
);
