//! Better Auth's `user` table as the user repository: find, list, roles, deletion, and
//! the writes the last-admin rule guards.

use async_trait::async_trait;
use sea_orm::sea_query::{Expr, ExprTrait, Func, LikeExpr, LockType, OnConflict};
use sea_orm::{
    ActiveValue::Set, ColumnTrait, Condition, ConnectionTrait, DatabaseConnection,
    DatabaseTransaction, DbBackend, EntityTrait, QueryFilter, QueryOrder, QuerySelect,
    SqliteTransactionMode, TransactionOptions, TransactionTrait,
};
use todo_application::ports::{GuardedWrite, PortError, UserRepository};
use todo_domain::{
    AdminRoles, ChangeKind, Edit, ListId, RoleList, Timestamp, User, UserId, policy,
};

use crate::changelog;
use crate::db::Db;
use crate::entities::{session, task, user};
use crate::error::{corrupt, map_db_err};
use crate::lists::{delete_list_rows, record_list, record_list_deletion};
use crate::raw::{Raw, begin_write};

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

/// Rows that may hold one of `admin_roles`: LIKE narrows the scan, the exact comma-list
/// check (`RoleList::is_admin`) happens on what it returns.
fn admin_candidates(admin_roles: &AdminRoles) -> Condition {
    admin_roles
        .names()
        .iter()
        .fold(Condition::any(), |c, role| {
            c.add(
                user::Column::Role
                    .like(LikeExpr::new(format!("%{}%", escape_like(role))).escape('\\')),
            )
        })
}

/// Replaces `id`'s roles; `false` when there is no such user.
async fn write_role(
    db: &impl ConnectionTrait,
    id: &UserId,
    roles: &RoleList,
) -> Result<bool, PortError> {
    let result = user::Entity::update_many()
        .col_expr(user::Column::Role, Expr::value(roles.to_stored()))
        .col_expr(
            user::Column::UpdatedAt,
            Expr::value(todo_domain::to_stored_precision(chrono::Utc::now())),
        )
        .filter(user::Column::Id.eq(id.as_str()))
        .exec(db)
        .await
        .map_err(map_db_err)?;
    Ok(result.rows_affected > 0)
}

