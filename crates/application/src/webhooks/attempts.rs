//! What a webhook's owner sees of its deliveries, and the deliveries they ask for at once:
//! a change sent again, a ping to try the receiver.
//!
//! Both are sent while the owner waits (at most the sender's timeout) and recorded in the
//! webhook's deliveries; neither moves its cursor nor counts as one of its failures, and
//! both work on a disabled webhook, so that its owner can try the receiver before enabling
//! it again. A redelivery of a change carries the change's `webhook-id`: a receiver that
//! has it already tells the repeat.

use todo_domain::webhook::{DeliveryEvent, DeliveryId, Webhook, WebhookId};
use todo_domain::{ChangeCursor, ChangeRecord, Principal, UserId, policy};

use super::WebhookService;
use crate::error::ApplicationError;
use crate::pagination::{Page, PageSettings, paginate};
use crate::ports::{DeliveryRecord, OutgoingWebhook};

/// A page of a webhook's deliveries, newest first; the next starts before `next`.
pub type DeliveryPage = Page<DeliveryRecord, DeliveryId>;

/// Deliveries per page: 50 unless asked, at most 100.
const PAGES: PageSettings = PageSettings {
    default_limit: 50,
    max_limit: 100,
};

impl WebhookService {
    /// A page of the webhook's deliveries, newest first, those older than `before` (the
    /// last of the previous page) when given.
    ///
    /// # Errors
    /// `Forbidden` for another user's path; `Validation` of `limit` (1–100);
    /// `NotFound("webhook")`.
    pub async fn deliveries(
        &self,
        principal: &Principal,
        owner: &UserId,
        id: WebhookId,
        limit: Option<u32>,
        before: Option<DeliveryId>,
    ) -> Result<DeliveryPage, ApplicationError> {
        policy::ensure_acts_for(principal, owner)?;
        let limit = PAGES.limit(limit)?;
        self.existing(owner, id).await?;
        let rows = self
            .hooks
            .deliveries(id, before, limit.saturating_add(1))
            .await?;
        Ok(paginate(rows, limit, |r| r.id))
    }

    /// Sends what delivery `delivery` carried again, now, and records the attempt: a
    /// change as it reads now (the task or list after everything since), a ping as a new
    /// ping.
    ///
    /// # Errors
    /// `Forbidden` for another user's path; `NotFound("webhook")`, `NotFound("delivery")`;
    /// `Gone` when the change is no longer in the change log (pruned after its retention)
    /// or no longer the owner's to see.
    pub async fn redeliver(
        &self,
        principal: &Principal,
        owner: &UserId,
        id: WebhookId,
        delivery: DeliveryId,
    ) -> Result<DeliveryRecord, ApplicationError> {
        policy::ensure_acts_for(principal, owner)?;
        let (hook, secrets) = self.signing(owner, id).await?;
        let earlier = self
            .hooks
            .delivery(id, delivery)
            .await?
            .ok_or(ApplicationError::NotFound("delivery"))?;
        let body = match earlier.event {
            DeliveryEvent::Ping => self.payloads.ping(&hook, self.clock.now()).await?,
            DeliveryEvent::Change { cursor, .. } => {
                let change = self.change_at(owner, cursor).await?;
                self.payloads.body(owner, &change).await?
            }
        };
        self.send_now(&hook, secrets, earlier.event, body).await
    }

    /// Sends the webhook a `ping` event now, and records the attempt.
    ///
    /// # Errors
    /// `Forbidden` for another user's path; `NotFound("webhook")`.
    pub async fn ping(
        &self,
        principal: &Principal,
        owner: &UserId,
        id: WebhookId,
    ) -> Result<DeliveryRecord, ApplicationError> {
        policy::ensure_acts_for(principal, owner)?;
        let (hook, secrets) = self.signing(owner, id).await?;
        let body = self.payloads.ping(&hook, self.clock.now()).await?;
        self.send_now(&hook, secrets, DeliveryEvent::Ping, body)
            .await
    }

    async fn signing(
        &self,
        owner: &UserId,
        id: WebhookId,
    ) -> Result<(Webhook, Vec<String>), ApplicationError> {
        self.hooks
            .signing(owner, id, self.clock.now())
            .await?
            .ok_or(ApplicationError::NotFound("webhook"))
    }

