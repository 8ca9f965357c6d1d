//! The district side of the exchange on a real RabbitMQ: outbox, relay, broker
//! permissions, outages, sync replay and rejections. Each test has its own vhost and users.

use std::collections::HashMap;
use std::time::Duration;

use citygrid_platform::schema::{case_records, outbox, outbox_counter};
use citygrid_schemas::{self as v1, amqp};
use diesel::prelude::*;
use lapin::options::{BasicConsumeOptions, BasicPublishOptions, ConfirmSelectOptions};
use lapin::types::FieldTable;
use serde_json::{Value, json};

use crate::broker::{Received, TestBroker, read_intake, read_queue};
use crate::helpers::TestApp;

async fn with_exchange(broker: &TestBroker) -> TestApp {
    let section = crate::helpers::exchange_section(broker, "330102");
    TestApp::spawn_with(|t| {
        t.config.exchange = Some(section);
        // These tests drive one user at machine speed to fill the outbox; the staff rate
        // limit (tests/api/limits.rs) is not what they are about.
        t.config.limits.staff_write_burst = 1_000_000;
        t.config.limits.staff_writes_per_minute = 1_000_000;
    })
    .await
}

fn last_seq(app: &TestApp) -> i64 {
    let mut conn = app.pool.get().expect("conn");
    outbox_counter::table
        .select(outbox_counter::last_seq)
        .first(&mut conn)
        .expect("counter")
}

/// The outbox messages among what arrived (media chunks carry their manifest's seq and
/// are not counted on their own; sync batches are answers, not stream positions).
fn stream(received: &[Received]) -> Vec<&Received> {
    received
        .iter()
        .filter(|r| !matches!(r.kind.as_deref(), Some("media_chunk") | Some("sync_batch")))
        .collect()
}

fn seq_of(r: &Received) -> i64 {
    r.body["seq"].as_i64().expect("seq")
}

fn reached(last: i64) -> impl Fn(&[Received]) -> bool {
    move |received: &[Received]| stream(received).iter().any(|r| seq_of(r) == last)
}

fn schema(kind: &str) -> jsonschema::Validator {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join(format!("../schemas/json/v1/{kind}.json"));
    let schema: Value =
        serde_json::from_str(&std::fs::read_to_string(path).expect("committed schema"))
            .expect("JSON");
    jsonschema::validator_for(&schema).expect("valid schema")
}

