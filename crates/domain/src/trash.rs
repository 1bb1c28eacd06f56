//! The trash: deleted tasks (with their subtasks) and lists (with their tasks), kept for
//! a while so that their deleter can restore them.

use crate::ids::UserId;
use crate::list::{ListId, Role};
use crate::time::Timestamp;

/// What a trash entry holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum TrashKind {
    /// A task, with the subtasks deleted with it.
    Task,
    /// A list, with its tasks.
    List,
}

impl TrashKind {
    /// `task` or `list`: in JSON and the store.
    #[must_use]
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Task => "task",
            Self::List => "list",
        }
    }

    /// Reads a stored kind; `None` for text no version of the service writes.
    #[must_use]
    pub fn from_stored(raw: &str) -> Option<Self> {
        match raw {
            "task" => Some(Self::Task),
            "list" => Some(Self::List),
            _ => None,
        }
    }
}

/// One deleted thing in its deleter's trash. Its id is the id of the task or list it
/// holds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TrashEntry {
    pub id: uuid::Uuid,
    pub kind: TrashKind,
    /// Who deleted it: whose trash it is in.
    pub owner: UserId,
    /// The task's title or the list's name.
    pub title: String,
    /// The list it was in (a task), or the list itself.
    pub list: ListId,
    /// How many tasks it holds: the task and its subtasks, or the list's tasks.
    pub tasks: u32,
    pub deleted_at: Timestamp,
}

/// Where a task comes back to from the trash: the list it was deleted from while the
/// restorer may still change its tasks (`role_there`: their role in it now, `None` when
/// they are no member or it is gone), and their Inbox otherwise.
#[must_use]
pub fn restore_into(deleted_from: ListId, role_there: Option<Role>, inbox: ListId) -> ListId {
    match role_there {
        Some(role) if role >= Role::Editor => deleted_from,
        _ => inbox,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_task_returns_to_its_list_only_while_its_restorer_edits_it() {
        let (list, inbox) = (
            ListId::from_uuid(uuid::Uuid::from_u128(1)),
            ListId::from_uuid(uuid::Uuid::from_u128(2)),
        );
        assert_eq!(restore_into(list, Some(Role::Owner), inbox), list);
        assert_eq!(restore_into(list, Some(Role::Editor), inbox), list);
        assert_eq!(restore_into(list, Some(Role::Viewer), inbox), inbox);
        assert_eq!(restore_into(list, None, inbox), inbox);
    }

    #[test]
    fn kinds_read_back() {
        for kind in [TrashKind::Task, TrashKind::List] {
            assert_eq!(TrashKind::from_stored(kind.as_str()), Some(kind));
        }
        assert_eq!(TrashKind::from_stored("user"), None);
    }
}
