//! `citygrid district grid …`: checks a unit grid file against its district, and makes the
//! synthetic grids of the sample districts.

use std::path::{Path, PathBuf};

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
    /// Check a grid file and, if usable, install it as the district's grid (the file
    /// `district.grid` names; the one it replaces is kept beside it as `<name>.previous`).
    /// The district uses it from its next start.
    Import {
        #[arg(long, env = "CITYGRID_TENANT")]
        tenant: PathBuf,
        /// The grid file to install.
        file: PathBuf,
        /// Install it despite overlaps, gaps and cells reaching outside the district (the
        /// district then also needs `district.grid_accept_warnings = true`).
        #[arg(long)]
        accept_warnings: bool,
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
        GridCommand::Import {
            tenant,
            file,
            accept_warnings,
        } => {
            let loaded = Tenant::load(&tenant).map_err(|e| e.to_string())?;
            let target = loaded
                .config
                .district
                .grid
                .as_ref()
                .map(|grid| tenant.parent().unwrap_or(Path::new(".")).join(grid))
                .ok_or_else(|| {
                    format!(
                        "{}: name the grid's place first, e.g. grid = \"../grids/{}.geojson\" in [district]",
                        tenant.display(),
                        loaded.code()
                    )
                })?;
            let text = std::fs::read_to_string(&file)
                .map_err(|e| format!("cannot read {}: {e}", file.display()))?;
            let (cells, problems) =
                grid::read(&text).map_err(|e| format!("{}: {e}", file.display()))?;
            let (report, _) = grid::check(&Frame::of(&loaded), cells, problems);
            print(&file, &report, accept_warnings);
            if !report.acceptable(accept_warnings) {
                return Err(format!(
                    "{}: not installed, the grid is not usable ({} problem(s))",
                    file.display(),
                    report.problems.len()
                ));
            }
            install(&target, &text)?;
            println!(
                "installed as {} ({} cells); the district uses it from its next start{}",
                target.display(),
                report.cells,
                if report.problems.is_empty() || loaded.config.district.grid_accept_warnings {
                    ""
                } else {
                    " — which refuses it until district.grid_accept_warnings = true"
                }
            );
            Ok(())
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

/// Replaces `target` with `text` in one rename (a crash leaves the old or the new file,
/// never half of one), keeping the old one as `<name>.previous`.
fn install(target: &Path, text: &str) -> Result<(), String> {
    let with_suffix = |suffix: &str| {
        let mut name = target.as_os_str().to_owned();
        name.push(suffix);
        PathBuf::from(name)
    };
    let (staged, previous) = (with_suffix(".new"), with_suffix(".previous"));
    std::fs::write(&staged, text).map_err(|e| format!("cannot write {}: {e}", staged.display()))?;
    if target.exists() {
        std::fs::copy(target, &previous)
            .map_err(|e| format!("cannot keep {}: {e}", previous.display()))?;
    }
    std::fs::rename(&staged, target)
        .map_err(|e| format!("cannot install {}: {e}", target.display()))
}

fn frame(tenant: &Path) -> Result<Frame, String> {
    let tenant = Tenant::load(tenant).map_err(|e| e.to_string())?;
    Ok(Frame::of(&tenant))
}

fn print(file: &Path, report: &Report, accept_warnings: bool) {
    println!(
        "{}: district {} — {} usable cells in {} streets, {} communities, {:.2} km²",
        file.display(),
        report.district,
        report.cells,
        report.streets,
        report.communities,
        report.area_m2 / 1e6
    );
    const SHOWN: usize = 50;
    for problem in report.problems.iter().take(SHOWN) {
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
    if report.problems.len() > SHOWN {
        println!(
            "  … and {} more (`grid check --json` lists them all)",
            report.problems.len() - SHOWN
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_install_replaces_the_file_whole_and_keeps_the_previous_one() {
        let dir = std::env::temp_dir().join(format!("grid-install-{}", uuid::Uuid::new_v4()));
        std::fs::create_dir_all(&dir).expect("dir");
        let target = dir.join("330102.geojson");
        install(&target, "first").expect("install");
        assert!(!dir.join("330102.geojson.previous").exists());
        install(&target, "second").expect("install");
        let read = |name: &str| std::fs::read_to_string(dir.join(name)).expect(name);
        assert_eq!(
            (read("330102.geojson"), read("330102.geojson.previous")),
            ("second".to_owned(), "first".to_owned())
        );
        assert!(!dir.join("330102.geojson.new").exists());
        std::fs::remove_dir_all(&dir).ok();
    }
}
