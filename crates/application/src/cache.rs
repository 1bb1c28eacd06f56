use std::collections::HashMap;
use std::sync::{Mutex, PoisonError};

use chrono::TimeDelta;
use todo_domain::{Timestamp, User, UserId};

/// A short-lived, bounded, in-process cache of user rows, so that an authenticated request
/// does not always cost a database round trip.
///
/// Entries live for `ttl` (0 disables the cache). Role changes and deletions made through
/// this service call [`UserCache::forget`], so they take effect at once on this replica;
/// changes made elsewhere (Better Auth, another replica) take effect within `ttl`.
#[derive(Debug)]
pub struct UserCache {
    ttl: TimeDelta,
    capacity: usize,
    entries: Mutex<HashMap<UserId, (User, Timestamp)>>,
}

impl UserCache {
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

    fn enabled(&self) -> bool {
        self.ttl > TimeDelta::zero() && self.capacity > 0
    }

    /// The cached row, if it was stored less than `ttl` before `now`.
    pub fn get(&self, id: &UserId, now: Timestamp) -> Option<User> {
        if !self.enabled() {
            return None;
        }
        let entries = self.entries.lock().unwrap_or_else(PoisonError::into_inner);
        entries
            .get(id)
            .filter(|(_, stored)| now < *stored + self.ttl && now >= *stored)
            .map(|(user, _)| user.clone())
    }

    pub fn put(&self, user: User, now: Timestamp) {
        if !self.enabled() {
            return;
        }
        let mut entries = self.entries.lock().unwrap_or_else(PoisonError::into_inner);
        if entries.len() >= self.capacity && !entries.contains_key(&user.id) {
            let ttl = self.ttl;
            entries.retain(|_, (_, stored)| now < *stored + ttl);
            if entries.len() >= self.capacity {
                entries.clear();
            }
        }
        entries.insert(user.id.clone(), (user, now));
    }

    pub fn forget(&self, id: &UserId) {
        self.entries
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .remove(id);
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use crate::testing::{at, user_row};
    use std::time::Duration;

    #[test]
    fn entries_expire_after_the_ttl() {
        let cache = UserCache::new(Duration::from_secs(5), 10);
        cache.put(user_row("alice", None), at(100));
        assert!(cache.get(&user_row("alice", None).id, at(104)).is_some());
        assert!(cache.get(&user_row("alice", None).id, at(105)).is_none());
    }

    #[test]
    fn forgotten_entries_are_gone() {
        let cache = UserCache::new(Duration::from_secs(5), 10);
        cache.put(user_row("alice", None), at(100));
        cache.forget(&user_row("alice", None).id);
        assert!(cache.get(&user_row("alice", None).id, at(100)).is_none());
    }

    #[test]
    fn a_zero_ttl_disables_caching() {
        let cache = UserCache::new(Duration::ZERO, 10);
        cache.put(user_row("alice", None), at(100));
        assert!(cache.get(&user_row("alice", None).id, at(100)).is_none());
    }

    #[test]
    fn the_cache_stays_within_its_capacity() {
        let cache = UserCache::new(Duration::from_secs(5), 2);
        for name in ["a", "b", "c", "d"] {
            cache.put(user_row(name, None), at(100));
        }
        let kept = ["a", "b", "c", "d"]
            .iter()
            .filter(|n| cache.get(&user_row(n, None).id, at(101)).is_some())
            .count();
        assert!(kept <= 2, "kept {kept}");
        assert!(cache.get(&user_row("d", None).id, at(101)).is_some());
    }
}
