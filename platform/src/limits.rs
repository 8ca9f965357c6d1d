//! Write limits of a district (`[limits]` in the tenant file; docs/API.md, "Limits").
//!
//! Anonymous callers (public reports and their photos) are limited per client address —
//! the address sign-in uses ([`citygrid_kit::login::Gate::client`]: the TCP peer, or the
//! proxy's `Forwarded` header with `[auth.login] trust_forwarded`; IPv6 per /64) — and all
//! together, so many addresses cannot write without bound either. Signed-in staff are
//! limited per user, far more generously: a runaway script stops, a busy operator does not.
//! Over a limit: 429 `rate_limited` with `Retry-After`, nothing written.

use std::net::{IpAddr, Ipv4Addr};
use std::sync::{Mutex, PoisonError};
use std::time::{Duration, Instant};

use citygrid_kit::rate::{Bucket, Buckets, Rate, retry_after_secs};
use serde::Deserialize;
use uuid::Uuid;

use crate::error::{Error, Kit, Result};

const MIB: u64 = 1024 * 1024;

/// `[limits]`: every key optional (the defaults below).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct LimitsSection {
    /// Public reports (`POST /cases` without a token) per client address: this many an
    /// hour, at most `public_report_burst` at once.
    pub public_reports_per_hour: u64,
    pub public_report_burst: u64,
    /// Anonymous photo uploads per client address.
    pub public_uploads_per_hour: u64,
    pub public_upload_burst: u64,
    /// Anonymous upload bytes per client address, in MiB an hour (all of it at once too).
    pub public_upload_mib_per_hour: u64,
    /// Anonymous address lookups (`GET /geo/geocode`, `/geo/reverse`) per client address:
    /// this many an hour, at most `public_lookup_burst` at once. Reads, so they spend
    /// nothing of the report and write limits.
    pub public_lookups_per_hour: u64,
    pub public_lookup_burst: u64,
    /// Anonymous reports and uploads together, from every address: a minute's worth at once.
    pub public_writes_per_minute: u64,
    /// Anonymous upload bytes from every address, in MiB an hour.
    pub public_upload_total_mib_per_hour: u64,
    /// Writes (reports, uploads, steps) per signed-in user, a minute, at most
    /// `staff_write_burst` at once.
    pub staff_writes_per_minute: u64,
    pub staff_write_burst: u64,
    /// Addresses (and, separately, users) remembered at most; when full, the one held
    /// back least goes.
    pub tracked: usize,
    /// List answers (`GET /cases`, `/queue`, `/exchange/rejections`) stop before this
    /// many KiB and say where to continue.
    pub page_kib: usize,
    /// An uploaded photo that no business record references this many hours after its
    /// upload is deleted (row and file).
    pub orphan_media_hours: u64,
}

impl Default for LimitsSection {
    fn default() -> Self {
        LimitsSection {
            public_reports_per_hour: 30,
            public_report_burst: 5,
            public_uploads_per_hour: 120,
            public_upload_burst: 20,
            public_upload_mib_per_hour: 100,
            public_lookups_per_hour: 600,
            public_lookup_burst: 60,
            public_writes_per_minute: 120,
            public_upload_total_mib_per_hour: 2048,
            staff_writes_per_minute: 600,
            staff_write_burst: 1200,
            tracked: 10_000,
            page_kib: 1024,
            orphan_media_hours: 24,
        }
    }
}

impl LimitsSection {
    /// The key at fault (`limits.…`) and why, for the file's validation message.
    pub fn validate(&self) -> std::result::Result<(), (String, String)> {
        let fail = |key: &str, message: String| Err((format!("limits.{key}"), message));
        for (key, value) in [
            ("public_reports_per_hour", self.public_reports_per_hour),
            ("public_report_burst", self.public_report_burst),
            ("public_uploads_per_hour", self.public_uploads_per_hour),
            ("public_upload_burst", self.public_upload_burst),
            (
                "public_upload_mib_per_hour",
                self.public_upload_mib_per_hour,
            ),
            ("public_lookups_per_hour", self.public_lookups_per_hour),
            ("public_lookup_burst", self.public_lookup_burst),
            ("public_writes_per_minute", self.public_writes_per_minute),
            (
                "public_upload_total_mib_per_hour",
                self.public_upload_total_mib_per_hour,
            ),
            ("staff_writes_per_minute", self.staff_writes_per_minute),
            ("staff_write_burst", self.staff_write_burst),
            ("tracked", self.tracked as u64),
        ] {
            if value == 0 {
                return fail(key, "must be at least 1".into());
            }
            if value > u64::from(u32::MAX) {
                return fail(key, format!("must be at most {}", u32::MAX));
            }
        }
        if !(16..=64 * 1024).contains(&self.page_kib) {
            return fail("page_kib", "must be between 16 and 65536".into());
        }
        if !(1..=24 * 366).contains(&self.orphan_media_hours) {
            return fail("orphan_media_hours", "must be between 1 and 8784".into());
        }
        Ok(())
    }

