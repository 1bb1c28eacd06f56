//! Sharing: members and their roles, leaving, transferring, assignees, and what losing
//! access shows in the sync feed.

use actix_web::http::Method;
use serde_json::{Value, json};

use crate::access_matrix::an_hour_ago;
use crate::harness::{TestApp, app, ids};

/// alice's list "Shared" with bob as an editor and carol as a viewer; returns the tokens
/// and the list id.
async fn shared(app: &TestApp) -> (String, String, String, String) {
    let alice = app.user("alice", None).await;
    let bob = app.user("bob", None).await;
    let carol = app.user("carol", None).await;
    let list = app.list("alice", &alice, "Shared").await["id"]
        .as_str()
        .unwrap()
        .to_owned();
    app.share("alice", &alice, &list, "bob", "editor").await;
    app.share("alice", &alice, &list, "carol", "viewer").await;
    (alice, bob, carol, list)
}

#[actix_web::test]
async fn members_are_added_by_id_or_email_and_listed_owner_first() {
    let app = app().await;
    let alice = app.user("alice", None).await;
    app.user("bob", None).await;
    app.user("carol", None).await;
    let list = app.list("alice", &alice, "Shared").await;
    let id = list["id"].as_str().unwrap();
    let url = format!("/api/alice/lists/{id}/members");
    let res = app
        .call(
            Method::POST,
            &url,
            Some(&alice),
            Some(json!({"email": "BOB@example.com", "role": "editor"})),
        )
        .await;
    assert_eq!(res.status, 201, "{}", res.raw);
    assert_eq!(
        res.header("location").as_deref(),
        Some(format!("{url}/bob").as_str())
    );
    let mut keys: Vec<&str> = res
        .body
        .as_object()
        .unwrap()
        .keys()
        .map(String::as_str)
        .collect();
    keys.sort_unstable();
    assert_eq!(keys, ["added_at", "email", "name", "role", "user_id"]);
    assert_eq!(res.body["user_id"], "bob");
    assert_eq!(res.body["email"], "bob@example.com");
    assert_eq!(res.body["name"], "User bob");
    assert_eq!(res.body["role"], "editor");
    let res = app
        .call(
            Method::POST,
            &url,
            Some(&alice),
            Some(json!({"user_id": "carol", "role": "viewer"})),
        )
        .await;
    assert_eq!(res.status, 201, "{}", res.raw);
    let members = app.get_ok(&url, &alice).await;
    let roles: Vec<(&str, &str)> = members
        .as_array()
        .unwrap()
        .iter()
        .map(|m| (m["user_id"].as_str().unwrap(), m["role"].as_str().unwrap()))
        .collect();
    assert_eq!(
        roles,
        [("alice", "owner"), ("bob", "editor"), ("carol", "viewer")]
    );
    let list = app.get_ok(&format!("/api/alice/lists/{id}"), &alice).await;
    assert_eq!(list["member_count"], 3);
    let seen_by_carol = app
        .get_ok(&format!("/api/carol/lists/{id}"), &app.token("carol"))
        .await;
    assert_eq!(seen_by_carol["role"], "viewer");
    assert_eq!(seen_by_carol["owner_id"], "alice");
    // Again: a conflict. Bad bodies: 422 naming the field.
    let res = app
        .call(
            Method::POST,
            &url,
            Some(&alice),
            Some(json!({"user_id": "bob", "role": "viewer"})),
        )
        .await;
    res.problem(409);
    for (body, field) in [
        (
            json!({"user_id": "nobody", "role": "viewer"}),
            Some("user_id"),
        ),
        (
            json!({"email": "nobody@example.com", "role": "viewer"}),
            Some("email"),
        ),
        (json!({"user_id": "bob", "role": "owner"}), Some("role")),
        (json!({"user_id": "bob", "role": "admin"}), Some("role")),
        (
            json!({"user_id": "bob", "email": "bob@example.com", "role": "viewer"}),
            None,
        ),
        (json!({"role": "viewer"}), None),
        (json!({"user_id": "bob"}), None),
    ] {
        let res = app
            .call(Method::POST, &url, Some(&alice), Some(body.clone()))
            .await;
        res.problem(422);
        if let Some(field) = field {
            assert_eq!(res.body["errors"][0]["field"], field, "{body}: {}", res.raw);
        }
    }
    let res = app
        .call(
            Method::PATCH,
            &format!("{url}/bob"),
            Some(&alice),
            Some(json!({"role": "boss"})),
        )
        .await;
    assert_eq!(res.body["errors"][0]["field"], "role", "{}", res.raw);
    res.problem(422);
    let res = app
        .call(
            Method::PATCH,
            &format!("{url}/alice"),
            Some(&alice),
            Some(json!({"role": "viewer"})),
        )
        .await;
    res.problem(409);
    let res = app
        .call(
            Method::PATCH,
            &format!("{url}/nobody"),
            Some(&alice),
            Some(json!({"role": "viewer"})),
        )
        .await;
    res.problem(404);
}

