//! Request and response bodies. Domain types never appear on the wire directly.

use serde::de::IgnoredAny;
use serde::{Deserialize, Serialize};
use todo_domain::{Timestamp, User};
use utoipa::ToSchema;

use crate::extract::FromEmptyBody;

/// A timestamp as every response writes it: RFC 3339 in UTC with microseconds,
/// `2026-11-25T09:30:00.000000Z`.
pub(crate) fn rfc3339(t: Timestamp) -> String {
    t.to_rfc3339_opts(chrono::SecondsFormat::Micros, true)
}

/// How important a task is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "lowercase")]
#[schema(example = "high")]
pub enum Priority {
    Low,
    Medium,
    High,
}

/// A task as returned by every task endpoint. Single-task responses also carry its
/// `version` as a strong `ETag` (`"3"`), to send back in `If-Match`.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct TaskDto {
    #[schema(example = "0193a5c2-7b1e-7cc0-9a4e-3f5d2c1b0a99", format = "uuid")]
    pub id: String,
    #[schema(example = "PVL84nb3WKj8GHRW4JOgGQE0OvDh4NLr")]
    pub user_id: String,
    #[schema(example = "Buy milk")]
    pub title: String,
    #[schema(required = true, example = "Two litres, oat")]
    pub description: Option<String>,
    pub completed: bool,
    #[schema(example = "2026-11-25T09:30:00.000000Z", format = "date-time")]
    pub created_at: String,
    #[schema(example = "2026-11-25T09:30:00.000000Z", format = "date-time")]
    pub updated_at: String,
    /// `low`, `medium` or `high`; `null` when not set.
    #[schema(required = true, value_type = Option<Priority>, example = "high")]
    pub priority: Option<String>,
    /// At most 20, no two equal ignoring case, sorted by their lower-case form; `[]` when
    /// none.
    #[schema(example = json!(["errands", "Home"]))]
    pub tags: Vec<String>,
    /// When it is due: an all-day date (`2026-12-01`, that day wherever the user is) or an
    /// instant in UTC with microseconds (`2026-12-01T08:00:00.000000Z`); `null` when not set.
    #[schema(required = true, example = "2026-12-01")]
    pub due: Option<String>,
    /// When to remind the user, in UTC with microseconds; `null` when not set.
    #[schema(
        required = true,
        example = "2026-11-30T17:00:00.000000Z",
        format = "date-time"
    )]
    pub remind_at: Option<String>,
    /// When it was completed, in UTC with microseconds; `null` while open.
    #[schema(
        required = true,
        example = "2026-11-25T10:00:00.000000Z",
        format = "date-time"
    )]
    pub completed_at: Option<String>,
    /// How it repeats: a canonical RFC 5545 RRULE value (no `RRULE:` prefix); `null` when
    /// it does not repeat. Completing a repeating task moves its `due` to the next
    /// occurrence and records the finished one as a separate completed task.
    #[schema(required = true, example = "FREQ=WEEKLY;BYDAY=MO,TH")]
    pub recurrence: Option<String>,
    /// The IANA time zone its recurrence keeps local times in (UTC when `null`).
    #[schema(required = true, example = "Europe/Berlin")]
    pub time_zone: Option<String>,
    /// Starts at 1; every write adds one. The `ETag` of single-task responses is this
    /// number in quotes.
    #[schema(example = 3, minimum = 1)]
    pub version: i64,
    /// Its place in the manual order (`sort=position`): base-62 digits compared byte by
    /// byte. A new task goes after every task created before it; move it with
    /// `POST …/move`, or set a key of your own between two neighbours' (any fractional
    /// index library with the `0-9A-Za-z` alphabet computes one).
    #[schema(example = "008E1pES47y03577pTR4Fze0yyewRhISy")]
    pub position: String,
    /// The list it is in (a subtask is in its parent's). Tasks created without one go to
    /// the creator's Inbox.
    #[schema(example = "0193a5c2-7b1e-7cc0-9a4e-3f5d2c1b0a00", format = "uuid")]
    pub list_id: String,
    /// The task it is a subtask of; `null` for a top-level task.
    #[schema(required = true, example = json!(null), format = "uuid")]
    pub parent_id: Option<String>,
    /// How many direct subtasks it has.
    #[schema(example = 0, minimum = 0)]
    pub subtask_count: u32,
    /// The member of its list it is assigned to; `null` when no one.
    #[schema(required = true, example = json!(null))]
    pub assignee_id: Option<String>,
}

