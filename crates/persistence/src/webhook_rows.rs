//! The rows of the webhook tables, as both webhook stores read and write them: a webhook
//! (without its secrets), the secrets of the moment, change-log positions and failure
//! counts as their columns hold them, and one delivery attempt, read back or recorded.
//! `SeaWebhookRepository` (webhooks.rs) and `SeaWebhookDeliveries`
//! (webhook_deliveries.rs) each use these; neither uses the other.

use sea_orm::{ConnectionTrait, FromQueryResult};
use todo_application::ports::{AttemptOutcome, DeliveryAttempt, DeliveryRecord, PortError};
use todo_domain::webhook::{DeliveryEvent, DeliveryId, EventKinds, TargetUrl, Webhook, WebhookId};
use todo_domain::{ChangeCursor, ChangeKind, ListId, Timestamp, UserId};

use crate::error::{corrupt, map_db_err};
use crate::raw::Raw;

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

/// A change log position's part as a column holds it.
pub(crate) fn stored_position(part: u64) -> Result<i64, PortError> {
    i64::try_from(part)
        .map_err(|_| PortError::Other(format!("change log position {part} is out of range").into()))
}

/// A change log position's part a column holds (`what` names the column).
pub(crate) fn read_position(what: &str, stored: i64) -> Result<u64, PortError> {
    u64::try_from(stored).map_err(|_| corrupt(what, stored))
}

/// The columns of a [`WebhookRow`], from `webhook`.
pub(crate) const WEBHOOK_COLUMNS: &str = "id, owner_id, url, events, list_id, enabled, \
     disabled_reason, failures, created_at, updated_at, version";

/// A webhook with its signing secrets: [`WEBHOOK_COLUMNS`], then [`SECRET_COLUMNS`].
#[derive(Debug, FromQueryResult)]
pub(crate) struct SigningRow {
    #[sea_orm(nested)]
    pub(crate) hook: WebhookRow,
    secret: String,
    previous_secret: Option<String>,
    previous_secret_until: Option<Timestamp>,
}

/// The columns of a [`SigningRow`] beside the webhook's.
pub(crate) const SECRET_COLUMNS: &str = "secret, previous_secret, previous_secret_until";

impl SigningRow {
    /// The webhook and its signing secrets at `now`: the current one first, then the
    /// previous one while its overlap lasts (until `previous_secret_until`, excluded).
    pub(crate) fn signing(self, now: Timestamp) -> Result<(Webhook, Vec<String>), PortError> {
        let mut secrets = vec![self.secret];
        if let (Some(previous), Some(until)) = (self.previous_secret, self.previous_secret_until)
            && until > now
        {
            secrets.push(previous);
        }
        Ok((self.hook.webhook()?, secrets))
    }
}

/// One delivery attempt as `webhook_delivery` holds it.
#[derive(Debug, FromQueryResult)]
pub(crate) struct DeliveryRow {
    id: uuid::Uuid,
    event_tx: Option<i64>,
    event_id: Option<i64>,
    kind: String,
    attempt: i32,
    outcome: String,
    status: Option<i32>,
    duration_ms: i64,
    error: Option<String>,
    at: Timestamp,
}

/// The columns of a [`DeliveryRow`], from `webhook_delivery`.
pub(crate) const DELIVERY_COLUMNS: &str =
    "id, event_tx, event_id, kind, attempt, outcome, status, duration_ms, error, at";

impl DeliveryRow {
    pub(crate) fn record(self) -> Result<DeliveryRecord, PortError> {
        let event = match (self.event_tx, self.event_id) {
            (Some(tx), Some(id)) => DeliveryEvent::Change {
                cursor: ChangeCursor {
                    tx: read_position("webhook delivery event_tx", tx)?,
                    id: read_position("webhook delivery event_id", id)?,
                },
                kind: ChangeKind::from_stored(&self.kind)
                    .ok_or_else(|| corrupt("webhook delivery kind", &self.kind))?,
            },
            (None, None) if self.kind == DeliveryEvent::PING => DeliveryEvent::Ping,
            (tx, id) => {
                return Err(corrupt(
                    "webhook delivery event",
                    format!("kind {:?} at {tx:?}-{id:?}", self.kind),
                ));
            }
        };
        Ok(DeliveryRecord {
            id: DeliveryId::from_uuid(self.id),
            event,
            attempt: u32::try_from(self.attempt)
                .map_err(|_| corrupt("webhook delivery attempt", self.attempt))?,
            result: DeliveryAttempt {
                outcome: outcome_from_stored(&self.outcome)
                    .ok_or_else(|| corrupt("webhook delivery outcome", &self.outcome))?,
                status: self
                    .status
                    .map(|s| u16::try_from(s).map_err(|_| corrupt("webhook delivery status", s)))
                    .transpose()?,
                duration_ms: u64::try_from(self.duration_ms)
                    .map_err(|_| corrupt("webhook delivery duration_ms", self.duration_ms))?,
                error: self.error,
            },
            at: self.at,
        })
    }
}

