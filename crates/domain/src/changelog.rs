//! The change log: what each write records about itself, and who may read the record.
//!
//! Every write of a task, a list or a membership appends one record per thing it changed
//! (a task completed with its subtasks: one for each), in the same transaction as the
//! write. This module says what a record holds and how a write's record is derived from
//! the values before and after it; the stores write it, the event stream reads it.

use std::fmt;

use crate::{DomainError, InvalidReason, ListId, Task, TaskId, TaskList, Timestamp, UserId};

/// What a change did, as its event names it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ChangeKind {
    TaskCreated,
    TaskUpdated,
    TaskCompleted,
    TaskDeleted,
    TaskRestored,
    TaskMoved,
    ListCreated,
    ListUpdated,
    ListDeleted,
    ListRestored,
    MemberAdded,
    MemberUpdated,
    MemberRemoved,
}

impl ChangeKind {
    pub const ALL: [Self; 13] = [
        Self::TaskCreated,
        Self::TaskUpdated,
        Self::TaskCompleted,
        Self::TaskDeleted,
        Self::TaskRestored,
        Self::TaskMoved,
        Self::ListCreated,
        Self::ListUpdated,
        Self::ListDeleted,
        Self::ListRestored,
        Self::MemberAdded,
        Self::MemberUpdated,
        Self::MemberRemoved,
    ];

    /// Its name in the event stream and in the store.
    #[must_use]
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::TaskCreated => "task.created",
            Self::TaskUpdated => "task.updated",
            Self::TaskCompleted => "task.completed",
            Self::TaskDeleted => "task.deleted",
            Self::TaskRestored => "task.restored",
            Self::TaskMoved => "task.moved",
            Self::ListCreated => "list.created",
            Self::ListUpdated => "list.updated",
            Self::ListDeleted => "list.deleted",
            Self::ListRestored => "list.restored",
            Self::MemberAdded => "member.added",
            Self::MemberUpdated => "member.updated",
            Self::MemberRemoved => "member.removed",
        }
    }

    /// The kind a stored name stands for.
    #[must_use]
    pub fn from_stored(stored: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|k| k.as_str() == stored)
    }
}

/// What a write says about itself: the kind, who made it and the names of the fields it
/// changed (as the API names them). The store adds where (list, task), the new version
/// and the time from the row it wrote.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Edit {
    pub kind: ChangeKind,
    pub actor: UserId,
    pub fields: Vec<&'static str>,
}

impl Edit {
    #[must_use]
    pub fn new(kind: ChangeKind, actor: UserId, fields: Vec<&'static str>) -> Self {
        Self {
            kind,
            actor,
            fields,
        }
    }

    /// A task's edit by `actor`, from `before` to `after`: moved when its list or place
    /// changed, completed when it was open and is done now, else updated; with the names of
    /// the fields that differ.
    #[must_use]
    pub fn of_task(actor: &UserId, before: &Task, after: &Task) -> Self {
        let fields = task_fields(before, after);
        let kind = if before.list != after.list || before.position != after.position {
            ChangeKind::TaskMoved
        } else if !before.completed && after.completed {
            ChangeKind::TaskCompleted
        } else {
            ChangeKind::TaskUpdated
        };
        Self::new(kind, actor.clone(), fields)
    }

    /// The creation of `task`, by its creator.
    #[must_use]
    pub fn created(task: &Task) -> Self {
        Self::new(ChangeKind::TaskCreated, task.owner.clone(), Vec::new())
    }

    /// A completion flipped by `actor`: completed, or (reopened) updated.
    #[must_use]
    pub fn toggled(actor: &UserId, completed: bool) -> Self {
        let kind = if completed {
            ChangeKind::TaskCompleted
        } else {
            ChangeKind::TaskUpdated
        };
        Self::new(kind, actor.clone(), vec!["completed"])
    }

    /// A task deleted by `actor` (each of its subtasks gets the same record).
    #[must_use]
    pub fn deleted(actor: &UserId) -> Self {
        Self::new(ChangeKind::TaskDeleted, actor.clone(), Vec::new())
    }

    /// What the same write does to each subtask of the task it edits: a move carries them
    /// along (`list_id`), a completion completes the open ones (`completed`); any other
    /// edit leaves them as they are.
    #[must_use]
    pub fn for_subtasks(&self) -> Option<Self> {
        let (kind, field) = match self.kind {
            ChangeKind::TaskMoved if self.fields.contains(&"list_id") => {
                (ChangeKind::TaskMoved, "list_id")
            }
            ChangeKind::TaskCompleted => (ChangeKind::TaskCompleted, "completed"),
            ChangeKind::TaskDeleted => return Some(self.clone()),
            _ => return None,
        };
        Some(Self::new(kind, self.actor.clone(), vec![field]))
    }

