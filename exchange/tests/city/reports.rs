//! The monthly report: rendered in the month's run (or in a dry run that keeps nothing),
//! every number the appraisal's, stored for the city and each district's section, and
//! read through the city API by whom it belongs to.

use chrono::{DateTime, Duration, Utc};
use citygrid_appraisal::{Level, Period};
use citygrid_exchange::monthly::{self, Mode, Ran};
use citygrid_exchange::report::File;
use citygrid_exchange::schema::{ledger_postings, monthly_reports, monthly_runs};
use citygrid_schemas as v1;
use diesel::prelude::*;
use serde_json::Value;

use crate::broker::TestBroker;
use crate::helpers::{Stream, TestCity, commands, dispatched, handled};

fn t(text: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(text)
        .expect("time")
        .with_timezone(&Utc)
}

fn file<'a>(files: &'a [File], name: &str) -> &'a [u8] {
    &files
        .iter()
        .find(|f| f.name == name)
        .unwrap_or_else(|| panic!("{name} in {files:?}"))
        .bytes
}

fn json_of(files: &[File], name: &str) -> Value {
    serde_json::from_slice(file(files, name)).expect("JSON")
}

/// Pages of a PDF as Chromium writes it: one `/Type /Page` object each.
fn pages(pdf: &[u8]) -> usize {
    let text = String::from_utf8_lossy(pdf);
    text.matches("/Type /Page").count() - text.matches("/Type /Pages").count()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_months_report_says_what_the_appraisal_says_for_the_city_and_each_district() {
    let broker = TestBroker::new().await;
    let city = TestCity::start(&broker).await;
    let mut a = Stream {
        broker: &broker,
        district: "330102",
        seq: 0,
    };
    let mut b = Stream {
        broker: &broker,
        district: "330105",
        seq: 0,
    };
    // 330102: one case handled on time, one due on 30 October and never handled; it has
    // reconciled October 31. 330105: one case on time, and no digest past October.
    let one = dispatched(
        "330102",
        1,
        3,
        t("2026-10-18T02:00:00Z"),
        t("2026-10-20T02:00:00Z"),
    );
    let (one_done, one_handle) = handled(&one, 1, t("2026-10-19T02:00:00Z"));
    let two = dispatched(
        "330102",
        2,
        3,
        t("2026-10-28T02:00:00Z"),
        t("2026-10-30T02:00:00Z"),
    );
    for message in [one, one_done, two] {
        a.send(message).await;
    }
    a.send(one_handle).await;
    a.send(v1::ReconciliationDigest {
        day: chrono::NaiveDate::from_ymd_opt(2026, 10, 31).expect("day"),
        cases: 0,
        sha256: v1::digest_hash(&[]),
        up_to_seq: a.seq,
    })
    .await;
    let three = dispatched(
        "330105",
        3,
        3,
        t("2026-10-10T02:00:00Z"),
        t("2026-10-12T02:00:00Z"),
    );
    let (three_done, three_handle) = handled(&three, 1, t("2026-10-11T02:00:00Z"));
    b.send(three).await;
    b.send(three_done).await;
    b.send(three_handle).await;
    city.wait_for_cursor("330102", a.seq as i64).await;
    city.wait_for_cursor("330105", b.seq as i64).await;

    let path =
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../tenants/hangzhou/city.toml");
    let mut config = citygrid_exchange::config::City::load(&path).expect("sample city");
    config.registry.retain(|d| d.code != "330106");
    let october: Period = "2026-10".parse().expect("month");
    let now = t("2026-12-01T00:00:00Z");
    let run = |mode| {
        tokio::task::block_in_place(|| {
            let mut conn = city.pool.get().expect("conn");
            monthly::run_month(
                &mut conn,
                &config.monthly_job(),
                october,
                Duration::zero(),
                now,
                mode,
            )
            .expect("run")
        })
    };
    let count = |query: &str| -> i64 {
        let mut conn = city.pool.get().expect("conn");
        diesel::dsl::sql::<diesel::sql_types::BigInt>(query)
            .get_result(&mut conn)
            .expect("count")
    };

    // A dry run renders everything and keeps nothing.
    let Ran::Done { files: dry, .. } = run(Mode::DryRun) else {
        panic!("a dry run renders the month");
    };
    for name in [
        "report.html",
        "report.pdf",
        "report.xlsx",
        "meta.json",
        "ranking.csv",
        "ranking.json",
        "on_time_trend.json",
        "categories.json",
        "streets.json",
        "overdue_cases.json",
        "orders.json",
        "ledger.json",
    ] {
        assert!(!file(&dry, name).is_empty(), "{name}");
    }
    {
        let mut conn = city.pool.get().expect("conn");
        let runs: i64 = monthly_runs::table
            .count()
            .get_result(&mut conn)
            .expect("runs");
        let files: i64 = monthly_reports::table
            .count()
            .get_result(&mut conn)
            .expect("files");
        let postings: i64 = ledger_postings::table
            .count()
            .get_result(&mut conn)
            .expect("postings");
        assert_eq!(
            (runs, files, postings),
            (0, 0, 0),
            "a dry run keeps nothing"
        );
    }

    // The run stores the report, and names the district it went without.
    let Ran::Done {
        incomplete, files, ..
    } = run(Mode::Commit)
    else {
        panic!("October runs");
    };
    assert_eq!(incomplete, ["330105"]);
    assert_eq!(run(Mode::Commit), Ran::Already);
    assert_eq!(
        file(&files, "ranking.json"),
        file(&dry, "ranking.json"),
        "the dry run showed what the run published"
    );
    // One set of files for the city and one for each district.
    assert_eq!(
        count("SELECT count(DISTINCT scope) FROM monthly_reports"),
        3
    );

    // Every number of the ranking is the appraisal's.
    let appraisal = tokio::task::block_in_place(|| {
        let mut conn = city.pool.get().expect("conn");
        config
            .appraiser()
            .appraise(&mut conn, october, Level::District, now)
            .expect("appraisal")
    })
    .to_json();
    let ranking = json_of(&files, "ranking.json");
    let rows = ranking["rows"].as_array().expect("rows");
    assert_eq!(rows.len(), 3, "two districts and the city: {ranking}");
    let mut compared = 0;
    for row in rows {
        let unit = match row["district"].as_str() {
            Some("") => &appraisal["total"],
            Some(code) => appraisal["units"]
                .as_array()
                .expect("units")
                .iter()
                .find(|u| u["key"] == code)
                .expect("the district's unit"),
            None => panic!("a district column: {row}"),
        };
        for (key, value) in row.as_object().expect("a row") {
            if ["district", "name", "complete"].contains(&key.as_str()) {
                continue;
            }
            assert_eq!(value, &unit[key], "{} {key}", row["district"]);
            compared += 1;
        }
    }
    // Rank, composite, grade and eight indicators, for each row.
    assert_eq!(compared, 3 * 11);
    assert_eq!(rows[0]["district"], "330102");
    assert_eq!(
        (rows[0]["rank"].as_i64(), rows[1]["rank"].as_i64()),
        (Some(1), None)
    );
    // The trend's last month is October, as the appraisal has it.
    let trend = json_of(&files, "on_time_trend.json");
    let last = trend["rows"].as_array().expect("rows").last().cloned();
    assert_eq!(
        last.as_ref().map(|r| (&r["month"], &r["330102"])),
        Some((
            &Value::from("2026-10"),
            &appraisal["units"][0]["on_time_close_rate"]
        ))
    );
    // Case 2 is the overdue one: 38 hours past its deadline when October ended.
    let overdue = json_of(&files, "overdue_cases.json");
    assert_eq!(overdue["rows"].as_array().map(Vec::len), Some(1));
    assert_eq!(
        overdue["rows"][0]["case_id"],
        uuid::Uuid::from_u128(2).to_string()
    );
    assert_eq!(overdue["rows"][0]["overdue_hours"], 38.0);

    // A street is ranked only when its district is complete.
    let streets = json_of(&files, "streets.json");
    let ranks: Vec<(&str, Option<i64>)> = streets["rows"]
        .as_array()
        .expect("rows")
        .iter()
        .map(|r| (r["street"].as_str().unwrap_or_default(), r["rank"].as_i64()))
        .collect();
    assert_eq!(ranks, [("330102001", Some(1)), ("330105001", None)]);

    // The page: the chart, the ranking, and the district left out by name.
    let html = String::from_utf8(file(&files, "report.html").to_vec()).expect("UTF-8");
    assert!(html.contains("杭州市数字城管月度考核评价报告（2026年10月）"));
    assert!(html.contains(r#"<svg id="ranking-chart""#));
    assert!(
        html.contains("拱墅区（330105）"),
        "the late district is named"
    );
    assert!(
        !html.contains("<script"),
        "no script: the file opens anywhere"
    );
    // Opened in Chromium: no error, no request leaves the file, and the ranking chart is
    // on the page, a bar for each district with a composite.
    assert_eq!(html.matches(r#"<rect class="bar""#).count(), 2);
    let scratch = tempfile::tempdir().expect("scratch");
    let (page, shot) = (
        scratch.path().join("report.html"),
        scratch.path().join("ranking.png"),
    );
    std::fs::write(&page, &html).expect("page");
    let opened = tokio::task::block_in_place(|| {
        citygrid_test_support::browser::open(&page, &shot, "#ranking-chart")
    });
    assert_eq!(
        opened["title"],
        "杭州市数字城管月度考核评价报告（2026年10月）"
    );
    assert_eq!(opened["errors"], serde_json::json!([]), "{opened}");
    assert_eq!(opened["requests"], serde_json::json!([]), "{opened}");
    assert!(
        opened["box"]["width"].as_f64() > Some(600.0)
            && opened["box"]["height"].as_f64() > Some(60.0),
        "{opened}"
    );
    let png = std::fs::read(&shot).expect("screenshot");
    assert!(
        png.starts_with(b"\x89PNG") && png.len() > 2_000,
        "{} bytes",
        png.len()
    );
    let pdf = file(&files, "report.pdf");
    assert!(pdf.starts_with(b"%PDF"));
    // A4 (595 × 842 pt), and this month's seven sections take two pages.
    assert!(
        String::from_utf8_lossy(pdf).contains("/MediaBox [0 0 594.95996 841.91998]"),
        "A4"
    );
    assert_eq!(pages(pdf), 2);
    assert!(file(&files, "report.xlsx").starts_with(b"PK"));

    // The city API: city roles list and read the city's report.
    let (status, list) = city.get("/api/v1/city/reports").await;
    assert_eq!(status, 200, "{list}");
    assert_eq!(list["scope"], "city");
    assert_eq!(list["items"][0]["month"], "2026-10");
    assert_eq!(
        list["items"][0]["incomplete"],
        serde_json::json!(["330105"])
    );
    let names: Vec<&str> = list["items"][0]["files"]
        .as_array()
        .expect("files")
        .iter()
        .filter_map(|f| f["name"].as_str())
        .collect();
    assert!(
        names.contains(&"report.pdf") && names.contains(&"streets.csv"),
        "{names:?}"
    );

    // A district officer reads their own section, and only that.
    let (status, own) = city.get_as("hz-d330102", "/api/v1/city/reports").await;
    assert_eq!((status, &own["scope"]), (200, &Value::from("330102")));
    let (status, other) = city
        .get_as("hz-d330102", "/api/v1/city/reports?district=330105")
        .await;
    assert_eq!(
        (status, &other["error"]["code"]),
        (403, &Value::from("wrong_district"))
    );
    let download = |user: &'static str, path: String| {
        let city = &city;
        async move {
            let response = reqwest::Client::new()
                .get(format!("{}{path}", city.base))
                .bearer_auth(city.token(user).await)
                .send()
                .await
                .expect("download");
            let status = response.status().as_u16();
            let kind = response
                .headers()
                .get("content-type")
                .and_then(|v| v.to_str().ok())
                .unwrap_or_default()
                .to_owned();
            (status, kind, response.bytes().await.expect("body").to_vec())
        }
    };
    let (status, kind, page) = download(
        "hz-d330102",
        "/api/v1/city/reports/2026-10/report.html".into(),
    )
    .await;
    assert_eq!((status, kind.as_str()), (200, "text/html; charset=utf-8"));
    let page = String::from_utf8(page).expect("UTF-8");
    assert!(page.contains("上城区分册"), "the district's own section");
    let streets = |body: Vec<u8>| -> Vec<String> {
        let table: Value = serde_json::from_slice(&body).expect("JSON");
        table["rows"]
            .as_array()
            .expect("rows")
            .iter()
            .map(|r| r["street"].as_str().unwrap_or_default().to_owned())
            .collect()
    };
    let (_, _, own_streets) = download(
        "hz-d330102",
        "/api/v1/city/reports/2026-10/streets.json".into(),
    )
    .await;
    let (_, _, all_streets) = download(
        "hz-clead1",
        "/api/v1/city/reports/2026-10/streets.json".into(),
    )
    .await;
    let (own_streets, all_streets) = (streets(own_streets), streets(all_streets));
    assert!(
        own_streets.iter().all(|s| s.starts_with("330102")) && !own_streets.is_empty(),
        "{own_streets:?}"
    );
    assert!(
        all_streets.iter().any(|s| s.starts_with("330105")),
        "{all_streets:?}"
    );
    let (status, _, body) = download(
        "hz-clead1",
        "/api/v1/city/reports/2026-10/report.pdf?district=330105".into(),
    )
    .await;
    assert_eq!(status, 200);
    assert!(body.starts_with(b"%PDF"), "each section has its PDF");

    // Each district is sent its standing and its section's files.
    for (district, rank, complete) in [("330102", Some(1), true), ("330105", None, false)] {
        let notices = commands::<v1::ReportNotice>(&broker, district).await;
        let [notice] = &notices[..] else {
            panic!("one notice for {district}: {notices:?}");
        };
        assert_eq!(
            (
                notice.month.as_str(),
                notice.rank,
                notice.ranked,
                notice.complete
            ),
            ("2026-10", rank, 1, complete)
        );
        let (_, _, page) = download(
            "hz-clead1",
            format!("/api/v1/city/reports/2026-10/report.html?district={district}"),
        )
        .await;
        let sent = notice
            .files
            .iter()
            .find(|f| f.name == "report.html")
            .expect("the page is sent first");
        assert_eq!(sent.decode().expect("bytes"), page, "the stored section");
        assert_eq!(
            notice.files.len() + notice.omitted.len(),
            files.len(),
            "every file is sent or named"
        );
    }

    // Unhappy paths: no such month or file, not a month, no token.
    let (status, missing) = city.get("/api/v1/city/reports/2026-09/report.html").await;
    assert_eq!(
        (status, &missing["error"]["code"]),
        (404, &Value::from("not_found"))
    );
    let (status, missing) = city.get("/api/v1/city/reports/2026-10/secrets.txt").await;
    assert_eq!(status, 404, "{missing}");
    let (status, bad) = city.get("/api/v1/city/reports/2026-13/report.html").await;
    assert_eq!(
        (status, &bad["error"]["field"]),
        (422, &Value::from("month"))
    );
    let anonymous = reqwest::get(format!("{}/api/v1/city/reports", city.base))
        .await
        .expect("request");
    assert_eq!(anonymous.status().as_u16(), 401);
}
