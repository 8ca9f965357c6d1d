//! `citygrid city ledger …`: the bonus/penalty ledger (docs/LEDGER.md) from the command
//! line — what the rules post each year and month, reversals, balances, statements and
//! the invariant check.

use chrono::{NaiveDate, Utc};
use citygrid_appraisal::Period;
use citygrid_exchange::config::City;
use citygrid_exchange::ledger::{self, Run, store};
use clap::Subcommand;

#[derive(Subcommand)]
pub enum LedgerCommand {
    /// Post a year's deposits (保证金: each district's and each responsible leader's) and
    /// the city's funding of its pool.
    Open {
        #[arg(long)]
        year: i32,
    },
    /// Post an ended month's penalties and bonuses from its appraisal (last month without
    /// --month). Posting a month again posts nothing new; exits 1 if a posting stands with
    /// another amount than the rules give now.
    Post {
        #[arg(long)]
        month: Option<Period>,
    },
    /// Settle an ended year's deposits by the year's appraisal: back double, back, or
    /// forfeited to the pool.
    Settle {
        #[arg(long)]
        year: i32,
    },
    /// Reverse a posting (冲正): a new posting that undoes it and cites it. The rules may
    /// then post its key again.
    Reverse {
        #[arg(long)]
        key: String,
        #[arg(long)]
        reason: String,
    },
    /// Every account's balance, as of the end of a day (now without --as-of).
    Balance {
        /// One account, e.g. district:330102:penalty.
        #[arg(long)]
        account: Option<String>,
        /// A local day (YYYY-MM-DD): balances at its end.
        #[arg(long)]
        as_of: Option<NaiveDate>,
    },
    /// A district's accounts (its own and its leaders'): opening balances, every entry,
    /// closing balances.
    Statement {
        #[arg(long)]
        district: String,
        /// First local day (YYYY-MM-DD); from the beginning without.
        #[arg(long)]
        from: Option<NaiveDate>,
        /// Last local day; until now without.
        #[arg(long)]
        to: Option<NaiveDate>,
        /// Print JSON instead of a table.
        #[arg(long)]
        json: bool,
    },
    /// Check every invariant of the ledger; exits 1 on any violation.
    Verify,
}

/// `12345` fen as `123.45`.
pub fn yuan(fen: i64) -> String {
    let sign = if fen < 0 { "-" } else { "" };
    let abs = fen.unsigned_abs();
    format!("{sign}{}.{:02}", abs / 100, abs % 100)
}

fn print_run(what: &str, run: &Run) -> Result<(), String> {
    for outcome in &run.outcomes {
        match outcome {
            store::Outcome::Posted(key) => println!("posted     {key}"),
            store::Outcome::Unchanged(key) => println!("unchanged  {key}"),
            store::Outcome::Differs {
                key,
                posted,
                wanted,
            } => {
                println!("DIFFERS    {key}: it stands as");
                for (account, fen) in posted {
                    println!(
                        "             {:<34} {:>16}",
                        account.to_string(),
                        yuan(*fen)
                    );
                }
                println!("           the rules now give");
                for (account, fen) in wanted {
                    println!(
                        "             {:<34} {:>16}",
                        account.to_string(),
                        yuan(*fen)
                    );
                }
            }
        }
    }
    for (who, why) in &run.held {
        println!("held       {who}: {why}");
    }
    let posted = run
        .outcomes
        .iter()
        .filter(|o| matches!(o, store::Outcome::Posted(_)))
        .count();
    println!(
        "{what}: {posted} posted, {} already there, {} held",
        run.outcomes.len() - posted,
        run.held.len()
    );
    match run.differing() {
        0 => Ok(()),
        n => Err(format!(
            "{n} posting(s) stand with other amounts than the rules give now: reverse them (`citygrid city ledger reverse --key … --reason …`) and post again"
        )),
    }
}

/// The warehouse, migrated and with the registry's districts (accounts and orders refer to
/// them), so these commands work before `city serve` ever ran. The seed users are left to
/// `city serve`: hashing their passwords would cost every command a second or so.
pub fn connect(city: &City) -> Result<diesel::PgConnection, String> {
    use diesel::Connection;
    use secrecy::ExposeSecret;
    let mut conn = diesel::PgConnection::establish(city.file.warehouse.url.expose_secret())
        .map_err(|e| {
            format!(
                "cannot reach the warehouse {}: {e}",
                city.file.warehouse.display_url()
            )
        })?;
    citygrid_kit::db::migrate(&mut conn, citygrid_exchange::MIGRATIONS)
        .map_err(|e| e.to_string())?;
    citygrid_exchange::warehouse::register_districts(&mut conn, &city.registry)
        .map_err(|e| e.to_string())?;
    Ok(conn)
}

