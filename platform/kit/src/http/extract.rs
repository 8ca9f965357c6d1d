//! What every request input goes through before a handler sees it: query strings and path
//! segments (the extractors here) and JSON bodies (the checks [`super::Json`] calls).
//!
//! Two rules hold for all of them:
//! - No text may contain U+0000: PostgreSQL `text` (and `jsonb`) cannot store it, so such
//!   input would otherwise reach the database and fail as a 500. It is refused with 422
//!   `invalid_field` naming the field, parameter or path segment.
//! - A query parameter the endpoint does not define is refused with 400 `unknown_parameter`
//!   naming it, so a misspelt filter (`?staet=filed`) is not silently ignored.

use std::future::{Ready, ready};

use actix_web::dev::{Payload, Url};
use actix_web::http::header;
use actix_web::{FromRequest, HttpRequest};
use serde::Deserialize;
use serde::de::{self, DeserializeOwned, Visitor};
use serde_json::Value;

use crate::error::Error;

/// Why text with U+0000 is refused; the message of every such refusal.
pub const NUL_MESSAGE: &str = "must not contain the NUL character (U+0000)";

/// A field name as a client can read it: a NUL in a name is shown as `\u0000`.
fn printable(name: &str) -> String {
    name.replace('\0', "\\u0000")
}

// --- JSON bodies -----------------------------------------------------------------------

/// A JSON body must say it is one: `application/json`, optionally with parameters such as
/// `charset`. Anything else, or nothing, is 415, which also keeps cross-site forms
/// (`text/plain`, `application/x-www-form-urlencoded`) from posting without a CORS preflight.
pub fn require_json(req: &HttpRequest) -> Result<(), Error> {
    let declared = req
        .headers()
        .get(header::CONTENT_TYPE)
        .map(|v| v.to_str().unwrap_or("(not ASCII)"));
    let essence = declared.map(|v| v.split(';').next().unwrap_or_default().trim());
    match essence {
        Some(e) if e.eq_ignore_ascii_case("application/json") => Ok(()),
        Some(other) => Err(Error::UnsupportedMedia(format!(
            "{other}; a JSON body is sent as Content-Type: application/json"
        ))),
        None => Err(Error::UnsupportedMedia(
            "no Content-Type; a JSON body is sent as Content-Type: application/json".into(),
        )),
    }
}

/// The JSON path (as `serde_path_to_error` writes it: `category.kind`, `photos[0]`) of the
/// first string or object key holding U+0000, if any.
///
/// In valid JSON a NUL can only be written as the escape `\u0000` (a raw NUL byte is a
/// syntax error, refused as `malformed_json`), so bodies without that sequence, nearly all,
/// are passed after one scan of the bytes; the others are parsed once more as a tree.
pub fn nul_in_json(bytes: &[u8]) -> Option<String> {
    const ESCAPE: &[u8] = b"\\u0000";
    if !bytes.windows(ESCAPE.len()).any(|w| w == ESCAPE) {
        return None;
    }
    // `\\u0000` (an escaped backslash, then `u0000`) also matches: the tree decides.
    let value: Value = serde_json::from_slice(bytes).ok()?;
    nul_path(&value, "").map(|path| if path.is_empty() { "body".into() } else { path })
}

fn nul_path(value: &Value, at: &str) -> Option<String> {
    match value {
        Value::String(s) => s.contains('\0').then(|| at.to_owned()),
        Value::Array(items) => items
            .iter()
            .enumerate()
            .find_map(|(i, item)| nul_path(item, &format!("{at}[{i}]"))),
        Value::Object(map) => map.iter().find_map(|(key, item)| {
            let path = if at.is_empty() {
                printable(key)
            } else {
                format!("{at}.{}", printable(key))
            };
            if key.contains('\0') {
                Some(path)
            } else {
                nul_path(item, &path)
            }
        }),
        Value::Null | Value::Bool(_) | Value::Number(_) => None,
    }
}

