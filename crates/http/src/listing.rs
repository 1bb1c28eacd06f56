//! The query string of `GET /api/{user_id}/tasks` (filters, sort and paging), checked
//! parameter by parameter, and the `Link` to the next page, which repeats them; and the
//! one of `DELETE /api/{user_id}/tasks`.

use std::collections::HashSet;

use todo_domain::{
    DomainError, Due, ListCursor, ListId, ListSpec, Priority, SearchText, Sort, Status, Tag, Tags,
    TaskFilter, TaskId, TimeZone, UserId, parse_instant,
};

use crate::cursor::{decode_task_cursor, encode_task_cursor, next_link};
use crate::error::{ApiError, FieldError};
use crate::query::{Decoded, decode};

/// Every parameter of the list, in the order the documentation gives them.
const PARAMETERS: [&str; 18] = [
    "status",
    "priority",
    "tag",
    "q",
    "due_before",
    "due_after",
    "overdue",
    "due",
    "tz",
    "updated_since",
    "include_deleted",
    "list_id",
    "parent_id",
    "assignee",
    "archived",
    "sort",
    "limit",
    "cursor",
];

/// The parameters that may be repeated: their values add up.
const REPEATABLE: [&str; 2] = ["priority", "tag"];

/// A task list request, as its query string asks for it.
#[derive(Debug)]
pub(crate) struct TaskListQuery {
    pub spec: ListSpec,
    pub limit: Option<u32>,
    pub after: Option<ListCursor>,
    /// Every parameter but `cursor`, decoded, in the request's order: what the link to the
    /// next page repeats.
    kept: Vec<(String, String)>,
}

impl TaskListQuery {
    /// Parses a raw query string as the tests write it, for the caller `alice`.
    #[cfg(test)]
    pub fn parse(raw: &str) -> Result<Self, ApiError> {
        Self::parse_for(
            raw,
            &UserId::parse("alice").map_err(todo_application::ApplicationError::from)?,
        )
    }

    /// Parses a raw (percent-encoded) query string of `caller`'s (whom `assignee=me`
    /// names).
    ///
    /// # Errors
    /// `ApiError::Query` naming every unknown parameter, every parameter given twice that
    /// may be given once, and every parameter with a bad value (one error each).
    pub fn parse_for(raw: &str, caller: &UserId) -> Result<Self, ApiError> {
        let Decoded { pairs, errors } = decode(raw);
        let mut check = Checker { errors };
        let mut seen: HashSet<&str> = HashSet::new();
        let mut repeated: HashSet<&str> = HashSet::new();
        for (name, _) in &pairs {
            let name = name.as_str();
            let first = seen.insert(name);
            if !PARAMETERS.contains(&name) {
                if first {
                    check.push(
                        name,
                        format!(
                            "is not a parameter of this list; the parameters are {}",
                            PARAMETERS.join(", ")
                        ),
                    );
                }
            } else if !first && !REPEATABLE.contains(&name) && repeated.insert(name) {
                check.push(name, "must be given at most once".to_owned());
            }
        }
        let one = |name: &str| {
            pairs
                .iter()
                .find(|(n, _)| n == name)
                .map(|(_, v)| v.as_str())
        };
        let all = |name: &'static str| {
            pairs
                .iter()
                .filter(move |(n, _)| n == name)
                .flat_map(|(_, v)| v.split(','))
        };

