//! Optimistic concurrency: of many simultaneous steps on one case exactly one wins.

use serde_json::json;

use crate::helpers::{TestApp, error_code};

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn twenty_concurrent_steps_one_winner() {
    let app = TestApp::spawn().await;
    let disp = app.login("sc-disp1").await;
    let case = app.filed_case().await;

    // Twenty dispatchers' clicks at once, to different departments, all quoting the same version.
    let departments = ["huanwei", "shizheng", "yuanlin", "zhifa"];
    let attempts = (0..20).map(|i| {
        app.step(
            &disp,
            &case,
            "dispatch",
            json!({ "department": departments[i % 4] }),
        )
    });
    let results = futures::future::join_all(attempts).await;
    let winners: Vec<_> = results
        .iter()
        .filter(|(status, _)| *status == 200)
        .collect();
    assert_eq!(winners.len(), 1, "{results:?}");
    for (status, body) in results.iter().filter(|(status, _)| *status != 200) {
        assert_eq!(
            (*status, error_code(body)),
            (409, "stale_version"),
            "{body}"
        );
    }
    let detail = app.detail(&case).await;
    let dispatches: Vec<_> = detail["records"]
        .as_array()
        .expect("records")
        .iter()
        .filter(|r| r["action"] == "dispatch")
        .collect();
    assert_eq!(dispatches.len(), 1);
    assert_eq!(
        detail["case"]["version"],
        case["version"].as_i64().expect("v") + 1
    );
    assert_eq!(
        detail["case"]["department_code"], winners[0].1["department_code"],
        "the case shows the winner's department"
    );
    assert_eq!(
        dispatches[0]["details"]["department"],
        winners[0].1["department_code"]
    );
}
