//! What the city's rules post (奖惩办法, `[ledger]` in the city file; docs/LEDGER.md):
//! each year's deposits, each month's penalties and bonuses from the month's appraisal,
//! and each year's deposit settlement. Pure: an appraisal and the rules in, postings out;
//! `store::post` makes them idempotent.

use std::collections::BTreeMap;

use citygrid_appraisal::{Appraisal, Indicator, Unit};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use uuid::Uuid;

use super::book::{Account, Entry, Posting, Pot, is_leader_id};

/// The ledger's rules. The defaults are Changzhou's deposits (the seed: 2,000,000 CNY per
/// district, 20,000 CNY per responsible leader) and CityGrid's monthly amounts, to be set
/// by each city.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Policy {
    /// Each district's deposit for a year (保证金), fen.
    #[serde(default = "default_district_deposit")]
    pub district_deposit_fen: i64,
    /// Each responsible leader's deposit for a year, fen.
    #[serde(default = "default_leader_deposit")]
    pub leader_deposit_fen: i64,
    /// What the city puts into its incentive pool at the start of a year, fen.
    #[serde(default)]
    pub pool_funding_fen: i64,
    #[serde(default)]
    pub monthly: Monthly,
    #[serde(default)]
    pub settlement: Settlement,
    /// The responsible leaders who pay a deposit.
    #[serde(default)]
    pub leaders: Vec<Leader>,
}

/// Each month's penalties and bonuses, from the month's appraisal at district level.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Monthly {
    /// Per overdue case (超期数), fen.
    #[serde(default = "default_overdue")]
    pub overdue_case_fen: i64,
    /// Per problem the city found in the district (上级发现数), fen.
    #[serde(default = "default_city_found")]
    pub city_found_fen: i64,
    /// Per city supervision order that went overdue in the month (not acknowledged or not
    /// finished in time; each level's order counts), fen.
    #[serde(default = "default_order_overdue")]
    pub order_overdue_fen: i64,
    /// Bonus by rank: the first amount to rank 1, the second to rank 2, …; districts tied
    /// at a rank (competition ranking 1, 2, 2, 4) each get that rank's bonus.
    #[serde(default = "default_rank_bonus")]
    pub rank_bonus_fen: Vec<i64>,
}

/// The year-end deposit settlement by the year's composite (综合指标值, 0–100).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Settlement {
    /// At or above: the deposit comes back double (the second half from the pool).
    #[serde(default = "default_double_from")]
    pub double_from: f64,
    /// At or above (and below `double_from`): the deposit comes back. Below: forfeited to
    /// the pool. A district with no composite (nothing to rate) gets its deposit back.
    #[serde(default = "default_return_from")]
    pub return_from: f64,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Leader {
    pub district: String,
    /// Lower-case letters, digits and `-`: part of the account's code.
    pub id: String,
    pub name: String,
}

fn default_district_deposit() -> i64 {
    200_000_000
}
fn default_leader_deposit() -> i64 {
    2_000_000
}
fn default_overdue() -> i64 {
    20_000
}
fn default_city_found() -> i64 {
    50_000
}
fn default_order_overdue() -> i64 {
    100_000
}
fn default_rank_bonus() -> Vec<i64> {
    vec![5_000_000, 3_000_000, 1_000_000]
}
fn default_double_from() -> f64 {
    90.0
}
fn default_return_from() -> f64 {
    60.0
}

impl Default for Monthly {
    fn default() -> Self {
        Monthly {
            overdue_case_fen: default_overdue(),
            city_found_fen: default_city_found(),
            order_overdue_fen: default_order_overdue(),
            rank_bonus_fen: default_rank_bonus(),
        }
    }
}

impl Default for Settlement {
    fn default() -> Self {
        Settlement {
            double_from: default_double_from(),
            return_from: default_return_from(),
        }
    }
}

impl Default for Policy {
    fn default() -> Self {
        Policy {
            district_deposit_fen: default_district_deposit(),
            leader_deposit_fen: default_leader_deposit(),
            pool_funding_fen: 0,
            monthly: Monthly::default(),
            settlement: Settlement::default(),
            leaders: Vec::new(),
        }
    }
}

