//! The bodies of the list and member endpoints: what they accept and what they answer,
//! and the parsing of each accepted field into domain values (every refusal a 422 naming
//! the field).

use serde::de::IgnoredAny;
use serde::{Deserialize, Serialize};
use todo_application::{MemberRef, MoveListTo, NewList};
use todo_domain::{Colour, ListChanges, ListId, ListName, ListView, Member, Position, Role};
use utoipa::ToSchema;

use crate::dto::rfc3339;
use crate::error::{ApiError, Result};
use crate::extract::FromEmptyBody;
use crate::parse::{as_field, invalid, parsed};

/// What a user is to a list.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "lowercase")]
#[schema(example = "editor")]
pub enum ListRole {
    /// Reads the list and its tasks.
    Viewer,
    /// Also creates, edits, completes, moves, assigns and deletes its tasks.
    Editor,
    /// Also renames, archives, orders and deletes the list and manages its members.
    Owner,
}

impl From<Role> for ListRole {
    fn from(role: Role) -> Self {
        match role {
            Role::Viewer => Self::Viewer,
            Role::Editor => Self::Editor,
            Role::Owner => Self::Owner,
        }
    }
}

/// A role a member can be given (ownership is transferred, not given).
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "lowercase")]
#[allow(dead_code, reason = "documents the bodies; never built")]
pub(crate) enum MemberRole {
    Viewer,
    Editor,
}

/// A list as its members see it. Single-list responses also carry its `version` as a
/// strong `ETag` (`"3"`), to send back in `If-Match`.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct ListDto {
    #[schema(example = "0193a5c2-7b1e-7cc0-9a4e-3f5d2c1b0a00", format = "uuid")]
    pub id: String,
    /// 1–100 characters, trimmed.
    #[schema(example = "Groceries", min_length = 1, max_length = 100)]
    pub name: String,
    /// `#rrggbb` in lower case; `null` when not set.
    #[schema(required = true, example = "#ffaa00", pattern = "^#[0-9a-f]{6}$")]
    pub colour: Option<String>,
    /// Its place among the caller's lists (base-62 digits compared byte by byte); lists
    /// are listed in this order. Move it with `POST …/move`.
    #[schema(example = "008E1pES47y03577pTR4Fze0yyewRhISy")]
    pub position: String,
    /// Hidden, with its tasks, from default listings.
    pub archived: bool,
    /// Whether it is its owner's Inbox (never deleted, shared, transferred or archived).
    pub inbox: bool,
    /// The user who owns it.
    #[schema(example = "PVL84nb3WKj8GHRW4JOgGQE0OvDh4NLr")]
    pub owner_id: String,
    /// How many members it has, its owner included.
    #[schema(example = 3, minimum = 1)]
    pub member_count: u32,
    /// The caller's role in it.
    pub role: ListRole,
    #[schema(example = "2026-11-25T09:30:00.000000Z", format = "date-time")]
    pub created_at: String,
    #[schema(example = "2026-11-25T09:30:00.000000Z", format = "date-time")]
    pub updated_at: String,
    /// Starts at 1; every write adds one. The `ETag` of single-list responses is this
    /// number in quotes.
    #[schema(example = 1, minimum = 1)]
    pub version: i64,
}

impl From<&ListView> for ListDto {
    fn from(v: &ListView) -> Self {
        let l = &v.list;
        Self {
            id: l.id.to_string(),
            name: l.name.as_str().to_owned(),
            colour: l.colour.as_ref().map(|c| c.as_str().to_owned()),
            position: l.position.as_str().to_owned(),
            archived: l.archived,
            inbox: l.inbox,
            owner_id: l.owner.as_str().to_owned(),
            member_count: v.members,
            role: v.role.into(),
            created_at: rfc3339(l.created_at),
            updated_at: rfc3339(l.updated_at),
            version: l.version,
        }
    }
}

/// A member of a list, as its members see them.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct MemberDto {
    #[schema(example = "PVL84nb3WKj8GHRW4JOgGQE0OvDh4NLr")]
    pub user_id: String,
    #[schema(example = "Ada Lovelace")]
    pub name: String,
    #[schema(example = "ada@example.com")]
    pub email: String,
    pub role: ListRole,
    /// When they became a member (the owner: when the list was created).
    #[schema(example = "2026-11-25T09:30:00.000000Z", format = "date-time")]
    pub added_at: String,
}

impl From<&Member> for MemberDto {
    fn from(m: &Member) -> Self {
        Self {
            user_id: m.user_id.as_str().to_owned(),
            name: m.name.clone(),
            email: m.email.clone(),
            role: m.role.into(),
            added_at: rfc3339(m.added_at),
        }
    }
}

