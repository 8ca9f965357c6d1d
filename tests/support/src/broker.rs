//! `TestBroker`: a RabbitMQ vhost of its own per test, provisioned like the real one
//! (users, permissions, topology) under unique names, and removed afterwards.

use std::time::Duration;

use citygrid_kit::broker::{self, Account, Admin};
use citygrid_schemas::amqp;
use futures::StreamExt;
use lapin::options::{
    BasicAckOptions, BasicConsumeOptions, BasicPublishOptions, ConfirmSelectOptions,
};
use lapin::types::{FieldTable, ShortString};
use lapin::{Connection, ConnectionProperties};
use secrecy::ExposeSecret;
use serde_json::Value;

/// The AMQP `host:port` tests use; `CITYGRID_TEST_AMQP` overrides it.
pub fn amqp_host() -> String {
    std::env::var("CITYGRID_TEST_AMQP").unwrap_or_else(|_| "127.0.0.1:5672".to_owned())
}

/// The management API as the broker's administrator.
pub fn admin() -> Admin {
    let base = std::env::var("CITYGRID_TEST_RABBIT_MANAGEMENT")
        .unwrap_or_else(|_| "http://127.0.0.1:15672".to_owned());
    Admin::new(&base, "guest", "guest")
}

pub struct TestBroker {
    pub vhost: String,
    pub city: Account,
    pub districts: Vec<(String, Account)>,
    pub admin: Admin,
}

impl TestBroker {
    /// Provisions users and permissions for the city and districts 330102 and 330105.
    pub async fn new() -> TestBroker {
        let broker = Self::unprovisioned();
        broker.provision().await;
        broker
    }

    /// Names chosen, nothing created yet (a broker the district cannot sign in to).
    pub fn unprovisioned() -> TestBroker {
        let id = uuid::Uuid::new_v4().simple().to_string();
        let prefix = format!("cgt-{}", &id[..12]);
        let account = |who: &str| Account::new(format!("{prefix}-{who}"), format!("pw-{id}-{who}"));
        TestBroker {
            vhost: prefix.clone(),
            city: account("city"),
            districts: vec![
                ("330102".into(), account("330102")),
                ("330105".into(), account("330105")),
            ],
            admin: admin(),
        }
    }

    pub async fn provision(&self) {
        broker::provision(&self.admin, &self.vhost, &self.city, &self.districts)
            .await
            .expect("provision the test vhost (is the management plugin on? run ops/up)");
        let city = self.connect(&self.city).await;
        let channel = city.create_channel().await.expect("channel");
        let codes: Vec<String> = self.districts.iter().map(|(c, _)| c.clone()).collect();
        broker::declare(&channel, &codes).await.expect("declare");
        let _ = city.close(200, "declared".into()).await;
    }

    pub fn account(&self, code: &str) -> &Account {
        &self
            .districts
            .iter()
            .find(|(c, _)| c == code)
            .expect("a test district")
            .1
    }

    pub async fn connect(&self, account: &Account) -> Connection {
        Connection::connect(
            broker::amqp_uri(&amqp_host(), account, &self.vhost).expose_secret(),
            ConnectionProperties::default(),
        )
        .await
        .expect("AMQP connection")
    }

    /// Publishes raw bytes to the districts exchange as district `as_district`'s broker
    /// user, with the standard's properties except that `user_id` is what the caller says
    /// (`None` leaves it out), as a broken or hostile district system might. Waits for
    /// the broker's confirm and asserts it is an ack.
    pub async fn publish_as(
        &self,
        as_district: &str,
        key: &str,
        message_id: &str,
        user_id: Option<&str>,
        payload: &[u8],
    ) {
        publish_raw(
            &self.connect(self.account(as_district)).await,
            key,
            message_id,
            user_id,
            payload,
        )
        .await;
    }
}

