//! The whole access matrix: the owner, an editor, a viewer, a non-member and a global admin
//! (who is no member) against every endpoint, old and new, on a shared list and its tasks.
//! Each cell runs on a fresh list, so that what one cell changes no other sees.

use actix_web::http::Method;
use serde_json::{Value, json};

use crate::harness::{Options, TestApp, app_with};

const OWNER: usize = 0;
const EDITOR: usize = 1;
const VIEWER: usize = 2;
const STRANGER: usize = 3;
const ADMIN: usize = 4;

/// Who calls, by their own user id.
const CALLERS: [(&str, &str); 5] = [
    ("owner", "olive"),
    ("editor", "eddie"),
    ("viewer", "vera"),
    ("non-member", "nina"),
    ("admin", "root"),
];

/// The app, with room for a webhook of olive's per cell.
async fn matrix_app() -> TestApp {
    app_with(Options {
        max_webhooks: 10_000,
        ..Options::default()
    })
    .await
}

/// A shared list of olive's with an open task, a subtask of it and a completed task.
struct Fixture {
    list: String,
    task: String,
    done: String,
    /// Another list of olive's, not shared.
    other: String,
    /// A throwaway user, for the admin's user endpoints.
    temp: String,
    /// A webhook of olive's (for the shared list), and a ping it was sent.
    hook: String,
    ping: String,
}

