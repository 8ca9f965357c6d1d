//! The city file (`tenants/<city>/city.toml`): the city, its district registry, the
//! broker, the warehouse database and the intake's tuning. It is the only file the city
//! reads: districts are known through their registry entries ([`crate::registry`]).

use std::path::{Path, PathBuf};
use std::sync::Arc;

use citygrid_kit::broker::{self, Account};
use citygrid_kit::config::{AuthSection, DatabaseSection, HttpSection, env_override, env_secret};
use citygrid_schemas::Edition;
use citygrid_schemas::catalogue::{Catalogue, Mapping};
use secrecy::SecretString;
use serde::Deserialize;

use crate::error::{Error, Result};
use crate::registry::{DistrictEntry, Registry};

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CityFile {
    /// `demo = true` at the top of the file: a demo deployment, which may run on the
    /// repository's public keys and passwords (refused otherwise) and says so loudly at
    /// start (docs/CITY-API.md).
    #[serde(default)]
    pub demo: bool,
    pub city: CitySection,
    /// The district registry: one entry per district of the city.
    pub districts: Vec<DistrictEntry>,
    pub broker: BrokerSection,
    pub warehouse: DatabaseSection,
    #[serde(default)]
    pub intake: IntakeSection,
    /// The city API; `CITYGRID_CITY_HTTP_BIND` overrides the address.
    pub http: HttpSection,
    /// Token signing for the city API; `CITYGRID_CITY_JWT_SECRET` overrides the key.
    pub auth: AuthSection,
    /// Seed users of the city command center (demo passwords in the repo).
    #[serde(default)]
    pub users: Vec<CityUser>,
    /// The bonus/penalty rules (奖惩办法, docs/LEDGER.md); CityGrid's defaults without.
    #[serde(default)]
    pub ledger: crate::ledger::policy::Policy,
    /// The escalation rules (统一督办, docs/ESCALATION.md); none without.
    #[serde(default)]
    pub escalation: crate::escalation::Escalation,
    /// The monthly job (docs/MONTHLY.md); its defaults without.
    #[serde(default)]
    pub monthly: crate::monthly::MonthlySection,
}

/// A person of the city command center.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CityUser {
    pub username: String,
    pub name: String,
    /// `city_supervisor` (市级监督) or `city_leader` (市级领导); or `district_officer`
    /// (区级联络员) alone, with `district`.
    pub roles: Vec<crate::api::CityRole>,
    /// A district officer's district (6-digit code of the registry).
    #[serde(default)]
    pub district: Option<String>,
    pub password: SecretString,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CitySection {
    pub code: String,
    pub name: String,
    /// Monthly periods and report dates are in this zone.
    pub time_zone: String,
    /// The category catalogues (one per edition of the standard) the districts file
    /// under, relative to the city file; a registry entry names its edition.
    pub catalogues: Vec<PathBuf>,
    /// The edition the city compares districts in: every case's category is also kept
    /// as its counterpart in this edition (the catalogues' mapping), when it has one.
    #[serde(default)]
    pub compare_edition: Edition,
    /// The appraisal rules (weights, bands, suspension rule; docs/APPRAISAL.md), relative
    /// to the city file; CityGrid's defaults without one.
    #[serde(default)]
    pub appraisal: Option<PathBuf>,
    /// Where closed months are kept as Parquet for appraisal (docs/APPRAISAL.md,
    /// "Archive"), relative to the city file; without one every month is read from
    /// PostgreSQL.
    #[serde(default)]
    pub archive: Option<PathBuf>,
}

/// The RabbitMQ the interchange runs on (schemas/AMQP.md).
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BrokerSection {
    /// AMQP `host:port`.
    pub amqp: String,
    /// Base URL of the management HTTP API, used for provisioning.
    pub management: String,
    pub vhost: String,
    /// A broker administrator (provisioning only); `CITYGRID_BROKER_ADMIN_PASSWORD`
    /// overrides the password.
    pub admin_user: String,
    pub admin_password: SecretString,
    /// The exchange's own broker user; `CITYGRID_CITY_AMQP_PASSWORD` overrides the password.
    pub city_user: String,
    pub city_password: SecretString,
}

/// How the intake takes messages in.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct IntakeSection {
    /// Unacknowledged deliveries the broker may push ahead (basic.qos).
    #[serde(default = "default_prefetch")]
    pub prefetch: u16,
    /// Messages committed to the warehouse in one transaction, at most.
    #[serde(default = "default_batch")]
    pub batch: usize,
    /// How long a gap in a district's seq may stay open before the exchange asks the
    /// district to send again (sync request), and how often it asks again.
    #[serde(default = "default_gap_seconds")]
    pub gap_seconds: u64,
    /// How many times the exchange asks a district again for a photo's bytes (after
    /// `gap_seconds`, then twice as long each time) before it stops and shows the photo
    /// as unrepaired.
    #[serde(default = "default_media_requests")]
    pub media_requests: u32,
}

