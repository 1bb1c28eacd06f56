//! Delivering webhooks: each pass claims the webhooks that are due, and delivers each its
//! next events from the change log, in order, from its durable cursor.
//!
//! At least once, in change-log order per webhook: the cursor moves past an event only
//! when its delivery is recorded as delivered, in the same write; an event that fails is
//! tried again (and nothing after it) until it is delivered or the webhook is disabled. A
//! claim keeps every other replica off the webhook until it ends or lapses, so one
//! replica delivers a given event. Nothing here runs on a request's path.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use todo_domain::access::{self, ListAction};
use todo_domain::webhook::{AfterAttempt, after_attempt, change_message_id};

use crate::error::ApplicationError;
use crate::ports::{
    AttemptOutcome, ChangeLog, ClaimedWebhook, Clock, ListRepository, OutgoingWebhook,
    WebhookDeliveries, WebhookPayloads, WebhookSender,
};

/// How deliveries are paced, from the configuration.
#[derive(Debug, Clone)]
pub struct DispatchSettings {
    /// Consecutive failures that disable a webhook (`webhooks.max_failures`).
    pub max_failures: u32,
    /// How long a claim keeps other replicas off a webhook; renewed before each delivery,
    /// so longer than one delivery takes (the sender's timeout) and a store write.
    pub lease: Duration,
    /// Webhooks claimed per pass.
    pub webhooks_per_pass: u32,
    /// Events delivered per webhook per pass.
    pub per_pass: u32,
}

impl Default for DispatchSettings {
    fn default() -> Self {
        Self {
            max_failures: 10,
            lease: Duration::from_secs(15),
            webhooks_per_pass: 50,
            per_pass: 20,
        }
    }
}

/// What this process's deliverer has done, for metrics.
#[derive(Debug, Default)]
pub struct DeliveryStats {
    delivered: AtomicU64,
    failed: AtomicU64,
    refused: AtomicU64,
    disabled: AtomicU64,
    lag_ms: AtomicU64,
}

/// A reading of [`DeliveryStats`].
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct DeliveryCounts {
    /// Attempts by outcome.
    pub delivered: u64,
    pub failed: u64,
    pub refused: u64,
    /// Webhooks this process disabled after their failures.
    pub disabled: u64,
    /// From the last delivered event's change to its delivery.
    pub lag_ms: u64,
}

impl DeliveryStats {
    #[must_use]
    pub fn read(&self) -> DeliveryCounts {
        DeliveryCounts {
            delivered: self.delivered.load(Ordering::Relaxed),
            failed: self.failed.load(Ordering::Relaxed),
            refused: self.refused.load(Ordering::Relaxed),
            disabled: self.disabled.load(Ordering::Relaxed),
            lag_ms: self.lag_ms.load(Ordering::Relaxed),
        }
    }
}

/// A number in `[0, 1)` for a retry's jitter.
pub type Jitter = Arc<dyn Fn() -> f64 + Send + Sync>;

/// Delivers webhooks (see the module).
pub struct WebhookDispatcher {
    deliveries: Arc<dyn WebhookDeliveries>,
    log: Arc<dyn ChangeLog>,
    lists: Arc<dyn ListRepository>,
    payloads: Arc<dyn WebhookPayloads>,
    sender: Arc<dyn WebhookSender>,
    clock: Arc<dyn Clock>,
    jitter: Jitter,
    settings: DispatchSettings,
    stats: Arc<DeliveryStats>,
}

impl WebhookDispatcher {
    #[allow(clippy::too_many_arguments)]
    pub fn new(
        deliveries: Arc<dyn WebhookDeliveries>,
        log: Arc<dyn ChangeLog>,
        lists: Arc<dyn ListRepository>,
        payloads: Arc<dyn WebhookPayloads>,
        sender: Arc<dyn WebhookSender>,
        clock: Arc<dyn Clock>,
        jitter: Jitter,
        settings: DispatchSettings,
    ) -> Self {
        Self {
            deliveries,
            log,
            lists,
            payloads,
            sender,
            clock,
            jitter,
            settings,
            stats: Arc::new(DeliveryStats::default()),
        }
    }

