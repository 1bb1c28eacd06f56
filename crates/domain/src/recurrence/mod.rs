//! How a task repeats: a recurrence rule (a subset of RFC 5545's RRULE), parsed, printed
//! and stepped to the next occurrence.

use std::fmt;

use chrono::{Datelike, NaiveDate, NaiveTime, Weekday};
use chrono_tz::Tz;

use crate::due::Due;
use crate::error::{DomainError, InvalidReason};
use crate::time::Timestamp;

mod next;

const FIELD: &str = "recurrence";

fn detail(text: impl Into<String>) -> DomainError {
    DomainError::invalid(FIELD, InvalidReason::Detail(text.into()))
}

/// How often a rule repeats: RFC 5545 `FREQ`, without the sub-daily frequencies.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Frequency {
    Daily,
    Weekly,
    Monthly,
    Yearly,
}

impl Frequency {
    #[must_use]
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Daily => "DAILY",
            Self::Weekly => "WEEKLY",
            Self::Monthly => "MONTHLY",
            Self::Yearly => "YEARLY",
        }
    }

    fn parse(value: &str) -> Result<Self, DomainError> {
        match value {
            "DAILY" => Ok(Self::Daily),
            "WEEKLY" => Ok(Self::Weekly),
            "MONTHLY" => Ok(Self::Monthly),
            "YEARLY" => Ok(Self::Yearly),
            _ => Err(detail(format!(
                "has unsupported FREQ={value}; it must be DAILY, WEEKLY, MONTHLY or YEARLY"
            ))),
        }
    }

    /// How many periods `next_after` looks through before it gives up. A YEARLY rule repeats
    /// its pattern within 400 years (the Gregorian cycle), so 400 years is exhaustive for it;
    /// the others reach decades ahead, far beyond any rule a person means.
    const fn max_periods(self) -> u64 {
        match self {
            Self::Daily => 10_000,
            Self::Weekly | Self::Monthly => 1_000,
            Self::Yearly => 400,
        }
    }

    /// The largest ordinal a `BYDAY` value such as `-1FR` may have, if any is allowed.
    const fn max_ordinal(self) -> Option<i8> {
        match self {
            Self::Daily | Self::Weekly => None,
            Self::Monthly => Some(5),
            Self::Yearly => Some(53),
        }
    }
}

impl fmt::Display for Frequency {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

const WEEKDAYS: [(&str, Weekday); 7] = [
    ("MO", Weekday::Mon),
    ("TU", Weekday::Tue),
    ("WE", Weekday::Wed),
    ("TH", Weekday::Thu),
    ("FR", Weekday::Fri),
    ("SA", Weekday::Sat),
    ("SU", Weekday::Sun),
];

fn weekday_code(weekday: Weekday) -> &'static str {
    WEEKDAYS
        .iter()
        .find(|(_, w)| *w == weekday)
        .map_or("MO", |(code, _)| code)
}

/// One `BYDAY` value: a weekday, optionally with an ordinal (`1MO` is the first Monday of the
/// month or year, `-1FR` the last Friday). Ordinals exist only in MONTHLY (±1..5) and
/// YEARLY (±1..53) rules.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct ByDay {
    ordinal: Option<i8>,
    weekday: Weekday,
}

impl ByDay {
    #[must_use]
    pub const fn weekday(self) -> Weekday {
        self.weekday
    }

    #[must_use]
    pub const fn ordinal(self) -> Option<i8> {
        self.ordinal
    }

    fn parse(item: &str, freq: Frequency) -> Result<Self, DomainError> {
        let malformed = || {
            detail(format!(
                "has BYDAY value {item}; expected MO, TU, WE, TH, FR, SA or SU, \
                 in MONTHLY and YEARLY rules optionally with an ordinal like 1MO or -1FR"
            ))
        };
        let split = item.len().checked_sub(2).ok_or_else(malformed)?;
        let (prefix, code) = (
            item.get(..split).ok_or_else(malformed)?,
            item.get(split..).ok_or_else(malformed)?,
        );
        let weekday = WEEKDAYS
            .iter()
            .find(|(c, _)| *c == code)
            .map(|(_, w)| *w)
            .ok_or_else(malformed)?;
        if prefix.is_empty() {
            return Ok(Self {
                ordinal: None,
                weekday,
            });
        }
        let n = whole_number(prefix, true).ok_or_else(malformed)?;
        let Some(max) = freq.max_ordinal() else {
            return Err(detail(format!(
                "has BYDAY value {item} with an ordinal, which only FREQ=MONTHLY and \
                 FREQ=YEARLY allow"
            )));
        };
        match i8::try_from(n) {
            Ok(ordinal) if ordinal != 0 && ordinal.abs() <= max => Ok(Self {
                ordinal: Some(ordinal),
                weekday,
            }),
            _ => Err(detail(format!(
                "has BYDAY value {item} with ordinal {prefix} out of range 1..{max} or \
                 -{max}..-1 for FREQ={freq}"
            ))),
        }
    }

    fn sort_key(self) -> (u32, i8) {
        (
            self.weekday.num_days_from_monday(),
            self.ordinal.unwrap_or(0),
        )
    }

    /// Whether `day` is this weekday and, with an ordinal, its n-th (or n-th last) occurrence
    /// within a span of `len` days in which `day` has the 0-based position `index0`.
    fn matches_in(self, day: NaiveDate, index0: u32, len: u32) -> bool {
        if day.weekday() != self.weekday {
            return false;
        }
        match self.ordinal {
            None => true,
            Some(n) if n > 0 => i64::from(index0 / 7 + 1) == i64::from(n),
            Some(n) => i64::from(len.saturating_sub(index0 + 1) / 7 + 1) == -i64::from(n),
        }
    }
}

impl fmt::Display for ByDay {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if let Some(n) = self.ordinal {
            write!(f, "{n}")?;
        }
        f.write_str(weekday_code(self.weekday))
    }
}

/// The inclusive end of a rule (`UNTIL`): a date, or an instant in UTC (whole seconds).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Until {
    Date(NaiveDate),
    At(Timestamp),
}

impl Until {
    fn parse(value: &str) -> Result<Self, DomainError> {
        let malformed = || {
            detail(format!(
                "has UNTIL value {value}; expected a date YYYYMMDD or a UTC date-time \
                 YYYYMMDDTHHMMSSZ"
            ))
        };
        let not_real = || {
            detail(format!(
                "has UNTIL value {value}, which is not a real calendar date and time"
            ))
        };
        let digits = |range: std::ops::Range<usize>| -> Result<u32, DomainError> {
            let text = value.get(range).ok_or_else(malformed)?;
            if text.bytes().all(|b| b.is_ascii_digit()) {
                text.parse().map_err(|_| malformed())
            } else {
                Err(malformed())
            }
        };
        let year = i32::try_from(digits(0..4)?).map_err(|_| malformed())?;
        let date =
            || NaiveDate::from_ymd_opt(year, digits(4..6)?, digits(6..8)?).ok_or_else(not_real);
        match value.len() {
            8 => Ok(Self::Date(date()?)),
            15 | 16 if value.get(8..9) == Some("T") => {
                if value.get(15..) != Some("Z") {
                    return Err(detail(format!(
                        "has UNTIL value {value}; a date-time must be in UTC, ending in Z \
                         (YYYYMMDDTHHMMSSZ)"
                    )));
                }
                let (hour, minute, second) = (digits(9..11)?, digits(11..13)?, digits(13..15)?);
                let time = NaiveTime::from_hms_opt(hour, minute, second).ok_or_else(not_real)?;
                Ok(Self::At(date()?.and_time(time).and_utc()))
            }
            _ => Err(malformed()),
        }
    }

