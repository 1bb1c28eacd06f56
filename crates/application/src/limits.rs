//! How many lists, members, open tasks and levels of subtasks there may be.

/// How many of each thing there may be.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// Lists a user owns (their Inbox included).
    pub lists_per_user: u32,
    /// Members of a list (its owner included).
    pub members_per_list: u32,
    /// Open tasks in a list.
    pub open_tasks_per_list: u32,
    /// Levels of nesting: a top-level task is at level 1, its subtasks at level 2, …
    pub nesting_depth: u32,
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            lists_per_user: 1000,
            members_per_list: 100,
            open_tasks_per_list: 10_000,
            nesting_depth: 5,
        }
    }
}
