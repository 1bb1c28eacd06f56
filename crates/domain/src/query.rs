//! What a client asks of a task list: which tasks (filters) and in which order (sort).

use chrono::{NaiveDate, NaiveTime, TimeDelta};

use crate::error::{DomainError, InvalidReason};
use crate::ids::{TaskId, UserId};
use crate::list::ListId;
use crate::organise::{Priority, Tag};
use crate::task::Task;
use crate::time::{TimeZone, Timestamp};

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
    /// The manual order ([`crate::Position`]).
    Position,
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
            Self::Position => "position",
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
    /// The sync feed's order (`include_deleted`): the order things changed in.
    pub const SYNC: Self = Self {
        key: SortKey::UpdatedAt,
        descending: false,
    };

    const EXPECTED: &'static str = "one of created_at, updated_at, due, priority, title, position, optionally after a - for descending";

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
            "position" => SortKey::Position,
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
        crate::search_keys::fold(&self.0)
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
    /// Only the tasks of this list.
    pub list: Option<ListId>,
    /// Only subtasks of this task, or (`Some(None)`) only tasks that are no subtask.
    pub parent: Option<Option<TaskId>>,
    /// Only tasks assigned to this user.
    pub assignee: Option<UserId>,
    /// Also the tasks of archived lists (always those of a list named by `list`).
    pub archived: bool,
}

/// A whole list request: which tasks, in which order, judged at which moment and zone.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TaskQuery {
    pub filter: TaskFilter,
    pub sort: Sort,
    /// What "overdue" and "due today" mean for the caller now.
    pub window: DueWindow,
}

impl TaskQuery {
    /// Whether this is the plain list: every task, oldest first.
    #[must_use]
    pub fn is_plain(&self) -> bool {
        self.sort == Sort::default() && self.filter == TaskFilter::default()
    }
}

/// A task's value for a sort key, as the store orders it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SortValue {
    /// `created_at`, `updated_at`, or `due` (an all-day date at its midnight UTC; `None`:
    /// no due date, ordered last).
    Instant(Option<Timestamp>),
    /// `Priority::rank` (`None`: no priority, ordered last).
    Rank(Option<i16>),
    /// The title in Unicode lower case, or the position.
    Text(String),
}

impl SortValue {
    /// `task`'s value for `key`.
    #[must_use]
    pub fn of(task: &Task, key: SortKey) -> Self {
        match key {
            SortKey::CreatedAt => Self::Instant(Some(task.created_at)),
            SortKey::UpdatedAt => Self::Instant(Some(task.updated_at)),
            SortKey::Due => Self::Instant(task.due.map(|d| d.starts_at_utc())),
            SortKey::Priority => Self::Rank(task.priority.map(Priority::rank)),
            SortKey::Title => Self::Text(crate::search_keys::title_key(task.title.as_str())),
            SortKey::Position => Self::Text(task.position.as_str().to_owned()),
        }
    }
}

/// Where a page of a sorted list ends: the last task's sort value and id. The next page
/// holds the tasks strictly after it in the query's order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ListCursor {
    pub value: SortValue,
    pub id: TaskId,
}

impl ListCursor {
    #[must_use]
    pub fn after(task: &Task, sort: Sort) -> Self {
        Self {
            value: SortValue::of(task, sort.key),
            id: task.id,
        }
    }
}

/// What a list request asks for, apart from its page: which tasks, in which order, and the
/// time zone in which "overdue" and "due today" are judged.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ListSpec {
    pub filter: TaskFilter,
    pub sort: Sort,
    pub tz: TimeZone,
    /// The sync feed: tasks changed since `filter.updated_since` and the tombstones of
    /// those deleted since, by `(updated_at, id)`.
    pub include_deleted: bool,
}

impl Default for ListSpec {
    fn default() -> Self {
        Self {
            filter: TaskFilter::default(),
            sort: Sort::default(),
            tz: TimeZone::UTC,
            include_deleted: false,
        }
    }
}

impl ListSpec {
    /// Whether this is the plain list: every task, oldest first (`(created_at, id)`
    /// ascending), in any zone.
    #[must_use]
    pub fn is_plain(&self) -> bool {
        self.sort == Sort::default()
            && self.filter == TaskFilter::default()
            && !self.include_deleted
    }

