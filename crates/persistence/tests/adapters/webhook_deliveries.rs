//! The deliverer's side of webhooks: a due webhook is claimed by one deliverer at a time
//! (until its claim lapses or ends), a disabled one or one waiting for its retry is left
//! alone, the previous secret signs only during its overlap, each attempt is recorded with
//! its number and moves the cursor, schedules the retry or disables the webhook, a
//! cursor never moves backwards, and a lapsed claim renews and releases nothing of the
//! claim that took over.

use sea_orm::ConnectionTrait;
use todo_application::ports::{ClaimedWebhook, WebhookDeliveries, WebhookRepository};
use todo_domain::webhook::{AfterAttempt, EventKinds, TargetUrl, Webhook, WebhookId};
use todo_domain::{ChangeCursor, Timestamp};
use todo_persistence::{PoolSettings, SeaWebhookDeliveries, SeaWebhookRepository};
use uuid::Uuid;

use crate::harness::delivery::{delivered, event, failed, refused, retry};
use crate::harness::*;

/// A webhook id for tests.
fn wid(n: u128) -> WebhookId {
    WebhookId::from_uuid(uuid::Uuid::from_u128(
        0x00de_0000_0000_0000_0000_0000_0000_0000 | n,
    ))
}

/// The test number of a webhook id.
fn number(id: WebhookId) -> u128 {
    id.as_uuid().as_u128() & 0xffff
}

/// alice's webhook number `n`, created at 10, enabled or not.
fn hook(n: u128, enabled: bool) -> Webhook {
    Webhook {
        id: wid(n),
        owner: uid("alice"),
        url: TargetUrl::from_stored(format!("https://hooks.example.com/{n}")),
        events: EventKinds::all(),
        list: None,
        enabled,
        disabled_reason: None,
        failures: 0,
        created_at: at(10),
        updated_at: at(10),
        version: 1,
    }
}

/// The claim id of the deliverer a test follows (its pass).
const MINE: Uuid = Uuid::from_u128(0x00c1_a100_0000_0000_0000_0000_0000_0001);
/// Another deliverer's claim id (another process, or a later pass).
const OTHER: Uuid = Uuid::from_u128(0x00c1_a100_0000_0000_0000_0000_0000_0002);
/// A third deliverer's claim id, claiming only to see whether a webhook is free.
const THIRD: Uuid = Uuid::from_u128(0x00c1_a100_0000_0000_0000_0000_0000_0003);

/// Where the test webhooks' deliveries start.
const AFTER: ChangeCursor = ChangeCursor { tx: 7, id: 42 };

/// Stores alice's webhook number `n` with the secret `secret-n`, its deliveries after
/// [`AFTER`].
async fn insert(t: &Ctx, n: u128, enabled: bool) {
    let stored = SeaWebhookRepository::new(t.db.clone())
        .insert(&hook(n, enabled), &format!("secret-{n}"), AFTER, 100)
        .await
        .unwrap();
    assert!(stored, "{}", t.backend);
}

/// The test numbers of the claimed webhooks, in the order claimed.
fn numbers(claimed: &[ClaimedWebhook]) -> Vec<u128> {
    claimed.iter().map(|c| number(c.hook.id)).collect()
}

/// Claims at `now` as `claim` (until a minute later) up to 100 webhooks: their test
/// numbers.
async fn claim_as(d: &SeaWebhookDeliveries, claim: Uuid, now: i64) -> Vec<u128> {
    numbers(&d.claim(claim, at(now), at(now + 60), 100).await.unwrap())
}

/// Claims at `now` as [`MINE`] (until a minute later) up to 100 webhooks: their test
/// numbers.
async fn claim_at(d: &SeaWebhookDeliveries, now: i64) -> Vec<u128> {
    claim_as(d, MINE, now).await
}

