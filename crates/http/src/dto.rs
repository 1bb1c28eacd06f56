//! Request and response bodies. Domain types never appear on the wire directly.

use std::fmt;

use serde::de::IgnoredAny;
use serde::ser::SerializeStruct;
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use todo_domain::{Task, Timestamp, User};
use utoipa::ToSchema;

use crate::extract::FromEmptyBody;

pub(crate) fn rfc3339(t: Timestamp) -> String {
    t.to_rfc3339_opts(chrono::SecondsFormat::Micros, true)
}

/// A timestamp written as [`rfc3339`] writes it, without building a string first.
struct Rfc3339(Timestamp);

impl fmt::Display for Rfc3339 {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        use chrono::{Datelike, Timelike};
        let t = self.0;
        let year = t.year();
        if !(0..=9999).contains(&year) {
            return f.write_str(&rfc3339(t));
        }
        write!(
            f,
            "{year:04}-{:02}-{:02}T{:02}:{:02}:{:02}.{:06}Z",
            t.month(),
            t.day(),
            t.hour(),
            t.minute(),
            t.second(),
            t.nanosecond() / 1000,
        )
    }
}

/// Serialises through `Display`, straight into the output.
struct Displayed<T>(T);

impl<T: fmt::Display> Serialize for Displayed<T> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(&self.0)
    }
}

/// Writes a task exactly as [`TaskDto`] does, borrowing it instead of copying every field
/// into a string first (a 50-task page made 350 allocations for that).
pub struct TaskJson<'a>(pub &'a Task);

impl Serialize for TaskJson<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let t = self.0;
        let mut m = s.serialize_struct("TaskDto", 7)?;
        m.serialize_field("id", &Displayed(t.id))?;
        m.serialize_field("user_id", t.owner.as_str())?;
        m.serialize_field("title", t.title.as_str())?;
        m.serialize_field("description", &t.description.as_ref().map(|d| d.as_str()))?;
        m.serialize_field("completed", &t.completed)?;
        m.serialize_field("created_at", &Displayed(Rfc3339(t.created_at)))?;
        m.serialize_field("updated_at", &Displayed(Rfc3339(t.updated_at)))?;
        m.end()
    }
}

/// The JSON body of a page of tasks, as the list endpoints send it: written straight from
/// the borrowed tasks into a buffer sized for the page, so that a large page is not copied
/// through every doubling of a growing one.
///
/// # Errors
/// Only if serialisation fails, which plain strings, booleans and timestamps cannot.
pub fn tasks_body(tasks: &[Task]) -> serde_json::Result<Vec<u8>> {
    let mut buf = Vec::with_capacity(64 + 320 * tasks.len());
    serde_json::to_writer(&mut buf, &TasksJson(tasks))?;
    Ok(buf)
}

/// A slice of tasks as a JSON array of [`TaskJson`].
struct TasksJson<'a>(&'a [Task]);

impl Serialize for TasksJson<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_seq(self.0.iter().map(TaskJson))
    }
}

/// A task as returned by every task endpoint.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct TaskDto {
    #[schema(example = "0193a5c2-7b1e-7cc0-9a4e-3f5d2c1b0a99", format = "uuid")]
    pub id: String,
    #[schema(example = "PVL84nb3WKj8GHRW4JOgGQE0OvDh4NLr")]
    pub user_id: String,
    #[schema(example = "Buy milk")]
    pub title: String,
    #[schema(example = "Two litres, oat")]
    pub description: Option<String>,
    pub completed: bool,
    #[schema(example = "2026-11-25T09:30:00.000000Z", format = "date-time")]
    pub created_at: String,
    #[schema(example = "2026-11-25T09:30:00.000000Z", format = "date-time")]
    pub updated_at: String,
}

impl From<Task> for TaskDto {
    fn from(t: Task) -> Self {
        Self {
            id: t.id.to_string(),
            user_id: t.owner.as_str().to_owned(),
            title: t.title.as_str().to_owned(),
            description: t.description.map(|d| d.as_str().to_owned()),
            completed: t.completed,
            created_at: rfc3339(t.created_at),
            updated_at: rfc3339(t.updated_at),
        }
    }
}

