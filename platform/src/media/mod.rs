//! Photos: sniffed from their bytes, stored once by SHA-256 under the tenant's data dir.

pub mod handlers;

use std::path::{Path, PathBuf};

use diesel::prelude::*;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;

use crate::error::{Error, Result};
use crate::schema::media;

/// The image types a report or a handling photo may be.
pub const ACCEPTED: [&str; 3] = ["image/jpeg", "image/png", "image/webp"];

#[derive(Debug, Clone, Queryable, Selectable, Serialize, Deserialize, ToSchema)]
#[diesel(table_name = media)]
pub struct Media {
    /// Lowercase hex SHA-256 of the bytes: the photo's name everywhere.
    pub sha256: String,
    pub content_type: String,
    pub size_bytes: i64,
}

/// The type the bytes really are, whatever the client called them.
pub fn sniff(bytes: &[u8]) -> Result<&'static str> {
    let kind = infer::get(bytes).map(|k| k.mime_type());
    match kind {
        Some(mime) if ACCEPTED.contains(&mime) => {
            Ok(ACCEPTED.into_iter().find(|a| *a == mime).unwrap_or(mime))
        }
        Some(other) => Err(Error::unsupported_media(format!(
            "{other}; accepted: {}",
            ACCEPTED.join(", ")
        ))),
        None => Err(Error::unsupported_media(format!(
            "not an image; accepted: {}",
            ACCEPTED.join(", ")
        ))),
    }
}

#[derive(Debug, Clone)]
pub struct MediaStore {
    root: PathBuf,
}

impl MediaStore {
    pub fn new(data_dir: &Path) -> MediaStore {
        MediaStore {
            root: data_dir.join("media"),
        }
    }

    /// `media/ab/cdef…`: two-character fan-out keeps directories small.
    pub fn path(&self, sha256: &str) -> PathBuf {
        self.root.join(&sha256[..2]).join(&sha256[2..])
    }

    /// Writes the bytes (atomically, via a temporary file and rename) unless already there.
    pub fn write(&self, sha256: &str, bytes: &[u8]) -> Result<()> {
        let path = self.path(sha256);
        if path.exists() {
            return Ok(());
        }
        let dir = path
            .parent()
            .ok_or_else(|| Error::internal("media path has no parent"))?;
        std::fs::create_dir_all(dir)?;
        let tmp = dir.join(format!(".{}.tmp", Uuid::new_v4()));
        std::fs::write(&tmp, bytes)?;
        std::fs::rename(&tmp, &path)?;
        Ok(())
    }
}

/// The same hash the interchange names photos by.
pub use citygrid_schemas::sha256_hex;

/// Stores an upload: file first, then the row, so a row always has its bytes.
/// Returns the media and whether it was new.
pub fn save(
    conn: &mut PgConnection,
    store: &MediaStore,
    bytes: &[u8],
    uploader: Option<Uuid>,
) -> Result<(Media, bool)> {
    let content_type = sniff(bytes)?;
    let sha256 = sha256_hex(bytes);
    store.write(&sha256, bytes)?;
    let inserted = diesel::insert_into(media::table)
        .values((
            media::sha256.eq(&sha256),
            media::content_type.eq(content_type),
            media::size_bytes.eq(bytes.len() as i64),
            media::uploaded_by.eq(uploader),
        ))
        .on_conflict_do_nothing()
        .execute(conn)?;
    let row = media::table
        .find(&sha256)
        .select(Media::as_select())
        .first(conn)?;
    Ok((row, inserted == 1))
}

pub fn find(conn: &mut PgConnection, sha256: &str) -> Result<Media> {
    media::table
        .find(sha256)
        .select(Media::as_select())
        .first(conn)
        .optional()?
        .ok_or_else(|| Error::not_found(format!("media {sha256}")))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::Kit;

    #[test]
    fn sniffs_by_bytes_not_by_name() {
        let png = [
            0x89, b'P', b'N', b'G', 0x0d, 0x0a, 0x1a, 0x0a, 0, 0, 0, 0x0d,
        ];
        let jpeg = [0xff, 0xd8, 0xff, 0xe0, 0, 0x10, b'J', b'F', b'I', b'F'];
        let webp = *b"RIFF\x10\0\0\0WEBPVP8 ";
        assert_eq!(sniff(&png).ok(), Some("image/png"));
        assert_eq!(sniff(&jpeg).ok(), Some("image/jpeg"));
        assert_eq!(sniff(&webp).ok(), Some("image/webp"));
        assert!(matches!(
            sniff(b"%PDF-1.7 hello"),
            Err(Error::Kit(Kit::UnsupportedMedia(_)))
        ));
        assert!(matches!(
            sniff(b"just text"),
            Err(Error::Kit(Kit::UnsupportedMedia(_)))
        ));
        assert!(matches!(
            sniff(b"GIF89a......"),
            Err(Error::Kit(Kit::UnsupportedMedia(_)))
        ));
    }
}
