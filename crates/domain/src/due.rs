//! Dates and instants as clients write them: a task's [`Due`], and instant fields such as
//! `remind_at`.

use std::fmt;

use chrono::{DateTime, NaiveDate, NaiveDateTime, NaiveTime, SecondsFormat, Timelike, Utc};
use chrono_tz::Tz;

use crate::error::{DomainError, InvalidReason};
use crate::time::{Timestamp, to_stored_precision};

const DUE_EXPECTED: &str = "a date YYYY-MM-DD or an RFC 3339 date-time with an offset, \
     like 2026-12-01 or 2026-12-01T09:00:00+05:00 or 2026-12-01T09:00:00Z";
const INSTANT_EXPECTED: &str = "an RFC 3339 date-time with an offset, \
     like 2026-12-01T09:00:00+05:00 or 2026-12-01T09:00:00Z";
const NEEDS_OFFSET: &str = "must have a UTC offset or Z after the time, \
     like 2026-12-01T09:00:00+05:00 or 2026-12-01T09:00:00Z";

/// When a task is due: a whole day (no time, no zone), or an instant.
///
/// An all-day date means that day wherever the user is: whether it is today or overdue is
/// decided in the user's time zone. An instant is an absolute moment, kept in UTC with
/// microsecond precision.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Due {
    Date(NaiveDate),
    At(Timestamp),
}

impl Due {
    /// Parses `YYYY-MM-DD` (an all-day date) or an RFC 3339 date-time with an explicit offset
    /// or `Z` (an instant, converted to UTC and truncated to microseconds).
    ///
    /// # Errors
    ///
    /// `DomainError::Invalid` for field `due` when `raw` is empty, of neither form, a
    /// date-time without an offset, or a day that does not exist (`2026-02-30`).
    pub fn parse(raw: &str) -> Result<Self, DomainError> {
        const FIELD: &str = "due";
        let text = raw.trim();
        if text.is_empty() {
            return Err(DomainError::invalid(FIELD, InvalidReason::Empty));
        }
        if text.len() == 10 {
            let Some((year, month, day)) = date_shape(text) else {
                return Err(DomainError::invalid(
                    FIELD,
                    InvalidReason::Malformed(DUE_EXPECTED),
                ));
            };
            return NaiveDate::from_ymd_opt(year, month, day)
                .map(Self::Date)
                .ok_or_else(|| not_a_calendar_date(FIELD, text));
        }
        instant(FIELD, text, DUE_EXPECTED).map(Self::At)
    }

    /// The day this is due on, as seen in `tz`: the date itself, or the instant's local date.
    #[must_use]
    pub fn local_date(&self, tz: Tz) -> NaiveDate {
        match self {
            Self::Date(date) => *date,
            Self::At(t) => t.with_timezone(&tz).date_naive(),
        }
    }

    /// One sortable instant for dates and instants alike: a date starts at its midnight UTC.
    ///
    /// This is what to store in a single sortable column; it is not the start of the day in
    /// the user's zone.
    #[must_use]
    pub fn starts_at_utc(&self) -> Timestamp {
        match self {
            Self::Date(date) => date.and_time(NaiveTime::MIN).and_utc(),
            Self::At(t) => *t,
        }
    }

    /// A date is overdue once its day is over in `tz`; an instant once it is in the past.
    #[must_use]
    pub fn is_overdue(&self, now: Timestamp, tz: Tz) -> bool {
        match self {
            Self::Date(date) => *date < today(now, tz),
            Self::At(t) => *t < now,
        }
    }

    /// Whether this falls on today's date in `tz` (an instant: its local date in `tz`).
    /// An instant earlier today is both due today and overdue.
    #[must_use]
    pub fn is_due_today(&self, now: Timestamp, tz: Tz) -> bool {
        self.local_date(tz) == today(now, tz)
    }
}

impl fmt::Display for Due {
    /// `2026-12-01`, or RFC 3339 in UTC with microseconds: `2026-12-01T04:00:00.000000Z`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Date(date) => write!(f, "{}", date.format("%Y-%m-%d")),
            Self::At(t) => f.write_str(&t.to_rfc3339_opts(SecondsFormat::Micros, true)),
        }
    }
}

