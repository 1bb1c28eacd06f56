//! Helpers shared by this crate's unit tests.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::sync::Arc;

use chrono::TimeZone;
use todo_domain::{
    AdminRoles, Principal, RoleList, Task, TaskId, TaskTitle, Timestamp, User, UserId,
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
    Principal::new(uid(id), RoleList::user(), &AdminRoles::default())
}

pub fn admin(id: &str) -> Principal {
    Principal::new(
        uid(id),
        RoleList::from_stored(Some("admin")),
        &AdminRoles::default(),
    )
}

pub fn task(owner: &str, n: u128, title: &str) -> Task {
    Task::new(
        tid(n),
        uid(owner),
        TaskTitle::parse(title).unwrap(),
        None,
        at(10),
    )
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
    Arc::new(ids)
}
