//! `citygrid demo`: drives a dozen cases through the running district instances of the
//! sample city over HTTP — the same calls a supervisor's app or an operator's desk makes —
//! and prints what happened and how to sign in.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::Duration;

use citygrid_exchange::api::CityRole;
use citygrid_platform::case::steps::Urgency;
use citygrid_platform::case::workflow::Role;
use citygrid_platform::config::Tenant;
use citygrid_platform::manual::parse_category;
use indicatif::{ProgressBar, ProgressStyle};
use secrecy::ExposeSecret;
use serde_json::{Value, json};

use crate::client::{self, Api, Session};

/// The sample city's files, as the demo and the simulator read them.
#[derive(clap::Args)]
pub struct SampleCity {
    /// The city file (its name, users and API address).
    #[arg(long, default_value = "tenants/hangzhou/city.toml")]
    pub city: PathBuf,
    /// The district tenant files (the demo and the simulator play every role, so they read
    /// the districts' seed users; the city itself never does).
    #[arg(
        long = "district",
        default_values = [
            "tenants/hangzhou/districts/330102.toml",
            "tenants/hangzhou/districts/330105.toml",
            "tenants/hangzhou/districts/330106.toml",
        ]
    )]
    pub districts: Vec<PathBuf>,
}

#[derive(clap::Args)]
pub struct DemoArgs {
    #[command(flatten)]
    sample: SampleCity,
    /// Seconds to wait for each instance to become ready.
    #[arg(long, default_value_t = 60)]
    wait: u64,
}

/// The seed users the demo acts as, found by role in the tenant file.
struct Cast {
    supervisor: Session,
    second_supervisor: Session,
    operator: Session,
    dispatcher: Session,
    handlers: BTreeMap<String, Session>,
}

fn seed_user(
    tenant: &Tenant,
    role: Role,
    nth: usize,
) -> Result<&citygrid_platform::config::SeedUser, String> {
    tenant
        .config
        .users
        .iter()
        .filter(|u| u.roles.iter().any(|r| r == role.as_str()))
        .nth(nth)
        .ok_or_else(|| {
            format!(
                "{}: the demo needs seed user #{} with role {}",
                tenant.file.display(),
                nth + 1,
                role.as_str()
            )
        })
}

async fn sign_in(api: &Api, tenant: &Tenant, role: Role, nth: usize) -> Result<Session, String> {
    let user = seed_user(tenant, role, nth)?;
    api.login(&user.username, user.password.expose_secret())
        .await
}

/// The departments whose handlers act in the demo: sanitation (A), landscaping (D's wrong
/// dispatch) and the one the manual names for C, a broken 上水井盖 (the water utility).
fn acting_departments(tenant: &Tenant) -> Result<Vec<String>, String> {
    let cover = parse_category("component:0101").ok_or("no category component:0101")?;
    let row = tenant.manual.row(&cover, Urgency::Urgent).ok_or_else(|| {
        format!(
            "{}: the manual has no row for component:0101",
            tenant.file.display()
        )
    })?;
    Ok(vec![
        "huanwei".into(),
        "yuanlin".into(),
        row.department_for(None),
    ])
}

async fn cast(api: &Api, tenant: &Tenant) -> Result<Cast, String> {
    let acting = acting_departments(tenant)?;
    let mut handlers = BTreeMap::new();
    for user in tenant
        .config
        .users
        .iter()
        .filter(|u| u.roles.iter().any(|r| r == "handler"))
    {
        if let Some(department) = user.department.as_ref().filter(|d| acting.contains(d)) {
            handlers.insert(
                department.clone(),
                api.login(&user.username, user.password.expose_secret())
                    .await?,
            );
        }
    }
    Ok(Cast {
        supervisor: sign_in(api, tenant, Role::Supervisor, 0).await?,
        second_supervisor: sign_in(api, tenant, Role::Supervisor, 1).await?,
        operator: sign_in(api, tenant, Role::Operator, 0).await?,
        dispatcher: sign_in(api, tenant, Role::Dispatcher, 0).await?,
        handlers,
    })
}

fn handler<'a>(cast: &'a Cast, department: &str) -> Result<&'a Session, String> {
    cast.handlers
        .get(department)
        .ok_or_else(|| format!("no seed handler for department {department}"))
}

