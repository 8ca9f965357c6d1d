//! `citygrid district components …`: the component inventory (部件库) — check and import a
//! census (专项普查), export the inventory, and make the synthetic census of the sample
//! districts.

use std::path::{Path, PathBuf};

use citygrid_platform::component::{self, Census, census, store};
use citygrid_platform::config::Tenant;
use citygrid_platform::{db, user};
use clap::{Subcommand, ValueEnum};
use indicatif::{ProgressBar, ProgressStyle};
use serde_json::{Map, json};

#[derive(Subcommand)]
pub enum ComponentsCommand {
    /// Check a census file (CSV or GeoJSON of components) against the district: every
    /// row's id (length, digits, district, class), department, status, dates, and point
    /// inside the district with its cell. Lists every bad row by line; exits non-zero if any.
    Check {
        #[arg(long, env = "CITYGRID_TENANT")]
        tenant: PathBuf,
        /// The census file.
        file: PathBuf,
        /// Print the findings as JSON.
        #[arg(long)]
        json: bool,
    },
    /// Check a census file and write it into the district's inventory in one transaction:
    /// new components are added, changed ones updated with a change record each, unchanged
    /// ones left alone (a re-import writes nothing). A file with bad rows is refused whole.
    Import {
        #[arg(long, env = "CITYGRID_TENANT")]
        tenant: PathBuf,
        /// The census file.
        file: PathBuf,
        /// Import the good rows of a file with bad rows, listing the bad ones as warnings.
        #[arg(long)]
        accept_warnings: bool,
    },
    /// Write the district's inventory as a census file (the columns `import` reads).
    Export {
        #[arg(long, env = "CITYGRID_TENANT")]
        tenant: PathBuf,
        /// csv or geojson (default: by the extension of --out, else csv).
        #[arg(long, value_enum)]
        format: Option<Format>,
        /// Where to write (default: standard output).
        #[arg(long)]
        out: Option<PathBuf>,
    },
    /// Write a synthetic census over the district (components of common classes at points
    /// inside its grid, owned by the departments its manual routes them to): sample data
    /// for demos and tests, a CSV whose first lines say it is synthetic.
    Synth {
        #[arg(long, env = "CITYGRID_TENANT")]
        tenant: PathBuf,
        /// How many components.
        #[arg(long, default_value_t = 300)]
        count: usize,
        /// Where to write (default: standard output).
        #[arg(long)]
        out: Option<PathBuf>,
    },
}

#[derive(Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Format {
    Csv,
    Geojson,
}