/// Claims at `now` as [`MINE`] the one webhook due.
async fn claim_one(d: &SeaWebhookDeliveries, now: i64) -> ClaimedWebhook {
    let mut claimed = d.claim(MINE, at(now), at(now + 60), 100).await.unwrap();
    assert_eq!(claimed.len(), 1, "{claimed:?}");
    claimed.remove(0)
}

/// Webhook 1's cursor, as a claim at `now` reads it (the claim then ended).
async fn cursor_at(d: &SeaWebhookDeliveries, now: i64) -> ChangeCursor {
    let cursor = claim_one(d, now).await.cursor;
    d.release(wid(1), MINE).await.unwrap();
    cursor
}

/// Webhook `n`'s claim as stored: until when, and whose.
async fn claim_of(t: &Ctx, n: u128) -> (Option<Timestamp>, Option<Uuid>) {
    let row =
        t.db.query_one_raw(statement(
            t,
            "SELECT claimed_until, claim_id FROM webhook WHERE id = ?",
            vec![wid(n).as_uuid().into()],
        ))
        .await
        .unwrap()
        .unwrap();
    (
        row.try_get("", "claimed_until").unwrap(),
        row.try_get("", "claim_id").unwrap(),
    )
}

/// A delivery row as the test compares it.
#[derive(Debug, PartialEq, Eq)]
struct Row {
    event: (i64, i64),
    kind: String,
    attempt: i32,
    outcome: String,
    status: Option<i32>,
    duration_ms: i64,
    error: Option<String>,
}

/// Webhook `n`'s deliveries, in order of event and attempt.
async fn deliveries_of(t: &Ctx, n: u128) -> Vec<Row> {
    t.db.query_all_raw(statement(
        t,
        "SELECT event_tx, event_id, kind, attempt, outcome, status, duration_ms, error \
         FROM webhook_delivery WHERE webhook_id = ? ORDER BY event_tx, event_id, attempt",
        vec![wid(n).as_uuid().into()],
    ))
    .await
    .unwrap()
    .iter()
    .map(|r| Row {
        event: (
            r.try_get("", "event_tx").unwrap(),
            r.try_get("", "event_id").unwrap(),
        ),
        kind: r.try_get("", "kind").unwrap(),
        attempt: r.try_get("", "attempt").unwrap(),
        outcome: r.try_get("", "outcome").unwrap(),
        status: r.try_get("", "status").unwrap(),
        duration_ms: r.try_get("", "duration_ms").unwrap(),
        error: r.try_get("", "error").unwrap(),
    })
    .collect()
}

on_both!(
    a_due_webhook_is_claimed_once_until_its_claim_lapses_or_ends,
    migrated = true,
    |t: Ctx| async move {
        insert(&t, 1, true).await;
        let d = SeaWebhookDeliveries::new(t.db.clone());

        let claimed = d.claim(MINE, at(100), at(160), 10).await.unwrap();
        assert_eq!(numbers(&claimed), [1], "{}", t.backend);
        assert_eq!(
            claim_of(&t, 1).await,
            (Some(at(160)), Some(MINE)),
            "{}",
            t.backend
        );
        let first = &claimed[0];
        assert_eq!(first.hook, hook(1, true), "{}", t.backend);
        assert_eq!(first.cursor, AFTER, "{}", t.backend);
        assert_eq!(first.secrets, ["secret-1"], "{}", t.backend);

        // Held: no one else gets it before the claim ends.
        assert_eq!(claim_at(&d, 100).await, [] as [u128; 0], "{}", t.backend);
        assert_eq!(claim_at(&d, 159).await, [] as [u128; 0], "{}", t.backend);
        // The claim lapsed (its deliverer died): someone else takes it over.
        assert_eq!(claim_as(&d, OTHER, 160).await, [1], "{}", t.backend);
        assert_eq!(
            claim_of(&t, 1).await,
            (Some(at(220)), Some(OTHER)),
            "{}",
            t.backend
        );
        assert_eq!(claim_at(&d, 161).await, [] as [u128; 0], "{}", t.backend);
        // Renewed by its deliverer: held past the first claim's end, until the renewal's.
        assert!(
            d.renew(wid(1), OTHER, at(400)).await.unwrap(),
            "{}",
            t.backend
        );
        assert_eq!(claim_at(&d, 300).await, [] as [u128; 0], "{}", t.backend);
        assert_eq!(claim_at(&d, 400).await, [1], "{}", t.backend);
        // Released: claimable at once, and no one's.
        d.release(wid(1), MINE).await.unwrap();
        assert_eq!(claim_of(&t, 1).await, (None, None), "{}", t.backend);
        assert_eq!(claim_at(&d, 401).await, [1], "{}", t.backend);
    }
);

