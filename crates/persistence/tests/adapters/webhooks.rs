//! Webhooks: each owner reads and writes their own alone, the per-user limit holds even
//! for inserts that race, a stale replace changes nothing, a deleted webhook takes its
//! deliveries with it, a rotated secret keeps the old one beside it for a while (and signs
//! only then), a deleted user leaves no webhook behind, the deliveries log pages newest
//! first, and an attempt added outside the deliverer's order (a redelivery, a ping) is
//! numbered after its event's earlier ones and leaves the webhook as it was.

use sea_orm::{ConnectionTrait, Value};
use todo_application::ports::{
    AttemptOutcome, DeliveryAttempt, DeliveryRecord, UserRepository, WebhookDeliveries,
    WebhookRepository,
};
use todo_domain::webhook::{
    AfterAttempt, DeliveryEvent, DeliveryId, EventKinds, TargetUrl, Webhook, WebhookId,
};
use todo_domain::{ChangeCursor, ChangeKind, Timestamp};
use todo_persistence::{SeaUserRepository, SeaWebhookDeliveries, SeaWebhookRepository};

use crate::harness::delivery::{event, failed, refused, retry};
use crate::harness::*;

/// A webhook id for tests.
fn wid(n: u128) -> WebhookId {
    WebhookId::from_uuid(uuid::Uuid::from_u128(
        0x00eb_0000_0000_0000_0000_0000_0000_0000 | n,
    ))
}

/// `owner`'s webhook number `n`, created at `created`: every task and list change, to a
/// URL of its own, enabled.
fn hook(owner: &str, n: u128, created: i64) -> Webhook {
    Webhook {
        id: wid(n),
        owner: uid(owner),
        url: TargetUrl::from_stored(format!("https://hooks.example.com/{owner}/{n}?k=v")),
        events: EventKinds::parse(&["task.created", "list.updated"]).unwrap(),
        list: None,
        enabled: true,
        disabled_reason: None,
        failures: 0,
        created_at: at(created),
        updated_at: at(created),
        version: 1,
    }
}

const AFTER: ChangeCursor = ChangeCursor { tx: 7, id: 42 };

/// `n` of a `SELECT … AS n` with these values.
async fn count(t: &Ctx, sql: &str, values: Vec<Value>) -> i64 {
    t.db.query_one_raw(statement(t, sql, values))
        .await
        .unwrap()
        .unwrap()
        .try_get::<i64>("", "n")
        .unwrap()
}

async fn webhooks_of(t: &Ctx, owner: &str) -> i64 {
    count(
        t,
        "SELECT CAST(COUNT(*) AS BIGINT) AS n FROM webhook WHERE owner_id = ?",
        vec![owner.into()],
    )
    .await
}

async fn deliveries_of(t: &Ctx, id: WebhookId) -> i64 {
    count(
        t,
        "SELECT CAST(COUNT(*) AS BIGINT) AS n FROM webhook_delivery WHERE webhook_id = ?",
        vec![id.as_uuid().into()],
    )
    .await
}

/// Delivery number `n`'s id.
fn did(n: u128) -> DeliveryId {
    DeliveryId::from_uuid(uuid::Uuid::from_u128(
        0xde11_0000_0000_0000_0000_0000_0000_0000 | n,
    ))
}

/// The test number of a delivery id.
fn number(id: DeliveryId) -> u128 {
    id.as_uuid().as_u128() & 0xffff
}

/// Writes delivery `n` of webhook `id` as stored: of `kind`, at `event` (`None`: none,
/// as a ping's), its first attempt, delivered (200 in 12 ms) at 300.
async fn write_delivery(t: &Ctx, id: WebhookId, n: u128, event: Option<(i64, i64)>, kind: &str) {
    let sql = "INSERT INTO webhook_delivery (id, webhook_id, event_tx, event_id, kind, attempt, \
               outcome, status, duration_ms, error, at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)";
    let values: Vec<Value> = vec![
        did(n).as_uuid().into(),
        id.as_uuid().into(),
        event.map(|e| e.0).into(),
        event.map(|e| e.1).into(),
        kind.into(),
        1_i32.into(),
        "delivered".into(),
        Some(200_i32).into(),
        12_i64.into(),
        None::<String>.into(),
        at(300).into(),
    ];
    t.db.execute_raw(statement(t, sql, values)).await.unwrap();
}

