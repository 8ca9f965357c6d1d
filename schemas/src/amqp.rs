//! The AMQP 0-9-1 topology of the interchange (see `schemas/AMQP.md`) as data: names,
//! routing keys, the queues and bindings, the message properties and the broker users'
//! permissions. Running it against a broker (declaring, provisioning users) is the kit's
//! job (`citygrid_kit::broker`); the standard only says what must exist.
//!
//! Two topic exchanges keep the directions apart: districts publish on
//! [`DISTRICTS_EXCHANGE`] with `district.<code>.<kind>`, the city publishes commands on
//! [`CITY_EXCHANGE`] with `city.<code>.<kind>`. Every queue is a durable quorum queue, so
//! the same topology runs on one node or a cluster, and dead-letters into
//! [`DEAD_EXCHANGE`].

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

/// How an exchange routes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ExchangeType {
    Topic,
    Fanout,
}

/// A durable exchange of the topology.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExchangeSpec {
    pub name: &'static str,
    pub kind: ExchangeType,
}

/// A durable quorum queue; `dead_letters` says whether what it refuses goes to
/// [`DEAD_EXCHANGE`] (every queue but the dead-letter queue itself).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QueueSpec {
    pub name: String,
    pub dead_letters: bool,
}

/// `queue` receives what `exchange` routes with a key matching `key`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BindingSpec {
    pub queue: String,
    pub exchange: &'static str,
    pub key: String,
}

/// Everything that must exist on the broker for a city with these districts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Topology {
    pub exchanges: Vec<ExchangeSpec>,
    pub queues: Vec<QueueSpec>,
    pub bindings: Vec<BindingSpec>,
}

/// The topology of a city with these districts (6-digit codes).
pub fn topology<S: AsRef<str>>(districts: &[S]) -> Topology {
    let exchanges = vec![
        ExchangeSpec {
            name: DISTRICTS_EXCHANGE,
            kind: ExchangeType::Topic,
        },
        ExchangeSpec {
            name: CITY_EXCHANGE,
            kind: ExchangeType::Topic,
        },
        ExchangeSpec {
            name: DEAD_EXCHANGE,
            kind: ExchangeType::Fanout,
        },
    ];
    let mut queues = vec![
        QueueSpec {
            name: DEAD_QUEUE.to_owned(),
            dead_letters: false,
        },
        QueueSpec {
            name: INTAKE_QUEUE.to_owned(),
            dead_letters: true,
        },
    ];
    let mut bindings = vec![
        BindingSpec {
            queue: DEAD_QUEUE.to_owned(),
            exchange: DEAD_EXCHANGE,
            key: String::new(),
        },
        BindingSpec {
            queue: INTAKE_QUEUE.to_owned(),
            exchange: DISTRICTS_EXCHANGE,
            key: "district.*.*".to_owned(),
        },
    ];
    for district in districts {
        let district = district.as_ref();
        queues.push(QueueSpec {
            name: command_queue(district),
            dead_letters: true,
        });
        bindings.push(BindingSpec {
            queue: command_queue(district),
            exchange: CITY_EXCHANGE,
            key: format!("city.{district}.*"),
        });
    }
    Topology {
        exchanges,
        queues,
        bindings,
    }
}

// The properties every interchange message carries: persistent, JSON, the idempotency key
// as `message_id`, the kind as `type`, and the sender's broker user as `user_id` (the
// broker refuses a `user_id` that is not the connection's login, so the receiver can
// trust it).

/// `content_type` of every interchange message.
pub const CONTENT_TYPE: &str = "application/json";
/// `delivery_mode` of every interchange message: persistent.
pub const PERSISTENT: u8 = 2;

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
    fn every_district_gets_a_dead_lettering_command_queue() {
        let t = topology(&["330102", "330105"]);
        assert_eq!(t.queues.len(), 4);
        assert!(
            t.queues
                .iter()
                .any(|q| q.name == "district.330105.commands" && q.dead_letters)
        );
        assert!(
            t.bindings
                .iter()
                .any(|b| b.queue == "district.330102.commands"
                    && b.exchange == CITY_EXCHANGE
                    && b.key == "city.330102.*")
        );
        assert!(
            t.queues
                .iter()
                .any(|q| q.name == DEAD_QUEUE && !q.dead_letters)
        );
    }
}
