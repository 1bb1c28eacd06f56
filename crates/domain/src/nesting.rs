//! Subtasks: how deep tasks may nest, and that no task ends up under itself.

use crate::error::{DomainError, InvalidReason};
use crate::ids::TaskId;

/// Whether `task` may become a subtask of `parent`.
///
/// `parent_ancestors` are the parent's ancestors, nearest first; `depth_below` is how many
/// levels of subtasks `task` has below it (0 for a new task); a top-level task is at level
/// 1, so `task` would be at level `parent_ancestors.len() + 2` and its deepest subtask
/// `depth_below` levels further, which must not pass `max_depth`.
///
/// # Errors
/// `Invalid` naming `parent_id`: the parent is the task itself or one of its subtasks (a
/// cycle), or the nesting would be too deep.
pub fn ensure_nesting(
    task: TaskId,
    parent: TaskId,
    parent_ancestors: &[TaskId],
    depth_below: u32,
    max_depth: u32,
) -> Result<(), DomainError> {
    if parent == task || parent_ancestors.contains(&task) {
        return Err(DomainError::invalid(
            "parent_id",
            InvalidReason::Detail(
                "names the task itself or one of its subtasks: a task cannot be nested under itself"
                    .into(),
            ),
        ));
    }
    let level = u32::try_from(parent_ancestors.len())
        .unwrap_or(u32::MAX)
        .saturating_add(2);
    if level.saturating_add(depth_below) > max_depth {
        return Err(DomainError::invalid(
            "parent_id",
            InvalidReason::Detail(format!("would nest tasks deeper than {max_depth} levels")),
        ));
    }
    Ok(())
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn id(n: u128) -> TaskId {
        TaskId::from_uuid(uuid::Uuid::from_u128(n))
    }

    #[test]
    fn a_task_is_never_nested_under_itself() {
        // 1 ← 2 ← 3: moving 1 under 3 would close a loop.
        let err = ensure_nesting(id(1), id(3), &[id(2), id(1)], 2, 5).unwrap_err();
        assert_eq!(
            err.to_string(),
            "parent_id names the task itself or one of its subtasks: a task cannot be nested under itself"
        );
        assert!(ensure_nesting(id(1), id(1), &[], 0, 5).is_err());
        assert!(ensure_nesting(id(4), id(3), &[id(2), id(1)], 0, 5).is_ok());
    }

    #[test]
    fn nesting_stops_at_the_limit() {
        // A parent at level 4 (three ancestors): a new subtask lands at level 5.
        let three = [id(3), id(2), id(1)];
        assert!(ensure_nesting(id(9), id(4), &three, 0, 5).is_ok());
        // … but not one that has subtasks of its own.
        assert_eq!(
            ensure_nesting(id(9), id(4), &three, 1, 5)
                .unwrap_err()
                .to_string(),
            "parent_id would nest tasks deeper than 5 levels"
        );
        // A parent at level 5 takes no subtask.
        assert!(ensure_nesting(id(9), id(5), &[id(4), id(3), id(2), id(1)], 0, 5).is_err());
        // Under a top-level task, a subtree three levels deep still fits.
        assert!(ensure_nesting(id(9), id(1), &[], 3, 5).is_ok());
        assert!(ensure_nesting(id(9), id(1), &[], 4, 5).is_err());
    }
}
