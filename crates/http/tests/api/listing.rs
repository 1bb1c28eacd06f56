//! `GET /api/{user_id}/tasks` with filters, sorting and cursor paging.

use actix_web::http::Method;
use chrono::{NaiveDate, TimeDelta, Utc};
use serde_json::{Value, json};
use todo_domain::{Due, TimeZone};

use crate::harness::*;

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

fn titles_of(body: &Value) -> Vec<String> {
    body.as_array()
        .unwrap()
        .iter()
        .map(|t| t["title"].as_str().unwrap().to_owned())
        .collect()
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

/// The value of `name` in a URL's query string (still encoded).
fn param<'a>(url: &'a str, name: &str) -> Option<&'a str> {
    url.split_once('?')?
        .1
        .split('&')
        .find_map(|pair| pair.strip_prefix(&format!("{name}=")))
}

/// Alice, with a token.
async fn alice() -> (TestApp, String) {
    let app = app().await;
    let token = app.user("alice", None).await;
    (app, token)
}

/// The titles `GET /api/alice/tasks?{query}` answers (one page); asserts 200.
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

/// Every page from `url` on, following `Link`: the tasks in order and the links followed.
async fn every_page(app: &TestApp, token: &str, url: &str) -> (Vec<Value>, Vec<String>) {
    let mut url = url.to_owned();
    let mut tasks = Vec::new();
    let mut links = Vec::new();
    loop {
        let res = app.call(Method::GET, &url, Some(token), None).await;
        assert_eq!(res.status, 200, "{url}: {}", res.raw);
        tasks.extend(res.body.as_array().unwrap().iter().cloned());
        match res.header("link") {
            Some(link) => {
                url = next_url(&link);
                links.push(url.clone());
                assert!(links.len() < 50, "paging does not end");
            }
            None => break,
        }
    }
    (tasks, links)
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

async fn get(app: &TestApp, token: &str, query: &str) -> Response {
    app.call(
        Method::GET,
        &format!("/api/alice/tasks?{query}"),
        Some(token),
        None,
    )
    .await
}

#[actix_web::test]
async fn without_parameters_the_list_is_unchanged() {
    let app = app_with(Options {
        max_limit: 3,
        default_limit: 2,
        ..Options::default()
    })
    .await;
    let alice = app.user("alice", None).await;
    for title in ["one", "two", "three"] {
        app.create_with(
            "alice",
            &alice,
            json!({"title": title, "priority": "high", "due": "2020-01-01"}),
        )
        .await;
    }
    let res = app
        .call(Method::GET, "/api/alice/tasks", Some(&alice), None)
        .await;
    assert_eq!(res.status, 200);
    assert_eq!(titles_of(&res.body), ["one", "two"], "oldest first");
    let url = next_url(&res.header("link").unwrap());
    // The plain cursor keeps its form: `<microseconds>_<uuid hex>`, first in the link.
    let cursor = param(&url, "cursor").unwrap();
    let (micros, id) = cursor.split_once('_').unwrap();
    assert!(micros.parse::<i64>().is_ok(), "{url}");
    assert_eq!(id.len(), 32, "{url}");
    assert!(url.starts_with("/api/alice/tasks?cursor="), "{url}");
    assert_eq!(
        url.split_once('?').unwrap().1.split('&').count(),
        1,
        "{url}"
    );
    let res = app.call(Method::GET, &url, Some(&alice), None).await;
    assert_eq!(titles_of(&res.body), ["three"]);
    assert_eq!(res.header("link"), None);

    // Parameters that filter nothing are the same list, with the same cursors.
    let (tasks, links) = every_page(&app, &alice, "/api/alice/tasks?status=all&limit=2").await;
    assert_eq!(titles_of(&Value::Array(tasks)), ["one", "two", "three"]);
    assert_eq!(param(&links[0], "cursor"), Some(cursor));
    assert!(links[0].ends_with("&status=all&limit=2"), "{}", links[0]);
}

#[actix_web::test]
async fn status_selects_open_or_completed_tasks() {
    let (app, alice) = alice().await;
    app.create("alice", &alice, "open").await;
    app.create_with("alice", &alice, json!({"title": "done", "completed": true}))
        .await;
    assert_eq!(titles(&app, &alice, "status=pending").await, ["open"]);
    assert_eq!(titles(&app, &alice, "status=completed").await, ["done"]);
    assert_eq!(titles(&app, &alice, "status=all").await, ["open", "done"]);
}

#[actix_web::test]
async fn priority_matches_any_of_the_given_ones() {
    let (app, alice) = alice().await;
    for (title, priority) in [
        ("h", json!("high")),
        ("m", json!("medium")),
        ("l", json!("low")),
        ("none", Value::Null),
    ] {
        app.create_with(
            "alice",
            &alice,
            json!({"title": title, "priority": priority}),
        )
        .await;
    }
    let t = |q: &'static str| titles(&app, &alice, q);
    assert_eq!(t("priority=high&priority=medium").await, ["h", "m"]);
    assert_eq!(t("priority=high,low").await, ["h", "l"]);
    assert_eq!(t("priority=low%2C%20high").await, ["h", "l"]);
    assert_eq!(t("priority=medium").await, ["m"]);
    assert_eq!(
        t("priority=low&priority=medium&priority=high").await,
        ["h", "m", "l"]
    );
}

#[actix_web::test]
async fn tags_must_all_match_ignoring_case() {
    let (app, alice) = alice().await;
    let (app, alice) = (&app, alice.as_str());
    for (title, tags) in [
        ("home errands", json!(["Home", "errands"])),
        ("home", json!(["home"])),
        ("work", json!(["WORK"])),
        ("Ärger", json!(["Ärger", "home"])),
        ("none", json!([])),
    ] {
        app.create_with("alice", alice, json!({"title": title, "tags": tags}))
            .await;
    }
    let t = |q: String| async move { titles(app, alice, &q).await };
    assert_eq!(
        t("tag=HOME".into()).await,
        ["home errands", "home", "Ärger"]
    );
    assert_eq!(t("tag=home&tag=ERRANDS".into()).await, ["home errands"]);
    assert_eq!(t("tag=home,errands".into()).await, ["home errands"]);
    assert_eq!(t("tag=work".into()).await, ["work"]);
    assert!(t("tag=home&tag=work".into()).await.is_empty());
    assert_eq!(t(format!("tag={}", enc("äRGER"))).await, ["Ärger"]);
    assert!(t("tag=garden".into()).await.is_empty());
}

#[actix_web::test]
async fn q_finds_a_keyword_in_the_title_or_description_ignoring_case() {
    let (app, alice) = alice().await;
    let (app, alice) = (&app, alice.as_str());
    for (title, description) in [
        ("Äpfel kaufen", Value::Null),
        ("Buy milk", json!("and ÄPFEL, and oat milk")),
        ("Straße fegen", Value::Null),
        ("日本語の本を読む", json!("ゆっくり")),
        ("Call 100% mum_now", Value::Null),
    ] {
        app.create_with(
            "alice",
            alice,
            json!({"title": title, "description": description}),
        )
        .await;
    }
    let t = |q: &str| {
        let query = format!("q={}", enc(q));
        async move { titles(app, alice, &query).await }
    };
    assert_eq!(t("äpfel").await, ["Äpfel kaufen", "Buy milk"]);
    assert_eq!(t("ÄPFEL").await, ["Äpfel kaufen", "Buy milk"]);
    assert_eq!(t("MILK").await, ["Buy milk"]);
    assert_eq!(t("STRAßE").await, ["Straße fegen"]);
    assert_eq!(t("本を").await, ["日本語の本を読む"]);
    assert_eq!(t("ゆっくり").await, ["日本語の本を読む"]);
    assert_eq!(t("  fegen ").await, ["Straße fegen"], "trimmed");
    // Wildcards of SQL are plain characters.
    assert_eq!(t("100%").await, ["Call 100% mum_now"]);
    assert_eq!(t("mum_now").await, ["Call 100% mum_now"]);
    assert!(t("%").await.len() == 1 && t("_").await.len() == 1);
    assert!(t("pear").await.is_empty());
    // `+` is a space in a query string.
    assert_eq!(titles(app, alice, "q=buy+milk").await, ["Buy milk"]);
}

#[actix_web::test]
async fn due_before_and_due_after_bound_the_due_date() {
    let (app, alice) = alice().await;
    for (title, due) in [
        ("dec 1", json!("2026-12-01")), // 2026-12-01T00:00Z
        ("dec 1, 08:00Z", json!("2026-12-01T09:00:00+01:00")), // 08:00Z
        ("dec 5", json!("2026-12-05")),
        ("dec 1, 04:00Z", json!("2026-11-30T23:00:00-05:00")), // 04:00Z
        ("no due", Value::Null),
    ] {
        app.create_with("alice", &alice, json!({"title": title, "due": due}))
            .await;
    }
    let t = |q: &'static str| titles(&app, &alice, q);
    assert_eq!(
        t("due_after=2026-12-01").await,
        ["dec 1", "dec 1, 08:00Z", "dec 5", "dec 1, 04:00Z"],
        "a date means its midnight UTC; at or after"
    );
    assert_eq!(
        t("due_before=2026-12-05").await,
        ["dec 1", "dec 1, 08:00Z", "dec 1, 04:00Z"],
        "strictly before"
    );
    assert_eq!(
        t("due_before=2026-12-01T06:00:00Z").await,
        ["dec 1", "dec 1, 04:00Z"]
    );
    assert_eq!(
        t("due_after=2026-12-01T06:00:00%2B01:00&due_before=2026-12-05").await,
        ["dec 1, 08:00Z"],
        "05:00Z to Dec 5"
    );
    assert!(t("due_before=2026-12-01").await.is_empty());
    assert!(t("due_after=2026-12-06").await.is_empty());
}

/// `date` as `YYYY-MM-DD`.
fn day(date: NaiveDate) -> String {
    date.format("%Y-%m-%d").to_string()
}

#[actix_web::test]
async fn overdue_and_due_today_are_judged_in_the_given_zone() {
    let (app, alice) = alice().await;
    let now = Utc::now();
    // Kiritimati (UTC+14) is always one or two dates ahead of Pago Pago (UTC−11).
    let kiritimati = TimeZone::parse("tz", "Pacific/Kiritimati").unwrap();
    let pago = TimeZone::parse("tz", "Pacific/Pago_Pago").unwrap();
    let today_k = now.with_timezone(&kiritimati.tz()).date_naive();
    let today_p = now.with_timezone(&pago.tz()).date_naive();
    let hour_ago = (now - TimeDelta::hours(1)).to_rfc3339();
    let in_an_hour = (now + TimeDelta::hours(1)).to_rfc3339();
    let tasks = [
        ("today in Kiritimati", day(today_k)),
        ("today in Pago Pago", day(today_p)),
        ("long ago", "2020-01-01".to_owned()),
        ("far ahead", "2099-01-01".to_owned()),
        ("an hour ago", hour_ago),
        ("in an hour", in_an_hour),
    ];
    for (title, due) in &tasks {
        app.create_with("alice", &alice, json!({"title": title, "due": due}))
            .await;
    }
    app.create("alice", &alice, "no due").await;
    // Completed tasks are never overdue.
    app.create_with(
        "alice",
        &alice,
        json!({"title": "done long ago", "due": "2020-01-01", "completed": true}),
    )
    .await;
    // What the domain says, for the instants whose local date depends on the hour.
    let expected = |zone: TimeZone, today: bool| -> Vec<String> {
        let now = Utc::now();
        tasks
            .iter()
            .filter(|(_, due)| {
                let due = Due::parse(due).unwrap();
                if today {
                    due.is_due_today(now, zone.tz())
                } else {
                    due.is_overdue(now, zone.tz())
                }
            })
            .map(|(title, _)| (*title).to_owned())
            .collect()
    };

    let overdue_k = titles(&app, &alice, "overdue=true&tz=Pacific/Kiritimati").await;
    assert_eq!(overdue_k, expected(kiritimati, false));
    for title in ["today in Pago Pago", "long ago", "an hour ago"] {
        assert!(
            overdue_k.iter().any(|t| t == title),
            "{title}: {overdue_k:?}"
        );
    }
    let overdue_p = titles(&app, &alice, "overdue=true&tz=Pacific%2FPago_Pago").await;
    assert_eq!(overdue_p, ["long ago", "an hour ago"]);
    let overdue_utc = titles(&app, &alice, "overdue=true").await;
    assert_eq!(overdue_utc, expected(TimeZone::UTC, false));
    assert_eq!(
        titles(&app, &alice, "overdue=true&tz=UTC").await,
        overdue_utc,
        "UTC by default"
    );
    assert_eq!(
        titles(&app, &alice, "overdue=false").await.len(),
        8,
        "false is no condition"
    );

    let today_in_k = titles(&app, &alice, "due=today&tz=Pacific/Kiritimati").await;
    assert_eq!(today_in_k, expected(kiritimati, true));
    assert!(today_in_k.contains(&"today in Kiritimati".to_owned()));
    assert!(!today_in_k.contains(&"today in Pago Pago".to_owned()));
    let today_in_p = titles(&app, &alice, "due=today&tz=Pacific/Pago_Pago").await;
    assert_eq!(today_in_p, expected(pago, true));
    assert!(today_in_p.contains(&"today in Pago Pago".to_owned()));
    assert!(!today_in_p.contains(&"today in Kiritimati".to_owned()));
    assert_eq!(
        titles(&app, &alice, "due=today").await,
        expected(TimeZone::UTC, true)
    );
    assert_eq!(
        titles(&app, &alice, "due=today&overdue=true&tz=Pacific/Pago_Pago").await,
        expected(pago, true)
            .into_iter()
            .filter(|t| expected(pago, false).contains(t))
            .collect::<Vec<_>>(),
        "both conditions"
    );
}

#[actix_web::test]
async fn updated_since_returns_what_changed_at_or_after_an_instant() {
    let (app, alice) = alice().await;
    for title in ["a", "b", "c"] {
        app.create("alice", &alice, title).await;
    }
    let list = get(&app, &alice, "").await;
    let b = &list.body[1];
    let res = app
        .call(
            Method::PATCH,
            &format!("/api/alice/tasks/{}", b["id"].as_str().unwrap()),
            Some(&alice),
            Some(json!({"title": "b, edited"})),
        )
        .await;
    assert_eq!(res.status, 200, "{}", res.raw);
    let since = res.body["updated_at"].as_str().unwrap().to_owned();
    assert_eq!(
        titles(&app, &alice, &format!("updated_since={}", enc(&since))).await,
        ["b, edited"],
        "at or after"
    );
    let created = get(&app, &alice, "").await.body[0]["created_at"]
        .as_str()
        .unwrap()
        .to_owned();
    assert_eq!(
        titles(&app, &alice, &format!("updated_since={created}")).await,
        ["a", "b, edited", "c"]
    );
    assert!(
        titles(&app, &alice, "updated_since=2999-01-01T00:00:00%2B02:00")
            .await
            .is_empty()
    );
}

#[actix_web::test]
async fn every_sort_orders_both_ways() {
    let (app, alice) = alice().await;
    let mut ids = Vec::new();
    for body in [
        json!({"title": "banana", "priority": "low", "due": "2026-12-03"}),
        json!({"title": "Apple", "priority": "high"}),
        json!({"title": "cherry", "due": "2026-12-01T10:00:00Z"}),
        json!({"title": "apricot", "priority": "medium", "due": "2026-12-02"}),
    ] {
        ids.push(app.create_with("alice", &alice, body).await["id"].clone());
    }
    // The first one changes last.
    let res = app
        .call(
            Method::PATCH,
            &format!("/api/alice/tasks/{}", ids[0].as_str().unwrap()),
            Some(&alice),
            Some(json!({"description": "ripe"})),
        )
        .await;
    assert_eq!(res.status, 200);
    for (sort, expected) in [
        ("created_at", ["banana", "Apple", "cherry", "apricot"]),
        ("-created_at", ["apricot", "cherry", "Apple", "banana"]),
        ("updated_at", ["Apple", "cherry", "apricot", "banana"]),
        ("-updated_at", ["banana", "apricot", "cherry", "Apple"]),
        // No due date: last either way.
        ("due", ["cherry", "apricot", "banana", "Apple"]),
        ("-due", ["banana", "apricot", "cherry", "Apple"]),
        // No priority: last either way.
        ("priority", ["banana", "apricot", "Apple", "cherry"]),
        ("-priority", ["Apple", "apricot", "banana", "cherry"]),
        // Ignoring case.
        ("title", ["Apple", "apricot", "banana", "cherry"]),
        ("-title", ["cherry", "banana", "apricot", "Apple"]),
    ] {
        assert_eq!(
            titles(&app, &alice, &format!("sort={sort}")).await,
            expected,
            "sort={sort}"
        );
        // And one task per page, through the Link header.
        let (tasks, links) = every_page(
            &app,
            &alice,
            &format!("/api/alice/tasks?sort={sort}&limit=1"),
        )
        .await;
        assert_eq!(
            titles_of(&Value::Array(tasks)),
            expected,
            "paged sort={sort}"
        );
        assert_eq!(links.len(), 3);
        for link in &links {
            assert!(link.ends_with(&format!("&sort={sort}&limit=1")), "{link}");
        }
    }
}

#[actix_web::test]
async fn paging_a_filtered_sorted_list_returns_each_match_once() {
    let (app, alice) = alice().await;
    let mut matching = Vec::new();
    // Ties in priority, no priority, Unicode titles; and tasks that do not match.
    for (i, priority) in [
        "high", "low", "high", "", "medium", "high", "low", "", "medium",
    ]
    .iter()
    .enumerate()
    {
        let priority = if priority.is_empty() {
            Value::Null
        } else {
            json!(priority)
        };
        let title = format!("Größe {i} — 日本 ✓ & \"x\"");
        let task = app
            .create_with(
                "alice",
                &alice,
                json!({"title": title, "priority": priority, "tags": ["Work", "home"]}),
            )
            .await;
        matching.push(task["id"].as_str().unwrap().to_owned());
        app.create_with(
            "alice",
            &alice,
            json!({"title": format!("Größe done {i}"), "priority": priority, "tags": ["work"], "completed": true}),
        )
        .await;
        app.create_with(
            "alice",
            &alice,
            json!({"title": format!("GRÖßE other {i}"), "priority": priority, "tags": ["home"]}),
        )
        .await;
    }
    for sort in [
        "-priority",
        "priority",
        "title",
        "-title",
        "due",
        "-updated_at",
    ] {
        let query = format!("status=pending&tag=WORK&sort={sort}&q={}", enc("größe"));
        let whole = get(&app, &alice, &query).await;
        assert_eq!(whole.status, 200, "{}", whole.raw);
        let whole: Vec<String> = whole
            .body
            .as_array()
            .unwrap()
            .iter()
            .map(|t| t["id"].as_str().unwrap().to_owned())
            .collect();
        let (tasks, links) =
            every_page(&app, &alice, &format!("/api/alice/tasks?{query}&limit=2")).await;
        let paged: Vec<String> = tasks
            .iter()
            .map(|t| t["id"].as_str().unwrap().to_owned())
            .collect();
        assert_eq!(paged, whole, "sort={sort}: pages add up to the whole list");
        let mut once = paged.clone();
        once.sort();
        once.dedup();
        let mut expected = matching.clone();
        expected.sort();
        assert_eq!(once, expected, "sort={sort}: each match exactly once");
        assert_eq!(links.len(), 4, "sort={sort}: 9 tasks, 2 a page");
        for link in &links {
            for kept in [
                "status=pending",
                "tag=WORK",
                &format!("sort={sort}"),
                "q=gr%C3%B6%C3%9Fe",
                "limit=2",
            ] {
                assert!(link.contains(kept), "{link} keeps {kept}");
            }
            assert_eq!(link.matches("cursor=").count(), 1, "{link}");
        }
    }
    // Priorities in order, ties broken by id, no priority last.
    let body = get(&app, &alice, "status=pending&tag=work&sort=-priority")
        .await
        .body;
    let ranks: Vec<Value> = body
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["priority"].clone())
        .collect();
    assert_eq!(
        ranks,
        [
            json!("high"),
            json!("high"),
            json!("high"),
            json!("medium"),
            json!("medium"),
            json!("low"),
            json!("low"),
            Value::Null,
            Value::Null
        ]
    );
}

