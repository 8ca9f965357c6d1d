//! Tenant configuration: one TOML file per district instance (see `tenants/`).
//!
//! Loading validates everything start-up depends on, and every error names the file,
//! the key and what is wrong, so a bad file stops the instance before it serves anything.

use std::collections::HashSet;
use std::path::{Path, PathBuf};

use citygrid_kit::broker::{self, Account};
use geo::{Contains, InteriorPoint, MultiPolygon, Point};
use secrecy::{ExposeSecret, SecretString};
use serde::Deserialize;

pub use citygrid_kit::config::{
    AuthSection, DatabaseSection, HttpSection, env_override, env_secret,
};

use crate::calendar::{Coverage, UnpublishedYear, WorkCalendar, renamed_for_year};
use crate::case::workflow::Role;
use crate::catalogue::Catalogue;
use crate::error::{Error, Result};
use crate::grid::{self, Cell, Grid};
use crate::manual::Manual;
use crate::vocab::DepartmentKind;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TenantFile {
    /// `demo = true` at the top of the file: a demo deployment, which may run on the
    /// repository's public keys and passwords (refused otherwise) and says so loudly at
    /// start (docs/API.md, Demo deployments).
    #[serde(default)]
    pub demo: bool,
    pub district: DistrictSection,
    pub database: DatabaseSection,
    pub http: HttpSection,
    pub auth: AuthSection,
    #[serde(default)]
    pub media: MediaSection,
    /// `[limits]`: write rates, list page bytes, orphan photo expiry (crate::limits).
    #[serde(default)]
    pub limits: crate::limits::LimitsSection,
    pub calendar: CalendarSection,
    #[serde(default)]
    pub notifications: NotificationsSection,
    /// The city exchange (RabbitMQ). Without it the outbox fills but nothing is sent.
    pub exchange: Option<ExchangeSection>,
    pub streets: Vec<Street>,
    pub departments: Vec<Department>,
    #[serde(default)]
    pub users: Vec<SeedUser>,
    /// 巡查责任区: who gets the on-site tasks of which cells (crate::patrol).
    #[serde(default)]
    pub patrols: Vec<crate::patrol::Patrol>,
    /// `[appraisal]`: the rules the district is appraised under (crate::appraisal).
    #[serde(default)]
    pub appraisal: AppraisalSection,
}

/// `[appraisal]` in the tenant file.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AppraisalSection {
    /// A rules file (docs/APPRAISAL.md, "Rules file", with `[post.*]` weights), relative
    /// to the tenant file; the built-in defaults without one.
    pub rules: Option<PathBuf>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DistrictSection {
    /// GB/T 2260 administrative code, 6 digits.
    pub code: String,
    pub name: String,
    pub time_zone: String,
    pub catalogue: PathBuf,
    /// The command manual (指挥手册).
    pub manual: PathBuf,
    pub boundary: PathBuf,
    /// The unit grid (万米单元网格), a GeoJSON file of cells (crate::grid). Optional: without
    /// one, cases get no cell and the street is the reporter's or the operator's.
    pub grid: Option<PathBuf>,
    /// Serve with a grid whose check found overlaps, gaps or cells reaching outside the
    /// district (an overlap resolves to the lower code; a gap leaves its cases without a
    /// cell). Malformed cells are refused regardless.
    #[serde(default)]
    pub grid_accept_warnings: bool,
    /// The address points (地址库), a CSV or GeoJSON file (crate::address). Optional:
    /// without one, `/geo/geocode` and `/geo/reverse` answer 404 and a report needs a point.
    pub addresses: Option<PathBuf>,
    /// The census of components (部件普查), a CSV or GeoJSON file (crate::component).
    /// Optional: at start, the components it has and the inventory lacks are added; the
    /// rest is `citygrid district components import`'s.
    pub components: Option<PathBuf>,
    pub data_dir: PathBuf,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MediaSection {
    #[serde(default = "default_max_bytes")]
    pub max_bytes: usize,
}

impl Default for MediaSection {
    fn default() -> Self {
        MediaSection {
            max_bytes: default_max_bytes(),
        }
    }
}

fn default_max_bytes() -> usize {
    10 * 1024 * 1024
}

/// Where reminders go besides the log.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NotificationsSection {
    /// Each reminder is POSTed here as JSON, signed with `X-CityGrid-Signature:
    /// sha256=<hex HMAC-SHA256 of the body>`.
    pub webhook_url: Option<String>,
    /// The HMAC key; `CITYGRID_WEBHOOK_SECRET` overrides it.
    pub webhook_secret: Option<SecretString>,
    /// An SMS gateway speaking the generic API of docs/API.md: reminders go as text
    /// messages to the phones of the case's department.
    pub sms_url: Option<String>,
    /// Bearer key for the gateway; `CITYGRID_SMS_API_KEY` overrides it.
    pub sms_api_key: Option<SecretString>,
}

