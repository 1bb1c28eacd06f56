//! The event stream, served by the built binary: what reaches a stream, resuming it, its
//! limits; on PostgreSQL, across two processes and through a lost listening connection.

use std::collections::HashSet;
use std::time::Duration;

use serde_json::{Value, json};

use crate::binary::{Server, token, workdir};
use crate::pg::Schema;

/// One event as the stream sent it.
#[derive(Debug, Clone)]
struct Event {
    id: String,
    kind: String,
    data: Value,
}

/// An open stream, read event by event.
struct Stream {
    res: reqwest::Response,
    buf: String,
}

impl Stream {
    async fn open(server: &Server, user: &str, token: &str, last: Option<&str>) -> Self {
        let mut req = crate::http_client()
            .get(format!("{}/api/{user}/events", server.base))
            .bearer_auth(token);
        if let Some(last) = last {
            req = req.header("Last-Event-ID", last);
        }
        let res = req.send().await.unwrap();
        assert_eq!(res.status(), 200);
        assert_eq!(res.headers()["content-type"], "text/event-stream");
        assert_eq!(res.headers()["x-accel-buffering"], "no");
        let mut stream = Self {
            res,
            buf: String::new(),
        };
        // The first lines: the stream is open (and subscribed) once they arrive.
        while !stream.buf.contains(": open\n\n") {
            let chunk = stream.res.chunk().await.unwrap().unwrap();
            stream.buf.push_str(std::str::from_utf8(&chunk).unwrap());
        }
        stream.buf = stream.buf.split_once(": open\n\n").unwrap().1.to_owned();
        stream
    }

    /// The next event within `wait`; `None` when none came (comments are skipped).
    async fn next(&mut self, wait: Duration) -> Option<Event> {
        let deadline = tokio::time::Instant::now() + wait;
        loop {
            while let Some((block, rest)) = self.buf.split_once("\n\n") {
                let block = block.to_owned();
                self.buf = rest.to_owned();
                let mut event = Event {
                    id: String::new(),
                    kind: String::new(),
                    data: Value::Null,
                };
                for line in block.lines() {
                    if let Some(v) = line.strip_prefix("id: ") {
                        v.clone_into(&mut event.id);
                    } else if let Some(v) = line.strip_prefix("event: ") {
                        v.clone_into(&mut event.kind);
                    } else if let Some(v) = line.strip_prefix("data: ") {
                        event.data = serde_json::from_str(v).unwrap();
                    }
                }
                if !event.kind.is_empty() {
                    return Some(event);
                }
            }
            let chunk = tokio::time::timeout_at(deadline, self.res.chunk())
                .await
                .ok()?;
            match chunk.unwrap() {
                Some(bytes) => self.buf.push_str(std::str::from_utf8(&bytes).unwrap()),
                None => return None,
            }
        }
    }

    /// Events until `n` have come, each within `wait` of the one before.
    async fn take(&mut self, n: usize, wait: Duration) -> Vec<Event> {
        let mut events = Vec::new();
        while events.len() < n {
            match self.next(wait).await {
                Some(e) => events.push(e),
                None => panic!("{} of {n} events came: {events:?}", events.len()),
            }
        }
        events
    }
}

async fn send(req: reqwest::RequestBuilder, status: u16) -> Value {
    let res = req.send().await.unwrap();
    assert_eq!(res.status(), status);
    res.json().await.unwrap_or(Value::Null)
}

async fn create(server: &Server, user: &str, token: &str, body: Value) -> String {
    let task = send(
        crate::http_client()
            .post(format!("{}/api/{user}/tasks", server.base))
            .bearer_auth(token)
            .json(&body),
        201,
    )
    .await;
    task["id"].as_str().unwrap().to_owned()
}

const WAIT: Duration = Duration::from_secs(10);
const QUIET: Duration = Duration::from_millis(500);

