//! The monthly appraisal report (月度考核评价报告, docs/MONTHLY.md): the month's ranking of
//! districts with composites and grades, the on-time close rate over twelve months, the
//! category and street breakdowns, the worst overdue cases, the supervision orders and
//! the ledger postings, gathered once from the warehouse into [`Table`]s and printed from
//! them as HTML (charts inline), PDF, an XLSX workbook and CSV/JSON per table — for the
//! city, and one section per district. Every figure is the appraisal's own integer, so
//! the report says exactly what the appraisal API says. Blocking (diesel).

mod charts;
mod html;
pub mod notice;
pub mod pdf;
pub mod store;
pub mod table;
mod xlsx;

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use citygrid_appraisal::{Appraisal, CaseFacts, Indicator, Level, Period, Unit};
use diesel::prelude::*;
use diesel::sql_types::Text;
use serde_json::json;
use uuid::Uuid;

use crate::appraisal::{Appraiser, facts};
use crate::error::Result;
use crate::schema::{cases, ledger_accounts, ledger_entries, ledger_postings, supervision_orders};
pub use table::{Cell, Column, Row, Scope, Table};

/// How many of the month's worst overdue cases the report lists.
pub const WORST_OVERDUE: usize = 20;
/// How many months the trend of the on-time close rate covers, the report's month last.
pub const TREND_MONTHS: usize = 12;

/// The indicators the ranking shows beside the composite (all of them: the CSV of
/// `citygrid city appraise`).
const RANKING: [Indicator; 8] = [
    Indicator::Filed,
    Indicator::Due,
    Indicator::Closed,
    Indicator::OnTimeHandlingRate,
    Indicator::OnTimeCloseRate,
    Indicator::ReworkRate,
    Indicator::CityFoundRate,
    Indicator::SatisfactionRate,
];

/// A month's report, gathered.
#[derive(Debug, Clone)]
pub struct MonthlyReport {
    pub city: String,
    pub month: Period,
    pub zone: chrono_tz::Tz,
    pub generated_at: DateTime<Utc>,
    /// The districts, code and name, in the registry's order.
    pub districts: Vec<(String, String)>,
    /// Districts not reconciled past the month's end when it ran: shown, not ranked.
    pub incomplete: Vec<String>,
    pub input_digest: String,
    pub config_version: String,
    pub tables: Vec<Table>,
}

/// One file of a report.
#[derive(Clone, PartialEq, Eq)]
pub struct File {
    pub name: String,
    pub content_type: String,
    pub bytes: Vec<u8>,
}

/// Its name and size: a run's outcome is printed in logs and test failures.
impl std::fmt::Debug for File {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} ({} bytes)", self.name, self.bytes.len())
    }
}

impl MonthlyReport {
    pub fn table(&self, key: &str) -> Option<&Table> {
        self.tables.iter().find(|t| t.key == key)
    }

    pub fn district_name(&self, code: &str) -> String {
        self.districts
            .iter()
            .find(|(c, _)| c == code)
            .map_or_else(|| code.to_owned(), |(_, name)| name.clone())
    }

    /// `district`'s section: the shared tables whole, the others cut to its rows.
    pub fn section(&self, district: &str) -> MonthlyReport {
        MonthlyReport {
            tables: self
                .tables
                .iter()
                .map(|t| t.section(Some(district)))
                .collect(),
            ..self.clone()
        }
    }

    /// The files of the report (`district`: of its section), the PDF when `pdf` renders
    /// one: `report.html`, `report.pdf`, `report.xlsx`, `meta.json`, and `<table>.csv` and
    /// `<table>.json` for each table.
    pub fn files(&self, district: Option<&str>, pdf: Option<&pdf::Pdf>) -> Result<Vec<File>> {
        let html = html::render(self, district);
        let mut files = Vec::new();
        if let Some(pdf) = pdf {
            match pdf.print(&html) {
                Ok(bytes) => files.push(File {
                    name: "report.pdf".into(),
                    content_type: "application/pdf".into(),
                    bytes,
                }),
                // The report stands without its PDF; the log says why there is none.
                Err(e) => {
                    tracing::warn!(month = %self.month, ?district, error = %e, "no PDF of the report")
                }
            }
        }
        files.push(File {
            name: "report.html".into(),
            content_type: "text/html; charset=utf-8".into(),
            bytes: html.into_bytes(),
        });
        files.push(File {
            name: "report.xlsx".into(),
            content_type: "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
                .into(),
            bytes: xlsx::workbook(self)?,
        });
        let meta = json!({
            "city": self.city,
            "month": self.month.to_string(),
            "district": district,
            "generated_at": self.generated_at,
            "incomplete": self.incomplete,
            "input_digest": self.input_digest,
            "config_version": self.config_version,
            "tables": self.tables.iter().map(|t| t.key).collect::<Vec<_>>(),
        });
        files.push(File {
            name: "meta.json".into(),
            content_type: "application/json".into(),
            bytes: serde_json::to_vec_pretty(&meta)?,
        });
        for table in &self.tables {
            files.push(File {
                name: format!("{}.csv", table.key),
                content_type: "text/csv; charset=utf-8".into(),
                bytes: table.to_csv().into_bytes(),
            });
            files.push(File {
                name: format!("{}.json", table.key),
                content_type: "application/json".into(),
                bytes: serde_json::to_vec_pretty(&table.to_json())?,
            });
        }
        files.sort_by(|a, b| a.name.cmp(&b.name));
        Ok(files)
    }
}

