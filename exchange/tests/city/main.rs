//! The city exchange on a real RabbitMQ and PostgreSQL: each test its own vhost, broker
//! users and warehouse database.

// The platform's broker helper, shared rather than copied; not every helper is used here.
mod api;
#[allow(dead_code)]
#[path = "../../../platform/tests/api/broker.rs"]
mod broker;
mod helpers;
mod intake;