/// The supervisor who does a public report's on-site tasks: the one whose patrol area
/// holds its cell, as the district assigns them (any other is refused), else the second.
fn on_site<'a>(cast: &'a Cast, tenant: &Tenant, case: &Value) -> &'a Session {
    let area = case["cell_code"]
        .as_str()
        .and_then(|cell| citygrid_platform::patrol::responsible(&tenant.config.patrols, cell));
    match area {
        Some(area) if area.supervisor == cast.second_supervisor.username => &cast.second_supervisor,
        Some(area) if area.supervisor == cast.supervisor.username => &cast.supervisor,
        _ => &cast.second_supervisor,
    }
}

fn category(kind: &str, code: &str) -> Value {
    json!({ "kind": kind, "major": &code[..2], "minor": &code[2..] })
}

/// Four cases per district: a rework, a rejected duplicate, a verified public report with
/// call-back, and a wrong dispatch returned and re-dispatched (left open).
async fn drive_district(tenant: &Tenant, api: &Api, progress: &ProgressBar) -> Result<(), String> {
    let cast = cast(api, tenant).await?;
    let (lon, lat) = tenant.sample_point();
    let street = tenant.config.streets[0].code.clone();
    let code = tenant.code();
    let step = |msg: String| progress.set_message(msg);

    // A: exposed rubbish, handled, fails the check once, reworked, closed.
    step(format!("{code}: exposed rubbish, with rework"));
    let photo = cast
        .supervisor
        .upload(client::photo(&format!("{code}-a-report")))
        .await?;
    let a = cast
        .supervisor
        .report(json!({ "description": "暴露垃圾：路边堆放生活垃圾约2立方米", "lon": lon, "lat": lat,
            "street": street, "address": "示例路 12 号旁", "category": category("event", "0102"), "photos": [photo] }))
        .await?;
    let a = cast
        .operator
        .step(&a, "file", json!({ "category": category("event", "0102") }))
        .await?;
    let a = cast
        .dispatcher
        .step(&a, "dispatch", json!({ "department": "huanwei" }))
        .await?;
    let fix = handler(&cast, "huanwei")?
        .upload(client::photo(&format!("{code}-a-fix1")))
        .await?;
    let a = handler(&cast, "huanwei")?
        .step(&a, "handle", json!({ "comment": "已清运", "media": [fix] }))
        .await?;
    let a = cast
        .second_supervisor
        .step(
            &a,
            "check",
            json!({ "passed": false, "comment": "仍有残留垃圾" }),
        )
        .await?;
    let fix = handler(&cast, "huanwei")?
        .upload(client::photo(&format!("{code}-a-fix2")))
        .await?;
    let a = handler(&cast, "huanwei")?
        .step(
            &a,
            "handle",
            json!({ "comment": "已彻底清理", "media": [fix] }),
        )
        .await?;
    let a = cast
        .second_supervisor
        .step(&a, "check", json!({ "passed": true }))
        .await?;
    cast.operator.step(&a, "close", json!({})).await?;
    progress.inc(1);

    // B: the same rubbish reported again: rejected as a duplicate of A.
    step(format!("{code}: duplicate report"));
    let photo = cast
        .second_supervisor
        .upload(client::photo(&format!("{code}-b-report")))
        .await?;
    let b = cast
        .second_supervisor
        .report(json!({ "description": "路边垃圾堆放", "lon": lon, "lat": lat, "photos": [photo] }))
        .await?;
    cast.operator
        .step(
            &b,
            "reject",
            json!({ "reason": "duplicate", "duplicate_of": a["id"], "comment": "与前案重复" }),
        )
        .await?;
    progress.inc(1);

    // C: a citizen reports a broken water-main cover; verified, sent where the manual says
    // (the water utility), fixed, called back, closed.
    step(format!(
        "{code}: public report with verification and call-back"
    ));
    let c = client::public_report(
        api,
        json!({ "description": "人行道上水井盖破损，有行人绊倒风险", "lon": lon, "lat": lat,
            "reporter_phone": "13800000000", "category": category("component", "0101") }),
    )
    .await?;
    let c = cast
        .operator
        .step(
            &c,
            "request-verification",
            json!({ "comment": "请现场核实" }),
        )
        .await?;
    let c = on_site(&cast, tenant, &c)
        .step(
            &c,
            "verify",
            json!({ "confirmed": true, "comment": "属实" }),
        )
        .await?;
    let c = cast
        .operator
        .step(
            &c,
            "file",
            json!({ "category": category("component", "0101"), "urgency": "urgent" }),
        )
        .await?;
    let c = cast.dispatcher.step(&c, "dispatch", json!({})).await?;
    let water = handler(&cast, c["department_code"].as_str().unwrap_or_default())?;
    let fix = water
        .upload(client::photo(&format!("{code}-c-fix")))
        .await?;
    let c = water
        .step(
            &c,
            "handle",
            json!({ "comment": "已更换井盖", "media": [fix] }),
        )
        .await?;
    let c = on_site(&cast, tenant, &c)
        .step(&c, "check", json!({ "passed": true }))
        .await?;
    let c = cast
        .operator
        .step(
            &c,
            "callback",
            json!({ "satisfied": true, "comment": "市民表示满意" }),
        )
        .await?;
    cast.operator.step(&c, "close", json!({})).await?;
    progress.inc(1);

    // D: illegal small ads sent to landscaping by mistake, returned, re-dispatched: open.
    step(format!("{code}: wrong dispatch returned"));
    let photo = cast
        .supervisor
        .upload(client::photo(&format!("{code}-d-report")))
        .await?;
    let d = cast
        .supervisor
        .report(json!({ "description": "电线杆上张贴非法小广告", "lon": lon, "lat": lat, "photos": [photo] }))
        .await?;
    let d = cast
        .operator
        .step(&d, "file", json!({ "category": category("event", "0201") }))
        .await?;
    let d = cast
        .dispatcher
        .step(&d, "dispatch", json!({ "department": "yuanlin" }))
        .await?;
    let d = handler(&cast, "yuanlin")?
        .step(
            &d,
            "return",
            json!({ "reason": "非园林职责，应由城管执法处理" }),
        )
        .await?;
    cast.dispatcher
        .step(&d, "dispatch", json!({ "department": "zhifa" }))
        .await?;
    progress.inc(1);
    Ok(())
}

