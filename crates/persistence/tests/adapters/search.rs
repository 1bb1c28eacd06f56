//! `TaskRepository::search`: filters, sorts and keyset pages, on both backends.

use std::cmp::Ordering;

use todo_application::ports::TaskRepository;
use todo_domain::{
    Due, DueWindow, ListCursor, Priority, SearchText, Sort, SortKey, SortValue, Status, Tag, Tags,
    Task, TaskDescription, TaskFilter, TaskId, TaskQuery, TimeZone, Timestamp,
};
use todo_persistence::SeaTaskRepository;

use crate::harness::*;

async fn repos(t: &Ctx) -> SeaTaskRepository {
    users_with_inboxes(&t.db, &[("alice", 1), ("bob", 2)]).await;
    SeaTaskRepository::new(t.db.clone())
}

fn ts(rfc3339: &str) -> Timestamp {
    chrono::DateTime::parse_from_rfc3339(rfc3339)
        .unwrap()
        .to_utc()
}

fn due(raw: &str) -> Option<Due> {
    Some(Due::parse(raw).unwrap())
}

fn tags(raw: &[&str]) -> Vec<Tag> {
    raw.iter().map(|r| Tag::parse(r).unwrap()).collect()
}

fn text(q: &str) -> Option<SearchText> {
    Some(SearchText::parse(q).unwrap())
}

fn number(id: TaskId) -> u128 {
    id.as_uuid().as_u128()
}

fn query(filter: TaskFilter, sort: &str, window: DueWindow) -> TaskQuery {
    TaskQuery {
        filter,
        sort: Sort::parse(sort).unwrap(),
        window,
    }
}

/// Every task `query` finds for alice, in one page, as task numbers. Nothing of bob's.
async fn found(tasks: &SeaTaskRepository, query: &TaskQuery) -> Vec<u128> {
    let rows = tasks
        .search(&uid("alice"), query, 1000, None)
        .await
        .unwrap();
    assert!(rows.iter().all(|t| t.owner == uid("alice")), "{rows:?}");
    rows.iter().map(|t| number(t.id)).collect()
}

/// Every task `query` finds for alice, `limit` at a time, as task numbers.
async fn paged(tasks: &SeaTaskRepository, query: &TaskQuery, limit: u32) -> Vec<u128> {
    let mut seen = Vec::new();
    let mut after = None;
    loop {
        let page = tasks
            .search(&uid("alice"), query, limit, after)
            .await
            .unwrap();
        assert!(page.len() <= limit as usize);
        let Some(last) = page.last() else {
            return seen;
        };
        after = Some(ListCursor::after(last, query.sort));
        seen.extend(page.iter().map(|t| number(t.id)));
    }
}

/// Alice's tasks for the filter tests, and a copy of each for bob (numbers + 100) that
/// must never show.
async fn filter_fixture(tasks: &SeaTaskRepository) -> Timestamp {
    let now = ts("2027-01-15T08:00:00Z");
    let mut all = Vec::new();

    let mut t = task("alice", 1, "ÄPFEL kaufen", at(1));
    t.description = TaskDescription::parse("im Laden").unwrap();
    t.tags = Tags::parse(&["Einkauf", "Küche"]).unwrap();
    t.priority = Some(Priority::High);
    t.due = due("2027-01-14"); // yesterday: overdue
    all.push(t);

    let mut t = task("alice", 2, "Report", at(2));
    t.description = TaskDescription::parse("Quarterly numbers on äpfel").unwrap();
    t.tags = Tags::parse(&["work"]).unwrap();
    t.priority = Some(Priority::Medium);
    t.due = due("2027-01-15T07:00:00Z"); // an hour ago: overdue
    all.push(t);

    let mut t = task("alice", 3, "100% done_ish", at(3));
    t.description = TaskDescription::parse(r"saved to C:\temp").unwrap();
    t.tags = Tags::parse(&["Work-Log"]).unwrap();
    t.priority = Some(Priority::Low);
    t.set_completed(true, at(30));
    all.push(t);

    let mut t = task("alice", 4, "Call mom", at(4));
    t.tags = Tags::parse(&["home"]).unwrap();
    t.due = due("2027-01-15"); // today
    all.push(t);

    let mut t = task("alice", 5, "Dentist", at(5));
    t.priority = Some(Priority::High);
    t.due = due("2027-01-15T15:00:00Z"); // later today
    t.set_completed(true, at(31));
    all.push(t);

    let mut t = task("alice", 6, "Flexible 1000 plan", at(6));
    t.updated_at = at(100);
    all.push(t);

    let mut t = task("alice", 7, "Workshop", at(7));
    t.tags = Tags::parse(&["homework", "workshop"]).unwrap();
    all.push(t);

    for t in all {
        let mut theirs = t.clone();
        theirs.owner = uid("bob");
        theirs.list = inbox("bob");
        theirs.id = tid(number(t.id) + 100);
        tasks.insert(&t, None).await.unwrap();
        tasks.insert(&theirs, None).await.unwrap();
    }
    now
}

