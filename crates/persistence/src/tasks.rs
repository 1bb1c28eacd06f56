use async_trait::async_trait;
use sea_orm::sea_query::{Expr, ExprTrait};
use sea_orm::{
    ActiveValue::{NotSet, Set},
    ColumnTrait, Condition, EntityTrait, QueryFilter, QueryOrder, QuerySelect, TransactionTrait,
};
use todo_application::ports::{PortError, TaskRepository};
use todo_domain::{
    Due, PageRequest, Priority, Recurrence, Tag, Tags, Task, TaskDescription, TaskId, TaskTitle,
    TimeZone, Timestamp, UserId,
};

use crate::Db;
use crate::entities::task::{self, Column, Entity};
use crate::error::{corrupt, map_db_err};

/// Tasks in the `task` table; every query is scoped by owner.
pub struct SeaTaskRepository {
    db: Db,
}

impl SeaTaskRepository {
    #[must_use]
    pub fn new(db: impl Into<Db>) -> Self {
        Self { db: db.into() }
    }
}

/// Tags are stored joined with a line feed: a tag has no control characters, so the
/// separator is unambiguous, and no tags is the empty string.
const TAG_SEPARATOR: char = '\n';

fn tags_to_stored(tags: &Tags) -> String {
    let mut stored = String::new();
    for (i, tag) in tags.as_slice().iter().enumerate() {
        if i > 0 {
            stored.push(TAG_SEPARATOR);
        }
        stored.push_str(tag.as_str());
    }
    stored
}

fn tags_from_stored(stored: &str) -> Result<Tags, PortError> {
    if stored.is_empty() {
        return Ok(Tags::default());
    }
    let raw: Vec<&str> = stored.split(TAG_SEPARATOR).collect();
    // Each one must be a tag exactly as written (parsing trims).
    for r in &raw {
        let tag = Tag::parse(r).map_err(|e| corrupt("tags", e))?;
        if tag.as_str() != *r {
            return Err(corrupt("tags", format!("{r:?} is not trimmed")));
        }
    }
    Tags::parse(&raw).map_err(|e| corrupt("tags", e))
}

fn to_domain(m: task::Model) -> Result<Task, PortError> {
    Ok(Task {
        id: TaskId::from_uuid(m.id),
        owner: UserId::parse(&m.user_id).map_err(|e| corrupt("user id", e))?,
        title: TaskTitle::parse(&m.title).map_err(|e| corrupt("title", e))?,
        description: match m.description {
            Some(d) => TaskDescription::parse(&d).map_err(|e| corrupt("description", e))?,
            None => None,
        },
        completed: m.completed,
        created_at: m.created_at,
        updated_at: m.updated_at,
        priority: m
            .priority
            .map(|rank| {
                Priority::from_rank(rank)
                    .ok_or_else(|| corrupt("priority", format!("unknown rank {rank}")))
            })
            .transpose()?,
        tags: tags_from_stored(&m.tags)?,
        due: m.due_at.map(|at| {
            if m.due_all_day {
                Due::Date(at.date_naive())
            } else {
                Due::At(at)
            }
        }),
        remind_at: m.remind_at,
        completed_at: m.completed_at,
        recurrence: m
            .recurrence
            .as_deref()
            .map(Recurrence::parse)
            .transpose()
            .map_err(|e| corrupt("recurrence", e))?,
        time_zone: m
            .time_zone
            .as_deref()
            .map(|name| TimeZone::parse("time_zone", name))
            .transpose()
            .map_err(|e| corrupt("time zone", e))?,
        occurrences_done: u32::try_from(m.occurrences_done)
            .map_err(|_| corrupt("occurrences done", m.occurrences_done))?,
        version: m.version,
    })
}

/// Every column of `t`, as stored.
fn to_row(t: &Task) -> task::ActiveModel {
    task::ActiveModel {
        id: Set(t.id.as_uuid()),
        user_id: Set(t.owner.as_str().to_owned()),
        title: Set(t.title.as_str().to_owned()),
        description: Set(t.description.as_ref().map(|d| d.as_str().to_owned())),
        completed: Set(t.completed),
        created_at: Set(t.created_at),
        updated_at: Set(t.updated_at),
        priority: Set(t.priority.map(Priority::rank)),
        tags: Set(tags_to_stored(&t.tags)),
        due_at: Set(t.due.as_ref().map(Due::starts_at_utc)),
        due_all_day: Set(matches!(t.due, Some(Due::Date(_)))),
        remind_at: Set(t.remind_at),
        completed_at: Set(t.completed_at),
        recurrence: Set(t.recurrence.as_ref().map(ToString::to_string)),
        time_zone: Set(t.time_zone.map(|z| z.name().to_owned())),
        // A series ends at `Recurrence::MAX_COUNT` occurrences: far below `i32::MAX`.
        occurrences_done: Set(i32::try_from(t.occurrences_done).unwrap_or(i32::MAX)),
        version: Set(t.version),
    }
}

