//! The trash: `SeaTrashRepository`, and how deletes keep what they delete.
//!
//! A deleted task (with the subtasks deleted with it) or list (with its tasks and
//! members) is one `trash_entry`, and its rows are copied as they were into `trash_task`,
//! `trash_list` and `trash_member` under the entry's id; a restore copies them back.
//! Deleting an entry deletes its rows (a foreign key with `ON DELETE CASCADE`).

use std::collections::{HashMap, HashSet};

use async_trait::async_trait;
use sea_orm::{ConnectionTrait, DatabaseTransaction, Iden, Iterable, QueryResult};
use todo_application::ports::{PortError, TrashRepository};
use todo_domain::{ChangeKind, Edit, ListId, Timestamp, TrashEntry, TrashKind, UserId};

use crate::db::Db;
use crate::entities::{list_member, task_list, task_write};
use crate::error::{corrupt, map_db_err};
use crate::raw::{Raw, begin_write, for_update};

/// Task ids bound per statement when copying rows.
const BATCH: usize = 500;

/// The columns of a table's entity, as its trash table has them too.
fn columns<C: Iterable + Iden>() -> Vec<String> {
    C::iter().map(|c| c.to_string()).collect()
}

/// A deleted task as its trash entry needs it.
pub(crate) struct Deleted {
    pub id: uuid::Uuid,
    pub parent: Option<uuid::Uuid>,
    pub title: String,
    pub list: uuid::Uuid,
}

impl Deleted {
    pub(crate) fn from_row(row: &QueryResult) -> Result<Self, PortError> {
        Ok(Self {
            id: row.try_get("", "id").map_err(map_db_err)?,
            parent: row.try_get("", "parent_id").map_err(map_db_err)?,
            title: row.try_get("", "title").map_err(map_db_err)?,
            list: row.try_get("", "list_id").map_err(map_db_err)?,
        })
    }
}

/// The tasks about to be deleted, grouped under their top-most deleted ancestor: each
/// group is one trash entry (the top task with the subtasks deleted with it).
fn groups(deleted: &[Deleted]) -> Vec<(&Deleted, Vec<uuid::Uuid>)> {
    let ids: HashSet<uuid::Uuid> = deleted.iter().map(|d| d.id).collect();
    let parents: HashMap<uuid::Uuid, Option<uuid::Uuid>> =
        deleted.iter().map(|d| (d.id, d.parent)).collect();
    let top = |mut id: uuid::Uuid| {
        // Bounded by the number of tasks, in case a cycle was ever stored.
        for _ in 0..=deleted.len() {
            match parents.get(&id).copied().flatten() {
                Some(parent) if ids.contains(&parent) => id = parent,
                _ => break,
            }
        }
        id
    };
    let mut members: HashMap<uuid::Uuid, Vec<uuid::Uuid>> = HashMap::new();
    for d in deleted {
        members.entry(top(d.id)).or_default().push(d.id);
    }
    deleted
        .iter()
        .filter_map(|d| members.remove(&d.id).map(|ids| (d, ids)))
        .collect()
}

/// Writes one trash entry of `owner`'s. Its id is that of a task or list being deleted,
/// which no entry has: an entry goes when what it holds is restored.
#[allow(clippy::too_many_arguments)]
async fn entry(
    txn: &DatabaseTransaction,
    owner: &UserId,
    id: uuid::Uuid,
    kind: TrashKind,
    title: &str,
    list: uuid::Uuid,
    tasks: usize,
    now: Timestamp,
) -> Result<(), PortError> {
    let mut raw = Raw::new(txn.get_database_backend());
    let sql = format!(
        "INSERT INTO trash_entry (id, user_id, kind, title, list_id, tasks, deleted_at) \
         VALUES ({}, {}, {}, {}, {}, {}, {})",
        raw.p(id),
        raw.p(owner.as_str()),
        raw.p(kind.as_str()),
        raw.p(title),
        raw.p(list),
        raw.p(i64::try_from(tasks).unwrap_or(i64::MAX)),
        raw.p(now)
    );
    raw.run(txn, sql).await?;
    Ok(())
}

