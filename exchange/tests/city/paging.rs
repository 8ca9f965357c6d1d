//! `GET /api/v1/city/cases` pages by bytes as well as rows: long snapshots stop a page
//! before 1 MiB, and `next_cursor` goes on where it stopped.

use citygrid_schemas as v1;
use serde_json::Value;

use crate::broker::TestBroker;
use crate::helpers::{TestCity, send, snapshot};

fn numbers(page: &Value) -> Vec<i64> {
    page["items"]
        .as_array()
        .expect("items")
        .iter()
        .map(|c| c["case"]["number"].as_i64().expect("number"))
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_case_list_stops_before_a_mebibyte_and_continues() {
    let broker = TestBroker::new().await;
    let city = TestCity::start(&broker).await;
    // Three cases of 400 KB each (older districts had no cap on descriptions).
    for seq in 1..=3u64 {
        let mut case = snapshot(1, v1::CaseState::Reported);
        case.case_id = uuid::Uuid::new_v4();
        case.number = seq as i64;
        case.description = format!("{seq}{}", "x".repeat(400_000));
        case.updated_at = case.created_at + chrono::Duration::seconds(seq as i64);
        send(&broker, seq, case).await;
    }
    city.wait_for_cursor("330102", 3).await;

    let (status, first) = city.get("/api/v1/city/cases").await;
    assert_eq!(status, 200, "{first}");
    assert_eq!(numbers(&first), [3, 2], "newest change first, two fit");
    assert_eq!(first["truncated"], true);
    assert!(first.to_string().len() < 1024 * 1024);
    let cursor = first["next_cursor"]
        .as_str()
        .expect("next_cursor")
        .to_owned();
    let (status, second) = city
        .get(&format!("/api/v1/city/cases?cursor={cursor}"))
        .await;
    assert_eq!(status, 200, "{second}");
    assert_eq!(numbers(&second), [1]);
    assert_eq!(
        (&second["truncated"], &second["next_cursor"]),
        (&Value::Bool(false), &Value::Null)
    );

    // Rows limit: `next_cursor` without `truncated`.
    let (_, one) = city.get("/api/v1/city/cases?limit=1").await;
    assert_eq!(
        (numbers(&one), &one["truncated"]),
        (vec![3], &Value::Bool(false))
    );
    let cursor = one["next_cursor"].as_str().expect("next_cursor").to_owned();
    let (_, next) = city
        .get(&format!("/api/v1/city/cases?limit=1&cursor={cursor}"))
        .await;
    assert_eq!(numbers(&next), [2]);
    let (status, bad) = city.get("/api/v1/city/cases?cursor=nonsense").await;
    assert_eq!(
        (status, bad["error"]["field"].as_str()),
        (422, Some("cursor"))
    );
}
