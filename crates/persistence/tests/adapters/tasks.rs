use sea_orm::ConnectionTrait;
use todo_application::ports::{PortError, TaskRepository};
use todo_domain::{
    Due, Edited, ListCursor, ListSpec, Priority, Recurrence, Sort, Tags, Task, TaskChanges,
    TaskDescription, TaskTitle, TimeZone,
};
use todo_persistence::SeaTaskRepository;

use crate::harness::*;

async fn repos(t: &Ctx) -> SeaTaskRepository {
    users_with_inboxes(&t.db, &[("alice", 1), ("bob", 2)]).await;
    SeaTaskRepository::new(t.db.clone())
}

fn micros(secs: i64, micros: u32) -> todo_domain::Timestamp {
    at(secs) + chrono::TimeDelta::microseconds(i64::from(micros))
}

/// One row of a raw query.
async fn row(t: &Ctx, sql: &str) -> sea_orm::QueryResult {
    t.db.query_one_raw(sea_orm::Statement::from_string(
        t.db.get_database_backend(),
        sql,
    ))
    .await
    .unwrap()
    .unwrap()
}

/// Rows in the task table, whoever owns them.
async fn count(t: &Ctx) -> i64 {
    row(t, "SELECT COUNT(*) AS n FROM task")
        .await
        .try_get::<i64>("", "n")
        .unwrap()
}

/// An open task repeating every Monday and Wednesday from `due`, in Berlin time.
fn recurring(owner: &str, n: u128, due: &str) -> Task {
    let mut t = task(owner, n, "water plants", at(10));
    t.due = Some(Due::parse(due).unwrap());
    t.recurrence = Some(Recurrence::parse("FREQ=WEEKLY;BYDAY=MO,WE").unwrap());
    t.time_zone = Some(TimeZone::parse("time_zone", "Europe/Berlin").unwrap());
    t
}

on_both!(a_task_reads_back_exactly_as_written, |t: Ctx| async move {
    let tasks = repos(&t).await;
    let mut written = task("alice", 1, "Buy milk", micros(1_764_000_000, 123_456));
    written.description = TaskDescription::parse("two litres\nof oat milk").unwrap();
    written.updated_at = micros(1_764_000_001, 999_999);
    tasks.insert(&written, None).await.unwrap();
    let read = tasks.read(&uid("alice"), tid(1)).await.unwrap();
    assert_eq!(read, written, "{}", t.backend);
    assert_eq!(read.version, 1);
    assert!(read.tags.is_empty());
});

on_both!(
    a_list_with_its_most_open_tasks_takes_no_more,
    |t: Ctx| async move {
        let tasks = repos(&t).await;
        let me = uid("alice");
        for n in 1..=2 {
            let open = task("alice", n, "open", at(10));
            assert!(tasks.insert(&open, Some(3)).await.unwrap(), "{}", t.backend);
        }
        let mut done = task("alice", 3, "done", at(10));
        done.set_completed(true, at(10));
        assert!(tasks.insert(&done, None).await.unwrap());
        // Two open tasks (the done one does not count): a limit of 2 is reached, one of 3
        // is not.
        assert!(
            !tasks
                .insert(&task("alice", 4, "x", at(10)), Some(2))
                .await
                .unwrap(),
            "{}",
            t.backend
        );
        assert!(
            tasks.read(&me, tid(4)).await.is_none(),
            "nothing was written"
        );
        assert!(
            tasks
                .insert(&task("alice", 5, "x", at(10)), Some(3))
                .await
                .unwrap()
        );
        let written = tasks.read(&me, tid(5)).await.unwrap();
        assert_eq!(written, task("alice", 5, "x", at(10)), "{}", t.backend);
        assert!(
            !tasks
                .insert(&task("alice", 6, "x", at(10)), Some(3))
                .await
                .unwrap()
        );
        // Without a limit, anything goes.
        assert!(
            tasks
                .insert(&task("alice", 6, "x", at(10)), None)
                .await
                .unwrap()
        );
    }
);

