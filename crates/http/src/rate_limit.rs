//! Request budgets: token buckets per user (reads, writes) and per client address (reads,
//! writes, authentication failures), kept in this process only.
//!
//! Each bucket is one number, its "theoretical arrival time" (the generic cell rate
//! algorithm, an exact token bucket): a budget of `quota` requests per `window` lets
//! `quota` through at once and then one every `window / quota`. A bucket whose time has
//! passed is full, so full buckets can be dropped without changing any answer; that is
//! how the maps stay bounded. Time is passed in (`now`, since the limiter started), so
//! the rules are tested without a clock.
//!
//! Everything here is plain synchronous code, called outside of any future, and a request
//! within its budgets allocates nothing here but its `RateLimit` header value: the
//! `RateLimit-Policy` values are written once, when the limiter is built.

use std::borrow::Borrow;
use std::collections::HashMap;
use std::hash::{BuildHasher, Hash, RandomState};
use std::net::IpAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Mutex, PoisonError};
use std::time::{Duration, Instant};

use actix_web::http::header::HeaderValue;

/// A route class, each with its own budget.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Budget {
    /// GET and HEAD, per user.
    Reads,
    /// Every other method, per user.
    Writes,
    /// Refused credentials, per client address.
    AuthFailures,
    /// GET and HEAD, per client address, whoever sends them (with a credential or not).
    AddressReads,
    /// Every other method, per client address.
    AddressWrites,
}

impl Budget {
    /// The per-user budget a request of `method` is counted against: reads for GET and
    /// HEAD, writes for every other method.
    #[must_use]
    pub fn of_method(method: &actix_web::http::Method) -> Self {
        use actix_web::http::Method;
        if matches!(*method, Method::GET | Method::HEAD) {
            Self::Reads
        } else {
            Self::Writes
        }
    }

    /// The per-address budget of the same requests: address reads for reads, address
    /// writes for writes (the others are per address already).
    #[must_use]
    pub fn of_address(self) -> Self {
        match self {
            Self::Reads => Self::AddressReads,
            Self::Writes => Self::AddressWrites,
            other => other,
        }
    }

    /// Every budget, in the order of metrics.
    pub const ALL: [Self; 5] = [
        Self::Reads,
        Self::Writes,
        Self::AuthFailures,
        Self::AddressReads,
        Self::AddressWrites,
    ];

    /// Its place in [`Budget::ALL`].
    #[must_use]
    pub fn index(self) -> usize {
        match self {
            Self::Reads => 0,
            Self::Writes => 1,
            Self::AuthFailures => 2,
            Self::AddressReads => 3,
            Self::AddressWrites => 4,
        }
    }

    /// The name in headers, metrics and problem details.
    #[must_use]
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Reads => "reads",
            Self::Writes => "writes",
            Self::AuthFailures => "auth_failures",
            Self::AddressReads => "address_reads",
            Self::AddressWrites => "address_writes",
        }
    }

    fn counted(self) -> &'static str {
        match self {
            Self::Reads | Self::Writes | Self::AddressReads | Self::AddressWrites => "requests",
            Self::AuthFailures => "failed authentications",
        }
    }

    fn scope(self) -> &'static str {
        match self {
            Self::Reads | Self::Writes => "this user",
            Self::AuthFailures | Self::AddressReads | Self::AddressWrites => "this address",
        }
    }
}

/// `quota` requests per `window`, all of them at once if need be.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Policy {
    pub quota: u32,
    pub window: Duration,
}

impl Policy {
    /// The time one request costs: `window / quota`.
    fn interval(self) -> Duration {
        self.window
            .checked_div(self.quota.max(1))
            .unwrap_or_default()
    }
}

/// What a bucket says to one request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Take {
    /// Let through; `remaining` requests are left now and the bucket is full again in
    /// `reset` seconds.
    Allowed { remaining: u32, reset: u64 },
    /// Refused; a request is allowed again in `retry_after` seconds (at least 1).
    Limited { retry_after: u64 },
}

/// One bucket: the time at which it is full again (`tat`; full when it has passed).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Bucket {
    tat: Duration,
}

impl Bucket {
    /// A full bucket.
    #[must_use]
    pub fn full() -> Self {
        Self {
            tat: Duration::ZERO,
        }
    }