/// The straightforward way to a task's JSON, kept as the reference the hand-written writer
/// (`task_json`) is held equal to, in its tests and in the benchmark; responses never
/// build it.
#[cfg(any(test, feature = "bench"))]
impl From<todo_domain::Task> for TaskDto {
    fn from(t: todo_domain::Task) -> Self {
        Self {
            id: t.id.to_string(),
            user_id: t.owner.as_str().to_owned(),
            title: t.title.as_str().to_owned(),
            description: t.description.map(|d| d.as_str().to_owned()),
            completed: t.completed,
            created_at: rfc3339(t.created_at),
            updated_at: rfc3339(t.updated_at),
            priority: t.priority.map(|p| p.as_str().to_owned()),
            tags: t
                .tags
                .as_slice()
                .iter()
                .map(|tag| tag.as_str().to_owned())
                .collect(),
            due: t.due.map(|d| d.to_string()),
            remind_at: t.remind_at.map(rfc3339),
            completed_at: t.completed_at.map(rfc3339),
            recurrence: t.recurrence.map(|r| r.to_string()),
            time_zone: t.time_zone.map(|z| z.name().to_owned()),
            version: t.version,
            position: t.position.as_str().to_owned(),
            list_id: t.list.to_string(),
            parent_id: t.parent.map(|p| p.to_string()),
            subtask_count: t.subtasks,
            assignee_id: t.assignee.map(|a| a.as_str().to_owned()),
        }
    }
}

/// Body of `POST /api/{user_id}/tasks`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateTask {
    /// 1–200 characters after trimming, no control characters.
    #[schema(
        example = "Buy milk",
        min_length = 1,
        pattern = r"^[\t-\r \u0085\u00A0\u1680\u2000-\u200A\u2028\u2029\u202F\u205F\u3000]*[^\u0000-\u0020\u007F-\u00A0\u1680\u2000-\u200A\u2028\u2029\u202F\u205F\u3000]([^\u0000-\u001F\u007F-\u009F]{0,198}[^\u0000-\u0020\u007F-\u00A0\u1680\u2000-\u200A\u2028\u2029\u202F\u205F\u3000])?[\t-\r \u0085\u00A0\u1680\u2000-\u200A\u2028\u2029\u202F\u205F\u3000]*$"
    )]
    pub title: String,
    /// Up to 4000 characters, no control characters but line breaks and tabs; empty or
    /// only white space means none.
    #[serde(default)]
    #[schema(
        example = "Two litres, oat",
        max_length = 4000,
        pattern = r"^([\t-\r \u0085\u00A0\u1680\u2000-\u200A\u2028\u2029\u202F\u205F\u3000]*|[^\u0000-\u0008\u000B\u000C\u000E-\u001F\u007F-\u009F]*)$"
    )]
    pub description: Option<String>,
    /// Record the task as already done (default false).
    #[serde(default)]
    pub completed: Option<bool>,
    /// `low`, `medium` or `high` (default none).
    #[serde(default)]
    #[schema(value_type = Option<Priority>, example = "high")]
    pub priority: Option<String>,
    /// At most 20 tags of 1–50 characters, no commas; duplicates ignoring case are dropped.
    #[serde(default)]
    #[schema(value_type = Option<Vec<crate::openapi_parts::TagName>>, example = json!(["home", "errands"]), max_items = 20)]
    pub tags: Option<Vec<String>>,
    /// An all-day date `YYYY-MM-DD`, or an RFC 3339 date-time with an offset or `Z`
    /// (stored in UTC).
    #[serde(default)]
    #[schema(example = "2026-12-01")]
    pub due: Option<String>,
    /// An RFC 3339 date-time with an offset or `Z` (stored in UTC).
    #[serde(default)]
    #[schema(example = "2026-11-30T18:00:00+01:00", format = "date-time")]
    pub remind_at: Option<String>,
    /// An RFC 5545 RRULE (`FREQ=DAILY|WEEKLY|MONTHLY|YEARLY`, `INTERVAL`, `BYDAY`,
    /// `BYMONTHDAY`, `COUNT` or `UNTIL`), with or without the `RRULE:` prefix; needs `due`.
    #[serde(default)]
    #[schema(example = "FREQ=WEEKLY;BYDAY=MO,TH", max_length = 500)]
    pub recurrence: Option<String>,
    /// The IANA time zone the recurrence keeps local times in (default UTC).
    #[serde(default)]
    #[schema(value_type = Option<crate::openapi_parts::TimeZoneName>, example = "Europe/Berlin")]
    pub time_zone: Option<String>,
    /// A place in the manual order (base-62 digits `0-9A-Za-z`, 1–128, not ending in `0`);
    /// by default after every task created before it.
    #[serde(default)]
    #[schema(
        example = "V",
        min_length = 1,
        max_length = 128,
        pattern = "^[0-9A-Za-z]*[1-9A-Za-z]$"
    )]
    pub position: Option<String>,
    /// The list it goes into (one where the caller is an editor or the owner); by default
    /// the parent's, or else the caller's Inbox.
    #[serde(default)]
    #[schema(format = "uuid")]
    pub list_id: Option<String>,
    /// Makes it a subtask of this task (in a list the caller edits); it lives in the
    /// parent's list. At most 5 levels of nesting.
    #[serde(default)]
    #[schema(format = "uuid")]
    pub parent_id: Option<String>,
    /// Assigns it to this member of its list (a user id).
    #[serde(default)]
    #[schema(
        example = "PVL84nb3WKj8GHRW4JOgGQE0OvDh4NLr",
        min_length = 1,
        max_length = 255
    )]
    pub assignee_id: Option<String>,
    #[serde(default, rename = "id")]
    #[schema(ignore)]
    pub _id: Option<IgnoredAny>,
    #[serde(default, rename = "user_id")]
    #[schema(ignore)]
    pub _user_id: Option<IgnoredAny>,
    #[serde(default, rename = "created_at")]
    #[schema(ignore)]
    pub _created_at: Option<IgnoredAny>,
    #[serde(default, rename = "updated_at")]
    #[schema(ignore)]
    pub _updated_at: Option<IgnoredAny>,
    #[serde(default, rename = "completed_at")]
    #[schema(ignore)]
    pub _completed_at: Option<IgnoredAny>,
    #[serde(default, rename = "version")]
    #[schema(ignore)]
    pub _version: Option<IgnoredAny>,
    #[serde(default, rename = "subtask_count")]
    #[schema(ignore)]
    pub _subtask_count: Option<IgnoredAny>,
}

