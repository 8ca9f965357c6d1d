//! A report's tables as plain data, so that the HTML, the workbook, CSV and JSON all
//! print the same numbers: each cell keeps the integer the warehouse gave (hundredths,
//! basis points, fen) and each output only formats it.

use citygrid_appraisal::report::csv_field;
use serde_json::{Map, Value, json};

/// One value of a table.
#[derive(Debug, Clone, PartialEq)]
pub enum Cell {
    Text(String),
    Int(i64),
    /// Hundredths, shown with two decimals (a composite, hours).
    Centi(i64),
    /// Basis points, shown as a percentage with two decimals.
    Percent(i64),
    /// Money in fen, shown in yuan.
    Fen(i64),
    /// Nothing to show (a rate without a denominator).
    Empty,
}

impl Cell {
    pub fn text(s: impl Into<String>) -> Cell {
        Cell::Text(s.into())
    }

    pub fn centi(value: Option<i64>) -> Cell {
        value.map_or(Cell::Empty, Cell::Centi)
    }

    pub fn percent(value: Option<i64>) -> Cell {
        value.map_or(Cell::Empty, Cell::Percent)
    }

    /// As people read it: `92.50`, `95.12%`, `-200.00` (yuan).
    pub fn display(&self) -> String {
        let two = |v: i64| {
            let sign = if v < 0 { "-" } else { "" };
            format!("{sign}{}.{:02}", v.abs() / 100, v.abs() % 100)
        };
        match self {
            Cell::Text(s) => s.clone(),
            Cell::Int(v) => v.to_string(),
            Cell::Centi(v) | Cell::Fen(v) => two(*v),
            Cell::Percent(v) => format!("{}%", two(*v)),
            Cell::Empty => "—".to_owned(),
        }
    }

    /// As CSV and JSON carry it: the exact figure, machine-readable (a percentage as its
    /// number of percent, money as integer fen).
    pub fn to_json(&self) -> Value {
        match self {
            Cell::Text(s) => json!(s),
            Cell::Int(v) | Cell::Fen(v) => json!(v),
            Cell::Centi(v) | Cell::Percent(v) => json!(*v as f64 / 100.0),
            Cell::Empty => Value::Null,
        }
    }

    fn csv(&self) -> String {
        match self {
            Cell::Text(s) => csv_field(s),
            Cell::Empty => String::new(),
            Cell::Centi(_) | Cell::Percent(_) => self.to_json().to_string(),
            Cell::Int(v) | Cell::Fen(v) => v.to_string(),
        }
    }
}

/// A column: its key in CSV and JSON, its title in the HTML and the workbook.
#[derive(Debug, Clone, PartialEq)]
pub struct Column {
    pub key: String,
    pub title: String,
}

impl Column {
    pub fn new(key: impl Into<String>, title: impl Into<String>) -> Column {
        Column {
            key: key.into(),
            title: title.into(),
        }
    }
}

/// One row, with the district it belongs to (none: the city's, such as a total).
#[derive(Debug, Clone, PartialEq)]
pub struct Row {
    pub district: Option<String>,
    pub cells: Vec<Cell>,
}

/// Which rows a district's section shows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scope {
    /// Every row, in every section: the ranking and the city's figures are published.
    Shared,
    /// Only the district's own rows (its streets, cases, orders and postings).
    Own,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Table {
    /// File stem and sheet key: `ranking`, `streets`…
    pub key: &'static str,
    /// Its heading in the report: 区县排名…
    pub title: &'static str,
    pub scope: Scope,
    pub columns: Vec<Column>,
    pub rows: Vec<Row>,
}

impl Table {
    /// The table as `district`'s section shows it (the whole table without one).
    pub fn section(&self, district: Option<&str>) -> Table {
        let mut table = self.clone();
        if let (Some(code), Scope::Own) = (district, self.scope) {
            table.rows.retain(|r| r.district.as_deref() == Some(code));
        }
        table
    }

    /// RFC 4180 CSV with a header line of column keys.
    pub fn to_csv(&self) -> String {
        let mut out = String::new();
        let header: Vec<String> = self.columns.iter().map(|c| csv_field(&c.key)).collect();
        out.push_str(&header.join(","));
        out.push('\n');
        for row in &self.rows {
            let line: Vec<String> = row.cells.iter().map(Cell::csv).collect();
            out.push_str(&line.join(","));
            out.push('\n');
        }
        out
    }

    /// One object per row, keyed by column key.
    pub fn to_json(&self) -> Value {
        let rows: Vec<Value> = self
            .rows
            .iter()
            .map(|row| {
                let object: Map<String, Value> = self
                    .columns
                    .iter()
                    .zip(&row.cells)
                    .map(|(c, cell)| (c.key.clone(), cell.to_json()))
                    .collect();
                Value::Object(object)
            })
            .collect();
        json!({ "table": self.key, "title": self.title, "rows": rows })
    }

    /// The cell of `column` in `row`, if both exist.
    pub fn cell(&self, row: usize, column: &str) -> Option<&Cell> {
        let at = self.columns.iter().position(|c| c.key == column)?;
        self.rows.get(row)?.cells.get(at)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn table() -> Table {
        Table {
            key: "t",
            title: "测试",
            scope: Scope::Own,
            columns: vec![Column::new("name", "名称"), Column::new("rate", "率")],
            rows: vec![
                Row {
                    district: Some("330102".into()),
                    cells: vec![Cell::text("a, \"b\""), Cell::Percent(9512)],
                },
                Row {
                    district: Some("330105".into()),
                    cells: vec![Cell::text("c"), Cell::Empty],
                },
            ],
        }
    }

    #[test]
    fn every_output_carries_the_same_exact_figure() {
        let t = table();
        assert_eq!(t.to_csv(), "name,rate\n\"a, \"\"b\"\"\",95.12\nc,\n");
        assert_eq!(t.to_json()["rows"][0]["rate"], json!(95.12));
        assert_eq!(t.to_json()["rows"][1]["rate"], Value::Null);
        assert_eq!(Cell::Percent(9512).display(), "95.12%");
        assert_eq!(Cell::Fen(-20_050).display(), "-200.50");
        assert_eq!(Cell::Fen(-5).display(), "-0.05");
        assert_eq!(Cell::Fen(-20_050).to_json(), json!(-20_050));
    }

    #[test]
    fn a_section_keeps_its_own_rows_of_an_own_table_and_all_of_a_shared_one() {
        let t = table();
        assert_eq!(t.section(Some("330105")).rows.len(), 1);
        assert_eq!(t.section(None).rows.len(), 2);
        let shared = Table {
            scope: Scope::Shared,
            ..t
        };
        assert_eq!(shared.section(Some("330105")).rows.len(), 2);
    }
}
