//! Conditional requests on one task (RFC 9110 §13): its `ETag` is its version as a strong
//! entity tag (`"3"`); `If-Match` makes a write conditional on it, `If-None-Match` lets a
//! read answer 304 Not Modified.

use actix_web::HttpRequest;
use actix_web::http::header::{self, HeaderName};

/// The strong entity tag of a task at `version`: the number in double quotes.
#[must_use]
pub(crate) fn etag(version: i64) -> String {
    format!("\"{version}\"")
}

const IF_MATCH: &str = "If-Match";
const IF_NONE_MATCH: &str = "If-None-Match";

/// A malformed conditional header: which one, and the rule it broke. The error mapping
/// turns it into a 400 naming the header.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{header} {message}")]
pub(crate) struct HeaderError {
    pub(crate) header: &'static str,
    pub(crate) message: String,
}

fn bad(header: &'static str, message: impl Into<String>) -> HeaderError {
    HeaderError {
        header,
        message: message.into(),
    }
}

/// The comma-separated elements of every `name` header line, trimmed, empty ones dropped
/// (RFC 9110 §5.6.1); `None` when the header is absent.
fn elements(
    req: &HttpRequest,
    name: &HeaderName,
    label: &'static str,
) -> Result<Option<Vec<String>>, HeaderError> {
    let mut lines = req.headers().get_all(name).peekable();
    if lines.peek().is_none() {
        return Ok(None);
    }
    let mut elements = Vec::new();
    for line in lines {
        let text = line
            .to_str()
            .map_err(|_| bad(label, "must be visible ASCII text"))?;
        elements.extend(
            text.split(',')
                .map(str::trim)
                .filter(|e| !e.is_empty())
                .map(str::to_owned),
        );
    }
    if elements.is_empty() {
        return Err(bad(label, "must not be empty"));
    }
    Ok(Some(elements))
}

/// The opaque part of an entity tag `"…"` (no `W/`), if it is one.
fn opaque(tag: &str) -> Option<&str> {
    let inner = tag.strip_prefix('"')?.strip_suffix('"')?;
    // etagc: visible ASCII except the double quote, and obs-text.
    inner
        .bytes()
        .all(|b| b == 0x21 || (0x23..=0x7e).contains(&b) || b >= 0x80)
        .then_some(inner)
}

/// A version as this service writes it in an `ETag`: a positive integer without leading
/// zeros (a strong comparison is octet by octet, so `"03"` could never match).
fn version(opaque: &str) -> Option<i64> {
    let canonical = !opaque.is_empty()
        && opaque.bytes().all(|b| b.is_ascii_digit())
        && !(opaque.len() > 1 && opaque.starts_with('0'));
    canonical.then(|| opaque.parse().ok()).flatten()
}

/// The version a write is conditional on: `Some(n)` for `If-Match: "n"`; `None` when there
/// is no `If-Match` or it is `*` (any current version of an existing task).
///
/// # Errors
///
/// 400 naming the header when it is not exactly one strong entity tag holding a version,
/// or `*`: a weak tag (`W/"3"`, which `If-Match` must not match, RFC 9110 §13.1.1), an
/// unquoted or non-numeric one, or a list of several.
pub(crate) fn if_match(req: &HttpRequest) -> Result<Option<i64>, HeaderError> {
    const EXPECTED: &str =
        "must be the ETag of what it changes, a version in double quotes such as \"3\", or *";
    let Some(elements) = elements(req, &header::IF_MATCH, IF_MATCH)? else {
        return Ok(None);
    };
    let [tag] = elements.as_slice() else {
        return Err(bad(
            IF_MATCH,
            format!(
                "must hold a single entity tag (the ETag of what it changes) or *, not a list of {}",
                elements.len()
            ),
        ));
    };
    if tag == "*" {
        return Ok(None);
    }
    if let Some(strong) = tag.strip_prefix("W/") {
        return Err(bad(
            IF_MATCH,
            format!("must not use a weak entity tag ({tag}): send the strong ETag {strong}"),
        ));
    }
    opaque(tag)
        .and_then(version)
        .map(Some)
        .ok_or_else(|| bad(IF_MATCH, EXPECTED))
}

/// The entity tags of an `If-None-Match` header, parsed before the task is read so that a
/// malformed header is refused whatever the task.
#[derive(Debug)]
pub(crate) struct IfNoneMatch {
    any: bool,
    versions: Vec<i64>,
    /// Every tag's opaque part, for the collection tags.
    opaques: Vec<String>,
}

impl IfNoneMatch {
    /// `None` without the header.
    ///
    /// # Errors
    ///
    /// 400 naming the header when an element is neither `*` nor an entity tag.
    pub(crate) fn parse(req: &HttpRequest) -> Result<Option<Self>, HeaderError> {
        let Some(elements) = elements(req, &header::IF_NONE_MATCH, IF_NONE_MATCH)? else {
            return Ok(None);
        };
        let mut parsed = Self {
            any: false,
            versions: Vec::new(),
            opaques: Vec::new(),
        };
        for tag in &elements {
            if tag == "*" {
                parsed.any = true;
                continue;
            }
            // Compared weakly, as RFC 9110 §13.1.2 asks: `W/"3"` matches `"3"`.
            let strong = tag.strip_prefix("W/").unwrap_or(tag);
            let opaque = opaque(strong).ok_or_else(|| {
                bad(
                    IF_NONE_MATCH,
                    "must be * or a list of entity tags such as \"3\" (an ETag)",
                )
            })?;
            // Another server's tag is valid, it just never matches.
            parsed.versions.extend(version(opaque));
            parsed.opaques.push(opaque.to_owned());
        }
        Ok(Some(parsed))
    }