impl FromEmptyBody for CreateTask {}

/// Body of `PUT`/`PATCH /api/{user_id}/tasks/{id}`: every field optional. An absent field
/// keeps its value; `null` clears an optional one.
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UpdateTask {
    /// Not `null`.
    #[serde(default, deserialize_with = "crate::parse::present")]
    #[schema(value_type = String, example = "Buy oat milk", min_length = 1, pattern = r"^[\t-\r \u0085\u00A0\u1680\u2000-\u200A\u2028\u2029\u202F\u205F\u3000]*[^\u0000-\u0020\u007F-\u00A0\u1680\u2000-\u200A\u2028\u2029\u202F\u205F\u3000]([^\u0000-\u001F\u007F-\u009F]{0,198}[^\u0000-\u0020\u007F-\u00A0\u1680\u2000-\u200A\u2028\u2029\u202F\u205F\u3000])?[\t-\r \u0085\u00A0\u1680\u2000-\u200A\u2028\u2029\u202F\u205F\u3000]*$")]
    pub title: Option<Option<String>>,
    /// `null`, `""` or only white space removes the description.
    #[serde(default, deserialize_with = "crate::parse::present")]
    #[schema(value_type = Option<String>, max_length = 4000, pattern = r"^([\t-\r \u0085\u00A0\u1680\u2000-\u200A\u2028\u2029\u202F\u205F\u3000]*|[^\u0000-\u0008\u000B\u000C\u000E-\u001F\u007F-\u009F]*)$")]
    pub description: Option<Option<String>>,
    /// `true` or `false`; not `null`.
    #[serde(default, deserialize_with = "crate::parse::present")]
    #[schema(value_type = bool)]
    pub completed: Option<Option<bool>>,
    /// `low`, `medium` or `high`; `null` removes it.
    #[serde(default, deserialize_with = "crate::parse::present")]
    #[schema(value_type = Option<Priority>, example = "medium")]
    pub priority: Option<Option<String>>,
    /// Replaces all tags; `null` or `[]` removes them.
    #[serde(default, deserialize_with = "crate::parse::present")]
    #[schema(value_type = Option<Vec<crate::openapi_parts::TagName>>, example = json!(["work"]), max_items = 20)]
    pub tags: Option<Option<Vec<String>>>,
    /// A date `YYYY-MM-DD` or an RFC 3339 date-time with an offset; `null` removes it
    /// (refused while the task has a `recurrence`).
    #[serde(default, deserialize_with = "crate::parse::present")]
    #[schema(value_type = Option<String>, example = "2026-12-01T09:00:00+05:00")]
    pub due: Option<Option<String>>,
    /// An RFC 3339 date-time with an offset; `null` removes it.
    #[serde(default, deserialize_with = "crate::parse::present")]
    #[schema(value_type = Option<String>, example = "2026-12-01T08:00:00Z", format = "date-time")]
    pub remind_at: Option<Option<String>>,
    /// An RFC 5545 RRULE (starts a new series); `null` stops the repetition.
    #[serde(default, deserialize_with = "crate::parse::present")]
    #[schema(value_type = Option<String>, example = "FREQ=MONTHLY;BYMONTHDAY=-1", max_length = 500)]
    pub recurrence: Option<Option<String>>,
    /// An IANA time zone name; `null` means UTC.
    #[serde(default, deserialize_with = "crate::parse::present")]
    #[schema(value_type = Option<crate::openapi_parts::TimeZoneName>, example = "America/New_York")]
    pub time_zone: Option<Option<String>>,
    /// A place in the manual order (base-62 digits, 1–128, not ending in `0`); not
    /// `null`. `POST …/move` computes one from the neighbours for you.
    #[serde(default, deserialize_with = "crate::parse::present")]
    #[schema(value_type = String, example = "V1", min_length = 1, max_length = 128, pattern = "^[0-9A-Za-z]*[1-9A-Za-z]$")]
    pub position: Option<Option<String>>,
    /// Moves it (with its subtasks) into this list, where the caller must be an editor or
    /// the owner; a subtask moved alone becomes top-level there. Not `null`.
    #[serde(default, deserialize_with = "crate::parse::present")]
    #[schema(value_type = String, format = "uuid")]
    pub list_id: Option<Option<String>>,
    /// Makes it a subtask of this task (it moves into the parent's list); `null` makes it
    /// top-level. A cycle or more than 5 levels is refused.
    #[serde(default, deserialize_with = "crate::parse::present")]
    #[schema(value_type = Option<String>, format = "uuid")]
    pub parent_id: Option<Option<String>>,
    /// Assigns it to this member of its list; `null` unassigns it.
    #[serde(default, deserialize_with = "crate::parse::present")]
    #[schema(value_type = Option<String>, min_length = 1, max_length = 255)]
    pub assignee_id: Option<Option<String>>,
    #[serde(default, rename = "id")]
    #[schema(ignore)]
    pub _id: Option<IgnoredAny>,
    #[serde(default, rename = "user_id")]
    #[schema(ignore)]
    pub _user_id: Option<IgnoredAny>,
    #[serde(default, rename = "created_at")]
    #[schema(ignore)]
    pub _created_at: Option<IgnoredAny>,
    #[serde(default, rename = "updated_at")]
    #[schema(ignore)]
    pub _updated_at: Option<IgnoredAny>,
    #[serde(default, rename = "completed_at")]
    #[schema(ignore)]
    pub _completed_at: Option<IgnoredAny>,
    #[serde(default, rename = "version")]
    #[schema(ignore)]
    pub _version: Option<IgnoredAny>,
    #[serde(default, rename = "subtask_count")]
    #[schema(ignore)]
    pub _subtask_count: Option<IgnoredAny>,
}