/// Records a delivery (number `n`) of webhook `id`, as the sender will: of the task
/// creation at `0-n`.
async fn delivered(t: &Ctx, id: WebhookId, n: u128) {
    write_delivery(
        t,
        id,
        n,
        Some((0, i64::try_from(n).unwrap())),
        "task.created",
    )
    .await;
}

/// A task's creation at `tx-id`, as a delivery carries it.
const fn created_at(tx: u64, id: u64) -> DeliveryEvent {
    DeliveryEvent::Change {
        cursor: ChangeCursor { tx, id },
        kind: ChangeKind::TaskCreated,
    }
}

/// What the deliverer keeps of webhook `id`: its cursor, failures, retry, claim, enabled
/// flag, version and edit time.
async fn delivery_state(
    t: &Ctx,
    id: WebhookId,
) -> (
    (i64, i64),
    i32,
    Option<Timestamp>,
    Option<Timestamp>,
    bool,
    i64,
    Timestamp,
) {
    let row =
        t.db.query_one_raw(statement(
            t,
            "SELECT cursor_tx, cursor_id, failures, next_attempt_at, claimed_until, enabled, \
             version, updated_at FROM webhook WHERE id = ?",
            vec![id.as_uuid().into()],
        ))
        .await
        .unwrap()
        .unwrap();
    (
        (
            row.try_get("", "cursor_tx").unwrap(),
            row.try_get("", "cursor_id").unwrap(),
        ),
        row.try_get("", "failures").unwrap(),
        row.try_get("", "next_attempt_at").unwrap(),
        row.try_get("", "claimed_until").unwrap(),
        row.try_get("", "enabled").unwrap(),
        row.try_get("", "version").unwrap(),
        row.try_get("", "updated_at").unwrap(),
    )
}

/// The test numbers of a page of deliveries, in its order.
fn numbers(page: &[DeliveryRecord]) -> Vec<u128> {
    page.iter().map(|d| number(d.id)).collect()
}

/// The stored secrets of webhook `id`: current, previous, and until when the previous one
/// signs.
async fn secrets(t: &Ctx, id: WebhookId) -> (String, Option<String>, Option<Timestamp>) {
    let row =
        t.db.query_one_raw(statement(
            t,
            "SELECT secret, previous_secret, previous_secret_until FROM webhook WHERE id = ?",
            vec![id.as_uuid().into()],
        ))
        .await
        .unwrap()
        .unwrap();
    (
        row.try_get("", "secret").unwrap(),
        row.try_get("", "previous_secret").unwrap(),
        row.try_get("", "previous_secret_until").unwrap(),
    )
}

on_both!(
    a_stored_webhook_reads_back_as_written_to_its_owner_alone,
    migrated = true,
    |t: Ctx| async move {
        users_with_inboxes(&t.db, &[("alice", 1), ("bob", 2)]).await;
        let hooks = SeaWebhookRepository::new(t.db.clone());
        let (alice, bob) = (uid("alice"), uid("bob"));
        let mut listed = hook("alice", 1, 100);
        listed.list = Some(inbox_in(&t.db, "alice").await);
        listed.updated_at = at(150);
        listed.version = 3;
        // Created earlier, inserted later: the list is in creation order.
        let mut older = hook("alice", 2, 50);
        older.enabled = false;
        older.disabled_reason = Some("failures".to_owned());
        older.failures = 12;
        older.events = EventKinds::all();
        assert!(hooks.insert(&listed, "whsec_one", AFTER, 20).await.unwrap());
        assert!(hooks.insert(&older, "whsec_two", AFTER, 20).await.unwrap());

        assert_eq!(
            hooks.get(&alice, listed.id).await.unwrap(),
            Some(listed.clone()),
            "{}",
            t.backend
        );
        assert_eq!(
            hooks.get(&alice, older.id).await.unwrap(),
            Some(older.clone())
        );
        assert_eq!(
            hooks.list(&alice).await.unwrap(),
            [older.clone(), listed.clone()],
            "{}",
            t.backend
        );
        // The target as written, its events by name.
        let got = hooks.get(&alice, listed.id).await.unwrap().unwrap();
        assert_eq!(got.url.as_str(), "https://hooks.example.com/alice/1?k=v");
        assert_eq!(got.events.to_stored(), "task.created,list.updated");

        // Bob sees none of them.
        assert_eq!(hooks.get(&bob, listed.id).await.unwrap(), None);
        assert!(hooks.list(&bob).await.unwrap().is_empty(), "{}", t.backend);
        assert_eq!(hooks.get(&alice, wid(99)).await.unwrap(), None);

        // Deliveries start after the given place in the change log; the secret is kept.
        let row =
            t.db.query_one_raw(statement(
                &t,
                "SELECT cursor_tx, cursor_id, next_attempt_at, claimed_until FROM webhook \
                 WHERE id = ?",
                vec![listed.id.as_uuid().into()],
            ))
            .await
            .unwrap()
            .unwrap();
        assert_eq!(
            (
                row.try_get::<i64>("", "cursor_tx").unwrap(),
                row.try_get::<i64>("", "cursor_id").unwrap(),
                row.try_get::<Option<Timestamp>>("", "next_attempt_at")
                    .unwrap(),
                row.try_get::<Option<Timestamp>>("", "claimed_until")
                    .unwrap(),
            ),
            (7, 42, None, None),
            "{}",
            t.backend
        );
        assert_eq!(
            secrets(&t, listed.id).await,
            ("whsec_one".to_owned(), None, None)
        );

        // The same id again is a conflict, and changes nothing.
        let mut again = listed.clone();
        again.url = TargetUrl::from_stored("https://elsewhere.example.com/".to_owned());
        assert!(
            hooks.insert(&again, "whsec_x", AFTER, 20).await.is_err(),
            "{}",
            t.backend
        );
        assert_eq!(hooks.get(&alice, listed.id).await.unwrap(), Some(listed));
    }
);