    /// A list's edit by `actor`, from `before` to `after`.
    #[must_use]
    pub fn of_list(actor: &UserId, before: &TaskList, after: &TaskList) -> Self {
        let mut fields = Vec::new();
        let mut differs = |name: &'static str, differ: bool| {
            if differ {
                fields.push(name);
            }
        };
        differs("name", before.name != after.name);
        differs("colour", before.colour != after.colour);
        differs("position", before.position != after.position);
        differs("archived", before.archived != after.archived);
        differs("owner_id", before.owner != after.owner);
        Self::new(ChangeKind::ListUpdated, actor.clone(), fields)
    }
}

/// The names (as the API spells them) of the fields of a task that differ.
#[must_use]
pub fn task_fields(before: &Task, after: &Task) -> Vec<&'static str> {
    let mut fields = Vec::new();
    let mut differs = |name: &'static str, differ: bool| {
        if differ {
            fields.push(name);
        }
    };
    differs("title", before.title != after.title);
    differs("description", before.description != after.description);
    differs("completed", before.completed != after.completed);
    differs("priority", before.priority != after.priority);
    differs("tags", before.tags != after.tags);
    differs("due", before.due != after.due);
    differs("remind_at", before.remind_at != after.remind_at);
    differs("recurrence", before.recurrence != after.recurrence);
    differs("time_zone", before.time_zone != after.time_zone);
    differs("position", before.position != after.position);
    differs("list_id", before.list != after.list);
    differs("parent_id", before.parent != after.parent);
    differs("assignee_id", before.assignee != after.assignee);
    fields
}

/// A place in the change log, in the order every reader reads it: the writing
/// transaction's id (PostgreSQL's, as committed transactions are seen in order of it by a
/// reader that only reads those older than every transaction still running; 0 on SQLite,
/// whose writes take turns), then the record's id. Written `tx-id` in an event's `id:`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct ChangeCursor {
    pub tx: u64,
    pub id: u64,
}

impl ChangeCursor {
    /// Before every record.
    pub const START: Self = Self { tx: 0, id: 0 };

    /// A cursor as an event's `id:` wrote it.
    ///
    /// # Errors
    /// When `raw` is not two decimal numbers joined by `-`.
    pub fn parse(raw: &str) -> Result<Self, DomainError> {
        let invalid = || {
            DomainError::invalid(
                "after",
                InvalidReason::Malformed("an event id of the form 12-34"),
            )
        };
        let (tx, id) = raw.trim().split_once('-').ok_or_else(invalid)?;
        // Each part as the store keeps it: a non-negative 64-bit signed number.
        let number = |s: &str| {
            if s.is_empty() || s.len() > 19 || !s.bytes().all(|b| b.is_ascii_digit()) {
                return Err(invalid());
            }
            s.parse::<i64>()
                .ok()
                .and_then(|n| u64::try_from(n).ok())
                .ok_or_else(invalid)
        };
        Ok(Self {
            tx: number(tx)?,
            id: number(id)?,
        })
    }
}

impl fmt::Display for ChangeCursor {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}-{}", self.tx, self.id)
    }
}

/// A committed change, as read back from the log.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChangeRecord {
    pub cursor: ChangeCursor,
    pub kind: ChangeKind,
    pub list: Option<ListId>,
    pub task: Option<TaskId>,
    pub actor: UserId,
    /// The user a change concerns beyond its list's members: the member added, changed or
    /// removed; each former member of a deleted list.
    pub subject: Option<UserId>,
    /// The changed task's or list's version after the change.
    pub version: Option<i64>,
    pub fields: Vec<String>,
    pub at: Timestamp,
}