pub fn run(command: ComponentsCommand) -> Result<(), String> {
    match command {
        ComponentsCommand::Check { tenant, file, json } => {
            let tenant = load(&tenant)?;
            let census = read(&tenant, &file)?;
            if json {
                println!(
                    "{}",
                    serde_json::to_string_pretty(&census.findings).map_err(|e| e.to_string())?
                );
            } else {
                print(&tenant, &file, &census, "error");
            }
            if census.findings.is_empty() {
                Ok(())
            } else {
                Err(format!(
                    "{}: {} bad row(s); import refuses the file until they are fixed",
                    file.display(),
                    census.findings.len()
                ))
            }
        }
        ComponentsCommand::Import {
            tenant,
            file,
            accept_warnings,
        } => {
            let tenant = load(&tenant)?;
            let census = read(&tenant, &file)?;
            print(
                &tenant,
                &file,
                &census,
                if accept_warnings { "warning" } else { "error" },
            );
            if !census.findings.is_empty() && !accept_warnings {
                return Err(format!(
                    "{}: not imported, {} bad row(s) (--accept-warnings imports the good ones)",
                    file.display(),
                    census.findings.len()
                ));
            }
            let pool = db::pool(&tenant.config.database).map_err(|e| e.to_string())?;
            let mut conn = pool.get().map_err(|e| {
                format!(
                    "cannot reach the database of district {}: {e}",
                    tenant.code()
                )
            })?;
            db::migrate(&mut conn).map_err(|e| e.to_string())?;
            user::sync_reference_data(&mut conn, &tenant).map_err(|e| e.to_string())?;
            let progress = ProgressBar::new(census.rows.len() as u64);
            progress.set_style(
                ProgressStyle::with_template("{bar:30} {pos}/{len} components  {elapsed}")
                    .unwrap_or_else(|_| ProgressStyle::default_bar()),
            );
            let actor = format!("census {}", file.display());
            let summary = component::import(
                &mut conn,
                &tenant,
                &census,
                &actor,
                accept_warnings,
                &mut |n| progress.inc(n as u64),
            )
            .map_err(|e| e.to_string())?;
            progress.finish_and_clear();
            tracing::info!(
                district = tenant.code(),
                file = %file.display(),
                components.created = summary.created,
                components.changed = summary.changed,
                components.unchanged = summary.unchanged,
                components.refused = census.findings.len(),
                "component census imported"
            );
            println!(
                "district {}: {} created, {} changed (a change record each), {} unchanged{}",
                tenant.code(),
                summary.created,
                summary.changed,
                summary.unchanged,
                if census.findings.is_empty() {
                    String::new()
                } else {
                    format!(", {} bad row(s) skipped", census.findings.len())
                }
            );
            Ok(())
        }
        ComponentsCommand::Export {
            tenant,
            format,
            out,
        } => {
            let tenant = load(&tenant)?;
            let format = format.unwrap_or_else(|| match &out {
                Some(path)
                    if path
                        .extension()
                        .is_some_and(|e| e == "geojson" || e == "json") =>
                {
                    Format::Geojson
                }
                _ => Format::Csv,
            });
            let pool = db::pool(&tenant.config.database).map_err(|e| e.to_string())?;
            let mut conn = pool.get().map_err(|e| {
                format!(
                    "cannot reach the database of district {}: {e}",
                    tenant.code()
                )
            })?;
            let components = store::all(&mut conn).map_err(|e| e.to_string())?;
            let note = format!(
                "component inventory (部件库) of district {} {}, exported {}",
                tenant.code(),
                tenant.config.district.name,
                chrono::Utc::now().format("%Y-%m-%dT%H:%M:%SZ")
            );
            let text = match format {
                Format::Csv => census::write_csv(&components, &[note]),
                Format::Geojson => census::write_geojson(
                    &components,
                    Map::from_iter([("note".to_owned(), json!(note))]),
                ),
            };
            write(out.as_deref(), &text, || {
                format!(
                    "district {}: {} components",
                    tenant.code(),
                    components.len()
                )
            })
        }
        ComponentsCommand::Synth { tenant, count, out } => {
            let tenant = Tenant::load(&tenant).map_err(|e| e.to_string())?;
            let components = component::synth::synthetic(&tenant, count)?;
            let comments = [
                format!(
                    "synthetic component census (部件普查) of district {} {}: {count} made-up components of common classes at points inside its sample grid,",
                    tenant.code(),
                    tenant.config.district.name
                ),
                "owned by the departments its command manual routes them to; for demos and tests, not real components. Made by `citygrid district components synth`."
                    .to_owned(),
            ];
            let text = census::write_csv(&components, &comments);
            write(out.as_deref(), &text, || {
                format!(
                    "district {}: {} components",
                    tenant.code(),
                    components.len()
                )
            })
        }
    }
}

fn load(tenant: &Path) -> Result<Tenant, String> {
    Tenant::load(tenant).map_err(|e| e.to_string())
}

fn read(tenant: &Tenant, file: &Path) -> Result<Census, String> {
    component::read_file(tenant, file).map_err(|e| e.to_string())
}

fn write(out: Option<&Path>, text: &str, what: impl FnOnce() -> String) -> Result<(), String> {
    match out {
        Some(path) => {
            std::fs::write(path, text)
                .map_err(|e| format!("cannot write {}: {e}", path.display()))?;
            eprintln!("{} written to {}", what(), path.display());
        }
        None => print!("{text}"),
    }
    Ok(())
}

fn print(tenant: &Tenant, file: &Path, census: &Census, level: &str) {
    println!(
        "{}: district {} — {} good component row(s), {} bad",
        file.display(),
        tenant.code(),
        census.rows.len(),
        census.findings.len()
    );
    const SHOWN: usize = 50;
    for finding in census.findings.iter().take(SHOWN) {
        println!("  {level}: {}", finding.message);
    }
    if census.findings.len() > SHOWN {
        println!(
            "  … and {} more (`components check --json` lists them all)",
            census.findings.len() - SHOWN
        );
    }
}