on_both!(
    every_organising_field_reads_back_exactly,
    |t: Ctx| async move {
        let tasks = repos(&t).await;
        let me = uid("alice");

        // An all-day date, a reminder, a rule and a zone, tags beyond ASCII.
        let mut dated = task("alice", 1, "Dated", micros(1_764_000_000, 1));
        dated.priority = Some(Priority::High);
        dated.tags = Tags::parse(&["Küche", "work", "日本語", "été"]).unwrap();
        dated.due = Some(Due::parse("2026-12-24").unwrap());
        dated.remind_at = Some(micros(1_798_000_000, 654_321));
        // Not canonical as given: stored (and read back) in its canonical form.
        dated.recurrence =
            Some(Recurrence::parse("RRULE:FREQ=MONTHLY;INTERVAL=1;COUNT=5").unwrap());
        dated.time_zone = Some(TimeZone::parse("time_zone", "America/St_Johns").unwrap());
        dated.occurrences_done = 3;
        dated.version = 42;
        tasks.insert(&dated, None).await.unwrap();

        // An instant with microseconds, completed.
        let mut timed = task("alice", 2, "Timed", micros(1_764_000_000, 2));
        timed.priority = Some(Priority::Low);
        timed.tags = Tags::parse(&["a"]).unwrap();
        timed.due = Some(Due::parse("2026-12-01T09:00:00.123456+05:00").unwrap());
        timed.completed = true;
        timed.completed_at = Some(micros(1_764_000_500, 777_777));
        timed.version = 7;
        // A series that a daylight-saving gap moved keeps its time of day, to the microsecond.
        timed.series_time = chrono::NaiveTime::from_hms_micro_opt(2, 30, 0, 123_456);
        tasks.insert(&timed, None).await.unwrap();

        // The remaining priority, and a date that is not all-day in UTC terms.
        let mut medium = task("alice", 3, "Medium", micros(1_764_000_000, 3));
        medium.priority = Some(Priority::Medium);
        medium.due = Some(Due::parse("2026-12-01T00:00:00Z").unwrap());
        tasks.insert(&medium, None).await.unwrap();

        for written in [&dated, &timed, &medium] {
            let read = tasks.read(&me, written.id).await.unwrap();
            assert_eq!(&read, written, "{}", t.backend);
        }
        assert_eq!(
            plain_page(&tasks, &me, 10, None).await,
            [dated.clone(), timed.clone(), medium.clone()],
            "{}",
            t.backend
        );
        assert!(
            matches!(medium.due, Some(Due::At(_))),
            "midnight UTC as an instant stays an instant (compared above)"
        );

        // What is stored, column by column.
        let stored = row(
            &t,
            "SELECT priority, tags, due_at, due_all_day, recurrence, time_zone, occurrences_done, \
         version FROM task WHERE title = 'Dated'",
        )
        .await;
        assert_eq!(
            stored.try_get::<Option<i16>>("", "priority").unwrap(),
            Some(3)
        );
        assert_eq!(
            stored.try_get::<String>("", "tags").unwrap(),
            "Küche\nwork\nété\n日本語",
            "{}: sorted, one per line",
            t.backend
        );
        assert_eq!(
            stored
                .try_get::<Option<chrono::DateTime<chrono::Utc>>>("", "due_at")
                .unwrap(),
            Some(
                chrono::DateTime::parse_from_rfc3339("2026-12-24T00:00:00Z")
                    .unwrap()
                    .to_utc()
            ),
            "{}: a date is stored as its midnight UTC",
            t.backend
        );
        assert!(stored.try_get::<bool>("", "due_all_day").unwrap());
        assert_eq!(
            stored
                .try_get::<Option<String>>("", "recurrence")
                .unwrap()
                .as_deref(),
            Some("FREQ=MONTHLY;COUNT=5"),
            "{}",
            t.backend
        );
        assert_eq!(
            stored
                .try_get::<Option<String>>("", "time_zone")
                .unwrap()
                .as_deref(),
            Some("America/St_Johns")
        );
        assert_eq!(stored.try_get::<i32>("", "occurrences_done").unwrap(), 3);
        assert_eq!(stored.try_get::<i64>("", "version").unwrap(), 42);
        let timed_row = row(
            &t,
            "SELECT due_all_day, tags FROM task WHERE title = 'Timed'",
        )
        .await;
        assert!(!timed_row.try_get::<bool>("", "due_all_day").unwrap());
        assert_eq!(timed_row.try_get::<String>("", "tags").unwrap(), "a");
        let medium_row = row(&t, "SELECT due_all_day FROM task WHERE title = 'Medium'").await;
        assert!(!medium_row.try_get::<bool>("", "due_all_day").unwrap());
    }
);

