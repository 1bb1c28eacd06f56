//! The OpenAPI document and the server agree: what the document allows is accepted, what it
//! rules out is refused, and every status an operation answers is declared.

use actix_web::http::Method;
use serde_json::{Value, json};

use crate::harness::*;

async fn document(app: &TestApp) -> Value {
    app.call(Method::GET, "/openapi.json", None, None)
        .await
        .body
}

fn parameter<'a>(op: &'a Value, name: &str) -> &'a Value {
    op["parameters"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["name"] == name)
        .unwrap_or_else(|| panic!("no parameter {name} in {op}"))
}

#[actix_web::test]
async fn a_null_body_on_complete_toggles_as_the_document_allows() {
    let app = app().await;
    let alice = app.user("alice", None).await;
    let task = app.create("alice", &alice, "toggle me").await;
    let url = format!("/api/alice/tasks/{}/complete", task["id"].as_str().unwrap());

    let doc = document(&app).await;
    let body = &doc["paths"]["/api/{user_id}/tasks/{task_id}/complete"]["patch"]["requestBody"];
    let schema = &body["content"]["application/json"]["schema"];
    assert!(
        schema["oneOf"]
            .as_array()
            .unwrap()
            .contains(&json!({"type": "null"})),
        "{schema}"
    );

    let res = app
        .call(Method::PATCH, &url, Some(&alice), Some(Value::Null))
        .await;
    assert_eq!(res.status, 200, "{}", res.raw);
    assert_eq!(res.body["completed"], true, "a null body toggles");
    let res = app
        .call(Method::PATCH, &url, Some(&alice), Some(Value::Null))
        .await;
    assert_eq!(res.body["completed"], false, "and toggles back");
}

#[actix_web::test]
async fn completed_is_a_boolean_never_null_in_the_document_and_the_server() {
    let app = app().await;
    let alice = app.user("alice", None).await;
    let task = app.create("alice", &alice, "flag").await;
    let one = format!("/api/alice/tasks/{}", task["id"].as_str().unwrap());

    let doc = document(&app).await;
    let schemas = &doc["components"]["schemas"];
    for body in ["UpdateTask", "CompleteTask"] {
        assert_eq!(
            schemas[body]["properties"]["completed"]["type"], "boolean",
            "{body}"
        );
    }
    for field in ["title", "position"] {
        assert_eq!(
            schemas["UpdateTask"]["properties"][field]["type"], "string",
            "{field} cannot be null"
        );
    }

    for (method, url) in [
        (Method::PATCH, one.clone()),
        (Method::PUT, one.clone()),
        (Method::PATCH, format!("{one}/complete")),
    ] {
        let res = app
            .call(
                method.clone(),
                &url,
                Some(&alice),
                Some(json!({"completed": null})),
            )
            .await;
        res.problem(422);
    }
}