    /// Spends one request at `now` if the budget allows it.
    pub fn take(&mut self, policy: Policy, now: Duration) -> Take {
        let tat = self.tat.max(now);
        let next = tat.saturating_add(policy.interval());
        let debt = next.saturating_sub(now);
        if debt > policy.window {
            return Take::Limited {
                retry_after: ceil_secs(debt.saturating_sub(policy.window)),
            };
        }
        self.tat = next;
        allowed(policy, debt)
    }

    /// What [`take`](Self::take) would answer, without spending anything.
    #[must_use]
    pub fn peek(&self, policy: Policy, now: Duration) -> Take {
        let debt = self.tat.saturating_sub(now);
        let next = debt.saturating_add(policy.interval());
        if next > policy.window {
            return Take::Limited {
                retry_after: ceil_secs(next.saturating_sub(policy.window)),
            };
        }
        allowed(policy, debt)
    }

    /// True when the bucket has refilled completely by `now`.
    #[must_use]
    pub fn is_full(&self, now: Duration) -> bool {
        self.tat <= now
    }
}

fn allowed(policy: Policy, debt: Duration) -> Take {
    let left = policy.window.saturating_sub(debt).as_nanos();
    let interval = policy.interval().as_nanos().max(1);
    Take::Allowed {
        remaining: u32::try_from(left / interval)
            .unwrap_or(u32::MAX)
            .min(policy.quota),
        reset: ceil_secs(debt),
    }
}

/// Whole seconds, rounded up, at least 1 for any positive duration.
fn ceil_secs(d: Duration) -> u64 {
    d.as_secs() + u64::from(d.subsec_nanos() > 0)
}

/// The budgets and how many buckets may be kept.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RateLimitSettings {
    pub enabled: bool,
    pub reads: Policy,
    pub writes: Policy,
    pub auth_failures: Policy,
    /// Reads and writes per client address, whoever sends them.
    pub address_reads: Policy,
    pub address_writes: Policy,
    /// Most buckets kept per budget; past it, full buckets are dropped, then the fullest.
    pub max_entries: usize,
    /// Peers whose `X-Forwarded-For` is believed; empty: the peer address is the client's.
    pub trusted_proxies: Vec<IpAddr>,
}

impl Default for RateLimitSettings {
    fn default() -> Self {
        Self {
            enabled: true,
            reads: Policy {
                quota: 6000,
                window: Duration::from_secs(10),
            },
            writes: Policy {
                quota: 3000,
                window: Duration::from_secs(10),
            },
            auth_failures: Policy {
                quota: 100,
                window: Duration::from_secs(60),
            },
            address_reads: Policy {
                quota: 12_000,
                window: Duration::from_secs(10),
            },
            address_writes: Policy {
                quota: 6000,
                window: Duration::from_secs(10),
            },
            max_entries: 100_000,
            trusted_proxies: Vec::new(),
        }
    }
}

impl RateLimitSettings {
    #[must_use]
    pub fn policy(&self, budget: Budget) -> Policy {
        match budget {
            Budget::Reads => self.reads,
            Budget::Writes => self.writes,
            Budget::AuthFailures => self.auth_failures,
            Budget::AddressReads => self.address_reads,
            Budget::AddressWrites => self.address_writes,
        }
    }
}

/// The answer of a budget to one request, kept on the request for its headers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Decision {
    pub budget: Budget,
    pub policy: Policy,
    pub take: Take,
}

impl Decision {
    /// One item of `RateLimit-Policy`, in the structured-field form of the IETF httpapi
    /// draft: `"reads";q=6000;w=10`.
    fn write_policy(budget: Budget, policy: Policy, out: &mut Line) {
        out.quoted(budget.as_str());
        out.push(b";q=");
        out.number(u64::from(policy.quota));
        out.push(b";w=");
        out.number(policy.window.as_secs());
    }

    /// One item of `RateLimit`: what is left of the budget and when it is whole again,
    /// `"reads";r=5999;t=1`.
    fn write_limit(&self, out: &mut Line) {
        let (remaining, reset) = match self.take {
            Take::Allowed { remaining, reset } => (remaining, reset),
            Take::Limited { retry_after } => (0, retry_after),
        };
        out.quoted(self.budget.as_str());
        out.push(b";r=");
        out.number(u64::from(remaining));
        out.push(b";t=");
        out.number(reset);
    }

