//! Sign-in that can neither exhaust memory nor be brute-forced: the one implementation
//! behind the districts' and the city's `POST /api/v1/auth/token`.
//!
//! - A password check (argon2, 19 MiB) runs on tokio's blocking pool, at most
//!   `[auth.login] hash_memory_mib / 19` at once, after the user's row has been read and its
//!   database connection returned. A sign-in that waits more than `wait_ms` for a check
//!   is refused (503) instead of queueing without bound.
//! - An unknown username is checked against a dummy hash: the same work and time as a
//!   wrong password, so timing does not tell which usernames exist.
//! - Failures are counted per username and per client address ([`Throttle`]): a locked
//!   one gets 429 with `Retry-After`, without a lookup or a hash. A success clears the
//!   username's count (not the address's).
//! - Every failure is logged (warn) with the username, the address, the counts and whether
//!   it is now locked; never the password. Refusals while locked are logged at debug only.

use std::borrow::Borrow;
use std::collections::HashMap;
use std::future::Future;
use std::hash::Hash;
use std::net::IpAddr;
use std::sync::{Arc, LazyLock, Mutex, PoisonError};
use std::time::{Duration, Instant};

use actix_web::HttpRequest;
use tokio::sync::Semaphore;

use crate::config::LoginSection;
use crate::error::{Error, Result};
use crate::password;

/// A real hash of nothing useful, checked when the username is unknown.
static DUMMY_HASH: LazyLock<String> =
    LazyLock::new(|| password::hash("no such user").unwrap_or_default());

/// Usernames are kept (and logged) up to this many bytes: a username is the client's
/// input, and the counters must stay small whatever it sends.
const MAX_USERNAME_BYTES: usize = 128;

/// The failure limits of one kind of key (usernames, or client addresses).
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    /// Failures that lock the key.
    pub failures: u32,
    /// A key is forgotten this long after its last failure or the end of its last lockout.
    pub window: Duration,
    /// The first lockout; each later one lasts twice as long as the one before.
    pub lockout: Duration,
    pub max_lockout: Duration,
    /// Keys remembered at most.
    pub capacity: usize,
}

#[derive(Debug, Clone, Copy)]
struct Entry {
    failures: u32,
    /// Lockouts so far: the next lasts `lockout × 2^lockouts`.
    lockouts: u32,
    last_failure: Instant,
    locked_until: Option<Instant>,
}

impl Entry {
    fn forgotten_at(&self, window: Duration) -> Instant {
        self.locked_until
            .map_or(self.last_failure, |until| until.max(self.last_failure))
            + window
    }
}

/// What one failure did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Failure {
    /// Failures of this key since it was last forgotten or cleared, this one included.
    pub count: u32,
    /// When this failure locked the key: for how long.
    pub locked_for: Option<Duration>,
}

/// Failure counters for one kind of key, in memory and bounded by `capacity`: when full,
/// the forgotten entries go, then the one that would be forgotten first (so a flood of
/// random usernames evicts other random usernames before a long lockout).
///
/// `limits.failures` failures lock the key for `lockout`; after that, every failure
/// before the key is forgotten locks it again for twice as long (up to `max_lockout`).
/// A failure while locked (an attempt already in flight) counts but does not lock longer.
/// Pure: the caller gives the time, so tests run on a clock of their own.
#[derive(Debug)]
pub struct Throttle<K> {
    limits: Limits,
    entries: HashMap<K, Entry>,
}

impl<K: Hash + Eq + Clone> Throttle<K> {
    pub fn new(limits: Limits) -> Self {
        Throttle {
            limits,
            entries: HashMap::new(),
        }
    }

    /// How much longer `key` is locked, if it is locked at `now`.
    pub fn locked<Q>(&self, key: &Q, now: Instant) -> Option<Duration>
    where
        K: Borrow<Q>,
        Q: Hash + Eq + ?Sized,
    {
        let until = self.entries.get(key)?.locked_until?;
        Some(until.checked_duration_since(now)?).filter(|left| !left.is_zero())
    }

