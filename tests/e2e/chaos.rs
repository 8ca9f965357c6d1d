//! The chaos run: ten districts publish while their instances (and the outbox relay inside
//! each), the city exchange and the broker are killed and PostgreSQL is restarted at
//! random points; afterwards every district's digest equals the warehouse's, no record is
//! there twice and every photo verifies. docs/RELIABILITY.md.
//!
//! The broker and PostgreSQL faults hit the whole machine, so the test is `#[ignore]`d and
//! runs alone: `ops/test` runs it after everything else, `ops/chaos` at a larger size.
//! Size and seed from the environment: `CITYGRID_CHAOS_CASES` (cases per district),
//! `CITYGRID_CHAOS_FAULTS`, `CITYGRID_CHAOS_DISTRICTS` (1 to 10), `CITYGRID_CHAOS_SEED`
//! (the same seed draws the same faults, targets, pauses and outage lengths).

use std::collections::BTreeSet;
use std::process::Command;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use citygrid_e2e::{City, District, HANGZHOU, PASSWORD, World, login, png};
use citygrid_kit::seeded::SplitMix64;
use diesel::prelude::*;
use diesel::sql_types::{BigInt, Text};
use serde_json::{Value, json};

/// How long one request is retried through outages before the run gives up on it.
const RETRY_FOR: Duration = Duration::from_secs(180);
/// How long the stream may take to settle once the faults are over.
const SETTLE_FOR: Duration = Duration::from_secs(180);

fn env_number(name: &str, default: u64) -> u64 {
    match std::env::var(name) {
        Ok(v) => v
            .trim()
            .parse()
            .unwrap_or_else(|_| panic!("{name}={v:?} is not a number")),
        Err(_) => default,
    }
}

/// The seeded stream (a seed replays the same run), with durations.
trait Millis {
    /// A duration between `lo` and `hi` milliseconds.
    fn millis(&mut self, lo: u64, hi: u64) -> Duration;
}

impl Millis for SplitMix64 {
    fn millis(&mut self, lo: u64, hi: u64) -> Duration {
        Duration::from_millis(lo + self.below(hi.saturating_sub(lo) + 1))
    }
}

#[derive(Debug, Clone, Copy, PartialEq)]
enum Fault {
    /// SIGKILL of district instance `n` (its outbox relay runs inside it), started again.
    District(usize),
    /// SIGKILL of the city exchange, started again.
    City,
    /// `rabbitmqctl stop_app`, then `start_app`: every connection dropped, the broker away.
    Broker,
    /// PostgreSQL stopped (`immediate`: a crash, recovery from the WAL; else `fast`) and
    /// started again: every database of every process gone for a while.
    Postgres { immediate: bool },
}

struct Planned {
    fault: Fault,
    /// Pause before the fault.
    after: Duration,
    /// How long the thing stays down.
    down: Duration,
}

/// The faults: the first four one of each kind (in a random order), then random ones.
fn plan(rng: &mut SplitMix64, faults: usize, districts: usize) -> Vec<Planned> {
    let mut kinds = [0, 1, 2, 3];
    for i in (1..kinds.len()).rev() {
        kinds.swap(i, rng.below(i as u64 + 1) as usize);
    }
    (0..faults)
        .map(|i| {
            let kind = kinds.get(i).copied().unwrap_or_else(|| {
                // Districts are half of the later faults: there are ten of them.
                match rng.below(6) {
                    0..=2 => 0,
                    3 => 1,
                    4 => 2,
                    _ => 3,
                }
            });
            let fault = match kind {
                0 => Fault::District(rng.below(districts as u64) as usize),
                1 => Fault::City,
                2 => Fault::Broker,
                _ => Fault::Postgres {
                    immediate: rng.below(2) == 0,
                },
            };
            Planned {
                fault,
                after: rng.millis(1_000, 4_000),
                down: rng.millis(300, 3_000),
            }
        })
        .collect()
}

/// What happened: one line of the summary's fault list.
struct Injected {
    at: Duration,
    wall: SystemTime,
    what: String,
    down: Duration,
    /// From the fault until the thing was back (ready, accepting connections).
    back_after: Duration,
}

