//! Lists and their members as the list repository: `SeaListRepository`.
//!
//! Every write that judges a list's members (adding, removing, transferring, deleting)
//! first locks the list's row on PostgreSQL (`SELECT … FOR UPDATE`), so that such writes
//! to one list take turns and each sees the others' outcome; on SQLite each runs in a
//! `BEGIN IMMEDIATE` transaction, which already makes every writer take turns.

use async_trait::async_trait;
use sea_orm::{ConnectionTrait, DatabaseTransaction, FromQueryResult};
use todo_application::ports::{AddMember, IdempotentListInsert, ListRepository, PortError};
use todo_domain::{
    ChangeKind, Colour, Edit, IdempotencyKey, ListId, ListName, ListView, Member, Position, Role,
    TaskList, Timestamp, UserId,
};

use crate::changelog;
use crate::db::Db;
use crate::error::{corrupt, map_db_err};
use crate::owned::count_owned_locked;
use crate::raw::{Raw, begin_write, for_update};

/// Lists in the `task_list` table, their members in `list_member`.
pub struct SeaListRepository {
    db: Db,
}

impl SeaListRepository {
    #[must_use]
    pub fn new(db: impl Into<Db>) -> Self {
        Self { db: db.into() }
    }
}

/// A list as one member reads it.
#[derive(Debug, FromQueryResult)]
struct ListRow {
    id: uuid::Uuid,
    owner_id: String,
    name: String,
    colour: Option<String>,
    position: String,
    archived: bool,
    inbox_of: Option<String>,
    created_at: Timestamp,
    updated_at: Timestamp,
    version: i64,
    role: String,
    members: i64,
}

impl ListRow {
    fn view(self) -> Result<ListView, PortError> {
        Ok(ListView {
            list: TaskList {
                id: ListId::from_uuid(self.id),
                name: ListName::parse(&self.name).map_err(|e| corrupt("list name", e))?,
                colour: self
                    .colour
                    .as_deref()
                    .map(Colour::parse)
                    .transpose()
                    .map_err(|e| corrupt("colour", e))?,
                position: Position::parse(&self.position).map_err(|e| corrupt("position", e))?,
                archived: self.archived,
                inbox: self.inbox_of.is_some(),
                owner: UserId::parse(&self.owner_id).map_err(|e| corrupt("owner id", e))?,
                created_at: self.created_at,
                updated_at: self.updated_at,
                version: self.version,
            },
            members: u32::try_from(self.members).map_err(|_| corrupt("members", self.members))?,
            role: Role::from_stored(&self.role).ok_or_else(|| corrupt("role", &self.role))?,
        })
    }
}

/// The columns of a [`ListRow`] for the member `m`, from `task_list l`.
const LIST_COLUMNS: &str = "l.id, l.owner_id, l.name, l.colour, l.position, l.archived, \
     l.inbox_of, l.created_at, l.updated_at, l.version, m.role, \
     (SELECT COUNT(*) FROM list_member c WHERE c.list_id = l.id) AS members";

/// Locks list `id`'s row until the transaction ends (PostgreSQL) and tells whether it is
/// there (at version `expected`, when given).
async fn lock_list(
    txn: &DatabaseTransaction,
    id: ListId,
    expected: Option<i64>,
) -> Result<bool, PortError> {
    let backend = txn.get_database_backend();
    let mut raw = Raw::new(backend);
    let mut sql = format!(
        "SELECT id FROM task_list WHERE id = {}",
        raw.p(id.as_uuid())
    );
    if let Some(v) = expected {
        sql.push_str(&format!(" AND version = {}", raw.p(v)));
    }
    sql.push_str(for_update(backend));
    Ok(txn
        .query_one_raw(raw.statement(sql))
        .await
        .map_err(map_db_err)?
        .is_some())
}

