//! Tombstones and the sync feed, clearing completed tasks, tag counts and stats,
//! idempotent creates, the purge and positions, on both backends.

use sea_orm::ConnectionTrait;
use todo_application::ports::{IdempotentInsert, Purged, TaskRepository};
use todo_domain::{
    Change, Due, DueWindow, IdempotencyKey, ListCursor, Position, Priority, SortValue, Tags, Task,
    TimeZone, Timestamp,
};
use todo_persistence::SeaTaskRepository;

use crate::harness::*;

async fn repos(t: &Ctx) -> SeaTaskRepository {
    users_with_inboxes(&t.db, &[("alice", 1), ("bob", 2)]).await;
    SeaTaskRepository::new(t.db.clone())
}

async fn scalar(t: &Ctx, sql: &str) -> i64 {
    t.db.query_one_raw(sea_orm::Statement::from_string(
        t.db.get_database_backend(),
        sql,
    ))
    .await
    .unwrap()
    .unwrap()
    .try_get::<i64>("", "n")
    .unwrap()
}

/// A task of `owner` created and last updated at `updated`.
fn changed(owner: &str, n: u128, updated: i64) -> Task {
    let mut t = task(owner, n, "t", at(1));
    t.updated_at = at(updated);
    t
}

/// What a feed holds: `+n` for a task, `-n` for a tombstone.
fn shown(changes: &[Change]) -> Vec<i128> {
    changes
        .iter()
        .map(|c| {
            let n = i128::try_from(c.id().as_uuid().as_u128()).unwrap();
            match c {
                Change::Updated(_) => n,
                Change::Deleted(_) => -n,
            }
        })
        .collect()
}

/// The whole feed since `since`, `limit` at a time.
async fn feed(tasks: &SeaTaskRepository, since: Timestamp, limit: u32) -> Vec<i128> {
    let mut all = Vec::new();
    let mut after: Option<ListCursor> = None;
    loop {
        let page = tasks
            .changes(&uid("alice"), since, limit, after.clone())
            .await
            .unwrap();
        all.extend(shown(&page));
        match page.last() {
            Some(last) if page.len() == usize::try_from(limit).unwrap() => {
                after = Some(ListCursor {
                    value: SortValue::Instant(Some(last.changed_at())),
                    id: last.id(),
                });
            }
            _ => return all,
        }
    }
}

on_both!(
    deletions_leave_tombstones_the_feed_merges_in_order,
    |t: Ctx| async move {
        let tasks = repos(&t).await;
        let me = uid("alice");
        for (n, updated) in [(1, 10), (2, 20), (3, 30), (4, 40)] {
            tasks
                .insert(&changed("alice", n, updated), None)
                .await
                .unwrap();
        }
        tasks.insert(&changed("bob", 9, 25), None).await.unwrap();
        // Deleted at 25 and 35; a stale If-Match deletes nothing and leaves no tombstone.
        assert!(tasks.delete(&me, tid(2), Some(1), at(25)).await.unwrap());
        assert!(!tasks.delete(&me, tid(3), Some(7), at(26)).await.unwrap());
        assert!(tasks.delete(&me, tid(4), None, at(35)).await.unwrap());
        assert!(!tasks.delete(&me, tid(4), None, at(36)).await.unwrap());
        assert!(
            tasks
                .delete(&uid("bob"), tid(9), None, at(27))
                .await
                .unwrap()
        );
        assert!(tasks.read(&me, tid(2)).await.is_none());
        assert_eq!(
            scalar(&t, "SELECT COUNT(*) AS n FROM task_tombstone").await,
            3,
            "{}",
            t.backend
        );

        assert_eq!(
            feed(&tasks, at(0), 10).await,
            [1, -2, 3, -4],
            "{}: by time, Bob's left out",
            t.backend
        );
        assert_eq!(feed(&tasks, at(25), 10).await, [-2, 3, -4], "{}", t.backend);
        for limit in [1, 2, 3] {
            assert_eq!(
                feed(&tasks, at(0), limit).await,
                [1, -2, 3, -4],
                "{}: {limit} at a time",
                t.backend
            );
        }
        let page = tasks.changes(&me, at(20), 10, None).await.unwrap();
        let Some(Change::Deleted(tombstone)) = page.first() else {
            panic!("{}: {page:?}", t.backend)
        };
        assert_eq!(
            (tombstone.id, &tombstone.owner, tombstone.deleted_at),
            (tid(2), &me, at(25))
        );
    }
);

