//! `TestCity`: the city intake and API on a warehouse database of the test's own, fed by
//! district messages published as the districts' broker users (as a district relay or
//! another vendor's system would).

use std::path::Path;
use std::time::Duration;

use crate::broker::{TestBroker, read_queue};
use chrono::{DateTime, Utc};
use citygrid_exchange::config::City;
use citygrid_exchange::schema::districts;
use citygrid_schemas::{self as v1, Action, CaseState, Stage, StageOutcome, amqp};
use citygrid_test_support::pg::TestDatabase;
use diesel::prelude::*;
use serde_json::json;

/// A running intake on its own warehouse database, for the test broker's districts.
pub struct TestCity {
    pub pool: citygrid_kit::db::DbPool,
    /// The city API, e.g. `http://127.0.0.1:41234`.
    pub base: String,
    task: tokio::task::JoinHandle<()>,
    server: actix_web::dev::ServerHandle,
    /// Dropped last: the intake and server stop before their database goes.
    _warehouse: TestDatabase,
}

impl TestCity {
    pub async fn start(broker: &TestBroker) -> TestCity {
        Self::start_with(broker, |_| {}).await
    }

    /// Starts the city after `adjust` changed its loaded configuration.
    pub async fn start_with(broker: &TestBroker, adjust: impl FnOnce(&mut City)) -> TestCity {
        let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../tenants/hangzhou/city.toml");
        let mut city = City::load(&path).expect("sample city");
        let warehouse = tokio::task::block_in_place(|| TestDatabase::new("citygrid_xt"));
        city.file.warehouse.url = warehouse.url.clone().into();
        city.file.broker.vhost = broker.vhost.clone();
        city.file.broker.city_user = broker.city.user.clone();
        city.file.broker.city_password = broker.city.password.clone();
        city.file.intake.gap_seconds = 1;
        city.file.intake.media_requests = 2;
        // The test broker provisions 330102 and 330105 under users of its own.
        city.registry.retain(|d| d.code != "330106");
        for (code, account) in &broker.districts {
            let district = city.registry.get_mut(code).expect("a registered district");
            district.broker_user = account.user.clone();
        }
        adjust(&mut city);
        let pool = citygrid_kit::db::pool(&city.file.warehouse).expect("pool");
        let prepared = pool.clone();
        let city = tokio::task::spawn_blocking(move || {
            citygrid_exchange::prepare(&prepared, &city).expect("prepare");
            city
        })
        .await
        .expect("prepare task");
        let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
        let base = format!("http://{}", listener.local_addr().expect("addr"));
        let server = citygrid_exchange::api::server(pool.clone(), &city, listener).expect("server");
        let handle = server.handle();
        tokio::spawn(server);
        let task = tokio::spawn(citygrid_exchange::intake(pool.clone(), &city).run());
        TestCity {
            pool,
            base,
            task,
            server: handle,
            _warehouse: warehouse,
        }
    }

    pub fn cursor(&self, district: &str) -> i64 {
        let mut conn = self.pool.get().expect("conn");
        districts::table
            .find(district)
            .select(districts::cursor)
            .first(&mut conn)
            .expect("district")
    }

    pub async fn wait_for_cursor(&self, district: &str, seq: i64) {
        let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
        while self.cursor(district) < seq {
            assert!(
                tokio::time::Instant::now() < deadline,
                "cursor of {district} stuck at {}",
                self.cursor(district)
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }
}

impl Drop for TestCity {
    fn drop(&mut self) {
        self.task.abort();
        drop(self.server.stop(false));
    }
}

/// Publishes a v1 message of district 330102 the way its relay does.
pub async fn send<B: v1::Body>(broker: &TestBroker, seq: u64, body: B) -> Vec<u8> {
    send_as(broker, "330102", seq, body).await
}

/// Publishes a v1 message of `district` the way its relay does.
pub async fn send_as<B: v1::Body>(
    broker: &TestBroker,
    district: &str,
    seq: u64,
    body: B,
) -> Vec<u8> {
    let payload =
        serde_json::to_vec(&v1::Envelope::new(district, seq, Utc::now(), body)).expect("JSON");
    let user = broker.account(district).user.clone();
    broker
        .publish_as(
            district,
            &amqp::district_key(district, B::KIND),
            &v1::message_id(district, seq),
            Some(&user),
            &payload,
        )
        .await;
    payload
}

pub fn snapshot(version: u32, state: v1::CaseState) -> v1::CaseSnapshot {
    let mut s = v1::json::example_snapshot();
    s.version = version;
    s.state = state;
    if state == v1::CaseState::Reported {
        s.category = None;
        s.department_code = None;
    }
    s
}

/// District `district`'s messages, numbered from 1 as its relay numbers them.
pub struct Stream<'a> {
    pub broker: &'a TestBroker,
    pub district: &'static str,
    pub seq: u64,
}

impl Stream<'_> {
    pub async fn send<B: v1::Body>(&mut self, body: B) {
        self.seq += 1;
        send_as(self.broker, self.district, self.seq, body).await;
    }
}

