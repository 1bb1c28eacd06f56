//! Time as the domain keeps it: instants in UTC at the precision stores keep, and the
//! IANA time zones that local dates and times are judged in.

use chrono_tz::Tz;

use crate::error::{DomainError, InvalidReason};

/// Instants are UTC with microsecond precision (what PostgreSQL stores).
pub type Timestamp = chrono::DateTime<chrono::Utc>;

/// Truncates an instant to the microsecond precision every store keeps, so that a value
/// read back equals the value written.
#[must_use]
pub fn to_stored_precision(t: Timestamp) -> Timestamp {
    use chrono::{DurationRound, TimeDelta};
    t.duration_trunc(TimeDelta::microseconds(1)).unwrap_or(t)
}

/// An IANA time zone (`Europe/Berlin`), in which a recurring task's local times repeat
/// and all-day dates are judged.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TimeZone(Tz);

impl TimeZone {
    pub const UTC: Self = Self(Tz::UTC);

    /// # Errors
    /// `DomainError::Invalid` for `field` when `raw` is not an IANA zone name.
    pub fn parse(field: &'static str, raw: &str) -> Result<Self, DomainError> {
        raw.trim().parse::<Tz>().map(Self).map_err(|_| {
            DomainError::invalid(
                field,
                InvalidReason::Malformed("an IANA time zone name, like Europe/Berlin or UTC"),
            )
        })
    }

    /// Every name [`TimeZone::parse`] accepts (once trimmed), in the database's order.
    pub fn names() -> impl Iterator<Item = &'static str> {
        chrono_tz::TZ_VARIANTS.iter().map(|tz| tz.name())
    }

    #[must_use]
    pub fn tz(self) -> Tz {
        self.0
    }

    #[must_use]
    pub fn name(self) -> &'static str {
        self.0.name()
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn time_zones_are_iana_names() {
        assert_eq!(
            TimeZone::parse("tz", "Europe/Berlin").unwrap().name(),
            "Europe/Berlin"
        );
        assert_eq!(TimeZone::parse("tz", "UTC").unwrap(), TimeZone::UTC);
        assert_eq!(
            TimeZone::parse("tz", "Mars/Olympus")
                .unwrap_err()
                .to_string(),
            "tz must be an IANA time zone name, like Europe/Berlin or UTC"
        );
    }
}