/// Deletes list `id` with its tasks (recording their tombstones, with the list, deleted
/// at `now`) and its members (recording that each lost access at `now`). Run it in a
/// transaction.
pub(crate) async fn delete_list_rows(
    txn: &DatabaseTransaction,
    id: ListId,
    now: Timestamp,
) -> Result<u64, PortError> {
    let backend = txn.get_database_backend();
    let list = id.as_uuid();
    let mut raw = Raw::new(backend);
    let sql = format!(
        "INSERT INTO task_tombstone (id, user_id, deleted_at, list_id) \
         SELECT id, user_id, {}, list_id FROM task WHERE list_id = {} \
         ON CONFLICT (id) DO UPDATE SET user_id = excluded.user_id, \
         deleted_at = excluded.deleted_at, list_id = excluded.list_id",
        raw.p(now),
        raw.p(list)
    );
    raw.run(txn, sql).await?;
    let mut raw = Raw::new(backend);
    let sql = format!(
        "INSERT INTO list_access_lost (list_id, user_id, lost_at) \
         SELECT list_id, user_id, {} FROM list_member WHERE list_id = {} \
         ON CONFLICT DO NOTHING",
        raw.p(now),
        raw.p(list)
    );
    raw.run(txn, sql).await?;
    for table in ["task", "list_member"] {
        let mut raw = Raw::new(backend);
        let sql = format!("DELETE FROM {table} WHERE list_id = {}", raw.p(list));
        raw.run(txn, sql).await?;
    }
    let mut raw = Raw::new(backend);
    let sql = format!("DELETE FROM task_list WHERE id = {}", raw.p(list));
    raw.run(txn, sql).await
}

/// The records of deleting list `id` (locked) by `actor`: the deletion for each of its
/// members (who will be members no more when it is read), and each of its tasks'.
pub(crate) async fn record_list_deletion(
    txn: &DatabaseTransaction,
    id: ListId,
    actor: &UserId,
    now: Timestamp,
) -> Result<(), PortError> {
    let mut raw = Raw::new(txn.get_database_backend());
    let sql = format!(
        "SELECT user_id FROM list_member WHERE list_id = {}",
        raw.p(id.as_uuid())
    );
    let members = txn
        .query_all_raw(raw.statement(sql))
        .await
        .map_err(map_db_err)?
        .iter()
        .map(|row| {
            Ok(changelog::Target {
                list: Some(id.as_uuid()),
                task: None,
                subject: Some(row.try_get("", "user_id").map_err(map_db_err)?),
                version: None,
            })
        })
        .collect::<Result<Vec<_>, PortError>>()?;
    let deleted = Edit::new(ChangeKind::ListDeleted, actor.clone(), Vec::new());
    changelog::record(txn, &deleted, &members, now).await?;
    changelog::record_tasks(txn, &Edit::deleted(actor), now, |raw| {
        format!("list_id = {}", raw.p(id.as_uuid()))
    })
    .await
}

/// Inserts `list` and its owner's membership, unless its owner owns `max_owned` lists
/// already: `false` then, with nothing written. Run it in a write transaction
/// ([`count_owned_locked`]: two inserts of one owner take turns).
async fn insert_rows(
    txn: &DatabaseTransaction,
    list: &TaskList,
    max_owned: u32,
) -> Result<bool, PortError> {
    let owned = count_owned_locked(txn, &list.owner, "task_list").await?;
    if owned >= i64::from(max_owned) {
        return Ok(false);
    }
    insert_list(txn, list).await?;
    Ok(true)
}

/// The list's row and its owner's membership.
async fn insert_list(conn: &impl ConnectionTrait, list: &TaskList) -> Result<(), PortError> {
    let backend = conn.get_database_backend();
    let mut raw = Raw::new(backend);
    let sql = format!(
        "INSERT INTO task_list (id, owner_id, name, colour, position, archived, inbox_of, \
         created_at, updated_at, version) VALUES ({}, {}, {}, {}, {}, {}, {}, {}, {}, {})",
        raw.p(list.id.as_uuid()),
        raw.p(list.owner.as_str()),
        raw.p(list.name.as_str()),
        raw.p(list.colour.as_ref().map(|c| c.as_str().to_owned())),
        raw.p(list.position.as_str()),
        raw.p(list.archived),
        raw.p(list.inbox.then(|| list.owner.as_str().to_owned())),
        raw.p(list.created_at),
        raw.p(list.updated_at),
        raw.p(list.version),
    );
    raw.run(conn, sql).await?;
    let mut raw = Raw::new(backend);
    let sql = format!(
        "INSERT INTO list_member (list_id, user_id, role, added_at) VALUES ({}, {}, 'owner', {})",
        raw.p(list.id.as_uuid()),
        raw.p(list.owner.as_str()),
        raw.p(list.created_at),
    );
    raw.run(conn, sql).await?;
    Ok(())
}

