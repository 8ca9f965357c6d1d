//! Writing what the intake accepted into the warehouse, idempotently and in each
//! district's seq order, and the commands (rejections, sync requests) that go back.
//!
//! - `catalogue`: the categories of every edition and their counterparts in the compare
//!   edition;
//! - `stream`: registering districts, storing a batch of accepted messages in seq order,
//!   applying snapshots and records, cursors, gaps and sync requests;
//! - `media`: manifests, chunks, assembling and verifying photos, media requests;
//! - `commands`: the command outbox to districts (rejections, sync and media requests);
//! - `status`: where each district's stream stands, for `city status`, the API and
//!   /metrics.

mod catalogue;
mod commands;
mod media;
mod status;
mod stream;

pub use catalogue::register_catalogues;
pub use commands::{
    enqueue_command, lock_districts, mark_command_sent, record_refusal, unsent_commands,
};
pub use media::request_missing_media;
pub use status::{DistrictStatus, status};
pub use stream::{register_districts, request_missing, store};