#[actix_web::test]
async fn conditional_and_idempotency_headers_have_the_patterns_the_server_applies() {
    let app = app().await;
    let alice = app.user("alice", None).await;
    let task = app.create("alice", &alice, "headers").await;
    let one = format!("/api/alice/tasks/{}", task["id"].as_str().unwrap());
    let doc = document(&app).await;
    let paths = &doc["paths"];

    let if_match = parameter(
        &paths["/api/{user_id}/tasks/{task_id}"]["patch"],
        "If-Match",
    );
    assert_eq!(
        if_match["schema"]["pattern"],
        r#"^(\*|"(0|[1-9][0-9]{0,17})")$"#
    );
    for op in [
        &paths["/api/{user_id}/tasks/{task_id}"]["put"],
        &paths["/api/{user_id}/tasks/{task_id}"]["delete"],
        &paths["/api/{user_id}/tasks/{task_id}/complete"]["patch"],
        &paths["/api/{user_id}/tasks/{task_id}/move"]["post"],
    ] {
        assert_eq!(parameter(op, "If-Match"), if_match, "one If-Match for all");
    }
    // Matching the pattern: accepted (or 412 when stale); not matching: 400.
    let current = format!("\"{}\"", task["version"]);
    for (value, status) in [(current.as_str(), 200), ("*", 200), ("\"99\"", 412)] {
        let res = app
            .call_with(
                Method::PATCH,
                &one,
                Some(&alice),
                Some(json!({})),
                &[("If-Match", value)],
            )
            .await;
        assert_eq!(res.status, status, "If-Match {value}: {}", res.raw);
    }
    for value in ["1", "W/\"1\"", "\"01\"", "\"1\", \"2\"", "\"a\""] {
        let res = app
            .call_with(
                Method::PATCH,
                &one,
                Some(&alice),
                Some(json!({})),
                &[("If-Match", value)],
            )
            .await;
        res.problem(400);
    }

    let if_none_match = parameter(
        &paths["/api/{user_id}/tasks/{task_id}"]["get"],
        "If-None-Match",
    );
    assert!(if_none_match["schema"]["pattern"].is_string());
    for (value, status) in [
        ("\"1\"", 304),
        ("W/\"1\"", 304),
        ("\"x\", W/\"1\"", 304),
        ("*", 304),
        ("\"9\"", 200),
    ] {
        let res = app
            .call_with(
                Method::GET,
                &one,
                Some(&alice),
                None,
                &[("If-None-Match", value)],
            )
            .await;
        assert_eq!(res.status, status, "If-None-Match {value}: {}", res.raw);
    }
    for value in ["3", "\"3", "W/3"] {
        let res = app
            .call_with(
                Method::GET,
                &one,
                Some(&alice),
                None,
                &[("If-None-Match", value)],
            )
            .await;
        res.problem(400);
    }

    let key = parameter(&paths["/api/{user_id}/tasks"]["post"], "Idempotency-Key");
    assert_eq!(key["schema"]["pattern"], "^[!-~]{1,255}$");
    let longest = "k".repeat(255);
    let too_long = "k".repeat(256);
    for (value, status) in [
        (longest.as_str(), 201),
        ("a b", 400),
        (too_long.as_str(), 400),
    ] {
        let res = app
            .call_with(
                Method::POST,
                "/api/alice/tasks",
                Some(&alice),
                Some(json!({"title": "keyed"})),
                &[("Idempotency-Key", value)],
            )
            .await;
        assert_eq!(res.status, status, "Idempotency-Key {value}: {}", res.raw);
    }
}

#[actix_web::test]
async fn status_tz_role_and_cursor_are_enums_or_patterns_the_server_keeps_to() {
    let app = app().await;
    let alice = app.user("alice", None).await;
    let admin = app.user("root", Some("admin")).await;
    let doc = document(&app).await;
    let paths = &doc["paths"];

    let clear = &paths["/api/{user_id}/tasks"]["delete"];
    assert_eq!(
        parameter(clear, "status")["schema"]["enum"],
        json!(["completed"])
    );
    assert_eq!(parameter(clear, "status")["required"], true);
    let list = &paths["/api/{user_id}/tasks"]["get"];
    assert_eq!(
        parameter(list, "status")["schema"]["enum"],
        json!(["all", "pending", "completed"])
    );

    let zones = doc["components"]["schemas"]["TimeZoneName"]["enum"]
        .as_array()
        .unwrap();
    assert!(zones.len() > 400, "every IANA zone: {}", zones.len());
    for zone in zones {
        let zone = zone.as_str().unwrap();
        assert!(todo_domain::TimeZone::parse("tz", zone).is_ok(), "{zone}");
    }
    for op in [list, &paths["/api/{user_id}/tasks/stats"]["get"]] {
        assert_eq!(
            parameter(op, "tz")["schema"]["$ref"],
            "#/components/schemas/TimeZoneName"
        );
    }
    let res = app
        .call(
            Method::GET,
            "/api/alice/tasks/stats?tz=Pacific/Chatham",
            Some(&alice),
            None,
        )
        .await;
    assert_eq!(res.status, 200, "{}", res.raw);
    let res = app
        .call(
            Method::GET,
            "/api/alice/tasks/stats?tz=Mars/Olympus",
            Some(&alice),
            None,
        )
        .await;
    res.problem(422);

    let role = &doc["components"]["schemas"]["SetRole"]["properties"]["role"];
    assert!(role["pattern"].is_string(), "{role}");
    for (value, status) in [("user,editor", 200), ("User", 422), ("a b", 422), ("", 422)] {
        let res = app
            .call(
                Method::PATCH,
                "/api/admin/users/alice/role",
                Some(&admin),
                Some(json!({"role": value})),
            )
            .await;
        assert_eq!(res.status, status, "role {value:?}: {}", res.raw);
    }

    for op in [list, &paths["/api/admin/users"]["get"]] {
        let cursor = parameter(op, "cursor");
        assert_eq!(cursor["schema"]["pattern"], "^[0-9a-z_.-]+$");
        assert_eq!(parameter(op, "limit")["schema"]["maximum"], 1000);
    }
    let res = app
        .call(
            Method::GET,
            "/api/alice/tasks?limit=1001",
            Some(&alice),
            None,
        )
        .await;
    res.problem(422);
}

