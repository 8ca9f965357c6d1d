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
    /// HMAC key for tokens; the files in the repo carry demo keys only (refused outside a
    /// file marked `demo = true`, see [`require_strong_secret`]), production sets it from
    /// the environment.
    pub jwt_secret: SecretString,
    /// Life of an access token (the bearer JWT): short, since a stolen one works until it
    /// expires or its user's tokens are revoked. Default 15.
    #[serde(default = "default_token_ttl")]
    pub token_ttl_minutes: i64,
    /// Life of a session (its refresh tokens, from sign-in, whatever the refreshes): a
    /// working shift. Default 480 (8 h).
    #[serde(default = "default_refresh_ttl")]
    pub refresh_ttl_minutes: i64,
    /// How long an instance trusts a user's token version it has read (see
    /// [`crate::session::Versions`]): a revocation made by another process (the CLI) takes
    /// effect within this; 0 reads it on every request. Default 5, at most 60.
    #[serde(default = "default_version_cache")]
    pub version_cache_seconds: u64,
    /// `[auth.login]`: how many password checks run at once and when sign-ins are
    /// throttled (see [`crate::login`]).
    #[serde(default)]
    pub login: LoginSection,
}

fn default_token_ttl() -> i64 {
    15
}
fn default_refresh_ttl() -> i64 {
    8 * 60
}
fn default_version_cache() -> u64 {
    5
}

/// The shortest signing key accepted outside a demo.
pub const MIN_KEY_BYTES: usize = 32;

impl AuthSection {
    /// The life of an access token.
    pub fn access_ttl(&self) -> chrono::Duration {
        chrono::Duration::minutes(self.token_ttl_minutes)
    }

    /// The life of a session (its refresh tokens), from sign-in.
    pub fn session_ttl(&self) -> chrono::Duration {
        chrono::Duration::minutes(self.refresh_ttl_minutes)
    }

    /// How long a user's token version read from the database is trusted.
    pub fn version_cache(&self) -> std::time::Duration {
        std::time::Duration::from_secs(self.version_cache_seconds)
    }

    /// The key at fault (`auth.…`) and why. The signing key is checked apart, with the
    /// file's demo marker ([`require_strong_secret`]).
    pub fn validate(&self) -> std::result::Result<(), (String, String)> {
        let fail = |key: &str, message: &str| Err((format!("auth.{key}"), message.to_owned()));
        // A year at most: far beyond any shift, near enough that no time arithmetic overflows.
        const YEAR: i64 = 366 * 24 * 60;
        if !(1..=YEAR).contains(&self.token_ttl_minutes) {
            return fail("token_ttl_minutes", "must be between 1 and 527040 (a year)");
        }
        if !(1..=YEAR).contains(&self.refresh_ttl_minutes) {
            return fail(
                "refresh_ttl_minutes",
                "must be between 1 and 527040 (a year)",
            );
        }
        if self.refresh_ttl_minutes < self.token_ttl_minutes {
            return fail(
                "refresh_ttl_minutes",
                "must be at least token_ttl_minutes (a session outlives its access tokens)",
            );
        }
        if self.version_cache_seconds > 60 {
            return fail(
                "version_cache_seconds",
                "must be at most 60 (a revocation waits this long to take effect)",
            );
        }
        self.login.validate()
    }
}

/// The values the repository's sample files carry start with this: they are public, so
/// they serve only a deployment marked `demo = true`.
pub const DEMO_PREFIX: &str = "demo-only";

/// Why `secret` cannot serve a real deployment (a sample value, a broker's default, or
/// shorter than `min_bytes`), if it cannot.
pub fn weak_secret(secret: &SecretString, min_bytes: usize) -> Option<String> {
    let value = secret.expose_secret();
    if value.starts_with(DEMO_PREFIX) {
        Some(format!(
            "is a demo value from the repository (it starts with {DEMO_PREFIX:?})"
        ))
    } else if value == "guest" {
        Some("is RabbitMQ's default password".to_owned())
    } else if value.len() < min_bytes {
        Some(format!("is shorter than {min_bytes} bytes"))
    } else {
        None
    }
}

