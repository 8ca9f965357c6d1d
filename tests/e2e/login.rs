//! A password flood against a real district process: its memory stays within a bound,
//! `/readyz` keeps answering, the flooded username locks and the others do not.

use std::collections::BTreeMap;
use std::net::{IpAddr, Ipv4Addr};
use std::time::{Duration, Instant};

use citygrid_e2e::{PASSWORD, World, login};
use serde_json::json;

/// Peak resident memory (VmHWM) a district may reach under the flood. Measured (debug
/// build, docs/API.md "Sign-in limits"): about 90 MiB after start-up and one sign-in,
/// about 150 MiB after the flood (4 checks of 19 MiB at once, their buffers kept); before
/// the limits a flood like this took a district to 1.7 GiB.
const PEAK_RSS_LIMIT_MIB: u64 = 400;
/// Clients signing in at once, each from an address of its own (127.0.0.2 and up), so the
/// per-address limit does not end the flood early: the memory budget has to hold it.
const ATTACKERS: u8 = 32;
const FLOOD: Duration = Duration::from_secs(3);
/// Every fourth attacker guesses the password of this seed user; the others try random
/// usernames.
const TARGET: &str = "sc-op1";

fn peak_rss_mib(pid: u32) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).expect("proc status");
    let kib: u64 = status
        .lines()
        .find_map(|line| line.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .expect("VmHWM");
    kib / 1024
}

async fn attack(base: String, n: u8, until: Instant) -> BTreeMap<u16, u32> {
    let http = reqwest::Client::builder()
        .local_address(IpAddr::V4(Ipv4Addr::new(127, 0, 0, 2 + n)))
        .timeout(Duration::from_secs(60))
        .build()
        .expect("client");
    let mut statuses = BTreeMap::new();
    while Instant::now() < until {
        let username = if n.is_multiple_of(4) {
            TARGET.to_owned()
        } else {
            format!("guess-{}", uuid::Uuid::new_v4().simple())
        };
        let status = http
            .post(format!("{base}/api/v1/auth/token"))
            .json(&json!({ "username": username, "password": "guess-1234" }))
            .send()
            .await
            .map_or(0, |r| r.status().as_u16());
        *statuses.entry(status).or_default() += 1;
    }
    statuses
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_password_flood_neither_bloats_nor_stalls_a_district() {
    let mut world = World::new().await;
    let district = world.district("330102").await;
    let pid = district.process.pid().expect("running");
    login(&district.base, "sc-sup1").await;
    let normal = peak_rss_mib(pid);

    let until = Instant::now() + FLOOD;
    let attackers: Vec<_> = (0..ATTACKERS)
        .map(|n| tokio::spawn(attack(district.base.clone(), n, until)))
        .collect();
    // The database stays reachable through the flood: no check holds a connection.
    let http = reqwest::Client::builder()
        .timeout(Duration::from_secs(60))
        .build()
        .expect("client");
    let mut ready = 0;
    let mut pace = tokio::time::interval(Duration::from_millis(250));
    while Instant::now() < until {
        pace.tick().await;
        let status = http
            .get(format!("{}/readyz", district.base))
            .send()
            .await
            .map(|r| r.status().as_u16());
        assert_eq!(status.ok(), Some(200), "/readyz during the flood");
        ready += 1;
    }
    let mut answered: BTreeMap<u16, u32> = BTreeMap::new();
    for attacker in attackers {
        for (status, count) in attacker.await.expect("attacker") {
            *answered.entry(status).or_default() += count;
        }
    }
    let peak = peak_rss_mib(pid);
    eprintln!(
        "sign-in flood: {ATTACKERS} clients for {FLOOD:?}, answers {answered:?}, /readyz 200 \
         {ready} times; peak RSS {normal} MiB before, {peak} MiB after (limit {PEAK_RSS_LIMIT_MIB})"
    );
    assert!(
        peak < PEAK_RSS_LIMIT_MIB,
        "peak RSS {peak} MiB under the flood (limit {PEAK_RSS_LIMIT_MIB})"
    );
    assert!(
        answered.keys().all(|s| [401, 429, 503].contains(s)),
        "every attempt answered 401, 429 or 503: {answered:?}"
    );
    assert!(
        answered.contains_key(&429),
        "the target locked: {answered:?}"
    );

    // The flooded username is locked, even with its password from another address;
    // another user signs in.
    let response = http
        .post(format!("{}/api/v1/auth/token", district.base))
        .json(&json!({ "username": TARGET, "password": PASSWORD }))
        .send()
        .await
        .expect("sign in");
    assert_eq!(response.status().as_u16(), 429);
    assert!(response.headers().contains_key("retry-after"));
    login(&district.base, "sc-sup2").await;
}
