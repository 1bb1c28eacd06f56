//! Who may do what to a list and its tasks: the role each action needs, as pure functions.
//!
//! A user who is not a member of a list is told it does not exist (nor do its tasks): no
//! existence leak. A member whose role is too low is told which role the action needs.
//! Being a global admin makes no one a member.

use crate::error::DomainError;
use crate::list::{Role, TaskList};

/// Something a user does to a list or to the tasks in it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ListAction {
    /// Read the list, its members and its tasks.
    Read,
    /// Create, edit, complete, move, assign and delete its tasks.
    EditTasks,
    /// Rename, recolour, archive or reorder the list.
    Edit,
    /// Delete the list with its tasks.
    Delete,
    /// Add members, change their roles, remove them.
    ManageMembers,
    /// Hand ownership to an editor.
    Transfer,
    /// Stop being a member.
    Leave,
}

impl ListAction {
    /// Every action, for exhaustive tests.
    pub const ALL: [Self; 7] = [
        Self::Read,
        Self::EditTasks,
        Self::Edit,
        Self::Delete,
        Self::ManageMembers,
        Self::Transfer,
        Self::Leave,
    ];

    /// The lowest role that may do it.
    #[must_use]
    pub const fn needs(self) -> Role {
        match self {
            Self::Read | Self::Leave => Role::Viewer,
            Self::EditTasks => Role::Editor,
            Self::Edit | Self::Delete | Self::ManageMembers | Self::Transfer => Role::Owner,
        }
    }

    /// What it is, as a client reads it in a refusal.
    #[must_use]
    pub const fn describe(self) -> &'static str {
        match self {
            Self::Read => "reading this list",
            Self::EditTasks => "changing the tasks of this list",
            Self::Edit => "changing this list",
            Self::Delete => "deleting this list",
            Self::ManageMembers => "managing the members of this list",
            Self::Transfer => "transferring this list",
            Self::Leave => "leaving this list",
        }
    }
}

/// Whether a user with `role` in a list (`None`: not a member) may do `action` to it.
/// `what` names the thing the request was about (`"list"` or `"task"`) for a non-member,
/// who is told it does not exist.
///
/// # Errors
/// `NotVisible(what)` for a non-member; `RoleRequired` when the role is too low;
/// `OwnerCannotLeave` when the owner tries to leave (ownership must be transferred first).
pub fn authorize(
    role: Option<Role>,
    action: ListAction,
    what: &'static str,
) -> Result<Role, DomainError> {
    let Some(role) = role else {
        return Err(DomainError::NotVisible(what));
    };
    if action == ListAction::Leave && role == Role::Owner {
        return Err(DomainError::OwnerCannotLeave);
    }
    let needs = action.needs();
    if role < needs {
        return Err(DomainError::RoleRequired {
            action: action.describe(),
            role: needs.as_str(),
        });
    }
    Ok(role)
}

/// As [`authorize`] for an action on `list` itself, and the rules only an Inbox has: it is
/// never deleted, shared or transferred.
///
/// # Errors
/// As [`authorize`]; `InboxFixed` for deleting, sharing or transferring an Inbox.
pub fn authorize_on_list(
    list: &TaskList,
    role: Option<Role>,
    action: ListAction,
) -> Result<Role, DomainError> {
    let role = authorize(role, action, "list")?;
    if list.inbox {
        match action {
            ListAction::Delete => return Err(DomainError::InboxFixed("deleted")),
            ListAction::ManageMembers => return Err(DomainError::InboxFixed("shared")),
            ListAction::Transfer => return Err(DomainError::InboxFixed("transferred")),
            _ => {}
        }
    }
    Ok(role)
}

/// Whether the member with `role` may be removed by `remover` (with `remover_role`):
/// the owner removes anyone but themself; anyone else only themself (leaving).
///
/// # Errors
/// As [`authorize`] for the action this is: leaving when `removing_self`, managing
/// members otherwise. The owner is never removed.
pub fn authorize_removal(
    remover_role: Option<Role>,
    removing_self: bool,
    target_role: Role,
) -> Result<(), DomainError> {
    if removing_self {
        authorize(remover_role, ListAction::Leave, "list")?;
        return Ok(());
    }
    authorize(remover_role, ListAction::ManageMembers, "list")?;
    if target_role == Role::Owner {
        return Err(DomainError::OwnerCannotLeave);
    }
    Ok(())
}

/// Whether ownership may go to a member with `target_role` (`None`: not a member): only
/// to an editor.
///
/// # Errors
/// `Invalid` naming `user_id` otherwise.
pub fn ensure_transfer_target(target_role: Option<Role>) -> Result<(), DomainError> {
    match target_role {
        Some(Role::Editor) => Ok(()),
        _ => Err(DomainError::invalid(
            "user_id",
            crate::error::InvalidReason::Detail(
                "must be an editor of this list: ownership goes to an editor".into(),
            ),
        )),
    }
}

/// How many of something a user or a list may have, checked before it is added.
///
/// # Errors
/// `LimitReached` naming `field` when `count` is already `max`.
pub fn ensure_below(count: u64, max: u64, what: &'static str) -> Result<(), DomainError> {
    if count >= max {
        return Err(DomainError::LimitReached { what, max });
    }
    Ok(())
}