on_both!(every_filter_alone_and_combined, |t: Ctx| async move {
    let tasks = repos(&t).await;
    let now = filter_fixture(&tasks).await;
    let window = DueWindow::at(now, TimeZone::UTC);
    let cases: Vec<(&str, TaskFilter, Vec<u128>)> = vec![
        (
            "everything",
            TaskFilter::default(),
            vec![1, 2, 3, 4, 5, 6, 7],
        ),
        (
            "pending",
            TaskFilter {
                status: Status::Pending,
                ..TaskFilter::default()
            },
            vec![1, 2, 4, 6, 7],
        ),
        (
            "completed",
            TaskFilter {
                status: Status::Completed,
                ..TaskFilter::default()
            },
            vec![3, 5],
        ),
        (
            "high",
            TaskFilter {
                priorities: vec![Priority::High],
                ..TaskFilter::default()
            },
            vec![1, 5],
        ),
        (
            "low or medium",
            TaskFilter {
                priorities: vec![Priority::Low, Priority::Medium],
                ..TaskFilter::default()
            },
            vec![2, 3],
        ),
        (
            "tag work: not workshop, homework or work-log",
            TaskFilter {
                tags: tags(&["work"]),
                ..TaskFilter::default()
            },
            vec![2],
        ),
        (
            "tag in another case",
            TaskFilter {
                tags: tags(&["WORK"]),
                ..TaskFilter::default()
            },
            vec![2],
        ),
        (
            "a tag beyond ASCII, in another case",
            TaskFilter {
                tags: tags(&["KÜCHE"]),
                ..TaskFilter::default()
            },
            vec![1],
        ),
        (
            "both tags",
            TaskFilter {
                tags: tags(&["küche", "EINKAUF"]),
                ..TaskFilter::default()
            },
            vec![1],
        ),
        (
            "all tags must match",
            TaskFilter {
                tags: tags(&["küche", "work"]),
                ..TaskFilter::default()
            },
            vec![],
        ),
        (
            "a prefix of a tag is not the tag",
            TaskFilter {
                tags: tags(&["hom"]),
                ..TaskFilter::default()
            },
            vec![],
        ),
        (
            "a tag with a LIKE wildcard",
            TaskFilter {
                tags: tags(&["work_log"]),
                ..TaskFilter::default()
            },
            vec![],
        ),
        (
            "q beyond ASCII in title and description",
            TaskFilter {
                text: text("ÄPFEL"),
                ..TaskFilter::default()
            },
            vec![1, 2],
        ),
        (
            "q in lower case",
            TaskFilter {
                text: text("äpfel"),
                ..TaskFilter::default()
            },
            vec![1, 2],
        ),
        (
            "q in the description only",
            TaskFilter {
                text: text("QUARTERLY"),
                ..TaskFilter::default()
            },
            vec![2],
        ),
        (
            "q with a literal %",
            TaskFilter {
                text: text("100%"),
                ..TaskFilter::default()
            },
            vec![3],
        ),
        (
            "q that is only %",
            TaskFilter {
                text: text("%"),
                ..TaskFilter::default()
            },
            vec![3],
        ),
        (
            "q with a literal _",
            TaskFilter {
                text: text("e_i"),
                ..TaskFilter::default()
            },
            vec![3],
        ),
        (
            "q with a backslash",
            TaskFilter {
                text: text(r"C:\TEMP"),
                ..TaskFilter::default()
            },
            vec![3],
        ),
        (
            "q spanning title and description does not match",
            TaskFilter {
                text: text("kaufen im"),
                ..TaskFilter::default()
            },
            vec![],
        ),
        (
            "due before now",
            TaskFilter {
                due_before: Some(now),
                ..TaskFilter::default()
            },
            vec![1, 2, 4],
        ),
        (
            "due from now",
            TaskFilter {
                due_after: Some(now),
                ..TaskFilter::default()
            },
            vec![5],
        ),
        (
            "due in a range",
            TaskFilter {
                due_after: Some(ts("2027-01-15T00:00:00Z")),
                due_before: Some(ts("2027-01-15T12:00:00Z")),
                ..TaskFilter::default()
            },
            vec![2, 4],
        ),
        (
            "overdue (UTC)",
            TaskFilter {
                overdue: true,
                ..TaskFilter::default()
            },
            vec![1, 2],
        ),
        (
            "due today (UTC)",
            TaskFilter {
                due_today: true,
                ..TaskFilter::default()
            },
            vec![2, 4, 5],
        ),
        (
            "updated since",
            TaskFilter {
                updated_since: Some(at(50)),
                ..TaskFilter::default()
            },
            vec![6],
        ),
        (
            "updated since, inclusive",
            TaskFilter {
                updated_since: Some(at(7)),
                ..TaskFilter::default()
            },
            vec![6, 7],
        ),
        (
            "pending, tagged work, about äpfel",
            TaskFilter {
                status: Status::Pending,
                tags: tags(&["Work"]),
                text: text("Äpfel"),
                ..TaskFilter::default()
            },
            vec![2],
        ),
        (
            "completed and high",
            TaskFilter {
                status: Status::Completed,
                priorities: vec![Priority::High],
                ..TaskFilter::default()
            },
            vec![5],
        ),
        (
            "high, due before now, overdue",
            TaskFilter {
                priorities: vec![Priority::High, Priority::Low],
                due_before: Some(now),
                overdue: true,
                ..TaskFilter::default()
            },
            vec![1],
        ),
        (
            "overdue and due today",
            TaskFilter {
                overdue: true,
                due_today: true,
                ..TaskFilter::default()
            },
            vec![2],
        ),
        (
            "every condition at once",
            TaskFilter {
                status: Status::Pending,
                priorities: vec![Priority::Medium],
                tags: tags(&["work"]),
                text: text("report"),
                due_before: Some(now),
                due_after: Some(at(0)),
                overdue: true,
                due_today: true,
                updated_since: Some(at(0)),
                list: Some(inbox("alice")),
                parent: Some(None),
                assignee: None,
                archived: true,
            },
            vec![2],
        ),
    ];
    for (what, filter, expected) in cases {
        let q = query(filter, "created_at", window);
        assert_eq!(found(&tasks, &q).await, expected, "{}: {what}", t.backend);
    }
    // Bob sees his own copies, never alice's.
    let rows = tasks
        .search(
            &uid("bob"),
            &query(TaskFilter::default(), "-title", window),
            100,
            None,
        )
        .await
        .unwrap();
    assert_eq!(rows.len(), 7, "{}", t.backend);
    assert!(
        rows.iter()
            .all(|r| r.owner == uid("bob") && number(r.id) > 100)
    );
    let nobody = tasks
        .search(
            &uid("carol"),
            &query(TaskFilter::default(), "created_at", window),
            100,
            None,
        )
        .await
        .unwrap();
    assert!(nobody.is_empty());
});

