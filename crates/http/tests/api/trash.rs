//! The trash: what a delete puts there, restoring a task (into its list or the Inbox) and a
//! list (with its tasks and members), forgetting entries, paging, the sync feed after a
//! restore, the purge, and who may do what.

use actix_web::http::Method;
use chrono::{DateTime, TimeDelta, Utc};
use serde_json::{Value, json};

use crate::access_matrix::an_hour_ago;
use crate::harness::{Options, TestApp, app, app_with, ids};

fn id(value: &Value) -> String {
    value["id"].as_str().unwrap().to_owned()
}

fn instant(value: &Value) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(value.as_str().unwrap())
        .unwrap()
        .with_timezone(&Utc)
}

/// `DELETE path` as `token`; asserts 204.
async fn delete(app: &TestApp, path: &str, token: &str) {
    let res = app.call(Method::DELETE, path, Some(token), None).await;
    assert_eq!(res.status, 204, "DELETE {path}: {}", res.raw);
}

/// `POST /api/{who}/trash/{entry}/restore` as `token`.
async fn restore(app: &TestApp, who: &str, token: &str, entry: &str) -> crate::harness::Response {
    app.call(
        Method::POST,
        &format!("/api/{who}/trash/{entry}/restore"),
        Some(token),
        None,
    )
    .await
}

/// `who`'s Inbox id.
async fn inbox(app: &TestApp, who: &str, token: &str) -> String {
    let lists = app.get_ok(&format!("/api/{who}/lists"), token).await;
    lists
        .as_array()
        .unwrap()
        .iter()
        .find(|l| l["inbox"] == true)
        .map(id)
        .expect("an Inbox")
}