/// Refuses a weak secret ([`weak_secret`]) unless the file is marked `demo = true`: the
/// error names the file, the key and the environment variable that overrides it, never
/// the value.
pub fn require_strong_secret(
    file: &str,
    key: &str,
    variable: &str,
    secret: &SecretString,
    min_bytes: usize,
    demo: bool,
) -> Result<()> {
    match weak_secret(secret, min_bytes) {
        Some(why) if !demo => Err(Error::config(
            file,
            key,
            format!(
                "the value {why}: set {variable} to a random secret of at least {min_bytes} \
                 bytes (e.g. `openssl rand -base64 48`), or, for a demo only, put \
                 `demo = true` at the top of the file"
            ),
        )),
        _ => Ok(()),
    }
}

/// The loud warning a demo-marked instance logs when it starts.
pub fn warn_demo(file: &str, what: &str) {
    tracing::warn!(
        config.file = file,
        "DEMO DEPLOYMENT: {file} is marked `demo = true`, so this {what} accepts the public \
         signing key and passwords of the repository's sample files: anyone with the \
         repository can sign tokens for it. Never serve real users or data from it."
    );
}

/// `[auth.login]`: the limits of sign-in (docs/API.md, "Sign-in limits").
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct LoginSection {
    /// Memory for password checks running at once, in MiB. Every argon2 check takes
    /// 19 MiB, so the default 80 lets 4 run at once.
    pub hash_memory_mib: u32,
    /// A sign-in that waits longer than this for a check to free up is refused (503).
    pub wait_ms: u64,
    /// Failures of one username that lock it.
    pub user_failures: u32,
    /// Failures from one client address that lock it (higher: several people may share it).
    pub client_failures: u32,
    /// Failures are forgotten this long after the last failure or the end of the last
    /// lockout.
    pub window_seconds: u64,
    /// The first lockout; every further failure after a lockout locks for twice as long.
    pub lockout_seconds: u64,
    pub max_lockout_seconds: u64,
    /// Usernames (and, separately, client addresses) remembered at most; when full, the
    /// one that would be forgotten first goes.
    pub tracked: usize,
    /// Take the client address from `Forwarded` / `X-Forwarded-For` instead of the TCP
    /// peer. Only behind a proxy that sets these headers and that clients cannot bypass:
    /// otherwise any client names its own address and escapes the per-address limit.
    pub trust_forwarded: bool,
}

impl Default for LoginSection {
    fn default() -> Self {
        LoginSection {
            hash_memory_mib: 80,
            wait_ms: 2_000,
            user_failures: 5,
            client_failures: 50,
            window_seconds: 15 * 60,
            lockout_seconds: 60,
            max_lockout_seconds: 60 * 60,
            tracked: 10_000,
            trust_forwarded: false,
        }
    }
}

