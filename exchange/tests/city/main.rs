//! The city exchange on a real RabbitMQ and PostgreSQL: each test its own vhost, broker
//! users and warehouse database.

mod api;
mod editions;
mod examples;
use citygrid_test_support::broker;
mod helpers;
mod intake;
mod registry;
mod schema;
