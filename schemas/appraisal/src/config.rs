//! What a city or district may set: the composite's weights per level, the grade bands
//! and the suspension rule. Every result names the configuration's `version`, so a
//! figure can always be traced to the rules it was computed under. The defaults and their
//! sources are in docs/APPRAISAL.md.

use std::collections::BTreeMap;

use serde::Deserialize;

use crate::indicator::Indicator;
use crate::level::Level;

/// How approved suspensions (缓办, 挂账) count.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SuspendedRule {
    /// Out of 应结案数 (and so of every rate over it), as Jinhua does: the suspension was
    /// approved, the unit is not to blame for the wait.
    Exclude,
    /// In 应结案数 like any other due case.
    Count,
}

#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    pub version: String,
    pub suspended: SuspendedRule,
    /// Lowest composite of grades A, B, C, D (E below D), in points.
    pub bands: Bands,
    /// Per level (`region` for district, street, community, cell and category), the
    /// weight of each indicator in the composite. Only rates take weights.
    pub weights: BTreeMap<String, BTreeMap<Indicator, u32>>,
}

#[derive(Debug, Clone, Copy, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Bands {
    pub a: u32,
    pub b: u32,
    pub c: u32,
    pub d: u32,
}

/// The configuration a city starts with (docs/APPRAISAL.md, "Defaults").
pub const DEFAULT: &str = include_str!("default.toml");

impl Default for Config {
    fn default() -> Config {
        Config::parse(DEFAULT).expect("the embedded default configuration is valid")
    }
}

impl Config {
    /// Parses and checks a configuration: bands descending within 0–100; weights only on
    /// rates, for the known weight groups, and not all zero.
    pub fn parse(text: &str) -> Result<Config, String> {
        let config: Config = toml::from_str(text).map_err(|e| e.to_string())?;
        let Bands { a, b, c, d } = config.bands;
        if !(a <= 100 && a > b && b > c && c > d) {
            return Err(format!(
                "bands must descend within 0–100 (A {a}, B {b}, C {c}, D {d})"
            ));
        }
        for (group, weights) in &config.weights {
            if !Level::GROUPS.contains(&group.as_str()) {
                return Err(format!(
                    "weights.{group}: no such level group (use {})",
                    Level::GROUPS.join(", ")
                ));
            }
            if let Some(other) = weights.keys().find(|i| !i.is_rate()) {
                return Err(format!(
                    "weights.{group}.{}: only rates take a weight",
                    other.key()
                ));
            }
            if weights.values().all(|w| *w == 0) {
                return Err(format!("weights.{group}: all weights are zero"));
            }
        }
        for group in Level::GROUPS {
            if !config.weights.contains_key(*group) {
                return Err(format!("weights.{group} is missing"));
            }
        }
        Ok(config)
    }

    /// The weights of a level's composite.
    pub fn weights(&self, level: Level) -> &BTreeMap<Indicator, u32> {
        &self.weights[level.group()]
    }

    /// The grade of a composite in hundredths of a point.
    pub fn grade(&self, composite_centi: i64) -> char {
        let Bands { a, b, c, d } = self.bands;
        let points = |p: u32| i64::from(p) * 100;
        match composite_centi {
            x if x >= points(a) => 'A',
            x if x >= points(b) => 'B',
            x if x >= points(c) => 'C',
            x if x >= points(d) => 'D',
            _ => 'E',
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_default_parses_and_bad_ones_name_the_key() {
        let config = Config::default();
        assert_eq!(config.suspended, SuspendedRule::Exclude);
        assert_eq!(
            [9000, 8999, 7500, 6000, 4000, 3999].map(|c| config.grade(c)),
            ['A', 'B', 'B', 'C', 'D', 'E']
        );
        for (change, says) in [
            (("a = 90", "a = 70"), "bands must descend"),
            (
                ("on_time_close_rate = 40", "filed = 40"),
                "only rates take a weight",
            ),
            (
                ("[weights.department]", "[weights.office]"),
                "weights.office",
            ),
        ] {
            let text = DEFAULT.replacen(change.0, change.1, 1);
            assert_ne!(text, DEFAULT, "{change:?}");
            let err = Config::parse(&text).expect_err(says);
            assert!(err.contains(says), "{err}");
        }
    }
}