#[actix_web::test]
async fn unknown_parameters_are_refused_by_name() {
    let (app, alice) = alice().await;
    let message = refused(&get(&app, &alice, "colour=red").await, &["colour"]);
    assert!(message.contains("status, priority, tag"), "{message}");
    refused(
        &get(&app, &alice, "colour=red&status=pending&size=2&colour=blue").await,
        &["colour", "size"],
    );
    refused(&get(&app, &alice, "Status=pending").await, &["Status"]);
    refused(&get(&app, &alice, "tags=home").await, &["tags"]);
}

#[actix_web::test]
async fn single_parameters_given_twice_are_refused() {
    let (app, alice) = alice().await;
    for query in [
        "status=all&status=pending",
        "sort=title&sort=title",
        "limit=1&limit=2",
        "q=a&q=b",
        "tz=UTC&tz=UTC",
    ] {
        let field = query.split('=').next().unwrap();
        let message = refused(&get(&app, &alice, query).await, &[field]);
        assert_eq!(message, "must be given at most once");
    }
}

#[actix_web::test]
async fn each_bad_value_is_refused_naming_its_parameter() {
    let (app, alice) = alice().await;
    for (query, field) in [
        ("status=done", "status"),
        ("status=", "status"),
        ("priority=urgent", "priority"),
        ("priority=high&priority=HIGH", "priority"),
        ("priority=high,,low", "priority"),
        ("tag=", "tag"),
        ("tag=a%07b", "tag"),
        ("q=", "q"),
        ("q=%20", "q"),
        ("due_before=2026-02-30", "due_before"),
        ("due_before=soon", "due_before"),
        ("due_after=2026-12-01T09:00:00", "due_after"),
        // An unencoded `+` is a space: the offset is lost.
        ("due_after=2026-12-01T09:00:00+01:00", "due_after"),
        ("overdue=yes", "overdue"),
        ("overdue=TRUE", "overdue"),
        ("due=tomorrow", "due"),
        ("tz=Mars/Olympus", "tz"),
        ("tz=", "tz"),
        ("updated_since=2026-12-01", "updated_since"),
        ("updated_since=yesterday", "updated_since"),
        ("sort=colour", "sort"),
        ("sort=--due", "sort"),
        ("limit=0", "limit"),
        ("limit=abc", "limit"),
        ("limit=1001", "limit"),
        ("sort=due&limit=0", "limit"),
        ("cursor=garbage", "cursor"),
        ("sort=title&cursor=garbage", "cursor"),
        ("sort=title&cursor=", "cursor"),
    ] {
        refused(&get(&app, &alice, query).await, &[field]);
    }
    let many: Vec<String> = (0..21).map(|i| format!("tag=t{i}")).collect();
    refused(&get(&app, &alice, &many.join("&")).await, &["tag"]);
    refused(
        &get(&app, &alice, "status=x&sort=y&overdue=z").await,
        &["status", "overdue", "sort"],
    );
}