    /// The counters of this deliverer, shared (for `/metrics`).
    #[must_use]
    pub fn stats(&self) -> Arc<DeliveryStats> {
        self.stats.clone()
    }

    /// One pass: claims the due webhooks and delivers each its next events. Returns how
    /// many attempts it made.
    ///
    /// # Errors
    /// When the store or the log cannot be read or written; a claim it could not end
    /// lapses at its lease.
    pub async fn pass(&self) -> Result<usize, ApplicationError> {
        let now = self.clock.now();
        let claim = uuid::Uuid::now_v7();
        let claimed = self
            .deliveries
            .claim(
                claim,
                now,
                now + self.lease(),
                self.settings.webhooks_per_pass,
            )
            .await?;
        if claimed.is_empty() {
            return Ok(0);
        }
        let head = self.log.head().await?;
        // Each webhook at its own pace: a slow receiver holds up none of the others, and
        // each one's first delivery goes out while its claim is fresh.
        let outcomes = futures_util::future::join_all(claimed.into_iter().map(|webhook| {
            async move {
                let id = webhook.hook.id;
                let delivered = self.deliver(webhook, claim, now, head).await;
                // Released whatever happened: the next pass (here or elsewhere) goes on.
                let released = self.deliveries.release(id, claim).await;
                (delivered, released)
            }
        }))
        .await;
        let mut attempts = 0;
        let mut failure = None;
        for (delivered, released) in outcomes {
            match delivered {
                Ok(n) => attempts += n,
                Err(err) => {
                    failure.get_or_insert(err);
                }
            }
            if let Err(err) = released {
                failure.get_or_insert(err.into());
            }
        }
        failure.map_or(Ok(attempts), Err)
    }

    fn lease(&self) -> chrono::TimeDelta {
        chrono::TimeDelta::from_std(self.settings.lease).unwrap_or(chrono::TimeDelta::seconds(15))
    }

    /// Delivers `webhook`'s events after its cursor, up to `head`, until one fails.
    async fn deliver(
        &self,
        webhook: ClaimedWebhook,
        claim: uuid::Uuid,
        claimed_at: todo_domain::Timestamp,
        head: todo_domain::ChangeCursor,
    ) -> Result<usize, ApplicationError> {
        let ClaimedWebhook {
            hook,
            cursor,
            secrets,
        } = webhook;
        // A list's webhook lives as long as its owner may read the list.
        if let Some(list) = hook.list
            && access::authorize(
                self.lists.role(&hook.owner, list).await?,
                ListAction::Read,
                "list",
            )
            .is_err()
        {
            let reason = "disabled: its owner can no longer read its list";
            self.deliveries.disable(hook.id, reason).await?;
            self.stats.disabled.fetch_add(1, Ordering::Relaxed);
            tracing::info!(webhook = %hook.id, "webhook disabled: its list is gone from its owner");
            return Ok(0);
        }
        let events = self
            .log
            .read_for(&hook.owner, cursor, head, self.settings.per_pass)
            .await?;
        let mut failures = hook.failures;
        let mut attempts = 0;
        // Events it does not take, passed over in one write before the next it takes.
        let mut passed = None;
        for event in events {
            if !hook.takes(&event) {
                passed = Some(event.cursor);
                continue;
            }
            if let Some(to) = passed.take() {
                self.deliveries.skip_to(hook.id, to).await?;
            }
            // The claim was taken for the first delivery (unless reading the events took a
            // third of the lease); each later one extends it. A claim that lapsed and was
            // taken over: the other deliverer goes on from the cursor, this one stops.
            let now = self.clock.now();
            if (attempts > 0 || now - claimed_at > self.lease() / 3)
                && !self
                    .deliveries
                    .renew(hook.id, claim, now + self.lease())
                    .await?
            {
                tracing::warn!(webhook = %hook.id, "webhook claim lapsed and was taken over; left to its new deliverer");
                break;
            }
            let body = self.payloads.body(&hook.owner, &event).await?;
            let outgoing = OutgoingWebhook {
                url: hook.url.clone(),
                id: change_message_id(event.cursor),
                timestamp: self.clock.now().timestamp(),
                body,
                secrets: secrets.clone(),
            };
            let attempt = self.sender.send(&outgoing).await;
            let now = self.clock.now();
            let after = after_attempt(
                attempt.outcome == AttemptOutcome::Delivered,
                failures,
                self.settings.max_failures,
                now,
                (self.jitter)(),
            );
            self.deliveries
                .record(hook.id, &event, &attempt, &after, now)
                .await?;
            attempts += 1;
            let counter = match attempt.outcome {
                AttemptOutcome::Delivered => {
                    let lag = (now - event.at).num_milliseconds();
                    self.stats
                        .lag_ms
                        .store(u64::try_from(lag).unwrap_or(0), Ordering::Relaxed);
                    &self.stats.delivered
                }
                AttemptOutcome::Failed => &self.stats.failed,
                AttemptOutcome::Refused => &self.stats.refused,
            };
            counter.fetch_add(1, Ordering::Relaxed);
            if matches!(after, AfterAttempt::Disable { .. }) {
                self.stats.disabled.fetch_add(1, Ordering::Relaxed);
            }
            match after {
                AfterAttempt::Delivered => failures = 0,
                AfterAttempt::Retry { .. } => break,
                AfterAttempt::Disable { ref reason, .. } => {
                    tracing::warn!(webhook = %hook.id, host = hook.url.host(), %reason, "webhook disabled");
                    break;
                }
            }
        }
        if let Some(to) = passed {
            self.deliveries.skip_to(hook.id, to).await?;
        }
        Ok(attempts)
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::indexing_slicing)]
mod tests {
    use std::sync::Mutex;

