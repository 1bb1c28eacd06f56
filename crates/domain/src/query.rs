//! What a client asks of a task list: which tasks (filters) and in which order (sort).

use chrono::{NaiveDate, NaiveTime, TimeDelta};

use crate::{DomainError, InvalidReason, Priority, Tag, TimeZone, Timestamp};

/// Which tasks by completion.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum Status {
    #[default]
    All,
    Pending,
    Completed,
}

impl Status {
    /// # Errors
    /// `DomainError::Invalid` for field `status` unless `all`, `pending` or `completed`.
    pub fn parse(raw: &str) -> Result<Self, DomainError> {
        match raw {
            "all" => Ok(Self::All),
            "pending" => Ok(Self::Pending),
            "completed" => Ok(Self::Completed),
            _ => Err(DomainError::invalid(
                "status",
                InvalidReason::Malformed("one of all, pending, completed"),
            )),
        }
    }
}

/// What a list can be ordered by. Every order ends with the task id, so it is total and
/// stable across pages.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum SortKey {
    #[default]
    CreatedAt,
    UpdatedAt,
    /// Tasks without a due date come last, whichever the direction.
    Due,
    /// `high` first when descending; tasks without a priority come last.
    Priority,
    /// Case-insensitive.
    Title,
}

impl SortKey {
    #[must_use]
    pub fn as_str(self) -> &'static str {
        match self {
            Self::CreatedAt => "created_at",
            Self::UpdatedAt => "updated_at",
            Self::Due => "due",
            Self::Priority => "priority",
            Self::Title => "title",
        }
    }
}

/// An order: a key and a direction (`-key` is descending).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Sort {
    pub key: SortKey,
    pub descending: bool,
}

impl Sort {
    const EXPECTED: &'static str =
        "one of created_at, updated_at, due, priority, title, optionally after a - for descending";

    /// # Errors
    /// `DomainError::Invalid` for field `sort` when the key is unknown.
    pub fn parse(raw: &str) -> Result<Self, DomainError> {
        let (descending, name) = match raw.strip_prefix('-') {
            Some(rest) => (true, rest),
            None => (false, raw),
        };
        let key = match name {
            "created_at" => SortKey::CreatedAt,
            "updated_at" => SortKey::UpdatedAt,
            "due" => SortKey::Due,
            "priority" => SortKey::Priority,
            "title" => SortKey::Title,
            _ => {
                return Err(DomainError::invalid(
                    "sort",
                    InvalidReason::Malformed(Self::EXPECTED),
                ));
            }
        };
        Ok(Self { key, descending })
    }
}

impl std::fmt::Display for Sort {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        if self.descending {
            f.write_str("-")?;
        }
        f.write_str(self.key.as_str())
    }
}

/// A keyword searched in titles and descriptions, case-insensitively: trimmed, 1 to 200
/// characters.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SearchText(String);

impl SearchText {
    pub const MAX_CHARS: usize = 200;

    /// # Errors
    /// `DomainError::Invalid` for field `q` when blank, too long or with control characters.
    pub fn parse(raw: &str) -> Result<Self, DomainError> {
        let bad = |reason| Err(DomainError::invalid("q", reason));
        let text = raw.trim();
        if text.is_empty() {
            return bad(InvalidReason::Empty);
        }
        if text.chars().count() > Self::MAX_CHARS {
            return bad(InvalidReason::TooLong {
                max: Self::MAX_CHARS,
            });
        }
        if text.chars().any(char::is_control) {
            return bad(InvalidReason::ControlCharacter);
        }
        Ok(Self(text.to_owned()))
    }

    #[must_use]
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The form it is matched in: Unicode lower case.
    #[must_use]
    pub fn folded(&self) -> String {
        self.0.to_lowercase()
    }
}

/// Which tasks a list shows. Empty vectors and `None` mean "no condition".
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TaskFilter {
    pub status: Status,
    /// Any of these.
    pub priorities: Vec<Priority>,
    /// All of these (compared ignoring case).
    pub tags: Vec<Tag>,
    pub text: Option<SearchText>,
    /// Due strictly before this instant (an all-day date counts from its midnight UTC).
    pub due_before: Option<Timestamp>,
    /// Due at or after this instant.
    pub due_after: Option<Timestamp>,
    pub overdue: bool,
    pub due_today: bool,
    /// Changed at or after this instant (incremental sync).
    pub updated_since: Option<Timestamp>,
}

/// Bounds on the stored due column that select what "overdue" and "due today" mean for
/// someone in a time zone at an instant. All-day dates are stored at their midnight UTC,
/// instants as they are.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DueWindow {
    /// All-day dates before today: `due_all_day AND due_at < dates_before`.
    pub dates_before: Timestamp,
    /// Instants past: `NOT due_all_day AND due_at < instants_before`.
    pub instants_before: Timestamp,
    /// Today's all-day date: `due_all_day AND due_at = today_date`.
    pub today_date: Timestamp,
    /// Instants on today's local date: `NOT due_all_day AND due_at` in `[from, until)`.
    pub today_from: Timestamp,
    pub today_until: Timestamp,
}