/// Body of `POST /api/{user_id}/lists`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateList {
    /// 1–100 characters after trimming, no control characters.
    #[schema(
        example = "Groceries",
        min_length = 1,
        pattern = r"^[\t-\r \u0085\u00A0\u1680\u2000-\u200A\u2028\u2029\u202F\u205F\u3000]*[^\u0000-\u0020\u007F-\u00A0\u1680\u2000-\u200A\u2028\u2029\u202F\u205F\u3000]([^\u0000-\u001F\u007F-\u009F]{0,98}[^\u0000-\u0020\u007F-\u00A0\u1680\u2000-\u200A\u2028\u2029\u202F\u205F\u3000])?[\t-\r \u0085\u00A0\u1680\u2000-\u200A\u2028\u2029\u202F\u205F\u3000]*$"
    )]
    pub name: String,
    /// `#` and six hexadecimal digits (kept in lower case); default none.
    #[serde(default)]
    #[schema(example = "#ffaa00", pattern = "^#[0-9A-Fa-f]{6}$")]
    pub colour: Option<String>,
    /// A place among the caller's lists (base-62 digits `0-9A-Za-z`, 1–128, not ending in
    /// `0`); by default after every list created before it.
    #[serde(default)]
    #[schema(
        example = "V",
        min_length = 1,
        max_length = 128,
        pattern = "^[0-9A-Za-z]*[1-9A-Za-z]$"
    )]
    pub position: Option<String>,
    #[serde(default, rename = "id")]
    #[schema(ignore)]
    pub _id: Option<IgnoredAny>,
    #[serde(default, rename = "created_at")]
    #[schema(ignore)]
    pub _created_at: Option<IgnoredAny>,
    #[serde(default, rename = "updated_at")]
    #[schema(ignore)]
    pub _updated_at: Option<IgnoredAny>,
    #[serde(default, rename = "version")]
    #[schema(ignore)]
    pub _version: Option<IgnoredAny>,
}

impl FromEmptyBody for CreateList {}

impl CreateList {
    pub(crate) fn into_domain(self) -> Result<NewList> {
        Ok(NewList {
            name: parsed(ListName::parse(&self.name))?,
            colour: self
                .colour
                .as_deref()
                .map(|raw| parsed(Colour::parse(raw)))
                .transpose()?,
            position: self
                .position
                .as_deref()
                .map(|raw| parsed(Position::parse(raw)))
                .transpose()?,
        })
    }
}

/// Body of `PATCH /api/{user_id}/lists/{list_id}`: every field optional; an absent field
/// keeps its value.
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UpdateList {
    /// Not `null`.
    #[serde(default, deserialize_with = "crate::parse::present")]
    #[schema(value_type = String, example = "Shopping", min_length = 1, pattern = r"^[\t-\r \u0085\u00A0\u1680\u2000-\u200A\u2028\u2029\u202F\u205F\u3000]*[^\u0000-\u0020\u007F-\u00A0\u1680\u2000-\u200A\u2028\u2029\u202F\u205F\u3000]([^\u0000-\u001F\u007F-\u009F]{0,98}[^\u0000-\u0020\u007F-\u00A0\u1680\u2000-\u200A\u2028\u2029\u202F\u205F\u3000])?[\t-\r \u0085\u00A0\u1680\u2000-\u200A\u2028\u2029\u202F\u205F\u3000]*$")]
    pub name: Option<Option<String>>,
    /// `#rrggbb`; `null` removes the colour.
    #[serde(default, deserialize_with = "crate::parse::present")]
    #[schema(value_type = Option<String>, example = "#00aa88", pattern = "^#[0-9A-Fa-f]{6}$")]
    pub colour: Option<Option<String>>,
    /// `true` hides the list and its tasks from default listings (never an Inbox); not
    /// `null`.
    #[serde(default, deserialize_with = "crate::parse::present")]
    #[schema(value_type = bool)]
    pub archived: Option<Option<bool>>,
    #[serde(default, rename = "id")]
    #[schema(ignore)]
    pub _id: Option<IgnoredAny>,
    #[serde(default, rename = "created_at")]
    #[schema(ignore)]
    pub _created_at: Option<IgnoredAny>,
    #[serde(default, rename = "updated_at")]
    #[schema(ignore)]
    pub _updated_at: Option<IgnoredAny>,
    #[serde(default, rename = "version")]
    #[schema(ignore)]
    pub _version: Option<IgnoredAny>,
}

impl FromEmptyBody for UpdateList {}