/// A threshold in hundredths of a point, as the appraisal's composite is.
fn hundredths(points: f64) -> i64 {
    (points * 100.0).round() as i64
}

impl Policy {
    /// Refuses amounts below zero, thresholds out of 0–100 or out of order, and leaders of
    /// districts not in the registry or with ids that cannot name an account.
    pub fn validate(&self, districts: &[String]) -> Result<(), String> {
        let amounts = [
            ("district_deposit_fen", self.district_deposit_fen),
            ("leader_deposit_fen", self.leader_deposit_fen),
            ("pool_funding_fen", self.pool_funding_fen),
            ("monthly.overdue_case_fen", self.monthly.overdue_case_fen),
            ("monthly.city_found_fen", self.monthly.city_found_fen),
            ("monthly.order_overdue_fen", self.monthly.order_overdue_fen),
        ];
        let bonuses = self
            .monthly
            .rank_bonus_fen
            .iter()
            .map(|b| ("monthly.rank_bonus_fen", *b));
        if let Some((key, _)) = amounts.into_iter().chain(bonuses).find(|(_, v)| *v < 0) {
            return Err(format!("ledger.{key}: an amount in fen, 0 or more"));
        }
        let s = &self.settlement;
        let in_range = |p: f64| (0.0..=100.0).contains(&p);
        if !in_range(s.double_from) || !in_range(s.return_from) || s.return_from > s.double_from {
            return Err("ledger.settlement: 0 ≤ return_from ≤ double_from ≤ 100".into());
        }
        for (i, leader) in self.leaders.iter().enumerate() {
            if !districts.contains(&leader.district) {
                return Err(format!(
                    "ledger.leaders[{i}]: district {} is not in the registry",
                    leader.district
                ));
            }
            if !is_leader_id(&leader.id) {
                return Err(format!(
                    "ledger.leaders[{i}].id: lower-case letters, digits and -, at most 32"
                ));
            }
            if self.leaders[..i]
                .iter()
                .any(|l| l.district == leader.district && l.id == leader.id)
            {
                return Err(format!("ledger.leaders[{i}]: {} twice", leader.id));
            }
        }
        Ok(())
    }

