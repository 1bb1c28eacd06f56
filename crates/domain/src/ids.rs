//! Identifiers: of users, of tasks, and the keys that make a client's create idempotent.

use std::fmt;

use crate::error::{DomainError, InvalidReason};

/// A Better Auth user id: an opaque string (usually 32 alphanumerics), never a UUID.
///
/// Non-empty, at most 255 bytes, no control characters.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct UserId(String);

impl UserId {
    pub const MAX_BYTES: usize = 255;

    pub fn parse(raw: &str) -> Result<Self, DomainError> {
        let bad = |reason| Err(DomainError::invalid("user_id", reason));
        if raw.is_empty() {
            return bad(InvalidReason::Empty);
        }
        if raw.len() > Self::MAX_BYTES {
            return bad(InvalidReason::TooLong {
                max: Self::MAX_BYTES,
            });
        }
        if raw.chars().any(char::is_control) {
            return bad(InvalidReason::ControlCharacter);
        }
        Ok(Self(raw.to_owned()))
    }

    /// A user id as the store keeps it: one [`parse`](Self::parse) made when it was
    /// written (the database refers to users by it), so not checked again. Every read of
    /// a task rebuilds its ids; the rule stays in `parse` alone.
    #[must_use]
    pub fn from_stored(stored: String) -> Self {
        Self(stored)
    }

    #[must_use]
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for UserId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// An id that is a UUID (new ones are version 7, ordered by creation time), named `$field`
/// in the errors of [`parse`](TaskId::parse): one definition for every such id.
macro_rules! uuid_id {
    ($(#[$doc:meta])* $name:ident, $field:literal) => {
        $(#[$doc])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub struct $name(uuid::Uuid);

        impl $name {
            #[must_use]
            pub const fn from_uuid(id: uuid::Uuid) -> Self {
                Self(id)
            }

            /// # Errors
            #[doc = concat!("`DomainError::Invalid` for field `", $field, "` when `raw` is not a UUID.")]
            pub fn parse(raw: &str) -> Result<Self, $crate::DomainError> {
                Self::parse_field(raw, $field)
            }

            /// As `parse`, naming `field` in the error.
            ///
            /// # Errors
            /// `DomainError::Invalid` for `field` when `raw` is not a UUID.
            pub fn parse_field(raw: &str, field: &'static str) -> Result<Self, $crate::DomainError> {
                uuid::Uuid::try_parse(raw).map(Self).map_err(|_| {
                    $crate::DomainError::invalid(
                        field,
                        $crate::InvalidReason::Malformed("a UUID"),
                    )
                })
            }

            #[must_use]
            pub const fn as_uuid(&self) -> uuid::Uuid {
                self.0
            }
        }

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                self.0.hyphenated().fmt(f)
            }
        }
    };
}
pub(crate) use uuid_id;

uuid_id!(
    /// A task id: a UUID (new ones are version 7, ordered by creation time).
    TaskId,
    "task_id"
);

/// A client's `Idempotency-Key`: 1 to 255 visible ASCII characters (a UUID, typically).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IdempotencyKey(String);

impl IdempotencyKey {
    pub const MAX_CHARS: usize = 255;

    /// # Errors
    /// `DomainError::Invalid` for field `Idempotency-Key` when empty, too long, or holding
    /// anything but visible ASCII.
    pub fn parse(raw: &str) -> Result<Self, DomainError> {
        let bad = |reason| Err(DomainError::invalid("Idempotency-Key", reason));
        if raw.is_empty() {
            return bad(InvalidReason::Empty);
        }
        if raw.len() > Self::MAX_CHARS {
            return bad(InvalidReason::TooLong {
                max: Self::MAX_CHARS,
            });
        }
        if !raw.bytes().all(|b| b.is_ascii_graphic()) {
            return bad(InvalidReason::Malformed(
                "visible ASCII characters (a UUID, say), without spaces",
            ));
        }
        Ok(Self(raw.to_owned()))
    }

    #[must_use]
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn user_ids_are_opaque_strings() {
        let id = UserId::parse("PVL84nb3WKj8GHRW4JOgGQE0OvDh4NLr").unwrap();
        assert_eq!(id.as_str(), "PVL84nb3WKj8GHRW4JOgGQE0OvDh4NLr");
        // SQL metacharacters and path-like text are just characters of an opaque id.
        assert!(UserId::parse("x'; DROP TABLE task; --").is_ok());
        assert!(UserId::parse("../../etc/passwd").is_ok());
    }

    #[test]
    fn user_id_boundaries() {
        assert_eq!(
            UserId::parse(""),
            Err(DomainError::invalid("user_id", InvalidReason::Empty))
        );
        assert!(UserId::parse(&"a".repeat(255)).is_ok());
        assert_eq!(
            UserId::parse(&"a".repeat(256)),
            Err(DomainError::invalid(
                "user_id",
                InvalidReason::TooLong { max: 255 }
            ))
        );
        // 255 bytes, not characters: 128 two-byte characters are 256 bytes.
        assert!(UserId::parse(&"é".repeat(128)).is_err());
        assert_eq!(
            UserId::parse("a\nb"),
            Err(DomainError::invalid(
                "user_id",
                InvalidReason::ControlCharacter
            ))
        );
    }

    #[test]
    fn task_ids_are_uuids() {
        let id = TaskId::parse("0192f0c1-7c5e-7000-8000-000000000001").unwrap();
        assert_eq!(id.to_string(), "0192f0c1-7c5e-7000-8000-000000000001");
        assert!(TaskId::parse("42").is_err());
        assert!(TaskId::parse("../x").is_err());
        assert_eq!(
            TaskId::parse("").unwrap_err().to_string(),
            "task_id must be a UUID"
        );
    }

    #[test]
    fn idempotency_keys_are_visible_ascii_up_to_255() {
        assert_eq!(
            IdempotencyKey::parse("8e0f-AB_1:x").unwrap().as_str(),
            "8e0f-AB_1:x"
        );
        assert!(IdempotencyKey::parse(&"k".repeat(255)).is_ok());
        for bad in ["", "a b", "tab\there", "é", &"k".repeat(256)] {
            let err = IdempotencyKey::parse(bad).unwrap_err();
            assert!(err.to_string().starts_with("Idempotency-Key "), "{err}");
        }
    }
}
