//! Rate limits: token buckets, one per key (a client address, a user) or one for
//! everybody, in memory and bounded. The sign-in throttle ([`crate::login`]) counts
//! failures and locks; this counts every request and only ever makes it wait.
//!
//! A bucket holds at most `burst` tokens and gains `per_hour` tokens an hour, evenly; a
//! request takes its cost (1 for a request, the size for bytes) or, when the bucket has
//! too few, is refused with how long until it would have enough (`Retry-After`). Pure:
//! the caller gives the time, so tests run on a clock of their own.

use std::collections::HashMap;
use std::hash::Hash;
use std::time::{Duration, Instant};

/// How fast a bucket refills and how much it holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Rate {
    /// Tokens a full bucket holds: what may be spent at once.
    pub burst: u64,
    /// Tokens added an hour (spread evenly).
    pub per_hour: u64,
}

impl Rate {
    fn per_second(self) -> f64 {
        self.per_hour as f64 / 3600.0
    }

    /// How long an empty bucket takes to fill.
    fn fill_time(self) -> Duration {
        Duration::from_secs_f64(self.burst as f64 / self.per_second().max(f64::MIN_POSITIVE))
    }
}

/// One bucket: its tokens as of `at`.
#[derive(Debug, Clone, Copy)]
pub struct Bucket {
    tokens: f64,
    at: Instant,
}

impl Bucket {
    /// A full bucket.
    pub fn full(rate: Rate, now: Instant) -> Bucket {
        Bucket {
            tokens: rate.burst as f64,
            at: now,
        }
    }

    /// Tokens at `now` (refilled since `at`, at most `burst`).
    fn level(&self, rate: Rate, now: Instant) -> f64 {
        let elapsed = now.saturating_duration_since(self.at).as_secs_f64();
        (self.tokens + elapsed * rate.per_second()).min(rate.burst as f64)
    }

    /// `None` when `cost` tokens are there at `now` (a cost above `burst` counts as
    /// `burst`: a full bucket lets it through), else how long until they are.
    pub fn wait(&self, rate: Rate, cost: u64, now: Instant) -> Option<Duration> {
        let cost = cost.min(rate.burst) as f64;
        let missing = cost - self.level(rate, now);
        (missing > 1e-9)
            .then(|| Duration::from_secs_f64(missing / rate.per_second().max(f64::MIN_POSITIVE)))
    }

    /// Takes `cost` tokens (call after [`Bucket::wait`] said there are enough).
    pub fn take(&mut self, rate: Rate, cost: u64, now: Instant) {
        let cost = cost.min(rate.burst) as f64;
        self.tokens = (self.level(rate, now) - cost).max(0.0);
        self.at = now;
    }
}

/// A bucket per key, at most `capacity` keys. A key whose bucket has refilled is as good
/// as forgotten; when the map is full, those go first, then the fullest bucket (the key
/// least held back), so a flood of new keys cannot grow the memory, and pushes out the
/// keys it would limit least.
#[derive(Debug)]
pub struct Buckets<K> {
    rate: Rate,
    capacity: usize,
    entries: HashMap<K, Bucket>,
}

impl<K: Hash + Eq + Clone> Buckets<K> {
    pub fn new(rate: Rate, capacity: usize) -> Self {
        Buckets {
            rate,
            capacity: capacity.max(1),
            entries: HashMap::new(),
        }
    }

    pub fn rate(&self) -> Rate {
        self.rate
    }

    /// `None` when `key` may spend `cost` at `now`, else how long it must wait.
    pub fn wait(&self, key: &K, cost: u64, now: Instant) -> Option<Duration> {
        self.entries
            .get(key)
            .and_then(|bucket| bucket.wait(self.rate, cost, now))
    }

    /// Spends `cost` of `key`'s tokens (call after [`Buckets::wait`] said it may).
    pub fn take(&mut self, key: &K, cost: u64, now: Instant) {
        let rate = self.rate;
        if let Some(bucket) = self.entries.get_mut(key) {
            bucket.take(rate, cost, now);
            return;
        }
        self.make_room(now);
        let mut bucket = Bucket::full(rate, now);
        bucket.take(rate, cost, now);
        self.entries.insert(key.clone(), bucket);
    }

