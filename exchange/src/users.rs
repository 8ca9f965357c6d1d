//! The people of the city command center (`city_users`) as sign-in and the token checks
//! read them, and the revocation of their tokens (`citygrid city revoke`).

use diesel::prelude::*;
use uuid::Uuid;

use crate::api::CityRole;
use crate::schema::city_users;
use crate::{Error, Result};

/// A city user as a token is made from it.
#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = city_users)]
pub struct CityUserRow {
    pub id: Uuid,
    pub username: String,
    pub roles: Vec<CityRole>,
    /// Held to every access token's `ver`: a bump revokes the user's tokens.
    pub token_version: i32,
    /// A district officer's district (their token reaches only its statement).
    pub district: Option<String>,
}

/// The user and their password hash, for sign-in.
pub fn find_by_username(
    conn: &mut PgConnection,
    username: &str,
) -> Result<Option<(CityUserRow, String)>> {
    Ok(city_users::table
        .filter(city_users::username.eq(username))
        .select((CityUserRow::as_select(), city_users::password_hash))
        .first(conn)
        .optional()?)
}

pub fn find_by_id(conn: &mut PgConnection, id: Uuid) -> Result<Option<CityUserRow>> {
    Ok(city_users::table
        .find(id)
        .select(CityUserRow::as_select())
        .first(conn)
        .optional()?)
}

/// The user's current token version (`None`: no such user): one primary-key read.
pub fn token_version(conn: &mut PgConnection, id: Uuid) -> Result<Option<i32>> {
    Ok(city_users::table
        .find(id)
        .select(city_users::token_version)
        .first(conn)
        .optional()?)
}

/// Revokes every token of `username`: bumps their token version (every access token issued
/// before is refused from now on, within `[auth] version_cache_seconds` for a running
/// exchange) and ends every session of theirs. Returns the user with the new version.
pub fn revoke_tokens(conn: &mut PgConnection, username: &str) -> Result<CityUserRow> {
    conn.transaction(|conn| {
        let user: CityUserRow = diesel::update(city_users::table)
            .filter(city_users::username.eq(username))
            .set(city_users::token_version.eq(city_users::token_version + 1))
            .returning(CityUserRow::as_returning())
            .get_result(conn)
            .optional()?
            .ok_or_else(|| {
                Error::Kit(citygrid_kit::Error::NotFound(format!(
                    "city user {username:?}"
                )))
            })?;
        citygrid_kit::session::end_all(conn, user.id, chrono::Utc::now())?;
        Ok(user)
    })
}
