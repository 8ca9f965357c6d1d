//! `TestApp`: one district instance (the sample 上城区 tenant) on port 0 with its own
//! database, and the HTTP calls the tests make.

use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use citygrid_platform::app::{self, AppState};
use citygrid_platform::config::ExchangeSection;
use citygrid_platform::config::Tenant;
use citygrid_platform::db::{self, DbPool};
use citygrid_platform::uplink::Uplink;
use citygrid_platform::uplink::relay::Relay;
use citygrid_test_support::broker::TestBroker;
use citygrid_test_support::pg::{self, admin_url};
use diesel::prelude::*;
use serde_json::{Value, json};
use sha2::{Digest, Sha256};

pub const PASSWORD: &str = "demo-pass-1";
/// Inside the 330102 boundary.
pub const LON: f64 = 120.20;
pub const LAT: f64 = 30.26;

pub use citygrid_test_support::png;

pub fn tenant_path(code: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join(format!("../tenants/hangzhou/districts/{code}.toml"))
}

/// The template is named after the migrations and the tenant file, so a change to
/// either builds a new one; an advisory lock lets parallel test processes share it.
fn template(tenant: &Tenant) -> String {
    let mut hasher = Sha256::new();
    let migrations = Path::new(env!("CARGO_MANIFEST_DIR")).join("migrations");
    let mut dirs: Vec<_> = std::fs::read_dir(&migrations)
        .expect("migrations dir")
        .flatten()
        .map(|e| e.path())
        .collect();
    dirs.sort();
    for dir in dirs {
        hasher.update(std::fs::read(dir.join("up.sql")).unwrap_or_default());
    }
    hasher.update(std::fs::read(&tenant.file).expect("tenant file"));
    let name = format!(
        "citygrid_tpl_{}_{}",
        tenant.code(),
        &hex::encode(hasher.finalize())[..12]
    );
    let mut admin = pg::admin();
    diesel::sql_query("SELECT pg_advisory_lock(72727)")
        .execute(&mut admin)
        .expect("lock");
    #[derive(QueryableByName)]
    struct Exists {
        #[diesel(sql_type = diesel::sql_types::Bool)]
        exists: bool,
    }
    let exists = diesel::sql_query(format!(
        "SELECT EXISTS (SELECT 1 FROM pg_database WHERE datname = '{name}') AS exists"
    ))
    .get_result::<Exists>(&mut admin)
    .expect("query")
    .exists;
    if !exists {
        let building = format!("{name}_building");
        diesel::sql_query(format!("DROP DATABASE IF EXISTS {building}"))
            .execute(&mut admin)
            .expect("drop");
        diesel::sql_query(format!("CREATE DATABASE {building}"))
            .execute(&mut admin)
            .expect("create");
        {
            let mut conn = PgConnection::establish(&format!("{}/{building}", admin_url()))
                .expect("template connection");
            db::migrate(&mut conn).expect("migrate");
            citygrid_platform::user::sync_reference_data(&mut conn, tenant).expect("seed");
        }
        diesel::sql_query(format!("ALTER DATABASE {building} RENAME TO {name}"))
            .execute(&mut admin)
            .expect("rename");
        // Templates of older migrations are no longer used by anyone.
        #[derive(QueryableByName)]
        struct Name {
            #[diesel(sql_type = diesel::sql_types::Text)]
            datname: String,
        }
        let stale = diesel::sql_query(format!(
            "SELECT datname::text FROM pg_database WHERE datname LIKE 'citygrid_tpl_{}_%' AND datname <> '{name}'",
            tenant.code()
        ))
        .load::<Name>(&mut admin)
        .expect("templates");
        for old in stale {
            diesel::sql_query(format!(
                "DROP DATABASE IF EXISTS {} WITH (FORCE)",
                old.datname
            ))
            .execute(&mut admin)
            .expect("drop stale template");
        }
    }
    diesel::sql_query("SELECT pg_advisory_unlock(72727)")
        .execute(&mut admin)
        .expect("unlock");
    name
}

pub struct TestApp {
    pub base: String,
    pub http: reqwest::Client,
    pub pool: DbPool,
    pub tenant: Arc<Tenant>,
    db_name: String,
    data_dir: PathBuf,
    server: actix_web::dev::ServerHandle,
    /// The outbox relay, when the test configured an exchange.
    relay: Option<tokio::task::JoinHandle<()>>,
    pub uplink: Arc<Uplink>,
    /// The first instance on a database drops it; a restarted one leaves it.
    owns_database: bool,
}