    use super::*;
    use crate::ports::{
        DeliveryAttempt, MockChangeLog, MockListRepository, MockWebhookDeliveries,
        MockWebhookPayloads, MockWebhookSender,
    };
    use crate::testing::*;
    use todo_domain::webhook::{AllowedHosts, EventKinds, TargetUrl, Webhook, WebhookId};
    use todo_domain::{ChangeCursor, ChangeKind, ChangeRecord};

    fn cursor(n: u64) -> ChangeCursor {
        ChangeCursor { tx: 1, id: n }
    }

    fn event(n: u64, kind: ChangeKind) -> ChangeRecord {
        ChangeRecord {
            cursor: cursor(n),
            kind,
            list: Some(lid(1)),
            task: Some(tid(u128::from(n))),
            actor: uid("bob"),
            subject: None,
            version: Some(1),
            fields: Vec::new(),
            at: at(50),
        }
    }

    fn hook(failures: u32) -> Webhook {
        Webhook {
            id: WebhookId::from_uuid(uuid::Uuid::from_u128(7)),
            owner: uid("alice"),
            url: TargetUrl::parse("https://example.com/in", &AllowedHosts::default()).unwrap(),
            events: EventKinds::parse(&["task.created", "task.completed"]).unwrap(),
            list: None,
            enabled: true,
            disabled_reason: None,
            failures,
            created_at: at(1),
            updated_at: at(1),
            version: 1,
        }
    }

    fn claimed(failures: u32, after: u64) -> ClaimedWebhook {
        ClaimedWebhook {
            hook: hook(failures),
            cursor: cursor(after),
            secrets: vec!["whsec_a2V5".to_owned()],
        }
    }

    /// What the store was told, in order.
    #[derive(Debug, Clone, PartialEq)]
    enum Told {
        Skip(u64),
        Record(u64, AfterAttempt),
        Renew,
        Release,
        Disable(String),
    }

    struct World {
        deliveries: MockWebhookDeliveries,
        log: MockChangeLog,
        lists: MockListRepository,
        payloads: MockWebhookPayloads,
        sender: MockWebhookSender,
        told: Arc<Mutex<Vec<Told>>>,
        sent: Arc<Mutex<Vec<String>>>,
    }

