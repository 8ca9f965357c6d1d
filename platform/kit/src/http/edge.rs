//! What both apps wrap around their routes so that every answer, also the ones no handler
//! wrote, keeps the contract: `X-Content-Type-Options: nosniff` on every response, the
//! JSON error body on every error (404 for no route, 405 for a route with another method,
//! and whatever actix itself refuses).
//!
//! ```ignore
//! App::new()
//!     .app_data(web::Data::new(edge::Allowed::from_openapi(&ApiDoc::openapi())))
//!     .wrap(edge::json_errors())
//!     .wrap(edge::default_headers())
//!     .default_service(web::to(edge::unmatched))
//! ```

use std::collections::HashMap;

use actix_web::body::MessageBody;
use actix_web::dev::ServiceResponse;
use actix_web::http::{StatusCode, header};
use actix_web::middleware::{DefaultHeaders, ErrorHandlerResponse, ErrorHandlers};
use actix_web::{HttpRequest, HttpResponse, ResponseError, web};

use super::{ErrorBody, ErrorDetail};
use crate::error::Error;

/// Headers every response carries: browsers must not guess a type other than the one
/// declared (a photo is only ever an image, an error only JSON).
pub fn default_headers() -> DefaultHeaders {
    DefaultHeaders::new().add((header::X_CONTENT_TYPE_OPTIONS, "nosniff"))
}

/// The methods each route pattern (`/api/v1/cases/{id}`) answers, for the `Allow` header
/// every 405 must carry (RFC 9110). Read from the app's OpenAPI document, which tests keep
/// equal to its routes; register it with `app_data(web::Data::new(…))`.
#[derive(Debug, Clone, Default)]
pub struct Allowed(HashMap<String, Vec<String>>);

impl Allowed {
    pub fn from_openapi(doc: &utoipa::openapi::OpenApi) -> Allowed {
        let mut allowed = Allowed::default();
        for (path, item) in &doc.paths.paths {
            let methods = [
                ("GET", item.get.is_some()),
                ("PUT", item.put.is_some()),
                ("POST", item.post.is_some()),
                ("DELETE", item.delete.is_some()),
                ("OPTIONS", item.options.is_some()),
                ("HEAD", item.head.is_some()),
                ("PATCH", item.patch.is_some()),
                ("TRACE", item.trace.is_some()),
            ];
            for (method, present) in methods {
                if present {
                    allowed = allowed.with(path, method);
                }
            }
        }
        allowed
    }

    /// A route the document does not list (the document itself, its page).
    pub fn with(mut self, pattern: &str, method: &str) -> Allowed {
        let methods = self.0.entry(pattern.to_owned()).or_default();
        if !methods.iter().any(|m| m == method) {
            methods.push(method.to_owned());
        }
        self
    }
}

/// The default service of both apps: 405 `method_not_allowed` when a route exists for the
/// path with other methods (with `Allow` when [`Allowed`] knows them), else 404 `not_found`.
pub async fn unmatched(req: HttpRequest) -> Result<HttpResponse, Error> {
    let map = req.resource_map();
    if map.has_resource(req.path()) {
        let refused =
            Error::MethodNotAllowed(format!("{} is not allowed on {}", req.method(), req.path()));
        let allow = req.app_data::<web::Data<Allowed>>().and_then(|allowed| {
            let pattern = map.match_pattern(req.path())?;
            allowed.0.get(&pattern).map(|methods| methods.join(", "))
        });
        let Some(allow) = allow.and_then(|a| header::HeaderValue::from_str(&a).ok()) else {
            return Err(refused);
        };
        let mut response = refused.error_response();
        response.headers_mut().insert(header::ALLOW, allow);
        Ok(response)
    } else {
        Err(Error::NotFound(format!(
            "route {} {}",
            req.method(),
            req.path()
        )))
    }
}

/// Rewrites an error response whose body is not JSON (actix's own refusals: an empty 405,
/// a plain-text 400 or 404) into the envelope, keeping its status and headers.
pub fn json_errors<B: MessageBody + 'static>() -> ErrorHandlers<B> {
    ErrorHandlers::new().default_handler(to_envelope)
}