/// Copies the `task` rows `where_sql` selects (its values bound by `bind`) into
/// `trash_task` under entry `trash`.
async fn copy_tasks(
    txn: &DatabaseTransaction,
    trash: uuid::Uuid,
    bind: impl FnOnce(&mut Raw) -> String,
) -> Result<(), PortError> {
    let cols = columns::<task_write::Column>().join(", ");
    let mut raw = Raw::new(txn.get_database_backend());
    let id = raw.p(trash);
    let condition = bind(&mut raw);
    let sql = format!(
        "INSERT INTO trash_task ({cols}, trash_id) SELECT {cols}, {id} FROM task WHERE {condition}"
    );
    raw.run(txn, sql).await?;
    Ok(())
}

/// Keeps the tasks about to be deleted in `owner`'s trash at `now`: one entry per task
/// whose parent is not deleted with it, holding its deleted subtasks. Run it in the
/// deleting transaction, before the delete.
pub(crate) async fn keep_tasks(
    txn: &DatabaseTransaction,
    owner: &UserId,
    deleted: &[Deleted],
    now: Timestamp,
) -> Result<(), PortError> {
    for (top, ids) in groups(deleted) {
        entry(
            txn,
            owner,
            top.id,
            TrashKind::Task,
            &top.title,
            top.list,
            ids.len(),
            now,
        )
        .await?;
        for batch in ids.chunks(BATCH) {
            copy_tasks(txn, top.id, |raw| {
                let list: Vec<String> = batch.iter().map(|id| raw.p(*id)).collect();
                format!("id IN ({})", list.join(", "))
            })
            .await?;
        }
    }
    Ok(())
}

/// Keeps list `id` (its row, its members, its tasks) in its owner's trash at `now`. Run
/// it in the deleting transaction, before the delete.
pub(crate) async fn keep_list(
    txn: &DatabaseTransaction,
    id: ListId,
    now: Timestamp,
) -> Result<(), PortError> {
    let backend = txn.get_database_backend();
    let list = id.as_uuid();
    let mut raw = Raw::new(backend);
    let sql = format!(
        "SELECT l.name, l.owner_id, \
         (SELECT CAST(COUNT(*) AS BIGINT) FROM task t WHERE t.list_id = l.id) AS n \
         FROM task_list l WHERE l.id = {}",
        raw.p(list)
    );
    let Some(row) = txn
        .query_one_raw(raw.statement(sql))
        .await
        .map_err(map_db_err)?
    else {
        return Ok(());
    };
    let name: String = row.try_get("", "name").map_err(map_db_err)?;
    let owner: String = row.try_get("", "owner_id").map_err(map_db_err)?;
    let owner = UserId::parse(&owner).map_err(|e| corrupt("user id", e))?;
    let tasks: i64 = row.try_get("", "n").map_err(map_db_err)?;
    let tasks = usize::try_from(tasks).unwrap_or(0);
    entry(txn, &owner, list, TrashKind::List, &name, list, tasks, now).await?;
    for (table, trash, cols, key) in [
        (
            "task_list",
            "trash_list",
            columns::<task_list::Column>(),
            "id",
        ),
        (
            "list_member",
            "trash_member",
            columns::<list_member::Column>(),
            "list_id",
        ),
    ] {
        let cols = cols.join(", ");
        let mut raw = Raw::new(backend);
        let sql = format!(
            "INSERT INTO {trash} ({cols}, trash_id) SELECT {cols}, {} FROM {table} WHERE {key} = {}",
            raw.p(list),
            raw.p(list)
        );
        raw.run(txn, sql).await?;
    }
    copy_tasks(txn, list, |raw| format!("list_id = {}", raw.p(list))).await
}

