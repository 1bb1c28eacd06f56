//! Webhooks' rules: where one may point, which events it takes, which addresses it may
//! never reach, and when a failed delivery is tried again.
//!
//! No I/O: the delivery adapter resolves the target's host and asks
//! [`forbidden_address`] about each address before it connects; it asks
//! [`retry_delay`] when to try again and [`should_disable`] when to stop.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::time::Duration;

use crate::{
    ChangeCursor, ChangeKind, ChangeRecord, DomainError, InvalidReason, ListId, Timestamp, UserId,
};

/// The most webhooks one user may have, unless configured otherwise.
pub const DEFAULT_MAX_PER_USER: u32 = 20;

crate::ids::uuid_id!(
    /// A webhook's id (UUID v7).
    WebhookId,
    "webhook_id"
);

crate::ids::uuid_id!(
    /// One delivery attempt's id (UUID v7).
    DeliveryId,
    "delivery_id"
);

/// What one delivery carries: a change from the log, or a ping its owner sent to try the
/// webhook.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DeliveryEvent {
    Change {
        cursor: ChangeCursor,
        kind: ChangeKind,
    },
    Ping,
}

impl DeliveryEvent {
    /// The event kind a ping's body and its deliveries name.
    pub const PING: &'static str = "ping";

    /// The event kind, as bodies and the deliveries log name it.
    #[must_use]
    pub const fn kind_name(&self) -> &'static str {
        match self {
            Self::Change { kind, .. } => kind.as_str(),
            Self::Ping => Self::PING,
        }
    }

    /// The `webhook-id` delivery `delivery` is sent with: a change's is the same for every
    /// attempt (a receiver tells a repeat by it), a ping's is its own.
    #[must_use]
    pub fn message_id(&self, delivery: DeliveryId) -> String {
        match self {
            Self::Change { cursor, .. } => change_message_id(*cursor),
            Self::Ping => format!("ping_{delivery}"),
        }
    }
}

/// The `webhook-id` of every delivery of the change at `cursor`.
#[must_use]
pub fn change_message_id(cursor: ChangeCursor) -> String {
    format!("evt_{cursor}")
}

/// A user's webhook: where the changes they may see go. The signing secret is not part of
/// it (it is shown once, and otherwise only the store and the sender hold it).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Webhook {
    pub id: WebhookId,
    pub owner: UserId,
    pub url: TargetUrl,
    pub events: EventKinds,
    /// Only this list's changes (its owner must be able to read it), or every list's.
    pub list: Option<ListId>,
    pub enabled: bool,
    /// Why the service disabled it (failures, a list no longer readable); `None` while
    /// enabled, or when its owner disabled it.
    pub disabled_reason: Option<String>,
    /// Consecutive failed deliveries.
    pub failures: u32,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
    pub version: i64,
}

impl Webhook {
    /// Whether it takes `record` (one its owner may see): a kind it asked for, in its list
    /// when it has one.
    #[must_use]
    pub fn takes(&self, record: &ChangeRecord) -> bool {
        self.events.includes(record.kind) && self.list.is_none_or(|list| record.list == Some(list))
    }
}

/// What a PATCH may change; `None` keeps the value.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct WebhookChanges {
    pub url: Option<TargetUrl>,
    pub events: Option<EventKinds>,
    pub list: Option<Option<ListId>>,
    pub enabled: Option<bool>,
}

impl Webhook {
    /// `self` with `changes` applied at `now`, its version advanced. Enabling a webhook
    /// the service disabled starts it afresh: no failures, no reason.
    #[must_use]
    pub fn apply(&self, changes: WebhookChanges, now: Timestamp) -> Self {
        let mut next = self.clone();
        if let Some(url) = changes.url {
            next.url = url;
        }
        if let Some(events) = changes.events {
            next.events = events;
        }
        if let Some(list) = changes.list {
            next.list = list;
        }
        if let Some(enabled) = changes.enabled {
            if enabled && !self.enabled {
                next.failures = 0;
                next.disabled_reason = None;
            }
            if !enabled {
                next.disabled_reason = None;
            }
            next.enabled = enabled;
        }
        next.updated_at = now;
        next.version = self.version + 1;
        next
    }
}

/// The longest target URL.
pub const MAX_URL_LEN: usize = 2_000;

/// The hosts a webhook may reach over plain HTTP, and whose addresses are not judged
/// (`webhooks.allow_hosts`: a test's receiver on 127.0.0.1, a service on the private
/// network the operator trusts). Compared without case.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AllowedHosts(Vec<String>);

