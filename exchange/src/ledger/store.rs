//! The ledger in the warehouse: postings made idempotent by their key, reversals,
//! balances as of any moment, a district's statement, and `verify`. Blocking (diesel).

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use diesel::prelude::*;
use diesel::sql_types::{BigInt, Nullable, Text, Timestamptz};
use serde::Serialize;
use serde_json::Value;
use utoipa::ToSchema;

use super::book::{self, Account, Entry, Posting};
use crate::error::{Error, Result};
use crate::schema::{ledger_accounts, ledger_entries, ledger_postings};

/// What posting one key did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// Posted now, under this key (`key`, or `key#n` after `n − 1` reversals).
    Posted(String),
    /// Already posted with the same effect: nothing new.
    Unchanged(String),
    /// Already posted with another effect (the rules or the appraisal changed since):
    /// nothing is posted; a person reverses the posted one (`ledger reverse`) and posts again.
    Differs {
        key: String,
        posted: BTreeMap<Account, i64>,
        wanted: BTreeMap<Account, i64>,
    },
}

fn refused(message: String) -> Error {
    Error::Kit(citygrid_kit::Error::invalid("posting", message))
}

fn parse_account(code: &str) -> Result<Account> {
    code.parse()
        .map_err(|e: String| Error::Internal(format!("the ledger holds a bad account: {e}")))
}

/// Serializes every writer of one idempotency key (posting and reversing it) until commit.
fn lock(conn: &mut PgConnection, base_key: &str) -> Result<()> {
    diesel::sql_query("SELECT pg_advisory_xact_lock(7301, hashtext($1))")
        .bind::<Text, _>(base_key)
        .execute(conn)?;
    Ok(())
}

/// One stored revision of a key: its id, its key as stored, whether reversed.
#[derive(Debug, QueryableByName)]
struct Revision {
    #[diesel(sql_type = BigInt)]
    id: i64,
    #[diesel(sql_type = Text)]
    key: String,
    #[diesel(sql_type = diesel::sql_types::Bool)]
    reversed: bool,
}

fn revisions(conn: &mut PgConnection, base_key: &str) -> Result<Vec<Revision>> {
    Ok(diesel::sql_query(
        "SELECT p.id, p.key, EXISTS (SELECT 1 FROM ledger_postings r WHERE r.reverses = p.id) AS reversed \
           FROM ledger_postings p WHERE split_part(p.key, '#', 1) = $1 ORDER BY p.id",
    )
    .bind::<Text, _>(base_key)
    .load(conn)?)
}

fn entries_of(conn: &mut PgConnection, posting: i64) -> Result<Vec<Entry>> {
    let rows: Vec<(String, i64)> = ledger_entries::table
        .filter(ledger_entries::posting_id.eq(posting))
        .order(ledger_entries::line)
        .select((ledger_entries::account, ledger_entries::amount_fen))
        .load(conn)?;
    rows.into_iter()
        .map(|(account, amount_fen)| {
            Ok(Entry {
                account: parse_account(&account)?,
                amount_fen,
            })
        })
        .collect()
}

/// Writes `posting` under `key` (accounts opened as first used); the database checks its
/// balance at commit.
fn insert(
    conn: &mut PgConnection,
    posting: &Posting,
    key: &str,
    reverses: Option<i64>,
    now: DateTime<Utc>,
) -> Result<i64> {
    for entry in &posting.entries {
        diesel::insert_into(ledger_accounts::table)
            .values((
                ledger_accounts::code.eq(entry.account.to_string()),
                ledger_accounts::district.eq(entry.account.district_code()),
                ledger_accounts::opened_at.eq(now),
            ))
            .on_conflict_do_nothing()
            .execute(conn)?;
    }
    let id: i64 = diesel::insert_into(ledger_postings::table)
        .values((
            ledger_postings::key.eq(key),
            ledger_postings::period.eq(&posting.period),
            ledger_postings::memo.eq(&posting.memo),
            ledger_postings::cause.eq(&posting.cause),
            ledger_postings::reverses.eq(reverses),
            ledger_postings::booked_at.eq(now),
        ))
        .returning(ledger_postings::id)
        .get_result(conn)?;
    let rows: Vec<_> = posting
        .entries
        .iter()
        .enumerate()
        .map(|(line, e)| {
            (
                ledger_entries::posting_id.eq(id),
                ledger_entries::line.eq(line as i16),
                ledger_entries::account.eq(e.account.to_string()),
                ledger_entries::amount_fen.eq(e.amount_fen),
            )
        })
        .collect();
    diesel::insert_into(ledger_entries::table)
        .values(&rows)
        .execute(conn)?;
    Ok(id)
}