fn owned(owner: &UserId, id: TaskId) -> Condition {
    Condition::all()
        .add(Column::Id.eq(id.as_uuid()))
        .add(Column::UserId.eq(owner.as_str()))
}

/// `owned`, and only at version `expected` when given.
fn owned_at(owner: &UserId, id: TaskId, expected: Option<i64>) -> Condition {
    owned(owner, id).add_option(expected.map(|v| Column::Version.eq(v)))
}

fn first(rows: Vec<task::Model>) -> Result<Option<Task>, PortError> {
    rows.into_iter().next().map(to_domain).transpose()
}

/// The conditional write of every mutable column of `t` (not its id, owner or creation
/// time) if its stored version is `expected`.
fn replace_statement(t: &Task, expected: i64) -> sea_orm::UpdateMany<Entity> {
    let row = task::ActiveModel {
        id: NotSet,
        user_id: NotSet,
        created_at: NotSet,
        ..to_row(t)
    };
    Entity::update_many()
        .set(row)
        .filter(owned_at(&t.owner, t.id, Some(expected)))
}

/// Flips `completed` (stamping or clearing `completed_at`) unless the task is open and
/// recurring. Every right-hand side reads the row as it was before the statement.
fn toggle_statement(
    owner: &UserId,
    id: TaskId,
    now: Timestamp,
    expected: Option<i64>,
) -> sea_orm::UpdateMany<Entity> {
    Entity::update_many()
        .col_expr(Column::Completed, Expr::col(Column::Completed).not())
        .col_expr(
            Column::CompletedAt,
            Expr::case(Expr::col(Column::Completed), Expr::null())
                .finally(Expr::value(now))
                .into(),
        )
        .col_expr(Column::UpdatedAt, Expr::value(now))
        // A literal, not a parameter: the statement reads as it is.
        .col_expr(
            Column::Version,
            Expr::col(Column::Version).add(Expr::Constant(1.into())),
        )
        .filter(owned_at(owner, id, expected))
        // An open recurring task is completed by recording an occurrence instead.
        .filter(
            Condition::any()
                .add(Expr::col(Column::Completed))
                .add(Column::Recurrence.is_null()),
        )
}

#[async_trait]
impl TaskRepository for SeaTaskRepository {
    async fn insert(&self, t: &Task) -> Result<(), PortError> {
        let _operation = crate::Operation::start();
        let db = self.db.conn().await.map_err(map_db_err)?;
        Entity::insert(to_row(t))
            .exec_without_returning(&db)
            .await
            .map_err(map_db_err)?;
        Ok(())
    }

    async fn get(&self, owner: &UserId, id: TaskId) -> Result<Option<Task>, PortError> {
        let _operation = crate::Operation::start();
        let db = self.db.conn().await.map_err(map_db_err)?;
        Entity::find()
            .filter(owned(owner, id))
            .one(&db)
            .await
            .map_err(map_db_err)?
            .map(to_domain)
            .transpose()
    }

    async fn list(&self, owner: &UserId, page: PageRequest) -> Result<Vec<Task>, PortError> {
        let _operation = crate::Operation::start();
        let db = self.db.conn().await.map_err(map_db_err)?;
        let mut query = Entity::find().filter(Column::UserId.eq(owner.as_str()));
        if let Some(after) = page.after {
            query = query.filter(
                Condition::any()
                    .add(Column::CreatedAt.gt(after.created_at))
                    .add(
                        Condition::all()
                            .add(Column::CreatedAt.eq(after.created_at))
                            .add(Column::Id.gt(after.id.as_uuid())),
                    ),
            );
        }
        query
            .order_by_asc(Column::CreatedAt)
            .order_by_asc(Column::Id)
            .limit(u64::from(page.limit))
            .all(&db)
            .await
            .map_err(map_db_err)?
            .into_iter()
            .map(to_domain)
            .collect()
    }