// --- Query strings ---------------------------------------------------------------------

/// A query string deserialised into `T` (a struct of optional filters), refusing unknown
/// parameters (400 `unknown_parameter`), text with U+0000 (422 naming the parameter) and
/// values of the wrong type (422 naming the parameter). Use instead of `web::Query`.
#[derive(Debug)]
pub struct Query<T>(pub T);

impl<T> Query<T> {
    pub fn into_inner(self) -> T {
        self.0
    }
}

impl<T> std::ops::Deref for Query<T> {
    type Target = T;

    fn deref(&self) -> &T {
        &self.0
    }
}

impl<T: DeserializeOwned> FromRequest for Query<T> {
    type Error = Error;
    type Future = Ready<Result<Self, Error>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        ready(parse_query(req.query_string()).map(Query))
    }
}

/// For endpoints that take no parameters at all: `Query<NoParams>` refuses any.
#[derive(Debug, Deserialize)]
pub struct NoParams {}

/// See [`Query`]. `query` is the raw string after `?`.
pub fn parse_query<T: DeserializeOwned>(query: &str) -> Result<T, Error> {
    let known = field_names::<T>();
    let mut seen = Vec::new();
    for (name, value) in form_urlencoded::parse(query.as_bytes()) {
        if name.contains('\0') || value.contains('\0') {
            return Err(Error::invalid(printable(&name), NUL_MESSAGE));
        }
        if known.is_some_and(|known| !known.contains(&name.as_ref())) {
            return Err(Error::UnknownParameter(name.into_owned()));
        }
        if seen.contains(&name) {
            return Err(Error::invalid(name, "given more than once"));
        }
        seen.push(name);
    }
    let de = serde_urlencoded::Deserializer::new(form_urlencoded::parse(query.as_bytes()));
    serde_path_to_error::deserialize(de).map_err(|e| {
        let path = e.path().to_string();
        let field = if path == "." { "query".into() } else { path };
        Error::invalid(field, format!("bad query parameter: {}", e.into_inner()))
    })
}

/// The field names of a struct, read from its derived `Deserialize` without any data:
/// serde passes them to `deserialize_struct`. `None` for anything that is not a struct
/// (a map, a `HashMap`, `()`): then every name is accepted.
fn field_names<T: DeserializeOwned>() -> Option<&'static [&'static str]> {
    let mut names = None;
    let _ = T::deserialize(FieldNames(&mut names));
    names
}

struct FieldNames<'a>(&'a mut Option<&'static [&'static str]>);

impl<'de> de::Deserializer<'de> for FieldNames<'_> {
    type Error = de::value::Error;

    fn deserialize_any<V: Visitor<'de>>(self, _: V) -> Result<V::Value, Self::Error> {
        Err(de::Error::custom("not a struct"))
    }

    fn deserialize_struct<V: Visitor<'de>>(
        self,
        _: &'static str,
        fields: &'static [&'static str],
        _: V,
    ) -> Result<V::Value, Self::Error> {
        *self.0 = Some(fields);
        Err(de::Error::custom("names read"))
    }

    serde::forward_to_deserialize_any! {
        bool i8 i16 i32 i64 i128 u8 u16 u32 u64 u128 f32 f64 char str string bytes byte_buf
        option unit unit_struct newtype_struct seq tuple tuple_struct map enum identifier
        ignored_any
    }
}

// --- Path segments ---------------------------------------------------------------------

/// Path segments (`{id}`, `{district}`) deserialised into `T`; a segment holding U+0000 or
/// not of the type (`not-a-uuid` for a `Uuid`) is 422 `invalid_field` naming the segment.
/// Use instead of `web::Path`, whose failures are a plain-text 404.
#[derive(Debug)]
pub struct Path<T>(pub T);

impl<T> Path<T> {
    pub fn into_inner(self) -> T {
        self.0
    }
}