impl TestApp {
    pub async fn spawn() -> TestApp {
        Self::spawn_with(|_| {}).await
    }

    /// Spawns the 330102 instance after `adjust` has changed its configuration.
    pub async fn spawn_with(adjust: impl FnOnce(&mut Tenant)) -> TestApp {
        let mut tenant = Tenant::load(&tenant_path("330102")).expect("sample tenant");
        let template = tokio::task::block_in_place(|| template(&tenant));
        let db_name = format!("citygrid_t_{}", uuid::Uuid::new_v4().simple());
        tokio::task::block_in_place(|| pg::create_database(&db_name, Some(&template)));
        tenant.config.database.url = format!("{}/{db_name}", admin_url()).into();
        tenant.config.database.pool_size = 4;
        let data_dir = std::env::temp_dir().join(&db_name);
        tenant.data_dir = data_dir.clone();
        // No relay unless the test points the instance at its own vhost.
        tenant.config.exchange = None;
        adjust(&mut tenant);
        Self::start(tenant, db_name, data_dir, true)
    }

    /// A second instance on this instance's database and files, as after a restart with
    /// a changed tenant configuration (say, an edited command manual).
    pub async fn restarted_with(&self, adjust: impl FnOnce(&mut Tenant)) -> TestApp {
        let mut tenant = Tenant::load(&tenant_path("330102")).expect("sample tenant");
        tenant.config.database.url = self.tenant.config.database.url.clone();
        tenant.config.database.pool_size = 4;
        tenant.data_dir = self.data_dir.clone();
        tenant.config.exchange = None;
        adjust(&mut tenant);
        Self::start(tenant, self.db_name.clone(), self.data_dir.clone(), false)
    }

    fn start(tenant: Tenant, db_name: String, data_dir: PathBuf, owns_database: bool) -> TestApp {
        let tenant = Arc::new(tenant);
        let pool = db::pool(&tenant.config.database).expect("pool");
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
        let base = format!("http://{}", listener.local_addr().expect("addr"));
        let state = AppState::new(tenant.clone(), pool.clone());
        let uplink = state.uplink.clone();
        let relay = Relay::new(&tenant, pool.clone(), state.media.clone(), uplink.clone())
            .map(|relay| tokio::spawn(relay.run()));
        let server = app::server(state, listener, Some(2)).expect("server");
        let handle = server.handle();
        tokio::spawn(server);
        TestApp {
            base,
            http: reqwest::Client::new(),
            pool,
            tenant,
            db_name,
            data_dir,
            server: handle,
            relay,
            uplink,
            owns_database,
        }
    }

    pub async fn login(&self, username: &str) -> String {
        let (status, body) = self
            .post(
                "/api/v1/auth/token",
                None,
                json!({ "username": username, "password": PASSWORD }),
            )
            .await;
        assert_eq!(status, 200, "login {username}: {body}");
        body["token"].as_str().expect("token").to_owned()
    }

    pub async fn send(&self, request: reqwest::RequestBuilder) -> (u16, Value) {
        let response = request.send().await.expect("request");
        let status = response.status().as_u16();
        let bytes = response.bytes().await.expect("body");
        let body = serde_json::from_slice(&bytes).unwrap_or(Value::Null);
        (status, body)
    }

    pub async fn post(&self, path: &str, token: Option<&str>, body: Value) -> (u16, Value) {
        let mut request = self.http.post(format!("{}{path}", self.base)).json(&body);
        if let Some(token) = token {
            request = request.bearer_auth(token);
        }
        self.send(request).await
    }

    pub async fn get(&self, path: &str, token: &str) -> (u16, Value) {
        self.send(
            self.http
                .get(format!("{}{path}", self.base))
                .bearer_auth(token),
        )
        .await
    }

    /// Uploads `bytes` as a PNG (`Content-Type: image/png`).
    pub async fn upload(&self, token: Option<&str>, bytes: Vec<u8>) -> (u16, Value) {
        let mut request = self
            .http
            .post(format!("{}/api/v1/media", self.base))
            .header("content-type", "image/png")
            .body(bytes);
        if let Some(token) = token {
            request = request.bearer_auth(token);
        }
        self.send(request).await
    }

