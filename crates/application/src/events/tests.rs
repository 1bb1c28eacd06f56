//! The hub and its streams against a mocked change log: who gets what, resuming with no
//! gap and no duplicate, resets, limits, marks and shutdown.

use std::sync::Arc;

use todo_domain::{ChangeCursor, ChangeKind, ChangeRecord, ListId, TaskId, UserId};

use super::*;
use crate::ports::{ChangeRead, MockChangeLog, PortError};

fn uid(raw: &str) -> UserId {
    UserId::parse(raw).unwrap()
}

fn principal(raw: &str) -> todo_domain::Principal {
    crate::testing::principal(raw)
}

fn at(n: u64) -> ChangeCursor {
    ChangeCursor { tx: n, id: n }
}

fn record(n: u64, kind: ChangeKind, subject: Option<&str>) -> ChangeRecord {
    ChangeRecord {
        cursor: at(n),
        kind,
        list: Some(ListId::from_uuid(uuid::Uuid::from_u128(1))),
        task: Some(TaskId::from_uuid(uuid::Uuid::from_u128(u128::from(n)))),
        actor: uid("alice"),
        subject: subject.map(uid),
        version: Some(1),
        fields: Vec::new(),
        at: chrono::DateTime::UNIX_EPOCH,
    }
}

fn task(n: u64) -> ChangeRecord {
    record(n, ChangeKind::TaskUpdated, None)
}

fn readers(names: &[&str]) -> Vec<UserId> {
    names.iter().map(|n| uid(n)).collect()
}

/// A log whose head is `head`, pruned up to `pruned`, whose reads after `head` return
/// `batches` one after the other (then nothing).
fn log(head: u64, pruned: u64, batches: Vec<Batch>) -> MockChangeLog {
    let mut log = MockChangeLog::new();
    log.expect_head().returning(move || Ok(at(head)));
    log.expect_pruned().returning(move || Ok(at(pruned)));
    let batches = std::sync::Mutex::new(std::collections::VecDeque::from(batches));
    log.expect_read().returning(move |_, _| {
        Ok(ChangeRead {
            records: batches.lock().unwrap().pop_front().unwrap_or_default(),
        })
    });
    log
}

async fn hub(log: MockChangeLog, settings: EventSettings) -> EventHub {
    EventHub::start(Arc::new(log), settings).await.unwrap()
}

fn now() -> todo_domain::Timestamp {
    chrono::DateTime::UNIX_EPOCH
}

async fn next_event(s: &mut Subscription) -> ChangeRecord {
    match s.next().await.unwrap() {
        Delivery::Event(r) => r,
        other => panic!("expected an event, got {other:?}"),
    }
}

#[tokio::test]
async fn each_change_reaches_the_members_of_its_list_and_the_member_it_concerns() {
    let batch = vec![
        (task(11), readers(&["alice", "bob"])),
        (task(12), readers(&["bob"])),
        // carol, removed: no longer a member, told of her removal.
        (
            record(13, ChangeKind::MemberRemoved, Some("carol")),
            readers(&["alice"]),
        ),
        (task(14), readers(&["alice"])),
    ];
    let hub = hub(log(10, 0, vec![batch]), EventSettings::default()).await;
    let mut alice = hub
        .subscribe(&principal("alice"), &uid("alice"), None)
        .unwrap();
    let mut bob = hub.subscribe(&principal("bob"), &uid("bob"), None).unwrap();
    let mut carol = hub
        .subscribe(&principal("carol"), &uid("carol"), None)
        .unwrap();
    assert_eq!(hub.poll(now()).await.unwrap(), 4);
    for want in [11, 13, 14] {
        assert_eq!(next_event(&mut alice).await.cursor, at(want));
    }
    for want in [11, 12] {
        assert_eq!(next_event(&mut bob).await.cursor, at(want));
    }
    assert_eq!(next_event(&mut carol).await.kind, ChangeKind::MemberRemoved);
    assert_eq!(hub.stats().events_sent, 6);
    assert_eq!(hub.position(), at(14));
    // The marks: each user's newest change; someone else's is where the hub started.
    assert_eq!(hub.mark(&uid("alice")), Some(at(14)));
    assert_eq!(hub.mark(&uid("bob")), Some(at(12)));
    assert_eq!(hub.mark(&uid("carol")), Some(at(13)));
    assert_eq!(hub.mark(&uid("dave")), Some(at(10)));
}

#[tokio::test]
async fn a_resumed_stream_reads_what_it_missed_then_goes_on_without_a_duplicate() {
    let mut mock = log(10, 2, vec![vec![(task(11), readers(&["alice"]))]]);
    // The log as alice may read it after 5, up to the hub's place (10), then nothing more.
    mock.expect_read_for()
        .withf(|reader, after, up_to, _| {
            reader.as_str() == "alice" && *after == at(5) && *up_to == at(11)
        })
        .times(1)
        .returning(|_, _, _, _| Ok(vec![task(7), task(9), task(11)]));
    let hub = hub(mock, EventSettings::default()).await;
    let mut alice = hub
        .subscribe(&principal("alice"), &uid("alice"), Some(at(5)))
        .unwrap();
    // The hub reads 11 and fans it out after alice subscribed: she must get it once.
    hub.poll(now()).await.unwrap();
    let mut got = Vec::new();
    for _ in 0..3 {
        got.push(next_event(&mut alice).await.cursor);
    }
    assert_eq!(got, [at(7), at(9), at(11)]);
    assert_eq!(alice.last(), at(11));
    // Nothing more is pending: the fan-out's 11 was skipped.
    let waited = tokio::time::timeout(std::time::Duration::from_millis(50), alice.next()).await;
    assert!(
        waited.is_err(),
        "a duplicate or a phantom event: {waited:?}"
    );
}

