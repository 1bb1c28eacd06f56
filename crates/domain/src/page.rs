use crate::{DomainError, InvalidReason, TaskId, Timestamp};

/// A position in a list ordered by `(created_at, id)`: the last item of the previous page.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Cursor {
    pub created_at: Timestamp,
    pub id: TaskId,
}

impl Cursor {
    const EXPECTED: &'static str = "a cursor taken from a Link header";

    /// An opaque, URL-safe text form: `<microseconds since the epoch>_<uuid>`.
    #[must_use]
    pub fn encode(&self) -> String {
        format!(
            "{}_{}",
            self.created_at.timestamp_micros(),
            self.id.as_uuid().simple()
        )
    }

    pub fn parse(raw: &str) -> Result<Self, DomainError> {
        let bad = || DomainError::invalid("cursor", InvalidReason::Malformed(Self::EXPECTED));
        let (micros, id) = raw.split_once('_').ok_or_else(bad)?;
        let micros: i64 = micros.parse().map_err(|_| bad())?;
        let created_at = chrono::DateTime::from_timestamp_micros(micros).ok_or_else(bad)?;
        let id = uuid::Uuid::try_parse(id).map_err(|_| bad())?;
        Ok(Self {
            created_at,
            id: TaskId::from_uuid(id),
        })
    }
}

/// One page of a list: at most `limit` items after `after`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PageRequest {
    pub limit: u32,
    pub after: Option<Cursor>,
}

impl PageRequest {
    /// Checks a client's `limit` against the configured maximum.
    pub fn new(limit: u32, max: u32, after: Option<Cursor>) -> Result<Self, DomainError> {
        if limit == 0 || limit > max {
            return Err(DomainError::invalid(
                "limit",
                InvalidReason::OutOfRange {
                    min: 1,
                    max: u64::from(max),
                },
            ));
        }
        Ok(Self { limit, after })
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn cursors_round_trip() {
        let c = Cursor {
            created_at: chrono::DateTime::from_timestamp_micros(1_764_000_000_123_456).unwrap(),
            id: TaskId::parse("0192f0c1-7c5e-7000-8000-000000000001").unwrap(),
        };
        let text = c.encode();
        assert_eq!(text, "1764000000123456_0192f0c17c5e70008000000000000001");
        assert_eq!(Cursor::parse(&text).unwrap(), c);
    }

    #[test]
    fn garbage_cursors_are_refused() {
        for raw in [
            "",
            "abc",
            "1_2",
            "x_0192f0c17c5e70008000000000000001",
            "1764_",
        ] {
            assert!(Cursor::parse(raw).is_err(), "{raw:?}");
        }
    }

    #[test]
    fn page_limits_are_bounded() {
        assert!(PageRequest::new(1, 1000, None).is_ok());
        assert!(PageRequest::new(1000, 1000, None).is_ok());
        assert!(PageRequest::new(0, 1000, None).is_err());
        assert_eq!(
            PageRequest::new(1001, 1000, None).unwrap_err().to_string(),
            "limit must be between 1 and 1000"
        );
    }
}
