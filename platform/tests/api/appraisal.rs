//! The district's appraisal (`GET /api/v1/appraisal`, docs/APPRAISAL.md): cases driven
//! through the API, appraised as their users would read it; a closed period as it stood
//! at its end, whatever happens after; who may see which rows.

use chrono::{Datelike, Duration, NaiveDate, TimeZone, Utc};
use citygrid_platform::schema::case_history;
use citygrid_schemas::CaseSnapshot;
use diesel::prelude::*;
use serde_json::{Value, json};

use crate::helpers::{TestApp, error_code};

/// The running month in the district's zone, e.g. `2026-12`.
fn this_month(app: &TestApp) -> String {
    Utc::now()
        .with_timezone(&app.tenant.time_zone)
        .format("%Y-%m")
        .to_string()
}

async fn appraisal(app: &TestApp, token: &str, query: &str) -> (u16, Value) {
    app.get(&format!("/api/v1/appraisal?{query}"), token).await
}

/// The unit `key` of a unit-level answer.
fn unit<'a>(body: &'a Value, key: &str) -> &'a Value {
    body["units"]
        .as_array()
        .expect("units")
        .iter()
        .find(|u| u["key"] == key)
        .unwrap_or_else(|| panic!("no unit {key}: {body}"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_running_month_by_department_counts_what_was_done_and_refuses_bad_queries() {
    let app = TestApp::spawn().await;
    let first = app.dispatched_case("huanwei").await;
    app.dispatched_case("huanwei").await;
    app.filed_case().await; // filed, not dispatched: no department yet
    let huanwei = app.login("sc-hdl-huanwei").await;
    let photo = app.photo(&huanwei).await;
    app.ok_step(&huanwei, &first, "handle", json!({ "media": [photo] }))
        .await;

    let month = this_month(&app);
    let lead = app.login("sc-lead1").await;
    let (status, body) = appraisal(&app, &lead, &format!("period={month}&level=department")).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(
        (body["period"].as_str(), body["level"].as_str()),
        (Some(month.as_str()), Some("department"))
    );
    assert_eq!(
        body["input_digest"].as_str().map(str::len),
        Some(64),
        "{body}"
    );
    let row = unit(&body, "huanwei");
    assert_eq!(
        (row["dispatched"].as_i64(), row["filed"].as_i64()),
        (Some(2), Some(2)),
        "{row}"
    );
    assert_eq!(row["returned"], 0);
    assert_eq!(row["complete"], true, "a district's own data is complete");
    let total = &body["total"];
    assert_eq!(
        (
            total["reported"].as_i64(),
            total["filed"].as_i64(),
            total["dispatched"].as_i64()
        ),
        (Some(3), Some(3), Some(2)),
        "{total}"
    );

    // The same as CSV, with its content type; the default level is department.
    let response = app
        .http
        .get(format!(
            "{}/api/v1/appraisal?period={month}&format=csv",
            app.base
        ))
        .bearer_auth(&lead)
        .send()
        .await
        .expect("csv");
    assert_eq!(response.status(), 200);
    assert!(
        response.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/csv")
    );
    let csv = response.text().await.expect("text");
    assert!(csv.starts_with("rank,key,"), "{csv}");
    assert!(csv.lines().any(|l| l.contains(",huanwei,")), "{csv}");
    assert!(csv.lines().last().unwrap().contains(",total,"), "{csv}");

    // A department sees its own row, and only at the department level.
    let (status, own) = appraisal(&app, &huanwei, &format!("period={month}")).await;
    assert_eq!(status, 200, "{own}");
    let keys: Vec<&Value> = own["units"]
        .as_array()
        .unwrap()
        .iter()
        .map(|u| &u["key"])
        .collect();
    assert_eq!(keys, [&json!("huanwei")]);
    assert_eq!(
        own["total"]["dispatched"], 2,
        "the total is their own: {own}"
    );
    for level in ["street", "post", "category"] {
        let (status, body) =
            appraisal(&app, &huanwei, &format!("period={month}&level={level}")).await;
        assert_eq!(
            (status, error_code(&body)),
            (403, "wrong_role"),
            "{level}: {body}"
        );
    }

    // Every level of the command centre's.
    for (who, level) in [
        ("sc-op1", "street"),
        ("sc-disp1", "cell"),
        ("sc-shift1", "category"),
        ("sc-admin1", "community"),
        ("sc-op1", "post"),
    ] {
        let token = app.login(who).await;
        let (status, body) =
            appraisal(&app, &token, &format!("period={month}&level={level}")).await;
        assert_eq!(status, 200, "{who} {level}: {body}");
        if level == "street" {
            // Every street of the district's grid is listed, cases or not, with its size
            // from the grid: the cases' streets are among them, each figure per cell is
            // its 立案数 over its cells.
            let grid = app
                .tenant
                .grid
                .as_ref()
                .expect("the sample district has a grid");
            let streets: std::collections::BTreeSet<&str> =
                grid.cells().iter().map(|c| c.code.street()).collect();
            let units = body["units"].as_array().expect("units");
            let keys: std::collections::BTreeSet<&str> =
                units.iter().map(|u| u["key"].as_str().unwrap()).collect();
            assert!(keys.is_superset(&streets), "{body}");
            for u in units
                .iter()
                .filter(|u| streets.contains(u["key"].as_str().unwrap()))
            {
                let street = u["key"].as_str().unwrap();
                let cells = grid
                    .cells()
                    .iter()
                    .filter(|c| c.code.street() == street)
                    .count() as f64;
                let filed = u["filed"].as_f64().unwrap();
                let per_cell = u["filed_per_cell"].as_f64().expect("per cell");
                assert!((per_cell - filed / cells).abs() <= 0.005, "{u}");
                assert!(u["filed_per_km2"].as_f64().is_some(), "{u}");
                assert!(u["filed_per_10k_residents"].is_null(), "{u}");
            }
            assert_eq!(body["total"]["filed"], 3, "{body}");
        }
    }

    // Bad parameters: 422 naming the field.
    for (query, field) in [
        ("period=2026-13", "period"),
        ("period=Q4-2026", "period"),
        ("period=2026-10&level=district", "level"),
        ("period=2026-10&level=planet", "level"),
        ("period=2026-10&format=xml", "format"),
    ] {
        let (status, body) = appraisal(&app, &lead, query).await;
        assert_eq!(status, 422, "{query}: {body}");
        assert_eq!(body["error"]["field"], field, "{query}: {body}");
        assert!(
            body["error"]["message"]
                .as_str()
                .is_some_and(|m| !m.is_empty())
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_supervisor_sees_only_their_own_post_row() {
    let app = TestApp::spawn().await;
    let (sup1, sup2) = (app.login("sc-sup1").await, app.login("sc-sup2").await);
    let op = app.login("sc-op1").await;
    for _ in 0..2 {
        app.supervisor_report(&sup1).await;
    }
    let theirs = app.supervisor_report(&sup2).await;
    app.ok_step(
        &op,
        &theirs,
        "file",
        json!({ "category": crate::helpers::rubbish() }),
    )
    .await;
    let month = this_month(&app);
    let post = format!("period={month}&level=post");

    let (status, mine) = appraisal(&app, &sup1, &post).await;
    assert_eq!(status, 200, "{mine}");
    let units = mine["units"].as_array().expect("units");
    assert_eq!(units.len(), 1, "only their own row: {mine}");
    assert_eq!(
        (units[0]["key"].as_str(), units[0]["post"].as_str()),
        (Some("sc-sup1"), Some("supervisor"))
    );
    assert_eq!(
        (
            units[0]["reported"].as_i64(),
            units[0]["valid_reported"].as_i64()
        ),
        (Some(2), Some(0))
    );
    assert_eq!(units[0]["valid_report_rate"], 0.0);
    assert_eq!(mine["totals"], json!([]), "no totals: {mine}");

    let (status, other) = appraisal(&app, &sup2, &post).await;
    assert_eq!(status, 200, "{other}");
    let units = other["units"].as_array().expect("units");
    assert_eq!(units.len(), 1, "{other}");
    assert_eq!(
        (units[0]["key"].as_str(), units[0]["reported"].as_i64()),
        (Some("sc-sup2"), Some(1))
    );
    assert_eq!(units[0]["valid_report_rate"], 100.0, "{other}");

    for level in ["department", "street", "cell"] {
        let (status, body) = appraisal(&app, &sup1, &format!("period={month}&level={level}")).await;
        assert_eq!(
            (status, error_code(&body)),
            (403, "wrong_role"),
            "{level}: {body}"
        );
        assert!(
            body["error"]["message"]
                .as_str()
                .is_some_and(|m| m.contains("level=post")),
            "{body}"
        );
    }

    // The leader sees everyone, ranked within each post, and the totals.
    let lead = app.login("sc-lead1").await;
    let (status, all) = appraisal(&app, &lead, &post).await;
    assert_eq!(status, 200, "{all}");
    let supervisors: Vec<&str> = all["units"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|u| u["post"] == "supervisor")
        .map(|u| u["key"].as_str().unwrap())
        .collect();
    assert_eq!(
        supervisors,
        ["sc-sup2", "sc-sup1"],
        "sc-sup2 (100 %) ranks first: {all}"
    );
    let operator = all["units"]
        .as_array()
        .unwrap()
        .iter()
        .find(|u| u["key"] == "sc-op1")
        .expect("the operator");
    assert_eq!(
        (
            operator["filed"].as_i64(),
            operator["on_time_filing_rate"].as_f64()
        ),
        (Some(1), Some(100.0)),
        "{operator}"
    );
    let total = all["totals"]
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["post"] == "supervisor")
        .expect("total");
    assert_eq!(total["reported"], 3);
}

/// Moves every instant of the district's cases back by `by`, as if everything so far had
/// happened then: the records (append-only: their guard is lifted for this one
/// transaction), the history's snapshots and the cases themselves.
fn move_back(app: &TestApp, by: Duration) {
    let mut conn = app.pool.get().expect("conn");
    conn.transaction::<_, diesel::result::Error, _>(|conn| {
        diesel::sql_query("SET LOCAL session_replication_role = replica").execute(conn)?;
        let back = format!("interval '{} seconds'", by.num_seconds());
        diesel::sql_query(format!("UPDATE case_records SET at = at - {back}")).execute(conn)?;
        diesel::sql_query(format!(
            "UPDATE cases SET created_at = created_at - {back}, updated_at = updated_at - {back}, \
             stage_started_at = stage_started_at - {back}, stage_yellow_at = stage_yellow_at - {back}, \
             stage_deadline = stage_deadline - {back}"
        ))
        .execute(conn)?;
        let rows: Vec<(uuid::Uuid, i32, Value)> = case_history::table
            .select((case_history::case_id, case_history::version, case_history::snapshot))
            .load(conn)?;
        for (case_id, version, snapshot) in rows {
            let mut s: CaseSnapshot = serde_json::from_value(snapshot).expect("a snapshot");
            s.created_at -= by;
            s.updated_at -= by;
            let m = &mut s.milestones;
            for t in [
                &mut m.reported_at,
                &mut m.filed_at,
                &mut m.dispatched_at,
                &mut m.handled_at,
                &mut m.checked_at,
                &mut m.finished_at,
            ] {
                *t = t.map(|t| t - by);
            }
            if let Some(stage) = s.current_stage.as_mut() {
                stage.started_at -= by;
                stage.yellow_at = stage.yellow_at.map(|t| t - by);
                stage.deadline = stage.deadline.map(|t| t - by);
            }
            diesel::update(case_history::table.find((case_id, version)))
                .set((
                    case_history::updated_at.eq(s.updated_at),
                    case_history::snapshot.eq(serde_json::to_value(&s).expect("json")),
                ))
                .execute(conn)?;
        }
        Ok(())
    })
    .expect("times moved");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_closed_period_keeps_its_figures_and_digest_after_later_steps() {
    let app = TestApp::spawn().await;
    let case = app.dispatched_case("huanwei").await;
    // Everything so far happened at 10:00 on the 10th two months ago.
    let zone = app.tenant.time_zone;
    let today = Utc::now().with_timezone(&zone).date_naive();
    let (year, month) = match today.month() {
        1 => (today.year() - 1, 11),
        2 => (today.year() - 1, 12),
        m => (today.year(), m - 2),
    };
    let then = zone
        .from_local_datetime(
            &NaiveDate::from_ymd_opt(year, month, 10)
                .unwrap()
                .and_hms_opt(10, 0, 0)
                .unwrap(),
        )
        .unwrap()
        .with_timezone(&Utc);
    move_back(&app, Duration::seconds((Utc::now() - then).num_seconds()));
    let period = format!("period={year}-{month:02}");

    let lead = app.login("sc-lead1").await;
    let read = |level: &'static str| {
        let (app, lead, period) = (&app, lead.clone(), period.clone());
        async move {
            let (status, body) = appraisal(app, &lead, &format!("{period}&level={level}")).await;
            assert_eq!(status, 200, "{body}");
            body
        }
    };
    let before = read("department").await;
    let posts_before = read("post").await;
    let row = unit(&before, "huanwei");
    assert_eq!(
        (row["dispatched"].as_i64(), row["handled"].as_i64()),
        (Some(1), Some(0)),
        "{row}"
    );
    let sup = posts_before["units"]
        .as_array()
        .unwrap()
        .iter()
        .find(|u| u["key"] == "sc-sup1")
        .expect("sc-sup1");
    assert_eq!(
        (sup["reported"].as_i64(), sup["valid_reported"].as_i64()),
        (Some(1), Some(1)),
        "{sup}"
    );
    let disp = posts_before["units"]
        .as_array()
        .unwrap()
        .iter()
        .find(|u| u["key"] == "sc-disp1")
        .expect("sc-disp1");
    assert_eq!(disp["dispatched"], 1, "{disp}");

    // Steps taken now, after the period: handled, a failed check, handled again.
    let huanwei = app.login("sc-hdl-huanwei").await;
    let checker = app.login("sc-sup2").await;
    let mut current = app.detail(&case).await["case"].clone();
    let photo = app.photo(&huanwei).await;
    current = app
        .ok_step(&huanwei, &current, "handle", json!({ "media": [photo] }))
        .await;
    current = app
        .ok_step(
            &checker,
            &current,
            "check",
            json!({ "passed": false, "comment": "仍有残留" }),
        )
        .await;
    let photo = app.photo(&huanwei).await;
    app.ok_step(&huanwei, &current, "handle", json!({ "media": [photo] }))
        .await;

    let after = read("department").await;
    let posts_after = read("post").await;
    assert_eq!(after, before, "the closed period is as it was");
    assert_eq!(posts_after, posts_before, "and so are its posts");
    assert_eq!(after["input_digest"], before["input_digest"]);

    // The running month sees the new steps: the check was sc-sup2's.
    let (status, now) = appraisal(
        &app,
        &lead,
        &format!("period={}&level=post", this_month(&app)),
    )
    .await;
    assert_eq!(status, 200, "{now}");
    let checker = now["units"]
        .as_array()
        .unwrap()
        .iter()
        .find(|u| u["key"] == "sc-sup2")
        .expect("sc-sup2");
    assert_eq!(checker["checks"], 1, "{checker}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_history_begins_with_what_the_outbox_holds_else_with_the_case_as_it_is() {
    use diesel::migration::MigrationSource;
    use diesel_migrations::MigrationHarness;
    type Row = (uuid::Uuid, i32, Value);
    fn history(conn: &mut PgConnection) -> Vec<Row> {
        case_history::table
            .select((
                case_history::case_id,
                case_history::version,
                case_history::snapshot,
            ))
            .order((case_history::case_id, case_history::version))
            .load(conn)
            .expect("history")
    }
    let app = TestApp::spawn().await;
    app.dispatched_case("huanwei").await;
    let pruned = app.filed_case().await;
    let pruned_id: uuid::Uuid = pruned["id"].as_str().unwrap().parse().unwrap();
    let mut conn = app.pool.get().expect("conn");
    let written = history(&mut conn);
    assert_eq!(written.len(), 3 + 2, "one row per version");

    // The retention pruned the outbox of the second case before the history existed.
    diesel::sql_query(format!(
        "DELETE FROM outbox WHERE message::jsonb->'body'->>'case_id' = '{pruned_id}'"
    ))
    .execute(&mut conn)
    .expect("pruned");
    let migrations =
        MigrationSource::<diesel::pg::Pg>::migrations(&citygrid_platform::db::MIGRATIONS)
            .expect("migrations");
    let migration = migrations
        .iter()
        .find(|m| m.name().to_string().ends_with("_case_history"))
        .expect("the case_history migration");
    conn.revert_migration(&**migration).expect("down");
    conn.run_migration(&**migration).expect("up");
    let from_outbox: Vec<Row> = written
        .iter()
        .filter(|r| r.0 != pruned_id)
        .cloned()
        .collect();
    assert_eq!(
        history(&mut conn),
        from_outbox,
        "the outbox's snapshots, as they were"
    );

    // At start-up the case with no history gets its current state: its last snapshot.
    let begun =
        citygrid_platform::appraisal::history::backfill(&mut conn, &app.tenant).expect("backfill");
    assert_eq!(begun, 1);
    let last = written
        .iter()
        .rfind(|r| r.0 == pruned_id)
        .cloned()
        .expect("last");
    let mut expected = from_outbox;
    expected.push(last);
    expected.sort_by_key(|r| (r.0, r.1));
    assert_eq!(history(&mut conn), expected);
    assert_eq!(
        citygrid_platform::appraisal::history::backfill(&mut conn, &app.tenant).expect("again"),
        0
    );
}

/// The district appraises the records the city got: rebuilt from `case_records` and the
/// history, each equals the `business_record` message the outbox sent (`stage_ended`
/// included), through the whole loop with a rework.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_records_appraised_are_the_records_the_city_was_sent() {
    use citygrid_platform::schema::outbox;
    use citygrid_schemas::{BusinessRecord, Envelope};
    let app = TestApp::spawn().await;
    let case = app.dispatched_case("huanwei").await;
    let (huanwei, checker) = (
        app.login("sc-hdl-huanwei").await,
        app.login("sc-sup2").await,
    );
    let op = app.login("sc-op1").await;
    let photo = app.photo(&huanwei).await;
    let mut current = app
        .ok_step(
            &huanwei,
            &case,
            "handle",
            json!({ "media": [photo.clone()] }),
        )
        .await;
    current = app
        .ok_step(
            &checker,
            &current,
            "check",
            json!({ "passed": false, "comment": "仍有残留" }),
        )
        .await;
    current = app
        .ok_step(&huanwei, &current, "handle", json!({ "media": [photo] }))
        .await;
    current = app
        .ok_step(&checker, &current, "check", json!({ "passed": true }))
        .await;
    app.ok_step(&op, &current, "close", json!({})).await;

    let mut conn = app.pool.get().expect("conn");
    let sent: Vec<String> = outbox::table
        .filter(outbox::kind.eq("business_record"))
        .order(outbox::seq)
        .select(outbox::message)
        .load(&mut conn)
        .expect("outbox");
    let sent: Vec<BusinessRecord> = sent
        .iter()
        .map(|m| {
            let envelope: Envelope<Value> = serde_json::from_str(m).expect("envelope");
            serde_json::from_value(envelope.body).expect("record")
        })
        .collect();
    let far = Utc::now() + Duration::days(1);
    let read = citygrid_platform::appraisal::history::as_of(&mut conn, &app.tenant.calendar, far)
        .expect("as of");
    assert_eq!(read.len(), 1);
    let (snapshot, records) = &read[0];
    assert_eq!(snapshot.state, citygrid_schemas::CaseState::Closed);
    assert_eq!(records, &sent, "the same records, stage outcomes included");
    let ended = sent.iter().filter(|r| r.stage_ended.is_some()).count();
    assert_eq!(
        ended, 6,
        "file, dispatch, handle, rework, handle and check end stages"
    );
    // The working time each used is sent and rebuilt alike (compared above), not left out.
    assert!(
        sent.iter()
            .filter_map(|r| r.stage_ended.as_ref())
            .all(|e| e.working_minutes.is_some()),
        "{sent:?}"
    );
}
