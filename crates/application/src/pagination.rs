//! Pages of lists: how large they may be, and how one is cut from what a store returns.

use todo_domain::{ListCursor, Task, TaskQuery, UserId, page_limit};

use crate::error::ApplicationError;
use crate::ports::TaskRepository;

/// Page sizes for lists: what a client gets without asking, and the most it may ask for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PageSettings {
    pub default_limit: u32,
    pub max_limit: u32,
}

impl Default for PageSettings {
    fn default() -> Self {
        Self {
            default_limit: 1000,
            max_limit: 1000,
        }
    }
}

impl PageSettings {
    /// The page size for a client's optional `limit`.
    ///
    /// # Errors
    /// `Validation` of `limit` when it is 0 or above the maximum.
    pub fn limit(&self, limit: Option<u32>) -> Result<u32, ApplicationError> {
        let max = self.max_limit.max(1);
        Ok(page_limit(
            limit.unwrap_or(self.default_limit.clamp(1, max)),
            max,
        )?)
    }
}

/// One page of a list and, when more remain, where the next one starts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Page<T, C> {
    pub items: Vec<T>,
    pub next: Option<C>,
}

/// Cuts a page of `limit` from `rows`, fetched as `limit + 1`: the extra one only says that
/// more remain, and the next page starts after the last one kept.
pub(crate) fn paginate<T, C>(
    mut rows: Vec<T>,
    limit: u32,
    cursor_of: impl Fn(&T) -> C,
) -> Page<T, C> {
    let limit = usize::try_from(limit).unwrap_or(usize::MAX);
    if rows.len() > limit {
        rows.truncate(limit);
        let next = rows.last().map(cursor_of);
        Page { items: rows, next }
    } else {
        Page {
            items: rows,
            next: None,
        }
    }
}

/// One page of `owner`'s tasks that `query` selects, in its order, after `after` (the
/// owner's own listing and the admin's).
pub(crate) async fn task_page(
    tasks: &dyn TaskRepository,
    owner: &UserId,
    query: &TaskQuery,
    limit: u32,
    after: Option<ListCursor>,
) -> Result<Page<Task, ListCursor>, ApplicationError> {
    let rows = tasks
        .search(owner, query, limit.saturating_add(1), after)
        .await?;
    Ok(paginate(rows, limit, |t: &Task| {
        ListCursor::after(t, query.sort)
    }))
}
