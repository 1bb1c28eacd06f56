//! The composition root: the only place that names concrete adapters.

use std::net::TcpListener;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use todo_application::ports::{
    ChangeLog, Clock, CredentialVerifier, IdGenerator, JwksSource, ListRepository, Purged,
    ReadinessProbe, SystemClock, TaskRepository, TrashRepository, UserRepository, UuidV7Ids,
};
use todo_application::{
    AdminService, AuthService, EventHub, Inboxes, ListService, OnDemand, PageSettings,
    SyncSettings, TaskService, TrashService, UserCache, WebhookDispatcher, WebhookService,
};
use todo_auth::{
    Hs256Settings, Hs256Verifier, HttpJwksSource, JwksSettings, JwksVerifier, SessionVerifier,
};
use todo_domain::{AdminRoles, UserId};
use todo_http::{HttpSettings, Metrics, Services};
use todo_persistence::{
    DatabaseConnection, Db, SeaChangeLog, SeaChangeSignal, SeaJwksSource, SeaListRepository,
    SeaPoolMetrics, SeaReadiness, SeaSessionRepository, SeaTaskRepository, SeaTrashRepository,
    SeaUserRepository, SeaWebhookDeliveries, SeaWebhookRepository,
};

use crate::settings::{JwksSourceKind, Settings};

/// Connects to the database named in the settings.
pub async fn connect(settings: &Settings) -> anyhow::Result<DatabaseConnection> {
    todo_persistence::connect(settings.database.url.expose(), &settings.pool())
        .await
        .context("could not connect to the database (DATABASE_URL)")
}

/// The database for serving: on PostgreSQL a pool per HTTP worker (see [`Db`]), the
/// configured pool size split between them.
pub async fn connect_for_workers(settings: &Settings) -> anyhow::Result<Db> {
    todo_persistence::connect_per_thread(
        settings.database.url.expose(),
        &settings.pool(),
        u32::try_from(worker_count(settings)).unwrap_or(u32::MAX),
    )
    .await
    .context("could not connect to the database (DATABASE_URL)")
}

/// The HTTP workers that will serve: `http.workers`, or actix's default (one per core).
fn worker_count(settings: &Settings) -> usize {
    if settings.http.workers > 0 {
        settings.http.workers
    } else {
        std::thread::available_parallelism().map_or(1, std::num::NonZero::get)
    }
}

/// Connections all workers together hold at most when the cap is derived: at about 20 KiB
/// each under a flood of stalled requests, 4096 stay near 80 MiB, within the 128 MiB the
/// Kubernetes manifests allow.
const DERIVED_CONNECTIONS_CEILING: u64 = 4096;

/// Descriptors kept for everything but client connections: the database pool, the
/// metrics listener, log files, the runtime.
const RESERVED_DESCRIPTORS: u64 = 128;

/// `http.max_connections_per_worker`, or, when 0, the open-file limit less a reserve (and
/// at most [`DERIVED_CONNECTIONS_CEILING`]) shared between the workers: a connection flood
/// then stops at the cap (new connections wait in the listen backlog) instead of running
/// the process out of descriptors or memory.
fn max_connections_per_worker(settings: &Settings, workers: usize) -> usize {
    if settings.http.max_connections_per_worker > 0 {
        return settings.http.max_connections_per_worker;
    }
    let pool = u64::from(settings.database.max_connections);
    let usable = open_file_limit()
        .saturating_sub(RESERVED_DESCRIPTORS + pool)
        .min(DERIVED_CONNECTIONS_CEILING);
    let per_worker = usable / u64::try_from(workers.max(1)).unwrap_or(1);
    usize::try_from(per_worker).unwrap_or(usize::MAX).max(1)
}

/// The soft limit on open files (1024, the usual default, where it cannot be read).
fn open_file_limit() -> u64 {
    #[cfg(unix)]
    {
        nix::sys::resource::getrlimit(nix::sys::resource::Resource::RLIMIT_NOFILE)
            .map_or(1024, |(soft, _hard)| soft)
    }
    #[cfg(not(unix))]
    {
        1024
    }
}

fn keep_alive(secs: u64) -> actix_web::http::KeepAlive {
    if secs == 0 {
        actix_web::http::KeepAlive::Disabled
    } else {
        actix_web::http::KeepAlive::Timeout(Duration::from_secs(secs))
    }
}