/// Appends the record of a change to list `list` (its version after the change, read
/// from its row), concerning `subject` when given, in `txn`.
pub(crate) async fn record_list(
    conn: &impl ConnectionTrait,
    edit: &Edit,
    list: ListId,
    subject: Option<&UserId>,
    at: Timestamp,
) -> Result<(), PortError> {
    let mut raw = Raw::new(conn.get_database_backend());
    let sql = format!(
        "SELECT version FROM task_list WHERE id = {}",
        raw.p(list.as_uuid())
    );
    let version: Option<i64> = match conn
        .query_one_raw(raw.statement(sql))
        .await
        .map_err(map_db_err)?
    {
        Some(row) => Some(row.try_get("", "version").map_err(map_db_err)?),
        None => None,
    };
    let target = changelog::Target {
        list: Some(list.as_uuid()),
        task: None,
        subject: subject.map(|s| s.as_str().to_owned()),
        version,
    };
    changelog::record(conn, edit, &[target], at).await
}

/// The owner of list `list`, if it is there.
async fn owner_of(conn: &impl ConnectionTrait, list: ListId) -> Result<Option<UserId>, PortError> {
    let mut raw = Raw::new(conn.get_database_backend());
    let sql = format!(
        "SELECT owner_id FROM task_list WHERE id = {}",
        raw.p(list.as_uuid())
    );
    conn.query_one_raw(raw.statement(sql))
        .await
        .map_err(map_db_err)?
        .map(|row| {
            row.try_get::<String>("", "owner_id")
                .map(UserId::from_stored)
        })
        .transpose()
        .map_err(map_db_err)
}

/// The record of a list's creation by its owner.
fn created(list: &TaskList) -> Edit {
    Edit::new(ChangeKind::ListCreated, list.owner.clone(), Vec::new())
}

/// The id of `owner`'s Inbox, if they have one.
async fn inbox_of(
    conn: &impl ConnectionTrait,
    owner: &UserId,
) -> Result<Option<ListId>, PortError> {
    let mut raw = Raw::new(conn.get_database_backend());
    let sql = format!(
        "SELECT id FROM task_list WHERE inbox_of = {}",
        raw.p(owner.as_str())
    );
    conn.query_one_raw(raw.statement(sql))
        .await
        .map_err(map_db_err)?
        .map(|row| row.try_get("", "id").map(ListId::from_uuid))
        .transpose()
        .map_err(map_db_err)
}

#[async_trait]
impl ListRepository for SeaListRepository {
    async fn ensure_inbox(&self, candidate: &TaskList) -> Result<ListId, PortError> {
        let db = self.db.conn().await.map_err(map_db_err)?;
        if let Some(id) = inbox_of(&*db, &candidate.owner).await? {
            return Ok(id);
        }
        let backend = db.get_database_backend();
        let txn = begin_write(&db).await?;
        // A concurrent call inserting the same owner's Inbox makes this one wait on the
        // unique `inbox_of` (PostgreSQL) or the write lock (SQLite), then do nothing.
        let mut raw = Raw::new(backend);
        let sql = format!(
            "INSERT INTO task_list (id, owner_id, name, colour, position, archived, inbox_of, \
             created_at, updated_at, version) VALUES ({}, {}, {}, NULL, {}, {}, {}, {}, {}, {}) \
             ON CONFLICT (inbox_of) DO NOTHING",
            raw.p(candidate.id.as_uuid()),
            raw.p(candidate.owner.as_str()),
            raw.p(candidate.name.as_str()),
            raw.p(candidate.position.as_str()),
            raw.p(false),
            raw.p(candidate.owner.as_str()),
            raw.p(candidate.created_at),
            raw.p(candidate.updated_at),
            raw.p(candidate.version),
        );
        if raw.run(&txn, sql).await? == 1 {
            let mut raw = Raw::new(backend);
            let sql = format!(
                "INSERT INTO list_member (list_id, user_id, role, added_at) \
                 VALUES ({}, {}, 'owner', {})",
                raw.p(candidate.id.as_uuid()),
                raw.p(candidate.owner.as_str()),
                raw.p(candidate.created_at),
            );
            raw.run(&txn, sql).await?;
            record_list(
                &txn,
                &created(candidate),
                candidate.id,
                None,
                candidate.created_at,
            )
            .await?;
            txn.commit().await.map_err(map_db_err)?;
            self.db.written();
            return Ok(candidate.id);
        }
        let id = inbox_of(&txn, &candidate.owner)
            .await?
            .ok_or_else(|| corrupt("inbox", "conflicted but cannot be read"))?;
        txn.commit().await.map_err(map_db_err)?;
        Ok(id)
    }