on_both!(corrupt_stored_values_are_refused, |t: Ctx| async move {
    let tasks = repos(&t).await;
    tasks
        .insert(&recurring("alice", 1, "2026-12-02"), None)
        .await
        .unwrap();
    let me = uid("alice");
    assert!(tasks.read(&me, tid(1)).await.is_some());
    for (break_it, repair, what) in [
        ("priority = 0", "priority = NULL", "priority"),
        ("priority = 4", "priority = 1", "priority"),
        ("tags = 'a\nb,c'", "tags = ''", "tags"),
        ("tags = 'a\n\nb'", "tags = 'a'", "tags"),
        ("tags = ' a'", "tags = 'b'", "tags"),
        (
            "recurrence = 'FREQ=HOURLY'",
            "recurrence = 'FREQ=DAILY'",
            "recurrence",
        ),
        (
            "time_zone = 'Mars/Olympus'",
            "time_zone = NULL",
            "time zone",
        ),
        (
            "occurrences_done = -1",
            "occurrences_done = 0",
            "occurrences done",
        ),
    ] {
        t.db.execute_unprepared(&format!("UPDATE task SET {break_it}"))
            .await
            .unwrap();
        let err = tasks.get(&me, tid(1)).await.unwrap_err();
        assert!(
            matches!(&err, PortError::Other(e) if e.to_string().contains(what)),
            "{}: {break_it}: {err:?}",
            t.backend
        );
        assert!(
            tasks
                .search(&me, &ListSpec::default().query(at(0)), 10, None)
                .await
                .is_err()
        );
        t.db.execute_unprepared(&format!("UPDATE task SET {repair}"))
            .await
            .unwrap();
        assert!(
            tasks.read(&me, tid(1)).await.is_some(),
            "{}: {repair}",
            t.backend
        );
    }
});

on_both!(a_duplicate_id_is_a_conflict, |t: Ctx| async move {
    let tasks = repos(&t).await;
    tasks
        .insert(&task("alice", 1, "one", at(10)), None)
        .await
        .unwrap();
    let err = tasks
        .insert(&task("alice", 1, "again", at(11)), None)
        .await
        .unwrap_err();
    assert!(
        matches!(err, PortError::Conflict(_)),
        "{}: {err:?}",
        t.backend
    );
});

on_both!(other_owners_see_nothing, |t: Ctx| async move {
    let tasks = repos(&t).await;
    let original = recurring("alice", 1, "2026-12-02");
    tasks.insert(&original, None).await.unwrap();
    let plain = task("alice", 2, "plain", at(11));
    tasks.insert(&plain, None).await.unwrap();
    let bob = uid("bob");
    assert_eq!(tasks.read(&bob, tid(1)).await, None);
    // `replace` and `complete_occurrence` take a task the service has read for the
    // caller and checked against their role (ports.rs): only the writes that take a
    // caller are scoped here.
    assert_eq!(
        tasks
            .toggle_completed(&bob, tid(2), at(20), None)
            .await
            .unwrap(),
        None
    );
    assert_eq!(
        tasks
            .toggle_completed(&bob, tid(2), at(20), Some(1))
            .await
            .unwrap(),
        None
    );
    assert!(!tasks.delete(&bob, tid(1), None, at(99)).await.unwrap());
    assert!(!tasks.delete(&bob, tid(2), Some(1), at(99)).await.unwrap());
    assert!(plain_page(&tasks, &bob, 10, None).await.is_empty());
    assert_eq!(count(&t).await, 2, "{}: nothing inserted", t.backend);
    assert_eq!(
        plain_page(&tasks, &uid("alice"), 10, None).await,
        [original, plain],
        "{}: untouched",
        t.backend
    );
});

