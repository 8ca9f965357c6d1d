//! Photos: content-addressed by SHA-256, sent as chunks followed by their manifest.

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use uuid::Uuid;

use crate::{Body, Kind};

/// Bytes of a photo per `media_chunk` message: 256 KiB, which base64 makes about 342 KiB,
/// well inside [`crate::MAX_MESSAGE_BYTES`].
pub const MEDIA_CHUNK_BYTES: usize = 256 * 1024;

/// 媒体清单: sent right after the photo's chunks, so a receiver that has the manifest has
/// had every chunk offered to it and can check the hash.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct MediaManifest {
    /// SHA-256 of the bytes, lowercase hex: the photo's identity.
    #[schemars(regex(pattern = r"^[0-9a-f]{64}$"))]
    pub sha256: String,
    /// `image/jpeg`, `image/png` or `image/webp` (sniffed from the bytes).
    pub content_type: String,
    /// Size in bytes.
    pub size_bytes: u64,
    /// Bytes per chunk (the last chunk may be shorter).
    pub chunk_bytes: u32,
    /// Number of `media_chunk` messages.
    pub chunks: u32,
    /// The case whose record first referenced it.
    pub case_id: Uuid,
}

impl Body for MediaManifest {
    const KIND: Kind = Kind::MediaManifest;
}

/// 媒体分片: bytes `index * chunk_bytes ..` of the photo.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct MediaChunk {
    #[schemars(regex(pattern = r"^[0-9a-f]{64}$"))]
    pub sha256: String,
    /// From 0.
    pub index: u32,
    /// Number of chunks of this photo.
    pub count: u32,
    /// The bytes, standard base64 with padding.
    pub data: String,
}

impl Body for MediaChunk {
    const KIND: Kind = Kind::MediaChunk;
}

/// 媒体补发请求: photos whose manifest arrived but whose bytes did not (all chunks, or a
/// verified whole). The district publishes their chunks again (with the seq of their
/// manifest); nothing else changes.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct MediaRequest {
    /// Lowercase hex SHA-256 of each photo wanted.
    pub sha256: Vec<String>,
}

impl Body for MediaRequest {
    const KIND: Kind = Kind::MediaRequest;
}

/// The types a photo may be, wherever it travels (manifests, city problems) and whichever
/// side takes it in.
pub const PHOTO_TYPES: [&str; 3] = ["image/jpeg", "image/png", "image/webp"];

/// The photos of a [`crate::CityProblem`] together, in bytes: 360 KiB, which base64 makes
/// 480 KiB, so the message stays inside [`crate::MAX_MESSAGE_BYTES`] with its text. A city
/// supervisor's phone sends photos of a few hundred KiB at most (1280 px JPEG).
pub const CITY_PHOTO_BYTES: usize = 360 * 1024;

/// At most this many photos come with one city problem.
pub const CITY_PHOTOS: usize = 3;

/// A photo carried whole inside a message (a city problem's): small enough not to need
/// chunks, and the receiver has it the moment it has the message.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct InlinePhoto {
    /// SHA-256 of the bytes, lowercase hex: the photo's identity.
    #[schemars(regex(pattern = r"^[0-9a-f]{64}$"))]
    pub sha256: String,
    /// `image/jpeg`, `image/png` or `image/webp`.
    pub content_type: String,
    /// The bytes, standard base64 with padding.
    pub data: String,
}

impl InlinePhoto {
    pub fn new(bytes: &[u8], content_type: &str) -> InlinePhoto {
        InlinePhoto {
            sha256: sha256_hex(bytes),
            content_type: content_type.to_owned(),
            data: STANDARD.encode(bytes),
        }
    }

    /// The bytes, checked against the hash (the index in errors is the photo's).
    pub fn decode(&self, index: u32) -> Result<Vec<u8>, MediaError> {
        let bytes = STANDARD
            .decode(&self.data)
            .map_err(|_| MediaError::BadBase64(index))?;
        let got = sha256_hex(&bytes);
        if got != self.sha256 {
            return Err(MediaError::HashMismatch {
                expected: self.sha256.clone(),
                got,
            });
        }
        Ok(bytes)
    }
}

/// Hex SHA-256 of bytes.
pub fn sha256_hex(bytes: &[u8]) -> String {
    hex::encode(Sha256::digest(bytes))
}

