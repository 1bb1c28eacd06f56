//! Lists: create, read, change, order, archive, delete; the Inbox; paging; idempotent
//! creates; versions; limits.

use actix_web::http::Method;
use serde_json::json;
use todo_application::Limits;

use crate::harness::{Options, app, app_with, ids};

#[actix_web::test]
async fn a_created_list_is_answered_with_location_etag_and_every_field() {
    let app = app().await;
    let alice = app.user("alice", None).await;
    let res = app
        .call(
            Method::POST,
            "/api/alice/lists",
            Some(&alice),
            Some(json!({"name": "  Groceries ", "colour": "#FFaa00"})),
        )
        .await;
    assert_eq!(res.status, 201, "{}", res.raw);
    let list = &res.body;
    let id = list["id"].as_str().unwrap();
    assert_eq!(uuid::Uuid::parse_str(id).unwrap().get_version_num(), 7);
    assert_eq!(
        res.header("location").as_deref(),
        Some(format!("/api/alice/lists/{id}").as_str())
    );
    assert_eq!(res.header("etag").as_deref(), Some("\"1\""));
    let mut keys: Vec<&str> = list
        .as_object()
        .unwrap()
        .keys()
        .map(String::as_str)
        .collect();
    keys.sort_unstable();
    assert_eq!(
        keys,
        [
            "archived",
            "colour",
            "created_at",
            "id",
            "inbox",
            "member_count",
            "name",
            "owner_id",
            "position",
            "role",
            "updated_at",
            "version"
        ]
    );
    assert_eq!(list["name"], "Groceries");
    assert_eq!(list["colour"], "#ffaa00");
    assert_eq!(list["archived"], false);
    assert_eq!(list["inbox"], false);
    assert_eq!(list["owner_id"], "alice");
    assert_eq!(list["member_count"], 1);
    assert_eq!(list["role"], "owner");
    assert_eq!(list["version"], 1);
    assert_eq!(list["created_at"], list["updated_at"]);
    let got = app.get_ok(&format!("/api/alice/lists/{id}"), &alice).await;
    assert_eq!(&got, list);
    let plain = app.list("alice", &alice, "Plain").await;
    assert_eq!(plain["colour"], serde_json::Value::Null);
}

#[actix_web::test]
async fn every_bad_list_field_is_a_422_naming_it() {
    let app = app().await;
    let alice = app.user("alice", None).await;
    let list = app.list("alice", &alice, "Mine").await;
    let url = format!("/api/alice/lists/{}", list["id"].as_str().unwrap());
    for (method, path, body, field) in [
        (
            Method::POST,
            "/api/alice/lists",
            json!({"name": ""}),
            "name",
        ),
        (
            Method::POST,
            "/api/alice/lists",
            json!({"name": "   "}),
            "name",
        ),
        (
            Method::POST,
            "/api/alice/lists",
            json!({"name": "x".repeat(101)}),
            "name",
        ),
        (
            Method::POST,
            "/api/alice/lists",
            json!({"name": "a\u{7}b"}),
            "name",
        ),
        (
            Method::POST,
            "/api/alice/lists",
            json!({"name": "a", "colour": "red"}),
            "colour",
        ),
        (
            Method::POST,
            "/api/alice/lists",
            json!({"name": "a", "colour": "#12345"}),
            "colour",
        ),
        (
            Method::POST,
            "/api/alice/lists",
            json!({"name": "a", "position": "0"}),
            "position",
        ),
        (
            Method::POST,
            "/api/alice/lists",
            json!({"name": "a", "owner": "bob"}),
            "owner",
        ),
        (Method::PATCH, url.as_str(), json!({"name": null}), "name"),
        (
            Method::PATCH,
            url.as_str(),
            json!({"archived": null}),
            "archived",
        ),
        (
            Method::PATCH,
            url.as_str(),
            json!({"colour": "#zzzzzz"}),
            "colour",
        ),
    ] {
        let res = app
            .call(method.clone(), path, Some(&alice), Some(body.clone()))
            .await;
        let detail = res.problem(422);
        assert_eq!(
            res.body["errors"][0]["field"], field,
            "{method} {body}: {detail}"
        );
    }
    let res = app
        .call(
            Method::POST,
            "/api/alice/lists",
            Some(&alice),
            Some(json!({"name": 5})),
        )
        .await;
    res.problem(422);
    let res = app
        .call(
            Method::GET,
            "/api/alice/lists/not-a-uuid",
            Some(&alice),
            None,
        )
        .await;
    assert_eq!(res.body["errors"][0]["field"], "list_id", "{}", res.raw);
    res.problem(422);
    let res = app
        .call(
            Method::GET,
            "/api/alice/lists?archived=yes",
            Some(&alice),
            None,
        )
        .await;
    res.problem(422);
    let res = app
        .call(
            Method::GET,
            "/api/alice/lists?colour=red",
            Some(&alice),
            None,
        )
        .await;
    res.problem(422);
}

