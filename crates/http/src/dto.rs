//! Request and response bodies. Domain types never appear on the wire directly.

use serde::de::IgnoredAny;
use serde::{Deserialize, Deserializer, Serialize};
use todo_domain::{Task, Timestamp, User};
use utoipa::ToSchema;

use crate::extract::FromEmptyBody;

pub(crate) fn rfc3339(t: Timestamp) -> String {
    t.to_rfc3339_opts(chrono::SecondsFormat::Micros, true)
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
