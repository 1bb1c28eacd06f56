//! A task's place in its owner's manual order: a fractional index that can be moved
//! between any two neighbours without renumbering the rest of the list.

use std::fmt;

use crate::error::{DomainError, InvalidReason};
use crate::ids::TaskId;
use crate::time::Timestamp;

/// The digits, smallest first. ASCII order, so digit order is byte order.
const ALPHABET: &[u8; 62] = b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";

/// The number base of a position's digits.
const BASE: u8 = 62;

/// Digits used by [`Position::initial`] for the creation instant (62^11 > `u64::MAX`).
const TIME_DIGITS: usize = 11;

/// Digits used by [`Position::initial`] for the task id (62^22 > 2^128).
const ID_DIGITS: usize = 22;

/// A task's manual position: a non-empty string of base-62 digits (`0-9A-Za-z`) read as
/// the fraction `0.d1d2d3…`, never ending in `0` and at most [`Position::MAX_LEN`] long.
///
/// Positions order by plain byte-wise comparison of their text, which equals the order of
/// the fractions they denote (thanks to the no-trailing-zero rule). Stores must sort them
/// byte-wise too (`COLLATE "C"` on PostgreSQL).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Position(String);

impl Position {
    /// The longest position accepted or produced, in characters.
    pub const MAX_LEN: usize = 128;

    const FIELD: &'static str = "position";

    /// Parses a position supplied by a client or read from a store.
    ///
    /// # Errors
    /// `DomainError::Invalid` for field `position` when `raw` is empty, longer than
    /// [`Position::MAX_LEN`], contains anything but base-62 digits, or ends in `0`.
    pub fn parse(raw: &str) -> Result<Self, DomainError> {
        let bad = |reason| Err(DomainError::invalid(Self::FIELD, reason));
        if raw.is_empty() {
            return bad(InvalidReason::Empty);
        }
        if raw.len() > Self::MAX_LEN {
            return bad(InvalidReason::TooLong { max: Self::MAX_LEN });
        }
        if !raw.bytes().all(|b| b.is_ascii_alphanumeric()) {
            return bad(InvalidReason::Malformed("base-62 digits (0-9, A-Z, a-z)"));
        }
        if raw.ends_with('0') {
            return bad(InvalidReason::Detail("must not end in 0".into()));
        }
        Ok(Self(raw.to_owned()))
    }

    /// The position's text, as stored and sent to clients.
    #[must_use]
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The position a new task gets, derived without reading the list: after every
    /// position handed out before by this rule, and unique per task.
    ///
    /// It is the creation instant's microseconds since the Unix epoch (earlier instants
    /// count as the epoch) as 11 base-62 digits, then the id's 128 bits as 22 base-62
    /// digits, with trailing zeros stripped. Tasks created later sort after; tasks created
    /// in the same microsecond sort by id. (For the epoch and the nil id, where every digit
    /// is zero, the position is 33 zeros followed by `V`, which still sorts before all
    /// others.)
    #[must_use]
    pub fn initial(created_at: Timestamp, id: TaskId) -> Self {
        Self::initial_of(created_at, id.as_uuid())
    }

    /// [`Position::initial`] for anything with a UUID (a list, say).
    #[must_use]
    pub fn initial_of(created_at: Timestamp, id: uuid::Uuid) -> Self {
        let micros = u64::try_from(created_at.timestamp_micros()).unwrap_or(0);
        let mut key = String::with_capacity(TIME_DIGITS + ID_DIGITS + 1);
        push_fixed_width(&mut key, u128::from(micros), TIME_DIGITS);
        push_fixed_width(&mut key, id.as_u128(), ID_DIGITS);
        let significant = key.trim_end_matches('0').len();
        if significant == 0 {
            key.push('V');
        } else {
            key.truncate(significant);
        }
        Self(key)
    }

    /// A position after every one [`Position::initial`] has handed out to a task created
    /// until `now` (and before any it hands out later): the end of the list as it is now,
    /// which a task moved to the bottom must not pass.
    #[must_use]
    pub fn after_all_created_until(now: Timestamp) -> Self {
        Self::initial(now, TaskId::from_uuid(uuid::Uuid::max()))
    }