on_both!(
    an_owner_at_the_limit_gets_no_more_webhooks,
    migrated = true,
    |t: Ctx| async move {
        users_with_inboxes(&t.db, &[("alice", 1), ("bob", 2)]).await;
        let hooks = SeaWebhookRepository::new(t.db.clone());
        for n in 1..=3 {
            assert!(
                hooks
                    .insert(&hook("alice", n, 10), "whsec_a", AFTER, 3)
                    .await
                    .unwrap(),
                "{}: {n}",
                t.backend
            );
        }
        let fourth = hook("alice", 4, 10);
        assert!(
            !hooks.insert(&fourth, "whsec_a", AFTER, 3).await.unwrap(),
            "{}",
            t.backend
        );
        assert_eq!(hooks.get(&uid("alice"), fourth.id).await.unwrap(), None);
        assert_eq!(hooks.list(&uid("alice")).await.unwrap().len(), 3);
        assert_eq!(webhooks_of(&t, "alice").await, 3, "{}", t.backend);
        // A higher limit lets it in; the limit is each owner's own.
        assert!(hooks.insert(&fourth, "whsec_a", AFTER, 4).await.unwrap());
        assert!(
            hooks
                .insert(&hook("bob", 5, 10), "whsec_b", AFTER, 1)
                .await
                .unwrap()
        );
        assert!(
            !hooks
                .insert(&hook("bob", 6, 10), "whsec_b", AFTER, 1)
                .await
                .unwrap()
        );
        // No webhook at all when the limit is 0.
        assert!(
            !hooks
                .insert(&hook("carol", 7, 10), "whsec_c", AFTER, 0)
                .await
                .unwrap()
        );
        assert_eq!(webhooks_of(&t, "carol").await, 0);
    }
);

on_both!(
    inserts_of_one_owner_racing_respect_the_limit,
    sqlite_file,
    |t: Ctx| async move {
        users_with_inboxes(&t.db, &[("alice", 1)]).await;
        let calls = (1..=8_u128).map(|n| {
            let hooks = SeaWebhookRepository::new(t.db.clone());
            tokio::spawn(async move {
                hooks
                    .insert(&hook("alice", n, 10), "whsec_a", AFTER, 3)
                    .await
                    .unwrap()
            })
        });
        let mut inserted = 0;
        for call in calls.collect::<Vec<_>>() {
            if call.await.unwrap() {
                inserted += 1;
            }
        }
        assert_eq!(inserted, 3, "{}", t.backend);
        assert_eq!(webhooks_of(&t, "alice").await, 3, "{}", t.backend);
    }
);