    /// The byte budget of a list answer.
    pub fn page_bytes(&self) -> usize {
        self.page_kib * 1024
    }

    /// How long an unreferenced upload is kept.
    pub fn orphan_media_age(&self) -> Duration {
        Duration::from_secs(self.orphan_media_hours * 3600)
    }
}

/// The buckets, behind one lock so that a request is checked against all its limits
/// before it spends from any.
#[derive(Debug)]
struct Counters {
    reports: Buckets<IpAddr>,
    uploads: Buckets<IpAddr>,
    upload_bytes: Buckets<IpAddr>,
    lookups: Buckets<IpAddr>,
    public: Bucket,
    public_rate: Rate,
    public_bytes: Bucket,
    public_bytes_rate: Rate,
    staff: Buckets<Uuid>,
}

/// The limits of one district instance, in memory (a restart forgets them).
#[derive(Debug)]
pub struct Limiter {
    counters: Mutex<Counters>,
}

/// The key of a client without a known address (no TCP peer, or a proxy header that is
/// not an address): all such share one bucket.
const UNKNOWN: IpAddr = IpAddr::V4(Ipv4Addr::UNSPECIFIED);

fn refused(what: &str, wait: Duration) -> Error {
    let seconds = retry_after_secs(wait);
    Kit::RateLimited {
        message: format!("{what}; retry in {seconds} s"),
        retry_after_secs: seconds,
    }
    .into()
}

impl Limiter {
    /// From a validated `[limits]` section.
    pub fn new(settings: &LimitsSection) -> Limiter {
        Self::at(settings, Instant::now())
    }

    fn at(s: &LimitsSection, now: Instant) -> Limiter {
        let public_rate = Rate {
            burst: s.public_writes_per_minute,
            per_hour: s.public_writes_per_minute * 60,
        };
        let public_bytes_rate = Rate {
            burst: s.public_upload_total_mib_per_hour * MIB,
            per_hour: s.public_upload_total_mib_per_hour * MIB,
        };
        let per_address = |burst, per_hour| Buckets::new(Rate { burst, per_hour }, s.tracked);
        Limiter {
            counters: Mutex::new(Counters {
                reports: per_address(s.public_report_burst, s.public_reports_per_hour),
                uploads: per_address(s.public_upload_burst, s.public_uploads_per_hour),
                upload_bytes: per_address(
                    s.public_upload_mib_per_hour * MIB,
                    s.public_upload_mib_per_hour * MIB,
                ),
                lookups: per_address(s.public_lookup_burst, s.public_lookups_per_hour),
                public: Bucket::full(public_rate, now),
                public_rate,
                public_bytes: Bucket::full(public_bytes_rate, now),
                public_bytes_rate,
                staff: Buckets::new(
                    Rate {
                        burst: s.staff_write_burst,
                        per_hour: s.staff_writes_per_minute * 60,
                    },
                    s.tracked,
                ),
            }),
        }
    }

    fn counters(&self) -> std::sync::MutexGuard<'_, Counters> {
        self.counters.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// A public report from `client`: one of the address's reports and one anonymous write.
    pub fn public_report(&self, client: Option<IpAddr>) -> Result<()> {
        self.public_report_at(client, Instant::now())
    }

    fn public_report_at(&self, client: Option<IpAddr>, now: Instant) -> Result<()> {
        let ip = client.unwrap_or(UNKNOWN);
        let mut c = self.counters();
        if let Some(wait) = c.reports.wait(&ip, 1, now) {
            tracing::debug!(client.ip = %ip, "public report refused: address limit");
            return Err(refused("too many public reports from this address", wait));
        }
        let public_rate = c.public_rate;
        if let Some(wait) = c.public.wait(public_rate, 1, now) {
            tracing::debug!(client.ip = %ip, "public report refused: anonymous writes limit");
            return Err(refused(
                "too many anonymous reports and uploads right now",
                wait,
            ));
        }
        c.reports.take(&ip, 1, now);
        c.public.take(public_rate, 1, now);
        Ok(())
    }

