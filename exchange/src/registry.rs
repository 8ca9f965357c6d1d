//! The district registry (区县登记): everything the city may know of each district, from
//! the city's own configuration — code, name, broker account, catalogue edition, population
//! and area (for indicators per head and per km²), boundary (for the map, and to know whose
//! a problem the city found is) and time zone.
//!
//! The city never opens a district's tenant file: in a federation the districts run on
//! other hosts, often from other vendors, and their databases, token keys and users are
//! theirs alone. A district joins a city with one entry here and `citygrid broker
//! provision`, whatever software it runs.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use chrono_tz::Tz;
use citygrid_schemas::Edition;
use citygrid_schemas::catalogue::Catalogue;
use geo::MultiPolygon;
use secrecy::SecretString;
use serde::Deserialize;

use crate::error::{Error, Result};

/// One `[[districts]]` entry of the city file.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DistrictEntry {
    /// GB/T 2260 administrative code, 6 digits.
    pub code: String,
    pub name: String,
    /// The district's broker user: the city trusts a message's `user_id` (verified by the
    /// broker) and nothing the body claims.
    pub broker_user: String,
    /// The password the city's broker issues to this district, read only by `citygrid
    /// broker provision`; production leaves it out and sets
    /// `CITYGRID_AMQP_PASSWORD_<code>` when provisioning.
    #[serde(default)]
    pub broker_password: Option<SecretString>,
    /// The catalogue edition the district files under: the `standard` of one of the city's
    /// catalogues (e.g. "GB/T 30428.2-2013").
    pub catalogue: String,
    /// Residents, for indicators per 10,000 people.
    pub population: u64,
    /// Area in km², for indicators per km².
    pub area_km2: f64,
    /// Unit grid cells (万米单元网格) the district's grid has, for indicators per cell;
    /// optional, as a district may run without a grid.
    #[serde(default)]
    pub cells: Option<u64>,
    /// GeoJSON boundary for the city's map and for placing the problems the city finds,
    /// relative to the city file.
    pub boundary: PathBuf,
    /// The district's zone for its local days (reconciliation); the city's by default.
    #[serde(default)]
    pub time_zone: Option<String>,
}

/// A registered district, validated.
#[derive(Debug, Clone)]
pub struct District {
    pub code: String,
    pub name: String,
    pub broker_user: String,
    pub broker_password: Option<SecretString>,
    pub catalogue: Arc<Catalogue>,
    pub population: u64,
    pub area_km2: f64,
    pub cells: Option<u64>,
    pub boundary: PathBuf,
    /// The area inside `boundary`.
    pub area: Arc<MultiPolygon<f64>>,
    pub time_zone: Tz,
}

/// The districts of a city, found by code or by broker user.
#[derive(Debug, Clone, Default)]
pub struct Registry {
    districts: Vec<District>,
    /// One per edition: the city's catalogues, whichever districts declare.
    catalogues: Vec<Arc<Catalogue>>,
}

fn digits(s: &str, n: usize) -> bool {
    s.len() == n && s.bytes().all(|b| b.is_ascii_digit())
}