/// Gathers `month`'s report as of `now` (after the month's ledger postings, which it
/// lists).
pub fn gather(
    conn: &mut PgConnection,
    appraiser: &Appraiser<'_>,
    city: &str,
    month: Period,
    incomplete: &[String],
    now: DateTime<Utc>,
) -> Result<MonthlyReport> {
    let districts: Vec<(String, String)> = appraiser
        .registry
        .iter()
        .map(|d| (d.code.clone(), d.name.clone()))
        .collect();
    let names: BTreeMap<String, String> = districts.iter().cloned().collect();
    let name = |code: &str| names.get(code).cloned().unwrap_or_else(|| code.to_owned());

    let ranking = appraiser.appraise(conn, month, Level::District, now)?;
    let mut trend = Vec::new();
    let mut m = month;
    for _ in 0..TREND_MONTHS {
        trend.push((m, appraiser.appraise(conn, m, Level::District, now)?));
        m = crate::monthly::previous(m);
    }
    trend.reverse();
    let categories = appraiser.appraise(conn, month, Level::Category, now)?;
    let mut streets = appraiser.appraise_unchecked(conn, month, Level::Street, now)?;
    // A street is complete when its district is; the others are shown, not ranked.
    streets.exclude(|street| incomplete.iter().any(|d| street.starts_with(d.as_str())));

    let tables = vec![
        ranking_table(&ranking, &name),
        trend_table(&trend, &districts),
        category_table(&categories, &category_names(conn)?),
        street_table(&streets, &name),
        overdue_table(conn, appraiser, month, &name)?,
        orders_table(conn, appraiser, month, &name)?,
        ledger_table(conn, month, &name)?,
    ];
    Ok(MonthlyReport {
        city: city.to_owned(),
        month,
        zone: appraiser.zone,
        generated_at: now,
        districts,
        incomplete: incomplete.to_vec(),
        input_digest: ranking.input_digest.clone(),
        config_version: ranking.config_version.clone(),
        tables,
    })
}

fn indicator_columns(indicators: &[Indicator]) -> Vec<Column> {
    indicators
        .iter()
        .map(|i| Column::new(i.key(), i.chinese()))
        .collect()
}

fn indicator_cells(unit: &Unit, indicators: &[Indicator]) -> Vec<Cell> {
    indicators
        .iter()
        .map(|i| match i.rate() {
            None => Cell::Int(unit.counts.get(*i)),
            Some(_) => Cell::percent(unit.rates[i]),
        })
        .collect()
}

fn grade(unit: &Unit) -> Cell {
    unit.grade.map_or(Cell::Empty, Cell::text)
}

fn rank(unit: &Unit) -> Cell {
    unit.rank.map_or(Cell::Empty, |r| Cell::Int(i64::from(r)))
}

/// 区县综合评价排名: one row per district in ranking order, then the city's total.
fn ranking_table(appraisal: &Appraisal, name: &dyn Fn(&str) -> String) -> Table {
    let mut columns = vec![
        Column::new("rank", "名次"),
        Column::new("district", "区县代码"),
        Column::new("name", "区县"),
        Column::new("composite", "综合指标值"),
        Column::new("grade", "等级"),
    ];
    columns.extend(indicator_columns(&RANKING));
    columns.push(Column::new("complete", "数据完整"));
    let row = |unit: &Unit, district: Option<String>, label: String| {
        let mut cells = vec![
            rank(unit),
            Cell::text(district.clone().unwrap_or_default()),
            Cell::text(label),
            Cell::centi(unit.composite),
            grade(unit),
        ];
        cells.extend(indicator_cells(unit, &RANKING));
        cells.push(Cell::text(if unit.complete { "是" } else { "否" }));
        Row { district, cells }
    };
    let mut rows: Vec<Row> = appraisal
        .units
        .iter()
        .map(|u| row(u, Some(u.key.clone()), name(&u.key)))
        .collect();
    rows.push(row(&appraisal.total, None, "全市".into()));
    Table {
        key: "ranking",
        title: "区县综合评价排名",
        scope: Scope::Shared,
        columns,
        rows,
    }
}

