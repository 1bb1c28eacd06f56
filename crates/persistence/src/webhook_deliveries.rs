//! The deliverer's side of the webhook store: `SeaWebhookDeliveries`.
//!
//! A claim is `claimed_until`: while it reaches past the present, no other deliverer
//! picks the webhook up. On PostgreSQL one statement picks and claims the due webhooks,
//! skipping the rows another replica's claim has locked meanwhile (`FOR UPDATE SKIP
//! LOCKED`), so that two replicas never claim one webhook; on SQLite writes take turns,
//! and a write transaction picks and then claims them.
//!
//! Each claim also carries its id, `claim_id` (a UUID the deliverer draws per pass),
//! written with `claimed_until`. A renewal and a release name it and change the webhook
//! only while it is still under that claim: a deliverer whose claim lapsed (a slow pass)
//! and was taken over by another one neither extends nor ends the new claim, so the two
//! never deliver the same events side by side. A release clears both columns.

use async_trait::async_trait;
use sea_orm::{ConnectionTrait, DbBackend, FromQueryResult};
use todo_application::ports::{ClaimedWebhook, DeliveryAttempt, PortError, WebhookDeliveries};
use todo_domain::webhook::{AfterAttempt, DeliveryEvent, WebhookId};
use todo_domain::{ChangeCursor, ChangeRecord, Timestamp};

use crate::db::Db;
use crate::error::map_db_err;
use crate::raw::{Raw, begin_write};
use crate::webhook_rows::{
    SECRET_COLUMNS, SigningRow, WEBHOOK_COLUMNS, insert_attempt, read_position, stored_failures,
    stored_position,
};

/// Webhooks claimed per statement on SQLite (one parameter each; SQLite allows 32 766).
const BATCH: usize = 500;

/// The deliverer's side of the `webhook` table, and the attempts in `webhook_delivery`.
pub struct SeaWebhookDeliveries {
    db: Db,
}

impl SeaWebhookDeliveries {
    #[must_use]
    pub fn new(db: impl Into<Db>) -> Self {
        Self { db: db.into() }
    }
}

/// A webhook as a deliverer reads it: with its secrets, its cursor and when it is due.
#[derive(Debug, FromQueryResult)]
struct ClaimRow {
    #[sea_orm(nested)]
    signing: SigningRow,
    cursor_tx: i64,
    cursor_id: i64,
    next_attempt_at: Option<Timestamp>,
}

/// The columns of a [`ClaimRow`], from `webhook`.
fn claim_columns() -> String {
    format!("{WEBHOOK_COLUMNS}, {SECRET_COLUMNS}, cursor_tx, cursor_id, next_attempt_at")
}

impl ClaimRow {
    /// The claimed webhook, its previous secret among its secrets while its overlap lasts
    /// at `now`.
    fn claimed(self, now: Timestamp) -> Result<ClaimedWebhook, PortError> {
        let (hook, secrets) = self.signing.signing(now)?;
        Ok(ClaimedWebhook {
            cursor: ChangeCursor {
                tx: read_position("webhook cursor_tx", self.cursor_tx)?,
                id: read_position("webhook cursor_id", self.cursor_id)?,
            },
            hook,
            secrets,
        })
    }
}

/// A select of `columns` of the enabled webhooks due at `now` that no one holds, in the
/// order they are claimed (those without a retry pending first, then by when their retry
/// is due, then by id), at most `limit`.
fn due(raw: &mut Raw, columns: &str, now: Timestamp, limit: u32) -> String {
    format!(
        "SELECT {columns} FROM webhook WHERE enabled = {} \
         AND (next_attempt_at IS NULL OR next_attempt_at <= {}) \
         AND (claimed_until IS NULL OR claimed_until <= {}) \
         ORDER BY next_attempt_at NULLS FIRST, id LIMIT {}",
        raw.p(true),
        raw.p(now),
        raw.p(now),
        raw.p(i64::from(limit)),
    )
}

/// `(cursor_tx, cursor_id) < to`, spelled out (`to`'s values bound on `raw`).
fn before(raw: &mut Raw, to: (i64, i64)) -> String {
    format!(
        "(cursor_tx < {} OR (cursor_tx = {} AND cursor_id < {}))",
        raw.p(to.0),
        raw.p(to.0),
        raw.p(to.1)
    )
}