    /// A store that hands out `claims` once, a log of `events`, and a receiver answering
    /// each delivery with `answers` in turn.
    fn world(claims: Vec<ClaimedWebhook>, events: Vec<ChangeRecord>, answers: Vec<u16>) -> World {
        let told = Arc::new(Mutex::new(Vec::new()));
        let sent = Arc::new(Mutex::new(Vec::new()));
        let mut deliveries = MockWebhookDeliveries::new();
        let mut claims = Some(claims);
        // The claim a pass takes is the one it renews and releases.
        let taken = Arc::new(Mutex::new(None));
        let taking = taken.clone();
        deliveries.expect_claim().returning(move |claim, _, _, _| {
            *taking.lock().unwrap() = Some(claim);
            Ok(claims.take().unwrap_or_default())
        });
        let t = told.clone();
        let renewing = taken.clone();
        deliveries
            .expect_renew()
            .withf(|_, _, until| *until == at(1_015))
            .returning(move |_, claim, _| {
                assert_eq!(Some(claim), *renewing.lock().unwrap());
                t.lock().unwrap().push(Told::Renew);
                Ok(true)
            });
        let t = told.clone();
        deliveries.expect_skip_to().returning(move |_, to| {
            t.lock().unwrap().push(Told::Skip(to.id));
            Ok(())
        });
        let t = told.clone();
        deliveries
            .expect_record()
            .returning(move |_, event, _, after, _| {
                t.lock()
                    .unwrap()
                    .push(Told::Record(event.cursor.id, after.clone()));
                Ok(())
            });
        let t = told.clone();
        deliveries.expect_release().returning(move |_, claim| {
            assert_eq!(Some(claim), *taken.lock().unwrap());
            t.lock().unwrap().push(Told::Release);
            Ok(())
        });
        let t = told.clone();
        deliveries.expect_disable().returning(move |_, reason| {
            t.lock().unwrap().push(Told::Disable(reason.to_owned()));
            Ok(())
        });
        let mut log = MockChangeLog::new();
        log.expect_head().returning(|| Ok(cursor(100)));
        log.expect_read_for()
            .returning(move |reader, after, up_to, limit| {
                assert_eq!(reader, &uid("alice"), "read as the webhook's owner");
                assert_eq!(up_to, cursor(100));
                Ok(events
                    .iter()
                    .filter(|e| e.cursor > after)
                    .take(limit as usize)
                    .cloned()
                    .collect())
            });
        let mut payloads = MockWebhookPayloads::new();
        payloads
            .expect_body()
            .returning(|_, event| Ok(format!("{{\"n\":{}}}", event.cursor.id).into_bytes()));
        let mut sender = MockWebhookSender::new();
        let mut answers = answers.into_iter();
        let s = sent.clone();
        sender.expect_send().returning(move |out| {
            s.lock().unwrap().push(out.id.clone());
            let status = answers.next().unwrap_or(200);
            DeliveryAttempt {
                outcome: if (200..300).contains(&status) {
                    AttemptOutcome::Delivered
                } else {
                    AttemptOutcome::Failed
                },
                status: Some(status),
                duration_ms: 3,
                error: None,
            }
        });
        // alice reads list 1 only.
        let mut lists = MockListRepository::new();
        lists.expect_role().returning(|who, list| {
            Ok((who == &uid("alice") && list == lid(1)).then_some(todo_domain::Role::Viewer))
        });
        World {
            deliveries,
            log,
            lists,
            payloads,
            sender,
            told,
            sent,
        }
    }

    /// The dispatcher, what the store was told and the ids sent.
    type Watched = (
        WebhookDispatcher,
        Arc<Mutex<Vec<Told>>>,
        Arc<Mutex<Vec<String>>>,
    );

    fn dispatcher(w: World) -> Watched {
        let told = w.told.clone();
        let sent = w.sent.clone();
        let d = WebhookDispatcher::new(
            Arc::new(w.deliveries),
            Arc::new(w.log),
            Arc::new(w.lists),
            Arc::new(w.payloads),
            Arc::new(w.sender),
            fixed_clock(1_000),
            Arc::new(|| 0.0),
            DispatchSettings {
                max_failures: 3,
                ..DispatchSettings::default()
            },
        );
        (d, told, sent)
    }

