//! What searching, filtering and sorting task lists needs: folded copies of the title, of
//! title and description, and of the tags (computed by the service, because SQLite's
//! `lower()` and `LIKE` fold ASCII letters only), and an index for every order a list can
//! take and for the status filter. On PostgreSQL, trigram indexes serve the substring
//! filters (`q`, `tag`) when the `pg_trgm` extension can be had; without it they scan.
//!
//! Columns are added only when missing and every index only if it does not exist. The keys
//! of existing rows are computed by the functions the service computes them with
//! (`todo_domain::search_keys`).

use sea_orm_migration::prelude::*;
use sea_orm_migration::sea_orm::{DbBackend, Statement, TransactionTrait, Value};
use todo_domain::search_keys;

pub struct Migration;

impl MigrationName for Migration {
    fn name(&self) -> &str {
        "m20261126_000005_task_search"
    }
}

#[derive(DeriveIden)]
enum Task {
    Table,
    Id,
    UserId,
    Completed,
    CreatedAt,
    UpdatedAt,
    Priority,
    DueAt,
    /// The title in Unicode lower case.
    TitleKey,
    /// Title, a line feed and the description, in Unicode lower case.
    SearchKey,
    /// Each tag's lower-case key followed by a line feed, after a leading one; `""`: none.
    TagsKey,
}

/// The added columns, each with its name (as `has_column` looks it up). On PostgreSQL they
/// compare byte by byte (`COLLATE "C"`), as SQLite compares text: a title sort is in code
/// point order on both, whatever the database's locale.
fn columns(backend: DbBackend) -> [(&'static str, ColumnDef); 3] {
    let key = |name| {
        let mut column = ColumnDef::new(name);
        column.text().not_null().default("");
        if backend == DbBackend::Postgres {
            column.extra(r#"COLLATE "C""#);
        }
        column
    };
    [
        ("title_key", key(Task::TitleKey)),
        ("search_key", key(Task::SearchKey)),
        ("tags_key", key(Task::TagsKey)),
    ]
}

/// B-tree indexes on both backends: a user's tasks in each order a list can take (with the
/// id last, as every order ends with it) and, for the status filter, by completion.
/// `idx_task_user_created` (the default order) comes from the migration creating the table.
fn indexes() -> [IndexCreateStatement; 5] {
    let index = |name: &str, column: Task| {
        Index::create()
            .if_not_exists()
            .name(name)
            .table(Task::Table)
            .col(Task::UserId)
            .col(column)
            .col(Task::Id)
            .to_owned()
    };
    [
        index("idx_task_user_updated", Task::UpdatedAt),
        index("idx_task_user_due", Task::DueAt),
        index("idx_task_user_priority", Task::Priority),
        index("idx_task_user_title", Task::TitleKey),
        Index::create()
            .if_not_exists()
            .name("idx_task_user_status")
            .table(Task::Table)
            .col(Task::UserId)
            .col(Task::Completed)
            .col(Task::CreatedAt)
            .col(Task::Id)
            .to_owned(),
    ]
}

/// PostgreSQL only. Tasks without a due date or priority come last in both directions.
/// An ascending index serves `ASC NULLS LAST` forwards, but backwards it reads
/// `DESC NULLS FIRST`: `DESC NULLS LAST` needs an index of its own. (SQLite orders NULLs
/// first, so its ascending index read backwards is already `DESC NULLS LAST`.)
const PG_DESCENDING_INDEXES: [&str; 2] = [
    "CREATE INDEX IF NOT EXISTS idx_task_user_due_desc \
     ON task (user_id, due_at DESC NULLS LAST, id DESC)",
    "CREATE INDEX IF NOT EXISTS idx_task_user_priority_desc \
     ON task (user_id, priority DESC NULLS LAST, id DESC)",
];

/// PostgreSQL only, with `pg_trgm`: `search_key LIKE '%…%'` and `tags_key LIKE '%…%'`.
const PG_TRIGRAM_INDEXES: [(&str, &str); 2] = [
    ("idx_task_search_trgm", "search_key"),
    ("idx_task_tags_trgm", "tags_key"),
];

/// Every index this migration may create, for `down`.
const ALL_INDEXES: [&str; 9] = [
    "idx_task_user_updated",
    "idx_task_user_due",
    "idx_task_user_priority",
    "idx_task_user_title",
    "idx_task_user_status",
    "idx_task_user_due_desc",
    "idx_task_user_priority_desc",
    "idx_task_search_trgm",
    "idx_task_tags_trgm",
];

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let backend = manager.get_database_backend();
        // One column per statement: SQLite adds one at a time. Existing rows get `''`.
        for (name, column) in columns(backend) {
            if !manager.has_column("task", name).await? {
                manager
                    .alter_table(
                        Table::alter()
                            .table(Task::Table)
                            .add_column(column)
                            .to_owned(),
                    )
                    .await?;
            }
        }
        // Before the indexes exist, so that filling them in does not maintain them.
        backfill(manager).await?;
        for index in indexes() {
            manager.create_index(index).await?;
        }
        if backend == DbBackend::Postgres {
            let db = manager.get_connection();
            for sql in PG_DESCENDING_INDEXES {
                db.execute_unprepared(sql).await?;
            }
            if let Some(schema) = pg_trgm_schema(manager).await? {
                for (name, column) in PG_TRIGRAM_INDEXES {
                    db.execute_unprepared(&format!(
                        "CREATE INDEX IF NOT EXISTS {name} ON task \
                         USING gin ({column} {}.gin_trgm_ops)",
                        quoted(&schema)
                    ))
                    .await?;
                }
            }
        }
        Ok(())
    }

    /// Drops the indexes, then the columns. `pg_trgm` stays installed: other things in the
    /// database may use it.
    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for name in ALL_INDEXES {
            manager
                .drop_index(Index::drop().if_exists().name(name).to_owned())
                .await?;
        }
        for (name, _) in columns(manager.get_database_backend()).into_iter().rev() {
            if manager.has_column("task", name).await? {
                manager
                    .alter_table(
                        Table::alter()
                            .table(Task::Table)
                            .drop_column(Alias::new(name))
                            .to_owned(),
                    )
                    .await?;
            }
        }
        Ok(())
    }
}