on_both!(
    clearing_completed_tasks_deletes_only_those_with_tombstones,
    |t: Ctx| async move {
        let tasks = repos(&t).await;
        let me = uid("alice");
        // More than one batch of tombstones on SQLite.
        for n in 1..=650 {
            let mut task = changed("alice", n, 10);
            task.set_completed(n % 2 == 0, at(10));
            tasks.insert(&task, None).await.unwrap();
        }
        let mut theirs = changed("bob", 1000, 10);
        theirs.set_completed(true, at(10));
        tasks.insert(&theirs, None).await.unwrap();

        assert_eq!(tasks.delete_completed(&me, at(50)).await.unwrap(), 325);
        assert_eq!(tasks.delete_completed(&me, at(51)).await.unwrap(), 0);
        assert_eq!(
            scalar(&t, "SELECT COUNT(*) AS n FROM task").await,
            326,
            "{}: the open ones and Bob's stay",
            t.backend
        );
        let feed = tasks.changes(&me, at(50), 1000, None).await.unwrap();
        assert_eq!(feed.len(), 325, "{}", t.backend);
        assert!(
            feed.iter()
                .all(|c| matches!(c, Change::Deleted(d) if d.deleted_at == at(50)))
        );
    }
);

on_both!(
    tags_are_counted_per_list_and_stats_in_one_query,
    |t: Ctx| async move {
        let tasks = repos(&t).await;
        let me = uid("alice");
        let now = chrono::DateTime::parse_from_rfc3339("2026-12-02T12:00:00Z")
            .unwrap()
            .to_utc();
        // n, tags, priority, due, completed
        type Planned = (
            u128,
            &'static [&'static str],
            Option<Priority>,
            Option<&'static str>,
            bool,
        );
        let plan: [Planned; 6] = [
            (
                1,
                &["Work", "home"],
                Some(Priority::High),
                Some("2026-12-01"),
                false,
            ),
            (
                2,
                &["Work", "home"],
                Some(Priority::High),
                Some("2026-12-02"),
                false,
            ),
            (
                3,
                &["work"],
                Some(Priority::Low),
                Some("2026-12-02T13:00:00Z"),
                true,
            ),
            (4, &[], None, Some("2026-12-02T11:00:00Z"), false),
            (5, &[], Some(Priority::Medium), None, false),
            (6, &["x"], None, Some("2026-12-03"), true),
        ];
        for (n, tags, priority, due, done) in plan {
            let mut task = changed("alice", n, 10);
            task.tags = Tags::parse(tags).unwrap();
            task.priority = priority;
            task.due = due.map(|d| Due::parse(d).unwrap());
            task.set_completed(done, at(10));
            tasks.insert(&task, None).await.unwrap();
        }
        let mut theirs = changed("bob", 9, 10);
        theirs.tags = Tags::parse(&["work"]).unwrap();
        tasks.insert(&theirs, None).await.unwrap();

        let mut lists = tasks.tag_lists(&me).await.unwrap();
        lists.sort_by_key(|(tags, _)| format!("{tags:?}"));
        let lists: Vec<(Vec<&str>, u64)> = lists
            .iter()
            .map(|(tags, n)| (tags.as_slice().iter().map(|t| t.as_str()).collect(), *n))
            .collect();
        assert_eq!(
            lists,
            [(vec!["home", "Work"], 2), (vec!["work"], 1), (vec!["x"], 1)],
            "{}",
            t.backend
        );

        let stats = tasks
            .stats(&me, &DueWindow::at(now, TimeZone::UTC))
            .await
            .unwrap();
        assert_eq!(
            (stats.total, stats.pending, stats.completed),
            (6, 4, 2),
            "{}",
            t.backend
        );
        assert_eq!(
            (
                stats.pending_high,
                stats.pending_medium,
                stats.pending_low,
                stats.pending_no_priority
            ),
            (2, 1, 0, 1),
            "{}",
            t.backend
        );
        // Overdue: 1 (yesterday) and 4 (an hour ago); 3 is done. Today: 2, 3 and 4.
        assert_eq!((stats.overdue, stats.due_today), (2, 3), "{}", t.backend);
        // Fourteen hours ahead it is already the 3rd: 2 is overdue too, and today is 6
        // (done, still counted) with 3 and 4, whose instants fall on the local 3rd.
        let kiritimati = TimeZone::parse("tz", "Pacific/Kiritimati").unwrap();
        let stats = tasks
            .stats(&me, &DueWindow::at(now, kiritimati))
            .await
            .unwrap();
        assert_eq!((stats.overdue, stats.due_today), (3, 3), "{}", t.backend);
        let none = tasks
            .stats(&uid("nobody"), &DueWindow::at(now, TimeZone::UTC))
            .await
            .unwrap();
        assert_eq!(none, todo_domain::TaskStats::default(), "{}", t.backend);
    }
);

