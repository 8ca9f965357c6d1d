//! Caps on what a report or a step may carry (docs/API.md, "Limits"), checked as the body
//! is read so the 422 names the field: no case or record can grow towards the
//! interchange's 512 KiB message limit ([`citygrid_schemas::MAX_MESSAGE_BYTES`]). At the
//! caps a case snapshot stays under 40 KiB and a business record under 20 KiB, even when
//! every character is written as a 6-byte JSON escape (`\u0001`).
//!
//! Characters are Unicode scalar values: 4,000 Chinese characters are 12,000 bytes.

use serde::de::{Deserialize, Deserializer, Error as _};

use crate::error::{Error, Result};

/// `description` of a report or of the filing step.
pub const DESCRIPTION_CHARS: usize = 4_000;
/// `comment`, `reason` and a supervision order's `text`.
pub const COMMENT_CHARS: usize = 2_000;
/// `address` of a report.
pub const ADDRESS_CHARS: usize = 500;
/// `reporter_name`.
pub const NAME_CHARS: usize = 100;
/// `reporter_phone`.
pub const PHONE_CHARS: usize = 32;
/// Photos one report (`photos`) or one step (`media`) may name.
pub const PHOTOS: usize = 20;

fn too_long(max: usize, chars: usize) -> String {
    format!("at most {max} characters (this one has {chars})")
}

/// The domain's check of one text (for callers that do not come through a body).
pub fn check(field: &str, text: &str, max: usize) -> Result<()> {
    let chars = text.chars().count();
    if chars > max {
        return Err(Error::invalid(field, too_long(max, chars)));
    }
    Ok(())
}

fn capped<'de, D: Deserializer<'de>>(d: D, max: usize) -> Result<String, D::Error> {
    let text = String::deserialize(d)?;
    let chars = text.chars().count();
    if chars > max {
        return Err(D::Error::custom(too_long(max, chars)));
    }
    Ok(text)
}

fn capped_opt<'de, D: Deserializer<'de>>(d: D, max: usize) -> Result<Option<String>, D::Error> {
    Option::<String>::deserialize(d)?
        .map(|text| {
            let chars = text.chars().count();
            if chars > max {
                return Err(D::Error::custom(too_long(max, chars)));
            }
            Ok(text)
        })
        .transpose()
}

/// `#[serde(deserialize_with = "text::description")]`
pub fn description<'de, D: Deserializer<'de>>(d: D) -> Result<String, D::Error> {
    capped(d, DESCRIPTION_CHARS)
}

pub fn description_opt<'de, D: Deserializer<'de>>(d: D) -> Result<Option<String>, D::Error> {
    capped_opt(d, DESCRIPTION_CHARS)
}

/// A required `reason` or `text`.
pub fn comment<'de, D: Deserializer<'de>>(d: D) -> Result<String, D::Error> {
    capped(d, COMMENT_CHARS)
}

pub fn comment_opt<'de, D: Deserializer<'de>>(d: D) -> Result<Option<String>, D::Error> {
    capped_opt(d, COMMENT_CHARS)
}

pub fn address_opt<'de, D: Deserializer<'de>>(d: D) -> Result<Option<String>, D::Error> {
    capped_opt(d, ADDRESS_CHARS)
}

pub fn name_opt<'de, D: Deserializer<'de>>(d: D) -> Result<Option<String>, D::Error> {
    capped_opt(d, NAME_CHARS)
}

pub fn phone_opt<'de, D: Deserializer<'de>>(d: D) -> Result<Option<String>, D::Error> {
    capped_opt(d, PHONE_CHARS)
}

/// `photos` / `media`: at most [`PHOTOS`] hashes.
pub fn photos<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<String>, D::Error> {
    let hashes = Vec::<String>::deserialize(d)?;
    if hashes.len() > PHOTOS {
        return Err(D::Error::custom(format!(
            "at most {PHOTOS} photos (this list has {})",
            hashes.len()
        )));
    }
    Ok(hashes)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, serde::Deserialize)]
    #[serde(deny_unknown_fields)]
    #[expect(dead_code, reason = "fields exist to be deserialised")]
    struct Body {
        #[serde(deserialize_with = "description")]
        description: String,
        #[serde(default, deserialize_with = "comment_opt")]
        comment: Option<String>,
        #[serde(default, deserialize_with = "photos")]
        media: Vec<String>,
    }

    fn refusal(body: serde_json::Value) -> Option<(String, String)> {
        match citygrid_kit::http::parse::<Body>(body.to_string().as_bytes()) {
            Ok(_) => None,
            Err(citygrid_kit::Error::Invalid { field, message }) => Some((field, message)),
            Err(other) => panic!("unexpected {other:?}"),
        }
    }

    #[test]
    fn caps_count_characters_and_name_the_field() {
        let at_cap = "垃".repeat(DESCRIPTION_CHARS);
        assert_eq!(refusal(serde_json::json!({ "description": at_cap })), None);
        let (field, message) =
            refusal(serde_json::json!({ "description": format!("{at_cap}x") })).expect("refused");
        assert_eq!(field, "description");
        assert!(
            message.contains("at most 4000 characters (this one has 4001)"),
            "{message}"
        );
        let (field, _) = refusal(serde_json::json!({
            "description": "x", "comment": "c".repeat(COMMENT_CHARS + 1)
        }))
        .expect("refused");
        assert_eq!(field, "comment");
        assert_eq!(
            refusal(serde_json::json!({ "description": "x", "comment": null })),
            None
        );
        let (field, _) = refusal(serde_json::json!({
            "description": "x", "media": vec!["a"; PHOTOS + 1]
        }))
        .expect("refused");
        assert_eq!(field, "media");
        assert!(
            check(
                "description",
                &"x".repeat(DESCRIPTION_CHARS + 1),
                DESCRIPTION_CHARS
            )
            .is_err()
        );
    }
}
