//! Request budgets: token buckets per user (reads, writes) and per client address
//! (authentication failures), kept in this process only.
//!
//! Each bucket is one number, its "theoretical arrival time" (the generic cell rate
//! algorithm, an exact token bucket): a budget of `quota` requests per `window` lets
//! `quota` through at once and then one every `window / quota`. A bucket whose time has
//! passed is full, so full buckets can be dropped without changing any answer; that is
//! how the maps stay bounded. Time is passed in (`now`, since the limiter started), so
//! the rules are tested without a clock.

use std::borrow::Borrow;
use std::collections::HashMap;
use std::hash::{BuildHasher, Hash, RandomState};
use std::net::IpAddr;
use std::sync::{Mutex, PoisonError};
use std::time::{Duration, Instant};

/// A route class, each with its own budget.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Budget {
    /// GET and HEAD, per user.
    Reads,
    /// Every other method, per user.
    Writes,
    /// Refused credentials, per client address.
    AuthFailures,
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

    /// The name in headers, metrics and problem details.
    #[must_use]
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Reads => "reads",
            Self::Writes => "writes",
            Self::AuthFailures => "auth_failures",
        }
    }

    fn counted(self) -> &'static str {
        match self {
            Self::Reads | Self::Writes => "requests",
            Self::AuthFailures => "failed authentications",
        }
    }

    fn scope(self) -> &'static str {
        match self {
            Self::Reads | Self::Writes => "this user",
            Self::AuthFailures => "this address",
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
    /// `RateLimit-Policy`, in the structured-field form of the IETF httpapi draft.
    #[must_use]
    pub fn policy_header(&self) -> String {
        format!(
            "\"{}\";q={};w={}",
            self.budget.as_str(),
            self.policy.quota,
            self.policy.window.as_secs()
        )
    }

    /// `RateLimit`: what is left of the budget and when it is whole again.
    #[must_use]
    pub fn limit_header(&self) -> String {
        let (remaining, reset) = match self.take {
            Take::Allowed { remaining, reset } => (remaining, reset),
            Take::Limited { retry_after } => (0, retry_after),
        };
        format!("\"{}\";r={remaining};t={reset}", self.budget.as_str())
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

const SHARDS: usize = 16;

/// A bounded map of buckets, split in shards behind their own locks.
struct Buckets<K> {
    shards: Vec<Mutex<HashMap<K, Bucket>>>,
    hasher: RandomState,
    per_shard: usize,
}

impl<K: Hash + Eq + Clone> Buckets<K> {
    fn new(max_entries: usize) -> Self {
        Self {
            shards: (0..SHARDS).map(|_| Mutex::new(HashMap::new())).collect(),
            hasher: RandomState::new(),
            per_shard: max_entries.div_ceil(SHARDS).max(1),
        }
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

/// The service's budgets: per user for reads and writes, per address for auth failures.
pub struct RateLimiter {
    settings: RateLimitSettings,
    started: Instant,
    reads: Buckets<String>,
    writes: Buckets<String>,
    auth_failures: Buckets<IpAddr>,
}

impl RateLimiter {
    #[must_use]
    pub fn new(settings: RateLimitSettings) -> Self {
        let max = settings.max_entries;
        Self {
            settings,
            started: Instant::now(),
            reads: Buckets::new(max),
            writes: Buckets::new(max),
            auth_failures: Buckets::new(max),
        }
    }

    #[must_use]
    pub fn settings(&self) -> &RateLimitSettings {
        &self.settings
    }

    fn now(&self) -> Duration {
        self.started.elapsed()
    }

    /// Spends one request of `user`'s reads or writes budget.
    #[must_use]
    pub fn take_user(&self, budget: Budget, user: &str) -> Decision {
        self.take_user_at(budget, user, self.now())
    }

    fn take_user_at(&self, budget: Budget, user: &str, now: Duration) -> Decision {
        let policy = self.settings.policy(budget);
        let buckets = match budget {
            Budget::Writes => &self.writes,
            Budget::Reads | Budget::AuthFailures => &self.reads,
        };
        let take = buckets.with(user, now, |b| b.take(policy, now));
        Decision {
            budget,
            policy,
            take,
        }
    }

    /// Whether `addr` may still try a credential (spends nothing).
    #[must_use]
    pub fn check_auth_failures(&self, addr: IpAddr) -> Decision {
        self.auth_failures_at(addr, self.now(), false)
    }

    /// Counts one refused credential from `addr`.
    #[must_use]
    pub fn record_auth_failure(&self, addr: IpAddr) -> Decision {
        self.auth_failures_at(addr, self.now(), true)
    }

    fn auth_failures_at(&self, addr: IpAddr, now: Duration, spend: bool) -> Decision {
        let policy = self.settings.auth_failures;
        let take = self.auth_failures.with(&addr, now, |b| {
            if spend {
                b.take(policy, now)
            } else {
                b.peek(policy, now)
            }
        });
        Decision {
            budget: Budget::AuthFailures,
            policy,
            take,
        }
    }

    /// The client's address: the peer, or when the peer is a trusted proxy, the last
    /// address of `X-Forwarded-For` that is not one.
    #[must_use]
    pub fn client_addr(&self, peer: Option<IpAddr>, forwarded_for: Option<&str>) -> IpAddr {
        let unknown = IpAddr::from([0, 0, 0, 0]);
        let Some(peer) = peer else {
            return unknown;
        };
        let trusted = &self.settings.trusted_proxies;
        if !trusted.contains(&peer) {
            return peer;
        }
        forwarded_for
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
        assert!(
            l.take_user_at(Budget::Reads, "a", now)
                .retry_after()
                .is_none()
        );
        assert!(
            l.take_user_at(Budget::Reads, "a", now)
                .retry_after()
                .is_none()
        );
        let refused = l.take_user_at(Budget::Reads, "a", now);
        assert_eq!(refused.retry_after(), Some(5));
        assert_eq!(
            refused.detail(),
            "the reads budget of 2 requests per 10 s for this user is used up; retry after 5 s"
        );
        assert_eq!(refused.policy_header(), "\"reads\";q=2;w=10");
        assert_eq!(refused.limit_header(), "\"reads\";r=0;t=5");
        assert!(
            l.take_user_at(Budget::Reads, "b", now)
                .retry_after()
                .is_none()
        );
        assert!(
            l.take_user_at(Budget::Writes, "a", now)
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

    #[test]
    fn the_maps_stay_bounded_and_forget_full_buckets() {
        let l = limiter(SHARDS * 2);
        for n in 0..1000 {
            let _ = l.take_user_at(Budget::Reads, &format!("user{n}"), secs(0));
        }
        assert!(l.reads.len() <= SHARDS * 2, "{}", l.reads.len());
        // Later, every bucket has refilled: new users replace them all.
        for n in 0..1000 {
            let _ = l.take_user_at(Budget::Reads, &format!("later{n}"), secs(100));
        }
        assert!(l.reads.len() <= SHARDS * 2);
        // A request that spends nothing leaves nothing behind.
        let _ = l.auth_failures_at(IpAddr::from([1, 2, 3, 4]), secs(0), false);
        assert_eq!(l.auth_failures.len(), 0);
    }

    #[test]
    fn forwarded_for_is_believed_only_from_trusted_proxies() {
        let proxy = IpAddr::from([10, 0, 0, 9]);
        let client = IpAddr::from([203, 0, 113, 7]);
        let plain = limiter(10);
        assert_eq!(plain.client_addr(Some(proxy), Some("198.51.100.1")), proxy);
        assert_eq!(plain.client_addr(None, None), IpAddr::from([0, 0, 0, 0]));
        let behind = RateLimiter::new(RateLimitSettings {
            trusted_proxies: vec![proxy],
            ..RateLimitSettings::default()
        });
        assert_eq!(
            behind.client_addr(Some(proxy), Some("198.51.100.1, 203.0.113.7, 10.0.0.9")),
            client
        );
        assert_eq!(behind.client_addr(Some(proxy), None), proxy);
        assert_eq!(behind.client_addr(Some(client), Some("1.1.1.1")), client);
    }
}
