//! 巡查责任区: which supervisor answers for which cells, and so who gets a case's on-site
//! tasks — the verification (核实) of a public or hotline report and the check (核查) of a
//! department's work. Grid management (网格化管理) gives every cell a responsible patrol;
//! routing the task there, rather than to a shared pool, is what makes a supervisor
//! answerable for the cells they walk (and is what their post indicators count).
//!
//! The areas are tenant data (`[[patrols]]` in the district file). The rules here are
//! pure; `store` keeps the assignments.

pub mod handlers;
pub mod store;

use serde::Deserialize;

use crate::config::{Street, digits};

/// One patrol area as the district file gives it.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Patrol {
    /// Unique within the district, e.g. `330102-P01`.
    pub code: String,
    pub name: String,
    /// Username of the supervisor who answers for the area.
    pub supervisor: String,
    /// Street (9 digits), community (12) or cell (15) codes; the area is their union.
    pub areas: Vec<String>,
}

/// The on-site task a case is waiting for, if any: what `verifying` and `handled` mean
/// for a supervisor.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Task {
    /// 核实: is the reported problem there?
    Verify,
    /// 核查: did the department fix it?
    Check,
}

impl Task {
    pub fn as_str(self) -> &'static str {
        match self {
            Task::Verify => "verify",
            Task::Check => "check",
        }
    }

    /// The task a case in `state` waits for.
    pub fn of(state: crate::vocab::State) -> Option<Task> {
        use crate::vocab::State;
        match state {
            State::Verifying => Some(Task::Verify),
            State::Handled => Some(Task::Check),
            _ => None,
        }
    }
}

/// The patrol answering for `cell`: the one whose area code is the longest prefix of it
/// (a cell named outright beats its community, a community its street). `validate` makes
/// that patrol unique.
pub fn responsible<'a>(patrols: &'a [Patrol], cell: &str) -> Option<&'a Patrol> {
    patrols
        .iter()
        .flat_map(|p| p.areas.iter().map(move |area| (area, p)))
        .filter(|(area, _)| cell.starts_with(area.as_str()))
        .max_by_key(|(area, _)| area.len())
        .map(|(_, p)| p)
}

/// What is wrong with the patrol areas, as (field, message) for the config error: codes
/// that are not this district's streets, communities or cells, an area claimed twice,
/// a supervisor who is not one.
pub fn validate(
    patrols: &[Patrol],
    district: &str,
    streets: &[Street],
    is_supervisor: impl Fn(&str) -> Option<bool>,
) -> Result<(), (String, String)> {
    let mut codes = std::collections::HashSet::new();
    let mut claimed = std::collections::HashMap::new();
    let street = |code: &str| streets.iter().any(|s| s.code == code);
    let community = |code: &str| {
        streets
            .iter()
            .flat_map(|s| &s.communities)
            .any(|c| c.code == code)
    };
    for (i, p) in patrols.iter().enumerate() {
        let field = |name: &str| format!("patrols[{i}].{name}");
        if p.code.trim().is_empty() || !codes.insert(p.code.as_str()) {
            return Err((
                field("code"),
                format!("{:?} is empty or appears twice", p.code),
            ));
        }
        // None: a user made with `citygrid user add`, checked at assignment.
        if is_supervisor(&p.supervisor) == Some(false) {
            return Err((
                field("supervisor"),
                format!("{} is not a supervisor", p.supervisor),
            ));
        }
        if p.areas.is_empty() {
            return Err((field("areas"), "an area needs at least one code".into()));
        }
        for area in &p.areas {
            let known = match area.len() {
                9 => digits(area, 9) && street(area),
                12 => digits(area, 12) && community(area),
                15 => digits(area, 15) && community(&area[..12]),
                _ => false,
            };
            if !area.starts_with(district) || !known {
                return Err((
                    field("areas"),
                    format!(
                        "{area:?} is not a street (9 digits), community (12) or cell (15) \
                         of district {district}"
                    ),
                ));
            }
            if let Some(other) = claimed.insert(area.as_str(), p.code.as_str()) {
                return Err((
                    field("areas"),
                    format!("{area} is claimed by {other} and {} too", p.code),
                ));
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::Community;

    fn patrol(code: &str, supervisor: &str, areas: &[&str]) -> Patrol {
        Patrol {
            code: code.into(),
            name: code.into(),
            supervisor: supervisor.into(),
            areas: areas.iter().map(|a| a.to_string()).collect(),
        }
    }

    fn streets() -> Vec<Street> {
        ["330102001", "330102003"]
            .iter()
            .map(|s| Street {
                code: s.to_string(),
                name: s.to_string(),
                communities: (1..=2)
                    .map(|c| Community {
                        code: format!("{s}{c:03}"),
                        name: String::new(),
                    })
                    .collect(),
            })
            .collect()
    }

    #[test]
    fn the_most_specific_area_answers_for_a_cell() {
        let patrols = [
            patrol("P01", "sup1", &["330102001", "330102003001"]),
            patrol("P02", "sup2", &["330102003", "330102001002007"]),
        ];
        let who = |cell: &str| responsible(&patrols, cell).map(|p| p.supervisor.as_str());
        assert_eq!(who("330102001001001"), Some("sup1"), "by street");
        assert_eq!(
            who("330102003001005"),
            Some("sup1"),
            "community beats street"
        );
        assert_eq!(who("330102003002005"), Some("sup2"), "by street");
        assert_eq!(
            who("330102001002007"),
            Some("sup2"),
            "a cell beats its street"
        );
        assert_eq!(who("330102002001001"), None, "in no area");
    }

    #[test]
    fn bad_areas_are_refused_with_the_field() {
        let sup = |name: &str| Some(name.starts_with("sup"));
        let check = |patrols: &[Patrol]| validate(patrols, "330102", &streets(), sup);
        assert_eq!(
            check(&[patrol("P01", "sup1", &["330102001", "330102003002"])]),
            Ok(())
        );
        for (patrols, field, says) in [
            (
                vec![patrol("P01", "sup1", &["330105001"])],
                "patrols[0].areas",
                "of district 330102",
            ),
            (
                vec![patrol("P01", "sup1", &["330102002"])],
                "patrols[0].areas",
                "not a street",
            ),
            (
                vec![patrol("P01", "sup1", &["330102001009"])],
                "patrols[0].areas",
                "not a street",
            ),
            (
                vec![patrol("P01", "sup1", &["33010200100"])],
                "patrols[0].areas",
                "not a street",
            ),
            (
                vec![
                    patrol("P01", "sup1", &["330102001"]),
                    patrol("P02", "sup2", &["330102001"]),
                ],
                "patrols[1].areas",
                "claimed by P01",
            ),
            (
                vec![
                    patrol("P01", "sup1", &["330102001"]),
                    patrol("P01", "sup2", &["330102003"]),
                ],
                "patrols[1].code",
                "appears twice",
            ),
            (
                vec![patrol("P01", "op1", &["330102001"])],
                "patrols[0].supervisor",
                "not a supervisor",
            ),
            (
                vec![patrol("P01", "sup1", &[])],
                "patrols[0].areas",
                "at least one",
            ),
        ] {
            let (got_field, message) = check(&patrols).expect_err("refused");
            assert_eq!(got_field, field, "{message}");
            assert!(message.contains(says), "{message}");
        }
    }
}
