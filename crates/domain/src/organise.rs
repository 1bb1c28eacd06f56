//! What a task is organised by: its priority and its tags.

use std::fmt;

use crate::error::{DomainError, InvalidReason};

/// How important a task is. Ordered: `Low < Medium < High`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Priority {
    Low,
    Medium,
    High,
}

impl Priority {
    const EXPECTED: &'static str = "one of low, medium, high";

    /// Parses `low`, `medium` or `high` (exactly: the API's values are lower case).
    ///
    /// # Errors
    /// `DomainError::Invalid` for field `priority` otherwise.
    pub fn parse(raw: &str) -> Result<Self, DomainError> {
        match raw {
            "low" => Ok(Self::Low),
            "medium" => Ok(Self::Medium),
            "high" => Ok(Self::High),
            _ => Err(DomainError::invalid(
                "priority",
                InvalidReason::Malformed(Self::EXPECTED),
            )),
        }
    }

    #[must_use]
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Low => "low",
            Self::Medium => "medium",
            Self::High => "high",
        }
    }

    /// The stored, sortable form: 1 (low) to 3 (high).
    #[must_use]
    pub fn rank(self) -> i16 {
        match self {
            Self::Low => 1,
            Self::Medium => 2,
            Self::High => 3,
        }
    }

    /// The priority stored as `rank`, if it is one.
    #[must_use]
    pub fn from_rank(rank: i16) -> Option<Self> {
        match rank {
            1 => Some(Self::Low),
            2 => Some(Self::Medium),
            3 => Some(Self::High),
            _ => None,
        }
    }
}

impl fmt::Display for Priority {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One tag: trimmed, 1 to 50 characters, no control characters and no comma (tags are
/// given as a comma-separated list in query strings). Compared case-insensitively.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Tag(String);

impl Tag {
    pub const MAX_CHARS: usize = 50;

    /// # Errors
    /// `DomainError::Invalid` for field `tags` when the tag breaks a rule above.
    pub fn parse(raw: &str) -> Result<Self, DomainError> {
        let bad = |reason| Err(DomainError::invalid("tags", reason));
        let tag = raw.trim();
        if tag.is_empty() {
            return bad(InvalidReason::Detail(
                "must not contain an empty tag".into(),
            ));
        }
        if tag.chars().count() > Self::MAX_CHARS {
            return bad(InvalidReason::Detail(format!(
                "must each be at most {} characters long",
                Self::MAX_CHARS
            )));
        }
        if tag.chars().any(char::is_control) {
            return bad(InvalidReason::ControlCharacter);
        }
        if tag.contains(',') {
            return bad(InvalidReason::Detail("must not contain commas".into()));
        }
        Ok(Self(tag.to_owned()))
    }

    #[must_use]
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The form tags are compared, matched and counted by (Unicode lower case).
    #[must_use]
    pub fn key(&self) -> String {
        crate::search_keys::fold(&self.0)
    }
}

/// A task's tags: at most 20, no two equal ignoring case (the first spelling is kept),
/// sorted by their case-insensitive form.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Tags(Vec<Tag>);

impl Tags {
    pub const MAX: usize = 20;

    /// # Errors
    /// `DomainError::Invalid` for field `tags` when a tag is invalid or there are more than
    /// [`Tags::MAX`] distinct tags.
    pub fn parse<S: AsRef<str>>(raw: &[S]) -> Result<Self, DomainError> {
        let mut tags: Vec<(String, Tag)> = Vec::with_capacity(raw.len());
        for r in raw {
            let tag = Tag::parse(r.as_ref())?;
            let key = tag.key();
            if !tags.iter().any(|(k, _)| *k == key) {
                tags.push((key, tag));
            }
        }
        if tags.len() > Self::MAX {
            return Err(DomainError::invalid(
                "tags",
                InvalidReason::Detail(format!("must be at most {} per task", Self::MAX)),
            ));
        }
        tags.sort_by(|a, b| a.0.cmp(&b.0).then_with(|| a.1.0.cmp(&b.1.0)));
        Ok(Self(tags.into_iter().map(|(_, t)| t).collect()))
    }

    #[must_use]
    pub fn as_slice(&self) -> &[Tag] {
        &self.0
    }

    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// Whether one of the tags equals `tag`, ignoring case.
    #[must_use]
    pub fn contains(&self, tag: &Tag) -> bool {
        let key = tag.key();
        self.0.iter().any(|t| t.key() == key)
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn priorities_parse_exactly_and_order_by_importance() {
        assert_eq!(Priority::parse("high").unwrap(), Priority::High);
        assert!(Priority::Low < Priority::Medium && Priority::Medium < Priority::High);
        for bad in ["High", "urgent", "", " low"] {
            assert_eq!(
                Priority::parse(bad).unwrap_err().to_string(),
                "priority must be one of low, medium, high",
                "{bad:?}"
            );
        }
        for p in [Priority::Low, Priority::Medium, Priority::High] {
            assert_eq!(Priority::from_rank(p.rank()), Some(p));
            assert_eq!(Priority::parse(p.as_str()).unwrap(), p);
        }
        assert_eq!(Priority::from_rank(0), None);
        assert!(Priority::Low.rank() < Priority::High.rank(), "ranks sort");
    }

    #[test]
    fn tags_are_trimmed_deduplicated_ignoring_case_and_sorted() {
        let tags = Tags::parse(&["  work ", "Home", "WORK", "errands", "home"]).unwrap();
        let names: Vec<&str> = tags.as_slice().iter().map(Tag::as_str).collect();
        assert_eq!(names, ["errands", "Home", "work"]);
        assert!(tags.contains(&Tag::parse("HOME").unwrap()));
        assert!(!tags.contains(&Tag::parse("garden").unwrap()));
    }

    #[test]
    fn tags_compare_unicode_case_insensitively() {
        let tags = Tags::parse(&["Ärger", "ärger", "Zebra", "apple", "ÉTÉ", "été"]).unwrap();
        let names: Vec<&str> = tags.as_slice().iter().map(Tag::as_str).collect();
        // Sorted by the lower-cased form, code point by code point; first spelling kept.
        assert_eq!(names, ["apple", "Zebra", "Ärger", "ÉTÉ"]);
    }

    #[test]
    fn tag_rules_are_enforced_with_clear_messages() {
        let err = |raw: &[&str]| Tags::parse(raw).unwrap_err().to_string();
        assert_eq!(err(&["ok", "  "]), "tags must not contain an empty tag");
        assert_eq!(
            err(&[&"x".repeat(51)]),
            "tags must each be at most 50 characters long"
        );
        assert!(
            Tags::parse(&["é".repeat(50)]).is_ok(),
            "characters, not bytes"
        );
        assert_eq!(err(&["a,b"]), "tags must not contain commas");
        assert_eq!(
            err(&["tab\there"]),
            "tags must not contain control characters"
        );
        let many: Vec<String> = (0..21).map(|i| format!("t{i}")).collect();
        assert_eq!(
            err(&many.iter().map(String::as_str).collect::<Vec<_>>()),
            "tags must be at most 20 per task"
        );
        let twenty_with_repeats: Vec<String> = (0..40).map(|i| format!("T{}", i % 20)).collect();
        assert_eq!(
            Tags::parse(&twenty_with_repeats).unwrap().as_slice().len(),
            20
        );
    }
}
