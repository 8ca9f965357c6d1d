//! 综合评价 in the district (docs/APPRAISAL.md): its departments, streets, communities,
//! cells and categories, and its people in their posts (岗位), with the same engine and
//! the same input as the city — the standard's case snapshots and business records, each
//! case as it stood at the end of each month of the period ([`history`]), so a step taken
//! after a closed period never changes its figures or its input digest. The district's
//! data is its own database, so every unit is complete.
//!
//! Who sees what ([`scope`]): the command centre every level; a supervisor only their
//! own row at the post level; a department only its own row at the department level.

pub mod city_reports;
pub mod handlers;
pub mod history;

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;
use std::str::FromStr;

use chrono::{DateTime, Utc};
use citygrid_appraisal::post::{PostCase, PostMonth, PostRequest, Rules};
use citygrid_appraisal::{
    Appraisal, CaseFacts, Input, Level, Period, Report, Request, Size, Slice, Unit,
};
use diesel::prelude::*;
use uuid::Uuid;

use crate::auth::Claims;
use crate::case::workflow::Role;
use crate::config::Tenant;
use crate::error::{Error, Result};
use crate::grid::CellCode;
use crate::schema::users;

/// The levels a district appraises its units at (the city's `district` level is the
/// city's).
pub const UNIT_LEVELS: [Level; 5] = [
    Level::Department,
    Level::Street,
    Level::Community,
    Level::Cell,
    Level::Category,
];

/// A district appraisal's level: a kind of unit, or people in their posts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DistrictLevel {
    Unit(Level),
    /// 岗位: supervisors, operators, dispatchers, shift leaders (citygrid_appraisal::post).
    Post,
}

impl FromStr for DistrictLevel {
    type Err = String;

    fn from_str(text: &str) -> std::result::Result<DistrictLevel, String> {
        if text == "post" {
            return Ok(DistrictLevel::Post);
        }
        text.parse()
            .ok()
            .filter(|l| UNIT_LEVELS.contains(l))
            .map(DistrictLevel::Unit)
            .ok_or_else(|| {
                format!(
                    "{text:?} is not a district level: use department, street, community, \
                     cell, category or post"
                )
            })
    }
}

impl fmt::Display for DistrictLevel {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            DistrictLevel::Unit(level) => level.fmt(f),
            DistrictLevel::Post => f.write_str("post"),
        }
    }
}

/// What one caller may see of an appraisal.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Scope {
    /// Every row (the command centre, and the CLI).
    All,
    /// This department's row only.
    Department(String),
    /// This person's rows only.
    Person(Uuid),
}

/// The command centre's roles: they see every level of their district.
pub(crate) const CENTRE: [Role; 5] = [
    Role::Operator,
    Role::Dispatcher,
    Role::ShiftLeader,
    Role::Leader,
    Role::Admin,
];

/// What `claims` may see at `level`: every row for the command centre; a supervisor their
/// own row at the post level; a department (a handler) its own row at the department
/// level. Anything else is 403 `wrong_role`.
pub fn scope(claims: &Claims, level: DistrictLevel) -> Result<Scope> {
    let has = |role: Role| claims.roles.contains(&role);
    if CENTRE.into_iter().any(has) {
        return Ok(Scope::All);
    }
    match (level, &claims.department) {
        (DistrictLevel::Post, _) if has(Role::Supervisor) => Ok(Scope::Person(claims.sub)),
        (DistrictLevel::Unit(Level::Department), Some(department)) if has(Role::Handler) => {
            Ok(Scope::Department(department.clone()))
        }
        _ => Err(Error::forbidden(
            "wrong_role",
            format!(
                "the {level} appraisal is the command centre's: a supervisor sees their own \
                 row at level=post, a department its own row at level=department"
            ),
        )),
    }
}

/// The supervisor answering for each cell of `cases` (巡查责任区, crate::patrol), by user id.
fn patrols(
    tenant: &Tenant,
    cases: &[&history::AsOf],
    ids: &BTreeMap<String, Uuid>,
) -> BTreeMap<String, Uuid> {
    cases
        .iter()
        .filter_map(|(snapshot, _)| snapshot.cell_code.as_ref())
        .filter_map(|cell| {
            let patrol = crate::patrol::responsible(&tenant.config.patrols, cell)?;
            Some((cell.clone(), *ids.get(&patrol.supervisor)?))
        })
        .collect()
}

/// Each street's or community's size from the district's grid: its cells and their area,
/// so the figures per cell and per km² compare a small street with a large one (its
/// residents are not known here: the city's registry has them per district only). None at
/// other levels or without a grid; every street of the grid is then listed, cases or not.
fn sizes(tenant: &Tenant, level: Level) -> BTreeMap<String, Size> {
    let Some(grid) = &tenant.grid else {
        return BTreeMap::new();
    };
    let key = match level {
        Level::Street => CellCode::street,
        Level::Community => CellCode::community,
        _ => return BTreeMap::new(),
    };
    let mut sizes: BTreeMap<String, (u64, f64)> = BTreeMap::new();
    for cell in grid.cells() {
        let (cells, m2) = sizes.entry(key(&cell.code).to_owned()).or_default();
        *cells += 1;
        *m2 += cell.area_m2();
    }
    sizes
        .into_iter()
        .map(|(key, (cells, m2))| {
            let size = Size {
                population: None,
                area_km2: Some(m2 / 1e6),
                cells: Some(cells),
            };
            (key, size)
        })
        .collect()
}

