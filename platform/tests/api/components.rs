//! The component inventory (部件库): census import (bad rows named by line, re-import
//! idempotent), the departments' edits (own components only, at a version, each a change
//! record), and component cases (the component's department at dispatch, a component of
//! another district refused).

use citygrid_platform::component::{self, Summary, census, store};
use serde_json::{Value, json};

use crate::helpers::{LAT, LON, TestApp};

const HEADER: &str = "id,name,department,status,cell,lon,lat,initial_date,data_source,remarks";

/// Three good components of 上城区 near the test point: a 上水井盖 of 市政 (the manual
/// routes 上水井盖 to 水务: the component's department must win), a 垃圾箱 of 环卫, a
/// 路灯 placed by its cell only.
fn good_rows(app: &TestApp) -> Vec<String> {
    let cell = app
        .tenant
        .cell_at(LON, LAT)
        .expect("a cell at the test point");
    vec![
        format!("3301020101000001,上水井盖,shizheng,完好,,{LON},{LAT},2020-05-01,实测,"),
        format!(
            "3301020305000001,垃圾箱,huanwei,intact,{},{LON},{LAT},,surveyed,\"近公交站, 东侧\"",
            cell.code.as_str(),
        ),
        format!(
            "3301020118000001,路灯,shizheng,damaged,{},,,2019-01-01,other,",
            cell.code.as_str()
        ),
    ]
}

fn csv(rows: &[String]) -> String {
    format!("# test census\n{HEADER}\n{}\n", rows.join("\n"))
}

fn import(app: &TestApp, text: &str, accept_warnings: bool) -> citygrid_platform::Result<Summary> {
    let census = census::read(text, &app.tenant).expect("readable");
    let mut conn = app.pool.get().expect("conn");
    tokio::task::block_in_place(|| {
        component::import(
            &mut conn,
            &app.tenant,
            &census,
            "census test",
            accept_warnings,
            &mut |_| {},
        )
    })
}

async fn component(app: &TestApp, id: &str) -> Value {
    let token = app.login("sc-lead1").await;
    let (status, body) = app.get(&format!("/api/v1/components/{id}"), &token).await;
    assert_eq!(status, 200, "{body}");
    body
}