on_both!(lists_page_by_created_at_then_id, |t: Ctx| async move {
    let tasks = repos(&t).await;
    // Three tasks share a timestamp: the id breaks the tie.
    let plan = [(5, 20), (3, 10), (4, 10), (2, 10), (1, 30)];
    for (n, secs) in plan {
        tasks
            .insert(&task("alice", n, &format!("t{n}"), at(secs)), None)
            .await
            .unwrap();
    }
    tasks
        .insert(&task("bob", 9, "bob's", at(10)), None)
        .await
        .unwrap();
    let mut seen = Vec::new();
    let mut after = None;
    loop {
        let page = plain_page(&tasks, &uid("alice"), 2, after).await;
        assert!(page.len() <= 2);
        let Some(last) = page.last() else { break };
        after = Some(ListCursor::after(last, Sort::default()));
        seen.extend(page.iter().map(|t| t.title.as_str().to_owned()));
    }
    assert_eq!(seen, ["t2", "t3", "t4", "t5", "t1"], "{}", t.backend);
});

/// `original` with `changes` applied at `now`: the next version, as the service writes it.
fn edited(original: &Task, changes: &TaskChanges, now: todo_domain::Timestamp) -> Task {
    match original.apply(changes, now, tid(999)).unwrap() {
        Edited::Replaced(next) => next,
        Edited::Recurred { .. } => panic!("not a completion"),
    }
}

on_both!(
    replacing_writes_every_field_at_the_expected_version,
    |t: Ctx| async move {
        let tasks = repos(&t).await;
        let mut original = task("alice", 1, "draft", at(10));
        original.description = TaskDescription::parse("notes").unwrap();
        original.tags = Tags::parse(&["old"]).unwrap();
        original.priority = Some(Priority::Low);
        tasks.insert(&original, None).await.unwrap();
        let me = uid("alice");

        let changes = TaskChanges {
            title: Some(TaskTitle::parse("final").unwrap()),
            description: Some(None),
            priority: Some(None),
            tags: Some(Tags::parse(&["Neu", "zwei"]).unwrap()),
            due: Some(Some(Due::parse("2027-01-31T23:59:59.5Z").unwrap())),
            remind_at: Some(Some(micros(1_800_000_000, 5))),
            recurrence: Some(Some(
                Recurrence::parse("FREQ=DAILY;UNTIL=20270301").unwrap(),
            )),
            time_zone: Some(Some(TimeZone::parse("time_zone", "Asia/Kolkata").unwrap())),
            completed: None,
            position: Some(todo_domain::Position::parse("Zz1").unwrap()),
            list: None,
            parent: None,
            assignee: None,
        };
        let next = edited(&original, &changes, at(20));
        assert_eq!(next.version, 2);
        assert!(
            tasks.replace(&next, 1, &any_edit()).await.unwrap(),
            "{}",
            t.backend
        );
        let read = tasks.read(&me, tid(1)).await.unwrap();
        assert_eq!(read, next, "{}", t.backend);
        assert_eq!(read.created_at, at(10), "the creation time is kept");

        // A writer that read version 1 is too late: nothing is written.
        let stale = edited(
            &original,
            &TaskChanges {
                title: Some(TaskTitle::parse("lost update").unwrap()),
                ..TaskChanges::default()
            },
            at(30),
        );
        assert!(
            !tasks.replace(&stale, 1, &any_edit()).await.unwrap(),
            "{}",
            t.backend
        );
        assert_eq!(tasks.read(&me, tid(1)).await.unwrap(), next);

        // Clearing every optional field, and completing, at the current version.
        let cleared = edited(
            &next,
            &TaskChanges {
                completed: Some(true),
                tags: Some(Tags::default()),
                due: Some(None),
                remind_at: Some(None),
                recurrence: Some(None),
                time_zone: Some(None),
                ..TaskChanges::default()
            },
            at(40),
        );
        assert!(tasks.replace(&cleared, 2, &any_edit()).await.unwrap());
        let read = tasks.read(&me, tid(1)).await.unwrap();
        assert_eq!(read, cleared, "{}", t.backend);
        assert_eq!((read.version, read.completed_at), (3, Some(at(40))));

        // No such task.
        let missing = Task {
            id: tid(2),
            ..cleared.clone()
        };
        assert!(!tasks.replace(&missing, 3, &any_edit()).await.unwrap());
        assert_eq!(count(&t).await, 1, "{}", t.backend);
    }
);

