//! `citygrid district grid …`: checks a unit grid file against its district, and makes the
//! synthetic grids of the sample districts.

use std::path::PathBuf;

use citygrid_platform::config::Tenant;
use citygrid_platform::grid::{self, Frame, Report};
use clap::Subcommand;
use serde_json::{Map, json};

#[derive(Subcommand)]
pub enum GridCommand {
    /// Check a grid file (GeoJSON FeatureCollection of cells): codes, polygons, the district's
    /// streets and communities, cells outside the district, overlaps and gaps with their area.
    /// Exits non-zero when the grid is not usable.
    Check {
        #[arg(long, env = "CITYGRID_TENANT")]
        tenant: PathBuf,
        /// The grid file.
        file: PathBuf,
        /// Accept overlaps, gaps and cells reaching outside the district as warnings.
        #[arg(long)]
        accept_warnings: bool,
        /// Print the report as JSON.
        #[arg(long)]
        json: bool,
    },
    /// Write a synthetic grid over the district (squares clipped to its boundary, streets
    /// west to east): sample data for demos and tests, marked `synthetic: true`.
    Synth {
        #[arg(long, env = "CITYGRID_TENANT")]
        tenant: PathBuf,
        /// Side of a cell, metres.
        #[arg(long, default_value_t = 100.0)]
        cell_metres: f64,
        /// Where to write (default: standard output).
        #[arg(long)]
        out: Option<PathBuf>,
    },
}

pub fn run(command: GridCommand) -> Result<(), String> {
    match command {
        GridCommand::Check {
            tenant,
            file,
            accept_warnings,
            json,
        } => {
            let frame = frame(&tenant)?;
            let text = std::fs::read_to_string(&file)
                .map_err(|e| format!("cannot read {}: {e}", file.display()))?;
            let (cells, problems) =
                grid::read(&text).map_err(|e| format!("{}: {e}", file.display()))?;
            let (report, _) = grid::check(&frame, cells, problems);
            if json {
                println!(
                    "{}",
                    serde_json::to_string_pretty(&report).map_err(|e| e.to_string())?
                );
            } else {
                print(&file, &report, accept_warnings);
            }
            if report.acceptable(accept_warnings) {
                Ok(())
            } else {
                Err(format!(
                    "{}: the grid is not usable ({} problem(s){})",
                    file.display(),
                    report.problems.len(),
                    if report.acceptable(true) {
                        "; --accept-warnings takes overlaps and gaps as warnings"
                    } else {
                        ""
                    }
                ))
            }
        }
        GridCommand::Synth {
            tenant,
            cell_metres,
            out,
        } => {
            let frame = frame(&tenant)?;
            let cells = grid::synthetic(&frame, cell_metres)?;
            let extra = Map::from_iter([
                ("synthetic".to_owned(), json!(true)),
                (
                    "note".to_owned(),
                    json!(format!(
                        "synthetic unit grid of district {}: {cell_metres} m squares clipped to \
                         its sample boundary, for demos and tests; not a real grid",
                        frame.district
                    )),
                ),
            ]);
            let text = grid::write(&cells, extra);
            match out {
                Some(path) => {
                    std::fs::write(&path, text)
                        .map_err(|e| format!("cannot write {}: {e}", path.display()))?;
                    eprintln!(
                        "district {}: {} cells written to {}",
                        frame.district,
                        cells.len(),
                        path.display()
                    );
                }
                None => print!("{text}"),
            }
            Ok(())
        }
    }
}

fn frame(tenant: &std::path::Path) -> Result<Frame, String> {
    let tenant = Tenant::load(tenant).map_err(|e| e.to_string())?;
    Ok(Frame::of(&tenant))
}

fn print(file: &std::path::Path, report: &Report, accept_warnings: bool) {
    println!(
        "{}: district {} — {} usable cells in {} streets, {} communities, {:.2} km²",
        file.display(),
        report.district,
        report.cells,
        report.streets,
        report.communities,
        report.area_m2 / 1e6
    );
    for problem in &report.problems {
        let level = if accept_warnings && problem.kind.is_coverage() {
            "warning"
        } else {
            "error"
        };
        let at = problem
            .at
            .map_or_else(String::new, |[lon, lat]| format!(" at {lon:.6},{lat:.6}"));
        println!("  {level}: {}{at}", problem.message);
    }
}