#[actix_web::test]
async fn a_list_is_renamed_recoloured_and_versioned_with_if_match() {
    let app = app().await;
    let alice = app.user("alice", None).await;
    let list = app.list("alice", &alice, "Mine").await;
    let url = format!("/api/alice/lists/{}", list["id"].as_str().unwrap());
    let res = app
        .call_with(
            Method::PATCH,
            &url,
            Some(&alice),
            Some(json!({"name": "Ours", "colour": "#000000"})),
            &[("if-match", "\"1\"")],
        )
        .await;
    assert_eq!(res.status, 200, "{}", res.raw);
    assert_eq!(res.header("etag").as_deref(), Some("\"2\""));
    assert_eq!(res.body["name"], "Ours");
    assert_eq!(res.body["version"], 2);
    // A stale version changes nothing and names the current one.
    let res = app
        .call_with(
            Method::PATCH,
            &url,
            Some(&alice),
            Some(json!({"name": "Stale"})),
            &[("if-match", "\"1\"")],
        )
        .await;
    let detail = res.problem(412);
    assert!(detail.contains("list"), "{detail}");
    assert_eq!(res.header("etag").as_deref(), Some("\"2\""));
    let res = app
        .call_with(
            Method::DELETE,
            &url,
            Some(&alice),
            None,
            &[("if-match", "\"1\"")],
        )
        .await;
    res.problem(412);
    let res = app
        .call_with(
            Method::PATCH,
            &url,
            Some(&alice),
            Some(json!({})),
            &[("if-match", "W/\"2\"")],
        )
        .await;
    res.problem(400);
    // `null` clears the colour.
    let res = app
        .call(
            Method::PATCH,
            &url,
            Some(&alice),
            Some(json!({"colour": null})),
        )
        .await;
    assert_eq!(res.body["colour"], serde_json::Value::Null, "{}", res.raw);
    assert_eq!(res.body["name"], "Ours");
    // If-None-Match saves the body.
    let res = app
        .call_with(
            Method::GET,
            &url,
            Some(&alice),
            None,
            &[("if-none-match", "\"3\"")],
        )
        .await;
    assert_eq!(res.status, 304, "{}", res.raw);
    assert_eq!(res.header("etag").as_deref(), Some("\"3\""));
    let res = app
        .call_with(
            Method::GET,
            &url,
            Some(&alice),
            None,
            &[("if-none-match", "\"2\"")],
        )
        .await;
    assert_eq!(res.status, 200);
    let res = app
        .call_with(
            Method::DELETE,
            &url,
            Some(&alice),
            None,
            &[("if-match", "\"3\"")],
        )
        .await;
    assert_eq!(res.status, 204, "{}", res.raw);
    let res = app.call(Method::GET, &url, Some(&alice), None).await;
    res.problem(404);
}

