//! The domain's errors: which rule was broken and, for a refused value, why.

use std::fmt;

/// Why a value was refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum InvalidReason {
    Empty,
    TooLong {
        max: usize,
    },
    ControlCharacter,
    /// Not of the expected form; the text says which form was expected.
    Malformed(&'static str),
    OutOfRange {
        min: u64,
        max: u64,
    },
    /// A specific problem, described in full by the text (which follows the field name).
    Detail(String),
}

impl fmt::Display for InvalidReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Empty => f.write_str("must not be empty"),
            Self::TooLong { max } => write!(f, "must be at most {max} characters long"),
            Self::ControlCharacter => f.write_str("must not contain control characters"),
            Self::Malformed(expected) => write!(f, "must be {expected}"),
            Self::OutOfRange { min, max } => write!(f, "must be between {min} and {max}"),
            Self::Detail(text) => f.write_str(text),
        }
    }
}

/// A broken domain rule.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DomainError {
    #[error("{field} {reason}")]
    Invalid {
        field: &'static str,
        reason: InvalidReason,
    },
    #[error("you may only act on your own tasks")]
    NotOwner,
    #[error("this operation requires the admin role")]
    NotAdmin,
    #[error("{}", banned_message(.until))]
    Banned {
        // A `Timestamp`, spelled out so that errors depend on no other module of the domain.
        until: Option<chrono::DateTime<chrono::Utc>>,
    },
    #[error("an admin cannot delete their own account")]
    CannotDeleteSelf,
    #[error("the last admin cannot lose the admin role or be deleted")]
    LastAdmin,
    /// Not there, or not the caller's to see: the two are told apart to no one.
    #[error("{0} not found")]
    NotVisible(&'static str),
    /// A member of the list whose role is too low for the action.
    #[error("{action} requires the {role} role")]
    RoleRequired {
        action: &'static str,
        role: &'static str,
    },
    #[error("the owner cannot leave or be removed from a list: transfer it to an editor first")]
    OwnerCannotLeave,
    /// The Inbox cannot be deleted, shared, transferred or archived.
    #[error("an Inbox cannot be {0}")]
    InboxFixed(&'static str),
    #[error("at most {max} {what} are allowed")]
    LimitReached { what: &'static str, max: u64 },
}

fn banned_message(until: &Option<chrono::DateTime<chrono::Utc>>) -> String {
    match until {
        Some(t) => format!(
            "this account is banned until {}",
            t.to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
        ),
        None => "this account is banned".to_owned(),
    }
}

impl DomainError {
    pub fn invalid(field: &'static str, reason: InvalidReason) -> Self {
        Self::Invalid { field, reason }
    }
}