#[actix_web::test]
async fn parameters_that_are_not_utf8_once_decoded_are_refused_by_name() {
    let (app, alice) = alice().await;
    app.create(
        "alice",
        &alice,
        "\u{FFFD}\u{FFFD} what a lossy decoder would find",
    )
    .await;
    for (query, field) in [
        ("q=%FF%FE", "q"),
        ("q=caf%C3", "q"),
        ("tag=%FF", "tag"),
        ("status=pending&q=%C3%28", "q"),
        ("sort=title&cursor=%FF", "cursor"),
        ("%FF=1", "%FF"),
    ] {
        let message = refused(&get(&app, &alice, query).await, &[field]);
        assert!(message.contains("UTF-8"), "{query}: {message}");
    }
    // Reported with every other bad parameter at once.
    refused(
        &get(&app, &alice, "status=x&q=%FF&colour=red").await,
        &["q", "colour", "status"],
    );
    // Valid UTF-8, escaped or not, is still fine.
    assert_eq!(
        titles(&app, &alice, "q=%EF%BF%BD%EF%BF%BD").await,
        ["\u{FFFD}\u{FFFD} what a lossy decoder would find"]
    );
}

#[actix_web::test]
async fn a_cursor_from_another_query_is_refused() {
    let (app, alice) = alice().await;
    let (app, alice) = (&app, alice.as_str());
    for title in ["a", "b", "c"] {
        app.create_with("alice", alice, json!({"title": title, "tags": ["x"]}))
            .await;
    }
    let link = |query: &'static str| async move {
        let res = get(app, alice, query).await;
        assert_eq!(res.status, 200, "{}", res.raw);
        let url = next_url(&res.header("link").unwrap());
        param(&url, "cursor").unwrap().to_owned()
    };
    let by_title = link("sort=title&limit=1").await;
    let tagged = link("tag=x&limit=1").await;
    let plain = link("limit=1").await;
    for (query, cursor) in [
        ("sort=-title", &by_title),
        ("sort=created_at", &by_title),
        ("sort=title&status=pending", &by_title),
        ("", &by_title),
        ("tag=y", &tagged),
        ("tag=x&sort=-created_at", &tagged),
        ("sort=title", &plain),
        ("tag=x", &plain),
    ] {
        let res = get(app, alice, &format!("{query}&cursor={cursor}")).await;
        let message = refused(&res, &["cursor"]);
        assert!(
            message.starts_with("belongs to a different query"),
            "{query}: {message}"
        );
    }
    // The same query in another spelling is the same query.
    for (query, cursor) in [
        ("limit=1&sort=title", &by_title),
        ("tag=X&limit=5", &tagged),
        ("sort=created_at", &plain),
        ("status=all", &plain),
    ] {
        let res = get(app, alice, &format!("{query}&cursor={cursor}")).await;
        assert_eq!(res.status, 200, "{query}: {}", res.raw);
    }
}