#[actix_web::test]
async fn the_inbox_is_created_on_first_need_and_cannot_be_deleted_shared_transferred_or_archived() {
    let app = app().await;
    let alice = app.user("alice", None).await;
    app.user("bob", None).await;
    let lists = app.get_ok("/api/alice/lists", &alice).await;
    let lists = lists.as_array().unwrap();
    assert_eq!(lists.len(), 1, "{lists:?}");
    let inbox = &lists[0];
    assert_eq!(inbox["name"], "Inbox");
    assert_eq!(inbox["inbox"], true);
    assert_eq!(inbox["role"], "owner");
    let id = inbox["id"].as_str().unwrap();
    // Tasks without a list go there; the same Inbox every time.
    let task = app.create("alice", &alice, "Loose").await;
    assert_eq!(task["list_id"], id);
    assert_eq!(task["parent_id"], serde_json::Value::Null);
    assert_eq!(task["assignee_id"], serde_json::Value::Null);
    assert_eq!(task["subtask_count"], 0);
    assert_eq!(
        app.get_ok("/api/alice/lists", &alice)
            .await
            .as_array()
            .unwrap()
            .len(),
        1
    );
    let url = format!("/api/alice/lists/{id}");
    for (method, path, body) in [
        (Method::DELETE, url.clone(), None),
        (
            Method::POST,
            format!("{url}/members"),
            Some(json!({"user_id": "bob", "role": "viewer"})),
        ),
        (
            Method::POST,
            format!("{url}/transfer"),
            Some(json!({"user_id": "bob"})),
        ),
        (Method::PATCH, url.clone(), Some(json!({"archived": true}))),
    ] {
        let res = app.call(method.clone(), &path, Some(&alice), body).await;
        let detail = res.problem(409);
        assert!(detail.contains("Inbox"), "{method} {path}: {detail}");
    }
    // It can be renamed.
    let res = app
        .call(
            Method::PATCH,
            &url,
            Some(&alice),
            Some(json!({"name": "Unsorted"})),
        )
        .await;
    assert_eq!(res.status, 200, "{}", res.raw);
    // A user's first create, of a list, also makes the Inbox (first).
    let bob = app.token("bob");
    let list = app.list("bob", &bob, "Work").await;
    let all = app.get_ok("/api/bob/lists", &bob).await;
    assert_eq!(all[0]["inbox"], true, "{all}");
    assert_eq!(all[1]["id"], list["id"]);
}

#[actix_web::test]
async fn archived_lists_and_their_tasks_are_hidden_unless_asked_for() {
    let app = app().await;
    let alice = app.user("alice", None).await;
    let list = app.list("alice", &alice, "Old").await;
    let id = list["id"].as_str().unwrap();
    let task = app
        .create_with("alice", &alice, json!({"title": "Old task", "list_id": id}))
        .await;
    let kept = app.create("alice", &alice, "Kept").await;
    let res = app
        .call(
            Method::PATCH,
            &format!("/api/alice/lists/{id}"),
            Some(&alice),
            Some(json!({"archived": true})),
        )
        .await;
    assert_eq!(res.body["archived"], true, "{}", res.raw);
    let lists = app.get_ok("/api/alice/lists", &alice).await;
    assert!(!ids(&lists).contains(&id.to_owned()), "{lists}");
    let archived = app.get_ok("/api/alice/lists?archived=true", &alice).await;
    assert_eq!(ids(&archived), [id]);
    let tasks = app.get_ok("/api/alice/tasks", &alice).await;
    assert_eq!(ids(&tasks), [kept["id"].as_str().unwrap()]);
    let tasks = app.get_ok("/api/alice/tasks?archived=true", &alice).await;
    assert!(
        ids(&tasks).contains(&task["id"].as_str().unwrap().to_owned()),
        "{tasks}"
    );
    let tasks = app
        .get_ok(&format!("/api/alice/tasks?list_id={id}"), &alice)
        .await;
    assert_eq!(ids(&tasks), [task["id"].as_str().unwrap()]);
    // Still there by id.
    app.get_ok(
        &format!("/api/alice/tasks/{}", task["id"].as_str().unwrap()),
        &alice,
    )
    .await;
}

