use std::sync::Arc;

use actix_web::http::Method;
use actix_web::test::TestRequest;

use crate::harness::*;

#[actix_web::test]
async fn welcome_names_the_service_and_its_docs() {
    let app = app().await;
    let res = app.call(Method::GET, "/", None, None).await;
    assert_eq!(res.status, 200);
    assert_eq!(res.body["name"], "todo-api");
    assert_eq!(res.body["docs"], "/docs");
    assert!(res.body["version"].is_string());
}

#[actix_web::test]
async fn health_is_ok_without_the_database() {
    let app = app_with(Options {
        readiness: Some(Arc::new(DownProbe)),
        ..Options::default()
    })
    .await;
    let res = app.call(Method::GET, "/health", None, None).await;
    assert_eq!(res.status, 200);
    assert_eq!(res.body["status"], "ok");
}

#[actix_web::test]
async fn readiness_reflects_the_database() {
    let app = app().await;
    let res = app.call(Method::GET, "/health/ready", None, None).await;
    assert_eq!(res.status, 200, "{}", res.raw);

    let down = app_with(Options {
        readiness: Some(Arc::new(DownProbe)),
        ..Options::default()
    })
    .await;
    let res = down.call(Method::GET, "/health/ready", None, None).await;
    assert!(res.problem(503).contains("unreachable"));
    assert_eq!(res.header("retry-after").as_deref(), Some("2"));
}

#[actix_web::test]
async fn readiness_never_shows_the_cause_of_a_failure() {
    let secret = "password=hunter2 at 10.0.0.5";
    let app = app_with(Options {
        readiness: Some(Arc::new(FailingProbe(secret))),
        ..Options::default()
    })
    .await;
    let res = app.call(Method::GET, "/health/ready", None, None).await;
    assert_eq!(res.problem(503), "the database is not ready");
    for leak in ["hunter2", "10.0.0.5", "password"] {
        assert!(!res.raw.contains(leak), "{leak} in {}", res.raw);
    }
}

#[actix_web::test]
async fn readiness_fails_once_shutdown_begins() {
    let app = app().await;
    app.services.begin_shutdown();
    let res = app.call(Method::GET, "/health/ready", None, None).await;
    assert!(res.problem(503).contains("shutting down"));
}

#[actix_web::test]
async fn every_response_carries_a_request_id() {
    let app = app().await;
    let res = app.call(Method::GET, "/health", None, None).await;
    let generated = res.header("x-request-id").unwrap();
    assert_eq!(generated.len(), 36, "a UUID: {generated}");

    let res = app
        .send(
            TestRequest::get()
                .uri("/health")
                .insert_header(("x-request-id", "abc-123")),
        )
        .await;
    assert_eq!(res.header("x-request-id").as_deref(), Some("abc-123"));

    // Errors too, and an insane id is replaced.
    let res = app
        .send(
            TestRequest::get()
                .uri("/api/alice/tasks")
                .insert_header(("x-request-id", "has spaces and <html>")),
        )
        .await;
    res.problem(401);
    let id = res.header("x-request-id").unwrap();
    assert_ne!(id, "has spaces and <html>");
    assert_eq!(id.len(), 36);
}

#[actix_web::test]
async fn unknown_routes_and_methods_are_problem_documents() {
    let app = app().await;
    let res = app.call(Method::GET, "/nope", None, None).await;
    assert!(res.problem(404).contains("/nope"));
    let res = app.call(Method::POST, "/health", None, None).await;
    let detail = res.problem(405);
    assert!(detail.contains("POST"), "{detail}");
    let res = app.call(Method::PUT, "/api/alice/tasks", None, None).await;
    res.problem(405);
}

