//! `citygrid`: the one binary an operator installs. Thin: parses the command line,
//! wires the platform together and runs it.

mod address;
mod appraise;
mod appraise_bench;
mod city;
mod client;
mod components;
mod demo;
mod e2e_bench;
mod escalate;
mod grid;
mod intake_bench;
mod ledger;
mod lookup_bench;
mod relay_bench;
mod simulate;
mod stats;
mod timer_bench;

use std::net::TcpListener;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;

use citygrid_platform::case::workflow::Role;
use citygrid_platform::config::Tenant;
use citygrid_platform::{app, db, media, reminder, uplink, user};
use clap::{Parser, Subcommand};

#[derive(Parser)]
#[command(
    name = "citygrid",
    version,
    about = "CityGrid: digital urban management (数字城管) for a city of districts",
    long_about = "CityGrid runs each district's case loop (report → file → dispatch → handle → check → close).\n\n\
First run: `citygrid district migrate --tenant tenants/hangzhou/districts/330102.toml`, then\n\
`citygrid district serve --tenant …`. Tenant files describe one district: database, HTTP address,\n\
streets, departments and seed users. Logs go to stderr; set RUST_LOG=debug for more."
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Run or maintain one district instance.
    District {
        #[command(subcommand)]
        command: DistrictCommand,
    },
    /// Manage the users of a district.
    User {
        #[command(subcommand)]
        command: UserCommand,
    },
    /// Run the city exchange: the intake of every district's stream into the warehouse.
    City {
        /// The city file (districts, broker, warehouse database, rules): the only file the
        /// city reads.
        #[arg(
            long,
            global = true,
            env = "CITYGRID_CITY",
            default_value = "tenants/hangzhou/city.toml"
        )]
        config: PathBuf,
        #[command(subcommand)]
        command: CityCommand,
    },
    /// Set up the city exchange's RabbitMQ (schemas/AMQP.md).
    Broker {
        #[command(subcommand)]
        command: BrokerCommand,
    },
    /// Drive sample cases through running district instances over HTTP and print a summary.
    Demo(demo::DemoArgs),
    /// Live the sample city through months on a simulated clock (instances started with
    /// `--simulated-clock`): reports, the loop, escalation, monthly reports, the ledger.
    Simulate(simulate::SimulateArgs),
    /// Benchmarks (see docs/BENCHMARKS.md): `citygrid bench intake`.
    Bench {
        #[command(subcommand)]
        command: BenchCommand,
    },
}

#[derive(Subcommand)]
enum DistrictCommand {
    /// Migrate the database, sync departments and seed users, and serve the HTTP API.
    Serve {
        /// The district's tenant file, e.g. tenants/hangzhou/districts/330102.toml.
        #[arg(long, env = "CITYGRID_TENANT")]
        tenant: PathBuf,
        /// HTTP worker threads (default: one per core).
        #[arg(long)]
        workers: Option<usize>,
        /// Seconds between reminder timer ticks (urge, overdue, delivery).
        #[arg(long, default_value_t = 30)]
        timer_seconds: u64,
        /// Leave the clock to `citygrid simulate`: no reminder timer and no daily digests
        /// on the wall clock (the simulator runs both on its own), and what the city sends
        /// is recorded at the time the city stamped on it.
        #[arg(long)]
        simulated_clock: bool,
    },
    /// Apply database migrations and sync reference data, then exit.
    Migrate {
        #[arg(long, env = "CITYGRID_TENANT")]
        tenant: PathBuf,
    },
    /// Write the reconciliation digest (日对账) of a day into the outbox now, for the city to
    /// compare; the running instance sends yesterday's by itself after midnight.
    Digest {
        #[arg(long, env = "CITYGRID_TENANT")]
        tenant: PathBuf,
        /// The local day, YYYY-MM-DD (default: today so far).
        #[arg(long)]
        day: Option<chrono::NaiveDate>,
    },
    /// Appraise the district (综合评价, docs/APPRAISAL.md) for a month, quarter or year:
    /// its departments, streets, communities, cells, categories, or people in their posts,
    /// each case as it stood at the end of each month.
    Appraise {
        #[arg(long, env = "CITYGRID_TENANT")]
        tenant: PathBuf,
        /// The period: a month (2026-10), a quarter (2026-Q4) or a year (2026), in the
        /// district's time zone.
        #[arg(long = "month", alias = "period")]
        period: citygrid_appraisal::Period,
        /// department, street, community, cell, category or post.
        #[arg(long, default_value = "department")]
        level: citygrid_platform::appraisal::DistrictLevel,
        /// table, csv or json.
        #[arg(long, default_value = "table")]
        format: appraise::Format,
        /// Appraisal rules (weights, bands, suspension rule, `[post.*]` weights); the
        /// tenant file's `[appraisal] rules`, else the built-in defaults, without one.
        #[arg(long)]
        rules: Option<PathBuf>,
    },
    /// Load and validate a tenant file without touching the database.
    Check {
        #[arg(long, env = "CITYGRID_TENANT")]
        tenant: PathBuf,
    },
    /// The unit grid (万米单元网格): check a grid file, or make a synthetic one.
    Grid {
        #[command(subcommand)]
        command: grid::GridCommand,
    },
    /// The address points (地址库): check an address file, or make a synthetic one.
    Address {
        #[command(subcommand)]
        command: address::AddressCommand,
    },
    /// The component inventory (部件库): check or import a census, export the inventory,
    /// or make a synthetic census.
    Components {
        #[command(subcommand)]
        command: components::ComponentsCommand,
    },
}

