//! The command manual (指挥手册): per category and filing condition (立案条件), who handles a
//! case and how long each stage may take. As in the standard (GB/T 30428.8), one category
//! usually has several filing-condition rows, each with its own urgency, clock and limits:
//! the limit belongs to the row, not to the category. A row is keyed by its category and a
//! two-digit condition code (`01`, `02`, … unique within the category); filing picks one.
//! Data with a version; a case keeps the version and the limits it was filed under, so
//! editing the manual never moves an existing deadline.

pub mod handlers;

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

/// One filing-condition row of the manual, validated.
#[derive(Debug, Clone)]
pub struct ManualRow {
    pub category: CategoryRef,
    /// Two digits, `01`…`99`, unique within the category.
    pub condition: String,
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
    /// By category, then condition code: a category's rows are in code order.
    rows: BTreeMap<(CategoryRef, String), ManualRow>,
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
    condition: String,
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

/// Whether `code` is a condition code: two ASCII digits, not `00`.
pub fn is_condition_code(code: &str) -> bool {
    code.len() == 2 && code.bytes().all(|b| b.is_ascii_digit()) && code != "00"
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
            if !is_condition_code(&row.condition) {
                return Err(Error::config(
                    file,
                    key("condition"),
                    format!(
                        "{:?} is not a condition code: two digits, 01 to 99",
                        row.condition
                    ),
                ));
            }
            if row.filing_condition.trim().is_empty() {
                return Err(Error::config(
                    file,
                    key("filing_condition"),
                    "the filing condition (立案条件) must not be empty",
                ));
            }
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
                condition: row.condition.clone(),
                urgency: row.urgency,
                department: row.department,
                by_street: row.by_street,
                filing_condition: row.filing_condition,
                closing_condition: row.closing_condition,
                clock: row.clock,
                limits,
            };
            let at = (manual_key(&category), row.condition.clone());
            if let Some(first) = rows.get(&at).map(|r: &(usize, ManualRow)| r.0) {
                return Err(Error::config(
                    file,
                    key("condition"),
                    format!(
                        "condition {} of {} appears twice: rows[{first}] has it already",
                        row.condition, row.category
                    ),
                ));
            }
            rows.insert(at, (i, entry));
        }
        // Every category has at least one row (the one filing takes without a condition).
        if let Some(missing) = catalogue.categories.iter().find(|c| {
            let code = manual_key(&c.code);
            rows.range((code.clone(), String::new())..)
                .next()
                .is_none_or(|((category, _), _)| *category != code)
        }) {
            return Err(Error::config(
                file,
                "rows",
                format!(
                    "no row for {}:{}{} {}",
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
            rows: rows.into_iter().map(|(k, (_, row))| (k, row)).collect(),
        })
    }

    /// The row a case of `category` takes when no condition is named: the category's
    /// first row (in condition-code order) of that urgency, else its first row.
    pub fn row(&self, category: &CategoryRef, urgency: Urgency) -> Option<&ManualRow> {
        let mut conditions = self.conditions(category).peekable();
        let first = conditions.peek().copied();
        conditions.find(|r| r.urgency == urgency).or(first)
    }

    /// The row of one filing condition of a category.
    pub fn condition(&self, category: &CategoryRef, condition: &str) -> Option<&ManualRow> {
        self.rows.get(&(manual_key(category), condition.to_owned()))
    }

    /// A category's filing-condition rows, in condition-code order.
    pub fn conditions(&self, category: &CategoryRef) -> impl Iterator<Item = &ManualRow> + '_ {
        let category = manual_key(category);
        self.rows
            .range((category.clone(), String::new())..)
            .take_while(move |((c, _), _)| *c == category)
            .map(|(_, row)| row)
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

/// A category as the manual keys it: the district files under one edition, so a request's
/// `edition` (checked against the catalogue before) is left out.
fn manual_key(category: &CategoryRef) -> CategoryRef {
    CategoryRef {
        edition: None,
        ..category.clone()
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
    /// sanitation, behaviour to enforcement, and every filing condition of a category
    /// agrees.
    #[test]
    fn the_sample_manual_routes_to_the_owner() {
        let t = tenant();
        let to = |label: &str| {
            let category = parse_category(label).expect("code");
            let rows: Vec<&ManualRow> = t.manual.conditions(&category).collect();
            assert!(!rows.is_empty(), "{label}");
            for row in &rows {
                assert_eq!(
                    row.department, rows[0].department,
                    "{label} {}",
                    row.condition
                );
                assert_eq!(
                    row.by_street, rows[0].by_street,
                    "{label} {}",
                    row.condition
                );
            }
            rows[0].department.clone()
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

    /// The limit belongs to the filing-condition row, not to the category: each condition
    /// of 私搭乱建 and of a manhole cover has its own urgency, clock and limits, and a
    /// filing that names no condition takes the first row of its urgency.
    #[test]
    fn a_category_with_several_conditions_gives_each_its_own_limits() {
        let t = tenant();
        let building = parse_category("event:0101").expect("code");
        let rows: Vec<(&str, Urgency, Clock, Duration)> = t
            .manual
            .conditions(&building)
            .map(|r| (r.condition.as_str(), r.urgency, r.clock, r.limits.handling))
            .collect();
        assert_eq!(
            rows,
            [
                // Stop the work: 4 工作时.
                ("01", Urgency::Normal, Clock::Working, Duration::hours(4)),
                // Demolish a small structure: 20 工作日 of 7h30m.
                ("02", Urgency::Normal, Clock::Working, Duration::hours(150)),
                // Order to correct, file for a penalty: 7 工作日.
                (
                    "03",
                    Urgency::Normal,
                    Clock::Working,
                    Duration::minutes(7 * 450)
                ),
            ]
        );
        let demolition = t.manual.condition(&building, "02").expect("row");
        assert!(demolition.filing_condition.contains("拆除"));
        assert_eq!(t.manual.condition(&building, "04").map(|r| r.urgency), None);
        // A working day of the sample districts is 7h30m (450 minutes), which the day
        // limits of the manual are written in.
        let day = |d: u32| {
            chrono::TimeZone::with_ymd_and_hms(&chrono_tz::Asia::Shanghai, 2026, 11, d, 0, 0, 0)
                .single()
                .expect("a time")
                .with_timezone(&chrono::Utc)
        };
        assert_eq!(
            t.calendar.elapsed(day(23), day(24)),
            Ok(Duration::minutes(450)),
            "Monday 2026-11-23"
        );

        let cover = parse_category("component:0101").expect("code");
        let damaged = t.manual.condition(&cover, "01").expect("row");
        let missing = t.manual.condition(&cover, "02").expect("row");
        assert_eq!(
            (damaged.urgency, damaged.clock, damaged.limits.handling),
            (Urgency::Normal, Clock::Working, Duration::hours(4))
        );
        assert_eq!(
            (missing.urgency, missing.clock, missing.limits.handling),
            (Urgency::Urgent, Clock::Natural, Duration::hours(3))
        );
        assert!(missing.filing_condition.contains("缺失"));
        assert!(!damaged.filing_condition.contains("缺失，"));
        // No condition named: the first row of the urgency, else the first row.
        let code = |c: &CategoryRef, u| t.manual.row(c, u).map(|r| r.condition.as_str());
        assert_eq!(code(&cover, Urgency::Normal), Some("01"));
        assert_eq!(code(&cover, Urgency::Urgent), Some("02"));
        assert_eq!(code(&building, Urgency::Urgent), Some("01"));
        // A request's catalogue edition does not change the row.
        let with_edition = CategoryRef {
            edition: Some(t.catalogue.edition),
            ..cover.clone()
        };
        assert_eq!(code(&with_edition, Urgency::Urgent), Some("02"));
    }

    #[test]
    fn bad_rows_name_file_row_and_field() {
        let t = tenant();
        let base = "standard = \"s\"\nversion = \"v\"\nfiling_limit = \"1h\"\n";
        let row_with = |cat: &str, condition: &str, dept: &str, handling: &str| {
            format!(
                "[[rows]]\ncategory = \"{cat}\"\ncondition = \"{condition}\"\nurgency = \"normal\"\ndepartment = \"{dept}\"\nfiling_condition = \"f\"\nclosing_condition = \"c\"\nclock = \"working\"\nlimits = {{ filing = \"1h\", dispatch = \"1h\", handling = \"{handling}\", check = \"1h\" }}\n"
            )
        };
        let row = |cat: &str, dept: &str, handling: &str| row_with(cat, "01", dept, handling);
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
        let rows = t.catalogue.categories.len();
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
            "no row for",
        );
        // A second row 01 of event:0102: named by its row and field, with the first one.
        let twice = check_err(
            &t,
            format!("{base}{all_rows}{}", row("event:0102", "shizheng", "4h")),
        );
        let first = t
            .catalogue
            .categories
            .iter()
            .position(|c| c.code == parse_category("event:0102").expect("code"))
            .expect("in the catalogue");
        assert!(
            twice.contains(&format!("rows[{rows}].condition"))
                && twice.contains(&format!(
                    "condition 01 of event:0102 appears twice: rows[{first}] has it already"
                )),
            "{twice}"
        );
        for bad in ["1", "001", "00", "a1", ""] {
            check(
                format!(
                    "{base}{all_rows}{}",
                    row_with("event:0102", bad, "shizheng", "4h")
                ),
                &format!("rows[{rows}].condition"),
            );
        }
        // A missing condition is refused by the file's shape, naming the key.
        let old_style = format!("{base}{all_rows}").replace("condition = \"01\"\n", "");
        let err = toml::from_str::<ManualFile>(&old_style)
            .err()
            .map(|e| e.to_string())
            .unwrap_or_default();
        assert!(err.contains("condition"), "{err}");
        // Several conditions of one category, each its own: accepted.
        let parsed: ManualFile = toml::from_str(&format!(
            "{base}{all_rows}{}{}",
            row_with("event:0102", "02", "shizheng", "8h"),
            row_with("event:0102", "10", "shizheng", "150h")
        ))
        .expect("toml");
        let manual = Manual::validate(
            "m.toml",
            parsed,
            &t.catalogue,
            &t.config.departments,
            &t.config.streets,
        )
        .expect("valid");
        let rubbish = parse_category("event:0102").expect("code");
        assert_eq!(
            manual
                .conditions(&rubbish)
                .map(|r| (r.condition.as_str(), r.limits.handling))
                .collect::<Vec<_>>(),
            [
                ("01", Duration::hours(4)),
                ("02", Duration::hours(8)),
                ("10", Duration::hours(150))
            ]
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

    /// The error validating `text` gives.
    fn check_err(t: &Tenant, text: String) -> String {
        let parsed: ManualFile = toml::from_str(&text).expect("toml");
        Manual::validate(
            "m.toml",
            parsed,
            &t.catalogue,
            &t.config.departments,
            &t.config.streets,
        )
        .expect_err("refused")
        .to_string()
    }
}
