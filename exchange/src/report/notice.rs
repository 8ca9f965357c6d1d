//! The report notice (v1.7 `report_notice`): a district's standing and its section's
//! files, as many as one message holds, the page first.

use chrono::{DateTime, Utc};
use citygrid_schemas::{self as v1, ReportFile, ReportNotice};

use super::{Cell, File, MonthlyReport};

/// The order files go into a notice while they fit: the page, its PDF, the workbook, then
/// the tables (JSON before CSV: the same figures).
fn priority(name: &str) -> u8 {
    match name {
        "report.html" => 0,
        "report.pdf" => 1,
        "report.xlsx" => 2,
        "meta.json" => 3,
        n if n.ends_with(".json") => 4,
        _ => 5,
    }
}

/// Room in one message for the files: the interchange's limit less the envelope and the
/// notice's other fields.
const ROOM: usize = v1::MAX_MESSAGE_BYTES - 16 * 1024;

/// `district`'s notice of `report`, with its section's `files`.
pub fn notice(
    report: &MonthlyReport,
    district: &str,
    files: &[File],
    now: DateTime<Utc>,
) -> ReportNotice {
    let ranking = report.table("ranking");
    let row = ranking.and_then(|t| {
        t.rows
            .iter()
            .position(|r| r.district.as_deref() == Some(district))
            .map(|i| (t, i))
    });
    let cell = |column: &str| row.and_then(|(t, i)| t.cell(i, column));
    let ranked = ranking.map_or(0, |t| {
        t.rows
            .iter()
            .enumerate()
            .filter(|(i, _)| matches!(t.cell(*i, "rank"), Some(Cell::Int(_))))
            .count()
    });
    let mut ordered: Vec<&File> = files.iter().collect();
    ordered.sort_by_key(|f| (priority(&f.name), f.name.clone()));
    let (mut room, mut carried, mut omitted) = (ROOM, Vec::new(), Vec::new());
    for file in ordered {
        let size = ReportFile::encoded_len(file.bytes.len());
        if size <= room {
            room -= size;
            carried.push(ReportFile::new(&file.name, &file.content_type, &file.bytes));
        } else {
            omitted.push(file.name.clone());
        }
    }
    ReportNotice {
        month: report.month.to_string(),
        published_at: now,
        rank: match cell("rank") {
            Some(Cell::Int(r)) => u32::try_from(*r).ok(),
            _ => None,
        },
        ranked: ranked as u32,
        composite: match cell("composite") {
            Some(Cell::Centi(c)) => Some(*c),
            _ => None,
        },
        grade: match cell("grade") {
            Some(Cell::Text(g)) => Some(g.clone()),
            _ => None,
        },
        complete: !report.incomplete.iter().any(|d| d == district),
        files: carried,
        omitted,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_page_goes_first_and_what_does_not_fit_is_named() {
        let file = |name: &str, size: usize| File {
            name: name.into(),
            content_type: "application/octet-stream".into(),
            bytes: vec![b'x'; size],
        };
        let report = MonthlyReport {
            city: "杭州市".into(),
            month: "2026-10".parse().expect("month"),
            zone: chrono_tz::Asia::Shanghai,
            generated_at: Utc::now(),
            districts: vec![("330102".into(), "上城区".into())],
            incomplete: vec!["330102".into()],
            input_digest: String::new(),
            config_version: String::new(),
            tables: Vec::new(),
        };
        let files = [
            file("ranking.csv", 10),
            file("report.pdf", 300 * 1024),
            file("report.html", 100 * 1024),
            file("ranking.json", 10),
        ];
        let n = notice(&report, "330102", &files, Utc::now());
        let names: Vec<&str> = n.files.iter().map(|f| f.name.as_str()).collect();
        assert_eq!(names, ["report.html", "ranking.json", "ranking.csv"]);
        assert_eq!(n.omitted, ["report.pdf"]);
        assert_eq!((n.rank, n.ranked, n.complete), (None, 0, false));
        let size = serde_json::to_vec(&v1::Envelope::new("330102", 1, Utc::now(), n))
            .expect("JSON")
            .len();
        assert!(size <= v1::MAX_MESSAGE_BYTES, "{size} bytes");
    }
}
