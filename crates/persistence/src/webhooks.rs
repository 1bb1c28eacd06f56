//! Webhooks as the webhook repository: `SeaWebhookRepository`.
//!
//! A webhook's secret is written here and read only by the sender: no read of this
//! repository returns it, and no error it reports quotes it.

use async_trait::async_trait;
use sea_orm::{ConnectionTrait, FromQueryResult};
use todo_application::ports::{DeliveryAttempt, DeliveryRecord, PortError, WebhookRepository};
use todo_domain::webhook::{DeliveryEvent, DeliveryId, Webhook, WebhookId};
use todo_domain::{ChangeCursor, Timestamp, UserId};

use crate::db::Db;
use crate::error::map_db_err;
use crate::owned::count_owned_locked;
use crate::raw::{Raw, begin_write, for_update};
use crate::webhook_rows::{
    DELIVERY_COLUMNS, DeliveryRow, SECRET_COLUMNS, SigningRow, WEBHOOK_COLUMNS, WebhookRow,
    insert_attempt, stored_failures, stored_position,
};

/// Webhooks in the `webhook` table, their deliveries in `webhook_delivery`.
pub struct SeaWebhookRepository {
    db: Db,
}

impl SeaWebhookRepository {
    #[must_use]
    pub fn new(db: impl Into<Db>) -> Self {
        Self { db: db.into() }
    }
}

/// Delivery `delivery` of webhook `id`, if it is one of that webhook's.
async fn find_delivery(
    conn: &impl ConnectionTrait,
    id: WebhookId,
    delivery: DeliveryId,
) -> Result<Option<DeliveryRecord>, PortError> {
    let mut raw = Raw::new(conn.get_database_backend());
    let sql = format!(
        "SELECT {DELIVERY_COLUMNS} FROM webhook_delivery WHERE id = {} AND webhook_id = {}",
        raw.p(delivery.as_uuid()),
        raw.p(id.as_uuid())
    );
    DeliveryRow::find_by_statement(raw.statement(sql))
        .one(conn)
        .await
        .map_err(map_db_err)?
        .map(DeliveryRow::record)
        .transpose()
}

#[async_trait]
impl WebhookRepository for SeaWebhookRepository {
    async fn insert(
        &self,
        hook: &Webhook,
        secret: &str,
        after: ChangeCursor,
        max_per_user: u32,
    ) -> Result<bool, PortError> {
        let cursor_tx = stored_position(after.tx)?;
        let cursor_id = stored_position(after.id)?;
        let failures = stored_failures(hook.failures)?;
        let db = self.db.conn().await.map_err(map_db_err)?;
        let txn = begin_write(&db).await?;
        if count_owned_locked(&txn, &hook.owner, "webhook").await? >= i64::from(max_per_user) {
            txn.rollback().await.map_err(map_db_err)?;
            return Ok(false);
        }
        let mut raw = Raw::new(db.get_database_backend());
        let sql = format!(
            "INSERT INTO webhook (id, owner_id, url, events, list_id, enabled, disabled_reason, \
             failures, secret, previous_secret, previous_secret_until, cursor_tx, cursor_id, \
             next_attempt_at, claimed_until, created_at, updated_at, version) \
             VALUES ({}, {}, {}, {}, {}, {}, {}, {}, {}, NULL, NULL, {}, {}, NULL, NULL, {}, {}, {})",
            raw.p(hook.id.as_uuid()),
            raw.p(hook.owner.as_str()),
            raw.p(hook.url.as_str()),
            raw.p(hook.events.to_stored()),
            raw.p(hook.list.map(|l| l.as_uuid())),
            raw.p(hook.enabled),
            raw.p(hook.disabled_reason.clone()),
            raw.p(failures),
            raw.p(secret),
            raw.p(cursor_tx),
            raw.p(cursor_id),
            raw.p(hook.created_at),
            raw.p(hook.updated_at),
            raw.p(hook.version),
        );
        raw.run(&txn, sql).await?;
        txn.commit().await.map_err(map_db_err)?;
        Ok(true)
    }

