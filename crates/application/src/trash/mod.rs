//! The trash: what a user deleted, restored or forgotten on request, purged after the
//! retention.

use std::sync::Arc;

use chrono::TimeDelta;
use todo_domain::{Principal, Timestamp, TrashEntry, TrashKind, UserId, policy, trash};

use crate::error::ApplicationError;
use crate::inbox::Inboxes;
use crate::pagination::{Page, PageSettings, paginate};
use crate::ports::{Clock, ListRepository, TrashRepository};

/// A user's trash.
#[derive(Clone)]
pub struct TrashService {
    trash: Arc<dyn TrashRepository>,
    lists: Arc<dyn ListRepository>,
    inboxes: Inboxes,
    clock: Arc<dyn Clock>,
    pages: PageSettings,
    retention: TimeDelta,
}

/// The cursor of a trash page: the last entry's deletion time and id.
pub type TrashCursor = (Timestamp, uuid::Uuid);

impl TrashService {
    pub fn new(
        trash: Arc<dyn TrashRepository>,
        lists: Arc<dyn ListRepository>,
        inboxes: Inboxes,
        clock: Arc<dyn Clock>,
    ) -> Self {
        Self {
            trash,
            lists,
            inboxes,
            clock,
            pages: PageSettings::default(),
            retention: TimeDelta::days(30),
        }
    }

    #[must_use]
    pub fn with_pages(mut self, pages: PageSettings) -> Self {
        self.pages = pages;
        self
    }

    /// How long an entry is kept (30 days by default).
    #[must_use]
    pub fn with_retention(mut self, retention: TimeDelta) -> Self {
        self.retention = retention;
        self
    }

    #[must_use]
    pub fn retention(&self) -> TimeDelta {
        self.retention
    }

    /// One page of `owner`'s trash, newest first.
    pub async fn list(
        &self,
        principal: &Principal,
        owner: &UserId,
        limit: Option<u32>,
        after: Option<TrashCursor>,
    ) -> Result<Page<TrashEntry, TrashCursor>, ApplicationError> {
        policy::ensure_acts_for(principal, owner)?;
        let limit = self.pages.limit(limit)?;
        let rows = self
            .trash
            .list(owner, limit.saturating_add(1), after)
            .await?;
        Ok(paginate(rows, limit, |e: &TrashEntry| (e.deleted_at, e.id)))
    }

    async fn entry(&self, owner: &UserId, id: uuid::Uuid) -> Result<TrashEntry, ApplicationError> {
        self.trash
            .get(owner, id)
            .await?
            .ok_or(ApplicationError::NotFound("trash entry"))
    }

    /// Restores an entry: a task (with the subtasks deleted with it) into the list it was
    /// deleted from while the caller may still change its tasks, else into their Inbox; a
    /// list with its tasks and members. Returns the entry as it was, with the list the
    /// tasks are in now.
    pub async fn restore(
        &self,
        principal: &Principal,
        owner: &UserId,
        id: uuid::Uuid,
    ) -> Result<TrashEntry, ApplicationError> {
        policy::ensure_acts_for(principal, owner)?;
        let mut entry = self.entry(owner, id).await?;
        let now = self.clock.now();
        let restored = match entry.kind {
            TrashKind::Task => {
                let role = self.lists.role(owner, entry.list).await?;
                let inbox = self.inboxes.of(owner).await?;
                let into = trash::restore_into(entry.list, role, inbox);
                let restored = self.trash.restore_task(&entry, into, now).await?;
                entry.list = into;
                restored
            }
            TrashKind::List => self.trash.restore_list(&entry, now).await?,
        };
        if !restored {
            // Restored or purged since it was read.
            return Err(ApplicationError::NotFound("trash entry"));
        }
        Ok(entry)
    }

    /// Forgets an entry for good.
    pub async fn delete(
        &self,
        principal: &Principal,
        owner: &UserId,
        id: uuid::Uuid,
    ) -> Result<(), ApplicationError> {
        policy::ensure_acts_for(principal, owner)?;
        if self.trash.delete(owner, id).await? {
            Ok(())
        } else {
            Err(ApplicationError::NotFound("trash entry"))
        }
    }

    /// Forgets every entry; how many there were.
    pub async fn empty(
        &self,
        principal: &Principal,
        owner: &UserId,
    ) -> Result<u64, ApplicationError> {
        policy::ensure_acts_for(principal, owner)?;
        Ok(self.trash.empty(owner).await?)
    }

    /// Forgets entries older than the retention; how many. Run periodically by the server.
    pub async fn purge_expired(&self) -> Result<u64, ApplicationError> {
        Ok(self.trash.purge(self.clock.now() - self.retention).await?)
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests;
