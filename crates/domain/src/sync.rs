//! The incremental sync feed: the tasks changed since a client last looked, and the
//! tombstones of the ones deleted since.

use crate::ids::{TaskId, UserId};
use crate::task::Task;
use crate::time::Timestamp;

/// What is left of a deleted task, for clients catching up with `updated_since`: kept for
/// the configured retention, then purged.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Tombstone {
    pub id: TaskId,
    pub owner: UserId,
    pub deleted_at: Timestamp,
}

/// One entry of a sync feed: a task as it is now, or the news that it was deleted. The
/// feed is ordered by [`Change::changed_at`], then id.
#[derive(Debug, Clone, PartialEq, Eq)]
#[allow(clippy::large_enum_variant)] // A page of them is written out once: boxing buys nothing.
pub enum Change {
    Updated(Task),
    Deleted(Tombstone),
}

impl Change {
    /// When it changed: the task's `updated_at`, or when it was deleted.
    #[must_use]
    pub fn changed_at(&self) -> Timestamp {
        match self {
            Self::Updated(task) => task.updated_at,
            Self::Deleted(tombstone) => tombstone.deleted_at,
        }
    }

    #[must_use]
    pub fn id(&self) -> TaskId {
        match self {
            Self::Updated(task) => task.id,
            Self::Deleted(tombstone) => tombstone.id,
        }
    }
}

/// Merges two feeds, each ordered by `(changed_at, id)`, into one in that order, keeping at
/// most `limit` entries.
#[must_use]
pub fn merge_changes(tasks: Vec<Task>, tombstones: Vec<Tombstone>, limit: usize) -> Vec<Change> {
    let mut merged = Vec::with_capacity((tasks.len() + tombstones.len()).min(limit));
    let mut tasks = tasks.into_iter().map(Change::Updated).peekable();
    let mut tombstones = tombstones.into_iter().map(Change::Deleted).peekable();
    while merged.len() < limit {
        let take_task = match (tasks.peek(), tombstones.peek()) {
            (Some(t), Some(d)) => (t.changed_at(), t.id()) <= (d.changed_at(), d.id()),
            (Some(_), None) => true,
            (None, Some(_)) => false,
            (None, None) => break,
        };
        let next = if take_task {
            tasks.next()
        } else {
            tombstones.next()
        };
        merged.extend(next);
    }
    merged
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use crate::task::TaskTitle;
    use chrono::TimeZone as _;

    fn at(secs: i64) -> Timestamp {
        chrono::Utc.timestamp_opt(secs, 0).unwrap()
    }

    fn task(n: u128, updated: i64) -> Task {
        let mut t = Task::new(
            TaskId::from_uuid(uuid::Uuid::from_u128(n)),
            UserId::parse("alice").unwrap(),
            crate::list::ListId::from_uuid(uuid::Uuid::nil()),
            TaskTitle::parse("t").unwrap(),
            None,
            at(0),
        );
        t.updated_at = at(updated);
        t
    }

    fn gone(n: u128, deleted: i64) -> Tombstone {
        Tombstone {
            id: TaskId::from_uuid(uuid::Uuid::from_u128(n)),
            owner: UserId::parse("alice").unwrap(),
            deleted_at: at(deleted),
        }
    }

    #[test]
    fn feeds_merge_in_time_then_id_order_up_to_the_limit() {
        let merged = merge_changes(
            vec![task(1, 10), task(4, 20), task(5, 40)],
            vec![gone(2, 10), gone(3, 30)],
            4,
        );
        let ids: Vec<u128> = merged.iter().map(|c| c.id().as_uuid().as_u128()).collect();
        assert_eq!(ids, [1, 2, 4, 3]);
        assert!(matches!(merged.get(1), Some(Change::Deleted(_))));
        assert_eq!(merge_changes(vec![], vec![gone(9, 1)], 5).len(), 1);
        assert!(merge_changes(vec![task(1, 1)], vec![], 0).is_empty());
    }
}
