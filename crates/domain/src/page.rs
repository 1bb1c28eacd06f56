//! How many items one page of a list may hold.

use crate::error::{DomainError, InvalidReason};

/// Checks a client's page size against the configured maximum: 1 to `max`.
///
/// # Errors
/// `DomainError::Invalid` for field `limit` when it is 0 or above `max`.
pub fn page_limit(limit: u32, max: u32) -> Result<u32, DomainError> {
    if limit == 0 || limit > max {
        return Err(DomainError::invalid(
            "limit",
            InvalidReason::OutOfRange {
                min: 1,
                max: u64::from(max),
            },
        ));
    }
    Ok(limit)
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn page_limits_are_bounded() {
        assert!(page_limit(1, 1000).is_ok());
        assert!(page_limit(1000, 1000).is_ok());
        assert!(page_limit(0, 1000).is_err());
        assert_eq!(
            page_limit(1001, 1000).unwrap_err().to_string(),
            "limit must be between 1 and 1000"
        );
    }
}
