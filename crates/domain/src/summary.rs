//! What the list summaries are made of: tag counts and task counts.

use std::collections::BTreeMap;

use crate::organise::{Tag, Tags};

/// A tag in use and how many of the owner's tasks carry it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TagCount {
    pub tag: Tag,
    pub count: u64,
}

/// One count per tag from `(tag list, how many tasks have exactly that list)` pairs. Tags
/// compare case-insensitively; each is spelled as most of its tasks spell it (on a tie, the
/// spelling first in code point order). Sorted by [`Tag::key`].
#[must_use]
pub fn count_tags(lists: impl IntoIterator<Item = (Tags, u64)>) -> Vec<TagCount> {
    // key -> (tasks carrying it, spelling -> tasks spelling it so)
    let mut by_key: BTreeMap<String, (u64, BTreeMap<String, u64>)> = BTreeMap::new();
    for (tags, tasks) in lists {
        for tag in tags.as_slice() {
            let (count, spellings) = by_key.entry(tag.key()).or_default();
            *count += tasks;
            *spellings.entry(tag.as_str().to_owned()).or_default() += tasks;
        }
    }
    by_key
        .into_values()
        .filter_map(|(count, spellings)| {
            // `max_by_key` keeps the last maximum: iterate in reverse for the first.
            let (spelling, _) = spellings.iter().rev().max_by_key(|(_, n)| **n)?;
            let tag = Tag::parse(spelling).ok()?;
            Some(TagCount { tag, count })
        })
        .collect()
}

/// Counts of one owner's tasks, "overdue" and "due today" judged in the caller's zone.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct TaskStats {
    pub total: u64,
    pub pending: u64,
    pub completed: u64,
    /// Open tasks by priority.
    pub pending_high: u64,
    pub pending_medium: u64,
    pub pending_low: u64,
    pub pending_no_priority: u64,
    /// Open tasks due before now (all-day ones: before today).
    pub overdue: u64,
    /// Tasks due today, open or not.
    pub due_today: u64,
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn tags_are_counted_case_insensitively_under_their_usual_spelling() {
        let tags = |list: &[&str]| Tags::parse(list).unwrap();
        let counts = count_tags([
            (tags(&["Work", "home"]), 3),
            (tags(&["work"]), 1),
            (tags(&["Home"]), 3),
            (tags(&["Ärger"]), 2),
        ]);
        let shown: Vec<(&str, u64)> = counts.iter().map(|c| (c.tag.as_str(), c.count)).collect();
        // "home" and "Home" tie at 3: the first in code point order ("Home") is shown.
        assert_eq!(shown, [("Home", 6), ("Work", 4), ("Ärger", 2)]);
        assert!(count_tags([]).is_empty());
    }
}
