//! The ports of webhooks: the owner's store, the deliverer's store, the bodies, the
//! sender and the secrets.

use async_trait::async_trait;
use todo_domain::webhook::{AfterAttempt, DeliveryEvent, DeliveryId, Webhook, WebhookId};
use todo_domain::{ChangeCursor, ChangeRecord, Timestamp, UserId};

use super::PortError;

/// One webhook delivery to send: the event's id (stable across attempts: the receiver
/// tells a repeat by it), when it is sent (seconds since the epoch), the body, and the
/// secrets to sign it with (the current one, and the previous one during a rotation's
/// overlap).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OutgoingWebhook {
    pub url: todo_domain::webhook::TargetUrl,
    pub id: String,
    pub timestamp: i64,
    pub body: Vec<u8>,
    pub secrets: Vec<String>,
}

/// How one delivery attempt ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AttemptOutcome {
    /// The receiver answered 2xx.
    Delivered,
    /// Another status, a timeout, a connection or TLS failure: tried again later.
    Failed,
    /// Never sent: the target resolves to an address a webhook may not reach.
    Refused,
}

/// One attempt, as the deliveries log shows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeliveryAttempt {
    pub outcome: AttemptOutcome,
    /// The receiver's status, when it answered.
    pub status: Option<u16>,
    pub duration_ms: u64,
    /// Why it failed or was refused (never a secret).
    pub error: Option<String>,
}

/// One attempt as the deliveries log keeps it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeliveryRecord {
    pub id: DeliveryId,
    pub event: DeliveryEvent,
    /// Which attempt at its event this was: 1 for the first, counting redeliveries.
    pub attempt: u32,
    pub result: DeliveryAttempt,
    pub at: Timestamp,
}

/// Sends webhook deliveries: signs them, resolves the target at delivery time, refuses
/// addresses inside the network ([`todo_domain::webhook::forbidden_address`]), follows no
/// redirect. Never errors: every way an attempt can end is an outcome.
#[cfg_attr(any(test, feature = "mocks"), mockall::automock)]
#[async_trait]
pub trait WebhookSender: Send + Sync {
    async fn send(&self, delivery: &OutgoingWebhook) -> DeliveryAttempt;
}

/// Webhooks and their signing secrets.
#[cfg_attr(any(test, feature = "mocks"), mockall::automock)]
#[async_trait]
pub trait WebhookRepository: Send + Sync {
    /// Stores `hook` with its first `secret`, its deliveries starting after `after` (the
    /// change log's head when it is created: no event from before it), unless its owner
    /// has `max_per_user` webhooks already: `false` then, nothing written. Two inserts of
    /// one owner take turns, so that the second counts the first.
    async fn insert(
        &self,
        hook: &Webhook,
        secret: &str,
        after: ChangeCursor,
        max_per_user: u32,
    ) -> Result<bool, PortError>;
    /// The owner's webhooks, oldest first.
    async fn list(&self, owner: &UserId) -> Result<Vec<Webhook>, PortError>;
    /// One of the owner's webhooks (another user's is `None`).
    async fn get(&self, owner: &UserId, id: WebhookId) -> Result<Option<Webhook>, PortError>;
    /// Replaces the webhook's url, events, list, enabled flag, failures, disabled reason,
    /// `updated_at` and version with `hook`'s, only while its stored version is
    /// `expected`: `false` otherwise (stale, or gone).
    async fn replace(&self, hook: &Webhook, expected: i64) -> Result<bool, PortError>;
    /// Deletes one of the owner's webhooks with its deliveries; `false` when there is none.
    async fn delete(&self, owner: &UserId, id: WebhookId) -> Result<bool, PortError>;
    /// One of the owner's webhooks with its signing secrets at `now`: the current one
    /// first, then the previous one while its overlap lasts.
    async fn signing(
        &self,
        owner: &UserId,
        id: WebhookId,
        now: Timestamp,
    ) -> Result<Option<(Webhook, Vec<String>)>, PortError>;
    /// At most `limit` of the webhook's deliveries, newest first; those older than
    /// `before` (the last one of an earlier page) when it is given.
    async fn deliveries(
        &self,
        id: WebhookId,
        before: Option<DeliveryId>,
        limit: u32,
    ) -> Result<Vec<DeliveryRecord>, PortError>;
    /// One of the webhook's deliveries.
    async fn delivery(
        &self,
        id: WebhookId,
        delivery: DeliveryId,
    ) -> Result<Option<DeliveryRecord>, PortError>;
    /// Records an attempt made outside the deliverer's order (a redelivery, a ping) as
    /// delivery `delivery`: the webhook's cursor, failures and retry stay as they are. Its
    /// number follows its event's earlier attempts (a ping's is 1). `None` when the
    /// webhook is gone (nothing recorded).
    async fn add_attempt(
        &self,
        id: WebhookId,
        delivery: DeliveryId,
        event: DeliveryEvent,
        attempt: &DeliveryAttempt,
        now: Timestamp,
    ) -> Result<Option<DeliveryRecord>, PortError>;
    /// Makes `secret` the webhook's secret; the one it replaces keeps signing beside it
    /// until `previous_until`. `false` when the owner has no such webhook.
    async fn rotate_secret(
        &self,
        owner: &UserId,
        id: WebhookId,
        secret: &str,
        previous_until: Timestamp,
        now: Timestamp,
    ) -> Result<bool, PortError>;
}