#[actix_web::test]
async fn the_openapi_document_describes_every_operation() {
    let app = app().await;
    let res = app.call(Method::GET, "/openapi.json", None, None).await;
    assert_eq!(res.status, 200);
    let doc = &res.body;
    assert!(doc["openapi"].as_str().unwrap().starts_with("3.1"));
    let paths = doc["paths"].as_object().unwrap();
    for (path, methods) in [
        ("/", &["get"][..]),
        ("/health", &["get"]),
        ("/health/ready", &["get"]),
        ("/api/me", &["get"]),
        ("/api/{user_id}/tasks", &["get", "post"]),
        (
            "/api/{user_id}/tasks/{task_id}",
            &["get", "put", "patch", "delete"],
        ),
        ("/api/{user_id}/tasks/{task_id}/complete", &["patch"]),
        ("/api/admin/users", &["get"]),
        ("/api/admin/users/{user_id}", &["delete"]),
        ("/api/admin/users/{user_id}/tasks", &["get"]),
        ("/api/admin/users/{user_id}/role", &["patch"]),
        ("/api/admin/users/{user_id}/tasks/{task_id}", &["delete"]),
    ] {
        for method in methods {
            assert!(
                paths[path][method].is_object(),
                "{method} {path} is missing from the OpenAPI document"
            );
        }
    }
    assert_eq!(
        doc["components"]["securitySchemes"]["bearer"]["scheme"],
        "bearer"
    );
    for schema in ["TaskDto", "CreateTask", "UpdateTask", "Problem", "UserDto"] {
        assert!(doc["components"]["schemas"][schema].is_object(), "{schema}");
    }
    // Read-only fields are accepted but not advertised.
    assert!(doc["components"]["schemas"]["CreateTask"]["properties"]["_id"].is_null());
    assert!(doc["components"]["schemas"]["CreateTask"]["properties"]["_version"].is_null());
}

#[actix_web::test]
async fn the_openapi_document_describes_task_fields_and_conditional_requests() {
    let app = app().await;
    let doc = app
        .call(Method::GET, "/openapi.json", None, None)
        .await
        .body;
    let schemas = &doc["components"]["schemas"];
    let fields = [
        "priority",
        "tags",
        "due",
        "remind_at",
        "recurrence",
        "time_zone",
    ];
    for field in fields.iter().chain(&["completed_at", "version"]) {
        let property = &schemas["TaskDto"]["properties"][field];
        assert!(property.is_object(), "TaskDto.{field}");
        let documented = property.get("example").is_some()
            || property["oneOf"][0]["$ref"] == "#/components/schemas/Priority";
        assert!(documented, "TaskDto.{field} has an example: {property}");
        assert!(
            schemas["TaskDto"]["required"]
                .as_array()
                .unwrap()
                .contains(&serde_json::json!(field)),
            "TaskDto.{field} is always present"
        );
    }
    for body in ["CreateTask", "UpdateTask"] {
        for field in fields {
            assert!(
                schemas[body]["properties"][field].is_object(),
                "{body}.{field}"
            );
        }
    }
    assert_eq!(
        schemas["Priority"]["enum"],
        serde_json::json!(["low", "medium", "high"])
    );

    let operation = |path: &str, method: &str| doc["paths"][path][method].clone();
    let header_params = |op: &serde_json::Value| -> Vec<String> {
        op["parameters"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|p| p["in"] == "header")
            .map(|p| p["name"].as_str().unwrap().to_owned())
            .collect()
    };
    let one = "/api/{user_id}/tasks/{task_id}";
    let get = operation(one, "get");
    assert_eq!(header_params(&get), ["If-None-Match"]);
    assert!(get["responses"]["200"]["headers"]["ETag"].is_object());
    assert!(get["responses"]["304"]["headers"]["ETag"].is_object());
    assert!(get["responses"]["400"].is_object());
    assert!(
        operation("/api/{user_id}/tasks", "post")["responses"]["201"]["headers"]["ETag"]
            .is_object()
    );
    for (path, method) in [
        (one, "put"),
        (one, "patch"),
        (one, "delete"),
        ("/api/{user_id}/tasks/{task_id}/complete", "patch"),
    ] {
        let op = operation(path, method);
        assert_eq!(header_params(&op), ["If-Match"], "{method} {path}");
        assert!(op["responses"]["400"].is_object(), "{method} {path}");
        assert!(
            op["responses"]["412"]["headers"]["ETag"].is_object(),
            "{method} {path}"
        );
        if method != "delete" {
            assert!(
                op["responses"]["200"]["headers"]["ETag"].is_object(),
                "{method} {path}"
            );
        }
    }
}