fn clock(t: SystemTime) -> String {
    let ms = t.duration_since(UNIX_EPOCH).map_or(0, |d| d.as_millis());
    let s = (ms / 1000) % 86_400;
    format!(
        "{:02}:{:02}:{:02}.{:03}Z",
        s / 3600,
        (s / 60) % 60,
        s % 60,
        ms % 1000
    )
}

fn run(program: &str, args: &[&str]) -> Result<(), String> {
    let output = Command::new(program)
        .args(args)
        .output()
        .map_err(|e| format!("{program}: {e}"))?;
    if output.status.success() {
        Ok(())
    } else {
        Err(format!(
            "{program} {}: {}{}",
            args.join(" "),
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        ))
    }
}

async fn blocking(program: &'static str, args: Vec<&'static str>) -> Result<(), String> {
    tokio::task::spawn_blocking(move || run(program, &args))
        .await
        .map_err(|e| e.to_string())?
}

/// `pg_ctlcluster` on the local cluster of PostgreSQL `version`.
fn pg_ctl(version: &str, action: &str, mode: Option<&str>) -> Result<(), String> {
    let mut args = vec!["--skip-systemctl-redirect", version, "main", action];
    if let Some(mode) = mode {
        args.extend(["-m", mode]);
    }
    run("pg_ctlcluster", &args)
}

/// The machine's PostgreSQL cluster and RabbitMQ. Dropped (the test ending, or panicking),
/// it starts both again if a fault left them down, and waits for them: whatever comes after
/// this test (the world's clean-up, other tests) finds them running.
struct Services {
    pg_version: String,
}

impl Services {
    fn new() -> Services {
        let pg_version = std::fs::read_dir("/etc/postgresql")
            .expect("/etc/postgresql: the chaos run restarts the local cluster (ops/up)")
            .filter_map(|e| e.ok())
            .map(|e| e.file_name().to_string_lossy().into_owned())
            .max_by_key(|v| v.parse::<u32>().unwrap_or(0))
            .expect("a PostgreSQL cluster in /etc/postgresql");
        Services { pg_version }
    }

    fn postgres_up() -> bool {
        PgConnection::establish("postgres://postgres@127.0.0.1:5432/postgres").is_ok()
    }

    fn broker_up() -> bool {
        std::net::TcpStream::connect_timeout(
            &std::net::SocketAddr::from(([127, 0, 0, 1], 5672)),
            Duration::from_secs(1),
        )
        .is_ok()
            && run(
                "curl",
                &[
                    "-sf",
                    "-u",
                    "guest:guest",
                    "http://127.0.0.1:15672/api/overview",
                ],
            )
            .is_ok()
    }

    /// Waits (blocking) until `up` holds, at most two minutes.
    fn wait(what: &str, up: fn() -> bool) -> Result<(), String> {
        let deadline = Instant::now() + Duration::from_secs(120);
        while !up() {
            if Instant::now() > deadline {
                return Err(format!("{what} did not come back within 120 s"));
            }
            std::thread::sleep(Duration::from_millis(200));
        }
        Ok(())
    }

    fn restore(&self) {
        if !Self::postgres_up() {
            let _ = pg_ctl(&self.pg_version, "start", None);
        }
        let _ = run("rabbitmqctl", &["start_app"]);
        if let Err(e) = Self::wait("PostgreSQL", Self::postgres_up)
            .and_then(|()| Self::wait("RabbitMQ", Self::broker_up))
        {
            eprintln!("chaos: {e}");
        }
    }
}

impl Drop for Services {
    fn drop(&mut self) {
        self.restore();
    }
}

