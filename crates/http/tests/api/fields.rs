//! The task fields beyond the seed's: priority, tags, due dates, reminders, recurrence and
//! time zones, on the wire.

use actix_web::http::Method;
use serde_json::{Value, json};

use crate::harness::*;

async fn tasks_of(app: &TestApp, token: &str) -> Vec<Value> {
    let res = app
        .call(Method::GET, "/api/alice/tasks", Some(token), None)
        .await;
    assert_eq!(res.status, 200, "{}", res.raw);
    res.body.as_array().unwrap().clone()
}

#[actix_web::test]
async fn a_task_created_with_every_field_reads_back_the_same() {
    let app = app().await;
    let alice = app.user("alice", None).await;
    let res = app
        .call(
            Method::POST,
            "/api/alice/tasks",
            Some(&alice),
            Some(json!({
                "title": "Water plants",
                "description": "balcony",
                "priority": "high",
                "tags": ["Home", " errands ", "home", "Ärger"],
                "due": "2026-12-01T09:00:00+05:00",
                "remind_at": "2026-12-01T08:30:00.1234567+05:00",
                "recurrence": "rrule:freq=weekly;byday=th,mo",
                "time_zone": "Asia/Karachi"
            })),
        )
        .await;
    assert_eq!(res.status, 201, "{}", res.raw);
    let task = res.body.clone();
    assert_eq!(task["priority"], "high");
    assert_eq!(
        task["tags"],
        json!(["errands", "Home", "Ärger"]),
        "trimmed, deduplicated ignoring case (first spelling kept), sorted"
    );
    assert_eq!(task["due"], "2026-12-01T04:00:00.000000Z", "in UTC");
    assert_eq!(
        task["remind_at"], "2026-12-01T03:30:00.123456Z",
        "in UTC, truncated to microseconds"
    );
    assert_eq!(task["completed_at"], Value::Null);
    assert_eq!(task["recurrence"], "FREQ=WEEKLY;BYDAY=MO,TH", "canonical");
    assert_eq!(task["time_zone"], "Asia/Karachi");
    assert_eq!(task["version"], 1);
    assert_eq!(task["completed"], false);
    assert_eq!(res.header("etag").as_deref(), Some("\"1\""));

    let url = format!("/api/alice/tasks/{}", task["id"].as_str().unwrap());
    let res = app.call(Method::GET, &url, Some(&alice), None).await;
    assert_eq!(res.status, 200, "{}", res.raw);
    assert_eq!(res.body, task, "stored and read back unchanged");
    assert_eq!(tasks_of(&app, &alice).await, [task]);

    // An all-day date stays a date; a task recorded as done has a completion time.
    let res = app
        .call(
            Method::POST,
            "/api/alice/tasks",
            Some(&alice),
            Some(
                json!({"title": "Send cards", "due": " 2026-12-20 ", "priority": "low",
                        "tags": null, "time_zone": null, "completed": true}),
            ),
        )
        .await;
    assert_eq!(res.status, 201, "{}", res.raw);
    assert_eq!(res.body["due"], "2026-12-20");
    assert_eq!(res.body["priority"], "low");
    assert_eq!(res.body["tags"], json!([]));
    assert_eq!(res.body["time_zone"], Value::Null);
    assert_eq!(res.body["completed"], true);
    assert_eq!(res.body["completed_at"], res.body["created_at"]);
}

#[actix_web::test]
async fn an_old_style_create_shows_the_new_fields_empty() {
    let app = app().await;
    let alice = app.user("alice", None).await;
    let task = app.create("alice", &alice, "Buy milk").await;
    for field in [
        "priority",
        "due",
        "remind_at",
        "completed_at",
        "recurrence",
        "time_zone",
    ] {
        assert_eq!(task[field], Value::Null, "{field}");
    }
    assert_eq!(task["tags"], json!([]));
    assert_eq!(task["version"], 1);
    assert_eq!(task["description"], Value::Null);
    assert_eq!(task["completed"], false);
}