    /// Seconds until a request may be made again, when refused.
    #[must_use]
    pub fn retry_after(&self) -> Option<u64> {
        match self.take {
            Take::Limited { retry_after } => Some(retry_after),
            Take::Allowed { .. } => None,
        }
    }

    /// The problem detail of a refusal, naming the budget.
    #[must_use]
    pub fn detail(&self) -> String {
        format!(
            "the {} budget of {} {} per {} s for {} is used up; retry after {} s",
            self.budget.as_str().replace('_', " "),
            self.policy.quota,
            self.budget.counted(),
            self.policy.window.as_secs(),
            self.budget.scope(),
            self.retry_after().unwrap_or(1)
        )
    }
}

/// What a request was counted against: its client address's reads or writes, and the
/// user's reads or writes (or, for a refused credential, the address's auth failures).
/// Kept on the request for its `RateLimit` headers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Spent {
    pub address: Option<Decision>,
    pub caller: Option<Decision>,
}

impl Spent {
    /// The decision of a refusal, if either refused.
    #[must_use]
    pub fn refusal(&self) -> Option<Decision> {
        [self.address, self.caller]
            .into_iter()
            .flatten()
            .find(|d| d.retry_after().is_some())
    }
}

/// A header value written into a fixed buffer: no allocation until it becomes a
/// `HeaderValue`. Longer values are cut (they cannot be: see [`Line::CAPACITY`]).
struct Line {
    bytes: [u8; Self::CAPACITY],
    len: usize,
}

impl Line {
    /// Two items of at most `"address_writes";r=<u32>;t=<u64>` (57 bytes) and their
    /// separator.
    const CAPACITY: usize = 128;

    fn new() -> Self {
        Self {
            bytes: [0; Self::CAPACITY],
            len: 0,
        }
    }

    fn push(&mut self, bytes: &[u8]) {
        let end = (self.len + bytes.len()).min(Self::CAPACITY);
        if let (Some(to), Some(from)) = (
            self.bytes.get_mut(self.len..end),
            bytes.get(..end - self.len),
        ) {
            to.copy_from_slice(from);
        }
        self.len = end;
    }

    fn quoted(&mut self, name: &str) {
        self.push(b"\"");
        self.push(name.as_bytes());
        self.push(b"\"");
    }

    fn number(&mut self, mut n: u64) {
        let mut digits = [0u8; 20];
        let mut start = digits.len();
        loop {
            start -= 1;
            if let Some(d) = digits.get_mut(start) {
                *d = b'0' + u8::try_from(n % 10).unwrap_or_default();
            }
            n /= 10;
            if n == 0 || start == 0 {
                break;
            }
        }
        self.push(digits.get(start..).unwrap_or_default());
    }

    fn separator(&mut self) {
        if self.len > 0 {
            self.push(b", ");
        }
    }

    fn as_bytes(&self) -> &[u8] {
        self.bytes.get(..self.len).unwrap_or_default()
    }

    fn header(&self) -> Option<HeaderValue> {
        HeaderValue::from_bytes(self.as_bytes()).ok()
    }
}

/// The `RateLimit-Policy` values, written once: for each user budget a request can be
/// counted against (none, reads, writes, auth failures) and each address budget (none,
/// address reads, address writes).
struct PolicyHeaders {
    values: [[Option<HeaderValue>; 3]; 4],
}

impl PolicyHeaders {
    fn new(settings: &RateLimitSettings) -> Self {
        let callers = [
            None,
            Some(Budget::Reads),
            Some(Budget::Writes),
            Some(Budget::AuthFailures),
        ];
        let addresses = [
            None,
            Some(Budget::AddressReads),
            Some(Budget::AddressWrites),
        ];
        let values = callers.map(|caller| {
            addresses.map(|address| {
                let mut line = Line::new();
                for budget in [caller, address].into_iter().flatten() {
                    line.separator();
                    Decision::write_policy(budget, settings.policy(budget), &mut line);
                }
                (line.len > 0).then(|| line.header()).flatten()
            })
        });
        Self { values }
    }