#[tokio::test]
async fn a_cursor_older_than_the_log_keeps_gets_one_reset_then_live_events() {
    let mut mock = log(10, 6, vec![vec![(task(12), readers(&["alice"]))]]);
    mock.expect_read_for().never();
    let hub = hub(mock, EventSettings::default()).await;
    let mut alice = hub
        .subscribe(&principal("alice"), &uid("alice"), Some(at(3)))
        .unwrap();
    assert_eq!(alice.next().await.unwrap(), Delivery::Reset(at(10)));
    hub.poll(now()).await.unwrap();
    assert_eq!(next_event(&mut alice).await.cursor, at(12));
}

#[tokio::test]
async fn a_cursor_the_log_never_had_gets_a_reset() {
    let mut mock = log(10, 0, vec![]);
    mock.expect_read_for().never();
    let hub = hub(mock, EventSettings::default()).await;
    let mut alice = hub
        .subscribe(&principal("alice"), &uid("alice"), Some(at(999)))
        .unwrap();
    assert_eq!(alice.next().await.unwrap(), Delivery::Reset(at(10)));
}

#[tokio::test]
async fn a_stream_that_falls_behind_the_fan_out_catches_up_from_the_log() {
    // More batches than the fan-out holds, all alice's.
    let batches: Vec<Batch> = (11..=1_100)
        .map(|n| vec![(task(n), readers(&["alice"]))])
        .collect();
    let mut mock = log(10, 0, batches);
    mock.expect_read_for().returning(|_, after, up_to, limit| {
        Ok((after.id + 1..=up_to.id)
            .take(limit as usize)
            .map(task)
            .collect())
    });
    let settings = EventSettings {
        batch: 1,
        ..EventSettings::default()
    };
    let hub = hub(mock, settings).await;
    let mut alice = hub
        .subscribe(&principal("alice"), &uid("alice"), None)
        .unwrap();
    assert_eq!(hub.poll(now()).await.unwrap(), 1_090);
    for want in 11..=1_100 {
        assert_eq!(next_event(&mut alice).await.cursor, at(want));
    }
}

#[tokio::test]
async fn streams_are_limited_per_user_and_in_all() {
    let settings = EventSettings {
        max_streams_per_user: 2,
        max_streams: 3,
        ..EventSettings::default()
    };
    let hub = hub(log(0, 0, vec![]), settings).await;
    let a1 = hub
        .subscribe(&principal("alice"), &uid("alice"), None)
        .unwrap();
    let _a2 = hub
        .subscribe(&principal("alice"), &uid("alice"), None)
        .unwrap();
    let refused = hub
        .subscribe(&principal("alice"), &uid("alice"), None)
        .err()
        .unwrap();
    assert!(
        matches!(&refused, ApplicationError::TooMany { detail, retry_after_secs: 5 }
            if detail.contains("at most 2")),
        "{refused:?}"
    );
    let _b1 = hub.subscribe(&principal("bob"), &uid("bob"), None).unwrap();
    assert!(matches!(
        hub.subscribe(&principal("carol"), &uid("carol"), None),
        Err(ApplicationError::TooMany { .. })
    ));
    assert_eq!(hub.stats().open_streams, 3);
    drop(a1);
    assert_eq!(hub.stats().open_streams, 2);
    hub.subscribe(&principal("alice"), &uid("alice"), None)
        .unwrap();
}

#[tokio::test]
async fn marks_are_not_trusted_while_the_log_cannot_be_read() {
    let mut mock = MockChangeLog::new();
    mock.expect_head().returning(|| Ok(at(4)));
    let mut calls = 0;
    mock.expect_read().returning(move |_, _| {
        calls += 1;
        if calls == 1 {
            Err(PortError::Unavailable("down".into()))
        } else {
            Ok(ChangeRead::default())
        }
    });
    let hub = hub(mock, EventSettings::default()).await;
    assert_eq!(hub.mark(&uid("alice")), Some(at(4)));
    assert!(hub.poll(now()).await.is_err());
    assert_eq!(hub.mark(&uid("alice")), None);
    hub.poll(now()).await.unwrap();
    assert_eq!(hub.mark(&uid("alice")), Some(at(4)));
}

#[tokio::test]
async fn closing_the_hub_ends_every_stream() {
    let hub = hub(log(0, 0, vec![]), EventSettings::default()).await;
    let mut alice = hub
        .subscribe(&principal("alice"), &uid("alice"), None)
        .unwrap();
    let waiting = tokio::spawn(async move { alice.next().await.unwrap() });
    tokio::task::yield_now().await;
    hub.close();
    assert_eq!(waiting.await.unwrap(), Delivery::Closed);
}

#[tokio::test]
async fn no_one_streams_another_users_events() {
    let hub = hub(log(0, 0, vec![]), EventSettings::default()).await;
    assert!(matches!(
        hub.subscribe(&principal("bob"), &uid("alice"), None),
        Err(ApplicationError::Forbidden(_))
    ));
    assert_eq!(hub.stats().open_streams, 0);
}