impl LoginSection {
    /// The key at fault (`auth.login.…`) and why, for the file's validation message.
    pub fn validate(&self) -> std::result::Result<(), (String, String)> {
        let fail = |key: &str, message: String| Err((format!("auth.login.{key}"), message));
        let per_check = crate::password::CHECK_MEMORY_MIB;
        if self.hash_memory_mib < per_check {
            return fail(
                "hash_memory_mib",
                format!("must be at least {per_check} (one password check)"),
            );
        }
        for (key, value) in [
            ("user_failures", u64::from(self.user_failures)),
            ("client_failures", u64::from(self.client_failures)),
            ("window_seconds", self.window_seconds),
            ("lockout_seconds", self.lockout_seconds),
            ("tracked", self.tracked as u64),
        ] {
            if value == 0 {
                return fail(key, "must be at least 1".into());
            }
        }
        // Far enough for any lockout, near enough that no clock arithmetic overflows.
        const MONTH: u64 = 30 * 24 * 60 * 60;
        for (key, value) in [
            ("window_seconds", self.window_seconds),
            ("max_lockout_seconds", self.max_lockout_seconds),
        ] {
            if value > MONTH {
                return fail(key, format!("must be at most {MONTH} (30 days)"));
            }
        }
        if self.max_lockout_seconds < self.lockout_seconds {
            return fail(
                "max_lockout_seconds",
                "must be at least lockout_seconds".into(),
            );
        }
        Ok(())
    }
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
    fn sign_in_limits_are_optional_and_checked() {
        let auth: AuthSection = toml::from_str("jwt_secret = \"k\"").expect("parse");
        assert_eq!(auth.login.hash_memory_mib, 80);
        let auth: AuthSection = toml::from_str(
            "jwt_secret = \"k\"\n[login]\nuser_failures = 3\ntrust_forwarded = true",
        )
        .expect("parse");
        assert_eq!(
            (auth.login.user_failures, auth.login.client_failures),
            (3, 50)
        );
        assert!(auth.login.trust_forwarded);
        assert!(toml::from_str::<AuthSection>("jwt_secret = \"k\"\n[login]\nretries = 3").is_err());
        for (bad, key) in [
            ("user_failures = 0", "auth.login.user_failures"),
            ("hash_memory_mib = 18", "auth.login.hash_memory_mib"),
            ("window_seconds = 99999999", "auth.login.window_seconds"),
            (
                "lockout_seconds = 600\nmax_lockout_seconds = 60",
                "auth.login.max_lockout_seconds",
            ),
        ] {
            let login: LoginSection = toml::from_str(bad).expect("parse");
            assert_eq!(
                login.validate().map_err(|(k, _)| k),
                Err(key.to_owned()),
                "{bad}"
            );
        }
    }

    #[test]
    fn session_lifetimes_are_checked() {
        let auth: AuthSection = toml::from_str("jwt_secret = \"k\"").expect("parse");
        assert_eq!(
            (
                auth.token_ttl_minutes,
                auth.refresh_ttl_minutes,
                auth.version_cache_seconds
            ),
            (15, 480, 5)
        );
        assert_eq!(auth.validate(), Ok(()));
        for (bad, key) in [
            ("token_ttl_minutes = 0", "auth.token_ttl_minutes"),
            (
                "token_ttl_minutes = 60\nrefresh_ttl_minutes = 30",
                "auth.refresh_ttl_minutes",
            ),
            ("version_cache_seconds = 61", "auth.version_cache_seconds"),
            ("[login]\nuser_failures = 0", "auth.login.user_failures"),
        ] {
            let auth: AuthSection =
                toml::from_str(&format!("jwt_secret = \"k\"\n{bad}")).expect("parse");
            assert_eq!(
                auth.validate().map_err(|(k, _)| k),
                Err(key.to_owned()),
                "{bad}"
            );
        }
    }

    #[test]
    fn weak_secrets_serve_a_demo_only() {
        let secret = |s: &str| SecretString::from(s.to_owned());
        let demo_key = secret("demo-only-330102-change-me-in-production-0123456789");
        let strong = secret(&"x".repeat(MIN_KEY_BYTES));
        assert!(weak_secret(&demo_key, MIN_KEY_BYTES).is_some());
        assert!(weak_secret(&secret("guest"), 1).is_some());
        assert!(weak_secret(&secret(&"x".repeat(MIN_KEY_BYTES - 1)), MIN_KEY_BYTES).is_some());
        assert_eq!(weak_secret(&strong, MIN_KEY_BYTES), None);
        let check = |secret: &SecretString, demo| {
            require_strong_secret(
                "f.toml",
                "auth.jwt_secret",
                "CITYGRID_JWT_SECRET",
                secret,
                MIN_KEY_BYTES,
                demo,
            )
        };
        assert!(check(&demo_key, true).is_ok());
        assert!(check(&strong, false).is_ok());
        let err = check(&demo_key, false).expect_err("demo key").to_string();
        assert!(
            err.contains("f.toml")
                && err.contains("auth.jwt_secret")
                && err.contains("CITYGRID_JWT_SECRET")
                && !err.contains("change-me"),
            "{err}"
        );
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
