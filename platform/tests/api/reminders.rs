//! Reminders: arrival on dispatch, one urge when yellow, one overdue when red — exactly
//! once per case and stage, across restarts and downtime.

use chrono::{DateTime, Duration, Utc};
use citygrid_platform::reminder::{self, Channels, Sweep};
use serde_json::{Value, json};

use crate::helpers::TestApp;

fn instant(case: &Value, field: &str) -> DateTime<Utc> {
    case[field]
        .as_str()
        .expect(field)
        .parse()
        .expect("RFC 3339")
}

/// One timer tick as if the clock read `now`: sweep, then deliver.
async fn tick(app: &TestApp, now: DateTime<Utc>) -> Sweep {
    let sweep = tokio::task::block_in_place(|| {
        let mut conn = app.pool.get().expect("conn");
        reminder::sweep_all(&mut conn, now).expect("sweep")
    });
    reminder::deliver(&app.pool, &Channels::from_tenant(&app.tenant), now)
        .await
        .expect("deliver");
    sweep
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
    let quiet = tick(&app, yellow - Duration::minutes(1)).await;
    assert_eq!((quiet.urges, quiet.overdues), (0, 0));
    let first = tick(&app, yellow + Duration::seconds(1)).await;
    assert_eq!((first.urges, first.overdues), (1, 0));
    assert_eq!(
        tick(&app, yellow + Duration::minutes(5)).await,
        Sweep::default(),
        "no second urge"
    );

    // The instance restarts (same database); time passes the deadline.
    let restarted = app.restarted_with(|_| {}).await;
    let later = tick(&restarted, red + Duration::minutes(1)).await;
    assert_eq!((later.urges, later.overdues), (0, 1));
    assert_eq!(
        tick(&restarted, red + Duration::hours(2)).await,
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

    let caught_up = tick(&app, red + Duration::days(3)).await;
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

/// What the receiver got: one header and the body of each request.
type Received = std::sync::Arc<std::sync::Mutex<Vec<(String, Vec<u8>)>>>;

/// A local webhook receiver that records what it gets.
async fn receiver(listener: std::net::TcpListener, header: &'static str) -> Received {
    receive(listener, "/hook", header).await
}

/// A local SMS gateway that records the Authorization header and the body.
async fn receiver_at(listener: std::net::TcpListener, path: &'static str) -> Received {
    receive(listener, path, "Authorization").await
}

async fn receive(
    listener: std::net::TcpListener,
    path: &'static str,
    header: &'static str,
) -> Received {
    use actix_web::{App, HttpRequest, HttpResponse, HttpServer, web};
    let seen = Received::default();
    let store = web::Data::new(seen.clone());
    let server = HttpServer::new(move || {
        App::new().app_data(store.clone()).route(
            path,
            web::post().to(
                move |req: HttpRequest, body: web::Bytes, seen: web::Data<Received>| async move {
                    let signature = req
                        .headers()
                        .get(header)
                        .and_then(|v| v.to_str().ok())
                        .unwrap_or("")
                        .to_owned();
                    seen.lock().expect("lock").push((signature, body.to_vec()));
                    HttpResponse::NoContent().finish()
                },
            ),
        )
    })
    .workers(1)
    .listen(listener)
    .expect("listen")
    .run();
    tokio::spawn(server);
    seen
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn webhook_reminders_are_signed_and_retried_until_delivered() {
    const SECRET: &str = "test-webhook-secret-0123";
    // Reserve a port and free it: the receiver is down at first.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .expect("bind")
        .local_addr()
        .expect("addr")
        .port();
    let app = TestApp::spawn_with(|t| {
        t.config.notifications.webhook_url = Some(format!("http://127.0.0.1:{port}/hook"));
        t.config.notifications.webhook_secret = Some(SECRET.into());
    })
    .await;
    let channels = Channels::from_tenant(&app.tenant);
    let case = app.dispatched_case("huanwei").await;
    let now = Utc::now();
    assert_eq!(
        reminder::deliver(&app.pool, &channels, now)
            .await
            .expect("deliver"),
        0,
        "receiver down"
    );
    let detail = app.detail(&case).await;
    let arrival = &detail["notifications"][0];
    assert_eq!(
        (
            arrival["kind"].as_str(),
            arrival["attempts"].as_i64(),
            arrival["sent_at"].is_null()
        ),
        (Some("arrival"), Some(1), true)
    );

    let seen = receiver(
        std::net::TcpListener::bind(("127.0.0.1", port)).expect("rebind the reserved port"),
        "X-CityGrid-Signature",
    )
    .await;
    assert_eq!(
        reminder::deliver(&app.pool, &channels, now + Duration::seconds(10))
            .await
            .expect("deliver"),
        0,
        "still backing off"
    );
    assert_eq!(
        reminder::deliver(&app.pool, &channels, now + Duration::seconds(31))
            .await
            .expect("deliver"),
        1,
        "retried after 30 s"
    );
    assert_eq!(
        reminder::deliver(&app.pool, &channels, now + Duration::hours(1))
            .await
            .expect("deliver"),
        0,
        "delivered once"
    );

    let got = seen.lock().expect("lock").clone();
    assert_eq!(got.len(), 1);
    let (signature, body) = &got[0];
    assert_eq!(
        signature,
        &reminder::channel::signature(SECRET.as_bytes(), body)
    );
    let payload: Value = serde_json::from_slice(body).expect("json");
    assert_eq!(
        (
            payload["district"].as_str(),
            payload["notification"]["kind"].as_str()
        ),
        (Some("330102"), Some("arrival"))
    );
    assert_eq!(payload["notification"]["case_id"], case["id"]);
    assert!(app.detail(&case).await["notifications"][0]["sent_at"].is_string());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_dispatcher_urges_by_hand() {
    let app = TestApp::spawn().await;
    let (disp, hw) = (
        app.login("sc-disp1").await,
        app.login("sc-hdl-huanwei").await,
    );
    let case = app.dispatched_case("huanwei").await;
    let (status, _) = app.step(&hw, &case, "urge", json!({})).await;
    assert_eq!(status, 403, "departments do not urge themselves");
    let case = app
        .ok_step(&disp, &case, "urge", json!({ "comment": "请今天处理" }))
        .await;
    let case = app
        .ok_step(&disp, &case, "urge", json!({ "comment": "再次催办" }))
        .await;
    let filed = app.filed_case().await;
    let (status, body) = app.step(&disp, &filed, "urge", json!({})).await;
    assert_eq!(
        (status, body["error"]["current_state"].as_str()),
        (409, Some("filed"))
    );

    tick(&app, Utc::now()).await;
    let got = kinds(&app, &case).await;
    assert_eq!(
        got,
        [
            ("arrival".to_owned(), true),
            ("manual_urge".to_owned(), true),
            ("manual_urge".to_owned(), true)
        ],
        "every manual urge is sent"
    );
    let detail = app.detail(&case).await;
    assert!(
        detail["notifications"][1]["message"]
            .as_str()
            .unwrap_or("")
            .contains("请今天处理")
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sms_reminders_go_to_the_departments_phones() {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let url = format!("http://{}/sms", listener.local_addr().expect("addr"));
    let gateway = receiver_at(listener, "/sms").await;
    let app = TestApp::spawn_with(|t| {
        t.config.notifications.sms_url = Some(url);
        t.config.notifications.sms_api_key = Some("gateway-key".into());
        let huanwei = t
            .config
            .departments
            .iter_mut()
            .find(|d| d.code == "huanwei")
            .expect("huanwei");
        huanwei.phones = vec!["13800000001".into(), "+8613800000002".into()];
    })
    .await;
    let case = app.dispatched_case("huanwei").await;
    let other = app.dispatched_case("yuanlin").await;
    let channels = Channels::from_tenant(&app.tenant);
    assert_eq!(
        reminder::deliver(&app.pool, &channels, Utc::now())
            .await
            .expect("deliver"),
        2
    );

    let got = gateway.lock().expect("lock").clone();
    assert_eq!(got.len(), 1, "only the department with phones gets an SMS");
    let (auth, body) = &got[0];
    assert_eq!(auth, "Bearer gateway-key");
    let sms: Value = serde_json::from_slice(body).expect("json");
    assert_eq!(sms["to"], json!(["13800000001", "+8613800000002"]));
    assert!(sms["text"].as_str().unwrap_or("").contains("到达"));
    assert!(
        sms["reference"]
            .as_str()
            .unwrap_or("")
            .starts_with("citygrid-330102-")
    );
    assert!(
        kinds(&app, &other).await.iter().all(|(_, sent)| *sent),
        "no phones: delivered to the log only"
    );
    assert!(
        sms["text"]
            .as_str()
            .unwrap_or("")
            .contains(&format!("case {} ", case["number"])),
        "{sms}"
    );
}
