//! The category catalogue (部件 components and 事件 events): the reference data of the
//! standard that a district files cases under and the city checks them against, one file
//! per edition (GB/T 30428.2-2013 and GB/T 47678.5-2026, see [`Edition`]), and the
//! [`Mapping`] between two editions that lets the city compare districts on different ones.
//!
//! Data, not code: cities add local classes and the national tables are being revised,
//! so a catalogue is a TOML file (`tenants/<city>/catalogue*.toml`) validated when it
//! loads. Both sides read the same file format with this one parser.

use std::collections::BTreeMap;
use std::path::Path;

use serde::{Deserialize, Serialize};

use crate::{Category, CategoryKind, Edition};

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
    /// The category of the other edition this one replaces, where published.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub replaces: Option<Category>,
}

#[derive(Debug, Clone, Serialize)]
#[cfg_attr(feature = "utoipa", derive(utoipa::ToSchema))]
pub struct Catalogue {
    /// The standard the codes follow, e.g. "GB/T 30428.2-2013": the [`Edition`].
    pub standard: String,
    #[serde(skip)]
    pub edition: Edition,
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
    /// The category of another edition this one replaces where the standard publishes the
    /// correspondence (`event:0102`); without it the [`Mapping`] goes by name.
    #[serde(default)]
    replaces: Option<String>,
}

fn is_digits(s: &str, n: usize) -> bool {
    s.len() == n && s.bytes().all(|b| b.is_ascii_digit())
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
        let edition = Edition::parse(&parsed.standard).ok_or_else(|| {
            CatalogueError::new(
                file,
                "standard",
                format!(
                    "{:?} is not an edition this standard knows ({})",
                    parsed.standard,
                    Edition::ALL.map(Edition::as_str).join(", ")
                ),
            )
        })?;
        let width = edition.minor_digits();
        let mut categories = Vec::new();
        let mut index = BTreeMap::new();
        for (i, major) in parsed.majors.iter().enumerate() {
            if !is_digits(&major.code, 2) {
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
                if !is_digits(&minor.code, width) {
                    return Err(CatalogueError::new(
                        file,
                        key,
                        format!("{:?} is not a {width}-digit code ({edition})", minor.code),
                    ));
                }
                let replaces = match &minor.replaces {
                    None => None,
                    Some(text) => Some(parse_label(text).ok_or_else(|| {
                        CatalogueError::new(
                            file,
                            format!("majors[{i}].minors[{j}].replaces"),
                            format!("{text:?} is not a category like \"event:0102\""),
                        )
                    })?),
                };
                let code = Category {
                    kind: major.kind,
                    major: major.code.clone(),
                    minor: minor.code.clone(),
                    edition: None,
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
                    replaces,
                });
            }
        }
        Ok(Catalogue {
            standard: parsed.standard,
            edition,
            version: parsed.version,
            categories,
            index,
        })
    }

    /// The entry for a category of this catalogue's edition (the category's own `edition`
    /// is the caller's to check).
    pub fn get(&self, code: &Category) -> Option<&CatalogueEntry> {
        let found = if code.edition.is_some() {
            self.index.get(&code.bare())
        } else {
            self.index.get(code)
        };
        found.map(|&i| &self.categories[i])
    }
}

/// `event:0102` (or `component:01010`) → the category, without edition.
pub fn parse_label(text: &str) -> Option<Category> {
    let (kind, code) = text.split_once(':')?;
    let kind = CategoryKind::parse(kind)?;
    let digits = code.len() == 4 || code.len() == 5;
    (digits && code.bytes().all(|b| b.is_ascii_digit())).then(|| Category {
        kind,
        major: code[..2].to_owned(),
        minor: code[2..].to_owned(),
        edition: None,
    })
}

/// How one category of an edition was matched to one of another.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "utoipa", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum Basis {
    /// The newer edition publishes the correspondence (`replaces`).
    Code,
    /// Same kind and the same name (or a name one of them lists as an alias).
    Name,
}

/// A category of `from` and the one of `to` it counts as.
#[derive(Debug, Clone, Serialize)]
#[cfg_attr(feature = "utoipa", derive(utoipa::ToSchema))]
pub struct Correspondence {
    pub from: Category,
    pub to: Category,
    pub name: String,
    pub basis: Basis,
}

/// The correspondence between two editions' catalogues, both ways: what the city uses to
/// compare districts that file under different editions. Built, not written: by code where
/// the newer edition publishes it (`replaces`), by name otherwise; what matches nothing is
/// listed, never guessed.
#[derive(Debug, Clone, Serialize)]
#[cfg_attr(feature = "utoipa", derive(utoipa::ToSchema))]
pub struct Mapping {
    pub from: Edition,
    pub to: Edition,
    pub pairs: Vec<Correspondence>,
    /// Categories of `from` with no counterpart in `to`.
    pub unmapped_from: Vec<Category>,
    /// Categories of `to` with no counterpart in `from`.
    pub unmapped_to: Vec<Category>,
}

