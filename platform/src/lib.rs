//! CityGrid district platform: one district's instance of the 数字城管 closed loop —
//! reports, filing, dispatch, handling, check and closing — over HTTP, on PostgreSQL.

pub mod address;
pub mod api;
pub mod app;
pub mod appraisal;
pub mod auth;
pub mod calendar;
pub mod case;
pub mod catalogue;
pub mod component;
pub mod config;
pub mod db;
pub mod deadline;
pub mod error;
pub mod grid;
pub mod limits;
pub mod manual;
pub mod media;
pub mod patrol;
pub mod reminder;
pub mod schema;
pub mod uplink;
pub mod user;
pub mod vocab;

pub use error::{Error, Result};
