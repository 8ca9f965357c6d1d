//! The AMQP 0-9-1 topology of the interchange (see `schemas/AMQP.md`): names, message
//! properties, the broker users' permissions, and the code that creates them.
//!
//! Two topic exchanges keep the directions apart: districts publish on
//! [`DISTRICTS_EXCHANGE`] with `district.<code>.<kind>`, the city publishes commands on
//! [`CITY_EXCHANGE`] with `city.<code>.<kind>`. Every queue is a durable quorum queue, so
//! the same topology runs on one node or a cluster, and dead-letters into
//! [`DEAD_EXCHANGE`].

use lapin::options::{ExchangeDeclareOptions, QueueBindOptions, QueueDeclareOptions};
use lapin::types::{AMQPValue, FieldTable, ShortString};
use lapin::{BasicProperties, Channel, ExchangeKind};
use serde_json::json;

use crate::Kind;

/// District → city messages.
pub const DISTRICTS_EXCHANGE: &str = "citygrid.districts";
/// City → district commands (sync requests, supervision orders, rejections).
pub const CITY_EXCHANGE: &str = "citygrid.city";
/// Where refused and expired messages go (fanout).
pub const DEAD_EXCHANGE: &str = "citygrid.dead";
/// The city's intake: every district's messages, in each district's publishing order.
pub const INTAKE_QUEUE: &str = "city.intake";
/// Dead letters, kept for people to look at.
pub const DEAD_QUEUE: &str = "city.dead";

/// `district.<code>.<kind>`: the routing key of a district's message.
pub fn district_key(district: &str, kind: Kind) -> String {
    format!("district.{district}.{}", kind.as_str())
}

/// `city.<code>.<kind>`: the routing key of a command to a district.
pub fn city_key(district: &str, kind: Kind) -> String {
    format!("city.{district}.{}", kind.as_str())
}

/// The queue a district reads its commands from.
pub fn command_queue(district: &str) -> String {
    format!("district.{district}.commands")
}

/// The properties every interchange message carries: persistent, JSON, the idempotency
/// key as `message_id`, the kind as `type`, and the sender's broker user as `user_id`
/// (the broker refuses a `user_id` that is not the connection's login, so the receiver
/// can trust it).
pub fn properties(message_id: &str, kind: Kind, broker_user: &str) -> BasicProperties {
    BasicProperties::default()
        .with_delivery_mode(2)
        .with_content_type(ShortString::from("application/json"))
        .with_message_id(ShortString::from(message_id))
        .with_type(ShortString::from(kind.as_str()))
        .with_user_id(ShortString::from(broker_user))
}

fn quorum_queue_args() -> FieldTable {
    let mut args = FieldTable::default();
    args.insert(
        "x-queue-type".into(),
        AMQPValue::LongString("quorum".into()),
    );
    args.insert(
        "x-dead-letter-exchange".into(),
        AMQPValue::LongString(DEAD_EXCHANGE.into()),
    );
    args
}

/// Declares the exchanges, queues and bindings for these districts. Idempotent; run by
/// the city's user (which has the configure permission) at provisioning and start-up.
pub async fn declare(channel: &Channel, districts: &[String]) -> Result<(), lapin::Error> {
    let durable = ExchangeDeclareOptions {
        durable: true,
        ..ExchangeDeclareOptions::default()
    };
    for (name, kind) in [
        (DISTRICTS_EXCHANGE, ExchangeKind::Topic),
        (CITY_EXCHANGE, ExchangeKind::Topic),
        (DEAD_EXCHANGE, ExchangeKind::Fanout),
    ] {
        channel
            .exchange_declare(name.into(), kind, durable, FieldTable::default())
            .await?;
    }
    let queue = QueueDeclareOptions {
        durable: true,
        ..QueueDeclareOptions::default()
    };
    let mut dead_args = FieldTable::default();
    dead_args.insert(
        "x-queue-type".into(),
        AMQPValue::LongString("quorum".into()),
    );
    channel
        .queue_declare(DEAD_QUEUE.into(), queue, dead_args)
        .await?;
    bind(channel, DEAD_QUEUE, DEAD_EXCHANGE, "").await?;
    channel
        .queue_declare(INTAKE_QUEUE.into(), queue, quorum_queue_args())
        .await?;
    bind(channel, INTAKE_QUEUE, DISTRICTS_EXCHANGE, "district.*.*").await?;
    for district in districts {
        let commands = command_queue(district);
        channel
            .queue_declare(commands.as_str().into(), queue, quorum_queue_args())
            .await?;
        bind(
            channel,
            &commands,
            CITY_EXCHANGE,
            &format!("city.{district}.*"),
        )
        .await?;
    }
    Ok(())
}

async fn bind(
    channel: &Channel,
    queue: &str,
    exchange: &str,
    key: &str,
) -> Result<(), lapin::Error> {
    channel
        .queue_bind(
            queue.into(),
            exchange.into(),
            key.into(),
            QueueBindOptions::default(),
            FieldTable::default(),
        )
        .await
}