#[actix_web::test]
async fn lists_are_paged_by_position_with_a_link() {
    let app = app_with(Options {
        max_limit: 2,
        default_limit: 2,
        ..Options::default()
    })
    .await;
    let alice = app.user("alice", None).await;
    let mut made = Vec::new();
    for name in ["a", "b", "c", "d"] {
        made.push(
            app.list("alice", &alice, name).await["id"]
                .as_str()
                .unwrap()
                .to_owned(),
        );
    }
    let mut seen = Vec::new();
    let mut url = "/api/alice/lists".to_owned();
    for _ in 0..10 {
        let res = app.call(Method::GET, &url, Some(&alice), None).await;
        assert_eq!(res.status, 200, "{}", res.raw);
        seen.extend(ids(&res.body));
        match res.header("link") {
            Some(link) => {
                assert!(link.ends_with(">; rel=\"next\""), "{link}");
                url = link
                    .trim_start_matches('<')
                    .split('>')
                    .next()
                    .unwrap()
                    .to_owned();
                assert!(url.starts_with("/api/alice/lists?cursor="), "{url}");
            }
            None => break,
        }
    }
    assert_eq!(seen.len(), 5, "the Inbox and four lists: {seen:?}");
    assert_eq!(&seen[1..], made.as_slice());
    let res = app
        .call(
            Method::GET,
            "/api/alice/lists?cursor=garbage",
            Some(&alice),
            None,
        )
        .await;
    assert_eq!(res.body["errors"][0]["field"], "cursor", "{}", res.raw);
    res.problem(422);
    let res = app
        .call(Method::GET, "/api/alice/lists?limit=3", Some(&alice), None)
        .await;
    res.problem(422);
}

#[actix_web::test]
async fn a_list_moves_between_its_neighbours() {
    let app = app().await;
    let alice = app.user("alice", None).await;
    let a = app.list("alice", &alice, "a").await["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let b = app.list("alice", &alice, "b").await["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let c = app.list("alice", &alice, "c").await["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let names = |lists: &serde_json::Value| -> Vec<String> {
        lists
            .as_array()
            .unwrap()
            .iter()
            .filter(|l| l["inbox"] == false)
            .map(|l| l["name"].as_str().unwrap().to_owned())
            .collect()
    };
    let res = app
        .call_with(
            Method::POST,
            &format!("/api/alice/lists/{c}/move"),
            Some(&alice),
            Some(json!({"before": a})),
            &[("if-match", "\"1\"")],
        )
        .await;
    assert_eq!(res.status, 200, "{}", res.raw);
    assert_eq!(res.header("etag").as_deref(), Some("\"2\""));
    assert_eq!(
        names(&app.get_ok("/api/alice/lists", &alice).await),
        ["c", "a", "b"]
    );
    let res = app
        .call(
            Method::POST,
            &format!("/api/alice/lists/{c}/move"),
            Some(&alice),
            Some(json!({"after": b})),
        )
        .await;
    assert_eq!(res.status, 200, "{}", res.raw);
    assert_eq!(
        names(&app.get_ok("/api/alice/lists", &alice).await),
        ["a", "b", "c"]
    );
    for (body, field) in [
        (json!({"after": c}), "after"),
        (json!({"before": "nope"}), "before"),
        (json!({"after": uuid::Uuid::now_v7().to_string()}), "after"),
    ] {
        let res = app
            .call(
                Method::POST,
                &format!("/api/alice/lists/{c}/move"),
                Some(&alice),
                Some(body.clone()),
            )
            .await;
        res.problem(422);
        assert_eq!(res.body["errors"][0]["field"], field, "{body}: {}", res.raw);
    }
    for body in [json!({}), json!({"after": a, "before": b})] {
        let res = app
            .call(
                Method::POST,
                &format!("/api/alice/lists/{c}/move"),
                Some(&alice),
                Some(body),
            )
            .await;
        res.problem(422);
    }
}

#[actix_web::test]
async fn an_idempotency_key_creates_one_list_and_is_not_taken_for_a_task() {
    let app = app().await;
    let alice = app.user("alice", None).await;
    let create = |key: &'static str, body: serde_json::Value| {
        let alice = alice.clone();
        let app = &app;
        async move {
            app.call_with(
                Method::POST,
                "/api/alice/lists",
                Some(&alice),
                Some(body),
                &[("idempotency-key", key)],
            )
            .await
        }
    };
    let first = create("k1", json!({"name": "Once"})).await;
    assert_eq!(first.status, 201, "{}", first.raw);
    assert_eq!(first.header("idempotent-replayed"), None);
    let again = create("k1", json!({"name": "Once"})).await;
    assert_eq!(again.status, 201, "{}", again.raw);
    assert_eq!(again.header("idempotent-replayed").as_deref(), Some("true"));
    assert_eq!(again.body["id"], first.body["id"]);
    let other = create("k1", json!({"name": "Twice"})).await;
    assert_eq!(
        other.body["errors"][0]["field"], "Idempotency-Key",
        "{}",
        other.raw
    );
    other.problem(422);
    // A key a task create used, with a body a list create could send too.
    let res = app
        .call_with(
            Method::POST,
            "/api/alice/tasks",
            Some(&alice),
            Some(json!({"title": "t"})),
            &[("idempotency-key", "k2")],
        )
        .await;
    assert_eq!(res.status, 201, "{}", res.raw);
    let res = create("k2", json!({"title": "t"})).await;
    res.problem(422);
    let res = app
        .call_with(
            Method::POST,
            "/api/alice/tasks",
            Some(&alice),
            Some(json!({"name": "Once"})),
            &[("idempotency-key", "k1")],
        )
        .await;
    res.problem(422);
    let lists = app.get_ok("/api/alice/lists", &alice).await;
    assert_eq!(
        lists.as_array().unwrap().len(),
        2,
        "the Inbox and one list: {lists}"
    );
}