async fn inject(
    fault: Fault,
    down: Duration,
    services: &Services,
    districts: &mut [District],
    city: &mut City,
) -> Result<String, String> {
    match fault {
        Fault::District(n) => {
            let district = &mut districts[n];
            district.process.kill();
            tokio::time::sleep(down).await;
            district.crash_and_restart().await;
            Ok(format!("kill -9 district {}", district.code))
        }
        Fault::City => {
            city.process.kill();
            tokio::time::sleep(down).await;
            city.crash_and_restart().await;
            Ok("kill -9 city exchange".into())
        }
        Fault::Broker => {
            blocking("rabbitmqctl", vec!["stop_app"]).await?;
            tokio::time::sleep(down).await;
            blocking("rabbitmqctl", vec!["start_app"]).await?;
            tokio::task::spawn_blocking(|| Services::wait("RabbitMQ", Services::broker_up))
                .await
                .map_err(|e| e.to_string())??;
            Ok("rabbitmqctl stop_app/start_app".into())
        }
        Fault::Postgres { immediate } => {
            let mode = if immediate { "immediate" } else { "fast" };
            let version = services.pg_version.clone();
            let stop = version.clone();
            tokio::task::spawn_blocking(move || pg_ctl(&stop, "stop", Some(mode)))
                .await
                .map_err(|e| e.to_string())??;
            tokio::time::sleep(down).await;
            tokio::task::spawn_blocking(move || {
                pg_ctl(&version, "start", None)?;
                Services::wait("PostgreSQL", Services::postgres_up)
            })
            .await
            .map_err(|e| e.to_string())??;
            Ok(format!("PostgreSQL restart ({mode})"))
        }
    }
}

/// The roles one case goes through.
#[derive(Clone, Copy)]
enum Role {
    Supervisor,
    Operator,
    Dispatcher,
}

/// One district's writer: the staff who report, file and dispatch, over HTTP, retrying
/// through every outage. A retry is safe: a report carries an `Idempotency-Key`, a photo is
/// stored by its hash, a step names the case version it saw (a step that went through
/// before the connection broke answers `409`, and the case shows it done).
struct Writer {
    code: String,
    base: String,
    http: reqwest::Client,
    users: [String; 3],
    tokens: [Option<String>; 3],
    point: (f64, f64),
    /// Requests sent again after a connection error, a 5xx or a 401.
    retries: u64,
    /// Steps whose first answer was lost but which had gone through (seen on the case).
    ambiguous: u64,
}

struct Written {
    code: String,
    ids: BTreeSet<String>,
    retries: u64,
    ambiguous: u64,
}

enum Body {
    Json(Value),
    Png(Vec<u8>),
    None,
}

impl Writer {
    fn new(district: &District) -> Writer {
        Writer {
            code: district.code.clone(),
            base: district.base.clone(),
            http: reqwest::Client::builder()
                .timeout(Duration::from_secs(30))
                .build()
                .expect("HTTP client"),
            users: [
                district.user("supervisor"),
                district.user("operator"),
                district.user("dispatcher"),
            ],
            tokens: [None, None, None],
            point: district.tenant.sample_point(),
            retries: 0,
            ambiguous: 0,
        }
    }

    async fn token(&mut self, role: Role) -> String {
        let slot = role as usize;
        if let Some(token) = &self.tokens[slot] {
            return token.clone();
        }
        let deadline = Instant::now() + RETRY_FOR;
        loop {
            let answer = self
                .http
                .post(format!("{}/api/v1/auth/token", self.base))
                .json(&json!({ "username": self.users[slot], "password": PASSWORD }))
                .send()
                .await;
            if let Ok(r) = answer
                && r.status().is_success()
                && let Ok(body) = r.json::<Value>().await
                && let Some(token) = body["token"].as_str()
            {
                self.tokens[slot] = Some(token.to_owned());
                return token.to_owned();
            }
            assert!(
                Instant::now() < deadline,
                "{}: no sign-in for {RETRY_FOR:?}",
                self.code
            );
            self.retries += 1;
            tokio::time::sleep(Duration::from_millis(300)).await;
        }
    }

