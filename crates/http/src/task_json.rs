//! The JSON of tasks as the task endpoints send it, written by hand from borrowed domain
//! values: the same bytes serde_json makes of the DTOs (the tests hold them equal), without
//! copying every task into owned strings first (docs/performance.md).

use std::fmt;

use serde::{Serialize, Serializer};
use todo_domain::{Change, Due, Task, Timestamp, Tombstone};

use crate::dto::rfc3339;

/// A timestamp as [`rfc3339`] writes it, `YYYY-MM-DDTHH:MM:SS.ffffffZ`, without building a
/// string: the digits go into a fixed 27-byte buffer (through `Display` and `write!`, each
/// padded number took its own trip through the formatter: 16% of the instructions of a
/// 50-task page). `None` for what only chrono writes right: a year outside 0..=9999 or a
/// leap second.
fn fixed_rfc3339(t: Timestamp) -> Option<[u8; 27]> {
    use chrono::{Datelike, Timelike};
    let year = u32::try_from(t.year()).ok().filter(|y| *y <= 9999)?;
    let nanos = t.nanosecond();
    if nanos >= 1_000_000_000 {
        return None;
    }
    let (mo, d, h, mi, s, us) = (
        t.month(),
        t.day(),
        t.hour(),
        t.minute(),
        t.second(),
        nanos / 1000,
    );
    // The decimal digit of `n` at `place` (1, 10, 100, ...).
    let dg = |n: u32, place: u32| b'0' + u8::try_from(n / place % 10).unwrap_or(0);
    #[rustfmt::skip]
    let text = [
        dg(year, 1000), dg(year, 100), dg(year, 10), dg(year, 1), b'-',
        dg(mo, 10), dg(mo, 1), b'-', dg(d, 10), dg(d, 1), b'T',
        dg(h, 10), dg(h, 1), b':', dg(mi, 10), dg(mi, 1), b':', dg(s, 10), dg(s, 1), b'.',
        dg(us, 100_000), dg(us, 10_000), dg(us, 1000), dg(us, 100), dg(us, 10), dg(us, 1),
        b'Z',
    ];
    Some(text)
}

/// Serialises through `Display`, straight into the output.
struct Displayed<T>(T);

impl<T: fmt::Display> Serialize for Displayed<T> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(&self.0)
    }
}

/// About the size of one task's JSON, to size response buffers.
const TASK_BYTES: usize = 560;

