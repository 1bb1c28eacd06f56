use async_trait::async_trait;
use sea_orm::sea_query::{Expr, ExprTrait};
use sea_orm::{
    ActiveValue::Set, ColumnTrait, Condition, EntityTrait, QueryFilter, QueryOrder, QuerySelect,
};
use todo_application::ports::{PortError, TaskRepository};
use todo_domain::{
    PageRequest, Task, TaskChanges, TaskDescription, TaskId, TaskTitle, Timestamp, UserId,
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
    })
}

fn owned(owner: &UserId, id: TaskId) -> Condition {
    Condition::all()
        .add(Column::Id.eq(id.as_uuid()))
        .add(Column::UserId.eq(owner.as_str()))
}

fn first(rows: Vec<task::Model>) -> Result<Option<Task>, PortError> {
    rows.into_iter().next().map(to_domain).transpose()
}

#[async_trait]
impl TaskRepository for SeaTaskRepository {
    async fn insert(&self, t: &Task) -> Result<(), PortError> {
        let _operation = crate::Operation::start();
        let db = self.db.conn().await.map_err(map_db_err)?;
        let row = task::ActiveModel {
            id: Set(t.id.as_uuid()),
            user_id: Set(t.owner.as_str().to_owned()),
            title: Set(t.title.as_str().to_owned()),
            description: Set(t.description.as_ref().map(|d| d.as_str().to_owned())),
            completed: Set(t.completed),
            created_at: Set(t.created_at),
            updated_at: Set(t.updated_at),
        };
        Entity::insert(row)
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

    async fn update(
        &self,
        owner: &UserId,
        id: TaskId,
        changes: &TaskChanges,
        now: Timestamp,
    ) -> Result<Option<Task>, PortError> {
        let _operation = crate::Operation::start();
        let db = self.db.conn().await.map_err(map_db_err)?;
        let mut update = Entity::update_many()
            .col_expr(Column::UpdatedAt, Expr::value(now))
            .filter(owned(owner, id));
        if let Some(title) = &changes.title {
            update = update.col_expr(Column::Title, Expr::value(title.as_str()));
        }
        if let Some(description) = &changes.description {
            update = update.col_expr(
                Column::Description,
                Expr::value(description.as_ref().map(|d| d.as_str().to_owned())),
            );
        }
        if let Some(completed) = changes.completed {
            update = update.col_expr(Column::Completed, Expr::value(completed));
        }
        first(update.exec_with_returning(&db).await.map_err(map_db_err)?)
    }

    async fn toggle_completed(
        &self,
        owner: &UserId,
        id: TaskId,
        now: Timestamp,
    ) -> Result<Option<Task>, PortError> {
        let _operation = crate::Operation::start();
        let db = self.db.conn().await.map_err(map_db_err)?;
        let rows = Entity::update_many()
            .col_expr(Column::Completed, Expr::col(Column::Completed).not())
            .col_expr(Column::UpdatedAt, Expr::value(now))
            .filter(owned(owner, id))
            .exec_with_returning(&db)
            .await
            .map_err(map_db_err)?;
        first(rows)
    }

    async fn delete(&self, owner: &UserId, id: TaskId) -> Result<bool, PortError> {
        let _operation = crate::Operation::start();
        let db = self.db.conn().await.map_err(map_db_err)?;
        let result = Entity::delete_many()
            .filter(owned(owner, id))
            .exec(&db)
            .await
            .map_err(map_db_err)?;
        Ok(result.rows_affected > 0)
    }
}
