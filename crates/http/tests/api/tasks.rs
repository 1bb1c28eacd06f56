use actix_web::http::Method;
use serde_json::json;

use crate::harness::*;

#[actix_web::test]
async fn creating_a_task_returns_it_with_its_location() {
    let app = app().await;
    let alice = app.user("alice", None).await;
    let res = app
        .call(
            Method::POST,
            "/api/alice/tasks",
            Some(&alice),
            Some(json!({"title": "  Buy milk  ", "description": "oat"})),
        )
        .await;
    assert_eq!(res.status, 201, "{}", res.raw);
    let task = &res.body;
    let id = task["id"].as_str().unwrap();
    assert_eq!(uuid::Uuid::parse_str(id).unwrap().get_version_num(), 7);
    assert_eq!(task["user_id"], "alice");
    assert_eq!(task["title"], "Buy milk", "titles are trimmed");
    assert_eq!(task["description"], "oat");
    assert_eq!(task["completed"], false);
    let created = task["created_at"].as_str().unwrap();
    assert!(created.ends_with('Z'), "{created}");
    chrono::DateTime::parse_from_rfc3339(created).unwrap();
    assert_eq!(task["created_at"], task["updated_at"]);
    assert_eq!(
        res.header("location").as_deref(),
        Some(format!("/api/alice/tasks/{id}").as_str())
    );
    // The seed's fields first, in their order, then the new ones.
    let keys: Vec<&str> = res
        .raw
        .trim_start_matches('{')
        .split(",\"")
        .map(|pair| pair.trim_start_matches('"').split('"').next().unwrap())
        .collect();
    assert_eq!(
        keys,
        [
            "id",
            "user_id",
            "title",
            "description",
            "completed",
            "created_at",
            "updated_at",
            "priority",
            "tags",
            "due",
            "remind_at",
            "completed_at",
            "recurrence",
            "time_zone",
            "version",
            "position",
            "list_id",
            "parent_id",
            "subtask_count",
            "assignee_id"
        ]
    );
    assert_eq!(task.as_object().unwrap().len(), keys.len());
}

#[actix_web::test]
async fn read_only_fields_in_a_body_are_ignored() {
    let app = app().await;
    let alice = app.user("alice", None).await;
    let res = app
        .call(
            Method::POST,
            "/api/alice/tasks",
            Some(&alice),
            Some(json!({
                "title": "t", "id": "00000000-0000-0000-0000-000000000000",
                "user_id": "bob", "created_at": "1999-01-01T00:00:00Z", "updated_at": 5
            })),
        )
        .await;
    assert_eq!(res.status, 201, "{}", res.raw);
    assert_ne!(res.body["id"], "00000000-0000-0000-0000-000000000000");
    assert_eq!(res.body["user_id"], "alice");
    assert_ne!(res.body["created_at"], "1999-01-01T00:00:00Z");
}

#[actix_web::test]
async fn the_list_is_a_bare_array_oldest_first() {
    let app = app().await;
    let alice = app.user("alice", None).await;
    let bob = app.user("bob", None).await;
    for title in ["one", "two", "three"] {
        app.create("alice", &alice, title).await;
    }
    app.create("bob", &bob, "not alice's").await;
    let res = app
        .call(Method::GET, "/api/alice/tasks", Some(&alice), None)
        .await;
    assert_eq!(res.status, 200);
    let titles: Vec<&str> = res
        .body
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["title"].as_str().unwrap())
        .collect();
    assert_eq!(titles, ["one", "two", "three"]);
    assert_eq!(res.header("link"), None, "no next page");

    let res = app
        .call(Method::GET, "/api/bob/tasks", Some(&bob), None)
        .await;
    assert_eq!(res.body.as_array().unwrap().len(), 1);
}