/// Posts under `posting.key` unless it is already posted: the same effect is `Unchanged`,
/// another is `Differs` (nothing written). After a reversal of the posted one, posts the
/// next revision (`key#2`, …).
fn post_one(conn: &mut PgConnection, posting: &Posting, now: DateTime<Utc>) -> Result<Outcome> {
    book::check_key(&posting.key).map_err(refused)?;
    posting.check().map_err(refused)?;
    lock(conn, &posting.key)?;
    let revisions = revisions(conn, &posting.key)?;
    if let Some(live) = revisions.iter().find(|r| !r.reversed) {
        let posted = book::balances(&entries_of(conn, live.id)?);
        let wanted = posting.effect();
        return Ok(if posted == wanted {
            Outcome::Unchanged(live.key.clone())
        } else {
            Outcome::Differs {
                key: live.key.clone(),
                posted,
                wanted,
            }
        });
    }
    let key = book::revision_key(&posting.key, revisions.len() as u32 + 1);
    insert(conn, posting, &key, None, now)?;
    Ok(Outcome::Posted(key))
}

/// Posts each of `postings` (see [`Outcome`]) in one transaction: a run that fails posts
/// nothing, and running it again posts only what is new.
pub fn post(
    conn: &mut PgConnection,
    postings: &[Posting],
    now: DateTime<Utc>,
) -> Result<Vec<Outcome>> {
    conn.transaction(|conn| postings.iter().map(|p| post_one(conn, p, now)).collect())
}

/// A stored posting, as a reversal reads it.
#[derive(Queryable, Selectable)]
#[diesel(table_name = ledger_postings)]
struct Stored {
    id: i64,
    period: Option<String>,
    memo: String,
    cause: Value,
    reverses: Option<i64>,
}

/// Reverses the posting stored under `key` (a revision such as `key#2` included): a new
/// posting `reversal:<key>` negating every entry and citing it. A posting is reversed at
/// most once, and a reversal is not reversed (post the original again instead).
pub fn reverse(
    conn: &mut PgConnection,
    key: &str,
    reason: &str,
    now: DateTime<Utc>,
) -> Result<String> {
    if reason.trim().is_empty() {
        return Err(Error::Kit(citygrid_kit::Error::invalid(
            "reason",
            "a reversal says why",
        )));
    }
    conn.transaction(|conn| {
        lock(conn, key.split('#').next().unwrap_or(key))?;
        let original: Option<Stored> = ledger_postings::table
            .filter(ledger_postings::key.eq(key))
            .select(Stored::as_select())
            .first(conn)
            .optional()?;
        let Stored {
            id,
            period,
            memo,
            cause,
            reverses,
        } = original
            .ok_or_else(|| Error::Kit(citygrid_kit::Error::NotFound(format!("posting {key}"))))?;
        if reverses.is_some() {
            return Err(Error::Kit(citygrid_kit::Error::conflict(
                "reversal_reversed",
                format!("{key} is a reversal: post the original again instead"),
            )));
        }
        let already: Option<String> = ledger_postings::table
            .filter(ledger_postings::reverses.eq(id))
            .select(ledger_postings::key)
            .first(conn)
            .optional()?;
        if let Some(by) = already {
            return Err(Error::Kit(citygrid_kit::Error::conflict(
                "already_reversed",
                format!("{key} is already reversed by {by}"),
            )));
        }
        let posting = Posting {
            key: key.to_owned(),
            period,
            memo,
            cause,
            entries: entries_of(conn, id)?,
        };
        let reversal = posting.reversal(reason);
        insert(conn, &reversal, &reversal.key, Some(id), now)?;
        Ok(reversal.key)
    })
}