#[actix_web::test]
async fn the_next_link_repeats_the_parameters_encoded() {
    let (app, alice) = alice().await;
    for i in 0..3 {
        app.create_with(
            "alice",
            &alice,
            json!({"title": format!("café & crème {i}"), "tags": ["à/b"], "due": "2026-12-01"}),
        )
        .await;
    }
    let query = format!(
        "q={}&tag={}&due_after={}&tz=Europe%2FBerlin&overdue=false&limit=1",
        enc("CAFÉ & Crème"),
        enc("À/B"),
        enc("2026-11-30T00:00:00+01:00")
    );
    let (tasks, links) = every_page(&app, &alice, &format!("/api/alice/tasks?{query}")).await;
    assert_eq!(
        titles_of(&Value::Array(tasks)),
        ["café & crème 0", "café & crème 1", "café & crème 2"]
    );
    assert_eq!(links.len(), 2);
    for link in &links {
        let rest = link.split_once('&').unwrap().1;
        assert_eq!(
            rest,
            "q=CAF%C3%89%20%26%20Cr%C3%A8me&tag=%C3%80%2FB&due_after=2026-11-30T00%3A00%3A00%2B01%3A00\
             &tz=Europe%2FBerlin&overdue=false&limit=1"
        );
    }
}

#[actix_web::test]
async fn the_openapi_document_describes_every_list_parameter() {
    let app = app().await;
    let doc = app
        .call(Method::GET, "/openapi.json", None, None)
        .await
        .body;
    let op = &doc["paths"]["/api/{user_id}/tasks"]["get"];
    let params = op["parameters"].as_array().unwrap();
    let query: Vec<&Value> = params.iter().filter(|p| p["in"] == "query").collect();
    let names: Vec<&str> = query.iter().map(|p| p["name"].as_str().unwrap()).collect();
    assert_eq!(
        names,
        [
            "status",
            "priority",
            "tag",
            "q",
            "due_before",
            "due_after",
            "overdue",
            "due",
            "tz",
            "updated_since",
            "include_deleted",
            "list_id",
            "parent_id",
            "assignee",
            "archived",
            "sort",
            "limit",
            "cursor"
        ]
    );
    for p in &query {
        let name = p["name"].as_str().unwrap();
        assert!(
            !p["description"].as_str().unwrap_or("").is_empty(),
            "{name} is described"
        );
        assert_ne!(p["required"], true, "{name} is optional");
        if name != "cursor" {
            assert!(
                p.get("example").is_some() || p["schema"].get("example").is_some(),
                "{name} has an example: {p}"
            );
        }
    }
    let by_name = |name: &str| *query.iter().find(|p| p["name"] == name).unwrap();
    for repeatable in ["priority", "tag"] {
        let p = by_name(repeatable);
        assert_eq!(p["explode"], true, "{p}");
        assert_eq!(p["style"], "form", "{p}");
        assert!(p.to_string().contains("array"), "{p}");
    }
    let sort = by_name("sort").to_string();
    for value in ["\"created_at\"", "\"-created_at\"", "\"-title\"", "\"due\""] {
        assert!(sort.contains(value), "{sort}");
    }
    assert!(by_name("status").to_string().contains("\"pending\""));
    assert!(op["responses"]["422"].is_object());
    assert!(op["responses"]["200"]["headers"]["Link"].is_object());
}