/// Splits a photo into its manifest and chunks.
pub fn split_media(
    bytes: &[u8],
    content_type: &str,
    case_id: Uuid,
) -> (MediaManifest, Vec<MediaChunk>) {
    let sha256 = sha256_hex(bytes);
    let parts: Vec<&[u8]> = if bytes.is_empty() {
        vec![&[][..]]
    } else {
        bytes.chunks(MEDIA_CHUNK_BYTES).collect()
    };
    let count = parts.len() as u32;
    let chunks = parts
        .into_iter()
        .enumerate()
        .map(|(index, part)| MediaChunk {
            sha256: sha256.clone(),
            index: index as u32,
            count,
            data: STANDARD.encode(part),
        })
        .collect();
    let manifest = MediaManifest {
        sha256,
        content_type: content_type.to_owned(),
        size_bytes: bytes.len() as u64,
        chunk_bytes: MEDIA_CHUNK_BYTES as u32,
        chunks: count,
        case_id,
    };
    (manifest, chunks)
}

/// Why received chunks do not make the photo their manifest describes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum MediaError {
    MissingChunk(u32),
    BadBase64(u32),
    SizeMismatch { expected: u64, got: u64 },
    HashMismatch { expected: String, got: String },
}

impl std::fmt::Display for MediaError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            MediaError::MissingChunk(i) => write!(f, "chunk {i} is missing"),
            MediaError::BadBase64(i) => write!(f, "chunk {i} is not valid base64"),
            MediaError::SizeMismatch { expected, got } => {
                write!(f, "size is {got} bytes, the manifest says {expected}")
            }
            MediaError::HashMismatch { expected, got } => {
                write!(f, "SHA-256 is {got}, the manifest says {expected}")
            }
        }
    }
}

impl std::error::Error for MediaError {}

/// Puts chunks (any order) back together and checks them against the manifest.
pub fn assemble_media(
    manifest: &MediaManifest,
    chunks: &[MediaChunk],
) -> Result<Vec<u8>, MediaError> {
    let mut bytes = Vec::with_capacity(manifest.size_bytes as usize);
    for index in 0..manifest.chunks {
        let chunk = chunks
            .iter()
            .find(|c| c.sha256 == manifest.sha256 && c.index == index)
            .ok_or(MediaError::MissingChunk(index))?;
        let part = STANDARD
            .decode(&chunk.data)
            .map_err(|_| MediaError::BadBase64(index))?;
        bytes.extend_from_slice(&part);
    }
    if bytes.len() as u64 != manifest.size_bytes {
        return Err(MediaError::SizeMismatch {
            expected: manifest.size_bytes,
            got: bytes.len() as u64,
        });
    }
    let got = sha256_hex(&bytes);
    if got != manifest.sha256 {
        return Err(MediaError::HashMismatch {
            expected: manifest.sha256.clone(),
            got,
        });
    }
    Ok(bytes)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_photo_split_into_chunks_assembles_to_the_same_bytes() {
        let bytes: Vec<u8> = (0..(MEDIA_CHUNK_BYTES * 2 + 17))
            .map(|i| (i % 251) as u8)
            .collect();
        let (manifest, chunks) = split_media(&bytes, "image/jpeg", Uuid::nil());
        assert_eq!(manifest.chunks, 3);
        assert_eq!(chunks.len(), 3);
        let mut shuffled = chunks.clone();
        shuffled.reverse();
        assert_eq!(assemble_media(&manifest, &shuffled), Ok(bytes));
    }

    #[test]
    fn an_inline_photo_decodes_only_to_the_bytes_it_names() {
        let photo = InlinePhoto::new(b"jpeg bytes", "image/jpeg");
        assert_eq!(photo.decode(0), Ok(b"jpeg bytes".to_vec()));
        let altered = InlinePhoto {
            data: STANDARD.encode(b"other bytes"),
            ..photo.clone()
        };
        assert!(matches!(
            altered.decode(1),
            Err(MediaError::HashMismatch { .. })
        ));
        let garbled = InlinePhoto {
            data: "not base64!".into(),
            ..photo
        };
        assert_eq!(garbled.decode(2), Err(MediaError::BadBase64(2)));
    }

    #[test]
    fn a_missing_or_altered_chunk_is_named() {
        let bytes = vec![7u8; MEDIA_CHUNK_BYTES + 1];
        let (manifest, mut chunks) = split_media(&bytes, "image/png", Uuid::nil());
        assert_eq!(
            assemble_media(&manifest, &chunks[..1]),
            Err(MediaError::MissingChunk(1))
        );
        chunks[1].data = STANDARD.encode([8u8]);
        assert!(matches!(
            assemble_media(&manifest, &chunks),
            Err(MediaError::HashMismatch { .. })
        ));
    }
}