        let status = check
            .value("status", one("status"), Status::parse)
            .unwrap_or_default();
        let mut priorities = check.list("priority", all("priority"), Priority::parse);
        priorities.sort_unstable();
        priorities.dedup();
        let mut tags = check.list("tag", all("tag"), Tag::parse);
        // `tag=Home&tag=home` asks for one tag; no task has more than `Tags::MAX`.
        let mut keys: Vec<String> = Vec::with_capacity(tags.len());
        tags.retain(|tag| {
            let key = tag.key();
            let new = !keys.contains(&key);
            keys.push(key);
            new
        });
        if tags.len() > Tags::MAX {
            check.fail(
                "tag",
                format!("must name at most {} different tags", Tags::MAX),
            );
        }
        let due = |raw: &str| Due::parse(raw).map(|due| due.starts_at_utc());
        let filter = TaskFilter {
            status,
            priorities,
            tags,
            text: check.value("q", one("q"), SearchText::parse),
            due_before: check.value("due_before", one("due_before"), due),
            due_after: check.value("due_after", one("due_after"), due),
            overdue: check
                .plain("overdue", one("overdue"), boolean)
                .unwrap_or(false),
            due_today: check
                .plain("due", one("due"), |raw| match raw {
                    "today" => Ok(true),
                    _ => Err("must be today (the only value so far)"),
                })
                .unwrap_or(false),
            updated_since: check.value("updated_since", one("updated_since"), |raw| {
                parse_instant("updated_since", raw)
            }),
            list: check.value("list_id", one("list_id"), ListId::parse),
            parent: check.plain("parent_id", one("parent_id"), |raw| match raw {
                "none" => Ok(None),
                raw => TaskId::parse(raw)
                    .map(Some)
                    .map_err(|_| "must be a task id (a UUID) or none (top-level tasks only)"),
            }),
            assignee: check.plain("assignee", one("assignee"), |raw| match raw {
                "me" => Ok(caller.clone()),
                raw => UserId::parse(raw).map_err(|_| "must be me or a user id"),
            }),
            archived: check
                .plain("archived", one("archived"), boolean)
                .unwrap_or(false),
        };
        let include_deleted = check
            .plain("include_deleted", one("include_deleted"), boolean)
            .unwrap_or(false);
        let default_sort = if include_deleted {
            Sort::SYNC
        } else {
            Sort::default()
        };
        let spec = ListSpec {
            filter,
            sort: check
                .value("sort", one("sort"), Sort::parse)
                .unwrap_or(default_sort),
            tz: check
                .value("tz", one("tz"), |raw| TimeZone::parse("tz", raw))
                .unwrap_or(TimeZone::UTC),
            include_deleted,
        };
        if include_deleted && check.errors.is_empty() {
            for (field, message) in spec.sync_problems() {
                check.fail(field, message.to_owned());
            }
        }
        let limit = check.plain("limit", one("limit"), |raw| {
            raw.trim()
                .parse::<u32>()
                .map_err(|_| "must be a whole number")
        });
        // A cursor is only judged against a query that is itself valid.
        let after = match one("cursor") {
            Some(raw) if check.errors.is_empty() => {
                check.value("cursor", Some(raw), |raw| decode_task_cursor(&spec, raw))
            }
            _ => None,
        };
        check.finish()?;
        let kept = pairs.into_iter().filter(|(n, _)| n != "cursor").collect();
        Ok(Self {
            spec,
            limit,
            after,
            kept,
        })
    }

    /// The `Link` header value for the page that starts after `next`:
    /// `<path?cursor=…&…every other parameter of this request…>; rel="next"`.
    pub fn next_link(&self, path: &str, next: &ListCursor) -> String {
        let kept = self.kept.iter().map(|(n, v)| (n.as_str(), v.as_str()));
        next_link(path, &encode_task_cursor(&self.spec, next), kept)
    }
}

/// A flag parameter: `true` or `false`, nothing else.
fn boolean(raw: &str) -> Result<bool, &'static str> {
    match raw {
        "true" => Ok(true),
        "false" => Ok(false),
        _ => Err("must be true or false"),
    }
}

/// Checks the query of `DELETE /api/{user_id}/tasks`: `status=completed`, given once,
/// and nothing else, so that a bare `DELETE` cannot empty the list.
///
/// # Errors
/// `ApiError::Query` with an error for each way the query breaks that rule.
pub fn check_clear_completed(raw: &str) -> Result<(), ApiError> {
    let Decoded { pairs, errors } = decode(raw);
    let mut check = Checker { errors };
    if pairs.iter().filter(|(name, _)| name == "status").count() > 1 {
        check.push("status", "must be given at most once".to_owned());
    }
    for (name, value) in &pairs {
        if name != "status" {
            check.push(
                name,
                "is not a parameter here; the only one is status=completed".to_owned(),
            );
        } else if value != "completed" {
            check.push(
                "status",
                "must be completed: only completed tasks are cleared at once".to_owned(),
            );
        }
    }
    if !pairs.iter().any(|(name, _)| name == "status") {
        check.fail(
            "status",
            "is required and must be completed: only completed tasks are cleared at once"
                .to_owned(),
        );
    }
    check.finish()
}

/// Collects one error per parameter.
#[derive(Default)]
struct Checker {
    errors: Vec<FieldError>,
}