async fn fixture(app: &TestApp, tokens: &[String], n: usize) -> Fixture {
    let olive = &tokens[OWNER];
    let list = app.list("olive", olive, &format!("Shared {n}")).await["id"]
        .as_str()
        .unwrap()
        .to_owned();
    app.share("olive", olive, &list, "eddie", "editor").await;
    app.share("olive", olive, &list, "vera", "viewer").await;
    let task = app
        .create_with("olive", olive, json!({"title": "Open", "list_id": list}))
        .await["id"]
        .as_str()
        .unwrap()
        .to_owned();
    app.create_with("olive", olive, json!({"title": "Sub", "parent_id": task}))
        .await;
    let done = app
        .create_with(
            "olive",
            olive,
            json!({"title": "Done", "list_id": list, "completed": true}),
        )
        .await["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let other = app.list("olive", olive, &format!("Other {n}")).await["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let temp = format!("temp{n}");
    app.user(&temp, None).await;
    let hook = app
        .call(
            Method::POST,
            "/api/olive/webhooks",
            Some(olive),
            Some(json!({"url": "https://hooks.example.com/olive", "list_id": list})),
        )
        .await
        .body["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let ping = app
        .call(
            Method::POST,
            &format!("/api/olive/webhooks/{hook}/test"),
            Some(olive),
            None,
        )
        .await
        .body["id"]
        .as_str()
        .unwrap()
        .to_owned();
    Fixture {
        list,
        task,
        done,
        other,
        temp,
        hook,
        ping,
    }
}

/// A request as a caller (`me`: their user id) makes it.
type Request = (Method, String, Option<Value>);

struct Row {
    endpoint: &'static str,
    /// Expected status for owner, editor, viewer, non-member, admin.
    expect: [u16; 5],
    request: fn(&Fixture, &str) -> Request,
}

/// An instant for `updated_since`, well within the time deletions are remembered.
pub fn an_hour_ago() -> String {
    (chrono::Utc::now() - chrono::TimeDelta::hours(1))
        .to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
}

fn rows() -> Vec<Row> {
    use Method as M;
    vec![
        Row {
            endpoint: "GET /lists",
            expect: [200, 200, 200, 200, 200],
            request: |_, me| (M::GET, format!("/api/{me}/lists"), None),
        },
        Row {
            endpoint: "POST /lists",
            expect: [201, 201, 201, 201, 201],
            request: |_, me| {
                (
                    M::POST,
                    format!("/api/{me}/lists"),
                    Some(json!({"name": "Mine"})),
                )
            },
        },
        Row {
            endpoint: "GET /lists/{id}",
            expect: [200, 200, 200, 404, 404],
            request: |f, me| (M::GET, format!("/api/{me}/lists/{}", f.list), None),
        },
        Row {
            endpoint: "GET /lists/{id} of another user's path",
            expect: [200, 403, 403, 403, 403],
            request: |f, _| (M::GET, format!("/api/olive/lists/{}", f.list), None),
        },
        Row {
            endpoint: "PATCH /lists/{id}",
            expect: [200, 403, 403, 404, 404],
            request: |f, me| {
                (
                    M::PATCH,
                    format!("/api/{me}/lists/{}", f.list),
                    Some(json!({"name": "Renamed", "colour": "#00FF00"})),
                )
            },
        },
        Row {
            endpoint: "PATCH /lists/{id} archived",
            expect: [200, 403, 403, 404, 404],
            request: |f, me| {
                (
                    M::PATCH,
                    format!("/api/{me}/lists/{}", f.list),
                    Some(json!({"archived": true})),
                )
            },
        },
        Row {
            endpoint: "POST /lists/{id}/move",
            expect: [200, 403, 403, 404, 404],
            request: |f, me| {
                (
                    M::POST,
                    format!("/api/{me}/lists/{}/move", f.list),
                    Some(json!({"before": f.other})),
                )
            },
        },
        Row {
            endpoint: "GET /lists/{id}/members",
            expect: [200, 200, 200, 404, 404],
            request: |f, me| (M::GET, format!("/api/{me}/lists/{}/members", f.list), None),
        },
        Row {
            endpoint: "POST /lists/{id}/members",
            expect: [201, 403, 403, 404, 404],
            request: |f, me| {
                (
                    M::POST,
                    format!("/api/{me}/lists/{}/members", f.list),
                    Some(json!({"user_id": f.temp, "role": "viewer"})),
                )
            },
        },
        Row {
            endpoint: "PATCH /lists/{id}/members/{vera}",
            expect: [200, 403, 403, 404, 404],
            request: |f, me| {
                (
                    M::PATCH,
                    format!("/api/{me}/lists/{}/members/vera", f.list),
                    Some(json!({"role": "editor"})),
                )
            },
        },
        Row {
            endpoint: "DELETE /lists/{id}/members/{another member}",
            expect: [204, 403, 403, 404, 404],
            request: |f, me| {
                let other = if me == "vera" { "eddie" } else { "vera" };
                (
                    M::DELETE,
                    format!("/api/{me}/lists/{}/members/{other}", f.list),
                    None,
                )
            },
        },
        Row {
            endpoint: "DELETE /lists/{id}/members/{self} (leave)",
            expect: [409, 204, 204, 404, 404],
            request: |f, me| {
                (
                    M::DELETE,
                    format!("/api/{me}/lists/{}/members/{me}", f.list),
                    None,
                )
            },
        },
        Row {
            endpoint: "POST /lists/{id}/transfer",
            expect: [200, 403, 403, 404, 404],
            request: |f, me| {
                (
                    M::POST,
                    format!("/api/{me}/lists/{}/transfer", f.list),
                    Some(json!({"user_id": "eddie"})),
                )
            },
        },
        Row {
            endpoint: "DELETE /lists/{id}",
            expect: [204, 403, 403, 404, 404],
            request: |f, me| (M::DELETE, format!("/api/{me}/lists/{}", f.list), None),
        },
        Row {
            endpoint: "GET /tasks",
            expect: [200, 200, 200, 200, 200],
            request: |_, me| (M::GET, format!("/api/{me}/tasks"), None),
        },
        Row {
            endpoint: "GET /tasks?list_id",
            expect: [200, 200, 200, 200, 200],
            request: |f, me| (M::GET, format!("/api/{me}/tasks?list_id={}", f.list), None),
        },
        Row {
            endpoint: "GET /tasks (sync feed)",
            expect: [200, 200, 200, 200, 200],
            request: |_, me| {
                (
                    M::GET,
                    format!(
                        "/api/{me}/tasks?updated_since={}&include_deleted=true",
                        an_hour_ago()
                    ),
                    None,
                )
            },
        },
        Row {
            endpoint: "POST /tasks into the list",
            expect: [201, 201, 403, 422, 422],
            request: |f, me| {
                (
                    M::POST,
                    format!("/api/{me}/tasks"),
                    Some(json!({"title": "New", "list_id": f.list})),
                )
            },
        },
        Row {
            endpoint: "POST /tasks as a subtask",
            expect: [201, 201, 403, 422, 422],
            request: |f, me| {
                (
                    M::POST,
                    format!("/api/{me}/tasks"),
                    Some(json!({"title": "New", "parent_id": f.task})),
                )
            },
        },
        Row {
            endpoint: "POST /tasks into the Inbox",
            expect: [201, 201, 201, 201, 201],
            request: |_, me| {
                (
                    M::POST,
                    format!("/api/{me}/tasks"),
                    Some(json!({"title": "Mine"})),
                )
            },
        },
        Row {
            endpoint: "DELETE /tasks?status=completed",
            expect: [200, 200, 200, 200, 200],
            request: |_, me| (M::DELETE, format!("/api/{me}/tasks?status=completed"), None),
        },
        Row {
            endpoint: "GET /tasks/stats",
            expect: [200, 200, 200, 200, 200],
            request: |_, me| (M::GET, format!("/api/{me}/tasks/stats"), None),
        },
        Row {
            endpoint: "GET /tags",
            expect: [200, 200, 200, 200, 200],
            request: |_, me| (M::GET, format!("/api/{me}/tags"), None),
        },
        Row {
            endpoint: "GET /tasks/{id}",
            expect: [200, 200, 200, 404, 404],
            request: |f, me| (M::GET, format!("/api/{me}/tasks/{}", f.task), None),
        },
        Row {
            endpoint: "GET /tasks/{id} of another user's path",
            expect: [200, 403, 403, 403, 403],
            request: |f, _| (M::GET, format!("/api/olive/tasks/{}", f.task), None),
        },
        Row {
            endpoint: "PUT /tasks/{id}",
            expect: [200, 200, 403, 404, 404],
            request: |f, me| {
                (
                    M::PUT,
                    format!("/api/{me}/tasks/{}", f.task),
                    Some(json!({"title": "Edited"})),
                )
            },
        },
        Row {
            endpoint: "PATCH /tasks/{id}",
            expect: [200, 200, 403, 404, 404],
            request: |f, me| {
                (
                    M::PATCH,
                    format!("/api/{me}/tasks/{}", f.task),
                    Some(json!({"priority": "high"})),
                )
            },
        },
        Row {
            endpoint: "PATCH /tasks/{id} assignee_id",
            expect: [200, 200, 403, 404, 404],
            request: |f, me| {
                (
                    M::PATCH,
                    format!("/api/{me}/tasks/{}", f.task),
                    Some(json!({"assignee_id": "vera"})),
                )
            },
        },
        Row {
            endpoint: "PATCH /tasks/{id}/complete (toggle)",
            expect: [200, 200, 403, 404, 404],
            request: |f, me| {
                (
                    M::PATCH,
                    format!("/api/{me}/tasks/{}/complete", f.done),
                    None,
                )
            },
        },
        Row {
            endpoint: "PATCH /tasks/{id}/complete {completed}",
            expect: [200, 200, 403, 404, 404],
            request: |f, me| {
                (
                    M::PATCH,
                    format!("/api/{me}/tasks/{}/complete", f.task),
                    Some(json!({"completed": true})),
                )
            },
        },
        Row {
            endpoint: "POST /tasks/{id}/move",
            expect: [200, 200, 403, 404, 404],
            request: |f, me| {
                (
                    M::POST,
                    format!("/api/{me}/tasks/{}/move", f.task),
                    Some(json!({"to": "bottom"})),
                )
            },
        },
        Row {
            endpoint: "DELETE /tasks/{id}",
            expect: [204, 204, 403, 404, 404],
            request: |f, me| (M::DELETE, format!("/api/{me}/tasks/{}", f.task), None),
        },
        Row {
            endpoint: "GET /api/me",
            expect: [200, 200, 200, 200, 200],
            request: |_, _| (M::GET, "/api/me".to_owned(), None),
        },
        Row {
            endpoint: "GET /admin/users",
            expect: [403, 403, 403, 403, 200],
            request: |_, _| (M::GET, "/api/admin/users".to_owned(), None),
        },
        Row {
            endpoint: "GET /admin/users/{owner}/tasks",
            expect: [403, 403, 403, 403, 200],
            request: |_, _| (M::GET, "/api/admin/users/olive/tasks".to_owned(), None),
        },
        Row {
            endpoint: "DELETE /admin/users/{owner}/tasks/{id}",
            expect: [403, 403, 403, 403, 204],
            request: |f, _| {
                (
                    M::DELETE,
                    format!("/api/admin/users/olive/tasks/{}", f.task),
                    None,
                )
            },
        },
        Row {
            endpoint: "GET /webhooks",
            expect: [200, 200, 200, 200, 200],
            request: |_, me| (M::GET, format!("/api/{me}/webhooks"), None),
        },
        Row {
            endpoint: "GET /webhooks of another user's path",
            expect: [200, 403, 403, 403, 403],
            request: |_, _| (M::GET, "/api/olive/webhooks".to_owned(), None),
        },
        Row {
            endpoint: "POST /webhooks for the shared list",
            expect: [201, 201, 201, 404, 404],
            request: |f, me| {
                (
                    M::POST,
                    format!("/api/{me}/webhooks"),
                    Some(json!({"url": "https://hooks.example.com/in", "list_id": f.list})),
                )
            },
        },
        // A webhook is its owner's alone: through another user's path a 403, through
        // one's own a 404 (no existence leak), for members and the admin alike.
        Row {
            endpoint: "GET /webhooks/{id}",
            expect: [200, 404, 404, 404, 404],
            request: |f, me| (M::GET, format!("/api/{me}/webhooks/{}", f.hook), None),
        },
        Row {
            endpoint: "GET /webhooks/{id} of another user's path",
            expect: [200, 403, 403, 403, 403],
            request: |f, _| (M::GET, format!("/api/olive/webhooks/{}", f.hook), None),
        },
        Row {
            endpoint: "PATCH /webhooks/{id}",
            expect: [200, 404, 404, 404, 404],
            request: |f, me| {
                (
                    M::PATCH,
                    format!("/api/{me}/webhooks/{}", f.hook),
                    Some(json!({"enabled": false})),
                )
            },
        },
        Row {
            endpoint: "POST /webhooks/{id}/rotate",
            expect: [200, 404, 404, 404, 404],
            request: |f, me| {
                (
                    M::POST,
                    format!("/api/{me}/webhooks/{}/rotate", f.hook),
                    None,
                )
            },
        },
        Row {
            endpoint: "POST /webhooks/{id}/test",
            expect: [200, 404, 404, 404, 404],
            request: |f, me| (M::POST, format!("/api/{me}/webhooks/{}/test", f.hook), None),
        },
        Row {
            endpoint: "GET /webhooks/{id}/deliveries",
            expect: [200, 404, 404, 404, 404],
            request: |f, me| {
                (
                    M::GET,
                    format!("/api/{me}/webhooks/{}/deliveries", f.hook),
                    None,
                )
            },
        },
        Row {
            endpoint: "POST /webhooks/{id}/deliveries/{id}/redeliver",
            expect: [200, 404, 404, 404, 404],
            request: |f, me| {
                (
                    M::POST,
                    format!(
                        "/api/{me}/webhooks/{}/deliveries/{}/redeliver",
                        f.hook, f.ping
                    ),
                    None,
                )
            },
        },
        Row {
            endpoint: "DELETE /webhooks/{id}",
            expect: [204, 404, 404, 404, 404],
            request: |f, me| (M::DELETE, format!("/api/{me}/webhooks/{}", f.hook), None),
        },
        Row {
            endpoint: "PATCH /admin/users/{id}/role",
            expect: [403, 403, 403, 403, 200],
            request: |f, _| {
                (
                    M::PATCH,
                    format!("/api/admin/users/{}/role", f.temp),
                    Some(json!({"role": "user"})),
                )
            },
        },
        Row {
            endpoint: "DELETE /admin/users/{id}",
            expect: [403, 403, 403, 403, 204],
            request: |f, _| (M::DELETE, format!("/api/admin/users/{}", f.temp), None),
        },
    ]
}

#[actix_web::test]
async fn every_role_against_every_endpoint() {
    let app = matrix_app().await;
    let mut tokens = Vec::new();
    for (_, id) in CALLERS {
        let role = (id == "root").then_some("admin");
        tokens.push(app.user(id, role).await);
    }
    let mut failures = Vec::new();
    let mut n = 0;
    for row in rows() {
        for (who, (role, me)) in CALLERS.iter().enumerate() {
            n += 1;
            let f = fixture(&app, &tokens, n).await;
            let (method, path, body) = (row.request)(&f, me);
            let res = app.call(method, &path, Some(&tokens[who]), body).await;
            let expected = row.expect[who];
            if res.status.as_u16() != expected {
                failures.push(format!(
                    "{role} {}: expected {expected}, got {} ({})",
                    row.endpoint, res.status, res.raw
                ));
            }
        }
    }
    assert!(
        failures.is_empty(),
        "{} cells differ:\n{}",
        failures.len(),
        failures.join("\n")
    );
}

/// What each caller sees of the shared list in the listings, beyond the status.
#[actix_web::test]
async fn listings_show_a_shared_list_and_its_tasks_to_its_members_only() {
    let app = matrix_app().await;
    let mut tokens = Vec::new();
    for (_, id) in CALLERS {
        let role = (id == "root").then_some("admin");
        tokens.push(app.user(id, role).await);
    }
    let f = fixture(&app, &tokens, 0).await;
    for (who, (role, me)) in CALLERS.iter().enumerate() {
        let member = who <= VIEWER;
        let lists = app.get_ok(&format!("/api/{me}/lists"), &tokens[who]).await;
        let listed = lists
            .as_array()
            .unwrap()
            .iter()
            .any(|l| l["id"] == f.list.as_str());
        assert_eq!(listed, member, "{role} GET /lists");
        let tasks = app.get_ok(&format!("/api/{me}/tasks"), &tokens[who]).await;
        let task = tasks
            .as_array()
            .unwrap()
            .iter()
            .find(|t| t["id"] == f.task.as_str());
        assert_eq!(task.is_some(), member, "{role} GET /tasks");
        if let Some(task) = task {
            assert_eq!(
                task["user_id"], "olive",
                "{role}: user_id stays the creator"
            );
            assert_eq!(task["list_id"], f.list.as_str(), "{role}");
            assert_eq!(task["subtask_count"], 1, "{role}");
        }
        let stats = app
            .get_ok(&format!("/api/{me}/tasks/stats"), &tokens[who])
            .await;
        let expected_total = if member { 3 } else { 0 };
        assert_eq!(stats["total"], expected_total, "{role} GET /tasks/stats");
        let in_list = app
            .get_ok(&format!("/api/{me}/tasks?list_id={}", f.list), &tokens[who])
            .await;
        assert_eq!(
            in_list.as_array().unwrap().len(),
            if member { 3 } else { 0 },
            "{role} GET /tasks?list_id"
        );
    }
    let _ = (STRANGER, ADMIN, &f.done);
}

/// A refusal for a role too low names the role needed; a non-member's says "not found".
#[actix_web::test]
async fn refusals_name_the_role_needed() {
    let app = matrix_app().await;
    let mut tokens = Vec::new();
    for (_, id) in CALLERS {
        tokens.push(app.user(id, None).await);
    }
    let f = fixture(&app, &tokens, 0).await;
    let res = app
        .call(
            Method::PATCH,
            &format!("/api/vera/tasks/{}", f.task),
            Some(&tokens[VIEWER]),
            Some(json!({"title": "No"})),
        )
        .await;
    let detail = res.problem(403);
    assert!(detail.contains("requires the editor role"), "{detail}");
    let res = app
        .call(
            Method::PATCH,
            &format!("/api/eddie/lists/{}", f.list),
            Some(&tokens[EDITOR]),
            Some(json!({"name": "No"})),
        )
        .await;
    let detail = res.problem(403);
    assert!(detail.contains("requires the owner role"), "{detail}");
    let res = app
        .call(
            Method::GET,
            &format!("/api/nina/tasks/{}", f.task),
            Some(&tokens[STRANGER]),
            None,
        )
        .await;
    res.problem(404);
    let res = app
        .call(
            Method::DELETE,
            &format!("/api/olive/lists/{}/members/olive", f.list),
            Some(&tokens[OWNER]),
            None,
        )
        .await;
    let detail = res.problem(409);
    assert!(detail.contains("transfer"), "{detail}");
}
