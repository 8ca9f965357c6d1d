//! Pages opened in Debian's Chromium by `tests/browser/open-page.mjs` (playwright-core,
//! which `ops/up` installs): what a person opening the page would see go wrong. Blocking.

use std::path::Path;
use std::process::Command;

/// Opens `page` (a file), saves a screenshot of `selector`'s element to `screenshot`, and
/// returns `{title, errors, requests, box, screenshot_bytes}` (tests/browser/open-page.mjs).
pub fn open(page: &Path, screenshot: &Path, selector: &str) -> serde_json::Value {
    let script = crate::repo().join("tests/browser/open-page.mjs");
    let output = Command::new("node")
        .arg(&script)
        .arg(page)
        .arg(screenshot)
        .arg(selector)
        .output()
        .expect("node (ops/up installs tests/browser's driver)");
    assert!(
        output.status.success(),
        "{} failed: {}",
        script.display(),
        String::from_utf8_lossy(&output.stderr)
    );
    serde_json::from_slice(&output.stdout).expect("one JSON object")
}
