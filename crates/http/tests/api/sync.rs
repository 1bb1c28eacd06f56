//! The manual order (`position`, `POST …/move`), idempotent creates (`Idempotency-Key`),
//! the sync feed (`include_deleted`), clearing completed tasks, tag counts, task stats,
//! and how the OpenAPI document describes them.

use std::collections::{BTreeMap, BTreeSet, VecDeque};

use actix_web::http::Method;
use actix_web::test::TestRequest;
use chrono::{SecondsFormat, TimeDelta, Utc};
use serde_json::{Value, json};
use todo_domain::{Due, TimeZone, Timestamp};

use crate::harness::*;

// ---------------------------------------------------------------------------------------
// Helpers
// ---------------------------------------------------------------------------------------

/// Percent-encodes a query value.
fn enc(text: &str) -> String {
    text.bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() || b"-._~".contains(&b) {
                char::from(b).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect()
}

/// An instant as the API writes them: RFC 3339, UTC, microseconds, `Z`.
fn stamp(t: Timestamp) -> String {
    t.to_rfc3339_opts(SecondsFormat::Micros, true)
}

/// The URL in a `Link: <url>; rel="next"` header.
fn next_url(link: &str) -> String {
    assert!(link.ends_with(">; rel=\"next\""), "{link}");
    link.trim_start_matches('<')
        .split('>')
        .next()
        .unwrap()
        .to_owned()
}

/// Asserts a 422 whose `errors[]` name exactly `fields`; returns the first message.
fn refused(res: &Response, fields: &[&str]) -> String {
    let detail = res.problem(422);
    let errors = res.body["errors"].as_array().expect("errors[]");
    let named: Vec<&str> = errors
        .iter()
        .map(|e| e["field"].as_str().unwrap())
        .collect();
    assert_eq!(named, fields, "{detail}");
    for field in fields {
        assert!(detail.contains(field), "{detail}");
    }
    errors[0]["message"].as_str().unwrap().to_owned()
}

/// Asserts a 400 about the request header `header`; returns the detail.
fn bad_header(res: &Response, header: &str) -> String {
    let detail = res.problem(400);
    let errors = res.body["errors"].as_array().expect("errors[]");
    assert_eq!(errors.len(), 1, "{}", res.raw);
    assert_eq!(errors[0]["field"], header, "{}", res.raw);
    assert!(detail.contains(header), "{detail}");
    detail
}

/// Whether `text` is a position as documented: base-62 digits, 1–128, not ending in `0`.
fn is_position(text: &str) -> bool {
    !text.is_empty()
        && text.len() <= 128
        && text.bytes().all(|b| b.is_ascii_alphanumeric())
        && !text.ends_with('0')
}

fn id_of(task: &Value) -> String {
    task["id"].as_str().expect("id").to_owned()
}

fn titles_of(body: &Value) -> Vec<String> {
    body.as_array()
        .unwrap_or_else(|| panic!("an array: {body}"))
        .iter()
        .map(|t| t["title"].as_str().unwrap().to_owned())
        .collect()
}

/// Alice and Bob, with their tokens.
async fn alice_and_bob() -> (TestApp, String, String) {
    let app = app().await;
    let alice = app.user("alice", None).await;
    let bob = app.user("bob", None).await;
    (app, alice, bob)
}

/// `GET path` as `token`; asserts 200 and returns the body.
async fn fetch(app: &TestApp, token: &str, path: &str) -> Value {
    let res = app.call(Method::GET, path, Some(token), None).await;
    assert_eq!(res.status, 200, "{path}: {}", res.raw);
    res.body
}

/// The titles `GET /api/alice/tasks?{query}` answers (one page).
async fn titles(app: &TestApp, token: &str, query: &str) -> Vec<String> {
    let res = app
        .call(
            Method::GET,
            &format!("/api/alice/tasks?{query}"),
            Some(token),
            None,
        )
        .await;
    assert_eq!(res.status, 200, "{query}: {}", res.raw);
    assert_eq!(res.header("link"), None, "{query}: one page");
    titles_of(&res.body)
}

/// Every page from `url` on, following `Link`: the entries in order and the links followed.
async fn every_page(app: &TestApp, token: &str, url: &str) -> (Vec<Value>, Vec<String>) {
    let mut url = url.to_owned();
    let mut items = Vec::new();
    let mut links = Vec::new();
    loop {
        let res = app.call(Method::GET, &url, Some(token), None).await;
        assert_eq!(res.status, 200, "{url}: {}", res.raw);
        items.extend(res.body.as_array().unwrap().iter().cloned());
        match res.header("link") {
            Some(link) => {
                url = next_url(&link);
                links.push(url.clone());
                assert!(links.len() < 50, "paging does not end");
            }
            None => break,
        }
    }
    (items, links)
}

/// `POST /api/{owner}/tasks/{id}/move` with `body` and extra `headers`.
async fn move_task(
    app: &TestApp,
    token: &str,
    owner: &str,
    id: &str,
    body: Value,
    headers: &[(&str, &str)],
) -> Response {
    app.call_with(
        Method::POST,
        &format!("/api/{owner}/tasks/{id}/move"),
        Some(token),
        Some(body),
        headers,
    )
    .await
}

/// Alice's tasks by title: `(version, position)`.
async fn versions_and_positions(app: &TestApp, token: &str) -> BTreeMap<String, (i64, String)> {
    fetch(app, token, "/api/alice/tasks")
        .await
        .as_array()
        .unwrap()
        .iter()
        .map(|t| {
            (
                t["title"].as_str().unwrap().to_owned(),
                (
                    t["version"].as_i64().unwrap(),
                    t["position"].as_str().unwrap().to_owned(),
                ),
            )
        })
        .collect()
}

/// Lets the clock move on, so that what happens next has a later timestamp.
async fn tick() {
    actix_web::rt::time::sleep(std::time::Duration::from_millis(3)).await;
}

// ---------------------------------------------------------------------------------------
// position
// ---------------------------------------------------------------------------------------

#[actix_web::test]
async fn every_task_has_a_position_and_later_tasks_come_after() {
    let (app, alice, _) = alice_and_bob().await;
    let mut positions = Vec::new();
    for title in ["first", "second", "third", "fourth"] {
        let task = app.create("alice", &alice, title).await;
        let position = task["position"]
            .as_str()
            .unwrap_or_else(|| panic!("position is a string: {task}"))
            .to_owned();
        assert!(is_position(&position), "{position}");
        let single = fetch(&app, &alice, &format!("/api/alice/tasks/{}", id_of(&task))).await;
        assert_eq!(single["position"], position.as_str());
        positions.push(position);
    }
    for pair in positions.windows(2) {
        assert!(
            pair[0].as_bytes() < pair[1].as_bytes(),
            "later tasks come after: {positions:?}"
        );
    }
    let listed: Vec<String> = fetch(&app, &alice, "/api/alice/tasks")
        .await
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["position"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(listed, positions, "the list shows the same positions");
    assert_eq!(
        titles(&app, &alice, "sort=position").await,
        ["first", "second", "third", "fourth"]
    );
    assert_eq!(
        titles(&app, &alice, "sort=-position").await,
        ["fourth", "third", "second", "first"]
    );
}

#[actix_web::test]
async fn a_position_can_be_chosen_on_create_and_changed_by_patch() {
    let (app, alice, _) = alice_and_bob().await;
    // A default position starts with the creation time's leading zero digits.
    let plain = app.create("alice", &alice, "plain").await;
    let mut ids = BTreeMap::from([("plain", id_of(&plain))]);
    assert!(
        plain["position"].as_str().unwrap() < "1",
        "{}",
        plain["position"]
    );
    for (title, position) in [
        ("lower a", "a"),
        ("upper V", "V"),
        ("digit 1", "1"),
        ("upper Z", "Z"),
    ] {
        let task = app
            .create_with(
                "alice",
                &alice,
                json!({"title": title, "position": position}),
            )
            .await;
        assert_eq!(task["position"], position, "{task}");
        ids.insert(title, id_of(&task));
    }
    // Byte order: digits, then capitals, then small letters ("V" < "Z" < "a").
    assert_eq!(
        titles(&app, &alice, "sort=position").await,
        ["plain", "digit 1", "upper V", "upper Z", "lower a"]
    );
    assert_eq!(
        titles(&app, &alice, "sort=-position").await,
        ["lower a", "upper Z", "upper V", "digit 1", "plain"]
    );
    assert_eq!(
        titles(&app, &alice, "").await,
        ["plain", "lower a", "upper V", "digit 1", "upper Z"],
        "the default order is still by creation"
    );

    let res = app
        .call(
            Method::PATCH,
            &format!("/api/alice/tasks/{}", ids["digit 1"]),
            Some(&alice),
            Some(json!({"position": "a1"})),
        )
        .await;
    assert_eq!(res.status, 200, "{}", res.raw);
    assert_eq!(res.body["position"], "a1");
    assert_eq!(res.body["title"], "digit 1");
    assert_eq!(res.body["version"], 2);
    assert_eq!(res.header("etag").as_deref(), Some("\"2\""));
    assert_eq!(
        titles(&app, &alice, "sort=position").await,
        ["plain", "upper V", "upper Z", "lower a", "digit 1"]
    );

    // PUT takes it too; the longest position is 128 digits.
    let longest = "z".repeat(128);
    let res = app
        .call(
            Method::PUT,
            &format!("/api/alice/tasks/{}", ids["plain"]),
            Some(&alice),
            Some(json!({"position": longest})),
        )
        .await;
    assert_eq!(res.status, 200, "{}", res.raw);
    assert_eq!(res.body["position"], longest.as_str());
    assert_eq!(
        titles(&app, &alice, "sort=position").await,
        ["upper V", "upper Z", "lower a", "digit 1", "plain"]
    );
    // Other edits keep the position.
    let res = app
        .call(
            Method::PATCH,
            &format!("/api/alice/tasks/{}", ids["upper V"]),
            Some(&alice),
            Some(json!({"title": "still V"})),
        )
        .await;
    assert_eq!(res.status, 200, "{}", res.raw);
    assert_eq!(res.body["position"], "V");
}

#[actix_web::test]
async fn invalid_positions_are_refused_naming_the_field() {
    let (app, alice, _) = alice_and_bob().await;
    let task = app.create("alice", &alice, "t").await;
    let url = format!("/api/alice/tasks/{}", id_of(&task));
    let too_long = "a".repeat(129);
    for bad in ["ab0", "0", "a-b", "", too_long.as_str(), "a b", "ä", "a.b"] {
        let res = app
            .call(
                Method::POST,
                "/api/alice/tasks",
                Some(&alice),
                Some(json!({"title": "x", "position": bad})),
            )
            .await;
        refused(&res, &["position"]);
        for method in [Method::PATCH, Method::PUT] {
            let res = app
                .call(method, &url, Some(&alice), Some(json!({"position": bad})))
                .await;
            refused(&res, &["position"]);
        }
    }
    let res = app
        .call(
            Method::PATCH,
            &url,
            Some(&alice),
            Some(json!({"position": null})),
        )
        .await;
    let message = refused(&res, &["position"]);
    assert!(message.contains("null"), "{message}");
    for bad in [json!(5), json!(["a"])] {
        let res = app
            .call(
                Method::PATCH,
                &url,
                Some(&alice),
                Some(json!({"position": bad})),
            )
            .await;
        res.problem(422);
    }
    // Nothing was created or changed.
    let list = fetch(&app, &alice, "/api/alice/tasks").await;
    assert_eq!(list.as_array().unwrap().len(), 1);
    assert_eq!(list[0]["position"], task["position"]);
    assert_eq!(list[0]["version"], 1);
}

// ---------------------------------------------------------------------------------------
// move
// ---------------------------------------------------------------------------------------

#[actix_web::test]
async fn moving_a_task_reorders_the_manual_list_and_changes_only_that_task() {
    let (app, alice, _) = alice_and_bob().await;
    let mut ids = BTreeMap::new();
    for title in ["a", "b", "c", "d"] {
        ids.insert(title, id_of(&app.create("alice", &alice, title).await));
    }
    assert_eq!(
        titles(&app, &alice, "sort=position").await,
        ["a", "b", "c", "d"]
    );
    let steps: [(&str, Value, [&str; 4]); 9] = [
        ("d", json!({"after": ids["a"]}), ["a", "d", "b", "c"]),
        ("a", json!({"before": ids["c"]}), ["d", "b", "a", "c"]),
        ("c", json!({"to": "top"}), ["c", "d", "b", "a"]),
        ("d", json!({"to": "bottom"}), ["c", "b", "a", "d"]),
        // After the last one, before the first one.
        ("b", json!({"after": ids["d"]}), ["c", "a", "d", "b"]),
        ("b", json!({"before": ids["c"]}), ["b", "c", "a", "d"]),
        // Where it already is: it stays there.
        ("a", json!({"after": ids["c"]}), ["b", "c", "a", "d"]),
        ("d", json!({"to": "bottom"}), ["b", "c", "a", "d"]),
        ("b", json!({"to": "top"}), ["b", "c", "a", "d"]),
    ];
    for (moved, body, expected) in steps {
        let before = versions_and_positions(&app, &alice).await;
        let res = move_task(&app, &alice, "alice", &ids[moved], body.clone(), &[]).await;
        assert_eq!(res.status, 200, "{moved} {body}: {}", res.raw);
        let task = &res.body;
        assert_eq!(task["id"], ids[moved].as_str());
        assert_eq!(task["title"], moved);
        let (version, _) = &before[moved];
        assert_eq!(task["version"], version + 1, "{body}");
        assert_eq!(
            res.header("etag"),
            Some(format!("\"{}\"", version + 1)),
            "{body}"
        );
        let position = task["position"].as_str().unwrap();
        assert!(is_position(position), "{position}");
        assert!(position.len() < 40, "{position}");
        assert_eq!(
            titles(&app, &alice, "sort=position").await,
            expected,
            "after moving {moved} with {body}"
        );
        let mut reversed = expected;
        reversed.reverse();
        assert_eq!(titles(&app, &alice, "sort=-position").await, reversed);
        // Only the moved task changed.
        let after = versions_and_positions(&app, &alice).await;
        for (title, now) in &after {
            if title == moved {
                assert_eq!(now.0, version + 1);
                assert_eq!(now.1, position);
            } else {
                assert_eq!(now, &before[title.as_str()], "{title} is untouched");
            }
        }
    }
    // Paging through the manual order gives the same order.
    let (tasks, links) = every_page(&app, &alice, "/api/alice/tasks?sort=position&limit=1").await;
    assert_eq!(titles_of(&Value::Array(tasks)), ["b", "c", "a", "d"]);
    assert_eq!(links.len(), 3);
    assert_eq!(
        titles(&app, &alice, "").await,
        ["a", "b", "c", "d"],
        "the default order is still by creation"
    );
}

#[actix_web::test]
async fn moving_to_the_top_or_bottom_again_and_again_keeps_positions_short() {
    let (app, alice, _) = alice_and_bob().await;
    let mut order = VecDeque::new();
    let mut ids = BTreeMap::new();
    for title in ["t0", "t1", "t2", "t3"] {
        ids.insert(title, id_of(&app.create("alice", &alice, title).await));
        order.push_back(title);
    }
    let check = |positions: &BTreeMap<String, (i64, String)>| {
        for (title, (_, position)) in positions {
            assert!(position.len() < 20, "{title}: {position}");
            assert!(is_position(position), "{title}: {position}");
        }
    };
    for round in 0..100 {
        let last = order.pop_back().unwrap();
        let res = move_task(&app, &alice, "alice", &ids[last], json!({"to": "top"}), &[]).await;
        assert_eq!(res.status, 200, "round {round}: {}", res.raw);
        order.push_front(last);
        assert_eq!(
            titles(&app, &alice, "sort=position").await,
            Vec::from(order.clone()),
            "round {round}"
        );
    }
    check(&versions_and_positions(&app, &alice).await);
    for round in 0..100 {
        let first = order.pop_front().unwrap();
        let res = move_task(
            &app,
            &alice,
            "alice",
            &ids[first],
            json!({"to": "bottom"}),
            &[],
        )
        .await;
        assert_eq!(res.status, 200, "round {round}: {}", res.raw);
        order.push_back(first);
        assert_eq!(
            titles(&app, &alice, "sort=position").await,
            Vec::from(order.clone()),
            "round {round}"
        );
    }
    check(&versions_and_positions(&app, &alice).await);
    // The same task to the top over and over stays first, with the same short position.
    let top = order[0];
    for _ in 0..20 {
        let res = move_task(&app, &alice, "alice", &ids[top], json!({"to": "top"}), &[]).await;
        assert_eq!(res.status, 200, "{}", res.raw);
        assert!(res.body["position"].as_str().unwrap().len() < 20);
    }
    assert_eq!(
        titles(&app, &alice, "sort=position").await,
        Vec::from(order.clone())
    );
}

#[actix_web::test]
async fn move_refuses_bad_requests_and_changes_nothing() {
    let (app, alice, bob) = alice_and_bob().await;
    let a = id_of(&app.create("alice", &alice, "a").await);
    let b = id_of(&app.create("alice", &alice, "b").await);
    let bobs = id_of(&app.create("bob", &bob, "bob's").await);
    let unknown = "0192f0c1-7c5e-7000-8000-000000000001";
    let before = versions_and_positions(&app, &alice).await;

    // Not exactly one of after, before, to.
    for body in [
        json!({}),
        json!({"after": b, "to": "top"}),
        json!({"after": b, "before": b}),
        json!({"before": b, "to": "bottom"}),
        json!({"after": b, "before": b, "to": "top"}),
        json!({"after": null, "before": null, "to": null}),
    ] {
        let res = move_task(&app, &alice, "alice", &a, body.clone(), &[]).await;
        let detail = res.problem(422);
        assert!(detail.contains("exactly one"), "{body}: {detail}");
    }
    let res = move_task(&app, &alice, "alice", &a, json!({"colour": "red"}), &[]).await;
    res.problem(422);
    // Bad values, each named.
    for (body, field) in [
        (json!({"to": "middle"}), "to"),
        (json!({"to": "TOP"}), "to"),
        (json!({"to": ""}), "to"),
        (json!({"after": "not-a-uuid"}), "after"),
        (json!({"before": "not-a-uuid"}), "before"),
        (json!({"after": a}), "after"),
        (json!({"before": a}), "before"),
        (json!({"after": unknown}), "after"),
        (json!({"before": unknown}), "before"),
        (json!({"after": bobs}), "after"),
        (json!({"before": bobs}), "before"),
    ] {
        let res = move_task(&app, &alice, "alice", &a, body.clone(), &[]).await;
        refused(&res, &[field]);
    }
    // A task that is not there, or not of this user.
    for body in [json!({"to": "top"}), json!({"after": b})] {
        let res = move_task(&app, &alice, "alice", unknown, body.clone(), &[]).await;
        res.problem(404);
        let res = move_task(&app, &alice, "alice", &bobs, body, &[]).await;
        res.problem(404);
    }
    let res = move_task(&app, &alice, "alice", "nope", json!({"to": "top"}), &[]).await;
    res.problem(422);
    let res = move_task(&app, &bob, "alice", &a, json!({"to": "bottom"}), &[]).await;
    res.problem(403);
    let res = app
        .call(
            Method::POST,
            &format!("/api/alice/tasks/{a}/move"),
            None,
            Some(json!({"to": "bottom"})),
        )
        .await;
    res.problem(401);
    // If-Match: a stale version, a malformed one.
    let res = move_task(
        &app,
        &alice,
        "alice",
        &a,
        json!({"to": "bottom"}),
        &[("If-Match", "\"7\"")],
    )
    .await;
    res.problem(412);
    assert_eq!(res.header("etag").as_deref(), Some("\"1\""));
    let res = move_task(
        &app,
        &alice,
        "alice",
        &a,
        json!({"to": "bottom"}),
        &[("If-Match", "7")],
    )
    .await;
    res.problem(400);
    assert_eq!(
        versions_and_positions(&app, &alice).await,
        before,
        "nothing moved"
    );
    assert_eq!(titles(&app, &alice, "sort=position").await, ["a", "b"]);
    assert_eq!(
        fetch(&app, &bob, &format!("/api/bob/tasks/{bobs}")).await["version"],
        1
    );

    // The current version moves it.
    let res = move_task(
        &app,
        &alice,
        "alice",
        &a,
        json!({"to": "bottom"}),
        &[("If-Match", "\"1\"")],
    )
    .await;
    assert_eq!(res.status, 200, "{}", res.raw);
    assert_eq!(res.header("etag").as_deref(), Some("\"2\""));
    assert_eq!(titles(&app, &alice, "sort=position").await, ["b", "a"]);
    let res = move_task(
        &app,
        &alice,
        "alice",
        &a,
        json!({"to": "top"}),
        &[("If-Match", "\"1\"")],
    )
    .await;
    res.problem(412);
    assert_eq!(res.header("etag").as_deref(), Some("\"2\""));
}

#[actix_web::test]
async fn moving_between_neighbours_that_share_a_position_is_a_conflict() {
    let (app, alice, _) = alice_and_bob().await;
    let mut ids = Vec::new();
    for title in ["x", "y", "z"] {
        ids.push(id_of(&app.create("alice", &alice, title).await));
    }
    // Before z's own position (the creation time's digits, which start with "00").
    for id in &ids[..2] {
        let res = app
            .call(
                Method::PATCH,
                &format!("/api/alice/tasks/{id}"),
                Some(&alice),
                Some(json!({"position": "0001"})),
            )
            .await;
        assert_eq!(res.status, 200, "{}", res.raw);
    }
    // x and y tie at "0001" (broken by id); z is after both.
    let order = titles(&app, &alice, "sort=position").await;
    assert_eq!(order[2], "z");
    let first = if order[0] == "x" { &ids[0] } else { &ids[1] };
    let before = versions_and_positions(&app, &alice).await;
    let res = move_task(&app, &alice, "alice", &ids[2], json!({"after": first}), &[]).await;
    res.problem(409);
    assert_eq!(versions_and_positions(&app, &alice).await, before);
    // Around them there is room.
    let res = move_task(&app, &alice, "alice", &ids[2], json!({"to": "top"}), &[]).await;
    assert_eq!(res.status, 200, "{}", res.raw);
    assert_eq!(titles(&app, &alice, "sort=position").await[0], "z");
}

#[actix_web::test]
async fn moves_find_room_between_any_two_neighbours() {
    for (low, high) in [
        ("V", "V1"),
        ("V", "V01"),
        ("1", "2"),
        ("Uz", "V"),
        ("y", "z"),
        ("zz", "zzz"),
        ("0001", "0002"),
        ("0000001", "1"),
    ] {
        let app = app().await;
        let alice = app.user("alice", None).await;
        let mut ids = Vec::new();
        for (title, position) in [("low", low), ("high", high), ("moved", "zzzzz")] {
            let task = app
                .create_with(
                    "alice",
                    &alice,
                    json!({"title": title, "position": position}),
                )
                .await;
            ids.push(id_of(&task));
        }
        let (lo, hi, moved) = (&ids[0], &ids[1], &ids[2]);
        for (body, expected) in [
            (json!({"after": lo}), ["low", "moved", "high"]),
            (json!({"to": "bottom"}), ["low", "high", "moved"]),
            (json!({"before": hi}), ["low", "moved", "high"]),
            (json!({"to": "top"}), ["moved", "low", "high"]),
        ] {
            let res = move_task(&app, &alice, "alice", moved, body.clone(), &[]).await;
            assert_eq!(res.status, 200, "{low} {high} {body}: {}", res.raw);
            let position = res.body["position"].as_str().unwrap();
            assert!(is_position(position), "{position}");
            assert_eq!(
                titles(&app, &alice, "sort=position").await,
                expected,
                "{low} {high} {body}: {position}"
            );
        }
    }
}

/// Documented on `TaskDto.position` ("A new task goes after every task created before
/// it") and `CreateTask.position` ("by default after every task created before it").
#[actix_web::test]
async fn a_new_task_goes_after_a_task_moved_to_the_bottom() {
    let (app, alice, _) = alice_and_bob().await;
    let a = id_of(&app.create("alice", &alice, "a").await);
    app.create("alice", &alice, "b").await;
    let res = move_task(&app, &alice, "alice", &a, json!({"to": "bottom"}), &[]).await;
    assert_eq!(res.status, 200, "{}", res.raw);
    assert_eq!(titles(&app, &alice, "sort=position").await, ["b", "a"]);
    app.create("alice", &alice, "c").await;
    assert_eq!(
        titles(&app, &alice, "sort=position").await,
        ["b", "a", "c"],
        "c was created after a, so it goes after a"
    );
}

#[actix_web::test]
async fn paging_through_the_manual_order_keeps_tasks_that_share_a_position() {
    let (app, alice, _) = alice_and_bob().await;
    for (title, position) in [
        ("v1", "V"),
        ("one", "1"),
        ("v2", "V"),
        ("v3", "V"),
        ("z", "z"),
    ] {
        app.create_with(
            "alice",
            &alice,
            json!({"title": title, "position": position}),
        )
        .await;
    }
    let all = titles(&app, &alice, "sort=position").await;
    assert_eq!(all[0], "one");
    assert_eq!(all[4], "z");
    let mut ties = all[1..4].to_vec();
    ties.sort();
    assert_eq!(ties, ["v1", "v2", "v3"]);
    for (sort, expected) in [
        ("position", all.clone()),
        ("-position", {
            let mut reversed = all.clone();
            reversed.reverse();
            reversed
        }),
    ] {
        for limit in [1, 2] {
            let (tasks, _) = every_page(
                &app,
                &alice,
                &format!("/api/alice/tasks?sort={sort}&limit={limit}"),
            )
            .await;
            assert_eq!(titles_of(&Value::Array(tasks)), expected, "{sort} {limit}");
        }
    }
}

// ---------------------------------------------------------------------------------------
// Idempotency-Key
// ---------------------------------------------------------------------------------------

/// `POST /api/{owner}/tasks` with `body` as raw bytes and the given headers.
async fn post_raw(
    app: &TestApp,
    token: &str,
    owner: &str,
    body: &str,
    headers: &[(&str, &str)],
) -> Response {
    let mut req = TestRequest::post()
        .uri(&format!("/api/{owner}/tasks"))
        .insert_header(("authorization", format!("Bearer {token}")))
        .insert_header(("content-type", "application/json"))
        .set_payload(body.to_owned());
    for (name, value) in headers {
        req = req.append_header((*name, *value));
    }
    app.send(req).await
}

async fn count(app: &TestApp, token: &str, owner: &str) -> usize {
    fetch(app, token, &format!("/api/{owner}/tasks"))
        .await
        .as_array()
        .unwrap()
        .len()
}

#[actix_web::test]
async fn a_retry_with_the_same_idempotency_key_replays_the_first_create() {
    let (app, alice, _) = alice_and_bob().await;
    let key = [("Idempotency-Key", "5f0c2a1e-8d4b-4f7a-9c3e-2b1d0a9f8e7d")];
    let body = json!({"title": "Buy milk", "priority": "high", "tags": ["home"]});
    let first = app
        .call_with(
            Method::POST,
            "/api/alice/tasks",
            Some(&alice),
            Some(body.clone()),
            &key,
        )
        .await;
    assert_eq!(first.status, 201, "{}", first.raw);
    assert_eq!(first.header("idempotent-replayed"), None);
    let id = id_of(&first.body);
    let location = format!("/api/alice/tasks/{id}");
    assert_eq!(first.header("location").as_deref(), Some(location.as_str()));

    let retry = app
        .call_with(
            Method::POST,
            "/api/alice/tasks",
            Some(&alice),
            Some(body.clone()),
            &key,
        )
        .await;
    assert_eq!(retry.status, 201, "{}", retry.raw);
    assert_eq!(retry.header("idempotent-replayed").as_deref(), Some("true"));
    assert_eq!(retry.header("location").as_deref(), Some(location.as_str()));
    assert_eq!(retry.header("etag").as_deref(), Some("\"1\""));
    assert_eq!(retry.body, first.body, "the same task");

    // The same JSON written differently: keys in another order, white space.
    for raw in [
        r#"{"tags":["home"],"priority":"high","title":"Buy milk"}"#,
        "{\n  \"priority\" : \"high\" ,\n  \"title\":\"Buy milk\",\t\"tags\": [ \"home\" ]\n}\n",
    ] {
        let res = post_raw(&app, &alice, "alice", raw, &key).await;
        assert_eq!(res.status, 201, "{raw}: {}", res.raw);
        assert_eq!(res.header("idempotent-replayed").as_deref(), Some("true"));
        assert_eq!(res.body["id"], id.as_str(), "{raw}");
    }
    assert_eq!(count(&app, &alice, "alice").await, 1, "one task only");

    // The replay is the task as it is now.
    let res = app
        .call(
            Method::PATCH,
            &location,
            Some(&alice),
            Some(json!({"title": "Buy oat milk"})),
        )
        .await;
    assert_eq!(res.status, 200, "{}", res.raw);
    let retry = app
        .call_with(
            Method::POST,
            "/api/alice/tasks",
            Some(&alice),
            Some(body),
            &key,
        )
        .await;
    assert_eq!(retry.status, 201, "{}", retry.raw);
    assert_eq!(retry.header("idempotent-replayed").as_deref(), Some("true"));
    assert_eq!(retry.body["id"], id.as_str());
    assert_eq!(retry.body["title"], "Buy oat milk");
    assert_eq!(retry.body["version"], 2);
    assert_eq!(retry.header("etag").as_deref(), Some("\"2\""));
    assert_eq!(count(&app, &alice, "alice").await, 1);

    // Without a key, the same body is a new task.
    let res = app
        .call(
            Method::POST,
            "/api/alice/tasks",
            Some(&alice),
            Some(json!({"title": "Buy milk", "priority": "high", "tags": ["home"]})),
        )
        .await;
    assert_eq!(res.status, 201);
    assert_eq!(res.header("idempotent-replayed"), None);
    assert_ne!(res.body["id"], id.as_str());
    assert_eq!(count(&app, &alice, "alice").await, 2);
}

#[actix_web::test]
async fn an_idempotency_key_belongs_to_one_body_and_one_user() {
    let (app, alice, bob) = alice_and_bob().await;
    let key = [("Idempotency-Key", "order-42")];
    let post = |token: &str, owner: &str, body: Value| {
        let (token, path) = (token.to_owned(), format!("/api/{owner}/tasks"));
        let app = &app;
        async move {
            app.call_with(Method::POST, &path, Some(&token), Some(body), &key)
                .await
        }
    };
    let first = post(&alice, "alice", json!({"title": "one"})).await;
    assert_eq!(first.status, 201, "{}", first.raw);

    // Another body with the same key.
    for other in [
        json!({"title": "two"}),
        json!({"title": "one", "priority": "low"}),
        json!({"title": "one", "description": null}),
    ] {
        let res = post(&alice, "alice", other.clone()).await;
        let message = refused(&res, &["Idempotency-Key"]);
        assert!(message.contains("different"), "{other}: {message}");
    }
    assert_eq!(count(&app, &alice, "alice").await, 1);

    // Bob has keys of his own.
    let bobs = post(&bob, "bob", json!({"title": "one"})).await;
    assert_eq!(bobs.status, 201, "{}", bobs.raw);
    assert_eq!(bobs.header("idempotent-replayed"), None);
    assert_ne!(bobs.body["id"], first.body["id"]);
    assert_eq!(bobs.body["user_id"], "bob");
    assert_eq!(count(&app, &bob, "bob").await, 1);
    let again = post(&bob, "bob", json!({"title": "one"})).await;
    assert_eq!(again.header("idempotent-replayed").as_deref(), Some("true"));
    assert_eq!(again.body["id"], bobs.body["id"]);
    // Bob cannot use Alice's path, key or not.
    let res = post(&bob, "alice", json!({"title": "one"})).await;
    res.problem(403);

    // A refused create does not use up its key.
    let fresh = [("Idempotency-Key", "fresh")];
    let res = app
        .call_with(
            Method::POST,
            "/api/alice/tasks",
            Some(&alice),
            Some(json!({"title": "  "})),
            &fresh,
        )
        .await;
    refused(&res, &["title"]);
    let res = app
        .call_with(
            Method::POST,
            "/api/alice/tasks",
            Some(&alice),
            Some(json!({"title": "fixed"})),
            &fresh,
        )
        .await;
    assert_eq!(res.status, 201, "{}", res.raw);
    assert_eq!(res.header("idempotent-replayed"), None);
    assert_eq!(count(&app, &alice, "alice").await, 2);
}

#[actix_web::test]
async fn a_malformed_idempotency_key_is_a_bad_request() {
    let (app, alice, _) = alice_and_bob().await;
    let too_long = "k".repeat(256);
    for key in ["has space", "", too_long.as_str(), "tab\there"] {
        let res = app
            .call_with(
                Method::POST,
                "/api/alice/tasks",
                Some(&alice),
                Some(json!({"title": "t"})),
                &[("Idempotency-Key", key)],
            )
            .await;
        bad_header(&res, "Idempotency-Key");
        // The header is named once, by the problem; the message is the rule.
        let message = res.body["errors"][0]["message"].as_str().unwrap();
        assert!(message.starts_with("must "), "{key:?}: {message}");
        assert_eq!(
            res.body["detail"].as_str().unwrap(),
            format!("Idempotency-Key {message}")
        );
    }
    // Not ASCII.
    let res = post_raw(
        &app,
        &alice,
        "alice",
        r#"{"title": "t"}"#,
        &[("Idempotency-Key", "schlüssel")],
    )
    .await;
    bad_header(&res, "Idempotency-Key");
    // Given twice.
    let res = app
        .call_with(
            Method::POST,
            "/api/alice/tasks",
            Some(&alice),
            Some(json!({"title": "t"})),
            &[("Idempotency-Key", "a"), ("Idempotency-Key", "b")],
        )
        .await;
    bad_header(&res, "Idempotency-Key");
    assert_eq!(count(&app, &alice, "alice").await, 0, "nothing was created");

    // The longest key works.
    let longest = "k".repeat(255);
    for replayed in [None, Some("true")] {
        let res = app
            .call_with(
                Method::POST,
                "/api/alice/tasks",
                Some(&alice),
                Some(json!({"title": "t"})),
                &[("Idempotency-Key", longest.as_str())],
            )
            .await;
        assert_eq!(res.status, 201, "{}", res.raw);
        assert_eq!(res.header("idempotent-replayed").as_deref(), replayed);
    }
    assert_eq!(count(&app, &alice, "alice").await, 1);
}

#[actix_web::test]
async fn a_retry_after_the_task_was_deleted_is_a_conflict() {
    let (app, alice, _) = alice_and_bob().await;
    let key = [("Idempotency-Key", "gone-soon")];
    let body = json!({"title": "short-lived"});
    let first = app
        .call_with(
            Method::POST,
            "/api/alice/tasks",
            Some(&alice),
            Some(body.clone()),
            &key,
        )
        .await;
    assert_eq!(first.status, 201, "{}", first.raw);
    let res = app
        .call(
            Method::DELETE,
            &format!("/api/alice/tasks/{}", id_of(&first.body)),
            Some(&alice),
            None,
        )
        .await;
    assert_eq!(res.status, 204, "{}", res.raw);
    let retry = app
        .call_with(
            Method::POST,
            "/api/alice/tasks",
            Some(&alice),
            Some(body),
            &key,
        )
        .await;
    let detail = retry.problem(409);
    assert!(detail.contains("deleted"), "{detail}");
    assert_eq!(count(&app, &alice, "alice").await, 0, "not created again");
}

#[actix_web::test]
async fn concurrent_retries_with_one_key_create_one_task() {
    let (app, alice, _) = alice_and_bob().await;
    let requests = (0..6).map(|_| {
        app.call_with(
            Method::POST,
            "/api/alice/tasks",
            Some(&alice),
            Some(json!({"title": "once"})),
            &[("Idempotency-Key", "racy")],
        )
    });
    let answers = futures_util::future::join_all(requests).await;
    let ids: BTreeSet<&str> = answers
        .iter()
        .map(|res| {
            assert_eq!(res.status, 201, "{}", res.raw);
            res.body["id"].as_str().unwrap()
        })
        .collect();
    assert_eq!(ids.len(), 1, "{ids:?}");
    let first: Vec<&Response> = answers
        .iter()
        .filter(|res| res.header("idempotent-replayed").is_none())
        .collect();
    assert_eq!(first.len(), 1, "exactly one created it");
    assert_eq!(count(&app, &alice, "alice").await, 1);
}

#[actix_web::test]
async fn an_idempotency_key_is_remembered_for_24_hours() {
    use sea_orm::{ConnectionTrait, DbBackend, Statement};
    let (app, alice, _) = alice_and_bob().await;
    let key = [("Idempotency-Key", "daily")];
    let post = |title: &'static str| {
        let (app, alice) = (&app, alice.as_str());
        async move {
            app.call_with(
                Method::POST,
                "/api/alice/tasks",
                Some(alice),
                Some(json!({ "title": title })),
                &key,
            )
            .await
        }
    };
    // Lets the key's first use lie `age` in the past.
    let age = |age: TimeDelta| {
        let db = app.db.clone();
        async move {
            db.execute_raw(Statement::from_sql_and_values(
                DbBackend::Sqlite,
                "UPDATE idempotency_key SET created_at = ?",
                [sea_orm::Value::from(Utc::now() - age)],
            ))
            .await
            .unwrap();
        }
    };
    let first = post("first").await;
    assert_eq!(first.status, 201, "{}", first.raw);
    age(TimeDelta::hours(23)).await;
    let retry = post("first").await;
    assert_eq!(retry.header("idempotent-replayed").as_deref(), Some("true"));
    assert_eq!(retry.body["id"], first.body["id"]);
    refused(&post("other").await, &["Idempotency-Key"]);

    // After 24 hours the key is free again: this is a new request.
    age(TimeDelta::hours(25)).await;
    let fresh = post("other").await;
    assert_eq!(fresh.status, 201, "{}", fresh.raw);
    assert_eq!(fresh.header("idempotent-replayed"), None);
    assert_ne!(fresh.body["id"], first.body["id"]);
    assert_eq!(fresh.body["title"], "other");
    // And now it belongs to that request.
    let retry = post("other").await;
    assert_eq!(retry.header("idempotent-replayed").as_deref(), Some("true"));
    assert_eq!(retry.body["id"], fresh.body["id"]);
    assert_eq!(titles(&app, &alice, "").await, ["first", "other"]);
}

// ---------------------------------------------------------------------------------------
// The sync feed
// ---------------------------------------------------------------------------------------

/// Asserts a deleted entry of the feed: exactly `id`, `deleted: true` and `updated_at`.
fn assert_deleted(entry: &Value) {
    let keys: BTreeSet<&str> = entry
        .as_object()
        .unwrap_or_else(|| panic!("an object: {entry}"))
        .keys()
        .map(String::as_str)
        .collect();
    assert_eq!(
        keys,
        BTreeSet::from(["id", "deleted", "updated_at"]),
        "{entry}"
    );
    assert_eq!(entry["deleted"], true, "{entry}");
    let at = entry["updated_at"].as_str().unwrap();
    assert!(at.ends_with('Z'), "{at}");
    chrono::DateTime::parse_from_rfc3339(at).unwrap();
}

#[actix_web::test]
async fn the_sync_feed_has_changed_and_deleted_tasks_in_the_order_they_changed() {
    let (app, alice, bob) = alice_and_bob().await;
    let create = |title: &str, completed: bool| {
        let body = json!({"title": title, "completed": completed});
        let (app, alice) = (&app, alice.as_str());
        async move { id_of(&app.create_with("alice", alice, body).await) }
    };
    create("untouched", false).await;
    let renamed = create("renamed", false).await;
    let removed = create("removed", false).await;
    let done_one = create("done one", true).await;
    let done_two = create("done two", true).await;
    let done_later = create("done later", false).await;
    let bobs_gone = id_of(&app.create("bob", &bob, "bob's gone").await);
    tick().await;
    let since = stamp(Utc::now());
    tick().await;

    let url = |task: &str| format!("/api/alice/tasks/{task}");
    let res = app
        .call(
            Method::PATCH,
            &url(&renamed),
            Some(&alice),
            Some(json!({"title": "renamed!"})),
        )
        .await;
    assert_eq!(res.status, 200, "{}", res.raw);
    tick().await;
    let res = app
        .call(Method::DELETE, &url(&removed), Some(&alice), None)
        .await;
    assert_eq!(res.status, 204, "{}", res.raw);
    tick().await;
    let new = create("new", false).await;
    tick().await;
    let fleeting = create("fleeting", false).await;
    tick().await;
    let res = app
        .call(Method::DELETE, &url(&fleeting), Some(&alice), None)
        .await;
    assert_eq!(res.status, 204, "{}", res.raw);
    tick().await;
    let res = app
        .call(
            Method::PATCH,
            &format!("{}/complete", url(&done_later)),
            Some(&alice),
            None,
        )
        .await;
    assert_eq!(res.status, 200, "{}", res.raw);
    tick().await;
    let res = app
        .call(
            Method::DELETE,
            "/api/alice/tasks?status=completed",
            Some(&alice),
            None,
        )
        .await;
    assert_eq!(res.status, 200, "{}", res.raw);
    assert_eq!(res.body, json!({"deleted": 3}));
    let res = app
        .call(
            Method::DELETE,
            &format!("/api/bob/tasks/{bobs_gone}"),
            Some(&bob),
            None,
        )
        .await;
    assert_eq!(res.status, 204, "{}", res.raw);
    let until = stamp(Utc::now());

    let query = format!("updated_since={}&include_deleted=true", enc(&since));
    let feed = fetch(&app, &alice, &format!("/api/alice/tasks?{query}")).await;
    let entries = feed.as_array().unwrap();
    assert_eq!(entries.len(), 7, "{feed:#}");
    // Changed tasks as they are now; deleted ones as tombstones only.
    assert_eq!(entries[0]["id"], renamed.as_str());
    assert_eq!(entries[0]["title"], "renamed!");
    assert_eq!(entries[0]["version"], 2);
    assert!(is_position(entries[0]["position"].as_str().unwrap()));
    assert_eq!(entries[0].get("deleted"), None);
    assert_eq!(entries[1]["id"], removed.as_str());
    assert_deleted(&entries[1]);
    assert_eq!(entries[2]["id"], new.as_str());
    assert_eq!(entries[2]["title"], "new");
    assert_eq!(entries[2].get("deleted"), None);
    assert_eq!(entries[3]["id"], fleeting.as_str());
    assert_deleted(&entries[3]);
    // Cleared together: one instant, in id order.
    let cleared: BTreeSet<&str> = entries[4..]
        .iter()
        .map(|e| {
            assert_deleted(e);
            e["id"].as_str().unwrap()
        })
        .collect();
    assert_eq!(
        cleared,
        BTreeSet::from([done_one.as_str(), done_two.as_str(), done_later.as_str()])
    );
    // Ordered by updated_at (the deletion time for tombstones), then id; all since `since`.
    let keys: Vec<(&str, &str)> = entries
        .iter()
        .map(|e| (e["updated_at"].as_str().unwrap(), e["id"].as_str().unwrap()))
        .collect();
    for pair in keys.windows(2) {
        assert!(pair[0] < pair[1], "in order: {keys:?}");
    }
    for (at, _) in &keys {
        assert!(*at >= since.as_str() && *at <= until.as_str(), "{at}");
    }
    // `sort=updated_at` is the feed's own order.
    let sorted = fetch(
        &app,
        &alice,
        &format!("/api/alice/tasks?{query}&sort=updated_at"),
    )
    .await;
    assert_eq!(sorted, feed);

    // Page by page, every entry exactly once, each link repeating the query.
    let (paged, links) =
        every_page(&app, &alice, &format!("/api/alice/tasks?{query}&limit=1")).await;
    assert_eq!(paged, entries.clone());
    assert_eq!(links.len(), 6);
    for link in &links {
        assert!(link.starts_with("/api/alice/tasks?cursor="), "{link}");
        let rest = link.split_once('&').unwrap().1;
        assert_eq!(rest, format!("{query}&limit=1"));
    }
    // Limits of 2 and 3 see the same feed.
    for limit in [2, 3] {
        let (paged, _) = every_page(
            &app,
            &alice,
            &format!("/api/alice/tasks?{query}&limit={limit}"),
        )
        .await;
        assert_eq!(paged, entries.clone(), "limit={limit}");
    }
    // A cursor of the feed is no cursor of the plain list since then.
    let cursor = links[0]
        .split_once("cursor=")
        .unwrap()
        .1
        .split('&')
        .next()
        .unwrap();
    let res = app
        .call(
            Method::GET,
            &format!(
                "/api/alice/tasks?cursor={cursor}&updated_since={}&limit=1",
                enc(&since)
            ),
            Some(&alice),
            None,
        )
        .await;
    refused(&res, &["cursor"]);

    // Since the last change, nothing; Bob's feed has only his deletion.
    let later = format!("updated_since={}&include_deleted=true", enc(&until));
    assert_eq!(
        fetch(&app, &alice, &format!("/api/alice/tasks?{later}")).await,
        json!([])
    );
    let bobs = fetch(&app, &bob, &format!("/api/bob/tasks?{query}")).await;
    assert_eq!(bobs.as_array().unwrap().len(), 1, "{bobs}");
    assert_eq!(bobs[0]["id"], bobs_gone.as_str());
    assert_deleted(&bobs[0]);

    // Without include_deleted (or with false) the list is as before: tasks only.
    for extra in ["", "&include_deleted=false"] {
        let list = fetch(
            &app,
            &alice,
            &format!("/api/alice/tasks?updated_since={}{extra}", enc(&since)),
        )
        .await;
        assert_eq!(titles_of(&list), ["renamed!", "new"], "{extra}");
        for task in list.as_array().unwrap() {
            assert_eq!(task.get("deleted"), None);
        }
    }
    assert_eq!(
        titles_of(&fetch(&app, &alice, "/api/alice/tasks").await),
        ["untouched", "renamed!", "new"]
    );
    assert_eq!(
        titles_of(&fetch(&app, &alice, "/api/alice/tasks?include_deleted=false").await),
        ["untouched", "renamed!", "new"]
    );
}

#[actix_web::test]
async fn the_sync_feed_refuses_what_it_cannot_answer() {
    let (app, alice, bob) = alice_and_bob().await;
    app.create("alice", &alice, "t").await;
    let since = enc(&stamp(Utc::now() - TimeDelta::hours(1)));
    let get = |query: String| {
        let (app, alice) = (&app, alice.as_str());
        async move {
            app.call(
                Method::GET,
                &format!("/api/alice/tasks?{query}"),
                Some(alice),
                None,
            )
            .await
        }
    };
    refused(
        &get("include_deleted=true".into()).await,
        &["include_deleted"],
    );
    for (extra, field) in [
        ("status=pending", "status"),
        ("status=completed", "status"),
        ("priority=high", "priority"),
        ("tag=home", "tag"),
        ("q=milk", "q"),
        ("due_before=2026-12-01", "due_before"),
        ("due_after=2026-12-01", "due_after"),
        ("overdue=true", "overdue"),
        ("due=today", "due"),
        ("sort=-due", "sort"),
        ("sort=-updated_at", "sort"),
        ("sort=position", "sort"),
        ("include_deleted=true", "include_deleted"),
    ] {
        let res = get(format!(
            "include_deleted=true&updated_since={since}&{extra}"
        ))
        .await;
        refused(&res, &[field]);
    }
    for bad in ["maybe", "TRUE", "1", ""] {
        let res = get(format!("include_deleted={bad}&updated_since={since}")).await;
        refused(&res, &["include_deleted"]);
    }
    // status=all is no filter.
    let res = get(format!(
        "include_deleted=true&updated_since={since}&status=all"
    ))
    .await;
    assert_eq!(res.status, 200, "{}", res.raw);
    assert_eq!(res.body.as_array().unwrap().len(), 1);

    // Older than deleted tasks are remembered: start over.
    let old = enc(&stamp(Utc::now() - TimeDelta::days(60)));
    let res = get(format!("include_deleted=true&updated_since={old}")).await;
    let detail = res.problem(410);
    assert!(detail.contains("30 days"), "{detail}");
    let recent = enc(&stamp(Utc::now() - TimeDelta::days(29)));
    let res = get(format!("include_deleted=true&updated_since={recent}")).await;
    assert_eq!(res.status, 200, "{}", res.raw);
    // Without the flag an old updated_since is just a filter.
    let res = get(format!("updated_since={old}")).await;
    assert_eq!(res.status, 200, "{}", res.raw);
    assert_eq!(titles_of(&res.body), ["t"]);

    let res = app
        .call(
            Method::GET,
            &format!("/api/alice/tasks?include_deleted=true&updated_since={since}"),
            Some(&bob),
            None,
        )
        .await;
    res.problem(403);
}

#[actix_web::test]
async fn completing_a_repeating_task_puts_both_tasks_in_the_feed() {
    let (app, alice, _) = alice_and_bob().await;
    let series = app
        .create_with(
            "alice",
            &alice,
            json!({"title": "water plants", "due": "2026-12-01", "recurrence": "FREQ=DAILY"}),
        )
        .await;
    tick().await;
    let since = stamp(Utc::now());
    tick().await;
    let res = app
        .call(
            Method::PATCH,
            &format!("/api/alice/tasks/{}/complete", id_of(&series)),
            Some(&alice),
            None,
        )
        .await;
    assert_eq!(res.status, 200, "{}", res.raw);
    let feed = fetch(
        &app,
        &alice,
        &format!(
            "/api/alice/tasks?updated_since={}&include_deleted=true",
            enc(&since)
        ),
    )
    .await;
    let entries = feed.as_array().unwrap();
    assert_eq!(entries.len(), 2, "{feed:#}");
    let moved_on = entries
        .iter()
        .find(|e| e["id"] == series["id"])
        .expect("the series");
    assert_eq!(moved_on["due"], "2026-12-02");
    assert_eq!(moved_on["completed"], false);
    let finished = entries
        .iter()
        .find(|e| e["id"] != series["id"])
        .expect("the finished occurrence");
    assert_eq!(finished["title"], "water plants");
    assert_eq!(finished["due"], "2026-12-01");
    assert_eq!(finished["completed"], true);
    assert!(is_position(finished["position"].as_str().unwrap()));
    assert_ne!(finished["position"], moved_on["position"]);

    // `include_deleted=false` is the plain list, paged by the plain cursor.
    let (tasks, links) = every_page(
        &app,
        &alice,
        "/api/alice/tasks?include_deleted=false&limit=1",
    )
    .await;
    assert_eq!(
        tasks,
        fetch(&app, &alice, "/api/alice/tasks")
            .await
            .as_array()
            .unwrap()
            .clone()
    );
    assert_eq!(links.len(), 1);
    assert!(
        links[0].ends_with("&include_deleted=false&limit=1"),
        "{}",
        links[0]
    );
}

#[actix_web::test]
async fn a_task_an_admin_deletes_is_in_its_owners_feed() {
    let (app, alice, _) = alice_and_bob().await;
    let root = app.user("root", Some("admin")).await;
    let task = id_of(&app.create("alice", &alice, "reported").await);
    tick().await;
    let since = stamp(Utc::now());
    tick().await;
    let res = app
        .call(
            Method::DELETE,
            &format!("/api/admin/users/alice/tasks/{task}"),
            Some(&root),
            None,
        )
        .await;
    assert_eq!(res.status, 204, "{}", res.raw);
    let feed = fetch(
        &app,
        &alice,
        &format!(
            "/api/alice/tasks?updated_since={}&include_deleted=true",
            enc(&since)
        ),
    )
    .await;
    assert_eq!(feed.as_array().unwrap().len(), 1, "{feed}");
    assert_eq!(feed[0]["id"], task.as_str());
    assert_deleted(&feed[0]);
}

// ---------------------------------------------------------------------------------------
// Clearing completed tasks
// ---------------------------------------------------------------------------------------

#[actix_web::test]
async fn clearing_completed_tasks_deletes_only_the_callers_completed_ones() {
    let (app, alice, bob) = alice_and_bob().await;
    app.create("alice", &alice, "open").await;
    app.create_with("alice", &alice, json!({"title": "done", "completed": true}))
        .await;
    let later = app.create("alice", &alice, "done later").await;
    let res = app
        .call(
            Method::PATCH,
            &format!("/api/alice/tasks/{}/complete", id_of(&later)),
            Some(&alice),
            None,
        )
        .await;
    assert_eq!(res.status, 200, "{}", res.raw);
    app.create_with(
        "bob",
        &bob,
        json!({"title": "bob's done", "completed": true}),
    )
    .await;
    app.create("bob", &bob, "bob's open").await;
    let delete = |query: &str, token: &str, owner: &str| {
        let path = format!("/api/{owner}/tasks{query}");
        let (app, token) = (&app, token.to_owned());
        async move { app.call(Method::DELETE, &path, Some(&token), None).await }
    };

    // Refusals first: nothing is deleted by them.
    refused(&delete("", &alice, "alice").await, &["status"]);
    for value in ["pending", "all", "", "COMPLETED"] {
        let res = delete(&format!("?status={value}"), &alice, "alice").await;
        refused(&res, &["status"]);
    }
    refused(
        &delete("?status=completed&colour=red", &alice, "alice").await,
        &["colour"],
    );
    refused(
        &delete("?colour=red&status=completed", &alice, "alice").await,
        &["colour"],
    );
    refused(
        &delete("?colour=red", &alice, "alice").await,
        &["colour", "status"],
    );
    refused(
        &delete("?status=completed&status=completed", &alice, "alice").await,
        &["status"],
    );
    delete("?status=completed", &bob, "alice")
        .await
        .problem(403);
    app.call(
        Method::DELETE,
        "/api/alice/tasks?status=completed",
        None,
        None,
    )
    .await
    .problem(401);
    assert_eq!(count(&app, &alice, "alice").await, 3);

    let res = delete("?status=completed", &alice, "alice").await;
    assert_eq!(res.status, 200, "{}", res.raw);
    assert_eq!(res.body, json!({"deleted": 2}));
    assert_eq!(
        titles_of(&fetch(&app, &alice, "/api/alice/tasks").await),
        ["open"]
    );
    assert_eq!(
        titles_of(&fetch(&app, &bob, "/api/bob/tasks").await),
        ["bob's done", "bob's open"],
        "other users' tasks stay"
    );
    let res = delete("?status=completed", &alice, "alice").await;
    assert_eq!(res.status, 200, "{}", res.raw);
    assert_eq!(res.body, json!({"deleted": 0}));
    assert_eq!(count(&app, &alice, "alice").await, 1);
}

// ---------------------------------------------------------------------------------------
// Tags
// ---------------------------------------------------------------------------------------

#[actix_web::test]
async fn tags_are_counted_ignoring_case_and_sorted_ignoring_case() {
    let (app, alice, bob) = alice_and_bob().await;
    assert_eq!(fetch(&app, &alice, "/api/alice/tags").await, json!([]));
    // It takes no parameters.
    let res = app
        .call(
            Method::GET,
            "/api/alice/tags?sort=count",
            Some(&alice),
            None,
        )
        .await;
    refused(&res, &["sort"]);
    app.create_with("alice", &alice, json!({"title": "1", "tags": ["Work"]}))
        .await;
    let second = app
        .create_with(
            "alice",
            &alice,
            json!({"title": "2", "tags": ["Work", "home"]}),
        )
        .await;
    app.create_with("alice", &alice, json!({"title": "3", "tags": ["work"]}))
        .await;
    app.create_with(
        "alice",
        &alice,
        json!({"title": "4", "tags": ["errands"], "completed": true}),
    )
    .await;
    app.create("alice", &alice, "untagged").await;
    app.create_with(
        "bob",
        &bob,
        json!({"title": "b", "tags": ["work", "bob-only", "Home"]}),
    )
    .await;

    let tags = fetch(&app, &alice, "/api/alice/tags").await;
    assert_eq!(
        tags,
        json!([
            {"tag": "errands", "count": 1},
            {"tag": "home", "count": 1},
            {"tag": "Work", "count": 3},
        ])
    );
    for entry in tags.as_array().unwrap() {
        assert_eq!(entry.as_object().unwrap().len(), 2, "{entry}");
    }
    assert_eq!(
        fetch(&app, &bob, "/api/bob/tags").await,
        json!([
            {"tag": "bob-only", "count": 1},
            {"tag": "Home", "count": 1},
            {"tag": "work", "count": 1},
        ])
    );

    // Counts follow edits and deletions.
    let res = app
        .call(
            Method::DELETE,
            &format!("/api/alice/tasks/{}", id_of(&second)),
            Some(&alice),
            None,
        )
        .await;
    assert_eq!(res.status, 204);
    assert_eq!(
        fetch(&app, &alice, "/api/alice/tags").await,
        json!([
            {"tag": "errands", "count": 1},
            {"tag": "Work", "count": 2},
        ])
    );

    app.call(Method::GET, "/api/alice/tags", Some(&bob), None)
        .await
        .problem(403);
    app.call(Method::GET, "/api/alice/tags", None, None)
        .await
        .problem(401);
    let carol = app.user("carol", None).await;
    assert_eq!(fetch(&app, &carol, "/api/carol/tags").await, json!([]));
}

// ---------------------------------------------------------------------------------------
// Stats
// ---------------------------------------------------------------------------------------

/// `date` as `YYYY-MM-DD`.
fn day(date: chrono::NaiveDate) -> String {
    date.format("%Y-%m-%d").to_string()
}

#[actix_web::test]
async fn stats_count_tasks_by_status_priority_and_due_date() {
    let (app, alice, bob) = alice_and_bob().await;
    let zeros = json!({
        "total": 0, "pending": 0, "completed": 0,
        "pending_by_priority": {"high": 0, "medium": 0, "low": 0, "none": 0},
        "overdue": 0, "due_today": 0,
    });
    assert_eq!(fetch(&app, &alice, "/api/alice/tasks/stats").await, zeros);

    let now = Utc::now();
    let today = now.date_naive();
    let hour_ago = stamp(now - TimeDelta::hours(1));
    let in_an_hour = stamp(now + TimeDelta::hours(1));
    let tasks = [
        json!({"title": "yesterday", "due": day(today.pred_opt().unwrap()), "priority": "high"}),
        json!({"title": "an hour ago", "due": hour_ago, "priority": "medium"}),
        json!({"title": "in an hour", "due": in_an_hour, "priority": "low"}),
        json!({"title": "today", "due": day(today)}),
        json!({"title": "no due"}),
        json!({"title": "done overdue", "due": day(today.pred_opt().unwrap()),
               "priority": "high", "completed": true}),
        json!({"title": "done today", "due": day(today), "completed": true}),
    ];
    for task in &tasks {
        app.create_with("alice", &alice, task.clone()).await;
    }
    app.create_with(
        "bob",
        &bob,
        json!({"title": "bob's overdue", "due": "2020-01-01", "priority": "high"}),
    )
    .await;
    // An instant's date in UTC depends on the hour: ask the domain.
    let today_instants = [&hour_ago, &in_an_hour]
        .into_iter()
        .filter(|due| {
            Due::parse(due)
                .unwrap()
                .is_due_today(now, TimeZone::UTC.tz())
        })
        .count() as u64;
    let expected = json!({
        "total": 7, "pending": 5, "completed": 2,
        "pending_by_priority": {"high": 1, "medium": 1, "low": 1, "none": 2},
        "overdue": 2,
        "due_today": 2 + today_instants,
    });
    assert_eq!(
        fetch(&app, &alice, "/api/alice/tasks/stats").await,
        expected
    );
    assert_eq!(
        fetch(&app, &alice, "/api/alice/tasks/stats?tz=UTC").await,
        expected,
        "UTC by default"
    );
    assert_eq!(
        fetch(&app, &bob, "/api/bob/tasks/stats").await["overdue"],
        1,
        "only the caller's tasks"
    );

    app.call(Method::GET, "/api/alice/tasks/stats", Some(&bob), None)
        .await
        .problem(403);
    app.call(Method::GET, "/api/alice/tasks/stats", None, None)
        .await
        .problem(401);
}

#[actix_web::test]
async fn stats_judge_due_dates_in_the_given_zone() {
    let (app, alice, _) = alice_and_bob().await;
    let now = Utc::now();
    let today = now.date_naive();
    // Kiritimati (UTC+14) is always one or two dates ahead of Pago Pago (UTC−11): of
    // yesterday, today and tomorrow in UTC exactly one is today in each.
    let dates = [
        day(today.pred_opt().unwrap()),
        day(today),
        day(today.succ_opt().unwrap()),
    ];
    for date in &dates {
        app.create_with("alice", &alice, json!({"title": date, "due": date}))
            .await;
    }
    let mut overdue = BTreeMap::new();
    for (zone, query) in [
        ("UTC", "?tz=UTC"),
        ("Pacific/Kiritimati", "?tz=Pacific/Kiritimati"),
        ("Pacific/Pago_Pago", "?tz=Pacific%2FPago_Pago"),
    ] {
        let stats = fetch(&app, &alice, &format!("/api/alice/tasks/stats{query}")).await;
        assert_eq!(stats["due_today"], 1, "{zone}: {stats}");
        let tz = TimeZone::parse("tz", zone).unwrap().tz();
        let expected = dates
            .iter()
            .filter(|d| Due::parse(d).unwrap().is_overdue(Utc::now(), tz))
            .count();
        assert_eq!(stats["overdue"], expected, "{zone}: {stats}");
        overdue.insert(zone, stats["overdue"].as_u64().unwrap());
    }
    assert_eq!(overdue["UTC"], 1);
    assert!(
        overdue["Pacific/Kiritimati"] > overdue["Pacific/Pago_Pago"],
        "{overdue:?}"
    );

    for query in ["tz=Nowhere/Land", "tz=", "tz=utc%20"] {
        let res = app
            .call(
                Method::GET,
                &format!("/api/alice/tasks/stats?{query}"),
                Some(&alice),
                None,
            )
            .await;
        refused(&res, &["tz"]);
    }
    let res = app
        .call(
            Method::GET,
            "/api/alice/tasks/stats?colour=red",
            Some(&alice),
            None,
        )
        .await;
    refused(&res, &["colour"]);
    let res = app
        .call(
            Method::GET,
            "/api/alice/tasks/stats?tz=UTC&tz=UTC",
            Some(&alice),
            None,
        )
        .await;
    res.problem(422);
}

// ---------------------------------------------------------------------------------------
// Browsers
// ---------------------------------------------------------------------------------------

#[actix_web::test]
async fn a_browser_frontend_may_use_the_new_operations() {
    let (app, alice, _) = alice_and_bob().await;
    let origin = "http://localhost:3000";
    for (method, uri, headers) in [
        (
            "POST",
            "/api/alice/tasks",
            "authorization, content-type, idempotency-key",
        ),
        (
            "DELETE",
            "/api/alice/tasks?status=completed",
            "authorization",
        ),
        (
            "POST",
            "/api/alice/tasks/0193a5c2-7b1e-7cc0-9a4e-3f5d2c1b0a99/move",
            "authorization, content-type, if-match",
        ),
    ] {
        let res = app
            .send(
                TestRequest::default()
                    .method(Method::OPTIONS)
                    .uri(uri)
                    .insert_header(("origin", origin))
                    .insert_header(("access-control-request-method", method))
                    .insert_header(("access-control-request-headers", headers)),
            )
            .await;
        assert!(
            res.status.is_success(),
            "{method} {uri}: {} {}",
            res.status,
            res.raw
        );
        assert_eq!(
            res.header("access-control-allow-origin").as_deref(),
            Some(origin)
        );
        let allowed = res
            .header("access-control-allow-methods")
            .unwrap_or_default();
        assert!(allowed.contains(method), "{method} {uri}: {allowed}");
        let allowed = res
            .header("access-control-allow-headers")
            .unwrap_or_default()
            .to_lowercase();
        for header in headers.split(", ") {
            assert!(allowed.contains(header), "{method} {uri}: {allowed}");
        }
    }
    // The replay marker is readable by the page.
    let post = || {
        TestRequest::post()
            .uri("/api/alice/tasks")
            .insert_header(("origin", origin))
            .insert_header(("authorization", format!("Bearer {alice}")))
            .insert_header(("idempotency-key", "browser-1"))
            .set_json(json!({"title": "from the browser"}))
    };
    assert_eq!(app.send(post()).await.status, 201);
    let res = app.send(post()).await;
    assert_eq!(res.status, 201, "{}", res.raw);
    assert_eq!(res.header("idempotent-replayed").as_deref(), Some("true"));
    let exposed = res
        .header("access-control-expose-headers")
        .unwrap()
        .to_lowercase();
    assert!(exposed.contains("idempotent-replayed"), "{exposed}");
}

// ---------------------------------------------------------------------------------------
// OpenAPI
// ---------------------------------------------------------------------------------------

#[actix_web::test]
async fn the_openapi_document_describes_the_new_operations() {
    let app = app().await;
    let doc = app
        .call(Method::GET, "/openapi.json", None, None)
        .await
        .body;
    let paths = &doc["paths"];
    let params = |op: &Value, place: &str| -> Vec<String> {
        op["parameters"]
            .as_array()
            .unwrap_or_else(|| panic!("parameters: {op}"))
            .iter()
            .filter(|p| p["in"] == place)
            .map(|p| p["name"].as_str().unwrap().to_owned())
            .collect()
    };

    let tags = &paths["/api/{user_id}/tags"]["get"];
    assert!(tags.is_object(), "{}", paths);
    for status in ["200", "401", "403"] {
        assert!(tags["responses"][status].is_object(), "tags {status}");
    }
    assert_eq!(params(tags, "path"), ["user_id"]);

    let stats = &paths["/api/{user_id}/tasks/stats"]["get"];
    assert!(stats.is_object());
    assert_eq!(params(stats, "query"), ["tz"]);
    for status in ["200", "403", "422"] {
        assert!(stats["responses"][status].is_object(), "stats {status}");
    }

    let moving = &paths["/api/{user_id}/tasks/{task_id}/move"]["post"];
    assert!(moving.is_object());
    assert_eq!(params(moving, "path"), ["user_id", "task_id"]);
    assert_eq!(params(moving, "header"), ["If-Match"]);
    assert!(moving["requestBody"].is_object());
    for status in ["200", "403", "404", "409", "412", "422"] {
        assert!(moving["responses"][status].is_object(), "move {status}");
    }

    let tasks = &paths["/api/{user_id}/tasks"];
    let clear = &tasks["delete"];
    assert!(clear.is_object(), "{tasks}");
    assert_eq!(params(clear, "query"), ["status"]);
    assert!(clear["responses"]["200"].is_object());
    assert!(clear["responses"]["422"].is_object());

    let create = &tasks["post"];
    assert_eq!(params(create, "header"), ["Idempotency-Key"]);
    let key = create["parameters"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["name"] == "Idempotency-Key")
        .unwrap();
    assert_ne!(key["required"], true);
    assert!(!key["description"].as_str().unwrap().is_empty());
    assert!(create["responses"]["201"]["headers"]["Idempotent-Replayed"].is_object());
    assert!(create["responses"]["409"].is_object());

    let list = &tasks["get"];
    assert!(params(list, "query").contains(&"include_deleted".to_owned()));
    let flag = list["parameters"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["name"] == "include_deleted")
        .unwrap();
    assert!(
        flag["description"]
            .as_str()
            .unwrap()
            .contains("updated_since"),
        "{flag}"
    );
    assert!(list["responses"]["410"].is_object());

    let schemas = &doc["components"]["schemas"];
    let task = &schemas["TaskDto"];
    assert_eq!(task["properties"]["position"]["type"], "string", "{task}");
    assert!(
        task["required"]
            .as_array()
            .unwrap()
            .contains(&json!("position")),
        "{task}"
    );
    for (schema, field) in [
        ("CreateTask", "position"),
        ("UpdateTask", "position"),
        ("MoveTask", "after"),
        ("MoveTask", "before"),
        ("MoveTask", "to"),
        ("TagCountDto", "count"),
        ("TaskStatsDto", "due_today"),
        ("DeletedTaskDto", "deleted"),
        ("Cleared", "deleted"),
    ] {
        assert!(
            schemas[schema]["properties"][field].is_object(),
            "{schema}.{field}"
        );
    }
}