on_both!(
    toggling_stamps_completion_and_bumps_the_version,
    |t: Ctx| async move {
        let tasks = repos(&t).await;
        let mut original = task("alice", 1, "flip", at(10));
        original.priority = Some(Priority::Medium);
        original.tags = Tags::parse(&["x"]).unwrap();
        tasks.insert(&original, None).await.unwrap();
        let me = uid("alice");
        let on = tasks
            .toggle_completed(&me, tid(1), micros(11, 5), None)
            .await
            .unwrap()
            .unwrap();
        assert!(on.completed);
        assert_eq!(on.completed_at, Some(micros(11, 5)), "{}", t.backend);
        assert_eq!(on.updated_at, micros(11, 5));
        assert_eq!(on.version, 2);
        assert_eq!((on.priority, &on.tags), (original.priority, &original.tags));
        assert_eq!(tasks.read(&me, tid(1)).await.unwrap(), on);

        // With a stale version nothing changes.
        assert_eq!(
            tasks
                .toggle_completed(&me, tid(1), at(12), Some(1))
                .await
                .unwrap(),
            None,
            "{}",
            t.backend
        );
        assert_eq!(tasks.read(&me, tid(1)).await.unwrap(), on);

        let off = tasks
            .toggle_completed(&me, tid(1), at(13), Some(2))
            .await
            .unwrap()
            .unwrap();
        assert!(!off.completed, "{}", t.backend);
        assert_eq!(off.completed_at, None);
        assert_eq!(off.updated_at, at(13));
        assert_eq!(off.version, 3);
        assert_eq!(off.created_at, at(10));
        assert_eq!(tasks.read(&me, tid(1)).await.unwrap(), off);

        assert_eq!(
            tasks
                .toggle_completed(&me, tid(2), at(14), None)
                .await
                .unwrap(),
            None,
            "no such task"
        );
    }
);

on_both!(
    the_one_statement_toggle_is_the_domains_toggle,
    |t: Ctx| async move {
        // Every kind of task the statement may write: open and completed, with and without
        // optional fields, a completed repeating one (its series ended). Each row after the
        // SQL toggle must equal `Task::toggle` applied to the row read before it.
        let tasks = repos(&t).await;
        let me = uid("alice");
        let mut rich = task("alice", 2, "Rich", at(10));
        rich.description = TaskDescription::parse("with notes").unwrap();
        rich.priority = Some(Priority::High);
        rich.tags = Tags::parse(&["Work", "home"]).unwrap();
        rich.due = Some(Due::parse("2026-12-24T18:00:00Z").unwrap());
        let mut ended = recurring("alice", 3, "2026-12-02");
        ended.set_completed(true, at(12));
        let mut done = task("alice", 4, "Done", at(10));
        done.set_completed(true, micros(11, 7));
        for original in [task("alice", 1, "Plain", at(10)), rich, ended, done] {
            tasks.insert(&original, None).await.unwrap();
            for (step, now) in [micros(20, 1), micros(21, 2)].into_iter().enumerate() {
                let before = tasks.read(&me, original.id).await.unwrap();
                let Edited::Replaced(expected) = before.toggle(now, tid(99)) else {
                    // Reopened, a repeating task repeats again: the statement leaves it.
                    assert!(before.repeats() && step == 1, "{}", t.backend);
                    let left = tasks.toggle_completed(&me, original.id, now, None).await;
                    assert_eq!(left.unwrap(), None, "{}", t.backend);
                    continue;
                };
                let toggled = tasks
                    .toggle_completed(&me, original.id, now, Some(before.version))
                    .await
                    .unwrap()
                    .unwrap();
                assert_eq!(
                    toggled,
                    expected,
                    "{}: {} toggle {step}",
                    t.backend,
                    original.title.as_str()
                );
                assert_eq!(tasks.read(&me, original.id).await.unwrap(), expected);
            }
        }
        // A task that repeats is the domain's to complete: the statement leaves it alone.
        let repeating = recurring("alice", 5, "2026-12-02");
        tasks.insert(&repeating, None).await.unwrap();
        assert!(matches!(
            repeating.toggle(at(30), tid(99)),
            Edited::Recurred { .. }
        ));
        assert_eq!(
            tasks
                .toggle_completed(&me, repeating.id, at(30), None)
                .await
                .unwrap(),
            None,
            "{}",
            t.backend
        );
    }
);