#[actix_web::test]
async fn invalid_values_are_refused_naming_the_field() {
    let app = app().await;
    let alice = app.user("alice", None).await;
    let many: Vec<String> = (0..21).map(|i| format!("tag{i}")).collect();
    let cases = [
        (
            json!({"priority": "urgent"}),
            "priority",
            "one of low, medium, high",
        ),
        (json!({"priority": "High"}), "priority", "one of low"),
        (json!({"priority": 3}), "priority", "invalid type"),
        (json!({"tags": many}), "tags", "at most 20 per task"),
        (
            json!({"tags": ["x".repeat(51)]}),
            "tags",
            "at most 50 characters",
        ),
        (json!({"tags": ["a,b"]}), "tags", "commas"),
        (json!({"tags": ["ok", " "]}), "tags", "empty tag"),
        (json!({"tags": "home"}), "tags", "invalid type"),
        (json!({"due": "2026-12-01T09:00:00"}), "due", "UTC offset"),
        (
            json!({"due": "2026-02-30"}),
            "due",
            "2026-02-30 does not exist",
        ),
        (json!({"due": "tomorrow"}), "due", "YYYY-MM-DD"),
        (
            json!({"remind_at": "2026-12-01T09:00:00"}),
            "remind_at",
            "UTC offset",
        ),
        (
            json!({"remind_at": "2026-12-01"}),
            "remind_at",
            "RFC 3339 date-time",
        ),
        (
            json!({"due": "2026-12-01", "recurrence": "FREQ=HOURLY"}),
            "recurrence",
            "unsupported FREQ=HOURLY",
        ),
        (
            json!({"due": "2026-12-01", "recurrence": "FREQ=DAILY;COUNT=3;UNTIL=20270101"}),
            "recurrence",
            "both COUNT and UNTIL",
        ),
        (
            json!({"due": "2026-12-01", "recurrence": "BYDAY=MO"}),
            "recurrence",
            "must have a FREQ part",
        ),
        (
            json!({"recurrence": "FREQ=DAILY"}),
            "recurrence",
            "needs a due date",
        ),
        (
            json!({"time_zone": "Mars/Olympus"}),
            "time_zone",
            "IANA time zone",
        ),
    ];
    for (extra, field, message) in cases {
        let mut body = json!({"title": "t"});
        body.as_object_mut()
            .unwrap()
            .extend(extra.as_object().unwrap().clone());
        let res = app
            .call(
                Method::POST,
                "/api/alice/tasks",
                Some(&alice),
                Some(body.clone()),
            )
            .await;
        let detail = res.problem(422);
        assert!(detail.contains(field), "{body}: {detail}");
        assert!(detail.contains(message), "{body}: {detail}");
        assert_eq!(res.body["errors"][0]["field"], field, "{body}: {}", res.raw);
    }
    assert!(
        tasks_of(&app, &alice).await.is_empty(),
        "nothing was written"
    );

    // The same values are refused by an update, which then changes nothing.
    let task = app.create("alice", &alice, "stay").await;
    let url = format!("/api/alice/tasks/{}", task["id"].as_str().unwrap());
    for (body, field) in [
        (json!({"priority": "urgent"}), "priority"),
        (json!({"tags": ["x".repeat(51)]}), "tags"),
        (json!({"due": "2026-02-30"}), "due"),
        (json!({"remind_at": "2026-12-01T09:00:00"}), "remind_at"),
        (json!({"recurrence": "FREQ=DAILY;INTERVAL=0"}), "recurrence"),
        (json!({"recurrence": "FREQ=DAILY"}), "recurrence"),
        (json!({"time_zone": "Europe/Atlantis"}), "time_zone"),
    ] {
        for method in [Method::PATCH, Method::PUT] {
            let res = app
                .call(method, &url, Some(&alice), Some(body.clone()))
                .await;
            res.problem(422);
            assert_eq!(res.body["errors"][0]["field"], field, "{body}: {}", res.raw);
        }
    }
    let res = app.call(Method::GET, &url, Some(&alice), None).await;
    assert_eq!(res.body, task, "nothing changed, not even the version");
}

