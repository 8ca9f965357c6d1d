//! Interchange v1.2: a snapshot's unit grid cell and community reach the warehouse, and a
//! cell that contradicts the sender's district, street or community is refused.

use citygrid_exchange::schema::{cases, rejections};
use citygrid_schemas as v1;
use diesel::prelude::*;

use crate::broker::TestBroker;
use crate::helpers::{TestCity, send, snapshot};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_snapshot_s_cell_reaches_the_warehouse_and_a_foreign_cell_is_refused() {
    let broker = TestBroker::new().await;
    let city = TestCity::start(&broker).await;
    let mut filed = snapshot(2, v1::CaseState::Dispatched);
    filed.cell_code = Some("330102001002017".into());
    filed.community_code = Some("330102001002".into());
    send(&broker, 1, filed.clone()).await;
    city.wait_for_cursor("330102", 1).await;
    let mut conn = city.pool.get().expect("conn");
    let stored: (Option<String>, Option<String>) = cases::table
        .select((cases::community_code, cases::cell_code))
        .first(&mut conn)
        .expect("case");
    assert_eq!(
        stored,
        (Some("330102001002".into()), Some("330102001002017".into()))
    );

    // The city's case list filters by cell and community; a malformed code is refused.
    for (query, found) in [
        ("cell=330102001002017", 1),
        ("community=330102001002", 1),
        ("cell=330102001002018", 0),
    ] {
        let (status, list) = city.get(&format!("/api/v1/city/cases?{query}")).await;
        assert_eq!(status, 200, "{query}: {list}");
        assert_eq!(
            list["items"].as_array().map(Vec::len),
            Some(found),
            "{query}"
        );
    }
    let (status, body) = city.get("/api/v1/city/cases?cell=3301").await;
    assert_eq!(
        (status, body["error"]["field"].as_str()),
        (422, Some("cell")),
        "{body}"
    );

    // Another district's cell; a cell outside the snapshot's own street.
    let mut foreign = filed.clone();
    foreign.version = 3;
    foreign.cell_code = Some("330105001002017".into());
    foreign.community_code = None;
    foreign.street_code = None;
    send(&broker, 2, foreign).await;
    let mut astray = filed;
    astray.version = 3;
    astray.cell_code = Some("330102004001001".into());
    astray.community_code = None;
    send(&broker, 3, astray).await;
    let mut refused = Vec::new();
    for _ in 0..100 {
        refused = rejections::table
            .order(rejections::seq)
            .select((rejections::seq, rejections::field, rejections::message))
            .load::<(Option<i64>, Option<String>, String)>(&mut conn)
            .expect("rejections");
        if refused.len() >= 2 {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    let said: Vec<(Option<i64>, Option<&str>, bool)> = refused
        .iter()
        .map(|(seq, field, message)| (*seq, field.as_deref(), message.contains("does not lie in")))
        .collect();
    assert_eq!(
        said,
        [
            (Some(2), Some("body.cell_code"), true),
            (Some(3), Some("body.cell_code"), true)
        ],
        "{refused:?}"
    );
    assert!(refused[0].2.contains("the district 330102"), "{refused:?}");
    assert!(
        refused[1].2.contains("body.street_code 330102001"),
        "{refused:?}"
    );
    // The accepted version stays.
    let version: i32 = cases::table
        .select(cases::version)
        .first(&mut conn)
        .expect("case");
    assert_eq!(version, 2);
}
