//! City supervision in a real warehouse and broker: a rule issues one order per case,
//! rule and level however often it runs (a restarted city included) and the order goes to
//! the district as a command; the district's acknowledgement is applied from its stream;
//! what stays unacknowledged climbs one level at a time and stops at the top; a finished
//! case resolves its order; city leaders give orders by hand through the API.

use std::time::Duration as StdDuration;

use chrono::{DateTime, Duration, SubsecRound, Utc};
use citygrid_exchange::escalation::orders::{self, Order};
use citygrid_exchange::escalation::rules::{Escalation, Rule};
use citygrid_exchange::schema::commands;
use citygrid_schemas::{self as v1, CaseState, SupervisionLevel};
use citygrid_test_support::broker::read_queue_as;
use diesel::prelude::*;
use serde_json::json;
use uuid::Uuid;

use crate::broker::TestBroker;
use crate::helpers::{TestCity, dispatched, send_as, snapshot};

/// Case `n` of 330102 in handling for eight hours up to `deadline`.
fn handling(n: u128, version: u32, deadline: DateTime<Utc>) -> v1::CaseSnapshot {
    dispatched(
        "330102",
        n,
        version,
        deadline - Duration::hours(8),
        deadline,
    )
}

fn rules() -> Escalation {
    Escalation {
        issued_by: "市指挥中心".into(),
        every_seconds: 0,
        rules: vec![Rule {
            name: "overdue-24h".into(),
            overdue_hours: Some(24),
            overdue_working_hours: None,
            reworked: None,
            reported_again: None,
            level: SupervisionLevel::General,
            text: "超时24小时,限期处置".into(),
            acknowledge_hours: 4,
            due_hours: 48,
        }],
        ..Escalation::default()
    }
}