// A deliverer whose claim lapsed (a slow pass) and was taken over by another one: its
// renewal and its release change nothing of the new claim (else both would deliver the
// same events); the new claim's own renewal and release work.
on_both!(
    a_lapsed_claim_renews_and_releases_nothing_of_the_next_one,
    migrated = true,
    |t: Ctx| async move {
        insert(&t, 1, true).await;
        let d = SeaWebhookDeliveries::new(t.db.clone());
        let (a, b) = (MINE, OTHER);

        let claimed = d.claim(a, at(100), at(160), 10).await.unwrap();
        assert_eq!(numbers(&claimed), [1], "{}", t.backend);
        // At 160 A's claim lapsed: B takes the webhook over, until 220.
        let claimed = d.claim(b, at(160), at(220), 10).await.unwrap();
        assert_eq!(numbers(&claimed), [1], "{}", t.backend);
        assert_eq!(
            claim_of(&t, 1).await,
            (Some(at(220)), Some(b)),
            "{}",
            t.backend
        );

        // A, late, renews: refused, and B's claim still ends at 220.
        assert!(!d.renew(wid(1), a, at(400)).await.unwrap(), "{}", t.backend);
        assert_eq!(
            claim_of(&t, 1).await,
            (Some(at(220)), Some(b)),
            "{}",
            t.backend
        );
        assert_eq!(
            claim_as(&d, THIRD, 200).await,
            [] as [u128; 0],
            "{}",
            t.backend
        );

        // A releases: B keeps its claim.
        d.release(wid(1), a).await.unwrap();
        assert_eq!(
            claim_of(&t, 1).await,
            (Some(at(220)), Some(b)),
            "{}",
            t.backend
        );
        assert_eq!(
            claim_as(&d, THIRD, 200).await,
            [] as [u128; 0],
            "{}",
            t.backend
        );

        // B's claim lapses at 220 (not at A's 400): claimable then, here by B again (its
        // next pass, under the same id so that the test goes on with B holding it).
        let claimed = d.claim(b, at(220), at(260), 10).await.unwrap();
        assert_eq!(numbers(&claimed), [1], "{}", t.backend);

        // B renews: held until 300.
        assert!(d.renew(wid(1), b, at(300)).await.unwrap(), "{}", t.backend);
        assert_eq!(
            claim_of(&t, 1).await,
            (Some(at(300)), Some(b)),
            "{}",
            t.backend
        );
        assert_eq!(
            claim_as(&d, THIRD, 299).await,
            [] as [u128; 0],
            "{}",
            t.backend
        );

        // B releases: free at once, for whoever claims next.
        d.release(wid(1), b).await.unwrap();
        assert_eq!(claim_of(&t, 1).await, (None, None), "{}", t.backend);
        assert_eq!(claim_as(&d, THIRD, 299).await, [1], "{}", t.backend);
        assert_eq!(
            claim_of(&t, 1).await,
            (Some(at(359)), Some(THIRD)),
            "{}",
            t.backend
        );
    }
);