fn default_prefetch() -> u16 {
    1000
}

fn default_batch() -> usize {
    500
}

fn default_gap_seconds() -> u64 {
    30
}

fn default_media_requests() -> u32 {
    5
}

impl Default for IntakeSection {
    fn default() -> Self {
        IntakeSection {
            prefetch: default_prefetch(),
            batch: default_batch(),
            gap_seconds: default_gap_seconds(),
            media_requests: default_media_requests(),
        }
    }
}

/// A loaded city: its file and what is built from it.
#[derive(Debug)]
pub struct City {
    pub file: CityFile,
    pub time_zone: chrono_tz::Tz,
    pub registry: Registry,
    /// One per edition, in the file's order.
    pub catalogues: Vec<Arc<Catalogue>>,
    /// From each other edition to `compare_edition`.
    pub mappings: Vec<Mapping>,
    /// The appraisal rules in force (`[city] appraisal`).
    pub appraisal: citygrid_appraisal::Config,
    /// The Parquet archive of closed months (`[city] archive`), resolved.
    pub archive: Option<PathBuf>,
}

/// The shortest broker password accepted outside a demo.
const MIN_BROKER_PASSWORD_BYTES: usize = 16;

/// The signing key and the broker passwords, refused when weak unless the file is marked
/// demo (the kit's rule, as at the districts). A district's registry password counts only
/// when its `CITYGRID_AMQP_PASSWORD_<code>` is not set (that one wins at provisioning).
fn check_secrets(name: &str, file: &CityFile) -> Result<()> {
    use citygrid_kit::config::{MIN_KEY_BYTES, require_strong_secret};
    let demo = file.demo;
    let broker = &file.broker;
    let mut secrets = vec![
        (
            "auth.jwt_secret".to_owned(),
            "CITYGRID_CITY_JWT_SECRET".to_owned(),
            &file.auth.jwt_secret,
            MIN_KEY_BYTES,
        ),
        (
            "broker.city_password".to_owned(),
            "CITYGRID_CITY_AMQP_PASSWORD".to_owned(),
            &broker.city_password,
            MIN_BROKER_PASSWORD_BYTES,
        ),
        (
            "broker.admin_password".to_owned(),
            "CITYGRID_BROKER_ADMIN_PASSWORD".to_owned(),
            &broker.admin_password,
            MIN_BROKER_PASSWORD_BYTES,
        ),
    ];
    for (i, district) in file.districts.iter().enumerate() {
        let variable = format!("CITYGRID_AMQP_PASSWORD_{}", district.code);
        if let Some(password) = &district.broker_password
            && std::env::var_os(&variable).is_none()
        {
            secrets.push((
                format!("districts[{i}].broker_password"),
                variable,
                password,
                MIN_BROKER_PASSWORD_BYTES,
            ));
        }
    }
    for (key, variable, secret, min_bytes) in secrets {
        require_strong_secret(name, &key, &variable, secret, min_bytes, demo)
            .map_err(|e| Error::Config(e.to_string()))?;
    }
    Ok(())
}