    /// An anonymous upload from `client`, before its body is read: one of the address's
    /// uploads and one anonymous write; `declared` bytes (`Content-Length`) must be left
    /// in the byte allowances, though they are spent only by [`Limiter::public_bytes`].
    pub fn public_upload(&self, client: Option<IpAddr>, declared: Option<u64>) -> Result<()> {
        self.public_upload_at(client, declared, Instant::now())
    }

    fn public_upload_at(
        &self,
        client: Option<IpAddr>,
        declared: Option<u64>,
        now: Instant,
    ) -> Result<()> {
        let ip = client.unwrap_or(UNKNOWN);
        let mut c = self.counters();
        if let Some(wait) = c.uploads.wait(&ip, 1, now) {
            tracing::debug!(client.ip = %ip, "public upload refused: address limit");
            return Err(refused("too many uploads from this address", wait));
        }
        let public_rate = c.public_rate;
        if let Some(wait) = c.public.wait(public_rate, 1, now) {
            tracing::debug!(client.ip = %ip, "public upload refused: anonymous writes limit");
            return Err(refused(
                "too many anonymous reports and uploads right now",
                wait,
            ));
        }
        if let Some(bytes) = declared {
            bytes_left(&c, ip, bytes, now)?;
        }
        c.uploads.take(&ip, 1, now);
        c.public.take(public_rate, 1, now);
        Ok(())
    }

    /// The `bytes` an anonymous upload from `client` brought: refused (nothing stored)
    /// when the address's or everybody's hourly bytes are spent.
    pub fn public_bytes(&self, client: Option<IpAddr>, bytes: u64) -> Result<()> {
        self.public_bytes_at(client, bytes, Instant::now())
    }

    fn public_bytes_at(&self, client: Option<IpAddr>, bytes: u64, now: Instant) -> Result<()> {
        let ip = client.unwrap_or(UNKNOWN);
        let mut c = self.counters();
        bytes_left(&c, ip, bytes, now)?;
        let rate = c.public_bytes_rate;
        c.upload_bytes.take(&ip, bytes, now);
        c.public_bytes.take(rate, bytes, now);
        Ok(())
    }

    /// An anonymous address lookup from `client` (geocoding): one of the address's lookups.
    pub fn public_lookup(&self, client: Option<IpAddr>) -> Result<()> {
        self.public_lookup_at(client, Instant::now())
    }

    fn public_lookup_at(&self, client: Option<IpAddr>, now: Instant) -> Result<()> {
        let ip = client.unwrap_or(UNKNOWN);
        let mut c = self.counters();
        if let Some(wait) = c.lookups.wait(&ip, 1, now) {
            tracing::debug!(client.ip = %ip, "address lookup refused: address limit");
            return Err(refused("too many address lookups from this address", wait));
        }
        c.lookups.take(&ip, 1, now);
        Ok(())
    }

    /// A write (report, upload, step) by the signed-in `user`.
    pub fn staff_write(&self, user: Uuid) -> Result<()> {
        self.staff_write_at(user, Instant::now())
    }

    fn staff_write_at(&self, user: Uuid, now: Instant) -> Result<()> {
        let mut c = self.counters();
        if let Some(wait) = c.staff.wait(&user, 1, now) {
            tracing::info!(user.id = %user, "write refused: per-user limit");
            return Err(refused("too many writes by this user", wait));
        }
        c.staff.take(&user, 1, now);
        Ok(())
    }
}

