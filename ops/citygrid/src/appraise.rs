//! What `citygrid city appraise` and `citygrid district appraise` share: the output
//! format and the printing (docs/APPRAISAL.md, "Outputs").

use citygrid_appraisal::Appraisal;
use citygrid_appraisal::post::PostAppraisal;

/// How an appraisal prints.
#[derive(Debug, Clone, Copy, clap::ValueEnum)]
pub enum Format {
    Table,
    Csv,
    Json,
}

/// An appraisal in its three forms.
pub trait Printable {
    fn table(&self) -> String;
    fn csv(&self) -> String;
    fn json(&self) -> serde_json::Value;
}

impl Printable for Appraisal {
    fn table(&self) -> String {
        self.to_table()
    }
    fn csv(&self) -> String {
        self.to_csv()
    }
    fn json(&self) -> serde_json::Value {
        self.to_json()
    }
}

impl Printable for PostAppraisal {
    fn table(&self) -> String {
        self.to_table()
    }
    fn csv(&self) -> String {
        self.to_csv()
    }
    fn json(&self) -> serde_json::Value {
        self.to_json()
    }
}

/// Prints `appraisal` on standard output in `format`.
pub fn print(appraisal: &dyn Printable, format: Format) -> Result<(), String> {
    match format {
        Format::Table => print!("{}", appraisal.table()),
        Format::Csv => print!("{}", appraisal.csv()),
        Format::Json => println!(
            "{}",
            serde_json::to_string_pretty(&appraisal.json()).map_err(|e| e.to_string())?
        ),
    }
    Ok(())
}

impl Printable for citygrid_platform::appraisal::Report {
    fn table(&self) -> String {
        self.to_table()
    }
    fn csv(&self) -> String {
        self.to_csv()
    }
    fn json(&self) -> serde_json::Value {
        self.to_json()
    }
}

/// `citygrid district appraise`: the district's appraisal of a period (every row: the
/// CLI is the command centre's) on standard output. `rules` overrides the tenant file's
/// `[appraisal] rules`.
pub fn district(
    tenant: &citygrid_platform::config::Tenant,
    period: citygrid_appraisal::Period,
    level: citygrid_platform::appraisal::DistrictLevel,
    format: Format,
    rules: Option<&std::path::Path>,
) -> Result<(), String> {
    use citygrid_appraisal::post::Rules;
    use citygrid_platform::appraisal::{Scope, appraise};
    let rules = match rules {
        None => tenant.appraisal.clone(),
        Some(path) => std::fs::read_to_string(path)
            .map_err(|e| e.to_string())
            .and_then(|text| Rules::parse(&text))
            .map_err(|e| format!("{}: {e}", path.display()))?,
    };
    let pool = citygrid_platform::db::pool(&tenant.config.database).map_err(|e| e.to_string())?;
    citygrid_platform::app::prepare(tenant, &pool).map_err(|e| e.to_string())?;
    let mut conn = pool.get().map_err(|e| e.to_string())?;
    let report = appraise(
        &mut conn,
        tenant,
        &rules,
        period,
        level,
        &Scope::All,
        chrono::Utc::now(),
    )
    .map_err(|e| e.to_string())?;
    print(&report, format)
}