    /// Whether a task at `current` matches (then a GET answers 304).
    pub(crate) fn matches(&self, current: i64) -> bool {
        self.any || self.versions.contains(&current)
    }

    /// Whether a collection whose tag's opaque part is `opaque` matches.
    pub(crate) fn matches_collection(&self, opaque: &str) -> bool {
        self.any || self.opaques.iter().any(|o| o == opaque)
    }
}

/// A collection's tag, when one can be given: `(opaque part, ETag header value)`, from
/// the caller's newest change as this replica has read it (taken now, before the
/// collection is read) and what the request asks for. `None` without an event reader or
/// while its marks cannot be trusted.
///
/// # Errors
/// `Forbidden` when `principal` does not act for `owner`.
pub(crate) fn collection_etag(
    services: &crate::services::Services,
    principal: &todo_domain::Principal,
    owner: &todo_domain::UserId,
    req: &HttpRequest,
) -> Result<Option<(String, String)>, todo_application::ApplicationError> {
    let Some(hub) = &services.events else {
        return Ok(None);
    };
    let Some(mark) = hub.collection_mark(principal, owner)? else {
        return Ok(None);
    };
    let opaque = collection_tag(
        mark,
        &[req.path().as_bytes(), req.query_string().as_bytes()],
    );
    let header = format!("W/\"{opaque}\"");
    Ok(Some((opaque, header)))
}

/// The opaque part of a collection's weak entity tag: the caller's newest change as this
/// replica has read it (`mark`) and a hash of what was asked for (the path and query, and
/// the headers that shape the body). FNV-1a: the same on every replica and build, so that
/// a poll answered by another replica still matches.
pub(crate) fn collection_tag(mark: todo_domain::ChangeCursor, asked: &[&[u8]]) -> String {
    let mut hash = 0xcbf2_9ce4_8422_2325_u64;
    for part in asked {
        for b in part.iter().chain([&0xff_u8]) {
            hash = (hash ^ u64::from(*b)).wrapping_mul(0x0100_0000_01b3);
        }
    }
    format!("c{mark}.{hash:016x}")
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use actix_web::test::TestRequest;

    use super::*;

    fn with(name: &str, values: &[&str]) -> HttpRequest {
        values
            .iter()
            .fold(TestRequest::default(), |req, v| {
                req.append_header((name, *v))
            })
            .to_http_request()
    }

    fn if_match_of(values: &[&str]) -> Result<Option<i64>, String> {
        if_match(&with("if-match", values)).map_err(|e| e.to_string())
    }

    #[test]
    fn etags_are_quoted_versions() {
        assert_eq!(etag(1), "\"1\"");
        assert_eq!(etag(42), "\"42\"");
    }

    #[test]
    fn if_match_takes_one_strong_tag_or_a_star() {
        assert_eq!(if_match_of(&[]), Ok(None));
        assert_eq!(if_match_of(&["\"3\""]), Ok(Some(3)));
        assert_eq!(if_match_of(&[" \"12\" "]), Ok(Some(12)));
        assert_eq!(if_match_of(&["*"]), Ok(None));
        assert_eq!(
            if_match_of(&["\"9223372036854775807\""]),
            Ok(Some(i64::MAX))
        );
    }

    #[test]
    fn malformed_if_match_values_name_the_header() {
        for raw in [
            "3",
            "\"\"",
            "\"abc\"",
            "\"-1\"",
            "\"03\"",
            "\"3",
            "\"9223372036854775808\"",
            ",",
            "'3'",
        ] {
            let err = if_match_of(&[raw]).unwrap_err();
            assert!(err.starts_with("If-Match "), "{raw}: {err}");
        }
        assert_eq!(
            if_match_of(&["W/\"3\""]).unwrap_err(),
            "If-Match must not use a weak entity tag (W/\"3\"): send the strong ETag \"3\""
        );
        assert!(
            if_match_of(&["\"3\", \"4\""])
                .unwrap_err()
                .contains("single entity tag")
        );
        assert!(
            if_match_of(&["\"3\"", "\"4\""])
                .unwrap_err()
                .contains("not a list of 2")
        );
        assert!(if_match_of(&["*, \"4\""]).is_err());
    }

    #[test]
    fn if_none_match_compares_weakly_and_takes_lists() {
        let matches = |values: &[&str], v| {
            IfNoneMatch::parse(&with("if-none-match", values))
                .map(|parsed| parsed.is_some_and(|p| p.matches(v)))
        };
        assert!(!matches(&[], 3).unwrap());
        assert!(matches(&["\"3\""], 3).unwrap());
        assert!(!matches(&["\"3\""], 4).unwrap());
        assert!(matches(&["W/\"3\""], 3).unwrap());
        assert!(matches(&["\"1\", \"2\", W/\"3\""], 3).unwrap());
        assert!(matches(&["\"1\"", "\"3\""], 3).unwrap());
        assert!(matches(&["*"], 7).unwrap());
        assert!(!matches(&["\"abc\""], 3).unwrap(), "someone else's tag");
        let err = matches(&["3"], 3).unwrap_err().to_string();
        assert!(err.starts_with("If-None-Match "), "{err}");
    }
}