#[actix_web::test]
async fn swagger_ui_is_served_without_network() {
    let app = app().await;
    let res = app.call(Method::GET, "/docs", None, None).await;
    assert!(res.status.is_redirection());
    let res = app.call(Method::GET, "/docs/", None, None).await;
    assert_eq!(res.status, 200);
    assert!(
        res.raw.contains("swagger-ui"),
        "{}",
        &res.raw[..200.min(res.raw.len())]
    );
    let res = app
        .call(Method::GET, "/docs/swagger-ui-bundle.js", None, None)
        .await;
    assert_eq!(res.status, 200);
    assert!(
        res.raw.len() > 100_000,
        "the bundle is vendored into the binary"
    );
    let res = app
        .call(Method::GET, "/docs/swagger-initializer.js", None, None)
        .await;
    assert!(res.raw.contains("/openapi.json"));
}

#[actix_web::test]
async fn cors_allows_the_configured_frontend() {
    let app = app().await;
    let res = app
        .send(
            TestRequest::default()
                .method(Method::OPTIONS)
                .uri("/api/alice/tasks")
                .insert_header(("origin", "http://localhost:3000"))
                .insert_header(("access-control-request-method", "POST"))
                .insert_header((
                    "access-control-request-headers",
                    "authorization, content-type",
                )),
        )
        .await;
    assert!(res.status.is_success(), "{} {}", res.status, res.raw);
    assert_eq!(
        res.header("access-control-allow-origin").as_deref(),
        Some("http://localhost:3000")
    );
    // Conditional requests work from a browser: the headers are allowed and ETag readable.
    let res = app
        .send(
            TestRequest::default()
                .method(Method::OPTIONS)
                .uri("/api/alice/tasks/0193a5c2-7b1e-7cc0-9a4e-3f5d2c1b0a99")
                .insert_header(("origin", "http://localhost:3000"))
                .insert_header(("access-control-request-method", "PATCH"))
                .insert_header((
                    "access-control-request-headers",
                    "authorization, content-type, if-match, if-none-match",
                )),
        )
        .await;
    assert!(res.status.is_success(), "{} {}", res.status, res.raw);
    let alice = app.user("alice", None).await;
    let res = app
        .send(
            TestRequest::post()
                .uri("/api/alice/tasks")
                .insert_header(("origin", "http://localhost:3000"))
                .insert_header(("authorization", format!("Bearer {alice}")))
                .set_json(serde_json::json!({"title": "from the browser"})),
        )
        .await;
    assert_eq!(res.status, 201, "{}", res.raw);
    let exposed = res
        .header("access-control-expose-headers")
        .unwrap()
        .to_lowercase();
    assert!(exposed.contains("etag"), "{exposed}");
    let res = app
        .send(
            TestRequest::get()
                .uri("/health")
                .insert_header(("origin", "https://evil.example")),
        )
        .await;
    assert_eq!(res.header("access-control-allow-origin"), None);
}