fn key(raw: &str) -> IdempotencyKey {
    IdempotencyKey::parse(raw).unwrap()
}

on_both!(
    an_idempotency_key_creates_once_and_then_finds_its_task,
    |t: Ctx| async move {
        let tasks = repos(&t).await;
        let first = changed("alice", 1, 100);
        let outcome = tasks
            .insert_idempotent(&first, None, &key("k1"), "f1", at(0))
            .await
            .unwrap();
        assert_eq!(outcome, IdempotentInsert::Inserted, "{}", t.backend);
        // A retry (another id, as every request gets one) finds the first.
        let retry = changed("alice", 2, 110);
        let outcome = tasks
            .insert_idempotent(&retry, None, &key("k1"), "f2", at(0))
            .await
            .unwrap();
        assert_eq!(
            outcome,
            IdempotentInsert::Existing {
                fingerprint: "f1".to_owned(),
                task: Some(first.clone())
            },
            "{}",
            t.backend
        );
        // Keys are per user.
        let bobs = changed("bob", 3, 110);
        assert_eq!(
            tasks
                .insert_idempotent(&bobs, None, &key("k1"), "f1", at(0))
                .await
                .unwrap(),
            IdempotentInsert::Inserted
        );
        // Its task deleted: the key remembers it, the task is gone.
        tasks
            .delete(&uid("alice"), tid(1), None, at(120))
            .await
            .unwrap();
        assert_eq!(
            tasks
                .insert_idempotent(&retry, None, &key("k1"), "f1", at(0))
                .await
                .unwrap(),
            IdempotentInsert::Existing {
                fingerprint: "f1".to_owned(),
                task: None
            }
        );
        // Used before `expired_before`: forgotten, and the key is free again.
        assert_eq!(
            tasks
                .insert_idempotent(&retry, None, &key("k1"), "f9", at(101))
                .await
                .unwrap(),
            IdempotentInsert::Inserted,
            "{}",
            t.backend
        );
        assert!(tasks.read(&uid("alice"), tid(2)).await.is_some());
        assert_eq!(scalar(&t, "SELECT COUNT(*) AS n FROM task").await, 2);
    }
);