    /// What stops this list from being a sync feed (`include_deleted`), as
    /// `(parameter, problem)` pairs: a feed needs `updated_since`, is ordered by
    /// `updated_at` ascending, and takes no other filter (a deleted task has no fields
    /// left to filter by).
    #[must_use]
    pub fn sync_problems(&self) -> Vec<(&'static str, &'static str)> {
        let f = &self.filter;
        let mut problems = Vec::new();
        if f.updated_since.is_none() {
            problems.push((
                "include_deleted",
                "needs updated_since: the feed holds what changed since then",
            ));
        }
        let other =
            "cannot be combined with include_deleted: a deleted task has no fields to filter by";
        let filters = [
            ("status", f.status != Status::All),
            ("priority", !f.priorities.is_empty()),
            ("tag", !f.tags.is_empty()),
            ("q", f.text.is_some()),
            ("due_before", f.due_before.is_some()),
            ("due_after", f.due_after.is_some()),
            ("overdue", f.overdue),
            ("due", f.due_today),
            ("list_id", f.list.is_some()),
            ("parent_id", f.parent.is_some()),
            ("assignee", f.assignee.is_some()),
            ("archived", f.archived),
        ];
        problems.extend(
            filters
                .iter()
                .filter(|(_, set)| *set)
                .map(|(name, _)| (*name, other)),
        );
        if self.sort != Sort::SYNC {
            problems.push((
                "sort",
                "must be updated_at (or left out) with include_deleted: the feed is in the order things changed",
            ));
        }
        problems
    }

    /// The query to run at `now`.
    #[must_use]
    pub fn query(&self, now: Timestamp) -> TaskQuery {
        TaskQuery {
            filter: self.filter.clone(),
            sort: self.sort,
            window: DueWindow::at(now, self.tz),
        }
    }

    /// A short, stable digest of the filter, the sort and (when a filter depends on it) the
    /// zone, which cursors carry so that one is never used with another query: 16 hex
    /// digits of FNV-1a 64 over a canonical text. Equivalent queries (priorities or tags in
    /// another order or case, repeated values) have the same fingerprint.
    #[must_use]
    pub fn fingerprint(&self) -> String {
        format!("{:016x}", fnv1a(self.canonical().as_bytes()))
    }

    /// The canonical text the fingerprint digests. Fields are separated by a line feed and
    /// list items by U+001F; neither can occur in a tag or a search text.
    fn canonical(&self) -> String {
        use std::fmt::Write as _;
        let f = &self.filter;
        let micros = |t: Option<Timestamp>| t.map(|t| t.timestamp_micros().to_string());
        let mut ranks: Vec<i16> = f.priorities.iter().map(|p| p.rank()).collect();
        ranks.sort_unstable();
        ranks.dedup();
        let mut tags: Vec<String> = f.tags.iter().map(Tag::key).collect();
        tags.sort();
        tags.dedup();
        let zoned = f.overdue || f.due_today;
        let mut text = String::from("v1");
        let status = match f.status {
            Status::All => "all",
            Status::Pending => "pending",
            Status::Completed => "completed",
        };
        let _ = write!(
            text,
            "\nstatus={status}\npriority={}\ntag={}\nq={}\ndue_before={}\ndue_after={}\n\
             overdue={}\ndue_today={}\nupdated_since={}\nsort={}\ntz={}",
            ranks
                .iter()
                .map(i16::to_string)
                .collect::<Vec<_>>()
                .join(","),
            tags.join("\u{1f}"),
            f.text.as_ref().map(SearchText::folded).unwrap_or_default(),
            micros(f.due_before).unwrap_or_default(),
            micros(f.due_after).unwrap_or_default(),
            u8::from(f.overdue),
            u8::from(f.due_today),
            micros(f.updated_since).unwrap_or_default(),
            self.sort,
            if zoned { self.tz.name() } else { "" },
        );
        // Only when set: cursors of lists without them keep their fingerprints.
        if self.include_deleted {
            text.push_str("\ninclude_deleted=1");
        }
        if let Some(list) = f.list {
            let _ = write!(text, "\nlist_id={list}");
        }
        match f.parent {
            None => {}
            Some(None) => text.push_str("\nparent_id=none"),
            Some(Some(parent)) => {
                let _ = write!(text, "\nparent_id={parent}");
            }
        }
        if let Some(assignee) = &f.assignee {
            let _ = write!(text, "\nassignee={}", assignee.as_str().escape_default());
        }
        if f.archived {
            text.push_str("\narchived=1");
        }
        text
    }
}

/// FNV-1a, 64 bits: stable across builds and platforms (unlike `std`'s hashers).
fn fnv1a(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xcbf2_9ce4_8422_2325, |hash, b| {
        (hash ^ u64::from(*b)).wrapping_mul(0x0000_0100_0000_01b3)
    })
}

/// What "overdue" and "due today" mean for someone in a time zone at an instant, as bounds
/// on a task's due instant ([`crate::Due::starts_at_utc`]: an all-day date counts from its
/// midnight UTC, whatever the zone).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DueWindow {
    /// Overdue all-day dates start before this: today's date at midnight UTC.
    pub dates_before: Timestamp,
    /// Overdue instants are before this: now.
    pub instants_before: Timestamp,
    /// An all-day date due today starts exactly at this: today's date at midnight UTC.
    pub today_date: Timestamp,
    /// Instants due today are in `[today_from, today_until)`: today's local midnight to
    /// tomorrow's.
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