#[derive(Subcommand)]
enum CityCommand {
    /// Migrate the warehouse and take in the districts' messages until stopped.
    Serve {
        /// Leave the clock to `citygrid simulate`: no escalation rounds, no monthly job and
        /// no photo expiry on the wall clock (the simulator runs them on its own).
        #[arg(long)]
        simulated_clock: bool,
    },
    /// Compare the districts' daily digests with the warehouse (asking for a resync of a
    /// day that differs) and print, per district and day, match or the difference.
    Reconcile {
        /// Only this district (6-digit code).
        #[arg(long)]
        district: Option<String>,
        /// Only this local day (YYYY-MM-DD).
        #[arg(long)]
        day: Option<chrono::NaiveDate>,
    },
    /// Revoke every token and session of a city user: the running exchange refuses them
    /// within `[auth] version_cache_seconds`; they sign in again.
    Revoke {
        #[arg(long)]
        username: String,
    },
    /// Appraise the districts (综合评价, docs/APPRAISAL.md) for a month, quarter or year from
    /// the warehouse (or its archive), each month as it stood at its end, and print the ranking.
    Appraise {
        /// The period: a month (2026-10), a quarter (2026-Q4) or a year (2026), in the
        /// city's time zone.
        #[arg(long = "month", alias = "period")]
        period: citygrid_appraisal::Period,
        /// district (the ranking) or category.
        #[arg(long, default_value = "district")]
        level: citygrid_appraisal::Level,
        /// table, csv or json.
        #[arg(long, default_value = "table")]
        format: appraise::Format,
        /// Appraisal rules (weights, bands, suspension rule); the built-in defaults
        /// without one.
        #[arg(long)]
        rules: Option<PathBuf>,
    },
    /// Keep closed months as Parquet for appraisal (docs/APPRAISAL.md, "Archive"): each
    /// district reconciled past a month's end gets that month's facts written once; a
    /// month already archived is checked against the warehouse.
    Archive {
        /// The months: one month (2026-10), a quarter or a year (each of its closed
        /// months); last month without one.
        #[arg(long = "month", alias = "period")]
        period: Option<citygrid_appraisal::Period>,
    },
    /// The monthly job by hand (docs/MONTHLY.md): with `--month`, that month now, naming
    /// the districts not reconciled past its end; without, every month due in order, as
    /// `city serve` does, waiting for late districts up to `[monthly] grace_hours`. A month
    /// already run is left alone.
    Report {
        #[arg(long)]
        month: Option<citygrid_appraisal::Period>,
        /// Render the month's report without posting or recording anything.
        #[arg(long, requires = "month")]
        dry_run: bool,
        /// Where the city's report files are written, under a folder per month.
        #[arg(long, default_value = "reports")]
        out: std::path::PathBuf,
    },
    /// The bonus/penalty ledger (奖惩台账, docs/LEDGER.md): deposits, monthly penalties
    /// and bonuses, the year-end settlement, reversals, balances, statements, verify.
    Ledger {
        #[command(subcommand)]
        command: ledger::LedgerCommand,
    },
    /// Run the escalation rules once (docs/ESCALATION.md), as `city serve` does on its
    /// schedule: resolve, escalate what is overdue, issue the orders the rules call for.
    Escalate,
    /// The city's supervision orders and where each stands (open ones without --all).
    Orders {
        #[arg(long)]
        district: Option<String>,
        #[arg(long)]
        all: bool,
    },
    /// A city leader's order (领导批示) on one open case of a district.
    Supervise {
        #[arg(long)]
        district: String,
        #[arg(long = "case")]
        case_id: uuid::Uuid,
        /// general, key or listed.
        #[arg(long, default_value = "key", value_parser = parse_level)]
        level: citygrid_schemas::SupervisionLevel,
        #[arg(long)]
        text: String,
        #[arg(long, default_value_t = citygrid_exchange::escalation::orders::INSTRUCTION_HOURS.0)]
        acknowledge_hours: u32,
        #[arg(long, default_value_t = citygrid_exchange::escalation::orders::INSTRUCTION_HOURS.1)]
        due_hours: u32,
    },
    /// Print where each district's stream stands in the warehouse.
    Status,
}

