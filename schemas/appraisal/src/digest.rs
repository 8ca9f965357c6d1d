//! The input digest: SHA-256 over the facts in a canonical order and spelling, so that
//! appraising a period again proves its input unchanged (or shows that it changed).

use sha2::{Digest, Sha256};

use crate::facts::CaseFacts;

/// One line per case, sorted by district and case id; times as RFC 3339 UTC with
/// milliseconds, absent values empty. The working minutes of handling (since interchange
/// v1.4) end the line only when known, so a month of cases without them keeps the digest
/// it had before they existed.
pub fn of<'a>(facts: impl IntoIterator<Item = &'a CaseFacts>) -> String {
    let mut sorted: Vec<&CaseFacts> = facts.into_iter().collect();
    sorted.sort_by(|a, b| (&a.district, a.case_id).cmp(&(&b.district, b.case_id)));
    let mut hasher = Sha256::new();
    for f in sorted {
        let time = |t: Option<chrono::DateTime<chrono::Utc>>| {
            t.map(|t| t.to_rfc3339_opts(chrono::SecondsFormat::Millis, true))
                .unwrap_or_default()
        };
        let text = |t: &Option<String>| t.clone().unwrap_or_default();
        let mut line = [
            f.district.clone(),
            f.case_id.to_string(),
            format!("{:?}", f.source),
            format!("{:?}", f.state),
            text(&f.category),
            text(&f.street),
            text(&f.community),
            text(&f.cell),
            text(&f.department),
            f.reporter.map(|r| r.to_string()).unwrap_or_default(),
            format!("{:?}", f.verified),
            time(Some(f.reported_at)),
            time(f.filed_at),
            time(f.dispatched_at),
            time(f.due_at),
            time(f.handled_at),
            f.on_time.to_string(),
            time(f.finished_at),
            f.returns.to_string(),
            f.reworks.to_string(),
            f.extended.to_string(),
            f.suspended.to_string(),
            format!("{:?}", f.satisfaction),
        ]
        .join("\t");
        if let Some(minutes) = f.handling_working_minutes {
            line.push_str(&format!("\t{minutes}"));
        }
        hasher.update(line.as_bytes());
        hasher.update(b"\n");
    }
    hex::encode(hasher.finalize())
}