    async fn list(&self, owner: &UserId) -> Result<Vec<Webhook>, PortError> {
        let db = self.db.conn().await.map_err(map_db_err)?;
        let mut raw = Raw::new(db.get_database_backend());
        let sql = format!(
            "SELECT {WEBHOOK_COLUMNS} FROM webhook WHERE owner_id = {} ORDER BY created_at, id",
            raw.p(owner.as_str())
        );
        WebhookRow::find_by_statement(raw.statement(sql))
            .all(&*db)
            .await
            .map_err(map_db_err)?
            .into_iter()
            .map(WebhookRow::webhook)
            .collect()
    }

    async fn get(&self, owner: &UserId, id: WebhookId) -> Result<Option<Webhook>, PortError> {
        let db = self.db.conn().await.map_err(map_db_err)?;
        let mut raw = Raw::new(db.get_database_backend());
        let sql = format!(
            "SELECT {WEBHOOK_COLUMNS} FROM webhook WHERE id = {} AND owner_id = {}",
            raw.p(id.as_uuid()),
            raw.p(owner.as_str())
        );
        WebhookRow::find_by_statement(raw.statement(sql))
            .one(&*db)
            .await
            .map_err(map_db_err)?
            .map(WebhookRow::webhook)
            .transpose()
    }

    async fn replace(&self, hook: &Webhook, expected: i64) -> Result<bool, PortError> {
        let failures = stored_failures(hook.failures)?;
        let db = self.db.conn().await.map_err(map_db_err)?;
        let mut raw = Raw::new(db.get_database_backend());
        let sql = format!(
            "UPDATE webhook SET url = {}, events = {}, list_id = {}, enabled = {}, \
             disabled_reason = {}, failures = {}, updated_at = {}, version = {} \
             WHERE id = {} AND owner_id = {} AND version = {}",
            raw.p(hook.url.as_str()),
            raw.p(hook.events.to_stored()),
            raw.p(hook.list.map(|l| l.as_uuid())),
            raw.p(hook.enabled),
            raw.p(hook.disabled_reason.clone()),
            raw.p(failures),
            raw.p(hook.updated_at),
            raw.p(hook.version),
            raw.p(hook.id.as_uuid()),
            raw.p(hook.owner.as_str()),
            raw.p(expected),
        );
        Ok(raw.run(&*db, sql).await? == 1)
    }

    async fn delete(&self, owner: &UserId, id: WebhookId) -> Result<bool, PortError> {
        let db = self.db.conn().await.map_err(map_db_err)?;
        let txn = begin_write(&db).await?;
        // Only the owner's: another user's webhook keeps its deliveries.
        let deleted = delete_owned(&txn, owner, Some(id)).await?;
        txn.commit().await.map_err(map_db_err)?;
        Ok(deleted == 1)
    }

    async fn signing(
        &self,
        owner: &UserId,
        id: WebhookId,
        now: Timestamp,
    ) -> Result<Option<(Webhook, Vec<String>)>, PortError> {
        let db = self.db.conn().await.map_err(map_db_err)?;
        let mut raw = Raw::new(db.get_database_backend());
        let sql = format!(
            "SELECT {WEBHOOK_COLUMNS}, {SECRET_COLUMNS} FROM webhook WHERE id = {} AND owner_id = {}",
            raw.p(id.as_uuid()),
            raw.p(owner.as_str())
        );
        SigningRow::find_by_statement(raw.statement(sql))
            .one(&*db)
            .await
            .map_err(map_db_err)?
            .map(|row| row.signing(now))
            .transpose()
    }

    async fn deliveries(
        &self,
        id: WebhookId,
        before: Option<DeliveryId>,
        limit: u32,
    ) -> Result<Vec<DeliveryRecord>, PortError> {
        if limit == 0 {
            return Ok(Vec::new());
        }
        let db = self.db.conn().await.map_err(map_db_err)?;
        let mut raw = Raw::new(db.get_database_backend());
        // Ids are UUID v7: newest last, in the order of (webhook_id, id)'s index.
        let mut sql = format!(
            "SELECT {DELIVERY_COLUMNS} FROM webhook_delivery WHERE webhook_id = {}",
            raw.p(id.as_uuid())
        );
        if let Some(before) = before {
            sql.push_str(&format!(" AND id < {}", raw.p(before.as_uuid())));
        }
        sql.push_str(&format!(
            " ORDER BY id DESC LIMIT {}",
            raw.p(i64::from(limit))
        ));
        DeliveryRow::find_by_statement(raw.statement(sql))
            .all(&*db)
            .await
            .map_err(map_db_err)?
            .into_iter()
            .map(DeliveryRow::record)
            .collect()
    }