on_both!(
    concurrent_requests_with_one_key_create_one_task,
    |t: Ctx| async move {
        let tasks = std::sync::Arc::new(repos(&t).await);
        let mut racers = Vec::new();
        for n in 1..=8_u128 {
            let tasks = tasks.clone();
            racers.push(tokio::spawn(async move {
                let attempt = changed("alice", n, 100);
                tasks
                    .insert_idempotent(&attempt, None, &key("same"), "f", at(0))
                    .await
                    .unwrap()
            }));
        }
        let mut inserted = 0;
        let mut found = Vec::new();
        for racer in racers {
            match racer.await.unwrap() {
                IdempotentInsert::Inserted => inserted += 1,
                IdempotentInsert::Existing { task, .. } => found.push(task.unwrap().id),
                IdempotentInsert::Full => panic!("no limit was given"),
            }
        }
        assert_eq!(inserted, 1, "{}", t.backend);
        assert_eq!(found.len(), 7);
        let stored = scalar(&t, "SELECT COUNT(*) AS n FROM task").await;
        assert_eq!(stored, 1, "{}: one task for eight requests", t.backend);
        assert!(
            found.windows(2).all(|w| w[0] == w[1]),
            "all found the same task"
        );
    }
);

on_both!(the_purge_forgets_only_what_expired, |t: Ctx| async move {
    let tasks = repos(&t).await;
    let me = uid("alice");
    for n in 1..=3 {
        tasks.insert(&changed("alice", n, 1), None).await.unwrap();
    }
    tasks.delete(&me, tid(1), None, at(10)).await.unwrap();
    tasks.delete(&me, tid(2), None, at(20)).await.unwrap();
    let mut keyed = changed("alice", 4, 1);
    keyed.created_at = at(15);
    tasks
        .insert_idempotent(&keyed, None, &key("old"), "f", at(0))
        .await
        .unwrap();
    keyed.id = tid(5);
    keyed.created_at = at(25);
    tasks
        .insert_idempotent(&keyed, None, &key("new"), "f", at(0))
        .await
        .unwrap();

    assert_eq!(
        tasks.purge(at(20), at(20)).await.unwrap(),
        Purged {
            tombstones: 1,
            keys: 1
        },
        "{}",
        t.backend
    );
    assert_eq!(
        tasks.purge(at(20), at(20)).await.unwrap(),
        Purged {
            tombstones: 0,
            keys: 0
        }
    );
    // The tombstone of 10 is gone; the one of 20 stays (not before 20).
    assert_eq!(
        shown(&tasks.changes(&me, at(0), 10, None).await.unwrap()),
        [3, 4, 5, -2],
        "{}",
        t.backend
    );
    assert_eq!(
        scalar(&t, "SELECT COUNT(*) AS n FROM idempotency_key").await,
        1
    );
});

on_both!(
    positions_are_stored_and_missing_ones_are_filled_in,
    |t: Ctx| async move {
        let tasks = repos(&t).await;
        let me = uid("alice");
        let mut moved = changed("alice", 1, 1);
        moved.position = Position::parse("0zV").unwrap();
        tasks.insert(&moved, None).await.unwrap();
        tasks.insert(&changed("alice", 2, 1), None).await.unwrap();
        assert_eq!(tasks.read(&me, tid(1)).await.unwrap(), moved);
        // A row an earlier version wrote has no position: it reads as the one it gets
        // at the next start, which fills it in.
        t.db.execute_unprepared("UPDATE task SET position = ''")
            .await
            .unwrap();
        let expected = Position::initial(at(1), tid(1));
        let read = tasks.read(&me, tid(1)).await.unwrap();
        assert_eq!(read.position, expected, "{}", t.backend);
        todo_migration::fill_derived_columns(&t.db).await.unwrap();
        assert_eq!(
            scalar(&t, "SELECT COUNT(*) AS n FROM task WHERE position = ''").await,
            0,
            "{}",
            t.backend
        );
        assert_eq!(tasks.read(&me, tid(1)).await.unwrap().position, expected);
    }
);
