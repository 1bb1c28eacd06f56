//! Every cursor's text form and the `Link: rel="next"` header that hands it out (RFC
//! 8288): an HTTP concern, so the service and the store see typed positions only.
//!
//! Cursors are opaque and URL-safe (`[0-9a-z_.-]`):
//! - the plain task list (every task, oldest first): `<microseconds>_<task id>`, the form
//!   links have always carried;
//! - any other task list and the sync feed: `<sort>.<fingerprint>.<value>.<task id>`, where
//!   the fingerprint ([`ListSpec::fingerprint`]) ties it to its query and the value is the
//!   last task's sort value: microseconds since the epoch, a priority rank, `n` for none,
//!   or the folded title or the position as hexadecimal UTF-8;
//! - the admin's user list: `<microseconds>_<user id as hexadecimal UTF-8>`;
//! - a user's lists: `<position as hexadecimal UTF-8>_<list id>`;
//! - a user's trash: `<deletion time in microseconds>_<entry id>`.

use std::fmt::Write as _;

use todo_domain::{
    DomainError, InvalidReason, ListCursor, ListId, ListSpec, Position, Priority, Sort, SortKey,
    SortValue, TaskId, Timestamp, UserId,
};

const EXPECTED: &str = "a cursor taken from a Link header";

fn malformed() -> DomainError {
    DomainError::invalid("cursor", InvalidReason::Malformed(EXPECTED))
}

fn different_query() -> DomainError {
    DomainError::invalid(
        "cursor",
        InvalidReason::Detail(
            "belongs to a different query (other filters, sort or tz): \
             follow the Link header of this query, or start again without a cursor"
                .to_owned(),
        ),
    )
}

/// The text form of the position `cursor` in the list `spec` asks for.
pub(crate) fn encode_task_cursor(spec: &ListSpec, cursor: &ListCursor) -> String {
    let id = cursor.id.as_uuid().simple();
    match &cursor.value {
        SortValue::Instant(Some(t)) if spec.is_plain() => {
            format!("{}_{id}", t.timestamp_micros())
        }
        value => {
            let value = match value {
                SortValue::Instant(Some(t)) => t.timestamp_micros().to_string(),
                SortValue::Rank(Some(rank)) => rank.to_string(),
                SortValue::Instant(None) | SortValue::Rank(None) => "n".to_owned(),
                SortValue::Text(text) => hex(text.as_bytes()),
            };
            format!("{}.{}.{value}.{id}", spec.sort, spec.fingerprint())
        }
    }
}

/// Parses a cursor a client sent with the list `spec` asks for.
///
/// # Errors
/// `DomainError::Invalid` for field `cursor` when it is not a cursor at all, or when it
/// was taken from a different query (another filter, sort or zone, or the plain list for
/// a filtered one and the other way round).
pub(crate) fn decode_task_cursor(spec: &ListSpec, raw: &str) -> Result<ListCursor, DomainError> {
    if spec.is_plain() {
        return match decode_plain(raw) {
            Some(cursor) => Ok(cursor),
            None if split_query_cursor(raw).is_some() => Err(different_query()),
            None => Err(malformed()),
        };
    }
    let Some((sort, fingerprint, value, id)) = split_query_cursor(raw) else {
        return Err(if decode_plain(raw).is_some() {
            different_query()
        } else {
            malformed()
        });
    };
    if sort != spec.sort || fingerprint != spec.fingerprint() {
        return Err(different_query());
    }
    let value = decode_value(sort.key, value).ok_or_else(malformed)?;
    Ok(ListCursor { value, id })
}

/// `<microseconds>_<task id>`: a position in the plain list.
fn decode_plain(raw: &str) -> Option<ListCursor> {
    let (micros, id) = raw.split_once('_')?;
    let created_at = instant(micros.parse().ok()?)?;
    let id = uuid::Uuid::try_parse(id).ok()?;
    Some(ListCursor {
        value: SortValue::Instant(Some(created_at)),
        id: TaskId::from_uuid(id),
    })
}

