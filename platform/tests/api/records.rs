//! Business records are evidence: the database itself refuses to change them.

use diesel::prelude::*;

use crate::helpers::TestApp;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn records_cannot_be_updated_or_deleted_even_with_sql() {
    let app = TestApp::spawn().await;
    let sup = app.login("sc-sup1").await;
    let case = app.supervisor_report(&sup).await;
    let before = app.detail(&case).await["records"].clone();
    // The application's own connection, as the application's database user.
    let mut conn = app.pool.get().expect("conn");
    for sql in [
        "UPDATE case_records SET comment = 'tampered'",
        "UPDATE case_records SET to_state = 'closed' WHERE action = 'report'",
        "DELETE FROM case_records",
        "TRUNCATE case_records CASCADE",
    ] {
        let err = diesel::sql_query(sql).execute(&mut conn).expect_err(sql);
        assert!(err.to_string().contains("append-only"), "{sql}: {err}");
    }
    drop(conn);
    assert_eq!(app.detail(&case).await["records"], before);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn health_and_readiness() {
    let app = TestApp::spawn().await;
    let (status, body) = app
        .send(app.http.get(format!("{}/healthz", app.base)))
        .await;
    assert_eq!((status, body["district"].as_str()), (200, Some("330102")));
    let (status, body) = app.send(app.http.get(format!("{}/readyz", app.base))).await;
    assert_eq!((status, body["status"].as_str()), (200, Some("ready")));
    let (status, body) = app
        .send(app.http.get(format!("{}/openapi.json", app.base)))
        .await;
    assert_eq!(status, 200);
    for path in [
        "/api/v1/cases",
        "/api/v1/cases/{id}/dispatch",
        "/api/v1/queue",
        "/api/v1/media",
    ] {
        assert!(
            body["paths"].get(path).is_some(),
            "OpenAPI documents {path}"
        );
    }
    let docs = app
        .http
        .get(format!("{}/docs/", app.base))
        .send()
        .await
        .expect("docs");
    assert_eq!(docs.status(), 200);
    assert!(
        docs.text().await.expect("html").contains("swagger"),
        "the interactive API page is served"
    );
}