#[derive(Subcommand)]
enum BrokerCommand {
    /// Create (or bring in line) the vhost, the city's and every district's broker user
    /// with their permissions, and declare the exchanges and queues. Safe to repeat.
    Provision {
        /// The city file; its [broker] section names the broker and the admin account.
        #[arg(long, default_value = "tenants/hangzhou/city.toml")]
        city: PathBuf,
    },
}

#[derive(Subcommand)]
enum UserCommand {
    /// Add a user. The password is read from CITYGRID_PASSWORD, never from the command line.
    Add {
        #[arg(long, env = "CITYGRID_TENANT")]
        tenant: PathBuf,
        #[arg(long)]
        username: String,
        /// Display name, e.g. 王建国.
        #[arg(long)]
        name: String,
        /// supervisor, operator, dispatcher, handler, leader or admin; repeat for several.
        #[arg(long = "role", required = true)]
        roles: Vec<String>,
        /// Department code (required for handlers).
        #[arg(long)]
        department: Option<String>,
        #[arg(long, env = "CITYGRID_PASSWORD", hide_env_values = true)]
        password: String,
    },
    /// Set a user's password (read from CITYGRID_PASSWORD): every token and session they
    /// hold is revoked.
    Password {
        #[arg(long, env = "CITYGRID_TENANT")]
        tenant: PathBuf,
        #[arg(long)]
        username: String,
        #[arg(long, env = "CITYGRID_PASSWORD", hide_env_values = true)]
        password: String,
    },
    /// Revoke every token and session of a user (a lost phone, a leaver): a running
    /// instance refuses them within `[auth] version_cache_seconds`; they sign in again.
    Revoke {
        #[arg(long, env = "CITYGRID_TENANT")]
        tenant: PathBuf,
        #[arg(long)]
        username: String,
    },
}

#[derive(Subcommand)]
enum BenchCommand {
    /// N concurrent clients report and file cases over HTTP against a running instance.
    Intake(intake_bench::IntakeArgs),
    /// The reminder timer's sweep on a prepared database (see `ops/bench timer`).
    Timer(timer_bench::TimerArgs),
    /// The outbox relay next to a raw lapin loop (see `ops/bench relay`).
    Relay(relay_bench::RelayArgs),
    /// The city intake end to end next to a raw consume-and-ack loop (see `ops/bench e2e`).
    E2e(e2e_bench::E2eArgs),
    /// Point → cell lookups on the unit grid next to PostGIS (see `ops/bench lookup`).
    Lookup(lookup_bench::LookupArgs),
    /// A year of ten districts appraised with polars over the archive next to SQL
    /// GROUP BY in PostgreSQL (see `ops/bench appraise`).
    Appraise {
        #[command(subcommand)]
        command: appraise_bench::AppraiseCommand,
    },
}