/// Applies pending migrations (under an advisory lock on PostgreSQL).
pub async fn migrate(db: &DatabaseConnection) -> anyhow::Result<()> {
    todo_persistence::migrate(db)
        .await
        .context("could not apply database migrations")
}

/// The services of the application, wired to the adapters on `db`; on-demand webhook
/// deliveries go through `webhook_io` (the deliverer's, in a serving process).
pub fn services(settings: &Settings, db: &Db, webhook_io: OnDemand) -> anyhow::Result<Services> {
    let tasks: Arc<dyn TaskRepository> = Arc::new(SeaTaskRepository::new(db.clone()));
    let lists: Arc<dyn ListRepository> = Arc::new(SeaListRepository::new(db.clone()));
    let users: Arc<dyn UserRepository> = Arc::new(SeaUserRepository::new(db.clone()));
    let trash: Arc<dyn TrashRepository> = Arc::new(SeaTrashRepository::new(db.clone()));
    let readiness: Arc<dyn ReadinessProbe> = Arc::new(SeaReadiness::new(db.clone()));
    let clock: Arc<dyn Clock> = Arc::new(SystemClock);
    let ids: Arc<dyn IdGenerator> = Arc::new(UuidV7Ids);
    // One for both services, so that a user's Inbox is created once and remembered once.
    let inboxes = Inboxes::new(lists.clone(), clock.clone(), ids.clone());
    let limits = settings.limits();
    let admin_roles = AdminRoles::new(settings.auth.admin_roles.iter().cloned());
    let cache = Arc::new(UserCache::new(
        Duration::from_secs(settings.auth.cache_ttl_secs),
        settings.auth.cache_capacity,
    ));
    let pages = PageSettings {
        default_limit: settings.pagination.default_limit,
        max_limit: settings.pagination.max_limit,
    };
    let admin_user_id = settings
        .auth
        .admin_user_id
        .as_deref()
        .map(UserId::parse)
        .transpose()
        .map_err(|e| anyhow::anyhow!("configuration error in `ADMIN_USER_ID`: {e}"))?;

    let verifiers = verifiers(settings, db, &clock)?;
    if verifiers.is_empty() {
        tracing::warn!("no credential kind is enabled: every authenticated request will get 401");
    }

    Ok(Services::new(
        TaskService::new(
            tasks.clone(),
            lists.clone(),
            inboxes.clone(),
            clock.clone(),
            ids.clone(),
            pages,
        )
        .with_limits(limits)
        .with_sync(SyncSettings {
            tombstone_retention: chrono::TimeDelta::days(i64::from(
                settings.sync.tombstone_retention_days,
            )),
            ..SyncSettings::default()
        }),
        ListService::new(
            lists.clone(),
            users.clone(),
            clock.clone(),
            ids,
            inboxes.clone(),
        )
        .with_limits(limits)
        .with_pages(pages),
        TrashService::new(trash, lists.clone(), inboxes.clone(), clock.clone())
            .with_pages(pages)
            .with_retention(settings.trash_retention()),
        WebhookService::new(
            Arc::new(SeaWebhookRepository::new(db.clone())),
            lists,
            Arc::new(SeaChangeLog::new(db.clone())),
            Arc::new(todo_webhooks::RandomSecrets),
            webhook_io,
            clock.clone(),
            settings.webhooks(),
        ),
        AdminService::new(
            users.clone(),
            tasks,
            clock.clone(),
            cache.clone(),
            admin_roles.clone(),
            pages,
        )
        .with_inboxes(inboxes),
        AuthService::new(verifiers, users, clock, cache, admin_roles, admin_user_id),
        readiness,
        HttpSettings {
            body_limit: settings.http.body_limit,
            body_timeout: Duration::from_millis(settings.http.body_timeout_ms),
            cors_origins: settings.http.cors_origins.clone(),
            metrics_on_main_port: settings.metrics.bind.is_none(),
        },
    )
    .with_rate_limits(settings.rate_limits())
    .with_metrics(Metrics::with_pool(Arc::new(SeaPoolMetrics::new(
        db.clone(),
        settings.database.max_connections,
    )))))
}