#[actix_web::test]
async fn metrics_count_requests_by_route_template_and_auth_failures() {
    let app = app().await;
    let alice = app.user("alice", None).await;
    app.call(Method::GET, "/api/alice/tasks", Some(&alice), None)
        .await;
    app.call(Method::GET, "/api/alice/tasks", Some(&alice), None)
        .await;
    app.call(Method::GET, "/api/alice/tasks", None, None).await;
    app.call(
        Method::GET,
        "/api/alice/tasks",
        Some(&app.expired_token("alice")),
        None,
    )
    .await;
    // Routes nested under the tasks scope are labelled with the whole template.
    let missing = "/api/alice/tasks/0193a5c2-7b1e-7cc0-9a4e-3f5d2c1b0a99";
    let res = app.call(Method::GET, missing, Some(&alice), None).await;
    assert_eq!(res.status, 404);
    let res = app
        .call(
            Method::PATCH,
            &format!("{missing}/complete"),
            Some(&alice),
            None,
        )
        .await;
    assert_eq!(res.status, 404);
    let res = app.call(Method::GET, "/metrics", None, None).await;
    assert_eq!(res.status, 200);
    assert!(
        res.header("content-type")
            .unwrap()
            .starts_with("text/plain")
    );
    let text = res.raw;
    assert!(
        text.contains(
            r#"http_requests_total{method="GET",route="/api/{user_id}/tasks",status="200"} 2"#
        ),
        "{text}"
    );
    assert!(text.contains(
        r#"http_requests_total{method="GET",route="/api/{user_id}/tasks",status="401"} 2"#
    ));
    assert!(
        text.contains(
            r#"http_requests_total{method="GET",route="/api/{user_id}/tasks/{task_id}",status="404"} 1"#
        ),
        "{text}"
    );
    assert!(text.contains(
        r#"http_requests_total{method="PATCH",route="/api/{user_id}/tasks/{task_id}/complete",status="404"} 1"#
    ));
    assert!(
        !text.contains("route=\"/api/alice"),
        "raw paths never become labels"
    );
    assert!(
        text.contains(r#"auth_failures_total{reason="missing"} 1"#),
        "{text}"
    );
    assert!(text.contains(r#"auth_failures_total{reason="expired"} 1"#));
    assert!(text.contains(
        "http_request_duration_seconds_count{method=\"GET\",route=\"/api/{user_id}/tasks\"} 4"
    ));
    assert!(
        text.contains("http_requests_in_flight 1"),
        "the scrape itself is in flight"
    );
}

#[actix_web::test]
async fn metrics_can_be_kept_off_the_public_port() {
    let mut app = app().await;
    app.services.http.metrics_on_main_port = false;
    app.call(Method::GET, "/metrics", None, None)
        .await
        .problem(404);
}

#[actix_web::test]
async fn every_refused_credential_is_counted_under_its_reason() {
    let app = app().await;
    app.user("alice", None).await;
    app.session(
        "alice",
        "sessiontokenofalice0123456789ab",
        chrono::TimeDelta::hours(1),
    )
    .await;
    let session = TestApp::signed("sessiontokenofalice0123456789ab");
    let tampered = format!("{}AAAA", session.get(..session.len() - 4).unwrap());
    for (credential, reason) in [
        (app.forged_token("alice"), "bad_signature"),
        (tampered, "bad_signature"),
        (app.expired_token("alice"), "expired"),
        (app.token("ghost"), "unknown_user"),
        ("no+such/credential!".to_owned(), "unsupported"),
        ("signedoutsessiontoken0123456789".to_owned(), "invalid"),
    ] {
        let res = app
            .call(Method::GET, "/api/alice/tasks", Some(&credential), None)
            .await;
        assert_eq!(res.status, 401, "{reason}: {}", res.raw);
    }
    let res = app.call(Method::GET, "/metrics", None, None).await;
    for (reason, n) in [
        ("bad_signature", 2),
        ("expired", 1),
        ("unknown_user", 1),
        ("unsupported", 1),
        ("invalid", 1),
    ] {
        let line = format!("auth_failures_total{{reason=\"{reason}\"}} {n}");
        assert!(res.raw.contains(&line), "{line} in {}", res.raw);
    }
}

#[actix_web::test]
async fn refusals_of_the_http_layer_say_why_in_problem_json() {
    let app = app().await;
    let preflight = |origin: &'static str, method: &'static str| {
        TestRequest::default()
            .method(Method::OPTIONS)
            .uri("/api/alice/tasks")
            .insert_header(("origin", origin))
            .insert_header(("access-control-request-method", method))
    };
    let res = app.send(preflight("http://localhost:3000", "TRACE")).await;
    let detail = res.problem(400);
    assert!(detail.contains("method is not allowed"), "{detail}");
    let res = app.send(preflight("https://evil.example", "GET")).await;
    let detail = res.problem(400);
    assert!(detail.contains("Origin is not allowed"), "{detail}");
}