/// Appraises `period` at `level` as of `now`, as `scope` may see it. Each month of the
/// period is read as it stood at its end (or now, for the running month).
pub fn appraise(
    conn: &mut PgConnection,
    tenant: &Tenant,
    rules: &Rules,
    period: Period,
    level: DistrictLevel,
    scope: &Scope,
    now: DateTime<Utc>,
) -> Result<Report> {
    let zone = tenant.time_zone;
    let months: Vec<(Period, DateTime<Utc>)> = period
        .months()
        .into_iter()
        .map(|m| (m, now.min(m.bounds(zone).1)))
        .collect();
    // Months cut off at the same instant (the running one and any later) share one read.
    let mut taken: BTreeMap<DateTime<Utc>, Vec<history::AsOf>> = BTreeMap::new();
    for (_, cutoff) in &months {
        if !taken.contains_key(cutoff) {
            taken.insert(*cutoff, history::as_of(conn, &tenant.calendar, *cutoff)?);
        }
    }
    let district = tenant.code();
    let report = match level {
        DistrictLevel::Unit(level) => {
            let slices = months
                .iter()
                .map(|(month, cutoff)| {
                    let facts = taken[cutoff]
                        .iter()
                        .map(|(snapshot, records)| CaseFacts::of(district, snapshot, records))
                        .collect();
                    Slice::new(*month, zone, now, facts)
                })
                .collect();
            let input = Input {
                slices,
                partitions: Vec::new(),
            };
            let (incomplete, sizes) = (BTreeSet::new(), sizes(tenant, level));
            let request = Request {
                period,
                level,
                config: &rules.config,
                incomplete: &incomplete,
                sizes: &sizes,
            };
            let appraisal =
                citygrid_appraisal::appraise(&input, &request).map_err(Error::internal)?;
            match scope {
                Scope::All => Report::Units(appraisal),
                Scope::Department(code) if level == Level::Department => {
                    // Their row (with its rank among the departments) and, as the total,
                    // the same row: nothing of the others.
                    let own = match appraisal.units.iter().find(|u| &u.key == code) {
                        Some(unit) => unit.clone(),
                        None => {
                            let nothing = citygrid_appraisal::appraise(&Input::default(), &request)
                                .map_err(Error::internal)?;
                            Unit {
                                key: code.clone(),
                                ..nothing.total
                            }
                        }
                    };
                    Report::Units(Appraisal {
                        total: Unit {
                            key: "total".into(),
                            rank: None,
                            ..own.clone()
                        },
                        units: vec![own],
                        ..appraisal
                    })
                }
                Scope::Department(_) | Scope::Person(_) => {
                    return Err(Error::internal("appraisal scope does not fit its level"));
                }
            }
        }
        DistrictLevel::Post => {
            let people: Vec<(Uuid, String)> = users::table
                .select((users::id, users::username))
                .load(conn)?;
            let ids: BTreeMap<String, Uuid> = people
                .iter()
                .map(|(id, name)| (name.clone(), *id))
                .collect();
            let names: BTreeMap<Uuid, String> = people.into_iter().collect();
            let all: Vec<&history::AsOf> = taken.values().flatten().collect();
            let patrols = patrols(tenant, &all, &ids);
            let post_months: Vec<PostMonth> = months
                .iter()
                .map(|(month, cutoff)| {
                    let cases = taken[cutoff]
                        .iter()
                        .map(|(snapshot, records)| PostCase {
                            snapshot: snapshot.clone(),
                            records: records.clone(),
                        })
                        .collect();
                    PostMonth::new(*month, zone, now, cases)
                })
                .collect();
            let appraisal = citygrid_appraisal::post::appraise(
                &post_months,
                &PostRequest {
                    period,
                    district,
                    rules,
                    patrols: &patrols,
                    names: &names,
                },
            )
            .map_err(Error::internal)?;
            match scope {
                Scope::All => Report::Posts(appraisal),
                Scope::Person(id) => Report::Posts(appraisal.only(*id)),
                Scope::Department(_) => {
                    return Err(Error::internal("appraisal scope does not fit its level"));
                }
            }
        }
    };
    tracing::info!(
        district, %period, %level, digest = report.input_digest(), "appraised"
    );
    Ok(report)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn claims(roles: &[Role], department: Option<&str>) -> Claims {
        Claims {
            sub: Uuid::from_u128(7),
            username: "someone".into(),
            district: "330102".into(),
            roles: roles.to_vec(),
            department: department.map(str::to_owned),
            ver: 0,
            iat: 0,
            exp: 0,
        }
    }

    #[test]
    fn levels_parse_and_refuse_the_citys() {
        assert_eq!("post".parse(), Ok(DistrictLevel::Post));
        assert_eq!("street".parse(), Ok(DistrictLevel::Unit(Level::Street)));
        assert!("district".parse::<DistrictLevel>().is_err());
        assert!("supervisor".parse::<DistrictLevel>().is_err());
    }

    #[test]
    fn who_sees_what() {
        let post = DistrictLevel::Post;
        let department = DistrictLevel::Unit(Level::Department);
        let street = DistrictLevel::Unit(Level::Street);
        for role in CENTRE {
            for level in [post, department, street] {
                assert_eq!(scope(&claims(&[role], None), level).ok(), Some(Scope::All));
            }
        }
        let sup = claims(&[Role::Supervisor], None);
        assert_eq!(scope(&sup, post).ok(), Some(Scope::Person(sup.sub)));
        assert!(scope(&sup, department).is_err());
        assert!(scope(&sup, street).is_err());
        let handler = claims(&[Role::Handler], Some("huanwei"));
        assert_eq!(
            scope(&handler, department).ok(),
            Some(Scope::Department("huanwei".into()))
        );
        assert!(scope(&handler, post).is_err());
        assert!(scope(&handler, street).is_err());
        assert!(scope(&claims(&[Role::Handler], None), department).is_err());
    }
}