async fn summary(tenant: &Tenant, api: &Api) -> Result<String, String> {
    let operator = sign_in(api, tenant, Role::Operator, 0).await?;
    const PAGE: usize = 200;
    let page = operator.get(&format!("/api/v1/cases?limit={PAGE}")).await?;
    let items = page["items"].as_array().cloned().unwrap_or_default();
    let mut by_state: BTreeMap<String, usize> = BTreeMap::new();
    let mut records = 0;
    let mut reworks = 0;
    let mut lights: BTreeMap<String, usize> = BTreeMap::new();
    let mut reminders = (0usize, 0usize);
    for case in &items {
        if let Some(light) = case["light"].as_str() {
            *lights.entry(light.to_owned()).or_default() += 1;
        }
        *by_state
            .entry(case["state"].as_str().unwrap_or("?").to_owned())
            .or_default() += 1;
        reworks += case["rework_count"].as_i64().unwrap_or(0);
        let id = case["id"].as_str().unwrap_or_default();
        let detail = operator.get(&format!("/api/v1/cases/{id}")).await?;
        records += detail["records"].as_array().map_or(0, Vec::len);
        for note in detail["notifications"].as_array().into_iter().flatten() {
            reminders.0 += 1;
            reminders.1 += usize::from(note["sent_at"].is_string());
        }
    }
    let states = by_state
        .iter()
        .map(|(s, n)| format!("{s} {n}"))
        .collect::<Vec<_>>()
        .join(", ");
    let open = lights
        .iter()
        .map(|(l, n)| format!("{l} {n}"))
        .collect::<Vec<_>>()
        .join(", ");
    let open = if open.is_empty() {
        "none".to_owned()
    } else {
        open
    };
    let leader = sign_in(api, tenant, Role::Leader, 0).await?;
    let exchange = leader.get("/api/v1/exchange/status").await?;
    Ok(format!(
        "  {} {:<6} {} cases ({states}); {records} business records; {reworks} rework(s); open timed cases: {open}; reminders {} written, {} delivered; to the city: {} messages written, confirmed up to {}, backlog {}{}",
        tenant.code(),
        tenant.config.district.name,
        // After `citygrid simulate`, a district has months of cases: this reads a page.
        if items.len() == PAGE {
            format!("the latest {PAGE}")
        } else {
            items.len().to_string()
        },
        reminders.0,
        reminders.1,
        exchange["last_seq"],
        exchange["last_confirmed"],
        exchange["backlog"],
        if exchange["broker_connected"] == true {
            ""
        } else {
            " (broker not connected)"
        }
    ))
}