on_both!(
    overdue_and_due_today_follow_the_callers_zone,
    |t: Ctx| async move {
        let tasks = repos(&t).await;
        // 23:30 UTC on Dec 1 is 08:30 on Dec 2 in Tokyo.
        let now = ts("2026-12-01T23:30:00Z");
        let plan: [(u128, Option<Due>, bool); 10] = [
            (1, due("2026-12-01"), false),               // yesterday in Tokyo
            (2, due("2026-12-02"), false),               // today in Tokyo
            (3, due("2026-12-03"), false),               // tomorrow
            (4, due("2026-12-01T16:00:00Z"), false),     // 01:00 today in Tokyo, past
            (5, due("2026-12-02T10:00:00Z"), false),     // 19:00 today in Tokyo, to come
            (6, due("2026-12-01T14:00:00Z"), false),     // 23:00 yesterday in Tokyo
            (7, due("2026-12-02T15:00:00Z"), false),     // midnight tomorrow in Tokyo
            (8, due("2026-11-30"), true),                // long past, but done
            (9, due("2026-12-02T01:00:00+09:00"), true), // today in Tokyo, done
            (10, None, false),
        ];
        for (n, when, done) in plan {
            let mut mine = task("alice", n, &format!("t{n}"), at(i64::try_from(n).unwrap()));
            mine.due = when;
            if done {
                mine.set_completed(true, at(20));
            }
            tasks.insert(&mine, None).await.unwrap();
            let mut theirs = mine.clone();
            theirs.owner = uid("bob");
            theirs.list = inbox("bob");
            theirs.id = tid(n + 100);
            tasks.insert(&theirs, None).await.unwrap();
        }
        let tokyo = DueWindow::at(now, TimeZone::parse("tz", "Asia/Tokyo").unwrap());
        let utc = DueWindow::at(now, TimeZone::UTC);
        let overdue = TaskFilter {
            overdue: true,
            ..TaskFilter::default()
        };
        let today = TaskFilter {
            due_today: true,
            ..TaskFilter::default()
        };
        let both = TaskFilter {
            overdue: true,
            due_today: true,
            ..TaskFilter::default()
        };
        for (what, filter, window, expected) in [
            ("overdue in Tokyo", &overdue, tokyo, vec![1, 4, 6]),
            ("due today in Tokyo", &today, tokyo, vec![2, 4, 5, 9]),
            ("both in Tokyo", &both, tokyo, vec![4]),
            ("overdue in UTC", &overdue, utc, vec![4, 6]),
            ("due today in UTC", &today, utc, vec![1, 4, 6, 9]),
        ] {
            let q = query(filter.clone(), "due", window);
            let mut ids = found(&tasks, &q).await;
            ids.sort_unstable();
            assert_eq!(ids, expected, "{}: {what}", t.backend);
        }
    }
);