    async fn replace(&self, t: &Task, expected: i64) -> Result<bool, PortError> {
        let _operation = crate::Operation::start();
        let db = self.db.conn().await.map_err(map_db_err)?;
        let result = replace_statement(t, expected)
            .exec(&db)
            .await
            .map_err(map_db_err)?;
        Ok(result.rows_affected == 1)
    }

    async fn toggle_completed(
        &self,
        owner: &UserId,
        id: TaskId,
        now: Timestamp,
        expected: Option<i64>,
    ) -> Result<Option<Task>, PortError> {
        let _operation = crate::Operation::start();
        let db = self.db.conn().await.map_err(map_db_err)?;
        let rows = toggle_statement(owner, id, now, expected)
            .exec_with_returning(&db)
            .await
            .map_err(map_db_err)?;
        first(rows)
    }

    async fn complete_occurrence(
        &self,
        finished: &Task,
        next: &Task,
        expected: i64,
    ) -> Result<bool, PortError> {
        let _operation = crate::Operation::start();
        let db = self.db.conn().await.map_err(map_db_err)?;
        let txn = db.begin().await.map_err(map_db_err)?;
        let advanced = replace_statement(next, expected)
            .exec(&txn)
            .await
            .map_err(map_db_err)?;
        if advanced.rows_affected != 1 {
            txn.rollback().await.map_err(map_db_err)?;
            return Ok(false);
        }
        // A failure drops the transaction, which rolls it back.
        Entity::insert(to_row(finished))
            .exec_without_returning(&txn)
            .await
            .map_err(map_db_err)?;
        txn.commit().await.map_err(map_db_err)?;
        Ok(true)
    }

    async fn delete(
        &self,
        owner: &UserId,
        id: TaskId,
        expected: Option<i64>,
    ) -> Result<bool, PortError> {
        let _operation = crate::Operation::start();
        let db = self.db.conn().await.map_err(map_db_err)?;
        let result = Entity::delete_many()
            .filter(owned_at(owner, id, expected))
            .exec(&db)
            .await
            .map_err(map_db_err)?;
        Ok(result.rows_affected > 0)
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use sea_orm::{DbBackend, QueryTrait};

    /// bench/run.py has pgbench run these statements (plus the RETURNING clause SeaORM
    /// adds to the toggle: every column, in the entity's order): change it with them.
    #[test]
    fn create_and_toggle_are_the_statements_the_benchmark_mirrors() {
        let t = Task::new(
            TaskId::from_uuid(uuid::Uuid::nil()),
            UserId::parse("alice").unwrap(),
            TaskTitle::parse("x").unwrap(),
            None,
            chrono::DateTime::UNIX_EPOCH,
        );
        assert_eq!(
            Entity::insert(to_row(&t)).build(DbBackend::Postgres).sql,
            r#"INSERT INTO "task" ("id", "user_id", "title", "description", "completed", "created_at", "updated_at", "priority", "tags", "due_at", "due_all_day", "remind_at", "completed_at", "recurrence", "time_zone", "occurrences_done", "version") VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17)"#
        );
        assert_eq!(
            toggle_statement(&t.owner, t.id, t.created_at, None)
                .build(DbBackend::Postgres)
                .sql,
            r#"UPDATE "task" SET "completed" = NOT "completed", "completed_at" = (CASE WHEN ("completed") THEN NULL ELSE $1 END), "updated_at" = $2, "version" = "version" + 1 WHERE "task"."id" = $3 AND "task"."user_id" = $4 AND ("completed" OR "task"."recurrence" IS NULL)"#
        );
    }

    #[test]
    fn tags_are_stored_one_per_line() {
        let tags = Tags::parse(&["work", "Küche", "日本"]).unwrap();
        let stored = tags_to_stored(&tags);
        assert_eq!(stored, "Küche\nwork\n日本");
        assert_eq!(tags_from_stored(&stored).unwrap(), tags);
        assert_eq!(tags_to_stored(&Tags::default()), "");
        assert_eq!(tags_from_stored("").unwrap(), Tags::default());
        for bad in ["a\n\nb", "a\n", " a", "a,b", "a\tb"] {
            assert!(tags_from_stored(bad).is_err(), "{bad:?}");
        }
    }
}
