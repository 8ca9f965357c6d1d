//! The exchange's one error type.

#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("configuration: {0}")]
    Config(String),
    #[error("database: {0}")]
    Database(#[from] diesel::result::Error),
    #[error("broker: {0}")]
    Broker(#[from] lapin::Error),
    /// The shared plumbing's failures (pool, tokens, JSON bodies), with their HTTP face.
    #[error(transparent)]
    Kit(#[from] citygrid_kit::Error),
    #[error("JSON: {0}")]
    Json(#[from] serde_json::Error),
    #[error("{0}")]
    Internal(String),
}

pub type Result<T, E = Error> = std::result::Result<T, E>;