#[actix_web::test]
async fn move_task_is_exactly_one_of_after_before_or_to() {
    let app = app().await;
    let alice = app.user("alice", None).await;
    let a = app.create("alice", &alice, "a").await;
    let b = app.create("alice", &alice, "b").await;
    let url = format!("/api/alice/tasks/{}/move", a["id"].as_str().unwrap());
    let doc = document(&app).await;
    let schemas = &doc["components"]["schemas"];

    let schema = &schemas["MoveTask"];
    assert_eq!(schema["minProperties"], 1);
    assert_eq!(schema["maxProperties"], 1);
    assert_eq!(schema["additionalProperties"], false);
    for field in ["after", "before"] {
        assert_eq!(schema["properties"][field]["type"], "string", "{field}");
        assert_eq!(schema["properties"][field]["format"], "uuid", "{field}");
    }
    assert_eq!(
        schema["properties"]["to"]["$ref"],
        "#/components/schemas/MoveEnd"
    );
    assert_eq!(schemas["MoveEnd"]["enum"], json!(["top", "bottom"]));

    let b_id = b["id"].as_str().unwrap();
    for body in [
        json!({}),
        json!({"after": b_id, "to": "top"}),
        json!({"after": b_id, "before": b_id}),
        json!({"to": "middle"}),
    ] {
        let res = app
            .call(Method::POST, &url, Some(&alice), Some(body.clone()))
            .await;
        assert_eq!(res.status, 422, "{body}: {}", res.raw);
    }
    for body in [
        json!({"to": "top"}),
        json!({"after": b_id}),
        json!({"before": b_id}),
    ] {
        let res = app
            .call(Method::POST, &url, Some(&alice), Some(body.clone()))
            .await;
        assert_eq!(res.status, 200, "{body}: {}", res.raw);
    }
}

/// The document says what the server holds a new member's body to: the role and exactly
/// one of `user_id` or `email`, so that a client generated from it cannot send both.
#[actix_web::test]
async fn add_member_is_the_role_and_exactly_one_of_user_id_or_email() {
    let app = app().await;
    let alice = app.user("alice", None).await;
    app.user("bob", None).await;
    let doc = document(&app).await;
    let schema = &doc["components"]["schemas"]["AddMember"];
    assert_eq!(schema["required"], json!(["role"]));
    assert_eq!(schema["minProperties"], 2);
    assert_eq!(schema["maxProperties"], 2);
    assert_eq!(schema["additionalProperties"], false);
    for field in ["user_id", "email"] {
        assert_eq!(
            schema["properties"][field]["type"], "string",
            "{field} is not nullable"
        );
    }

    let list = app.list("alice", &alice, "Shared").await;
    let url = format!("/api/alice/lists/{}/members", list["id"].as_str().unwrap());
    for body in [
        json!({"user_id": "bob", "email": "bob@example.com", "role": "editor"}),
        json!({"role": "editor"}),
        // Three properties, one of them null: not the one-of-two the schema states.
        json!({"user_id": "bob", "email": null, "role": "editor"}),
        json!({"user_id": null, "email": "bob@example.com", "role": "editor"}),
        json!({"user_id": null, "role": "editor"}),
    ] {
        let res = app
            .call(Method::POST, &url, Some(&alice), Some(body.clone()))
            .await;
        assert_eq!(res.status, 422, "{body}: {}", res.raw);
    }
    let res = app
        .call(
            Method::POST,
            &url,
            Some(&alice),
            Some(json!({"user_id": "bob", "role": "editor"})),
        )
        .await;
    assert_eq!(res.status, 201, "{}", res.raw);
}