    fn leaders_of<'a>(&'a self, district: &'a str) -> impl Iterator<Item = &'a Leader> + 'a {
        self.leaders.iter().filter(move |l| l.district == district)
    }

    /// The year's deposits: every district's and every leader's, and the city's funding of
    /// its pool.
    pub fn deposits(&self, year: i32, districts: &[String]) -> Vec<Posting> {
        let period = Some(year.to_string());
        let cause = |holder: &str| json!({ "kind": "deposit", "year": year, "holder": holder });
        let mut postings = Vec::new();
        for code in districts {
            postings.push(Posting::transfer(
                format!("year:{year}:district:{code}:deposit"),
                period.clone(),
                format!("{year} 年度保证金 deposit of district {code}"),
                cause(code),
                Account::district(code, Pot::Funds),
                Account::district(code, Pot::Deposit),
                self.district_deposit_fen,
            ));
            for leader in self.leaders_of(code) {
                postings.push(Posting::transfer(
                    format!("year:{year}:leader:{code}:{}:deposit", leader.id),
                    period.clone(),
                    format!("{year} 年度个人保证金 deposit of {} ({code})", leader.name),
                    cause(&format!("{code}:{}", leader.id)),
                    Account::leader(code, &leader.id, Pot::Funds),
                    Account::leader(code, &leader.id, Pot::Deposit),
                    self.leader_deposit_fen,
                ));
            }
        }
        postings.push(Posting::transfer(
            format!("year:{year}:city:pool-funding"),
            period,
            format!("{year} 奖惩资金 the city's funding of its pool"),
            cause("city"),
            Account::city(Pot::Funds),
            Account::city(Pot::Pool),
            self.pool_funding_fen,
        ));
        postings.retain(|p| p.entries.iter().all(|e| e.amount_fen != 0));
        postings
    }

    /// The month's penalties and bonuses from its appraisal at district level, and the
    /// city's supervision orders that went overdue in it (`overdue_orders`, per district).
    /// A district not reconciled past the month's end posts nothing from its appraisal yet;
    /// while any is, no bonus is posted, since the ranking is not final. Orders are the
    /// city's own records and post regardless.
    pub fn month(
        &self,
        appraisal: &Appraisal,
        overdue_orders: &BTreeMap<String, Vec<Uuid>>,
    ) -> Plan {
        let period = appraisal.period.to_string();
        let mut plan = Plan::default();
        let all_complete = appraisal.units.iter().all(|u| u.complete);
        for unit in &appraisal.units {
            let code = &unit.key;
            let orders = overdue_orders
                .get(code)
                .map(Vec::as_slice)
                .unwrap_or_default();
            let rate = self.monthly.order_overdue_fen;
            if let Some(amount) = (orders.len() as i64).checked_mul(rate).filter(|a| *a > 0) {
                plan.postings.push(penalty(
                    &period,
                    code,
                    "order-overdue-penalty",
                    format!(
                        "督办超期扣罚 overdue supervision orders: {} × {rate} fen",
                        orders.len()
                    ),
                    json!({ "kind": "supervision_orders", "period": period, "district": code,
                            "orders": orders, "count": orders.len(), "rate_fen": rate }),
                    amount,
                ));
            }
            if !unit.complete {
                plan.held.push((
                    code.clone(),
                    "its stream is not reconciled past the month's end".into(),
                ));
                continue;
            }
            let charges = [
                (
                    Indicator::Overdue,
                    self.monthly.overdue_case_fen,
                    "overdue-penalty",
                    "超期扣罚 overdue cases",
                ),
                (
                    Indicator::CityFound,
                    self.monthly.city_found_fen,
                    "city-found-penalty",
                    "上级发现扣罚 problems the city found",
                ),
            ];
            for (indicator, rate, name, what) in charges {
                let count = unit.counts.get(indicator);
                let Some(amount) = count.checked_mul(rate).filter(|a| *a > 0) else {
                    continue;
                };
                let mut cause = cite(appraisal, unit);
                cause["indicator"] = json!(indicator.key());
                cause["count"] = json!(count);
                cause["rate_fen"] = json!(rate);
                plan.postings.push(penalty(
                    &period,
                    code,
                    name,
                    format!("{what}: {count} × {rate} fen"),
                    cause,
                    amount,
                ));
            }
            let bonus = unit
                .rank
                .and_then(|r| (r as usize).checked_sub(1))
                .and_then(|i| self.monthly.rank_bonus_fen.get(i))
                .copied()
                .filter(|b| *b > 0);
            if let (Some(amount), Some(rank), true) = (bonus, unit.rank, all_complete) {
                let mut cause = cite(appraisal, unit);
                cause["rank"] = json!(rank);
                plan.postings.push(Posting::transfer(
                    format!("month:{period}:{code}:rank-bonus"),
                    Some(period.clone()),
                    format!("{period} 排名奖励 rank {rank} bonus"),
                    cause,
                    Account::city(Pot::Pool),
                    Account::district(code, Pot::Bonus),
                    amount,
                ));
            }
        }
        if !all_complete && !self.monthly.rank_bonus_fen.is_empty() {
            plan.held.push((
                "bonuses".into(),
                "the ranking is not final until every district is reconciled".into(),
            ));
        }
        plan
    }

    /// The year-end settlement of the deposits paid for `appraisal`'s year (a year at
    /// district level): `deposits` are the amounts the ledger holds from that year's deposit
    /// postings, per account.
    pub fn settle(&self, appraisal: &Appraisal, deposits: &[(Account, i64)]) -> Plan {
        let year = appraisal.period.to_string();
        let mut plan = Plan::default();
        for unit in &appraisal.units {
            let code = &unit.key;
            if !unit.complete {
                plan.held.push((
                    code.clone(),
                    "its stream is not reconciled past the year's end".into(),
                ));
                continue;
            }
            let outcome = self.outcome(unit.composite);
            for (account, deposit) in deposits {
                if account.pot != Pot::Deposit || account.district_code() != Some(code.as_str()) {
                    continue;
                }
                let funds = Account {
                    holder: account.holder.clone(),
                    pot: Pot::Funds,
                };
                let entry = |account: Account, amount_fen| Entry {
                    account,
                    amount_fen,
                };
                let mut entries = vec![entry(account.clone(), -deposit)];
                match outcome {
                    Outcome::Double => {
                        entries.push(entry(Account::city(Pot::Pool), -deposit));
                        entries.push(entry(funds, 2 * deposit));
                    }
                    Outcome::Return => entries.push(entry(funds, *deposit)),
                    Outcome::Forfeit => entries.push(entry(Account::city(Pot::Pool), *deposit)),
                }
                let holder = account.to_string();
                let holder = holder.trim_end_matches(":deposit");
                let mut cause = cite(appraisal, unit);
                cause["outcome"] = json!(outcome.name());
                cause["deposit_fen"] = json!(deposit);
                plan.postings.push(Posting {
                    key: format!("year:{year}:{holder}:settlement"),
                    period: Some(year.clone()),
                    memo: format!(
                        "{year} 保证金结算 deposit settlement of {holder}: {}",
                        outcome.chinese()
                    ),
                    cause,
                    entries,
                });
            }
        }
        plan
    }

    fn outcome(&self, composite: Option<i64>) -> Outcome {
        match composite {
            None => Outcome::Return,
            Some(c) if c >= hundredths(self.settlement.double_from) => Outcome::Double,
            Some(c) if c >= hundredths(self.settlement.return_from) => Outcome::Return,
            Some(_) => Outcome::Forfeit,
        }
    }
}