    async fn role(&self, caller: &UserId, list: ListId) -> Result<Option<Role>, PortError> {
        let db = self.db.conn().await.map_err(map_db_err)?;
        let mut raw = Raw::new(db.get_database_backend());
        let sql = format!(
            "SELECT role FROM list_member WHERE list_id = {} AND user_id = {}",
            raw.p(list.as_uuid()),
            raw.p(caller.as_str())
        );
        let Some(row) = db
            .query_one_raw(raw.statement(sql))
            .await
            .map_err(map_db_err)?
        else {
            return Ok(None);
        };
        let role: String = row.try_get("", "role").map_err(map_db_err)?;
        Role::from_stored(&role)
            .map(Some)
            .ok_or_else(|| corrupt("role", role))
    }

    async fn get(&self, caller: &UserId, id: ListId) -> Result<Option<ListView>, PortError> {
        let db = self.db.conn().await.map_err(map_db_err)?;
        let mut raw = Raw::new(db.get_database_backend());
        let sql = format!(
            "SELECT {LIST_COLUMNS} FROM task_list l JOIN list_member m \
             ON m.list_id = l.id AND m.user_id = {} WHERE l.id = {}",
            raw.p(caller.as_str()),
            raw.p(id.as_uuid())
        );
        ListRow::find_by_statement(raw.statement(sql))
            .one(&*db)
            .await
            .map_err(map_db_err)?
            .map(ListRow::view)
            .transpose()
    }

    async fn list(
        &self,
        caller: &UserId,
        archived: bool,
        limit: u32,
        after: Option<(Position, ListId)>,
    ) -> Result<Vec<ListView>, PortError> {
        let db = self.db.conn().await.map_err(map_db_err)?;
        let mut raw = Raw::new(db.get_database_backend());
        let mut sql = format!(
            "SELECT {LIST_COLUMNS} FROM task_list l JOIN list_member m \
             ON m.list_id = l.id AND m.user_id = {} WHERE l.archived = {}",
            raw.p(caller.as_str()),
            raw.p(archived)
        );
        if let Some((position, id)) = after {
            let p1 = raw.p(position.as_str());
            let p2 = raw.p(position.as_str());
            let id = raw.p(id.as_uuid());
            sql.push_str(&format!(
                " AND (l.position > {p1} OR (l.position = {p2} AND l.id > {id}))"
            ));
        }
        sql.push_str(&format!(
            " ORDER BY l.position, l.id LIMIT {}",
            raw.p(i64::from(limit))
        ));
        ListRow::find_by_statement(raw.statement(sql))
            .all(&*db)
            .await
            .map_err(map_db_err)?
            .into_iter()
            .map(ListRow::view)
            .collect()
    }

    async fn insert(&self, list: &TaskList, max_owned: u32) -> Result<bool, PortError> {
        let db = self.db.conn().await.map_err(map_db_err)?;
        let txn = begin_write(&db).await?;
        if !insert_rows(&txn, list, max_owned).await? {
            txn.rollback().await.map_err(map_db_err)?;
            return Ok(false);
        }
        record_list(&txn, &created(list), list.id, None, list.created_at).await?;
        txn.commit().await.map_err(map_db_err)?;
        self.db.written();
        Ok(true)
    }

