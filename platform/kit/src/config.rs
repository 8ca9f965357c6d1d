//! Configuration layering both sides use: a TOML file, then `CITYGRID_*` environment
//! variables over it (secrets stay out of the repository, and one file serves several test
//! or benchmark instances). Secrets are `SecretString`s, so no `Debug` output or log line
//! ever shows a password, key or a database URL that may carry one.

use std::path::Path;

use secrecy::{ExposeSecret, SecretString};
use serde::Deserialize;
use serde::de::DeserializeOwned;

use crate::error::{Error, Result};

/// A PostgreSQL database and its pool.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DatabaseSection {
    /// `postgres://user:password@host:port/name`: secret, because it may carry a password.
    pub url: SecretString,
    #[serde(default = "default_pool_size")]
    pub pool_size: u32,
    #[serde(default = "default_connection_timeout")]
    pub connection_timeout_secs: u64,
    #[serde(default = "default_statement_timeout")]
    pub statement_timeout_ms: u64,
}

fn default_pool_size() -> u32 {
    8
}
fn default_connection_timeout() -> u64 {
    5
}
fn default_statement_timeout() -> u64 {
    10_000
}

impl DatabaseSection {
    /// The URL without its password, for messages and logs.
    pub fn display_url(&self) -> String {
        redact_url(self.url.expose_secret())
    }
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HttpSection {
    pub bind: String,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AuthSection {
    /// HMAC key for tokens; the files in the repo carry demo keys only, production sets
    /// it from the environment.
    pub jwt_secret: SecretString,
    #[serde(default = "default_token_ttl")]
    pub token_ttl_minutes: i64,
}

fn default_token_ttl() -> i64 {
    480
}

/// Reads and parses a TOML file; errors name the file (and serde's key and line).
pub fn read_toml<T: DeserializeOwned>(path: &Path) -> Result<T> {
    let file = path.display().to_string();
    let text = std::fs::read_to_string(path)
        .map_err(|e| Error::config(&file, "-", format!("cannot read the file: {e}")))?;
    toml::from_str(&text).map_err(|e| Error::config(&file, "-", e.to_string().trim_end()))
}

/// `value = $var` when the variable is set.
pub fn env_override(value: &mut String, var: &str) {
    if let Ok(v) = std::env::var(var) {
        *value = v;
    }
}

/// `secret = $var` when the variable is set.
pub fn env_secret(secret: &mut SecretString, var: &str) {
    if let Ok(v) = std::env::var(var) {
        *secret = v.into();
    }
}

/// `scheme://user:password@host/…` → `scheme://user:***@host/…`; other strings unchanged.
pub fn redact_url(url: &str) -> String {
    let Some((scheme, rest)) = url.split_once("://") else {
        return url.to_owned();
    };
    let (authority, path) = rest
        .split_once('/')
        .map_or((rest, None), |(a, p)| (a, Some(p)));
    let authority = match authority.rsplit_once('@') {
        Some((userinfo, host)) => match userinfo.split_once(':') {
            Some((user, _)) => format!("{user}:***@{host}"),
            None => authority.to_owned(),
        },
        None => authority.to_owned(),
    };
    match path {
        Some(p) => format!("{scheme}://{authority}/{p}"),
        None => format!("{scheme}://{authority}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn redacts_only_the_password() {
        assert_eq!(
            redact_url("postgres://app:s3cret@db:5432/citygrid"),
            "postgres://app:***@db:5432/citygrid"
        );
        assert_eq!(
            redact_url("postgres://postgres@127.0.0.1:5432/citygrid_city"),
            "postgres://postgres@127.0.0.1:5432/citygrid_city"
        );
        assert_eq!(redact_url("amqp://u:p@h"), "amqp://u:***@h");
        assert_eq!(redact_url("not a url"), "not a url");
    }

    #[test]
    fn secrets_stay_out_of_debug_output() {
        let section: DatabaseSection =
            toml::from_str("url = \"postgres://app:s3cret@db/x\"").expect("parse");
        assert!(!format!("{section:?}").contains("s3cret"));
        let auth: AuthSection = toml::from_str("jwt_secret = \"k3y-material\"").expect("parse");
        assert!(!format!("{auth:?}").contains("k3y-material"));
    }
}
