//! The report's PDF, printed by headless Chromium (Debian's `chromium`, which `ops/up`
//! installs) from the same HTML, so the PDF cannot say anything the page does not.

use std::path::PathBuf;
use std::process::Command;

use crate::error::{Error, Result};

/// How to print: the Chromium binary.
#[derive(Debug, Clone)]
pub struct Pdf {
    pub chromium: PathBuf,
}

impl Pdf {
    /// Prints `html` to PDF in a scratch directory of its own (Chromium's profile too, so
    /// that two prints at once do not share one).
    pub fn print(&self, html: &str) -> Result<Vec<u8>> {
        let scratch = tempfile::tempdir().map_err(|e| Error::Internal(format!("scratch: {e}")))?;
        let page = scratch.path().join("report.html");
        let out = scratch.path().join("report.pdf");
        std::fs::write(&page, html)
            .map_err(|e| Error::Internal(format!("{}: {e}", page.display())))?;
        let output = Command::new(&self.chromium)
            .args([
                "--headless",
                "--disable-gpu",
                "--no-sandbox",
                "--no-pdf-header-footer",
            ])
            .arg(format!(
                "--user-data-dir={}",
                scratch.path().join("profile").display()
            ))
            .arg(format!("--print-to-pdf={}", out.display()))
            .arg(format!("file://{}", page.display()))
            .output()
            .map_err(|e| Error::Internal(format!("{}: {e}", self.chromium.display())))?;
        match std::fs::read(&out) {
            Ok(bytes) if output.status.success() && bytes.starts_with(b"%PDF") => Ok(bytes),
            _ => Err(Error::Internal(format!(
                "{} printed no PDF ({}): {}",
                self.chromium.display(),
                output.status,
                String::from_utf8_lossy(&output.stderr)
                    .lines()
                    .last()
                    .unwrap_or_default()
            ))),
        }
    }
}