impl City {
    /// Reads and validates the city file; the `CITYGRID_*` variables named in the file's
    /// sections override it.
    pub fn load(path: &Path) -> Result<City> {
        let mut file: CityFile = citygrid_kit::config::read_toml(path)?;
        let broker = &mut file.broker;
        env_secret(&mut broker.admin_password, "CITYGRID_BROKER_ADMIN_PASSWORD");
        env_secret(&mut broker.city_password, "CITYGRID_CITY_AMQP_PASSWORD");
        env_override(&mut broker.vhost, "CITYGRID_BROKER_VHOST");
        env_secret(&mut file.warehouse.url, "CITYGRID_WAREHOUSE_URL");
        env_override(&mut file.http.bind, "CITYGRID_CITY_HTTP_BIND");
        env_secret(&mut file.auth.jwt_secret, "CITYGRID_CITY_JWT_SECRET");
        if let Some(seconds) = std::env::var("CITYGRID_INTAKE_GAP_SECONDS")
            .ok()
            .and_then(|s| s.parse().ok())
        {
            file.intake.gap_seconds = seconds;
        }
        let name = path.display();
        check_secrets(&name.to_string(), &file)?;
        if let Err((key, message)) = file.auth.validate() {
            return Err(Error::Config(format!("{name}: {key}: {message}")));
        }
        let time_zone = file.city.time_zone.parse().map_err(|_| {
            Error::Config(format!(
                "{name}: city.time_zone: unknown time zone {:?}",
                file.city.time_zone
            ))
        })?;
        let dir = path.parent().unwrap_or(Path::new("."));
        let catalogues = file
            .city
            .catalogues
            .iter()
            .map(|c| {
                Catalogue::load(&dir.join(c))
                    .map(Arc::new)
                    .map_err(|e| Error::Config(e.to_string()))
            })
            .collect::<Result<Vec<_>>>()?;
        for (i, c) in catalogues.iter().enumerate() {
            if catalogues[..i].iter().any(|o| o.edition == c.edition) {
                return Err(Error::Config(format!(
                    "{name}: city.catalogues: two catalogues of {}",
                    c.edition
                )));
            }
        }
        let compare = file.city.compare_edition;
        let target = catalogues
            .iter()
            .find(|c| c.edition == compare)
            .ok_or_else(|| {
                Error::Config(format!(
                    "{name}: city.compare_edition: no catalogue of {compare} in city.catalogues"
                ))
            })?;
        let mappings = catalogues
            .iter()
            .filter(|c| c.edition != compare)
            .map(|c| Mapping::between(c, target))
            .collect();
        let registry = Registry::build(path, dir, &file.districts, &catalogues, time_zone)?;
        let appraisal = match &file.city.appraisal {
            None => citygrid_appraisal::Config::default(),
            Some(rules) => {
                let rules = dir.join(rules);
                std::fs::read_to_string(&rules)
                    .map_err(|e| e.to_string())
                    // A rules file shared with the districts may carry their `[post.*]` weights.
                    .and_then(|text| {
                        citygrid_appraisal::post::Rules::parse(&text).map(|r| r.config)
                    })
                    .map_err(|e| {
                        Error::Config(format!("{name}: city.appraisal: {}: {e}", rules.display()))
                    })?
            }
        };
        let archive = file.city.archive.as_ref().map(|a| dir.join(a));
        let codes: Vec<String> = file.districts.iter().map(|d| d.code.clone()).collect();
        for (i, user) in file.users.iter().enumerate() {
            let officer = user.roles == [crate::api::CityRole::DistrictOfficer];
            match &user.district {
                Some(code) if !officer => {
                    return Err(Error::Config(format!(
                        "{name}: users[{i}]: only a district_officer (and nothing else) has a district, not {code}"
                    )));
                }
                Some(code) if !codes.contains(code) => {
                    return Err(Error::Config(format!(
                        "{name}: users[{i}].district: {code} is not in the registry"
                    )));
                }
                None if user.roles.contains(&crate::api::CityRole::DistrictOfficer) => {
                    return Err(Error::Config(format!(
                        "{name}: users[{i}]: a district_officer names their district (and has no other role)"
                    )));
                }
                _ => {}
            }
        }
        file.ledger
            .validate(&codes)
            .and_then(|()| file.escalation.validate())
            .and_then(|()| file.monthly.validate())
            .map_err(|e| Error::Config(format!("{name}: {e}")))?;
        if let Some(section) = &file.escalation.calendar {
            if section.unpublished_year == citygrid_kit::calendar::UnpublishedYear::Weekdays
                && !file.demo
            {
                return Err(Error::Config(format!(
                    "{name}: escalation.calendar.unpublished_year: `weekdays` is for demo cities (demo = true)"
                )));
            }
            let calendar = citygrid_kit::calendar::configured(
                &name.to_string(),
                "escalation.calendar",
                dir,
                time_zone,
                &section.working_hours,
                &section.holidays,
                section.unpublished_year,
            )
            .map_err(|e| Error::Config(e.to_string()))?;
            file.escalation.working = Some(calendar);
        }
        Ok(City {
            file,
            time_zone,
            registry,
            catalogues,
            mappings,
            appraisal,
            archive,
        })
    }

    /// The city's appraisal with its rules and archive.
    pub fn appraiser(&self) -> crate::appraisal::Appraiser<'_> {
        crate::appraisal::Appraiser {
            registry: &self.registry,
            zone: self.time_zone,
            config: &self.appraisal,
            archive: self.archive.as_deref(),
        }
    }

    /// The monthly job with the city's rules (docs/MONTHLY.md).
    pub fn monthly_job(&self) -> crate::monthly::Job<'_> {
        crate::monthly::Job {
            city: &self.file.city.name,
            appraiser: self.appraiser(),
            policy: &self.file.ledger,
            escalation: &self.file.escalation,
            section: &self.file.monthly,
        }
    }

    pub fn city_account(&self) -> Account {
        Account {
            user: self.file.broker.city_user.clone(),
            password: self.file.broker.city_password.clone(),
        }
    }

    pub fn amqp_uri(&self) -> SecretString {
        broker::amqp_uri(
            &self.file.broker.amqp,
            &self.city_account(),
            &self.file.broker.vhost,
        )
    }
}