    /// Keys remembered now.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    fn make_room(&mut self, now: Instant) {
        if self.entries.len() < self.capacity {
            return;
        }
        let (rate, fill) = (self.rate, self.rate.fill_time());
        self.entries
            .retain(|_, b| now.saturating_duration_since(b.at) < fill);
        while self.entries.len() >= self.capacity {
            let fullest = self
                .entries
                .iter()
                .max_by(|(_, a), (_, b)| a.level(rate, now).total_cmp(&b.level(rate, now)))
                .map(|(k, _)| k.clone());
            match fullest {
                Some(key) => self.entries.remove(&key),
                None => break,
            };
        }
    }
}

/// Whole seconds for `Retry-After`: rounded up, at least 1.
pub fn retry_after_secs(wait: Duration) -> u64 {
    (wait.as_secs() + u64::from(wait.subsec_nanos() > 0)).max(1)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn secs(s: u64) -> Duration {
        Duration::from_secs(s)
    }

    const FIVE_AN_HOUR_BURST_3: Rate = Rate {
        burst: 3,
        per_hour: 5,
    };

    /// A wait in whole seconds (the float arithmetic is exact to far less than that).
    fn wait<K: Hash + Eq + Clone>(
        buckets: &Buckets<K>,
        key: K,
        cost: u64,
        at: Instant,
    ) -> Option<u64> {
        buckets
            .wait(&key, cost, at)
            .map(|w| w.as_secs_f64().round() as u64)
    }

    #[test]
    fn a_burst_then_one_token_per_interval() {
        let t0 = Instant::now();
        let mut buckets = Buckets::new(FIVE_AN_HOUR_BURST_3, 10);
        for i in 0..3 {
            assert_eq!(wait(&buckets, "a", 1, t0), None, "request {i}");
            buckets.take(&"a", 1, t0);
        }
        // One token every 720 s.
        assert_eq!(wait(&buckets, "a", 1, t0), Some(720));
        assert_eq!(wait(&buckets, "a", 1, t0 + secs(700)), Some(20));
        assert_eq!(wait(&buckets, "a", 1, t0 + secs(720)), None);
        buckets.take(&"a", 1, t0 + secs(720));
        assert_eq!(wait(&buckets, "a", 1, t0 + secs(720)), Some(720));
        // Another key has its own bucket.
        assert_eq!(wait(&buckets, "b", 1, t0), None);
        // A long pause refills no more than the burst.
        let later = t0 + secs(100_000);
        for _ in 0..3 {
            assert_eq!(wait(&buckets, "a", 1, later), None);
            buckets.take(&"a", 1, later);
        }
        assert!(wait(&buckets, "a", 1, later).is_some());
    }

    #[test]
    fn costs_count_and_a_cost_above_the_burst_needs_a_full_bucket() {
        let rate = Rate {
            burst: 100,
            per_hour: 3600,
        };
        let t0 = Instant::now();
        let mut buckets = Buckets::new(rate, 10);
        buckets.take(&1, 60, t0);
        assert_eq!(wait(&buckets, 1, 40, t0), None);
        assert_eq!(wait(&buckets, 1, 50, t0), Some(10));
        assert_eq!(wait(&buckets, 1, 1_000, t0), Some(60));
        assert_eq!(wait(&buckets, 1, 1_000, t0 + secs(60)), None);
        buckets.take(&1, 1_000, t0 + secs(60));
        assert_eq!(wait(&buckets, 1, 1, t0 + secs(60)), Some(1));
    }

    #[test]
    fn new_keys_cannot_grow_the_map_and_push_out_the_least_held_back() {
        let t0 = Instant::now();
        let mut buckets = Buckets::new(FIVE_AN_HOUR_BURST_3, 100);
        for _ in 0..3 {
            buckets.take(&u64::MAX, 1, t0);
        }
        for i in 0..10_000u64 {
            buckets.take(&i, 1, t0 + Duration::from_millis(i));
            assert!(buckets.len() <= 100);
        }
        assert!(
            wait(&buckets, u64::MAX, 1, t0 + secs(11)).is_some(),
            "the empty bucket is kept"
        );
        // Refilled buckets are forgotten before anything else goes.
        buckets.take(&(u64::MAX - 1), 1, t0 + secs(100_000));
        assert_eq!(buckets.len(), 1);
    }

    #[test]
    fn retry_after_rounds_up() {
        assert_eq!(retry_after_secs(Duration::from_millis(1)), 1);
        assert_eq!(retry_after_secs(Duration::from_millis(1_001)), 2);
        assert_eq!(retry_after_secs(secs(0)), 1);
        assert_eq!(retry_after_secs(secs(720)), 720);
    }
}