/// The enabled credential verifiers, in the order they are asked: the two JWT kinds
/// (each ignores the other's algorithms), then session tokens.
fn verifiers(
    settings: &Settings,
    db: &Db,
    clock: &Arc<dyn Clock>,
) -> anyhow::Result<Vec<Arc<dyn CredentialVerifier>>> {
    let auth = &settings.auth;
    let secret = auth.secret.as_ref().map(|s| s.expose().as_bytes());
    let mut verifiers: Vec<Arc<dyn CredentialVerifier>> = Vec::new();
    if auth.hs256_enabled
        && let Some(secret) = secret
    {
        verifiers.push(Arc::new(Hs256Verifier::new(
            secret,
            &hs256_settings(settings),
        )));
    }
    if auth.jwks_enabled {
        let source: Option<Arc<dyn JwksSource>> = match auth.jwks_source {
            JwksSourceKind::Database => Some(Arc::new(SeaJwksSource::new(db.clone()))),
            JwksSourceKind::Url => match settings.jwks_url() {
                Some(url) => Some(Arc::new(
                    HttpJwksSource::new(&url, Duration::from_millis(auth.jwks_timeout_ms))
                        .map_err(|e| {
                            anyhow::anyhow!("configuration error in `auth.jwks_url`: {e}")
                        })?,
                )),
                None => None,
            },
        };
        if let Some(source) = source {
            verifiers.push(Arc::new(JwksVerifier::new(
                source,
                JwksSettings {
                    issuer: settings.jwt_issuer(),
                    audience: settings.jwt_audience(),
                    min_refresh_interval: Duration::from_secs(auth.jwks_refresh_min_interval_secs),
                },
            )));
        }
    }
    if auth.session_enabled
        && let Some(secret) = secret
    {
        verifiers.push(Arc::new(SessionVerifier::new(
            Arc::new(SeaSessionRepository::new(db.clone())),
            clock.clone(),
            secret,
        )));
    }
    Ok(verifiers)
}

#[must_use]
pub fn hs256_settings(settings: &Settings) -> Hs256Settings {
    Hs256Settings {
        issuer: settings.auth.issuer.clone(),
        audience: settings.auth.audience.clone(),
    }
}

/// What webhook deliveries are made of and sent with: the API's JSON for the bodies, the
/// HTTP sender (its client is built on its first delivery). One per process, shared by the
/// deliverer and the owners' on-demand deliveries.
pub fn webhook_io(settings: &Settings, db: &Db) -> OnDemand {
    OnDemand {
        payloads: Arc::new(todo_http::ApiPayloads::new(
            Arc::new(SeaTaskRepository::new(db.clone())),
            Arc::new(SeaListRepository::new(db.clone())),
        )),
        sender: Arc::new(todo_webhooks::HttpWebhookSender::new(
            settings.webhook_sender(),
        )),
    }
}

/// The webhook deliverer of this process: the stores, the change log, and `io` for the
/// bodies and the sending.
fn webhook_dispatcher(settings: &Settings, db: &Db, io: OnDemand) -> WebhookDispatcher {
    let OnDemand { payloads, sender } = io;
    WebhookDispatcher::new(
        Arc::new(SeaWebhookDeliveries::new(db.clone())),
        Arc::new(SeaChangeLog::new(db.clone())),
        Arc::new(SeaListRepository::new(db.clone())),
        payloads,
        sender,
        Arc::new(SystemClock),
        // A retry's jitter needs no secrecy: the random bits of a UUID v7.
        Arc::new(|| {
            let bits = uuid::Uuid::now_v7().as_u128() & 0xFFFF_FFFF;
            #[allow(clippy::cast_precision_loss)]
            let jitter = bits as f64 / 4_294_967_296.0;
            jitter
        }),
        settings.webhook_dispatch(),
    )
}

/// Delivers webhooks until aborted: a pass every `interval`, at once again after a pass
/// that delivered something (more may be waiting). A failed pass is logged; its claims
/// lapse and the next pass goes on.
async fn deliver_webhooks(dispatcher: WebhookDispatcher, interval: Duration) {
    loop {
        match dispatcher.pass().await {
            Ok(0) => tokio::time::sleep(interval).await,
            Ok(_) => tokio::task::yield_now().await,
            Err(err) => {
                tracing::warn!(error = %err, "delivering webhooks failed; retrying");
                tokio::time::sleep(interval).await;
            }
        }
    }
}

