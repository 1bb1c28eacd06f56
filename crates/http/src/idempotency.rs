//! Idempotent creates: the `Idempotency-Key` header and the fingerprint of a create's body.

use actix_web::HttpRequest;
use actix_web::http::header::HeaderName;
use todo_application::Idempotency;
use todo_domain::{DomainError, IdempotencyKey};

use crate::error::{ApiError, Result};

/// The request header that makes a create idempotent.
pub const IDEMPOTENCY_KEY: HeaderName = HeaderName::from_static("idempotency-key");
/// The response header that marks a replayed create.
pub const IDEMPOTENT_REPLAYED: HeaderName = HeaderName::from_static("idempotent-replayed");

/// `value` as JSON without white space, object keys sorted (whatever order the map keeps
/// them in), so that equal JSON values are written alike.
fn write_canonical(out: &mut String, value: &serde_json::Value) {
    match value {
        serde_json::Value::Array(items) => {
            out.push('[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                write_canonical(out, item);
            }
            out.push(']');
        }
        serde_json::Value::Object(map) => {
            let mut entries: Vec<(&String, &serde_json::Value)> = map.iter().collect();
            entries.sort_by(|a, b| a.0.cmp(b.0));
            out.push('{');
            for (i, (key, item)) in entries.into_iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                out.push_str(&serde_json::Value::from(key.as_str()).to_string());
                out.push(':');
                write_canonical(out, item);
            }
            out.push('}');
        }
        scalar => out.push_str(&scalar.to_string()),
    }
}

/// The `Idempotency-Key` of a create and the fingerprint of its body: SHA-256 of the body
/// as canonical JSON (object keys sorted, no white space), so that a retry that writes the
/// same JSON differently still matches.
pub(crate) fn idempotency(req: &HttpRequest, body: &[u8]) -> Result<Option<Idempotency>> {
    scoped_idempotency(req, body, "")
}

/// [`idempotency`] for a create of something else than a task: `scope` (say `lists`)
/// goes into the fingerprint ahead of the body, so that a key a task create used is never
/// taken for one with the same body elsewhere (keys are shared per user).
pub(crate) fn scoped_idempotency(
    req: &HttpRequest,
    body: &[u8],
    scope: &str,
) -> Result<Option<Idempotency>> {
    use sha2::Digest as _;
    use std::fmt::Write as _;
    let mut values = req.headers().get_all(&IDEMPOTENCY_KEY);
    let Some(value) = values.next() else {
        return Ok(None);
    };
    let bad = |message: String| ApiError::BadHeader {
        header: "Idempotency-Key",
        message,
    };
    if values.next().is_some() {
        return Err(bad("must be given once".to_owned()));
    }
    let raw = value
        .to_str()
        .map_err(|_| bad("must be visible ASCII".to_owned()))?;
    // The problem names the header; the message is the rule it broke.
    let key = IdempotencyKey::parse(raw).map_err(|err| {
        bad(match err {
            DomainError::Invalid { reason, .. } => reason.to_string(),
            other => other.to_string(),
        })
    })?;
    // A body that is not JSON is refused right after this, so its fingerprint never counts.
    let mut canonical = String::with_capacity(body.len() + scope.len() + 1);
    if !scope.is_empty() {
        canonical.push_str(scope);
        canonical.push('\n');
    }
    if let Ok(value) = serde_json::from_slice::<serde_json::Value>(body) {
        write_canonical(&mut canonical, &value);
    }
    let digest = sha2::Sha256::digest(canonical.as_bytes());
    let mut fingerprint = String::with_capacity(64);
    for byte in digest {
        let _ = write!(fingerprint, "{byte:02x}");
    }
    Ok(Some(Idempotency { key, fingerprint }))
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn equal_json_is_written_alike_whatever_its_spelling() {
        let canonical = |raw: &str| {
            let mut out = String::new();
            write_canonical(&mut out, &serde_json::from_str(raw).unwrap());
            out
        };
        let a = canonical(
            r#"{"title": "Buy \"oat\" milk", "tags": ["b", "a"], "x": {"z": 1, "y": null}}"#,
        );
        let b = canonical(r#"{"x":{"y":null,"z":1},"tags":["b","a"],"title":"Buy \"oat\" milk"}"#);
        assert_eq!(a, b);
        assert_eq!(
            a,
            r#"{"tags":["b","a"],"title":"Buy \"oat\" milk","x":{"y":null,"z":1}}"#
        );
        // Array order and values still matter.
        assert_ne!(
            canonical(r#"{"tags":["a","b"]}"#),
            canonical(r#"{"tags":["b","a"]}"#)
        );
        assert_ne!(canonical(r#"{"n":1}"#), canonical(r#"{"n":1.5}"#));
    }
}