    /// Counts a failure of `key` at `now`.
    pub fn fail<Q>(&mut self, key: &Q, now: Instant) -> Failure
    where
        K: Borrow<Q>,
        Q: Hash + Eq + ToOwned<Owned = K> + ?Sized,
    {
        let limits = self.limits;
        let live = self
            .entries
            .get(key)
            .filter(|e| now < e.forgotten_at(limits.window))
            .copied();
        if live.is_none() {
            self.entries.remove(key);
            self.make_room(now);
        }
        let mut entry = live.unwrap_or(Entry {
            failures: 0,
            lockouts: 0,
            last_failure: now,
            locked_until: None,
        });
        entry.failures = entry.failures.saturating_add(1);
        entry.last_failure = now;
        let locked = entry.locked_until.is_some_and(|until| until > now);
        let mut locked_for = None;
        if !locked && entry.failures >= limits.failures {
            let lock = limits
                .lockout
                .saturating_mul(2u32.saturating_pow(entry.lockouts))
                .min(limits.max_lockout);
            entry.locked_until = Some(now + lock);
            entry.lockouts = entry.lockouts.saturating_add(1);
            locked_for = Some(lock);
        }
        self.entries.insert(key.to_owned(), entry);
        Failure {
            count: entry.failures,
            locked_for,
        }
    }

    /// Forgets `key` (a successful sign-in).
    pub fn clear<Q>(&mut self, key: &Q)
    where
        K: Borrow<Q>,
        Q: Hash + Eq + ?Sized,
    {
        self.entries.remove(key);
    }

    /// Keys remembered now.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    fn make_room(&mut self, now: Instant) {
        if self.entries.len() < self.limits.capacity {
            return;
        }
        let window = self.limits.window;
        self.entries.retain(|_, e| now < e.forgotten_at(window));
        while self.entries.len() >= self.limits.capacity {
            let first = self
                .entries
                .iter()
                .min_by_key(|(_, e)| e.forgotten_at(window))
                .map(|(k, _)| k.clone());
            match first {
                Some(key) => self.entries.remove(&key),
                None => break,
            };
        }
    }
}

/// The sign-in gate of one service: the bounded password checks and the two throttles.
#[derive(Debug)]
pub struct Gate {
    checks: Arc<Semaphore>,
    checks_at_once: usize,
    /// One buffer per check running or run before: at most `checks_at_once`, never freed.
    memory: Arc<Mutex<Vec<password::CheckMemory>>>,
    wait: Duration,
    trust_forwarded: bool,
    users: Mutex<Throttle<String>>,
    clients: Mutex<Throttle<IpAddr>>,
}

impl Gate {
    /// From a validated `[auth.login]` section ([`LoginSection::validate`]).
    pub fn new(settings: &LoginSection) -> Gate {
        let checks_at_once =
            (settings.hash_memory_mib / password::CHECK_MEMORY_MIB).max(1) as usize;
        let limits = |failures| Limits {
            failures,
            window: Duration::from_secs(settings.window_seconds),
            lockout: Duration::from_secs(settings.lockout_seconds),
            max_lockout: Duration::from_secs(settings.max_lockout_seconds),
            capacity: settings.tracked,
        };
        Gate {
            checks: Arc::new(Semaphore::new(checks_at_once)),
            checks_at_once,
            memory: Arc::default(),
            wait: Duration::from_millis(settings.wait_ms),
            trust_forwarded: settings.trust_forwarded,
            users: Mutex::new(Throttle::new(limits(settings.user_failures))),
            clients: Mutex::new(Throttle::new(limits(settings.client_failures))),
        }
    }

    /// How many password checks may run at once (the memory budget / 19 MiB).
    pub fn checks_at_once(&self) -> usize {
        self.checks_at_once
    }