/// Tasks with ties and gaps in every sort key.
async fn sort_fixture(tasks: &SeaTaskRepository) {
    let d1 = due("2026-12-01T08:00:00Z");
    let d2_date = due("2026-12-02");
    let d2_instant = due("2026-12-02T00:00:00Z"); // the same sort value as the date
    let d3 = due("2026-12-03T00:00:00.000001Z");
    let plan = [
        // n, created, updated, due, priority, title, position
        (1, 10, 50, d2_date, Some(Priority::Low), "banana", "a"),
        (2, 10, 40, None, None, "Apple", "V"),
        (3, 20, 40, d2_instant, Some(Priority::High), "apple", "aV"),
        (4, 5, 60, d1, Some(Priority::Low), "Äpfel", "z"),
        (5, 20, 30, None, Some(Priority::High), "cherry", "1"),
        (6, 15, 50, d3, None, "BANANA", "V1"),
    ];
    for (n, created, updated, when, priority, title, position) in plan {
        let mut t = task("alice", n, title, at(created));
        t.position = todo_domain::Position::parse(position).unwrap();
        t.updated_at = at(updated);
        t.due = when;
        t.priority = priority;
        tasks.insert(&t, None).await.unwrap();
        // Bob's task sorts first everywhere: it must not show.
        let mut theirs = task("bob", n + 100, "aaa", at(0));
        theirs.due = due("2000-01-01");
        theirs.priority = Some(Priority::Low);
        tasks.insert(&theirs, None).await.unwrap();
    }
}