    /// The last local date (in `tz`) that the rule may reach.
    fn last_date(self, tz: Tz) -> NaiveDate {
        match self {
            Self::Date(date) => date,
            Self::At(t) => t.with_timezone(&tz).date_naive(),
        }
    }

    /// UNTIL is inclusive. A date UNTIL compares with the occurrence's local date in `tz`.
    fn admits(self, next: &Due, tz: Tz) -> bool {
        match (self, next) {
            (Self::At(until), Due::At(t)) => *t <= until,
            (until, next) => next.local_date(tz) <= until.last_date(tz),
        }
    }
}

impl fmt::Display for Until {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Date(date) => write!(f, "{}", date.format("%Y%m%d")),
            Self::At(t) => write!(f, "{}", t.format("%Y%m%dT%H%M%SZ")),
        }
    }
}

/// A repetition rule: the subset of an RFC 5545 `RRULE` that a task list needs.
///
/// Parts: `FREQ` (DAILY, WEEKLY, MONTHLY, YEARLY; required), `INTERVAL` (1..1000), `BYDAY`,
/// `BYMONTHDAY` (1..31, -31..-1), `COUNT` (1..10000) or `UNTIL`, and `WKST=MO` (weeks
/// always start on Monday). Keys and values are case-insensitive; a leading `RRULE:` is
/// allowed. The `Display` form is canonical (upper case, fixed part order, sorted lists,
/// `INTERVAL=1` left out) and parses back to an equal value: it is what gets stored.
///
/// Where the rule leaves something open, it comes from the current occurrence, as RFC 5545
/// takes it from `DTSTART`: the weekday of a WEEKLY rule without `BYDAY`, the day of month
/// of a MONTHLY rule without `BYDAY`/`BYMONTHDAY`, the month (and day) of a YEARLY rule
/// without `BYDAY`. A YEARLY rule with `BYDAY` and no `BYMONTHDAY` ranges over the whole
/// year (`BYDAY=20MO` is the 20th Monday of the year).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Recurrence {
    freq: Frequency,
    interval: u32,
    by_day: Vec<ByDay>,
    by_month_day: Vec<i8>,
    count: Option<u32>,
    until: Option<Until>,
}

/// The raw values of the parts, each seen at most once.
#[derive(Default)]
struct Parts<'a> {
    freq: Option<&'a str>,
    interval: Option<&'a str>,
    by_day: Option<&'a str>,
    by_month_day: Option<&'a str>,
    count: Option<&'a str>,
    until: Option<&'a str>,
    wkst: Option<&'a str>,
}

impl<'a> Parts<'a> {
    fn split(body: &'a str) -> Result<Self, DomainError> {
        let mut parts = Self::default();
        for part in body.split(';') {
            let part = part.trim();
            if part.is_empty() {
                return Err(detail(
                    "has an empty part (two ';' in a row, or one at an end)",
                ));
            }
            let Some((key, value)) = part.split_once('=') else {
                return Err(detail(format!("has a part without '=': {part}")));
            };
            let (key, value) = (key.trim(), value.trim());
            let slot = match key {
                "FREQ" => &mut parts.freq,
                "INTERVAL" => &mut parts.interval,
                "BYDAY" => &mut parts.by_day,
                "BYMONTHDAY" => &mut parts.by_month_day,
                "COUNT" => &mut parts.count,
                "UNTIL" => &mut parts.until,
                "WKST" => &mut parts.wkst,
                "" => return Err(detail(format!("has a part without a name: {part}"))),
                _ => return Err(detail(format!("has unsupported part {key}"))),
            };
            if slot.is_some() {
                return Err(detail(format!("has {key} more than once")));
            }
            if value.is_empty() {
                return Err(detail(format!("has an empty {key} value")));
            }
            *slot = Some(value);
        }
        Ok(parts)
    }
}

impl Recurrence {
    pub const MAX_CHARS: usize = 500;
    pub const MAX_INTERVAL: u32 = 1000;
    pub const MAX_COUNT: u32 = 10_000;

    /// Parses an RRULE value, with or without the `RRULE:` prefix.
    ///
    /// # Errors
    ///
    /// `DomainError::Invalid` for field `recurrence`: `Empty`, `TooLong` (over 500
    /// characters), `ControlCharacter`, or a `Detail` naming the exact problem (a missing
    /// FREQ, an unsupported or repeated part, an empty or out-of-range value, COUNT together
    /// with UNTIL, ...).
    pub fn parse(raw: &str) -> Result<Self, DomainError> {
        let bad = |reason| Err(DomainError::invalid(FIELD, reason));
        let text = raw.trim();
        if text.is_empty() {
            return bad(InvalidReason::Empty);
        }
        if text.chars().count() > Self::MAX_CHARS {
            return bad(InvalidReason::TooLong {
                max: Self::MAX_CHARS,
            });
        }
        if text.chars().any(char::is_control) {
            return bad(InvalidReason::ControlCharacter);
        }
        let upper = text.to_ascii_uppercase();
        let body = upper.strip_prefix("RRULE:").unwrap_or(&upper).trim();
        let parts = if body.is_empty() {
            Parts::default()
        } else {
            Parts::split(body)?
        };

        let Some(freq) = parts.freq else {
            return Err(detail(
                "must have a FREQ part: FREQ=DAILY, WEEKLY, MONTHLY or YEARLY",
            ));
        };
        let freq = Frequency::parse(freq)?;
        let interval = match parts.interval {
            None => 1,
            Some(value) => bounded("INTERVAL", value, 1, Self::MAX_INTERVAL)?,
        };
        let mut by_day = match parts.by_day {
            None => Vec::new(),
            Some(value) => list("BYDAY", value)?
                .into_iter()
                .map(|item| ByDay::parse(item, freq))
                .collect::<Result<Vec<_>, _>>()?,
        };
        by_day.sort_by_key(|b| b.sort_key());
        by_day.dedup();
        let mut by_month_day = match parts.by_month_day {
            None => Vec::new(),
            Some(value) => list("BYMONTHDAY", value)?
                .into_iter()
                .map(month_day)
                .collect::<Result<Vec<_>, _>>()?,
        };
        by_month_day.sort_unstable();
        by_month_day.dedup();
        if freq == Frequency::Weekly && !by_month_day.is_empty() {
            return Err(detail("must not have BYMONTHDAY with FREQ=WEEKLY"));
        }
        let count = parts
            .count
            .map(|value| bounded("COUNT", value, 1, Self::MAX_COUNT))
            .transpose()?;
        let until = parts.until.map(Until::parse).transpose()?;
        if count.is_some() && until.is_some() {
            return Err(detail("must not have both COUNT and UNTIL"));
        }
        if let Some(wkst) = parts.wkst
            && wkst != "MO"
        {
            return Err(detail(format!(
                "has WKST={wkst}; only WKST=MO (weeks start on Monday) is supported"
            )));
        }
        Ok(Self {
            freq,
            interval,
            by_day,
            by_month_day,
            count,
            until,
        })
    }