/// A broker user's permissions in the vhost: regular expressions over exchange and
/// queue names, plus the topic permission on one exchange (routing keys).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Permissions {
    pub configure: String,
    pub write: String,
    pub read: String,
    /// (exchange, write key pattern, read key pattern)
    pub topic: (String, String, String),
}

/// District `code` may publish only to the districts exchange, only with
/// `district.<code>.` keys, and read only its own command queue; it declares nothing.
pub fn district_permissions(code: &str) -> Permissions {
    Permissions {
        configure: "^$".into(),
        write: format!("^{}$", regex_escape(DISTRICTS_EXCHANGE)),
        read: format!("^{}$", regex_escape(&command_queue(code))),
        topic: (
            DISTRICTS_EXCHANGE.into(),
            format!("^district\\.{code}\\."),
            "^$".into(),
        ),
    }
}

/// The city declares the topology, reads the intake and dead queues, and publishes only
/// commands: it cannot write to the districts exchange, so it cannot speak for a district.
pub fn city_permissions() -> Permissions {
    Permissions {
        configure: "^(citygrid|city|district)\\.".into(),
        write: "^(citygrid\\.city|citygrid\\.dead|city\\..*|district\\.[0-9]{6}\\.commands)$"
            .into(),
        read: "^(citygrid\\.districts|citygrid\\.city|citygrid\\.dead|city\\..*|district\\.[0-9]{6}\\.commands)$"
            .into(),
        topic: (CITY_EXCHANGE.into(), "^city\\.".into(), "^city\\.".into()),
    }
}

fn regex_escape(name: &str) -> String {
    name.replace('.', "\\.")
}

/// Talks to the RabbitMQ management HTTP API (the `rabbitmq_management` plugin, which
/// `ops/up` enables) as an administrator. Every call is a PUT or DELETE of a named
/// resource, so provisioning twice changes nothing.
#[derive(Debug, Clone)]
pub struct Admin {
    http: reqwest::Client,
    base: String,
    user: String,
    password: String,
}

/// A management API call that failed: which call and what the broker said.
#[derive(Debug)]
pub struct AdminError(pub String);

impl std::fmt::Display for AdminError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for AdminError {}

