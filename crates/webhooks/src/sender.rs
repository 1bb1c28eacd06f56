//! The HTTP client webhooks go out through.
//!
//! The target's host is resolved when the delivery is sent (a name that pointed outside
//! yesterday may point inside today), by the resolver the client connects with, so the
//! addresses judged are the addresses connected to: there is no second lookup an attacker
//! could answer differently. A host given as an address is judged before anything is
//! sent. Redirects are not followed (a redirect could point inside); an answer's body is
//! not read.

use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use std::time::{Duration, Instant};

use async_trait::async_trait;
use reqwest::dns::{Addrs, Name, Resolve, Resolving};
use todo_application::ports::{AttemptOutcome, DeliveryAttempt, OutgoingWebhook, WebhookSender};
use todo_domain::webhook::{AllowedHosts, forbidden_address};

use crate::sign::sign;

/// How deliveries are sent.
#[derive(Debug, Clone)]
pub struct SenderSettings {
    /// The whole attempt: connecting, sending, the answer's head.
    pub timeout: Duration,
    /// Hosts whose addresses are not judged (and that may be reached over plain HTTP).
    pub allowed: AllowedHosts,
}

impl Default for SenderSettings {
    fn default() -> Self {
        Self {
            timeout: Duration::from_secs(5),
            allowed: AllowedHosts::default(),
        }
    }
}

/// Why a delivery was refused before it was sent; the resolver's error carries it to
/// [`HttpWebhookSender::send`] through reqwest's error chain.
#[derive(Debug)]
struct Refused(String);

impl std::fmt::Display for Refused {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for Refused {}

/// Resolves a host and keeps only what a webhook may reach: every address of a host that
/// is not allowed must be outside the network, or the delivery is refused (one address
/// inside is enough to refuse: which one a connection would use is not ours to choose).
struct GuardedResolver {
    allowed: AllowedHosts,
}

impl Resolve for GuardedResolver {
    fn resolve(&self, name: Name) -> Resolving {
        let host = name.as_str().to_owned();
        let allowed = self.allowed.allows(&host);
        Box::pin(async move {
            let refused = |why: String| -> Box<dyn std::error::Error + Send + Sync> {
                Box::new(Refused(why))
            };
            let addrs: Vec<SocketAddr> = tokio::net::lookup_host((host.as_str(), 0))
                .await
                .map_err(|e| refused(format!("{host} does not resolve: {e}")))?
                .collect();
            if addrs.is_empty() {
                return Err(refused(format!("{host} has no address")));
            }
            if !allowed {
                for addr in &addrs {
                    if let Some(why) = forbidden_address(addr.ip()) {
                        return Err(refused(format!("{host} resolves to {} ({why})", addr.ip())));
                    }
                }
            }
            let addrs: Addrs = Box::new(addrs.into_iter());
            Ok(addrs)
        })
    }
}

/// Sends webhook deliveries over HTTP(S) (rustls, the Mozilla roots). The client (its TLS
/// roots and connection pool) is built at the first delivery: a process whose users have
/// no webhook never holds it.
pub struct HttpWebhookSender {
    settings: SenderSettings,
    client: std::sync::OnceLock<Result<reqwest::Client, String>>,
}

impl HttpWebhookSender {
    #[must_use]
    pub fn new(settings: SenderSettings) -> Self {
        Self {
            settings,
            client: std::sync::OnceLock::new(),
        }
    }

    fn client(&self) -> Result<&reqwest::Client, String> {
        self.client
            .get_or_init(|| build_client(&self.settings))
            .as_ref()
            .map_err(Clone::clone)
    }

