//! The report as one workbook: a sheet per table, numbers as numbers (a rate as a
//! percentage, money in yuan) so that a reader can sort and sum them.

use rust_xlsxwriter::{Format, Workbook, XlsxError};

use super::{Cell, MonthlyReport};
use crate::error::{Error, Result};

fn xlsx_error(e: XlsxError) -> Error {
    Error::Internal(format!("report workbook: {e}"))
}

pub fn workbook(report: &MonthlyReport) -> Result<Vec<u8>> {
    let mut workbook = Workbook::new();
    let header = Format::new().set_bold().set_background_color("#F3F4F6");
    let centi = Format::new().set_num_format("0.00");
    let percent = Format::new().set_num_format("0.00%");
    let yuan = Format::new().set_num_format("#,##0.00");
    for table in &report.tables {
        let sheet = workbook.add_worksheet();
        // A sheet's name is at most 31 characters; the titles are short.
        sheet.set_name(table.title).map_err(xlsx_error)?;
        for (c, column) in table.columns.iter().enumerate() {
            let c = c as u16;
            sheet
                .write_string_with_format(0, c, &column.title, &header)
                .map_err(xlsx_error)?;
            sheet.set_column_width(c, 12).map_err(xlsx_error)?;
        }
        for (r, row) in table.rows.iter().enumerate() {
            let r = r as u32 + 1;
            for (c, cell) in row.cells.iter().enumerate() {
                let c = c as u16;
                let written = match cell {
                    Cell::Text(s) => sheet.write_string(r, c, s),
                    Cell::Int(v) => sheet.write_number(r, c, *v as f64),
                    Cell::Centi(v) => {
                        sheet.write_number_with_format(r, c, *v as f64 / 100.0, &centi)
                    }
                    Cell::Percent(v) => {
                        sheet.write_number_with_format(r, c, *v as f64 / 10_000.0, &percent)
                    }
                    Cell::Fen(v) => sheet.write_number_with_format(r, c, *v as f64 / 100.0, &yuan),
                    Cell::Empty => continue,
                };
                written.map_err(xlsx_error)?;
            }
        }
        sheet.set_freeze_panes(1, 0).map_err(xlsx_error)?;
    }
    workbook.save_to_buffer().map_err(xlsx_error)
}