/// A running server: its bound port and a future that completes when it stops.
pub struct Application {
    port: u16,
    server: actix_web::dev::Server,
    metrics: Option<(u16, actix_web::dev::Server)>,
    services: Services,
    db: Db,
    shutdown_delay: Duration,
    purge_interval: Duration,
    /// How long the change log keeps a change.
    change_retention: chrono::TimeDelta,
    /// Where the connection that hears other replicas' changes goes (PostgreSQL).
    listen_url: String,
    webhooks: WebhookDispatcher,
    webhook_interval: Duration,
}

impl Application {
    /// Connects, migrates (when configured), promotes `ADMIN_USER_ID`, binds and starts.
    pub async fn build(settings: Settings) -> anyhow::Result<Self> {
        let db = connect_for_workers(&settings).await?;
        if settings.database.migrate_on_start {
            migrate(db.shared()).await?;
        }
        let log: Arc<dyn ChangeLog> = Arc::new(SeaChangeLog::new(db.clone()));
        let hub = EventHub::start(log, settings.events())
            .await
            .context("could not read the change log")?;
        let io = webhook_io(&settings, &db);
        let webhooks = webhook_dispatcher(&settings, &db, io.clone());
        let services = services(&settings, &db, io)?
            .with_events(hub)
            .with_webhook_stats(webhooks.stats());
        if let Some(id) = &settings.auth.admin_user_id {
            let id = UserId::parse(id)
                .map_err(|e| anyhow::anyhow!("configuration error in `ADMIN_USER_ID`: {e}"))?;
            match services.admin.promote(&id).await {
                Ok(true) => tracing::info!(user = %id, "ADMIN_USER_ID promoted to admin"),
                Ok(false) => {}
                Err(err) => tracing::warn!(error = %err, "could not promote ADMIN_USER_ID yet"),
            }
        }
        let listener = TcpListener::bind((settings.http.host.as_str(), settings.http.port))
            .with_context(|| {
                format!(
                    "could not listen on {}:{} (HOST/PORT)",
                    settings.http.host, settings.http.port
                )
            })?;
        let port = listener.local_addr()?.port();
        let app_services = services.clone();
        let workers = worker_count(&settings);
        let max_connections = max_connections_per_worker(&settings, workers);
        let server = actix_web::HttpServer::new(move || todo_http::app(app_services.clone()))
            .shutdown_timeout(settings.http.shutdown_grace_secs)
            .disable_signals()
            .workers(workers)
            .max_connections(max_connections)
            .client_request_timeout(Duration::from_millis(settings.http.head_timeout_ms))
            .keep_alive(keep_alive(settings.http.keep_alive_secs))
            .listen(listener)?
            .run();
        let metrics = match &settings.metrics.bind {
            Some(bind) => {
                let listener = TcpListener::bind(bind.as_str())
                    .with_context(|| format!("could not listen on {bind} (metrics.bind)"))?;
                let port = listener.local_addr()?.port();
                let metrics_services = services.clone();
                let server = actix_web::HttpServer::new(move || {
                    todo_http::metrics_app(metrics_services.clone())
                })
                .workers(1)
                .disable_signals()
                .listen(listener)?
                .run();
                tracing::info!(address = %bind, "metrics listening");
                Some((port, server))
            }
            None => None,
        };
        tracing::info!(
            address = %format!("{}:{port}", settings.http.host),
            workers,
            max_connections_per_worker = max_connections,
            database = todo_persistence::backend_name(db.shared()),
            profile = settings.profile.as_str(),
            "listening"
        );
        Ok(Self {
            port,
            server,
            metrics,
            services,
            db,
            shutdown_delay: Duration::from_millis(settings.http.shutdown_delay_ms),
            purge_interval: Duration::from_secs(settings.sync.purge_interval_secs),
            change_retention: settings.change_retention(),
            listen_url: settings.listen_url().to_owned(),
            webhooks,
            webhook_interval: Duration::from_millis(settings.webhooks.poll_interval_ms),
        })
    }

