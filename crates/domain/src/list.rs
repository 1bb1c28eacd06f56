//! Lists: what groups tasks, who may see them, and in which role.

use std::fmt;

use crate::error::{DomainError, InvalidReason};
use crate::ids::UserId;
use crate::position::Position;
use crate::time::Timestamp;

crate::ids::uuid_id!(
    /// A list id: a UUID (new ones are version 7, ordered by creation time).
    ListId,
    "list_id"
);

/// A list's name: trimmed, 1 to 100 characters (Unicode scalar values), no control
/// characters.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ListName(String);

impl ListName {
    pub const MAX_CHARS: usize = 100;

    /// The name every user's Inbox gets.
    #[must_use]
    pub fn inbox() -> Self {
        Self("Inbox".to_owned())
    }

    /// # Errors
    /// `DomainError::Invalid` for field `name` when empty after trimming, longer than
    /// [`ListName::MAX_CHARS`], or holding a control character.
    pub fn parse(raw: &str) -> Result<Self, DomainError> {
        let bad = |reason| Err(DomainError::invalid("name", reason));
        let name = raw.trim();
        if name.is_empty() {
            return bad(InvalidReason::Empty);
        }
        if name.chars().count() > Self::MAX_CHARS {
            return bad(InvalidReason::TooLong {
                max: Self::MAX_CHARS,
            });
        }
        if name.chars().any(char::is_control) {
            return bad(InvalidReason::ControlCharacter);
        }
        Ok(Self(name.to_owned()))
    }

    #[must_use]
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// A list's colour: `#` and six hexadecimal digits, kept in lower case.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Colour(String);

impl Colour {
    /// # Errors
    /// `DomainError::Invalid` for field `colour` unless `raw` is `#rrggbb`.
    pub fn parse(raw: &str) -> Result<Self, DomainError> {
        if let Some(digits) = raw.strip_prefix('#')
            && digits.len() == 6
            && digits.bytes().all(|b| b.is_ascii_hexdigit())
        {
            return Ok(Self(raw.to_ascii_lowercase()));
        }
        Err(DomainError::invalid(
            "colour",
            InvalidReason::Malformed("a colour written #rrggbb (six hexadecimal digits)"),
        ))
    }

    #[must_use]
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// What a user is to a list. Ordered by what it allows: each role may do everything the
/// roles below it may.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Role {
    /// Reads the list and its tasks.
    Viewer,
    /// Also creates, edits, completes, moves, assigns and deletes its tasks.
    Editor,
    /// Also renames, archives, orders and deletes the list and manages its members. Every
    /// list has exactly one.
    Owner,
}

impl Role {
    /// # Errors
    /// `DomainError::Invalid` for field `role` unless `raw` is `viewer` or `editor` (the
    /// roles a member can be given; ownership is transferred, not given).
    pub fn parse_member(raw: &str) -> Result<Self, DomainError> {
        match raw {
            "viewer" => Ok(Self::Viewer),
            "editor" => Ok(Self::Editor),
            _ => Err(DomainError::invalid(
                "role",
                InvalidReason::Malformed("\"viewer\" or \"editor\""),
            )),
        }
    }

    /// Reads a stored role; `None` for text no version of the service writes.
    #[must_use]
    pub fn from_stored(raw: &str) -> Option<Self> {
        match raw {
            "viewer" => Some(Self::Viewer),
            "editor" => Some(Self::Editor),
            "owner" => Some(Self::Owner),
            _ => None,
        }
    }

    /// `viewer`, `editor` or `owner`: in JSON, the store and messages.
    #[must_use]
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Viewer => "viewer",
            Self::Editor => "editor",
            Self::Owner => "owner",
        }
    }
}

impl fmt::Display for Role {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A list of tasks.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TaskList {
    pub id: ListId,
    pub name: ListName,
    pub colour: Option<Colour>,
    /// Its place among its owner's lists (the same scheme as a task's position).
    pub position: Position,
    /// Hidden, with its tasks, from default listings.
    pub archived: bool,
    /// Whether it is its owner's Inbox: never deleted, never shared.
    pub inbox: bool,
    pub owner: UserId,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
    /// Starts at 1; every write adds one. Clients send it back in `If-Match`.
    pub version: i64,
}

impl TaskList {
    /// A new list of `owner`'s, created at `now`, after every list created before it.
    #[must_use]
    pub fn new(id: ListId, owner: UserId, name: ListName, now: Timestamp) -> Self {
        Self {
            id,
            name,
            colour: None,
            position: Position::initial_of(now, id.as_uuid()),
            archived: false,
            inbox: false,
            owner,
            created_at: now,
            updated_at: now,
            version: 1,
        }
    }

    /// `owner`'s Inbox, created at `now`.
    #[must_use]
    pub fn inbox(id: ListId, owner: UserId, now: Timestamp) -> Self {
        Self {
            inbox: true,
            ..Self::new(id, owner, ListName::inbox(), now)
        }
    }