    /// Sends until the district answers something other than an outage: a transport
    /// error, a 5xx, a 429 or a 401 (its token is renewed) are retried.
    async fn send(
        &mut self,
        role: Role,
        path: &str,
        headers: &[(&str, &str)],
        body: &Body,
    ) -> (u16, Value) {
        let deadline = Instant::now() + RETRY_FOR;
        loop {
            let token = self.token(role).await;
            let url = format!("{}/api/v1{path}", self.base);
            let mut request = match body {
                Body::None => self.http.get(url),
                Body::Json(v) => self.http.post(url).json(v),
                Body::Png(bytes) => self
                    .http
                    .post(url)
                    .header("content-type", "image/png")
                    .body(bytes.clone()),
            }
            .bearer_auth(token);
            for (name, value) in headers {
                request = request.header(*name, *value);
            }
            let why = match request.send().await {
                Ok(r) => {
                    let status = r.status().as_u16();
                    match r.json::<Value>().await {
                        Ok(_) if status == 401 => {
                            self.tokens[role as usize] = None;
                            "401".to_owned()
                        }
                        Ok(v) if status < 500 && status != 429 => return (status, v),
                        Ok(v) => format!("{status} {v}"),
                        Err(e) => format!("{status}: {e}"),
                    }
                }
                Err(e) => e.to_string(),
            };
            assert!(
                Instant::now() < deadline,
                "{}: {path} failed for {RETRY_FOR:?}: {why}",
                self.code
            );
            self.retries += 1;
            tokio::time::sleep(Duration::from_millis(300)).await;
        }
    }

    /// A step on a case: done when it answers 200, or when a `409` shows the case
    /// already in `state` (the first attempt went through, its answer was lost).
    async fn step(
        &mut self,
        role: Role,
        id: &str,
        action: &str,
        body: Value,
        state: &str,
    ) -> Value {
        let (status, answer) = self
            .send(
                role,
                &format!("/cases/{id}/{action}"),
                &[],
                &Body::Json(body),
            )
            .await;
        if status == 200 {
            return answer;
        }
        let (_, case) = self
            .send(role, &format!("/cases/{id}"), &[], &Body::None)
            .await;
        assert!(
            status == 409 && case["state"] == state,
            "{}: {action} {id}: {status} {answer}; the case: {case}",
            self.code
        );
        self.ambiguous += 1;
        case
    }

    /// A supervisor report with a photo of its own, filed and dispatched to sanitation.
    async fn case(&mut self, tag: &str) -> String {
        let (status, media) = self
            .send(Role::Supervisor, "/media", &[], &Body::Png(png(tag)))
            .await;
        assert!(
            status == 200 || status == 201,
            "{}: upload: {status} {media}",
            self.code
        );
        let photo = media["sha256"].as_str().expect("sha256").to_owned();
        let (lon, lat) = self.point;
        let (status, case) = self
            .send(
                Role::Supervisor,
                "/cases",
                &[("Idempotency-Key", tag)],
                &Body::Json(json!({
                    "description": format!("暴露垃圾 {tag}"), "lon": lon, "lat": lat, "photos": [photo]
                })),
            )
            .await;
        assert!(
            status == 200 || status == 201,
            "{}: report: {status} {case}",
            self.code
        );
        if status == 200 {
            self.ambiguous += 1;
        }
        let id = case["id"].as_str().expect("id").to_owned();
        let case = self
            .step(
                Role::Operator,
                &id,
                "file",
                json!({ "version": case["version"], "category": { "kind": "event", "major": "01", "minor": "02" } }),
                "filed",
            )
            .await;
        self.step(
            Role::Dispatcher,
            &id,
            "dispatch",
            json!({ "version": case["version"], "department": "huanwei" }),
            "dispatched",
        )
        .await;
        id
    }

    /// Writes `cases` cases, pausing a random while (mean `pace`) between them.
    async fn run(mut self, cases: u64, pace: Duration, mut rng: SplitMix64, seed: u64) -> Written {
        let mut ids = BTreeSet::new();
        for n in 0..cases {
            let pause = pace.as_millis() as u64;
            tokio::time::sleep(rng.millis(0, 2 * pause)).await;
            let id = self.case(&format!("chaos-{seed}-{}-{n}", self.code)).await;
            ids.insert(id);
        }
        Written {
            code: self.code,
            ids,
            retries: self.retries,
            ambiguous: self.ambiguous,
        }
    }
}