impl AllowedHosts {
    #[must_use]
    pub fn new(hosts: impl IntoIterator<Item = impl Into<String>>) -> Self {
        Self(
            hosts
                .into_iter()
                .map(|h| {
                    h.into()
                        .trim()
                        .trim_matches(['[', ']'])
                        .to_ascii_lowercase()
                })
                .filter(|h| !h.is_empty())
                .collect(),
        )
    }

    /// Whether `host` (as a URL names it; IPv6 in brackets or not) is one of them.
    #[must_use]
    pub fn allows(&self, host: &str) -> bool {
        let host = host.trim_matches(['[', ']']).to_ascii_lowercase();
        self.0.contains(&host)
    }
}

/// Where a webhook delivers: an absolute `https` URL (or `http` to an allowed host),
/// without credentials or a fragment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TargetUrl {
    url: String,
    host: String,
    port: u16,
    https: bool,
}

impl TargetUrl {
    /// # Errors
    /// `DomainError::Invalid` for field `url`, saying what is wrong.
    pub fn parse(raw: &str, allowed: &AllowedHosts) -> Result<Self, DomainError> {
        let invalid = |reason: InvalidReason| DomainError::Invalid {
            field: "url",
            reason,
        };
        let detail = |text: &str| invalid(InvalidReason::Detail(text.to_owned()));
        let raw = raw.trim();
        if raw.is_empty() {
            return Err(invalid(InvalidReason::Empty));
        }
        if raw.chars().count() > MAX_URL_LEN {
            return Err(invalid(InvalidReason::TooLong { max: MAX_URL_LEN }));
        }
        if raw.chars().any(|c| c.is_control() || c.is_whitespace()) {
            return Err(invalid(InvalidReason::ControlCharacter));
        }
        let (scheme, rest) = raw
            .split_once("://")
            .ok_or_else(|| invalid(InvalidReason::Malformed("an absolute http(s) URL")))?;
        let https = match scheme.to_ascii_lowercase().as_str() {
            "https" => true,
            "http" => false,
            _ => return Err(detail("must use https")),
        };
        if rest.contains('#') {
            return Err(detail("must not have a fragment"));
        }
        let authority = rest.split(['/', '?']).next().unwrap_or_default();
        if authority.contains('@') {
            return Err(detail("must not carry credentials"));
        }
        let (host, port) = split_authority(authority)
            .ok_or_else(|| invalid(InvalidReason::Malformed("an absolute http(s) URL")))?;
        if !https && !allowed.allows(&host) {
            return Err(detail(
                "must use https (http only to a host in webhooks.allow_hosts)",
            ));
        }
        Ok(Self {
            url: raw.to_owned(),
            host,
            port: port.unwrap_or(if https { 443 } else { 80 }),
            https,
        })
    }

    /// A URL the store kept: it was parsed when it was written.
    #[must_use]
    pub fn from_stored(url: String) -> Self {
        let https = url.to_ascii_lowercase().starts_with("https://");
        let rest = url.split_once("://").map_or("", |(_, r)| r);
        let authority = rest.split(['/', '?']).next().unwrap_or_default();
        let (host, port) = split_authority(authority).unwrap_or_default();
        Self {
            port: port.unwrap_or(if https { 443 } else { 80 }),
            host,
            https,
            url,
        }
    }

    #[must_use]
    pub fn as_str(&self) -> &str {
        &self.url
    }

    /// The host, lower-case, IPv6 without brackets.
    #[must_use]
    pub fn host(&self) -> &str {
        &self.host
    }

    #[must_use]
    pub const fn port(&self) -> u16 {
        self.port
    }

    #[must_use]
    pub const fn is_https(&self) -> bool {
        self.https
    }
}

/// `host[:port]` or `[v6][:port]`: the host (lower-case, no brackets) and the port.
fn split_authority(authority: &str) -> Option<(String, Option<u16>)> {
    let (host, port) = if let Some(v6) = authority.strip_prefix('[') {
        let (host, after) = v6.split_once(']')?;
        host.parse::<Ipv6Addr>().ok()?;
        let port = match after {
            "" => None,
            p => Some(p.strip_prefix(':')?),
        };
        (host, port)
    } else {
        match authority.rsplit_once(':') {
            Some((host, port)) => (host, Some(port)),
            None => (authority, None),
        }
    };
    let valid_name = |h: &str| {
        !h.is_empty()
            && h.len() <= 253
            && h.split('.').all(|label| {
                !label.is_empty()
                    && label.len() <= 63
                    && label
                        .chars()
                        .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
            })
    };
    if !authority.starts_with('[') && !valid_name(host) {
        return None;
    }
    let port = match port {
        None => None,
        Some(p) => match p.parse::<u16>() {
            Ok(0) | Err(_) => return None,
            Ok(p) => Some(p),
        },
    };
    Some((host.to_ascii_lowercase(), port))
}

