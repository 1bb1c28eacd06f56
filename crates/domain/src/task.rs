use crate::{DomainError, InvalidReason, TaskId, Timestamp, UserId};

/// A task's title: trimmed, 1 to 200 characters, no control characters.
///
/// Length is counted in Unicode scalar values (`char`s), not bytes and not grapheme
/// clusters, so "é" written as one code point counts 1 and as `e` + combining accent counts 2.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TaskTitle(String);

impl TaskTitle {
    pub const MAX_CHARS: usize = 200;

    pub fn parse(raw: &str) -> Result<Self, DomainError> {
        let bad = |reason| Err(DomainError::invalid("title", reason));
        let title = raw.trim();
        if title.is_empty() {
            return bad(InvalidReason::Empty);
        }
        if title.chars().count() > Self::MAX_CHARS {
            return bad(InvalidReason::TooLong {
                max: Self::MAX_CHARS,
            });
        }
        if title.chars().any(char::is_control) {
            return bad(InvalidReason::ControlCharacter);
        }
        Ok(Self(title.to_owned()))
    }

    #[must_use]
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// A task's free-text description: at most 4000 characters (Unicode scalar values).
///
/// Line breaks and tabs are allowed, other control characters are not. A description that is
/// empty or only white space is no description at all, so `parse` returns `None` for it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TaskDescription(String);

impl TaskDescription {
    pub const MAX_CHARS: usize = 4000;

    pub fn parse(raw: &str) -> Result<Option<Self>, DomainError> {
        let bad = |reason| Err(DomainError::invalid("description", reason));
        if raw.trim().is_empty() {
            return Ok(None);
        }
        if raw.chars().count() > Self::MAX_CHARS {
            return bad(InvalidReason::TooLong {
                max: Self::MAX_CHARS,
            });
        }
        if raw
            .chars()
            .any(|c| c.is_control() && !matches!(c, '\n' | '\r' | '\t'))
        {
            return bad(InvalidReason::ControlCharacter);
        }
        Ok(Some(Self(raw.to_owned())))
    }

    #[must_use]
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// A task on a user's list.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Task {
    pub id: TaskId,
    pub owner: UserId,
    pub title: TaskTitle,
    pub description: Option<TaskDescription>,
    pub completed: bool,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
}

impl Task {
    /// A new, open task created at `now`.
    #[must_use]
    pub fn new(
        id: TaskId,
        owner: UserId,
        title: TaskTitle,
        description: Option<TaskDescription>,
        now: Timestamp,
    ) -> Self {
        Self {
            id,
            owner,
            title,
            description,
            completed: false,
            created_at: now,
            updated_at: now,
        }
    }
}

/// A partial update of a task: `None` leaves a field as it is.
/// `description: Some(None)` removes the description.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TaskChanges {
    pub title: Option<TaskTitle>,
    pub description: Option<Option<TaskDescription>>,
    pub completed: Option<bool>,
}

impl TaskChanges {
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.title.is_none() && self.description.is_none() && self.completed.is_none()
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn at(secs: i64) -> Timestamp {
        chrono::Utc.timestamp_opt(secs, 0).unwrap()
    }

    fn task() -> Task {
        Task::new(
            TaskId::from_uuid(uuid::Uuid::nil()),
            UserId::parse("alice").unwrap(),
            TaskTitle::parse("buy milk").unwrap(),
            None,
            at(1),
        )
    }

    #[test]
    fn titles_are_trimmed() {
        assert_eq!(
            TaskTitle::parse("  buy milk \t").unwrap().as_str(),
            "buy milk"
        );
    }

    #[test]
    fn empty_and_blank_titles_are_refused() {
        for raw in ["", "   ", "\t\n"] {
            assert_eq!(
                TaskTitle::parse(raw),
                Err(DomainError::invalid("title", InvalidReason::Empty)),
                "{raw:?}"
            );
        }
    }

    #[test]
    fn title_length_is_counted_in_characters() {
        assert!(TaskTitle::parse(&"a".repeat(200)).is_ok());
        assert_eq!(
            TaskTitle::parse(&"a".repeat(201)),
            Err(DomainError::invalid(
                "title",
                InvalidReason::TooLong { max: 200 }
            ))
        );
        // 200 two-byte characters are 400 bytes and still a valid title.
        assert!(TaskTitle::parse(&"é".repeat(200)).is_ok());
        assert!(TaskTitle::parse(&"日".repeat(201)).is_err());
        // Surrounding white space does not count.
        assert!(TaskTitle::parse(&format!("  {}  ", "a".repeat(200))).is_ok());
    }

    #[test]
    fn control_characters_in_titles_are_refused() {
        for raw in ["a\nb", "a\u{0}b", "a\u{7f}b", "a\tb"] {
            assert_eq!(
                TaskTitle::parse(raw),
                Err(DomainError::invalid(
                    "title",
                    InvalidReason::ControlCharacter
                )),
                "{raw:?}"
            );
        }
    }

    #[test]
    fn error_messages_name_the_field() {
        assert_eq!(
            TaskTitle::parse("").unwrap_err().to_string(),
            "title must not be empty"
        );
        assert_eq!(
            TaskTitle::parse(&"x".repeat(300)).unwrap_err().to_string(),
            "title must be at most 200 characters long"
        );
    }

    #[test]
    fn blank_descriptions_are_no_description() {
        assert_eq!(TaskDescription::parse("").unwrap(), None);
        assert_eq!(TaskDescription::parse("  \n ").unwrap(), None);
    }

    #[test]
    fn descriptions_keep_line_breaks_and_have_a_limit() {
        let d = TaskDescription::parse("line one\nline two\ttabbed")
            .unwrap()
            .unwrap();
        assert_eq!(d.as_str(), "line one\nline two\ttabbed");
        assert!(TaskDescription::parse(&"d".repeat(4000)).unwrap().is_some());
        assert_eq!(
            TaskDescription::parse(&"d".repeat(4001)),
            Err(DomainError::invalid(
                "description",
                InvalidReason::TooLong { max: 4000 }
            ))
        );
        assert!(TaskDescription::parse("bell\u{7}").is_err());
    }

    #[test]
    fn new_tasks_are_open_and_stamped() {
        let t = task();
        assert!(!t.completed);
        assert_eq!(t.created_at, at(1));
        assert_eq!(t.updated_at, at(1));
    }

    #[test]
    fn an_empty_change_set_is_recognised() {
        assert!(TaskChanges::default().is_empty());
        let clear = TaskChanges {
            description: Some(None),
            ..TaskChanges::default()
        };
        assert!(!clear.is_empty());
    }
}