fn count(url: &str, query: &str) -> i64 {
    let mut conn = PgConnection::establish(url).expect("database");
    diesel::select(diesel::dsl::sql::<BigInt>(&format!("({query})")))
        .get_result(&mut conn)
        .unwrap_or_else(|e| panic!("{query}: {e}"))
}

fn text(url: &str, query: &str) -> String {
    let mut conn = PgConnection::establish(url).expect("database");
    diesel::select(diesel::dsl::sql::<diesel::sql_types::Nullable<Text>>(
        &format!("({query})"),
    ))
    .get_result::<Option<String>>(&mut conn)
    .unwrap_or_else(|e| panic!("{query}: {e}"))
    .unwrap_or_default()
}

/// One district's line of the summary.
struct Line {
    code: String,
    name: String,
    written: usize,
    retries: u64,
    ambiguous: u64,
    district_cases: i64,
    district_records: i64,
    city_cases: i64,
    city_records: i64,
    duplicates: i64,
    same_cases: bool,
    digest: String,
    photos: i64,
    rejections: i64,
    /// Times its outbox relay lost its session (broker or database), failed reconnection
    /// attempts included (its log).
    relay_reconnects: usize,
}

impl Line {
    fn holds(&self) -> bool {
        let n = self.written as i64;
        self.district_cases == n
            && self.city_cases == n
            && self.city_records == self.district_records
            && self.city_records == 3 * n
            && self.duplicates == 0
            && self.same_cases
            && self.digest == "match"
            && self.photos == n
            && self.rejections == 0
    }
}

/// The city's status of every district, signed in once.
async fn city_status(city: &City) -> Value {
    login(&city.base, "hz-clead1")
        .await
        .get("/api/v1/city/exchange/status")
        .await
}

fn of(status: &Value, code: &str) -> Value {
    status["districts"]
        .as_array()
        .and_then(|all| all.iter().find(|d| d["district"] == code).cloned())
        .unwrap_or(Value::Null)
}