/// Parses an instant field such as `remind_at`: an RFC 3339 date-time with an explicit offset
/// or `Z`, converted to UTC and truncated to microseconds. A bare date or a date-time without
/// an offset is refused, naming `field`.
///
/// # Errors
///
/// `DomainError::Invalid` for `field` when `raw` is empty, not such a date-time, without an
/// offset, or on a day that does not exist.
pub fn parse_instant(field: &'static str, raw: &str) -> Result<Timestamp, DomainError> {
    let text = raw.trim();
    if text.is_empty() {
        return Err(DomainError::invalid(field, InvalidReason::Empty));
    }
    instant(field, text, INSTANT_EXPECTED)
}

fn today(now: Timestamp, tz: Tz) -> NaiveDate {
    now.with_timezone(&tz).date_naive()
}

fn instant(
    field: &'static str,
    text: &str,
    expected: &'static str,
) -> Result<Timestamp, DomainError> {
    if let Ok(t) = DateTime::parse_from_rfc3339(text) {
        // chrono accepts a leap second (`:60`), which no store keeps.
        if t.nanosecond() < 1_000_000_000 {
            return Ok(to_stored_precision(t.with_timezone(&Utc)));
        }
        return Err(DomainError::invalid(
            field,
            InvalidReason::Malformed(expected),
        ));
    }
    // Say more precisely what is wrong where we can tell.
    if let Some(date) = text.get(..10)
        && let Some((year, month, day)) = date_shape(date)
        && NaiveDate::from_ymd_opt(year, month, day).is_none()
    {
        return Err(not_a_calendar_date(field, date));
    }
    let without_offset = ["%Y-%m-%dT%H:%M:%S%.f", "%Y-%m-%d %H:%M:%S%.f"]
        .iter()
        .any(|format| NaiveDateTime::parse_from_str(text, format).is_ok());
    if without_offset {
        return Err(DomainError::invalid(
            field,
            InvalidReason::Detail(NEEDS_OFFSET.to_owned()),
        ));
    }
    Err(DomainError::invalid(
        field,
        InvalidReason::Malformed(expected),
    ))
}

/// `YYYY-MM-DD` with exactly these digits, not yet checked against the calendar.
fn date_shape(text: &str) -> Option<(i32, u32, u32)> {
    let bytes = text.as_bytes();
    let shaped = bytes.len() == 10
        && bytes.iter().enumerate().all(|(i, b)| match i {
            4 | 7 => *b == b'-',
            _ => b.is_ascii_digit(),
        });
    if !shaped {
        return None;
    }
    Some((
        text.get(0..4)?.parse().ok()?,
        text.get(5..7)?.parse().ok()?,
        text.get(8..10)?.parse().ok()?,
    ))
}