/// Writes a task's JSON into `out`: the bytes serde_json makes of [`TaskDto`](crate::dto::TaskDto) (a test holds
/// them equal for every kind of field), written from the borrowed task. The field names go
/// in as constant bytes, ids and timestamps from fixed-width buffers, and only text goes
/// through serde_json's escaping; through a `Serialize` impl every field name was scanned
/// for characters to escape, for every task: 14% of the instructions of a 50-task page.
fn write_task(out: &mut Vec<u8>, t: &Task) -> serde_json::Result<()> {
    out.extend_from_slice(br#"{"id":"#);
    write_uuid(out, t.id.as_uuid());
    out.extend_from_slice(br#","user_id":"#);
    write_text(out, t.owner.as_str())?;
    out.extend_from_slice(br#","title":"#);
    write_text(out, t.title.as_str())?;
    out.extend_from_slice(br#","description":"#);
    write_or_null(out, t.description.as_ref(), |out, d| {
        write_text(out, d.as_str())
    })?;
    out.extend_from_slice(if t.completed {
        br#","completed":true,"created_at":"#
    } else {
        br#","completed":false,"created_at":"#
    });
    write_timestamp(out, t.created_at)?;
    out.extend_from_slice(br#","updated_at":"#);
    write_timestamp(out, t.updated_at)?;
    out.extend_from_slice(br#","priority":"#);
    write_or_null(out, t.priority, |out, p| write_text(out, p.as_str()))?;
    out.extend_from_slice(br#","tags":["#);
    for (i, tag) in t.tags.as_slice().iter().enumerate() {
        if i > 0 {
            out.push(b',');
        }
        write_text(out, tag.as_str())?;
    }
    out.extend_from_slice(br#"],"due":"#);
    write_or_null(out, t.due.as_ref(), |out, due| match due {
        Due::At(at) => write_timestamp(out, *at),
        date @ Due::Date(_) => serde_json::to_writer(out, &Displayed(date)),
    })?;
    out.extend_from_slice(br#","remind_at":"#);
    write_or_null(out, t.remind_at, write_timestamp)?;
    out.extend_from_slice(br#","completed_at":"#);
    write_or_null(out, t.completed_at, write_timestamp)?;
    out.extend_from_slice(br#","recurrence":"#);
    write_or_null(out, t.recurrence.as_ref(), |out, rule| {
        serde_json::to_writer(out, &Displayed(rule))
    })?;
    out.extend_from_slice(br#","time_zone":"#);
    write_or_null(out, t.time_zone, |out, zone| write_text(out, zone.name()))?;
    out.extend_from_slice(br#","version":"#);
    serde_json::to_writer(&mut *out, &t.version)?;
    out.extend_from_slice(br#","position":"#);
    write_text(out, t.position.as_str())?;
    out.extend_from_slice(br#","list_id":"#);
    write_uuid(out, t.list.as_uuid());
    out.extend_from_slice(br#","parent_id":"#);
    match t.parent {
        Some(parent) => write_uuid(out, parent.as_uuid()),
        None => out.extend_from_slice(b"null"),
    }
    out.extend_from_slice(br#","subtask_count":"#);
    serde_json::to_writer(&mut *out, &t.subtasks)?;
    out.extend_from_slice(br#","assignee_id":"#);
    write_or_null(out, t.assignee.as_ref(), |out, a| {
        write_text(out, a.as_str())
    })?;
    out.push(b'}');
    Ok(())
}

/// A deleted task of the sync feed, as serde_json writes [`DeletedTaskDto`](crate::dto::DeletedTaskDto).
fn write_tombstone(out: &mut Vec<u8>, gone: &Tombstone) -> serde_json::Result<()> {
    out.extend_from_slice(br#"{"id":"#);
    write_uuid(out, gone.id.as_uuid());
    out.extend_from_slice(br#","deleted":true,"updated_at":"#);
    write_timestamp(out, gone.deleted_at)?;
    out.push(b'}');
    Ok(())
}

/// A JSON string, escaped by serde_json.
fn write_text(out: &mut Vec<u8>, text: &str) -> serde_json::Result<()> {
    serde_json::to_writer(out, text)
}

/// A UUID as a JSON string: lower-case hex digits and hyphens, nothing to escape.
fn write_uuid(out: &mut Vec<u8>, id: uuid::Uuid) {
    let mut digits = uuid::Uuid::encode_buffer();
    out.push(b'"');
    out.extend_from_slice(id.hyphenated().encode_lower(&mut digits).as_bytes());
    out.push(b'"');
}

/// A timestamp as [`rfc3339`] writes it, in quotes.
fn write_timestamp(out: &mut Vec<u8>, t: Timestamp) -> serde_json::Result<()> {
    match fixed_rfc3339(t) {
        Some(digits) => {
            out.push(b'"');
            out.extend_from_slice(&digits);
            out.push(b'"');
            Ok(())
        }
        None => write_text(out, &rfc3339(t)),
    }
}

/// `value` as `write` writes it, or `null`.
fn write_or_null<T>(
    out: &mut Vec<u8>,
    value: Option<T>,
    write: impl FnOnce(&mut Vec<u8>, T) -> serde_json::Result<()>,
) -> serde_json::Result<()> {
    match value {
        Some(value) => write(out, value),
        None => {
            out.extend_from_slice(b"null");
            Ok(())
        }
    }
}

/// The JSON body of a single task.
///
/// # Errors
/// Only if serialisation fails, which plain strings, numbers and timestamps cannot.
pub fn task_body(task: &Task) -> serde_json::Result<Vec<u8>> {
    let mut out = Vec::with_capacity(TASK_BYTES);
    write_task(&mut out, task)?;
    Ok(out)
}

/// The JSON body of a page of tasks, as the list endpoints send it.
///
/// # Errors
/// Only if serialisation fails, which plain strings, numbers and timestamps cannot.
pub fn tasks_body(tasks: &[Task]) -> serde_json::Result<Vec<u8>> {
    page_body(tasks, write_task)
}

/// A JSON array of `items`, each written by `write`, into a buffer sized for a page of
/// tasks, so that a large page is not copied through every doubling of a growing one.
fn page_body<T>(
    items: &[T],
    write: impl Fn(&mut Vec<u8>, &T) -> serde_json::Result<()>,
) -> serde_json::Result<Vec<u8>> {
    let mut out = Vec::with_capacity(64 + TASK_BYTES * items.len());
    out.push(b'[');
    for (i, item) in items.iter().enumerate() {
        if i > 0 {
            out.push(b',');
        }
        write(&mut out, item)?;
    }
    out.push(b']');
    Ok(out)
}

/// Writes a sync feed page: tasks as [`TaskDto`](crate::dto::TaskDto), deletions as [`DeletedTaskDto`](crate::dto::DeletedTaskDto).
///
/// # Errors
/// Only if serialisation fails.
pub fn changes_body(changes: &[Change]) -> serde_json::Result<Vec<u8>> {
    page_body(changes, |out, change| match change {
        Change::Updated(task) => write_task(out, task),
        Change::Deleted(gone) => write_tombstone(out, gone),
    })
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::indexing_slicing)]
mod tests {
    use chrono::TimeZone as _;
    use todo_domain::{
        Change, Due, ListId, Priority, Recurrence, Tags, Task, TaskDescription, TaskId, TaskTitle,
        TimeZone, UserId,
    };

    use super::{changes_body, task_body, tasks_body};
    use crate::dto::{ChangeDto, DeletedTaskDto, TaskDto, rfc3339};

    fn task(title: &str, description: Option<&str>, secs: i64, nanos: u32) -> Task {
        let at = chrono::Utc.timestamp_opt(secs, nanos).unwrap();
        let mut task = Task::new(
            TaskId::parse("0193a5c2-7b1e-7cc0-9a4e-3f5d2c1b0a99").unwrap(),
            UserId::parse("PVL84nb3WKj8GHRW4JOgGQE0OvDh4NLr").unwrap(),
            ListId::from_uuid(uuid::Uuid::from_u128(
                0x0193_a5c2_7b1e_7cc0_9a4e_3f5d_2c1b_0a00,
            )),
            TaskTitle::parse(title).unwrap(),
            description.and_then(|d| TaskDescription::parse(d).unwrap()),
            at,
        );
        task.completed = secs % 2 == 0;
        task.updated_at = at + chrono::TimeDelta::microseconds(1_234_567);
        task
    }

    /// A task with every optional field set.
    #[allow(clippy::too_many_arguments)]
    fn full(
        base: Task,
        priority: Priority,
        tags: &[&str],
        due: &str,
        remind_at: (i64, u32),
        completed_at: Option<(i64, u32)>,
        recurrence: &str,
        zone: &str,
    ) -> Task {
        let at = |(secs, nanos): (i64, u32)| chrono::Utc.timestamp_opt(secs, nanos).unwrap();
        Task {
            priority: Some(priority),
            tags: Tags::parse(tags).unwrap(),
            due: Some(Due::parse(due).unwrap()),
            remind_at: Some(at(remind_at)),
            completed_at: completed_at.map(at),
            completed: completed_at.is_some(),
            recurrence: Some(Recurrence::parse(recurrence).unwrap()),
            time_zone: Some(TimeZone::parse("time_zone", zone).unwrap()),
            occurrences_done: 4,
            version: 42,
            parent: Some(TaskId::from_uuid(uuid::Uuid::from_u128(7))),
            assignee: Some(UserId::parse("bob \"the\" builder").unwrap()),
            subtasks: 3,
            ..base
        }
    }

    fn tasks() -> Vec<Task> {
        vec![
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
            full(
                task("Water plants", Some("balcony"), 1_764_063_002, 5_000),
                Priority::High,
                &["  Home ", "errands", "HOME", "Ärger", "\"quoted\" \\ tag"],
                "2026-12-01",
                (1_764_500_000, 123_456_000),
                None,
                "rrule:freq=weekly;byday=th,mo;interval=2",
                "Europe/Berlin",
            ),
            full(
                task("Pay rent", None, 1_764_063_003, 0),
                Priority::Low,
                &["money"],
                "2026-12-01T09:00:00.1234567+05:00",
                (1_764_000_000, 0),
                Some((1_764_063_100, 999_000)),
                "FREQ=MONTHLY;BYMONTHDAY=-1;COUNT=12",
                "UTC",
            ),
            full(
                task("Ancient", None, -62_135_596_800, 0),
                Priority::Medium,
                &["é".repeat(50).as_str()],
                "0033-01-02",
                (-62_135_596_800, 7_000),
                Some((253_402_300_799, 0)),
                "FREQ=YEARLY;UNTIL=20301231",
                "America/Argentina/Buenos_Aires",
            ),
            full(
                task("Edge of time", None, 1_764_063_004, 0),
                Priority::High,
                &["z", "A", "m"],
                "9999-12-31T23:59:59Z",
                (253_402_300_799, 999_999_000),
                None,
                "FREQ=DAILY",
                "Asia/Kolkata",
            ),
            // Written by chrono, not the fixed-width writer.
            task("Leap second", None, 1_483_228_799, 1_500_000_000), // 2016-12-31T23:59:60.5
            task("Beyond", None, 253_402_300_800, 0),                // +10000-01-01
        ]
    }

    fn text(body: serde_json::Result<Vec<u8>>) -> String {
        String::from_utf8(body.unwrap()).unwrap()
    }

    /// The task writer and serde_json's output for the DTO are the same bytes, field for
    /// field, for a single task and for pages.
    #[test]
    fn task_json_matches_the_dto_byte_for_byte() {
        let mut pages = Vec::new();
        for t in tasks() {
            let owned = serde_json::to_string(&TaskDto::from(t.clone())).unwrap();
            assert_eq!(text(task_body(&t)), owned);
            pages.push(t);
        }
        let page = text(tasks_body(&pages));
        let dtos: Vec<TaskDto> = pages.into_iter().map(TaskDto::from).collect();
        assert_eq!(page, serde_json::to_string(&dtos).unwrap());
        assert_eq!(text(tasks_body(&[])), "[]");
        assert_eq!(
            text(tasks_body(&tasks()[..1])),
            format!("[{}]", text(task_body(&tasks()[0])))
        );
    }

    /// A sync page, tasks and deletions mixed, is what serde_json writes of its DTOs.
    #[test]
    fn change_feed_matches_the_dtos_byte_for_byte() {
        let deleted = |n: u128, secs: i64, nanos: u32| todo_domain::Tombstone {
            id: TaskId::from_uuid(uuid::Uuid::from_u128(n)),
            owner: UserId::parse("PVL84nb3WKj8GHRW4JOgGQE0OvDh4NLr").unwrap(),
            deleted_at: chrono::Utc.timestamp_opt(secs, nanos).unwrap(),
        };
        let mut changes: Vec<Change> = tasks().into_iter().map(Change::Updated).collect();
        changes.insert(
            1,
            Change::Deleted(deleted(0xABCD_EF01, 1_764_063_010, 123_456_789)),
        );
        changes.push(Change::Deleted(deleted(
            u128::MAX,
            1_483_228_799,
            1_500_000_000,
        )));
        let dtos: Vec<ChangeDto> = changes
            .iter()
            .map(|change| match change {
                Change::Updated(task) => ChangeDto::Task(TaskDto::from(task.clone())),
                Change::Deleted(gone) => ChangeDto::Deleted(DeletedTaskDto {
                    id: gone.id.to_string(),
                    deleted: true,
                    updated_at: rfc3339(gone.deleted_at),
                }),
            })
            .collect();
        let page = text(changes_body(&changes));
        assert_eq!(page, serde_json::to_string(&dtos).unwrap());
        assert!(page.contains(r#"{"id":"00000000-0000-0000-0000-0000abcdef01","deleted":true,"updated_at":"2025-11-25T09:30:10.123456Z"}"#), "{page}");
        assert_eq!(text(changes_body(&[])), "[]");
    }

    /// Seed fields first, in their old order, then the new ones; values as documented.
    #[test]
    fn tasks_are_written_field_by_field_as_documented() {
        let all = tasks();
        let plain = text(task_body(&all[0]));
        assert_eq!(
            plain,
            concat!(
                r#"{"id":"0193a5c2-7b1e-7cc0-9a4e-3f5d2c1b0a99","#,
                r#""user_id":"PVL84nb3WKj8GHRW4JOgGQE0OvDh4NLr","title":"Buy milk","#,
                r#""description":null,"completed":true,"#,
                r#""created_at":"2025-11-25T09:30:00.000000Z","#,
                r#""updated_at":"2025-11-25T09:30:01.234567Z","#,
                r#""priority":null,"tags":[],"due":null,"remind_at":null,"#,
                r#""completed_at":null,"recurrence":null,"time_zone":null,"version":1,"#,
                r#""position":"0084vJjoO2402ySylsGsIei7UdixA6hQH","#,
                r#""list_id":"0193a5c2-7b1e-7cc0-9a4e-3f5d2c1b0a00","parent_id":null,"#,
                r#""subtask_count":0,"assignee_id":null}"#
            )
        );
        let value =
            |t: &Task| serde_json::from_slice::<serde_json::Value>(&task_body(t).unwrap()).unwrap();
        let weekly = value(&all[5]);
        assert_eq!(weekly["priority"], "high");
        assert_eq!(
            weekly["tags"],
            serde_json::json!(["\"quoted\" \\ tag", "errands", "Home", "Ärger"])
        );
        assert_eq!(weekly["due"], "2026-12-01");
        assert_eq!(weekly["remind_at"], "2025-11-30T10:53:20.123456Z");
        assert_eq!(weekly["completed_at"], serde_json::Value::Null);
        assert_eq!(weekly["recurrence"], "FREQ=WEEKLY;INTERVAL=2;BYDAY=MO,TH");
        assert_eq!(weekly["time_zone"], "Europe/Berlin");
        assert_eq!(weekly["version"], 42);
        assert_eq!(weekly["parent_id"], "00000000-0000-0000-0000-000000000007");
        assert_eq!(weekly["subtask_count"], 3);
        assert_eq!(weekly["assignee_id"], "bob \"the\" builder");
        let rent = value(&all[6]);
        assert_eq!(rent["due"], "2026-12-01T04:00:00.123456Z");
        assert_eq!(rent["completed_at"], "2025-11-25T09:31:40.000999Z");
        let ancient = value(&all[7]);
        assert_eq!(ancient["due"], "0033-01-02");
        assert_eq!(ancient["remind_at"], "0001-01-01T00:00:00.000007Z");
    }
}
