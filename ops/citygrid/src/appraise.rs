//! What `citygrid city appraise` and `citygrid district appraise` share: the output
//! format and the printing (docs/APPRAISAL.md, "Outputs").

use citygrid_appraisal::Report;

/// How an appraisal prints.
#[derive(Debug, Clone, Copy, clap::ValueEnum)]
pub enum Format {
    Table,
    Csv,
    Json,
}

/// Prints `appraisal` on standard output in `format`.
pub fn print(appraisal: &Report, format: Format) -> Result<(), String> {
    match format {
        Format::Table => print!("{}", appraisal.to_table()),
        Format::Csv => print!("{}", appraisal.to_csv()),
        Format::Json => println!(
            "{}",
            serde_json::to_string_pretty(&appraisal.to_json()).map_err(|e| e.to_string())?
        ),
    }
    Ok(())
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
