//! Photos in the warehouse: a manifest announces a photo, its chunks arrive in the same
//! stream (or later, asked for again); once all are there the photo is assembled and
//! checked against its manifest. Photos still missing their bytes are asked for again.

use chrono::{DateTime, Duration, Utc};
use citygrid_schemas as v1;
use diesel::prelude::*;
use std::collections::HashMap;

use super::commands::{enqueue_command, record_refusal};
use crate::error::Result;
use crate::intake::validate::Refusal;
use crate::schema::{media, media_chunks};

/// Stores a batch's chunks, then assembles the photos they may complete.
pub(super) fn store_chunks(conn: &mut PgConnection, chunks: &[&v1::MediaChunk]) -> Result<()> {
    for chunk in chunks {
        diesel::insert_into(media_chunks::table)
            .values((
                media_chunks::sha256.eq(&chunk.sha256),
                media_chunks::index.eq(chunk.index as i32),
                // Checked at intake: the data is base64.
                media_chunks::data.eq(base64_decode(&chunk.data).unwrap_or_default()),
            ))
            .on_conflict_do_nothing()
            .execute(conn)?;
    }
    // Chunks that come after their manifest (asked for again): the photo may be whole now.
    let mut shas: Vec<&str> = chunks.iter().map(|chunk| chunk.sha256.as_str()).collect();
    shas.sort_unstable();
    shas.dedup();
    for sha in shas {
        let known: Option<(String, String, i64, String, Option<i64>)> = media::table
            .find(sha)
            .filter(media::verified_at.is_null())
            .select((
                media::sha256,
                media::content_type,
                media::size_bytes,
                media::first_district,
                media::manifest_seq,
            ))
            .first(conn)
            .optional()?;
        if let Some((sha256, content_type, size, district, seq)) = known {
            let manifest = v1::MediaManifest {
                chunks: (size.max(0) as u64)
                    .div_ceil(v1::MEDIA_CHUNK_BYTES as u64)
                    .max(1) as u32,
                sha256,
                content_type,
                size_bytes: size.max(0) as u64,
                chunk_bytes: v1::MEDIA_CHUNK_BYTES as u32,
                case_id: uuid::Uuid::nil(),
            };
            verify_media(conn, &district, seq, &manifest)?;
        }
    }
    Ok(())
}

/// Records a photo announced by a district's manifest (the first district to announce it
/// keeps it), then assembles it if its chunks are all there.
pub(super) fn store_manifest(
    conn: &mut PgConnection,
    district: &str,
    seq: i64,
    m: &v1::MediaManifest,
) -> Result<()> {
    diesel::insert_into(media::table)
        .values((
            media::sha256.eq(&m.sha256),
            media::content_type.eq(&m.content_type),
            media::size_bytes.eq(m.size_bytes as i64),
            media::first_district.eq(district),
            media::manifest_seq.eq(seq),
        ))
        .on_conflict_do_nothing()
        .execute(conn)?;
    verify_media(conn, district, Some(seq), m)
}

fn base64_decode(data: &str) -> Option<Vec<u8>> {
    use base64::Engine;
    base64::engine::general_purpose::STANDARD.decode(data).ok()
}

/// Assembles a photo from its chunks once all are there; a photo whose bytes do not
/// match its manifest is reported to the district, naming the manifest (`seq`: its stream
/// position, unknown only for photos announced before the warehouse kept it).
fn verify_media(
    conn: &mut PgConnection,
    district: &str,
    seq: Option<i64>,
    m: &v1::MediaManifest,
) -> Result<()> {
    let done: Option<Option<DateTime<Utc>>> = media::table
        .find(&m.sha256)
        .select(media::verified_at)
        .first(conn)
        .optional()?;
    if matches!(done, Some(Some(_))) {
        return Ok(());
    }
    let chunks: Vec<(i32, Vec<u8>)> = media_chunks::table
        .filter(media_chunks::sha256.eq(&m.sha256))
        .order(media_chunks::index.asc())
        .select((media_chunks::index, media_chunks::data))
        .load(conn)?;
    if chunks.len() < m.chunks as usize {
        return Ok(());
    }
    let bytes: Vec<u8> = chunks.into_iter().flat_map(|(_, d)| d).collect();
    if bytes.len() as u64 != m.size_bytes || v1::sha256_hex(&bytes) != m.sha256 {
        // The chunks go, so the ones the district sends again (asked for by
        // `request_missing_media`) replace them instead of being ignored as duplicates.
        diesel::delete(media_chunks::table.filter(media_chunks::sha256.eq(&m.sha256)))
            .execute(conn)?;
        return record_refusal(
            conn,
            &Refusal {
                district: Some(district.to_owned()),
                dead_lettered: false,
                rejection: Box::new(v1::Rejection {
                    message_id: seq.map(|s| v1::message_id(district, s as u64)),
                    kind: Some("media_manifest".into()),
                    seq: seq.map(|s| s as u64),
                    code: v1::RejectionCode::MediaMismatch,
                    message: format!("the chunks of {} do not add up to its manifest", m.sha256),
                    field: None,
                }),
            },
        );
    }
    diesel::update(media::table.find(&m.sha256))
        .set((media::bytes.eq(bytes), media::verified_at.eq(Utc::now())))
        .execute(conn)?;
    diesel::delete(media_chunks::table.filter(media_chunks::sha256.eq(&m.sha256))).execute(conn)?;
    Ok(())
}