    #[tokio::test]
    async fn events_go_out_in_order_and_the_ones_not_asked_for_are_passed_over() {
        let events = vec![
            event(1, ChangeKind::TaskUpdated),
            event(2, ChangeKind::TaskCreated),
            event(3, ChangeKind::TaskDeleted),
            event(4, ChangeKind::ListUpdated),
            event(5, ChangeKind::TaskCompleted),
            event(6, ChangeKind::TaskUpdated),
        ];
        let (d, told, sent) = dispatcher(world(vec![claimed(0, 0)], events, vec![]));
        assert_eq!(d.pass().await.unwrap(), 2);
        assert_eq!(*sent.lock().unwrap(), ["evt_1-2", "evt_1-5"]);
        // Events of 50 s, delivered at 1 000 s.
        assert_eq!(
            d.stats().read(),
            DeliveryCounts {
                delivered: 2,
                lag_ms: 950_000,
                ..DeliveryCounts::default()
            }
        );
        assert_eq!(
            *told.lock().unwrap(),
            [
                Told::Skip(1),
                Told::Record(2, AfterAttempt::Delivered),
                Told::Skip(4),
                Told::Renew,
                Told::Record(5, AfterAttempt::Delivered),
                Told::Skip(6),
                Told::Release,
            ]
        );
        // Nothing due: no read of the log at all.
        assert_eq!(d.pass().await.unwrap(), 0);
    }

    #[tokio::test]
    async fn a_list_webhook_whose_owner_lost_the_list_is_disabled_unsent() {
        let events = vec![event(1, ChangeKind::TaskCreated)];
        let mut lost = claimed(0, 0);
        lost.hook.list = Some(lid(2));
        let mut kept = claimed(0, 0);
        kept.hook.list = Some(lid(1));
        kept.hook.id = WebhookId::from_uuid(uuid::Uuid::from_u128(8));
        let (d, told, sent) = dispatcher(world(vec![lost, kept], events, vec![]));
        assert_eq!(d.pass().await.unwrap(), 1);
        assert_eq!(
            *sent.lock().unwrap(),
            ["evt_1-1"],
            "only the kept one sends"
        );
        assert_eq!(
            told.lock().unwrap()[..2],
            [
                Told::Disable("disabled: its owner can no longer read its list".to_owned()),
                Told::Release
            ]
        );
        assert_eq!(d.stats().read().disabled, 1);
    }

    #[tokio::test]
    async fn a_failure_stops_the_webhook_at_that_event_until_its_retry() {
        let events = vec![
            event(1, ChangeKind::TaskCreated),
            event(2, ChangeKind::TaskCreated),
            event(3, ChangeKind::TaskCreated),
        ];
        let (d, told, sent) = dispatcher(world(vec![claimed(0, 0)], events, vec![204, 503]));
        assert_eq!(d.pass().await.unwrap(), 2);
        assert_eq!(*sent.lock().unwrap(), ["evt_1-1", "evt_1-2"]);
        assert_eq!(
            *told.lock().unwrap(),
            [
                Told::Record(1, AfterAttempt::Delivered),
                Told::Renew,
                Told::Record(
                    2,
                    AfterAttempt::Retry {
                        failures: 1,
                        retry_at: at(1_002)
                    }
                ),
                Told::Release,
            ]
        );
    }

    #[tokio::test]
    async fn the_last_allowed_failure_disables_the_webhook() {
        let events = vec![event(1, ChangeKind::TaskCreated)];
        let (d, told, _) = dispatcher(world(vec![claimed(2, 0)], events, vec![500]));
        d.pass().await.unwrap();
        assert_eq!(
            d.stats().read(),
            DeliveryCounts {
                failed: 1,
                disabled: 1,
                ..DeliveryCounts::default()
            }
        );
        assert_eq!(
            told.lock().unwrap()[0],
            Told::Record(
                1,
                AfterAttempt::Disable {
                    failures: 3,
                    reason: "disabled after 3 failed deliveries in a row".to_owned()
                }
            )
        );
    }

    #[tokio::test]
    async fn a_failed_store_write_still_releases_the_claim() {
        let mut w = world(
            vec![claimed(0, 0)],
            vec![event(1, ChangeKind::TaskCreated)],
            vec![],
        );
        w.deliveries.checkpoint();
        let mut claims = Some(vec![claimed(0, 0)]);
        w.deliveries
            .expect_claim()
            .returning(move |_, _, _, _| Ok(claims.take().unwrap_or_default()));
        w.deliveries.expect_renew().returning(|_, _, _| Ok(true));
        w.deliveries
            .expect_record()
            .returning(|_, _, _, _, _| Err(crate::ports::PortError::Unavailable("down".into())));
        w.deliveries
            .expect_release()
            .times(1)
            .returning(|_, _| Ok(()));
        let (d, _, _) = dispatcher(w);
        assert!(d.pass().await.is_err());
    }

