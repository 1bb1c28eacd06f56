//! Request budgets: per user for reads and writes, per client address for reads, writes
//! and refused credentials; `RateLimit` headers, 429 with `Retry-After` and a detail naming the budget,
//! counters in `/metrics`.

use std::net::SocketAddr;
use std::sync::atomic::Ordering;
use std::time::Duration;

use actix_web::http::Method;
use actix_web::test::TestRequest;
use todo_http::{Policy, RateLimitSettings};

use crate::harness::{Options, Response, TestApp, app_with};

fn small_limits() -> RateLimitSettings {
    RateLimitSettings {
        reads: Policy {
            quota: 3,
            window: Duration::from_secs(60),
        },
        writes: Policy {
            quota: 2,
            window: Duration::from_secs(60),
        },
        auth_failures: Policy {
            quota: 2,
            window: Duration::from_secs(60),
        },
        ..RateLimitSettings::default()
    }
}

async fn limited_app() -> TestApp {
    app_with(Options {
        rate_limits: small_limits(),
        ..Options::default()
    })
    .await
}

async fn from(app: &TestApp, addr: &str, path: &str, token: Option<&str>) -> Response {
    let mut req = TestRequest::get()
        .uri(path)
        .peer_addr(addr.parse::<SocketAddr>().unwrap());
    if let Some(token) = token {
        req = req.insert_header(("authorization", format!("Bearer {token}")));
    }
    app.send(req).await
}

async fn metric(app: &TestApp, budget: &str) -> String {
    let res = app.call(Method::GET, "/metrics", None, None).await;
    let line = format!("rate_limited_total{{budget=\"{budget}\"}} ");
    res.raw
        .lines()
        .find_map(|l| l.strip_prefix(&line))
        .unwrap_or_else(|| panic!("no {line} in {}", res.raw))
        .to_owned()
}

#[actix_web::test]
async fn ordinary_responses_carry_the_budget_headers() {
    let app = app_with(Options::default()).await;
    let token = app.user("alice", None).await;
    let res = app
        .call(Method::GET, "/api/alice/tasks", Some(&token), None)
        .await;
    assert_eq!(res.status, 200);
    assert_eq!(
        res.header("ratelimit-policy").as_deref(),
        Some("\"reads\";q=6000;w=10, \"address_reads\";q=12000;w=10")
    );
    assert_eq!(
        res.header("ratelimit").as_deref(),
        Some("\"reads\";r=5999;t=1, \"address_reads\";r=11999;t=1")
    );
    let res = app
        .call(
            Method::POST,
            "/api/alice/tasks",
            Some(&token),
            Some(serde_json::json!({ "title": "a" })),
        )
        .await;
    assert_eq!(res.status, 201);
    assert_eq!(
        res.header("ratelimit-policy").as_deref(),
        Some("\"writes\";q=3000;w=10, \"address_writes\";q=6000;w=10")
    );
    // A refused credential shows the address's auth-failures budget.
    let res = app
        .call(Method::GET, "/api/me", Some("nonsense"), None)
        .await;
    res.problem(401);
    // (The address's reads refill by one every 0.83 ms: what is left depends on the clock.)
    let limit = res.header("ratelimit").unwrap();
    assert!(
        limit.starts_with("\"auth_failures\";r=99;t=1, \"address_reads\";r="),
        "{limit}"
    );
    // Outside /api: none.
    let res = app.call(Method::GET, "/health", None, None).await;
    assert_eq!(res.header("ratelimit-policy"), None);
}

