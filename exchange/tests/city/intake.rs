//! The intake: order, duplicates, gaps, refusals.

use std::time::Duration;

use chrono::Utc;
use citygrid_exchange::schema::{cases, media, records, rejections, stream};
use citygrid_schemas::{self as v1, amqp};
use diesel::prelude::*;
use serde_json::{Value, json};

use crate::broker::{self, Received, TestBroker, read_queue};
use crate::helpers::{TestCity, record, send, snapshot};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn each_stream_is_applied_once_and_in_order() {
    let broker = TestBroker::new().await;
    let city = TestCity::start(&broker).await;
    send(&broker, 1, snapshot(1, v1::CaseState::Reported)).await;
    let second = send(&broker, 2, record(10, 1)).await;
    // seq 4 overtakes seq 3: it waits until 3 is there.
    send(&broker, 4, snapshot(3, v1::CaseState::Dispatched)).await;
    send(&broker, 3, snapshot(2, v1::CaseState::Filed)).await;
    // A redelivery of seq 2, byte for byte.
    let user = broker.account("330102").user.clone();
    let key = amqp::district_key("330102", v1::Kind::BusinessRecord);
    broker
        .publish_as("330102", &key, "330102-2", Some(&user), &second)
        .await;
    city.wait_for_cursor("330102", 4).await;
    // One more message after the redelivery proves it has been handled.
    send(&broker, 5, record(11, 3)).await;
    city.wait_for_cursor("330102", 5).await;

    let mut conn = city.pool.get().expect("conn");
    let (version, state): (i32, String) = cases::table
        .select((cases::version, cases::state))
        .first(&mut conn)
        .expect("case");
    assert_eq!(
        (version, state.as_str()),
        (3, "dispatched"),
        "the highest version wins"
    );
    let kept: i64 = records::table
        .count()
        .get_result(&mut conn)
        .expect("records");
    assert_eq!(kept, 2, "the redelivered record is kept once");
    let streamed: i64 = stream::table.count().get_result(&mut conn).expect("stream");
    assert_eq!(streamed, 5);
    let refused: i64 = rejections::table
        .count()
        .get_result(&mut conn)
        .expect("rejections");
    assert_eq!(refused, 0);
}