    /// A position strictly between `before` and `after`, where `None` stands for the start
    /// (for `before`) or the end (for `after`) of the list. Prefers short positions: the
    /// first between two open ends is `V`, and between `1` and `2` it is `1V`.
    ///
    /// `None` when there is no room: `before` is not below `after`, or every position
    /// between would be longer than [`Position::MAX_LEN`].
    #[must_use]
    pub fn between(before: Option<&Self>, after: Option<&Self>) -> Option<Self> {
        if let (Some(low), Some(high)) = (before, after)
            && low >= high
        {
            return None;
        }
        let low = before.map_or(&[][..], |p| p.0.as_bytes());
        let high = after.map(|p| p.0.as_bytes());
        // At an end of the list, step by one digit instead of halving the gap: moving a
        // task to the top (or bottom) again and again then grows keys by one digit per
        // about 60 moves, not per 6.
        let stepped = match (before, after) {
            (None, Some(high)) => step(high.0.as_bytes(), |d| (d >= 2).then(|| d - 1)),
            (Some(low), None) => step(low.0.as_bytes(), |d| (d < BASE - 1).then(|| d + 1)),
            _ => None,
        };
        let key = match stepped {
            Some(key) => key,
            None => midpoint(low, high)?,
        };
        let found = Self(key);
        // Guard the promise itself, so that a slip in the digit arithmetic can only ever
        // yield "no room", never a position out of order.
        let above_low = before.is_none_or(|low| *low < found);
        let below_high = after.is_none_or(|high| found < *high);
        (above_low && below_high && found.0.len() <= Self::MAX_LEN).then_some(found)
    }
}

/// The room between two neighbours in the manual order, where a moved task goes: above
/// `low` and below `high`, `None` standing for the start (for `low`) or the end (for
/// `high`) of the list.
///
/// A position chosen in a gap is only new while the gap is empty: two moves that read the
/// same neighbours choose the same position. So a move is written only if no other task
/// has come to lie inside its gap since (see `TaskRepository::move_into`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Gap {
    pub low: Option<Position>,
    pub high: Option<Position>,
}

impl Gap {
    /// A position strictly inside the gap ([`Position::between`]); `None` when there is
    /// no room (the neighbours share a position, or the gap is too narrow).
    #[must_use]
    pub fn position(&self) -> Option<Position> {
        Position::between(self.low.as_ref(), self.high.as_ref())
    }

    /// Whether `position` lies strictly inside the gap.
    #[must_use]
    pub fn contains(&self, position: &Position) -> bool {
        self.low.as_ref().is_none_or(|low| low < position)
            && self.high.as_ref().is_none_or(|high| position < high)
    }
}

