//! Sessions, the same on both sides: short access tokens, rotating refresh tokens, and
//! revocation by a per-user token version.
//!
//! - An access token (the bearer JWT, [`crate::token`]) lives `[auth] token_ttl_minutes`
//!   (15) and carries its user's token version (`ver`). Every authenticated request holds
//!   it to the user's current version ([`Versions`]): a token of a user that does not
//!   exist, or of a version that has moved on (revocation, password change), is 401.
//! - Sign-in also starts a session ([`start`]): a family of refresh tokens. A refresh
//!   token is opaque (244 random bits from the OS, as 64 hex characters), stored only as its
//!   SHA-256, and serves until the session ends, `refresh_ttl_minutes` (8 h, a shift) after
//!   sign-in. Using it ([`rotate`]) retires it and hands out the family's next one; a
//!   retired one presented again was copied, so the whole family is revoked: the thief's
//!   refresh and the owner's next one both fail, and the owner signs in again.
//! - Revoking a user ([`end_all`] with the side's version bump, in one transaction) ends
//!   every session and every access token of theirs at once.
//!
//! Storage: the `refresh_tokens` table ([`schema`]) in each side's own database, created
//! by each side's migrations; the users' `token_version` column is the side's.

use std::collections::HashMap;
use std::future::Future;
use std::sync::{Mutex, PoisonError};
use std::time::{Duration, Instant};

use chrono::{DateTime, SubsecRound, Utc};
use diesel::prelude::*;
use serde::Deserialize;
use sha2::{Digest, Sha256};
use utoipa::ToSchema;
use uuid::Uuid;

use crate::error::{Error, Result};

pub mod schema;

use schema::refresh_tokens;

/// This module's `diesel::table!`, for the sides' tests that hold their schema to the
/// migrated database.
pub const SCHEMA_RS: &str = include_str!("session/schema.rs");

/// `POST /api/v1/auth/refresh` and `POST /api/v1/auth/logout`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RefreshRequest {
    /// The refresh token of the last sign-in or refresh.
    pub refresh_token: String,
}

/// A refresh token handed to the client: shown once, stored only as its digest.
#[derive(Debug, Clone)]
pub struct Refresh {
    pub token: String,
    /// When the session ends (sign-in + `refresh_ttl_minutes`); refreshing does not move it.
    pub expires_at: DateTime<Utc>,
}

/// A new refresh token: 32 bytes of two v4 UUIDs (244 bits from the OS's generator) as hex.
fn new_token() -> String {
    let (a, b) = (Uuid::new_v4(), Uuid::new_v4());
    let mut bytes = [0u8; 32];
    bytes[..16].copy_from_slice(a.as_bytes());
    bytes[16..].copy_from_slice(b.as_bytes());
    hex::encode(bytes)
}

/// What the database keeps of a refresh token.
pub fn digest(token: &str) -> String {
    hex::encode(Sha256::digest(token.as_bytes()))
}

#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = refresh_tokens)]
struct Row {
    id: Uuid,
    user_id: Uuid,
    family: Uuid,
    token_version: i32,
    expires_at: DateTime<Utc>,
    used_at: Option<DateTime<Utc>>,
    revoked_at: Option<DateTime<Utc>>,
}

fn insert(
    conn: &mut PgConnection,
    user_id: Uuid,
    family: Uuid,
    version: i32,
    now: DateTime<Utc>,
    expires_at: DateTime<Utc>,
) -> Result<Refresh> {
    let token = new_token();
    diesel::insert_into(refresh_tokens::table)
        .values((
            refresh_tokens::id.eq(Uuid::new_v4()),
            refresh_tokens::user_id.eq(user_id),
            refresh_tokens::family.eq(family),
            refresh_tokens::token_hash.eq(digest(&token)),
            refresh_tokens::token_version.eq(version),
            refresh_tokens::issued_at.eq(now),
            refresh_tokens::expires_at.eq(expires_at),
        ))
        .execute(conn)?;
    Ok(Refresh { token, expires_at })
}

/// Starts a session of `user_id` (at token `version`) at sign-in: a new family and its
/// first refresh token, serving until `now + life`. The user's sessions that ended a day
/// or more ago are deleted here, so the table holds about the live ones only.
pub fn start(
    conn: &mut PgConnection,
    user_id: Uuid,
    version: i32,
    now: DateTime<Utc>,
    life: chrono::Duration,
) -> Result<Refresh> {
    diesel::delete(refresh_tokens::table)
        .filter(refresh_tokens::user_id.eq(user_id))
        .filter(refresh_tokens::expires_at.lt(now - chrono::Duration::days(1)))
        .execute(conn)?;
    // As PostgreSQL keeps it (microseconds), so every answer of the session says the same.
    let ends = (now + life).trunc_subsecs(6);
    insert(conn, user_id, Uuid::new_v4(), version, now, ends)
}