/// Polls until `check` is empty (nothing missing) or the time is up; the last misses.
async fn settle<F, Fut>(mut check: F) -> Vec<String>
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Vec<String>>,
{
    let deadline = Instant::now() + SETTLE_FOR;
    loop {
        let missing = check().await;
        if missing.is_empty() || Instant::now() > deadline {
            return missing;
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "restarts the machine's PostgreSQL and RabbitMQ: run alone (ops/test's last phase, ops/chaos)"]
async fn chaos_ten_districts_survive_kills_and_restarts() {
    let started = Instant::now();
    let cases = env_number("CITYGRID_CHAOS_CASES", 3);
    let faults = env_number("CITYGRID_CHAOS_FAULTS", 6) as usize;
    let size = env_number("CITYGRID_CHAOS_DISTRICTS", 10).clamp(1, 10) as usize;
    let seed = env_number(
        "CITYGRID_CHAOS_SEED",
        SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(1, |d| d.as_nanos() as u64 % 1_000_000_000),
    );
    println!(
        "chaos: seed {seed} ({size} districts, {cases} cases each, {faults} faults; \
         CITYGRID_CHAOS_SEED={seed} replays the draw)"
    );
    let mut rng = SplitMix64::new(seed);
    let plan = plan(&mut rng, faults, size);

    let codes: Vec<&str> = HANGZHOU.iter().take(size).map(|d| d.0).collect();
    let mut world = World::with_districts(&codes).await;
    // After the world: dropped first, so the world's clean-up finds the services running.
    let services = Services::new();
    let mut city = world.city().await;
    let mut districts = Vec::new();
    for code in &codes {
        districts.push(world.district(code).await);
    }
    let setup = started.elapsed();
    println!(
        "chaos: city and {size} districts up in {:.1} s",
        setup.as_secs_f64()
    );

    // The writers spread their cases over about the time the faults take.
    let window: Duration = plan
        .iter()
        .map(|p| p.after + p.down + Duration::from_secs(2))
        .sum();
    let pace = window / cases.max(1) as u32;
    let chaos_started = Instant::now();
    let writers: Vec<_> = districts
        .iter()
        .enumerate()
        .map(|(i, d)| {
            let writer = Writer::new(d);
            let rng = SplitMix64::new(seed ^ (0x5eed_0000 + i as u64));
            tokio::spawn(writer.run(cases, pace, rng, seed))
        })
        .collect();
    let mut injected = Vec::new();
    for planned in &plan {
        tokio::time::sleep(planned.after).await;
        let at = chaos_started.elapsed();
        let wall = SystemTime::now();
        let what = inject(
            planned.fault,
            planned.down,
            &services,
            &mut districts,
            &mut city,
        )
        .await
        .unwrap_or_else(|e| panic!("injecting {:?}: {e}", planned.fault));
        let back_after = chaos_started.elapsed() - at;
        println!(
            "chaos: {:>6.1} s  {what}, down {:.1} s, back after {:.1} s",
            at.as_secs_f64(),
            planned.down.as_secs_f64(),
            back_after.as_secs_f64()
        );
        injected.push(Injected {
            at,
            wall,
            what,
            down: planned.down,
            back_after,
        });
    }
    let mut written = Vec::new();
    for writer in writers {
        written.push(writer.await.expect("writer"));
    }
    let chaos = chaos_started.elapsed();
    println!(
        "chaos: faults over, every case written in {:.1} s; settling",
        chaos.as_secs_f64()
    );

    // Settling: every district's outbox sent and applied at the city, …
    let settle_started = Instant::now();
    let missing = settle(|| async {
        let status = city_status(&city).await;
        let mut missing = Vec::new();
        for d in &districts {
            let last = count(&d.database_url, "SELECT last_seq FROM outbox_counter");
            let unsent = count(
                &d.database_url,
                "SELECT count(*) FROM outbox WHERE sent_at IS NULL",
            );
            let seen = of(&status, &d.code);
            if unsent != 0 || seen["last_contiguous_seq"] != last || seen["waiting"] != 0 {
                missing.push(format!(
                    "{}: last_seq {last}, unsent {unsent}, city {seen}",
                    d.code
                ));
            }
        }
        missing
    })
    .await;
    // … then today's digest from every district, compared by the city, and the photos.
    if missing.is_empty() {
        for d in &districts {
            world.digest(d);
        }
    }
    let missing = if missing.is_empty() {
        settle(|| async {
            let status = city_status(&city).await;
            let mut missing = Vec::new();
            for (d, w) in districts.iter().zip(&written) {
                let seen = of(&status, &d.code);
                if seen["last_digest_matches"] != true
                    || seen["media_verified"] != w.ids.len() as i64
                {
                    missing.push(format!("{}: city {seen}", d.code));
                }
            }
            missing
        })
        .await
    } else {
        missing
    };
    let settled = settle_started.elapsed();

    let status = city_status(&city).await;
    let warehouse = &city.warehouse_url;
    let lines: Vec<Line> = districts
        .iter()
        .zip(&written)
        .map(|(d, w)| {
            assert_eq!(d.code, w.code);
            let seen = of(&status, &d.code);
            let code = &d.code;
            let ours: Vec<&str> = w.ids.iter().map(String::as_str).collect();
            Line {
                code: code.clone(),
                name: HANGZHOU
                    .iter()
                    .find(|h| h.0 == code)
                    .map_or("", |h| h.1)
                    .to_owned(),
                written: w.ids.len(),
                retries: w.retries,
                ambiguous: w.ambiguous,
                district_cases: count(&d.database_url, "SELECT count(*) FROM cases"),
                district_records: count(&d.database_url, "SELECT count(*) FROM case_records"),
                city_cases: count(warehouse, &format!("SELECT count(*) FROM cases WHERE district = '{code}'")),
                city_records: count(warehouse, &format!("SELECT count(*) FROM records WHERE district = '{code}'")),
                // A record twice: the same step of the same case under two seqs or ids.
                duplicates: count(
                    warehouse,
                    &format!(
                        "SELECT count(*) - count(DISTINCT (case_id, action)) FROM records WHERE district = '{code}'"
                    ),
                ),
                same_cases: text(
                    warehouse,
                    &format!(
                        "SELECT string_agg(case_id::text, ',' ORDER BY case_id) FROM cases \
                         WHERE district = '{code}' AND state = 'dispatched'"
                    ),
                ) == ours.join(","),
                digest: match seen["last_digest_matches"].as_bool() {
                    Some(true) => "match".into(),
                    Some(false) => "DIFFERS".into(),
                    None => "none".into(),
                },
                photos: seen["media_verified"].as_i64().unwrap_or(-1),
                rejections: seen["rejections"].as_i64().unwrap_or(-1),
                relay_reconnects: d
                    .process
                    .log()
                    .matches("exchange relay disconnected")
                    .count(),
            }
        })
        .collect();

    println!();
    println!(
        "chaos run, seed {seed}: {size} districts × {cases} cases, {} faults; setup {:.1} s, \
         chaos {:.1} s, settled in {:.1} s, total {:.1} s",
        injected.len(),
        setup.as_secs_f64(),
        chaos.as_secs_f64(),
        settled.as_secs_f64(),
        started.elapsed().as_secs_f64()
    );
    println!();
    println!(
        "| district | cases written | retried requests | answers lost, step done | relay disconnects | district records | city cases | city records | duplicates | same cases | digest | photos verified | rejections |"
    );
    println!(
        "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | --- | --- | ---: | ---: |"
    );
    for l in &lines {
        println!(
            "| {} {} | {} | {} | {} | {} | {} | {} | {} | {} | {} | {} | {}/{} | {} |",
            l.code,
            l.name,
            l.written,
            l.retries,
            l.ambiguous,
            l.relay_reconnects,
            l.district_records,
            l.city_cases,
            l.city_records,
            l.duplicates,
            if l.same_cases { "yes" } else { "NO" },
            l.digest,
            l.photos,
            l.written,
            l.rejections
        );
    }
    let total = |f: fn(&Line) -> i64| lines.iter().map(f).sum::<i64>();
    println!(
        "| all | {} | {} | {} | {} | {} | {} | {} | {} | {} | {} | {}/{} | {} |",
        total(|l| l.written as i64),
        total(|l| l.retries as i64),
        total(|l| l.ambiguous as i64),
        total(|l| l.relay_reconnects as i64),
        total(|l| l.district_records),
        total(|l| l.city_cases),
        total(|l| l.city_records),
        total(|l| l.duplicates),
        if lines.iter().all(|l| l.same_cases) {
            "yes"
        } else {
            "NO"
        },
        if lines.iter().all(|l| l.digest == "match") {
            "all match"
        } else {
            "NOT ALL"
        },
        total(|l| l.photos),
        total(|l| l.written as i64),
        total(|l| l.rejections),
    );
    let city_log = city.process.log();
    println!();
    println!(
        "city exchange: intake reconnected {} times, {} sync requests for gaps, photos asked for again {} times",
        city_log.matches("city intake session ended").count(),
        city_log.matches("sync requested").count(),
        city_log.matches("asked for again").count(),
    );
    println!();
    println!("| # | at (s) | time (UTC) | fault | down (s) | back after (s) |");
    println!("| ---: | ---: | --- | --- | ---: | ---: |");
    for (n, f) in injected.iter().enumerate() {
        println!(
            "| {} | {:.1} | {} | {} | {:.1} | {:.1} |",
            n + 1,
            f.at.as_secs_f64(),
            clock(f.wall),
            f.what,
            f.down.as_secs_f64(),
            f.back_after.as_secs_f64()
        );
    }
    println!();

    assert!(
        missing.is_empty(),
        "not settled after {SETTLE_FOR:?}: {missing:#?}"
    );
    let failing: Vec<&str> = lines
        .iter()
        .filter(|l| !l.holds())
        .map(|l| l.code.as_str())
        .collect();
    assert!(
        failing.is_empty(),
        "lost or duplicated in {failing:?} (seed {seed}): see the table"
    );
    drop(districts);
    drop(city);
    drop(services);
    drop(world);
}
