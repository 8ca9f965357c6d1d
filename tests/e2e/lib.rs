//! The end-to-end harness: the `citygrid` binary started as district instances and as the
//! city exchange, each on databases of its own, all on one vhost of the real RabbitMQ made
//! for the test. What an operator runs, not an in-process copy of it.
//!
//! The binary is `CITYGRID_BIN`, or `citygrid` next to the test's build directory
//! (`ops/test` builds it first).

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use citygrid_kit::broker::{self, Account, Admin};
use citygrid_platform::config::Tenant;
use citygrid_schemas::amqp;
use citygrid_test_support::broker::publish_raw;
use citygrid_test_support::pg::TestDatabase;
use citygrid_test_support::repo;
use diesel::prelude::*;
use secrecy::ExposeSecret;

pub use citygrid_test_support::png;
use serde_json::{Value, json};

pub const PASSWORD: &str = "demo-pass-1";

pub fn citygrid_bin() -> PathBuf {
    if let Ok(bin) = std::env::var("CITYGRID_BIN") {
        return bin.into();
    }
    let exe = std::env::current_exe().expect("test binary path");
    // <target>/debug/deps/e2e-<hash> → <target>/debug/citygrid
    let bin = exe
        .parent()
        .and_then(Path::parent)
        .map(|d| d.join("citygrid"))
        .expect("target dir");
    assert!(
        bin.exists(),
        "{} is missing: build it first (cargo build -p citygrid) or set CITYGRID_BIN",
        bin.display()
    );
    bin
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free port")
}

/// One `citygrid` process that can be killed and started again with the same settings.
pub struct Process {
    pub name: String,
    args: Vec<String>,
    env: Vec<(String, String)>,
    log: PathBuf,
    child: Option<Child>,
}

