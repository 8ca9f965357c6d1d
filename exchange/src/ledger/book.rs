//! The ledger's arithmetic, without storage: accounts, postings that balance, reversals
//! that undo them, balances. Everything here is checked again by the database (its
//! triggers) and by `verify`, but a posting that does not balance is refused here first,
//! with a message a person can act on.

use std::collections::BTreeMap;
use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};
use serde_json::Value;

/// Whose money an account holds.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Holder {
    City,
    District(String),
    /// A responsible leader of a district (区党政主要领导、分管领导), by the id the ledger
    /// policy gives them.
    Leader {
        district: String,
        id: String,
    },
}

/// What an account is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Pot {
    /// 保证金: paid in at the start of a year, settled at its end.
    Deposit,
    /// 奖励: bonuses earned by rank.
    Bonus,
    /// 扣罚: penalties charged (a negative balance is what the district owes).
    Penalty,
    /// The holder's own budget: what it paid into the scheme (negative) or got back.
    Funds,
    /// The city's incentive pool (奖惩资金池): takes penalties and forfeits, pays bonuses.
    Pool,
}

impl Pot {
    fn name(self) -> &'static str {
        match self {
            Pot::Deposit => "deposit",
            Pot::Bonus => "bonus",
            Pot::Penalty => "penalty",
            Pot::Funds => "funds",
            Pot::Pool => "pool",
        }
    }
}

/// An account: `city:pool`, `city:funds`, `district:330102:deposit|bonus|penalty|funds`,
/// `leader:330102:<id>:deposit|funds`. Its balance is the sum of its entries: what the
/// scheme owes the holder, so a `funds` account is negative by what the holder paid in.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Account {
    pub holder: Holder,
    pub pot: Pot,
}

impl Account {
    pub fn city(pot: Pot) -> Account {
        Account {
            holder: Holder::City,
            pot,
        }
    }

    pub fn district(code: &str, pot: Pot) -> Account {
        Account {
            holder: Holder::District(code.to_owned()),
            pot,
        }
    }

    pub fn leader(district: &str, id: &str, pot: Pot) -> Account {
        Account {
            holder: Holder::Leader {
                district: district.to_owned(),
                id: id.to_owned(),
            },
            pot,
        }
    }

    /// The district whose statement shows this account (none: the city's own).
    pub fn district_code(&self) -> Option<&str> {
        match &self.holder {
            Holder::City => None,
            Holder::District(code) | Holder::Leader { district: code, .. } => Some(code),
        }
    }
}

impl fmt::Display for Account {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let pot = self.pot.name();
        match &self.holder {
            Holder::City => write!(f, "city:{pot}"),
            Holder::District(code) => write!(f, "district:{code}:{pot}"),
            Holder::Leader { district, id } => write!(f, "leader:{district}:{id}:{pot}"),
        }
    }
}

fn is_district_code(code: &str) -> bool {
    code.len() == 6 && code.bytes().all(|b| b.is_ascii_digit())
}

/// A leader's id: lower-case letters, digits and `-`, at most 32.
pub fn is_leader_id(id: &str) -> bool {
    !id.is_empty()
        && id.len() <= 32
        && id
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
}

impl FromStr for Account {
    type Err = String;

    fn from_str(code: &str) -> Result<Account, String> {
        let parts: Vec<&str> = code.split(':').collect();
        let pot = |name: &str, allowed: &[Pot]| {
            allowed
                .iter()
                .copied()
                .find(|p| p.name() == name)
                .ok_or_else(|| format!("{code:?}: no {name:?} account of this holder"))
        };
        let account = match parts.as_slice() {
            ["city", p] => Account::city(pot(p, &[Pot::Pool, Pot::Funds])?),
            ["district", d, p] if is_district_code(d) => Account::district(
                d,
                pot(p, &[Pot::Deposit, Pot::Bonus, Pot::Penalty, Pot::Funds])?,
            ),
            ["leader", d, id, p] if is_district_code(d) && is_leader_id(id) => {
                Account::leader(d, id, pot(p, &[Pot::Deposit, Pot::Funds])?)
            }
            _ => {
                return Err(format!(
                    "{code:?} is not an account: city:pool, city:funds, district:<code>:deposit|bonus|penalty|funds or leader:<code>:<id>:deposit|funds"
                ));
            }
        };
        Ok(account)
    }
}

impl Serialize for Account {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for Account {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Account, D::Error> {
        String::deserialize(d)?
            .parse()
            .map_err(serde::de::Error::custom)
    }
}

/// One line of a posting: a signed amount in fen on one account.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub struct Entry {
    pub account: Account,
    pub amount_fen: i64,
}

