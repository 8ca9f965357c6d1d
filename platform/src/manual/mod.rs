//! The command manual (指挥手册): per category and urgency, who handles a case and how
//! long each stage may take. Data with a version; a case keeps the version it was filed
//! under, so editing the manual never moves an existing deadline.

use std::collections::BTreeMap;
use std::path::Path;

use chrono::Duration;
use serde::Deserialize;

use crate::case::steps::Urgency;
use crate::catalogue::{Catalogue, CategoryRef};
use crate::config::{Department, Street};
use crate::error::{Error, Result};

pub use crate::vocab::{Clock, Stage};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    pub filing: Duration,
    pub dispatch: Duration,
    pub handling: Duration,
    pub check: Duration,
}

impl Limits {
    pub fn of(&self, stage: Stage) -> Duration {
        match stage {
            Stage::Filing => self.filing,
            Stage::Dispatch => self.dispatch,
            Stage::Handling => self.handling,
            Stage::Check => self.check,
        }
    }
}

/// One row of the manual, validated.
#[derive(Debug, Clone)]
pub struct ManualRow {
    pub category: CategoryRef,
    pub urgency: Urgency,
    /// The responsible department; with `by_street`, the fallback when the street is unknown.
    pub department: String,
    /// Send to the street office (`jd-<street code>`) of the case's street.
    pub by_street: bool,
    pub filing_condition: String,
    pub closing_condition: String,
    pub clock: Clock,
    pub limits: Limits,
}