fn load(path: &std::path::Path) -> Result<Arc<Tenant>, String> {
    Tenant::load(path).map(Arc::new).map_err(|e| e.to_string())
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    citygrid_kit::telemetry::init();
    let result = match cli.command {
        Command::District { command } => run_district(command),
        Command::User { command } => run_user(command),
        Command::City { config, command } => city::load(&config).and_then(|c| run_city(c, command)),
        Command::Broker {
            command: BrokerCommand::Provision { city },
        } => city::load(&city)
            .and_then(|c| runtime().and_then(|rt| rt.block_on(city::provision(&c)))),
        Command::Demo(args) => runtime().and_then(|rt| rt.block_on(demo::run(args))),
        Command::Simulate(args) => simulate::run(args),
        Command::Bench {
            command: BenchCommand::Intake(args),
        } => runtime().and_then(|rt| rt.block_on(intake_bench::run(args))),
        Command::Bench {
            command: BenchCommand::Timer(args),
        } => timer_bench::run(args),
        Command::Bench {
            command: BenchCommand::E2e(args),
        } => runtime().and_then(|rt| rt.block_on(e2e_bench::run(args))),
        Command::Bench {
            command: BenchCommand::Relay(args),
        } => runtime().and_then(|rt| rt.block_on(relay_bench::run(args))),
        Command::Bench {
            command: BenchCommand::Lookup(args),
        } => lookup_bench::run(args),
        Command::Bench {
            command:
                BenchCommand::Appraise {
                    command: appraise_bench::AppraiseCommand::Generate(args),
                },
        } => appraise_bench::generate(args),
        Command::Bench {
            command:
                BenchCommand::Appraise {
                    command: appraise_bench::AppraiseCommand::Run(args),
                },
        } => appraise_bench::run(args),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            eprintln!("citygrid: {message}");
            ExitCode::FAILURE
        }
    }
}

/// A supervision level by its interchange name.
fn parse_level(text: &str) -> Result<citygrid_schemas::SupervisionLevel, String> {
    serde_json::from_value(serde_json::Value::String(text.to_owned()))
        .map_err(|_| format!("{text:?}: general, key or listed"))
}

fn run_city(c: citygrid_exchange::config::City, command: CityCommand) -> Result<(), String> {
    match command {
        CityCommand::Serve { simulated_clock } => {
            runtime().and_then(|rt| rt.block_on(city::serve(c, simulated_clock)))
        }
        CityCommand::Reconcile { district, day } => {
            city::print_reconcile(c, district.as_deref(), day)
        }
        CityCommand::Appraise {
            period,
            level,
            format,
            rules,
        } => city::print_appraisal(&c, period, level, format, rules.as_deref()),
        CityCommand::Archive { period } => {
            let period = period.unwrap_or_else(|| city::last_month(&c));
            let now = chrono::Utc::now();
            let closed: Vec<_> = period
                .months()
                .into_iter()
                .filter(|m| m.bounds(c.time_zone).1 <= now)
                .collect();
            if closed.is_empty() {
                return Err(format!(
                    "{period} has no month that has ended: nothing to archive"
                ));
            }
            city::archive(&c, &closed)
        }
        CityCommand::Escalate => escalate::escalate(&c),
        CityCommand::Orders { district, all } => escalate::list(&c, district.as_deref(), all),
        CityCommand::Supervise {
            district,
            case_id,
            level,
            text,
            acknowledge_hours,
            due_hours,
        } => escalate::supervise(
            &c,
            &district,
            case_id,
            level,
            &text,
            (acknowledge_hours, due_hours),
        ),
        CityCommand::Ledger { command } => ledger::run(&c, command),
        CityCommand::Report {
            month,
            dry_run,
            out,
        } => city::report(&c, month, dry_run, &out),
        CityCommand::Status => city::print_status(&c),
        CityCommand::Revoke { username } => city::revoke(&c, &username),
    }
}

fn runtime() -> Result<tokio::runtime::Runtime, String> {
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(|e| format!("cannot start the async runtime: {e}"))
}