#[actix_web::test]
async fn a_user_over_the_reads_budget_gets_429_naming_it_and_others_are_unaffected() {
    let app = limited_app().await;
    let alice = app.user("alice", None).await;
    let bob = app.user("bob", None).await;
    for remaining in [2, 1, 0] {
        let res = app
            .call(Method::GET, "/api/alice/tasks", Some(&alice), None)
            .await;
        assert_eq!(res.status, 200, "{}", res.raw);
        let limit = res.header("ratelimit").unwrap();
        let expected = format!("\"reads\";r={remaining};t={}, ", (3 - remaining) * 20);
        assert!(limit.starts_with(&expected), "{limit}");
    }
    let res = app
        .call(Method::GET, "/api/alice/tasks", Some(&alice), None)
        .await;
    let detail = res.problem(429);
    assert_eq!(
        detail,
        "the reads budget of 3 requests per 60 s for this user is used up; retry after 20 s"
    );
    assert_eq!(res.header("retry-after").as_deref(), Some("20"));
    assert_eq!(
        res.header("ratelimit-policy").as_deref(),
        Some("\"reads\";q=3;w=60, \"address_reads\";q=12000;w=10")
    );
    let limit = res.header("ratelimit").unwrap();
    assert!(limit.starts_with("\"reads\";r=0;t=20, "), "{limit}");
    // Writes have their own budget; so has every other user.
    let res = app
        .call(
            Method::POST,
            "/api/alice/tasks",
            Some(&alice),
            Some(serde_json::json!({ "title": "still" })),
        )
        .await;
    assert_eq!(res.status, 201, "{}", res.raw);
    let res = app
        .call(Method::GET, "/api/bob/tasks", Some(&bob), None)
        .await;
    assert_eq!(res.status, 200);
    assert_eq!(metric(&app, "reads").await, "1");
    assert_eq!(metric(&app, "writes").await, "0");
}

#[actix_web::test]
async fn an_address_out_of_auth_failures_is_refused_before_its_credential_is_verified() {
    let app = limited_app().await;
    let alice = app.user("alice", None).await;
    let attacker = "203.0.113.7:4000";
    let forged = app.forged_token("alice");
    for _ in 0..2 {
        from(&app, attacker, "/api/me", Some(&forged))
            .await
            .problem(401);
    }
    assert_eq!(app.verifications.load(Ordering::SeqCst), 2);
    // Used up: refused with 429 before any verifier (or the user store) is asked, even
    // for a valid credential.
    for token in [forged.as_str(), alice.as_str()] {
        let res = from(&app, attacker, "/api/me", Some(token)).await;
        let detail = res.problem(429);
        assert_eq!(
            detail,
            "the auth failures budget of 2 failed authentications per 60 s for this address is used up; retry after 30 s"
        );
        assert_eq!(res.header("retry-after").as_deref(), Some("30"));
        assert_eq!(
            res.header("ratelimit-policy").as_deref(),
            Some("\"auth_failures\";q=2;w=60, \"address_reads\";q=12000;w=10")
        );
    }
    assert_eq!(app.verifications.load(Ordering::SeqCst), 2);
    assert_eq!(metric(&app, "auth_failures").await, "2");
    // Another address is unaffected.
    let res = from(&app, "198.51.100.1:4000", "/api/me", Some(&alice)).await;
    assert_eq!(res.status, 200, "{}", res.raw);
    assert_eq!(app.verifications.load(Ordering::SeqCst), 3);
    // Without a credential there is nothing to verify: still 401, not counted.
    from(&app, attacker, "/api/me", None).await.problem(401);
}

#[actix_web::test]
async fn forwarded_for_is_ignored_unless_the_peer_is_a_trusted_proxy() {
    let app = limited_app().await;
    let forged = app.forged_token("alice");
    for client in ["192.0.2.1", "192.0.2.2", "192.0.2.3"] {
        let req = TestRequest::get()
            .uri("/api/me")
            .peer_addr("10.0.0.9:4000".parse().unwrap())
            .insert_header(("x-forwarded-for", client))
            .insert_header(("authorization", format!("Bearer {forged}")));
        let res = app.send(req).await;
        // The same peer each time: the third is refused.
        let expected = if client == "192.0.2.3" { 429 } else { 401 };
        res.problem(expected);
    }
}

#[actix_web::test]
async fn disabled_limits_send_no_headers_and_refuse_nothing() {
    let app = app_with(Options {
        rate_limits: RateLimitSettings {
            enabled: false,
            ..small_limits()
        },
        ..Options::default()
    })
    .await;
    let alice = app.user("alice", None).await;
    for _ in 0..5 {
        let res = app
            .call(Method::GET, "/api/alice/tasks", Some(&alice), None)
            .await;
        assert_eq!(res.status, 200);
        assert_eq!(res.header("ratelimit"), None);
        assert_eq!(res.header("ratelimit-policy"), None);
    }
}

fn address_limits() -> RateLimitSettings {
    RateLimitSettings {
        // Slow enough to refill nothing while a test runs: one every 6 s.
        reads: Policy {
            quota: 100,
            window: Duration::from_secs(600),
        },
        address_reads: Policy {
            quota: 4,
            window: Duration::from_secs(60),
        },
        address_writes: Policy {
            quota: 1,
            window: Duration::from_secs(60),
        },
        ..RateLimitSettings::default()
    }
}