/// The failures count as its column holds it.
pub(crate) fn stored_failures(failures: u32) -> Result<i32, PortError> {
    i32::try_from(failures).map_err(|_| {
        PortError::Other(format!("webhook failures {failures} is out of range").into())
    })
}

/// An attempt's outcome as `webhook_delivery.outcome` holds it.
pub(crate) const fn stored_outcome(outcome: AttemptOutcome) -> &'static str {
    match outcome {
        AttemptOutcome::Delivered => "delivered",
        AttemptOutcome::Failed => "failed",
        AttemptOutcome::Refused => "refused",
    }
}

/// The outcome `webhook_delivery.outcome` holds as `stored` ([`stored_outcome`]'s
/// inverse); `None` for a name it never writes.
pub(crate) fn outcome_from_stored(stored: &str) -> Option<AttemptOutcome> {
    [
        AttemptOutcome::Delivered,
        AttemptOutcome::Failed,
        AttemptOutcome::Refused,
    ]
    .into_iter()
    .find(|o| stored_outcome(*o) == stored)
}

/// Records `attempt` of webhook `id` at `event` as delivery `delivery` at `now`, numbered
/// after the event's earlier attempts (a ping's is 1): its number. Run it in the write
/// transaction that holds the webhook's row (locked on PostgreSQL), so that two attempts
/// at one event take turns and each counts the other.
pub(crate) async fn insert_attempt(
    conn: &impl ConnectionTrait,
    id: WebhookId,
    delivery: uuid::Uuid,
    event: DeliveryEvent,
    attempt: &DeliveryAttempt,
    now: Timestamp,
) -> Result<u32, PortError> {
    let backend = conn.get_database_backend();
    let (position, number): (_, i32) = match event {
        DeliveryEvent::Change { cursor, .. } => {
            let at = (stored_position(cursor.tx)?, stored_position(cursor.id)?);
            let mut raw = Raw::new(backend);
            let sql = format!(
                "SELECT CAST(COUNT(*) AS BIGINT) AS n FROM webhook_delivery \
                 WHERE webhook_id = {} AND event_tx = {} AND event_id = {}",
                raw.p(id.as_uuid()),
                raw.p(at.0),
                raw.p(at.1)
            );
            let earlier: i64 = match conn
                .query_one_raw(raw.statement(sql))
                .await
                .map_err(map_db_err)?
            {
                Some(row) => row.try_get("", "n").map_err(map_db_err)?,
                None => 0,
            };
            let number = i32::try_from(earlier.saturating_add(1))
                .map_err(|_| corrupt("webhook delivery attempts", earlier))?;
            (Some(at), number)
        }
        DeliveryEvent::Ping => (None, 1),
    };

    let mut raw = Raw::new(backend);
    let sql = format!(
        "INSERT INTO webhook_delivery (id, webhook_id, event_tx, event_id, kind, attempt, \
         outcome, status, duration_ms, error, at) \
         VALUES ({}, {}, {}, {}, {}, {}, {}, {}, {}, {}, {})",
        raw.p(delivery),
        raw.p(id.as_uuid()),
        raw.p(position.map(|p| p.0)),
        raw.p(position.map(|p| p.1)),
        raw.p(event.kind_name()),
        raw.p(number),
        raw.p(stored_outcome(attempt.outcome)),
        raw.p(attempt.status.map(i32::from)),
        raw.p(i64::try_from(attempt.duration_ms).unwrap_or(i64::MAX)),
        raw.p(attempt.error.clone()),
        raw.p(now),
    );
    raw.run(conn, sql).await?;
    u32::try_from(number).map_err(|_| corrupt("webhook delivery attempts", number))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_outcome_reads_back_as_stored() {
        for outcome in [
            AttemptOutcome::Delivered,
            AttemptOutcome::Failed,
            AttemptOutcome::Refused,
        ] {
            assert_eq!(outcome_from_stored(stored_outcome(outcome)), Some(outcome));
        }
        assert_eq!(stored_outcome(AttemptOutcome::Refused), "refused");
        assert_eq!(outcome_from_stored("Delivered"), None);
        assert_eq!(outcome_from_stored(""), None);
    }
}