    #[must_use]
    pub const fn freq(&self) -> Frequency {
        self.freq
    }

    #[must_use]
    pub const fn interval(&self) -> u32 {
        self.interval
    }

    /// Sorted by weekday (Monday first), then ordinal; no duplicates.
    #[must_use]
    pub fn by_day(&self) -> &[ByDay] {
        &self.by_day
    }

    /// Sorted ascending (negative values first); no duplicates.
    #[must_use]
    pub fn by_month_day(&self) -> &[i8] {
        &self.by_month_day
    }

    /// How many occurrences the whole series has, counting the first.
    #[must_use]
    pub const fn count(&self) -> Option<u32> {
        self.count
    }

    #[must_use]
    pub const fn until(&self) -> Option<Until> {
        self.until
    }
}

impl fmt::Display for Recurrence {
    /// The canonical RRULE value, without the `RRULE:` prefix.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "FREQ={}", self.freq)?;
        if self.interval != 1 {
            write!(f, ";INTERVAL={}", self.interval)?;
        }
        if !self.by_day.is_empty() {
            f.write_str(";BYDAY=")?;
            for (i, by_day) in self.by_day.iter().enumerate() {
                if i > 0 {
                    f.write_str(",")?;
                }
                write!(f, "{by_day}")?;
            }
        }
        if !self.by_month_day.is_empty() {
            f.write_str(";BYMONTHDAY=")?;
            for (i, n) in self.by_month_day.iter().enumerate() {
                if i > 0 {
                    f.write_str(",")?;
                }
                write!(f, "{n}")?;
            }
        }
        if let Some(count) = self.count {
            write!(f, ";COUNT={count}")?;
        }
        if let Some(until) = self.until {
            write!(f, ";UNTIL={until}")?;
        }
        Ok(())
    }
}

/// A comma list without empty items.
fn list<'a>(key: &str, value: &'a str) -> Result<Vec<&'a str>, DomainError> {
    value
        .split(',')
        .map(|item| {
            let item = item.trim();
            if item.is_empty() {
                Err(detail(format!("has an empty item in its {key} list")))
            } else {
                Ok(item)
            }
        })
        .collect()
}

/// A whole number, with an optional sign only where `signed`. Numbers too large for `i64`
/// saturate, which is still out of every range.
fn whole_number(text: &str, signed: bool) -> Option<i64> {
    let (negative, digits) = match (signed, text.strip_prefix('-'), text.strip_prefix('+')) {
        (true, Some(rest), _) => (true, rest),
        (true, None, Some(rest)) => (false, rest),
        _ => (false, text),
    };
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let magnitude = digits.bytes().fold(0_i64, |n, b| {
        n.saturating_mul(10).saturating_add(i64::from(b - b'0'))
    });
    Some(if negative { -magnitude } else { magnitude })
}

fn bounded(key: &str, value: &str, min: u32, max: u32) -> Result<u32, DomainError> {
    let n = whole_number(value, false).ok_or_else(|| {
        detail(format!(
            "has {key} value {value}, which is not a whole number"
        ))
    })?;
    u32::try_from(n)
        .ok()
        .filter(|n| (min..=max).contains(n))
        .ok_or_else(|| detail(format!("has {key} value {value} out of range {min}..{max}")))
}