    async fn insert_idempotent(
        &self,
        list: &TaskList,
        max_owned: u32,
        key: &IdempotencyKey,
        fingerprint: &str,
        expired_before: Timestamp,
    ) -> Result<IdempotentListInsert, PortError> {
        let db = self.db.conn().await.map_err(map_db_err)?;
        let backend = db.get_database_backend();
        let owner = list.owner.as_str();
        let txn = begin_write(&db).await?;
        // A key used longer ago than the window is free again.
        let mut raw = Raw::new(backend);
        let sql = format!(
            "DELETE FROM idempotency_key WHERE user_id = {} AND key = {} AND created_at < {}",
            raw.p(owner),
            raw.p(key.as_str()),
            raw.p(expired_before)
        );
        raw.run(&txn, sql).await?;
        // A concurrent request with the same key waits here (PostgreSQL: on the primary
        // key; SQLite: on the write lock) until the first commits, then finds its row.
        let mut raw = Raw::new(backend);
        let sql = format!(
            "INSERT INTO idempotency_key (user_id, key, fingerprint, task_id, created_at) \
             VALUES ({}, {}, {}, {}, {}) ON CONFLICT (user_id, key) DO NOTHING",
            raw.p(owner),
            raw.p(key.as_str()),
            raw.p(fingerprint),
            raw.p(list.id.as_uuid()),
            raw.p(list.created_at)
        );
        if raw.run(&txn, sql).await? == 1 {
            if !insert_rows(&txn, list, max_owned).await? {
                txn.rollback().await.map_err(map_db_err)?;
                return Ok(IdempotentListInsert::Full);
            }
            record_list(&txn, &created(list), list.id, None, list.created_at).await?;
            txn.commit().await.map_err(map_db_err)?;
            self.db.written();
            return Ok(IdempotentListInsert::Inserted);
        }
        let mut raw = Raw::new(backend);
        let sql = format!(
            "SELECT fingerprint, task_id FROM idempotency_key WHERE user_id = {} AND key = {}",
            raw.p(owner),
            raw.p(key.as_str())
        );
        let row = txn
            .query_one_raw(raw.statement(sql))
            .await
            .map_err(map_db_err)?
            .ok_or_else(|| corrupt("idempotency key", "conflicted but cannot be read"))?;
        txn.commit().await.map_err(map_db_err)?;
        Ok(IdempotentListInsert::Existing {
            fingerprint: row.try_get("", "fingerprint").map_err(map_db_err)?,
            id: row.try_get("", "task_id").map_err(map_db_err)?,
        })
    }

    async fn replace(
        &self,
        list: &TaskList,
        expected: i64,
        edit: &Edit,
    ) -> Result<bool, PortError> {
        let db = self.db.conn().await.map_err(map_db_err)?;
        let txn = begin_write(&db).await?;
        let mut raw = Raw::new(db.get_database_backend());
        let sql = format!(
            "UPDATE task_list SET name = {}, colour = {}, position = {}, archived = {}, \
             updated_at = {}, version = {} WHERE id = {} AND version = {}",
            raw.p(list.name.as_str()),
            raw.p(list.colour.as_ref().map(|c| c.as_str().to_owned())),
            raw.p(list.position.as_str()),
            raw.p(list.archived),
            raw.p(list.updated_at),
            raw.p(list.version),
            raw.p(list.id.as_uuid()),
            raw.p(expected)
        );
        if raw.run(&txn, sql).await? != 1 {
            txn.rollback().await.map_err(map_db_err)?;
            return Ok(false);
        }
        record_list(&txn, edit, list.id, None, list.updated_at).await?;
        txn.commit().await.map_err(map_db_err)?;
        self.db.written();
        Ok(true)
    }

    async fn delete(
        &self,
        id: ListId,
        expected: Option<i64>,
        now: Timestamp,
    ) -> Result<bool, PortError> {
        let db = self.db.conn().await.map_err(map_db_err)?;
        let txn = begin_write(&db).await?;
        if !lock_list(&txn, id, expected).await? {
            txn.rollback().await.map_err(map_db_err)?;
            return Ok(false);
        }
        let owner = owner_of(&txn, id)
            .await?
            .ok_or_else(|| corrupt("list", "locked but cannot be read"))?;
        record_list_deletion(&txn, id, &owner, now).await?;
        crate::trash::keep_list(&txn, id, now).await?;
        let deleted = delete_list_rows(&txn, id, now).await?;
        txn.commit().await.map_err(map_db_err)?;
        self.db.written();
        Ok(deleted == 1)
    }