impl Mapping {
    pub fn between(from: &Catalogue, to: &Catalogue) -> Mapping {
        let names = |e: &CatalogueEntry| {
            std::iter::once(e.name.clone())
                .chain(e.aliases.iter().cloned())
                .collect::<Vec<_>>()
        };
        let mut pairs = Vec::new();
        for a in &from.categories {
            let by_code = to.categories.iter().find(|b| {
                b.replaces.as_ref() == Some(&a.code) || a.replaces.as_ref() == Some(&b.code)
            });
            let found = match by_code {
                Some(b) => Some((b, Basis::Code)),
                None => to
                    .categories
                    .iter()
                    .filter(|b| b.code.kind == a.code.kind && b.replaces.is_none())
                    .find(|b| {
                        let theirs = names(b);
                        names(a).iter().any(|n| theirs.contains(n))
                    })
                    .map(|b| (b, Basis::Name)),
            };
            if let Some((b, basis)) = found {
                pairs.push(Correspondence {
                    from: a.code.clone(),
                    to: b.code.clone(),
                    name: a.name.clone(),
                    basis,
                });
            }
        }
        let unmapped_from = from
            .categories
            .iter()
            .filter(|a| !pairs.iter().any(|p| p.from == a.code))
            .map(|a| a.code.clone())
            .collect();
        let unmapped_to = to
            .categories
            .iter()
            .filter(|b| !pairs.iter().any(|p| p.to == b.code))
            .map(|b| b.code.clone())
            .collect();
        Mapping {
            from: from.edition,
            to: to.edition,
            pairs,
            unmapped_from,
            unmapped_to,
        }
    }

    /// The category of `to` that `category` (of `from`) counts as.
    pub fn get(&self, category: &Category) -> Option<&Category> {
        let bare = category.bare();
        self.pairs.iter().find(|p| p.from == bare).map(|p| &p.to)
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
            edition: None,
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
            r#"standard = "GB/T 30428.2-2013"
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
            r#"standard = "GB/T 30428.2-2013"
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

    #[test]
    fn each_edition_has_its_width_and_an_unknown_edition_is_refused() {
        let new = |minor: &str| {
            parse(&format!(
                r#"standard = "GB/T 47678.5-2026"
                   version = "v"
                   [[majors]]
                   kind = "event"
                   code = "06"
                   name = "环境卫生"
                   minors = [{{ code = "{minor}", name = "暴露垃圾" }}]"#
            ))
        };
        let cat = new("010").expect("5-digit codes");
        assert_eq!(cat.edition, Edition::Gbt47678);
        let err = new("01").expect_err("4-digit code in the new edition");
        assert!(err.to_string().contains("3-digit"), "{err}");
        let err = parse("standard = \"GB/T 9999-2030\"\nversion = \"v\"\nmajors = []")
            .expect_err("unknown edition");
        assert_eq!(err.key, "standard");
    }

    /// The sample city's two catalogues: the legacy table in full, the new edition as far
    /// as it is published to us.
    fn sample(file: &str) -> Catalogue {
        Catalogue::load(
            &std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
                .join("../tenants/hangzhou")
                .join(file),
        )
        .expect("sample catalogue")
    }

    #[test]
    fn editions_map_by_published_code_then_by_name_and_list_the_rest() {
        let old = sample("catalogue.toml");
        let new = sample("catalogue-gbt47678.toml");
        let forward = Mapping::between(&old, &new);
        let label = |c: Option<&Category>| c.map(Category::label);
        // 暴露垃圾: event 0102 in the legacy table, 06010 in GB/T 47678.5, by name.
        let exposed = parse_label("event:0102").expect("label");
        assert_eq!(label(forward.get(&exposed)), Some("event:06010".into()));
        // A v1.1 category names its edition; the mapping takes it all the same.
        let with_edition = Category {
            edition: Some(Edition::Gbt30428),
            ..exposed
        };
        assert_eq!(
            label(forward.get(&with_edition)),
            Some("event:06010".into())
        );
        // 上水井盖 has no published counterpart yet: listed, not guessed.
        let cover = parse_label("component:0101").expect("label");
        assert_eq!(forward.get(&cover), None);
        assert!(forward.unmapped_from.contains(&cover));
        // Every pair holds both ways.
        let back = Mapping::between(&new, &old);
        for pair in &forward.pairs {
            assert_eq!(back.get(&pair.to), Some(&pair.from), "{}", pair.name);
        }
        assert_eq!(
            forward.pairs.len() + forward.unmapped_from.len(),
            old.categories.len()
        );
        assert_eq!(
            back.pairs.len() + back.unmapped_from.len(),
            new.categories.len()
        );
    }

    #[test]
    fn a_published_correspondence_wins_over_names() {
        let old = parse(
            r#"standard = "GB/T 30428.2-2013"
               version = "v"
               [[majors]]
               kind = "event"
               code = "05"
               name = "街面秩序"
               minors = [{ code = "07", name = "乱堆物堆料" }]"#,
        )
        .expect("old");
        let new = parse(
            r#"standard = "GB/T 47678.5-2026"
               version = "v"
               [[majors]]
               kind = "event"
               code = "06"
               name = "环境卫生"
               minors = [{ code = "036", name = "乱堆杂物", replaces = "event:0507" }]"#,
        )
        .expect("new");
        let mapping = Mapping::between(&old, &new);
        assert_eq!(mapping.pairs.len(), 1);
        assert_eq!(mapping.pairs[0].basis, Basis::Code);
        assert_eq!(mapping.pairs[0].to.label(), "event:06036");
    }
}