/// Photos announced longer than `gap` ago whose bytes have not arrived (or did not match):
/// asks each district for them again (at most 50 a request). The wait doubles with each
/// request; after `max` requests the exchange stops asking, tells the district once
/// (`media_mismatch`, naming the manifest) and counts the photo as unrepaired.
pub fn request_missing_media(conn: &mut PgConnection, gap: Duration, max: u32) -> Result<usize> {
    conn.transaction(|conn| {
        let now = Utc::now();
        let gap_seconds = gap.num_seconds().max(1) as f64;
        let due: Vec<Due> = diesel::sql_query(
            "SELECT first_district, sha256, requests, manifest_seq FROM media \
             WHERE verified_at IS NULL AND given_up_at IS NULL AND announced_at < $1 \
               AND (requested_at IS NULL \
                    OR requested_at < $2 - make_interval(secs => $3 * power(2, requests - 1))) \
             ORDER BY announced_at LIMIT 500 FOR UPDATE SKIP LOCKED",
        )
        .bind::<diesel::sql_types::Timestamptz, _>(now - gap)
        .bind::<diesel::sql_types::Timestamptz, _>(now)
        .bind::<diesel::sql_types::Double, _>(gap_seconds)
        .load(conn)?;
        let mut by_district: HashMap<&str, Vec<String>> = HashMap::new();
        for photo in &due {
            if photo.requests >= max as i32 {
                give_up(conn, photo, max)?;
            } else {
                by_district
                    .entry(photo.first_district.as_str())
                    .or_default()
                    .push(photo.sha256.clone());
            }
        }
        let mut districts: Vec<_> = by_district.into_iter().collect();
        districts.sort();
        for (district, shas) in districts {
            for part in shas.chunks(50) {
                enqueue_command(
                    conn,
                    district,
                    v1::MediaRequest {
                        sha256: part.to_vec(),
                    },
                )?;
            }
        }
        let shas: Vec<&String> = due.iter().map(|photo| &photo.sha256).collect();
        diesel::update(media::table.filter(media::sha256.eq_any(&shas)))
            .set((
                media::requested_at.eq(now),
                media::requests.eq(media::requests + 1),
            ))
            .execute(conn)?;
        Ok(due
            .iter()
            .filter(|photo| photo.requests < max as i32)
            .count())
    })
}

/// A photo waiting for its bytes, as `request_missing_media` reads it.
#[derive(QueryableByName)]
struct Due {
    #[diesel(sql_type = diesel::sql_types::Text)]
    first_district: String,
    #[diesel(sql_type = diesel::sql_types::Text)]
    sha256: String,
    #[diesel(sql_type = diesel::sql_types::Integer)]
    requests: i32,
    #[diesel(sql_type = diesel::sql_types::Nullable<diesel::sql_types::BigInt>)]
    manifest_seq: Option<i64>,
}

/// The last word on a photo the district could not repair: one rejection naming its
/// manifest (the district shows it with its other rejections).
fn give_up(conn: &mut PgConnection, photo: &Due, max: u32) -> Result<()> {
    diesel::update(media::table.find(&photo.sha256))
        .set(media::given_up_at.eq(Utc::now()))
        .execute(conn)?;
    tracing::warn!(district = %photo.first_district, sha256 = %photo.sha256, requests = max, "photo still without valid bytes; no longer asked for");
    record_refusal(
        conn,
        &Refusal {
            district: Some(photo.first_district.clone()),
            dead_lettered: false,
            rejection: Box::new(v1::Rejection {
                message_id: photo
                    .manifest_seq
                    .map(|s| v1::message_id(&photo.first_district, s as u64)),
                kind: Some("media_manifest".into()),
                seq: photo.manifest_seq.map(|s| s as u64),
                code: v1::RejectionCode::MediaMismatch,
                message: format!(
                    "asked {max} times, the bytes of {} never matched their manifest; the city stops asking",
                    photo.sha256
                ),
                field: None,
            }),
        },
    )
}