/// The `trash_task` rows of entry `trash` written back into `task`, as the SELECT list of
/// an `INSERT INTO task (…) SELECT …`: each one written at `now` (version + 1); its creator
/// kept while they exist (else `fallback`); its assignee kept while a member of its list.
/// With `into`, every task goes into that list and the entry's own task (`root`) keeps its
/// parent only when that task is there.
fn restored_columns(
    raw: &mut Raw,
    now: Timestamp,
    fallback: &UserId,
    into: Option<(ListId, uuid::Uuid)>,
) -> String {
    let list = |raw: &mut Raw| match into {
        Some((list, _)) => raw.p(list.as_uuid()),
        None => "t.list_id".to_owned(),
    };
    columns::<task_write::Column>()
        .into_iter()
        .map(|c| match c.as_str() {
            "updated_at" => raw.p(now),
            "version" => "t.version + 1".to_owned(),
            "list_id" => list(raw),
            "user_id" => format!(
                r#"COALESCE((SELECT u.id FROM "user" u WHERE u.id = t.user_id), {})"#,
                raw.p(fallback.as_str())
            ),
            "assignee_id" => {
                let list = list(raw);
                format!(
                    "(SELECT m.user_id FROM list_member m WHERE m.list_id = {list} \
                     AND m.user_id = t.assignee_id)"
                )
            }
            "parent_id" => match into {
                Some((list, root)) => {
                    let root = raw.p(root);
                    let list = raw.p(list.as_uuid());
                    format!(
                        "CASE WHEN t.id = {root} THEN (SELECT p.id FROM task p \
                         WHERE p.id = t.parent_id AND p.list_id = {list}) ELSE t.parent_id END"
                    )
                }
                None => "t.parent_id".to_owned(),
            },
            _ => format!("t.{c}"),
        })
        .collect::<Vec<_>>()
        .join(", ")
}

/// The trash in the `trash_*` tables.
pub struct SeaTrashRepository {
    db: Db,
}

impl SeaTrashRepository {
    #[must_use]
    pub fn new(db: impl Into<Db>) -> Self {
        Self { db: db.into() }
    }
}

fn entry_of(row: &QueryResult) -> Result<TrashEntry, PortError> {
    let kind: String = row.try_get("", "kind").map_err(map_db_err)?;
    let owner: String = row.try_get("", "user_id").map_err(map_db_err)?;
    let tasks: i64 = row.try_get("", "tasks").map_err(map_db_err)?;
    Ok(TrashEntry {
        id: row.try_get("", "id").map_err(map_db_err)?,
        kind: TrashKind::from_stored(&kind).ok_or_else(|| corrupt("trash kind", kind.clone()))?,
        owner: UserId::parse(&owner).map_err(|e| corrupt("user id", e))?,
        title: row.try_get("", "title").map_err(map_db_err)?,
        list: ListId::from_uuid(row.try_get("", "list_id").map_err(map_db_err)?),
        tasks: u32::try_from(tasks).unwrap_or(u32::MAX),
        deleted_at: row.try_get("", "deleted_at").map_err(map_db_err)?,
    })
}

const ENTRY: &str = "SELECT id, user_id, kind, title, list_id, CAST(tasks AS BIGINT) AS tasks, \
                     deleted_at FROM trash_entry";

/// Locks `entry` until the transaction ends (PostgreSQL) and tells whether it is there.
async fn lock_entry(txn: &DatabaseTransaction, entry: &TrashEntry) -> Result<bool, PortError> {
    let backend = txn.get_database_backend();
    let mut raw = Raw::new(backend);
    let sql = format!(
        "SELECT id FROM trash_entry WHERE id = {} AND user_id = {}{}",
        raw.p(entry.id),
        raw.p(entry.owner.as_str()),
        for_update(backend)
    );
    Ok(txn
        .query_one_raw(raw.statement(sql))
        .await
        .map_err(map_db_err)?
        .is_some())
}

/// Forgets `entry` (its rows go with it) and commits.
async fn forget_and_commit(txn: DatabaseTransaction, entry: &TrashEntry) -> Result<(), PortError> {
    let mut raw = Raw::new(txn.get_database_backend());
    let sql = format!("DELETE FROM trash_entry WHERE id = {}", raw.p(entry.id));
    raw.run(&txn, sql).await?;
    txn.commit().await.map_err(map_db_err)
}