on_both!(
    replace_writes_every_field_only_at_the_expected_version,
    migrated = true,
    |t: Ctx| async move {
        users_with_inboxes(&t.db, &[("alice", 1), ("bob", 2)]).await;
        let hooks = SeaWebhookRepository::new(t.db.clone());
        let alice = uid("alice");
        let stored = hook("alice", 1, 10);
        assert!(hooks.insert(&stored, "whsec_a", AFTER, 20).await.unwrap());

        let next = Webhook {
            url: TargetUrl::from_stored("http://127.0.0.1:9000/in".to_owned()),
            events: EventKinds::parse(&["member.removed"]).unwrap(),
            list: Some(inbox_in(&t.db, "alice").await),
            enabled: false,
            disabled_reason: Some("list no longer readable".to_owned()),
            failures: 4,
            updated_at: at(20),
            version: 2,
            ..stored.clone()
        };
        // Stale: nothing changes.
        assert!(!hooks.replace(&next, 5).await.unwrap(), "{}", t.backend);
        assert_eq!(
            hooks.get(&alice, stored.id).await.unwrap(),
            Some(stored.clone())
        );
        // Another owner's webhook of the same id: not theirs to write.
        let bobs = Webhook {
            owner: uid("bob"),
            ..next.clone()
        };
        assert!(!hooks.replace(&bobs, 1).await.unwrap(), "{}", t.backend);
        assert_eq!(
            hooks.get(&alice, stored.id).await.unwrap(),
            Some(stored.clone())
        );

        assert!(hooks.replace(&next, 1).await.unwrap(), "{}", t.backend);
        assert_eq!(
            hooks.get(&alice, stored.id).await.unwrap(),
            Some(next.clone()),
            "{}",
            t.backend
        );
        // Its version moved on: the old one is stale now.
        assert!(!hooks.replace(&next, 1).await.unwrap());
        // Back to every list, enabled afresh.
        let back = Webhook {
            list: None,
            enabled: true,
            disabled_reason: None,
            failures: 0,
            updated_at: at(30),
            version: 3,
            ..next.clone()
        };
        assert!(hooks.replace(&back, 2).await.unwrap());
        assert_eq!(hooks.get(&alice, stored.id).await.unwrap(), Some(back));
        // The secret and the delivery position are not the replace's to change.
        assert_eq!(secrets(&t, stored.id).await.0, "whsec_a");
        // A webhook that is gone cannot be replaced.
        assert!(!hooks.replace(&hook("alice", 9, 10), 1).await.unwrap());
    }
);

on_both!(
    deleting_a_webhook_takes_its_deliveries_with_it,
    migrated = true,
    |t: Ctx| async move {
        users_with_inboxes(&t.db, &[("alice", 1), ("bob", 2)]).await;
        let hooks = SeaWebhookRepository::new(t.db.clone());
        let (alice, bob) = (uid("alice"), uid("bob"));
        let gone = hook("alice", 1, 10);
        let kept = hook("alice", 2, 11);
        for h in [&gone, &kept] {
            assert!(hooks.insert(h, "whsec_a", AFTER, 20).await.unwrap());
        }
        delivered(&t, gone.id, 1).await;
        delivered(&t, gone.id, 2).await;
        delivered(&t, kept.id, 3).await;

        // Not bob's to delete.
        assert!(!hooks.delete(&bob, gone.id).await.unwrap(), "{}", t.backend);
        assert!(hooks.get(&alice, gone.id).await.unwrap().is_some());
        assert_eq!(deliveries_of(&t, gone.id).await, 2, "{}", t.backend);

        assert!(
            hooks.delete(&alice, gone.id).await.unwrap(),
            "{}",
            t.backend
        );
        assert_eq!(hooks.get(&alice, gone.id).await.unwrap(), None);
        assert_eq!(
            hooks.list(&alice).await.unwrap(),
            std::slice::from_ref(&kept)
        );
        assert_eq!(deliveries_of(&t, gone.id).await, 0, "{}", t.backend);
        assert_eq!(deliveries_of(&t, kept.id).await, 1, "{}", t.backend);
        // Once is enough.
        assert!(!hooks.delete(&alice, gone.id).await.unwrap());
    }
);