impl Checker {
    /// `ApiError::Query` with every error collected, if there is one.
    fn finish(self) -> Result<(), ApiError> {
        if self.errors.is_empty() {
            Ok(())
        } else {
            Err(ApiError::Query(self.errors))
        }
    }

    fn push(&mut self, field: &str, message: String) {
        self.errors.push(FieldError {
            field: field.to_owned(),
            message,
        });
    }

    /// An error about `field`'s value, unless one was already reported.
    fn fail(&mut self, field: &str, message: String) {
        if !self.errors.iter().any(|e| e.field == field) {
            self.push(field, message);
        }
    }

    /// A domain parse error, named after the query parameter rather than the domain's
    /// field (`Tag::parse` says `tags`, `Due::parse` says `due`).
    fn domain(&mut self, field: &str, err: DomainError) {
        let message = match err {
            DomainError::Invalid { reason, .. } => reason.to_string(),
            other => other.to_string(),
        };
        self.fail(field, message);
    }

    fn value<T>(
        &mut self,
        field: &str,
        raw: Option<&str>,
        parse: impl FnOnce(&str) -> Result<T, DomainError>,
    ) -> Option<T> {
        match parse(raw?) {
            Ok(value) => Some(value),
            Err(err) => {
                self.domain(field, err);
                None
            }
        }
    }

    fn plain<T>(
        &mut self,
        field: &str,
        raw: Option<&str>,
        parse: impl FnOnce(&str) -> Result<T, &'static str>,
    ) -> Option<T> {
        match parse(raw?) {
            Ok(value) => Some(value),
            Err(message) => {
                self.fail(field, message.to_owned());
                None
            }
        }
    }

    /// Every item of a repeatable, comma-separated parameter (each trimmed).
    fn list<'a, T>(
        &mut self,
        field: &str,
        raw: impl Iterator<Item = &'a str>,
        parse: impl Fn(&str) -> Result<T, DomainError>,
    ) -> Vec<T> {
        let mut items = Vec::new();
        for item in raw {
            match parse(item.trim()) {
                Ok(value) => items.push(value),
                Err(err) => {
                    self.domain(field, err);
                    return Vec::new();
                }
            }
        }
        items
    }
}

