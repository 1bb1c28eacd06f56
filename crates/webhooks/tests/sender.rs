//! The sender against a receiver on 127.0.0.1: what arrives, how each answer is taken, and
//! what is refused without a connection.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]

use std::sync::{Arc, Mutex};
use std::time::Duration;

use todo_application::ports::{AttemptOutcome, OutgoingWebhook, WebhookSender};
use todo_domain::webhook::{AllowedHosts, TargetUrl};
use todo_webhooks::{HttpWebhookSender, SenderSettings, generate_secret, sign};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;

/// What the receiver got: the request head (lower-case header names) and the body.
#[derive(Debug, Clone)]
struct Received {
    head: String,
    body: Vec<u8>,
}

impl Received {
    fn header(&self, name: &str) -> Option<String> {
        self.head.lines().find_map(|line| {
            let (n, v) = line.split_once(':')?;
            n.eq_ignore_ascii_case(name).then(|| v.trim().to_owned())
        })
    }
}

/// A receiver answering every request with `answer` (a whole response head), after
/// `delay`; returns its port and what it received.
async fn receiver(answer: &'static str, delay: Duration) -> (u16, Arc<Mutex<Vec<Received>>>) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let got = Arc::new(Mutex::new(Vec::new()));
    let seen = got.clone();
    tokio::spawn(async move {
        while let Ok((mut conn, _)) = listener.accept().await {
            let seen = seen.clone();
            tokio::spawn(async move {
                let mut buf = Vec::new();
                let mut chunk = [0u8; 4096];
                let head_end = loop {
                    let n = conn.read(&mut chunk).await.unwrap_or(0);
                    if n == 0 {
                        return;
                    }
                    buf.extend_from_slice(&chunk[..n]);
                    if let Some(i) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
                        break i;
                    }
                };
                let head = String::from_utf8_lossy(&buf[..head_end]).into_owned();
                let length: usize = head
                    .lines()
                    .find_map(|l| {
                        let (n, v) = l.split_once(':')?;
                        n.eq_ignore_ascii_case("content-length")
                            .then(|| v.trim().parse().ok())?
                    })
                    .unwrap_or(0);
                while buf.len() < head_end + 4 + length {
                    let n = conn.read(&mut chunk).await.unwrap_or(0);
                    if n == 0 {
                        break;
                    }
                    buf.extend_from_slice(&chunk[..n]);
                }
                let body = buf[head_end + 4..].to_vec();
                seen.lock().unwrap().push(Received { head, body });
                tokio::time::sleep(delay).await;
                let _ = conn.write_all(answer.as_bytes()).await;
            });
        }
    });
    (port, got)
}

const OK: &str = "HTTP/1.1 204 No Content\r\ncontent-length: 0\r\n\r\n";

fn sender(allowed: &[&str], timeout: Duration) -> HttpWebhookSender {
    HttpWebhookSender::new(SenderSettings {
        timeout,
        allowed: AllowedHosts::new(allowed.iter().copied()),
    })
}

fn delivery(url: &str, allowed: &[&str]) -> OutgoingWebhook {
    OutgoingWebhook {
        url: TargetUrl::parse(url, &AllowedHosts::new(allowed.iter().copied())).unwrap(),
        id: "evt_1_42".to_owned(),
        timestamp: 1_700_000_000,
        body: br#"{"type":"task.created"}"#.to_vec(),
        secrets: vec![generate_secret(&[5; 32])],
    }
}

