//! Schemathesis (docs/SECURITY.md, "API fuzzing") over both OpenAPI documents, a district's
//! and the city's, against the real processes: once without a token and once with a token
//! of every role. Whatever it generates, valid or not, must get an answer the document
//! describes: never a 5xx, a documented status, the documented content type, a body of the
//! documented schema, `Retry-After` where a 429 promises it; input the schema refuses is
//! refused, and what needs a token is refused without one.
//!
//! Schemathesis is pinned in `tests/e2e/security-requirements.txt`; `ops/up` installs it
//! into the conformance kit's venv, whose Python runs it (`python -m schemathesis.cli`).
//! `CITYGRID_SCHEMATHESIS_EXAMPLES` (default 25) sets the examples per operation; a
//! failure shows schemathesis's report, with the seed and a `curl` line per finding.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Instant;

use citygrid_e2e::{World, login, png};

/// Every check schemathesis has (no 5xx; documented status, content type, schema and
/// headers; schema-invalid input refused with a 4xx; an operation that needs a token refuses
/// none or a bad one; a 405 with `Allow` for undocumented methods; …) but one:
/// `positive_data_acceptance` expects every schema-valid request to succeed, and a schema
/// cannot say what the domain refuses (a point outside the district, an unknown department,
/// a step on an old version).
const EXCLUDED_CHECKS: &str = "positive_data_acceptance";

/// Examples per operation and phase; small enough for the suite (2 cores), larger by hand.
fn examples() -> String {
    std::env::var("CITYGRID_SCHEMATHESIS_EXAMPLES").unwrap_or_else(|_| "25".into())
}

/// A schemathesis config giving real identifiers to the generator some of the time, so
/// requests get past "not found" into the handlers. `dictionaries` is name → values;
/// `bindings` is parameter (`path.id`, `body.photos[*]`) → dictionary name.
fn config(dir: &Path, name: &str, dictionaries: &[(&str, &[&str])], bindings: &[(&str, &str)]) {
    let mut text = String::new();
    for (dictionary, values) in dictionaries {
        let quoted: Vec<String> = values.iter().map(|v| format!("{v:?}")).collect();
        text.push_str(&format!(
            "[dictionaries.{dictionary}]\nvalues = [{}]\n\n",
            quoted.join(", ")
        ));
    }
    text.push_str("[parameters]\n");
    for (parameter, dictionary) in bindings {
        text.push_str(&format!(
            "{parameter:?} = {{ dictionary = {dictionary:?}, probability = 0.7 }}\n"
        ));
    }
    std::fs::write(dir.join(name), text).expect("schemathesis config");
}

/// One schemathesis run over the document at `base`/openapi.json as `who`; the failure
/// text, if it found anything.
fn schemathesis(
    python: &Path,
    dir: &Path,
    config: &str,
    base: &str,
    who: &str,
    token: Option<&str>,
) -> Result<(), String> {
    let mut command = Command::new(python);
    command
        .args(["-m", "schemathesis.cli", "--config-file", config, "run"])
        .arg(format!("{base}/openapi.json"))
        .args(["--checks", "all", "--exclude-checks", EXCLUDED_CHECKS])
        .args(["--max-examples", &examples()])
        // One worker: hypothesis parses sources with `ast` from every worker thread, which
        // CPython 3.11 before 3.11.8 can fail at ("AST constructor recursion depth mismatch").
        .args([
            "--workers",
            "1",
            "--generation-database",
            "none",
            "--no-color",
        ])
        .args(["--request-timeout", "30", "--max-failures", "20"])
        .current_dir(dir);
    if let Some(token) = token {
        command.args(["--header", &format!("Authorization: Bearer {token}")]);
    }
    let started = Instant::now();
    let output = command
        .output()
        .unwrap_or_else(|e| panic!("run {}: {e}", python.display()));
    let summary = String::from_utf8_lossy(&output.stdout);
    println!(
        "schemathesis {base} as {who}: {} in {:.0?}; {}",
        output.status,
        started.elapsed(),
        summary
            .lines()
            .rev()
            .find(|l| l.contains("generated"))
            .unwrap_or("")
            .trim()
    );
    if output.status.success() {
        return Ok(());
    }
    Err(format!(
        "schemathesis found failures in {base}/openapi.json as {who} ({}):\n{summary}\n--- stderr\n{}",
        output.status,
        String::from_utf8_lossy(&output.stderr)
    ))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn schemathesis_finds_nothing_for_anyone_in_either_document() {
    let python = crate::conformance::kit_python().unwrap_or_else(|missing| panic!("{missing}"));
    let mut world = World::new().await;
    let city = world.city().await;
    let district = world.district("330102").await;
    let dir: PathBuf = std::env::temp_dir().join(format!(
        "citygrid-schemathesis-{}",
        uuid::Uuid::new_v4().simple()
    ));
    std::fs::create_dir_all(&dir).expect("temp dir");

    // Something real to point at: a dispatched case and a stored photo.
    let case = district.dispatched_case("schemathesis").await;
    let id = case["id"].as_str().expect("case id").to_owned();
    let photo = login(&district.base, &district.user("supervisor"))
        .await
        .upload(png("schemathesis"))
        .await;
    config(
        &dir,
        "district.toml",
        &[("case", &[&id]), ("photo", &[&photo])],
        &[
            ("path.id", "case"),
            ("path.sha256", "photo"),
            ("body.photos[*]", "photo"),
            ("body.media[*]", "photo"),
        ],
    );
    config(
        &dir,
        "city.toml",
        &[
            ("case", &[&id]),
            ("district", &["330102", "330105", "330106"]),
        ],
        &[
            ("path.id", "case"),
            ("path.district", "district"),
            ("query.district", "district"),
        ],
    );

    // Who calls: nobody, then each role. The admin last: it may revoke tokens.
    let mut runs: Vec<(&str, String, &str, Option<String>)> = Vec::new();
    for (base, config) in [(&district.base, "district.toml"), (&city.base, "city.toml")] {
        runs.push((config, base.clone(), "anonymous", None));
    }
    for role in [
        "supervisor",
        "operator",
        "dispatcher",
        "handler",
        "leader",
        "admin",
    ] {
        let token = login(&district.base, &district.user(role))
            .await
            .token()
            .to_owned();
        runs.push(("district.toml", district.base.clone(), role, Some(token)));
    }
    for (role, user) in [
        ("city_supervisor", "hz-csup1"),
        ("city_leader", "hz-clead1"),
    ] {
        let token = login(&city.base, user).await.token().to_owned();
        runs.push(("city.toml", city.base.clone(), role, Some(token)));
    }

    let started = Instant::now();
    let failures: Vec<String> = tokio::task::spawn_blocking(move || {
        let failures = runs
            .iter()
            .filter_map(|(config, base, who, token)| {
                schemathesis(&python, &dir, config, base, who, token.as_deref()).err()
            })
            .collect();
        let _ = std::fs::remove_dir_all(&dir);
        failures
    })
    .await
    .expect("the runs' thread");
    println!("schemathesis: every run in {:.0?}", started.elapsed());
    assert!(
        failures.is_empty(),
        "{}\n--- district errors\n{}\n--- city errors\n{}",
        failures.join("\n\n"),
        errors(&district.process.log()),
        errors(&city.process.log())
    );
}

/// The last 40 error lines of a process's log (a 5xx is logged there with its cause).
fn errors(log: &str) -> String {
    let all: Vec<&str> = log
        .lines()
        .filter(|l| l.contains("\"level\":\"ERROR\"") && l.contains("request failed"))
        .collect();
    all[all.len().saturating_sub(40)..].join("\n")
}