#[actix_web::test]
async fn a_list_filled_one_task_at_a_time_stops_at_its_open_task_limit() {
    // The service adds tasks to a list far below its limit without counting them in the
    // insert (a tenth and at least 100 below it), and counts in every insert above that:
    // with 150, the first 50 go in unchecked, the rest checked.
    let app = app_with(Options {
        limits: Limits {
            open_tasks_per_list: 150,
            ..Limits::default()
        },
        ..Options::default()
    })
    .await;
    let alice = app.user("alice", None).await;
    let list = app.list("alice", &alice, "Errands").await;
    let id = list["id"].as_str().unwrap();
    let mut first = None;
    for n in 0..150 {
        let task = app
            .create_with(
                "alice",
                &alice,
                json!({"title": n.to_string(), "list_id": id}),
            )
            .await;
        first.get_or_insert(task);
    }
    let res = app
        .call(
            Method::POST,
            "/api/alice/tasks",
            Some(&alice),
            Some(json!({"title": "151", "list_id": id})),
        )
        .await;
    let detail = res.problem(422);
    assert!(
        detail.contains("at most 150 open tasks per list"),
        "{detail}"
    );
    let open = app
        .get_ok(
            &format!("/api/alice/tasks?list_id={id}&status=pending&limit=200"),
            &alice,
        )
        .await;
    assert_eq!(open.as_array().unwrap().len(), 150);
    // A task done makes room for one more.
    let done = first.unwrap();
    let toggle = format!("/api/alice/tasks/{}/complete", done["id"].as_str().unwrap());
    assert_eq!(
        app.call(Method::PATCH, &toggle, Some(&alice), None)
            .await
            .status,
        200
    );
    app.create_with("alice", &alice, json!({"title": "151", "list_id": id}))
        .await;
}