#[tokio::test]
async fn a_delivery_arrives_signed_and_a_2xx_is_delivered() {
    let (port, got) = receiver(OK, Duration::ZERO).await;
    let hook = delivery(&format!("http://127.0.0.1:{port}/in?x=1"), &["127.0.0.1"]);
    let sent = sender(&["127.0.0.1"], Duration::from_secs(5))
        .send(&hook)
        .await;
    assert_eq!(
        (sent.outcome, sent.status, sent.error.as_deref()),
        (AttemptOutcome::Delivered, Some(204), None)
    );
    let got = got.lock().unwrap().clone();
    assert_eq!(got.len(), 1);
    let req = &got[0];
    assert!(
        req.head.starts_with("POST /in?x=1 HTTP/1.1"),
        "{}",
        req.head
    );
    assert_eq!(req.body, hook.body);
    assert_eq!(req.header("webhook-id").as_deref(), Some("evt_1_42"));
    assert_eq!(
        req.header("webhook-timestamp").as_deref(),
        Some("1700000000")
    );
    assert_eq!(
        req.header("content-type").as_deref(),
        Some("application/json")
    );
    // The receiver verifies it as Standard Webhooks says: over id, timestamp and body.
    let expected = sign(&hook.secrets, "evt_1_42", 1_700_000_000, &req.body).unwrap();
    assert_eq!(req.header("webhook-signature"), Some(expected));
    assert!(
        !req.head.contains(&hook.secrets[0]),
        "the secret is never sent"
    );
}

#[tokio::test]
async fn any_other_answer_fails_and_a_redirect_is_not_followed() {
    for (answer, status) in [
        (
            "HTTP/1.1 500 Internal Server Error\r\ncontent-length: 0\r\n\r\n",
            500,
        ),
        ("HTTP/1.1 410 Gone\r\ncontent-length: 0\r\n\r\n", 410),
        (
            "HTTP/1.1 302 Found\r\nlocation: http://127.0.0.1:1/elsewhere\r\ncontent-length: 0\r\n\r\n",
            302,
        ),
    ] {
        let (port, got) = receiver(answer, Duration::ZERO).await;
        let hook = delivery(&format!("http://127.0.0.1:{port}/"), &["127.0.0.1"]);
        let sent = sender(&["127.0.0.1"], Duration::from_secs(5))
            .send(&hook)
            .await;
        assert_eq!(
            (sent.outcome, sent.status),
            (AttemptOutcome::Failed, Some(status))
        );
        let why = sent.error.unwrap();
        assert!(why.contains(&status.to_string()), "{why}");
        if status == 302 {
            assert!(why.contains("redirects are not followed"), "{why}");
        }
        assert_eq!(
            got.lock().unwrap().len(),
            1,
            "one request, nothing followed"
        );
    }
}

#[tokio::test]
async fn a_receiver_that_does_not_answer_in_time_fails_the_attempt() {
    let (port, _got) = receiver(OK, Duration::from_secs(30)).await;
    let hook = delivery(&format!("http://127.0.0.1:{port}/"), &["127.0.0.1"]);
    let sent = sender(&["127.0.0.1"], Duration::from_millis(300))
        .send(&hook)
        .await;
    assert_eq!((sent.outcome, sent.status), (AttemptOutcome::Failed, None));
    assert_eq!(sent.error.as_deref(), Some("timed out"));
    assert!(
        sent.duration_ms >= 300 && sent.duration_ms < 5_000,
        "{}",
        sent.duration_ms
    );
}

#[tokio::test]
async fn addresses_inside_the_network_are_refused_without_a_connection() {
    let (port, got) = receiver(OK, Duration::ZERO).await;
    // The host is allowed for parsing (http), not for the sender: its address is judged.
    let parse_allowed = [
        "127.0.0.1",
        "localhost",
        "::1",
        "10.0.0.1",
        "169.254.169.254",
    ];
    let sender = sender(&[], Duration::from_secs(5));
    for (url, why) in [
        (format!("http://127.0.0.1:{port}/"), "127.0.0.1 is loopback"),
        (
            format!("http://localhost:{port}/"),
            "localhost resolves to ",
        ),
        (format!("http://[::1]:{port}/"), "::1 is loopback"),
        (
            "https://169.254.169.254/latest/meta-data".to_owned(),
            "169.254.169.254 is cloud metadata",
        ),
        ("https://10.0.0.1/".to_owned(), "10.0.0.1 is private"),
    ] {
        let sent = sender.send(&delivery(&url, &parse_allowed)).await;
        assert_eq!(
            (sent.outcome, sent.status),
            (AttemptOutcome::Refused, None),
            "{url}"
        );
        let error = sent.error.unwrap();
        assert!(error.contains(why), "{url}: {error}");
    }
    assert!(
        got.lock().unwrap().is_empty(),
        "nothing reached the receiver"
    );
}