pub fn run(city: &City, command: LedgerCommand) -> Result<(), String> {
    let mut conn = connect(city)?;
    let conn = &mut conn;
    let now = Utc::now();
    let policy = &city.file.ledger;
    let zone = city.time_zone;
    let e = |e: citygrid_exchange::Error| e.to_string();
    match command {
        LedgerCommand::Open { year } => {
            let codes: Vec<String> = city.registry.iter().map(|d| d.code.clone()).collect();
            let run = ledger::open_year(conn, policy, &codes, year, now).map_err(e)?;
            print_run(&format!("deposits of {year}"), &run)
        }
        LedgerCommand::Post { month } => {
            let month = month.unwrap_or_else(|| crate::city::last_month(city));
            let run = ledger::post_month(conn, &city.appraiser(), policy, month, now).map_err(e)?;
            print_run(&format!("{month}"), &run)
        }
        LedgerCommand::Settle { year } => {
            let run = ledger::settle_year(conn, &city.appraiser(), policy, year, now).map_err(e)?;
            print_run(&format!("settlement of {year}"), &run)
        }
        LedgerCommand::Reverse { key, reason } => {
            let reversal = store::reverse(conn, &key, &reason, now).map_err(e)?;
            println!("posted     {reversal}");
            Ok(())
        }
        LedgerCommand::Balance { account, as_of } => {
            let as_of = as_of.map(|d| ledger::end_of_day(d, zone));
            let wanted = account
                .map(|a| a.parse::<ledger::book::Account>())
                .transpose()?;
            let balances = store::balances(conn, as_of, None).map_err(e)?;
            let shown: Vec<_> = balances
                .iter()
                .filter(|b| wanted.as_ref().is_none_or(|a| *a == b.account))
                .collect();
            if let Some(a) = wanted.filter(|_| shown.is_empty()) {
                return Err(format!("no account {a} in the ledger (by then)"));
            }
            for b in shown {
                println!("{:<40} {:>18}", b.account.to_string(), yuan(b.balance_fen));
            }
            Ok(())
        }
        LedgerCommand::Statement {
            district,
            from,
            to,
            json,
        } => {
            if city.registry.get(&district).is_none() {
                return Err(format!("district {district} is not in the registry"));
            }
            let statement = store::statement(
                conn,
                &district,
                from.map(|d| ledger::start_of_day(d, zone)),
                to.map(|d| ledger::end_of_day(d, zone)),
            )
            .map_err(e)?;
            if json {
                let text = serde_json::to_string_pretty(&statement).map_err(|e| e.to_string())?;
                println!("{text}");
                return Ok(());
            }
            println!("statement of district {district}");
            for b in &statement.opening {
                println!(
                    "opening  {:<40} {:>16}",
                    b.account.to_string(),
                    yuan(b.balance_fen)
                );
            }
            for l in &statement.lines {
                println!(
                    "{}  {:<44} {:<34} {:>14} {:>16}",
                    l.booked_at.with_timezone(&zone).format("%Y-%m-%d %H:%M"),
                    l.key,
                    l.account.to_string(),
                    yuan(l.amount_fen),
                    yuan(l.balance_fen)
                );
            }
            for b in &statement.closing {
                println!(
                    "closing  {:<40} {:>16}",
                    b.account.to_string(),
                    yuan(b.balance_fen)
                );
            }
            Ok(())
        }
        LedgerCommand::Verify => {
            let violations = store::verify(conn).map_err(e)?;
            if violations.is_empty() {
                println!("the ledger is sound: every invariant holds");
                return Ok(());
            }
            for v in &violations {
                println!("VIOLATION  {v}");
            }
            Err(format!(
                "{} violation(s) of the ledger's invariants",
                violations.len()
            ))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::yuan;

    #[test]
    fn fen_print_as_yuan_exactly() {
        assert_eq!(yuan(200_000_000), "2000000.00");
        assert_eq!(yuan(-5), "-0.05");
        assert_eq!(yuan(0), "0.00");
        assert_eq!(yuan(i64::MIN), "-92233720368547758.08");
    }
}