    async fn members(&self, list: ListId) -> Result<Vec<Member>, PortError> {
        let db = self.db.conn().await.map_err(map_db_err)?;
        let mut raw = Raw::new(db.get_database_backend());
        let sql = format!(
            r#"SELECT m.user_id, m.role, m.added_at, u.name, u.email FROM list_member m
               JOIN "user" u ON u.id = m.user_id WHERE m.list_id = {}
               ORDER BY CASE WHEN m.role = 'owner' THEN 0 ELSE 1 END, m.added_at, m.user_id"#,
            raw.p(list.as_uuid())
        );
        db.query_all_raw(raw.statement(sql))
            .await
            .map_err(map_db_err)?
            .iter()
            .map(|row| {
                let user_id: String = row.try_get("", "user_id").map_err(map_db_err)?;
                let role: String = row.try_get("", "role").map_err(map_db_err)?;
                Ok(Member {
                    user_id: UserId::parse(&user_id).map_err(|e| corrupt("user id", e))?,
                    name: row.try_get("", "name").map_err(map_db_err)?,
                    email: row.try_get("", "email").map_err(map_db_err)?,
                    role: Role::from_stored(&role).ok_or_else(|| corrupt("role", &role))?,
                    added_at: row.try_get("", "added_at").map_err(map_db_err)?,
                })
            })
            .collect()
    }

    async fn add_member(
        &self,
        list: ListId,
        user: &UserId,
        role: Role,
        now: Timestamp,
        max_members: u32,
    ) -> Result<AddMember, PortError> {
        // Ownership is transferred, never given: a second owner would break the list.
        if role == Role::Owner {
            return Err(PortError::Other("a member cannot be added as owner".into()));
        }
        let db = self.db.conn().await.map_err(map_db_err)?;
        let backend = db.get_database_backend();
        let txn = begin_write(&db).await?;
        if !lock_list(&txn, list, None).await? {
            txn.rollback().await.map_err(map_db_err)?;
            return Ok(AddMember::NoList);
        }
        let mut raw = Raw::new(backend);
        let sql = format!(
            "SELECT user_id FROM list_member WHERE list_id = {}",
            raw.p(list.as_uuid())
        );
        let members = txn
            .query_all_raw(raw.statement(sql))
            .await
            .map_err(map_db_err)?
            .iter()
            .map(|row| row.try_get::<String>("", "user_id"))
            .collect::<Result<Vec<_>, _>>()
            .map_err(map_db_err)?;
        let outcome = if members.iter().any(|m| m == user.as_str()) {
            AddMember::AlreadyMember
        } else if members.len() >= usize::try_from(max_members).unwrap_or(usize::MAX) {
            AddMember::Full
        } else {
            AddMember::Added
        };
        if outcome != AddMember::Added {
            txn.rollback().await.map_err(map_db_err)?;
            return Ok(outcome);
        }
        let mut raw = Raw::new(backend);
        let sql = format!(
            "INSERT INTO list_member (list_id, user_id, role, added_at) VALUES ({}, {}, {}, {})",
            raw.p(list.as_uuid()),
            raw.p(user.as_str()),
            raw.p(role.as_str()),
            raw.p(now)
        );
        raw.run(&txn, sql).await?;
        let owner = owner_of(&txn, list)
            .await?
            .ok_or_else(|| corrupt("list", "locked but cannot be read"))?;
        let edit = Edit::new(ChangeKind::MemberAdded, owner, vec!["role"]);
        record_list(&txn, &edit, list, Some(user), now).await?;
        txn.commit().await.map_err(map_db_err)?;
        self.db.written();
        Ok(AddMember::Added)
    }

    async fn set_member_role(
        &self,
        list: ListId,
        user: &UserId,
        role: Role,
        now: Timestamp,
    ) -> Result<bool, PortError> {
        // Ownership is transferred, never given: a second owner would break the list.
        if role == Role::Owner {
            return Ok(false);
        }
        let db = self.db.conn().await.map_err(map_db_err)?;
        let txn = begin_write(&db).await?;
        let mut raw = Raw::new(db.get_database_backend());
        let sql = format!(
            "UPDATE list_member SET role = {} WHERE list_id = {} AND user_id = {} \
             AND role <> 'owner'",
            raw.p(role.as_str()),
            raw.p(list.as_uuid()),
            raw.p(user.as_str())
        );
        if raw.run(&txn, sql).await? != 1 {
            txn.rollback().await.map_err(map_db_err)?;
            return Ok(false);
        }
        let owner = owner_of(&txn, list)
            .await?
            .ok_or_else(|| corrupt("list", "has a member but cannot be read"))?;
        let edit = Edit::new(ChangeKind::MemberUpdated, owner, vec!["role"]);
        record_list(&txn, &edit, list, Some(user), now).await?;
        txn.commit().await.map_err(map_db_err)?;
        self.db.written();
        Ok(true)
    }