on_both!(
    toggling_never_completes_an_open_recurring_task,
    |t: Ctx| async move {
        let tasks = repos(&t).await;
        let original = recurring("alice", 1, "2026-12-02");
        tasks.insert(&original, None).await.unwrap();
        let me = uid("alice");
        for expected in [None, Some(1)] {
            assert_eq!(
                tasks
                    .toggle_completed(&me, tid(1), at(20), expected)
                    .await
                    .unwrap(),
                None,
                "{}",
                t.backend
            );
        }
        assert_eq!(tasks.read(&me, tid(1)).await.unwrap(), original);

        // Once completed (its series ended), toggling reopens it, rule and all.
        let mut done = original.clone();
        done.set_completed(true, at(30));
        done.updated_at = at(30);
        done.version = 2;
        assert!(tasks.replace(&done, 1, &any_edit()).await.unwrap());
        let reopened = tasks
            .toggle_completed(&me, tid(1), at(40), Some(2))
            .await
            .unwrap()
            .unwrap();
        assert!(!reopened.completed, "{}", t.backend);
        assert_eq!(reopened.completed_at, None);
        assert_eq!(reopened.version, 3);
        assert_eq!(reopened.recurrence, original.recurrence);
        assert_eq!(reopened.due, original.due);
        // Open and recurring again: left alone.
        assert_eq!(
            tasks
                .toggle_completed(&me, tid(1), at(50), None)
                .await
                .unwrap(),
            None
        );
    }
);