/// The same case handled at `at` (version + 1), and the `handle` record that ended its
/// handling stage.
pub fn handled(
    before: &v1::CaseSnapshot,
    record_id: i64,
    at: DateTime<Utc>,
) -> (v1::CaseSnapshot, v1::BusinessRecord) {
    let stage = before.current_stage.clone().expect("a running stage");
    let mut s = before.clone();
    (s.version, s.state, s.updated_at, s.current_stage) =
        (before.version + 1, CaseState::Handled, at, None);
    s.milestones.handled_at = Some(at);
    let mut r = record(record_id, s.version);
    (r.case_id, r.action, r.at, r.details) = (s.case_id, Action::Handle, at, json!({}));
    (r.from_state, r.to_state, r.actor_role) = (
        Some(CaseState::Dispatched),
        CaseState::Handled,
        v1::Role::Handler,
    );
    let deadline = stage.deadline.expect("a deadline");
    r.stage_ended = Some(StageOutcome {
        stage: Stage::Handling,
        clock: stage.clock,
        started_at: stage.started_at,
        deadline,
        ended_at: at,
        on_time: at <= deadline,
        working_minutes: None,
    });
    (s, r)
}

/// A case dispatched at `dispatched` with its handling due at `due`, as a snapshot.
pub fn dispatched(
    district: &str,
    n: u128,
    version: u32,
    dispatched: chrono::DateTime<Utc>,
    due: chrono::DateTime<Utc>,
) -> v1::CaseSnapshot {
    let mut s = snapshot(version, v1::CaseState::Dispatched);
    s.case_id = uuid::Uuid::from_u128(n);
    (s.created_at, s.updated_at) = (dispatched - chrono::Duration::hours(1), dispatched);
    s.milestones = v1::Milestones {
        reported_at: Some(s.created_at),
        filed_at: Some(dispatched),
        dispatched_at: Some(dispatched),
        ..Default::default()
    };
    if district != "330102" {
        (s.street_code, s.community_code, s.cell_code) =
            (Some(format!("{district}001")), None, None);
    }
    s.current_stage = Some(v1::StageClock {
        stage: v1::Stage::Handling,
        clock: v1::Clock::Natural,
        started_at: dispatched,
        limit_minutes: (due - dispatched).num_minutes() as u32,
        yellow_at: None,
        deadline: Some(due),
    });
    s
}

/// The city's commands of `B`'s kind on `district`'s command queue, read once one has
/// arrived (at most 20 s); other kinds read meanwhile are dropped.
pub async fn commands<B: v1::Body>(broker: &TestBroker, district: &str) -> Vec<B> {
    let kind = Some(B::KIND.as_str());
    let queue = amqp::command_queue(district);
    let received = read_queue(broker, &queue, Duration::from_secs(20), |r| {
        r.iter().any(|m| m.kind.as_deref() == kind)
    })
    .await;
    received
        .iter()
        .filter(|m| m.kind.as_deref() == kind)
        .map(|m| serde_json::from_value(m.body["body"].clone()).expect("a command of its kind"))
        .collect()
}

pub fn record(record_id: i64, version: u32) -> v1::BusinessRecord {
    v1::BusinessRecord {
        record_id,
        case_id: v1::json::example_snapshot().case_id,
        case_version: version,
        action: v1::Action::Report,
        from_state: None,
        to_state: v1::CaseState::Reported,
        actor_id: None,
        actor_role: v1::Role::Supervisor,
        comment: None,
        media: vec![],
        details: json!({ "source": "supervisor" }),
        stage_ended: None,
        at: Utc::now(),
    }
}

impl TestCity {
    /// GETs a city API path as the sample city leader; the status and the JSON body.
    pub async fn get(&self, path: &str) -> (u16, serde_json::Value) {
        self.get_as("hz-clead1", path).await
    }

    /// GETs a city API path as a sample user of the city file.
    pub async fn get_as(&self, username: &str, path: &str) -> (u16, serde_json::Value) {
        let request = reqwest::Client::new().get(format!("{}{path}", self.base));
        self.send_as(username, request).await
    }

    /// POSTs a JSON body to a city API path as a sample user of the city file.
    pub async fn post_as(
        &self,
        username: &str,
        path: &str,
        body: serde_json::Value,
    ) -> (u16, serde_json::Value) {
        let request = reqwest::Client::new()
            .post(format!("{}{path}", self.base))
            .json(&body);
        self.send_as(username, request).await
    }

    /// A fresh token of a sample user of the city file.
    pub async fn token(&self, username: &str) -> String {
        let token: serde_json::Value = reqwest::Client::new()
            .post(format!("{}/api/v1/auth/token", self.base))
            .json(&json!({ "username": username, "password": "demo-pass-1" }))
            .send()
            .await
            .expect("sign in")
            .json()
            .await
            .expect("JSON");
        token["token"].as_str().expect("token").to_owned()
    }

    /// Sends `request` with a fresh token of a sample user of the city file.
    pub async fn send_as(
        &self,
        username: &str,
        request: reqwest::RequestBuilder,
    ) -> (u16, serde_json::Value) {
        let response = request
            .bearer_auth(self.token(username).await)
            .send()
            .await
            .expect("request");
        let status = response.status().as_u16();
        (status, response.json().await.unwrap_or_default())
    }
}