fn run_district(command: DistrictCommand) -> Result<(), String> {
    match command {
        DistrictCommand::Grid { command } => grid::run(command),
        DistrictCommand::Address { command } => address::run(command),
        DistrictCommand::Components { command } => components::run(command),
        DistrictCommand::Appraise {
            tenant,
            period,
            level,
            format,
            rules,
        } => {
            let t = load(&tenant)?;
            appraise::district(&t, period, level, format, rules.as_deref())
        }
        DistrictCommand::Check { tenant } => {
            let t = load(&tenant)?;
            println!(
                "{}: district {} {} — {} streets, {} departments, {} seed users, catalogue {} ({} categories)",
                tenant.display(),
                t.code(),
                t.config.district.name,
                t.config.streets.len(),
                t.config.departments.len(),
                t.config.users.len(),
                t.catalogue.version,
                t.catalogue.categories.len()
            );
            if t.config.demo {
                println!(
                    "  DEMO deployment (demo = true): the repository's public keys and passwords are accepted; never serve real users from it"
                );
            }
            // The same refusals as `serve`: a grid it may not serve, no holidays this year.
            if let Some(report) = t.check_grid().map_err(|e| e.to_string())? {
                println!(
                    "  grid: {} cells in {} streets, {} communities, {:.2} km²{}",
                    report.cells,
                    report.streets,
                    report.communities,
                    report.area_m2 / 1e6,
                    if report.problems.is_empty() {
                        String::new()
                    } else {
                        format!(" ({} accepted problem(s))", report.problems.len())
                    }
                );
            }
            if let Some(addresses) = &t.addresses {
                println!(
                    "  addresses: {} points on {} roads",
                    addresses.len(),
                    addresses.roads()
                );
            }
            if let Some(file) = citygrid_platform::component::sample_file(&t) {
                let census = citygrid_platform::component::read_file(&t, &file)
                    .map_err(|e| e.to_string())?;
                if let Some(first) = census.findings.first() {
                    return Err(format!(
                        "{}: {} bad row(s), e.g. {}; `citygrid district components check` lists them",
                        file.display(),
                        census.findings.len(),
                        first.message
                    ));
                }
                println!("  components: {} in the census", census.rows.len());
            }
            let coverage = t
                .check_calendar(chrono::Utc::now())
                .map_err(|e| e.to_string())?;
            println!(
                "  holidays: {} — covered until {}{}",
                t.calendar
                    .years()
                    .map(|y| y.to_string())
                    .collect::<Vec<_>>()
                    .join(", "),
                coverage
                    .covers_until
                    .map_or_else(|| "-".to_owned(), |d| d.to_string()),
                coverage
                    .warning
                    .map_or_else(String::new, |w| format!("\n  warning: {w}"))
            );
            Ok(())
        }
        DistrictCommand::Digest { tenant, day } => {
            let t = load(&tenant)?;
            let pool = db::pool(&t.config.database).map_err(|e| e.to_string())?;
            app::prepare(&t, &pool).map_err(|e| e.to_string())?;
            let mut conn = pool.get().map_err(|e| e.to_string())?;
            let day =
                day.unwrap_or_else(|| chrono::Utc::now().with_timezone(&t.time_zone).date_naive());
            let digest = uplink::digest::publish_day(&mut conn, t.code(), t.time_zone, day)
                .map_err(|e| e.to_string())?;
            println!(
                "district {} digest of {}: {} cases, sha256 {}, as of seq {} (queued for the city)",
                t.code(),
                digest.day,
                digest.cases,
                digest.sha256,
                digest.up_to_seq
            );
            Ok(())
        }
        DistrictCommand::Migrate { tenant } => {
            let t = load(&tenant)?;
            let pool = db::pool(&t.config.database).map_err(|e| e.to_string())?;
            let (migrated, seeded) = app::prepare(&t, &pool).map_err(|e| e.to_string())?;
            println!(
                "district {}: {migrated} migration(s) applied, {seeded} seed user(s) created",
                t.code()
            );
            Ok(())
        }
        DistrictCommand::Serve {
            tenant,
            workers,
            timer_seconds,
            simulated_clock,
        } => {
            let t = load(&tenant)?;
            if t.config.demo {
                citygrid_kit::config::warn_demo(&tenant.display().to_string(), "district instance");
            }
            // No start without the current year's holidays: every working-time deadline
            // would be refused (the warning before the year turns is `watch_calendar`'s).
            t.check_calendar(chrono::Utc::now())
                .map_err(|e| e.to_string())?;
            // Nor with a grid that would put cases in the wrong cell or none.
            if let Some(report) = t.check_grid().map_err(|e| e.to_string())? {
                tracing::info!(
                    district = t.code(),
                    cells = report.cells,
                    streets = report.streets,
                    communities = report.communities,
                    "unit grid checked"
                );
                for problem in &report.problems {
                    tracing::warn!(district = t.code(), kind = ?problem.kind, cells = ?problem.cells, "accepted grid problem: {}", problem.message);
                }
            }
            let pool = db::pool(&t.config.database).map_err(|e| e.to_string())?;
            let (migrated, seeded) = app::prepare(&t, &pool).map_err(|e| e.to_string())?;
            let listener = TcpListener::bind(&t.config.http.bind).map_err(|e| {
                format!(
                    "cannot listen on {} ({}: http.bind): {e}",
                    t.config.http.bind,
                    tenant.display()
                )
            })?;
            tracing::info!(district = t.code(), bind = %t.config.http.bind, migrated, seeded, "district instance starting");
            let timer_pool = pool.clone();
            let channels = reminder::Channels::from_tenant(&t);
            let (digest_pool, digest_district, digest_zone) =
                (pool.clone(), t.code().to_owned(), t.time_zone);
            let calendar_tenant = t.clone();
            let orphan_age = t.config.limits.orphan_media_age();
            let state = app::AppState::new(t, pool);
            let (expiry_pool, expiry_store) = (state.pool.clone(), state.media.clone());
            let arrival = if simulated_clock {
                uplink::relay::Arrival::Stamped
            } else {
                uplink::relay::Arrival::Wall
            };
            let relay = uplink::relay::Relay::new(
                &state.tenant,
                state.pool.clone(),
                state.media.clone(),
                state.uplink.clone(),
            )
            .map(|relay| relay.arriving(arrival));
            if relay.is_none() {
                tracing::warn!(
                    "no [exchange] section: changes stay in the outbox, nothing goes to the city"
                );
            }
            actix_web::rt::System::new()
                .block_on(async move {
                    let period = std::time::Duration::from_secs(timer_seconds.max(1));
                    actix_web::rt::spawn(app::watch_calendar(calendar_tenant));
                    if !simulated_clock {
                        actix_web::rt::spawn(reminder::run_timer(timer_pool, channels, period));
                    }
                    actix_web::rt::spawn(media::run_expiry(
                        expiry_pool,
                        expiry_store,
                        orphan_age,
                        std::time::Duration::from_secs(60 * 60),
                    ));
                    if let Some(relay) = relay {
                        actix_web::rt::spawn(relay.run());
                        if !simulated_clock {
                            actix_web::rt::spawn(uplink::digest::run_daily(
                                digest_pool,
                                digest_district,
                                digest_zone,
                            ));
                        }
                    }
                    app::server(state, listener, workers)?
                        .await
                        .map_err(Into::into)
                })
                .map_err(|e: citygrid_platform::Error| e.to_string())
        }
    }
}