    async fn delivery(
        &self,
        id: WebhookId,
        delivery: DeliveryId,
    ) -> Result<Option<DeliveryRecord>, PortError> {
        let db = self.db.conn().await.map_err(map_db_err)?;
        find_delivery(&*db, id, delivery).await
    }

    async fn add_attempt(
        &self,
        id: WebhookId,
        delivery: DeliveryId,
        event: DeliveryEvent,
        attempt: &DeliveryAttempt,
        now: Timestamp,
    ) -> Result<Option<DeliveryRecord>, PortError> {
        let db = self.db.conn().await.map_err(map_db_err)?;
        let backend = db.get_database_backend();
        let txn = begin_write(&db).await?;
        // The webhook's row, locked on PostgreSQL (SQLite's writes take turns): two
        // attempts at one event take turns, so that each counts the other. The row itself
        // stays as it is: cursor, failures and retry are the deliverer's.
        let mut raw = Raw::new(backend);
        let sql = format!(
            "SELECT id FROM webhook WHERE id = {}{}",
            raw.p(id.as_uuid()),
            for_update(backend)
        );
        if txn
            .query_one_raw(raw.statement(sql))
            .await
            .map_err(map_db_err)?
            .is_none()
        {
            txn.rollback().await.map_err(map_db_err)?;
            return Ok(None);
        }
        insert_attempt(&txn, id, delivery.as_uuid(), event, attempt, now).await?;
        // As stored (a timestamp's precision is the column's).
        let recorded = find_delivery(&txn, id, delivery).await?;
        txn.commit().await.map_err(map_db_err)?;
        Ok(recorded)
    }

    async fn rotate_secret(
        &self,
        owner: &UserId,
        id: WebhookId,
        secret: &str,
        previous_until: Timestamp,
        now: Timestamp,
    ) -> Result<bool, PortError> {
        let db = self.db.conn().await.map_err(map_db_err)?;
        let mut raw = Raw::new(db.get_database_backend());
        // Every right-hand side reads the row as it was: the old secret becomes the
        // previous one.
        let sql = format!(
            "UPDATE webhook SET previous_secret = secret, previous_secret_until = {}, \
             secret = {}, updated_at = {}, version = version + 1 \
             WHERE id = {} AND owner_id = {}",
            raw.p(previous_until),
            raw.p(secret),
            raw.p(now),
            raw.p(id.as_uuid()),
            raw.p(owner.as_str())
        );
        Ok(raw.run(&*db, sql).await? == 1)
    }
}

/// Deletes `owner`'s webhooks (only `id` when given) with their deliveries: how many
/// webhooks. Run it in a transaction (the owner's deletion runs it for all of them).
pub(crate) async fn delete_owned(
    conn: &impl ConnectionTrait,
    owner: &UserId,
    id: Option<WebhookId>,
) -> Result<u64, PortError> {
    let backend = conn.get_database_backend();
    let which = |raw: &mut Raw| match id {
        Some(id) => format!(
            "owner_id = {} AND id = {}",
            raw.p(owner.as_str()),
            raw.p(id.as_uuid())
        ),
        None => format!("owner_id = {}", raw.p(owner.as_str())),
    };
    let mut raw = Raw::new(backend);
    let sql = format!(
        "DELETE FROM webhook_delivery WHERE webhook_id IN (SELECT id FROM webhook WHERE {})",
        which(&mut raw)
    );
    raw.run(conn, sql).await?;
    let mut raw = Raw::new(backend);
    let sql = format!("DELETE FROM webhook WHERE {}", which(&mut raw));
    raw.run(conn, sql).await
}