/// The parameters of `GET /api/{user_id}/tasks`, for the OpenAPI document only (the
/// handler reads them with [`TaskListQuery::parse`], which also sees repeated ones).
#[derive(utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[allow(dead_code, reason = "documents the parameters; never built")]
pub(crate) struct TaskListParams {
    /// Which tasks by completion (default `all`).
    #[param(inline, example = "pending")]
    status: Option<StatusParam>,
    /// Any of these priorities. Repeat the parameter (`priority=high&priority=medium`) or
    /// separate them with commas (`priority=high,medium`). Tasks without a priority never
    /// match.
    #[param(style = Form, explode, value_type = Option<Vec<crate::dto::Priority>>,
        example = json!(["high", "medium"]))]
    priority: Option<Vec<String>>,
    /// All of these tags, compared ignoring case (at most 20). Repeat the parameter
    /// (`tag=home&tag=errands`) or separate them with commas.
    #[param(style = Form, explode, example = json!(["home", "errands"]), max_items = 20)]
    tag: Option<Vec<String>>,
    /// A keyword found in the title or the description, ignoring case (1–200 characters
    /// after trimming).
    #[param(example = "milk", min_length = 1, max_length = 200)]
    q: Option<String>,
    /// Due strictly before this: an RFC 3339 date-time with an offset or `Z`, or a date
    /// `YYYY-MM-DD`, which means its midnight UTC (all-day due dates count from their
    /// midnight UTC too). Tasks without a due date never match.
    #[param(example = "2026-12-08")]
    due_before: Option<String>,
    /// Due at or after this (same forms as `due_before`). Tasks without a due date never
    /// match.
    #[param(example = "2026-12-01")]
    due_after: Option<String>,
    /// `true`: only open tasks that are overdue (an all-day date before today in `tz`, or
    /// an instant in the past; completed tasks never are). `false` is the same as leaving
    /// it out.
    #[param(example = true)]
    overdue: Option<bool>,
    /// `today`: only tasks due today in `tz` (today's all-day date, or an instant on
    /// today's local date).
    #[param(inline, example = "today")]
    due: Option<DueParam>,
    /// The IANA time zone in which `overdue` and `due=today` are judged (default `UTC`).
    #[param(value_type = crate::openapi_parts::TimeZoneName, required = false, example = "Europe/Berlin")]
    tz: Option<String>,
    /// Only tasks changed at or after this instant (RFC 3339 with an offset or `Z`), for
    /// incremental sync.
    #[param(example = "2026-11-25T09:30:00Z", format = DateTime)]
    updated_since: Option<String>,
    /// `true` (with `updated_since`, and no other filter): the sync feed. Tasks changed
    /// since then and `{"id", "deleted": true, "updated_at"}` entries for tasks deleted
    /// since then, ordered by `updated_at` (the deletion time for those), then id. Deleted
    /// tasks are remembered for a configured time (30 days by default): an older
    /// `updated_since` is a 410, after which the client fetches the whole list again.
    #[param(example = true)]
    include_deleted: Option<bool>,
    /// Only the tasks of this list (one the caller is a member of; another is simply
    /// empty). The tasks of an archived list are listed when it is named here.
    #[param(format = "uuid", example = "0192f0c1-7c5e-7000-8000-000000000001")]
    list_id: Option<String>,
    /// Only the direct subtasks of this task, or `none` for top-level tasks only.
    #[param(
        pattern = "^(none|[0-9A-Fa-f]{8}-?[0-9A-Fa-f]{4}-?[0-9A-Fa-f]{4}-?[0-9A-Fa-f]{4}-?[0-9A-Fa-f]{12})$",
        example = "none"
    )]
    parent_id: Option<String>,
    /// Only the tasks assigned to this user: `me` (the caller) or a user id.
    #[param(example = "me", min_length = 1, max_length = 255)]
    assignee: Option<String>,
    /// `true`: also the tasks of archived lists (hidden by default). `false` is the same as
    /// leaving it out.
    #[param(example = true)]
    archived: Option<bool>,
    /// The order (default `created_at`; `updated_at` with `include_deleted`); a leading `-`
    /// reverses it. Ties are broken by task id; tasks without a due date or priority come
    /// last either way; `title` ignores case; `position` is the manual order.
    #[param(inline, example = "-priority")]
    sort: Option<SortParam>,
    /// Page size, 1–1000 (the default and maximum are configured; both default to 1000, the
    /// maximum this document states).
    #[param(minimum = 1, maximum = 1000, example = 50)]
    limit: Option<u32>,
    /// Where to continue: copy it from the `Link: <…>; rel="next"` header (which repeats
    /// every other parameter). Opaque; one of another query, or one the service did not hand
    /// out, is refused.
    #[param(value_type = String, required = false, pattern = "^[0-9a-z_.-]+$")]
    cursor: Option<String>,
}

#[derive(utoipa::ToSchema)]
#[schema(rename_all = "lowercase")]
#[allow(dead_code, reason = "documents the parameter; never built")]
enum StatusParam {
    All,
    Pending,
    Completed,
}

#[derive(utoipa::ToSchema)]
#[schema(rename_all = "lowercase")]
#[allow(dead_code, reason = "documents the parameter; never built")]
enum DueParam {
    Today,
}

#[derive(utoipa::ToSchema)]
#[allow(dead_code, reason = "documents the parameter; never built")]
enum SortParam {
    #[schema(rename = "created_at")]
    CreatedAt,
    #[schema(rename = "-created_at")]
    CreatedAtDescending,
    #[schema(rename = "updated_at")]
    UpdatedAt,
    #[schema(rename = "-updated_at")]
    UpdatedAtDescending,
    #[schema(rename = "due")]
    Due,
    #[schema(rename = "-due")]
    DueDescending,
    #[schema(rename = "priority")]
    Priority,
    #[schema(rename = "-priority")]
    PriorityDescending,
    #[schema(rename = "title")]
    Title,
    #[schema(rename = "-title")]
    TitleDescending,
    #[schema(rename = "position")]
    Position,
    #[schema(rename = "-position")]
    PositionDescending,
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::indexing_slicing)]
mod tests {
    use super::*;
    use todo_domain::SortKey;

