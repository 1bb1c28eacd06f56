//! Webhooks delivered by the running application to a receiver on 127.0.0.1, which
//! verifies every signature the Standard Webhooks way: each change arrives, in order,
//! after the receiver's refusals; a server killed mid-burst loses none; two replicas send
//! each once; and, through the API, a webhook's secrets reach its receiver's signatures
//! and nothing else (no listing, no log line).

use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde_json::{Value, json};
use todo_application::ports::{ChangeLog, WebhookRepository};
use todo_domain::webhook::{AllowedHosts, EventKinds, TargetUrl, Webhook, WebhookId};
use todo_persistence::{PoolSettings, SeaChangeLog, SeaWebhookRepository};
use todo_server::{Application, Settings};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;

use crate::binary::{Server, token, workdir};
use crate::pg::Schema;
use crate::served::{add_user_at, token_with};

const SECRET: &str = "e2e-secret-0123456789abcdef0123456789";
const HOOK_SECRET: &str = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";

/// One request the receiver got: the Standard Webhooks headers, the body, and what the
/// receiver answered.
#[derive(Debug, Clone)]
struct Got {
    id: String,
    timestamp: i64,
    signature: String,
    raw: Vec<u8>,
    body: Value,
    accepted: bool,
}

impl Got {
    /// Whether its `webhook-signature` is the one `secrets` make (each a `v1,` entry).
    fn signed_by(&self, secrets: &[&str]) -> bool {
        let secrets: Vec<String> = secrets.iter().map(|s| (*s).to_owned()).collect();
        todo_webhooks::sign(&secrets, &self.id, self.timestamp, &self.raw).unwrap()
            == self.signature
    }
}

/// A receiver that refuses (500) the first `refuse` requests and accepts (204) the rest.
async fn receiver(refuse: usize) -> (u16, Arc<Mutex<Vec<Got>>>) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let got = Arc::new(Mutex::new(Vec::<Got>::new()));
    let seen = got.clone();
    tokio::spawn(async move {
        while let Ok((mut conn, _)) = listener.accept().await {
            let seen = seen.clone();
            tokio::spawn(async move {
                let mut buf = Vec::new();
                let mut chunk = [0u8; 8192];
                loop {
                    // One request per connection is enough here: the answer closes it.
                    let n = conn.read(&mut chunk).await.unwrap_or(0);
                    if n == 0 {
                        return;
                    }
                    buf.extend_from_slice(&chunk[..n]);
                    let Some(end) = buf.windows(4).position(|w| w == b"\r\n\r\n") else {
                        continue;
                    };
                    let head = String::from_utf8_lossy(&buf[..end]).to_lowercase();
                    let header = |name: &str| {
                        head.lines()
                            .find_map(|l| l.strip_prefix(&format!("{name}: ")))
                            .map(str::to_owned)
                    };
                    let length: usize = header("content-length").unwrap().parse().unwrap();
                    if buf.len() < end + 4 + length {
                        continue;
                    }
                    let body = &buf[end + 4..end + 4 + length];
                    let id = header("webhook-id").unwrap();
                    let timestamp: i64 = header("webhook-timestamp").unwrap().parse().unwrap();
                    // Header values were lower-cased with the head: compare the signature
                    // from the raw bytes.
                    let raw_head = String::from_utf8_lossy(&buf[..end]).into_owned();
                    let signature = raw_head
                        .lines()
                        .find_map(|l| {
                            l.split_once(':')
                                .filter(|(n, _)| n.eq_ignore_ascii_case("webhook-signature"))
                                .map(|(_, v)| v.trim().to_owned())
                        })
                        .unwrap();
                    let accepted = {
                        let mut seen = seen.lock().unwrap();
                        let accepted = seen.len() >= refuse;
                        seen.push(Got {
                            id,
                            timestamp,
                            signature,
                            raw: body.to_vec(),
                            body: serde_json::from_slice(body).unwrap(),
                            accepted,
                        });
                        accepted
                    };
                    let answer: &[u8] = if accepted {
                        b"HTTP/1.1 204 No Content\r\ncontent-length: 0\r\nconnection: close\r\n\r\n"
                    } else {
                        b"HTTP/1.1 500 Internal Server Error\r\ncontent-length: 0\r\nconnection: close\r\n\r\n"
                    };
                    let _ = conn.write_all(answer).await;
                    return;
                }
            });
        }
    });
    (port, got)
}