    async fn remove_member(
        &self,
        list: ListId,
        user: &UserId,
        actor: &UserId,
        now: Timestamp,
    ) -> Result<bool, PortError> {
        let db = self.db.conn().await.map_err(map_db_err)?;
        let backend = db.get_database_backend();
        let txn = begin_write(&db).await?;
        lock_list(&txn, list, None).await?;
        let mut raw = Raw::new(backend);
        let sql = format!(
            "DELETE FROM list_member WHERE list_id = {} AND user_id = {} AND role <> 'owner'",
            raw.p(list.as_uuid()),
            raw.p(user.as_str())
        );
        if raw.run(&txn, sql).await? != 1 {
            txn.rollback().await.map_err(map_db_err)?;
            return Ok(false);
        }
        let mut raw = Raw::new(backend);
        let sql = format!(
            "UPDATE task SET assignee_id = NULL, updated_at = {}, version = version + 1 \
             WHERE list_id = {} AND assignee_id = {} RETURNING id, list_id, version",
            raw.p(now),
            raw.p(list.as_uuid()),
            raw.p(user.as_str())
        );
        let cleared = Edit::new(ChangeKind::TaskUpdated, actor.clone(), vec!["assignee_id"]);
        changelog::record_returned(&txn, &cleared, now, raw, sql).await?;
        let removed = Edit::new(ChangeKind::MemberRemoved, actor.clone(), Vec::new());
        record_list(&txn, &removed, list, Some(user), now).await?;
        let mut raw = Raw::new(backend);
        let sql = format!(
            "INSERT INTO list_access_lost (list_id, user_id, lost_at) VALUES ({}, {}, {}) \
             ON CONFLICT DO NOTHING",
            raw.p(list.as_uuid()),
            raw.p(user.as_str()),
            raw.p(now)
        );
        raw.run(&txn, sql).await?;
        txn.commit().await.map_err(map_db_err)?;
        self.db.written();
        Ok(true)
    }

    async fn transfer(
        &self,
        list: ListId,
        from: &UserId,
        to: &UserId,
        now: Timestamp,
    ) -> Result<bool, PortError> {
        let db = self.db.conn().await.map_err(map_db_err)?;
        let backend = db.get_database_backend();
        let txn = begin_write(&db).await?;
        if !lock_list(&txn, list, None).await? {
            txn.rollback().await.map_err(map_db_err)?;
            return Ok(false);
        }
        let change = |raw: &mut Raw, user: &UserId, from_role: &str, to_role: &str| {
            format!(
                "UPDATE list_member SET role = {} WHERE list_id = {} AND user_id = {} AND role = {}",
                raw.p(to_role),
                raw.p(list.as_uuid()),
                raw.p(user.as_str()),
                raw.p(from_role)
            )
        };
        let mut raw = Raw::new(backend);
        let promote = change(&mut raw, to, "editor", "owner");
        let promoted = raw.run(&txn, promote).await?;
        let mut raw = Raw::new(backend);
        let demote = change(&mut raw, from, "owner", "editor");
        let demoted = raw.run(&txn, demote).await?;
        if promoted != 1 || demoted != 1 {
            txn.rollback().await.map_err(map_db_err)?;
            return Ok(false);
        }
        let mut raw = Raw::new(backend);
        let sql = format!(
            "UPDATE task_list SET owner_id = {}, updated_at = {}, version = version + 1 \
             WHERE id = {}",
            raw.p(to.as_str()),
            raw.p(now),
            raw.p(list.as_uuid())
        );
        raw.run(&txn, sql).await?;
        let handed = Edit::new(ChangeKind::ListUpdated, from.clone(), vec!["owner_id"]);
        record_list(&txn, &handed, list, None, now).await?;
        let role = Edit::new(ChangeKind::MemberUpdated, from.clone(), vec!["role"]);
        for member in [to, from] {
            record_list(&txn, &role, list, Some(member), now).await?;
        }
        txn.commit().await.map_err(map_db_err)?;
        self.db.written();
        Ok(true)
    }
}
