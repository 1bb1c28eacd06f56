//! Tasks are read through their lists since `m20261203_000008_lists`, so the orders a
//! listing can take are indexed per list, not per user:
//!
//! - `idx_task_list_{updated,due,priority,title,position}` `(list_id, column, id)` and
//!   `idx_task_list_status` `(list_id, completed, created_at, id)` replace their
//!   `idx_task_user_*` twins (on PostgreSQL the descending due and priority ones too), which
//!   no statement reads any more but every write maintained. `idx_task_user_created`
//!   stays: a user's own tasks (their deletion) are found with it. The status index also
//!   answers the open-task limit of a list from the index alone.
//! - `idx_task_parent` and `idx_task_assignee` hold only the rows that have a parent or an
//!   assignee (most have neither): a write of a task without them does not touch them.
//! - `task.subtask_count`: how many subtasks a task has (one level down), kept by triggers
//!   on both backends for every insert, delete and change of parent, whoever writes it
//!   (a restore, a cascade, an older version of the service during a rolling deploy), so
//!   that a read selects the count instead of counting. It is derived: the trash does not
//!   keep it (a restore counts again), and the service never writes it.

use sea_orm_migration::prelude::*;
use sea_orm_migration::sea_orm::DbBackend;

pub struct Migration;

impl MigrationName for Migration {
    fn name(&self) -> &str {
        "m20261203_000010_list_orders"
    }
}

/// The per-user order indexes this migration replaces, with their definitions (for
/// `down`); the last two exist on PostgreSQL only.
const USER_ORDERS: [(&str, &str); 8] = [
    ("idx_task_user_updated", "(user_id, updated_at, id)"),
    ("idx_task_user_due", "(user_id, due_at, id)"),
    ("idx_task_user_priority", "(user_id, priority, id)"),
    ("idx_task_user_title", "(user_id, title_key, id)"),
    (
        "idx_task_user_status",
        "(user_id, completed, created_at, id)",
    ),
    ("idx_task_user_position", "(user_id, position, id)"),
    (
        "idx_task_user_due_desc",
        "(user_id, due_at DESC NULLS LAST, id DESC)",
    ),
    (
        "idx_task_user_priority_desc",
        "(user_id, priority DESC NULLS LAST, id DESC)",
    ),
];

/// Their replacements, in the same order.
const LIST_ORDERS: [(&str, &str); 8] = [
    ("idx_task_list_updated", "(list_id, updated_at, id)"),
    ("idx_task_list_due", "(list_id, due_at, id)"),
    ("idx_task_list_priority", "(list_id, priority, id)"),
    ("idx_task_list_title", "(list_id, title_key, id)"),
    (
        "idx_task_list_status",
        "(list_id, completed, created_at, id)",
    ),
    ("idx_task_list_position", "(list_id, position, id)"),
    (
        "idx_task_list_due_desc",
        "(list_id, due_at DESC NULLS LAST, id DESC)",
    ),
    (
        "idx_task_list_priority_desc",
        "(list_id, priority DESC NULLS LAST, id DESC)",
    ),
];

/// How many of [`USER_ORDERS`] and [`LIST_ORDERS`] a backend has: SQLite orders NULLs
/// first, so its ascending indexes read backwards already serve `DESC NULLS LAST`.
fn orders(backend: DbBackend) -> usize {
    match backend {
        DbBackend::Postgres => 8,
        _ => 6,
    }
}

/// The indexes on a column most tasks leave NULL: `(name, column)`.
const SPARSE: [(&str, &str); 2] = [
    ("idx_task_parent", "parent_id"),
    ("idx_task_assignee", "assignee_id"),
];

/// PostgreSQL: one function for the three triggers. `search_path` is the migration's, so
/// that `task` is the table the trigger is on in whichever schema it was created.
const PG_COUNT_FUNCTION: &str = "CREATE OR REPLACE FUNCTION task_subtask_count() \
     RETURNS trigger LANGUAGE plpgsql SET search_path FROM CURRENT AS $$ \
     BEGIN \
       IF TG_OP <> 'INSERT' AND OLD.parent_id IS NOT NULL THEN \
         UPDATE task SET subtask_count = subtask_count - 1 WHERE id = OLD.parent_id; \
       END IF; \
       IF TG_OP <> 'DELETE' AND NEW.parent_id IS NOT NULL THEN \
         UPDATE task SET subtask_count = subtask_count + 1 WHERE id = NEW.parent_id; \
       END IF; \
       RETURN NULL; \
     END $$";

/// `UPDATE`s of a parent's count, for SQLite's trigger bodies (it has no shared functions).
const SQLITE_DECREMENT: &str =
    "UPDATE task SET subtask_count = subtask_count - 1 WHERE id = OLD.parent_id;";
const SQLITE_INCREMENT: &str =
    "UPDATE task SET subtask_count = subtask_count + 1 WHERE id = NEW.parent_id;";