    /// Why a host given as an address may not be reached (a name is judged when it is
    /// resolved).
    fn refuse_address(&self, host: &str) -> Option<String> {
        let ip: IpAddr = host.parse().ok()?;
        if self.settings.allowed.allows(host) {
            return None;
        }
        forbidden_address(ip).map(|why| format!("{ip} is {why}"))
    }
}

/// The client: rustls with the Mozilla roots, the guarded resolver, no redirects.
fn build_client(settings: &SenderSettings) -> Result<reqwest::Client, String> {
    let mut roots = rustls::RootCertStore::empty();
    roots.extend(webpki_roots::TLS_SERVER_ROOTS.iter().cloned());
    let tls = rustls::ClientConfig::builder_with_provider(Arc::new(
        rustls::crypto::ring::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .map_err(|e| format!("TLS setup failed: {e}"))?
    .with_root_certificates(roots)
    .with_no_client_auth();
    reqwest::Client::builder()
        .tls_backend_preconfigured(tls)
        .timeout(settings.timeout)
        .connect_timeout(settings.timeout)
        .redirect(reqwest::redirect::Policy::none())
        .dns_resolver(Arc::new(GuardedResolver {
            allowed: settings.allowed.clone(),
        }))
        .user_agent(concat!("todo-webhooks/", env!("CARGO_PKG_VERSION")))
        .build()
        .map_err(|e| format!("HTTP client setup failed: {e}"))
}

/// The innermost reason an attempt failed, and whether it was a refusal.
fn explain(err: &reqwest::Error) -> (AttemptOutcome, String) {
    let mut source: Option<&(dyn std::error::Error + 'static)> = Some(err);
    let mut innermost = err.to_string();
    while let Some(e) = source {
        if let Some(refused) = e.downcast_ref::<Refused>() {
            return (AttemptOutcome::Refused, refused.0.clone());
        }
        innermost = e.to_string();
        source = e.source();
    }
    let what = if err.is_timeout() {
        "timed out".to_owned()
    } else if err.is_connect() {
        format!("could not connect: {innermost}")
    } else {
        innermost
    };
    (AttemptOutcome::Failed, what)
}

fn attempt(
    outcome: AttemptOutcome,
    status: Option<u16>,
    started: Instant,
    error: Option<String>,
) -> DeliveryAttempt {
    DeliveryAttempt {
        outcome,
        status,
        duration_ms: u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX),
        error,
    }
}

#[async_trait]
impl WebhookSender for HttpWebhookSender {
    async fn send(&self, delivery: &OutgoingWebhook) -> DeliveryAttempt {
        let started = Instant::now();
        let url = &delivery.url;
        if let Some(why) = self.refuse_address(url.host()) {
            return attempt(AttemptOutcome::Refused, None, started, Some(why));
        }
        let signature = match sign(
            &delivery.secrets,
            &delivery.id,
            delivery.timestamp,
            &delivery.body,
        ) {
            Ok(signature) => signature,
            Err(err) => {
                return attempt(AttemptOutcome::Failed, None, started, Some(err.to_string()));
            }
        };
        let client = match self.client() {
            Ok(client) => client,
            Err(why) => return attempt(AttemptOutcome::Failed, None, started, Some(why)),
        };
        let sent = client
            .post(url.as_str())
            .header("content-type", "application/json")
            .header("webhook-id", &delivery.id)
            .header("webhook-timestamp", delivery.timestamp.to_string())
            .header("webhook-signature", signature)
            .body(delivery.body.clone())
            .send()
            .await;
        match sent {
            Ok(answer) => {
                let status = answer.status();
                // The body is not read: dropping the answer closes or reuses the
                // connection without waiting for it.
                drop(answer);
                if status.is_success() {
                    attempt(
                        AttemptOutcome::Delivered,
                        Some(status.as_u16()),
                        started,
                        None,
                    )
                } else {
                    let why = if status.is_redirection() {
                        format!("answered {status} (redirects are not followed)")
                    } else {
                        format!("answered {status}")
                    };
                    attempt(
                        AttemptOutcome::Failed,
                        Some(status.as_u16()),
                        started,
                        Some(why),
                    )
                }
            }
            Err(err) => {
                let (outcome, why) = explain(&err);
                attempt(outcome, None, started, Some(why))
            }
        }
    }
}
