//! Layered configuration: built-in defaults < `config/default.toml` < `config/{profile}.toml`
//! < `TODO__SECTION__KEY` environment variables < the original service's plain names
//! (`DATABASE_URL`, `BETTER_AUTH_SECRET`, `BETTER_AUTH_URL`, `ADMIN_USER_ID`, `PORT`,
//! `HOST`, `CORS_ORIGINS`). A `.env` file is read first.

use std::fmt;
use std::path::PathBuf;
use std::time::Duration;

use serde::Deserialize;

/// Secret used by the dev profile when none is configured. Never accepted in production.
pub const DEV_SECRET: &str = "dev-insecure-secret-do-not-use-in-production-0123456789";

/// Shortest secret accepted in production (bytes).
pub const MIN_SECRET_BYTES: usize = 32;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Profile {
    Dev,
    Production,
}

impl Profile {
    fn parse(raw: &str) -> Result<Self, SettingsError> {
        match raw.trim().to_ascii_lowercase().as_str() {
            "dev" | "development" | "local" => Ok(Self::Dev),
            "production" | "prod" => Ok(Self::Production),
            other => Err(SettingsError::Invalid {
                key: "TODO_PROFILE".into(),
                message: format!("`{other}` is not a profile; use `dev` or `production`"),
            }),
        }
    }

    #[must_use]
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Dev => "dev",
            Self::Production => "production",
        }
    }
}

/// A string that never shows itself in `Debug` output or logs.
#[derive(Clone, Deserialize, Default)]
#[serde(transparent)]
pub struct Secret(String);

impl Secret {
    #[must_use]
    pub fn new(value: impl Into<String>) -> Self {
        Self(value.into())
    }

