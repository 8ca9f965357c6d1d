//! The command outbox to districts: commands (rejections, sync and media requests) are
//! queued under the city's next seq for each district, then sent and marked by the intake.

use chrono::Utc;
use citygrid_schemas as v1;
use diesel::prelude::*;
use serde::Serialize;

use crate::error::Result;
use crate::intake::validate::Refusal;
use crate::schema::{commands, districts, rejections};

/// Locks every district's row in code order, the order the intake locks a batch's
/// districts in. A transaction that queues commands to several districts (a month's run:
/// its orders and notices) takes them all first, so it and the intake never wait on each
/// other's rows in opposite orders (a deadlock).
pub fn lock_districts(conn: &mut PgConnection) -> Result<()> {
    districts::table
        .order(districts::code.asc())
        .select(districts::code)
        .for_update()
        .load::<String>(conn)?;
    Ok(())
}

/// Queues a command for a district under the city's next seq for it.
pub fn enqueue_command<B: v1::Body + Serialize>(
    conn: &mut PgConnection,
    district: &str,
    body: B,
) -> Result<i64> {
    let seq: i64 = diesel::update(districts::table.find(district))
        .set(districts::command_seq.eq(districts::command_seq + 1))
        .returning(districts::command_seq)
        .get_result(conn)?;
    let envelope = v1::Envelope::new(district, seq as u64, Utc::now(), body);
    diesel::insert_into(commands::table)
        .values((
            commands::district.eq(district),
            commands::seq.eq(seq),
            commands::kind.eq(B::KIND.as_str()),
            commands::message.eq(serde_json::to_string(&envelope)?),
        ))
        .execute(conn)?;
    Ok(seq)
}

/// Records a refusal and, when the district is known, queues the rejection for it.
pub fn record_refusal(conn: &mut PgConnection, refusal: &Refusal) -> Result<()> {
    let r = &refusal.rejection;
    let code = serde_json::to_value(r.code)?
        .as_str()
        .unwrap_or("malformed")
        .to_owned();
    diesel::insert_into(rejections::table)
        .values((
            rejections::district.eq(&refusal.district),
            rejections::message_id.eq(&r.message_id),
            rejections::kind.eq(&r.kind),
            rejections::seq.eq(r.seq.map(|s| s as i64)),
            rejections::code.eq(code),
            rejections::message.eq(&r.message),
            rejections::field.eq(&r.field),
            rejections::dead_lettered.eq(refusal.dead_lettered),
        ))
        .execute(conn)?;
    let known = match &refusal.district {
        Some(d) => districts::table
            .find(d)
            .select(districts::code)
            .first::<String>(conn)
            .optional()?,
        None => None,
    };
    if let Some(district) = known {
        enqueue_command(conn, &district, r.as_ref().clone())?;
    }
    Ok(())
}

/// Commands not yet confirmed by the broker, oldest first.
pub fn unsent_commands(
    conn: &mut PgConnection,
    limit: i64,
) -> Result<Vec<(String, i64, String, String)>> {
    Ok(commands::table
        .filter(commands::sent_at.is_null())
        .order((commands::created_at.asc(), commands::seq.asc()))
        .limit(limit)
        .select((
            commands::district,
            commands::seq,
            commands::kind,
            commands::message,
        ))
        .load(conn)?)
}

pub fn mark_command_sent(conn: &mut PgConnection, district: &str, seq: i64) -> Result<()> {
    diesel::update(commands::table.find((district, seq)))
        .set(commands::sent_at.eq(Utc::now()))
        .execute(conn)?;
    Ok(())
}