impl Registry {
    /// Validates the entries against the city's catalogues; errors name the file and key.
    pub fn build(
        file: &Path,
        dir: &Path,
        entries: &[DistrictEntry],
        catalogues: &[Arc<Catalogue>],
        city_zone: Tz,
    ) -> Result<Registry> {
        let name = file.display().to_string();
        let err = |i: usize, key: &str, message: String| {
            Error::Config(format!("{name}: districts[{i}].{key}: {message}"))
        };
        let mut districts: Vec<District> = Vec::with_capacity(entries.len());
        for (i, e) in entries.iter().enumerate() {
            if !digits(&e.code, 6) {
                return Err(err(
                    i,
                    "code",
                    format!("{:?} is not a 6-digit code", e.code),
                ));
            }
            if districts.iter().any(|d| d.code == e.code) {
                return Err(err(i, "code", format!("{} is registered twice", e.code)));
            }
            if e.broker_user.is_empty() {
                return Err(err(i, "broker_user", "must not be empty".into()));
            }
            if let Some(other) = districts.iter().find(|d| d.broker_user == e.broker_user) {
                return Err(err(
                    i,
                    "broker_user",
                    format!("{:?} is already district {}'s", e.broker_user, other.code),
                ));
            }
            let catalogue = catalogues
                .iter()
                .find(|c| c.standard == e.catalogue)
                .cloned()
                .ok_or_else(|| {
                    err(
                        i,
                        "catalogue",
                        format!(
                            "{:?} is none of the city's catalogues ({})",
                            e.catalogue,
                            catalogues
                                .iter()
                                .map(|c| c.standard.as_str())
                                .collect::<Vec<_>>()
                                .join(", ")
                        ),
                    )
                })?;
            if e.population == 0 {
                return Err(err(i, "population", "must be at least 1".into()));
            }
            if !(e.area_km2.is_finite() && e.area_km2 > 0.0) {
                return Err(err(i, "area_km2", "must be a positive number".into()));
            }
            if e.cells == Some(0) {
                return Err(err(i, "cells", "must be at least 1 (or left out)".into()));
            }
            let boundary = dir.join(&e.boundary);
            let area = citygrid_kit::geo::read_boundary(&boundary)
                .map_err(|x| err(i, "boundary", format!("{}: {x}", boundary.display())))?;
            let time_zone = match &e.time_zone {
                None => city_zone,
                Some(z) => z
                    .parse()
                    .map_err(|_| err(i, "time_zone", format!("unknown time zone {z:?}")))?,
            };
            districts.push(District {
                code: e.code.clone(),
                name: e.name.clone(),
                broker_user: e.broker_user.clone(),
                broker_password: e.broker_password.clone(),
                catalogue,
                population: e.population,
                area_km2: e.area_km2,
                cells: e.cells,
                boundary,
                area: Arc::new(area),
                time_zone,
            });
        }
        Ok(Registry {
            districts,
            catalogues: catalogues.to_vec(),
        })
    }

    /// A registry of ready-made districts (tests and benchmarks); the city holds the
    /// catalogues they declare.
    pub fn new(districts: Vec<District>) -> Registry {
        let mut catalogues: Vec<Arc<Catalogue>> = Vec::new();
        for d in &districts {
            if !catalogues.iter().any(|c| c.edition == d.catalogue.edition) {
                catalogues.push(d.catalogue.clone());
            }
        }
        Registry {
            districts,
            catalogues,
        }
    }

    /// Every catalogue the city holds, one per edition.
    pub fn catalogues(&self) -> Vec<&Catalogue> {
        self.catalogues.iter().map(|c| c.as_ref()).collect()
    }

    /// The city's catalogue of `edition`, if it holds one.
    pub fn catalogue(&self, edition: Edition) -> Option<&Catalogue> {
        self.catalogues
            .iter()
            .find(|c| c.edition == edition)
            .map(|c| c.as_ref())
    }

    pub fn by_user(&self, user: &str) -> Option<&District> {
        self.districts.iter().find(|d| d.broker_user == user)
    }

    /// The district whose boundary holds (lon, lat): the first registered, should two
    /// boundaries overlap.
    pub fn at(&self, lon: f64, lat: f64) -> Option<&District> {
        self.districts
            .iter()
            .find(|d| citygrid_kit::geo::contains(&d.area, lon, lat))
    }

    pub fn get(&self, code: &str) -> Option<&District> {
        self.districts.iter().find(|d| d.code == code)
    }

    pub fn iter(&self) -> impl Iterator<Item = &District> {
        self.districts.iter()
    }

    pub fn len(&self) -> usize {
        self.districts.len()
    }

    pub fn is_empty(&self) -> bool {
        self.districts.is_empty()
    }

    /// Keeps only the districts `keep` says yes to (tests run a city of fewer districts).
    pub fn retain(&mut self, keep: impl FnMut(&District) -> bool) {
        self.districts.retain(keep);
    }

    pub fn get_mut(&mut self, code: &str) -> Option<&mut District> {
        self.districts.iter_mut().find(|d| d.code == code)
    }
}
