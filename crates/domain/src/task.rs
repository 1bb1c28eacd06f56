//! The task: its title and description, its fields, and the edits that change it.

use crate::due::Due;
use crate::error::{DomainError, InvalidReason};
use crate::ids::{TaskId, UserId};
use crate::list::ListId;
use crate::organise::{Priority, Tags};
use crate::position::Position;
use crate::recurrence::Recurrence;
use crate::time::{TimeZone, Timestamp};

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

    /// A title as the store keeps it: one [`parse`](Self::parse) made when it was
    /// written, so not checked again (every listed task is rebuilt from its row; the rule
    /// stays in `parse` alone).
    #[must_use]
    pub fn from_stored(stored: String) -> Self {
        Self(stored)
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

    /// A description as the store keeps it: one [`parse`](Self::parse) made when it was
    /// written, so not checked again but for being blank (a row an older version wrote may
    /// hold an empty one, which is none).
    #[must_use]
    pub fn from_stored(stored: String) -> Option<Self> {
        (!stored.trim().is_empty()).then_some(Self(stored))
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
    /// Who created it (`user_id` in JSON). What others may do to it follows from their
    /// role in its list.
    pub owner: UserId,
    /// The list it is in; a subtask is in its parent's.
    pub list: ListId,
    /// The task it is a subtask of.
    pub parent: Option<TaskId>,
    /// The member of its list it is assigned to.
    pub assignee: Option<UserId>,
    /// How many subtasks it has (not in the trash): read from the store, never written.
    pub subtasks: u32,
    pub title: TaskTitle,
    pub description: Option<TaskDescription>,
    pub completed: bool,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
    pub priority: Option<Priority>,
    pub tags: Tags,
    pub due: Option<Due>,
    pub remind_at: Option<Timestamp>,
    /// When it was completed; `None` while open.
    pub completed_at: Option<Timestamp>,
    /// How it repeats; needs a `due` to repeat from.
    pub recurrence: Option<Recurrence>,
    /// The zone its recurrence keeps local times in (UTC when not given).
    pub time_zone: Option<TimeZone>,
    /// Occurrences of its series completed so far (for the rule's COUNT).
    pub occurrences_done: u32,
    /// Starts at 1; every write adds one. Clients send it back in `If-Match`.
    pub version: i64,
    /// Its place in the owner's manual order (the `position` sort). A new task goes after
    /// every task created before it.
    pub position: Position,
    /// The local time of day its series repeats at, kept only while the current
    /// occurrence had to move away from it (a time in a spring-forward gap): the next
    /// occurrence returns to it.
    pub series_time: Option<chrono::NaiveTime>,
}

/// What an edit of a task (an update, a completion, a toggle) writes.
#[derive(Debug, Clone, PartialEq, Eq)]
#[allow(clippy::large_enum_variant)] // Short-lived, one per write: boxing buys nothing.
pub enum Edited {
    /// The task's new state, replacing the stored one.
    Replaced(Task),
    /// A recurring task: the finished occurrence is recorded as its own completed task, and
    /// the task moves on to its next occurrence, still open.
    Recurred { finished: Task, next: Task },
}

impl Task {
    /// A new, open task created at `now`.
    #[must_use]
    pub fn new(
        id: TaskId,
        owner: UserId,
        list: ListId,
        title: TaskTitle,
        description: Option<TaskDescription>,
        now: Timestamp,
    ) -> Self {
        Self {
            id,
            owner,
            list,
            parent: None,
            assignee: None,
            subtasks: 0,
            title,
            description,
            completed: false,
            created_at: now,
            updated_at: now,
            priority: None,
            tags: Tags::default(),
            due: None,
            remind_at: None,
            completed_at: None,
            recurrence: None,
            time_zone: None,
            occurrences_done: 0,
            version: 1,
            position: Position::initial(now, id),
            series_time: None,
        }
    }

    /// The zone its dates are judged in.
    #[must_use]
    pub fn zone(&self) -> TimeZone {
        self.time_zone.unwrap_or(TimeZone::UTC)
    }

    /// Marks it completed (or open) at `now`, as a plain write: `completed_at` follows.
    /// Completing a recurring task goes through [`Task::complete`] instead.
    pub fn set_completed(&mut self, completed: bool, now: Timestamp) {
        if completed && !self.completed {
            self.completed_at = Some(now);
        } else if !completed {
            self.completed_at = None;
        }
        self.completed = completed;
    }

    /// Whether completing it moves it to a next occurrence.
    #[must_use]
    pub fn repeats(&self) -> bool {
        !self.completed && self.recurrence.is_some() && self.due.is_some()
    }

    /// The rules every stored task keeps.
    ///
    /// # Errors
    /// A recurrence without a due date has nothing to repeat from.
    pub fn check(&self) -> Result<(), DomainError> {
        if self.recurrence.is_some() && self.due.is_none() {
            return Err(DomainError::invalid(
                "recurrence",
                InvalidReason::Detail("needs a due date to repeat from".into()),
            ));
        }
        Ok(())
    }

    /// Applies `changes` at `now` and returns the new state (version + 1). Completing a
    /// recurring task moves it to its next occurrence (see [`Task::complete`]).
    ///
    /// # Errors
    /// When the result would break a rule of [`Task::check`].
    pub fn apply(
        &self,
        changes: &TaskChanges,
        now: Timestamp,
        finished_id: TaskId,
    ) -> Result<Edited, DomainError> {
        let mut next = self.clone();
        if let Some(title) = &changes.title {
            next.title = title.clone();
        }
        if let Some(description) = &changes.description {
            next.description.clone_from(description);
        }
        if let Some(priority) = changes.priority {
            next.priority = priority;
        }
        if let Some(tags) = &changes.tags {
            next.tags = tags.clone();
        }
        if let Some(due) = changes.due {
            next.due = due;
        }
        if let Some(remind_at) = changes.remind_at {
            next.remind_at = remind_at;
        }
        if let Some(recurrence) = &changes.recurrence {
            next.recurrence.clone_from(recurrence);
            // A new rule starts a new series.
            next.occurrences_done = 0;
        }
        if let Some(time_zone) = changes.time_zone {
            next.time_zone = time_zone;
        }
        if let Some(position) = &changes.position {
            next.position = position.clone();
        }
        if let Some(list) = changes.list {
            next.list = list;
        }
        if let Some(parent) = changes.parent {
            next.parent = parent;
        }
        if let Some(assignee) = &changes.assignee {
            next.assignee.clone_from(assignee);
        }
        if changes.due.is_some() || changes.recurrence.is_some() || changes.time_zone.is_some() {
            // A new due date, rule or zone starts from its own time.
            next.series_time = None;
        }
        next.check()?;
        // `next` holds the edits; completing a repeating task is the same write.
        if changes.completed == Some(true) && next.repeats() {
            return Ok(next.complete(now, finished_id));
        }
        next.touch(now);
        if let Some(completed) = changes.completed {
            next.set_completed(completed, now);
        }
        Ok(Edited::Replaced(next))
    }

    /// The task moved to `position` in its owner's manual order at `now`: nothing else
    /// changes but what every write changes (version + 1).
    #[must_use]
    pub fn moved(&self, position: Position, now: Timestamp) -> Self {
        let mut next = self.clone();
        next.position = position;
        next.touch(now);
        next
    }

    /// Flips it at `now`: a task that repeats moves to its next occurrence as
    /// [`Task::complete`] does; any other is completed (or reopened) as
    /// [`Task::set_completed`] does. Version + 1.
    #[must_use]
    pub fn toggle(&self, now: Timestamp, finished_id: TaskId) -> Edited {
        if self.repeats() {
            return self.complete(now, finished_id);
        }
        let mut next = self.clone();
        next.touch(now);
        next.set_completed(!self.completed, now);
        Edited::Replaced(next)
    }

    /// What every write of a task does: `updated_at = now`, version + 1.
    fn touch(&mut self, now: Timestamp) {
        self.updated_at = now;
        self.version = self.version.saturating_add(1);
    }

    /// Completes it at `now` (version + 1). A recurring task with a next occurrence records
    /// the finished one as a new completed task with id `finished_id` and moves on: its due
    /// date (and reminder, by the same distance) advance and it stays open. When the series
    /// has ended (COUNT reached, past UNTIL) it is simply completed.
    #[must_use]
    pub fn complete(&self, now: Timestamp, finished_id: TaskId) -> Edited {
        let mut next = self.clone();
        next.touch(now);
        let tz = self.zone().tz();
        // The series' time of day: kept from before a gap moved the current occurrence.
        let wall = self.series_time.or(match self.due {
            Some(Due::At(t)) => Some(t.with_timezone(&tz).time()),
            _ => None,
        });
        let following = match (&self.recurrence, &self.due) {
            (Some(rule), Some(due)) if !self.completed => {
                let done = self.occurrences_done.saturating_add(1);
                rule.next_after_at(due, done, tz, wall)
                    .map(|following| (done, *due, following))
            }
            _ => None,
        };
        let Some((done, due, following)) = following else {
            next.set_completed(true, now);
            if self.recurrence.is_some() && !self.completed {
                next.occurrences_done = self.occurrences_done.saturating_add(1);
            }
            return Edited::Replaced(next);
        };
        let finished = Self {
            id: finished_id,
            completed: true,
            completed_at: Some(now),
            created_at: now,
            updated_at: now,
            due: Some(due),
            recurrence: None,
            time_zone: self.time_zone,
            occurrences_done: 0,
            version: 1,
            // A new task: after every task created before it.
            position: Position::initial(now, finished_id),
            series_time: None,
            ..self.clone()
        };
        next.remind_at = self
            .remind_at
            .map(|r| r + (following.starts_at_utc() - due.starts_at_utc()));
        next.due = Some(following);
        next.series_time = match (following, wall) {
            (Due::At(t), Some(wall)) if t.with_timezone(&tz).time() != wall => Some(wall),
            _ => None,
        };
        next.occurrences_done = done;
        next.completed = false;
        next.completed_at = None;
        Edited::Recurred { finished, next }
    }
}

/// A partial update of a task: `None` leaves a field as it is; `Some(None)` clears an
/// optional one.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TaskChanges {
    pub title: Option<TaskTitle>,
    pub description: Option<Option<TaskDescription>>,
    pub completed: Option<bool>,
    pub priority: Option<Option<Priority>>,
    pub tags: Option<Tags>,
    pub due: Option<Option<Due>>,
    pub remind_at: Option<Option<Timestamp>>,
    pub recurrence: Option<Option<Recurrence>>,
    pub time_zone: Option<Option<TimeZone>>,
    pub position: Option<Position>,
    /// Into another list (with its subtasks).
    pub list: Option<ListId>,
    /// Under another task (`Some(None)`: to the top level).
    pub parent: Option<Option<TaskId>>,
    /// To another member (`Some(None)`: to no one).
    pub assignee: Option<Option<UserId>>,
}