    /// Uploads a fresh photo and returns its hash.
    pub async fn photo(&self, token: &str) -> String {
        let (status, body) = self
            .upload(Some(token), png(&uuid::Uuid::new_v4().to_string()))
            .await;
        assert_eq!(status, 201, "{body}");
        body["sha256"].as_str().expect("sha256").to_owned()
    }

    /// A supervisor report of exposed rubbish inside the district.
    pub async fn supervisor_report(&self, supervisor: &str) -> Value {
        let photo = self.photo(supervisor).await;
        let (status, case) = self
            .post(
                "/api/v1/cases",
                Some(supervisor),
                json!({ "description": "暴露垃圾", "lon": LON, "lat": LAT, "photos": [photo] }),
            )
            .await;
        assert_eq!(status, 201, "{case}");
        case
    }

    /// Takes a step quoting the case's version.
    pub async fn step(
        &self,
        token: &str,
        case: &Value,
        action: &str,
        mut body: Value,
    ) -> (u16, Value) {
        body["version"] = case["version"].clone();
        let id = case["id"].as_str().expect("id");
        self.post(&format!("/api/v1/cases/{id}/{action}"), Some(token), body)
            .await
    }

    /// Takes a step that must succeed; returns the updated case.
    pub async fn ok_step(&self, token: &str, case: &Value, action: &str, body: Value) -> Value {
        let (status, updated) = self.step(token, case, action, body).await;
        assert_eq!(status, 200, "{action}: {updated}");
        updated
    }

    /// 作废: the operator asks, the shift leader approves. Returns the cancelled case.
    pub async fn cancel(&self, case: &Value, reason: &str) -> Value {
        let (op, shift) = (self.login("sc-op1").await, self.login("sc-shift1").await);
        let asked = self
            .ok_step(
                &op,
                case,
                "cancellation/request",
                json!({ "reason": reason }),
            )
            .await;
        let cancelled = self
            .ok_step(&shift, &asked, "cancellation/approve", json!({}))
            .await;
        assert_eq!(cancelled["state"], "cancelled", "{cancelled}");
        cancelled
    }

    /// A supervisor report of rubbish, filed as event 0102.
    pub async fn filed_case(&self) -> Value {
        let (sup, op) = (self.login("sc-sup1").await, self.login("sc-op1").await);
        let case = self.supervisor_report(&sup).await;
        self.ok_step(&op, &case, "file", json!({ "category": rubbish() }))
            .await
    }

    /// A filed case dispatched to `department`.
    pub async fn dispatched_case(&self, department: &str) -> Value {
        let case = self.filed_case().await;
        let disp = self.login("sc-disp1").await;
        self.ok_step(
            &disp,
            &case,
            "dispatch",
            json!({ "department": department }),
        )
        .await
    }

    /// Whether `case` is in the work queue of the holder of `token`.
    pub async fn in_queue(&self, token: &str, case: &Value) -> bool {
        let (status, queue) = self.get("/api/v1/queue", token).await;
        assert_eq!(status, 200, "{queue}");
        queue
            .as_array()
            .expect("queue")
            .iter()
            .any(|c| c["id"] == case["id"])
    }

    /// The case and its records as the API shows them.
    pub async fn detail(&self, case: &Value) -> Value {
        let token = self.login("sc-lead1").await;
        let (status, body) = self
            .get(
                &format!("/api/v1/cases/{}", case["id"].as_str().expect("id")),
                &token,
            )
            .await;
        assert_eq!(status, 200, "{body}");
        body
    }
}

impl Drop for TestApp {
    fn drop(&mut self) {
        let server = self.server.clone();
        drop(server.stop(false));
        if let Some(relay) = &self.relay {
            relay.abort();
        }
        if !self.owns_database {
            return;
        }
        pg::drop_database(&self.db_name);
        let _ = std::fs::remove_dir_all(&self.data_dir);
    }
}

/// Event 0102 暴露垃圾 (exposed rubbish).
pub fn rubbish() -> Value {
    json!({ "kind": "event", "major": "01", "minor": "02" })
}

pub fn error_code(body: &Value) -> &str {
    body["error"]["code"].as_str().unwrap_or("<no error code>")
}

/// The `[exchange]` section a district instance uses for a test broker's vhost.
pub fn exchange_section(broker: &TestBroker, code: &str) -> ExchangeSection {
    let account = broker.account(code);
    ExchangeSection {
        broker: citygrid_test_support::broker::amqp_host(),
        vhost: broker.vhost.clone(),
        user: account.user.clone(),
        password: account.password.clone(),
        retention_days: 30,
    }
}