on_both!(every_sort_in_both_directions, |t: Ctx| async move {
    let tasks = repos(&t).await;
    sort_fixture(&tasks).await;
    let window = DueWindow::at(at(0), TimeZone::UTC);
    for (sort, expected) in [
        ("created_at", [4, 1, 2, 6, 3, 5]),
        ("-created_at", [5, 3, 6, 2, 1, 4]),
        ("updated_at", [5, 2, 3, 1, 6, 4]),
        ("-updated_at", [4, 6, 1, 3, 2, 5]),
        // No due date last, both ways; a date ties with the instant at its midnight UTC.
        ("due", [4, 1, 3, 6, 2, 5]),
        ("-due", [6, 3, 1, 4, 5, 2]),
        // No priority last, both ways.
        ("priority", [1, 4, 3, 5, 2, 6]),
        ("-priority", [5, 3, 4, 1, 6, 2]),
        // Ignoring case; by code point ("ä" after "z").
        ("title", [2, 3, 1, 6, 5, 4]),
        ("-title", [4, 5, 6, 1, 3, 2]),
        // Byte by byte (digits, then upper case, then lower case), whatever the locale.
        ("position", [5, 2, 6, 1, 3, 4]),
        ("-position", [4, 3, 1, 6, 2, 5]),
    ] {
        let q = query(TaskFilter::default(), sort, window);
        assert_eq!(found(&tasks, &q).await, expected, "{}: {sort}", t.backend);
        for limit in [1, 2, 4] {
            assert_eq!(
                paged(&tasks, &q, limit).await,
                expected,
                "{}: {sort}, {limit} at a time",
                t.backend
            );
        }
    }
    // Filtered and sorted at once.
    let high_or_low_due_soon = query(
        TaskFilter {
            priorities: vec![Priority::High, Priority::Low],
            due_before: Some(ts("2026-12-02T12:00:00Z")),
            ..TaskFilter::default()
        },
        "-due",
        window,
    );
    assert_eq!(found(&tasks, &high_or_low_due_soon).await, [3, 1, 4]);
    assert_eq!(paged(&tasks, &high_or_low_due_soon, 1).await, [3, 1, 4]);
});