/// Fills in the keys of every row that has none yet (a title is never empty, so a row
/// whose `title_key` is `''` has not been done). Keys travel as text.
pub(crate) async fn backfill(manager: &SchemaManager<'_>) -> Result<(), DbErr> {
    crate::backfill::backfill_tasks(
        manager,
        "title, description, tags",
        "title_key = ''",
        &["title_key", "search_key", "tags_key"],
        |row| {
            let title: String = row.try_get("", "title")?;
            let description: Option<String> = row.try_get("", "description")?;
            let tags: String = row.try_get("", "tags")?;
            Ok(keys(&title, description.as_deref(), &tags)
                .into_iter()
                .map(Value::from)
                .collect())
        },
    )
    .await
}

/// The title, search and tags keys of a row from its stored title, description and tags
/// (joined with line feeds; `""`: none).
fn keys(title: &str, description: Option<&str>, stored_tags: &str) -> [String; 3] {
    let tags = stored_tags.split('\n').filter(|tag| !tag.is_empty());
    [
        search_keys::title_key(title),
        search_keys::search_key(title, description),
        search_keys::tags_key(tags),
    ]
}

/// Where `pg_trgm` is installed, installing it first when it is available and this role
/// may; `None` when it cannot be had (the trigram indexes are then left out).
///
/// A failed statement aborts a PostgreSQL transaction (and this migration runs in one), so
/// what can be checked is checked first, and `CREATE EXTENSION` itself runs in a savepoint
/// that is rolled back if it fails anyway (an untrusted build of the extension, say).
async fn pg_trgm_schema(manager: &SchemaManager<'_>) -> Result<Option<String>, DbErr> {
    let db = manager.get_connection();
    let installed = || async {
        db.query_one_raw(Statement::from_string(
            DbBackend::Postgres,
            "SELECT n.nspname::text AS schema FROM pg_extension e \
             JOIN pg_namespace n ON n.oid = e.extnamespace WHERE e.extname = 'pg_trgm'",
        ))
        .await?
        .map(|row| row.try_get::<String>("", "schema"))
        .transpose()
    };
    if let Some(schema) = installed().await? {
        return Ok(Some(schema));
    }
    // It goes into `public` when this role may create there: where extensions usually
    // live, outside any schema an application (or a test) may drop with everything in it.
    // Otherwise into the current schema.
    let plan = db
        .query_one_raw(Statement::from_string(
            DbBackend::Postgres,
            "SELECT EXISTS (SELECT 1 FROM pg_available_extensions WHERE name = 'pg_trgm') \
                 AND (has_database_privilege(current_database(), 'CREATE') \
                      OR EXISTS (SELECT 1 FROM pg_roles \
                                 WHERE rolname = current_user AND rolsuper)) AS creatable, \
             EXISTS (SELECT 1 FROM pg_namespace \
                     WHERE nspname = 'public' AND has_schema_privilege(oid, 'CREATE')) \
                 AS public",
        ))
        .await?;
    let Some(plan) = plan else { return Ok(None) };
    if !plan.try_get::<bool>("", "creatable")? {
        return Ok(None);
    }
    let sql = if plan.try_get::<bool>("", "public")? {
        "CREATE EXTENSION IF NOT EXISTS pg_trgm WITH SCHEMA public"
    } else {
        "CREATE EXTENSION IF NOT EXISTS pg_trgm"
    };
    let savepoint = db.begin().await?;
    if savepoint.execute_unprepared(sql).await.is_err() {
        savepoint.rollback().await?;
        return Ok(None);
    }
    savepoint.commit().await?;
    installed().await
}

/// `name` as a PostgreSQL identifier.
fn quoted(name: &str) -> String {
    format!("\"{}\"", name.replace('"', "\"\""))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_are_the_services_for_the_stored_columns() {
        assert_eq!(
            keys(
                "ÄPFEL kaufen",
                Some("ÄPFEL\nund Birnen"),
                "Küche\nWORK\n日本"
            ),
            [
                "äpfel kaufen".to_owned(),
                "äpfel kaufen\näpfel\nund birnen".to_owned(),
                "\nküche\nwork\n日本\n".to_owned(),
            ]
        );
        assert_eq!(
            keys("Buy", None, ""),
            ["buy".to_owned(), "buy\n".to_owned(), String::new()]
        );
    }
}