    fn get(&self, caller: Option<Budget>, address: Option<Budget>) -> Option<&HeaderValue> {
        let row = match caller {
            None | Some(Budget::AddressReads | Budget::AddressWrites) => 0,
            Some(Budget::Reads) => 1,
            Some(Budget::Writes) => 2,
            Some(Budget::AuthFailures) => 3,
        };
        let column = match address {
            Some(Budget::AddressReads) => 1,
            Some(Budget::AddressWrites) => 2,
            _ => 0,
        };
        self.values.get(row)?.get(column)?.as_ref()
    }
}

const SHARDS: usize = 16;

/// A bounded map of buckets, split in shards behind their own locks.
struct Buckets<K> {
    shards: Vec<Mutex<HashMap<K, Bucket>>>,
    hasher: RandomState,
    per_shard: usize,
    /// How many buckets the shards hold, changed under the shard's lock with each change:
    /// a look-up in a map known to be empty needs no hash and no lock.
    entries: AtomicUsize,
}

impl<K: Hash + Eq + Clone> Buckets<K> {
    fn new(max_entries: usize) -> Self {
        Self {
            shards: (0..SHARDS).map(|_| Mutex::new(HashMap::new())).collect(),
            hasher: RandomState::new(),
            per_shard: max_entries.div_ceil(SHARDS).max(1),
            entries: AtomicUsize::new(0),
        }
    }

    /// True when no bucket is remembered: every key's is full.
    fn is_empty(&self) -> bool {
        self.entries.load(Ordering::Acquire) == 0
    }

    fn shard<Q: Hash + ?Sized>(&self, key: &Q) -> Option<&Mutex<HashMap<K, Bucket>>> {
        let hash = self.hasher.hash_one(key);
        let index = usize::try_from(hash % SHARDS as u64).unwrap_or_default();
        self.shards.get(index)
    }

    /// Applies `f` to the bucket of `key` (a full one if there is none yet).
    fn with<Q>(&self, key: &Q, now: Duration, f: impl FnOnce(&mut Bucket) -> Take) -> Take
    where
        K: Borrow<Q>,
        Q: Hash + Eq + ToOwned<Owned = K> + ?Sized,
    {
        let Some(shard) = self.shard(key) else {
            return f(&mut Bucket::full());
        };
        let mut map = shard.lock().unwrap_or_else(PoisonError::into_inner);
        if let Some(bucket) = map.get_mut(key) {
            return f(bucket);
        }
        let mut bucket = Bucket::full();
        let take = f(&mut bucket);
        if bucket.is_full(now) {
            // Nothing spent: nothing to remember.
            return take;
        }
        let before = map.len();
        if map.len() >= self.per_shard {
            map.retain(|_, b| !b.is_full(now));
        }
        if map.len() >= self.per_shard {
            // Still full of spent buckets: forget the one closest to full.
            let fullest = map
                .iter()
                .min_by_key(|(_, b)| b.tat)
                .map(|(k, _)| k.clone());
            if let Some(fullest) = fullest {
                map.remove::<K>(&fullest);
            }
        }
        map.insert(key.to_owned(), bucket);
        // Counted up before the lock is let go, so a reader that then finds none counted
        // has no bucket to miss; forgotten ones are counted down after the new one is in.
        self.entries.fetch_add(1, Ordering::AcqRel);
        self.entries
            .fetch_sub(before + 1 - map.len(), Ordering::AcqRel);
        take
    }

    #[cfg(test)]
    fn len(&self) -> usize {
        self.shards
            .iter()
            .map(|s| s.lock().unwrap_or_else(PoisonError::into_inner).len())
            .sum()
    }
}

/// The service's budgets: per user for reads and writes, per address for reads, writes
/// and auth failures.
pub struct RateLimiter {
    settings: RateLimitSettings,
    started: Instant,
    reads: Buckets<String>,
    writes: Buckets<String>,
    auth_failures: Buckets<IpAddr>,
    address_reads: Buckets<IpAddr>,
    address_writes: Buckets<IpAddr>,
    policy_headers: PolicyHeaders,
}

impl RateLimiter {
    #[must_use]
    pub fn new(settings: RateLimitSettings) -> Self {
        let max = settings.max_entries;
        Self {
            policy_headers: PolicyHeaders::new(&settings),
            settings,
            started: Instant::now(),
            reads: Buckets::new(max),
            writes: Buckets::new(max),
            auth_failures: Buckets::new(max),
            address_reads: Buckets::new(max),
            address_writes: Buckets::new(max),
        }
    }