/// Why a refresh token was refused (all 401 `unauthenticated`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refusal {
    /// No such token (never issued, or deleted long after its session ended).
    Unknown,
    /// Its session was ended: sign-out, revocation, or an earlier reuse.
    Revoked,
    /// It was used before: someone holds a copy. Revokes its family.
    Reused,
    /// Its session is over (`refresh_ttl_minutes` after sign-in).
    Expired,
    /// Its user no longer exists. Revokes its family.
    UserGone,
    /// Its user's tokens were revoked since it was issued. Revokes its family.
    VersionMoved,
}

impl Refusal {
    pub fn message(self) -> &'static str {
        match self {
            Refusal::Unknown => "unknown refresh token: sign in again",
            Refusal::Revoked => "this session was ended: sign in again",
            Refusal::Reused => {
                "this refresh token was already used, so a copy of it exists: the session is \
                 revoked; sign in again"
            }
            Refusal::Expired => "this session is over: sign in again",
            Refusal::UserGone => "the user of this session no longer exists",
            Refusal::VersionMoved => {
                "this user's tokens were revoked (password change or an administrator): sign \
                 in again"
            }
        }
    }

    /// Whether the refusal ends the token's whole family.
    fn ends_family(self) -> bool {
        matches!(
            self,
            Refusal::Reused | Refusal::UserGone | Refusal::VersionMoved
        )
    }
}

/// The rules of a refresh token, apart from its user: pure, so they are tested alone.
fn judge(row: &Row, now: DateTime<Utc>) -> Result<(), Refusal> {
    if row.revoked_at.is_some() {
        Err(Refusal::Revoked)
    } else if row.used_at.is_some() {
        Err(Refusal::Reused)
    } else if row.expires_at <= now {
        Err(Refusal::Expired)
    } else {
        Ok(())
    }
}

/// The user's side of a refresh: `current` version against the one the token was issued at.
fn judge_user(issued_at_version: i32, current: Option<i32>) -> Result<i32, Refusal> {
    match current {
        None => Err(Refusal::UserGone),
        Some(version) if version != issued_at_version => Err(Refusal::VersionMoved),
        Some(version) => Ok(version),
    }
}

/// A refresh that succeeded: the user as the side read it, their token version (for the
/// new access token), and the session's next refresh token.
#[derive(Debug)]
pub struct Rotated<U> {
    pub user: U,
    pub version: i32,
    pub refresh: Refresh,
}

/// Uses a refresh token, in one transaction with the row locked (of two concurrent uses
/// of one token, the second is a reuse): retires it and issues its family's next one,
/// with the session's end unchanged. `current` reads the user and their token version
/// (`None`: no such user) on the same connection. A refusal that ends the family ([`Refusal`])
/// commits before the 401 is returned.
pub fn rotate<U, E, F>(
    conn: &mut PgConnection,
    token: &str,
    now: DateTime<Utc>,
    current: F,
) -> Result<Rotated<U>, E>
where
    E: From<Error> + From<diesel::result::Error>,
    F: FnOnce(&mut PgConnection, Uuid) -> Result<Option<(U, i32)>, E>,
{
    let hash = digest(token);
    let outcome = conn.transaction::<_, E, _>(|conn| {
        let row: Option<Row> = refresh_tokens::table
            .filter(refresh_tokens::token_hash.eq(&hash))
            .select(Row::as_select())
            .for_update()
            .first(conn)
            .optional()?;
        let Some(row) = row else {
            return Ok(Err((Refusal::Unknown, None)));
        };
        if let Err(refusal) = judge(&row, now) {
            return Ok(Err((refusal, Some(row))));
        }
        let (user, current_version) = match current(conn, row.user_id)? {
            Some((user, version)) => (Some(user), Some(version)),
            None => (None, None),
        };
        let version = match judge_user(row.token_version, current_version) {
            Ok(version) => version,
            Err(refusal) => return Ok(Err((refusal, Some(row)))),
        };
        let Some(user) = user else {
            return Ok(Err((Refusal::UserGone, Some(row))));
        };
        diesel::update(refresh_tokens::table.find(row.id))
            .set(refresh_tokens::used_at.eq(now))
            .execute(conn)?;
        let refresh = insert(conn, row.user_id, row.family, version, now, row.expires_at)?;
        Ok(Ok(Rotated {
            user,
            version,
            refresh,
        }))
    })?;
    let (refusal, row) = match outcome {
        Ok(rotated) => return Ok(rotated),
        Err(refused) => refused,
    };
    if let Some(row) = row.filter(|_| refusal.ends_family()) {
        revoke_family(conn, row.family, now)?;
        tracing::warn!(
            session.family = %row.family,
            user.id = %row.user_id,
            session.refusal = ?refusal,
            "refresh refused: the session is revoked"
        );
    }
    Err(Error::Unauthenticated(refusal.message().to_owned()).into())
}