impl Process {
    fn start(&mut self) {
        let log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&self.log)
            .expect("log file");
        let child = Command::new(citygrid_bin())
            .args(&self.args)
            .envs(self.env.iter().map(|(k, v)| (k, v)))
            .env("RUST_LOG", "info")
            .current_dir(repo())
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()
            .expect("start citygrid");
        self.child = Some(child);
    }

    /// SIGKILL: no shutdown, no flush, as when a machine dies.
    pub fn kill(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    pub fn restart(&mut self) {
        self.kill();
        self.start();
    }

    pub fn log(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    /// The running process's id (for `/proc/<pid>/status`), if it runs.
    pub fn pid(&self) -> Option<u32> {
        self.child.as_ref().map(Child::id)
    }
}

impl Drop for Process {
    fn drop(&mut self) {
        self.kill();
    }
}

/// A district instance started by the harness.
pub struct District {
    pub code: String,
    pub base: String,
    pub tenant: Tenant,
    pub process: Process,
    pub database_url: String,
}

/// The city exchange started by the harness.
pub struct City {
    pub base: String,
    pub process: Process,
    pub warehouse_url: String,
}

/// A vhost with the sample city's broker users and topology, databases, processes.
pub struct World {
    pub vhost: String,
    admin: Admin,
    id: String,
    databases: Vec<TestDatabase>,
    dir: PathBuf,
    /// The city's folder: `city.toml` and `districts/<code>.toml` (the sample city's, or
    /// one [`World::with_districts`] wrote).
    city_dir: PathBuf,
    /// Processes started with `--simulated-clock` ([`World::on_simulated_clock`]).
    simulated_clock: bool,
}

/// The districts of the sample city (tenants/hangzhou).
pub const SAMPLE_DISTRICTS: [&str; 3] = ["330102", "330105", "330106"];

/// Hangzhou's districts (GB/T 2260, as redrawn in 2021): code, name, population, area in
/// km² (approximate; registry values for [`World::with_districts`]).
pub const HANGZHOU: [(&str, &str, u64, f64); 10] = [
    ("330102", "上城区", 1_323_500, 122.0),
    ("330105", "拱墅区", 1_188_800, 119.0),
    ("330106", "西湖区", 1_145_100, 263.0),
    ("330108", "滨江区", 504_000, 72.0),
    ("330109", "萧山区", 1_510_000, 931.0),
    ("330110", "余杭区", 1_170_000, 942.0),
    ("330111", "富阳区", 835_000, 1_821.0),
    ("330112", "临安区", 635_000, 3_119.0),
    ("330113", "临平区", 1_175_000, 286.0),
    ("330114", "钱塘区", 769_000, 531.0),
];

impl World {
    /// The sample city: its three districts, its own files.
    pub async fn new() -> World {
        Self::provisioned(&SAMPLE_DISTRICTS, repo().join("tenants/hangzhou")).await
    }

    /// A city of the given districts (codes of [`HANGZHOU`]), its files written into the
    /// world's temporary folder: the city's registry names exactly these districts; a
    /// district outside the sample city gets a copy of 上城区's tenant file under its own
    /// code, name and broker user (and of its outline, grid, …). Every district file lifts the
    /// staff write limit (these worlds drive one user per role at machine speed) and has a
    /// database pool of 4.
    pub async fn with_districts(codes: &[&str]) -> World {
        let mut world = Self::provisioned(codes, PathBuf::new()).await;
        world.city_dir = write_city(&world.dir, codes);
        world
    }

    async fn provisioned(codes: &[&str], city_dir: PathBuf) -> World {
        let id = uuid::Uuid::new_v4().simple().to_string()[..12].to_owned();
        let vhost = format!("cge-{id}");
        let admin = Admin::new("http://127.0.0.1:15672", "guest", "guest");
        // The sample users (demo passwords) get permissions on this vhost too: RabbitMQ
        // users are global, their permissions are per vhost.
        let city = Account::new("citygrid-city", "demo-only-amqp-city");
        let districts: Vec<(String, Account)> = codes
            .iter()
            .map(|c| {
                (
                    c.to_string(),
                    Account::new(format!("citygrid-{c}"), format!("demo-only-amqp-{c}")),
                )
            })
            .collect();
        broker::provision(&admin, &vhost, &city, &districts)
            .await
            .expect("provision (run ops/up)");
        let connection = lapin::Connection::connect(
            broker::amqp_uri("127.0.0.1:5672", &city, &vhost).expose_secret(),
            lapin::ConnectionProperties::default(),
        )
        .await
        .expect("city connection");
        let channel = connection.create_channel().await.expect("channel");
        let codes: Vec<String> = codes.iter().map(|c| c.to_string()).collect();
        broker::declare(&channel, &codes).await.expect("topology");
        let _ = connection.close(200, "declared".into()).await;
        let dir = std::env::temp_dir().join(format!("citygrid-e2e-{id}"));
        std::fs::create_dir_all(&dir).expect("temp dir");
        World {
            vhost,
            admin,
            id,
            databases: Vec::new(),
            dir,
            city_dir,
            simulated_clock: false,
        }
    }

    /// Starts the processes of this world with `--simulated-clock`, for `citygrid simulate`.
    pub fn on_simulated_clock(mut self) -> World {
        self.simulated_clock = true;
        self
    }

    fn clock_args(&self) -> impl Iterator<Item = String> {
        self.simulated_clock
            .then(|| "--simulated-clock".to_owned())
            .into_iter()
    }

    /// Runs `citygrid simulate` over the city and its one district (the district's
    /// database and media folder come through the environment, which names one), with
    /// `args`; returns what it printed.
    pub fn simulate(&self, city: &City, district: &District, args: &[&str]) -> String {
        let output = Command::new(citygrid_bin())
            .args(["simulate", "--city"])
            .arg(self.city_dir.join("city.toml"))
            .arg("--district")
            .arg(self.tenant_file(&district.code))
            .args(args)
            .env("CITYGRID_DATABASE_URL", &district.database_url)
            .env("CITYGRID_DATA_DIR", self.dir.join(&district.code))
            .env("CITYGRID_WAREHOUSE_URL", &city.warehouse_url)
            .env("RUST_LOG", "warn")
            .current_dir(repo())
            .output()
            .expect("citygrid simulate");
        let stdout = String::from_utf8_lossy(&output.stdout).into_owned();
        assert!(
            output.status.success(),
            "{stdout}\n{}",
            String::from_utf8_lossy(&output.stderr)
        );
        stdout
    }

    /// The tenant file of district `code`.
    pub fn tenant_file(&self, code: &str) -> PathBuf {
        self.city_dir.join(format!("districts/{code}.toml"))
    }

    fn database(&mut self, what: &str) -> String {
        let database = TestDatabase::new(&format!("citygrid_e2e_{}_{what}", self.id));
        let url = database.url.clone();
        self.databases.push(database);
        url
    }

    pub async fn district(&mut self, code: &str) -> District {
        let file = self.tenant_file(code);
        let tenant = Tenant::load(&file).expect("tenant file");
        let database_url = self.database(code);
        let port = free_port();
        let mut process = Process {
            name: format!("district {code}"),
            args: vec![
                "district".into(),
                "serve".into(),
                "--tenant".into(),
                file.display().to_string(),
                "--workers".into(),
                "2".into(),
                "--timer-seconds".into(),
                "1".into(),
            ]
            .into_iter()
            .chain(self.clock_args())
            .collect(),
            env: vec![
                ("CITYGRID_DATABASE_URL".into(), database_url.clone()),
                ("CITYGRID_HTTP_BIND".into(), format!("127.0.0.1:{port}")),
                ("CITYGRID_AMQP_VHOST".into(), self.vhost.clone()),
                (
                    "CITYGRID_DATA_DIR".into(),
                    self.dir.join(code).display().to_string(),
                ),
            ],
            log: self.dir.join(format!("{code}.log")),
            child: None,
        };
        process.start();
        let district = District {
            code: code.to_owned(),
            base: format!("http://127.0.0.1:{port}"),
            tenant,
            process,
            database_url,
        };
        wait_ready(&district.base, &district.process).await;
        district
    }

    pub async fn city(&mut self) -> City {
        let warehouse_url = self.database("city");
        let port = free_port();
        let mut process = Process {
            name: "city".into(),
            args: vec![
                "city".into(),
                "serve".into(),
                "--config".into(),
                self.city_dir.join("city.toml").display().to_string(),
            ]
            .into_iter()
            .chain(self.clock_args())
            .collect(),
            env: vec![
                ("CITYGRID_WAREHOUSE_URL".into(), warehouse_url.clone()),
                (
                    "CITYGRID_CITY_HTTP_BIND".into(),
                    format!("127.0.0.1:{port}"),
                ),
                ("CITYGRID_BROKER_VHOST".into(), self.vhost.clone()),
                ("CITYGRID_INTAKE_GAP_SECONDS".into(), "2".into()),
            ],
            log: self.dir.join("city.log"),
            child: None,
        };
        process.start();
        let city = City {
            base: format!("http://127.0.0.1:{port}"),
            process,
            warehouse_url,
        };
        wait_ready(&city.base, &city.process).await;
        city
    }

    /// Cuts a district off the broker: its permissions on the vhost go, its connections
    /// are closed. Its instance keeps working and queues what it cannot send.
    pub async fn cut_off(&self, code: &str) {
        let user = format!("citygrid-{code}");
        self.admin
            .delete_permissions(&self.vhost, &user)
            .await
            .expect("revoke");
        // The management API lists a connection once its stats arrive (every 5 s).
        let deadline = tokio::time::Instant::now() + Duration::from_secs(15);
        loop {
            let open = self
                .admin
                .connections_of(&self.vhost, &user)
                .await
                .expect("connections");
            for name in &open {
                let _ = self.admin.close_connection(name).await;
            }
            if !open.is_empty() || tokio::time::Instant::now() > deadline {
                return;
            }
            tokio::time::sleep(Duration::from_millis(250)).await;
        }
    }

    /// Gives a district its permissions back.
    pub async fn reconnect(&self, code: &str) {
        self.admin
            .put_permissions(
                &self.vhost,
                &format!("citygrid-{code}"),
                &amqp::district_permissions(code),
            )
            .await
            .expect("permissions");
    }

    /// Publishes raw bytes as district `code`'s broker user, as a broken or hostile
    /// system of that district might.
    pub async fn publish_as(
        &self,
        code: &str,
        key: &str,
        message_id: &str,
        user_id: Option<&str>,
        payload: &[u8],
    ) {
        let account = Account::new(format!("citygrid-{code}"), format!("demo-only-amqp-{code}"));
        let connection = lapin::Connection::connect(
            broker::amqp_uri("127.0.0.1:5672", &account, &self.vhost).expose_secret(),
            lapin::ConnectionProperties::default(),
        )
        .await
        .expect("district connection");
        publish_raw(&connection, key, message_id, user_id, payload).await;
    }

    /// Runs `citygrid district digest` for a district (today so far).
    pub fn digest(&self, district: &District) -> String {
        let file = self.tenant_file(&district.code);
        let output = Command::new(citygrid_bin())
            .args([
                "district",
                "digest",
                "--tenant",
                &file.display().to_string(),
            ])
            .env("CITYGRID_DATABASE_URL", &district.database_url)
            .env("CITYGRID_DATA_DIR", self.dir.join(&district.code))
            .current_dir(repo())
            .output()
            .expect("citygrid district digest");
        assert!(
            output.status.success(),
            "{}",
            String::from_utf8_lossy(&output.stderr)
        );
        String::from_utf8_lossy(&output.stdout).into_owned()
    }
}

/// The city file without the `[[ledger.leaders]]` of districts not in `codes` (the city
/// refuses a leader of a district it does not have).
fn without_other_leaders(text: &str, codes: &[&str]) -> String {
    let mut kept = String::new();
    let mut skipping = false;
    let mut lines = text.lines().peekable();
    while let Some(line) = lines.next() {
        if line.starts_with('[') {
            skipping = line == "[[ledger.leaders]]" && {
                let block: Vec<&str> = lines.clone().take_while(|l| !l.starts_with('[')).collect();
                !block.iter().any(|l| {
                    codes
                        .iter()
                        .any(|c| l.trim() == format!("district = \"{c}\""))
                })
            };
        }
        if !skipping {
            kept.push_str(line);
            kept.push('\n');
        }
    }
    kept
}

/// Writes a city of `codes` under `dir`: `<dir>/tenants/hangzhou/` laid out as the sample
/// city (its files and folders linked, `city.toml` and `districts/` written) and
/// `<dir>/tenants/calendars` linked to the real one, so every relative path in the files
/// resolves as it does in the repository. A district outside the sample city gets copies
/// of 上城区's files (tenant file, outline, …) with the code and name replaced. Returns the
/// city's folder.
fn write_city(dir: &Path, codes: &[&str]) -> PathBuf {
    const TEMPLATE: &str = "330102";
    let sample = repo().join("tenants/hangzhou");
    let city = dir.join("tenants/hangzhou");
    std::fs::create_dir_all(city.join("districts")).expect("city folder");
    let link = |from: &Path, to: &Path| {
        let from = from.canonicalize().expect("sample file");
        std::os::unix::fs::symlink(&from, to)
            .unwrap_or_else(|e| panic!("link {} → {}: {e}", to.display(), from.display()));
    };
    let name_of = |code: &str| {
        HANGZHOU
            .iter()
            .find(|d| d.0 == code)
            .unwrap_or_else(|| panic!("{code} is not a district of Hangzhou"))
    };
    let renamed = |text: &str, code: &str| {
        text.replace(TEMPLATE, code)
            .replace(name_of(TEMPLATE).1, name_of(code).1)
    };
    link(
        &repo().join("tenants/calendars"),
        &dir.join("tenants/calendars"),
    );
    let entries = |d: &Path| -> Vec<PathBuf> {
        std::fs::read_dir(d)
            .expect("sample folder")
            .map(|e| e.expect("sample folder entry").path())
            .collect()
    };
    for entry in entries(&sample) {
        let name = entry.file_name().expect("name").to_owned();
        if name == "districts" || name == "city.toml" {
            continue;
        }
        if !entry.is_dir() {
            link(&entry, &city.join(&name));
            continue;
        }
        // A folder of per-district files (outlines, grids): the sample's linked, the
        // template's copied for the other districts.
        std::fs::create_dir_all(city.join(&name)).expect("city folder");
        for file in entries(&entry) {
            let file_name = file
                .file_name()
                .expect("name")
                .to_string_lossy()
                .into_owned();
            link(&file, &city.join(&name).join(&file_name));
            if file_name.starts_with(TEMPLATE) {
                let text = std::fs::read_to_string(&file).expect("sample file");
                for code in codes {
                    let own = file_name.replace(TEMPLATE, code);
                    if !entry.join(&own).exists() {
                        std::fs::write(city.join(&name).join(own), renamed(&text, code))
                            .expect("copied file");
                    }
                }
            }
        }
    }
    let template = std::fs::read_to_string(sample.join(format!("districts/{TEMPLATE}.toml")))
        .expect("the template district's tenant file");
    let lifted = "\n[limits]\nstaff_writes_per_minute = 1000000\nstaff_write_burst = 1000000\n";
    let mut registry = String::new();
    for code in codes {
        let (_, name, population, area) = name_of(code);
        let real = sample.join(format!("districts/{code}.toml"));
        let text = if real.exists() {
            std::fs::read_to_string(&real).expect("sample tenant file")
        } else {
            renamed(&template, code)
        };
        // Ten districts share one PostgreSQL (100 connections by default, other tests'
        // too): a pool of 4 each, not the sample's 8, is plenty for a test's load.
        let text: String = text
            .lines()
            .map(|line| {
                if line.starts_with("pool_size =") {
                    "pool_size = 4\n".to_owned()
                } else {
                    format!("{line}\n")
                }
            })
            .collect();
        std::fs::write(city.join(format!("districts/{code}.toml")), text + lifted)
            .expect("tenant file");
        registry.push_str(&format!(
            "[[districts]]\ncode = \"{code}\"\nname = \"{name}\"\nbroker_user = \"citygrid-{code}\"\n\
             broker_password = \"demo-only-amqp-{code}\"\ncatalogue = \"GB/T 30428.2-2013\"\n\
             population = {population}\narea_km2 = {area:.1}\nboundary = \"boundaries/{code}.geojson\"\n\n"
        ));
    }
    // The sample city's file with its registry replaced.
    let text = std::fs::read_to_string(sample.join("city.toml")).expect("city.toml");
    let first = text.find("[[districts]]").expect("a registry in city.toml");
    let broker = text.find("\n[broker]").expect("[broker] in city.toml");
    let written = format!("{}{registry}{}", &text[..first], &text[broker + 1..]);
    let written = without_other_leaders(&written, codes);
    std::fs::write(city.join("city.toml"), written).expect("city.toml");
    city
}

impl Drop for World {
    fn drop(&mut self) {
        let admin = self.admin.clone();
        let vhost = self.vhost.clone();
        let databases = std::mem::take(&mut self.databases);
        let dir = self.dir.clone();
        std::thread::spawn(move || {
            if let Ok(runtime) = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
            {
                runtime.block_on(async {
                    let _ = admin.delete_vhost(&vhost).await;
                });
            }
            drop(databases);
            let _ = std::fs::remove_dir_all(dir);
        })
        .join()
        .ok();
    }
}

async fn wait_ready(base: &str, process: &Process) {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(60);
    loop {
        if let Ok(r) = reqwest::get(format!("{base}/readyz")).await
            && r.status().is_success()
        {
            return;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "{} did not come up; its log:\n{}",
            process.name,
            process.log()
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

/// A signed-in user of a district (or of the city).
pub struct Session {
    base: String,
    token: String,
    http: reqwest::Client,
}

pub async fn login(base: &str, username: &str) -> Session {
    let http = reqwest::Client::new();
    let body: Value = http
        .post(format!("{base}/api/v1/auth/token"))
        .json(&json!({ "username": username, "password": PASSWORD }))
        .send()
        .await
        .expect("sign in")
        .json()
        .await
        .expect("JSON");
    Session {
        base: base.to_owned(),
        token: body["token"]
            .as_str()
            .unwrap_or_else(|| panic!("token: {body}"))
            .to_owned(),
        http,
    }
}

impl Session {
    /// The access token, for tools that send their own requests.
    pub fn token(&self) -> &str {
        &self.token
    }

    pub async fn get(&self, path: &str) -> Value {
        self.http
            .get(format!("{}{path}", self.base))
            .bearer_auth(&self.token)
            .send()
            .await
            .expect("GET")
            .json()
            .await
            .expect("JSON")
    }

    pub async fn post(&self, path: &str, body: Value) -> Value {
        let response = self
            .http
            .post(format!("{}{path}", self.base))
            .bearer_auth(&self.token)
            .json(&body)
            .send()
            .await
            .expect("POST");
        let status = response.status();
        let body: Value = response.json().await.expect("JSON");
        assert!(status.is_success(), "POST {path}: {status} {body}");
        body
    }

    /// Uploads a PNG and returns its hash.
    pub async fn upload(&self, bytes: Vec<u8>) -> String {
        let body: Value = self
            .http
            .post(format!("{}/api/v1/media", self.base))
            .bearer_auth(&self.token)
            .header("content-type", "image/png")
            .body(bytes)
            .send()
            .await
            .expect("upload")
            .json()
            .await
            .expect("JSON");
        body["sha256"].as_str().expect("sha256").to_owned()
    }
}

impl District {
    /// Kills the instance (SIGKILL) and starts it again, waiting until it is ready.
    pub async fn crash_and_restart(&mut self) {
        self.process.restart();
        wait_ready(&self.base, &self.process).await;
    }

    /// The username of the `nth` seed user with `role`.
    pub fn user(&self, role: &str) -> String {
        self.tenant
            .config
            .users
            .iter()
            .find(|u| u.roles.iter().any(|r| r == role))
            .map(|u| u.username.clone())
            .unwrap_or_else(|| panic!("no {role} in {}", self.code))
    }

    /// A supervisor report with a fresh photo, filed and dispatched to sanitation.
    pub async fn dispatched_case(&self, tag: &str) -> Value {
        let supervisor = login(&self.base, &self.user("supervisor")).await;
        let operator = login(&self.base, &self.user("operator")).await;
        let dispatcher = login(&self.base, &self.user("dispatcher")).await;
        let photo = supervisor.upload(png(tag)).await;
        let (lon, lat) = self.tenant.sample_point();
        let case = supervisor
            .post(
                "/api/v1/cases",
                json!({ "description": format!("暴露垃圾 {tag}"), "lon": lon, "lat": lat, "photos": [photo] }),
            )
            .await;
        let id = case["id"].as_str().expect("id").to_owned();
        let case = operator
            .post(
                &format!("/api/v1/cases/{id}/file"),
                json!({ "version": case["version"], "category": { "kind": "event", "major": "01", "minor": "02" } }),
            )
            .await;
        dispatcher
            .post(
                &format!("/api/v1/cases/{id}/dispatch"),
                json!({ "version": case["version"], "department": "huanwei" }),
            )
            .await
    }

    /// Runs SQL on the district's database (to simulate what the network can do).
    pub fn sql(&self, statement: &str) -> usize {
        let mut conn = PgConnection::establish(&self.database_url).expect("district database");
        diesel::sql_query(statement)
            .execute(&mut conn)
            .expect("SQL")
    }

    /// The rejections the district has received from the city.
    pub async fn rejections(&self) -> Value {
        login(&self.base, &self.user("leader"))
            .await
            .get("/api/v1/exchange/rejections")
            .await
    }

    /// The district's own view of its stream to the city.
    pub async fn exchange_status(&self) -> Value {
        login(&self.base, &self.user("leader"))
            .await
            .get("/api/v1/exchange/status")
            .await
    }
}

impl City {
    /// Kills the exchange (SIGKILL) and starts it again, waiting until it is ready.
    pub async fn crash_and_restart(&mut self) {
        self.process.restart();
        wait_ready(&self.base, &self.process).await;
    }

    pub async fn status(&self) -> Value {
        login(&self.base, "hz-clead1")
            .await
            .get("/api/v1/city/exchange/status")
            .await
    }

    /// The status of one district, as the city sees it.
    pub async fn district(&self, code: &str) -> Value {
        self.status().await["districts"]
            .as_array()
            .and_then(|all| all.iter().find(|d| d["district"] == code).cloned())
            .unwrap_or(Value::Null)
    }
}

/// Polls `check` until it holds or `seconds` pass.
pub async fn eventually<F, Fut>(what: &str, seconds: u64, mut check: F)
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Result<(), String>>,
{
    let deadline = tokio::time::Instant::now() + Duration::from_secs(seconds);
    loop {
        match check().await {
            Ok(()) => return,
            Err(last) => {
                assert!(tokio::time::Instant::now() < deadline, "{what}: {last}");
                tokio::time::sleep(Duration::from_millis(250)).await;
            }
        }
    }
}