    #[must_use]
    pub fn settings(&self) -> &RateLimitSettings {
        &self.settings
    }

    /// The limiter's clock: read once per request, and given to each budget it spends.
    #[must_use]
    pub fn now(&self) -> Duration {
        self.started.elapsed()
    }

    /// Spends one request of `user`'s reads or writes budget at `now` ([`Self::now`]).
    #[must_use]
    pub fn take_user(&self, budget: Budget, user: &str, now: Duration) -> Decision {
        let policy = self.settings.policy(budget);
        let buckets = match budget {
            Budget::Writes | Budget::AddressWrites => &self.writes,
            Budget::Reads | Budget::AuthFailures | Budget::AddressReads => &self.reads,
        };
        let take = buckets.with(user, now, |b| b.take(policy, now));
        Decision {
            budget,
            policy,
            take,
        }
    }

    /// Spends one request of `addr`'s reads or writes budget at `now` (`budget` is the
    /// request's per-user budget or its per-address one).
    #[must_use]
    pub fn take_address(&self, budget: Budget, addr: IpAddr, now: Duration) -> Decision {
        let budget = budget.of_address();
        let policy = self.settings.policy(budget);
        let buckets = match budget {
            Budget::AddressWrites | Budget::Writes => &self.address_writes,
            _ => &self.address_reads,
        };
        let take = buckets.with(&addr, now, |b| b.take(policy, now));
        Decision {
            budget,
            policy,
            take,
        }
    }

    /// `RateLimit-Policy` and `RateLimit` for what a request was counted against; without
    /// any budget (a request refused before any was counted), the policy of its method's
    /// budgets, and no `RateLimit`.
    #[must_use]
    pub fn headers(
        &self,
        spent: Option<&Spent>,
        method: &actix_web::http::Method,
    ) -> (Option<HeaderValue>, Option<HeaderValue>) {
        let spent = spent.copied().unwrap_or_default();
        if spent.address.is_none() && spent.caller.is_none() {
            let budget = Budget::of_method(method);
            let policy = self
                .policy_headers
                .get(Some(budget), Some(budget.of_address()))
                .cloned();
            return (policy, None);
        }
        let policy = self
            .policy_headers
            .get(
                spent.caller.map(|d| d.budget),
                spent.address.map(|d| d.budget),
            )
            .cloned();
        let mut line = Line::new();
        for decision in [spent.caller, spent.address].into_iter().flatten() {
            line.separator();
            decision.write_limit(&mut line);
        }
        (policy, line.header())
    }

    /// Whether `addr` may still try a credential at `now` (spends nothing).
    #[must_use]
    pub fn check_auth_failures(&self, addr: IpAddr, now: Duration) -> Decision {
        self.auth_failures_at(addr, now, false)
    }

    /// Counts one refused credential from `addr` at `now`.
    #[must_use]
    pub fn record_auth_failure(&self, addr: IpAddr, now: Duration) -> Decision {
        self.auth_failures_at(addr, now, true)
    }

    fn auth_failures_at(&self, addr: IpAddr, now: Duration, spend: bool) -> Decision {
        let policy = self.settings.auth_failures;
        let take = if spend {
            self.auth_failures.with(&addr, now, |b| b.take(policy, now))
        } else if self.auth_failures.is_empty() {
            // No failure remembered from any address (the usual case): every address's
            // bucket is full, and a check is answered without a look-up.
            Bucket::full().peek(policy, now)
        } else {
            self.auth_failures.with(&addr, now, |b| b.peek(policy, now))
        };
        Decision {
            budget: Budget::AuthFailures,
            policy,
            take,
        }
    }