fn revoke_family(conn: &mut PgConnection, family: Uuid, now: DateTime<Utc>) -> Result<usize> {
    Ok(diesel::update(refresh_tokens::table)
        .filter(refresh_tokens::family.eq(family))
        .filter(refresh_tokens::revoked_at.is_null())
        .set(refresh_tokens::revoked_at.eq(now))
        .execute(conn)?)
}

/// Ends the session `token` belongs to (sign-out); false when no live session has it.
pub fn end(conn: &mut PgConnection, token: &str, now: DateTime<Utc>) -> Result<bool> {
    let family: Option<Uuid> = refresh_tokens::table
        .filter(refresh_tokens::token_hash.eq(digest(token)))
        .select(refresh_tokens::family)
        .first(conn)
        .optional()?;
    match family {
        Some(family) => Ok(revoke_family(conn, family, now)? > 0),
        None => Ok(false),
    }
}

/// Ends every session of `user_id`: for revocation and password changes, in the
/// transaction that bumps the user's token version.
pub fn end_all(conn: &mut PgConnection, user_id: Uuid, now: DateTime<Utc>) -> Result<usize> {
    Ok(diesel::update(refresh_tokens::table)
        .filter(refresh_tokens::user_id.eq(user_id))
        .filter(refresh_tokens::revoked_at.is_null())
        .set(refresh_tokens::revoked_at.eq(now))
        .execute(conn)?)
}

/// Each user's token version as this process last read it, trusted for `ttl`: the check
/// every authenticated request makes costs one primary-key read per user and `ttl` at
/// most, none in between. Only users that exist are remembered (a read that finds none
/// is not kept), so the map is bounded by the users table. A revocation made in this
/// process updates it at once ([`Versions::remember`]); one made by another (the CLI)
/// is seen within `ttl`.
#[derive(Debug)]
pub struct Versions {
    ttl: Duration,
    seen: Mutex<HashMap<Uuid, (i32, Instant)>>,
}

/// What the cache says of a token's version.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Cached {
    Current,
    Revoked,
    /// Not known, not fresh, or newer than the cache: read the database.
    Read,
}

fn against_cache(cached: Option<i32>, claimed: i32) -> Cached {
    match cached {
        Some(version) if version == claimed => Cached::Current,
        Some(version) if version > claimed => Cached::Revoked,
        _ => Cached::Read,
    }
}

const REVOKED: &str = "this token was revoked (signed out everywhere, password changed, or revoked by an \
     administrator): sign in again";

