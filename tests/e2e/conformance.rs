//! The conformance kit (schemas/conformance): a district written in Python from the schema
//! files and AMQP.md alone joins a real city exchange, runs a case through the loop, has
//! every negative example refused, and reconciles. Its Python is the venv `ops/up` makes in
//! the build directory (`CITYGRID_CONFORMANCE_PYTHON` names another interpreter).

use std::path::PathBuf;
use std::process::Command;
use std::time::Instant;

use citygrid_e2e::World;
use citygrid_kit::broker::{self, Account};
use citygrid_test_support::repo;
use secrecy::ExposeSecret;

const VENV_PYTHON: &str = "conformance-venv/bin/python";

/// `CITYGRID_CONFORMANCE_PYTHON`, else the venv of `ops/up` in `CARGO_TARGET_DIR` or in a
/// directory above this test binary (`<target>/debug/deps/e2e-…`), else the repository's
/// `target/`. Err lists where it looked.
pub(crate) fn kit_python() -> Result<PathBuf, String> {
    let mut candidates: Vec<PathBuf> = Vec::new();
    if let Some(python) = std::env::var_os("CITYGRID_CONFORMANCE_PYTHON") {
        candidates.push(python.into());
    }
    if let Some(dir) = std::env::var_os("CARGO_TARGET_DIR") {
        candidates.push(repo().join(dir).join(VENV_PYTHON));
    }
    if let Ok(exe) = std::env::current_exe() {
        candidates.extend(exe.ancestors().skip(1).map(|d| d.join(VENV_PYTHON)));
    }
    candidates.push(repo().join("target").join(VENV_PYTHON));
    candidates
        .iter()
        .find(|p| p.exists())
        .cloned()
        .ok_or_else(|| {
            let tried: Vec<String> = candidates.iter().map(|p| p.display().to_string()).collect();
            format!(
                "the conformance kit's Python is missing: run ops/up (it makes \
                 ${{CARGO_TARGET_DIR:-target}}/conformance-venv) or set \
                 CITYGRID_CONFORMANCE_PYTHON; looked for {}",
                tried.join(", ")
            )
        })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_district_built_from_the_standard_alone_passes_the_conformance_kit() {
    let python = kit_python().unwrap_or_else(|missing| panic!("{missing}"));
    let mut world = World::new().await;
    let city = world.city().await;
    let account = Account::new("citygrid-330106", "demo-only-amqp-330106");
    let amqp = broker::amqp_uri("127.0.0.1:5672", &account, &world.vhost)
        .expose_secret()
        .to_owned();
    let dir = |p: &str| repo().join(p).display().to_string();
    let args = vec![
        dir("schemas/conformance/citygrid_conformance.py"),
        "district".into(),
        "--amqp".into(),
        amqp,
        "--district".into(),
        "330106".into(),
        "--city-api".into(),
        city.base.clone(),
        "--city-user".into(),
        "hz-clead1".into(),
        "--city-password".into(),
        citygrid_e2e::PASSWORD.into(),
        "--examples".into(),
        dir("schemas/examples"),
        "--schemas".into(),
        dir("schemas/json/v1"),
    ];
    let started = Instant::now();
    let output = tokio::task::spawn_blocking(move || {
        Command::new(&python)
            .args(&args)
            .current_dir(repo())
            .output()
            .unwrap_or_else(|e| panic!("run {}: {e}", python.display()))
    })
    .await
    .expect("the kit's thread");
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success(),
        "the conformance kit failed ({}, after {:?}):\n--- stdout\n{stdout}\n--- stderr\n{}\n--- city log\n{}",
        output.status,
        started.elapsed(),
        String::from_utf8_lossy(&output.stderr),
        city.process.log()
    );
    // The city's own view agrees with what the kit read from it.
    let seen = city.district("330106").await;
    assert_eq!(seen["last_digest_matches"], true, "{seen}");
    assert_eq!(seen["media_unrepaired"], 0, "{seen}");
    assert!(stdout.contains(", 0 failing"), "{stdout}");
}
