//! Request values to domain values: path ids and the fields of task bodies, each refusal a
//! 422 naming the field it is about.

use todo_application::{ApplicationError, MoveTo, NewTask};
use todo_domain::{
    DomainError, Due, ListId, Position, Priority, Recurrence, Tags, TaskChanges, TaskDescription,
    TaskId, TaskTitle, TimeZone, Timestamp, UserId, parse_instant,
};

use crate::dto::{CompleteTask, CreateTask, MoveTask, UpdateTask};
use crate::error::{ApiError, Result};

/// A user id from the path, or a 422.
pub(crate) fn user_id(raw: &str) -> Result<UserId> {
    Ok(UserId::parse(raw).map_err(ApplicationError::from)?)
}

/// A task id from the path, or a 422.
pub(crate) fn task_id(raw: &str) -> Result<TaskId> {
    Ok(TaskId::parse(raw).map_err(ApplicationError::from)?)
}

/// A list id from the path, or a 422.
pub(crate) fn list_id(raw: &str) -> Result<ListId> {
    parsed(ListId::parse(raw))
}

/// A member's user id from the path (`member_id`), or a 422 naming it.
pub(crate) fn member_id(raw: &str) -> Result<UserId> {
    as_field(UserId::parse(raw), "member_id")
}

/// A domain parse result whose refusal names `field` rather than the domain's own name
/// for the value (`UserId::parse` says `user_id`, `TaskId::parse` says `task_id`).
pub(crate) fn as_field<T>(result: std::result::Result<T, DomainError>, field: &str) -> Result<T> {
    result.map_err(|err| match err {
        DomainError::Invalid { reason, .. } => invalid(field, &reason.to_string()),
        other => ApiError::App(other.into()),
    })
}

/// A task id in a body field (`parent_id`), or a 422 naming it.
fn task_ref(raw: &str, field: &str) -> Result<TaskId> {
    as_field(TaskId::parse(raw), field)
}

/// A user id in a body field (`assignee_id`), or a 422 naming it.
fn user_ref(raw: &str, field: &str) -> Result<UserId> {
    as_field(UserId::parse(raw), field)
}

/// Distinguishes a body field that is absent (`None`) from one that is `null`
/// (`Some(None)`): `#[serde(default, deserialize_with = "crate::parse::present")]`.
pub(crate) fn present<'de, D: serde::Deserializer<'de>, T: serde::Deserialize<'de>>(
    d: D,
) -> std::result::Result<Option<Option<T>>, D::Error> {
    <Option<T> as serde::Deserialize>::deserialize(d).map(Some)
}

/// A client's `limit`, as a number (the range is checked by the service).
pub(crate) fn limit(raw: Option<&str>) -> Result<Option<u32>> {
    raw.map(|l| {
        l.trim()
            .parse::<u32>()
            .map_err(|_| invalid("limit", "must be a whole number"))
    })
    .transpose()
}

/// A 422 naming `field`, for a rule checked here rather than by the domain.
pub(crate) fn invalid(field: &str, message: &str) -> ApiError {
    ApiError::App(ApplicationError::Validation {
        field: field.to_owned(),
        message: message.to_owned(),
    })
}

fn title(raw: &str) -> Result<TaskTitle> {
    Ok(TaskTitle::parse(raw).map_err(ApplicationError::from)?)
}

fn description(raw: Option<&str>) -> Result<Option<TaskDescription>> {
    match raw {
        None => Ok(None),
        Some(raw) => Ok(TaskDescription::parse(raw).map_err(ApplicationError::from)?),
    }
}

/// A domain parse result, its error (which names the field) as a 422.
pub(crate) fn parsed<T>(result: std::result::Result<T, DomainError>) -> Result<T> {
    Ok(result.map_err(ApplicationError::from)?)
}

/// Parses an optional value; `None` (absent or `null`) is no value.
fn optional<T>(
    raw: Option<&str>,
    parse: impl FnOnce(&str) -> std::result::Result<T, DomainError>,
) -> Result<Option<T>> {
    raw.map(|raw| parsed(parse(raw))).transpose()
}

fn priority(raw: Option<&str>) -> Result<Option<Priority>> {
    optional(raw, Priority::parse)
}

/// No tags for `None` (absent or `null`) as for `[]`.
fn tags(raw: Option<&[String]>) -> Result<Tags> {
    raw.map_or_else(|| Ok(Tags::default()), |raw| parsed(Tags::parse(raw)))
}

fn due(raw: Option<&str>) -> Result<Option<Due>> {
    optional(raw, Due::parse)
}

fn remind_at(raw: Option<&str>) -> Result<Option<Timestamp>> {
    optional(raw, |raw| parse_instant("remind_at", raw))
}

fn recurrence(raw: Option<&str>) -> Result<Option<Recurrence>> {
    optional(raw, Recurrence::parse)
}

