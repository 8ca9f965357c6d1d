//! A database per test: created under a unique name, dropped (with its connections) when
//! the guard goes, even when the test panicked.

use diesel::prelude::*;

/// `postgres://…` without a database name; `CITYGRID_TEST_DATABASE_URL` overrides it.
pub fn admin_url() -> String {
    std::env::var("CITYGRID_TEST_DATABASE_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432".to_owned())
}

/// A connection to the server's `postgres` database, for CREATE and DROP DATABASE.
pub fn admin() -> PgConnection {
    PgConnection::establish(&format!("{}/postgres", admin_url()))
        .expect("PostgreSQL admin connection (run ops/up)")
}

pub fn create_database(name: &str, template: Option<&str>) {
    let template = template.map_or_else(String::new, |t| format!(" TEMPLATE {t}"));
    diesel::sql_query(format!("CREATE DATABASE {name}{template}"))
        .execute(&mut admin())
        .expect("create database");
}

/// Drops a database from a thread of its own (a `Drop` may run inside an async runtime).
pub fn drop_database(name: &str) {
    let name = name.to_owned();
    std::thread::spawn(move || {
        if let Ok(mut admin) = PgConnection::establish(&format!("{}/postgres", admin_url())) {
            let _ = diesel::sql_query(format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
                .execute(&mut admin);
        }
    })
    .join()
    .ok();
}

/// A database that exists while the guard lives.
#[derive(Debug)]
pub struct TestDatabase {
    pub name: String,
    pub url: String,
}

impl TestDatabase {
    /// A new empty database named `<prefix>_<uuid>`.
    pub fn new(prefix: &str) -> TestDatabase {
        Self::from_template(prefix, None)
    }

    pub fn from_template(prefix: &str, template: Option<&str>) -> TestDatabase {
        let name = format!("{prefix}_{}", uuid::Uuid::new_v4().simple());
        create_database(&name, template);
        TestDatabase {
            url: format!("{}/{name}", admin_url()),
            name,
        }
    }
}

impl Drop for TestDatabase {
    fn drop(&mut self) {
        drop_database(&self.name);
    }
}