fn bytes_left(c: &Counters, ip: IpAddr, bytes: u64, now: Instant) -> Result<()> {
    if let Some(wait) = c.upload_bytes.wait(&ip, bytes, now) {
        tracing::debug!(client.ip = %ip, bytes, "public upload refused: address bytes");
        return Err(refused(
            &format!(
                "this address has uploaded its {} MiB for the hour",
                c.upload_bytes.rate().per_hour / MIB
            ),
            wait,
        ));
    }
    if let Some(wait) = c.public_bytes.wait(c.public_bytes_rate, bytes, now) {
        tracing::debug!(client.ip = %ip, bytes, "public upload refused: anonymous bytes");
        return Err(refused("too many anonymous upload bytes right now", wait));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(s: &str) -> Option<IpAddr> {
        s.parse().ok()
    }

    fn retry(result: Result<()>) -> Option<(u16, &'static str, u64)> {
        match result {
            Ok(()) => None,
            Err(Error::Kit(e)) => Some((e.status().as_u16(), e.code(), e.retry_after()?)),
            Err(other) => panic!("unexpected {other:?}"),
        }
    }

    #[test]
    fn public_reports_per_address_then_for_everybody() {
        let t0 = Instant::now();
        let limiter = Limiter::at(
            &LimitsSection {
                public_reports_per_hour: 60,
                public_report_burst: 2,
                public_writes_per_minute: 3,
                ..LimitsSection::default()
            },
            t0,
        );
        let a = ip("192.0.2.1");
        assert_eq!(retry(limiter.public_report_at(a, t0)), None);
        assert_eq!(retry(limiter.public_report_at(a, t0)), None);
        // The address's burst is spent: one a minute.
        assert_eq!(
            retry(limiter.public_report_at(a, t0)),
            Some((429, "rate_limited", 60))
        );
        // Another address may, until everybody's minute is spent (2 + 1 of 3).
        assert_eq!(retry(limiter.public_report_at(ip("192.0.2.2"), t0)), None);
        assert_eq!(
            retry(limiter.public_report_at(ip("192.0.2.3"), t0)),
            Some((429, "rate_limited", 20))
        );
        // A refusal spent nothing: 20 s later everybody has one again.
        let t1 = t0 + Duration::from_secs(20);
        assert_eq!(retry(limiter.public_report_at(ip("192.0.2.3"), t1)), None);
    }

    #[test]
    fn upload_bytes_per_address_per_hour() {
        let t0 = Instant::now();
        let limiter = Limiter::at(
            &LimitsSection {
                public_upload_mib_per_hour: 20,
                ..LimitsSection::default()
            },
            t0,
        );
        let a = ip("2001:db8::");
        assert_eq!(retry(limiter.public_upload_at(a, Some(10 * MIB), t0)), None);
        assert_eq!(retry(limiter.public_bytes_at(a, 10 * MIB, t0)), None);
        assert_eq!(retry(limiter.public_bytes_at(a, 10 * MIB, t0)), None);
        // Declared too much: refused before the body is read; 1 MiB takes 3 minutes.
        assert_eq!(
            retry(limiter.public_upload_at(a, Some(MIB), t0)),
            Some((429, "rate_limited", 180))
        );
        assert_eq!(
            retry(limiter.public_bytes_at(a, MIB, t0)),
            Some((429, "rate_limited", 180))
        );
        assert_eq!(
            retry(limiter.public_bytes_at(ip("2001:db9::"), MIB, t0)),
            None
        );
    }

    #[test]
    fn anonymous_lookups_per_address_spend_no_reports() {
        let t0 = Instant::now();
        let limiter = Limiter::at(
            &LimitsSection {
                public_lookups_per_hour: 60,
                public_lookup_burst: 2,
                public_report_burst: 1,
                ..LimitsSection::default()
            },
            t0,
        );
        let a = ip("192.0.2.1");
        assert_eq!(retry(limiter.public_lookup_at(a, t0)), None);
        assert_eq!(retry(limiter.public_lookup_at(a, t0)), None);
        assert_eq!(
            retry(limiter.public_lookup_at(a, t0)),
            Some((429, "rate_limited", 60))
        );
        assert_eq!(retry(limiter.public_lookup_at(ip("192.0.2.2"), t0)), None);
        // The address may still report.
        assert_eq!(retry(limiter.public_report_at(a, t0)), None);
    }

    #[test]
    fn staff_are_limited_per_user() {
        let t0 = Instant::now();
        let limiter = Limiter::at(
            &LimitsSection {
                staff_writes_per_minute: 60,
                staff_write_burst: 3,
                ..LimitsSection::default()
            },
            t0,
        );
        let (u, v) = (Uuid::new_v4(), Uuid::new_v4());
        for _ in 0..3 {
            assert_eq!(retry(limiter.staff_write_at(u, t0)), None);
        }
        assert_eq!(
            retry(limiter.staff_write_at(u, t0)),
            Some((429, "rate_limited", 1))
        );
        assert_eq!(retry(limiter.staff_write_at(v, t0)), None);
    }

    #[test]
    fn the_defaults_are_valid_and_zero_is_not() {
        assert_eq!(LimitsSection::default().validate(), Ok(()));
        let bad = LimitsSection {
            public_report_burst: 0,
            ..LimitsSection::default()
        };
        assert_eq!(
            bad.validate().map_err(|(key, _)| key),
            Err("limits.public_report_burst".to_owned())
        );
        let bad = LimitsSection {
            page_kib: 1,
            ..LimitsSection::default()
        };
        assert_eq!(
            bad.validate().map_err(|(key, _)| key),
            Err("limits.page_kib".to_owned())
        );
        let parsed: LimitsSection =
            toml::from_str("public_report_burst = 2\norphan_media_hours = 48").expect("toml");
        assert_eq!(
            (parsed.public_report_burst, parsed.orphan_media_hours),
            (2, 48)
        );
        assert!(toml::from_str::<LimitsSection>("public_reports = 2").is_err());
    }
}