fn run_user(command: UserCommand) -> Result<(), String> {
    let (tenant, username, name, roles, department, password) = match command {
        UserCommand::Add {
            tenant,
            username,
            name,
            roles,
            department,
            password,
        } => (tenant, username, name, roles, department, password),
        UserCommand::Password {
            tenant,
            username,
            password,
        } => {
            let t = load(&tenant)?;
            let mut conn = user_database(&t)?;
            let changed =
                user::set_password(&mut conn, &username, &password).map_err(|e| e.to_string())?;
            println!(
                "district {}: password of {} changed; every token and session of theirs is revoked (token version {})",
                t.code(),
                changed.username,
                changed.token_version
            );
            return Ok(());
        }
        UserCommand::Revoke { tenant, username } => {
            let t = load(&tenant)?;
            let mut conn = user_database(&t)?;
            let revoked = user::revoke_tokens(&mut conn, &username).map_err(|e| e.to_string())?;
            println!(
                "district {}: every token and session of {} revoked (token version {}); a running instance refuses them within {} s",
                t.code(),
                revoked.username,
                revoked.token_version,
                t.config.auth.version_cache_seconds
            );
            return Ok(());
        }
    };
    let t = load(&tenant)?;
    let roles = roles
        .iter()
        .map(|r| Role::parse(r).ok_or_else(|| format!("unknown role {r:?}: use supervisor, operator, dispatcher, handler, leader or admin")))
        .collect::<Result<Vec<_>, _>>()?;
    let mut conn = user_database(&t)?;
    let spec = user::NewUserSpec {
        username,
        display_name: name,
        password,
        roles,
        department,
    };
    let created = user::add(&mut conn, &t, &spec).map_err(|e| e.to_string())?;
    println!(
        "district {}: user {} created ({})",
        t.code(),
        created.username,
        created
            .roles
            .iter()
            .map(|r| r.as_str())
            .collect::<Vec<_>>()
            .join(", ")
    );
    Ok(())
}

/// The district's database, migrated, for the user commands.
fn user_database(t: &Tenant) -> Result<db::DbConn, String> {
    let pool = db::pool(&t.config.database).map_err(|e| e.to_string())?;
    app::prepare(t, &pool).map_err(|e| e.to_string())?;
    pool.get().map_err(|e| e.to_string())
}