/// A transaction of the ledger: entries that sum to zero, under an idempotency key, citing
/// what caused it.
#[derive(Debug, Clone, PartialEq)]
pub struct Posting {
    /// Unique in the ledger: posting the same key again posts nothing (`store::post`).
    pub key: String,
    /// The month (`2026-10`) or year it concerns, for statements.
    pub period: Option<String>,
    pub memo: String,
    /// What caused it: the appraisal (period, rules version, input digest, the figure and
    /// the rate), the order or the case, or the posting a reversal undoes.
    pub cause: Value,
    pub entries: Vec<Entry>,
}

/// Longest idempotency key.
const MAX_KEY: usize = 200;

/// A reversal's key: `reversal:<the original's key>`.
pub fn reversal_key(key: &str) -> String {
    format!("reversal:{key}")
}

/// The key of the `n`th posting under one idempotency key: the key itself, then
/// `<key>#2`, `<key>#3`, … each posted only after the one before was reversed.
pub fn revision_key(key: &str, n: u32) -> String {
    if n <= 1 {
        key.to_owned()
    } else {
        format!("{key}#{n}")
    }
}

/// A key that may be posted: lower-case letters, digits and `: . _ -`, no `#` (revisions
/// use it), not starting with `reversal:` (reversals are made by `Posting::reversal`).
pub fn check_key(key: &str) -> Result<(), String> {
    if key.is_empty() || key.len() > MAX_KEY {
        return Err(format!("a key is 1 to {MAX_KEY} characters"));
    }
    if !key.bytes().all(|b| {
        b.is_ascii_lowercase() || b.is_ascii_digit() || matches!(b, b':' | b'.' | b'_' | b'-')
    }) {
        return Err(format!(
            "{key:?}: a key is lower-case letters, digits and : . _ -"
        ));
    }
    if key.starts_with("reversal:") {
        return Err(format!(
            "{key:?}: reversals are made by reversing a posting, not posted"
        ));
    }
    Ok(())
}

impl Posting {
    /// `amount_fen` from `from` to `to`: the one-line transfer most postings are.
    pub fn transfer(
        key: String,
        period: Option<String>,
        memo: String,
        cause: Value,
        from: Account,
        to: Account,
        amount_fen: i64,
    ) -> Posting {
        Posting {
            key,
            period,
            memo,
            cause,
            entries: vec![
                Entry {
                    account: from,
                    amount_fen: -amount_fen,
                },
                Entry {
                    account: to,
                    amount_fen,
                },
            ],
        }
    }

    /// Refuses what the ledger never holds: fewer than two entries, a zero amount, entries
    /// that do not sum to zero (or overflow doing so), an empty memo.
    pub fn check(&self) -> Result<(), String> {
        if self.entries.len() < 2 {
            return Err(format!("{}: a posting has at least two entries", self.key));
        }
        if let Some(e) = self.entries.iter().find(|e| e.amount_fen == 0) {
            return Err(format!("{}: a zero amount on {}", self.key, e.account));
        }
        let sum = self
            .entries
            .iter()
            .try_fold(0i64, |sum, e| sum.checked_add(e.amount_fen))
            .ok_or_else(|| format!("{}: the amounts overflow", self.key))?;
        if sum != 0 {
            return Err(format!(
                "{}: the entries sum to {sum} fen, not zero",
                self.key
            ));
        }
        if self.memo.trim().is_empty() {
            return Err(format!("{}: a posting says what it is (memo)", self.key));
        }
        Ok(())
    }

    /// The posting that undoes this one: every entry negated, citing it and why.
    pub fn reversal(&self, reason: &str) -> Posting {
        Posting {
            key: reversal_key(&self.key),
            period: self.period.clone(),
            memo: format!("冲正 reversal of {}: {reason}", self.key),
            cause: serde_json::json!({ "kind": "reversal", "reverses": self.key, "reason": reason }),
            entries: self
                .entries
                .iter()
                .map(|e| Entry {
                    account: e.account.clone(),
                    amount_fen: -e.amount_fen,
                })
                .collect(),
        }
    }

    /// The entries in a canonical order, merged per account: two postings with the same
    /// of these move the same money.
    pub fn effect(&self) -> BTreeMap<Account, i64> {
        balances(&self.entries)
    }
}

