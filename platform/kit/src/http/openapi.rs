//! What both OpenAPI documents say about every operation besides its own answers: who may
//! call it (the `bearer` scheme, none, or either) and the refusals the shared edge gives
//! (the kit's extractors, the token check, the pool, the rate limits), each with the one
//! error body. Handlers document their 2xx and their own refusals (409 on a case, 403
//! `wrong_role`…); [`Contract`] adds the rest, so a client generated from the document, or
//! a fuzzer checking answers against it (docs/SECURITY.md, schemathesis), sees every
//! status the service really gives.

use utoipa::openapi::content::Content;
use utoipa::openapi::header::Header;
use utoipa::openapi::path::{Operation, ParameterIn};
use utoipa::openapi::response::Response;
use utoipa::openapi::schema::{Object, Ref, Type};
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityRequirement, SecurityScheme};
use utoipa::openapi::{OpenApi, RefOr};
use utoipa::{PartialSchema, ToSchema};

use super::{ErrorBody, ErrorDetail};

/// The name of the security scheme: `Authorization: Bearer <JWT>`.
pub const BEARER: &str = "bearer";

/// Who may call each operation, and which ones are rate limited; applied with
/// `modifiers(&CONTRACT)` on the `#[derive(OpenApi)]`. Operations are named
/// `"METHOD /path"` as in the document (`"POST /api/v1/auth/token"`); a name ending in
/// `*` covers every path that starts with what comes before it.
#[derive(Debug)]
pub struct Contract {
    /// Callable without a token; a token is not looked at (sign-in, health, …).
    pub public: &'static [&'static str],
    /// Callable without a token or with one (public reports): a token, when sent, must be
    /// valid and of a role that may (else 401 or 403).
    pub optional: &'static [&'static str],
    /// Under a write limit: 429 `rate_limited` with `Retry-After`.
    pub rate_limited: &'static [&'static str],
}

/// Every other operation needs a bearer token.
fn named(list: &[&str], method: &str, path: &str) -> bool {
    let name = format!("{} {path}", method.to_uppercase());
    list.iter().any(|entry| match entry.strip_suffix('*') {
        Some(prefix) => name.starts_with(prefix),
        None => *entry == name,
    })
}

impl utoipa::Modify for Contract {
    fn modify(&self, openapi: &mut OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            BEARER,
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .bearer_format("JWT")
                    .build(),
            ),
        );
        for (name, schema) in [
            (ErrorBody::name(), ErrorBody::schema()),
            (ErrorDetail::name(), ErrorDetail::schema()),
        ] {
            components
                .schemas
                .entry(name.into_owned())
                .or_insert(schema);
        }
        // Operations say who may call them; nothing is required document-wide.
        openapi.security = None;
        for (path, item) in openapi.paths.paths.iter_mut() {
            let operations = [
                ("get", &mut item.get),
                ("put", &mut item.put),
                ("post", &mut item.post),
                ("delete", &mut item.delete),
                ("options", &mut item.options),
                ("head", &mut item.head),
                ("patch", &mut item.patch),
                ("trace", &mut item.trace),
            ];
            for (method, operation) in operations {
                if let Some(operation) = operation.as_mut() {
                    self.complete(method, path, operation);
                }
            }
        }
    }
}

impl Contract {
    fn complete(&self, method: &str, path: &str, operation: &mut Operation) {
        let public = named(self.public, method, path);
        let optional = named(self.optional, method, path);
        let bearer = || SecurityRequirement::new(BEARER, Vec::<String>::new());
        operation.security = Some(if public {
            Vec::new()
        } else if optional {
            // `{}`: no token at all is one of the ways in.
            vec![SecurityRequirement::default(), bearer()]
        } else {
            vec![bearer()]
        });

        let parameters = operation.parameters.iter().flatten();
        let (mut query, mut in_path) = (false, false);
        for parameter in parameters {
            if let RefOr::T(p) = parameter {
                match p.parameter_in {
                    ParameterIn::Query => query = true,
                    ParameterIn::Path => in_path = true,
                    _ => {}
                }
            }
        }
        let json_body = matches!(&operation.request_body, Some(RefOr::T(body))
            if body.content.keys().any(|c| c.starts_with("application/json")));
        let other_body = operation.request_body.is_some() && !json_body;
        let api = path.starts_with("/api/");

        let mut add = |status: &str, description: &str| {
            let responses = &mut operation.responses.responses;
            if !responses.contains_key(status) {
                responses.insert(
                    status.to_owned(),
                    RefOr::T(error_response(status, description)),
                );
            }
        };
        if json_body || query {
            add(
                "400",
                "`malformed_json`: the body is not one JSON value; `unknown_parameter`: a query \
                 parameter the operation does not define (`field` names it)",
            );
        }
        if !public {
            add(
                "401",
                "`unauthenticated`: the bearer token is missing, malformed, forged, expired or \
                 revoked",
            );
            add(
                "403",
                "the token is valid but may not do this: `wrong_role`, `wrong_district`, …",
            );
        }
        if in_path {
            add("404", "`not_found`: nothing under this path");
        }
        if json_body || other_body {
            add(
                "413",
                "`payload_too_large`: the body is over the limit (JSON: 256 KiB)",
            );
            add(
                "415",
                "`unsupported_media_type`: the `Content-Type` is not the one documented",
            );
        }
        if json_body || query || in_path || other_body {
            add(
                "422",
                "`invalid_field`: a field, parameter or path segment is missing, of the wrong \
                 type, holds U+0000 or has a value the service refuses (`field` names it)",
            );
        }
        if named(self.rate_limited, method, path) {
            add(
                "429",
                "`rate_limited`: over a write limit; retry after `Retry-After` seconds",
            );
        }
        if api {
            add(
                "503",
                "`unavailable`: no database connection in time (retry later); \
                 `calendar_not_covered`: a deadline runs into a year without a holiday file",
            );
        }
        if let Some(RefOr::T(response)) = operation.responses.responses.get_mut("429") {
            response
                .headers
                .entry("Retry-After".to_owned())
                .or_insert_with(|| {
                    let mut header = Header::new(Object::with_type(Type::Integer));
                    header.description = Some("seconds to wait".to_owned());
                    RefOr::T(header)
                });
        }
    }
}

/// A refusal in the error envelope.
fn error_response(status: &str, description: &str) -> Response {
    let mut response = Response::new(format!("{status}: {description}"));
    response.content.insert(
        "application/json".to_owned(),
        RefOr::T(Content::new(Some(Ref::from_schema_name(ErrorBody::name())))),
    );
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_match_exactly_or_by_prefix() {
        let list = ["POST /api/v1/auth/token", "POST /api/v1/cases/{id}/*"];
        assert!(named(&list, "post", "/api/v1/auth/token"));
        assert!(!named(&list, "get", "/api/v1/auth/token"));
        assert!(!named(&list, "post", "/api/v1/auth/token/x"));
        assert!(named(&list, "post", "/api/v1/cases/{id}/file"));
        assert!(!named(&list, "post", "/api/v1/cases"));
    }
}