impl ChangeRecord {
    /// Whether `reader` may see it, given whether they are a member of its list when it is
    /// delivered: members see their lists' changes; the user a change concerns sees that
    /// change too (a removed member learns of the removal, and of nothing after it; the
    /// members of a deleted list, of its deletion).
    #[must_use]
    pub fn visible_to(&self, reader: &UserId, member_of_list: bool) -> bool {
        member_of_list || self.subject.as_ref() == Some(reader)
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use crate::{Position, TaskTitle};

    fn task() -> Task {
        Task::new(
            TaskId::from_uuid(uuid::Uuid::from_u128(1)),
            UserId::parse("alice").unwrap(),
            ListId::from_uuid(uuid::Uuid::from_u128(2)),
            TaskTitle::parse("buy milk").unwrap(),
            None,
            chrono::DateTime::UNIX_EPOCH,
        )
    }

    #[test]
    fn every_kind_reads_back_from_its_stored_name() {
        for kind in ChangeKind::ALL {
            assert_eq!(ChangeKind::from_stored(kind.as_str()), Some(kind));
        }
        assert_eq!(ChangeKind::from_stored("task.exploded"), None);
        let names: std::collections::HashSet<_> =
            ChangeKind::ALL.iter().map(|k| k.as_str()).collect();
        assert_eq!(names.len(), ChangeKind::ALL.len());
    }

    #[test]
    fn a_tasks_edit_names_what_changed_and_what_kind_of_change_it_is() {
        let bob = UserId::parse("bob").unwrap();
        let before = task();
        let mut retitled = before.clone();
        retitled.title = TaskTitle::parse("buy oat milk").unwrap();
        retitled.version += 1;
        let edit = Edit::of_task(&bob, &before, &retitled);
        assert_eq!(edit.kind, ChangeKind::TaskUpdated);
        assert_eq!(edit.fields, vec!["title"]);
        assert_eq!(edit.actor, bob);

        let mut done = retitled.clone();
        done.set_completed(true, chrono::DateTime::UNIX_EPOCH);
        let edit = Edit::of_task(&bob, &before, &done);
        assert_eq!(edit.kind, ChangeKind::TaskCompleted);
        assert_eq!(edit.fields, vec!["title", "completed"]);
        // Reopening is an update.
        assert_eq!(
            Edit::of_task(&bob, &done, &retitled).kind,
            ChangeKind::TaskUpdated
        );

        let mut elsewhere = before.clone();
        elsewhere.list = ListId::from_uuid(uuid::Uuid::from_u128(3));
        let edit = Edit::of_task(&bob, &before, &elsewhere);
        assert_eq!(
            (edit.kind, edit.fields.clone()),
            (ChangeKind::TaskMoved, vec!["list_id"])
        );
        assert_eq!(
            edit.for_subtasks(),
            Some(Edit::new(
                ChangeKind::TaskMoved,
                bob.clone(),
                vec!["list_id"]
            ))
        );

        let mut reordered = before.clone();
        reordered.position = Position::parse("zz").unwrap();
        let edit = Edit::of_task(&bob, &before, &reordered);
        assert_eq!(
            (edit.kind, edit.fields.clone()),
            (ChangeKind::TaskMoved, vec!["position"])
        );
        // Reordering a parent leaves its subtasks where they are.
        assert_eq!(edit.for_subtasks(), None);
        assert_eq!(Edit::of_task(&bob, &before, &retitled).for_subtasks(), None);
        assert_eq!(
            Edit::of_task(&bob, &before, &done).for_subtasks(),
            Some(Edit::new(
                ChangeKind::TaskCompleted,
                bob.clone(),
                vec!["completed"]
            ))
        );
        assert_eq!(
            Edit::deleted(&bob).for_subtasks(),
            Some(Edit::deleted(&bob))
        );
    }

    #[test]
    fn a_toggle_completes_or_updates() {
        let bob = UserId::parse("bob").unwrap();
        assert_eq!(Edit::toggled(&bob, true).kind, ChangeKind::TaskCompleted);
        assert_eq!(Edit::toggled(&bob, false).kind, ChangeKind::TaskUpdated);
        assert_eq!(Edit::toggled(&bob, false).fields, vec!["completed"]);
        assert_eq!(Edit::created(&task()).actor.as_str(), "alice");
    }

    #[test]
    fn cursors_order_by_transaction_then_record_and_read_back() {
        let a = ChangeCursor { tx: 7, id: 900 };
        let b = ChangeCursor { tx: 8, id: 3 };
        assert!(a < b);
        assert!(ChangeCursor::START < a);
        assert_eq!(a.to_string(), "7-900");
        assert_eq!(ChangeCursor::parse("7-900").unwrap(), a);
        assert_eq!(ChangeCursor::parse(" 8-3 ").unwrap(), b);
        for bad in [
            "",
            "7",
            "7-",
            "-3",
            "a-b",
            "1-2-3",
            "+1-2",
            "99999999999999999999-1",
            // Fits a u64, not the store's signed column: a client's mistake, not a 500.
            "9999999999999999999-1",
            "1-9223372036854775808",
        ] {
            assert!(ChangeCursor::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn a_record_reaches_members_and_the_member_a_membership_change_concerns() {
        let carol = UserId::parse("carol").unwrap();
        let mut record = ChangeRecord {
            cursor: ChangeCursor { tx: 1, id: 1 },
            kind: ChangeKind::TaskUpdated,
            list: Some(ListId::from_uuid(uuid::Uuid::from_u128(2))),
            task: None,
            actor: UserId::parse("alice").unwrap(),
            subject: Some(carol.clone()),
            version: Some(2),
            fields: Vec::new(),
            at: chrono::DateTime::UNIX_EPOCH,
        };
        let dave = UserId::parse("dave").unwrap();
        assert!(record.visible_to(&carol, true));
        assert!(record.visible_to(&dave, true));
        record.kind = ChangeKind::MemberRemoved;
        assert!(record.visible_to(&carol, false));
        assert!(!record.visible_to(&dave, false));
        record.subject = None;
        assert!(!record.visible_to(&carol, false));
    }
}