on_both!(the_keys_follow_every_write, |t: Ctx| async move {
    let tasks = repos(&t).await;
    let window = DueWindow::at(at(0), TimeZone::UTC);
    let by = |filter: TaskFilter| query(filter, "title", window);
    let about = |q: &str| {
        by(TaskFilter {
            text: text(q),
            ..TaskFilter::default()
        })
    };
    let tagged = |tag: &str| {
        by(TaskFilter {
            tags: tags(&[tag]),
            ..TaskFilter::default()
        })
    };
    let mut milk = task("alice", 1, "Milk", at(1));
    milk.tags = Tags::parse(&["shop"]).unwrap();
    tasks.insert(&milk, None).await.unwrap();
    tasks
        .insert(&task("alice", 2, "Kale", at(2)), None)
        .await
        .unwrap();
    assert_eq!(found(&tasks, &about("MILK")).await, [1], "{}", t.backend);
    assert_eq!(found(&tasks, &by(TaskFilter::default())).await, [2, 1]);

    // A full replace rewrites them.
    let mut apples = milk.clone();
    apples.title = todo_domain::TaskTitle::parse("ÄPFEL").unwrap();
    apples.description = TaskDescription::parse("Boskoop").unwrap();
    apples.tags = Tags::parse(&["Küche"]).unwrap();
    apples.due = due("2026-12-02");
    apples.recurrence = Some(todo_domain::Recurrence::parse("FREQ=DAILY").unwrap());
    apples.version = 2;
    assert!(tasks.replace(&apples, 1, &any_edit()).await.unwrap());
    assert!(
        found(&tasks, &about("milk")).await.is_empty(),
        "{}",
        t.backend
    );
    assert!(found(&tasks, &tagged("shop")).await.is_empty());
    assert_eq!(found(&tasks, &about("äpfel")).await, [1], "{}", t.backend);
    assert_eq!(found(&tasks, &about("boskoop")).await, [1]);
    assert_eq!(found(&tasks, &tagged("KÜCHE")).await, [1]);
    assert_eq!(found(&tasks, &by(TaskFilter::default())).await, [2, 1]);

    // Completing an occurrence inserts the finished one and moves the task on: both are
    // found as they are.
    let todo_domain::Edited::Recurred { finished, next } = apples.complete(at(10), tid(3)) else {
        panic!("a recurring task moves on");
    };
    assert!(
        tasks
            .complete_occurrence(&finished, &next, 2, &any_edit())
            .await
            .unwrap()
    );
    assert_eq!(
        found(&tasks, &about("ÄPFEL")).await,
        [1, 3],
        "{}",
        t.backend
    );
    assert_eq!(found(&tasks, &tagged("küche")).await, [1, 3]);

    // Toggling changes none of them.
    tasks
        .toggle_completed(&uid("alice"), tid(3), at(11), None)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        found(&tasks, &about("äpfel")).await,
        [1, 3],
        "{}",
        t.backend
    );
});

on_both!(a_cursor_of_another_sort_is_refused, |t: Ctx| async move {
    let tasks = repos(&t).await;
    let q = query(
        TaskFilter::default(),
        "due",
        DueWindow::at(at(0), TimeZone::UTC),
    );
    let cursor = ListCursor {
        value: SortValue::Text("x".to_owned()),
        id: tid(1),
    };
    assert!(
        tasks
            .search(&uid("alice"), &q, 10, Some(cursor))
            .await
            .is_err(),
        "{}",
        t.backend
    );
});

/// xorshift64*: deterministic, good enough to shuffle test data.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }

    /// Uniform enough in `0..n`.
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }

    fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[usize::try_from(self.below(items.len() as u64)).unwrap()]
    }
}

const WORDS: [&str; 6] = ["Äpfel", "äpfel", "Bananen", "milk", "Milch", "zebra"];
const TAGS: [&str; 5] = ["work", "Work", "workshop", "home", "KÜCHE"];

fn random_id(rng: &mut Rng) -> TaskId {
    TaskId::from_uuid(uuid::Uuid::from_u128(
        u128::from(rng.next()) << 64 | u128::from(rng.next()),
    ))
}

/// A task with values drawn from small sets, so that sort values tie often.
fn random_task(rng: &mut Rng, owner: &str) -> Task {
    let id = random_id(rng);
    let title = format!("{} {}", rng.pick(&WORDS), rng.below(3));
    let mut t = task(owner, 0, &title, at(i64::try_from(rng.below(8)).unwrap()));
    t.id = id;
    t.updated_at = t.created_at + chrono::TimeDelta::seconds(i64::try_from(rng.below(3)).unwrap());
    if rng.below(2) == 0 {
        t.description =
            TaskDescription::parse(&format!("about {}", rng.pick(&WORDS).to_uppercase())).unwrap();
    }
    t.priority = match rng.below(4) {
        0 => None,
        1 => Some(Priority::Low),
        2 => Some(Priority::Medium),
        _ => Some(Priority::High),
    };
    let picked: Vec<&str> = (0..rng.below(3)).map(|_| *rng.pick(&TAGS)).collect();
    t.tags = Tags::parse(&picked).unwrap();
    t.due = match rng.below(4) {
        0 => None,
        1 => due(&format!("2026-12-0{}", 1 + rng.below(3))),
        _ => due(&format!("2026-12-0{}T00:00:00Z", 1 + rng.below(3))),
    };
    if rng.below(3) == 0 {
        t.set_completed(true, t.updated_at);
    }
    t
}