/// An account and its balance.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
pub struct Balance {
    #[schema(value_type = String, example = "district:330102:penalty")]
    pub account: Account,
    /// Fen: what the scheme owes the holder (a `funds` account: minus what the holder
    /// paid in; a `penalty` account: minus what the district was charged).
    pub balance_fen: i64,
}

#[derive(QueryableByName)]
struct BalanceRow {
    #[diesel(sql_type = Text)]
    account: String,
    #[diesel(sql_type = BigInt)]
    balance_fen: i64,
}

/// Every account's balance from the postings booked before `as_of` (all, without it),
/// of the accounts opened by then; `district` keeps only that district's (its own and its
/// leaders').
pub fn balances(
    conn: &mut PgConnection,
    as_of: Option<DateTime<Utc>>,
    district: Option<&str>,
) -> Result<Vec<Balance>> {
    let as_of = as_of.unwrap_or(DateTime::<Utc>::MAX_UTC);
    let rows: Vec<BalanceRow> = diesel::sql_query(
        "SELECT a.code AS account, \
                COALESCE((SELECT sum(e.amount_fen) FROM ledger_entries e \
                            JOIN ledger_postings p ON p.id = e.posting_id \
                           WHERE e.account = a.code AND p.booked_at < $1), 0)::bigint AS balance_fen \
           FROM ledger_accounts a \
          WHERE a.opened_at < $1 AND ($2::text IS NULL OR a.district = $2) \
          ORDER BY a.code",
    )
    .bind::<Timestamptz, _>(as_of)
    .bind::<Nullable<Text>, _>(district)
    .load(conn)?;
    rows.into_iter()
        .map(|row| {
            Ok(Balance {
                account: parse_account(&row.account)?,
                balance_fen: row.balance_fen,
            })
        })
        .collect()
}

/// One entry of a statement, with its account's balance after it.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Line {
    pub booked_at: DateTime<Utc>,
    pub key: String,
    pub period: Option<String>,
    pub memo: String,
    #[schema(value_type = String)]
    pub account: Account,
    pub amount_fen: i64,
    pub balance_fen: i64,
    /// What caused the posting (docs/LEDGER.md, "Causes").
    #[schema(value_type = Object)]
    pub cause: Value,
}

/// A district's accounts (its own and its leaders') over `[from, to)`: the balances at
/// `from`, every entry booked in between, and the balances at `to`.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Statement {
    pub district: String,
    pub from: Option<DateTime<Utc>>,
    pub to: Option<DateTime<Utc>>,
    pub opening: Vec<Balance>,
    pub lines: Vec<Line>,
    pub closing: Vec<Balance>,
}

/// An entry with its posting, in the order `statement` selects them.
#[derive(Queryable)]
struct LineRow {
    booked_at: DateTime<Utc>,
    key: String,
    period: Option<String>,
    memo: String,
    cause: Value,
    account: String,
    amount_fen: i64,
}

