//! The bodies of the trash endpoints: an entry as its owner sees it, and the query of the
//! trash's listing.

use chrono::TimeDelta;
use serde::{Deserialize, Serialize};
use todo_domain::{TrashEntry, TrashKind};
use utoipa::ToSchema;

use crate::dto::rfc3339;

/// What a trash entry holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "lowercase")]
#[schema(example = "task")]
pub enum TrashEntryKind {
    /// A task, with the subtasks deleted with it.
    Task,
    /// A list, with its tasks and members.
    List,
}

impl From<TrashKind> for TrashEntryKind {
    fn from(kind: TrashKind) -> Self {
        match kind {
            TrashKind::Task => Self::Task,
            TrashKind::List => Self::List,
        }
    }
}

/// Something the caller deleted, kept in their trash until it is restored, forgotten, or
/// purged at `purge_at`.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct TrashEntryDto {
    /// The id of the task or list it holds (restored, it keeps this id).
    #[schema(example = "0193a5c2-7b1e-7cc0-9a4e-3f5d2c1b0a00", format = "uuid")]
    pub id: String,
    pub kind: TrashEntryKind,
    /// The task's title or the list's name, as they were when deleted.
    #[schema(example = "Buy milk")]
    pub title: String,
    /// A task's list: the one it was deleted from (in a listing), or the one it is in
    /// now (in the answer of a restore: that list, or the caller's Inbox when they can no
    /// longer change that list's tasks). A list entry: the list itself.
    #[schema(example = "0193a5c2-7b1e-7cc0-9a4e-3f5d2c1b0a01", format = "uuid")]
    pub list_id: String,
    /// How many tasks it holds: the task and the subtasks deleted with it, or the list's
    /// tasks (0 for an empty list).
    #[schema(example = 3, minimum = 0)]
    pub task_count: u32,
    /// When it was deleted, in UTC with microseconds.
    #[schema(example = "2026-11-25T09:30:00.000000Z", format = "date-time")]
    pub deleted_at: String,
    /// When it is purged for good: `deleted_at` plus the retention
    /// (`trash.retention_days`, 30 days by default). The purge runs periodically, so an
    /// entry may still be listed for a while after this moment.
    #[schema(example = "2026-12-25T09:30:00.000000Z", format = "date-time")]
    pub purge_at: String,
}

impl TrashEntryDto {
    /// `entry` as its owner sees it, purged `retention` after its deletion.
    pub(crate) fn new(entry: &TrashEntry, retention: TimeDelta) -> Self {
        Self {
            id: entry.id.to_string(),
            kind: entry.kind.into(),
            title: entry.title.clone(),
            list_id: entry.list.to_string(),
            task_count: entry.tasks,
            deleted_at: rfc3339(entry.deleted_at),
            purge_at: rfc3339(
                entry
                    .deleted_at
                    .checked_add_signed(retention)
                    .unwrap_or(entry.deleted_at),
            ),
        }
    }
}

/// The query of `GET /api/{user_id}/trash`; any other parameter is a 422.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct TrashQuery {
    /// Page size, 1–1000 (the default and maximum are configured; both default to 1000, the
    /// maximum this document states).
    #[param(value_type = Option<u32>, minimum = 1, maximum = 1000)]
    pub limit: Option<String>,
    /// Where to continue: copy it from the `Link: <…>; rel="next"` header (opaque; one the
    /// service did not hand out is a 422).
    #[param(value_type = String, required = false, pattern = "^[0-9]+_[0-9a-f]{32}$")]
    pub cursor: Option<String>,
}
