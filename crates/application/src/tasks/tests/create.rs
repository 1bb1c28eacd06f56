//! Tests of creating a task.

use todo_domain::{
    Position, Priority, Recurrence, Tags, Task, TaskDescription, TaskTitle, TimeZone,
};

use super::*;
use crate::ports::PortError;
use crate::testing::*;

#[tokio::test]
async fn creating_a_task_stores_it_open_and_stamped() {
    let mut tasks = with_room();
    tasks
        .expect_insert()
        .withf(|t, _| {
            t.id == tid(7)
                && t.owner == uid("alice")
                && t.title.as_str() == "buy milk"
                && !t.completed
                && t.completed_at.is_none()
                && t.created_at == at(50)
                && t.updated_at == at(50)
                && t.version == 1
        })
        .times(1)
        .returning(|_, _| Ok(true));
    let created = service(tasks)
        .create(&principal("alice"), &uid("alice"), new_task("buy milk"))
        .await
        .unwrap();
    assert_eq!(created.id, tid(7));
    assert_eq!(created.owner, uid("alice"));
    assert_eq!(created.version, 1);
}

#[tokio::test]
async fn creating_with_every_new_field_stores_them() {
    let new = NewTask {
        title: TaskTitle::parse("water plants").unwrap(),
        description: TaskDescription::parse("the ones on the balcony").unwrap(),
        completed: false,
        priority: Some(Priority::High),
        tags: Tags::parse(&["home", "garden"]).unwrap(),
        due: Some(due("2026-12-01T09:00:00+01:00")),
        remind_at: Some(at(1_000)),
        recurrence: Some(Recurrence::parse("FREQ=WEEKLY").unwrap()),
        time_zone: Some(TimeZone::parse("time_zone", "Europe/Paris").unwrap()),
        position: Some(Position::parse("V1").unwrap()),
        list: None,
        parent: None,
        assignee: None,
    };
    let expected = Task {
        id: tid(7),
        owner: uid("alice"),
        list: inbox_of(&uid("alice")),
        parent: None,
        assignee: None,
        subtasks: 0,
        title: new.title.clone(),
        description: new.description.clone(),
        completed: false,
        created_at: at(50),
        updated_at: at(50),
        priority: Some(Priority::High),
        tags: new.tags.clone(),
        due: new.due,
        remind_at: Some(at(1_000)),
        completed_at: None,
        recurrence: new.recurrence.clone(),
        time_zone: new.time_zone,
        occurrences_done: 0,
        version: 1,
        position: Position::parse("V1").unwrap(),
        series_time: None,
    };
    let stored = expected.clone();
    let mut tasks = with_room();
    tasks
        .expect_insert()
        .withf(move |t, _| *t == stored)
        .times(1)
        .returning(|_, _| Ok(true));
    let created = service(tasks)
        .create(&principal("alice"), &uid("alice"), new)
        .await
        .unwrap();
    assert_eq!(created, expected);
}

#[tokio::test]
async fn creating_a_completed_task_stamps_completed_at() {
    let mut tasks = with_room();
    tasks
        .expect_insert()
        .withf(|t, _| t.completed && t.completed_at == Some(at(50)) && t.version == 1)
        .times(1)
        .returning(|_, _| Ok(true));
    let new = NewTask {
        completed: true,
        ..new_task("file taxes")
    };
    let created = service(tasks)
        .create(&principal("alice"), &uid("alice"), new)
        .await
        .unwrap();
    assert!(created.completed);
    assert_eq!(created.completed_at, Some(at(50)));
}

#[tokio::test]
async fn a_recurrence_without_a_due_date_is_refused_and_nothing_is_stored() {
    let mut tasks = with_room();
    tasks.expect_insert().never();
    let new = NewTask {
        recurrence: Some(Recurrence::parse("FREQ=DAILY").unwrap()),
        ..new_task("stretch")
    };
    let err = service(tasks)
        .create(&principal("alice"), &uid("alice"), new)
        .await
        .unwrap_err();
    assert!(
        matches!(&err, ApplicationError::Validation { field, .. } if field == "recurrence"),
        "{err:?}"
    );
}

#[tokio::test]
async fn a_user_cannot_create_tasks_for_someone_else() {
    let mut tasks = with_room();
    tasks.expect_insert().never();
    let err = service(tasks)
        .create(&principal("alice"), &uid("bob"), new_task("buy milk"))
        .await
        .unwrap_err();
    assert!(matches!(err, ApplicationError::Forbidden(_)), "{err:?}");
}

#[tokio::test]
async fn an_unreachable_store_is_reported_as_unavailable() {
    let mut tasks = with_room();
    tasks
        .expect_insert()
        .returning(|_, _| Err(PortError::Unavailable("connection refused".into())));
    let err = service(tasks)
        .create(&principal("alice"), &uid("alice"), new_task("x"))
        .await
        .unwrap_err();
    assert!(matches!(err, ApplicationError::Unavailable(_)));
}
