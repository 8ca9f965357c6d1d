//! The report as one self-contained HTML page (styles and charts inline, no script, no
//! request), laid out for A4 so that Chromium prints the PDF from the same bytes.

use std::fmt::Write as _;

use super::{Cell, MonthlyReport, Table, charts};
use citygrid_appraisal::Period;

/// Text for HTML content and attribute values.
pub fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

const STYLE: &str = r#"
@page { size: A4; margin: 14mm 12mm; }
body { font-family: "WenQuanYi Micro Hei", "Noto Sans CJK SC", "Microsoft YaHei", "PingFang SC", sans-serif; color: #111827; margin: 0 auto; max-width: 960px; padding: 16px; font-size: 13px; }
h1 { font-size: 22px; margin: 0 0 4px; }
h2 { font-size: 16px; margin: 22px 0 8px; border-left: 4px solid #2563eb; padding-left: 8px; }
.meta { color: #4b5563; font-size: 12px; }
.warning { background: #fef3c7; border: 1px solid #f59e0b; padding: 8px 10px; margin: 12px 0; }
table { border-collapse: collapse; width: 100%; font-size: 11px; page-break-inside: auto; }
tr { page-break-inside: avoid; }
th, td { border: 1px solid #d1d5db; padding: 3px 5px; text-align: right; white-space: nowrap; }
th { background: #f3f4f6; font-weight: 600; text-align: center; }
td.text { text-align: left; }
tr.total td { font-weight: 600; background: #f9fafb; }
tr.mine td { background: #dbeafe; }
section { page-break-inside: auto; }
.chart { margin: 8px 0 12px; }
.empty { color: #6b7280; }
footer { margin-top: 24px; color: #6b7280; font-size: 11px; }
"#;

fn month_title(month: Period) -> String {
    match month {
        Period::Month { year, month } => format!("{year}年{month}月"),
        other => other.to_string(),
    }
}

fn table_html(out: &mut String, table: &Table, highlight: Option<&str>) {
    if table.rows.is_empty() {
        out.push_str(r#"<p class="empty">本月无记录。</p>"#);
        return;
    }
    let _ = write!(out, r#"<table id="table-{}"><thead><tr>"#, table.key);
    for column in &table.columns {
        let _ = write!(out, "<th>{}</th>", escape(&column.title));
    }
    out.push_str("</tr></thead><tbody>");
    for row in &table.rows {
        let class = match (&row.district, highlight) {
            (None, _) if table.key == "ranking" => r#" class="total""#,
            (Some(d), Some(h)) if d == h => r#" class="mine""#,
            _ => "",
        };
        let _ = write!(out, "<tr{class}>");
        for cell in &row.cells {
            let class = if matches!(cell, Cell::Text(_)) {
                r#" class="text""#
            } else {
                ""
            };
            let _ = write!(out, "<td{class}>{}</td>", escape(&cell.display()));
        }
        out.push_str("</tr>");
    }
    out.push_str("</tbody></table>");
}

/// The page of the whole report, or of `district`'s section (its own rows, its bar and
/// line drawn darker).
pub fn render(report: &MonthlyReport, district: Option<&str>) -> String {
    let month = month_title(report.month);
    let title = match district {
        None => format!("{}数字城管月度考核评价报告（{month}）", report.city),
        Some(code) => format!(
            "{}数字城管月度考核评价报告（{month}）· {}分册",
            report.city,
            report.district_name(code)
        ),
    };
    let mut out = String::with_capacity(64 * 1024);
    let _ = write!(
        out,
        r#"<!DOCTYPE html><html lang="zh-CN"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1"><title>{}</title><style>{STYLE}</style></head><body>"#,
        escape(&title)
    );
    let _ = write!(
        out,
        r#"<h1>{}</h1><p class="meta">生成时间 {} · 评价规则版本 {} · 数据摘要 <code>{}</code></p>"#,
        escape(&title),
        report
            .generated_at
            .with_timezone(&report.zone)
            .format("%Y-%m-%d %H:%M"),
        escape(&report.config_version),
        escape(
            report
                .input_digest
                .get(..16)
                .unwrap_or(&report.input_digest)
        ),
    );
    if !report.incomplete.is_empty() {
        let names: Vec<String> = report
            .incomplete
            .iter()
            .map(|c| format!("{}（{c}）", report.district_name(c)))
            .collect();
        let _ = write!(
            out,
            r#"<div class="warning" id="incomplete">以下区县在宽限期内未完成月末对账，数据不完整，本月不参与排名：{}</div>"#,
            escape(&names.join("、"))
        );
    }
    for (n, table) in report.tables.iter().enumerate() {
        let _ = write!(
            out,
            r#"<section id="{}"><h2>{}、{}</h2>"#,
            table.key,
            NUMERALS.get(n).unwrap_or(&""),
            escape(table.title)
        );
        match table.key {
            "ranking" => {
                let _ = write!(
                    out,
                    r#"<div class="chart">{}</div>"#,
                    charts::ranking(report, district)
                );
            }
            "on_time_trend" => {
                let _ = write!(
                    out,
                    r#"<div class="chart">{}</div>"#,
                    charts::trend(report, district)
                );
            }
            _ => {}
        }
        table_html(&mut out, table, district);
        out.push_str("</section>");
    }
    out.push_str(
        "<footer>指标口径依据 CJ/T 292 与 GB/T 30428 系列标准及本市考核办法；\
         综合指标值为各评价指标按权重加权之和（百分制），等级按综合指标值划分；\
         数据不完整的区县仅列示，不排名。金额单位：元。</footer></body></html>",
    );
    out
}

const NUMERALS: [&str; 10] = ["一", "二", "三", "四", "五", "六", "七", "八", "九", "十"];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_cannot_break_out_of_the_page() {
        assert_eq!(
            escape(r#"<script>"a" & 'b'</script>"#),
            "&lt;script&gt;&quot;a&quot; &amp; &#39;b&#39;&lt;/script&gt;"
        );
    }
}