/// The events' places in the change log, from their `webhook-id`s (`evt_{tx}-{id}`), in
/// the order they arrived.
fn event_order(got: &[Got]) -> Vec<(u64, u64)> {
    got.iter()
        .map(|g| {
            let (tx, id) = g.id.trim_start_matches("evt_").split_once('-').unwrap();
            (tx.parse().unwrap(), id.parse().unwrap())
        })
        .collect()
}

/// alice's webhook for `events` at the receiver on `port`, delivering from the change
/// log's head on, stored in the database at `url`.
async fn hook_for_alice(url: &str, port: u16, events: &[&str]) {
    let db = todo_persistence::connect(url, &PoolSettings::default())
        .await
        .unwrap();
    let now = todo_domain::to_stored_precision(chrono::Utc::now());
    let hook = Webhook {
        id: WebhookId::from_uuid(uuid::Uuid::now_v7()),
        owner: todo_domain::UserId::parse("alice").unwrap(),
        url: TargetUrl::parse(
            &format!("http://127.0.0.1:{port}/hooks"),
            &AllowedHosts::new(["127.0.0.1"]),
        )
        .unwrap(),
        events: EventKinds::parse(events).unwrap(),
        list: None,
        enabled: true,
        disabled_reason: None,
        failures: 0,
        created_at: now,
        updated_at: now,
        version: 1,
    };
    let head = SeaChangeLog::new(db.clone()).head().await.unwrap();
    assert!(
        SeaWebhookRepository::new(db)
            .insert(&hook, HOOK_SECRET, head, 20)
            .await
            .unwrap()
    );
}

