//! Query strings decoded strictly: every name and value must be UTF-8 once
//! percent-decoded, and the extractor of the routes whose parameters have a fixed shape.
//!
//! A lenient decoder (the one behind `web::Query`) turns `%FF` into U+FFFD and answers a
//! question nobody asked: `q=%FF%FE` searched for two replacement characters. Every route
//! that reads its query reads it through this module, so such a parameter is a 422 naming
//! it, like any other value that cannot be read.

use std::future::{Ready, ready};
use std::ops::Deref;

use actix_web::{FromRequest, HttpRequest, dev::Payload, web};
use percent_encoding::percent_decode;
use serde::de::DeserializeOwned;

use crate::error::{ApiError, FieldError};

/// What a query string holds: the parameters that decode, in order, and an error for each
/// one that does not (it is left out of `pairs`).
pub(crate) struct Decoded {
    pub pairs: Vec<(String, String)>,
    pub errors: Vec<FieldError>,
}

/// Splits a raw (percent-encoded) query string as `application/x-www-form-urlencoded`
/// does (on `&`, skipping empty pieces; the name ends at the first `=`; `+` is a space)
/// and percent-decodes each name and value. A parameter whose name or value is not UTF-8
/// once decoded is reported, named as decoded or, when its name is the part that does
/// not decode, as sent.
pub(crate) fn decode(raw: &str) -> Decoded {
    let mut decoded = Decoded {
        pairs: Vec::new(),
        errors: Vec::new(),
    };
    for piece in raw.split('&').filter(|piece| !piece.is_empty()) {
        let (name, value) = piece.split_once('=').unwrap_or((piece, ""));
        let Some(name_text) = text(name) else {
            decoded.errors.push(not_utf8(name));
            continue;
        };
        match text(value) {
            Some(value) => decoded.pairs.push((name_text, value)),
            None => decoded.errors.push(not_utf8(&name_text)),
        }
    }
    decoded
}

/// [`decode`], refusing the query when any parameter does not decode.
///
/// # Errors
/// `ApiError::Query` naming each parameter that is not UTF-8 once decoded.
pub(crate) fn pairs(raw: &str) -> Result<Vec<(String, String)>, ApiError> {
    let Decoded { pairs, errors } = decode(raw);
    if errors.is_empty() {
        Ok(pairs)
    } else {
        Err(ApiError::Query(errors))
    }
}

/// One name or value: `+` as a space, then percent-decoded; `None` when that is not UTF-8.
fn text(encoded: &str) -> Option<String> {
    let spaced: Vec<u8> = encoded
        .bytes()
        .map(|b| if b == b'+' { b' ' } else { b })
        .collect();
    String::from_utf8(percent_decode(&spaced).collect()).ok()
}

fn not_utf8(field: &str) -> FieldError {
    FieldError {
        field: field.to_owned(),
        message: "is not valid UTF-8 once percent-decoded".to_owned(),
    }
}

/// A route's parameters read into `T` (like `web::Query<T>`), once every one of them has
/// decoded strictly. `T` decides what is unknown, repeated or missing.
#[derive(Debug)]
pub struct Query<T>(pub T);

impl<T> Deref for Query<T> {
    type Target = T;

    fn deref(&self) -> &T {
        &self.0
    }
}

impl<T: DeserializeOwned> Query<T> {
    /// Reads a raw (percent-encoded) query string.
    ///
    /// # Errors
    /// `ApiError::Query` for parameters that do not decode; `ApiError::Shape` (naming the
    /// parameter when serde does) when they do not fit `T`.
    pub fn parse(raw: &str) -> Result<Self, ApiError> {
        pairs(raw)?;
        web::Query::<T>::from_query(raw)
            .map(|query| Self(query.into_inner()))
            .map_err(|err| query_error(&err))
    }
}

impl<T: DeserializeOwned> FromRequest for Query<T> {
    type Error = ApiError;
    type Future = Ready<Result<Self, ApiError>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        ready(Self::parse(req.query_string()))
    }
}

/// A query that decodes but does not fit its type, naming the parameter when serde does.
fn query_error(err: &actix_web::error::QueryPayloadError) -> ApiError {
    let text = err.to_string();
    let text = text
        .strip_prefix("Query deserialize error: ")
        .unwrap_or(&text)
        .to_owned();
    // serde names the parameter in backquotes: "unknown field `colour`, expected …".
    let field = ["unknown field `", "duplicate field `"]
        .iter()
        .find_map(|prefix| text.strip_prefix(prefix))
        .and_then(|rest| rest.split_once('`'))
        .map(|(name, _)| name.to_owned());
    ApiError::Shape {
        field,
        message: format!("invalid query string: {text}"),
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::indexing_slicing)]
mod tests {
    use super::*;

    fn fields(errors: &[FieldError]) -> Vec<&str> {
        errors.iter().map(|e| e.field.as_str()).collect()
    }

    #[test]
    fn decodes_like_a_form_and_reports_what_is_not_utf8() {
        let decoded = decode("a=1&&b&c=x+y%2B%C3%A9&d=%ZZ&=v&e=f=g");
        assert_eq!(
            decoded.pairs,
            [
                ("a", "1"),
                ("b", ""),
                ("c", "x y+é"),
                ("d", "%ZZ"),
                ("", "v"),
                ("e", "f=g")
            ]
            .map(|(n, v)| (n.to_owned(), v.to_owned()))
        );
        assert!(decoded.errors.is_empty());

        let decoded = decode("q=%FF%FE&ok=1&%C3=x&t=caf%C3&%FF");
        assert_eq!(decoded.pairs, [("ok".to_owned(), "1".to_owned())]);
        assert_eq!(fields(&decoded.errors), ["q", "%C3", "t", "%FF"]);
        assert_eq!(
            decoded.errors[0].message,
            "is not valid UTF-8 once percent-decoded"
        );
    }

    #[derive(Debug, serde::Deserialize)]
    #[serde(deny_unknown_fields)]
    struct Limit {
        limit: Option<String>,
    }

    #[test]
    fn a_typed_query_decodes_strictly_first() {
        assert_eq!(
            Query::<Limit>::parse("limit=5").unwrap().limit.as_deref(),
            Some("5")
        );
        assert!(matches!(
            Query::<Limit>::parse("limit=%FF"),
            Err(ApiError::Query(errors)) if fields(&errors) == ["limit"]
        ));
        assert!(matches!(
            Query::<Limit>::parse("colour=red"),
            Err(ApiError::Shape { field: Some(field), .. }) if field == "colour"
        ));
    }
}
