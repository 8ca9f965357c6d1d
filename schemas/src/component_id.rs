//! 部件标识码: the standard component id, parsed and checked against a district and its
//! catalogue. Pure: a string in, the id or the precise reason it is refused out. Part of
//! the standard so that a district (its inventory, its reports) and the city (the
//! `component_id` of a case snapshot) refuse the same ids for the same reasons.
//!
//! Two structures (shared/standards/CATEGORIES.md, "Code structures"):
//! - GB/T 30428.2-2013: 16 digits = administrative code 6 + major 2 + minor 2 + serial 6
//!   (`3205080101000001` = 320508 + 01 + 01 + 000001);
//! - GB/T 47678.5-2026: 17 digits = 6 + major 2 + minor 3 + serial 6.
//!
//! The length says the edition, and the class (major + minor) must be a component class
//! of the district's catalogue of that edition.

use std::fmt;

use crate::catalogue::Catalogue;
use crate::{Category as CategoryRef, CategoryKind, Edition};

/// Digits of the administrative (district) code at the start of an id.
const DISTRICT_DIGITS: usize = 6;
/// Digits of the serial at the end of an id.
const SERIAL_DIGITS: usize = 6;

/// A well-formed component id of this district, of a known component class.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ComponentId {
    text: String,
    edition: Edition,
}

/// Why a text is not a component id of this district.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum IdError {
    /// Neither 16 (GB/T 30428.2) nor 17 (GB/T 47678.5) characters.
    Length { length: usize },
    /// A character that is not an ASCII digit, at `position` (1-based).
    NotDigit { position: usize, found: char },
    /// The first six digits are another administrative code.
    WrongDistrict { found: String, district: String },
    /// The major and minor class are not a component class of the catalogue of the id's
    /// edition (or the district has no catalogue of that edition).
    UnknownClass {
        class: String,
        edition: Edition,
        why: String,
    },
    /// The serial is `000000`: serials start at 000001.
    ZeroSerial,
}

impl IdError {
    /// A short, stable name of the reason, for reports and logs.
    pub fn reason(&self) -> &'static str {
        match self {
            IdError::Length { .. } => "wrong_length",
            IdError::NotDigit { .. } => "not_digits",
            IdError::WrongDistrict { .. } => "wrong_district",
            IdError::UnknownClass { .. } => "unknown_class",
            IdError::ZeroSerial => "zero_serial",
        }
    }
}

impl fmt::Display for IdError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            IdError::Length { length } => write!(
                f,
                "wrong length: {length} characters, a component id has 16 (GB/T 30428.2: \
                 district 6 + major 2 + minor 2 + serial 6) or 17 (GB/T 47678.5: 6 + 2 + 3 + 6)"
            ),
            IdError::NotDigit { position, found } => {
                write!(f, "not digits: {found:?} at position {position}")
            }
            IdError::WrongDistrict { found, district } => write!(
                f,
                "wrong district: the id starts with {found}, not this district's code {district}"
            ),
            IdError::UnknownClass {
                class,
                edition,
                why,
            } => write!(f, "unknown class: component {class} ({edition}) {why}"),
            IdError::ZeroSerial => write!(
                f,
                "zero serial: the serial is 000000, serials start at 000001"
            ),
        }
    }
}

impl std::error::Error for IdError {}

impl ComponentId {
    /// Parses `text` as a component id of `district` whose class is a component class of
    /// the catalogue of its edition among `catalogues`. The checks run in this order, and
    /// the first that fails is the reason: length, digits, district, class, serial.
    pub fn parse(
        text: &str,
        district: &str,
        catalogues: &[&Catalogue],
    ) -> Result<ComponentId, IdError> {
        let length = text.chars().count();
        let edition = match length {
            16 => Edition::Gbt30428,
            17 => Edition::Gbt47678,
            _ => return Err(IdError::Length { length }),
        };
        if let Some((i, found)) = text.chars().enumerate().find(|(_, c)| !c.is_ascii_digit()) {
            return Err(IdError::NotDigit {
                position: i + 1,
                found,
            });
        }
        let id = ComponentId {
            text: text.to_owned(),
            edition,
        };
        if id.district() != district {
            return Err(IdError::WrongDistrict {
                found: id.district().to_owned(),
                district: district.to_owned(),
            });
        }
        let class = format!("{}{}", id.major(), id.minor());
        let unknown = |why: String| IdError::UnknownClass {
            class: class.clone(),
            edition,
            why,
        };
        let Some(catalogue) = catalogues.iter().find(|c| c.edition == edition) else {
            return Err(unknown(format!(
                "— this district has no {edition} catalogue (its catalogue is {})",
                catalogues
                    .iter()
                    .map(|c| format!("{} {}", c.standard, c.version))
                    .collect::<Vec<_>>()
                    .join(", ")
            )));
        };
        if catalogue.get(&id.category()).is_none() {
            let event = CategoryRef {
                kind: CategoryKind::Event,
                ..id.category()
            };
            let why = if catalogue.get(&event).is_some() {
                format!(
                    "is not in catalogue {}: {class} is an event class there",
                    catalogue.version
                )
            } else {
                format!("is not in catalogue {}", catalogue.version)
            };
            return Err(unknown(why));
        }
        if id.serial().bytes().all(|b| b == b'0') {
            return Err(IdError::ZeroSerial);
        }
        Ok(id)
    }

    pub fn as_str(&self) -> &str {
        &self.text
    }

    pub fn edition(&self) -> Edition {
        self.edition
    }

    /// The 6-digit administrative code.
    pub fn district(&self) -> &str {
        &self.text[..DISTRICT_DIGITS]
    }

    /// The 2-digit major class (大类).
    pub fn major(&self) -> &str {
        &self.text[DISTRICT_DIGITS..DISTRICT_DIGITS + 2]
    }