#[actix_web::test]
async fn long_lists_are_paged_with_a_link_header() {
    let app = app_with(Options {
        max_limit: 3,
        default_limit: 2,
        ..Options::default()
    })
    .await;
    let alice = app.user("alice", None).await;
    for i in 0..5 {
        app.create("alice", &alice, &format!("task {i}")).await;
    }
    let mut seen = Vec::new();
    let mut url = "/api/alice/tasks".to_owned();
    let mut pages = 0;
    loop {
        let res = app.call(Method::GET, &url, Some(&alice), None).await;
        assert_eq!(res.status, 200, "{url}: {}", res.raw);
        pages += 1;
        let items = res.body.as_array().unwrap();
        assert!(items.len() <= 2, "the default page size applies");
        seen.extend(
            items
                .iter()
                .map(|t| t["title"].as_str().unwrap().to_owned()),
        );
        match res.header("link") {
            Some(link) => {
                assert!(link.ends_with(">; rel=\"next\""), "{link}");
                url = link
                    .trim_start_matches('<')
                    .split('>')
                    .next()
                    .unwrap()
                    .to_owned();
                assert!(url.starts_with("/api/alice/tasks?cursor="), "{url}");
            }
            None => break,
        }
    }
    assert_eq!(pages, 3);
    let expected: Vec<String> = (0..5).map(|i| format!("task {i}")).collect();
    assert_eq!(seen, expected, "every task exactly once, in order");

    let res = app
        .call(Method::GET, "/api/alice/tasks?limit=3", Some(&alice), None)
        .await;
    assert_eq!(res.body.as_array().unwrap().len(), 3);
    assert!(res.header("link").unwrap().contains("limit=3"));
}

#[actix_web::test]
async fn bad_paging_parameters_are_refused() {
    let app = app_with(Options {
        max_limit: 3,
        default_limit: 2,
        ..Options::default()
    })
    .await;
    let alice = app.user("alice", None).await;
    for query in [
        "limit=0",
        "limit=4",
        "limit=abc",
        "limit=-1",
        "cursor=garbage",
    ] {
        let res = app
            .call(
                Method::GET,
                &format!("/api/alice/tasks?{query}"),
                Some(&alice),
                None,
            )
            .await;
        let detail = res.problem(422);
        assert!(
            detail.contains("limit") || detail.contains("cursor"),
            "{query}: {detail}"
        );
    }
    let res = app
        .call(Method::GET, "/api/alice/tasks?limit=4", Some(&alice), None)
        .await;
    assert!(res.problem(422).contains("between 1 and 3"));
}

#[actix_web::test]
async fn get_returns_the_task_and_hides_foreign_ones() {
    let app = app().await;
    let alice = app.user("alice", None).await;
    let bob = app.user("bob", None).await;
    let mine = app.create("alice", &alice, "mine").await;
    let theirs = app.create("bob", &bob, "theirs").await;
    let res = app
        .call(
            Method::GET,
            &format!("/api/alice/tasks/{}", mine["id"].as_str().unwrap()),
            Some(&alice),
            None,
        )
        .await;
    assert_eq!(res.status, 200);
    assert_eq!(res.body, mine);
    // Bob's task id under Alice's own path: not found, exactly like a missing one.
    let foreign = app
        .call(
            Method::GET,
            &format!("/api/alice/tasks/{}", theirs["id"].as_str().unwrap()),
            Some(&alice),
            None,
        )
        .await;
    let missing = app
        .call(
            Method::GET,
            "/api/alice/tasks/0193a5c2-7b1e-7cc0-9a4e-3f5d2c1b0a99",
            Some(&alice),
            None,
        )
        .await;
    assert_eq!(foreign.problem(404), missing.problem(404));
}

