//! The category catalogue (部件 components and 事件 events, GB/T 30428.2 / CJ/T 214): the
//! reference data of the standard that a district files cases under and the city checks
//! them against.
//!
//! Data, not code: cities add local classes and the national tables are being revised,
//! so the catalogue is a TOML file (`tenants/<city>/catalogue.toml`) validated when it
//! loads. Both sides read the same file format with this one parser.

use std::collections::BTreeMap;
use std::path::Path;

use serde::{Deserialize, Serialize};

use crate::{Category, CategoryKind};

/// A catalogue file that is unreadable or invalid: the file, the key and what is wrong.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CatalogueError {
    pub file: String,
    pub key: String,
    pub message: String,
}

impl CatalogueError {
    fn new(file: impl Into<String>, key: impl Into<String>, message: impl Into<String>) -> Self {
        CatalogueError {
            file: file.into(),
            key: key.into(),
            message: message.into(),
        }
    }
}

impl std::fmt::Display for CatalogueError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {}: {}", self.file, self.key, self.message)
    }
}

impl std::error::Error for CatalogueError {}

#[derive(Debug, Clone, Serialize)]
#[cfg_attr(feature = "utoipa", derive(utoipa::ToSchema))]
pub struct CatalogueEntry {
    #[serde(flatten)]
    pub code: Category,
    pub major_name: String,
    pub name: String,
    pub aliases: Vec<String>,
    /// A city's own class, outside the national table.
    pub local: bool,
}

#[derive(Debug, Clone, Serialize)]
#[cfg_attr(feature = "utoipa", derive(utoipa::ToSchema))]
pub struct Catalogue {
    /// The standard the codes follow, e.g. "GB/T 30428.2-2013".
    pub standard: String,
    pub version: String,
    pub categories: Vec<CatalogueEntry>,
    #[serde(skip)]
    index: BTreeMap<Category, usize>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct CatalogueFile {
    standard: String,
    version: String,
    majors: Vec<MajorFile>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct MajorFile {
    kind: CategoryKind,
    code: String,
    name: String,
    minors: Vec<MinorFile>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct MinorFile {
    code: String,
    name: String,
    #[serde(default)]
    aliases: Vec<String>,
    #[serde(default)]
    local: bool,
}

fn is_two_digits(s: &str) -> bool {
    s.len() == 2 && s.bytes().all(|b| b.is_ascii_digit())
}

impl Catalogue {
    pub fn load(path: &Path) -> Result<Self, CatalogueError> {
        let file = path.display().to_string();
        let text = std::fs::read_to_string(path)
            .map_err(|e| CatalogueError::new(&file, "catalogue", format!("cannot read: {e}")))?;
        Self::parse(&file, &text)
    }

    /// Parses catalogue TOML; `file` names the source in errors.
    pub fn parse(file: &str, text: &str) -> Result<Self, CatalogueError> {
        let parsed: CatalogueFile = toml::from_str(text)
            .map_err(|e| CatalogueError::new(file, "catalogue", e.to_string()))?;
        Self::from_parsed(file, parsed)
    }

    fn from_parsed(file: &str, parsed: CatalogueFile) -> Result<Self, CatalogueError> {
        let mut categories = Vec::new();
        let mut index = BTreeMap::new();
        for (i, major) in parsed.majors.iter().enumerate() {
            if !is_two_digits(&major.code) {
                return Err(CatalogueError::new(
                    file,
                    format!("majors[{i}].code"),
                    format!("{:?} is not a 2-digit code", major.code),
                ));
            }
            if major.minors.is_empty() {
                return Err(CatalogueError::new(
                    file,
                    format!("majors[{i}].minors"),
                    "a major class needs at least one minor class",
                ));
            }
            for (j, minor) in major.minors.iter().enumerate() {
                let key = format!("majors[{i}].minors[{j}].code");
                if !is_two_digits(&minor.code) {
                    return Err(CatalogueError::new(
                        file,
                        key,
                        format!("{:?} is not a 2-digit code", minor.code),
                    ));
                }
                let code = Category {
                    kind: major.kind,
                    major: major.code.clone(),
                    minor: minor.code.clone(),
                };
                if index.insert(code.clone(), categories.len()).is_some() {
                    return Err(CatalogueError::new(
                        file,
                        key,
                        format!(
                            "{} {}{} appears twice",
                            major.kind.as_str(),
                            major.code,
                            minor.code
                        ),
                    ));
                }
                categories.push(CatalogueEntry {
                    code,
                    major_name: major.name.clone(),
                    name: minor.name.clone(),
                    aliases: minor.aliases.clone(),
                    local: minor.local,
                });
            }
        }
        Ok(Catalogue {
            standard: parsed.standard,
            version: parsed.version,
            categories,
            index,
        })
    }

    pub fn get(&self, code: &Category) -> Option<&CatalogueEntry> {
        self.index.get(code).map(|&i| &self.categories[i])
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> Result<Catalogue, CatalogueError> {
        Catalogue::parse("test.toml", text)
    }

    #[test]
    fn lookup_by_kind_major_minor() {
        let cat = parse(
            r#"standard = "GB/T 30428.2-2013"
               version = "t1"
               [[majors]]
               kind = "component"
               code = "01"
               name = "公用设施"
               minors = [{ code = "01", name = "上水井盖" }]
               [[majors]]
               kind = "event"
               code = "01"
               name = "市容环境"
               minors = [{ code = "01", name = "私搭乱建" }]"#,
        )
        .expect("valid");
        let code = |kind| Category {
            kind,
            major: "01".into(),
            minor: "01".into(),
        };
        assert_eq!(
            cat.get(&code(CategoryKind::Component))
                .map(|c| c.name.as_str()),
            Some("上水井盖")
        );
        assert_eq!(
            cat.get(&code(CategoryKind::Event)).map(|c| c.name.as_str()),
            Some("私搭乱建")
        );
    }

    #[test]
    fn bad_codes_and_duplicates_name_the_key() {
        let err = parse(
            r#"standard = "s"
               version = "v"
               [[majors]]
               kind = "event"
               code = "01"
               name = "n"
               minors = [{ code = "01", name = "a" }, { code = "1", name = "b" }]"#,
        )
        .expect_err("bad minor code");
        assert!(
            err.to_string().contains("majors[0].minors[1].code"),
            "{err}"
        );
        let err = parse(
            r#"standard = "s"
               version = "v"
               [[majors]]
               kind = "event"
               code = "01"
               name = "n"
               minors = [{ code = "01", name = "a" }, { code = "01", name = "b" }]"#,
        )
        .expect_err("duplicate");
        assert!(err.to_string().contains("appears twice"), "{err}");
    }
}
