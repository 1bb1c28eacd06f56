//! Every user's Inbox, created the first time it is needed and then remembered.

use std::sync::Arc;

use todo_domain::{ListId, TaskList, UserId};

use crate::cache::TtlCache;
use crate::error::ApplicationError;
use crate::ports::{Clock, IdGenerator, ListRepository};

/// Finds (creating when missing) a user's Inbox. Its id never changes while the user
/// exists, so it is cached: creating a task in the Inbox costs no extra round trip after
/// the first.
#[derive(Clone)]
pub struct Inboxes {
    lists: Arc<dyn ListRepository>,
    clock: Arc<dyn Clock>,
    ids: Arc<dyn IdGenerator>,
    cache: Arc<TtlCache<UserId, ListId>>,
}

impl Inboxes {
    /// Inbox ids of up to 100 000 users, each remembered for an hour.
    pub fn new(
        lists: Arc<dyn ListRepository>,
        clock: Arc<dyn Clock>,
        ids: Arc<dyn IdGenerator>,
    ) -> Self {
        Self {
            lists,
            clock,
            ids,
            cache: Arc::new(TtlCache::new(std::time::Duration::from_secs(3600), 100_000)),
        }
    }

    /// The id of `user`'s Inbox, created now when they have none.
    pub async fn of(&self, user: &UserId) -> Result<ListId, ApplicationError> {
        let now = self.clock.now();
        if let Some(id) = self.cache.get(user, now) {
            return Ok(id);
        }
        let candidate = TaskList::inbox(self.ids.new_list_id(), user.clone(), now);
        let id = self.lists.ensure_inbox(&candidate).await?;
        self.cache.put(user.clone(), id, now, None);
        Ok(id)
    }

    /// Forgets `user`'s Inbox (they were deleted).
    pub fn forget(&self, user: &UserId) {
        self.cache.forget(user);
    }
}
