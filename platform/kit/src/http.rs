//! The HTTP edge both sides share: the one error envelope and a JSON body extractor whose
//! errors name the field at fault; the query and path extractors ([`extract`]) and the
//! middleware ([`edge`]) that keep every other input and answer to the same contract, and
//! what both OpenAPI documents say of it ([`openapi`]).
//!
//! actix's own `Json` reports serde's message without the path; clients (and the error
//! contract) need `field`, so bodies go through `serde_path_to_error`.

pub mod edge;
pub mod extract;
pub mod openapi;
pub mod page;

pub use extract::{NUL_MESSAGE, NoParams, Path, Query};
pub use openapi::Contract;

use actix_web::{FromRequest, HttpRequest, HttpResponse, ResponseError, dev::Payload, web};
use futures::future::LocalBoxFuture;
use serde::Serialize;
use serde::de::DeserializeOwned;
use utoipa::ToSchema;

use crate::error::Error;

/// Largest JSON body accepted: requests carry text and media hashes, never media.
pub const MAX_JSON_BYTES: usize = 256 * 1024;

/// `{"error": {...}}`: the one error shape of every CityGrid API.
#[derive(Debug, Serialize, ToSchema)]
pub struct ErrorBody {
    pub error: ErrorDetail,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ErrorDetail {
    /// Stable, snake_case: clients branch on this, not on the message.
    pub code: String,
    pub message: String,
    /// The request field at fault (JSON path such as `category.major`), when there is one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub field: Option<String>,
    /// For 409 on a case: the state the case is in now, so a client can refresh without
    /// another request.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub current_state: Option<String>,
}

/// Renders an error in the envelope; a 5xx is logged here, once, with its internals.
pub fn error_response(
    error: &dyn std::fmt::Display,
    status: actix_web::http::StatusCode,
    detail: ErrorDetail,
) -> HttpResponse {
    if status.is_server_error() {
        tracing::error!(error = %error, "request failed");
    }
    HttpResponse::build(status).json(ErrorBody { error: detail })
}

impl ResponseError for Error {
    fn status_code(&self) -> actix_web::http::StatusCode {
        self.status()
    }

    fn error_response(&self) -> HttpResponse {
        let response = error_response(
            self,
            self.status(),
            ErrorDetail {
                code: self.code().to_owned(),
                message: self.public_message(),
                field: self.field().map(str::to_owned),
                current_state: None,
            },
        );
        with_retry_after(response, self)
    }
}

/// Adds `Retry-After` (seconds) when the error says how long to wait (429).
pub fn with_retry_after(mut response: HttpResponse, error: &Error) -> HttpResponse {
    if let Some(seconds) = error.retry_after() {
        response.headers_mut().insert(
            actix_web::http::header::RETRY_AFTER,
            actix_web::http::header::HeaderValue::from(seconds),
        );
    }
    response
}

/// A stored document as a download: a page or a PDF opens in the browser, anything else
/// (a workbook, a table) is saved, under `filename`.
pub fn document(content_type: String, bytes: Vec<u8>, filename: String) -> HttpResponse {
    use actix_web::http::header::{
        CONTENT_TYPE, ContentDisposition, DispositionParam, DispositionType,
    };
    let disposition = if filename.ends_with(".html") || filename.ends_with(".pdf") {
        DispositionType::Inline
    } else {
        DispositionType::Attachment
    };
    HttpResponse::Ok()
        .insert_header((CONTENT_TYPE, content_type))
        .insert_header(ContentDisposition {
            disposition,
            parameters: vec![DispositionParam::Filename(filename)],
        })
        .body(bytes)
}

#[derive(Debug)]
pub struct Json<T>(pub T);

impl<T: DeserializeOwned + 'static> FromRequest for Json<T> {
    type Error = Error;
    type Future = LocalBoxFuture<'static, Result<Self, Error>>;

    fn from_request(req: &HttpRequest, payload: &mut Payload) -> Self::Future {
        let declared = extract::require_json(req);
        let body = web::Bytes::from_request(req, payload);
        Box::pin(async move {
            declared?;
            let bytes =
                body.await
                    .map_err(|e| match e.as_response_error().status_code().as_u16() {
                        413 => Error::PayloadTooLarge {
                            limit: MAX_JSON_BYTES,
                        },
                        _ => Error::MalformedJson(e.to_string()),
                    })?;
            parse(&bytes).map(Json)
        })
    }
}

/// Syntax errors, and anything after the JSON value, are 400 `malformed_json`; a missing
/// field, wrong type or bad value, and text holding U+0000 (which PostgreSQL cannot store),
/// are 422 `invalid_field` with the JSON path of the field.
pub fn parse<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, Error> {
    if bytes.is_empty() {
        return Err(Error::MalformedJson(
            "the body is empty; a JSON object is expected".into(),
        ));
    }
    if let Some(field) = extract::nul_in_json(bytes) {
        return Err(Error::invalid(field, NUL_MESSAGE));
    }
    let de = &mut serde_json::Deserializer::from_slice(bytes);
    let value = serde_path_to_error::deserialize(&mut *de).map_err(|e| {
        let path = e.path().to_string();
        let inner = e.into_inner();
        if inner.is_syntax() || inner.is_eof() {
            return Error::MalformedJson(inner.to_string());
        }
        let message = inner.to_string();
        // A missing field is reported at its parent; name the field itself.
        let field = match (message.strip_prefix("missing field `"), path.as_str()) {
            (Some(rest), parent) => {
                let name = rest.split('`').next().unwrap_or_default();
                if parent == "." {
                    name.to_owned()
                } else {
                    format!("{parent}.{name}")
                }
            }
            (None, p) => p.to_owned(),
        };
        Error::invalid(field, message)
    })?;
    // `serde_json::from_slice` checks this; a bare `Deserializer` stops after the value.
    de.end()
        .map_err(|e| Error::MalformedJson(format!("{e}; send one JSON value")))?;
    Ok(value)
}