    /// Signs `username` in from `client` ([`Gate::client`]): refused with 429 while the
    /// username or the client is locked; otherwise `lookup` (the user and its PHC hash, read
    /// on the blocking pool with its connection returned when it resolves) and then one
    /// bounded password check. A wrong password or an unknown user is 401
    /// `unauthenticated`, the same for both.
    pub async fn sign_in<T, E, Fut>(
        &self,
        client: Option<IpAddr>,
        username: &str,
        password: String,
        lookup: Fut,
    ) -> Result<T, E>
    where
        E: From<Error>,
        Fut: Future<Output = Result<Option<(T, String)>, E>>,
    {
        let name = username_key(username);
        if let Some(refusal) = self.refusal(&name, client, Instant::now()) {
            // The failure that locked was logged at warn; a flood of refusals (no hash,
            // thousands a second) would flood the log at that level.
            tracing::debug!(
                login.username = %name.escape_debug(),
                client.ip = client.map(tracing::field::display),
                login.locked = true,
                "sign-in refused: too many failures"
            );
            return Err(refusal.into());
        }
        let (user, hash) = match lookup.await? {
            Some((user, hash)) => (Some(user), Some(hash)),
            None => (None, None),
        };
        let ok = self.check(password, hash).await? && user.is_some();
        match user.filter(|_| ok) {
            Some(user) => {
                lock(&self.users).clear(&name);
                Ok(user)
            }
            None => {
                self.failed(&name, client, Instant::now());
                Err(Error::Unauthenticated("unknown user or wrong password".into()).into())
            }
        }
    }

    /// The 429 for a locked username or client, if either is locked at `now`.
    fn refusal(&self, name: &str, client: Option<IpAddr>, now: Instant) -> Option<Error> {
        let (left, whose) = match lock(&self.users).locked(name, now) {
            Some(left) => (left, "this username"),
            None => {
                let left = client.and_then(|ip| lock(&self.clients).locked(&ip, now))?;
                (left, "this address")
            }
        };
        let seconds = left.as_secs() + u64::from(left.subsec_nanos() > 0);
        Some(Error::TooManyAttempts {
            message: format!("too many failed sign-ins for {whose}; retry in {seconds} s"),
            retry_after_secs: seconds,
        })
    }

    fn failed(&self, name: &str, client: Option<IpAddr>, now: Instant) {
        let user = lock(&self.users).fail(name, now);
        let by_client = client.map(|ip| lock(&self.clients).fail(&ip, now));
        tracing::warn!(
            login.username = %name.escape_debug(),
            client.ip = client.map(tracing::field::display),
            login.failures = user.count,
            client.failures = by_client.map(|f| f.count),
            login.locked = user.locked_for.is_some(),
            login.locked_seconds = user.locked_for.map(|d| d.as_secs()),
            client.locked_seconds = by_client.and_then(|f| f.locked_for).map(|d| d.as_secs()),
            "sign-in failed"
        );
    }

    /// One password check under a permit, on the blocking pool, in a buffer of the gate's
    /// (so the budget holds whatever the allocator does); `None` checks the dummy hash and
    /// is false. The permit moves into the blocking task and is released after the buffer
    /// is back, so a client that hangs up frees neither while argon2 still runs.
    async fn check(&self, password: String, hash: Option<String>) -> Result<bool> {
        let permit = tokio::time::timeout(self.wait, self.checks.clone().acquire_owned())
            .await
            .map_err(|_| Error::Unavailable("every password check is busy".into()))?
            .map_err(|_| Error::Internal("the password check semaphore is closed".into()))?;
        let buffers = self.memory.clone();
        let span = tracing::Span::current();
        let ok = tokio::task::spawn_blocking(move || {
            let _entered = span.enter();
            let mut memory = lock(&buffers).pop().unwrap_or_default();
            let ok = match &hash {
                Some(hash) => password::verify_in(&mut memory, &password, hash),
                None => {
                    password::verify_in(&mut memory, &password, &DUMMY_HASH);
                    false
                }
            };
            lock(&buffers).push(memory);
            drop(permit);
            ok
        })
        .await?;
        Ok(ok)
    }

    /// The client's address: the TCP peer, or with `trust_forwarded` what the proxy put
    /// in `Forwarded` / `X-Forwarded-For`. IPv6 counts per /64 (what one host usually
    /// gets), so one machine cannot spread its failures over its own addresses.
    pub fn client(&self, request: &HttpRequest) -> Option<IpAddr> {
        let ip = if self.trust_forwarded {
            let info = request.connection_info();
            let real = info.realip_remote_addr()?;
            real.parse::<IpAddr>()
                .ok()
                .or_else(|| real.parse::<std::net::SocketAddr>().ok().map(|a| a.ip()))?
        } else {
            request.peer_addr()?.ip()
        };
        Some(match ip.to_canonical() {
            IpAddr::V6(v6) => {
                let bits = u128::from(v6) & !((1u128 << 64) - 1);
                IpAddr::V6(bits.into())
            }
            v4 => v4,
        })
    }
}

fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}

/// The username as a throttle key: cut to [`MAX_USERNAME_BYTES`] at a character boundary.
fn username_key(username: &str) -> String {
    let mut end = username.len().min(MAX_USERNAME_BYTES);
    while !username.is_char_boundary(end) {
        end -= 1;
    }
    username[..end].to_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    const LIMITS: Limits = Limits {
        failures: 5,
        window: Duration::from_secs(900),
        lockout: Duration::from_secs(60),
        max_lockout: Duration::from_secs(3600),
        capacity: 100,
    };

    fn secs(s: u64) -> Duration {
        Duration::from_secs(s)
    }

    #[test]
    fn five_failures_lock_for_a_minute_and_then_twice_as_long_each_time() {
        let t0 = Instant::now();
        let mut throttle = Throttle::new(LIMITS);
        let key = "sc-op1".to_owned();
        // (seconds after t0, failures counted, lockout set by this failure)
        let table: &[(u64, u32, Option<u64>)] = &[
            (0, 1, None),
            (1, 2, None),
            (2, 3, None),
            (3, 4, None),
            (4, 5, Some(60)),
            // In flight while locked: counted, not locked longer.
            (5, 6, None),
            (70, 7, Some(120)),
            (200, 8, Some(240)),
            (500, 9, Some(480)),
            (1000, 10, Some(960)),
            (2000, 11, Some(1920)),
            (4000, 12, Some(3600)),
            (8000, 13, Some(3600)),
        ];
        for &(at, count, locked_for) in table {
            let failure = throttle.fail(&key, t0 + secs(at));
            assert_eq!(
                failure,
                Failure {
                    count,
                    locked_for: locked_for.map(secs)
                },
                "failure at {at} s"
            );
        }
    }

    #[test]
    fn a_lock_reports_what_is_left_and_ends() {
        let t0 = Instant::now();
        let mut throttle = Throttle::new(LIMITS);
        let key = "u".to_owned();
        for i in 0..4 {
            throttle.fail(&key, t0 + secs(i));
            assert_eq!(throttle.locked(&key, t0 + secs(i)), None, "after {i}");
        }
        throttle.fail(&key, t0 + secs(10));
        assert_eq!(throttle.locked(&key, t0 + secs(10)), Some(secs(60)));
        assert_eq!(throttle.locked(&key, t0 + secs(40)), Some(secs(30)));
        assert_eq!(throttle.locked(&key, t0 + secs(70)), None);
        assert_eq!(throttle.locked("other", t0 + secs(10)), None);
    }

    #[test]
    fn failures_are_forgotten_after_the_window_and_cleared_by_a_success() {
        let t0 = Instant::now();
        let mut throttle = Throttle::new(LIMITS);
        let key = "u".to_owned();
        for i in 0..4 {
            throttle.fail(&key, t0 + secs(i));
        }
        // 15 min after the last failure: a fresh count.
        assert_eq!(throttle.fail(&key, t0 + secs(3 + 900)).count, 1);
        for i in 0..3 {
            throttle.fail(&key, t0 + secs(1000 + i));
        }
        throttle.clear(&key);
        assert_eq!(throttle.fail(&key, t0 + secs(1010)).count, 1);
        // After a lockout the window runs from its end: the doubling holds until then.
        for i in 0..4 {
            throttle.fail(&key, t0 + secs(1011 + i));
        }
        assert_eq!(throttle.locked(&key, t0 + secs(1014)), Some(secs(60)));
        let next = throttle.fail(&key, t0 + secs(1014 + 60 + 899));
        assert_eq!(next.locked_for, Some(secs(120)));
        let later = throttle.fail(&key, t0 + secs(1014 + 60 + 899 + 120 + 900));
        assert_eq!((later.count, later.locked_for), (1, None));
    }

    #[test]
    fn random_usernames_cannot_grow_the_map_or_evict_a_lockout() {
        let t0 = Instant::now();
        let mut throttle = Throttle::new(LIMITS);
        let victim = "victim".to_owned();
        for i in 0..5 {
            throttle.fail(&victim, t0 + secs(i));
        }
        for i in 0..10_000u64 {
            throttle.fail(
                &format!("random-{i}"),
                t0 + secs(5) + Duration::from_millis(i),
            );
            assert!(throttle.len() <= LIMITS.capacity);
        }
        assert_eq!(throttle.len(), LIMITS.capacity);
        assert!(throttle.locked(&victim, t0 + secs(30)).is_some());
        // Forgotten entries make room before anything else goes.
        let much_later = t0 + secs(100_000);
        throttle.fail("new", much_later);
        assert_eq!(throttle.len(), 1);
    }

    #[test]
    fn usernames_are_cut_at_a_character_boundary() {
        assert_eq!(username_key("sc-op1"), "sc-op1");
        let long = "监".repeat(100);
        let key = username_key(&long);
        assert!(key.len() <= MAX_USERNAME_BYTES && key.len() >= MAX_USERNAME_BYTES - 3);
        assert!(long.starts_with(&key));
    }

    fn settings() -> LoginSection {
        LoginSection {
            user_failures: 2,
            ..LoginSection::default()
        }
    }

    /// The client address the gate takes from a request of peer `ip`.
    fn peer(ip: &str) -> Option<IpAddr> {
        let request = actix_web::test::TestRequest::default()
            .peer_addr(std::net::SocketAddr::new(
                ip.parse().expect("address"),
                40000,
            ))
            .to_http_request();
        Gate::new(&LoginSection::default()).client(&request)
    }

    #[test]
    fn the_client_is_the_peer_unless_a_proxy_is_trusted() {
        let forwarded = |gate: &Gate| {
            gate.client(
                &actix_web::test::TestRequest::default()
                    .peer_addr("10.0.0.9:40000".parse().expect("address"))
                    .insert_header(("x-forwarded-for", "203.0.113.7"))
                    .to_http_request(),
            )
        };
        let direct = Gate::new(&LoginSection::default());
        assert_eq!(forwarded(&direct), "10.0.0.9".parse().ok());
        let proxied = Gate::new(&LoginSection {
            trust_forwarded: true,
            ..LoginSection::default()
        });
        assert_eq!(forwarded(&proxied), "203.0.113.7".parse().ok());
        // IPv6 per /64; an IPv4-mapped address is the IPv4 one.
        assert_eq!(peer("2001:db8::1:2:3:4"), "2001:db8::".parse().ok());
        assert_eq!(peer("::ffff:192.0.2.1"), "192.0.2.1".parse().ok());
    }

    /// A lookup that records it ran; the user is `("u", hash of "right")`.
    async fn lookup(
        ran: &std::sync::atomic::AtomicUsize,
        name: &str,
        hash: &str,
    ) -> Result<Option<(String, String)>> {
        ran.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        Ok((name == "u").then(|| (name.to_owned(), hash.to_owned())))
    }

    #[tokio::test]
    async fn a_locked_username_is_refused_without_a_lookup_or_a_check() {
        let gate = Gate::new(&settings());
        let hash = password::hash("right").expect("hash");
        let ran = std::sync::atomic::AtomicUsize::new(0);
        let req = peer("10.0.0.1");
        let ok = gate
            .sign_in(req, "u", "right".into(), lookup(&ran, "u", &hash))
            .await;
        assert_eq!(ok.expect("signed in"), "u");
        for _ in 0..2 {
            let err = gate
                .sign_in(req, "u", "wrong".into(), lookup(&ran, "u", &hash))
                .await
                .map(|_: String| ())
                .expect_err("wrong password");
            assert_eq!(err.code(), "unauthenticated");
        }
        assert_eq!(ran.load(std::sync::atomic::Ordering::SeqCst), 3);
        // Locked: even the right password, from another address, is 429, and nothing runs.
        let err = gate
            .sign_in(
                peer("10.0.0.2"),
                "u",
                "right".into(),
                lookup(&ran, "u", &hash),
            )
            .await
            .map(|_: String| ())
            .expect_err("locked");
        assert_eq!(err.code(), "too_many_attempts");
        assert_eq!(err.status().as_u16(), 429);
        assert!((59..=60).contains(&err.retry_after().expect("retry after")));
        assert_eq!(ran.load(std::sync::atomic::Ordering::SeqCst), 3);
        // An unknown user costs a check and is the same 401.
        let err = gate
            .sign_in(req, "nobody", "right".into(), lookup(&ran, "nobody", &hash))
            .await
            .map(|_: String| ())
            .expect_err("unknown");
        assert_eq!(
            (err.code(), err.public_message()),
            (
                "unauthenticated",
                "unknown user or wrong password".to_owned()
            )
        );
    }

    #[tokio::test]
    async fn a_client_address_is_locked_across_usernames() {
        let gate = Gate::new(&LoginSection {
            client_failures: 3,
            ..LoginSection::default()
        });
        let ran = std::sync::atomic::AtomicUsize::new(0);
        // One /64 is one client.
        for (i, ip) in ["2001:db8::1", "2001:db8::2", "2001:db8::3"]
            .iter()
            .enumerate()
        {
            let name = format!("nobody-{i}");
            let err = gate
                .sign_in(peer(ip), &name, "x".into(), lookup(&ran, &name, ""))
                .await
                .map(|_: String| ())
                .expect_err("unknown");
            assert_eq!(err.code(), "unauthenticated");
        }
        let err = gate
            .sign_in(peer("2001:db8::4"), "u", "x".into(), lookup(&ran, "u", ""))
            .await
            .map(|_: String| ())
            .expect_err("locked");
        assert_eq!(err.code(), "too_many_attempts");
        let other = gate
            .sign_in(peer("2001:db9::1"), "v", "x".into(), lookup(&ran, "v", ""))
            .await
            .map(|_: String| ())
            .expect_err("unknown");
        assert_eq!(other.code(), "unauthenticated");
    }

    #[tokio::test]
    async fn a_sign_in_waiting_too_long_for_a_check_is_refused() {
        let gate = Gate::new(&LoginSection {
            hash_memory_mib: 19,
            wait_ms: 50,
            ..LoginSection::default()
        });
        assert_eq!(gate.checks_at_once(), 1);
        let _busy = gate.checks.clone().acquire_owned().await.expect("permit");
        let ran = std::sync::atomic::AtomicUsize::new(0);
        let err = gate
            .sign_in(peer("10.0.0.1"), "u", "x".into(), lookup(&ran, "u", ""))
            .await
            .map(|_: String| ())
            .expect_err("busy");
        assert_eq!(err.status().as_u16(), 503);
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn concurrent_checks_share_at_most_one_buffer_each() {
        let gate = Arc::new(Gate::new(&LoginSection {
            hash_memory_mib: 2 * password::CHECK_MEMORY_MIB,
            wait_ms: 60_000,
            client_failures: 1_000,
            ..LoginSection::default()
        }));
        let attempts: Vec<_> = (0..6)
            .map(|i| {
                let gate = gate.clone();
                tokio::spawn(async move {
                    let name = format!("nobody-{i}");
                    let ran = std::sync::atomic::AtomicUsize::new(0);
                    gate.sign_in(peer("10.0.0.1"), &name, "x".into(), lookup(&ran, &name, ""))
                        .await
                        .map(|_: String| ())
                        .expect_err("unknown")
                        .code()
                })
            })
            .collect();
        for attempt in attempts {
            assert_eq!(attempt.await.expect("task"), "unauthenticated");
        }
        let buffers = lock(&gate.memory);
        assert!(
            (1..=2).contains(&buffers.len()),
            "{} buffers",
            buffers.len()
        );
        assert_eq!(gate.checks.available_permits(), 2);
    }

    #[test]
    fn the_default_budget_is_four_checks() {
        assert_eq!(Gate::new(&LoginSection::default()).checks_at_once(), 4);
        assert_eq!(LoginSection::default().validate(), Ok(()));
        let bad = LoginSection {
            hash_memory_mib: 10,
            ..LoginSection::default()
        };
        assert_eq!(
            bad.validate().map_err(|(key, _)| key),
            Err("auth.login.hash_memory_mib".to_owned())
        );
    }
}