#[actix_web::test]
async fn updates_keep_absent_fields_and_clear_null_ones() {
    let app = app().await;
    let alice = app.user("alice", None).await;
    let task = app
        .create_with(
            "alice",
            &alice,
            json!({
                "title": "Pay rent", "priority": "medium", "tags": ["money", "home"],
                "due": "2026-12-01", "remind_at": "2026-11-30T18:00:00Z",
                "recurrence": "FREQ=MONTHLY", "time_zone": "Europe/Berlin"
            }),
        )
        .await;
    let url = format!("/api/alice/tasks/{}", task["id"].as_str().unwrap());
    let patch = |body: Value| {
        let (app, alice, url) = (&app, &alice, &url);
        async move {
            let res = app
                .call(Method::PATCH, url, Some(alice), Some(body.clone()))
                .await;
            assert_eq!(res.status, 200, "{body}: {}", res.raw);
            res.body
        }
    };

    let t = patch(json!({"title": "Pay the rent"})).await;
    for field in [
        "priority",
        "tags",
        "due",
        "remind_at",
        "recurrence",
        "time_zone",
    ] {
        assert_eq!(t[field], task[field], "{field} is kept when absent");
    }

    let t = patch(json!({"priority": null, "tags": null, "remind_at": null})).await;
    assert_eq!(t["priority"], Value::Null);
    assert_eq!(t["tags"], json!([]));
    assert_eq!(t["remind_at"], Value::Null);
    assert_eq!(t["due"], "2026-12-01");
    assert_eq!(t["recurrence"], "FREQ=MONTHLY");

    let t = patch(json!({"tags": ["b", "A"], "priority": "high"})).await;
    assert_eq!(t["tags"], json!(["A", "b"]));
    assert_eq!(t["priority"], "high");
    let t = patch(json!({"tags": []})).await;
    assert_eq!(t["tags"], json!([]), "[] clears too");

    // A repeating task needs its due date.
    let res = app
        .call(
            Method::PATCH,
            &url,
            Some(&alice),
            Some(json!({"due": null})),
        )
        .await;
    assert!(res.problem(422).contains("needs a due date"));
    assert_eq!(res.body["errors"][0]["field"], "recurrence");

    let t = patch(json!({"recurrence": null, "due": null, "time_zone": null})).await;
    for field in ["due", "recurrence", "time_zone"] {
        assert_eq!(t[field], Value::Null, "{field}");
    }

    // PUT takes the same fields, with the same meaning.
    let res = app
        .call(
            Method::PUT,
            &url,
            Some(&alice),
            Some(json!({"due": "2026-12-24T18:00:00-05:00", "tags": ["x"]})),
        )
        .await;
    assert_eq!(res.status, 200, "{}", res.raw);
    assert_eq!(res.body["due"], "2026-12-24T23:00:00.000000Z");
    assert_eq!(res.body["tags"], json!(["x"]));
    assert_eq!(res.body["title"], "Pay the rent");
    assert_eq!(res.body["priority"], "high");

    let res = app.call(Method::GET, &url, Some(&alice), None).await;
    assert_eq!(res.body["due"], "2026-12-24T23:00:00.000000Z", "stored");
}

#[actix_web::test]
async fn read_only_fields_of_a_task_sent_back_are_ignored() {
    let app = app().await;
    let alice = app.user("alice", None).await;
    let task = app.create("alice", &alice, "round trip").await;
    let url = format!("/api/alice/tasks/{}", task["id"].as_str().unwrap());
    // A client may send back the whole task as it got it, with its changes.
    let mut body = task.clone();
    body["title"] = json!("round tripped");
    body["completed_at"] = json!("1999-01-01T00:00:00Z");
    body["version"] = json!(99);
    let res = app.call(Method::PUT, &url, Some(&alice), Some(body)).await;
    assert_eq!(res.status, 200, "{}", res.raw);
    assert_eq!(res.body["title"], "round tripped");
    assert_eq!(res.body["completed_at"], Value::Null);
    assert_eq!(res.body["version"], 2);
}