/// Body of `POST /api/{user_id}/tasks`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateTask {
    /// 1–200 characters after trimming, no control characters.
    #[schema(example = "Buy milk", min_length = 1, max_length = 200)]
    pub title: String,
    /// Up to 4000 characters; empty means none.
    #[serde(default)]
    #[schema(example = "Two litres, oat", max_length = 4000)]
    pub description: Option<String>,
    /// Record the task as already done (default false).
    #[serde(default)]
    pub completed: Option<bool>,
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
}

impl FromEmptyBody for CreateTask {}

/// Distinguishes a field that is absent (`None`) from one that is `null` (`Some(None)`).
fn present<'de, D: Deserializer<'de>, T: Deserialize<'de>>(
    d: D,
) -> Result<Option<Option<T>>, D::Error> {
    Option::<T>::deserialize(d).map(Some)
}

/// Body of `PUT`/`PATCH /api/{user_id}/tasks/{id}`: every field optional.
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UpdateTask {
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = Option<String>, example = "Buy oat milk", min_length = 1, max_length = 200)]
    pub title: Option<Option<String>>,
    /// `null` or `""` removes the description.
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = Option<String>, max_length = 4000)]
    pub description: Option<Option<String>>,
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = Option<bool>)]
    pub completed: Option<Option<bool>>,
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
}

impl FromEmptyBody for UpdateTask {}

/// Body of `PATCH /api/{user_id}/tasks/{id}/complete`; an empty body toggles.
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CompleteTask {
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = Option<bool>)]
    pub completed: Option<Option<bool>>,
}

impl FromEmptyBody for CompleteTask {
    fn from_empty_body() -> Option<Self> {
        Some(Self::default())
    }
}

/// Query of list endpoints.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ListQuery {
    /// Page size (default and maximum are configured; the maximum defaults to 1000).
    #[param(value_type = Option<u32>, minimum = 1)]
    pub limit: Option<String>,
    /// Where to continue: copy it from the `Link: <…>; rel="next"` header.
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
    /// One role or a comma-separated list (`user`, `admin`, `user,admin`).
    #[schema(example = "admin")]
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

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use chrono::TimeZone;
    use todo_domain::{Task, TaskDescription, TaskId, TaskTitle, UserId};

    use super::{TaskDto, TaskJson};

    fn task(title: &str, description: Option<&str>, secs: i64, nanos: u32) -> Task {
        let at = chrono::Utc.timestamp_opt(secs, nanos).unwrap();
        Task {
            id: TaskId::parse("0193a5c2-7b1e-7cc0-9a4e-3f5d2c1b0a99").unwrap(),
            owner: UserId::parse("PVL84nb3WKj8GHRW4JOgGQE0OvDh4NLr").unwrap(),
            title: TaskTitle::parse(title).unwrap(),
            description: description.and_then(|d| TaskDescription::parse(d).unwrap()),
            completed: secs % 2 == 0,
            created_at: at,
            updated_at: at + chrono::TimeDelta::microseconds(1_234_567),
        }
    }

    /// The borrowing writer and the DTO give the same bytes, field for field.
    #[test]
    fn task_json_matches_the_dto_byte_for_byte() {
        let mut pages = Vec::new();
        for t in [
            task("Buy milk", None, 1_764_063_000, 0),
            task(
                "Say \"hi\" \\ ünïcødé ✓ 🎉",
                Some("line\nbreak\ttab"),
                1_764_063_001,
                999_999_999,
            ),
            task("Old", Some("x"), -62_135_596_800, 1_000), // 0001-01-01
            task("Far", None, 253_402_300_799, 123_456_000), // 9999-12-31T23:59:59
            task("Leap", None, 1_709_164_800, 500),         // 2024-02-29, sub-microsecond dropped
        ] {
            let borrowed = serde_json::to_string(&TaskJson(&t)).unwrap();
            let owned = serde_json::to_string(&TaskDto::from(t.clone())).unwrap();
            assert_eq!(borrowed, owned);
            pages.push(t);
        }
        let page = String::from_utf8(super::tasks_body(&pages).unwrap()).unwrap();
        let dtos: Vec<TaskDto> = pages.into_iter().map(TaskDto::from).collect();
        assert_eq!(page, serde_json::to_string(&dtos).unwrap());
        assert_eq!(super::tasks_body(&[]).unwrap(), b"[]");
    }
}