    #[must_use]
    pub fn port(&self) -> u16 {
        self.port
    }

    /// The port of the separate metrics listener, when `metrics.bind` is set.
    #[must_use]
    pub fn metrics_port(&self) -> Option<u16> {
        self.metrics.as_ref().map(|(port, _)| *port)
    }

    /// Serves until SIGTERM or SIGINT, then reports not-ready, drains in-flight requests
    /// (up to the grace period), closes the database pool and returns.
    pub async fn run_until_stopped(self) -> anyhow::Result<()> {
        let handle = self.server.handle();
        let metrics_handle = self.metrics.as_ref().map(|(_, server)| server.handle());
        if let Some((_, server)) = self.metrics {
            tokio::spawn(server);
        }
        let purge = tokio::spawn(purge_periodically(
            self.services.clone(),
            self.purge_interval,
            self.change_retention,
        ));
        // The reader of the change log, woken by this process's writes and (PostgreSQL)
        // the other replicas' notifications.
        let signal = Arc::new(SeaChangeSignal::start(&self.db, &self.listen_url));
        let reader = self
            .services
            .events
            .clone()
            .map(|hub| tokio::spawn(hub.run(signal.clone(), Arc::new(SystemClock))));
        let webhooks = tokio::spawn(deliver_webhooks(self.webhooks, self.webhook_interval));
        let services = self.services.clone();
        let delay = self.shutdown_delay;
        tokio::spawn(async move {
            shutdown_signal().await;
            tracing::info!("shutdown requested: readiness now 503, draining in-flight requests");
            services.begin_shutdown();
            if !delay.is_zero() {
                tokio::time::sleep(delay).await;
            }
            handle.stop(true).await;
            if let Some(metrics) = metrics_handle {
                metrics.stop(true).await;
            }
        });
        self.server.await.context("the HTTP server failed")?;
        purge.abort();
        // A delivery cut off here is sent again by the next pass (at least once).
        webhooks.abort();
        if let Some(reader) = reader {
            reader.abort();
        }
        drop(signal);
        if let Err(err) = self.db.close().await {
            tracing::warn!(error = %err, "closing the database pool failed");
        }
        tracing::info!("stopped");
        Ok(())
    }
}

/// Forgets expired tombstones, idempotency keys and trash entries every `interval`, the
/// first time one interval after start-up (a start stays as light as it can be). A
/// failure is logged and retried at the next tick.
async fn purge_periodically(services: Services, interval: Duration, changes: chrono::TimeDelta) {
    let mut ticks = tokio::time::interval_at(tokio::time::Instant::now() + interval, interval);
    ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        ticks.tick().await;
        purge_once(&services, changes).await;
    }
}

/// One round of the purge: the sync records, then the trash; each failure is logged on
/// its own, so that one does not hold the other back.
async fn purge_once(services: &Services, changes: chrono::TimeDelta) {
    if let Some(hub) = &services.events {
        match hub.prune(SystemClock.now() - changes).await {
            Ok(0) => tracing::debug!("purge: no change expired"),
            Ok(records) => tracing::info!(records, "pruned expired changes from the change log"),
            Err(err) => {
                tracing::warn!(error = %err, "pruning the change log failed; retrying at the next interval");
            }
        }
    }
    match services.tasks.purge_expired().await {
        Ok(Purged {
            tombstones: 0,
            keys: 0,
        }) => tracing::debug!("purge: no sync record expired"),
        Ok(Purged { tombstones, keys }) => {
            tracing::info!(
                tombstones,
                idempotency_keys = keys,
                "purged expired sync records"
            );
        }
        Err(err) => {
            tracing::warn!(error = %err, cause = ?std::error::Error::source(&err).map(ToString::to_string), "purging expired sync records failed; retrying at the next interval");
        }
    }
    match services.trash.purge_expired().await {
        Ok(0) => tracing::debug!("purge: no trash entry expired"),
        Ok(entries) => tracing::info!(entries, "purged expired trash entries"),
        Err(err) => {
            tracing::warn!(error = %err, cause = ?std::error::Error::source(&err).map(ToString::to_string), "purging expired trash entries failed; retrying at the next interval");
        }
    }
}

async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {},
        () = term => {},
    }
}
