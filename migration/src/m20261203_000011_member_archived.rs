//! `list_member.list_archived`: whether the member's list is archived, kept equal to
//! `task_list.archived` by the database, so that a caller's unarchived lists (what every
//! default listing reads first) are one index range of `list_member`
//! (`idx_list_member_user_archived (user_id, list_archived, list_id)`, which replaces
//! `idx_list_member_user (user_id, list_id)`) instead of a probe of each list's row.
//!
//! Triggers keep it, whoever writes (the service, a restore from the trash, an older
//! version during a rolling deploy): archiving or unarchiving a list sets it on every
//! member row of the list; a new member row takes its list's value. On PostgreSQL the new
//! row reads its list with `FOR SHARE`, which waits for an archiving that has not
//! committed (it holds the list's row), so a member added while the list is archived
//! never keeps the value from before.

use sea_orm_migration::prelude::*;
use sea_orm_migration::sea_orm::DbBackend;

pub struct Migration;

impl MigrationName for Migration {
    fn name(&self) -> &str {
        "m20261203_000011_member_archived"
    }
}

/// PostgreSQL: a list's archiving, copied onto its member rows.
const PG_LIST_FUNCTION: &str = "CREATE OR REPLACE FUNCTION list_member_archived_list() \
     RETURNS trigger LANGUAGE plpgsql SET search_path FROM CURRENT AS $$ \
     BEGIN \
       UPDATE list_member SET list_archived = NEW.archived WHERE list_id = NEW.id; \
       RETURN NULL; \
     END $$";

/// PostgreSQL: a new member row's value, from its list.
const PG_MEMBER_FUNCTION: &str = "CREATE OR REPLACE FUNCTION list_member_archived_member() \
     RETURNS trigger LANGUAGE plpgsql SET search_path FROM CURRENT AS $$ \
     BEGIN \
       NEW.list_archived := COALESCE( \
         (SELECT archived FROM task_list WHERE id = NEW.list_id FOR SHARE), false); \
       RETURN NEW; \
     END $$";

/// One trigger: its name, its table, and its definition on PostgreSQL and on SQLite.
struct Trigger {
    name: &'static str,
    table: &'static str,
    postgres: &'static str,
    sqlite: &'static str,
}

const TRIGGERS: [Trigger; 2] = [
    Trigger {
        name: "task_list_archived",
        table: "task_list",
        postgres: "CREATE TRIGGER task_list_archived AFTER UPDATE OF archived ON task_list \
             FOR EACH ROW WHEN (OLD.archived IS DISTINCT FROM NEW.archived) \
             EXECUTE FUNCTION list_member_archived_list()",
        sqlite: "CREATE TRIGGER IF NOT EXISTS task_list_archived \
             AFTER UPDATE OF archived ON task_list \
             FOR EACH ROW WHEN OLD.archived IS NOT NEW.archived BEGIN \
             UPDATE list_member SET list_archived = NEW.archived WHERE list_id = NEW.id; END",
    },
    Trigger {
        name: "list_member_archived",
        table: "list_member",
        postgres: "CREATE TRIGGER list_member_archived BEFORE INSERT ON list_member \
             FOR EACH ROW EXECUTE FUNCTION list_member_archived_member()",
        // SQLite cannot change the row being inserted: it writes it again after.
        sqlite: "CREATE TRIGGER IF NOT EXISTS list_member_archived \
             AFTER INSERT ON list_member FOR EACH ROW BEGIN \
             UPDATE list_member SET list_archived = \
               COALESCE((SELECT archived FROM task_list WHERE id = NEW.list_id), 0) \
             WHERE list_id = NEW.list_id AND user_id = NEW.user_id; END",
    },
];

fn drop_trigger(backend: DbBackend, name: &str, table: &str) -> String {
    match backend {
        DbBackend::Postgres => format!("DROP TRIGGER IF EXISTS {name} ON {table}"),
        _ => format!("DROP TRIGGER IF EXISTS {name}"),
    }
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let backend = manager.get_database_backend();
        let db = manager.get_connection();
        if !manager.has_column("list_member", "list_archived").await? {
            db.execute_unprepared(
                "ALTER TABLE list_member ADD COLUMN list_archived BOOLEAN NOT NULL DEFAULT FALSE",
            )
            .await?;
        }
        db.execute_unprepared(
            "UPDATE list_member SET list_archived = \
             COALESCE((SELECT archived FROM task_list WHERE id = list_member.list_id), FALSE)",
        )
        .await?;
        db.execute_unprepared(
            "CREATE INDEX IF NOT EXISTS idx_list_member_user_archived \
             ON list_member (user_id, list_archived, list_id)",
        )
        .await?;
        db.execute_unprepared("DROP INDEX IF EXISTS idx_list_member_user")
            .await?;
        if backend == DbBackend::Postgres {
            db.execute_unprepared(PG_LIST_FUNCTION).await?;
            db.execute_unprepared(PG_MEMBER_FUNCTION).await?;
        }
        for trigger in TRIGGERS {
            db.execute_unprepared(&drop_trigger(backend, trigger.name, trigger.table))
                .await?;
            let create = match backend {
                DbBackend::Postgres => trigger.postgres,
                _ => trigger.sqlite,
            };
            db.execute_unprepared(create).await?;
        }
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let backend = manager.get_database_backend();
        let db = manager.get_connection();
        for trigger in TRIGGERS {
            db.execute_unprepared(&drop_trigger(backend, trigger.name, trigger.table))
                .await?;
        }
        if backend == DbBackend::Postgres {
            db.execute_unprepared("DROP FUNCTION IF EXISTS list_member_archived_list()")
                .await?;
            db.execute_unprepared("DROP FUNCTION IF EXISTS list_member_archived_member()")
                .await?;
        }
        db.execute_unprepared(
            "CREATE INDEX IF NOT EXISTS idx_list_member_user ON list_member (user_id, list_id)",
        )
        .await?;
        db.execute_unprepared("DROP INDEX IF EXISTS idx_list_member_user_archived")
            .await?;
        if manager.has_column("list_member", "list_archived").await? {
            db.execute_unprepared("ALTER TABLE list_member DROP COLUMN list_archived")
                .await?;
        }
        Ok(())
    }
}