#[actix_web::test]
async fn a_role_change_takes_effect_at_once() {
    let app = app().await;
    let (alice, _bob, carol, list) = shared(&app).await;
    let task = app
        .create_with("alice", &alice, json!({"title": "t", "list_id": list}))
        .await;
    let url = format!("/api/carol/tasks/{}", task["id"].as_str().unwrap());
    let res = app
        .call(
            Method::PATCH,
            &url,
            Some(&carol),
            Some(json!({"title": "c"})),
        )
        .await;
    res.problem(403);
    let res = app
        .call(
            Method::PATCH,
            &format!("/api/alice/lists/{list}/members/carol"),
            Some(&alice),
            Some(json!({"role": "editor"})),
        )
        .await;
    assert_eq!(res.body["role"], "editor", "{}", res.raw);
    let res = app
        .call(
            Method::PATCH,
            &url,
            Some(&carol),
            Some(json!({"title": "c"})),
        )
        .await;
    assert_eq!(res.status, 200, "{}", res.raw);
    assert_eq!(res.body["user_id"], "alice", "the creator stays");
}

#[actix_web::test]
async fn ownership_goes_to_an_editor_who_then_manages_the_list() {
    let app = app().await;
    let (alice, bob, _carol, list) = shared(&app).await;
    let url = format!("/api/alice/lists/{list}/transfer");
    let res = app
        .call(
            Method::POST,
            &url,
            Some(&alice),
            Some(json!({"user_id": "carol"})),
        )
        .await;
    assert_eq!(res.body["errors"][0]["field"], "user_id", "{}", res.raw);
    res.problem(422);
    let res = app
        .call(Method::POST, &url, Some(&alice), Some(json!({})))
        .await;
    res.problem(422);
    let res = app
        .call(
            Method::POST,
            &url,
            Some(&alice),
            Some(json!({"user_id": "bob"})),
        )
        .await;
    assert_eq!(res.status, 200, "{}", res.raw);
    assert_eq!(res.body["owner_id"], "bob");
    assert_eq!(res.body["role"], "editor");
    let seen = app.get_ok(&format!("/api/bob/lists/{list}"), &bob).await;
    assert_eq!(seen["role"], "owner");
    // The old owner may now leave; the new one may rename.
    let res = app
        .call(
            Method::PATCH,
            &format!("/api/alice/lists/{list}"),
            Some(&alice),
            Some(json!({"name": "x"})),
        )
        .await;
    res.problem(403);
    let res = app
        .call(
            Method::PATCH,
            &format!("/api/bob/lists/{list}"),
            Some(&bob),
            Some(json!({"name": "Bob's"})),
        )
        .await;
    assert_eq!(res.status, 200, "{}", res.raw);
    let res = app
        .call(
            Method::DELETE,
            &format!("/api/alice/lists/{list}/members/alice"),
            Some(&alice),
            None,
        )
        .await;
    assert_eq!(res.status, 204, "{}", res.raw);
    let res = app
        .call(
            Method::GET,
            &format!("/api/alice/lists/{list}"),
            Some(&alice),
            None,
        )
        .await;
    res.problem(404);
}

