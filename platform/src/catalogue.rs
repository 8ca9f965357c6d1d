//! The category catalogue (部件 components and 事件 events, GB/T 30428.2 / CJ/T 214).
//!
//! Data, not code: cities add local classes and the national tables are being revised,
//! so the catalogue is a TOML file named by the tenant and validated when it loads.

use std::collections::BTreeMap;
use std::path::Path;

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::error::{Error, Result};

#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize, ToSchema,
)]
#[serde(rename_all = "snake_case")]
pub enum CategoryKind {
    /// 部件: a physical object with an owner (manhole cover, street lamp…).
    Component,
    /// 事件: something that happens (illegal dumping, street vending…).
    Event,
}

impl CategoryKind {
    pub fn as_str(self) -> &'static str {
        match self {
            CategoryKind::Component => "component",
            CategoryKind::Event => "event",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "component" => Some(CategoryKind::Component),
            "event" => Some(CategoryKind::Event),
            _ => None,
        }
    }
}

/// A category as a request names it: kind plus 2-digit major and minor codes.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize, ToSchema)]
pub struct CategoryRef {
    pub kind: CategoryKind,
    /// Major class, 2 digits (大类), e.g. "01".
    pub major: String,
    /// Minor class, 2 digits (小类), e.g. "02".
    pub minor: String,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Category {
    #[serde(flatten)]
    pub code: CategoryRef,
    pub major_name: String,
    pub name: String,
    pub aliases: Vec<String>,
    /// A city's own class, outside the national table.
    pub local: bool,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Catalogue {
    /// The standard the codes follow, e.g. "GB/T 30428.2-2013".
    pub standard: String,
    pub version: String,
    pub categories: Vec<Category>,
    #[serde(skip)]
    index: BTreeMap<CategoryRef, usize>,
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
    pub fn load(path: &Path) -> Result<Self> {
        let file = path.display().to_string();
        let text = std::fs::read_to_string(path)
            .map_err(|e| Error::config(&file, "catalogue", format!("cannot read: {e}")))?;
        let parsed: CatalogueFile =
            toml::from_str(&text).map_err(|e| Error::config(&file, "catalogue", e.to_string()))?;
        Self::from_parsed(&file, parsed)
    }

    fn from_parsed(file: &str, parsed: CatalogueFile) -> Result<Self> {
        let mut categories = Vec::new();
        let mut index = BTreeMap::new();
        for (i, major) in parsed.majors.iter().enumerate() {
            if !is_two_digits(&major.code) {
                return Err(Error::config(
                    file,
                    format!("majors[{i}].code"),
                    format!("{:?} is not a 2-digit code", major.code),
                ));
            }
            if major.minors.is_empty() {
                return Err(Error::config(
                    file,
                    format!("majors[{i}].minors"),
                    "a major class needs at least one minor class",
                ));
            }
            for (j, minor) in major.minors.iter().enumerate() {
                let key = format!("majors[{i}].minors[{j}].code");
                if !is_two_digits(&minor.code) {
                    return Err(Error::config(
                        file,
                        key,
                        format!("{:?} is not a 2-digit code", minor.code),
                    ));
                }
                let code = CategoryRef {
                    kind: major.kind,
                    major: major.code.clone(),
                    minor: minor.code.clone(),
                };
                if index.insert(code.clone(), categories.len()).is_some() {
                    return Err(Error::config(
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
                categories.push(Category {
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

    pub fn get(&self, code: &CategoryRef) -> Option<&Category> {
        self.index.get(code).map(|&i| &self.categories[i])
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> Result<Catalogue> {
        Catalogue::from_parsed(
            "test.toml",
            toml::from_str(text).map_err(|e| Error::Internal(e.to_string()))?,
        )
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
        let code = |kind| CategoryRef {
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