    /// The client's address: the peer, or when the peer is a trusted proxy, the last
    /// address of `X-Forwarded-For` that is not one (`forwarded_for` is asked only then).
    #[must_use]
    pub fn client_addr<'a>(
        &self,
        peer: Option<IpAddr>,
        forwarded_for: impl FnOnce() -> Option<&'a str>,
    ) -> IpAddr {
        let unknown = IpAddr::from([0, 0, 0, 0]);
        let Some(peer) = peer else {
            return unknown;
        };
        let trusted = &self.settings.trusted_proxies;
        if !trusted.contains(&peer) {
            return peer;
        }
        forwarded_for()
            .into_iter()
            .flat_map(|v| v.rsplit(','))
            .map_while(|hop| hop.trim().parse::<IpAddr>().ok())
            .find(|hop| !trusted.contains(hop))
            .unwrap_or(peer)
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    const fn secs(s: u64) -> Duration {
        Duration::from_secs(s)
    }

    fn policy(quota: u32, window: u64) -> Policy {
        Policy {
            quota,
            window: secs(window),
        }
    }

    #[test]
    fn a_full_bucket_lets_the_quota_through_at_once_then_refuses() {
        let p = policy(3, 60);
        let mut b = Bucket::full();
        let now = secs(100);
        assert_eq!(
            b.take(p, now),
            Take::Allowed {
                remaining: 2,
                reset: 20
            }
        );
        assert_eq!(
            b.take(p, now),
            Take::Allowed {
                remaining: 1,
                reset: 40
            }
        );
        assert_eq!(
            b.take(p, now),
            Take::Allowed {
                remaining: 0,
                reset: 60
            }
        );
        assert_eq!(b.take(p, now), Take::Limited { retry_after: 20 });
        // A refusal spends nothing.
        assert_eq!(b.take(p, now), Take::Limited { retry_after: 20 });
    }

    #[test]
    fn the_bucket_refills_at_quota_per_window() {
        let p = policy(3, 60);
        let mut b = Bucket::full();
        for _ in 0..3 {
            b.take(p, secs(0));
        }
        assert_eq!(b.take(p, secs(19)), Take::Limited { retry_after: 1 });
        assert_eq!(
            b.take(p, secs(20)),
            Take::Allowed {
                remaining: 0,
                reset: 60
            }
        );
        assert!(!b.is_full(secs(79)));
        assert!(b.is_full(secs(80)));
        assert_eq!(
            b.take(p, secs(1000)),
            Take::Allowed {
                remaining: 2,
                reset: 20
            }
        );
    }

    #[test]
    fn retry_after_rounds_up_to_whole_seconds() {
        let p = Policy {
            quota: 2,
            window: Duration::from_millis(1500),
        };
        let mut b = Bucket::full();
        b.take(p, secs(0));
        b.take(p, secs(0));
        assert_eq!(b.take(p, secs(0)), Take::Limited { retry_after: 1 });
    }

    #[test]
    fn peek_spends_nothing() {
        let p = policy(2, 10);
        let mut b = Bucket::full();
        assert_eq!(
            b.peek(p, secs(0)),
            Take::Allowed {
                remaining: 2,
                reset: 0
            }
        );
        b.take(p, secs(0));
        b.take(p, secs(0));
        assert_eq!(b.peek(p, secs(0)), Take::Limited { retry_after: 5 });
        assert_eq!(b.peek(p, secs(0)), Take::Limited { retry_after: 5 });
        assert!(matches!(
            b.peek(p, secs(5)),
            Take::Allowed { remaining: 1, .. }
        ));
    }

    fn limiter(max_entries: usize) -> RateLimiter {
        RateLimiter::new(RateLimitSettings {
            reads: policy(2, 10),
            writes: policy(1, 10),
            auth_failures: policy(2, 60),
            max_entries,
            ..RateLimitSettings::default()
        })
    }

    #[test]
    fn users_and_classes_have_their_own_buckets() {
        let l = limiter(1000);
        let now = secs(0);
        assert!(l.take_user(Budget::Reads, "a", now).retry_after().is_none());
        assert!(l.take_user(Budget::Reads, "a", now).retry_after().is_none());
        let refused = l.take_user(Budget::Reads, "a", now);
        assert_eq!(refused.retry_after(), Some(5));
        assert_eq!(
            refused.detail(),
            "the reads budget of 2 requests per 10 s for this user is used up; retry after 5 s"
        );
        let spent = Spent {
            address: None,
            caller: Some(refused),
        };
        let (policy, limit) = l.headers(Some(&spent), &actix_web::http::Method::GET);
        assert_eq!(policy.unwrap(), "\"reads\";q=2;w=10");
        assert_eq!(limit.unwrap(), "\"reads\";r=0;t=5");
        assert!(l.take_user(Budget::Reads, "b", now).retry_after().is_none());
        assert!(
            l.take_user(Budget::Writes, "a", now)
                .retry_after()
                .is_none()
        );
    }

    #[test]
    fn auth_failures_are_counted_per_address_and_checked_without_spending() {
        let l = limiter(1000);
        let a = IpAddr::from([10, 0, 0, 1]);
        let now = secs(0);
        assert!(l.auth_failures_at(a, now, false).retry_after().is_none());
        assert!(l.auth_failures_at(a, now, true).retry_after().is_none());
        assert!(l.auth_failures_at(a, now, true).retry_after().is_none());
        let refused = l.auth_failures_at(a, now, false);
        assert_eq!(refused.retry_after(), Some(30));
        assert!(refused.detail().starts_with(
            "the auth failures budget of 2 failed authentications per 60 s for this address"
        ));
        let b = IpAddr::from([10, 0, 0, 2]);
        assert!(l.auth_failures_at(b, now, false).retry_after().is_none());
    }

    /// The check skips the look-up while no failure is remembered: its answers are the
    /// look-up's, before any failure, while one is remembered, and after it is forgotten.
    #[test]
    fn the_auth_failure_check_without_a_look_up_is_what_the_look_up_answers() {
        let l = limiter(SHARDS);
        let a = IpAddr::from([10, 0, 0, 1]);
        let b = IpAddr::from([10, 0, 0, 2]);
        let policy = l.settings.auth_failures;
        let check = |addr, now| {
            let quick = l.check_auth_failures(addr, now);
            let looked_up = Decision {
                budget: Budget::AuthFailures,
                policy,
                take: l.auth_failures.with(&addr, now, |b| b.peek(policy, now)),
            };
            assert_eq!(quick, looked_up, "{addr} {now:?}");
            quick
        };
        assert!(l.auth_failures.is_empty());
        assert!(check(a, secs(0)).retry_after().is_none());
        let _ = l.record_auth_failure(a, secs(0));
        let _ = l.record_auth_failure(a, secs(0));
        assert!(!l.auth_failures.is_empty());
        assert_eq!(check(a, secs(0)).retry_after(), Some(30));
        assert!(check(b, secs(0)).retry_after().is_none());
        // Full again after the window; forgotten when the shard makes room.
        assert!(check(a, secs(60)).retry_after().is_none());
        for n in 0..=SHARDS * 4 {
            let addr = IpAddr::from([192, 168, 0, u8::try_from(n % 256).unwrap()]);
            let _ = l.record_auth_failure(addr, secs(1000));
        }
        assert_eq!(
            l.auth_failures.entries.load(Ordering::Acquire),
            l.auth_failures.len()
        );
        assert!(l.auth_failures.len() <= SHARDS);
        assert!(check(a, secs(1000)).retry_after().is_none());
    }

    #[test]
    fn the_maps_stay_bounded_and_forget_full_buckets() {
        let l = limiter(SHARDS * 2);
        for n in 0..1000 {
            let _ = l.take_user(Budget::Reads, &format!("user{n}"), secs(0));
        }
        assert!(l.reads.len() <= SHARDS * 2, "{}", l.reads.len());
        // Later, every bucket has refilled: new users replace them all.
        for n in 0..1000 {
            let _ = l.take_user(Budget::Reads, &format!("later{n}"), secs(100));
        }
        assert!(l.reads.len() <= SHARDS * 2);
        assert_eq!(l.reads.entries.load(Ordering::Acquire), l.reads.len());
        // A request that spends nothing leaves nothing behind.
        let _ = l.auth_failures_at(IpAddr::from([1, 2, 3, 4]), secs(0), false);
        assert_eq!(l.auth_failures.len(), 0);
        assert!(l.auth_failures.is_empty());
    }

    #[test]
    fn forwarded_for_is_believed_only_from_trusted_proxies() {
        let proxy = IpAddr::from([10, 0, 0, 9]);
        let client = IpAddr::from([203, 0, 113, 7]);
        let plain = limiter(10);
        assert_eq!(
            plain.client_addr(Some(proxy), || Some("198.51.100.1")),
            proxy
        );
        assert_eq!(plain.client_addr(None, || None), IpAddr::from([0, 0, 0, 0]));
        let behind = RateLimiter::new(RateLimitSettings {
            trusted_proxies: vec![proxy],
            ..RateLimitSettings::default()
        });
        assert_eq!(
            behind.client_addr(Some(proxy), || Some("198.51.100.1, 203.0.113.7, 10.0.0.9")),
            client
        );
        assert_eq!(behind.client_addr(Some(proxy), || None), proxy);
        assert_eq!(behind.client_addr(Some(client), || Some("1.1.1.1")), client);
    }

    #[test]
    fn addresses_have_their_own_reads_and_writes_budgets() {
        let l = RateLimiter::new(RateLimitSettings {
            address_reads: policy(2, 10),
            address_writes: policy(1, 10),
            ..RateLimitSettings::default()
        });
        let a = IpAddr::from([10, 0, 0, 1]);
        let b = IpAddr::from([10, 0, 0, 2]);
        let now = secs(0);
        for _ in 0..2 {
            let d = l.take_address(Budget::AddressReads, a, now);
            assert_eq!(d.budget, Budget::AddressReads);
            assert!(d.retry_after().is_none());
        }
        let refused = l.take_address(Budget::AddressReads, a, now);
        assert_eq!(refused.retry_after(), Some(5));
        assert_eq!(
            refused.detail(),
            "the address reads budget of 2 requests per 10 s for this address is used up; retry after 5 s"
        );
        // Another address, and the same address's writes, are untouched.
        assert!(
            l.take_address(Budget::AddressReads, b, now)
                .retry_after()
                .is_none()
        );
        assert!(
            l.take_address(Budget::AddressWrites, a, now)
                .retry_after()
                .is_none()
        );
        assert_eq!(
            l.take_address(Budget::AddressWrites, a, now).retry_after(),
            Some(10)
        );
        // The per-user budgets are others still.
        assert!(l.take_user(Budget::Reads, "a", now).retry_after().is_none());
        assert_eq!(Budget::Reads.of_address(), Budget::AddressReads);
        assert_eq!(Budget::Writes.of_address(), Budget::AddressWrites);
    }

    #[test]
    fn headers_list_the_callers_budget_then_the_addresss() {
        let l = RateLimiter::new(RateLimitSettings {
            reads: policy(6000, 10),
            address_reads: policy(12_000, 10),
            auth_failures: policy(100, 60),
            ..RateLimitSettings::default()
        });
        let addr = IpAddr::from([10, 0, 0, 1]);
        let spent = Spent {
            address: Some(l.take_address(Budget::AddressReads, addr, secs(0))),
            caller: Some(l.take_user(Budget::Reads, "u", secs(0))),
        };
        let (policy, limit) = l.headers(Some(&spent), &actix_web::http::Method::GET);
        assert_eq!(
            policy.unwrap(),
            "\"reads\";q=6000;w=10, \"address_reads\";q=12000;w=10"
        );
        assert_eq!(
            limit.unwrap(),
            "\"reads\";r=5999;t=1, \"address_reads\";r=11999;t=1"
        );
        let refused_credential = Spent {
            caller: Some(l.auth_failures_at(addr, secs(0), true)),
            ..spent
        };
        let (policy, _) = l.headers(Some(&refused_credential), &actix_web::http::Method::GET);
        assert_eq!(
            policy.unwrap(),
            "\"auth_failures\";q=100;w=60, \"address_reads\";q=12000;w=10"
        );
        // Nothing counted: the policies of the method's budgets, no RateLimit.
        let (policy, limit) = l.headers(None, &actix_web::http::Method::DELETE);
        assert_eq!(
            policy.unwrap(),
            "\"writes\";q=3000;w=10, \"address_writes\";q=6000;w=10"
        );
        assert!(limit.is_none());
    }

    #[test]
    fn header_numbers_are_written_in_full() {
        let mut line = Line::new();
        for n in [0, 7, 10, 4_294_967_295, u64::MAX] {
            line.separator();
            line.number(n);
        }
        assert_eq!(
            std::str::from_utf8(line.as_bytes()).unwrap(),
            "0, 7, 10, 4294967295, 18446744073709551615"
        );
    }
}