/// 近12个月按期结案率: one row per month, a column per district and the city.
fn trend_table(trend: &[(Period, Appraisal)], districts: &[(String, String)]) -> Table {
    let mut columns = vec![Column::new("month", "月份")];
    columns.extend(districts.iter().map(|(code, name)| Column::new(code, name)));
    columns.push(Column::new("total", "全市"));
    let rate = |u: &Unit| Cell::percent(u.rates[&Indicator::OnTimeCloseRate]);
    let rows = trend
        .iter()
        .map(|(month, appraisal)| {
            let mut cells = vec![Cell::text(month.to_string())];
            for (code, _) in districts {
                let unit = appraisal.units.iter().find(|u| &u.key == code);
                cells.push(unit.map_or(Cell::Empty, rate));
            }
            cells.push(rate(&appraisal.total));
            Row {
                district: None,
                cells,
            }
        })
        .collect();
    Table {
        key: "on_time_trend",
        title: "近12个月按期结案率",
        scope: Scope::Shared,
        columns,
        rows,
    }
}

const BREAKDOWN: [Indicator; 6] = [
    Indicator::Filed,
    Indicator::Due,
    Indicator::Closed,
    Indicator::OnTimeCloseRate,
    Indicator::ReworkRate,
    Indicator::Overdue,
];

#[derive(QueryableByName)]
struct CategoryName {
    #[diesel(sql_type = Text)]
    label: String,
    #[diesel(sql_type = Text)]
    name: String,
}

/// The name of each category of the compare edition (the one the city appraises in).
fn category_names(conn: &mut PgConnection) -> Result<BTreeMap<String, String>> {
    let rows: Vec<CategoryName> = diesel::sql_query(
        "SELECT DISTINCT ON (compared) compared AS label, name FROM category_map \
          WHERE compared = kind || ':' || code ORDER BY compared, edition",
    )
    .load(conn)?;
    Ok(rows.into_iter().map(|r| (r.label, r.name)).collect())
}

/// 类别分析: the month's categories, most filed first.
fn category_table(appraisal: &Appraisal, names: &BTreeMap<String, String>) -> Table {
    let mut columns = vec![
        Column::new("category", "类别代码"),
        Column::new("name", "类别名称"),
    ];
    columns.extend(indicator_columns(&BREAKDOWN));
    let mut units: Vec<&Unit> = appraisal.units.iter().collect();
    units.sort_by(|a, b| {
        b.counts
            .get(Indicator::Filed)
            .cmp(&a.counts.get(Indicator::Filed))
            .then(a.key.cmp(&b.key))
    });
    let rows = units
        .into_iter()
        .map(|u| {
            let mut cells = vec![
                Cell::text(&u.key),
                Cell::text(names.get(&u.key).cloned().unwrap_or_default()),
            ];
            cells.extend(indicator_cells(u, &BREAKDOWN));
            Row {
                district: None,
                cells,
            }
        })
        .collect();
    Table {
        key: "categories",
        title: "类别分析",
        scope: Scope::Shared,
        columns,
        rows,
    }
}

/// 街道分析: each district's streets in the city's street ranking order. A street code
/// begins with its district's.
fn street_table(appraisal: &Appraisal, name: &dyn Fn(&str) -> String) -> Table {
    let mut columns = vec![
        Column::new("rank", "名次"),
        Column::new("district", "区县"),
        Column::new("street", "街道代码"),
        Column::new("composite", "综合指标值"),
        Column::new("grade", "等级"),
    ];
    columns.extend(indicator_columns(&BREAKDOWN));
    let rows = appraisal
        .units
        .iter()
        .map(|u| {
            let district = u.key.get(..6).unwrap_or_default().to_owned();
            let mut cells = vec![
                rank(u),
                Cell::text(name(&district)),
                Cell::text(&u.key),
                Cell::centi(u.composite),
                grade(u),
            ];
            cells.extend(indicator_cells(u, &BREAKDOWN));
            Row {
                district: Some(district),
                cells,
            }
        })
        .collect();
    Table {
        key: "streets",
        title: "街道分析",
        scope: Scope::Own,
        columns,
        rows,
    }
}