fn instant(micros: i64) -> Option<Timestamp> {
    chrono::DateTime::from_timestamp_micros(micros)
}

/// Splits `<sort>.<fingerprint>.<value>.<task id>`; `None` unless every part but the value
/// (which only the sort can read) is well-formed.
fn split_query_cursor(raw: &str) -> Option<(Sort, &str, &str, TaskId)> {
    let mut parts = raw.split('.');
    let (sort, fingerprint, value, id) =
        (parts.next()?, parts.next()?, parts.next()?, parts.next()?);
    if parts.next().is_some() {
        return None;
    }
    let sort = Sort::parse(sort).ok()?;
    let lower_hex = |s: &str| s.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'));
    if fingerprint.len() != 16 || !lower_hex(fingerprint) || id.len() != 32 || !lower_hex(id) {
        return None;
    }
    let id = uuid::Uuid::try_parse(id).ok()?;
    Some((sort, fingerprint, value, TaskId::from_uuid(id)))
}

/// A sort value as [`encode_task_cursor`] writes it for `key`.
fn decode_value(key: SortKey, raw: &str) -> Option<SortValue> {
    let instant = |raw: &str| {
        if raw.is_empty() || !raw.bytes().all(|b| b.is_ascii_digit() || b == b'-') {
            return None;
        }
        instant(raw.parse().ok()?)
    };
    match key {
        SortKey::CreatedAt | SortKey::UpdatedAt => Some(SortValue::Instant(Some(instant(raw)?))),
        SortKey::Due if raw == "n" => Some(SortValue::Instant(None)),
        SortKey::Due => Some(SortValue::Instant(Some(instant(raw)?))),
        SortKey::Priority if raw == "n" => Some(SortValue::Rank(None)),
        SortKey::Priority => {
            let rank: i16 = raw.parse().ok()?;
            Priority::from_rank(rank)?;
            (rank.to_string() == raw).then_some(SortValue::Rank(Some(rank)))
        }
        SortKey::Position => {
            let text = String::from_utf8(unhex(raw)?).ok()?;
            Position::parse(&text)
                .ok()
                .map(|p| SortValue::Text(p.as_str().to_owned()))
        }
        SortKey::Title => String::from_utf8(unhex(raw)?).ok().map(SortValue::Text),
    }
}

/// `<microseconds>_<user id as hexadecimal UTF-8>`: a position in the admin's user list.
pub(crate) fn encode_user_cursor(cursor: &(Timestamp, UserId)) -> String {
    format!(
        "{}_{}",
        cursor.0.timestamp_micros(),
        hex(cursor.1.as_str().as_bytes())
    )
}

/// Parses a cursor of the admin's user list.
///
/// # Errors
/// `DomainError::Invalid` for field `cursor` when it is not one.
pub(crate) fn decode_user_cursor(raw: &str) -> Result<(Timestamp, UserId), DomainError> {
    let decode = || {
        let (micros, id) = raw.split_once('_')?;
        let at = instant(micros.parse().ok()?)?;
        let id = String::from_utf8(unhex(id)?).ok()?;
        Some((at, UserId::parse(&id).ok()?))
    };
    decode().ok_or_else(malformed)
}

/// `<position as hexadecimal UTF-8>_<list id>`: a place in a user's lists.
pub(crate) fn encode_list_cursor(cursor: &(Position, ListId)) -> String {
    format!(
        "{}_{}",
        hex(cursor.0.as_str().as_bytes()),
        cursor.1.as_uuid().simple()
    )
}

/// Parses a cursor of a user's lists.
///
/// # Errors
/// `DomainError::Invalid` for field `cursor` when it is not one.
pub(crate) fn decode_list_cursor(raw: &str) -> Result<(Position, ListId), DomainError> {
    let decode = || {
        let (position, id) = raw.split_once('_')?;
        let position = String::from_utf8(unhex(position)?).ok()?;
        let id = uuid::Uuid::try_parse(id).ok()?;
        Some((Position::parse(&position).ok()?, ListId::from_uuid(id)))
    };
    decode().ok_or_else(malformed)
}