on_both!(
    a_rotated_secret_keeps_the_old_one_until_the_given_time,
    migrated = true,
    |t: Ctx| async move {
        users_with_inboxes(&t.db, &[("alice", 1), ("bob", 2)]).await;
        let hooks = SeaWebhookRepository::new(t.db.clone());
        let (alice, bob) = (uid("alice"), uid("bob"));
        let stored = hook("alice", 1, 10);
        assert!(
            hooks
                .insert(&stored, "whsec_first", AFTER, 20)
                .await
                .unwrap()
        );

        assert!(
            hooks
                .rotate_secret(&alice, stored.id, "whsec_second", at(500), at(200))
                .await
                .unwrap(),
            "{}",
            t.backend
        );
        assert_eq!(
            secrets(&t, stored.id).await,
            (
                "whsec_second".to_owned(),
                Some("whsec_first".to_owned()),
                Some(at(500))
            ),
            "{}",
            t.backend
        );
        // A write of the webhook: its version and time move on, nothing else.
        let rotated = Webhook {
            updated_at: at(200),
            version: 2,
            ..stored.clone()
        };
        assert_eq!(hooks.get(&alice, stored.id).await.unwrap(), Some(rotated));

        // Not bob's to rotate, and none that is not there.
        assert!(
            !hooks
                .rotate_secret(&bob, stored.id, "whsec_bobs", at(900), at(300))
                .await
                .unwrap(),
            "{}",
            t.backend
        );
        assert!(
            !hooks
                .rotate_secret(&alice, wid(9), "whsec_none", at(900), at(300))
                .await
                .unwrap()
        );
        assert_eq!(secrets(&t, stored.id).await.0, "whsec_second");

        // Again: the second secret becomes the previous one, the first is gone.
        assert!(
            hooks
                .rotate_secret(&alice, stored.id, "whsec_third", at(800), at(400))
                .await
                .unwrap()
        );
        assert_eq!(
            secrets(&t, stored.id).await,
            (
                "whsec_third".to_owned(),
                Some("whsec_second".to_owned()),
                Some(at(800))
            ),
            "{}",
            t.backend
        );
    }
);

on_both!(
    a_deleted_user_leaves_no_webhook_behind,
    migrated = true,
    |t: Ctx| async move {
        users_with_inboxes(&t.db, &[("alice", 1), ("bob", 2)]).await;
        let hooks = SeaWebhookRepository::new(t.db.clone());
        let hers = [hook("alice", 1, 10), hook("alice", 2, 11)];
        let his = hook("bob", 3, 12);
        for h in hers.iter().chain([&his]) {
            assert!(hooks.insert(h, "whsec_x", AFTER, 20).await.unwrap());
        }
        delivered(&t, hers[0].id, 1).await;
        delivered(&t, hers[1].id, 2).await;
        delivered(&t, his.id, 3).await;

        let users = SeaUserRepository::new(t.db.clone());
        assert!(
            users
                .delete(&uid("alice"), &uid("root"), at(90))
                .await
                .unwrap()
        );
        assert!(hooks.list(&uid("alice")).await.unwrap().is_empty());
        assert_eq!(webhooks_of(&t, "alice").await, 0, "{}", t.backend);
        for h in &hers {
            assert_eq!(deliveries_of(&t, h.id).await, 0, "{}", t.backend);
        }
        // Bob's are untouched.
        assert_eq!(
            hooks.list(&uid("bob")).await.unwrap(),
            std::slice::from_ref(&his)
        );
        assert_eq!(deliveries_of(&t, his.id).await, 1, "{}", t.backend);
    }
);

on_both!(
    signing_gives_the_owner_the_secrets_of_the_moment,
    migrated = true,
    |t: Ctx| async move {
        users_with_inboxes(&t.db, &[("alice", 1), ("bob", 2)]).await;
        let hooks = SeaWebhookRepository::new(t.db.clone());
        let (alice, bob) = (uid("alice"), uid("bob"));
        let stored = hook("alice", 1, 10);
        assert!(
            hooks
                .insert(&stored, "whsec_first", AFTER, 20)
                .await
                .unwrap()
        );
        let only = |s: &str| vec![s.to_owned()];
        assert_eq!(
            hooks.signing(&alice, stored.id, at(100)).await.unwrap(),
            Some((stored.clone(), only("whsec_first"))),
            "{}",
            t.backend
        );

        assert!(
            hooks
                .rotate_secret(&alice, stored.id, "whsec_second", at(500), at(200))
                .await
                .unwrap()
        );
        let rotated = Webhook {
            updated_at: at(200),
            version: 2,
            ..stored.clone()
        };
        let both = vec!["whsec_second".to_owned(), "whsec_first".to_owned()];
        // Within the overlap: the new one first, the old one beside it.
        for now in [200, 499] {
            assert_eq!(
                hooks.signing(&alice, stored.id, at(now)).await.unwrap(),
                Some((rotated.clone(), both.clone())),
                "{} at {now}",
                t.backend
            );
        }
        // After it: the new one alone.
        for now in [500, 10_000] {
            assert_eq!(
                hooks.signing(&alice, stored.id, at(now)).await.unwrap(),
                Some((rotated.clone(), only("whsec_second"))),
                "{} at {now}",
                t.backend
            );
        }
        // Not bob's, and none that is not there.
        assert_eq!(
            hooks.signing(&bob, stored.id, at(300)).await.unwrap(),
            None,
            "{}",
            t.backend
        );
        assert_eq!(hooks.signing(&alice, wid(9), at(300)).await.unwrap(), None);
    }
);

