//! The body of a 50-task page of `GET /api/{user_id}/tasks`.
//!
//! `cargo bench -p todo-http --bench task_json`. Not a test: nothing here asserts on time.
//!
//! - `list_handler_50`: what the list handler sends, [`tasks_body`] (each task written from
//!   its borrowed fields into one buffer sized for the page);
//! - `owned_dtos_50`: the way it was written before, every task copied into a [`TaskDto`]
//!   of owned strings and handed to `serde_json::to_string` (actix-web's `json`), kept to
//!   show what the borrowing writer buys.
#![allow(clippy::expect_used, clippy::unwrap_used)]

use std::hint::black_box;

use chrono::{TimeDelta, TimeZone as _, Utc};
use criterion::{BatchSize, Criterion, criterion_group, criterion_main};
use todo_domain::{
    Due, ListId, Priority, Recurrence, Tags, Task, TaskDescription, TaskId, TaskTitle, TimeZone,
    UserId, to_stored_precision,
};
use todo_http::{TaskDto, tasks_body};

const PAGE: usize = 50;

fn page() -> Vec<Task> {
    let owner = UserId::parse("PVL84nb3WKj8GHRW4JOgGQE0OvDh4NLr").expect("user id");
    let start = to_stored_precision(
        Utc.timestamp_opt(1_795_000_000, 123_456_000)
            .single()
            .expect("instant"),
    );
    let titles = [
        "Buy milk",
        "Call the plumber about the kitchen sink",
        "Prepare the quarterly report for Friday's review",
        "Réserver le train pour Lyon",
        "Renew passport",
    ];
    (0..PAGE)
        .zip(titles.iter().cycle())
        .map(|(i, title)| {
            let offset = i64::try_from(i).expect("small");
            let created = start + TimeDelta::seconds(offset * 97);
            let description = (i % 2 == 0)
                .then(|| format!("Two litres, oat.\nAsk for the \"barista\" one ({i})."));
            let mut task = Task::new(
                TaskId::from_uuid(uuid::Uuid::now_v7()),
                owner.clone(),
                ListId::from_uuid(uuid::Uuid::from_u128(
                    0x0193_a5c2_7b1e_7cc0_9a4e_3f5d_2c1b_0a00,
                )),
                TaskTitle::parse(&format!("{title} #{i}")).expect("title"),
                description
                    .as_deref()
                    .map(TaskDescription::parse)
                    .transpose()
                    .expect("description")
                    .flatten(),
                created,
            );
            task.completed = i % 3 == 0;
            task.updated_at = created + TimeDelta::milliseconds(offset * 1_234);
            // About half the tasks use the organising fields, the way people do.
            if i % 2 == 1 {
                task.priority = Some(match i % 3 {
                    0 => Priority::Low,
                    1 => Priority::Medium,
                    _ => Priority::High,
                });
                let tags: Vec<&str> = ["home", "errands", "Work"]
                    .into_iter()
                    .take(1 + i % 3)
                    .collect();
                task.tags = Tags::parse(&tags).expect("tags");
                task.due = Some(if i % 4 == 1 {
                    Due::parse("2026-12-01").expect("date")
                } else {
                    Due::At(created + TimeDelta::days(3))
                });
                task.remind_at = Some(created + TimeDelta::days(2));
                task.version = 1 + offset;
            }
            if i % 10 == 1 {
                task.recurrence = Some(Recurrence::parse("FREQ=WEEKLY;BYDAY=MO,TH").expect("rule"));
                task.time_zone = Some(TimeZone::parse("time_zone", "Europe/Berlin").expect("zone"));
            }
            if task.completed {
                task.completed_at = Some(task.updated_at);
            }
            task
        })
        .collect()
}

/// The earlier body: owned DTOs, then a string.
fn owned_dtos(items: Vec<Task>) -> serde_json::Result<String> {
    serde_json::to_string(&items.into_iter().map(TaskDto::from).collect::<Vec<_>>())
}

fn task_page_json(c: &mut Criterion) {
    let tasks = page();
    let body = tasks_body(&tasks).expect("serialises");
    assert_eq!(
        body,
        owned_dtos(tasks.clone()).expect("serialises").into_bytes(),
        "both ways give the same bytes"
    );
    let parsed: serde_json::Value = serde_json::from_slice(&body).expect("valid JSON");
    let items = parsed.as_array().expect("a JSON array");
    assert_eq!(items.len(), PAGE);
    let first = items.first().expect("an item");
    assert_eq!(
        first.get("title").and_then(|t| t.as_str()),
        Some("Buy milk #0")
    );
    assert_eq!(
        first.get("created_at").and_then(|t| t.as_str()),
        Some("2026-11-18T11:06:40.123456Z")
    );

    let mut group = c.benchmark_group("task_page_json");
    group.bench_function("list_handler_50", |b| {
        b.iter(|| tasks_body(black_box(&tasks)));
    });
    group.bench_function("owned_dtos_50", |b| {
        b.iter_batched(
            || tasks.clone(),
            |tasks| owned_dtos(black_box(tasks)),
            BatchSize::SmallInput,
        );
    });
    group.finish();
}

criterion_group!(benches, task_page_json);
criterion_main!(benches);