pub fn statement(
    conn: &mut PgConnection,
    district: &str,
    from: Option<DateTime<Utc>>,
    to: Option<DateTime<Utc>>,
) -> Result<Statement> {
    // Nothing is booked before 1970; PostgreSQL refuses chrono's minimum.
    let start = from.unwrap_or(DateTime::<Utc>::UNIX_EPOCH);
    let end = to.unwrap_or(DateTime::<Utc>::MAX_UTC);
    let opening = balances(conn, Some(start), Some(district))?;
    let rows: Vec<LineRow> = ledger_entries::table
        .inner_join(ledger_postings::table)
        .inner_join(ledger_accounts::table)
        .filter(ledger_accounts::district.eq(district))
        .filter(ledger_postings::booked_at.ge(start))
        .filter(ledger_postings::booked_at.lt(end))
        .order((
            ledger_postings::booked_at,
            ledger_postings::id,
            ledger_entries::line,
        ))
        .select((
            ledger_postings::booked_at,
            ledger_postings::key,
            ledger_postings::period,
            ledger_postings::memo,
            ledger_postings::cause,
            ledger_entries::account,
            ledger_entries::amount_fen,
        ))
        .load(conn)?;
    let mut running: BTreeMap<Account, i64> = opening
        .iter()
        .map(|b| (b.account.clone(), b.balance_fen))
        .collect();
    let lines = rows
        .into_iter()
        .map(|row| {
            let LineRow {
                booked_at,
                key,
                period,
                memo,
                cause,
                account,
                amount_fen,
            } = row;
            let account = parse_account(&account)?;
            let balance = running.entry(account.clone()).or_insert(0);
            *balance += amount_fen;
            Ok(Line {
                booked_at,
                key,
                period,
                memo,
                account,
                amount_fen,
                balance_fen: *balance,
                cause,
            })
        })
        .collect::<Result<Vec<_>>>()?;
    // Every account opened by `end` has its opening balance or an entry in between, so
    // the running balances are the closing ones; in code order, as `balances` gives them.
    let mut closing: Vec<Balance> = running
        .into_iter()
        .map(|(account, balance_fen)| Balance {
            account,
            balance_fen,
        })
        .collect();
    closing.sort_by_cached_key(|b| b.account.to_string());
    Ok(Statement {
        district: district.to_owned(),
        from,
        to,
        opening,
        lines,
        closing,
    })
}

/// The deposit accounts' amounts from `year`'s live deposit postings: what the year-end
/// settlement gives back, doubles or forfeits.
pub fn deposits_of(conn: &mut PgConnection, year: i32) -> Result<Vec<(Account, i64)>> {
    let rows: Vec<BalanceRow> = diesel::sql_query(
        "SELECT e.account, e.amount_fen AS balance_fen \
           FROM ledger_entries e JOIN ledger_postings p ON p.id = e.posting_id \
          WHERE split_part(p.key, '#', 1) LIKE 'year:' || $1 || ':%:deposit' \
            AND e.account LIKE '%:deposit' \
            AND NOT EXISTS (SELECT 1 FROM ledger_postings r WHERE r.reverses = p.id) \
          ORDER BY e.account",
    )
    .bind::<Text, _>(year.to_string())
    .load(conn)?;
    rows.into_iter()
        .map(|row| Ok((parse_account(&row.account)?, row.balance_fen)))
        .collect()
}

/// The append-only triggers `verify` requires present and enabled.
const TRIGGERS: [&str; 8] = [
    "ledger_accounts_append_only",
    "ledger_accounts_no_truncate",
    "ledger_postings_append_only",
    "ledger_postings_no_truncate",
    "ledger_entries_append_only",
    "ledger_entries_no_truncate",
    "ledger_postings_balanced",
    "ledger_entries_balanced",
];