#[actix_web::test]
async fn an_address_over_its_reads_budget_gets_429_whoever_asks() {
    let app = app_with(Options {
        rate_limits: address_limits(),
        ..Options::default()
    })
    .await;
    let alice = app.user("alice", None).await;
    let bob = app.user("bob", None).await;
    let office = "203.0.113.7:4000";
    // Two users and a request without a credential share the address's budget.
    assert_eq!(
        from(&app, office, "/api/alice/tasks", Some(&alice))
            .await
            .status,
        200
    );
    assert_eq!(
        from(&app, office, "/api/bob/tasks", Some(&bob))
            .await
            .status,
        200
    );
    from(&app, office, "/api/me", None).await.problem(401);
    let res = from(&app, office, "/api/bob/tasks", Some(&bob)).await;
    assert_eq!(res.status, 200, "{}", res.raw);
    assert_eq!(
        res.header("ratelimit").as_deref(),
        Some("\"reads\";r=98;t=12, \"address_reads\";r=0;t=60")
    );
    for token in [Some(alice.as_str()), None] {
        let res = from(&app, office, "/api/alice/tasks", token).await;
        let detail = res.problem(429);
        assert_eq!(
            detail,
            "the address reads budget of 4 requests per 60 s for this address is used up; retry after 15 s"
        );
        assert_eq!(res.header("retry-after").as_deref(), Some("15"));
        assert_eq!(
            res.header("ratelimit").as_deref(),
            Some("\"address_reads\";r=0;t=15")
        );
    }
    assert_eq!(metric(&app, "address_reads").await, "2");
    // The refusals cost no user anything, and another address is unaffected.
    let res = from(&app, "198.51.100.1:4000", "/api/alice/tasks", Some(&alice)).await;
    assert_eq!(res.status, 200, "{}", res.raw);
    assert_eq!(
        res.header("ratelimit").as_deref(),
        Some("\"reads\";r=98;t=12, \"address_reads\";r=3;t=15")
    );
}

#[actix_web::test]
async fn an_address_over_its_writes_budget_gets_429_and_keeps_its_reads() {
    let app = app_with(Options {
        rate_limits: address_limits(),
        ..Options::default()
    })
    .await;
    let alice = app.user("alice", None).await;
    let peer = "203.0.113.8:4000".parse::<SocketAddr>().unwrap();
    let create = || {
        TestRequest::post()
            .uri("/api/alice/tasks")
            .peer_addr(peer)
            .insert_header(("authorization", format!("Bearer {alice}")))
            .set_json(serde_json::json!({ "title": "a" }))
    };
    assert_eq!(app.send(create()).await.status, 201);
    let res = app.send(create()).await;
    let detail = res.problem(429);
    assert!(
        detail.starts_with("the address writes budget of 1 requests per 60 s for this address"),
        "{detail}"
    );
    assert_eq!(
        res.header("ratelimit-policy").as_deref(),
        Some("\"address_writes\";q=1;w=60")
    );
    assert_eq!(metric(&app, "address_writes").await, "1");
    assert_eq!(
        from(&app, "203.0.113.8:4000", "/api/alice/tasks", Some(&alice))
            .await
            .status,
        200
    );
}

#[actix_web::test]
async fn address_budgets_follow_forwarded_for_only_from_a_trusted_proxy() {
    let proxy = "10.0.0.9:4000".parse::<SocketAddr>().unwrap();
    let app = app_with(Options {
        rate_limits: RateLimitSettings {
            trusted_proxies: vec![proxy.ip()],
            ..address_limits()
        },
        ..Options::default()
    })
    .await;
    let via = |client: &str| {
        TestRequest::get()
            .uri("/api/me")
            .peer_addr(proxy)
            .insert_header(("x-forwarded-for", client.to_owned()))
    };
    // Five clients behind the proxy: each its own budget.
    for n in 1..=5 {
        app.send(via(&format!("192.0.2.{n}"))).await.problem(401);
    }
    // One client, five times: the fifth is over.
    for _ in 0..3 {
        app.send(via("192.0.2.1")).await.problem(401);
    }
    app.send(via("192.0.2.1")).await.problem(429);
}