#[actix_web::test]
async fn a_deleted_task_is_one_entry_with_its_subtasks_and_comes_back_whole() {
    let app = app().await;
    let alice = app.user("alice", None).await;
    let list = id(&app.list("alice", &alice, "Work").await);
    let parent = app
        .create_with(
            "alice",
            &alice,
            json!({"title": "Plan the trip", "list_id": list}),
        )
        .await;
    let child = app
        .create_with(
            "alice",
            &alice,
            json!({"title": "Book", "parent_id": id(&parent)}),
        )
        .await;
    let grandchild = app
        .create_with(
            "alice",
            &alice,
            json!({"title": "Compare", "parent_id": id(&child)}),
        )
        .await;
    let before = app
        .get_ok(&format!("/api/alice/tasks/{}", id(&parent)), &alice)
        .await;
    assert!(
        app.get_ok("/api/alice/trash", &alice)
            .await
            .as_array()
            .unwrap()
            .is_empty()
    );

    delete(&app, &format!("/api/alice/tasks/{}", id(&parent)), &alice).await;
    let trash = app.get_ok("/api/alice/trash", &alice).await;
    assert_eq!(ids(&trash), [id(&parent)], "one entry: {trash}");
    let entry = &trash[0];
    assert_eq!(entry["kind"], "task");
    assert_eq!(entry["title"], "Plan the trip");
    assert_eq!(entry["list_id"], list.as_str());
    assert_eq!(entry["task_count"], 3);
    assert_eq!(
        instant(&entry["purge_at"]) - instant(&entry["deleted_at"]),
        TimeDelta::days(30)
    );
    let mut keys: Vec<_> = entry.as_object().unwrap().keys().cloned().collect();
    keys.sort();
    assert_eq!(
        keys,
        [
            "deleted_at",
            "id",
            "kind",
            "list_id",
            "purge_at",
            "task_count",
            "title"
        ]
    );
    for task in [&parent, &child, &grandchild] {
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

    let res = restore(&app, "alice", &alice, &id(&parent)).await;
    assert_eq!(res.status, 200, "{}", res.raw);
    assert_eq!(res.body["id"], id(&parent).as_str());
    assert_eq!(res.body["kind"], "task");
    assert_eq!(res.body["list_id"], list.as_str());
    assert_eq!(res.body["task_count"], 3);
    assert!(
        app.get_ok("/api/alice/trash", &alice)
            .await
            .as_array()
            .unwrap()
            .is_empty(),
        "the entry is gone"
    );
    let back = app
        .get_ok(&format!("/api/alice/tasks/{}", id(&parent)), &alice)
        .await;
    assert_eq!(back["title"], "Plan the trip");
    assert_eq!(back["list_id"], list.as_str());
    assert_eq!(back["parent_id"], Value::Null);
    assert_eq!(back["subtask_count"], 1);
    assert!(
        back["version"].as_i64().unwrap() > before["version"].as_i64().unwrap(),
        "a new version: {back}"
    );
    assert!(instant(&back["updated_at"]) > instant(&before["updated_at"]));
    let child = app
        .get_ok(&format!("/api/alice/tasks/{}", id(&child)), &alice)
        .await;
    assert_eq!(child["parent_id"], id(&parent).as_str());
    let grandchild = app
        .get_ok(&format!("/api/alice/tasks/{}", id(&grandchild)), &alice)
        .await;
    assert_eq!(grandchild["parent_id"], id(&child).as_str());
    assert_eq!(grandchild["list_id"], list.as_str());

    // Once restored, it is no longer in the trash.
    restore(&app, "alice", &alice, &id(&parent))
        .await
        .problem(404);
}

#[actix_web::test]
async fn a_task_comes_back_in_the_inbox_when_its_restorer_can_no_longer_edit_its_list() {
    let app = app().await;
    let alice = app.user("alice", None).await;
    let bob = app.user("bob", None).await;
    let list = id(&app.list("alice", &alice, "Shared").await);
    app.share("alice", &alice, &list, "bob", "editor").await;
    let mut tasks = Vec::new();
    for title in ["stays", "demoted", "removed"] {
        let task = app
            .create_with("bob", &bob, json!({"title": title, "list_id": list}))
            .await;
        delete(&app, &format!("/api/bob/tasks/{}", id(&task)), &bob).await;
        tasks.push(id(&task));
    }
    // In bob's trash (the deleter's), not in alice's.
    assert_eq!(ids(&app.get_ok("/api/bob/trash", &bob).await).len(), 3);
    assert!(
        app.get_ok("/api/alice/trash", &alice)
            .await
            .as_array()
            .unwrap()
            .is_empty()
    );
    let bobs_inbox = inbox(&app, "bob", &bob).await;

    // Still an editor: back into the list.
    let res = restore(&app, "bob", &bob, &tasks[0]).await;
    assert_eq!(res.status, 200, "{}", res.raw);
    assert_eq!(res.body["list_id"], list.as_str());
    let task = app
        .get_ok(&format!("/api/bob/tasks/{}", tasks[0]), &bob)
        .await;
    assert_eq!(task["list_id"], list.as_str());

    // A viewer now: into bob's Inbox.
    let res = app
        .call(
            Method::PATCH,
            &format!("/api/alice/lists/{list}/members/bob"),
            Some(&alice),
            Some(json!({"role": "viewer"})),
        )
        .await;
    assert_eq!(res.status, 200, "{}", res.raw);
    let res = restore(&app, "bob", &bob, &tasks[1]).await;
    assert_eq!(res.status, 200, "{}", res.raw);
    assert_eq!(res.body["list_id"], bobs_inbox.as_str(), "{}", res.raw);
    let task = app
        .get_ok(&format!("/api/bob/tasks/{}", tasks[1]), &bob)
        .await;
    assert_eq!(task["list_id"], bobs_inbox.as_str());
    assert_eq!(task["title"], "demoted");

    // No member any more: into bob's Inbox too, which alice cannot see.
    delete(
        &app,
        &format!("/api/alice/lists/{list}/members/bob"),
        &alice,
    )
    .await;
    let res = restore(&app, "bob", &bob, &tasks[2]).await;
    assert_eq!(res.status, 200, "{}", res.raw);
    assert_eq!(res.body["list_id"], bobs_inbox.as_str(), "{}", res.raw);
    let task = app
        .get_ok(&format!("/api/bob/tasks/{}", tasks[2]), &bob)
        .await;
    assert_eq!(task["list_id"], bobs_inbox.as_str());
    let res = app
        .call(
            Method::GET,
            &format!("/api/alice/tasks/{}", tasks[2]),
            Some(&alice),
            None,
        )
        .await;
    res.problem(404);
}

#[actix_web::test]
async fn a_deleted_list_comes_back_with_its_tasks_and_members() {
    let app = app().await;
    let alice = app.user("alice", None).await;
    let bob = app.user("bob", None).await;
    let carol = app.user("carol", None).await;
    let list = id(&app.list("alice", &alice, "Trip").await);
    app.share("alice", &alice, &list, "bob", "editor").await;
    app.share("alice", &alice, &list, "carol", "viewer").await;
    let top = app
        .create_with("alice", &alice, json!({"title": "Pack", "list_id": list}))
        .await;
    let sub = app
        .create_with(
            "bob",
            &bob,
            json!({"title": "Socks", "parent_id": id(&top)}),
        )
        .await;

    delete(&app, &format!("/api/alice/lists/{list}"), &alice).await;
    let trash = app.get_ok("/api/alice/trash", &alice).await;
    assert_eq!(ids(&trash), [list.as_str()], "{trash}");
    assert_eq!(trash[0]["kind"], "list");
    assert_eq!(trash[0]["title"], "Trip");
    assert_eq!(trash[0]["list_id"], list.as_str());
    assert_eq!(trash[0]["task_count"], 2);
    // Only the deleter's trash holds it; the members no longer see the list.
    for (who, token) in [("bob", &bob), ("carol", &carol)] {
        assert!(
            app.get_ok(&format!("/api/{who}/trash"), token)
                .await
                .as_array()
                .unwrap()
                .is_empty()
        );
        let lists = app.get_ok(&format!("/api/{who}/lists"), token).await;
        assert!(!ids(&lists).contains(&list), "{who}: {lists}");
    }

    let res = restore(&app, "alice", &alice, &list).await;
    assert_eq!(res.status, 200, "{}", res.raw);
    assert_eq!(res.body["kind"], "list");
    assert_eq!(res.body["list_id"], list.as_str());
    assert_eq!(res.body["task_count"], 2);
    let back = app
        .get_ok(&format!("/api/alice/lists/{list}"), &alice)
        .await;
    assert_eq!(back["name"], "Trip");
    assert_eq!(back["member_count"], 3);
    assert_eq!(back["role"], "owner");
    let members = app
        .get_ok(&format!("/api/alice/lists/{list}/members"), &alice)
        .await;
    let roles: Vec<(String, String)> = members
        .as_array()
        .unwrap()
        .iter()
        .map(|m| {
            (
                m["user_id"].as_str().unwrap().to_owned(),
                m["role"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    assert_eq!(
        roles,
        [
            ("alice".to_owned(), "owner".to_owned()),
            ("bob".to_owned(), "editor".to_owned()),
            ("carol".to_owned(), "viewer".to_owned())
        ]
    );
    // Its members see it and its tasks again.
    for (who, token, role) in [("bob", &bob, "editor"), ("carol", &carol, "viewer")] {
        let seen = app.get_ok(&format!("/api/{who}/lists/{list}"), token).await;
        assert_eq!(seen["role"], role, "{who}");
        let tasks = app
            .get_ok(&format!("/api/{who}/tasks?list_id={list}"), token)
            .await;
        let mut got = ids(&tasks);
        got.sort();
        let mut want = vec![id(&top), id(&sub)];
        want.sort();
        assert_eq!(got, want, "{who}");
    }
    let sub = app
        .get_ok(&format!("/api/carol/tasks/{}", id(&sub)), &carol)
        .await;
    assert_eq!(sub["parent_id"], id(&top).as_str());
    assert_eq!(sub["user_id"], "bob");
    assert!(
        app.get_ok("/api/alice/trash", &alice)
            .await
            .as_array()
            .unwrap()
            .is_empty()
    );
}

#[actix_web::test]
async fn entries_are_forgotten_one_by_one_or_all_at_once() {
    let app = app().await;
    let alice = app.user("alice", None).await;
    let mut tasks = Vec::new();
    for title in ["one", "two", "three"] {
        let task = app.create("alice", &alice, title).await;
        delete(&app, &format!("/api/alice/tasks/{}", id(&task)), &alice).await;
        tasks.push(id(&task));
    }

    delete(&app, &format!("/api/alice/trash/{}", tasks[0]), &alice).await;
    restore(&app, "alice", &alice, &tasks[0]).await.problem(404);
    app.call(
        Method::DELETE,
        &format!("/api/alice/trash/{}", tasks[0]),
        Some(&alice),
        None,
    )
    .await
    .problem(404);
    let left = ids(&app.get_ok("/api/alice/trash", &alice).await);
    assert_eq!(left, [tasks[2].clone(), tasks[1].clone()], "newest first");

    delete(&app, "/api/alice/trash", &alice).await;
    assert!(
        app.get_ok("/api/alice/trash", &alice)
            .await
            .as_array()
            .unwrap()
            .is_empty()
    );
    // Emptying an empty trash is fine too.
    delete(&app, "/api/alice/trash", &alice).await;
    for task in &tasks {
        restore(&app, "alice", &alice, task).await.problem(404);
        app.call(
            Method::GET,
            &format!("/api/alice/tasks/{task}"),
            Some(&alice),
            None,
        )
        .await
        .problem(404);
    }
}

#[actix_web::test]
async fn another_users_entries_are_missing_and_their_paths_forbidden() {
    let app = app().await;
    let alice = app.user("alice", None).await;
    let bob = app.user("bob", None).await;
    let task = id(&app.create("alice", &alice, "private").await);
    delete(&app, &format!("/api/alice/tasks/{task}"), &alice).await;

    // Bob, in his own trash, does not find alice's entry.
    restore(&app, "bob", &bob, &task).await.problem(404);
    app.call(
        Method::DELETE,
        &format!("/api/bob/trash/{task}"),
        Some(&bob),
        None,
    )
    .await
    .problem(404);
    // Alice's trash is hers alone.
    for (method, path) in [
        (Method::GET, "/api/alice/trash".to_owned()),
        (Method::DELETE, "/api/alice/trash".to_owned()),
        (Method::DELETE, format!("/api/alice/trash/{task}")),
        (Method::POST, format!("/api/alice/trash/{task}/restore")),
    ] {
        let res = app.call(method.clone(), &path, Some(&bob), None).await;
        res.problem(403);
        let res = app.call(method.clone(), &path, None, None).await;
        res.problem(401);
    }
    assert_eq!(ids(&app.get_ok("/api/alice/trash", &alice).await), [task]);
}

#[actix_web::test]
async fn bad_ids_and_parameters_are_422s_naming_them() {
    let app = app().await;
    let alice = app.user("alice", None).await;
    for (method, path) in [
        (Method::POST, "/api/alice/trash/not-a-uuid/restore"),
        (Method::DELETE, "/api/alice/trash/not-a-uuid"),
    ] {
        let res = app.call(method, path, Some(&alice), None).await;
        res.problem(422);
        assert_eq!(res.body["errors"][0]["field"], "entry_id", "{}", res.raw);
    }
    for (query, field) in [
        ("limit=0", "limit"),
        ("limit=x", "limit"),
        ("cursor=nope", "cursor"),
        ("cursor=-5_00000000000000000000000000000abc", "cursor"),
        ("sort=title", "sort"),
    ] {
        let res = app
            .call(
                Method::GET,
                &format!("/api/alice/trash?{query}"),
                Some(&alice),
                None,
            )
            .await;
        res.problem(422);
        assert!(res.raw.contains(field), "{query}: {}", res.raw);
    }
    // Nothing there is a 404, like an entry that is not the caller's.
    restore(&app, "alice", &alice, &uuid::Uuid::now_v7().to_string())
        .await
        .problem(404);
}

#[actix_web::test]
async fn the_trash_pages_newest_first_with_a_link() {
    let app = app().await;
    let alice = app.user("alice", None).await;
    let mut deleted = Vec::new();
    for n in 0..5 {
        let task = app.create("alice", &alice, &format!("task {n}")).await;
        delete(&app, &format!("/api/alice/tasks/{}", id(&task)), &alice).await;
        deleted.push(id(&task));
    }
    deleted.reverse();

    let mut seen = Vec::new();
    let mut next = Some("/api/alice/trash?limit=2".to_owned());
    let mut pages = 0;
    while let Some(url) = next.take() {
        let res = app.call(Method::GET, &url, Some(&alice), None).await;
        assert_eq!(res.status, 200, "{url}: {}", res.raw);
        seen.extend(ids(&res.body));
        pages += 1;
        if let Some(link) = res.header("link") {
            assert!(link.ends_with(">; rel=\"next\""), "{link}");
            let target = link
                .strip_prefix('<')
                .and_then(|l| l.split_once('>'))
                .unwrap()
                .0
                .to_owned();
            assert!(target.starts_with("/api/alice/trash?cursor="), "{target}");
            assert!(target.ends_with("&limit=2"), "{target}");
            next = Some(target);
        }
    }
    assert_eq!(pages, 3);
    assert_eq!(seen, deleted);
    // Without a limit: one page, no Link.
    let res = app
        .call(Method::GET, "/api/alice/trash", Some(&alice), None)
        .await;
    assert_eq!(ids(&res.body), deleted);
    assert_eq!(res.header("link"), None);
}

#[actix_web::test]
async fn a_restore_is_an_upsert_after_the_tombstone_in_the_sync_feed() {
    let app = app().await;
    let alice = app.user("alice", None).await;
    let since = an_hour_ago();
    let task = id(&app.create("alice", &alice, "back again").await);
    delete(&app, &format!("/api/alice/tasks/{task}"), &alice).await;
    let feed = app
        .get_ok(
            &format!("/api/alice/tasks?updated_since={since}&include_deleted=true"),
            &alice,
        )
        .await;
    let tombstone = feed
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["id"] == task.as_str())
        .unwrap()
        .clone();
    assert_eq!(tombstone["deleted"], true, "{feed}");

    let res = restore(&app, "alice", &alice, &task).await;
    assert_eq!(res.status, 200, "{}", res.raw);
    // A client that last synced at the deletion gets the task back.
    let after_delete = tombstone["updated_at"].as_str().unwrap();
    let feed = app
        .get_ok(
            &format!(
                "/api/alice/tasks?updated_since={}&include_deleted=true",
                after_delete.replace('+', "%2B")
            ),
            &alice,
        )
        .await;
    let entries: Vec<&Value> = feed
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["id"] == task.as_str())
        .collect();
    let upsert = entries
        .iter()
        .find(|e| e.get("deleted").is_none())
        .unwrap_or_else(|| panic!("the restored task: {feed}"));
    assert_eq!(upsert["title"], "back again");
    assert!(instant(&upsert["updated_at"]) > instant(&tombstone["updated_at"]));
    // From before both, whatever the feed holds for it ends with the task itself.
    let feed = app
        .get_ok(
            &format!("/api/alice/tasks?updated_since={since}&include_deleted=true"),
            &alice,
        )
        .await;
    let entries: Vec<&Value> = feed
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["id"] == task.as_str())
        .collect();
    let last = entries.last().unwrap();
    assert!(last.get("deleted").is_none(), "{feed}");
    assert_eq!(last["version"], upsert["version"]);
    if let Some(first) = entries.iter().find(|e| e["deleted"] == true) {
        assert!(instant(&first["updated_at"]) < instant(&last["updated_at"]));
    }
}

#[actix_web::test]
async fn expired_entries_are_purged_and_the_retention_sets_purge_at() {
    let app = app_with(Options {
        trash_retention: TimeDelta::milliseconds(1),
        ..Options::default()
    })
    .await;
    let alice = app.user("alice", None).await;
    let task = id(&app.create("alice", &alice, "short-lived").await);
    delete(&app, &format!("/api/alice/tasks/{task}"), &alice).await;
    let trash = app.get_ok("/api/alice/trash", &alice).await;
    assert_eq!(
        instant(&trash[0]["purge_at"]) - instant(&trash[0]["deleted_at"]),
        TimeDelta::milliseconds(1)
    );
    tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    assert_eq!(app.services.trash.purge_expired().await.unwrap(), 1);
    assert!(
        app.get_ok("/api/alice/trash", &alice)
            .await
            .as_array()
            .unwrap()
            .is_empty()
    );
    restore(&app, "alice", &alice, &task).await.problem(404);
    assert_eq!(app.services.trash.purge_expired().await.unwrap(), 0);
}

#[actix_web::test]
async fn the_document_describes_the_trash() {
    let app = app().await;
    let doc = app
        .call(Method::GET, "/openapi.json", None, None)
        .await
        .body;
    let paths = &doc["paths"];
    for (path, method, statuses) in [
        (
            "/api/{user_id}/trash",
            "get",
            &["200", "401", "403", "422", "429"][..],
        ),
        (
            "/api/{user_id}/trash",
            "delete",
            &["204", "401", "403", "422", "429"][..],
        ),
        (
            "/api/{user_id}/trash/{entry_id}",
            "delete",
            &["204", "401", "403", "404", "422", "429"][..],
        ),
        (
            "/api/{user_id}/trash/{entry_id}/restore",
            "post",
            &["200", "401", "403", "404", "422", "429"][..],
        ),
    ] {
        let op = &paths[path][method];
        let mut declared: Vec<&str> = op["responses"]
            .as_object()
            .unwrap_or_else(|| panic!("{method} {path}"))
            .keys()
            .map(String::as_str)
            .collect();
        declared.sort_unstable();
        assert_eq!(declared, statuses, "{method} {path}");
        assert_eq!(op["tags"], json!(["trash"]));
    }
    let list = &paths["/api/{user_id}/trash"]["get"];
    let cursor = list["parameters"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["name"] == "cursor")
        .unwrap();
    assert_eq!(cursor["schema"]["pattern"], "^[0-9]+_[0-9a-f]{32}$");
    let entry = &doc["components"]["schemas"]["TrashEntryDto"];
    let mut required: Vec<&str> = entry["required"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f.as_str().unwrap())
        .collect();
    required.sort_unstable();
    assert_eq!(
        required,
        [
            "deleted_at",
            "id",
            "kind",
            "list_id",
            "purge_at",
            "task_count",
            "title"
        ]
    );
    assert_eq!(
        doc["components"]["schemas"]["TrashEntryKind"]["enum"],
        json!(["task", "list"])
    );
}
