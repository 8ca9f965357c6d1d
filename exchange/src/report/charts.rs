//! The report's two charts as inline SVG, drawn from its tables: the file opens without
//! a network or a script, prints to PDF as it shows, and the numbers drawn are those
//! printed beside them.

use std::fmt::Write as _;

use super::html::escape;
use super::{Cell, MonthlyReport};

/// One colour per district (and the city's grey), in the registry's order.
const PALETTE: [&str; 8] = [
    "#2563eb", "#dc2626", "#059669", "#d97706", "#7c3aed", "#0891b2", "#db2777", "#65a30d",
];
const CITY: &str = "#6b7280";

/// 综合指标值 of each district as horizontal bars in ranking order, its grade at the end;
/// `highlight` is drawn darker (a district's own section).
pub fn ranking(report: &MonthlyReport, highlight: Option<&str>) -> String {
    let Some(table) = report.table("ranking") else {
        return String::new();
    };
    let bars: Vec<(String, Option<i64>, String, bool)> = table
        .rows
        .iter()
        .enumerate()
        .filter(|(_, r)| r.district.is_some())
        .map(|(i, r)| {
            let code = r.district.clone().unwrap_or_default();
            let name = table.cell(i, "name").map(Cell::display).unwrap_or_default();
            let value = match table.cell(i, "composite") {
                Some(Cell::Centi(v)) => Some(*v),
                _ => None,
            };
            let grade = match table.cell(i, "grade") {
                Some(Cell::Text(g)) => g.clone(),
                _ => "未排名".to_owned(),
            };
            (name, value, grade, highlight == Some(code.as_str()))
        })
        .collect();
    let (left, width, bar, gap) = (110.0, 440.0, 26.0, 10.0);
    let height = 30.0 + bars.len() as f64 * (bar + gap);
    let mut svg = format!(
        r##"<svg id="ranking-chart" xmlns="http://www.w3.org/2000/svg" viewBox="0 0 680 {height}" width="680" height="{height}" role="img" aria-label="区县综合指标值排名">"##
    );
    for tick in (0..=100).step_by(20) {
        let x = left + width * f64::from(tick) / 100.0;
        let _ = write!(
            svg,
            r##"<line x1="{x}" y1="18" x2="{x}" y2="{height}" stroke="#e5e7eb"/><text x="{x}" y="12" font-size="10" text-anchor="middle" fill="#6b7280">{tick}</text>"##
        );
    }
    for (i, (name, value, grade, mine)) in bars.iter().enumerate() {
        let y = 24.0 + i as f64 * (bar + gap);
        let colour = if *mine || highlight.is_none() {
            PALETTE[0]
        } else {
            "#93c5fd"
        };
        let _ = write!(
            svg,
            r##"<text x="{}" y="{}" font-size="13" text-anchor="end">{}</text>"##,
            left - 8.0,
            y + bar * 0.68,
            escape(name)
        );
        match value {
            Some(v) => {
                let w = width * (*v as f64) / 10_000.0;
                let _ = write!(
                    svg,
                    r##"<rect class="bar" x="{left}" y="{y}" width="{w:.1}" height="{bar}" fill="{colour}"/><text x="{}" y="{}" font-size="12">{} {}</text>"##,
                    left + w + 6.0,
                    y + bar * 0.68,
                    Cell::Centi(*v).display(),
                    escape(grade),
                );
            }
            None => {
                let _ = write!(
                    svg,
                    r##"<text x="{}" y="{}" font-size="12" fill="#6b7280">无可评价案卷</text>"##,
                    left + 6.0,
                    y + bar * 0.68
                );
            }
        }
    }
    svg.push_str("</svg>");
    svg
}

/// 按期结案率 over the trend's months: a line per district and a dashed one for the
/// city; a month without a due case leaves a gap.
pub fn trend(report: &MonthlyReport, highlight: Option<&str>) -> String {
    let Some(table) = report.table("on_time_trend") else {
        return String::new();
    };
    let (left, top, width, height) = (50.0, 20.0, 560.0, 220.0);
    let months = table.rows.len().max(2);
    let x = |i: usize| left + width * i as f64 / (months - 1) as f64;
    let y = |bp: i64| top + height * (1.0 - bp as f64 / 10_000.0);
    let mut svg = format!(
        r##"<svg id="trend-chart" xmlns="http://www.w3.org/2000/svg" viewBox="0 0 680 {}" width="680" height="{}" role="img" aria-label="近12个月按期结案率">"##,
        top + height + 70.0,
        top + height + 70.0
    );
    for pct in (0..=100).step_by(25) {
        let yy = y(pct * 100);
        let _ = write!(
            svg,
            r##"<line x1="{left}" y1="{yy}" x2="{}" y2="{yy}" stroke="#e5e7eb"/><text x="{}" y="{}" font-size="10" text-anchor="end" fill="#6b7280">{pct}%</text>"##,
            left + width,
            left - 6.0,
            yy + 3.0
        );
    }
    for (i, row) in table.rows.iter().enumerate() {
        let label = row.cells.first().map(Cell::display).unwrap_or_default();
        let _ = write!(
            svg,
            r##"<text x="{}" y="{}" font-size="10" text-anchor="middle" fill="#6b7280">{}</text>"##,
            x(i),
            top + height + 16.0,
            escape(label.get(2..).unwrap_or(&label))
        );
    }
    for (c, column) in table.columns.iter().enumerate().skip(1) {
        let city = column.key == "total";
        let colour = if city {
            CITY
        } else {
            PALETTE[(c - 1) % PALETTE.len()]
        };
        let faint = highlight.is_some_and(|h| h != column.key) && !city;
        let mut path = String::new();
        let mut dots = String::new();
        let mut pen_up = true;
        for (i, row) in table.rows.iter().enumerate() {
            match row.cells.get(c) {
                Some(Cell::Percent(bp)) => {
                    let (px, py) = (x(i), y(*bp));
                    let _ = write!(path, "{}{px:.1},{py:.1} ", if pen_up { "M" } else { "L" });
                    // A month alone between gaps is a dot, not an invisible line.
                    let _ = write!(
                        dots,
                        r##"<circle cx="{px:.1}" cy="{py:.1}" r="3" fill="{colour}"/>"##
                    );
                    pen_up = false;
                }
                _ => pen_up = true,
            }
        }
        let dash = if city {
            r#" stroke-dasharray="6 4""#
        } else {
            ""
        };
        let opacity = if faint { "0.35" } else { "1" };
        let _ = write!(
            svg,
            r##"<g opacity="{opacity}"><path d="{}" fill="none" stroke="{colour}" stroke-width="2"{dash}/>{dots}</g>"##,
            path.trim_end()
        );
        let lx = left + ((c - 1) % 5) as f64 * 115.0;
        let ly = top + height + 38.0 + ((c - 1) / 5) as f64 * 16.0;
        let _ = write!(
            svg,
            r##"<rect x="{lx}" y="{}" width="12" height="4" fill="{colour}"/><text x="{}" y="{ly}" font-size="11">{}</text>"##,
            ly - 5.0,
            lx + 16.0,
            escape(&column.title)
        );
    }
    svg.push_str("</svg>");
    svg
}