impl SeaWebhookDeliveries {
    /// PostgreSQL: one statement picks the due webhooks, locking each (skipping those
    /// another claim holds locked), and claims them.
    async fn claim_postgres(
        conn: &impl ConnectionTrait,
        claim: uuid::Uuid,
        now: Timestamp,
        until: Timestamp,
        limit: u32,
    ) -> Result<Vec<ClaimRow>, PortError> {
        let mut raw = Raw::new(DbBackend::Postgres);
        let set = format!(
            "claimed_until = {}, claim_id = {}",
            raw.p(until),
            raw.p(claim)
        );
        let due = due(&mut raw, "id", now, limit);
        let sql = format!(
            "UPDATE webhook SET {set} WHERE id IN \
             ({due} FOR UPDATE SKIP LOCKED) RETURNING {}",
            claim_columns()
        );
        ClaimRow::find_by_statement(raw.statement(sql))
            .all(conn)
            .await
            .map_err(map_db_err)
    }

    /// SQLite: in a write transaction (writes take turns), reads the due webhooks, then
    /// claims them.
    async fn claim_sqlite(
        db: &sea_orm::DatabaseConnection,
        claim: uuid::Uuid,
        now: Timestamp,
        until: Timestamp,
        limit: u32,
    ) -> Result<Vec<ClaimRow>, PortError> {
        let backend = db.get_database_backend();
        // Nothing due (the usual case): no write lock taken.
        let mut raw = Raw::new(backend);
        let sql = due(&mut raw, "id", now, 1);
        if db
            .query_one_raw(raw.statement(sql))
            .await
            .map_err(map_db_err)?
            .is_none()
        {
            return Ok(Vec::new());
        }
        let txn = begin_write(db).await?;
        let mut raw = Raw::new(backend);
        let sql = due(&mut raw, &claim_columns(), now, limit);
        let rows = ClaimRow::find_by_statement(raw.statement(sql))
            .all(&txn)
            .await
            .map_err(map_db_err)?;
        for batch in rows.chunks(BATCH) {
            let mut raw = Raw::new(backend);
            let set = format!(
                "claimed_until = {}, claim_id = {}",
                raw.p(until),
                raw.p(claim)
            );
            let ids: Vec<String> = batch.iter().map(|r| raw.p(r.signing.hook.id)).collect();
            let sql = format!("UPDATE webhook SET {set} WHERE id IN ({})", ids.join(", "));
            raw.run(&txn, sql).await?;
        }
        txn.commit().await.map_err(map_db_err)?;
        Ok(rows)
    }
}

#[async_trait]
impl WebhookDeliveries for SeaWebhookDeliveries {
    async fn claim(
        &self,
        claim: uuid::Uuid,
        now: Timestamp,
        until: Timestamp,
        limit: u32,
    ) -> Result<Vec<ClaimedWebhook>, PortError> {
        if limit == 0 {
            return Ok(Vec::new());
        }
        let db = self.db.conn().await.map_err(map_db_err)?;
        let mut rows = if db.get_database_backend() == DbBackend::Postgres {
            Self::claim_postgres(&*db, claim, now, until, limit).await?
        } else {
            Self::claim_sqlite(&db, claim, now, until, limit).await?
        };
        // `RETURNING` keeps no order: the order they were picked in.
        rows.sort_by_key(|r| {
            (
                r.next_attempt_at.is_some(),
                r.next_attempt_at,
                r.signing.hook.id,
            )
        });
        rows.into_iter().map(|r| r.claimed(now)).collect()
    }

    async fn renew(
        &self,
        id: WebhookId,
        claim: uuid::Uuid,
        until: Timestamp,
    ) -> Result<bool, PortError> {
        let db = self.db.conn().await.map_err(map_db_err)?;
        let mut raw = Raw::new(db.get_database_backend());
        let sql = format!(
            "UPDATE webhook SET claimed_until = {} WHERE id = {} AND claim_id = {}",
            raw.p(until),
            raw.p(id.as_uuid()),
            raw.p(claim)
        );
        Ok(raw.run(&*db, sql).await? == 1)
    }