fn codes(commands: &[Received]) -> Vec<(String, Option<String>)> {
    commands
        .iter()
        .map(|c| {
            (
                c.body["body"]["code"]
                    .as_str()
                    .unwrap_or_default()
                    .to_owned(),
                c.body["body"]["field"].as_str().map(str::to_owned),
            )
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn invalid_and_spoofed_messages_are_dead_lettered_and_answered() {
    let broker = TestBroker::new().await;
    let city = TestCity::start(&broker).await;
    let user = broker.account("330102").user.clone();
    let snapshot_key = amqp::district_key("330102", v1::Kind::CaseSnapshot);
    send(&broker, 1, snapshot(1, v1::CaseState::Reported)).await;
    // Not JSON.
    broker
        .publish_as("330102", &snapshot_key, "bad-1", Some(&user), b"{ not json")
        .await;
    // A schema violation: a longitude that is a word.
    let mut wrong: Value = serde_json::to_value(v1::Envelope::new(
        "330102",
        2,
        Utc::now(),
        snapshot(2, v1::CaseState::Filed),
    ))
    .expect("JSON");
    wrong["body"]["location"]["lon"] = json!("east");
    broker
        .publish_as(
            "330102",
            &snapshot_key,
            "bad-2",
            Some(&user),
            &serde_json::to_vec(&wrong).expect("JSON"),
        )
        .await;
    // A category the catalogue does not have.
    let mut unknown = snapshot(2, v1::CaseState::Filed);
    unknown.category = Some(v1::Category {
        kind: v1::CategoryKind::Event,
        major: "99".into(),
        minor: "99".into(),
        edition: None,
    });
    send(&broker, 2, unknown).await;
    // No user_id: the broker lets it through, the city does not.
    let valid = serde_json::to_vec(&v1::Envelope::new(
        "330102",
        2,
        Utc::now(),
        snapshot(2, v1::CaseState::Filed),
    ))
    .expect("JSON");
    broker
        .publish_as("330102", &snapshot_key, "bad-4", None, &valid)
        .await;
    // District 330105 signing an envelope as 330102 (under its own routing key).
    let user_105 = broker.account("330105").user.clone();
    let key_105 = amqp::district_key("330105", v1::Kind::CaseSnapshot);
    broker
        .publish_as("330105", &key_105, "bad-5", Some(&user_105), &valid)
        .await;
    // The valid seq 2 after all that.
    send(&broker, 2, snapshot(2, v1::CaseState::Filed)).await;
    city.wait_for_cursor("330102", 2).await;

    let dead = read_queue(&broker, amqp::DEAD_QUEUE, Duration::from_secs(20), |r| {
        r.len() >= 5
    })
    .await;
    let mut ids: Vec<_> = dead.iter().filter_map(|r| r.message_id.clone()).collect();
    ids.sort();
    assert_eq!(ids, ["330102-2", "bad-1", "bad-2", "bad-4", "bad-5"]);

    // The districts hear why, on their command queues.
    let to_102 = read_commands(&broker, "330102", 4).await;
    assert_eq!(
        codes(&to_102),
        [
            ("malformed".to_owned(), None),
            (
                "invalid_body".to_owned(),
                Some("body.location.lon".to_owned())
            ),
            ("invalid_body".to_owned(), Some("body.category".to_owned())),
            ("wrong_district".to_owned(), None),
        ]
    );
    assert_eq!(to_102[0].body["body"]["message_id"], "bad-1");
    let to_105 = read_commands(&broker, "330105", 1).await;
    assert_eq!(
        codes(&to_105),
        [("wrong_district".to_owned(), Some("district".to_owned()))]
    );

    // The valid neighbours are in the warehouse.
    let mut conn = city.pool.get().expect("conn");
    let version: i32 = cases::table
        .select(cases::version)
        .first(&mut conn)
        .expect("case");
    assert_eq!(version, 2);
}

/// Reads `n` commands from a district's command queue as that district.
async fn read_commands(broker: &TestBroker, district: &str, n: usize) -> Vec<Received> {
    broker::read_queue_as(
        broker,
        broker.account(district),
        &amqp::command_queue(district),
        Duration::from_secs(20),
        |r| r.len() >= n,
    )
    .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_gap_is_asked_for_and_filled() {
    let broker = TestBroker::new().await;
    let city = TestCity::start(&broker).await;
    send(&broker, 1, snapshot(1, v1::CaseState::Reported)).await;
    // seq 2 is lost in transit; 3 arrives.
    send(&broker, 3, snapshot(3, v1::CaseState::Dispatched)).await;
    city.wait_for_cursor("330102", 1).await;
    let asked = read_commands(&broker, "330102", 1).await;
    assert_eq!(asked[0].kind.as_deref(), Some("sync_request"));
    let request: v1::SyncRequest =
        serde_json::from_value(asked[0].body["body"].clone()).expect("sync request");
    assert_eq!((request.from_seq, request.to_seq), (2, Some(2)));
    assert_eq!(city.cursor("330102"), 1, "3 waits for 2");

    // The district answers with a batch holding seq 2.
    let missing = serde_json::from_value(
        serde_json::to_value(v1::Envelope::new("330102", 2, Utc::now(), record(10, 1)))
            .expect("JSON"),
    )
    .expect("envelope");
    let batch = v1::SyncBatch {
        request_id: request.request_id,
        messages: vec![missing],
        oldest_retained_seq: None,
        last: true,
    };
    send(&broker, 3, batch).await;
    city.wait_for_cursor("330102", 3).await;
    let mut conn = city.pool.get().expect("conn");
    let version: i32 = cases::table
        .select(cases::version)
        .first(&mut conn)
        .expect("case");
    assert_eq!(version, 3);
}

/// A sync batch is applied message by message: a bad message in it is refused on its own,
/// the rest is kept, and the district repairs and resends the refused seq.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_bad_message_in_a_sync_batch_is_refused_alone_and_sent_again_repaired() {
    let broker = TestBroker::new().await;
    let city = TestCity::start(&broker).await;
    send(&broker, 1, snapshot(1, v1::CaseState::Reported)).await;
    send(&broker, 4, snapshot(4, v1::CaseState::Dispatched)).await;
    city.wait_for_cursor("330102", 1).await;
    /// A message as it sits in a batch: the original envelope, untyped.
    fn replayed<B: v1::Body>(seq: u64, body: B) -> v1::Envelope<Value> {
        let typed = v1::Envelope::new("330102", seq, Utc::now(), body);
        serde_json::from_value(serde_json::to_value(typed).expect("JSON")).expect("envelope")
    }
    let mut broken = snapshot(2, v1::CaseState::Reported);
    broken.location.lon = 420.0;
    let batch = v1::SyncBatch {
        request_id: uuid::Uuid::new_v4(),
        messages: vec![replayed(2, broken), replayed(3, record(11, 3))],
        oldest_retained_seq: None,
        last: true,
    };
    send(&broker, 4, batch).await;

    let commands = read_commands(&broker, "330102", 1).await;
    let rejection = &commands[0].body["body"];
    assert_eq!(commands[0].kind.as_deref(), Some("rejection"));
    assert_eq!(
        (
            &rejection["message_id"],
            &rejection["seq"],
            &rejection["field"]
        ),
        (&json!("330102-2"), &json!(2), &json!("body.location.lon"))
    );
    // Seq 3 of the same batch is kept, waiting behind the refused 2.
    let mut conn = city.pool.get().expect("conn");
    let held: Vec<i64> = stream::table
        .filter(stream::district.eq("330102"))
        .select(stream::seq)
        .order(stream::seq.asc())
        .load(&mut conn)
        .expect("stream");
    assert_eq!(held, [1, 3, 4]);
    assert_eq!(city.cursor("330102"), 1);

    // Repaired, the same seq goes through and the stream moves on.
    send(&broker, 2, snapshot(2, v1::CaseState::Reported)).await;
    city.wait_for_cursor("330102", 4).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_daily_digest_is_compared_and_a_difference_asked_for() {
    let broker = TestBroker::new().await;
    let city = TestCity::start(&broker).await;
    send(&broker, 1, snapshot(1, v1::CaseState::Reported)).await;
    send(&broker, 2, snapshot(2, v1::CaseState::Filed)).await;
    let case = v1::json::example_snapshot();
    // The example case was created on 2026-11-24 (Asia/Shanghai).
    let day = chrono::NaiveDate::from_ymd_opt(2026, 11, 24).expect("day");
    let digest = |version: u32| v1::ReconciliationDigest {
        day,
        cases: 1,
        sha256: v1::digest_hash(&[(case.case_id, version)]),
        up_to_seq: 2,
    };
    send(&broker, 3, digest(2)).await;
    city.wait_for_cursor("330102", 3).await;
    let compared = |seq: i64| {
        let mut conn = city.pool.get().expect("conn");
        citygrid_exchange::schema::digests::table
            .find(("330102", seq))
            .select(citygrid_exchange::schema::digests::matches)
            .first::<Option<bool>>(&mut conn)
            .expect("digest")
    };
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    while compared(3).is_none() && tokio::time::Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(
        compared(3),
        Some(true),
        "the warehouse holds version 2 as of seq 2"
    );

    // A digest that says version 1 was current: the day differs, a resync is asked for.
    send(&broker, 4, digest(1)).await;
    let asked = read_commands(&broker, "330102", 1).await;
    assert_eq!(asked[0].kind.as_deref(), Some("sync_request"));
    assert_eq!(asked[0].body["body"]["from_seq"], 1);
    assert_eq!(asked[0].body["body"]["to_seq"], 2);
    assert_eq!(compared(4), Some(false));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_photo_without_its_bytes_is_asked_for_again() {
    let broker = TestBroker::new().await;
    let city = TestCity::start(&broker).await;
    let bytes = b"\x89PNG\r\n\x1a\n not really a PNG, but bytes all the same".to_vec();
    let (manifest, chunks) =
        v1::split_media(&bytes, "image/png", v1::json::example_snapshot().case_id);
    // The manifest arrives; its chunk was lost.
    send(&broker, 1, manifest.clone()).await;
    city.wait_for_cursor("330102", 1).await;
    let asked = read_commands(&broker, "330102", 1).await;
    assert_eq!(asked[0].kind.as_deref(), Some("media_request"));
    assert_eq!(asked[0].body["body"]["sha256"], json!([manifest.sha256]));

    // The district sends the chunk again (under its manifest's seq): the photo is whole.
    send(&broker, 1, chunks[0].clone()).await;
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    loop {
        let mut conn = city.pool.get().expect("conn");
        let stored: Option<Vec<u8>> = citygrid_exchange::schema::media::table
            .find(&manifest.sha256)
            .select(citygrid_exchange::schema::media::bytes)
            .first(&mut conn)
            .expect("media row");
        if let Some(stored) = stored {
            assert_eq!(stored, bytes);
            break;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "the photo never became whole"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_chunk_that_is_not_base64_is_refused() {
    let broker = TestBroker::new().await;
    let city = TestCity::start(&broker).await;
    let chunk = v1::MediaChunk {
        sha256: "0".repeat(64),
        index: 0,
        count: 1,
        data: "not base64!".into(),
    };
    send(&broker, 1, chunk).await;
    send(&broker, 1, snapshot(1, v1::CaseState::Reported)).await;
    city.wait_for_cursor("330102", 1).await;
    let told = read_commands(&broker, "330102", 1).await;
    assert_eq!(
        codes(&told),
        [("invalid_body".to_owned(), Some("body.data".to_owned()))]
    );
}

/// Publishes `chunk` of the photo announced at `seq`, as the district's relay does (under
/// the manifest's seq, before the manifest).
async fn publish_chunk(broker: &TestBroker, seq: u64, chunk: &v1::MediaChunk) {
    let user = broker.account("330102").user.clone();
    let data = serde_json::to_vec(&v1::Envelope::new("330102", seq, Utc::now(), chunk.clone()))
        .expect("JSON");
    broker
        .publish_as(
            "330102",
            &amqp::district_key("330102", v1::Kind::MediaChunk),
            &format!("330102-{seq}-chunk-{}", chunk.index),
            Some(&user),
            &data,
        )
        .await;
}

/// A photo whose chunks do not add up to its manifest is refused with the manifest's own
/// message id and seq, so the district knows which message to repair.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_photo_that_does_not_match_its_manifest_is_refused_by_name() {
    use base64::Engine;
    let broker = TestBroker::new().await;
    let city = TestCity::start(&broker).await;
    let case = v1::json::example_snapshot().case_id;
    let (manifest, mut chunks) = v1::split_media(b"the photo as taken", "image/jpeg", case);
    assert_eq!(chunks.len(), 1);
    chunks[0].data = base64::engine::general_purpose::STANDARD.encode(b"a tampered photo!!");
    // Chunks travel before their manifest, under the manifest's seq.
    publish_chunk(&broker, 1, &chunks[0]).await;
    send(&broker, 1, manifest).await;
    city.wait_for_cursor("330102", 1).await;
    let mut conn = city.pool.get().expect("conn");
    let refused: Vec<(Option<String>, Option<i64>, Option<String>)> = rejections::table
        .filter(rejections::code.eq("media_mismatch"))
        .select((rejections::message_id, rejections::seq, rejections::kind))
        .load(&mut conn)
        .expect("rejections");
    assert_eq!(
        refused,
        [(
            Some("330102-1".to_owned()),
            Some(1),
            Some("media_manifest".to_owned())
        )]
    );
    // The district sends the right bytes again under the same id: they replace the bad
    // ones, and the photo verifies.
    let good = v1::split_media(b"the photo as taken", "image/jpeg", case).1;
    publish_chunk(&broker, 1, &good[0]).await;
    let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
    loop {
        let verified: Option<chrono::DateTime<Utc>> = media::table
            .find(&good[0].sha256)
            .select(media::verified_at)
            .first(&mut conn)
            .expect("the photo");
        if verified.is_some() {
            break;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "the repaired photo never verified"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// A photo whose bytes never come is asked for again with a growing wait, then given up:
/// the city shows it as unrepaired and tells the district once, naming the manifest.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_photo_that_never_comes_is_given_up_visibly() {
    let broker = TestBroker::new().await;
    let city = TestCity::start(&broker).await;
    let case = v1::json::example_snapshot().case_id;
    let (manifest, _) = v1::split_media(b"bytes the district lost", "image/jpeg", case);
    send(&broker, 1, manifest.clone()).await;
    city.wait_for_cursor("330102", 1).await;
    let mut conn = city.pool.get().expect("conn");
    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    loop {
        let rows = citygrid_exchange::warehouse::status(&mut conn).expect("status");
        let ours = rows
            .iter()
            .find(|r| r.district == "330102")
            .expect("330102");
        if ours.media_unrepaired == 1 {
            break;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "never given up: {ours:?}"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let requests: i32 = media::table
        .find(&manifest.sha256)
        .select(media::requests)
        .first(&mut conn)
        .expect("photo");
    assert_eq!(requests, 3, "two requests, then the last word");
    let told: Vec<(Option<String>, String)> = rejections::table
        .filter(rejections::code.eq("media_mismatch"))
        .select((rejections::message_id, rejections::message))
        .load(&mut conn)
        .expect("rejections");
    assert_eq!(told.len(), 1, "{told:?}");
    assert_eq!(told[0].0.as_deref(), Some("330102-1"));
    assert!(told[0].1.contains("stops asking"), "{told:?}");
    let metrics = reqwest::get(format!("{}/metrics", city.base))
        .await
        .expect("metrics")
        .text()
        .await
        .expect("text");
    assert!(
        metrics.contains("citygrid_media_unrepaired{district=\"330102\"} 1"),
        "{metrics}"
    );
}