impl fmt::Display for Position {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// Appends `value` as exactly `width` base-62 digits, most significant first. Digits above
/// `width` (there are none for the widths used here) are dropped.
fn push_fixed_width(out: &mut String, mut value: u128, width: usize) {
    let mut digits = vec![b'0'; width];
    for slot in digits.iter_mut().rev() {
        let digit = usize::try_from(value % u128::from(BASE)).unwrap_or(0);
        *slot = ALPHABET.get(digit).copied().unwrap_or(b'0');
        value /= u128::from(BASE);
    }
    out.extend(digits.into_iter().map(char::from));
}

/// The value (0 to 61) of a base-62 digit, `None` for anything else.
fn digit_value(byte: u8) -> Option<u8> {
    match byte {
        b'0'..=b'9' => Some(byte - b'0'),
        b'A'..=b'Z' => Some(byte - b'A' + 10),
        b'a'..=b'z' => Some(byte - b'a' + 36),
        _ => None,
    }
}

/// The digit for a value from 0 to 61.
fn digit_char(value: u8) -> Option<u8> {
    ALPHABET.get(usize::from(value)).copied()
}

/// `key` cut after its first digit that `change` can move, with that digit moved: the
/// shortest key one step below (or above) `key` at that digit. `None` when no digit can
/// move (a key of only `0`s and `1`s going down, only `z`s going up).
fn step(key: &[u8], change: impl Fn(u8) -> Option<u8>) -> Option<String> {
    let mut out = Vec::with_capacity(key.len());
    for &byte in key {
        let digit = digit_value(byte)?;
        if let Some(moved) = change(digit) {
            out.push(digit_char(moved)?);
            return String::from_utf8(out).ok();
        }
        out.push(byte);
    }
    None
}

/// The shortest-ish digit string strictly between `low` (missing digits read as `0`) and
/// `high` (`None`: the open end, read as one past the largest digit). Requires
/// `low < high`, both without trailing zeros. `None` once the result grows past
/// [`Position::MAX_LEN`] or on input breaking those rules.
fn midpoint(low: &[u8], high: Option<&[u8]>) -> Option<String> {
    let mut out = Vec::new();
    let mut upper = high;
    let mut index = 0;
    loop {
        if out.len() >= Position::MAX_LEN {
            return None;
        }
        let lo = match low.get(index) {
            Some(&byte) => digit_value(byte)?,
            None => 0,
        };
        let hi = match upper {
            // `high` exhausted while equal to `low` so far would mean `low >= high`.
            Some(bound) => digit_value(*bound.get(index)?)?,
            None => BASE,
        };
        if hi < lo {
            return None;
        }
        match hi - lo {
            // Common prefix: keep it and compare the next digits.
            0 => out.push(digit_char(lo)?),
            // No digit strictly between these two.
            1 => {
                let longer_upper = upper.is_some_and(|bound| bound.len() > index + 1);
                if longer_upper {
                    // `high` cut after this digit is below `high` (its tail is non-zero)
                    // and above `low` (whose digit here is smaller).
                    out.push(digit_char(hi)?);
                    break;
                }
                // Keep `low`'s digit; from here on anything above `low`'s tail fits.
                out.push(digit_char(lo)?);
                upper = None;
            }
            // A digit strictly between: the middle one, never `0` (it exceeds `lo`).
            _ => {
                out.push(digit_char(lo + (hi - lo) / 2)?);
                break;
            }
        }
        index += 1;
    }
    String::from_utf8(out).ok()
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use chrono::{DateTime, TimeDelta, Utc};

    use super::*;

    fn pos(raw: &str) -> Position {
        Position::parse(raw).unwrap()
    }

    fn id(n: u128) -> TaskId {
        TaskId::from_uuid(uuid::Uuid::from_u128(n))
    }

    fn at_micros(micros: i64) -> Timestamp {
        DateTime::<Utc>::from_timestamp_micros(micros).unwrap()
    }

    #[test]
    fn the_end_of_the_list_is_after_every_task_created_until_then() {
        let now = at_micros(1_764_000_000_123_456);
        let end = Position::after_all_created_until(now);
        for n in [0, 1, u128::MAX - 1] {
            assert!(Position::initial(now, id(n)) < end);
            assert!(Position::initial(now - TimeDelta::microseconds(1), id(n)) < end);
        }
        assert!(end < Position::initial(now + TimeDelta::microseconds(1), id(0)));
    }

    /// Checks `between(before, after)` is strictly between its bounds and parses back.
    fn between_checked(before: Option<&str>, after: Option<&str>) -> Position {
        let before = before.map(pos);
        let after = after.map(pos);
        let found = Position::between(before.as_ref(), after.as_ref()).unwrap();
        assert_eq!(Position::parse(found.as_str()).unwrap(), found);
        if let Some(low) = &before {
            assert!(*low < found, "{low} < {found}");
        }
        if let Some(high) = &after {
            assert!(found < *high, "{found} < {high}");
        }
        found
    }

    /// A small deterministic pseudo-random sequence (xorshift64).
    struct XorShift(u64);

    impl XorShift {
        fn below(&mut self, bound: usize) -> usize {
            self.0 ^= self.0 << 13;
            self.0 ^= self.0 >> 7;
            self.0 ^= self.0 << 17;
            usize::try_from(self.0 % u64::try_from(bound).unwrap()).unwrap()
        }
    }

    /// Inserts between the neighbours at `index` and returns the new position's length.
    fn insert_at(list: &mut Vec<Position>, index: usize) -> usize {
        let before = index.checked_sub(1).and_then(|i| list.get(i));
        let after = list.get(index);
        let found = Position::between(before, after).unwrap();
        let len = found.as_str().len();
        list.insert(index, found);
        len
    }

    fn assert_strictly_sorted(list: &[Position]) {
        for (low, high) in list.iter().zip(list.iter().skip(1)) {
            assert!(low < high, "{low} < {high}");
        }
    }

    #[test]
    fn parse_accepts_base62_keys_and_refuses_the_rest_naming_the_field() {
        for good in [
            "V",
            "1",
            "01",
            "zzz",
            "0aZ9",
            &"z".repeat(Position::MAX_LEN),
        ] {
            let parsed = pos(good);
            assert_eq!(parsed.as_str(), good);
            assert_eq!(parsed.to_string(), good);
        }
        let err = |raw: &str| Position::parse(raw).unwrap_err().to_string();
        assert_eq!(err(""), "position must not be empty");
        assert_eq!(
            err(&"a".repeat(Position::MAX_LEN + 1)),
            "position must be at most 128 characters long"
        );
        for bad in ["a-b", "a b", "é", "a_", "+1", "ab\n"] {
            assert_eq!(
                err(bad),
                "position must be base-62 digits (0-9, A-Z, a-z)",
                "{bad:?}"
            );
        }
        for trailing_zero in ["0", "10", "V00"] {
            assert_eq!(err(trailing_zero), "position must not end in 0");
        }
    }

    #[test]
    fn positions_order_like_the_fractions_they_denote() {
        let sorted = ["01", "0V", "1", "1V", "2", "V", "V1", "a", "z", "zz"].map(pos);
        assert_strictly_sorted(&sorted);
    }

    #[test]
    fn initial_orders_by_creation_time_then_by_id() {
        let now = Utc::now();
        let year_3000 = DateTime::parse_from_rfc3339("3000-01-01T00:00:00Z")
            .unwrap()
            .with_timezone(&Utc);
        let times = [
            at_micros(0),
            at_micros(1),
            at_micros(61),
            at_micros(62),
            at_micros(1_000_000),
            now,
            now + TimeDelta::microseconds(1),
            year_3000,
            DateTime::<Utc>::MAX_UTC,
        ];
        let ids = [0, 1, 61, 62, u128::from(u64::MAX), u128::MAX - 1, u128::MAX].map(id);
        let mut keys = Vec::new();
        for time in times {
            for task in ids {
                let key = Position::initial(time, task);
                assert!(!key.as_str().ends_with('0'), "{key}");
                assert!(key.as_str().len() <= TIME_DIGITS + ID_DIGITS + 1, "{key}");
                assert_eq!(Position::parse(key.as_str()).unwrap(), key);
                keys.push(key);
            }
        }
        assert_strictly_sorted(&keys);
        // The epoch and the nil id: every digit zero, so a final digit keeps it first.
        assert_eq!(
            keys.first().unwrap().as_str(),
            format!("{}V", "0".repeat(TIME_DIGITS + ID_DIGITS))
        );
    }

    #[test]
    fn initial_counts_instants_before_the_epoch_as_the_epoch() {
        let before_epoch = at_micros(-5_000_000);
        assert_eq!(
            Position::initial(before_epoch, id(7)),
            Position::initial(at_micros(0), id(7))
        );
        assert!(Position::initial(before_epoch, id(7)) < Position::initial(at_micros(1), id(0)));
    }

    #[test]
    fn between_open_ends_picks_short_keys() {
        assert_eq!(between_checked(None, None).as_str(), "V");
        // At the ends, one step: keys stay short however often a task goes to the top.
        assert_eq!(between_checked(Some("V"), None).as_str(), "W");
        assert_eq!(between_checked(None, Some("V")).as_str(), "U");
        assert_eq!(between_checked(None, Some("00ab")).as_str(), "00Z");
        assert_eq!(between_checked(Some("0zk"), None).as_str(), "1");
        assert_eq!(between_checked(None, Some("01")).as_str(), "00V");
        assert_eq!(between_checked(Some("zz"), None).as_str(), "zzV");
        assert_eq!(between_checked(Some("1"), Some("2")).as_str(), "1V");
        assert_eq!(between_checked(Some("1"), Some("3")).as_str(), "2");
    }

    #[test]
    fn between_handles_prefixes_and_alphabet_edges() {
        let cases = [
            (Some("V"), Some("V1")),
            (Some("1"), Some("101")),
            (Some("1"), Some("1001")),
            (Some("1"), Some("11")),
            (Some("11"), Some("2")),
            (Some("1z"), Some("2")),
            (Some("1zz"), Some("2")),
            (Some("1zzz"), Some("21")),
            (Some("z"), None),
            (Some("zzz"), None),
            (None, Some("1")),
            (None, Some("01")),
            (None, Some("001")),
            (Some("0001"), Some("0002")),
            (Some("y"), Some("z")),
            (Some("yz"), Some("z")),
        ];
        for (before, after) in cases {
            between_checked(before, after);
        }
    }

    #[test]
    fn between_refuses_bounds_out_of_order() {
        for (before, after) in [("V", "V"), ("V", "F"), ("V1", "V"), ("2", "1zz")] {
            assert_eq!(
                Position::between(Some(&pos(before)), Some(&pos(after))),
                None,
                "{before} .. {after}"
            );
        }
    }

    #[test]
    fn between_reports_no_room_rather_than_growing_past_the_limit() {
        let edge = "z".repeat(Position::MAX_LEN);
        assert_eq!(Position::between(Some(&pos(&edge)), None), None);
        let low = format!("{}1", "0".repeat(Position::MAX_LEN - 1));
        assert_eq!(Position::between(None, Some(&pos(&low))), None);
        let short = format!("{}1", "0".repeat(Position::MAX_LEN - 2));
        between_checked(None, Some(&short));
    }

    #[test]
    fn random_inserts_keep_the_list_strictly_sorted() {
        let mut rng = XorShift(0x9E37_79B9_7F4A_7C15);
        let mut list = Vec::new();
        let mut longest = 0;
        for _ in 0..2000 {
            let index = rng.below(list.len() + 1);
            longest = longest.max(insert_at(&mut list, index));
            assert_strictly_sorted(&list);
        }
        assert!(
            longest <= 8,
            "2000 random inserts: longest position {longest} characters"
        );
    }

    /// Bisecting toward one spot gains about one digit per six inserts (log2 62 ≈ 5.95):
    /// 500 inserts reach about 100 characters, still within the limit.
    #[test]
    fn repeated_inserts_at_one_spot_grow_keys_slowly() {
        let mut front = vec![pos("V")];
        let mut longest_front = 0;
        for _ in 0..500 {
            longest_front = longest_front.max(insert_at(&mut front, 0));
        }
        assert_strictly_sorted(&front);
        assert!(
            longest_front <= 20,
            "500 inserts at the front: longest position {longest_front} characters"
        );

        let mut second = vec![pos("V"), pos("k")];
        let mut longest_second = 0;
        for _ in 0..500 {
            longest_second = longest_second.max(insert_at(&mut second, 1));
        }
        assert_strictly_sorted(&second);
        assert!(
            longest_second <= Position::MAX_LEN,
            "500 inserts after the first: longest position {longest_second} characters"
        );

        let mut back = vec![pos("V")];
        let mut longest_back = 0;
        for _ in 0..500 {
            let end = back.len();
            longest_back = longest_back.max(insert_at(&mut back, end));
        }
        assert_strictly_sorted(&back);
        assert!(
            longest_back <= 20,
            "500 inserts at the back: longest position {longest_back} characters"
        );
    }

    #[test]
    fn a_gap_holds_what_lies_strictly_between_its_ends() {
        let gap = |low: Option<&str>, high: Option<&str>| Gap {
            low: low.map(pos),
            high: high.map(pos),
        };
        let inner = gap(Some("V"), Some("k"));
        let chosen = inner.position().unwrap();
        assert_eq!(chosen.as_str(), "c");
        assert!(inner.contains(&chosen));
        for outside in ["V", "k", "U", "kV", "z"] {
            assert!(!inner.contains(&pos(outside)), "{outside}");
        }
        assert!(inner.contains(&pos("V1")));
        assert!(inner.contains(&pos("jzz")));
        let open = gap(None, None);
        assert!(open.contains(&pos("1")) && open.contains(&pos("zz")));
        assert_eq!(open.position().unwrap().as_str(), "V");
        assert!(gap(Some("k"), None).contains(&pos("kV")));
        assert!(!gap(None, Some("k")).contains(&pos("k")));
        assert_eq!(
            gap(Some("k"), Some("k")).position(),
            None,
            "no room in a tie"
        );
    }

    #[test]
    fn initial_keys_interleave_with_between() {
        let now = Utc::now();
        let first = Position::initial(now, id(5));
        let same_time = Position::initial(now, id(6));
        let later = Position::initial(now + TimeDelta::microseconds(1), id(1));
        for (low, high) in [(&first, &same_time), (&first, &later), (&same_time, &later)] {
            let mid = Position::between(Some(low), Some(high)).unwrap();
            assert!(*low < mid && mid < *high, "{low} < {mid} < {high}");
        }
        let before_all = Position::between(None, Some(&first)).unwrap();
        assert!(before_all < first);
        let after_all = Position::between(Some(&later), None).unwrap();
        assert!(later < after_all);
        assert!(Position::initial(now + TimeDelta::seconds(1), id(0)) > later);
    }
}
