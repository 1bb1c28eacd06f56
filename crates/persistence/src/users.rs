//! Better Auth's `user` table as the user repository: find, list, roles, deletion.

use async_trait::async_trait;
use sea_orm::sea_query::{Expr, LikeExpr, OnConflict};
use sea_orm::{
    ActiveValue::Set, ColumnTrait, Condition, EntityTrait, QueryFilter, QueryOrder, QuerySelect,
    TransactionTrait,
};
use todo_application::ports::{PortError, UserRepository};
use todo_domain::{AdminRoles, RoleList, Timestamp, User, UserId};

use crate::db::Db;
use crate::entities::{session, task, user};
use crate::error::{corrupt, map_db_err};

/// Better Auth's `"user"` table.
pub struct SeaUserRepository {
    db: Db,
}

impl SeaUserRepository {
    #[must_use]
    pub fn new(db: impl Into<Db>) -> Self {
        Self { db: db.into() }
    }
}

pub(crate) fn to_domain(m: user::Model) -> Result<User, PortError> {
    Ok(User {
        id: UserId::parse(&m.id).map_err(|e| corrupt("user id", e))?,
        email: m.email,
        name: m.name,
        roles: RoleList::from_stored(m.role.as_deref()),
        banned: m.banned.unwrap_or(false),
        ban_expires: m.ban_expires,
        created_at: m.created_at,
    })
}

/// `raw` as a literal inside a LIKE pattern whose escape character is a backslash.
fn escape_like(raw: &str) -> String {
    let mut out = String::with_capacity(raw.len());
    for c in raw.chars() {
        if matches!(c, '\\' | '%' | '_') {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

#[async_trait]
impl UserRepository for SeaUserRepository {
    async fn find(&self, id: &UserId) -> Result<Option<User>, PortError> {
        let db = self.db.conn().await.map_err(map_db_err)?;
        user::Entity::find_by_id(id.as_str())
            .one(&*db)
            .await
            .map_err(map_db_err)?
            .map(to_domain)
            .transpose()
    }

    async fn list(
        &self,
        limit: u32,
        after: Option<(Timestamp, UserId)>,
    ) -> Result<Vec<User>, PortError> {
        let db = self.db.conn().await.map_err(map_db_err)?;
        let mut query = user::Entity::find();
        if let Some((created_at, id)) = after {
            query = query.filter(
                Condition::any()
                    .add(user::Column::CreatedAt.gt(created_at))
                    .add(
                        Condition::all()
                            .add(user::Column::CreatedAt.eq(created_at))
                            .add(user::Column::Id.gt(id.as_str())),
                    ),
            );
        }
        query
            .order_by_asc(user::Column::CreatedAt)
            .order_by_asc(user::Column::Id)
            .limit(u64::from(limit))
            .all(&*db)
            .await
            .map_err(map_db_err)?
            .into_iter()
            .map(to_domain)
            .collect()
    }

    async fn admins(&self, admin_roles: &AdminRoles) -> Result<Vec<UserId>, PortError> {
        let db = self.db.conn().await.map_err(map_db_err)?;
        // LIKE narrows the scan; the exact comma-list check happens below.
        let candidates = admin_roles
            .names()
            .iter()
            .fold(Condition::any(), |c, role| {
                c.add(
                    user::Column::Role
                        .like(LikeExpr::new(format!("%{}%", escape_like(role))).escape('\\')),
                )
            });
        let rows: Vec<(String, Option<String>)> = user::Entity::find()
            .select_only()
            .column(user::Column::Id)
            .column(user::Column::Role)
            .filter(candidates)
            .into_tuple()
            .all(&*db)
            .await
            .map_err(map_db_err)?;
        rows.into_iter()
            .filter(|(_, role)| RoleList::from_stored(role.as_deref()).is_admin(admin_roles))
            .map(|(id, _)| UserId::parse(&id).map_err(|e| corrupt("user id", e)))
            .collect()
    }

    async fn set_role(&self, id: &UserId, roles: &RoleList) -> Result<bool, PortError> {
        let db = self.db.conn().await.map_err(map_db_err)?;
        let result = user::Entity::update_many()
            .col_expr(user::Column::Role, Expr::value(roles.to_stored()))
            .col_expr(
                user::Column::UpdatedAt,
                Expr::value(todo_domain::to_stored_precision(chrono::Utc::now())),
            )
            .filter(user::Column::Id.eq(id.as_str()))
            .exec(&*db)
            .await
            .map_err(map_db_err)?;
        Ok(result.rows_affected > 0)
    }

    async fn delete(&self, id: &UserId) -> Result<bool, PortError> {
        let db = self.db.conn().await.map_err(map_db_err)?;
        // Explicit, in one transaction, rather than trusting every database to cascade.
        let txn = db.begin().await.map_err(map_db_err)?;
        task::Entity::delete_many()
            .filter(task::Column::UserId.eq(id.as_str()))
            .exec(&txn)
            .await
            .map_err(map_db_err)?;
        session::Entity::delete_many()
            .filter(session::Column::UserId.eq(id.as_str()))
            .exec(&txn)
            .await
            .map_err(map_db_err)?;
        let deleted = user::Entity::delete_by_id(id.as_str())
            .exec(&txn)
            .await
            .map_err(map_db_err)?;
        txn.commit().await.map_err(map_db_err)?;
        Ok(deleted.rows_affected > 0)
    }

    async fn create_if_absent(&self, u: &User) -> Result<bool, PortError> {
        let db = self.db.conn().await.map_err(map_db_err)?;
        let row = user::ActiveModel {
            id: Set(u.id.as_str().to_owned()),
            name: Set(u.name.clone()),
            email: Set(u.email.clone()),
            email_verified: Set(false),
            image: Set(None),
            created_at: Set(u.created_at),
            updated_at: Set(u.created_at),
            role: Set(Some(u.roles.to_stored())),
            banned: Set(Some(u.banned)),
            ban_reason: Set(None),
            ban_expires: Set(u.ban_expires),
        };
        let inserted = user::Entity::insert(row)
            .on_conflict(OnConflict::column(user::Column::Id).do_nothing().to_owned())
            .exec_without_returning(&*db)
            .await
            .map_err(map_db_err)?;
        Ok(inserted > 0)
    }
}
