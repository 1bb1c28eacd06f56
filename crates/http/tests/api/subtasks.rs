//! Subtasks: nesting and its limit, cycles, moving, deleting and completing with subtasks,
//! the `parent_id` filter and `subtask_count`.

use actix_web::http::Method;
use serde_json::{Value, json};

use crate::harness::{TestApp, app, ids};

fn id(task: &Value) -> String {
    task["id"].as_str().unwrap().to_owned()
}

async fn child(app: &TestApp, token: &str, parent: &str, title: &str) -> Value {
    app.create_with("alice", token, json!({"title": title, "parent_id": parent}))
        .await
}

#[actix_web::test]
async fn a_subtask_lives_in_its_parents_list_and_is_counted() {
    let app = app().await;
    let alice = app.user("alice", None).await;
    let list = id(&app.list("alice", &alice, "Work").await);
    let parent = app
        .create_with("alice", &alice, json!({"title": "p", "list_id": list}))
        .await;
    let sub = child(&app, &alice, &id(&parent), "c").await;
    assert_eq!(sub["parent_id"], id(&parent).as_str());
    assert_eq!(sub["list_id"], list.as_str());
    let parent = app
        .get_ok(&format!("/api/alice/tasks/{}", id(&parent)), &alice)
        .await;
    assert_eq!(parent["subtask_count"], 1);
    assert_eq!(parent["parent_id"], Value::Null);
    let top = app.get_ok("/api/alice/tasks?parent_id=none", &alice).await;
    assert_eq!(ids(&top), [id(&parent)]);
    let under = app
        .get_ok(
            &format!("/api/alice/tasks?parent_id={}", id(&parent)),
            &alice,
        )
        .await;
    assert_eq!(ids(&under), [id(&sub)]);
    // Another list than the parent's: refused.
    let inbox = app.create("alice", &alice, "in the inbox").await;
    let res = app
        .call(
            Method::POST,
            "/api/alice/tasks",
            Some(&alice),
            Some(json!({"title": "x", "parent_id": id(&parent), "list_id": inbox["list_id"]})),
        )
        .await;
    assert_eq!(res.body["errors"][0]["field"], "list_id", "{}", res.raw);
    res.problem(422);
    for (body, field) in [
        (json!({"title": "x", "parent_id": "nope"}), "parent_id"),
        (
            json!({"title": "x", "parent_id": uuid::Uuid::now_v7().to_string()}),
            "parent_id",
        ),
        (json!({"title": "x", "list_id": "nope"}), "list_id"),
        (
            json!({"title": "x", "list_id": uuid::Uuid::now_v7().to_string()}),
            "list_id",
        ),
        (json!({"title": "x", "assignee_id": ""}), "assignee_id"),
    ] {
        let res = app
            .call(
                Method::POST,
                "/api/alice/tasks",
                Some(&alice),
                Some(body.clone()),
            )
            .await;
        res.problem(422);
        assert_eq!(res.body["errors"][0]["field"], field, "{body}: {}", res.raw);
    }
    let res = app
        .call(
            Method::PATCH,
            &format!("/api/alice/tasks/{}", id(&sub)),
            Some(&alice),
            Some(json!({"list_id": null})),
        )
        .await;
    assert_eq!(res.body["errors"][0]["field"], "list_id", "{}", res.raw);
    res.problem(422);
    let res = app
        .call(
            Method::GET,
            "/api/alice/tasks?parent_id=some",
            Some(&alice),
            None,
        )
        .await;
    assert_eq!(res.body["errors"][0]["field"], "parent_id", "{}", res.raw);
    res.problem(422);
    let res = app
        .call(
            Method::GET,
            "/api/alice/tasks?list_id=x",
            Some(&alice),
            None,
        )
        .await;
    assert_eq!(res.body["errors"][0]["field"], "list_id", "{}", res.raw);
    res.problem(422);
}