fn not_a_calendar_date(field: &'static str, date: &str) -> DomainError {
    DomainError::invalid(
        field,
        InvalidReason::Detail(format!(
            "must be a real calendar date, and {date} does not exist"
        )),
    )
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use chrono::TimeZone;
    use chrono_tz::{America, Asia, Europe};

    fn utc(y: i32, mo: u32, d: u32, h: u32, mi: u32, s: u32) -> Timestamp {
        Utc.with_ymd_and_hms(y, mo, d, h, mi, s).unwrap()
    }

    fn date(y: i32, m: u32, d: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, d).unwrap()
    }

    fn message<T: fmt::Debug>(result: Result<T, DomainError>) -> String {
        result.unwrap_err().to_string()
    }

    #[test]
    fn all_day_dates_parse() {
        assert_eq!(
            Due::parse("2026-12-01").unwrap(),
            Due::Date(date(2026, 12, 1))
        );
        assert_eq!(
            Due::parse(" 2028-02-29 ").unwrap(),
            Due::Date(date(2028, 2, 29))
        );
    }

    #[test]
    fn instants_with_an_offset_are_converted_to_utc() {
        assert_eq!(
            Due::parse("2026-12-01T09:00:00+05:00").unwrap(),
            Due::At(utc(2026, 12, 1, 4, 0, 0))
        );
        assert_eq!(
            Due::parse("2026-12-01T09:00:00Z").unwrap(),
            Due::At(utc(2026, 12, 1, 9, 0, 0))
        );
        assert_eq!(
            Due::parse("2026-12-01T09:00:00-08:30").unwrap(),
            Due::At(utc(2026, 12, 1, 17, 30, 0))
        );
        // Crossing midnight backwards into the previous UTC day.
        assert_eq!(
            Due::parse("2026-12-01T01:00:00+09:00").unwrap(),
            Due::At(utc(2026, 11, 30, 16, 0, 0))
        );
    }

    #[test]
    fn instants_are_truncated_to_microseconds() {
        let Due::At(t) = Due::parse("2026-12-01T09:00:00.1234567+05:00").unwrap() else {
            panic!("an instant");
        };
        assert_eq!(t.nanosecond(), 123_456_000);
        assert_eq!(t, to_stored_precision(t));
        assert_eq!(
            Due::At(t).to_string(),
            "2026-12-01T04:00:00.123456Z",
            "display keeps the microseconds"
        );
    }

    #[test]
    fn display_is_the_api_form_and_parses_back() {
        let d = Due::parse("2026-12-01").unwrap();
        assert_eq!(d.to_string(), "2026-12-01");
        let t = Due::parse("2026-12-01T09:00:00+05:00").unwrap();
        assert_eq!(t.to_string(), "2026-12-01T04:00:00.000000Z");
        for due in [d, t] {
            assert_eq!(Due::parse(&due.to_string()).unwrap(), due);
        }
        assert_eq!(Due::Date(date(33, 1, 2)).to_string(), "0033-01-02");
    }

    #[test]
    fn date_times_without_an_offset_are_refused_with_a_hint() {
        for raw in [
            "2026-12-01T09:00:00",
            "2026-12-01T09:00:00.5",
            "2026-12-01 09:00:00",
        ] {
            let err = Due::parse(raw).unwrap_err();
            assert_eq!(
                err,
                DomainError::invalid("due", InvalidReason::Detail(NEEDS_OFFSET.to_owned())),
                "{raw}"
            );
        }
        assert_eq!(
            message(Due::parse("2026-12-01T09:00:00")),
            "due must have a UTC offset or Z after the time, \
             like 2026-12-01T09:00:00+05:00 or 2026-12-01T09:00:00Z"
        );
    }

    #[test]
    fn impossible_dates_are_named() {
        assert_eq!(
            message(Due::parse("2026-02-30")),
            "due must be a real calendar date, and 2026-02-30 does not exist"
        );
        assert_eq!(
            message(Due::parse("2027-02-29")),
            "due must be a real calendar date, and 2027-02-29 does not exist"
        );
        assert_eq!(
            message(Due::parse("2026-13-01")),
            "due must be a real calendar date, and 2026-13-01 does not exist"
        );
        assert_eq!(
            message(Due::parse("2026-02-30T09:00:00Z")),
            "due must be a real calendar date, and 2026-02-30 does not exist"
        );
    }

    #[test]
    fn garbage_is_refused_with_the_expected_form() {
        for raw in [
            "tomorrow",
            "2026-1-05",
            "26-12-01xx",
            "2026/12/01",
            "2026-12-01T09:00Z",
            "2026-12-01T25:00:00Z",
            "2026-12-01T09:00:00+5",
            "12/01/2026",
            "+2026-12-01",
            "2026-12-01T09:00:60Z",
        ] {
            assert_eq!(
                Due::parse(raw),
                Err(DomainError::invalid(
                    "due",
                    InvalidReason::Malformed(DUE_EXPECTED)
                )),
                "{raw}"
            );
        }
        assert_eq!(
            Due::parse("  "),
            Err(DomainError::invalid("due", InvalidReason::Empty))
        );
        assert!(
            message(Due::parse("soon"))
                .starts_with("due must be a date YYYY-MM-DD or an RFC 3339 date-time")
        );
    }

    #[test]
    fn instant_fields_require_a_time_and_an_offset() {
        assert_eq!(
            parse_instant("remind_at", "2026-12-01T09:00:00+01:00").unwrap(),
            utc(2026, 12, 1, 8, 0, 0)
        );
        assert_eq!(
            parse_instant("remind_at", "2026-12-01"),
            Err(DomainError::invalid(
                "remind_at",
                InvalidReason::Malformed(INSTANT_EXPECTED)
            ))
        );
        assert_eq!(
            message(parse_instant("remind_at", "2026-12-01T09:00:00")),
            format!("remind_at {NEEDS_OFFSET}")
        );
        assert_eq!(
            parse_instant("remind_at", ""),
            Err(DomainError::invalid("remind_at", InvalidReason::Empty))
        );
        assert_eq!(
            message(parse_instant("remind_at", "2026-04-31T09:00:00Z")),
            "remind_at must be a real calendar date, and 2026-04-31 does not exist"
        );
    }

    #[test]
    fn dates_sort_at_their_midnight_utc() {
        let d = Due::Date(date(2026, 12, 1));
        assert_eq!(d.starts_at_utc(), utc(2026, 12, 1, 0, 0, 0));
        let t = Due::At(utc(2026, 12, 1, 4, 0, 0));
        assert_eq!(t.starts_at_utc(), utc(2026, 12, 1, 4, 0, 0));
        let earlier = Due::At(utc(2026, 11, 30, 23, 59, 59));
        let mut all = [t, d, earlier];
        all.sort_by_key(Due::starts_at_utc);
        assert_eq!(all, [earlier, d, t]);
    }

    #[test]
    fn a_date_is_overdue_only_after_its_day_ends_in_the_zone() {
        let due = Due::Date(date(2026, 12, 1));
        // 20:00 UTC on Dec 1 is still Dec 1 in UTC and New York, already Dec 2 in Tokyo.
        let now = utc(2026, 12, 1, 20, 0, 0);
        assert!(!due.is_overdue(now, Tz::UTC));
        assert!(due.is_due_today(now, Tz::UTC));
        assert!(!due.is_overdue(now, America::New_York));
        assert!(due.is_due_today(now, America::New_York));
        assert!(due.is_overdue(now, Asia::Tokyo));
        assert!(!due.is_due_today(now, Asia::Tokyo));
        // The day before, it is neither.
        let before = utc(2026, 11, 30, 12, 0, 0);
        assert!(!due.is_overdue(before, Tz::UTC));
        assert!(!due.is_due_today(before, Tz::UTC));
        // 03:00 UTC on Dec 2 is still Dec 1 evening in New York.
        let late = utc(2026, 12, 2, 3, 0, 0);
        assert!(due.is_overdue(late, Tz::UTC));
        assert!(!due.is_overdue(late, America::New_York));
        assert!(due.is_due_today(late, America::New_York));
    }

    #[test]
    fn an_instant_is_today_in_the_zone_of_its_local_date() {
        // 23:30 UTC on Dec 1 is 08:30 on Dec 2 in Tokyo.
        let due = Due::At(utc(2026, 12, 1, 23, 30, 0));
        let now = utc(2026, 12, 2, 0, 0, 0); // 09:00 on Dec 2 in Tokyo
        assert!(due.is_due_today(now, Asia::Tokyo));
        assert!(!due.is_due_today(now, Tz::UTC));
        // Overdue is about the instant, not the zone.
        assert!(due.is_overdue(now, Asia::Tokyo));
        assert!(due.is_overdue(now, Tz::UTC));
        assert_eq!(due.local_date(Asia::Tokyo), date(2026, 12, 2));
        assert_eq!(due.local_date(Tz::UTC), date(2026, 12, 1));

        let earlier = utc(2026, 12, 1, 23, 0, 0);
        assert!(!due.is_overdue(earlier, Tz::UTC));
        assert!(due.is_due_today(earlier, Tz::UTC));
        // Exactly at the instant it is not yet overdue.
        assert!(!due.is_overdue(utc(2026, 12, 1, 23, 30, 0), Tz::UTC));
    }

    #[test]
    fn today_follows_daylight_saving_time() {
        // 23:30 UTC on 2026-07-01 is 01:30 on July 2 in Berlin (CEST, +02:00),
        // while 22:30 UTC on 2026-01-01 is 23:30 on January 1 (CET, +01:00).
        let summer = Due::At(utc(2026, 7, 1, 23, 30, 0));
        assert_eq!(summer.local_date(Europe::Berlin), date(2026, 7, 2));
        let winter = Due::At(utc(2026, 1, 1, 22, 30, 0));
        assert_eq!(winter.local_date(Europe::Berlin), date(2026, 1, 1));
        assert!(summer.is_due_today(utc(2026, 7, 2, 12, 0, 0), Europe::Berlin));
    }
}