/// Hands `id`'s lists over before they go: each list they own to its earliest editor
/// (who becomes the creator of the tasks `id` created in it), or, without an editor, the
/// list is deleted with its tasks (their tombstones and its members' lost access
/// recorded); the tasks they created in lists of others go to those lists' owners; their
/// memberships and assignments are removed. Each change the remaining members see is
/// recorded in the change log as `actor`'s, at `now`. Run it in a transaction.
async fn hand_over(
    txn: &DatabaseTransaction,
    id: &UserId,
    actor: &UserId,
    now: Timestamp,
) -> Result<(), PortError> {
    let backend = txn.get_database_backend();
    if backend == DbBackend::Postgres {
        // Every list they own or belong to, locked in one order: a transfer, member
        // change or deletion of one of them racing this one takes its turn before or
        // after it (SQLite's write lock already makes them).
        let mut raw = Raw::new(backend);
        let sql = format!(
            "SELECT id FROM task_list WHERE owner_id = {} OR id IN \
             (SELECT list_id FROM list_member WHERE user_id = {}) ORDER BY id FOR UPDATE",
            raw.p(id.as_str()),
            raw.p(id.as_str())
        );
        txn.query_all_raw(raw.statement(sql))
            .await
            .map_err(map_db_err)?;
    }
    let mut raw = Raw::new(backend);
    let sql = format!(
        "SELECT l.id AS list_id, (SELECT m.user_id FROM list_member m \
         WHERE m.list_id = l.id AND m.role = 'editor' \
         ORDER BY m.added_at, m.user_id LIMIT 1) AS heir \
         FROM task_list l WHERE l.owner_id = {}",
        raw.p(id.as_str()),
    );
    let owned = txn
        .query_all_raw(raw.statement(sql))
        .await
        .map_err(map_db_err)?;
    for row in owned {
        let list: uuid::Uuid = row.try_get("", "list_id").map_err(map_db_err)?;
        let list = ListId::from_uuid(list);
        let heir: Option<String> = row.try_get("", "heir").map_err(map_db_err)?;
        if let Some(heir) = heir {
            let mut raw = Raw::new(backend);
            let sql = format!(
                "UPDATE list_member SET role = 'owner' WHERE list_id = {} AND user_id = {}",
                raw.p(list.as_uuid()),
                raw.p(heir.as_str())
            );
            raw.run(txn, sql).await?;
            let mut raw = Raw::new(backend);
            let sql = format!(
                "UPDATE task_list SET owner_id = {}, inbox_of = NULL, updated_at = {}, \
                 version = version + 1 WHERE id = {}",
                raw.p(heir.as_str()),
                raw.p(now),
                raw.p(list.as_uuid())
            );
            raw.run(txn, sql).await?;
            let handed = Edit::new(ChangeKind::ListUpdated, actor.clone(), vec!["owner_id"]);
            record_list(txn, &handed, list, None, now).await?;
            let promoted = Edit::new(ChangeKind::MemberUpdated, actor.clone(), vec!["role"]);
            let heir = UserId::from_stored(heir);
            record_list(txn, &promoted, list, Some(&heir), now).await?;
        } else {
            record_list_deletion(txn, list, actor, now).await?;
            delete_list_rows(txn, list, now).await?;
        }
    }
    // Their tasks left in lists of others (handed over just now, or shared with them)
    // go to each list's owner; what they were assigned is unassigned. Both are changes
    // the members' sync feeds and event streams carry.
    let mut raw = Raw::new(backend);
    let sql = format!(
        "UPDATE task SET user_id = (SELECT l.owner_id FROM task_list l WHERE l.id = task.list_id), \
         updated_at = {}, version = version + 1 \
         WHERE user_id = {} AND list_id IS NOT NULL RETURNING id, list_id, version",
        raw.p(now),
        raw.p(id.as_str())
    );
    let inherited = Edit::new(ChangeKind::TaskUpdated, actor.clone(), vec!["user_id"]);
    changelog::record_returned(txn, &inherited, now, raw, sql).await?;
    let mut raw = Raw::new(backend);
    let sql = format!(
        "UPDATE task SET assignee_id = NULL, updated_at = {}, version = version + 1 \
         WHERE assignee_id = {} RETURNING id, list_id, version",
        raw.p(now),
        raw.p(id.as_str())
    );
    let unassigned = Edit::new(ChangeKind::TaskUpdated, actor.clone(), vec!["assignee_id"]);
    changelog::record_returned(txn, &unassigned, now, raw, sql).await?;
    // The tombstones of tasks they created in lists would go with their user row: they
    // go to the list's owner, or, the list deleted, to a member who lost it with them.
    let mut raw = Raw::new(backend);
    let sql = format!(
        "UPDATE task_tombstone SET user_id = COALESCE(\
         (SELECT l.owner_id FROM task_list l WHERE l.id = task_tombstone.list_id), \
         (SELECT MIN(a.user_id) FROM list_access_lost a \
          WHERE a.list_id = task_tombstone.list_id AND a.user_id <> {}), user_id) \
         WHERE user_id = {} AND list_id IS NOT NULL",
        raw.p(id.as_str()),
        raw.p(id.as_str())
    );
    raw.run(txn, sql).await?;
    // Their memberships: each list's members see them go.
    let mut raw = Raw::new(backend);
    let sql = format!(
        "SELECT list_id FROM list_member WHERE user_id = {}",
        raw.p(id.as_str())
    );
    let memberships = txn
        .query_all_raw(raw.statement(sql))
        .await
        .map_err(map_db_err)?;
    let removed = Edit::new(ChangeKind::MemberRemoved, actor.clone(), Vec::new());
    for row in memberships {
        let list: uuid::Uuid = row.try_get("", "list_id").map_err(map_db_err)?;
        record_list(txn, &removed, ListId::from_uuid(list), Some(id), now).await?;
    }
    let mut raw = Raw::new(backend);
    let sql = format!(
        "DELETE FROM list_member WHERE user_id = {}",
        raw.p(id.as_str())
    );
    raw.run(txn, sql).await?;
    Ok(())
}

/// Deletes `id` with their tasks, sessions and webhooks (with the webhooks' deliveries),
/// explicitly rather than trusting every database to cascade, after handing their lists
/// over ([`hand_over`]); `false` when there is no such user. Run it in a transaction.
async fn delete_rows(
    txn: &DatabaseTransaction,
    id: &UserId,
    actor: &UserId,
    now: Timestamp,
) -> Result<bool, PortError> {
    hand_over(txn, id, actor, now).await?;
    task::Entity::delete_many()
        .filter(task::Column::UserId.eq(id.as_str()))
        .exec(txn)
        .await
        .map_err(map_db_err)?;
    session::Entity::delete_many()
        .filter(session::Column::UserId.eq(id.as_str()))
        .exec(txn)
        .await
        .map_err(map_db_err)?;
    crate::webhooks::delete_owned(txn, id, None).await?;
    let deleted = user::Entity::delete_by_id(id.as_str())
        .exec(txn)
        .await
        .map_err(map_db_err)?;
    Ok(deleted.rows_affected > 0)
}

/// A transaction for a write the last-admin rule guards. On SQLite it is `BEGIN
/// IMMEDIATE`: it takes the database's one write lock before it reads anything, so the
/// admins it reads cannot change before it commits. On PostgreSQL it is a plain (READ
/// COMMITTED) transaction, serialised by the row locks [`judge_admin_write`] takes.
async fn begin_admin_write(db: &DatabaseConnection) -> Result<DatabaseTransaction, PortError> {
    db.begin_with_options(TransactionOptions {
        sqlite_transaction_mode: Some(SqliteTransactionMode::Immediate),
        ..TransactionOptions::default()
    })
    .await
    .map_err(map_db_err)
}