/// How this district reaches the city's broker (see schemas/AMQP.md).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ExchangeSection {
    /// The broker's AMQP `host:port`; `CITYGRID_AMQP_BROKER` overrides it.
    pub broker: String,
    /// `CITYGRID_AMQP_VHOST` overrides it.
    pub vhost: String,
    /// This district's broker user, created by `citygrid broker provision`.
    pub user: String,
    /// `CITYGRID_AMQP_PASSWORD` overrides it; the files in the repo carry demo passwords.
    pub password: SecretString,
    /// Days a sent outbox message is kept for the city's sync requests (补发).
    #[serde(default = "default_retention_days")]
    pub retention_days: u32,
}

fn default_retention_days() -> u32 {
    30
}

impl ExchangeSection {
    pub fn account(&self) -> Account {
        Account {
            user: self.user.clone(),
            password: self.password.clone(),
        }
    }

    /// The AMQP URI of this district's connection (secret: it carries the password).
    pub fn uri(&self) -> SecretString {
        broker::amqp_uri(&self.broker, &self.account(), &self.vhost)
    }
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CalendarSection {
    /// Working periods of a working day, `HH:MM-HH:MM`; default 08:30–12:00, 13:30–17:30.
    #[serde(default = "crate::calendar::default_working_hours")]
    pub working_hours: Vec<String>,
    /// Yearly holiday files (`tenants/calendars/cn-YYYY.toml`), relative to this file.
    pub holidays: Vec<PathBuf>,
    /// Share of a stage's limit after which the light turns yellow (default 0.8).
    #[serde(default = "default_yellow_share")]
    pub yellow_share: f64,
    /// Days before the first year without a holiday file at which the district starts to
    /// warn (log, `/healthz`); default 31, i.e. from 1 December. At most 366.
    #[serde(default = "default_missing_year_alarm_days")]
    pub missing_year_alarm_days: u32,
    /// What a working-time count does in a year with no holiday file: `refuse` (the
    /// default, 503 `calendar_not_covered`) or `weekdays` (Monday to Friday, holidays
    /// ignored; only in a file marked `demo = true`, so a demo runs on any day).
    #[serde(default)]
    pub unpublished_year: UnpublishedYear,
}

fn default_yellow_share() -> f64 {
    0.8
}
fn default_missing_year_alarm_days() -> u32 {
    31
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Street {
    /// 街道 code, 9 digits, starting with the district code.
    pub code: String,
    pub name: String,
    pub communities: Vec<Community>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Community {
    /// 社区 code, 12 digits, starting with the street code.
    pub code: String,
    pub name: String,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Department {
    pub code: String,
    pub name: String,
    /// municipal, landscaping, sanitation, enforcement, street_office, utility,
    /// public_safety, bureau or other.
    pub kind: DepartmentKind,
    pub street: Option<String>,
    /// Mobile numbers that receive the department's reminders by SMS.
    #[serde(default)]
    pub phones: Vec<String>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SeedUser {
    pub username: String,
    pub name: String,
    pub roles: Vec<String>,
    pub password: SecretString,
    pub department: Option<String>,
}

/// A loaded, validated district: its file plus the catalogue and boundary it points to.
#[derive(Debug)]
pub struct Tenant {
    pub file: PathBuf,
    pub config: TenantFile,
    pub time_zone: chrono_tz::Tz,
    pub catalogue: Catalogue,
    pub manual: Manual,
    pub calendar: WorkCalendar,
    pub boundary: MultiPolygon<f64>,
    /// The unit grid, when `district.grid` names one; checked in full by [`Tenant::check_grid`].
    pub grid: Option<Grid>,
    /// The gazetteer, when `district.addresses` names one.
    pub addresses: Option<crate::address::Gazetteer>,
    /// `district.data_dir`, resolved against the file's folder.
    pub data_dir: PathBuf,
    /// The appraisal rules: `appraisal.rules`, else the built-in defaults.
    pub appraisal: citygrid_appraisal::post::Rules,
}

/// `s` is exactly `n` ASCII digits (administrative, street, community and cell codes).
pub(crate) fn digits(s: &str, n: usize) -> bool {
    s.len() == n && s.bytes().all(|b| b.is_ascii_digit())
}

impl Tenant {
    /// Reads and validates a tenant file; `CITYGRID_JWT_SECRET`, `CITYGRID_DATABASE_URL`,
    /// `CITYGRID_HTTP_BIND`, `CITYGRID_DATA_DIR` and the `CITYGRID_AMQP_*` variables override
    /// the file (secrets stay out of the repo; one file
    /// serves several test or benchmark instances).
    pub fn load(path: &Path) -> Result<Tenant> {
        let mut tenant = Self::load_without_addresses(path)?;
        if let Some(file) = &tenant.config.district.addresses {
            let file = path.parent().unwrap_or(Path::new(".")).join(file);
            tenant.addresses = Some(crate::address::load(&tenant, &file)?);
        }
        Ok(tenant)
    }

    /// All but the address points (`citygrid district address check|synth`, which check
    /// and make them: a bad file must not stop them).
    pub fn load_without_addresses(path: &Path) -> Result<Tenant> {
        let file = path.display().to_string();
        let mut config: TenantFile = citygrid_kit::config::read_toml(path)?;
        env_secret(&mut config.auth.jwt_secret, "CITYGRID_JWT_SECRET");
        env_secret(&mut config.database.url, "CITYGRID_DATABASE_URL");
        env_override(&mut config.http.bind, "CITYGRID_HTTP_BIND");
        if let Ok(secret) = std::env::var("CITYGRID_WEBHOOK_SECRET") {
            config.notifications.webhook_secret = Some(secret.into());
        }
        if let Ok(key) = std::env::var("CITYGRID_SMS_API_KEY") {
            config.notifications.sms_api_key = Some(key.into());
        }
        if let Some(exchange) = config.exchange.as_mut() {
            env_override(&mut exchange.broker, "CITYGRID_AMQP_BROKER");
            env_override(&mut exchange.vhost, "CITYGRID_AMQP_VHOST");
            env_secret(&mut exchange.password, "CITYGRID_AMQP_PASSWORD");
        }
        let dir = path.parent().unwrap_or(Path::new("."));
        validate(&file, &config)?;
        let time_zone = config.district.time_zone.parse().map_err(|_| {
            Error::config(
                &file,
                "district.time_zone",
                format!("unknown time zone {:?}", config.district.time_zone),
            )
        })?;
        let catalogue = Catalogue::load(&dir.join(&config.district.catalogue))?;
        let manual = Manual::load(
            &dir.join(&config.district.manual),
            &catalogue,
            &config.departments,
            &config.streets,
        )?;
        let calendar = load_calendar(&file, dir, time_zone, &config.calendar)?;
        let boundary = load_boundary(&dir.join(&config.district.boundary))?;
        let grid = config
            .district
            .grid
            .as_ref()
            .map(|path| load_grid(&dir.join(path)))
            .transpose()?;
        let appraisal = match &config.appraisal.rules {
            None => citygrid_appraisal::post::Rules::default(),
            Some(rules) => std::fs::read_to_string(dir.join(rules))
                .map_err(|e| e.to_string())
                .and_then(|text| citygrid_appraisal::post::Rules::parse(&text))
                .map_err(|e| {
                    Error::config(
                        &file,
                        "appraisal.rules",
                        format!("{}: {e}", rules.display()),
                    )
                })?,
        };
        let data_dir = match std::env::var("CITYGRID_DATA_DIR") {
            Ok(data_dir) => PathBuf::from(data_dir),
            Err(_) => dir.join(&config.district.data_dir),
        };
        Ok(Tenant {
            file: path.to_owned(),
            config,
            time_zone,
            catalogue,
            manual,
            calendar,
            boundary,
            grid,
            addresses: None,
            data_dir,
            appraisal,
        })
    }

    pub fn code(&self) -> &str {
        &self.config.district.code
    }

    pub fn contains(&self, lon: f64, lat: f64) -> bool {
        self.boundary.contains(&Point::new(lon, lat))
    }

    /// A point guaranteed inside the district, for demos and benchmarks.
    pub fn sample_point(&self) -> (f64, f64) {
        self.boundary
            .interior_point()
            .map_or((0.0, 0.0), |p| (p.x(), p.y()))
    }

    /// The grid cell at a point, if the district has a grid and the point is in a cell.
    pub fn cell_at(&self, lon: f64, lat: f64) -> Option<&Cell> {
        self.grid.as_ref()?.locate(lon, lat)
    }

    /// The full grid check (codes against the streets and communities, overlaps, gaps):
    /// `None` without a grid, an error naming the file when the grid may not be served
    /// (problems beyond what `district.grid_accept_warnings` accepts). Takes about a second
    /// for thousands of cells, so `serve` and `check` run it, not every load.
    pub fn check_grid(&self) -> Result<Option<grid::Report>> {
        let Some(grid) = &self.grid else {
            return Ok(None);
        };
        let (report, _) = grid::check(&grid::Frame::of(self), grid.cells().to_vec(), Vec::new());
        let accept = self.config.district.grid_accept_warnings;
        if report.acceptable(accept) {
            return Ok(Some(report));
        }
        let first: Vec<&str> = report
            .problems
            .iter()
            .filter(|p| !(accept && p.kind.is_coverage()))
            .take(3)
            .map(|p| p.message.as_str())
            .collect();
        Err(Error::config(
            self.file.display().to_string(),
            "district.grid",
            format!(
                "the grid has {} problem(s), e.g. {}; `citygrid district grid check` lists them{}",
                report.problems.len(),
                first.join("; "),
                if report.acceptable(true) {
                    " (district.grid_accept_warnings = true serves it with its overlaps and gaps)"
                } else {
                    ""
                }
            ),
        ))
    }

    pub fn street(&self, code: &str) -> Option<&Street> {
        self.config.streets.iter().find(|s| s.code == code)
    }

    pub fn department(&self, code: &str) -> Option<&Department> {
        self.config.departments.iter().find(|d| d.code == code)
    }

    pub fn jwt_secret(&self) -> &[u8] {
        self.config.auth.jwt_secret.expose_secret().as_bytes()
    }

    /// How far ahead the holiday files reach from the district's date at `now`.
    pub fn calendar_coverage(&self, now: chrono::DateTime<chrono::Utc>) -> Coverage {
        self.calendar.coverage(
            self.calendar.local_date(now),
            self.config.calendar.missing_year_alarm_days,
        )
    }

    /// The start-up check: an error naming the file to add when no holiday file covers
    /// the current year (every working-time deadline would be refused), else the coverage
    /// (whose `alarm` the caller logs).
    pub fn check_calendar(&self, now: chrono::DateTime<chrono::Utc>) -> Result<Coverage> {
        let coverage = self.calendar_coverage(now);
        if coverage.covers_until.is_some() || coverage.weekdays_assumed {
            return Ok(coverage);
        }
        let year = coverage.missing_year;
        // The entry to add, written like the last one in the file.
        let entry = self
            .calendar
            .years()
            .next_back()
            .zip(self.config.calendar.holidays.last())
            .and_then(|(loaded, last)| renamed_for_year(last, loaded, year))
            .map_or_else(
                || coverage.missing_file.clone(),
                |p| p.display().to_string(),
            );
        Err(Error::config(
            self.file.display().to_string(),
            "calendar.holidays",
            format!(
                "no holiday file covers {year}, the current year (today is {}): add {entry:?} \
                 with the State Council's {year} holiday arrangement; without it no \
                 working-time deadline can be computed",
                coverage.today
            ),
        ))
    }
}

/// The shortest broker password accepted outside a demo.
const MIN_BROKER_PASSWORD_BYTES: usize = 16;

fn validate(file: &str, c: &TenantFile) -> Result<()> {
    let err = |key: String, msg: String| Err(Error::config(file, key, msg));
    let code = &c.district.code;
    if !digits(code, 6) {
        return err(
            "district.code".into(),
            format!("{code:?} is not a 6-digit administrative code"),
        );
    }
    if c.database.pool_size == 0 {
        return err("database.pool_size".into(), "must be at least 1".into());
    }
    if c.http.bind.parse::<std::net::SocketAddr>().is_err() {
        return err(
            "http.bind".into(),
            format!("{:?} is not an address such as 127.0.0.1:8102", c.http.bind),
        );
    }
    citygrid_kit::config::require_strong_secret(
        file,
        "auth.jwt_secret",
        "CITYGRID_JWT_SECRET",
        &c.auth.jwt_secret,
        citygrid_kit::config::MIN_KEY_BYTES,
        c.demo,
    )?;
    if let Err((key, message)) = c.auth.validate() {
        return err(key, message);
    }
    if let Err((key, message)) = c.limits.validate() {
        return err(key, message);
    }
    if c.calendar.unpublished_year == UnpublishedYear::Weekdays && !c.demo {
        return err(
            "calendar.unpublished_year".into(),
            "\"weekdays\" ignores the holidays of a year with no holiday file and serves \
             only a file marked demo = true; a district adds the State Council's \
             arrangement instead"
                .into(),
        );
    }
    if let Some(exchange) = &c.exchange {
        if !exchange.broker.contains(':') {
            return err(
                "exchange.broker".into(),
                format!(
                    "{:?} is not a host:port such as 127.0.0.1:5672",
                    exchange.broker
                ),
            );
        }
        citygrid_kit::config::require_strong_secret(
            file,
            "exchange.password",
            "CITYGRID_AMQP_PASSWORD",
            &exchange.password,
            MIN_BROKER_PASSWORD_BYTES,
            c.demo,
        )?;
        if exchange.retention_days == 0 {
            return err(
                "exchange.retention_days".into(),
                "must be at least 1".into(),
            );
        }
    }
    if c.media.max_bytes == 0 {
        return err("media.max_bytes".into(), "must be positive".into());
    }
    if let Some(url) = &c.notifications.webhook_url {
        if !(url.starts_with("http://") || url.starts_with("https://")) {
            return err(
                "notifications.webhook_url".into(),
                format!("{url:?} is not an http(s) URL"),
            );
        }
        if c.notifications
            .webhook_secret
            .as_ref()
            .is_none_or(|s| s.expose_secret().len() < 16)
        {
            return err(
                "notifications.webhook_secret".into(),
                "a webhook needs a secret of at least 16 bytes".into(),
            );
        }
    }
    if let Some(url) = &c.notifications.sms_url {
        if !(url.starts_with("http://") || url.starts_with("https://")) {
            return err(
                "notifications.sms_url".into(),
                format!("{url:?} is not an http(s) URL"),
            );
        }
        if c.notifications.sms_api_key.is_none() {
            return err(
                "notifications.sms_api_key".into(),
                "an SMS gateway needs an API key".into(),
            );
        }
    }
    if c.streets.is_empty() {
        return err(
            "streets".into(),
            "a district needs at least one street".into(),
        );
    }
    let mut seen = HashSet::new();
    for (i, s) in c.streets.iter().enumerate() {
        if !digits(&s.code, 9) || !s.code.starts_with(code.as_str()) {
            return err(
                format!("streets[{i}].code"),
                format!("{:?} must be 9 digits starting with {code}", s.code),
            );
        }
        if !seen.insert(s.code.as_str()) {
            return err(
                format!("streets[{i}].code"),
                format!("{} appears twice", s.code),
            );
        }
        for (j, community) in s.communities.iter().enumerate() {
            if !digits(&community.code, 12) || !community.code.starts_with(s.code.as_str()) {
                return err(
                    format!("streets[{i}].communities[{j}].code"),
                    format!(
                        "{:?} must be 12 digits starting with {}",
                        community.code, s.code
                    ),
                );
            }
        }
    }
    let mut departments = HashSet::new();
    for (i, d) in c.departments.iter().enumerate() {
        if d.code.is_empty() || !departments.insert(d.code.as_str()) {
            return err(
                format!("departments[{i}].code"),
                format!("{:?} is empty or appears twice", d.code),
            );
        }
        if let Some(phone) = d.phones.iter().find(|p| {
            let digits = p.strip_prefix('+').unwrap_or(p);
            !(6..=15).contains(&digits.len()) || !digits.bytes().all(|b| b.is_ascii_digit())
        }) {
            return err(
                format!("departments[{i}].phones"),
                format!("{phone:?} is not a phone number"),
            );
        }
        if let Some(street) = &d.street
            && !seen.contains(street.as_str())
        {
            return err(
                format!("departments[{i}].street"),
                format!("no street {street} in this district"),
            );
        }
    }
    let mut usernames = HashSet::new();
    for (i, u) in c.users.iter().enumerate() {
        if u.username.is_empty() || !usernames.insert(u.username.as_str()) {
            return err(
                format!("users[{i}].username"),
                format!("{:?} is empty or appears twice", u.username),
            );
        }
        if u.roles.is_empty() {
            return err(
                format!("users[{i}].roles"),
                "a user needs at least one role".into(),
            );
        }
        for role in &u.roles {
            if Role::parse(role).is_none() {
                return err(
                    format!("users[{i}].roles"),
                    format!("unknown role {role:?}"),
                );
            }
        }
        let handler = u.roles.iter().any(|r| r == Role::Handler.as_str());
        match &u.department {
            None if handler => {
                return err(
                    format!("users[{i}].department"),
                    "a handler must name the department they work for".into(),
                );
            }
            Some(d) if !departments.contains(d.as_str()) => {
                return err(
                    format!("users[{i}].department"),
                    format!("no department {d:?} in this district"),
                );
            }
            _ => {}
        }
    }
    let seeded = |name: &str| {
        c.users
            .iter()
            .find(|u| u.username == name)
            .map(|u| u.roles.iter().any(|r| r == Role::Supervisor.as_str()))
    };
    crate::patrol::validate(&c.patrols, code, &c.streets, seeded)
        .or_else(|(field, message)| err(field, message))
}

fn load_calendar(
    file: &str,
    dir: &Path,
    time_zone: chrono_tz::Tz,
    section: &CalendarSection,
) -> Result<WorkCalendar> {
    let calendar = crate::calendar::configured(
        file,
        "calendar",
        dir,
        time_zone,
        &section.working_hours,
        &section.holidays,
        section.unpublished_year,
    )?;
    if section.missing_year_alarm_days > 366 {
        return Err(Error::config(
            file,
            "calendar.missing_year_alarm_days",
            "must be at most 366",
        ));
    }
    if !(section.yellow_share > 0.0 && section.yellow_share < 1.0) {
        return Err(Error::config(
            file,
            "calendar.yellow_share",
            "must be between 0 and 1, e.g. 0.8",
        ));
    }
    Ok(calendar)
}

/// Reads a grid file for lookups. A feature that is not a cell makes the file unusable
/// (a case there would silently get no cell); the rest is [`Tenant::check_grid`]'s.
fn load_grid(path: &Path) -> Result<Grid> {
    let file = path.display().to_string();
    let text = std::fs::read_to_string(path)
        .map_err(|e| Error::config(&file, "-", format!("cannot read: {e}")))?;
    let (cells, problems) = grid::read(&text).map_err(|e| Error::config(&file, "-", e))?;
    if let Some(first) = problems.first() {
        return Err(Error::config(
            &file,
            first.cells.join(", "),
            format!(
                "{} ({} feature(s) are not cells)",
                first.message,
                problems.len()
            ),
        ));
    }
    Ok(Grid::new(cells))
}

/// Reads the district's GeoJSON boundary (`citygrid_kit::geo::read_boundary`).
fn load_boundary(path: &Path) -> Result<MultiPolygon<f64>> {
    citygrid_kit::geo::read_boundary(path)
        .map_err(|msg| Error::config(path.display().to_string(), "boundary", msg))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> PathBuf {
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../tenants/hangzhou/districts/330102.toml")
    }

    #[test]
    fn sample_tenant_loads_with_its_catalogue_and_boundary() {
        let tenant = Tenant::load(&sample()).expect("sample tenant is valid");
        assert_eq!(tenant.code(), "330102");
        assert!(tenant.catalogue.categories.len() >= 40 + 12);
        assert!(tenant.contains(120.20, 30.26));
        assert!(!tenant.contains(120.50, 30.50));
        // No password or key of the file shows in Debug output (or a log of it).
        let debug = format!("{tenant:?}");
        for secret in ["demo-only-330102", "demo-only-amqp-330102", "demo-pass-1"] {
            assert!(!debug.contains(secret), "{secret} in Debug output");
        }
    }

    #[test]
    fn a_district_refuses_to_start_without_the_current_years_holidays() {
        use crate::calendar::beijing as bj;
        let mut tenant = Tenant::load(&sample()).expect("sample tenant is valid");
        // The demo sample counts an unpublished year as weekdays: it starts in 2027, and
        // says why its deadlines ignore that year's holidays.
        let demo = tenant
            .check_calendar(bj("2027-01-01 00:00"))
            .expect("a demo starts");
        assert!(demo.alarm && demo.weekdays_assumed && demo.covers_until.is_none());
        assert!(
            demo.warning
                .as_deref()
                .is_some_and(|w| w.contains("Monday to Friday") && w.contains("cn-2027.toml")),
            "{demo:?}"
        );
        // A real district refuses: a quiet start in November, an alarm from 1 December,
        // a refusal from 1 January 2027.
        tenant
            .calendar
            .set_unpublished_year(UnpublishedYear::Refuse);
        let november = tenant
            .check_calendar(bj("2026-11-25 09:00"))
            .expect("covered");
        assert!(
            !november.alarm && november.missing_next_year,
            "{november:?}"
        );
        let december = tenant
            .check_calendar(bj("2026-12-01 00:00"))
            .expect("covered");
        assert_eq!((december.alarm, december.days_left), (true, 31));
        let err = tenant
            .check_calendar(bj("2027-01-01 00:00"))
            .expect_err("2027 not covered")
            .to_string();
        assert!(
            err.contains("330102.toml")
                && err.contains("calendar.holidays")
                && err.contains("../../calendars/cn-2027.toml")
                && err.contains("2027"),
            "{err}"
        );
        // The year turns at local midnight (16:00 UTC).
        assert!(tenant.check_calendar(bj("2026-12-31 23:59")).is_ok());
        // The lead comes from the file.
        tenant.config.calendar.missing_year_alarm_days = 10;
        assert!(!tenant.calendar_coverage(bj("2026-12-01 09:00")).alarm);
    }

    /// The sample's key and broker password are public: they serve only a file marked
    /// `demo = true`; the refusal names the file, the key and its variable, never the value.
    #[test]
    fn a_demo_or_short_secret_is_refused_unless_the_file_is_marked_demo() {
        let original = std::fs::read_to_string(sample()).expect("sample");
        assert!(original.contains("\ndemo = true\n"));
        let tenant = Tenant::load(&sample()).expect("the demo-marked sample loads");
        assert!(tenant.config.demo);
        let undemo = original.replacen("\ndemo = true\n", "\n", 1);
        let strong = "k".repeat(48);
        let path = sample().with_file_name(format!(".nodemo-{}.toml", uuid::Uuid::new_v4()));
        let undemo = undemo.replacen("unpublished_year = \"weekdays\"", "", 1);
        let cases = [
            (
                undemo.clone(),
                "auth.jwt_secret",
                "CITYGRID_JWT_SECRET",
                "demo-only-330102-change-me",
            ),
            (
                undemo.replacen(
                    "demo-only-330102-change-me-in-production-0123456789",
                    "short-but-not-demo",
                    1,
                ),
                "auth.jwt_secret",
                "shorter than 32 bytes",
                "short-but-not-demo",
            ),
            (
                undemo.replacen(
                    "demo-only-330102-change-me-in-production-0123456789",
                    &strong,
                    1,
                ),
                "exchange.password",
                "CITYGRID_AMQP_PASSWORD",
                "demo-only-amqp-330102",
            ),
        ];
        for (text, key, says, secret) in cases {
            std::fs::write(&path, text).expect("write");
            let err = Tenant::load(&path).expect_err(key).to_string();
            assert!(
                err.contains(".nodemo-")
                    && err.contains(key)
                    && err.contains(says)
                    && err.contains("demo = true")
                    && !err.contains(secret),
                "{key}: {err}"
            );
        }
        // Real secrets but weekdays for an unpublished year: a demo setting.
        let secrets = |text: &str| {
            text.replacen(
                "demo-only-330102-change-me-in-production-0123456789",
                &strong,
                1,
            )
            .replacen("demo-only-amqp-330102", "a-real-broker-password", 1)
        };
        std::fs::write(
            &path,
            secrets(&original.replacen("\ndemo = true\n", "\n", 1)),
        )
        .expect("write");
        let err = Tenant::load(&path).expect_err("weekdays").to_string();
        assert!(
            err.contains("calendar.unpublished_year") && err.contains("demo = true"),
            "{err}"
        );
        // Real secrets, no marker: a production file.
        std::fs::write(&path, secrets(&undemo)).expect("write");
        let tenant = Tenant::load(&path);
        std::fs::remove_file(&path).ok();
        assert!(!tenant.expect("production file").config.demo);
    }

    #[test]
    fn a_bad_file_names_file_key_and_problem() {
        let original = std::fs::read_to_string(sample()).expect("sample");
        // Next to the sample, so its relative paths (catalogue, manual, calendars) resolve.
        let path = sample().with_file_name(format!(".bad-{}.toml", uuid::Uuid::new_v4()));
        let cases = [
            ("code = \"330102\"", "code = \"33010\"", "district.code"),
            (
                "bind = \"127.0.0.1:8102\"",
                "bind = \"nowhere\"",
                "http.bind",
            ),
            (
                "department = \"shizheng\"",
                "department = \"nope\"",
                "department",
            ),
            ("[http]", "[htttp]", "htttp"),
            (
                "\"13:30-17:30\"",
                "\"13:30-12:00\"",
                "calendar.working_hours[1]",
            ),
            (
                "missing_year_alarm_days = 31",
                "missing_year_alarm_days = 400",
                "calendar.missing_year_alarm_days",
            ),
        ];
        for (from, to, expect) in cases {
            assert!(original.contains(from), "sample has {from}");
            std::fs::write(&path, original.replacen(from, to, 1)).expect("write");
            let err = Tenant::load(&path).expect_err(expect).to_string();
            assert!(
                err.contains(".bad-") && err.contains(expect),
                "{expect}: {err}"
            );
        }
        // A broken file the tenant points to is named itself.
        std::fs::write(
            &path,
            original.replacen("\"../manual.toml\"", "\"../catalogue.toml\"", 1),
        )
        .expect("write");
        let err = Tenant::load(&path)
            .expect_err("catalogue is no manual")
            .to_string();
        assert!(
            err.contains("catalogue.toml") && err.contains("unknown field"),
            "{err}"
        );
        std::fs::remove_file(&path).ok();
    }
}
