//! Running the interchange's topology (`citygrid_schemas::amqp`) against a RabbitMQ:
//! connection URIs, message properties, declaring exchanges and queues, and the management
//! API that creates users and permissions ([`admin`]).

pub mod admin;

use citygrid_schemas::Kind;
use citygrid_schemas::amqp::{self, ExchangeType, Topology};
use lapin::options::{ExchangeDeclareOptions, QueueBindOptions, QueueDeclareOptions};
use lapin::types::{AMQPValue, FieldTable, ShortString};
use lapin::{BasicProperties, Channel, ExchangeKind};
use secrecy::{ExposeSecret, SecretString};

pub use admin::{Admin, AdminError, provision};

/// One broker user and its password.
#[derive(Debug, Clone)]
pub struct Account {
    pub user: String,
    pub password: SecretString,
}

impl Account {
    pub fn new(user: impl Into<String>, password: impl Into<String>) -> Account {
        Account {
            user: user.into(),
            password: SecretString::from(password.into()),
        }
    }
}

/// `amqp://user:password@host:port/vhost` with user, password and vhost percent-encoded.
/// Secret: it carries the password.
pub fn amqp_uri(host_port: &str, account: &Account, vhost: &str) -> SecretString {
    SecretString::from(format!(
        "amqp://{}:{}@{host_port}/{}",
        encode(&account.user),
        encode(account.password.expose_secret()),
        encode(vhost)
    ))
}

/// Percent-encodes one URI segment (RFC 3986 unreserved characters stay).
pub(crate) fn encode(segment: &str) -> String {
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

/// The properties the standard requires of every message (schemas/AMQP.md).
pub fn properties(message_id: &str, kind: Kind, broker_user: &str) -> BasicProperties {
    BasicProperties::default()
        .with_delivery_mode(amqp::PERSISTENT)
        .with_content_type(ShortString::from(amqp::CONTENT_TYPE))
        .with_message_id(ShortString::from(message_id))
        .with_type(ShortString::from(kind.as_str()))
        .with_user_id(ShortString::from(broker_user))
}

/// Declares the topology for these districts. Idempotent; run by the city's user (which
/// has the configure permission) at provisioning and start-up.
pub async fn declare<S: AsRef<str>>(
    channel: &Channel,
    districts: &[S],
) -> Result<(), lapin::Error> {
    declare_topology(channel, &amqp::topology(districts)).await
}

pub async fn declare_topology(channel: &Channel, topology: &Topology) -> Result<(), lapin::Error> {
    let durable = ExchangeDeclareOptions {
        durable: true,
        ..ExchangeDeclareOptions::default()
    };
    for exchange in &topology.exchanges {
        let kind = match exchange.kind {
            ExchangeType::Topic => ExchangeKind::Topic,
            ExchangeType::Fanout => ExchangeKind::Fanout,
        };
        channel
            .exchange_declare(exchange.name.into(), kind, durable, FieldTable::default())
            .await?;
    }
    let options = QueueDeclareOptions {
        durable: true,
        ..QueueDeclareOptions::default()
    };
    for queue in &topology.queues {
        let mut args = FieldTable::default();
        args.insert(
            "x-queue-type".into(),
            AMQPValue::LongString("quorum".into()),
        );
        if queue.dead_letters {
            args.insert(
                "x-dead-letter-exchange".into(),
                AMQPValue::LongString(amqp::DEAD_EXCHANGE.into()),
            );
        }
        channel
            .queue_declare(queue.name.as_str().into(), options, args)
            .await?;
    }
    for binding in &topology.bindings {
        channel
            .queue_bind(
                binding.queue.as_str().into(),
                binding.exchange.into(),
                binding.key.as_str().into(),
                QueueBindOptions::default(),
                FieldTable::default(),
            )
            .await?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn uris_are_percent_encoded() {
        let account = Account::new("citygrid-330102", "p@ss/word");
        assert_eq!(
            amqp_uri("127.0.0.1:5672", &account, "citygrid").expose_secret(),
            "amqp://citygrid-330102:p%40ss%2Fword@127.0.0.1:5672/citygrid"
        );
        assert!(!format!("{account:?}").contains("p@ss"));
    }
}
