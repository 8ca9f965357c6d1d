//! `citygrid simulate`, the demo's months on a simulated clock, against a district
//! instance and the city exchange started with `--simulated-clock`.

use chrono::{Datelike, Duration, NaiveDate, Utc};
use citygrid_e2e::{World, eventually};
use diesel::prelude::*;
use diesel::sql_types::BigInt;

fn count(url: &str, sql: &str) -> i64 {
    let mut conn = PgConnection::establish(url).expect("database");
    diesel::select(diesel::dsl::sql::<BigInt>(&format!("({sql})")))
        .get_result(&mut conn)
        .unwrap_or_else(|e| panic!("{sql}: {e}"))
}

/// A few simulated days across the end of last month: the month's job runs on the
/// simulated 1st, its report reaches the district, everything is dated on the simulated
/// clock, and a second run adds nothing.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_simulated_month_end_publishes_its_report_and_a_second_run_adds_nothing() {
    let mut world = World::with_districts(&["330102"])
        .await
        .on_simulated_clock();
    let district = world.district("330102").await;
    let city = world.city().await;
    let zone = chrono_tz::Asia::Shanghai;
    let today = Utc::now().with_timezone(&zone).date_naive();
    let first = NaiveDate::from_ymd_opt(today.year(), today.month(), 1).unwrap();
    let from = first - Duration::days(4);
    let last_month = format!("{}", (first - Duration::days(1)).format("%Y-%m"));

    let out = world.simulate(
        &city,
        &district,
        &["--from", &from.to_string(), "--per-day", "12"],
    );
    assert!(out.contains(&format!("{last_month}: appraised")), "{out}");
    assert!(out.contains("report published"), "{out}");

    let (warehouse, own) = (&city.warehouse_url, &district.database_url);
    assert_eq!(
        count(
            warehouse,
            &format!("SELECT count(*) FROM monthly_runs WHERE month = '{last_month}'")
        ),
        1
    );
    assert_eq!(count(warehouse, "SELECT count(*) FROM monthly_runs"), 1);
    assert_eq!(
        count(
            warehouse,
            &format!(
                "SELECT count(DISTINCT scope) FROM monthly_reports WHERE month = '{last_month}'"
            )
        ),
        2,
        "the city's report and the district's section"
    );
    let cases = count(own, "SELECT count(*) FROM cases");
    assert!(
        cases > 20,
        "{cases} cases in {} days",
        (today - from).num_days()
    );
    assert_eq!(
        count(warehouse, "SELECT count(*) FROM cases"),
        cases,
        "the city holds every case"
    );
    assert!(count(own, "SELECT count(*) FROM cases WHERE state = 'closed'") > 0);
    assert!(
        count(own, "SELECT count(*) FROM cases WHERE source = 'city'") > 0,
        "city-found problems"
    );
    // Nothing is dated on the wall clock: every step, and what the city sent, is on the
    // simulated one, before today.
    let midnight = format!("'{today} 00:00:00+08'");
    assert_eq!(
        count(
            own,
            &format!("SELECT count(*) FROM case_records WHERE at >= {midnight}")
        ),
        0
    );
    assert_eq!(
        count(
            own,
            &format!("SELECT count(*) FROM cases WHERE created_at >= {midnight}")
        ),
        0
    );
    eventually("the district keeps its section", 30, || async {
        match count(
            own,
            &format!("SELECT count(*) FROM city_reports WHERE month = '{last_month}'"),
        ) {
            1 => Ok(()),
            n => Err(format!("{n} report notices")),
        }
    })
    .await;

    let again = world.simulate(
        &city,
        &district,
        &["--from", &from.to_string(), "--per-day", "12"],
    );
    assert!(again.contains("nothing to do"), "{again}");
    assert_eq!(count(own, "SELECT count(*) FROM cases"), cases);
    assert_eq!(count(warehouse, "SELECT count(*) FROM monthly_runs"), 1);
}