async fn patch(app: &TestApp, token: &str, id: &str, body: Value) -> (u16, Value) {
    app.send(
        app.http
            .patch(format!("{}/api/v1/components/{id}", app.base))
            .bearer_auth(token)
            .json(&body),
    )
    .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_bad_census_is_refused_whole_naming_every_bad_line() {
    let app = TestApp::spawn().await;
    let mut rows = good_rows(&app);
    let here = app.tenant.cell_at(LON, LAT).expect("cell").code.clone();
    let other_cell = app
        .tenant
        .grid
        .as_ref()
        .expect("grid")
        .cells()
        .iter()
        .find(|c| c.code != here)
        .expect("another cell")
        .code
        .as_str()
        .to_owned();
    rows.extend([
        // line 6: 15 digits
        format!("330102010100001,上水井盖,shizheng,intact,,{LON},{LAT},,,"),
        // line 7: another district's code
        format!("3301050101000002,上水井盖,shizheng,intact,,{LON},{LAT},,,"),
        // line 8: no component class 0199
        format!("3301020199000001,其他,shizheng,intact,,{LON},{LAT},,,"),
        // line 9: a letter
        format!("33010201010000x1,上水井盖,shizheng,intact,,{LON},{LAT},,,"),
        // line 10: outside the district
        "3301020101000003,上水井盖,shizheng,intact,,120.5,30.5,,,".to_owned(),
        // line 11: a cell that is not the point's
        format!("3301020101000004,上水井盖,shizheng,intact,{other_cell},{LON},{LAT},,,"),
        // line 12: no such department
        format!("3301020101000005,上水井盖,nobody,intact,,{LON},{LAT},,,"),
        // line 13: unknown status
        format!("3301020101000006,上水井盖,shizheng,broken,,{LON},{LAT},,,"),
        // line 14: the id of line 3 again
        format!("3301020101000001,上水井盖,shizheng,intact,,{LON},{LAT},,,"),
        // line 15: a bad date
        format!("3301020101000007,上水井盖,shizheng,intact,,{LON},{LAT},2020-13-01,,"),
    ]);
    let text = csv(&rows);
    let census = census::read(&text, &app.tenant).expect("readable");
    let lines: Vec<(&str, &str)> = census
        .findings
        .iter()
        .map(|f| (f.at.as_str(), f.field.as_str()))
        .collect();
    assert_eq!(
        lines,
        [
            ("line 6", "id"),
            ("line 7", "id"),
            ("line 8", "id"),
            ("line 9", "id"),
            ("line 10", "lon"),
            ("line 11", "cell"),
            ("line 12", "department"),
            ("line 13", "status"),
            ("line 14", "id"),
            ("line 15", "initial_date"),
        ],
        "{:#?}",
        census.findings
    );
    let says = |line: &str, part: &str| {
        let finding = census.findings.iter().find(|f| f.at == line).expect(line);
        assert!(
            finding.message.contains(part),
            "{line}: {}",
            finding.message
        );
    };
    says("line 6", "wrong length");
    says("line 7", "wrong district");
    says("line 8", "unknown class");
    says("line 9", "not digits");
    says("line 10", "outside district 330102");
    says("line 14", "line 3");

    // Refused whole: the error names every bad line, and nothing is written.
    let err = import(&app, &text, false).expect_err("refused").to_string();
    for line in 6..=15 {
        assert!(err.contains(&format!("line {line}:")), "{err}");
    }
    let mut conn = app.pool.get().expect("conn");
    assert!(store::all(&mut conn).expect("all").is_empty());

    // Asked to, the good rows go in and the bad ones stay out.
    let summary = import(&app, &text, true).expect("imported with warnings");
    assert_eq!((summary.created, summary.changed), (3, 0));
    assert_eq!(store::all(&mut conn).expect("all").len(), 3);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_re_import_writes_nothing_and_a_changed_row_writes_its_change() {
    let app = TestApp::spawn().await;
    let rows = good_rows(&app);
    let created = import(&app, &csv(&rows), false).expect("import");
    assert_eq!(
        (created.created, created.changed, created.unchanged),
        (3, 0, 0)
    );
    // The cell, street and community come from the grid.
    let lamp = component(&app, "3301020118000001").await;
    let cell = app.tenant.cell_at(LON, LAT).expect("cell");
    assert_eq!(lamp["component"]["cell_code"], cell.code.as_str());
    assert_eq!(lamp["component"]["community_code"], cell.code.community());
    assert_eq!(lamp["component"]["street_code"], cell.code.street());
    let cover = component(&app, "3301020101000001").await;
    assert_eq!(cover["component"]["cell_code"], cell.code.as_str());
    assert_eq!(cover["component"]["status"], "intact");
    assert_eq!(cover["history"].as_array().expect("history").len(), 1);

    let again = import(&app, &csv(&rows), false).expect("re-import");
    assert_eq!((again.created, again.changed, again.unchanged), (0, 0, 3));
    let cover = component(&app, "3301020101000001").await;
    assert_eq!(cover["component"]["version"], 1);
    assert_eq!(cover["history"].as_array().expect("history").len(), 1);

    let mut changed = rows.clone();
    changed[0] = changed[0].replace("完好", "破损");
    let summary = import(&app, &csv(&changed), false).expect("changed");
    assert_eq!(
        (summary.created, summary.changed, summary.unchanged),
        (0, 1, 2)
    );
    let cover = component(&app, "3301020101000001").await;
    assert_eq!(cover["component"]["version"], 2);
    let history = cover["history"].as_array().expect("history");
    assert_eq!(history.len(), 2, "{cover}");
    assert_eq!(history[1]["via"], "import");
    assert_eq!(
        history[1]["changes"],
        json!({ "status": { "from": "intact", "to": "damaged" } })
    );
}

/// The sample census goes in and comes out the same (the CLI's import and export).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_sample_census_round_trips() {
    let app = TestApp::spawn().await;
    let file = component::sample_file(&app.tenant).expect("the sample names its census");
    let text = std::fs::read_to_string(&file).expect("census");
    let summary = import(&app, &text, false).expect("import");
    assert!(summary.created >= 200, "{summary:?}");
    let mut conn = app.pool.get().expect("conn");
    let exported = census::write_csv(&store::all(&mut conn).expect("all"), &[]);
    let rows = |t: &str| -> Vec<String> {
        t.lines()
            .filter(|l| !l.starts_with('#'))
            .map(str::to_owned)
            .collect()
    };
    assert_eq!(rows(&exported), rows(&text));
    // And at start, the census adds nothing twice and keeps the departments' edits.
    let again = tokio::task::block_in_place(|| component::load_sample(&mut conn, &app.tenant))
        .expect("load")
        .expect("a census");
    assert_eq!((again.created, again.changed), (0, 0));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_owner_department_edits_its_component_with_a_change_record() {
    let app = TestApp::spawn().await;
    import(&app, &csv(&good_rows(&app)), false).expect("import");
    let token = app.login("sc-hdl-shizheng").await;
    let (status, body) = patch(
        &app,
        &token,
        "3301020101000001",
        json!({ "version": 1, "status": "damaged", "remarks": "井盖松动", "reason": "巡查发现" }),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["version"], 2);
    assert_eq!(body["status"], "damaged");
    // The status changed: so did the change date, to today.
    assert!(body["changed_date"].is_string(), "{body}");
    let detail = component(&app, "3301020101000001").await;
    let history = detail["history"].as_array().expect("history");
    assert_eq!(history.len(), 2, "{detail}");
    let change = &history[1];
    assert_eq!(change["via"], "api");
    assert_eq!(change["actor"], "sc-hdl-shizheng");
    assert_eq!(change["reason"], "巡查发现");
    assert_eq!(change["component_version"], 2);
    assert_eq!(
        change["changes"]["status"],
        json!({ "from": "intact", "to": "damaged" })
    );
    assert_eq!(
        change["changes"]["remarks"],
        json!({ "from": null, "to": "井盖松动" })
    );
    // A stale version: 409, nothing changed.
    let (status, body) = patch(
        &app,
        &token,
        "3301020101000001",
        json!({ "version": 1, "status": "missing" }),
    )
    .await;
    assert_eq!(status, 409, "{body}");
    assert_eq!(body["error"]["code"], "stale_version");
    let detail = component(&app, "3301020101000001").await;
    assert_eq!(detail["component"]["status"], "damaged");
    assert_eq!(detail["history"].as_array().expect("history").len(), 2);
    // Moving it outside the district is 422 naming the point; an admin may edit any.
    let (status, body) = patch(
        &app,
        &token,
        "3301020101000001",
        json!({ "version": 2, "lon": 120.5, "lat": 30.5 }),
    )
    .await;
    assert_eq!(
        (status, body["error"]["field"].as_str()),
        (422, Some("lon")),
        "{body}"
    );
    let admin = app.login("sc-admin1").await;
    let (status, body) = patch(
        &app,
        &admin,
        "3301020101000001",
        json!({ "version": 2, "department": "shuiwu" }),
    )
    .await;
    assert_eq!(
        (status, &body["department_code"]),
        (200, &json!("shuiwu")),
        "{body}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn another_department_may_not_edit_and_changes_nothing() {
    let app = TestApp::spawn().await;
    import(&app, &csv(&good_rows(&app)), false).expect("import");
    for (user, code) in [
        ("sc-hdl-huanwei", "not_your_component"),
        ("sc-sup1", "wrong_role"),
        ("sc-op1", "wrong_role"),
    ] {
        let token = app.login(user).await;
        let (status, body) = patch(
            &app,
            &token,
            "3301020101000001",
            json!({ "version": 1, "status": "removed" }),
        )
        .await;
        assert_eq!(
            (status, body["error"]["code"].as_str()),
            (403, Some(code)),
            "{user}: {body}"
        );
    }
    // The owner may not give it away either: that is an admin's.
    let token = app.login("sc-hdl-shizheng").await;
    let (status, body) = patch(
        &app,
        &token,
        "3301020101000001",
        json!({ "version": 1, "department": "huanwei" }),
    )
    .await;
    assert_eq!(status, 403, "{body}");
    let detail = component(&app, "3301020101000001").await;
    assert_eq!(detail["component"]["version"], 1);
    assert_eq!(detail["component"]["status"], "intact");
    assert_eq!(detail["history"].as_array().expect("history").len(), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_list_filters_by_cell_category_status_and_department() {
    let app = TestApp::spawn().await;
    import(&app, &csv(&good_rows(&app)), false).expect("import");
    let token = app.login("sc-op1").await;
    let cell = app.tenant.cell_at(LON, LAT).expect("cell").code.clone();
    let ids = |body: &Value| -> Vec<String> {
        body["items"]
            .as_array()
            .expect("items")
            .iter()
            .map(|c| c["id"].as_str().expect("id").to_owned())
            .collect()
    };
    for (query, expected) in [
        (
            "",
            vec!["3301020101000001", "3301020118000001", "3301020305000001"],
        ),
        ("?category=0101", vec!["3301020101000001"]),
        ("?category=01", vec!["3301020101000001", "3301020118000001"]),
        ("?status=damaged", vec!["3301020118000001"]),
        ("?department=huanwei", vec!["3301020305000001"]),
        (
            &*format!("?cell={}&status=intact", cell.as_str()),
            vec!["3301020101000001", "3301020305000001"],
        ),
        ("?limit=2", vec!["3301020101000001", "3301020118000001"]),
        ("?after=3301020118000001", vec!["3301020305000001"]),
    ] {
        let (status, body) = app.get(&format!("/api/v1/components{query}"), &token).await;
        assert_eq!(status, 200, "{query}: {body}");
        assert_eq!(ids(&body), expected, "{query}");
    }
    let (status, body) = app.get("/api/v1/components?status=broken", &token).await;
    assert_eq!(
        (status, body["error"]["field"].as_str()),
        (422, Some("status"))
    );
    // A malformed id in the path: 422 with the reason.
    let (status, body) = app.get("/api/v1/components/3301050101000001", &token).await;
    assert_eq!(status, 422, "{body}");
    assert!(
        body["error"]["message"]
            .as_str()
            .is_some_and(|m| m.contains("wrong district")),
        "{body}"
    );
    let (status, _) = app.get("/api/v1/components/3301020101000099", &token).await;
    assert_eq!(status, 404);
}

async fn report(app: &TestApp, sup: &str, extra: Value) -> (u16, Value) {
    let photo = app.photo(sup).await;
    let mut body = json!({ "description": "井盖松动", "lon": LON, "lat": LAT, "photos": [photo] });
    for (key, value) in extra.as_object().expect("object") {
        body[key] = value.clone();
    }
    app.post("/api/v1/cases", Some(sup), body).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_component_case_goes_to_the_components_department() {
    let app = TestApp::spawn().await;
    import(&app, &csv(&good_rows(&app)), false).expect("import");
    let (sup, op, disp) = (
        app.login("sc-sup1").await,
        app.login("sc-op1").await,
        app.login("sc-disp1").await,
    );
    // No category given: the component's class is the case's.
    let (status, case) = report(&app, &sup, json!({ "component_id": "3301020101000001" })).await;
    assert_eq!(status, 201, "{case}");
    assert_eq!(case["component_id"], "3301020101000001");
    assert_eq!(case["category_kind"], "component");
    assert_eq!(
        (&case["category_major"], &case["category_minor"]),
        (&json!("01"), &json!("01"))
    );
    // Filing keeps the component's class: another class is refused and changes nothing.
    for (category, says) in [
        (
            json!({ "kind": "component", "major": "01", "minor": "02" }),
            "another class",
        ),
        (
            json!({ "kind": "event", "major": "01", "minor": "02" }),
            "an event",
        ),
    ] {
        let (status, body) = app
            .step(&op, &case, "file", json!({ "category": category }))
            .await;
        assert_eq!(
            (status, body["error"]["field"].as_str()),
            (422, Some("category")),
            "{says}: {body}"
        );
        assert!(
            body["error"]["message"].as_str().unwrap().contains("0101"),
            "{says}: the message names the component's class: {body}"
        );
    }
    assert_eq!(app.detail(&case).await["case"]["state"], "reported");
    let filed = app
        .ok_step(
            &op,
            &case,
            "file",
            json!({ "category": { "kind": "component", "major": "01", "minor": "01" } }),
        )
        .await;
    // The manual routes 上水井盖 to 水务; this one is 市政's.
    assert_eq!(filed["suggested_department"], "shizheng", "{filed}");
    let dispatched = app.ok_step(&disp, &filed, "dispatch", json!({})).await;
    assert_eq!(dispatched["department_code"], "shizheng", "{dispatched}");
    let detail = app.detail(&case).await;
    assert_eq!(detail["case"]["component_id"], "3301020101000001");
    // The city learns the component and the filing condition from the snapshot.
    let sent: String = {
        use citygrid_platform::schema::outbox;
        use diesel::prelude::*;
        outbox::table
            .filter(outbox::kind.eq("case_snapshot"))
            .order(outbox::seq.desc())
            .select(outbox::message)
            .first(&mut app.pool.get().expect("conn"))
            .expect("a snapshot")
    };
    let snapshot: Value = serde_json::from_str(&sent).expect("JSON");
    assert!(filed["manual_condition"].is_string(), "{filed}");
    assert_eq!(
        (
            &snapshot["body"]["component_id"],
            &snapshot["body"]["manual_condition"]
        ),
        (&json!("3301020101000001"), &filed["manual_condition"]),
        "{snapshot}"
    );

    // A case of an event class does not name a component; one of another class neither.
    let (status, body) = report(
        &app,
        &sup,
        json!({ "component_id": "3301020101000001", "category": { "kind": "event", "major": "01", "minor": "02" } }),
    )
    .await;
    assert_eq!(
        (status, body["error"]["field"].as_str()),
        (422, Some("component_id")),
        "{body}"
    );
    let (status, body) = report(
        &app,
        &sup,
        json!({ "component_id": "3301020101000001", "category": { "kind": "component", "major": "03", "minor": "05" } }),
    )
    .await;
    assert_eq!(
        (status, body["error"]["field"].as_str()),
        (422, Some("component_id")),
        "{body}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_component_of_another_district_or_none_is_refused() {
    let app = TestApp::spawn().await;
    import(&app, &csv(&good_rows(&app)), false).expect("import");
    let sup = app.login("sc-sup1").await;
    for (id, says) in [
        ("3301050101000001", "wrong district"),
        ("330102010100001", "wrong length"),
        ("3301020199000001", "unknown class"),
        ("3301020101000099", "no component 3301020101000099"),
    ] {
        let (status, body) = report(&app, &sup, json!({ "component_id": id })).await;
        assert_eq!(status, 422, "{id}: {body}");
        assert_eq!(body["error"]["field"], "component_id", "{id}: {body}");
        assert!(
            body["error"]["message"]
                .as_str()
                .is_some_and(|m| m.contains(says)),
            "{id}: {body}"
        );
    }
}
