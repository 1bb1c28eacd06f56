//! What a use case reports when it does not succeed: one error for every service.

use todo_domain::DomainError;

use crate::ports::{AuthFailure, BoxError, PortError};

/// Every outcome of a use case that is not success.
#[derive(Debug, thiserror::Error)]
pub enum ApplicationError {
    /// The thing does not exist, or is not the caller's to see (no existence leak).
    #[error("{0} not found")]
    NotFound(&'static str),
    /// Authenticated, but not allowed.
    #[error("{0}")]
    Forbidden(String),
    /// No valid credential: why, as a bounded reason set where the failure happened, and
    /// a sentence for the client (never the credential itself).
    #[error("{detail}")]
    Unauthenticated { reason: AuthFailure, detail: String },
    /// Input that is well-formed but breaks a rule.
    #[error("{field} {message}")]
    Validation { field: String, message: String },
    #[error("{0}")]
    Conflict(String),
    /// What was asked for is no longer kept (a sync point older than the tombstones).
    #[error("{0}")]
    Gone(String),
    /// The client's `If-Match` version is not the stored one.
    #[error("the {what} has changed since that version: its current version is {current_version}")]
    PreconditionFailed {
        what: &'static str,
        current_version: i64,
    },
    /// A limit on how many of something there may be is reached.
    #[error("{0}")]
    Limit(String),
    /// Too many of something are open at once; the client may retry after the delay.
    #[error("{detail}")]
    TooMany {
        detail: String,
        retry_after_secs: u32,
    },
    /// The store cannot be reached; the client may retry.
    #[error("the service is temporarily unavailable")]
    Unavailable(#[source] BoxError),
    /// A bug or an unexpected failure; its cause is logged, never shown.
    #[error("internal error")]
    Internal(#[source] BoxError),
}

impl ApplicationError {
    /// Refused authentication for `reason`, telling the client `detail`.
    pub fn unauthenticated(reason: AuthFailure, detail: impl Into<String>) -> Self {
        Self::Unauthenticated {
            reason,
            detail: detail.into(),
        }
    }
}

impl From<DomainError> for ApplicationError {
    fn from(err: DomainError) -> Self {
        match err {
            DomainError::Invalid { field, reason } => Self::Validation {
                field: field.to_owned(),
                message: reason.to_string(),
            },
            DomainError::NotOwner | DomainError::NotAdmin | DomainError::Banned { .. } => {
                Self::Forbidden(err.to_string())
            }
            DomainError::NotVisible(what) => Self::NotFound(what),
            DomainError::RoleRequired { .. } => Self::Forbidden(err.to_string()),
            DomainError::CannotDeleteSelf
            | DomainError::LastAdmin
            | DomainError::OwnerCannotLeave
            | DomainError::InboxFixed(_) => Self::Conflict(err.to_string()),
            DomainError::LimitReached { .. } => Self::Limit(err.to_string()),
        }
    }
}

impl From<PortError> for ApplicationError {
    fn from(err: PortError) -> Self {
        match err {
            PortError::Conflict(what) => Self::Conflict(what),
            PortError::Unavailable(cause) => Self::Unavailable(cause),
            PortError::Other(cause) => Self::Internal(cause),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use todo_domain::InvalidReason;

    #[test]
    fn domain_errors_map_to_outcomes() {
        let v: ApplicationError = DomainError::Invalid {
            field: "title",
            reason: InvalidReason::Empty,
        }
        .into();
        assert_eq!(v.to_string(), "title must not be empty");
        assert!(matches!(
            ApplicationError::from(DomainError::NotOwner),
            ApplicationError::Forbidden(_)
        ));
        assert!(matches!(
            ApplicationError::from(DomainError::LastAdmin),
            ApplicationError::Conflict(_)
        ));
    }

    #[test]
    fn store_failures_keep_their_class() {
        assert!(matches!(
            ApplicationError::from(PortError::Unavailable("down".into())),
            ApplicationError::Unavailable(_)
        ));
        assert!(matches!(
            ApplicationError::from(PortError::Other("boom".into())),
            ApplicationError::Internal(_)
        ));
    }
}