impl UpdateList {
    pub(crate) fn into_domain(self) -> Result<ListChanges> {
        Ok(ListChanges {
            name: match self.name {
                None => None,
                Some(None) => return Err(invalid("name", "must not be null")),
                Some(Some(raw)) => Some(parsed(ListName::parse(&raw))?),
            },
            colour: match self.colour {
                None => None,
                Some(None) => Some(None),
                Some(Some(raw)) => Some(Some(parsed(Colour::parse(&raw))?)),
            },
            archived: match self.archived {
                None => None,
                Some(None) => return Err(invalid("archived", "must be true or false")),
                Some(Some(archived)) => Some(archived),
            },
            position: None,
        })
    }
}

/// Body of `POST /api/{user_id}/lists/{list_id}/move`: exactly one of `after` or `before`.
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(min_properties = 1, max_properties = 1)]
pub struct MoveList {
    /// Place it right after this list of the caller's.
    #[serde(default)]
    #[schema(value_type = String, format = "uuid")]
    pub after: Option<String>,
    /// Place it right before this list of the caller's.
    #[serde(default)]
    #[schema(value_type = String, format = "uuid")]
    pub before: Option<String>,
}

impl FromEmptyBody for MoveList {}

impl MoveList {
    pub(crate) fn into_domain(self) -> Result<MoveListTo> {
        let neighbour = |field: &'static str, raw: &str| as_field(ListId::parse(raw), field);
        match (&self.after, &self.before) {
            (Some(after), None) => Ok(MoveListTo::After(neighbour("after", after)?)),
            (None, Some(before)) => Ok(MoveListTo::Before(neighbour("before", before)?)),
            _ => Err(ApiError::Shape {
                field: None,
                message: "give exactly one of after or before".to_owned(),
            }),
        }
    }
}

/// Body of `POST /api/{user_id}/lists/{list_id}/members`: exactly one of `user_id` or
/// `email`, and the role (two properties, no other).
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(min_properties = 2, max_properties = 2)]
pub struct AddMember {
    /// The id of an existing user; not `null`.
    #[serde(default, deserialize_with = "crate::parse::present")]
    #[schema(
        value_type = String,
        example = "PVL84nb3WKj8GHRW4JOgGQE0OvDh4NLr",
        min_length = 1,
        max_length = 255
    )]
    pub user_id: Option<Option<String>>,
    /// The e-mail address of an existing user (compared ignoring case); not `null`.
    #[serde(default, deserialize_with = "crate::parse::present")]
    #[schema(value_type = String, example = "ada@example.com", min_length = 1, max_length = 320)]
    pub email: Option<Option<String>>,
    /// `viewer` or `editor`.
    #[schema(value_type = MemberRole)]
    pub role: String,
}

impl FromEmptyBody for AddMember {}

impl AddMember {
    pub(crate) fn into_domain(self) -> Result<(MemberRef, Role)> {
        // A property given as `null` is given: one of them, once, with a value.
        let who = match (self.user_id, self.email) {
            (Some(Some(id)), None) => {
                MemberRef::Id(as_field(todo_domain::UserId::parse(&id), "user_id")?)
            }
            (None, Some(Some(email))) => {
                let email = email.trim();
                if email.is_empty() || email.len() > 320 || email.chars().any(char::is_control) {
                    return Err(invalid("email", "must be an e-mail address"));
                }
                MemberRef::Email(email.to_owned())
            }
            _ => {
                return Err(ApiError::Shape {
                    field: None,
                    message: "give exactly one of user_id or email".to_owned(),
                });
            }
        };
        Ok((who, parsed(Role::parse_member(&self.role))?))
    }
}

/// Body of `PATCH /api/{user_id}/lists/{list_id}/members/{member_id}`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SetMemberRole {
    /// `viewer` or `editor`.
    #[schema(value_type = MemberRole)]
    pub role: String,
}

impl FromEmptyBody for SetMemberRole {}

impl SetMemberRole {
    pub(crate) fn into_domain(self) -> Result<Role> {
        parsed(Role::parse_member(&self.role))
    }
}

/// Body of `POST /api/{user_id}/lists/{list_id}/transfer`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct TransferList {
    /// An editor of the list, who becomes its owner (the caller stays as an editor).
    #[schema(
        example = "PVL84nb3WKj8GHRW4JOgGQE0OvDh4NLr",
        min_length = 1,
        max_length = 255
    )]
    pub user_id: String,
}

impl FromEmptyBody for TransferList {}

impl TransferList {
    pub(crate) fn into_domain(self) -> Result<todo_domain::UserId> {
        as_field(todo_domain::UserId::parse(&self.user_id), "user_id")
    }
}