// A renewal of a webhook no claim holds, or of one deleted meanwhile, changes nothing and
// says so.
on_both!(
    an_unclaimed_or_deleted_webhook_is_not_renewed,
    migrated = true,
    |t: Ctx| async move {
        insert(&t, 1, true).await;
        let d = SeaWebhookDeliveries::new(t.db.clone());

        assert!(
            !d.renew(wid(1), MINE, at(400)).await.unwrap(),
            "{}",
            t.backend
        );
        assert_eq!(claim_of(&t, 1).await, (None, None), "{}", t.backend);
        // A release by no one's claim leaves it free.
        d.release(wid(1), MINE).await.unwrap();
        assert_eq!(claim_at(&d, 100).await, [1], "{}", t.backend);

        // Deleted while claimed: the renewal finds nothing, and neither does a release.
        assert!(
            SeaWebhookRepository::new(t.db.clone())
                .delete(&uid("alice"), wid(1))
                .await
                .unwrap(),
            "{}",
            t.backend
        );
        assert!(
            !d.renew(wid(1), MINE, at(200)).await.unwrap(),
            "{}",
            t.backend
        );
        d.release(wid(1), MINE).await.unwrap();
        // A webhook that never existed.
        assert!(
            !d.renew(wid(9), MINE, at(200)).await.unwrap(),
            "{}",
            t.backend
        );
    }
);

on_both!(
    claims_take_webhooks_without_a_pending_retry_first_up_to_the_limit,
    migrated = true,
    |t: Ctx| async move {
        for n in 1..=5 {
            insert(&t, n, true).await;
        }
        let d = SeaWebhookDeliveries::new(t.db.clone());
        // 2 waits for its retry since 50, 4 since 40.
        d.record(wid(2), &event(7, 43), &failed(), &retry(1, 50), at(45))
            .await
            .unwrap();
        d.record(wid(4), &event(7, 43), &failed(), &retry(1, 40), at(35))
            .await
            .unwrap();

        let claimed = d.claim(MINE, at(100), at(160), 4).await.unwrap();
        assert_eq!(numbers(&claimed), [1, 3, 5, 4], "{}", t.backend);
        assert_eq!(claim_at(&d, 100).await, [2], "{}", t.backend);
        d.release(wid(1), MINE).await.unwrap();
        assert!(
            d.claim(MINE, at(100), at(160), 0).await.unwrap().is_empty(),
            "{}",
            t.backend
        );
    }
);

on_both!(
    a_disabled_webhook_or_one_waiting_for_its_retry_is_not_claimed,
    migrated = true,
    |t: Ctx| async move {
        insert(&t, 1, false).await;
        insert(&t, 2, true).await;
        let d = SeaWebhookDeliveries::new(t.db.clone());
        d.record(wid(2), &event(7, 43), &failed(), &retry(1, 200), at(100))
            .await
            .unwrap();

        assert_eq!(claim_at(&d, 100).await, [] as [u128; 0], "{}", t.backend);
        assert_eq!(claim_at(&d, 199).await, [] as [u128; 0], "{}", t.backend);
        assert_eq!(claim_at(&d, 200).await, [2], "{}", t.backend);
        d.release(wid(2), MINE).await.unwrap();
        assert_eq!(claim_at(&d, 10_000).await, [2], "{}", t.backend);
    }
);

on_both!(
    the_previous_secret_signs_beside_the_new_one_only_until_its_overlap_ends,
    migrated = true,
    |t: Ctx| async move {
        insert(&t, 1, true).await;
        let repo = SeaWebhookRepository::new(t.db.clone());
        assert!(
            repo.rotate_secret(&uid("alice"), wid(1), "secret-new", at(500), at(100))
                .await
                .unwrap()
        );
        let d = SeaWebhookDeliveries::new(t.db.clone());

        let claimed = claim_one(&d, 200).await;
        assert_eq!(claimed.secrets, ["secret-new", "secret-1"], "{}", t.backend);
        d.release(wid(1), MINE).await.unwrap();
        assert_eq!(
            claim_one(&d, 499).await.secrets,
            ["secret-new", "secret-1"],
            "{}",
            t.backend
        );
        d.release(wid(1), MINE).await.unwrap();
        assert_eq!(
            claim_one(&d, 500).await.secrets,
            ["secret-new"],
            "{}",
            t.backend
        );
    }
);

