//! The folded keys a store keeps beside a task so that both backends search, filter and
//! sort text alike: the one home of case folding. They take plain text so that the
//! migrations that fill them in for existing rows call exactly what the service calls.
//!
//! Folding is Unicode lower case, computed here rather than in SQL because SQLite's
//! `lower()` and `LIKE` fold ASCII letters only.

/// The separator of the keys that hold several texts: a line feed, which no title, tag or
/// search text can contain, so no match spans two of them.
pub const KEY_SEPARATOR: char = '\n';

/// `text` folded for case-insensitive comparison: Unicode lower case.
#[must_use]
pub fn fold(text: &str) -> String {
    text.to_lowercase()
}

/// What the title sort orders by: the folded title.
#[must_use]
pub fn title_key(title: &str) -> String {
    fold(title)
}

/// What the `q` filter searches: title, a line feed, the description (empty when none),
/// folded.
#[must_use]
pub fn search_key(title: &str, description: Option<&str>) -> String {
    let description = description.unwrap_or_default();
    let mut key = String::with_capacity(title.len() + 1 + description.len());
    key.push_str(title);
    key.push(KEY_SEPARATOR);
    key.push_str(description);
    fold(&key)
}

/// What the tag filter looks in: each tag folded and followed by a line feed, after a
/// leading one (`"\nhome\nwork\n"`), so that a filter for `"\n" + fold(tag) + "\n"` never
/// matches a longer tag it is a prefix or suffix of. No tags: `""`.
#[must_use]
pub fn tags_key<'a>(tags: impl IntoIterator<Item = &'a str>) -> String {
    let mut key = String::new();
    for tag in tags {
        if key.is_empty() {
            key.push(KEY_SEPARATOR);
        }
        key.push_str(&fold(tag));
        key.push(KEY_SEPARATOR);
    }
    key
}

/// What the [`tags_key`] of a task carrying `tag` contains, and of no other task.
#[must_use]
pub fn tag_needle(tag: &str) -> String {
    let folded = fold(tag);
    let mut needle = String::with_capacity(folded.len() + 2);
    needle.push(KEY_SEPARATOR);
    needle.push_str(&folded);
    needle.push(KEY_SEPARATOR);
    needle
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn folding_goes_beyond_ascii() {
        assert_eq!(fold("ÉCOLE Straße ΣΟΦΙΑ"), "école straße σοφια");
        assert_eq!(title_key("Buy MILK"), "buy milk");
    }

    #[test]
    fn the_search_key_keeps_title_and_description_apart() {
        assert_eq!(search_key("Buy", Some("Oat MILK")), "buy\noat milk");
        assert_eq!(search_key("Buy", None), "buy\n");
    }

    #[test]
    fn each_tag_is_framed_by_separators() {
        assert_eq!(tags_key(["Home", "WORK"]), "\nhome\nwork\n");
        assert_eq!(tags_key(["Ärger"]), "\närger\n");
        assert_eq!(tags_key(std::iter::empty()), "");
        let key = tags_key(["homework", "Home"]);
        assert!(key.contains(&tag_needle("HOME")));
        assert!(!tags_key(["homework", "at home"]).contains(&tag_needle("home")));
    }
}