    /// The change at `cursor`, while it is kept and `reader` may see it.
    async fn change_at(
        &self,
        reader: &UserId,
        cursor: ChangeCursor,
    ) -> Result<ChangeRecord, ApplicationError> {
        let gone = || {
            ApplicationError::Gone(
                "the change this delivery carried is no longer kept (older than the change \
                 log's retention) or no longer visible to the webhook's owner"
                    .to_owned(),
            )
        };
        // The records after the one just before it, up to it: at most it.
        let just_before = ChangeCursor {
            tx: cursor.tx,
            id: cursor.id.checked_sub(1).ok_or_else(gone)?,
        };
        self.log
            .read_for(reader, just_before, cursor, 1)
            .await?
            .into_iter()
            .find(|record| record.cursor == cursor)
            .ok_or_else(gone)
    }

    async fn send_now(
        &self,
        hook: &Webhook,
        secrets: Vec<String>,
        event: DeliveryEvent,
        body: Vec<u8>,
    ) -> Result<DeliveryRecord, ApplicationError> {
        let delivery = DeliveryId::from_uuid(uuid::Uuid::now_v7());
        let outgoing = OutgoingWebhook {
            url: hook.url.clone(),
            id: event.message_id(delivery),
            timestamp: self.clock.now().timestamp(),
            body,
            secrets,
        };
        let attempt = self.sender.send(&outgoing).await;
        tracing::info!(
            webhook = %hook.id,
            host = hook.url.host(),
            event = event.kind_name(),
            outcome = ?attempt.outcome,
            status = attempt.status,
            "webhook delivery sent on its owner's request"
        );
        self.hooks
            .add_attempt(hook.id, delivery, event, &attempt, self.clock.now())
            .await?
            // Deleted while it was being sent.
            .ok_or(ApplicationError::NotFound("webhook"))
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::indexing_slicing)]
mod tests {
    use std::sync::{Arc, Mutex};

    use super::*;
    use crate::ports::{
        AttemptOutcome, DeliveryAttempt, MockChangeLog, MockListRepository, MockSecretGenerator,
        MockWebhookPayloads, MockWebhookRepository, MockWebhookSender,
    };
    use crate::testing::*;
    use crate::webhooks::{OnDemand, WebhookSettings};
    use mockall::predicate::eq;
    use todo_domain::webhook::{AllowedHosts, EventKinds, TargetUrl};
    use todo_domain::{ChangeKind, ChangeRecord};

    fn hook() -> Webhook {
        Webhook {
            id: WebhookId::from_uuid(uuid::Uuid::from_u128(7)),
            owner: uid("alice"),
            url: TargetUrl::parse("https://example.com/in", &AllowedHosts::default()).unwrap(),
            events: EventKinds::all(),
            list: None,
            // Disabled after its failures: its owner may still try it.
            enabled: false,
            disabled_reason: Some("10 deliveries in a row failed".to_owned()),
            failures: 10,
            created_at: at(1),
            updated_at: at(1),
            version: 3,
        }
    }

    const CURSOR: ChangeCursor = ChangeCursor { tx: 40, id: 9 };

    /// What an earlier delivery carried: the change at [`CURSOR`].
    const CHANGED: DeliveryEvent = DeliveryEvent::Change {
        cursor: CURSOR,
        kind: ChangeKind::TaskCompleted,
    };

    /// Delivery number `n`.
    fn did(n: u128) -> DeliveryId {
        DeliveryId::from_uuid(uuid::Uuid::from_u128(n))
    }

    fn change() -> ChangeRecord {
        ChangeRecord {
            cursor: CURSOR,
            kind: ChangeKind::TaskCompleted,
            list: Some(lid(1)),
            task: Some(tid(2)),
            actor: uid("bob"),
            subject: None,
            version: Some(2),
            fields: vec!["completed".to_owned()],
            at: at(50),
        }
    }

    fn record(n: u128, event: DeliveryEvent, attempt: u32) -> DeliveryRecord {
        DeliveryRecord {
            id: did(n),
            event,
            attempt,
            result: DeliveryAttempt {
                outcome: AttemptOutcome::Failed,
                status: Some(500),
                duration_ms: 12,
                error: Some("the receiver answered 500".to_owned()),
            },
            at: at(60),
        }
    }

    struct World {
        hooks: MockWebhookRepository,
        log: MockChangeLog,
        payloads: MockWebhookPayloads,
        sender: MockWebhookSender,
        /// What was sent.
        sent: Arc<Mutex<Vec<OutgoingWebhook>>>,
    }

