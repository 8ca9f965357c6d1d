//! District instances and the city exchange as real processes on the real PostgreSQL and
//! RabbitMQ: the warehouse ends equal to every district, through crashes and outages.

mod chaos;
mod conformance;
mod login;
mod security;
mod simulate;

use citygrid_e2e::{City, District, World, eventually};

/// Waits until the city holds everything the district wrote, then has the district send
/// its digest of today and waits until the city says it matches.
async fn converged(world: &World, city: &City, district: &District, photos: i64) {
    eventually(&format!("{} caught up", district.code), 60, || async {
        let mine = district.exchange_status().await;
        let seen = city.district(&district.code).await;
        if mine["backlog"] == 0
            && seen["last_contiguous_seq"] == mine["last_seq"]
            && seen["waiting"] == 0
        {
            Ok(())
        } else {
            Err(format!("district {mine}, city {seen}"))
        }
    })
    .await;
    world.digest(district);
    eventually(&format!("{} reconciled", district.code), 60, || async {
        let seen = city.district(&district.code).await;
        if seen["last_digest_matches"] == true && seen["media_verified"] == photos {
            Ok(())
        } else {
            Err(format!("city {seen}"))
        }
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn three_districts_end_equal_to_the_warehouse() {
    let mut world = World::new().await;
    let city = world.city().await;
    let mut districts = Vec::new();
    for code in ["330102", "330105", "330106"] {
        districts.push(world.district(code).await);
    }
    for district in &districts {
        for n in 0..3 {
            district
                .dispatched_case(&format!("{}-{n}", district.code))
                .await;
        }
    }
    for district in &districts {
        converged(&world, &city, district, 3).await;
        let seen = city.district(&district.code).await;
        assert_eq!(seen["cases"], 3, "{seen}");
        assert_eq!(seen["rejections"], 0, "{seen}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_city_killed_mid_stream_converges_with_nothing_lost() {
    let mut world = World::new().await;
    let mut city = world.city().await;
    let district = world.district("330102").await;
    for n in 0..4 {
        district.dispatched_case(&format!("before-{n}")).await;
    }
    // SIGKILL while messages are in flight: whatever was taken but not acknowledged comes
    // again and must count once.
    city.process.kill();
    for n in 0..4 {
        district.dispatched_case(&format!("while-down-{n}")).await;
    }
    city.crash_and_restart().await;
    for n in 0..4 {
        district.dispatched_case(&format!("after-{n}")).await;
    }
    converged(&world, &city, &district, 12).await;
    let seen = city.district("330102").await;
    assert_eq!(seen["cases"], 12, "{seen}");
    assert_eq!(seen["records"], 36, "{seen}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_district_cut_off_for_a_while_delivers_its_backlog_in_order() {
    let mut world = World::new().await;
    let city = world.city().await;
    let mut district = world.district("330105").await;
    district.dispatched_case("before").await;
    // Off the broker (a network cut), and the instance itself restarted meanwhile: the
    // district keeps working and its outbox keeps what the city has not got.
    world.cut_off("330105").await;
    for n in 0..3 {
        district.dispatched_case(&format!("cut-off-{n}")).await;
    }
    district.crash_and_restart().await;
    eventually("a backlog", 60, || async {
        let status = district.exchange_status().await;
        if status["backlog"].as_i64().is_some_and(|b| b > 0) {
            Ok(())
        } else {
            Err(format!("expected a backlog: {status}"))
        }
    })
    .await;
    world.reconnect("330105").await;
    converged(&world, &city, &district, 4).await;
    let seen = city.district("330105").await;
    assert_eq!(seen["cases"], 4, "{seen}");
    assert_eq!(seen["rejections"], 0, "{seen}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_message_lost_in_transit_is_asked_for_and_replayed() {
    let mut world = World::new().await;
    let city = world.city().await;
    let district = world.district("330106").await;
    district.dispatched_case("first").await;
    // Cut off, the district writes two more cases; then one of its unsent messages is
    // "lost": marked sent without ever reaching the broker.
    world.cut_off("330106").await;
    district.dispatched_case("second").await;
    district.dispatched_case("third").await;
    let status = district.exchange_status().await;
    assert!(
        status["backlog"].as_i64().is_some_and(|b| b >= 3),
        "{status}"
    );
    assert_eq!(
        district.sql(
            "UPDATE outbox SET sent_at = now() \
             WHERE seq = (SELECT min(seq) + 2 FROM outbox WHERE sent_at IS NULL)"
        ),
        1
    );
    world.reconnect("330106").await;
    // The city sees the gap, asks for seq `lost`, the district replays it from its outbox.
    converged(&world, &city, &district, 3).await;
    let seen = city.district("330106").await;
    assert_eq!(seen["cases"], 3, "{seen}");
    assert!(
        city.process.log().contains("sync requested"),
        "the gap was filled by a sync request"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn refused_messages_reach_the_district_as_rejections_and_spare_their_neighbours() {
    let mut world = World::new().await;
    let city = world.city().await;
    let district = world.district("330102").await;
    district.dispatched_case("before").await;
    let user = "citygrid-330102";
    let key = "district.330102.case_snapshot";
    world
        .publish_as("330102", key, "junk-1", Some(user), b"{ not json")
        .await;
    let mut wrong = serde_json::json!({
        "schema": "citygrid.interchange/v1", "kind": "case_snapshot", "district": "330102",
        "seq": 999, "sent_at": "2026-11-25T00:00:00Z", "body": { "case_id": "not a uuid" }
    });
    world
        .publish_as(
            "330102",
            key,
            "junk-2",
            Some(user),
            wrong.to_string().as_bytes(),
        )
        .await;
    wrong["district"] = serde_json::json!("330105");
    world
        .publish_as(
            "330102",
            key,
            "junk-3",
            Some(user),
            wrong.to_string().as_bytes(),
        )
        .await;
    world.publish_as("330102", key, "junk-4", None, b"{}").await;
    district.dispatched_case("after").await;

    converged(&world, &city, &district, 2).await;
    eventually("rejections at the district", 30, || async {
        let list = district.rejections().await;
        let mut codes: Vec<String> = list
            .as_array()
            .into_iter()
            .flatten()
            .map(|r| {
                format!(
                    "{}:{}",
                    r["message_id"].as_str().unwrap_or("-"),
                    r["code"].as_str().unwrap_or("-")
                )
            })
            .collect();
        codes.sort();
        let want = [
            "junk-1:malformed",
            "junk-2:invalid_body",
            "junk-3:wrong_district",
            "junk-4:wrong_district",
        ];
        if codes == want {
            Ok(())
        } else {
            Err(format!("{codes:?}"))
        }
    })
    .await;
    let seen = city.district("330102").await;
    assert_eq!(seen["cases"], 2, "valid neighbours unaffected: {seen}");
    assert_eq!(seen["rejections"], 4, "{seen}");
    assert_eq!(seen["dead_letters"], 4, "{seen}");
}
