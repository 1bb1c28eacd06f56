//! What the handlers are given: the application services, the readiness probe, the
//! HTTP settings and the metrics, built once by the composition root.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use todo_application::ports::ReadinessProbe;
use todo_application::{
    AdminService, AuthService, EventHub, ListService, TaskService, TrashService, WebhookService,
};

use crate::metrics::Metrics;
use crate::rate_limit::{RateLimitSettings, RateLimiter};

/// HTTP-level settings.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HttpSettings {
    /// Largest accepted request body in bytes.
    pub body_limit: usize,
    /// How long a request's body may take to arrive once its head has (408 after).
    pub body_timeout: Duration,
    /// Origins allowed by CORS; `["*"]` allows any (only sensible in development).
    pub cors_origins: Vec<String>,
    /// Serve `/metrics` on the public port (otherwise only through
    /// [`metrics_app`](crate::metrics_app)).
    pub metrics_on_main_port: bool,
}

impl Default for HttpSettings {
    fn default() -> Self {
        Self {
            body_limit: 64 * 1024,
            body_timeout: Duration::from_secs(10),
            cors_origins: Vec::new(),
            metrics_on_main_port: true,
        }
    }
}

/// Everything the handlers need, built once by the composition root.
#[derive(Clone)]
pub struct Services {
    pub tasks: TaskService,
    pub lists: ListService,
    /// What users deleted and can restore.
    pub trash: TrashService,
    /// Webhooks as their owners manage them.
    pub webhooks: Arc<WebhookService>,
    pub admin: AdminService,
    pub auth: AuthService,
    pub readiness: Arc<dyn ReadinessProbe>,
    pub http: HttpSettings,
    pub metrics: Arc<Metrics>,
    /// The request budgets (docs/api.md, *Rate limits*).
    pub rate_limits: Arc<RateLimiter>,
    /// The live event stream (`None`: not running; its endpoint answers 503).
    pub events: Option<EventHub>,
    /// What this process's webhook deliverer has done (`None`: it does not run here).
    pub webhook_stats: Option<Arc<todo_application::DeliveryStats>>,
    shutting_down: Arc<AtomicBool>,
}

impl Services {
    #[allow(clippy::too_many_arguments)]
    pub fn new(
        tasks: TaskService,
        lists: ListService,
        trash: TrashService,
        webhooks: WebhookService,
        admin: AdminService,
        auth: AuthService,
        readiness: Arc<dyn ReadinessProbe>,
        http: HttpSettings,
    ) -> Self {
        Self {
            tasks,
            lists,
            trash,
            webhooks: Arc::new(webhooks),
            admin,
            auth,
            readiness,
            http,
            metrics: Arc::new(Metrics::default()),
            rate_limits: Arc::new(RateLimiter::new(RateLimitSettings::default())),
            events: None,
            webhook_stats: None,
            shutting_down: Arc::new(AtomicBool::new(false)),
        }
    }

    /// Uses `metrics` (for example one that also reports the database pool).
    #[must_use]
    pub fn with_metrics(mut self, metrics: Metrics) -> Self {
        self.metrics = Arc::new(metrics);
        self
    }

    /// Uses these request budgets instead of the default ones.
    #[must_use]
    pub fn with_rate_limits(mut self, settings: RateLimitSettings) -> Self {
        self.rate_limits = Arc::new(RateLimiter::new(settings));
        self
    }

    /// Serves the event stream from `hub`.
    #[must_use]
    pub fn with_events(mut self, hub: EventHub) -> Self {
        self.events = Some(hub);
        self
    }

    /// `/metrics` shows the webhook deliverer's counters.
    #[must_use]
    pub fn with_webhook_stats(mut self, stats: Arc<todo_application::DeliveryStats>) -> Self {
        self.webhook_stats = Some(stats);
        self
    }

    /// From now on `/health/ready` answers 503 so load balancers stop sending traffic, and
    /// every response closes its connection so clients move to another replica.
    pub fn begin_shutdown(&self) {
        self.shutting_down.store(true, Ordering::SeqCst);
        // Open streams end now, inside the grace period, instead of holding it to the end.
        if let Some(hub) = &self.events {
            hub.close();
        }
    }

    #[must_use]
    pub fn is_shutting_down(&self) -> bool {
        self.shutting_down.load(Ordering::SeqCst)
    }
}