/// Why a delivery may never reach `address`, or `None` when it may: loopback, private,
/// link-local (the cloud metadata services live there), unique-local, multicast,
/// unspecified, broadcast, shared (carrier-grade NAT) and documentation ranges; an
/// IPv4 address inside IPv6 (mapped or NAT64) is judged as IPv4.
#[must_use]
pub fn forbidden_address(address: IpAddr) -> Option<&'static str> {
    match address {
        IpAddr::V4(v4) => forbidden_v4(v4),
        IpAddr::V6(v6) => {
            if let Some(v4) = v6.to_ipv4_mapped() {
                return forbidden_v4(v4);
            }
            let s = v6.segments();
            // NAT64 (64:ff9b::/96) reaches the IPv4 address in its last 32 bits.
            if s[..6] == [0x64, 0xff9b, 0, 0, 0, 0] {
                let [a, b] = s[6].to_be_bytes();
                let [c, d] = s[7].to_be_bytes();
                return forbidden_v4(Ipv4Addr::new(a, b, c, d));
            }
            if v6.is_loopback() {
                Some("loopback")
            } else if v6.is_unspecified() {
                Some("unspecified")
            } else if v6.is_multicast() {
                Some("multicast")
            } else if s[0] & 0xffc0 == 0xfe80 {
                Some("link-local")
            } else if s[0] & 0xfe00 == 0xfc00 {
                // fd00:ec2::254, AWS's metadata service over IPv6, is one of them.
                Some("unique-local")
            } else if s[0] == 0x2001 && s[1] == 0x0db8 {
                Some("documentation")
            } else {
                None
            }
        }
    }
}

fn forbidden_v4(v4: Ipv4Addr) -> Option<&'static str> {
    let [a, b, ..] = v4.octets();
    if v4 == Ipv4Addr::new(169, 254, 169, 254) {
        Some("cloud metadata")
    } else if v4.is_loopback() {
        Some("loopback")
    } else if v4.is_private() {
        Some("private")
    } else if v4.is_link_local() {
        Some("link-local")
    } else if v4.is_multicast() || a >= 240 {
        Some(if v4.is_broadcast() {
            "broadcast"
        } else if v4.is_multicast() {
            "multicast"
        } else {
            "reserved"
        })
    } else if a == 0 {
        Some("unspecified")
    } else if a == 100 && (64..128).contains(&b) {
        Some("shared (carrier-grade NAT)")
    } else if v4.is_documentation() || (a == 198 && (b == 18 || b == 19)) {
        Some("documentation or benchmarking")
    } else {
        None
    }
}

/// The event kinds a webhook takes: some of the change log's, or all of them. Named as
/// the event stream names them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EventKinds(Vec<ChangeKind>);

impl EventKinds {
    #[must_use]
    pub fn all() -> Self {
        Self(ChangeKind::ALL.to_vec())
    }

    /// # Errors
    /// `DomainError::Invalid` for field `events` when the list is empty or names a kind
    /// the service does not have.
    pub fn parse<S: AsRef<str>>(names: &[S]) -> Result<Self, DomainError> {
        if names.is_empty() {
            return Err(DomainError::Invalid {
                field: "events",
                reason: InvalidReason::Empty,
            });
        }
        let mut kinds = Vec::with_capacity(names.len());
        for name in names {
            let name = name.as_ref();
            let kind = ChangeKind::from_stored(name).ok_or_else(|| DomainError::Invalid {
                field: "events",
                reason: InvalidReason::Detail(format!(
                    "has an unknown event kind {name:?} (known: {})",
                    ChangeKind::ALL.map(ChangeKind::as_str).join(", ")
                )),
            })?;
            if !kinds.contains(&kind) {
                kinds.push(kind);
            }
        }
        kinds.sort_by_key(|k| ChangeKind::ALL.iter().position(|a| a == k));
        Ok(Self(kinds))
    }

    /// As the store keeps them: the names, comma-separated.
    #[must_use]
    pub fn to_stored(&self) -> String {
        self.0
            .iter()
            .map(|k| k.as_str())
            .collect::<Vec<_>>()
            .join(",")
    }

