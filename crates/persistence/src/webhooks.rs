//! Webhooks as the webhook repository: `SeaWebhookRepository`.
//!
//! A webhook's secret is written here and read only by the sender: no read of this
//! repository returns it, and no error it reports quotes it.

use async_trait::async_trait;
use sea_orm::{ConnectionTrait, FromQueryResult};
use todo_application::ports::{PortError, WebhookRepository};
use todo_domain::webhook::{EventKinds, TargetUrl, Webhook, WebhookId};
use todo_domain::{ChangeCursor, ListId, Timestamp, UserId};

use crate::db::Db;
use crate::error::{corrupt, map_db_err};
use crate::raw::{Raw, begin_write};
use crate::users::count_owned_locked;

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

/// A webhook as its owner reads it (without its secrets).
#[derive(Debug, FromQueryResult)]
pub(crate) struct WebhookRow {
    pub(crate) id: uuid::Uuid,
    pub(crate) owner_id: String,
    pub(crate) url: String,
    pub(crate) events: String,
    pub(crate) list_id: Option<uuid::Uuid>,
    pub(crate) enabled: bool,
    pub(crate) disabled_reason: Option<String>,
    pub(crate) failures: i32,
    pub(crate) created_at: Timestamp,
    pub(crate) updated_at: Timestamp,
    pub(crate) version: i64,
}

impl WebhookRow {
    pub(crate) fn webhook(self) -> Result<Webhook, PortError> {
        Ok(Webhook {
            id: WebhookId::from_uuid(self.id),
            owner: UserId::from_stored(self.owner_id),
            url: TargetUrl::from_stored(self.url),
            events: EventKinds::from_stored(&self.events),
            list: self.list_id.map(ListId::from_uuid),
            enabled: self.enabled,
            disabled_reason: self.disabled_reason,
            failures: u32::try_from(self.failures)
                .map_err(|_| corrupt("webhook failures", self.failures))?,
            created_at: self.created_at,
            updated_at: self.updated_at,
            version: self.version,
        })
    }
}

/// The columns of a [`WebhookRow`], from `webhook`.
const COLUMNS: &str = "id, owner_id, url, events, list_id, enabled, disabled_reason, failures, \
     created_at, updated_at, version";

/// A change log position's part as a column holds it.
pub(crate) fn stored_position(part: u64) -> Result<i64, PortError> {
    i64::try_from(part)
        .map_err(|_| PortError::Other(format!("change log position {part} is out of range").into()))
}

/// The failures count as its column holds it.
pub(crate) fn stored_failures(failures: u32) -> Result<i32, PortError> {
    i32::try_from(failures).map_err(|_| {
        PortError::Other(format!("webhook failures {failures} is out of range").into())
    })
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
            "SELECT {COLUMNS} FROM webhook WHERE owner_id = {} ORDER BY created_at, id",
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
            "SELECT {COLUMNS} FROM webhook WHERE id = {} AND owner_id = {}",
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
        let backend = db.get_database_backend();
        let txn = begin_write(&db).await?;
        // Only the owner's: another user's webhook keeps its deliveries.
        let mut raw = Raw::new(backend);
        let sql = format!(
            "DELETE FROM webhook_delivery WHERE webhook_id IN \
             (SELECT id FROM webhook WHERE id = {} AND owner_id = {})",
            raw.p(id.as_uuid()),
            raw.p(owner.as_str())
        );
        raw.run(&txn, sql).await?;
        let mut raw = Raw::new(backend);
        let sql = format!(
            "DELETE FROM webhook WHERE id = {} AND owner_id = {}",
            raw.p(id.as_uuid()),
            raw.p(owner.as_str())
        );
        let deleted = raw.run(&txn, sql).await?;
        txn.commit().await.map_err(map_db_err)?;
        Ok(deleted == 1)
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

/// Deletes `owner`'s webhooks with their deliveries (their owner is being deleted). Run
/// it in a transaction.
pub(crate) async fn delete_owned(
    conn: &impl ConnectionTrait,
    owner: &UserId,
) -> Result<(), PortError> {
    let backend = conn.get_database_backend();
    let mut raw = Raw::new(backend);
    let sql = format!(
        "DELETE FROM webhook_delivery WHERE webhook_id IN \
         (SELECT id FROM webhook WHERE owner_id = {})",
        raw.p(owner.as_str())
    );
    raw.run(conn, sql).await?;
    let mut raw = Raw::new(backend);
    let sql = format!(
        "DELETE FROM webhook WHERE owner_id = {}",
        raw.p(owner.as_str())
    );
    raw.run(conn, sql).await?;
    Ok(())
}
