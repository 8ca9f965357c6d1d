//! The city exchange on a real RabbitMQ and PostgreSQL: each test its own vhost, broker
//! users and warehouse database.

mod api;
mod appraisal;
mod cells;
mod editions;
mod escalation;
mod examples;
mod fuzz;
use citygrid_test_support::broker;
mod helpers;
mod intake;
mod ledger;
mod monthly;
mod paging;
mod pool;
mod problems;
mod referrals;
mod registry;
mod reports;
mod schema;
mod sessions;
