//! The `task` table's rows as values: a task's stored form, both ways, and the counts of stats.

use sea_orm::ActiveValue::Set;
use sea_orm::{DbErr, FromQueryResult, IdenStatic, QueryResult};
use todo_application::ports::PortError;
use todo_domain::{
    Due, ListId, Position, Priority, Recurrence, Tag, Tags, Task, TaskDescription, TaskId,
    TaskTitle, TimeZone, UserId, search_keys,
};

use crate::entities::task::{self, Column};
use crate::entities::task_write;
use crate::error::corrupt;

/// Tags are stored joined with a line feed: a tag has no control characters, so the
/// separator is unambiguous, and no tags is the empty string.
const TAG_SEPARATOR: char = '\n';

fn tags_to_stored(tags: &Tags) -> String {
    let mut stored = String::new();
    for (i, tag) in tags.as_slice().iter().enumerate() {
        if i > 0 {
            stored.push(TAG_SEPARATOR);
        }
        stored.push_str(tag.as_str());
    }
    stored
}

pub(super) fn tags_from_stored(stored: &str) -> Result<Tags, PortError> {
    if stored.is_empty() {
        return Ok(Tags::default());
    }
    let raw: Vec<&str> = stored.split(TAG_SEPARATOR).collect();
    // Each one must be a tag exactly as written (parsing trims).
    for r in &raw {
        let tag = Tag::parse(r).map_err(|e| corrupt("tags", e))?;
        if tag.as_str() != *r {
            return Err(corrupt("tags", format!("{r:?} is not trimmed")));
        }
    }
    Tags::parse(&raw).map_err(|e| corrupt("tags", e))
}

/// A task row read for the domain. On PostgreSQL sqlx decodes the columns itself: for an
/// `Option<T>` field SeaORM decodes a `T` and turns the error a NULL gives into `None`,
/// after formatting its message — 13% of the instructions of a 50-task page, where most
/// optional fields are NULL (docs/performance.md). Other backends read as SeaORM does.
/// With the task's subtask count, read as the column [`SUBTASKS`] after the entity's.
pub(super) struct TaskRow(task::Model, i64);

/// The name of the subtask count every read of a task selects after the entity's columns.
pub(super) const SUBTASKS: &str = "subtasks";

impl FromQueryResult for TaskRow {
    fn from_query_result(res: &QueryResult, pre: &str) -> Result<Self, DbErr> {
        use sea_orm::sqlx::{self, Row, postgres::Postgres};

        // By position when the select list is the entity's columns in order (it is for
        // every read of a task), else by name: a name costs a hash lookup per column per row.
        // By position the type is not compared with the column's: the column is the
        // entity's, whose type the migrations fix (sqlx's comparison was 8% of a 50-task
        // page; a test holds this decoding equal to SeaORM's for every column).
        fn col<'r, T>(row: &'r sqlx::postgres::PgRow, column: Column) -> Result<T, DbErr>
        where
            T: sqlx::Decode<'r, Postgres> + sqlx::Type<Postgres>,
        {
            let name = column.as_str();
            let index = column as usize;
            let decoded = if row
                .columns()
                .get(index)
                .is_some_and(|c| sqlx::Column::name(c) == name)
            {
                row.try_get_unchecked(index)
            } else {
                row.try_get(name)
            };
            decoded.map_err(|e| DbErr::Type(format!("task.{name}: {e}")))
        }

        let Some(row) = res.try_as_pg_row().filter(|_| pre.is_empty()) else {
            let subtasks = res.try_get(pre, SUBTASKS)?;
            return task::Model::from_query_result(res, pre).map(|m| Self(m, subtasks));
        };
        let subtasks = after_columns(row, 0, SUBTASKS)?;
        Ok(Self(
            task::Model {
                id: col(row, Column::Id)?,
                user_id: col(row, Column::UserId)?,
                title: col(row, Column::Title)?,
                description: col(row, Column::Description)?,
                completed: col(row, Column::Completed)?,
                created_at: col(row, Column::CreatedAt)?,
                updated_at: col(row, Column::UpdatedAt)?,
                priority: col(row, Column::Priority)?,
                tags: col(row, Column::Tags)?,
                due_at: col(row, Column::DueAt)?,
                due_all_day: col(row, Column::DueAllDay)?,
                remind_at: col(row, Column::RemindAt)?,
                completed_at: col(row, Column::CompletedAt)?,
                recurrence: col(row, Column::Recurrence)?,
                time_zone: col(row, Column::TimeZone)?,
                occurrences_done: col(row, Column::OccurrencesDone)?,
                version: col(row, Column::Version)?,
                position: col(row, Column::Position)?,
                series_time: col(row, Column::SeriesTime)?,
                list_id: col(row, Column::ListId)?,
                parent_id: col(row, Column::ParentId)?,
                assignee_id: col(row, Column::AssigneeId)?,
            },
            subtasks,
        ))
    }
}