#[tokio::test]
async fn changes_reach_open_streams_and_a_resumed_stream_gets_what_it_missed() {
    let dir = workdir();
    let alice = token(&dir, &[], "alice");
    let server = Server::start(&dir, &[]).await;
    let http = crate::http_client();

    let mut stream = Stream::open(&server, "alice", &alice, None).await;
    let id = create(&server, "alice", &alice, json!({"title": "milk"})).await;
    // Her Inbox, made for her first task, then the task.
    let inbox = stream.next(WAIT).await.unwrap();
    assert_eq!(inbox.kind, "list.created");
    let created = stream.next(WAIT).await.unwrap();
    assert_eq!(created.data["list_id"], inbox.data["list_id"]);
    assert_eq!(created.kind, "task.created");
    assert_eq!(created.data["task_id"], id.as_str());
    assert_eq!(created.data["actor_id"], "alice");
    assert_eq!(created.data["id"], created.id.as_str());
    drop(stream);

    // Two changes while no stream is open.
    send(
        http.patch(format!("{}/api/alice/tasks/{id}", server.base))
            .bearer_auth(&alice)
            .json(&json!({"title": "oat milk"})),
        200,
    )
    .await;
    send(
        http.patch(format!("{}/api/alice/tasks/{id}/complete", server.base))
            .bearer_auth(&alice),
        200,
    )
    .await;
    let mut resumed = Stream::open(&server, "alice", &alice, Some(&created.id)).await;
    let missed = resumed.take(2, WAIT).await;
    assert_eq!(missed[0].kind, "task.updated");
    assert_eq!(missed[0].data["fields"], json!(["title"]));
    assert_eq!(missed[0].data["version"], 2);
    assert_eq!(missed[1].kind, "task.completed");
    assert!(resumed.next(QUIET).await.is_none(), "nothing twice");
    // `?after=` does the same; a cursor the log never had is a reset.
    let res = http
        .get(format!("{}/api/alice/events?after=999999-1", server.base))
        .bearer_auth(&alice)
        .send()
        .await
        .unwrap();
    let mut far = Stream {
        res,
        buf: String::new(),
    };
    assert_eq!(far.next(WAIT).await.unwrap().kind, "reset");

    // Bad cursors are the client's mistake; so is a twelfth stream.
    let bad = http
        .get(format!("{}/api/alice/events?after=soon", server.base))
        .bearer_auth(&alice)
        .send()
        .await
        .unwrap();
    assert_eq!(bad.status(), 422);
    let bad = http
        .get(format!("{}/api/alice/events", server.base))
        .bearer_auth(&alice)
        .header("Last-Event-ID", "x")
        .send()
        .await
        .unwrap();
    assert_eq!(bad.status(), 400);
    let forbidden = http
        .get(format!("{}/api/bob/events", server.base))
        .bearer_auth(&alice)
        .send()
        .await
        .unwrap();
    assert_eq!(forbidden.status(), 403);
    // The first stream, dropped above, is freed once the server has written to it: until
    // /metrics counts two open streams (the resumed one and the reset one), write.
    let mut settled = false;
    for _ in 0..100 {
        let metrics = http
            .get(format!("{}/metrics", server.base))
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        if metrics.contains("\nevent_streams_open 2\n") {
            settled = true;
            break;
        }
        create(&server, "alice", &alice, json!({"title": "ping"})).await;
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert!(settled, "the dropped stream was never freed");
    let mut open = vec![resumed, far];
    for _ in 0..8 {
        open.push(Stream::open(&server, "alice", &alice, None).await);
    }
    let refused = http
        .get(format!("{}/api/alice/events", server.base))
        .bearer_auth(&alice)
        .send()
        .await
        .unwrap();
    assert_eq!(refused.status(), 429);
    assert!(refused.headers().contains_key("retry-after"));
    open.pop();
    // Its place is free once the client has gone: the server notices when it next
    // writes to it.
    let mut freed = None;
    for _ in 0..100 {
        create(&server, "alice", &alice, json!({"title": "ping"})).await;
        let res = http
            .get(format!("{}/api/alice/events", server.base))
            .bearer_auth(&alice)
            .send()
            .await
            .unwrap();
        if res.status() == 200 {
            freed = Some(res);
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(freed.is_some(), "a closed stream's place was never freed");
    // Ten streams still open: SIGTERM ends them and the server, cleanly.
    assert!(
        server.terminate(),
        "SIGTERM ends open streams and the server"
    );
    drop((open, freed));
    std::fs::remove_dir_all(&dir).ok();
}

#[tokio::test]
async fn a_member_removed_from_a_list_hears_nothing_more_of_it() {
    let dir = workdir();
    let alice = token(&dir, &[], "alice");
    let bob = token(&dir, &[], "bob");
    let server = Server::start(&dir, &[]).await;
    let http = crate::http_client();
    let list = send(
        http.post(format!("{}/api/alice/lists", server.base))
            .bearer_auth(&alice)
            .json(&json!({"name": "Shared"})),
        201,
    )
    .await;
    let list_id = list["id"].as_str().unwrap().to_owned();
    send(
        http.post(format!("{}/api/alice/lists/{list_id}/members", server.base))
            .bearer_auth(&alice)
            .json(&json!({"user_id": "bob", "role": "viewer"})),
        201,
    )
    .await;
    let mut stream = Stream::open(&server, "bob", &bob, None).await;
    let first = create(
        &server,
        "alice",
        &alice,
        json!({"title": "a", "list_id": list_id}),
    )
    .await;
    let heard = stream.next(WAIT).await.unwrap();
    assert_eq!(heard.kind, "task.created");
    assert_eq!(heard.data["task_id"], first.as_str());
    assert_eq!(heard.data["list_id"], list_id.as_str());

    send(
        http.delete(format!(
            "{}/api/alice/lists/{list_id}/members/bob",
            server.base
        ))
        .bearer_auth(&alice),
        204,
    )
    .await;
    // He hears of his removal, by alice.
    let removed = stream.next(WAIT).await.unwrap();
    assert_eq!(removed.kind, "member.removed");
    assert_eq!(removed.data["member_id"], "bob");
    assert_eq!(removed.data["actor_id"], "alice");
    let second = create(
        &server,
        "alice",
        &alice,
        json!({"title": "b", "list_id": list_id}),
    )
    .await;
    let own = create(&server, "bob", &bob, json!({"title": "mine"})).await;
    // Bob's own Inbox and task reach him; alice's second task, written before them, does
    // not.
    assert_eq!(stream.next(WAIT).await.unwrap().kind, "list.created");
    let next = stream.next(WAIT).await.unwrap();
    assert_eq!(next.data["task_id"], own.as_str(), "not {second}");
    assert!(stream.next(QUIET).await.is_none());
    assert!(server.terminate());
    std::fs::remove_dir_all(&dir).ok();
}

/// Two processes on one PostgreSQL database, 1 000 creates from 8 clients through one of
/// them, the other's listening connection killed in the middle: every stream, on either
/// process, gets every create exactly once, in one order.
#[tokio::test]
async fn across_two_processes_every_stream_gets_every_change_once_in_order() {
    let Some(schema) = Schema::create() else {
        return;
    };
    let dir = workdir();
    let url = schema.url();
    let env = [
        ("DATABASE_URL", url.as_str()),
        ("BETTER_AUTH_SECRET", "0123456789abcdef0123456789abcdef"),
    ];
    let alice = token(&dir, &env, "alice");
    let a = Server::start(&dir, &env).await;
    let b = Server::start(&dir, &env).await;

    // One change through A, heard on B.
    let mut on_b = Stream::open(&b, "alice", &alice, None).await;
    let first = create(&a, "alice", &alice, json!({"title": "first"})).await;
    assert_eq!(on_b.next(WAIT).await.unwrap().kind, "list.created");
    assert_eq!(
        on_b.next(WAIT).await.unwrap().data["task_id"],
        first.as_str()
    );

    // A poll of B with its tag is a 304 until a change made through A reaches B's reader.
    let poll = |etag: Option<String>| {
        let mut req = crate::http_client()
            .get(format!("{}/api/alice/tasks", b.base))
            .bearer_auth(&alice);
        if let Some(etag) = etag {
            req = req.header("If-None-Match", etag);
        }
        async move { req.send().await.unwrap() }
    };
    let tag = poll(None).await.headers()["etag"]
        .to_str()
        .unwrap()
        .to_owned();
    assert_eq!(poll(Some(tag.clone())).await.status(), 304);
    let second = create(&a, "alice", &alice, json!({"title": "second"})).await;
    assert_eq!(
        on_b.next(WAIT).await.unwrap().data["task_id"],
        second.as_str()
    );
    let changed = poll(Some(tag.clone())).await;
    assert_eq!(changed.status(), 200, "B's reader has read the change");
    assert_ne!(changed.headers()["etag"].to_str().unwrap(), tag);

    let mut streams = vec![
        on_b,
        Stream::open(&b, "alice", &alice, None).await,
        Stream::open(&a, "alice", &alice, None).await,
    ];
    let writers: Vec<_> = (0..8)
        .map(|w| {
            let base = a.base.clone();
            let token = alice.clone();
            tokio::spawn(async move {
                let http = crate::http_client();
                let mut ids = Vec::new();
                for n in 0..125 {
                    let res = http
                        .post(format!("{base}/api/alice/tasks"))
                        .bearer_auth(&token)
                        .json(&json!({"title": format!("{w}-{n}")}))
                        .send()
                        .await
                        .unwrap();
                    assert_eq!(res.status(), 201);
                    let task: Value = res.json().await.unwrap();
                    ids.push(task["id"].as_str().unwrap().to_owned());
                    if w == 0 && n == 40 {
                        // Every listening connection of the database, cut mid-load.
                        let killed = crate::pg::psql_query(
                            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity \
                             WHERE query LIKE 'LISTEN%' AND datname = current_database()",
                        );
                        // A's and B's at least.
                        assert!(
                            killed.lines().filter(|l| *l == "t").count() >= 2,
                            "{killed}"
                        );
                    }
                }
                ids
            })
        })
        .collect();
    let mut written = HashSet::new();
    for writer in writers {
        written.extend(writer.await.unwrap());
    }
    assert_eq!(written.len(), 1_000);
    for (n, stream) in streams.iter_mut().enumerate() {
        let events = stream.take(1_000, WAIT).await;
        let got: HashSet<String> = events
            .iter()
            .map(|e| e.data["task_id"].as_str().unwrap().to_owned())
            .collect();
        assert_eq!(got, written, "stream {n}: every create, none twice");
        let cursors: Vec<(u64, u64)> = events
            .iter()
            .map(|e| {
                let (tx, id) = e.id.split_once('-').unwrap();
                (tx.parse().unwrap(), id.parse().unwrap())
            })
            .collect();
        assert!(
            cursors.windows(2).all(|w| w[0] < w[1]),
            "stream {n}: in order"
        );
        assert!(
            stream.next(QUIET).await.is_none(),
            "stream {n}: nothing more"
        );
    }
    drop(streams);
    assert!(a.terminate());
    assert!(b.terminate());
    std::fs::remove_dir_all(&dir).ok();
}

/// A stream lives no longer than its credential: one that expires ends its stream within
/// the credential cache's period.
#[tokio::test]
async fn a_stream_ends_when_its_credential_expires() {
    let dir = workdir();
    let secret = "0123456789abcdef0123456789abcdef";
    let env = [
        ("BETTER_AUTH_SECRET", secret),
        ("TODO__AUTH__CACHE_TTL_SECS", "1"),
    ];
    token(&dir, &env, "alice");
    let server = Server::start(&dir, &env).await;
    let now = chrono::Utc::now();
    let short = todo_auth::Hs256Issuer::new(secret.as_bytes(), todo_auth::Hs256Settings::default())
        .issue(
            &todo_domain::UserId::parse("alice").unwrap(),
            now - chrono::TimeDelta::seconds(120),
            // Expired already, but within the verifier's leeway for a few more seconds
            // (`todo_auth::hs256::LEEWAY_SECS`, 60).
            now - chrono::TimeDelta::seconds(57),
        )
        .unwrap();
    let mut stream = Stream::open(&server, "alice", &short, None).await;
    // The server ends it (the body ends) once the token has expired and the cached
    // verdict has lapsed; a stream left open would run into this bound instead.
    let ended = tokio::time::timeout(Duration::from_secs(30), async {
        loop {
            match stream.res.chunk().await {
                Ok(Some(_)) => {}
                Ok(None) | Err(_) => return,
            }
        }
    })
    .await;
    assert!(ended.is_ok(), "the stream outlived its credential");
    assert!(server.terminate());
    std::fs::remove_dir_all(&dir).ok();
}