    #[must_use]
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret([REDACTED])")
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum JwksSourceKind {
    Url,
    Database,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum LogFormat {
    Pretty,
    Json,
}

#[derive(Debug, Clone, Deserialize)]
pub struct HttpSection {
    pub host: String,
    pub port: u16,
    /// Largest accepted request body in bytes.
    pub body_limit: usize,
    /// Allowed CORS origins; `["*"]` allows any.
    pub cors_origins: Vec<String>,
    /// Worker threads; 0 = one per CPU core.
    pub workers: usize,
    /// How long in-flight requests may take to finish on shutdown.
    pub shutdown_grace_secs: u64,
    /// How long to keep serving, while `/health/ready` already answers 503, between
    /// SIGTERM and closing the listener, so load balancers stop routing here first.
    pub shutdown_delay_ms: u64,
    /// How long a client may take to send a request's head (line and headers).
    pub head_timeout_ms: u64,
    /// How long a client may take to send a request's body, once its head has arrived.
    pub body_timeout_ms: u64,
    /// How long an idle kept-alive connection stays open (0 = no keep-alive).
    pub keep_alive_secs: u64,
    /// Connections each worker serves at once; 0 = derived from the open-file limit.
    pub max_connections_per_worker: usize,
}

#[derive(Debug, Clone, Deserialize)]
pub struct DatabaseSection {
    pub url: Secret,
    /// PostgreSQL: where the connection that `LISTEN`s for other replicas' changes goes
    /// when `url` is a transaction-mode pooler (Neon: the unpooled endpoint). Default: `url`.
    pub direct_url: Option<Secret>,
    pub migrate_on_start: bool,
    pub max_connections: u32,
    pub min_connections: u32,
    pub acquire_timeout_ms: u64,
    pub idle_timeout_secs: u64,
    pub max_lifetime_secs: u64,
}

#[derive(Debug, Clone, Deserialize)]
pub struct AuthSection {
    /// `BETTER_AUTH_SECRET`: signs and verifies HS256 tokens.
    pub secret: Option<Secret>,
    /// Accept HS256 JWTs signed with the secret.
    pub hs256_enabled: bool,
    /// When set, HS256 tokens must carry this `iss`.
    pub issuer: Option<String>,
    /// When set, HS256 tokens must carry this `aud`.
    pub audience: Option<String>,
    /// `BETTER_AUTH_URL`: the Better Auth server; the default JWKS URL, issuer and
    /// audience of its `jwt` plugin tokens.
    pub better_auth_url: Option<String>,
    /// Accept Better Auth session tokens (raw or signed), looked up in `session`.
    pub session_enabled: bool,
    /// Accept JWTs from Better Auth's `jwt` plugin, verified with its public keys.
    pub jwks_enabled: bool,
    /// Where the public keys come from: `url` (the JWKS endpoint) or `database` (the
    /// shared `jwks` table).
    pub jwks_source: JwksSourceKind,
    /// The JWKS endpoint; default `<BETTER_AUTH_URL>/api/auth/jwks`.
    pub jwks_url: Option<String>,
    /// Required `iss` of JWKS-verified tokens; default `BETTER_AUTH_URL`; `""` disables.
    pub jwt_issuer: Option<String>,
    /// Required `aud` of JWKS-verified tokens; default `BETTER_AUTH_URL`; `""` disables.
    pub jwt_audience: Option<String>,
    /// An unknown `kid` refetches the keys at most this often.
    pub jwks_refresh_min_interval_secs: u64,
    /// Timeout of a JWKS request.
    pub jwks_timeout_ms: u64,
    /// Roles that make a user an admin.
    pub admin_roles: Vec<String>,
    /// `ADMIN_USER_ID`: promoted to admin at start-up and when first seen.
    pub admin_user_id: Option<String>,
    /// Seconds a user row is cached in-process (0 disables the cache).
    pub cache_ttl_secs: u64,
    pub cache_capacity: usize,
}

#[derive(Debug, Clone, Deserialize)]
pub struct PaginationSection {
    pub default_limit: u32,
    pub max_limit: u32,
}

/// Incremental sync and idempotent creates.
#[derive(Debug, Clone, Deserialize)]
pub struct SyncSection {
    /// Days a deleted task's tombstone is kept for clients syncing with `updated_since`.
    pub tombstone_retention_days: u32,
    /// Seconds between purges of expired tombstones and idempotency keys.
    pub purge_interval_secs: u64,
}

/// The trash of deleted tasks and lists.
#[derive(Debug, Clone, Deserialize)]
pub struct TrashSection {
    /// Days a deleted task or list stays restorable before the purge forgets it.
    pub retention_days: u32,
}

/// The change log the event stream reads.
#[derive(Debug, Clone, Deserialize)]
pub struct ChangesSection {
    /// Days a change is kept for streams resuming from it.
    pub retention_days: u32,
}

/// The live event stream (`GET /api/{user_id}/events`).
#[derive(Debug, Clone, Deserialize)]
pub struct EventsSection {
    /// Seconds between the comment lines that keep an idle stream open through proxies.
    pub heartbeat_secs: u64,
    /// Milliseconds between reads of the change log when no write was heard of (one lost
    /// notification, or a transaction that held the reader back, costs at most this).
    pub poll_interval_ms: u64,
    pub max_streams_per_user: u32,
    /// Open streams in one process.
    pub max_streams: u32,
}

/// Webhooks: where they may point, how many, how their deliveries are paced.
#[derive(Debug, Clone, Deserialize)]
pub struct WebhooksSection {
    /// Hosts a webhook may reach over plain HTTP and whose addresses are not judged (a
    /// receiver on the private network the operator trusts; the tests' 127.0.0.1).
    pub allow_hosts: Vec<String>,
    pub max_per_user: u32,
    /// Consecutive failed deliveries that disable a webhook.
    pub max_failures: u32,
    /// The whole of one delivery attempt.
    pub timeout_secs: u64,
    /// How long a rotated-out secret keeps signing beside the new one.
    pub secret_overlap_secs: u64,
    /// How often each process looks for webhooks with events to deliver.
    pub poll_interval_ms: u64,
}

/// How many of each thing there may be (lists, members, open tasks, nesting levels).
#[derive(Debug, Clone, Deserialize)]
pub struct LimitsSection {
    /// Lists a user owns, their Inbox included.
    pub lists_per_user: u32,
    /// Members of a list, its owner included.
    pub members_per_list: u32,
    /// Open tasks in one list.
    pub open_tasks_per_list: u32,
    /// Levels of subtasks: a top-level task is level 1.
    pub nesting_depth: u32,
}

#[derive(Debug, Clone, Deserialize)]
pub struct MetricsSection {
    /// `host:port` of a separate listener for `/metrics`; unset = on the public port.
    pub bind: Option<String>,
}

/// Request budgets per user and per client address, kept in each replica's memory.
#[derive(Debug, Clone, Deserialize)]
pub struct RateLimitSection {
    pub enabled: bool,
    /// GET and HEAD per user: `reads_quota` requests per `reads_window_secs`.
    pub reads_quota: u32,
    pub reads_window_secs: u64,
    /// Every other method per user.
    pub writes_quota: u32,
    pub writes_window_secs: u64,
    /// Refused credentials per client address; once used up, that address's credentials
    /// are refused with 429 before they are verified.
    pub auth_failures_quota: u32,
    pub auth_failures_window_secs: u64,
    /// GET and HEAD per client address, with a credential or not.
    pub address_reads_quota: u32,
    pub address_reads_window_secs: u64,
    /// Every other method per client address.
    pub address_writes_quota: u32,
    pub address_writes_window_secs: u64,
    /// Most buckets kept per budget.
    pub max_entries: usize,
    /// Proxies whose `X-Forwarded-For` names the client (IP addresses); empty: none.
    pub trusted_proxies: Vec<String>,
}

#[derive(Debug, Clone, Deserialize)]
pub struct LogSection {
    pub format: LogFormat,
}

/// The whole configuration.
#[derive(Debug, Clone, Deserialize)]
pub struct Settings {
    pub profile: Profile,
    pub http: HttpSection,
    pub database: DatabaseSection,
    pub auth: AuthSection,
    pub pagination: PaginationSection,
    pub sync: SyncSection,
    pub trash: TrashSection,
    pub changes: ChangesSection,
    pub events: EventsSection,
    pub webhooks: WebhooksSection,
    pub limits: LimitsSection,
    pub log: LogSection,
    pub rate_limit: RateLimitSection,
    #[serde(default = "no_metrics_bind")]
    pub metrics: MetricsSection,
}

fn no_metrics_bind() -> MetricsSection {
    MetricsSection { bind: None }
}

#[derive(Debug, thiserror::Error)]
pub enum SettingsError {
    #[error("configuration error in `{key}`: {message}")]
    Invalid { key: String, message: String },
    #[error("configuration error: {0}")]
    Load(#[from] config::ConfigError),
}

fn invalid(key: &str, message: impl Into<String>) -> SettingsError {
    SettingsError::Invalid {
        key: key.to_owned(),
        message: message.into(),
    }
}

/// Where the environment comes from; a trait so tests need not touch the process env.
pub trait Env {
    fn var(&self, key: &str) -> Option<String>;
}

/// The process environment.
pub struct ProcessEnv;

impl Env for ProcessEnv {
    fn var(&self, key: &str) -> Option<String> {
        std::env::var(key).ok().filter(|v| !v.is_empty())
    }
}

impl<const N: usize> Env for [(&str, &str); N] {
    fn var(&self, key: &str) -> Option<String> {
        self.iter()
            .find(|(k, _)| *k == key)
            .map(|(_, v)| (*v).to_owned())
    }
}

impl Settings {
    /// Loads the configuration of the process (after reading `.env`, if present).
    pub fn load() -> Result<Self, SettingsError> {
        // A missing .env is normal; a malformed one is worth a warning but not fatal.
        if let Err(err) = dotenvy::dotenv()
            && !err.not_found()
        {
            eprintln!("warning: ignoring .env: {err}");
        }
        let dir = std::env::var("TODO_CONFIG_DIR")
            .map_or_else(|_| PathBuf::from("config"), PathBuf::from);
        let env_source = config::Environment::with_prefix("TODO")
            .prefix_separator("__")
            .separator("__")
            .list_separator(",")
            .with_list_parse_key("http.cors_origins")
            .with_list_parse_key("auth.admin_roles")
            .with_list_parse_key("rate_limit.trusted_proxies")
            .with_list_parse_key("webhooks.allow_hosts")
            .try_parsing(true);
        Self::build(&ProcessEnv, &dir, Some(env_source))
    }

    /// Builds settings from `env` (plain names and `TODO_PROFILE`), the files in `dir`, and
    /// an optional `TODO__…` environment source.
    pub fn build(
        env: &dyn Env,
        dir: &std::path::Path,
        env_source: Option<config::Environment>,
    ) -> Result<Self, SettingsError> {
        let profile = env
            .var("TODO_PROFILE")
            .or_else(|| env.var("APP_ENV"))
            .map_or(Ok(Profile::Dev), |p| Profile::parse(&p))?;
        let dev = profile == Profile::Dev;
        let mut builder = config::Config::builder()
            .set_default("profile", profile.as_str())?
            .set_default("http.host", "127.0.0.1")?
            .set_default("http.port", 8000)?
            .set_default("http.body_limit", 64 * 1024)?
            .set_default(
                "http.cors_origins",
                if dev { vec!["*"] } else { Vec::new() },
            )?
            .set_default("http.workers", 0)?
            .set_default("http.shutdown_grace_secs", 30)?
            .set_default("http.shutdown_delay_ms", if dev { 0 } else { 5000 })?
            .set_default("http.head_timeout_ms", 5000)?
            .set_default("http.body_timeout_ms", 10_000)?
            .set_default("http.keep_alive_secs", 5)?
            .set_default("http.max_connections_per_worker", 0)?
            .set_default("database.url", "sqlite://data/todo.db?mode=rwc")?
            .set_default("database.migrate_on_start", true)?
            .set_default("database.max_connections", 10)?
            .set_default("database.min_connections", 0)?
            .set_default("database.acquire_timeout_ms", 2000)?
            .set_default("database.idle_timeout_secs", 600)?
            .set_default("database.max_lifetime_secs", 1800)?
            .set_default("auth.hs256_enabled", true)?
            .set_default("auth.session_enabled", true)?
            .set_default("auth.jwks_enabled", true)?
            .set_default("auth.jwks_source", "url")?
            .set_default("auth.jwks_refresh_min_interval_secs", 10)?
            .set_default("auth.jwks_timeout_ms", 3000)?
            .set_default("auth.admin_roles", vec!["admin"])?
            .set_default("auth.cache_ttl_secs", 5)?
            .set_default("auth.cache_capacity", 10_000)?
            .set_default("pagination.default_limit", 1000)?
            .set_default("pagination.max_limit", 1000)?
            .set_default("sync.tombstone_retention_days", 30)?
            .set_default("sync.purge_interval_secs", 3600)?
            .set_default("trash.retention_days", 30)?
            .set_default("changes.retention_days", 7)?
            .set_default("events.heartbeat_secs", 15)?
            .set_default("events.poll_interval_ms", 1000)?
            .set_default("events.max_streams_per_user", 10)?
            .set_default("events.max_streams", 10_000)?
            .set_default("webhooks.allow_hosts", Vec::<String>::new())?
            .set_default("webhooks.max_per_user", 20)?
            .set_default("webhooks.max_failures", 10)?
            .set_default("webhooks.timeout_secs", 5)?
            .set_default("webhooks.secret_overlap_secs", 86_400)?
            .set_default("webhooks.poll_interval_ms", 1000)?
            .set_default("limits.lists_per_user", 1000)?
            .set_default("limits.members_per_list", 100)?
            .set_default("limits.open_tasks_per_list", 10_000)?
            .set_default("limits.nesting_depth", 5)?
            .set_default("rate_limit.enabled", true)?
            .set_default("rate_limit.reads_quota", 6000)?
            .set_default("rate_limit.reads_window_secs", 10)?
            .set_default("rate_limit.writes_quota", 3000)?
            .set_default("rate_limit.writes_window_secs", 10)?
            .set_default("rate_limit.auth_failures_quota", 100)?
            .set_default("rate_limit.auth_failures_window_secs", 60)?
            .set_default("rate_limit.address_reads_quota", 12_000)?
            .set_default("rate_limit.address_reads_window_secs", 10)?
            .set_default("rate_limit.address_writes_quota", 6000)?
            .set_default("rate_limit.address_writes_window_secs", 10)?
            .set_default("rate_limit.max_entries", 100_000)?
            .set_default("rate_limit.trusted_proxies", Vec::<String>::new())?
            .set_default("log.format", if dev { "pretty" } else { "json" })?
            .add_source(config::File::from(dir.join("default")).required(false))
            .add_source(config::File::from(dir.join(profile.as_str())).required(false));
        if let Some(source) = env_source {
            builder = builder.add_source(source);
        }
        for (plain, key) in [
            ("DATABASE_URL", "database.url"),
            ("DATABASE_DIRECT_URL", "database.direct_url"),
            ("BETTER_AUTH_SECRET", "auth.secret"),
            ("BETTER_AUTH_URL", "auth.better_auth_url"),
            ("ADMIN_USER_ID", "auth.admin_user_id"),
            ("HOST", "http.host"),
        ] {
            if let Some(value) = env.var(plain) {
                builder = builder.set_override(key, value)?;
            }
        }
        if let Some(port) = env.var("PORT") {
            let port: u16 = port
                .trim()
                .parse()
                .map_err(|_| invalid("PORT", format!("`{port}` is not a port number (0-65535)")))?;
            builder = builder.set_override("http.port", port)?;
        }
        if let Some(origins) = env.var("CORS_ORIGINS") {
            let list: Vec<String> = origins
                .split(',')
                .map(|o| o.trim().to_owned())
                .filter(|o| !o.is_empty())
                .collect();
            builder = builder.set_override("http.cors_origins", list)?;
        }
        let mut settings: Settings = builder.build()?.try_deserialize()?;
        settings.finish()?;
        Ok(settings)
    }

    /// Cross-field checks and profile rules.
    fn finish(&mut self) -> Result<(), SettingsError> {
        match (&self.auth.secret, self.profile) {
            (Some(secret), Profile::Production) if secret.expose().len() < MIN_SECRET_BYTES => {
                return Err(invalid(
                    "BETTER_AUTH_SECRET",
                    format!("must be at least {MIN_SECRET_BYTES} bytes in production"),
                ));
            }
            (None, Profile::Production) if self.auth.hs256_enabled => {
                return Err(invalid(
                    "BETTER_AUTH_SECRET",
                    "is required in production (at least 32 bytes)",
                ));
            }
            (None, Profile::Dev) => {
                self.auth.secret = Some(Secret::new(DEV_SECRET));
            }
            _ => {}
        }
        if self.profile == Profile::Production && self.http.cors_origins.iter().any(|o| o == "*") {
            return Err(invalid(
                "http.cors_origins",
                "`*` is only allowed in the dev profile; list the frontend's origin",
            ));
        }
        if self.pagination.max_limit == 0 {
            return Err(invalid("pagination.max_limit", "must be at least 1"));
        }
        if self.pagination.default_limit == 0
            || self.pagination.default_limit > self.pagination.max_limit
        {
            return Err(invalid(
                "pagination.default_limit",
                "must be between 1 and pagination.max_limit",
            ));
        }
        if self.database.max_connections == 0 {
            return Err(invalid("database.max_connections", "must be at least 1"));
        }
        if !(1..=3650).contains(&self.sync.tombstone_retention_days) {
            return Err(invalid(
                "sync.tombstone_retention_days",
                "must be between 1 and 3650",
            ));
        }
        if self.sync.purge_interval_secs == 0 {
            return Err(invalid("sync.purge_interval_secs", "must be at least 1"));
        }
        if !(1..=3650).contains(&self.trash.retention_days) {
            return Err(invalid(
                "trash.retention_days",
                "must be between 1 and 3650",
            ));
        }
        if !(1..=3650).contains(&self.changes.retention_days) {
            return Err(invalid(
                "changes.retention_days",
                "must be between 1 and 3650",
            ));
        }
        for (key, value, range) in [
            ("webhooks.timeout_secs", self.webhooks.timeout_secs, 1..=60),
            (
                "webhooks.secret_overlap_secs",
                self.webhooks.secret_overlap_secs,
                0..=30 * 86_400,
            ),
            (
                "webhooks.poll_interval_ms",
                self.webhooks.poll_interval_ms,
                10..=60_000,
            ),
        ] {
            if !range.contains(&value) {
                return Err(invalid(
                    key,
                    format!("must be between {} and {}", range.start(), range.end()),
                ));
            }
        }
        if !(1..=3600).contains(&self.events.heartbeat_secs) {
            return Err(invalid(
                "events.heartbeat_secs",
                "must be between 1 and 3600",
            ));
        }
        for (key, value, min) in [
            (
                "events.max_streams_per_user",
                self.events.max_streams_per_user,
                1,
            ),
            ("events.max_streams", self.events.max_streams, 1),
            ("webhooks.max_per_user", self.webhooks.max_per_user, 1),
            ("webhooks.max_failures", self.webhooks.max_failures, 1),
            ("limits.lists_per_user", self.limits.lists_per_user, 1),
            ("limits.members_per_list", self.limits.members_per_list, 1),
            (
                "limits.open_tasks_per_list",
                self.limits.open_tasks_per_list,
                1,
            ),
            ("limits.nesting_depth", self.limits.nesting_depth, 1),
        ] {
            if value < min {
                return Err(invalid(key, format!("must be at least {min}")));
            }
        }
        for (key, value) in [
            ("http.head_timeout_ms", self.http.head_timeout_ms),
            ("http.body_timeout_ms", self.http.body_timeout_ms),
        ] {
            if value == 0 {
                return Err(invalid(key, "must be at least 1 ms"));
            }
        }
        if self.http.body_limit < 1024 {
            return Err(invalid("http.body_limit", "must be at least 1024 bytes"));
        }
        self.check_rate_limits()
    }

    fn check_rate_limits(&self) -> Result<(), SettingsError> {
        let r = &self.rate_limit;
        for (key, quota, window) in [
            ("rate_limit.reads", r.reads_quota, r.reads_window_secs),
            ("rate_limit.writes", r.writes_quota, r.writes_window_secs),
            (
                "rate_limit.auth_failures",
                r.auth_failures_quota,
                r.auth_failures_window_secs,
            ),
            (
                "rate_limit.address_reads",
                r.address_reads_quota,
                r.address_reads_window_secs,
            ),
            (
                "rate_limit.address_writes",
                r.address_writes_quota,
                r.address_writes_window_secs,
            ),
        ] {
            if quota == 0 {
                return Err(invalid(&format!("{key}_quota"), "must be at least 1"));
            }
            if window == 0 {
                return Err(invalid(&format!("{key}_window_secs"), "must be at least 1"));
            }
        }
        if r.max_entries == 0 {
            return Err(invalid("rate_limit.max_entries", "must be at least 1"));
        }
        if let Some(bad) = r
            .trusted_proxies
            .iter()
            .find(|p| p.trim().parse::<std::net::IpAddr>().is_err())
        {
            return Err(invalid(
                "rate_limit.trusted_proxies",
                format!("`{bad}` is not an IP address"),
            ));
        }
        Ok(())
    }

    /// How long the trash keeps a deleted task or list (`trash.retention_days`).
    #[must_use]
    pub fn trash_retention(&self) -> chrono::TimeDelta {
        chrono::TimeDelta::days(i64::from(self.trash.retention_days))
    }

    /// How long the change log keeps a change (`changes.retention_days`).
    #[must_use]
    pub fn change_retention(&self) -> chrono::TimeDelta {
        chrono::TimeDelta::days(i64::from(self.changes.retention_days))
    }

    /// The event stream's settings; a stream's credential is checked again as often as
    /// the credential cache forgets it.
    #[must_use]
    pub fn events(&self) -> todo_application::EventSettings {
        todo_application::EventSettings {
            heartbeat: std::time::Duration::from_secs(self.events.heartbeat_secs),
            recheck: std::time::Duration::from_secs(self.auth.cache_ttl_secs.max(1)),
            max_streams_per_user: self.events.max_streams_per_user,
            max_streams: self.events.max_streams,
            idle_poll: std::time::Duration::from_millis(self.events.poll_interval_ms.max(1)),
            ..todo_application::EventSettings::default()
        }
    }

    /// `webhooks.allow_hosts`, as both the service (which targets may be http) and the
    /// sender (whose addresses are not judged) take it.
    fn webhook_hosts(&self) -> todo_domain::webhook::AllowedHosts {
        todo_domain::webhook::AllowedHosts::new(self.webhooks.allow_hosts.iter().cloned())
    }

    /// The webhooks' rules for the service that manages them.
    #[must_use]
    pub fn webhooks(&self) -> todo_application::WebhookSettings {
        todo_application::WebhookSettings {
            max_per_user: self.webhooks.max_per_user,
            allowed: self.webhook_hosts(),
            secret_overlap: chrono::TimeDelta::seconds(
                i64::try_from(self.webhooks.secret_overlap_secs).unwrap_or(i64::MAX),
            ),
        }
    }

    /// How deliveries go out.
    #[must_use]
    pub fn webhook_sender(&self) -> todo_webhooks::SenderSettings {
        todo_webhooks::SenderSettings {
            timeout: std::time::Duration::from_secs(self.webhooks.timeout_secs),
            allowed: self.webhook_hosts(),
        }
    }

    /// How deliveries are paced; a claim, renewed before each delivery, outlasts one
    /// delivery (twice the timeout, and 5 s for the store's writes).
    #[must_use]
    pub fn webhook_dispatch(&self) -> todo_application::DispatchSettings {
        todo_application::DispatchSettings {
            max_failures: self.webhooks.max_failures,
            lease: std::time::Duration::from_secs(self.webhooks.timeout_secs * 2 + 5),
            ..todo_application::DispatchSettings::default()
        }
    }

    /// The URL of the connection that `LISTEN`s (PostgreSQL).
    #[must_use]
    pub fn listen_url(&self) -> &str {
        self.database
            .direct_url
            .as_ref()
            .unwrap_or(&self.database.url)
            .expose()
    }

    /// The limits the services apply.
    #[must_use]
    pub fn limits(&self) -> todo_application::Limits {
        todo_application::Limits {
            lists_per_user: self.limits.lists_per_user,
            members_per_list: self.limits.members_per_list,
            open_tasks_per_list: self.limits.open_tasks_per_list,
            nesting_depth: self.limits.nesting_depth,
        }
    }

    /// The request budgets, as the HTTP layer takes them.
    #[must_use]
    pub fn rate_limits(&self) -> todo_http::RateLimitSettings {
        let r = &self.rate_limit;
        let policy = |quota, secs| todo_http::Policy {
            quota,
            window: Duration::from_secs(secs),
        };
        todo_http::RateLimitSettings {
            enabled: r.enabled,
            reads: policy(r.reads_quota, r.reads_window_secs),
            writes: policy(r.writes_quota, r.writes_window_secs),
            auth_failures: policy(r.auth_failures_quota, r.auth_failures_window_secs),
            address_reads: policy(r.address_reads_quota, r.address_reads_window_secs),
            address_writes: policy(r.address_writes_quota, r.address_writes_window_secs),
            max_entries: r.max_entries,
            trusted_proxies: r
                .trusted_proxies
                .iter()
                .filter_map(|p| p.trim().parse().ok())
                .collect(),
        }
    }

    /// The JWKS endpoint, when one is configured or derivable from `BETTER_AUTH_URL`.
    #[must_use]
    pub fn jwks_url(&self) -> Option<String> {
        self.auth.jwks_url.clone().or_else(|| {
            self.auth
                .better_auth_url
                .as_deref()
                .map(|base| format!("{}/api/auth/jwks", base.trim_end_matches('/')))
        })
    }

    /// Required `iss` of JWKS-verified tokens (`""` in the settings disables the check).
    #[must_use]
    pub fn jwt_issuer(&self) -> Option<String> {
        pick(&self.auth.jwt_issuer, &self.auth.better_auth_url)
    }

    /// Required `aud` of JWKS-verified tokens (`""` in the settings disables the check).
    #[must_use]
    pub fn jwt_audience(&self) -> Option<String> {
        pick(&self.auth.jwt_audience, &self.auth.better_auth_url)
    }

    /// Whether the secret is the built-in development one.
    #[must_use]
    pub fn uses_dev_secret(&self) -> bool {
        self.auth
            .secret
            .as_ref()
            .is_some_and(|s| s.expose() == DEV_SECRET)
    }

    #[must_use]
    pub fn pool(&self) -> todo_persistence::PoolSettings {
        let d = &self.database;
        let secs = |s: u64| (s > 0).then(|| Duration::from_secs(s));
        todo_persistence::PoolSettings {
            max_connections: d.max_connections,
            min_connections: d.min_connections.min(d.max_connections),
            acquire_timeout: Duration::from_millis(d.acquire_timeout_ms.max(1)),
            idle_timeout: secs(d.idle_timeout_secs),
            max_lifetime: secs(d.max_lifetime_secs),
        }
    }
}

fn pick(explicit: &Option<String>, base: &Option<String>) -> Option<String> {
    match explicit {
        Some(value) if value.is_empty() => None,
        Some(value) => Some(value.clone()),
        None => base.as_deref().map(|b| b.trim_end_matches('/').to_owned()),
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn nowhere() -> PathBuf {
        PathBuf::from("/nonexistent-config-dir")
    }

    #[test]
    fn the_dev_profile_needs_no_configuration() {
        let s = Settings::build(&[], &nowhere(), None).unwrap();
        assert_eq!(s.profile, Profile::Dev);
        assert_eq!(s.http.host, "127.0.0.1");
        assert_eq!(s.http.port, 8000);
        assert_eq!(s.database.url.expose(), "sqlite://data/todo.db?mode=rwc");
        assert!(s.uses_dev_secret());
        assert_eq!(s.http.cors_origins, vec!["*".to_owned()]);
        assert_eq!(s.log.format, LogFormat::Pretty);
        assert_eq!(s.pagination.max_limit, 1000);
    }

    #[test]
    fn the_seed_plain_names_are_honoured() {
        let env = [
            (
                "DATABASE_URL",
                "postgresql+asyncpg://u:p@db/app?sslmode=require",
            ),
            ("BETTER_AUTH_SECRET", "0123456789abcdef0123456789abcdef"),
            ("ADMIN_USER_ID", "boss"),
            ("PORT", "9000"),
            ("HOST", "0.0.0.0"),
            (
                "CORS_ORIGINS",
                "https://app.example.com, https://www.example.com",
            ),
        ];
        let s = Settings::build(&env, &nowhere(), None).unwrap();
        assert_eq!(
            s.database.url.expose(),
            "postgresql+asyncpg://u:p@db/app?sslmode=require"
        );
        assert_eq!(s.auth.admin_user_id.as_deref(), Some("boss"));
        assert_eq!(s.http.port, 9000);
        assert_eq!(s.http.host, "0.0.0.0");
        assert_eq!(
            s.http.cors_origins,
            vec!["https://app.example.com", "https://www.example.com"]
        );
        assert!(!s.uses_dev_secret());
    }

    #[test]
    fn production_refuses_to_start_without_a_strong_secret() {
        let err = Settings::build(&[("TODO_PROFILE", "production")], &nowhere(), None).unwrap_err();
        assert!(err.to_string().contains("BETTER_AUTH_SECRET"), "{err}");
        let err = Settings::build(
            &[
                ("TODO_PROFILE", "production"),
                ("BETTER_AUTH_SECRET", "short"),
            ],
            &nowhere(),
            None,
        )
        .unwrap_err();
        assert!(err.to_string().contains("at least 32 bytes"), "{err}");
        let s = Settings::build(
            &[
                ("TODO_PROFILE", "production"),
                ("BETTER_AUTH_SECRET", "0123456789abcdef0123456789abcdef"),
            ],
            &nowhere(),
            None,
        )
        .unwrap();
        assert_eq!(s.log.format, LogFormat::Json);
        assert!(s.http.cors_origins.is_empty());
    }

    #[test]
    fn connection_limits_default_sanely_and_production_waits_for_load_balancers() {
        let dev = Settings::build(&[], &nowhere(), None).unwrap();
        assert_eq!(
            dev.http.shutdown_delay_ms, 0,
            "Ctrl-C stops a dev server at once"
        );
        assert_eq!(dev.http.head_timeout_ms, 5000);
        assert_eq!(dev.http.body_timeout_ms, 10_000);
        assert_eq!(dev.http.keep_alive_secs, 5);
        assert_eq!(dev.http.max_connections_per_worker, 0, "derived");
        let production = Settings::build(
            &[
                ("TODO_PROFILE", "production"),
                ("BETTER_AUTH_SECRET", "0123456789abcdef0123456789abcdef"),
            ],
            &nowhere(),
            None,
        )
        .unwrap();
        assert_eq!(production.http.shutdown_delay_ms, 5000);
        let dir = std::env::temp_dir().join(format!("todo-settings-{}", uuid::Uuid::now_v7()));
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(dir.join("dev.toml"), "[http]\nbody_timeout_ms = 0\n").unwrap();
        let err = Settings::build(&[], &dir, None).unwrap_err();
        assert!(err.to_string().contains("http.body_timeout_ms"), "{err}");
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn errors_name_the_key() {
        let err = Settings::build(&[("PORT", "eighty")], &nowhere(), None).unwrap_err();
        assert!(err.to_string().contains("`PORT`"), "{err}");
        let err = Settings::build(&[("TODO_PROFILE", "staging")], &nowhere(), None).unwrap_err();
        assert!(err.to_string().contains("TODO_PROFILE"), "{err}");
    }

    #[test]
    fn rate_limits_default_to_the_http_layer_defaults_and_are_checked() {
        let s = Settings::build(&[], &nowhere(), None).unwrap();
        assert_eq!(s.rate_limits(), todo_http::RateLimitSettings::default());
        let dir = std::env::temp_dir().join(format!("todo-settings-{}", uuid::Uuid::now_v7()));
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(
            dir.join("dev.toml"),
            "[rate_limit]\nreads_quota = 5\naddress_writes_quota = 7\naddress_writes_window_secs = 3\ntrusted_proxies = [\"10.0.0.1\"]\n",
        )
        .unwrap();
        let limits = Settings::build(&[], &dir, None).unwrap().rate_limits();
        assert_eq!(limits.reads.quota, 5);
        assert_eq!(
            limits.address_writes,
            todo_http::Policy {
                quota: 7,
                window: Duration::from_secs(3)
            }
        );
        assert_eq!(
            limits.trusted_proxies,
            vec![std::net::IpAddr::from([10, 0, 0, 1])]
        );
        for (toml, key) in [
            (
                "[rate_limit]\nwrites_quota = 0\n",
                "rate_limit.writes_quota",
            ),
            (
                "[rate_limit]\nauth_failures_window_secs = 0\n",
                "rate_limit.auth_failures_window_secs",
            ),
            (
                "[rate_limit]\naddress_reads_quota = 0\n",
                "rate_limit.address_reads_quota",
            ),
            (
                "[rate_limit]\ntrusted_proxies = [\"proxy\"]\n",
                "rate_limit.trusted_proxies",
            ),
        ] {
            std::fs::write(dir.join("dev.toml"), toml).unwrap();
            let err = Settings::build(&[], &dir, None).unwrap_err();
            assert!(err.to_string().contains(key), "{err}");
        }
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn sync_retention_defaults_to_30_days_and_is_checked() {
        let s = Settings::build(&[], &nowhere(), None).unwrap();
        assert_eq!(s.sync.tombstone_retention_days, 30);
        assert_eq!(s.sync.purge_interval_secs, 3600);
        let dir = std::env::temp_dir().join(format!("todo-settings-{}", uuid::Uuid::now_v7()));
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(
            dir.join("dev.toml"),
            "[sync]\ntombstone_retention_days = 7\n",
        )
        .unwrap();
        assert_eq!(
            Settings::build(&[], &dir, None)
                .unwrap()
                .sync
                .tombstone_retention_days,
            7
        );
        for (toml, key) in [
            (
                "[sync]\ntombstone_retention_days = 0\n",
                "sync.tombstone_retention_days",
            ),
            (
                "[sync]\npurge_interval_secs = 0\n",
                "sync.purge_interval_secs",
            ),
        ] {
            std::fs::write(dir.join("dev.toml"), toml).unwrap();
            let err = Settings::build(&[], &dir, None).unwrap_err();
            assert!(err.to_string().contains(key), "{err}");
        }
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn trash_retention_defaults_to_30_days_and_is_checked() {
        let s = Settings::build(&[], &nowhere(), None).unwrap();
        assert_eq!(s.trash.retention_days, 30);
        assert_eq!(s.trash_retention(), chrono::TimeDelta::days(30));
        let dir = std::env::temp_dir().join(format!("todo-settings-{}", uuid::Uuid::now_v7()));
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(dir.join("dev.toml"), "[trash]\nretention_days = 7\n").unwrap();
        assert_eq!(
            Settings::build(&[], &dir, None).unwrap().trash_retention(),
            chrono::TimeDelta::days(7)
        );
        for toml in [
            "[trash]\nretention_days = 0\n",
            "[trash]\nretention_days = 3651\n",
        ] {
            std::fs::write(dir.join("dev.toml"), toml).unwrap();
            let err = Settings::build(&[], &dir, None).unwrap_err();
            assert!(err.to_string().contains("trash.retention_days"), "{err}");
        }
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn webhooks_default_as_documented_and_are_checked() {
        let s = Settings::build(&[], &nowhere(), None).unwrap();
        assert_eq!(
            (
                s.webhooks.allow_hosts.len(),
                s.webhooks.max_per_user,
                s.webhooks.max_failures,
                s.webhooks.timeout_secs,
                s.webhooks.secret_overlap_secs,
                s.webhooks.poll_interval_ms
            ),
            (0, 20, 10, 5, 86_400, 1000)
        );
        assert_eq!(s.webhooks().secret_overlap, chrono::TimeDelta::days(1));
        assert_eq!(s.webhook_dispatch().max_failures, 10);
        assert_eq!(
            s.webhook_dispatch().lease,
            std::time::Duration::from_secs(15)
        );
        let dir = std::env::temp_dir().join(format!("todo-settings-{}", uuid::Uuid::now_v7()));
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(
            dir.join("dev.toml"),
            "[webhooks]\nallow_hosts = [\"127.0.0.1\", \"Hooks.Internal\"]\nmax_failures = 3\n",
        )
        .unwrap();
        let s = Settings::build(&[], &dir, None).unwrap();
        let allowed = s.webhook_sender().allowed;
        assert!(allowed.allows("127.0.0.1") && allowed.allows("hooks.internal"));
        assert!(!allowed.allows("example.com"));
        assert_eq!(s.webhook_dispatch().max_failures, 3);
        for (key, value) in [
            ("timeout_secs", "0"),
            ("timeout_secs", "61"),
            ("max_failures", "0"),
            ("max_per_user", "0"),
            ("poll_interval_ms", "5"),
            ("secret_overlap_secs", "2592001"),
        ] {
            std::fs::write(
                dir.join("dev.toml"),
                format!("[webhooks]\n{key} = {value}\n"),
            )
            .unwrap();
            let err = Settings::build(&[], &dir, None).unwrap_err();
            assert!(
                err.to_string().contains(&format!("webhooks.{key}")),
                "{key}={value}: {err}"
            );
        }
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn limits_default_as_documented_and_are_configurable() {
        let s = Settings::build(&[], &nowhere(), None).unwrap();
        assert_eq!(s.limits(), todo_application::Limits::default());
        assert_eq!(
            (
                s.limits.lists_per_user,
                s.limits.members_per_list,
                s.limits.open_tasks_per_list,
                s.limits.nesting_depth
            ),
            (1000, 100, 10_000, 5)
        );
        let dir = std::env::temp_dir().join(format!("todo-settings-{}", uuid::Uuid::now_v7()));
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(
            dir.join("dev.toml"),
            "[limits]\nlists_per_user = 3\nmembers_per_list = 2\nopen_tasks_per_list = 7\nnesting_depth = 2\n",
        )
        .unwrap();
        let limits = Settings::build(&[], &dir, None).unwrap().limits();
        assert_eq!(
            limits,
            todo_application::Limits {
                lists_per_user: 3,
                members_per_list: 2,
                open_tasks_per_list: 7,
                nesting_depth: 2,
            }
        );
        std::fs::write(dir.join("dev.toml"), "[limits]\nnesting_depth = 0\n").unwrap();
        let err = Settings::build(&[], &dir, None).unwrap_err();
        assert!(err.to_string().contains("limits.nesting_depth"), "{err}");
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn files_and_prefixed_variables_layer_over_defaults() {
        let dir = std::env::temp_dir().join(format!("todo-settings-{}", uuid::Uuid::now_v7()));
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(
            dir.join("default.toml"),
            "[http]\nport = 7000\nbody_limit = 2048\n",
        )
        .unwrap();
        std::fs::write(dir.join("dev.toml"), "[http]\nport = 7001\n").unwrap();
        let s = Settings::build(&[], &dir, None).unwrap();
        assert_eq!(s.http.port, 7001, "the profile file wins over default.toml");
        assert_eq!(s.http.body_limit, 2048);
        let s = Settings::build(&[("PORT", "7002")], &dir, None).unwrap();
        assert_eq!(s.http.port, 7002, "plain env names win over files");
        std::fs::write(dir.join("dev.toml"), "[http]\nport = \"not a number\"\n").unwrap();
        let err = Settings::build(&[], &dir, None).unwrap_err();
        assert!(err.to_string().contains("http.port"), "{err}");
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn jwks_settings_derive_from_better_auth_url() {
        let s = Settings::build(
            &[("BETTER_AUTH_URL", "https://auth.example.com/")],
            &nowhere(),
            None,
        )
        .unwrap();
        assert_eq!(
            s.jwks_url().as_deref(),
            Some("https://auth.example.com/api/auth/jwks")
        );
        assert_eq!(s.jwt_issuer().as_deref(), Some("https://auth.example.com"));
        assert_eq!(
            s.jwt_audience().as_deref(),
            Some("https://auth.example.com")
        );
        let s = Settings::build(&[], &nowhere(), None).unwrap();
        assert_eq!(s.jwks_url(), None);
        assert_eq!(s.auth.jwks_source, JwksSourceKind::Url);
    }

    #[test]
    fn secrets_do_not_leak_through_debug() {
        let s = Settings::build(
            &[
                ("BETTER_AUTH_SECRET", "super-secret-value-0123456789abcdef"),
                ("DATABASE_URL", "postgres://u:hunter2@h/d"),
            ],
            &nowhere(),
            None,
        )
        .unwrap();
        let text = format!("{s:?}");
        assert!(!text.contains("super-secret-value"));
        assert!(!text.contains("hunter2"));
    }
}