    /// alice's webhook with two secrets (a rotation's overlap); a sender that answers
    /// `outcome`; the store records what it is given.
    fn world(outcome: AttemptOutcome) -> World {
        let mut hooks = MockWebhookRepository::new();
        hooks
            .expect_signing()
            .with(eq(uid("alice")), eq(hook().id), eq(at(100)))
            .returning(|_, _, _| {
                Ok(Some((
                    hook(),
                    vec!["whsec_bmV3".into(), "whsec_b2xk".into()],
                )))
            });
        hooks
            .expect_add_attempt()
            .returning(|_, delivery, event, attempt, now| {
                Ok(Some(DeliveryRecord {
                    id: delivery,
                    event,
                    attempt: 1,
                    result: attempt.clone(),
                    at: now,
                }))
            });
        let sent = Arc::new(Mutex::new(Vec::new()));
        let mut sender = MockWebhookSender::new();
        let log_sent = sent.clone();
        sender.expect_send().returning(move |out| {
            log_sent.lock().unwrap().push(out.clone());
            DeliveryAttempt {
                outcome,
                status: (outcome == AttemptOutcome::Delivered).then_some(204),
                duration_ms: 3,
                error: (outcome == AttemptOutcome::Refused)
                    .then(|| "refused: example.com resolves to 10.0.0.1, a private address".into()),
            }
        });
        let mut payloads = MockWebhookPayloads::new();
        payloads
            .expect_ping()
            .returning(|hook, at| Ok(format!("ping {} {}", hook.id, at.timestamp()).into_bytes()));
        payloads
            .expect_body()
            .returning(|owner, event| Ok(format!("{owner} {}", event.cursor).into_bytes()));
        World {
            hooks,
            log: MockChangeLog::new(),
            payloads,
            sender,
            sent,
        }
    }

    fn service(w: World) -> WebhookService {
        WebhookService::new(
            Arc::new(w.hooks),
            Arc::new(MockListRepository::new()),
            Arc::new(w.log),
            Arc::new(MockSecretGenerator::new()),
            OnDemand {
                payloads: Arc::new(w.payloads),
                sender: Arc::new(w.sender),
            },
            fixed_clock(100),
            WebhookSettings::default(),
        )
    }

    #[tokio::test]
    async fn a_ping_is_signed_with_every_live_secret_and_recorded_under_its_own_id() {
        for outcome in [AttemptOutcome::Delivered, AttemptOutcome::Refused] {
            let w = world(outcome);
            let sent = w.sent.clone();
            let recorded = service(w)
                .ping(&principal("alice"), &uid("alice"), hook().id)
                .await
                .unwrap();
            let sent = sent.lock().unwrap();
            assert_eq!(sent.len(), 1);
            let out = &sent[0];
            assert_eq!(out.url.as_str(), "https://example.com/in");
            assert_eq!(out.id, format!("ping_{}", recorded.id));
            assert_eq!(out.secrets, ["whsec_bmV3", "whsec_b2xk"]);
            assert_eq!(out.timestamp, 100);
            assert_eq!(out.body, format!("ping {} 100", hook().id).into_bytes());
            assert_eq!(recorded.event, DeliveryEvent::Ping);
            assert_eq!(recorded.result.outcome, outcome);
            assert_eq!(recorded.at, at(100));
        }
    }

    #[tokio::test]
    async fn nothing_is_sent_for_another_users_path_or_a_missing_webhook() {
        let mut w = world(AttemptOutcome::Delivered);
        w.sender = MockWebhookSender::new();
        w.sender.expect_send().never();
        let err = service(w)
            .ping(&principal("bob"), &uid("alice"), hook().id)
            .await
            .unwrap_err();
        assert!(matches!(err, ApplicationError::Forbidden(_)), "{err:?}");

        let mut w = world(AttemptOutcome::Delivered);
        w.hooks = MockWebhookRepository::new();
        w.hooks.expect_signing().returning(|_, _, _| Ok(None));
        w.hooks.expect_add_attempt().never();
        w.sender = MockWebhookSender::new();
        w.sender.expect_send().never();
        let err = service(w)
            .redeliver(&principal("alice"), &uid("alice"), hook().id, did(1))
            .await
            .unwrap_err();
        assert!(
            matches!(err, ApplicationError::NotFound("webhook")),
            "{err:?}"
        );
    }