fn time_zone(raw: Option<&str>) -> Result<Option<TimeZone>> {
    optional(raw, |raw| TimeZone::parse("time_zone", raw))
}

fn position(raw: Option<&str>) -> Result<Option<Position>> {
    optional(raw, Position::parse)
}

impl CreateTask {
    /// The new task this body describes, its fields checked in the order they are listed.
    pub(crate) fn into_domain(self) -> Result<NewTask> {
        Ok(NewTask {
            title: title(&self.title)?,
            description: description(self.description.as_deref())?,
            completed: self.completed.unwrap_or(false),
            priority: priority(self.priority.as_deref())?,
            tags: tags(self.tags.as_deref())?,
            due: due(self.due.as_deref())?,
            remind_at: remind_at(self.remind_at.as_deref())?,
            recurrence: recurrence(self.recurrence.as_deref())?,
            time_zone: time_zone(self.time_zone.as_deref())?,
            position: position(self.position.as_deref())?,
            list: optional(self.list_id.as_deref(), ListId::parse)?,
            parent: self
                .parent_id
                .as_deref()
                .map(|raw| task_ref(raw, "parent_id"))
                .transpose()?,
            assignee: self
                .assignee_id
                .as_deref()
                .map(|raw| user_ref(raw, "assignee_id"))
                .transpose()?,
        })
    }
}

impl UpdateTask {
    /// The changes this body asks for: an absent field is no change, `null` clears an
    /// optional one and is refused for the others.
    pub(crate) fn into_domain(self) -> Result<TaskChanges> {
        Ok(TaskChanges {
            title: match self.title {
                None => None,
                Some(None) => return Err(invalid("title", "must not be null")),
                Some(Some(raw)) => Some(title(&raw)?),
            },
            description: match self.description {
                None => None,
                Some(raw) => Some(description(raw.as_deref())?),
            },
            completed: match self.completed {
                None => None,
                Some(None) => return Err(invalid("completed", "must be true or false")),
                Some(Some(done)) => Some(done),
            },
            priority: self
                .priority
                .map(|raw| priority(raw.as_deref()))
                .transpose()?,
            tags: self.tags.map(|raw| tags(raw.as_deref())).transpose()?,
            due: self.due.map(|raw| due(raw.as_deref())).transpose()?,
            remind_at: self
                .remind_at
                .map(|raw| remind_at(raw.as_deref()))
                .transpose()?,
            recurrence: self
                .recurrence
                .map(|raw| recurrence(raw.as_deref()))
                .transpose()?,
            time_zone: self
                .time_zone
                .map(|raw| time_zone(raw.as_deref()))
                .transpose()?,
            position: match self.position {
                None => None,
                Some(None) => return Err(invalid("position", "must not be null")),
                Some(Some(raw)) => Some(parsed(Position::parse(&raw))?),
            },
            list: match self.list_id {
                None => None,
                Some(None) => {
                    return Err(invalid(
                        "list_id",
                        "must not be null: every task is in a list (the Inbox by default)",
                    ));
                }
                Some(Some(raw)) => Some(parsed(ListId::parse(&raw))?),
            },
            parent: self
                .parent_id
                .map(|raw| raw.map(|raw| task_ref(&raw, "parent_id")).transpose())
                .transpose()?,
            assignee: self
                .assignee_id
                .map(|raw| raw.map(|raw| user_ref(&raw, "assignee_id")).transpose())
                .transpose()?,
        })
    }
}

impl CompleteTask {
    /// `Some(done)` to set the flag, `None` (an empty body) to toggle it.
    pub(crate) fn into_domain(self) -> Result<Option<bool>> {
        match self.completed {
            None => Ok(None),
            Some(None) => Err(invalid("completed", "must be true or false")),
            Some(Some(done)) => Ok(Some(done)),
        }
    }
}

impl MoveTask {
    /// Where the task goes: exactly one of `after`, `before` or `to` must be given.
    pub(crate) fn into_domain(self) -> Result<MoveTo> {
        let neighbour = |field: &str, raw: &str| {
            TaskId::parse(raw).map_err(|_| invalid(field, "must be a task id (a UUID)"))
        };
        match (&self.after, &self.before, self.to.as_deref()) {
            (Some(after), None, None) => Ok(MoveTo::After(neighbour("after", after)?)),
            (None, Some(before), None) => Ok(MoveTo::Before(neighbour("before", before)?)),
            (None, None, Some("top")) => Ok(MoveTo::Top),
            (None, None, Some("bottom")) => Ok(MoveTo::Bottom),
            (None, None, Some(_)) => Err(invalid("to", "must be top or bottom")),
            _ => Err(ApiError::Shape {
                field: None,
                message: "give exactly one of after, before or to".to_owned(),
            }),
        }
    }
}
