use std::sync::atomic::{AtomicU16, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use actix_web::http::{Method, StatusCode};
use actix_web::test::{self, TestRequest};
use async_trait::async_trait;
use chrono::{TimeDelta, Utc};
use serde_json::Value;
use todo_application::ports::{
    AttemptOutcome, CredentialError, DeliveryAttempt, OutgoingWebhook, SecretGenerator,
    VerifiedCredential, WebhookSender,
};
use todo_application::ports::{
    Clock, CredentialVerifier, IdGenerator, ListRepository, PortError, ReadinessProbe, SystemClock,
    TaskRepository, TrashRepository, UserRepository, UuidV7Ids,
};
use todo_application::{
    AdminService, AuthService, Inboxes, Limits, ListService, OnDemand, PageSettings, TaskService,
    TrashService, UserCache, WebhookService, WebhookSettings,
};
use todo_auth::{Hs256Issuer, Hs256Settings, Hs256Verifier, SessionVerifier};
use todo_domain::{AdminRoles, RoleList, User, UserId};
use todo_http::{HttpSettings, RateLimitSettings, Services};
use todo_persistence::{
    DatabaseConnection, PoolSettings, SeaListRepository, SeaReadiness, SeaSessionRepository,
    SeaTaskRepository, SeaTrashRepository, SeaUserRepository, SeaWebhookRepository,
};

pub const SECRET: &[u8] = b"http-test-secret-0123456789abcdef0123";

pub struct TestApp {
    pub db: DatabaseConnection,
    pub services: Services,
    /// How many credentials reached the verifiers.
    pub verifications: Arc<AtomicUsize>,
    /// What the webhooks sent on their owners' request (a ping, a redelivery).
    pub webhooks_sent: Arc<RecordingSender>,
    issuer: Hs256Issuer,
}

/// A webhook sender that keeps what it is given and answers `status` (0: refused, as a
/// target inside the network is).
#[derive(Default)]
pub struct RecordingSender {
    pub sent: Mutex<Vec<OutgoingWebhook>>,
    pub status: AtomicU16,
}

#[async_trait]
impl WebhookSender for RecordingSender {
    async fn send(&self, delivery: &OutgoingWebhook) -> DeliveryAttempt {
        self.sent.lock().unwrap().push(delivery.clone());
        let status = self.status.load(Ordering::SeqCst);
        match status {
            0 => DeliveryAttempt {
                outcome: AttemptOutcome::Refused,
                status: None,
                duration_ms: 0,
                error: Some("refused: the host resolves to 10.0.0.1, a private address".into()),
            },
            200..=299 => DeliveryAttempt {
                outcome: AttemptOutcome::Delivered,
                status: Some(status),
                duration_ms: 3,
                error: None,
            },
            _ => DeliveryAttempt {
                outcome: AttemptOutcome::Failed,
                status: Some(status),
                duration_ms: 3,
                error: Some(format!("the receiver answered {status}")),
            },
        }
    }
}

/// Secrets that differ each time (the real ones are random; these need not be).
struct CountingSecrets(AtomicUsize);

impl SecretGenerator for CountingSecrets {
    fn new_secret(&self) -> String {
        format!(
            "whsec_dGVzdHNlY3JldA{}",
            self.0.fetch_add(1, Ordering::SeqCst)
        )
    }
}

/// Counts the credentials it is asked about and leaves them to the next verifier.
struct CountingVerifier(Arc<AtomicUsize>);

#[async_trait]
impl CredentialVerifier for CountingVerifier {
    async fn verify(&self, _: &str) -> Result<Option<VerifiedCredential>, CredentialError> {
        self.0.fetch_add(1, Ordering::SeqCst);
        Ok(None)
    }
}

pub struct Options {
    pub max_limit: u32,
    pub default_limit: u32,
    pub readiness: Option<Arc<dyn ReadinessProbe>>,
    pub cors_origins: Vec<String>,
    pub rate_limits: RateLimitSettings,
    pub limits: Limits,
    /// How long the trash keeps an entry.
    pub trash_retention: TimeDelta,
    /// Webhooks per user.
    pub max_webhooks: u32,
}

impl Default for Options {
    fn default() -> Self {
        Self {
            max_limit: 1000,
            default_limit: 1000,
            readiness: None,
            cors_origins: vec!["http://localhost:3000".to_owned()],
            rate_limits: RateLimitSettings::default(),
            limits: Limits::default(),
            trash_retention: TimeDelta::days(30),
            max_webhooks: 3,
        }
    }
}

pub async fn app() -> TestApp {
    app_with(Options::default()).await
}

pub async fn app_with(options: Options) -> TestApp {
    let db = todo_persistence::connect("sqlite::memory:", &PoolSettings::default())
        .await
        .unwrap();
    todo_persistence::migrate(&db).await.unwrap();
    let tasks: Arc<dyn TaskRepository> = Arc::new(SeaTaskRepository::new(db.clone()));
    let lists: Arc<dyn ListRepository> = Arc::new(SeaListRepository::new(db.clone()));
    let users: Arc<dyn UserRepository> = Arc::new(SeaUserRepository::new(db.clone()));
    let trash: Arc<dyn TrashRepository> = Arc::new(SeaTrashRepository::new(db.clone()));
    let clock: Arc<dyn Clock> = Arc::new(SystemClock);
    let ids: Arc<dyn IdGenerator> = Arc::new(UuidV7Ids);
    let inboxes = Inboxes::new(lists.clone(), clock.clone(), ids.clone());
    // No cache: every request sees the database as it is now.
    let cache = Arc::new(UserCache::disabled());
    let pages = PageSettings {
        default_limit: options.default_limit,
        max_limit: options.max_limit,
    };
    let verifications = Arc::new(AtomicUsize::new(0));
    let verifiers: Vec<Arc<dyn CredentialVerifier>> = vec![
        Arc::new(CountingVerifier(verifications.clone())),
        Arc::new(Hs256Verifier::new(SECRET, &Hs256Settings::default())),
        Arc::new(SessionVerifier::new(
            Arc::new(SeaSessionRepository::new(db.clone())),
            clock.clone(),
            SECRET,
        )),
    ];
    let webhooks_sent = Arc::new(RecordingSender {
        status: AtomicU16::new(204),
        ..RecordingSender::default()
    });
    let readiness = options
        .readiness
        .unwrap_or_else(|| Arc::new(SeaReadiness::new(db.clone())));
    let services = Services::new(
        TaskService::new(
            tasks.clone(),
            lists.clone(),
            inboxes.clone(),
            clock.clone(),
            ids.clone(),
            pages,
        )
        .with_limits(options.limits),
        ListService::new(
            lists.clone(),
            users.clone(),
            clock.clone(),
            ids,
            inboxes.clone(),
        )
        .with_limits(options.limits)
        .with_pages(pages),
        TrashService::new(trash, lists.clone(), inboxes.clone(), clock.clone())
            .with_pages(pages)
            .with_retention(options.trash_retention),
        WebhookService::new(
            Arc::new(SeaWebhookRepository::new(db.clone())),
            lists.clone(),
            Arc::new(todo_persistence::SeaChangeLog::new(db.clone())),
            Arc::new(CountingSecrets(AtomicUsize::new(0))),
            OnDemand {
                payloads: Arc::new(todo_http::ApiPayloads::new(tasks.clone(), lists.clone())),
                sender: webhooks_sent.clone(),
            },
            clock.clone(),
            WebhookSettings {
                max_per_user: options.max_webhooks,
                ..WebhookSettings::default()
            },
        ),
        AdminService::new(
            users.clone(),
            tasks,
            clock.clone(),
            cache.clone(),
            AdminRoles::default(),
            pages,
        )
        .with_inboxes(inboxes),
        AuthService::new(verifiers, users, clock, cache, AdminRoles::default(), None),
        readiness,
        HttpSettings {
            body_limit: 64 * 1024,
            cors_origins: options.cors_origins,
            metrics_on_main_port: true,
            ..HttpSettings::default()
        },
    )
    .with_rate_limits(options.rate_limits)
    .with_events(
        // No reader runs here: a test reads the log with `poll_changes`.
        todo_application::EventHub::start(
            Arc::new(todo_persistence::SeaChangeLog::new(db.clone())),
            todo_application::EventSettings::default(),
        )
        .await
        .unwrap(),
    );
    TestApp {
        db,
        services,
        verifications,
        webhooks_sent,
        issuer: Hs256Issuer::new(SECRET, Hs256Settings::default()),
    }
}

/// A readiness probe that always fails as if the database were down.
pub struct DownProbe;

#[async_trait]
impl ReadinessProbe for DownProbe {
    async fn check(&self) -> Result<(), PortError> {
        Err(PortError::Unavailable("connection refused".into()))
    }
}

/// A readiness probe that reaches the database but fails with `message` as the cause, as
/// a database error carrying connection details would.
pub struct FailingProbe(pub &'static str);

#[async_trait]
impl ReadinessProbe for FailingProbe {
    async fn check(&self) -> Result<(), PortError> {
        Err(PortError::Other(self.0.into()))
    }
}

pub struct Response {
    pub status: StatusCode,
    pub headers: actix_web::http::header::HeaderMap,
    pub body: Value,
    pub raw: String,
}

impl Response {
    pub fn header(&self, name: &str) -> Option<String> {
        self.headers
            .get(name)
            .map(|v| v.to_str().unwrap().to_owned())
    }

    /// Asserts a problem+json error with `status` and returns its `detail`.
    pub fn problem(&self, status: u16) -> String {
        assert_eq!(self.status.as_u16(), status, "body: {}", self.raw);
        assert_eq!(
            self.header("content-type").as_deref(),
            Some("application/problem+json"),
            "body: {}",
            self.raw
        );
        assert_eq!(self.body["status"], status, "{}", self.raw);
        let detail = self.body["detail"].as_str().expect("detail is a string");
        assert!(!detail.is_empty());
        if status == 401 {
            assert_eq!(self.header("www-authenticate").as_deref(), Some("Bearer"));
        }
        detail.to_owned()
    }
}

impl TestApp {
    pub async fn user(&self, id: &str, role: Option<&str>) -> String {
        let user = User {
            id: UserId::parse(id).unwrap(),
            email: format!("{id}@example.com"),
            name: format!("User {id}"),
            roles: RoleList::from_stored(role),
            banned: false,
            ban_expires: None,
            created_at: todo_domain::to_stored_precision(Utc::now()),
        };
        SeaUserRepository::new(self.db.clone())
            .create_if_absent(&user)
            .await
            .unwrap();
        self.token(id)
    }

    /// A Better Auth session row for `user`, valid for `ttl`; returns its raw token.
    pub async fn session(&self, user: &str, token: &str, ttl: TimeDelta) -> String {
        use sea_orm::ConnectionTrait;
        let expires = (Utc::now() + ttl).to_rfc3339();
        self.db
            .execute_unprepared(&format!(
                r#"INSERT INTO session (id, "expiresAt", token, "createdAt", "updatedAt", "userId")
                   VALUES ('{token}-id', '{expires}', '{token}', '2026-01-01T00:00:00Z', '2026-01-01T00:00:00Z', '{user}')"#
            ))
            .await
            .unwrap();
        token.to_owned()
    }

    /// The signed cookie form of a session token: `<token>.<base64 HMAC-SHA256>`.
    pub fn signed(token: &str) -> String {
        use base64::Engine;
        use hmac::Mac;
        let mut mac = hmac::Hmac::<sha2::Sha256>::new_from_slice(SECRET).unwrap();
        mac.update(token.as_bytes());
        let sig = base64::engine::general_purpose::STANDARD.encode(mac.finalize().into_bytes());
        format!("{token}.{sig}")
    }

    pub fn token(&self, id: &str) -> String {
        let now = Utc::now();
        self.issuer
            .issue(&UserId::parse(id).unwrap(), now, now + TimeDelta::hours(1))
            .unwrap()
    }

    pub fn expired_token(&self, id: &str) -> String {
        let now = Utc::now();
        self.issuer
            .issue(
                &UserId::parse(id).unwrap(),
                now - TimeDelta::hours(2),
                now - TimeDelta::hours(1),
            )
            .unwrap()
    }

    pub fn forged_token(&self, id: &str) -> String {
        let now = Utc::now();
        Hs256Issuer::new(
            b"not-the-secret-0123456789abcdef0123",
            Hs256Settings::default(),
        )
        .issue(&UserId::parse(id).unwrap(), now, now + TimeDelta::hours(1))
        .unwrap()
    }

    pub async fn send(&self, req: TestRequest) -> Response {
        let app = test::init_service(todo_http::app(self.services.clone())).await;
        let res = test::call_service(&app, req.to_request()).await;
        let status = res.status();
        let headers = res.headers().clone();
        let bytes = test::read_body(res).await;
        let raw = String::from_utf8_lossy(&bytes).into_owned();
        let body = serde_json::from_slice(&bytes).unwrap_or(Value::Null);
        Response {
            status,
            headers,
            body,
            raw,
        }
    }

    pub async fn call(
        &self,
        method: Method,
        path: &str,
        token: Option<&str>,
        body: Option<Value>,
    ) -> Response {
        self.call_with(method, path, token, body, &[]).await
    }

    /// [`TestApp::call`] with extra request headers.
    pub async fn call_with(
        &self,
        method: Method,
        path: &str,
        token: Option<&str>,
        body: Option<Value>,
        headers: &[(&str, &str)],
    ) -> Response {
        let mut req = TestRequest::default().method(method).uri(path);
        for (name, value) in headers {
            req = req.append_header((*name, *value));
        }
        if let Some(token) = token {
            req = req.insert_header(("authorization", format!("Bearer {token}")));
        }
        if let Some(body) = body {
            req = req.set_json(body);
        }
        self.send(req).await
    }

    pub async fn create(&self, owner: &str, token: &str, title: &str) -> Value {
        self.create_with(owner, token, serde_json::json!({ "title": title }))
            .await
    }

    /// Creates a task from a whole body; asserts 201.
    pub async fn create_with(&self, owner: &str, token: &str, body: Value) -> Value {
        let res = self
            .call(
                Method::POST,
                &format!("/api/{owner}/tasks"),
                Some(token),
                Some(body),
            )
            .await;
        assert_eq!(res.status, 201, "{}", res.raw);
        res.body
    }
}

impl TestApp {
    /// Creates a list of `owner`'s; asserts 201 and returns it.
    pub async fn list(&self, owner: &str, token: &str, name: &str) -> Value {
        let res = self
            .call(
                Method::POST,
                &format!("/api/{owner}/lists"),
                Some(token),
                Some(serde_json::json!({ "name": name })),
            )
            .await;
        assert_eq!(res.status, 201, "{}", res.raw);
        res.body
    }

    /// Shares `list` (of `owner`'s) with `member` in `role`; asserts 201.
    pub async fn share(&self, owner: &str, token: &str, list: &str, member: &str, role: &str) {
        let res = self
            .call(
                Method::POST,
                &format!("/api/{owner}/lists/{list}/members"),
                Some(token),
                Some(serde_json::json!({ "user_id": member, "role": role })),
            )
            .await;
        assert_eq!(res.status, 201, "{}", res.raw);
    }

    /// `GET path` as `token`; asserts 200 and returns the body.
    pub async fn get_ok(&self, path: &str, token: &str) -> Value {
        let res = self.call(Method::GET, path, Some(token), None).await;
        assert_eq!(res.status, 200, "GET {path}: {}", res.raw);
        res.body
    }
}

/// The ids of a JSON array of objects, in order.
pub fn ids(items: &Value) -> Vec<String> {
    items
        .as_array()
        .unwrap_or_else(|| panic!("an array: {items}"))
        .iter()
        .map(|item| item["id"].as_str().unwrap().to_owned())
        .collect()
}