/// Draws new webhook signing secrets (Standard Webhooks form: `whsec_` and base64).
#[cfg_attr(any(test, feature = "mocks"), mockall::automock)]
pub trait SecretGenerator: Send + Sync {
    fn new_secret(&self) -> String;
}

/// A webhook a deliverer holds (its claim): what it needs to deliver the next events.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClaimedWebhook {
    pub hook: Webhook,
    /// The last event delivered or passed over: deliveries go on after it.
    pub cursor: ChangeCursor,
    /// The current secret first, then the previous one while its overlap lasts.
    pub secrets: Vec<String>,
}

/// The deliverer's side of the webhook store: claims (so that exactly one replica
/// delivers a webhook's events at a time), durable cursors, the attempts.
#[cfg_attr(any(test, feature = "mocks"), mockall::automock)]
#[async_trait]
pub trait WebhookDeliveries: Send + Sync {
    /// Claims up to `limit` enabled webhooks that are due at `now` (no retry pending
    /// after it) and that no one holds (no claim reaching past `now`), until `until`, as
    /// claim `claim` (a new id per pass: its renewals and its release name it, so that a
    /// deliverer whose claim lapsed, and was taken over, changes nothing of the new one).
    async fn claim(
        &self,
        claim: uuid::Uuid,
        now: Timestamp,
        until: Timestamp,
        limit: u32,
    ) -> Result<Vec<ClaimedWebhook>, PortError>;
    /// Keeps claim `claim` on a webhook until `until` (a deliverer renews it before each
    /// delivery, so that a short lease suffices and a process that died mid-pass holds
    /// nothing for long). `false` when the webhook is no longer under that claim (it
    /// lapsed and another deliverer holds it, or the webhook is gone): nothing changes,
    /// and the deliverer leaves the webhook alone.
    async fn renew(
        &self,
        id: WebhookId,
        claim: uuid::Uuid,
        until: Timestamp,
    ) -> Result<bool, PortError>;
    /// Moves a webhook's cursor to `to`: the events up to it are not for it.
    async fn skip_to(&self, id: WebhookId, to: ChangeCursor) -> Result<(), PortError>;
    /// Records an attempt to deliver `event` and what follows from it
    /// ([`AfterAttempt`]: delivered, the cursor moves to the event),
    /// in one transaction.
    async fn record(
        &self,
        id: WebhookId,
        event: &ChangeRecord,
        attempt: &DeliveryAttempt,
        after: &AfterAttempt,
        now: Timestamp,
    ) -> Result<(), PortError>;
    /// Ends claim `claim` on a webhook (another deliverer's claim stays).
    async fn release(&self, id: WebhookId, claim: uuid::Uuid) -> Result<(), PortError>;
    /// Disables a webhook for `reason` (its owner sees it), with no attempt to record.
    async fn disable(&self, id: WebhookId, reason: &str) -> Result<(), PortError>;
}

/// What a delivery of a change says: the event kind, the task or list as its owner would
/// read it through the API after the change, the changed fields, the actor, the time.
#[cfg_attr(any(test, feature = "mocks"), mockall::automock)]
#[async_trait]
pub trait WebhookPayloads: Send + Sync {
    async fn body(&self, owner: &UserId, event: &ChangeRecord) -> Result<Vec<u8>, PortError>;
    /// A ping's body: the webhook it tries, sent at `at`.
    async fn ping(&self, hook: &Webhook, at: Timestamp) -> Result<Vec<u8>, PortError>;
}