/// The column `name` selected `n` places after the entity's columns (the subtask count is
/// the first, a read's extra columns follow it) of a PostgreSQL row: by position when it is
/// there, else by name (a hash lookup).
pub(super) fn after_columns<'r, T>(
    row: &'r sea_orm::sqlx::postgres::PgRow,
    n: usize,
    name: &str,
) -> Result<T, DbErr>
where
    T: sea_orm::sqlx::Decode<'r, sea_orm::sqlx::Postgres>
        + sea_orm::sqlx::Type<sea_orm::sqlx::Postgres>,
{
    use sea_orm::Iterable;
    use sea_orm::sqlx::{Column as _, Row as _};
    let index = Column::iter().count() + n;
    if row.columns().get(index).is_some_and(|c| c.name() == name) {
        row.try_get(index)
    } else {
        row.try_get(name)
    }
    .map_err(|e| DbErr::Type(format!("task.{name}: {e}")))
}

impl TaskRow {
    pub(super) fn task(self) -> Result<Task, PortError> {
        to_domain(self.0, self.1)
    }

    /// The task of a row read by a statement run outside SeaORM's selectors
    /// ([`crate::direct`]).
    pub(super) fn read(row: &QueryResult) -> Result<Task, PortError> {
        Self::from_query_result(row, "")
            .map_err(crate::error::map_db_err)?
            .task()
    }
}

fn to_domain(m: task::Model, subtasks: i64) -> Result<Task, PortError> {
    Ok(Task {
        id: TaskId::from_uuid(m.id),
        // The ids, the title and the description were parsed when written: taken as
        // stored (a test holds the result equal to parsing them again).
        owner: UserId::from_stored(m.user_id),
        list: ListId::from_uuid(
            m.list_id
                .ok_or_else(|| corrupt("list id", "a task in no list"))?,
        ),
        parent: m.parent_id.map(TaskId::from_uuid),
        assignee: m.assignee_id.map(UserId::from_stored),
        subtasks: u32::try_from(subtasks).map_err(|_| corrupt("subtask count", subtasks))?,
        title: TaskTitle::from_stored(m.title),
        description: m.description.and_then(TaskDescription::from_stored),
        completed: m.completed,
        created_at: m.created_at,
        updated_at: m.updated_at,
        priority: m
            .priority
            .map(|rank| {
                Priority::from_rank(rank)
                    .ok_or_else(|| corrupt("priority", format!("unknown rank {rank}")))
            })
            .transpose()?,
        tags: tags_from_stored(&m.tags)?,
        due: m.due_at.map(|at| {
            if m.due_all_day {
                Due::Date(at.date_naive())
            } else {
                Due::At(at)
            }
        }),
        remind_at: m.remind_at,
        completed_at: m.completed_at,
        recurrence: m
            .recurrence
            .as_deref()
            .map(Recurrence::parse)
            .transpose()
            .map_err(|e| corrupt("recurrence", e))?,
        time_zone: m
            .time_zone
            .as_deref()
            .map(|name| TimeZone::parse("time_zone", name))
            .transpose()
            .map_err(|e| corrupt("time zone", e))?,
        occurrences_done: u32::try_from(m.occurrences_done)
            .map_err(|_| corrupt("occurrences done", m.occurrences_done))?,
        version: m.version,
        // A row an earlier version wrote (during a rolling deploy) has none until the next
        // start fills it in: the one it would have been given.
        position: if m.position.is_empty() {
            Position::initial(m.created_at, TaskId::from_uuid(m.id))
        } else {
            Position::parse(&m.position).map_err(|e| corrupt("position", e))?
        },
        series_time: m
            .series_time
            .map(|micros| {
                series_time_from_stored(micros).ok_or_else(|| corrupt("series time", micros))
            })
            .transpose()?,
    })
}

/// A time of day as stored: microseconds after midnight.
fn series_time_to_stored(t: chrono::NaiveTime) -> i64 {
    use chrono::Timelike;
    i64::from(t.num_seconds_from_midnight()) * 1_000_000 + i64::from(t.nanosecond() / 1_000)
}

