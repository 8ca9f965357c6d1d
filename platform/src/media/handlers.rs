//! `POST /api/v1/media` (raw bytes) and `GET /api/v1/media/{sha256}`.

use actix_web::{HttpRequest, HttpResponse, http::header, web};
use citygrid_kit::http::Path;

use crate::app::AppState;
use crate::auth::{Caller, MaybeCaller};
use crate::db;
use crate::error::{Error, ErrorBody, Result};
use crate::media::{self, Media};

/// Upload a photo (JPEG, PNG or WebP) as the raw request body, with its type as the
/// `Content-Type` (`image/jpeg`, `image/png` or `image/webp`); the type is also read from
/// the bytes and must agree. The same bytes uploaded twice are stored once. Anonymous
/// uploads are allowed for public reports, within the `[limits]` of the caller's address.
/// A photo that no report or step references within `[limits] orphan_media_hours` (24)
/// is deleted.
#[utoipa::path(post, path = "/api/v1/media", tag = "media",
    request_body(content(
        (Vec<u8> = "image/jpeg"), (Vec<u8> = "image/png"), (Vec<u8> = "image/webp"))),
    responses((status = 201, body = Media), (status = 200, body = Media, description = "already stored"),
        (status = 413, body = ErrorBody), (status = 415, body = ErrorBody), (status = 429, body = ErrorBody)))]
pub async fn upload_media(
    state: web::Data<AppState>,
    caller: MaybeCaller,
    req: HttpRequest,
    payload: web::Payload,
) -> Result<HttpResponse> {
    let content_type = citygrid_kit::http::declared_type(&req, &media::ACCEPTED)?;
    let limit = state.tenant.config.media.max_bytes;
    let declared = req
        .headers()
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<usize>().ok());
    if declared.is_some_and(|n| n > limit) {
        return Err(Error::payload_too_large(limit));
    }
    let client = state.login.client(&req);
    let anonymous = caller.0.is_none();
    match &caller.0 {
        Some(c) => state.limits.staff_write(c.0.sub)?,
        None => state
            .limits
            .public_upload(client, declared.map(|n| n as u64))?,
    }
    let bytes = citygrid_kit::http::read_upload(&req, payload, limit).await?;
    if anonymous {
        state.limits.public_bytes(client, bytes.len() as u64)?;
    }
    let sniffed = media::sniff(&bytes)?;
    if sniffed != content_type {
        return Err(Error::unsupported_media(format!(
            "the bytes are {sniffed}, not the {content_type} the Content-Type says"
        )));
    }
    let uploader = caller.0.map(|c| c.0.sub);
    let store = state.media.clone();
    let (saved, created) = db::run(&state.pool, move |conn| {
        media::save(conn, &store, &bytes, uploader)
    })
    .await?;
    let mut response = if created {
        HttpResponse::Created()
    } else {
        HttpResponse::Ok()
    };
    Ok(response.json(saved))
}

/// Download a photo by its SHA-256.
#[utoipa::path(get, path = "/api/v1/media/{sha256}", tag = "media",
    params(("sha256" = String, Path, description = "lowercase hex SHA-256")),
    responses((status = 200, description = "the photo, in the type it was uploaded as",
        content((Vec<u8> = "image/jpeg"), (Vec<u8> = "image/png"), (Vec<u8> = "image/webp"))),
        (status = 404, body = ErrorBody)))]
pub async fn download_media(
    state: web::Data<AppState>,
    _caller: Caller,
    path: Path<String>,
) -> Result<HttpResponse> {
    let sha256 = path.into_inner();
    if sha256.len() != 64
        || !sha256
            .bytes()
            .all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'))
    {
        return Err(Error::invalid(
            "sha256",
            "must be 64 lowercase hex characters",
        ));
    }
    let found = db::run(&state.pool, move |conn| media::find(conn, &sha256)).await?;
    let file = state.media.path(&found.sha256);
    let bytes = web::block(move || std::fs::read(file))
        .await
        .map_err(|e| Error::internal(e.to_string()))?
        // Expired (an orphan) between the row read and the file read.
        .map_err(|e| match e.kind() {
            std::io::ErrorKind::NotFound => Error::not_found(format!("media {}", found.sha256)),
            _ => e.into(),
        })?;
    Ok(HttpResponse::Ok()
        .content_type(found.content_type.as_str())
        .insert_header((
            header::CACHE_CONTROL,
            "private, max-age=31536000, immutable",
        ))
        .insert_header((header::ETAG, format!("\"{}\"", found.sha256)))
        .body(bytes))
}