impl FromEmptyBody for UpdateTask {}

/// Body of `PATCH /api/{user_id}/tasks/{id}/complete`; an empty or `null` body toggles.
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CompleteTask {
    /// `true` or `false`; not `null`.
    #[serde(default, deserialize_with = "crate::parse::present")]
    #[schema(value_type = bool)]
    pub completed: Option<Option<bool>>,
}

impl FromEmptyBody for CompleteTask {
    fn from_empty_body() -> Option<Self> {
        Some(Self::default())
    }

    /// The body is optional, and the document says so as `CompleteTask | null`.
    fn null_is_empty() -> bool {
        true
    }
}

/// Body of `POST /api/{user_id}/tasks/{id}/move`: exactly one of `after`, `before` or `to`
/// (one property, no other).
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(min_properties = 1, max_properties = 1)]
pub struct MoveTask {
    /// Place it right after this task of yours.
    #[serde(default)]
    #[schema(value_type = String, format = "uuid")]
    pub after: Option<String>,
    /// Place it right before this task of yours.
    #[serde(default)]
    #[schema(value_type = String, format = "uuid")]
    pub before: Option<String>,
    /// `top` (before every other task) or `bottom` (after every other task).
    #[serde(default)]
    #[schema(value_type = MoveEnd, example = "top")]
    pub to: Option<String>,
}

impl FromEmptyBody for MoveTask {}

/// An end of the manual order.
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "lowercase")]
#[allow(dead_code, reason = "documents the body; never built")]
pub(crate) enum MoveEnd {
    Top,
    Bottom,
}