impl DueWindow {
    /// The window for `now` as seen in `tz`.
    #[must_use]
    pub fn at(now: Timestamp, tz: TimeZone) -> Self {
        let today = now.with_timezone(&tz.tz()).date_naive();
        let tomorrow = today.succ_opt().unwrap_or(today);
        Self {
            dates_before: date_key(today),
            instants_before: now,
            today_date: date_key(today),
            today_from: local_midnight(today, tz),
            today_until: local_midnight(tomorrow, tz),
        }
    }
}

/// How an all-day date is stored: its midnight UTC.
fn date_key(date: NaiveDate) -> Timestamp {
    date.and_time(NaiveTime::MIN).and_utc()
}

/// The first instant of `date` in `tz` (a day may start at 01:00 where midnight is skipped).
fn local_midnight(date: NaiveDate, tz: TimeZone) -> Timestamp {
    let mut local = date.and_time(NaiveTime::MIN);
    for _ in 0..48 {
        if let Some(t) = local.and_local_timezone(tz.tz()).earliest() {
            return t.with_timezone(&chrono::Utc);
        }
        local += TimeDelta::minutes(30);
    }
    date_key(date)
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use chrono::TimeZone as _;

    #[test]
    fn sorts_parse_with_a_direction_and_print_back() {
        assert_eq!(
            Sort::parse("-due").unwrap(),
            Sort {
                key: SortKey::Due,
                descending: true
            }
        );
        for raw in ["created_at", "-updated_at", "due", "-priority", "title"] {
            assert_eq!(Sort::parse(raw).unwrap().to_string(), raw);
        }
        for bad in ["", "-", "position2", "Due", "--due", "+due"] {
            assert!(
                Sort::parse(bad)
                    .unwrap_err()
                    .to_string()
                    .starts_with("sort must be one of created_at"),
                "{bad:?}"
            );
        }
    }

    #[test]
    fn statuses_and_search_text_are_checked() {
        assert_eq!(Status::parse("pending").unwrap(), Status::Pending);
        assert_eq!(
            Status::parse("done").unwrap_err().to_string(),
            "status must be one of all, pending, completed"
        );
        assert_eq!(SearchText::parse("  Milk ").unwrap().folded(), "milk");
        assert_eq!(SearchText::parse("ÄPFEL").unwrap().folded(), "äpfel");
        assert!(SearchText::parse("   ").is_err());
        assert!(SearchText::parse(&"x".repeat(201)).is_err());
    }

    #[test]
    fn the_due_window_follows_the_callers_day() {
        // 23:30 UTC on Dec 1 is already Dec 2, 08:30 in Tokyo.
        let now = chrono::Utc
            .with_ymd_and_hms(2026, 12, 1, 23, 30, 0)
            .unwrap();
        let tokyo = TimeZone::parse("tz", "Asia/Tokyo").unwrap();
        let w = DueWindow::at(now, tokyo);
        let dec2 = chrono::Utc.with_ymd_and_hms(2026, 12, 2, 0, 0, 0).unwrap();
        assert_eq!(w.today_date, dec2);
        assert_eq!(w.dates_before, dec2);
        assert_eq!(w.instants_before, now);
        assert_eq!(
            w.today_from,
            chrono::Utc.with_ymd_and_hms(2026, 12, 1, 15, 0, 0).unwrap()
        );
        assert_eq!(
            w.today_until,
            chrono::Utc.with_ymd_and_hms(2026, 12, 2, 15, 0, 0).unwrap()
        );
        let utc = DueWindow::at(now, TimeZone::UTC);
        assert_eq!(
            utc.today_date,
            chrono::Utc.with_ymd_and_hms(2026, 12, 1, 0, 0, 0).unwrap()
        );
    }

    #[test]
    fn a_day_of_a_dst_change_is_23_or_25_hours_long() {
        let berlin = TimeZone::parse("tz", "Europe/Berlin").unwrap();
        let spring = chrono::Utc.with_ymd_and_hms(2026, 3, 29, 12, 0, 0).unwrap();
        let w = DueWindow::at(spring, berlin);
        assert_eq!(w.today_until - w.today_from, TimeDelta::hours(23));
        let autumn = chrono::Utc
            .with_ymd_and_hms(2026, 10, 25, 12, 0, 0)
            .unwrap();
        let w = DueWindow::at(autumn, berlin);
        assert_eq!(w.today_until - w.today_from, TimeDelta::hours(25));
    }
}