    async fn disable(&self, id: WebhookId, reason: &str) -> Result<(), PortError> {
        let db = self.db.conn().await.map_err(map_db_err)?;
        let mut raw = Raw::new(db.get_database_backend());
        let sql = format!(
            "UPDATE webhook SET enabled = {}, disabled_reason = {}, next_attempt_at = NULL \
             WHERE id = {}",
            raw.p(false),
            raw.p(reason),
            raw.p(id.as_uuid())
        );
        raw.run(&*db, sql).await?;
        Ok(())
    }

    async fn skip_to(&self, id: WebhookId, to: ChangeCursor) -> Result<(), PortError> {
        let to = (stored_position(to.tx)?, stored_position(to.id)?);
        let db = self.db.conn().await.map_err(map_db_err)?;
        let mut raw = Raw::new(db.get_database_backend());
        let set = format!("cursor_tx = {}, cursor_id = {}", raw.p(to.0), raw.p(to.1));
        let sql = format!(
            "UPDATE webhook SET {set} WHERE id = {} AND {}",
            raw.p(id.as_uuid()),
            before(&mut raw, to)
        );
        raw.run(&*db, sql).await?;
        Ok(())
    }

    async fn record(
        &self,
        id: WebhookId,
        event: &ChangeRecord,
        attempt: &DeliveryAttempt,
        after: &AfterAttempt,
        now: Timestamp,
    ) -> Result<(), PortError> {
        let event_at = (
            stored_position(event.cursor.tx)?,
            stored_position(event.cursor.id)?,
        );
        let db = self.db.conn().await.map_err(map_db_err)?;
        let backend = db.get_database_backend();
        let txn = begin_write(&db).await?;

        // The webhook first: its row lock (PostgreSQL) makes two records of one webhook
        // take turns, so that each counts the other's attempt. Every right-hand side reads
        // the row as it was.
        let mut raw = Raw::new(backend);
        let set = match after {
            AfterAttempt::Delivered => {
                let moves = before(&mut raw, event_at);
                let tx = raw.p(event_at.0);
                let moves_too = before(&mut raw, event_at);
                let id = raw.p(event_at.1);
                format!(
                    "cursor_tx = CASE WHEN {moves} THEN {tx} ELSE cursor_tx END, \
                     cursor_id = CASE WHEN {moves_too} THEN {id} ELSE cursor_id END, \
                     failures = 0, next_attempt_at = NULL"
                )
            }
            AfterAttempt::Retry { failures, retry_at } => format!(
                "failures = {}, next_attempt_at = {}",
                raw.p(stored_failures(*failures)?),
                raw.p(*retry_at)
            ),
            AfterAttempt::Disable { failures, reason } => format!(
                "failures = {}, enabled = {}, disabled_reason = {}, next_attempt_at = NULL",
                raw.p(stored_failures(*failures)?),
                raw.p(false),
                raw.p(reason.as_str())
            ),
        };
        let sql = format!(
            "UPDATE webhook SET {set} WHERE id = {}",
            raw.p(id.as_uuid())
        );
        if raw.run(&txn, sql).await? == 0 {
            // Deleted meanwhile (with its deliveries): nothing to record it for.
            txn.rollback().await.map_err(map_db_err)?;
            return Ok(());
        }

        insert_attempt(
            &txn,
            id,
            uuid::Uuid::now_v7(),
            DeliveryEvent::Change {
                cursor: event.cursor,
                kind: event.kind,
            },
            attempt,
            now,
        )
        .await?;
        txn.commit().await.map_err(map_db_err)?;
        Ok(())
    }

    async fn release(&self, id: WebhookId, claim: uuid::Uuid) -> Result<(), PortError> {
        let db = self.db.conn().await.map_err(map_db_err)?;
        let mut raw = Raw::new(db.get_database_backend());
        let sql = format!(
            "UPDATE webhook SET claimed_until = NULL, claim_id = NULL \
             WHERE id = {} AND claim_id = {}",
            raw.p(id.as_uuid()),
            raw.p(claim)
        );
        raw.run(&*db, sql).await?;
        Ok(())
    }
}