    /// Kinds the store kept (a name this version does not know is skipped).
    #[must_use]
    pub fn from_stored(stored: &str) -> Self {
        Self(
            ChangeKind::ALL
                .into_iter()
                .filter(|k| stored.split(',').any(|s| s == k.as_str()))
                .collect(),
        )
    }

    #[must_use]
    pub fn includes(&self, kind: ChangeKind) -> bool {
        self.0.contains(&kind)
    }

    #[must_use]
    pub fn kinds(&self) -> &[ChangeKind] {
        &self.0
    }
}

/// How long to wait before attempt `failures + 1`, after `failures` consecutive failed
/// ones: 5 s doubled per failure, up to 24 h, then spread by `jitter` (in `[0, 1)`) over
/// the upper half, so that the webhooks failing together do not retry together.
#[must_use]
pub fn retry_delay(failures: u32, jitter: f64) -> Duration {
    const FIRST: u64 = 5;
    const MOST: u64 = 24 * 60 * 60;
    let exponent = failures.saturating_sub(1).min(20);
    let full = FIRST.saturating_mul(1 << exponent).min(MOST);
    let jitter = if jitter.is_finite() {
        jitter.clamp(0.0, 1.0)
    } else {
        0.0
    };
    // full/2 .. full: never shorter than half, never past the cap.
    #[allow(
        clippy::cast_possible_truncation,
        clippy::cast_sign_loss,
        clippy::cast_precision_loss
    )]
    let spread = ((full as f64 / 2.0) * jitter) as u64;
    Duration::from_secs(full / 2 + spread).max(Duration::from_secs(1))
}

/// Whether a webhook with `failures` consecutive failed deliveries is disabled.
#[must_use]
pub const fn should_disable(failures: u32, max_failures: u32) -> bool {
    failures >= max_failures
}

/// What becomes of a webhook after an attempt to deliver its next event.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AfterAttempt {
    /// Delivered: its cursor moves past the event, its failures start again from 0.
    Delivered,
    /// Not delivered: the same event is tried again at `retry_at`.
    Retry { failures: u32, retry_at: Timestamp },
    /// Not delivered, `max_failures` times in a row: disabled, and its owner sees why.
    Disable { failures: u32, reason: String },
}