on_both!(
    completing_an_occurrence_records_it_and_moves_on_atomically,
    |t: Ctx| async move {
        let tasks = repos(&t).await;
        let mut original = recurring("alice", 1, "2026-12-02");
        original.remind_at = Some(micros(1_796_000_000, 42));
        original.tags = Tags::parse(&["garden"]).unwrap();
        tasks.insert(&original, None).await.unwrap();
        let me = uid("alice");

        let Edited::Recurred { finished, next } = original.complete(at(100), tid(2)) else {
            panic!("a recurring task moves on");
        };
        assert!(
            tasks
                .complete_occurrence(&finished, &next, original.version, &any_edit())
                .await
                .unwrap(),
            "{}",
            t.backend
        );
        assert_eq!(count(&t).await, 2);
        assert_eq!(tasks.read(&me, tid(2)).await.unwrap(), finished);
        let moved = tasks.read(&me, tid(1)).await.unwrap();
        assert_eq!(moved, next, "{}", t.backend);
        assert_eq!(moved.due, Some(Due::parse("2026-12-07").unwrap()));
        assert_eq!((moved.occurrences_done, moved.version), (1, 2));

        // A second completion from the same stale read writes nothing at all.
        let Edited::Recurred {
            finished: again,
            next: again_next,
        } = original.complete(at(110), tid(3))
        else {
            panic!()
        };
        assert!(
            !tasks
                .complete_occurrence(&again, &again_next, original.version, &any_edit())
                .await
                .unwrap(),
            "{}",
            t.backend
        );
        assert_eq!(
            count(&t).await,
            2,
            "{}: no finished task inserted",
            t.backend
        );
        assert_eq!(tasks.read(&me, tid(3)).await, None);
        assert_eq!(tasks.read(&me, tid(1)).await.unwrap(), next);

        // When the finished task cannot be inserted, the original does not move either.
        let Edited::Recurred {
            finished: clash,
            next: clash_next,
        } = next.complete(at(120), tid(2))
        else {
            panic!()
        };
        let err = tasks
            .complete_occurrence(&clash, &clash_next, next.version, &any_edit())
            .await
            .unwrap_err();
        assert!(
            matches!(err, PortError::Conflict(_)),
            "{}: {err:?}",
            t.backend
        );
        assert_eq!(
            tasks.read(&me, tid(1)).await.unwrap(),
            next,
            "{}: rolled back",
            t.backend
        );
        assert_eq!(count(&t).await, 2);
        // The connection is usable afterwards.
        let Edited::Recurred {
            finished: third,
            next: third_next,
        } = next.complete(at(130), tid(4))
        else {
            panic!()
        };
        assert!(
            tasks
                .complete_occurrence(&third, &third_next, next.version, &any_edit())
                .await
                .unwrap()
        );
        assert_eq!(count(&t).await, 3, "{}", t.backend);
    }
);

on_both!(deleting_removes_exactly_one_task, |t: Ctx| async move {
    let tasks = repos(&t).await;
    tasks
        .insert(&task("alice", 1, "go", at(10)), None)
        .await
        .unwrap();
    tasks
        .insert(&task("alice", 2, "stay", at(11)), None)
        .await
        .unwrap();
    let me = uid("alice");
    assert!(tasks.delete(&me, tid(1), None, at(99)).await.unwrap());
    assert!(!tasks.delete(&me, tid(1), None, at(99)).await.unwrap());
    assert_eq!(tasks.read(&me, tid(1)).await, None);
    assert!(tasks.read(&me, tid(2)).await.is_some(), "{}", t.backend);
});

on_both!(a_stale_delete_keeps_the_task, |t: Ctx| async move {
    let tasks = repos(&t).await;
    let mut kept = task("alice", 1, "keep", at(10));
    kept.version = 5;
    tasks.insert(&kept, None).await.unwrap();
    let me = uid("alice");
    assert!(!tasks.delete(&me, tid(1), Some(4), at(99)).await.unwrap());
    assert_eq!(tasks.read(&me, tid(1)).await, Some(kept), "{}", t.backend);
    assert!(tasks.delete(&me, tid(1), Some(5), at(99)).await.unwrap());
    assert_eq!(count(&t).await, 0, "{}", t.backend);
});

/// Alice's task `n` at `position`, stored.
async fn placed(tasks: &SeaTaskRepository, n: u128, position: &str) -> Task {
    let mut t = task("alice", n, &format!("task {n}"), at(10));
    t.position = todo_domain::Position::parse(position).unwrap();
    tasks.insert(&t, None).await.unwrap();
    t
}

fn gap(low: Option<&str>, high: Option<&str>) -> todo_domain::Gap {
    let position = |p: &str| todo_domain::Position::parse(p).unwrap();
    todo_domain::Gap {
        low: low.map(position),
        high: high.map(position),
    }
}

/// `t` moved into `gap` at the position the gap gives, written if the gap is still empty.
async fn move_into(tasks: &SeaTaskRepository, t: &Task, gap: &todo_domain::Gap) -> bool {
    let moved = t.moved(gap.position().unwrap(), at(20));
    tasks
        .move_into(&moved, t.version, gap, &any_edit())
        .await
        .unwrap()
}

async fn position_of(tasks: &SeaTaskRepository, owner: &str, n: u128) -> String {
    let t = tasks.read(&uid(owner), tid(n)).await.unwrap();
    t.position.as_str().to_owned()
}