#[actix_web::test]
async fn an_assignee_must_be_a_member_and_is_found_by_the_filter() {
    let app = app().await;
    let (alice, bob, carol, list) = shared(&app).await;
    app.user("dave", None).await;
    let res = app
        .call(
            Method::POST,
            "/api/alice/tasks",
            Some(&alice),
            Some(json!({"title": "x", "list_id": list, "assignee_id": "dave"})),
        )
        .await;
    assert_eq!(res.body["errors"][0]["field"], "assignee_id", "{}", res.raw);
    res.problem(422);
    let for_carol = app
        .create_with(
            "alice",
            &alice,
            json!({"title": "c", "list_id": list, "assignee_id": "carol"}),
        )
        .await;
    assert_eq!(for_carol["assignee_id"], "carol");
    let for_bob = app
        .create_with("bob", &bob, json!({"title": "b", "list_id": list}))
        .await;
    assert_eq!(for_bob["user_id"], "bob");
    let url = format!("/api/bob/tasks/{}", for_bob["id"].as_str().unwrap());
    let res = app
        .call(
            Method::PATCH,
            &url,
            Some(&bob),
            Some(json!({"assignee_id": "dave"})),
        )
        .await;
    assert_eq!(res.body["errors"][0]["field"], "assignee_id", "{}", res.raw);
    res.problem(422);
    let res = app
        .call(
            Method::PATCH,
            &url,
            Some(&bob),
            Some(json!({"assignee_id": "bob"})),
        )
        .await;
    assert_eq!(res.body["assignee_id"], "bob", "{}", res.raw);
    let mine = app.get_ok("/api/carol/tasks?assignee=me", &carol).await;
    assert_eq!(ids(&mine), [for_carol["id"].as_str().unwrap()]);
    let bobs = app.get_ok("/api/alice/tasks?assignee=bob", &alice).await;
    assert_eq!(ids(&bobs), [for_bob["id"].as_str().unwrap()]);
    let res = app
        .call(
            Method::PATCH,
            &url,
            Some(&bob),
            Some(json!({"assignee_id": null})),
        )
        .await;
    assert_eq!(res.body["assignee_id"], Value::Null, "{}", res.raw);
    let res = app
        .call(
            Method::GET,
            "/api/alice/tasks?assignee=",
            Some(&alice),
            None,
        )
        .await;
    assert_eq!(res.body["errors"][0]["field"], "assignee", "{}", res.raw);
    res.problem(422);
    // Removing a member clears their assignments in the list.
    let res = app
        .call(
            Method::DELETE,
            &format!("/api/alice/lists/{list}/members/carol"),
            Some(&alice),
            None,
        )
        .await;
    assert_eq!(res.status, 204, "{}", res.raw);
    let task = app
        .get_ok(
            &format!("/api/alice/tasks/{}", for_carol["id"].as_str().unwrap()),
            &alice,
        )
        .await;
    assert_eq!(task["assignee_id"], Value::Null, "{task}");
    assert!(
        app.get_ok("/api/carol/tasks?assignee=me", &carol)
            .await
            .as_array()
            .unwrap()
            .is_empty()
    );
}

/// The deleted entries of `feed` (`{id, deleted, updated_at}`), by id.
fn tombstones(feed: &Value) -> Vec<String> {
    feed.as_array()
        .unwrap()
        .iter()
        .filter(|e| e["deleted"] == true)
        .map(|e| e["id"].as_str().unwrap().to_owned())
        .collect()
}

#[actix_web::test]
async fn losing_access_shows_tombstones_in_the_sync_feed() {
    let app = app().await;
    let (alice, bob, carol, list) = shared(&app).await;
    let mut tasks = Vec::new();
    for title in ["one", "two"] {
        let task = app
            .create_with("alice", &alice, json!({"title": title, "list_id": list}))
            .await;
        tasks.push(task["id"].as_str().unwrap().to_owned());
    }
    tasks.sort();
    let since = an_hour_ago();
    let feed = |who: &'static str, token: String| {
        let app = &app;
        let since = since.clone();
        async move {
            app.get_ok(
                &format!("/api/{who}/tasks?updated_since={since}&include_deleted=true"),
                &token,
            )
            .await
        }
    };
    // Carol sees the tasks, with the new fields.
    let before = feed("carol", carol.clone()).await;
    let entry = before
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["id"] == tasks[0].as_str())
        .unwrap();
    assert_eq!(entry["list_id"], list.as_str(), "{entry}");
    assert!(
        entry.get("subtask_count").is_some() && entry.get("assignee_id").is_some(),
        "{entry}"
    );
    // Removed: tombstones.
    let res = app
        .call(
            Method::DELETE,
            &format!("/api/alice/lists/{list}/members/carol"),
            Some(&alice),
            None,
        )
        .await;
    assert_eq!(res.status, 204, "{}", res.raw);
    let mut gone = tombstones(&feed("carol", carol.clone()).await);
    gone.sort();
    assert_eq!(gone, tasks, "removed");
    // Left: the same.
    let res = app
        .call(
            Method::DELETE,
            &format!("/api/bob/lists/{list}/members/bob"),
            Some(&bob),
            None,
        )
        .await;
    assert_eq!(res.status, 204, "{}", res.raw);
    let mut gone = tombstones(&feed("bob", bob.clone()).await);
    gone.sort();
    assert_eq!(gone, tasks, "left");
    assert!(
        app.get_ok("/api/bob/tasks", &bob)
            .await
            .as_array()
            .unwrap()
            .is_empty()
    );
    // The list deleted: its owner (and every member) gets them too.
    let res = app
        .call(
            Method::DELETE,
            &format!("/api/alice/lists/{list}"),
            Some(&alice),
            None,
        )
        .await;
    assert_eq!(res.status, 204, "{}", res.raw);
    let mut gone = tombstones(&feed("alice", alice.clone()).await);
    gone.sort();
    assert_eq!(gone, tasks, "deleted");
    let res = app
        .call(
            Method::GET,
            &format!("/api/alice/tasks/{}", tasks[0]),
            Some(&alice),
            None,
        )
        .await;
    res.problem(404);
}