/// How long past its handling deadline a case was at `end`, in minutes: handled late, or
/// not handled by then. None when it was on time or is not yet due.
pub fn overdue_minutes(case: &CaseFacts, end: DateTime<Utc>) -> Option<i64> {
    let due = case.due_at?;
    let until = case.handled_at.unwrap_or(end).min(end);
    let minutes = (until - due).num_minutes();
    (minutes > 0 && !case.on_time).then_some(minutes)
}

fn local(at: DateTime<Utc>, zone: chrono_tz::Tz) -> String {
    at.with_timezone(&zone).format("%Y-%m-%d %H:%M").to_string()
}

/// 超期案件: the month's worst overdue cases, longest past the deadline first — cases
/// due by the month's end not handled in time, and not finished before it started.
fn overdue_table(
    conn: &mut PgConnection,
    appraiser: &Appraiser<'_>,
    month: Period,
    name: &dyn Fn(&str) -> String,
) -> Result<Table> {
    let (start, end) = month.bounds(appraiser.zone);
    let codes: Vec<String> = appraiser.registry.iter().map(|d| d.code.clone()).collect();
    let mut worst: Vec<(i64, CaseFacts)> = facts(conn, &codes, start, end)?
        .into_iter()
        .filter(|c| c.handled_at.is_none_or(|h| h >= start))
        .filter_map(|c| overdue_minutes(&c, end).map(|m| (m, c)))
        .collect();
    worst.sort_by(|a, b| b.0.cmp(&a.0).then(a.1.case_id.cmp(&b.1.case_id)));
    worst.truncate(WORST_OVERDUE);
    let ids: Vec<Uuid> = worst.iter().map(|(_, c)| c.case_id).collect();
    let numbers: BTreeMap<(String, Uuid), i64> = cases::table
        .filter(cases::case_id.eq_any(&ids))
        .select((
            cases::district,
            cases::case_id,
            diesel::dsl::sql::<diesel::sql_types::BigInt>("(snapshot->>'number')::bigint"),
        ))
        .load::<(String, Uuid, i64)>(conn)?
        .into_iter()
        .map(|(d, id, n)| ((d, id), n))
        .collect();
    let zone = appraiser.zone;
    let rows = worst
        .into_iter()
        .map(|(minutes, c)| {
            let number = numbers.get(&(c.district.clone(), c.case_id));
            Row {
                district: Some(c.district.clone()),
                cells: vec![
                    Cell::text(name(&c.district)),
                    number.map_or(Cell::Empty, |n| Cell::Int(*n)),
                    Cell::text(c.case_id.to_string()),
                    Cell::text(c.category.clone().unwrap_or_default()),
                    Cell::text(c.street.clone().unwrap_or_default()),
                    Cell::text(c.department.clone().unwrap_or_default()),
                    c.due_at.map_or(Cell::Empty, |d| Cell::text(local(d, zone))),
                    c.handled_at
                        .map_or(Cell::text("未处置"), |h| Cell::text(local(h, zone))),
                    // Hundredths of an hour, rounded half up.
                    Cell::Centi((minutes * 100 + 30) / 60),
                ],
            }
        })
        .collect();
    Ok(Table {
        key: "overdue_cases",
        title: "超期案件",
        scope: Scope::Own,
        columns: vec![
            Column::new("district", "区县"),
            Column::new("number", "案卷编号"),
            Column::new("case_id", "案卷标识"),
            Column::new("category", "类别"),
            Column::new("street", "街道"),
            Column::new("department", "处置部门"),
            Column::new("due_at", "处置时限"),
            Column::new("handled_at", "处置完成"),
            Column::new("overdue_hours", "超期小时"),
        ],
        rows,
    })
}

fn level_name(level: &str) -> &str {
    match level {
        "general" => "一般督办",
        "key" => "重点督办",
        "listed" => "挂牌督办",
        other => other,
    }
}

fn status_name(status: &str) -> &'static str {
    match status {
        "resolved" => "已办结",
        "overdue" => "已超期",
        "acknowledged" => "已签收",
        _ => "已下发",
    }
}