    #[tokio::test]
    async fn a_claim_taken_over_stops_the_webhook_and_is_left_alone() {
        let events = vec![
            event(1, ChangeKind::TaskCreated),
            event(2, ChangeKind::TaskCreated),
            event(3, ChangeKind::TaskCreated),
        ];
        let mut w = world(vec![claimed(0, 0)], events, vec![]);
        w.deliveries.checkpoint();
        let mut claims = Some(vec![claimed(0, 0)]);
        w.deliveries
            .expect_claim()
            .returning(move |_, _, _, _| Ok(claims.take().unwrap_or_default()));
        let t = w.told.clone();
        w.deliveries
            .expect_record()
            .returning(move |_, event, _, after, _| {
                t.lock()
                    .unwrap()
                    .push(Told::Record(event.cursor.id, after.clone()));
                Ok(())
            });
        // The claim lapsed after the first delivery, and another deliverer holds it.
        w.deliveries
            .expect_renew()
            .times(1)
            .returning(|_, _, _| Ok(false));
        w.deliveries
            .expect_release()
            .times(1)
            .returning(|_, _| Ok(()));
        let (d, told, sent) = dispatcher(w);
        assert_eq!(d.pass().await.unwrap(), 1);
        assert_eq!(
            *sent.lock().unwrap(),
            ["evt_1-1"],
            "nothing after the lost claim"
        );
        assert_eq!(
            *told.lock().unwrap(),
            [Told::Record(1, AfterAttempt::Delivered)]
        );
    }

    /// A receiver that holds the delivery to `slow` until one to another URL arrives.
    struct Gate {
        slow: &'static str,
        arrived: tokio::sync::Notify,
        sent: Mutex<Vec<String>>,
    }

    #[async_trait::async_trait]
    impl crate::ports::WebhookSender for Gate {
        async fn send(&self, delivery: &OutgoingWebhook) -> DeliveryAttempt {
            if delivery.url.as_str() == self.slow {
                self.arrived.notified().await;
            } else {
                self.arrived.notify_one();
            }
            self.sent
                .lock()
                .unwrap()
                .push(delivery.url.as_str().to_owned());
            DeliveryAttempt {
                outcome: AttemptOutcome::Delivered,
                status: Some(204),
                duration_ms: 1,
                error: None,
            }
        }
    }

    #[tokio::test]
    async fn a_slow_receiver_holds_up_no_other_webhook() {
        let slow = claimed(0, 0);
        let mut quick = claimed(0, 0);
        quick.hook.id = WebhookId::from_uuid(uuid::Uuid::from_u128(8));
        quick.hook.url =
            TargetUrl::parse("https://quick.example.com/", &AllowedHosts::default()).unwrap();
        let w = world(
            vec![slow, quick],
            vec![event(1, ChangeKind::TaskCreated)],
            vec![],
        );
        let gate = Arc::new(Gate {
            slow: "https://example.com/in",
            arrived: tokio::sync::Notify::new(),
            sent: Mutex::new(Vec::new()),
        });
        let d = WebhookDispatcher::new(
            Arc::new(w.deliveries),
            Arc::new(w.log),
            Arc::new(w.lists),
            Arc::new(w.payloads),
            gate.clone(),
            fixed_clock(1_000),
            Arc::new(|| 0.0),
            DispatchSettings::default(),
        );
        // One after the other, the slow one (claimed first) would wait for ever.
        let attempts = tokio::time::timeout(std::time::Duration::from_secs(10), d.pass())
            .await
            .map_err(|_| "the quick webhook's delivery was held up by the slow one's")
            .unwrap()
            .unwrap();
        assert_eq!(attempts, 2);
        assert_eq!(
            *gate.sent.lock().unwrap(),
            ["https://quick.example.com/", "https://example.com/in"]
        );
    }
}