/// `<microseconds>_<entry id>`: a place in a user's trash (newest first).
pub(crate) fn encode_trash_cursor(cursor: &(Timestamp, uuid::Uuid)) -> String {
    format!("{}_{}", cursor.0.timestamp_micros(), cursor.1.simple())
}

/// Parses a cursor of a user's trash: only the form [`encode_trash_cursor`] writes
/// (decimal digits, `_`, 32 lower-case hexadecimal digits).
///
/// # Errors
/// `DomainError::Invalid` for field `cursor` when it is not one.
pub(crate) fn decode_trash_cursor(raw: &str) -> Result<(Timestamp, uuid::Uuid), DomainError> {
    let decode = || {
        let (micros, id) = raw.split_once('_')?;
        let lower_hex = id.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'));
        if micros.is_empty() || !micros.bytes().all(|b| b.is_ascii_digit()) {
            return None;
        }
        if id.len() != 32 || !lower_hex {
            return None;
        }
        let at = instant(micros.parse().ok()?)?;
        Some((at, uuid::Uuid::try_parse(id).ok()?))
    };
    decode().ok_or_else(malformed)
}

/// `bytes` as lower-case hexadecimal.
fn hex(bytes: &[u8]) -> String {
    let mut out = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        let _ = write!(out, "{b:02x}");
    }
    out
}

/// The bytes of lower-case hexadecimal `text`; `None` when it is not.
fn unhex(text: &str) -> Option<Vec<u8>> {
    let digit = |b: u8| match b {
        b'0'..=b'9' => Some(b - b'0'),
        b'a'..=b'f' => Some(b - b'a' + 10),
        _ => None,
    };
    let pairs = text.as_bytes().chunks_exact(2);
    if !pairs.remainder().is_empty() {
        return None;
    }
    pairs
        .map(|pair| Some((digit(*pair.first()?)? << 4) | digit(*pair.get(1)?)?))
        .collect()
}

/// The `Link` header value for the next page: `<path?cursor=next&name=value…>;
/// rel="next"`, every name and value percent-encoded.
pub(crate) fn next_link<'a>(
    path: &str,
    next: &str,
    params: impl IntoIterator<Item = (&'a str, &'a str)>,
) -> String {
    let mut url = String::with_capacity(path.len() + next.len() + 32);
    url.push_str(path);
    url.push_str("?cursor=");
    push_encoded(&mut url, next);
    for (name, value) in params {
        url.push('&');
        push_encoded(&mut url, name);
        url.push('=');
        push_encoded(&mut url, value);
    }
    format!("<{url}>; rel=\"next\"")
}

