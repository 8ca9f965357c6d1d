//! CityGrid's shared kit: the plumbing that the district platform and the city exchange
//! both need, so that neither reaches into the other for it.
//!
//! Nothing here knows a case, a district's workflow or the city's warehouse: those belong
//! to `citygrid-platform` and `citygrid-exchange`, which never depend on each other. What
//! both sides must agree on as a *standard* lives in `citygrid-schemas`; this crate is only
//! how each side runs.

pub mod broker;
pub mod calendar;
pub mod config;
pub mod db;
pub mod error;
pub mod geo;
pub mod http;
pub mod login;
pub mod password;
pub mod rate;
pub mod schedule;
pub mod seeded;
pub mod session;
pub mod telemetry;
pub mod token;
pub mod vocabulary;

pub use vocabulary::__private;

pub use error::{Error, Result};
