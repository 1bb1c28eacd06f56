//! The change log's rows: written by every write in its own transaction (or, on
//! PostgreSQL, in its own statement), read back in the order every reader shares.
//!
//! Order: `(tx, id)`. On PostgreSQL `tx` is the writing transaction's id, and a reader
//! reads only the records of transactions older than every one still running
//! (`pg_snapshot_xmin(pg_current_snapshot())`): those are all committed or gone for good,
//! and every transaction to come has a larger id, so a reader that has read up to a place
//! never finds a record before it later. On SQLite writes take turns: `tx` is 0 and the
//! ids are in commit order.

use async_trait::async_trait;
use sea_orm::{ConnectionTrait, DbBackend, Statement, Value};
use todo_application::ports::{ChangeLog, ChangeRead, PortError};
use todo_domain::{
    ChangeCursor, ChangeKind, ChangeRecord, Edit, ListId, TaskId, Timestamp, UserId,
};

use crate::db::Db;
use crate::error::{corrupt, map_db_err};
use crate::raw::Raw;

/// The columns a record is written with, in this order.
const COLUMNS: &str = "kind, list_id, task_id, actor_id, subject_id, version, fields, at";

/// Records written per statement (eight parameters each; SQLite allows 32 766).
const BATCH: usize = 500;

/// What a record says about the row a write changed.
#[derive(Debug, Clone, Default)]
pub(crate) struct Target {
    pub(crate) list: Option<uuid::Uuid>,
    pub(crate) task: Option<uuid::Uuid>,
    pub(crate) subject: Option<String>,
    pub(crate) version: Option<i64>,
}

/// The names of the changed fields as stored.
fn fields(edit: &Edit) -> String {
    edit.fields.join(",")
}

/// Appends `edit`'s record for each of `targets`, at `at`, on `conn` (in the write's
/// transaction).
pub(crate) async fn record(
    conn: &impl ConnectionTrait,
    edit: &Edit,
    targets: &[Target],
    at: Timestamp,
) -> Result<(), PortError> {
    let backend = conn.get_database_backend();
    for batch in targets.chunks(BATCH) {
        let mut raw = Raw::new(backend);
        let rows: Vec<String> = batch
            .iter()
            .map(|t| {
                format!(
                    "({}, {}, {}, {}, {}, {}, {}, {})",
                    raw.p(edit.kind.as_str()),
                    raw.p(t.list),
                    raw.p(t.task),
                    raw.p(edit.actor.as_str()),
                    raw.p(t.subject.clone()),
                    raw.p(t.version),
                    raw.p(fields(edit)),
                    raw.p(at),
                )
            })
            .collect();
        if rows.is_empty() {
            continue;
        }
        let sql = format!(
            "INSERT INTO change_log ({COLUMNS}) VALUES {}",
            rows.join(", ")
        );
        raw.run(conn, sql).await?;
    }
    Ok(())
}

/// Appends `edit`'s record for each task `condition` selects (a condition on `task`,
/// which binds its values on the `Raw` it is given), as the tasks are now.
pub(crate) async fn record_tasks(
    conn: &impl ConnectionTrait,
    edit: &Edit,
    at: Timestamp,
    condition: impl FnOnce(&mut Raw) -> String,
) -> Result<(), PortError> {
    let mut raw = Raw::new(conn.get_database_backend());
    let sql = format!(
        "INSERT INTO change_log ({COLUMNS}) SELECT {}, list_id, id, {}, NULL, version, {}, {} \
         FROM task WHERE ",
        raw.p(edit.kind.as_str()),
        raw.p(edit.actor.as_str()),
        raw.p(fields(edit)),
        raw.p(at),
    );
    let sql = sql + &condition(&mut raw);
    raw.run(conn, sql).await?;
    Ok(())
}

