//! The standard's own examples through the real intake: every positive example in
//! schemas/examples is accepted, every negative one (schemas/examples/negative) is
//! dead-lettered and answered with the rejection code and field its file names.

use std::path::Path;
use std::time::Duration;

use citygrid_exchange::schema::stream;
use citygrid_schemas::Kind;
use diesel::prelude::*;
use serde_json::Value;

use crate::broker::{self, TestBroker};
use crate::helpers::TestCity;

fn read(path: &Path) -> Value {
    serde_json::from_str(&std::fs::read_to_string(path).expect("read")).expect("JSON")
}

fn files(dir: &Path) -> Vec<std::path::PathBuf> {
    let mut files: Vec<_> = std::fs::read_dir(dir)
        .expect("examples")
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|e| e == "json"))
        .collect();
    files.sort();
    files
}

/// The AMQP `message_id` AMQP.md gives a district message.
fn message_id(message: &Value) -> String {
    let (district, seq) = (&message["district"], &message["seq"]);
    let district = district.as_str().expect("district");
    match message["kind"].as_str() {
        Some("media_chunk") => format!("{district}-{seq}-chunk-{}", message["body"]["index"]),
        Some("sync_batch") => format!(
            "{district}-sync-{}-0",
            message["body"]["request_id"].as_str().expect("request id")
        ),
        _ => format!("{district}-{seq}"),
    }
}

async fn publish(broker: &TestBroker, message: &Value) -> String {
    let kind = message["kind"].as_str().expect("kind");
    let id = message_id(message);
    let user = broker.account("330102").user.clone();
    broker
        .publish_as(
            "330102",
            &format!("district.330102.{kind}"),
            &id,
            Some(&user),
            &serde_json::to_vec(message).expect("JSON"),
        )
        .await;
    id
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_standard_s_examples_pass_and_its_negative_examples_get_their_rejection() {
    let broker = TestBroker::new().await;
    let city = TestCity::start(&broker).await;
    let root = citygrid_test_support::repo().join("schemas/examples");

    let mut positive_ids = Vec::new();
    let mut stream_seqs = Vec::new();
    for file in files(&root) {
        let message = read(&file);
        let kind = Kind::parse(message["kind"].as_str().expect("kind")).expect("a v1 kind");
        if !kind.from_district() {
            continue;
        }
        if !matches!(kind, Kind::MediaChunk | Kind::SyncBatch) {
            stream_seqs.push(message["seq"].as_i64().expect("seq"));
        }
        positive_ids.push(publish(&broker, &message).await);
    }

    let mut expected = Vec::new();
    for (i, file) in files(&root.join("negative")).into_iter().enumerate() {
        let case = read(&file);
        let mut message = case["message"].clone();
        // Apart from the seq rule itself, each gets a seq of its own, so that only the rule
        // under test can refuse it.
        if case["field"] != "seq" {
            message["seq"] = (1000 + i).into();
        }
        let id = publish(&broker, &message).await;
        expected.push((id, case["code"].clone(), case["field"].clone(), file));
    }

    let rejections: Vec<Value> = broker::read_queue_as(
        &broker,
        broker.account("330102"),
        &citygrid_schemas::amqp::command_queue("330102"),
        Duration::from_secs(30),
        |r| {
            r.iter()
                .filter(|m| m.kind.as_deref() == Some("rejection"))
                .count()
                >= expected.len()
        },
    )
    .await
    .into_iter()
    .filter(|m| m.kind.as_deref() == Some("rejection"))
    .map(|m| m.body["body"].clone())
    .collect();

    for (id, code, field, file) in &expected {
        let found = rejections
            .iter()
            .find(|r| r["message_id"] == id.as_str())
            .unwrap_or_else(|| {
                panic!(
                    "{}: no rejection for {id}; got {rejections:#?}",
                    file.display()
                )
            });
        assert_eq!(
            (&found["code"], &found["field"]),
            (code, field),
            "{}: {found}",
            file.display()
        );
    }
    for id in &positive_ids {
        assert!(
            !rejections.iter().any(|r| r["message_id"] == id.as_str()),
            "the example {id} was refused: {rejections:#?}"
        );
    }
    let mut conn = city.pool.get().expect("conn");
    let stored: Vec<i64> = stream::table
        .filter(stream::district.eq("330102"))
        .select(stream::seq)
        .order(stream::seq.asc())
        .load(&mut conn)
        .expect("stream");
    for seq in stream_seqs {
        assert!(
            stored.contains(&seq),
            "example seq {seq} not stored: {stored:?}"
        );
    }
}