on_both!(
    a_move_is_written_only_while_its_gap_is_empty,
    |t: Ctx| async move {
        let tasks = repos(&t).await;
        let _a = placed(&tasks, 1, "V").await;
        let _b = placed(&tasks, 2, "k").await;
        let m = placed(&tasks, 3, "x").await;
        let n = placed(&tasks, 4, "y").await;
        // Bob's tasks are no neighbours of Alice's.
        let mut bobs = task("bob", 9, "bob's", at(10));
        bobs.position = todo_domain::Position::parse("c").unwrap();
        tasks.insert(&bobs, None).await.unwrap();

        assert!(move_into(&tasks, &m, &gap(Some("V"), Some("k"))).await);
        assert_eq!(position_of(&tasks, "alice", 3).await, "c");
        // The same gap is no longer empty: n stays where it was.
        assert!(!move_into(&tasks, &n, &gap(Some("V"), Some("k"))).await);
        assert_eq!(position_of(&tasks, "alice", 4).await, "y");
        // Between the new neighbours it fits.
        assert!(
            move_into(&tasks, &n, &gap(Some("V"), Some("c"))).await,
            "{}",
            t.backend
        );
        assert_eq!(position_of(&tasks, "alice", 4).await, "Y");
        // The moving task itself does not fill its gap; a stale version writes nothing.
        let m = tasks.read(&uid("alice"), tid(3)).await.unwrap();
        let stale = Task {
            version: m.version - 1,
            ..m.clone()
        };
        assert!(!move_into(&tasks, &stale, &gap(Some("Y"), Some("k"))).await);
        assert!(move_into(&tasks, &m, &gap(Some("Y"), Some("k"))).await);
        assert_eq!(position_of(&tasks, "alice", 3).await, "e");
        // Open ends: nothing below the first, nothing above the last.
        let first = tasks.read(&uid("alice"), tid(1)).await.unwrap();
        assert!(!move_into(&tasks, &first, &gap(None, Some("c"))).await);
        assert!(move_into(&tasks, &first, &gap(Some("k"), None)).await);
        assert_eq!(position_of(&tasks, "alice", 1).await, "l");
        assert_eq!(position_of(&tasks, "bob", 9).await, "c");
        // A row an older version wrote without a position fills no gap.
        placed(&tasks, 5, "z").await;
        t.db.execute_unprepared("UPDATE task SET position = '' WHERE title = 'task 5'")
            .await
            .unwrap();
        let second = tasks.read(&uid("alice"), tid(2)).await.unwrap();
        assert!(move_into(&tasks, &second, &gap(None, Some("Y"))).await);
        assert_eq!(position_of(&tasks, "alice", 2).await, "X");
    }
);

on_both!(
    concurrent_moves_into_one_gap_write_once,
    |t: Ctx| async move {
        const MOVERS: u128 = 20;
        let tasks = std::sync::Arc::new(repos(&t).await);
        placed(&tasks, 1, "V").await;
        placed(&tasks, 2, "k").await;
        let mut movers = Vec::new();
        for n in 0..MOVERS {
            movers.push(placed(&tasks, 10 + n, &format!("x{n}V")).await);
        }
        // All read the same neighbours and go for the same place, at once.
        let mut racers = tokio::task::JoinSet::new();
        for mover in movers {
            let tasks = tasks.clone();
            racers
                .spawn(async move { move_into(&tasks, &mover, &gap(Some("V"), Some("k"))).await });
        }
        let mut written = 0;
        while let Some(outcome) = racers.join_next().await {
            if outcome.unwrap() {
                written += 1;
            }
        }
        assert_eq!(written, 1, "{}: one move wins the place", t.backend);
        let mut at_c = 0;
        for n in 0..MOVERS {
            if position_of(&tasks, "alice", 10 + n).await == "c" {
                at_c += 1;
            }
        }
        assert_eq!(at_c, 1, "{}", t.backend);
    }
);