    #[tokio::test]
    async fn a_redelivery_sends_the_change_as_it_reads_now_under_its_own_webhook_id() {
        let earlier = record(5, CHANGED, 2);
        let mut w = world(AttemptOutcome::Delivered);
        let found = earlier.clone();
        w.hooks
            .expect_delivery()
            .with(eq(hook().id), eq(earlier.id))
            .returning(move |_, _| Ok(Some(found.clone())));
        w.log
            .expect_read_for()
            .with(
                eq(uid("alice")),
                eq(ChangeCursor { tx: 40, id: 8 }),
                eq(CURSOR),
                eq(1),
            )
            .times(1)
            .returning(|_, _, _, _| Ok(vec![change()]));
        let sent = w.sent.clone();
        let recorded = service(w)
            .redeliver(&principal("alice"), &uid("alice"), hook().id, earlier.id)
            .await
            .unwrap();
        let sent = sent.lock().unwrap();
        assert_eq!(sent.len(), 1);
        assert_eq!(sent[0].id, "evt_40-9", "the change's own webhook-id");
        assert_eq!(sent[0].body, b"alice 40-9");
        assert_ne!(recorded.id, earlier.id, "a new attempt");
        assert_eq!(recorded.event, earlier.event);
        assert_eq!(recorded.result.outcome, AttemptOutcome::Delivered);
    }

    #[tokio::test]
    async fn a_change_no_longer_kept_or_visible_is_gone_and_nothing_is_sent() {
        for found in [
            Vec::new(),
            vec![ChangeRecord {
                cursor: ChangeCursor { tx: 41, id: 1 },
                ..change()
            }],
        ] {
            let earlier = record(5, CHANGED, 1);
            let mut w = world(AttemptOutcome::Delivered);
            w.hooks
                .expect_delivery()
                .returning(move |_, _| Ok(Some(earlier.clone())));
            w.log
                .expect_read_for()
                .returning(move |_, _, _, _| Ok(found.clone()));
            w.sender = MockWebhookSender::new();
            w.sender.expect_send().never();
            let err = service(w)
                .redeliver(&principal("alice"), &uid("alice"), hook().id, did(5))
                .await
                .unwrap_err();
            assert!(matches!(err, ApplicationError::Gone(_)), "{err:?}");
        }
    }

    #[tokio::test]
    async fn an_unknown_delivery_is_not_found_and_a_ping_is_redelivered_as_a_new_ping() {
        let mut w = world(AttemptOutcome::Delivered);
        w.hooks.expect_delivery().returning(|_, _| Ok(None));
        w.sender = MockWebhookSender::new();
        w.sender.expect_send().never();
        let err = service(w)
            .redeliver(&principal("alice"), &uid("alice"), hook().id, did(5))
            .await
            .unwrap_err();
        assert!(
            matches!(err, ApplicationError::NotFound("delivery")),
            "{err:?}"
        );

        let mut w = world(AttemptOutcome::Delivered);
        w.hooks
            .expect_delivery()
            .returning(|_, _| Ok(Some(record(5, DeliveryEvent::Ping, 1))));
        let sent = w.sent.clone();
        let recorded = service(w)
            .redeliver(&principal("alice"), &uid("alice"), hook().id, did(5))
            .await
            .unwrap();
        assert_eq!(sent.lock().unwrap()[0].id, format!("ping_{}", recorded.id));
    }

    #[tokio::test]
    async fn deliveries_come_a_page_at_a_time_newest_first() {
        let mut w = world(AttemptOutcome::Delivered);
        w.hooks.expect_get().returning(|_, _| Ok(Some(hook())));
        let before = did(90);
        w.hooks
            .expect_deliveries()
            .with(eq(hook().id), eq(Some(before)), eq(3))
            .returning(|_, _, _| {
                Ok((0..3)
                    .map(|n| record(80 - n, DeliveryEvent::Ping, 1))
                    .collect())
            });
        let page = service(w)
            .deliveries(
                &principal("alice"),
                &uid("alice"),
                hook().id,
                Some(2),
                Some(before),
            )
            .await
            .unwrap();
        assert_eq!(page.items.len(), 2);
        assert_eq!(page.next, Some(page.items[1].id));

        // A limit out of range, or another user's webhook: the store's deliveries unread.
        for (limit, owner_has_it) in [(Some(0), true), (Some(101), true), (None, false)] {
            let mut w = world(AttemptOutcome::Delivered);
            w.hooks
                .expect_get()
                .returning(move |_, _| Ok(owner_has_it.then(hook)));
            w.hooks.expect_deliveries().never();
            let err = service(w)
                .deliveries(&principal("alice"), &uid("alice"), hook().id, limit, None)
                .await
                .unwrap_err();
            match err {
                ApplicationError::Validation { field, .. } => assert_eq!(field, "limit"),
                ApplicationError::NotFound("webhook") => assert!(!owner_has_it),
                other => panic!("{other:?}"),
            }
        }
    }
}