on_both!(
    a_delivered_event_moves_the_cursor_and_clears_the_failures,
    migrated = true,
    |t: Ctx| async move {
        insert(&t, 1, true).await;
        let d = SeaWebhookDeliveries::new(t.db.clone());
        claim_one(&d, 100).await;
        d.record(wid(1), &event(7, 50), &failed(), &retry(1, 110), at(100))
            .await
            .unwrap();
        d.release(wid(1), MINE).await.unwrap();
        let retried = claim_one(&d, 110).await;
        assert_eq!(
            (retried.cursor, retried.hook.failures),
            (AFTER, 1),
            "{}",
            t.backend
        );

        d.record(
            wid(1),
            &event(7, 50),
            &delivered(),
            &AfterAttempt::Delivered,
            at(111),
        )
        .await
        .unwrap();
        d.release(wid(1), MINE).await.unwrap();
        // Due at once again, from the delivered event on; the owner's edit time and
        // version are the owner's.
        let next = claim_one(&d, 112).await;
        assert_eq!(
            (next.cursor, next.hook.failures),
            (ChangeCursor { tx: 7, id: 50 }, 0),
            "{}",
            t.backend
        );
        assert_eq!(
            (next.hook.updated_at, next.hook.version),
            (at(10), 1),
            "{}",
            t.backend
        );
        assert_eq!(
            deliveries_of(&t, 1).await.last(),
            Some(&Row {
                event: (7, 50),
                kind: "task.created".to_owned(),
                attempt: 2,
                outcome: "delivered".to_owned(),
                status: Some(204),
                duration_ms: 12,
                error: None,
            }),
            "{}",
            t.backend
        );
    }
);

on_both!(
    a_failed_attempt_keeps_the_cursor_and_waits_for_its_retry,
    migrated = true,
    |t: Ctx| async move {
        insert(&t, 1, true).await;
        let d = SeaWebhookDeliveries::new(t.db.clone());
        claim_one(&d, 100).await;
        d.record(wid(1), &event(8, 1), &failed(), &retry(3, 300), at(100))
            .await
            .unwrap();
        d.release(wid(1), MINE).await.unwrap();

        assert_eq!(claim_at(&d, 299).await, [] as [u128; 0], "{}", t.backend);
        let retried = claim_one(&d, 300).await;
        assert_eq!(
            (retried.cursor, retried.hook.failures, retried.hook.enabled),
            (AFTER, 3, true),
            "{}",
            t.backend
        );
        assert_eq!(
            (retried.hook.updated_at, retried.hook.version),
            (at(10), 1),
            "{}",
            t.backend
        );
        assert_eq!(
            deliveries_of(&t, 1).await,
            [Row {
                event: (8, 1),
                kind: "task.created".to_owned(),
                attempt: 1,
                outcome: "failed".to_owned(),
                status: Some(503),
                duration_ms: 30,
                error: Some("503 Service Unavailable".to_owned()),
            }],
            "{}",
            t.backend
        );
    }
);

on_both!(
    a_webhook_disabled_for_its_list_is_never_claimed_again,
    migrated = true,
    |t: Ctx| async move {
        insert(&t, 1, true).await;
        insert(&t, 2, true).await;
        let d = SeaWebhookDeliveries::new(t.db.clone());
        let reason = "disabled: its owner can no longer read its list";
        d.disable(wid(1), reason).await.unwrap();
        assert_eq!(claim_at(&d, 100).await, [2], "{}", t.backend);
        d.release(wid(2), MINE).await.unwrap();
        assert_eq!(claim_at(&d, 1_000_000).await, [2], "{}", t.backend);
        let stored = SeaWebhookRepository::new(t.db.clone())
            .get(&uid("alice"), wid(1))
            .await
            .unwrap()
            .unwrap();
        assert_eq!(
            (stored.enabled, stored.disabled_reason.as_deref()),
            (false, Some(reason)),
            "{}",
            t.backend
        );
    }
);