#[actix_web::test]
async fn every_operation_declares_the_client_errors_it_answers() {
    let app = app().await;
    let doc = document(&app).await;
    let paths = doc["paths"].as_object().unwrap();
    for (path, ops) in paths {
        for (method, op) in ops.as_object().unwrap() {
            let responses = &op["responses"];
            let declared = |status: &str| responses[status].is_object();
            let params = op["parameters"].as_array().cloned().unwrap_or_default();
            let has = |name: &str| params.iter().any(|p| p["name"] == name);
            let what = format!("{method} {path}");
            if op.get("requestBody").is_some() {
                for status in ["400", "413", "415", "422"] {
                    assert!(declared(status), "{what} declares {status}");
                }
            }
            if has("If-Match") {
                assert!(declared("400") && declared("412"), "{what}");
            }
            if has("If-None-Match") {
                assert!(declared("400") && declared("304"), "{what}");
            }
            if has("user_id") || has("task_id") || has("cursor") || has("limit") {
                assert!(declared("422"), "{what} declares 422");
            }
            if op.get("security").is_some() {
                assert!(declared("401"), "{what} declares 401");
            }
        }
    }
    // A 412 carries the current ETag wherever it is declared.
    let mv = &doc["paths"]["/api/{user_id}/tasks/{task_id}/move"]["post"];
    assert!(mv["responses"]["412"]["headers"]["ETag"].is_object());
}

/// A create's body with one field set to a value.
type Body = fn(&str) -> Value;

/// Whether `value` meets a string schema: its pattern and its lengths (in characters).
fn meets(schema: &Value, value: &str) -> bool {
    let chars = value.chars().count() as u64;
    let pattern = schema["pattern"]
        .as_str()
        .unwrap_or_else(|| panic!("no pattern in {schema}"));
    regex::Regex::new(pattern).unwrap().is_match(value)
        && schema["minLength"].as_u64().is_none_or(|min| chars >= min)
        && schema["maxLength"].as_u64().is_none_or(|max| chars <= max)
}

/// Values at each side of the text rules: empty, white space only, control characters,
/// Unicode white space, base-62 digits, and lengths around 50, 100, 128 and 200.
fn texts() -> Vec<String> {
    let long = |n: usize| "a".repeat(n);
    vec![
        String::new(),
        " ".into(),
        "\t\n".into(),
        "a".into(),
        " a ".into(),
        "a b".into(),
        "a\u{1}b".into(),
        "a\u{7f}".into(),
        "\u{85}a\u{a0}".into(),
        "a\u{85}b".into(),
        "\u{3000}".into(),
        "a\nb".into(),
        "a\tb\r\n".into(),
        "a,b".into(),
        "é ü 中".into(),
        "\u{feff}".into(),
        "z0".into(),
        "0z".into(),
        "Az9".into(),
        long(50),
        long(51),
        long(128),
        long(129),
        long(100),
        long(101),
        format!("  {}\t", long(100)),
        format!(" {} ", long(101)),
        long(200),
        long(201),
        format!("  {}\t", long(200)),
        format!(" {} ", long(201)),
        format!("\u{2008}{}", long(50)),
    ]
}