/// Asks `probe` every 250 ms until it finds something, for at most `seconds`.
async fn poll<F, Fut>(what: &str, seconds: u64, mut probe: F) -> Result<Value, String>
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Result<Option<Value>, String>>,
{
    let deadline = std::time::Instant::now() + Duration::from_secs(seconds);
    loop {
        if let Some(found) = probe().await? {
            return Ok(found);
        }
        if std::time::Instant::now() > deadline {
            return Err(format!("{what}: not after {seconds}s"));
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
}

/// Signs in to the city API as the city file's first seed user with `role`.
async fn city_session(
    city: &citygrid_exchange::config::City,
    role: CityRole,
) -> Result<Session, String> {
    let user = city
        .file
        .users
        .iter()
        .find(|u| u.roles.contains(&role))
        .ok_or_else(|| format!("the city file has no {}", role.as_str()))?;
    Api::new(&format!("http://{}", city.file.http.bind))
        .login(&user.username, user.password.expose_secret())
        .await
}

/// City supervision (docs/ESCALATION.md) on the district's open case: a city leader's
/// order through the city API, taken in by the district, acknowledged by the department,
/// and seen acknowledged at the city — the loop across both systems.
async fn city_supervision(
    city: &citygrid_exchange::config::City,
    tenant: &Tenant,
    api: &Api,
) -> Result<String, String> {
    let center = city_session(city, CityRole::CityLeader).await?;
    let code = tenant.code();
    let open = &format!("/api/v1/city/cases?district={code}&state=dispatched&limit=1");
    let center = &center;
    let case = poll("an open case at the city", 30, || async move {
        let page = center.get(open).await?;
        Ok(Some(page["items"][0]["case"].clone()).filter(|c| c.is_object()))
    })
    .await?;
    let id = case["case_id"].as_str().ok_or("a case without case_id")?;
    let order = center
        .post(
            "/api/v1/city/orders",
            json!({ "district": code, "case_id": id, "level": "key",
                    "text": "市领导批示:请今日处置并反馈", "acknowledge_hours": 4, "due_hours": 24 }),
        )
        .await?;
    let department = case["department_code"].as_str().unwrap_or_default();
    let user = tenant
        .config
        .users
        .iter()
        .find(|u| {
            u.roles.iter().any(|r| r == "handler") && u.department.as_deref() == Some(department)
        })
        .ok_or_else(|| format!("no seed handler of {department}"))?;
    let handler = &api
        .login(&user.username, user.password.expose_secret())
        .await?;
    let path = &format!("/api/v1/cases/{id}");
    let detail = poll("the order taken in by the district", 30, || async move {
        let detail = handler.get(path).await?;
        Ok(Some(detail).filter(|d| d["case"]["supervision_pending"] == true))
    })
    .await?;
    handler
        .step(&detail["case"], "supervision/acknowledge", json!({}))
        .await?;
    let order_id = &order["order_id"];
    let list = &format!("/api/v1/city/orders?status=all&district={code}");
    let seen = poll("the acknowledgement at the city", 30, || async move {
        let orders = center.get(list).await?;
        Ok(orders["items"]
            .as_array()
            .into_iter()
            .flatten()
            .find(|o| o["order_id"] == *order_id && o["status"] == "acknowledged")
            .cloned())
    })
    .await?;
    Ok(format!(
        "  city supervision: {} ordered case {} of {code} (level {}, order {}); the district took it in, \
         {} acknowledged it, and the city saw it acknowledged at {}",
        center.username,
        case["number"],
        seen["level"].as_str().unwrap_or("?"),
        seen["order_id"].as_str().unwrap_or("?"),
        user.username,
        seen["acknowledged_at"].as_str().unwrap_or("?")
    ))
}

/// 上级发现 (docs/ESCALATION.md) across both systems: a city supervisor reports a problem
/// at a point of the district through the city API; the district opens it as a case of
/// source `city`, runs the loop on it, and the city sees it closed.
async fn city_found(
    city: &citygrid_exchange::config::City,
    tenant: &Tenant,
    api: &Api,
) -> Result<String, String> {
    let center = city_session(city, CityRole::CitySupervisor).await?;
    let photo = center
        .upload_to("/api/v1/city/media", client::photo("city-found"))
        .await?;
    let (lon, lat) = tenant.sample_point();
    let problem = center
        .post(
            "/api/v1/city/problems",
            json!({ "category": "event:0102", "description": "市级巡查发现:绿化带内堆放建筑垃圾",
                    "lon": lon, "lat": lat, "photos": [photo] }),
        )
        .await?;
    let id = problem["case_id"]
        .as_str()
        .ok_or("a problem without case_id")?;
    let cast = cast(api, tenant).await?;
    let operator = &cast.operator;
    let path = &format!("/api/v1/cases/{id}");
    let case = poll(
        "the city's problem opened by the district",
        30,
        || async move { Ok(operator.get(path).await.ok().map(|d| d["case"].clone())) },
    )
    .await?;
    let case = cast
        .operator
        .step(
            &case,
            "file",
            json!({ "category": category("event", "0102") }),
        )
        .await?;
    let case = cast
        .dispatcher
        .step(&case, "dispatch", json!({ "department": "huanwei" }))
        .await?;
    let fix = handler(&cast, "huanwei")?
        .upload(client::photo("city-found-fix"))
        .await?;
    let case = handler(&cast, "huanwei")?
        .step(
            &case,
            "handle",
            json!({ "comment": "已清运", "media": [fix] }),
        )
        .await?;
    // The check is the patrol supervisor's of the case's cell, as the district assigns it.
    let case = on_site(&cast, tenant, &case)
        .step(&case, "check", json!({ "passed": true }))
        .await?;
    let case = cast.operator.step(&case, "close", json!({})).await?;
    let code = tenant.code();
    let list = &format!("/api/v1/city/problems?district={code}");
    let center = &center;
    let seen = poll("the closed case at the city", 30, || async move {
        let page = center.get(list).await?;
        Ok(page["items"]
            .as_array()
            .into_iter()
            .flatten()
            .find(|p| p["case_id"] == id && p["state"] == "closed")
            .cloned())
    })
    .await?;
    Ok(format!(
        "  city-found problem: {} reported {} at ({lon:.4}, {lat:.4}); the city sent it to {code}, which opened case {} (source {}), ran the loop, and the city saw it {}",
        center.username,
        seen["category"].as_str().unwrap_or("?"),
        case["number"],
        case["source"].as_str().unwrap_or("?"),
        seen["state"].as_str().unwrap_or("?")
    ))
}

/// 上报市级 (docs/ESCALATION.md): the first district's shift leader refers a case up to
/// the city, a city leader reassigns it to the second district at a point of its own, the
/// second district opens it and the first cancels its case.
async fn city_referral(
    city: &citygrid_exchange::config::City,
    (from, from_api): (&Tenant, &Api),
    (to, to_api): (&Tenant, &Api),
) -> Result<String, String> {
    let cast = cast(from_api, from).await?;
    let (lon, lat) = from.sample_point();
    let photo = cast.supervisor.upload(client::photo("referral")).await?;
    let case = cast
        .supervisor
        .report(
            json!({ "description": "道路交界处井盖破损，疑属邻区管养", "lon": lon, "lat": lat,
            "category": category("component", "0101"), "photos": [photo] }),
        )
        .await?;
    let case = cast
        .operator
        .step(
            &case,
            "file",
            json!({ "category": category("component", "0101") }),
        )
        .await?;
    let shift = sign_in(from_api, from, Role::ShiftLeader, 0).await?;
    let case = shift
        .step(
            &case,
            "refer",
            json!({ "reason": "井盖位于两区交界，管养单位在邻区，请市级协调" }),
        )
        .await?;
    let id = case["id"].as_str().ok_or("a case without id")?;
    let center = &city_session(city, CityRole::CityLeader).await?;
    let list = &format!("/api/v1/city/referrals?district={}", from.code());
    let referral = poll("the referral at the city", 30, || async move {
        let page = center.get(list).await?;
        Ok(page["items"]
            .as_array()
            .into_iter()
            .flatten()
            .find(|r| r["case_id"] == id)
            .cloned())
    })
    .await?;
    let (to_lon, to_lat) = to.sample_point();
    let decided = center
        .post(
            &format!(
                "/api/v1/city/referrals/{}/{}",
                from.code(),
                referral["record_id"]
            ),
            json!({ "outcome": "reassigned", "reason": "经核实属邻区管养，改派",
                    "district": to.code(), "lon": to_lon, "lat": to_lat }),
        )
        .await?;
    let new_id = decided["reassigned_case"]
        .as_str()
        .ok_or("a reassignment without a case")?;
    let operator = &sign_in(to_api, to, Role::Operator, 0).await?;
    let path = &format!("/api/v1/cases/{new_id}");
    let opened = poll("the reassigned case opened", 30, || async move {
        Ok(operator.get(path).await.ok().map(|d| d["case"].clone()))
    })
    .await?;
    let old = &format!("/api/v1/cases/{id}");
    let shift = &shift;
    let cancelled = poll("the referred case cancelled", 30, || async move {
        let detail = shift.get(old).await?;
        Ok(Some(detail["case"].clone()).filter(|c| c["state"] == "cancelled"))
    })
    .await?;
    Ok(format!(
        "  referral: {} of {} referred case {} to the city; {} reassigned it to {}, which opened case {} (source {}), and case {} of {} is {}",
        shift.username,
        from.code(),
        case["number"],
        center.username,
        to.code(),
        opened["number"],
        opened["source"].as_str().unwrap_or("?"),
        cancelled["number"],
        from.code(),
        cancelled["state"].as_str().unwrap_or("?")
    ))
}

pub async fn run(args: DemoArgs) -> Result<(), String> {
    let city = crate::city::load(&args.sample.city)?;
    let mut districts = Vec::new();
    for file in &args.sample.districts {
        let tenant = Tenant::load(file).map_err(|e| e.to_string())?;
        let api = Api::new(&format!("http://{}", tenant.config.http.bind));
        districts.push((tenant, api));
    }
    for (tenant, api) in &districts {
        let deadline = std::time::Instant::now() + Duration::from_secs(args.wait);
        while !api.ready().await {
            if std::time::Instant::now() > deadline {
                return Err(format!(
                    "district {} is not ready at {} after {}s",
                    tenant.code(),
                    api.base,
                    args.wait
                ));
            }
            tokio::time::sleep(Duration::from_millis(250)).await;
        }
    }
    let progress = ProgressBar::new(4 * districts.len() as u64);
    progress.set_style(
        ProgressStyle::with_template("{bar:30} {pos}/{len} cases  {msg}")
            .unwrap_or_else(|_| ProgressStyle::default_bar()),
    );
    for (tenant, api) in &districts {
        drive_district(tenant, api, &progress).await?;
    }
    progress.finish_with_message("done");
    // Give the instances' reminder timers (ops/demo runs them every 2 s) one tick to deliver.
    tokio::time::sleep(Duration::from_secs(3)).await;

    println!(
        "\nCityGrid demo — {} {} ({} districts)\n",
        city.file.city.code,
        city.file.city.name,
        districts.len()
    );
    for (tenant, api) in &districts {
        println!("{}", summary(tenant, api).await?);
        // What the instance's /healthz and log say from 1 December when next year's
        // holiday file is missing (a warning, not a refusal, until the year turns).
        if let Some(warning) = tenant.calendar_coverage(chrono::Utc::now()).warning {
            println!("    calendar warning: {warning}");
        }
    }
    if let Some((tenant, api)) = districts.first() {
        println!("\n{}", city_supervision(&city, tenant, api).await?);
        println!("{}", city_found(&city, tenant, api).await?);
    }
    if let [(from, from_api), (to, to_api), ..] = districts.as_slice() {
        let referral = city_referral(&city, (from, from_api), (to, to_api)).await?;
        println!("{referral}");
    }
    println!(
        "\nSign in (demo passwords are `demo-pass-1`; the seed users are listed in each tenant file):"
    );
    for (tenant, api) in &districts {
        let names = |role| {
            seed_user(tenant, role, 0)
                .map(|u| u.username.clone())
                .unwrap_or_default()
        };
        println!(
            "  {} {}  API {}/api/v1  docs {}/docs/  operator {}  dispatcher {}  supervisor {}",
            tenant.code(),
            tenant.config.district.name,
            api.base,
            api.base,
            names(Role::Operator),
            names(Role::Dispatcher),
            names(Role::Supervisor)
        );
    }
    let (first, api) = &districts[0];
    let op = seed_user(first, Role::Operator, 0)?;
    println!(
        "\n  curl -s -X POST {}/api/v1/auth/token -H 'content-type: application/json' -d '{{\"username\":\"{}\",\"password\":\"demo-pass-1\"}}'",
        api.base, op.username
    );
    if let Some(leader) = city.file.users.iter().find(|u| {
        u.roles
            .contains(&citygrid_exchange::api::CityRole::CityLeader)
    }) {
        println!(
            "  city {} {}: API http://{}/api/v1/city/  (sign in {}), metrics http://{}/metrics",
            city.file.city.code,
            city.file.city.name,
            city.file.http.bind,
            leader.username,
            city.file.http.bind
        );
    }
    Ok(())
}