on_both!(
    a_webhook_disabled_after_its_failures_is_never_claimed_again,
    migrated = true,
    |t: Ctx| async move {
        insert(&t, 1, true).await;
        let d = SeaWebhookDeliveries::new(t.db.clone());
        claim_one(&d, 100).await;
        let reason = "disabled after 10 failed deliveries in a row";
        d.record(
            wid(1),
            &event(8, 1),
            &refused(),
            &AfterAttempt::Disable {
                failures: 10,
                reason: reason.to_owned(),
            },
            at(100),
        )
        .await
        .unwrap();
        d.release(wid(1), MINE).await.unwrap();

        assert_eq!(claim_at(&d, 100).await, [] as [u128; 0], "{}", t.backend);
        assert_eq!(
            claim_at(&d, 1_000_000).await,
            [] as [u128; 0],
            "{}",
            t.backend
        );
        // Its owner sees why, with its edit time and version as they were.
        let stored = SeaWebhookRepository::new(t.db.clone())
            .get(&uid("alice"), wid(1))
            .await
            .unwrap()
            .unwrap();
        assert_eq!(
            (
                stored.enabled,
                stored.failures,
                stored.disabled_reason.as_deref()
            ),
            (false, 10, Some(reason)),
            "{}",
            t.backend
        );
        assert_eq!(
            (stored.updated_at, stored.version),
            (at(10), 1),
            "{}",
            t.backend
        );
        let rows = deliveries_of(&t, 1).await;
        assert_eq!(
            rows.iter()
                .map(|r| (r.outcome.as_str(), r.status, r.error.as_deref()))
                .collect::<Vec<_>>(),
            [("refused", None, Some("resolves to a loopback address"))],
            "{}",
            t.backend
        );
    }
);

on_both!(
    attempts_at_one_event_count_up_and_the_next_event_starts_again_at_one,
    migrated = true,
    |t: Ctx| async move {
        insert(&t, 1, true).await;
        insert(&t, 2, true).await;
        let d = SeaWebhookDeliveries::new(t.db.clone());
        let first = event(8, 1);
        let second = event(8, 2);
        // Another webhook's attempts at the same event count for it alone.
        d.record(wid(2), &first, &failed(), &retry(1, 10), at(1))
            .await
            .unwrap();
        d.record(wid(1), &first, &failed(), &retry(1, 10), at(1))
            .await
            .unwrap();
        d.record(wid(1), &first, &failed(), &retry(2, 20), at(10))
            .await
            .unwrap();
        d.record(
            wid(1),
            &first,
            &delivered(),
            &AfterAttempt::Delivered,
            at(20),
        )
        .await
        .unwrap();
        d.record(wid(1), &second, &failed(), &retry(1, 30), at(21))
            .await
            .unwrap();
        d.record(
            wid(1),
            &second,
            &delivered(),
            &AfterAttempt::Delivered,
            at(30),
        )
        .await
        .unwrap();

        let rows = deliveries_of(&t, 1).await;
        assert_eq!(
            rows.iter()
                .map(|r| (r.event, r.attempt, r.outcome.as_str()))
                .collect::<Vec<_>>(),
            [
                ((8, 1), 1, "failed"),
                ((8, 1), 2, "failed"),
                ((8, 1), 3, "delivered"),
                ((8, 2), 1, "failed"),
                ((8, 2), 2, "delivered"),
            ],
            "{}",
            t.backend
        );
        let other = deliveries_of(&t, 2).await;
        assert_eq!(
            other.iter().map(|r| r.attempt).collect::<Vec<_>>(),
            [1],
            "{}",
            t.backend
        );
        let claimed = d.claim(MINE, at(40), at(100), 10).await.unwrap();
        assert_eq!(
            claimed
                .iter()
                .map(|c| (number(c.hook.id), c.cursor))
                .collect::<Vec<_>>(),
            [(1, ChangeCursor { tx: 8, id: 2 }), (2, AFTER)],
            "{}",
            t.backend
        );
    }
);

