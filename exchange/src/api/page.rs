//! Where a page of `GET /api/v1/city/cases` ends, so the next can start there: the list's
//! order is (updated_at desc, case_id, district), and the cursor is the last row's key,
//! opaque to clients (`<microseconds>.<case id>.<district>`).

use chrono::{DateTime, Utc};
use citygrid_kit::Error as HttpError;
use uuid::Uuid;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CaseCursor {
    pub updated_at: DateTime<Utc>,
    pub case_id: Uuid,
    pub district: String,
}

impl CaseCursor {
    pub fn encode(&self) -> String {
        format!(
            "{}.{}.{}",
            self.updated_at.timestamp_micros(),
            self.case_id.simple(),
            self.district
        )
    }

    pub fn parse(text: &str) -> Result<CaseCursor, HttpError> {
        let bad = || HttpError::invalid("cursor", "not a cursor this endpoint gave");
        let mut parts = text.splitn(3, '.');
        let micros: i64 = parts.next().and_then(|p| p.parse().ok()).ok_or_else(bad)?;
        let updated_at = DateTime::from_timestamp_micros(micros).ok_or_else(bad)?;
        let case_id = parts
            .next()
            .and_then(|p| Uuid::try_parse(p).ok())
            .ok_or_else(bad)?;
        let district = parts.next().ok_or_else(bad)?.to_owned();
        Ok(CaseCursor {
            updated_at,
            case_id,
            district,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_cursor_reads_back() {
        let cursor = CaseCursor {
            updated_at: DateTime::from_timestamp_micros(1_764_000_000_123_456).expect("time"),
            case_id: Uuid::new_v4(),
            district: "330102".into(),
        };
        assert_eq!(CaseCursor::parse(&cursor.encode()).ok(), Some(cursor));
        for bad in ["", "x", "1.2.3", "1764000000123456.not-a-uuid.330102"] {
            assert!(CaseCursor::parse(bad).is_err(), "{bad}");
        }
    }
}
