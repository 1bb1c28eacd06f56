//! Stepping a recurrence rule to the occurrence after the current one, on the calendar of
//! the task's time zone (RFC 5545's rules for skipped dates and daylight saving changes).

use chrono::{
    Datelike, Days, MappedLocalTime, NaiveDate, NaiveDateTime, NaiveTime, Offset, TimeDelta,
    TimeZone, Utc,
};
use chrono_tz::Tz;

use super::{Frequency, Recurrence};
use crate::due::Due;
use crate::time::Timestamp;

impl Recurrence {
    /// The occurrence after `current`, the one just completed, or `None` when the series
    /// is over.
    ///
    /// `completed_so_far` counts the occurrences of this series completed so far, `current`
    /// included: with `COUNT=3`, the call after the third completion returns `None`.
    /// `current` is treated as the `DTSTART` of the rest of the series, and the rule is
    /// evaluated in `tz`: an instant keeps its local wall-clock time there across daylight
    /// saving changes. A local time that does not exist on the next date (a spring-forward
    /// gap) moves forward by the length of the gap; an ambiguous one (fall-back) takes the
    /// earlier instant. Dates that do not exist are skipped, not clamped: a monthly rule from
    /// January 31 goes on to March 31. `None` also when no occurrence is found within a
    /// bounded search (a rule that can never match again, such as `FREQ=YEARLY;BYMONTHDAY=30`
    /// from February).
    #[must_use]
    pub fn next_after(&self, current: &Due, completed_so_far: u32, tz: Tz) -> Option<Due> {
        self.next_after_at(current, completed_so_far, tz, None)
    }

    /// [`Recurrence::next_after`], with the local time of day the series keeps given
    /// explicitly (`wall`) rather than read from `current`: after a gap moved one occurrence
    /// (02:30 became 03:30), the next ones return to the series' own time, as RFC 5545
    /// computes every instance from `DTSTART`. Ignored for all-day dates.
    #[must_use]
    pub fn next_after_at(
        &self,
        current: &Due,
        completed_so_far: u32,
        tz: Tz,
        wall: Option<NaiveTime>,
    ) -> Option<Due> {
        if self.count.is_some_and(|count| completed_so_far >= count) {
            return None;
        }
        let start = current.local_date(tz);
        // The search can stop once it passes the last local date UNTIL allows; the day after
        // leaves room for a wall-clock time moved forward by a gap.
        let limit = self.until.and_then(|until| until.last_date(tz).succ_opt());
        let date = self.next_date(start, limit)?;
        let next = match current {
            Due::Date(_) => Due::Date(date),
            Due::At(t) => Due::At(resolve_local(
                tz,
                date.and_time(wall.unwrap_or_else(|| t.with_timezone(&tz).time())),
            )?),
        };
        match self.until {
            Some(until) if !until.admits(&next, tz) => None,
            _ => Some(next),
        }
    }

    /// The first date after `start` that the rule yields with `start` as `DTSTART`.
    fn next_date(&self, start: NaiveDate, limit: Option<NaiveDate>) -> Option<NaiveDate> {
        let earliest = start.succ_opt()?;
        for k in 0..=self.freq.max_periods() {
            let (first, last) = self.period(start, k.checked_mul(u64::from(self.interval))?)?;
            if limit.is_some_and(|limit| first > limit) {
                return None;
            }
            let mut day = first.max(earliest);
            while day <= last {
                if self.matches(day, start) {
                    return Some(day);
                }
                day = day.succ_opt()?;
            }
        }
        None
    }

    /// The first and last day of the period `step` periods (days, weeks, months or years)
    /// after the one holding `start`. A YEARLY rule that takes its month from `start` only
    /// needs that month.
    fn period(&self, start: NaiveDate, step: u64) -> Option<(NaiveDate, NaiveDate)> {
        match self.freq {
            Frequency::Daily => {
                let day = start.checked_add_days(Days::new(step))?;
                Some((day, day))
            }
            Frequency::Weekly => {
                let monday = start.checked_sub_days(Days::new(u64::from(
                    start.weekday().num_days_from_monday(),
                )))?;
                let first = monday.checked_add_days(Days::new(step.checked_mul(7)?))?;
                Some((first, first.checked_add_days(Days::new(6))?))
            }
            Frequency::Monthly => {
                let months = i64::from(start.year())
                    .checked_mul(12)?
                    .checked_add(i64::from(start.month0()))?
                    .checked_add(i64::try_from(step).ok()?)?;
                let year = i32::try_from(months.div_euclid(12)).ok()?;
                let month = u32::try_from(months.rem_euclid(12)).ok()? + 1;
                month_span(year, month)
            }
            Frequency::Yearly => {
                let year = i64::from(start.year()).checked_add(i64::try_from(step).ok()?)?;
                let year = i32::try_from(year).ok()?;
                if !self.by_day.is_empty() && self.by_month_day.is_empty() {
                    Some((
                        NaiveDate::from_ymd_opt(year, 1, 1)?,
                        NaiveDate::from_ymd_opt(year, 12, 31)?,
                    ))
                } else {
                    month_span(year, start.month())
                }
            }
        }
    }

