//! Webhooks: each owner reads and writes their own alone, the per-user limit holds even
//! for inserts that race, a stale replace changes nothing, a deleted webhook takes its
//! deliveries with it, a rotated secret keeps the old one beside it for a while, and a
//! deleted user leaves no webhook behind.

use sea_orm::{ConnectionTrait, DbBackend, Statement, Value};
use todo_application::ports::{UserRepository, WebhookRepository};
use todo_domain::webhook::{EventKinds, TargetUrl, Webhook, WebhookId};
use todo_domain::{ChangeCursor, Timestamp};
use todo_persistence::{SeaUserRepository, SeaWebhookRepository};

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

/// `sql` with `?` placeholders, as the backend writes them.
fn statement(t: &Ctx, sql: &str, values: Vec<Value>) -> Statement {
    let backend = t.db.get_database_backend();
    let sql = if backend == DbBackend::Postgres {
        let mut n = 0;
        sql.chars()
            .map(|c| {
                if c == '?' {
                    n += 1;
                    format!("${n}")
                } else {
                    c.to_string()
                }
            })
            .collect()
    } else {
        sql.to_owned()
    };
    Statement::from_sql_and_values(backend, sql, values)
}

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

/// Records a delivery (number `n`) of webhook `id`, as the sender will.
async fn delivered(t: &Ctx, id: WebhookId, n: u128) {
    let sql = "INSERT INTO webhook_delivery (id, webhook_id, event_tx, event_id, kind, attempt, \
               outcome, status, duration_ms, error, at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)";
    let values: Vec<Value> = vec![
        uuid::Uuid::from_u128(0xde11_0000_0000_0000_0000_0000_0000_0000 | n).into(),
        id.as_uuid().into(),
        Some(0_i64).into(),
        Some(i64::try_from(n).unwrap()).into(),
        "task.created".into(),
        1_i32.into(),
        "delivered".into(),
        Some(200_i32).into(),
        12_i64.into(),
        None::<String>.into(),
        at(300).into(),
    ];
    t.db.execute_raw(statement(t, sql, values)).await.unwrap();
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

// The last migration adds the webhook tables; undone, it drops them; done again, they
// are back and work.
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
        Migrator::down(&t.db, Some(1)).await.unwrap();
        assert_eq!(todo_migration::pending(&t.db).await.unwrap(), 1);
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