fn encode(segment: &str) -> String {
    segment
        .bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

impl Admin {
    /// `base` is e.g. `http://127.0.0.1:15672`.
    pub fn new(base: &str, user: &str, password: &str) -> Admin {
        Admin {
            http: reqwest::Client::new(),
            base: base.trim_end_matches('/').to_owned(),
            user: user.to_owned(),
            password: password.to_owned(),
        }
    }

    async fn call(
        &self,
        method: reqwest::Method,
        path: &str,
        body: Option<serde_json::Value>,
    ) -> Result<serde_json::Value, AdminError> {
        let url = format!("{}/api/{path}", self.base);
        let mut request = self
            .http
            .request(method.clone(), &url)
            .basic_auth(&self.user, Some(&self.password));
        if let Some(body) = body {
            request = request.json(&body);
        }
        let response = request.send().await.map_err(|e| {
            AdminError(format!(
                "{method} {url}: {e} (is the management plugin on?)"
            ))
        })?;
        let status = response.status();
        let text = response.text().await.unwrap_or_default();
        let already_gone = method == reqwest::Method::DELETE && status == 404;
        if !status.is_success() && !already_gone {
            return Err(AdminError(format!("{method} {url}: {status} {text}")));
        }
        Ok(serde_json::from_str(&text).unwrap_or(serde_json::Value::Null))
    }

    pub async fn put_vhost(&self, vhost: &str) -> Result<(), AdminError> {
        self.call(
            reqwest::Method::PUT,
            &format!("vhosts/{}", encode(vhost)),
            None,
        )
        .await
        .map(drop)
    }

    pub async fn delete_vhost(&self, vhost: &str) -> Result<(), AdminError> {
        self.call(
            reqwest::Method::DELETE,
            &format!("vhosts/{}", encode(vhost)),
            None,
        )
        .await
        .map(drop)
    }

    /// Creates the user or sets its password.
    pub async fn put_user(&self, user: &str, password: &str) -> Result<(), AdminError> {
        let body = json!({ "password": password, "tags": "" });
        self.call(
            reqwest::Method::PUT,
            &format!("users/{}", encode(user)),
            Some(body),
        )
        .await
        .map(drop)
    }

    pub async fn delete_user(&self, user: &str) -> Result<(), AdminError> {
        self.call(
            reqwest::Method::DELETE,
            &format!("users/{}", encode(user)),
            None,
        )
        .await
        .map(drop)
    }

    pub async fn put_permissions(
        &self,
        vhost: &str,
        user: &str,
        permissions: &Permissions,
    ) -> Result<(), AdminError> {
        let (vhost, user) = (encode(vhost), encode(user));
        let body = json!({
            "configure": permissions.configure,
            "write": permissions.write,
            "read": permissions.read,
        });
        self.call(
            reqwest::Method::PUT,
            &format!("permissions/{vhost}/{user}"),
            Some(body),
        )
        .await?;
        let (exchange, write, read) = &permissions.topic;
        let body = json!({ "exchange": exchange, "write": write, "read": read });
        self.call(
            reqwest::Method::PUT,
            &format!("topic-permissions/{vhost}/{user}"),
            Some(body),
        )
        .await
        .map(drop)
    }

    /// Takes a user's permissions on a vhost away (tests cut a district off with it).
    pub async fn delete_permissions(&self, vhost: &str, user: &str) -> Result<(), AdminError> {
        let path = format!("permissions/{}/{}", encode(vhost), encode(user));
        self.call(reqwest::Method::DELETE, &path, None)
            .await
            .map(drop)
    }

    /// The names of a user's open AMQP connections to a vhost.
    pub async fn connections_of(&self, vhost: &str, user: &str) -> Result<Vec<String>, AdminError> {
        let path = format!("vhosts/{}/connections", encode(vhost));
        let list = self.call(reqwest::Method::GET, &path, None).await?;
        Ok(list
            .as_array()
            .into_iter()
            .flatten()
            .filter(|c| c["user"] == user)
            .filter_map(|c| c["name"].as_str().map(str::to_owned))
            .collect())
    }

    /// Closes a connection by name, as an operator would (or a network fault).
    pub async fn close_connection(&self, name: &str) -> Result<(), AdminError> {
        self.call(
            reqwest::Method::DELETE,
            &format!("connections/{}", encode(name)),
            None,
        )
        .await
        .map(drop)
    }

    /// Vhosts whose names start with `prefix` (tests clean up after crashed runs).
    pub async fn vhosts_starting_with(&self, prefix: &str) -> Result<Vec<String>, AdminError> {
        let list = self.call(reqwest::Method::GET, "vhosts", None).await?;
        Ok(names_starting_with(&list, prefix))
    }

    pub async fn users_starting_with(&self, prefix: &str) -> Result<Vec<String>, AdminError> {
        let list = self.call(reqwest::Method::GET, "users", None).await?;
        Ok(names_starting_with(&list, prefix))
    }
}

fn names_starting_with(list: &serde_json::Value, prefix: &str) -> Vec<String> {
    list.as_array()
        .into_iter()
        .flatten()
        .filter_map(|v| v["name"].as_str())
        .filter(|name| name.starts_with(prefix))
        .map(str::to_owned)
        .collect()
}

/// One broker user and its password.
#[derive(Debug, Clone)]
pub struct Account {
    pub user: String,
    pub password: String,
}

/// What `citygrid broker provision` sets up: the vhost, the city's user and one user per
/// district with their permissions. The topology itself is declared over AMQP by the
/// city's user ([`declare`]).
pub async fn provision(
    admin: &Admin,
    vhost: &str,
    city: &Account,
    districts: &[(String, Account)],
) -> Result<(), AdminError> {
    admin.put_vhost(vhost).await?;
    admin.put_user(&city.user, &city.password).await?;
    admin
        .put_permissions(vhost, &city.user, &city_permissions())
        .await?;
    for (code, account) in districts {
        admin.put_user(&account.user, &account.password).await?;
        admin
            .put_permissions(vhost, &account.user, &district_permissions(code))
            .await?;
    }
    Ok(())
}

/// `amqp://user:password@host:port/vhost` with user, password and vhost percent-encoded.
pub fn amqp_uri(host_port: &str, account: &Account, vhost: &str) -> String {
    format!(
        "amqp://{}:{}@{host_port}/{}",
        encode(&account.user),
        encode(&account.password),
        encode(vhost)
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn routing_keys_and_queues_follow_the_standard() {
        assert_eq!(
            district_key("330102", Kind::CaseSnapshot),
            "district.330102.case_snapshot"
        );
        assert_eq!(
            city_key("330105", Kind::SyncRequest),
            "city.330105.sync_request"
        );
        assert_eq!(command_queue("330106"), "district.330106.commands");
        let p = district_permissions("330105");
        assert_eq!(p.write, "^citygrid\\.districts$");
        assert_eq!(p.read, "^district\\.330105\\.commands$");
        assert_eq!(p.topic.1, "^district\\.330105\\.");
        assert_eq!(p.configure, "^$");
    }

    #[test]
    fn uris_are_percent_encoded() {
        let account = Account {
            user: "citygrid-330102".into(),
            password: "p@ss/word".into(),
        };
        assert_eq!(
            amqp_uri("127.0.0.1:5672", &account, "citygrid"),
            "amqp://citygrid-330102:p%40ss%2Fword@127.0.0.1:5672/citygrid"
        );
    }
}
