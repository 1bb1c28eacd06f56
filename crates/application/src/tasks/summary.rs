//! What an owner's tasks add up to: the tags they use and counts by status, priority
//! and due date.

use todo_domain::{
    DueWindow, Principal, TagCount, TaskStats, TimeZone, UserId, count_tags, policy,
};

use super::TaskService;
use crate::error::ApplicationError;

impl TaskService {
    /// The tags `owner` uses, each with how many tasks carry it, sorted case-insensitively.
    pub async fn tags(
        &self,
        principal: &Principal,
        owner: &UserId,
    ) -> Result<Vec<TagCount>, ApplicationError> {
        policy::ensure_acts_for(principal, owner)?;
        Ok(count_tags(self.tasks.tag_lists(owner).await?))
    }

    /// Counts of `owner`'s tasks; "overdue" and "due today" are judged now, in `tz`.
    pub async fn stats(
        &self,
        principal: &Principal,
        owner: &UserId,
        tz: TimeZone,
    ) -> Result<TaskStats, ApplicationError> {
        policy::ensure_acts_for(principal, owner)?;
        let window = DueWindow::at(self.clock.now(), tz);
        Ok(self.tasks.stats(owner, &window).await?)
    }
}