/// The server killed with SIGKILL while it delivers a burst of 500 changes: once started
/// again, it delivers every one, none skipped, in order; a repeat is only ever the one in
/// flight when it died (the receiver tells it by its `webhook-id`).
#[tokio::test]
async fn a_server_killed_mid_burst_delivers_every_event_after_its_restart() {
    let Some(schema) = Schema::create() else {
        return;
    };
    let url = schema.url();
    let env = [
        ("DATABASE_URL", url.as_str()),
        ("BETTER_AUTH_SECRET", SECRET),
        ("TODO__WEBHOOKS__ALLOW_HOSTS", "127.0.0.1"),
        ("TODO__WEBHOOKS__TIMEOUT_SECS", "1"),
        ("TODO__WEBHOOKS__POLL_INTERVAL_MS", "20"),
        ("TODO__RATE_LIMIT__ENABLED", "false"),
    ];
    let dir = workdir();
    let alice = token(&dir, &env, "alice");
    let server = Server::start(&dir, &env).await;
    let (port, got) = receiver(0).await;
    hook_for_alice(&url, port, &["task.created"]).await;

    // 500 creations from 8 clients, all committed before the kill.
    let mut writers = Vec::new();
    for w in 0..8 {
        let (base, alice) = (server.base.clone(), alice.clone());
        writers.push(tokio::spawn(async move {
            let http = crate::http_client();
            let mut ids = Vec::new();
            for n in (w..500).step_by(8) {
                let res = http
                    .post(format!("{base}/api/alice/tasks"))
                    .bearer_auth(&alice)
                    .json(&json!({"title": format!("burst {n}")}))
                    .send()
                    .await
                    .unwrap();
                assert_eq!(res.status(), 201);
                let task: Value = res.json().await.unwrap();
                ids.push(task["id"].as_str().unwrap().to_owned());
            }
            ids
        }));
    }
    let mut created = std::collections::HashSet::new();
    for w in writers {
        created.extend(w.await.unwrap());
    }
    // Killed once some, not all, have gone out.
    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    while got.lock().unwrap().len() < 20 {
        assert!(
            tokio::time::Instant::now() < deadline,
            "no delivery started"
        );
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    drop(server);
    let before_kill = got.lock().unwrap().len();
    assert!(
        before_kill < 500,
        "the kill came after the burst: {before_kill}"
    );

    let _server = Server::start(&dir, &env).await;
    let deadline = tokio::time::Instant::now() + Duration::from_secs(60);
    loop {
        let ids: std::collections::HashSet<String> = got
            .lock()
            .unwrap()
            .iter()
            .map(|g| g.body["data"]["task_id"].as_str().unwrap().to_owned())
            .collect();
        if ids == created {
            break;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "{} of 500 delivered after the restart",
            ids.len()
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let got = got.lock().unwrap().clone();
    assert!(got.iter().all(|g| g.signed_by(&[HOOK_SECRET])));
    // In change-log order (event ids ascending), each event once but for at most one
    // repeat: the one in flight at the kill.
    let order = event_order(&got);
    let mut repeats = 0;
    for pair in order.windows(2) {
        if pair[1] == pair[0] {
            repeats += 1;
        } else {
            assert!(pair[1] > pair[0], "out of order: {pair:?}");
        }
    }
    assert!(repeats <= 1, "{repeats} repeats");
    assert_eq!(got.len(), 500 + repeats);
}

/// Two replicas on one database, both delivering: each event arrives exactly once, in
/// order, whichever replica sent it.
#[tokio::test]
async fn two_replicas_deliver_each_event_once() {
    let Some(schema) = Schema::create() else {
        return;
    };
    let url = schema.url();
    let env = [
        ("DATABASE_URL", url.as_str()),
        ("BETTER_AUTH_SECRET", SECRET),
        ("TODO__WEBHOOKS__ALLOW_HOSTS", "127.0.0.1"),
        ("TODO__WEBHOOKS__POLL_INTERVAL_MS", "10"),
        ("TODO__RATE_LIMIT__ENABLED", "false"),
    ];
    let dir = workdir();
    let alice = token(&dir, &env, "alice");
    let a = Server::start(&dir, &env).await;
    let b = Server::start(&dir, &env).await;
    let (port, got) = receiver(0).await;
    hook_for_alice(&url, port, &["task.created"]).await;

    // 200 creations, alternately through each replica.
    let http = crate::http_client();
    let mut created = std::collections::HashSet::new();
    for n in 0..200 {
        let base = if n % 2 == 0 { &a.base } else { &b.base };
        let res = http
            .post(format!("{base}/api/alice/tasks"))
            .bearer_auth(&alice)
            .json(&json!({"title": format!("task {n}")}))
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 201);
        let task: Value = res.json().await.unwrap();
        created.insert(task["id"].as_str().unwrap().to_owned());
    }
    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    while got.lock().unwrap().len() < 200 {
        assert!(
            tokio::time::Instant::now() < deadline,
            "{} of 200 delivered",
            got.lock().unwrap().len()
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    // A while longer: a second delivery of any of them would show now.
    tokio::time::sleep(Duration::from_millis(500)).await;
    let got = got.lock().unwrap().clone();
    assert_eq!(got.len(), 200, "each event once");
    let ids: std::collections::HashSet<String> = got
        .iter()
        .map(|g| g.body["data"]["task_id"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(ids, created);
    let order = event_order(&got);
    assert!(order.windows(2).all(|p| p[0] < p[1]), "in order");
}

#[tokio::test]
async fn a_webhook_receives_each_change_signed_and_in_order_after_a_refusal() {
    let Some(schema) = Schema::create() else {
        return;
    };
    let url = schema.url();
    let env = [
        ("DATABASE_URL", url.as_str()),
        ("BETTER_AUTH_SECRET", SECRET),
        ("PORT", "0"),
    ];
    let mut settings = Settings::build(&env, std::path::Path::new("/nonexistent"), None).unwrap();
    settings.webhooks.allow_hosts = vec!["127.0.0.1".to_owned()];
    settings.webhooks.poll_interval_ms = 20;
    let app = Application::build(settings).await.unwrap();
    let base = format!("http://127.0.0.1:{}", app.port());
    tokio::spawn(app.run_until_stopped());
    add_user_at(&url, "alice").await;
    let alice = token_with(SECRET, "alice");

    // alice's webhook, for creations and completions, pointing at the receiver.
    let (port, got) = receiver(1).await;
    hook_for_alice(&url, port, &["task.created", "task.completed"]).await;

    // Three tasks, the second completed.
    let http = crate::http_client();
    let mut ids = Vec::new();
    for title in ["one", "two", "three"] {
        let res = http
            .post(format!("{base}/api/alice/tasks"))
            .bearer_auth(&alice)
            .json(&json!({"title": title}))
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 201);
        let task: Value = res.json().await.unwrap();
        ids.push(task["id"].as_str().unwrap().to_owned());
    }
    let res = http
        .patch(format!("{base}/api/alice/tasks/{}/complete", ids[1]))
        .bearer_auth(&alice)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);

    // The first attempt is refused; its retry waits 2.5-5 s; then all four arrive.
    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    loop {
        let accepted = got.lock().unwrap().iter().filter(|g| g.accepted).count();
        if accepted >= 4 {
            break;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "{:?}",
            got.lock().unwrap()
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    tokio::time::sleep(Duration::from_millis(300)).await;
    let got = got.lock().unwrap().clone();
    assert!(
        got.iter().all(|g| g.signed_by(&[HOOK_SECRET])),
        "every signature verifies: {got:?}"
    );
    // The refused event is the first one, tried again under the same id.
    assert!(!got[0].accepted);
    let delivered: Vec<&Got> = got.iter().filter(|g| g.accepted).collect();
    assert_eq!(got[0].id, delivered[0].id);
    let seen: Vec<(String, String)> = delivered
        .iter()
        .map(|g| {
            (
                g.body["type"].as_str().unwrap().to_owned(),
                g.body["data"]["task_id"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    assert_eq!(
        seen,
        [
            ("task.created".to_owned(), ids[0].clone()),
            ("task.created".to_owned(), ids[1].clone()),
            ("task.created".to_owned(), ids[2].clone()),
            ("task.completed".to_owned(), ids[1].clone()),
        ],
        "each once, in order (nothing else: the Inbox's creation is not asked for)"
    );
    // The body carries the task as the API returns it after the change.
    assert_eq!(delivered[3].body["data"]["task"]["completed"], true);
    assert_eq!(delivered[0].body["data"]["task"]["title"], "one");
    assert_eq!(delivered[0].body["data"]["actor_id"], "alice");
    // The deliverer's counters: four delivered, one failed, none refused.
    let metrics = http
        .get(format!("{base}/metrics"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    for line in [
        "webhook_deliveries_total{outcome=\"delivered\"} 4\n",
        "webhook_deliveries_total{outcome=\"failed\"} 1\n",
        "webhook_deliveries_total{outcome=\"refused\"} 0\n",
        "webhooks_disabled_total 0\n",
    ] {
        assert!(metrics.contains(line), "{line}: {metrics}");
    }
}

/// Waits until the receiver has `n` requests, and returns them.
async fn received(got: &Arc<Mutex<Vec<Got>>>, n: usize) -> Vec<Got> {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
    loop {
        let now = got.lock().unwrap().clone();
        if now.len() >= n {
            return now;
        }
        assert!(tokio::time::Instant::now() < deadline, "{now:?}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// Through the API, on the binary logging everything (`trace`): a webhook's secret, and the one a
/// rotation gives it, sign what its receiver gets (both during the overlap), a ping and a
/// redelivery arrive signed, and neither secret ever shows in a listing or in the log.
#[tokio::test]
async fn secrets_sign_deliveries_and_appear_in_no_listing_and_no_log() {
    let dir = workdir();
    let log = dir.join("server.log");
    let env = [
        ("RUST_LOG", "trace"),
        ("TODO__WEBHOOKS__ALLOW_HOSTS", "127.0.0.1"),
        ("TODO__WEBHOOKS__POLL_INTERVAL_MS", "20"),
    ];
    let alice = token(&dir, &env, "alice");
    let server = Server::start_logging_to(&dir, &env, &log).await;
    let (port, got) = receiver(0).await;
    let http = crate::http_client();
    let api = |path: &str| format!("{}/api/alice{path}", server.base);

    let res = http
        .post(api("/webhooks"))
        .bearer_auth(&alice)
        .json(&json!({"url": format!("http://127.0.0.1:{port}/hooks"), "events": ["task.created"]}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 201);
    let created: Value = res.json().await.unwrap();
    let id = created["id"].as_str().unwrap().to_owned();
    let first = created["secret"].as_str().unwrap().to_owned();

    let create_task = |title: &'static str| {
        let http = http.clone();
        let url = api("/tasks");
        let alice = alice.clone();
        async move {
            let res = http
                .post(url)
                .bearer_auth(&alice)
                .json(&json!({ "title": title }))
                .send()
                .await
                .unwrap();
            assert_eq!(res.status(), 201);
        }
    };
    create_task("before the rotation").await;
    let now = received(&got, 1).await;
    assert!(now[0].signed_by(&[&first]), "{:?}", now[0]);

    let res = http
        .post(api(&format!("/webhooks/{id}/rotate")))
        .bearer_auth(&alice)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    let rotated: Value = res.json().await.unwrap();
    let second = rotated["secret"].as_str().unwrap().to_owned();
    assert_ne!(first, second);
    create_task("during the overlap").await;
    let now = received(&got, 2).await;
    assert!(now[1].signed_by(&[&second, &first]), "{:?}", now[1]);

    let res = http
        .post(api(&format!("/webhooks/{id}/test")))
        .bearer_auth(&alice)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    let ping: Value = res.json().await.unwrap();
    assert_eq!(ping["outcome"], "delivered", "{ping}");
    let now = received(&got, 3).await;
    assert_eq!(now[2].body["type"], "ping");
    assert_eq!(now[2].id, ping["event_id"].as_str().unwrap());
    assert!(now[2].signed_by(&[&second, &first]));

    // The first change again: under its own webhook-id, signed by today's secrets.
    let deliveries: Value = http
        .get(api(&format!("/webhooks/{id}/deliveries")))
        .bearer_auth(&alice)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let oldest = deliveries.as_array().unwrap().last().unwrap().clone();
    assert_eq!(oldest["event_id"], now[0].id.as_str());
    let res = http
        .post(api(&format!(
            "/webhooks/{id}/deliveries/{}/redeliver",
            oldest["id"].as_str().unwrap()
        )))
        .bearer_auth(&alice)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    let now = received(&got, 4).await;
    assert_eq!(now[3].id, now[0].id);
    assert!(now[3].signed_by(&[&second, &first]));

    let mut answers = Vec::new();
    for path in [
        "/webhooks".to_owned(),
        format!("/webhooks/{id}"),
        format!("/webhooks/{id}/deliveries"),
    ] {
        let res = http
            .get(api(&path))
            .bearer_auth(&alice)
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 200, "{path}");
        answers.push(res.text().await.unwrap());
    }
    assert!(server.terminate(), "a clean stop");
    let logged = std::fs::read_to_string(&log).unwrap();
    assert!(
        logged.contains("webhook secret rotated"),
        "the log is the server's, at trace: {logged}"
    );
    for secret in [&first, &second] {
        // The key alone (what follows `whsec_`) must not show either.
        let key = secret.trim_start_matches("whsec_");
        for answer in &answers {
            assert!(!answer.contains(key), "a listing shows a secret: {answer}");
        }
        assert!(!logged.contains(key), "the log shows a secret");
    }
}