/// A deleted task in the sync feed (`include_deleted=true`).
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct DeletedTaskDto {
    #[schema(format = "uuid")]
    pub id: String,
    /// Always `true`.
    pub deleted: bool,
    /// When it was deleted, in UTC with microseconds.
    #[schema(example = "2026-11-25T09:30:00.000000Z", format = "date-time")]
    pub updated_at: String,
}

/// One entry of the sync feed: a task as it is now, or a deleted one.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
#[serde(untagged)]
#[allow(clippy::large_enum_variant)] // Documents the feed; `task_json` writes the responses.
pub enum ChangeDto {
    Task(TaskDto),
    Deleted(DeletedTaskDto),
}

/// Answer of `DELETE /api/{user_id}/tasks?status=completed`.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct Cleared {
    /// How many completed tasks were deleted.
    #[schema(example = 12)]
    pub deleted: u64,
}

/// A tag in use, with how many of the caller's tasks carry it.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct TagCountDto {
    /// As most of its tasks spell it (tags compare ignoring case).
    #[schema(example = "Work")]
    pub tag: String,
    #[schema(example = 7)]
    pub count: u64,
}

/// Open tasks by priority.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct PriorityCounts {
    pub high: u64,
    pub medium: u64,
    pub low: u64,
    /// Open tasks without a priority.
    pub none: u64,
}

/// Counts of the caller's tasks (`GET /api/{user_id}/tasks/stats`).
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct TaskStatsDto {
    pub total: u64,
    pub pending: u64,
    pub completed: u64,
    /// Open tasks by priority.
    pub pending_by_priority: PriorityCounts,
    /// Open tasks due before now (all-day ones: before today), in `tz`.
    pub overdue: u64,
    /// Tasks due today in `tz`, open or completed.
    pub due_today: u64,
}

impl From<todo_domain::TaskStats> for TaskStatsDto {
    fn from(s: todo_domain::TaskStats) -> Self {
        Self {
            total: s.total,
            pending: s.pending,
            completed: s.completed,
            pending_by_priority: PriorityCounts {
                high: s.pending_high,
                medium: s.pending_medium,
                low: s.pending_low,
                none: s.pending_no_priority,
            },
            overdue: s.overdue,
            due_today: s.due_today,
        }
    }
}

/// Query of the admin list endpoints (the caller's own task list has more: see
/// `listing::TaskListQuery`). Any other parameter is a 422.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct ListQuery {
    /// Page size, 1–1000 (the default and maximum are configured; both default to 1000, the
    /// maximum this document states).
    #[param(value_type = Option<u32>, minimum = 1, maximum = 1000)]
    pub limit: Option<String>,
    /// Where to continue: copy it from the `Link: <…>; rel="next"` header (opaque; one the
    /// service did not hand out is a 422).
    #[param(value_type = String, required = false, pattern = "^[0-9a-z_.-]+$")]
    pub cursor: Option<String>,
}

/// A user, as shown to admins.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct UserDto {
    #[schema(example = "PVL84nb3WKj8GHRW4JOgGQE0OvDh4NLr")]
    pub id: String,
    #[schema(example = "ada@example.com")]
    pub email: String,
    #[schema(example = "Ada Lovelace")]
    pub name: String,
    /// Comma-separated roles, as Better Auth stores them.
    #[schema(example = "user")]
    pub role: String,
    #[schema(example = "2026-11-25T09:30:00.000000Z", format = "date-time")]
    pub created_at: String,
}

impl From<User> for UserDto {
    fn from(u: User) -> Self {
        Self {
            id: u.id.as_str().to_owned(),
            email: u.email,
            name: u.name,
            role: u.roles.to_stored(),
            created_at: rfc3339(u.created_at),
        }
    }
}

/// Body of `PATCH /api/admin/users/{user_id}/role`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SetRole {
    /// One role or a comma-separated list (`user`, `admin`, `user,admin`): names of 1–50
    /// characters `a-z`, `0-9`, `_`, `-`.
    #[schema(
        example = "admin",
        pattern = r"^\s*[a-z0-9_-]{1,50}\s*(,\s*[a-z0-9_-]{1,50}\s*)*$"
    )]
    pub role: String,
}

impl FromEmptyBody for SetRole {}

#[derive(Debug, Serialize, ToSchema)]
pub struct Welcome {
    #[schema(example = "todo-api")]
    pub name: &'static str,
    #[schema(example = "0.1.0")]
    pub version: &'static str,
    #[schema(example = "/docs")]
    pub docs: &'static str,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct Health {
    #[schema(example = "ok")]
    pub status: &'static str,
}