/// What the store should find, decided in Rust.
fn matches(t: &Task, f: &TaskFilter) -> bool {
    let due_at = t.due.map(|d| d.starts_at_utc());
    let text = format!(
        "{}\n{}",
        t.title.as_str(),
        t.description.as_ref().map_or("", |d| d.as_str())
    )
    .to_lowercase();
    (match f.status {
        Status::All => true,
        Status::Pending => !t.completed,
        Status::Completed => t.completed,
    }) && (f.priorities.is_empty() || t.priority.is_some_and(|p| f.priorities.contains(&p)))
        && f.tags.iter().all(|tag| t.tags.contains(tag))
        && f.text.as_ref().is_none_or(|q| text.contains(&q.folded()))
        && f.due_before.is_none_or(|b| due_at.is_some_and(|d| d < b))
        && f.due_after.is_none_or(|a| due_at.is_some_and(|d| d >= a))
        && f.updated_since.is_none_or(|s| t.updated_at >= s)
}

/// A sort value as something `Ord` (`None`: no value).
#[derive(PartialEq, Eq, PartialOrd, Ord)]
enum Key {
    Instant(Timestamp),
    Rank(i16),
    Text(String),
}

fn key(t: &Task, sort: SortKey) -> Option<Key> {
    match SortValue::of(t, sort) {
        SortValue::Instant(at) => at.map(Key::Instant),
        SortValue::Rank(rank) => rank.map(Key::Rank),
        SortValue::Text(text) => Some(Key::Text(text)),
    }
}

/// The order `sort` puts `a` and `b` in: by value (none last, both ways), then by id.
fn order(a: &Task, b: &Task, sort: Sort) -> Ordering {
    let directed = |o: Ordering| if sort.descending { o.reverse() } else { o };
    let by_value = match (key(a, sort.key), key(b, sort.key)) {
        (None, None) => Ordering::Equal,
        (None, Some(_)) => Ordering::Greater,
        (Some(_), None) => Ordering::Less,
        (Some(x), Some(y)) => directed(x.cmp(&y)),
    };
    by_value.then_with(|| directed(a.id.cmp(&b.id)))
}

