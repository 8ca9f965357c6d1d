//! A working-time deadline in a year without a holiday file is refused, loudly: 503
//! `calendar_not_covered` naming the year and the file, nothing changed — never a plain
//! weekday count. `/healthz` shows how far the files reach.

use chrono::{Datelike, TimeZone, Utc};
use citygrid_platform::calendar::{UnpublishedYear, WorkCalendar};
use diesel::prelude::*;
use serde_json::{Value, json};

use crate::helpers::{LAT, LON, TestApp, error_code};

/// The sample's 2025 file only: the current year (2026 or later) is not covered.
fn calendar_of_2025_only(time_zone: chrono_tz::Tz) -> WorkCalendar {
    let mut calendar =
        WorkCalendar::new(time_zone, WorkCalendar::default_periods()).expect("calendar");
    let file =
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../tenants/calendars/cn-2025.toml");
    calendar.load_year(&file).expect("2025");
    calendar
}

fn assert_not_covered(status: u16, body: &Value, year: i32) {
    assert_eq!(
        (status, error_code(body)),
        (503, "calendar_not_covered"),
        "{body}"
    );
    let message = body["error"]["message"].as_str().expect("message");
    assert!(
        message.contains(&format!("cn-{year}.toml"))
            && message.contains(&year.to_string())
            && message.contains("Nothing was changed"),
        "{message}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_report_is_refused_when_the_current_year_has_no_holiday_file() {
    let app = TestApp::spawn_with(|t| t.calendar = calendar_of_2025_only(t.time_zone)).await;
    let year = app.tenant.calendar.local_date(Utc::now()).year();

    let (status, body) = app
        .post(
            "/api/v1/cases",
            None,
            json!({ "description": "井盖破损", "lon": LON, "lat": LAT }),
        )
        .await;
    assert_not_covered(status, &body, year);
    let lead = app.login("sc-lead1").await;
    let (_, page) = app.get("/api/v1/cases", &lead).await;
    assert_eq!(page["items"].as_array().map(Vec::len), Some(0), "no case");

    // The instance says so where monitoring looks, and stays ready (reads still work).
    let (status, health) = app.get("/readyz", &lead).await;
    assert_eq!(status, 200, "{health}");
    let calendar = &health["calendar"];
    assert_eq!(
        (
            calendar["alarm"].as_bool(),
            calendar["covers_until"].is_null(),
            calendar["missing_file"].as_str()
        ),
        (Some(true), true, Some(format!("cn-{year}.toml").as_str())),
        "{health}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_extension_into_an_uncovered_year_is_refused_and_the_request_stays() {
    // As a real district: the demo sample would count the unpublished year as weekdays.
    let app =
        TestApp::spawn_with(|t| t.calendar.set_unpublished_year(UnpublishedYear::Refuse)).await;
    let (hw, disp) = (
        app.login("sc-hdl-huanwei").await,
        app.login("sc-disp1").await,
    );
    let last = app
        .tenant
        .calendar
        .years()
        .next_back()
        .expect("a covered year");
    let (_, health) = app.get("/healthz", &disp).await;
    assert_eq!(
        health["calendar"]["covers_until"].as_str(),
        Some(format!("{last}-12-31").as_str()),
        "{health}"
    );

    let case = app.dispatched_case("huanwei").await;
    let case = app
        .ok_step(
            &hw,
            &case,
            "extension/request",
            json!({ "minutes": 600, "reason": "等配件" }),
        )
        .await;
    // The handling stage now runs out at 16:00 on the last covered day.
    let deadline = app
        .tenant
        .time_zone
        .with_ymd_and_hms(last, 12, 31, 16, 0, 0)
        .single()
        .expect("local time")
        .with_timezone(&Utc);
    {
        let mut conn = app.pool.get().expect("conn");
        diesel::sql_query(format!(
            "UPDATE cases SET stage_yellow_at = '{}', stage_deadline = '{}' WHERE id = '{}'",
            (deadline - chrono::Duration::hours(1)).to_rfc3339(),
            deadline.to_rfc3339(),
            case["id"].as_str().expect("id")
        ))
        .execute(&mut conn)
        .expect("move the deadline");
    }

    // 600 working minutes from then run into the next year, which has no file.
    let (status, body) = app.step(&disp, &case, "extension/approve", json!({})).await;
    assert_not_covered(status, &body, last + 1);
    let detail = app.detail(&case).await;
    assert_eq!(
        (
            detail["case"]["version"].as_i64(),
            detail["case"]["pending_request"].as_str(),
            detail["case"]["extension_minutes"].as_i64(),
        ),
        (case["version"].as_i64(), Some("extension"), Some(0)),
        "nothing changed: the request still waits"
    );

    // A grant that ends within the covered year goes through.
    let case = app
        .ok_step(&disp, &case, "extension/approve", json!({ "minutes": 30 }))
        .await;
    assert_eq!(
        case["stage_deadline"]
            .as_str()
            .and_then(|d| chrono::DateTime::parse_from_rfc3339(d).ok()),
        Some((deadline + chrono::Duration::minutes(30)).fixed_offset())
    );
}
