//! Cases: the six-stage loop (DESIGN.md §2).

pub mod duties;
pub mod handlers;
pub mod model;
pub mod privacy;
pub mod requests;
pub mod similar;
pub mod steps;
pub mod store;
pub mod text;
pub mod view;
pub mod workflow;

pub use model::{Case, Record};