#[actix_web::test]
async fn completing_a_recurring_task_moves_it_to_its_next_occurrence() {
    let app = app().await;
    let alice = app.user("alice", None).await;
    let task = app
        .create_with(
            "alice",
            &alice,
            json!({
                "title": "Water plants", "due": "2026-12-01", "recurrence": "FREQ=WEEKLY",
                "remind_at": "2026-11-30T18:00:00Z", "priority": "high", "tags": ["home"]
            }),
        )
        .await;
    let id = task["id"].as_str().unwrap().to_owned();
    let url = format!("/api/alice/tasks/{id}");

    // An empty body toggles: an open repeating task is completed, which moves it on.
    let res = app
        .call(
            Method::PATCH,
            &format!("{url}/complete"),
            Some(&alice),
            None,
        )
        .await;
    assert_eq!(res.status, 200, "{}", res.raw);
    let next = &res.body;
    assert_eq!(next["id"], id.as_str(), "the same task moves on");
    assert_eq!(next["due"], "2026-12-08");
    assert_eq!(
        next["remind_at"], "2026-12-07T18:00:00.000000Z",
        "the reminder keeps its distance"
    );
    assert_eq!(next["completed"], false, "still open");
    assert_eq!(next["completed_at"], Value::Null);
    assert_eq!(next["recurrence"], "FREQ=WEEKLY");
    assert_eq!(next["version"], 2);
    assert_eq!(res.header("etag").as_deref(), Some("\"2\""));

    let all = tasks_of(&app, &alice).await;
    assert_eq!(all.len(), 2, "{all:?}");
    let finished = all.iter().find(|t| t["id"] != id.as_str()).unwrap();
    assert_eq!(finished["title"], "Water plants");
    assert_eq!(finished["completed"], true);
    assert!(finished["completed_at"].is_string());
    assert_eq!(
        finished["due"], "2026-12-01",
        "the occurrence that was done"
    );
    assert_eq!(
        finished["recurrence"],
        Value::Null,
        "it does not repeat itself"
    );
    assert_eq!(finished["priority"], "high");
    assert_eq!(finished["tags"], json!(["home"]));
    assert_eq!(finished["version"], 1);
    let current = all.iter().find(|t| t["id"] == id.as_str()).unwrap();
    assert_eq!(current, next);

    // Completing through the body, or through a PATCH of the task, moves it on too.
    let res = app
        .call(
            Method::PATCH,
            &format!("{url}/complete"),
            Some(&alice),
            Some(json!({"completed": true})),
        )
        .await;
    assert_eq!(res.status, 200, "{}", res.raw);
    assert_eq!(res.body["due"], "2026-12-15");
    assert_eq!(res.body["completed"], false);
    let res = app
        .call(
            Method::PATCH,
            &url,
            Some(&alice),
            Some(json!({"completed": true, "title": "Water the plants"})),
        )
        .await;
    assert_eq!(res.status, 200, "{}", res.raw);
    assert_eq!(res.body["due"], "2026-12-22");
    assert_eq!(res.body["title"], "Water the plants");
    assert_eq!(res.body["version"], 4);
    let all = tasks_of(&app, &alice).await;
    assert_eq!(all.len(), 4);
    let mut done: Vec<&str> = all
        .iter()
        .filter(|t| t["completed"] == true)
        .map(|t| t["due"].as_str().unwrap())
        .collect();
    done.sort_unstable();
    assert_eq!(done, ["2026-12-01", "2026-12-08", "2026-12-15"]);
}

#[actix_web::test]
async fn a_series_with_a_count_ends_completed() {
    let app = app().await;
    let alice = app.user("alice", None).await;
    let task = app
        .create_with(
            "alice",
            &alice,
            json!({"title": "Course", "due": "2026-12-01T09:00:00Z",
                   "recurrence": "FREQ=DAILY;COUNT=2"}),
        )
        .await;
    let url = format!("/api/alice/tasks/{}/complete", task["id"].as_str().unwrap());
    let res = app.call(Method::PATCH, &url, Some(&alice), None).await;
    assert_eq!(res.body["due"], "2026-12-02T09:00:00.000000Z");
    assert_eq!(res.body["completed"], false);
    let res = app.call(Method::PATCH, &url, Some(&alice), None).await;
    assert_eq!(res.status, 200, "{}", res.raw);
    assert_eq!(
        res.body["completed"], true,
        "the second of two ends the series"
    );
    assert_eq!(res.body["due"], "2026-12-02T09:00:00.000000Z");
    assert!(res.body["completed_at"].is_string());
    assert_eq!(tasks_of(&app, &alice).await.len(), 2);
}