/// Runs `update` (an update of `task` ending in `RETURNING id, list_id, version`, its
/// values bound on `raw`) and appends `edit`'s record for each task it wrote, as written.
pub(crate) async fn record_returned(
    conn: &impl ConnectionTrait,
    edit: &Edit,
    at: Timestamp,
    raw: Raw,
    update: String,
) -> Result<(), PortError> {
    let written = conn
        .query_all_raw(raw.statement(update))
        .await
        .map_err(map_db_err)?
        .iter()
        .map(|row| {
            Ok(Target {
                list: row.try_get("", "list_id").map_err(map_db_err)?,
                task: Some(row.try_get("", "id").map_err(map_db_err)?),
                subject: None,
                version: Some(row.try_get("", "version").map_err(map_db_err)?),
            })
        })
        .collect::<Result<Vec<_>, PortError>>()?;
    record(conn, edit, &written, at).await
}

/// PostgreSQL: `write` (an insert or update of `task` without a `RETURNING` clause) and
/// its record, one statement: how many rows it affects is how many tasks it wrote.
pub(crate) fn recording_write(write: Statement, edit: &Edit, at: Timestamp) -> Statement {
    let mut values = write.values.map(|v| v.0).unwrap_or_default();
    let n = values.len();
    values.extend([
        Value::from(edit.kind.as_str()),
        Value::from(edit.actor.as_str()),
        Value::from(fields(edit)),
        Value::from(at),
    ]);
    let sql = format!(
        "WITH w AS ({} RETURNING id, list_id, version) INSERT INTO change_log ({COLUMNS}) \
         SELECT ${}, w.list_id, w.id, ${}, NULL, w.version, ${}, ${} FROM w",
        write.sql,
        n + 1,
        n + 2,
        n + 3,
        n + 4
    );
    Statement::from_sql_and_values(DbBackend::Postgres, sql, values)
}

/// PostgreSQL: `write` (an update of `task` that returns its rows, `completed`,
/// `list_id`, `id` and `version` among them) and its records, one statement returning
/// what `write` returns: `completed` rows get `done`'s record, the others `reopened`'s.
pub(crate) fn recording_toggle(
    write: Statement,
    done: &Edit,
    reopened: &Edit,
    at: Timestamp,
) -> Statement {
    let mut values = write.values.map(|v| v.0).unwrap_or_default();
    let n = values.len();
    values.extend([
        Value::from(done.kind.as_str()),
        Value::from(reopened.kind.as_str()),
        Value::from(done.actor.as_str()),
        Value::from(fields(done)),
        Value::from(at),
    ]);
    let sql = format!(
        "WITH w AS ({}), c AS (INSERT INTO change_log ({COLUMNS}) \
         SELECT CASE WHEN w.completed THEN ${} ELSE ${} END, w.list_id, w.id, ${}, NULL, \
         w.version, ${}, ${} FROM w) SELECT * FROM w",
        write.sql,
        n + 1,
        n + 2,
        n + 3,
        n + 4,
        n + 5
    );
    Statement::from_sql_and_values(DbBackend::Postgres, sql, values)
}

/// The change log of a database.
pub struct SeaChangeLog {
    db: Db,
}

impl SeaChangeLog {
    #[must_use]
    pub fn new(db: impl Into<Db>) -> Self {
        Self { db: db.into() }
    }
}

/// The columns a record is read with.
const READ: &str = "c.tx, c.id, c.kind, c.list_id, c.task_id, c.actor_id, c.subject_id, \
                    c.version, c.fields, c.at";

fn read_record(row: &sea_orm::QueryResult) -> Result<ChangeRecord, PortError> {
    let number = |name: &'static str| -> Result<u64, PortError> {
        let n: i64 = row.try_get("", name).map_err(map_db_err)?;
        u64::try_from(n).map_err(|_| corrupt(name, n))
    };
    let kind: String = row.try_get("", "kind").map_err(map_db_err)?;
    let actor: String = row.try_get("", "actor_id").map_err(map_db_err)?;
    let subject: Option<String> = row.try_get("", "subject_id").map_err(map_db_err)?;
    let fields: String = row.try_get("", "fields").map_err(map_db_err)?;
    Ok(ChangeRecord {
        cursor: ChangeCursor {
            tx: number("tx")?,
            id: number("id")?,
        },
        kind: ChangeKind::from_stored(&kind).ok_or_else(|| corrupt("change kind", kind))?,
        list: row
            .try_get::<Option<uuid::Uuid>>("", "list_id")
            .map_err(map_db_err)?
            .map(ListId::from_uuid),
        task: row
            .try_get::<Option<uuid::Uuid>>("", "task_id")
            .map_err(map_db_err)?
            .map(TaskId::from_uuid),
        actor: UserId::from_stored(actor),
        subject: subject.map(UserId::from_stored),
        version: row.try_get("", "version").map_err(map_db_err)?,
        fields: fields
            .split(',')
            .filter(|f| !f.is_empty())
            .map(str::to_owned)
            .collect(),
        at: row.try_get("", "at").map_err(map_db_err)?,
    })
}