on_both!(
    a_cursor_never_moves_backwards,
    migrated = true,
    |t: Ctx| async move {
        insert(&t, 1, true).await;
        let d = SeaWebhookDeliveries::new(t.db.clone());

        d.skip_to(wid(1), ChangeCursor { tx: 9, id: 5 })
            .await
            .unwrap();
        assert_eq!(
            cursor_at(&d, 100).await,
            ChangeCursor { tx: 9, id: 5 },
            "{}",
            t.backend
        );
        // Behind it, in the same transaction or an earlier one: it stays.
        for behind in [
            ChangeCursor { tx: 9, id: 4 },
            ChangeCursor { tx: 8, id: 900 },
            ChangeCursor::START,
            ChangeCursor { tx: 9, id: 5 },
        ] {
            d.skip_to(wid(1), behind).await.unwrap();
            assert_eq!(
                cursor_at(&d, 100).await,
                ChangeCursor { tx: 9, id: 5 },
                "{} {behind:?}",
                t.backend
            );
        }
        // Delivering an event behind it (a late repeat) leaves it too.
        d.record(
            wid(1),
            &event(9, 1),
            &delivered(),
            &AfterAttempt::Delivered,
            at(100),
        )
        .await
        .unwrap();
        assert_eq!(
            cursor_at(&d, 100).await,
            ChangeCursor { tx: 9, id: 5 },
            "{}",
            t.backend
        );
        // Ahead of it, by id or by transaction: it moves.
        d.skip_to(wid(1), ChangeCursor { tx: 9, id: 6 })
            .await
            .unwrap();
        assert_eq!(
            cursor_at(&d, 100).await,
            ChangeCursor { tx: 9, id: 6 },
            "{}",
            t.backend
        );
        d.skip_to(wid(1), ChangeCursor { tx: 10, id: 1 })
            .await
            .unwrap();
        assert_eq!(
            cursor_at(&d, 100).await,
            ChangeCursor { tx: 10, id: 1 },
            "{}",
            t.backend
        );
    }
);

/// Two replicas, each with its own pool, claiming at the same moment: every due webhook
/// is claimed by exactly one of them (PostgreSQL; SQLite's writes take turns).
#[test]
fn two_replicas_claiming_at_once_claim_each_webhook_once() {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        let Some(pg) = postgres().await else { return };
        todo_persistence::migrate(&pg.db).await.unwrap();
        let t = Ctx::of(&pg);
        for n in 1..=20 {
            insert(&t, n, true).await;
        }
        let other_pool = todo_persistence::connect(&pg.url, &PoolSettings::default())
            .await
            .unwrap();
        let one = SeaWebhookDeliveries::new(pg.db.clone());
        let two = SeaWebhookDeliveries::new(other_pool.clone());

        for round in 0..10_i64 {
            let now = 1_000 + round * 100;
            let (a, b) = tokio::join!(
                one.claim(MINE, at(now), at(now + 50), 20),
                two.claim(OTHER, at(now), at(now + 50), 20)
            );
            let (a, b) = (numbers(&a.unwrap()), numbers(&b.unwrap()));
            let mut all: Vec<u128> = a.iter().chain(&b).copied().collect();
            all.sort_unstable();
            assert_eq!(
                all,
                (1..=20).collect::<Vec<u128>>(),
                "round {round}: {a:?} and {b:?}"
            );
            // Held by one or the other: nothing left for either.
            assert_eq!(claim_at(&one, now + 1).await, [] as [u128; 0]);
            // The claims lapse before the next round.
        }
        other_pool.close().await.ok();
    });
}
