//! Users and departments of one district: seeded from the tenant file, added by the CLI.

use diesel::prelude::*;
use uuid::Uuid;

use crate::auth::password;
use crate::case::workflow::Role;
use crate::config::Tenant;
use crate::error::{Error, Result};
use crate::schema::{departments, users};

#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = users)]
pub struct User {
    pub id: Uuid,
    pub username: String,
    pub display_name: String,
    pub password_hash: String,
    pub roles: Vec<Role>,
    pub department_code: Option<String>,
    /// Held to every access token's `ver`: a bump revokes the user's tokens.
    pub token_version: i32,
}

/// What `citygrid user add` and the seed both create.
#[derive(Debug, Clone)]
pub struct NewUserSpec {
    pub username: String,
    pub display_name: String,
    pub password: String,
    pub roles: Vec<Role>,
    pub department: Option<String>,
}

/// Brings departments in line with the tenant file (added or renamed, never deleted:
/// cases refer to them) and creates seed users that do not exist yet.
pub fn sync_reference_data(conn: &mut PgConnection, tenant: &Tenant) -> Result<usize> {
    conn.transaction(|conn| {
        for d in &tenant.config.departments {
            diesel::insert_into(departments::table)
                .values((
                    departments::code.eq(&d.code),
                    departments::name.eq(&d.name),
                    departments::kind.eq(d.kind),
                    departments::street_code.eq(&d.street),
                ))
                .on_conflict(departments::code)
                .do_update()
                .set((
                    departments::name.eq(&d.name),
                    departments::kind.eq(d.kind),
                    departments::street_code.eq(&d.street),
                ))
                .execute(conn)?;
        }
        let existing: Vec<String> = users::table.select(users::username).load(conn)?;
        let mut created = 0;
        for seed in &tenant.config.users {
            if existing.contains(&seed.username) {
                continue;
            }
            use secrecy::ExposeSecret;
            add(
                conn,
                tenant,
                &NewUserSpec {
                    username: seed.username.clone(),
                    display_name: seed.name.clone(),
                    password: seed.password.expose_secret().to_owned(),
                    roles: seed.roles.iter().filter_map(|r| Role::parse(r)).collect(),
                    department: seed.department.clone(),
                },
            )?;
            created += 1;
        }
        Ok(created)
    })
}

pub fn add(conn: &mut PgConnection, tenant: &Tenant, spec: &NewUserSpec) -> Result<User> {
    if spec.username.trim().is_empty() {
        return Err(Error::invalid("username", "must not be empty"));
    }
    check_password(&spec.password)?;
    if spec.roles.is_empty() {
        return Err(Error::invalid("roles", "a user needs at least one role"));
    }
    match (&spec.department, spec.roles.contains(&Role::Handler)) {
        (None, true) => {
            return Err(Error::invalid(
                "department",
                "a handler must belong to a department",
            ));
        }
        (Some(d), _) if tenant.department(d).is_none() => {
            return Err(Error::invalid(
                "department",
                format!("no department {d:?} in district {}", tenant.code()),
            ));
        }
        _ => {}
    }
    let hash = password::hash(&spec.password)?;
    diesel::insert_into(users::table)
        .values((
            users::id.eq(Uuid::new_v4()),
            users::username.eq(&spec.username),
            users::display_name.eq(&spec.display_name),
            users::password_hash.eq(hash),
            users::roles.eq(&spec.roles),
            users::department_code.eq(&spec.department),
        ))
        .returning(User::as_returning())
        .get_result(conn)
        .map_err(|e| match e {
            diesel::result::Error::DatabaseError(
                diesel::result::DatabaseErrorKind::UniqueViolation,
                _,
            ) => Error::conflict(
                "username_taken",
                format!("user {:?} already exists", spec.username),
            ),
            other => other.into(),
        })
}

pub fn find_by_username(conn: &mut PgConnection, username: &str) -> Result<Option<User>> {
    Ok(users::table
        .filter(users::username.eq(username))
        .select(User::as_select())
        .first(conn)
        .optional()?)
}

fn check_password(password: &str) -> Result<()> {
    if password.chars().count() < 8 {
        return Err(Error::invalid("password", "must be at least 8 characters"));
    }
    Ok(())
}

/// Revokes every token of `username`: bumps their token version (every access token
/// issued before is refused from now on) and ends every session (refresh token) of theirs.
/// Returns the user with the new version.
pub fn revoke_tokens(conn: &mut PgConnection, username: &str) -> Result<User> {
    conn.transaction(|conn| {
        let user: User = diesel::update(users::table)
            .filter(users::username.eq(username))
            .set(users::token_version.eq(users::token_version + 1))
            .returning(User::as_returning())
            .get_result(conn)
            .optional()?
            .ok_or_else(|| Error::not_found(format!("user {username:?}")))?;
        citygrid_kit::session::end_all(conn, user.id, chrono::Utc::now())?;
        Ok(user)
    })
}

/// Sets a new password for `username`, revoking every token they hold (as
/// [`revoke_tokens`]): whoever knew the old one is signed out.
pub fn set_password(conn: &mut PgConnection, username: &str, password: &str) -> Result<User> {
    check_password(password)?;
    let hash = password::hash(password)?;
    conn.transaction(|conn| {
        let user = revoke_tokens(conn, username)?;
        diesel::update(users::table.find(user.id))
            .set(users::password_hash.eq(hash))
            .execute(conn)?;
        Ok(user)
    })
}

pub fn find_by_id(conn: &mut PgConnection, id: Uuid) -> Result<Option<User>> {
    Ok(users::table
        .find(id)
        .select(User::as_select())
        .first(conn)
        .optional()?)
}
