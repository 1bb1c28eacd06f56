//! Adopts, in place, a `task` table created by the FastAPI + SQLModel service this one
//! replaces (PostgreSQL): its `id varchar` holding UUID strings becomes `uuid`, and its
//! `timestamp without time zone` columns (UTC by convention) become `timestamptz`. Every
//! row is kept. A table this service created is left as it is.

use sea_orm_migration::prelude::*;
use sea_orm_migration::sea_orm::{DbBackend, FromQueryResult, Statement};

pub struct Migration;

impl MigrationName for Migration {
    fn name(&self) -> &str {
        "m20260102_000003_adopt_fastapi_task"
    }
}

#[derive(FromQueryResult)]
struct Column {
    column_name: String,
    data_type: String,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let db = manager.get_connection();
        if db.get_database_backend() != DbBackend::Postgres {
            return Ok(());
        }
        let columns = Column::find_by_statement(Statement::from_string(
            DbBackend::Postgres,
            "SELECT column_name::text AS column_name, data_type::text AS data_type \
             FROM information_schema.columns \
             WHERE table_schema = current_schema() AND table_name = 'task'",
        ))
        .all(db)
        .await?;
        let type_of = |name: &str| {
            columns
                .iter()
                .find(|c| c.column_name == name)
                .map(|c| c.data_type.as_str())
        };
        let mut changes = Vec::new();
        if type_of("id").is_some_and(|t| t != "uuid") {
            changes.push("ALTER COLUMN id TYPE uuid USING id::uuid".to_owned());
        }
        for column in ["created_at", "updated_at"] {
            if type_of(column) == Some("timestamp without time zone") {
                changes.push(format!(
                    "ALTER COLUMN {column} TYPE timestamptz USING {column} AT TIME ZONE 'UTC'"
                ));
            }
        }
        if changes.is_empty() {
            return Ok(());
        }
        // SQLModel leaves the default to Python.
        changes.push("ALTER COLUMN completed SET DEFAULT false".to_owned());
        db.execute_unprepared(&format!("ALTER TABLE task {}", changes.join(", ")))
            .await?;
        Ok(())
    }

    /// The adopted types are what this service needs; there is nothing to undo.
    async fn down(&self, _manager: &SchemaManager) -> Result<(), DbErr> {
        Ok(())
    }
}
