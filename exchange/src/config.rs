//! The city file (`tenants/<city>/city.toml`): the city, its districts' tenant files, the
//! broker, the warehouse database and the intake's tuning.

use std::path::{Path, PathBuf};

use citygrid_platform::config::{AuthSection, DatabaseSection, HttpSection, Tenant};
use citygrid_schemas::amqp::{self, Account};
use secrecy::SecretString;
use serde::Deserialize;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CityFile {
    pub city: CitySection,
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
}

/// A person of the city command center.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CityUser {
    pub username: String,
    pub name: String,
    /// `city_supervisor` (市级监督) or `city_leader` (市级领导).
    pub roles: Vec<String>,
    pub password: SecretString,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CitySection {
    pub code: String,
    pub name: String,
    /// Monthly periods and report dates are in this zone.
    pub time_zone: String,
    /// District tenant files, relative to the city file.
    pub districts: Vec<PathBuf>,
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
    pub admin_password: String,
    /// The exchange's own broker user; `CITYGRID_CITY_AMQP_PASSWORD` overrides the password.
    pub city_user: String,
    pub city_password: String,
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

impl Default for IntakeSection {
    fn default() -> Self {
        IntakeSection {
            prefetch: default_prefetch(),
            batch: default_batch(),
            gap_seconds: default_gap_seconds(),
        }
    }
}

/// A loaded city: the file and its districts' tenants.
#[derive(Debug)]
pub struct City {
    pub file: CityFile,
    pub districts: Vec<Tenant>,
}

impl City {
    pub fn load(path: &Path) -> Result<City, String> {
        let text = std::fs::read_to_string(path).map_err(|e| format!("{}: {e}", path.display()))?;
        let mut file: CityFile =
            toml::from_str(&text).map_err(|e| format!("{}: {e}", path.display()))?;
        if let Ok(password) = std::env::var("CITYGRID_BROKER_ADMIN_PASSWORD") {
            file.broker.admin_password = password;
        }
        if let Ok(password) = std::env::var("CITYGRID_CITY_AMQP_PASSWORD") {
            file.broker.city_password = password;
        }
        if let Ok(url) = std::env::var("CITYGRID_WAREHOUSE_URL") {
            file.warehouse.url = url;
        }
        if let Some(seconds) = std::env::var("CITYGRID_INTAKE_GAP_SECONDS")
            .ok()
            .and_then(|s| s.parse().ok())
        {
            file.intake.gap_seconds = seconds;
        }
        if let Ok(vhost) = std::env::var("CITYGRID_BROKER_VHOST") {
            file.broker.vhost = vhost;
        }
        if let Ok(bind) = std::env::var("CITYGRID_CITY_HTTP_BIND") {
            file.http.bind = bind;
        }
        if let Ok(secret) = std::env::var("CITYGRID_CITY_JWT_SECRET") {
            file.auth.jwt_secret = secret.into();
        }
        for user in &file.users {
            for role in &user.roles {
                if crate::api::CityRole::parse(role).is_none() {
                    return Err(format!(
                        "{}: users.{}.roles: unknown role {role:?} (city_supervisor or city_leader)",
                        path.display(),
                        user.username
                    ));
                }
            }
        }
        let dir = path.parent().unwrap_or(Path::new("."));
        let districts = file
            .city
            .districts
            .iter()
            .map(|d| Tenant::load(&dir.join(d)).map_err(|e| e.to_string()))
            .collect::<Result<Vec<_>, _>>()?;
        for tenant in &districts {
            if tenant.config.exchange.is_none() {
                return Err(format!(
                    "{}: no [exchange] section, so the city does not know the district's broker user",
                    tenant.file.display()
                ));
            }
        }
        Ok(City { file, districts })
    }

    pub fn city_account(&self) -> Account {
        Account {
            user: self.file.broker.city_user.clone(),
            password: self.file.broker.city_password.clone(),
        }
    }

    pub fn amqp_uri(&self) -> String {
        amqp::amqp_uri(
            &self.file.broker.amqp,
            &self.city_account(),
            &self.file.broker.vhost,
        )
    }
}
