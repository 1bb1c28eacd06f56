//! Short-lived, bounded, in-process caches whose entries expire: users, credentials, Inboxes
//! and lists' open-task counts.

use std::collections::HashMap;
use std::hash::Hash;
use std::sync::{Mutex, PoisonError};

use chrono::TimeDelta;
use todo_domain::{Timestamp, User, UserId};

/// A short-lived, bounded, in-process cache whose entries expire.
///
/// Entries live for at most `ttl` (0 disables the cache), or less when the caller says
/// so (a session that ends sooner). When full, expired entries are dropped first, then
/// everything.
#[derive(Debug)]
pub struct TtlCache<K, V> {
    ttl: TimeDelta,
    capacity: usize,
    entries: Mutex<HashMap<K, (V, Timestamp)>>,
}

/// User rows by id, so an authenticated request does not always cost a database round trip.
///
/// Role changes and deletions made through this service call [`TtlCache::forget`], so
/// they take effect at once on this replica; changes made elsewhere (Better Auth, another
/// replica) take effect within the TTL.
pub type UserCache = TtlCache<UserId, User>;

impl<K: Eq + Hash + Clone, V: Clone> TtlCache<K, V> {
    #[must_use]
    pub fn new(ttl: std::time::Duration, capacity: usize) -> Self {
        Self {
            ttl: TimeDelta::from_std(ttl).unwrap_or(TimeDelta::MAX),
            capacity,
            entries: Mutex::new(HashMap::new()),
        }
    }

    /// A cache that keeps nothing.
    #[must_use]
    pub fn disabled() -> Self {
        Self::new(std::time::Duration::ZERO, 0)
    }

    #[must_use]
    pub fn ttl(&self) -> std::time::Duration {
        self.ttl.to_std().unwrap_or_default()
    }

    #[must_use]
    pub fn capacity(&self) -> usize {
        self.capacity
    }

    fn enabled(&self) -> bool {
        self.ttl > TimeDelta::zero() && self.capacity > 0
    }

    /// The cached value, if it has not expired at `now`.
    pub fn get(&self, key: &K, now: Timestamp) -> Option<V> {
        self.read(key, now, V::clone)
    }

    /// `read` of the cached value, if it has not expired at `now`, without copying it (the
    /// cache is locked meanwhile).
    pub fn read<R>(&self, key: &K, now: Timestamp, read: impl FnOnce(&V) -> R) -> Option<R> {
        self.update(key, now, |value| read(value))
    }

    /// `update` of the cached value in place, if it has not expired at `now` (the cache
    /// is locked meanwhile); its expiry stays.
    pub fn update<R>(
        &self,
        key: &K,
        now: Timestamp,
        update: impl FnOnce(&mut V) -> R,
    ) -> Option<R> {
        if !self.enabled() {
            return None;
        }
        let mut entries = self.entries.lock().unwrap_or_else(PoisonError::into_inner);
        entries
            .get_mut(key)
            .filter(|(_, expires)| now < *expires)
            .map(|(value, _)| update(value))
    }

    /// Stores `value` from `now` for the TTL, or until `until` if that is sooner.
    pub fn put(&self, key: K, value: V, now: Timestamp, until: Option<Timestamp>) {
        if !self.enabled() {
            return;
        }
        let expires = now.checked_add_signed(self.ttl).map_or(until, |by_ttl| {
            Some(until.map_or(by_ttl, |u| u.min(by_ttl)))
        });
        let Some(expires) = expires.filter(|e| *e > now) else {
            return;
        };
        let mut entries = self.entries.lock().unwrap_or_else(PoisonError::into_inner);
        if entries.len() >= self.capacity && !entries.contains_key(&key) {
            entries.retain(|_, (_, e)| now < *e);
            if entries.len() >= self.capacity {
                entries.clear();
            }
        }
        entries.insert(key, (value, expires));
    }

    pub fn forget(&self, key: &K) {
        self.entries
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .remove(key);
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use crate::testing::{at, uid, user_row};
    use std::time::Duration;

    #[test]
    fn entries_expire_after_the_ttl() {
        let cache = UserCache::new(Duration::from_secs(5), 10);
        cache.put(uid("alice"), user_row("alice", None), at(100), None);
        assert!(cache.get(&uid("alice"), at(104)).is_some());
        assert!(cache.get(&uid("alice"), at(105)).is_none());
    }

    #[test]
    fn entries_end_with_what_they_stand_for() {
        let cache = UserCache::new(Duration::from_secs(5), 10);
        cache.put(
            uid("alice"),
            user_row("alice", None),
            at(100),
            Some(at(102)),
        );
        assert!(cache.get(&uid("alice"), at(101)).is_some());
        assert!(
            cache.get(&uid("alice"), at(102)).is_none(),
            "the session ended first"
        );
        cache.put(uid("bob"), user_row("bob", None), at(100), Some(at(90)));
        assert!(
            cache.get(&uid("bob"), at(100)).is_none(),
            "already over: not stored"
        );
    }

    #[test]
    fn forgotten_entries_are_gone() {
        let cache = UserCache::new(Duration::from_secs(5), 10);
        cache.put(uid("alice"), user_row("alice", None), at(100), None);
        cache.forget(&uid("alice"));
        assert!(cache.get(&uid("alice"), at(100)).is_none());
    }

    #[test]
    fn an_update_changes_the_entry_until_it_expires() {
        let cache: TtlCache<u8, u64> = TtlCache::new(Duration::from_secs(5), 10);
        assert_eq!(
            cache.update(&1, at(100), |n| *n += 1),
            None,
            "nothing cached"
        );
        cache.put(1, 7, at(100), None);
        assert_eq!(
            cache.update(&1, at(101), |n| std::mem::replace(n, 8)),
            Some(7)
        );
        assert_eq!(cache.get(&1, at(104)), Some(8), "changed, expiring as put");
        assert_eq!(cache.update(&1, at(105), |n| *n += 1), None, "expired");
        assert_eq!(cache.get(&1, at(105)), None);
    }

    #[test]
    fn a_zero_ttl_disables_caching() {
        let cache = UserCache::new(Duration::ZERO, 10);
        cache.put(uid("alice"), user_row("alice", None), at(100), None);
        assert!(cache.get(&uid("alice"), at(100)).is_none());
    }

    #[test]
    fn the_cache_stays_within_its_capacity() {
        let cache = UserCache::new(Duration::from_secs(5), 2);
        for name in ["a", "b", "c", "d"] {
            cache.put(uid(name), user_row(name, None), at(100), None);
        }
        let kept = ["a", "b", "c", "d"]
            .iter()
            .filter(|n| cache.get(&uid(n), at(101)).is_some())
            .count();
        assert!(kept <= 2, "kept {kept}");
        assert!(cache.get(&uid("d"), at(101)).is_some());
    }
}