    /// Whether the rule, with `start` as `DTSTART`, yields `day` (which lies in one of its
    /// periods).
    fn matches(&self, day: NaiveDate, start: NaiveDate) -> bool {
        let by_day_in_month = || {
            self.by_day
                .iter()
                .any(|b| b.matches_in(day, day.day0(), days_in_month(day)))
        };
        let by_day_in_year = || {
            self.by_day
                .iter()
                .any(|b| b.matches_in(day, day.ordinal0(), days_in_year(day.year())))
        };
        let by_month_day = || self.by_month_day.iter().any(|&n| month_day_matches(day, n));
        let no_by_day = self.by_day.is_empty();
        let no_by_month_day = self.by_month_day.is_empty();
        match self.freq {
            // BYDAY has no ordinals here, so "in month" only compares weekdays.
            Frequency::Daily => {
                (no_by_month_day || by_month_day()) && (no_by_day || by_day_in_month())
            }
            Frequency::Weekly if no_by_day => day.weekday() == start.weekday(),
            Frequency::Weekly => self.by_day.iter().any(|b| b.weekday == day.weekday()),
            Frequency::Monthly if no_by_month_day && no_by_day => day.day() == start.day(),
            Frequency::Monthly if no_by_month_day => by_day_in_month(),
            Frequency::Monthly => by_month_day() && (no_by_day || by_day_in_month()),
            Frequency::Yearly if no_by_month_day && no_by_day => {
                day.month() == start.month() && day.day() == start.day()
            }
            Frequency::Yearly if no_by_month_day => by_day_in_year(),
            Frequency::Yearly => {
                day.month() == start.month() && by_month_day() && (no_by_day || by_day_in_year())
            }
        }
    }
}

fn month_day_matches(day: NaiveDate, n: i8) -> bool {
    let wanted = if n > 0 {
        i64::from(n)
    } else {
        i64::from(days_in_month(day)) + 1 + i64::from(n)
    };
    i64::from(day.day()) == wanted
}

fn is_leap_year(year: i32) -> bool {
    NaiveDate::from_ymd_opt(year, 2, 29).is_some()
}

fn days_in_year(year: i32) -> u32 {
    if is_leap_year(year) { 366 } else { 365 }
}

fn days_in_month(day: NaiveDate) -> u32 {
    match day.month() {
        4 | 6 | 9 | 11 => 30,
        2 if is_leap_year(day.year()) => 29,
        2 => 28,
        _ => 31,
    }
}

fn month_span(year: i32, month: u32) -> Option<(NaiveDate, NaiveDate)> {
    let first = NaiveDate::from_ymd_opt(year, month, 1)?;
    let last = first.checked_add_days(Days::new(u64::from(days_in_month(first) - 1)))?;
    Some((first, last))
}

/// The instant of a local wall-clock time in `tz`, per RFC 5545 §3.3.5: an ambiguous time
/// (fall-back) is the earlier instant; a time in a gap (spring-forward) is read with the
/// offset in force before the gap, which moves it forward by the gap's length (02:30 in a
/// one-hour gap becomes 03:30).
fn resolve_local(tz: Tz, local: NaiveDateTime) -> Option<Timestamp> {
    match tz.from_local_datetime(&local) {
        MappedLocalTime::Single(t) => Some(t.with_timezone(&Utc)),
        MappedLocalTime::Ambiguous(a, b) => Some(a.min(b).with_timezone(&Utc)),
        MappedLocalTime::None => {
            let before = (1..=48).find_map(|hours| {
                let earlier = local.checked_sub_signed(TimeDelta::hours(hours))?;
                tz.from_local_datetime(&earlier).latest()
            })?;
            let offset = before.offset().fix().local_minus_utc();
            local
                .checked_sub_signed(TimeDelta::seconds(i64::from(offset)))
                .map(|utc| utc.and_utc())
        }
    }
}