// Paging through a list while tasks are added between pages: every task that matched
// before paging started shows exactly once, nothing shows twice, nothing that does not
// match shows, and the pages are in order.
on_both!(
    pages_hold_every_task_once_while_tasks_are_added,
    |t: Ctx| async move {
        let tasks = repos(&t).await;
        let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
        let mut alices: Vec<Task> = Vec::new();
        for i in 0..60 {
            let owner = if i % 4 == 3 { "bob" } else { "alice" };
            let task = random_task(&mut rng, owner);
            tasks.insert(&task, None).await.unwrap();
            if owner == "alice" {
                alices.push(task);
            }
        }
        let window = DueWindow::at(ts("2026-12-02T12:00:00Z"), TimeZone::UTC);
        let combinations: Vec<(TaskFilter, &str)> = vec![
            (TaskFilter::default(), "created_at"),
            (TaskFilter::default(), "title"),
            (TaskFilter::default(), "-position"),
            (
                TaskFilter {
                    status: Status::Pending,
                    ..TaskFilter::default()
                },
                "-due",
            ),
            (
                TaskFilter {
                    tags: tags(&["WORK"]),
                    ..TaskFilter::default()
                },
                "priority",
            ),
            (
                TaskFilter {
                    text: text("ÄPFEL"),
                    ..TaskFilter::default()
                },
                "-title",
            ),
            (
                TaskFilter {
                    priorities: vec![Priority::High, Priority::Low],
                    ..TaskFilter::default()
                },
                "-updated_at",
            ),
            (
                TaskFilter {
                    due_before: Some(ts("2026-12-03T00:00:00Z")),
                    ..TaskFilter::default()
                },
                "due",
            ),
            (
                TaskFilter {
                    status: Status::Completed,
                    updated_since: Some(at(3)),
                    ..TaskFilter::default()
                },
                "-priority",
            ),
            (
                TaskFilter {
                    status: Status::Pending,
                    tags: tags(&["home"]),
                    ..TaskFilter::default()
                },
                "-created_at",
            ),
        ];
        for (filter, sort) in combinations {
            let q = query(filter.clone(), sort, window);
            for limit in [1_u32, 2, 3] {
                let before: Vec<TaskId> = alices
                    .iter()
                    .filter(|task| matches(task, &filter))
                    .map(|task| task.id)
                    .collect();
                let mut seen: Vec<Task> = Vec::new();
                let mut after = None;
                for pages in 0.. {
                    let page = tasks
                        .search(&uid("alice"), &q, limit, after.clone())
                        .await
                        .unwrap();
                    assert!(page.len() <= limit as usize);
                    let Some(last) = page.last() else { break };
                    after = Some(ListCursor::after(last, q.sort));
                    seen.extend(page);
                    if pages >= 6 {
                        // Enough: let the list run out.
                        continue;
                    }
                    // Others write meanwhile: a copy of a task already seen (the same sort
                    // value, another id: it may land before or after the cursor), a new
                    // random task of alice's and one of bob's.
                    let mut copy = seen[rng.below(seen.len() as u64) as usize].clone();
                    copy.id = random_id(&mut rng);
                    let fresh = random_task(&mut rng, "alice");
                    for added in [copy, fresh] {
                        tasks.insert(&added, None).await.unwrap();
                        alices.push(added);
                    }
                    tasks
                        .insert(&random_task(&mut rng, "bob"), None)
                        .await
                        .unwrap();
                }
                let what = format!("{}: {filter:?} by {sort}, {limit} at a time", t.backend);
                // Strictly in order, hence no task twice.
                for pair in seen.windows(2) {
                    assert_eq!(
                        order(&pair[0], &pair[1], q.sort),
                        Ordering::Less,
                        "{what}: out of order: {:?} then {:?}",
                        pair[0],
                        pair[1]
                    );
                }
                for task in &seen {
                    assert!(task.owner == uid("alice"), "{what}: {task:?}");
                    assert!(matches(task, &filter), "{what}: {task:?} does not match");
                }
                for id in &before {
                    let times = seen.iter().filter(|task| task.id == *id).count();
                    assert_eq!(times, 1, "{what}: {id:?} seen {times} times");
                }
                assert!(
                    !before.is_empty(),
                    "{what}: a combination that finds nothing"
                );
            }
        }
    }
);

on_both!(
    tasks_an_older_version_wrote_get_their_keys_at_the_next_start,
    |t: Ctx| async move {
        use sea_orm::ConnectionTrait;
        let tasks = repos(&t).await;
        let mut old = task("alice", 7, "Äpfel kaufen", at(7));
        old.tags = Tags::parse(&["Markt"]).unwrap();
        tasks.insert(&old, None).await.unwrap();
        // What a replica of the previous version writes during a rolling deploy: the row
        // without the search keys it does not know about.
        t.db.execute_unprepared("UPDATE task SET title_key = '', search_key = '', tags_key = ''")
            .await
            .unwrap();
        let window = DueWindow::at(at(0), TimeZone::UTC);
        let apples = query(
            TaskFilter {
                text: text("äpfel"),
                tags: tags(&["MARKT"]),
                ..TaskFilter::default()
            },
            "title",
            window,
        );
        assert!(found(&tasks, &apples).await.is_empty(), "{}", t.backend);
        // Every start (and `migrate`) fills in what is missing.
        todo_persistence::migrate(&t.db).await.unwrap();
        assert_eq!(found(&tasks, &apples).await, [7], "{}", t.backend);
    }
);
