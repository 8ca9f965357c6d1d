//! The city's commands: `citygrid broker provision` and `citygrid city serve`.

use citygrid_exchange::config::City;
use citygrid_kit::broker::{self, Account, Admin};
use lapin::{Connection, ConnectionProperties};
use secrecy::{ExposeSecret, SecretString};

/// Loads the city file (the only file the city reads).
pub fn load(path: &std::path::Path) -> Result<City, String> {
    City::load(path).map_err(|e| e.to_string())
}

/// `citygrid broker provision`: the vhost, the users and their permissions through the
/// management API, then the topology declared over AMQP as the city's user. Idempotent.
pub async fn provision(city: &City) -> Result<(), String> {
    let broker = &city.file.broker;
    let admin = Admin::new(
        &broker.management,
        &broker.admin_user,
        broker.admin_password.expose_secret(),
    );
    let mut districts = Vec::new();
    for district in city.registry.iter() {
        // One variable per district: the password the city's broker issues to it.
        let variable = format!("CITYGRID_AMQP_PASSWORD_{}", district.code);
        let password = match std::env::var(&variable) {
            Ok(password) => SecretString::from(password),
            Err(_) => district.broker_password.clone().ok_or_else(|| {
                format!(
                    "district {}: set {variable} (or broker_password in its registry entry) to create its broker user",
                    district.code
                )
            })?,
        };
        let account = Account {
            user: district.broker_user.clone(),
            password,
        };
        districts.push((district.code.clone(), account));
    }
    broker::provision(&admin, &broker.vhost, &city.city_account(), &districts)
        .await
        .map_err(|e| e.to_string())?;
    let uri = broker::amqp_uri(&broker.amqp, &city.city_account(), &broker.vhost);
    let connection = Connection::connect(uri.expose_secret(), ConnectionProperties::default())
        .await
        .map_err(|e| format!("connecting as {}: {e}", broker.city_user))?;
    let channel = connection
        .create_channel()
        .await
        .map_err(|e| e.to_string())?;
    let codes: Vec<String> = districts.iter().map(|(code, _)| code.clone()).collect();
    broker::declare(&channel, &codes)
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

/// `citygrid city serve`: migrates the warehouse, serves the city API and runs the intake.
/// With `simulated_clock`, only the API and the intake run: `citygrid simulate` runs
/// escalation and the monthly job on its own clock.
pub async fn serve(city: City, simulated_clock: bool) -> Result<(), String> {
    if city.file.demo {
        citygrid_kit::config::warn_demo(
            &format!("the city file of {}", city.file.city.name),
            "city exchange",
        );
    }
    let pool = citygrid_kit::db::pool(&city.file.warehouse).map_err(|e| e.to_string())?;
    let bind = city.file.http.bind.clone();
    let listener = std::net::TcpListener::bind(&bind)
        .map_err(|e| format!("cannot listen on {bind} (city file: http.bind): {e}"))?;
    let server =
        citygrid_exchange::api::server(pool.clone(), &city, listener).map_err(|e| e.to_string())?;
    let prepared = {
        let pool = pool.clone();
        let (name, districts) = (city.file.city.name.clone(), city.registry.len());
        tokio::task::spawn_blocking(move || {
            citygrid_exchange::prepare(&pool, &city).map(|migrated| (city, migrated))
        })
        .await
        .map_err(|e| e.to_string())?
        .map_err(|e| e.to_string())
        .map(|(city, migrated)| {
            tracing::info!(city = %name, districts, migrated, bind = %bind, "city exchange starting");
            std::sync::Arc::new(city)
        })?
    };
    // The HTTP server owns SIGINT/SIGTERM: when it has stopped, the intake stops with it
    // (unacknowledged deliveries go back to the queue), and the process exits.
    // Escalation runs beside them on its own schedule (`[escalation] every_seconds`).
    // So does the monthly job (`[monthly] cron`, docs/MONTHLY.md), catching up at start,
    // and the daily expiry of photos city supervisors uploaded for no problem.
    let clocked = {
        let (pool, prepared) = (pool.clone(), prepared.clone());
        async move {
            if simulated_clock {
                return std::future::pending().await;
            }
            let escalation = std::sync::Arc::new(prepared.file.escalation.clone());
            tokio::join!(
                citygrid_exchange::escalation::schedule(pool.clone(), escalation),
                citygrid_exchange::monthly::Schedule::of(prepared.clone()).run(pool.clone()),
                citygrid_exchange::problems::expire_daily(pool, prepared.time_zone),
            );
        }
    };
    tokio::select! {
        stopped = server => stopped.map_err(|e| e.to_string())?,
        () = clocked => {}
        () = citygrid_exchange::intake(pool, &prepared).run() => {}
    }
    tracing::info!("city exchange stopped");
    Ok(())
}

/// `citygrid city appraise`: the appraisal of a period on standard output.
pub fn print_appraisal(
    city: &City,
    period: citygrid_appraisal::Period,
    level: citygrid_appraisal::Level,
    format: crate::appraise::Format,
    rules: Option<&std::path::Path>,
) -> Result<(), String> {
    let config = match rules {
        None => city.appraisal.clone(),
        Some(path) => std::fs::read_to_string(path)
            .map_err(|e| e.to_string())
            .and_then(|text| citygrid_appraisal::post::Rules::parse(&text).map(|r| r.config))
            .map_err(|e| format!("{}: {e}", path.display()))?,
    };
    let pool = citygrid_kit::db::pool(&city.file.warehouse).map_err(|e| e.to_string())?;
    let mut conn = pool.get().map_err(|e| e.to_string())?;
    let appraiser = citygrid_exchange::appraisal::Appraiser {
        config: &config,
        ..city.appraiser()
    };
    let appraisal = appraiser
        .appraise(&mut conn, period, level, chrono::Utc::now())
        .map_err(|e| e.to_string())?;
    crate::appraise::print(&citygrid_appraisal::Report::Units(appraisal), format)
}

/// The month before this one in the city's time zone.
pub fn last_month(city: &City) -> citygrid_appraisal::Period {
    citygrid_exchange::monthly::just_ended(chrono::Utc::now(), city.time_zone)
}

/// `citygrid city report`: the monthly job by hand, a line per month tried; the city's
/// report files of each month run (or already run) are written under `out/<month>/`
/// (`out/<month>-dry-run/` for a dry run).
pub fn report(
    city: &City,
    month: Option<citygrid_appraisal::Period>,
    dry_run: bool,
    out: &std::path::Path,
) -> Result<(), String> {
    use citygrid_exchange::monthly::{self, Mode, Ran};
    use citygrid_exchange::report::store;
    let mut conn = crate::ledger::connect(city)?;
    let (job, now) = (city.monthly_job(), chrono::Utc::now());
    let mode = if dry_run { Mode::DryRun } else { Mode::Commit };
    let tried = match month {
        Some(month) => {
            let grace = chrono::Duration::zero();
            let ran = monthly::run_month(&mut conn, &job, month, grace, now, mode);
            vec![(month, ran.map_err(|e| e.to_string())?)]
        }
        None => monthly::catch_up(&mut conn, &job, now).map_err(|e| e.to_string())?,
    };
    if tried.is_empty() {
        println!("no month is due: the newest has run");
    }
    let verb = if dry_run {
        "rendered (dry run, nothing kept)"
    } else {
        "run"
    };
    for (month, ran) in tried {
        let (folder, files) = match ran {
            Ran::Done {
                posted,
                incomplete,
                files,
            } => {
                let without = if incomplete.is_empty() {
                    String::new()
                } else {
                    format!(
                        ", without {} (not reconciled past the month's end)",
                        incomplete.join(", ")
                    )
                };
                println!("{month} {verb}: {posted} ledger posting(s){without}");
                let folder = if dry_run {
                    format!("{month}-dry-run")
                } else {
                    month.to_string()
                };
                (folder, files)
            }
            Ran::Already => {
                println!("{month} had run before: nothing done");
                let files = store::files(&mut conn, &month.to_string(), store::CITY)
                    .map_err(|e| e.to_string())?;
                (month.to_string(), files)
            }
            Ran::Waiting { incomplete, until } => {
                println!(
                    "{month} waits for {} to reconcile, until {until} (then it runs without them)",
                    incomplete.join(", ")
                );
                continue;
            }
        };
        let dir = out.join(folder);
        std::fs::create_dir_all(&dir).map_err(|e| format!("{}: {e}", dir.display()))?;
        for file in &files {
            let path = dir.join(&file.name);
            std::fs::write(&path, &file.bytes).map_err(|e| format!("{}: {e}", path.display()))?;
        }
        println!("  {} file(s) in {}", files.len(), dir.display());
    }
    Ok(())
}

/// `citygrid city archive`: writes closed months to the Parquet archive, a line per
/// district saying what happened.
pub fn archive(city: &City, months: &[citygrid_appraisal::Period]) -> Result<(), String> {
    use citygrid_exchange::appraisal::Archived;
    let pool = citygrid_kit::db::pool(&city.file.warehouse).map_err(|e| e.to_string())?;
    let mut conn = pool.get().map_err(|e| e.to_string())?;
    let appraiser = city.appraiser();
    for &month in months {
        let outcomes = appraiser
            .archive_month(&mut conn, month, chrono::Utc::now())
            .map_err(|e| e.to_string())?;
        for outcome in outcomes {
            match outcome {
                Archived::Written(p) => {
                    println!(
                        "{month} {} written: {} cases, digest {}",
                        p.district, p.rows, p.digest
                    )
                }
                Archived::Unchanged(p) => {
                    println!(
                        "{month} {} unchanged: {} cases, digest {}",
                        p.district, p.rows, p.digest
                    )
                }
                Archived::Rewritten { old, new } => println!(
                    "{month} {} REWRITTEN: the warehouse changed since it was archived (digest {old} → {}), {} cases",
                    new.district, new.digest, new.rows
                ),
                Archived::Incomplete(code) => println!(
                    "{month} {code} skipped: its stream is not reconciled past the month's end; run again later"
                ),
            }
        }
    }
    Ok(())
}

/// `citygrid city status`: one line per district from the warehouse.
pub fn print_status(city: &City) -> Result<(), String> {
    let pool = citygrid_kit::db::pool(&city.file.warehouse).map_err(|e| e.to_string())?;
    let mut conn = pool.get().map_err(|e| e.to_string())?;
    let rows = citygrid_exchange::warehouse::status(&mut conn).map_err(|e| e.to_string())?;
    println!(
        "{} {} exchange — warehouse {}",
        city.file.city.code,
        city.file.city.name,
        city.file.warehouse.display_url()
    );
    for r in rows {
        println!(
            "  {} {:<6} stream applied to seq {}{}; {} cases, {} records, {} photos verified{}; {} rejection(s); lag {}; last digest {}",
            r.district,
            r.name,
            r.last_contiguous_seq,
            if r.waiting > 0 {
                format!(" ({} waiting behind a gap)", r.waiting)
            } else {
                String::new()
            },
            r.cases,
            r.records,
            r.media_verified,
            if r.media_unrepaired > 0 {
                format!(
                    " ({} UNREPAIRED: bytes never matched, no longer asked for)",
                    r.media_unrepaired
                )
            } else {
                String::new()
            },
            r.rejections,
            r.lag_seconds
                .map_or_else(|| "-".to_owned(), |l| format!("{l:.2} s")),
            match (r.last_digest_day, r.last_digest_matches) {
                (Some(day), Some(true)) => format!("{day} matches"),
                (Some(day), _) => format!("{day} DIFFERS"),
                _ => "none yet".to_owned(),
            }
        );
    }
    Ok(())
}

/// `citygrid city reconcile`.
pub fn print_reconcile(
    city: City,
    district: Option<&str>,
    day: Option<chrono::NaiveDate>,
) -> Result<(), String> {
    let pool = citygrid_kit::db::pool(&city.file.warehouse).map_err(|e| e.to_string())?;
    let mut conn = pool.get().map_err(|e| e.to_string())?;
    let outcomes =
        citygrid_exchange::reconcile::reconcile(&mut conn, &city.registry, district, day, true)
            .map_err(|e| e.to_string())?;
    if outcomes.is_empty() {
        println!(
            "no digests received yet (districts send yesterday's after midnight; `citygrid district digest` sends one now)"
        );
    }
    for o in outcomes {
        let verdict = match (o.matches, o.city_cases) {
            (Some(true), _) => format!("match ({} cases)", o.district_cases),
            (Some(false), Some(city)) => format!(
                "DIFFERS: the district has {} cases, the warehouse {city} (or other versions); resync requested",
                o.district_cases
            ),
            _ => format!(
                "not comparable yet: the warehouse has not reached seq {}",
                o.up_to_seq
            ),
        };
        println!("  {} {}: {verdict}", o.district, o.day);
    }
    Ok(())
}

/// `citygrid city revoke`: every token and session of a city user.
pub fn revoke(city: &City, username: &str) -> Result<(), String> {
    let pool = citygrid_kit::db::pool(&city.file.warehouse).map_err(|e| e.to_string())?;
    let mut conn = pool.get().map_err(|e| e.to_string())?;
    citygrid_kit::db::migrate(&mut conn, citygrid_exchange::MIGRATIONS)
        .map_err(|e| e.to_string())?;
    let user =
        citygrid_exchange::users::revoke_tokens(&mut conn, username).map_err(|e| e.to_string())?;
    println!(
        "city {}: every token and session of {} revoked (token version {}); the running exchange refuses them within {} s",
        city.file.city.code,
        user.username,
        user.token_version,
        city.file.auth.version_cache_seconds
    );
    Ok(())
}