fn month_day(item: &str) -> Result<i8, DomainError> {
    let n = whole_number(item, true).ok_or_else(|| {
        detail(format!(
            "has BYMONTHDAY value {item}, which is not a whole number"
        ))
    })?;
    i8::try_from(n)
        .ok()
        .filter(|n| *n != 0 && (-31..=31).contains(n))
        .ok_or_else(|| {
            detail(format!(
                "has BYMONTHDAY value {item} out of range 1..31 or -31..-1"
            ))
        })
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use chrono::{NaiveDateTime, TimeZone};
    use chrono_tz::{America, Asia, Europe, Pacific};

    fn rule(raw: &str) -> Recurrence {
        Recurrence::parse(raw).unwrap()
    }

    fn error(raw: &str) -> String {
        Recurrence::parse(raw).unwrap_err().to_string()
    }

    fn date(raw: &str) -> Due {
        Due::parse(raw).unwrap()
    }

    /// Up to `max` occurrences after `start` (the first of the series), in the series' order.
    fn series(raw: &str, start: Due, tz: Tz, max: usize) -> Vec<Due> {
        let rule = rule(raw);
        let mut out = Vec::new();
        let mut current = start;
        let mut completed = 1;
        while out.len() < max {
            let Some(next) = rule.next_after(&current, completed, tz) else {
                break;
            };
            assert!(
                next.starts_at_utc() > current.starts_at_utc(),
                "{raw}: {next} is not after {current}"
            );
            out.push(next);
            current = next;
            completed += 1;
        }
        out
    }

    /// The next `max` all-day occurrences after the date `start`, as `YYYY-MM-DD`.
    fn dates(raw: &str, start: &str, max: usize) -> Vec<String> {
        series(raw, date(start), Tz::UTC, max)
            .iter()
            .map(ToString::to_string)
            .collect()
    }

    /// The instant of a local wall-clock time, which must exist exactly once in `tz`.
    fn local(tz: Tz, raw: &str) -> Due {
        let naive = NaiveDateTime::parse_from_str(raw, "%Y-%m-%dT%H:%M").unwrap();
        Due::At(tz.from_local_datetime(&naive).single().unwrap().to_utc())
    }

    /// The next `max` occurrences after the local time `start` in `tz`, as local times with
    /// their offsets.
    fn local_times(raw: &str, tz: Tz, start: &str, max: usize) -> Vec<String> {
        series(raw, local(tz, start), tz, max)
            .iter()
            .map(|due| {
                let Due::At(t) = due else {
                    panic!("an instant series yields instants");
                };
                t.with_timezone(&tz).format("%Y-%m-%dT%H:%M%:z").to_string()
            })
            .collect()
    }

    // ---- parsing -------------------------------------------------------------------------

    #[test]
    fn a_minimal_rule_parses() {
        let r = rule("FREQ=DAILY");
        assert_eq!(r.freq(), Frequency::Daily);
        assert_eq!(r.interval(), 1);
        assert!(r.by_day().is_empty());
        assert!(r.by_month_day().is_empty());
        assert_eq!(r.count(), None);
        assert_eq!(r.until(), None);
        assert_eq!(r.to_string(), "FREQ=DAILY");
    }

    #[test]
    fn keys_and_values_are_case_insensitive_and_the_prefix_is_optional() {
        let r = rule("rrule:freq=weekly;byday=fr,mo,We;interval=2");
        assert_eq!(r, rule("RRULE:FREQ=WEEKLY;INTERVAL=2;BYDAY=MO,WE,FR"));
        assert_eq!(r, rule("FREQ=WEEKLY;INTERVAL=2;BYDAY=MO,WE,FR"));
        assert_eq!(r.to_string(), "FREQ=WEEKLY;INTERVAL=2;BYDAY=MO,WE,FR");
        assert_eq!(
            r.by_day().iter().map(|b| b.weekday()).collect::<Vec<_>>(),
            [Weekday::Mon, Weekday::Wed, Weekday::Fri]
        );
        assert_eq!(
            rule("  FREQ = DAILY ; COUNT = 3  ").to_string(),
            "FREQ=DAILY;COUNT=3"
        );
    }

    #[test]
    fn the_display_form_is_canonical() {
        for (raw, canonical) in [
            (
                "COUNT=5;BYMONTHDAY=31;INTERVAL=2;FREQ=MONTHLY",
                "FREQ=MONTHLY;INTERVAL=2;BYMONTHDAY=31;COUNT=5",
            ),
            ("FREQ=DAILY;INTERVAL=1", "FREQ=DAILY"),
            (
                "FREQ=WEEKLY;BYDAY=SU,MO,MO,SA;WKST=MO",
                "FREQ=WEEKLY;BYDAY=MO,SA,SU",
            ),
            (
                "FREQ=MONTHLY;BYMONTHDAY=15,-1,1,+15",
                "FREQ=MONTHLY;BYMONTHDAY=-1,1,15",
            ),
            (
                "FREQ=MONTHLY;BYDAY=-1FR,+2MO,1MO",
                "FREQ=MONTHLY;BYDAY=1MO,2MO,-1FR",
            ),
            ("FREQ=YEARLY;UNTIL=20301231", "FREQ=YEARLY;UNTIL=20301231"),
            (
                "freq=daily;until=20301231t235959z",
                "FREQ=DAILY;UNTIL=20301231T235959Z",
            ),
            (
                "FREQ=MONTHLY;BYDAY=FR;BYMONTHDAY=13",
                "FREQ=MONTHLY;BYDAY=FR;BYMONTHDAY=13",
            ),
            (
                "FREQ=YEARLY;BYDAY=20MO,-53SU",
                "FREQ=YEARLY;BYDAY=20MO,-53SU",
            ),
        ] {
            let r = rule(raw);
            assert_eq!(r.to_string(), canonical, "{raw}");
            // The canonical form parses back to the same value and prints the same.
            let again = rule(&r.to_string());
            assert_eq!(again, r, "{raw}");
            assert_eq!(again.to_string(), canonical, "{raw}");
        }
    }

    #[test]
    fn parts_are_exposed() {
        let r = rule("FREQ=MONTHLY;INTERVAL=3;BYDAY=-1FR,MO;BYMONTHDAY=-1,31;COUNT=7");
        assert_eq!(r.freq(), Frequency::Monthly);
        assert_eq!(r.interval(), 3);
        let [monday, last_friday] = r.by_day() else {
            panic!("two BYDAY values");
        };
        assert_eq!(monday.weekday(), Weekday::Mon);
        assert_eq!(monday.ordinal(), None);
        assert_eq!(last_friday.weekday(), Weekday::Fri);
        assert_eq!(last_friday.ordinal(), Some(-1));
        assert_eq!(last_friday.to_string(), "-1FR");
        assert_eq!(r.by_month_day(), [-1, 31]);
        assert_eq!(r.count(), Some(7));
        let r = rule("FREQ=DAILY;UNTIL=20261231T120000Z");
        assert_eq!(
            r.until(),
            Some(Until::At(
                NaiveDate::from_ymd_opt(2026, 12, 31)
                    .unwrap()
                    .and_hms_opt(12, 0, 0)
                    .unwrap()
                    .and_utc()
            ))
        );
    }

    #[test]
    fn limits_are_inclusive() {
        assert_eq!(rule("FREQ=DAILY;INTERVAL=1000").interval(), 1000);
        assert_eq!(rule("FREQ=DAILY;COUNT=10000").count(), Some(10_000));
        assert_eq!(rule("FREQ=DAILY;COUNT=1").count(), Some(1));
        assert_eq!(
            rule("FREQ=MONTHLY;BYMONTHDAY=-31,31").by_month_day(),
            [-31, 31]
        );
        assert!(Recurrence::parse("FREQ=MONTHLY;BYDAY=5MO,-5SU").is_ok());
        assert!(Recurrence::parse("FREQ=YEARLY;BYDAY=53MO,-53SU").is_ok());
        // 500 characters, with leading zeros that the canonical form drops.
        let long = format!("FREQ=DAILY;INTERVAL={}2", "0".repeat(479));
        assert_eq!(long.len(), 500);
        assert_eq!(rule(&long).to_string(), "FREQ=DAILY;INTERVAL=2");
    }

    #[test]
    fn parse_errors_name_the_problem() {
        for (raw, message) in [
            (
                "INTERVAL=2",
                "recurrence must have a FREQ part: FREQ=DAILY, WEEKLY, MONTHLY or YEARLY",
            ),
            (
                "RRULE:",
                "recurrence must have a FREQ part: FREQ=DAILY, WEEKLY, MONTHLY or YEARLY",
            ),
            (
                "FREQ=HOURLY",
                "recurrence has unsupported FREQ=HOURLY; it must be DAILY, WEEKLY, MONTHLY or YEARLY",
            ),
            (
                "FREQ=SOMETIMES",
                "recurrence has unsupported FREQ=SOMETIMES; it must be DAILY, WEEKLY, MONTHLY or YEARLY",
            ),
            (
                "FREQ=MONTHLY;BYSETPOS=-1",
                "recurrence has unsupported part BYSETPOS",
            ),
            (
                "FREQ=DAILY;BYHOUR=9",
                "recurrence has unsupported part BYHOUR",
            ),
            (
                "FREQ=YEARLY;BYMONTH=2",
                "recurrence has unsupported part BYMONTH",
            ),
            (
                "FREQ=DAILY;X-NAME=1",
                "recurrence has unsupported part X-NAME",
            ),
            ("FREQ=DAILY;=1", "recurrence has a part without a name: =1"),
            (
                "FREQ=DAILY;COUNT",
                "recurrence has a part without '=': COUNT",
            ),
            (
                "FREQ=DAILY;FREQ=WEEKLY",
                "recurrence has FREQ more than once",
            ),
            (
                "FREQ=DAILY;COUNT=2;COUNT=3",
                "recurrence has COUNT more than once",
            ),
            (
                "FREQ=DAILY;",
                "recurrence has an empty part (two ';' in a row, or one at an end)",
            ),
            (
                "FREQ=DAILY;;COUNT=2",
                "recurrence has an empty part (two ';' in a row, or one at an end)",
            ),
            ("FREQ=", "recurrence has an empty FREQ value"),
            ("FREQ=WEEKLY;BYDAY=", "recurrence has an empty BYDAY value"),
            (
                "FREQ=WEEKLY;BYDAY=MO,,FR",
                "recurrence has an empty item in its BYDAY list",
            ),
            (
                "FREQ=MONTHLY;BYMONTHDAY=1,",
                "recurrence has an empty item in its BYMONTHDAY list",
            ),
            (
                "FREQ=DAILY;INTERVAL=0",
                "recurrence has INTERVAL value 0 out of range 1..1000",
            ),
            (
                "FREQ=DAILY;INTERVAL=1001",
                "recurrence has INTERVAL value 1001 out of range 1..1000",
            ),
            (
                "FREQ=DAILY;INTERVAL=99999999999999999999999",
                "recurrence has INTERVAL value 99999999999999999999999 out of range 1..1000",
            ),
            (
                "FREQ=DAILY;INTERVAL=-1",
                "recurrence has INTERVAL value -1, which is not a whole number",
            ),
            (
                "FREQ=DAILY;INTERVAL=two",
                "recurrence has INTERVAL value TWO, which is not a whole number",
            ),
            (
                "FREQ=DAILY;COUNT=0",
                "recurrence has COUNT value 0 out of range 1..10000",
            ),
            (
                "FREQ=DAILY;COUNT=10001",
                "recurrence has COUNT value 10001 out of range 1..10000",
            ),
            (
                "FREQ=MONTHLY;BYMONTHDAY=32",
                "recurrence has BYMONTHDAY value 32 out of range 1..31 or -31..-1",
            ),
            (
                "FREQ=MONTHLY;BYMONTHDAY=0",
                "recurrence has BYMONTHDAY value 0 out of range 1..31 or -31..-1",
            ),
            (
                "FREQ=MONTHLY;BYMONTHDAY=1,-32",
                "recurrence has BYMONTHDAY value -32 out of range 1..31 or -31..-1",
            ),
            (
                "FREQ=MONTHLY;BYMONTHDAY=1.5",
                "recurrence has BYMONTHDAY value 1.5, which is not a whole number",
            ),
            (
                "FREQ=WEEKLY;BYMONTHDAY=1",
                "recurrence must not have BYMONTHDAY with FREQ=WEEKLY",
            ),
            (
                "FREQ=WEEKLY;BYDAY=XX",
                "recurrence has BYDAY value XX; expected MO, TU, WE, TH, FR, SA or SU, in MONTHLY and YEARLY rules optionally with an ordinal like 1MO or -1FR",
            ),
            (
                "FREQ=WEEKLY;BYDAY=M",
                "recurrence has BYDAY value M; expected MO, TU, WE, TH, FR, SA or SU, in MONTHLY and YEARLY rules optionally with an ordinal like 1MO or -1FR",
            ),
            (
                "FREQ=MONTHLY;BYDAY=FIRSTMO",
                "recurrence has BYDAY value FIRSTMO; expected MO, TU, WE, TH, FR, SA or SU, in MONTHLY and YEARLY rules optionally with an ordinal like 1MO or -1FR",
            ),
            (
                "FREQ=MONTHLY;BYDAY=MONDAY",
                "recurrence has BYDAY value MONDAY; expected MO, TU, WE, TH, FR, SA or SU, in MONTHLY and YEARLY rules optionally with an ordinal like 1MO or -1FR",
            ),
            (
                "FREQ=WEEKLY;BYDAY=1MO",
                "recurrence has BYDAY value 1MO with an ordinal, which only FREQ=MONTHLY and FREQ=YEARLY allow",
            ),
            (
                "FREQ=DAILY;BYDAY=-1FR",
                "recurrence has BYDAY value -1FR with an ordinal, which only FREQ=MONTHLY and FREQ=YEARLY allow",
            ),
            (
                "FREQ=MONTHLY;BYDAY=6MO",
                "recurrence has BYDAY value 6MO with ordinal 6 out of range 1..5 or -5..-1 for FREQ=MONTHLY",
            ),
            (
                "FREQ=MONTHLY;BYDAY=0MO",
                "recurrence has BYDAY value 0MO with ordinal 0 out of range 1..5 or -5..-1 for FREQ=MONTHLY",
            ),
            (
                "FREQ=YEARLY;BYDAY=-54FR",
                "recurrence has BYDAY value -54FR with ordinal -54 out of range 1..53 or -53..-1 for FREQ=YEARLY",
            ),
            (
                "FREQ=DAILY;COUNT=3;UNTIL=20261231",
                "recurrence must not have both COUNT and UNTIL",
            ),
            (
                "FREQ=DAILY;UNTIL=2026-12-31",
                "recurrence has UNTIL value 2026-12-31; expected a date YYYYMMDD or a UTC date-time YYYYMMDDTHHMMSSZ",
            ),
            (
                "FREQ=DAILY;UNTIL=20261231T09Z",
                "recurrence has UNTIL value 20261231T09Z; expected a date YYYYMMDD or a UTC date-time YYYYMMDDTHHMMSSZ",
            ),
            (
                "FREQ=DAILY;UNTIL=20260230",
                "recurrence has UNTIL value 20260230, which is not a real calendar date and time",
            ),
            (
                "FREQ=DAILY;UNTIL=20261231T250000Z",
                "recurrence has UNTIL value 20261231T250000Z, which is not a real calendar date and time",
            ),
            (
                "FREQ=DAILY;UNTIL=20261231T090000",
                "recurrence has UNTIL value 20261231T090000; a date-time must be in UTC, ending in Z (YYYYMMDDTHHMMSSZ)",
            ),
            (
                "FREQ=WEEKLY;WKST=SU",
                "recurrence has WKST=SU; only WKST=MO (weeks start on Monday) is supported",
            ),
            ("", "recurrence must not be empty"),
            ("   ", "recurrence must not be empty"),
            (
                "FREQ=DAILY;\nCOUNT=2",
                "recurrence must not contain control characters",
            ),
        ] {
            assert_eq!(error(raw), message, "{raw:?}");
        }
        let too_long = format!("FREQ=DAILY;INTERVAL={}2", "0".repeat(480));
        assert_eq!(
            error(&too_long),
            "recurrence must be at most 500 characters long"
        );
    }

    #[test]
    fn errors_are_invalid_field_errors() {
        assert_eq!(
            Recurrence::parse("FREQ=DAILY;BYSETPOS=1"),
            Err(DomainError::invalid(
                "recurrence",
                InvalidReason::Detail("has unsupported part BYSETPOS".to_owned())
            ))
        );
    }

    // ---- daily and weekly ----------------------------------------------------------------

    #[test]
    fn daily_with_an_interval() {
        assert_eq!(
            dates("FREQ=DAILY", "2026-12-30", 3),
            ["2026-12-31", "2027-01-01", "2027-01-02"]
        );
        assert_eq!(
            dates("FREQ=DAILY;INTERVAL=3", "2028-02-27", 3),
            ["2028-03-01", "2028-03-04", "2028-03-07"]
        );
    }

    #[test]
    fn daily_limited_by_weekday_and_month_day() {
        // 2026-01-09 is a Friday: working days skip the weekend.
        assert_eq!(
            dates("FREQ=DAILY;BYDAY=MO,TU,WE,TH,FR", "2026-01-09", 3),
            ["2026-01-12", "2026-01-13", "2026-01-14"]
        );
        assert_eq!(
            dates("FREQ=DAILY;BYMONTHDAY=1,-1", "2026-01-15", 4),
            ["2026-01-31", "2026-02-01", "2026-02-28", "2026-03-01"]
        );
    }

    #[test]
    fn weekly_keeps_the_weekday() {
        // 2026-01-07 is a Wednesday.
        assert_eq!(
            dates("FREQ=WEEKLY", "2026-01-07", 3),
            ["2026-01-14", "2026-01-21", "2026-01-28"]
        );
        assert_eq!(
            dates("FREQ=WEEKLY;INTERVAL=3", "2026-01-07", 2),
            ["2026-01-28", "2026-02-18"]
        );
    }

    #[test]
    fn weekly_on_several_days_every_other_week() {
        // 2026-01-05 is a Monday; weeks start on Monday.
        assert_eq!(
            dates("FREQ=WEEKLY;INTERVAL=2;BYDAY=MO,WE,FR", "2026-01-05", 7),
            [
                "2026-01-07",
                "2026-01-09",
                "2026-01-19",
                "2026-01-21",
                "2026-01-23",
                "2026-02-02",
                "2026-02-04",
            ]
        );
        // From a Sunday, a later Monday of the *same* week does not exist: the next period
        // is two weeks on. 2026-01-11 is a Sunday in the week of 2026-01-05.
        assert_eq!(
            dates("FREQ=WEEKLY;INTERVAL=2;BYDAY=MO,SU", "2026-01-11", 3),
            ["2026-01-19", "2026-01-25", "2026-02-02"]
        );
    }

    #[test]
    fn a_start_off_the_rule_moves_to_the_next_listed_day() {
        // 2026-01-07 is a Wednesday; the rule is Mondays.
        assert_eq!(
            dates("FREQ=WEEKLY;BYDAY=MO", "2026-01-07", 2),
            ["2026-01-12", "2026-01-19"]
        );
    }

    // ---- monthly -------------------------------------------------------------------------

    #[test]
    fn monthly_on_the_31st_skips_shorter_months() {
        assert_eq!(
            dates("FREQ=MONTHLY", "2026-01-31", 6),
            [
                "2026-03-31",
                "2026-05-31",
                "2026-07-31",
                "2026-08-31",
                "2026-10-31",
                "2026-12-31",
            ]
        );
        assert_eq!(
            dates("FREQ=MONTHLY;BYMONTHDAY=31", "2026-01-31", 2),
            ["2026-03-31", "2026-05-31"]
        );
        // The 30th skips February only.
        assert_eq!(
            dates("FREQ=MONTHLY", "2026-01-30", 2),
            ["2026-03-30", "2026-04-30"]
        );
        // With an interval the skipped months count: every other month from January 31.
        assert_eq!(
            dates("FREQ=MONTHLY;INTERVAL=2", "2026-01-31", 3),
            ["2026-03-31", "2026-05-31", "2026-07-31"]
        );
    }

    #[test]
    fn monthly_on_the_last_day() {
        assert_eq!(
            dates("FREQ=MONTHLY;BYMONTHDAY=-1", "2026-01-31", 4),
            ["2026-02-28", "2026-03-31", "2026-04-30", "2026-05-31"]
        );
        assert_eq!(
            dates("FREQ=MONTHLY;BYMONTHDAY=-1", "2028-01-31", 2),
            ["2028-02-29", "2028-03-31"]
        );
        // Two days before the end.
        assert_eq!(
            dates("FREQ=MONTHLY;BYMONTHDAY=-3", "2028-01-29", 2),
            ["2028-02-27", "2028-03-29"]
        );
    }

    #[test]
    fn monthly_on_several_days() {
        assert_eq!(
            dates("FREQ=MONTHLY;BYMONTHDAY=1,15", "2026-01-10", 3),
            ["2026-01-15", "2026-02-01", "2026-02-15"]
        );
    }

    #[test]
    fn monthly_on_the_last_friday() {
        assert_eq!(
            dates("FREQ=MONTHLY;BYDAY=-1FR", "2026-01-30", 4),
            ["2026-02-27", "2026-03-27", "2026-04-24", "2026-05-29"]
        );
        // The second Tuesday.
        assert_eq!(
            dates("FREQ=MONTHLY;BYDAY=2TU", "2026-01-13", 3),
            ["2026-02-10", "2026-03-10", "2026-04-14"]
        );
    }

    #[test]
    fn monthly_on_a_weekday_without_ordinal_is_every_such_day() {
        // 2026-01-26 is the last Monday of January.
        assert_eq!(
            dates("FREQ=MONTHLY;BYDAY=MO", "2026-01-26", 5),
            [
                "2026-02-02",
                "2026-02-09",
                "2026-02-16",
                "2026-02-23",
                "2026-03-02"
            ]
        );
        // Every other month: February is skipped.
        assert_eq!(
            dates("FREQ=MONTHLY;INTERVAL=2;BYDAY=MO", "2026-01-26", 1),
            ["2026-03-02"]
        );
    }

    #[test]
    fn a_fifth_weekday_skips_months_without_one() {
        // Fifth Mondays of 2026: Mar 30, Jun 29, Aug 31, Nov 30.
        assert_eq!(
            dates("FREQ=MONTHLY;BYDAY=5MO", "2026-03-30", 3),
            ["2026-06-29", "2026-08-31", "2026-11-30"]
        );
    }

    #[test]
    fn friday_the_thirteenth() {
        // BYDAY limits BYMONTHDAY.
        assert_eq!(
            dates("FREQ=MONTHLY;BYDAY=FR;BYMONTHDAY=13", "2026-02-13", 3),
            ["2026-03-13", "2026-11-13", "2027-08-13"]
        );
    }

    // ---- yearly --------------------------------------------------------------------------

    #[test]
    fn yearly_keeps_month_and_day() {
        assert_eq!(
            dates("FREQ=YEARLY", "2026-07-15", 2),
            ["2027-07-15", "2028-07-15"]
        );
        assert_eq!(
            dates("FREQ=YEARLY;INTERVAL=5", "2026-07-15", 2),
            ["2031-07-15", "2036-07-15"]
        );
    }

    #[test]
    fn yearly_from_february_29_waits_for_the_next_leap_year() {
        assert_eq!(
            dates("FREQ=YEARLY", "2024-02-29", 2),
            ["2028-02-29", "2032-02-29"]
        );
        // 2100 is not a leap year.
        assert_eq!(dates("FREQ=YEARLY", "2096-02-29", 1), ["2104-02-29"]);
        // Every third year from 2024: 2036 is the first leap year on that beat.
        assert_eq!(
            dates("FREQ=YEARLY;INTERVAL=3", "2024-02-29", 1),
            ["2036-02-29"]
        );
    }

    #[test]
    fn yearly_on_the_last_day_of_february() {
        assert_eq!(
            dates("FREQ=YEARLY;BYMONTHDAY=-1", "2024-02-29", 4),
            ["2025-02-28", "2026-02-28", "2027-02-28", "2028-02-29"]
        );
    }

    #[test]
    fn yearly_by_weekday_ranges_over_the_year() {
        // The 20th Monday of the year (RFC 5545 example); the first Monday of 2026 is Jan 5.
        assert_eq!(
            dates("FREQ=YEARLY;BYDAY=20MO", "2026-01-01", 2),
            ["2026-05-18", "2027-05-17"]
        );
        // The last Sunday of the year.
        assert_eq!(
            dates("FREQ=YEARLY;BYDAY=-1SU", "2026-01-01", 2),
            ["2026-12-27", "2027-12-26"]
        );
    }

    // ---- impossible rules end instead of looping -----------------------------------------

    #[test]
    fn rules_that_never_match_again_end() {
        // February has no 30th, and YEARLY takes its month from the current occurrence.
        let feb = date("2026-02-10");
        assert_eq!(
            rule("FREQ=YEARLY;BYMONTHDAY=30").next_after(&feb, 1, Tz::UTC),
            None
        );
        // The first Monday is never the 15th.
        assert_eq!(
            rule("FREQ=MONTHLY;BYDAY=1MO;BYMONTHDAY=15").next_after(&feb, 1, Tz::UTC),
            None
        );
        // Every 7th day from a Monday is always a Monday.
        assert_eq!(
            rule("FREQ=DAILY;INTERVAL=7;BYDAY=TU").next_after(&date("2026-01-05"), 1, Tz::UTC),
            None
        );
        // A yearly step of 1000 leaves the calendar chrono can represent.
        assert_eq!(
            rule("FREQ=YEARLY;INTERVAL=1000;BYMONTHDAY=30").next_after(&feb, 1, Tz::UTC),
            None
        );
        assert_eq!(
            dates("FREQ=YEARLY;INTERVAL=1000", "2026-02-10", 1),
            ["3026-02-10"]
        );
    }

    // ---- COUNT and UNTIL -----------------------------------------------------------------

    #[test]
    fn count_ends_the_series() {
        let r = rule("FREQ=DAILY;COUNT=3");
        let first = date("2026-01-01");
        let second = r.next_after(&first, 1, Tz::UTC).unwrap();
        assert_eq!(second, date("2026-01-02"));
        let third = r.next_after(&second, 2, Tz::UTC).unwrap();
        assert_eq!(third, date("2026-01-03"));
        assert_eq!(r.next_after(&third, 3, Tz::UTC), None);
        assert_eq!(r.next_after(&third, 4, Tz::UTC), None);
        assert_eq!(dates("FREQ=DAILY;COUNT=3", "2026-01-01", 10).len(), 2);
        assert_eq!(dates("FREQ=DAILY;COUNT=1", "2026-01-01", 10).len(), 0);
    }

    #[test]
    fn a_date_until_is_inclusive() {
        assert_eq!(
            dates("FREQ=DAILY;UNTIL=20260103", "2026-01-01", 10),
            ["2026-01-02", "2026-01-03"]
        );
        assert_eq!(
            dates("FREQ=WEEKLY;UNTIL=20260114", "2026-01-07", 10),
            ["2026-01-14"]
        );
        assert!(dates("FREQ=WEEKLY;UNTIL=20260113", "2026-01-07", 10).is_empty());
    }

    #[test]
    fn a_date_until_compares_with_the_local_date() {
        // 2026-01-03T16:00Z is 01:00 on January 4 in Tokyo: past a date UNTIL of January 3.
        let r = rule("FREQ=DAILY;UNTIL=20260103");
        let at = Due::parse("2026-01-02T16:00:00Z").unwrap(); // 01:00 on Jan 3 in Tokyo
        assert_eq!(r.next_after(&at, 1, Asia::Tokyo), None);
        // In UTC the same instant is January 2, so January 3 is still allowed.
        assert_eq!(
            r.next_after(&at, 1, Tz::UTC),
            Some(Due::parse("2026-01-03T16:00:00Z").unwrap())
        );
    }

    #[test]
    fn a_date_time_until_is_inclusive() {
        let r = rule("FREQ=DAILY;UNTIL=20260103T090000Z");
        let on_time = Due::parse("2026-01-02T09:00:00Z").unwrap();
        assert_eq!(
            r.next_after(&on_time, 1, Tz::UTC),
            Some(Due::parse("2026-01-03T09:00:00Z").unwrap())
        );
        let a_second_later = Due::parse("2026-01-02T09:00:01Z").unwrap();
        assert_eq!(r.next_after(&a_second_later, 1, Tz::UTC), None);
        // An all-day series with a date-time UNTIL compares local dates.
        assert_eq!(
            dates("FREQ=DAILY;UNTIL=20260103T000000Z", "2026-01-01", 10),
            ["2026-01-02", "2026-01-03"]
        );
    }

    #[test]
    fn until_before_the_current_occurrence_ends_the_series() {
        assert!(dates("FREQ=MONTHLY;UNTIL=20251231", "2026-01-31", 10).is_empty());
    }

    // ---- wall-clock time and daylight saving time ----------------------------------------

    #[test]
    fn a_daily_time_keeps_its_local_time_across_dst_in_berlin() {
        // Spring forward on 2026-03-29 (CET +01:00 -> CEST +02:00), fall back on 2026-10-25.
        assert_eq!(
            local_times("FREQ=DAILY", Europe::Berlin, "2026-03-28T09:00", 2),
            ["2026-03-29T09:00+02:00", "2026-03-30T09:00+02:00"]
        );
        assert_eq!(
            local_times("FREQ=DAILY", Europe::Berlin, "2026-10-24T09:00", 2),
            ["2026-10-25T09:00+01:00", "2026-10-26T09:00+01:00"]
        );
        // The UTC hour changes.
        let next = rule("FREQ=DAILY")
            .next_after(
                &local(Europe::Berlin, "2026-03-28T09:00"),
                1,
                Europe::Berlin,
            )
            .unwrap();
        assert_eq!(next, Due::parse("2026-03-29T07:00:00Z").unwrap());
    }

    #[test]
    fn a_daily_time_keeps_its_local_time_across_dst_in_new_york() {
        // Spring forward on 2026-03-08 (EST -05:00 -> EDT -04:00), fall back on 2026-11-01.
        assert_eq!(
            local_times("FREQ=DAILY", America::New_York, "2026-03-07T09:00", 2),
            ["2026-03-08T09:00-04:00", "2026-03-09T09:00-04:00"]
        );
        assert_eq!(
            local_times("FREQ=DAILY", America::New_York, "2026-10-31T09:00", 2),
            ["2026-11-01T09:00-05:00", "2026-11-02T09:00-05:00"]
        );
        assert_eq!(
            local_times("FREQ=WEEKLY", America::New_York, "2026-03-02T09:00", 1),
            ["2026-03-09T09:00-04:00"]
        );
    }

    #[test]
    fn a_time_in_the_spring_forward_gap_moves_forward_by_the_gap() {
        // 02:30 does not exist on 2026-03-29 in Berlin: it becomes 03:30 CEST.
        assert_eq!(
            local_times("FREQ=DAILY", Europe::Berlin, "2026-03-28T02:30", 1),
            ["2026-03-29T03:30+02:00"]
        );
        let next = rule("FREQ=DAILY")
            .next_after(
                &local(Europe::Berlin, "2026-03-28T02:30"),
                1,
                Europe::Berlin,
            )
            .unwrap();
        assert_eq!(next, Due::parse("2026-03-29T01:30:00Z").unwrap());
        // The same in New York on 2026-03-08.
        assert_eq!(
            local_times("FREQ=DAILY", America::New_York, "2026-03-07T02:30", 1),
            ["2026-03-08T03:30-04:00"]
        );
        // A monthly rule landing in the gap.
        assert_eq!(
            local_times("FREQ=MONTHLY", Europe::Berlin, "2026-02-08T02:30", 2),
            ["2026-03-08T02:30+01:00", "2026-04-08T02:30+02:00"]
        );
        assert_eq!(
            local_times("FREQ=MONTHLY", America::New_York, "2026-02-08T02:15", 1),
            ["2026-03-08T03:15-04:00"]
        );
    }

    #[test]
    fn after_a_gap_the_series_returns_to_its_own_time() {
        // 02:30 daily in Berlin: on 2026-03-29 the occurrence is at 03:30 CEST, and the one
        // after it at 02:30 again, when told the series' time.
        let moved = rule("FREQ=DAILY")
            .next_after(
                &local(Europe::Berlin, "2026-03-28T02:30"),
                1,
                Europe::Berlin,
            )
            .unwrap();
        let wall = NaiveTime::from_hms_opt(2, 30, 0);
        let next = rule("FREQ=DAILY")
            .next_after_at(&moved, 2, Europe::Berlin, wall)
            .unwrap();
        assert_eq!(next, Due::parse("2026-03-30T02:30:00+02:00").unwrap());
        // Without it, the moved time would stay.
        let drifted = rule("FREQ=DAILY")
            .next_after(&moved, 2, Europe::Berlin)
            .unwrap();
        assert_eq!(drifted, Due::parse("2026-03-30T03:30:00+02:00").unwrap());
        // All-day dates have no time to keep.
        let day = Due::parse("2026-03-28").unwrap();
        assert_eq!(
            rule("FREQ=DAILY").next_after_at(&day, 1, Europe::Berlin, wall),
            Due::parse("2026-03-29").ok()
        );
    }

    #[test]
    fn a_whole_skipped_day_moves_forward_a_day() {
        // Samoa skipped 2011-12-30 entirely when it moved from -10:00 to +14:00.
        let start = local(Pacific::Apia, "2011-12-29T09:00");
        let next = rule("FREQ=DAILY")
            .next_after(&start, 1, Pacific::Apia)
            .unwrap();
        let Due::At(t) = next else { panic!() };
        assert_eq!(
            t.with_timezone(&Pacific::Apia)
                .format("%Y-%m-%dT%H:%M%:z")
                .to_string(),
            "2011-12-31T09:00+14:00"
        );
    }

    #[test]
    fn an_ambiguous_time_takes_the_earlier_instant() {
        // 02:30 happens twice on 2026-10-25 in Berlin: first in CEST (+02:00).
        assert_eq!(
            local_times("FREQ=DAILY", Europe::Berlin, "2026-10-24T02:30", 2),
            ["2026-10-25T02:30+02:00", "2026-10-26T02:30+01:00"]
        );
        let next = rule("FREQ=DAILY")
            .next_after(
                &local(Europe::Berlin, "2026-10-24T02:30"),
                1,
                Europe::Berlin,
            )
            .unwrap();
        assert_eq!(next, Due::parse("2026-10-25T00:30:00Z").unwrap());
        // 01:30 happens twice on 2026-11-01 in New York: first in EDT (-04:00).
        assert_eq!(
            local_times("FREQ=DAILY", America::New_York, "2026-10-31T01:30", 2),
            ["2026-11-01T01:30-04:00", "2026-11-02T01:30-05:00"]
        );
    }

    #[test]
    fn instants_keep_their_microseconds() {
        let start = Due::parse("2026-01-05T09:00:00.123456Z").unwrap();
        let next = rule("FREQ=WEEKLY").next_after(&start, 1, Tz::UTC).unwrap();
        assert_eq!(next.to_string(), "2026-01-12T09:00:00.123456Z");
    }

    #[test]
    fn the_rule_is_evaluated_on_the_local_date() {
        // Monday 2026-01-05 at 08:00 in Tokyo is Sunday 23:00 UTC. Weekly on Mondays in
        // Tokyo: the next is Monday 2026-01-12 08:00 Tokyo, not a UTC Monday.
        let start = Due::parse("2026-01-04T23:00:00Z").unwrap();
        let next = rule("FREQ=WEEKLY;BYDAY=MO")
            .next_after(&start, 1, Asia::Tokyo)
            .unwrap();
        assert_eq!(next, Due::parse("2026-01-11T23:00:00Z").unwrap());
        // The same instant read in UTC is a Sunday, so the next UTC Monday is the next day.
        let next = rule("FREQ=WEEKLY;BYDAY=MO")
            .next_after(&start, 1, Tz::UTC)
            .unwrap();
        assert_eq!(next, Due::parse("2026-01-05T23:00:00Z").unwrap());
    }

    #[test]
    fn all_day_dates_ignore_the_zone() {
        for tz in [Tz::UTC, Asia::Tokyo, America::New_York, Pacific::Apia] {
            assert_eq!(
                rule("FREQ=MONTHLY").next_after(&date("2026-01-31"), 1, tz),
                Some(date("2026-03-31"))
            );
        }
    }
}