    /// The list with `changes` applied at `now` (version + 1); `None` when they change
    /// nothing.
    ///
    /// # Errors
    /// The Inbox cannot be archived.
    pub fn apply(&self, changes: &ListChanges, now: Timestamp) -> Result<Self, DomainError> {
        if self.inbox && changes.archived == Some(true) {
            return Err(DomainError::InboxFixed("archived"));
        }
        let mut next = self.clone();
        if let Some(name) = &changes.name {
            next.name = name.clone();
        }
        if let Some(colour) = &changes.colour {
            next.colour = colour.clone();
        }
        if let Some(archived) = changes.archived {
            next.archived = archived;
        }
        if let Some(position) = &changes.position {
            next.position = position.clone();
        }
        Ok(next.touched(now))
    }

    /// Its new version, written at `now`.
    #[must_use]
    pub fn touched(mut self, now: Timestamp) -> Self {
        self.version += 1;
        self.updated_at = now;
        self
    }
}

/// A partial update of a list: `None` leaves a field alone.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ListChanges {
    pub name: Option<ListName>,
    /// `Some(None)` removes the colour.
    pub colour: Option<Option<Colour>>,
    pub archived: Option<bool>,
    pub position: Option<Position>,
}

impl ListChanges {
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.name.is_none()
            && self.colour.is_none()
            && self.archived.is_none()
            && self.position.is_none()
    }
}

/// A list as one user sees it: with its member count (the owner included) and the
/// user's role in it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ListView {
    pub list: TaskList,
    pub members: u32,
    pub role: Role,
}

/// A member of a list, as its members see them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Member {
    pub user_id: UserId,
    pub name: String,
    pub email: String,
    pub role: Role,
    pub added_at: Timestamp,
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn at(secs: i64) -> Timestamp {
        chrono::Utc.timestamp_opt(secs, 0).unwrap()
    }

    #[test]
    fn names_are_trimmed_and_bounded() {
        assert_eq!(
            ListName::parse("  Groceries ").unwrap().as_str(),
            "Groceries"
        );
        assert!(ListName::parse(&"é".repeat(100)).is_ok());
        assert_eq!(
            ListName::parse(&"é".repeat(101)).unwrap_err().to_string(),
            "name must be at most 100 characters long"
        );
        assert_eq!(
            ListName::parse("   ").unwrap_err().to_string(),
            "name must not be empty"
        );
        assert_eq!(
            ListName::parse("a\u{7}b").unwrap_err().to_string(),
            "name must not contain control characters"
        );
    }

    #[test]
    fn colours_are_six_hex_digits_kept_in_lower_case() {
        assert_eq!(Colour::parse("#FFaa00").unwrap().as_str(), "#ffaa00");
        for bad in ["ffaa00", "#ffaa0", "#ffaa000", "#ggaa00", "", "#ffaa0é"] {
            assert_eq!(
                Colour::parse(bad).unwrap_err().to_string(),
                "colour must be a colour written #rrggbb (six hexadecimal digits)",
                "{bad}"
            );
        }
    }

    #[test]
    fn only_viewer_and_editor_can_be_given() {
        assert_eq!(Role::parse_member("viewer"), Ok(Role::Viewer));
        assert_eq!(Role::parse_member("editor"), Ok(Role::Editor));
        for bad in ["owner", "admin", "Editor", ""] {
            assert_eq!(
                Role::parse_member(bad).unwrap_err().to_string(),
                "role must be \"viewer\" or \"editor\"",
                "{bad}"
            );
        }
        for role in [Role::Viewer, Role::Editor, Role::Owner] {
            assert_eq!(Role::from_stored(role.as_str()), Some(role));
        }
        assert!(Role::Owner > Role::Editor && Role::Editor > Role::Viewer);
    }

    #[test]
    fn later_lists_go_after_earlier_ones() {
        let owner = UserId::parse("u").unwrap();
        let name = ListName::parse("a").unwrap();
        let first = TaskList::new(
            ListId::from_uuid(uuid::Uuid::max()),
            owner.clone(),
            name.clone(),
            at(1),
        );
        let second = TaskList::new(ListId::from_uuid(uuid::Uuid::nil()), owner, name, at(2));
        assert!(first.position < second.position);
    }

    #[test]
    fn edits_bump_the_version_and_the_inbox_stays_visible() {
        let owner = UserId::parse("u").unwrap();
        let inbox = TaskList::inbox(ListId::from_uuid(uuid::Uuid::nil()), owner, at(1));
        assert_eq!(inbox.name.as_str(), "Inbox");
        let renamed = inbox
            .apply(
                &ListChanges {
                    name: Some(ListName::parse("Mine").unwrap()),
                    colour: Some(Some(Colour::parse("#000000").unwrap())),
                    ..ListChanges::default()
                },
                at(5),
            )
            .unwrap();
        assert_eq!((renamed.version, renamed.updated_at), (2, at(5)));
        assert_eq!(renamed.name.as_str(), "Mine");
        assert_eq!(renamed.colour.unwrap().as_str(), "#000000");
        let archive = ListChanges {
            archived: Some(true),
            ..ListChanges::default()
        };
        assert_eq!(
            inbox.apply(&archive, at(5)),
            Err(DomainError::InboxFixed("archived"))
        );
    }
}