/// Whether a list known to hold `open` open tasks is far enough below the most it may
/// hold, `max`, that one more needs no exact count: below it by more than a tenth of it
/// and by more than 100 tasks. A list this close or closer is counted exactly as each
/// task is added; the margin is what a known count may lag by (writes of other replicas
/// since it was read) without the limit being passed.
#[must_use]
pub fn clearly_below(open: u64, max: u64) -> bool {
    let margin = (max / 10).max(100);
    open.saturating_add(margin) < max
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use crate::ids::UserId;
    use crate::list::{ListId, ListName};
    use chrono::TimeZone;

    fn list(inbox: bool) -> TaskList {
        let owner = UserId::parse("owner").unwrap();
        let now = chrono::Utc.timestamp_opt(1, 0).unwrap();
        let id = ListId::from_uuid(uuid::Uuid::nil());
        if inbox {
            TaskList::inbox(id, owner, now)
        } else {
            TaskList::new(id, owner, ListName::parse("Shared").unwrap(), now)
        }
    }

    /// The whole table: every role (and no role) against every action.
    #[test]
    fn role_by_action() {
        use ListAction::*;
        use Role::*;
        // (action, viewer, editor, owner): `true` = allowed.
        let table = [
            (Read, true, true, true),
            (EditTasks, false, true, true),
            (Edit, false, false, true),
            (Delete, false, false, true),
            (ManageMembers, false, false, true),
            (Transfer, false, false, true),
            (Leave, true, true, false),
        ];
        assert_eq!(table.len(), ListAction::ALL.len());
        for (action, viewer, editor, owner) in table {
            for (role, allowed) in [(Viewer, viewer), (Editor, editor), (Owner, owner)] {
                let outcome = authorize(Some(role), action, "list");
                assert_eq!(outcome.is_ok(), allowed, "{role} {action:?}: {outcome:?}");
            }
            assert_eq!(
                authorize(None, action, "task"),
                Err(DomainError::NotVisible("task")),
                "a non-member is told the task does not exist"
            );
        }
    }

    #[test]
    fn a_refusal_names_the_role_needed() {
        let err = authorize(Some(Role::Viewer), ListAction::EditTasks, "task").unwrap_err();
        assert_eq!(
            err.to_string(),
            "changing the tasks of this list requires the editor role"
        );
        let err = authorize(Some(Role::Editor), ListAction::ManageMembers, "list").unwrap_err();
        assert_eq!(
            err.to_string(),
            "managing the members of this list requires the owner role"
        );
        assert_eq!(
            authorize(Some(Role::Owner), ListAction::Leave, "list"),
            Err(DomainError::OwnerCannotLeave)
        );
    }

    #[test]
    fn an_inbox_is_never_deleted_shared_or_transferred() {
        let inbox = list(true);
        for (action, allowed) in [
            (ListAction::Read, true),
            (ListAction::EditTasks, true),
            (ListAction::Edit, true),
            (ListAction::Delete, false),
            (ListAction::ManageMembers, false),
            (ListAction::Transfer, false),
        ] {
            let outcome = authorize_on_list(&inbox, Some(Role::Owner), action);
            assert_eq!(outcome.is_ok(), allowed, "{action:?}");
            assert!(authorize_on_list(&list(false), Some(Role::Owner), action).is_ok());
        }
        assert_eq!(
            authorize_on_list(&inbox, Some(Role::Owner), ListAction::ManageMembers)
                .unwrap_err()
                .to_string(),
            "an Inbox cannot be shared"
        );
        // Not a member: not found, before any Inbox rule.
        assert_eq!(
            authorize_on_list(&inbox, None, ListAction::Delete),
            Err(DomainError::NotVisible("list"))
        );
    }

    #[test]
    fn removing_members() {
        use Role::*;
        // The owner removes anyone but themself.
        assert!(authorize_removal(Some(Owner), false, Editor).is_ok());
        assert!(authorize_removal(Some(Owner), false, Viewer).is_ok());
        assert_eq!(
            authorize_removal(Some(Owner), false, Owner),
            Err(DomainError::OwnerCannotLeave)
        );
        assert_eq!(
            authorize_removal(Some(Owner), true, Owner),
            Err(DomainError::OwnerCannotLeave)
        );
        // Others remove only themselves.
        assert!(authorize_removal(Some(Editor), true, Editor).is_ok());
        assert!(authorize_removal(Some(Viewer), true, Viewer).is_ok());
        assert!(matches!(
            authorize_removal(Some(Editor), false, Viewer),
            Err(DomainError::RoleRequired { .. })
        ));
        assert_eq!(
            authorize_removal(None, false, Viewer),
            Err(DomainError::NotVisible("list"))
        );
    }

    #[test]
    fn ownership_goes_to_an_editor_only() {
        assert!(ensure_transfer_target(Some(Role::Editor)).is_ok());
        for target in [None, Some(Role::Viewer), Some(Role::Owner)] {
            assert_eq!(
                ensure_transfer_target(target).unwrap_err().to_string(),
                "user_id must be an editor of this list: ownership goes to an editor"
            );
        }
    }

    #[test]
    fn limits() {
        assert!(ensure_below(99, 100, "members in a list").is_ok());
        assert_eq!(
            ensure_below(100, 100, "members in a list")
                .unwrap_err()
                .to_string(),
            "at most 100 members in a list are allowed"
        );
    }

    #[test]
    fn a_list_is_clearly_below_its_limit_by_a_tenth_and_by_100() {
        // (open, max, clearly below)
        let table = [
            (0, 10_000, true),
            (8_899, 10_000, true),
            (8_999, 10_000, true),
            (9_000, 10_000, false),
            (9_999, 10_000, false),
            (12_000, 10_000, false),
            (899, 1_000, true),
            (900, 1_000, false),
            // Small limits: the margin of 100 leaves nothing to skip.
            (0, 100, false),
            (0, 101, true),
            (0, 7, false),
            (u64::MAX, u64::MAX, false),
        ];
        for (open, max, expected) in table {
            assert_eq!(clearly_below(open, max), expected, "{open} of {max}");
        }
    }
}
