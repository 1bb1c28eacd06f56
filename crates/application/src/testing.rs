//! Helpers shared by this crate's unit tests.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::sync::Arc;
use std::sync::atomic::{AtomicI64, Ordering};

use chrono::TimeZone;
use todo_domain::{
    AdminRoles, Due, ListId, Principal, Recurrence, RoleList, Task, TaskId, TaskTitle, Timestamp,
    User, UserId,
};

use crate::ports::{MockClock, MockIdGenerator};

pub fn at(secs: i64) -> Timestamp {
    chrono::Utc.timestamp_opt(secs, 0).unwrap()
}

pub fn uid(raw: &str) -> UserId {
    UserId::parse(raw).unwrap()
}

pub fn tid(n: u128) -> TaskId {
    TaskId::from_uuid(uuid::Uuid::from_u128(n))
}

pub fn user_row(id: &str, role: Option<&str>) -> User {
    User {
        id: uid(id),
        email: format!("{id}@example.com"),
        name: id.to_owned(),
        roles: RoleList::from_stored(role),
        banned: false,
        ban_expires: None,
        created_at: at(0),
    }
}

pub fn principal(id: &str) -> Principal {
    Principal::new(uid(id), &RoleList::user(), &AdminRoles::default())
}

pub fn admin(id: &str) -> Principal {
    Principal::new(
        uid(id),
        &RoleList::from_stored(Some("admin")),
        &AdminRoles::default(),
    )
}

pub fn lid(n: u128) -> ListId {
    ListId::from_uuid(uuid::Uuid::from_u128(n))
}

/// The id tests give `owner`'s Inbox: derived from the name, so that each user's differs.
pub fn inbox_of(owner: &UserId) -> ListId {
    let n = owner.as_str().bytes().fold(0xB0C5_u128, |n, b| {
        n.wrapping_mul(257).wrapping_add(u128::from(b))
    });
    lid(n)
}

/// A task of `owner`'s, in their Inbox.
pub fn task(owner: &str, n: u128, title: &str) -> Task {
    Task::new(
        tid(n),
        uid(owner),
        inbox_of(&uid(owner)),
        TaskTitle::parse(title).unwrap(),
        None,
        at(10),
    )
}

/// `task` as stored at `version`.
pub fn versioned(mut task: Task, version: i64) -> Task {
    task.version = version;
    task
}

pub fn due(raw: &str) -> Due {
    Due::parse(raw).unwrap()
}

/// An open task repeating by `rule` (an RRULE), next due on `due_on`.
pub fn recurring_task(owner: &str, n: u128, title: &str, rule: &str, due_on: &str) -> Task {
    let mut t = task(owner, n, title);
    t.recurrence = Some(Recurrence::parse(rule).unwrap());
    t.due = Some(due(due_on));
    t
}

/// The IANA zone `name`.
pub fn zone(name: &str) -> todo_domain::TimeZone {
    todo_domain::TimeZone::parse("tz", name).unwrap()
}

/// A clock stopped at `secs`.
pub fn fixed_clock(secs: i64) -> Arc<MockClock> {
    let mut clock = MockClock::new();
    clock.expect_now().returning(move || at(secs));
    Arc::new(clock)
}

/// An id generator that always hands out `n`.
pub fn fixed_ids(n: u128) -> Arc<MockIdGenerator> {
    let mut ids = MockIdGenerator::new();
    ids.expect_new_task_id().returning(move || tid(n));
    ids.expect_new_list_id().returning(move || lid(n));
    Arc::new(ids)
}

/// A clock that starts at `secs` and moves one second on at every reading.
pub fn ticking_clock(secs: i64) -> Arc<MockClock> {
    let next = AtomicI64::new(secs);
    let mut clock = MockClock::new();
    clock
        .expect_now()
        .returning(move || at(next.fetch_add(1, Ordering::SeqCst)));
    Arc::new(clock)
}
