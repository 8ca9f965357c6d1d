//! `citygrid district address …`: checks an address file (地址库) against its district, and
//! makes the synthetic address points of the sample districts.

use std::path::{Path, PathBuf};

use citygrid_platform::address::{self, Gazetteer, Region};
use citygrid_platform::config::Tenant;
use citygrid_platform::grid::Frame;
use clap::Subcommand;

#[derive(Subcommand)]
pub enum AddressCommand {
    /// Check an address file (CSV `id,address,lon,lat[,street,community]` or GeoJSON
    /// Points): every row must be a point inside the district with a unique id, an address
    /// and known street and community codes. Lists every bad row; exits non-zero if any.
    Check {
        #[arg(long, env = "CITYGRID_TENANT")]
        tenant: PathBuf,
        /// The address file.
        file: PathBuf,
        /// Print the findings as JSON.
        #[arg(long)]
        json: bool,
    },
    /// Write synthetic address points over the district (straight roads with plausible
    /// names, numbered doors inside its boundary, street and community from its grid):
    /// sample data for demos and tests, a CSV whose first lines say it is synthetic.
    Synth {
        #[arg(long, env = "CITYGRID_TENANT")]
        tenant: PathBuf,
        /// Metres between parallel roads.
        #[arg(long, default_value_t = 800.0)]
        road_metres: f64,
        /// Metres between doors on one side of a road.
        #[arg(long, default_value_t = 80.0)]
        door_metres: f64,
        /// Where to write (default: standard output).
        #[arg(long)]
        out: Option<PathBuf>,
    },
}

pub fn run(command: AddressCommand) -> Result<(), String> {
    match command {
        AddressCommand::Check { tenant, file, json } => {
            let tenant = load(&tenant)?;
            let text = std::fs::read_to_string(&file)
                .map_err(|e| format!("cannot read {}: {e}", file.display()))?;
            let region = Region::of(&tenant);
            let (points, findings) = address::read(&text, &Frame::of(&tenant), &region)
                .map_err(|e| format!("{}: {e}", file.display()))?;
            if json {
                println!(
                    "{}",
                    serde_json::to_string_pretty(&findings).map_err(|e| e.to_string())?
                );
            }
            let good = points.len();
            let gazetteer = Gazetteer::new(points, region);
            let with_street = gazetteer
                .points()
                .iter()
                .filter(|p| p.street.is_some())
                .count();
            if !json {
                println!(
                    "{}: district {} — {good} address points on {} roads ({with_street} with a street code), {} bad row(s)",
                    file.display(),
                    tenant.code(),
                    gazetteer.roads(),
                    findings.len()
                );
                for finding in &findings {
                    println!("  error: {}", finding.message);
                }
            }
            if findings.is_empty() && good > 0 {
                Ok(())
            } else if findings.is_empty() {
                Err(format!("{}: no address points", file.display()))
            } else {
                Err(format!(
                    "{}: {} bad row(s); the district refuses the file until they are fixed",
                    file.display(),
                    findings.len()
                ))
            }
        }
        AddressCommand::Synth {
            tenant,
            road_metres,
            door_metres,
            out,
        } => {
            let tenant = load(&tenant)?;
            let frame = Frame::of(&tenant);
            let points =
                address::synthetic(&frame, tenant.grid.as_ref(), road_metres, door_metres)?;
            let comments = [
                format!(
                    "synthetic address points (地址库) of district {} {}: made-up roads {road_metres} m apart with doors every {door_metres} m inside its sample boundary,",
                    frame.district, tenant.config.district.name
                ),
                "for demos and tests; not real addresses. Made by `citygrid district address synth`."
                    .to_owned(),
            ];
            let text = address::write_csv(&points, &comments);
            match out {
                Some(path) => {
                    std::fs::write(&path, text)
                        .map_err(|e| format!("cannot write {}: {e}", path.display()))?;
                    eprintln!(
                        "district {}: {} address points written to {}",
                        frame.district,
                        points.len(),
                        path.display()
                    );
                }
                None => print!("{text}"),
            }
            Ok(())
        }
    }
}

/// The tenant without its own address file, which may be the one being checked or made.
fn load(tenant: &Path) -> Result<Tenant, String> {
    Tenant::load_without_addresses(tenant).map_err(|e| e.to_string())
}