/// The records of the tasks of `entry`, back in their list, restored by the owner of the
/// trash.
async fn record_restored_tasks(
    txn: &DatabaseTransaction,
    entry: &TrashEntry,
    now: Timestamp,
) -> Result<(), PortError> {
    let restored = Edit::new(ChangeKind::TaskRestored, entry.owner.clone(), Vec::new());
    crate::changelog::record_tasks(txn, &restored, now, |raw| {
        format!(
            "id IN (SELECT id FROM trash_task WHERE trash_id = {})",
            raw.p(entry.id)
        )
    })
    .await
}

#[async_trait]
impl TrashRepository for SeaTrashRepository {
    async fn list(
        &self,
        owner: &UserId,
        limit: u32,
        after: Option<(Timestamp, uuid::Uuid)>,
    ) -> Result<Vec<TrashEntry>, PortError> {
        let db = self.db.conn().await.map_err(map_db_err)?;
        let mut raw = Raw::new(db.get_database_backend());
        let mut sql = format!("{ENTRY} WHERE user_id = {}", raw.p(owner.as_str()));
        if let Some((at, id)) = after {
            sql.push_str(&format!(
                " AND (deleted_at < {} OR (deleted_at = {} AND id < {}))",
                raw.p(at),
                raw.p(at),
                raw.p(id)
            ));
        }
        sql.push_str(&format!(
            " ORDER BY deleted_at DESC, id DESC LIMIT {}",
            raw.p(i64::from(limit))
        ));
        db.query_all_raw(raw.statement(sql))
            .await
            .map_err(map_db_err)?
            .iter()
            .map(entry_of)
            .collect()
    }

    async fn get(&self, owner: &UserId, id: uuid::Uuid) -> Result<Option<TrashEntry>, PortError> {
        let db = self.db.conn().await.map_err(map_db_err)?;
        let mut raw = Raw::new(db.get_database_backend());
        let sql = format!(
            "{ENTRY} WHERE id = {} AND user_id = {}",
            raw.p(id),
            raw.p(owner.as_str())
        );
        db.query_one_raw(raw.statement(sql))
            .await
            .map_err(map_db_err)?
            .as_ref()
            .map(entry_of)
            .transpose()
    }

    async fn restore_task(
        &self,
        entry: &TrashEntry,
        into: ListId,
        now: Timestamp,
    ) -> Result<bool, PortError> {
        let db = self.db.conn().await.map_err(map_db_err)?;
        let txn = begin_write(&db).await?;
        if !lock_entry(&txn, entry).await? {
            txn.rollback().await.map_err(map_db_err)?;
            return Ok(false);
        }
        let mut raw = Raw::new(txn.get_database_backend());
        let select = restored_columns(&mut raw, now, &entry.owner, Some((into, entry.id)));
        let sql = format!(
            "INSERT INTO task ({}) SELECT {select} FROM trash_task t WHERE t.trash_id = {}",
            columns::<task_write::Column>().join(", "),
            raw.p(entry.id)
        );
        raw.run(&txn, sql).await?;
        record_restored_tasks(&txn, entry, now).await?;
        forget_and_commit(txn, entry).await?;
        self.db.written();
        Ok(true)
    }