fn series_time_from_stored(micros: i64) -> Option<chrono::NaiveTime> {
    let secs = u32::try_from(micros.div_euclid(1_000_000)).ok()?;
    let nanos = u32::try_from(micros.rem_euclid(1_000_000))
        .ok()?
        .checked_mul(1_000)?;
    chrono::NaiveTime::from_num_seconds_from_midnight_opt(secs, nanos)
}

/// Every column of `t`, as stored, with the keys derived from it.
pub(super) fn to_row(t: &Task) -> task_write::ActiveModel {
    task_write::ActiveModel {
        id: Set(t.id.as_uuid()),
        user_id: Set(t.owner.as_str().to_owned()),
        title: Set(t.title.as_str().to_owned()),
        description: Set(t.description.as_ref().map(|d| d.as_str().to_owned())),
        completed: Set(t.completed),
        created_at: Set(t.created_at),
        updated_at: Set(t.updated_at),
        priority: Set(t.priority.map(Priority::rank)),
        tags: Set(tags_to_stored(&t.tags)),
        due_at: Set(t.due.as_ref().map(Due::starts_at_utc)),
        due_all_day: Set(matches!(t.due, Some(Due::Date(_)))),
        remind_at: Set(t.remind_at),
        completed_at: Set(t.completed_at),
        recurrence: Set(t.recurrence.as_ref().map(ToString::to_string)),
        time_zone: Set(t.time_zone.map(|z| z.name().to_owned())),
        // A series ends at `Recurrence::MAX_COUNT` occurrences: far below `i32::MAX`.
        occurrences_done: Set(i32::try_from(t.occurrences_done).unwrap_or(i32::MAX)),
        version: Set(t.version),
        position: Set(t.position.as_str().to_owned()),
        series_time: Set(t.series_time.map(series_time_to_stored)),
        list_id: Set(Some(t.list.as_uuid())),
        parent_id: Set(t.parent.map(|p| p.as_uuid())),
        assignee_id: Set(t.assignee.as_ref().map(|a| a.as_str().to_owned())),
        title_key: Set(search_keys::title_key(t.title.as_str())),
        search_key: Set(search_keys::search_key(
            t.title.as_str(),
            t.description.as_ref().map(TaskDescription::as_str),
        )),
        tags_key: Set(search_keys::tags_key(
            t.tags.as_slice().iter().map(Tag::as_str),
        )),
    }
}

/// The counts of [`TaskRepository::stats`](todo_application::ports::TaskRepository::stats),
/// as one row.
#[derive(Debug, Default, FromQueryResult)]
pub(super) struct StatsRow {
    pub(super) total: i64,
    pub(super) pending: i64,
    pub(super) completed: i64,
    pub(super) high: i64,
    pub(super) medium: i64,
    pub(super) low: i64,
    pub(super) no_priority: i64,
    pub(super) overdue: i64,
    pub(super) due_today: i64,
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    /// On PostgreSQL, the rows of a read decode to what SeaORM's own `from_query_result`
    /// makes of them, column by column, NULLs and values alike.
    #[tokio::test]
    async fn postgres_rows_decode_as_seaorm_decodes_them() {
        use sea_orm::{ConnectionTrait, DbBackend, Statement};
        let db = crate::test_postgres().await;
        // Every column of `task` in order, with the column types of the migrations: one
        // row with every optional value given, one with none.
        let sql = "SELECT \
            '00000000-0000-4000-8000-000000000001'::uuid AS id, 'alice'::text AS user_id, \
            'Buy milk'::text AS title, d::text AS description, c AS completed, \
            '2026-12-01T10:00:00.123456Z'::timestamptz AS created_at, \
            '2026-12-02T10:00:00Z'::timestamptz AS updated_at, p::int2 AS priority, \
            t::text AS tags, due::timestamptz AS due_at, c AS due_all_day, \
            due::timestamptz AS remind_at, due::timestamptz AS completed_at, \
            r::text AS recurrence, z::text AS time_zone, 3::int4 AS occurrences_done, \
            7::int8 AS version, 'V'::text AS position, s::int8 AS series_time, \
            '00000000-0000-4000-9000-000000000001'::uuid AS list_id, \
            parent::uuid AS parent_id, a::text AS assignee_id, 2::int8 AS subtasks \
            FROM (VALUES \
              ('notes', true, 2, 'home' || chr(10) || 'work', '2026-12-24T00:00:00Z', \
               'FREQ=DAILY', 'Europe/Paris', 3600000000, \
               '00000000-0000-4000-8000-000000000002', 'bob'), \
              (NULL, false, NULL, '', NULL, NULL, NULL, NULL, NULL, NULL)) \
            AS v(d, c, p, t, due, r, z, s, parent, a)";
        let rows = db
            .query_all_raw(Statement::from_string(DbBackend::Postgres, sql))
            .await
            .unwrap();
        assert_eq!(rows.len(), 2);
        for row in &rows {
            let ours = TaskRow::from_query_result(row, "").unwrap();
            let seaorms = task::Model::from_query_result(row, "").unwrap();
            assert_eq!(ours.0, seaorms);
            assert_eq!(ours.1, 2);
        }
        assert!(
            rows.first()
                .unwrap()
                .try_get::<Option<String>>("", "description")
                .unwrap()
                .is_some()
        );
    }