/// `(c.tx, c.id) > after`: a row comparison, which both databases answer with a range
/// scan of the `(tx, id)` index from `after` on (spelled out with `OR`, PostgreSQL reads
/// every record after `after.tx` through a bitmap and sorts them: 6× the time with a
/// backlog of a few thousand).
fn after_condition(raw: &mut Raw, after: ChangeCursor) -> Result<String, PortError> {
    let tx = i64::try_from(after.tx).map_err(|_| corrupt("cursor", after.tx))?;
    let id = i64::try_from(after.id).map_err(|_| corrupt("cursor", after.id))?;
    Ok(format!("(c.tx, c.id) > ({}, {})", raw.p(tx), raw.p(id)))
}

/// Only transactions older than every one still running (PostgreSQL; see the module).
fn settled(backend: DbBackend) -> &'static str {
    if backend == DbBackend::Postgres {
        " AND c.tx < pg_snapshot_xmin(pg_current_snapshot())::text::bigint"
    } else {
        ""
    }
}

#[async_trait]
impl ChangeLog for SeaChangeLog {
    async fn read(&self, after: ChangeCursor, limit: u32) -> Result<ChangeRead, PortError> {
        let db = self.db.conn().await.map_err(map_db_err)?;
        let backend = db.get_database_backend();
        let mut raw = Raw::new(backend);
        // The members of each record's list as they are now, one row each (a record whose
        // list has none, or none any more, comes once with no reader).
        let sql = format!(
            "SELECT {READ}, m.user_id AS reader FROM \
             (SELECT * FROM change_log c WHERE {}{} ORDER BY c.tx, c.id LIMIT {}) c \
             LEFT JOIN list_member m ON m.list_id = c.list_id ORDER BY c.tx, c.id",
            after_condition(&mut raw, after)?,
            settled(backend),
            raw.p(i64::from(limit)),
        );
        let rows = db
            .query_all_raw(raw.statement(sql))
            .await
            .map_err(map_db_err)?;
        let mut read = ChangeRead::default();
        for row in &rows {
            let record = read_record(row)?;
            let reader: Option<String> = row.try_get("", "reader").map_err(map_db_err)?;
            let reader = reader.map(UserId::from_stored);
            match read.records.last_mut() {
                Some((last, readers)) if last.cursor == record.cursor => {
                    readers.extend(reader);
                }
                _ => read.records.push((record, reader.into_iter().collect())),
            }
        }
        Ok(read)
    }

    async fn read_for(
        &self,
        reader: &UserId,
        after: ChangeCursor,
        up_to: ChangeCursor,
        limit: u32,
    ) -> Result<Vec<ChangeRecord>, PortError> {
        let db = self.db.conn().await.map_err(map_db_err)?;
        let backend = db.get_database_backend();
        let mut raw = Raw::new(backend);
        let after = after_condition(&mut raw, after)?;
        let up_tx = i64::try_from(up_to.tx).map_err(|_| corrupt("cursor", up_to.tx))?;
        let up_id = i64::try_from(up_to.id).map_err(|_| corrupt("cursor", up_to.id))?;
        let sql = format!(
            "SELECT {READ} FROM change_log c WHERE {after} \
             AND (c.tx, c.id) <= ({}, {}) \
             AND (c.list_id IN (SELECT list_id FROM list_member WHERE user_id = {}) \
                  OR c.subject_id = {}) \
             ORDER BY c.tx, c.id LIMIT {}",
            raw.p(up_tx),
            raw.p(up_id),
            raw.p(reader.as_str()),
            raw.p(reader.as_str()),
            raw.p(i64::from(limit)),
        );
        db.query_all_raw(raw.statement(sql))
            .await
            .map_err(map_db_err)?
            .iter()
            .map(read_record)
            .collect()
    }