/// Publishes on `connection` to the districts exchange (see [`TestBroker::publish_as`]),
/// then closes it.
pub async fn publish_raw(
    connection: &Connection,
    key: &str,
    message_id: &str,
    user_id: Option<&str>,
    payload: &[u8],
) {
    let channel = connection.create_channel().await.expect("channel");
    channel
        .confirm_select(ConfirmSelectOptions::default())
        .await
        .expect("confirms");
    let kind = key.rsplit('.').next().unwrap_or_default();
    let mut props = lapin::BasicProperties::default()
        .with_delivery_mode(amqp::PERSISTENT)
        .with_content_type(ShortString::from(amqp::CONTENT_TYPE))
        .with_message_id(ShortString::from(message_id))
        .with_type(ShortString::from(kind));
    if let Some(user) = user_id {
        props = props.with_user_id(ShortString::from(user));
    }
    let confirm = channel
        .basic_publish(
            amqp::DISTRICTS_EXCHANGE.into(),
            key.into(),
            BasicPublishOptions::default(),
            payload,
            props,
        )
        .await
        .expect("publish")
        .await
        .expect("confirm");
    assert!(confirm.is_ack(), "{confirm:?}");
    let _ = connection.close(200, "sent".into()).await;
}

impl Drop for TestBroker {
    fn drop(&mut self) {
        let admin = self.admin.clone();
        let vhost = self.vhost.clone();
        let mut users = vec![self.city.user.clone()];
        users.extend(self.districts.iter().map(|(_, a)| a.user.clone()));
        std::thread::spawn(move || {
            let Ok(runtime) = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
            else {
                return;
            };
            runtime.block_on(async {
                let _ = admin.delete_vhost(&vhost).await;
                for user in users {
                    let _ = admin.delete_user(&user).await;
                }
            });
        })
        .join()
        .ok();
    }
}

/// One message as the city's intake received it.
#[derive(Debug, Clone)]
pub struct Received {
    pub message_id: Option<String>,
    pub kind: Option<String>,
    pub user_id: Option<String>,
    pub routing_key: String,
    pub raw: Vec<u8>,
    pub body: Value,
}

/// Reads the city's intake queue (acknowledging each message) until `done` says the
/// messages so far are enough, or `timeout` passes; returns what arrived.
pub async fn read_intake(
    broker: &TestBroker,
    timeout: Duration,
    done: impl Fn(&[Received]) -> bool,
) -> Vec<Received> {
    read_queue(broker, amqp::INTAKE_QUEUE, timeout, done).await
}

/// Reads a queue as the city.
pub async fn read_queue(
    broker: &TestBroker,
    queue: &str,
    timeout: Duration,
    done: impl Fn(&[Received]) -> bool,
) -> Vec<Received> {
    read_queue_as(broker, &broker.city, queue, timeout, done).await
}

/// Reads a queue as `account`, acknowledging each message, until `done` or `timeout`.
pub async fn read_queue_as(
    broker: &TestBroker,
    account: &Account,
    queue: &str,
    timeout: Duration,
    done: impl Fn(&[Received]) -> bool,
) -> Vec<Received> {
    let connection = broker.connect(account).await;
    let channel = connection.create_channel().await.expect("channel");
    let mut consumer = channel
        .basic_consume(
            queue.into(),
            "test-reader".into(),
            BasicConsumeOptions::default(),
            FieldTable::default(),
        )
        .await
        .expect("consume");
    let mut received = Vec::new();
    let deadline = tokio::time::Instant::now() + timeout;
    while !done(&received) {
        let next = tokio::time::timeout_at(deadline, consumer.next()).await;
        let Ok(Some(Ok(delivery))) = next else {
            break;
        };
        let p = &delivery.properties;
        received.push(Received {
            message_id: p.message_id().as_ref().map(|s| s.to_string()),
            kind: p.kind().as_ref().map(|s| s.to_string()),
            user_id: p.user_id().as_ref().map(|s| s.to_string()),
            routing_key: delivery.routing_key.to_string(),
            body: serde_json::from_slice(&delivery.data).unwrap_or(Value::Null),
            raw: delivery.data.clone(),
        });
        delivery.ack(BasicAckOptions::default()).await.expect("ack");
    }
    let _ = connection.close(200, "done".into()).await;
    received
}