/// Whether writing `id` so that it holds an admin role afterwards or not (`stays_admin`;
/// a deletion holds none) may go ahead in `txn`: `None` if so, else why not.
///
/// Reads the target's row and every admin's with `SELECT … ORDER BY id FOR NO KEY
/// UPDATE` on PostgreSQL: each of two such transactions locks the rows the other would
/// count or write, in the same order, so the second waits for the first to end and then
/// reads the rows as the first left them (a row demoted meanwhile no longer matches and
/// is left out; a deleted row is skipped). A user who became an admin after the read
/// began is not counted, which can only refuse a write, never let the last admin go.
/// `NO KEY UPDATE` leaves the foreign-key checks of task inserts free to proceed. On
/// SQLite the transaction already holds the write lock ([`begin_admin_write`]) and no
/// locking clause is written.
async fn judge_admin_write(
    txn: &DatabaseTransaction,
    id: &UserId,
    stays_admin: bool,
    admin_roles: &AdminRoles,
) -> Result<Option<GuardedWrite>, PortError> {
    let rows: Vec<(String, Option<String>)> = user::Entity::find()
        .select_only()
        .column(user::Column::Id)
        .column(user::Column::Role)
        .filter(
            Condition::any()
                .add(user::Column::Id.eq(id.as_str()))
                .add(admin_candidates(admin_roles)),
        )
        .order_by_asc(user::Column::Id)
        .lock(LockType::NoKeyUpdate)
        .into_tuple()
        .all(txn)
        .await
        .map_err(map_db_err)?;
    let Some((_, target_role)) = rows.iter().find(|(row_id, _)| row_id == id.as_str()) else {
        return Ok(Some(GuardedWrite::NotFound));
    };
    let target_is_admin = RoleList::from_stored(target_role.as_deref()).is_admin(admin_roles);
    let admins = rows
        .iter()
        .filter(|(_, role)| RoleList::from_stored(role.as_deref()).is_admin(admin_roles))
        .count();
    let admins = u64::try_from(admins).unwrap_or(u64::MAX);
    Ok(
        policy::ensure_an_admin_remains(target_is_admin, stays_admin, admins)
            .err()
            .map(|_| GuardedWrite::LastAdmin),
    )
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

    async fn find_by_email(&self, email: &str) -> Result<Option<User>, PortError> {
        let db = self.db.conn().await.map_err(map_db_err)?;
        // ASCII case only: SQL's LOWER folds ASCII alone on SQLite, so both backends
        // compare the same way when the address is folded here and the column there.
        let wanted = email.to_ascii_lowercase();
        let rows = user::Entity::find()
            .filter(Expr::expr(Func::lower(Expr::col(user::Column::Email))).eq(wanted.as_str()))
            .order_by_asc(user::Column::CreatedAt)
            .order_by_asc(user::Column::Id)
            .all(&*db)
            .await
            .map_err(map_db_err)?;
        rows.into_iter()
            .find(|u| u.email.eq_ignore_ascii_case(email))
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
        let rows: Vec<(String, Option<String>)> = user::Entity::find()
            .select_only()
            .column(user::Column::Id)
            .column(user::Column::Role)
            .filter(admin_candidates(admin_roles))
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
        write_role(&*db, id, roles).await
    }

    async fn set_role_keeping_an_admin(
        &self,
        id: &UserId,
        roles: &RoleList,
        admin_roles: &AdminRoles,
    ) -> Result<GuardedWrite, PortError> {
        let db = self.db.conn().await.map_err(map_db_err)?;
        let txn = begin_admin_write(&db).await?;
        let stays_admin = roles.is_admin(admin_roles);
        if let Some(refused) = judge_admin_write(&txn, id, stays_admin, admin_roles).await? {
            txn.rollback().await.map_err(map_db_err)?;
            return Ok(refused);
        }
        write_role(&txn, id, roles).await?;
        txn.commit().await.map_err(map_db_err)?;
        Ok(GuardedWrite::Written)
    }

    async fn delete(&self, id: &UserId, actor: &UserId, now: Timestamp) -> Result<bool, PortError> {
        let db = self.db.conn().await.map_err(map_db_err)?;
        let txn = begin_write(&db).await?;
        let deleted = delete_rows(&txn, id, actor, now).await?;
        txn.commit().await.map_err(map_db_err)?;
        self.db.written();
        Ok(deleted)
    }

    async fn delete_keeping_an_admin(
        &self,
        id: &UserId,
        admin_roles: &AdminRoles,
        actor: &UserId,
        now: Timestamp,
    ) -> Result<GuardedWrite, PortError> {
        let db = self.db.conn().await.map_err(map_db_err)?;
        let txn = begin_admin_write(&db).await?;
        if let Some(refused) = judge_admin_write(&txn, id, false, admin_roles).await? {
            txn.rollback().await.map_err(map_db_err)?;
            return Ok(refused);
        }
        delete_rows(&txn, id, actor, now).await?;
        txn.commit().await.map_err(map_db_err)?;
        self.db.written();
        Ok(GuardedWrite::Written)
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