/// `(trigger, event, condition, SQLite body)`: the function runs only for rows that have
/// (or had) a parent, so writing a top-level task costs the condition alone.
const TRIGGERS: [(&str, &str, &str, &[&str]); 3] = [
    (
        "task_subtask_added",
        "AFTER INSERT ON task",
        "NEW.parent_id IS NOT NULL",
        &[SQLITE_INCREMENT],
    ),
    (
        "task_subtask_removed",
        "AFTER DELETE ON task",
        "OLD.parent_id IS NOT NULL",
        &[SQLITE_DECREMENT],
    ),
    (
        "task_subtask_moved",
        "AFTER UPDATE OF parent_id ON task",
        "OLD.parent_id IS DISTINCT FROM NEW.parent_id",
        // `UPDATE … WHERE id = NULL` changes nothing: either side may be NULL.
        &[SQLITE_DECREMENT, SQLITE_INCREMENT],
    ),
];

fn trigger_sql(
    backend: DbBackend,
    (name, event, condition, sqlite_body): (&str, &str, &str, &[&str]),
) -> String {
    match backend {
        DbBackend::Postgres => format!(
            "CREATE TRIGGER {name} {event} FOR EACH ROW WHEN ({condition}) \
             EXECUTE FUNCTION task_subtask_count()"
        ),
        _ => {
            // SQLite spells "is distinct from" `IS NOT`.
            let condition = condition.replace("IS DISTINCT FROM", "IS NOT");
            format!(
                "CREATE TRIGGER IF NOT EXISTS {name} {event} FOR EACH ROW WHEN {condition} \
                 BEGIN {} END",
                sqlite_body.join(" ")
            )
        }
    }
}

/// Every task's count from its rows: run once, before the triggers exist.
const COUNT_ALL: &str = "UPDATE task SET subtask_count = \
     (SELECT COUNT(*) FROM task c WHERE c.parent_id = task.id) \
     WHERE id IN (SELECT parent_id FROM task WHERE parent_id IS NOT NULL)";

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let backend = manager.get_database_backend();
        let db = manager.get_connection();
        let n = orders(backend);
        for (name, _) in USER_ORDERS.iter().take(n) {
            db.execute_unprepared(&format!("DROP INDEX IF EXISTS {name}"))
                .await?;
        }
        for (name, columns) in LIST_ORDERS.iter().take(n) {
            db.execute_unprepared(&format!(
                "CREATE INDEX IF NOT EXISTS {name} ON task {columns}"
            ))
            .await?;
        }
        for (name, column) in SPARSE {
            // One call, so one connection: SQLite migrates outside a transaction, through
            // a pool.
            db.execute_unprepared(&format!(
                "DROP INDEX IF EXISTS {name}; \
                 CREATE INDEX {name} ON task ({column}) WHERE {column} IS NOT NULL"
            ))
            .await?;
        }
        if !manager.has_column("task", "subtask_count").await? {
            db.execute_unprepared(
                "ALTER TABLE task ADD COLUMN subtask_count BIGINT NOT NULL DEFAULT 0",
            )
            .await?;
        }
        db.execute_unprepared(COUNT_ALL).await?;
        if backend == DbBackend::Postgres {
            db.execute_unprepared(PG_COUNT_FUNCTION).await?;
            for (name, ..) in TRIGGERS {
                db.execute_unprepared(&format!("DROP TRIGGER IF EXISTS {name} ON task"))
                    .await?;
            }
        }
        for trigger in TRIGGERS {
            db.execute_unprepared(&trigger_sql(backend, trigger))
                .await?;
        }
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let backend = manager.get_database_backend();
        let db = manager.get_connection();
        for (name, ..) in TRIGGERS {
            let on = if backend == DbBackend::Postgres {
                " ON task"
            } else {
                ""
            };
            db.execute_unprepared(&format!("DROP TRIGGER IF EXISTS {name}{on}"))
                .await?;
        }
        if backend == DbBackend::Postgres {
            db.execute_unprepared("DROP FUNCTION IF EXISTS task_subtask_count()")
                .await?;
        }
        if manager.has_column("task", "subtask_count").await? {
            db.execute_unprepared("ALTER TABLE task DROP COLUMN subtask_count")
                .await?;
        }
        for (name, column) in SPARSE {
            db.execute_unprepared(&format!(
                "DROP INDEX IF EXISTS {name}; CREATE INDEX {name} ON task ({column})"
            ))
            .await?;
        }
        let n = orders(backend);
        for (name, _) in LIST_ORDERS.iter().take(n) {
            db.execute_unprepared(&format!("DROP INDEX IF EXISTS {name}"))
                .await?;
        }
        for (name, columns) in USER_ORDERS.iter().take(n) {
            db.execute_unprepared(&format!(
                "CREATE INDEX IF NOT EXISTS {name} ON task {columns}"
            ))
            .await?;
        }
        Ok(())
    }
}