/// Sends each of [`texts`] as each field to `path`, and holds the server's answer (201 or
/// a refusal) to what the field's schema says of the value.
async fn held_to_schemas(app: &TestApp, token: &str, path: &str, cases: &[(&str, &Value, Body)]) {
    let texts = texts();
    for (field, schema, body) in cases {
        for value in &texts {
            let res = app
                .call(Method::POST, path, Some(token), Some(body(value)))
                .await;
            let allowed = meets(schema, value);
            assert!(
                (res.status == 201) == allowed,
                "{field} {value:?}: the document {} it, the server answered {}: {}",
                if allowed { "allows" } else { "refuses" },
                res.status,
                res.raw
            );
        }
    }
}

#[actix_web::test]
async fn titles_descriptions_tags_and_positions_have_the_patterns_the_server_applies() {
    let app = app().await;
    let alice = app.user("alice", None).await;
    let doc = document(&app).await;
    let schemas = &doc["components"]["schemas"];
    let create = &schemas["CreateTask"]["properties"];
    let update = &schemas["UpdateTask"]["properties"];
    let tag = &schemas["TagName"];
    assert_eq!(
        create["tags"]["items"]["$ref"], "#/components/schemas/TagName",
        "{create}"
    );
    for field in ["title", "description", "position"] {
        assert_eq!(
            create[field]["pattern"], update[field]["pattern"],
            "{field}: one rule for create and update"
        );
    }

    let cases: [(&str, &Value, Body); 4] = [
        ("title", &create["title"], |v| json!({"title": v})),
        (
            "description",
            &create["description"],
            |v| json!({"title": "t", "description": v}),
        ),
        (
            "position",
            &create["position"],
            |v| json!({"title": "t", "position": v}),
        ),
        ("tags", tag, |v| json!({"title": "t", "tags": ["x", v]})),
    ];
    held_to_schemas(&app, &alice, "/api/alice/tasks", &cases).await;
}

#[actix_web::test]
async fn list_names_and_positions_have_the_patterns_the_server_applies() {
    let app = app().await;
    let alice = app.user("alice", None).await;
    let doc = document(&app).await;
    let schemas = &doc["components"]["schemas"];
    let create = &schemas["CreateList"]["properties"];
    let update = &schemas["UpdateList"]["properties"];
    assert_eq!(
        create["name"]["pattern"], update["name"]["pattern"],
        "one rule for a name"
    );
    let cases: [(&str, &Value, Body); 2] = [
        ("name", &create["name"], |v| json!({"name": v})),
        (
            "position",
            &create["position"],
            |v| json!({"name": "n", "position": v}),
        ),
    ];
    held_to_schemas(&app, &alice, "/api/alice/lists", &cases).await;
}

#[actix_web::test]
async fn a_member_id_in_a_path_has_the_pattern_the_server_applies() {
    let app = app().await;
    let alice = app.user("alice", None).await;
    let doc = document(&app).await;
    let list = app.list("alice", &alice, "Shared").await;
    let path = "/api/{user_id}/lists/{list_id}/members/{member_id}";
    for (method, verb) in [(Method::PATCH, "patch"), (Method::DELETE, "delete")] {
        let params = doc["paths"][path][verb]["parameters"].as_array().unwrap();
        let member = params.iter().find(|p| p["name"] == "member_id").unwrap();
        // (raw value, its form in a path, what the server answers)
        for (raw, encoded, status) in [
            ("nobody", "nobody", 404),
            ("a\u{1}b", "a%01b", 422),
            ("a\u{85}b", "a%C2%85b", 422),
        ] {
            assert_eq!(
                meets(&member["schema"], raw),
                status != 422,
                "{verb} {raw:?}"
            );
            let res = app
                .call(
                    method.clone(),
                    &format!(
                        "/api/alice/lists/{}/members/{encoded}",
                        list["id"].as_str().unwrap()
                    ),
                    Some(&alice),
                    (method == Method::PATCH).then(|| json!({"role": "viewer"})),
                )
                .await;
            assert_eq!(res.status, status, "{verb} {raw:?}: {}", res.raw);
        }
    }
}