#[derive(Debug, Clone)]
pub struct Manual {
    pub version: String,
    pub standard: String,
    /// Working-time limit of the filing stage while a report has no category yet.
    pub filing_limit: Duration,
    rows: BTreeMap<(CategoryRef, Urgency), ManualRow>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ManualFile {
    standard: String,
    version: String,
    filing_limit: String,
    rows: Vec<RowFile>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RowFile {
    category: String,
    urgency: Urgency,
    department: String,
    #[serde(default)]
    by_street: bool,
    filing_condition: String,
    closing_condition: String,
    clock: Clock,
    limits: LimitsFile,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct LimitsFile {
    filing: String,
    dispatch: String,
    handling: String,
    check: String,
}

/// Parses `4h`, `30m`, `22h30m`: hours and minutes, positive.
pub fn parse_limit(text: &str) -> Option<Duration> {
    let mut minutes = 0i64;
    let mut number = String::new();
    let mut seen_unit = false;
    for c in text.trim().chars() {
        match c {
            '0'..='9' => number.push(c),
            'h' | 'm' if !number.is_empty() => {
                let n: i64 = number.parse().ok()?;
                minutes += if c == 'h' { n.checked_mul(60)? } else { n };
                number.clear();
                seen_unit = true;
            }
            _ => return None,
        }
    }
    (number.is_empty() && seen_unit && minutes > 0).then(|| Duration::minutes(minutes))
}

/// Street office department code of a street.
pub fn street_office(street: &str) -> String {
    format!("jd-{street}")
}

impl Manual {
    /// Loads and validates a manual against the district's catalogue, departments and
    /// streets. Errors name the file, the row and the field.
    pub fn load(
        path: &Path,
        catalogue: &Catalogue,
        departments: &[Department],
        streets: &[Street],
    ) -> Result<Manual> {
        let file = path.display().to_string();
        let text = std::fs::read_to_string(path)
            .map_err(|e| Error::config(&file, "-", format!("cannot read the manual: {e}")))?;
        let parsed: ManualFile = toml::from_str(&text)
            .map_err(|e| Error::config(&file, "-", e.to_string().trim_end().to_owned()))?;
        Self::validate(&file, parsed, catalogue, departments, streets)
    }

    fn validate(
        file: &str,
        parsed: ManualFile,
        catalogue: &Catalogue,
        departments: &[Department],
        streets: &[Street],
    ) -> Result<Manual> {
        let known = |code: &str| departments.iter().any(|d| d.code == code);
        let mut rows = BTreeMap::new();
        for (i, row) in parsed.rows.into_iter().enumerate() {
            let key = |field: &str| format!("rows[{i}].{field}");
            let category = parse_category(&row.category)
                .filter(|c| catalogue.get(c).is_some())
                .ok_or_else(|| {
                    Error::config(
                        file,
                        key("category"),
                        format!(
                            "{:?} is not a category of catalogue {}",
                            row.category, catalogue.version
                        ),
                    )
                })?;
            if !known(&row.department) {
                return Err(Error::config(
                    file,
                    key("department"),
                    format!("no department {:?} in this district", row.department),
                ));
            }
            if row.by_street
                && let Some(street) = streets.iter().find(|s| !known(&street_office(&s.code)))
            {
                return Err(Error::config(
                    file,
                    key("by_street"),
                    format!(
                        "street {} {} has no street office department {}",
                        street.code,
                        street.name,
                        street_office(&street.code)
                    ),
                ));
            }
            let limit = |field: &str, text: &str| {
                parse_limit(text).ok_or_else(|| {
                    Error::config(
                        file,
                        key(&format!("limits.{field}")),
                        format!("{text:?} is not a positive limit such as 4h, 30m or 22h30m"),
                    )
                })
            };
            let limits = Limits {
                filing: limit("filing", &row.limits.filing)?,
                dispatch: limit("dispatch", &row.limits.dispatch)?,
                handling: limit("handling", &row.limits.handling)?,
                check: limit("check", &row.limits.check)?,
            };
            let entry = ManualRow {
                category: category.clone(),
                urgency: row.urgency,
                department: row.department,
                by_street: row.by_street,
                filing_condition: row.filing_condition,
                closing_condition: row.closing_condition,
                clock: row.clock,
                limits,
            };
            if rows.insert((category, row.urgency), entry).is_some() {
                return Err(Error::config(
                    file,
                    key("category"),
                    format!("{} {} appears twice", row.category, row.urgency.as_str()),
                ));
            }
        }
        if let Some(missing) = catalogue
            .categories
            .iter()
            .find(|c| !rows.contains_key(&(c.code.clone(), Urgency::Normal)))
        {
            return Err(Error::config(
                file,
                "rows",
                format!(
                    "no normal row for {}:{}{} {}",
                    missing.code.kind.as_str(),
                    missing.code.major,
                    missing.code.minor,
                    missing.name
                ),
            ));
        }
        let filing_limit = parse_limit(&parsed.filing_limit).ok_or_else(|| {
            Error::config(
                file,
                "filing_limit",
                format!(
                    "{:?} is not a positive limit such as 1h",
                    parsed.filing_limit
                ),
            )
        })?;
        Ok(Manual {
            version: parsed.version,
            standard: parsed.standard,
            filing_limit,
            rows,
        })
    }

    /// The row for a category and urgency; an urgency without a row of its own uses the
    /// normal row.
    pub fn row(&self, category: &CategoryRef, urgency: Urgency) -> Option<&ManualRow> {
        self.rows
            .get(&(category.clone(), urgency))
            .or_else(|| self.rows.get(&(category.clone(), Urgency::Normal)))
    }

    pub fn rows(&self) -> impl Iterator<Item = &ManualRow> {
        self.rows.values()
    }
}

impl ManualRow {
    /// The department the manual names for a case on `street`.
    pub fn department_for(&self, street: Option<&str>) -> String {
        match (self.by_street, street) {
            (true, Some(street)) => street_office(street),
            _ => self.department.clone(),
        }
    }
}

/// `event:0102` → event, 01, 02 (`event:06010` in GB/T 47678.5).
pub fn parse_category(text: &str) -> Option<CategoryRef> {
    citygrid_schemas::catalogue::parse_label(text)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::Tenant;

    fn tenant() -> Tenant {
        Tenant::load(
            &Path::new(env!("CARGO_MANIFEST_DIR"))
                .join("../tenants/hangzhou/districts/330102.toml"),
        )
        .expect("tenant")
    }

    #[test]
    fn limits_parse_hours_and_minutes() {
        assert_eq!(parse_limit("4h"), Some(Duration::hours(4)));
        assert_eq!(parse_limit("30m"), Some(Duration::minutes(30)));
        assert_eq!(parse_limit("22h30m"), Some(Duration::minutes(1350)));
        for bad in ["", "0h", "4", "h", "4d", "-1h", "4h30"] {
            assert_eq!(parse_limit(bad), None, "{bad}");
        }
    }

    #[test]
    fn the_sample_manual_covers_every_category() {
        let t = tenant();
        let manual = &t.manual;
        let rubbish = parse_category("event:0102").expect("code");
        let row = manual.row(&rubbish, Urgency::Normal).expect("row");
        assert_eq!(
            (row.department.as_str(), row.clock, row.limits.handling),
            ("huanwei", Clock::Working, Duration::hours(4))
        );
        // No urgent row of its own: the normal row applies.
        assert_eq!(
            manual.row(&rubbish, Urgency::Urgent).map(|r| r.urgency),
            Some(Urgency::Normal)
        );
        let cover = parse_category("component:0101").expect("code");
        assert_eq!(
            manual.row(&cover, Urgency::Urgent).map(|r| r.clock),
            Some(Clock::Natural)
        );
        let stall = manual
            .row(
                &parse_category("event:0501").expect("code"),
                Urgency::Normal,
            )
            .expect("row");
        assert_eq!(stall.department_for(Some("330102001")), "jd-330102001");
        assert_eq!(stall.department_for(None), "zhifa");
    }

    /// The sample manual's routing as checked by hand (the comment at the top of
    /// tenants/hangzhou/manual.toml): a facility goes to its owner, cleanliness to
    /// sanitation, behaviour to enforcement, and both urgencies of a category agree.
    #[test]
    fn the_sample_manual_routes_to_the_owner() {
        let t = tenant();
        let to = |label: &str| {
            let category = parse_category(label).expect("code");
            let normal = t.manual.row(&category, Urgency::Normal).expect("row");
            let urgent = t.manual.row(&category, Urgency::Urgent).expect("row");
            assert_eq!(normal.department, urgent.department, "{label}");
            normal.department.clone()
        };
        for (label, department) in [
            ("component:0101", "shuiwu"),   // 上水井盖
            ("component:0102", "shizheng"), // 污水井盖
            ("component:0105", "gongdian"), // 电力井盖
            ("component:0111", "ranqi"),    // 燃气井盖
            ("component:0210", "jiaojing"), // 交通信号灯
            ("component:0208", "shizheng"), // 跨河桥
            ("component:0606", "hedao"),    // 防汛墙
            ("event:0102", "huanwei"),      // 暴露垃圾
            ("event:0110", "shizheng"),     // 道路破损
            ("event:0111", "hedao"),        // 河堤破损
            ("event:0401", "shizheng"),     // 路面塌陷
            ("event:0402", "shuiwu"),       // 自来水管破裂
            ("event:0403", "ranqi"),        // 燃气管道破裂
            ("event:0405", "reli"),         // 热力管道破裂
            ("event:0409", "gongan"),       // 群发性事件
            ("event:0302", "zhifa"),        // 工地扬尘
        ] {
            assert_eq!(to(label), department, "{label}");
        }
    }

    /// Every sample district knows every department the shared manual names, and has a
    /// seed handler in each of its departments, so the demo and the tests can handle a
    /// case of any category anywhere.
    #[test]
    fn every_sample_district_has_every_department_and_a_handler_in_each() {
        let tenants = ["330102", "330105", "330106"].map(|code| {
            Tenant::load(
                &Path::new(env!("CARGO_MANIFEST_DIR"))
                    .join(format!("../tenants/hangzhou/districts/{code}.toml")),
            )
            .expect("tenant")
        });
        for t in &tenants {
            for row in t.manual.rows() {
                assert!(
                    t.department(&row.department).is_some(),
                    "{}: {}",
                    t.code(),
                    row.department
                );
            }
            for d in &t.config.departments {
                assert!(
                    t.config
                        .users
                        .iter()
                        .any(|u| u.department.as_ref() == Some(&d.code)
                            && u.roles.iter().any(|r| r == "handler")),
                    "{}: no seed handler in {}",
                    t.code(),
                    d.code
                );
            }
        }
    }

    #[test]
    fn bad_rows_name_file_row_and_field() {
        let t = tenant();
        let base = "standard = \"s\"\nversion = \"v\"\nfiling_limit = \"1h\"\n";
        let row = |cat: &str, dept: &str, handling: &str| {
            format!(
                "[[rows]]\ncategory = \"{cat}\"\nurgency = \"normal\"\ndepartment = \"{dept}\"\nfiling_condition = \"f\"\nclosing_condition = \"c\"\nclock = \"working\"\nlimits = {{ filing = \"1h\", dispatch = \"1h\", handling = \"{handling}\", check = \"1h\" }}\n"
            )
        };
        let all_rows: String = t
            .catalogue
            .categories
            .iter()
            .map(|c| {
                row(
                    &format!("{}:{}{}", c.code.kind.as_str(), c.code.major, c.code.minor),
                    "shizheng",
                    "4h",
                )
            })
            .collect();
        let check = |text: String, expect: &str| {
            let parsed: ManualFile = toml::from_str(&text).expect("toml");
            let err = Manual::validate(
                "m.toml",
                parsed,
                &t.catalogue,
                &t.config.departments,
                &t.config.streets,
            )
            .expect_err(expect)
            .to_string();
            assert!(
                err.contains("m.toml") && err.contains(expect),
                "{expect}: {err}"
            );
        };
        check(
            format!("{base}{}", row("event:0102", "nowhere", "4h")),
            "rows[0].department",
        );
        check(
            format!("{base}{}", row("event:4242", "shizheng", "4h")),
            "rows[0].category",
        );
        check(
            format!("{base}{}", row("event:0102", "shizheng", "0h")),
            "rows[0].limits.handling",
        );
        check(
            format!("{base}{}", row("event:0102", "shizheng", "4h")),
            "no normal row for",
        );
        check(
            format!("{base}{all_rows}{}", row("event:0102", "shizheng", "4h")),
            "appears twice",
        );
        let parsed: ManualFile = toml::from_str(&format!("{base}{all_rows}")).expect("toml");
        assert!(
            Manual::validate(
                "m.toml",
                parsed,
                &t.catalogue,
                &t.config.departments,
                &t.config.streets
            )
            .is_ok()
        );
    }
}