    async fn pruned(&self) -> Result<ChangeCursor, PortError> {
        let db = self.db.conn().await.map_err(map_db_err)?;
        self.pruned_up_to(&*db).await
    }

    async fn prune(&self, before: Timestamp) -> Result<u64, PortError> {
        let db = self.db.conn().await.map_err(map_db_err)?;
        let backend = db.get_database_backend();
        let txn = crate::raw::begin_write(&db).await?;
        // The place up to which records are gone: the newest of those pruned.
        let mut raw = Raw::new(backend);
        let newest = format!(
            "SELECT c.tx, c.id FROM change_log c WHERE c.at < {} ORDER BY c.tx DESC, c.id DESC \
             LIMIT 1",
            raw.p(before)
        );
        let Some(row) = txn
            .query_one_raw(raw.statement(newest))
            .await
            .map_err(map_db_err)?
        else {
            txn.commit().await.map_err(map_db_err)?;
            return Ok(0);
        };
        let tx: i64 = row.try_get("", "tx").map_err(map_db_err)?;
        let id: i64 = row.try_get("", "id").map_err(map_db_err)?;
        let mut raw = Raw::new(backend);
        let sql = format!(
            "DELETE FROM change_log WHERE tx < {} OR (tx = {} AND id <= {})",
            raw.p(tx),
            raw.p(tx),
            raw.p(id)
        );
        let deleted = raw.run(&txn, sql).await?;
        let mut raw = Raw::new(backend);
        let sql = format!(
            "UPDATE change_log_pruned SET tx = {}, record = {} WHERE id = 1 \
             AND (tx < {} OR (tx = {} AND record < {}))",
            raw.p(tx),
            raw.p(id),
            raw.p(tx),
            raw.p(tx),
            raw.p(id)
        );
        raw.run(&txn, sql).await?;
        txn.commit().await.map_err(map_db_err)?;
        Ok(deleted)
    }

    async fn head(&self) -> Result<ChangeCursor, PortError> {
        let db = self.db.conn().await.map_err(map_db_err)?;
        let backend = db.get_database_backend();
        let sql = format!(
            "SELECT c.tx, c.id FROM change_log c WHERE 1 = 1{} ORDER BY c.tx DESC, c.id DESC \
             LIMIT 1",
            settled(backend)
        );
        let row = db
            .query_one_raw(Statement::from_string(backend, sql))
            .await
            .map_err(map_db_err)?;
        match row {
            Some(row) => cursor_of(&row, "tx", "id"),
            None => self.pruned_up_to(&*db).await,
        }
    }
}

fn cursor_of(
    row: &sea_orm::QueryResult,
    tx: &'static str,
    id: &'static str,
) -> Result<ChangeCursor, PortError> {
    let number = |name: &'static str| -> Result<u64, PortError> {
        let n: i64 = row.try_get("", name).map_err(map_db_err)?;
        u64::try_from(n).map_err(|_| corrupt(name, n))
    };
    Ok(ChangeCursor {
        tx: number(tx)?,
        id: number(id)?,
    })
}

impl SeaChangeLog {
    async fn pruned_up_to(&self, db: &impl ConnectionTrait) -> Result<ChangeCursor, PortError> {
        let backend = db.get_database_backend();
        let row = db
            .query_one_raw(Statement::from_string(
                backend,
                "SELECT tx, record FROM change_log_pruned WHERE id = 1",
            ))
            .await
            .map_err(map_db_err)?;
        match row {
            Some(row) => cursor_of(&row, "tx", "record"),
            None => Ok(ChangeCursor::START),
        }
    }
}
