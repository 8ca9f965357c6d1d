//! Cell codes: 15 digits whose prefixes are the cell's district (6), street (9) and
//! community (12), then a serial within the community (GB/T 30428.1 单元网格代码).

use std::fmt;

use serde::Serialize;

/// Digits in a cell code.
pub const CELL_CODE_LEN: usize = 15;

/// A well-formed cell code. Its prefixes are the codes of the street and community it lies in,
/// so a code alone routes and aggregates a case without looking anything up.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(transparent)]
pub struct CellCode(String);

impl CellCode {
    /// Checks the structure only (which streets and communities exist is the tenant's).
    pub fn parse(text: &str) -> Result<CellCode, String> {
        if text.len() != CELL_CODE_LEN || !text.bytes().all(|b| b.is_ascii_digit()) {
            return Err(format!(
                "{text:?} is not a cell code: 15 digits (district 6, street 3, community 3, \
                 serial 3)"
            ));
        }
        if text.ends_with("000") {
            return Err(format!(
                "{text}: serial 000 is not a cell (serials start at 001)"
            ));
        }
        Ok(CellCode(text.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    pub fn district(&self) -> &str {
        &self.0[..6]
    }

    /// The 9-digit street (街道) code.
    pub fn street(&self) -> &str {
        &self.0[..9]
    }

    /// The 12-digit community (社区) code.
    pub fn community(&self) -> &str {
        &self.0[..12]
    }
}

impl fmt::Display for CellCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_code_names_its_district_street_and_community() {
        let code = CellCode::parse("330102001002017").expect("valid");
        assert_eq!(
            (code.district(), code.street(), code.community()),
            ("330102", "330102001", "330102001002")
        );
    }

    #[test]
    fn malformed_codes_are_refused_with_the_reason() {
        for (text, says) in [
            ("33010200100201", "15 digits"),
            ("3301020010020170", "15 digits"),
            ("33010200100201x", "15 digits"),
            ("３３0102001002017", "15 digits"),
            ("330102001002000", "serial 000"),
        ] {
            let err = CellCode::parse(text).expect_err(text);
            assert!(err.contains(says), "{text}: {err}");
        }
    }
}