    /// The minor class (小类): 2 digits in GB/T 30428.2, 3 in GB/T 47678.5.
    pub fn minor(&self) -> &str {
        &self.text[DISTRICT_DIGITS + 2..self.text.len() - SERIAL_DIGITS]
    }

    /// The 6-digit serial.
    pub fn serial(&self) -> &str {
        &self.text[self.text.len() - SERIAL_DIGITS..]
    }

    /// The component category of the id (without edition: the key inside its catalogue).
    pub fn category(&self) -> CategoryRef {
        CategoryRef {
            kind: CategoryKind::Component,
            major: self.major().to_owned(),
            minor: self.minor().to_owned(),
            edition: None,
        }
    }

    /// Whether a case of `category` may name this component: a component category of the
    /// id's class, and of its edition when the category names one.
    pub fn is_of(&self, category: &CategoryRef) -> bool {
        category.kind == CategoryKind::Component
            && category.major == self.major()
            && category.minor == self.minor()
            && category.edition.is_none_or(|e| e == self.edition)
    }

    /// The id of `district`, class `major`+`minor` and `serial` (for samples and tests; not
    /// checked: parse it).
    pub fn compose(district: &str, major: &str, minor: &str, serial: u32) -> String {
        format!("{district}{major}{minor}{serial:06}")
    }
}

impl fmt::Display for ComponentId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.text)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn legacy() -> Catalogue {
        let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../tenants/hangzhou/catalogue.toml");
        Catalogue::load(&path).expect("legacy catalogue")
    }

    /// A GB/T 47678.5 catalogue with one component class, 01 001.
    fn gbt47678() -> Catalogue {
        Catalogue::parse(
            "test",
            r#"
standard = "GB/T 47678.5-2026"
version = "test-1"
[[majors]]
kind = "component"
code = "01"
name = "公用设施"
minors = [{ code = "001", name = "上水井盖" }]
[[majors]]
kind = "event"
code = "06"
name = "06"
minors = [{ code = "010", name = "暴露垃圾" }]
"#,
        )
        .expect("catalogue")
    }

    #[test]
    fn good_ids_of_both_editions_parse_into_their_parts() {
        let (old, new) = (legacy(), gbt47678());
        let id = ComponentId::parse("3301020101000001", "330102", &[&old]).expect("legacy id");
        assert_eq!(
            (id.district(), id.major(), id.minor(), id.serial()),
            ("330102", "01", "01", "000001")
        );
        assert_eq!(id.edition(), Edition::Gbt30428);
        assert_eq!(id.category().label(), "component:0101");
        let id =
            ComponentId::parse("33010201001000042", "330102", &[&old, &new]).expect("17 digits");
        assert_eq!((id.minor(), id.serial()), ("001", "000042"));
        assert_eq!(id.edition(), Edition::Gbt47678);
        assert_eq!(
            ComponentId::compose("330102", "03", "05", 7),
            "3301020305000007"
        );
    }

    /// Every malformed id is refused with its own reason, and the message says what is
    /// wrong precisely.
    #[test]
    fn each_malformed_id_is_refused_with_its_reason() {
        let (old, new) = (legacy(), gbt47678());
        let both = [&old, &new];
        let cases: &[(&str, &[&Catalogue], &str, &[&str])] = &[
            ("330102010100001", &both, "wrong_length", &["15 characters"]),
            (
                "330102010100000001",
                &both,
                "wrong_length",
                &["18 characters"],
            ),
            ("", &both, "wrong_length", &["0 characters"]),
            (
                "33010201010000a1",
                &both,
                "not_digits",
                &["'a'", "position 15"],
            ),
            (
                "33010２0101000001",
                &both,
                "not_digits",
                &["'２'", "position 6"],
            ),
            (
                "3301050101000001",
                &both,
                "wrong_district",
                &["330105", "330102"],
            ),
            (
                "3301020199000001",
                &both,
                "unknown_class",
                &["0199", "hz-2026.1"],
            ),
            (
                "3301020701000001",
                &both,
                "unknown_class",
                &["0701", "GB/T 30428.2-2013"],
            ),
            // Event 05 04 (店外经营) exists, but not as a component.
            (
                "3301020504000001",
                &both,
                "unknown_class",
                &["0504", "event class"],
            ),
            (
                "33010206010000001",
                &both,
                "unknown_class",
                &["06010", "event class"],
            ),
            // A 17-digit id in a district that has only the legacy catalogue.
            (
                "33010201001000001",
                &[&old],
                "unknown_class",
                &["no GB/T 47678.5-2026 catalogue"],
            ),
            ("3301020101000000", &both, "zero_serial", &["000000"]),
        ];
        for (text, catalogues, reason, says) in cases {
            let err = ComponentId::parse(text, "330102", catalogues).expect_err(text);
            assert_eq!(err.reason(), *reason, "{text}: {err}");
            let message = err.to_string();
            assert!(
                message.starts_with(&reason.replace('_', " ")[..6]),
                "{message}"
            );
            for part in *says {
                assert!(message.contains(part), "{text}: {message} lacks {part}");
            }
        }
    }

    /// Length is checked before digits, digits before the district, the district before
    /// the class: the first failing check is the reason.
    #[test]
    fn the_first_failing_check_is_the_reason() {
        let old = legacy();
        let reason = |t: &str| {
            ComponentId::parse(t, "330102", &[&old])
                .expect_err(t)
                .reason()
        };
        assert_eq!(reason("x"), "wrong_length");
        assert_eq!(reason("x301050101000001"), "not_digits");
        assert_eq!(reason("3301059999000000"), "wrong_district");
        assert_eq!(reason("3301029999000000"), "unknown_class");
    }
}