/// Each account's sum over `entries` (accounts that sum to zero are kept, at zero).
pub fn balances<'a>(entries: impl IntoIterator<Item = &'a Entry>) -> BTreeMap<Account, i64> {
    let mut sums = BTreeMap::new();
    for e in entries {
        *sums.entry(e.account.clone()).or_insert(0) += e.amount_fen;
    }
    sums
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn pool() -> Account {
        Account::city(Pot::Pool)
    }

    #[test]
    fn account_codes_read_back_as_written() {
        for code in [
            "city:pool",
            "city:funds",
            "district:330102:deposit",
            "district:330102:penalty",
            "leader:330102:head:deposit",
        ] {
            let account: Account = code.parse().unwrap();
            assert_eq!(account.to_string(), code);
        }
        for bad in [
            "city:deposit",
            "district:33010:deposit",
            "district:330102:pool",
            "leader:330102:Head:deposit",
            "leader:330102:head:bonus",
            "nobody",
        ] {
            assert!(bad.parse::<Account>().is_err(), "{bad} accepted");
        }
    }

    #[test]
    fn a_posting_that_does_not_balance_is_refused_with_its_sum() {
        let mut p = Posting::transfer(
            "k".into(),
            None,
            "m".into(),
            Value::Null,
            pool(),
            Account::district("330102", Pot::Bonus),
            500,
        );
        assert_eq!(p.check(), Ok(()));
        p.entries[1].amount_fen = 400;
        assert_eq!(
            p.check().unwrap_err(),
            "k: the entries sum to -100 fen, not zero"
        );
        p.entries.truncate(1);
        assert!(p.check().unwrap_err().contains("at least two entries"));
    }

    #[test]
    fn keys_refuse_revision_marks_and_capitals() {
        assert!(check_key("month:2026-10:330102:overdue-penalty").is_ok());
        assert!(check_key("month:2026-10#2").is_err());
        assert!(check_key("Month").is_err());
        assert!(check_key("").is_err());
        assert!(check_key("reversal:month:2026-10").is_err());
        assert_eq!(revision_key("k", 1), "k");
        assert_eq!(revision_key("k", 3), "k#3");
    }

    fn account() -> impl Strategy<Value = Account> {
        prop_oneof![
            Just(pool()),
            Just(Account::city(Pot::Funds)),
            Just(Account::district("330102", Pot::Deposit)),
            Just(Account::district("330102", Pot::Penalty)),
            Just(Account::district("330105", Pot::Bonus)),
            Just(Account::leader("330105", "head", Pot::Deposit)),
        ]
    }

    /// A balanced posting: random amounts on random accounts, and one line that evens them.
    fn posting(n: usize) -> impl Strategy<Value = Posting> {
        (
            proptest::collection::vec((account(), 1i64..1_000_000_000), 1..5),
            account(),
        )
            .prop_map(move |(lines, last)| {
                let mut entries: Vec<Entry> = lines
                    .into_iter()
                    .map(|(account, amount_fen)| Entry {
                        account,
                        amount_fen,
                    })
                    .collect();
                let sum: i64 = entries.iter().map(|e| e.amount_fen).sum();
                entries.push(Entry {
                    account: last,
                    amount_fen: -sum,
                });
                Posting {
                    key: format!("p{n}"),
                    period: None,
                    memo: "test".into(),
                    cause: Value::Null,
                    entries,
                }
            })
    }

    proptest! {
        /// Whatever is posted and reversed, the books balance, and reversing a posting
        /// gives back the balances from before it.
        #[test]
        fn balances_always_sum_to_zero_and_reversals_restore_them(
            postings in proptest::collection::vec(posting(0), 1..20),
            reversed in proptest::collection::vec(any::<bool>(), 20),
        ) {
            let mut entries: Vec<Entry> = Vec::new();
            let mut kept: Vec<Entry> = Vec::new();
            for (p, undo) in postings.iter().zip(&reversed) {
                prop_assert_eq!(p.check(), Ok(()));
                entries.extend(p.entries.iter().cloned());
                if *undo {
                    let r = p.reversal("test");
                    prop_assert_eq!(r.check(), Ok(()));
                    entries.extend(r.entries);
                } else {
                    kept.extend(p.entries.iter().cloned());
                }
            }
            let all = balances(&entries);
            prop_assert_eq!(all.values().sum::<i64>(), 0);
            let without: BTreeMap<_, _> = all.into_iter().filter(|(_, b)| *b != 0).collect();
            let expected: BTreeMap<_, _> =
                balances(&kept).into_iter().filter(|(_, b)| *b != 0).collect();
            prop_assert_eq!(without, expected);
        }
    }
}