impl<T: DeserializeOwned> FromRequest for Path<T> {
    type Error = Error;
    type Future = Ready<Result<Self, Error>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        ready(parse_path(req.match_info()).map(Path))
    }
}

/// See [`Path`].
pub fn parse_path<T: DeserializeOwned>(path: &actix_web::dev::Path<Url>) -> Result<T, Error> {
    let names: Vec<&str> = path.iter().map(|(name, _)| name).collect();
    if let Some((name, _)) = path.iter().find(|(_, value)| value.contains('\0')) {
        return Err(Error::invalid(name, NUL_MESSAGE));
    }
    serde_path_to_error::deserialize(actix_router::PathDeserializer::new(path)).map_err(|e| {
        // A tuple names segments by position, a struct by name, a single value not at all.
        let field = match e.path().iter().next() {
            Some(serde_path_to_error::Segment::Seq { index }) => names.get(*index).copied(),
            Some(serde_path_to_error::Segment::Map { key }) => Some(key.as_str()),
            _ if names.len() == 1 => names.first().copied(),
            _ => None,
        }
        .unwrap_or("path")
        .to_owned();
        Error::invalid(field, format!("bad path segment: {}", e.into_inner()))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, Deserialize, PartialEq)]
    struct Filters {
        state: Option<String>,
        limit: Option<i64>,
    }

    fn refusal<T: std::fmt::Debug>(result: Result<T, Error>) -> (u16, &'static str, String) {
        match result {
            Err(e) => (
                e.status().as_u16(),
                e.code(),
                e.field().unwrap_or_default().to_owned(),
            ),
            Ok(v) => panic!("accepted {v:?}"),
        }
    }

    #[test]
    fn queries_refuse_unknown_names_nul_and_wrong_types() {
        assert_eq!(
            parse_query::<Filters>("state=filed&limit=5").expect("valid"),
            Filters {
                state: Some("filed".into()),
                limit: Some(5)
            }
        );
        assert_eq!(
            parse_query::<Filters>("").expect("empty"),
            Filters {
                state: None,
                limit: None
            }
        );
        let table: [(&str, (u16, &str, &str)); 7] = [
            ("staet=filed", (400, "unknown_parameter", "staet")),
            ("state=filed&x=", (400, "unknown_parameter", "x")),
            ("state=a%00b", (422, "invalid_field", "state")),
            ("st%00ate=a", (422, "invalid_field", "st\\u0000ate")),
            ("limit=%00", (422, "invalid_field", "limit")),
            ("limit=ten", (422, "invalid_field", "limit")),
            ("state=a&state=b", (422, "invalid_field", "state")),
        ];
        for (query, (status, code, field)) in table {
            assert_eq!(
                refusal(parse_query::<Filters>(query)),
                (status, code, field.to_owned()),
                "{query}"
            );
        }
        assert!(parse_query::<NoParams>("").is_ok());
        assert_eq!(
            refusal(parse_query::<NoParams>("state=filed")),
            (400, "unknown_parameter", "state".into())
        );
    }

    #[test]
    fn nul_is_found_anywhere_in_a_json_document() {
        let table: [(&str, Option<&str>); 8] = [
            (r#"{"description": "ok"}"#, None),
            (r#"{"description": "a\\u0000b"}"#, None),
            (r#"{"description": "a\u0000b"}"#, Some("description")),
            (r#"{"category": {"kind": "\u0000"}}"#, Some("category.kind")),
            (r#"{"photos": ["x", "\u0000"]}"#, Some("photos[1]")),
            (r#"{"a": [{"b\u0000": 1}]}"#, Some("a[0].b\\u0000")),
            (r#""\u0000""#, Some("body")),
            (r#"{"broken": "\u0000"#, None),
        ];
        for (json, expected) in table {
            assert_eq!(nul_in_json(json.as_bytes()).as_deref(), expected, "{json}");
        }
    }
}
