//! What syncing clients rely on: idempotent creates, the feed of changes and deletions,
//! and forgetting tombstones and idempotency keys once they expire.

use chrono::TimeDelta;
use todo_domain::{
    Change, IdempotencyKey, ListCursor, ListSpec, Principal, SortValue, Task, UserId, policy,
};

use super::{NewTask, TaskService};
use crate::error::ApplicationError;
use crate::pagination::{Page, paginate};
use crate::ports::{IdempotentInsert, Purged};

/// How long deleted tasks are remembered for sync clients, and idempotency keys for
/// retries.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SyncSettings {
    /// A client that last synced longer ago than this must start over (410).
    pub tombstone_retention: TimeDelta,
    /// A retry with the same `Idempotency-Key` within this replays the first answer.
    pub idempotency_window: TimeDelta,
}

impl Default for SyncSettings {
    fn default() -> Self {
        Self {
            tombstone_retention: TimeDelta::days(30),
            idempotency_window: TimeDelta::hours(24),
        }
    }
}

/// A request's `Idempotency-Key` and the fingerprint of its body.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Idempotency {
    pub key: IdempotencyKey,
    pub fingerprint: String,
}

/// A created task, and whether it was created by an earlier request with the same
/// `Idempotency-Key` (the answer is then a replay).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Created {
    pub task: Task,
    pub replayed: bool,
}

impl TaskService {
    /// Creates a task once per `Idempotency-Key`: a retry with the same key and body
    /// within [`SyncSettings::idempotency_window`] gets the task the first request created
    /// (as it is now) without creating another.
    ///
    /// # Errors
    /// The same key with another body is a `Validation` error of `Idempotency-Key`; a key
    /// whose task has been deleted since is a `Conflict`.
    pub async fn create_idempotent(
        &self,
        principal: &Principal,
        owner: &UserId,
        new: NewTask,
        idempotency: &Idempotency,
    ) -> Result<Created, ApplicationError> {
        policy::ensure_acts_for(principal, owner)?;
        let task = self.new_task(owner, new).await?;
        let expired_before = task.created_at - self.sync.idempotency_window;
        let max_open = self.room_for(&task).await?;
        match self
            .tasks
            .insert_idempotent(
                &task,
                max_open,
                &idempotency.key,
                &idempotency.fingerprint,
                expired_before,
            )
            .await?
        {
            IdempotentInsert::Inserted => Ok(Created {
                task,
                replayed: false,
            }),
            IdempotentInsert::Full => Err(self.list_full()),
            IdempotentInsert::Existing { fingerprint, .. }
                if fingerprint != idempotency.fingerprint =>
            {
                Err(ApplicationError::Validation {
                    field: "Idempotency-Key".to_owned(),
                    message: "was already used with a different request body; \
                              use a new key for a new task"
                        .to_owned(),
                })
            }
            IdempotentInsert::Existing {
                task: Some(task), ..
            } => Ok(Created {
                task,
                replayed: true,
            }),
            IdempotentInsert::Existing { task: None, .. } => Err(ApplicationError::Conflict(
                "the task created with this Idempotency-Key has been deleted since".to_owned(),
            )),
        }
    }

    /// One page of the sync feed `spec` asks for (`include_deleted`): tasks changed and
    /// tasks deleted since its `updated_since`, in the order they changed.
    ///
    /// # Errors
    /// `Validation` when `spec` is no sync feed ([`ListSpec::sync_problems`]); `Gone` when
    /// `updated_since` is older than the tombstones are kept, so deletions may be missing:
    /// the client must fetch the whole list again.
    pub async fn changes(
        &self,
        principal: &Principal,
        owner: &UserId,
        spec: &ListSpec,
        limit: Option<u32>,
        after: Option<ListCursor>,
    ) -> Result<Page<Change, ListCursor>, ApplicationError> {
        policy::ensure_acts_for(principal, owner)?;
        if let Some((field, message)) = spec.sync_problems().into_iter().next() {
            return Err(ApplicationError::Validation {
                field: field.to_owned(),
                message: message.to_owned(),
            });
        }
        let since = spec.filter.updated_since.unwrap_or_default();
        let kept_since = self.clock.now() - self.sync.tombstone_retention;
        if since < kept_since {
            return Err(ApplicationError::Gone(format!(
                "deleted tasks are remembered for {} days: updated_since is older than that, \
                 so some deletions may be unknown; fetch the whole list again without \
                 updated_since and sync from its newest updated_at",
                self.sync.tombstone_retention.num_days()
            )));
        }
        let limit = self.pages.limit(limit)?;
        let rows = self
            .tasks
            .changes(owner, since, limit.saturating_add(1), after)
            .await?;
        Ok(paginate(rows, limit, |c: &Change| ListCursor {
            value: SortValue::Instant(Some(c.changed_at())),
            id: c.id(),
        }))
    }

    /// Forgets tombstones older than the retention and idempotency keys older than their
    /// window; how many of each. Run periodically by the server.
    pub async fn purge_expired(&self) -> Result<Purged, ApplicationError> {
        let now = self.clock.now();
        Ok(self
            .tasks
            .purge(
                now - self.sync.tombstone_retention,
                now - self.sync.idempotency_window,
            )
            .await?)
    }
}