on_both!(
    a_webhooks_deliveries_page_newest_first_as_written,
    migrated = true,
    |t: Ctx| async move {
        users_with_inboxes(&t.db, &[("alice", 1)]).await;
        let hooks = SeaWebhookRepository::new(t.db.clone());
        let (one, two) = (hook("alice", 1, 10), hook("alice", 2, 11));
        for h in [&one, &two] {
            assert!(hooks.insert(h, "whsec_a", AFTER, 20).await.unwrap());
        }
        // One's deliveries: 1, 2 and 3 as the deliverer wrote them, then 10 (a refused
        // ping) and 11 (a failed redelivery of the event at 0-2); two's, 4 and 12, among
        // and after them.
        for n in [1, 2, 3] {
            delivered(&t, one.id, n).await;
        }
        delivered(&t, two.id, 4).await;
        let ping = hooks
            .add_attempt(one.id, did(10), DeliveryEvent::Ping, &refused(), at(400))
            .await
            .unwrap()
            .unwrap();
        let again = hooks
            .add_attempt(one.id, did(11), created_at(0, 2), &failed(), at(500))
            .await
            .unwrap()
            .unwrap();
        delivered(&t, two.id, 12).await;

        // Every field as written.
        assert_eq!(
            ping,
            DeliveryRecord {
                id: did(10),
                event: DeliveryEvent::Ping,
                attempt: 1,
                result: DeliveryAttempt {
                    outcome: AttemptOutcome::Refused,
                    status: None,
                    duration_ms: 1,
                    error: Some("resolves to a loopback address".to_owned()),
                },
                at: at(400),
            },
            "{}",
            t.backend
        );
        assert_eq!(
            again,
            DeliveryRecord {
                id: did(11),
                event: created_at(0, 2),
                attempt: 2,
                result: DeliveryAttempt {
                    outcome: AttemptOutcome::Failed,
                    status: Some(503),
                    duration_ms: 30,
                    error: Some("503 Service Unavailable".to_owned()),
                },
                at: at(500),
            },
            "{}",
            t.backend
        );

        // Newest first, a page at a time, each after the last one of the page before.
        let first = hooks.deliveries(one.id, None, 2).await.unwrap();
        assert_eq!(first, [again.clone(), ping.clone()], "{}", t.backend);
        let second = hooks
            .deliveries(one.id, Some(first[1].id), 2)
            .await
            .unwrap();
        assert_eq!(numbers(&second), [3, 2], "{}", t.backend);
        assert_eq!(
            second[0],
            DeliveryRecord {
                id: did(3),
                event: created_at(0, 3),
                attempt: 1,
                result: DeliveryAttempt {
                    outcome: AttemptOutcome::Delivered,
                    status: Some(200),
                    duration_ms: 12,
                    error: None,
                },
                at: at(300),
            },
            "{}",
            t.backend
        );
        let third = hooks.deliveries(one.id, Some(did(2)), 2).await.unwrap();
        assert_eq!(numbers(&third), [1], "{}", t.backend);
        assert!(
            hooks
                .deliveries(one.id, Some(did(1)), 2)
                .await
                .unwrap()
                .is_empty()
        );
        // Its own alone, whichever id the page starts before.
        assert_eq!(
            numbers(&hooks.deliveries(one.id, None, 100).await.unwrap()),
            [11, 10, 3, 2, 1],
            "{}",
            t.backend
        );
        assert_eq!(
            numbers(&hooks.deliveries(one.id, Some(did(4)), 100).await.unwrap()),
            [3, 2, 1],
            "{}",
            t.backend
        );
        assert_eq!(
            numbers(&hooks.deliveries(two.id, None, 100).await.unwrap()),
            [12, 4],
            "{}",
            t.backend
        );
        assert_eq!(
            numbers(&hooks.deliveries(two.id, Some(did(12)), 1).await.unwrap()),
            [4],
            "{}",
            t.backend
        );
        assert!(
            hooks
                .deliveries(wid(9), None, 100)
                .await
                .unwrap()
                .is_empty()
        );
        assert!(hooks.deliveries(one.id, None, 0).await.unwrap().is_empty());
    }
);

