//! Photos: sniffed from their bytes, stored once by SHA-256 under the tenant's data dir.

pub mod handlers;

use std::path::{Path, PathBuf};

use chrono::{DateTime, Utc};
use diesel::prelude::*;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;

use crate::db::{self, DbPool};
use crate::error::{Error, Result};
use crate::schema::media;

/// The image types a report or a handling photo may be.
pub const ACCEPTED: [&str; 3] = citygrid_schemas::PHOTO_TYPES;

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
///
/// The file is written again after the row if it is gone: an orphan of the same bytes may
/// have expired in between ([`expire_orphans`] removes files before its commit, and the
/// insert waits for that commit).
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
    store.write(&sha256, bytes)?;
    let row = media::table
        .find(&sha256)
        .select(Media::as_select())
        .first(conn)?;
    Ok((row, inserted == 1))
}

/// What one expiry pass deleted.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Expired {
    pub photos: usize,
    pub bytes: i64,
}

/// Deletes the photos uploaded before `cutoff` that no business record references and no
/// media manifest announced (rows and files), at most `batch` of them, oldest first.
///
/// A report or step naming a photo holds it `FOR KEY SHARE` until it commits (see
/// `require_media`): such rows are skipped, and once that commit has announced them they
/// are no longer candidates. Files are removed inside the transaction, before the commit,
/// so an upload of the same bytes waiting on the deleted row finds its file gone and
/// writes it again ([`save`]).
pub fn expire_orphans(
    conn: &mut PgConnection,
    store: &MediaStore,
    cutoff: DateTime<Utc>,
    batch: i64,
) -> Result<Expired> {
    #[derive(QueryableByName)]
    struct Gone {
        #[diesel(sql_type = diesel::sql_types::Text)]
        sha256: String,
        #[diesel(sql_type = diesel::sql_types::BigInt)]
        size_bytes: i64,
    }
    conn.transaction(|conn| {
        let gone: Vec<Gone> = diesel::sql_query(
            "DELETE FROM media WHERE sha256 IN ( \
                 SELECT m.sha256 FROM media m \
                 WHERE m.announced_seq IS NULL AND m.created_at < $1 \
                   AND NOT EXISTS (SELECT 1 FROM case_records r WHERE r.media @> ARRAY[m.sha256]) \
                 ORDER BY m.created_at \
                 LIMIT $2 \
                 FOR UPDATE SKIP LOCKED) \
             RETURNING sha256, size_bytes",
        )
        .bind::<diesel::sql_types::Timestamptz, _>(cutoff)
        .bind::<diesel::sql_types::BigInt, _>(batch)
        .load(conn)?;
        let mut expired = Expired::default();
        for photo in &gone {
            match std::fs::remove_file(store.path(&photo.sha256)) {
                Ok(()) => {}
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
                Err(e) => return Err(e.into()),
            }
            expired.photos += 1;
            expired.bytes += photo.size_bytes;
        }
        Ok(expired)
    })
}

/// Every orphan older than `max_age` at `now`, in batches. Blocking: run it off the async
/// threads.
pub fn expire_all(
    conn: &mut PgConnection,
    store: &MediaStore,
    max_age: std::time::Duration,
    now: DateTime<Utc>,
) -> Result<Expired> {
    const BATCH: i64 = 500;
    let age = chrono::Duration::from_std(max_age)
        .map_err(|e| Error::internal(format!("orphan age: {e}")))?;
    let mut total = Expired::default();
    loop {
        let round = expire_orphans(conn, store, now - age, BATCH)?;
        total.photos += round.photos;
        total.bytes += round.bytes;
        if (round.photos as i64) < BATCH {
            return Ok(total);
        }
    }
}

/// The expiry of orphan uploads in a district instance: a pass every `period`, the first
/// at start-up; each pass that deletes anything is logged with its counts.
pub async fn run_expiry(
    pool: DbPool,
    store: MediaStore,
    max_age: std::time::Duration,
    period: std::time::Duration,
) {
    let mut interval = tokio::time::interval(period);
    loop {
        interval.tick().await;
        let store = store.clone();
        let now = Utc::now();
        match db::run(&pool, move |conn| expire_all(conn, &store, max_age, now)).await {
            Ok(expired) if expired.photos > 0 => tracing::info!(
                media.expired = expired.photos,
                media.expired_bytes = expired.bytes,
                media.max_age_hours = max_age.as_secs() / 3600,
                "orphan uploads deleted"
            ),
            Ok(_) => {}
            Err(e) => {
                tracing::warn!(error = %e, "orphan upload expiry failed; retrying next period")
            }
        }
    }
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