/// What a deposit comes to at the year's end.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    Double,
    Return,
    Forfeit,
}

impl Outcome {
    fn name(self) -> &'static str {
        match self {
            Outcome::Double => "double",
            Outcome::Return => "return",
            Outcome::Forfeit => "forfeit",
        }
    }

    fn chinese(self) -> &'static str {
        match self {
            Outcome::Double => "双倍返还",
            Outcome::Return => "返还",
            Outcome::Forfeit => "没收",
        }
    }
}

/// The postings a rule gives, and what it could not post yet, with why.
#[derive(Debug, Default)]
pub struct Plan {
    pub postings: Vec<Posting>,
    pub held: Vec<(String, String)>,
}

/// A month's penalty of a district, `month:<period>:<district>:<name>`: from its penalty
/// account to the city's pool.
fn penalty(
    period: &str,
    district: &str,
    name: &str,
    what: String,
    cause: Value,
    amount_fen: i64,
) -> Posting {
    Posting::transfer(
        format!("month:{period}:{district}:{name}"),
        Some(period.to_owned()),
        format!("{period} {what}"),
        cause,
        Account::district(district, Pot::Penalty),
        Account::city(Pot::Pool),
        amount_fen,
    )
}

/// The appraisal a posting stands on: enough to appraise it again and compare.
fn cite(appraisal: &Appraisal, unit: &Unit) -> Value {
    json!({
        "kind": "appraisal",
        "period": appraisal.period.to_string(),
        "level": appraisal.level.to_string(),
        "config_version": appraisal.config_version,
        "input_digest": appraisal.input_digest,
        "district": unit.key,
        "composite": unit.composite,
    })
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use citygrid_appraisal::engine::Counts;
    use citygrid_appraisal::{Level, Period};

    use super::*;

    fn unit(key: &str, overdue: i64, rank: Option<u32>, complete: bool) -> Unit {
        let mut counts = Counts::zero();
        counts.values.insert(Indicator::Overdue, overdue);
        Unit {
            key: key.to_owned(),
            counts,
            rates: BTreeMap::new(),
            avg_handling_centihours: None,
            avg_handling_working_centihours: None,
            composite: rank.map(|r| 9000 - i64::from(r)),
            grade: None,
            rank,
            filed_per_10k_residents: None,
            filed_per_km2: None,
            filed_per_cell: None,
            complete,
        }
    }

    fn october(units: Vec<Unit>) -> Appraisal {
        Appraisal {
            period: Period::Month {
                year: 2026,
                month: 10,
            },
            level: Level::District,
            config_version: "v".into(),
            input_digest: "d".into(),
            cases: 0,
            total: unit("total", 0, None, true),
            units,
        }
    }

    fn keys(plan: &Plan) -> Vec<&str> {
        plan.postings.iter().map(|p| p.key.as_str()).collect()
    }

    /// Tied districts each get their rank's bonus; a district with no overdue case pays
    /// nothing (no zero posting); every posting cites the appraisal, the count and the rate.
    #[test]
    fn a_month_charges_per_case_and_pays_tied_ranks_alike() {
        let plan = Policy::default().month(
            &october(vec![
                unit("330102", 3, Some(1), true),
                unit("330105", 0, Some(2), true),
                unit("330106", 1, Some(2), true),
            ]),
            &BTreeMap::new(),
        );
        assert_eq!(
            keys(&plan),
            [
                "month:2026-10:330102:overdue-penalty",
                "month:2026-10:330102:rank-bonus",
                "month:2026-10:330105:rank-bonus",
                "month:2026-10:330106:overdue-penalty",
                "month:2026-10:330106:rank-bonus",
            ]
        );
        let amounts: Vec<i64> = plan
            .postings
            .iter()
            .map(|p| p.entries[1].amount_fen)
            .collect();
        assert_eq!(amounts, [60_000, 5_000_000, 3_000_000, 20_000, 3_000_000]);
        let cause = &plan.postings[0].cause;
        assert_eq!(
            (
                &cause["indicator"],
                &cause["count"],
                &cause["rate_fen"],
                &cause["input_digest"]
            ),
            (&json!("overdue"), &json!(3), &json!(20_000), &json!("d"))
        );
        assert!(plan.postings.iter().all(|p| p.check().is_ok()));
    }

    /// A district not reconciled posts nothing from its appraisal, only its overdue orders
    /// (the city's own records); the others' penalties post, but no bonus does while the
    /// ranking may still change.
    #[test]
    fn an_incomplete_district_holds_its_postings_and_every_bonus() {
        let orders = BTreeMap::from([("330105".to_owned(), vec![Uuid::nil(), Uuid::max()])]);
        let plan = Policy::default().month(
            &october(vec![
                unit("330102", 2, Some(1), true),
                unit("330105", 5, None, false),
            ]),
            &orders,
        );
        assert_eq!(
            keys(&plan),
            [
                "month:2026-10:330102:overdue-penalty",
                "month:2026-10:330105:order-overdue-penalty"
            ]
        );
        let orders = &plan.postings[1];
        assert_eq!(
            (orders.entries[1].amount_fen, &orders.cause["count"]),
            (200_000, &json!(2))
        );
        let held: Vec<&str> = plan.held.iter().map(|(who, _)| who.as_str()).collect();
        assert_eq!(held, ["330105", "bonuses"]);
    }

    #[test]
    fn thresholds_decide_the_deposit_at_their_boundaries() {
        let policy = Policy::default();
        assert_eq!(policy.outcome(Some(9000)), Outcome::Double);
        assert_eq!(policy.outcome(Some(8999)), Outcome::Return);
        assert_eq!(policy.outcome(Some(6000)), Outcome::Return);
        assert_eq!(policy.outcome(Some(5999)), Outcome::Forfeit);
        assert_eq!(policy.outcome(None), Outcome::Return);
    }

    #[test]
    fn rules_that_cannot_be_applied_are_refused() {
        let districts = vec!["330102".to_owned()];
        let mut policy = Policy::default();
        assert_eq!(policy.validate(&districts), Ok(()));
        policy.monthly.overdue_case_fen = -1;
        assert!(
            policy
                .validate(&districts)
                .unwrap_err()
                .contains("overdue_case_fen")
        );
        let mut policy = Policy::default();
        policy.settlement.return_from = 95.0;
        assert!(policy.validate(&districts).is_err());
        let mut policy = Policy::default();
        policy.leaders.push(Leader {
            district: "330199".into(),
            id: "head".into(),
            name: "x".into(),
        });
        assert!(policy.validate(&districts).unwrap_err().contains("330199"));
    }
}
