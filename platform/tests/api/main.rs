//! Integration tests of the district API over real HTTP and a real PostgreSQL: every
//! test gets its own database, cloned from a migrated and seeded template.

mod access;
mod address;
mod appraisal;
mod bad_input;
mod calendar;
mod components;
mod conditions;
use citygrid_test_support::broker;
mod concurrency;
mod deadlines;
mod duties;
mod exchange;
mod fuzz;
mod grid;
mod helpers;
mod isolation;
mod limits;
mod loop_flows;
mod privacy;
mod records;
mod reminders;
mod schema;
mod sessions;