/// The due instant of an all-day `date`: its midnight UTC (as `Due::starts_at_utc`).
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
        for raw in [
            "created_at",
            "-updated_at",
            "due",
            "-priority",
            "title",
            "position",
            "-position",
        ] {
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

    fn spec(filter: TaskFilter, sort: &str) -> ListSpec {
        ListSpec {
            filter,
            sort: Sort::parse(sort).unwrap(),
            tz: TimeZone::UTC,
            include_deleted: false,
        }
    }

    fn pending() -> TaskFilter {
        TaskFilter {
            status: Status::Pending,
            ..TaskFilter::default()
        }
    }

    #[test]
    fn the_plain_list_is_no_filter_in_creation_order() {
        assert!(ListSpec::default().is_plain());
        assert!(spec(TaskFilter::default(), "created_at").is_plain());
        let zoned = ListSpec {
            tz: TimeZone::parse("tz", "Asia/Tokyo").unwrap(),
            ..ListSpec::default()
        };
        assert!(zoned.is_plain(), "a zone alone filters nothing");
        assert!(!spec(TaskFilter::default(), "-created_at").is_plain());
        assert!(!spec(TaskFilter::default(), "title").is_plain());
        assert!(!spec(pending(), "created_at").is_plain());
    }

    #[test]
    fn equivalent_queries_share_a_fingerprint() {
        let filter = |priorities: &[Priority], tags: &[&str], q: &str| TaskFilter {
            priorities: priorities.to_vec(),
            tags: tags.iter().map(|t| Tag::parse(t).unwrap()).collect(),
            text: Some(SearchText::parse(q).unwrap()),
            ..pending()
        };
        let a = spec(
            filter(&[Priority::High, Priority::Low], &["Home", "work"], "Milk"),
            "title",
        );
        let b = spec(
            filter(
                &[Priority::Low, Priority::High, Priority::Low],
                &["WORK", "home"],
                "mILK",
            ),
            "title",
        );
        assert_eq!(a.fingerprint(), b.fingerprint());
        let c = spec(
            filter(&[Priority::High], &["Home", "work"], "Milk"),
            "title",
        );
        assert_ne!(a.fingerprint(), c.fingerprint());
        let d = spec(
            filter(&[Priority::High, Priority::Low], &["Home"], "Milk"),
            "title",
        );
        assert_ne!(a.fingerprint(), d.fingerprint());
        assert_ne!(
            a.fingerprint(),
            spec(a.filter.clone(), "-title").fingerprint()
        );
        assert_eq!(a.fingerprint().len(), 16);
    }

    #[test]
    fn the_fingerprint_digest_is_fnv1a_64() {
        assert_eq!(fnv1a(b""), 0xcbf2_9ce4_8422_2325);
        assert_eq!(fnv1a(b"a"), 0xaf63_dc4c_8601_ec8c);
        assert_eq!(fnv1a(b"foobar"), 0x8594_4171_f739_67e8);
    }

    #[test]
    fn a_spec_queries_with_the_window_of_its_zone() {
        let now = chrono::Utc
            .with_ymd_and_hms(2026, 12, 1, 23, 30, 0)
            .unwrap();
        let tokyo = TimeZone::parse("tz", "Asia/Tokyo").unwrap();
        let spec = ListSpec {
            tz: tokyo,
            ..spec(pending(), "-priority")
        };
        let query = spec.query(now);
        assert_eq!(query.filter, pending());
        assert_eq!(query.sort, Sort::parse("-priority").unwrap());
        assert_eq!(query.window, DueWindow::at(now, tokyo));
    }

    #[test]
    fn a_sync_feed_needs_updated_since_and_takes_no_other_filter_or_sort() {
        let since = TaskFilter {
            updated_since: Some(chrono::Utc.timestamp_opt(5, 0).unwrap()),
            ..TaskFilter::default()
        };
        let feed = |filter: TaskFilter, sort: &str| ListSpec {
            include_deleted: true,
            ..spec(filter, sort)
        };
        assert!(feed(since.clone(), "updated_at").sync_problems().is_empty());
        let named = |spec: ListSpec| -> Vec<&str> {
            spec.sync_problems().iter().map(|(name, _)| *name).collect()
        };
        assert_eq!(
            named(feed(TaskFilter::default(), "updated_at")),
            ["include_deleted"]
        );
        assert_eq!(
            named(feed(
                TaskFilter {
                    status: Status::Pending,
                    overdue: true,
                    ..since.clone()
                },
                "-updated_at"
            )),
            ["status", "overdue", "sort"]
        );
        // The flag is part of the query a cursor belongs to.
        assert_ne!(
            feed(since.clone(), "updated_at").fingerprint(),
            spec(since, "updated_at").fingerprint()
        );
    }
}