/// The rule after an attempt: `delivered` or not, after `failures` consecutive failures
/// before it, at `now`, with `jitter` in `[0, 1)` for the retry's delay.
#[must_use]
pub fn after_attempt(
    delivered: bool,
    failures: u32,
    max_failures: u32,
    now: Timestamp,
    jitter: f64,
) -> AfterAttempt {
    if delivered {
        return AfterAttempt::Delivered;
    }
    let failures = failures.saturating_add(1);
    if should_disable(failures, max_failures) {
        return AfterAttempt::Disable {
            failures,
            reason: format!("disabled after {failures} failed deliveries in a row"),
        };
    }
    let delay = chrono::TimeDelta::from_std(retry_delay(failures, jitter))
        .unwrap_or(chrono::TimeDelta::hours(24));
    AfterAttempt::Retry {
        failures,
        retry_at: now + delay,
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn allowed() -> AllowedHosts {
        AllowedHosts::new(["127.0.0.1", "Hooks.Internal", "[::1]"])
    }

    fn reason(raw: &str) -> String {
        TargetUrl::parse(raw, &allowed()).unwrap_err().to_string()
    }

    #[test]
    fn a_target_is_https_or_http_to_an_allowed_host() {
        let url = TargetUrl::parse("https://Example.com/hooks?x=1", &allowed()).unwrap();
        assert_eq!(
            (url.host(), url.port(), url.is_https()),
            ("example.com", 443, true)
        );
        let url = TargetUrl::parse("http://127.0.0.1:8080/in", &allowed()).unwrap();
        assert_eq!((url.host(), url.port()), ("127.0.0.1", 8080));
        let url = TargetUrl::parse("http://hooks.internal", &allowed()).unwrap();
        assert_eq!(url.port(), 80);
        let url = TargetUrl::parse("http://[::1]:9/x", &allowed()).unwrap();
        assert_eq!(url.host(), "::1");
        assert_eq!(
            TargetUrl::from_stored(url.as_str().to_owned()),
            url,
            "a stored URL reads back as it was parsed"
        );
        assert!(reason("http://example.com/").contains("webhooks.allow_hosts"));
    }

    #[test]
    fn a_malformed_target_is_refused_naming_the_field() {
        for (raw, says) in [
            ("", "url must not be empty"),
            ("ftp://example.com", "must use https"),
            ("example.com/hook", "absolute"),
            ("https://user:pw@example.com", "credentials"),
            ("https://example.com/#top", "fragment"),
            ("https://exa mple.com", "control"),
            ("https://", "absolute"),
            ("https://example.com:0/", "absolute"),
            ("https://example.com:99999/", "absolute"),
            ("https://[zz::1]/", "absolute"),
            ("https://ex..ample.com/", "absolute"),
        ] {
            let got = reason(raw);
            assert!(got.starts_with("url "), "{raw}: {got}");
            assert!(got.contains(says), "{raw}: {got}");
        }
        let long = format!("https://example.com/{}", "a".repeat(MAX_URL_LEN));
        assert!(reason(&long).contains("at most 2000"));
    }

    #[test]
    fn addresses_inside_the_network_are_forbidden() {
        for (address, why) in [
            ("127.0.0.1", "loopback"),
            ("127.5.6.7", "loopback"),
            ("10.0.0.1", "private"),
            ("172.16.0.1", "private"),
            ("172.31.255.255", "private"),
            ("192.168.1.1", "private"),
            ("169.254.169.254", "cloud metadata"),
            ("169.254.1.1", "link-local"),
            ("0.0.0.0", "unspecified"),
            ("224.0.0.1", "multicast"),
            ("255.255.255.255", "broadcast"),
            ("240.0.0.1", "reserved"),
            ("100.64.0.1", "shared (carrier-grade NAT)"),
            ("192.0.2.1", "documentation or benchmarking"),
            ("::1", "loopback"),
            ("::", "unspecified"),
            ("fe80::1", "link-local"),
            ("fc00::1", "unique-local"),
            ("fd00:ec2::254", "unique-local"),
            ("ff02::1", "multicast"),
            ("::ffff:10.0.0.1", "private"),
            ("::ffff:169.254.169.254", "cloud metadata"),
            ("64:ff9b::7f00:1", "loopback"),
            ("2001:db8::1", "documentation"),
        ] {
            let ip: IpAddr = address.parse().unwrap();
            assert_eq!(forbidden_address(ip), Some(why), "{address}");
        }
        for address in [
            "93.184.216.34",
            "8.8.8.8",
            "172.32.0.1",
            "100.128.0.1",
            "2606:4700::1111",
        ] {
            let ip: IpAddr = address.parse().unwrap();
            assert_eq!(forbidden_address(ip), None, "{address}");
        }
    }

    #[test]
    fn event_kinds_are_the_change_logs() {
        let kinds = EventKinds::parse(&["task.completed", "task.created", "task.created"]).unwrap();
        assert_eq!(
            kinds.kinds(),
            [ChangeKind::TaskCreated, ChangeKind::TaskCompleted]
        );
        assert!(kinds.includes(ChangeKind::TaskCreated));
        assert!(!kinds.includes(ChangeKind::ListDeleted));
        assert!(EventKinds::all().includes(ChangeKind::MemberRemoved));
        let err = EventKinds::parse(&["task.exploded"])
            .unwrap_err()
            .to_string();
        assert!(
            err.starts_with("events has an unknown event kind \"task.exploded\""),
            "{err}"
        );
        let none: [&str; 0] = [];
        assert_eq!(
            EventKinds::parse(&none).unwrap_err().to_string(),
            "events must not be empty"
        );
    }

    #[test]
    fn event_kinds_read_back_as_stored() {
        let kinds = EventKinds::parse(&["member.added", "task.deleted"]).unwrap();
        assert_eq!(kinds.to_stored(), "task.deleted,member.added");
        assert_eq!(EventKinds::from_stored(&kinds.to_stored()), kinds);
        assert_eq!(
            EventKinds::from_stored(&EventKinds::all().to_stored()),
            EventKinds::all()
        );
        assert_eq!(
            EventKinds::from_stored("task.created,task.teleported").kinds(),
            [ChangeKind::TaskCreated]
        );
    }

    #[test]
    fn a_webhook_takes_the_kinds_it_asked_for_in_its_list() {
        let at = |s| chrono::DateTime::from_timestamp(s, 0).unwrap();
        let list = |n| ListId::from_uuid(uuid::Uuid::from_u128(n));
        let record = |kind, l| ChangeRecord {
            cursor: crate::ChangeCursor { tx: 1, id: 1 },
            kind,
            list: Some(list(l)),
            task: None,
            actor: UserId::parse("bob").unwrap(),
            subject: None,
            version: Some(1),
            fields: Vec::new(),
            at: at(1),
        };
        let mut hook = Webhook {
            id: WebhookId::from_uuid(uuid::Uuid::from_u128(1)),
            owner: UserId::parse("alice").unwrap(),
            url: TargetUrl::parse("https://example.com/", &allowed()).unwrap(),
            events: EventKinds::parse(&["task.created", "task.completed"]).unwrap(),
            list: None,
            enabled: true,
            disabled_reason: None,
            failures: 0,
            created_at: at(1),
            updated_at: at(1),
            version: 1,
        };
        assert!(hook.takes(&record(ChangeKind::TaskCreated, 1)));
        assert!(hook.takes(&record(ChangeKind::TaskCompleted, 2)));
        assert!(!hook.takes(&record(ChangeKind::TaskDeleted, 1)));
        hook.list = Some(list(2));
        assert!(!hook.takes(&record(ChangeKind::TaskCreated, 1)));
        assert!(hook.takes(&record(ChangeKind::TaskCreated, 2)));
    }

    #[test]
    fn enabling_a_webhook_the_service_disabled_starts_it_afresh() {
        let at = |s| chrono::DateTime::from_timestamp(s, 0).unwrap();
        let hook = Webhook {
            id: WebhookId::from_uuid(uuid::Uuid::from_u128(1)),
            owner: UserId::parse("alice").unwrap(),
            url: TargetUrl::parse("https://example.com/", &allowed()).unwrap(),
            events: EventKinds::all(),
            list: None,
            enabled: false,
            disabled_reason: Some("10 deliveries failed".to_owned()),
            failures: 10,
            created_at: at(1),
            updated_at: at(1),
            version: 3,
        };
        let renamed = hook.apply(
            WebhookChanges {
                url: Some(TargetUrl::parse("https://example.org/", &allowed()).unwrap()),
                ..WebhookChanges::default()
            },
            at(5),
        );
        assert_eq!(
            (
                renamed.url.host(),
                renamed.enabled,
                renamed.failures,
                renamed.version
            ),
            ("example.org", false, 10, 4)
        );
        assert_eq!(renamed.updated_at, at(5));
        let enabled = hook.apply(
            WebhookChanges {
                enabled: Some(true),
                ..WebhookChanges::default()
            },
            at(6),
        );
        assert_eq!(
            (enabled.enabled, enabled.failures, enabled.disabled_reason),
            (true, 0, None)
        );
    }

    #[test]
    fn retries_back_off_to_a_day_with_jitter() {
        let secs = |failures, jitter| retry_delay(failures, jitter).as_secs();
        assert_eq!((secs(1, 0.0), secs(1, 0.999)), (2, 4));
        assert_eq!((secs(2, 0.0), secs(3, 0.0), secs(4, 0.0)), (5, 10, 20));
        // Doubling, with the jitter spreading over the upper half.
        for failures in 1..40 {
            let low = retry_delay(failures, 0.0);
            let high = retry_delay(failures, 0.999_999);
            assert!(low <= high && high <= low * 2 + Duration::from_secs(1));
            assert!(high <= Duration::from_secs(24 * 60 * 60), "{failures}");
        }
        assert_eq!(secs(40, 0.0), 12 * 60 * 60);
        // A jitter out of range is kept in range.
        assert_eq!(secs(3, f64::NAN), secs(3, 0.0));
        assert_eq!(secs(3, 7.0), secs(3, 1.0));
        assert!(!should_disable(9, 10) && should_disable(10, 10));
    }

    #[test]
    fn after_an_attempt_a_webhook_moves_on_waits_or_stops() {
        let at = |s| chrono::DateTime::from_timestamp(s, 0).unwrap();
        assert_eq!(
            after_attempt(true, 7, 10, at(0), 0.5),
            AfterAttempt::Delivered
        );
        assert_eq!(
            after_attempt(false, 0, 10, at(1_000), 0.0),
            AfterAttempt::Retry {
                failures: 1,
                retry_at: at(1_002)
            }
        );
        assert_eq!(
            after_attempt(false, 3, 10, at(1_000), 0.0),
            AfterAttempt::Retry {
                failures: 4,
                retry_at: at(1_020)
            }
        );
        assert_eq!(
            after_attempt(false, 9, 10, at(1_000), 0.0),
            AfterAttempt::Disable {
                failures: 10,
                reason: "disabled after 10 failed deliveries in a row".to_owned()
            }
        );
    }
}