on_both!(
    a_delivery_row_that_is_neither_a_change_nor_a_ping_is_an_error,
    migrated = true,
    |t: Ctx| async move {
        users_with_inboxes(&t.db, &[("alice", 1)]).await;
        let hooks = SeaWebhookRepository::new(t.db.clone());
        for (n, event, kind) in [
            (1, Some((0, 1)), "ping"),
            (2, None, "task.created"),
            (3, Some((0, 1)), "task.exploded"),
        ] {
            let h = hook("alice", n, 10);
            assert!(hooks.insert(&h, "whsec_a", AFTER, 20).await.unwrap());
            write_delivery(&t, h.id, n, event, kind).await;
            assert!(
                hooks.deliveries(h.id, None, 10).await.is_err(),
                "{} {kind} at {event:?}",
                t.backend
            );
            assert!(hooks.delivery(h.id, did(n)).await.is_err(), "{}", t.backend);
        }
        // A ping as stored reads back as one.
        let h = hook("alice", 4, 10);
        assert!(hooks.insert(&h, "whsec_a", AFTER, 20).await.unwrap());
        write_delivery(&t, h.id, 4, None, "ping").await;
        assert_eq!(
            hooks.delivery(h.id, did(4)).await.unwrap().map(|d| d.event),
            Some(DeliveryEvent::Ping),
            "{}",
            t.backend
        );
    }
);

on_both!(
    an_added_attempt_follows_the_deliverers_and_leaves_the_webhook_as_it_was,
    migrated = true,
    |t: Ctx| async move {
        users_with_inboxes(&t.db, &[("alice", 1)]).await;
        let hooks = SeaWebhookRepository::new(t.db.clone());
        let (one, two) = (hook("alice", 1, 10), hook("alice", 2, 11));
        for h in [&one, &two] {
            assert!(hooks.insert(h, "whsec_a", AFTER, 20).await.unwrap());
        }
        // The deliverer's attempts 1 and 2 at the event 8-1; another webhook's attempt at
        // it counts for that webhook alone.
        let deliverer = SeaWebhookDeliveries::new(t.db.clone());
        deliverer
            .record(one.id, &event(8, 1), &failed(), &retry(1, 600), at(100))
            .await
            .unwrap();
        deliverer
            .record(one.id, &event(8, 1), &failed(), &retry(2, 700), at(600))
            .await
            .unwrap();
        deliverer
            .record(two.id, &event(8, 1), &failed(), &retry(1, 600), at(100))
            .await
            .unwrap();
        let before = delivery_state(&t, one.id).await;
        assert_eq!(
            (before.0, before.1, before.2),
            ((7, 42), 2, Some(at(700))),
            "{}",
            t.backend
        );

        // A redelivery that succeeds: attempt 3, and the webhook's cursor, failures and
        // retry are still the deliverer's.
        let ok = DeliveryAttempt {
            outcome: AttemptOutcome::Delivered,
            status: Some(200),
            duration_ms: 7,
            error: None,
        };
        let third = hooks
            .add_attempt(one.id, did(30), created_at(8, 1), &ok, at(650))
            .await
            .unwrap();
        let expected = DeliveryRecord {
            id: did(30),
            event: created_at(8, 1),
            attempt: 3,
            result: ok.clone(),
            at: at(650),
        };
        assert_eq!(third, Some(expected.clone()), "{}", t.backend);
        assert_eq!(delivery_state(&t, one.id).await, before, "{}", t.backend);
        let fourth = hooks
            .add_attempt(one.id, did(31), created_at(8, 1), &failed(), at(660))
            .await
            .unwrap()
            .unwrap();
        assert_eq!(fourth.attempt, 4, "{}", t.backend);
        // Another event starts at 1; a ping is always 1.
        let other = hooks
            .add_attempt(one.id, did(32), created_at(8, 2), &ok, at(670))
            .await
            .unwrap()
            .unwrap();
        assert_eq!(other.attempt, 1, "{}", t.backend);
        for n in [33, 34] {
            let ping = hooks
                .add_attempt(one.id, did(n), DeliveryEvent::Ping, &ok, at(680))
                .await
                .unwrap()
                .unwrap();
            assert_eq!(
                (ping.event, ping.attempt),
                (DeliveryEvent::Ping, 1),
                "{}",
                t.backend
            );
        }
        assert_eq!(delivery_state(&t, one.id).await, before, "{}", t.backend);
        // The deliverer's next attempt at the event counts the added ones.
        deliverer
            .record(one.id, &event(8, 1), &ok, &AfterAttempt::Delivered, at(700))
            .await
            .unwrap();
        let all = hooks.deliveries(one.id, None, 100).await.unwrap();
        let fifth = all.iter().find(|d| d.at == at(700)).unwrap();
        assert_eq!(
            (fifth.event, fifth.attempt),
            (created_at(8, 1), 5),
            "{}",
            t.backend
        );

        // Found by its id, under its webhook alone.
        assert_eq!(
            hooks.delivery(one.id, did(30)).await.unwrap(),
            Some(expected),
            "{}",
            t.backend
        );
        assert_eq!(hooks.delivery(two.id, did(30)).await.unwrap(), None);
        assert_eq!(hooks.delivery(one.id, did(99)).await.unwrap(), None);

        // A webhook that is gone gets none, and nothing is written.
        assert!(hooks.delete(&uid("alice"), two.id).await.unwrap());
        assert_eq!(
            hooks
                .add_attempt(two.id, did(40), created_at(8, 1), &ok, at(800))
                .await
                .unwrap(),
            None,
            "{}",
            t.backend
        );
        assert_eq!(
            hooks
                .add_attempt(two.id, did(41), DeliveryEvent::Ping, &ok, at(800))
                .await
                .unwrap(),
            None,
            "{}",
            t.backend
        );
        assert_eq!(
            count(
                &t,
                "SELECT CAST(COUNT(*) AS BIGINT) AS n FROM webhook_delivery WHERE id IN (?, ?)",
                vec![did(40).as_uuid().into(), did(41).as_uuid().into()],
            )
            .await,
            0,
            "{}",
            t.backend
        );
        assert_eq!(deliveries_of(&t, two.id).await, 0, "{}", t.backend);
    }
);

