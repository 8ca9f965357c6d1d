//! The crate graph flows one way (DESIGN.md §4): `schemas` (the standard) ← `kit` (shared
//! plumbing) ← `platform` (a district) and `exchange` (the city), which never depend on
//! each other ← the `citygrid` binary. A district runs on other hosts than the city and
//! the city never carries district code, so this is checked on every run, through every
//! declared dependency (dev-dependencies included, so not even a test of one side builds
//! the other).

use std::collections::{BTreeMap, BTreeSet};
use std::process::Command;

use serde_json::Value;

/// Workspace package → the packages it declares (normal, build, dev and optional), from
/// `cargo metadata --no-deps`: only our own crates can depend on our crates, so following
/// declarations through the workspace finds every path between them, without downloading
/// the manifests of every platform's dependencies.
fn graph() -> BTreeMap<String, BTreeSet<String>> {
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".to_owned());
    let output = Command::new(cargo)
        .args([
            "metadata",
            "--format-version",
            "1",
            "--no-deps",
            "--offline",
        ])
        .current_dir(citygrid_test_support::repo())
        .output()
        .expect("cargo metadata runs");
    assert!(
        output.status.success(),
        "cargo metadata failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    let metadata: Value = serde_json::from_slice(&output.stdout).expect("metadata JSON");
    metadata["packages"]
        .as_array()
        .expect("packages")
        .iter()
        .map(|package| {
            let name = package["name"].as_str().expect("name").to_owned();
            let deps = package["dependencies"]
                .as_array()
                .expect("dependencies")
                .iter()
                .map(|d| d["name"].as_str().expect("dependency name").to_owned())
                .collect();
            (name, deps)
        })
        .collect()
}

/// Everything `package` pulls in, directly or through others.
fn reachable(graph: &BTreeMap<String, BTreeSet<String>>, package: &str) -> BTreeSet<String> {
    let mut seen = BTreeSet::new();
    let mut todo = vec![package.to_owned()];
    while let Some(next) = todo.pop() {
        for dep in graph.get(&next).into_iter().flatten() {
            if seen.insert(dep.clone()) {
                todo.push(dep.clone());
            }
        }
    }
    seen
}

#[test]
fn district_and_city_never_depend_on_each_other() {
    let graph = graph();
    let city = reachable(&graph, "citygrid-exchange");
    assert!(
        !city.contains("citygrid-platform"),
        "the city exchange depends on the district platform"
    );
    let district = reachable(&graph, "citygrid-platform");
    assert!(
        !district.contains("citygrid-exchange"),
        "the district platform depends on the city exchange"
    );
    let kit = reachable(&graph, "citygrid-kit");
    for side in ["citygrid-platform", "citygrid-exchange"] {
        assert!(!kit.contains(side), "the shared kit depends on {side}");
    }
}

#[test]
fn the_standard_carries_no_transport_storage_or_http() {
    let graph = graph();
    let schemas = reachable(&graph, "citygrid-schemas");
    for forbidden in [
        "actix-web",
        "diesel",
        "lapin",
        "reqwest",
        "citygrid-kit",
        "citygrid-platform",
        "citygrid-exchange",
    ] {
        assert!(
            !schemas.contains(forbidden),
            "citygrid-schemas depends on {forbidden}"
        );
    }
}

/// Appraisal is shared by both sides like the standard it reads, so it carries neither
/// side nor any transport; and it is the one crate that declares polars, so the district
/// and city services build it once, through it, and nothing else grows its build.
#[test]
fn appraisal_is_shared_and_the_only_crate_declaring_polars() {
    let graph = graph();
    let appraisal = reachable(&graph, "citygrid-appraisal");
    for forbidden in [
        "actix-web",
        "diesel",
        "lapin",
        "citygrid-kit",
        "citygrid-platform",
        "citygrid-exchange",
    ] {
        assert!(
            !appraisal.contains(forbidden),
            "citygrid-appraisal depends on {forbidden}"
        );
    }
    let declaring: Vec<&str> = graph
        .iter()
        .filter(|(_, deps)| deps.contains("polars"))
        .map(|(name, _)| name.as_str())
        .collect();
    assert_eq!(declaring, ["citygrid-appraisal"]);
}