/// The type of `accepted` the request's `Content-Type` names (parameters and case
/// ignored), else 415: a form or a text/plain post from another site cannot upload.
pub fn declared_type(req: &HttpRequest, accepted: &[&'static str]) -> Result<&'static str, Error> {
    let declared = req
        .headers()
        .get(actix_web::http::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .map(|v| v.split(';').next().unwrap_or_default().trim());
    accepted
        .iter()
        .copied()
        .find(|a| declared.is_some_and(|d| d.eq_ignore_ascii_case(a)))
        .ok_or_else(|| {
            Error::UnsupportedMedia(format!(
                "Content-Type {}; a photo is sent as {}",
                declared.unwrap_or("missing"),
                accepted.join(", ")
            ))
        })
}

/// The request's `Idempotency-Key` header, if it has one: 1 to 128 visible ASCII
/// characters, else 422 on `Idempotency-Key`. Both sides scope keys to their caller.
pub fn idempotency_key(req: &HttpRequest) -> Result<Option<String>, Error> {
    let Some(value) = req.headers().get("Idempotency-Key") else {
        return Ok(None);
    };
    value
        .to_str()
        .ok()
        .filter(|k| !k.is_empty() && k.len() <= 128)
        .map(|k| Some(k.to_owned()))
        .ok_or_else(|| {
            Error::invalid(
                "Idempotency-Key",
                "must be 1 to 128 visible ASCII characters",
            )
        })
}

/// A raw upload's bytes, refused with 413 as soon as they pass `limit` (a declared
/// `Content-Length` over it is refused before reading) and with 422 when empty.
pub async fn read_upload(
    req: &HttpRequest,
    mut payload: web::Payload,
    limit: usize,
) -> Result<web::BytesMut, Error> {
    use futures::StreamExt;
    let declared = req
        .headers()
        .get(actix_web::http::header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<usize>().ok());
    if declared.is_some_and(|n| n > limit) {
        return Err(Error::PayloadTooLarge { limit });
    }
    let mut bytes = web::BytesMut::new();
    while let Some(chunk) = payload.next().await {
        let chunk =
            chunk.map_err(|e| Error::invalid("body", format!("upload interrupted: {e}")))?;
        if bytes.len() + chunk.len() > limit {
            return Err(Error::PayloadTooLarge { limit });
        }
        bytes.extend_from_slice(&chunk);
    }
    if bytes.is_empty() {
        return Err(Error::invalid("body", "the upload is empty"));
    }
    Ok(bytes)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, serde::Deserialize)]
    #[expect(dead_code, reason = "fields exist to be deserialised")]
    struct Body {
        name: String,
        point: Point,
    }

    #[derive(Debug, serde::Deserialize)]
    #[serde(deny_unknown_fields)]
    #[expect(dead_code, reason = "fields exist to be deserialised")]
    struct Point {
        lon: f64,
    }

    fn field(bytes: &[u8]) -> (String, Option<String>) {
        match parse::<Body>(bytes) {
            Err(Error::Invalid { field, .. }) => ("invalid".into(), Some(field)),
            Err(Error::MalformedJson(_)) => ("malformed".into(), None),
            other => panic!("unexpected {other:?}"),
        }
    }

    #[test]
    fn errors_name_the_field() {
        assert_eq!(
            field(br#"{"name": "x"}"#),
            ("invalid".into(), Some("point".into()))
        );
        assert_eq!(
            field(br#"{"name": "x", "point": {}}"#),
            ("invalid".into(), Some("point.lon".into()))
        );
        assert_eq!(
            field(br#"{"name": 3, "point": {"lon": 1}}"#),
            ("invalid".into(), Some("name".into()))
        );
        assert_eq!(
            field(br#"{"name": "x", "point": {"lon": "east"}}"#),
            ("invalid".into(), Some("point.lon".into()))
        );
        assert_eq!(field(br#"{"name": "x""#).0, "malformed");
        assert_eq!(field(b"").0, "malformed");
        assert_eq!(
            field(br#"{"name": "x", "point": {"lon": 1, "lat": 2}}"#),
            ("invalid".into(), Some("point.lat".into()))
        );
    }

    #[test]
    fn one_json_value_and_no_nul() {
        let good = r#"{"name": "x", "point": {"lon": 1}}"#;
        assert!(parse::<Body>(good.as_bytes()).is_ok());
        for trailing in [" {}", "x", "]", " {\"name\": \"y\"}"] {
            assert_eq!(
                field(format!("{good}{trailing}").as_bytes()).0,
                "malformed",
                "{trailing}"
            );
        }
        assert!(parse::<Body>(format!("{good} \n").as_bytes()).is_ok());
        assert_eq!(
            field(br#"{"name": "x\u0000", "point": {"lon": 1}}"#),
            ("invalid".into(), Some("name".into()))
        );
        assert_eq!(
            field(b"{\"name\": \"x\0\", \"point\": {\"lon\": 1}}").0,
            "malformed"
        );
    }

    #[test]
    fn internals_never_reach_the_client() {
        let e = Error::Internal("password=hunter2 in a query".into());
        assert_eq!(e.status().as_u16(), 500);
        assert!(!e.public_message().contains("hunter2"));
        let e = Error::Database(diesel::result::Error::NotFound);
        assert_eq!((e.status().as_u16(), e.code()), (404, "not_found"));
    }
}