fn order_of(all: &[Order], case: u128, level: &str) -> Order {
    all.iter()
        .find(|o| o.case_id == Uuid::from_u128(case) && o.level == level)
        .cloned()
        .unwrap_or_else(|| panic!("no {level} order of case {case}: {all:?}"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn overdue_cases_get_one_order_each_which_climbs_until_acknowledged() {
    let broker = TestBroker::new().await;
    let city = TestCity::start(&broker).await;
    // Whole seconds: PostgreSQL keeps microseconds.
    let now = Utc::now().trunc_subsecs(0);
    // Case 1: red for 30 hours; case 2: red for 30 hours; case 3: red for 2 hours only.
    let mut seq = 0;
    for (n, late) in [(1, 30), (2, 30), (3, 2)] {
        seq += 1;
        send_as(
            &broker,
            "330102",
            seq,
            handling(n, 3, now - Duration::hours(late)),
        )
        .await;
    }
    city.wait_for_cursor("330102", seq as i64).await;
    let escalation = rules();
    let pass = |at: DateTime<Utc>| {
        // Each pass on a connection of its own, as a restarted city would run it.
        let mut conn = city.pool.get().expect("conn");
        tokio::task::block_in_place(|| orders::run(&mut conn, &escalation, at)).expect("pass")
    };

    let first = pass(now);
    assert_eq!(
        first.issued.len(),
        2,
        "cases 1 and 2, not 3: {:?}",
        first.issued
    );
    for _ in 0..3 {
        assert!(
            pass(now).issued.is_empty(),
            "one order per case, rule and level"
        );
    }
    let sent: i64 = {
        let mut conn = city.pool.get().expect("conn");
        commands::table
            .filter(commands::kind.eq("supervision_order"))
            .count()
            .get_result(&mut conn)
            .expect("count")
    };
    assert_eq!(sent, 2, "one command per order");
    // The intake publishes them to the district's command queue.
    let district = broker.account("330102").clone();
    let received = read_queue_as(
        &broker,
        &district,
        "district.330102.commands",
        StdDuration::from_secs(20),
        |r| r.len() >= 2,
    )
    .await;
    let kinds: Vec<Option<&str>> = received.iter().map(|r| r.kind.as_deref()).collect();
    assert_eq!(kinds, [Some("supervision_order"); 2]);
    let carried: v1::SupervisionOrder =
        serde_json::from_value(received[0].body["body"].clone()).expect("an order");
    assert_eq!(carried.level, SupervisionLevel::General);
    assert!(
        carried.text.starts_with("超时24小时,限期处置(案件 "),
        "{}",
        carried.text
    );

    // 330102 acknowledges case 1's order (its stream, as its relay sends it).
    let one = order_of(&first.issued, 1, "general");
    seq += 1;
    send_as(
        &broker,
        "330102",
        seq,
        v1::SupervisionAck {
            order_id: one.order_id,
            case_id: one.case_id,
            department_code: "huanwei".into(),
            acknowledged_at: now + Duration::hours(1),
        },
    )
    .await;
    city.wait_for_cursor("330102", seq as i64).await;

    // Five hours on: case 2's order was not acknowledged within four; it is overdue and
    // a key-level order replaces it. Case 1's, acknowledged, stands.
    let later = pass(now + Duration::hours(5));
    assert_eq!(later.overdue.len(), 1);
    let two = &later.overdue[0];
    assert_eq!((two.case_id, two.status()), (Uuid::from_u128(2), "overdue"));
    let key = order_of(&later.issued, 2, "key");
    assert_eq!(two.escalated_to, Some(key.order_id));
    assert_eq!(key.acknowledge_by - key.issued_at, Duration::hours(4));
    assert!(key.text.starts_with("升级督办: 超时24小时"), "{}", key.text);
    assert!(pass(now + Duration::hours(5)).issued.is_empty());
    // Still nobody acknowledges: listed (挂牌), and then nothing above it.
    let listed = pass(now + Duration::hours(10));
    let top = order_of(&listed.issued, 2, "listed");
    let last = pass(now + Duration::hours(15));
    assert_eq!(last.overdue.len(), 1);
    assert_eq!(
        (last.overdue[0].order_id, last.overdue[0].escalated_to),
        (top.order_id, None)
    );
    assert!(last.issued.is_empty());

    // Case 1 is closed at the district: its order is resolved.
    let mut closed = handling(1, 4, now - Duration::hours(30));
    (closed.state, closed.current_stage) = (CaseState::Closed, None);
    closed.milestones.finished_at = Some(now + Duration::hours(20));
    seq += 1;
    send_as(&broker, "330102", seq, closed).await;
    city.wait_for_cursor("330102", seq as i64).await;
    let resolved = pass(now + Duration::hours(21));
    assert_eq!(resolved.resolved, 1);
    let all = {
        let mut conn = city.pool.get().expect("conn");
        orders::list(&mut conn, None, false).expect("orders")
    };
    let one = order_of(&all, 1, "general");
    assert_eq!(
        (
            one.status(),
            one.acknowledged_department.as_deref(),
            one.resolved_at
        ),
        ("resolved", Some("huanwei"), Some(now + Duration::hours(20)))
    );
    assert_eq!(
        all.len(),
        4,
        "case 1: general; case 2: general, key, listed"
    );

    // Over the API: open orders for city roles; a leader's own instruction on case 3.
    let (status, open) = city.get("/api/v1/city/orders").await;
    assert_eq!(status, 200, "{open}");
    assert_eq!(
        open["items"].as_array().map(Vec::len),
        Some(0),
        "all resolved or overdue: {open}"
    );
    let (status, every) = city
        .get("/api/v1/city/orders?status=all&district=330102")
        .await;
    assert_eq!(status, 200);
    assert_eq!(every["items"].as_array().map(Vec::len), Some(4), "{every}");
    let three = Uuid::from_u128(3).to_string();
    let instruction = json!({
        "district": "330102", "case_id": three, "level": "key", "text": "市领导批示:今日处置"
    });
    let (status, given) = city
        .post_as("hz-clead1", "/api/v1/city/orders", instruction.clone())
        .await;
    assert_eq!(status, 201, "{given}");
    assert_eq!(
        (given["rule"].as_str(), given["status"].as_str()),
        (Some("instruction"), Some("issued"))
    );
    let refusals = [
        ("hz-clead1", instruction.clone(), 409, "already_ordered"),
        ("hz-csup1", instruction.clone(), 403, "wrong_role"),
        ("hz-d330102", instruction.clone(), 403, "wrong_role"),
        (
            "hz-clead1",
            json!({ "district": "330102", "case_id": Uuid::from_u128(1), "level": "key", "text": "x" }),
            409,
            "case_finished",
        ),
        (
            "hz-clead1",
            json!({ "district": "330102", "case_id": Uuid::from_u128(9), "level": "key", "text": "x" }),
            404,
            "not_found",
        ),
        (
            "hz-clead1",
            json!({ "district": "330102", "case_id": three, "level": "urgent", "text": "x" }),
            422,
            "invalid_field",
        ),
    ];
    for (user, body, status, code) in refusals {
        let (got, answer) = city
            .post_as(user, "/api/v1/city/orders", body.clone())
            .await;
        assert_eq!(
            (got, answer["error"]["code"].as_str()),
            (status, Some(code)),
            "{user} {body}: {answer}"
        );
    }
}

/// A case the public keeps reporting (each report rejected as a duplicate of it) gets an
/// order once the rule's count is reached, and only then.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_case_the_public_reports_again_gets_an_order() {
    let broker = TestBroker::new().await;
    let city = TestCity::start(&broker).await;
    let now = Utc::now().trunc_subsecs(0);
    let original = handling(10, 3, now + Duration::hours(6));
    let again = |n: u128, source: v1::Source| {
        let mut s = snapshot(2, CaseState::Rejected);
        (s.case_id, s.source, s.duplicate_of) =
            (Uuid::from_u128(n), source, Some(original.case_id));
        s.current_stage = None;
        s
    };
    let escalation = Escalation {
        rules: vec![Rule {
            name: "reported-again".into(),
            overdue_hours: None,
            overdue_working_hours: None,
            reworked: None,
            reported_again: Some(2),
            level: SupervisionLevel::Key,
            text: "群众重复举报,请立即处置".into(),
            acknowledge_hours: 2,
            due_hours: 24,
        }],
        ..rules()
    };
    let pass = || {
        let mut conn = city.pool.get().expect("conn");
        tokio::task::block_in_place(|| orders::run(&mut conn, &escalation, now)).expect("pass")
    };
    // The original, one public duplicate and one by a supervisor: not yet.
    let messages = [
        original.clone(),
        again(11, v1::Source::Public),
        again(12, v1::Source::Supervisor),
    ];
    let mut seq = 0;
    for message in messages {
        seq += 1;
        send_as(&broker, "330102", seq, message).await;
    }
    city.wait_for_cursor("330102", seq as i64).await;
    assert!(pass().issued.is_empty(), "one public duplicate is not two");
    // A second public report of the same problem.
    seq += 1;
    send_as(&broker, "330102", seq, again(13, v1::Source::Public)).await;
    city.wait_for_cursor("330102", seq as i64).await;
    let issued = pass().issued;
    assert_eq!(issued.len(), 1, "{issued:?}");
    assert_eq!(
        (
            issued[0].case_id,
            issued[0].rule.as_str(),
            issued[0].level.as_str()
        ),
        (original.case_id, "reported-again", "key")
    );
    assert!(pass().issued.is_empty());
}
