//! 月度考核通报: the city's monthly appraisal report, sent to each district with that
//! district's section, so the district reads it in its own instance without reaching the
//! city.

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use chrono::{DateTime, Utc};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::{Body, Kind, sha256_hex};

/// 月度考核通报 (city → district, since v1.7): a month's appraisal report as it concerns
/// this district — its standing among the districts, and its section's files. Sent once
/// per month in the transaction that publishes the report; a district keeps the first it
/// takes of each month.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct ReportNotice {
    /// The month reported, `2026-10` (the city's time zone).
    #[schemars(regex(pattern = r"^[0-9]{4}-(0[1-9]|1[0-2])$"))]
    pub month: String,
    pub published_at: DateTime<Utc>,
    /// This district's rank (1 is best; ties share one); absent when it is not ranked —
    /// not reconciled past the month's end, or nothing to appraise.
    pub rank: Option<u32>,
    /// How many districts were ranked.
    pub ranked: u32,
    /// 综合指标值 in hundredths of a point (0–10000).
    pub composite: Option<i64>,
    /// 等级, `A` to `E`.
    pub grade: Option<String>,
    /// Whether the city counted this district's month complete.
    pub complete: bool,
    /// The section's files, each whole, as many as fit one message (the page first).
    pub files: Vec<ReportFile>,
    /// Files of the section that did not fit; the city keeps them
    /// (`GET /api/v1/city/reports/{month}/{file}`).
    pub omitted: Vec<String>,
}

impl Body for ReportNotice {
    const KIND: Kind = Kind::ReportNotice;
}

/// One file of a report section, carried whole.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct ReportFile {
    /// `report.html`, `report.pdf`, `report.xlsx`, `meta.json`, `<table>.csv|json`.
    #[schemars(regex(pattern = r"^[a-z0-9_]+\.(html|pdf|xlsx|csv|json)$"))]
    pub name: String,
    pub content_type: String,
    /// SHA-256 of the bytes, lowercase hex.
    #[schemars(regex(pattern = r"^[0-9a-f]{64}$"))]
    pub sha256: String,
    /// The bytes, standard base64 with padding.
    pub data: String,
}

impl ReportFile {
    pub fn new(name: &str, content_type: &str, bytes: &[u8]) -> ReportFile {
        ReportFile {
            name: name.to_owned(),
            content_type: content_type.to_owned(),
            sha256: sha256_hex(bytes),
            data: STANDARD.encode(bytes),
        }
    }

    /// Bytes the file takes in a message (base64 and its other fields).
    pub fn encoded_len(bytes: usize) -> usize {
        bytes.div_ceil(3) * 4 + 256
    }

    /// The bytes, checked against the hash.
    pub fn decode(&self) -> Result<Vec<u8>, String> {
        let bytes = STANDARD
            .decode(&self.data)
            .map_err(|_| format!("{}: not base64", self.name))?;
        let got = sha256_hex(&bytes);
        if got != self.sha256 {
            return Err(format!(
                "{}: SHA-256 {got}, not {} as announced",
                self.name, self.sha256
            ));
        }
        Ok(bytes)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_file_decodes_only_to_the_bytes_it_announced() {
        let file = ReportFile::new("report.html", "text/html; charset=utf-8", b"<p>ok</p>");
        assert_eq!(file.decode().expect("bytes"), b"<p>ok</p>");
        assert!(file.data.len() + 256 <= ReportFile::encoded_len(9));
        let tampered = ReportFile {
            data: STANDARD.encode(b"<p>no</p>"),
            ..file.clone()
        };
        assert!(tampered.decode().unwrap_err().contains("SHA-256"));
        let garbled = ReportFile {
            data: "not base64!".into(),
            ..file
        };
        assert!(garbled.decode().is_err());
    }
}
