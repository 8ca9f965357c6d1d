//! `citygrid city escalate|orders|supervise`: the city's supervision orders (docs/ESCALATION.md)
//! from the command line — a pass of the rules now, the orders and where each stands, and
//! a city leader's own order on one case.

use chrono::{Duration, Utc};
use citygrid_exchange::config::City;
use citygrid_exchange::escalation::orders::{self, NewOrder, Order};
use citygrid_exchange::escalation::rules::INSTRUCTION;
use citygrid_schemas::SupervisionLevel;
use uuid::Uuid;

use crate::ledger::connect;

fn line(o: &Order) -> String {
    format!(
        "{}  {}  case {}  {:<12} {:<8} {:<12} due {}  {}",
        o.order_id,
        o.district,
        o.case_id,
        o.rule,
        o.level,
        o.status(),
        o.due_at.format("%Y-%m-%d %H:%M"),
        o.text
    )
}

/// `citygrid city escalate`: one pass of the rules, as `city serve` runs them on its schedule.
pub fn escalate(city: &City) -> Result<(), String> {
    let mut conn = connect(city)?;
    let pass =
        orders::run(&mut conn, &city.file.escalation, Utc::now()).map_err(|e| e.to_string())?;
    for o in &pass.overdue {
        println!("overdue   {}", line(o));
    }
    for o in &pass.issued {
        println!("issued    {}", line(o));
    }
    println!(
        "escalation: {} issued, {} overdue, {} resolved (the commands go out with the running exchange)",
        pass.issued.len(),
        pass.overdue.len(),
        pass.resolved
    );
    Ok(())
}

/// `citygrid city orders`: the orders, newest first.
pub fn list(city: &City, district: Option<&str>, all: bool) -> Result<(), String> {
    let mut conn = connect(city)?;
    let found = orders::list(&mut conn, district, !all).map_err(|e| e.to_string())?;
    for o in &found {
        println!("{}", line(o));
    }
    println!("{} order(s)", found.len());
    Ok(())
}

/// `citygrid city supervise`: a city leader's instruction (领导批示) on one open case.
pub fn supervise(
    city: &City,
    district: &str,
    case_id: Uuid,
    level: SupervisionLevel,
    text: &str,
    hours: (u32, u32),
) -> Result<(), String> {
    let (acknowledge, due) = hours;
    let mut conn = connect(city)?;
    let new = NewOrder {
        district,
        case_id,
        rule: INSTRUCTION,
        level,
        text: text.to_owned(),
        issued_by: &city.file.escalation.issued_by,
        acknowledge_within: Duration::hours(i64::from(acknowledge)),
        due_within: Duration::hours(i64::from(due)),
    };
    let order = orders::instruct(&mut conn, &new, Utc::now()).map_err(|e| e.to_string())?;
    println!("issued    {}", line(&order));
    Ok(())
}