fn to_envelope<B: MessageBody + 'static>(
    res: ServiceResponse<B>,
) -> actix_web::Result<ErrorHandlerResponse<B>> {
    let is_json = res
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("application/json"));
    if is_json {
        return Ok(ErrorHandlerResponse::Response(res.map_into_left_body()));
    }
    let (req, res) = res.into_parts();
    let status = res.status();
    let body = serde_json::to_string(&ErrorBody {
        error: ErrorDetail {
            code: code_of(status),
            message: format!(
                "{} {}: {}",
                req.method(),
                req.path(),
                status.canonical_reason().unwrap_or("error").to_lowercase()
            ),
            field: None,
            current_state: None,
        },
    })
    .unwrap_or_default();
    let mut res = res.set_body(body);
    res.headers_mut().insert(
        header::CONTENT_TYPE,
        header::HeaderValue::from_static("application/json"),
    );
    let res = ServiceResponse::new(req, res)
        .map_into_boxed_body()
        .map_into_right_body();
    Ok(ErrorHandlerResponse::Response(res))
}

/// The snake_case code of a status actix answered by itself (`method_not_allowed`); the
/// two server errors use the kit's codes.
fn code_of(status: StatusCode) -> String {
    match status {
        StatusCode::INTERNAL_SERVER_ERROR => "internal".into(),
        StatusCode::SERVICE_UNAVAILABLE => "unavailable".into(),
        other => other
            .canonical_reason()
            .unwrap_or("error")
            .to_lowercase()
            .replace([' ', '-'], "_"),
    }
}

#[cfg(test)]
mod tests {
    use actix_web::{App, test, web};

    use super::*;

    #[actix_web::test]
    async fn every_error_is_json_and_nothing_is_sniffed() {
        let app = test::init_service(
            App::new()
                .wrap(json_errors())
                .wrap(default_headers())
                // A resource of its own: actix answers another method with an empty 405.
                .app_data(web::Data::new(Allowed::default().with("/guarded", "GET")))
                .service(web::resource("/only-get").route(web::get().to(HttpResponse::Ok)))
                .route("/guarded", web::get().to(HttpResponse::Ok))
                .route(
                    "/plain",
                    web::get().to(|| async { HttpResponse::BadRequest().body("plain text") }),
                )
                .route(
                    "/ours",
                    web::get().to(|| async {
                        Err::<HttpResponse, _>(Error::invalid("x", "not like this"))
                    }),
                )
                .default_service(web::to(unmatched)),
        )
        .await;
        // method, path → status, error code, error field
        type Row<'a> = (&'a str, &'a str, u16, Option<&'a str>, Option<&'a str>);
        let table: [Row; 7] = [
            ("GET", "/only-get", 200, None, None),
            ("POST", "/only-get", 405, Some("method_not_allowed"), None),
            ("POST", "/guarded", 405, Some("method_not_allowed"), None),
            ("GET", "/nowhere", 404, Some("not_found"), None),
            ("GET", "/nowhere/%00", 404, Some("not_found"), None),
            ("GET", "/plain", 400, Some("bad_request"), None),
            ("GET", "/ours", 422, Some("invalid_field"), Some("x")),
        ];
        for (method, path, status, code, field) in table {
            let request = test::TestRequest::default()
                .method(method.parse().expect("method"))
                .uri(path)
                .to_request();
            let response = test::call_service(&app, request).await;
            assert_eq!(response.status().as_u16(), status, "{method} {path}");
            assert_eq!(
                response.headers().get(header::X_CONTENT_TYPE_OPTIONS),
                Some(&header::HeaderValue::from_static("nosniff")),
                "{method} {path}"
            );
            if status == 200 {
                continue;
            }
            if path == "/guarded" {
                // RFC 9110: a 405 says which methods the route answers.
                assert_eq!(
                    response.headers().get(header::ALLOW),
                    Some(&header::HeaderValue::from_static("GET"))
                );
            }
            let body: serde_json::Value = test::read_body_json(response).await;
            assert_eq!(
                (
                    body["error"]["code"].as_str(),
                    body["error"]["field"].as_str()
                ),
                (code, field),
                "{method} {path}: {body}"
            );
            assert!(body["error"]["message"].is_string(), "{body}");
        }
    }
}