    #[test]
    fn search_keys_are_folded_beyond_ascii() {
        let mut t = Task::new(
            TaskId::from_uuid(uuid::Uuid::nil()),
            UserId::parse("alice").unwrap(),
            ListId::from_uuid(uuid::Uuid::nil()),
            TaskTitle::parse("ÄPFEL & Birnen").unwrap(),
            TaskDescription::parse("Für den KUCHEN\nzwei Kilo").unwrap(),
            chrono::DateTime::UNIX_EPOCH,
        );
        t.tags = Tags::parse(&["Work", "ÉTÉ", "home"]).unwrap();
        let keys = |t: &Task| {
            let row = to_row(t);
            (
                row.title_key.unwrap(),
                row.search_key.unwrap(),
                row.tags_key.unwrap(),
            )
        };
        assert_eq!(
            keys(&t),
            (
                "äpfel & birnen".to_owned(),
                "äpfel & birnen\nfür den kuchen\nzwei kilo".to_owned(),
                "\nhome\nwork\nété\n".to_owned()
            )
        );
        t.description = None;
        t.tags = Tags::default();
        let (_, search, tags) = keys(&t);
        assert_eq!(search, "äpfel & birnen\n");
        assert_eq!(tags, "");
    }

    /// A stored row's ids, title and description, taken as stored, are what parsing them
    /// again makes of them (for every row the service writes, and for a blank description
    /// an older version may have left).
    #[test]
    fn stored_values_rebuild_the_task_parsing_would() {
        let model = |title: &str, description: Option<&str>, assignee: Option<&str>| task::Model {
            id: uuid::Uuid::from_u128(1),
            user_id: "alice_1".to_owned(),
            title: title.to_owned(),
            description: description.map(str::to_owned),
            completed: false,
            created_at: chrono::DateTime::UNIX_EPOCH,
            updated_at: chrono::DateTime::UNIX_EPOCH,
            priority: None,
            tags: String::new(),
            due_at: None,
            due_all_day: false,
            remind_at: None,
            completed_at: None,
            recurrence: None,
            time_zone: None,
            occurrences_done: 0,
            version: 1,
            position: "V".to_owned(),
            series_time: None,
            list_id: Some(uuid::Uuid::from_u128(2)),
            parent_id: None,
            assignee_id: assignee.map(str::to_owned),
        };
        for m in [
            model("Buy milk", None, None),
            model(
                "Äpfel & Birnen — ünïcödé",
                Some("line one\nline two\ttab"),
                Some("bob"),
            ),
            model("t", Some(""), None),
            model("t", Some("  \n "), Some("x")),
        ] {
            let parsed = (
                UserId::parse(&m.user_id).unwrap(),
                m.assignee_id.as_deref().map(|a| UserId::parse(a).unwrap()),
                TaskTitle::parse(&m.title).unwrap(),
                m.description
                    .as_deref()
                    .and_then(|d| TaskDescription::parse(d).unwrap()),
            );
            let t = to_domain(m, 0).unwrap();
            assert_eq!((t.owner, t.assignee, t.title, t.description), parsed);
        }
    }

    #[test]
    fn tags_are_stored_one_per_line() {
        let tags = Tags::parse(&["work", "Küche", "日本"]).unwrap();
        let stored = tags_to_stored(&tags);
        assert_eq!(stored, "Küche\nwork\n日本");
        assert_eq!(tags_from_stored(&stored).unwrap(), tags);
        assert_eq!(tags_to_stored(&Tags::default()), "");
        assert_eq!(tags_from_stored("").unwrap(), Tags::default());
        for bad in ["a\n\nb", "a\n", " a", "a,b", "a\tb"] {
            assert!(tags_from_stored(bad).is_err(), "{bad:?}");
        }
    }
}