on_both!(
    added_attempts_at_one_event_racing_are_numbered_in_turn,
    sqlite_file,
    |t: Ctx| async move {
        users_with_inboxes(&t.db, &[("alice", 1)]).await;
        let stored = hook("alice", 1, 10);
        assert!(
            SeaWebhookRepository::new(t.db.clone())
                .insert(&stored, "whsec_a", AFTER, 20)
                .await
                .unwrap()
        );
        let calls = (1..=8_u128).map(|n| {
            let hooks = SeaWebhookRepository::new(t.db.clone());
            tokio::spawn(async move {
                hooks
                    .add_attempt(stored.id, did(n), created_at(8, 1), &failed(), at(100))
                    .await
                    .unwrap()
                    .unwrap()
                    .attempt
            })
        });
        let mut attempts = Vec::new();
        for call in calls.collect::<Vec<_>>() {
            attempts.push(call.await.unwrap());
        }
        attempts.sort_unstable();
        assert_eq!(attempts, (1..=8).collect::<Vec<u32>>(), "{}", t.backend);
    }
);

/// The tables of webhooks, as the catalog lists them.
async fn webhook_tables(t: &Ctx) -> Vec<String> {
    let sql = if t.backend == "postgres" {
        "SELECT tablename::text AS name FROM pg_tables WHERE schemaname = current_schema() \
         AND tablename LIKE 'webhook%' ORDER BY tablename"
    } else {
        "SELECT name FROM sqlite_master WHERE type = 'table' AND name LIKE 'webhook%' \
         ORDER BY name"
    };
    t.db.query_all_raw(statement(t, sql, Vec::new()))
        .await
        .unwrap()
        .iter()
        .map(|row| row.try_get::<String>("", "name").unwrap())
        .collect()
}

// The last two migrations add the webhook tables and their claim column; undone, they
// drop them; done again, they are back and work.
on_both!(
    the_webhook_tables_come_and_go_with_their_migration,
    migrated = true,
    |t: Ctx| async move {
        use todo_migration::{Migrator, MigratorTrait};
        assert_eq!(
            webhook_tables(&t).await,
            ["webhook", "webhook_delivery"],
            "{}",
            t.backend
        );
        Migrator::down(&t.db, Some(2)).await.unwrap();
        assert_eq!(todo_migration::pending(&t.db).await.unwrap(), 2);
        assert!(webhook_tables(&t).await.is_empty(), "{}", t.backend);
        todo_persistence::migrate(&t.db).await.unwrap();
        assert_eq!(todo_migration::pending(&t.db).await.unwrap(), 0);
        assert_eq!(webhook_tables(&t).await, ["webhook", "webhook_delivery"]);
        users_with_inboxes(&t.db, &[("alice", 1)]).await;
        let hooks = SeaWebhookRepository::new(t.db.clone());
        let stored = hook("alice", 1, 10);
        assert!(hooks.insert(&stored, "whsec_a", AFTER, 20).await.unwrap());
        assert_eq!(hooks.list(&uid("alice")).await.unwrap(), [stored]);
    }
);
