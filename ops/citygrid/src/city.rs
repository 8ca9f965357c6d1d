//! The city file (`tenants/<city>/city.toml`): the city, its districts, and the broker the
//! exchange runs on. Read by the demo and by `citygrid broker provision`.

use std::path::{Path, PathBuf};

use citygrid_platform::config::Tenant;
use citygrid_schemas::amqp::{self, Account, Admin};
use lapin::{Connection, ConnectionProperties};
use serde::Deserialize;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CityFile {
    pub city: CitySection,
    pub broker: BrokerSection,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CitySection {
    pub code: String,
    pub name: String,
    /// Kept for the city exchange (monthly periods are in local time).
    #[allow(dead_code)]
    pub time_zone: String,
    /// District tenant files, relative to the city file.
    pub districts: Vec<PathBuf>,
}

/// The RabbitMQ the interchange runs on (schemas/AMQP.md).
#[derive(Deserialize)]
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
    /// The city exchange's own broker user; `CITYGRID_CITY_AMQP_PASSWORD` overrides the
    /// password.
    pub city_user: String,
    pub city_password: String,
}

/// A loaded city: the file and its districts' tenants.
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
        let dir = path.parent().unwrap_or(Path::new("."));
        let districts = file
            .city
            .districts
            .iter()
            .map(|d| Tenant::load(&dir.join(d)).map_err(|e| e.to_string()))
            .collect::<Result<Vec<_>, _>>()?;
        Ok(City { file, districts })
    }

    fn city_account(&self) -> Account {
        Account {
            user: self.file.broker.city_user.clone(),
            password: self.file.broker.city_password.clone(),
        }
    }
}

/// `citygrid broker provision`: the vhost, the users and their permissions through the
/// management API, then the topology declared over AMQP as the city's user. Idempotent.
pub async fn provision(city: &City) -> Result<(), String> {
    let broker = &city.file.broker;
    let admin = Admin::new(
        &broker.management,
        &broker.admin_user,
        &broker.admin_password,
    );
    let mut districts = Vec::new();
    for tenant in &city.districts {
        let section = tenant.config.exchange.as_ref().ok_or_else(|| {
            format!(
                "{}: no [exchange] section, so no broker user to create",
                tenant.file.display()
            )
        })?;
        let mut account = section.account();
        // One variable per district: a single CITYGRID_AMQP_PASSWORD cannot serve several.
        if let Ok(password) = std::env::var(format!("CITYGRID_AMQP_PASSWORD_{}", tenant.code())) {
            account.password = password;
        }
        districts.push((tenant.code().to_owned(), account));
    }
    amqp::provision(&admin, &broker.vhost, &city.city_account(), &districts)
        .await
        .map_err(|e| e.to_string())?;
    let uri = amqp::amqp_uri(&broker.amqp, &city.city_account(), &broker.vhost);
    let connection = Connection::connect(&uri, ConnectionProperties::default())
        .await
        .map_err(|e| format!("connecting as {}: {e}", broker.city_user))?;
    let channel = connection
        .create_channel()
        .await
        .map_err(|e| e.to_string())?;
    let codes: Vec<String> = districts.iter().map(|(code, _)| code.clone()).collect();
    amqp::declare(&channel, &codes)
        .await
        .map_err(|e| format!("declaring the topology: {e}"))?;
    let _ = connection.close(200, "provisioned".into()).await;
    println!(
        "broker {}: vhost {:?}, city user {}, district users {} — permissions set, topology declared",
        broker.amqp,
        broker.vhost,
        broker.city_user,
        districts
            .iter()
            .map(|(_, a)| a.user.as_str())
            .collect::<Vec<_>>()
            .join(", ")
    );
    Ok(())
}