    fn errors(raw: &str) -> Vec<(String, String)> {
        match TaskListQuery::parse(raw) {
            Err(ApiError::Query(errors)) => {
                errors.into_iter().map(|e| (e.field, e.message)).collect()
            }
            other => panic!("{raw}: {other:?}"),
        }
    }

    fn fields(raw: &str) -> Vec<String> {
        errors(raw).into_iter().map(|(f, _)| f).collect()
    }

    #[test]
    fn no_parameters_is_the_plain_list() {
        let q = TaskListQuery::parse("").unwrap();
        assert!(q.spec.is_plain());
        assert_eq!(q.limit, None);
        assert_eq!(q.after, None);
        let next = ListCursor {
            value: todo_domain::SortValue::Instant(chrono::DateTime::from_timestamp_micros(1)),
            id: todo_domain::TaskId::parse("0192f0c1-7c5e-7000-8000-0000000000ab").unwrap(),
        };
        assert_eq!(
            q.next_link("/api/a/tasks", &next),
            "</api/a/tasks?cursor=1_0192f0c17c5e700080000000000000ab>; rel=\"next\""
        );
    }

    #[test]
    fn every_parameter_is_read() {
        let q = TaskListQuery::parse(
            "status=pending&priority=high&priority=low,%20medium&tag=Home&tag=errands,home\
             &q=%C3%84pfel+gr%C3%BCn&due_before=2026-12-08&due_after=2026-12-01T09:00:00%2B01:00\
             &overdue=true&due=today&tz=Asia%2FTokyo&updated_since=2026-11-25T09:30:00Z\
             &sort=-priority&limit=5",
        )
        .unwrap();
        let f = &q.spec.filter;
        assert_eq!(f.status, Status::Pending);
        assert_eq!(
            f.priorities,
            [Priority::Low, Priority::Medium, Priority::High]
        );
        let tags: Vec<&str> = f.tags.iter().map(Tag::as_str).collect();
        assert_eq!(tags, ["Home", "errands"], "deduplicated ignoring case");
        assert_eq!(f.text.as_ref().unwrap().as_str(), "Äpfel grün");
        assert_eq!(
            f.due_before.unwrap().to_rfc3339(),
            "2026-12-08T00:00:00+00:00"
        );
        assert_eq!(
            f.due_after.unwrap().to_rfc3339(),
            "2026-12-01T08:00:00+00:00"
        );
        assert!(f.overdue && f.due_today);
        assert_eq!(
            f.updated_since.unwrap().to_rfc3339(),
            "2026-11-25T09:30:00+00:00"
        );
        assert_eq!(q.spec.sort.key, SortKey::Priority);
        assert!(q.spec.sort.descending);
        assert_eq!(q.spec.tz.name(), "Asia/Tokyo");
        assert_eq!(q.limit, Some(5));
        let overdue_false = TaskListQuery::parse("overdue=false").unwrap();
        assert!(
            overdue_false.spec.is_plain(),
            "overdue=false is no condition"
        );
    }

    #[test]
    fn unknown_and_repeated_parameters_are_named() {
        assert_eq!(
            fields("colour=red&status=all&size=1&colour=blue"),
            ["colour", "size"]
        );
        let (field, message) = errors("Status=all").remove(0);
        assert_eq!(field, "Status", "names are case-sensitive");
        assert!(
            message.starts_with(
                "is not a parameter of this list; the parameters are status, priority"
            ),
            "{message}"
        );
        for name in [
            "status",
            "q",
            "due_before",
            "due_after",
            "overdue",
            "due",
            "tz",
            "updated_since",
            "sort",
            "limit",
            "cursor",
        ] {
            let value = match name {
                "status" => "all",
                "q" => "x",
                "due_before" | "due_after" => "2026-12-01",
                "overdue" => "true",
                "due" => "today",
                "tz" => "UTC",
                "updated_since" => "2026-12-01T00:00:00Z",
                "sort" => "title",
                "limit" => "1",
                _ => "x",
            };
            let errors = errors(&format!("{name}={value}&{name}={value}"));
            assert_eq!(
                errors,
                [(name.to_owned(), "must be given at most once".to_owned())]
            );
        }
        assert!(TaskListQuery::parse("priority=high&priority=low&tag=a&tag=b").is_ok());
    }

