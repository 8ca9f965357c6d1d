//! The gazetteer (地址库): a district's address points (门牌: an id, the address as text, a
//! point, optionally its street and community), looked up by free-text Chinese addresses
//! (geocoding, with a score) and by a point (the nearest address).
//!
//! Reference data like the unit grid: a CSV or GeoJSON file named by the tenant file
//! (`district.addresses`), read and checked at start, refused naming the file, the row and
//! the reason when a row is bad. Everything here is pure but the HTTP handlers
//! (`handlers`); the CLI (`citygrid district address check|synth`) builds on it.

mod file;
pub mod handlers;
mod index;
mod normalise;
mod synth;

use std::path::Path;

use serde::Serialize;
use utoipa::ToSchema;

pub(crate) use file::{fields as csv_fields, quoted as csv_quoted};
pub use file::{read, write_csv};
pub use index::{Gazetteer, Hit};
pub use normalise::{HouseNumber, Normalised, Region, normalise};
pub use synth::synthetic;

use crate::config::Tenant;
use crate::error::{Error, Result};
use crate::grid::Frame;

/// A report that gives an address but no point takes the best match's point from this
/// score up (see [`index`] for what scores what); below it, the report is refused (422
/// `address`) with the candidates.
pub const PLACE_SCORE: f64 = 0.8;

/// One address point (门牌).
#[derive(Debug, Clone, PartialEq)]
pub struct AddressPoint {
    pub id: String,
    /// As the file writes it (`解放路120号`); compared after [`normalise`].
    pub address: String,
    /// Longitude/latitude (WGS 84), as everywhere in CityGrid.
    pub lon: f64,
    pub lat: f64,
    /// 9-digit street code.
    pub street: Option<String>,
    /// 12-digit community code.
    pub community: Option<String>,
}

/// How a geocoded address matched.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum MatchKind {
    /// The same road, house number and building after normalisation: score 1.
    Exact,
    /// The same road, the nearest house number.
    Prefix,
    /// A road with a similar name.
    Fuzzy,
}

/// What keeps a row of an address file from being an address point.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum FindingKind {
    /// Not a row: wrong number of fields, a coordinate that is not a number, no id, not a
    /// Point feature.
    Malformed,
    /// Not a longitude and latitude.
    BadCoordinates,
    /// The point is outside the district.
    Outside,
    /// An id seen in an earlier row.
    DuplicateId,
    /// No address, or one that names only places the district implies (`杭州市上城区`).
    EmptyAddress,
    /// A street or community code the district does not have.
    UnknownPlace,
}

/// One bad row.
#[derive(Debug, Clone, Serialize)]
pub struct Finding {
    /// `line 12` (CSV, counting from 1) or `feature #3` (GeoJSON, from 0).
    pub row: String,
    /// The row's id, when it has a usable one.
    pub id: Option<String>,
    pub kind: FindingKind,
    /// Starts with `row`.
    pub message: String,
}

impl Region {
    /// The places addresses in this district may start with: its province and city, its
    /// name, its street offices and communities.
    pub fn of(tenant: &Tenant) -> Region {
        let streets = &tenant.config.streets;
        Region::of_district(
            tenant.code(),
            &tenant.config.district.name,
            streets.iter().map(|s| s.name.as_str()),
            streets
                .iter()
                .flat_map(|s| s.communities.iter().map(|c| c.name.as_str())),
        )
    }
}

/// Reads the address file of a tenant (everything else of it loaded): every row must be an
/// address point, or the file is refused naming the first bad row and how many there are.
pub fn load(tenant: &Tenant, path: &Path) -> Result<Gazetteer> {
    let file = path.display().to_string();
    let text = std::fs::read_to_string(path)
        .map_err(|e| Error::config(&file, "-", format!("cannot read: {e}")))?;
    let region = Region::of(tenant);
    let (points, findings) =
        read(&text, &Frame::of(tenant), &region).map_err(|e| Error::config(&file, "-", e))?;
    if let Some(first) = findings.first() {
        return Err(Error::config(
            &file,
            &first.row,
            format!(
                "{} ({} bad row(s); `citygrid district address check` lists them)",
                first.message,
                findings.len()
            ),
        ));
    }
    if points.is_empty() {
        return Err(Error::config(&file, "-", "no address points"));
    }
    Ok(Gazetteer::new(points, region))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> std::path::PathBuf {
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../tenants/hangzhou/districts/330102.toml")
    }

    #[test]
    fn the_sample_districts_load_their_synthetic_addresses() {
        for code in ["330102", "330105", "330106"] {
            let path = sample().with_file_name(format!("{code}.toml"));
            let tenant = Tenant::load(&path).expect("sample tenant");
            let gazetteer = tenant.addresses.as_ref().expect("addresses");
            assert!(
                (2_000..10_000).contains(&gazetteer.len()),
                "{code}: {gazetteer:?}"
            );
            // Every point is in a cell of the district's grid, which named its street.
            for point in gazetteer.points().iter().step_by(97) {
                let cell = tenant.cell_at(point.lon, point.lat).expect("a cell");
                assert_eq!(point.street.as_deref(), Some(cell.code.street()));
            }
        }
    }

    #[test]
    fn a_bad_row_stops_the_district_naming_file_row_and_reason() {
        let tenant = Tenant::load_without_addresses(&sample()).expect("sample tenant");
        let (lon, lat) = tenant.sample_point();
        let dir = std::env::temp_dir().join(format!("citygrid-addresses-{}", uuid::Uuid::new_v4()));
        std::fs::create_dir_all(&dir).expect("dir");
        let path = dir.join("330102.csv");
        std::fs::write(
            &path,
            format!(
                "# test\nid,address,lon,lat\nA1,解放路1号,{lon},{lat}\nA2,解放路2号,121.5,31.2\nA1,解放路3号,{lon},{lat}\n"
            ),
        )
        .expect("write");
        let err = load(&tenant, &path).expect_err("bad rows").to_string();
        std::fs::write(
            &path,
            format!("id,address,lon,lat\nA1,解放路1号,{lon},{lat}\n"),
        )
        .expect("write");
        let good = load(&tenant, &path).map(|g| g.len());
        std::fs::remove_dir_all(&dir).ok();
        assert!(
            err.contains("330102.csv")
                && err.contains("line 4")
                && err.contains("outside district 330102")
                && err.contains("2 bad row(s)"),
            "{err}"
        );
        assert_eq!(good.ok(), Some(1));
    }
}