async fn wait_until(what: &str, timeout: Duration, mut check: impl FnMut() -> bool) {
    let deadline = tokio::time::Instant::now() + timeout;
    while !check() {
        assert!(
            tokio::time::Instant::now() < deadline,
            "timed out waiting: {what}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

async fn status(app: &TestApp) -> Value {
    let leader = app.login("sc-lead1").await;
    let (code, body) = app.get("/api/v1/exchange/status", &leader).await;
    assert_eq!(code, 200, "{body}");
    body
}

async fn wait_for_backlog_zero(app: &TestApp, timeout: Duration) -> Value {
    let deadline = tokio::time::Instant::now() + timeout;
    loop {
        let status = status(app).await;
        if status["backlog"] == 0 && status["broker_connected"] == true {
            return status;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "backlog not drained: {status}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_change_reaches_the_city_in_seq_order_as_valid_v1_messages() {
    let broker = TestBroker::new().await;
    let app = with_exchange(&broker).await;
    let case = app.dispatched_case("huanwei").await;
    let last = last_seq(&app);
    // report (manifest, record, snapshot) + file (record, snapshot) + dispatch (record, snapshot)
    assert_eq!(last, 7);
    let received = read_intake(&broker, Duration::from_secs(20), reached(last)).await;

    let outbox_messages = stream(&received);
    let seqs: Vec<i64> = outbox_messages.iter().map(|r| seq_of(r)).collect();
    assert_eq!(
        seqs,
        (1..=last).collect::<Vec<_>>(),
        "in order, no gap, no repeat"
    );
    let user = &broker.account("330102").user;
    for r in &received {
        let kind = r.kind.as_deref().expect("type property");
        assert_eq!(r.body["kind"], kind, "type property = envelope kind");
        assert_eq!(r.routing_key, format!("district.330102.{kind}"));
        assert_eq!(
            r.user_id.as_ref(),
            Some(user),
            "user_id is the district's login"
        );
        assert_eq!(r.body["schema"], v1::SCHEMA);
        let errors: Vec<String> = schema(kind)
            .iter_errors(&r.body)
            .map(|e| format!("{e} at {}", e.instance_path()))
            .collect();
        assert!(
            errors.is_empty(),
            "{kind} does not match its schema: {errors:?}"
        );
    }
    for r in &outbox_messages {
        assert_eq!(
            r.message_id,
            Some(v1::message_id("330102", seq_of(r) as u64))
        );
    }

    // The photo: chunks first, then the manifest, and they add up to the uploaded bytes.
    let kinds: Vec<&str> = received.iter().filter_map(|r| r.kind.as_deref()).collect();
    assert_eq!(
        &kinds[..3],
        ["media_chunk", "media_manifest", "business_record"]
    );
    let manifest: v1::MediaManifest =
        serde_json::from_value(received[1].body["body"].clone()).expect("manifest");
    let chunk: v1::MediaChunk =
        serde_json::from_value(received[0].body["body"].clone()).expect("chunk");
    let bytes = v1::assemble_media(&manifest, &[chunk]).expect("chunks match the manifest");
    let detail = app.detail(&case).await;
    assert_eq!(detail["records"][0]["media"][0], manifest.sha256.as_str());
    assert_eq!(v1::sha256_hex(&bytes), manifest.sha256);

    // The last snapshot is the case as the district sees it; the dispatch record says
    // the dispatch stage ended on time.
    let snapshot: v1::CaseSnapshot =
        serde_json::from_value(outbox_messages[6].body["body"].clone()).expect("snapshot");
    assert_eq!(
        snapshot.case_id.to_string(),
        case["id"].as_str().expect("id")
    );
    assert_eq!(snapshot.state, v1::CaseState::Dispatched);
    assert_eq!(snapshot.version, 3);
    assert_eq!(snapshot.department_code.as_deref(), Some("huanwei"));
    assert!(snapshot.milestones.dispatched_at.is_some());
    // The grid cell travels with it (v1.2), agreeing with the street and community.
    let cell = snapshot.cell_code.clone().expect("a cell");
    assert_eq!(
        (
            snapshot.street_code.as_deref(),
            snapshot.community_code.as_deref()
        ),
        (Some(&cell[..9]), Some(&cell[..12]))
    );
    let dispatch: v1::BusinessRecord =
        serde_json::from_value(outbox_messages[5].body["body"].clone()).expect("record");
    assert_eq!(dispatch.action, v1::Action::Dispatch);
    let ended = dispatch.stage_ended.expect("the dispatch stage ended");
    assert_eq!(ended.stage, v1::Stage::Dispatch);
    assert!(ended.on_time);

    let status = wait_for_backlog_zero(&app, Duration::from_secs(10)).await;
    assert_eq!(status["last_seq"], last);
    assert_eq!(status["last_confirmed"], last);
    let supervisor = app.login("sc-sup1").await;
    let (code, body) = app.get("/api/v1/exchange/status", &supervisor).await;
    assert_eq!(
        (code, body["error"]["code"].as_str()),
        (403, Some("wrong_role"))
    );
}

async fn refusal(
    broker: &TestBroker,
    district: &str,
    exchange: &str,
    key: &str,
    user_id: &str,
) -> String {
    let connection = broker.connect(broker.account(district)).await;
    let channel = connection.create_channel().await.expect("channel");
    channel
        .confirm_select(ConfirmSelectOptions::default())
        .await
        .expect("confirms");
    let props = citygrid_kit::broker::properties("forged-1", v1::Kind::CaseSnapshot, user_id);
    let published = channel
        .basic_publish(
            exchange.into(),
            key.into(),
            BasicPublishOptions::default(),
            b"{}",
            props,
        )
        .await;
    let error = match published {
        Err(e) => e,
        Ok(confirm) => confirm
            .await
            .expect_err("the broker must refuse this publish"),
    };
    format!("{error:?}")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_broker_refuses_a_district_speaking_for_another() {
    let broker = TestBroker::new().await;
    let own = broker.account("330105").user.clone();
    let other = broker.account("330102").user.clone();

    let foreign_key = refusal(
        &broker,
        "330105",
        amqp::DISTRICTS_EXCHANGE,
        "district.330102.case_snapshot",
        &own,
    )
    .await;
    assert!(
        foreign_key.contains("ACCESS_REFUSED") && foreign_key.contains("district.330102"),
        "{foreign_key}"
    );
    let spoofed = refusal(
        &broker,
        "330105",
        amqp::DISTRICTS_EXCHANGE,
        "district.330105.case_snapshot",
        &other,
    )
    .await;
    assert!(
        spoofed.contains("PRECONDITION_FAILED") && spoofed.contains("user_id"),
        "{spoofed}"
    );
    let command = refusal(
        &broker,
        "330105",
        amqp::CITY_EXCHANGE,
        "city.330102.rejection",
        &own,
    )
    .await;
    assert!(command.contains("ACCESS_REFUSED"), "{command}");

    // Nor may it read another district's commands.
    let connection = broker.connect(broker.account("330105")).await;
    let channel = connection.create_channel().await.expect("channel");
    let consume = channel
        .basic_consume(
            amqp::command_queue("330102").as_str().into(),
            "snoop".into(),
            BasicConsumeOptions::default(),
            FieldTable::default(),
        )
        .await;
    let error = format!(
        "{:?}",
        consume.expect_err("reading 330102's commands must fail")
    );
    assert!(error.contains("ACCESS_REFUSED"), "{error}");

    // None of it reached the city; the district's own messages do.
    let connection = broker.connect(broker.account("330105")).await;
    let channel = connection.create_channel().await.expect("channel");
    channel
        .confirm_select(ConfirmSelectOptions::default())
        .await
        .expect("confirms");
    let confirm = channel
        .basic_publish(
            amqp::DISTRICTS_EXCHANGE.into(),
            "district.330105.case_snapshot".into(),
            BasicPublishOptions::default(),
            b"{}",
            citygrid_kit::broker::properties("own-1", v1::Kind::CaseSnapshot, &own),
        )
        .await
        .expect("publish")
        .await
        .expect("confirm");
    assert!(confirm.is_ack());
    let received = read_intake(&broker, Duration::from_secs(3), |r| !r.is_empty()).await;
    let ids: Vec<_> = received.iter().map(|r| r.message_id.clone()).collect();
    assert_eq!(ids, [Some("own-1".to_owned())]);
}

/// What the broker answers a publish on a fresh channel of `connection` (confirms on):
/// `Ok` for an ack, else the error's text.
async fn try_publish(
    connection: &lapin::Connection,
    exchange: &str,
    key: &str,
    user_id: &str,
) -> Result<(), String> {
    let channel = connection.create_channel().await.expect("channel");
    channel
        .confirm_select(ConfirmSelectOptions::default())
        .await
        .expect("confirms");
    let props = citygrid_kit::broker::properties("matrix-1", v1::Kind::CaseSnapshot, user_id);
    let confirm = channel
        .basic_publish(
            exchange.into(),
            key.into(),
            BasicPublishOptions::default(),
            b"{}",
            props,
        )
        .await
        .map_err(|e| format!("{e:?}"))?
        .await
        .map_err(|e| format!("{e:?}"))?;
    if confirm.is_ack() {
        Ok(())
    } else {
        Err(format!("{confirm:?}"))
    }
}

/// What the broker answers on a fresh channel of `connection` to `attempt`.
async fn try_on<F, T>(connection: &lapin::Connection, attempt: F) -> Result<(), String>
where
    F: AsyncFnOnce(&lapin::Channel) -> Result<T, lapin::Error>,
{
    let channel = connection.create_channel().await.expect("channel");
    attempt(&channel)
        .await
        .map(|_| ())
        .map_err(|e| format!("{e:?}"))
}

/// The broker side of tenant isolation, as a matrix: every district's broker user against
/// every other district's keys and command queue, and against the city's own resources
/// (the intake and dead-letter queues, the default exchange straight into the intake, the
/// dead-letter exchange, declaring or binding anything); and the city's user against the
/// districts' exchange. Each is ACCESS_REFUSED; the district's own key and queue work.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_broker_user_is_kept_to_its_own_keys_and_queues() {
    let broker = TestBroker::new().await;
    let codes: Vec<String> = broker.districts.iter().map(|(c, _)| c.clone()).collect();
    assert!(codes.len() >= 2, "{codes:?}");
    let refused = |what: String, outcome: Result<(), String>| match outcome {
        Err(e) if e.contains("ACCESS_REFUSED") => {}
        other => panic!("{what}: {other:?}"),
    };
    for (code, account) in &broker.districts {
        let connection = broker.connect(account).await;
        let me = account.user.as_str();
        // Its own key and queue work (so each refusal below is about the resource).
        try_publish(
            &connection,
            amqp::DISTRICTS_EXCHANGE,
            &format!("district.{code}.case_snapshot"),
            me,
        )
        .await
        .unwrap_or_else(|e| panic!("{code} publishing under its own key: {e}"));
        let own = amqp::command_queue(code);
        try_on(&connection, async |c| {
            c.basic_consume(
                own.as_str().into(),
                "own".into(),
                BasicConsumeOptions::default(),
                FieldTable::default(),
            )
            .await
        })
        .await
        .unwrap_or_else(|e| panic!("{code} reading its own commands: {e}"));

        for other in codes.iter().filter(|o| *o != code) {
            for kind in [v1::Kind::CaseSnapshot, v1::Kind::SyncBatch] {
                let key = amqp::district_key(other, kind);
                refused(
                    format!("{code} publishing under {key}"),
                    try_publish(&connection, amqp::DISTRICTS_EXCHANGE, &key, me).await,
                );
            }
            let theirs = amqp::command_queue(other);
            refused(
                format!("{code} reading {theirs}"),
                try_on(&connection, async |c| {
                    c.basic_consume(
                        theirs.as_str().into(),
                        "snoop".into(),
                        BasicConsumeOptions::default(),
                        FieldTable::default(),
                    )
                    .await
                })
                .await,
            );
            refused(
                format!("{code} taking one of {theirs}"),
                try_on(&connection, async |c| {
                    c.basic_get(theirs.as_str().into(), Default::default())
                        .await
                })
                .await,
            );
            refused(
                format!("{code} publishing a command to {other}"),
                try_publish(
                    &connection,
                    amqp::CITY_EXCHANGE,
                    &amqp::city_key(other, v1::Kind::SyncRequest),
                    me,
                )
                .await,
            );
        }
        for queue in [amqp::INTAKE_QUEUE, amqp::DEAD_QUEUE] {
            refused(
                format!("{code} reading {queue}"),
                try_on(&connection, async |c| {
                    c.basic_consume(
                        queue.into(),
                        "snoop".into(),
                        BasicConsumeOptions::default(),
                        FieldTable::default(),
                    )
                    .await
                })
                .await,
            );
            // The default exchange routes by queue name: no way around the topic check.
            refused(
                format!("{code} publishing straight into {queue}"),
                try_publish(&connection, "", queue, me).await,
            );
        }
        refused(
            format!("{code} publishing to the dead-letter exchange"),
            try_publish(
                &connection,
                amqp::DEAD_EXCHANGE,
                &format!("district.{code}.case_snapshot"),
                me,
            )
            .await,
        );
        refused(
            format!("{code} declaring a queue"),
            try_on(&connection, async |c| {
                c.queue_declare(
                    format!("snoop-{code}").as_str().into(),
                    Default::default(),
                    FieldTable::default(),
                )
                .await
            })
            .await,
        );
        refused(
            format!("{code} binding its queue to every district's messages"),
            try_on(&connection, async |c| {
                c.queue_bind(
                    own.as_str().into(),
                    amqp::DISTRICTS_EXCHANGE.into(),
                    "district.#".into(),
                    Default::default(),
                    FieldTable::default(),
                )
                .await
            })
            .await,
        );
        let _ = connection.close(200, "matrix done".into()).await;
    }
    // The city reads the districts' messages and sends commands; it cannot speak for a
    // district.
    let city = broker.connect(&broker.city).await;
    for code in &codes {
        refused(
            format!("the city publishing as {code}"),
            try_publish(
                &city,
                amqp::DISTRICTS_EXCHANGE,
                &amqp::district_key(code, v1::Kind::CaseSnapshot),
                &broker.city.user,
            )
            .await,
        );
    }
    let _ = city.close(200, "matrix done".into()).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_relay_resumes_after_its_connection_is_killed_without_gap_or_duplicate() {
    let broker = TestBroker::new().await;
    let app = with_exchange(&broker).await;
    let supervisor = app.login("sc-sup1").await;
    wait_until("relay connected", Duration::from_secs(10), || {
        app.uplink.connected()
    })
    .await;
    // Reports keep coming while the connection is killed under the relay.
    let killed = std::sync::atomic::AtomicBool::new(false);
    let produce = async {
        let mut after_kill = 0;
        while after_kill < 10 {
            app.supervisor_report(&supervisor).await;
            if killed.load(std::sync::atomic::Ordering::SeqCst) {
                after_kill += 1;
            }
        }
    };
    let kill = async {
        // The management API lists a connection once its stats arrive (every 5 s).
        let mut closed = Vec::new();
        let deadline = tokio::time::Instant::now() + Duration::from_secs(15);
        while closed.is_empty() && tokio::time::Instant::now() < deadline {
            tokio::time::sleep(Duration::from_millis(250)).await;
            closed = broker
                .admin
                .connections_of(&broker.vhost, &broker.account("330102").user)
                .await
                .expect("connections");
        }
        for name in &closed {
            broker.admin.close_connection(name).await.expect("close");
        }
        wait_until("relay noticed", Duration::from_secs(10), || {
            !app.uplink.connected()
        })
        .await;
        killed.store(true, std::sync::atomic::Ordering::SeqCst);
        closed
    };
    let ((), closed) = futures::future::join(produce, kill).await;
    assert_eq!(
        closed.len(),
        1,
        "the relay's connection was found and closed"
    );
    wait_for_backlog_zero(&app, Duration::from_secs(30)).await;
    let last = last_seq(&app);
    assert!(last > 30, "reports before and after the kill: {last}");
    let received = read_intake(&broker, Duration::from_secs(30), reached(last)).await;

    // What the city keeps: the first copy of each message id. A message whose confirm was
    // lost with the connection may come again, byte for byte the same.
    let mut first: HashMap<String, &Received> = HashMap::new();
    let mut kept = Vec::new();
    for r in stream(&received) {
        let id = r.message_id.clone().expect("message id");
        match first.get(&id) {
            Some(earlier) => assert_eq!(earlier.raw, r.raw, "a redelivery must be identical"),
            None => {
                first.insert(id, r);
                kept.push(seq_of(r));
            }
        }
    }
    assert_eq!(
        kept,
        (1..=last).collect::<Vec<_>>(),
        "no gap, no reordering"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_changes_number_the_outbox_without_gaps() {
    let app = TestApp::spawn().await;
    let supervisor = app.login("sc-sup1").await;
    let dispatcher = app.login("sc-disp1").await;
    let filed: Vec<Value> = futures::future::join_all((0..4).map(|_| app.filed_case())).await;
    let reports = (0..16).map(|_| app.supervisor_report(&supervisor));
    // Two dispatchers race on each filed case: one wins, the other is stale and must
    // not take a seq.
    let races = filed.iter().flat_map(|case| {
        ["huanwei", "shizheng"].map(|department| {
            app.step(
                &dispatcher,
                case,
                "dispatch",
                json!({ "department": department }),
            )
        })
    });
    let (_, outcomes) = futures::future::join(
        futures::future::join_all(reports),
        futures::future::join_all(races),
    )
    .await;
    let won = outcomes.iter().filter(|(code, _)| *code == 200).count();
    assert_eq!(won, 4, "{outcomes:?}");

    let mut conn = app.pool.get().expect("conn");
    let seqs: Vec<i64> = outbox::table
        .order(outbox::seq.asc())
        .select(outbox::seq)
        .load(&mut conn)
        .expect("outbox");
    let n = seqs.len() as i64;
    assert_eq!(seqs, (1..=n).collect::<Vec<_>>());
    assert_eq!(last_seq(&app), n);
    let records: i64 = case_records::table
        .count()
        .get_result(&mut conn)
        .expect("records");
    let published_records: i64 = outbox::table
        .filter(outbox::kind.eq("business_record"))
        .count()
        .get_result(&mut conn)
        .expect("count");
    assert_eq!(published_records, records, "one business_record per record");
    // 20 reports with a new photo each (3 messages), 4 filings and 4 dispatches (2 each).
    assert_eq!(n, 20 * 3 + 4 * 2 + 4 * 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn while_the_broker_refuses_the_district_nothing_is_lost() {
    let broker = TestBroker::unprovisioned();
    let app = with_exchange(&broker).await;
    let supervisor = app.login("sc-sup1").await;
    for _ in 0..3 {
        app.supervisor_report(&supervisor).await;
    }
    tokio::time::sleep(Duration::from_millis(700)).await;
    let down = status(&app).await;
    assert_eq!(down["broker_connected"], false, "{down}");
    assert_eq!(down["backlog"], 9, "{down}");
    assert_eq!(down["last_confirmed"], 0, "{down}");
    assert!(
        down["last_error"].as_str().is_some_and(|e| !e.is_empty()),
        "{down}"
    );

    broker.provision().await;
    app.supervisor_report(&supervisor).await;
    wait_for_backlog_zero(&app, Duration::from_secs(40)).await;
    let received = read_intake(&broker, Duration::from_secs(20), reached(12)).await;
    let seqs: Vec<i64> = stream(&received).iter().map(|r| seq_of(r)).collect();
    assert_eq!(seqs, (1..=12).collect::<Vec<_>>());
}

/// Publishes a command to district 330102 as the city.
async fn command(broker: &TestBroker, kind: v1::Kind, message_id: &str, payload: &[u8]) {
    let connection = broker.connect(&broker.city).await;
    let channel = connection.create_channel().await.expect("channel");
    channel
        .confirm_select(ConfirmSelectOptions::default())
        .await
        .expect("confirms");
    let confirm = channel
        .basic_publish(
            amqp::CITY_EXCHANGE.into(),
            amqp::city_key("330102", kind).as_str().into(),
            BasicPublishOptions::default(),
            payload,
            citygrid_kit::broker::properties(message_id, kind, &broker.city.user),
        )
        .await
        .expect("publish")
        .await
        .expect("confirm");
    assert!(confirm.is_ack());
    let _ = connection.close(200, "sent".into()).await;
}

fn city_message<B: v1::Body>(seq: u64, body: B) -> Vec<u8> {
    serde_json::to_vec(&v1::Envelope::new("330102", seq, chrono::Utc::now(), body)).expect("JSON")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_district_replays_on_request_and_records_rejections() {
    let broker = TestBroker::new().await;
    let app = with_exchange(&broker).await;
    app.filed_case().await;
    let originals = read_intake(&broker, Duration::from_secs(20), reached(5)).await;

    let request = uuid::Uuid::new_v4();
    let sync = v1::SyncRequest {
        request_id: request,
        from_seq: 2,
        to_seq: Some(4),
    };
    command(
        &broker,
        v1::Kind::SyncRequest,
        "city-1",
        &city_message(1, sync),
    )
    .await;
    let answer = read_intake(&broker, Duration::from_secs(20), |r| {
        r.iter().any(|m| m.body["body"]["last"] == true)
    })
    .await;
    assert_eq!(answer.len(), 1, "one batch holds three small messages");
    assert_eq!(answer[0].kind.as_deref(), Some("sync_batch"));
    let batch: v1::SyncBatch =
        serde_json::from_value(answer[0].body["body"].clone()).expect("batch");
    assert_eq!(batch.request_id, request);
    assert_eq!(batch.oldest_retained_seq, None);
    let replayed: Vec<Value> = batch
        .messages
        .iter()
        .map(|m| serde_json::to_value(m).expect("JSON"))
        .collect();
    let expected: Vec<Value> = stream(&originals)
        .into_iter()
        .filter(|r| (2..=4).contains(&seq_of(r)))
        .map(|r| r.body.clone())
        .collect();
    assert_eq!(replayed, expected, "the same messages as first sent");

    let rejection = v1::Rejection {
        message_id: Some("330102-3".into()),
        kind: Some("business_record".into()),
        seq: Some(3),
        code: v1::RejectionCode::InvalidBody,
        message: "details.department is not a department of 330102".into(),
        field: Some("body.details.department".into()),
    };
    for _ in 0..2 {
        // The city redelivers: stored once.
        command(
            &broker,
            v1::Kind::Rejection,
            "city-2",
            &city_message(2, rejection.clone()),
        )
        .await;
    }
    command(&broker, v1::Kind::Rejection, "city-3", b"not json").await;
    let dead = read_queue(&broker, amqp::DEAD_QUEUE, Duration::from_secs(20), |r| {
        !r.is_empty()
    })
    .await;
    assert_eq!(
        dead[0].message_id.as_deref(),
        Some("city-3"),
        "unreadable command dead-lettered"
    );

    let leader = app.login("sc-lead1").await;
    let (code, list) = app.get("/api/v1/exchange/rejections", &leader).await;
    assert_eq!(code, 200, "{list}");
    let list = list.as_array().expect("list");
    assert_eq!(list.len(), 1, "{list:?}");
    assert_eq!(list[0]["code"], "invalid_body");
    assert_eq!(list[0]["seq"], 3);
    assert_eq!(list[0]["field"], "body.details.department");
    let (_, status) = app.get("/api/v1/exchange/status", &leader).await;
    assert_eq!(
        (
            status["rejections"].as_i64(),
            status["media_mismatches"].as_i64()
        ),
        (Some(1), Some(0)),
        "{status}"
    );
    assert!(status["last_rejection_at"].is_string(), "{status}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_daily_digest_covers_the_days_cases_as_of_its_seq() {
    use citygrid_platform::uplink::digest::publish_day;
    let app = TestApp::spawn().await;
    let supervisor = app.login("sc-sup1").await;
    let filed = app.filed_case().await;
    let reported = app.supervisor_report(&supervisor).await;
    let before = last_seq(&app);
    let zone = app.tenant.time_zone;
    let today = chrono::Utc::now().with_timezone(&zone).date_naive();
    let mut conn = app.pool.get().expect("conn");
    let digest = tokio::task::block_in_place(|| publish_day(&mut conn, "330102", zone, today))
        .expect("digest");
    let id = |case: &Value| uuid::Uuid::parse_str(case["id"].as_str().expect("id")).expect("uuid");
    assert_eq!(digest.cases, 2);
    assert_eq!(digest.up_to_seq, before as u64);
    assert_eq!(
        digest.sha256,
        v1::digest_hash(&[(id(&filed), 2), (id(&reported), 1)])
    );
    let (seq, kind): (i64, String) = outbox::table
        .order(outbox::seq.desc())
        .select((outbox::seq, outbox::kind))
        .first(&mut conn)
        .expect("outbox");
    assert_eq!((seq, kind.as_str()), (before + 1, "reconciliation_digest"));

    let yesterday = today.pred_opt().expect("a day before");
    let empty = tokio::task::block_in_place(|| publish_day(&mut conn, "330102", zone, yesterday))
        .expect("digest");
    assert_eq!((empty.cases, empty.sha256), (0, v1::digest_hash(&[])));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_district_sends_a_photos_bytes_again_on_request() {
    let broker = TestBroker::new().await;
    let app = with_exchange(&broker).await;
    let case = app.filed_case().await;
    read_intake(&broker, Duration::from_secs(20), reached(5)).await;
    let detail = app.detail(&case).await;
    let photo = detail["records"][0]["media"][0]
        .as_str()
        .expect("photo")
        .to_owned();
    let request = v1::MediaRequest {
        sha256: vec![photo.clone(), "0".repeat(64)],
    };
    command(
        &broker,
        v1::Kind::MediaRequest,
        "city-9",
        &city_message(9, request),
    )
    .await;
    let again = read_intake(&broker, Duration::from_secs(20), |r| !r.is_empty()).await;
    assert_eq!(again.len(), 1, "only the photo this district announced");
    assert_eq!(again[0].kind.as_deref(), Some("media_chunk"));
    assert_eq!(again[0].body["body"]["sha256"], photo.as_str());
    assert_eq!(again[0].body["seq"], 1, "under the seq of its manifest");
}

/// A city supervision order (市级督办) through the relay: taken into the case once however
/// often the broker delivers it, shown as the city's order, acknowledged by the case's
/// department, and the acknowledgement goes back to the city as `supervision_ack`. An
/// order on a case the district does not have is taken off the queue, not dead-lettered.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_city_order_is_taken_in_once_and_its_acknowledgement_goes_back() {
    let broker = TestBroker::new().await;
    let app = with_exchange(&broker).await;
    let case = app.dispatched_case("huanwei").await;
    let case_id: uuid::Uuid = case["id"].as_str().expect("id").parse().expect("uuid");
    let order = v1::SupervisionOrder {
        order_id: uuid::Uuid::new_v4(),
        case_id,
        level: v1::SupervisionLevel::Key,
        text: "超时24小时,限期处置(案件 1)".into(),
        due_at: chrono::Utc::now() + chrono::Duration::hours(48),
        issued_at: chrono::Utc::now(),
        issued_by: "杭州市数字城管监督指挥中心".into(),
    };
    let stranger = v1::SupervisionOrder {
        order_id: uuid::Uuid::new_v4(),
        case_id: uuid::Uuid::new_v4(),
        ..order.clone()
    };
    for (n, body) in [(1, &order), (1, &order), (2, &stranger)] {
        command(
            &broker,
            v1::Kind::SupervisionOrder,
            &format!("city-330102-{n}"),
            &city_message(n, body.clone()),
        )
        .await;
    }
    let mut detail = app.detail(&case).await;
    for _ in 0..100 {
        if detail["case"]["supervision_pending"] == true {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
        detail = app.detail(&case).await;
    }
    assert_eq!(detail["case"]["urgency"], "urgent", "{detail}");
    let orders = detail["supervision_orders"].as_array().expect("orders");
    assert_eq!(
        (
            orders[0]["id"].as_str(),
            orders[0]["origin"].as_str(),
            orders[0]["level"].as_str()
        ),
        (
            Some(order.order_id.to_string().as_str()),
            Some("city"),
            Some("key")
        )
    );
    let supervise: Vec<&Value> = detail["records"]
        .as_array()
        .expect("records")
        .iter()
        .filter(|r| r["action"] == "supervise")
        .collect();
    assert_eq!(supervise.len(), 1);
    assert!(
        supervise[0]["actor_id"].is_null(),
        "the city's, not a user's"
    );

    // The department acknowledges: the city hears of it.
    let hw = app.login("sc-hdl-huanwei").await;
    let acknowledged = app
        .ok_step(&hw, &detail["case"], "supervision/acknowledge", json!({}))
        .await;
    assert_eq!(acknowledged["supervision_pending"], false);
    let sent = read_intake(&broker, Duration::from_secs(20), |r| {
        r.iter()
            .any(|m| m.kind.as_deref() == Some("supervision_ack"))
    })
    .await;
    let ack = sent
        .iter()
        .find(|m| m.kind.as_deref() == Some("supervision_ack"))
        .expect("a supervision_ack");
    let ack: v1::SupervisionAck = serde_json::from_value(ack.body["body"].clone()).expect("ack");
    assert_eq!(
        (ack.order_id, ack.case_id, ack.department_code.as_str()),
        (order.order_id, case_id, "huanwei")
    );
    let dead = read_queue(&broker, amqp::DEAD_QUEUE, Duration::from_secs(2), |r| {
        !r.is_empty()
    })
    .await;
    assert!(dead.is_empty(), "nothing dead-lettered: {dead:?}");
    // By now the relay has long taken the redelivered copy: still one order, one record.
    let detail = app.detail(&case).await;
    let orders = detail["supervision_orders"].as_array().expect("orders");
    assert_eq!(orders.len(), 1, "taken in once: {orders:?}");
    let supervised = detail["records"]
        .as_array()
        .expect("records")
        .iter()
        .filter(|r| r["action"] == "supervise")
        .count();
    assert_eq!(supervised, 1);
}

/// 上级发现: a problem the city found, delivered twice, opens one case of source `city`
/// under the city's id; the district runs the whole loop on it and the city hears every
/// step, up to closed. A problem outside the district is dead-lettered, nothing written.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_city_problem_opens_one_case_that_runs_the_loop_and_returns_closed() {
    let broker = TestBroker::new().await;
    let app = with_exchange(&broker).await;
    let photo = citygrid_test_support::png("city-found");
    let problem = v1::CityProblem {
        case_id: uuid::Uuid::new_v4(),
        category: v1::Category {
            kind: v1::CategoryKind::Event,
            major: "01".into(),
            minor: "02".into(),
            edition: Some(v1::Edition::Gbt30428),
        },
        urgency: v1::Urgency::Normal,
        description: "市级巡查发现: 路边堆放垃圾".into(),
        address: None,
        location: v1::Point {
            lon: crate::helpers::LON,
            lat: crate::helpers::LAT,
        },
        photos: vec![v1::InlinePhoto::new(&photo, "image/png")],
        reported_at: chrono::Utc::now(),
        reported_by: "杭州市城市管理指挥中心 (city-sup-1)".into(),
        referred_from: None,
    };
    let elsewhere = v1::CityProblem {
        case_id: uuid::Uuid::new_v4(),
        location: v1::Point {
            lon: 121.5,
            lat: 31.2,
        },
        ..problem.clone()
    };
    for (n, body) in [(1, &problem), (1, &problem), (2, &elsewhere)] {
        command(
            &broker,
            v1::Kind::CityProblem,
            &format!("city-330102-{n}"),
            &city_message(n, body.clone()),
        )
        .await;
    }
    let case = json!({ "id": problem.case_id.to_string() });
    let lead = app.login("sc-lead1").await;
    let path = format!("/api/v1/cases/{}", problem.case_id);
    let mut found = (0, Value::Null);
    for _ in 0..100 {
        found = app.get(&path, &lead).await;
        if found.0 == 200 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let (status, detail) = found;
    assert_eq!(
        status, 200,
        "the case is open under the city's id: {detail}"
    );
    assert_eq!(
        (
            detail["case"]["source"].as_str(),
            detail["case"]["state"].as_str(),
            detail["case"]["reporter_id"].as_str()
        ),
        (Some("city"), Some("reported"), None),
        "{detail}"
    );
    let dead = read_queue(&broker, amqp::DEAD_QUEUE, Duration::from_secs(20), |r| {
        !r.is_empty()
    })
    .await;
    assert_eq!(dead.len(), 1, "the problem outside the district: {dead:?}");
    let (status, _) = app
        .get(&format!("/api/v1/cases/{}", elsewhere.case_id), &lead)
        .await;
    assert_eq!(status, 404, "nothing opened for it");

    // The whole loop, like a supervisor's report: filed without verification, closed
    // without a call-back.
    let (op, disp, hw, sup) = (
        app.login("sc-op1").await,
        app.login("sc-disp1").await,
        app.login("sc-hdl-huanwei").await,
        app.login("sc-sup1").await,
    );
    let case = app.detail(&case).await["case"].clone();
    let case = app
        .ok_step(
            &op,
            &case,
            "file",
            json!({ "category": crate::helpers::rubbish() }),
        )
        .await;
    let case = app
        .ok_step(&disp, &case, "dispatch", json!({ "department": "huanwei" }))
        .await;
    let handled_photo = app.photo(&hw).await;
    let case = app
        .ok_step(&hw, &case, "handle", json!({ "media": [handled_photo] }))
        .await;
    let case = app
        .ok_step(&sup, &case, "check", json!({ "passed": true }))
        .await;
    let case = app.ok_step(&op, &case, "close", json!({})).await;
    assert_eq!(case["state"], "closed");

    let sent = read_intake(&broker, Duration::from_secs(20), |r| {
        r.iter().any(|m| {
            m.kind.as_deref() == Some("case_snapshot") && m.body["body"]["state"] == "closed"
        })
    })
    .await;
    let snapshots: Vec<&Value> = sent
        .iter()
        .filter(|m| m.kind.as_deref() == Some("case_snapshot"))
        .map(|m| &m.body["body"])
        .collect();
    assert!(
        snapshots
            .iter()
            .all(|s| s["case_id"] == problem.case_id.to_string() && s["source"] == "city"),
        "every snapshot is the city's case, of source city: {snapshots:?}"
    );
    let states: Vec<&str> = snapshots
        .iter()
        .filter_map(|s| s["state"].as_str())
        .collect();
    assert_eq!(
        states,
        [
            "reported",
            "filed",
            "dispatched",
            "handled",
            "checked",
            "closed"
        ],
        "one snapshot per step, the redelivery none"
    );
    assert!(
        sent.iter()
            .any(|m| m.kind.as_deref() == Some("media_manifest")
                && m.body["body"]["sha256"] == v1::sha256_hex(&photo)),
        "the city's photo goes back with the case"
    );
}

/// Polls the case (as the district leader) until `done` holds; the last detail.
async fn wait_for_case(app: &TestApp, case: &Value, done: impl Fn(&Value) -> bool) -> Value {
    let mut detail = Value::Null;
    for _ in 0..100 {
        detail = app.detail(case).await;
        if done(&detail) {
            return detail;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("the case never got there: {detail}");
}

/// The id of the case's newest record of `action`.
fn newest_record(detail: &Value, action: &str) -> u64 {
    detail["records"]
        .as_array()
        .expect("records")
        .iter()
        .filter(|r| r["action"] == action)
        .filter_map(|r| r["id"].as_u64())
        .max()
        .unwrap_or_else(|| panic!("no {action} record: {detail}"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_referred_case_waits_for_the_city_which_returns_or_reassigns_it() {
    let broker = TestBroker::new().await;
    let app = with_exchange(&broker).await;
    let case = app.filed_case().await;
    let (op, disp, shift, lead) = (
        app.login("sc-op1").await,
        app.login("sc-disp1").await,
        app.login("sc-shift1").await,
        app.login("sc-lead1").await,
    );

    // Only the shift leader refers a case, with a reason, before it is dispatched.
    let reason = json!({ "reason": "井盖位于两区交界, 请市级协调" });
    let (status, body) = app.step(&op, &case, "refer", reason.clone()).await;
    assert_eq!(
        (status, body["error"]["code"].as_str()),
        (403, Some("wrong_role"))
    );
    let (status, body) = app.step(&shift, &case, "refer", json!({})).await;
    assert_eq!(
        (status, body["error"]["field"].as_str()),
        (422, Some("reason"))
    );
    let case = app.ok_step(&shift, &case, "refer", reason.clone()).await;
    assert_eq!(case["pending_request"], "referral");

    // Meanwhile the district does not move it; a leader may still supervise it.
    for (token, action, body) in [
        (&disp, "dispatch", json!({ "department": "huanwei" })),
        (&shift, "refer", reason.clone()),
        (&op, "cancellation/request", json!({ "reason": "重复" })),
    ] {
        let (status, answer) = app.step(token, &case, action, body).await;
        assert_eq!(
            (status, answer["error"]["code"].as_str()),
            (409, Some("referred_to_city")),
            "{action}: {answer}"
        );
    }
    let due = (chrono::Utc::now() + chrono::Duration::hours(4)).to_rfc3339();
    let case = app
        .ok_step(
            &lead,
            &case,
            "supervise",
            json!({ "level": "general", "text": "尽快协调", "due_at": due }),
        )
        .await;

    // The `refer` record reaches the city, with the reason.
    let detail = app.detail(&case).await;
    let referral = newest_record(&detail, "refer");
    let sent = read_intake(&broker, Duration::from_secs(20), |r| {
        r.iter().any(|m| m.body["body"]["action"] == "refer")
    })
    .await;
    let refer = sent
        .iter()
        .find(|m| m.body["body"]["action"] == "refer")
        .expect("the refer record");
    assert_eq!(refer.body["body"]["record_id"].as_u64(), Some(referral));
    assert_eq!(refer.body["body"]["comment"], reason["reason"]);

    // The city's decisions: one naming another record and a reassignment naming no case
    // change nothing (the latter is dead-lettered); the return applies once however
    // often it is delivered.
    let case_id: uuid::Uuid = case["id"].as_str().expect("id").parse().expect("uuid");
    let decision = |record_id: u64, outcome, reassigned_to| v1::ReferralDecision {
        case_id,
        record_id,
        outcome,
        reassigned_to,
        reason: "属本区管辖, 退回".into(),
        decided_at: chrono::Utc::now(),
        decided_by: "杭州市城市管理指挥中心 (hz-clead1)".into(),
    };
    let returned = decision(referral, v1::ReferralOutcome::Returned, None);
    for (n, body) in [
        (
            1,
            decision(referral + 100, v1::ReferralOutcome::Returned, None),
        ),
        (2, decision(referral, v1::ReferralOutcome::Reassigned, None)),
        (3, returned.clone()),
        (3, returned.clone()),
    ] {
        let id = format!("city-330102-{n}");
        command(
            &broker,
            v1::Kind::ReferralDecision,
            &id,
            &city_message(n, body),
        )
        .await;
    }
    let detail = wait_for_case(&app, &case, |d| d["case"]["pending_request"].is_null()).await;
    let dead = read_queue(&broker, amqp::DEAD_QUEUE, Duration::from_secs(20), |r| {
        !r.is_empty()
    })
    .await;
    assert_eq!(dead.len(), 1, "the reassignment without a case: {dead:?}");
    let returns: Vec<&Value> = detail["records"]
        .as_array()
        .expect("records")
        .iter()
        .filter(|r| r["action"] == "return_referral")
        .collect();
    assert_eq!(returns.len(), 1, "applied once: {detail}");
    assert_eq!(
        (
            returns[0]["actor_role"].as_str(),
            returns[0]["actor_id"].is_null(),
            returns[0]["details"]["referral"].as_u64(),
            detail["case"]["state"].as_str()
        ),
        (Some("leader"), true, Some(referral), Some("filed"))
    );
    assert!(
        returns[0]["comment"]
            .as_str()
            .is_some_and(|c| c.contains("属本区管辖")),
        "{detail}"
    );

    // Referred again, and reassigned: the case is cancelled here, naming the new one.
    let case = app.ok_step(&shift, &detail["case"], "refer", reason).await;
    let again = newest_record(&app.detail(&case).await, "refer");
    assert!(again > referral);
    let new_case = v1::CaseRef {
        district: "330105".into(),
        case_id: uuid::Uuid::new_v4(),
    };
    let reassigned = decision(
        again,
        v1::ReferralOutcome::Reassigned,
        Some(new_case.clone()),
    );
    command(
        &broker,
        v1::Kind::ReferralDecision,
        "city-330102-4",
        &city_message(4, reassigned),
    )
    .await;
    let detail = wait_for_case(&app, &case, |d| d["case"]["state"] == "cancelled").await;
    let cancel = detail["records"]
        .as_array()
        .expect("records")
        .iter()
        .find(|r| r["action"] == "cancel")
        .expect("a cancel record");
    assert_eq!(
        cancel["details"]["reassigned_to"],
        serde_json::to_value(&new_case).expect("json")
    );
    assert!(detail["case"]["pending_request"].is_null());
    assert!(
        detail["case"]["stage_deadline"].is_null(),
        "the clock stopped"
    );
}

/// The city's monthly report notice (v1.7): kept once however often it is delivered, a
/// tampered one dead-lettered, and read in this instance by the command centre only.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_citys_monthly_report_is_kept_once_and_read_by_the_command_centre() {
    let broker = TestBroker::new().await;
    let app = with_exchange(&broker).await;
    let page = "<!DOCTYPE html><title>上城区分册</title>".as_bytes();
    let notice = v1::ReportNotice {
        month: "2026-10".into(),
        published_at: chrono::Utc::now(),
        rank: Some(1),
        ranked: 2,
        composite: Some(9_245),
        grade: Some("A".into()),
        complete: true,
        files: vec![v1::ReportFile::new(
            "report.html",
            "text/html; charset=utf-8",
            page,
        )],
        omitted: vec!["report.pdf".into()],
    };
    // A September notice whose page is not what its hash says.
    let mut tampered = notice.clone();
    tampered.month = "2026-09".into();
    tampered.files[0].sha256 = v1::sha256_hex(b"something else");
    let mut again = notice.clone();
    again.rank = Some(2);
    for (n, body) in [(1, tampered), (2, notice.clone()), (2, again)] {
        command(
            &broker,
            v1::Kind::ReportNotice,
            &format!("city-330102-{n}"),
            &city_message(n, body),
        )
        .await;
    }
    let dead = read_queue(&broker, amqp::DEAD_QUEUE, Duration::from_secs(20), |r| {
        !r.is_empty()
    })
    .await;
    assert_eq!(dead.len(), 1, "the tampered notice: {dead:?}");

    let lead = app.login("sc-lead1").await;
    let list = |token: String| {
        let app = &app;
        async move {
            let response = app
                .http
                .get(format!("{}/api/v1/city-reports", app.base))
                .bearer_auth(token)
                .send()
                .await
                .expect("list");
            let status = response.status().as_u16();
            (status, response.json::<Value>().await.expect("JSON"))
        }
    };
    let mut listed = Value::Null;
    for _ in 0..100 {
        let (status, body) = list(lead.clone()).await;
        assert_eq!(status, 200, "{body}");
        if body["items"].as_array().is_some_and(|i| !i.is_empty()) {
            listed = body;
            break;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let items = listed["items"]
        .as_array()
        .expect("the October report arrived");
    assert_eq!(items.len(), 1, "September was refused: {listed}");
    assert_eq!(
        (
            items[0]["month"].as_str(),
            items[0]["rank"].as_i64(),
            items[0]["composite"].as_i64(),
            items[0]["grade"].as_str()
        ),
        (Some("2026-10"), Some(1), Some(9_245), Some("A")),
        "the first notice of a month is the one kept: {listed}"
    );
    assert_eq!(items[0]["omitted"], json!(["report.pdf"]));
    assert_eq!(
        items[0]["files"][0]["size_bytes"].as_u64(),
        Some(page.len() as u64)
    );

    let download = |token: String, file: &'static str| {
        let app = &app;
        async move {
            let response = app
                .http
                .get(format!("{}/api/v1/city-reports/2026-10/{file}", app.base))
                .bearer_auth(token)
                .send()
                .await
                .expect("download");
            let status = response.status().as_u16();
            (status, response.bytes().await.expect("body").to_vec())
        }
    };
    let (status, body) = download(lead.clone(), "report.html").await;
    assert_eq!((status, body.as_slice()), (200, page));
    let (status, _) = download(lead, "report.pdf").await;
    assert_eq!(status, 404, "the PDF stayed at the city");
    let supervisor = app.login("sc-sup1").await;
    let (status, body) = download(supervisor.clone(), "report.html").await;
    let error: Value = serde_json::from_slice(&body).expect("JSON");
    assert_eq!(
        (status, &error["error"]["code"]),
        (403, &json!("wrong_role"))
    );
    let (status, _) = list(supervisor).await;
    assert_eq!(status, 403);
}
