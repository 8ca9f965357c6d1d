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

/// Photos announced longer than `gap` ago whose bytes have not arrived: asks each district
/// for them again (at most 50 a request), at most once per `gap` per photo.
pub fn request_missing_media(conn: &mut PgConnection, gap: Duration) -> Result<usize> {
    conn.transaction(|conn| {
        let now = Utc::now();
        let due: Vec<(String, String)> = media::table
            .filter(media::verified_at.is_null())
            .filter(media::announced_at.lt(now - gap))
            .filter(
                media::requested_at
                    .is_null()
                    .or(media::requested_at.lt(now - gap)),
            )
            .order(media::announced_at.asc())
            .limit(500)
            .select((media::first_district, media::sha256))
            .for_update()
            .skip_locked()
            .load(conn)?;
        let mut by_district: HashMap<String, Vec<String>> = HashMap::new();
        for (district, sha) in &due {
            by_district
                .entry(district.clone())
                .or_default()
                .push(sha.clone());
        }
        let mut districts: Vec<_> = by_district.into_iter().collect();
        districts.sort();
        for (district, shas) in districts {
            for part in shas.chunks(50) {
                enqueue_command(
                    conn,
                    &district,
                    v1::MediaRequest {
                        sha256: part.to_vec(),
                    },
                )?;
            }
        }
        let shas: Vec<&String> = due.iter().map(|(_, sha)| sha).collect();
        diesel::update(media::table.filter(media::sha256.eq_any(&shas)))
            .set(media::requested_at.eq(now))
            .execute(conn)?;
        Ok(due.len())
    })
}