#[actix_web::test]
async fn nesting_stops_at_five_levels_and_never_loops() {
    let app = app().await;
    let alice = app.user("alice", None).await;
    let mut chain = vec![app.create("alice", &alice, "level 1").await];
    for level in 2..=5 {
        let parent = id(chain.last().unwrap());
        chain.push(child(&app, &alice, &parent, &format!("level {level}")).await);
    }
    let res = app
        .call(
            Method::POST,
            "/api/alice/tasks",
            Some(&alice),
            Some(json!({"title": "level 6", "parent_id": id(&chain[4])})),
        )
        .await;
    let detail = res.problem(422);
    assert_eq!(res.body["errors"][0]["field"], "parent_id", "{detail}");
    assert!(detail.contains('5'), "{detail}");
    // Moving a task with a subtree under another counts the subtree.
    let other = app.create("alice", &alice, "other").await;
    let res = app
        .call(
            Method::PATCH,
            &format!("/api/alice/tasks/{}", id(&chain[1])),
            Some(&alice),
            Some(json!({"parent_id": id(&other)})),
        )
        .await;
    assert_eq!(
        res.status, 200,
        "levels 2-5 become 2-5 under another root: {}",
        res.raw
    );
    let res = app
        .call(
            Method::PATCH,
            &format!("/api/alice/tasks/{}", id(&chain[1])),
            Some(&alice),
            Some(json!({"parent_id": id(&chain[4])})),
        )
        .await;
    assert_eq!(
        res.body["errors"][0]["field"], "parent_id",
        "a cycle: {}",
        res.raw
    );
    res.problem(422);
    let res = app
        .call(
            Method::PATCH,
            &format!("/api/alice/tasks/{}", id(&chain[2])),
            Some(&alice),
            Some(json!({"parent_id": id(&chain[2])})),
        )
        .await;
    assert_eq!(
        res.body["errors"][0]["field"], "parent_id",
        "itself: {}",
        res.raw
    );
    res.problem(422);
    // `null`: to the top level.
    let res = app
        .call(
            Method::PATCH,
            &format!("/api/alice/tasks/{}", id(&chain[3])),
            Some(&alice),
            Some(json!({"parent_id": null})),
        )
        .await;
    assert_eq!(res.status, 200, "{}", res.raw);
    assert_eq!(res.body["parent_id"], Value::Null);
}

#[actix_web::test]
async fn subtasks_follow_their_parent_to_another_list_and_into_deletion() {
    let app = app().await;
    let alice = app.user("alice", None).await;
    let target = id(&app.list("alice", &alice, "Target").await);
    let parent = app.create("alice", &alice, "p").await;
    let sub = child(&app, &alice, &id(&parent), "c").await;
    let subsub = child(&app, &alice, &id(&sub), "cc").await;
    let res = app
        .call(
            Method::PATCH,
            &format!("/api/alice/tasks/{}", id(&parent)),
            Some(&alice),
            Some(json!({"list_id": target})),
        )
        .await;
    assert_eq!(res.body["list_id"], target.as_str(), "{}", res.raw);
    for task in [&sub, &subsub] {
        let now = app
            .get_ok(&format!("/api/alice/tasks/{}", id(task)), &alice)
            .await;
        assert_eq!(now["list_id"], target.as_str(), "{now}");
    }
    let res = app
        .call(
            Method::DELETE,
            &format!("/api/alice/tasks/{}", id(&parent)),
            Some(&alice),
            None,
        )
        .await;
    assert_eq!(res.status, 204, "{}", res.raw);
    for task in [&sub, &subsub] {
        let res = app
            .call(
                Method::GET,
                &format!("/api/alice/tasks/{}", id(task)),
                Some(&alice),
                None,
            )
            .await;
        res.problem(404);
    }
}

#[actix_web::test]
async fn completing_a_parent_completes_its_open_subtasks_and_reopening_reopens_nothing() {
    let app = app().await;
    let alice = app.user("alice", None).await;
    let parent = app.create("alice", &alice, "p").await;
    let a = child(&app, &alice, &id(&parent), "a").await;
    let b = child(&app, &alice, &id(&a), "b").await;
    let url = format!("/api/alice/tasks/{}/complete", id(&parent));
    // The seed's toggle: an empty body.
    let res = app.call(Method::PATCH, &url, Some(&alice), None).await;
    assert_eq!(res.body["completed"], true, "{}", res.raw);
    for task in [&a, &b] {
        let now = app
            .get_ok(&format!("/api/alice/tasks/{}", id(task)), &alice)
            .await;
        assert_eq!(now["completed"], true, "{now}");
        assert_eq!(now["version"], 2, "{now}");
    }
    let res = app
        .call(
            Method::PATCH,
            &url,
            Some(&alice),
            Some(json!({"completed": false})),
        )
        .await;
    assert_eq!(res.body["completed"], false, "{}", res.raw);
    for task in [&a, &b] {
        let now = app
            .get_ok(&format!("/api/alice/tasks/{}", id(task)), &alice)
            .await;
        assert_eq!(now["completed"], true, "{now}");
    }
}
