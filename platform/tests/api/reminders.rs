//! Reminders: arrival on dispatch, one urge when yellow, one overdue when red — exactly
//! once per case and stage, across restarts and downtime.

use chrono::{DateTime, Duration, Utc};
use citygrid_platform::reminder::{self, Sweep};
use serde_json::{Value, json};

use crate::helpers::TestApp;

fn instant(case: &Value, field: &str) -> DateTime<Utc> {
    case[field]
        .as_str()
        .expect(field)
        .parse()
        .expect("RFC 3339")
}

/// One timer tick as if the clock read `now`.
fn tick(app: &TestApp, now: DateTime<Utc>) -> Sweep {
    tokio::task::block_in_place(|| {
        let mut conn = app.pool.get().expect("conn");
        reminder::tick(&mut conn, now).expect("tick").0
    })
}

async fn kinds(app: &TestApp, case: &Value) -> Vec<(String, bool)> {
    let detail = app.detail(case).await;
    detail["notifications"]
        .as_array()
        .expect("notifications")
        .iter()
        .map(|n| {
            (
                n["kind"].as_str().unwrap_or("").to_owned(),
                n["sent_at"].is_string(),
            )
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_urge_and_one_overdue_even_across_a_restart() {
    let app = TestApp::spawn().await;
    let case = app.dispatched_case("huanwei").await;
    let (yellow, red) = (
        instant(&case, "stage_yellow_at"),
        instant(&case, "stage_deadline"),
    );
    assert_eq!(
        kinds(&app, &case).await,
        [("arrival".to_owned(), false)],
        "arrival written with the dispatch"
    );

    // Reminders from the filing and dispatch stages were superseded before they were due.
    let quiet = tick(&app, yellow - Duration::minutes(1));
    assert_eq!((quiet.urges, quiet.overdues), (0, 0));
    let first = tick(&app, yellow + Duration::seconds(1));
    assert_eq!((first.urges, first.overdues), (1, 0));
    assert_eq!(
        tick(&app, yellow + Duration::minutes(5)),
        Sweep::default(),
        "no second urge"
    );

    // The instance restarts (same database); time passes the deadline.
    let restarted = app.restarted_with(|_| {}).await;
    let later = tick(&restarted, red + Duration::minutes(1));
    assert_eq!((later.urges, later.overdues), (0, 1));
    assert_eq!(
        tick(&restarted, red + Duration::hours(2)),
        Sweep::default(),
        "no second overdue"
    );
    assert_eq!(
        kinds(&restarted, &case).await,
        [
            ("arrival".to_owned(), true),
            ("urge".to_owned(), true),
            ("overdue".to_owned(), true)
        ],
        "each written once and delivered"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn downtime_is_caught_up_and_a_suspension_silences_the_timer() {
    let app = TestApp::spawn().await;
    let late = app.dispatched_case("huanwei").await;
    let red = instant(&late, "stage_deadline");

    // The instance was down through yellow and red: the first tick sends the overdue only.
    let (hw, disp) = (
        app.login("sc-hdl-huanwei").await,
        app.login("sc-disp1").await,
    );
    let paused = app.dispatched_case("huanwei").await;
    let paused = app
        .ok_step(
            &hw,
            &paused,
            "suspension/request",
            json!({ "reason": "等预算" }),
        )
        .await;
    app.ok_step(&disp, &paused, "suspension/approve", json!({}))
        .await;

    let caught_up = tick(&app, red + Duration::days(3));
    assert_eq!((caught_up.urges, caught_up.overdues), (0, 1));
    let kinds_late: Vec<String> = kinds(&app, &late)
        .await
        .into_iter()
        .map(|(k, _)| k)
        .collect();
    assert_eq!(kinds_late, ["arrival", "overdue"]);
    let kinds_paused: Vec<String> = kinds(&app, &paused)
        .await
        .into_iter()
        .map(|(k, _)| k)
        .collect();
    assert_eq!(
        kinds_paused,
        ["arrival"],
        "a suspended case's clock stands still"
    );
}