impl Versions {
    pub fn new(ttl: Duration) -> Versions {
        Versions {
            ttl,
            seen: Mutex::default(),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<Uuid, (i32, Instant)>> {
        self.seen.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn cached(&self, user: Uuid, now: Instant) -> Option<i32> {
        let (version, read_at) = *self.lock().get(&user)?;
        (now.saturating_duration_since(read_at) < self.ttl).then_some(version)
    }

    /// Records `user`'s current version (read, or just set by a revocation or sign-in).
    pub fn remember(&self, user: Uuid, version: i32) {
        self.lock().insert(user, (version, Instant::now()));
    }

    /// Admits a verified token of `user` claiming `claimed`, or refuses it (401): its user
    /// does not exist, or its version is not the user's current one. `read` gives the
    /// current version from the database (`None`: no such user); it runs only when the
    /// cache cannot answer.
    pub async fn admit<E, Fut>(
        &self,
        user: Uuid,
        claimed: i32,
        read: impl FnOnce() -> Fut,
    ) -> Result<(), E>
    where
        E: From<Error>,
        Fut: Future<Output = Result<Option<i32>, E>>,
    {
        match against_cache(self.cached(user, Instant::now()), claimed) {
            Cached::Current => return Ok(()),
            Cached::Revoked => return Err(Error::Unauthenticated(REVOKED.into()).into()),
            Cached::Read => {}
        }
        let Some(current) = read().await? else {
            self.lock().remove(&user);
            return Err(
                Error::Unauthenticated("the user of this token does not exist".into()).into(),
            );
        };
        self.remember(user, current);
        if current == claimed {
            Ok(())
        } else {
            Err(Error::Unauthenticated(REVOKED.into()).into())
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(now: DateTime<Utc>) -> Row {
        Row {
            id: Uuid::new_v4(),
            user_id: Uuid::new_v4(),
            family: Uuid::new_v4(),
            token_version: 3,
            expires_at: now + chrono::Duration::hours(8),
            used_at: None,
            revoked_at: None,
        }
    }

    #[test]
    fn a_refresh_token_serves_once_until_its_session_ends() {
        let now = Utc::now();
        let fresh = row(now);
        assert_eq!(judge(&fresh, now), Ok(()));
        let used = Row {
            used_at: Some(now),
            ..fresh.clone()
        };
        assert_eq!(judge(&used, now), Err(Refusal::Reused));
        assert!(Refusal::Reused.ends_family());
        let revoked = Row {
            revoked_at: Some(now),
            used_at: Some(now),
            ..fresh.clone()
        };
        assert_eq!(judge(&revoked, now), Err(Refusal::Revoked));
        assert!(!Refusal::Revoked.ends_family());
        assert_eq!(
            judge(&fresh, fresh.expires_at),
            Err(Refusal::Expired),
            "the end is exclusive"
        );
        assert_eq!(judge_user(3, Some(3)), Ok(3));
        assert_eq!(judge_user(3, Some(4)), Err(Refusal::VersionMoved));
        assert_eq!(judge_user(3, None), Err(Refusal::UserGone));
    }

    #[test]
    fn tokens_are_random_and_kept_as_digests() {
        let (a, b) = (new_token(), new_token());
        assert_ne!(a, b);
        assert_eq!(a.len(), 64);
        assert!(a.bytes().all(|c| c.is_ascii_hexdigit()));
        assert_eq!(digest(&a), digest(&a));
        assert_ne!(digest(&a), a);
        assert_eq!(digest(&a).len(), 64);
    }

    #[test]
    fn the_cache_answers_only_what_it_knows() {
        assert_eq!(against_cache(Some(2), 2), Cached::Current);
        assert_eq!(against_cache(Some(3), 2), Cached::Revoked);
        // A token newer than the cache: the cache is stale (a revocation elsewhere and a
        // new sign-in), so read.
        assert_eq!(against_cache(Some(1), 2), Cached::Read);
        assert_eq!(against_cache(None, 2), Cached::Read);
        let versions = Versions::new(Duration::from_secs(5));
        let user = Uuid::new_v4();
        versions.remember(user, 7);
        let now = Instant::now();
        assert_eq!(versions.cached(user, now), Some(7));
        assert_eq!(versions.cached(user, now + Duration::from_secs(6)), None);
        assert_eq!(Versions::new(Duration::ZERO).cached(user, now), None);
    }

    #[tokio::test]
    async fn a_token_is_held_to_its_users_current_version() {
        let versions = Versions::new(Duration::from_secs(60));
        let user = Uuid::new_v4();
        let reads = std::sync::atomic::AtomicUsize::new(0);
        let read = |found: Option<i32>| {
            reads.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
            async move { Ok::<_, Error>(found) }
        };
        let code = |r: Result<(), Error>| r.map_err(|e| e.code());
        assert_eq!(
            code(versions.admit(user, 1, || read(Some(1))).await),
            Ok(())
        );
        // Cached: no second read.
        assert_eq!(
            code(versions.admit(user, 1, || read(Some(1))).await),
            Ok(())
        );
        assert_eq!(reads.load(std::sync::atomic::Ordering::SeqCst), 1);
        // Revoked here: known at once.
        versions.remember(user, 2);
        assert_eq!(
            code(versions.admit(user, 1, || read(Some(2))).await),
            Err("unauthenticated")
        );
        assert_eq!(reads.load(std::sync::atomic::Ordering::SeqCst), 1);
        // A user that does not exist, whatever the token says.
        let nobody = Uuid::new_v4();
        assert_eq!(
            code(versions.admit(nobody, 0, || read(None)).await),
            Err("unauthenticated")
        );
        assert_eq!(versions.cached(nobody, Instant::now()), None);
    }
}
