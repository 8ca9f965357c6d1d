//! 上报市级: a district's `refer` record arrives with its stream and waits for a city
//! leader, who sends the case back or reassigns it. A reassignment is one transaction: a
//! `city_problem` with `referred_from` to the new district (with the case's photo) and a
//! `referral_decision` to the old one; it is not 上级发现. Every refusal writes nothing.

use citygrid_exchange::schema::{city_problems, media, referrals};
use citygrid_schemas as v1;
use diesel::prelude::*;
use serde_json::{Value, json};

use crate::broker::TestBroker;
use crate::helpers::{TestCity, commands, record, send, send_as};

/// A point of 拱墅区 (330105).
const IN_330105: (f64, f64) = (120.15, 30.33);

async fn decide(city: &TestCity, user: &str, record_id: i64, body: &Value) -> (u16, Value) {
    let request = reqwest::Client::new()
        .post(format!(
            "{}/api/v1/city/referrals/330102/{record_id}",
            city.base
        ))
        .json(body);
    city.send_as(user, request).await
}

fn code(body: &Value) -> (&str, &str) {
    (
        body["error"]["code"].as_str().unwrap_or("<none>"),
        body["error"]["field"].as_str().unwrap_or(""),
    )
}

/// (problems sent, referrals decided): what a refusal must leave alone.
fn written(city: &TestCity) -> (i64, i64) {
    let mut conn = city.pool.get().expect("conn");
    let problems = city_problems::table
        .count()
        .get_result(&mut conn)
        .expect("count");
    let decided = referrals::table
        .filter(referrals::outcome.is_not_null())
        .count()
        .get_result(&mut conn)
        .expect("count");
    (problems, decided)
}