#[actix_web::test]
async fn foreign_tasks_cannot_be_changed_or_deleted() {
    let app = app().await;
    let alice = app.user("alice", None).await;
    let bob = app.user("bob", None).await;
    let theirs = app.create("bob", &bob, "theirs").await;
    let id = theirs["id"].as_str().unwrap();
    for (method, suffix, body) in [
        (Method::PUT, "", Some(json!({"title": "pwned"}))),
        (Method::PATCH, "", Some(json!({"completed": true}))),
        (Method::PATCH, "/complete", None),
        (Method::DELETE, "", None),
    ] {
        let res = app
            .call(
                method.clone(),
                &format!("/api/alice/tasks/{id}{suffix}"),
                Some(&alice),
                body,
            )
            .await;
        res.problem(404);
    }
    let res = app
        .call(
            Method::GET,
            &format!("/api/bob/tasks/{id}"),
            Some(&bob),
            None,
        )
        .await;
    assert_eq!(res.body, theirs, "bob's task is unchanged");
}

#[actix_web::test]
async fn put_and_patch_update_only_the_given_fields() {
    let app = app().await;
    let alice = app.user("alice", None).await;
    let res = app
        .call(
            Method::POST,
            "/api/alice/tasks",
            Some(&alice),
            Some(json!({"title": "draft", "description": "notes"})),
        )
        .await;
    let id = res.body["id"].as_str().unwrap().to_owned();
    let url = format!("/api/alice/tasks/{id}");

    let res = app
        .call(
            Method::PUT,
            &url,
            Some(&alice),
            Some(json!({"title": "final"})),
        )
        .await;
    assert_eq!(res.status, 200, "{}", res.raw);
    assert_eq!(res.body["title"], "final");
    assert_eq!(
        res.body["description"], "notes",
        "absent fields keep their value"
    );
    assert!(res.body["updated_at"].as_str() >= res.body["created_at"].as_str());

    let res = app
        .call(
            Method::PATCH,
            &url,
            Some(&alice),
            Some(json!({"completed": true, "description": null})),
        )
        .await;
    assert_eq!(res.status, 200, "{}", res.raw);
    assert_eq!(res.body["completed"], true);
    assert_eq!(res.body["description"], serde_json::Value::Null);
    assert_eq!(res.body["title"], "final");

    let before = res.body.clone();
    let res = app
        .call(Method::PATCH, &url, Some(&alice), Some(json!({})))
        .await;
    assert_eq!(res.status, 200);
    assert_eq!(res.body, before, "an empty update changes nothing");

    let res = app.call(Method::GET, &url, Some(&alice), None).await;
    assert_eq!(res.body, before, "the update was stored");
}

#[actix_web::test]
async fn complete_sets_or_toggles() {
    let app = app().await;
    let alice = app.user("alice", None).await;
    let task = app.create("alice", &alice, "toggle me").await;
    let url = format!("/api/alice/tasks/{}/complete", task["id"].as_str().unwrap());

    let res = app.call(Method::PATCH, &url, Some(&alice), None).await;
    assert_eq!(res.status, 200, "{}", res.raw);
    assert_eq!(res.body["completed"], true, "an empty body toggles");
    let res = app.call(Method::PATCH, &url, Some(&alice), None).await;
    assert_eq!(res.body["completed"], false, "and toggles back");

    for _ in 0..2 {
        let res = app
            .call(
                Method::PATCH,
                &url,
                Some(&alice),
                Some(json!({"completed": true})),
            )
            .await;
        assert_eq!(res.body["completed"], true, "a body sets, idempotently");
    }
    let res = app
        .call(Method::PATCH, &url, Some(&alice), Some(json!({})))
        .await;
    assert_eq!(res.body["completed"], false, "an empty object toggles too");
}

#[actix_web::test]
async fn delete_removes_the_task() {
    let app = app().await;
    let alice = app.user("alice", None).await;
    let task = app.create("alice", &alice, "bye").await;
    let url = format!("/api/alice/tasks/{}", task["id"].as_str().unwrap());
    let res = app.call(Method::DELETE, &url, Some(&alice), None).await;
    assert_eq!(res.status, 204);
    assert!(res.raw.is_empty());
    app.call(Method::GET, &url, Some(&alice), None)
        .await
        .problem(404);
    app.call(Method::DELETE, &url, Some(&alice), None)
        .await
        .problem(404);
}