    #[test]
    fn every_bad_value_is_named_by_its_parameter() {
        for (query, field, message) in [
            (
                "status=done",
                "status",
                "must be one of all, pending, completed",
            ),
            (
                "priority=urgent",
                "priority",
                "must be one of low, medium, high",
            ),
            (
                "priority=high,",
                "priority",
                "must be one of low, medium, high",
            ),
            ("tag=", "tag", "must not contain an empty tag"),
            ("tag=a,,b", "tag", "must not contain an empty tag"),
            ("q=%20%20", "q", "must not be empty"),
            (
                "due_before=2026-02-30",
                "due_before",
                "must be a real calendar date",
            ),
            (
                "due_after=tomorrow",
                "due_after",
                "must be a date YYYY-MM-DD",
            ),
            ("overdue=yes", "overdue", "must be true or false"),
            ("due=tomorrow", "due", "must be today"),
            ("tz=Mars%2FOlympus", "tz", "must be an IANA time zone name"),
            (
                "updated_since=2026-12-01",
                "updated_since",
                "must be an RFC 3339 date-time",
            ),
            (
                "updated_since=2026-12-01T10:00:00",
                "updated_since",
                "must have a UTC offset",
            ),
            (
                "sort=colour",
                "sort",
                "must be one of created_at, updated_at",
            ),
            ("limit=ten", "limit", "must be a whole number"),
            (
                "cursor=garbage",
                "cursor",
                "must be a cursor taken from a Link header",
            ),
            (
                "sort=title&cursor=garbage",
                "cursor",
                "must be a cursor taken from a Link header",
            ),
        ] {
            let errors = errors(query);
            assert_eq!(errors.len(), 1, "{query}: {errors:?}");
            assert_eq!(errors[0].0, field, "{query}");
            assert!(errors[0].1.starts_with(message), "{query}: {}", errors[0].1);
        }
        let many: Vec<String> = (0..21).map(|i| format!("tag=t{i}")).collect();
        assert_eq!(fields(&many.join("&")), ["tag"]);
        assert_eq!(
            fields("status=x&sort=y&limit=z&nope=1"),
            ["nope", "status", "sort", "limit"],
            "every problem at once"
        );
    }

    #[test]
    fn a_cursor_must_come_from_the_same_query() {
        let first = TaskListQuery::parse("status=pending&sort=-due").unwrap();
        let next = encode_task_cursor(
            &first.spec,
            &ListCursor {
                value: todo_domain::SortValue::Instant(None),
                id: todo_domain::TaskId::parse("0192f0c1-7c5e-7000-8000-000000000001").unwrap(),
            },
        );
        let same =
            TaskListQuery::parse(&format!("sort=-due&status=pending&cursor={next}")).unwrap();
        assert!(same.after.is_some());
        for other in [
            "status=pending&sort=due",
            "status=completed&sort=-due",
            "sort=-due",
            "",
        ] {
            let (field, message) = errors(&format!("{other}&cursor={next}")).remove(0);
            assert_eq!(field, "cursor");
            assert!(
                message.starts_with("belongs to a different query"),
                "{message}"
            );
        }
    }

    #[test]
    fn the_next_link_keeps_every_other_parameter_encoded() {
        let base = "tag=caf%C3%A9&q=a%26b%3Dc+d&priority=high,low&sort=-title&limit=2";
        let spec = TaskListQuery::parse(base).unwrap().spec;
        let after = ListCursor {
            value: todo_domain::SortValue::Text("a".to_owned()),
            id: todo_domain::TaskId::parse("0192f0c1-7c5e-7000-8000-000000000001").unwrap(),
        };
        let cursor = encode_task_cursor(&spec, &after);
        // The request's cursor is dropped, wherever it was; the rest keeps its order.
        let q = TaskListQuery::parse(&format!(
            "tag=caf%C3%A9&cursor={cursor}&q=a%26b%3Dc+d&priority=high,low&sort=-title&limit=2"
        ))
        .unwrap();
        assert_eq!(q.after, Some(after.clone()));
        assert!(
            cursor.starts_with("-title.")
                && cursor.ends_with(".61.0192f0c17c5e70008000000000000001")
        );
        assert_eq!(
            q.next_link("/api/alice/tasks", &after),
            format!(
                "</api/alice/tasks?cursor={cursor}\
                 &tag=caf%C3%A9&q=a%26b%3Dc%20d&priority=high%2Clow&sort=-title&limit=2>; rel=\"next\""
            )
        );
    }
}