impl TaskChanges {
    #[must_use]
    pub fn is_empty(&self) -> bool {
        *self == Self::default()
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
            ListId::from_uuid(uuid::Uuid::nil()),
            TaskTitle::parse("buy milk").unwrap(),
            None,
            at(1),
        )
    }

    #[test]
    fn a_move_changes_the_position_and_counts_as_a_write() {
        let before = task();
        let position = Position::parse("V").unwrap();
        let moved = before.moved(position.clone(), at(5));
        assert_eq!(moved.position, position);
        assert_eq!(moved.version, before.version + 1);
        assert_eq!(moved.updated_at, at(5));
        let unchanged = Task {
            position: before.position.clone(),
            version: before.version,
            updated_at: before.updated_at,
            ..moved
        };
        assert_eq!(unchanged, before, "nothing else changes");
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

    fn id(n: u128) -> TaskId {
        TaskId::from_uuid(uuid::Uuid::from_u128(n))
    }

    fn recurring(rule: &str, due: &str) -> Task {
        let mut t = task();
        t.recurrence = Some(Recurrence::parse(rule).unwrap());
        t.due = Some(Due::parse(due).unwrap());
        t
    }

    #[test]
    fn completing_stamps_and_reopening_clears_completed_at() {
        let t = task();
        let Edited::Replaced(done) = t.complete(at(50), id(9)) else {
            panic!("a plain task is completed in place");
        };
        assert!(done.completed);
        assert_eq!(done.completed_at, Some(at(50)));
        assert_eq!(done.version, 2);
        assert_eq!(done.updated_at, at(50));
        let reopen = TaskChanges {
            completed: Some(false),
            ..TaskChanges::default()
        };
        let Edited::Replaced(open) = done.apply(&reopen, at(60), id(9)).unwrap() else {
            panic!("reopening is a plain write");
        };
        assert!(!open.completed);
        assert_eq!(open.completed_at, None);
        assert_eq!(open.version, 3);
        // Completing an already completed task keeps its first completion time.
        let again = TaskChanges {
            completed: Some(true),
            ..TaskChanges::default()
        };
        let Edited::Replaced(still) = done.apply(&again, at(70), id(9)).unwrap() else {
            panic!()
        };
        assert_eq!(still.completed_at, Some(at(50)));
    }

    #[test]
    fn a_toggle_flips_a_plain_task_and_moves_a_repeating_one_on() {
        let open = task();
        let Edited::Replaced(done) = open.toggle(at(50), id(9)) else {
            panic!("a plain task is toggled in place");
        };
        assert!(done.completed);
        assert_eq!(done.completed_at, Some(at(50)));
        assert_eq!((done.version, done.updated_at), (2, at(50)));
        let Edited::Replaced(reopened) = done.toggle(at(60), id(9)) else {
            panic!("a completed task is reopened in place");
        };
        assert!(!reopened.completed);
        assert_eq!(reopened.completed_at, None);
        assert_eq!((reopened.version, reopened.updated_at), (3, at(60)));

        let repeating = recurring("FREQ=DAILY", "2026-01-31");
        assert_eq!(
            repeating.toggle(at(70), id(7)),
            repeating.complete(at(70), id(7)),
            "toggling a repeating task completes the occurrence"
        );
        // A completed repeating task (its series ended) is reopened like any other.
        let Edited::Replaced(mut ended) =
            recurring("FREQ=DAILY;COUNT=1", "2026-01-31").complete(at(80), id(8))
        else {
            panic!("the series ends at COUNT");
        };
        ended.version = 5;
        let Edited::Replaced(again) = ended.toggle(at(90), id(9)) else {
            panic!("a completed task is reopened in place");
        };
        assert!(!again.completed && again.completed_at.is_none());
        assert_eq!(again.version, 6);
    }

    #[test]
    fn completing_a_recurring_task_records_the_occurrence_and_moves_on() {
        let mut t = recurring("FREQ=MONTHLY;BYMONTHDAY=31;COUNT=3", "2026-01-31");
        t.remind_at = Some(chrono::Utc.with_ymd_and_hms(2026, 1, 30, 18, 0, 0).unwrap());
        t.priority = Some(Priority::High);
        let Edited::Recurred { finished, next } = t.complete(at(100), id(7)) else {
            panic!("a recurring task moves on");
        };
        assert_eq!(finished.id, id(7));
        assert!(finished.completed && finished.recurrence.is_none());
        assert_eq!(finished.due, Some(Due::parse("2026-01-31").unwrap()));
        assert_eq!(finished.completed_at, Some(at(100)));
        assert_eq!(finished.priority, Some(Priority::High));
        assert_eq!(finished.version, 1);
        assert_eq!(next.id, t.id);
        assert!(!next.completed && next.completed_at.is_none());
        // February has no 31st: skipped, as RFC 5545 says.
        assert_eq!(next.due, Some(Due::parse("2026-03-31").unwrap()));
        assert_eq!(
            next.remind_at,
            Some(chrono::Utc.with_ymd_and_hms(2026, 3, 30, 18, 0, 0).unwrap()),
            "the reminder keeps its distance to the due date"
        );
        assert_eq!(next.occurrences_done, 1);
        assert_eq!(next.version, t.version + 1);

        // The third occurrence is the last one: COUNT=3.
        let Edited::Recurred { next: third, .. } = next.complete(at(200), id(8)) else {
            panic!()
        };
        assert_eq!(third.due, Some(Due::parse("2026-05-31").unwrap()));
        let Edited::Replaced(ended) = third.complete(at(300), id(9)) else {
            panic!("the series ends at COUNT");
        };
        assert!(ended.completed);
        assert_eq!(ended.occurrences_done, 3);
        assert_eq!(ended.due, Some(Due::parse("2026-05-31").unwrap()));
    }

    #[test]
    fn a_series_moved_by_a_dst_gap_returns_to_its_time_of_day() {
        // Daily at 02:30 in Berlin; 02:30 does not exist on 2026-03-29.
        let mut t = recurring("FREQ=DAILY", "2026-03-28T02:30:00+01:00");
        t.time_zone = Some(crate::TimeZone::parse("time_zone", "Europe/Berlin").unwrap());
        let next_of = |t: &Task, n: u128| match t.complete(at(100), id(n)) {
            Edited::Recurred { next, .. } => next,
            Edited::Replaced(_) => panic!("still repeating"),
        };
        let moved = next_of(&t, 7);
        assert_eq!(moved.due, Due::parse("2026-03-29T03:30:00+02:00").ok());
        assert_eq!(moved.series_time, chrono::NaiveTime::from_hms_opt(2, 30, 0));
        let back = next_of(&moved, 8);
        assert_eq!(back.due, Due::parse("2026-03-30T02:30:00+02:00").ok());
        assert_eq!(back.series_time, None, "nothing to remember once back");
        // A new due date set by the user starts from its own time.
        let edit = TaskChanges {
            due: Some(Some(Due::parse("2026-03-29T04:00:00+02:00").unwrap())),
            ..TaskChanges::default()
        };
        let Edited::Replaced(edited) = moved.apply(&edit, at(150), id(9)).unwrap() else {
            panic!()
        };
        assert_eq!(edited.series_time, None);
        assert_eq!(
            next_of(&edited, 10).due,
            Due::parse("2026-03-30T04:00:00+02:00").ok()
        );
    }

    #[test]
    fn completing_through_an_update_also_moves_a_recurring_task_on() {
        let t = recurring("FREQ=WEEKLY", "2026-12-01");
        let changes = TaskChanges {
            title: Some(TaskTitle::parse("water plants").unwrap()),
            completed: Some(true),
            ..TaskChanges::default()
        };
        let Edited::Recurred { finished, next } = t.apply(&changes, at(5), id(3)).unwrap() else {
            panic!("completing via PATCH recurs too");
        };
        assert_eq!(finished.title.as_str(), "water plants");
        assert_eq!(next.title.as_str(), "water plants");
        assert_eq!(next.due, Some(Due::parse("2026-12-08").unwrap()));
        assert_eq!(next.version, t.version + 1);
    }

    #[test]
    fn a_recurrence_needs_a_due_date() {
        let t = task();
        let changes = TaskChanges {
            recurrence: Some(Some(Recurrence::parse("FREQ=DAILY").unwrap())),
            ..TaskChanges::default()
        };
        assert_eq!(
            t.apply(&changes, at(5), id(3)).unwrap_err().to_string(),
            "recurrence needs a due date to repeat from"
        );
        let mut r = recurring("FREQ=DAILY", "2026-12-01");
        let clear_due = TaskChanges {
            due: Some(None),
            ..TaskChanges::default()
        };
        assert!(r.apply(&clear_due, at(5), id(3)).is_err());
        r.recurrence = None;
        assert!(r.apply(&clear_due, at(5), id(3)).is_ok());
    }

    #[test]
    fn edits_bump_the_version_and_keep_what_they_do_not_name() {
        let mut t = task();
        t.tags = Tags::parse(&["home"]).unwrap();
        t.priority = Some(Priority::Low);
        let changes = TaskChanges {
            priority: Some(Some(Priority::High)),
            due: Some(Some(Due::parse("2026-12-24").unwrap())),
            ..TaskChanges::default()
        };
        let Edited::Replaced(n) = t.apply(&changes, at(9), id(3)).unwrap() else {
            panic!()
        };
        assert_eq!(n.priority, Some(Priority::High));
        assert_eq!(n.tags, t.tags);
        assert_eq!(n.title, t.title);
        assert_eq!(n.version, 2);
        assert_eq!(n.updated_at, at(9));
        assert_eq!(n.created_at, t.created_at);
        let clear = TaskChanges {
            priority: Some(None),
            ..TaskChanges::default()
        };
        let Edited::Replaced(c) = n.apply(&clear, at(10), id(3)).unwrap() else {
            panic!()
        };
        assert_eq!(c.priority, None);
        assert_eq!(c.version, 3);
    }
}