/// Checks every invariant of the ledger over everything it holds and returns each
/// violation in words (none: the ledger is sound): postings balance with two or more
/// entries; accounts are well formed and shown to the right district; a reversal negates
/// exactly the posting it cites, which is no reversal; revisions of a key follow reversals
/// and at most one stands; every cause says what it is; the append-only and balance
/// triggers are in place.
pub fn verify(conn: &mut PgConnection) -> Result<Vec<String>> {
    let mut violations = Vec::new();
    let triggers: Vec<String> = diesel::sql_query(
        "SELECT tgname::text AS name FROM pg_trigger WHERE tgname = ANY($1) AND tgenabled <> 'D'",
    )
    .bind::<diesel::sql_types::Array<Text>, _>(TRIGGERS.to_vec())
    .load::<Name>(conn)?
    .into_iter()
    .map(|n| n.name)
    .collect();
    for missing in TRIGGERS
        .iter()
        .filter(|t| !triggers.iter().any(|n| n == *t))
    {
        violations.push(format!("trigger {missing} is missing or disabled"));
    }
    let accounts: Vec<(String, Option<String>)> = ledger_accounts::table
        .select((ledger_accounts::code, ledger_accounts::district))
        .load(conn)?;
    for (code, district) in &accounts {
        match code.parse::<Account>() {
            Err(e) => violations.push(format!("account {e}")),
            Ok(a) if a.district_code() != district.as_deref() => violations.push(format!(
                "account {code} is shown to district {district:?}, not {:?}",
                a.district_code()
            )),
            Ok(_) => {}
        }
    }
    type PostingRow = (i64, String, Value, Option<i64>);
    let postings: Vec<PostingRow> = ledger_postings::table
        .order(ledger_postings::id)
        .select((
            ledger_postings::id,
            ledger_postings::key,
            ledger_postings::cause,
            ledger_postings::reverses,
        ))
        .load(conn)?;
    let all: Vec<(i64, String, i64)> = ledger_entries::table
        .order((ledger_entries::posting_id, ledger_entries::line))
        .select((
            ledger_entries::posting_id,
            ledger_entries::account,
            ledger_entries::amount_fen,
        ))
        .load(conn)?;
    let mut effects: BTreeMap<i64, BTreeMap<String, i64>> = BTreeMap::new();
    let mut lines: BTreeMap<i64, usize> = BTreeMap::new();
    for (posting, account, amount) in &all {
        *effects
            .entry(*posting)
            .or_default()
            .entry(account.clone())
            .or_insert(0) += amount;
        *lines.entry(*posting).or_insert(0) += 1;
    }
    let by_id: BTreeMap<i64, &PostingRow> = postings.iter().map(|p| (p.0, p)).collect();
    let reversed: BTreeMap<i64, i64> = postings
        .iter()
        .filter_map(|p| p.3.map(|original| (original, p.0)))
        .collect();
    let mut standing: BTreeMap<&str, Vec<&str>> = BTreeMap::new();
    for (id, key, cause, reverses) in &postings {
        let count = lines.get(id).copied().unwrap_or(0);
        let sum: i64 = effects.get(id).map(|e| e.values().sum()).unwrap_or(0);
        if count < 2 || sum != 0 {
            violations.push(format!(
                "posting {key}: {count} entries summing to {sum} fen"
            ));
        }
        if cause.get("kind").and_then(Value::as_str).is_none() {
            violations.push(format!("posting {key}: its cause does not say what it is"));
        }
        match reverses {
            Some(original) => match by_id.get(original) {
                None => violations.push(format!("posting {key} reverses nothing")),
                Some((_, original_key, _, original_reverses)) => {
                    if original_reverses.is_some() {
                        violations.push(format!("posting {key} reverses a reversal"));
                    }
                    if *key != book::reversal_key(original_key) {
                        violations.push(format!(
                            "posting {key} reverses {original_key} under another key"
                        ));
                    }
                    let negated: BTreeMap<String, i64> = effects
                        .get(original)
                        .into_iter()
                        .flatten()
                        .map(|(a, v)| (a.clone(), -v))
                        .collect();
                    if effects.get(id).cloned().unwrap_or_default() != negated {
                        violations.push(format!(
                            "posting {key} does not undo {original_key} exactly"
                        ));
                    }
                }
            },
            None => {
                let (base, n) = match key.split_once('#') {
                    None => (key.as_str(), 1),
                    Some((base, n)) => (base, n.parse::<u32>().unwrap_or(0)),
                };
                if book::check_key(base).is_err() || n == 0 || base.starts_with("reversal:") {
                    violations.push(format!("posting {key}: not a key the ledger posts"));
                    continue;
                }
                if n > 1 {
                    let before = book::revision_key(base, n - 1);
                    let before_reversed = postings
                        .iter()
                        .any(|p| p.1 == before && reversed.contains_key(&p.0));
                    if !before_reversed {
                        violations.push(format!(
                            "posting {key}: {before} was not posted and reversed before it"
                        ));
                    }
                }
                if !reversed.contains_key(id) {
                    standing.entry(base).or_default().push(key.as_str());
                }
            }
        }
    }
    for (base, keys) in standing.iter().filter(|(_, keys)| keys.len() > 1) {
        violations.push(format!("{base}: {} stand at once", keys.join(", ")));
    }
    let total: i64 = all.iter().map(|(_, _, amount)| amount).sum();
    if total != 0 {
        violations.push(format!("the accounts sum to {total} fen, not zero"));
    }
    Ok(violations)
}

#[derive(QueryableByName)]
struct Name {
    #[diesel(sql_type = Text)]
    name: String,
}
