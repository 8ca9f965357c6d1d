//! The tenant-isolation matrix: every route of the district API (platform/src/api/routes.rs,
//! written out below as a table and checked against the OpenAPI document, so a new route
//! cannot be left out) called with no token, tampered tokens, an expired token, another
//! district's tokens (signed with its own key, and with this district's key but naming the
//! other district), a token of each role that may not use it, and a token of each role
//! that may. Each refusal is the documented status (docs/API.md, "Auth" and "Errors") in
//! the JSON error envelope; each allowed call is neither 401 nor 403.

use chrono::Utc;
use citygrid_platform::auth::token::Keys;
use citygrid_platform::case::workflow::Role;
use citygrid_platform::config::Tenant;
use reqwest::Method;
use serde_json::{Value, json};

use crate::helpers::{LAT, LON, PASSWORD, TestApp, rubbish, tenant_path};

/// Who may call a route.
#[derive(Debug, Clone, Copy)]
enum Access {
    /// Anyone; a token is not looked at.
    Public,
    /// Anyone without a token; with one, only a valid token of this district, of one of
    /// these roles.
    Anonymous(&'static [Role]),
    /// A valid token of this district, of one of these roles.
    Signed(&'static [Role]),
    /// Anyone; the credential is in the body (a refresh token), and a bad one is 401.
    Credential,
}

use Access::{Anonymous, Credential, Public, Signed};

const ALL: &[Role] = &[
    Role::Supervisor,
    Role::Operator,
    Role::Dispatcher,
    Role::Handler,
    Role::ShiftLeader,
    Role::Leader,
    Role::Admin,
];
const SUPERVISOR: &[Role] = &[Role::Supervisor];
const OPERATOR: &[Role] = &[Role::Operator];
const DISPATCHER: &[Role] = &[Role::Dispatcher];
const HANDLER: &[Role] = &[Role::Handler];
const LEADER: &[Role] = &[Role::Leader];
const SHIFT_LEADER: &[Role] = &[Role::ShiftLeader];
/// The command centre: the city's reports are theirs to read.
const CENTRE: &[Role] = &[
    Role::Operator,
    Role::Dispatcher,
    Role::ShiftLeader,
    Role::Leader,
    Role::Admin,
];

/// Every route: method, path template, who may call it. The step routes' roles are the
/// state machine's (`Action::role`).
const ROUTES: &[(&str, &str, Access)] = &[
    ("GET", "/healthz", Public),
    ("GET", "/readyz", Public),
    ("GET", "/openapi.json", Public),
    ("GET", "/docs/", Public),
    ("POST", "/api/v1/auth/token", Public),
    ("POST", "/api/v1/auth/refresh", Credential),
    ("POST", "/api/v1/auth/logout", Public),
    (
        "POST",
        "/api/v1/users/{username}/revoke-tokens",
        Signed(&[Role::Admin]),
    ),
    ("GET", "/api/v1/categories", Signed(ALL)),
    ("GET", "/api/v1/manual", Signed(ALL)),
    ("GET", "/api/v1/queue", Signed(ALL)),
    ("GET", "/api/v1/cases/{id}/similar", Signed(ALL)),
    ("GET", "/api/v1/cases/{id}/assignments", Signed(ALL)),
    (
        "POST",
        "/api/v1/cases/{id}/task/assign",
        Signed(&[Role::Operator, Role::ShiftLeader]),
    ),
    ("GET", "/api/v1/stats/lights", Signed(ALL)),
    // Every role: the command centre sees every level, a supervisor their post row, a
    // department its row (which rows is `appraisal.rs`'s to test).
    ("GET", "/api/v1/appraisal", Signed(ALL)),
    ("GET", "/api/v1/city-reports", Signed(CENTRE)),
    ("GET", "/api/v1/city-reports/{month}/{file}", Signed(CENTRE)),
    (
        "GET",
        "/api/v1/exchange/status",
        Signed(&[Role::Leader, Role::Admin]),
    ),
    (
        "GET",
        "/api/v1/exchange/rejections",
        Signed(&[Role::Leader, Role::Admin]),
    ),
    ("GET", "/api/v1/geo/geocode", Anonymous(ALL)),
    ("GET", "/api/v1/geo/reverse", Anonymous(ALL)),
    ("GET", "/api/v1/components", Signed(ALL)),
    ("GET", "/api/v1/components/{id}", Signed(ALL)),
    (
        "PATCH",
        "/api/v1/components/{id}",
        Signed(&[Role::Handler, Role::Admin]),
    ),
    ("POST", "/api/v1/media", Anonymous(ALL)),
    ("GET", "/api/v1/media/{sha256}", Signed(ALL)),
    (
        "POST",
        "/api/v1/cases",
        Anonymous(&[Role::Supervisor, Role::Operator]),
    ),
    ("GET", "/api/v1/cases", Signed(ALL)),
    ("GET", "/api/v1/cases/{id}", Signed(ALL)),
    (
        "POST",
        "/api/v1/cases/{id}/request-verification",
        Signed(OPERATOR),
    ),
    ("POST", "/api/v1/cases/{id}/verify", Signed(SUPERVISOR)),
    ("POST", "/api/v1/cases/{id}/file", Signed(OPERATOR)),
    ("POST", "/api/v1/cases/{id}/reject", Signed(OPERATOR)),
    ("POST", "/api/v1/cases/{id}/dispatch", Signed(DISPATCHER)),
    ("POST", "/api/v1/cases/{id}/return", Signed(HANDLER)),
    ("POST", "/api/v1/cases/{id}/handle", Signed(HANDLER)),
    ("POST", "/api/v1/cases/{id}/check", Signed(SUPERVISOR)),
    ("POST", "/api/v1/cases/{id}/callback", Signed(OPERATOR)),
    ("POST", "/api/v1/cases/{id}/close", Signed(OPERATOR)),
    ("POST", "/api/v1/cases/{id}/refer", Signed(SHIFT_LEADER)),
    (
        "POST",
        "/api/v1/cases/{id}/cancellation/request",
        Signed(OPERATOR),
    ),
    (
        "POST",
        "/api/v1/cases/{id}/cancellation/approve",
        Signed(SHIFT_LEADER),
    ),
    (
        "POST",
        "/api/v1/cases/{id}/cancellation/reject",
        Signed(SHIFT_LEADER),
    ),
    (
        "POST",
        "/api/v1/cases/{id}/extension/request",
        Signed(HANDLER),
    ),
    (
        "POST",
        "/api/v1/cases/{id}/extension/approve",
        Signed(DISPATCHER),
    ),
    (
        "POST",
        "/api/v1/cases/{id}/extension/reject",
        Signed(DISPATCHER),
    ),
    (
        "POST",
        "/api/v1/cases/{id}/suspension/request",
        Signed(HANDLER),
    ),
    (
        "POST",
        "/api/v1/cases/{id}/suspension/approve",
        Signed(DISPATCHER),
    ),
    (
        "POST",
        "/api/v1/cases/{id}/suspension/reject",
        Signed(DISPATCHER),
    ),
    ("POST", "/api/v1/cases/{id}/resume", Signed(DISPATCHER)),
    ("POST", "/api/v1/cases/{id}/urge", Signed(DISPATCHER)),
    ("POST", "/api/v1/cases/{id}/supervise", Signed(LEADER)),
    (
        "POST",
        "/api/v1/cases/{id}/supervision/acknowledge",
        Signed(HANDLER),
    ),
];

/// A body the route accepts, so what decides the answer is the caller. Steps quote
/// version 0, never the case's: a caller of the right role gets 409 `stale_version` (the
/// role is checked first) and the case is never changed by the matrix.
fn body(path: &str) -> Option<Value> {
    let step = path.strip_prefix("/api/v1/cases/{id}/");
    let reason = json!({ "version": 0, "reason": "矩阵测试" });
    Some(match (path, step) {
        ("/api/v1/auth/token", _) => json!({ "username": "sc-op1", "password": PASSWORD }),
        ("/api/v1/auth/refresh" | "/api/v1/auth/logout", _) => {
            json!({ "refresh_token": "0".repeat(64) })
        }
        ("/api/v1/cases", _) => json!({ "description": "暴露垃圾", "lon": LON, "lat": LAT }),
        // An edit quoting version 0: a caller who may gets 404, 409 or 422, never a change.
        ("/api/v1/components/{id}", _) => json!({ "version": 0 }),
        (_, Some("verify")) => json!({ "version": 0, "confirmed": true }),
        (_, Some("file")) => json!({ "version": 0, "category": rubbish() }),
        (_, Some("reject")) => json!({ "version": 0, "reason": "invalid" }),
        (_, Some("dispatch")) => json!({ "version": 0, "department": "huanwei" }),
        (_, Some("check")) => json!({ "version": 0, "passed": true }),
        (_, Some("callback")) => json!({ "version": 0, "satisfied": true }),
        (_, Some("task/assign")) => json!({ "supervisor": "sc-sup1", "reason": "矩阵测试" }),
        (_, Some("extension/request")) => {
            json!({ "version": 0, "minutes": 60, "reason": "矩阵测试" })
        }
        (_, Some("supervise")) => json!({
            "version": 0, "level": "general", "text": "矩阵测试",
            "due_at": (Utc::now() + chrono::Duration::days(3)).to_rfc3339(),
        }),
        (
            _,
            Some(
                "return"
                | "refer"
                | "cancellation/request"
                | "cancellation/reject"
                | "extension/reject"
                | "suspension/request"
                | "suspension/reject",
            ),
        ) => reason,
        (_, Some(_)) => json!({ "version": 0 }),
        _ => return None,
    })
}

/// A user of each role (the supervisor is not the case's reporter; the handler works for
/// the department holding it).
fn user_of(role: Role) -> &'static str {
    match role {
        Role::Supervisor => "sc-sup2",
        Role::Operator => "sc-op1",
        Role::Dispatcher => "sc-disp1",
        Role::Handler => "sc-hdl-huanwei",
        Role::ShiftLeader => "sc-shift1",
        Role::Leader => "sc-lead1",
        Role::Admin => "sc-admin1",
    }
}

/// The claims inside a token this instance issued (whatever they hold), to forge from.
fn claims(app: &TestApp, token: &str) -> Value {
    Keys::new(app.tenant.jwt_secret())
        .verify(token)
        .expect("a token of this instance")
}

/// Tokens that must not get in, and the answer each gets: (what, token, status, code).
fn bad_tokens(
    app: &TestApp,
    admin: &str,
    supervisor: &str,
) -> Vec<(&'static str, String, u16, &'static str)> {
    let keys = Keys::new(app.tenant.jwt_secret());
    let now = Utc::now().timestamp();
    let parts: Vec<&str> = supervisor.split('.').collect();
    let admin_parts: Vec<&str> = admin.split('.').collect();
    // A character in the middle of the signature changed.
    let mut signature = parts[2].to_owned();
    let mid = signature.len() / 2;
    let flipped = if &signature[mid..=mid] == "A" {
        "B"
    } else {
        "A"
    };
    signature.replace_range(mid..=mid, flipped);

    let mut expired = claims(app, admin);
    expired["iat"] = json!(now - 7200);
    expired["exp"] = json!(now - 3600);

    let mut gongshu = claims(app, admin);
    gongshu["district"] = json!("330105");
    let gongshu_tenant = Tenant::load(&tenant_path("330105")).expect("330105");
    let gongshu_keys = Keys::new(gongshu_tenant.jwt_secret());

    vec![
        (
            "signature altered",
            format!("{}.{}.{signature}", parts[0], parts[1]),
            401,
            "unauthenticated",
        ),
        (
            "an admin's claims under a supervisor's signature",
            format!("{}.{}.{}", parts[0], admin_parts[1], parts[2]),
            401,
            "unauthenticated",
        ),
        (
            "alg none",
            // {"alg":"none","typ":"JWT"}
            format!("eyJhbGciOiJub25lIiwidHlwIjoiSldUIn0.{}.", admin_parts[1]),
            401,
            "unauthenticated",
        ),
        (
            "not a JWT",
            "not-a-token".to_owned(),
            401,
            "unauthenticated",
        ),
        (
            "expired an hour ago",
            keys.issue(&expired).expect("sign"),
            401,
            "unauthenticated",
        ),
        (
            "330105's, signed with 330105's key",
            gongshu_keys.issue(&gongshu).expect("sign"),
            401,
            "unauthenticated",
        ),
        (
            "naming 330105, signed with this district's key",
            keys.issue(&gongshu).expect("sign"),
            403,
            "wrong_district",
        ),
    ]
}

/// The refusal's envelope: `{"error": {"code", "message"}}` with the expected code.
fn refused(answer: &(u16, Value), status: u16, code: &str, what: &str) {
    let (got, body) = answer;
    assert_eq!(*got, status, "{what}: {body}");
    assert_eq!(body["error"]["code"], code, "{what}: {body}");
    assert!(
        body["error"]["message"]
            .as_str()
            .is_some_and(|m| !m.is_empty()),
        "{what}: {body}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_route_refuses_strangers_forgeries_and_the_wrong_roles() {
    let app = TestApp::spawn().await;

    // The table is every route: what the OpenAPI document lists, plus the document itself
    // and its page.
    let (status, doc) = app
        .send(app.http.get(format!("{}/openapi.json", app.base)))
        .await;
    assert_eq!(status, 200);
    let mut documented: Vec<String> = doc["paths"]
        .as_object()
        .expect("paths")
        .iter()
        .flat_map(|(path, methods)| {
            methods
                .as_object()
                .expect("methods")
                .keys()
                .map(move |m| format!("{} {path}", m.to_uppercase()))
        })
        .collect();
    documented.extend(["GET /openapi.json".to_owned(), "GET /docs/".to_owned()]);
    documented.sort();
    let mut table: Vec<String> = ROUTES.iter().map(|(m, p, _)| format!("{m} {p}")).collect();
    table.sort();
    assert_eq!(table, documented, "the matrix and the routes differ");
    // And it says who may call each: no token needed, a token or none, a token.
    for (method, path, access) in ROUTES {
        let Some(operation) = doc["paths"][path].get(method.to_lowercase()) else {
            continue; // the document itself and its page
        };
        let wanted = match access {
            Public | Credential => json!([]),
            Anonymous(_) => json!([{}, { "bearer": [] }]),
            Signed(_) => json!([{ "bearer": [] }]),
        };
        assert_eq!(operation["security"], wanted, "{method} {path}");
    }

    let case = app.dispatched_case("huanwei").await;
    let id = case["id"].as_str().expect("id").to_owned();
    let mut tokens = Vec::new();
    for role in ALL {
        tokens.push((*role, app.login(user_of(*role)).await));
    }
    let token_of = |role: Role| {
        tokens
            .iter()
            .find(|(r, _)| *r == role)
            .map(|(_, t)| t.clone())
            .expect("a token")
    };
    let sha256 = app.photo(&token_of(Role::Supervisor)).await;
    let png = crate::helpers::png("isolation-matrix");
    let bad = bad_tokens(&app, &token_of(Role::Admin), &token_of(Role::Supervisor));

    let mut checked = 0;
    for (method, template, access) in ROUTES {
        // Revoking the tokens of nobody (404 for the admin) leaves the matrix's tokens be.
        let path = template
            .replace("{id}", &id)
            .replace("{sha256}", &sha256)
            .replace("{username}", "nobody-in-the-matrix")
            .replace("{month}", "2026-10")
            .replace("{file}", "report.html");
        let send = |token: Option<String>| {
            let (app, path, png) = (&app, path.clone(), png.clone());
            async move {
                let method = Method::from_bytes(method.as_bytes()).expect("method");
                let mut request = app.http.request(method, format!("{}{path}", app.base));
                if let Some(body) = body(template) {
                    request = request.json(&body);
                } else if *template == "/api/v1/media" {
                    request = request.header("content-type", "image/png").body(png);
                }
                if let Some(token) = token {
                    request = request.bearer_auth(token);
                }
                app.send(request).await
            }
        };
        let what = |who: &str| format!("{method} {template} {who}");

        // No token.
        let answer = send(None).await;
        match access {
            Signed(_) | Credential => {
                refused(&answer, 401, "unauthenticated", &what("without a token"))
            }
            Public | Anonymous(_) => assert!(
                !matches!(answer.0, 401 | 403),
                "{}: {}",
                what("without a token"),
                answer.1
            ),
        }
        let allowed = match access {
            Public | Credential => continue,
            Signed(roles) | Anonymous(roles) => *roles,
        };
        // Forged, expired and foreign tokens.
        for (who, token, status, code) in &bad {
            let answer = send(Some(token.clone())).await;
            refused(&answer, *status, code, &what(who));
            checked += 1;
        }
        // Each role: refused unless it may.
        for role in ALL {
            let answer = send(Some(token_of(*role))).await;
            let who = format!("as {}", role.as_str());
            if allowed.contains(role) {
                assert!(
                    !matches!(answer.0, 401 | 403),
                    "{}: {}",
                    what(&who),
                    answer.1
                );
            } else {
                refused(&answer, 403, "wrong_role", &what(&who));
            }
            checked += 1;
        }
    }
    assert!(checked > 300, "{checked} calls checked");

    // The matrix changed nothing: the case is as it was.
    let detail = app.detail(&case).await;
    assert_eq!(detail["case"]["version"], case["version"], "{detail}");
}