    async fn restore_list(&self, entry: &TrashEntry, now: Timestamp) -> Result<bool, PortError> {
        let db = self.db.conn().await.map_err(map_db_err)?;
        let txn = begin_write(&db).await?;
        if !lock_entry(&txn, entry).await? {
            txn.rollback().await.map_err(map_db_err)?;
            return Ok(false);
        }
        let backend = txn.get_database_backend();
        let list_cols = columns::<task_list::Column>();
        let mut raw = Raw::new(backend);
        let select = list_cols
            .iter()
            .map(|c| match c.as_str() {
                "updated_at" => raw.p(now),
                "version" => "l.version + 1".to_owned(),
                _ => format!("l.{c}"),
            })
            .collect::<Vec<_>>()
            .join(", ");
        let sql = format!(
            "INSERT INTO task_list ({}) SELECT {select} FROM trash_list l WHERE l.trash_id = {}",
            list_cols.join(", "),
            raw.p(entry.id)
        );
        raw.run(&txn, sql).await?;
        let member_cols = columns::<list_member::Column>().join(", ");
        let mut raw = Raw::new(backend);
        let sql = format!(
            r#"INSERT INTO list_member ({member_cols}) SELECT {member_cols} FROM trash_member m
               WHERE m.trash_id = {} AND EXISTS (SELECT 1 FROM "user" u WHERE u.id = m.user_id)"#,
            raw.p(entry.id)
        );
        raw.run(&txn, sql).await?;
        let mut raw = Raw::new(backend);
        let select = restored_columns(&mut raw, now, &entry.owner, None);
        let sql = format!(
            "INSERT INTO task ({}) SELECT {select} FROM trash_task t WHERE t.trash_id = {}",
            columns::<task_write::Column>().join(", "),
            raw.p(entry.id)
        );
        raw.run(&txn, sql).await?;
        let restored = Edit::new(ChangeKind::ListRestored, entry.owner.clone(), Vec::new());
        let list = crate::changelog::Target {
            list: Some(entry.list.as_uuid()),
            ..crate::changelog::Target::default()
        };
        crate::changelog::record(&txn, &restored, &[list], now).await?;
        record_restored_tasks(&txn, entry, now).await?;
        forget_and_commit(txn, entry).await?;
        self.db.written();
        Ok(true)
    }

    async fn delete(&self, owner: &UserId, id: uuid::Uuid) -> Result<bool, PortError> {
        let db = self.db.conn().await.map_err(map_db_err)?;
        let mut raw = Raw::new(db.get_database_backend());
        let sql = format!(
            "DELETE FROM trash_entry WHERE id = {} AND user_id = {}",
            raw.p(id),
            raw.p(owner.as_str())
        );
        Ok(raw.run(&*db, sql).await? == 1)
    }

    async fn empty(&self, owner: &UserId) -> Result<u64, PortError> {
        let db = self.db.conn().await.map_err(map_db_err)?;
        let mut raw = Raw::new(db.get_database_backend());
        let sql = format!(
            "DELETE FROM trash_entry WHERE user_id = {}",
            raw.p(owner.as_str())
        );
        raw.run(&*db, sql).await
    }

    async fn purge(&self, before: Timestamp) -> Result<u64, PortError> {
        let db = self.db.conn().await.map_err(map_db_err)?;
        let mut raw = Raw::new(db.get_database_backend());
        let sql = format!(
            "DELETE FROM trash_entry WHERE deleted_at < {}",
            raw.p(before)
        );
        raw.run(&*db, sql).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(id: u128, parent: Option<u128>) -> Deleted {
        Deleted {
            id: uuid::Uuid::from_u128(id),
            parent: parent.map(uuid::Uuid::from_u128),
            title: format!("t{id}"),
            list: uuid::Uuid::nil(),
        }
    }

    #[test]
    fn deleted_tasks_group_under_their_topmost_deleted_ancestor() {
        // 1 ← 2 ← 3 deleted together; 5 deleted without its parent 4; 6 alone.
        let deleted = [
            d(3, Some(2)),
            d(1, None),
            d(2, Some(1)),
            d(5, Some(4)),
            d(6, None),
        ];
        let mut got: Vec<(u128, Vec<u128>)> = groups(&deleted)
            .into_iter()
            .map(|(top, mut ids)| {
                ids.sort();
                (
                    top.id.as_u128(),
                    ids.into_iter().map(|i| i.as_u128()).collect(),
                )
            })
            .collect();
        got.sort();
        assert_eq!(got, vec![(1, vec![1, 2, 3]), (5, vec![5]), (6, vec![6])]);
    }
}