/// Appends `text` percent-encoded: everything but RFC 3986's unreserved characters.
fn push_encoded(out: &mut String, text: &str) {
    for b in text.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~') {
            out.push(char::from(b));
        } else {
            let _ = write!(out, "%{b:02X}");
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use chrono::{TimeDelta, TimeZone as _};
    use todo_domain::{Status, TaskFilter, TimeZone};

    use super::*;

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

    fn id(n: u128) -> TaskId {
        TaskId::from_uuid(uuid::Uuid::from_u128(n))
    }

    fn query_cursor(value: SortValue, n: u128) -> ListCursor {
        ListCursor { value, id: id(n) }
    }

    fn encode_position(spec: &ListSpec, cursor: &ListCursor) -> String {
        encode_task_cursor(spec, cursor)
    }

    fn parse_position(spec: &ListSpec, raw: &str) -> Result<ListCursor, DomainError> {
        decode_task_cursor(spec, raw)
    }

    #[test]
    fn query_cursors_round_trip_every_sort_value() {
        let t = chrono::Utc.with_ymd_and_hms(2026, 12, 1, 9, 30, 0).unwrap()
            + TimeDelta::microseconds(123_456);
        let ancient = chrono::Utc.with_ymd_and_hms(1, 1, 1, 0, 0, 0).unwrap();
        let cases = [
            ("created_at", SortValue::Instant(Some(t))),
            ("-created_at", SortValue::Instant(Some(ancient))),
            ("updated_at", SortValue::Instant(Some(t))),
            ("due", SortValue::Instant(Some(t))),
            ("-due", SortValue::Instant(None)),
            ("priority", SortValue::Rank(Some(3))),
            ("-priority", SortValue::Rank(None)),
            ("title", SortValue::Text("buy milk".to_owned())),
            (
                "-title",
                SortValue::Text("äpfel & birnen/100%?#".to_owned()),
            ),
            (
                "title",
                SortValue::Text("日本語 ✓ 🎉 \"quoted\" \\ a.b_c-d".to_owned()),
            ),
        ];
        for (sort, value) in cases {
            let spec = spec(pending(), sort);
            let position = query_cursor(value, 0x0192_f0c1_7c5e_7000_8000_0000_0000_0001);
            let text = encode_position(&spec, &position);
            assert!(
                text.bytes()
                    .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b"_.-".contains(&b)),
                "URL-safe: {text}"
            );
            assert!(text.starts_with(&format!("{sort}.")), "{text}");
            assert_eq!(parse_position(&spec, &text).unwrap(), position, "{text}");
        }
    }

    #[test]
    fn a_query_cursor_reads_as_documented() {
        let spec = spec(pending(), "-due");
        let text = encode_position(
            &spec,
            &query_cursor(
                SortValue::Instant(Some(chrono::Utc.timestamp_opt(1_764_547_200, 0).unwrap())),
                1,
            ),
        );
        assert_eq!(
            text,
            format!(
                "-due.{}.1764547200000000.00000000000000000000000000000001",
                spec.fingerprint()
            )
        );
        let title = spec_title();
        let text = encode_position(&title, &query_cursor(SortValue::Text("é a".to_owned()), 1));
        assert!(text.contains(".c3a92061."), "{text}");
    }

    fn spec_title() -> ListSpec {
        spec(pending(), "title")
    }

    #[test]
    fn the_plain_list_keeps_its_cursor_form() {
        let cursor = ListCursor {
            value: SortValue::Instant(Some(
                chrono::DateTime::from_timestamp_micros(1_764_000_000_123_456).unwrap(),
            )),
            id: TaskId::parse("0192f0c1-7c5e-7000-8000-000000000001").unwrap(),
        };
        let plain = ListSpec::default();
        let text = encode_position(&plain, &cursor);
        assert_eq!(text, "1764000000123456_0192f0c17c5e70008000000000000001");
        assert_eq!(parse_position(&plain, &text).unwrap(), cursor);
        // A zone alone filters nothing: still the plain list and its form.
        let tokyo = ListSpec {
            tz: TimeZone::parse("tz", "Asia/Tokyo").unwrap(),
            ..ListSpec::default()
        };
        assert_eq!(encode_position(&tokyo, &cursor), text);
        for raw in [
            "",
            "abc",
            "1_2",
            "x_0192f0c17c5e70008000000000000001",
            "1764_",
        ] {
            assert_eq!(
                parse_position(&plain, raw).unwrap_err().to_string(),
                "cursor must be a cursor taken from a Link header",
                "{raw:?}"
            );
        }
    }

    #[test]
    fn user_cursors_round_trip_and_refuse_garbage() {
        let cursor = (
            chrono::DateTime::from_timestamp_micros(1_764_000_000_123_456).unwrap(),
            UserId::parse("Alice_42").unwrap(),
        );
        let text = encode_user_cursor(&cursor);
        assert_eq!(text, "1764000000123456_416c6963655f3432");
        assert_eq!(decode_user_cursor(&text).unwrap(), cursor);
        for raw in [
            "",
            "abc",
            "1_",
            "1_4",
            "1_zz",
            "x_41",
            "1_00",
            "99999999999999999999_41",
        ] {
            assert_eq!(
                decode_user_cursor(raw).unwrap_err().to_string(),
                "cursor must be a cursor taken from a Link header",
                "{raw:?}"
            );
        }
    }

    #[test]
    fn user_cursors_round_trip_any_id() {
        let at = chrono::DateTime::from_timestamp_micros(1_764_000_000_000_001).unwrap();
        for id in [
            "PVL84nb3WKj8GHRW4JOgGQE0OvDh4NLr",
            "with_underscore",
            "é/&?#",
        ] {
            let c = (at, UserId::parse(id).unwrap());
            let text = encode_user_cursor(&c);
            assert!(text.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_'));
            assert_eq!(decode_user_cursor(&text).unwrap(), c);
        }
        assert!(decode_user_cursor("nope").is_err());
        assert!(decode_user_cursor("1_zz").is_err());
        assert!(decode_user_cursor("1_abc").is_err());
    }

    #[test]
    fn the_next_link_repeats_the_parameters_percent_encoded() {
        assert_eq!(
            next_link(
                "/api/alice/tasks",
                "title.0123.6162.00",
                [("tag", "a b"), ("q", "100%&x=1"), ("limit", "5")]
            ),
            "</api/alice/tasks?cursor=title.0123.6162.00&tag=a%20b&q=100%25%26x%3D1&limit=5>; rel=\"next\""
        );
        assert_eq!(
            next_link("/api/admin/users", "5_61", []),
            "</api/admin/users?cursor=5_61>; rel=\"next\""
        );
    }

    #[test]
    fn list_cursors_round_trip_and_refuse_garbage() {
        let cursor = (
            Position::parse("0Vz").unwrap(),
            ListId::from_uuid(uuid::Uuid::from_u128(0xabc)),
        );
        let text = encode_list_cursor(&cursor);
        assert_eq!(text, "30567a_00000000000000000000000000000abc");
        assert_eq!(decode_list_cursor(&text).unwrap(), cursor);
        for bad in [
            "",
            "_",
            "30567a",
            "30567a_",
            "zz_00000000000000000000000000000abc",
            "30_00000000000000000000000000000abc",
        ] {
            assert!(decode_list_cursor(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn trash_cursors_round_trip_and_refuse_garbage() {
        let cursor = (
            chrono::DateTime::from_timestamp_micros(1_764_000_000_123_456).unwrap(),
            uuid::Uuid::from_u128(0xabc),
        );
        let text = encode_trash_cursor(&cursor);
        assert_eq!(text, "1764000000123456_00000000000000000000000000000abc");
        assert_eq!(decode_trash_cursor(&text).unwrap(), cursor);
        for bad in [
            "",
            "_",
            "1764000000123456",
            "1764000000123456_",
            "_00000000000000000000000000000abc",
            "-5_00000000000000000000000000000abc",
            "+5_00000000000000000000000000000abc",
            "x_00000000000000000000000000000abc",
            "1_00000000000000000000000000000ABC",
            "1_00000000-0000-0000-0000-000000000abc",
            "1_0000000000000000000000000000abc",
            "99999999999999999999_00000000000000000000000000000abc",
        ] {
            assert_eq!(
                decode_trash_cursor(bad).unwrap_err().to_string(),
                "cursor must be a cursor taken from a Link header",
                "{bad:?}"
            );
        }
    }

    #[test]
    fn garbage_cursors_are_refused() {
        let title = spec_title();
        let fp = title.fingerprint();
        let id32 = "0192f0c17c5e70008000000000000001";
        let garbage = [
            String::new(),
            "abc".to_owned(),
            "....".to_owned(),
            format!("title.{fp}.61.{id32}.x"),
            format!("title.{fp}.61"),
            format!("nope.{fp}.61.{id32}"),
            format!("title.{}.61.{id32}", fp.get(..15).unwrap()),
            format!("title.{}.61.{id32}", fp.to_uppercase()),
            format!("title.{fp}.61.{}", id32.get(..31).unwrap()),
            format!("title.{fp}.61.0192f0c1-7c5e-7000-8000-000000000001"),
            format!("title.{fp}.6.{id32}"),
            format!("title.{fp}.6G.{id32}"),
            format!("title.{fp}.4A.{id32}"),
            format!("title.{fp}.ff.{id32}"),
            format!("title.{fp}.+6.{id32}"),
        ];
        for raw in &garbage {
            let err = parse_position(&title, raw).unwrap_err().to_string();
            assert_eq!(
                err, "cursor must be a cursor taken from a Link header",
                "{raw:?}"
            );
        }
        let due = spec(pending(), "due");
        let fp = due.fingerprint();
        for value in ["x", "", "1.5", "99999999999999999999", "+5", "--5"] {
            let raw = format!("due.{fp}.{value}.{id32}");
            assert!(parse_position(&due, &raw).is_err(), "{raw:?}");
        }
        let created = spec(pending(), "created_at");
        let raw = format!("created_at.{}.n.{id32}", created.fingerprint());
        assert!(
            parse_position(&created, &raw).is_err(),
            "created_at is never none"
        );
        let priority = spec(pending(), "priority");
        for value in ["0", "4", "-1", "03", "high"] {
            let raw = format!("priority.{}.{value}.{id32}", priority.fingerprint());
            assert!(parse_position(&priority, &raw).is_err(), "{raw:?}");
        }
        assert!(parse_position(&ListSpec::default(), "garbage").is_err());
    }

    #[test]
    fn a_cursor_of_another_query_is_refused() {
        let different = "cursor belongs to a different query (other filters, sort or tz): \
             follow the Link header of this query, or start again without a cursor";
        let by_due = spec(pending(), "due");
        let text = encode_position(&by_due, &query_cursor(SortValue::Instant(None), 1));
        let mut high = pending();
        high.priorities = vec![Priority::High];
        let tokyo = TimeZone::parse("tz", "Asia/Tokyo").unwrap();
        let mut overdue = pending();
        overdue.overdue = true;
        let overdue_utc = spec(overdue.clone(), "due");
        let overdue_tokyo = ListSpec {
            tz: tokyo,
            ..overdue_utc.clone()
        };
        let overdue_text =
            encode_position(&overdue_utc, &query_cursor(SortValue::Instant(None), 1));
        for (other, raw) in [
            (spec(pending(), "-due"), text.as_str()),
            (spec(pending(), "created_at"), text.as_str()),
            (spec(high, "due"), text.as_str()),
            (spec(TaskFilter::default(), "due"), text.as_str()),
            (ListSpec::default(), text.as_str()),
            (overdue_tokyo, overdue_text.as_str()),
            (
                by_due.clone(),
                "1764000000123456_0192f0c17c5e70008000000000000001",
            ),
        ] {
            assert_eq!(
                parse_position(&other, raw).unwrap_err().to_string(),
                different,
                "{other:?} {raw}"
            );
        }
        // The zone only matters to filters that depend on it.
        let by_due_tokyo = ListSpec {
            tz: tokyo,
            ..by_due.clone()
        };
        assert!(parse_position(&by_due_tokyo, &text).is_ok());
    }

    #[test]
    fn position_cursors_round_trip_and_refuse_what_is_not_a_position() {
        let sorted = spec(TaskFilter::default(), "position");
        let id = TaskId::from_uuid(uuid::Uuid::from_u128(7));
        let cursor = ListCursor {
            value: SortValue::Text("0Az".to_owned()),
            id,
        };
        let raw = encode_position(&sorted, &cursor);
        assert_eq!(parse_position(&sorted, &raw).unwrap(), cursor);
        // "0A " (a space) is hex-encoded text but no position.
        let bad = raw.replace("30417a", "304120");
        assert_ne!(bad, raw);
        assert!(parse_position(&sorted, &bad).is_err());
    }
}