#[actix_web::test]
async fn limits_are_422s_that_say_which() {
    let app = app_with(Options {
        limits: Limits {
            lists_per_user: 2,
            members_per_list: 2,
            open_tasks_per_list: 2,
            nesting_depth: 2,
        },
        ..Options::default()
    })
    .await;
    let alice = app.user("alice", None).await;
    app.user("bob", None).await;
    app.user("carol", None).await;
    // The Inbox counts.
    let list = app.list("alice", &alice, "One").await;
    let id = list["id"].as_str().unwrap();
    let res = app
        .call(
            Method::POST,
            "/api/alice/lists",
            Some(&alice),
            Some(json!({"name": "Two"})),
        )
        .await;
    let detail = res.problem(422);
    assert!(
        detail.contains("lists per user") && detail.contains('2'),
        "{detail}"
    );
    // The owner counts.
    app.share("alice", &alice, id, "bob", "viewer").await;
    let res = app
        .call(
            Method::POST,
            &format!("/api/alice/lists/{id}/members"),
            Some(&alice),
            Some(json!({"user_id": "carol", "role": "viewer"})),
        )
        .await;
    let detail = res.problem(422);
    assert!(detail.contains("members per list"), "{detail}");
    // Open tasks; a completed one does not count.
    let parent = app
        .create_with("alice", &alice, json!({"title": "1", "list_id": id}))
        .await;
    app.create_with(
        "alice",
        &alice,
        json!({"title": "done", "list_id": id, "completed": true}),
    )
    .await;
    app.create_with("alice", &alice, json!({"title": "2", "list_id": id}))
        .await;
    let res = app
        .call(
            Method::POST,
            "/api/alice/tasks",
            Some(&alice),
            Some(json!({"title": "3", "list_id": id})),
        )
        .await;
    let detail = res.problem(422);
    assert!(detail.contains("open tasks per list"), "{detail}");
    // Nesting: two levels here.
    let child = app
        .create_with(
            "alice",
            &alice,
            json!({"title": "child", "parent_id": parent["id"], "completed": true}),
        )
        .await;
    let res = app
        .call(
            Method::POST,
            "/api/alice/tasks",
            Some(&alice),
            Some(json!({"title": "grandchild", "parent_id": child["id"], "completed": true})),
        )
        .await;
    res.problem(422);
    assert_eq!(res.body["errors"][0]["field"], "parent_id", "{}", res.raw);
}

#[actix_web::test]
async fn the_openapi_document_describes_every_list_operation() {
    let app = app().await;
    let doc = app
        .call(Method::GET, "/openapi.json", None, None)
        .await
        .body;
    let paths = &doc["paths"];
    for (path, methods) in [
        ("/api/{user_id}/lists", &["get", "post"][..]),
        (
            "/api/{user_id}/lists/{list_id}",
            &["get", "patch", "delete"],
        ),
        ("/api/{user_id}/lists/{list_id}/move", &["post"]),
        ("/api/{user_id}/lists/{list_id}/transfer", &["post"]),
        ("/api/{user_id}/lists/{list_id}/members", &["get", "post"]),
        (
            "/api/{user_id}/lists/{list_id}/members/{member_id}",
            &["patch", "delete"],
        ),
    ] {
        for method in methods {
            let op = &paths[path][method];
            assert!(op.is_object(), "{method} {path} is missing");
            for status in ["401", "403", "404", "422", "429"] {
                if path == "/api/{user_id}/lists" && status == "404" {
                    continue;
                }
                assert!(
                    op["responses"][status].is_object(),
                    "{method} {path} declares {status}"
                );
            }
        }
    }
    let schemas = &doc["components"]["schemas"];
    assert_eq!(
        schemas["ListRole"]["enum"],
        json!(["viewer", "editor", "owner"])
    );
    assert_eq!(schemas["MemberRole"]["enum"], json!(["viewer", "editor"]));
    // 100 characters once trimmed: in the pattern (white space around is not counted),
    // held to the server by `document::list_names_and_positions_have_the_patterns_the_server_applies`.
    assert!(
        schemas["CreateList"]["properties"]["name"]["pattern"]
            .as_str()
            .unwrap()
            .contains("{0,98}")
    );
    assert_eq!(
        schemas["CreateList"]["properties"]["colour"]["pattern"],
        "^#[0-9A-Fa-f]{6}$"
    );
    for field in ["list_id", "parent_id", "subtask_count", "assignee_id"] {
        assert!(
            schemas["TaskDto"]["required"]
                .as_array()
                .unwrap()
                .contains(&json!(field)),
            "TaskDto.{field} is always present"
        );
    }
}
