//! City supervision (统一督办, docs/ESCALATION.md): the city's rules turn what districts
//! leave overdue into supervision orders sent back to them over the interchange, tracks
//! each order to its acknowledgement and the case's end, and escalates what stays overdue
//! one level.
//!
//! - `rules`: the rules of the city file and which open case each applies to (pure);
//! - `orders`: the orders in the warehouse, the rules' pass, acknowledgements, escalation.

pub mod orders;
pub mod rules;

use std::sync::Arc;

use citygrid_kit::db::DbPool;

pub use rules::Escalation;

/// Runs a pass of the rules every `[escalation] every_seconds` until the process stops
/// (never, at 0). A failed pass is logged and the next one tries again: everything a pass
/// does is idempotent.
pub async fn schedule(pool: DbPool, escalation: Arc<Escalation>) {
    if escalation.every_seconds == 0 {
        return std::future::pending().await;
    }
    let mut tick = tokio::time::interval(std::time::Duration::from_secs(escalation.every_seconds));
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tick.tick().await;
        let rules = escalation.clone();
        match crate::blocking(&pool, move |conn| {
            orders::run(conn, &rules, chrono::Utc::now())
        })
        .await
        {
            Ok(pass) if !pass.issued.is_empty() || !pass.overdue.is_empty() => tracing::info!(
                issued = pass.issued.len(),
                overdue = pass.overdue.len(),
                resolved = pass.resolved,
                "escalation pass"
            ),
            Ok(_) => {}
            Err(e) => tracing::warn!(error = %e, "escalation pass failed; trying again next time"),
        }
    }
}