/// The district's `refer` record `record_id` on the example case.
fn refer(record_id: i64, version: u32) -> v1::BusinessRecord {
    let mut r = record(record_id, version);
    (r.action, r.from_state, r.to_state) = (
        v1::Action::Refer,
        Some(v1::CaseState::Filed),
        v1::CaseState::Filed,
    );
    (r.actor_role, r.details) = (v1::Role::ShiftLeader, json!({}));
    r.comment = Some("井盖位于两区交界, 请市级协调".into());
    r
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_referred_case_is_sent_back_or_reassigned_once_by_a_city_leader() {
    let broker = TestBroker::new().await;
    let city = TestCity::start(&broker).await;
    let case = v1::json::example_snapshot();
    let png = citygrid_test_support::png("border");
    let sha = v1::sha256_hex(&png);

    // The case, its report with a photo whose bytes the city holds, and its referral.
    let mut filed = case.clone();
    (filed.state, filed.department_code, filed.current_stage) = (v1::CaseState::Filed, None, None);
    send(&broker, 1, filed).await;
    let mut reported = record(1, 1);
    reported.media = vec![sha.clone()];
    send(&broker, 2, reported).await;
    send(&broker, 3, refer(2, 2)).await;
    city.wait_for_cursor("330102", 3).await;
    {
        let mut conn = city.pool.get().expect("conn");
        diesel::insert_into(media::table)
            .values((
                media::sha256.eq(&sha),
                media::content_type.eq("image/png"),
                media::size_bytes.eq(png.len() as i64),
                media::bytes.eq(&png),
                media::first_district.eq("330102"),
                media::verified_at.eq(chrono::Utc::now()),
                media::announced_at.eq(chrono::Utc::now()),
            ))
            .execute(&mut conn)
            .expect("the photo arrived");
    }
    let (status, waiting) = city.get("/api/v1/city/referrals").await;
    assert_eq!(status, 200, "{waiting}");
    assert_eq!(
        waiting["items"].as_array().map(Vec::len),
        Some(1),
        "{waiting}"
    );
    assert_eq!(
        (
            waiting["items"][0]["record_id"].as_i64(),
            waiting["items"][0]["reason"].as_str()
        ),
        (Some(2), Some("井盖位于两区交界, 请市级协调"))
    );

    // Refusals: wrong role, no reason, the same or an unknown district, a point outside
    // the target, a category the target does not have, no such referral.
    let reassign = json!({
        "outcome": "reassigned", "reason": "井盖位于拱墅区一侧",
        "district": "330105", "lon": IN_330105.0, "lat": IN_330105.1,
    });
    let with = |key: &str, value: Value| {
        let mut body = reassign.clone();
        body[key] = value;
        body
    };
    for (user, record_id, body, expected, error) in [
        ("hz-csup1", 2, reassign.clone(), 403, ("wrong_role", "")),
        ("hz-d330102", 2, reassign.clone(), 403, ("wrong_role", "")),
        (
            "hz-clead1",
            2,
            with("reason", json!(" ")),
            422,
            ("invalid_field", "reason"),
        ),
        (
            "hz-clead1",
            2,
            with("district", json!("330102")),
            422,
            ("invalid_field", "district"),
        ),
        (
            "hz-clead1",
            2,
            with("district", json!("999999")),
            422,
            ("invalid_field", "district"),
        ),
        (
            "hz-clead1",
            2,
            with("lon", json!(120.20)),
            422,
            ("invalid_field", "lon"),
        ),
        (
            "hz-clead1",
            2,
            with("category", json!("event:9999")),
            422,
            ("invalid_field", "category"),
        ),
        (
            "hz-clead1",
            2,
            with("outcome", json!("ignored")),
            422,
            ("invalid_field", "outcome"),
        ),
        ("hz-clead1", 99, reassign.clone(), 404, ("not_found", "")),
    ] {
        let (status, answer) = decide(&city, user, record_id, &body).await;
        assert_eq!(
            (status, code(&answer)),
            (expected, error),
            "{user} {body}: {answer}"
        );
    }
    assert_eq!(written(&city), (0, 0), "refusals wrote nothing");

    // Reassigned: once; a second decision is refused.
    let (status, decided) = decide(&city, "hz-clead1", 2, &reassign).await;
    assert_eq!(status, 200, "{decided}");
    assert_eq!(decided["outcome"].as_str(), Some("reassigned"));
    let new_case: uuid::Uuid = decided["reassigned_case"]
        .as_str()
        .expect("the new case")
        .parse()
        .expect("uuid");
    let back = json!({ "outcome": "returned", "reason": "退回" });
    let (status, answer) = decide(&city, "hz-clead1", 2, &back).await;
    assert_eq!((status, code(&answer).0), (409, "already_decided"));
    assert_eq!(written(&city), (1, 1));
    let (_, waiting) = city.get("/api/v1/city/referrals").await;
    assert_eq!(
        waiting["items"].as_array().map(Vec::len),
        Some(0),
        "{waiting}"
    );

    // Over the broker: the problem to 330105 with the photo, the decision to 330102.
    let problems: Vec<v1::CityProblem> = commands(&broker, "330105").await;
    assert_eq!(problems.len(), 1, "sent once");
    let problem = &problems[0];
    assert_eq!(problem.case_id, new_case);
    assert_eq!(
        problem.referred_from,
        Some(v1::CaseRef {
            district: "330102".into(),
            case_id: case.case_id
        })
    );
    assert_eq!(problem.category.label(), "event:0102");
    assert_eq!(problem.description, case.description);
    assert_eq!(problem.photos.len(), 1);
    assert_eq!(problem.photos[0].decode(0).expect("photo"), png);
    let decisions: Vec<v1::ReferralDecision> = commands(&broker, "330102").await;
    assert_eq!(decisions.len(), 1, "sent once");
    assert_eq!(
        (
            decisions[0].case_id,
            decisions[0].record_id,
            decisions[0].outcome
        ),
        (case.case_id, 2, v1::ReferralOutcome::Reassigned)
    );
    assert_eq!(
        decisions[0].reassigned_to,
        Some(v1::CaseRef {
            district: "330105".into(),
            case_id: new_case
        })
    );

    // 330105 opens and files it: a supervisor's report there, not 上级发现.
    let now = chrono::Utc::now() - chrono::Duration::minutes(1);
    let mut opened = case.clone();
    (opened.case_id, opened.version, opened.source) = (new_case, 2, v1::Source::City);
    (opened.state, opened.department_code, opened.current_stage) =
        (v1::CaseState::Filed, None, None);
    (opened.street_code, opened.community_code, opened.cell_code) = (None, None, None);
    opened.location = v1::Point {
        lon: IN_330105.0,
        lat: IN_330105.1,
    };
    opened.milestones = v1::Milestones {
        reported_at: Some(now),
        filed_at: Some(now),
        ..v1::Milestones::default()
    };
    (opened.created_at, opened.updated_at) = (now, now);
    send_as(&broker, "330105", 1, opened).await;
    city.wait_for_cursor("330105", 1).await;
    let local = chrono::FixedOffset::east_opt(8 * 3600).expect("UTC+8");
    let period = now.with_timezone(&local).format("%Y-%m");
    let (status, body) = city
        .get(&format!("/api/v1/city/appraisal?period={period}"))
        .await;
    assert_eq!(status, 200, "{body}");
    let unit = body["units"]
        .as_array()
        .expect("units")
        .iter()
        .find(|u| u["key"] == "330105")
        .expect("330105");
    assert_eq!(
        (unit["filed"].as_i64(), unit["city_found"].as_i64()),
        (Some(1), Some(0)),
        "{unit}"
    );

    // Referred again (a new record) and sent back: the decision names that record.
    send(&broker, 4, refer(3, 3)).await;
    city.wait_for_cursor("330102", 4).await;
    let (status, decided) = decide(&city, "hz-clead1", 3, &back).await;
    assert_eq!(
        (status, decided["outcome"].as_str()),
        (200, Some("returned")),
        "{decided}"
    );
    assert_eq!(written(&city), (1, 2), "a return sends no problem");
    let (status, all) = city
        .get("/api/v1/city/referrals?status=all&district=330102")
        .await;
    assert_eq!(status, 200);
    assert_eq!(all["items"].as_array().map(Vec::len), Some(2), "{all}");
    let (status, body) = city.get("/api/v1/city/referrals?status=open").await;
    assert_eq!((status, code(&body)), (422, ("invalid_field", "status")));
}