/// 督办: the orders issued in the month, by time, with where each stood when the report
/// was made.
fn orders_table(
    conn: &mut PgConnection,
    appraiser: &Appraiser<'_>,
    month: Period,
    name: &dyn Fn(&str) -> String,
) -> Result<Table> {
    use crate::escalation::orders::Order;
    let (start, end) = month.bounds(appraiser.zone);
    let orders: Vec<Order> = supervision_orders::table
        .filter(supervision_orders::issued_at.ge(start))
        .filter(supervision_orders::issued_at.lt(end))
        .order((supervision_orders::issued_at, supervision_orders::order_id))
        .select(Order::as_select())
        .load(conn)?;
    let zone = appraiser.zone;
    let rows = orders
        .into_iter()
        .map(|o| Row {
            district: Some(o.district.clone()),
            cells: vec![
                Cell::text(name(&o.district)),
                Cell::text(o.case_id.to_string()),
                Cell::text(level_name(&o.level)),
                Cell::text(&o.rule),
                Cell::text(local(o.issued_at, zone)),
                Cell::text(local(o.due_at, zone)),
                Cell::text(status_name(o.status())),
                Cell::text(o.escalated_to.map(|_| "是").unwrap_or("否")),
            ],
        })
        .collect();
    Ok(Table {
        key: "orders",
        title: "督办情况",
        scope: Scope::Own,
        columns: vec![
            Column::new("district", "区县"),
            Column::new("case_id", "案卷标识"),
            Column::new("level", "督办级别"),
            Column::new("rule", "规则"),
            Column::new("issued_at", "下发时间"),
            Column::new("due_at", "办结时限"),
            Column::new("status", "状态"),
            Column::new("escalated", "已升级"),
        ],
        rows,
    })
}

/// 奖惩台账: the month's postings as they touch each district's accounts (its own and its
/// leaders'), in booking order.
fn ledger_table(
    conn: &mut PgConnection,
    month: Period,
    name: &dyn Fn(&str) -> String,
) -> Result<Table> {
    let entries: Vec<(String, String, String, String, i64)> = ledger_entries::table
        .inner_join(ledger_postings::table)
        .inner_join(ledger_accounts::table)
        .filter(ledger_postings::period.eq(month.to_string()))
        .filter(ledger_accounts::district.is_not_null())
        .order((ledger_postings::id, ledger_entries::line))
        .select((
            diesel::dsl::sql::<Text>("ledger_accounts.district"),
            ledger_postings::key,
            ledger_postings::memo,
            ledger_entries::account,
            ledger_entries::amount_fen,
        ))
        .load(conn)?;
    let rows = entries
        .into_iter()
        .map(|(district, key, memo, account, fen)| Row {
            cells: vec![
                Cell::text(name(&district)),
                Cell::text(key),
                Cell::text(memo),
                Cell::text(account),
                Cell::Fen(fen),
            ],
            district: Some(district),
        })
        .collect();
    Ok(Table {
        key: "ledger",
        title: "奖惩台账",
        scope: Scope::Own,
        columns: vec![
            Column::new("district", "区县"),
            Column::new("key", "记账键"),
            Column::new("memo", "摘要"),
            Column::new("account", "账户"),
            Column::new("amount_fen", "金额（元）"),
        ],
        rows,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    #[test]
    fn a_case_is_overdue_by_the_time_past_its_deadline_until_handled_or_the_month_ends() {
        let at = |h| Utc.with_ymd_and_hms(2026, 10, 31, h, 0, 0).unwrap();
        let end = at(16);
        let mut case = CaseFacts {
            district: "330102".into(),
            case_id: Uuid::nil(),
            source: citygrid_schemas::Source::Supervisor,
            state: citygrid_schemas::CaseState::Dispatched,
            category: None,
            street: None,
            community: None,
            cell: None,
            department: None,
            reporter: None,
            verified: None,
            reported_at: at(1),
            filed_at: None,
            dispatched_at: None,
            due_at: Some(at(10)),
            handled_at: None,
            on_time: false,
            handling_working_minutes: None,
            finished_at: None,
            returns: 0,
            reworks: 0,
            extended: false,
            suspended: false,
            satisfaction: None,
        };
        assert_eq!(overdue_minutes(&case, end), Some(360));
        case.handled_at = Some(at(12));
        assert_eq!(overdue_minutes(&case, end), Some(120));
        case.handled_at = Some(at(9));
        case.on_time = true;
        assert_eq!(overdue_minutes(&case, end), None);
        case.due_at = Some(at(20));
        case.handled_at = None;
        case.on_time = false;
        assert_eq!(overdue_minutes(&case, end), None);
    }
}
